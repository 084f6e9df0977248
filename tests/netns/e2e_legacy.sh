#!/bin/bash
# A host without IKE: soft associations when the policy allows them, nothing in the clear
# when it does not.
#
#        +------------- bridge br0 (netns sse-lg<PID>-br) -------------+
#        |                                                        |
#   A 10.89.0.1  softsad                                C 10.89.0.3  no IKE: its kernel
#                (server, then secure-server)                        answers UDP 500 with
#                                                                    ICMP port unreachable
#
# Server (Request Security): A -> C and C -> A traffic flows after the fallback, and the
# control socket lists the soft association (reason peer-unreachable).  Secure Server
# (Require Security): neither direction works, the capture shows not one clear packet from A
# to C, and A lists C as blocked.
. "$(dirname "$0")/e2e_lib.sh" "$@"
topo_up sse-lg$$ a c || fail "topology"

# --- fallback allowed --------------------------------------------------------------
sad_start a --builtin server --psk-file "$PSK"
tcp_transfer a c 200000
ok "A -> C: TCP flows after the fallback"
s=$(ctl a soft)
[ "$(jget "$s" '[x["reason"] for x in r["result"]["soft"] if x["remote"]=="10.89.0.3"][0]')" = peer-unreachable ] ||
	fail "no soft association with C: $s"
[ "$(jget "$s" '[x["expires_in"] for x in r["result"]["soft"] if x["remote"]=="10.89.0.3"][0] > 200')" = True ] ||
	fail "soft association expiry: $s"
grep -q "soft association created 10.89.0.1 <-> 10.89.0.3 (peer-unreachable)" "$W/a.log" || fail "no log line for the soft association"
ok "the soft association A <-> C is listed (peer-unreachable) and logged"

f=$(ctl a flush-soft)
[ "$(jget "$f" 'r["result"]["flushed"]')" = 1 ] || fail "flush-soft: $f"
[ "$(jget "$(ctl a soft)" 'len(r["result"]["soft"])')" = 0 ] || fail "soft association survived flush-soft"
tcp_transfer c a 200000 5002
ok "C -> A: TCP flows (A accepts unsecured inbound and negotiates toward C)"
st=$(ctl a stats)
[ "$(jget "$st" 'r["result"]["soft"]["created"]')" = 2 ] || fail "soft associations created: $st"
[ "$(jget "$st" 'r["result"]["negotiations"]["peer_unreachable"]')" = 2 ] || fail "outcomes: $st"
[ "$(jget "$st" 'r["result"]["esp"]["packets_out"]')" = 0 ] || fail "ESP toward a host without IKE: $st"
ok "two soft associations, both after peer-unreachable outcomes"
# A datagram C sends that A never answers: only the dataplane's notice of inbound clear
# traffic can tell A's agent (the seed's second case), and A negotiates toward C again.
ctl a flush-soft > /dev/null
udp_send c a 7000 one-way-from-legacy
wait_for 10 'test "$(jget "$(ctl a soft)" "len([x for x in r[\"result\"][\"soft\"] if x[\"remote\"] == \"10.89.0.3\"])")" = 1' ||
	fail "A did not negotiate toward C after a one-way datagram from it: $(ctl a peers) $(ctl a stats)"
ok "one datagram C -> A, never answered: A noticed it and negotiated toward C (soft again)"
sad_stop a

# --- fallback not allowed ----------------------------------------------------------
sad_start a --builtin secure-server --psk-file "$PSK"
cap_start "$W/lg.pcap" "ip and host 10.89.0.1 and host 10.89.0.3"
ip netns exec $TOPO_PREFIX-c timeout 5 python3 -c '
import socket; s = socket.socket(); s.bind(("10.89.0.3", 5003)); s.listen(1); s.accept()' &
lst=$!
sleep 0.2
if topo_exec a timeout 5 python3 -c '
import socket; socket.create_connection(("10.89.0.3", 5003), timeout=3)' 2>/dev/null; then
	fail "A -> C connected although the policy requires security"
fi
kill $lst 2>/dev/null; wait $lst 2>/dev/null
ip netns exec $TOPO_PREFIX-a timeout 5 python3 -c '
import socket; s = socket.socket(); s.bind(("10.89.0.1", 5004)); s.listen(1); s.accept()' &
lst=$!
sleep 0.2
if topo_exec c timeout 5 python3 -c '
import socket; socket.create_connection(("10.89.0.1", 5004), timeout=2)' 2>/dev/null; then
	fail "C -> A connected although the policy requires security"
fi
kill $lst 2>/dev/null; wait $lst 2>/dev/null
cap_stop
clear=$(pcap_count "$W/lg.pcap" "src host 10.89.0.1 and not (udp port 500 or udp port 4500)")
ike=$(pcap_count "$W/lg.pcap" "src host 10.89.0.1 and udp port 500")
syn=$(pcap_count "$W/lg.pcap" "src host 10.89.0.3 and tcp")
echo "  capture: from A $ike IKE and $clear other; from C $syn TCP"
[ "$clear" = 0 ] || { tcpdump -nr "$W/lg.pcap" "src host 10.89.0.1" 2>/dev/null | head; fail "$clear clear packets from A to C"; }
[ "$ike" -ge 1 ] || fail "A did not try IKE with C"
[ "$syn" -ge 1 ] || fail "C's connection attempt is not in the capture (the test would prove nothing)"
p=$(ctl a peers)
# ICMP is permitted by the built-in (as in Windows): C's port-unreachable errors reach A's IKE
# engine, so the outcome is peer-unreachable, not peer-silent.
[ "$(jget "$p" '[x["state"] + "/" + str(x["last_outcome"]) for x in r["result"]["peers"] if x["remote"]=="10.89.0.3"][0]')" = blocked/peer-unreachable ] ||
	fail "C is not blocked after peer-unreachable: $p"
[ "$(jget "$(ctl a soft)" 'len(r["result"]["soft"])')" = 0 ] || fail "a soft association under secure-server"
grep -q "peer blocked 10.89.0.1 <-> 10.89.0.3" "$W/a.log" || fail "no log line for the block"
ok "secure-server: not one clear packet from A to C, C blocked, no soft association"
topo_exec c ping -c 2 -i 0.2 -W 2 10.89.0.1 >/dev/null || fail "ping C -> A: ICMP is permitted by secure-server"
# -I: ping's own source-address probe is a UDP connect(), which the kernel dataplane's block
# policy for C refuses (EPERM) before any packet exists.
topo_exec a ping -I 10.89.0.1 -c 2 -i 0.2 -W 2 10.89.0.3 >/dev/null || fail "ping A -> C: ICMP is permitted by secure-server"
ok "secure-server permits ICMP both ways without the daemon (the rule's permit filter)"
echo PASS
