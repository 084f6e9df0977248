#!/bin/bash
# Gateway tunnels: hosts behind two softsad gateways (tunnel_lib.sh has the picture).
#
#   h1 (LAN1) -- gw1 softsad ==== ESP tunnel over the transit link ==== gw2 softsad -- h2 (LAN2)
#
# Tunnel rules on both gateways (10.1.0.0/24 <-> 10.2.0.0/24 through 10.99.0.x, fd01::/64 <->
# fd02::/64 through fd99::x).  TCP from h1 to h2 and back, IPv4 and IPv6, arrives intact
# (SHA-256); a capture of the transit link shows IKE and ESP between the gateways and
# not one packet with an inner address; both CHILD SAs are tunnel mode with the networks as
# traffic selectors; the inner TTL went down by one per gateway (two); ECN per RFC 6040 both
# ways (the inner ECT copied out; CE marked on the transit link reaches the inner packet); a
# reload keeps the tunnel (same CHILD SAs, no new negotiation).
# On the kernel dataplane (tests/vm, E2E_DP=kernel) the gateways' XFRM tunnel policies do it,
# and two things differ by design: the clear packets from LAN2 dropped while the tunnel is up
# are counted by the kernel (XfrmInTmplMismatch: the fwd policy wants ESP), not by softsad;
# and Linux's decapsulation leaves a not-ECT inner packet under an outer CE as it is instead
# of dropping it (RFC 6040 asks for the drop; the userspace backend does it).
. "$(dirname "$0")/e2e_lib.sh" "$@"
. "$HERE/tunnel_lib.sh"
P=${E2E_NS_PREFIX:-sst}u$$
tun_cleanup() { tun_down; e2e_cleanup; }
trap tun_cleanup EXIT
tun_up $P || fail "topology"
chmod 600 "$PSK"
tun_policy_gw1 "$W/gw1.yaml"
tun_policy_gw2 "$W/gw2.yaml"
gw_start() { # NAME
	rm -f "$W/$1.ctl"
	ip netns exec "$P-$1" "$SOFTSAD" -c "$W/$1.yaml" --dataplane "$E2E_DP" --control "$W/$1.ctl" >>"$W/$1.log" 2>&1 &
	topo_track $!
	wait_for 10 test -S "$W/$1.ctl" || fail "softsad on $1 did not start"
}
gw_start gw1
gw_start gw2
TOPO_PREFIX=$P
# topo_ip for these hosts (tcp_transfer asks it)
topo_ip() { case "$1$2" in h1|h14) echo 10.1.0.2;; h2|h24) echo 10.2.0.2;; h16) echo fd01::2;; h26) echo fd02::2;; esac; }

# The transit link is what each gateway sends on it (-Q out on both ends): a capture of what
# arrives would, on the kernel dataplane, also show the tunnel's decrypted packets, which the
# kernel hands in again on the interface their ESP came by (never on the wire).
for g in gw1 gw2; do
	ip netns exec $P-$g tcpdump -i wan -Q out --immediate-mode -U -n -B 32768 -s 128 -w "$W/transit-$g.pcap" \
		>/dev/null 2>"$W/transit-$g.err" &
	eval "TD_$g=$!"
	topo_track $!
	wait_for 5 test -s "$W/transit-$g.pcap" || fail "tcpdump did not start"
done
wire_count() { echo $(( $(pcap_count "$W/transit-gw1.pcap" "$1") + $(pcap_count "$W/transit-gw2.pcap" "$1") )); }

tcp_transfer h1 h2 3000000 5001 30
ok "3 MB h1 -> h2 over TCP through the tunnel arrived intact"
tcp_transfer h2 h1 1000000 5002 30
ok "1 MB h2 -> h1 over TCP through the tunnel arrived intact"
TCP_FAM=6 tcp_transfer h1 h2 2000000 5003 30
ok "2 MB h1 -> h2 over TCP/IPv6 through the tunnel arrived intact"
TCP_FAM=6 tcp_transfer h2 h1 500000 5004 30
ok "0.5 MB h2 -> h1 over TCP/IPv6 arrived intact"

# TTL: h2 sees h1's 64 less one per forwarding gateway.
ttl=$(ip netns exec $P-h1 ping -c 1 -W 5 10.2.0.2 | sed -n 's/.*ttl=\([0-9]*\).*/\1/p')
[ "$ttl" = 62 ] || fail "echo reply TTL $ttl through two gateways, expected 62"
hl=$(ip netns exec $P-h1 ping -6 -c 1 -W 5 fd02::2 | sed -n 's/.*ttl=\([0-9]*\).*/\1/p')
[ "$hl" = 62 ] || fail "echo reply hop limit $hl through two gateways, expected 62"
ok "TTL and hop limit went down by one at each gateway (64 -> 62)"

# A reload keeps the tunnel: the endpoint's state goes back onto the reloaded filters (on the
# kernel dataplane its policies sit on slots that follow the filters), no new negotiation.
spis() { jget "$(ctl gw1 sas)" 'sorted(c["spi_in"] for x in r["result"]["ike_sas"] for c in x["children"])'; }
before=$(spis)
negs=$(grep -c "negotiation started" "$W/gw1.log")
[ "$(jget "$(ctl gw1 reload)" '"result" in r')" = True ] || fail "gw1's reload"
ip netns exec $P-h1 ping -c 2 -i 0.3 -W 5 10.2.0.2 >/dev/null || fail "no ping through the tunnel after a reload"
ip netns exec $P-h1 ping -6 -c 2 -i 0.3 -W 5 fd02::2 >/dev/null || fail "no IPv6 ping through the tunnel after a reload"
[ "$(spis)" = "$before" ] || fail "gw1's CHILD SAs changed on a reload: $before -> $(spis)"
[ "$(grep -c "negotiation started" "$W/gw1.log")" = "$negs" ] || fail "a reload made gw1 negotiate again"
if [ "$E2E_DP" = kernel ]; then
	n=$(ip -n $P-gw1 xfrm policy | grep -c "tmpl src 10.99.0.1 dst 10.99.0.2")
	[ "$n" = 1 ] || fail "gw1's secured out policy toward gw2 after a reload: $n"
fi
ok "a reload keeps the tunnel: same CHILD SAs, no new negotiation, traffic through"

# ECN, RFC 6040 normal mode: ECT(0) pings put ECT(0) on the outer header too (and the inner
# one arrives unchanged: h2 answers them).
ip netns exec $P-h1 ping -Q 2 -c 3 -i 0.2 -W 5 10.2.0.2 >/dev/null || fail "ECT(0) ping through the tunnel"
ip netns exec $P-h1 ping -6 -Q 2 -c 3 -i 0.2 -W 5 fd02::2 >/dev/null || fail "ECT(0) IPv6 ping through the tunnel"

# A clear packet "from LAN2" while the tunnel is up: a frame written onto gw2's transit
# interface (a packet socket: past gw2's own IP stack, its softsad and its XFRM policies).
# gw1 drops it (clear from a secured tunnel) and h1 never sees it.
# h1 listens until a datagram "end" comes through the tunnel after the forged ones: anything
# else it received is reported (no race with a listening window, however slow the machine).
ip netns exec $P-h1 timeout $((30 * ${SOFTSA_E2E_SLOW:-1})) python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.1.0.2", 7777))
print("listening", flush=True)
while True:
    b = s.recv(100)
    if b == b"end": print("end", flush=True); break
    print("GOT", b, flush=True)' > "$W/forged" &
LS=$!
wait_for 5 grep -q listening "$W/forged" || fail "UDP listener on h1"
# What counts the drop: softsad's table (user), the kernel's fwd policy check (kernel).
clear_drops() {
	if [ "$E2E_DP" = kernel ]; then
		ip netns exec $P-gw1 awk '$1 == "XfrmInTmplMismatch" { print $2 }' /proc/net/xfrm_stat
	else
		jget "$(ctl gw1 stats)" 'r["result"]["packets"]["dropped"]["clear_from_secure"]'
	fi
}
before=$(clear_drops)
mac=$(ip -n $P-gw1 -j link show wan | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["address"])')
ip netns exec $P-gw2 python3 -c '
import socket, struct, sys
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("wan", 0))
eth = bytes.fromhex(sys.argv[1].replace(":", "")) + s.getsockname()[4] + b"\x08\x00"
udp = struct.pack("!HHHH", 40000, 7777, 13, 0) + b"clear"
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                 socket.inet_aton("10.2.0.2"), socket.inet_aton("10.1.0.2"))
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
for _ in range(3): s.send(eth + ip + udp)' "$mac"
ip netns exec $P-h2 python3 -c '
import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"end", ("10.1.0.2", 7777))'
wait $LS
grep -q '^end$' "$W/forged" || fail "the datagram through the tunnel after the forged ones did not reach h1: $(cat "$W/forged")"
grep -q GOT "$W/forged" && fail "h1 received a clear packet from LAN2 while the tunnel was up: $(cat "$W/forged")"
# softsad reads the table's drop counters at most once a second (user.c): wait for them.
wait_for 5 '[ $(( $(clear_drops) - before )) -ge 3 ]'
after=$(clear_drops)
[ $((after - before)) -ge 3 ] || fail "gw1 counted $((after - before)) clear packets from the secured tunnel, expected 3"
ok "clear packets from LAN2 while the tunnel is up: dropped by gw1 ($((after - before)) counted), not delivered"

sleep 0.2
kill -INT $TD_gw1 $TD_gw2; wait $TD_gw1 $TD_gw2 2>/dev/null
ect4=$(wire_count "ip proto 50 and src 10.99.0.1 and ip[1] & 3 == 2")
ect6=$(wire_count "ip6 proto 50 and src fd99::1 and ip6[1] & 0x30 == 0x20")
echo "  ESP from gw1 with ECT(0) on the outer header: $ect4 IPv4, $ect6 IPv6"
[ "$ect4" -ge 3 ] && [ "$ect6" -ge 3 ] || fail "the inner ECT(0) was not copied to the outer header ($ect4, $ect6)"
ok "ECN: the inner ECT(0) is copied to the outer header (RFC 6040 normal mode)"

# Congestion on the transit link: gw2's own nftables marks every arriving ESP packet CE (as
# a congested router would).  RFC 6040 decap: an ECT(0) inner packet arrives at h2 as CE; a
# not-ECT one is dropped (it cannot carry the mark).
ip netns exec $P-gw2 nft -f - <<'NFT'
table inet sstest_ce {
	chain pre { type filter hook prerouting priority -300; policy accept;
		ip protocol esp ip ecn set ce
		ip6 nexthdr esp ip6 ecn set ce
	}
}
NFT
ip netns exec $P-h2 tcpdump -i eth0 -Q in --immediate-mode -U -n -w "$W/ce.pcap" icmp or icmp6 >/dev/null 2>"$W/ce.err" &
TD=$!
topo_track $TD
wait_for 5 test -s "$W/ce.pcap" || fail "tcpdump did not start"
ip netns exec $P-h1 ping -Q 2 -c 3 -i 0.2 -W 5 10.2.0.2 >/dev/null || fail "ECT(0) ping under CE marks"
ip netns exec $P-h1 ping -6 -Q 2 -c 3 -i 0.2 -W 5 fd02::2 >/dev/null || fail "ECT(0) IPv6 ping under CE marks"
if [ "$E2E_DP" = user ]; then
	ip netns exec $P-h1 ping -c 2 -i 0.2 -W 1 10.2.0.2 >/dev/null && fail "a not-ECT packet under a CE outer mark was delivered"
fi
sleep 0.2
kill -INT $TD; wait $TD 2>/dev/null
ip netns exec $P-gw2 nft delete table inet sstest_ce
ce4=$(pcap_count "$W/ce.pcap" "icmp and ip[1] & 3 == 3")
ce6=$(pcap_count "$W/ce.pcap" "icmp6 and ip6[1] & 0x30 == 0x30")
echo "  echo requests arriving at h2 marked CE: $ce4 IPv4, $ce6 IPv6"
[ "$ce4" -ge 3 ] && [ "$ce6" -ge 3 ] || fail "the outer CE mark did not reach the inner packets ($ce4, $ce6)"
if [ "$E2E_DP" = user ]; then
	ok "ECN: an outer CE reaches ECT inner packets; not-ECT ones are dropped (RFC 6040 decap)"
else
	ok "ECN: an outer CE reaches ECT inner packets (the kernel's decap)"
fi
cap_complete "$W/transit-gw1.err"
cap_complete "$W/transit-gw2.err"
# (but the three forged above, UDP to port 7777)
inner=$(wire_count "(net 10.1.0.0/24 or net 10.2.0.0/24 or net fd01::/64 or net fd02::/64) and not udp port 7777")
esp4=$(wire_count "ip proto 50 and host 10.99.0.1 and host 10.99.0.2")
esp6=$(wire_count "ip6 proto 50 and host fd99::1 and host fd99::2")
ike=$(wire_count "udp port 500")
echo "  transit capture: $ike IKE, $esp4 ESP/IPv4, $esp6 ESP/IPv6, $inner with an inner address"
[ "$inner" = 0 ] || fail "$inner packets with an inner address on the transit link"
[ "$esp4" -ge 1000 ] || fail "expected ESP over IPv4 between the gateways, saw $esp4"
[ "$esp6" -ge 500 ] || fail "expected ESP over IPv6 between the gateways, saw $esp6"
[ "$ike" -ge 4 ] || fail "expected IKE between the gateways, saw $ike"
ok "the transit link carried IKE and ESP between the gateways only"

s=$(ctl gw1 sas)
[ "$(jget "$s" '[c["mode"] for x in r["result"]["ike_sas"] for c in x["children"]]')" = '["tunnel", "tunnel"]' ] ||
	fail "gw1's CHILD SAs are not both tunnel mode: $s"
sel=$(jget "$s" 'sorted(c["ts_local"][0] + " <-> " + c["ts_remote"][0] for x in r["result"]["ike_sas"] for c in x["children"])')
echo "  gw1 selectors: $sel"
[ "$sel" = '["10.1.0.0-10.1.0.255 <-> 10.2.0.0-10.2.0.255", "fd01::-fd01::ffff:ffff:ffff:ffff <-> fd02::-fd02::ffff:ffff:ffff:ffff"]' ] ||
	fail "gw1's CHILD SAs do not select the two networks: $s"
p=$(ctl gw1 peers)
[ "$(jget "$p" '[x["state"] for x in r["result"]["peers"] if x["remote"]=="10.99.0.2"][0]')" = secured ] || fail "gw1's peers: $p"
ok "gw1 holds tunnel-mode CHILD SAs for the networks with gw2, its association with gw2 is secured"
