#!/bin/bash
# softsad on the kernel dataplane and strongSwan's charon with its kernel-netlink backend: both
# ESP in the kernel, transport mode, raw ESP, each side initiating in turn.  Runs where the
# kernel does ESP (tests/vm, suite vm: E2E_DP=kernel); skipped on the host.
#
#        +------------- bridge br0 (netns sse-ck<PID>-br) -------------+
#        |                                                        |
#   A 10.89.0.1  softsad --dataplane kernel             E 10.89.0.5  charon, kernel-netlink
#                (require security toward E)                         (transport mode)
#
# 1. softsad initiates: TCP A -> E arrives intact; charon lists the IKE SA ESTABLISHED and the
#    CHILD SA INSTALLED in TRANSPORT mode with softsad's SPIs mirrored; the kernels' SA
#    counters on both sides moved.
# 2. charon initiates (swanctl --initiate) toward a fresh softsad: TCP E -> A.
# The capture on the bridge shows only IKE and raw ESP between A and E.
. "$(dirname "$0")/e2e_lib.sh" "$@"
. "$HERE/charon_lib.sh"
[ "$E2E_DP" = kernel ] || { echo "SKIP: needs the kernel dataplane (tests/vm runs it)"; exit 77; }
command -v swanctl >/dev/null && [ -x /usr/lib/ipsec/charon ] || { echo "SKIP: strongSwan charon is not installed"; exit 77; }
topo_up sse-ck$$ a e || fail "topology"
SWD="$W/swan"
trap 'charon_stop "$SWD"; e2e_cleanup' EXIT
CHARON_KERNEL=netlink charon_start $TOPO_PREFIX-e "$SWD" || fail "charon"
charon_load_psk "$SWD" transport >"$SWD/load.msg" || fail "$(cat "$SWD/load.msg")"
cat > "$W/policy.yaml" <<YAML
name: to-charon
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
  - { name: swan, filter_list: swan, filter_action: require }
YAML
on_fail() {
	echo "--- charon log"; tail -40 "$SWD/charon.log"
	local h
	for h in a e; do echo "--- $h: ip -s xfrm state / policy"; topo_exec $h ip -s xfrm state; topo_exec $h ip xfrm policy; done
}
swan_fail() { fail "$@"; }
esp_bytes() { topo_exec "$1" ip -s xfrm state | awk '/bytes\)/ && /packets/ { gsub(/\(bytes\)/, "", $1); n += $1 } END { print n + 0 }'; }

# --- softsad initiates -------------------------------------------------------------
sad_start a -c "$W/policy.yaml"
cap_start "$W/ck.pcap" "ip and host 10.89.0.1 and host 10.89.0.5"
tcp_transfer a e 1000000 5001 15 || swan_fail "TCP A -> E"
ok "1 MB A -> E over TCP through charon's kernel ESP arrived intact"
swanctl_at "$SWD" --list-sas > "$W/sas1" 2>&1
child=$(jget "$(ctl a sas)" 'r["result"]["ike_sas"][0]["children"][0]')
in=$(jget "$child" 'r["spi_in"]'); out=$(jget "$child" 'r["spi_out"]')
grep -q "ESTABLISHED, IKEv2" "$W/sas1" || swan_fail "charon has no ESTABLISHED IKE SA: $(cat "$W/sas1")"
grep -q "INSTALLED, TRANSPORT, .*ESP:AES_GCM_16-256" "$W/sas1" || swan_fail "charon's CHILD SA: $(cat "$W/sas1")"
grep -q "^    in  $out," "$W/sas1" || swan_fail "charon's inbound SPI is not softsad's outbound $out: $(cat "$W/sas1")"
grep -q "^    out $in," "$W/sas1" || swan_fail "charon's outbound SPI is not softsad's inbound $in"
[ "$(jget "$child" 'r["mode"] + " " + str(r["udp_encap"])')" = "transport False" ] || fail "our CHILD SA: $child"
[ "$(jget "$child" 'r["bytes_out"] > 1000000')" = True ] || fail "softsad's outbound SA counted too little (kernel counters): $child"
[ "$(esp_bytes e)" -gt 1000000 ] || fail "charon's kernel SAs counted $(esp_bytes e) bytes"
ok "charon lists softsad's SA: ESTABLISHED, CHILD SA $in/$out INSTALLED, transport; both kernels counted the bytes"
swanctl_at "$SWD" --terminate --ike a --timeout 5 > "$W/term" 2>&1 || swan_fail "swanctl --terminate: $(tail -3 "$W/term")"
wait_for 5 'test "$(jget "$(ctl a sas)" "len(r[\"result\"][\"ike_sas\"])")" = 0' || fail "softsad kept the SA charon deleted: $(ctl a sas)"
ok "charon deleted the SA; softsad removed it too"
sad_stop a

# --- charon initiates --------------------------------------------------------------
sad_start a -c "$W/policy.yaml"
swanctl_at "$SWD" --initiate --child a --timeout 15 > "$W/init" 2>&1 || swan_fail "swanctl --initiate: $(tail -5 "$W/init")"
wait_for 5 'test "$(jget "$(ctl a sas)" "len(r[\"result\"][\"ike_sas\"])")" = 1' || fail "softsad has no SA after charon initiated: $(ctl a sas)"
[ "$(jget "$(ctl a sas)" 'r["result"]["ike_sas"][0]["initiator"]')" = False ] || fail "softsad initiated: $(ctl a sas)"
tcp_transfer e a 1000000 5002 15 || swan_fail "TCP E -> A"
ok "charon initiated; 1 MB E -> A over TCP arrived intact"
cap_stop
clear=$(pcap_count "$W/ck.pcap" "not (udp port 500 or udp port 4500 or ip proto 50)")
esp=$(pcap_count "$W/ck.pcap" "ip proto 50")
[ "$clear" = 0 ] || { tcpdump -nr "$W/ck.pcap" "not (udp port 500 or ip proto 50)" 2>/dev/null | head -5; fail "$clear clear packets between A and E"; }
[ "$esp" -ge 500 ] || fail "expected raw ESP between A and E, saw $esp"
ok "the wire carried only IKE and raw ESP between A and E ($esp ESP)"
sad_stop a
echo PASS
