#!/usr/bin/python3
"""Stands in for systemd's end of a datagram socket: $NOTIFY_SOCKET (sd_notify) or the
journal's /run/systemd/journal/socket (native protocol).  Binds PATH and appends every
datagram to OUT, each followed by a line "--", flushed at once.
usage: sd_listen.py PATH OUT"""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(out, "ab", buffering=0) as f:
    f.write(b"listening\n--\n")
    while True:
        data = s.recv(65536)
        f.write(data.rstrip(b"\n") + b"\n--\n")
