#!/usr/bin/python3
"""A stand-in on 127.0.0.1 for the AWS endpoints aws/ talks to, for tests/aws/aws_test.sh and
tests/integration/client_test.sh.

  POST /sts/                     STS (Query protocol): AssumeRole (the SigV4 Authorization is
                                 verified with botocore against SOURCE_ID/SOURCE_SECRET) and
                                 AssumeRoleWithWebIdentity (unsigned; the token must be WEB_TOKEN)
  GET  /ecs/creds                container credentials; Authorization must be ECS_AUTH
  PUT  /latest/api/token         IMDSv2 token (needs X-aws-ec2-metadata-token-ttl-seconds)
  GET  /latest/meta-data/iam/security-credentials/[ROLE]   401 without the token
  GET  /big?n=N                  N bytes; /status?code=C the status C; /flaky?key=K&fail=F
                                 503 for the first F calls of K, then 200; /slow?s=S waits S s
  GET  /_count?path=P            how many times P was served; POST /_config sets `expiry_s`
                                 (seconds from now of every Expiration) and the IMDS keys

Usage: aws_standin.py PORT_FILE. Writes the port into PORT_FILE once listening; serves until
killed, or for at most 600 s.
"""
import datetime
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SOURCE_ID = "AKIASOURCEPROFILE001"
SOURCE_SECRET = "source/secret+key=="
WEB_TOKEN = "eyJ0eXAiOiJKV1QifQ.web-identity-token.sig"
ECS_AUTH = "ecs-authorization-token-123"
IMDS_TOKEN = "imds-session-token-AQAEA"
ROLE_NAME = "hsmsign-instance-role"

state = {
    "expiry_s": 3600,
    "imds_id": os.environ.get("STANDIN_IMDS_ID", "ASIAIMDSINSTANCE0001"),
    "imds_secret": os.environ.get("STANDIN_IMDS_SECRET", "imds/secret"),
    "imds_token": os.environ.get("STANDIN_IMDS_TOKEN", "imds-session-token"),
    "counts": {},
    "flaky": {},
}
lock = threading.Lock()


def expiration():
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=state["expiry_s"])
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def sts_xml(action, akid):
    return (
        f'<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<{action}Result><Credentials><AccessKeyId>{akid}</AccessKeyId>"
        f"<SecretAccessKey>{action}/secret</SecretAccessKey>"
        f"<SessionToken>{action}-session-token</SessionToken>"
        f"<Expiration>{expiration()}</Expiration></Credentials></{action}Result>"
        f"<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></{action}Response>"
    )


def sts_error(code):
    return (
        f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
        f"<Type>Sender</Type><Code>{code}</Code><Message>refused</Message></Error>"
        f"<RequestId>1</RequestId></ErrorResponse>"
    )


def sigv4_ok(handler, body):
    """Recomputes the request's signature with botocore over the headers it signed."""
    auth = handler.headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return False
    parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    akid, date, region, service, _ = parts["Credential"].split("/")
    if akid != SOURCE_ID or service != "sts":
        return False
    signed = parts["SignedHeaders"].split(";")
    headers = {h: handler.headers.get(h, "") for h in signed}
    url = "http://" + handler.headers["Host"] + handler.path
    req = AWSRequest(method=handler.command, url=url, data=body, headers=headers)
    req.context["timestamp"] = handler.headers["X-Amz-Date"]
    signer = SigV4Auth(Credentials(SOURCE_ID, SOURCE_SECRET), "sts", region)
    canonical = signer.canonical_request(req)
    string_to_sign = signer.string_to_sign(req, canonical)
    return signer.signature(string_to_sign, req) == parts["Signature"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, code, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def count(self, path):
        with lock:
            state["counts"][path] = state["counts"].get(path, 0) + 1

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n else b""

    def do_PUT(self):
        url = urllib.parse.urlsplit(self.path)
        self.body()
        self.count(url.path)
        if url.path == "/latest/api/token":
            if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "").isdigit():
                return self.answer(400, "no ttl")
            return self.answer(200, IMDS_TOKEN, "text/plain")
        self.answer(404, "{}")

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        body = self.body()
        self.count(url.path)
        if url.path == "/_config":
            with lock:
                state.update(json.loads(body))
            return self.answer(200, "{}")
        if url.path == "/sts/":
            form = dict(urllib.parse.parse_qsl(body.decode()))
            action = form.get("Action")
            self.count("/sts/" + str(action))
            if form.get("Version") != "2011-06-15" or not form.get("RoleArn", "").startswith("arn:"):
                return self.answer(400, sts_error("ValidationError"), "text/xml")
            if action == "AssumeRole":
                if not sigv4_ok(self, body):
                    return self.answer(403, sts_error("SignatureDoesNotMatch"), "text/xml")
                return self.answer(200, sts_xml(action, "ASIASTSASSUMEROLE001"), "text/xml")
            if action == "AssumeRoleWithWebIdentity":
                if "Authorization" in self.headers:
                    return self.answer(400, sts_error("IncompleteSignature"), "text/xml")
                if form.get("WebIdentityToken") != WEB_TOKEN:
                    return self.answer(400, sts_error("InvalidIdentityToken"), "text/xml")
                return self.answer(200, sts_xml(action, "ASIASTSWEBIDENTITY01"), "text/xml")
            return self.answer(400, sts_error("InvalidAction"), "text/xml")
        if url.path == "/echo":
            return self.answer(200, body, "application/octet-stream")
        self.answer(404, "{}")

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        self.count(url.path)
        if url.path == "/_count":
            return self.answer(200, str(state["counts"].get(q["path"], 0)), "text/plain")
        if url.path == "/ecs/creds":
            if self.headers.get("Authorization") != ECS_AUTH:
                return self.answer(401, '{"message":"no"}')
            return self.answer(200, json.dumps({
                "AccessKeyId": "ASIAECSCONTAINER0001", "SecretAccessKey": "ecs/secret",
                "Token": "ecs-session-token", "Expiration": expiration()}))
        if url.path.startswith("/latest/meta-data/iam/security-credentials/"):
            if self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
                return self.answer(401, "", "text/plain")
            role = url.path[len("/latest/meta-data/iam/security-credentials/"):]
            if role == "":
                return self.answer(200, ROLE_NAME, "text/plain")
            if role != ROLE_NAME:
                return self.answer(404, "", "text/plain")
            with lock:
                doc = {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": state["imds_id"],
                       "SecretAccessKey": state["imds_secret"], "Token": state["imds_token"],
                       "Expiration": expiration(), "LastUpdated": expiration()}
            return self.answer(200, json.dumps(doc))
        if url.path == "/big":
            return self.answer(200, b"x" * int(q["n"]), "application/octet-stream")
        if url.path == "/status":
            return self.answer(int(q["code"]), '{"__type":"x#' + q.get("type", "None") + '"}')
        if url.path == "/flaky":
            with lock:
                n = state["flaky"].get(q["key"], 0)
                state["flaky"][q["key"]] = n + 1
            return self.answer(503 if n < int(q["fail"]) else 200, str(n))
        if url.path == "/slow":
            time.sleep(float(q["s"]))
            return self.answer(200, "late")
        if url.path == "/headers":
            return self.answer(200, json.dumps(dict(self.headers.items())))
        self.answer(404, "{}")


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that stops reading a bounded answer resets the connection


def main():
    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, sys.argv[1])
    threading.Timer(600, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
