#!/usr/bin/env bash
# The signing API as a platform team deploys it, against a real hsmsignd on a fresh SoftHSM2
# token: deny-by-default policy (403 with a reason), client and server profiles, the inventory
# (every 2xx has a committed record), certificate status and revocation by owner or admin, the
# CRL signed by the issuing CA (checked with openssl crl / verify -crl_check), RS256 and ES256
# tokens chosen by "alg", OpenID Connect discovery, mTLS callers through a trusted proxy header
# (tokens bound with cnf x5t#S256), and /metrics parsed by prometheus_client.
# HSMSIGN_TEST_INVENTORY picks the inventory: "sqlite" (default, a file) or "dynamodb" (a
# dynalite started here, tests/dynamo/dynalite.sh; hsmsignd signs with keys from the
# environment as on Lambda).
. "$(dirname "$0")/lib.sh"
inventory=${HSMSIGN_TEST_INVENTORY:-sqlite}
case $inventory in
sqlite) require openssl curl sqlite3 ;;
dynamodb)
    require openssl curl
    . "$repo/tests/dynamo/dynalite.sh"
    dynalite_require
    ;;
*) echo "HSMSIGN_TEST_INVENTORY must be sqlite or dynamodb" >&2; exit 2 ;;
esac
hsmsignd=${HSMSIGND:?} kc=${KEYCEREMONY:?}
work=$(mktemp -d)
trap 'stop_hsmsignd; [ "$inventory" = sqlite ] || dynalite_stop; rm -rf "$work"' EXIT
if [ "$inventory" = dynamodb ]; then
    ddb_table=hsmsign-api-test ddb_region=eu-west-1 ddb_akid=AKIAAPITESTDYNAMO001
    ddb_secret=$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')
    dynalite_start "$ddb_table" "$ddb_region" "$ddb_akid" "$ddb_secret" || exit 1
    export AWS_ACCESS_KEY_ID=$ddb_akid AWS_SECRET_ACCESS_KEY=$ddb_secret
    unset AWS_SESSION_TOKEN
    inventory_member="\"dynamodb\": {\"table\": \"$ddb_table\", \"region\": \"$ddb_region\",
                  \"endpoint\": \"$ddb_endpoint\", \"timeout_ms\": 2000}"
else
    inventory_member='"sqlite": "out/inventory.db"'
fi
cd "$work"
mkdir -p out cfg
label=api-test
new_token "$work/token" "$label"
module=/usr/lib/softhsm/libsofthsm2.so
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$work/token/user.pin\"}"

# --- ceremony: an EC issuing CA, ES256 and RS256 JWT keys in one JWK Set ----------------------
cat >cfg/root.json <<EOF
{ $token, "key": {"label": "api-root"},
  "certificate": {"subject": {"CN": "API Root"}, "validity_days": 30, "output": "out/root.pem"} }
EOF
cat >cfg/int.json <<EOF
{ $token, "issuer": {"key": "api-root", "certificate": "out/root.pem"},
  "key": {"label": "api-issuing"},
  "certificate": {"subject": {"CN": "API Issuing"}, "validity_days": 10, "output": "out/int.pem"} }
EOF
cat >cfg/jwt-es.json <<EOF
{ $token, "key": {"label": "api-jwt-es"}, "alg": "ES256", "jwks": "out/jwks.json" }
EOF
cat >cfg/jwt-rs.json <<EOF
{ $token, "key": {"label": "api-jwt-rs", "type": "RSA-2048"}, "alg": "RS256",
  "jwks": "out/jwks.json" }
EOF
for step in root:root intermediate:int jwt-key:jwt-es jwt-key:jwt-rs; do
    "$kc" "${step%%:*}" --config "cfg/${step#*:}.json" 2>>out/ceremony.log ||
        { echo "ceremony step $step failed"; tail -3 out/ceremony.log; exit 1; }
done
cat out/int.pem out/root.pem >out/chain.pem

# --- service: three IAM callers, an admin, and a trusted proxy for client certificates --------
acct=arn:aws:iam::123456789012
device=$acct:role/device-provisioner
web=$acct:role/web-frontend
admin=$acct:role/pki-admin
stranger=$acct:role/stranger
umask 077
for who in device web admin stranger; do
    head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 >"out/$who.secret"
done
umask 022
akid() { printf 'AKIAAPITEST%09d' "$1"; }
# out/WHO.curl: each caller's curl config (0600) with its key id and secret, for curl -K.
for who in device:1 web:2 admin:3 stranger:4; do
    sigv4_curl_cfg "out/${who%:*}.curl" "$(akid "${who#*:}")" "out/${who%:*}.secret"
done
issuer=https://hsmsign.api.example
write_config() { # $1 = the trusted proxy address, $2 = more top-level members
    cat >cfg/hsmsignd.json <<EOF
{ "listen": "127.0.0.1:0",
  "token": {"module": "$module", "label": "$label", "pin_file": "$work/token/user.pin",
            "pool_size": 4},
  "ca": {"key": "api-issuing", "chain_file": "out/chain.pem", "default_ttl_hours": 12,
         "crl_url": "http://pki.api.example/v1/crl", "crl_validity_hours": 24},
  "inventory": {$inventory_member},
  "jwt": {"issuer": "$issuer", "jwks_file": "out/jwks.json", "default_alg": "ES256"},
  "auth": {"sigv4": {"region": "eu-west-1", "access_keys": [
             {"access_key_id": "$(akid 1)", "secret_file": "out/device.secret",
              "principal_arn": "$device"},
             {"access_key_id": "$(akid 2)", "secret_file": "out/web.secret",
              "principal_arn": "$web"},
             {"access_key_id": "$(akid 3)", "secret_file": "out/admin.secret",
              "principal_arn": "$admin"},
             {"access_key_id": "$(akid 4)", "secret_file": "out/stranger.secret",
              "principal_arn": "$stranger"}]},
           "mtls": {"proxy_header": "X-Client-Cert", "trusted_proxies": ["$1"]}},
  "policy": {"admins": ["$acct:role/pki-*"], "rules": [
    {"principals": ["$acct:role/device-*"], "profiles": ["client"],
     "cn_patterns": ["device-*"], "dns_patterns": ["*.devices.example.com"],
     "max_cert_ttl_hours": 6, "audiences": ["snowflake"], "max_token_ttl_seconds": 600},
    {"principals": ["$acct:role/web-*"], "profiles": ["server"], "cn_patterns": ["*"],
     "dns_patterns": ["**.example.com"]},
    {"principals": ["x509:CN=device-*"], "audiences": ["snowflake", "https://api.example.com"]}
  ]}${2:-} }
EOF
}
write_config 127.0.0.1
start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log || exit 1

# call WHO METHOD PATH [BODY]: the HTTP status; the body goes to out/resp. WHO signs with
# out/WHO.curl (device, web, admin, stranger); any other name goes unsigned.
call() { sigv4_call_as "$1" "$2" "$svc_url$3" "${4:-}"; }
field() { $py -c 'import json,sys; v=json.load(open("out/resp")); print(v[sys.argv[1]])' "$1"; }
# expect WANT_STATUS WANT_ERROR [WANT_REASON]: checks out/resp after a call.
expect() {
    local status=$1
    shift
    [ "$status" = "$1" ] || { echo "     status $status, body $(head -c 300 out/resp)"; return 1; }
    $py - "$@" <<'PY'
import json, sys
d = json.load(open("out/resp"))
assert d["error"] == sys.argv[2], d
assert len(sys.argv) < 4 or d.get("reason") == sys.argv[3], d
assert d["message"] and len(d["request_id"]) == 16, d
PY
}
csr() { # NAME SUBJ [SAN] [KEYALG]: out/NAME.csr and out/NAME.key
    local -a ext=()
    [ -n "${3:-}" ] && ext=(-addext "subjectAltName=$3")
    if [ "${4:-ec}" = rsa ]; then
        openssl req -new -newkey rsa:2048 -nodes -keyout "out/$1.key" -subj "$2" "${ext[@]}" \
            -out "out/$1.csr" 2>/dev/null
    else
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "out/$1.key" \
            -subj "$2" "${ext[@]}" -out "out/$1.csr" 2>/dev/null
    fi
}
cert_body() { # CSR-FILE EXTRA-JSON
    $py -c 'import json,sys; d={"csr": open(sys.argv[1]).read()}; d.update(json.loads(sys.argv[2])); print(json.dumps(d))' \
        "$1" "${2:-{\}}"
}
# rows: the certificates in the inventory (a Scan count for DynamoDB).
rows() {
    if [ "$inventory" = dynamodb ]; then
        dynalite_count "$ddb_table" "$ddb_region" "$ddb_akid" "$ddb_secret"
    else
        sqlite3 out/inventory.db 'SELECT count(*) FROM certificates'
    fi
}
# inventory_row SERIAL: requester|profile|status|SPKI SHA-256|certificate SHA-256|subject, the
# hashes in upper-case hex; for DynamoDB also checks the item's TTL attribute (notAfter + 90 d).
inventory_row() {
    if [ "$inventory" = sqlite ]; then
        sqlite3 -separator '|' out/inventory.db \
            "SELECT requester, profile, status, hex(spki_sha256), hex(cert_sha256), subject
             FROM certificates WHERE serial = '$1'"
        return
    fi
    dynalite_call GetItem "{\"TableName\": \"$ddb_table\", \"ConsistentRead\": true,
        \"Key\": {\"serial\": {\"S\": \"$1\"}}}" | $py -c '
import base64, json, sys
i = json.load(sys.stdin)["Item"]
h = lambda k: base64.b64decode(i[k]["B"]).hex().upper()
assert int(i["expires_at"]["N"]) == int(i["not_after"]["N"]) + 90 * 86400, i
assert "revoked_part" not in i, i
print("|".join([i["requester"]["S"], i["profile"]["S"], i["status"]["N"], h("spki_sha256"),
                h("cert_sha256"), i["subject"]["S"]]))'
}
save_cert() { # NAME: out/NAME.pem from out/resp
    $py -c 'import json,sys; open(sys.argv[1], "w").write(json.load(open("out/resp"))["certificate"])' \
        "out/$1.pem"
}

# --- policy: deny by default, with the reason ------------------------------------------------
csr dev1 /CN=device-1 DNS:d1.devices.example.com
csr printer /CN=printer-1
csr www /CN=www.example.com DNS:www.example.com,DNS:api.shop.example.com rsa
csr nodns /CN=no-dns-name
before=$(rows)
check "a principal no rule names -> 403 no_matching_rule" \
    expect "$(call stranger POST /v1/certificates "$(cert_body out/dev1.csr)")" 403 forbidden \
    no_matching_rule
check "device role asking for the server profile -> 403 profile_not_allowed" \
    expect "$(call device POST /v1/certificates "$(cert_body out/dev1.csr '{"profile": "server"}')")" \
    403 forbidden profile_not_allowed
check "device role asking for CN printer-1 -> 403 name_not_allowed" \
    expect "$(call device POST /v1/certificates "$(cert_body out/printer.csr)")" 403 forbidden \
    name_not_allowed
check "device role asking for 7 h (rule allows 6) -> 403 ttl_exceeds_policy" \
    expect "$(call device POST /v1/certificates "$(cert_body out/dev1.csr '{"ttl_hours": 7}')")" \
    403 forbidden ttl_exceeds_policy
check "server profile without a DNS SAN -> 400 invalid_csr, with a detail" \
    expect "$(call web POST /v1/certificates "$(cert_body out/nodns.csr '{"profile": "server"}')")" \
    400 invalid_csr
check "the refused requests left the inventory as it was" test "$(rows)" = "$before"

# --- profiles and the inventory ----------------------------------------------------------------
check "device role: client certificate for device-1 -> 200" \
    test "$(call device POST /v1/certificates "$(cert_body out/dev1.csr)")" = 200
save_cert dev1
dev1_serial=$(field serial)
client_profile() {
    local t
    t=$(openssl x509 -in out/dev1.pem -noout -text) &&
        openssl verify -x509_strict -CAfile out/root.pem -untrusted out/int.pem out/dev1.pem &&
        grep -A1 'Extended Key Usage' <<<"$t" | grep -q 'TLS Web Client Authentication$' &&
        grep -A1 'Key Usage: critical' <<<"$t" | grep -q 'Digital Signature$' &&
        grep -A3 'CRL Distribution Points' <<<"$t" | grep -q 'URI:http://pki.api.example/v1/crl' &&
        lifetime_capped
}
# notBefore is backdated 5 min (but not before the CA's own notBefore), notAfter = now + 6 h.
lifetime_capped() {
    local nb na issued
    nb=$(date -d "$(openssl x509 -in out/dev1.pem -noout -startdate | cut -d= -f2)" +%s)
    na=$(date -d "$(openssl x509 -in out/dev1.pem -noout -enddate | cut -d= -f2)" +%s)
    issued=$(stat -c %Y out/dev1.pem)
    [ $((na - nb)) -le $((6 * 3600 + 300)) ] && [ $((na - issued)) -le $((6 * 3600)) ] &&
        [ $((na - issued)) -ge $((6 * 3600 - 60)) ]
}
check "client profile: verifies, EKU clientAuth, CRL DP, lifetime capped at the rule's 6 h" \
    client_profile
recorded() {
    local spki row
    spki=$(openssl req -in out/dev1.csr -noout -pubkey | openssl pkey -pubin -outform DER |
        sha256sum | cut -d' ' -f1)
    row=$(inventory_row "$dev1_serial")
    [ "$row" = "$device|client|0|${spki^^}|$(openssl x509 -in out/dev1.pem -outform DER |
        sha256sum | cut -d' ' -f1 | tr a-f A-F)|CN=device-1" ]
}
check "the inventory row (requester, profile, status, SPKI and certificate SHA-256) is committed" \
    recorded
check "web role: server certificate with an RSA key -> 200" \
    test "$(call web POST /v1/certificates "$(cert_body out/www.csr '{"profile": "server"}')")" = 200
save_cert www
www_serial=$(field serial)
server_profile() {
    local t
    t=$(openssl x509 -in out/www.pem -noout -text)
    grep -A1 'Extended Key Usage' <<<"$t" | grep -q 'TLS Web Server Authentication$' &&
        grep -A1 'Key Usage: critical' <<<"$t" | grep -q 'Digital Signature, Key Encipherment' &&
        grep -q 'DNS:www.example.com, DNS:api.shop.example.com' <<<"$t" &&
        openssl verify -x509_strict -purpose sslserver -CAfile out/root.pem -untrusted out/int.pem \
            out/www.pem
}
check "server profile: EKU serverAuth, keyEncipherment for RSA, SANs kept, purpose sslserver" \
    server_profile

# --- certificate status -----------------------------------------------------------------------
status_doc() { # EXPECTED-STATUS
    $py - "$1" "$dev1_serial" "$device" <<'PY'
import json, sys
d = json.load(open("out/resp"))
assert d["serial"] == sys.argv[2] and d["status"] == sys.argv[1], d
assert d["subject"] == "CN=device-1" and d["requested_by"] == sys.argv[3], d
assert d["sans"] == ["DNS:d1.devices.example.com"] and d["profile"] == "client", d
assert d["not_after"].endswith("Z"), d
PY
}
check "GET /v1/certificates/{serial} by its requester -> 200" \
    test "$(call device GET "/v1/certificates/$dev1_serial")" = 200
check "the status document names serial, subject, SANs, profile, requester" status_doc good
check "a query string on the item route is not part of the serial -> 200, the same document" \
    eval 'test "$(call device GET "/v1/certificates/$dev1_serial?view=full&x=1")" = 200 &&
          status_doc good'
# Not 403: a caller who is not an admin must not learn that another principal's serial exists
# (the same answer as an unknown serial: the block "serials of others" below compares them).
check "by another principal -> 404 not_found (as if there were no such serial)" \
    expect "$(call web GET "/v1/certificates/$dev1_serial")" 404 not_found
check "by an admin, serial in upper case with a leading 00 -> 200" \
    test "$(call admin GET "/v1/certificates/00${dev1_serial^^}")" = 200
check "an unknown serial -> 404 not_found" \
    expect "$(call admin GET /v1/certificates/0123456789abcdef)" 404 not_found
check "a malformed serial -> 400 invalid_field" \
    expect "$(call admin GET /v1/certificates/xyz)" 400 invalid_field

# --- tokens: alg choice, policy, OIDC discovery -------------------------------------------------
jwt_check() { # ALG AUD SUB [X5T]: verifies out/resp's token with python3-jwt against the JWKS
    $py - "$svc_url" "$issuer" "$@" <<'PY'
import json, sys, urllib.request
import jwt
url, iss, alg, aud, sub = sys.argv[1:6]
resp = json.load(open("out/resp"))
jwks = jwt.PyJWKSet.from_dict(json.load(urllib.request.urlopen(url + "/.well-known/jwks.json")))
header = jwt.get_unverified_header(resp["token"])
assert header["alg"] == alg == resp["alg"] and header["kid"] == resp["kid"], header
key = next(k for k in jwks.keys if k.key_id == header["kid"])
claims = jwt.decode(resp["token"], key.key, algorithms=[alg], audience=aud, issuer=iss)
assert claims["sub"] == sub, claims
if len(sys.argv) > 6:
    assert claims["cnf"] == {"x5t#S256": sys.argv[6]}, claims
else:
    assert "cnf" not in claims, claims
PY
}
check "a token without alg is ES256 (jwt.default_alg)" \
    test "$(call device POST /v1/tokens '{"audience": "snowflake"}')" = 200
check "python3-jwt verifies it against the JWKS (ES256, sub = principal ARN)" \
    jwt_check ES256 snowflake "$device"
check "alg RS256 -> an RS256 token" \
    test "$(call device POST /v1/tokens '{"audience": "snowflake", "alg": "RS256"}')" = 200
check "python3-jwt verifies the RS256 token" jwt_check RS256 snowflake "$device"
check "alg PS256 (no such key) -> 400 unsupported_alg" \
    expect "$(call device POST /v1/tokens '{"audience": "snowflake", "alg": "PS256"}')" 400 \
    unsupported_alg
# Duplicate members: json-c would keep the last, so the policy could judge one audience and the
# token carry another; refused as invalid JSON, and nothing is issued.
check "a repeated member (audience twice) -> 400 invalid_json" \
    expect "$(call device POST /v1/tokens '{"audience": "snowflake", "audience": "https://evil.example"}')" \
    400 invalid_json
check "an audience outside the rule -> 403 audience_not_allowed" \
    expect "$(call device POST /v1/tokens '{"audience": "https://evil.example"}')" 403 forbidden \
    audience_not_allowed
check "601 s (rule allows 600) -> 403 token_ttl_exceeds_policy" \
    expect "$(call device POST /v1/tokens '{"audience": "snowflake", "ttl_seconds": 601}')" 403 \
    forbidden token_ttl_exceeds_policy
check "a rule without audiences gives no token -> 403" \
    expect "$(call web POST /v1/tokens '{"audience": "snowflake"}')" 403 forbidden \
    audience_not_allowed
discovery() {
    curl -sS -D out/oidc.h -o out/oidc.json "$svc_url/.well-known/openid-configuration" &&
        grep -qi '^cache-control: public, max-age=300' out/oidc.h &&
        $py - "$issuer" <<'PY'
import json, sys
d = json.load(open("out/oidc.json"))
assert d["issuer"] == sys.argv[1], d
assert d["jwks_uri"] == sys.argv[1] + "/.well-known/jwks.json", d
assert sorted(d["id_token_signing_alg_values_supported"]) == ["ES256", "RS256"], d
assert "public" in d["subject_types_supported"] and d["response_types_supported"], d
PY
}
check "GET /.well-known/openid-configuration: issuer, jwks_uri, both algs, cacheable" discovery

# --- mTLS callers through the trusted proxy's header --------------------------------------------
urlenc() { $py -c 'import sys, urllib.parse; print(urllib.parse.quote(open(sys.argv[1]).read(), safe=""))' "$1"; }
mtls_token() { # CERT-PEM [AUD]: POST /v1/tokens with the certificate in X-Client-Cert
    printf '{"audience": "%s"}' "${2:-snowflake}" >out/req
    curl -sS -o out/resp -w '%{http_code}' -H "X-Client-Cert: $(urlenc "$1")" \
        -H 'Content-Type: application/json' --data-binary @out/req "$svc_url/v1/tokens"
}
x5t() { openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '='; }
check "device-1's client certificate in X-Client-Cert -> a token" test "$(mtls_token out/dev1.pem)" = 200
check "sub = x509:CN=device-1, bound to the certificate (cnf x5t#S256), verified by python3-jwt" \
    jwt_check ES256 snowflake "x509:CN=device-1" "$(x5t out/dev1.pem)"
check "an audience the x509 rule lacks -> 403" \
    expect "$(mtls_token out/dev1.pem https://evil.example)" 403 forbidden audience_not_allowed
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout out/self.key \
    -subj /CN=device-1 -days 1 -addext extendedKeyUsage=clientAuth -out out/self.pem 2>/dev/null
check "a self-made certificate with the same name -> 401 client_certificate_rejected" \
    expect "$(mtls_token out/self.pem)" 401 client_certificate_rejected
check "our server certificate (no clientAuth) -> 401 client_certificate_rejected" \
    expect "$(mtls_token out/www.pem)" 401 client_certificate_rejected
garbled() {
    printf '{"audience": "snowflake"}' >out/req
    expect "$(curl -sS -o out/resp -w '%{http_code}' -H 'X-Client-Cert: %zz' \
        --data-binary @out/req "$svc_url/v1/tokens")" 401 client_certificate_rejected
}
check "a malformed header -> 401 client_certificate_rejected" garbled
# A proxy that appends its X-Client-Cert after the client's would let the first copy (the
# client's choice: any device's public certificate) win: two copies are refused.
twice() {
    printf '{"audience": "snowflake"}' >out/req
    expect "$(curl -sS -o out/resp -w '%{http_code}' -H "X-Client-Cert: $(urlenc out/dev1.pem)" \
        -H "X-Client-Cert: $(urlenc out/dev1.pem)" -H 'Content-Type: application/json' \
        --data-binary @out/req "$svc_url/v1/tokens")" 401 client_certificate_rejected
}
check "X-Client-Cert twice (a proxy that appends) -> 401 client_certificate_rejected" twice

# --- revocation and the CRL -------------------------------------------------------------------
check "another principal cannot revoke -> 404 not_found (as if there were no such serial)" \
    expect "$(call web POST "/v1/certificates/$dev1_serial/revoke" '{"reason": "keyCompromise"}')" \
    404 not_found
check "certificateHold is not offered -> 400 invalid_field" \
    expect "$(call device POST "/v1/certificates/$dev1_serial/revoke" '{"reason": "certificateHold"}')" \
    400 invalid_field
check "the requester revokes device-1 (keyCompromise) -> 200" \
    test "$(call device POST "/v1/certificates/$dev1_serial/revoke" '{"reason": "keyCompromise"}')" = 200
revoked_doc() {
    status_doc revoked && [ "$(field reason)" = keyCompromise ] && field revoked_at >out/revoked_at
}
check "the answer says revoked, keyCompromise, with revoked_at" revoked_doc
again_same() {
    [ "$(call admin POST "/v1/certificates/$dev1_serial/revoke" '{"reason": "superseded"}')" = 200 ] &&
        [ "$(field reason)" = keyCompromise ] && [ "$(field revoked_at)" = "$(cat out/revoked_at)" ]
}
check "revoking again changes nothing (reason and time kept)" again_same
check "the revoked certificate no longer gets a token -> 401 client_certificate_rejected" \
    expect "$(mtls_token out/dev1.pem)" 401 client_certificate_rejected
get_crl() { # OUT: GET /v1/crl without credentials
    curl -sS -D "$1.h" -o "$1" "$svc_url/v1/crl" &&
        grep -qi '^content-type: application/pkix-crl' "$1.h"
}
crl_number() { openssl crl -inform DER -in "$1" -noout -crlnumber | sed 's/.*=0x//; s/.*=//'; }
crl_ok() {
    local t
    get_crl out/crl1.der &&
        openssl crl -inform DER -in out/crl1.der -CAfile out/chain.pem -noout -verify 2>&1 |
        grep -q 'verify OK' &&
        t=$(openssl crl -inform DER -in out/crl1.der -noout -text) &&
        grep -A4 "Serial Number: ${dev1_serial^^}" <<<"$t" | grep -q 'Key Compromise' &&
        ! grep -q "Serial Number: ${www_serial^^}" <<<"$t" &&
        grep -q 'Issuer: CN = API Issuing' <<<"$t" && grep -q 'Next Update' <<<"$t"
}
check "GET /v1/crl (public): DER, signed by the issuing CA, lists device-1 as keyCompromise" crl_ok
crl_check() {
    openssl crl -inform DER -in out/crl1.der -out out/crl1.pem &&
        ! openssl verify -crl_check -CRLfile out/crl1.pem -CAfile out/root.pem \
            -untrusted out/int.pem out/dev1.pem >out/v.out 2>&1 &&
        grep -q 'certificate revoked' out/v.out &&
        openssl verify -crl_check -CRLfile out/crl1.pem -CAfile out/root.pem \
            -untrusted out/int.pem out/www.pem
}
check "openssl verify -crl_check: device-1 revoked, www still good" crl_check
n1=$(crl_number out/crl1.der)
same_crl() { get_crl out/crl1b.der && cmp -s out/crl1.der out/crl1b.der; }
check "an unchanged CRL is served again as it is" same_crl
check "the admin revokes www (superseded)" \
    test "$(call admin POST "/v1/certificates/$www_serial/revoke" '{"reason": "superseded"}')" = 200
regenerated() {
    get_crl out/crl2.der && [ $((16#$(crl_number out/crl2.der))) -gt $((16#$n1)) ] &&
        openssl crl -inform DER -in out/crl2.der -noout -text | grep -q "Serial Number: ${www_serial^^}"
}
check "the CRL is regenerated on change: a higher CRL number, both serials" regenerated

# --- metrics and request logs -----------------------------------------------------------------
metrics_ok() {
    curl -sS "$svc_url/metrics" >out/metrics.txt && $py - <<'PY'
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open("out/metrics.txt").read())}
req = {(s.labels["route"], s.labels["status"]): s.value for s in fams["hsmsign_requests"].samples}
assert req[("POST /v1/certificates", "200")] == 2, req
assert req[("POST /v1/certificates", "403")] == 4, req
assert req[("GET /v1/crl", "200")] >= 3, req
sign = {s.name: s for s in fams["hsmsign_c_sign_duration_seconds"].samples}
assert sign["hsmsign_c_sign_duration_seconds_count"].value >= 6, sign
inf = [s for s in fams["hsmsign_c_sign_duration_seconds"].samples if s.labels.get("le") == "+Inf"]
assert inf[0].value == sign["hsmsign_c_sign_duration_seconds_count"].value
# The inventory's writes: the two certificates' records and the revocations so far, each a
# durable SQLite commit (an fsync: more than 0 s), the buckets cumulative up to the count.
inv = fams["hsmsign_inventory_write_duration_seconds"].samples
tot = {s.name: s.value for s in inv if not s.name.endswith("_bucket")}
assert tot["hsmsign_inventory_write_duration_seconds_count"] >= 3, tot
assert tot["hsmsign_inventory_write_duration_seconds_sum"] > 0, tot
buckets = [s.value for s in inv if s.name.endswith("_bucket")]
assert buckets == sorted(buckets) and buckets[-1] == tot["hsmsign_inventory_write_duration_seconds_count"], inv
pool = {s.labels["state"]: s.value for s in fams["hsmsign_pool_sessions"].samples}
assert pool["configured"] == 4 and 0 <= pool["in_use"] <= 4, pool
PY
}
if $py -c 'import prometheus_client' 2>/dev/null; then
    check "GET /metrics parses (prometheus_client): requests by route and status, C_Sign and inventory write histograms, pool" \
        metrics_ok
elif [ "${CI:-}" = true ]; then
    check "python3-prometheus-client is installed" false
fi
request_lines() {
    $py - "$dev1_serial" "$device" <<'PY'
import json, sys
lines = [json.loads(l) for l in open("out/hsmsignd.log") if l.startswith("{")]
reqs = [l for l in lines if l["event"] == "http.request"]
issued = [l for l in reqs if l["route"] == "POST /v1/certificates" and l["status"] == 200]
assert any(l.get("serial") == sys.argv[1] and l["principal"] == sys.argv[2] for l in issued), issued
toks = [l for l in reqs if l["route"] == "POST /v1/tokens" and l["status"] == 200]
assert all(len(l["kid"]) == 43 and l["latency_us"] > 0 for l in toks), toks
assert any(l["principal"] == "x509:CN=device-1" and l["auth"] == "mtls" for l in toks), toks
assert all("token" not in l for l in reqs)
PY
}
check "one JSON line per request: principal, auth, route, status, serial or kid, latency_us" \
    request_lines

# --- restart: the CRL number never repeats; an untrusted proxy is not believed ----------------
stop_hsmsignd
write_config 10.9.9.9
start_hsmsignd cfg/hsmsignd.json out/hsmsignd2.log || exit 1
after_restart() {
    get_crl out/crl3.der && [ $((16#$(crl_number out/crl3.der))) -gt $((16#$(crl_number out/crl2.der))) ]
}
check "after a restart the CRL number keeps growing (durable)" after_restart
csr dev2 /CN=device-2 DNS:d2.devices.example.com
check "a second device certificate" \
    test "$(call device POST /v1/certificates "$(cert_body out/dev2.csr)")" = 200
save_cert dev2
check "X-Client-Cert from a peer that is not a trusted proxy is ignored -> 401" \
    expect "$(mtls_token out/dev2.pem)" 401 missing_authentication
# --- no 2xx without a committed record: the inventory's file cannot grow, or DynamoDB keeps
# answering 500 (3 attempts): 503 inventory_unavailable with Retry-After, the certificate the
# token signed is discarded and audited so (sign.cert.discarded, never sign.cert.issued) -------
csr dev3 /CN=device-3 DNS:d3.devices.example.com
# call_h WHO METHOD PATH [BODY]: as call, with the response headers in out/resp.h.
call_h() {
    local who=$1 method=$2 path=$3 body=${4:-} cfg=out/stranger.curl
    case $who in device | web | admin) cfg=out/$who.curl ;; esac
    printf '%s' "$body" >out/req
    sigv4_call aws:amz:eu-west-1:execute-api "$cfg" "$method" "$svc_url$path" out/req \
        -D out/resp.h
}
# unavailable_answer [LOG]: out/resp is 503 inventory_unavailable with Retry-After (seconds)
# and no certificate, and LOG (when given) audits the one discarded serial without ever calling
# it issued.
unavailable_answer() {
    grep -qi '^retry-after: [1-9][0-9]*'$'\r''$' out/resp.h &&
        grep -qi '^content-type: application/json' out/resp.h &&
        ! grep -q 'BEGIN CERTIFICATE' out/resp && $py - "$@" <<'PY'
import json, sys
d = json.load(open("out/resp"))
assert d["error"] == "inventory_unavailable" and d["message"] and len(d["request_id"]) == 16, d
assert set(d) == {"error", "message", "request_id"}, d
if len(sys.argv) < 2:
    sys.exit(0)
L = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
mine = [l for l in L if l.get("req_id") == d["request_id"]]
assert not [l for l in mine if l["event"] == "sign.cert.issued"], mine
gone = [l for l in mine if l["event"] == "sign.cert.discarded"]
assert len(gone) == 1 and gone[0]["audit"] is True, mine
assert gone[0]["reason"] == "inventory_unavailable" and gone[0]["serial"], gone
serial = gone[0]["serial"]
assert not [l for l in L if l["event"] == "sign.cert.issued" and l.get("serial") == serial], serial
PY
}
store_full() {
    local before code
    before=$(rows)
    if [ "$inventory" = dynamodb ]; then
        dynalite_fault '{"faults": [{"status": 500, "type": "InternalServerError"},
            {"status": 500, "type": "InternalServerError"},
            {"status": 503, "type": "ServiceUnavailable"}]}' || return 1
        code=$(call_h device POST /v1/certificates "$(cert_body out/dev3.csr)")
    else
        prlimit --pid "$svc_pid" --fsize=1:unlimited || return 1
        code=$(call_h device POST /v1/certificates "$(cert_body out/dev3.csr)")
        prlimit --pid "$svc_pid" --fsize=unlimited:unlimited
    fi
    [ "$code" = 503 ] || { echo "     status $code, body $(head -c 300 out/resp)"; return 1; }
    # The log file could not grow either: its lines of that moment are checked for DynamoDB
    # here, and for SQLite in the locked-inventory case below.
    if [ "$inventory" = dynamodb ]; then
        [ "$(rows)" = "$before" ] && unavailable_answer out/hsmsignd2.log
    else
        [ "$(rows)" = "$before" ] && unavailable_answer
    fi
}
check "when the inventory cannot commit: 503 inventory_unavailable, Retry-After, no certificate, audited as discarded" \
    store_full
check "once the store can write again, issuance works again" \
    test "$(call device POST /v1/certificates "$(cert_body out/dev3.csr)")" = 200

# --- connection limits ------------------------------------------------------------------------
stop_hsmsignd
write_config 10.9.9.9 ', "limits": {"max_connections": 2, "connection_timeout_seconds": 1}'
start_hsmsignd cfg/hsmsignd.json out/hsmsignd3.log || exit 1
port=${svc_url##*:}
idle_closed() {
    $py - "$port" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
start = time.time()
assert s.recv(1) == b"", "the server answered a request that never came"
assert 0.5 < time.time() - start < 4, time.time() - start
PY
}
check "an idle connection is closed after connection_timeout_seconds (1 s)" idle_closed
limited() {
    $py - "$port" <<'PY'
import json, socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
time.sleep(0.2)
third = socket.create_connection(("127.0.0.1", port))
third.settimeout(3)
got = b""
try:
    while True:
        part = third.recv(4096)
        if not part:
            break
        got += part
except ConnectionResetError:
    pass
# refused: the limit of 2 is taken; the answer (if the socket kept it) is 503 in our JSON shape
head, _, body = got.partition(b"\r\n\r\n")
assert got == b"" or (head.startswith(b"HTTP/1.1 503 ") and
                      json.loads(body)["error"] == "too_many_connections"), got
for s in held:
    s.close()
PY
}
check "a connection over max_connections (2) is refused while two are open" limited
check "after they close, requests are answered again" \
    sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$svc_url/healthz')\" = 200 ]"

# --- certificate profiles from the config ----------------------------------------------------
stop_hsmsignd
write_config 127.0.0.1 ', "profiles": {
    "client": {"extended_key_usage": ["clientAuth", "serverAuth"],
               "key_usage": ["digitalSignature", "keyEncipherment"], "max_ttl_hours": 2},
    "server": {"extended_key_usage": ["serverAuth"], "require_dns_san": true}}'
start_hsmsignd cfg/hsmsignd.json out/hsmsignd4.log || exit 1
csr dev4 /CN=device-4 DNS:d4.devices.example.com rsa
check "a configured profile: ttl_hours over its max_ttl_hours (2) -> 400 out_of_range" \
    expect "$(call device POST /v1/certificates "$(cert_body out/dev4.csr '{"ttl_hours": 3}')")" \
    400 out_of_range
check "a profile the config does not name -> 400 invalid_field" \
    expect "$(call device POST /v1/certificates "$(cert_body out/dev4.csr '{"profile": "mesh"}')")" \
    400 invalid_field
check "the configured client profile -> 200" \
    test "$(call device POST /v1/certificates "$(cert_body out/dev4.csr)")" = 200
save_cert dev4
configured_profile() {
    local t na issued
    t=$(openssl x509 -in out/dev4.pem -noout -text)
    na=$(date -d "$(openssl x509 -in out/dev4.pem -noout -enddate | cut -d= -f2)" +%s)
    issued=$(stat -c %Y out/dev4.pem)
    grep -A1 'Extended Key Usage' <<<"$t" |
        grep -q 'TLS Web Server Authentication, TLS Web Client Authentication$' &&
        grep -A1 'Key Usage: critical' <<<"$t" | grep -q 'Digital Signature, Key Encipherment$' &&
        [ "$(field profile)" = client ] &&
        [ $((na - issued)) -le $((2 * 3600)) ] && [ $((na - issued)) -ge $((2 * 3600 - 60)) ]
}
check "its EKUs and key usages are the config's, its lifetime the profile's 2 h default" \
    configured_profile
stop_hsmsignd
write_config 127.0.0.1 ', "profiles": {"client": {"extended_key_usage": ["codeSigning"]}}'
bad_profiles_refused() {
    ! "${HSMSIGND:?}" --config cfg/hsmsignd.json >out/hsmsignd5.log 2>&1 &&
        grep -q 'extended_key_usage.*profiles.client' out/hsmsignd5.log &&
        ! grep -q '"event":"service.ready"' out/hsmsignd5.log
}
check "a bad profiles block: hsmsignd refuses to start, naming the profile and field" \
    bad_profiles_refused

# === issue 10, item 8 (service): serials of others, a locked inventory ========================
# A caller who is not an admin gets the same answer for another principal's serial as for one
# that does not exist; the log keeps the truth. A write lock held by another connection past
# the busy timeout (SQLite) or throttling to the last attempt (DynamoDB) is 503
# inventory_unavailable with Retry-After, and the signed certificate is discarded, not issued.
stop_hsmsignd
write_config 127.0.0.1
start_hsmsignd cfg/hsmsignd.json out/hsmsignd6.log || exit 1
# hidden_alike METHOD SUFFIX BODY: web asks about device-1's serial and about one that was
# never issued; both 404 not_found, bodies equal but for the request id and the serial.
hidden_alike() {
    local a b
    a=$(call web "$1" "/v1/certificates/$dev1_serial$2" "$3") && cp out/resp out/resp.owned
    b=$(call web "$1" "/v1/certificates/0123456789abcdef$2" "$3") && cp out/resp out/resp.none
    [ "$a" = 404 ] && [ "$b" = 404 ] || { echo "     statuses $a and $b"; return 1; }
    $py - "$dev1_serial" <<'PY'
import json, sys
def shape(path, serial):
    d = json.load(open(path))
    assert len(d.pop("request_id")) == 16, d
    return json.loads(json.dumps(d).replace(serial, "SERIAL"))
owned = shape("out/resp.owned", sys.argv[1])
none = shape("out/resp.none", "0123456789abcdef")
assert owned == none, (owned, none)
assert owned["error"] == "not_found" and "reason" not in owned, owned
PY
}
check "GET another principal's serial and a serial never issued: the same 404 not_found body" \
    hidden_alike GET "" ""
check "revoke another principal's serial and a serial never issued: the same 404 not_found body" \
    hidden_alike POST /revoke '{"reason": "keyCompromise"}'
check "an admin still gets the truth: device-1's serial -> 200" \
    test "$(call admin GET "/v1/certificates/$dev1_serial")" = 200
truth_logged() {
    $py - out/hsmsignd6.log "$dev1_serial" "$web" <<'PY'
import json, sys
L = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
refused = [l for l in L if l["event"] == "cert.lookup.refused" and l["caller"] == sys.argv[3]]
owned = [l for l in refused if l["serial"] == sys.argv[2]]
none = [l for l in refused if l["serial"] == "0123456789abcdef"]
assert len(owned) == 2 and all(l["recorded"] and not l["may_manage"] for l in owned), refused
assert len(none) == 2 and all(not l["recorded"] for l in none), refused
PY
}
check "the log keeps the truth (cert.lookup.refused: recorded or not)" truth_logged
# locked_inventory: one POST /v1/certificates while the inventory cannot take the write.
locked_inventory() {
    local before code holder
    before=$(rows)
    if [ "$inventory" = dynamodb ]; then
        dynalite_fault '{"faults": [{"status": 400, "type": "ThrottlingException"},
            {"status": 400, "type": "ThrottlingException"},
            {"status": 400, "type": "ProvisionedThroughputExceededException"}]}' || return 1
        code=$(call_h device POST /v1/certificates "$(cert_body out/dev3.csr)")
    else
        rm -f out/locked out/unlock
        $py - out/inventory.db <<'PY' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
open("out/locked", "w").close()
for _ in range(600):
    if os.path.exists("out/unlock"):
        break
    time.sleep(0.05)
db.execute("ROLLBACK")
PY
        holder=$!
        for _ in $(seq 1 200); do [ -e out/locked ] && break; sleep 0.05; done
        code=$(call_h device POST /v1/certificates "$(cert_body out/dev3.csr)")
        touch out/unlock
        wait "$holder" || return 1
    fi
    [ "$code" = 503 ] || { echo "     status $code, body $(head -c 300 out/resp)"; return 1; }
    [ "$(rows)" = "$before" ] && unavailable_answer out/hsmsignd6.log
}
check "inventory locked (SQLite) or throttled (DynamoDB): 503 inventory_unavailable, Retry-After, no certificate, discarded" \
    locked_inventory
issued_once_recorded() {
    [ "$(call device POST /v1/certificates "$(cert_body out/dev3.csr)")" = 200 ] || return 1
    local serial
    serial=$(field serial)
    # The certificate is encoded once (sgn_cert.c): the PEM answer, the audit line's tbs_sha256
    # and the inventory's cert_sha256 all come from that one DER; each is checked against the
    # certificate as a reader decodes it.
    $py - out/hsmsignd6.log "$serial" "$(inventory_row "$serial" | cut -d'|' -f5)" <<'PY'
import hashlib, json, sys
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
L = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
issued = [l for l in L if l["event"] == "sign.cert.issued" and l["serial"] == sys.argv[2]]
assert len(issued) == 1 and issued[0]["audit"] is True and issued[0]["tbs_sha256"], issued
assert not [l for l in L if l["event"] == "sign.cert.discarded" and l["serial"] == sys.argv[2]]
pem = json.load(open("out/resp"))["certificate"]
cert = x509.load_pem_x509_certificate(pem.encode())
der = cert.public_bytes(Encoding.DER)
assert pem == cert.public_bytes(Encoding.PEM).decode(), pem
assert issued[0]["tbs_sha256"] == hashlib.sha256(cert.tbs_certificate_bytes).hexdigest(), issued
assert sys.argv[3] == hashlib.sha256(der).hexdigest().upper(), (sys.argv[3], der.hex())
PY
}
check "once the inventory is free again: 200, audited once as sign.cert.issued; PEM, tbs_sha256 and cert_sha256 are the one DER's" issued_once_recorded
stop_hsmsignd
# === end of issue 10, item 8 (service) ========================================================
# === issue 10, findings 3, 4, 5 and item 8 (RSA exponents): what the CA signs =====================
# (one block, kept together for merging). The policy of write_config plus, for the web role, a
# rule allowing wildcards and URI / email SANs under patterns; the device rule keeps its
# "*.devices.example.com" without allow_wildcards.
stop_hsmsignd
write_config 127.0.0.1
$py - cfg/hsmsignd.json <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
web = c["policy"]["rules"][1]
web.update({"allow_wildcards": True, "email_patterns": ["*@example.com"],
            "uri_patterns": ["spiffe://example.com/*"]})
json.dump(c, open(sys.argv[1], "w"))
PY
start_hsmsignd cfg/hsmsignd.json out/hsmsignd9.log || exit 1
server() { call web POST /v1/certificates "$(cert_body "out/$1.csr" '{"profile": "server"}')"; }
# detail TEXT: out/resp's "detail" contains TEXT.
detail() { $py -c 'import json,sys; sys.exit(sys.argv[1] not in json.load(open("out/resp")).get("detail", ""))' "$1"; }
before=$(rows)

# Finding 3: wildcard DNS SANs only under "allow_wildcards": true, '*' a whole label.
csr wdev /CN=device-w 'DNS:*.devices.example.com'
check "F3: *.devices.example.com under a rule without allow_wildcards -> 403 name_not_allowed" \
    expect "$(call device POST /v1/certificates "$(cert_body out/wdev.csr)")" 403 forbidden \
    name_not_allowed
csr wweb /CN=shop.example.com 'DNS:*.shop.example.com,DNS:shop.example.com'
check "F3: *.shop.example.com under a rule with allow_wildcards -> 200" \
    test "$(server wweb)" = 200
wildcard_issued() {
    save_cert wweb && openssl x509 -in out/wweb.pem -noout -ext subjectAltName |
        grep -q 'DNS:\*.shop.example.com, DNS:shop.example.com'
}
check "F3: the certificate carries the wildcard SAN as asked" wildcard_issued
csr wpart /CN=shop.example.com 'DNS:f*.shop.example.com'
check "F3: a partial-label wildcard f*.shop.example.com -> 400 invalid_csr" \
    eval 'expect "$(server wpart)" 400 invalid_csr && detail "wildcard"'
csr wtld /CN=shop.example.com 'DNS:*.com'
check "F3: *.com (one label after the *) -> 400 invalid_csr" expect "$(server wtld)" 400 invalid_csr

# Finding 4 and item 8: DER only, RSA public exponent 65537.
rsa_e_csr() { # NAME EXPONENT: an RSA-2048 CSR whose key has that public exponent
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt "rsa_keygen_pubexp:$2" \
        -out "out/$1.key" 2>/dev/null &&
        openssl req -new -key "out/$1.key" -subj /CN=www.example.com \
            -addext subjectAltName=DNS:www.example.com -out "out/$1.csr" 2>/dev/null
}
rsa_e_csr e3 3
check "F4: an RSA key with public exponent 3 -> 400 unsupported_key, the detail says 65537" \
    eval 'expect "$(server e3)" 400 unsupported_key && detail "must be 65537, not 3"'
rsa_e_csr ebig "0x1$(printf '0%.0s' $(seq 127))1"
check "F4: an RSA key with public exponent 2^512+1 -> 400 unsupported_key" \
    eval 'expect "$(server ebig)" 400 unsupported_key && detail "513-bit"'
# A validly signed CSR whose RSAPublicKey modulus carries an extra 0x00 (BAD INTEGER), and the
# good CSR re-wrapped with an indefinite-length outer SEQUENCE; made from out/www.key's key.
$py - out/www.key out/www.csr <<'PY'
import base64, re, subprocess, sys
def tlv(tag, body):
    n = len(body)
    if n < 0x80:
        head = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + head + body
def pem(der, path):
    b = base64.encodebytes(der).decode().replace("\n", "")
    lines = "\n".join(b[i:i + 64] for i in range(0, len(b), 64))
    open(path, "w").write(f"-----BEGIN CERTIFICATE REQUEST-----\n{lines}\n"
                          "-----END CERTIFICATE REQUEST-----\n")
key, good = sys.argv[1], sys.argv[2]
mod = subprocess.run(["openssl", "rsa", "-in", key, "-noout", "-modulus"], check=True,
                     capture_output=True, text=True).stdout.strip().split("=")[1]
n = bytes.fromhex(mod)
rsa_pub = tlv(0x30, tlv(0x02, b"\x00\x00" + n) + tlv(0x02, b"\x01\x00\x01"))
rsa_alg = tlv(0x30, tlv(0x06, bytes.fromhex("2a864886f70d010101")) + b"\x05\x00")
spki = tlv(0x30, rsa_alg + tlv(0x03, b"\x00" + rsa_pub))
subject = tlv(0x30, tlv(0x31, tlv(0x30, tlv(0x06, b"\x55\x04\x03") + tlv(0x0c, b"www.example.com"))))
info = tlv(0x30, b"\x02\x01\x00" + subject + spki + b"\xa0\x00")
sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=info, check=True,
                     capture_output=True).stdout
sha256_rsa = tlv(0x30, tlv(0x06, bytes.fromhex("2a864886f70d01010b")) + b"\x05\x00")
pem(tlv(0x30, info + sha256_rsa + tlv(0x03, b"\x00" + sig)), "out/padded.csr")
der = subprocess.run(["openssl", "req", "-in", good, "-outform", "DER"], check=True,
                     capture_output=True).stdout
assert der[1] == 0x82
pem(b"\x30\x80" + der[4:] + b"\x00\x00", "out/indefinite.csr")
PY
padded_signed() { openssl req -in out/padded.csr -noout -verify 2>&1 | grep -q 'verify OK'; }
check "F4: (the padded-modulus CSR's own signature verifies with openssl)" padded_signed
check "F4: an RSAPublicKey with a padded modulus -> 400 unsupported_key (not DER)" \
    eval 'expect "$(server padded)" 400 unsupported_key && detail "not DER"'
check "F4: an indefinite-length outer SEQUENCE -> 400 invalid_csr (not DER)" \
    eval 'expect "$(server indefinite)" 400 invalid_csr && detail "not DER"'
check "F4: the same key's DER CSR with exponent 65537 -> 200" test "$(server www)" = 200

# Finding 5: URI SANs parsed, globbed per path segment; email SANs local@domain.
csr uri_good /CN=shop.example.com 'DNS:shop.example.com,URI:spiffe://example.com/web,email:ops@example.com'
check "F5: spiffe://example.com/web and ops@example.com under their patterns -> 200" \
    test "$(server uri_good)" = 200
csr uri_deep /CN=shop.example.com 'DNS:shop.example.com,URI:spiffe://example.com/a/b'
check "F5: spiffe://example.com/a/b ('*' does not cross '/') -> 403 name_not_allowed" \
    expect "$(server uri_deep)" 403 forbidden name_not_allowed
csr uri_dots /CN=shop.example.com 'DNS:shop.example.com,URI:spiffe://example.com/../../other-trust-domain'
check "F5: spiffe://example.com/../../other-trust-domain -> 400 invalid_csr" \
    eval 'expect "$(server uri_dots)" 400 invalid_csr && detail "URI"'
csr mail_two /CN=shop.example.com 'DNS:shop.example.com,email:attacker@evil.com@example.com'
check "F5: attacker@evil.com@example.com -> 400 invalid_csr" \
    eval 'expect "$(server mail_two)" 400 invalid_csr && detail "email"'
csr mail_other /CN=shop.example.com 'DNS:shop.example.com,email:ops@evil.com'
check "F5: ops@evil.com under *@example.com -> 403 name_not_allowed" \
    expect "$(server mail_other)" 403 forbidden name_not_allowed
check "F3-F5: only the three 200s above added inventory rows" test "$(rows)" = $((before + 3))
stop_hsmsignd

# Item 8: a profile's rsa_public_exponents is validated at start.
write_config 127.0.0.1 ', "profiles": {"client": {"extended_key_usage": ["clientAuth"],
    "rsa_public_exponents": {"min": 3, "max": 65537}}}'
bad_exponents_refused() {
    ! "${HSMSIGND:?}" --config cfg/hsmsignd.json >out/hsmsignd7.log 2>&1 &&
        grep -q 'rsa_public_exponents.min.*must be an odd number from 65537' out/hsmsignd7.log &&
        ! grep -q '"event":"service.ready"' out/hsmsignd7.log
}
check "item 8: rsa_public_exponents with min 3 -> hsmsignd refuses to start, naming the field" \
    bad_exponents_refused
# A configured range admits what it names: e = 65539 under {"min": 65537, "max": 65539}, while
# the same profile still refuses e = 3.
write_config 127.0.0.1 ', "profiles": {"client": {"extended_key_usage": ["clientAuth"]},
    "server": {"extended_key_usage": ["serverAuth"], "require_dns_san": true,
    "rsa_public_exponents": {"min": 65537, "max": "65539"}}}'
start_hsmsignd cfg/hsmsignd.json out/hsmsignd8.log || exit 1
rsa_e_csr e65539 65539
check "item 8: with rsa_public_exponents up to 65539, a key with e = 65539 -> 200" \
    test "$(server e65539)" = 200
check "item 8: the same profile still refuses e = 3 -> 400 unsupported_key" \
    eval 'expect "$(server e3)" 400 unsupported_key && detail "rsa_public_exponents"'
stop_hsmsignd
# === end of issue 10, findings 3, 4, 5 ==========================================================

# (grep takes each secret as a pattern file, -f, so no secret is on its command line)
no_secrets() {
    ! grep -qF -f "$work/token/user.pin" out/hsmsignd.log out/hsmsignd2.log &&
        { [ "$inventory" = sqlite ] ||
            ! grep -qF -f <(printf '%s\n' "$ddb_secret") out/hsmsignd*.log; } &&
        ! grep -qF -f out/device.secret out/hsmsignd.log out/hsmsignd2.log &&
        ! grep -q 'eyJ' out/hsmsignd.log out/hsmsignd2.log
}
check "no PIN, secret key or token in the logs" no_secrets
# Request ids come from a per-thread stock of random bytes (api_route.c): over every request of
# this run (more than one stock's worth per worker), no id repeats and each is 16 hex digits.
distinct_request_ids() {
    $py - out/hsmsignd*.log <<'PY'
import json, re, sys
ids = [json.loads(l)["req_id"] for f in sys.argv[1:] for l in open(f)
       if l.startswith("{") and '"event":"http.request"' in l]
assert len(ids) > 64, len(ids)
assert all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids), [i for i in ids if len(i) != 16][:5]
assert len(set(ids)) == len(ids), len(ids) - len(set(ids))
PY
}
check "request ids: 16 hex digits, none repeated over the run" distinct_request_ids
finish
