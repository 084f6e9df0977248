#!/bin/bash
# Interop: our IKE engine (tests/interop/ike_peer) against Debian's strongSwan charon.
#
#   netns ssike-s-PID                          netns ssike-p-PID
#   charon (kernel-libipsec, vici)  <- veth ->  ike_peer (softsa engine, UDP 500/4500)
#   10.78.0.1                                   10.78.0.2
#
# For each suite: softsa initiates to charon, then charon initiates to softsa; PSK, tunnel
# mode (kernel-libipsec does tunnel only and fakes a NAT, so every run also proves the move
# to UDP 4500 with the non-ESP marker).  Asserts with `swanctl --list-sas` that the IKE SA is
# ESTABLISHED with our SPIs and algorithms and the CHILD SA INSTALLED with our SPIs mirrored.
#
# usage: strongswan.sh path/to/ike_peer      (root; exit 77 = skipped when not root)
set -u
PEER=${1:?usage: $0 path/to/ike_peer}
[ "$(id -u)" = 0 ] || { echo "SKIP: interop needs root (network namespaces)"; exit 77; }
if ! command -v swanctl >/dev/null || [ ! -x /usr/lib/ipsec/charon ] ||
   [ ! -f /usr/lib/ipsec/plugins/libstrongswan-openssl.so ]; then
    apt-get install -y strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins >/dev/null 2>&1 ||
        { echo "FAIL: strongSwan missing and could not be installed"; exit 1; }
fi

NS_S=ssike-s-$$; NS_P=ssike-p-$$
IP_S=10.78.0.1;  IP_P=10.78.0.2
ID_S=swan.ssike.test; ID_P=softsa.ssike.test
PSK="ssike-interop-psk-0123456789"
W=$(mktemp -d /tmp/ssike-interop.XXXXXX)
. "$(dirname "$0")/../netns/charon_lib.sh"
PEER_PID=""

cleanup() {
    # Only what we started: the peer by its PID, charon by the PID in our private /run.
    [ -n "$PEER_PID" ] && kill "$PEER_PID" 2>/dev/null
    charon_stop "$W"
    # A namespace file can stay busy for a moment while charon's mount namespace goes away.
    for ns in "$NS_S" "$NS_P"; do
        for _ in $(seq 20); do
            ip netns del "$ns" 2>/dev/null
            ip netns list | grep -qw "$ns" || break
            sleep 0.1
        done
    done
    rm -rf "$W"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    echo "--- ike_peer output"; cat "$W/peer.out" "$W/peer.err" 2>/dev/null | tail -30
    echo "--- swanctl --list-sas"; sw --list-sas 2>&1 | tail -20
    echo "--- charon log (tail)"; tail -40 "$W/charon.log" 2>/dev/null
    exit 1
}

sw() { swanctl_at "$W" "$@"; }

# --- namespaces ---------------------------------------------------------------
ip netns add "$NS_S" && ip netns add "$NS_P" || fail "cannot create namespaces"
ip -n "$NS_S" link add ssike$$s type veth peer name ssike$$p netns "$NS_P"
ip -n "$NS_S" addr add $IP_S/24 dev ssike$$s
ip -n "$NS_P" addr add $IP_P/24 dev ssike$$p
for ns in "$NS_S" "$NS_P"; do
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$NS_S" link set ssike$$s up
ip -n "$NS_P" link set ssike$$p up

# --- charon (tests/netns/charon_lib.sh: private /run, kernel-libipsec, vici) ---------------
charon_start "$NS_S" "$W" || fail "charon did not start"

load_conn() {  # $1 = IKE proposal, $2 = ESP proposal
    cat > "$W/swanctl.conf" <<EOF
connections {
    sa {
        version = 2
        local_addrs = $IP_S
        remote_addrs = $IP_P
        proposals = $1
        dpd_delay = 0
        local { auth = psk
                id = $ID_S }
        remote { auth = psk
                 id = $ID_P }
        children {
            sa { mode = tunnel
                 local_ts = $IP_S/32
                 remote_ts = $IP_P/32
                 esp_proposals = $2
                 start_action = none }
        }
    }
}
secrets {
    ike-sa { id-1 = $ID_S
             id-2 = $ID_P
             secret = "$PSK" }
}
EOF
    sw --load-all --noprompt --file "$W/swanctl.conf" >/dev/null 2>"$W/load.err" ||
        fail "swanctl --load-all: $(cat "$W/load.err")"
}

peer() {  # $1 = --initiate|--respond, $2 = IKE, $3 = ESP, then extra options
    local role=$1 ike=$2 esp=$3
    shift 3
    ip netns exec "$NS_P" "$PEER" "$role" --local $IP_P --remote $IP_S --id $ID_P --remote-id $ID_S \
        --psk "$PSK" --ike "$ike" --esp "$esp" --tunnel --timeout 15 --linger 300 "$@" \
        > "$W/peer.out" 2> "$W/peer.err"
}

# Compares what ike_peer printed with what charon lists.
check() {  # $1 = label
    local ike child spi_i spi_r alg in out esp
    # The last lines printed describe the SAs in force (after any rekey).
    ike=$(grep '^IKE ' "$W/peer.out" | tail -1)
    child=$(grep '^CHILD ' "$W/peer.out" | tail -1)
    [ -n "$ike" ] || fail "$1: ike_peer reported no IKE SA"
    [ -n "$child" ] || fail "$1: ike_peer reported no CHILD SA"
    spi_i=$(sed -n 's/.*spi_i=\([0-9a-f]*\).*/\1/p' <<<"$ike")
    spi_r=$(sed -n 's/.*spi_r=\([0-9a-f]*\).*/\1/p' <<<"$ike")
    alg=$(sed -n 's/.* alg=\([^ ]*\).*/\1/p' <<<"$ike")
    in=$(sed -n 's/.*spi_in=\([0-9a-f]*\).*/\1/p' <<<"$child")
    out=$(sed -n 's/.*spi_out=\([0-9a-f]*\).*/\1/p' <<<"$child")
    esp=$(sed -n 's/.* esp=\([^ ]*\).*/\1/p' <<<"$child")
    sw --list-sas > "$W/sas" 2>&1 || fail "$1: swanctl --list-sas failed"
    grep -q "ESTABLISHED, IKEv2, ${spi_i}_i\*\? ${spi_r}_r\*\?" "$W/sas" ||
        fail "$1: no ESTABLISHED IKE SA with SPIs $spi_i/$spi_r"
    grep -qx "  $alg" "$W/sas" || fail "$1: charon's IKE algorithms differ from ours ($alg)"
    grep -q "INSTALLED, TUNNEL-in-UDP, ESP:$esp\$" "$W/sas" ||
        fail "$1: no INSTALLED CHILD SA with ESP:$esp in UDP"
    # charon's inbound SPI is our outbound one and vice versa.
    grep -q "^    in  $out," "$W/sas" || fail "$1: charon's inbound SPI is not our outbound $out"
    grep -q "^    out $in," "$W/sas" || fail "$1: charon's outbound SPI is not our inbound $in"
    grep -q "natt=yes" <<<"$ike" || fail "$1: we did not move to UDP 4500"
    echo "ok: $1: IKE $spi_i/$spi_r $alg, CHILD in $in out $out ESP:$esp"
}

terminate() {
    # --force: don't wait for the DELETE to be answered (our peer may be gone already).
    sw --terminate --ike sa --force >/dev/null 2>&1
}

# Seed behaviour 1 on real sockets: a host without IKE answers ICMP port unreachable; the
# errors come back through IP_RECVERR quoting our SPIi, and the outcome is PEER_UNREACHABLE
# (never before the retransmission schedule's floor).
ip -n "$NS_P" addr add 10.78.0.4/24 dev ssike$$p
ip netns exec "$NS_P" "$PEER" --initiate --local $IP_P --remote 10.78.0.4 --id $ID_P --psk "$PSK" \
    --ike aes128gcm16-prfsha256-ecp256 --esp aes128gcm16 --timeout 10 > "$W/peer.out" 2> "$W/peer.err"
grep -q "^OUTCOME peer-unreachable" "$W/peer.out" || fail "no-IKE host: expected peer-unreachable"
[ "$(grep -c '^ICMP error' "$W/peer.out")" -ge 4 ] || fail "no-IKE host: expected an ICMP error per attempt"
echo "ok: host without IKE: $(grep -c '^ICMP error' "$W/peer.out") ICMP errors, outcome peer-unreachable"

# The peer answers but refuses: PEER_REFUSED with the notify, never a fallback.
load_conn aes128gcm16-prfsha256-ecp256 aes128gcm16
ip netns exec "$NS_P" "$PEER" --initiate --local $IP_P --remote $IP_S --id $ID_P --remote-id $ID_S \
    --psk "wrong-$PSK" --ike aes128gcm16-prfsha256-ecp256 --esp aes128gcm16 --tunnel --timeout 10 \
    > "$W/peer.out" 2> "$W/peer.err"
grep -q "^OUTCOME peer-refused notify=24" "$W/peer.out" || fail "wrong PSK: expected peer-refused (AUTHENTICATION_FAILED)"
ip netns exec "$NS_P" "$PEER" --initiate --local $IP_P --remote $IP_S --id $ID_P --remote-id $ID_S \
    --psk "$PSK" --ike aes256-sha256-modp2048 --esp aes128gcm16 --tunnel --timeout 10 \
    > "$W/peer.out" 2> "$W/peer.err"
grep -q "^OUTCOME peer-refused notify=14" "$W/peer.out" || fail "no common proposal: expected peer-refused (NO_PROPOSAL_CHOSEN)"
echo "ok: charon refuses a wrong PSK (24) and an unknown proposal (14): peer-refused"
terminate

SUITES="aes128gcm16-prfsha256-ecp256:aes128gcm16
aes256-sha256-modp2048:aes256-sha256
aes256gcm16-prfsha384-x25519:aes256gcm16
aes128-sha256-ecp384:aes128-sha384"

for s in $SUITES; do
    ike=${s%%:*}; esp=${s##*:}
    load_conn "$ike" "$esp"

    peer --initiate "$ike" "$esp" || fail "softsa->charon $ike: ike_peer exit $?"
    check "softsa->charon $ike/$esp"
    terminate

    peer --respond "$ike" "$esp" &
    PEER_PID=$!
    sleep 0.3
    sw --initiate --child sa --timeout 15 > "$W/init.out" 2>&1 ||
        fail "charon->softsa $ike: swanctl --initiate failed: $(tail -5 "$W/init.out")"
    wait "$PEER_PID" || fail "charon->softsa $ike: ike_peer exit $?"
    PEER_PID=""
    check "charon->softsa $ike/$esp"
    terminate
done
# CREATE_CHILD_SA both ways, with PFS: CHILD SA rekey then IKE SA rekey.
ike=aes128gcm16-prfsha256-ecp256; esp=aes128gcm16-ecp256
load_conn "$ike" "$esp"
peer --initiate "$ike" "$esp" --rekey || fail "softsa rekeys: ike_peer exit $?"
[ "$(grep -c '^CHILD ' "$W/peer.out")" = 2 ] || fail "softsa rekeys: expected 2 CHILD SAs"
[ "$(grep -c '^IKE ' "$W/peer.out")" = 3 ] || fail "softsa rekeys: expected the IKE SA rekeyed"
grep -q '^CHILD-DELETED' "$W/peer.out" || fail "softsa rekeys: old CHILD SA not deleted"
check "softsa rekeys CHILD (PFS ecp256) and IKE SA at charon"
[ "$(grep -c 'INSTALLED' "$W/sas")" = 1 ] || fail "charon holds other than one CHILD SA after rekey"
terminate

peer --respond "$ike" "$esp" --linger 6000 &
PEER_PID=$!
sleep 0.3
sw --initiate --child sa --timeout 15 > "$W/init.out" 2>&1 || fail "charon->softsa for rekey: initiate failed"
sleep 0.3
sw --rekey --child sa > "$W/rekey.out" 2>&1 || fail "swanctl --rekey --child: $(cat "$W/rekey.out")"
sleep 0.5
sw --rekey --ike sa > "$W/rekey.out" 2>&1 || fail "swanctl --rekey --ike: $(cat "$W/rekey.out")"
wait "$PEER_PID" || fail "charon rekeys: ike_peer exit $?"
PEER_PID=""
[ "$(grep -c '^CHILD ' "$W/peer.out")" = 2 ] || fail "charon rekeys: expected 2 CHILD SAs at softsa"
[ "$(grep -c '^IKE ' "$W/peer.out")" = 3 ] || fail "charon rekeys: expected the IKE SA rekeyed at softsa"
check "charon rekeys CHILD (PFS ecp256) and IKE SA at softsa"
terminate

echo "PASS: strongSwan interop, $(wc -l <<<"$SUITES") suites both directions, rekeys both directions"
