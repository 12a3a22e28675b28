#!/usr/bin/python3
"""A stand-in for the three AWS endpoints infra/docker/entrypoint.sh talks to, on loopback.

Standard library only. Usage: fake_aws.py STATE_DIR. It listens on 127.0.0.1 (a free port,
written to STATE_DIR/port) and answers:

  POST /  X-Amz-Target: AmazonSSM.GetParameters          from STATE_DIR/parameters.json
          X-Amz-Target: secretsmanager.GetSecretValue     from STATE_DIR/secrets.json
  GET  /creds                                             ECS container credentials
  POST /2018-06-01/runtime/init/error                     Lambda init error, recorded

Every AWS request must carry a valid AWS Signature Version 4 (verified here independently of
curl: canonical request, string to sign, HMAC chain) for the credentials in STATE_DIR/creds.json,
with host, x-amz-date and x-amz-target signed (and x-amz-security-token when a session token is
configured), within 5 minutes of now, scoped to the configured region and the service; otherwise
403. Each request is logged as one JSON line to STATE_DIR/requests.jsonl (no bodies, no secrets).
"""
import datetime
import hashlib
import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = sys.argv[1]


def load(name):
    with open(os.path.join(STATE, name), encoding="utf-8") as f:
        return json.load(f)


def log(entry):
    with open(os.path.join(STATE, "requests.jsonl"), "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def verify_sigv4(method, path, headers, body, creds, service):
    """Returns None when the signature is valid, else the reason."""
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "no SigV4 Authorization header"
    fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    akid, date, region, svc, term = fields["Credential"].split("/")
    if akid != creds["AccessKeyId"]:
        return "unknown access key"
    if region != creds["region"] or svc != service or term != "aws4_request":
        return f"credential scope {region}/{svc}"
    signed = fields["SignedHeaders"].split(";")
    required = ["host", "x-amz-date", "x-amz-target"]
    if creds.get("Token"):
        required.append("x-amz-security-token")
        if headers.get("x-amz-security-token") != creds["Token"]:
            return "wrong session token"
    missing = [h for h in required if h not in signed]
    if missing:
        return f"unsigned headers {missing}"
    amz_date = headers["x-amz-date"]
    when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    if abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) > 300:
        return "request time skewed"
    if not amz_date.startswith(date):
        return "date mismatch"
    canonical_headers = "".join(f"{h}:{' '.join(headers[h].split())}\n" for h in signed)
    canonical = "\n".join(
        [method, path, "", canonical_headers, fields["SignedHeaders"], hashlib.sha256(body).hexdigest()]
    )
    scope = f"{date}/{region}/{svc}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = sign(sign(sign(sign(("AWS4" + creds["SecretAccessKey"]).encode(), date), region), svc), "aws4_request")
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields["Signature"]):
        return "signature mismatch"
    return None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def answer(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        creds = load("creds.json")
        if self.path != "/creds":
            return self.answer(404, {"message": "not found"})
        ok = self.headers.get("Authorization") == creds.get("container_authorization")
        log({"op": "creds", "authorized": ok})
        if not ok:
            return self.answer(401, {"message": "bad authorization token"})
        return self.answer(200, {k: creds[k] for k in ("AccessKeyId", "SecretAccessKey", "Token")} | {
            "Expiration": "2099-01-01T00:00:00Z"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.path == "/2018-06-01/runtime/init/error":
            log({"op": "init_error", "type": headers.get("lambda-runtime-function-error-type"),
                 "body": json.loads(body or b"{}")})
            return self.answer(202, {"status": "OK"})
        target = headers.get("x-amz-target", "")
        service = {"AmazonSSM.GetParameters": "ssm", "secretsmanager.GetSecretValue": "secretsmanager"}.get(target)
        if service is None:
            return self.answer(400, {"__type": "UnknownOperationException"})
        creds = load("creds.json")
        reason = verify_sigv4("POST", self.path, headers, body, creds, service)
        log({"op": target, "signed_headers": headers.get("authorization", "").split("SignedHeaders=")[-1].split(",")[0],
             "valid": reason is None, "reason": reason, "content_type": headers.get("content-type")})
        if reason:
            return self.answer(403, {"__type": "SignatureDoesNotMatch", "message": reason})
        req = json.loads(body)
        if service == "ssm":
            params = load("parameters.json")
            found = [{"Name": n, "Type": "String", "Value": params[n], "Version": 1} for n in req["Names"] if n in params]
            invalid = [n for n in req["Names"] if n not in params]
            return self.answer(200, {"Parameters": found, "InvalidParameters": invalid})
        secrets = load("secrets.json")
        if req.get("SecretId") not in secrets:
            return self.answer(400, {"__type": "ResourceNotFoundException"})
        return self.answer(200, {"ARN": req["SecretId"], "Name": "pin", "SecretString": secrets[req["SecretId"]]})


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(os.path.join(STATE, "port.tmp"), "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.rename(os.path.join(STATE, "port.tmp"), os.path.join(STATE, "port"))
    server.serve_forever()


if __name__ == "__main__":
    main()
