#!/bin/bash
# softsad killed with SIGKILL fails closed: nothing that needs security leaves in the clear.
#
#        +------------- bridge br0 (netns sse-kl<PID>-br) -------------+
#        |                                                        |
#   A 10.89.0.1  softsad (killed -9)                    B 10.89.0.2  softsad
#
# A and B (built-in server) are secured.  A's softsad gets SIGKILL (no cleanup at all); UDP
# and a TCP connection attempt from A to B then produce not one packet from A to B on the
# bridge.  A new softsad on A flushes what the dead one left, and A -> B works again (ESP).
# Then someone deletes A's TUN under the running softsad: it says so, does not spin on the
# dead descriptor, traffic to B still does not leave in the clear, and SIGTERM still works.
# On the kernel dataplane (tests/vm, E2E_DP=kernel) the SA outlives softsad in the kernel: after
# the kill A -> B still goes, as ESP only; there is no TUN to delete.
. "$(dirname "$0")/e2e_lib.sh" "$@"
topo_up sse-kl$$ a b || fail "topology"
sad_start a --builtin server --psk-file "$PSK"
sad_start b --builtin server --psk-file "$PSK"
tcp_transfer a b 100000
ok "A -> B secured before the kill"

kill -9 "$SAD_PID_a"
wait "$SAD_PID_a" 2>/dev/null
cap_start "$W/kl.pcap" "ip and src host 10.89.0.1 and dst host 10.89.0.2"
udp_send a b 7000 after-the-kill 2>/dev/null
udp_send a b 7000 after-the-kill-2 2>/dev/null
if [ "$E2E_DP" = kernel ]; then
	# The kernel's SAs and policies outlive softsad: traffic to B goes on, as ESP only.
	topo_exec a timeout 3 python3 -c '
import socket; socket.create_connection(("10.89.0.2", 5001), timeout=1.5)' 2>/dev/null
	cap_stop
	n=$(pcap_count "$W/kl.pcap" "ip and not ip proto 50")
	[ "$n" = 0 ] || { tcpdump -nr "$W/kl.pcap" 2>/dev/null | head; fail "$n clear packets from A to B after SIGKILL"; }
	[ "$(pcap_count "$W/kl.pcap" "ip proto 50")" -ge 2 ] || fail "no ESP from A to B after SIGKILL (the kernel's SA should carry it)"
	ok "after SIGKILL: the kernel's SA carries A -> B, not one clear packet"
else
	topo_exec a timeout 3 python3 -c '
import socket; socket.create_connection(("10.89.0.2", 5001), timeout=1.5)' 2>/dev/null &&
		fail "A connected to B with its softsad dead"
	cap_stop
	n=$(pcap_count "$W/kl.pcap" "ip")
	[ "$n" = 0 ] || { tcpdump -nr "$W/kl.pcap" 2>/dev/null | head; fail "$n packets from A to B after SIGKILL"; }
	ok "after SIGKILL: not one packet from A to B (UDP and TCP attempts)"
fi

sad_start a --builtin server --psk-file "$PSK"
cap_start "$W/kl2.pcap" "ip and src host 10.89.0.1 and dst host 10.89.0.2"
tcp_transfer a b 200000
cap_stop
[ "$(pcap_count "$W/kl2.pcap" "tcp")" = 0 ] || fail "clear TCP after the restart"
[ "$(pcap_count "$W/kl2.pcap" "ip proto 50")" -ge 10 ] || fail "no ESP after the restart"
ok "a new softsad on A flushes the leftovers and A -> B is secured again"
# B still had the SA with A's dead softsad; A's new one says INITIAL_CONTACT (RFC 7296 §2.4), so
# B's engine deletes the old one at once (no DELETE: nobody has its keys).
sas_b() { jget "$(ctl b sas)" '" ".join(s["state"] + "/" + str(len(s["children"])) for s in r["result"]["ike_sas"])'; }
case "$(sas_b)" in
	"established/1") ;;
	*) fail "B kept the SA of A's dead softsad: $(sas_b): $(ctl b sas)" ;;
esac
grep -q "INITIAL_CONTACT from 10.89.0.1: deleting SA" "$W/b.log" || fail "no log line for the replaced SA"
ok "B replaced the SA A's dead softsad had: $(sas_b)"

if [ "$E2E_DP" = kernel ]; then
	# No TUN to delete: the kernel carries ESP, and its policies outlive softsad.
	sad_stop a
	echo PASS
	exit 0
fi
topo_exec a ip link del softsa0
wait_for 5 grep -q "TUN softsa0 failed" "$W/a.log" || fail "softsad did not notice its TUN going"
cpu() { awk '{print $14 + $15}' "/proc/$SAD_PID_a/stat"; }
c0=$(cpu); sleep 1; c1=$(cpu)
[ $((c1 - c0)) -lt 50 ] || fail "softsad spins after losing its TUN ($((c1 - c0)) ticks of CPU in 1 s)"
cap_start "$W/kl3.pcap" "ip and src host 10.89.0.1 and dst host 10.89.0.2"
udp_send a b 7000 tun-gone 2>/dev/null
cap_stop
[ "$(pcap_count "$W/kl3.pcap" "not (udp port 500 or udp port 4500)")" = 0 ] || fail "clear packets after the TUN went"
sad_stop a
ok "TUN deleted under softsad: logged, no spinning, nothing in the clear, clean SIGTERM"
echo PASS
