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
# Certificate authentication (ECDSA, RSA-PSS, Ed25519 keys from tools/mkpki.sh): CERTREQ and
# SIGNATURE_HASH_ALGORITHMS in IKE_SA_INIT, CERT + CERTREQ + AUTH (RFC 7427) inside SK.
MKPKI=$(cd "$(dirname "$0")/../.." && pwd)/tools/mkpki.sh
if command -v openssl >/dev/null; then
    for k in ec rsa ed25519; do
        "$MKPKI" "$W/pki" --key $k a-$k=10.78.0.1 b-$k=10.78.0.2 >/dev/null || { echo "FAIL: mkpki"; exit 1; }
        "$CAP" aes128gcm16-prfsha256-ecp256 aes128gcm16 "$W/c.pcap" "$W/c.uat" "$W/pki/ca.pem" \
            "$W/pki/a-$k.pem" "$W/pki/a-$k.key" "$W/pki/b-$k.pem" "$W/pki/b-$k.key" ||
            { echo "FAIL: ike_capture with $k certificates"; exit 1; }
        tshark -n -r "$W/c.pcap" -o "uat:ikev2_decryption_table:$(cat "$W/c.uat")" -V > "$W/out" 2>"$W/err"
        bad=""
        grep -q "Malformed" "$W/out" && bad="$bad malformed"
        grep -q "\[Severity level: Error\]" "$W/out" && bad="$bad expert-error"
        grep -q "\[Severity level: Warning\]" "$W/out" && bad="$bad expert-warning"
        for want in "Payload: Certificate (37)" "Payload: Certificate Request (38)" "Payload: Authentication (39)"; do
            grep -q "$want" "$W/out" || bad="$bad missing:'$want'"
        done
        # Two CERTREQs (responder's IKE_SA_INIT, initiator's IKE_AUTH), two CERTs, two AUTHs.
        [ "$(grep -c "Payload: Certificate Request (38)" "$W/out")" = 2 ] || bad="$bad certreq-count"
        [ "$(grep -c "Payload: Certificate (37)" "$W/out")" = 2 ] || bad="$bad cert-count"
        grep -q "Certificate Encoding: X.509 Certificate - Signature (4)" "$W/out" || bad="$bad cert-encoding"
        grep -q "Authentication Method: Digital Signature (14)" "$W/out" || bad="$bad auth-method"
        grep -q "SIGNATURE_HASH_ALGORITHMS" "$W/out" || bad="$bad no-hash-notify"
        if [ -n "$bad" ]; then
            echo "FAIL: certificates ($k):$bad"; grep -B2 -A6 -E "Malformed|Severity level" "$W/out" | head -40
            rc=1
        else
            echo "ok: certificates ($k): CERT, CERTREQ, AUTH (Digital Signature) dissected, no warnings"
        fi
    done
fi
exit $rc
