#!/bin/bash
# (3) A blocked peer: traffic to and from it is dropped, and the driver sees none of it.
# Topology: see lib.sh.
. "$(dirname "$0")/lib.sh"
topo_up
# shellcheck disable=SC2086
drv_start $FILTERS

drv peer blocked $B4
expect ok
bg out $B udp-recv 7777 800 0
probe $A udp-send $B4 7777 "blocked" 40000 # refused locally (EPERM) is fine
bg_wait out
drv expect-no-capture 300
expect none
ok "blocked B: A->B dropped, not captured"

bg in $A udp-recv 7778 800 0
probe $B udp-send $A4 7778 "from-b" 5555 || fail "send from B"
bg_wait in
drv expect-notice 300
expect none
ok "blocked B: B->A dropped, no notice"

# Moving B to soft takes it out of the blocked set.
drv peer soft $B4 60000
expect ok
bg soft $B udp-recv 7777 2000 1
probe $A udp-send $B4 7777 "soft" 40000 || fail "send to B"
bg_wait soft
ok "blocked -> soft: flows"
drv_quit
