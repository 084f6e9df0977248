#!/bin/bash
# The kernel dataplane's held packets (src/dataplane/xfrm/hold.h) on this host's kernel, which
# has nfnetlink_queue and XFRM but no ESP: an nftables rule queues A's UDP to port 7000 as
# the backend's table does (no bypass flag); hold_driver takes them and gives verdicts.
#   clear: sent again through the raw socket and received by B (IPv4 and IPv6, and a
#          3000-byte datagram, over the MTU: in IPv4 fragments that B reassembles);
#   drop / no verdict (undecided): never received;  hold: received after the last one;
#   marked packets (softsad's own, as the re-sent ones are) are not queued again;
#   no reader (softsad gone): the queued datagram is dropped, fail closed.
# usage: dp_hold.sh HOLD_DRIVER|SOFTSAD   (skipped where the kernel has no nft_queue, as on
# the CI host; in vm-e2e it runs in the VM)
. "$(dirname "$0")/e2e_lib.sh" "$@"
DRV=$SOFTSAD # e2e_lib takes argument 1 as the binary under test
# vm-e2e (tests/vm/e2e_softsad.sh) gives every script softsad: the driver is built beside it.
[ "$(basename "$DRV")" = softsad ] && DRV=$(dirname "$DRV")/../../tests/netns/hold_driver
topo_up "$NSP-hq$$" a b || fail "topology"
if ! topo_exec a nft -f - <<'NFT' 2>"$W/nft.err"; then
table inet hq {
	chain out {
		type filter hook output priority filter; policy accept;
		meta mark 0x100000 accept
		udp dport 7000 queue num 77
	}
}
NFT
	# This CI host's kernel has no nft_queue; the VM's (Debian's) has.
	grep -q "No such file or directory" "$W/nft.err" && { echo "SKIP: this kernel has no nft_queue (run it in tests/vm)"; exit 77; }
	fail "nft: $(cat "$W/nft.err")"
fi
recv_b() { # recv_b SECONDS [N]: what B receives on port 7000 (v4 and v6), one line each, until N
	ip netns exec $TOPO_PREFIX-b timeout $(($1 + 5)) python3 -c '
import socket, select, sys, time
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s4.bind(("0.0.0.0", 7000))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s6.bind(("::", 7000))
print("listening", flush=True)
end, n = time.time() + float(sys.argv[1]), 0
while time.time() < end and n < int(sys.argv[2]):
    for s in select.select([s4, s6], [], [], 0.2)[0]:
        d = s.recv(4000)
        n += 1
        print(d.split(b" ")[0].decode(), len(d), flush=True)' "$1" "${2:-1000}"
}
send_a() { # send_a ADDR/WORD/SIZE...: one datagram each, 0.2 s apart, from one process
	topo_exec a python3 -c '
import socket, sys, time
for a in sys.argv[1:]:
    addr, word, size = a.rsplit("/", 2)
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.sendto(word.encode() + b" " + b"x" * (int(size) - len(word) - 1), (addr, 7000))
    time.sleep(0.2)' "$@"
}
# The five that must arrive, or 25 s; the dropped and undecided ones were sent before them.
recv_b 25 5 > "$W/b.out" 2>&1 &
rb=$!
wait_for 5 grep -q listening "$W/b.out" || fail "receiver on B"
ip netns exec $TOPO_PREFIX-a "$DRV" 77 0x100000 7 clear drop none hold clear hold clear > "$W/drv.out" 2>&1 &
drv=$!
topo_track $drv
wait_for 5 grep -q ready "$W/drv.out" || fail "driver: $(cat "$W/drv.out")"
b4=$(topo_ip b) b6=$(topo_ip b 6)
send_a "$b4/p0/100" "$b4/p1/100" "$b4/p2/100" "$b4/p3/100" "$b4/p4/100" "$b6/p5/100" "$b4/p6/3000"
wait $drv || fail "driver: $(cat "$W/drv.out")"
wait $rb
echo "  driver: $(tr '\n' ';' < "$W/drv.out")"
echo "  B got: $(tr '\n' ' ' < "$W/b.out")"
got=$(grep -v listening "$W/b.out" | sort | tr '\n' ' ')
[ "$got" = "p0 100 p3 100 p4 100 p5 100 p6 3000 " ] || fail "B received: $got"
grep -q "acquire $b4 proto=17 dport=7000 len=128 clear" "$W/drv.out" || fail "the first acquire: $(cat "$W/drv.out")"
grep -q "acquire $b6 proto=17 dport=7000 len=148 hold" "$W/drv.out" || fail "the IPv6 acquire: $(cat "$W/drv.out")"
grep -q "acquire $b4 proto=17 dport=7000 len=3028 clear" "$W/drv.out" || fail "the large datagram, whole: $(cat "$W/drv.out")"
grep -q "kept 2$" "$W/drv.out" || fail "two held until the end: $(cat "$W/drv.out")"
grep -q "captured=7 clear=5 release_err=0 undecided=1 unparsable=0 kept=0" "$W/drv.out" || fail "counters: $(cat "$W/drv.out")"
ok "clear, drop, no verdict, hold: B got exactly the cleared and the held ones (IPv4, IPv6, 3000 bytes in fragments), each once"

# No reader: the rule has no bypass flag, so the kernel drops (softsad gone: fail closed).
recv_b 3 > "$W/b2.out" 2>&1 &
rb=$!
wait_for 5 grep -q listening "$W/b2.out" || fail "receiver on B"
send_a "$b4/lost/100"
wait $rb
[ -z "$(grep -v listening "$W/b2.out")" ] || fail "B received without a reader: $(cat "$W/b2.out")"
ok "without a reader the queued datagram is dropped (fail closed)"
echo PASS
