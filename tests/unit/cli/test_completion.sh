#!/bin/bash
# The bash completion (dist/softsa.bash-completion): what it offers after a few command lines,
# and that every command `softsa --help` lists is among them.
# usage: test_completion.sh COMPLETION_FILE SOFTSA
set -u
. "$1"
SOFTSA=$2
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# offers "WORDS..." WANT: completes the last word of WORDS with the function for WORDS[0].
offers() {
	local want=$2
	read -ra COMP_WORDS <<<"$1"
	[[ $1 == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	"_${COMP_WORDS[0]}"
	[[ " ${COMPREPLY[*]} " == *" $want "* ]] || fail "'$1' does not offer '$want' (offers: ${COMPREPLY[*]})"
}
for c in $("$SOFTSA" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'); do
	offers "softsa " "$c"
done
offers "softsa ch" check
offers "softsa check --st" --strict
offers "softsa --json st" status
offers "softsa check --builtin s" secure-server
offers "softsa monitor --ev" --events
offers "softsa explain f.yaml 10.0.0.1 10.0.0.2 u" udp
offers "softsad --log-level w" warning
offers "softsad --ver" --version
[ $fails = 0 ] || exit 1
echo PASS
