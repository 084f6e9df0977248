#!/bin/bash
# The VM rows of `make bench` (bench/vm.sh boots the VM and runs this inside it): softsad's
# kernel backend (`--dataplane kernel`) against strongSwan's charon with kernel-netlink, both
# on the guest kernel's own ESP, beside the clear veth.  Samples (bench/report.py's format)
# go to stdout, progress to stderr.
#
#   bench/vm_guest.sh BUILD [--quick]
#   SOFTSAD=path  the daemon to measure (default BUILD/src/daemon/softsad)
#
#      vb3-a-N (va) ------------------------------ (vb) vb3-b-N
#      10.86.0.1, 10.86.1.1-COUNT (ikeload's)           10.86.0.2
#
# Per round and daemon: both ends start fresh; a probe (bench/fallback_probe.py) from A to
# B times the first datagram delivered (the first packet raises the kernel's ACQUIRE; the
# daemon negotiates and installs the SAs): vm.acquire.ms; then iperf3 TCP through the SAs
# that came up: vm.tcp1, kept only when A's outbound SAs counted at least the bytes B
# received (a row must not report clear traffic as ESP).  Then B alone as the IKE
# responder of bench/ikeload: vm.child.rate, kept only when B's kernel holds 2 states per
# CHILD SA established.  Under emulation only the ratio softsad/charon means something.
set -u
BUILD=${1:?usage: vm_guest.sh BUILD [--quick]}
QUICK=""
[ "${2:-}" = --quick ] && QUICK=1
HERE=$(cd "$(dirname "$0")" && pwd)
SAD=${SOFTSAD:-$BUILD/src/daemon/softsad}
CHARON=/usr/lib/ipsec/charon
ROUNDS=3 SECS=5 COUNT=200
[ -n "$QUICK" ] && ROUNDS=1 SECS=3 COUNT=50
S() { printf 'S\t%s\t%s\t%s\n' "$1" "$2" "$3"; }
N() { printf 'N\t%s\t%s\t%s\n' "$1" "$2" "$3"; }
log() { echo "vm: $*" >&2; }
ROWS="vm.tcp1 vm.acquire.ms vm.child.rate"
if [ "${SOFTSA_VM_GUEST:-}" != 1 ]; then
	for r in $ROWS; do N "$r" softsa "run inside the VM (bench/vm.sh)"; done
	exit 0
fi

P=vb3-$$
A=$P-a B=$P-b
A4=10.86.0.1 B4=10.86.0.2
W=$(mktemp -d /tmp/vb3.XXXXXX)
PIDS=""
track() { PIDS="$PIDS $1"; }
# Stops one of our processes: TERM, then KILL after 5 s (emulation is slow to exit too).
stop_pid() {
	local p=$1 i
	kill -TERM "$p" 2>/dev/null || return 0
	for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}
cleanup() {
	local p
	for p in $PIDS; do stop_pid "$p"; done
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
ina() { ip netns exec "$A" "$@"; }
inb() { ip netns exec "$B" "$@"; }
jget() { python3 -c 'import json, sys
try: print(eval("json.load(sys.stdin)" + sys.argv[1]))
except Exception: pass' "$1"; }

ip netns add "$A" && ip netns add "$B" || { for r in $ROWS; do N "$r" softsa "no namespaces in the VM"; done; exit 0; }
ip link add va netns "$A" type veth peer name vb netns "$B"
ina ip addr add $A4/16 dev va
# One source address per CHILD SA: each is its own peer, so that no IKE SA replaces another
# (INITIAL_CONTACT, redundant SAs) and the kernel ends with 2 states per SA established.
SRCS=$(seq -f '10.86.1.%g' "$COUNT")
for s in $SRCS; do echo "addr add $s/16 dev va"; done | ina ip -batch -
inb ip addr add $B4/16 dev vb
for n in "$A" "$B"; do ip -n "$n" link set lo up; done
ina ip link set va up
inb ip link set vb up
ina ping -c 1 -W 5 -q $B4 >/dev/null || log "A cannot ping B in the clear"
echo "vm-bench-pre-shared-key-0123456789" >"$W/psk"
chmod 600 "$W/psk"

# ---- iperf3 ---------------------------------------------------------------------------
# One server in B for the whole run; ready once it listens (an exec can take a second here).
inb iperf3 -s -p 5201 >/dev/null 2>&1 &
track $!
for i in $(seq 100); do inb ss -Hltn 'sport = :5201' | grep -q . && break; sleep 0.2; done
inb ss -Hltn 'sport = :5201' | grep -q . || log "iperf3 server did not listen"
# iperf: A -> B, SECS, 1 stream; sets MBPS and GOT (bytes B received), or leaves them empty.
# What B received has crossed A's outbound SA before iperf3 returns; what A sent may
# still sit in its socket buffer.
iperf() {
	local j
	MBPS="" GOT=""
	j=$(ina timeout $((SECS + 20)) iperf3 -c $B4 -p 5201 -t "$SECS" -J 2>/dev/null)
	MBPS=$(echo "$j" | jget '["end"]["sum_received"]["bits_per_second"] / 1e6')
	GOT=$(echo "$j" | jget '["end"]["sum_received"]["bytes"]')
}
# esp_count NS SRC DST bytes|packets: what the kernel's SAs from SRC to DST counted
# (ip -s xfrm state: "N(bytes), M(packets)").
esp_count() {
	ip netns exec "$1" ip -s xfrm state | awk -v s="$2" -v d="$3" -v k="$4" '
		/^src/ { f = ($2 == s && $4 == d) }
		f && /\(bytes\)/ { v = k == "bytes" ? $1 : $2; sub(/\(.*/, "", v); n += v }
		END { print n + 0 }'
}
TCK=$(getconf CLK_TCK)
# cpu PID...: user + system ticks of the processes, summed.
cpu() { local t=0 x; for x in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$x/stat" 2>/dev/null || echo 0))); done; echo $t; }
states() { ip netns exec "$1" ip xfrm state | grep -c '^src'; }
flush() { local n; for n in "$A" "$B"; do ip -n "$n" xfrm state flush; ip -n "$n" xfrm policy flush; done; }

# ---- softsad ------------------------------------------------------------------------------
# The policy of bench/netns.sh's pair and responder: Request Security, ESP AES-128-GCM.
cat >"$W/responder.yaml" <<EOF
name: bench-vm
psk_file: $W/psk
ike:
  proposals:
    - aes128gcm16-prfsha256-ecp256
filter_lists:
  all-icmp:
    - { src: me, dst: any, proto: icmp }
  all-ip:
    - { src: me, dst: any }
filter_actions:
  permit:
    action: permit
  request:
    action: negotiate
    methods: [aes128gcm16]
    accept_unsecured: true
    fallback_to_clear: true
rules:
  - { name: all-icmp, filter_list: all-icmp, filter_action: permit }
  - { name: all-ip, filter_list: all-ip, filter_action: request }
default_response: true
EOF
# sad_start X (a|b): softsad in X's namespace on the kernel backend; sets PID_X.
sad_start() {
	local x=$1 ns=$P-$1 i pid
	rm -f "$W/$x.ctl"
	ip netns exec "$ns" "$SAD" --control "$W/$x.ctl" -c "$W/responder.yaml" --dataplane kernel \
		--state-dir "$W/state-$x" >>"$W/sad-$x.log" 2>&1 &
	pid=$!
	track $pid
	eval "PID_$x=$pid"
	for i in $(seq 150); do
		[ -S "$W/$x.ctl" ] && return 0
		kill -0 $pid 2>/dev/null || { log "softsad $x exited: $(tail -2 "$W/sad-$x.log" | tr '\n' ' ')"; return 1; }
		sleep 0.1
	done
	log "softsad $x did not open its control socket"
	return 1
}

# ---- charon ---------------------------------------------------------------------------------
# charon_conf X ROLE: strongswan.conf + swanctl.conf in $W/ch-X.  kernel-netlink (the
# kernel's XFRM and ESP), transport mode, the suites of softsad's policy.  ROLE pair: a
# host-to-host connection with trap policies on both ends (the first packet raises the
# ACQUIRE that starts the negotiation, as softsad's negotiate filter does); load: a
# responder to any PSK initiator (bench/ikeload).
charon_conf() {
	local x=$1 role=$2 d=$W/ch-$1 l r
	if [ "$x" = a ]; then l=$A4 r=$B4; else l=$B4 r=$A4; fi
	rm -rf "$d"
	mkdir -p "$d/run"
	cat >"$d/strongswan.conf" <<-EOF
	charon {
	    load = random nonce openssl pem pkcs1 x509 pubkey constraints curve25519 kdf hmac gcm aes sha2 kernel-netlink socket-default vici
	    install_routes = no
	    retransmit_tries = 3
	    dos_protection = no
	    init_limit_half_open = 0
	    ikesa_table_size = 4096
	    ikesa_table_segments = 16
	    plugins { vici { socket = unix://$d/run/charon.vici } }
	    filelog { main { path = $d/charon.log
	                     default = 0
	                     ike = 1
	                     cfg = ${VM_CHARON_CFG:-0} } }
	    syslog { }
	}
	EOF
	if [ "$role" = pair ]; then
		cat >"$d/swanctl.conf" <<-EOF
		connections { h2h { version = 2
		    local_addrs = $l
		    remote_addrs = $r
		    proposals = aes128gcm16-prfsha256-ecp256
		    local { auth = psk
		            id = $l }
		    remote { auth = psk
		             id = $r }
		    children { h2h { mode = transport
		                     esp_proposals = aes128gcm16
		                     start_action = trap } } } }
		secrets { ike-h2h { id-a = $l
		                    id-b = $r
		                    secret = "$(cat "$W/psk")" } }
		EOF
	else
		cat >"$d/swanctl.conf" <<-EOF
		connections { load { version = 2
		    local_addrs = $l
		    proposals = aes128gcm16-prfsha256-ecp256
		    local { auth = psk
		            id = load.resp }
		    remote { auth = psk }
		    children { load { mode = transport
		                      esp_proposals = aes128gcm16 } } } }
		secrets { ike-load { secret = "$(cat "$W/psk")" } }
		EOF
	fi
}
# charon_start X: charon in X's namespace with a private /run (its pid file is fixed at
# /run/charon.pid), the configuration loaded; sets PID_X.
charon_start() {
	local x=$1 d=$W/ch-$1 i pid
	ip netns exec "$P-$x" sh -c 'mount --bind "$1" /run || exit 1
		exec env STRONGSWAN_CONF="$2" "$3"' sh "$d/run" "$d/strongswan.conf" "$CHARON" \
		>"$d/charon.out" 2>&1 &
	pid=$!
	track $pid
	eval "PID_$x=$pid"
	for i in $(seq 150); do [ -S "$d/run/charon.vici" ] && break; sleep 0.1; done
	[ -S "$d/run/charon.vici" ] || { log "charon $x did not start: $(tail -2 "$d/charon.out" | tr '\n' ' ')"; return 1; }
	SWANCTL_DIR=$d swanctl --load-all --noprompt --file "$d/swanctl.conf" --uri "unix://$d/run/charon.vici" \
		>"$d/load.out" 2>&1 || { log "swanctl --load-all on $x: $(tail -2 "$d/load.out" | tr '\n' ' ')"; return 1; }
}
stop_x() { local pid; eval "pid=\${PID_$1:-}"; [ -n "$pid" ] && stop_pid "$pid"; eval "PID_$1="; }
# start SIDE X ROLE: the daemon of SIDE (softsa | anchor) in X.
start() {
	if [ "$1" = softsa ]; then sad_start "$2"; else charon_conf "$2" "$3" && charon_start "$2"; fi
}

# ---- the rows -----------------------------------------------------------------------------------
# first_packet SIDE: a probe A -> B, a datagram every 10 ms for 4 s; the first delivered.
first_packet() {
	local side=$1 i res ms lost got esp
	rm -f "$W/recv" "$W/sent" # the last round's "ready" must not pass for this one's
	inb python3 "$HERE/fallback_probe.py" recv $B4 7100 12 "$W/recv" &
	local rp=$!
	track $rp
	for i in $(seq 100); do grep -q ready "$W/recv" 2>/dev/null && break; sleep 0.1; done
	ina python3 "$HERE/fallback_probe.py" send $B4 7100 400 10 >"$W/sent"
	wait $rp
	res=$(python3 "$HERE/fallback_probe.py" result "$W/sent" "$W/recv" 2>/dev/null)
	ms=$(echo "$res" | jget '["first_ms"]')
	got=$(echo "$res" | jget '["received"]')
	esp=$(esp_count "$A" $A4 $B4 packets)
	log "$side first packet: $res; A's SAs to B counted $esp packets"
	# Fresh daemons, no other traffic from A to B yet: every datagram B got crossed an SA,
	# or some went in the clear (a fallback, a bypass) and the row would not be ACQUIRE's.
	if [ -n "$ms" ] && [ "$ms" != None ] && [ "$esp" -lt "${got:-0}" ]; then
		N vm.acquire.ms "$side" "B received $got datagrams, A's SAs counted $esp: not all ESP"
	elif [ -n "$ms" ] && [ "$ms" != None ]; then
		S vm.acquire.ms "$side" "$ms"
		lost=$(echo "$res" | jget '["lost"]')
		[ "${lost:-0}" != 0 ] && N vm.acquire.ms "$side" "$lost of 400 datagrams lost"
	else
		N vm.acquire.ms "$side" "nothing delivered"
	fi
}
# pair SIDE: both ends fresh; vm.acquire.ms, then vm.tcp1 through the SAs it brought up.
pair() {
	local side=$1 b0 b1 c0 c1
	flush
	if ! start "$side" b pair || ! start "$side" a pair; then
		N vm.tcp1 "$side" "the daemons did not start"
		stop_x a; stop_x b
		return
	fi
	sleep 0.5
	first_packet "$side"
	if [ "$(states "$A")" -lt 2 ]; then
		N vm.tcp1 "$side" "no SAs installed after the first packets"
		log "$side: A's states: $(ip -n "$A" xfrm state | grep -c '^src'), policies: $(ip -n "$A" xfrm policy | grep -c '^src')"
	else
		[ "${VM_BENCH_LOGS:-}" = 1 ] && { ina nft list ruleset; ina ip xfrm policy; } >&2 2>/dev/null
		b0=$(esp_count "$A" $A4 $B4 bytes)
		c0=$(cpu $PID_a $PID_b)
		iperf
		c1=$(cpu $PID_a $PID_b)
		b1=$(esp_count "$A" $A4 $B4 bytes)
		log "$side tcp1: ${MBPS:-none} Mbit/s, B received ${GOT:-?} B, A's SAs to B counted $((b1 - b0)) B;" \
			"both daemons $(((c1 - c0) * 1000 / TCK)) ms CPU meanwhile"
		if [ -z "$MBPS" ]; then
			N vm.tcp1 "$side" "iperf3 failed"
		elif [ $((b1 - b0)) -lt "${GOT:-0}" ]; then
			N vm.tcp1 "$side" "A's SAs counted $((b1 - b0)) B, B received ${GOT}: traffic not all ESP"
		else
			S vm.tcp1 "$side" "$MBPS"
		fi
	fi
	stop_x a
	stop_x b
}
# responder SIDE: B alone answers bench/ikeload from A (COUNT addresses, 8 in flight).
responder() {
	local side=$1 out est rate n
	flush
	if ! start "$side" b load; then
		N vm.child.rate "$side" "the responder did not start"
		stop_x b
		return
	fi
	sleep 0.5
	out=$(ina timeout 300 "$BUILD/bench/ikeload" $B4 "$COUNT" ecp256 8 "$W/psk" transport $SRCS 2>"$W/ikeload.err")
	sleep 1 # the last CHILD SAs reach the kernel
	est=$(echo "$out" | jget '["established"]')
	rate=$(echo "$out" | jget '["rate"]')
	n=$(states "$B")
	log "$side responder: $out; B holds $n states; $(tail -1 "$W/ikeload.err")"
	if [ -z "$est" ] || [ "$est" = 0 ]; then
		N vm.child.rate "$side" "no SA established: $(head -c 120 "$W/ikeload.err" | tr '\n\t' '  ')"
	elif [ "$n" -lt $((2 * est)) ]; then
		N vm.child.rate "$side" "$est CHILD SAs established but only $n XFRM states in the kernel"
	else
		S vm.child.rate "$side" "$rate"
		[ "$est" -lt "$COUNT" ] && N vm.child.rate "$side" "only $est of $COUNT established"
	fi
	stop_x b
}

log "kernel $(uname -r), $(nproc) vCPUs, $ROUNDS round(s), iperf3 -t $SECS, $COUNT CHILD SAs"
have_sad=1 have_ch=1
[ -x "$SAD" ] || { have_sad=0; for r in $ROWS; do N "$r" softsa "no softsad binary ($SAD)"; done; }
[ -x "$CHARON" ] || { have_ch=0; for r in $ROWS; do N "$r" anchor "strongswan-charon not installed"; done; }
[ -x "$BUILD/bench/ikeload" ] || { have_sad=0 have_ch=0; }
for r in $(seq "$ROUNDS"); do
	flush
	iperf
	log "clear tcp1: ${MBPS:-none} Mbit/s"
	[ -n "$MBPS" ] && S vm.tcp1 floor "$MBPS"
	# Alternate which daemon goes first, so that drift hits both alike.
	order="softsa anchor"
	[ $((r % 2)) = 0 ] && order="anchor softsa"
	for side in $order; do
		[ $side = softsa ] && [ $have_sad = 0 ] && continue
		[ $side = anchor ] && [ $have_ch = 0 ] && continue
		pair $side
		responder $side
	done
done
if [ "${VM_BENCH_LOGS:-}" = 1 ]; then
	tail -n 30 "$W"/sad-*.log "$W"/ch-*/charon.log >&2 2>/dev/null
fi
exit 0
