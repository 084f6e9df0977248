#!/bin/bash
# The directory client against a real slapd (tests/directory/slapd_lib.sh), without softsad:
# softsa publish (checked first), fetch over StartTLS and ldaps:// with simple bind and SASL
# EXTERNAL, a wrong CA refused, bad passwords and password files refused, the assignment
# rules (OU, group, host, none -> the default), and following by RFC 4533 and by polling.
#
#   namespace ssdcl<PID>:  slapd on 127.0.0.1:3389 (ldap, StartTLS) and :3636 (ldaps)
#                          dirprobe and softsa publish, as clients
set -u
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (a network namespace)"; exit 77; }
command -v slapd >/dev/null || { echo "SKIP: slapd missing"; exit 77; }
PROBE=$(readlink -f "$1")
SOFTSA=$(readlink -f "$2")
SCHEMA=$(readlink -f "$3")
. "$(dirname "$0")/slapd_lib.sh"
NS=ssdcl$$
W=$(mktemp -d /tmp/ssdcl.XXXXXX)
cleanup() {
	slapd_stop
	ip netns del "$NS" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	tail -20 "$W/slapd/slapd.log" 2>/dev/null
	exit 1
}
ok() { echo "ok: $*"; }
in_ns() { ip netns exec "$NS" "$@"; }

ip netns add "$NS" || fail "netns"
ip -n "$NS" link set lo up
slapd_init "$W/slapd" "$SCHEMA" syncprov || fail "slapd_init"
slapd_start "$NS" || fail "slapd_start"
S=$W/slapd

# boot NAME HOST [KEY: VALUE lines...]: a bootstrap file for host cn=HOST (under ou=servers
# for h1, ou=lonely for h2), StartTLS with the right CA and simple bind unless overridden.
boot() {
	local name=$1 host=$2 ou=servers
	shift 2
	[ "$host" = h2 ] && ou=lonely
	{
		echo "base_dn: $SLAPD_BASE"
		echo "host_dn: cn=$host,ou=$ou,ou=hosts,$SLAPD_BASE" | sed 's/ou=lonely,ou=hosts/ou=lonely/'
		echo "timeout: 5"
		echo "retry_interval: 1"
		for kv in "$@"; do echo "$kv"; done
		printf '%s\n' "$@" | grep -q '^uri:' || echo "uri: ldap://127.0.0.1:$SLAPD_PORT"
		printf '%s\n' "$@" | grep -q '^ca_file:' || echo "ca_file: $S/ca.pem"
		printf '%s\n' "$@" | grep -q '^bind' || printf 'bind: simple\nbind_dn: cn=%s,ou=%s,ou=hosts,%s\npassword_file: %s\n' \
			"$host" "$ou" "$SLAPD_BASE" "$S/$host.pw" | sed 's/ou=lonely,ou=hosts/ou=lonely/'
	} > "$W/$name.yaml"
	echo "$W/$name.yaml"
}
echo "h2-secret" > "$S/h2.pw"; chmod 600 "$S/h2.pw"
slapd_admin_bootstrap "$W/admin.yaml"
publish() { in_ns "$SOFTSA" publish --directory "$W/admin.yaml" "$@"; }
fetch() { in_ns "$PROBE" fetch "$@"; }

# --- publish: checked like softsa check, version 1 then 2.
printf 'name: web\ndescription: web servers\n' > "$W/web1.yaml"
out=$(publish "$W/web1.yaml") || fail "publish: $out"
[ "$out" = "published cn=web,ou=policies,$SLAPD_BASE version 1" ] || fail "publish said: $out"
printf 'name: web\ndescription: web servers, second edition\n' > "$W/web2.yaml"
out=$(publish "$W/web2.yaml") || fail "publish 2: $out"
[ "$out" = "published cn=web,ou=policies,$SLAPD_BASE version 2" ] || fail "publish 2 said: $out"
printf 'name: web\nfilter_lists: 12\n' > "$W/bad.yaml"
out=$(publish "$W/bad.yaml" 2>&1); rc=$?
[ $rc = 1 ] || fail "publish of an invalid policy: exit $rc: $out"
grep -q "^$W/bad.yaml:2:15: " <<<"$out" || fail "publish of an invalid policy said: $out"
v=$(ldap_admin ldapsearch -LLL -b "cn=web,ou=policies,$SLAPD_BASE" softsaPolicyVersion | awk '/^softsaPolicyVersion/ {print $2}')
[ "$v" = 2 ] || fail "version after a refused publish: $v"
ok "publish: versions 1, 2; an invalid policy refused with FILE:LINE:COL, nothing stored"

# --- fetch over StartTLS, simple bind: the OU's assignment.
out=$(fetch "$(boot starttls h1)" 2>&1) || fail "fetch over StartTLS: $out"
head -1 <<<"$out" | grep -q "^via=ou holder=ou=servers,ou=hosts,dc=example,dc=com policy=cn=web,ou=policies,dc=example,dc=com version=2 origin=cn=web,ou=policies,dc=example,dc=com (version 2)$" ||
	fail "fetch over StartTLS said: $out"
grep -q "second edition" <<<"$out" || fail "fetched document: $out"
ok "StartTLS + simple bind: h1 gets cn=web version 2 through ou=servers"

out=$(fetch "$(boot ldaps h1 "uri: ldaps://127.0.0.1:$SLAPD_PORTS")" 2>&1) || fail "fetch over ldaps: $out"
grep -q "^via=ou .* version=2 " <<<"$out" || fail "fetch over ldaps said: $out"
ok "ldaps:// + simple bind"

# --- the wrong CA: refused on both kinds of TLS.
for u in "ldap://127.0.0.1:$SLAPD_PORT" "ldaps://127.0.0.1:$SLAPD_PORTS"; do
	out=$(fetch "$(boot wrongca h1 "uri: $u" "ca_file: $S/other-ca.pem")" 2>&1); rc=$?
	[ $rc = 1 ] || fail "a server certificate from another CA accepted over $u: $out"
	grep -qi "certificate\|contact LDAP server\|connect error" <<<"$out" || fail "wrong CA over $u said: $out"
done
ok "a server certificate the CA file did not sign: refused over StartTLS and ldaps ($(head -c 120 <<<"$out"))"

# The right CA, but the certificate is not for the name connected to: refused too.
out=$(fetch "$(boot wrongname h1 "uri: ldaps://127.0.0.2:$SLAPD_PORTS")" 2>&1); rc=$?
[ $rc = 1 ] || fail "a certificate for 127.0.0.1 accepted at 127.0.0.2: $out"
# Control: the server does answer there when the name is not checked.
in_ns env LDAPTLS_REQCERT=never ldapwhoami -x -H "ldaps://127.0.0.2:$SLAPD_PORTS" >/dev/null 2>&1 ||
	fail "nothing answers on ldaps://127.0.0.2:$SLAPD_PORTS"
ok "a certificate from the right CA for another name: refused"

# Several URIs: the first down, the second answers.
out=$(fetch "$(boot failover h1 "uri: [ldap://127.0.0.1:1, ldap://127.0.0.1:$SLAPD_PORT]")" 2>&1) ||
	fail "failover to the second URI: $out"
grep -q "^via=ou " <<<"$out" || fail "failover fetch said: $out"
ok "URIs tried in order: the first refused, the second used"

# --- SASL EXTERNAL with the host's certificate.  Anonymous reads nothing in this directory,
# so the fetch works only if the bind took the certificate's identity.
out=$(fetch "$(boot external h1 "uri: ldaps://127.0.0.1:$SLAPD_PORTS" "bind: external" \
	"cert_file: $S/h1.pem" "key_file: $S/h1.key")" 2>&1) || fail "SASL EXTERNAL: $out"
grep -q "^via=ou .* version=2 " <<<"$out" || fail "SASL EXTERNAL fetch said: $out"
ok "SASL EXTERNAL with h1's certificate"

# --- bad credentials.
echo wrong > "$W/wrong.pw"; chmod 600 "$W/wrong.pw"
out=$(fetch "$(boot badpw h1 "bind: simple" "bind_dn: cn=h1,ou=servers,ou=hosts,$SLAPD_BASE" "password_file: $W/wrong.pw")" 2>&1)
[ $? = 1 ] && grep -q "bind (simple) refused: Invalid credentials" <<<"$out" || fail "wrong password: $out"
chmod 666 "$W/wrong.pw"
out=$(fetch "$W/badpw.yaml" 2>&1)
[ $? = 1 ] && grep -q "writable by group or others" <<<"$out" || fail "password file 0666: $out"
ok "a wrong password and a world-writable password file: refused"

# --- no assignment: the documented default.
out=$(fetch "$(boot lonely h2)" 2>&1) || fail "fetch for h2: $out"
head -1 <<<"$out" | grep -q "^via=none holder= policy= version=0 origin=default none (no assignment in the directory)$" ||
	fail "h2 without assignment got: $out"
grep -q "^name: none" <<<"$out" || fail "the default document: $out"
out=$(fetch "$(boot lonely2 h2 "default: client")" 2>&1) || fail "fetch for h2 with default client: $out"
grep -q "^builtin: client" <<<"$out" || fail "default: client gave: $out"
ok "a host with no assignment gets the default (none, or the built-in the bootstrap names)"

# --- a group beats the OU; the host's own entry beats the group.
printf 'name: special\n' > "$W/special.yaml"
printf 'name: own\n' > "$W/own.yaml"
publish "$W/special.yaml" >/dev/null && publish "$W/own.yaml" >/dev/null || fail "publish special/own"
ldap_admin ldapadd >/dev/null <<EOF || fail "add group"
dn: cn=special,ou=groups,$SLAPD_BASE
objectClass: groupOfNames
objectClass: softsaPolicyAssignment
cn: special
member: cn=H1,ou=Servers,ou=hosts,$SLAPD_BASE
softsaPolicyRef: cn=special,ou=policies,$SLAPD_BASE
EOF
out=$(fetch "$W/starttls.yaml") || fail "fetch with a group"
head -1 <<<"$out" | grep -q "^via=group holder=cn=special,ou=groups,dc=example,dc=com policy=cn=special,ou=policies,dc=example,dc=com version=1 " ||
	fail "with a group: $out"
ldap_admin ldapmodify >/dev/null <<EOF || fail "assign on the host"
dn: cn=h1,ou=servers,ou=hosts,$SLAPD_BASE
changetype: modify
add: objectClass
objectClass: softsaPolicyAssignment
-
add: softsaPolicyRef
softsaPolicyRef: cn=own,ou=policies,$SLAPD_BASE
EOF
out=$(fetch "$W/starttls.yaml") || fail "fetch with the host's own"
head -1 <<<"$out" | grep -q "^via=host holder=cn=h1,ou=servers,ou=hosts,dc=example,dc=com policy=cn=own,ou=policies,dc=example,dc=com " ||
	fail "with the host's own assignment: $out"
# An assignment that applies to h1 but names a policy that does not exist: an error, not a
# silent fall-back to the group's or the OU's.
ldap_admin ldapmodify >/dev/null <<EOF || fail "dangling ref"
dn: cn=h1,ou=servers,ou=hosts,$SLAPD_BASE
changetype: modify
replace: softsaPolicyRef
softsaPolicyRef: cn=gone,ou=policies,$SLAPD_BASE
EOF
out=$(fetch "$W/starttls.yaml" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "assigned policy cn=gone,ou=policies,dc=example,dc=com (by host cn=h1,ou=servers,ou=hosts,dc=example,dc=com): No such object" <<<"$out" ||
	fail "a dangling softsaPolicyRef: exit $rc: $out"
ldap_admin ldapmodify >/dev/null <<EOF || fail "remove host assignment"
dn: cn=h1,ou=servers,ou=hosts,$SLAPD_BASE
changetype: modify
delete: softsaPolicyRef
-
delete: objectClass
objectClass: softsaPolicyAssignment
EOF
ldap_admin ldapdelete "cn=special,ou=groups,$SLAPD_BASE" || fail "delete group"
out=$(fetch "$W/starttls.yaml") || fail "fetch after cleanup"
grep -q "^via=ou " <<<"$out" || fail "after removing the group and the host's own: $out"
ok "host's own > group > OU; a dangling reference is an error"

# --- following: RFC 4533 (slapd has syncprov) and polling; each sees a publish.
follow_one() { # BOOT: the follower must report version 2 (at start) then 3
	in_ns "$PROBE" follow "$1" 2 20 > "$W/follow.out" 2>"$W/follow.err" &
	local pid=$!
	for _ in $(seq 100); do grep -q "version=" "$W/follow.out" && break; sleep 0.1; done
	printf 'name: web\ndescription: edition %s\n' "$RANDOM" > "$W/webN.yaml"
	publish "$W/webN.yaml" >/dev/null || fail "publish while following"
	wait $pid || fail "follower ($1) did not see the publish: $(cat "$W/follow.out" "$W/follow.err")"
}
follow_one "$W/starttls.yaml"
grep -q "^version=[0-9]* policy=cn=web,ou=policies,dc=example,dc=com state=syncrepl$" "$W/follow.out" ||
	fail "sync follower: $(cat "$W/follow.out")"
ok "RFC 4533 follower: $(tr '\n' ' ' < "$W/follow.out")"
follow_one "$(boot poll h1 "follow: poll" "poll_interval: 1")"
grep -q "state=polling$" "$W/follow.out" || fail "poll follower: $(cat "$W/follow.out")"
ok "polling follower: $(tr '\n' ' ' < "$W/follow.out")"
# --- an assignment removed while following: the follower moves to the default.
in_ns "$PROBE" follow "$W/starttls.yaml" 2 20 > "$W/follow.out" 2>"$W/follow.err" &
pid=$!
for _ in $(seq 100); do grep -q "version=" "$W/follow.out" && break; sleep 0.1; done
ldap_admin ldapmodify >/dev/null <<EOF || fail "remove the OU's assignment"
dn: ou=servers,ou=hosts,$SLAPD_BASE
changetype: modify
delete: softsaPolicyRef
-
delete: objectClass
objectClass: softsaPolicyAssignment
EOF
wait $pid || fail "the follower did not see the assignment go: $(cat "$W/follow.out" "$W/follow.err")"
tail -1 "$W/follow.out" | grep -q "^version=0 policy= state=syncrepl$" || fail "after the assignment went: $(cat "$W/follow.out")"
ok "assignment removed while following: the default ($(tail -1 "$W/follow.out"))"

# --- a host_dn nobody created is an error, not "no assignment".
sed "s/^host_dn: .*/host_dn: cn=ghost,ou=servers,ou=hosts,$SLAPD_BASE/" "$W/starttls.yaml" > "$W/ghost.yaml"
out=$(fetch "$W/ghost.yaml" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "^host entry cn=ghost,ou=servers,ou=hosts,dc=example,dc=com: No such object" <<<"$out" ||
	fail "a missing host entry: exit $rc: $out"
ok "a host entry that does not exist: an error"
# --- a server without syncprov: `follow: auto` polls.
slapd_stop
slapd_init "$W/slapd2" "$SCHEMA" nosync || fail "slapd_init nosync"
slapd_start "$NS" || fail "slapd_start nosync"
S=$W/slapd2
slapd_admin_bootstrap "$W/admin.yaml"
publish "$W/web1.yaml" >/dev/null || fail "publish to the second slapd"
follow_one "$(boot auto h1 "poll_interval: 1")"
grep -q "state=polling$" "$W/follow.out" || fail "auto without syncprov: $(cat "$W/follow.out")"
ok "a server that does not offer RFC 4533: follow auto polls ($(tr '\n' ' ' < "$W/follow.out"))"
echo "directory client: all checks passed"
