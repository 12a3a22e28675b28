#!/usr/bin/env bash
# End to end: a fresh SoftHSM2 token, the key ceremony, a real hsmsignd on a free loopback
# port, and requests signed by curl --aws-sigv4 and by botocore (an independent SigV4 signer).
# Certificates are checked with openssl verify -x509_strict, tokens with python3-jwt against
# the served JWKS. Every CSR of the repository's interop corpus gets the outcome its manifest
# lists (tests/data/csr-interop).
. "$(dirname "$0")/lib.sh"
require openssl curl
hsmsignd=${HSMSIGND:?} kc=${KEYCEREMONY:?}
testdata=${HSMSIGN_TESTDATA:-$repo/tests/data}
work=$(mktemp -d)
trap 'stop_hsmsignd; rm -rf "$work"' EXIT
cd "$work"
mkdir -p out cfg
label=e2e-test
new_token "$work/token" "$label"
module=/usr/lib/softhsm/libsofthsm2.so
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$work/token/user.pin\"}"

# --- ceremony ---------------------------------------------------------------------------------
small_ceremony e2e EC-P384 || exit 1

# --- service ----------------------------------------------------------------------------------
umask 077
akid=AKIAE2ETEST000000001
head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 >out/secret
printf '%s' not-the-secret >out/wrong.secret
umask 022
# curl configs (0600) with the key id and secret, for curl -K: never on a command line; the
# refusals below sign with a wrong secret and an unknown key id, each from its own file too.
sigv4_curl_cfg out/curl.cfg "$akid" out/secret
sigv4_curl_cfg out/wrong.curl "$akid" out/wrong.secret
sigv4_curl_cfg out/unknown.curl AKIAUNKNOWN000000000 out/secret
arn=arn:aws:iam::111122223333:role/e2e-caller
write_config() { # $1 = PIN file, $2 = module (default SoftHSM2)
    cat >cfg/hsmsignd.json <<EOF
{ "listen": "127.0.0.1:0",
  "token": {"module": "${2:-$module}", "label": "$label", "pin_file": "$1", "pool_size": 4},
  "ca": {"key": "pkcs11:token=$label;object=e2e-issuing;type=private",
         "chain_file": "out/truststore.pem"},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "https://hsmsign.e2e.example", "keys": [{"key": "e2e-jwt", "alg": "ES256"}]},
  "auth": {"sigv4": {"region": "eu-central-1", "service": "execute-api",
           "access_keys": [{"access_key_id": "$akid", "secret_file": "out/secret",
                            "principal_arn": "$arn"}]}},
  $(permissive_policy "$arn") }
EOF
}

# A wrong PIN: hsmsignd refuses to start, says why, and never prints the PIN.
umask 077
printf 'wrong-pin-%s\n' "$RANDOM$RANDOM" >out/wrong.pin
umask 022
write_config "$work/out/wrong.pin"
wrong_pin_refused() {
    local rc=0
    "$hsmsignd" --config cfg/hsmsignd.json >out/wrong-pin.log 2>&1 || rc=$?
    [ "$rc" -eq 1 ] && grep -q 'CKR_PIN_INCORRECT' out/wrong-pin.log &&
        ! grep -qF -- "$(head -1 out/wrong.pin)" out/wrong-pin.log
}
check "a wrong PIN stops hsmsignd at start (CKR_PIN_INCORRECT), the PIN not printed" \
    wrong_pin_refused

# A token without the mechanism the issuing CA signs with (the fault module hides CKM_ECDSA
# from C_GetMechanismList): hsmsignd stops at start and names it.
write_config "$work/token/user.pin" "${HSMSIGN_FAULT_LIB:?}"
mechanism_refused() {
    local rc=0
    HSMSIGN_FAULT_MODULE=$module HSMSIGN_FAULT_HIDE=CKM_ECDSA \
        "$hsmsignd" --config cfg/hsmsignd.json >out/no-ecdsa.log 2>&1 || rc=$?
    [ "$rc" -eq 1 ] && grep -q 'token does not offer CKM_ECDSA for signing' out/no-ecdsa.log
}
check "a token without CKM_ECDSA stops hsmsignd at start, naming the mechanism" mechanism_refused

write_config "$work/token/user.pin"
start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log || exit 1
url=$svc_url
sigv4=(--aws-sigv4 "aws:amz:eu-central-1:execute-api" -K out/curl.cfg)

# post PATH BODY_FILE OUT_FILE [curl args...]: prints the HTTP status.
post() {
    local path=$1 body=$2 out=$3
    shift 3
    curl -sS -o "$out" -w '%{http_code}' "$@" -H 'Content-Type: application/json' \
        --data-binary @"$body" "$url$path"
}
csr_body() { # $1 = CSR file, $2 = extra JSON members
    $py -c 'import json,sys; d={"csr": open(sys.argv[1], newline="").read()}; d.update(json.loads(sys.argv[2])); print(json.dumps(d))' \
        "$1" "${2:-{\}}"
}
json_field() { $py -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
leaf_verifies() { # $1 = response file
    $py -c 'import json,sys; r=json.load(open(sys.argv[1])); open(sys.argv[1]+".pem","w").write(r["certificate"]); open(sys.argv[1]+".chain","w").write(r["chain"])' "$1" &&
        openssl verify -x509_strict -CAfile out/root.pem -untrusted "$1.chain" "$1.pem" >/dev/null
}

health() { [ "$(curl -sS "$url/healthz")" = '{"status":"ok"}' ]; }
check "GET /healthz answers 200 {\"status\":\"ok\"} when the token answers" health
jwks_served() {
    curl -sS -D out/jwks.headers -o out/jwks.served "$url/.well-known/jwks.json" &&
        grep -qi '^cache-control: public, max-age=300' out/jwks.headers &&
        cmp -s <($py -c 'import json,sys; print(json.load(open(sys.argv[1])))' out/jwks.served) \
            <($py -c 'import json,sys; print(json.load(open(sys.argv[1])))' out/jwks.json)
}
check "GET /.well-known/jwks.json (no auth) serves the ceremony's JWKS with Cache-Control" \
    jwks_served

# --- certificates -----------------------------------------------------------------------------
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout out/leaf.key \
    -subj "/O=Ignored Org/CN=svc.e2e.example" \
    -addext "subjectAltName=DNS:svc.e2e.example,IP:10.1.2.3" \
    -addext "basicConstraints=critical,CA:TRUE" -out out/leaf.csr 2>/dev/null
csr_body out/leaf.csr '{"ttl_hours": 12}' >out/cert-req.json
status=$(post /v1/certificates out/cert-req.json out/cert.json "${sigv4[@]}")
check "POST /v1/certificates signed by curl --aws-sigv4 answers 200" test "$status" = 200
check "the certificate passes openssl verify -x509_strict under root + chain" \
    leaf_verifies out/cert.json
leaf_profile() {
    local t now na
    t=$(openssl x509 -in out/cert.json.pem -noout -text)
    grep -A1 'Basic Constraints: critical' <<<"$t" | has 'CA:FALSE' &&
        grep -A1 'Key Usage: critical' <<<"$t" | has -x ' *Digital Signature' &&
        grep -A1 'Extended Key Usage' <<<"$t" | has -x ' *TLS Web Client Authentication' &&
        grep -q 'Subject Key Identifier' <<<"$t" && grep -q 'Authority Key Identifier' <<<"$t" &&
        grep -A1 'Subject Alternative Name' <<<"$t" | has 'DNS:svc.e2e.example, IP Address:10.1.2.3' &&
        [ "$(openssl x509 -in out/cert.json.pem -noout -subject)" = "subject=CN = svc.e2e.example" ]
}
check "leaf profile: CA:FALSE critical, KU digitalSignature critical, EKU clientAuth, SKI, AKI, SANs, CN only" \
    leaf_profile
serial_and_dates() {
    local serial na now nb
    serial=$(openssl x509 -in out/cert.json.pem -noout -serial | cut -d= -f2 | tr A-F a-f)
    [ "$serial" = "$(json_field out/cert.json serial)" ] && [ ${#serial} -eq 32 ] || return 1
    na=$(date -d "$(openssl x509 -in out/cert.json.pem -noout -enddate | cut -d= -f2)" +%s)
    nb=$(date -d "$(openssl x509 -in out/cert.json.pem -noout -startdate | cut -d= -f2)" +%s)
    now=$(date +%s)
    ca_nb=$(date -d "$(openssl x509 -in out/intermediate.pem -noout -startdate | cut -d= -f2)" +%s)
    # notBefore = now - 5 min, but never before the issuer's own notBefore.
    want_nb=$((now - 300 > ca_nb ? now - 300 : ca_nb))
    [ "$(date -u -d @"$na" +%Y-%m-%dT%H:%M:%SZ)" = "$(json_field out/cert.json not_after)" ] &&
        [ $((na - now)) -le $((12 * 3600)) ] && [ $((na - now)) -ge $((12 * 3600 - 60)) ] &&
        [ "$nb" -ge $((want_nb - 60)) ] && [ "$nb" -le "$want_nb" ] && [ "$nb" -ge "$ca_nb" ]
}
check "serial (32 hex digits) and not_after match the certificate; 12 h; notBefore backdated within the issuer" \
    serial_and_dates
chain_order() {
    $py -c 'import json,sys; print(json.load(open(sys.argv[1]))["chain"], end="")' out/cert.json >out/chain.got &&
        cmp -s out/chain.got out/truststore.pem
}
check "chain is the intermediate then the root" chain_order

csr_body out/leaf.csr '{"ttl_hours": 25}' >out/ttl25.json
check "ttl_hours above 24 is 400 out_of_range" \
    test "$(post /v1/certificates out/ttl25.json out/ttl25.out "${sigv4[@]}")" = 400
check "the 400 says out_of_range" grep -q '"error":"out_of_range"' out/ttl25.out

# The repository's CSR corpus (tests/data/csr-interop, tests/data/gen-csr-interop.sh): each
# file gets the outcome its manifest lists -- a certificate that verifies, or a 400 with the
# listed error. DER files are sent wrapped in PEM (the API takes PEM).
corpus=$testdata/csr-interop
interop_entries() {
    $py -c 'import json,sys
for e in json.load(open(sys.argv[1]))["entries"]:
    print("\t".join([e["file"], e["format"], e["expect"], e.get("api_error") or "-"]))' \
        "$corpus/manifest.json"
}
der_to_pem() {
    $py -c 'import base64,sys,textwrap
b = base64.b64encode(open(sys.argv[1], "rb").read()).decode()
print("-----BEGIN CERTIFICATE REQUEST-----\n" + "\n".join(textwrap.wrap(b, 64)) + "\n-----END CERTIFICATE REQUEST-----")' "$1"
}
interop_all() {
    local f fmt expect err src n=0 bad=0 accepted=0 refused=0 code
    while IFS=$'\t' read -r f fmt expect err; do
        n=$((n + 1))
        src=$corpus/$f
        if [ "$fmt" = der ]; then
            der_to_pem "$src" >out/interop.pem
            src=out/interop.pem
        fi
        csr_body "$src" >out/interop.json
        code=$(post /v1/certificates out/interop.json out/interop.out "${sigv4[@]}")
        if [ "$expect" = accept ] && [ "$code" = 200 ] && leaf_verifies out/interop.out; then
            accepted=$((accepted + 1))
        elif [ "$expect" = refuse ] && [ "$code" = 400 ] &&
            grep -qF "\"error\":\"$err\"" out/interop.out; then
            refused=$((refused + 1))
        else
            echo "     interop CSR $f (expected: $expect $err) -> $code $(head -c 200 out/interop.out)"
            bad=$((bad + 1))
        fi
    done < <(interop_entries)
    echo "     $n corpus CSRs: $accepted accepted, $refused refused as listed, $bad otherwise"
    [ "$n" -ge 44 ] && [ "$bad" -eq 0 ] && [ "$accepted" -ge 30 ] && [ "$refused" -ge 10 ]
}
check "every CSR of the interop corpus (openssl, certtool, keytool, pyca) gets its listed outcome" \
    interop_all

# --- tokens -----------------------------------------------------------------------------------
echo '{"audience": "https://api.e2e.example", "ttl_seconds": 120}' >out/tok-req.json
status=$(post /v1/tokens out/tok-req.json out/tok.json "${sigv4[@]}")
check "POST /v1/tokens answers 200" test "$status" = 200
jwt_verifies() {
    $py - out/tok.json "$url" "$arn" <<'PY'
import json, sys, urllib.request
import jwt
resp = json.load(open(sys.argv[1]))
jwks = jwt.PyJWKSet.from_dict(json.load(urllib.request.urlopen(sys.argv[2] + "/.well-known/jwks.json")))
header = jwt.get_unverified_header(resp["token"])
assert header["alg"] == "ES256" and header["typ"] == "JWT", header
assert header["kid"] == resp["kid"], header
key = next(k for k in jwks.keys if k.key_id == header["kid"])
claims = jwt.decode(resp["token"], key.key, algorithms=["ES256"],
                    audience="https://api.e2e.example", issuer="https://hsmsign.e2e.example")
assert claims["sub"] == sys.argv[3], claims
assert claims["exp"] - claims["iat"] == 120 and claims["nbf"] == claims["iat"], claims
assert len(claims["jti"]) == 22, claims
assert resp["token_type"] == "Bearer" and resp["expires_in"] == 120, resp
try:
    jwt.decode(resp["token"], key.key, algorithms=["ES256"], audience="someone-else")
    raise SystemExit("a token for another audience verified")
except jwt.InvalidAudienceError:
    pass
PY
}
check "the JWT verifies with python3-jwt against the served JWKS; sub = principal ARN" jwt_verifies

botocore_request() {
    $py - "$url" "$akid" out/secret <<'PY'
import json, sys, urllib.request
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
url, akid, secret_file = sys.argv[1:4]
secret = open(secret_file).read().strip()
body = json.dumps({"audience": "botocore.e2e.example"})
req = AWSRequest(method="POST", url=url + "/v1/tokens", data=body,
                 headers={"Content-Type": "application/json"})
SigV4Auth(Credentials(akid, secret), "execute-api", "eu-central-1").add_auth(req)
r = urllib.request.Request(url + "/v1/tokens", data=body.encode(), method="POST",
                           headers=dict(req.headers.items()))
resp = json.load(urllib.request.urlopen(r))
assert resp["token_type"] == "Bearer", resp
PY
}
require_botocore() { $py -c 'import botocore' 2>/dev/null; }
if require_botocore; then
    check "a request signed by botocore's SigV4Auth (independent signer) is accepted" botocore_request
elif [ "${CI:-}" = true ]; then
    check "python3-botocore is installed" false
fi

# --- refusals ---------------------------------------------------------------------------------
expect_error() { # status code path body [curl args...]
    local want=$1 code=$2 path=$3 body=$4
    shift 4
    printf '%s' "$body" >out/bad.json
    local got
    got=$(post "$path" out/bad.json out/bad.out "$@")
    [ "$got" = "$want" ] && $py -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["error"]==sys.argv[2], d; assert d["message"]' out/bad.out "$code"
}
check "unsigned request -> 401 missing_authentication" \
    expect_error 401 missing_authentication /v1/tokens '{"audience":"x"}'
check "wrong secret -> 401 signature_mismatch" \
    expect_error 401 signature_mismatch /v1/tokens '{"audience":"x"}' \
    --aws-sigv4 "aws:amz:eu-central-1:execute-api" -K out/wrong.curl
check "unknown access key -> 401 unknown_access_key" \
    expect_error 401 unknown_access_key /v1/tokens '{"audience":"x"}' \
    --aws-sigv4 "aws:amz:eu-central-1:execute-api" -K out/unknown.curl
check "wrong region -> 401 credential_scope_mismatch" \
    expect_error 401 credential_scope_mismatch /v1/tokens '{"audience":"x"}' \
    --aws-sigv4 "aws:amz:us-west-2:execute-api" -K out/curl.cfg
check "malformed CSR -> 400 invalid_csr" \
    expect_error 400 invalid_csr /v1/certificates \
    '{"csr":"-----BEGIN CERTIFICATE REQUEST-----\nMIIBIjAN\n-----END CERTIFICATE REQUEST-----\n"}' "${sigv4[@]}"
check "body not JSON -> 400 invalid_json" \
    expect_error 400 invalid_json /v1/certificates 'csr=please' "${sigv4[@]}"
check "unknown field -> 400 invalid_field" \
    expect_error 400 invalid_field /v1/tokens '{"audience":"x","admin":true}' "${sigv4[@]}"
check "wrong type -> 400 invalid_field" \
    expect_error 400 invalid_field /v1/certificates '{"csr": 42}' "${sigv4[@]}"
check "ttl_seconds out of range -> 400 out_of_range" \
    expect_error 400 out_of_range /v1/tokens '{"audience":"x","ttl_seconds":0}' "${sigv4[@]}"
head -c 70000 /dev/zero | tr '\0' 'a' >out/big.json
big_refused() {
    [ "$(post /v1/certificates out/big.json out/big.out)" = 413 ] &&
        grep -q '"error":"too_large"' out/big.out
}
check "a 70 KB body -> 413 too_large" big_refused
check "unknown route -> 404" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$url/v2/nothing')\" = 404 ]"
check "GET on a POST route -> 405" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$url/v1/tokens')\" = 405 ]"
check "the service still answers after the bad requests" health

# --- secrets ----------------------------------------------------------------------------------
pin_file=$work/token/user.pin # the PIN reaches grep as a pattern file, never in its argv
# A PIN from an environment variable (pin_env, as the container entrypoint passes it) does not
# stay in hsmsignd's environment once read.
env_pin_taken() {
    sed -e 's|"pin_file": "[^"]*"|"pin_env": "HSMSIGN_E2E_PIN"|' -e 's|out/inventory.db|out/inventory-env.db|' \
        cfg/hsmsignd.json >cfg/env-pin.json
    local pid port
    HSMSIGN_E2E_PIN=$(cat "$work/token/user.pin") "$hsmsignd" --config cfg/env-pin.json \
        >out/env-pin.log 2>&1 &
    pid=$!
    for _ in $(seq 1 200); do
        grep -q '"event":"service.ready"' out/env-pin.log 2>/dev/null && break
        sleep 0.05
    done
    local ok=1
    grep -q '"event":"service.ready"' out/env-pin.log &&
        ! tr '\0' '\n' <"/proc/$pid/environ" | has -F -f "$pin_file" &&
        ! tr '\0' '\n' <"/proc/$pid/environ" | has '^HSMSIGN_E2E_PIN=.' && ok=0
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return "$ok"
}
check "a PIN from pin_env is gone from hsmsignd's environment once read" env_pin_taken
no_pin_anywhere() {
    ! grep -qF -f "$pin_file" out/hsmsignd.log &&
        ! tr '\0' '\n' <"/proc/$svc_pid/cmdline" | has -F -f "$pin_file" &&
        ! tr '\0' '\n' <"/proc/$svc_pid/environ" | has -F -f "$pin_file" &&
        ! grep -qF -f out/secret out/hsmsignd.log
}
check "the PIN is in no log line, argv or environment; the secret key is in no log line" \
    no_pin_anywhere
audit_logged() {
    grep '"event":"sign.cert.issued"' out/hsmsignd.log | has '"audit":true' &&
        grep '"event":"sign.jwt.issued"' out/hsmsignd.log | has "\"caller\":\"$arn\"" &&
        grep -q '"event":"hsm.login".*"audit":true' out/hsmsignd.log &&
        $py -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]' out/hsmsignd.log
}
check "audit events (login, issuance, tokens) are JSON lines with audit:true and the caller" \
    audit_logged
clean_stop() {
    kill -TERM "$svc_pid" && wait "$svc_pid"
    local rc=$?
    svc_pid=
    [ "$rc" -eq 0 ] && grep -q '"event":"service.stopped"' out/hsmsignd.log
}
check "SIGTERM stops hsmsignd cleanly (exit 0; sanitizer builds check leaks here)" clean_stop
finish
