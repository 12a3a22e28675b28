#!/usr/bin/env bash
# Issue 13, deliverables 4 and 5, against a real hsmsignd on a fresh SoftHSM2 token whose issuing
# key is named by a key URI with only id=: strict requests (415 unsupported_media_type for a
# body that is not application/json -- text/plain, curl's own form type, none at all -- while
# application/json with charset=utf-8 passes; a truncated body is explained; duplicate members in
# a request and in the config are refused; 405 carries Allow; HEAD wherever GET is; a client
# certificate on an IAM route is told the route wants SigV4), GET /v1/ca and `hsmsign ca` (a
# freshly issued leaf verifies with openssl verify against the chain it serves), and
# `hsmsign renew` (not due -> exit 8 and nothing changes; --force and a due certificate ->
# a new serial for the same key, the file replaced atomically with its mode kept, --exec run
# once; a failing --exec -> exit 9; a wrong key -> exit 3, nothing changes).
. "$(dirname "$0")/lib.sh"
require openssl curl
cli=${HSMSIGN_CLI:?HSMSIGN_CLI must be set (ctest sets it)}
work=$(mktemp -d)
trap 'stop_hsmsignd; rm -rf "$work"' EXIT
cd "$work"
mkdir -p out cfg home
label=strict-test
new_token "$work/token" "$label" >/dev/null
module=/usr/lib/softhsm/libsofthsm2.so
pin_file=$work/token/user.pin
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$pin_file\"}"
small_ceremony st EC-P256 || exit 1
cat out/intermediate.pem out/root.pem >out/chain.pem

# The issuing key's CKA_ID, for a key URI that names it by id alone (RFC 7512 %-escapes).
issuing_id=$(list_private_keys "$label" "$pin_file" |
    awk '/label:/ {l = $2} /ID:/ && l == "st-issuing" {print $2; exit}')
[ -n "$issuing_id" ] || { echo "no CKA_ID found for st-issuing"; exit 1; }
id_uri=$(printf '%s' "$issuing_id" | sed 's/../%&/g')

region=eu-west-1
arn=arn:aws:iam::123456789012:role/strict-caller
akid=AKIASTRICTTEST000001
new_caller_secret "$akid" # out/caller.secret and out/curl.cfg
secret=$(cat out/caller.secret)
write_config() { # $1 = the ca.key reference
    cat >cfg/hsmsignd.json <<JSON
{ "listen": "127.0.0.1:0",
  "token": {"module": "$module", "label": "$label", "pin_file": "$pin_file", "pool_size": 2},
  "ca": {"key": "$1", "chain_file": "out/chain.pem", "crl_url": "http://pki.strict.example/v1/crl"},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "https://hsmsign.strict.example", "jwks_file": "out/jwks.json",
          "default_alg": "ES256"},
  "auth": {"sigv4": {"region": "$region", "access_keys": [
             {"access_key_id": "$akid", "secret_file": "out/caller.secret",
              "principal_arn": "$arn"}]},
           "mtls": {"proxy_header": "X-Client-Cert", "trusted_proxies": ["127.0.0.1"]}},
  $(permissive_policy "$arn") }
JSON
}

# --- the key URI: id= alone works; an unknown id is named in the error -------------------------
write_config "pkcs11:token=$label;id=%00%11%22;type=private"
cfg_fails() { # TEXT: hsmsignd refuses cfg/hsmsignd.json and its output says TEXT
    local rc=0
    timeout 60 "${HSMSIGND:?}" --config cfg/hsmsignd.json >out/refused.log 2>&1 || rc=$?
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -qF -- "$1" out/refused.log ||
        { echo "     exit $rc: $(tail -c 400 out/refused.log)"; return 1; }
}
check "a key URI with an id no key has -> refused, naming the id (not label \"\")" \
    cfg_fails 'no private key with id 001122'
# A duplicate member in the config is refused as in a request (common/hs_json.c).
write_config "pkcs11:token=$label;id=$id_uri;type=private"
sed -i 's/"listen": "127.0.0.1:0",/"listen": "127.0.0.1:0", "listen": "127.0.0.1:1",/' \
    cfg/hsmsignd.json
check "a config with a repeated member (listen twice) -> refused, naming it" \
    cfg_fails 'duplicate member \"listen\"'
write_config "pkcs11:token=$label;id=$id_uri;type=private"
start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log || exit 1
check "ca.key as a key URI with only id= -> hsmsignd starts" test -n "$svc_url"

sigv4=(-K out/curl.cfg --aws-sigv4 "aws:amz:$region:execute-api")
# post PATH BODY [curl options...]: signed POST; status on stdout, body in out/resp, headers in
# out/resp.h.
post() {
    local path=$1 body=$2
    shift 2
    printf '%s' "$body" >out/req
    curl -sS -D out/resp.h -o out/resp -w '%{http_code}' "${sigv4[@]}" "$@" \
        --data-binary @out/req "$svc_url$path"
}
# error STATUS CODE [DETAIL-TEXT]: out/resp is our JSON error with that code (and detail).
error() {
    local got=$1
    shift
    [ "$got" = "$1" ] || { echo "     status $got, body $(head -c 300 out/resp)"; return 1; }
    $py - "$@" <<'PY'
import json, sys
d = json.load(open("out/resp"))
assert d["error"] == sys.argv[2], d
assert d["message"] and len(d["request_id"]) == 16, d
assert len(sys.argv) < 4 or sys.argv[3] in d.get("detail", ""), d
PY
}
json_ct=(-H 'Content-Type: application/json')
tok='{"audience": "snowflake"}'

# --- 415: only application/json bodies -----------------------------------------------------------
check "POST /v1/tokens as text/plain -> 415 unsupported_media_type, naming text/plain" \
    error "$(post /v1/tokens "$tok" -H 'Content-Type: text/plain')" 415 unsupported_media_type \
    "Content-Type text/plain is not application/json"
check "curl -d's own application/x-www-form-urlencoded -> 415" \
    error "$(post /v1/tokens "$tok")" 415 unsupported_media_type x-www-form-urlencoded
# botocore signs what it is given; http.client adds no Content-Type of its own.
boto() { # CONTENT-TYPE|"": a botocore-signed POST /v1/tokens; status on stdout, body in out/resp
    $py - "$svc_url" "$region" "$akid" out/caller.secret "$tok" "$1" <<'PY'
import http.client, sys, urllib.parse
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
url, region, akid, secret_file, body, ctype = sys.argv[1:]
secret = open(secret_file).read().strip()
headers = {"Content-Type": ctype} if ctype else {}
req = AWSRequest(method="POST", url=url + "/v1/tokens", data=body.encode(), headers=headers)
SigV4Auth(Credentials(akid, secret), "execute-api", region).add_auth(req)
u = urllib.parse.urlsplit(url)
c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
c.request("POST", "/v1/tokens", body=body.encode(), headers=dict(req.headers.items()))
r = c.getresponse()
open("out/resp", "wb").write(r.read())
print(r.status)
PY
}
check "botocore, Content-Type: application/json -> 200" test "$(boto application/json)" = 200
check "botocore, a body without Content-Type -> 415, saying so" \
    error "$(boto '')" 415 unsupported_media_type "no Content-Type"
check "application/json; charset=latin1 -> 415" \
    error "$(post /v1/tokens "$tok" -H 'Content-Type: application/json; charset=latin1')" 415 \
    unsupported_media_type charset
check "application/jsonx (not a parameter boundary) -> 415" \
    error "$(post /v1/tokens "$tok" -H 'Content-Type: application/jsonx')" 415 \
    unsupported_media_type
check "Application/JSON; charset=\"UTF-8\" (case, quoted charset) -> 200" \
    test "$(post /v1/tokens "$tok" -H 'Content-Type: Application/JSON; charset="UTF-8"')" = 200
check "application/json; charset=utf-8 -> 200" \
    test "$(post /v1/tokens "$tok" -H 'Content-Type: application/json; charset=utf-8')" = 200
unsigned_status=$(curl -sS -o out/resp -w '%{http_code}' -H 'Content-Type: text/plain' \
    --data-binary "$tok" "$svc_url/v1/tokens")
check "text/plain without credentials -> 401 first (the anonymous learn nothing more)" \
    test "$unsigned_status" = 401

# --- JSON: duplicates, truncation ----------------------------------------------------------------
check "a repeated member (audience twice) -> 400 invalid_json naming it" \
    error "$(post /v1/tokens '{"audience": "snowflake", "audience": "x"}' "${json_ct[@]}")" 400 \
    invalid_json 'duplicate member "audience"'
check "a truncated body -> 400 invalid_json that says it ends early (not json-c's 'continue')" \
    error "$(post /v1/tokens '{"audience": "snowf' "${json_ct[@]}")" 400 invalid_json \
    "ends after 19 bytes, before the document is complete"
check "the truncated body's detail is not json-c's parser state" \
    $py -c 'import json; assert json.load(open("out/resp"))["detail"] != "continue"'

# --- 405 with Allow, HEAD ------------------------------------------------------------------------
allow() { # METHOD PATH WANT-ALLOW
    local got
    got=$(curl -sS -D out/resp.h -o out/resp -w '%{http_code}' -X "$1" "$svc_url$2")
    error "$got" 405 method_not_allowed "allows $3" &&
        grep -qi "^Allow: $3"$'\r'"\$" out/resp.h
}
check "DELETE /v1/crl -> 405, Allow: GET, HEAD" allow DELETE /v1/crl "GET, HEAD"
check "GET /v1/tokens -> 405, Allow: POST" allow GET /v1/tokens POST
check "DELETE /v1/certificates -> 405, Allow: POST, GET, HEAD (the listing is GET)" \
    allow DELETE /v1/certificates "POST, GET, HEAD"
check "PUT /v1/ssh/keys/x -> 405, Allow: GET, HEAD" allow PUT /v1/ssh/keys/x "GET, HEAD"
head_like_get() { # PATH: HEAD answers GET's status and Content-Length, with no body
    local get_len
    curl -sS -D out/get.h -o out/get.body "$svc_url$1" || return 1
    get_len=$(wc -c <out/get.body)
    curl -sS -I -o /dev/null -D out/head.h "$svc_url$1" || return 1
    grep -qi "^HTTP/1.1 200" out/head.h &&
        grep -qi "^Content-Length: $get_len"$'\r'"\$" out/head.h &&
        [ "$get_len" -gt 0 ] &&
        [ "$(grep -i '^Content-Type' out/head.h)" = "$(grep -i '^Content-Type' out/get.h)" ] &&
        [ "$(curl -sS -X HEAD --max-time 5 -o out/head.body -w '%{size_download}' \
            "$svc_url$1" 2>/dev/null || true)" = 0 ]
}
for p in /healthz /v1/ca /v1/crl /.well-known/jwks.json; do
    check "HEAD $p: GET's status, Content-Type and Content-Length, no body" head_like_get "$p"
done
# Keep-alive: after a HEAD answer the next request on the connection is read correctly.
check "HEAD then GET on one connection -> both answered" \
    test "$(curl -sS -o /dev/null -w '%{http_code} ' -I "$svc_url/healthz" \
        --next -o /dev/null -w '%{http_code}' "$svc_url/healthz")" = "200 200"

# --- a client certificate on an IAM route ---------------------------------------------------------
urlenc() { $py -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.stdin.read(), safe=""))'; }
cert_to_iam_route() {
    local got
    got=$(curl -sS -o out/resp -w '%{http_code}' -H "X-Client-Cert: $(urlenc <out/chain.pem)" \
        "${json_ct[@]}" --data-binary '{"csr": "x"}' "$svc_url/v1/certificates")
    error "$got" 401 sigv4_required &&
        $py -c 'import json; m = json.load(open("out/resp"))["message"]; assert "SigV4" in m, m'
}
check "a client certificate sent to POST /v1/certificates -> 401 sigv4_required" cert_to_iam_route

# --- GET /v1/ca, hsmsign ca -----------------------------------------------------------------------
for v in $(env | cut -d= -f1 | grep -E '^(AWS_|HSMSIGN_ENDPOINT$)'); do unset "$v"; done
export HOME=$work/home HSMSIGN_ENDPOINT=$svc_url AWS_REGION=$region AWS_EC2_METADATA_DISABLED=true
export AWS_ACCESS_KEY_ID=$akid AWS_SECRET_ACCESS_KEY=$secret
ca_route() {
    curl -sS -D out/ca.h -o out/ca.pem "$svc_url/v1/ca" &&
        grep -qi '^Content-Type: application/pem-certificate-chain'$'\r''$' out/ca.h &&
        grep -qi '^Cache-Control: public' out/ca.h &&
        [ "$(grep -c 'BEGIN CERTIFICATE' out/ca.pem)" = 2 ] &&
        # intermediate first, then the root
        openssl x509 -in out/ca.pem -noout -fingerprint -sha256 >out/ca.first &&
        openssl x509 -in out/intermediate.pem -noout -fingerprint -sha256 | cmp -s - out/ca.first &&
        csplit -s -z -f out/ca.part. out/ca.pem '/-----BEGIN CERTIFICATE-----/' '{*}' &&
        openssl x509 -in out/ca.part.01 -noout -fingerprint -sha256 |
        cmp -s - <(openssl x509 -in out/root.pem -noout -fingerprint -sha256)
}
check "GET /v1/ca (no auth): application/pem-certificate-chain, intermediate then root" ca_route
"$cli" cert --cn leaf-1 --dns leaf-1.strict.example --out-key out/leaf.key \
    --out-cert out/leaf.pem >out/leaf.out 2>&1 || { echo "hsmsign cert failed:"; cat out/leaf.out; }
check "a freshly issued leaf verifies: openssl verify -CAfile <root from /v1/ca> -untrusted <int>" \
    openssl verify -x509_strict -CAfile out/ca.part.01 -untrusted out/ca.part.00 out/leaf.pem
check "hsmsign ca prints the same chain" cmp -s out/ca.pem <("$cli" ca)
check "hsmsign ca --out FILE writes it (and replaces an older one)" \
    bash -c "echo old >out/bundle.pem && '$cli' ca --out out/bundle.pem | grep -qx 'certificates: 2' &&
             cmp -s out/ca.pem out/bundle.pem"

# --- hsmsign renew ----------------------------------------------------------------------------------
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
pub_matches() { # CERT KEY
    cmp -s <(openssl x509 -in "$1" -noout -pubkey) <(openssl pkey -in "$2" -pubout)
}
chmod 0640 out/leaf.pem
sum0=$(sha256sum <out/leaf.pem)
inode0=$(stat -c %i out/leaf.pem)
serial0=$(serial_of out/leaf.pem)
: >out/exec.count
rc=0
"$cli" renew --cert out/leaf.pem --key out/leaf.key --exec "echo ran >>'$work/out/exec.count'" \
    >out/renew.out 2>&1 || rc=$?
check "renew a fresh certificate -> exit 8 (not due)" test "$rc" = 8
check "not due: the file is unchanged (content, inode) and --exec did not run" \
    test "$(sha256sum <out/leaf.pem)" = "$sum0" -a "$(stat -c %i out/leaf.pem)" = "$inode0" \
    -a ! -s out/exec.count
check "not due: it says how much of the lifetime remains" has 'not due: ' <out/renew.out

rc=0
"$cli" renew --cert out/leaf.pem --key out/leaf.key --force \
    --exec "echo ran >>'$work/out/exec.count'" >out/renew.out 2>&1 || rc=$?
check "renew --force -> exit 0" test "$rc" = 0
check "renew --force: a new serial" test "$(serial_of out/leaf.pem)" != "$serial0"
check "renew --force: the new certificate matches the key (x509 -pubkey vs pkey -pubout)" \
    pub_matches out/leaf.pem out/leaf.key
check "renew --force: same subject and SANs" \
    bash -c "openssl x509 -in out/leaf.pem -noout -subject -ext subjectAltName |
             grep -q 'DNS:leaf-1.strict.example' &&
             openssl x509 -in out/leaf.pem -noout -subject | grep -q 'CN *= *leaf-1'"
check "renew --force: the file was replaced (new inode), mode 0640 kept" \
    test "$(stat -c %i out/leaf.pem)" != "$inode0" -a "$(stat -c %a out/leaf.pem)" = 640
check "renew --force: --exec ran exactly once" test "$(wc -l <out/exec.count)" = 1
check "renew --force: no temporary file left" \
    test -z "$(find out -name '.leaf.pem.renew.*')"
check "the renewed leaf verifies against /v1/ca's chain" \
    openssl verify -x509_strict -CAfile out/ca.part.01 -untrusted out/ca.part.00 out/leaf.pem

rc=0
"$cli" renew --cert out/leaf.pem --key out/leaf.key --force --exec 'exit 3' \
    >out/renew.out 2>&1 || rc=$?
check "renew --force with a failing --exec -> exit 9, its status reported" \
    bash -c "[ $rc = 9 ] && grep -q 'exit status 3' out/renew.out"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out out/other.key 2>/dev/null
sum1=$(sha256sum <out/leaf.pem)
rc=0
"$cli" renew --cert out/leaf.pem --key out/other.key --force >out/renew.out 2>&1 || rc=$?
check "renew with a key that is not the certificate's -> exit 3, file unchanged" \
    bash -c "[ $rc = 3 ] && [ \"\$(sha256sum <out/leaf.pem)\" = '$sum1' ] &&
             grep -q 'not the key of' out/renew.out"

# A certificate with less than a third of its lifetime left (10 h used of 12 h; made here with
# the same key, since the service issues only fresh ones) is renewed without --force.
$py - out/leaf.key out/due.pem <<'PY'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf-1")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=10))
        .not_valid_after(now + datetime.timedelta(hours=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("leaf-1.strict.example")]), False)
        .sign(key, hashes.SHA256()))
open(sys.argv[2], "wb").write(cert.public_bytes(serialization.Encoding.PEM))
PY
rc=0
"$cli" renew --cert out/due.pem --key out/leaf.key >out/renew.out 2>&1 || rc=$?
check "renew a certificate with under a third of its lifetime left -> exit 0, issued by our CA" \
    bash -c "[ $rc = 0 ] && openssl verify -CAfile out/ca.part.01 -untrusted out/ca.part.00 \
             out/due.pem >/dev/null"

finish
