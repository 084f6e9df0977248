#!/bin/bash
# softsad and strongSwan secure traffic together, each side initiating in turn.
#
#        +------------- bridge br0 (netns sse-sw<PID>-br) -------------+
#        |                                                        |
#   A 10.89.0.1  softsad -c policy (tunnel mode     E 10.89.0.5  charon, kernel-libipsec
#                to E, require security)                         (userspace ESP, TUN ipsec0,
#                                                                 tunnel mode, ESP in UDP 4500)
#
# 1. softsad initiates (A's first ping is held while IKE runs): ping and a TCP transfer A -> E
#    go through ESP in UDP; charon lists the IKE SA ESTABLISHED and the CHILD SA INSTALLED
#    with softsad's SPIs mirrored.
# 2. charon initiates (swanctl --initiate) toward a fresh softsad: ping and TCP E -> A.
# The capture on the bridge shows only IKE and ESP-in-UDP between A and E.
# 3. charon is killed (-9) and started again under softsad, which still holds the SA: A's
#    pings go unanswered, softsad checks after dpd_delay (5 s here), finds the peer dead 31 s
#    later, negotiates again with the next ping, and pings go through once more.
. "$(dirname "$0")/e2e_lib.sh" "$@"
. "$HERE/charon_lib.sh"
charon_available || { echo "SKIP: strongSwan charon with kernel-libipsec is not installed"; exit 77; }
topo_up "$NSP-sw$$" a e || fail "topology"
SWD="$W/swan"
trap 'charon_stop "$SWD"; e2e_cleanup' EXIT
charon_start $TOPO_PREFIX-e "$SWD" || fail "charon"
charon_load_psk "$SWD" tunnel >"$SWD/load.msg" || fail "$(cat "$SWD/load.msg")"
cat > "$W/policy.yaml" <<YAML
name: to-strongswan
psk_file: psk
filter_lists:
  swan:
    - { src: me, dst: 10.89.0.5 }
filter_actions:
  require:
    action: negotiate
    methods: [aes256gcm16]
    accept_unsecured: false
    fallback_to_clear: false
rules:
  - { name: swan, filter_list: swan, filter_action: require, tunnel: 10.89.0.5, dpd_delay: 5s }
YAML
swan_fail() { echo "--- charon log"; tail -30 "$SWD/charon.log"; fail "$@"; }

# --- softsad initiates -------------------------------------------------------------
sad_start a -c "$W/policy.yaml"
cap_start "$W/sw.pcap" "ip and host 10.89.0.1 and host 10.89.0.5"
topo_exec a ping -c 5 -i 0.2 -W 3 10.89.0.5 > "$W/ping1" 2>&1 || swan_fail "ping A -> E: $(cat "$W/ping1")"
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$W/ping1")
[ "$got" -ge 4 ] || swan_fail "ping A -> E: only $got of 5 replies"
ok "ping A -> E through ESP: $got of 5 replies (the first held during IKE)"
tcp_transfer a e 2000000 5001 15 || swan_fail "TCP A -> E"
ok "2 MB A -> E over TCP through strongSwan arrived intact"
swanctl_at "$SWD" --list-sas > "$W/sas1" 2>&1
child=$(jget "$(ctl a sas)" 'r["result"]["ike_sas"][0]["children"][0]')
in=$(jget "$child" 'r["spi_in"]'); out=$(jget "$child" 'r["spi_out"]')
grep -q "ESTABLISHED, IKEv2" "$W/sas1" || swan_fail "charon has no ESTABLISHED IKE SA: $(cat "$W/sas1")"
grep -q "INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-256" "$W/sas1" || swan_fail "charon's CHILD SA: $(cat "$W/sas1")"
grep -q "^    in  $out," "$W/sas1" || swan_fail "charon's inbound SPI is not softsad's outbound $out: $(cat "$W/sas1")"
grep -q "^    out $in," "$W/sas1" || swan_fail "charon's outbound SPI is not softsad's inbound $in"
[ "$(jget "$child" 'r["mode"] + " " + str(r["udp_encap"])')" = "tunnel True" ] || fail "our CHILD SA: $child"
ok "charon lists softsad's SA: ESTABLISHED, CHILD SA $in/$out INSTALLED, tunnel in UDP"
# charon deletes the SA and softsad answers (a DELETE to a stopped softsad would draw an ICMP
# error from A's kernel, a clear packet in the capture).
swanctl_at "$SWD" --terminate --ike a --timeout 5 > "$W/term" 2>&1 || swan_fail "swanctl --terminate: $(tail -3 "$W/term")"
wait_for 5 'test "$(jget "$(ctl a sas)" "len(r[\"result\"][\"ike_sas\"])")" = 0' || fail "softsad kept the SA charon deleted: $(ctl a sas)"
ok "charon deleted the SA; softsad removed it too"
sad_stop a

# --- charon initiates --------------------------------------------------------------
sad_start a -c "$W/policy.yaml"
swanctl_at "$SWD" --initiate --child a --timeout 15 > "$W/init" 2>&1 || swan_fail "swanctl --initiate: $(tail -5 "$W/init")"
wait_for 5 'test "$(jget "$(ctl a sas)" "len(r[\"result\"][\"ike_sas\"])")" = 1' || fail "softsad has no SA after charon initiated: $(ctl a sas)"
[ "$(jget "$(ctl a sas)" 'r["result"]["ike_sas"][0]["initiator"]')" = False ] || fail "softsad initiated: $(ctl a sas)"
topo_exec e ping -c 5 -i 0.2 -W 3 10.89.0.1 > "$W/ping2" 2>&1 || swan_fail "ping E -> A: $(cat "$W/ping2")"
ok "charon initiated; ping E -> A: $(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$W/ping2") of 5 replies"
tcp_transfer e a 2000000 5002 15 || swan_fail "TCP E -> A"
ok "2 MB E -> A over TCP arrived intact"
cap_stop
clear=$(pcap_count "$W/sw.pcap" "not (udp port 500 or udp port 4500)")
natt=$(pcap_count "$W/sw.pcap" "udp port 4500")
[ "$clear" = 0 ] || { tcpdump -nr "$W/sw.pcap" "not (udp port 500 or udp port 4500)" 2>/dev/null | head -5; fail "$clear clear packets between A and E"; }
[ "$natt" -ge 1000 ] || fail "expected ESP in UDP 4500 between A and E, saw $natt"
ok "the wire carried only IKE and ESP in UDP 4500 between A and E ($natt on 4500)"

# --- charon restarted under softsad ---------------------------------------------------
sad_events a "$W/a.events"
pid=$(cat "$SWD/run/charon.pid")
[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = charon ] && kill -9 "$pid"
wait_for 5 "! kill -0 $pid 2>/dev/null" || fail "charon survived SIGKILL"
rm -f "$SWD/run/charon.vici" "$SWD/run/charon.pid"
charon_start $TOPO_PREFIX-e "$SWD" || fail "charon restart"
swanctl_at "$SWD" --load-all --noprompt --file "$SWD/swanctl.conf" >/dev/null 2>"$SWD/load.err" ||
	fail "swanctl --load-all after the restart: $(cat "$SWD/load.err")"
ping_ok() { topo_exec a ping -c 1 -W 1 10.89.0.5 >/dev/null 2>&1; }
# Pings every second keep A's traffic unanswered until the check fails, then renegotiate.
wait_for 70 ping_ok || swan_fail "A never reached E again: $(ctl a sas) $(ctl a stats)"
grep -q '"peer-dead"' "$W/a.events" || fail "no peer-dead event: $(cat "$W/a.events")"
[ "$(jget "$(ctl a stats)" 'r["result"]["ike"]["liveness"]["peers_dead"]')" = 1 ] || fail "peers_dead: $(ctl a stats)"
[ "$(jget "$(ctl a sas)" 'sum(1 for s in r["result"]["ike_sas"] if s["state"] == "established")')" = 1 ] ||
	fail "A's SAs after charon's restart: $(ctl a sas)"
ok "charon restarted under softsad: found dead by the liveness check, renegotiated, pings go through"
echo PASS
