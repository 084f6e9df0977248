#!/usr/bin/env python3
"""Seeds for fuzz_esp_decap (tests/fuzz/corpus/fuzz_esp_decap) that reach what the coverage
review found unreached (tests/fuzz/README.md): the RFC 6040 egress rules of tunnel mode, an
outer CE on an inner ECT packet (the inner becomes CE: IPv4 checksum redone; IPv6) and on a
Not-ECT one (dropped).  Op 2 of the target: the plaintext is sealed with the SA's keys."""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'corpus', 'fuzz_esp_decap')


def csum(b):
    s = sum(struct.unpack('>%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ipv4_udp(src, dst, ecn):
    payload = b'hi'
    udp = struct.pack('>HHHH', 5555, 53, 8 + len(payload), 0) + payload
    h = struct.pack('>BBHHHBBH4s4s', 0x45, ecn, 20 + len(udp), 0, 0x4000, 64, 17, 0, bytes(src),
                    bytes(dst))
    return h[:10] + struct.pack('>H', csum(h)) + h[12:] + udp


def ipv6_udp(src, dst, ecn):
    payload = b'hi'
    udp = struct.pack('>HHHH', 5555, 53, 8 + len(payload), 0x1234) + payload
    return struct.pack('>IHBB16s16s', 6 << 28 | ecn << 20, len(udp), 17, 64, bytes(src),
                       bytes(dst)) + udp


def trailer(inner, nh):
    pad = (-(len(inner) + 2)) % 4
    return inner + bytes(range(1, pad + 1)) + bytes([pad, nh])


V4_REMOTE, V4_LOCAL = [10, 1, 0, 5], [10, 2, 0, 1]
V6_REMOTE = [0xfd, 0, 0, 1] + [0] * 11 + [5]
V6_LOCAL = [0xfd, 0, 0, 2] + [0] * 11 + [1]
CE = 3

SEEDS = {
    # SA 0: AES-GCM tunnel IPv4; outer CE.
    'ecn-v4-ect0-ce': bytes([2, 0 | CE << 6]) + trailer(ipv4_udp(V4_REMOTE, V4_LOCAL, 2), 4),
    'ecn-v4-notect-ce': bytes([2, 0 | CE << 6]) + trailer(ipv4_udp(V4_REMOTE, V4_LOCAL, 0), 4),
    'ecn-v4-ect1-ect0': bytes([2, 0 | 2 << 6]) + trailer(ipv4_udp(V4_REMOTE, V4_LOCAL, 1), 4),
    # SA 2: AES-256-GCM tunnel IPv6 in UDP; outer CE.
    'ecn-v6-ect0-ce': bytes([2, 2 | CE << 6]) + trailer(ipv6_udp(V6_REMOTE, V6_LOCAL, 2), 41),
}

if __name__ == '__main__':
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, 'cov-' + name), 'wb') as f:
            f.write(data)
