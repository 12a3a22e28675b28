#!/usr/bin/python3
"""A stand-in for the AWS Lambda Runtime API (2018-06-01) for one function instance.

Standard library only (Debian's /usr/bin/python3). It implements the calls a custom runtime
makes (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):

  GET  /2018-06-01/runtime/invocation/next           hands out the next queued event, with
       Lambda-Runtime-Aws-Request-Id, -Deadline-Ms, -Invoked-Function-Arn and -Trace-Id; when
       the queue is empty the call is held until an event is queued (as Lambda does)
  POST /2018-06-01/runtime/invocation/{id}/response  202, recorded
  POST /2018-06-01/runtime/invocation/{id}/error     202, recorded
  POST /2018-06-01/runtime/init/error                202, recorded

and a small control interface for the test driving it:

  POST /control/enqueue[?id=ID]       the body is one raw event (any bytes); 200 {"id": ID}
  GET  /control/result?id=ID[&timeout=S]
                                      the record of ID once answered (200), else 504
  GET  /control/idle[?timeout=S]      200 once every event was handed out and answered and the
                                      function waits in /next again ("no more events"), else 504
  GET  /control/status                counts and ids, for diagnostics
  POST /control/exit                  stops the server (held /next calls are dropped)

Every answer is written to OUT/<request id>.json:
  {"kind": "response" | "error", "request_id", "source", "trace_id", "deadline_ms",
   "headers": {lower-case name: value}, "body_text": str, "body": parsed JSON or null}
an init error to OUT/init-error.json (then init-error-2.json, ...) with the same members, and
anything a runtime should not do (an unknown or already answered request id, an unknown path,
a missing Content-Length) as one JSON line in OUT/protocol-errors.jsonl, answered 400 like the
real service. OUT/delivered.jsonl lists each event as /next handed it out.

Events given on the command line (--events, repeatable, in order): a directory (each regular
file, sorted by name, is one event; its request id is the file name without extension), a
.jsonl file (each non-empty line is one event; ids <stem>-1, <stem>-2, ...), or any other file
(one event; id = its stem). The bytes are served exactly as stored, so malformed events are
just files.

    runtime_api_server.py --out DIR [--port 0] [--port-file FILE] [--events PATH]...
"""

import argparse
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API = "/2018-06-01/runtime"
BODY_MAX = 8 * 1024 * 1024  # bytes of one POST we accept (Lambda's own limit is 6 MB)
ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
FUNCTION_ARN = "arn:aws:lambda:eu-central-1:111122223333:function:hsmsignd-test"


class State:
    """The queue and the records, shared by the handler threads under one condition."""

    def __init__(self, out_dir, deadline_ms):
        self.out = out_dir
        self.deadline_ms = deadline_ms
        self.cond = threading.Condition()
        self.queue = []  # [(id, source, bytes)]
        self.known = set()  # every id ever queued
        self.pending = {}  # id -> delivery info, handed out and not yet answered
        self.answered = {}  # id -> record
        self.waiting = 0  # /next calls being held
        self.delivered = 0
        self.init_errors = 0
        self.stopping = False

    def enqueue(self, req_id, source, data):
        with self.cond:
            if req_id in self.known:
                return False
            self.known.add(req_id)
            self.queue.append((req_id, source, data))
            self.cond.notify_all()
            return True

    def next_event(self):
        with self.cond:
            self.waiting += 1
            self.cond.notify_all()
            try:
                while not self.queue and not self.stopping:
                    self.cond.wait(0.5)
                if self.stopping:
                    return None
                req_id, source, data = self.queue.pop(0)
            finally:
                self.waiting -= 1
            now_ms = int(time.time() * 1000)
            info = {
                "request_id": req_id,
                "source": source,
                "deadline_ms": now_ms + self.deadline_ms,
                "trace_id": "Root=1-%08x-%s;Parent=%s;Sampled=1"
                % (int(time.time()), secrets.token_hex(12), secrets.token_hex(8)),
                "delivered_at_ms": now_ms,
            }
            self.pending[req_id] = info
            self.delivered += 1
            append_line(os.path.join(self.out, "delivered.jsonl"), info)
            return info, data

    def answer(self, req_id, kind, headers, body):
        with self.cond:
            info = self.pending.pop(req_id, None)
            if info is None:
                return False
            record = dict(info)
            record.update(kind=kind, answered_at_ms=int(time.time() * 1000))
            record.update(body_fields(headers, body))
            write_json(os.path.join(self.out, req_id + ".json"), record)
            self.answered[req_id] = record
            self.cond.notify_all()
            return True

    def init_error(self, headers, body):
        with self.cond:
            self.init_errors += 1
            name = "init-error.json" if self.init_errors == 1 else "init-error-%d.json" % self.init_errors
            record = {"kind": "init_error", "answered_at_ms": int(time.time() * 1000)}
            record.update(body_fields(headers, body))
            write_json(os.path.join(self.out, name), record)
            self.cond.notify_all()

    def wait_for(self, predicate, timeout):
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    def idle(self):
        return not self.queue and not self.pending and self.waiting > 0

    def status(self):
        with self.cond:
            return {
                "queued": [q[0] for q in self.queue],
                "pending": sorted(self.pending),
                "answered": sorted(self.answered),
                "delivered": self.delivered,
                "waiting_next": self.waiting,
                "init_errors": self.init_errors,
            }

    def stop(self):
        with self.cond:
            self.stopping = True
            self.cond.notify_all()


def body_fields(headers, body):
    text = body.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    return {
        "headers": {k.lower(): v for k, v in headers.items()},
        "body_text": text,
        "body": parsed,
    }


def write_json(path, obj):
    """Written whole or not at all, so a test polling the directory never reads half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def append_line(path, obj):
    with open(path, "a") as f:
        f.write(json.dumps(obj, sort_keys=True) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real Runtime API
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server_version = "runtime-api-test"
    state = None  # set in main()

    def log_message(self, fmt, *args):  # quiet: the test reads the records, not a log
        pass

    def send(self, status, obj=None, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(obj if obj is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def protocol_error(self, status, message, error_type):
        append_line(
            os.path.join(self.state.out, "protocol-errors.jsonl"),
            {"method": self.command, "path": self.path, "status": status, "message": message},
        )
        self.send(status, {"errorMessage": message, "errorType": error_type})

    def read_body(self, required=True):
        length = self.headers.get("Content-Length")
        if length is None and not required:
            return b""
        if length is None or not length.isdigit():
            self.protocol_error(411, "Content-Length is required", "LengthRequired")
            return None
        if int(length) > BODY_MAX:
            self.protocol_error(413, "payload too large", "RequestEntityTooLarge")
            return None
        return self.rfile.read(int(length))

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == API + "/invocation/next":
            return self.next_invocation()
        if url.path == "/control/result":
            req_id = query.get("id", "")
            ok = self.state.wait_for(lambda: req_id in self.state.answered,
                                     float(query.get("timeout", "0")))
            return self.send(200, self.state.answered[req_id]) if ok else self.send(504, {})
        if url.path == "/control/idle":
            ok = self.state.wait_for(self.state.idle, float(query.get("timeout", "0")))
            return self.send(200 if ok else 504, self.state.status())
        if url.path == "/control/status":
            return self.send(200, self.state.status())
        return self.protocol_error(404, "no such path", "NotFound")

    def next_invocation(self):
        got = self.state.next_event()
        if got is None:
            self.close_connection = True
            return self.send(503, {"errorMessage": "shutting down", "errorType": "Shutdown"})
        info, data = got
        headers = {
            "Lambda-Runtime-Aws-Request-Id": info["request_id"],
            "Lambda-Runtime-Deadline-Ms": str(info["deadline_ms"]),
            "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
            "Lambda-Runtime-Trace-Id": info["trace_id"],
        }
        return self.send(200, headers=headers, raw=data)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        body = self.read_body(required=not url.path.startswith("/control/"))
        if body is None:
            return None
        m = re.fullmatch(re.escape(API) + r"/invocation/([^/]+)/(response|error)", url.path)
        if m:
            kind = m.group(2)
            if not self.state.answer(m.group(1), kind, self.headers, body):
                return self.protocol_error(400, "unknown or already answered request id",
                                           "InvalidRequestID")
            return self.send(202, {"status": "OK"})
        if url.path == API + "/init/error":
            self.state.init_error(self.headers, body)
            return self.send(202, {"status": "OK"})
        if url.path == "/control/enqueue":
            req_id = query.get("id") or str(uuid.uuid4())
            if not ID_RE.match(req_id):
                return self.send(400, {"error": "bad id"})
            if not self.state.enqueue(req_id, "control", body):
                return self.send(409, {"error": "id already used"})
            return self.send(200, {"id": req_id})
        if url.path == "/control/exit":
            self.send(200, {})
            self.state.stop()
            threading.Thread(target=self.server.shutdown, daemon=True).start()
            return None
        return self.protocol_error(404, "no such path", "NotFound")


def load_events(state, path):
    def stem(p):
        return os.path.splitext(os.path.basename(p))[0]

    if os.path.isdir(path):
        for name in sorted(os.listdir(path)):
            full = os.path.join(path, name)
            if os.path.isfile(full):
                with open(full, "rb") as f:
                    state.enqueue(stem(full), full, f.read())
    elif path.endswith(".jsonl"):
        with open(path, "rb") as f:
            lines = [line.rstrip(b"\r\n") for line in f if line.strip()]
        for i, line in enumerate(lines, 1):
            state.enqueue("%s-%d" % (stem(path), i), "%s:%d" % (path, i), line)
    else:
        with open(path, "rb") as f:
            state.enqueue(stem(path), path, f.read())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="directory for the records")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    ap.add_argument("--port-file", help="write the bound port here once listening")
    ap.add_argument("--events", action="append", default=[], help="events to queue at start")
    ap.add_argument("--deadline-ms", type=int, default=30000, help="time given per invocation")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    state = State(args.out, args.deadline_ms)
    for path in args.events:
        load_events(state, path)
    Handler.state = state
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    print("runtime API on 127.0.0.1:%d" % port, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    state.stop()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
