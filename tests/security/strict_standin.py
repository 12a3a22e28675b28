#!/usr/bin/python3
"""A strict HTTP/1.1 stand-in for the self-test of malformed_http.py (not a model of hsmsignd).

It answers the way the suite expects hsmsignd's front end to, so that
tests/security/self_test.sh can check that every case of the suite can pass at all (that the
expectations are consistent, that the deadline and early-413 paths of the harness work). It
follows RFC 9112: CRLF only, one Host, no obs-fold, token field names with no space before the
colon, no CTL in values, one decimal Content-Length, Transfer-Encoding with chunked last and
never together with Content-Length, hex chunk sizes; limits of 8 KiB for the request line and
for a field line, 32 KiB and 100 lines for the head, 64 KiB for a body, a per-request deadline.
Every refusal is JSON ({"error", "message", "request_id"}) and closes the connection.

Routes: GET /healthz; POST /v1/tokens and POST /v1/certificates answer 200 when the request
carries an Authorization header of the SigV4 form and a JSON object body sent as
application/json (the signature itself is not checked: this is not a verifier), else 401, 415
or 400.

  strict_standin.py [--deadline SECONDS]     prints "port N" on stdout once it listens
"""

import argparse
import json
import os
import re
import socket
import socketserver
import sys
import time

LINE_MAX = 8 * 1024 + 16
HEAD_MAX = 32 * 1024
HEADERS_MAX = 100
BODY_MAX = 64 * 1024
CHUNK_LINE_MAX = 1024
TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
REQUEST_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([!-~]+) HTTP/(\d)\.(\d)")
FIELD_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
PCT = re.compile(rb"%(?![0-9A-Fa-f]{2})")
METHODS = {b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"TRACE",
           b"CONNECT"}
NAMES = {400: "bad_request", 401: "missing_authentication", 404: "not_found",
         405: "method_not_allowed", 408: "request_timeout", 413: "too_large",
         414: "uri_too_long", 431: "header_fields_too_large", 501: "not_implemented",
         505: "version_not_supported"}
DEADLINE = 2.0


class Refuse(Exception):
    def __init__(self, status):
        super().__init__(status)
        self.status = status


class Closed(Exception):
    pass


class Wire:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Refuse(408)
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Refuse(408) from None
        except OSError:
            raise Closed() from None
        if not data:
            raise Closed()
        self.buf += data

    def line(self, deadline, limit, status):
        """One CRLF-ended line without its CRLF; a bare CR or LF is 400, a longer line status."""
        while True:
            i = self.buf.find(b"\n")
            cr = self.buf.find(b"\r")
            if 0 <= cr < len(self.buf) - 1 and self.buf[cr + 1:cr + 2] != b"\n":
                raise Refuse(400)
            if i >= 0:
                line, self.buf = self.buf[:i + 1], self.buf[i + 1:]
                if len(line) > limit:
                    raise Refuse(status)
                if not line.endswith(b"\r\n"):
                    raise Refuse(400)
                return line[:-2]
            if len(self.buf) > limit:
                raise Refuse(status)
            self.fill(deadline)

    def take(self, n, deadline):
        while len(self.buf) < n:
            self.fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def read_head(w, deadline):
    m = REQUEST_LINE.fullmatch(w.line(deadline, LINE_MAX, 414))
    if m is None:
        raise Refuse(400)
    method, target, major = m.group(1), m.group(2), int(m.group(3))
    if major != 1:
        raise Refuse(505)
    headers, size = [], 0
    while True:
        line = w.line(deadline, LINE_MAX, 431)
        if not line:
            break
        size += len(line) + 2
        if size > HEAD_MAX or len(headers) >= HEADERS_MAX:
            raise Refuse(431)
        name, colon, value = line.partition(b":")
        if not colon or not TOKEN.fullmatch(name) or not FIELD_VALUE.fullmatch(value):
            raise Refuse(400)  # obs-fold, empty or non-token name, space before ':', CTL
        headers.append((name.lower(), value.strip(b" \t")))
    if method not in METHODS:
        raise Refuse(501)
    if not target.startswith(b"/") or PCT.search(target) or b"%00" in target:
        raise Refuse(400)
    return method, target, m.group(4), headers


def read_body(w, headers, http10, deadline):
    cls = [v for k, v in headers if k == b"content-length"]
    tes = [v for k, v in headers if k == b"transfer-encoding"]
    if tes:
        if cls or http10:
            raise Refuse(400)
        codings = [c.strip().lower() for c in b",".join(tes).split(b",") if c.strip()]
        if not codings or codings[-1] != b"chunked" or codings.count(b"chunked") > 1:
            raise Refuse(400)
        if len(codings) > 1:
            raise Refuse(501)
        return read_chunked(w, deadline)
    if len(cls) > 1 or (cls and not re.fullmatch(rb"[0-9]{1,19}", cls[0])):
        raise Refuse(400)
    n = int(cls[0]) if cls else 0
    if n > BODY_MAX:
        raise Refuse(413)
    return w.take(n, deadline)


def read_chunked(w, deadline):
    body = b""
    while True:
        size = w.line(deadline, CHUNK_LINE_MAX, 400).split(b";", 1)[0].strip(b" \t")
        if not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size):
            raise Refuse(400)
        n = int(size, 16)
        if n == 0:
            break
        if len(body) + n > BODY_MAX:
            raise Refuse(413)
        body += w.take(n, deadline)
        if w.take(2, deadline) != b"\r\n":
            raise Refuse(400)
    while w.line(deadline, LINE_MAX, 431):  # trailer fields
        pass
    return body


def route(method, target, headers, body):
    path = target.split(b"?", 1)[0]
    routes = {b"/healthz": b"GET", b"/v1/tokens": b"POST", b"/v1/certificates": b"POST"}
    if path not in routes:
        return 404, None
    if method != routes[path]:
        return 405, None
    if path == b"/healthz":
        return 200, {"status": "ok"}
    auth = [v for k, v in headers if k == b"authorization"]
    dates = [v for k, v in headers if k == b"x-amz-date"]
    if (len(auth) != 1 or not auth[0].startswith(b"AWS4-HMAC-SHA256 Credential=")
            or len(dates) != 1 or not re.fullmatch(rb"\d{8}T\d{6}Z", dates[0])):
        return 401, None
    ctypes = [v for k, v in headers if k == b"content-type"]
    if body and (len(ctypes) != 1 or ctypes[0].split(b";")[0].strip().lower()
                 != b"application/json"):
        return 415, None
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return 400, None
    if not isinstance(doc, dict):
        return 400, None
    if path == b"/v1/tokens":
        return 200, {"token": "standin"}
    ttl = doc.get("ttl_hours", 1)
    if not isinstance(doc.get("csr"), str) or not isinstance(ttl, int) or not 0 < ttl < 10**6:
        return 400, None
    return 200, {"certificate": "standin"}


def send(sock, status, doc, close):
    if doc is None:
        doc = {"error": NAMES.get(status, "error"), "message": "refused",
               "request_id": os.urandom(8).hex()}
    body = json.dumps(doc).encode()
    head = "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n" % (
        status, len(body), "Connection: close\r\n" if close else "")
    try:
        sock.sendall(head.encode() + body)
    except OSError:
        pass


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        w = Wire(self.request)
        while True:
            deadline = time.monotonic() + DEADLINE
            try:
                if not w.buf:
                    w.fill(deadline)
                method, target, minor, headers = read_head(w, deadline)
                hosts = [v for k, v in headers if k == b"host"]
                if minor == b"1" and len(hosts) != 1:
                    raise Refuse(400)
                body = read_body(w, headers, minor == b"0", deadline)
            except Refuse as r:
                send(self.request, r.status, None, True)
                return
            except Closed:
                return
            status, doc = route(method, target, headers, body)
            close = status >= 400 or (b"connection", b"close") in headers or minor == b"0"
            send(self.request, status, doc, close)
            if close:
                return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    global DEADLINE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--deadline", type=float, default=DEADLINE)
    DEADLINE = ap.parse_args().deadline
    with Server(("127.0.0.1", 0), Handler) as srv:
        print("port %d" % srv.server_address[1], flush=True)
        srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
