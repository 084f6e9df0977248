#!/bin/bash
# ESP lifetimes: a soft limit asks for a rekey, a hard limit deletes the SA, and the traffic
# goes on over a new one (never in the clear).
#
#        +------------- bridge br0 (netns sse-lt-br) -------------+
#        |                                                        |
#   A 10.89.0.1  softsad -c policy                      B 10.89.0.2  softsad -c policy
#                (ESP with lifetime_bytes: 1M)
#
# A sends 4 MB to B.  Each CHILD SA carries about 1 MB (inner bytes, both ways): at 90% the
# soft limit is logged (the IKE engine cannot rekey yet), at 100% the SA and its IKE SA are
# deleted, and the next packet negotiates a new one.  The data arrives intact, several SAs
# come and go, and the capture shows no clear TCP.
. "$(dirname "$0")/e2e_lib.sh" "$@"
topo_up sse-lt a b || fail "topology"
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
softs=$(grep -c "soft lifetime (bytes) reached" "$W/a.log")
echo "  A: $ups SAs up, $softs soft limits; A and B: $downs hard expiries"
[ "$ups" -ge 3 ] || fail "expected at least 3 SAs over 4 MB with 1 MB lifetimes, saw $ups"
[ "$downs" -ge 2 ] || fail "expected hard expiries, saw $downs"
[ "$softs" -ge 2 ] || fail "expected soft limits logged, saw $softs"
[ "$(pcap_count "$W/lt.pcap" "tcp")" = 0 ] || fail "clear TCP between A and B"
ok "SAs expired by bytes and were renegotiated; no clear TCP on the wire"
echo PASS
