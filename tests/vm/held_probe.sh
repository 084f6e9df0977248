#!/bin/bash
# A measurement, not a test (doc/dataplane.md "Held packets on the kernel dataplane"): what
# happens to a stream sent while a negotiation runs.  300 UDP datagrams of 1400 bytes at
# 100 a second from A, from one socket with the default send buffer and from one with
# 4 MiB, to D and E (silent: the soft outcome at 3 s) and to B and C (softsads that drop
# IKE for the first 1.5 s or so, then answer A's next attempt, at 2.0 s: the secured outcome).
# Prints per case how many arrived, the sendto() errors, when the first and last datagram
# reached the peer (seconds after the stream began), how long the sender took, and
# softsad's counters.
#
# usage: held_probe.sh SOFTSAD   (as root; in the VM: tests/vm/run.sh ... -- held_probe.sh)
. "$(dirname "$0")/../netns/e2e_lib.sh" "$@"
topo_up ${NSP}-hp$$ a b c d e || fail "topology"
for h in b c d e; do topo_silent_ike $h; done
sad_start b --builtin server --psk-file "$PSK"
sad_start c --builtin server --psk-file "$PSK"
sad_start a --builtin server --psk-file "$PSK"
xstat() { topo_exec a cat /proc/net/xfrm_stat | awk '$2 != 0'; }
probe() { # probe HOST LABEL SNDBUF: receiver on HOST, stream from A
	local h=$1 ip
	ip=$(topo_ip "$h")
	ip netns exec "$TOPO_PREFIX-$h" timeout 60 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], 6000))
# SO_RCVBUFFORCE (33): past net.core.rmem_max, or a burst of releases overruns a receiver
# that emulation makes slow, and the loss would be the receiver'"'"'s (UDP RcvbufErrors below).
s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)
s.settimeout(12)
print("listening", flush=True)
seen = {}
try:
    while len(seen) < 300:
        d = s.recv(2000).split(b" ")
        seen[int(d[0])] = time.time() - float(d[1])
except socket.timeout:
    pass
first = [seen[i] for i in sorted(seen)[:1]]
print("got %d of 300; first arrived %.2f s after the stream began; last %.2f s" %
      (len(seen), first[0] if first else -1, max(seen.values()) if seen else -1), flush=True)' "$ip" > "$W/$h.out" 2>&1 &
	local rcv=$!
	wait_for 10 grep -q listening "$W/$h.out" || fail "listener on $h"
	# B and C answer IKE from about 1.5 s on (A's attempts: 0, 0.5, 1.0, 2.0 s): started
	# now, since starting a process takes a good part of a second under emulation.
	case $h in b|c) ip netns exec "$TOPO_PREFIX-$h" sh -c 'sleep 1.2; nft delete table inet silent' & ;; esac
	topo_exec a python3 -c '
import socket, sys, time, errno
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if int(sys.argv[2]): s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, int(sys.argv[2]))
t0 = time.monotonic(); w0 = time.time(); errs = {}
for i in range(300):
    try:
        s.sendto(b"%d %.6f " % (i, w0) + b"x" * 1380, (sys.argv[1], 6000))
    except OSError as e:
        errs[errno.errorcode[e.errno]] = errs.get(errno.errorcode[e.errno], 0) + 1
    time.sleep(max(0, t0 + (i + 1) * 0.01 - time.monotonic()))
print("sendto errors:", errs or "none", "; the sender took %.2f s" % (time.monotonic() - t0), flush=True)' "$ip" "$3" > "$W/$h.snd" 2>&1 &
	local snd=$!
	wait $snd
	wait $rcv
	echo "  $E2E_DP, $2: $(cat "$W/$h.out" | tail -1); $(cat "$W/$h.snd"); $h's UDP RcvbufErrors: $(topo_exec $h awk '/^Udp:/ { if (n++) print $6 }' /proc/net/snmp)"
}
probe d "soft outcome, default send buffer" 0
probe e "soft outcome, 4 MiB send buffer" 4194304
probe b "secured outcome, default send buffer" 0
probe c "secured outcome, 4 MiB send buffer" 4194304
echo "  A's XFRM counters: $(xstat | tr '\n' ' ')"
echo "  A's stats: $(jget "$(ctl a stats)" 'r["result"]["packets"]')"
echo "  A's dataplane: $(jget "$(ctl a stats)" 'r["result"]["dataplane"]')"
echo "  A's peers: $(jget "$(ctl a peers)" '[(x["remote"], x["state"]) for x in r["result"]["peers"]]')"
