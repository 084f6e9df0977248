#!/bin/bash
# A peer that answers IKE but refuses is never soft-associated (row 5 of the seed's table).
#
#        +------------- bridge br0 (netns sse-rf-br) -------------+
#        |                                                        |
#   A 10.89.0.1  softsad --builtin server               B 10.89.0.2  softsad --builtin server
#                (pre-shared key K1)                                 (another key, K2)
#
# The policy allows fallback to clear, but B spoke IKE (authentication fails): A blocks B
# instead, lists the outcome peer-refused, and not one clear packet goes from A to B.
. "$(dirname "$0")/e2e_lib.sh" "$@"
topo_up sse-rf a b || fail "topology"
echo "sse-e2e-another-key-0123456789abcdef" > "$W/psk2"
sad_start a --builtin server --psk-file "$PSK"
sad_start b --builtin server --psk-file "$W/psk2"
cap_start "$W/rf.pcap" "ip and src host 10.89.0.1 and dst host 10.89.0.2"
topo_exec a timeout 5 python3 -c '
import socket; socket.create_connection(("10.89.0.2", 5001), timeout=3)' 2>/dev/null &&
	fail "A connected to B although IKE failed"
cap_stop
p=$(ctl a peers)
[ "$(jget "$p" '[x["state"] + "/" + str(x["last_outcome"]) for x in r["result"]["peers"] if x["remote"]=="10.89.0.2"][0]')" = blocked/peer-refused ] ||
	fail "A's association with B: $p"
[ "$(jget "$(ctl a soft)" 'len(r["result"]["soft"])')" = 0 ] || fail "soft association with a refusing peer"
[ "$(jget "$(ctl a stats)" 'r["result"]["negotiations"]["peer_refused"]')" = 1 ] || fail "stats: $(ctl a stats)"
clear=$(pcap_count "$W/rf.pcap" "not (udp port 500 or udp port 4500)")
[ "$clear" = 0 ] || fail "$clear clear packets from A to B"
ok "B refused (wrong key): A blocked it, no soft association, no clear packet"
echo PASS
