# Shared by the dataplane netns tests: the topology, the driver as a coprocess, assertions.
#
#                         ssdp-sw-N (bridge br0)
#              +----------------+----------------+
#              |                |                |
#       ssdp-a-N eth0    ssdp-b-N eth0    ssdp-c-N eth0
#        10.77.0.1        10.77.0.2        10.77.0.3
#        fd77::1          fd77::2          fd77::3
#        dp_driver        nsprobe          nsprobe
#        (softsa0, table inet softsa)
#
# N is the test's PID: several checkouts may run these tests at once.
# A runs the dataplane driver with negotiate filters for B and C; B and C are plain hosts
# whose side of each check nsprobe or tcpdump does.  Run as root; exit 77 (skip) otherwise.
set -u

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: the netns tests need root"
	exit 77
fi
for t in ip nft; do
	command -v "$t" >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done

DRIVER=${DP_DRIVER:?set DP_DRIVER to the dp_driver binary}
PROBE=${NSPROBE:?set NSPROBE to the nsprobe binary}
RUN=$$
# TOPO_NS_PREFIX (optional) goes before every namespace name: a runner that must keep to
# names of its own sets it; stale ones are reaped only under the same prefix.
NSP=${TOPO_NS_PREFIX:-}ssdp
A=$NSP-a-$RUN B=$NSP-b-$RUN C=$NSP-c-$RUN SW=$NSP-sw-$RUN
A4=10.77.0.1 B4=10.77.0.2 C4=10.77.0.3
A6=fd77::1 B6=fd77::2 C6=fd77::3
# The negotiate filters of the driver: B's inbound clear is dropped, C's accepted.
FILTERS="--filter 10.77.0.0/24 10.77.0.2/32 drop --filter 10.77.0.0/24 10.77.0.3/32 accept
	--filter fd77::/64 fd77::2/128 drop --filter fd77::/64 fd77::3/128 accept"
TMP=$(mktemp -d /tmp/ssdp.XXXXXX)
BG_PIDS=""
DRIVER_PID=""

cleanup() {
	for p in $BG_PIDS $DRIVER_PID; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	netns_del_all
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Deletes a namespace of ours with any process still inside (a process keeps a deleted
# namespace, and the TUN in it, alive).
netns_del() {
	local p
	for p in $(ip netns pids "$1" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
	ip netns del "$1" 2>/dev/null
}
netns_del_all() {
	local n
	for n in $A $B $C $SW; do
		netns_del "$n"
	done
}
# Namespaces that a test run killed midway left behind: its PID is in the name.
reap_stale() {
	local n pid
	for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$NSP-[a-z]+-[0-9]+\$"); do
		pid=${n##*-}
		kill -0 "$pid" 2>/dev/null || netns_del "$n"
	done
}

fail() {
	echo "FAIL: $*"
	if [ -s "$TMP/drv.err" ]; then
		echo "--- driver stderr:"
		cat "$TMP/drv.err"
	fi
	exit 1
}
ok() { echo "ok: $*"; }

topo_up() {
	reap_stale
	netns_del_all
	for n in $A $B $C $SW; do
		ip netns add "$n" || fail "cannot create namespace $n"
		ip -n "$n" link set lo up
	done
	ip -n $SW link add br0 type bridge && ip -n $SW link set br0 up || fail "bridge"
	i=1
	for n in $A $B $C; do
		ip -n $SW link add "p$i" type veth peer name eth0 netns "$n" &&
		ip -n $SW link set "p$i" master br0 up &&
		ip -n "$n" addr add "10.77.0.$i/24" dev eth0 &&
		ip -n "$n" addr add "fd77::$i/64" dev eth0 nodad &&
		ip -n "$n" link set eth0 up || fail "topology: $n"
		i=$((i + 1))
	done
}

# drv_start ARGS...: runs the driver in A, waits for "ready".
drv_start() {
	coproc DRV { exec ip netns exec $A "$DRIVER" "$@" 2>>"$TMP/drv.err"; }
	# bash unsets DRV_PID when the coprocess ends: keep our own copy.
	DRIVER_PID=$DRV_PID
	DRV_IN=${DRV[1]}
	DRV_OUT=${DRV[0]}
	local line=""
	read -r -t 10 line <&"$DRV_OUT" || true
	[ "$line" = ready ] || fail "driver did not start (got '$line')"
}

# drv CMD...: one command, its answer in REPLY.
drv() {
	REPLY=""
	echo "$*" >&"$DRV_IN"
	read -r -t 15 REPLY <&"$DRV_OUT" || fail "driver gave no answer to '$*'"
	echo "  A> $* -> $REPLY"
}

# drv_send CMD... then drv_reply: a command that runs while the shell does something else.
drv_send() { echo "$*" >&"$DRV_IN"; }
drv_reply() {
	REPLY=""
	read -r -t 30 REPLY <&"$DRV_OUT" || fail "driver gave no answer"
	echo "  A> ... -> $REPLY"
}

# expect PATTERN: the last answer matches the shell pattern.
expect() {
	# shellcheck disable=SC2053
	[[ "$REPLY" == $1 ]] || fail "expected '$1', got '$REPLY'"
}

drv_kill9() {
	kill -9 "$DRIVER_PID" 2>/dev/null
	wait "$DRIVER_PID" 2>/dev/null
	DRIVER_PID=""
}

drv_quit() {
	echo quit >&"$DRV_IN"
	wait "$DRIVER_PID"
	local rc=$?
	DRIVER_PID=""
	[ $rc -eq 0 ] || fail "driver exited with $rc"
}

# bg NAME NS ARGS...: nsprobe in the background, output in $TMP/NAME, waits until it listens.
bg() {
	local name=$1 ns=$2
	shift 2
	ip netns exec "$ns" "$PROBE" "$@" >"$TMP/$name" 2>&1 &
	eval "PID_$name=$!"
	BG_PIDS="$BG_PIDS $!"
	for _ in $(seq 50); do
		grep -q listening "$TMP/$name" && return 0
		sleep 0.05
	done
	fail "nsprobe $* did not start"
}

# bg_wait NAME: waits for it; fails unless it exited 0 (its own assertion held).
bg_wait() {
	local pid
	eval "pid=\$PID_$1"
	wait "$pid"
	local rc=$?
	sed 's/^/  '"$1"'> /' "$TMP/$1"
	[ $rc -eq 0 ] || fail "$1: assertion failed (exit $rc)"
}

probe() { local ns=$1; shift; ip netns exec "$ns" "$PROBE" "$@"; }
