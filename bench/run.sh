#!/bin/bash
# `make bench`: every benchmark, one Markdown table on stdout, the same as JSON in
# bench/results/bench-<UTC time>.json (and bench/results/latest.json).
#
#   bench/run.sh [BUILD] [--quick] [--only SECTION[,SECTION...]]
#     BUILD     meson build directory (default build)
#     --quick   each row once, short runs: a smoke run (make check runs it)
#     --only    micro, dataplane, esp, ike, fallback, directory, vm (default: all)
#   SOFTSAD=path  the daemon to measure (default BUILD/src/daemon/softsad)
#   BENCH_RESULTS=dir  where the JSON goes (default bench/results)
#   BENCH_PERF=file  perf record of both softsads during the first 1-stream ESP run
#
# Progress goes to stderr.  Rows that cannot be measured (no root, no daemon, no strongSwan)
# say why in the table.  Benchmarks report: the exit status is 0 unless the run itself broke.
# Each part runs alone too: bench/micro.sh, bench/netns.sh, bench/dp_relay.sh, and the
# programs in BUILD/bench/ (see bench/README.md).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=build
QUICK=""
ALL="micro,dataplane,esp,ike,fallback,directory,vm"
ONLY=$ALL
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=--quick ;;
	--only) ONLY=$2; shift ;;
	-*) echo "usage: $0 [BUILD] [--quick] [--only SECTIONS]" >&2; exit 2 ;;
	*) BUILD=$1 ;;
	esac
	shift
done
for b in classify agent bench_ike bench_ike_crypto esp_micro ike_scale ikeload; do
	if [ ! -x "$BUILD/bench/$b" ]; then
		echo "$BUILD/bench/$b not built; run 'make build' first" >&2
		exit 1
	fi
done
RES=${BENCH_RESULTS:-$HERE/results}
mkdir -p "$RES"
SAMPLES=$(mktemp /tmp/ssb-samples.XXXXXX)
trap 'rm -f "$SAMPLES"' EXIT
T0=$(date +%s)
has() { case ",$ONLY," in *",$1,"*) return 0 ;; esac; return 1; }

has micro && "$HERE/micro.sh" "$BUILD" "$SAMPLES" $QUICK

# The dataplane's clear release path (TUN -> raw socket), TCP through it vs without it.
if has dataplane; then
	if [ "$(id -u)" -eq 0 ] && [ -x "$BUILD/bench/dp_relay" ]; then
		secs=3
		[ -n "$QUICK" ] && secs=1
		out=$("$HERE/dp_relay.sh" "$BUILD" $secs 1400 2>&1)
		echo "$out" | awk '/^== TCP/ && /without dataplane/ { print "floor", $(NF-1) }
			/^== TCP/ && /with dataplane vnet/ { print "softsa", $(NF-1) }' |
			while read -r side v; do printf 'S\tdp.release.tcp\t%s\t%s\n' "$side" "$v" >>"$SAMPLES"; done
	else
		printf 'N\tdp.release.tcp\tsoftsa\tneeds root\n' >>"$SAMPLES"
	fi
fi

nsec=""
for s in esp ike fallback; do has $s && nsec="$nsec $s"; done
[ -n "$nsec" ] && "$HERE/netns.sh" "$BUILD" "$SAMPLES" $QUICK $nsec

# The directory policy source: a publish reaching 100 followers of one slapd, and a softsad.
has directory && "$HERE/directory.sh" "$BUILD" "$SAMPLES" $QUICK

# Kernel ESP (softsad --dataplane kernel vs charon kernel-netlink) in a VM with Debian's
# kernel: this machine's kernel has no ESP.  Skipped, with the reason in the table, where
# the VM is not set up (tools/install-deps.sh).
has vm && "$HERE/vm.sh" "$BUILD" "$SAMPLES" $QUICK

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$RES/bench-$STAMP${QUICK:+-quick}.json
cmd="bench/run.sh $BUILD${QUICK:+ --quick}"
[ "$ONLY" != "$ALL" ] && cmd="$cmd --only $ONLY"
python3 "$HERE/report.py" "$SAMPLES" "$OUT" $QUICK --command "$cmd" || exit 1
cp "$OUT" "$RES/latest${QUICK:+-quick}.json"
echo
echo "($(($(date +%s) - T0)) s; $OUT)"
