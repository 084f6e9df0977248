#!/usr/bin/env python3
"""Seeds for fuzz_dp_nfq (tests/fuzz/corpus/dp_nfq): nfnetlink_queue datagrams as the kernel
sends them (NFQNL_MSG_PACKET: nfgenmsg, NFQA_PACKET_HDR, NFQA_PAYLOAD, NFQA_CAP_LEN), one
and two packets, IPv4 and IPv6, a truncated copy, and an unaligned last attribute."""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'corpus', 'dp_nfq')
NFQ_PACKET = (3 << 8) | 0  # NFNL_SUBSYS_QUEUE, NFQNL_MSG_PACKET
HDR, PAYLOAD, CAP_LEN, IFOUT = 1, 10, 13, 5

UDP4 = bytes([0x45, 0, 0, 30, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 89, 0, 1, 10, 89, 0, 4,
              0x15, 0xb3, 0x17, 0x70, 0, 10, 0, 0]) + b'hi'
UDP6 = (bytes([0x60, 0, 0, 0, 0, 10, 17, 64]) + bytes(15) + b'\x01' + bytes(15) + b'\x04' +
        bytes([0x15, 0xb3, 0x17, 0x70, 0, 10, 0, 0]) + b'hi')


def attr(t, data, pad=True):
    a = struct.pack('=HH', 4 + len(data), t) + data
    return a + (b'\0' * (-len(a) % 4) if pad else b'')


def msg(pid, payload, family=2, cap=None, extra=b'', pad=True):
    body = struct.pack('=BBH', family, 0, 0x5354)
    body += attr(HDR, struct.pack('>IHB', pid, 0x0800 if family == 2 else 0x86dd, 3) + b'\0')
    body += attr(IFOUT, struct.pack('>I', 2)) + extra
    if cap is not None:
        body += attr(CAP_LEN, struct.pack('>I', cap))
    body += attr(PAYLOAD, payload, pad)
    m = struct.pack('=IHHII', 16 + len(body), NFQ_PACKET, 0, 0, 0) + body
    return m + (b'\0' * (-len(m) % 4) if pad else b'')


SEEDS = {
    'one-v4': msg(1, UDP4),
    'one-v6': msg(2, UDP6, family=10),
    'two': msg(3, UDP4) + msg(4, UDP6, family=10),
    'truncated': msg(5, UDP4, cap=1428),
    'unaligned-last': msg(6, UDP4[:29], pad=False),
    'no-payload': msg(7, b'')[:-8],
}

if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, 'seed-' + name), 'wb') as f:
            f.write(data)
