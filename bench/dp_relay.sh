#!/bin/bash
# Benchmark of the userspace dataplane's clear-release path (TUN read -> raw sendmmsg),
# between two namespaces on a veth pair, against the same UDP stream with no dataplane.
#
#   ssdp-a-N  10.78.0.1 eth0 ===== veth ===== eth0 10.78.0.2  ssdp-b-N   (N: this PID)
#   gen -> (capture) -> softsa0 -> dp_relay -> raw socket -> eth0       sink
#
# Usage: bench/dp_relay.sh BUILD_DIR [SECONDS] [SIZE]   (root; namespaces ssdp-{a,b}-PID)
set -u
BUILD=${1:-build}
SECS=${2:-3}
SIZE=${3:-1400}
BIN=$BUILD/bench/dp_relay
[ "$(id -u)" -eq 0 ] || { echo "dp_relay.sh: needs root"; exit 77; }
[ -x "$BIN" ] || { echo "dp_relay.sh: build $BIN first"; exit 1; }
A=ssdp-a-$$ B=ssdp-b-$$
TMP=$(mktemp -d /tmp/ssdp-bench.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del $A 2>/dev/null
	ip netns del $B 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
for n in $A $B; do ip netns del $n 2>/dev/null; ip netns add $n; ip -n $n link set lo up; done
ip -n $A link add eth0 type veth peer name eth0 netns $B
ip -n $A addr add 10.78.0.1/24 dev eth0
ip -n $B addr add 10.78.0.2/24 dev eth0
ip -n $A link set eth0 up
ip -n $B link set eth0 up
ip netns exec $A ping -c 1 -W 1 10.78.0.2 >/dev/null

waitfor() { for _ in $(seq 100); do grep -q "$1" "$2" && return 0; sleep 0.05; done; return 1; }

run() { # $1 = with/without dataplane, $2 = spin
	ip netns exec $B "$BIN" sink 9000 "$SECS" >"$TMP/sink" &
	local sp=$!
	PIDS="$PIDS $sp"
	waitfor listening "$TMP/sink"
	local rp=""
	if [ "$1" = with ]; then
		ip netns exec $A "$BIN" relay "$SECS" 10.78.0.2/32 "${2:-0}" >"$TMP/relay" 2>&1 &
		rp=$!
		PIDS="$PIDS $rp"
		waitfor ready "$TMP/relay" || { cat "$TMP/relay"; exit 1; }
	fi
	ip netns exec $A "$BIN" gen 10.78.0.2 9000 "$SECS" "$SIZE" >"$TMP/gen"
	wait $sp
	[ -n "$rp" ] && wait $rp
	echo "== $1 dataplane (UDP payload $SIZE B, ${SECS}s)"
	cat "$TMP/gen" "$TMP/sink"
	[ -n "$rp" ] && cat "$TMP/relay"
}
tcp() { # $1 = with/without dataplane, $2 = vnet or nothing: iperf3 TCP A -> B
	ip netns exec $B iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	sleep 0.3
	local rp=""
	if [ "$1" = with ]; then
		ip netns exec $A "$BIN" relay $((SECS + 1)) 10.78.0.2/32 0 "${2:-}" >"$TMP/relay" 2>&1 &
		rp=$!
		PIDS="$PIDS $rp"
		waitfor ready "$TMP/relay" || { cat "$TMP/relay"; exit 1; }
	fi
	local bps
	bps=$(ip netns exec $A iperf3 -c 10.78.0.2 -p 5201 -t "$SECS" -J 2>/dev/null |
		python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))')
	echo "== TCP (iperf3, ${SECS}s) $1 dataplane ${2:-}: $bps Gbit/s"
	if [ -n "$rp" ]; then
		wait $rp # it stops 2 s after iperf3, timed from its first packet
		grep "^relay" "$TMP/relay"
	fi
}
# Two dataplanes as a null-ESP tunnel (tests/netns/dp_driver --tunnel): the daemon's whole
# data path without the cryptography, A's and B's ends and iperf3 on the same 2 vCPUs.
DRIVER=$BUILD/tests/netns/dp_driver
tunnel() { # $1 = label, rest = driver options
	local label=$1
	shift
	ip netns exec $B iperf3 -s -1 -p 5202 >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	# shellcheck disable=SC2068
	ip netns exec $A "$DRIVER" $@ --filter 10.78.0.0/24 10.78.0.2/32 drop \
		--tunnel 10.78.0.2 $((SECS * 1000 + 8000)) 1000 >"$TMP/ta" 2>&1 &
	local pa=$!
	# shellcheck disable=SC2068
	ip netns exec $B "$DRIVER" $@ --filter 10.78.0.0/24 10.78.0.1/32 drop \
		--tunnel 10.78.0.1 $((SECS * 1000 + 8000)) 1000 >"$TMP/tb" 2>&1 &
	local pb=$!
	PIDS="$PIDS $pa $pb"
	waitfor ready "$TMP/ta" && waitfor ready "$TMP/tb" || { cat "$TMP/ta" "$TMP/tb"; exit 1; }
	local bps
	bps=$(ip netns exec $A iperf3 -c 10.78.0.2 -p 5202 -t "$SECS" -J 2>/dev/null |
		python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))')
	wait $pa $pb
	echo "== TCP (iperf3, ${SECS}s) through a null-ESP tunnel, $label: $bps Gbit/s"
	grep "^stats" "$TMP/ta" | sed 's/^/   A /'
}

run without
run with 0
run with 200
if command -v iperf3 >/dev/null; then
	tcp without
	tcp with
	tcp with vnet
	if [ -x "$DRIVER" ]; then
		tunnel "ESP in UDP, plain TUN" --udp-port 4500
		tunnel "ESP in UDP, vnet_hdr" --udp-port 4500 --vnet
		tunnel "raw ESP, vnet_hdr" --vnet
	fi
fi
