#!/bin/bash
# The Debian package, end to end: tools/build-deb.sh builds it from the tree and lintian finds
# no error or warning; then it is installed with dpkg into a scratch root and used there:
# softsad --version, softsa check on every shipped example and on /etc's example, the unit
# passes systemd-analyze verify, the manual pages and bash completion are where they belong,
# and a purge leaves nothing behind.
#
# The scratch root (a private mount namespace; the host is never written):
#   ROOT/usr, ROOT/etc, ROOT/var  copy-on-write overlays of the host's (its dpkg database, so
#                                 that dpkg checks the package's Depends for real)
#   ROOT/bin, lib, lib64, sbin    the merged-/usr links;  ROOT/tmp, run, root: empty tmpfs
#   ROOT/usr/sbin/policy-rc.d     101: no service is started from the maintainer scripts
# usage: test_deb.sh SOURCE_ROOT
set -u
[ "$(id -u)" = 0 ] || exit 77
for t in dpkg-buildpackage lintian dh unshare; do
	command -v $t >/dev/null || { echo "SKIP: $t missing (make deps)"; exit 77; }
done
SRC=$1
T=$(mktemp -d /tmp/ssops-deb.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$SRC/tools/build-deb.sh" "$T/out" >"$T/build.txt" 2>&1 || { cat "$T/build.txt"; echo "FAIL: build-deb"; exit 1; }
DEB=$(ls "$T"/out/softsa_*.deb)
echo "built $(basename "$DEB"); lintian: $(grep -c '^[EW]:' "$T/out/lintian.txt") errors or warnings"
for f in usr/bin/softsa usr/sbin/softsad lib/systemd/system/softsad.service usr/share/man/man8/softsad.8.gz \
	usr/share/man/man8/softsa.8.gz usr/share/man/man5/softsa.yaml.5.gz usr/share/doc/softsa/policy.md \
	usr/share/doc/softsa/softsad.md usr/share/doc/softsa/copyright usr/share/doc/softsa/examples/demo.yaml \
	usr/share/bash-completion/completions/softsa usr/share/bash-completion/completions/softsad \
	etc/softsa/softsa.yaml.example; do
	dpkg -c "$DEB" | awk '{print $6}' | grep -qx "./$f" || fail "the package lacks /$f"
done

# Inside the scratch root; everything below runs in the private mount namespace.
cat >"$T/inroot.sh" <<'IN'
set -u
T=$1 DEB=$2
L=$T/layers
R=$L/root
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$L"
mount -t tmpfs tmpfs "$L" -o size=1g  # the upper layers: gone with the namespace
mkdir -p "$L/up" "$L/wk" "$R"
for d in usr etc var; do
	mkdir -p "$L/up/$d" "$L/wk/$d" "$R/$d"
	mount -t overlay overlay -o "lowerdir=/$d,upperdir=$L/up/$d,workdir=$L/wk/$d" "$R/$d" || fail "overlay /$d"
done
for l in bin lib lib64 sbin; do ln -s "usr/$l" "$R/$l"; done
for d in tmp run root; do mkdir -p "$R/$d"; mount -t tmpfs tmpfs "$R/$d"; done
mkdir -p "$R/dev" "$R/proc" "$R/sys"
mount --rbind /dev "$R/dev"
mount -t proc proc "$R/proc"
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"
cp "$DEB" "$R/tmp/"
inr() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 "$@"; }
# Fresh: whatever the host has, the root starts without softsa.
inr dpkg --purge softsa >/dev/null 2>&1
inr dpkg -s softsa >/dev/null 2>&1 && fail "softsa still installed in the scratch root"
[ -e "$R/usr/bin/softsa" ] && fail "/usr/bin/softsa before the install"
inr dpkg -i "/tmp/$(basename "$DEB")" >"$T/dpkg.txt" 2>&1 || { cat "$T/dpkg.txt"; fail "dpkg -i"; }
inr dpkg -s softsa | grep -q '^Status: install ok installed' || fail "dpkg -s after the install"
v=$(inr softsad --version) && [ "$v" = "softsad 0.1.0" ] || fail "softsad --version: $v"
inr softsa --version | grep -q '^softsa 0.1.0$' || fail "softsa --version"
n=0
for f in "$R"/usr/share/doc/softsa/examples/*.yaml; do
	e=/usr/share/doc/softsa/examples/$(basename "$f")
	out=$(cd "$R/usr/share/doc/softsa/examples" && inr sh -c "cd /usr/share/doc/softsa/examples && softsa check $e" 2>&1) \
		|| fail "softsa check $e: $out"
	echo "$out" | grep -q ": valid$" || fail "softsa check $e said: $out"
	n=$((n + 1))
done
[ $n -ge 10 ] || fail "only $n example policies shipped"
inr softsa check --skip-key-files /etc/softsa/softsa.yaml.example | grep -q ": valid$" || fail "softsa check of /etc's example"
# The unit: valid for systemd, Type=notify, hardening kept; nothing enabled runs without a policy.
inr systemd-analyze verify /lib/systemd/system/softsad.service >"$T/verify.txt" 2>&1 \
	|| { cat "$T/verify.txt"; fail "systemd-analyze verify softsad.service"; }
for k in Type=notify WatchdogSec=30s "ExecReload=/usr/bin/softsa reload" NoNewPrivileges=yes ProtectSystem=strict \
	"CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE" \
	ConditionPathExists=/etc/softsa/softsa.yaml "ExecStart=/usr/sbin/softsad -c /etc/softsa/softsa.yaml"; do
	grep -q "^$k" "$R/lib/systemd/system/softsad.service" || fail "the unit lacks $k"
done
inr man -w softsad >/dev/null 2>&1 || fail "man -w softsad"
inr bash -c '. /usr/share/bash-completion/completions/softsa; COMP_WORDS=(softsa chec); COMP_CWORD=1; _softsa; [ "${COMPREPLY[*]}" = check ]' \
	|| fail "bash completion in the root"
inr dpkg --purge softsa >"$T/purge.txt" 2>&1 || { cat "$T/purge.txt"; fail "dpkg --purge"; }
for f in usr/bin/softsa usr/sbin/softsad lib/systemd/system/softsad.service usr/share/doc/softsa etc/softsa; do
	[ -e "$R/$f" ] && fail "/$f left after the purge"
done
echo "installed, used ($n examples checked) and purged in the scratch root"
IN
unshare -m --propagation private bash "$T/inroot.sh" "$T" "$DEB" || fail "in the scratch root"
[ $fails = 0 ] || exit 1
echo PASS
