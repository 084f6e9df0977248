#!/bin/bash
# No downgrade by forged ICMP (issue 11.1), with real softsads and a forger on the segment.
#
#        +------------- bridge br0 (netns sse-fi<PID>-br) -------------+
#        |  icmp_forger.py on port v-a: sees A's UDP 500 to B,            |
#        |  forges ICMP port unreachable "from B" for each, back to A     |
#   A 10.89.0.1  softsad -c policy                       B 10.89.0.2  softsad -c policy
#                (fallback allowed, icmp_fallback MODE)               (SIGSTOPped 0.4 s or more)
#
# B's softsad is stopped (SIGSTOP, by PID) while A starts sending UDP to B, so B's genuine
# IKE_SA_INIT response comes late; the forger answers each of A's attempts with ICMP at once.
#   fast: A goes soft on the forged errors (clear packets leave), then B's late answer ends
#         the soft association at once (event late-ike-answer), A and B secure, and after
#         the first ESP packet from A not one clear packet from A to B.
#   full: A waits for the whole silent schedule: B's answer is in time, not one clear packet.
. "$(dirname "$0")/e2e_lib.sh" "$@"

run_mode() {
	local mode=$1
	topo_up sse-fi$$ a b || fail "topology"
	request_policy "$W/policy.yaml" "forged-icmp-$mode" "icmp_fallback: $mode"
	sad_start a -c "$W/policy.yaml"
	sad_start b -c "$W/policy.yaml"
	sad_events a "$W/events"
	ip netns exec "$TOPO_PREFIX-br" python3 "$HERE/icmp_forger.py" v-a 10.89.0.1 10.89.0.2 "$W/forged" &
	topo_track $!
	wait_for 5 test -s "$W/forged" || fail "the forger did not start"
	cap_start "$W/fi.pcap" "ip and src host 10.89.0.1 and dst host 10.89.0.2"
	kill -STOP "$SAD_PID_b"
	topo_exec a python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(80):
    s.sendto(b"x" * 100, ("10.89.0.2", 5001)); time.sleep(0.05)' &
	local sender=$!
	topo_track $sender
	sleep 0.4
	if [ "$mode" = fast ]; then
		# B stays stopped at least 0.4 s and until A has gone soft on the forged errors.
		wait_for 3 grep -q soft-created "$W/events" || { kill -CONT "$SAD_PID_b"; fail "fast: A never went soft on forged ICMP: $(cat "$W/events")"; }
	else
		wait_for 3 'test "$(cat "$W/forged")" -ge 4' || { kill -CONT "$SAD_PID_b"; fail "full: the forger saw $(cat "$W/forged") attempts"; }
	fi
	kill -CONT "$SAD_PID_b"
	state() { jget "$(ctl a peers)" '[x["state"] for x in r["result"]["peers"] if x["remote"]=="10.89.0.2"][0]'; }
	wait_for 10 'test "$(state)" = secured' || fail "$mode: A's association with B: $(ctl a peers)"
	wait $sender
	cap_stop
	local forged
	forged=$(cat "$W/forged")
	[ "$forged" -ge 4 ] || fail "$mode: only $forged ICMP errors forged"
	[ "$(jget "$(ctl a stats)" 'r["result"]["ike"]["icmp_errors"]')" -ge 4 ] || fail "$mode: A counted no forged ICMP: $(ctl a stats)"
	tcpdump -tt -nr "$W/fi.pcap" 2>/dev/null | awk '
		/ESP/ { if (!esp) esp = NR; next }
		/\.5001: UDP/ { clear++; if (esp) late++ }
		END { printf "%d %d %d\n", clear, esp ? 1 : 0, late }' > "$W/order"
	local clear esp late
	read -r clear esp late < "$W/order"
	[ "$esp" = 1 ] || fail "$mode: no ESP from A to B"
	[ "$late" = 0 ] || fail "$mode: $late clear packets from A to B after the first ESP one"
	[ "$(jget "$(ctl a soft)" 'len(r["result"]["soft"])')" = 0 ] || fail "$mode: soft association kept: $(ctl a soft)"
	if [ "$mode" = fast ]; then
		[ "$clear" -ge 1 ] || fail "fast: no clear packet while soft (the attack did not take)"
		wait_for 5 grep -q late-ike-answer "$W/events" || fail "fast: no late-ike-answer event: $(cat "$W/events")"
		grep -q "the peer answered after all" "$W/a.log" || fail "fast: no late-answer log line"
		ok "fast: forged ICMP made A soft, B's late answer ended it: $clear clear packets (all before the first ESP one), then ESP only"
	else
		[ "$clear" = 0 ] || fail "full: $clear clear packets from A to B"
		grep -q soft-created "$W/events" && fail "full: A went soft: $(cat "$W/events")"
		ok "full: $forged forged ICMP errors, B answered late: not one clear packet, secured"
	fi
	topo_down
	rm -f "$W"/*.log "$W"/*.ctl "$W/events" "$W/forged"
}

run_mode fast
run_mode full
echo PASS
