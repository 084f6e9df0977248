#!/bin/bash
# A soft-associated peer that starts IKE is upgraded at once (row 7 of the seed's table).
#
#        +------------- bridge br0 (netns sse-up-br) -------------+
#        |                                                        |
#   A 10.89.0.1  softsad --builtin server               C 10.89.0.3  no IKE at first, then
#                                                                    softsad --builtin server
#
# A -> C falls back to a soft association.  Then C starts softsad and sends to A: C's
# softsad negotiates with A, A replaces the soft association with a secured one (event
# soft-upgraded), and from then on TCP between them is ESP only.
. "$(dirname "$0")/e2e_lib.sh" "$@"
topo_up sse-up a c || fail "topology"
sad_start a --builtin server --psk-file "$PSK"
sad_events a "$W/events"
tcp_transfer a c 100000
[ "$(jget "$(ctl a soft)" 'len(r["result"]["soft"])')" = 1 ] || fail "no soft association: $(ctl a soft)"
ok "A <-> C soft (C has no IKE)"

sad_start c --builtin server --psk-file "$PSK"
cap_start "$W/up.pcap" "ip and host 10.89.0.1 and host 10.89.0.3"
tcp_transfer c a 500000 5002
wait_for 5 grep -q soft-upgraded "$W/events" || fail "no soft-upgraded event: $(cat "$W/events")"
state() { jget "$(ctl a peers)" '[x["state"] for x in r["result"]["peers"] if x["remote"]=="10.89.0.3"][0]'; }
wait_for 5 'test "$(state)" = secured' || fail "A's association with C: $(ctl a peers)"
[ "$(jget "$(ctl a soft)" 'len(r["result"]["soft"])')" = 0 ] || fail "soft association kept: $(ctl a soft)"
grep -q "soft association upgraded 10.89.0.1 <-> 10.89.0.3" "$W/a.log" || fail "no upgrade log line"
ok "C started IKE: A upgraded the soft association to secured"
cap_stop
cap_start "$W/up2.pcap" "ip and host 10.89.0.1 and host 10.89.0.3"
tcp_transfer a c 500000 5003
cap_stop
[ "$(pcap_count "$W/up2.pcap" "tcp")" = 0 ] || fail "clear TCP between A and C after the upgrade"
[ "$(pcap_count "$W/up2.pcap" "ip proto 50")" -ge 100 ] || fail "no ESP between A and C after the upgrade"
ok "after the upgrade A <-> C traffic is ESP only"
echo PASS
