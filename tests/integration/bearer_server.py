#!/usr/bin/python3
"""A small API on 127.0.0.1 that wants a bearer token: it verifies the Authorization header's
JWT with the JWKS (python3-jwt; the key by kid, the alg from the key), issuer and audience, and
answers 200 {"hello": sub, "method": M, "body": what came, "header": X-Test} or 401 with the
reason. Any path; GET, POST, PUT, PATCH, DELETE. /big answers 9 MiB (over hsmsign call's bound).

usage: bearer_server.py PORT_FILE JWKS_FILE ISSUER AUDIENCE
Writes the port it listens on to PORT_FILE, and every request's Authorization header length and
verdict to stderr (never the token).
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

port_file, jwks_file, issuer, audience = sys.argv[1:5]
keys = {k["kid"]: k for k in json.load(open(jwks_file))["keys"]}


def verify(auth):
    if not auth.startswith("Bearer "):
        raise ValueError("no bearer token")
    token = auth[len("Bearer "):]
    kid = jwt.get_unverified_header(token).get("kid")
    jwk = keys.get(kid)
    if jwk is None:
        raise ValueError("unknown kid")
    key = jwt.PyJWK(jwk)
    return jwt.decode(token, key.key, algorithms=[jwk["alg"]], audience=audience, issuer=issuer,
                      options={"require": ["exp", "iat", "sub"]})


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n).decode() if n else ""
        auth = self.headers.get("Authorization") or ""
        try:
            claims = verify(auth)
        except (ValueError, jwt.PyJWTError) as e:
            sys.stderr.write(f"{self.command} auth_len={len(auth)} deny {type(e).__name__}\n")
            return self.answer(401, {"error": "unauthorized", "why": type(e).__name__})
        sys.stderr.write(f"{self.command} auth_len={len(auth)} allow sub={claims['sub']}\n")
        if self.path == "/big":
            body = b"x" * (9 * 1024 * 1024)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return None
        if self.path == "/teapot":
            return self.answer(418, {"error": "teapot", "sub": claims["sub"]})
        return self.answer(200, {"hello": claims["sub"], "method": self.command, "body": data,
                                 "content_type": self.headers.get("Content-Type"),
                                 "header": self.headers.get("X-Test"),
                                 "scp": claims.get("scp")})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
