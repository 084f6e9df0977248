#!/usr/bin/env python3
"""An IKEv1-only host's answer to IKEv2 (issue 11.4), as Windows 2000/XP/2003 hosts give
it: every datagram on UDP 500 gets an ISAKMP Informational with a Notification payload
INVALID-MAJOR-VERSION (RFC 2408 §3.1, §3.14, notify type 5), whose initiator cookie is the
first 8 octets of what came in.  Counts answers in COUNT_FILE.

usage: ikev1_responder.py ADDR COUNT_FILE
"""
import os
import socket
import struct
import sys


def reply(req):
    icookie = req[:8].ljust(8, b"\0")
    notify = struct.pack("!BBHIBBH", 0, 0, 12, 1, 1, 0, 5)  # DOI IPsec, ISAKMP, no SPI
    hdr = icookie + os.urandom(8) + struct.pack("!BBBBII", 11, 0x10, 5, 0, 0, 28 + len(notify))
    return hdr + notify


def main():
    addr, count_file = sys.argv[1:3]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 500))
    n = 0
    with open(count_file, "w") as f:
        f.write("0\n")
    while True:
        req, peer = s.recvfrom(65535)
        if len(req) < 28:
            continue
        s.sendto(reply(req), peer)
        n += 1
        with open(count_file, "w") as f:
            f.write("%d\n" % n)


if __name__ == "__main__":
    main()
