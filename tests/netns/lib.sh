# Shared by the dataplane netns tests: the topology, the driver as a coprocess, assertions.
#
#                         ssdp-sw (bridge br0)
#              +----------------+----------------+
#              |                |                |
#        ssdp-a eth0      ssdp-b eth0      ssdp-c eth0
#        10.77.0.1        10.77.0.2        10.77.0.3
#        fd77::1          fd77::2          fd77::3
#        dp_driver        nsprobe          nsprobe
#        (softsa0, table inet softsa)
#
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
A=ssdp-a B=ssdp-b C=ssdp-c SW=ssdp-sw
A4=10.77.0.1 B4=10.77.0.2 C4=10.77.0.3
A6=fd77::1 B6=fd77::2 C6=fd77::3
# The negotiate filters of the driver: B's inbound clear is dropped, C's accepted.
FILTERS="--filter 10.77.0.0/24 10.77.0.2/32 drop --filter 10.77.0.0/24 10.77.0.3/32 accept
	--filter fd77::/64 fd77::2/128 drop --filter fd77::/64 fd77::3/128 accept"
TMP=$(mktemp -d /tmp/ssdp.XXXXXX)
BG_PIDS=""
DRV_PID=""

cleanup() {
	for p in $BG_PIDS $DRV_PID; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	for n in $A $B $C $SW; do
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

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
	for n in $A $B $C $SW; do
		ip netns del "$n" 2>/dev/null
		ip netns add "$n" || fail "cannot create namespace $n"
		ip -n "$n" link set lo up
	done
	ip -n $SW link add br0 type bridge
	ip -n $SW link set br0 up
	i=1
	for n in $A $B $C; do
		ip -n $SW link add "p$i" type veth peer name eth0 netns "$n"
		ip -n $SW link set "p$i" master br0 up
		ip -n "$n" addr add "10.77.0.$i/24" dev eth0
		ip -n "$n" addr add "fd77::$i/64" dev eth0 nodad
		ip -n "$n" link set eth0 up
		i=$((i + 1))
	done
}

# drv_start ARGS...: runs the driver in A, waits for "ready".
drv_start() {
	coproc DRV { exec ip netns exec $A "$DRIVER" "$@" 2>>"$TMP/drv.err"; }
	DRV_PID=$DRV_PID
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

# expect PATTERN: the last answer matches the shell pattern.
expect() {
	# shellcheck disable=SC2053
	[[ "$REPLY" == $1 ]] || fail "expected '$1', got '$REPLY'"
}

drv_kill9() {
	kill -9 "$DRV_PID" 2>/dev/null
	wait "$DRV_PID" 2>/dev/null
	DRV_PID=""
}

drv_quit() {
	echo quit >&"$DRV_IN"
	wait "$DRV_PID"
	local rc=$?
	DRV_PID=""
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
