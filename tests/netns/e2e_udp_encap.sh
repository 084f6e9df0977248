#!/bin/bash
# udp_encap: always — ESP in UDP 4500 (RFC 3948) between two softsads with no NAT between them.
#
#        +------------- bridge br0 (netns sse-ue<PID>-br) -------------+
#        |                                                        |
#   A 10.89.0.1  softsad -c policy.yaml              B 10.89.0.2  softsad -c policy.yaml
#     fd89::1                                            fd89::2
#
# Both policies say `udp_encap: always`: each side's NAT_DETECTION_SOURCE_IP cannot match, so
# both float to 4500 after IKE_SA_INIT and the CHILD SA is in UDP.  A sends 4 MB to B over TCP,
# 2 MB over TCP/IPv6, and B 1 MB back (checksummed); a capture on the bridge shows IKE_SA_INIT on 500, everything
# else on 4500, not one raw ESP packet (protocol 50), not one clear TCP packet, and not the
# first bytes of the transfer in the clear.  A's ESP counters pass 1000 packets, and its
# dataplane sent UDP GSO batches (the capture sees each batch as one datagram on the veth,
# so it counts fewer datagrams than A sent packets).
. "$(dirname "$0")/e2e_lib.sh" "$@"
topo_up sse-ue$$ a b || fail "topology"
cat > "$W/policy.yaml" <<YAML
name: udp-always
psk_file: $PSK
filter_lists:
  all-icmp:
    - { src: me, dst: any, proto: icmp }
    - { src: me, dst: any, proto: icmpv6 }
  lan:
    - { src: me, dst: 10.89.0.0/24 }
    - { src: me, dst: "fd89::/64" }
filter_actions:
  permit: { action: permit }
  require: { action: negotiate, methods: [aes128gcm16] }
rules:
  - { name: all-icmp, filter_list: all-icmp, filter_action: permit }
  - { name: lan, filter_list: lan, filter_action: require, udp_encap: always }
YAML
sad_start a -c "$W/policy.yaml"
sad_start b -c "$W/policy.yaml"
cap_start "$W/ue.pcap" "(host 10.89.0.1 and host 10.89.0.2) or (host fd89::1 and host fd89::2)"

tcp_transfer a b 4000000
ok "4 MB A -> B over TCP arrived intact"
TCP_FAM=6 tcp_transfer a b 2000000 5003
ok "2 MB A -> B over TCP/IPv6 arrived intact"
tcp_transfer b a 1000000 5002
ok "1 MB B -> A over TCP arrived intact"
cap_stop

ike500=$(pcap_count "$W/ue.pcap" "udp port 500")
ike4500=$(pcap_count "$W/ue.pcap" "udp port 4500 and udp[8:4] = 0")
espudp=$(pcap_count "$W/ue.pcap" "udp port 4500 and udp[8:4] != 0 and udp[4:2] > 9")
raw=$(pcap_count "$W/ue.pcap" "ip proto 50 or ip6 proto 50")
espudp6=$(pcap_count "$W/ue.pcap" "ip6 and udp port 4500 and ip6[48:4] != 0")
tcp=$(pcap_count "$W/ue.pcap" "tcp")
# IPv6 neighbour discovery (ICMPv6 133-137) stays clear by design, like ARP.  (tcpdump's
# udp[] reads IPv4 only: ip6[48:4] is the first word after the UDP header over IPv6.)
other=$(pcap_count "$W/ue.pcap" "not (udp port 500 or udp port 4500 or arp or (icmp6 and ip6[40] >= 133 and ip6[40] <= 137))")
echo "  capture: $ike500 IKE on 500, $ike4500 IKE on 4500, $espudp ESP-in-UDP datagrams ($espudp6 over IPv6), $raw raw ESP, $tcp clear TCP, $other other"
[ "$ike500" -ge 2 ] || fail "expected IKE_SA_INIT on UDP 500, saw $ike500 datagrams"
[ "$ike4500" -ge 2 ] || fail "expected IKE_AUTH on UDP 4500 (both sides floated), saw $ike4500"
[ "$espudp" -ge 50 ] || fail "expected ESP inside UDP 4500, saw $espudp datagrams"
[ "$espudp6" -ge 20 ] || fail "expected ESP inside UDP 4500 over IPv6, saw $espudp6 datagrams"
[ "$raw" = 0 ] || fail "$raw raw ESP (protocol 50) packets: udp_encap: always was not followed"
[ "$tcp" = 0 ] || fail "$tcp clear TCP packets between A and B"
[ "$other" = 0 ] || fail "$other packets that are neither IKE nor ESP in UDP between A and B"
# The last transfer's first bytes (B -> A) would sit in the first data segment's payload, within
# the capture's 256-byte snap length, if they had crossed in the clear.
python3 -c '
import sys
cap, data = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(48)
sys.exit(1 if data in cap else 0)' "$W/ue.pcap" "$W/data" || fail "the transfer's bytes appear in the clear on the wire"
ok "the wire carried IKE and ESP in UDP 4500 only: no raw ESP, no clear TCP, no clear payload"

ra=$(ctl a sas); rb=$(ctl b sas)
for r in "$ra" "$rb"; do
	[ "$(jget "$r" '[c["udp_encap"] for s in r["result"]["ike_sas"] for c in s["children"]]')" = "[true, true]" ] ||
		fail "expected two CHILD SAs in UDP (IPv4, IPv6): $r"
done
st=$(ctl a stats)
[ "$(jget "$st" 'r["result"]["esp"]["packets_out"] > 1000')" = True ] || fail "A's ESP counters: $st"
[ "$(jget "$st" 'r["result"]["dataplane"]["gso_sent"] > 0')" = True ] || fail "A sent no UDP GSO batch: $st"
[ "$(jget "$st" 'r["result"]["dataplane"]["esp_tx_err"]')" = 0 ] || fail "A's ESP send errors: $st"
out=$(jget "$st" 'r["result"]["esp"]["packets_out"]')
gso=$(jget "$st" 'r["result"]["dataplane"]["gso_sent"]')
[ "$espudp" -lt "$out" ] || fail "the capture saw $espudp ESP datagrams for $out packets: no GSO batch crossed the veth?"
ok "every CHILD SA of both is in UDP; A sent $out ESP packets in $gso GSO batches, no send error"

sad_stop a
sad_stop b
echo PASS
