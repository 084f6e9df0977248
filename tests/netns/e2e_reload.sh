#!/bin/bash
# SIGHUP reloads the policy; an invalid file keeps the running one.
#
#        +------------- bridge br0 (netns sse-rl-br) -------------+
#        |                                                        |
#   A 10.89.0.1  softsad -c policy.yaml                 C 10.89.0.3  no IKE
#
# v1 lets A fall back to clear with C: a soft association forms.  An invalid file on SIGHUP
# (and on the control command `reload`) is refused with FILE:LINE:COL, and v1 stays in force
# (same rules, soft association kept).  A valid v2 without fallback then replaces it, and the
# soft association does not survive into a state v2 forbids.
. "$(dirname "$0")/e2e_lib.sh" "$@"
topo_up sse-rl a c || fail "topology"
write_policy() { # NAME FALLBACK
	cat > "$W/policy.yaml" <<YAML
name: $1
psk_file: psk
filter_lists:
  legacy:
    - { src: me, dst: 10.89.0.3 }
filter_actions:
  to-legacy:
    action: negotiate
    accept_unsecured: true
    fallback_to_clear: $2
rules:
  - { name: legacy-$1, filter_list: legacy, filter_action: to-legacy }
YAML
}
n_soft() { jget "$(ctl a soft)" 'len(r["result"]["soft"])'; }
policy_name() { jget "$(ctl a status)" 'r["result"]["policy"]'; }
write_policy v1 true
sad_start a -c "$W/policy.yaml"
sad_events a "$W/events"
[ "$(jget "$(ctl a status)" 'r["result"]["policy"]')" = v1 ] || fail "status: $(ctl a status)"
udp_send a c 7000 hello
wait_for 5 'test "$(n_soft)" = 1' || fail "no soft association with C: $(ctl a soft)"
ok "v1 in force, soft association with C"

# An invalid file: a misspelt key, at line 10 column 5.
sed -i 's/fallback_to_clear/fallback_to_cler/' "$W/policy.yaml"
kill -HUP "$SAD_PID_a"
wait_for 5 grep -q "reload failed" "$W/a.log" || fail "no reload failure logged"
grep "reload failed" "$W/a.log" | grep -q "$W/policy.yaml:10:5: " || fail "no FILE:LINE:COL in: $(grep 'reload failed' "$W/a.log")"
kill -0 "$SAD_PID_a" || fail "softsad died on an invalid file"
[ "$(jget "$(ctl a status)" 'r["result"]["policy"]')" = v1 ] || fail "policy after a bad reload: $(ctl a status)"
e=$(ctl a explain src=10.89.0.1 dst=10.89.0.3 proto=udp)
[ "$(jget "$e" 'r["result"]["rule"]')" = legacy-v1 ] || fail "explain after a bad reload: $e"
[ "$(jget "$(ctl a soft)" 'len(r["result"]["soft"])')" = 1 ] || fail "soft association lost on a bad reload"
ok "SIGHUP with an invalid file: $(grep -o "$W/policy.yaml:10:5: .*" "$W/a.log" | head -1 | sed "s#$W/##")"
r=$(ctl a reload)
[ "$(jget "$r" 'r["error"]["code"]')" = policy-invalid ] || fail "control reload of a bad file: $r"
jget "$r" 'r["error"]["message"]' | grep -q "policy.yaml:10:5: " || fail "control reload message: $r"
ok "control reload with an invalid file: policy-invalid, old policy kept"

write_policy v2 false
kill -HUP "$SAD_PID_a"
wait_for 5 'test "$(policy_name)" = v2' || fail "v2 not in force: $(ctl a status)"
wait_for 5 grep -q policy-reloaded "$W/events" || fail "no policy-reloaded event"
[ "$(jget "$(ctl a soft)" 'len(r["result"]["soft"])')" = 0 ] || fail "the soft association survived v2: $(ctl a soft)"
e=$(ctl a explain src=10.89.0.1 dst=10.89.0.3 proto=udp)
[ "$(jget "$e" 'r["result"]["rule"] + " " + str(r["result"]["action"]["fallback_to_clear"])')" = "legacy-v2 False" ] || fail "explain: $e"
ok "SIGHUP with a valid v2: in force, soft association with C ended"
sad_stop a
echo PASS
