#!/bin/bash
# Discovery mode (row 10): clear traffic flows while IKE runs, and each flow moves to ESP once
# the SA is up, never back to clear.
#
#        +------------- bridge br0 (netns sse-dc-br) -------------+
#        |                                                        |
#   A 10.89.0.1  softsad -c discovery policy            B 10.89.0.2  softsad --builtin server
#
# A's first packets to B leave in the clear (nothing is held); once the SA is up, the same
# TCP connection continues in ESP.  In the bridge capture, no clear TCP packet from A follows
# the first ESP packet from A.
. "$(dirname "$0")/e2e_lib.sh" "$@"
topo_up sse-dc a b || fail "topology"
cat > "$W/policy.yaml" <<YAML
name: discover
psk_file: psk
filter_lists:
  lan:
    - { src: me, dst: 10.89.0.0/24 }
filter_actions:
  discover:
    action: negotiate
    accept_unsecured: true
    fallback_to_clear: true
    discovery: true
rules:
  - { name: lan, filter_list: lan, filter_action: discover }
default_response: true
YAML
sad_start a -c "$W/policy.yaml"
sad_start b --builtin server --psk-file "$PSK"
cap_start "$W/dc.pcap" "ip and src host 10.89.0.1 and dst host 10.89.0.2"
tcp_transfer a b 3000000
cap_stop
ok "3 MB A -> B arrived intact"
tcpdump -tt -nr "$W/dc.pcap" 2>/dev/null | awk '
	/ESP/ { if (!esp) esp = NR; next }
	/Flags/ { clear++; if (esp) late++ }
	END { printf "%d %d %d\n", clear, esp ? 1 : 0, late }' > "$W/order"
read -r clear esp late < "$W/order"
echo "  capture from A: $clear clear TCP packets, then ESP; $late clear TCP after the first ESP"
[ "$clear" -ge 1 ] || fail "nothing went in the clear while negotiating (discovery not in effect?)"
[ "$esp" = 1 ] || fail "the flow never moved to ESP"
[ "$late" = 0 ] || fail "$late clear TCP packets after the flow moved to ESP"
[ "$(jget "$(ctl a stats)" 'r["result"]["packets"]["held"]')" = 0 ] || fail "discovery held packets: $(ctl a stats)"
ok "clear while negotiating, ESP after, never back"
echo PASS
