#!/usr/bin/env bash
# hsmsignd as an AWS Lambda custom runtime: a fresh SoftHSM2 token and the dev ceremony, a
# stand-in Runtime API (tests/lambda/runtime_api_server.py) on a free loopback port, and
# hsmsignd run with AWS_LAMBDA_RUNTIME_API. API Gateway events of payload 2.0 and 1.0
# (tests/lambda/events/) go in; the proxy responses it posts are checked with independent tools:
# certificates with openssl verify -x509_strict, tokens with python3-jwt against the JWKS it
# serves. Malformed and oversized events must become invocation errors with the loop going on;
# start-up failures must reach /runtime/init/error and exit 1; the PIN must appear nowhere.
. "$(dirname "$0")/lib.sh"
require openssl curl sha256sum
hsmsignd=${HSMSIGND:?} kc=${KEYCEREMONY:?}
lambda_dir=$repo/tests/lambda
events=$lambda_dir/events
work=$(mktemp -d)
rt_pid=
lambda_pid=
stop_runtime() {
    if [ -n "$rt_pid" ]; then
        kill -TERM "$rt_pid" 2>/dev/null || true
        wait "$rt_pid" 2>/dev/null || true
        rt_pid=
    fi
}
stop_lambda() {
    if [ -n "$lambda_pid" ]; then
        kill -TERM "$lambda_pid" 2>/dev/null || true
        wait "$lambda_pid" 2>/dev/null || true
        lambda_pid=
    fi
}
trap 'stop_lambda; stop_runtime; rm -rf "$work"' EXIT
cd "$work"
mkdir -p out cfg
label=lambda-test
new_token "$work/token" "$label"
module=/usr/lib/softhsm/libsofthsm2.so
pin_file=$work/token/user.pin
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$pin_file\"}"

# --- ceremony (as e2e_test.sh) ------------------------------------------------------------------
small_ceremony lambda EC-P384 || exit 1

# --- helpers ----------------------------------------------------------------------------------
v2_arn=arn:aws:sts::111122223333:assumed-role/hsmsign-issuer/ci-session
v1_arn=arn:aws:sts::111122223333:assumed-role/hsmsign-deployer/deploy
issuer=https://hsmsign.lambda.example

# write_config FILE [PIN_FILE]: THE place the hsmsignd config of this test is written; every
# run below (good and bad) starts from it. Extend it here (e.g. the "policy" block). In Lambda
# mode API Gateway authenticates, so no SigV4 access keys are configured.
write_config() {
    cat >"$1" <<EOF
{ "token": {"module": "$module", "label": "$label", "pin_file": "${2:-$pin_file}",
            "pool_size": 2},
  "ca": {"key": "pkcs11:token=$label;object=lambda-issuing;type=private",
         "chain_file": "$work/out/truststore.pem"},
  "inventory": {"sqlite": "$work/out/inventory.db"},
  "jwt": {"issuer": "$issuer", "keys": [{"key": "lambda-jwt", "alg": "ES256"}]},
  $(permissive_policy "$v1_arn" "$v2_arn") }
EOF
}

# start_runtime DIR [--events PATH]...: the stand-in Runtime API on a free loopback port,
# recording into DIR; sets rt_pid and rt_api (host:port).
start_runtime() {
    local dir=$1
    shift
    rm -f "$dir.port"
    "$py" "$lambda_dir/runtime_api_server.py" --out "$dir" --port-file "$dir.port" "$@" \
        >"$dir.log" 2>&1 &
    rt_pid=$!
    for _ in $(seq 1 200); do
        [ -s "$dir.port" ] && break
        kill -0 "$rt_pid" 2>/dev/null || break
        sleep 0.05
    done
    [ -s "$dir.port" ] || { echo "the Runtime API stand-in did not start:"; cat "$dir.log"; exit 1; }
    rt_api=127.0.0.1:$(cat "$dir.port")
    rt_out=$dir
}
ctl() { # ctl PATH [curl args]: the stand-in's control interface
    local path=$1
    shift
    curl -sS --max-time 90 "$@" "http://$rt_api/control/$path"
}
enqueue() { # enqueue ID FILE
    ctl "enqueue?id=$1" -o /dev/null -w '%{http_code}' --data-binary @"$2" | grep -qx 200
}
answered() { # answered ID: waits (up to 60 s) until the function answered ID
    ctl "result?id=$1&timeout=60" -o /dev/null -w '%{http_code}' | grep -qx 200
}
not() { ! "$@"; }
queue_and_wait() { enqueue "$1" "$2" && answered "$1"; } # queue_and_wait ID FILE

# record_ok ID EXPR: a Python expression over the record of ID: r (the record), p (the proxy
# response or error document the function posted) and j (p's "body" parsed as JSON, if any).
record_ok() {
    "$py" - "$rt_out/$1.json" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
p = r.get("body") if isinstance(r.get("body"), dict) else {}
try:
    j = json.loads(p["body"]) if not p.get("isBase64Encoded") else None
except (KeyError, TypeError, ValueError):
    j = None
ok = eval(sys.argv[2])
if not ok:
    print("     record:", json.dumps(r)[:800])
sys.exit(0 if ok else 1)
PY
}

# log_ok EXPR: a Python expression over the hsmsignd log: L (every line, parsed), ev(name) (the
# lines of one event), inv(id) (the lambda.invocation line of an AWS request id) and req(id)
# (the http.request line api_route wrote for it, found through its req_id).
log_ok() {
    "$py" - out/lambda.log "$1" <<'PY'
import json, sys
L = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def ev(name): return [l for l in L if l["event"] == name]
def inv(i): return next(l for l in ev("lambda.invocation") if l["aws_request_id"] == i)
def req(i): return next(l for l in ev("http.request") if l["req_id"] == inv(i)["req_id"])
ok = eval(sys.argv[2])
sys.exit(0 if ok else 1)
PY
}

# --- events ----------------------------------------------------------------------------------
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout out/leaf.key \
    -subj "/CN=svc.lambda.example" -addext "subjectAltName=DNS:svc.lambda.example" \
    -out out/leaf.csr 2>/dev/null
"$py" "$lambda_dir/make_event.py" "$events/v2-iam-certificates.json" --body csr=@out/leaf.csr \
    >out/ev-cert.json
# Over API_LAMBDA_EVENT_MAX (1 MiB): the runtime must stop reading and post an error.
"$py" - "$events/v2-anon-tokens.json" >out/ev-huge.json <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
e["body"] = "x" * (1024 * 1024)
json.dump(e, sys.stdout)
PY

write_config cfg/hsmsignd.json
start_runtime "$work/rt" --events "$events/v2-anon-jwks.json" \
    --events "$events/malformed-not-json.txt" --events "$events/malformed-not-apigw.json" \
    --events "$events/malformed-v2-no-method.json" --events "$events/v2-anon-tokens.json" \
    --events "$events/v1-iam-tokens.json" --events "$events/v2-iam-tokens.json" \
    --events "$events/v2-iam-tokens-base64.json"
AWS_LAMBDA_RUNTIME_API=$rt_api HSMSIGN_CONFIG=cfg/hsmsignd.json "$hsmsignd" >out/lambda.log 2>&1 &
lambda_pid=$!

check "the events queued at start are answered in turn (the last one too)" \
    answered v2-iam-tokens-base64
check "a certificate event built from a fresh CSR is queued and answered" \
    queue_and_wait v2-iam-certificates out/ev-cert.json

# --- certificates (v2, IAM principal) ----------------------------------------------------------
record_ok v2-iam-certificates 'r["kind"] == "response" and p["statusCode"] == 200' ||
    { echo "hsmsignd log:"; tail -n 20 out/lambda.log; }
cert_verifies() {
    "$py" -c 'import json,sys; r=json.load(open(sys.argv[1])); b=json.loads(r["body"]["body"]); open("out/leaf.pem","w").write(b["certificate"]); open("out/chain.pem","w").write(b["chain"])' \
        "$rt_out/v2-iam-certificates.json" &&
        openssl verify -x509_strict -CAfile out/root.pem -untrusted out/chain.pem out/leaf.pem \
            >/dev/null
}
check "POST /v1/certificates (v2, IAM) -> 200, and the certificate passes openssl verify -x509_strict" \
    cert_verifies
leaf_names() { openssl x509 -in out/leaf.pem -noout -ext subjectAltName | has 'DNS:svc.lambda.example'; }
check "the certificate is for the CSR's name" leaf_names
check "the proxy response has Content-Type, X-Request-Id and isBase64Encoded false" \
    record_ok v2-iam-certificates 'p["headers"]["Content-Type"] == "application/json" and len(p["headers"]["X-Request-Id"]) == 16 and p["isBase64Encoded"] is False and j["serial"]'

# --- tokens (v1 REST, IAM principal; v2 with a base64 body) --------------------------------------
check "the anonymous JWKS event -> 200 with Cache-Control, the ceremony's JWKS" \
    record_ok v2-anon-jwks 'p["statusCode"] == 200 and p["headers"]["Cache-Control"] == "public, max-age=300" and j == json.load(open("out/jwks.json"))'
"$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["body"]["body"])' \
    "$rt_out/v2-anon-jwks.json" >out/jwks.served
jwt_verifies() { # ID AUDIENCE SUBJECT TTL
    "$py" - "$rt_out/$1.json" out/jwks.served "$2" "$3" "$4" "$issuer" <<'PY'
import json, sys
import jwt
rec, jwks_file, aud, sub, ttl, iss = sys.argv[1:7]
p = json.load(open(rec))["body"]
assert p["statusCode"] == 200, p
resp = json.loads(p["body"])
assert p["headers"]["Cache-Control"] == "no-store", p["headers"]
jwks = jwt.PyJWKSet.from_dict(json.load(open(jwks_file)))
header = jwt.get_unverified_header(resp["token"])
key = next(k for k in jwks.keys if k.key_id == header["kid"])
claims = jwt.decode(resp["token"], key.key, algorithms=["ES256"], audience=aud, issuer=iss)
assert claims["sub"] == sub, claims
assert claims["exp"] - claims["iat"] == int(ttl), claims
PY
}
check "POST /v1/tokens (v1 REST, IAM) -> a JWT that python3-jwt verifies against the served JWKS, sub = identity.userArn" \
    jwt_verifies v1-iam-tokens https://rest.lambda.example "$v1_arn" 90
check "POST /v1/tokens (v2, IAM) -> a verifying JWT, sub = authorizer.iam.userArn" \
    jwt_verifies v2-iam-tokens https://api.lambda.example "$v2_arn" 120
check "a base64-encoded body (isBase64Encoded) is decoded: its audience is in the JWT" \
    jwt_verifies v2-iam-tokens-base64 https://b64.lambda.example "$v2_arn" 60

# --- refusals and malformed events -----------------------------------------------------------
check "anonymous POST /v1/tokens -> 401 JSON error (missing_authentication), request_id = X-Request-Id" \
    record_ok v2-anon-tokens 'p["statusCode"] == 401 and j["error"] == "missing_authentication" and j["message"] and j["request_id"] == p["headers"]["X-Request-Id"] and p["headers"]["Content-Type"] == "application/json"'
for id in malformed-not-json malformed-not-apigw malformed-v2-no-method; do
    check "$id -> an invocation error (Runtime.InvalidEvent, header and body)" \
        record_ok "$id" 'r["kind"] == "error" and r["headers"]["lambda-runtime-function-error-type"] == "Runtime.InvalidEvent" and p["errorType"] == "Runtime.InvalidEvent" and p["errorMessage"]'
done
check "the loop goes on after malformed events: the later events were answered" \
    record_ok v2-anon-tokens 'r["kind"] == "response"'
huge_then_good() {
    enqueue huge out/ev-huge.json && queue_and_wait after-huge "$events/v2-anon-jwks.json" &&
        record_ok huge 'r["kind"] == "error" and p["errorType"] == "Runtime.EventTooLarge" and r["headers"]["lambda-runtime-function-error-type"] == "Runtime.EventTooLarge"' &&
        record_ok after-huge 'r["kind"] == "response" and p["statusCode"] == 200'
}
check "an event over 1 MiB -> Runtime.EventTooLarge, and the next event still gets a response" \
    huge_then_good

# --- mTLS (v2, client certificate from API Gateway, no IAM principal) ---------------------------
"$py" "$lambda_dir/make_event.py" "$events/v2-mtls-tokens.json" \
    --set requestContext.authentication.clientCert.clientCertPem=@out/leaf.pem \
    --set "requestContext.authentication.clientCert.serialNumber=$(openssl x509 -in out/leaf.pem -noout -serial | cut -d= -f2)" \
    >out/ev-mtls.json
check "the mTLS event is queued and answered" queue_and_wait v2-mtls-tokens out/ev-mtls.json
# The invocation's log line follows the POST of its response: wait until hsmsignd polls again.
idle() { ctl "idle?timeout=30" -o /dev/null -w '%{http_code}' | grep -qx 200; }
check "no event left unanswered; the function waits in /next again" idle
pem_sha=$(sha256sum out/leaf.pem | cut -d' ' -f1)
check "the client certificate PEM reaches api_request.client_cert_pem intact (SHA-256 logged)" \
    log_ok "inv('v2-mtls-tokens')['client_cert_pem_sha256'] == '$pem_sha'"
check "the certificate we issued, alone (no IAM principal) -> a JWT whose sub names it" \
    jwt_verifies v2-mtls-tokens https://mtls.lambda.example "x509:CN=svc.lambda.example" 300
cnf_bound() {
    local x5t
    x5t=$(openssl x509 -in out/leaf.pem -outform DER | openssl dgst -sha256 -binary | base64 |
        tr '+/' '-_' | tr -d '=')
    record_ok v2-mtls-tokens "__import__('jwt').decode(j['token'], options={'verify_signature': False})['cnf'] == {'x5t#S256': '$x5t'}"
}
check "the token is bound to that certificate (cnf x5t#S256, RFC 8705)" cnf_bound

# --- logs ------------------------------------------------------------------------------------
check "the Runtime API saw no protocol error (unknown id, double answer, bad path)" \
    test ! -e "$rt_out/protocol-errors.jsonl"
check "every log line is JSON" log_ok 'len(L) > 0 and len(L) == sum(1 for l in open(sys.argv[1]))'
check "the http.request line carries the principal ARN from requestContext (v1 and v2)" \
    log_ok "req('v1-iam-tokens')['principal'] == '$v1_arn' and req('v2-iam-certificates')['principal'] == '$v2_arn' and req('v2-anon-jwks')['principal'] is None"
check "X-Request-Id of a response is the req_id of its log lines" \
    log_ok "inv('v1-iam-tokens')['req_id'] == json.load(open('$rt_out/v1-iam-tokens.json'))['body']['headers']['X-Request-Id']"
trace_logged() {
    local trace
    trace=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["trace_id"])' \
        "$rt_out/v1-iam-tokens.json")
    log_ok "inv('v1-iam-tokens')['trace_id'] == '$trace' and inv('v1-iam-tokens')['payload'] == '1.0' and 0 < inv('v1-iam-tokens')['remaining_ms'] <= 30000"
}
check "one lambda.invocation line per answered event, with the aws request id, trace id and payload" \
    log_ok "len(ev('lambda.invocation')) == 8 and len(ev('lambda.invocation.rejected')) == 4"
check "the invocation line carries Lambda-Runtime-Trace-Id and the time left before the deadline" \
    trace_logged
ready_before_next() {
    "$py" - out/lambda.log "$rt_out/delivered.jsonl" <<'PY'
import json, sys, datetime
L = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
names = [l["event"] for l in L]
assert names.count("hsm.login") == 1 and names.count("service.ready") == 1, names
ready = L[names.index("service.ready")]
assert ready["mode"] == "lambda" and ready["startup_ms"] >= 0, ready
assert names.index("hsm.login") < names.index("service.ready") < names.index("lambda.invocation")
ts = datetime.datetime.strptime(ready["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
first = json.loads(open(sys.argv[2]).readline())["delivered_at_ms"]
assert ts.timestamp() * 1000 <= first + 1, (ready["ts"], first)
PY
}
check "the token is opened once, and service.ready (mode lambda, startup_ms) comes before the first /next" \
    ready_before_next

no_pin() { # the PIN given to grep as a pattern file, never on its command line
    ! grep -rqF -f "$pin_file" out/lambda.log "$rt_out" "$work/rt.log" &&
        ! tr '\0' '\n' <"/proc/$lambda_pid/cmdline" | has -F -f "$pin_file" &&
        ! tr '\0' '\n' <"/proc/$lambda_pid/environ" | has -F -f "$pin_file"
}
check "the PIN is in no log line, no record the Runtime API got, no argv or environment" no_pin
survives_hup() { # Lambda mode ignores SIGHUP (no reload there; its default action would kill it)
    kill -HUP "$lambda_pid" && sleep 0.3 && kill -0 "$lambda_pid"
}
check "SIGHUP in Lambda mode is ignored: hsmsignd still runs" survives_hup
clean_stop() {
    kill -TERM "$lambda_pid" && wait "$lambda_pid"
    local rc=$?
    lambda_pid=
    [ "$rc" -eq 0 ] && grep -q '"event":"service.stopped"' out/lambda.log
}
check "SIGTERM while waiting in /next stops hsmsignd cleanly (exit 0; sanitizer builds check leaks)" \
    clean_stop
stop_runtime

# --- SIGTERM during an invocation: its answer is still posted, then a clean stop ---------------
# (docker stop, the Runtime Interface Emulator: Lambda itself signals only between invocations.)
# The token is the CloudHSM-shaped module with a 300 ms round trip, and SIGTERM is sent while
# the certificate's C_Sign sleeps in it. The proxy response must reach the Runtime API (the
# certificate is already in the inventory by then) and hsmsignd exit 0, not abandon its POST.
start_runtime "$work/rt-term"
write_config cfg/term.json
sed -i "s|\"module\": \"$module\"|\"module\": \"${HSMSIGN_CLOUDHSM_LIB:?}\"|" cfg/term.json
HSMSIGN_CLOUDHSM_MODULE=$module HSMSIGN_CLOUDHSM_SHAPE=rtt_ms=300 AWS_LAMBDA_RUNTIME_API=$rt_api \
    HSMSIGN_CONFIG=cfg/term.json "$hsmsignd" >out/term.log 2>&1 &
lambda_pid=$!
term_mid_invocation() {
    grep -q '"module": *"[^"]*hs_p11_cloudhsm' cfg/term.json || return 1
    idle || return 1 # started (token login on the shaped module), waiting in /next
    enqueue term-cert out/ev-cert.json || return 1
    # Into the invocation: a thread of hsmsignd sleeps in the C_Sign round trip (the shaped
    # module's clock_nanosleep; nothing else of it sleeps so once it waits in /next).
    local signing=0
    for _ in $(seq 1 500); do
        if grep -qs nanosleep /proc/"$lambda_pid"/task/*/wchan; then
            signing=1
            break
        fi
        sleep 0.01
    done
    [ "$signing" -eq 1 ] || { echo "     never saw the C_Sign round trip"; return 1; }
    kill -TERM "$lambda_pid"
    wait "$lambda_pid"
    local rc=$?
    lambda_pid=
    [ "$rc" -eq 0 ] || { echo "     exit $rc"; tail -n 5 out/term.log; return 1; }
    [ -s "$rt_out/term-cert.json" ] &&
        record_ok term-cert 'r["kind"] == "response" and p["statusCode"] == 200 and "certificate" in j' &&
        grep -q '"event":"service.stopped"' out/term.log
}
check "SIGTERM during an invocation: its certificate is still answered, then exit 0" \
    term_mid_invocation
stop_runtime

# --- the inventory locked by another connection: 503 inventory_unavailable, Retry-After ----------
# Another process holds SQLite's write lock past the busy timeout (5 s) while a certificate
# event is answered: the proxy response is a 503 JSON error with Retry-After, no certificate,
# and the signed certificate is audited as discarded, never as issued.
start_runtime "$work/rt-locked"
AWS_LAMBDA_RUNTIME_API=$rt_api HSMSIGN_CONFIG=cfg/hsmsignd.json "$hsmsignd" >out/locked.log 2>&1 &
lambda_pid=$!
# Ready first (opening the inventory writes to it), then locked.
check "the function answers again (a JWKS event)" \
    queue_and_wait warm-up "$events/v2-anon-jwks.json"
rm -f out/locked out/unlock
"$py" - "$work/out/inventory.db" <<'PY' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
open("out/locked", "w").close()
for _ in range(1200):
    if os.path.exists("out/unlock"):
        break
    time.sleep(0.05)
db.execute("ROLLBACK")
PY
holder=$!
for _ in $(seq 1 200); do [ -e out/locked ] && break; sleep 0.05; done
check "a certificate event while the inventory is locked is answered" \
    queue_and_wait cert-locked out/ev-cert.json
touch out/unlock
wait "$holder"
check "-> 503 inventory_unavailable with Retry-After, Content-Type JSON and no certificate" \
    record_ok cert-locked 'p["statusCode"] == 503 and p["headers"]["Retry-After"] == "2" and p["headers"]["Content-Type"] == "application/json" and j["error"] == "inventory_unavailable" and "certificate" not in j'
locked_audit() {
    "$py" - out/locked.log <<'PY'
import json, sys
L = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
issued = [l["serial"] for l in L if l["event"] == "sign.cert.issued"]
assert not issued, issued
gone = [l for l in L if l["event"] == "sign.cert.discarded"]
assert len(gone) == 1 and gone[0]["audit"] and gone[0]["reason"] == "inventory_unavailable", gone
PY
}
check "the signed certificate is audited as sign.cert.discarded, never sign.cert.issued" locked_audit
check "the lock gone, the same event is issued (200)" \
    eval 'queue_and_wait cert-free out/ev-cert.json && record_ok cert-free "p[\"statusCode\"] == 200 and j[\"serial\"]"'
stop_lambda
stop_runtime

# --- start-up failures -> /runtime/init/error ---------------------------------------------------
# init_fails NAME CONFIG ERROR_TYPE TEXT: hsmsignd exits 1 before any /next (an event is queued
# and must stay so), posting ERROR_TYPE with TEXT in errorMessage to /runtime/init/error.
init_fails() {
    local name=$1 config=$2 type=$3 text=$4 rc=0
    start_runtime "$work/rt-$name" --events "$events/v2-anon-jwks.json"
    AWS_LAMBDA_RUNTIME_API=$rt_api timeout 120 "$hsmsignd" --config "$config" \
        >"out/$name.log" 2>&1 || rc=$?
    stop_runtime
    [ "$rc" -eq 1 ] && [ ! -e "$rt_out/delivered.jsonl" ] &&
        record_ok init-error "r['kind'] == 'init_error' and p['errorType'] == '$type' and r['headers']['lambda-runtime-function-error-type'] == '$type' and '$text' in p['errorMessage']" &&
        ! grep -rqF -f "$pin_file" "out/$name.log" "$rt_out"
}
write_config cfg/bad.json
"$py" -c 'import json,sys; c=json.load(open(sys.argv[1])); c["not_a_setting"]=1; json.dump(c, open(sys.argv[1],"w"))' \
    cfg/bad.json
check "a bad config -> /runtime/init/error Runtime.ConfigInvalid, exit 1, no /next" \
    init_fails config cfg/bad.json Runtime.ConfigInvalid 'at config: invalid_field'
umask 077
printf 'wrong-pin-%s\n' "$RANDOM$RANDOM" >out/wrong.pin
umask 022
write_config cfg/wrong-pin.json "$work/out/wrong.pin"
check "a wrong PIN -> /runtime/init/error Runtime.TokenUnavailable (hsm_login), exit 1, no /next" \
    init_fails wrong-pin cfg/wrong-pin.json Runtime.TokenUnavailable 'at token: hsm_login'
check "the wrong PIN is not printed either" not grep -qF -- "$(head -1 out/wrong.pin)" out/wrong-pin.log
unreachable() {
    local rc=0 port
    port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    AWS_LAMBDA_RUNTIME_API=127.0.0.1:$port timeout 120 "$hsmsignd" --config cfg/hsmsignd.json \
        >out/unreachable.log 2>&1 || rc=$?
    [ "$rc" -eq 1 ] && grep -q '"event":"service.failed"' out/unreachable.log
}
check "an unreachable Runtime API ends hsmsignd with exit 1 (Lambda then starts a new one)" \
    unreachable
finish
