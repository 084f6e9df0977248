#!/bin/bash
# A silent peer: no IKE and no ICMP error.  The fallback comes at the configured time.
#
#        +------------- bridge br0 (netns sse-sl<PID>-br) -------------+
#        |                                                        |
#   A 10.89.0.1  softsad --builtin server               D 10.89.0.4  drops UDP 500/4500
#                                                                    silently (nftables)
#
# A sends one UDP datagram to D: it is held while A tries IKE 4 times (default schedule
# 500, 500, 1000 ms, then 1000 ms: the decision at 3.0 s), then released in the clear under a
# soft association (reason peer-silent).  The time between the events negotiation-started
# and soft-created is measured and must fall in a generous window around 3.0 s (the exact
# schedule is asserted in the simulator, tests/sim; here only that the real clock follows it).
. "$(dirname "$0")/e2e_lib.sh" "$@"
topo_up sse-sl$$ a d || fail "topology"
topo_silent_ike d
sad_start a --builtin server --psk-file "$PSK"
sad_events a "$W/events"
cap_start "$W/sl.pcap" "ip and host 10.89.0.1 and host 10.89.0.4"
ip netns exec $TOPO_PREFIX-d timeout 10 python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.89.0.4", 6000))
print("listening", flush=True)
d, a = s.recvfrom(100); print("got", d.decode(), flush=True)' > "$W/d.out" 2>&1 &
rcv=$!
wait_for 5 grep -q listening "$W/d.out" || fail "listener on D"
udp_send a d 6000 held-then-clear
# While the last attempt is waiting for an answer (2.0 .. 3.0 s), A shows it.
attempt() { jget "$(ctl a peers)" '[str(x["state"]) + "/" + str(x["attempt"]) + "/" + str(x["held"]) for x in r["result"]["peers"] if x["remote"]=="10.89.0.4"][0]'; }
# Under emulation (tests/vm) one control round trip takes longer than that 1 s window.
if [ "${SOFTSA_E2E_SLOW:-1}" = 1 ]; then
	wait_for 4 'test "$(attempt)" = negotiating/4/$E2E_HELD' || fail "A never showed negotiating, attempt 4, $E2E_HELD held: $(ctl a peers)"
	ok "A lists D as negotiating (attempt 4) with the datagram held"
fi
wait $rcv || fail "D never received the datagram: $(cat "$W/d.out")"
grep -q "got held-then-clear" "$W/d.out" || fail "D received: $(cat "$W/d.out")"
cap_stop
wait_for 5 grep -q soft-created "$W/events" || fail "no soft-created event: $(cat "$W/events")"
dt=$(python3 - "$W/events" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{") and '"event"' in l]
t = {e["event"]: e["time"] for e in ev if e.get("remote") == "10.89.0.4"}
print("%.3f" % (t["soft-created"] - t["negotiation-started"]))
PY
) || fail "events: $(cat "$W/events")"
echo "  measured fallback time for a silent peer: $dt s (configured 3.0 s)"
python3 -c "import sys; sys.exit(0 if 2.7 <= $dt <= 4.0 else 1)" || fail "fallback after $dt s, outside 2.7..4.0 s"
ok "fallback after $dt s"
s=$(ctl a soft)
[ "$(jget "$s" '[x["reason"] for x in r["result"]["soft"] if x["remote"]=="10.89.0.4"][0]')" = peer-silent ] ||
	fail "soft association with D: $s"
ike=$(pcap_count "$W/sl.pcap" "src host 10.89.0.1 and udp dst port 500")
clear=$(pcap_count "$W/sl.pcap" "src host 10.89.0.1 and udp dst port 6000")
[ "$ike" = 4 ] || fail "expected 4 IKE attempts toward D, saw $ike"
[ "$clear" = 1 ] || fail "expected the datagram once in the clear, saw $clear"
first_clear=$(tcpdump -tt -nr "$W/sl.pcap" "src host 10.89.0.1 and udp dst port 6000" 2>/dev/null | head -1 | cut -d' ' -f1)
last_ike=$(tcpdump -tt -nr "$W/sl.pcap" "src host 10.89.0.1 and udp dst port 500" 2>/dev/null | tail -1 | cut -d' ' -f1)
python3 -c "import sys; sys.exit(0 if $first_clear > $last_ike else 1)" || fail "the datagram left before the last IKE attempt"
ok "4 IKE attempts, then the held datagram once in the clear; soft association (peer-silent)"
echo PASS
