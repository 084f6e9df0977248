#!/bin/bash
# Downgrade protection survives a restart: a peer that completed IKE is not soft-associated
# when it later falls silent, even though the rule allows fallback.
#
#        +------------- bridge br0 (netns sse-dg-br) -------------+
#        |                                                        |
#   A 10.89.0.1  softsad --builtin server               B 10.89.0.2  softsad, then nothing:
#                --state-dir (downgrade memory)                      UDP 500 dropped silently
#
# A and B secure a transfer; A stops (the memory is written) and starts again (restored from
# the state file).  B's softsad is gone and B drops IKE silently, as an attacker blocking
# UDP 500 would make it look.  A's traffic to B: peer-silent, and A blocks B instead of
# falling back to clear; not one clear packet leaves A for B.
. "$(dirname "$0")/e2e_lib.sh" "$@"
topo_up sse-dg a b || fail "topology"
sad_start a --builtin server --psk-file "$PSK" --state-dir "$W/state"
sad_start b --builtin server --psk-file "$PSK"
tcp_transfer a b 100000
ok "A and B secured"
sad_stop a
sad_stop b
[ -s "$W/state/downgrade.state" ] || fail "no state file written at exit"
topo_silent_ike b
sad_start a --builtin server --psk-file "$PSK" --state-dir "$W/state"
grep -q "downgrade memory: 1 peers restored" "$W/a.log" || fail "memory not restored: $(grep downgrade "$W/a.log")"
ok "A restarted with B in its downgrade memory"
cap_start "$W/dg.pcap" "ip and src host 10.89.0.1 and dst host 10.89.0.2"
udp_send a b 7000 must-not-leave
state() { jget "$(ctl a peers)" '[x["state"] + "/" + str(x["last_outcome"]) for x in r["result"]["peers"] if x["remote"]=="10.89.0.2"][0]'; }
wait_for 8 'test "$(state)" = blocked/peer-silent' || fail "A's association with B: $(ctl a peers)"
cap_stop
[ "$(jget "$(ctl a soft)" 'len(r["result"]["soft"])')" = 0 ] || fail "A soft-associated a peer that did IKE: $(ctl a soft)"
clear=$(pcap_count "$W/dg.pcap" "not (udp port 500 or udp port 4500)")
[ "$clear" = 0 ] || fail "$clear clear packets from A to B"
ok "B silent after a restart of A: blocked (downgrade protection), no soft association, no clear packet"
echo PASS
