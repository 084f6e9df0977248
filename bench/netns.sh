#!/bin/bash
# The rows that need root, network namespaces and real daemons: fallback latency (softsad),
# IKE responder rate (softsad vs strongSwan's charon, same load generator), ESP throughput
# (softsad vs two charons with kernel-libipsec vs the clear veth).  Appends samples to
# SAMPLES (format: bench/report.py).
#
#   bench/netns.sh BUILD SAMPLES [--quick] [SECTION...]     SECTION: esp ike fallback (default all); gw: the gateway row alone (esp has it)
#   SOFTSAD=/path/to/softsad  overrides BUILD/src/daemon/softsad
#
# Everything lives on one bridge in namespaces named ssb-<pid>-<host> ($BENCH_NS_PREFIX-<host>); every process is
# started here and stopped by PID, and the namespaces (with whatever nftables tables the
# daemons put in them) are deleted on exit.  The root namespace is not touched.
#
#   bridge ssb-<pid>-br, 10.79.0.0/16
#   a .1  softsad (ESP pair with b; fallback source)     b .2  softsad
#   c .3  no IKE, kernel answers ICMP port unreachable   d .4  no IKE, drops UDP 500/4500
#   e .5  charon (kernel-libipsec, initiator)            f .6  charon (responder)
#   g .7  clear sender                                   h .8  clear receiver
#   l .9  + 10.79.1.1-32: IKE load generator (bench/ikeload)
#   r .10 softsad, IKE responder                         s .11 charon, IKE responder
set -u
BUILD=${1:?usage: netns.sh BUILD SAMPLES [--quick] [SECTION...]}
OUT=$(readlink -f "${2:?}")
shift 2
QUICK=""
if [ "${1:-}" = --quick ]; then QUICK=1; shift; fi
SECTIONS=${*:-esp ike fallback}
HERE=$(cd "$(dirname "$0")" && pwd)
S() { printf 'S\t%s\t%s\t%s\n' "$1" "$2" "$3" >>"$OUT"; }
N() { printf 'N\t%s\t%s\t%s\n' "$1" "$2" "$3" >>"$OUT"; }
log() { echo "netns: $*" >&2; }

# Every row of a section says why it was not measured, when it cannot be.
ROW_IDS="fb.hold.icmp.ms fb.hold.icmp.lost fb.hold.silent.ms fb.hold.silent.lost
	fb.disc.icmp.ms fb.disc.icmp.lost fb.disc.silent.ms fb.disc.silent.lost
	ike.ecp256.rate ike.modp2048.rate ike.ecp256.cpu ike.modp2048.cpu ike.ecp256.mem
	ike.modp2048.mem ike.cert.rate ike.cert.cpu ike.flood.ms esp.tcp1 esp.tcp4 esp.cpu1 esp.cpu4 esp.gw1"
row_section() { case $1 in fb.*) echo fallback ;; ike.*) echo ike ;; esp.*) echo esp ;; esac; }
skip_all() { # reason
	local id
	for id in $ROW_IDS; do
		N "$id" softsa "$1"
	done
}
if [ "$(id -u)" != 0 ]; then
	skip_all "needs root (network namespaces)"
	exit 0
fi
for t in ip nft python3 iperf3; do
	command -v $t >/dev/null || { skip_all "$t missing"; exit 0; }
done

SOFTSAD=${SOFTSAD:-$BUILD/src/daemon/softsad}
P=${BENCH_NS_PREFIX:-ssb-$$}   # ssb-...: our namespaces (and temporary files) carry it
W=$(mktemp -d "/tmp/$P-bench.XXXXXX")
PIDS=""
HOSTS=""
# Our softsad binary is copied: a rebuild during the run must not change it under us.
SAD=""
if [ -x "$SOFTSAD" ]; then
	cp "$SOFTSAD" "$W/softsad"
	SAD=$W/softsad
fi
CHARON=${CHARON:-/usr/lib/ipsec/charon}  # CHARON=none: no anchor (long softsad-only runs)
echo "ssb-bench-pre-shared-key-0123456789" >"$W/psk"
chmod 600 "$W/psk"

track() { PIDS="$PIDS $1"; }
# Stops one of our processes: TERM, then KILL after 3 s.
stop_pid() {
	local p=$1 i
	kill -TERM "$p" 2>/dev/null || return 0
	for i in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}
cleanup() {
	local p h
	for p in $PIDS; do stop_pid "$p"; done
	for h in $HOSTS br; do ip netns del "$P-$h" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ns() { echo "$P-$1"; }
ipof() { case $1 in a) echo 10.79.0.1;; b) echo 10.79.0.2;; c) echo 10.79.0.3;; d) echo 10.79.0.4;;
	e) echo 10.79.0.5;; f) echo 10.79.0.6;; g) echo 10.79.0.7;; h) echo 10.79.0.8;; l) echo 10.79.0.9;;
	r) echo 10.79.0.10;; s) echo 10.79.0.11;; esac; }
nx() { local h=$1; shift; ip netns exec "$P-$h" "$@"; }

topo_up() {
	ip netns add "$P-br" || return 1
	ip -n "$P-br" link add br0 type bridge
	ip -n "$P-br" link set br0 up
	ip -n "$P-br" link set lo up
	local h i=0
	for h in a b c d e f g h l r s; do
		ip netns add "$P-$h" || return 1
		HOSTS="$HOSTS $h"
		ip -n "$P-$h" link add eth0 type veth peer name "p$h" netns "$P-br"
		ip -n "$P-br" link set "p$h" master br0 up
		ip -n "$P-$h" addr add "$(ipof $h)/16" dev eth0
		ip -n "$P-$h" link set eth0 up
		ip -n "$P-$h" link set lo up
		nx $h sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
		# No ICMP rate limit: C answers every IKE attempt (Linux limits per destination).
		nx $h sysctl -qw net.ipv4.icmp_ratelimit=0
	done
	for i in $(seq 1 32); do ip -n "$P-l" addr add "10.79.1.$i/16" dev eth0; done
	# D: silent, no ICMP for IKE
	nx d nft -f - <<-'EOF'
	table inet ssb_silent {
		chain in { type filter hook input priority 0; policy accept; udp dport { 500, 4500 } drop; }
	}
	EOF
	nx a ping -c1 -W2 "$(ipof b)" >/dev/null
}

# ---- softsad ----------------------------------------------------------------------------
# sad_start HOST ARGS...: sets SADPID_<HOST>; control socket $W/HOST.ctl.
sad_start() {
	local h=$1 i
	shift
	rm -f "$W/$h.ctl"
	ip netns exec "$P-$h" "$SAD" --control "$W/$h.ctl" "$@" >>"$W/sad-$h.log" 2>&1 &
	local pid=$!
	track $pid
	eval "SADPID_$h=$pid"
	for i in $(seq 100); do
		[ -S "$W/$h.ctl" ] && return 0
		kill -0 $pid 2>/dev/null || { log "softsad on $h exited: $(tail -3 "$W/sad-$h.log")"; return 1; }
		sleep 0.05
	done
	log "softsad on $h did not open its control socket"
	return 1
}
sad_stop() { local pid; eval "pid=\${SADPID_$1:-}"; [ -n "$pid" ] && stop_pid "$pid"; eval "SADPID_$1="; }
ctl() { # HOST CMD: the reply line
	python3 -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
s.sendall((json.dumps({"v": 1, "cmd": sys.argv[2]}) + "\n").encode())
b = b""
while not b.endswith(b"\n"):
    c = s.recv(65536)
    if not c:
        break
    b += c
print(b.decode().strip())' "$W/$1.ctl" "$2"
}

# ---- charon -----------------------------------------------------------------------------
# charon_conf DIR LOCAL REMOTE ROLE: strongswan.conf + swanctl.conf for kernel-libipsec.
# ROLE pair-init | pair-resp: host-to-host tunnel (ESP rows); load: responder to anyone.
charon_conf() {
	local d=$1 l=$2 r=$3 role=$4
	mkdir -p "$d/run"
	cat >"$d/strongswan.conf" <<-EOF
	charon {
	    load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey constraints curve25519 kdf hmac gcm aes sha2 kernel-libipsec kernel-netlink socket-default vici
	    install_routes = yes
	    retransmit_tries = 3
	    # one load generator address opens many SAs: no DoS protection, no half-open limit
	    # (role flood: charon's defaults, the defence under test)
	    $([ "$role" = flood ] || printf 'dos_protection = no\n    init_limit_half_open = 0')
	    ikesa_table_size = 4096
	    ikesa_table_segments = 16
	    plugins {
	        kernel-libipsec { allow_peer_ts = yes }
	        kernel-netlink { fwmark = !0x42 }
	        socket-default { fwmark = 0x42 }
	        vici { socket = unix://$d/run/charon.vici }
	    }
	    filelog { main { path = $d/charon.log
	                     default = 0
	                     ike = 1 } }
	    syslog { }
	}
	EOF
	if [ "$role" = load-cert ]; then
		mkdir -p "$d/x509ca" "$d/x509" "$d/private"
		cp "$W/pki/ca.pem" "$d/x509ca/"
		cp "$W/pki/s.pem" "$d/x509/"
		cp "$W/pki/s.key" "$d/private/"
		cat >"$d/swanctl.conf" <<-EOF
		connections { load { version = 2
		    local_addrs = $l
		    proposals = aes128gcm16-prfsha256-ecp256
		    send_certreq = yes
		    local { auth = pubkey
		            certs = s.pem }
		    remote { auth = pubkey
		             cacerts = ca.pem }
		    children { load { mode = tunnel
		                      local_ts = $l/32
		                      esp_proposals = aes128gcm16 } } } }
		EOF
	elif [ "$role" = load ] || [ "$role" = flood ]; then
		cat >"$d/swanctl.conf" <<-EOF
		connections { load { version = 2
		    local_addrs = $l
		    proposals = aes128gcm16-prfsha256-ecp256, aes128gcm16-prfsha256-modp2048
		    local { auth = psk
		            id = resp.bench }
		    remote { auth = psk }
		    children { load { mode = tunnel
		                      local_ts = $l/32
		                      esp_proposals = aes128gcm16 } } } }
		secrets { ike-load { secret = "$(cat "$W/psk")" } }
		EOF
	else
		cat >"$d/swanctl.conf" <<-EOF
		connections { h2h { version = 2
		    local_addrs = $l
		    remote_addrs = $r
		    encap = yes
		    proposals = aes128gcm16-prfsha256-ecp256
		    local { auth = psk
		            id = $l }
		    remote { auth = psk
		             id = $r }
		    children { h2h { mode = tunnel
		                     local_ts = $l/32
		                     remote_ts = $r/32
		                     esp_proposals = aes128gcm16
		                     start_action = none } } } }
		secrets { ike-h2h { id-a = $l
		                    id-b = $r
		                    secret = "$(cat "$W/psk")" } }
		EOF
	fi
}
# charon_start HOST DIR: charon in HOST's namespace with a private /run (its pid file is
# fixed at /run/charon.pid); sets CHPID_<HOST>.
charon_start() {
	local h=$1 d=$2 i
	ip netns exec "$P-$h" sh -c 'mount --bind "$1" /run || exit 1
		exec env STRONGSWAN_CONF="$2" "$3"' sh "$d/run" "$d/strongswan.conf" "$CHARON" \
		>"$d/charon.out" 2>&1 &
	local pid=$!
	track $pid
	eval "CHPID_$h=$pid"
	for i in $(seq 100); do [ -S "$d/run/charon.vici" ] && break; sleep 0.05; done
	[ -S "$d/run/charon.vici" ] || { log "charon on $h did not start: $(tail -3 "$d/charon.out")"; return 1; }
	SWANCTL_DIR=$d swanctl --load-all --noprompt --file "$d/swanctl.conf" --uri "unix://$d/run/charon.vici" \
		>"$d/load.out" 2>&1 || { log "swanctl --load-all on $h: $(tail -3 "$d/load.out")"; return 1; }
}
charon_stop() { local pid; eval "pid=\${CHPID_$1:-}"; [ -n "$pid" ] && stop_pid "$pid"; eval "CHPID_$1="; }

# ---- per-process CPU and memory ----------------------------------------------------------
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
TCK=$(getconf CLK_TCK)
# cpu_sum PID...: user + system ticks of the processes (and their threads), summed.
cpu_sum() { local t=0 x; for x in "$@"; do t=$((t + $(cpu_ticks "$x"))); done; echo $t; }

. "$HERE/netns_rows.sh"
. "$HERE/netns_gw.sh"

policy_responder
topo_up || { skip_all "could not build the namespaces"; exit 0; }
log "namespaces up ($P-*)"
for sec in $SECTIONS; do
	case $sec in
	esp) row_esp; row_gw ;;
	gw) row_gw ;;
	ike) row_ike ;;
	fallback) row_fallback ;;
	*) log "unknown section $sec" ;;
	esac
done
# Every row of the sections run has a figure or says why not.
why="no figure in this run (see the progress log on stderr)"
[ -z "$SAD" ] && why="no softsad binary ($SOFTSAD; set SOFTSAD=)"
for id in $ROW_IDS; do
	case "$SECTIONS" in *"$(row_section "$id")"*) ;; *) continue ;; esac
	grep -q "^[SN]	$id	softsa	" "$OUT" || N "$id" softsa "$why"
done
exit 0
