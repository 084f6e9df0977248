#!/bin/sh
# make check: every suite in the normal build, then again under ASan+UBSan (which has no vm
# suite: the same kernel behaviour again).  The vm suite boots Debian's kernel under emulation
# and spends most of its time waiting on protocol timers, as the host's netns suites do; run
# one after the other they took about 30 minutes, so the vm suite runs beside the others (its
# scripts scale their waits with SOFTSA_E2E_SLOW, and its output comes at the end).
# Usage: tools/check.sh BUILD ASAN_BUILD
set -u
build=$1 asan=$2
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
vmout=$build/meson-logs/check-vm.out
# Both builds are up to date (make built them); two meson test runs must not both rebuild.
meson test -C "$build" --no-rebuild --suite vm --logbase testlog-vm --print-errorlogs > "$vmout" 2>&1 &
vm=$!
trap 'kill $vm 2>/dev/null' INT TERM
meson test -C "$build" --no-rebuild --no-suite vm --print-errorlogs --num-processes 2
host=$?
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 meson test -C "$asan" --no-rebuild --print-errorlogs --num-processes 2
san=$?
echo "=== the vm suite (run beside the others): waiting for it"
wait $vm
vmrc=$?
cat "$vmout"
echo "=== make check: normal build $host, sanitizers $san, vm suite $vmrc (0 is a pass)"
[ "$host" = 0 ] && [ "$san" = 0 ] && [ "$vmrc" = 0 ]
