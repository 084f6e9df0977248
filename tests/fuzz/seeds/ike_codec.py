#!/usr/bin/env python3
"""Seeds for fuzz_ike_codec / fuzz_ike_responder (tests/fuzz/corpus/ike) that reach what the
coverage review of the codec found unreached (tests/fuzz/README.md): more entries than the
parsed message keeps (proposals, transforms, notifies, deletes, selectors: ignored, counted),
an ID longer than 255 bytes, an empty SK body, an unknown non-critical payload.
Run from anywhere; writes into tests/fuzz/corpus/ike."""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'corpus', 'ike')

SA, KE, IDI, NONCE, NOTIFY, DELETE, TSI, SK = 33, 34, 35, 40, 41, 42, 44, 46


def message(payloads, exchange=34, flags=0x08, msg_id=0):
    """payloads: list of (type, body, critical)."""
    body = b''
    for i, (t, b, crit) in enumerate(payloads):
        nxt = payloads[i + 1][0] if i + 1 < len(payloads) else 0
        body += struct.pack('>BBH', nxt, 0x80 if crit else 0, 4 + len(b)) + b
    first = payloads[0][0] if payloads else 0
    hdr = struct.pack('>8s8sBBBBII', b'\x11' * 8, b'\0' * 8, first, 0x20, exchange, flags, msg_id,
                      28 + len(body))
    return hdr + body


def transform(last, ttype, tid, attrs=b''):
    return struct.pack('>BBHBBH', 0 if last else 3, 0, 8 + len(attrs), ttype, 0, tid) + attrs


def proposal(last, num, transforms, proto=1, spi=b''):
    body = b''.join(transform(i + 1 == len(transforms), t, i_d, a)
                    for i, (t, i_d, a) in enumerate(transforms))
    return struct.pack('>BBHBBBB', 0 if last else 2, 0, 8 + len(spi) + len(body), num, proto,
                       len(spi), len(transforms)) + spi + body


GCM = (1, 20, struct.pack('>HH', 0x800e, 128))
PRF = (2, 5, b'')
DH = (4, 31, b'')


def ts_payload(n):
    one = struct.pack('>BBHHH4s4s', 7, 0, 16, 0, 65535, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return struct.pack('>B3x', n) + one * n


SEEDS = {
    'excess-transforms': message([(SA, proposal(True, 1, [GCM] + [PRF] * 47 + [DH, DH]), False)]),
    'excess-proposals': message([(SA, b''.join(proposal(i == 16, i + 1, [GCM, PRF, DH])
                                                for i in range(17)), False)]),
    'excess-notifies': message([(NOTIFY, struct.pack('>BBH', 0, 0, 16384 + i) + b'x', False)
                                for i in range(17)], exchange=37, msg_id=1),
    'excess-deletes': message([(DELETE, struct.pack('>BBH', 3, 4, 1) + bytes([i, 1, 2, 3]), False)
                               for i in range(5)], exchange=37, msg_id=1),
    'excess-ts': message([(TSI, ts_payload(9), False)], exchange=35, msg_id=1),
    'id-256': message([(IDI, struct.pack('>B3x', 2) + b'a' * 256, False)], exchange=35, msg_id=1),
    'id-255': message([(IDI, struct.pack('>B3x', 2) + b'a' * 255, False)], exchange=35, msg_id=1),
    'sk-empty': message([(SK, b'', False)], exchange=35, msg_id=1),
    'unknown-noncritical': message([(49, b'abc', False), (NONCE, b'n' * 16, False)]),
    'unknown-critical': message([(49, b'abc', True)]),
}

if __name__ == '__main__':
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, 'cov-' + name), 'wb') as f:
            f.write(data)
