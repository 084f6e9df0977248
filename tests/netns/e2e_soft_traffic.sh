#!/bin/bash
# Soft associations live while traffic flows, either way, without the daemon (issue 11.2).
#
#        +------------- bridge br0 (netns sse-st<PID>-br) -------------+
#        |                                                        |
#   A 10.89.0.1  softsad -c policy                       C 10.89.0.3  no IKE (its kernel
#                (fallback, soft_idle_lifetime: 4s)                   answers port unreachable)
#
# A -> C at 10 pps for 9 s, then C -> A alone at 10 pps for 9 s: more than four idle
# lifetimes, and the soft association must never expire (the datapath refreshes its timeout
# on every packet in both directions; the packets never reach softsad): one negotiation,
# one soft-created, no soft-expired, every datagram delivered.  `softsa soft` shows the
# packets and bytes both ways and a small idle time.  Then idle: it expires about 4 s after
# the last packet.
. "$(dirname "$0")/e2e_lib.sh" "$@"
topo_up sse-st$$ a c || fail "topology"
request_policy "$W/policy.yaml" soft-traffic "soft_idle_lifetime: 4s"
sad_start a -c "$W/policy.yaml"
sad_events a "$W/events"
# listen ON COUNT: a receiver on ON for COUNT datagrams on UDP 6000 (its count in rx-ON).
listen() {
	local on=$1 n=$2 slow=${SOFTSA_E2E_SLOW:-1}
	ip netns exec "$TOPO_PREFIX-$on" timeout $((2 * n / 10 + 8 * slow)) python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], 6000))
print("listening", flush=True)
got = 0
s.settimeout(15 * int(sys.argv[3]))  # the first may come after the other stream (9 s)
try:
    while got < int(sys.argv[2]):
        s.recv(100); got += 1
        s.settimeout(3 * int(sys.argv[3]))
except socket.timeout:
    pass
print("got", got, flush=True)' "$(topo_ip "$on")" "$n" "$slow" > "$W/rx-$on" 2>&1 &
	topo_track $!
	wait_for 5 grep -q listening "$W/rx-$on" || fail "listener on $on"
}
# send FROM TO COUNT [AFTER [THEN]]: COUNT datagrams at 10 pps; the sender starts (python
# already running) once the file AFTER exists, and makes the file THEN after its last one.
# So C's stream follows A's at once: under a loaded emulation, starting python between the
# two took longer than the idle lifetime, and the association rightly expired in the gap.
send() {
	topo_exec "$1" python3 -c '
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while sys.argv[3] and not os.path.exists(sys.argv[3]):
    time.sleep(0.01)
t0 = time.monotonic()
for i in range(int(sys.argv[2])):
    s.sendto(b"%d" % i, (sys.argv[1], 6000))
    time.sleep(max(0, t0 + (i + 1) * 0.1 - time.monotonic()))
if sys.argv[4]:
    open(sys.argv[4], "w").close()' "$(topo_ip "$2")" "$3" "${4:-}" "${5:-}"
}
got() { grep -q "got $3\$" "$W/rx-$2" || fail "$1 -> $2: $(cat "$W/rx-$2") of $3"; }
listen c 90
listen a 90
send c a 90 "$W/a-done" > "$W/tx-c" 2>&1 &
cp=$!
send a c 90 "" "$W/a-done" || fail "sender on a"
wait_for 10 'grep -q "got 90\$" "$W/rx-c"'
got a c 90
ok "A -> C: 90 datagrams in 9 s, all delivered"
wait $cp || fail "sender on c: $(cat "$W/tx-c")"
wait_for 10 'grep -q "got 90\$" "$W/rx-a"'
got c a 90
last=$(date +%s.%N)
ok "C -> A: 90 datagrams in 9 s, all delivered"
count() { grep -c "\"event\":\"$1\"" "$W/events"; }
[ "$(count negotiation-started)" = 1 ] || fail "renegotiated: $(cat "$W/events")"
[ "$(count soft-created)" = 1 ] || fail "soft created more than once: $(cat "$W/events")"
[ "$(count soft-expired)" = 0 ] || fail "expired under traffic: $(cat "$W/events")"
if [ "$E2E_DP" = user ]; then
s=$(ctl a soft)
pk=$(jget "$s" '[x["packets"] for x in r["result"]["soft"] if x["remote"]=="10.89.0.3"][0]')
by=$(jget "$s" '[x["bytes"] for x in r["result"]["soft"] if x["remote"]=="10.89.0.3"][0]')
idle=$(jget "$s" '[x["idle"] for x in r["result"]["soft"] if x["remote"]=="10.89.0.3"][0]')
# 180 datagrams of 29 to 30 bytes (IP), less the first few that went through softsad
# before the soft association existed; never more than were sent.
[ "$pk" -ge 170 ] && [ "$pk" -le 180 ] || fail "soft association counted $pk packets (180 sent): $s"
[ "$by" -ge $((170 * 29)) ] && [ "$by" -le $((180 * 30)) ] || fail "soft association counted $by bytes: $s"
[ "$idle" -le 2 ] || fail "idle $idle s right after traffic: $s"
ok "one negotiation, never expired over 4.5 idle lifetimes; softsa soft: $pk packets, $by bytes, idle ${idle}s"
else
	# The kernel counts no packets on policies: only its use time keeps the bypass alive.
	ok "one negotiation, never expired over 4.5 idle lifetimes (kernel bypass policies)"
fi
wait_for 10 grep -q soft-expired "$W/events" || fail "never expired once idle: $(ctl a soft)"
dt=$(python3 -c "import time; print('%.1f' % (time.time() - $last))")
python3 -c "import sys; sys.exit(0 if 3.0 <= $dt <= 7.5 else 1)" || fail "expired ${dt}s after the last packet (lifetime 4 s)"
ok "idle: expired ${dt}s after the last packet (idle lifetime 4 s)"
echo PASS
