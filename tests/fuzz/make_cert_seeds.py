#!/usr/bin/python3
"""Seeds for fuzz_ike_cert: inner payload chains (byte 0 = first payload type) holding ID,
CERT, CERTREQ, AUTH and SIGNATURE_HASH_ALGORITHMS payloads as IKE_AUTH carries them.
Made with the cryptography package; run once, the output is committed:
    /usr/bin/python3 tests/fuzz/make_cert_seeds.py tests/fuzz/corpus/ike_cert"""
import datetime, hashlib, ipaddress, os, struct, sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

IDI, CERT, CERTREQ, AUTH, NOTIFY = 35, 37, 38, 39, 41
ECDSA_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")
RSA_PSS_SHA256 = bytes.fromhex("304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a0609"
                               "2a864886f70d010108300d06096086480165030402010500a203020120")
ED25519 = bytes.fromhex("300506032b6570")


def chain(payloads):
    out = b""
    for i, (t, body) in enumerate(payloads):
        nxt = payloads[i + 1][0] if i + 1 < len(payloads) else 0
        out += struct.pack("!BBH", nxt, 0, 4 + len(body)) + body
    return bytes([payloads[0][0]]) + out


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "softsa test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def cert(key, subject, issuer, issuer_key, ca=False, san=None):
    now = datetime.datetime(2026, 1, 1)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    algo = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return b.sign(issuer_key, algo).public_bytes(serialization.Encoding.DER)


def main(out):
    os.makedirs(out, exist_ok=True)
    cak = ec.generate_private_key(ec.SECP256R1())
    ca = cert(cak, name("CA"), name("CA"), cak, ca=True)
    eck = ec.generate_private_key(ec.SECP256R1())
    leaf = cert(eck, name("a"), name("CA"), cak,
                san=[x509.DNSName("a.example"), x509.IPAddress(ipaddress.ip_address("10.0.0.1"))])
    rk = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rleaf = cert(rk, name("r"), name("CA"), cak, san=[x509.RFC822Name("r@example")])
    edk = ed25519.Ed25519PrivateKey.generate()
    edleaf = cert(edk, name("e"), name("CA"), cak)
    spki = hashlib.sha1(cak.public_key().public_bytes(serialization.Encoding.DER,
                        serialization.PublicFormat.SubjectPublicKeyInfo)).digest()
    msg = b"signed octets"
    ecsig = eck.sign(msg, ec.ECDSA(hashes.SHA256()))
    pss = rk.sign(msg, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    pkcs1 = rk.sign(msg, padding.PKCS1v15(), hashes.SHA1())
    edsig = edk.sign(msg)
    dn = name("a").public_bytes()
    hashes_n = struct.pack("!BBH", 0, 0, 16431) + bytes.fromhex("0002000300040005")
    seeds = {
        "ecdsa-rfc7427": [(IDI, bytes([9, 0, 0, 0]) + dn), (CERT, b"\x04" + leaf), (CERTREQ, b"\x04" + spki),
                          (AUTH, bytes([14, 0, 0, 0, len(ECDSA_SHA256)]) + ECDSA_SHA256 + ecsig)],
        "ecdsa-fqdn-chain": [(IDI, b"\x02\x00\x00\x00a.example"), (CERT, b"\x04" + leaf), (CERT, b"\x04" + ca),
                             (AUTH, bytes([9, 0, 0, 0]) + os.urandom(64))],
        "ip-id": [(IDI, b"\x01\x00\x00\x00" + bytes([10, 0, 0, 1])), (CERT, b"\x04" + leaf),
                  (AUTH, bytes([14, 0, 0, 0, len(ECDSA_SHA256)]) + ECDSA_SHA256 + ecsig)],
        "rsa-pss": [(IDI, b"\x03\x00\x00\x00r@example"), (CERT, b"\x04" + rleaf),
                    (AUTH, bytes([14, 0, 0, 0, len(RSA_PSS_SHA256)]) + RSA_PSS_SHA256 + pss)],
        "rsa-legacy": [(CERT, b"\x04" + rleaf), (AUTH, bytes([1, 0, 0, 0]) + pkcs1)],
        "ed25519": [(CERT, b"\x04" + edleaf), (AUTH, bytes([14, 0, 0, 0, len(ED25519)]) + ED25519 + edsig)],
        "certreq-many": [(CERTREQ, b"\x04" + spki * 3), (CERTREQ, b"\x0c"), (NOTIFY, hashes_n)],
        "cert-other-encoding": [(CERT, b"\x0c" + b"http://example/cert" + spki), (AUTH, b"\x0e\x00\x00\x00\x00")],
    }
    for n, p in seeds.items():
        with open(os.path.join(out, n), "wb") as f:
            f.write(chain(p))


if __name__ == "__main__":
    main(sys.argv[1])
