#!/usr/bin/python3
"""Cross-check softsa's ESP against scapy's, an independent implementation (Debian's
python3-scapy): packets scapy encrypts, we decrypt; packets we encrypt, scapy decrypts.
AES-GCM-128/256 and AES-CBC + HMAC-SHA2-256/384/512, transport and tunnel, IPv4 and IPv6, with and
without ESN, with and without UDP encapsulation.

Usage: xcheck_scapy.py PATH/TO/esp_xcheck.  Exit 77 (skipped) if scapy is missing.

scapy's ESP HMAC ignores ESN (RFC 4303 §2.2.1 appends the high 32 bits to the ICV input;
scapy's sign/verify for ESP never do), so for CBC + HMAC with ESN the ICV is computed and
checked here with Python's hmac module instead, and scapy only does the AES-CBC part.
scapy also leaves the UDP length at 8 for IPv4 with UDP encapsulation (it builds the IP+UDP
header before attaching ESP); fix_udp_len() corrects that field before we see the packet.
"""
import hashlib
import hmac
import subprocess
import sys

try:
    from scapy.layers.inet import IP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.ipsec import ESP, SecurityAssociation
    from scapy.packet import Raw
except ImportError as e:  # pragma: no cover
    print("scapy unavailable: %s" % e)
    sys.exit(77)

HELPER = sys.argv[1]
SPI = 0x1001
SUITES = {
    "aes128gcm16": ("AES-GCM", "NULL", None),
    "aes256gcm16": ("AES-GCM", "NULL", None),
    "aes128-sha256": ("AES-CBC", "SHA2-256-128", (hashlib.sha256, 16)),
    "aes256-sha384": ("AES-CBC", "SHA2-384-192", (hashlib.sha384, 24)),
    "aes256-sha512": ("AES-CBC", "SHA2-512-256", (hashlib.sha512, 32)),
}
ADDR = {4: ("192.0.2.1", "192.0.2.2"), 6: ("2001:db8::1", "2001:db8::2")}
INNER = {4: ("10.1.0.1", "10.2.0.2"), 6: ("fd00:1::1", "fd00:2::2")}
failures = 0
checks = 0


def keys(suite):
    out = subprocess.run([HELPER, "keys", suite], capture_output=True, text=True, check=True)
    parts = out.stdout.split()
    return bytes.fromhex(parts[0]), bytes.fromhex(parts[1]) if len(parts) > 1 else b""


def helper(op, suite, mode, fam, esn, udp, first, packets):
    args = [HELPER, op, suite, mode, str(fam), str(int(esn)), str(int(udp)), str(first)]
    inp = "".join(bytes(p).hex() + "\n" for p in packets)
    out = subprocess.run(args, input=inp, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def outer_ip(fam, src, dst):
    return IP(src=src, dst=dst) if fam == 4 else IPv6(src=src, dst=dst)


def inner_packets(mode, fam):
    """Three inner packets of different sizes; transport mode uses the SA's endpoints."""
    src, dst = ADDR[fam] if mode == "transport" else INNER[fam]
    pkts = []
    for i, size in enumerate((0, 57, 1300)):
        ip = outer_ip(fam, src, dst)
        pkts.append(ip / UDP(sport=1000 + i, dport=53) / Raw(bytes((j + i) & 0xff for j in range(size))))
    # a protocol without ports (253, RFC 3692 experimental), 3 bytes of payload
    pkts.append((IP(src=src, dst=dst, proto=253) if fam == 4 else IPv6(src=src, dst=dst, nh=253)) / Raw(b"\x00" * 3))
    return [p.__class__(bytes(p)) for p in pkts]


def make_sa(suite, mode, fam, esn_hi, esn, udp):
    crypt, auth, _ = SUITES[suite]
    ekey, ikey = keys(suite)
    kw = dict(crypt_algo=crypt, crypt_key=ekey, auth_algo=auth, auth_key=ikey or None)
    if mode == "tunnel":
        kw["tunnel_header"] = outer_ip(fam, *ADDR[fam])
    if udp:
        kw["nat_t_header"] = UDP(sport=4500, dport=4500)
    if esn:
        kw["esn_en"] = True
        kw["esn"] = esn_hi
    return SecurityAssociation(ESP, spi=SPI, **kw)


def fix_esn_icv(suite, raw_esp, hi, ikey):
    """Replace scapy's ICV (computed without the ESN high bits) with the RFC 4303 one."""
    _, _, mac = SUITES[suite]
    md, icv_len = mac
    body = raw_esp[:-icv_len]
    return body + hmac.new(ikey, body + hi.to_bytes(4, "big"), md).digest()[:icv_len]


def fix_udp_len(fam, raw):
    """scapy 2.5 bug: IPv4 + nat_t_header gets UDP length 8; set it to what it covers."""
    if fam != 4 or raw[9] != 17:
        return raw
    ihl = (raw[0] & 15) * 4
    ulen = len(raw) - ihl
    return raw[:ihl + 4] + ulen.to_bytes(2, "big") + raw[ihl + 6:]


def esp_offset(pkt):
    return len(bytes(pkt)) - len(bytes(pkt[ESP]))


def same_inner(mode, got, want):
    if mode == "tunnel":
        return got == bytes(want)
    # Transport: our rebuilt header differs in TTL/ID/flow; compare addresses, protocol, payload.
    g = want.__class__(got)
    if want.version == 4:
        return (g.src, g.dst, g.proto, bytes(g.payload)) == (want.src, want.dst, want.proto, bytes(want.payload))
    return (g.src, g.dst, g.nh, bytes(g.payload)) == (want.src, want.dst, want.nh, bytes(want.payload))


def report(ok, what):
    global failures, checks
    checks += 1
    if not ok:
        failures += 1
        print("FAIL: " + what)


def scapy_to_us(suite, mode, fam, esn, udp, first):
    sa = make_sa(suite, mode, fam, first >> 32, esn, udp)
    inners = inner_packets(mode, fam)
    _, ikey = keys(suite)
    outers = []
    for i, p in enumerate(inners):
        # scapy reads "seq_num or self.seq_num" and "esn or self.esn": set the SA's instead
        # so that a low half or high half of 0 is kept.
        hi, sa.seq_num = (first + i) >> 32, (first + i) & 0xffffffff
        sa.esn = hi
        e = sa.encrypt(p)
        raw = fix_udp_len(fam, bytes(e))
        if esn and SUITES[suite][2]:
            off = esp_offset(e)
            raw = raw[:off] + fix_esn_icv(suite, raw[off:], hi, ikey)
        outers.append(raw)
    res = helper("decap", suite, mode, fam, esn, udp, first, outers)
    for i, (p, r) in enumerate(zip(inners, res)):
        ok = not r.startswith("ERR") and same_inner(mode, bytes.fromhex(r), p)
        report(ok, "scapy->us %s %s v%d esn=%d udp=%d pkt %d: %s" % (suite, mode, fam, esn, udp, i, r[:60]))
    # and a tampered one is refused
    bad = bytearray(outers[1])
    bad[-1] ^= 1
    r = helper("decap", suite, mode, fam, esn, udp, first, [bytes(bad)])
    report(r == ["ERR auth"], "tampered scapy packet accepted: %s" % r)


def us_to_scapy(suite, mode, fam, esn, udp, first):
    sa = make_sa(suite, mode, fam, first >> 32, esn, udp)
    _, ikey = keys(suite)
    inners = inner_packets(mode, fam)
    res = helper("encap", suite, mode, fam, esn, udp, first, inners)
    for i, (p, r) in enumerate(zip(inners, res)):
        if r.startswith("ERR"):
            report(False, "encap failed: %s" % r)
            continue
        raw = bytes.fromhex(r)
        e = (IP if fam == 4 else IPv6)(raw)
        if not e.haslayer(ESP):
            report(False, "scapy sees no ESP in our packet")
            continue
        report(e[ESP].seq == (first + i) & 0xffffffff, "sequence number %d" % e[ESP].seq)
        hi = sa.esn = (first + i) >> 32
        if udp:
            # Check the UDP header ourselves, then hand scapy plain ESP: its transport-mode
            # decrypt would leave the NAT-T UDP header in place (scapy 2.5).
            u = e[UDP]
            report(u.sport == 4500 and u.dport == 4500 and u.len == len(bytes(u)), "UDP header %r" % u)
            if fam == 6:
                c = u.chksum
                u2 = u.copy()
                del u2.chksum
                e2 = IPv6(src=e.src, dst=e.dst) / u2
                report(c == IPv6(bytes(e2))[UDP].chksum, "IPv6 UDP checksum %#x" % c)
            else:
                report(u.chksum == 0, "IPv4 UDP checksum should be 0 (RFC 3948 2.1)")
            esp_raw = bytes(u.payload)
            e = outer_ip(fam, e.src, e.dst) / ESP(esp_raw)
            e = e.__class__(bytes(e))
            raw = bytes(e)
        verify = True
        if esn and SUITES[suite][2]:
            off = esp_offset(e)
            report(fix_esn_icv(suite, raw[off:], hi, ikey) == raw[off:],
                   "our ESN ICV differs from HMAC(ESP || seq_hi)")
            verify = False
        try:
            d = sa.decrypt(e, verify=verify)
        except Exception as ex:  # scapy raises on a bad ICV or padding
            report(False, "scapy rejects our %s %s v%d esn=%d udp=%d pkt %d: %r" %
                   (suite, mode, fam, esn, udp, i, ex))
            continue
        report(same_inner(mode, bytes(d), p), "scapy decrypted something else: %s" % d.summary())


def main():
    for suite in SUITES:
        for mode in ("transport", "tunnel"):
            for fam in (4, 6):
                for esn in (False, True):
                    for udp in (False, True):
                        first = 0xfffffffe if esn else 1  # with ESN, cross 2^32
                        scapy_to_us(suite, mode, fam, esn, udp, first)
                        us_to_scapy(suite, mode, fam, esn, udp, first)
    print("%d checks, %d failures" % (checks, failures))
    sys.exit(1 if failures or checks == 0 else 0)


main()
