#!/bin/sh
# The manual pages render without a single groff warning, man(1) reads them, and softsa(8)
# documents every command `softsa --help` lists.
# usage: test_man.sh SOFTSA MAN_DIR
set -u
SOFTSA=$1
DIR=$2
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
command -v groff >/dev/null || { echo "SKIP: groff missing (make deps)"; exit 77; }
for p in softsad.8 softsa.8 softsa.yaml.5; do
	w=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$DIR/$p" 2>&1)
	[ -z "$w" ] || fail "$p: groff warnings: $w"
	if command -v man >/dev/null; then
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$DIR/$p" 2>&1 >/dev/null)
		[ -z "$out" ] || fail "$p: man -l: $out"
		LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$DIR/$p" 2>/dev/null | grep -q "^NAME" || fail "$p: man -l shows no NAME"
	fi
done
for c in $("$SOFTSA" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'); do
	grep -q "^\.B $c\( \|$\)\|^\.B $(echo "$c" | sed 's/-/\\\\-/g')\( \|$\)" "$DIR/softsa.8" ||
		fail "softsa.8 does not document '$c'"
done
[ $fails = 0 ] || exit 1
echo PASS
