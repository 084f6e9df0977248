#!/bin/bash
# Two softsad hosts secure their traffic with ESP.
#
#        +------------- bridge br0 (netns sse-ab-br) -------------+
#        |                                                        |
#   A 10.89.0.1  softsad --builtin server            B 10.89.0.2  softsad --builtin server
#
# A sends several MB to B over TCP; B checks the SHA-256.  A capture on the bridge shows IKE
# (UDP 500) and ESP between A and B, and not one clear TCP packet.  Both ends list the same
# CHILD SA (SPIs mirrored).  SIGTERM leaves no TUN, table or rule behind.
. "$(dirname "$0")/e2e_lib.sh" "$@"
topo_up sse-ab a b || fail "topology"
sad_start a --builtin server --psk-file "$PSK"
sad_start b --builtin server --psk-file "$PSK"
cap_start "$W/ab.pcap" "host 10.89.0.1 and host 10.89.0.2"

tcp_transfer a b 4000000
ok "4 MB A -> B over TCP arrived intact"
tcp_transfer b a 1000000 5002
ok "1 MB B -> A over TCP arrived intact"
cap_stop

ike=$(pcap_count "$W/ab.pcap" "udp port 500")
esp=$(pcap_count "$W/ab.pcap" "ip proto 50")
tcp=$(pcap_count "$W/ab.pcap" "tcp")
other=$(pcap_count "$W/ab.pcap" "not (udp port 500 or ip proto 50 or arp)")
echo "  capture: $ike IKE, $esp ESP, $tcp clear TCP, $other other"
[ "$ike" -ge 4 ] || fail "expected IKE between A and B, saw $ike datagrams"
[ "$esp" -ge 2000 ] || fail "expected thousands of ESP packets, saw $esp"
[ "$tcp" = 0 ] || fail "$tcp clear TCP packets between A and B"
[ "$other" = 0 ] || fail "$other packets that are neither IKE nor ESP between A and B"
ok "the wire carried only IKE and ESP between A and B"

ra=$(ctl a sas); rb=$(ctl b sas)
sa=$(jget "$ra" 'r["result"]["ike_sas"][0]["children"][0]["spi_in"] + "/" + r["result"]["ike_sas"][0]["children"][0]["spi_out"]')
sb=$(jget "$rb" 'r["result"]["ike_sas"][0]["children"][0]["spi_out"] + "/" + r["result"]["ike_sas"][0]["children"][0]["spi_in"]')
[ "$sa" = "$sb" ] || fail "CHILD SA SPIs differ: A in/out $sa, B out/in $sb"
[ "$(jget "$ra" 'r["result"]["ike_sas"][0]["state"]')" = established ] || fail "A's IKE SA: $ra"
[ "$(jget "$ra" 'r["result"]["ike_sas"][0]["children"][0]["mode"]')" = transport ] || fail "mode: $ra"
st=$(ctl a stats)
[ "$(jget "$st" 'r["result"]["esp"]["packets_out"] > 2000')" = True ] || fail "A's ESP counters: $st"
[ "$(jget "$st" 'r["result"]["soft"]["created"]')" = 0 ] || fail "A made a soft association with B: $st"
p=$(ctl a peers)
[ "$(jget "$p" '[x["state"] for x in r["result"]["peers"] if x["remote"]=="10.89.0.2"][0]')" = secured ] || fail "A's peers: $p"
ok "A and B list the same CHILD SA ($sa), A's association with B is secured"

sad_stop a
sad_stop b
for h in a b; do
	topo_exec $h ip link show softsa0 >/dev/null 2>&1 && fail "$h: softsa0 left behind"
	topo_exec $h nft list table inet softsa >/dev/null 2>&1 && fail "$h: table inet softsa left behind"
	topo_exec $h ip rule | grep -q 0x100000 && fail "$h: fwmark rule left behind"
done
grep -q "stopped" "$W/a.log" || fail "no stop line in A's log"
ok "SIGTERM: TUN, table and rules removed on both hosts"
echo PASS
