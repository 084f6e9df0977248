#!/bin/bash
# An IKE_SA_INIT flood at softsad, with a legitimate peer getting in during it (RFC 7296 §2.6).
#
#        +------------------- bridge br0 (netns sse-fl<PID>-br) -------------------+
#        |                             |                                      |
#   A 10.89.0.1  softsad          B 10.89.0.2  softsad              C 10.89.0.3 + .100-.149
#   (responder under attack)      (legitimate initiator)            ike_flood.py: well-formed
#                                                                   IKE_SA_INITs, never echoes
#                                                                   a COOKIE
# While C floods A for 8 s (20,000 requests/s), A requires COOKIEs (event ike-flood, cookies_required), answers C
# statelessly, keeps at most cookie_threshold half-open SAs (+1 for B), and B's TCP connection
# to A is secured (B echoes the cookie).  After the half-open SAs time out (30 s) the flood
# is over (event, cookies_required false).  Every figure is read from softsad's stats.
. "$(dirname "$0")/e2e_lib.sh" "$@"
topo_up "$NSP-fl$$" a b c || fail "topology"
srcs=""
for i in $(seq 100 149); do
	topo_exec c ip addr add "10.89.0.$i/24" dev eth0
	srcs="$srcs 10.89.0.$i"
done
sad_start a --builtin server --psk-file "$PSK"
sad_start b --builtin server --psk-file "$PSK"
sad_events a "$W/a.events"
fl() { jget "$(ctl a stats)" "r['result']['ike']['flood']['$1']"; }

# shellcheck disable=SC2086
ip netns exec "$TOPO_PREFIX-c" python3 "$HERE/ike_flood.py" 10.89.0.1 8 20000 $srcs > "$W/flood.out" 2>&1 &
flood=$!
topo_track $flood
wait_for 5 'test "$(fl cookies_required)" = True' || fail "A never required cookies: $(ctl a stats)"
ok "flood: A requires COOKIEs ($(fl half_open) half-open SAs)"
tcp_transfer b a 50000 5001 10
[ "$(fl cookies_verified)" -ge 1 ] || fail "B got in without a cookie? $(ctl a stats)"
p=$(jget "$(ctl b peers)" '[x["state"] for x in r["result"]["peers"] if x["remote"]=="10.89.0.1"]')
[ "$p" = '["secured"]' ] || fail "B's association with A: $p"
ok "during the flood B echoed the cookie and its TCP to A went through, secured"
wait $flood || fail "flood: $(cat "$W/flood.out")"
sent=$(jget "$(cat "$W/flood.out")" 'r["sent"]')
cs=$(fl cookies_sent)
peak=$(fl half_open_peak)
[ "$cs" -ge 1000 ] || fail "only $cs cookies for $sent requests"
[ "$peak" -le 51 ] || fail "half-open peak $peak above the threshold (50) + B"
grep -q '"state": *"cookies-required"' "$W/a.events" || fail "no ike-flood event: $(head -5 "$W/a.events")"
ok "$sent requests in 8 s: $cs COOKIEs sent, half-open peak $peak (threshold 50)"
wait_for 40 'test "$(fl cookies_required)" = False' || fail "the flood never ended: $(ctl a stats)"
grep -q '"state": *"over"' "$W/a.events" || fail "no ike-flood over event"
[ "$(fl half_open_expired)" -ge 49 ] || fail "half-open SAs did not expire: $(ctl a stats)"
ok "30 s later the half-open SAs expired and the flood is over ($(fl half_open) half-open)"
echo PASS
