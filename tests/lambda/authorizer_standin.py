#!/usr/bin/python3
"""Stand-ins on 127.0.0.1 for what hsmsign-authorizer fetches its JWKS from, for
tests/integration/authorizer_test.sh. Standard library only (Debian's /usr/bin/python3).

  GET  /jwks.json      the file JWKS_FILE as it is now (so a test rotates keys by rewriting it),
                       with Cache-Control: max-age=MAX_AGE; 503 while the file DOWN exists
  POST /               SSM GetParameter (JSON 1.1 protocol): the request must carry
                       X-Amz-Target: AmazonSSM.GetParameter, Content-Type
                       application/x-amz-json-1.1, a SigV4 Authorization header for service
                       "ssm" (its shape is checked, not the signature) and a body
                       {"Name": PARAM, ...}; the answer's Parameter.Value is JWKS_FILE. Anything
                       else: 400 with the __type SSM would use.
  GET  /_count         {"jwks": N, "ssm": N, "ssm_rejected": N}

Usage: authorizer_standin.py PORT_FILE JWKS_FILE --max-age S [--tls CERT KEY] [--param NAME]
Writes the port into PORT_FILE once listening; serves until killed, or for at most 600 s.
"""
import argparse
import json
import os
import re
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256 Credential=[A-Z0-9]{16,128}/\d{8}/[a-z0-9-]+/ssm/"
                     r"aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$")
counts = {"jwks": 0, "ssm": 0, "ssm_rejected": 0}
lock = threading.Lock()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port_file")
    ap.add_argument("jwks_file")
    ap.add_argument("--max-age", type=int, default=300)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--param", default="/hsmsign/jwks")
    args = ap.parse_args()
    down = args.jwks_file + ".down"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            sys.stderr.write("standin: " + (fmt % a) + "\n")

        def send(self, status, body, ctype="application/json", extra=None):
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/_count":
                with lock:
                    return self.send(200, json.dumps(counts))
            if self.path != "/jwks.json":
                return self.send(404, "{}")
            with lock:
                counts["jwks"] += 1
            if os.path.exists(down):
                return self.send(503, "{}")
            with open(args.jwks_file, "rb") as f:
                body = f.read()
            self.send(200, body, extra={"Cache-Control": "public, max-age=%d" % args.max_age})

        def ssm_error(self, kind, msg):
            with lock:
                counts["ssm_rejected"] += 1
            self.send(400, json.dumps({"__type": kind, "message": msg}),
                      "application/x-amz-json-1.1")

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n) if 0 < n <= 65536 else b""
            if self.path != "/":
                return self.send(404, "{}")
            if self.headers.get("X-Amz-Target") != "AmazonSSM.GetParameter":
                return self.ssm_error("UnknownOperationException", "X-Amz-Target")
            if self.headers.get("Content-Type") != "application/x-amz-json-1.1":
                return self.ssm_error("SerializationException", "Content-Type")
            if not AUTH_RE.match(self.headers.get("Authorization", "")) or \
                    not self.headers.get("X-Amz-Date"):
                return self.ssm_error("MissingAuthenticationTokenException", "SigV4")
            try:
                req = json.loads(body)
            except ValueError:
                return self.ssm_error("SerializationException", "body")
            if not isinstance(req, dict) or req.get("Name") != args.param or \
                    set(req) - {"Name", "WithDecryption"}:
                return self.ssm_error("ParameterNotFound", "Name")
            with lock:
                counts["ssm"] += 1
            with open(args.jwks_file) as f:
                value = f.read()
            self.send(200, json.dumps({"Parameter": {
                "Name": args.param, "Type": "String", "Value": value, "Version": 1,
                "ARN": "arn:aws:ssm:eu-west-1:111122223333:parameter" + args.param,
                "DataType": "text"}}), "application/x-amz-json-1.1")

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    threading.Timer(600, srv.shutdown).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
