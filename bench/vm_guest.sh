#!/bin/bash
# The VM rows of `make bench` (bench/vm.sh boots the VM and runs this inside it): softsad's
# kernel backend (`--dataplane kernel`) against strongSwan's charon with kernel-netlink, both
# on the guest kernel's own ESP, beside the clear veth.  Samples (bench/report.py's format)
# go to stdout, progress to stderr.
#
#   bench/vm_guest.sh BUILD [--quick]
#   SOFTSAD=path  the daemon to measure (default BUILD/src/daemon/softsad)
#
#   three pairs of namespaces, each joined by a veth pair, up side by side:
#      vb3-N-s-a 10.86.0.1 ------- 10.86.0.2 vb3-N-s-b    softsad on both ends
#      vb3-N-c-a 10.87.0.1 ------- 10.87.0.2 vb3-N-c-b    charon on both ends
#      vb3-N-f-a 10.88.0.1 ------- 10.88.0.2 vb3-N-f-b    nothing: the clear veth
#   with 10.8x.1.1-COUNT on each "a" of s and c: bench/ikeload's source addresses.
#
# Per round, both daemons' pairs start fresh; a probe (bench/fallback_probe.py) from a to b
# times the first datagram delivered (it raises the kernel's ACQUIRE; the daemon negotiates
# and installs the SAs): vm.acquire.ms, kept only when a's SAs carried every datagram b got.
# Then iperf3 TCP through the SAs that came up and over the clear pair, one right after the
# other so that the host's drifting load hits all three alike: vm.tcp1, kept only when a's
# outbound SAs counted at least the bytes b received (clear traffic must not pass for ESP).
# Then each "b" alone as the IKE responder of bench/ikeload: vm.child.rate, kept only when
# its kernel holds 2 states per CHILD SA established.  Under emulation only the ratio
# softsad/charon means something.
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
NSS=""
cleanup() {
	local p n
	for p in $PIDS; do stop_pid "$p"; done
	for n in $NSS; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
# A pair X (s, c, f) and its host H (a, b): namespace, address, a command in it.
net() { case $1 in s) echo 86 ;; c) echo 87 ;; f) echo 88 ;; esac; }
ns() { echo "$P-$1-$2"; }
ipof() { if [ "$2" = a ]; then echo "10.$(net "$1").0.1"; else echo "10.$(net "$1").0.2"; fi; }
in_() { local x=$1 h=$2; shift 2; ip netns exec "$P-$x-$h" "$@"; }
pair_of() { if [ "$1" = softsa ]; then echo s; else echo c; fi; }
srcs() { seq -f "10.$(net "$1").1.%g" "$COUNT"; }
jget() { python3 -c 'import json, sys
try: print(eval("json.load(sys.stdin)" + sys.argv[1]))
except Exception: pass' "$1"; }

# pair_up X: two namespaces and their veth; with sources for ikeload on "a" (one per CHILD
# SA: each is its own peer, so that no IKE SA replaces another, through INITIAL_CONTACT or
# as redundant, and the kernel ends with 2 states per SA established); iperf3's server on "b".
pair_up() {
	local x=$1 i a b
	a=$(ns "$x" a) b=$(ns "$x" b)
	ip netns add "$a" && ip netns add "$b" || return 1
	NSS="$NSS $a $b"
	ip link add va netns "$a" type veth peer name vb netns "$b"
	ip -n "$a" addr add "$(ipof "$x" a)/16" dev va
	ip -n "$b" addr add "$(ipof "$x" b)/16" dev vb
	[ "$x" != f ] && srcs "$x" | sed 's|.*|addr add &/16 dev va|' | ip -n "$a" -batch -
	for i in "$a" "$b"; do ip -n "$i" link set lo up; done
	ip -n "$a" link set va up
	ip -n "$b" link set vb up
	ip netns exec "$b" iperf3 -s -p 5201 >/dev/null 2>&1 &
	track $!
	# Ready once it listens: an exec can take a second here.
	for i in $(seq 100); do in_ "$x" b ss -Hltn 'sport = :5201' | grep -q . && break; sleep 0.2; done
	in_ "$x" b ss -Hltn 'sport = :5201' | grep -q . || log "iperf3 server in $b did not listen"
	in_ "$x" a ping -c 1 -W 5 -q "$(ipof "$x" b)" >/dev/null || log "$a cannot ping $b in the clear"
}
for x in s c f; do
	pair_up $x || { for r in $ROWS; do N "$r" softsa "no namespaces in the VM"; done; exit 0; }
done
echo "vm-bench-pre-shared-key-0123456789" >"$W/psk"
chmod 600 "$W/psk"

# iperf X: a -> b, SECS, 1 stream; sets MBPS and GOT (bytes b received), or leaves them empty.
# What b received has crossed a's outbound SA before iperf3 returns; what a sent may still
# sit in its socket buffer.
iperf() {
	local j
	MBPS="" GOT=""
	j=$(in_ "$1" a timeout $((SECS + 20)) iperf3 -c "$(ipof "$1" b)" -p 5201 -t "$SECS" -J 2>/dev/null)
	MBPS=$(echo "$j" | jget '["end"]["sum_received"]["bits_per_second"] / 1e6')
	GOT=$(echo "$j" | jget '["end"]["sum_received"]["bytes"]')
}
# esp_count X bytes|packets: what the kernel's SAs from a to b counted in a
# (ip -s xfrm state: "N(bytes), M(packets)").
esp_count() {
	in_ "$1" a ip -s xfrm state | awk -v s="$(ipof "$1" a)" -v d="$(ipof "$1" b)" -v k="$2" '
		/^src/ { f = ($2 == s && $4 == d) }
		f && /\(bytes\)/ { v = k == "bytes" ? $1 : $2; sub(/\(.*/, "", v); n += v }
		END { print n + 0 }'
}
TCK=$(getconf CLK_TCK)
# cpu PID...: user + system ticks of the processes, summed.
cpu() { local t=0 x; for x in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$x/stat" 2>/dev/null || echo 0))); done; echo $t; }
states() { in_ "$1" "$2" ip xfrm state | grep -c '^src'; }
# flush X: what a killed daemon may have left in the pair's kernels.
flush() { local h; for h in a b; do ip -n "$(ns "$1" $h)" xfrm state flush; ip -n "$(ns "$1" $h)" xfrm policy flush; done; }

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
# sad_start X H: softsad on host H of pair X, on the kernel backend; sets PID_X_H.
sad_start() {
	local x=$1_$2 i pid
	rm -f "$W/$x.ctl"
	# ip netns exec itself, not in_: a function in the background is a subshell, and its PID
	# would be the one stopped.
	ip netns exec "$(ns "$1" "$2")" "$SAD" --control "$W/$x.ctl" -c "$W/responder.yaml" --dataplane kernel \
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
# charon_conf X H ROLE: strongswan.conf + swanctl.conf in $W/ch-X_H.  kernel-netlink (the
# kernel's XFRM and ESP), transport mode, the suites of softsad's policy.  ROLE pair: a
# host-to-host connection with trap policies on both ends (the first packet raises the
# ACQUIRE that starts the negotiation, as softsad's negotiate filter does); load: a
# responder to any PSK initiator (bench/ikeload).
charon_conf() {
	local role=$3 d=$W/ch-$1_$2 l r
	l=$(ipof "$1" "$2")
	if [ "$2" = a ]; then r=$(ipof "$1" b); else r=$(ipof "$1" a); fi
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
# charon_start X H: charon on host H of pair X with a private /run (its pid file is fixed at
# /run/charon.pid), the configuration loaded; sets PID_X_H.
charon_start() {
	local x=$1_$2 d=$W/ch-$1_$2 i pid
	ip netns exec "$(ns "$1" "$2")" sh -c 'mount --bind "$1" /run || exit 1
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
stop_x() { local pid; eval "pid=\${PID_$1_$2:-}"; [ -n "$pid" ] && stop_pid "$pid"; eval "PID_$1_$2="; }
# start SIDE H ROLE: the daemon of SIDE (softsa | anchor) on host H of its pair.
start() {
	local x
	x=$(pair_of "$1")
	if [ "$1" = softsa ]; then sad_start $x "$2"; else charon_conf $x "$2" "$3" && charon_start $x "$2"; fi
}

# ---- the rows -----------------------------------------------------------------------------------
# first_packet SIDE: a probe a -> b in its pair, a datagram every 10 ms for 4 s; the first
# delivered.
first_packet() {
	local side=$1 x i res ms lost got esp
	x=$(pair_of "$side")
	rm -f "$W/recv" "$W/sent" # the last probe's "ready" must not pass for this one's
	in_ $x b python3 "$HERE/fallback_probe.py" recv "$(ipof $x b)" 7100 12 "$W/recv" &
	local rp=$!
	track $rp
	for i in $(seq 100); do grep -q ready "$W/recv" 2>/dev/null && break; sleep 0.1; done
	in_ $x a python3 "$HERE/fallback_probe.py" send "$(ipof $x b)" 7100 400 10 >"$W/sent"
	wait $rp
	res=$(python3 "$HERE/fallback_probe.py" result "$W/sent" "$W/recv" 2>/dev/null)
	ms=$(echo "$res" | jget '["first_ms"]')
	got=$(echo "$res" | jget '["received"]')
	esp=$(esp_count $x packets)
	log "$side first packet: $res; a's SAs to b counted $esp packets"
	# Fresh daemons, no other traffic from a to b yet: every datagram b got crossed an SA,
	# or some went in the clear (a fallback, a bypass) and the row would not be ACQUIRE's.
	if [ -n "$ms" ] && [ "$ms" != None ] && [ "$esp" -lt "${got:-0}" ]; then
		N vm.acquire.ms "$side" "b received $got datagrams, a's SAs counted $esp: not all ESP"
	elif [ -n "$ms" ] && [ "$ms" != None ]; then
		S vm.acquire.ms "$side" "$ms"
		lost=$(echo "$res" | jget '["lost"]')
		eval "LOST_$side=\"\${LOST_$side:+\$LOST_$side, }${lost:-?}\""
	else
		N vm.acquire.ms "$side" "nothing delivered"
	fi
}
# tcp SIDE (softsa | anchor | floor): iperf3 through the SIDE's pair.
tcp() {
	local side=$1 x b0 b1 c0 c1
	case $side in softsa) x=s ;; anchor) x=c ;; floor) x=f ;; esac
	if [ $x = f ]; then
		iperf f
		log "clear tcp1: ${MBPS:-none} Mbit/s"
		[ -n "$MBPS" ] && S vm.tcp1 floor "$MBPS"
		return
	fi
	if [ "$(states $x a)" -lt 2 ]; then
		N vm.tcp1 "$side" "no SAs installed after the first packets"
		log "$side: a's states: $(states $x a), policies: $(in_ $x a ip xfrm policy | grep -c '^src')"
		return
	fi
	[ "${VM_BENCH_LOGS:-}" = 1 ] && in_ $x a ip xfrm policy >&2
	b0=$(esp_count $x bytes)
	eval "c0=\$(cpu \${PID_${x}_a:-} \${PID_${x}_b:-})"
	iperf $x
	eval "c1=\$(cpu \${PID_${x}_a:-} \${PID_${x}_b:-})"
	b1=$(esp_count $x bytes)
	log "$side tcp1: ${MBPS:-none} Mbit/s, b received ${GOT:-?} B, a's SAs to b counted $((b1 - b0)) B;" \
		"both daemons $(((c1 - c0) * 1000 / TCK)) ms CPU meanwhile"
	if [ -z "$MBPS" ]; then
		N vm.tcp1 "$side" "iperf3 failed"
	elif [ $((b1 - b0)) -lt "${GOT:-0}" ]; then
		N vm.tcp1 "$side" "a's SAs counted $((b1 - b0)) B, b received ${GOT}: traffic not all ESP"
	else
		S vm.tcp1 "$side" "$MBPS"
	fi
}
# responder SIDE: b alone answers bench/ikeload from a (COUNT addresses, 8 in flight).
responder() {
	local side=$1 x out est rate n
	x=$(pair_of "$side")
	flush $x
	if ! start "$side" b load; then
		N vm.child.rate "$side" "the responder did not start"
		stop_x $x b
		return
	fi
	sleep 0.5
	# shellcheck disable=SC2046
	out=$(in_ $x a timeout 300 "$BUILD/bench/ikeload" "$(ipof $x b)" "$COUNT" ecp256 8 "$W/psk" transport \
		$(srcs $x) 2>"$W/ikeload.err")
	sleep 1 # the last CHILD SAs reach the kernel
	est=$(echo "$out" | jget '["established"]')
	rate=$(echo "$out" | jget '["rate"]')
	n=$(states $x b)
	log "$side responder: $out; b holds $n states; $(tail -1 "$W/ikeload.err")"
	if [ -z "$est" ] || [ "$est" = 0 ]; then
		N vm.child.rate "$side" "no SA established: $(head -c 120 "$W/ikeload.err" | tr '\n\t' '  ')"
	elif [ "$n" -lt $((2 * est)) ]; then
		N vm.child.rate "$side" "$est CHILD SAs established but only $n XFRM states in the kernel"
	else
		S vm.child.rate "$side" "$rate"
		[ "$est" -lt "$COUNT" ] && N vm.child.rate "$side" "only $est of $COUNT established"
	fi
	stop_x $x b
}

log "kernel $(uname -r), $(nproc) vCPUs, $ROUNDS round(s), iperf3 -t $SECS, $COUNT CHILD SAs"
sides=""
if [ ! -x "$SAD" ]; then
	for r in $ROWS; do N "$r" softsa "no softsad binary ($SAD)"; done
else
	sides="softsa"
fi
if [ ! -x "$CHARON" ]; then
	for r in $ROWS; do N "$r" anchor "strongswan-charon not installed"; done
else
	sides="$sides anchor"
fi
[ -x "$BUILD/bench/ikeload" ] || N vm.child.rate softsa "no $BUILD/bench/ikeload"
for r in $(seq "$ROUNDS"); do
	# Alternate which goes first, so that drift hits them alike.
	order=$sides
	[ $((r % 2)) = 0 ] && order=$(echo "$sides" | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }')
	up=""
	for side in $order; do
		x=$(pair_of $side)
		flush $x
		if start $side b pair && start $side a pair; then
			up="$up $side"
		else
			N vm.tcp1 $side "the daemons did not start"
			N vm.acquire.ms $side "the daemons did not start"
		fi
	done
	sleep 0.5
	for side in $up; do first_packet $side; done
	for side in floor $up; do tcp $side; done
	for side in $order; do stop_x "$(pair_of $side)" a; stop_x "$(pair_of $side)" b; done
	if [ -x "$BUILD/bench/ikeload" ]; then
		for side in $order; do responder $side; done
	fi
done
# One remark per side for the whole run, not one per round.
for side in $sides; do
	eval "l=\${LOST_$side:-}"
	[ -n "$l" ] && N vm.acquire.ms "$side" "datagrams lost of 400, per round: $l"
done
if [ "${VM_BENCH_LOGS:-}" = 1 ]; then
	tail -n 30 "$W"/sad-*.log "$W"/ch-*/charon.log >&2 2>/dev/null
fi
exit 0
