#!/usr/bin/env bash
# Every ceremony step beyond the dev ceremony, on a fresh SoftHSM2 token, checked with
# independent tools: a constrained intermediate (EKU, NameConstraints, CRL DP, AIA), a second
# root and a cross-certificate, a root CRL revoking the intermediate, JWT key rotation through
# a real hsmsignd (tokens verified with python3-jwcrypto against the served JWKS), verify, the
# PIN prompt, --dry-run leaving the token's object list identical, and config errors that name
# their field and change nothing.
. "$(dirname "$0")/lib.sh"
require openssl certtool pkcs11-tool script setsid ssh-keygen
kc=${KEYCEREMONY:?}
work=$(mktemp -d)
trap 'stop_hsmsignd; rm -rf "$work"' EXIT
cd "$work"
mkdir -p out cfg
label=types-test
new_token "$work/token" "$label"
pin="$work/token/user.pin"
module=/usr/lib/softhsm/libsofthsm2.so
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$pin\"}"
run() { "$kc" "$@" 2>>out/ceremony.log; }
listing() { token_listing "$label" "$pin"; }

# --- dry-run changes nothing ------------------------------------------------------------------
cat >cfg/root.json <<EOF
{ $token, "transcript": "out/transcript.jsonl", "key": {"label": "t-root"},
  "certificate": {"subject": {"O": "types", "CN": "Types Root"}, "validity_days": 3650,
                  "output": "out/root.pem"} }
EOF
before=$(listing)
dry_root() {
    local plan
    plan=$("$kc" root --config cfg/root.json --dry-run 2>/dev/null) || return 1
    grep -q 'generate key "t-root" (EC-P384)' <<<"$plan" &&
        grep -q 'basicConstraints (critical): CA:TRUE' <<<"$plan" &&
        grep -q 'keyUsage (critical): keyCertSign cRLSign' <<<"$plan" &&
        grep -q 'notAfter: ' <<<"$plan" && grep -q 'plan printed; nothing changed' <<<"$plan" &&
        [ ! -e out/root.pem ] && [ ! -e out/transcript.jsonl ]
}
check "root --dry-run prints the plan (default key EC-P384, every field) and writes nothing" dry_root
check "root --dry-run left the token's object list identical" test "$(listing)" = "$before"
check "root ceremony (key type defaults to EC-P384)" run root --config cfg/root.json
root_is_p384() { openssl x509 -in out/root.pem -noout -text | grep -q 'NIST CURVE: P-384'; }
check "the root key is P-384" root_is_p384

# --- a constrained intermediate ---------------------------------------------------------------
cat >cfg/int.json <<EOF
{ $token, "transcript": "out/transcript.jsonl",
  "issuer": {"key": "t-root", "certificate": "out/root.pem"},
  "key": {"label": "t-issuing", "type": "EC-P256"},
  "certificate": {"subject": {"O": "types", "CN": "Types Issuing"}, "validity_days": 365,
                  "path_len": 0, "eku": ["clientAuth", "serverAuth"],
                  "name_constraints": {"permitted_dns": [".svc.example.com", "example.com"],
                                       "permitted_email": ["example.com"]},
                  "crl_distribution_point": "http://pki.example.com/root.crl",
                  "ca_issuers": "http://pki.example.com/root.pem",
                  "output": "out/int.pem"} }
EOF
before=$(listing)
dry_int() {
    local plan
    plan=$("$kc" intermediate --config cfg/int.json --dry-run 2>/dev/null) || return 1
    grep -q 'nameConstraints (critical):' <<<"$plan" &&
        grep -q 'permitted DNS: .svc.example.com' <<<"$plan" &&
        grep -q 'cRLDistributionPoints: http://pki.example.com/root.crl' <<<"$plan" &&
        grep -q 'extendedKeyUsage: serverAuth clientAuth' <<<"$plan" && [ ! -e out/int.pem ]
}
check "intermediate --dry-run shows every extension and writes nothing" dry_int
check "intermediate --dry-run left the token's object list identical" test "$(listing)" = "$before"
check "constrained intermediate ceremony" run intermediate --config cfg/int.json
int_text() { openssl x509 -in out/int.pem -noout -text; }
int_extensions() {
    local t
    t=$(int_text)
    grep -A1 'Name Constraints: critical' <<<"$t" | grep -q 'Permitted:' &&
        grep -q 'DNS:.svc.example.com' <<<"$t" && grep -q 'email:example.com' <<<"$t" &&
        grep -A3 'CRL Distribution Points' <<<"$t" | grep -q 'URI:http://pki.example.com/root.crl' &&
        grep -A1 'Authority Information Access' <<<"$t" |
        grep -q 'CA Issuers - URI:http://pki.example.com/root.pem' &&
        grep -A1 'Extended Key Usage' <<<"$t" |
        grep -q 'TLS Web Server Authentication, TLS Web Client Authentication' &&
        grep -A1 'Basic Constraints: critical' <<<"$t" | grep -q 'CA:TRUE, pathlen:0'
}
check "intermediate carries critical NameConstraints, CRL DP, AIA caIssuers, EKU, pathlen 0" \
    int_extensions
check "openssl verify -x509_strict: intermediate under root" \
    openssl verify -x509_strict -CAfile out/root.pem out/int.pem
cat out/int.pem out/root.pem >out/chain.pem
certtool_ok() { certtool --verify-chain --infile "$1" | grep -q 'Chain verification output: Verified'; }
check "certtool --verify-chain accepts intermediate + root" certtool_ok out/chain.pem

# --- a second root and a cross-certificate ----------------------------------------------------
cat >cfg/root2.json <<EOF
{ $token, "transcript": "out/transcript.jsonl", "key": {"label": "t-root-2", "type": "RSA-3072"},
  "certificate": {"subject": {"O": "types", "CN": "Types Root 2"}, "validity_days": 3650,
                  "output": "out/root2.pem"} }
EOF
check "second root (RSA-3072)" run root --config cfg/root2.json
cat >cfg/cross.json <<EOF
{ $token, "transcript": "out/transcript.jsonl",
  "issuer": {"key": "t-root-2", "certificate": "out/root2.pem"},
  "subject_certificate": "out/int.pem",
  "certificate": {"validity_days": 180, "output": "out/cross.pem"} }
EOF
before=$(listing)
check "cross-sign --dry-run" sh -c "'$kc' cross-sign --config cfg/cross.json --dry-run >/dev/null 2>&1 && [ ! -e out/cross.pem ]"
check "cross-sign --dry-run left the token's object list identical" test "$(listing)" = "$before"
check "cross-sign ceremony" run cross-sign --config cfg/cross.json
same_key_and_names() {
    [ "$(openssl x509 -in out/cross.pem -noout -subject)" = \
        "$(openssl x509 -in out/int.pem -noout -subject)" ] &&
        [ "$(openssl x509 -in out/cross.pem -noout -pubkey)" = \
            "$(openssl x509 -in out/int.pem -noout -pubkey)" ] &&
        [ "$(openssl x509 -in out/cross.pem -noout -ext subjectKeyIdentifier)" = \
            "$(openssl x509 -in out/int.pem -noout -ext subjectKeyIdentifier)" ] &&
        openssl x509 -in out/cross.pem -noout -issuer | grep -q 'Types Root 2' &&
        openssl x509 -in out/cross.pem -noout -text | grep -q 'Name Constraints: critical' &&
        openssl x509 -in out/cross.pem -noout -text | grep -q 'sha256WithRSAEncryption'
}
check "the cross-certificate keeps subject, key, SKI and NameConstraints; issuer is root 2" \
    same_key_and_names
check "openssl verify -x509_strict: cross-certificate under root 2" \
    openssl verify -x509_strict -CAfile out/root2.pem out/cross.pem
cat out/cross.pem out/root2.pem >out/cross-chain.pem
check "certtool --verify-chain accepts cross-certificate + root 2" certtool_ok out/cross-chain.pem

# --- a root CRL revoking the intermediate -----------------------------------------------------
int_serial=$(openssl x509 -in out/int.pem -noout -serial | cut -d= -f2)
cat >cfg/crl.json <<EOF
{ $token, "transcript": "out/transcript.jsonl",
  "issuer": {"key": "t-root", "certificate": "out/root.pem"},
  "crl": {"number": 7, "validity_days": 30,
          "revoked": [{"serial": "$int_serial", "reason": "keyCompromise"},
                      {"serial": "0badc0de", "reason": "superseded",
                       "revoked_at": "2026-01-02T03:04:05Z"},
                      {"serial": "5eed"}],
          "output": "out/root.crl"} }
EOF
check "crl --dry-run writes nothing" sh -c "'$kc' crl --config cfg/crl.json --dry-run >/dev/null 2>&1 && [ ! -e out/root.crl ]"
check "crl ceremony" run crl --config cfg/crl.json
crl_ok() {
    local t
    openssl crl -in out/root.crl -CAfile out/root.pem -noout -verify 2>&1 | grep -q 'verify OK' ||
        return 1
    t=$(openssl crl -in out/root.crl -noout -text)
    grep -A1 'X509v3 CRL Number' <<<"$t" | grep -qx ' *7' &&
        grep -q 'X509v3 Authority Key Identifier' <<<"$t" && grep -q 'Version 2' <<<"$t" &&
        grep -A4 "Serial Number: $int_serial" <<<"$t" | grep -q 'Key Compromise' &&
        grep -A4 'Serial Number: 0BADC0DE' <<<"$t" | grep -q 'Superseded' &&
        grep -A1 'Serial Number: 0BADC0DE' <<<"$t" | grep -q 'Jan  2 03:04:05 2026 GMT' &&
        ! grep -A4 'Serial Number: 5EED' <<<"$t" | grep -q 'Reason Code'
}
check "openssl crl -verify: signed by the root; number 7, AKI, reasons, dates as configured" crl_ok
revoked() {
    ! openssl verify -crl_check -CRLfile out/root.crl -CAfile out/root.pem out/int.pem >out/rv 2>&1 &&
        grep -q 'certificate revoked' out/rv
}
check "openssl verify -crl_check now reports the intermediate as revoked" revoked

# --- JWT key rotation through a real hsmsignd -------------------------------------------------
umask 077
head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 >out/secret
umask 022
akid=AKIATYPESTEST0000001
sigv4_curl_cfg out/curl.cfg "$akid" out/secret
cat >cfg/hsmsignd.json <<EOF
{ "listen": "127.0.0.1:0",
  "token": {"module": "$module", "label": "$label", "pin_file": "$pin", "pool_size": 2},
  "ca": {"key": "t-issuing", "chain_file": "out/chain.pem"},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "https://types.example", "jwks_file": "out/jwks.json"},
  "auth": {"sigv4": {"region": "us-east-1", "access_keys": [{"access_key_id": "$akid",
           "secret_file": "out/secret", "principal_arn": "arn:aws:iam::1:user/t"}]}},
  $(permissive_policy arn:aws:iam::1:user/t) }
EOF
jwt_cfg() { # $1 label, $2 key type, $3 alg
    cat >"cfg/jwt-$1.json" <<EOF
{ $token, "transcript": "out/transcript.jsonl", "key": {"label": "$1", "type": "$2"},
  "alg": "$3", "jwks": "out/jwks.json" }
EOF
}
jwt_cfg t-jwt-a EC-P256 ES256
jwt_cfg t-jwt-b RSA-2048 RS256
token_for() { # $1 output file: a token from the running service
    curl -sS -o "$1" --aws-sigv4 "aws:amz:us-east-1:execute-api" -K out/curl.cfg \
        -H 'Content-Type: application/json' -d '{"audience": "rotation"}' "$svc_url/v1/tokens"
}
kid_of() { $py -c 'import json,sys; print(json.load(open(sys.argv[1]))["kid"])' "$1"; }
jwks_kids() { $py -c 'import json,sys; print(" ".join(k["kid"] for k in json.load(open(sys.argv[1]))["keys"]))' "$1"; }
# jwcrypto_verifies TOKEN_JSON JWKS_URL: python3-jwcrypto verifies the token against the JWKS.
jwcrypto_verifies() {
    $py - "$1" "$2" <<'PY'
import json, sys, urllib.request
from jwcrypto import jwk, jwt
token = json.load(open(sys.argv[1]))["token"]
keys = jwk.JWKSet.from_json(urllib.request.urlopen(sys.argv[2]).read())
claims = json.loads(jwt.JWT(jwt=token, key=keys).claims)
assert claims["aud"] == "rotation" and claims["iss"] == "https://types.example", claims
PY
}
check "jwt-key A creates the JWK Set" run jwt-key --config cfg/jwt-t-jwt-a.json
kid_a=$(jwks_kids out/jwks.json)
check "the JWK Set holds key A only" test "$(wc -w <<<"$kid_a")" = 1
start_hsmsignd cfg/hsmsignd.json out/svc1.log
token_for out/tok-a.json
check "hsmsignd signs with key A" test "$(kid_of out/tok-a.json)" = "$kid_a"
check "python3-jwcrypto verifies token A against the served JWKS" \
    jwcrypto_verifies out/tok-a.json "$svc_url/.well-known/jwks.json"
stop_hsmsignd
check "jwt-key B (RS256) is added as the newest key" run jwt-key --config cfg/jwt-t-jwt-b.json
kids=$(jwks_kids out/jwks.json)
kid_b=${kids%% *}
check "the JWK Set lists B first, then A" test "$kids" = "$kid_b $kid_a"
start_hsmsignd cfg/hsmsignd.json out/svc2.log
token_for out/tok-b.json
check "after a restart hsmsignd signs with the newest key B (RS256)" \
    test "$(kid_of out/tok-b.json)" = "$kid_b"
check "python3-jwcrypto verifies token B against the served JWKS" \
    jwcrypto_verifies out/tok-b.json "$svc_url/.well-known/jwks.json"
check "token A still verifies: A stays published until retired" \
    jwcrypto_verifies out/tok-a.json "$svc_url/.well-known/jwks.json"
stop_hsmsignd
cat >cfg/retire.json <<'EOF'
{ "transcript": "out/transcript.jsonl", "jwks": "out/jwks.json" }
EOF
cp out/jwks.json out/jwks.before
check "jwt-key retire --dry-run changes nothing" \
    sh -c "'$kc' jwt-key retire '$kid_a' --config cfg/retire.json --dry-run >/dev/null 2>&1 && cmp -s out/jwks.json out/jwks.before"
check "jwt-key retire A" run jwt-key retire "$kid_a" --config cfg/retire.json
check "the JWK Set lists B only" test "$(jwks_kids out/jwks.json)" = "$kid_b"
start_hsmsignd cfg/hsmsignd.json out/svc3.log
not_published() { ! jwcrypto_verifies out/tok-a.json "$svc_url/.well-known/jwks.json" 2>/dev/null; }
check "after a restart token A no longer verifies against the served JWKS" not_published
stop_hsmsignd
check_fails "retiring the last key is refused" "would leave nothing to sign with" \
    "$kc" jwt-key retire "$kid_b" --config cfg/retire.json

# --- verify -----------------------------------------------------------------------------------
cat >cfg/verify.json <<EOF
{ $token, "transcript": "out/transcript.jsonl", "root_certificate": "out/root.pem",
  "intermediate_certificate": "out/int.pem", "jwks": "out/jwks.json" }
EOF
verify_ok() {
    local out
    out=$("$kc" verify --config cfg/verify.json 2>/dev/null) || return 1
    grep -q '^ok  chain:' <<<"$out" && grep -q '^ok  root_certificate: key "t-root"' <<<"$out" &&
        grep -q '^ok  intermediate_certificate: key "t-issuing"' <<<"$out" &&
        grep -q "^ok  jwks: $kid_b (RS256) is key \"t-jwt-b\"" <<<"$out"
}
check "verify: chain strict, every key on the token, protected, kid = thumbprint" verify_ok
$py - <<'PY'
import json
from jwcrypto import jwk
doc = json.load(open("out/jwks.json"))
foreign = jwk.JWK.generate(kty="EC", crv="P-256")
pub = json.loads(foreign.export_public())
pub.update({"use": "sig", "alg": "ES256", "kid": foreign.thumbprint()})
doc["keys"].append(pub)
json.dump(doc, open("out/jwks-foreign.json", "w"))
open("out/foreign.kid", "w").write(foreign.thumbprint())
PY
sed 's|out/jwks.json|out/jwks-foreign.json|' cfg/verify.json >cfg/verify-foreign.json
check_fails "verify fails on a JWK whose key is not on the token, naming its kid" \
    "$(cat out/foreign.kid)" "$kc" verify --config cfg/verify-foreign.json
sed 's|"root_certificate": "out/root.pem"|"root_certificate": "out/root2.pem"|' cfg/verify.json >cfg/verify-wrong-root.json
check_fails "verify fails when the intermediate does not chain to the root" \
    "certificate does not verify" "$kc" verify --config cfg/verify-wrong-root.json

# --- offline root: the issuing key is born on the production token, certified on the root's ---
# A second token (another label and PIN) stands for the offline root HSM. The key step writes
# the issuing key's public half; the root's ceremony certifies that file with "public_key".
umask 077
head -c 24 /dev/urandom | base64 >out/offline-so.pin
head -c 24 /dev/urandom | base64 >out/offline-user.pin
umask 022
offline="\"token\": {\"module\": \"$module\", \"label\": \"types-offline\", \"pin_file\": \"$work/out/offline-user.pin\"}"
printf '{ %s, "so_pin_file": "out/offline-so.pin" }\n' "$offline" >cfg/offline-init.json
check "a second token stands for the offline root HSM" run init-token --config cfg/offline-init.json
cat >cfg/offline-root.json <<EOF
{ $offline, "transcript": "out/transcript.jsonl", "key": {"label": "o-root"},
  "certificate": {"subject": {"O": "types", "CN": "Offline Root"}, "validity_days": 3650,
                  "output": "out/o-root.pem"} }
EOF
check "root ceremony on the offline token" run root --config cfg/offline-root.json
cat >cfg/prod-key.json <<EOF
{ $token, "transcript": "out/transcript.jsonl", "key": {"label": "o-issuing", "type": "EC-P256"},
  "public_key_output": "out/o-issuing.pub.pem" }
EOF
before=$(listing)
dry_key() {
    local plan
    plan=$("$kc" key --config cfg/prod-key.json --dry-run 2>/dev/null) || return 1
    grep -q 'generate key "o-issuing" (EC-P256) on token "types-test"' <<<"$plan" &&
        grep -q 'write its public key (PEM SubjectPublicKeyInfo) to out/o-issuing.pub.pem' <<<"$plan" &&
        [ ! -e out/o-issuing.pub.pem ]
}
check "key --dry-run prints the plan and writes nothing" dry_key
check "key --dry-run left the token's object list identical" test "$(listing)" = "$before"
check "key step on the production token" run key --config cfg/prod-key.json
spki_of() { openssl pkey -pubin -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }
transcript_spki() { # STEP EVENT: spki_sha256 of the last transcript line with that step and event
    $py - "$1" "$2" <<'PY'
import json, sys
lines = [json.loads(l) for l in open("out/transcript.jsonl")]
print([l for l in lines if l["step"] == sys.argv[1] and l["event"] == sys.argv[2]][-1]["spki_sha256"])
PY
}
key_recorded() {
    [ "$(transcript_spki key 'public key written')" = "$(spki_of out/o-issuing.pub.pem)" ] &&
        openssl pkey -pubin -in out/o-issuing.pub.pem -noout -text | grep -q 'NIST CURVE: P-256'
}
check "the public key file is P-256 and its SHA-256 is the transcript's spki_sha256" key_recorded
cat >cfg/offline-int.json <<EOF
{ $offline, "transcript": "out/transcript.jsonl",
  "issuer": {"key": "o-root", "certificate": "out/o-root.pem"},
  "public_key": "out/o-issuing.pub.pem",
  "certificate": {"subject": {"O": "types", "CN": "Offline-rooted Issuing"}, "validity_days": 365,
                  "eku": ["clientAuth"], "output": "out/o-int.pem"} }
EOF
dry_certify() {
    local plan
    plan=$("$kc" intermediate --config cfg/offline-int.json --dry-run 2>/dev/null) || return 1
    grep -q 'certify the public key in out/o-issuing.pub.pem (EC, 256 bits)' <<<"$plan" &&
        grep -q "spki_sha256 $(spki_of out/o-issuing.pub.pem)" <<<"$plan" &&
        ! grep -q 'generate key' <<<"$plan" && [ ! -e out/o-int.pem ]
}
check "intermediate --dry-run with public_key shows the key's spki_sha256, generates nothing" \
    dry_certify
check "intermediate on the offline token certifies the production key" \
    run intermediate --config cfg/offline-int.json
certified() {
    local cert_spki
    cert_spki=$(openssl x509 -in out/o-int.pem -noout -pubkey | openssl pkey -pubin -outform DER |
        sha256sum | cut -d' ' -f1)
    [ "$cert_spki" = "$(spki_of out/o-issuing.pub.pem)" ] &&
        [ "$(transcript_spki intermediate 'certificate written')" = "$cert_spki" ]
}
check "the certificate holds the production key; the transcript records the same spki_sha256" \
    certified
check "openssl verify -x509_strict: offline-rooted intermediate under the offline root" \
    openssl verify -x509_strict -CAfile out/o-root.pem out/o-int.pem
cat out/o-int.pem out/o-root.pem >out/o-chain.pem
check "certtool --verify-chain accepts the offline-rooted chain" certtool_ok out/o-chain.pem
offline_listing() { token_listing types-offline out/offline-user.pin; }
keys_apart() {
    local prod off
    prod=$(listing)
    off=$(offline_listing)
    grep -q 'label: *o-issuing$' <<<"$prod" && ! grep -q 'label: *o-root$' <<<"$prod" &&
        grep -q 'label: *o-root$' <<<"$off" && ! grep -q 'label: *o-issuing$' <<<"$off"
}
check "the root key is only on the offline token, the issuing key only on production" keys_apart
cat >cfg/prod-verify.json <<EOF
{ $token, "root_certificate": "out/o-root.pem", "intermediate_certificate": "out/o-int.pem",
  "root_key_offline": true }
EOF
prod_verify() {
    local out
    out=$("$kc" verify --config cfg/prod-verify.json 2>/dev/null) || return 1
    grep -q '^ok  chain:' <<<"$out" && grep -q '^skip root_certificate' <<<"$out" &&
        grep -q '^ok  intermediate_certificate: key "o-issuing"' <<<"$out"
}
check "verify on production with root_key_offline: chain and issuing key" prod_verify
sed 's/"root_key_offline": true/"root_key_offline": false/' cfg/prod-verify.json \
    >cfg/prod-verify-strict.json
check_fails "verify on production without root_key_offline fails: the root key is not there" \
    'root_certificate' "$kc" verify --config cfg/prod-verify-strict.json
cat >cfg/offline-verify.json <<EOF
{ $offline, "root_certificate": "out/o-root.pem", "intermediate_certificate": "out/o-int.pem",
  "intermediate_key_offline": true }
EOF
offline_verify() {
    local out
    out=$("$kc" verify --config cfg/offline-verify.json 2>/dev/null) || return 1
    grep -q '^ok  root_certificate: key "o-root"' <<<"$out" &&
        grep -q '^skip intermediate_certificate' <<<"$out"
}
check "verify on the offline token with intermediate_key_offline: chain and root key" \
    offline_verify
cat >cfg/o-hsmsignd.json <<EOF
{ "listen": "127.0.0.1:0",
  "token": {"module": "$module", "label": "$label", "pin_file": "$pin", "pool_size": 2},
  "ca": {"key": "o-issuing", "chain_file": "out/o-chain.pem"},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "https://types.example", "jwks_file": "out/jwks.json"},
  "auth": {"sigv4": {"region": "us-east-1", "access_keys": [{"access_key_id": "$akid",
           "secret_file": "out/secret", "principal_arn": "arn:aws:iam::1:user/t"}]}},
  $(permissive_policy arn:aws:iam::1:user/t) }
EOF
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout out/leaf.key \
    -subj "/CN=svc.offline.example" -addext "subjectAltName=DNS:svc.offline.example" \
    -out out/leaf.csr 2>/dev/null
$py -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' out/leaf.csr \
    >out/leaf-req.json
issue_offline_rooted() {
    start_hsmsignd cfg/o-hsmsignd.json out/svc4.log || return 1
    local code
    code=$(curl -sS -o out/leaf.json -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:execute-api" \
        -K out/curl.cfg -H 'Content-Type: application/json' \
        --data-binary @out/leaf-req.json "$svc_url/v1/certificates")
    stop_hsmsignd
    [ "$code" = 200 ] || return 1
    $py -c 'import json,sys; r=json.load(open(sys.argv[1])); open("out/leaf.pem","w").write(r["certificate"]); open("out/leaf-chain.pem","w").write(r["chain"])' out/leaf.json &&
        openssl verify -x509_strict -CAfile out/o-root.pem -untrusted out/leaf-chain.pem out/leaf.pem
}
check "hsmsignd issues with the issuing key; the leaf verifies up to the offline root" \
    issue_offline_rooted
bad_pub() { # NAME PUBKEY-FILE: an intermediate config certifying that file
    sed "s|\"public_key\": \"out/o-issuing.pub.pem\"|\"public_key\": \"$2\"|; s|out/o-int.pem|out/o-$1.pem|" \
        cfg/offline-int.json >"cfg/bad-pub-$1.json"
}
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 2>/dev/null |
    openssl pkey -pubout -out out/rsa1024.pub.pem
openssl x509 -in out/o-root.pem -noout -pubkey >out/o-root.pub.pem
bad_pub rsa1024 out/rsa1024.pub.pem
bad_pub self out/o-root.pub.pem
bad_pub notkey out/o-root.pem
sed 's|"public_key": "out/o-issuing.pub.pem",|"public_key": "out/o-issuing.pub.pem", "key": {"label": "o-x"},|' \
    cfg/offline-int.json >cfg/bad-pub-both.json
before_off=$(offline_listing)
check_fails "public_key: RSA-1024 is refused" 'public_key: RSA-1024 refused' \
    "$kc" intermediate --config cfg/bad-pub-rsa1024.json
check_fails "public_key: the root's own key is refused" "public_key is the root's own key" \
    "$kc" intermediate --config cfg/bad-pub-self.json
check_fails "public_key: a certificate is not a public key file" 'holds no PEM public key' \
    "$kc" intermediate --config cfg/bad-pub-notkey.json
check_fails "intermediate with both key and public_key is refused" 'exactly one of "key"' \
    "$kc" intermediate --config cfg/bad-pub-both.json
check "the refused intermediates left the offline token's object list identical" \
    test "$(offline_listing)" = "$before_off"

# --- the PIN prompt ---------------------------------------------------------------------------
cat >cfg/prompt.json <<EOF
{ "token": {"module": "$module", "label": "$label"}, "key": {"label": "t-jwt-prompted"},
  "jwk_output": "out/prompted.jwk.json" }
EOF
prompted() {
    (sleep 1; cat "$pin") | script -qec "'$kc' jwt-key --config cfg/prompt.json" /dev/null >out/prompt.out 2>&1
    grep -q 'User PIN for token "types-test"' out/prompt.out && [ -s out/prompted.jwk.json ] &&
        ! grep -qF -f "$pin" out/prompt.out
}
check "with no pin_file or pin_env the PIN is prompted on the terminal, without echo" prompted
no_tty() {
    sed 's/prompted/prompted-2/g' cfg/prompt.json >cfg/prompt2.json
    local rc=0
    setsid -w "$kc" jwt-key --config cfg/prompt2.json </dev/null >out/notty.out 2>&1 || rc=$?
    [ "$rc" -eq 1 ] && grep -q 'no terminal to prompt for the PIN' out/notty.out
}
check "without a terminal the prompt fails cleanly" no_tty

# === SSH CA keys (issue 11): keyceremony ssh-ca, and the "ssh" blocks of export and verify ====
# Every SSH CA key type the token offers (EC-P256, EC-P384, RSA-3072, and Ed25519 where it
# offers CKM_EDDSA), each protected as pkcs11-tool reads it back; --dry-run touching nothing;
# rotation (a second run adds keys, export lists them newest first, ssh-keygen -l agrees with the
# transcript's fingerprints); refusals that leave the token as it was (a taken label, also for
# the second key of a pair; Ed25519 on a token without CKM_EDDSA; RSA-2048); verify passing, and
# failing on tampered lines. ssh_ca_test.sh logs in to a real sshd with such keys' certificates.
ssh_types="EC-P256 EC-P384 RSA-3072"
if pkcs11-tool --module "$module" -M 2>/dev/null | grep -q '^ *EDDSA'; then
    ssh_types="$ssh_types Ed25519"
fi
cat >cfg/ssh-ca-1.json <<EOF
{ $token, "transcript": "out/transcript.jsonl",
  "user_ca": {"label": "ssh-user-ca-1", "type": "EC-P256", "public_key_output": "out/ssh-user-ca-1.pub"},
  "host_ca": {"label": "ssh-host-ca-1", "type": "EC-P384"} }
EOF
second_host=EC-P256
case $ssh_types in *Ed25519*) second_host=Ed25519 ;; esac
cat >cfg/ssh-ca-2.json <<EOF
{ $token, "transcript": "out/transcript.jsonl",
  "user_ca": {"label": "ssh-user-ca-2", "type": "RSA-3072"},
  "host_ca": {"label": "ssh-host-ca-2", "type": "$second_host"} }
EOF
before=$(listing)
cp out/transcript.jsonl out/transcript.before
dry_ssh_ca() {
    local plan
    plan=$("$kc" ssh-ca --config cfg/ssh-ca-1.json --dry-run 2>/dev/null) || return 1
    grep -q 'generate key "ssh-user-ca-1" (EC-P256) on token "types-test"' <<<"$plan" &&
        grep -q 'generate key "ssh-host-ca-1" (EC-P384)' <<<"$plan" &&
        grep -q 'CKM_ECDSA, SSH signature ecdsa-sha2-nistp384' <<<"$plan" &&
        grep -q 'write its OpenSSH public-key line to out/ssh-user-ca-1.pub' <<<"$plan" &&
        grep -q 'plan printed; nothing changed' <<<"$plan" && [ ! -e out/ssh-user-ca-1.pub ] &&
        cmp -s out/transcript.jsonl out/transcript.before
}
check "ssh-ca --dry-run prints both keys' plans and writes nothing (no file, no transcript line)" \
    dry_ssh_ca
check "ssh-ca --dry-run left the token's object list identical" test "$(listing)" = "$before"
check "ssh-ca: user CA EC-P256 and host CA EC-P384" run ssh-ca --config cfg/ssh-ca-1.json
check "ssh-ca again with new labels adds a user CA RSA-3072 and a host CA $second_host" \
    run ssh-ca --config cfg/ssh-ca-2.json
if [ "$second_host" != Ed25519 ]; then
    echo "note: the token offers no CKM_EDDSA; Ed25519 is checked only as refused"
fi
ssh_protected() { # LABEL...: pkcs11-tool reads each back: sensitive, never extractable, sign only
    list_private_keys "$label" "$pin" >out/ssh-keys.txt || return 1
    $py - "$@" <<'PY'
import sys
blocks, cur = {}, None
for line in open("out/ssh-keys.txt").read().splitlines():
    if not line.startswith(" "):
        cur = []
        continue
    if cur is not None:
        cur.append(line.strip())
        if line.strip().startswith("label:"):
            blocks[line.split(":", 1)[1].strip()] = cur
for l in sys.argv[1:]:
    b = blocks[l]
    access = [x for x in b if x.startswith("Access:")][0]
    usage = [x for x in b if x.startswith("Usage:")][0]
    assert "sensitive, always sensitive, never extractable" in access, (l, access)
    assert usage.split(":", 1)[1].strip() == "sign", (l, usage)
PY
}
check "pkcs11-tool: the four SSH CA keys are sensitive, never extractable, sign only" \
    ssh_protected ssh-user-ca-1 ssh-host-ca-1 ssh-user-ca-2 ssh-host-ca-2
ssh_transcript_fp() { # LABEL
    $py - "$1" <<'PY'
import json, sys
lines = [json.loads(l) for l in open("out/transcript.jsonl")]
hit = [l for l in lines if l["step"] == "ssh-ca" and l.get("key_label") == sys.argv[1]]
assert hit and all(len(l["spki_sha256"]) == 64 and len(l["key_id"]) == 32 for l in hit)
print(hit[0]["ssh_fingerprint"])
PY
}
cat >cfg/export-ssh.json <<EOF
{ $token, "transcript": "out/transcript.jsonl",
  "ssh": {"user_ca_keys": ["ssh-user-ca-2", "ssh-user-ca-1"],
          "host_ca_keys": ["ssh-host-ca-2", "ssh-host-ca-1"],
          "known_hosts_patterns": ["*.example.com", "[127.0.0.1]:*"],
          "user_ca_output": "out/ssh_user_ca.pub", "host_ca_output": "out/ssh_host_ca.pub",
          "known_hosts_output": "out/ssh_known_hosts"} }
EOF
dry_ssh_export() {
    local plan
    plan=$("$kc" export --config cfg/export-ssh.json --dry-run 2>/dev/null) || return 1
    grep -q 'user CA key 1: ssh-user-ca-2 (must be a protected key on token "types-test"), the newest' <<<"$plan" &&
        [ ! -e out/ssh_user_ca.pub ] && [ ! -e out/ssh_host_ca.pub ] && [ ! -e out/ssh_known_hosts ]
}
check "export --dry-run lists the SSH CA keys newest first and writes nothing" dry_ssh_export
check "export with only an \"ssh\" block" run export --config cfg/export-ssh.json
ssh_listed() { # FILE LABEL...: ssh-keygen -l reads FILE: those keys in that order, fingerprints
    local file=$1 want='' l
    shift
    for l in "$@"; do want="$want$(ssh_transcript_fp "$l") $l "; done
    [ "$(ssh-keygen -l -f "$file" | awk '{print $2 " " $3}' | tr '\n' ' ')" = "$want" ]
}
check "ssh-keygen -l: ssh_user_ca.pub lists ssh-user-ca-2 then -1, fingerprints as in the transcript" \
    ssh_listed out/ssh_user_ca.pub ssh-user-ca-2 ssh-user-ca-1
check "ssh-keygen -l: ssh_host_ca.pub lists ssh-host-ca-2 then -1, fingerprints as in the transcript" \
    ssh_listed out/ssh_host_ca.pub ssh-host-ca-2 ssh-host-ca-1
check "the ssh-ca step's public_key_output is the same line as export's" \
    test "$(cat out/ssh-user-ca-1.pub)" = "$(sed -n 2p out/ssh_user_ca.pub)"
known_hosts_lines() {
    [ "$(cat out/ssh_known_hosts)" = "$(sed 's/^/@cert-authority *.example.com,[127.0.0.1]:* /' out/ssh_host_ca.pub)" ]
}
check "ssh_known_hosts: one @cert-authority line per host CA key, newest first" known_hosts_lines
ssh_rsa_sha512() { head -n 1 out/ssh_user_ca.pub | has '^ssh-rsa '; }
check "the RSA user CA is published as an ssh-rsa key (it signs rsa-sha2-512)" ssh_rsa_sha512

cat >cfg/verify-ssh.json <<EOF
{ $token, "transcript": "out/transcript.jsonl",
  "ssh": {"user_ca": "out/ssh_user_ca.pub", "host_ca": "out/ssh_host_ca.pub",
          "known_hosts": "out/ssh_known_hosts"} }
EOF
verify_ssh_ok() {
    local out
    out=$("$kc" verify --config cfg/verify-ssh.json 2>/dev/null) || return 1
    grep -q "^ok  ssh user_ca: $(ssh_transcript_fp ssh-user-ca-2) is key \"ssh-user-ca-2\" (RSA)" <<<"$out" &&
        grep -q '^ok  ssh user_ca: 2 keys in out/ssh_user_ca.pub' <<<"$out" &&
        grep -q '^ok  ssh host_ca: 2 keys in out/ssh_host_ca.pub' <<<"$out" &&
        grep -q '^ok  known_hosts: out/ssh_known_hosts trusts every host CA key' <<<"$out"
}
check "verify: every published SSH CA line is a protected key on the token" verify_ssh_ok
tampered() { # NAME SED-EXPR: cfg/verify-NAME.json reads a copy of ssh_user_ca.pub edited by SED
    sed "$2" out/ssh_user_ca.pub >"out/ssh_user_ca-$1.pub"
    sed "s|out/ssh_user_ca.pub|out/ssh_user_ca-$1.pub|" cfg/verify-ssh.json >"cfg/verify-$1.json"
}
ssh-keygen -q -t ecdsa -b 256 -N '' -C ssh-user-ca-1 -f out/foreign_ca
foreign_fp=$(ssh-keygen -l -f out/foreign_ca.pub | awk '{print $2}')
tampered foreign "\$r out/foreign_ca.pub"
tampered relabel '1s/ssh-user-ca-2$/ssh-user-ca-1/'
tampered flipped ''
$py - <<'PY'
# one base64 character of the second key's point changed (to another valid character)
lines = open("out/ssh_user_ca.pub").read().split("\n")
t, b, c = lines[1].split(" ", 2)
i = 60
b = b[:i] + ("B" if b[i] != "B" else "C") + b[i + 1:]
lines[1] = " ".join((t, b, c))
open("out/ssh_user_ca-flipped.pub", "w").write("\n".join(lines))
PY
tampered twice '2p'
check_fails "verify fails on a published key that is not on the token, naming it" \
    "$foreign_fp" "$kc" verify --config cfg/verify-foreign.json
check_fails "verify fails when a line's comment names another key" \
    'names "ssh-user-ca-1" but the token'"'"'s key is labelled "ssh-user-ca-2"' \
    "$kc" verify --config cfg/verify-relabel.json
check_fails "verify fails on a line with one base64 character changed" 'out/ssh_user_ca-flipped.pub' \
    "$kc" verify --config cfg/verify-flipped.json
check_fails "verify fails on a key published twice" 'is listed twice' \
    "$kc" verify --config cfg/verify-twice.json
printf '@cert-authority * %s\n' "$(head -n 1 out/ssh_user_ca.pub)" >out/kh-user-ca
sed 's|"known_hosts": "out/ssh_known_hosts"|"known_hosts": "out/kh-user-ca"|' cfg/verify-ssh.json \
    >cfg/verify-kh.json
check_fails "verify fails when known_hosts trusts a user CA key for hosts" \
    'is not a key of the host CA file' "$kc" verify --config cfg/verify-kh.json

# Refusals: each names its field and leaves the token's objects as they were.
before=$(listing)
cat >cfg/ssh-ca-taken.json <<EOF
{ $token, "user_ca": {"label": "ssh-user-ca-new", "type": "EC-P256"},
  "host_ca": {"label": "ssh-host-ca-1", "type": "EC-P256"} }
EOF
check_fails "ssh-ca: a taken host CA label is refused before the user CA key is made" \
    'host_ca.label: a key labelled "ssh-host-ca-1" already exists' \
    "$kc" ssh-ca --config cfg/ssh-ca-taken.json
fault_token="\"token\": {\"module\": \"${HSMSIGN_FAULT_LIB:?}\", \"label\": \"$label\", \"pin_file\": \"$pin\"}"
cat >cfg/ssh-ca-no-eddsa.json <<EOF
{ $fault_token, "user_ca": {"label": "ssh-user-ca-p256", "type": "EC-P256"},
  "host_ca": {"label": "ssh-host-ca-ed", "type": "Ed25519"} }
EOF
no_eddsa() {
    HSMSIGN_FAULT_MODULE=$module HSMSIGN_FAULT_HIDE=CKM_EDDSA,CKM_EC_EDWARDS_KEY_PAIR_GEN \
        "$kc" ssh-ca --config cfg/ssh-ca-no-eddsa.json
}
check_fails "ssh-ca: Ed25519 on a token without CKM_EDDSA is refused, naming the mechanism" \
    'token "types-test"; host_ca.type Ed25519 needs CKM_EDDSA (CloudHSM: hsm2m non-FIPS only); use EC-P384 or RSA-3072; in "host_ca"' \
    no_eddsa
cat >cfg/ssh-ca-rsa2048.json <<EOF
{ $token, "user_ca": {"label": "ssh-user-ca-small", "type": "RSA-2048"} }
EOF
check_fails "ssh-ca: RSA-2048 is refused for a CA" \
    'user_ca.type: RSA-2048 refused; an SSH CA key needs RSA-3072 or RSA-4096' \
    "$kc" ssh-ca --config cfg/ssh-ca-rsa2048.json
printf '{ %s }\n' "$token" >cfg/ssh-ca-empty.json
check_fails "ssh-ca: a config without user_ca and host_ca is refused" \
    'one of "user_ca" and "host_ca" is required' "$kc" ssh-ca --config cfg/ssh-ca-empty.json
sed 's|"host_ca_keys": \["ssh-host-ca-2", "ssh-host-ca-1"\]|"host_ca_keys": ["ssh-user-ca-1"]|; s|out/ssh_|out/dup_|g' \
    cfg/export-ssh.json >cfg/export-ssh-dup.json
check_fails "export: one key as user and host CA is refused" 'is listed twice' \
    "$kc" export --config cfg/export-ssh-dup.json
no_dup_files() { [ ! -e out/dup_user_ca.pub ] && [ ! -e out/dup_host_ca.pub ]; }
check "... and wrote no file" no_dup_files
check "the SSH refusals left the token's object list identical" test "$(listing)" = "$before"
# === end of the SSH CA block ==================================================================

# --- config errors name their field and change nothing ----------------------------------------
before=$(listing)
lists_keys() { grep -q 'label: *t-root$' <<<"$before" && grep -q 'label: *t-jwt-b$' <<<"$before"; }
check "the token listing used for comparisons shows the ceremony's keys" lists_keys
bad() { # NAME BODY: cfg/bad-NAME.json = the token block and BODY
    printf '{ %s, %s }\n' "$token" "$2" >"cfg/bad-$1.json"
}
bad eku '"issuer": {"key": "t-root", "certificate": "out/root.pem"}, "key": {"label": "x1"}, "certificate": {"subject": {"CN": "x"}, "validity_days": 1, "eku": ["codeSigning"], "output": "out/x1.pem"}'
bad nc '"issuer": {"key": "t-root", "certificate": "out/root.pem"}, "key": {"label": "x2"}, "certificate": {"subject": {"CN": "x"}, "validity_days": 1, "name_constraints": {"permitted_dns": ["bad..name"]}, "output": "out/x2.pem"}'
bad url '"issuer": {"key": "t-root", "certificate": "out/root.pem"}, "key": {"label": "x3"}, "certificate": {"subject": {"CN": "x"}, "validity_days": 1, "crl_distribution_point": "ftp://x", "output": "out/x3.pem"}'
bad reason '"issuer": {"key": "t-root", "certificate": "out/root.pem"}, "crl": {"number": 8, "validity_days": 1, "revoked": [{"serial": "01", "reason": "stolen"}], "output": "out/x4.crl"}'
bad serial '"issuer": {"key": "t-root", "certificate": "out/root.pem"}, "crl": {"number": 8, "validity_days": 1, "revoked": [{"serial": "xyz"}], "output": "out/x5.crl"}'
bad when '"issuer": {"key": "t-root", "certificate": "out/root.pem"}, "crl": {"number": 8, "validity_days": 1, "revoked": [{"serial": "01", "revoked_at": "yesterday"}], "output": "out/x6.crl"}'
bad crlfield '"issuer": {"key": "t-root", "certificate": "out/root.pem"}, "crl": {"numbr": 8, "validity_days": 1, "revoked": [], "output": "out/x7.crl"}'
bad same '"issuer": {"key": "t-root-2", "certificate": "out/root2.pem"}, "subject_certificate": "out/root2.pem", "certificate": {"validity_days": 1, "output": "out/x8.pem"}'
check_fails "intermediate: an unknown EKU is named" 'field "eku": entry 0 is not valid' \
    "$kc" intermediate --config cfg/bad-eku.json
check_fails "intermediate: a bad DNS name constraint is named" \
    'field "permitted_dns": entry 0 is not valid' "$kc" intermediate --config cfg/bad-nc.json
check_fails "intermediate: a non-http CRL distribution point is named" \
    'field "crl_distribution_point" must be an http' "$kc" intermediate --config cfg/bad-url.json
check_fails "crl: an unknown reason is named" 'unknown revocation reason "stolen"' \
    "$kc" crl --config cfg/bad-reason.json
check_fails "crl: a non-hex serial is named" 'serial must be hex digits' \
    "$kc" crl --config cfg/bad-serial.json
check_fails "crl: a malformed revocation time is named" 'a time must look like' \
    "$kc" crl --config cfg/bad-when.json
check_fails "crl: an unknown field is named" 'unknown field "numbr"' \
    "$kc" crl --config cfg/bad-crlfield.json
check_fails "cross-sign: a CA crossed with itself is refused" 'the same CA' \
    "$kc" cross-sign --config cfg/bad-same.json
check_fails "retire: a malformed KID is refused" 'KID must be a 43-character' \
    "$kc" jwt-key retire not-a-kid --config cfg/retire.json
check_fails "retire: an unknown KID is refused" 'is not in out/jwks.json' \
    "$kc" jwt-key retire AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA --config cfg/retire.json
printf '{ %s, "so_pin_file": "%s" }\n' "$token" "$work/token/so.pin" >cfg/init-again.json
check_fails "init-token on an existing label is refused" 'already exists' \
    "$kc" init-token --config cfg/init-again.json
check "the refused configs left the token's object list identical" test "$(listing)" = "$before"
no_pin_anywhere() { ! grep -rqF -f "$pin" out cfg; }
check "no PIN in any output, config or transcript" no_pin_anywhere
finish
