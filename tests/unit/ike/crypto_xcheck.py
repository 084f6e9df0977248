#!/usr/bin/python3
"""Independent recomputation of what crypto_vectors printed: DH (cryptography package, and
plain Python integers for MODP-2048 with the RFC 3526 prime rebuilt from pi), SKEYSEED and
SK_* (RFC 7296 §2.14), the rekeyed IKE SA (§2.18), CHILD SA KEYMAT (§2.17), PSK AUTH (§2.15),
and opening the sealed SK payloads in both directions (§3.14, RFC 5282).  Then the other
way round: Python seals SK payloads the way other implementations may (random padding
bytes, padding longer than needed, up to 255 octets) and crypto_vectors must open them.

Usage: crypto_xcheck.py path/to/crypto_vectors   (exit 77 = skipped: no cryptography package)
"""
import hashlib
import hmac
import json
import subprocess
import sys

try:
    from cryptography.hazmat.primitives.asymmetric import ec, x25519
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
except ImportError:
    print("python3-cryptography missing: skipped")
    sys.exit(77)

PRF = {5: hashlib.sha256, 6: hashlib.sha384, 7: hashlib.sha512}
INTEG = {0: None, 12: (hashlib.sha256, 32, 16), 13: (hashlib.sha384, 48, 24),
         14: (hashlib.sha512, 64, 32)}
ENCR_KEYMAT = {(12, 128): 16, (12, 256): 32, (20, 128): 20, (20, 256): 36}


def prf(h, key, data):
    return hmac.new(key, data, h).digest()


def prf_plus(h, key, seed, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = prf(h, key, t + seed + bytes([i]))
        out += t
        i += 1
    return out[:n]


def arctan_inv(x, one):
    """arctan(1/x) in fixed point with the given unit."""
    power = one // x
    total, n, sign = power, 3, -1
    while power:
        power //= x * x
        total += sign * (power // n)
        sign, n = -sign, n + 2
    return total


def modp2048_prime():
    """RFC 3526 §3: p = 2^2048 - 2^1984 - 1 + 2^64 * ( [2^1918 pi] + 124476 )."""
    guard = 64
    one = 1 << (1918 + guard)
    pi = 4 * (4 * arctan_inv(5, one) - arctan_inv(239, one))
    p = 2**2048 - 2**1984 - 1 + 2**64 * ((pi >> guard) + 124476)
    assert pow(2, p - 1, p) == 1, "rebuilt MODP prime fails a Fermat test"
    return p


def check_dh(v, fail):
    group, pi, pr = v["suite"][4], bytes.fromhex(v["priv_i"]), bytes.fromhex(v["priv_r"])
    pub_r, g_ir = bytes.fromhex(v["pub_r"]), bytes.fromhex(v["g_ir"])
    if group in (19, 20):
        curve = ec.SECP256R1() if group == 19 else ec.SECP384R1()
        size = 32 if group == 19 else 48
        ki = ec.derive_private_key(int.from_bytes(pi, "big"), curve)
        kr = ec.derive_private_key(int.from_bytes(pr, "big"), curve)
        n = kr.public_key().public_numbers()
        want_pub = n.x.to_bytes(size, "big") + n.y.to_bytes(size, "big")
        peer = ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + pub_r)
        want_gir = ki.exchange(ec.ECDH(), peer)
    elif group == 31:
        ki = x25519.X25519PrivateKey.from_private_bytes(pi)
        kr = x25519.X25519PrivateKey.from_private_bytes(pr)
        want_pub = kr.public_key().public_bytes_raw() if hasattr(
            kr.public_key(), "public_bytes_raw") else None
        if want_pub is None:
            from cryptography.hazmat.primitives import serialization
            want_pub = kr.public_key().public_bytes(serialization.Encoding.Raw,
                                                    serialization.PublicFormat.Raw)
        want_gir = ki.exchange(x25519.X25519PublicKey.from_public_bytes(pub_r))
    elif group == 14:
        p = modp2048_prime()
        want_pub = pow(2, int.from_bytes(pr, "big"), p).to_bytes(256, "big")
        want_gir = pow(int.from_bytes(pub_r, "big"), int.from_bytes(pi, "big"), p).to_bytes(256, "big")
    else:
        fail("unknown group %d" % group)
        return
    if want_pub != pub_r:
        fail("public value of group %d" % group)
    if want_gir != g_ir:
        fail("shared secret of group %d" % group)


def ike_keys(suite, skeyseed, ni, nr, spi_i, spi_r, plus_h=None):
    encr, bits, integ, prf_id, _ = suite
    d = PRF[prf_id]().digest_size
    h = plus_h or PRF[prf_id]
    a = INTEG[integ][1] if INTEG[integ] else 0
    e = ENCR_KEYMAT[(encr, bits)]
    km = prf_plus(h, skeyseed, ni + nr + spi_i + spi_r, 3 * d + 2 * a + 2 * e)
    names, lens, out, off = ["sk_d", "sk_ai", "sk_ar", "sk_ei", "sk_er", "sk_pi", "sk_pr"], \
        [d, a, a, e, e, d, d], {}, 0
    for name, n in zip(names, lens):
        out[name], off = km[off:off + n], off + n
    return out


def open_sk(msg, aad_len, suite, ek, ak):
    encr, bits, integ = suite[0], suite[1], suite[2]
    aad, body = msg[:aad_len], msg[aad_len:]
    if encr == 20:
        key, salt = ek[:-4], ek[-4:]
        pt = AESGCM(key).decrypt(salt + body[:8], body[8:], aad)
    else:
        h, _, icv = INTEG[integ]
        if not hmac.compare_digest(prf(h, ak, msg[:-icv])[:icv], msg[-icv:]):
            raise ValueError("ICV mismatch")
        d = Cipher(algorithms.AES(ek), modes.CBC(body[:16])).decryptor()
        pt = d.update(body[16:-icv]) + d.finalize()
    return pt[:len(pt) - pt[-1] - 1]


def check(v, fail):
    b = {k: bytes.fromhex(v[k]) for k in v if isinstance(v[k], str) and k not in ("priv_i", "priv_r")}
    suite, nxt = v["suite"], v["next"]
    h = PRF[suite[3]]
    check_dh(v, fail)

    keys = ike_keys(suite, prf(h, b["ni"] + b["nr"], b["g_ir"]), b["ni"], b["nr"], b["spi_i"], b["spi_r"])
    for k, val in keys.items():
        if b[k] != val:
            fail("%s differs" % k)

    # Rekey: the driver used Ni' = Nr, Nr' = Ni, SPIs swapped; the old SA's PRF makes
    # SKEYSEED and runs prf+ (as strongSwan's keymat_v2.c does), lengths from the new suite.
    seed = prf(h, keys["sk_d"], b["g_ir"] + b["nr"] + b["ni"])
    rk = ike_keys(nxt, seed, b["nr"], b["ni"], b["spi_r"], b["spi_i"], plus_h=h)
    for k in ("sk_d", "sk_ei", "sk_pr"):
        if b["rekey_" + k] != rk[k]:
            fail("rekey %s differs" % k)

    e = ENCR_KEYMAT[(nxt[0], nxt[1])]
    a = INTEG[nxt[2]][1] if INTEG[nxt[2]] else 0
    km = prf_plus(h, keys["sk_d"], b["ni"] + b["nr"], 2 * (e + a))
    if (b["child_ei"], b["child_ai"], b["child_er"], b["child_ar"]) != \
            (km[:e], km[e:e + a], km[e + a:2 * e + a], km[2 * e + a:]):
        fail("CHILD SA keys differ")
    km = prf_plus(h, keys["sk_d"], b["g_ir"] + b["ni"] + b["nr"], 2 * (e + a))
    if (b["pfs_ei"], b["pfs_ar"]) != (km[:e], km[2 * e + a:]):
        fail("CHILD SA keys with PFS differ")

    maced_id = prf(h, keys["sk_pi"], bytes([1, 0, 0, 0, 192, 0, 2, 1]))
    auth = prf(h, prf(h, b"a pre-shared key", b"Key Pad for IKEv2"),
               b["init_msg"] + b["nr"] + maced_id)
    if b["auth_i"] != auth:
        fail("AUTH differs")

    for name, ek, ak, x in (("sealed_i2r", "sk_ei", "sk_ai", 0), ("sealed_r2i", "sk_er", "sk_ar", 1)):
        try:
            inner = open_sk(b[name], v["aad_len"], suite, keys[ek], keys[ak])
        except Exception as ex:  # InvalidTag, ValueError
            fail("%s does not open: %r" % (name, ex))
            continue
        if inner != bytes((i ^ x) & 0xff for i in range(200)):
            fail("%s plaintext differs" % name)


def seal_foreign(suite, ek, ak, aad, plain, pad_len, rnd):
    """An SK payload as another implementation might seal it."""
    pt = plain + rnd.randbytes(pad_len) + bytes([pad_len & 0xff])
    if suite[0] == 20:
        iv = rnd.randbytes(8)
        return aad + iv + AESGCM(ek[:-4]).encrypt(ek[-4:] + iv, pt, aad)
    h, _, icv = INTEG[suite[2]]
    iv = rnd.randbytes(16)
    e = Cipher(algorithms.AES(ek), modes.CBC(iv)).encryptor()
    body = aad + iv + e.update(pt) + e.finalize()
    return body + prf(h, ak, body)[:icv]


def foreign_cases(vectors):
    """(suite index, aad_len, encr key, integ key, message, expected output line)."""
    import random
    rnd = random.Random(4301)
    for k, v in enumerate(vectors):
        suite = v["suite"]
        ek, ak = bytes.fromhex(v["sk_er"]), bytes.fromhex(v["sk_ar"])
        block = 1 if suite[0] == 20 else 16
        for plain_len in (0, 1, 17, 100):
            plain = rnd.randbytes(plain_len)
            aad = rnd.randbytes(32)
            minimal = (-(plain_len + 1)) % block
            for pad in sorted({minimal, minimal + block, minimal + 5 * block,
                               minimal + ((255 - minimal) // block) * block}):
                msg = seal_foreign(suite, ek, ak, aad, plain, pad, rnd)
                yield k, 32, ek, ak, msg, "ok " + plain.hex()
        # A Pad Length beyond the data: authentic, refused after decryption.
        plain = rnd.randbytes(15 if block == 16 else 3)
        pt_len = len(plain) + 1
        bad = seal_foreign(suite, ek, ak, b"\x00" * 32, plain, 0, rnd)
        pt = plain + bytes([pt_len])
        if suite[0] == 20:
            iv = bad[32:40]
            bad = bad[:32] + iv + AESGCM(ek[:-4]).encrypt(ek[-4:] + iv, pt, bad[:32])
        else:
            h, _, icv = INTEG[suite[2]]
            iv = bad[32:48]
            e = Cipher(algorithms.AES(ek), modes.CBC(iv)).encryptor()
            body = bad[:32] + iv + e.update(pt) + e.finalize()
            bad = body + prf(h, ak, body)[:icv]
        yield k, 32, ek, ak, bad, "err bad padding"
        # One flipped bit anywhere: refused before decryption.
        good = seal_foreign(suite, ek, ak, b"\x01" * 32, b"payload", 0 if block == 1 else 8, rnd)
        flipped = bytearray(good)
        flipped[rnd.randrange(len(flipped))] ^= 0x04
        yield k, 32, ek, ak, bytes(flipped), "err integrity check failed"


def check_foreign(driver, vectors, errors):
    cases = list(foreign_cases(vectors))
    lines = "".join("%d %d %s %s %s\n" % (k, aad, ek.hex(), ak.hex() or "-", m.hex())
                    for k, aad, ek, ak, m, _ in cases)
    out = subprocess.run([driver, "open"], input=lines, check=True, capture_output=True,
                         text=True).stdout.splitlines()
    if len(out) != len(cases):
        errors.append("open mode answered %d of %d messages" % (len(out), len(cases)))
        return 0
    for (k, _, _, _, m, want), got in zip(cases, out):
        if got != want:
            errors.append("suite %d: foreign message of %d octets: want %r (%d chars), got %r "
                          "(%d chars)" % (k, len(m), want[:24], len(want), got[:24], len(got)))
    return len(cases)


def main():
    out = subprocess.run([sys.argv[1]], check=True, capture_output=True, text=True).stdout
    vectors = json.loads(out)
    errors = []
    for i, v in enumerate(vectors):
        check(v, lambda msg, i=i, s=v["suite"]: errors.append("suite %d %s: %s" % (i, s, msg)))
    n = check_foreign(sys.argv[1], vectors, errors)
    print("%d foreign SK payloads opened or refused as expected" % (n - sum("foreign" in e for e in errors)))
    for e in errors:
        print("MISMATCH", e)
    print("%d suites cross-checked, %d mismatches" % (len(vectors), len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
