#!/usr/bin/python3
"""Writes tests/unit/api_sigv4_vectors.h: requests signed by botocore, an independent SigV4
signer, for api_sigv4_test.c.

Regenerate (needs Debian's python3-botocore, which /usr/bin/python3 has, and clang-format):
    /usr/bin/python3 tests/unit/api_sigv4_vectors.py

Each vector is what a client would put on the wire after botocore signed it: the method, the
request-target of the prepared URL (so a `params` dict appears urlencoded, as botocore sends
it), every header in the order botocore holds them (repeats kept) plus the Host and
Content-Length an HTTP client adds, and the body. The clock is frozen per vector. `expect` is
the outcome hsmsignd must give, decided here and explained by `why` where it is not success;
the canonical request botocore signed is kept as a comment for whoever debugs a failure.
"""
import datetime
import hashlib
import os
import subprocess
import sys
import types
from email.utils import formatdate
from urllib.parse import urlsplit

import botocore
import botocore.auth
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "api_sigv4_vectors.h")
REGION = "eu-central-1"
SERVICE = "execute-api"
KEYS = {
    "PLAIN": ("AKIAHSMSIGNVECTOR001", "vEcToRsEcReT/0123456789+abcdefghijklmnoP", None),
    "SESSION": (
        "ASIAHSMSIGNVECTOR002",
        "sEsSiOnSeCrEt/9876543210+ABCDEFGHIJKLMNOp",
        "IQoJb3JpZ2luX2VjEXAMPLE//session+token/with=padding==",
    ),
    # Not configured in the test: an unknown key.
    "UNKNOWN": ("AKIAHSMSIGNUNKNOWN09", "uNkNoWnSeCrEt/0000000000+abcdefghijklmnoP", None),
    # The plain key's id and secret with a session token the test does not configure for it.
    "PLAIN_WITH_TOKEN": (
        "AKIAHSMSIGNVECTOR001",
        "vEcToRsEcReT/0123456789+abcdefghijklmnoP",
        "IQoJb3JpZ2luX2VjEXAMPLE//unexpected",
    ),
}
BASE = "https://hsmsign.example.com"
LEAP = datetime.datetime(2024, 2, 29, 23, 59, 59)  # a leap day, one second before midnight
JSON = '{"audience": "https://api.example.com", "ttl_seconds": 300}'
CT = [("Content-Type", "application/json")]
JSON_SHA256 = hashlib.sha256(JSON.encode()).hexdigest()


def v(name, url, method="GET", body="", headers=(), key="PLAIN", expect="HS_ERR_NONE",
      why=None, region=REGION, service=SERVICE, params=None, when=LEAP, signer=SigV4Auth,
      context=None):
    return dict(name=name, url=url, method=method, body=body, headers=list(headers), key=key,
                expect=expect, why=why, region=region, service=service, params=params,
                when=when, signer=signer, context=context or {})


class GmtDateSigV4Auth(SigV4Auth):
    """botocore's signer, writing a Date header in IMF-fixdate ("GMT") instead of "-0000"."""

    def _set_necessary_date_headers(self, request):
        super()._set_necessary_date_headers(request)
        if "Date" in request.headers:
            stamp = datetime.datetime.strptime(request.context["timestamp"], "%Y%m%dT%H%M%SZ")
            del request.headers["Date"]
            request.headers["Date"] = formatdate(
                stamp.replace(tzinfo=datetime.timezone.utc).timestamp(), usegmt=True)


VECTORS = [
    v("post json", BASE + "/v1/tokens", "POST", JSON, CT),
    v("post json, session credentials", BASE + "/v1/tokens", "POST", JSON, CT, key="SESSION"),
    v("post json, x-amz-content-sha256 signed", BASE + "/v1/certificates", "POST", JSON,
      CT + [("X-Amz-Content-SHA256", JSON_SHA256)]),
    v("x-amz-content-sha256 of another body", BASE + "/v1/certificates", "POST", JSON,
      CT + [("X-Amz-Content-SHA256", hashlib.sha256(b"{}").hexdigest())],
      expect="HS_ERR_AUTH_SIGNATURE", why="the signed hash is not the body's"),
    v("x-amz-content-sha256 in upper case", BASE + "/v1/certificates", "POST", JSON,
      CT + [("X-Amz-Content-SHA256", JSON_SHA256.upper())], expect="HS_ERR_AUTH_SIGNATURE",
      why="the payload hash is lowercase hex, as the specification writes it"),
    v("get, empty body", BASE + "/v1/tokens"),
    v("host with a port", "http://127.0.0.1:8443/v1/tokens", "POST", JSON, CT),
    # --- query strings -----------------------------------------------------------------------
    v("query in the URL, canonical encoding, out of order",
      BASE + "/v1/tokens?z=a%20b&y=%2B&x=%E2%82%AC&w=%3D%26&v=&a=2&a=1&%C3%A9=~-._"),
    v("query name without =", BASE + "/v1/tokens?flag&a=1"),
    v("query repeated names sort by value", BASE + "/v1/tokens?a=b&a=a&a=&A=z"),
    v("query from a params dict", BASE + "/v1/tokens",
      params={"b": "x/y~z", "a": "1", "c": "\u00e9", "e": ""}),
    v("query params with a space", BASE + "/v1/tokens", params={"q": "a b"},
      expect="HS_ERR_AUTH_SIGNATURE",
      why="botocore signs the space as %20 but urlencode() sends '+', which RFC 3986 and "
          "hsmsignd read as a literal plus (%2B); put %20 in the URL instead"),
    v("query in the URL with a raw lowercase escape", BASE + "/v1/tokens?z=%7e",
      expect="HS_ERR_AUTH_SIGNATURE",
      why="botocore signs a query in the URL as it is (%7e); the canonical form decodes and "
          "re-encodes it (~), as AWS does"),
    # --- headers -----------------------------------------------------------------------------
    v("repeated header, values joined in order", BASE + "/v1/tokens", "POST", JSON,
      CT + [("X-Multi", "second"), ("x-multi", "first"), ("X-MULTI", "  third  ")]),
    v("header names in any case, values with runs of blanks", BASE + "/v1/tokens", "POST",
      JSON, [("CONTENT-TYPE", "application/json"), ("x-CUSTOM-hdr", "  a   b\t\tc  ")]),
    v("x-amz-meta header signed", BASE + "/v1/tokens", "POST", JSON,
      CT + [("X-Amz-Meta-Purpose", "vector test")]),
    v("Date header instead of X-Amz-Date (botocore writes -0000)", BASE + "/v1/tokens", "POST",
      JSON, CT + [("Date", "replaced by the signer")]),
    v("Date header in IMF-fixdate (GMT)", BASE + "/v1/tokens", "POST", JSON,
      CT + [("Date", "replaced by the signer")], signer=GmtDateSigV4Auth),
    # --- paths (botocore: dot segments and '//' removed, then encoded again) -----------------
    v("path with an encoded space", BASE + "/v1/a%20b/c"),
    v("path with an encoded slash", BASE + "/v1/a%2Fb"),
    v("path with a plus", BASE + "/v1/a+b"),
    v("path with an encoded plus", BASE + "/v1/a%2Bb"),
    v("path with a tilde", BASE + "/v1/~user/x"),
    v("path with encoded UTF-8", BASE + "/v1/%E2%82%AC"),
    v("path with //", BASE + "/v1//tokens"),
    v("path with /./", BASE + "/v1/./tokens"),
    v("path with /../", BASE + "/v1/x/../tokens"),
    v("path with encoded dots", BASE + "/v1/%2e%2e/tokens"),
    v("path with a trailing slash", BASE + "/v1/tokens/"),
    v("root path", BASE + "/"),
    # --- refusals ----------------------------------------------------------------------------
    v("UNSIGNED-PAYLOAD", BASE + "/v1/tokens", "POST", JSON, CT,
      context={"payload_signing_enabled": False}, expect="HS_ERR_AUTH_UNSUPPORTED",
      why="the signature must cover the body"),
    v("STREAMING payload", BASE + "/v1/tokens", "POST", JSON,
      CT + [("X-Amz-Content-SHA256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")],
      expect="HS_ERR_AUTH_UNSUPPORTED", why="aws-chunked bodies are not accepted"),
    v("presigned URL", BASE + "/v1/tokens?x=1", signer=SigV4QueryAuth,
      expect="HS_ERR_AUTH_UNSUPPORTED", why="query-string authentication is refused"),
    v("presigned POST (botocore moves the JSON body into the query)", BASE + "/v1/tokens",
      "POST", JSON, CT, signer=SigV4QueryAuth, expect="HS_ERR_AUTH_UNSUPPORTED",
      why="query-string authentication is refused"),
    v("wrong region", BASE + "/v1/tokens", "POST", JSON, CT, region="us-west-2",
      expect="HS_ERR_AUTH_SCOPE", why="the scope names another region"),
    v("wrong service", BASE + "/v1/tokens", "POST", JSON, CT, service="lambda",
      expect="HS_ERR_AUTH_SCOPE", why="the scope names another service"),
    v("unknown access key", BASE + "/v1/tokens", "POST", JSON, CT, key="UNKNOWN",
      expect="HS_ERR_AUTH_UNKNOWN_KEY", why="the key is not configured"),
    v("session token for a key without one", BASE + "/v1/tokens", "POST", JSON, CT,
      key="PLAIN_WITH_TOKEN", expect="HS_ERR_AUTH_MALFORMED",
      why="the configured key has no session token"),
]


def frozen(when):
    class Frozen(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return when

    return types.SimpleNamespace(datetime=Frozen)


def sign(vec):
    akid, secret, token = KEYS[vec["key"]]
    req = AWSRequest(method=vec["method"], url=vec["url"], data=vec["body"] or None,
                     params=vec["params"] or {})
    for name, value in vec["headers"]:
        req.headers[name] = value  # HTTPHeaders appends: repeats are kept
    req.context.update(vec["context"])
    recorded = {}

    class Recording(vec["signer"]):
        def canonical_request(self, request):
            recorded["creq"] = super().canonical_request(request)
            return recorded["creq"]

    saved = botocore.auth.datetime
    botocore.auth.datetime = frozen(vec["when"])
    try:
        Recording(Credentials(akid, secret, token), vec["service"], vec["region"]).add_auth(req)
    finally:
        botocore.auth.datetime = saved
    prepared = req.prepare()
    parts = urlsplit(prepared.url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    headers = [("Host", parts.netloc)] + list(req.headers.items())
    if body:
        headers.append(("Content-Length", str(len(body))))
    now = int(vec["when"].replace(tzinfo=datetime.timezone.utc).timestamp())
    return target, headers, body, now, recorded["creq"]


def c_str(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    out = []
    for b in data:
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\t":
            out.append("\\t")
        elif c == "\n":
            out.append("\\n")
        elif c == "?" and out and out[-1] == "?":  # no "??" trigraphs
            out.append("\\?")
        elif 0x20 <= b < 0x7F:
            out.append(c)
        else:
            out.append('\\%03o' % b)
    return '"' + "".join(out) + '"'


def comment(text):
    return "\n".join(("     * " + line.replace("*/", "* /")).rstrip() for line in text.split("\n"))


def main():
    lines = [
        "/* Generated by tests/unit/api_sigv4_vectors.py with botocore %s (Python %d.%d); do"
        % ((botocore.__version__,) + sys.version_info[:2]),
        " * not edit. Requests signed by botocore for api_sigv4_test.c. */",
        "#ifndef API_SIGV4_VECTORS_H",
        "#define API_SIGV4_VECTORS_H",
        "",
        "#include <stddef.h>",
        "#include <time.h>",
        "",
        '#include "api_sigv4.h"',
        '#include "hs_err.h"',
        "",
        '#define VEC_REGION "%s"' % REGION,
        '#define VEC_SERVICE "%s"' % SERVICE,
    ]
    for k in ("PLAIN", "SESSION"):
        akid, secret, token = KEYS[k]
        lines.append('#define VEC_%s_AKID "%s"' % (k, akid))
        lines.append('#define VEC_%s_SECRET "%s"' % (k, secret))
        if token:
            lines.append('#define VEC_%s_TOKEN "%s"' % (k, token))
    signed = [(vec, sign(vec)) for vec in VECTORS]
    most = max(len(s[1]) for _, s in signed)
    lines += [
        "#define VEC_HEADERS_MAX %d" % most,
        "",
        "struct sigv4_vector {",
        "    const char *name;",
        "    const char *method;",
        "    const char *target;",
        "    const char *body;",
        "    size_t body_len;",
        "    time_t now; /* the signer's clock */",
        "    size_t nheaders;",
        "    struct api_header headers[VEC_HEADERS_MAX];",
        "    enum hs_code expect;",
        "};",
        "",
        "static const struct sigv4_vector sigv4_vectors[] = {",
    ]
    for vec, (target, headers, body, now, creq) in signed:
        lines.append("    /*")
        if vec["why"]:
            lines.append(comment("Expected to fail: " + vec["why"] + "."))
        lines.append(comment("botocore's canonical request:\n" + creq))
        lines.append("     */")
        hdrs = ", ".join("{%s, %s}" % (c_str(n), c_str(val)) for n, val in headers)
        lines.append("    {%s, %s, %s, %s, %d, %d, %d, {%s}, %s}," % (
            c_str(vec["name"]), c_str(vec["method"]), c_str(target), c_str(body), len(body),
            now, len(headers), hdrs, vec["expect"]))
    lines += ["};", "", "#endif /* API_SIGV4_VECTORS_H */", ""]
    with open(OUT, "w") as f:
        f.write("\n".join(lines))
    subprocess.run(["clang-format", "-i", OUT], check=True)  # finds the repo's .clang-format
    print("wrote %s: %d vectors" % (OUT, len(VECTORS)))


if __name__ == "__main__":
    main()
