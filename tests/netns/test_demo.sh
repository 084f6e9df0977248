#!/bin/sh
# `make demo` in CI: tools/demo.sh exits 0 only when A <-> B went as ESP (not one other clear
# packet on the bridge), A <-> C in the clear, and softsa on A listed the SA and the soft
# association.  Root only (skipped otherwise); it removes its namespaces (ssdemo-*) itself.
# usage: test_demo.sh BUILD_DIR
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: the demo needs root (network namespaces)"
	exit 77
fi
for t in ip tcpdump python3; do
	command -v "$t" >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
"$ROOT/tools/demo.sh" "$1" || exit 1
if ip netns list | grep -q '^ssdemo-'; then
	echo "FAIL: the demo left namespaces behind"
	exit 1
fi
echo PASS
