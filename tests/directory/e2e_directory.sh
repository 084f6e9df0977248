#!/bin/bash
# softsad takes its policy from a real slapd (doc/directory.md):
#
#        +------------- bridge br0 (netns sse-dir<PID>-br) -------------+
#        |                                                            |
#   A 10.89.0.1  softsad --directory boot.yaml                 C 10.89.0.3  no IKE
#                slapd on A's 127.0.0.1:3389 (StartTLS, syncprov)
#
# Fetched at start (RFC 4533 follow); a publish is applied (the time it took is printed, not
# asserted) like a reload, the soft association with C kept; an invalid version is refused
# with FILE:LINE:COL in the log and in status, the running one stays; with the directory
# down at boot the cached last good version is in force; a wrong CA with no cache refuses to
# start; the directory back, softsad follows again.
. "$(dirname "$0")/../netns/e2e_lib.sh" "$1"
SOFTSA=$(readlink -f "$2")
SCHEMA=$(readlink -f "$3")
command -v slapd >/dev/null || { echo "SKIP: slapd missing"; exit 77; }
. "$HERE/../directory/slapd_lib.sh"
topo_up sse-dir$$ a c || fail "topology"
NS=$TOPO_PREFIX-a
chmod 600 "$PSK"
slapd_init "$W/slapd" "$SCHEMA" syncprov || fail "slapd_init"
S=$W/slapd
slapd_start "$NS" || fail "slapd_start"
topo_track "$SLAPD_PID"

slapd_admin_bootstrap "$W/admin.yaml"
boot() { # FILE CA CACHE
	cat > "$1" <<EOF
uri: ldap://127.0.0.1:$SLAPD_PORT
base_dn: $SLAPD_BASE
host_dn: cn=h1,ou=servers,ou=hosts,$SLAPD_BASE
ca_file: $2
bind: simple
bind_dn: cn=h1,ou=servers,ou=hosts,$SLAPD_BASE
password_file: $S/h1.pw
retry_interval: 1
timeout: 3
cache_file: $3
EOF
}
boot "$W/boot.yaml" "$S/ca.pem" "$W/cache/policy.yaml"
POLICY_DN="cn=web,ou=policies,$SLAPD_BASE"
write_policy() { # EDITION
	cat > "$W/dirpol.yaml" <<YAML
name: web
description: edition $1
psk_file: psk
filter_lists:
  legacy:
    - { src: me, dst: 10.89.0.3 }
filter_actions:
  to-legacy:
    action: negotiate
    accept_unsecured: true
    fallback_to_clear: true
rules:
  - { name: legacy, filter_list: legacy, filter_action: to-legacy }
YAML
}
publish() { ip netns exec "$NS" "$SOFTSA" publish --directory "$W/admin.yaml" "$W/dirpol.yaml" || fail "publish $1"; }
src() { jget "$(ctl a status)" "r[\"result\"][\"policy_source\"]$1"; }
n_soft() { jget "$(ctl a soft)" 'len(r["result"]["soft"])'; }
ms() { date +%s%3N; }

# --- fetched at start.
write_policy 1
publish 1 >/dev/null
sad_start a --directory "$W/boot.yaml"
[ "$(src '["kind"]')" = directory ] || fail "status: $(ctl a status)"
[ "$(src '["version"]')" = 1 ] && [ "$(src '["policy_dn"]')" = "$POLICY_DN" ] && [ "$(src '["via"]')" = ou ] ||
	fail "not version 1 at start: $(ctl a status)"
[ "$(jget "$(ctl a status)" 'r["result"]["policy"]')" = web ] || fail "policy name: $(ctl a status)"
wait_for 10 'test "$(src "[\"state\"]")" = syncrepl' || fail "not following by syncrepl: $(ctl a status)"
[ -s "$W/cache/policy.yaml" ] && [ "$(stat -c %a "$W/cache/policy.yaml")" = 600 ] || fail "no cache (0600) written"
ok "fetched at start: $POLICY_DN version 1 through ou=servers, following by RFC 4533"

udp_send a c 7000 hello
wait_for 10 'test "$(n_soft)" = 1' || fail "no soft association with C: $(ctl a soft)"

# --- a change: applied like a reload; the soft association stays.
write_policy 2
t0=$(ms)
publish 2 >/dev/null
wait_for 20 'test "$(src "[\"version\"]")" = 2' || fail "version 2 not applied: $(ctl a status)"
t1=$(ms)
[ "$(n_soft)" = 1 ] || fail "the soft association was lost applying version 2: $(ctl a soft)"
[ "$(jget "$(ctl a stats)" 'r["result"]["policy"]["reloads"]')" = 1 ] || fail "reloads: $(ctl a stats)"
grep -q "edition 2" "$W/cache/policy.yaml" || fail "the cache does not hold version 2"
ok "version 2 published -> in force after $((t1 - t0)) ms (measured, not asserted); soft association kept"

# SIGHUP loads the version in force again; the directory is not asked for another.
kill -HUP "$SAD_PID_a"
wait_for 10 'test "$(jget "$(ctl a stats)" "r[\"result\"][\"policy\"][\"reloads\"]")" = 2' || fail "SIGHUP: $(ctl a stats)"
[ "$(src '["version"]')" = 2 ] && [ "$(n_soft)" = 1 ] || fail "after SIGHUP: $(ctl a status) $(ctl a soft)"
ok "SIGHUP: version 2 loaded again, soft association kept"

# --- an invalid version, written past softsa publish: refused, version 2 stays.
sed 's/fallback_to_clear/fallback_to_cler/' "$W/dirpol.yaml" > "$W/bad.yaml"
ldap_admin ldapmodify >/dev/null <<EOF || fail "ldapmodify"
dn: $POLICY_DN
changetype: modify
replace: softsaPolicyDocument
softsaPolicyDocument:< file://$W/bad.yaml
-
replace: softsaPolicyVersion
softsaPolicyVersion: 3
EOF
want="$POLICY_DN (version 3):11:5: "
wait_for 20 'src "[\"last_error\"]" | grep -qF "$want"' || fail "no refusal in status: $(ctl a status)"
grep -F "reload failed" "$W/a.log" | grep -qF "$want" || fail "no FILE:LINE:COL in the log: $(grep 'reload failed' "$W/a.log")"
kill -0 "$SAD_PID_a" || fail "softsad died on an invalid version"
[ "$(src '["version"]')" = 2 ] || fail "version after an invalid one: $(ctl a status)"
[ "$(n_soft)" = 1 ] || fail "soft association lost on an invalid version"
grep -q "edition 2" "$W/cache/policy.yaml" && ! grep -q fallback_to_cler "$W/cache/policy.yaml" ||
	fail "the invalid version reached the cache"
ok "invalid version 3 refused: $(src '["last_error"]' | sed "s#$SLAPD_BASE#...#")"

st=$(ip netns exec "$NS" env SOFTSA_CONTROL="$W/a.ctl" "$SOFTSA" status) || fail "softsa status"
grep -q "^policy source: directory ldap://127.0.0.1:$SLAPD_PORT (syncrepl), host cn=h1,ou=servers" <<<"$st" &&
	grep -q "^  in force: $POLICY_DN (version 2), assigned by ou ou=servers,ou=hosts,$SLAPD_BASE$" <<<"$st" &&
	grep -q "^  last fetched: 20" <<<"$st" && grep -qF "  last error (" <<<"$st" ||
	fail "softsa status: $st"
ok "softsa status shows the source, the version in force, fetch time and last error"

# --- directory down at boot: the cached version; a wrong CA and no cache: no start.
sad_stop a
slapd_stop
boot "$W/wrongca.yaml" "$S/other-ca.pem" "$W/nocache/policy.yaml"
slapd_start "$NS" || fail "slapd restart for the wrong-CA check"
topo_track "$SLAPD_PID"
out=$(ip netns exec "$NS" timeout 20 "$SOFTSAD" --directory "$W/wrongca.yaml" --control "$W/x.ctl" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "^softsad: no policy: .*TLS\|^softsad: no policy: .*certificate" <<<"$out" ||
	fail "wrong CA, no cache: exit $rc: $out"
ok "a directory whose certificate the CA file did not sign, and no cache: softsad does not start"
slapd_stop
sad_start a --directory "$W/boot.yaml"
[ "$(src '["version"]')" = 2 ] && [ "$(src '["from_cache"]')" = True ] || fail "not the cached version 2: $(ctl a status)"
[ "$(jget "$(ctl a status)" 'r["result"]["policy"]')" = web ] || fail "policy from the cache: $(ctl a status)"
grep -q "starting with the last good version" "$W/a.log" || fail "no log line about the cache"
ok "directory down at boot: cached version 2 in force ($(src '["state"]'): $(src '["last_error"]' | head -c 80))"

# --- the directory back: following again (the invalid version 3 refused again, then 4).
slapd_start "$NS" || fail "slapd back"
topo_track "$SLAPD_PID"
wait_for 20 'test "$(src "[\"state\"]")" = syncrepl' || fail "not following again: $(ctl a status)"
wait_for 10 'src "[\"last_error\"]" | grep -qF "(version 3):11:5: "' || fail "version 3 not refused again: $(ctl a status)"
[ "$(src '["version"]')" = 2 ] || fail "version after reconnecting: $(ctl a status)"
write_policy 4
publish 4 >/dev/null
wait_for 20 'test "$(src "[\"version\"]")" = 4' || fail "version 4 not applied: $(ctl a status)"
[ "$(src '["from_cache"]')" = False ] && [ "$(src '["last_error"]')" = None ] || fail "after version 4: $(ctl a status)"
grep -q "edition 4" "$W/cache/policy.yaml" || fail "the cache does not hold version 4"
ok "directory back: following again, version 4 in force"

# --- down at boot again, then back with the same version: it is confirmed, not re-applied.
sad_stop a
slapd_stop
sad_start a --directory "$W/boot.yaml"
[ "$(src '["version"]')" = 4 ] && [ "$(src '["from_cache"]')" = True ] || fail "not the cached version 4: $(ctl a status)"
slapd_start "$NS" || fail "slapd back again"
topo_track "$SLAPD_PID"
wait_for 20 'test "$(src "[\"from_cache\"]")" = False' || fail "version 4 not confirmed: $(ctl a status)"
[ "$(jget "$(ctl a stats)" 'r["result"]["policy"]["reloads"]')" = 0 ] || fail "the same version was applied again: $(ctl a stats)"
ok "the directory back with the cached version: confirmed (from_cache false), not reloaded"
sad_stop a
echo "directory + softsad: all checks passed"
