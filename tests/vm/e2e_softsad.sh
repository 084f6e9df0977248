#!/bin/bash
# softsad end to end on the kernel dataplane: the host's netns end-to-end scripts
# (tests/netns/e2e_*.sh), unchanged, inside the VM (tests/vm/run.sh boots it; meson suite
# `vm`), with SOFTSA_E2E_DATAPLANE=kernel so that every softsad they start runs
# `--dataplane kernel` (ESP in the guest kernel's XFRM).  One boot, the scripts in turn; each
# one's output is printed, with its time, and the run fails when any script did.
#
# usage (in the guest): e2e_softsad.sh SOFTSAD SCRIPT...
set -u
SOFTSAD=${1:?usage: e2e_softsad.sh SOFTSAD SCRIPT...}
shift
if [ "${SOFTSA_VM_GUEST:-}" != 1 ]; then
	echo "FAIL: run inside the VM: tests/vm/run.sh -- $0 $SOFTSAD $*"
	exit 1
fi
export SOFTSA_E2E_DATAPLANE=kernel
# Emulation (TCG) makes every process start slow: waits for listeners and replies last longer.
export SOFTSA_E2E_SLOW=${SOFTSA_E2E_SLOW:-4}
fails=0 summary=
for s in "$@"; do
	t0=$(date +%s)
	echo "=== $(basename "$s")"
	bash "$s" "$SOFTSAD" 2>&1
	rc=$?
	t=$(( $(date +%s) - t0 ))
	case $rc in
	0) r=ok ;;
	77) r=SKIP ;;
	*) r=FAIL fails=$((fails + 1)) ;;
	esac
	summary="$summary$(printf '%-5s %-28s %4ss' "$r" "$(basename "$s")" "$t")\n"
done
printf '=== summary (kernel dataplane)\n%b' "$summary"
[ "$fails" = 0 ]
