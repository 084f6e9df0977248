#!/usr/bin/python3
# Malformed and hostile control clients against a real softsad (doc/control.md, Framing):
# each case runs while a well-behaved client keeps asking "status", which must always be
# answered.  Prints one line per case; exits 1 on the first failure.
#   ctl_abuse.py SOCKET
import json, socket, sys, time

PATH = sys.argv[1]

def conn(timeout=5):
    # The daemon's listen backlog is 16: a burst of connects may see EAGAIN until it accepts.
    for _ in range(500):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        try:
            s.connect(PATH)
            return s
        except BlockingIOError:
            s.close()
            time.sleep(0.01)
    raise SystemExit("FAIL: could not connect to %s" % PATH)

def lines(s, n=1):
    buf, out = b"", []
    while len(out) < n:
        b = s.recv(65536)
        if not b:
            break
        buf += b
        while b"\n" in buf and len(out) < n:
            l, buf = buf.split(b"\n", 1)
            out.append(json.loads(l))
    return out

def ask(s, req):
    s.sendall((req if isinstance(req, bytes) else json.dumps(req).encode()) + b"\n")
    r = lines(s)
    return r[0] if r else None

def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)

def others_served(what):
    s = conn()
    r = ask(s, {"cmd": "status", "id": what})
    s.close()
    check(r and r["ok"] and r["id"] == what and r["result"]["pid"] > 0, "status while %s: %r" % (what, r))

def closed(s, wait=5):
    s.settimeout(wait)
    try:
        while True:
            b = s.recv(1 << 20)
            if not b:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False

# Garbage and wrong shapes: an error reply each, and the same connection keeps working.
s = conn()
cases = [
    (b"hello", "bad-request"), (b"\x00\xff\xfe garbage \x80", "bad-request"), (b"[1,2,3]", "bad-request"),
    (b'"status"', "bad-request"), (b"{}", "bad-request"), (b'{"cmd": 5}', "bad-request"),
    (b'{"cmd": "status"', "bad-request"), (b'{"v": 2, "cmd": "status"}', "bad-version"),
    (b'{"cmd": "no-such-command"}', "unknown-command"), (b'{"cmd": "initiate"}', "bad-argument"),
    (b'{"cmd": "initiate", "peer": 7}', "bad-argument"), (b'{"cmd": "terminate", "peer": "x.y"}', "bad-argument"),
    (b'{"cmd": "explain", "src": "10.89.0.1"}', "bad-argument"),
    (b'{"cmd": "explain", "src": "10.89.0.1", "dst": "fd89::2"}', "bad-argument"),
    (b'{"cmd": "explain", "src": "10.89.0.1", "dst": "10.89.0.2", "proto": "bogus"}', "bad-argument"),
]
for req, code in cases:
    r = ask(s, req)
    check(r and r["ok"] is False and r["error"]["code"] == code, "%r -> %r, expected %s" % (req, r, code))
r = ask(s, {"cmd": "status", "id": 99})
check(r and r["ok"] and r["id"] == 99, "status on the same connection after garbage: %r" % r)
s.close()
others_served("garbage")
print("ok: %d malformed requests answered with their error codes; the connection still works" % len(cases))

# Several requests in one write, and one request split over many writes.
s = conn()
s.sendall(b'{"cmd":"status","id":1}\n{"cmd":"peers","id":2}\n{"cmd":"soft","id":3}\n')
r = lines(s, 3)
check([x["id"] for x in r] == [1, 2, 3] and all(x["ok"] for x in r), "pipelined: %r" % r)
for ch in b'{"cmd":"status","id":4}\n':
    s.send(bytes([ch]))
r = lines(s)
check(r and r[0]["id"] == 4, "byte by byte: %r" % r)
s.close()
print("ok: pipelined requests answered in order; a request sent byte by byte answered")

# Half a frame, held open: others are served meanwhile; closing it disturbs nothing.
half = conn()
half.sendall(b'{"cmd": "sta')
others_served("half frame")
half.close()
others_served("half frame closed")
print("ok: half a frame held open does not block others")

# A huge frame: frame-too-large, and the connection is closed.
s = conn()
try:
    s.sendall(b'{"cmd":"status","pad":"' + b"x" * 200000)
except (BrokenPipeError, ConnectionResetError):
    pass
r = None
try:
    r = lines(s)
except (ConnectionResetError, json.JSONDecodeError):
    pass
check(r and r[0]["error"]["code"] == "frame-too-large", "huge frame: %r" % r)
check(closed(s), "the connection stayed open after frame-too-large")
s.close()
others_served("huge frame")
print("ok: a 200 KB frame gets frame-too-large and is closed")

# A slow client: thousands of requests, never reading the replies.  The daemon queues up to
# its backlog limit and then disconnects it; meanwhile others are served.
slow = conn()
slow.setblocking(False)
req = b'{"cmd":"stats"}\n' * 256
sent, t0 = 0, time.time()
while time.time() - t0 < 10:
    try:
        sent += slow.send(req)
    except BlockingIOError:
        others_served("slow client")
        time.sleep(0.01)
    except (BrokenPipeError, ConnectionResetError):
        break
    if sent > 8 << 20:
        break
others_served("slow client")
slow.setblocking(True)
check(closed(slow, 10), "a client that never reads was not disconnected (sent %d bytes)" % sent)
slow.close()
print("ok: a client that never reads (%d KB of requests) is disconnected; others are served" % (sent >> 10))

# Too many clients: past the limit, "busy" and closed; once they leave, all is well.
many = []
busy = 0
for i in range(80):
    c = conn()
    many.append(c)
time.sleep(0.3)
for c in many:
    c.setblocking(False)  # the busy ones have their reply waiting already
    try:
        b = c.recv(4096)
        if b and json.loads(b.split(b"\n")[0])["error"]["code"] == "busy":
            busy += 1
    except BlockingIOError:
        pass
check(busy == 80 - 64, "%d of 80 clients were told busy, expected 16" % busy)
for c in many:
    c.close()
time.sleep(0.2)
others_served("many clients")
print("ok: 80 clients at once: 64 served, 16 told busy; afterwards all is well")

# Clients that vanish mid-reply and mid-subscription.
for i in range(20):
    c = conn()
    c.sendall(b'{"cmd":"subscribe"}\n{"cmd":"stats"}\n{"cmd":"sas"}\n')
    c.close()
others_served("vanishing clients")
print("ok: 20 clients that close before reading their replies")
