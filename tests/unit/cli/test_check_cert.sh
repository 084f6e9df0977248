#!/bin/sh
# softsa check with certificate auth methods: the files of each method are readable, the
# key matches the certificate, the certificate is valid now and verifies to the CA; every
# refusal is FILE:LINE:COL of the policy line that names the file.
# usage: test_check_cert.sh SOFTSA MKPKI
set -u
SOFTSA=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
MKPKI=$2
command -v openssl >/dev/null || { echo "SKIP: openssl missing"; exit 77; }
TMP=$(mktemp -d /tmp/ssp-cert.XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect() {
	want=$1; shift
	"$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	[ "$rc" -eq "$want" ] || fail "exit $rc, expected $want: $* ($(head -c 300 "$TMP/err"))"
}
has() { grep -qF -- "$2" "$TMP/$1" || fail "$1 of '$CMD' lacks: $2 (got: $(head -c 400 "$TMP/$1"))"; }

"$MKPKI" "$TMP/pki" a=10.0.0.1 b=10.0.0.2 >/dev/null || { echo "FAIL: mkpki"; exit 1; }
"$MKPKI" "$TMP/pki" --days 0 old=10.0.0.3 >/dev/null
"$MKPKI" "$TMP/other" x=10.0.0.4 >/dev/null
sleep 1 # old.pem's notAfter (now) is past
policy() { # policy FILE CERT KEY [CA]
	cat > "$1" <<YAML
name: certs
filter_lists:
  l: [{ src: me, dst: 10.0.0.0/8 }]
filter_actions:
  s: { action: negotiate }
rules:
  - name: fleet
    filter_list: l
    filter_action: s
    auth:
      - certificate:
          ca: ${4:-pki/ca.pem}
          cert: $2
          key: $3
          crl: pki/crl.pem
          peer_id: "dns:*.fleet.example"
      - psk: a-long-enough-fallback-key
YAML
}
policy "$TMP/ok.yaml" pki/a.pem pki/a.key
CMD="check ok"; expect 0 "$SOFTSA" check "$TMP/ok.yaml"
has out "pki/a.pem (rule 'fleet'): CN=a,O=softsa test, issued by CN=softsa test CA,O=softsa test, valid until 20"
has out "the peer must be dns:*.fleet.example"
CMD="check ok --json"; expect 0 "$SOFTSA" check --json "$TMP/ok.yaml"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); c=j["certificates"][0]
sys.exit(0 if j["valid"] and c["subject"]=="CN=a,O=softsa test" and c["checked"] and c["days_left"]>=360 else 1)' "$TMP/out" ||
	fail "check --json: $(cat "$TMP/out")"

policy "$TMP/old.yaml" pki/old.pem pki/old.key
CMD="check expired"; expect 1 "$SOFTSA" check "$TMP/old.yaml"
has err "$TMP/old.yaml:13:17: certificate '$TMP/pki/old.pem': certificate expired"
CMD="check expired --json"; expect 1 "$SOFTSA" check --json "$TMP/old.yaml"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); e=j["error"]
sys.exit(0 if not j["valid"] and e["line"]==13 and e["col"]==17 and "expired" in e["message"] else 1)' "$TMP/out" ||
	fail "check --json expired: $(cat "$TMP/out")"

policy "$TMP/mismatch.yaml" pki/a.pem pki/b.key
CMD="check key mismatch"; expect 1 "$SOFTSA" check "$TMP/mismatch.yaml"
has err "$TMP/mismatch.yaml:14:16: certificate: the private key does not match the certificate"

policy "$TMP/unknown.yaml" other/x.pem other/x.key
CMD="check unknown CA"; expect 1 "$SOFTSA" check "$TMP/unknown.yaml"
has err "$TMP/unknown.yaml:13:17: certificate '$TMP/other/x.pem': certificate from an unknown CA"

policy "$TMP/missing.yaml" pki/a.pem pki/nope.key
CMD="check missing key"; expect 1 "$SOFTSA" check "$TMP/missing.yaml"
has err "$TMP/missing.yaml:14:16: cannot read key '$TMP/pki/nope.key': No such file or directory"

chmod 666 "$TMP/pki/b.key"
policy "$TMP/loose.yaml" pki/b.pem pki/b.key
CMD="check loose key"; expect 1 "$SOFTSA" check "$TMP/loose.yaml"
has err "is writable by group or others (mode 0666): refused, chmod go-w it"

# -s (key files skipped): the paths are not even opened; nothing is checked.
CMD="check --skip-key-files"; expect 0 "$SOFTSA" check --skip-key-files "$TMP/missing.yaml"
has out "not checked (key files skipped)"

[ $fails = 0 ] && echo PASS || exit 1
