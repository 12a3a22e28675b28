#!/usr/bin/env bash
# hsmsign-authorizer (issue 12): tokens minted by a real hsmsignd (fresh SoftHSM2 token, the dev
# ceremony, SigV4 callers and mTLS callers through a trusted proxy header) are checked by the
# authorizer running as a Lambda custom runtime under the Runtime API stand-in
# (tests/lambda/runtime_api_server.py) with recorded API Gateway authorizer events
# (tests/lambda/events/authorizer-*.json: REST TOKEN, REST REQUEST with mTLS, HTTP API 2.0), and
# by its --check-token mode. Every negative case of the issue must be denied (never allowed):
# expired, not yet valid, wrong iss, wrong aud, alg none, HS256 keyed with the public key,
# unknown kid (then allowed once the JWKS served over HTTPS rotates), tampered payload, missing
# scope, revoked device certificate (after the status cache time), cnf of another certificate,
# a malformed event, a JWKS endpoint that is down. The JWKS also comes from an SSM stand-in.
# HSMSIGN_TEST_INVENTORY=dynamodb runs hsmsignd on a dynalite inventory (tests/dynamo/dynalite.sh)
# and checks mtls.dynamodb_table (GetItem on the items hsmsignd wrote) as well.
. "$(dirname "$0")/lib.sh"
require openssl curl
inventory=${HSMSIGN_TEST_INVENTORY:-sqlite}
case $inventory in
sqlite) ;;
dynamodb) . "$repo/tests/dynamo/dynalite.sh" && dynalite_require ;;
*) echo "HSMSIGN_TEST_INVENTORY must be sqlite or dynamodb" >&2; exit 2 ;;
esac
hsmsignd=${HSMSIGND:?} authz=${HSMSIGN_AUTHORIZER:?}
lambda_dir=$repo/tests/lambda
events=$lambda_dir/events
work=$(mktemp -d)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    stop_hsmsignd
    [ "$inventory" = sqlite ] || dynalite_stop
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
mkdir -p out cfg
label=authz-test
new_token "$work/token" "$label"
module=/usr/lib/softhsm/libsofthsm2.so
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$work/token/user.pin\"}"
small_ceremony authz EC-P256 || exit 1

# --- hsmsignd: a device role (SigV4), an admin (the authorizer's role), mTLS via a proxy ---------
acct=arn:aws:iam::123456789012
device=$acct:role/device-provisioner
admin=$acct:role/pki-admin
umask 077
for who in device admin; do
    head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 >"out/$who.secret"
done
umask 022
akid() { printf 'AKIAAUTHZTEST%07d' "$1"; }
# out/WHO.curl: each caller's curl config (0600) with its key id and secret, for curl -K.
sigv4_curl_cfg out/device.curl "$(akid 1)" out/device.secret
sigv4_curl_cfg out/admin.curl "$(akid 2)" out/admin.secret
issuer=https://hsmsign.authz.example
aud=https://api.authz.example
inventory_member="\"sqlite\": \"$work/out/inventory.db\""
if [ "$inventory" = dynamodb ]; then
    ddb_table=hsmsign-authz-test ddb_region=eu-west-1 ddb_akid=AKIAAUTHZTESTDYNAMO1
    ddb_secret=$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')
    dynalite_start "$ddb_table" "$ddb_region" "$ddb_akid" "$ddb_secret" || exit 1
    export AWS_ACCESS_KEY_ID=$ddb_akid AWS_SECRET_ACCESS_KEY=$ddb_secret
    unset AWS_SESSION_TOKEN
    inventory_member="\"dynamodb\": {\"table\": \"$ddb_table\", \"region\": \"$ddb_region\", \"endpoint\": \"$ddb_endpoint\", \"timeout_ms\": 2000}"
fi
cat >cfg/hsmsignd.json <<JSON
{ "listen": "127.0.0.1:0", $token,
  "ca": {"key": "authz-issuing", "chain_file": "out/truststore.pem"},
  "inventory": {$inventory_member},
  "jwt": {"issuer": "$issuer", "keys": [{"key": "authz-jwt", "alg": "ES256"}]},
  "auth": {"sigv4": {"region": "eu-west-1", "access_keys": [
             {"access_key_id": "$(akid 1)", "secret_file": "out/device.secret",
              "principal_arn": "$device"},
             {"access_key_id": "$(akid 2)", "secret_file": "out/admin.secret",
              "principal_arn": "$admin"}]},
           "mtls": {"proxy_header": "X-Client-Cert", "trusted_proxies": ["127.0.0.1"]}},
  "policy": {"admins": ["$admin"], "rules": [
    {"principals": ["$device"], "profiles": ["client"], "cn_patterns": ["device-*"],
     "audiences": ["*"]},
    {"principals": ["x509:CN=device-*"], "audiences": ["$aud"]}]} }
JSON
start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log || exit 1
call() { # WHO METHOD PATH [BODY]: the status; the answer in out/resp
    printf '%s' "${4:-}" >out/req
    curl -sS -o out/resp -w '%{http_code}' --aws-sigv4 aws:amz:eu-west-1:execute-api \
        -K "out/$1.curl" -X "$2" -H 'Content-Type: application/json' \
        ${4:+--data-binary @out/req} "$svc_url$3"
}
field() { $py -c 'import json,sys; print(json.load(open("out/resp"))[sys.argv[1]])' "$1"; }
mint() { # NAME AUDIENCE [TTL]: out/NAME.jwt from POST /v1/tokens (device role)
    [ "$(call device POST /v1/tokens "{\"audience\": \"$2\", \"ttl_seconds\": ${3:-600}}")" = 200 ] &&
        field token >"out/$1.jwt"
}
urlenc() { $py -c 'import sys, urllib.parse; print(urllib.parse.quote(open(sys.argv[1]).read(), safe=""))' "$1"; }
mint_mtls() { # NAME CERT: out/NAME.jwt bound to CERT (cnf x5t#S256)
    printf '{"audience": "%s"}' "$aud" >out/req
    [ "$(curl -sS -o out/resp -w '%{http_code}' -H "X-Client-Cert: $(urlenc "$2")" \
        -H 'Content-Type: application/json' --data-binary @out/req "$svc_url/v1/tokens")" = 200 ] &&
        field token >"out/$1.jwt"
}
device_cert() { # NAME CN: out/NAME.pem issued to the device role
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "out/$1.key" \
        -subj "/CN=$2" -out "out/$1.csr" 2>/dev/null
    local body
    body=$($py -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' "out/$1.csr")
    [ "$(call device POST /v1/certificates "$body")" = 200 ] &&
        $py -c 'import json,sys; open(sys.argv[1], "w").write(json.load(open("out/resp"))["certificate"])' \
            "out/$1.pem"
}
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr A-F a-f; }

check "hsmsignd mints a token for the device role" mint good "$aud"
check "... and one for another audience" mint other-aud https://other.authz.example
check "hsmsignd issues two device certificates" \
    eval 'device_cert dev-a device-a && device_cert dev-b device-b'
check "mTLS callers (device-a's, device-b's certificates) get tokens bound to them" \
    eval 'mint_mtls bound-a out/dev-a.pem && mint_mtls bound-b out/dev-b.pem'

# --- forged and altered tokens (from the real one) ----------------------------------------------
"$py" - out/good.jwt out/jwks.json <<'PY'
import base64, hashlib, hmac, json, sys
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import ECAlgorithm
tok = open(sys.argv[1]).read().strip()
h, p, s = tok.split(".")
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def unb64(t): return base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))
hdr, claims = json.loads(unb64(h)), json.loads(unb64(p))
def write(name, text): open("out/%s.jwt" % name, "w").write(text)
# alg none: the same claims, no signature (RFC 7519 §6.1 "unsecured JWT").
write("none", b64(json.dumps({"alg": "none", "typ": "JWT"}).encode()) + "." + p + ".")
write("none-kid", b64(json.dumps({"alg": "none", "kid": hdr["kid"]}).encode()) + "." + p + "." + s)
# HS256 keyed with the public key (PEM and the JWK's JSON): the classic key-confusion forgery.
jwk = next(k for k in json.load(open(sys.argv[2]))["keys"] if k["kid"] == hdr["kid"])
pub = ECAlgorithm.from_jwk(json.dumps(jwk)).public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
hh = b64(json.dumps({"alg": "HS256", "kid": hdr["kid"], "typ": "JWT"}).encode())
write("hs256", hh + "." + p + "." + b64(hmac.new(pub, (hh + "." + p).encode(), hashlib.sha256).digest()))
# Tampered payload: another sub, the original signature.
c2 = dict(claims, sub="arn:aws:iam::123456789012:role/pki-admin")
write("tampered", h + "." + b64(json.dumps(c2, separators=(",", ":")).encode()) + "." + s)
# crit, an unknown kid (same signature), a garbled token.
write("crit", b64(json.dumps(dict(hdr, crit=["exp"]), separators=(",", ":")).encode()) + "." + p + "." + s)
write("unknown-kid", b64(json.dumps(dict(hdr, kid="no-such-key")).encode()) + "." + p + "." + s)
write("padded", tok + "==")
open("out/good.exp", "w").write(str(claims["exp"]))
open("out/good.iat", "w").write(str(claims["iat"]))
PY

# --- the authorizer's configs -------------------------------------------------------------------
authz_config() { # FILE JWKS-MEMBER [MORE-MEMBERS]
    cat >"$1" <<JSON
{ "issuer": "$issuer", "audiences": ["$aud"], "algorithms": ["ES256", "RS256"],
  "leeway_seconds": 30, "jwks": $2,
  "routes": {"GET /admin": {"scopes": ["admin"]}}${3:+, $3} }
JSON
}
authz_config cfg/file.json "{\"file\": \"$work/out/jwks.json\"}"
decide() { # CONFIG TOKEN-FILE ROUTE [--at T] [--client-cert PEM]: the decision JSON in out/decision
    local cfg=$1 tok=$2 route=$3
    shift 3
    "$authz" --config "$cfg" --check-token - --route "$route" "$@" <"$tok" >out/decision \
        2>>out/check.log || true
}
verdict() { # EXPECTED-DECISION EXPECTED-REASON: checks out/decision
    $py -c 'import json,sys; d=json.load(open("out/decision")); sys.exit(0 if (d["decision"], d["reason"]) == (sys.argv[1], sys.argv[2]) else 1)' \
        "$1" "$2" || { echo "     got: $(cat out/decision)"; return 1; }
}
expect_decision() { # DECISION REASON CONFIG TOKEN ROUTE [ARGS]...
    local d=$1 r=$2
    shift 2
    decide "$@" && verdict "$d" "$r"
}
exp=$(cat out/good.exp)
iat=$(cat out/good.iat)
check "--check-token: the real token -> Allow" expect_decision Allow ok cfg/file.json out/good.jwt "GET /hello"
check "expired (evaluated 31 s past exp, leeway 30 s) -> Deny expired" \
    expect_decision Deny expired cfg/file.json out/good.jwt "GET /hello" --at $((exp + 31))
check "within the leeway after exp -> still Allow" \
    expect_decision Allow ok cfg/file.json out/good.jwt "GET /hello" --at $((exp + 29))
check "not yet valid (an hour before nbf/iat) -> Deny" \
    expect_decision Deny not_yet_valid cfg/file.json out/good.jwt "GET /hello" --at $((iat - 3600))
authz_config cfg/other-iss.json "{\"file\": \"$work/out/jwks.json\"}"
sed -i "s|\"issuer\": \"$issuer\"|\"issuer\": \"https://other-issuer.example\"|" cfg/other-iss.json
check "wrong iss -> Deny issuer_mismatch" \
    expect_decision Deny issuer_mismatch cfg/other-iss.json out/good.jwt "GET /hello"
check "wrong aud -> Deny audience_mismatch" \
    expect_decision Deny audience_mismatch cfg/file.json out/other-aud.jwt "GET /hello"
check "alg none -> Deny alg_refused" expect_decision Deny alg_refused cfg/file.json out/none.jwt "GET /hello"
check "alg none with a kid and a signature -> Deny alg_refused" \
    expect_decision Deny alg_refused cfg/file.json out/none-kid.jwt "GET /hello"
check "HS256 keyed with the public key -> Deny alg_refused" \
    expect_decision Deny alg_refused cfg/file.json out/hs256.jwt "GET /hello"
check "tampered payload -> Deny signature_invalid" \
    expect_decision Deny signature_invalid cfg/file.json out/tampered.jwt "GET /hello"
check "crit in the header -> Deny crit_refused" \
    expect_decision Deny crit_refused cfg/file.json out/crit.jwt "GET /hello"
check "padding after the signature -> Deny token_malformed" \
    expect_decision Deny token_malformed cfg/file.json out/padded.jwt "GET /hello"
check "a route requiring scope admin (the token has none) -> Deny scope_missing" \
    expect_decision Deny scope_missing cfg/file.json out/good.jwt "GET /admin"
authz_config cfg/rs-only.json "{\"file\": \"$work/out/jwks.json\"}"
sed -i 's|"algorithms": \["ES256", "RS256"\]|"algorithms": ["RS256"]|' cfg/rs-only.json
check "ES256 not in the allow-list -> Deny alg_refused" \
    expect_decision Deny alg_refused cfg/rs-only.json out/good.jwt "GET /hello"
not() { ! "$@"; }
check "the token is in no log line of the check mode" not grep -qF "$(cut -d. -f3 out/good.jwt)" out/check.log

# --- strict config ------------------------------------------------------------------------------
bad_config() { # TEXT-EXPECTED JSON
    printf '%s' "$2" >cfg/bad.json
    local rc=0
    "$authz" --config cfg/bad.json --check-token - --route "GET /hello" <out/good.jwt \
        >/dev/null 2>out/bad.err || rc=$?
    [ "$rc" -eq 2 ] && grep -qF -- "$1" out/bad.err || { echo "     rc $rc: $(cat out/bad.err)"; return 1; }
}
jf="\"jwks\": {\"file\": \"$work/out/jwks.json\"}"
check "config: an unknown member is named" bad_config 'unknown field "colour"' \
    "{\"issuer\": \"$issuer\", \"audiences\": [\"a\"], $jf, \"colour\": 1}"
check "config: a duplicate member is refused" bad_config 'duplicate member "issuer"' \
    "{\"issuer\": \"$issuer\", \"issuer\": \"x\", \"audiences\": [\"a\"], $jf}"
check "config: leeway over 60 s is refused" bad_config 'leeway_seconds' \
    "{\"issuer\": \"$issuer\", \"audiences\": [\"a\"], $jf, \"leeway_seconds\": 61}"
check "config: HS256 in algorithms is refused" bad_config 'HS256' \
    "{\"issuer\": \"$issuer\", \"audiences\": [\"a\"], $jf, \"algorithms\": [\"HS256\"]}"
check "config: audiences of the wrong type is named" bad_config 'audiences' \
    "{\"issuer\": \"$issuer\", \"audiences\": \"a\", $jf}"
check "config: a jwks url over plain http to a remote host is refused" bad_config 'jwks.url' \
    "{\"issuer\": \"$issuer\", \"audiences\": [\"a\"], \"jwks\": {\"url\": \"http://example.com/jwks.json\"}}"

# --- Lambda: the Runtime API stand-in and recorded events --------------------------------------
start_runtime() { # DIR: sets rt_api, rt_out
    local dir=$1
    "$py" "$lambda_dir/runtime_api_server.py" --out "$dir" --port-file "$dir.port" >"$dir.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 200); do [ -s "$dir.port" ] && break; sleep 0.05; done
    rt_api=127.0.0.1:$(cat "$dir.port")
    rt_out=$dir
}
ctl() { local path=$1; shift; curl -sS --max-time 90 "$@" "http://$rt_api/control/$path"; }
enqueue() { ctl "enqueue?id=$1" -o /dev/null -w '%{http_code}' --data-binary @"$2" | grep -qx 200; }
answered() { ctl "result?id=$1&timeout=60" -o /dev/null -w '%{http_code}' | grep -qx 200; }
send() { enqueue "$1" "$2" && answered "$1"; } # send ID EVENT-FILE
mkev() { # TEMPLATE TOKEN-FILE [CERT-PEM] > event: fills @TOKEN@, @CLIENT_CERT_PEM@, @SERIAL@
    "$py" - "$events/$1" "$2" "${3:-}" <<'PY'
import json, sys
tmpl, tokf, certf = sys.argv[1:4]
tok = open(tokf).read().strip() if tokf != "-" else ""
pem = open(certf).read() if certf else None
def fill(v):
    if isinstance(v, dict):
        return {k: fill(x) for k, x in v.items() if not (pem is None and k == "clientCert")}
    if isinstance(v, list):
        return [fill(x) for x in v]
    if isinstance(v, str):
        v = v.replace("@TOKEN@", tok)
        if pem is not None:
            v = v.replace("@CLIENT_CERT_PEM@", pem)
    return v
print(json.dumps(fill(json.load(open(tmpl)))))
PY
}
rec_ok() { # ID PYTHON-EXPR over r (the record) and p (what the authorizer posted)
    "$py" - "$rt_out/$1.json" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
p = r.get("body") if isinstance(r.get("body"), dict) else {}
ok = eval(sys.argv[2])
if not ok:
    print("     record:", json.dumps(r)[:600])
sys.exit(0 if ok else 1)
PY
}
rest_allow='r["kind"] == "response" and p["policyDocument"]["Statement"][0]["Effect"] == "Allow"'
rest_deny() { echo "r['kind'] == 'response' and p['policyDocument']['Statement'][0]['Effect'] == 'Deny' and p['context'] == {'reason': '$1'} and p['principalId'] == 'anonymous'"; }
v2_deny() { echo "r['kind'] == 'response' and p['isAuthorized'] is False and p['context'] == {'reason': '$1'}"; }

start_runtime "$work/rt"
AWS_LAMBDA_RUNTIME_API=$rt_api HSMSIGN_AUTHORIZER_CONFIG=cfg/file.json "$authz" 2>out/lambda.log &
lambda_pid=$!
pids+=($lambda_pid)
mkev authorizer-rest-token.json out/good.jwt >out/ev-token.json
mkev authorizer-http-v2.json out/good.jwt >out/ev-v2.json
check "REST TOKEN, the real token -> an Allow policy on the methodArn, principalId = sub, context" \
    eval 'send token-good out/ev-token.json && rec_ok token-good "$rest_allow and p[\"principalId\"] == \"$device\" and p[\"policyDocument\"][\"Version\"] == \"2012-10-17\" and p[\"policyDocument\"][\"Statement\"][0][\"Action\"] == \"execute-api:Invoke\" and p[\"policyDocument\"][\"Statement\"][0][\"Resource\"] == \"arn:aws:execute-api:eu-west-1:111122223333:hello1234a/prod/GET/hello\" and p[\"context\"][\"sub\"] == \"$device\" and p[\"context\"][\"kid\"] and p[\"context\"][\"scope\"] == \"\" and p[\"context\"][\"x5t#S256\"] == \"\""'
check "HTTP API 2.0, the real token -> isAuthorized true with the context" \
    eval 'send v2-good out/ev-v2.json && rec_ok v2-good "r[\"kind\"] == \"response\" and p[\"isAuthorized\"] is True and p[\"context\"][\"sub\"] == \"$device\""'
for case in none:alg_refused hs256:alg_refused tampered:signature_invalid other-aud:audience_mismatch unknown-kid:kid_unknown; do
    name=${case%%:*} reason=${case#*:}
    mkev authorizer-rest-token.json "out/$name.jwt" >"out/ev-$name.json"
    check "REST TOKEN, $name -> a Deny policy (reason $reason)" \
        eval "send token-$name out/ev-$name.json && rec_ok token-$name \"$(rest_deny "$reason")\""
    mkev authorizer-http-v2.json "out/$name.jwt" >"out/ev2-$name.json"
    check "HTTP API 2.0, $name -> isAuthorized false (reason $reason)" \
        eval "send v2-$name out/ev2-$name.json && rec_ok v2-$name \"$(v2_deny "$reason")\""
done
mkev authorizer-rest-token.json - >out/ev-empty.json
sed -i 's/"Bearer "/"Basic dXNlcjpwYXNz"/' out/ev-empty.json
check "REST TOKEN with a non-Bearer credential -> the error Unauthorized (API Gateway: 401)" \
    eval 'send token-basic out/ev-empty.json && rec_ok token-basic "r[\"kind\"] == \"error\" and p[\"errorMessage\"] == \"Unauthorized\""'
check "a malformed event (type WEBSOCKET) -> Runtime.InvalidEvent, never an answer" \
    eval 'send malformed "$events/authorizer-malformed.json" && rec_ok malformed "r[\"kind\"] == \"error\" and p[\"errorType\"] == \"Runtime.InvalidEvent\""'
printf 'not json' >out/ev-garbage.txt
check "a non-JSON event -> Runtime.InvalidEvent, and the loop goes on" \
    eval 'send garbage out/ev-garbage.txt && send token-good-2 out/ev-token.json && rec_ok token-good-2 "$rest_allow"'
decisions_ok() {
    "$py" - out/lambda.log "$(cut -d. -f3 out/good.jwt)" <<'PY'
import json, sys
L = [json.loads(l) for l in open(sys.argv[1])]
d = [l for l in L if l["event"] == "authorizer.decision"]
assert len(d) == 16, len(d)
assert all(set(["sub", "kid", "route", "decision", "reason"]) <= set(l) for l in d), d[0]
assert sum(1 for l in d if l["decision"] == "allow") == 3, [l["reason"] for l in d]
assert all(l["route"] == "GET /hello" for l in d if l["reason"] != "event_invalid"), d
assert sys.argv[2] not in open(sys.argv[1]).read()
PY
}
check "one JSON decision line per event on stderr (sub, kid, route, decision, reason), no token" decisions_ok
ready_fast() {
    $py -c 'import json,sys; l=[json.loads(x) for x in open(sys.argv[1]) if "service.ready" in x][0]; sys.exit(0 if 0 <= l["startup_us"] < 2000000 else 1)' out/lambda.log
}
check "service.ready logged with startup_us before the first /next" ready_fast
check "SIGTERM in /next -> exit 0 (sanitizers check leaks)" \
    eval 'kill -TERM $lambda_pid && wait $lambda_pid'

# --- config errors in Lambda -> /runtime/init/error ---------------------------------------------
start_runtime "$work/rt-init"
printf '{"issuer": "x", "audiences": ["a"], %s, "colour": 1}' "$jf" >cfg/bad-lambda.json
init_error() {
    local rc=0
    AWS_LAMBDA_RUNTIME_API=$rt_api HSMSIGN_AUTHORIZER_CONFIG=cfg/bad-lambda.json timeout 60 "$authz" \
        2>out/init.log || rc=$?
    [ "$rc" -eq 1 ] && rec_ok init-error 'r["kind"] == "init_error" and p["errorType"] == "Runtime.ConfigInvalid" and "colour" in p["errorMessage"]'
}
check "a bad config in Lambda -> /runtime/init/error Runtime.ConfigInvalid naming the member, exit 1" init_error

# --- JWKS over HTTPS: Cache-Control, unknown kid then rotation, endpoint down -------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout out/ca.key \
    -subj "/CN=Authorizer Test CA" -days 1 -out out/ca.pem 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout out/tls.key \
    -subj "/CN=localhost" -out out/tls.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >out/tls.ext
openssl x509 -req -in out/tls.csr -CA out/ca.pem -CAkey out/ca.key -CAcreateserial -days 1 \
    -extfile out/tls.ext -out out/tls.pem 2>/dev/null
# The served set starts without hsmsignd's key (another P-256 key only).
"$py" - >out/served.json <<'PY'
import json
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
k = json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()))
k.update(kid="old-key", alg="ES256", use="sig")
print(json.dumps({"keys": [k]}))
PY
"$py" "$lambda_dir/authorizer_standin.py" out/https.port out/served.json --max-age 3600 \
    --tls out/tls.pem out/tls.key >out/https.log 2>&1 &
pids+=($!)
for _ in $(seq 1 200); do [ -s out/https.port ] && break; sleep 0.05; done
https_url="https://127.0.0.1:$(cat out/https.port)"
count() { curl -sS --cacert out/ca.pem "$https_url/_count" | $py -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
authz_config cfg/url.json "{\"url\": \"$https_url/jwks.json\", \"ca_file\": \"$work/out/ca.pem\", \"refresh_seconds\": 2}"
start_runtime "$work/rt-url"
AWS_LAMBDA_RUNTIME_API=$rt_api HSMSIGN_AUTHORIZER_CONFIG=cfg/url.json "$authz" 2>out/url.log &
pids+=($!)
check "url source: before rotation, hsmsignd's kid is unknown -> Deny kid_unknown" \
    eval 'send url-1 out/ev-token.json && rec_ok url-1 "$(rest_deny kid_unknown)"'
check "... fetched once, at first use (not at start); just fetched, it is not refetched for the kid" \
    test "$(count jwks)" = 1
check "an unknown kid again within refresh_seconds -> no new fetch (rate-limited), Deny" \
    eval 'send url-2 out/ev-token.json && rec_ok url-2 "$(rest_deny kid_unknown)" && test "$(count jwks)" = 1'
cp out/jwks.json out/served.json # the rotation: hsmsignd's key published
sleep 2.2
check "after the rotation and refresh_seconds: one refetch, then Allow" \
    eval 'send url-3 out/ev-token.json && rec_ok url-3 "$rest_allow" && test "$(count jwks)" = 2'
check "the set is cached (Cache-Control max-age 3600): more events, no fetch" \
    eval 'send url-4 out/ev-v2.json && rec_ok url-4 "p[\"isAuthorized\"] is True" && test "$(count jwks)" = 2'
check "without the test CA the HTTPS JWKS is not trusted: jwks_unavailable (deny)" \
    eval 'authz_config cfg/url-noca.json "{\"url\": \"$https_url/jwks.json\"}" && expect_decision Deny jwks_unavailable cfg/url-noca.json out/good.jwt "GET /hello"'
dead_port=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
authz_config cfg/down.json "{\"url\": \"https://127.0.0.1:$dead_port/jwks.json\", \"ca_file\": \"$work/out/ca.pem\"}"
check "a JWKS endpoint that is down -> Deny jwks_unavailable (--check-token)" \
    expect_decision Deny jwks_unavailable cfg/down.json out/good.jwt "GET /hello"
start_runtime "$work/rt-down"
AWS_LAMBDA_RUNTIME_API=$rt_api HSMSIGN_AUTHORIZER_CONFIG=cfg/down.json "$authz" 2>out/down.log &
pids+=($!)
check "a JWKS endpoint that is down -> REST Deny and HTTP API isAuthorized false, never Allow" \
    eval 'send down-1 out/ev-token.json && rec_ok down-1 "$(rest_deny jwks_unavailable)" && send down-2 out/ev-v2.json && rec_ok down-2 "$(v2_deny jwks_unavailable)"'
authz_config cfg/url-stale.json "{\"url\": \"$https_url/jwks.json\", \"ca_file\": \"$work/out/ca.pem\", \"max_age_seconds\": 0, \"refresh_seconds\": 1, \"max_stale_seconds\": 3}"
start_runtime "$work/rt-stale"
AWS_LAMBDA_RUNTIME_API=$rt_api HSMSIGN_AUTHORIZER_CONFIG=cfg/url-stale.json "$authz" 2>out/stale.log &
pids+=($!)
check "max_age_seconds 0: a fresh fetch -> Allow" \
    eval 'send stale-1 out/ev-token.json && rec_ok stale-1 "$rest_allow"'
touch out/served.json.down
sleep 1.2
check "the endpoint then answers 503: the last good set is kept (Allow), the failure logged" \
    eval 'send stale-2 out/ev-token.json && rec_ok stale-2 "$rest_allow" && grep -q jwks.fetch.failed out/stale.log'
# Ages are whole seconds (time()), so wait past max_stale_seconds + 1 for "older than".
sleep 3.5
check "... until it is older than max_stale_seconds: Deny jwks_unavailable" \
    eval 'send stale-3 out/ev-token.json && rec_ok stale-3 "$(rest_deny jwks_unavailable)"'
rm -f out/served.json.down

# --- JWKS from SSM (the stand-in checks the request's shape and X-Amz-Target) -------------------
"$py" "$lambda_dir/authorizer_standin.py" out/ssm.port out/jwks.json --param /hsmsign/jwks \
    >out/ssm.log 2>&1 &
pids+=($!)
for _ in $(seq 1 200); do [ -s out/ssm.port ] && break; sleep 0.05; done
ssm_url="http://127.0.0.1:$(cat out/ssm.port)"
authz_config cfg/ssm.json "{\"ssm_parameter\": \"/hsmsign/jwks\", \"region\": \"eu-west-1\", \"endpoint\": \"$ssm_url\"}"
ssm_allow() {
    AWS_ACCESS_KEY_ID=AKIAAUTHZSSMTEST0001 AWS_SECRET_ACCESS_KEY=ssm-test-secret \
        expect_decision Allow ok cfg/ssm.json out/good.jwt "GET /hello" &&
        curl -sS "$ssm_url/_count" | $py -c 'import json,sys; c=json.load(sys.stdin); sys.exit(0 if c["ssm"] == 1 and c["ssm_rejected"] == 0 else 1)'
}
check "ssm_parameter: GetParameter (SigV4, X-Amz-Target AmazonSSM.GetParameter) -> Allow" ssm_allow
authz_config cfg/ssm-wrong.json "{\"ssm_parameter\": \"/other/name\", \"region\": \"eu-west-1\", \"endpoint\": \"$ssm_url\"}"
check "ssm_parameter: a parameter SSM does not have -> Deny jwks_unavailable" \
    eval 'AWS_ACCESS_KEY_ID=AKIAAUTHZSSMTEST0001 AWS_SECRET_ACCESS_KEY=ssm-test-secret expect_decision Deny jwks_unavailable cfg/ssm-wrong.json out/good.jwt "GET /hello"'

# --- mTLS: cnf binding and the certificate's status at hsmsignd ---------------------------------
authz_config cfg/mtls.json "{\"file\": \"$work/out/jwks.json\"}" \
    "\"mtls\": {\"require_cnf\": true, \"status_url\": \"$svc_url\", \"cache_seconds\": 2, \"region\": \"eu-west-1\"}"
start_runtime "$work/rt-mtls"
AWS_LAMBDA_RUNTIME_API=$rt_api HSMSIGN_AUTHORIZER_CONFIG=cfg/mtls.json \
    AWS_ACCESS_KEY_ID=$(akid 2) AWS_SECRET_ACCESS_KEY=$(cat out/admin.secret) "$authz" 2>out/mtls.log &
pids+=($!)
mkev authorizer-rest-request-mtls.json out/bound-a.jwt out/dev-a.pem >out/ev-mtls-a.json
mkev authorizer-rest-request-mtls.json out/bound-a.jwt out/dev-b.pem >out/ev-mtls-b.json
mkev authorizer-rest-request-mtls.json out/good.jwt out/dev-a.pem >out/ev-mtls-unbound.json
mkev authorizer-rest-request-mtls.json out/bound-a.jwt >out/ev-mtls-nocert.json
x5t_a=$(openssl x509 -in out/dev-a.pem -outform DER | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=')
check "REST REQUEST with device-a's certificate and its bound token -> Allow, context x5t#S256" \
    eval 'send mtls-a out/ev-mtls-a.json && rec_ok mtls-a "$rest_allow and p[\"context\"][\"x5t#S256\"] == \"$x5t_a\" and p[\"principalId\"] == \"x509:CN=device-a\""'
check "device-b's certificate with device-a's token (cnf of another certificate) -> Deny cnf_mismatch" \
    eval 'send mtls-b out/ev-mtls-b.json && rec_ok mtls-b "$(rest_deny cnf_mismatch)"'
check "a certificate with an unbound token (require_cnf) -> Deny cnf_missing" \
    eval 'send mtls-unbound out/ev-mtls-unbound.json && rec_ok mtls-unbound "$(rest_deny cnf_missing)"'
check "the bound token without a certificate -> Deny cnf_mismatch" \
    eval 'send mtls-nocert out/ev-mtls-nocert.json && rec_ok mtls-nocert "$(rest_deny cnf_mismatch)"'
check "the admin revokes device-a at hsmsignd" \
    eval 'test "$(call admin POST "/v1/certificates/$(serial_of out/dev-a.pem)/revoke" "{\"reason\": \"keyCompromise\"}")" = 200'
sleep 2.2
check "after cache_seconds: device-a revoked -> Deny certificate_revoked" \
    eval 'send mtls-a-revoked out/ev-mtls-a.json && rec_ok mtls-a-revoked "$(rest_deny certificate_revoked)"'
status_signed() {
    "$py" - out/hsmsignd.log "$admin" <<'PY'
import json, sys
L = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
gets = [l for l in L if l.get("event") == "http.request" and l.get("route") == "GET /v1/certificates/{serial}"]
assert len(gets) >= 2 and all(l["status"] == 200 and l["principal"] == sys.argv[2] for l in gets), gets
PY
}
check "the status calls reached hsmsignd signed as the admin role (SigV4), 200" status_signed
authz_config cfg/mtls-down.json "{\"file\": \"$work/out/jwks.json\"}" \
    "\"mtls\": {\"status_url\": \"http://127.0.0.1:$dead_port\", \"region\": \"eu-west-1\"}"
check "the status endpoint down -> Deny certificate_status_unknown (fail closed)" \
    eval 'AWS_ACCESS_KEY_ID=$(akid 2) AWS_SECRET_ACCESS_KEY=$(cat out/admin.secret) expect_decision Deny certificate_status_unknown cfg/mtls-down.json out/bound-b.jwt "GET /hello" --client-cert out/dev-b.pem'

# --- mTLS status from the DynamoDB inventory table (GetItem on what hsmsignd wrote) -------------
if [ "$inventory" = dynamodb ]; then
    authz_config cfg/mtls-ddb.json "{\"file\": \"$work/out/jwks.json\"}" \
        "\"mtls\": {\"require_cnf\": true, \"dynamodb_table\": \"$ddb_table\", \"endpoint\": \"$ddb_endpoint\", \"region\": \"$ddb_region\"}"
    check "dynamodb_table: device-b (good in the table) with its bound token -> Allow" \
        expect_decision Allow ok cfg/mtls-ddb.json out/bound-b.jwt "GET /hello" --client-cert out/dev-b.pem
    check "dynamodb_table: device-a (revoked through hsmsignd) -> Deny certificate_revoked" \
        expect_decision Deny certificate_revoked cfg/mtls-ddb.json out/bound-a.jwt "GET /hello" --client-cert out/dev-a.pem
    check "dynamodb_table: the wrong credentials (DynamoDB refuses) -> Deny certificate_status_unknown" \
        eval 'AWS_SECRET_ACCESS_KEY=wrong-secret expect_decision Deny certificate_status_unknown cfg/mtls-ddb.json out/bound-b.jwt "GET /hello" --client-cert out/dev-b.pem'
fi
finish
