#!/usr/bin/env python3
"""An application's first packets to a host without IKE: when does the first one arrive?

    fallback_probe.py recv ADDR PORT SECONDS OUTFILE   (on the receiving host; writes
                                                         "ready" to OUTFILE, then one line
                                                         "seq time" per datagram)
    fallback_probe.py send ADDR PORT COUNT GAP_MS      (on the sending host; prints one line
                                                         "seq time" per datagram sent)
    fallback_probe.py result SENT RECEIVED             JSON: first_ms, lost, sent, received

Times are CLOCK_REALTIME (time.time()), which all network namespaces of one machine share.
first_ms: from the moment the first datagram was handed to the kernel until the first
datagram (any) was received; lost: datagrams sent and never received.
"""
import json
import socket
import sys
import time


def recv(addr, port, secs, out):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # Held packets are released in one burst when the fallback comes (up to 300 here): a
    # receiver that writes a line per datagram would drop some from a default 208 KiB
    # buffer, and that loss would be this script's, not softsa's.  Lines are written at
    # the end, and the buffer is large enough for the burst.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((addr, int(port)))
    s.settimeout(0.2)
    end = time.time() + float(secs)
    with open(out, "w") as fh:
        fh.write("ready\n")
        fh.flush()
    got = []
    while time.time() < end:
        try:
            d = s.recv(2048)
        except socket.timeout:
            continue
        got.append("%s %.6f\n" % (d.split(b" ")[0].decode(), time.time()))
    with open(out, "a") as fh:
        fh.writelines(got)


def send(addr, port, count, gap_ms):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    lines = []
    for i in range(int(count)):
        t = time.time()
        s.sendto(b"%d probe" % i, (addr, int(port)))
        lines.append("%d %.6f" % (i, t))
        time.sleep(float(gap_ms) / 1000)
    print("\n".join(lines))


def result(sent, received):
    tx = dict(l.split() for l in open(sent) if l.strip())
    rx = {}
    for l in open(received):
        p = l.split()
        if len(p) == 2:
            rx.setdefault(p[0], float(p[1]))
    first = min(rx.values()) if rx else None
    t0 = float(tx["0"]) if "0" in tx else None
    print(json.dumps({
        "first_ms": None if first is None or t0 is None else (first - t0) * 1000,
        "lost": len([k for k in tx if k not in rx]), "sent": len(tx), "received": len(rx)}))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"recv": recv, "send": send, "result": result}[cmd](*args)
