#!/bin/bash
# A host with IPv6 turned off: the dataplane starts IPv4 only (with a warning) instead of
# refusing, and captures and releases as usual.
# Topology: see lib.sh.
. "$(dirname "$0")/lib.sh"
topo_up
ip netns exec $A sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 ||
	fail "cannot disable IPv6 in A"
# shellcheck disable=SC2086
drv_start $FILTERS
grep -q "IPv6 is disabled" "$TMP/drv.err" || fail "no warning about IPv6"
bg rel $B udp-recv 7777 3000 1
probe $A udp-send $B4 7777 "v4-only" 40000 || fail "send to B"
drv expect-capture 2000
expect "captured proto=17 src=$A4 * dst=$B4 *"
drv release
expect "released 1"
bg_wait rel
[ "$(ip -n $A -6 rule 2>/dev/null | grep -c 21331)" -eq 0 ] || fail "an IPv6 rule was installed"
ok "IPv6 off: IPv4 capture and release work, nothing IPv6 installed"
drv_quit
