#!/usr/bin/python3
"""Checks a request's AWS Signature Version 4 with botocore (an implementation independent of
libcurl's, which signs it, and of tests/sqs/sqs_server.js's, which checks it on every request).

Usage: sigv4_botocore.py REQUEST_JSON_FILE, with HSMSIGN_SIGV4_SECRET (the secret access key; in
the environment, never on the command line). The file is what sqs_server.js's /__last_request
answers. Recomputes the signature over the headers the request says it signed, with the
Credential scope it names, and exits 0 when it matches, 1 when it does not, 2 on bad input.
"""
import base64
import json
import os
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def main():
    if len(sys.argv) != 2 or not os.environ.get("HSMSIGN_SIGV4_SECRET"):
        print("usage: HSMSIGN_SIGV4_SECRET=... sigv4_botocore.py REQUEST_JSON", file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        r = json.load(f)
    headers = r["headers"]
    auth = headers.get("authorization", "")
    prefix = "AWS4-HMAC-SHA256 "
    if not auth.startswith(prefix):
        print("no SigV4 Authorization header", file=sys.stderr)
        return 1
    parts = dict(p.strip().split("=", 1) for p in auth[len(prefix):].split(","))
    akid, _date, region, service, _ = parts["Credential"].split("/")
    signed = parts["SignedHeaders"].split(";")
    missing = [h for h in signed if h not in headers]
    if missing:
        print(f"signed but not sent: {missing}", file=sys.stderr)
        return 1
    req = AWSRequest(method=r["method"], url="http://" + headers["host"] + r["path"],
                     data=base64.b64decode(r["body_b64"]),
                     headers={h: headers[h] for h in signed})
    req.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(Credentials(akid, os.environ["HSMSIGN_SIGV4_SECRET"]), service, region)
    expected = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
    if expected != parts["Signature"]:
        print("signature does not match botocore's", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
