#!/bin/sh
# softsa check and explain, end to end: exit codes, human output and --json.
# usage: test_cli.sh SOFTSA EXAMPLES_DIR
set -u
SOFTSA=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
EX=$2
TMP=$(mktemp -d /tmp/ssp-cli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect RC CMD...: runs CMD, keeps stdout/stderr in $TMP/out, $TMP/err.
expect() {
	want=$1; shift
	"$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	[ "$rc" -eq "$want" ] || fail "exit $rc, expected $want: $* ($(head -c 300 "$TMP/err"))"
}
has() { grep -qF -- "$2" "$TMP/$1" || fail "$1 of '$CMD' lacks: $2"; }
# json EXPR: a Python expression over the parsed stdout `j` that must be true.
json() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
		"$TMP/out" "$1" || fail "json of '$CMD': $1"
}

# --help everywhere, usage errors are 2.
CMD=help; expect 0 "$SOFTSA" --help; has out "check"; has out "explain"
CMD="check --help"; expect 0 "$SOFTSA" check --help; has out "usage: softsa check"
CMD="explain --help"; expect 0 "$SOFTSA" explain --help; has out "--in"
CMD="help explain"; expect 0 "$SOFTSA" help explain; has out "usage: softsa explain"
CMD=none; expect 2 "$SOFTSA"
CMD=bogus; expect 2 "$SOFTSA" bogus; has err "unknown command 'bogus'"
CMD="check no file"; expect 2 "$SOFTSA" check
CMD="explain bad addr"; expect 2 "$SOFTSA" explain "$EX/demo.yaml" 10.0.0.1 not-an-ip
CMD="explain mixed"; expect 2 "$SOFTSA" explain "$EX/demo.yaml" 10.0.0.1 2001:db8::1
CMD="explain ports icmp"; expect 2 "$SOFTSA" explain "$EX/demo.yaml" 10.0.0.1 192.0.2.1 icmp 1 2

# check: every example is valid.
for f in "$EX"/*.yaml; do
	CMD="check $f"; expect 0 "$SOFTSA" check "$f"; has out "valid"
done

# check: effective order, most specific first.
CMD="check ordering"; expect 0 "$SOFTSA" check "$EX/ordering.yaml"
sed -n 's/^ *\([0-9]*\)\. .*rule .\([a-z-]*\). .*/\1 \2/p' "$TMP/out" >"$TMP/order"
printf '1 admin-ssh\n2 admin-host\n3 corp\n' | cmp -s - "$TMP/order" || fail "check ordering: $(cat "$TMP/order")"
has out "anything else"
CMD="check ordering --json"; expect 0 "$SOFTSA" check --json "$EX/ordering.yaml"
json 'j["valid"] and [r["rule"] for r in j["rules"]] == ["admin-ssh", "admin-host", "corp"]'
json 'j["rules"][0]["filter"]["dst_port"] == [22, 22] and j["rules"][0]["action"]["action"] == "negotiate"'
json 'j["ike"]["attempts"] == 4 and j["ike"]["silent_decision_ms"] == 3000 and j["downgrade_protection"] == 604800'

# check: invalid files give FILE:LINE:COL: message and exit 1, in text and JSON.
printf 'filter_lists:\n  a:\n    - protocol: tcp\n' >"$TMP/bad.yaml"
CMD="check bad"; expect 1 "$SOFTSA" check "$TMP/bad.yaml"
has err "$TMP/bad.yaml:3:7: unknown key 'protocol' in filter (did you mean 'proto'?)"
CMD="check bad --json"; expect 1 "$SOFTSA" check --json "$TMP/bad.yaml"
json 'not j["valid"] and j["error"]["line"] == 3 and j["error"]["col"] == 7 and "proto" in j["error"]["message"]'
CMD="check stdin"; expect 1 sh -c '"$1" check - <"$2"' sh "$SOFTSA" "$TMP/bad.yaml"
has err "<stdin>:3:7: unknown key 'protocol' in filter"
CMD="check stdin ok"; expect 0 sh -c 'cd "$2" && "$1" check - <demo.yaml' sh "$SOFTSA" "$EX"
has out "policy 'demo' (<stdin>): valid"
CMD="check missing"; expect 1 "$SOFTSA" check "$TMP/none.yaml"; has err "none.yaml: cannot read: No such file or directory"

# Checking without the key files (they are not read; placeholders stand in).
mkdir "$TMP/nokeys"
sed 's|psk_file: example.psk|psk_file: missing.psk|' "$EX/demo.yaml" >"$TMP/nokeys/demo.yaml"
CMD="check missing key"; expect 1 "$SOFTSA" check "$TMP/nokeys/demo.yaml"; has err "cannot read psk_file"
CMD="check --skip-key-files"; expect 0 "$SOFTSA" check --skip-key-files "$TMP/nokeys/demo.yaml"

# Unused lists and actions are legal, and noted.
printf 'filter_lists:\n  spare: [{dst: any}]\nfilter_actions:\n  idle: {action: block}\n' >"$TMP/unused.yaml"
CMD="check unused"; expect 0 "$SOFTSA" check "$TMP/unused.yaml"
has out "note: filter list 'spare' (line 2) is not used by any rule"
has out "note: filter action 'idle' (line 4) is not used by any rule"

# A filter written twice: the later copy never applies (unless only it is mirrored).
printf 'auth: [{psk: 0123456789abcdef}]\nfilter_lists:\n  a: [{dst: 192.0.2.1, proto: tcp}]\n  b:\n    - {dst: 192.0.2.1, proto: tcp}\n    - {dst: 192.0.2.2, mirrored: false}\n    - {dst: 192.0.2.2}\nfilter_actions:\n  n: {action: negotiate}\n  p: {action: permit}\nrules:\n  - {name: first, filter_list: a, filter_action: n}\n  - {name: second, filter_list: b, filter_action: p}\n' >"$TMP/dup.yaml"
CMD="check duplicate"; expect 0 "$SOFTSA" check "$TMP/dup.yaml"
has out "note: filter 2 (rule 'second', line 5) never applies: filter 1 (rule 'first', line 3) matches the same packets first"
grep -q "filter 4 (rule 'second', line 7) never applies" "$TMP/out" && fail "a mirrored copy of a one-way filter still applies in reverse"
CMD="check duplicate --json"; expect 0 "$SOFTSA" check --json "$TMP/dup.yaml"
json 'len(j["notes"]) == 1 and "never applies" in j["notes"][0]'

# built-ins.
CMD="check --builtin server"; expect 0 "$SOFTSA" check --builtin server --psk-file "$EX/example.psk"
has out "policy 'server'"; has out "accept unsecured; fallback to clear"
CMD="check --builtin without psk"; expect 1 "$SOFTSA" check --builtin client
has err "needs a pre-shared key"
CMD="check --builtin --skip-key-files"; expect 0 "$SOFTSA" check --builtin secure-server --skip-key-files
CMD="check --builtin nope"; expect 1 "$SOFTSA" check --builtin nope --psk-file "$EX/example.psk"
CMD="check --builtin and file"; expect 2 "$SOFTSA" check --builtin server "$EX/demo.yaml"

# explain: the seed's rows as far as policy decides (examples/demo.yaml).
CMD="explain row 1"; expect 0 "$SOFTSA" explain "$EX/demo.yaml" 10.0.0.1 192.0.2.7 tcp 40000 80
has out "match: rule 'request', filter 1 of list 'request'"
has out "not IPsec-aware (never answers IKE: 4 attempts, decided after 3.0 s): soft association"
has out "answers IKE but the negotiation fails"
CMD="explain row 2 --in"; expect 0 "$SOFTSA" explain --in "$EX/demo.yaml" 192.0.2.7 10.0.0.1 tcp 80 40000
has out "(mirrored)"; has out "Unsecured inbound from 192.0.2.7: accepted, and softsa negotiates toward it"
CMD="explain row 3 --in"; expect 0 "$SOFTSA" explain --in "$EX/demo.yaml" 198.51.100.7 10.0.0.1
has out "Unsecured inbound from 198.51.100.7: dropped; softsa still negotiates toward it"
has out "traffic with it is blocked (no fallback to clear)"
CMD="explain discovery"; expect 0 "$SOFTSA" explain "$EX/demo.yaml" 10.0.0.1 203.0.113.9 udp 5000 53
has out "(discovery) packets go in the clear"
CMD="explain permit"; expect 0 "$SOFTSA" explain "$EX/demo.yaml" 10.0.0.1 8.8.8.8 icmp
has out "Action permit 'permit'"
CMD="explain no match"; expect 0 "$SOFTSA" explain "$EX/demo.yaml" 10.0.0.1 8.8.8.8 udp 5000 53
has out "match: none"; has out "Default Response rule"
CMD="explain --json"; expect 0 "$SOFTSA" explain --json --in "$EX/demo.yaml" 192.0.2.7 10.0.0.1 tcp 80 40000
json 'j["matched"] and j["rule"] == "request" and j["mirrored"] and j["packet"]["dir"] == "in" and j["packet"]["proto"] == "tcp" and j["packet"]["sport"] == 80'
json 'j["action"]["accept_unsecured"] and j["action"]["fallback_to_clear"] and j["peer"] == "192.0.2.7"'
json 'any("soft association" in s for s in j["explanation"])'
CMD="explain --json none"; expect 0 "$SOFTSA" explain --json "$EX/demo.yaml" 10.0.0.1 8.8.8.8
json 'not j["matched"] and j["default_response"] and "proto" not in j["packet"] and j["policy"] == "demo"'
CMD="explain builtin secure-server"; expect 0 "$SOFTSA" explain --builtin secure-server --psk-file "$EX/example.psk" 10.0.0.1 192.0.2.7 tcp 1 2
has out "rule 'all-ip'"; has out "blocked (no fallback to clear)"
# IPv6, and one-way (mirrored: false) filters.
CMD="explain ipv6"; expect 0 "$SOFTSA" explain "$EX/filters.yaml" 2001:db8::5 2001:db8:100::1 tcp 1 2
has out "match: rule 'examples', filter 3 of list 'examples' (line 19): me <-> 2001:db8:100::/48 any"
CMD="explain ipv6 in"; expect 0 "$SOFTSA" explain --in "$EX/filters.yaml" 2001:db8::53 2001:db8::5 icmpv6
has out "filter 5 of list 'examples'"; has out "(mirrored)"
CMD="explain one-way out"; expect 0 "$SOFTSA" explain "$EX/filters.yaml" 10.0.0.1 8.8.8.8 udp 5000 123
has out "filter 7 of list 'examples' (line 30): me -> any udp dport 123"
CMD="explain one-way in"; expect 0 "$SOFTSA" explain --in "$EX/filters.yaml" 8.8.8.8 10.0.0.1 udp 123 5000
has out "match: none"

CMD="explain bad policy"; expect 1 "$SOFTSA" explain "$TMP/bad.yaml" 10.0.0.1 192.0.2.7
has err "$TMP/bad.yaml:3:7:"

# Options anywhere: --in after FILE and the addresses; a destination port alone.
CMD="explain --in after FILE"; expect 0 "$SOFTSA" explain "$EX/demo.yaml" 192.0.2.7 10.0.0.1 --in tcp 80 40000
has out "packet: inbound 192.0.2.7 -> 10.0.0.1 tcp port 80 -> 40000"
CMD="explain dport only"; expect 0 "$SOFTSA" explain "$EX/demo.yaml" 10.0.0.1 192.0.2.7 tcp 443
has out "tcp port 49152 -> 443"; has out "taken as 49152"
CMD="explain one operand"; expect 2 "$SOFTSA" explain "$EX/demo.yaml" 10.0.0.1
has err "expected SRC DST after the policy"
# What the datapath lets by is said as such, never "negotiate".
CMD="explain IKE"; expect 0 "$SOFTSA" explain "$EX/demo.yaml" 10.0.0.1 192.0.2.7 udp 500
has out "UDP port 500 is IKE"; grep -q "negotiates" "$TMP/out" && fail "explain IKE says negotiate"
CMD="explain own address"; expect 0 "$SOFTSA" explain "$EX/demo.yaml" 10.0.0.1 127.0.0.1
has out "over loopback"
CMD="explain --json ESP"; expect 0 "$SOFTSA" --json explain --in "$EX/demo.yaml" 192.0.2.7 10.0.0.1 50
json 'j["datapath"] == "esp"'

# Global options before the command.
CMD="--json check"; expect 0 "$SOFTSA" --json check "$EX/ordering.yaml"
json 'j["valid"]'
CMD="--bogus check"; expect 2 "$SOFTSA" --bogus check "$EX/ordering.yaml"

# Built-in policies: no line numbers of the built-in's own text.
CMD="check builtin"; expect 0 "$SOFTSA" check --builtin server --psk-file "$EX/example.psk"
has out "(list 'all-ip' #1, built-in)"; grep -q "line [0-9]" "$TMP/out" && fail "check builtin shows line numbers"

# Override warnings (the issue's office): exit 0, --strict 1, in text and JSON.
printf 'auth: [{psk: 0123456789abcdef}]\nfilter_lists:\n  corp: [{dst: 10.1.0.0/16}]\n  dns: [{dst: any, proto: udp, dst_port: 53}]\nfilter_actions:\n  n: {action: negotiate}\n  p: {action: permit}\nrules:\n  - {name: corp, filter_list: corp, filter_action: n}\n  - {name: dns, filter_list: dns, filter_action: p}\n' >"$TMP/office.yaml"
CMD="check office"; expect 0 "$SOFTSA" check "$TMP/office.yaml"
has out "warning: filter 2 'me <-> any udp dport 53' (rule 'dns', line 4) -> permit loses me <-> 10.1.0.0/16 udp dport 53 to the more specific filter 1 'me <-> 10.1.0.0/16 any' (rule 'corp', line 3) -> negotiate 'n'"
has out "add the filter 'me <-> 10.1.0.0/16 udp dport 53' to list 'dns'"
CMD="check office --strict"; expect 1 "$SOFTSA" check --strict "$TMP/office.yaml"
has err "1 warning (--strict makes them errors)"
CMD="check office --json"; expect 0 "$SOFTSA" check "$TMP/office.yaml" --json
json 'j["warnings"][0]["kind"] == "partial" and j["warnings"][0]["winner_rule"] == "corp" and j["warnings"][0]["add"]["filter"] == "me <-> 10.1.0.0/16 udp dport 53"'
# The suggested filter does what it says: added, the warning goes and DNS is permitted there.
sed 's|  dns: \[{dst: any, proto: udp, dst_port: 53}\]|  dns: [{dst: any, proto: udp, dst_port: 53}, {dst: 10.1.0.0/16, proto: udp, dst_port: 53}]|' "$TMP/office.yaml" >"$TMP/office2.yaml"
CMD="check office fixed"; expect 0 "$SOFTSA" check --strict "$TMP/office2.yaml"
CMD="explain office fixed"; expect 0 "$SOFTSA" explain "$TMP/office2.yaml" 10.0.0.1 10.1.0.53 udp 53
has out "Action permit"
# A tunnel rule with fallback_to_clear: the networks would be routed in the clear; said in a warning.
printf 'auth: [{psk: 0123456789abcdef}]\nfilter_lists:\n  site: [{src: 10.1.0.0/16, dst: 10.2.0.0/16}]\nfilter_actions:\n  soft: {action: negotiate, fallback_to_clear: true}\nrules:\n  - {name: to-b, filter_list: site, filter_action: soft, tunnel: 203.0.113.2}\n' >"$TMP/tsoft.yaml"
CMD="check tunnel fallback"; expect 0 "$SOFTSA" check "$TMP/tsoft.yaml"
has out "warning: rule 'to-b' (line 7) tunnels to 203.0.113.2 with fallback_to_clear: when that gateway never answers IKE, the traffic between its networks is routed in the clear"
CMD="check tunnel fallback --strict"; expect 1 "$SOFTSA" check --strict "$TMP/tsoft.yaml"
CMD="check tunnel fallback --json"; expect 0 "$SOFTSA" check "$TMP/tsoft.yaml" --json
json '[w["kind"] for w in j["warnings"]] == ["tunnel-fallback"] and j["warnings"][0]["tunnel"] == "203.0.113.2"'
# IPv6 networks inside an IPv4 tunnel: valid, but not on the kernel dataplane; said in a note.
printf 'auth: [{psk: 0123456789abcdef}]\nfilter_lists:\n  site: [{src: 10.1.0.0/16, dst: 10.2.0.0/16}, {src: "fd01::/64", dst: "fd02::/64"}]\nfilter_actions:\n  sec: {action: negotiate}\nrules:\n  - {name: to-b, filter_list: site, filter_action: sec, tunnel: 203.0.113.2}\n' >"$TMP/tmix.yaml"
CMD="check tunnel families"; expect 0 "$SOFTSA" check "$TMP/tmix.yaml"
has out "note: rule 'to-b' (line 7) carries IPv6 networks inside its IPv4 tunnel to 203.0.113.2: the userspace dataplane only"
CMD="check tunnel one family"; expect 0 "$SOFTSA" check "$TMP/tsoft.yaml"
grep -q "carries IPv" "$TMP/out" && fail "a one-family tunnel got the families note"
CMD="check tunnel"; expect 0 "$SOFTSA" check --strict "$EX/tunnel.yaml"
CMD="check quoted bool"; printf 'filter_lists:\n  a: [{dst: any, mirrored: "true"}]\n' >"$TMP/q.yaml"; expect 1 "$SOFTSA" check "$TMP/q.yaml"
has err "without quotes"

[ "$fails" -eq 0 ] && echo "all CLI checks passed"
exit $((fails > 0))
