#!/bin/bash
# The daemon's data path without the cryptography: a driver on A and one on B each capture
# their host's traffic to the other, send it as ESP (a fake SPI in front of the packet),
# receive the other's and deliver it to their host stack.  A 2 MB TCP transfer A -> B runs
# through this tunnel intact, and a capture on B's wire shows no clear TCP at all.  Twice:
# ESP in UDP 4500 with plain TUNs, and raw IP protocol 50 with IFF_VNET_HDR on both ends.
# Topology: see lib.sh (C is not used).
. "$(dirname "$0")/lib.sh"
command -v nc >/dev/null || { echo "SKIP: nc missing"; exit 77; }
command -v tcpdump >/dev/null || { echo "SKIP: tcpdump missing"; exit 77; }
topo_up
head -c 2000000 /dev/urandom >"$TMP/data"
want=$(sha256sum <"$TMP/data" | cut -d' ' -f1)

tunnel_end() { # NAME NS PEER FILTER_REMOTE EXTRA...
	local name=$1 ns=$2 peer=$3 remote=$4
	shift 4
	# shellcheck disable=SC2068
	ip netns exec "$ns" "$DRIVER" $@ --filter 10.77.0.0/24 "$remote" drop \
		--tunnel "$peer" 20000 800 >"$TMP/$name" 2>>"$TMP/drv.err" &
	eval "PID_$name=$!"
	BG_PIDS="$BG_PIDS $!"
}

for mode in udp raw-vnet; do
	if [ $mode = udp ]; then extra="--udp-port 4500"; else extra="--vnet"; fi
	tunnel_end ta $A $B4 $B4/32 $extra
	tunnel_end tb $B $A4 $A4/32 $extra
	for f in ta tb; do
		for _ in $(seq 100); do grep -q ready "$TMP/$f" && break; sleep 0.05; done
		grep -q ready "$TMP/$f" || fail "$mode: tunnel end $f did not start"
	done
	ip netns exec $B tcpdump -i eth0 -n -U -w "$TMP/wire.pcap" tcp 2>"$TMP/td.err" &
	TD=$!
	BG_PIDS="$BG_PIDS $TD"
	for _ in $(seq 100); do grep -q "listening on" "$TMP/td.err" && break; sleep 0.05; done
	ip netns exec $B timeout 20 nc -l 7000 >"$TMP/got" &
	NCL=$!
	BG_PIDS="$BG_PIDS $NCL"
	sleep 0.2
	ip netns exec $A timeout 20 nc -N $B4 7000 <"$TMP/data" || fail "$mode: nc A->B"
	wait $NCL
	wait "$PID_ta" "$PID_tb"
	kill -INT $TD
	wait $TD 2>/dev/null
	sed 's/^/  A> /' "$TMP/ta"
	sed 's/^/  B> /' "$TMP/tb"
	got=$(sha256sum <"$TMP/got" | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "$mode: data differ: $(stat -c %s "$TMP/got") bytes arrived"
	clear=$(tcpdump -r "$TMP/wire.pcap" -n 2>/dev/null | wc -l)
	[ "$clear" -eq 0 ] || fail "$mode: $clear clear TCP packets on B's wire"
	grep -q "release_err=0" "$TMP/ta" || fail "$mode: errors on A"
	if [ $mode = raw-vnet ]; then
		# B's deliveries of A's data segments were coalesced into GSO writes.
		grep -q " deliver_gso=0 " "$TMP/tb" && fail "$mode: no coalesced delivery on B"
	fi
	ok "$mode: 2 MB over TCP through the null-ESP tunnel intact; no clear TCP on the wire"
done
