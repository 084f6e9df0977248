#!/bin/bash
# (6) ESP: raw IP protocol 50 and UDP-4500-encapsulated packets sent by the driver reach
# B's sockets (IPv4 and IPv6); ESP from B reaches the driver; an inner packet written to the
# TUN is delivered to a local socket of A.
# Topology: see lib.sh.
. "$(dirname "$0")/lib.sh"
topo_up
# shellcheck disable=SC2086
drv_start --udp-port 4500 $FILTERS

bg esp $B esp-recv 3000 3 4500
drv send-esp $B4 0x1234
expect sent
drv send-esp $B4 0x5678 4500
expect sent
drv send-esp $B6 0x9abc
expect sent
bg_wait esp
grep -q "esp-raw4 from $A4 spi=0x00001234" "$TMP/esp" || fail "raw ESP not at B"
grep -q "esp-udp from $A4 spi=0x00005678" "$TMP/esp" || fail "ESP-in-UDP not at B"
grep -q "esp-raw6 from $A6 spi=0x00009abc" "$TMP/esp" || fail "IPv6 raw ESP not at B"
ok "ESP A->B: raw v4, UDP 4500, raw v6"

# A burst of ESP-in-UDP to one peer leaves as one UDP GSO send (20 x 300 B + 1 x 120 B);
# B receives every datagram at its own size.
bg burst $B esp-recv 3000 21 4500
drv send-esp-burst $B4 0x4242 4500 21 300 120
expect "sent 21 gso=1 err=0"
bg_wait burst
grep -q "got 21 bytes=6120" "$TMP/burst" || fail "GSO burst: wrong datagrams at B"
bg burst6 $B esp-recv 3000 10 4500
drv send-esp-burst $B6 0x4243 4500 10 200 200
expect "sent 10 gso=1 err=0"
bg_wait burst6
grep -q "got 10 bytes=2000" "$TMP/burst6" || fail "GSO burst (IPv6): wrong datagrams at B"
ok "ESP-in-UDP bursts leave as UDP GSO sends and arrive as separate datagrams (v4, v6)"

probe $B esp-send $A4 0xdead0001 || fail "ESP from B"
drv recv-esp 2000
expect "esp from $B4 to $A4 port=0 kind=esp spi=0xdead0001 len=48"
probe $B udp-send $A4 4500 "xxxxIKE" 4500 || fail "UDP 4500 from B"
drv recv-esp 2000
expect "esp from $B4 to $A4 port=4500 kind=esp spi=0x78787878 len=7"
# IKE behind the non-ESP marker on the encapsulation port is told apart (RFC 3948 §2.2).
probe $B udp-send $A4 4500 hex:00000000696b6531 4500 || fail "IKE to 4500 from B"
drv recv-esp 2000
expect "esp from $B4 to $A4 port=4500 kind=ike spi=0x696b6531 len=4"
probe $B esp-send $A6 0xdead0006 || fail "ESP from B over IPv6"
drv recv-esp 2000
expect "esp from $B6 to $A6 port=0 kind=esp spi=0xdead0006 len=48"
ok "ESP B->A received (raw v4, UDP 4500, raw v6)"

for mode in plain vnet; do
	if [ $mode = vnet ]; then
		drv_quit
		# shellcheck disable=SC2086
		drv_start --vnet $FILTERS
	fi
	bg inner $A udp-recv 7779 2000 1
	drv deliver-udp $B4 $A4 4444 7779 inner-hello
	expect delivered
	bg_wait inner
	grep -q "udp from $B4: inner-hello" "$TMP/inner" || fail "inner packet not delivered"
	bg inner6 $A udp-recv 7779 2000 1
	drv deliver-udp $B6 $A6 4444 7779 inner-hello6
	expect delivered
	bg_wait inner6
	ok "$mode: inner packets written to the TUN reach A's sockets (v4, v6)"
done
drv_quit
