#!/bin/bash
# The test bed itself: hosts reach each other over the bridge, C answers UDP 500 with ICMP
# port unreachable, D drops it silently, and everything is gone after topo_down.
set -u
[ "$(id -u)" = 0 ] || exit 77
. "$(dirname "$0")/topology.sh"
fail() { echo "FAIL: $*"; topo_down; exit 1; }
trap topo_down EXIT
topo_up sstopo a c d || fail "topo_up"
topo_silent_ike d
topo_exec a ping -c1 -W2 "$(topo_ip c)" >/dev/null || fail "a cannot ping c"
topo_exec a ping -c1 -W2 "$(topo_ip d 6)" >/dev/null || fail "a cannot ping d over IPv6"
probe() { # prints the errno name of a UDP 500 probe from a to $1
	topo_exec a /usr/bin/python3 - "$1" <<'PY'
import socket, sys, errno
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], 500)); s.settimeout(1)
s.send(b"\0" * 28)
try:
    s.recv(100); print("reply")
except socket.timeout: print("silent")
except OSError as e: print(errno.errorcode.get(e.errno, e.errno))
PY
}
[ "$(probe "$(topo_ip c)")" = ECONNREFUSED ] || fail "c should refuse UDP 500 with ICMP"
[ "$(probe "$(topo_ip d)")" = silent ] || fail "d should drop UDP 500 silently"
topo_down
trap - EXIT
ip netns list | grep -q '^sstopo-' && fail "namespaces left behind"
echo "ok"
