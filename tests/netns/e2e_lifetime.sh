#!/bin/bash
# ESP lifetimes: a soft limit rekeys the CHILD SA (CREATE_CHILD_SA), a hard limit deletes an
# SA the rekey did not replace in time, and the traffic goes on over new SAs (never in the
# clear).
#
#        +------------- bridge br0 (netns sse-lt<PID>-br) -------------+
#        |                                                        |
#   A 10.89.0.1  softsad -c policy                      B 10.89.0.2  softsad -c policy
#                (ESP with lifetime_bytes: 1M)
#
# A sends 4 MB to B.  Each CHILD SA carries about 1 MB (inner bytes, both ways): at 90% each
# side asks its IKE engine to rekey (both do, so the engines resolve the collision); at 100%
# an SA still in use is deleted.  The data arrives intact, several SAs come and go, and the
# capture shows no clear TCP.
. "$(dirname "$0")/e2e_lib.sh" "$@"
topo_up sse-lt$$ a b || fail "topology"
cat > "$W/policy.yaml" <<YAML
name: short-lived
psk_file: psk
filter_lists:
  peer:
    - { src: me, dst: 10.89.0.0/24 }
filter_actions:
  secure:
    action: negotiate
    methods: [ { esp: aes128gcm16, lifetime_bytes: 1M } ]
rules:
  - { name: peer, filter_list: peer, filter_action: secure }
default_response: true
YAML
sad_start a -c "$W/policy.yaml"
sad_start b -c "$W/policy.yaml"
cap_start "$W/lt.pcap" "ip and host 10.89.0.1 and host 10.89.0.2"
tcp_transfer a b 4000000 5001 30
cap_stop
ok "4 MB A -> B arrived intact across SA lifetimes"
ups=$(grep -c "SA up" "$W/a.log")
downs=$(grep -c "SA down.*hard lifetime" "$W/a.log" "$W/b.log" | awk -F: '{s+=$2} END {print s}')
softs=$(grep -c "soft lifetime (bytes) reached; rekeying" "$W/a.log")
echo "  A: $ups SAs up, $softs rekeys at the soft limit; A and B: $downs hard expiries"
[ "$ups" -ge 3 ] || fail "expected at least 3 SAs over 4 MB with 1 MB lifetimes, saw $ups"
[ "$softs" -ge 2 ] || fail "expected rekeys at the soft limit, saw $softs"
[ "$(pcap_count "$W/lt.pcap" "tcp")" = 0 ] || fail "clear TCP between A and B"
ok "SAs were rekeyed by bytes; no clear TCP on the wire"
echo PASS
