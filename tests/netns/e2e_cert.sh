#!/bin/bash
# Certificate authentication between softsad hosts, and a revoked host refused.
#
#        +---------------------- bridge br0 (netns sse-ct<PID>-br) ----------------------+
#        |                              |                                      |
#   A 10.89.0.1  softsad            B 10.89.0.2  softsad                C 10.89.0.3  softsad
#   cert CN=a (ECDSA P-256)         cert CN=b (RSA 2048)                cert CN=c, revoked in
#                                                                       the CRL A and B hold
#
# One CA (tools/mkpki.sh) for all three; each policy authenticates with its certificate
# (auth: [{certificate: ...}]) and allows fallback to clear.  A <-> B: IKE with CERT payloads,
# then only ESP; `sas` on A names B by its certificate (subject, issuer, expiry) and `peers`
# shows the identity.  C -> B: B refuses C's revoked certificate; B's peers say why, C is
# blocked on both sides (the peer answered: no soft association) and no clear TCP crosses.
. "$(dirname "$0")/e2e_lib.sh" "$@"
command -v openssl >/dev/null || { echo "SKIP: openssl missing"; exit 77; }
ROOT=$(cd "$HERE/../.." && pwd)
PKI=$W/pki
"$ROOT/tools/mkpki.sh" "$PKI" a=10.89.0.1 >/dev/null || fail "mkpki"
"$ROOT/tools/mkpki.sh" "$PKI" --key rsa b=10.89.0.2 c=10.89.0.3 >/dev/null || fail "mkpki"
"$ROOT/tools/mkpki.sh" "$PKI" --revoke c >/dev/null || fail "mkpki --revoke"

policy() { # policy HOST
	cat > "$W/$1.yaml" <<EOF
name: cert-$1
filter_lists:
  net:
    - { src: me, dst: 10.89.0.0/24 }
filter_actions:
  secure:
    action: negotiate
    accept_unsecured: true
    fallback_to_clear: true
rules:
  - name: fleet
    filter_list: net
    filter_action: secure
    auth:
      - certificate:
          ca: $PKI/ca.pem
          cert: $PKI/$1.pem
          key: $PKI/$1.key
          crl: $PKI/crl.pem
EOF
}
topo_up sse-ct$$ a b c || fail "topology"
for h in a b c; do
	policy $h
	sad_start $h -c "$W/$h.yaml"
done
cap_start "$W/ct.pcap" "host 10.89.0.2 and (host 10.89.0.1 or host 10.89.0.3)"

tcp_transfer a b 1000000
ok "1 MB A -> B over TCP arrived intact"
ra=$(ctl a sas)
peer=$(jget "$ra" '[s["peer"] for s in r["result"]["ike_sas"] if s["remote"] == "10.89.0.2"][0]')
[ "$(jget "$peer" 'r["auth"] + " " + str(r["auth_method"])')" = "certificate 14" ] || fail "A's view of B's AUTH: $peer"
[ "$(jget "$peer" 'r["id"]')" = "CN=b,O=softsa test" ] || fail "B's identity on A: $peer"
[ "$(jget "$peer" 'r["certificate"]["issuer"]')" = "CN=softsa test CA,O=softsa test" ] || fail "issuer: $peer"
case "$(jget "$peer" 'r["certificate"]["not_after"]')" in 20[0-9][0-9]-*Z) ;; *) fail "expiry: $peer" ;; esac
[ "$(jget "$(ctl b sas)" '[s["peer"]["id"] for s in r["result"]["ike_sas"] if s["remote"] == "10.89.0.1"][0]')" = \
	"CN=a,O=softsa test" ] || fail "A's identity on B: $(ctl b sas)"
[ "$(jget "$(ctl a peers)" '[x["identity"] for x in r["result"]["peers"] if x["remote"] == "10.89.0.2"][0]')" = \
	"CN=b,O=softsa test" ] || fail "peers on A: $(ctl a peers)"
ok "A and B authenticated each other by certificate; sas and peers name the peer"

# C's certificate is revoked: B refuses it, C gives up on B, nothing goes in the clear.
topo_exec c timeout 6 python3 -c '
import socket; socket.create_connection(("10.89.0.2", 5001), timeout=4)' 2>/dev/null &&
	fail "C connected to B with a revoked certificate"
wait_for 5 'test "$(jget "$(ctl b peers)" "[x[\"reason\"] for x in r[\"result\"][\"peers\"] if x[\"remote\"] == \"10.89.0.3\"]")" = "[\"certificate revoked\"]"' ||
	fail "B's peers should say C's certificate is revoked: $(ctl b peers)"
pc=$(ctl c peers)
[ "$(jget "$pc" '[x["state"] + "/" + str(x["last_outcome"]) for x in r["result"]["peers"] if x["remote"] == "10.89.0.2"][0]')" = \
	blocked/peer-refused ] || fail "C's association with B: $pc"
[ "$(jget "$(ctl c soft)" 'len(r["result"]["soft"])')" = 0 ] || fail "C soft-associated with B: $(ctl c soft)"
grep -q "certificate revoked" "$W/b.log" || fail "B's log does not say why it refused C"
cap_stop
clear=$(pcap_count "$W/ct.pcap" "tcp")
[ "$clear" = 0 ] || fail "$clear clear TCP packets"
ok "B refused C's revoked certificate (reason in peers and log); no soft association, no clear TCP"
echo PASS
