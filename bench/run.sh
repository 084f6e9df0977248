#!/bin/sh
# Runs every benchmark against a build directory: ./bench/run.sh build
set -eu
BUILD=${1:-build}
for b in classify agent; do
	if [ ! -x "$BUILD/bench/$b" ]; then
		echo "$BUILD/bench/$b not built; run 'make build' first" >&2
		exit 1
	fi
done
"$BUILD/bench/classify"
"$BUILD/bench/agent"
# The dataplane's release path needs root (namespaces, TUN, nftables).
if [ "$(id -u)" -eq 0 ] && [ -x "$BUILD/bench/dp_relay" ]; then
	"$(dirname "$0")/dp_relay.sh" "$BUILD" 3 1400
else
	echo "dp_relay: skipped (needs root)"
fi
