#!/bin/bash
# Peers that restart or vanish, with real softsads (issue 18, failure detection).
#
#        +------------- bridge br0 (netns sse-rs<PID>-br) -------------+
#        |                                                        |
#   A 10.89.0.1  softsad                                B 10.89.0.2  softsad
#
# Both run the built-in server policy ("request security", clear allowed for peers that never
# answer IKE) as a file, with dpd_delay 5 s.
#  1. B's softsad is killed and started again (same key, same policy): A still holds the old
#     SAs.  A's next TCP connection to B goes through at once: B sees ESP with an SPI it does
#     not know, negotiates toward A and sends A an INVALID_SPI hint (A starts a check of its
#     old SA); B's new IKE SA carries INITIAL_CONTACT, so A deletes the old one at once (not
#     reported as a dead peer).
#  1b. B's host "reboots": its softsad killed, its namespace deleted and made again (new veth
#     with the old MAC, as a rebooted machine keeps its NIC's; fresh kernel state), a new
#     softsad: the same recovery.
#  2. A's softsad is killed and started again: A negotiates with its first packet, B replaces
#     the old SA A had started.
#  3. Both restarted at once: the first packet negotiates.
#  4. B's softsad is killed for good: A's traffic to B goes unanswered, A checks after 5 s,
#     deletes the SAs when the check is not answered (peer-dead event), negotiates again, and
#     since B completed IKE before it blocks B instead of falling back to clear: not one clear
#     packet from A to B.
. "$(dirname "$0")/e2e_lib.sh" "$@"
topo_up "$NSP-rs$$" a b || fail "topology"
cat > "$W/policy.yaml" <<YAML
name: server-dpd5
psk_file: $PSK
filter_lists:
  all-icmp:
    - { src: me, dst: any, proto: icmp }
    - { src: me, dst: any, proto: icmpv6 }
  all-ip:
    - { src: me, dst: any }
filter_actions:
  permit: { action: permit }
  request-security:
    action: negotiate
    accept_unsecured: true
    fallback_to_clear: true
rules:
  - { name: all-icmp, filter_list: all-icmp, filter_action: permit }
  - { name: all-ip, filter_list: all-ip, filter_action: request-security, dpd_delay: 5s }
default_response: true
YAML
start() { sad_start "$1" -c "$W/policy.yaml" --state-dir "$W/state-$1"; }
mkdir -p "$W/state-a" "$W/state-b"
crash() {
	local pid
	eval "pid=\$SAD_PID_$1"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
}
est() { jget "$(ctl "$1" sas)" 'sum(1 for s in r["result"]["ike_sas"] if s["state"] == "established")'; }
live() { jget "$(ctl "$1" stats)" "r['result']['ike']['liveness']['$2']"; }
state() { jget "$(ctl "$1" peers)" "[x['state'] for x in r['result']['peers'] if x['remote'] == '$2'] or ['none']"; }

start a
start b
tcp_transfer a b 50000
ok "A -> B secured"

# 1. B restarted.
crash b
start b
sad_events a "$W/a.events"
tcp_transfer a b 50000 5001 10
ok "B restarted: A -> B works again at once"
wait_for 5 grep -q "ESP from 10.89.0.1 with unknown SPI" "$W/b.log" || fail "B did not log the unknown SPI"
wait_for 5 'test "$(live a invalid_spi_received)" -ge 1' || fail "A got no INVALID_SPI: $(ctl a stats)"
# B's new SA carries INITIAL_CONTACT: A ends the old one when it is up.
wait_for 10 'test "$(est a)" = 1' || fail "A kept the old SA: $(ctl a sas)"
grep -q "INITIAL_CONTACT from 10.89.0.2: deleting SA 1" "$W/a.log" || fail "A did not log why the old SA went"
grep -q '"peer-dead"' "$W/a.events" && fail "A reported B dead though it came back"
tcp_transfer a b 50000
ok "A dropped its old SA with B (not reported as a dead peer)"

# 1b. B's host rebooted.
mac=$(topo_exec b cat /sys/class/net/eth0/address)
crash b
ip netns del "$TOPO_PREFIX-b"
wait_for 5 "! ip -n $TOPO_PREFIX-br link show v-b >/dev/null 2>&1" || fail "B's veth outlived its namespace"
topo_host_add b || fail "B's namespace again"
topo_exec b ip link set eth0 address "$mac"
start b
tcp_transfer a b 50000 5001 10
ok "B's host rebooted (namespace made again): A -> B works again at once"
wait_for 10 'test "$(est a)" = 1' || fail "A kept the old SA after B's reboot: $(ctl a sas)"
grep -q '"peer-dead"' "$W/a.events" && fail "A reported B dead though it came back"

# 2. A restarted.
crash a
start a
tcp_transfer a b 50000
tcp_transfer b a 50000
ok "A restarted: both directions work"

# 3. Both restarted.
crash a
crash b
start a
start b
tcp_transfer a b 50000
ok "both restarted: A -> B works"

# 4. B gone for good.
sad_events a "$W/a2.events"
crash b
cap_start "$W/gone.pcap" "ip and src host 10.89.0.1 and dst host 10.89.0.2"
# A keeps sending (UDP, one datagram every 0.5 s): unanswered.
ip netns exec "$TOPO_PREFIX-a" timeout 60 python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(110):
    try:
        s.sendto(b"x", ("10.89.0.2", 7000))
    except OSError:
        pass  # EPERM once A blocks B
    time.sleep(0.5)' &
topo_track $!
wait_for 50 grep -q '"peer-dead"' "$W/a2.events" || fail "no peer-dead event: $(cat "$W/a2.events")"
grep -q '"reason": *"peer dead: liveness check unanswered"' "$W/a2.events" || fail "peer-dead without its reason"
wait_for 15 'test "$(state a 10.89.0.2)" = "[\"blocked\"]"' || fail "A did not block B: $(ctl a peers)"
cap_stop
n=$(pcap_count "$W/gone.pcap" "not (udp port 500 or udp port 4500 or ip proto 50)")
[ "$n" = 0 ] || { tcpdump -nr "$W/gone.pcap" 2>/dev/null | head; fail "$n clear packets from A to B"; }
[ "$(live a peers_dead)" = 1 ] || fail "peers_dead: $(ctl a stats)"
ok "B gone: A found it dead, negotiated again and blocked it (downgrade protection), nothing in the clear"
echo PASS
