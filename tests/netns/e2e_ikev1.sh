#!/bin/bash
# Peers that answer IKE in another version are IPsec-aware: never soft (issue 11.4).
#
#        +------------- bridge br0 (netns sse-v1<PID>-br) -------------+
#        |                          |                                    |
#   A 10.89.0.1  softsad -c policy   E 10.89.0.5  strongSwan charon,      W 10.89.0.23
#   (fallback to clear allowed)      one connection, version = 1          ikev1_responder.py
#                                                                         (IKEv1-only host)
# 1. E: charon with an IKEv1-only configuration.  charon still parses IKEv2 and answers A's
#    IKE_SA_INIT with NO_PROPOSAL_CHOSEN (no IKEv2 config for A): peer-refused, blocked,
#    never soft, not one clear packet from A to E.  charon then initiates IKEv1 Main Mode
#    toward A itself: A drops it (counted) and still sends nothing in the clear.
# 2. W answers A's IKE_SA_INIT as an IKEv1-only host does, with an ISAKMP Informational
#    INVALID-MAJOR-VERSION quoting A's SPIi: peer-refused, "peer speaks IKEv1 only" in
#    `softsa peers`, blocked, not one clear packet.
. "$(dirname "$0")/e2e_lib.sh" "$@"
. "$HERE/charon_lib.sh"
charon_available || { echo "SKIP: strongSwan charon with kernel-libipsec is not installed"; exit 77; }
topo_up sse-v1$$ a e w || fail "topology"
SWD="$W/swan"
trap 'charon_stop "$SWD"; e2e_cleanup' EXIT
charon_start $TOPO_PREFIX-e "$SWD" || fail "charon"
charon_load_psk "$SWD" tunnel 1 aes256-sha256-modp2048 aes256-sha256 >"$SWD/load.msg" || fail "$(cat "$SWD/load.msg")"
request_policy "$W/policy.yaml" v1-peers
sad_start a -c "$W/policy.yaml"
ip netns exec "$TOPO_PREFIX-w" python3 "$HERE/ikev1_responder.py" 10.89.0.23 "$W/v1count" &
topo_track $!
wait_for 5 test -s "$W/v1count" || fail "the IKEv1 responder did not start"
cap_start "$W/v1.pcap" "ip and src host 10.89.0.1 and (dst host 10.89.0.5 or dst host 10.89.0.23)"
peer() { jget "$(ctl a peers)" "[x['state'] + '/' + str(x['last_outcome']) + '/' + x['reason'] for x in r['result']['peers'] if x['remote']=='$1'] or ['none']"; }
send_udp() {
	topo_exec a python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(20):
    try:
        s.sendto(b"x" * 100, (sys.argv[1], 5001))
    except PermissionError:
        pass  # blocked: the firewall refuses it (EPERM), as it should
    time.sleep(0.1)' "$1"
}
swan_fail() { echo "--- charon log"; tail -30 "$SWD/charon.log"; fail "$@"; }

# --- 1. charon, IKEv1-only configuration ----------------------------------------------
send_udp 10.89.0.5
wait_for 5 'peer 10.89.0.5 | grep -q "^\[\"blocked/peer-refused"' || swan_fail "A's association with E: $(ctl a peers)"
grep -q "no IKE config found" "$SWD/charon.log" || swan_fail "charon did not refuse A's IKEv2 request"
ok "charon (version = 1) answered A's IKEv2 with a refusal: $(peer 10.89.0.5)"
swanctl_at "$SWD" --initiate --child a --timeout 3 >"$SWD/init.out" 2>&1
grep -q "IKEv1\|Main Mode\|ID_PROT" "$SWD/charon.log" || swan_fail "charon did not initiate IKEv1"
wait_for 5 'test "$(jget "$(ctl a stats)" "r[\"result\"][\"ike\"][\"ikev1_other\"]")" -ge 1' ||
	fail "A did not count charon's IKEv1 Main Mode: $(ctl a stats)"
ok "charon's IKEv1 Main Mode toward A was dropped and counted"

# --- 2. an IKEv1-only host answering INVALID-MAJOR-VERSION ---------------------------
send_udp 10.89.0.23
wait_for 5 'peer 10.89.0.23 | grep -q "blocked/peer-refused/peer speaks IKEv1 only"' ||
	fail "A's association with W: $(ctl a peers)"
[ "$(cat "$W/v1count")" -ge 1 ] || fail "W never answered"
[ "$(jget "$(ctl a stats)" 'r["result"]["ike"]["ikev1_answers"]')" = 1 ] || fail "stats: $(ctl a stats)"
ok "W (IKEv1 only) answered INVALID-MAJOR-VERSION: $(peer 10.89.0.23)"

cap_stop
[ "$(jget "$(ctl a soft)" 'len(r["result"]["soft"])')" = 0 ] || fail "soft association: $(ctl a soft)"
clear=$(pcap_count "$W/v1.pcap" "not (udp port 500 or udp port 4500)")
[ "$clear" = 0 ] || fail "$clear clear packets from A to E or W"
[ "$(jget "$(ctl a stats)" 'r["result"]["negotiations"]["peer_refused"]')" = 2 ] || fail "stats: $(ctl a stats)"
ok "no soft association, not one clear packet from A to an IKEv1 peer"
# The datagrams sent after the block never reached softsad: the datapath dropped them, and
# softsa stats counts them by reason.
dropped=$(jget "$(ctl a stats)" 'r["result"]["packets"]["dropped"]["blocked"]')
[ "$dropped" -ge 20 ] || fail "stats: $dropped packets dropped as blocked: $(ctl a stats)"
ok "the datapath's drops toward the blocked peers are in softsa stats: $dropped blocked"
echo PASS
