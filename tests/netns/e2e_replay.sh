#!/bin/bash
# Replayed and tampered ESP packets are dropped and counted.
#
#        +------------- bridge br0 (netns sse-rp-br) -------------+
#        |                          |                             |
#   A 10.89.0.1  softsad       C 10.89.0.3  the attacker:    B 10.89.0.2  softsad
#                              resends A's ESP with a raw socket (source spoofed to A)
#
# A and B (built-in server) secure UDP between them.  A packet captured on the bridge is
# sent again toward B: B's replay window drops it (errors.replay + 1).  The same packet with
# a fresh sequence number, and one with a flipped ciphertext byte, fail authentication
# (errors.auth + 2).  None of them reaches B's socket.
. "$(dirname "$0")/e2e_lib.sh" "$@"
topo_up sse-rp a b c || fail "topology"
sad_start a --builtin server --psk-file "$PSK"
sad_start b --builtin server --psk-file "$PSK"
ip netns exec sse-rp-b timeout 20 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.89.0.2", 7000))
print("listening", flush=True)
while True:
    d, a = s.recvfrom(2000); print("got", d.decode(), flush=True)' > "$W/b.out" 2>&1 &
rcv=$!
topo_track $rcv
wait_for 5 grep -q listening "$W/b.out" || fail "listener on B"
cap_start "$W/rp.pcap" "ip proto 50 and src host 10.89.0.1" 4096
for i in 1 2 3; do udp_send a b 7000 "hello-$i"; done
wait_for 10 grep -q "got hello-3" "$W/b.out" || fail "B did not receive A's datagrams: $(cat "$W/b.out")"
cap_stop
[ "$(pcap_count "$W/rp.pcap" "ip proto 50")" -ge 3 ] || fail "no ESP captured"

esp_err() { jget "$(ctl b stats)" "r[\"result\"][\"esp\"][\"errors\"][\"$1\"]"; }
esp_in() { jget "$(ctl b stats)" 'r["result"]["esp"]["packets_in"]'; }
in0=$(esp_in)
[ "$(esp_err replay)" = 0 ] && [ "$(esp_err auth)" = 0 ] || fail "errors before the attack: $(ctl b stats)"

# inject MODE: reads the last captured ESP packet, alters it per MODE, sends it from C.
inject() {
	ip netns exec sse-rp-c python3 - "$W/rp.pcap" "$1" <<'PY'
import socket, struct, sys
data = open(sys.argv[1], "rb").read()
off, pkts = 24, []
while off + 16 <= len(data):
    incl = struct.unpack("<I", data[off + 8:off + 12])[0]
    pkts.append(data[off + 16:off + 16 + incl]); off += 16 + incl
ip = bytearray(pkts[-1][14:])            # strip Ethernet
hl = (ip[0] & 15) * 4
esp = hl                                 # ESP header: SPI (4) | sequence number (4)
seq = struct.unpack(">I", ip[esp + 4:esp + 8])[0]
if sys.argv[2] in ("fresh-seq", "flip"):
    ip[esp + 4:esp + 8] = struct.pack(">I", seq + (100000 if sys.argv[2] == "fresh-seq" else 200000))
if sys.argv[2] == "flip":
    ip[esp + 12] ^= 0x40                 # a ciphertext byte (after SPI, seq and the GCM IV)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.sendto(bytes(ip), ("10.89.0.2", 0))
print("sent", sys.argv[2], "seq", seq)
PY
}

inject replay || fail "inject"
wait_for 5 'test "$(esp_err replay)" = 1' || fail "replayed packet not counted: $(ctl b stats)"
ok "replayed ESP packet dropped by B's replay window and counted"
inject fresh-seq || fail "inject"
wait_for 5 'test "$(esp_err auth)" = 1' || fail "packet with a forged sequence number not counted: $(ctl b stats)"
inject flip || fail "inject"
wait_for 5 'test "$(esp_err auth)" = 2' || fail "tampered packet not counted: $(ctl b stats)"
ok "forged sequence number and flipped ciphertext byte: authentication failures, counted"
sleep 0.3
[ "$(esp_in)" = "$in0" ] || fail "B accepted one of the injected packets ($in0 -> $(esp_in))"
[ "$(grep -c '^got' "$W/b.out")" = 3 ] || fail "B's socket saw more than the 3 genuine datagrams: $(cat "$W/b.out")"
ok "none of the injected packets reached B's socket"
echo PASS
