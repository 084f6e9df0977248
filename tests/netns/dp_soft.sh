#!/bin/bash
# (2) A soft association with C: traffic to C flows in the clear both ways without the
# driver seeing it; when the soft timeout expires the capture comes back.
# Topology: see lib.sh.
. "$(dirname "$0")/lib.sh"
topo_up
# shellcheck disable=SC2086
drv_start $FILTERS

# Unknown C: captured first (the daemon would negotiate here).
probe $A udp-send $C4 7777 "before" 40000 || fail "send to C"
drv expect-capture 2000
expect "captured proto=17 src=$A4 * dst=$C4 dport=7777 *"
drv drop-held

# The negotiation found no IKE at C: soft association, 1.5 s.
drv peer soft $C4 1500
expect ok
ip netns exec $A ping -c 1 -W 2 $C4 >/dev/null || fail "ping A->C with a soft association"
bg soft $C udp-recv 7777 2000 1
probe $A udp-send $C4 7777 "soft" 40000 || fail "send to C"
bg_wait soft
drv expect-no-capture 300
expect none
ok "soft C: ping and UDP flow in the clear, the driver sees nothing"
# The daemon sees them only as counters: echo request + reply + one datagram.
drv list-soft
expect "soft 1 $C4:packets=3"
ok "soft C: its traffic is counted (3 packets)"

# Expiry: after the timeout the next packet is captured again and does not reach C.
sleep 1.6
bg after $C udp-recv 7777 800 0
probe $A udp-send $C4 7777 "after" 40000 || fail "send to C"
drv expect-capture 2000
expect "captured proto=17 src=$A4 * dst=$C4 dport=7777 *"
bg_wait after
ok "soft timeout expired: capture is back"

# IPv6 soft, and an explicit "none" ends it at once.
drv peer soft $C6 60000
expect ok
bg soft6 $C udp-recv 7777 2000 1
probe $A udp-send $C6 7777 "soft6" 40000 || fail "send to C6"
bg_wait soft6
drv peer none $C6
expect ok
probe $A udp-send $C6 7777 "none6" 40000 || fail "send to C6"
drv expect-capture 2000
expect "captured proto=17 src=$A6 * dst=$C6 *"
ok "IPv6 soft, then forgotten: captured again"
drv_quit
