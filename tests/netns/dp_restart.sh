#!/bin/bash
# (8) A start after a crash flushes what the crashed run left (table, peer sets, rules,
# routes) and works; a clean exit leaves nothing behind.
# Topology: see lib.sh.
. "$(dirname "$0")/lib.sh"
topo_up
TABLE=21331 # the default route_table, 0x5353

count_rules() { ip -n $A "$1" rule | grep -c "lookup $TABLE"; }
count_routes() { ip -n $A "$1" route show table $TABLE 2>/dev/null | grep -c .; }

# shellcheck disable=SC2086
drv_start $FILTERS
drv peer soft $C4 600000
expect ok
drv peer blocked $B4
expect ok
drv_kill9
# A soft peer with a whole-second lifetime lives in the set of that lifetime.
ip netns exec $A nft list set inet softsa soft4_600 | grep -q "$C4" || fail "leftover soft element missing"
[ "$(count_rules -4)" -eq 1 ] || fail "expected the crashed run's IPv4 rule"
[ "$(count_routes -4)" -eq 1 ] || fail "expected the blackhole route left"
ok "crash leaves: table with its sets, rule, blackhole route"

# shellcheck disable=SC2086
drv_start $FILTERS
for set in soft4 soft4_600; do
	ip netns exec $A nft list set inet softsa $set 2>/dev/null | grep -q "$C4" && fail "soft element survived the restart in $set"
done
ip netns exec $A nft list set inet softsa blocked4 | grep -q "$B4" && fail "blocked element survived the restart"
[ "$(count_rules -4)" -eq 1 ] || fail "IPv4 rules: $(count_rules -4), expected 1"
[ "$(count_rules -6)" -eq 1 ] || fail "IPv6 rules: $(count_rules -6), expected 1"
[ "$(count_routes -4)" -eq 2 ] || fail "IPv4 routes in table $TABLE: $(count_routes -4), expected 2"
[ "$(count_routes -6)" -eq 2 ] || fail "IPv6 routes in table $TABLE: $(count_routes -6), expected 2"
probe $A udp-send $B4 7777 "restarted" 40000 || fail "send to B"
drv expect-capture 2000
expect "captured proto=17 src=$A4 * dst=$B4 *"
ok "restart: leftovers flushed, one rule and two routes per family, capture works"

# A second instance while the first runs: refused, and the first keeps working.
# shellcheck disable=SC2086
ip netns exec $A "$DRIVER" $FILTERS </dev/null >/dev/null 2>"$TMP/second.err" && fail "a second instance started"
cat "$TMP/second.err"
grep -q "another instance" "$TMP/second.err" || fail "no clear message for the second instance"
[ "$(count_rules -4)" -eq 1 ] && [ "$(count_routes -4)" -eq 2 ] || fail "the second instance touched the first's routing"
probe $A udp-send $B4 7777 "still" 40000 || fail "send to B"
drv expect-capture 2000
expect "captured proto=17 src=$A4 * dst=$B4 *"
ok "second instance refused; the first still captures"

drv_quit
ip netns exec $A nft list table inet softsa >/dev/null 2>&1 && fail "table left after a clean exit"
[ "$(count_rules -4)" -eq 0 ] && [ "$(count_rules -6)" -eq 0 ] || fail "rules left after a clean exit"
[ "$(count_routes -4)" -eq 0 ] && [ "$(count_routes -6)" -eq 0 ] || fail "routes left after a clean exit"
ip -n $A link show softsa0 >/dev/null 2>&1 && fail "TUN left after a clean exit"
ok "clean exit: nothing left"

# A start that cannot make its TUN (the name is taken by another kind of device) says so and
# installs nothing.
ip -n $A link add softsa0 type veth peer name ssdp-peer || fail "cannot make the squatting device"
# shellcheck disable=SC2086
ip netns exec $A "$DRIVER" $FILTERS </dev/null >/dev/null 2>"$TMP/fail.err" && fail "driver started without its TUN"
cat "$TMP/fail.err"
grep -q "cannot create TUN device softsa0" "$TMP/fail.err" || fail "no clear message"
ip netns exec $A nft list table inet softsa >/dev/null 2>&1 && fail "table left after a failed start"
[ "$(count_rules -4)" -eq 0 ] && [ "$(count_routes -4)" -eq 0 ] || fail "routing left after a failed start"
ok "failed start: clear message, nothing left"
