#!/bin/bash
# (4) Inbound clear packets from an unknown peer matching a negotiate filter are reported
# to the driver with their 5-tuple, and accepted (C's filter) or dropped (B's filter).
# Topology: see lib.sh.
. "$(dirname "$0")/lib.sh"
topo_up
# shellcheck disable=SC2086
drv_start $FILTERS

bg acc $A udp-recv 7778 2000 1
probe $C udp-send $A4 7778 "from-c" 5555 || fail "send from C"
bg_wait acc
drv expect-notice 2000
expect "notice proto=17 src=$C4 sport=5555 dst=$A4 dport=7778 accepted"
ok "C->A: reported and accepted"

bg drop $A udp-recv 7778 800 0
probe $B udp-send $A4 7778 "from-b" 5556 || fail "send from B"
bg_wait drop
drv expect-notice 2000
expect "notice proto=17 src=$B4 sport=5556 dst=$A4 dport=7778 dropped"
ok "B->A: reported and dropped"

bg acc6 $A udp-recv 7778 2000 1
probe $C udp-send $A6 7778 "from-c6" 5557 || fail "send from C6"
bg_wait acc6
drv expect-notice 2000
expect "notice proto=17 src=$C6 sport=5557 dst=$A6 dport=7778 accepted"
ok "IPv6 C->A: reported and accepted"

# A flood of clear packets from one unknown peer: every one gets its verdict (accepted here),
# but the notices are limited per source (10 a second, burst 10).
bg flood $A udp-recv 7781 3000 200
probe $C udp-send $A4 7781 "flood" 5559 200 || fail "flood from C"
bg_wait flood
drv count-notices 500
n=${REPLY#notices }
[ "$n" -ge 1 ] && [ "$n" -le 25 ] || fail "expected 1..25 notices for 200 packets, got $n"
ok "200 clear packets from C: all accepted, $n notices"

# A soft peer's packets are neither reported nor dropped.
drv peer soft $B4 60000
expect ok
bg soft $A udp-recv 7778 2000 1
probe $B udp-send $A4 7778 "soft-b" 5558 || fail "send from B"
bg_wait soft
drv expect-notice 300
expect none
ok "soft B->A: accepted silently"
drv_quit
