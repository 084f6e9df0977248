#!/bin/bash
# (5) A secured peer: its inbound clear packets are dropped (not reported); traffic to it
# is still captured, for ESP.
# Topology: see lib.sh.
. "$(dirname "$0")/lib.sh"
topo_up
# shellcheck disable=SC2086
drv_start $FILTERS

drv peer secured $C4
expect ok
bg in $A udp-recv 7778 800 0
probe $C udp-send $A4 7778 "clear-from-secured" 5555 || fail "send from C"
bg_wait in
drv expect-notice 300
expect none
ok "secured C: inbound clear dropped, not reported"

probe $A udp-send $C4 7777 "to-secured" 40000 || fail "send to C"
drv expect-capture 2000
expect "captured proto=17 src=$A4 * dst=$C4 dport=7777 *"
ok "secured C: outbound captured for ESP"

drv peer secured $C6
expect ok
bg in6 $A udp-recv 7778 800 0
probe $C udp-send $A6 7778 "clear6" 5555 || fail "send from C6"
bg_wait in6
ok "secured C (IPv6): inbound clear dropped"

# Forgetting the SA makes C unknown again: reported and (C's filter) accepted.
drv peer none $C4
expect ok
bg again $A udp-recv 7778 2000 1
probe $C udp-send $A4 7778 "again" 5555 || fail "send from C"
bg_wait again
drv expect-notice 2000
expect "notice proto=17 src=$C4 * accepted"
ok "secured -> none: reported again"
drv_quit
