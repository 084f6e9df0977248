#!/bin/bash
# Kernel IPsec through src/dataplane/xfrm (driven by xfrm_driver), between two namespaces
# inside the VM (tests/vm/run.sh boots it; meson suite `vm`).  One boot, every scenario; each
# prints "ok" or "FAIL" lines, and the script fails when any check did.
#
#      ssxv-a-N (va) ---------------- (vb) ssxv-b-N
#      10.88.0.1, fd88::1                  10.88.0.2, fd88::2
#      10.99.1.1 on lo (tunnel inner)      10.99.2.1 on lo
#
# tcpdump in each namespace records what that host sends.  The SPIs are 0x1NNN for A->B, 0x2NNN for
# B->A; NNN is also the reqid's offset and the policies' slot.
set -u
D=${1:?usage: xfrm_scenarios.sh XFRM_DRIVER}
if [ "${SOFTSA_VM_GUEST:-}" != 1 ]; then
	echo "FAIL: run inside the VM: tests/vm/run.sh -- $0 $D"
	exit 1
fi
N=$$
A=ssxv-a-$N B=ssxv-b-$N
A4=10.88.0.1 B4=10.88.0.2 A6=fd88::1 B6=fd88::2
T=$(mktemp -d)
KEY_GCM=0102030405060708090a0b0c0d0e0f1011121314
KEY_CBC=00112233445566778899aabbccddeeff
KEY_SHA=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
BASE=$((0x5f5a0000))
fails=0

ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
# check "what" cmd...: ok when cmd succeeds
check() { local w=$1; shift; if "$@"; then ok "$w"; else bad "$w"; fi; }
# same "what" actual expected
same() { if [ "$2" = "$3" ]; then ok "$1 ($2)"; else bad "$1: got '$2', expected '$3'"; fi; }
ina() { ip netns exec "$A" "$@"; }
inb() { ip netns exec "$B" "$@"; }
reqid() { printf '%#x' $((BASE + $1)); }
# index slot dir(0 in, 1 out, 2 fwd): the index our policies carry
index() { printf '%#x' $((BASE + $1 * 8 + $2)); }
wait_ready() { local i; for i in $(seq 100); do grep -q ready "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

cleanup() {
	kill $(jobs -p) 2>/dev/null
	wait 2>/dev/null
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

ip netns add "$A" && ip netns add "$B" || { echo "FAIL: namespaces"; exit 1; }
ip link add va netns "$A" type veth peer name vb netns "$B"
ina ip addr add $A4/24 dev va
inb ip addr add $B4/24 dev vb
ina ip addr add $A6/64 dev va nodad
inb ip addr add $B6/64 dev vb nodad
ina ip addr add 10.99.1.1/32 dev lo
inb ip addr add 10.99.2.1/32 dev lo
for n in "$A" "$B"; do ip -n "$n" link set lo up; done
ina ip link set va up
inb ip link set vb up
ina ip route add 10.99.2.1/32 via $B4
inb ip route add 10.99.1.1/32 via $A4

# --- capture: what each host sends (-Q out), on both ends ------------------------------
# Outbound only: a receiving veth also shows tunnel mode's decapsulated inner packets, which
# the kernel hands back to the stack on the same device; they never cross the wire.
cap_start() {
	CAP_PIDS=
	ina timeout 120 tcpdump -i va -Q out -n -U --immediate-mode -B 16384 -w "$T/$1-$A.pcap" 2> "$T/$1-$A.tcpdump" &
	CAP_PIDS=$!
	inb timeout 120 tcpdump -i vb -Q out -n -U --immediate-mode -B 16384 -w "$T/$1-$B.pcap" 2> "$T/$1-$B.tcpdump" &
	CAP_PIDS="$CAP_PIDS $!"
	local i
	for i in $(seq 100); do
		[ "$(cat "$T/$1-"*.tcpdump 2>/dev/null | grep -c listening)" = 2 ] && return
		sleep 0.1
	done
}
# SIGTERM (a background job of a script ignores SIGINT), once both files stopped growing:
# under emulation tcpdump can lag behind a burst, and what it has not read yet is lost on exit.
cap_stop() {
	local i prev= cur
	for i in $(seq 40); do
		sleep 0.5
		cur=$(cat "$T"/*.pcap | wc -c)
		[ "$cur" = "$prev" ] && break
		prev=$cur
	done
	kill -TERM $CAP_PIDS
	wait $CAP_PIDS 2>/dev/null
}
# cap_count NAME FILTER: packets on the wire that match the filter
cap_count() {
	{ tcpdump -r "$T/$1-$A.pcap" -n "$2"; tcpdump -r "$T/$1-$B.pcap" -n "$2"; } 2>/dev/null | wc -l
}
# Not ESP, and neither ARP nor IPv6 neighbour discovery (which stay clear by design).
# What is not traffic between A and B: ARP, IPv6 neighbour discovery, and multicast (the MLD
# reports a fresh interface sends to ff02::16 at a random time after it comes up: once in a
# loaded run one fell into the first scenario's capture).
CLEAR='not esp and not arp and not (icmp6 and ip6[40] >= 133 and ip6[40] <= 137) and not ip6 multicast and not ip multicast'

# --- a host pair's SAs and policies: pair FAMILY NNN SUITE [MODE] ------------------
# Installs both SAs on both hosts and in/out policies (and fwd in tunnel mode) for A<->B.
sa_args() {
	case $1 in
	gcm) echo "--gcm $KEY_GCM --esn --window 128";;
	cbc) echo "--cbc $KEY_CBC --sha256 $KEY_SHA --window 64";;
	esac
}
pair() {
	local fam=$1 nnn=$2 suite=$3 mode=${4:-transport} a b sa sb r tun_ab= tun_ba= t= h
	r=$(reqid $((nnn)))
	if [ "$fam" = 6 ]; then a=$A6 b=$B6 sa=$A6/128 sb=$B6/128; else a=$A4 b=$B4 sa=$A4/32 sb=$B4/32; fi
	if [ "$mode" = tunnel ]; then
		t=--tunnel sa=10.99.1.1/32 sb=10.99.2.1/32
		tun_ab="--tunnel $a $b" tun_ba="--tunnel $b $a"
	fi
	for h in "$A" "$B"; do
		# shellcheck disable=SC2046
		ip netns exec "$h" "$D" sa $a $b $((0x1000 + nnn)) $r $(sa_args "$suite") $t &&
		ip netns exec "$h" "$D" sa $b $a $((0x2000 + nnn)) $r $(sa_args "$suite") $t ||
			bad "pair $fam $nnn: SA on $h"
	done
	ina "$D" policy out $sa $sb $nnn 100 --protect $r $tun_ab &&
	ina "$D" policy in $sb $sa $nnn 100 --protect $r $tun_ba &&
	inb "$D" policy out $sb $sa $nnn 100 --protect $r $tun_ba &&
	inb "$D" policy in $sa $sb $nnn 100 --protect $r $tun_ab || bad "pair $fam $nnn: policies"
	if [ "$mode" = tunnel ]; then
		ina "$D" policy fwd $sb $sa $nnn 100 --protect $r $tun_ba &&
		inb "$D" policy fwd $sa $sb $nnn 100 --protect $r $tun_ab || bad "pair $nnn: fwd policies"
	fi
}
# field NAME "k=v k=v...": the value of k
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# ip -s xfrm state's packet count for one SPI: iproute2 as an independent reader
ip_packets() {
	ip netns exec "$1" ip -s xfrm state | awk -v spi="$(printf '0x%08x' "$2")" '
		$0 ~ "spi " spi { f = 1 }
		f && /^[ \t]*[0-9]+\(bytes\), [0-9]+\(packets\)/ { sub(/\(packets\)/, "", $2); print $2; exit }'
}
# counters NAME HOST-OF-SENDER NNN SRC-ADDR: A->B ESP in the capture = A's out SA = B's in SA
counters() {
	local cap=$1 nnn=$2 src=$3 dst=$4 spi=$((0x1000 + $2)) esp out in
	esp=$(cap_count "$cap" "esp and src $src")
	out=$(ina "$D" get $dst $spi)
	in=$(inb "$D" get $dst $spi)
	check "$cap: ESP packets A->B on the wire" [ "$esp" -gt 0 ]
	same "$cap: A's outbound SA counts them" "$(field packets "$out")" "$esp"
	same "$cap: B's inbound SA counts them" "$(field packets "$in")" "$esp"
	same "$cap: ip -s xfrm state agrees" "$(ip_packets "$A" $spi)" "$esp"
	same "$cap: no replay or integrity failures" "$(field replay "$in")/$(field integrity "$in")" 0/0
}

echo "# kernel $(uname -r)"
same "probe: this kernel does ESP" "$("$D" probe)" "esp: yes"

# 1. IPv4 transport, AES-GCM-16 with ESN: ping and TCP, ESP only, counters.
pair 4 1 gcm
cap_start gcm4
check "gcm4: ping A->B" ina ping -c 3 -i 0.3 -W 3 -q $B4
head -c 200000 /dev/urandom > "$T/tx"
inb timeout 30 nc -l -N $B4 5001 > "$T/rx" &
sleep 1
ina timeout 30 nc -N $B4 5001 < "$T/tx"
wait $!
check "gcm4: 200 kB over TCP arrive intact" cmp -s "$T/tx" "$T/rx"
cap_stop
same "gcm4: nothing in the clear" "$(cap_count gcm4 "$CLEAR")" 0
counters gcm4 1 $A4 $B4
out=$(ina "$D" get $B4 $((0x1001)))
same "gcm4: ESN sequence = packets sent" "$(field seq_out "$out")" "$(field packets "$out")"

# 2. IPv6 transport, AES-CBC + HMAC-SHA-256-128.
pair 6 2 cbc
cap_start cbc6
check "cbc6: ping A->B" ina ping -6 -c 3 -i 0.3 -W 3 -q $B6
cap_stop
same "cbc6: nothing in the clear" "$(cap_count cbc6 "$CLEAR")" 0
counters cbc6 2 $A6 $B6

# 3. IPv4 tunnel mode between the inner addresses, with fwd policies.
pair 4 3 gcm tunnel
cap_start tun
check "tunnel: ping 10.99.1.1 -> 10.99.2.1" ina ping -c 3 -i 0.3 -W 3 -q -I 10.99.1.1 10.99.2.1
cap_stop
same "tunnel: no inner address on the wire" "$(cap_count tun 'host 10.99.1.1 or host 10.99.2.1')" 0
same "tunnel: nothing in the clear" "$(cap_count tun "$CLEAR")" 0
counters tun 3 $A4 $B4
check "tunnel: fwd policies installed" sh -c "ip netns exec $A ip xfrm policy | grep -q 'dir fwd'"

# 4. UDP encapsulation (NAT-T, RFC 3948) for UDP to port 6000, above the transport pair.
r=$(reqid 4)
for h in "$A" "$B"; do
	ip netns exec "$h" "$D" encap-sock 4500 60 > "$T/encap-$h" &
	ip netns exec "$h" "$D" sa $A4 $B4 $((0x1004)) $r --gcm $KEY_GCM --window 32 --encap 4500 4500 &&
	ip netns exec "$h" "$D" sa $B4 $A4 $((0x2004)) $r --gcm $KEY_GCM --window 32 --encap 4500 4500 ||
		bad "encap: SAs"
done
ina "$D" policy out $A4/32 $B4/32 4 50 --protect $r --proto 17 --dport 6000
inb "$D" policy in $A4/32 $B4/32 4 50 --protect $r --proto 17 --dport 6000
wait_ready "$T/encap-$A"; wait_ready "$T/encap-$B"
inb "$D" udp-recv 4 6000 20 > "$T/recv6000" &
rp=$!
wait_ready "$T/recv6000"
cap_start encap
ina "$D" udp-send $B4 6000
wait $rp
check "encap: the datagram arrives" grep -q "got 6 bytes from $A4" "$T/recv6000"
cap_stop
check "encap: ESP in UDP 4500 on the wire" [ "$(cap_count encap 'udp port 4500')" -gt 0 ]
same "encap: no UDP 6000 in the clear" "$(cap_count encap 'udp port 6000')" 0
same "encap: A's SA counts it" "$(field packets "$(ina "$D" get $B4 $((0x1004)))")" 1

# 5. ACQUIRE: a policy whose SA does not exist.
ina "$D" policy out $A4/32 $B4/32 5 40 --protect "$(reqid 5)" --proto 17 --dport 7777
ina "$D" watch 60 1 acquire > "$T/acq" &
wp=$!
wait_ready "$T/acq"
ina "$D" udp-send $B4 7777
wait $wp
check "acquire: raised for the packet, with our policy and reqid" \
	grep -q "^acquire sel=$A4/32>$B4/32 proto=17 dport=7777 sa=$A4>$B4 reqid=$(reqid 5) index=$(index 5 1) dir=out" "$T/acq"
# Answered by an SA carrying the ACQUIRE's sequence number: it replaces the kernel's larval
# state (spi 0) for that flow.
seq=$(sed -n 's/^acquire .* seq=\([0-9]*\)$/\1/p' "$T/acq")
check "acquire: a larval state waits" sh -c "ip netns exec $A ip xfrm state | grep -q 'spi 0x00000000 reqid $((BASE + 5))'"
check "acquire: answered with its sequence number" \
	ina "$D" sa $A4 $B4 $((0x1005)) "$(reqid 5)" --gcm $KEY_GCM --window 32 --acquire-seq "$seq"
check "acquire: the larval state is gone" sh -c "! ip netns exec $A ip xfrm state | grep -q 'spi 0x00000000 reqid $((BASE + 5))'"

# 6. Lifetimes.  Time: a soft then a hard EXPIRE, then the SA is gone.
ina "$D" watch 60 2 expire > "$T/exp" &
wp=$!
wait_ready "$T/exp"
ina "$D" sa 192.0.2.1 192.0.2.2 $((0x3006)) "$(reqid 6)" --gcm $KEY_GCM --soft-secs 2 --hard-secs 4
wait $wp
same "expire (time): soft, then hard" "$(grep -v ready "$T/exp" | cut -d' ' -f1-3 | tr '\n' ' ')" \
	"expire soft spi=0x3006 expire hard spi=0x3006 "
check "expire (time): the SA is gone after the hard one" sh -c "! ip netns exec $A $D get 192.0.2.2 $((0x3006)) 2>/dev/null"
# Packets: soft at 2, hard at 4, then the policy finds no SA and asks for one.
r=$(reqid 7)
ina "$D" sa $A4 $B4 $((0x1007)) $r --gcm $KEY_GCM --window 32 --soft-packets 2 --hard-packets 4
inb "$D" sa $A4 $B4 $((0x1007)) $r --gcm $KEY_GCM --window 32
ina "$D" policy out $A4/32 $B4/32 7 40 --protect $r --proto 17 --dport 6001
inb "$D" policy in $A4/32 $B4/32 7 40 --protect $r --proto 17 --dport 6001
ina "$D" watch 60 3 > "$T/exp2" &
wp=$!
wait_ready "$T/exp2"
# The 5th finds the hard limit reached and is dropped; the 6th finds no SA.
for i in 1 2 3 4 5; do ina "$D" udp-send $B4 6001 2>/dev/null; done
sleep 1
ina "$D" udp-send $B4 6001
wait $wp
same "expire (packets): soft, hard, then ACQUIRE" "$(grep -v ready "$T/exp2" | cut -d' ' -f1-3 | tr '\n' ' ')" \
	"expire soft spi=0x1007 expire hard spi=0x1007 acquire sel=$A4/32>$B4/32 proto=17 "
same "expire (packets): B received the 4 the SA allowed" "$(field packets "$(inb "$D" get $B4 $((0x1007)))")" 4

# 7. Block and bypass policies above the protected pair.
ina "$D" policy out $A4/32 $B4/32 8 30 --block --proto 6 --dport 5002
cap_start block
check "block: TCP to port 5002 refused locally" sh -c "! ip netns exec $A nc -z -w 3 $B4 5002 2>/dev/null"
cap_stop
same "block: not one packet on the wire" "$(cap_count block 'tcp or esp')" 0
ina "$D" policy out $A4/32 $B4/32 9 30 --bypass --proto 17 --dport 5003
inb "$D" policy in $A4/32 $B4/32 9 30 --bypass --proto 17 --dport 5003
inb "$D" udp-recv 4 5003 20 > "$T/recv5003" &
rp=$!
wait_ready "$T/recv5003"
cap_start bypass
ina "$D" udp-send $B4 5003
wait $rp
cap_stop
check "bypass: the datagram arrives" grep -q "got 6 bytes" "$T/recv5003"
same "bypass: it went in the clear" "$(cap_count bypass 'udp dst port 5003')" 1
# A bypass that the kernel removes when idle: kept alive by traffic past its idle time, then
# removed with a POLEXPIRE (the soft association's end, without softsad in the packet path).
ina "$D" watch 60 1 polexpire > "$T/polexp" &
wp=$!
wait_ready "$T/polexp"
ina "$D" policy out $A4/32 $B4/32 10 30 --bypass --proto 17 --dport 5004 --idle 5
ina "$D" udp-send $B4 5004 --every 500 --for 10
check "idle bypass: alive after 10 s of traffic (idle 5 s)" sh -c "ip netns exec $A ip xfrm policy | grep -q 'dport 5004'"
wait $wp
check "idle bypass: POLEXPIRE once idle" grep -q "^polexpire hard index=$(index 10 1) dir=out" "$T/polexp"
check "idle bypass: the policy is gone" sh -c "! ip netns exec $A ip xfrm policy | grep -q 'dport 5004'"

# 8. Per-socket bypass (the IKE sockets): through a block policy for UDP 500.
ina "$D" policy out $A4/32 $B4/32 11 20 --block --proto 17 --dport 500
check "socket bypass: without it the block policy refuses" sh -c "! ip netns exec $A $D udp-send $B4 500 2>/dev/null"
inb "$D" udp-recv 4 500 20 --bypass > "$T/recv500" &
rp=$!
wait_ready "$T/recv500"
check "socket bypass: with it the datagram leaves" ina "$D" udp-send $B4 500 --bypass
wait $rp
check "socket bypass: and arrives at B's bypassing socket" grep -q "got 6 bytes from $A4" "$T/recv500"

# 9. Held packets: with xfrm_larval_drop=0 the kernel queues what waits for an SA.  Both
# outcomes: the SA comes up (sent as ESP), or a bypass is put above the policy (sent clear).
ina sysctl -qw net.core.xfrm_larval_drop=0
r=$(reqid 12)
ina "$D" policy out $A4/32 $B4/32 12 40 --protect $r --proto 17 --dport 7001
inb "$D" policy in $A4/32 $B4/32 12 40 --protect $r --proto 17 --dport 7001
# The negotiate policy of a filter (a /24), and later a peer's bypass, more specific (the
# kernel keeps one policy per selector and direction, whatever the priority).
ina "$D" policy out 10.88.0.0/24 10.88.0.0/24 13 40 --protect "$(reqid 13)" --proto 17 --dport 7002
inb "$D" policy in $A4/32 $B4/32 13 30 --bypass --proto 17 --dport 7002
inb "$D" udp-recv 4 7001 90 > "$T/recv7001" &
r1=$!
inb "$D" udp-recv 4 7002 90 > "$T/recv7002" &
r2=$!
ina "$D" watch 60 2 acquire > "$T/acq2" &
wp=$!
wait_ready "$T/acq2"; wait_ready "$T/recv7001"; wait_ready "$T/recv7002"
cap_start held
ina "$D" udp-send $B4 7001
ina "$D" udp-send $B4 7002
wait $wp
same "held: two ACQUIREs, nothing sent yet" "$(grep -c '^acquire' "$T/acq2")/$(cap_count held 'udp or esp')" 2/0
# B's inbound SA first: A's queue is released as soon as its SA is there.
inb "$D" sa $A4 $B4 $((0x100c)) $r --gcm $KEY_GCM --window 32
ina "$D" sa $A4 $B4 $((0x100c)) $r --gcm $KEY_GCM --window 32
ina "$D" policy out $A4/32 $B4/32 14 30 --bypass --proto 17 --dport 7002
wait $r1 $r2
cap_stop
check "held: released as ESP once the SA is up" grep -q "got 6 bytes" "$T/recv7001"
check "held: released in the clear once bypassed" grep -q "got 6 bytes" "$T/recv7002"
same "held: on the wire, one ESP and one clear datagram" \
	"$(cap_count held esp)/$(cap_count held 'udp dst port 7002')" 1/1

# 10. Only ours goes: a foreign state and policy (`ip xfrm` by hand) survive.
ina ip xfrm state add src $A4 dst 10.88.0.9 proto esp spi 0x777 reqid 7 mode transport \
	aead 'rfc4106(gcm(aes))' 0x$KEY_GCM 128
ina ip xfrm policy add src $A4/32 dst 10.88.0.9/32 dir out priority 100 \
	tmpl proto esp reqid 7 mode transport
# Ours as iproute2 lists them: states by reqid, the larval states of unanswered ACQUIREs (spi
# 0) included: remove-ours numbers each (ALLOCSPI) and then deletes it; policies by priority.
larval_before=$(ina ip xfrm state | grep -c 'spi 0x00000000')
ours_s=$(ina ip xfrm state | awk -v lo=$BASE -v hi=$((BASE + 0x10000)) '
	/ reqid / { for (i = 1; i < NF; i++) if ($i == "reqid" && $(i+1) >= lo && $(i+1) < hi) n++ }
	END { print n + 0 }')
ours_p=$(ina ip xfrm policy | awk -v lo=$((0x50000)) -v hi=$((0x60000)) '
	/ priority / { for (i = 1; i < NF; i++) if ($i == "priority" && $(i+1) >= lo && $(i+1) < hi) n++ }
	END { print n + 0 }')
out=$(ina "$D" remove-ours)
same "remove-ours: counts what it removed" "$out" "states=$ours_s policies=$ours_p"
same "remove-ours: the foreign state survives, alone" \
	"$(ina ip xfrm state | grep -v 'spi 0x00000000' | grep -c ' spi ')/$(ina ip xfrm state | grep -c 'spi 0x00000777')" 1/1
# Per-socket policies (listed as "socket in/out") belong to a live socket, not to the
# table that remove-ours cleans: only the table's own policies ("dir ...") count.
same "remove-ours: the foreign policy survives, alone" "$(ina ip xfrm policy | grep -c '	dir ')/$(ina ip xfrm policy | grep -c 'priority 100 ')" 1/1
same "remove-ours: again, nothing left of ours" "$(ina "$D" remove-ours)" "states=0 policies=0"
same "remove-ours: larval states of ours gone too ($larval_before before)" "$(ina ip xfrm state | grep -c 'spi 0x00000000')" 0

# 11. The kernel backend of dataplane.h (src/dataplane/xfrm/backend.c) as softsad drives it,
# with a soft association: the held ping goes out in the clear, the bypass expires in the
# kernel after 4 s idle, and the next packet negotiates again (a second ACQUIRE).  The
# kernel raises one ACQUIRE per flow until its larval state expires (xfrm_acq_expires,
# 30 s by default): 3 s here, so that the flow can negotiate again within the test.
inb "$D" remove-ours > /dev/null
ina sysctl -qw net.core.xfrm_acq_expires=3
# The driver gets 90 s and is ended (SIGTERM) once the second ACQUIRE came: under a loaded
# emulation the steps below took more than the 25 s it used to have.
# (ip netns exec straight, not through ina: $! must be the driver itself, which ip execs, not
# a subshell whose death leaves the driver running and holding the NFLOG group.)
ip netns exec "$A" "$D" dp $A4 $B4 90 soft > "$T/dps" &
ap=$!
wait_ready "$T/dps"
cap_start soft
# The bypass is looked at while the ping keeps it in use: it goes 4 s after its last use,
# which a slow emulated run could pass between the ping's end and the look.
ina ping -c 6 -i 0.5 -W 10 -q $B4 > "$T/soft-ping" &
pp=$!
for i in $(seq 50); do
	ina ip -s xfrm policy | grep -q 'expire use: soft 0(sec), hard 4(sec)' && break
	sleep 0.2
done
check "soft: an idle-expiring bypass" sh -c "ip netns exec $A ip -s xfrm policy | grep -q 'expire use: soft 0(sec), hard 4(sec)'"
check "soft: ping A->B released in the clear" wait $pp
cap_stop
same "soft: no ESP" "$(cap_count soft esp)" 0
check "soft: clear echo requests on the wire" [ "$(cap_count soft "icmp[icmptype] == icmp-echo and src $A4")" -ge 2 ]
sleep 8
check "soft: gone once idle" sh -c "! ip netns exec $A ip -s xfrm policy | grep -q 'hard 4(sec)'"
ina ping -c 1 -W 1 -q $B4 > /dev/null
for i in $(seq 50); do [ "$(grep -c '^event acquire' "$T/dps")" -ge 2 ] && break; sleep 0.2; done
kill -TERM $ap
wait $ap
check "soft: the next packet negotiates again (a second ACQUIRE)" [ "$(grep -c '^event acquire' "$T/dps")" -ge 2 ]

# 12. The kernel backend as softsad drives it, secured:
# A's negotiate filter raises ACQUIRE for the first ping (the kernel queues it), the SAs and
# the secured peer's policies come, the ping goes through as ESP; B is secured from the start.
inb "$D" dp $B4 $A4 15 secure-now $((0x2100)) $((0x1100)) > "$T/dpb" &
bp=$!
ina "$D" dp $A4 $B4 15 secure $((0x1100)) $((0x2100)) > "$T/dpa" &
ap=$!
wait_ready "$T/dpa"; wait_ready "$T/dpb"
cap_start dp
check "backend: ping A->B, the first packet held until secured" ina ping -c 3 -i 0.5 -W 10 -q $B4
cap_stop
wait $ap $bp
check "backend: ACQUIRE from the negotiate filter" grep -q "^event acquire $A4>$B4 " "$T/dpa"
check "backend: then secured" grep -q "^secure: done" "$T/dpa"
same "backend: nothing in the clear" "$(cap_count dp "$CLEAR")" 0
esp=$(cap_count dp "esp and src $A4")
same "backend: A's SA counters = ESP on the wire" "$(grep '^out packets' "$T/dpa")" "out packets=$esp in packets=$esp"
check "backend: closed" grep -q "^closed" "$T/dpa"
ours_left() {
	ip netns exec "$1" ip xfrm policy | awk -v lo=$((0x50000)) -v hi=$((0x60000)) '
		/ priority / { for (i = 1; i < NF; i++) if ($i == "priority" && $(i+1) >= lo && $(i+1) < hi) n++ }
		END { print n + 0 }'
	ip netns exec "$1" ip xfrm state | grep -v 'spi 0x00000000' | grep -c "reqid 15997"
}
same "backend: closing removed its policies and SAs" "$(ours_left "$A" | tr '\n' /)" "0/0/"

# 13. Changes of state of a peer that has policies (the kernel keeps one policy per selector
# and direction, and refuses a second): on the ACQUIRE soft, then secured by its SAs, then
# secured again (the next CHILD SA with it), each replacing the peer's policies in place;
# then its traffic is ESP only, under one out and one in policy of ours.
inb "$D" remove-ours > /dev/null
ina "$D" remove-ours > /dev/null
inb "$D" dp $B4 $A4 20 secure-now $((0x2200)) $((0x1200)) > "$T/dpb2" &
bp=$!
ina "$D" dp $A4 $B4 20 soft-secure $((0x1200)) $((0x2200)) > "$T/dpa2" &
ap=$!
wait_ready "$T/dpa2"; wait_ready "$T/dpb2"
ina ping -c 1 -W 5 -q $B4 > /dev/null # raises the ACQUIRE
for i in $(seq 50); do grep -q '^again:' "$T/dpa2" && break; sleep 0.2; done
same "changes: soft, secured, secured again" "$(grep -E '^(soft|secure|again):' "$T/dpa2" | tr '\n' ' ')" \
	"soft: done secure: done again: done "
# esp_pols SEL DIR: A's policies with exactly that selector line and direction, with an
# ESP template (iproute2's own filter takes 0.0.0.0/0 as "any source").
esp_pols() {
	ina ip xfrm policy | awk -v sel="$1" -v dir="$2" '
		/^src/ { f = ($0 ~ "^" sel "[ \t]*$") } f && $1 == "dir" { f = ($2 == dir) }
		f && /proto esp/ { n++ } END { print n + 0 }'
}
same "changes: one ESP policy each way for the peer" \
	"$(esp_pols "src 0.0.0.0/0 dst $B4/32" out)/$(esp_pols "src $B4/32 dst 0.0.0.0/0" in)" 1/1
cap_start changes
check "changes: ping A->B" ina ping -c 3 -i 0.3 -W 5 -q $B4
cap_stop
same "changes: nothing in the clear" "$(cap_count changes "$CLEAR")" 0
check "changes: ESP on the wire" [ "$(cap_count changes "esp and src $A4")" -ge 3 ]
wait $ap $bp
check "changes: closed" grep -q "^closed" "$T/dpa2"

# 14. The backend's secured peer with ESP in UDP (a NAT, or udp_encap: always): the backend makes the NAT-T socket
# it is handed take ESP in UDP for the kernel (UDP_ENCAP_ESPINUDP), so that the replies, ESP in
# UDP from B, are decapsulated too (A's inbound counter); without it they would reach the socket.
inb "$D" dp $B4 $A4 15 secure-now $((0x2200)) $((0x1200)) encap > "$T/dueb" &
bp=$!
ina "$D" dp $A4 $B4 15 secure $((0x1200)) $((0x2200)) encap > "$T/duea" &
ap=$!
wait_ready "$T/duea"; wait_ready "$T/dueb"
cap_start dpu
# A first ping raises the ACQUIRE and waits (held) while the SAs go in; what this scenario is
# about, the decapsulation, is checked on the three after it.  (That first one was lost in 2
# of 4 runs after the hold moved into the backend's NFQUEUE: an open question, see
# src/dataplane/xfrm/README.md; the wire and the SA counters still have to agree.)
ina ping -c 1 -W 5 -q $B4 > /dev/null
check "backend, ESP in UDP: ping A->B" ina ping -c 3 -i 0.5 -W 10 -q $B4
cap_stop
wait $ap $bp
same "backend, ESP in UDP: no raw ESP" "$(cap_count dpu esp)" 0
same "backend, ESP in UDP: nothing in the clear" \
	"$(cap_count dpu 'not udp port 4501 and not arp and not (icmp6 and ip6[40] >= 133 and ip6[40] <= 137)')" 0
esp=$(cap_count dpu "udp port 4501 and src $A4")
check "backend, ESP in UDP: on the wire" [ "$esp" -ge 3 ]
same "backend, ESP in UDP: A's SA counters = ESP in UDP on the wire, both ways" "$(grep '^out packets' "$T/duea")" \
	"out packets=$esp in packets=$esp"

# 15. A gateway's tunnel (a tunnel filter: A's network 10.99.1.1 -> B's 10.99.2.1 through the
# endpoint B) as softsad drives it: the ACQUIRE names the gateways' pair, not the inner one;
# the endpoint's state is tunnel-mode ESP policies on the networks' selectors (out, and in and
# fwd the other way: forwarded traffic meets fwd), and no host policies with B; ESP only.
inb "$D" remove-ours > /dev/null
ina "$D" remove-ours > /dev/null
inb "$D" dp $B4 $A4 20 secure-now $((0x2300)) $((0x1300)) tunnel 10.99.2.1/32 10.99.1.1/32 > "$T/dtb" &
bp=$!
ina "$D" dp $A4 $B4 20 secure $((0x1300)) $((0x2300)) tunnel 10.99.1.1/32 10.99.2.1/32 > "$T/dta" &
ap=$!
wait_ready "$T/dta"; wait_ready "$T/dtb"
cap_start gwt
check "gateway tunnel: ping 10.99.1.1 -> 10.99.2.1, the first packet held until secured" \
	ina ping -c 3 -i 0.5 -W 10 -q -I 10.99.1.1 10.99.2.1
cap_stop
check "gateway tunnel: the ACQUIRE names the gateways" grep -q "^event acquire $A4>$B4 " "$T/dta"
check "gateway tunnel: then secured" grep -q "^secure: done" "$T/dta"
# The filter's own out policy (ACQUIRE) and the endpoint's; in and fwd: the endpoint's (the
# filter's own block them).
same "gateway tunnel: ESP policies out/in/fwd on the networks" \
	"$(esp_pols "src 10.99.1.1/32 dst 10.99.2.1/32" out)/$(esp_pols "src 10.99.2.1/32 dst 10.99.1.1/32" in)/$(esp_pols "src 10.99.2.1/32 dst 10.99.1.1/32" fwd)" 2/1/1
same "gateway tunnel: tunnel-mode templates between the gateways" \
	"$(ina ip xfrm policy | grep -c "tmpl src $A4 dst $B4")/$(ina ip xfrm policy | grep -c "tmpl src $B4 dst $A4")" 1/2
same "gateway tunnel: no host policies with the endpoint" \
	"$(esp_pols "src 0.0.0.0/0 dst $B4/32" out)/$(esp_pols "src $B4/32 dst 0.0.0.0/0" in)" 0/0
same "gateway tunnel: no inner address on the wire" "$(cap_count gwt 'host 10.99.1.1 or host 10.99.2.1')" 0
same "gateway tunnel: nothing in the clear" "$(cap_count gwt "$CLEAR")" 0
esp=$(cap_count gwt "esp and src $A4")
check "gateway tunnel: ESP on the wire" [ "$esp" -ge 3 ]
wait $ap $bp
same "gateway tunnel: A's SA counters = ESP on the wire, both ways" "$(grep '^out packets' "$T/dta")" \
	"out packets=$esp in packets=$esp"
same "gateway tunnel: closing removed its policies and SAs" "$(ours_left "$A" | tr '\n' /)" "0/0/"

# 16. The same gateway tunnel soft (the endpoint never answered IKE): bypasses on the networks'
# selectors (out, in, fwd) that expire when idle; the ping goes in the clear, the kernel removes
# the bypasses once idle (the unused fwd put back while the others carry traffic), and the next
# packet negotiates again (a second ACQUIRE, under the gateways' pair).
inb "$D" remove-ours > /dev/null
ina "$D" remove-ours > /dev/null
# (40 s: the look at the policies and the captures take seconds each under emulation, and the
# last ping must come while the driver still runs)
ina "$D" dp $A4 $B4 40 soft 0 0 tunnel 10.99.1.1/32 10.99.2.1/32 > "$T/dts" &
ap=$!
wait_ready "$T/dts"
cap_start gws
ina ping -c 6 -i 0.5 -W 10 -q -I 10.99.1.1 10.99.2.1 > "$T/gws-ping" &
pp=$!
idle_bypasses() { ina ip -s xfrm policy | grep -c 'expire use: soft 0(sec), hard 4(sec)'; }
for i in $(seq 50); do [ "$(idle_bypasses)" = 3 ] && break; sleep 0.2; done
same "gateway tunnel soft: idle-expiring bypasses out, in and fwd" "$(idle_bypasses)" 3
check "gateway tunnel soft: ping released in the clear" wait $pp
cap_stop
same "gateway tunnel soft: no ESP" "$(cap_count gws esp)" 0
check "gateway tunnel soft: clear echo requests on the wire" \
	[ "$(cap_count gws "icmp[icmptype] == icmp-echo and src 10.99.1.1")" -ge 2 ]
sleep 9
same "gateway tunnel soft: gone once idle" "$(idle_bypasses)" 0
ina ping -c 1 -W 1 -q -I 10.99.1.1 10.99.2.1 > /dev/null
wait $ap
# (at least: the unanswered packet waits in the kernel's queue and acquires again each time its
# larval state expires, 3 s here)
check "gateway tunnel soft: the next packet negotiates again (a second ACQUIRE, the gateways' pair)" \
	[ "$(grep -c "^event acquire $A4>$B4 " "$T/dts")" -ge 2 ]
check "gateway tunnel soft: no ACQUIRE under the inner pair" sh -c "! grep -q '^event acquire 10.99' $T/dts"
check "gateway tunnel soft: closed" grep -q "^closed" "$T/dts"

# 17. The same gateway tunnel with its endpoint blocked (it answered IKE and refused): block
# policies out, in and fwd on the networks; the ping gets nowhere, nothing of it on the wire, and
# B's own address is not blocked (no host policies with the endpoint: its ping still passes).
inb "$D" remove-ours > /dev/null
ina "$D" remove-ours > /dev/null
ina "$D" dp $A4 $B4 15 block 0 0 tunnel 10.99.1.1/32 10.99.2.1/32 > "$T/dtk" &
ap=$!
wait_ready "$T/dtk"
cap_start gwk
ina ping -c 2 -i 0.5 -W 2 -q -I 10.99.1.1 10.99.2.1 > /dev/null 2>&1
for i in $(seq 50); do grep -q '^block:' "$T/dtk" && break; sleep 0.2; done
check "gateway tunnel blocked: the inner ping does not pass" sh -c "! ip netns exec $A ping -c 2 -i 0.5 -W 2 -q -I 10.99.1.1 10.99.2.1"
check "gateway tunnel blocked: the endpoint itself still answers" ina ping -c 1 -W 5 -q $B4
same "gateway tunnel blocked: block policies out, in and fwd on the networks" \
	"$(ina ip xfrm policy | grep -B1 'action block' | grep -c 'src 10.99.[12].1/32 dst 10.99.[12].1/32')" 5
cap_stop
same "gateway tunnel blocked: nothing from the inner address on the wire" "$(cap_count gwk 'host 10.99.1.1')" 0
wait $ap
check "gateway tunnel blocked: closed" grep -q "^closed" "$T/dtk"

echo "# $fails failed"
[ "$fails" = 0 ]
