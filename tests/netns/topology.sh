# Test hosts in network namespaces on one bridge; sourced by the end-to-end tests and the demo.
#
#           +----------------------- bridge br0 (namespace $P-br) -----------------------+
#           |            |             |              |              |                |
#      A 10.89.0.1  B 10.89.0.2   C 10.89.0.3    D 10.89.0.4    E 10.89.0.5     ...
#      fd89::1      fd89::2       fd89::3        fd89::4        fd89::5
#
# topo_up PREFIX HOST...   creates $PREFIX-br and one namespace $PREFIX-<host> per host name
#                           ($TOPO_NS_PREFIX, when set, goes before PREFIX)
#                           (a single lower-case letter: a=.1, b=.2, ...), eth0 in each, lo up.
# topo_host_add HOST        adds one more host (or the same again after its namespace went).
# topo_down                 kills the PIDs registered with topo_track, deletes the namespaces.
# topo_ip HOST [6]          the host's address.
# topo_exec HOST CMD...     runs CMD in the host's namespace (for background jobs whose PID
#                           matters, call `ip netns exec $TOPO_PREFIX-HOST CMD &` directly:
#                           a backgrounded shell function is a subshell, not CMD).
# topo_track PID            registers a background process to be killed by topo_down.
# topo_capture FILE FILTER  starts tcpdump on the bridge (background, tracked).
# topo_silent_ike HOST      makes HOST drop UDP 500/4500 silently (no ICMP): a "silent" peer.

TOPO_PREFIX=""
TOPO_HOSTS=""
TOPO_PIDS=""

topo_ip() {
	local n
	n=$(( $(printf '%d' "'$1") - 96 ))
	if [ "${2:-4}" = 6 ]; then echo "fd89::$n"; else echo "10.89.0.$n"; fi
}

topo_exec() {
	local h=$1
	shift
	ip netns exec "$TOPO_PREFIX-$h" "$@"
}

topo_track() { TOPO_PIDS="$TOPO_PIDS $1"; }

topo_down() {
	local p h
	for p in $TOPO_PIDS; do kill "$p" 2>/dev/null; done
	for p in $TOPO_PIDS; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	TOPO_PIDS=""
	for h in $TOPO_HOSTS br; do ip netns del "$TOPO_PREFIX-$h" 2>/dev/null; done
	TOPO_HOSTS=""
	return 0
}

topo_up() {
	# TOPO_NS_PREFIX (optional) goes before the test's own prefix, as in lib.sh.
	TOPO_PREFIX=${TOPO_NS_PREFIX:-}$1
	shift
	local h br="$TOPO_PREFIX-br"
	# Leftovers of a run that was killed: ours by prefix, so safe to remove.
	for h in $(ip netns list | awk '{print $1}' | grep "^$TOPO_PREFIX-"); do ip netns del "$h"; done
	ip netns add "$br" || return 1
	ip -n "$br" link add br0 type bridge
	ip -n "$br" link set br0 up
	ip -n "$br" link set lo up
	for h in "$@"; do
		topo_host_add "$h" || return 1
	done
}

# topo_host_add HOST: one host's namespace on the bridge (also to "reboot" a host: delete its
# namespace once nothing runs in it, then add it again).
topo_host_add() {
	local h=$1 br="$TOPO_PREFIX-br"
	ip netns add "$TOPO_PREFIX-$h" || return 1
	case " $TOPO_HOSTS " in *" $h "*) ;; *) TOPO_HOSTS="$TOPO_HOSTS $h" ;; esac
	ip -n "$br" link add "v-$h" type veth peer name eth0 netns "$TOPO_PREFIX-$h"
	ip -n "$br" link set "v-$h" master br0 up
	ip -n "$TOPO_PREFIX-$h" link set lo up
	ip -n "$TOPO_PREFIX-$h" addr add "$(topo_ip "$h")/24" dev eth0
	ip -n "$TOPO_PREFIX-$h" addr add "$(topo_ip "$h" 6)/64" dev eth0 nodad
	ip -n "$TOPO_PREFIX-$h" link set eth0 up
	ip netns exec "$TOPO_PREFIX-$h" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 net.ipv4.icmp_ratelimit=0
}

topo_capture() {
	local file=$1 filter=$2
	# A 32 MiB buffer so that a loaded machine does not drop captured packets.
	ip netns exec "$TOPO_PREFIX-br" tcpdump -i br0 -U -n --immediate-mode -B 32768 -s 256 -w "$file" "$filter" >/dev/null 2>"$file.err" &
	topo_track $!
	# tcpdump needs a moment before it sees packets.
	for _ in $(seq 50); do [ -s "$file" ] && break; sleep 0.05; done
}

topo_silent_ike() {
	topo_exec "$1" nft -f - <<'NFT'
table inet silent {
	chain input {
		type filter hook input priority 0;
		udp dport { 500, 4500 } drop
	}
}
NFT
}
