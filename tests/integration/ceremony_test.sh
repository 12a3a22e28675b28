#!/usr/bin/env bash
# The key ceremony on a fresh SoftHSM2 token, checked with independent tools: openssl verify
# -x509_strict, GnuTLS certtool --verify-chain, python3-jwcrypto for the JWKS, pkcs11-tool for
# the keys' protection. Negative cases: every refusal names its field and leaves the token as
# it was.
. "$(dirname "$0")/lib.sh"
require openssl certtool pkcs11-tool script
kc=${KEYCEREMONY:?}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir -p out cfg
label=kc-test
new_token "$work/token" "$label"
module=/usr/lib/softhsm/libsofthsm2.so
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$work/token/user.pin\"}"

cat >cfg/root.json <<EOF
{ $token, "transcript": "out/transcript.jsonl",
  "key": {"label": "test-root", "type": "EC-P384"},
  "certificate": {"subject": {"C": "DE", "O": "hsmsign test", "CN": "Test Root CA"},
                  "validity_days": 3650, "output": "out/root.pem"} }
EOF
cat >cfg/intermediate.json <<EOF
{ $token, "transcript": "out/transcript.jsonl",
  "issuer": {"key": "pkcs11:token=$label;object=test-root;type=private", "certificate": "out/root.pem"},
  "key": {"label": "test-issuing", "type": "RSA-3072"},
  "certificate": {"subject": {"O": "hsmsign test", "CN": "Test Issuing CA"},
                  "validity_days": 1825, "path_len": 0, "output": "out/intermediate.pem"} }
EOF
cat >cfg/jwt-es256.json <<EOF
{ $token, "transcript": "out/transcript.jsonl",
  "key": {"label": "test-jwt-es256", "type": "EC-P256"}, "alg": "ES256",
  "jwk_output": "out/jwt-es256.jwk.json" }
EOF
cat >cfg/jwt-rs256.json <<EOF
{ $token, "transcript": "out/transcript.jsonl",
  "key": {"label": "test-jwt-rs256", "type": "RSA-2048"}, "alg": "RS256",
  "jwk_output": "out/jwt-rs256.jwk.json" }
EOF
cat >cfg/export.json <<EOF
{ $token, "transcript": "out/transcript.jsonl",
  "root_certificate": "out/root.pem", "intermediate_certificate": "out/intermediate.pem",
  "jwt_keys": [{"key": "test-jwt-es256", "alg": "ES256"}, {"key": "test-jwt-rs256"}],
  "truststore_output": "out/truststore.pem", "jwks_output": "out/jwks.json" }
EOF

run() { "$kc" "$1" --config "cfg/$2.json" 2>>out/ceremony.log; }
check "root ceremony" run root root
check "intermediate ceremony" run intermediate intermediate
check "jwt-key ceremony (ES256)" run jwt-key jwt-es256
check "jwt-key ceremony (RS256)" run jwt-key jwt-rs256
check "export" run export export

check "openssl verify -x509_strict: root is a valid self-signed anchor" \
    openssl verify -x509_strict -check_ss_sig -CAfile out/root.pem out/root.pem
check "openssl verify -x509_strict: intermediate under root" \
    openssl verify -x509_strict -CAfile out/root.pem out/intermediate.pem
certtool_chain() {
    certtool --verify-chain --infile out/truststore.pem | has "Chain verification output: Verified"
}
check "certtool --verify-chain accepts truststore.pem (intermediate, then root)" certtool_chain
truststore_order() {
    [ "$(grep -c 'BEGIN CERTIFICATE' out/truststore.pem)" = 2 ] &&
        openssl x509 -in out/truststore.pem -noout -subject | has "Test Issuing CA"
}
check "truststore.pem is the intermediate then the root" truststore_order

text() { openssl x509 -in "out/$1.pem" -noout -text; }
root_profile() {
    text root | grep -A1 'Basic Constraints: critical' | has 'CA:TRUE' &&
        text root | grep -A1 'Key Usage: critical' | has 'Certificate Sign, CRL Sign' &&
        text root | has 'Subject Key Identifier'
}
check "root: BasicConstraints critical CA:TRUE, KeyUsage critical keyCertSign+cRLSign, SKI" \
    root_profile
intermediate_profile() {
    local ski aki
    ski=$(text root | grep -A1 'Subject Key Identifier' | tail -1 | tr -d ' ')
    aki=$(text intermediate | grep -A1 'Authority Key Identifier' | tail -1 | tr -d ' ')
    text intermediate | grep -A1 'Basic Constraints: critical' | has 'CA:TRUE, pathlen:0' &&
        text intermediate | grep -A1 'Key Usage: critical' | has 'Certificate Sign, CRL Sign' &&
        [ -n "$ski" ] && [ "$ski" = "$aki" ]
}
check "intermediate: CA:TRUE pathlen:0 critical, KeyUsage critical, SKI and AKI = root SKI" \
    intermediate_profile
serials_128_bit() {
    local c s
    for c in root intermediate; do
        s=$(openssl x509 -in "out/$c.pem" -noout -serial | cut -d= -f2)
        [ ${#s} -eq 32 ] || return 1
    done
}
check "serials are 128-bit positive random numbers" serials_128_bit
algorithms() {
    text intermediate | has 'Signature Algorithm: ecdsa-with-SHA384' &&
        text intermediate | has 'Public-Key: (3072 bit)'
}
check "intermediate signed with ecdsa-with-SHA384 by the root, its key RSA 3072" algorithms

check "python3-jwcrypto loads jwks.json; kids are RFC 7638 thumbprints; algs as configured" \
    $py - <<'PY'
import json
from jwcrypto import jwk
doc = json.load(open("out/jwks.json"))
keys = jwk.JWKSet.from_json(json.dumps(doc))["keys"]
assert len(keys) == 2, keys
algs = sorted(k.get("alg") for k in keys)
assert algs == ["ES256", "RS256"], algs
for k in keys:
    assert k.get("kid") == k.thumbprint(), (k.get("kid"), k.thumbprint())
    assert k.get("use") == "sig"
    assert not k.has_private
single = jwk.JWK.from_json(open("out/jwt-es256.jwk.json").read())
assert single.thumbprint() in [k.get("kid") for k in keys]
PY

keys_protected() {
    local keys
    keys=$(list_private_keys "$label" "$work/token/user.pin")
    [ "$(grep -c 'Private Key Object' <<<"$keys")" -eq 4 ] &&
        [ "$(grep -c 'Access: *sensitive, always sensitive, never extractable' <<<"$keys")" -eq 4 ] &&
        [ "$(grep -c 'Usage: *sign$' <<<"$keys")" -eq 4 ]
}
check "pkcs11-tool: four private keys, each sensitive, never extractable, usage sign only" \
    keys_protected
hidden_without_login() { # CKA_PRIVATE: not even listed to a session that has not logged in
    local listed
    listed=$(pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label "$label" \
        --list-objects 2>&1) || return 1
    grep -q 'Public Key Object' <<<"$listed" && ! grep -q 'Private Key Object' <<<"$listed"
}
check "pkcs11-tool without login sees the public keys but no private key (CKA_PRIVATE)" \
    hidden_without_login
check "transcript: one JSON object per line with step, token and SPKI/cert digests" $py - <<'PY'
import json
lines = [json.loads(l) for l in open("out/transcript.jsonl")]
steps = [l["step"] for l in lines]
assert steps.count("root") == 2 and steps.count("intermediate") == 2, steps
assert steps.count("jwt-key") == 4 and steps.count("export") == 2, steps
events = [(l["step"], l["event"]) for l in lines]
assert ("root", "key generated") in events and ("root", "certificate written") in events
jwt = [l for l in lines if l["step"] == "jwt-key"]
assert all(len(l["kid"]) == 43 for l in jwt), jwt
for l in lines:
    assert l["token_label"] == "kc-test" and "time" in l
assert all(len(l["spki_sha256"]) == 64 for l in lines if "key_label" in l)
assert any(len(l.get("cert_sha256", "")) == 64 for l in lines)
PY
no_pin_in() { ! grep -rqF -f "$work/token/user.pin" "$@"; }
check "no PIN in the transcript, the logs or any output" no_pin_in out

# --- refusals: each names its field and changes nothing on the token ---------------------------
before=$(object_count "$label" "$work/token/user.pin")
check_fails "an existing output is refused before the token is touched" \
    "already exists" "$kc" root --config cfg/root.json
sed 's|out/root.pem|out/root3.pem|' cfg/root.json >cfg/root-dup-label.json
check_fails "a key label that exists on the token is refused" \
    'labelled "test-root" already exists' "$kc" root --config cfg/root-dup-label.json
sed 's/"EC-P384"/"RSA-1024"/; s|out/root.pem|out/root4.pem|; s/test-root/test-root-4/' \
    cfg/root.json >cfg/rsa1024.json
check_fails "RSA-1024 is refused, naming key.type" "key.type: RSA-1024 refused" \
    "$kc" root --config cfg/rsa1024.json
sed 's/"EC-P384"/"EC-P521"/; s|out/root.pem|out/root5.pem|; s/test-root/test-root-5/' \
    cfg/root.json >cfg/p521.json
check_fails "an unknown curve is refused, naming key.type" "key.type: unknown key type EC-P521" \
    "$kc" root --config cfg/p521.json
sed 's/"validity_days": 1825/"validity_days": 4000/; s|out/intermediate.pem|out/int2.pem|; s/test-issuing/test-issuing-2/' \
    cfg/intermediate.json >cfg/int-too-long.json
check_fails "an intermediate outliving the root is refused, naming validity_days" \
    "certificate.validity_days: the new certificate would outlive issuer.certificate" \
    "$kc" intermediate --config cfg/int-too-long.json
sed 's/"transcript"/"transcrypt"/' cfg/root.json >cfg/typo.json
check_fails "an unknown config key is refused by name" 'unknown field "transcrypt"' \
    "$kc" root --config cfg/typo.json
sed 's/"validity_days": 3650,//; s|out/root.pem|out/root6.pem|' cfg/root.json >cfg/no-days.json
check_fails "a missing field is named" 'field "validity_days" is required' \
    "$kc" root --config cfg/no-days.json
sed 's/"ES256"/"RS256"/; s|jwt-es256.jwk.json|x.jwk.json|; s/test-jwt-es256/test-jwt-x/' \
    cfg/jwt-es256.json >cfg/jwt-mismatch.json
check_fails "a JWS alg that does not fit the key type is refused" "alg: RS256 does not fit" \
    "$kc" jwt-key --config cfg/jwt-mismatch.json
sed "s|$work/token/user.pin|$work/token/missing.pin|; s|out/root.pem|out/root7.pem|; s/test-root/test-root-7/" \
    cfg/root.json >cfg/no-pin.json
check_fails "a missing PIN file is refused" "missing.pin" "$kc" root --config cfg/no-pin.json
chmod 644 "$work/token/user.pin"
sed 's|out/root.pem|out/root8.pem|; s/test-root/test-root-8/' cfg/root.json >cfg/loose-pin.json
check_fails "a PIN file readable by others is refused" "readable or writable by group or others" \
    "$kc" root --config cfg/loose-pin.json
chmod 600 "$work/token/user.pin"
same_objects() {
    [ "$before" -ge 8 ] && [ "$(object_count "$label" "$work/token/user.pin")" = "$before" ]
}
check "the refusals left the token's objects as they were (8 key objects)" same_objects
usage_exit() {
    local rc=0
    "$kc" root >/dev/null 2>&1 || rc=$?
    [ "$rc" -eq 2 ]
}
check "usage errors exit 2" usage_exit
finish
