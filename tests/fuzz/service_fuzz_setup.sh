#!/usr/bin/env bash
# service_fuzz's world (tests/fuzz/service_fuzz.c runs this once, from LLVMFuzzerInitialize,
# into a fresh temporary directory it removes at exit):
#   service_fuzz_setup.sh DIR KEYCEREMONY
# DIR/token: a SoftHSM2 token made as the tests make theirs (softhsm/init-token.sh; PINs in
# 0600 files), on which the key ceremony makes an EC P-256 root and issuing CA and two JWT keys
# (ES256, RS256) in one JWK Set; DIR/cfg/hsmsignd.json: the service config (SQLite inventory in
# DIR/out, three SigV4 access keys whose secrets are DIR/out/<who>.secret, a trusted mTLS proxy
# on 127.0.0.1, and the policy the fuzz target's oracle checks against). SOFTHSM2_CONF is
# DIR/token/softhsm2.conf. Prints nothing on success; the ceremony's log is DIR/out/ceremony.log.
set -euo pipefail
dir=${1:?usage: service_fuzz_setup.sh DIR KEYCEREMONY}
kc=${2:?usage: service_fuzz_setup.sh DIR KEYCEREMONY}
repo=$(cd "$(dirname "$0")/../.." && pwd)
module=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
label=fuzz
cd "$dir"
mkdir -p out cfg
KEYCEREMONY=$kc "$repo/softhsm/init-token.sh" "$dir/token" "$label" >/dev/null
export SOFTHSM2_CONF=$dir/token/softhsm2.conf
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$dir/token/user.pin\"}"

cat >cfg/root.json <<JSON
{ $token, "key": {"label": "fuzz-root"},
  "certificate": {"subject": {"CN": "Fuzz Root"}, "validity_days": 30, "output": "out/root.pem"} }
JSON
cat >cfg/int.json <<JSON
{ $token, "issuer": {"key": "fuzz-root", "certificate": "out/root.pem"},
  "key": {"label": "fuzz-issuing"},
  "certificate": {"subject": {"CN": "Fuzz Issuing"}, "validity_days": 10, "output": "out/int.pem"} }
JSON
cat >cfg/jwt-es.json <<JSON
{ $token, "key": {"label": "fuzz-jwt-es"}, "alg": "ES256", "jwks": "out/jwks.json" }
JSON
cat >cfg/jwt-rs.json <<JSON
{ $token, "key": {"label": "fuzz-jwt-rs", "type": "RSA-2048"}, "alg": "RS256",
  "jwks": "out/jwks.json" }
JSON
for step in root:root intermediate:int jwt-key:jwt-es jwt-key:jwt-rs; do
    "$kc" "${step%%:*}" --config "cfg/${step#*:}.json" 2>>out/ceremony.log ||
        { echo "service_fuzz_setup: ceremony step $step failed" >&2; tail -3 out/ceremony.log >&2; exit 1; }
done
cat out/int.pem out/root.pem >out/chain.pem

umask 077
for who in device admin stranger; do
    head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 >"out/$who.secret"
done
umask 022
acct=arn:aws:iam::123456789012
cat >cfg/hsmsignd.json <<JSON
{ "listen": "127.0.0.1:0",
  $token,
  "ca": {"key": "fuzz-issuing", "chain_file": "$dir/out/chain.pem", "default_ttl_hours": 12,
         "crl_url": "http://pki.fuzz.example/v1/crl", "crl_validity_hours": 24},
  "inventory": {"sqlite": "$dir/out/inventory.db"},
  "jwt": {"issuer": "https://hsmsign.fuzz.example", "jwks_file": "$dir/out/jwks.json",
          "default_alg": "ES256"},
  "auth": {"sigv4": {"region": "eu-west-1", "access_keys": [
             {"access_key_id": "AKIAFUZZSERVICE00001", "secret_file": "$dir/out/device.secret",
              "principal_arn": "$acct:role/fuzz-device"},
             {"access_key_id": "AKIAFUZZSERVICE00002", "secret_file": "$dir/out/admin.secret",
              "principal_arn": "$acct:role/pki-admin"},
             {"access_key_id": "AKIAFUZZSERVICE00003", "secret_file": "$dir/out/stranger.secret",
              "principal_arn": "$acct:role/stranger"}]},
           "mtls": {"proxy_header": "X-Client-Cert", "trusted_proxies": ["127.0.0.1"]}},
  "policy": {"admins": ["$acct:role/pki-*"], "rules": [
    {"principals": ["$acct:role/fuzz-*"], "profiles": ["client", "server"],
     "cn_patterns": ["fuzz-*"], "dns_patterns": ["*.fuzz.example"],
     "email_patterns": ["*@fuzz.example"], "uri_patterns": ["spiffe://fuzz.example/*"],
     "ip_ranges": ["10.0.0.0/8"], "max_cert_ttl_hours": 24,
     "audiences": ["fuzz-aud", "https://api.fuzz.example"], "max_token_ttl_seconds": 600},
    {"principals": ["x509:CN=fuzz-*"], "audiences": ["fuzz-aud"], "max_token_ttl_seconds": 300}
  ]} }
JSON
