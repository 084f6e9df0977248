#!/bin/bash
# softsad and strongSwan authenticate each other with X.509 certificates (charon's pubkey
# authentication), ECDSA and then RSA, each side initiating in turn.
#
#        +------------- bridge br0 (netns sse-sc<PID>-br) -------------+
#        |                                                        |
#   A 10.89.0.1  softsad -c policy (tunnel to E,     E 10.89.0.5  charon, kernel-libipsec,
#                auth: certificate CN=a)                          auth = pubkey, cert CN=e
#
# One CA (tools/mkpki.sh) signs both certificates.  For each key type (ECDSA P-256, RSA 2048):
# softsad initiates (a ping through the tunnel), then charon does (swanctl --initiate); each
# time `swanctl --list-sas` shows the IKE SA ESTABLISHED with softsad's certificate identity
# and the CHILD SA INSTALLED, and `softsa sas` names charon by its certificate.  Then charon
# again with signature_authentication = no (no RFC 7427: no SIGNATURE_HASH_ALGORITHMS), so
# that both sides use the older methods: ECDSA with SHA-256 (9) and RSA (1).
. "$(dirname "$0")/e2e_lib.sh" "$@"
. "$HERE/charon_lib.sh"
charon_available || { echo "SKIP: strongSwan charon with kernel-libipsec is not installed"; exit 77; }
command -v openssl >/dev/null || { echo "SKIP: openssl missing"; exit 77; }
ROOT=$(cd "$HERE/../.." && pwd)
PKI=$W/pki
"$ROOT/tools/mkpki.sh" "$PKI" a-ec=10.89.0.1 e-ec=10.89.0.5 >/dev/null || fail "mkpki"
"$ROOT/tools/mkpki.sh" "$PKI" --key rsa a-rsa=10.89.0.1 e-rsa=10.89.0.5 >/dev/null || fail "mkpki rsa"
topo_up sse-sc$$ a e || fail "topology"
SWD="$W/swan"
trap 'charon_stop "$SWD"; e2e_cleanup' EXIT
charon_start $TOPO_PREFIX-e "$SWD" || fail "charon"
swan_fail() { echo "--- charon log"; tail -40 "$SWD/charon.log"; fail "$@"; }

setup_round() { # setup_round KEYTYPE: charon's connection and softsad's policy for that key type
	local k=$1
	mkdir -p "$SWD/x509ca" "$SWD/x509" "$SWD/private"
	rm -f "$SWD"/x509/* "$SWD"/private/*
	cp "$PKI/ca.pem" "$SWD/x509ca/ca.pem"
	cp "$PKI/e-$k.pem" "$SWD/x509/e.pem"
	cp "$PKI/e-$k.key" "$SWD/private/e.key"
	cat > "$SWD/swanctl.conf" <<CONF
connections {
    a {
        version = 2
        local_addrs = 10.89.0.5
        remote_addrs = 10.89.0.1
        proposals = aes256gcm16-prfsha384-ecp384
        dpd_delay = 0
        local { auth = pubkey
                certs = e.pem }
        remote { auth = pubkey
                 cacerts = ca.pem }
        children {
            a { mode = tunnel
                local_ts = 10.89.0.5/32
                remote_ts = 10.89.0.1/32
                esp_proposals = aes256gcm16
                start_action = none }
        }
    }
}
CONF
	SWANCTL_DIR=$SWD swanctl_at "$SWD" --load-all --clear --noprompt --file "$SWD/swanctl.conf" >/dev/null 2>"$SWD/load.err" ||
		fail "swanctl --load-all: $(cat "$SWD/load.err")"
	cat > "$W/policy.yaml" <<YAML
name: to-strongswan-$k
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
  - name: swan
    filter_list: swan
    filter_action: require
    tunnel: 10.89.0.5
    auth:
      - certificate: { ca: $PKI/ca.pem, cert: $PKI/a-$k.pem, key: $PKI/a-$k.key }
YAML
}

# check_sas KEYTYPE WHO SCHEME METHOD: charon and softsad agree on who authenticated whom, and how.
check_sas() {
	local k=$1 who=$2
	swanctl_at "$SWD" --list-sas > "$W/sas-$k-$who" 2>&1
	grep -q "ESTABLISHED, IKEv2" "$W/sas-$k-$who" || swan_fail "$k, $who initiated: charon has no ESTABLISHED IKE SA: $(cat "$W/sas-$k-$who")"
	grep -q "remote 'O=softsa test, CN=a-$k' @ 10.89.0.1" "$W/sas-$k-$who" ||
		swan_fail "$k: charon does not name softsad by its certificate: $(cat "$W/sas-$k-$who")"
	grep -q "INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-256" "$W/sas-$k-$who" || swan_fail "$k: charon's CHILD SA: $(cat "$W/sas-$k-$who")"
	local peer
	peer=$(jget "$(ctl a sas)" 'r["result"]["ike_sas"][0]["peer"]')
	[ "$(jget "$peer" 'r["id"] + " " + r["auth"] + " " + r["certificate"]["issuer"]')" = \
		"CN=e-$k,O=softsa test certificate CN=softsa test CA,O=softsa test" ] || fail "$k: softsad's view of charon: $peer"
	[ "$(jget "$peer" 'str(r["auth_method"]) + "/" + str(r["local_auth_method"])')" = "$4/$4" ] ||
		fail "$k: AUTH methods (charon's/softsad's) should be $4: $peer"
	grep -q "authentication of 'O=softsa test, CN=a-$k' with $3 successful" "$SWD/charon.log" ||
		swan_fail "$k: charon did not verify softsad's $3 signature"
}

for k in ec rsa legacy-ec legacy-rsa; do
	# What charon says it verified: RFC 7427 ECDSA (DER) or RSA-PSS, as softsad signs; or the
	# older methods once charon announces no hash algorithms.
	case $k in
	ec) scheme=ECDSA_WITH_SHA256_DER ;;
	rsa) scheme=RSA_EMSA_PSS_SHA2_256_SALT_32 ;;
	legacy-ec) scheme="ECDSA-256 signature" method=9 ;;
	legacy-rsa) scheme="RSA signature" method=1 ;;
	esac
	if [ "$k" = legacy-ec ]; then
		charon_stop "$SWD"
		CHARON_EXTRA="signature_authentication = no" charon_start $TOPO_PREFIX-e "$SWD" || fail "charon (legacy)"
	fi
	case $k in legacy-*) key=${k#legacy-} ;; *) key=$k method=14 ;; esac
	setup_round $key
	: > "$SWD/charon.log"
	sad_start a -c "$W/policy.yaml"
	topo_exec a ping -c 3 -i 0.2 -W 3 10.89.0.5 > "$W/ping-$k" 2>&1 || swan_fail "$k: ping A -> E: $(cat "$W/ping-$k")"
	check_sas $key softsad "$scheme" $method
	ok "$k: softsad initiated, certificates verified both ways, ping through the tunnel"
	swanctl_at "$SWD" --terminate --ike a --timeout 5 > "$W/term" 2>&1 || swan_fail "swanctl --terminate: $(tail -3 "$W/term")"
	wait_for 5 'test "$(jget "$(ctl a sas)" "len(r[\"result\"][\"ike_sas\"])")" = 0' || fail "softsad kept the SA charon deleted"
	sad_stop a
	sad_start a -c "$W/policy.yaml"
	swanctl_at "$SWD" --initiate --child a --timeout 15 > "$W/init-$k" 2>&1 || swan_fail "$k: swanctl --initiate: $(tail -5 "$W/init-$k")"
	wait_for 5 'test "$(jget "$(ctl a sas)" "len(r[\"result\"][\"ike_sas\"])")" = 1' || fail "$k: no SA after charon initiated: $(ctl a sas)"
	topo_exec e ping -c 3 -i 0.2 -W 3 10.89.0.1 > "$W/ping2-$k" 2>&1 || swan_fail "$k: ping E -> A"
	check_sas $key charon "$scheme" $method
	ok "$k: charon initiated, certificates verified both ways, ping through the tunnel"
	swanctl_at "$SWD" --terminate --ike a --timeout 5 > "$W/term" 2>&1
	wait_for 5 'test "$(jget "$(ctl a sas)" "len(r[\"result\"][\"ike_sas\"])")" = 0' || fail "softsad kept the SA charon deleted"
	sad_stop a
done
echo PASS
