# Shared by the softsad end-to-end tests (tests/netns/e2e_*.sh): the topology of
# topology.sh, softsad started in a host's namespace, its control socket, TCP transfers with
# a checksum, and counting packets in a bridge capture.
#
# usage in a test:  . "$(dirname "$0")/e2e_lib.sh" "$@"   (argument 1: the softsad binary)
# Root only: exits 77 (skipped) otherwise.  Everything is removed on exit (trap).  Tests name
# their namespaces $NSP-<test><PID>-<host> (NSP: $E2E_NS_PREFIX, default sse): several
# worktrees may run the suite at once, each under a prefix of its own if it likes.
set -u
NSP=${E2E_NS_PREFIX:-sse}
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: the end-to-end tests need root (network namespaces)"
	exit 77
fi
for t in ip nft tcpdump python3; do
	command -v "$t" >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done
SOFTSAD=$(readlink -f "${1:?usage: $0 path/to/softsad}")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/topology.sh"
W=$(mktemp -d /tmp/sse.XXXXXX)
PSK="$W/psk"
echo "sse-e2e-pre-shared-key-0123456789" > "$PSK"

e2e_cleanup() {
	topo_down
	rm -rf "$W"
}
trap e2e_cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*"
	# A test's own evidence first (a peer's log, the kernels' state), if it defines on_fail.
	declare -F on_fail >/dev/null && on_fail
	local f
	for f in "$W"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $(basename "$f")"
		tail -40 "$f"
	done
	exit 1
}
ok() { echo "ok: $*"; }

# request_policy FILE NAME [KEY: VALUE]...: a policy that negotiates with 10.89.0.0/24,
# accepts unsecured traffic and falls back to clear (Windows' Request Security), with more
# keys for its filter action; the PSK is $W/psk.
request_policy() {
	local f=$1 name=$2 kv
	shift 2
	{
		printf 'name: %s\npsk_file: psk\nfilter_lists:\n  lan:\n    - { src: me, dst: 10.89.0.0/24 }\n' "$name"
		printf 'filter_actions:\n  request:\n    action: negotiate\n    accept_unsecured: true\n'
		printf '    fallback_to_clear: true\n'
		for kv in "$@"; do printf '    %s\n' "$kv"; done
		printf 'rules:\n  - { name: lan, filter_list: lan, filter_action: request }\n'
	} > "$f"
}

# The dataplane the tests run softsad with: `user` on this host (its kernel has no ESP);
# tests/vm/e2e_softsad.sh runs the same scripts in a VM with SOFTSA_E2E_DATAPLANE=kernel.
E2E_DP=${SOFTSA_E2E_DATAPLANE:-user}
# Packets wait for a negotiation in softsad on both dataplanes (the kernel one has them from an
# NFQUEUE, src/dataplane/xfrm/hold.h).  What `peers` counts as held for one datagram: the
# datagram, and on the kernel dataplane also the kernel's ACQUIRE for it (no packet, counted).
if [ "$E2E_DP" = user ]; then E2E_HELD=1; else E2E_HELD=2; fi

# sad_start HOST ARGS...: softsad in HOST's namespace (control socket $W/HOST.ctl, log
# $W/HOST.log) on the dataplane $E2E_DP; waits until it answers.  Its PID is in SAD_PID_<HOST>.
sad_start() {
	local h=$1
	shift
	rm -f "$W/$h.ctl"
	ip netns exec "$TOPO_PREFIX-$h" "$SOFTSAD" --dataplane "$E2E_DP" --control "$W/$h.ctl" "$@" >>"$W/$h.log" 2>&1 &
	local pid=$!
	topo_track $pid
	eval "SAD_PID_$h=$pid"
	for _ in $(seq $((100 * ${SOFTSA_E2E_SLOW:-1}))); do
		[ -S "$W/$h.ctl" ] && return 0
		kill -0 $pid 2>/dev/null || fail "softsad on $h exited at start"
		sleep 0.05
	done
	fail "softsad on $h did not open its control socket"
}

# dp_left HOST: what softsad's dataplane left behind in HOST's namespace after it stopped
# (nothing when all is well): the TUN, table, rule and routes of the userspace dataplane; the
# XFRM states and policies of the kernel one.
dp_left() {
	local h=$1
	if [ "$E2E_DP" = kernel ]; then
		topo_exec "$h" ip xfrm state | grep -q . && echo "XFRM states: $(topo_exec "$h" ip xfrm state)"
		topo_exec "$h" ip xfrm policy | grep -q . && echo "XFRM policies: $(topo_exec "$h" ip xfrm policy)"
		return 0
	fi
	# The kernel unregisters the TUN once its last reference goes, a moment after exit.
	wait_for 3 "! topo_exec $h ip link show softsa0 >/dev/null 2>&1" || echo "softsa0"
	topo_exec "$h" nft list table inet softsa >/dev/null 2>&1 && echo "table inet softsa"
	topo_exec "$h" ip rule | grep -q 0x100000 && echo "fwmark rule"
	[ -z "$(topo_exec "$h" ip route show table 21331 2>/dev/null)" ] || echo "routes in table 21331"
	return 0
}

# sad_stop HOST: SIGTERM, and it must exit 0.
sad_stop() {
	local pid
	eval "pid=\$SAD_PID_$1"
	kill -TERM "$pid"
	wait "$pid" || fail "softsad on $1 exited with $? after SIGTERM"
}

# ctl HOST CMD [KEY=VALUE...]: the reply's JSON on stdout.
ctl() {
	local h=$1
	shift
	python3 "$HERE/sse_ctl.py" "$W/$h.ctl" "$@"
}

# jget JSON PYEXPR: evaluates PYEXPR with the parsed reply as r (e.g. 'r["result"]["soft"]').
jget() {
	python3 -c 'import json,sys; r=json.loads(sys.argv[1]); v=eval(sys.argv[2]); print(json.dumps(v) if isinstance(v,(dict,list)) else v)' "$1" "$2"
}

# wait_for SECONDS CMD...: polls CMD (every 50 ms) until it succeeds; false on timeout.
# SECONDS is multiplied by SOFTSA_E2E_SLOW (default 1): under emulation (tests/vm) every
# process start costs a second or more, and a wait for a listener or a subscription must not
# fail for that.  Waits that assert a time window are written as such, not with wait_for.
# A single-word CMD is a shell string evaluated afresh each time: 'test "$(f)" = 1'.
wait_for() {
	local end=$(( $(date +%s%N) / 1000000 + ${1%.*} * 1000 * ${SOFTSA_E2E_SLOW:-1} ))
	shift
	while ! if [ $# = 1 ]; then eval "$1"; else "$@"; fi; do
		[ $(( $(date +%s%N) / 1000000 )) -ge $end ] && return 1
		sleep 0.05
	done
}

# tcp_transfer FROM TO BYTES [PORT [TIMEOUT]]: sends BYTES random bytes from host FROM to
# host TO over TCP (IPv6 when TCP_FAM=6); fails unless the SHA-256 on arrival equals the one
# sent.
tcp_transfer() {
	local from=$1 to=$2 n=$3 port=${4:-5001} tmo=$(( ${5:-10} * ${SOFTSA_E2E_SLOW:-1} )) fam=${TCP_FAM:-4}
	head -c "$n" /dev/urandom > "$W/data"
	local want
	want="$n $(sha256sum "$W/data" | cut -d' ' -f1)"
	rm -f "$W/recv" # the listener's output of an earlier transfer must not look like this one's
	ip netns exec "$TOPO_PREFIX-$to" timeout "$tmo" python3 -c '
import socket, hashlib, sys, time
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
for i in range(40):  # an IPv6 address may still be settling
    try:
        s.bind((sys.argv[1], int(sys.argv[2]))); break
    except OSError:
        if i == 39: raise
        time.sleep(0.05)
s.listen(1)
print("listening", flush=True)
c, _ = s.accept(); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 16)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest(), flush=True)' "$(topo_ip "$to" "$fam")" "$port" > "$W/recv" 2>&1 &
	local srv=$!
	wait_for 5 grep -qs listening "$W/recv" || fail "TCP listener on $to did not start: $(cat "$W/recv" 2>&1)"
	ip netns exec "$TOPO_PREFIX-$from" timeout "$tmo" python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[4]))
s.sendall(open(sys.argv[3], "rb").read()); s.shutdown(socket.SHUT_WR); s.recv(1); s.close()' \
		"$(topo_ip "$to" "$fam")" "$port" "$W/data" "$tmo" 2>"$W/send.err" || fail "TCP $from -> $to: sender failed: $(cat "$W/send.err")"
	wait $srv
	local got
	got=$(tail -1 "$W/recv")
	[ "$got" = "$want" ] || fail "TCP $from -> $to: received '$got', sent '$want'"
}

# udp_send FROM TO PORT TEXT: one datagram.
udp_send() {
	ip netns exec "$TOPO_PREFIX-$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))' "$(topo_ip "$2")" "$3" "$4"
}

# pcap_count FILE FILTER: packets in a capture that match a tcpdump filter.
pcap_count() {
	tcpdump -nr "$1" "$2" 2>/dev/null | wc -l
}

# cap_start FILE FILTER [SNAPLEN]: a capture on the bridge; cap_stop ends it (file complete).
cap_start() {
	# A 32 MiB capture buffer: under load tcpdump falls behind, and a capture that lost
	# packets could hide the very clear packet a test looks for (cap_stop checks).
	CAP_ERR=$1.err
	ip netns exec "$TOPO_PREFIX-br" tcpdump -i br0 --immediate-mode -U -n -B 32768 -s "${3:-256}" -w "$1" "$2" >/dev/null 2>"$CAP_ERR" &
	CAP_PID=$!
	topo_track $CAP_PID
	wait_for 5 test -s "$1" || fail "tcpdump did not start"
}
cap_stop() {
	sleep 0.2 # what is on the wire now reaches the file
	kill "$CAP_PID" 2>/dev/null
	wait "$CAP_PID" 2>/dev/null
	cap_complete "$CAP_ERR"
}
# cap_complete ERRFILE: fails the test when tcpdump (its stderr in ERRFILE) says the kernel
# dropped packets: what the capture shows would then not be all that crossed the wire.
cap_complete() {
	local n
	n=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel$/\1/p' "$1" 2>/dev/null | head -n 1)
	[ -z "$n" ] || [ "$n" = 0 ] || fail "the capture is incomplete: the kernel dropped $n packets (machine overloaded?)"
}

# sad_events HOST FILE: the event stream of HOST's softsad into FILE (background, tracked).
sad_events() {
	python3 "$HERE/sse_ctl.py" "$W/$1.ctl" subscribe > "$2" 2>&1 &
	topo_track $!
	wait_for 5 grep -q subscribed "$2" || fail "could not subscribe to $1's events"
}
