#!/usr/bin/env bash
# SigV4 against a real hsmsignd: requests signed by curl --aws-sigv4 and by botocore (an
# independent signer) with plain and session credentials, query strings, repeated and
# mixed-case headers and the Date form; then every refusal, each with its documented 401 error
# code (api/api_sigv4.h), and the other spellings of a route, which the router does not take.
. "$(dirname "$0")/lib.sh"
require openssl curl
if ! $py -c 'import botocore' 2>/dev/null; then
    [ "${CI:-}" = true ] && { echo "python3-botocore missing under CI" >&2; exit 1; }
    echo "skipped: python3-botocore not installed" >&2
    exit 77
fi
kc=${KEYCEREMONY:?}
work=$(mktemp -d)
trap 'stop_hsmsignd; rm -rf "$work"' EXIT
cd "$work"
mkdir -p out cfg
label=sigv4-test
new_token "$work/token" "$label" >/dev/null
module=/usr/lib/softhsm/libsofthsm2.so
pin_file=$work/token/user.pin
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$pin_file\"}"

# --- ceremony: an issuing CA and a JWT key, as hsmsignd needs them ----------------------------
small_ceremony sv EC-P256 || exit 1

# --- credentials and the service ----------------------------------------------------------------
region=eu-central-1
service=execute-api
akid=AKIASIGV4TEST0000001
sakid=ASIASIGV4TEST0000002
umask 077
head -c 30 /dev/urandom | base64 | tr -d '\n' | head -c 40 >out/secret # '/' and '+' kept
head -c 30 /dev/urandom | base64 | tr -d '\n' | head -c 40 >out/session.secret
printf 'IQoJb3JpZ2luX2Vj%s' "$(head -c 96 /dev/urandom | base64 | tr -d '\n')" >out/session.token
umask 022
stoken=$(cat out/session.token)
# curl configs (0600) with the key id and secret, for curl -K: never on a command line. The
# refusals below sign with a wrong secret and an unknown key id, each from its own file too.
(umask 077 && printf '%s' not-the-secret >out/wrong.secret)
sigv4_curl_cfg out/curl.cfg "$akid" out/secret
sigv4_curl_cfg out/session.curl "$sakid" out/session.secret
sigv4_curl_cfg out/wrong.curl "$akid" out/wrong.secret
sigv4_curl_cfg out/unknown.curl AKIAUNKNOWN000000000 out/secret
check "the curl configs holding the secrets are 0600" \
    test "$(stat -c %a out/curl.cfg out/session.curl out/wrong.curl out/unknown.curl | sort -u)" = 600

# The whole hsmsignd configuration, in one place so that new sections (a policy) are added here.
write_config() {
    cat >cfg/hsmsignd.json <<EOF
{ "listen": "127.0.0.1:0",
  "token": {"module": "$module", "label": "$label", "pin_file": "$pin_file",
            "pool_size": 2},
  "ca": {"key": "pkcs11:token=$label;object=sv-issuing;type=private",
         "chain_file": "out/truststore.pem"},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "https://hsmsign.sigv4.example", "jwks_file": "out/jwks.json"},
  "auth": {"sigv4": {"region": "$region", "service": "$service", "max_skew_seconds": 300,
           "access_keys": [
             {"access_key_id": "$akid", "secret_file": "out/secret",
              "principal_arn": "arn:aws:iam::111122223333:role/sigv4-plain"},
             {"access_key_id": "$sakid", "secret_file": "out/session.secret",
              "session_token_file": "out/session.token",
              "principal_arn": "arn:aws:sts::111122223333:assumed-role/sigv4/session"}]}},
  $(permissive_policy arn:aws:iam::111122223333:role/sigv4-plain \
      arn:aws:sts::111122223333:assumed-role/sigv4/session) }
EOF
}
write_config
start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log || exit 1
url=$svc_url
body='{"audience": "sigv4.example"}'

# result_of RESPONSE_FILE STATUS: "STATUS CODE", CODE the JSON error ("-" for a token).
result_of() {
    $py -c '
import json, sys
d = json.load(open(sys.argv[1]))
ok = sys.argv[2] != "200" or d.get("token_type") == "Bearer"
print(sys.argv[2], d.get("error", "-") if ok else "bad-200-body")' "$1" "$2" 2>/dev/null ||
        echo "$2 not-json"
}

# curl_result [curl args...] URL: "STATUS CODE" of a request curl signs (or sends) itself.
curl_result() {
    local status
    status=$(curl -sS -o out/resp.json -w '%{http_code}' "$@") || { echo "curl-failed"; return; }
    result_of out/resp.json "$status"
}
sigv4=(--aws-sigv4 "aws:amz:$region:$service" -K out/curl.cfg)
ssigv4=(--aws-sigv4 "aws:amz:$region:$service" -K out/session.curl
    -H "X-Amz-Security-Token: $stoken")
json=(-H 'Content-Type: application/json' --data-binary "$body")

# botocore signs with SigV4Auth (or SigV4QueryAuth), then the request goes out with http.client
# exactly as built: headers in order, repeats kept. Options change it before or after signing.
cat >out/bsend.py <<'PY'
import argparse, datetime, http.client, json, re, sys, types
from urllib.parse import urlsplit
import botocore.auth
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ap = argparse.ArgumentParser()
ap.add_argument("url"); ap.add_argument("akid"); ap.add_argument("secret_file")
ap.add_argument("--token"); ap.add_argument("--region"); ap.add_argument("--service")
ap.add_argument("--method", default="POST"); ap.add_argument("--path", default="/v1/tokens")
ap.add_argument("--body", default='{"audience": "sigv4.example"}')
ap.add_argument("--header", action="append", default=[])      # signed
ap.add_argument("--param", action="append", default=[])       # k=v, a botocore params dict
ap.add_argument("--skew", type=int, default=0)                # signer clock - real clock
ap.add_argument("--date-header", action="store_true")         # sign Date, not X-Amz-Date
ap.add_argument("--unsigned-payload", action="store_true")
ap.add_argument("--presign", action="store_true")
ap.add_argument("--send-body")                                 # after signing
ap.add_argument("--set-header", action="append", default=[])  # after signing
ap.add_argument("--drop-header", action="append", default=[])
ap.add_argument("--add-header", action="append", default=[])
ap.add_argument("--authz-replace", nargs=2, action="append", default=[])
ap.add_argument("--scope-date")                               # after signing
ap.add_argument("--authz-sub", nargs=2, action="append", default=[])
a = ap.parse_args()

base = urlsplit(a.url)
req = AWSRequest(method=a.method, url=a.url + a.path, data=a.body or None,
                 params=dict(p.split("=", 1) for p in a.param))
for h in a.header:
    k, v = h.split(":", 1)
    req.headers[k] = v.strip()
if a.date_header:
    req.headers["Date"] = "set by botocore"
if a.unsigned_payload:
    req.context["payload_signing_enabled"] = False
    req.url = req.url.replace("http:", "https:")  # botocore signs every payload over HTTP
when = datetime.datetime.utcnow() + datetime.timedelta(seconds=a.skew)
class Frozen(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return when
botocore.auth.datetime = types.SimpleNamespace(datetime=Frozen)
signer = SigV4QueryAuth if a.presign else SigV4Auth
with open(a.secret_file) as f:
    secret = f.read().strip()
signer(Credentials(a.akid, secret, a.token), a.service, a.region).add_auth(req)

prepared = req.prepare()
parts = urlsplit(prepared.url)
target = parts.path + ("?" + parts.query if parts.query else "")
body = prepared.body or b""
if isinstance(body, str):
    body = body.encode()
if a.send_body is not None:
    body = a.send_body.encode()
headers = [("Host", base.netloc)] + list(req.headers.items())
for h in a.set_header:
    k, v = h.split(":", 1)
    headers = [(n, v.strip() if n.lower() == k.lower() else x) for n, x in headers]
headers = [(n, x) for n, x in headers if n.lower() not in [d.lower() for d in a.drop_header]]
headers += [tuple(x.strip() for x in h.split(":", 1)) for h in a.add_header]
for old, new in a.authz_replace:
    headers = [(n, x.replace(old, new) if n == "Authorization" else x) for n, x in headers]
for pattern, repl in a.authz_sub:
    headers = [(n, re.sub(pattern, repl, x) if n == "Authorization" else x) for n, x in headers]
if a.scope_date:
    headers = [(n, re.sub(r"(Credential=[^/]+/)[0-9]{8}/", r"\g<1>" + a.scope_date + "/", x)
                if n == "Authorization" else x) for n, x in headers]
conn = http.client.HTTPConnection(base.hostname, base.port, timeout=10)
conn.putrequest(a.method, target, skip_host=True, skip_accept_encoding=True)
for n, x in headers:
    conn.putheader(n, x)
conn.putheader("Content-Length", str(len(body)))
conn.endheaders(body)
resp = conn.getresponse()
d = json.loads(resp.read() or b"{}")
ok = resp.status != 200 or d.get("token_type") == "Bearer"
print(resp.status, d.get("error", "-") if ok else "bad-200-body")
PY
boto_result() {
    $py out/bsend.py "$url" "$@" 2>out/bsend.err || echo "bsend-failed $(tail -1 out/bsend.err)"
}
plain=("$akid" out/secret --region "$region" --service "$service")
session=("$sakid" out/session.secret --token "$stoken" --region "$region" --service "$service")
ct=(--header 'Content-Type: application/json')

# expect "STATUS CODE" DESCRIPTION FUNCTION ARGS...: the function must print STATUS CODE.
expect() {
    local want=$1 what=$2 got
    shift 2
    got=$("$@")
    if [ "$got" = "$want" ]; then
        hs_passed=$((hs_passed + 1))
        echo "ok   $what -> $want"
    else
        hs_failed=$((hs_failed + 1))
        echo "FAIL $what: got \"$got\", expected \"$want\""
    fi
}

# --- accepted -----------------------------------------------------------------------------------
expect "200 -" "curl: POST /v1/tokens, Content-Type signed" \
    curl_result "${sigv4[@]}" "${json[@]}" "$url/v1/tokens"
# curl -d adds application/x-www-form-urlencoded after signing (unsigned): the signature still
# verifies, then the body is refused as not JSON (415, after authentication).
expect "415 unsupported_media_type" "curl: curl's own form Content-Type, unsigned -> verified, then 415" \
    curl_result "${sigv4[@]}" --data-binary "$body" "$url/v1/tokens"
expect "200 -" "curl: session credentials (X-Amz-Security-Token signed)" \
    curl_result "${ssigv4[@]}" "${json[@]}" "$url/v1/tokens"
expect "200 -" "curl: canonical query (sorted, %20, UTF-8, empty value, unreserved)" \
    curl_result "${sigv4[@]}" "${json[@]}" "$url/v1/tokens?a=1&b=x%20y&c=%E2%82%AC&d=&e=~-._"
expect "200 -" "curl: x-amz-content-sha256 of the body, signed" \
    curl_result "${sigv4[@]}" "${json[@]}" \
    -H "x-amz-content-sha256: $(printf '%s' "$body" | sha256sum | cut -d' ' -f1)" "$url/v1/tokens"
expect "200 -" "curl: signed header with runs of blanks" \
    curl_result "${sigv4[@]}" "${json[@]}" -H 'X-Custom:   a    b  ' "$url/v1/tokens"
expect "200 -" "botocore: POST /v1/tokens" boto_result "${plain[@]}" "${ct[@]}"
expect "200 -" "botocore: session credentials" boto_result "${session[@]}" "${ct[@]}"
expect "200 -" "botocore: query in the URL, out of order, a name without =" \
    boto_result "${plain[@]}" "${ct[@]}" --path '/v1/tokens?z=a%20b&y=%2B&x=%E2%82%AC&a=2&a=1&flag'
expect "200 -" "botocore: query from a params dict" \
    boto_result "${plain[@]}" "${ct[@]}" --param 'b=x/y~z' --param 'a=1' --param 'e='
expect "200 -" "botocore: repeated header, mixed-case names, runs of blanks" \
    boto_result "${plain[@]}" --header 'CONTENT-TYPE: application/json' \
    --header 'X-Multi: second' --header 'x-multi: first' --header 'x-Spaced: a    b'
expect "200 -" "botocore: Date header instead of X-Amz-Date" \
    boto_result "${plain[@]}" "${ct[@]}" --date-header
expect "200 -" "botocore: x-amz-content-sha256 and an x-amz-meta header, signed" \
    boto_result "${plain[@]}" "${ct[@]}" --header 'X-Amz-Meta-Purpose: test' \
    --header "X-Amz-Content-SHA256: $(printf '%s' "$body" | sha256sum | cut -d' ' -f1)"
expect "200 -" "botocore: clock 250 s behind" boto_result "${plain[@]}" "${ct[@]}" --skew -250
expect "200 -" "botocore: clock 250 s ahead" boto_result "${plain[@]}" "${ct[@]}" --skew 250

# --- refused ------------------------------------------------------------------------------------
expect "401 missing_authentication" "unsigned request" curl_result "${json[@]}" "$url/v1/tokens"
expect "401 signature_mismatch" "tampered body" \
    boto_result "${plain[@]}" "${ct[@]}" --send-body '{"audience": "sigv4.evil"}'
expect "401 signature_mismatch" "tampered signed header value" \
    boto_result "${plain[@]}" "${ct[@]}" --set-header 'Content-Type: text/plain'
expect "401 malformed_authentication" "a signed header removed" \
    boto_result "${plain[@]}" "${ct[@]}" --drop-header Content-Type
expect "401 malformed_authentication" "an unsigned x-amz-* header added" \
    boto_result "${plain[@]}" "${ct[@]}" --add-header 'X-Amz-Foo: 1'
expect "401 credential_scope_mismatch" "curl: wrong region" curl_result \
    --aws-sigv4 "aws:amz:us-west-2:$service" -K out/curl.cfg "${json[@]}" "$url/v1/tokens"
expect "401 credential_scope_mismatch" "curl: wrong service" curl_result \
    --aws-sigv4 "aws:amz:$region:lambda" -K out/curl.cfg "${json[@]}" "$url/v1/tokens"
expect "401 credential_scope_mismatch" "botocore: wrong region" \
    boto_result "$akid" out/secret --region us-east-1 --service "$service" "${ct[@]}"
expect "401 credential_scope_mismatch" "botocore: scope date is not the X-Amz-Date day" \
    boto_result "${plain[@]}" "${ct[@]}" --scope-date 20200101
expect "401 request_expired" "botocore: clock 360 s behind (stale)" \
    boto_result "${plain[@]}" "${ct[@]}" --skew -360
expect "401 request_expired" "botocore: clock 360 s ahead (future)" \
    boto_result "${plain[@]}" "${ct[@]}" --skew 360
expect "401 request_expired" "botocore: Date header 360 s behind" \
    boto_result "${plain[@]}" "${ct[@]}" --date-header --skew -360
expect "401 unknown_access_key" "curl: unknown access key" curl_result \
    --aws-sigv4 "aws:amz:$region:$service" -K out/unknown.curl "${json[@]}" \
    "$url/v1/tokens"
expect "401 signature_mismatch" "curl: wrong secret" curl_result \
    --aws-sigv4 "aws:amz:$region:$service" -K out/wrong.curl "${json[@]}" \
    "$url/v1/tokens"
expect "401 malformed_authentication" "Authorization without Signature" \
    boto_result "${plain[@]}" "${ct[@]}" --authz-sub ', Signature=[0-9a-f]+' ''
expect "401 malformed_authentication" "Authorization with a misspelt part" \
    boto_result "${plain[@]}" "${ct[@]}" --authz-replace ', Signature=' ', Signatur='
expect "401 malformed_authentication" "Authorization with SignedHeaders twice" \
    boto_result "${plain[@]}" "${ct[@]}" \
    --authz-replace ', Signature=' ', SignedHeaders=host, Signature='
expect "401 malformed_authentication" "Authorization without the space after the algorithm" \
    boto_result "${plain[@]}" "${ct[@]}" --authz-replace 'AWS4-HMAC-SHA256 ' 'AWS4-HMAC-SHA256'
long=$(head -c 2100 /dev/zero | tr '\0' 'a')
huge=$(head -c 9000 /dev/zero | tr '\0' 'a')
expect "413 too_large" "Authorization over 2048 bytes" \
    curl_result -H "Authorization: AWS4-HMAC-SHA256 Credential=$long" "${json[@]}" "$url/v1/tokens"
expect "414 uri_too_long" "request-target over 8192 bytes (refused by the HTTP parser)" \
    curl_result "${sigv4[@]}" "${json[@]}" "$url/v1/tokens?a=$huge"
expect "401 unsupported_authentication" "curl: UNSIGNED-PAYLOAD" curl_result "${sigv4[@]}" \
    "${json[@]}" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$url/v1/tokens"
expect "401 unsupported_authentication" "botocore: UNSIGNED-PAYLOAD" \
    boto_result "${plain[@]}" "${ct[@]}" --unsigned-payload
expect "401 unsupported_authentication" "botocore: presigned URL (SigV4QueryAuth)" \
    boto_result "${plain[@]}" "${ct[@]}" --presign
expect "401 malformed_authentication" "session key without X-Amz-Security-Token" \
    curl_result --aws-sigv4 "aws:amz:$region:$service" -K out/session.curl "${json[@]}" \
    "$url/v1/tokens"
expect "401 malformed_authentication" "session key with another token" \
    boto_result "$sakid" out/session.secret --token "${stoken}x" --region "$region" \
    --service "$service" "${ct[@]}"
expect "401 malformed_authentication" "a session token for a key without one" \
    boto_result "$akid" out/secret --token "$stoken" --region "$region" --service "$service" \
    "${ct[@]}"

# --- other spellings of a route: the router matches the raw path exactly ------------------------
expect "404 not_found" "botocore: /v1//tokens (signature valid for /v1/tokens) is not routed" \
    boto_result "${plain[@]}" "${ct[@]}" --path '/v1//tokens'
expect "404 not_found" "botocore: /v1/%74okens is not routed" \
    boto_result "${plain[@]}" "${ct[@]}" --path '/v1/%74okens'
expect "404 not_found" "curl --path-as-is: /v1/./tokens is not routed" \
    curl_result --path-as-is "${sigv4[@]}" "${json[@]}" "$url/v1/./tokens"

# --- the service --------------------------------------------------------------------------------
health() { [ "$(curl -sS "$url/healthz")" = '{"status":"ok"}' ]; }
check "the service still answers after the refusals" health
no_secrets_logged() {
    ! grep -qF -f out/secret out/hsmsignd.log &&
        ! grep -qF -f out/session.secret out/hsmsignd.log &&
        ! grep -qF -- "${stoken:16:40}" out/hsmsignd.log && ! grep -q 'Signature=' out/hsmsignd.log
}
check "no secret, session token or signature in the log" no_secrets_logged
clean_stop() {
    kill -TERM "$svc_pid" && wait "$svc_pid"
    local rc=$?
    svc_pid=
    [ "$rc" -eq 0 ] && grep -q '"event":"service.stopped"' out/hsmsignd.log
}
check "SIGTERM stops hsmsignd cleanly (exit 0; sanitizer builds check leaks here)" clean_stop
finish
