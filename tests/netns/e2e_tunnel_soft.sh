#!/bin/bash
# Gateway tunnels, a soft association and the path MTU (tunnel_lib.sh has the picture).
#
# 1. gw2 is a plain router without IKE (UDP 500 answered with port unreachable): gw1's tunnel
#    rule allows fallback_to_clear, so after its four IKE attempts gw1 soft-associates with the
#    endpoint 10.99.0.2, and h1's traffic to LAN2 is routed in the clear (what a soft
#    association means for a tunnel).  TCP arrives intact; the transit link shows it clear.
# 2. Both gateways run softsad and the transit link's MTU is 1300: a 1400-byte DF packet fits
#    the TUN but not the path once encapsulated, so gw1 answers "fragmentation needed" (IPv4)
#    / "packet too big" (IPv6) with the MTU that fits; h1 learns it, and TCP arrives intact
#    across the narrow link (PMTU discovery through the tunnel).  With tcp_mss_clamp: 1000 on
#    the rules, h2 receives SYNs with an MSS of 1000.
# On the kernel dataplane (tests/vm, E2E_DP=kernel) the kernel itself answers the too-big
# packets (the MTU of its XFRM route), so softsad's too_big counter stays 0 there; for IPv6 it
# names the transit link's MTU first and the tunnel's on the next packet.
. "$(dirname "$0")/e2e_lib.sh" "$@"
. "$HERE/tunnel_lib.sh"
P=${E2E_NS_PREFIX:-sst}v$$
tun_cleanup() { tun_down; e2e_cleanup; }
trap tun_cleanup EXIT
chmod 600 "$PSK"
TOPO_PREFIX=$P
topo_ip() { case "$1$2" in h1|h14) echo 10.1.0.2;; h2|h24) echo 10.2.0.2;; h16) echo fd01::2;; h26) echo fd02::2;; esac; }
gw_start() { # NAME
	rm -f "$W/$1.ctl"
	ip netns exec "$P-$1" "$SOFTSAD" -c "$W/$1.yaml" --dataplane "$E2E_DP" --control "$W/$1.ctl" >>"$W/$1.log" 2>&1 &
	eval "GW_PID_$1=$!"
	topo_track $!
	wait_for 10 test -S "$W/$1.ctl" || fail "softsad on $1 did not start"
}

# ---- 1. soft fallback: gw2 does not speak IKE ----
tun_up $P || fail "topology"
tun_policy_gw1 "$W/gw1.yaml" "fallback_to_clear: true" "soft_idle_lifetime: 60s"
gw_start gw1
ip netns exec $P-gw2 tcpdump -i wan --immediate-mode -U -n -s 128 -w "$W/soft.pcap" >/dev/null 2>"$W/soft.err" &
TD=$!
topo_track $TD
wait_for 5 test -s "$W/soft.pcap" || fail "tcpdump did not start"
tcp_transfer h1 h2 1000000 5001 30
ok "1 MB h1 -> h2 over TCP arrived intact with gw2 not speaking IKE"
p=$(ctl gw1 soft)
[ "$(jget "$p" '[x["remote"] for x in r["result"]["soft"]]')" = '["10.99.0.2"]' ] || fail "gw1's soft associations: $p"
ok "gw1 soft-associated with the tunnel endpoint 10.99.0.2"
tcp_transfer h2 h1 300000 5002 30
ok "h2 -> h1 over TCP arrives too (clear traffic from LAN2 accepted while soft)"
sleep 0.2
kill -INT $TD; wait $TD 2>/dev/null
ike=$(pcap_count "$W/soft.pcap" "src 10.99.0.1 and udp dst port 500")
clear=$(pcap_count "$W/soft.pcap" "tcp and host 10.1.0.2 and host 10.2.0.2")
esp=$(pcap_count "$W/soft.pcap" "ip proto 50")
echo "  transit: $ike IKE attempts from gw1, $clear clear TCP packets h1 <-> h2, $esp ESP"
[ "$ike" -ge 4 ] || fail "gw1 sent $ike IKE datagrams, expected its 4 attempts"
# (TSO/GRO: a packet on the capture may be several segments)
[ "$clear" -ge 20 ] || fail "expected the transfer routed in the clear, saw $clear packets"
[ "$esp" = 0 ] || fail "$esp ESP packets without an SA"
ok "routed in the clear across the transit link after gw1's IKE attempts, no ESP"
kill "$GW_PID_gw1"; wait "$GW_PID_gw1" 2>/dev/null
tun_down

# ---- 2. path MTU: a 1300-byte transit link ----
tun_up $P 1300 || fail "topology"
TUN_RULE_EXTRA=", tcp_mss_clamp: 1000"
tun_policy_gw1 "$W/gw1.yaml"
tun_policy_gw2 "$W/gw2.yaml"
unset TUN_RULE_EXTRA
gw_start gw1
gw_start gw2
# The first ping brings the SAs up (ping's DF packets: 1400 bytes fit the TUN's MTU).
ip netns exec $P-h1 ping -c 1 -W 5 10.2.0.2 >/dev/null || fail "no ping through the tunnel"
out=$(ip netns exec $P-h1 ping -M do -s 1372 -c 2 -W 2 10.2.0.2 2>&1)
# From gw1's address toward h1, as a router answers.
echo "$out" | grep -q "From 10.1.0.1 .*Frag needed and DF set (mtu = 12[0-9][0-9])" || fail "no fragmentation needed from gw1: $out"
mtu4=$(echo "$out" | sed -n 's/.*mtu = \([0-9]*\).*/\1/p' | head -1)
ip netns exec $P-h1 ping -6 -c 1 -W 5 fd02::2 >/dev/null || fail "no IPv6 ping through the tunnel"
out6=$(ip netns exec $P-h1 ping -6 -M do -s 1352 -c 2 -W 2 fd02::2 2>&1)
if [ "$E2E_DP" = kernel ]; then
	# Linux's IPv6 forwarding answers with the transit link's MTU first, and its XFRM output
	# then with what fits the tunnel: two steps where the userspace backend takes one.
	echo "$out6" | grep -q "From fd01::1 .*Packet too big: mtu=1300" || fail "no packet too big (link MTU) from gw1: $out6"
	out6=$(ip netns exec $P-h1 ping -6 -M do -s 1252 -c 2 -W 2 fd02::2 2>&1)
fi
echo "$out6" | grep -q "From fd01::1 .*Packet too big: mtu=12[0-9][0-9]" || fail "no packet too big from gw1: $out6"
ok "1400-byte DF packets: gw1 answered fragmentation needed (mtu $mtu4) and packet too big"
ip netns exec $P-h1 ping -M do -s $((mtu4 - 28)) -c 1 -W 5 10.2.0.2 >/dev/null || fail "a packet of the MTU gw1 named did not pass"
ok "a packet of the MTU gw1 named passes"
if [ "$E2E_DP" = user ]; then
	st=$(ctl gw1 stats)
	[ "$(jget "$st" 'r["result"]["dataplane"]["too_big"] >= 2')" = True ] || fail "gw1's too_big counter: $st"
fi
# SYNs as they arrive at each host (the SYN-ACKs at h1): clamped on the way through.
for h in h1 h2; do
	ip netns exec $P-$h tcpdump -i eth0 -Q in --immediate-mode -U -n -s 128 -w "$W/syn-$h.pcap" \
		"tcp[tcpflags] & tcp-syn != 0 or (ip6 and ip6[53] & 2 != 0)" >/dev/null 2>"$W/syn.err" &
	eval "TD_$h=$!"
	topo_track $!
	wait_for 5 test -s "$W/syn-$h.pcap" || fail "tcpdump did not start"
done
tcp_transfer h1 h2 2000000 5003 30
ok "2 MB h1 -> h2 over TCP arrived intact across the 1300-byte transit link"
TCP_FAM=6 tcp_transfer h1 h2 1000000 5004 30
ok "1 MB h1 -> h2 over TCP/IPv6 arrived intact across it"
sleep 0.2
kill -INT $TD_h1 $TD_h2; wait $TD_h1 $TD_h2 2>/dev/null
for h in h1 h2; do
	mss=$(tcpdump -nr "$W/syn-$h.pcap" -v 2>/dev/null | grep -o "mss [0-9]*" | sort -u | tr '\n' ' ')
	echo "  SYN MSS arriving at $h: $mss"
	[ "$mss" = "mss 1000 " ] || fail "$h saw SYN MSS '$mss', expected the clamp to 1000"
done
ok "tcp_mss_clamp: SYNs and SYN-ACKs through the tunnel arrive with an MSS of 1000"
