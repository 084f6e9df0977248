#!/bin/sh
# Builds the Debian package of this tree (debian/) and checks it with lintian: no error and
# no warning may remain.  The tree is copied first, so that dpkg-buildpackage neither writes
# beside the checkout nor sees its build directories.
# usage: tools/build-deb.sh OUTDIR    (make deb: OUTDIR = build/deb)
# Leaves OUTDIR/softsa_VERSION_ARCH.deb and the lintian report OUTDIR/lintian.txt.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=$1
VERSION=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TREE=$OUT/softsa-$VERSION
rm -rf "$TREE" "$OUT"/softsa_*
mkdir -p "$TREE"
# Everything but version control and build output (build*, obj-*, the package's own).
(cd "$SRC" && tar --exclude=./.git --exclude='./build*' --exclude='./obj-*' --exclude=./debian/softsa \
	--exclude=./debian/.debhelper --exclude='./debian/*.log' --exclude='./debian/*.substvars' \
	--exclude=./debian/files --exclude=./debian/debhelper-build-stamp -cf - .) | tar -C "$TREE" -xf -
cd "$TREE"
# The tests are make check's: the package build only compiles and installs.
DEB_BUILD_OPTIONS="nocheck parallel=2 ${DEB_BUILD_OPTIONS:-}" dpkg-buildpackage -b -us -uc >"$OUT/build.log" 2>&1 || {
	tail -40 "$OUT/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed; the whole log is $OUT/build.log" >&2
	exit 1
}
cd "$OUT"
CHANGES=$(ls softsa_"$VERSION"_*.changes)
# --fail-on warning: the package is clean of errors and warnings (info and pedantic may stay).
if ! lintian --fail-on error,warning --tag-display-limit 0 "$CHANGES" >lintian.txt 2>&1; then
	cat lintian.txt >&2
	echo "build-deb: lintian reports errors or warnings (above)" >&2
	exit 1
fi
ls "$OUT"/softsa_"$VERSION"_*.deb
