#!/bin/bash
# A whole TCP transfer (2 MB, A -> C) through the capture: every outbound segment is read
# from the TUN and released in the clear by the driver; the data arrives intact.  Twice:
# plain TUN, and IFF_VNET_HDR (TCP super-packets split in userspace, checksums completed).
# Topology: see lib.sh.
. "$(dirname "$0")/lib.sh"
command -v nc >/dev/null || { echo "SKIP: nc missing"; exit 77; }
topo_up
head -c 2000000 /dev/urandom >"$TMP/data"
want=$(sha256sum <"$TMP/data" | cut -d' ' -f1)

for mode in plain vnet; do
	extra=""
	[ $mode = vnet ] && extra=--vnet
	# shellcheck disable=SC2086
	drv_start $extra $FILTERS
	ip netns exec $C timeout 20 nc -l 7000 >"$TMP/got" &
	NCL=$!
	BG_PIDS="$BG_PIDS $NCL"
	sleep 0.2
	drv_send pass 15000 500
	ip netns exec $A timeout 20 nc -N $C4 7000 <"$TMP/data" || fail "$mode: nc A->C"
	wait $NCL
	drv_reply
	expect "passed * in * reads"
	got=$(sha256sum <"$TMP/got" | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "$mode: data differ: $(stat -c %s "$TMP/got") bytes arrived"
	ok "$mode: 2 MB over TCP through capture + release: intact ($REPLY)"
	drv stats
	expect "stats * release_err=0 * malformed=0"
	if [ $mode = vnet ]; then
		[[ "$REPLY" != *" out_gso=0 "* ]] || fail "vnet: no TCP super-packet came through the TUN"
	fi
	drv_quit
done
