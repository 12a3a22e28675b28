#!/usr/bin/python3
"""Malformed HTTP against a running hsmsignd, over raw sockets (issue 10, deliverable 3).

Every case is a row of CASES: a name, the bytes sent (or a function that runs a whole
exchange), and the answers that pass. A malformed request passes when it gets a JSON answer
with the expected 4xx (or 501/505) status -- Content-Type application/json, a body that is a
JSON object with string "error" and "request_id" members -- or, where the case allows it, when
the server closes the connection without sending anything that is not such an answer. Any other
bytes (libmicrohttpd's HTML error pages, an HTTP/0.9 answer), a 2xx to a malformed request, a
second answer where one request was sent (smuggling), or a connection left open without an
answer fail the case. After every case GET /healthz must answer 200.

The expected statuses follow RFC 9112 (HTTP/1.1 message syntax) and RFC 9110 (semantics):
a request-target over the service's 8 KiB limit is 414, header fields over the limits 431,
a version other than HTTP/1.x 505, a body over 64 KiB 413 (RFC 9110 §15.5.14), and every
framing error (§6.3: Content-Length and Transfer-Encoding together, a Content-Length that is not
one decimal number, a chunked coding that is not final, a bad chunk) 400 with the connection
closed. Where the RFCs allow more than one answer the case lists them all.

Requests that could issue a certificate if the framing error were tolerated carry a valid
SigV4 signature (botocore's SigV4Auth, over the real body) and a valid CSR, so that a server
that parses them leniently answers 200 and issues; the wrapper then finds the inventory changed.

  malformed_http.py --url http://127.0.0.1:PORT --akid AKID --secret-file F --region R
                    --csr FILE [--deadline SECONDS] [--only NAME]... [--list]

--deadline is the service's limits.request_timeout_seconds (0: the service has none; the
slow-sender deadline case then fails with "no request deadline"). Exit status: 0 when every
case passed, 1 when any failed, 2 on a usage error.
"""

import argparse
import json
import re
import select
import socket
import sys
import time
import urllib.parse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ANY_ERROR = frozenset(range(400, 500)) | {501, 505}
BODY_MAX = 64 * 1024  # api/api_body.h API_BODY_MAX
EXCHANGE_TIMEOUT = 2.5  # seconds to wait for an answer (or a close) to one case
QUIET = 0.3  # seconds to wait for a (smuggled) extra answer after the expected ones


class Ctx:
    """What the cases need: the service's address, a signer and a valid issuance body."""

    def __init__(self, args):
        url = urllib.parse.urlsplit(args.url)
        self.url = args.url.rstrip("/")
        self.addr = (url.hostname, url.port)
        self.host = url.netloc.encode()
        with open(args.secret_file, encoding="ascii") as f:
            secret = f.read().strip()
        self.creds = Credentials(args.akid, secret)
        self.region = args.region
        with open(args.csr, encoding="ascii") as f:
            self.issue_body = json.dumps({"csr": f.read(), "profile": "client"}).encode()
        self.deadline = args.deadline
        self.verbose = args.verbose

    def signed_lines(self, method, path, body, content_type=True):
        """Header lines (bytes, no CRLF) of a SigV4-signed request: Host, the signed headers
        and Authorization. Content-Length and Transfer-Encoding are left to the case."""
        headers = {"Content-Type": "application/json"} if content_type else {}
        req = AWSRequest(method=method, url=self.url + path, data=body, headers=headers)
        SigV4Auth(self.creds, "execute-api", self.region).add_auth(req)
        lines = [b"Host: " + self.host]
        for k, v in req.headers.items():
            lines.append(k.encode() + b": " + v.encode())
        return lines


# --- building requests --------------------------------------------------------------------


def raw(request_line, lines, body=b"", eol=b"\r\n"):
    """request_line, each header line, an empty line and body, lines ended by eol."""
    out = request_line + eol
    for line in lines:
        out += line + eol
    return out + eol + body


def chunked(body, size=None):
    """body in one chunk and the last chunk."""
    if not body:
        return b"0\r\n\r\n"
    return b"%x\r\n%s\r\n0\r\n\r\n" % (size if size is not None else len(body), body)


def get(c, lines=(), target=b"/healthz", version=b"HTTP/1.1", method=b"GET", close=True):
    """A request to a public route that answers 200 when the request is taken: a malformation
    the server tolerates shows as a 200."""
    hdrs = [b"Host: " + c.host, *lines]
    if close:
        hdrs.append(b"Connection: close")
    return raw(method + b" " + target + b" " + version, hdrs)


def post(c, lines, body, target=b"/v1/tokens", close=True):
    """An unsigned POST with the given framing lines (no Content-Length added). Smuggling cases
    keep the connection open (close=False), so that a hidden second request would be read."""
    return raw(b"POST " + target + b" HTTP/1.1",
               [b"Host: " + c.host, b"Content-Type: application/json", *lines,
                *([b"Connection: close"] if close else [])], body)


def issue(c, framing, body=None, extra=(), eol=b"\r\n", path="/v1/certificates"):
    """A signed certificate request with a valid CSR; framing gives the Content-Length /
    Transfer-Encoding lines, extra more (unsigned) lines, body the bytes after the head (by
    default the signed body as is)."""
    signed = c.signed_lines("POST", path, c.issue_body)
    wire = c.issue_body if body is None else body
    return raw(b"POST " + path.encode() + b" HTTP/1.1",
               [*signed, *framing, *extra, b"Connection: close"], wire, eol)


def signed_json(c, body):
    """A signed POST /v1/certificates carrying body as it is (whatever it holds)."""
    return raw(b"POST /v1/certificates HTTP/1.1",
               [*c.signed_lines("POST", "/v1/certificates", body),
                b"Content-Length: %d" % len(body), b"Connection: close"], body)


def cl(n):
    return b"Content-Length: %d" % n


# --- reading answers ----------------------------------------------------------------------

STATUS_RE = re.compile(rb"HTTP/1\.[01] (\d{3})[^\r\n]*\r\n")


class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json_problem(self):
        """None when this is our JSON error shape (or JSON for a 2xx), else what is wrong."""
        ctype = self.headers.get(b"content-type", b"")
        if not ctype.lower().startswith(b"application/json"):
            return "Content-Type %r, body %r" % (ctype.decode("latin-1"), self.body[:60])
        try:
            doc = json.loads(self.body)
        except ValueError:
            return "body is not JSON: %r" % self.body[:60]
        if self.status < 300:
            return None if isinstance(doc, dict) else "body is not a JSON object"
        if not (isinstance(doc, dict) and isinstance(doc.get("error"), str)
                and isinstance(doc.get("request_id"), str)):
            return "JSON without error/request_id: %r" % self.body[:80]
        return None


def parse_answers(data):
    """The HTTP/1.x answers in data: (answers, problem). problem is None, or says what in data
    is not an answer (bytes before a status line, a truncated answer)."""
    answers, pos = [], 0
    while pos < len(data):
        m = STATUS_RE.match(data, pos)
        if m is None:
            return answers, "non-HTTP bytes: %r" % data[pos:pos + 60]
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            return answers, "truncated answer head"
        headers = {}
        for line in data[m.end():end].split(b"\r\n"):
            if line:
                k, _, v = line.partition(b":")
                headers[k.strip().lower()] = v.strip()
        status, pos = int(m.group(1)), end + 4
        if status < 200 or status in (204, 304):
            answers.append(Answer(status, headers, b""))
            continue
        if b"content-length" in headers:
            n = int(headers[b"content-length"])
            if len(data) < pos + n:
                return answers, "truncated answer body"
            answers.append(Answer(status, headers, data[pos:pos + n]))
            pos += n
        else:  # read to the close (our service always sends Content-Length)
            answers.append(Answer(status, headers, data[pos:]))
            pos = len(data)
    return answers, None


def connect(c, source=None, timeout=EXCHANGE_TIMEOUT):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source is not None:
        s.bind((source, 0))
    s.connect(c.addr)
    return s


def read_answers(s, want, timeout=EXCHANGE_TIMEOUT):
    """Reads until the peer closes, or until `want` final answers are in and QUIET seconds
    pass without more bytes, or timeout. Returns (data, how): "closed", "reset" or "open"."""
    data, until, quiet_until = b"", time.monotonic() + timeout, None
    while True:
        now = time.monotonic()
        limit = min(until, quiet_until) if quiet_until else until
        if now >= limit:
            return data, "open"
        r, _, _ = select.select([s], [], [], limit - now)
        if not r:
            continue
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return data, "reset"
        if not chunk:
            return data, "closed"
        data += chunk
        answers, _ = parse_answers(data)
        if sum(1 for a in answers if a.status >= 200) >= want:
            quiet_until = time.monotonic() + QUIET


def send_all(s, payload):
    """Sends payload; a peer that closes or stops reading ends the send early (that is a
    refusal, not an error). Returns the bytes sent."""
    sent = 0
    try:
        while sent < len(payload):
            sent += s.send(payload[sent:sent + 65536])
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    return sent


def exchange(c, payload, want=1, half_close=False, timeout=EXCHANGE_TIMEOUT):
    with connect(c, timeout=timeout) as s:
        send_all(s, payload)
        if half_close:
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        return read_answers(s, want, timeout)


def judge(data, how, expect, close_ok, prefix=()):
    """(passed, detail) for the bytes of one exchange (see the module comment)."""
    answers, problem = parse_answers(data)
    if problem:
        first = answers[0] if answers else None
        if first is not None:
            problem = "%d %s; then %s" % (first.status, first.json_problem() or "JSON", problem)
        return False, problem
    finals = [a for a in answers if a.status >= 200]
    interim = [a.status for a in answers if a.status < 200]
    if interim:
        return False, "interim answer %s before the refusal" % interim
    for want, got in zip(prefix, finals):
        if got.status != want:
            return False, "pipelined answer %d, want %d" % (got.status, want)
    rest = finals[len(prefix):]
    if len(finals) < len(prefix):
        return False, "only %d answers to %d valid requests (%s)" % (
            len(finals), len(prefix), how)
    if len(rest) > 1:
        return False, "%d answers to one request: %s (smuggled?)" % (
            len(rest), [a.status for a in rest])
    if not rest:
        if how == "open":
            return False, "no answer in %.1f s, connection left open" % EXCHANGE_TIMEOUT
        if close_ok:
            return True, "closed without an answer"
        return False, "closed without an answer, want %s" % fmt(expect)
    a = rest[0]
    if a.status not in expect:
        return False, "status %d, want %s" % (a.status, fmt(expect))
    bad = a.json_problem()
    if bad:
        return False, "%d, %s" % (a.status, bad)
    return True, "%d %s" % (a.status, json.loads(a.body).get("error", ""))


def fmt(statuses):
    if statuses == ANY_ERROR:
        return "a 4xx"
    return "/".join(str(s) for s in sorted(statuses))


def healthy(c, source=None, timeout=2.0):
    """(ok, detail) for GET /healthz on a fresh connection."""
    try:
        with connect(c, source, timeout) as s:
            s.sendall(get(c))
            data, how = read_answers(s, 1, timeout)
    except OSError as e:
        return False, "healthz: %s" % e
    answers, problem = parse_answers(data)
    if problem or not answers or answers[0].status != 200:
        return False, "healthz: %s %s" % (problem or how, [a.status for a in answers])
    return True, "200"


# --- the cases that are more than one exchange --------------------------------------------


def chunked_stream_past_limit(c):
    """A chunked body past 64 KiB: the server must answer 413 (or close) before the client
    has sent 64 MiB, instead of reading the whole body first."""
    total, piece = 64 * 1024 * 1024, 64 * 1024
    chunk = b"%x\r\n%s\r\n" % (piece, b"A" * piece)
    head = raw(b"POST /v1/certificates HTTP/1.1",
               [b"Host: " + c.host, b"Content-Type: application/json",
                b"Transfer-Encoding: chunked", b"Connection: close"])
    data, sent, how = b"", 0, None
    with connect(c, timeout=2.0) as s:
        s.sendall(head)
        while sent < total and how is None:
            try:
                _, w, _ = select.select([], [s], [], 2.0)
                if not w:
                    how = "stalled"  # the server stopped reading
                    break
                s.send(chunk)
                sent += piece
            except (BrokenPipeError, ConnectionResetError):
                how = "reset"
                break
            r, _, _ = select.select([s], [], [], 0)
            if r:
                try:
                    got = s.recv(65536)
                except ConnectionResetError:
                    how = "reset"
                    break
                data += got
                if not got or parse_answers(data)[0]:
                    how = "answered" if got else "closed"
        if sent >= total:
            send_all(s, b"0\r\n\r\n")
        more, end = read_answers(s, 1, 3.0)
        data += more
    mib = sent / (1024 * 1024)
    if sent >= total:
        ok, detail = judge(data, end, {413}, False)
        return False, "read all 64 MiB before answering (%s)" % detail
    ok, detail = judge(data, end if how == "stalled" else "closed", {413}, True)
    return ok, "%s after %.1f MiB sent" % (detail, mib)


class Trickler:
    """One slow sender: a socket, the bytes it still has to send (one a second), what it
    received, and when the server closed it (None while open)."""

    def __init__(self, sock, payload):
        self.sock, self.payload, self.received, self.closed_at = sock, payload, b"", None

    def drain(self):
        """Reads what arrived; notes the time of the server's close."""
        while self.closed_at is None:
            try:
                got = self.sock.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                got = b""
            if not got:
                self.closed_at = time.monotonic()
            self.received += got

    def send_one(self):
        if self.closed_at is None and self.payload:
            try:
                self.payload = self.payload[self.sock.send(self.payload[:1]):]
            except BlockingIOError:
                pass
            except OSError:
                self.closed_at = time.monotonic()


def slow_senders(c, count=50):
    """`count` sockets trickling one byte a second (half in the head, half in a declared body):
    a fresh caller from another address (127.0.0.2) is served within 1 s, and the server
    closes every trickler at its per-request deadline. Returns two results (fresh caller,
    deadline)."""
    head = get(c, target=b"/healthz", close=False)
    body_head = raw(b"POST /v1/tokens HTTP/1.1",
                    [b"Host: " + c.host, b"Content-Type: application/json", cl(4096)])
    tricklers, refused = [], 0
    for i in range(count):
        try:
            s = connect(c, timeout=2.0)
        except OSError:
            refused += 1  # refused at once: a per-address limit is fine
            continue
        payload = head
        if i % 2 == 1:  # the whole head at once, then the body a byte a second
            payload = b"{" * 4096
            try:
                s.sendall(body_head)
            except OSError:
                pass
        s.setblocking(False)
        tricklers.append(Trickler(s, payload))
    start = time.monotonic()
    stop = start + (c.deadline if c.deadline > 0 else 2) + 3.5
    next_byte, fresh = start, None
    while time.monotonic() < stop:
        open_ = [t for t in tricklers if t.closed_at is None]
        if not open_:
            break
        if time.monotonic() >= next_byte:
            for t in open_:
                t.send_one()
            next_byte += 1.0
        readable, _, _ = select.select([t.sock for t in open_], [], [], 0.1)
        for t in open_:
            if t.sock in readable:
                t.drain()
        if fresh is None and time.monotonic() - start > 1.0:
            t0 = time.monotonic()
            ok, detail = healthy(c, source="127.0.0.2", timeout=1.0)
            took = time.monotonic() - t0
            fresh = (ok and took <= 1.0, "%s in %.2f s with %d tricklers open" % (
                detail, took, sum(1 for t in tricklers if t.closed_at is None)))
    elapsed = time.monotonic() - start
    still_open = sum(1 for t in tricklers if t.closed_at is None)
    bad = []
    for t in tricklers:
        if t.received:
            # 408 at the deadline; 429 or 503 from a per-address connection limit
            ok, detail = judge(t.received, "closed", ANY_ERROR | {503}, True)
            if not ok:
                bad.append(detail)
        t.sock.close()
    if fresh is None:
        fresh = healthy(c, source="127.0.0.2", timeout=1.0)
    if c.deadline <= 0:
        return fresh, (False, "no request deadline (limits.request_timeout_seconds not "
                       "supported); %d of %d tricklers still open after %.1f s" % (
                           still_open, count, elapsed))
    if still_open:
        return fresh, (False, "%d of %d tricklers still open %.1f s after the start, with a "
                       "%d s deadline" % (still_open, count, elapsed, c.deadline))
    if bad:
        return fresh, (False, "a trickler got %s" % bad[0])
    last = max((t.closed_at - start for t in tricklers), default=0.0)
    return fresh, (True, "all closed (%d refused at connect), the last after %.1f s" % (
        refused, last))


# --- the table ----------------------------------------------------------------------------


class Case:
    def __init__(self, name, build, expect=None, close_ok=False, prefix=(), half_close=False,
                 run=None):
        self.name, self.build, self.expect = name, build, expect
        self.close_ok, self.prefix, self.half_close, self.run = close_ok, prefix, half_close, run


B400, B413, B414, B431, B505 = {400}, {413}, {414}, {431}, {505}
TOKEN_BODY = b'{"audience": "security-suite"}'
# A request hidden where a body should be: a server that parses it answers twice.
SMUGGLED = b"GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n"
CL_TE_BODY = b"0\r\n\r\n" + SMUGGLED
# A request on a route that needs authentication, where the malformation is in the head: 401
# when the server takes the request as HTTP, 400 when it refuses the syntax.
AUTH_OR_400 = {400, 401}


def cases():
    T = Case
    big_headers = [b"X-Filler-%03d: %s" % (i, b"f" * 1000) for i in range(100)]
    many_headers = [b"X-N-%03d: 1" % i for i in range(200)]
    te = b"Transfer-Encoding: chunked"
    return [
        # controls: well-formed requests the harness sends the same way; if these fail, the
        # harness is wrong, not the service
        T("control: GET /healthz", lambda c: get(c), {200}),
        T("control: signed POST /v1/tokens", lambda c: raw(
            b"POST /v1/tokens HTTP/1.1",
            [*c.signed_lines("POST", "/v1/tokens", TOKEN_BODY), cl(len(TOKEN_BODY)),
             b"Connection: close"], TOKEN_BODY), {200}),
        # sizes of the head
        T("request-target over 8 KiB (9 KiB)",
          lambda c: get(c, target=b"/healthz?p=" + b"a" * 9000), B414),
        T("request line of 1 MiB", lambda c: get(c, target=b"/" + b"a" * (1 << 20)),
          {414, 431}, close_ok=True),
        T("one header of 20 KiB", lambda c: get(c, [b"X-Big: " + b"b" * 20000]), B431),
        T("header block of 100 KiB (100 x 1 KiB)", lambda c: get(c, big_headers), B431),
        T("200 headers", lambda c: get(c, many_headers), B431),
        T("method of 10 KiB", lambda c: get(c, method=b"A" * 10000),
          {400, 405, 414, 431, 501}),
        # Content-Length
        T("duplicate Content-Length, equal (signed issuance)",
          lambda c: issue(c, [cl(len(c.issue_body))] * 2), B400),
        T("duplicate Content-Length, different (signed issuance)",
          lambda c: issue(c, [cl(len(c.issue_body)), cl(len(c.issue_body) + 5)],
                          c.issue_body + b"XXXXX"), B400),
        T("Content-Length as a list \"N, N\" (signed issuance)",
          lambda c: issue(c, [b"Content-Length: %d, %d" % ((len(c.issue_body),) * 2)]), B400),
        T("Content-Length: -1", lambda c: post(c, [b"Content-Length: -1"], b"{}"), B400),
        T("Content-Length: abc", lambda c: post(c, [b"Content-Length: abc"], b"{}"), B400),
        T("Content-Length: +2", lambda c: post(c, [b"Content-Length: +2"], b"{}"), B400),
        T("Content-Length of 10,000 commas",
          lambda c: post(c, [b"Content-Length: " + b"," * 10000], b"{}"), {400, 431}),
        T("Content-Length: 2^80", lambda c: post(c, [b"Content-Length: %d" % 2**80], b"{}"),
          {400, 413}),
        T("Content-Length over 64 KiB, no body sent",
          lambda c: post(c, [cl(BODY_MAX + 1)], b""), B413),
        T("Content-Length larger than the body, then close",
          lambda c: post(c, [cl(500)], b'{"audience": "x"}'), ANY_ERROR, close_ok=True,
          half_close=True),
        T("empty body with Content-Length: 0 on POST (signed)",
          lambda c: signed_json(c, b""), B400),
        # Transfer-Encoding
        T("Content-Length and Transfer-Encoding (signed issuance)",
          lambda c: issue(c, [cl(len(c.issue_body)), te], chunked(c.issue_body)), B400),
        T("Transfer-Encoding: gzip", lambda c: post(c, [b"Transfer-Encoding: gzip"], b"{}"),
          {400, 501}),
        T("Transfer-Encoding: chunked, gzip",
          lambda c: post(c, [b"Transfer-Encoding: chunked, gzip"], chunked(b"{}")), B400),
        T("Transfer-Encoding: gzip, chunked",
          lambda c: post(c, [b"Transfer-Encoding: gzip, chunked"], chunked(b"{}")),
          {400, 501}),
        T("Transfer-Encoding: chunked twice",
          lambda c: post(c, [te, te], chunked(b"{}")), B400),
        T("Transfer-Encoding on HTTP/1.0", lambda c: raw(
            b"POST /v1/tokens HTTP/1.0", [b"Host: " + c.host, te], chunked(b"{}")), B400),
        # chunks
        T("chunk size not hex", lambda c: post(c, [te], b"zz\r\n{}\r\n0\r\n\r\n"), B400),
        T("chunk size negative", lambda c: post(c, [te], b"-2\r\n{}\r\n0\r\n\r\n"), B400),
        T("chunk size 2^64 (overflow)",
          lambda c: post(c, [te], b"10000000000000002\r\n{}\r\n0\r\n\r\n"), {400, 413}),
        T("chunk data without its CRLF", lambda c: post(c, [te], b"2\r\n{}XX0\r\n\r\n"), B400),
        T("chunk extensions of 30 KiB",
          lambda c: post(c, [te], b"2" + b";a=b" * 7500 + b"\r\n{}\r\n0\r\n\r\n"),
          {400, 413, 431}),
        T("chunk-size line of 10 KiB (leading zeros)",
          lambda c: post(c, [te], b"0" * 10000 + b"2\r\n{}\r\n0\r\n\r\n"), {400, 413}),
        T("chunked body past 64 KiB, 64 MiB offered", None, run=chunked_stream_past_limit),
        T("Expect: 100-continue with a body over 64 KiB", lambda c: post(
            c, [b"Expect: 100-continue", cl(10 * 1024 * 1024)], b""), B413),
        # Host
        T("HTTP/1.1 without Host", lambda c: raw(b"GET /healthz HTTP/1.1",
                                                 [b"Connection: close"]), B400),
        T("two Host headers", lambda c: get(c, [b"Host: other.example"]), B400),
        # field syntax (on GET /healthz, or on a signed issuance that a lenient parser issues)
        T("NUL in a header value (signed issuance)",
          lambda c: issue(c, [cl(len(c.issue_body))], extra=[b"X-Note: a\x00b"]), B400),
        T("NUL in a header name", lambda c: get(c, [b"X-No\x00te: a"]), B400),
        T("CTL characters in a header value", lambda c: get(c, [b"X-Note: a\x01\x1b\x7fb"]),
          B400),
        T("obs-fold continuation line (signed issuance)",
          lambda c: issue(c, [cl(len(c.issue_body))], extra=[b"X-Note: a", b" folded"]),
          B400),
        T("bare LF line endings (signed issuance)",
          lambda c: issue(c, [cl(len(c.issue_body))], eol=b"\n"), B400),
        T("bare CR line endings", lambda c: raw(b"GET /healthz HTTP/1.1",
                                                [b"Host: " + c.host, b"Connection: close"],
                                                eol=b"\r"), B400, close_ok=True),
        T("space before the colon", lambda c: get(c, [b"X-Note : a"]), B400),
        T("empty header name", lambda c: get(c, [b": a"]), B400),
        T("non-token characters in a header name", lambda c: get(c, [b"X(No\"te): a"]), B400),
        T("invalid UTF-8 in the request-target",
          lambda c: get(c, target=b"/healthz\xff\xfe\xc0\xaf"), {400, 404}),
        T("invalid UTF-8 in header values (Authorization, X-Amz-Date)", lambda c: raw(
            b"POST /v1/tokens HTTP/1.1",
            [b"Host: " + c.host, b"X-Amz-Date: 2026\xff\xfe", b"Authorization: AWS4-HMAC-SHA256 "
             b"Credential=\xc3\x28\xa0\xa1/20260101/x/execute-api/aws4_request, "
             b"SignedHeaders=host, Signature=" + b"0" * 64, cl(2), b"Connection: close"], b"{}"),
          AUTH_OR_400),
        T("a header of 10,000 commas", lambda c: post(
            c, [b"X-List: " + b"," * 10000, cl(2)], b"{}"), {400, 401, 431}),
        # request line
        T("HTTP/0.9 request (no version)", lambda c: b"GET /healthz\r\n", {400, 505},
          close_ok=True),
        T("version HTTP/2.0", lambda c: get(c, version=b"HTTP/2.0"), B505),
        T("version HTTP/3.1", lambda c: get(c, version=b"HTTP/3.1"), B505),
        T("version HTTP/1.1x", lambda c: get(c, version=b"HTTP/1.1x"), B400),
        T("lowercase method", lambda c: get(c, method=b"get"), {400, 405, 501}),
        T("unknown method", lambda c: get(c, method=b"FROB"), {400, 405, 501}),
        T("absolute-form target (no auth)", lambda c: raw(
            b"POST http://" + c.host + b"/v1/certificates HTTP/1.1",
            [b"Host: " + c.host, cl(2), b"Connection: close"], b"{}"), {400, 401, 404}),
        T("asterisk-form target", lambda c: get(c, method=b"OPTIONS", target=b"*"),
          {400, 404, 405, 501}),
        T("CONNECT", lambda c: get(c, method=b"CONNECT", target=b"127.0.0.1:22"),
          {400, 404, 405, 501}),
        T("request line with extra spaces",
          lambda c: get(c, method=b"GET ", target=b"/healthz ", version=b" HTTP/1.1"), B400),
        T("request line with tabs",
          lambda c: raw(b"GET\t/healthz\tHTTP/1.1", [b"Host: " + c.host,
                                                     b"Connection: close"]), B400,
          close_ok=True),
        T("target without the leading slash", lambda c: get(c, target=b"healthz"), B400),
        T("percent-encoding error %zz", lambda c: get(c, target=b"/healthz%zz"), {400, 404}),
        T("percent-encoded NUL %00", lambda c: get(c, target=b"/healthz%00"), {400, 404}),
        T("body on GET is a body, not a second request", lambda c: raw(
            b"GET /healthz HTTP/1.1", [b"Host: " + c.host, cl(len(SMUGGLED))], SMUGGLED),
          {200, 400}),
        # JSON bodies (signed, so that the body reaches the decoder)
        T("JSON body with invalid UTF-8 (signed)",
          lambda c: signed_json(c, b'{"csr": "\xff\xfe\xc0\xaf", "profile": "client"}'), B400),
        T("JSON body nested 10,000 deep (signed)", lambda c: signed_json(c, b"[" * 10000),
          B400),
        T("JSON body with huge numbers (signed)", lambda c: signed_json(
            c, c.issue_body[:-1] + b', "ttl_hours": 1' + b"0" * 400 + b'e99999}'), B400),
        # media type (signed, so that the check after authentication is reached)
        T("signed certificate request without Content-Type", lambda c: raw(
            b"POST /v1/certificates HTTP/1.1",
            [*c.signed_lines("POST", "/v1/certificates", c.issue_body, content_type=False),
             cl(len(c.issue_body)), b"Connection: close"], c.issue_body), {415}),
        T("signed certificate request as text/plain", lambda c: raw(
            b"POST /v1/certificates HTTP/1.1",
            [*c.signed_lines("POST", "/v1/certificates", c.issue_body, content_type=False),
             b"Content-Type: text/plain", cl(len(c.issue_body)), b"Connection: close"],
            c.issue_body), {415}),
        T("signed, truncated JSON body", lambda c: signed_json(c, c.issue_body[:40]), B400),
        # smuggling
        T("smuggling CL.TE", lambda c: post(
            c, [cl(len(CL_TE_BODY)), te], CL_TE_BODY, close=False), B400),
        T("smuggling TE.CL", lambda c: post(
            c, [cl(4), te], b"%x\r\n%s\r\n0\r\n\r\n" % (len(SMUGGLED), SMUGGLED),
            close=False), B400),
        T("smuggling TE.TE: 'Transfer-Encoding : chunked'", lambda c: post(
            c, [cl(4), b"Transfer-Encoding : chunked"], b"2\r\n{}\r\n0\r\n\r\n"), B400),
        T("smuggling TE.TE: 'Transfer-Encoding: xchunked'", lambda c: post(
            c, [cl(4), b"Transfer-Encoding: xchunked"], b"2\r\n{}\r\n0\r\n\r\n"), {400, 501}),
        T("smuggling TE.TE: 'Transfer-Encoding:<TAB>chunked'", lambda c: post(
            c, [cl(4), b"Transfer-Encoding:\tchunked"], b"2\r\n{}\r\n0\r\n\r\n"), B400),
        T("smuggling TE.TE: folded Transfer-Encoding", lambda c: post(
            c, [cl(4), b"X-Pad: a", b"\tTransfer-Encoding: chunked"], b"2\r\n{}\r\n0\r\n\r\n"),
          B400),
        T("smuggling TE.TE: 'chunked' and a vertical tab", lambda c: post(
            c, [cl(4), b"Transfer-Encoding: chunked\x0b"], b"2\r\n{}\r\n0\r\n\r\n"), B400),
        T("pipelined: a valid GET, then duplicate Content-Length", lambda c: get(
            c, close=False) + post(c, [cl(2), cl(3)], b"{}"), B400, close_ok=True,
          prefix=(200,)),
        T("slow senders: a fresh caller is served within 1 s", None, run="slow:fresh"),
        T("slow senders: closed at the per-request deadline", None, run="slow:deadline"),
    ]


def run_case(c, case, slow_results):
    if case.run == "slow:fresh" or case.run == "slow:deadline":
        if not slow_results:
            slow_results.extend(slow_senders(c))
        return slow_results[0 if case.run == "slow:fresh" else 1]
    if case.run is not None:
        return case.run(c)
    data, how = exchange(c, case.build(c), want=len(case.prefix) + 1,
                         half_close=case.half_close)
    ok, detail = judge(data, how, case.expect, case.close_ok, case.prefix)
    if not ok and c.verbose:
        detail += "\n      received (%s): %r" % (how, data[:600])
    return ok, detail


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--akid", required=True)
    ap.add_argument("--secret-file", required=True)
    ap.add_argument("--region", required=True)
    ap.add_argument("--csr", required=True)
    ap.add_argument("--deadline", type=int, default=0)
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--verbose", action="store_true", help="show the bytes of a failed case")
    args = ap.parse_args()
    table = cases()
    if args.list:
        for case in table:
            print(case.name)
        return 0
    if args.only:
        table = [t for t in table if any(o in t.name for o in args.only)]
        if not table:
            print("no case matches %s" % args.only, file=sys.stderr)
            return 2
    c = Ctx(args)
    results, slow = [], []
    for case in table:
        t0 = time.monotonic()
        try:
            ok, detail = run_case(c, case, slow)
        except OSError as e:
            ok, detail = False, "socket error: %s" % e
        well, hdetail = healthy(c)
        if not well:
            ok, detail = False, "%s; service unhealthy afterwards (%s)" % (detail, hdetail)
        results.append((ok, case.name, detail, time.monotonic() - t0))
        print("%s  %-58s %5.2fs  %s" % ("PASS" if ok else "FAIL", case.name[:58],
                                        time.monotonic() - t0, detail), flush=True)
    failed = [r for r in results if not r[0]]
    print("malformed HTTP: %d cases, %d passed, %d failed" % (
        len(results), len(results) - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
