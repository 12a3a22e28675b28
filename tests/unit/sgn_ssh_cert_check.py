#!/usr/bin/python3
"""Independent check of OpenSSH certificates with Python `cryptography` (sgn_ssh_cert_test).

    sgn_ssh_cert_check.py CERT.pub...

For each certificate line: decodes the blob (PROTOCOL.certkeys), loads the CA key with
cryptography's load_ssh_public_key, verifies the signature over everything before it, and checks
that the same certificate with one byte flipped (in the signed data, then in the signature) is
refused. Prints "ok N" and exits 0 when every certificate passed; otherwise names the failure
and exits 1.

Debian 12's python3-cryptography (38) has no SSH certificate loader (load_ssh_public_identity and
verify_cert_signature came in 40), so the blob is decoded here and the signature is verified with
the library's RSA / ECDSA / Ed25519 primitives.
"""
import base64
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

# The subject key fields of each certificate type (how many strings / mpints follow the nonce).
KEY_FIELDS = {
    "ssh-ed25519-cert-v01@openssh.com": 1,
    "ecdsa-sha2-nistp256-cert-v01@openssh.com": 2,
    "ecdsa-sha2-nistp384-cert-v01@openssh.com": 2,
    "ecdsa-sha2-nistp521-cert-v01@openssh.com": 2,
    "ssh-rsa-cert-v01@openssh.com": 2,
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com": 3,
    "sk-ssh-ed25519-cert-v01@openssh.com": 2,
}
ECDSA_HASH = {256: hashes.SHA256, 384: hashes.SHA384, 521: hashes.SHA512}


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def string(self):
        return self.take(self.u32())

    def mpint(self):
        return int.from_bytes(self.string(), "big", signed=True)


def split(blob):
    """Returns (signed data, CA key blob, signature blob)."""
    r = Reader(blob)
    ctype = r.string().decode()
    if ctype not in KEY_FIELDS:
        raise ValueError("unknown certificate type " + ctype)
    if len(r.string()) != 32:
        raise ValueError("nonce is not 32 bytes")
    for _ in range(KEY_FIELDS[ctype]):
        r.string()
    r.u64()
    if r.u32() not in (1, 2):
        raise ValueError("bad certificate type")
    for _ in range(2):  # key id, principals
        r.string()
    r.u64()
    r.u64()
    for _ in range(3):  # critical options, extensions, reserved
        r.string()
    ca_blob = r.string()
    tbs = blob[:r.pos]
    sig = r.string()
    if r.pos != len(blob):
        raise ValueError("trailing bytes")
    return tbs, ca_blob, sig


def verify(tbs, ca_blob, sig):
    ca_type = Reader(ca_blob).string().decode()
    ca = serialization.load_ssh_public_key(
        ca_type.encode() + b" " + base64.b64encode(ca_blob))
    r = Reader(sig)
    alg = r.string().decode()
    body = r.string()
    if r.pos != len(sig):
        raise ValueError("trailing bytes after the signature")
    if isinstance(ca, ed25519.Ed25519PublicKey):
        if alg != "ssh-ed25519":
            raise ValueError("algorithm " + alg + " for an Ed25519 CA")
        ca.verify(body, tbs)
    elif isinstance(ca, ec.EllipticCurvePublicKey):
        bits = ca.curve.key_size
        if alg != "ecdsa-sha2-nistp%d" % bits:
            raise ValueError("algorithm " + alg + " for a P-%d CA" % bits)
        rs = Reader(body)
        der = encode_dss_signature(rs.mpint(), rs.mpint())
        if rs.pos != len(body):
            raise ValueError("trailing bytes after s")
        ca.verify(der, tbs, ec.ECDSA(ECDSA_HASH[bits]()))
    elif isinstance(ca, rsa.RSAPublicKey):
        if alg != "rsa-sha2-512":
            raise ValueError("algorithm " + alg + " for an RSA CA (want rsa-sha2-512)")
        ca.verify(body, tbs, padding.PKCS1v15(), hashes.SHA512())
    else:
        raise ValueError("CA key type " + ca_type)


def refused(tbs, ca_blob, sig):
    try:
        verify(tbs, ca_blob, sig)
    except (InvalidSignature, ValueError):
        return True
    return False


def main(paths):
    for path in paths:
        with open(path, encoding="ascii") as f:
            fields = f.read().split()
        blob = base64.b64decode(fields[1], validate=True)
        if Reader(blob).string().decode() != fields[0]:
            print("FAIL %s: line type differs from the blob's" % path)
            return 1
        tbs, ca_blob, sig = split(blob)
        try:
            verify(tbs, ca_blob, sig)
        except (InvalidSignature, ValueError) as e:
            print("FAIL %s: signature does not verify (%r)" % (path, e))
            return 1
        flipped_tbs = bytearray(tbs)
        flipped_tbs[len(tbs) // 2] ^= 0x01
        flipped_sig = bytearray(sig)
        flipped_sig[-5] ^= 0x01
        if not refused(bytes(flipped_tbs), ca_blob, sig):
            print("FAIL %s: accepted with a flipped byte in the signed data" % path)
            return 1
        if not refused(tbs, ca_blob, bytes(flipped_sig)):
            print("FAIL %s: accepted with a flipped byte in the signature" % path)
            return 1
    print("ok %d" % len(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
