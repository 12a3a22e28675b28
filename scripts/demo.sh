#!/usr/bin/env bash
# The end of `quickstart.sh --demo` (run it through quickstart, which sets everything up):
#   demo.sh HSMSIGN_HOME BIN_DIR LISTEN
# Starts hsmsignd, makes a P-256 key and CSR with openssl, requests a certificate and a JWT
# signed with SigV4 (curl --aws-sigv4), verifies the certificate with `openssl verify` against
# the truststore and the JWT against the service's JWKS (Debian's python3-jwt), prints both;
# then makes an Ed25519 key with ssh-keygen, gets an SSH user certificate for it from the SSH
# user CA key in the token, and logs in with it to a throwaway OpenSSH sshd on 127.0.0.1 that
# trusts only the exported ssh_user_ca.pub (tests/integration/ssh_lib.sh starts it); stops the
# service and sshd and exits 0 -- or exits 1 at the first check that fails.
set -euo pipefail

home=${1:?home} bin=${2:?bin} listen=${3:?listen}
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/tests/integration/ssh_lib.sh"
cd "$home"
. var/dev/env
py=/usr/bin/python3 # Debian's python3, which has python3-jwt
work=$(mktemp -d)
log="$work/hsmsignd.log"
pid=
cleanup() {
    ssh_sshd_stop
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
fail() { echo "demo: $*" >&2; [ -f "$log" ] && tail -n 20 "$log" >&2; exit 1; }

say "starting hsmsignd"
HSMSIGN_LISTEN="$listen" "$bin/hsmsignd" --config var/dev/hsmsignd.json >"$log" 2>&1 &
pid=$!
port=
for _ in $(seq 1 100); do
    port=$(grep -m1 '"event":"service.ready"' "$log" 2>/dev/null |
        $py -c 'import json,sys; print(json.loads(sys.stdin.readline())["port"])' 2>/dev/null) || true
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || fail "hsmsignd exited during start-up"
    sleep 0.1
done
[ -n "$port" ] || fail "hsmsignd did not become ready"
endpoint="http://127.0.0.1:$port"
# curl reads the key pair from a 0600 file, never from its command line (ps shows those).
(umask 077 && printf 'user = "%s:%s"\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$work/curl.cfg")
sigv4=(--aws-sigv4 "aws:amz:$AWS_REGION:execute-api" -K "$work/curl.cfg")

say "a P-256 key and CSR, made locally with openssl (the key never leaves this directory)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/demo.key" \
    -subj "/CN=demo.hsmsign.example" -addext "subjectAltName=DNS:demo.hsmsign.example" \
    -out "$work/demo.csr" 2>/dev/null
$py -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "ttl_hours": 12}))' \
    "$work/demo.csr" >"$work/cert-request.json"

say "POST /v1/certificates (SigV4)"
code=$(curl -sS -o "$work/cert.json" -w '%{http_code}' "${sigv4[@]}" \
    -H 'Content-Type: application/json' --data-binary @"$work/cert-request.json" \
    "$endpoint/v1/certificates") || fail "certificate request failed"
[ "$code" = 200 ] || fail "certificate request answered $code: $(cat "$work/cert.json")"
$py - "$work" <<'PY'
import json, sys
w = sys.argv[1]
r = json.load(open(w + "/cert.json"))
open(w + "/demo.pem", "w").write(r["certificate"])
open(w + "/chain.pem", "w").write(r["chain"])
PY
openssl verify -x509_strict -CAfile var/dev/ceremony/root.pem -untrusted "$HSMSIGN_TRUSTSTORE" \
    "$work/demo.pem" || fail "the certificate does not verify against the truststore"
openssl x509 -in "$work/demo.pem" -noout -subject -issuer -serial -dates -ext subjectAltName
cat "$work/demo.pem"

say "POST /v1/tokens (SigV4)"
code=$(curl -sS -o "$work/token.json" -w '%{http_code}' "${sigv4[@]}" \
    -H 'Content-Type: application/json' -d '{"audience": "demo.hsmsign.example", "ttl_seconds": 300}' \
    "$endpoint/v1/tokens") || fail "token request failed"
[ "$code" = 200 ] || fail "token request answered $code: $(cat "$work/token.json")"
curl -sS -o "$work/jwks.json" "$endpoint/.well-known/jwks.json" || fail "JWKS fetch failed"
curl -sS -o "$work/openid.json" "$endpoint/.well-known/openid-configuration" ||
    fail "OpenID configuration fetch failed"
$py - "$work" "$HSMSIGN_ISSUER" <<'PY' || fail "the JWT does not verify against the JWKS"
import json, sys
import jwt
w, issuer = sys.argv[1], sys.argv[2]
discovery = json.load(open(w + "/openid.json"))
assert discovery["issuer"] == issuer, discovery
assert discovery["jwks_uri"] == issuer.rstrip("/") + "/.well-known/jwks.json", discovery
token = json.load(open(w + "/token.json"))["token"]
jwks = jwt.PyJWKSet.from_dict(json.load(open(w + "/jwks.json")))
kid = jwt.get_unverified_header(token)["kid"]
key = next(k for k in jwks.keys if k.key_id == kid)
claims = jwt.decode(token, key.key, algorithms=["ES256"], audience="demo.hsmsign.example",
                    issuer=issuer)
print("JWT verified with python3-jwt against the service's JWKS (kid %s)" % kid)
print(json.dumps(claims, indent=2))
print(token)
PY

say "POST /v1/ssh/certificates (SigV4): an Ed25519 key made here with ssh-keygen, certified by the SSH user CA in the token"
user=$(id -un)
ssh-keygen -q -t ed25519 -N '' -C "hsmsign-demo" -f "$work/id_ed25519"
$py -c 'import json,sys; print(json.dumps({"public_key": open(sys.argv[1]).read().strip(),
    "cert_type": "user", "principals": [sys.argv[2]], "ttl_seconds": 600}))' \
    "$work/id_ed25519.pub" "$user" >"$work/ssh-request.json"
code=$(curl -sS -o "$work/ssh.json" -w '%{http_code}' "${sigv4[@]}" \
    -H 'Content-Type: application/json' --data-binary @"$work/ssh-request.json" \
    "$endpoint/v1/ssh/certificates") || fail "SSH certificate request failed"
[ "$code" = 200 ] || fail "SSH certificate request answered $code: $(cat "$work/ssh.json")"
$py -c 'import json,sys; print(json.load(open(sys.argv[1]))["certificate"])' "$work/ssh.json" \
    >"$work/id_ed25519-cert.pub"
ssh-keygen -L -f "$work/id_ed25519-cert.pub"

say "ssh to a throwaway sshd on 127.0.0.1 that trusts only var/dev/ceremony/ssh_user_ca.pub"
problem=$(ssh_account_problem)
[ -z "$problem" ] || fail "cannot log in to sshd here: $problem"
ssh_sshd_init "$work/sshd"
ssh_principals "$user"
ssh_sshd_start var/dev/ceremony/ssh_user_ca.pub || fail "sshd did not start"
ssh_login "$work/id_ed25519" "$work/id_ed25519-cert.pub" -- \
    echo "logged in to sshd as $user with an hsmsign SSH certificate" ||
    fail "ssh login with the certificate failed: $ssh_err"
echo "$ssh_out"
ssh_sshd_stop

say "demo passed: certificate, JWT and SSH certificate verified; stopping hsmsignd"
