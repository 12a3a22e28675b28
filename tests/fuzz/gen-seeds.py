#!/usr/bin/python3
"""Writes the generated seeds of tests/fuzz/corpus/ (docs/fuzzing.md). Run from anywhere:

    tests/fuzz/gen-seeds.py

Seeds are committed; this script is how they were made, and remakes them (CSRs and keys are
new each run, so the files change). It needs openssl, python3-botocore and python3-jwcrypto
(scripts/deps.sh). Seeds for the other inputs (API Gateway events, ceremony configs) are copied
from the repository's own examples, with the paths a fuzz run can use. Every file is named
<kind>-<what> so that a run's new inputs (named by their SHA-1) stand apart.
"""
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from jwcrypto import jwk

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def openssl(*args, stdin=None):
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True,
                          check=True).stdout


# --- csr_fuzz -------------------------------------------------------------------------------


def der_items(der):
    """The (start, header length, total length) of each TLV inside a constructed DER value."""
    out = []
    i = 0
    while i < len(der):
        n = der[i + 1]
        h = 2
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(der[i + 2:i + 2 + k], "big")
            h = 2 + k
        out.append((i, h, h + n))
        i += h + n
    return out


def unwrap(der):
    """The content of a single TLV."""
    (start, h, total), = der_items(der)
    return der[start + h:start + total]


def csr_seeds(tmp):
    keys = {
        "rsa2048": ["-newkey", "rsa:2048"],
        "p256": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "p384": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
        "ed25519": ["-newkey", "ed25519"],
    }
    sans = "subjectAltName=DNS:device-1.devices.example.com,DNS:*.example.com,IP:10.1.2.3," \
           "IP:fd00::1,email:ops@example.com,URI:spiffe://example.com/device-1"
    for name, newkey in keys.items():
        for variant, extra in (("cn", []), ("san", ["-addext", sans])):
            pem = openssl("req", "-new", *newkey, "-nodes", "-keyout", os.path.join(tmp, "k"),
                          "-subj", "/O=hsmsign fuzz/CN=device-1." + name, *extra)
            der = openssl("req", "-in", "/dev/stdin", "-outform", "DER", stdin=pem)
            put("csr_fuzz", f"pem-{name}-{variant}", b"\x00" + pem)
            put("csr_fuzz", f"der-{name}-{variant}", b"\x01" + der)
            # Mode 2: the subject and the attributes of the info, re-signed by the harness.
            info = unwrap(der)[:der_items(unwrap(der))[0][2]]
            parts = der_items(unwrap(info))
            body = unwrap(info)
            subject = body[parts[1][0]:parts[1][0] + parts[1][2]]
            attrs = b""
            if len(parts) > 3:
                a = body[parts[3][0]:parts[3][0] + parts[3][2]]
                attrs = a[parts[3][1]:]
            put("csr_fuzz", f"signed-{name}-{variant}",
                b"\x02" + len(subject).to_bytes(2, "big") + subject + attrs)
            spki = body[parts[2][0]:parts[2][0] + parts[2][2]]
            put("csr_fuzz", f"spki-{name}", b"\x03" + spki)
    # Variants as other tools write them: the legacy label, CRLF, trailing text, no CN.
    pem = openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-nodes", "-keyout", os.path.join(tmp, "k"), "-subj", "/O=no cn",
                  "-addext", "subjectAltName=DNS:only-san.example.com")
    put("csr_fuzz", "pem-p256-nocn", b"\x00" + pem)
    put("csr_fuzz", "pem-p256-legacy-label",
        b"\x00" + pem.replace(b"CERTIFICATE REQUEST", b"NEW CERTIFICATE REQUEST"))
    put("csr_fuzz", "pem-p256-crlf", b"\x00" + pem.replace(b"\n", b"\r\n"))
    put("csr_fuzz", "bad-pem-trailing", b"\x00" + pem + b"garbage\n")
    put("csr_fuzz", "bad-pem-truncated", b"\x00" + pem[:len(pem) // 2])
    put("csr_fuzz", "bad-pem-header",
        b"\x00" + pem.replace(b"-----\n", b"-----\nProc-Type: 4,ENCRYPTED\n\n", 1))
    put("csr_fuzz", "bad-pem-cert-label", b"\x00" + pem.replace(b"CERTIFICATE REQUEST",
                                                                b"CERTIFICATE"))
    put("csr_fuzz", "bad-empty", b"\x00")
    rsa1024 = openssl("req", "-new", "-newkey", "rsa:1024", "-nodes", "-keyout",
                      os.path.join(tmp, "k"), "-subj", "/CN=small")
    put("csr_fuzz", "bad-pem-rsa1024", b"\x00" + rsa1024)
    der = openssl("req", "-in", "/dev/stdin", "-outform", "DER", stdin=pem)
    flipped = bytearray(der)
    flipped[-5] ^= 1
    put("csr_fuzz", "bad-der-signature", b"\x01" + bytes(flipped))


# --- sigv4_fuzz -----------------------------------------------------------------------------

SIGV4_NOW = datetime.datetime(2024, 2, 29, 23, 59, 59)
SIGV4_KEYS = {
    "plain": ("AKIAHSMSIGNVECTOR001", "vEcToRsEcReT/0123456789+abcdefghijklmnoP", None),
    "session": ("ASIAHSMSIGNVECTOR002", "sEsSiOnSeCrEt/9876543210+ABCDEFGHIJKLMNOp",
                "IQoJb3JpZ2luX2VjEXAMPLE//session+token/with=padding=="),
}


class FixedClockSigV4(SigV4Auth):
    """botocore's signer with its clock (datetime.datetime.utcnow) held at SIGV4_NOW."""

    def add_auth(self, request):
        import botocore.auth as ba
        real = ba.datetime.datetime
        class Fixed(real):
            @classmethod
            def utcnow(cls):
                return SIGV4_NOW
        ba.datetime.datetime = Fixed
        try:
            super().add_auth(request)
        finally:
            ba.datetime.datetime = real


def sigv4_request(method, target, body, key, extra_headers=()):
    akid, secret, token = SIGV4_KEYS[key]
    url = "https://hsmsign.example.com" + target
    req = AWSRequest(method=method, url=url, data=body,
                     headers={"Content-Type": "application/json", **dict(extra_headers)})
    FixedClockSigV4(Credentials(akid, secret, token), "execute-api", "eu-central-1").add_auth(req)
    lines = [f"{method} {target}", "Host: hsmsign.example.com"]
    lines += [f"{k}: {v}" for k, v in req.headers.items()]
    return ("\n".join(lines) + "\n\n").encode() + body


def sigv4_seeds():
    tokens = b'{"audience": "https://api.example.com", "ttl_seconds": 300}'
    put("sigv4_fuzz", "ok-post-tokens", sigv4_request("POST", "/v1/tokens", tokens, "plain"))
    put("sigv4_fuzz", "ok-post-tokens-session",
        sigv4_request("POST", "/v1/tokens", tokens, "session"))
    put("sigv4_fuzz", "ok-get-query",
        sigv4_request("GET", "/v1/certificates/0a1b?b=2&a=1&x=%20y", b"", "plain"))
    put("sigv4_fuzz", "ok-post-revoke-content-sha",
        sigv4_request("POST", "/v1/certificates/00ff/revoke", b'{"reason": "superseded"}',
                      "plain", [("X-Amz-Content-SHA256", hashlib.sha256(
                          b'{"reason": "superseded"}').hexdigest())]))
    put("sigv4_fuzz", "ok-dot-segments",
        sigv4_request("POST", "/v1//./tokens", tokens, "plain"))
    bad = sigv4_request("POST", "/v1/tokens", tokens, "plain")
    put("sigv4_fuzz", "bad-body-changed", bad[:-3] + b"999")
    put("sigv4_fuzz", "bad-presigned",
        b"GET /v1/crl?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00\nHost: h\n\n")
    put("sigv4_fuzz", "bad-no-auth", b"POST /v1/tokens\nHost: h\nX-Amz-Date: 20240229T235959Z\n\n{}")
    put("sigv4_fuzz", "bad-sigv4a",
        b"POST /v1/tokens\nHost: h\nX-Amz-Date: 20240229T235959Z\nAuthorization: "
        b"AWS4-ECDSA-P256-SHA256 Credential=AKIAHSMSIGNVECTOR001/20240229/execute-api/"
        b"aws4_request, SignedHeaders=host;x-amz-date, Signature=00\n\n{}")
    put("sigv4_fuzz", "bad-date-header",
        b"POST /v1/tokens\nHost: h\nDate: Thu, 29 Feb 2024 23:59:59 GMT\nAuthorization: "
        b"AWS4-HMAC-SHA256 Credential=AKIAHSMSIGNVECTOR001/20240229/eu-central-1/execute-api/"
        b"aws4_request, SignedHeaders=date;host, Signature="
        + b"0" * 64 + b"\n\n{}")


# --- lambda_event_fuzz ----------------------------------------------------------------------


def lambda_seeds():
    src = os.path.join(REPO, "tests", "lambda", "events")
    for name in sorted(os.listdir(src)):
        shutil.copyfile(os.path.join(src, name),
                        os.path.join(CORPUS, "lambda_event_fuzz", "event-" + name))


# --- config_fuzz ----------------------------------------------------------------------------

POLICY = {
    "admins": ["arn:aws:iam::123456789012:role/pki-*"],
    "rules": [
        {"principals": ["arn:aws:iam::123456789012:role/device-*"], "profiles": ["client"],
         "cn_patterns": ["device-*"], "dns_patterns": ["*.devices.example.com"],
         "email_patterns": ["*@example.com"], "uri_patterns": ["spiffe://example.com/*"],
         "ip_ranges": ["10.0.0.0/8", "fd00::/8"],
         "max_cert_ttl_hours": 6, "audiences": ["snowflake"], "max_token_ttl_seconds": 600},
        {"principals": ["arn:aws:iam::123456789012:role/web-*"], "profiles": ["server"],
         "cn_patterns": ["*"], "dns_patterns": ["**.example.com"]},
        {"principals": ["x509:CN=device-*"],
         "audiences": ["snowflake", "https://api.example.com"]},
    ],
}


CONFIG_FULL = {}


def config_seeds():
    cfg = {
        "listen": "127.0.0.1:8080",
        "token": {"module": "/usr/lib/softhsm/libsofthsm2.so", "label": "hsmsign-dev",
                  "pin_file": "/dev/null", "pool_size": 4},
        "ca": {"key": "pkcs11:token=hsmsign-dev;object=issuing;type=private",
               "chain_file": "/dev/null", "default_ttl_hours": 12, "max_ttl_hours": 24,
               "crl_url": "http://pki.example.com/v1/crl", "crl_validity_hours": 24},
        "inventory": {"sqlite": "/nonexistent/inventory.db"},
        "jwt": {"issuer": "https://hsmsign.example.com", "jwks_file": "/dev/null",
                "default_alg": "ES256", "default_ttl_seconds": 300, "max_ttl_seconds": 3600},
        "auth": {"sigv4": {"region": "eu-west-1", "service": "execute-api",
                           "max_skew_seconds": 300,
                           "access_keys": [{"access_key_id": "AKIAFUZZ000000000001",
                                            "secret_file": "/dev/null",
                                            "principal_arn":
                                                "arn:aws:iam::123456789012:role/device-1"}]},
                 "mtls": {"proxy_header": "X-Client-Cert",
                          "trusted_proxies": ["127.0.0.1", "::1"]}},
        "policy": POLICY,
        "limits": {"max_connections": 256, "max_connections_per_ip": 32,
                   "connection_timeout_seconds": 30, "request_timeout_seconds": 10,
                   "workers": 8},
    }
    CONFIG_FULL.update(cfg)
    put("config_fuzz", "file-full", b"\x00" + json.dumps(cfg, indent=1).encode())
    dyn = json.loads(json.dumps(cfg))
    dyn["inventory"] = {"dynamodb": {"table": "hsmsign-inventory", "region": "eu-west-1",
                                     "endpoint": "http://127.0.0.1:8000", "timeout_ms": 3000}}
    dyn["jwt"] = {"issuer": "https://hsmsign.example.com",
                  "keys": [{"key": "jwt-es256", "alg": "ES256"}, {"key": "jwt-rsa"}]}
    del dyn["auth"]
    put("config_fuzz", "file-dynamodb-keys", b"\x00" + json.dumps(dyn).encode())
    put("config_fuzz", "file-bad-unknown-key", b"\x00" + json.dumps({**cfg, "x": 1}).encode())
    put("config_fuzz", "file-bad-not-json", b"\x00{\"listen\": ")
    doc = json.dumps({"policy": POLICY}).encode()
    put("config_fuzz", "policy-device",
        b"\x01arn:aws:iam::123456789012:role/device-7\ndevice-7.devices.example.com\nsnowflake\n"
        + doc)
    put("config_fuzz", "policy-web",
        b"\x01arn:aws:iam::123456789012:role/web-1\na.b.example.com\nnone\n" + doc)
    put("config_fuzz", "policy-x509",
        b"\x01x509:CN=device-42\ndevice-42\nhttps://api.example.com\n" + doc)
    put("config_fuzz", "policy-bad-cidr",
        b"\x01p\nn\na\n" + json.dumps({"policy": {"rules": [
            {"principals": ["*"], "profiles": ["client"], "ip_ranges": ["10.0.0.0/33"]}]}}
        ).encode())


def config_profile_seeds():
    """A whole config with token profiles, the SSH CAs and server-side key generation (the
    members api_config_load reads for them); only these seeds are remade by running this
    function alone."""
    cfg = json.loads(json.dumps(CONFIG_FULL))
    cfg["jwt"] = {"issuer": "https://hsmsign.example.com",
                  "keys": [{"key": "jwt-es256", "alg": "ES256"},
                           {"key": "jwt-rs256", "alg": "RS256"}]}
    cfg["token_profiles"] = {
        "snowflake-analyst": {
            "audience": "https://xy12345.eu-west-1.snowflakecomputing.com",
            "ttl_seconds": 600, "alg": "RS256", "key": "jwt-rs256",
            "subject": {"from": "role_session_name", "strip_domain": "@example.com",
                        "lookup": {"alice": "ALICE_SMITH", "bob": "BOB"}},
            "claims": {"scp": ["session:role:ANALYST"], "tier": 2, "beta": True},
            "claims_from_policy": True},
        "workload": {"audience": "https://api.example.com", "ttl_seconds": 300,
                     "alg": "ES256", "key": "jwt-es256",
                     "subject": {"from": "principal_arn"}},
    }
    cfg["policy"] = json.loads(json.dumps(POLICY))
    cfg["policy"]["rules"].append(
        {"principals": ["arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_*/*"],
         "token_profiles": ["snowflake-analyst"], "token_claims": {"dept": "finance"}})
    cfg["ssh"] = {"user_ca": ["ssh-user-ca-2", "ssh-user-ca-1"], "host_ca": ["ssh-host-ca"],
                  "keygen": {"workers": 2, "queue_max": 64, "result_ttl_seconds": 300,
                             "pending_per_principal_max": 8}}
    put("config_fuzz", "file-profiles-ssh", b"\x00" + json.dumps(cfg, indent=1).encode())
    bad = json.loads(json.dumps(cfg))
    bad["token_profiles"]["workload"]["claims"] = {"sub": "x"}
    put("config_fuzz", "file-bad-profile-reserved-claim", b"\x00" + json.dumps(bad).encode())
    put("config_fuzz", "file-bad-duplicate-member",
        b"\x00" + json.dumps(cfg).encode()[:-1] + b', "listen": "127.0.0.1:9"}')


SSH_POLICY = {
    "admins": ["arn:aws:iam::123456789012:role/pki-admin"],
    "rules": [
        {"principals": ["arn:aws:iam::123456789012:user/*"], "ssh_cert_types": ["user"],
         "ssh_principals": ["${aws:username}", "${aws:username}-admin", "deploy"],
         "ssh_max_ttl_seconds": 28800},
        {"principals": ["arn:aws:sts::123456789012:assumed-role/ops/*"],
         "ssh_cert_types": ["user", "host"],
         "ssh_principals": ["${aws:rolesessionname}", "*.hosts.example.com"],
         "ssh_max_ttl_seconds": {"user": 3600, "host": 7776000},
         "ssh_extensions": ["permit-pty", "permit-port-forwarding", "no-touch-required"],
         "ssh_critical_options": ["force-command", "source-address"],
         "ssh_required_critical_options": {"source-address": "10.0.0.0/8,2001:db8::/32"}},
    ],
}


def config_ssh_seeds():
    """The SSH members of a policy rule (api_policy_check_ssh); only these seeds are remade by
    running this function alone."""
    doc = json.dumps({"policy": SSH_POLICY}).encode()
    put("config_fuzz", "policy-ssh-user",
        b"\x01arn:aws:iam::123456789012:user/eng/alice\nalice\n10.1.0.0/16\n" + doc)
    put("config_fuzz", "policy-ssh-session",
        b"\x01arn:aws:sts::123456789012:assumed-role/ops/alice-laptop\nalice-laptop\n"
        b"10.0.0.0/8,2001:db8::/32\n" + doc)
    put("config_fuzz", "policy-ssh-host",
        b"\x01arn:aws:sts::123456789012:assumed-role/ops/deploy\nweb-1.hosts.example.com\n"
        b"backup --now\n" + doc)
    put("config_fuzz", "policy-ssh-bad-variable",
        b"\x01arn:aws:iam::123456789012:user/alice\nalice\nx\n" + json.dumps({"policy": {
            "rules": [{"principals": ["*"], "ssh_cert_types": ["user"],
                       "ssh_principals": ["${aws:userid}"]}]}}).encode())


# --- ceremony_config_fuzz and jwt_fuzz ------------------------------------------------------

STEPS = ["init-token", "root", "key", "intermediate", "cross-sign", "crl", "jwt-key",
         "jwt-key-retire", "export", "verify"]
EXAMPLE_STEP = {
    "init-token": "init-token", "root": "root", "root-2": "root", "key": "key",
    "intermediate": "intermediate", "intermediate-constrained": "intermediate",
    "intermediate-public-key": "intermediate", "cross-sign": "cross-sign", "crl": "crl",
    "jwt-key": "jwt-key", "jwt-key-rotate": "jwt-key", "jwt-key-retire": "jwt-key-retire",
    "export": "export", "verify": "verify",
}
INPUTS = {"pin_file", "so_pin_file", "certificate", "public_key", "root_certificate",
          "intermediate_certificate", "subject_certificate"}


def ceremony_paths(obj, parent=None):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, str) and not v.startswith("http") and \
                    (v.startswith("var/") or v.endswith((".pem", ".json", ".jsonl"))):
                if k == "jwks":
                    obj[k] = "/proc/self/fd/1001"
                elif k in INPUTS and not (parent == "certificate" and k == "output"):
                    obj[k] = "/dev/null"
                else:
                    # An output: its directory must exist, the file must not.
                    obj[k] = "/dev/hsmsign-fuzz-absent-" + os.path.basename(v)
            else:
                ceremony_paths(v, k)
    elif isinstance(obj, list):
        for v in obj:
            ceremony_paths(v, parent)


def jwks_seeds():
    keys = []
    for kty, opts, alg in (("EC", {"crv": "P-256"}, "ES256"), ("EC", {"crv": "P-384"}, "ES384"),
                           ("OKP", {"crv": "Ed25519"}, "EdDSA"), ("RSA", {"size": 2048}, "RS256")):
        k = jwk.JWK.generate(kty=kty, **opts)
        d = json.loads(k.export_public())
        d.update({"use": "sig", "alg": alg, "kid": k.thumbprint()})
        keys.append(d)
    return keys


def ceremony_and_jwt_seeds():
    keys = jwks_seeds()
    jwks = json.dumps({"keys": keys}).encode()
    put("jwt_fuzz", "jwks-four", jwks)
    put("jwt_fuzz", "jwks-one-ps256", json.dumps({"keys": [dict(keys[3], alg="PS256")]}))
    put("jwt_fuzz", "bad-kid", json.dumps({"keys": [dict(keys[0], kid="x")]}))
    put("jwt_fuzz", "bad-twice", json.dumps({"keys": [keys[0], keys[0]]}))
    # Accepted before the fuzz work (sgn_jwk_read checked alg by name only): must be refused.
    put("jwt_fuzz", "regress-alg-mismatch", json.dumps({"keys": [dict(keys[0], alg="RS256")]}))
    put("jwt_fuzz", "bad-point", json.dumps({"keys": [dict(keys[0], x=keys[1]["x"])]}))
    put("jwt_fuzz", "refs", json.dumps({"keys": [{"key": "pkcs11:object=jwt", "alg": "ES256"},
                                                 {"key": "jwt-2"}]}))
    src = os.path.join(REPO, "keyceremony", "examples")
    for name in sorted(os.listdir(src)):
        base = name[:-len(".json")]
        step = STEPS.index(EXAMPLE_STEP[base])
        with open(os.path.join(src, name)) as f:
            doc = json.load(f)
        ceremony_paths(doc)
        text = json.dumps(doc, indent=1).encode()
        tail = b"\x00" + jwks if "jwks" in doc else b""
        put("ceremony_config_fuzz", "example-" + base,
            bytes([step]) + keys[1]["kid"].encode() + b"\n" + text + tail)
    put("ceremony_config_fuzz", "bad-root-rsa1024", bytes([1]) + b"\n" + json.dumps({
        "token": {"module": "/usr/lib/softhsm/libsofthsm2.so", "label": "t",
                  "pin_file": "/dev/null"},
        "key": {"label": "r", "type": "RSA-1024"},
        "certificate": {"subject": {"CN": "r"}, "validity_days": 10,
                        "output": "/dev/hsmsign-fuzz-absent-r.pem"}}).encode())
    put("ceremony_config_fuzz", "bad-retire-only-key",
        bytes([7]) + keys[0]["kid"].encode() + b'\n{"jwks": "/proc/self/fd/1001"}\x00' +
        json.dumps({"keys": [keys[0]]}).encode())
    return keys


def http_seeds():
    with tempfile.TemporaryDirectory() as tmp:
        key = os.path.join(tmp, "k")
        cert = openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                       "-nodes", "-keyout", key, "-subj", "/O=hsmsign fuzz/CN=device-42",
                       "-days", "1", "-addext", "extendedKeyUsage=clientAuth")
    from urllib.parse import quote
    put("http_fuzz", "cert-nginx-escaped", b"/v1/tokens\n" + quote(cert, safe="").encode())
    put("http_fuzz", "cert-alb-plus", b"/v1/tokens\n" + quote(cert, safe="+=/").encode())
    put("http_fuzz", "route-dots", b"/v1//x/../%74okens/?a=1\n")
    put("http_fuzz", "route-serial", b"/v1/certificates/00A1b2/revoke\n")
    put("http_fuzz", "bad-route-encoded-slash", b"/v1/certificates%2Fx\n%0")
    put("http_fuzz", "bad-escape-nul", b"/\n%00")


# --- sigv4_resign_fuzz ------------------------------------------------------------------------
# Flags byte (tests/fuzz/sigv4_resign_fuzz.c): bit 0 session key, bit 1 x-amz-content-sha256,
# bit 2 Date header, bit 3 sign only host and x-amz-*, bits 4-6 clock offset, bit 7 reordered
# Authorization. The harness signs; a seed is only the request.


def sigv4_resign_seeds():
    tokens = b'{"audience": "https://api.example.com", "ttl_seconds": 300}'
    put("sigv4_resign_fuzz", "post-tokens",
        b"\x00POST /v1/tokens\nContent-Type: application/json\n\n" + tokens)
    put("sigv4_resign_fuzz", "post-tokens-session-sha-date",
        b"\x07POST /v1/tokens\nContent-Type: application/json\n\n" + tokens)
    put("sigv4_resign_fuzz", "get-query-minimal-skew",
        b"\x1aGET /v1/certificates/0a?b=2&a=1&a&c=%20+&d=%7e\nAccept: */*\n\n")
    put("sigv4_resign_fuzz", "get-dot-segments-reordered",
        b"\xa0GET /v1//./x/../certificates/%7e/\nhost: hsmsign.example.com\n\n")
    put("sigv4_resign_fuzz", "repeated-headers-blanks",
        b"\x31POST /v1/tokens\nX-Amz-Meta-A:  a   b\t c \nfoo: 1\nFoo: 2\n\n{}")
    put("sigv4_resign_fuzz", "midnight-plus-one",
        b"\x40GET /v1/crl\n\n")
    put("sigv4_resign_fuzz", "bad-presigned",
        b"\x00GET /v1/crl?X-Amz-Signature=00\n\n")
    put("sigv4_resign_fuzz", "bad-control-in-value",
        b"\x00GET /v1/crl\nX-Thing: a\x01b\n\n")


# --- service_fuzz ----------------------------------------------------------------------------
# Byte 0 picks the form (tests/fuzz/service_fuzz.c): 0 an API Gateway event, 1 an HTTP request
# (signed by the device, admin, stranger or nobody), 2 a certificate request whose CSR the
# harness makes (CN, SANs, profile, ttl_hours, a follow-up byte), 3 a token request.

SERVICE_DEVICE = "arn:aws:iam::123456789012:role/fuzz-device"


def service_seeds(tmp):
    pem = openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-nodes", "-keyout", os.path.join(tmp, "k"), "-subj", "/CN=fuzz-seed",
                  "-addext", "subjectAltName=DNS:seed.fuzz.example,IP:10.0.0.7").decode()
    issue = json.dumps({"csr": pem, "profile": "server", "ttl_hours": 6}).encode()
    put("service_fuzz", "http-device-issue",
        b"\x01POST /v1/certificates\nContent-Type: application/json\n\n" + issue)
    put("service_fuzz", "http-stranger-issue",
        b"\x09POST /v1/certificates\nContent-Type: application/json\n\n" + issue)
    put("service_fuzz", "http-device-token",
        b'\x01POST /v1/tokens\nContent-Type: application/json\n\n{"audience": "fuzz-aud"}')
    put("service_fuzz", "http-admin-status-query",
        b"\x05GET /v1/certificates/0a1b?x=1\n\n")
    put("service_fuzz", "http-admin-revoke-unknown",
        b'\x05POST /v1/certificates/7f/revoke\n\n{"reason": "superseded"}')
    put("service_fuzz", "http-public-crl", b"\x01GET /v1/crl\n\n")
    put("service_fuzz", "http-unsigned-jwks", b"\x0dGET /.well-known/jwks.json\n\n")
    put("service_fuzz", "http-unsigned-openid",
        b"\x0dGET /.well-known/openid-configuration\n\n")
    put("service_fuzz", "http-unsigned-healthz", b"\x0dGET /healthz\n\n")
    put("service_fuzz", "http-unsigned-metrics", b"\x0dGET /metrics\n\n")
    put("service_fuzz", "bad-http-unsigned-issue",
        b"\x0dPOST /v1/certificates\nContent-Type: application/json\n\n" + issue)
    put("service_fuzz", "bad-http-method", b"\x01DELETE /v1/tokens\n\n")
    put("service_fuzz", "bad-http-not-json", b"\x01POST /v1/tokens\n\n{\"audience\": ")
    put("service_fuzz", "bad-http-proxy-header-twice",
        b'\x0dPOST /v1/tokens\nX-Client-Cert: a\nX-Client-Cert: b\n\n{"audience": "fuzz-aud"}')
    # Events: the repository's, with the device as principal and the CSR above.
    src = os.path.join(REPO, "tests", "lambda", "events")
    for name in sorted(os.listdir(src)):
        with open(os.path.join(src, name), "rb") as f:
            text = f.read()
        text = re.sub(rb"arn:aws:(iam|sts)::[0-9]+:[A-Za-z0-9/_+=,.@-]+",
                      SERVICE_DEVICE.encode(), text)
        text = text.replace(b"@CSR@", json.dumps(pem)[1:-1].replace("\\", "\\\\")
                            .replace('"', '\\"').encode())
        text = text.replace(b"https://api.example.com", b"fuzz-aud")
        put("service_fuzz", "event-" + name.rsplit(".", 1)[0], b"\x00" + text)
    # Form 2: CN, SANs, profile, ttl_hours, follow-up (0 none, 1 status, 2 revoke, 3 mTLS token;
    # who asks: (byte >> 2) % 3), the rest.
    put("service_fuzz", "issue-p256-server-status",
        b"\x02fuzz-a\nDNS:a.fuzz.example,IP:10.1.2.3,email:x@fuzz.example,"
        b"URI:spiffe://fuzz.example/a/b\nserver\n12\n\x01")
    put("service_fuzz", "issue-ed25519-admin-status",
        b"\x06fuzz-e\nDNS:e.fuzz.example\nclient\n\n\x05")
    put("service_fuzz", "issue-rsa-event-stranger-status",
        b"\x1afuzz-r\n\nclient\n1\n\x09")
    put("service_fuzz", "issue-client-then-mtls-token",
        b"\x02fuzz-b\nDNS:b.fuzz.example\nclient\n\n\x03fuzz-aud")
    put("service_fuzz", "issue-then-revoke",
        b'\x02fuzz-c\n\nclient\n\n\x02{"reason": "keyCompromise"}')
    put("service_fuzz", "bad-issue-cn-star", b"\x02*\nDNS:*.fuzz.example\n\n\n")
    put("service_fuzz", "bad-issue-ttl", b"\x02fuzz-t\n\nclient\n48\n")
    put("service_fuzz", "bad-issue-server-no-dns", b"\x02fuzz-s\n\nserver\n\n")
    put("service_fuzz", "bad-issue-ip-outside", b"\x02fuzz-i\nIP:192.0.2.1\n\n\n")
    # Form 3: audience, ttl_seconds, alg; by HTTP, event or the harness's client certificate.
    put("service_fuzz", "token-http-rs256", b"\x03fuzz-aud\n300\nRS256\n")
    put("service_fuzz", "token-event", b"\x07https://api.fuzz.example\n\n\n")
    put("service_fuzz", "token-mtls", b"\x0bfuzz-aud\n100\n\n")
    put("service_fuzz", "bad-token-ttl", b"\x03fuzz-aud\n601\n\n")
    put("service_fuzz", "bad-token-audience", b"\x0bhttps://api.fuzz.example\n\n\n")


# --- authorizer_token_fuzz (mode byte, then the input; see the target's comment) --------------


def authorizer_seeds():
    import base64

    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    def tok(header, claims, key=None, sig=None):
        h = b64(json.dumps(header).encode())
        p = b64(json.dumps(claims).encode())
        if sig is None:
            k = key or jwk.JWK.generate(kty="EC", crv="P-256")
            from jwcrypto import jws as jwsmod
            j = jwsmod.JWS(json.dumps(claims).encode())
            j.add_signature(k, alg=header["alg"], protected=json.dumps(header))
            return j.serialize(compact=True)
        return h + "." + p + "." + sig

    claims = {"iss": "https://hsmsign.fuzz.example", "sub": "arn:aws:iam::1:role/r",
              "aud": ["x", "https://api.fuzz.example"], "iat": 1799999990, "nbf": 1799999990,
              "exp": 1800000300, "scope": "read write", "cnf": {"x5t#S256": "A" * 43}}
    put("authorizer_token_fuzz", "token-es256",
        b"\x00" + tok({"alg": "ES256", "kid": "fuzz-p256", "typ": "JWT"}, claims).encode())
    put("authorizer_token_fuzz", "token-scp",
        b"\x00" + tok({"alg": "ES256", "kid": "fuzz-p256"},
                       dict(claims, scp=["read"], scope=None)).encode())
    put("authorizer_token_fuzz", "token-eddsa",
        b"\x00" + tok({"alg": "EdDSA", "kid": "fuzz-ed"}, claims, sig="A" * 86).encode())
    put("authorizer_token_fuzz", "token-none",
        b"\x00" + tok({"alg": "none"}, claims, sig="").encode())
    put("authorizer_token_fuzz", "token-crit",
        b"\x00" + tok({"alg": "ES256", "kid": "fuzz-p256", "crit": ["b64"]}, claims,
                       sig="AA").encode())
    ev_token = {"type": "TOKEN", "authorizationToken": "Bearer a.b.c",
                "methodArn": "arn:aws:execute-api:eu-west-1:1:api/prod/GET/hello"}
    put("authorizer_token_fuzz", "event-rest-token", b"\x01" + json.dumps(ev_token).encode())
    ev_req = {"type": "REQUEST", "methodArn": "arn:aws:execute-api:eu-west-1:1:api/prod/POST/a/b",
              "headers": {"Authorization": "Bearer a.b.c"},
              "requestContext": {"identity": {"clientCert": {"clientCertPem": "-----BEGIN"}}}}
    put("authorizer_token_fuzz", "event-rest-request", b"\x01" + json.dumps(ev_req).encode())
    ev_v2 = {"version": "2.0", "type": "REQUEST", "routeKey": "GET /hello",
             "headers": {"authorization": "Bearer a.b.c"},
             "requestContext": {"authentication": {"clientCert": {"clientCertPem": "x"}}}}
    put("authorizer_token_fuzz", "event-http-v2", b"\x01" + json.dumps(ev_v2).encode())
    keys = jwks_seeds()
    put("authorizer_token_fuzz", "jwks-four", b"\x02" + json.dumps({"keys": keys}).encode())
    put("authorizer_token_fuzz", "config",
        b"\x03" + json.dumps({"issuer": "i", "audiences": ["a"], "algorithms": ["ES256", "EdDSA"],
                              "leeway_seconds": 5, "wildcard_resource": True,
                              "jwks": {"url": "https://h/jwks.json", "ca_file": "/c",
                                       "max_age_seconds": 60, "refresh_seconds": 2},
                              "mtls": {"require_cnf": True, "status_url": "https://s",
                                       "cache_seconds": 1, "region": "eu-west-1"},
                              "routes": {"GET /x": {"scopes": ["a", "b"]}}}).encode())


def main():
    if os.path.isdir(CORPUS):
        for target in os.listdir(CORPUS):
            d = os.path.join(CORPUS, target)
            for name in os.listdir(d):
                # Only the generated seeds; minimised finds (SHA-1 names) and regressions stay.
                if not re.fullmatch(r"[0-9a-f]{40}|regress-.*", name):
                    os.unlink(os.path.join(d, name))
    os.makedirs(os.path.join(CORPUS, "lambda_event_fuzz"), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        csr_seeds(tmp)
        service_seeds(tmp)
    sigv4_seeds()
    sigv4_resign_seeds()
    lambda_seeds()
    config_seeds()
    config_ssh_seeds()
    config_profile_seeds()
    ceremony_and_jwt_seeds()
    http_seeds()
    authorizer_seeds()
    return 0


if __name__ == "__main__":
    sys.exit(main())
