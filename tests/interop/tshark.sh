#!/bin/bash
# tshark (Wireshark's dissector, an implementation independent of ours) reads a capture of
# our IKE exchanges: no malformed packet and no error-level expert info, and with our keys in
# its ikev2_decryption_table it decrypts every SK payload into the payloads we sent.
# usage: tshark.sh path/to/ike_capture     (exit 77 when tshark is missing)
set -u
CAP=${1:?usage: $0 path/to/ike_capture}
command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }
W=$(mktemp -d /tmp/ssike-tshark.XXXXXX)
trap 'rm -rf "$W"' EXIT

SUITES="aes128gcm16-prfsha256-ecp256:aes128gcm16
aes256-sha256-modp2048:aes256-sha256
aes256gcm16-prfsha384-x25519:aes256gcm16-ecp256
aes128-sha384-ecp384:aes128-sha512"
rc=0
for s in $SUITES; do
    ike=${s%%:*}; esp=${s##*:}
    "$CAP" "$ike" "$esp" "$W/c.pcap" "$W/c.uat" || { echo "FAIL: ike_capture $ike"; exit 1; }
    tshark -n -r "$W/c.pcap" -o "uat:ikev2_decryption_table:$(cat "$W/c.uat")" -V > "$W/out" 2>"$W/err"
    bad=""
    grep -q "Malformed" "$W/out" && bad="$bad malformed"
    grep -q "\[Severity level: Error\]" "$W/out" && bad="$bad expert-error"
    # Decrypted contents, one per exchange we ran.
    for want in "Identification - Initiator" "Identification - Responder" "Authentication" \
                "Traffic Selector - Initiator" "Traffic Selector - Responder" "Delete" \
                "Key Exchange" "Nonce"; do
        grep -q "Payload: $want" "$W/out" || bad="$bad missing:'$want'"
    done
    # 10 datagrams: SA_INIT, AUTH, CREATE_CHILD_SA, liveness, DELETE (request + response each).
    n=$(grep -c "^Internet Security Association and Key Management Protocol" "$W/out")
    [ "$n" = 10 ] || bad="$bad packets:$n"
    dec=$(grep -c "Decrypted Data" "$W/out")
    [ "$dec" = 8 ] || bad="$bad decrypted:$dec"
    if [ -n "$bad" ]; then
        echo "FAIL: $ike/$esp:$bad"; grep -B2 -A6 -E "Malformed|Severity level: Error" "$W/out" | head -40
        rc=1
    else
        echo "ok: $ike/$esp: $n messages, $dec SK payloads decrypted by tshark, no warnings"
    fi
done
exit $rc
