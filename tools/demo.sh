#!/bin/bash
# `make demo`: softsa working, in under a minute, on this machine, leaving it as it was.
#
#        +------------------- bridge br0 (network namespace ssdemo-br) -------------------+
#        |                               |                                  |
#   A 10.89.0.1  softsad, Server     B 10.89.0.2  softsad, Server     C 10.89.0.3  a legacy host:
#   (Request Security),              (Request Security),              no IPsec at all
#   certificate CN=a                 certificate CN=b
#
# Both softsads run the built-in Server policy: request security for all IP traffic, talk in
# the clear with computers that do not answer IKE (a *soft association*).  They authenticate
# with X.509 certificates from one test CA (tools/mkpki.sh), not a shared key.  So A <-> B is
# ESP and A <-> C is clear.  The script sends traffic A -> B, A -> C and C -> A, shows what
# `softsa` on A says (B named by its certificate), proves from a capture on the bridge that
# A <-> B went as ESP, and removes everything it made (trap) -- only network namespaces
# named $P-* and a temporary directory.
#
# usage (root): tools/demo.sh [BUILD_DIR]      Exit status 0 when everything was as expected.
# DEMO_PREFIX names the namespaces (default ssdemo; the CI test gives each run its own, since
# topo_up first removes leftovers of its prefix, which would be a concurrent run's).
set -u
BUILD=${1:-build}
P=${DEMO_PREFIX:-ssdemo}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SOFTSAD=$BUILD/src/daemon/softsad
SOFTSA=$BUILD/src/cli/softsa

if [ "$(id -u)" != 0 ]; then
	echo "make demo needs root: it creates network namespaces and runs softsad in them (sudo make demo)" >&2
	exit 1
fi
for t in ip tcpdump python3 openssl; do
	command -v $t >/dev/null || { echo "demo: $t is missing (make deps installs it)" >&2; exit 1; }
done
[ -x "$SOFTSAD" ] && [ -x "$SOFTSA" ] || { echo "demo: build first (make build)" >&2; exit 1; }

. "$ROOT/tests/netns/topology.sh"
W=$(mktemp -d /tmp/ssdemo.XXXXXX)
SAD_PIDS=""
cleanup() {
	local p
	for p in $SAD_PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $SAD_PIDS; do wait "$p" 2>/dev/null; done
	topo_down
	rm -rf "$W"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted, cleaning up"; exit 130' INT TERM

T0=$(date +%s%N)
if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B= N=; fi
say() { printf '\n%s[%5.1fs] %s%s\n' "$B" "$(( ($(date +%s%N) - T0) / 1000000 ))e-3" "$*" "$N"; }
die() {
	echo "demo: FAILED: $*" >&2
	for f in "$W"/*.log; do [ -f "$f" ] && { echo "--- $(basename "$f")"; tail -20 "$f"; } >&2; done
	if [ -n "${DEMO_DEBUG:-}" ]; then
		SOFTSA_CONTROL=$W/a.ctl "$SOFTSA" stats --json
		ip -n "$P-a" rule; ip -n "$P-a" route show table all | head -20
		in_ns a nft list ruleset | head -80
		cat "$W/listen.out"
	fi >&2
	exit 1
}
show() { printf '\n# softsa %s\n' "$*"; SOFTSA_CONTROL=$W/a.ctl "$SOFTSA" "$@" || die "softsa $* failed"; }
in_ns() { local h=$1; shift; ip netns exec "$P-$h" "$@"; }

# tcp HOST_FROM HOST_TO PORT BYTES: a TCP transfer; true when every byte arrived.
tcp() {
	rm -f "$W/listen.out" # the last listener's "ready" must not stand for this one's
	in_ns "$2" timeout 20 python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    n += len(b)
c.sendall(str(n).encode()); c.close()' "$(topo_ip "$2")" "$3" > "$W/listen.out" 2>&1 &
	local l=$!
	for _ in $(seq 100); do grep -q ready "$W/listen.out" 2>/dev/null && break; sleep 0.05; done
	local got
	got=$(in_ns "$1" timeout 20 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=15)
s.sendall(b"x" * int(sys.argv[3])); s.shutdown(socket.SHUT_WR); print(s.recv(64).decode())' \
		"$(topo_ip "$2")" "$3" "$4" 2>&1)
	wait $l 2>/dev/null
	[ "$got" = "$4" ]
}

say "Creating three hosts in network namespaces on one bridge: A and B (IPsec), C (legacy)"
topo_up "$P" a b c || die "could not create the namespaces"
echo "  A $(topo_ip a)   B $(topo_ip b)   C $(topo_ip c) (no IKE: its kernel answers UDP 500 with ICMP port unreachable)"

say "A test CA issues certificates to A and B (tools/mkpki.sh: ECDSA P-256, SAN = the host's address)"
"$ROOT/tools/mkpki.sh" "$W/pki" a=$(topo_ip a) b=$(topo_ip b) >/dev/null || die "mkpki"
for h in a b; do
	cat > "$W/$h.yaml" <<EOF
builtin: server
auth:
  - certificate: { ca: pki/ca.pem, cert: pki/$h.pem, key: pki/$h.key, crl: pki/crl.pem }
EOF
done
openssl x509 -in "$W/pki/b.pem" -noout -subject -issuer -ext subjectAltName | grep -v "X509v3" | sed 's/^ */  B: /'
check=$("$SOFTSA" check "$W/a.yaml" 2>&1) || die "softsa check: $check"
echo "  $ softsa check a.yaml"
echo "$check" | grep "pki/a.pem" | sed 's/^ */    /'

say "Starting softsad on A and B with the built-in policy Server (Request Security), certificate auth"
for h in a b; do
	# Not through in_ns: $! must be softsad itself, not a subshell, to stop it.
	ip netns exec "$P-$h" "$SOFTSAD" -c "$W/$h.yaml" --control "$W/$h.ctl" > "$W/$h.log" 2>&1 &
	SAD_PIDS="$SAD_PIDS $!"
	topo_track $!
done
for h in a b; do
	for _ in $(seq 100); do [ -S "$W/$h.ctl" ] && break; sleep 0.05; done
	[ -S "$W/$h.ctl" ] || die "softsad on $h did not start"
done
echo "  $ ip netns exec $P-a softsad -c a.yaml    (builtin: server, auth: [certificate: ...]; the same on B)"

say "Capturing on the bridge (tcpdump), to see what actually crosses the wire"
ip netns exec "$P-br" tcpdump -i br0 -n -U --immediate-mode -B 32768 -s 128 -w "$W/wire.pcap" ip >/dev/null 2>"$W/wire.err" &
topo_track $!
CAP=$!
for _ in $(seq 100); do [ -s "$W/wire.pcap" ] && break; sleep 0.05; done

say "A -> B: ping (ICMP is exempt in the Server policy, as in Windows') and a 1 MB TCP transfer (IKEv2, then ESP)"
in_ns a ping -c 3 -i 0.2 -W 5 "$(topo_ip b)" | grep -E "transmitted" || die "ping A -> B"
tcp a b 5001 1000000 && echo "  1000000 bytes arrived at B" || die "TCP A -> B"

say "A -> C: C never answers IKE, so after the attempts A talks to it in the clear (soft association)"
tcp a c 5002 100000 && echo "  100000 bytes arrived at C" || die "TCP A -> C"

say "C -> A: the legacy host connects to A; A accepts unsecured traffic (Request Security)"
tcp c a 5003 100000 && echo "  100000 bytes arrived at A" || die "TCP C -> A"

say "What softsa on A says"
show status
show sas
show soft

say "The capture: what crossed the bridge"
sleep 0.3
kill "$CAP" 2>/dev/null
wait "$CAP" 2>/dev/null
# A capture that fell behind (a loaded machine) would undercount: say so instead of guessing.
lost=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel$/\1/p' "$W/wire.err" | head -n 1)
[ -z "$lost" ] || [ "$lost" = 0 ] || die "the capture is incomplete: the kernel dropped $lost packets (machine overloaded?)"
count() { tcpdump -nr "$W/wire.pcap" "$1" 2>/dev/null | wc -l; }
AB="host $(topo_ip a) and host $(topo_ip b)"
AC="host $(topo_ip a) and host $(topo_ip c)"
ab_ike=$(count "$AB and udp port 500")
ab_esp=$(count "$AB and (ip proto 50 or (udp port 4500 and not udp[8:4] = 0))")
ab_icmp=$(count "$AB and icmp")
ab_clear=$(count "$AB and not ip proto 50 and not udp port 500 and not udp port 4500 and not icmp")
ac_clear=$(count "$AC and not udp port 500 and not icmp")
printf '  A <-> B: %5d IKE   %5d ESP   %5d other packets in the clear   (and %d ICMP, which the policy permits)\n' \
	"$ab_ike" "$ab_esp" "$ab_clear" "$ab_icmp"
printf '  A <-> C: %5d packets in the clear (the soft association)\n' "$ac_clear"
echo "  e.g.:"
tcpdump -nr "$W/wire.pcap" "$AB and ip proto 50" 2>/dev/null | head -3 | sed 's/^/    /'

ok=1
[ "$ab_clear" = 0 ] || { ok=0; echo "  not one A <-> B packet should be in the clear"; }
[ "$ab_esp" -gt 100 ] || { ok=0; echo "  A <-> B should be ESP"; }
[ "$ac_clear" -gt 10 ] || { ok=0; echo "  A <-> C should be clear"; }
SOFTSA_CONTROL=$W/a.ctl "$SOFTSA" sas --json | grep -q '"remote": "10.89.0.2"' || { ok=0; echo "  A should list an SA with B"; }
SOFTSA_CONTROL=$W/a.ctl "$SOFTSA" soft --json | grep -q '"remote": "10.89.0.3"' || { ok=0; echo "  A should list a soft association with C"; }
SOFTSA_CONTROL=$W/a.ctl "$SOFTSA" sas --json | grep -q '"id": "CN=b,O=softsa test"' || { ok=0; echo "  A should name B by its certificate"; }
[ $ok = 1 ] || die "the demo did not show what it should"

say "Done: A <-> B authenticated by certificates and secured by ESP, A <-> C in the clear by a soft association.  Removing everything"
