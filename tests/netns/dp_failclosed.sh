#!/bin/bash
# (7) Fail closed: after the driver is killed with SIGKILL (no cleanup at all), not one
# clear packet to B leaves A, IPv4 or IPv6, while the table it left stands; once the
# leftovers are flushed the same sends do arrive (so the capture could have seen them).
# Topology: see lib.sh.
. "$(dirname "$0")/lib.sh"
command -v tcpdump >/dev/null || { echo "SKIP: tcpdump missing"; exit 77; }
topo_up
# shellcheck disable=SC2086
drv_start $FILTERS
probe $A udp-send $B4 7777 "alive" 40000 || fail "send to B"
drv expect-capture 2000
expect "captured proto=17 src=$A4 *"
# C has a soft association that outlives the process for 3 s (the kernel enforces it).
drv peer soft $C4 3000
expect ok
T_SOFT=$(date +%s%N)
drv_kill9
ip -n $A link show softsa0 >/dev/null 2>&1 && fail "the TUN outlived its process"
ip netns exec $A nft list table inet softsa >/dev/null || fail "the table did not survive"
ok "driver killed: TUN gone, table stands"

bg softc $C udp-recv 7777 1000 1
probe $A udp-send $C4 7777 "soft-after-crash" 40000 || fail "send to soft C"
bg_wait softc
ok "after SIGKILL: the soft association with C still carries traffic until its timeout"

# Everything A sends toward B, seen on B's side of the wire (neighbour discovery aside).
ip netns exec $B tcpdump -i eth0 -n -U -w "$TMP/b.pcap" \
	"(ip src $A4 and not arp) or (ip6 src $A6 and not icmp6)" 2>"$TMP/td.err" &
TD=$!
BG_PIDS="$BG_PIDS $TD"
for _ in $(seq 100); do grep -q "listening on" "$TMP/td.err" && break; sleep 0.05; done
grep -q "listening on" "$TMP/td.err" || fail "tcpdump did not start"
probe $A udp-send $B4 7777 "after-crash" 40000
probe $A udp-send $B6 7777 "after-crash6" 40000
ip netns exec $A ping -c 2 -i 0.2 -W 1 $B4 >/dev/null 2>&1
ip netns exec $A timeout 1 bash -c "echo tcp > /dev/tcp/$B4/7777" 2>/dev/null
sleep 0.5
kill -INT $TD
wait $TD 2>/dev/null
n=$(tcpdump -r "$TMP/b.pcap" -n 2>/dev/null | wc -l)
tcpdump -r "$TMP/b.pcap" -n 2>/dev/null | head
[ "$n" -eq 0 ] || fail "$n clear packets from A reached B after the crash"
ok "after SIGKILL: UDP v4/v6, ping and TCP SYN to B: nothing on the wire"

# After the soft timeout (3 s from when it was set), C's traffic is captured into the void.
sleep_until_ms() { # sleeps until $1 ms after T_SOFT
	local left=$(( $1 - ($(date +%s%N) - T_SOFT) / 1000000 ))
	if [ "$left" -gt 0 ]; then
		sleep "$((left / 1000)).$(printf %03d $((left % 1000)))"
	fi
}
sleep_until_ms 3300
bg expired $C udp-recv 7777 800 0
probe $A udp-send $C4 7777 "expired" 40000
bg_wait expired
ok "after the soft timeout: nothing reaches C either"

# Control: with the leftovers flushed, the same send arrives.
ip netns exec $A "$DRIVER" --flush-only || fail "flush"
bg ctl $B udp-recv 7777 2000 1
probe $A udp-send $B4 7777 "flushed" 40000 || fail "send to B"
bg_wait ctl
ok "control: after flushing, clear traffic reaches B (the capture above was real)"
