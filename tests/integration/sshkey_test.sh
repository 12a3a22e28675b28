#!/usr/bin/env bash
# Server-side SSH key generation (issue 11, deliverable 3) against a real hsmsignd on a fresh
# SoftHSM2 token and a real OpenSSH sshd on 127.0.0.1 (ssh_lib.sh): POST /v1/ssh/keys -> 202
# with Location; GET /v1/ssh/keys/{id} -> pending, then the key and its certificate once, then
# 404; a key of each type (Ed25519, RSA-2048, RSA-4096) logs in; a sealed result (libsodium
# crypto_box_seal to the "recipient") opens with the right X25519 key only (PyNaCl); another
# principal gets 404 and does not consume the result; a denied request gets 403 with its reason
# at once; bad key types, recipients and request ids get 400/404; a full queue gets 503 with
# Retry-After; a job that fails when it runs (the inventory locked) answers "failed" with the
# synchronous route's error; an unfetched result is wiped after result_ttl_seconds
# (ssh.keygen.expired); no
# private key appears in hsmsignd's log; the Lambda front end answers the two routes.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
require openssl curl
ssh_require
if ! $py -c 'import nacl.public' 2>/dev/null; then
    [ "${CI:-}" != true ] || { echo "missing dependency under CI: python3-nacl" >&2; exit 1; }
    echo "python3-nacl is not installed (scripts/deps.sh): skipped"
    exit 77
fi
hsmsignd=${HSMSIGND:?} kc=${KEYCEREMONY:?}
work=$(mktemp -d)
rt_pid='' lambda_pid=''
stop_pid() { [ -z "$1" ] || { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }; }
trap 'stop_hsmsignd; stop_pid "$lambda_pid"; stop_pid "$rt_pid"; ssh_sshd_stop; rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir -p out cfg keys
label=sshkey-test
new_token "$work/token" "$label"
module=/usr/lib/softhsm/libsofthsm2.so
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$work/token/user.pin\"}"

small_ceremony sshkey EC-P256 || exit 1
cat >cfg/user-ca.json <<JSON
{ $token, "key": {"label": "ssh-user-ca", "type": "EC-P256"},
  "public_key_output": "out/user-ca.pub.pem" }
JSON
"$kc" key --config cfg/user-ca.json 2>>out/ceremony.log ||
    { echo "keyceremony key failed"; tail -3 out/ceremony.log; exit 1; }

acct=arn:aws:iam::123456789012
alice=$acct:user/alice bob=$acct:user/bob
lambda_arn=arn:aws:sts::111122223333:assumed-role/hsmsign-issuer/ci-session
umask 077
for who in alice bob; do
    head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 >"out/$who.secret"
done
umask 022
akid() { printf 'AKIASSHKEYT%09d' "$1"; }
# out/WHO.curl: each caller's curl config (0600) with its key id and secret, for curl -K.
for who in alice:1 bob:2; do
    sigv4_curl_cfg "out/${who%:*}.curl" "$(akid "${who#*:}")" "out/${who%:*}.secret"
done
# config KEYGEN-JSON OUT: hsmsignd's config with "ssh": {"keygen": KEYGEN-JSON}.
config() {
    cat >"$2" <<EOF
{ "listen": "127.0.0.1:0", $token,
  "ca": {"key": "sshkey-issuing", "chain_file": "out/truststore.pem"},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "https://hsmsign.sshkey.example", "jwks_file": "out/jwks.json"},
  "auth": {"sigv4": {"region": "eu-west-1", "access_keys": [
     {"access_key_id": "$(akid 1)", "secret_file": "out/alice.secret", "principal_arn": "$alice"},
     {"access_key_id": "$(akid 2)", "secret_file": "out/bob.secret", "principal_arn": "$bob"}]}},
  "policy": {"rules": [
    {"principals": ["$alice", "$bob"], "ssh_cert_types": ["user"],
     "ssh_principals": ["\${aws:username}"], "ssh_max_ttl_seconds": 3600},
    {"principals": ["$lambda_arn"], "ssh_cert_types": ["user"],
     "ssh_principals": ["\${aws:username}"]}]},
  "ssh": {"user_ca": ["ssh-user-ca"], "keygen": $1} }
EOF
}
config '{"workers": 2, "queue_max": 16, "result_ttl_seconds": 120}' cfg/hsmsignd.json
start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log || exit 1

# call WHO METHOD PATH [BODY]: the HTTP status; the body goes to out/resp, headers to out/headers.
call() { sigv4_call_as "$1" "$2" "$svc_url$3" "${4:-}" -D out/headers; }
field() { $py -c 'import json,sys; v=json.load(open("out/resp"))[sys.argv[1]]; print(v if isinstance(v, str) else json.dumps(v))' "$1"; }
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
PY
}
# kbody KEY_TYPE PRINCIPALS-JSON [EXTRA-JSON]: a POST /v1/ssh/keys body.
kbody() {
    $py -c 'import json,sys
d = {"key_type": sys.argv[1], "cert_type": "user", "principals": json.loads(sys.argv[2])}
d.update(json.loads(sys.argv[3]))
print(json.dumps(d))' "$1" "$2" "${3:-{\}}"
}
# submit WHO NAME KEY_TYPE PRINCIPALS-JSON [EXTRA-JSON]: 202, the id into out/NAME.id.
submit() {
    local st
    st=$(call "$1" POST /v1/ssh/keys "$(kbody "$3" "$4" "${5:-{\}}")")
    [ "$st" = 202 ] || { echo "     status $st, body $(head -c 300 out/resp)"; return 1; }
    field request_id >"out/$2.id"
    cp out/headers "out/$2.headers"
}
# fetch WHO NAME: polls until the answer is not pending (at most 120 s); the answer goes to
# out/NAME.json, its status is printed.
fetch() {
    local id st
    id=$(cat "out/$2.id")
    for _ in $(seq 1 600); do
        st=$(call "$1" GET "/v1/ssh/keys/$id")
        if [ "$st" != 200 ] || [ "$(field status)" != pending ]; then
            cp out/resp "out/$2.json"
            cp out/headers "out/$2.get-headers"
            echo "$st $(field status 2>/dev/null)"
            return 0
        fi
        sleep 0.2
    done
    echo timeout
}
# save NAME: keys/NAME (private, 0600), keys/NAME.pub, keys/NAME-cert.pub from out/NAME.json;
# a sealed key is opened with keys/NAME.x25519 (the recipient's secret key).
save() {
    $py - "$1" <<'PY'
import base64, json, os, sys
name = sys.argv[1]
d = json.load(open(f"out/{name}.json"))
if "sealed_private_key" in d:
    from nacl.public import PrivateKey, SealedBox
    sk = PrivateKey(open(f"keys/{name}.x25519", "rb").read())
    key = SealedBox(sk).decrypt(base64.b64decode(d["sealed_private_key"])).decode()
else:
    key = d["private_key"]
fd = os.open(f"keys/{name}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, key.encode())
os.close(fd)
open(f"keys/{name}.pub", "w").write(d["public_key"] + "\n")
open(f"keys/{name}-cert.pub", "w").write(d["certificate"] + "\n")
PY
}
# recipient NAME: a fresh X25519 key pair (keys/NAME.x25519), the public half in base64.
recipient() {
    $py - "$1" <<'PY'
import base64, sys
from nacl.public import PrivateKey
sk = PrivateKey.generate()
open(f"keys/{sys.argv[1]}.x25519", "wb").write(bytes(sk))
print(base64.b64encode(bytes(sk.public_key)).decode())
PY
}

# --- a plain Ed25519 key ----------------------------------------------------------------------
check "POST /v1/ssh/keys ed25519 -> 202" submit alice ed ed25519 '["alice"]'
check "... the answer: a 32-hex request_id, status pending" $py - out/resp <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
assert re.fullmatch(r"[0-9a-f]{32}", d["request_id"]) and d["status"] == "pending", d
PY
check "... Location: /v1/ssh/keys/{request_id}" \
    has -i "^location: /v1/ssh/keys/$(cat out/ed.id)"$'\r'"\$" <out/ed.headers
check "GET /v1/ssh/keys/{id} -> 200 done" test "$(fetch alice ed)" = "200 done"
check "... Cache-Control: no-store" has -i '^cache-control: no-store' <out/ed.get-headers
check "... the answer's fields" $py - out/ed.json "$(cat out/ed.id)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["private_key"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n"), d.keys()
assert d["public_key"].startswith("ssh-ed25519 "), d["public_key"]
assert d["certificate"].startswith("ssh-ed25519-cert-v01@openssh.com "), d["certificate"]
assert d["serial"].isdigit() and d["principals"] == ["alice"] and d["key_id"], d["serial"]
assert d["valid_after"].endswith("Z") and d["valid_before"].endswith("Z")
assert "sealed_private_key" not in d
PY
save ed
check "the private key is the public key's (ssh-keygen -y)" \
    test "$(ssh-keygen -y -f keys/ed | cut -d' ' -f1-2)" = "$(cut -d' ' -f1-2 keys/ed.pub)"
check "ssh-keygen -L: a user certificate for alice, serial as answered" eval \
    'ssh-keygen -L -f keys/ed-cert.pub | grep -q "Serial: $($py -c "import json; print(json.load(open(\"out/ed.json\"))[\"serial\"])")"'
check "a second fetch -> 404 not_found" \
    expect "$(call alice GET "/v1/ssh/keys/$(cat out/ed.id)")" 404 not_found

# --- sealed RSA keys, another principal -------------------------------------------------------
check "POST rsa-2048 with a recipient -> 202" \
    submit alice rsa2 rsa-2048 '["alice"]' "{\"recipient\": \"$(recipient rsa2)\", \"key_id\": \"alice-rsa2\"}"
check "POST rsa-4096 with a recipient -> 202" \
    submit alice rsa4 rsa-4096 '["alice"]' "{\"recipient\": \"$(recipient rsa4)\"}"
check "bob polls alice's request -> 404 not_found" \
    expect "$(call bob GET "/v1/ssh/keys/$(cat out/rsa2.id)")" 404 not_found
check "alice's rsa-2048 -> 200 done (bob did not consume it)" test "$(fetch alice rsa2)" = "200 done"
check "alice's rsa-4096 -> 200 done" test "$(fetch alice rsa4)" = "200 done"
check "sealed: sealed_private_key, no private_key, key id as asked" $py - out/rsa2.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert "private_key" not in d and len(d["sealed_private_key"]) > 100, d.keys()
assert d["key_id"] == "alice-rsa2" and d["public_key"].startswith("ssh-rsa "), d
PY
check "the sealed box does not open with another X25519 key" $py - out/rsa2.json <<'PY'
import base64, json, sys
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox
box = base64.b64decode(json.load(open(sys.argv[1]))["sealed_private_key"])
try:
    SealedBox(PrivateKey.generate()).decrypt(box)
except CryptoError:
    sys.exit(0)
sys.exit(1)
PY
save rsa2
save rsa4
check "the RSA-2048 private key is the public key's" \
    test "$(ssh-keygen -y -f keys/rsa2 | cut -d' ' -f1-2)" = "$(cut -d' ' -f1-2 keys/rsa2.pub)"
check "the RSA-4096 key has 4096 bits" has -F '4096 SHA256:' < <(ssh-keygen -l -f keys/rsa4.pub)

# --- logging in -------------------------------------------------------------------------------
ssh_sshd_init "$work/sshd"
ssh_principals alice
call none GET /v1/ssh/ca >/dev/null
$py -c 'import json; print("\n".join(json.load(open("out/resp"))["user_ca"]))' >"$work/trusted_user_cas"
ssh_sshd_start "$work/trusted_user_cas" || exit 1
ssh_check_login "the server-made Ed25519 key logs in" keys/ed keys/ed-cert.pub
ssh_check_login "the server-made RSA-2048 key (sealed) logs in" keys/rsa2 keys/rsa2-cert.pub
ssh_check_login "the server-made RSA-4096 key (sealed) logs in" keys/rsa4 keys/rsa4-cert.pub

# --- refusals ---------------------------------------------------------------------------------
check "a principal the policy denies -> 403 ssh_principal_not_allowed at once" \
    expect "$(call alice POST /v1/ssh/keys "$(kbody ed25519 '["root"]')")" 403 forbidden ssh_principal_not_allowed
check "TTL over the cap -> 403 ssh_ttl_too_long at once" \
    expect "$(call alice POST /v1/ssh/keys "$(kbody ed25519 '["alice"]' '{"ttl_seconds": 7200}')")" 403 forbidden ssh_ttl_too_long
check "key_type ecdsa -> 400 invalid_field" \
    expect "$(call alice POST /v1/ssh/keys "$(kbody ecdsa '["alice"]')")" 400 invalid_field
check "key_type missing -> 400 invalid_field" \
    expect "$(call alice POST /v1/ssh/keys '{"cert_type": "user", "principals": ["alice"]}')" 400 invalid_field
check "public_key is not a member here -> 400 invalid_field" \
    expect "$(call alice POST /v1/ssh/keys "$(kbody ed25519 '["alice"]' '{"public_key": "x"}')")" 400 invalid_field
check "recipient of 31 bytes -> 400 invalid_field" \
    expect "$(call alice POST /v1/ssh/keys "$(kbody ed25519 '["alice"]' "{\"recipient\": \"$(head -c 31 /dev/urandom | base64)\"}")")" 400 invalid_field
check "recipient not base64 -> 400 invalid_field" \
    expect "$(call alice POST /v1/ssh/keys "$(kbody ed25519 '["alice"]' '{"recipient": "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!="}')")" 400 invalid_field
check "key_id with a control character -> 400 invalid_field at once" \
    expect "$(call alice POST /v1/ssh/keys "$(kbody ed25519 '["alice"]' '{"key_id": "a\u0007b"}')")" 400 invalid_field
check "empty principal list -> 400 invalid_field" \
    expect "$(call alice POST /v1/ssh/keys "$(kbody ed25519 '[]')")" 400 invalid_field
check "no credentials -> 401" \
    expect "$(call none POST /v1/ssh/keys "$(kbody ed25519 '["alice"]')")" 401 missing_authentication
check "an unknown request id -> 404 not_found" \
    expect "$(call alice GET /v1/ssh/keys/0123456789abcdef0123456789abcdef)" 404 not_found
check "a malformed request id (uppercase) -> 400 invalid_field" \
    expect "$(call alice GET /v1/ssh/keys/0123456789ABCDEF0123456789ABCDEF)" 400 invalid_field
check "a malformed request id (short) -> 400 invalid_field" \
    expect "$(call alice GET /v1/ssh/keys/0123)" 400 invalid_field

# --- a job that fails when it runs: the inventory is locked past its busy timeout ------------
# Another connection holds an exclusive lock on the SQLite inventory for 9 s; the job passes the
# policy, is generated and signed, but its record cannot be written (5 s busy timeout): the
# certificate is discarded and the result is "failed" with the error the synchronous route gives
# (503 inventory_unavailable).
$py - out/inventory.db out/locked <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
time.sleep(9)
db.execute("ROLLBACK")
PY
locker=$!
for _ in $(seq 1 100); do [ -e out/locked ] && break; sleep 0.05; done
check "a job submitted while the inventory is locked -> 202" submit alice lk ed25519 '["alice"]'
check "... then failed, with the synchronous route's error (inventory_unavailable)" \
    test "$(fetch alice lk)" = "200 failed"
check "... the error object: error, message, the job's request id" $py - out/lk.json "$(cat out/lk.id)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
e = d["error"]
assert e["error"] == "inventory_unavailable" and e["request_id"] == sys.argv[2], d
assert "private_key" not in d and "sealed_private_key" not in d and "certificate" not in d, d
PY
check "... fetched once: then 404" \
    expect "$(call alice GET "/v1/ssh/keys/$(cat out/lk.id)")" 404 not_found
wait "$locker"

# --- no private key in the log ----------------------------------------------------------------
check "hsmsignd logged the jobs (ssh.keygen.queued, ssh.keygen.generated, audit)" eval \
    'grep -q "\"event\":\"ssh.keygen.queued\"" out/hsmsignd.log && grep -q "\"event\":\"ssh.keygen.generated\"" out/hsmsignd.log'
check "no line of any private key is in hsmsignd's log" $py - out/hsmsignd.log keys/ed keys/rsa2 keys/rsa4 <<'PY'
import sys
log = open(sys.argv[1]).read()
for f in sys.argv[2:]:
    body = [l for l in open(f).read().splitlines() if l and not l.startswith("-----")]
    assert len(body) > 3, f
    for l in body:
        assert l not in log, f
PY
stop_hsmsignd

# --- a full queue, and results that expire ----------------------------------------------------
config '{"workers": 1, "queue_max": 1, "result_ttl_seconds": 2, "pending_per_principal_max": 8}' \
    cfg/small.json
start_hsmsignd cfg/small.json out/small.log || exit 1
statuses=''
for _ in 1 2 3 4; do
    st=$(call alice POST /v1/ssh/keys "$(kbody rsa-4096 '["alice"]')")
    statuses="$statuses $st"
    if [ "$st" = 503 ]; then
        cp out/headers out/full.headers
        cp out/resp out/full.json
        break
    fi
done
check "RSA-4096 jobs with 1 worker and queue_max 1: one gets 503 (got$statuses)" \
    test "${statuses##* }" = 503
check "... error queue_full" eval 'cp out/full.json out/resp && expect 503 503 queue_full'
check "... with Retry-After" has -i '^retry-after: [0-9]' <out/full.headers
# Once the queue has room again (the RSA-4096 jobs end, or expire), a job that is never fetched.
for _ in $(seq 1 120); do
    [ "$(call bob POST /v1/ssh/keys "$(kbody ed25519 '["bob"]')")" = 202 ] && break
    sleep 0.5
done
check "bob's job is taken once the queue has room -> 202" test "$(field status)" = pending
bob_id=$(field request_id)
sleep 4
check "an unfetched result is gone after result_ttl_seconds (2 s) -> 404" \
    expect "$(call bob GET "/v1/ssh/keys/$bob_id")" 404 not_found
check "... and the wipe was logged (ssh.keygen.expired with its request id)" \
    $py - out/small.log "$bob_id" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
assert any(l.get("event") == "ssh.keygen.expired" and l.get("request_id") == sys.argv[2]
           for l in lines), "no ssh.keygen.expired line for the request"
PY
stop_hsmsignd

# --- the Lambda front end ---------------------------------------------------------------------
lambda_dir=$repo/tests/lambda
$py - "$lambda_dir/events" <<'PY'
import json, sys
ev_dir = sys.argv[1]
def event(method, path, body=None):
    e = json.load(open(f"{ev_dir}/v2-iam-certificates.json"))
    e["routeKey"] = e["requestContext"]["routeKey"] = f"{method} {path}"
    e["rawPath"] = e["requestContext"]["http"]["path"] = path
    e["requestContext"]["http"]["method"] = method
    e["body"] = json.dumps(body) if body is not None else None
    if body is None:
        e.pop("body")
    return e
evs = {"post": event("POST", "/v1/ssh/keys", {"key_type": "ed25519", "cert_type": "user",
                                               "principals": ["ci-session"]}),
       "deny": event("POST", "/v1/ssh/keys", {"key_type": "ed25519", "cert_type": "user",
                                               "principals": ["root"]}),
       "get": event("GET", "/v1/ssh/keys/0123456789abcdef0123456789abcdef")}
for name, e in evs.items():
    json.dump(e, open(f"out/ev-{name}.json", "w"))
PY
"$py" "$lambda_dir/runtime_api_server.py" --out "$work/rt" --port-file "$work/rt.port" \
    --events out/ev-post.json --events out/ev-deny.json --events out/ev-get.json \
    >out/rt.log 2>&1 &
rt_pid=$!
for _ in $(seq 1 200); do [ -s "$work/rt.port" ] && break; sleep 0.05; done
rt_api=127.0.0.1:$(cat "$work/rt.port")
AWS_LAMBDA_RUNTIME_API=$rt_api HSMSIGN_CONFIG=cfg/hsmsignd.json "$hsmsignd" >out/lambda.log 2>&1 &
lambda_pid=$!
answered() { curl -sS --max-time 90 -o /dev/null -w '%{http_code}' \
    "http://$rt_api/control/result?id=$1&timeout=60" | grep -qx 200; }
check "Lambda: the three events are answered" answered ev-get
lambda_ok() { # ID EXPR over p (the proxy response) and b (its body)
    $py - "$work/rt/$1.json" "$2" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))["body"]
b = json.loads(p.get("body", "{}"))
ok = eval(sys.argv[2])
if not ok:
    print("     response:", json.dumps(p)[:600])
sys.exit(0 if ok else 1)
PY
}
check "Lambda: POST /v1/ssh/keys -> 202 pending with a request id" lambda_ok ev-post \
    'p["statusCode"] == 202 and b["status"] == "pending" and len(b["request_id"]) == 32'
check "Lambda: a denied POST -> 403 ssh_principal_not_allowed" lambda_ok ev-deny \
    'p["statusCode"] == 403 and b["reason"] == "ssh_principal_not_allowed"'
check "Lambda: GET of an unknown request id -> 404" lambda_ok ev-get 'p["statusCode"] == 404'

finish
