#!/usr/bin/python3
# One request to softsad's control socket; prints the reply (JSON).  Used by the e2e tests.
#   sse_ctl.py SOCKET CMD [KEY=VALUE ...]     (a VALUE that parses as an integer is one)
# With CMD "subscribe", prints the reply and then every event, one per line, until killed.
import json, socket, sys

def main():
    path, cmd = sys.argv[1], sys.argv[2]
    req = {"v": 1, "id": 1, "cmd": cmd}
    for kv in sys.argv[3:]:
        k, v = kv.split("=", 1)
        req[k] = int(v) if v.lstrip("-").isdigit() else v
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    s.sendall((json.dumps(req) + "\n").encode())
    buf = b""
    while b"\n" not in buf:
        b = s.recv(65536)
        if not b:
            break
        buf += b
    if cmd != "subscribe":
        print(buf.split(b"\n")[0].decode())
        return
    s.settimeout(None)
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            print(line.decode(), flush=True)
        b = s.recv(65536)
        if not b:
            return
        buf += b

main()
