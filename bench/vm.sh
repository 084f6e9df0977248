#!/bin/bash
# The rows of `make bench` that need kernel ESP, which this machine's kernel lacks: one boot
# of the VM (tests/vm/run.sh, Debian's own kernel), bench/vm_guest.sh inside it, its samples
# appended to SAMPLES (bench/report.py's format).
#
#   bench/vm.sh BUILD SAMPLES [--quick]
#   SOFTSAD=path  the daemon to measure (default BUILD/src/daemon/softsad)
#
# Where the VM cannot run (no QEMU, no guest kernel: tools/install-deps.sh sets both up, or
# not root), every row says why and nothing fails.  Under TCG (no hardware KVM) the guest's
# figures measure QEMU's emulation: the rows are marked emulated, and only the ratio
# softsad/charon means something.
set -u
BUILD=${1:?usage: vm.sh BUILD SAMPLES [--quick]}
OUT=$(readlink -f "${2:?}")
QUICK=""
[ "${3:-}" = --quick ] && QUICK=--quick
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
RUN=$ROOT/tests/vm/run.sh
ROWS="vm.tcp1 vm.acquire.ms vm.child.rate"
N() { printf 'N\t%s\t%s\t%s\n' "$1" "$2" "$3" >>"$OUT"; }
skip() { local r; for r in $ROWS; do N "$r" softsa "$1"; done; echo "vm: skipped: $1" >&2; exit 0; }
log() { echo "vm: $*" >&2; }

[ "$(id -u)" = 0 ] || skip "needs root (the VM's namespaces and the host root over 9p)"
command -v qemu-system-x86_64 >/dev/null || skip "no VM: qemu-system-x86_64 missing (tools/install-deps.sh)"
. "$ROOT/tests/vm/vm.conf.sh"
[ -f "$VM_KERNEL" ] && [ -f "$VM_INITRD" ] || skip "no VM: no guest kernel in $VM_CACHE (tests/vm/setup.sh)"
BUILD=$(cd "$BUILD" && pwd)
SOFTSAD=${SOFTSAD:-$BUILD/src/daemon/softsad}
[ -x "$BUILD/bench/ikeload" ] || skip "$BUILD/bench/ikeload not built"

# The guest sees the host's files as they are while it runs: measure a copy of softsad,
# so that a rebuild meanwhile cannot change it.  The guest's /tmp is its own: shared.
X=$(mktemp -d /tmp/vb3-vm.XXXXXX)
trap 'rm -rf "$X"' EXIT
envs=()
if [ -x "$SOFTSAD" ]; then
	cp "$SOFTSAD" "$X/softsad"
	envs=(-e "SOFTSAD=$X/softsad")
else
	envs=(-e "SOFTSAD=$SOFTSAD")
fi
tmo=900
[ -n "$QUICK" ] && tmo=540
log "booting the VM for the kernel ESP rows (${QUICK:-full}, at most $tmo s)"
# The guest runs the rows; the host only waits: nice so that the other sections' jobs
# and other users keep their share (QEMU itself runs under run.sh's own nice).
nice -n 5 "$RUN" --timeout "$tmo" --share "$X" "${envs[@]}" -- "$HERE/vm_guest.sh" "$BUILD" $QUICK \
	>"$X/samples" 2>"$X/progress"
rc=$?
cat "$X/progress" >&2
accel=$(sed -n 's/^softsa-vm: \([a-z]*\), .*/\1/p' "$X/progress" | tail -1)
grep -P '^[SN]\t[^\t]+\t(softsa|anchor|floor)\t[^\t]+$' "$X/samples" >>"$OUT"
r=""
for r in $ROWS; do
	if [ "$rc" != 0 ]; then
		grep -q "^[S]	$r	softsa	" "$OUT" || N "$r" softsa "the VM run failed (run.sh exit $rc: see the progress log)"
	fi
	case $accel in
	tcg) N "$r" softsa "QEMU TCG: emulated, compare with charon only" ;;
	kvm) N "$r" softsa "QEMU KVM" ;;
	esac
done
exit 0
