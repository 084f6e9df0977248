#!/bin/bash
# Two softsad hosts secure their traffic with ESP.
#
#        +------------- bridge br0 (netns sse-ab<PID>-br) -------------+
#        |                                                        |
#   A 10.89.0.1  softsad --builtin server            B 10.89.0.2  softsad --builtin server
#     fd89::1                                            fd89::2
#
# A sends several MB to B over TCP (IPv4, then IPv6, and back); B checks the SHA-256.  A capture on the bridge shows IKE
# (UDP 500) and ESP between A and B, and not one clear TCP packet.  Both ends list the same
# CHILD SA (SPIs mirrored).  SIGTERM leaves no TUN, table or rule behind.
. "$(dirname "$0")/e2e_lib.sh" "$@"
topo_up "$NSP-ab$$" a b || fail "topology"
sad_start a --builtin server --psk-file "$PSK"
sad_start b --builtin server --psk-file "$PSK"
cap_start "$W/ab.pcap" "(host 10.89.0.1 and host 10.89.0.2) or (host fd89::1 and host fd89::2)"

tcp_transfer a b 4000000
ok "4 MB A -> B over TCP arrived intact"
tcp_transfer b a 1000000 5002
ok "1 MB B -> A over TCP arrived intact"
TCP_FAM=6 tcp_transfer a b 2000000 5003
ok "2 MB A -> B over TCP/IPv6 arrived intact"
cap_stop

ike=$(pcap_count "$W/ab.pcap" "udp port 500")
esp=$(pcap_count "$W/ab.pcap" "ip proto 50 or ip6 proto 50")
esp6=$(pcap_count "$W/ab.pcap" "ip6 proto 50")
tcp=$(pcap_count "$W/ab.pcap" "tcp")
# IPv6 neighbour discovery (ICMPv6 133-137) stays clear by design, like ARP.
other=$(pcap_count "$W/ab.pcap" "not (udp port 500 or ip proto 50 or ip6 proto 50 or arp or (icmp6 and ip6[40] >= 133 and ip6[40] <= 137))")
echo "  capture: $ike IKE, $esp ESP ($esp6 over IPv6), $tcp clear TCP, $other other"
[ "$ike" -ge 4 ] || fail "expected IKE between A and B, saw $ike datagrams"
[ "$esp" -ge 2000 ] || fail "expected thousands of ESP packets, saw $esp"
[ "$esp6" -ge 1000 ] || fail "expected ESP over IPv6, saw $esp6"
[ "$tcp" = 0 ] || fail "$tcp clear TCP packets between A and B"
[ "$other" = 0 ] || fail "$other packets that are neither IKE nor ESP between A and B"
ok "the wire carried only IKE and ESP between A and B"

ra=$(ctl a sas); rb=$(ctl b sas)
[ "$(jget "$ra" 'len(r["result"]["ike_sas"])')" = 2 ] || fail "A should have two IKE SAs with B (IPv4, IPv6): $ra"
sa=$(jget "$ra" '[s["children"][0]["spi_in"] + "/" + s["children"][0]["spi_out"] for s in r["result"]["ike_sas"] if s["remote"] == "10.89.0.2"][0]')
sb=$(jget "$rb" '[s["children"][0]["spi_out"] + "/" + s["children"][0]["spi_in"] for s in r["result"]["ike_sas"] if s["remote"] == "10.89.0.1"][0]')
[ "$sa" = "$sb" ] || fail "CHILD SA SPIs differ: A in/out $sa, B out/in $sb"
[ "$(jget "$ra" 'r["result"]["ike_sas"][0]["state"]')" = established ] || fail "A's IKE SA: $ra"
[ "$(jget "$ra" 'r["result"]["ike_sas"][0]["children"][0]["mode"]')" = transport ] || fail "mode: $ra"
st=$(ctl a stats)
[ "$(jget "$st" 'r["result"]["esp"]["packets_out"] > 2000')" = True ] || fail "A's ESP counters: $st"
[ "$(jget "$st" 'r["result"]["soft"]["created"]')" = 0 ] || fail "A made a soft association with B: $st"
p=$(ctl a peers)
[ "$(jget "$p" '[x["state"] for x in r["result"]["peers"] if x["remote"]=="10.89.0.2"][0]')" = secured ] || fail "A's peers: $p"
ok "A and B list the same CHILD SA ($sa), A's association with B is secured"

# terminate and initiate over the control socket.
n_sas() { jget "$(ctl "$1" sas)" 'len([s for s in r["result"]["ike_sas"] if s["remote"] in ("10.89.0.1", "10.89.0.2")])'; }
t=$(ctl a terminate peer=10.89.0.2)
[ "$(jget "$t" 'r["result"]["terminated"]')" = 1 ] || fail "terminate: $t"
# The CHILD SAs went with the command: no CHILD SA left, and B is no longer "secured".
[ "$(jget "$t" 'r["result"]["child_sas"]')" = False ] || fail "terminate left CHILD SAs: $t"
st=$(jget "$(ctl a peers)" '[x["state"] for x in r["result"]["peers"] if x["remote"]=="10.89.0.2"]')
case "$st" in *secured*) fail "A lists B secured right after terminate: $st" ;; esac
wait_for 5 'test "$(n_sas a)" = 0 && test "$(n_sas b)" = 0' || fail "SAs left after terminate: $(ctl a sas) $(ctl b sas)"
i=$(ctl a initiate peer=10.89.0.2)
# started is false only when the pair was not idle: a late packet of the earlier transfers
# may have started a negotiation already, which is just as good.
if [ "$(jget "$i" 'r["result"]["started"]')" != True ]; then
	st=$(jget "$(ctl a peers)" '[x["state"] for x in r["result"]["peers"] if x["remote"]=="10.89.0.2"]')
	case "$st" in *negotiating*|*secured*) ;; *) fail "initiate: $i; A's peers: $(ctl a peers)" ;; esac
fi
wait_for 5 'test "$(n_sas a)" = 1 && test "$(n_sas b)" = 1' || fail "no SA after initiate: $(ctl a sas)"
tcp_transfer a b 100000 5004
ok "terminate removed the SA on both ends; initiate made a new one, which carries traffic"

sad_stop a
sad_stop b
for h in a b; do
	left=$(dp_left $h)
	[ -z "$left" ] || fail "$h: left behind: $left"
done
grep -q "stopped" "$W/a.log" || fail "no stop line in A's log"
ok "SIGTERM: nothing of the dataplane ($E2E_DP) left on either host"
echo PASS
