#!/usr/bin/env bash
# docs/openapi.yaml (issue 13, deliverable 7), checked with @seriousme/openapi-schema-validator,
# ajv (draft 2020-12) + ajv-formats and yaml, pinned by tests/openapi/package-lock.json:
#   (a) the document is valid OpenAPI 3.1, its schemas compile, HEAD is listed exactly where GET
#       is; a copy with a broken operation is refused (the validator can fail);
#   (b) its operations (but HEAD) equal the rows of api/api_route.c's route table, method, path
#       and authentication (IAM = sigv4, IAM_OR_CERT = sigv4 or clientCertificate, PUBLIC = none);
#   (c) a real hsmsignd on a fresh SoftHSM2 token: live answers (status, Content-Type, body,
#       required headers such as Allow and Retry-After) are valid against the spec's responses --
#       the public documents, POST /v1/tokens, POST /v1/certificates with an openssl CSR,
#       GET /v1/certificates/{serial}, the revocation, HEAD, and 400/401/403/404/405/415 errors;
#       the request bodies sent are valid against the request schemas (an unknown member is not).
#       Every answer checked counts; fewer than expected is a failure.
# Installs the pinned packages with `npm ci` into tests/openapi/node_modules when missing; exits
# 77 (skipped) when node/npm are missing or the registry cannot be reached (a failure under CI).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
require openssl curl
cd "$here"
. "$here/../testlib/npm_ready.sh"
npm_ready openapi @seriousme/openapi-schema-validator ajv ajv-formats yaml
spec=$repo/docs/openapi.yaml
chk=$here/check.mjs
work=$(mktemp -d)
trap 'stop_hsmsignd; rm -rf "$work"' EXIT

refused() { ! "$@" >/dev/null 2>&1; } # CMD fails
differs_and_refused() { ! cmp -s "$1" "$2" && refused node "$chk" spec "$2"; }

# --- (a) the document --------------------------------------------------------------------------
check "(a) docs/openapi.yaml is a valid OpenAPI 3.1 document, its schemas compile" \
    node "$chk" spec "$spec"
sed 's/^      operationId: tokenIssue$/      operationId: tokenIssue\n      responses: 7/' "$spec" \
    >"$work/broken.yaml"
check "(a) a copy whose POST /v1/tokens has responses: 7 -> refused" \
    differs_and_refused "$spec" "$work/broken.yaml"

# --- (b) the spec's operations = the route table -----------------------------------------------
$py - "$repo/api/api_route.c" >"$work/table.routes" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
table = re.search(r'#define API_ROUTE_TABLE\(ROW\)(.*?)\n\n', src, re.S).group(1)
rows = re.findall(r'ROW\("([A-Z]+)",\s*"([^"]+)",\s*\w+,\s*API_ROUTE_(\w+)\)', table)
# "{name+}" (the rest of the path, api_path_match) is an OpenAPI path parameter "{name}".
print("\n".join(sorted(f"{m} {p.replace('+}', '}')} {a}" for m, p, a in rows)))
PY
node "$chk" routes "$spec" >"$work/spec.routes"
check "(b) api_route.c's table was found (>= 17 rows)" test "$(wc -l <"$work/table.routes")" -ge 17
diffs=$(diff "$work/table.routes" "$work/spec.routes" | grep '^[<>]' || true)
check "(b) the spec's operations are the route table's rows, with their authentication${diffs:+ (< table, > spec: ${diffs//$'\n'/; })}" \
    test -z "$diffs"

# --- (c) live answers --------------------------------------------------------------------------
cd "$work"
mkdir -p out cfg
label=openapi-test
new_token "$work/token" "$label" >/dev/null
module=/usr/lib/softhsm/libsofthsm2.so
pin_file=$work/token/user.pin
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$pin_file\"}"
small_ceremony oa EC-P256 || exit 1
cat out/intermediate.pem out/root.pem >out/chain.pem
region=eu-west-1
arn=arn:aws:iam::123456789012:role/openapi-caller
other=arn:aws:iam::123456789012:role/openapi-nobody
akid=AKIAOPENAPITEST00001
akid2=AKIAOPENAPITEST00002
umask 077
head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 >out/caller.secret
head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 >out/nobody.secret
umask 022
# curl reads the credentials from a config file (0600), never from its command line.
sigv4_curl_cfg out/caller.curl "$akid" out/caller.secret
sigv4_curl_cfg out/nobody.curl "$akid2" out/nobody.secret
cat >cfg/hsmsignd.json <<JSON
{ "listen": "127.0.0.1:0",
  "token": {"module": "$module", "label": "$label", "pin_file": "$pin_file", "pool_size": 2},
  "ca": {"key": "oa-issuing", "chain_file": "out/chain.pem", "crl_url": "http://pki.openapi.example/v1/crl"},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "https://hsmsign.openapi.example", "jwks_file": "out/jwks.json",
          "default_alg": "ES256"},
  "auth": {"sigv4": {"region": "$region", "access_keys": [
             {"access_key_id": "$akid", "secret_file": "out/caller.secret", "principal_arn": "$arn"},
             {"access_key_id": "$akid2", "secret_file": "out/nobody.secret", "principal_arn": "$other"}]}},
  $(permissive_policy "$arn") }
JSON
start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log || exit 1

answers=0
# call WHO METHOD URL-PATH [curl options...]: WHO = caller, nobody or anon; the answer's headers in
# out/h, body in out/b.
call() {
    local who=$1 method=$2 path=$3
    shift 3
    local auth=()
    [ "$who" != anon ] && auth=(-K "out/$who.curl" --aws-sigv4 "aws:amz:$region:execute-api")
    rm -f out/h out/b
    if [ "$method" = HEAD ]; then
        # curl -I writes the header section to -o too and reads no body; out/b stays empty.
        curl -sS -I -D out/h -o /dev/null "${auth[@]}" "$@" "$svc_url$path"
    else
        curl -sS -X "$method" -D out/h -o out/b "${auth[@]}" "$@" "$svc_url$path"
    fi
    touch out/b
}
status() { sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' out/h | tr -d '\r'; }
# valid DESCRIPTION STATUS METHOD SPEC-PATH: the last answer has STATUS and matches the spec.
valid() {
    local got
    got=$(status)
    if [ "$got" != "$2" ]; then
        echo "     status $got, not $2: $(head -c 300 out/b)"
        return 1
    fi
    node "$chk" answer "$spec" "$3" "$4" out/h out/b || return 1
    answers=$((answers + 1))
}
json=(-H 'Content-Type: application/json')

call anon GET /healthz
check "(c) GET /healthz 200" valid x 200 GET /healthz
get_len=$(wc -c <out/b)
call anon HEAD /healthz
check "(c) HEAD /healthz 200" valid x 200 HEAD /healthz
check "(c) ... its Content-Length is the GET body's ($get_len)" \
    grep -qiE "^Content-Length: $get_len"$'\r?$' out/h
call anon GET /.well-known/jwks.json
check "(c) GET /.well-known/jwks.json 200" valid x 200 GET /.well-known/jwks.json
call anon GET /.well-known/openid-configuration
check "(c) GET /.well-known/openid-configuration 200" valid x 200 GET /.well-known/openid-configuration
call anon GET /v1/ca
check "(c) GET /v1/ca 200 application/pem-certificate-chain" valid x 200 GET /v1/ca
call anon GET /v1/crl
check "(c) GET /v1/crl 200 application/pkix-crl" valid x 200 GET /v1/crl
call anon GET /metrics
check "(c) GET /metrics 200 text/plain; version=0.0.4" valid x 200 GET /metrics
call anon GET /v1/ssh/ca
check "(c) GET /v1/ssh/ca without ssh configured -> 404" valid x 404 GET /v1/ssh/ca

call caller POST /v1/tokens "${json[@]}" --data-binary '{"audience": "snowflake", "ttl_seconds": 60}'
check "(c) POST /v1/tokens 200" valid x 200 POST /v1/tokens
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout out/leaf.key \
    -subj /CN=openapi-device -addext subjectAltName=DNS:d1.openapi.example -out out/leaf.csr \
    2>/dev/null
$py -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": "client", "ttl_hours": 1}))' \
    out/leaf.csr >out/cert.req
call caller POST /v1/certificates "${json[@]}" --data-binary @out/cert.req
check "(c) POST /v1/certificates (an openssl CSR) 200" valid x 200 POST /v1/certificates
serial=$($py -c 'import json; print(json.load(open("out/b"))["serial"])' 2>/dev/null || true)
[ -n "$serial" ] || serial=00
call caller GET "/v1/certificates/$serial"
check "(c) GET /v1/certificates/{serial} 200" valid x 200 GET '/v1/certificates/{serial}'
call caller GET "/v1/certificates?limit=5"
check "(c) GET /v1/certificates (the listing) 200" valid x 200 GET /v1/certificates
check "(c) ... which lists the certificate just issued" grep -q "\"serial\": *\"$serial\"" out/b
call caller GET /v1/whoami
check "(c) GET /v1/whoami 200" valid x 200 GET /v1/whoami
call caller GET "/v1/certificates?colour=red"
check "(c) GET /v1/certificates?colour=red 400 naming it" valid x 400 GET /v1/certificates
call caller HEAD "/v1/certificates/$serial"
check "(c) HEAD /v1/certificates/{serial} 200" valid x 200 HEAD '/v1/certificates/{serial}'
call caller POST "/v1/certificates/$serial/revoke" "${json[@]}" --data-binary '{"reason": "superseded"}'
check "(c) POST /v1/certificates/{serial}/revoke 200 (status revoked, with revoked_at and reason)" \
    valid x 200 POST '/v1/certificates/{serial}/revoke'
check "(c) ... and the answer says revoked" grep -q '"status": *"revoked"' out/b

# The request bodies the server took are valid against the spec's request schemas; the one with
# an unknown member (refused above with 400) is not.
printf '%s' '{"audience": "snowflake", "ttl_seconds": 60}' >out/tok.req
check "(c) the POST /v1/tokens body sent is valid against the spec" \
    node "$chk" request "$spec" POST /v1/tokens out/tok.req
check "(c) the POST /v1/certificates body sent is valid against the spec" \
    node "$chk" request "$spec" POST /v1/certificates out/cert.req
printf '%s' '{"reason": "superseded"}' >out/revoke.req
check "(c) the revoke body sent is valid against the spec" \
    node "$chk" request "$spec" POST '/v1/certificates/{serial}/revoke' out/revoke.req
printf '%s' '{"csr": "x", "colour": "red"}' >out/unknown.req
check "(c) a body with an unknown member is invalid against the spec (as the server says 400)" \
    refused node "$chk" request "$spec" POST /v1/certificates out/unknown.req

# Errors.
call caller POST /v1/tokens "${json[@]}" --data-binary '{"audience": "a", "audience": "b"}'
check "(c) POST /v1/tokens with a duplicate member -> 400" valid x 400 POST /v1/tokens
call caller POST /v1/certificates "${json[@]}" --data-binary @out/unknown.req
check "(c) POST /v1/certificates with an unknown member -> 400" valid x 400 POST /v1/certificates
call anon POST /v1/tokens "${json[@]}" --data-binary '{"audience": "snowflake"}'
check "(c) POST /v1/tokens without credentials -> 401" valid x 401 POST /v1/tokens
call nobody POST /v1/tokens "${json[@]}" --data-binary '{"audience": "snowflake"}'
check "(c) POST /v1/tokens by a principal no rule names -> 403 with reason" valid x 403 POST /v1/tokens
call caller GET /v1/certificates/0abcdef0123456789
check "(c) GET /v1/certificates/{serial} unknown -> 404" valid x 404 GET '/v1/certificates/{serial}'
call anon DELETE /v1/crl
check "(c) DELETE /v1/crl -> 405 with Allow" valid x 405 GET /v1/crl
check "(c) ... Allow: GET, HEAD" grep -qi '^Allow: GET, HEAD' out/h
call caller POST /v1/tokens -H 'Content-Type: text/plain' --data-binary '{"audience": "snowflake"}'
check "(c) POST /v1/tokens as text/plain -> 415" valid x 415 POST /v1/tokens

# The checker itself: an answer that does not match is refused.
printf '{"status": "ok", "extra": 1}' >out/b2
printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n' >out/h2
check "(c) the answer check refuses a body with an unknown member" \
    refused node "$chk" answer "$spec" GET /healthz out/h2 out/b2
printf 'HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\n\r\n' >out/h2
printf '{"error": "method_not_allowed", "message": "m", "request_id": "r"}' >out/b2
check "(c) the answer check refuses a 405 without Allow" \
    refused node "$chk" answer "$spec" GET /v1/crl out/h2 out/b2
check "(c) 20 live answers were validated against the spec (got $answers)" test "$answers" -ge 20
finish
