#!/bin/bash
# Gateway tunnels with strongSwan: gw1 runs softsad, gw2 runs charon (kernel-libipsec: ESP in
# UDP 4500, tunnel mode, its TUN ipsec0), subnet to subnet (tunnel_lib.sh has the picture).
#
#   h1 10.1.0.2 -- gw1 softsad (tunnel rule 10.1.0.0/24 <-> 10.2.0.0/24 and fd01::/64 <->
#      fd01::2                   fd02::/64 via 10.99.0.2)
#                  ==== transit ====
#                  gw2 charon (local_ts 10.2.0.0/25,fd02::/64, remote_ts 10.1.0.0/24,fd01::/64)
#                      -- h2 10.2.0.2, fd02::2
#
# One CHILD SA carries both families (IPv6 networks inside the IPv4 tunnel).  charon's side
# is narrower than softsad's (/25 of LAN2): whoever initiates, the CHILD SA
# selects the intersection (RFC 7296 §2.9), which softsad lists and uses.
# 1. softsad initiates (h1's traffic): ping and TCP both ways, intact; charon lists the CHILD
#    SA with softsad's SPIs mirrored.
# 2. charon initiates (swanctl --initiate) toward a fresh softsad: TCP h2 -> h1 intact.
# The transit capture shows IKE and ESP in UDP 4500 only: no packet with an inner address.
. "$(dirname "$0")/e2e_lib.sh" "$@"
. "$HERE/charon_lib.sh"
. "$HERE/tunnel_lib.sh"
charon_available || { echo "SKIP: strongSwan charon with kernel-libipsec is not installed"; exit 77; }
P=sstw$$
SWD="$W/swan"
tun_cleanup() { charon_stop "$SWD"; tun_down; e2e_cleanup; }
trap tun_cleanup EXIT
chmod 600 "$PSK"
tun_up $P || fail "topology"
TOPO_PREFIX=$P
topo_ip() { case "$1$2" in h1|h14) echo 10.1.0.2;; h2|h24) echo 10.2.0.2;; h16) echo fd01::2;; h26) echo fd02::2;; esac; }
charon_start $P-gw2 "$SWD" || fail "charon"
cat > "$SWD/swanctl.conf" <<CONF
connections {
    gw1 {
        version = 2
        local_addrs = 10.99.0.2
        remote_addrs = 10.99.0.1
        proposals = aes256gcm16-prfsha384-ecp384
        dpd_delay = 0
        local { auth = psk
                id = 10.99.0.2 }
        remote { auth = psk
                 id = 10.99.0.1 }
        children {
            lan { mode = tunnel
                  local_ts = 10.2.0.0/25,fd02::/64
                  remote_ts = 10.1.0.0/24,fd01::/64
                  esp_proposals = aes256gcm16
                  start_action = none }
        }
    }
}
secrets {
    ike-gw1 { id-1 = 10.99.0.2
              id-2 = 10.99.0.1
              secret = "$(cat "$PSK")" }
}
CONF
swanctl_at "$SWD" --load-all --noprompt --file "$SWD/swanctl.conf" >/dev/null 2>"$SWD/load.err" ||
	fail "swanctl --load-all: $(cat "$SWD/load.err")"
cat > "$W/gw1.yaml" <<YAML
name: gw1-to-strongswan
psk_file: psk
filter_lists:
  site: [ { src: 10.1.0.0/24, dst: 10.2.0.0/24 }, { src: fd01::/64, dst: fd02::/64 } ]
filter_actions:
  require: { action: negotiate, methods: [aes256gcm16] }
rules:
  - { name: to-gw2, filter_list: site, filter_action: require, tunnel: 10.99.0.2 }
YAML
cp "$PSK" "$W/psk" 2>/dev/null
swan_fail() { echo "--- charon log"; tail -30 "$SWD/charon.log"; fail "$@"; }
gw_start() {
	rm -f "$W/gw1.ctl"
	ip netns exec $P-gw1 "$SOFTSAD" -c "$W/gw1.yaml" --dataplane user --control "$W/gw1.ctl" >>"$W/gw1.log" 2>&1 &
	GW_PID=$!
	topo_track $GW_PID
	wait_for 5 test -S "$W/gw1.ctl" || fail "softsad on gw1 did not start"
}
sel() { jget "$(ctl gw1 sas)" '[" ".join(c["ts_local"]) + " <-> " + " ".join(c["ts_remote"]) for x in r["result"]["ike_sas"] for c in x["children"]]'; }
SEL='["10.1.0.0-10.1.0.255,fd01::-fd01::ffff:ffff:ffff:ffff <-> 10.2.0.0-10.2.0.127,fd02::-fd02::ffff:ffff:ffff:ffff"]'
ip netns exec $P-gw2 tcpdump -i wan --immediate-mode -U -n -B 32768 -s 128 -w "$W/transit.pcap" >/dev/null 2>"$W/transit.err" &
TD=$!
topo_track $TD
wait_for 5 test -s "$W/transit.pcap" || fail "tcpdump did not start"

# --- softsad initiates ---------------------------------------------------------------
gw_start
ip netns exec $P-h1 ping -c 5 -i 0.2 -W 3 10.2.0.2 > "$W/ping1" 2>&1 || swan_fail "ping h1 -> h2: $(cat "$W/ping1")"
ok "ping h1 -> h2 through gw1 (softsad) and gw2 (charon): $(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$W/ping1") of 5"
tcp_transfer h1 h2 2000000 5001 30 || swan_fail "TCP h1 -> h2"
ok "2 MB h1 -> h2 over TCP arrived intact"
tcp_transfer h2 h1 1000000 5002 30 || swan_fail "TCP h2 -> h1"
ok "1 MB h2 -> h1 over TCP arrived intact"
TCP_FAM=6 tcp_transfer h1 h2 1000000 5011 30 || swan_fail "TCP/IPv6 h1 -> h2"
ok "1 MB h1 -> h2 over TCP/IPv6 (inside the IPv4 tunnel) arrived intact"
[ "$(sel)" = "$SEL" ] || fail "gw1's selectors after charon narrowed them: $(sel)"
ok "charon narrowed the remote selector to its /25; gw1 uses the intersection"
swanctl_at "$SWD" --list-sas > "$W/sas1" 2>&1
child=$(jget "$(ctl gw1 sas)" 'r["result"]["ike_sas"][0]["children"][0]')
in=$(jget "$child" 'r["spi_in"]'); out=$(jget "$child" 'r["spi_out"]')
grep -q "INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-256" "$W/sas1" || swan_fail "charon's CHILD SA: $(cat "$W/sas1")"
grep -q "^    in  $out," "$W/sas1" || swan_fail "charon's inbound SPI is not softsad's outbound $out: $(cat "$W/sas1")"
grep -q "local  10.2.0.0/25 fd02::/64" "$W/sas1" || swan_fail "charon's local selector: $(cat "$W/sas1")"
grep -q "remote 10.1.0.0/24 fd01::/64" "$W/sas1" || swan_fail "charon's remote selector: $(cat "$W/sas1")"
ok "charon lists the CHILD SA $in/$out, 10.2.0.0/25 fd02::/64 === 10.1.0.0/24 fd01::/64"
swanctl_at "$SWD" --terminate --ike gw1 --timeout 5 > "$W/term" 2>&1 || swan_fail "swanctl --terminate"
wait_for 5 'test "$(jget "$(ctl gw1 sas)" "len(r[\"result\"][\"ike_sas\"])")" = 0' || fail "softsad kept the SA charon deleted"
kill -TERM $GW_PID; wait $GW_PID

# --- charon initiates ----------------------------------------------------------------
gw_start
swanctl_at "$SWD" --initiate --child lan --timeout 15 > "$W/init" 2>&1 || swan_fail "swanctl --initiate: $(tail -5 "$W/init")"
wait_for 5 'test "$(jget "$(ctl gw1 sas)" "len(r[\"result\"][\"ike_sas\"])")" = 1' || fail "softsad has no SA after charon initiated: $(ctl gw1 sas)"
[ "$(jget "$(ctl gw1 sas)" 'r["result"]["ike_sas"][0]["initiator"]')" = False ] || fail "softsad initiated: $(ctl gw1 sas)"
[ "$(sel)" = "$SEL" ] || fail "gw1's selectors as responder: $(sel)"
ok "charon initiated; softsad answered with its networks narrowed to charon's: $(sel)"
tcp_transfer h2 h1 2000000 5003 30 || swan_fail "TCP h2 -> h1"
ok "2 MB h2 -> h1 over TCP arrived intact"
TCP_FAM=6 tcp_transfer h2 h1 1000000 5012 30 || swan_fail "TCP/IPv6 h2 -> h1"
ok "1 MB h2 -> h1 over TCP/IPv6 arrived intact"
ip netns exec $P-h2 ping -c 3 -i 0.2 -W 3 10.1.0.2 > "$W/ping2" 2>&1 || swan_fail "ping h2 -> h1: $(cat "$W/ping2")"
ok "ping h2 -> h1 through the tunnel"

sleep 0.2
kill -INT $TD; wait $TD 2>/dev/null
cap_complete "$W/transit.err"
inner=$(pcap_count "$W/transit.pcap" "net 10.1.0.0/24 or net 10.2.0.0/24 or net fd01::/64 or net fd02::/64")
natt=$(pcap_count "$W/transit.pcap" "udp port 4500")
other=$(pcap_count "$W/transit.pcap" "not (udp port 500 or udp port 4500 or arp or ip6 multicast or icmp6)")
echo "  transit capture: $natt ESP in UDP 4500, $inner with an inner address, $other other"
[ "$inner" = 0 ] || fail "$inner packets with an inner address on the transit link"
[ "$natt" -ge 1000 ] || fail "expected ESP in UDP 4500 between the gateways, saw $natt"
[ "$other" = 0 ] || { tcpdump -nr "$W/transit.pcap" "not (udp port 500 or udp port 4500 or arp or ip6 multicast or icmp6)" 2>/dev/null | head -8; fail "$other packets other than IKE and ESP in UDP on the transit link"; }
ok "the transit link carried only IKE and ESP in UDP 4500"
