#!/bin/bash
# A forged IKE_SA_INIT does not push a host without IKE out of its soft association.
#
#        +------------- bridge br0 (netns sse-fi<PID>-br) -------------+
#        |                                                        |
#   A 10.89.0.1  softsad (server: fallback allowed)     C 10.89.0.3  no IKE (ICMP port
#                                                                    unreachable); for one
#                                                                    datagram it sends an
#                                                                    IKE_SA_INIT as a forger
#                                                                    of its address would
#
# A makes a soft association with C.  One well-formed IKE_SA_INIT from C's address (never
# followed by IKE_AUTH) suspends it: the peer may be upgrading.  When A's half-open SA gives
# up (30 s, the engine's limit), A restores the soft association instead of blocking C (the
# message proved nothing), counts responder_gave_up, and A -> C traffic flows clear again.
. "$(dirname "$0")/e2e_lib.sh" "$@"
topo_up sse-fi$$ a c || fail "topology"
sad_start a --builtin server --psk-file "$PSK"
sad_events a "$W/a.events"
state() { jget "$(ctl a peers)" '([x["state"] for x in r["result"]["peers"] if x["remote"]=="10.89.0.3"] + ["none"])[0]'; }

tcp_transfer a c 50000
[ "$(state)" = soft ] || fail "A <-> C is $(state), not soft"
ok "A -> C: soft association after the fallback"

ip netns exec "$TOPO_PREFIX-c" python3 -c '
import os, socket, sys
sys.path.insert(0, sys.argv[1])
import ike_flood
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.89.0.3", 0))
s.sendto(ike_flood.request(os.urandom(32)), ("10.89.0.1", 500))' "$HERE" || fail "sending the IKE_SA_INIT"
wait_for 5 'test "$(state)" = negotiating' || fail "the IKE_SA_INIT did not suspend the soft association: $(state)"
[ "$(jget "$(ctl a stats)" 'r["result"]["ike"]["flood"]["half_open"]')" = 1 ] || fail "no half-open SA: $(ctl a stats)"
ok "the IKE_SA_INIT from C's address suspends the soft association (one half-open SA)"

wait_for 40 'test "$(state)" = soft' || fail "after the half-open SA gave up A <-> C is $(state), not soft"
st=$(ctl a stats)
[ "$(jget "$st" 'r["result"]["negotiations"]["responder_gave_up"]')" = 1 ] || fail "responder_gave_up: $st"
[ "$(jget "$st" 'r["result"]["ike"]["flood"]["half_open_expired"]')" = 1 ] || fail "half_open_expired: $st"
grep -q '"outcome": *"responder-gave-up"' "$W/a.events" || fail "no negotiation-ended event: $(cat "$W/a.events")"
if grep -q '"peer-blocked"' "$W/a.events"; then fail "C was blocked: $(grep peer-blocked "$W/a.events")"; fi
grep -q "soft association restored" "$W/a.log" || fail "no log line for the restored soft association"
ok "30 s later A's responder gave up: the soft association is back, C never blocked"

tcp_transfer a c 50000 5002
[ "$(jget "$(ctl a stats)" 'r["result"]["esp"]["packets_out"]')" = 0 ] || fail "ESP toward a host without IKE"
ok "A -> C: TCP flows clear again"
sad_stop a
echo PASS
