#!/usr/bin/env bash
# The SSH CA service's error paths (issue 11) against a real hsmsignd on a fresh SoftHSM2 token:
#   - start: an "ssh" CA key reference that the token does not hold, or that names the wrong
#     kind of object, stops hsmsignd before it serves, naming the field (ssh.user_ca[N]); so does
#     one token key listed twice (as user and host CA, or twice in a list, under two references);
#   - POST /v1/ssh/certificates while the inventory cannot take the write (SQLite locked by
#     another connection past the busy timeout; the file unable to grow) -> 503
#     inventory_unavailable with Retry-After, no certificate in the answer, no row, audited as
#     sign.ssh_cert.discarded (never recorded);
#   - the token failing C_Sign (tests/testlib/p11_fault.h between hsmsignd and SoftHSM2) ->
#     503 hsm_* with Retry-After: 1, no certificate, no row, audited as sign.ssh_cert.failed;
#     a single failure is absorbed by the pool's session recovery (200, recorded once);
#   - an oversize public key line (over SGN_SSH_LINE_MAX in a body that fits) -> 413
#     too_large, a comment over SGN_SSH_COMMENT_MAX -> 400, a body over API_BODY_MAX -> 413, a
#     cut-off one -> 400; nothing recorded;
#   - every certificate that was handed out has its inventory row (serial, kind ssh, the
#     SHA-256 of the certificate blob), and no row exists for an answer that was not a 200.
# (The "ssh" config member's syntax errors are tests/unit/api_config_test.c.)
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
require openssl curl sqlite3 ssh-keygen
hsmsignd=${HSMSIGND:?} kc=${KEYCEREMONY:?} fault=${HSMSIGN_FAULT_LIB:?}
work=$(mktemp -d)
holder=
trap 'stop_hsmsignd; [ -z "$holder" ] || kill "$holder" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir -p out cfg keys
label=ssh-err-test
new_token "$work/token" "$label"
module=/usr/lib/softhsm/libsofthsm2.so

# --- ceremony: the X.509 keys hsmsignd needs, and an SSH user CA key (EC-P256) ----------------
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$work/token/user.pin\"}"
small_ceremony sshe EC-P256 || exit 1
cat >cfg/ssh-ca.json <<EOF
{ $token, "transcript": "out/transcript.jsonl",
  "user_ca": {"label": "sshe-user-ca", "type": "EC-P256", "public_key_output": "out/user_ca.pub"} }
EOF
"$kc" ssh-ca --config cfg/ssh-ca.json >>out/ceremony.log 2>&1 ||
    { echo "keyceremony ssh-ca failed"; tail -3 out/ceremony.log; exit 1; }

arn=arn:aws:iam::123456789012:user/alice
akid=AKIASSHERRTEST000001
(umask 077 && head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 >out/secret)
sigv4_curl_cfg out/curl.cfg "$akid" out/secret
# write_config USER_CA_JSON_LIST [MODULE]: the service config; the token through MODULE
# (default SoftHSM2 itself).
write_config() {
    cat >cfg/hsmsignd.json <<EOF
{ "listen": "127.0.0.1:0",
  "token": {"module": "${2:-$module}", "label": "$label", "pin_file": "$work/token/user.pin",
            "pool_size": 2},
  "ca": {"key": "sshe-issuing", "chain_file": "out/truststore.pem"},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "https://hsmsign.sshe.example", "jwks_file": "out/jwks.json"},
  "auth": {"sigv4": {"region": "eu-west-1", "access_keys": [
     {"access_key_id": "$akid", "secret_file": "out/secret", "principal_arn": "$arn"}]}},
  $(permissive_policy "$arn"),
  "ssh": {"user_ca": $1} }
EOF
}

# --- start: bad CA key references -----------------------------------------------------------
# refused_at_start TEXT: hsmsignd exits 1 before serving, and its log says TEXT (one that
# starts serving is stopped after 20 s and fails the check).
refused_at_start() {
    local rc=0
    timeout 20 "$hsmsignd" --config cfg/hsmsignd.json >out/start.log 2>&1 || rc=$?
    if [ "$rc" -ne 1 ] || ! grep -qF -- "$1" out/start.log ||
        grep -q '"event":"service.ready"' out/start.log; then
        echo "     exit $rc: $(tail -n 2 out/start.log)"
        return 1
    fi
}
write_config '["sshe-user-ca", "sshe-no-such-key"]'
check "ssh.user_ca[1] names a key the token does not hold: hsmsignd refuses to start, naming it" \
    refused_at_start 'ssh.user_ca[1]'
write_config "[\"pkcs11:token=another-token;object=sshe-user-ca;type=private\"]"
check "ssh.user_ca[0] names another token: refused at start, naming the field" \
    refused_at_start 'ssh.user_ca[0]'
write_config '["pkcs11:object=sshe-user-ca;type=secret-key"]'
check "ssh.user_ca[0] asks for a secret key: refused at start, naming the field" \
    refused_at_start 'ssh.user_ca[0]'
write_config '["pkcs11:object=sshe-user-ca;colour=blue"]'
check "ssh.user_ca[0] is not a PKCS#11 URI hsmsign reads: refused at start, naming the field" \
    refused_at_start 'ssh.user_ca[0]'
# One token key in two places (by label and by URI, so the config's own duplicate check on the
# strings cannot see it): as user and host CA it would serve both roles, which keyceremony ssh-ca
# refuses too; twice in one list it would be published and get a KRL section twice.
write_config '["sshe-user-ca"], "host_ca": ["pkcs11:object=sshe-user-ca;type=private"]'
check "the same key as ssh.user_ca[0] and ssh.host_ca[0]: refused at start, naming both" \
    refused_at_start 'ssh.host_ca[0] is the same key as ssh.user_ca[0]'
write_config '["sshe-user-ca", "pkcs11:token='"$label"';object=sshe-user-ca;type=private"]'
check "the same key twice in ssh.user_ca: refused at start, naming both entries" \
    refused_at_start 'ssh.user_ca[1] is the same key as ssh.user_ca[0]'
# One key, one role: the issuing CA's key or a JWT key (all EC-P256 here, so keyceremony's own
# type checks do not stand in the way) is refused as an SSH CA key.
write_config '["sshe-issuing"]'
check "the issuing CA's key as ssh.user_ca[0]: refused at start, naming the role" \
    refused_at_start "the key is the issuing CA's key (ca_key); an SSH CA key has one role"
write_config '["sshe-user-ca"], "host_ca": ["sshe-jwt"]'
check "a JWT key as ssh.host_ca[0]: refused at start, naming the role and the field" \
    eval 'refused_at_start "the key is JWT key 0 (kid " &&
    grep -qF "(ssh.host_ca[0])" out/start.log'

# --- the service ------------------------------------------------------------------------------
write_config '["sshe-user-ca"]'
start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log || exit 1
log=out/hsmsignd.log
ssh-keygen -q -t ed25519 -N '' -C subject -f keys/subject
# SIGHUP with the SSH user CA's key as the JWT key: the reload checks the new JWT keys against
# the running SSH CAs (one key, one role) and fails, naming the field; the service serves on.
sed -i 's|"jwks_file": "out/jwks.json"|"keys": [{"key": "sshe-user-ca", "alg": "ES256"}]|' \
    cfg/hsmsignd.json
kill -HUP "$svc_pid"
reload_refused() {
    for _ in $(seq 1 100); do
        grep -q '"event":"config.reload.failed"' "$log" && break
        sleep 0.05
    done
    grep '"event":"config.reload.failed"' "$log" | has 'one role.*ssh.user_ca' &&
        kill -0 "$svc_pid"
}
check "SIGHUP: an SSH CA key as the new JWT key is refused (one role, ssh.user_ca); serving on" \
    reload_refused
write_config '["sshe-user-ca"]'
# call BODY_FILE: POST /v1/ssh/certificates; the status on stdout, out/resp and out/resp.h.
call() {
    sigv4_call aws:amz:eu-west-1:execute-api out/curl.cfg POST "$svc_url/v1/ssh/certificates" "$1" \
        -D out/resp.h
}
$py - keys/subject.pub <<'PY' >out/ok.json
import json, sys
print(json.dumps({"public_key": open(sys.argv[1]).read().strip(), "cert_type": "user",
                  "principals": ["alice"], "ttl_seconds": 600}))
PY
rows() { sqlite3 out/inventory.db "SELECT count(*) FROM certificates"; }
# handed out: every serial of a 200 answer (appended to out/issued) must have its row.
: >out/issued
issued_ok() { # BODY_FILE
    local st
    st=$(call "$1")
    [ "$st" = 200 ] || { echo "     status $st: $(head -c 300 out/resp)"; return 1; }
    $py - out/resp >>out/issued <<'PY'
import base64, hashlib, json, sys
d = json.load(open(sys.argv[1]))
blob = base64.b64decode(d["certificate"].split()[1])
print(d["serial"], hashlib.sha256(blob).hexdigest())
PY
}
check "a first certificate (200)" issued_ok out/ok.json

# unavailable STATUS ERROR RETRY_AFTER ROWS_BEFORE [EVENT]: out/resp is STATUS ERROR, with
# Retry-After (RETRY_AFTER exactly, or any positive number for "any"), no certificate and no
# serial; the inventory still has ROWS_BEFORE rows; with EVENT, the log's lines of that request
# have EVENT (audit) and no sign.ssh_cert.recorded.
unavailable() {
    local retry
    retry=$(tr -d '\r' <out/resp.h | sed -n 's/^[Rr]etry-[Aa]fter: //p')
    if [ "$3" = any ]; then
        [[ "$retry" =~ ^[1-9][0-9]*$ ]] || { echo "     Retry-After: '$retry'"; return 1; }
    else
        [ "$retry" = "$3" ] || { echo "     Retry-After: '$retry'"; return 1; }
    fi
    [ "$(rows)" = "$4" ] || { echo "     rows $(rows), want $4"; return 1; }
    ! grep -q 'cert-v01@openssh.com' out/resp || return 1
    $py - "$1" "$2" "$log" "${5:-}" <<'PY'
import json, sys
status, error, log, event = sys.argv[1:5]
d = json.load(open("out/resp"))
assert set(d) == {"error", "message", "request_id"}, d
assert d["error"] == error and d["message"], d
if event:
    L = [json.loads(l) for l in open(log) if l.startswith("{")]
    mine = [l for l in L if l.get("req_id") == d["request_id"]]
    assert [l for l in mine if l["event"] == event and l.get("audit") is True], mine
    assert not [l for l in mine if l["event"] == "sign.ssh_cert.recorded"], mine
PY
}

# --- the inventory cannot take the write -------------------------------------------------------
locked_inventory() {
    local before st
    before=$(rows)
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
    st=$(call out/ok.json)
    touch out/unlock
    wait "$holder" || return 1
    holder=
    [ "$st" = 503 ] || { echo "     status $st: $(head -c 300 out/resp)"; return 1; }
    unavailable 503 inventory_unavailable any "$before" sign.ssh_cert.discarded
}
check "inventory locked (SQLite, past the busy timeout): 503 inventory_unavailable, Retry-After, no certificate, no row, audited as discarded" \
    locked_inventory
check "once the inventory is free again: 200" issued_ok out/ok.json
store_full() {
    local before st
    before=$(rows)
    prlimit --pid "$svc_pid" --fsize=1:unlimited || return 1
    st=$(call out/ok.json)
    prlimit --pid "$svc_pid" --fsize=unlimited:unlimited
    [ "$st" = 503 ] || { echo "     status $st: $(head -c 300 out/resp)"; return 1; }
    # The log file could not grow either: no audit line to look for here.
    unavailable 503 inventory_unavailable any "$before"
}
if command -v prlimit >/dev/null; then
    check "the inventory's file cannot grow: 503 inventory_unavailable, Retry-After, no certificate, no row" \
        store_full
    check "once it can grow again: 200" issued_ok out/ok.json
fi

# --- oversize and cut-off input ---------------------------------------------------------------
# An Ed25519 line with a comment that makes it 8193 bytes: over SGN_SSH_LINE_MAX (8192), in a
# body far under API_BODY_MAX.
$py - keys/subject.pub 8193 <<'PY' >out/long-line.json
import json, sys
line = open(sys.argv[1]).read().strip().split()[:2]
text = " ".join(line) + " "
text += "c" * (int(sys.argv[2]) - len(text))
assert len(text) == int(sys.argv[2])
print(json.dumps({"public_key": text, "cert_type": "user", "principals": ["alice"]}))
PY
# The longest comment a key line may carry (SGN_SSH_COMMENT_MAX, 1024 bytes), and one more.
comment_body() { # BYTES: an Ed25519 line whose comment has BYTES bytes
    $py - keys/subject.pub "$1" <<'PY'
import json, sys
text = " ".join(open(sys.argv[1]).read().split()[:2]) + " " + "c" * int(sys.argv[2])
print(json.dumps({"public_key": text, "cert_type": "user", "principals": ["alice"]}))
PY
}
comment_body 1024 >out/comment-1024.json
comment_body 1025 >out/comment-1025.json
# An RSA key blob of 70 KB of base64: the body itself is over API_BODY_MAX (64 KiB).
$py - <<'PY' >out/huge.json
import base64, json
blob = b"\x00\x00\x00\x07ssh-rsa" + b"\x00" * 52000
print(json.dumps({"public_key": "ssh-rsa " + base64.b64encode(blob).decode(),
                  "cert_type": "user", "principals": ["alice"]}))
PY
head -c 100 out/ok.json >out/cut.json
# refused FILE STATUS ERROR: nothing recorded, no certificate in the answer.
refused() {
    local before st
    before=$(rows)
    st=$(call "$1")
    [ "$st" = "$2" ] || { echo "     status $st: $(head -c 300 out/resp)"; return 1; }
    [ "$(rows)" = "$before" ] && ! grep -q 'cert-v01@openssh.com' out/resp &&
        $py -c 'import json,sys; d=json.load(open("out/resp")); assert d["error"] == sys.argv[1], d' "$3"
}
check "a public key line of 8193 bytes (over SGN_SSH_LINE_MAX) -> 413 too_large, nothing recorded" \
    refused out/long-line.json 413 too_large
check "a key line whose comment is 1025 bytes (over SGN_SSH_COMMENT_MAX) -> 400 invalid_field, nothing recorded" \
    refused out/comment-1025.json 400 invalid_field
check "a key line with a 1024-byte comment (the limit) -> 200" issued_ok out/comment-1024.json
check "a body over API_BODY_MAX (a 70 KB key line) -> 413, nothing recorded" \
    refused out/huge.json 413 too_large
check "a cut-off JSON body -> 400, nothing recorded" refused out/cut.json 400 invalid_json
stop_hsmsignd

# --- the token fails C_Sign ------------------------------------------------------------------
# The fault module (tests/testlib/p11_fault.h) forwards to SoftHSM2 and fails C_Sign as
# $HSMSIGN_FAULT says. hsmsignd makes no C_Sign while it starts, so every C_Sign counted is a
# request's. The pool treats CKR_DEVICE_ERROR as a lost session: it reopens one, logs in again
# and retries (P11_POOL_RETRIES, 3), so a token that keeps failing costs 4 C_Sign attempts and
# then the request fails, while a single failure is absorbed.
# fault_start SPEC LOG: hsmsignd on the token through the fault module with rules SPEC.
fault_start() {
    write_config '["sshe-user-ca"]' "$fault"
    HSMSIGN_FAULT_MODULE=$module HSMSIGN_FAULT=$1 start_hsmsignd cfg/hsmsignd.json "$2" || return 1
    log=$2
}
token_fails() {
    local before st error
    before=$(rows)
    st=$(call out/ok.json)
    [ "$st" = 503 ] || { echo "     status $st: $(head -c 300 out/resp)"; return 1; }
    error=$($py -c 'import json; print(json.load(open("out/resp"))["error"])')
    [[ "$error" == hsm_* ]] || { echo "     error $error"; return 1; }
    unavailable 503 "$error" 1 "$before"
}
fault_start 'C_Sign:CKR_DEVICE_ERROR' out/hsmsignd-fault.log || exit 1
check "the token answers every C_Sign with CKR_DEVICE_ERROR: 503 hsm_*, Retry-After: 1, no certificate, no row" \
    token_fails
check "... and so on the next request too (503, Retry-After: 1, no row)" token_fails
signed_nothing() {
    $py - "$log" <<'PY'
import json, sys
L = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
assert not [l for l in L if l["event"].startswith("sign.ssh_cert.")
            and l["event"] not in ("sign.ssh_cert.failed",)], "a certificate was signed or recorded"
failed = [l for l in L if l["event"] == "sign.ssh_cert.failed"]
assert len(failed) == 2 and all(l["audit"] is True for l in failed), failed
recover = [l for l in L if l["event"] == "hsm.session.recover"]
assert len(recover) == 6, recover  # 3 recoveries per request, then the request fails
PY
}
check "the log: two sign.ssh_cert.failed audit lines, 3 session recoveries each, nothing recorded" \
    signed_nothing
stop_hsmsignd
fault_start 'C_Sign:CKR_DEVICE_ERROR:nth=1' out/hsmsignd-fault1.log || exit 1
recovered() {
    issued_ok out/ok.json && $py - "$log" <<'PY'
import json, sys
L = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
assert len([l for l in L if l["event"] == "hsm.session.recover"]) == 1, L
assert len([l for l in L if l["event"] == "sign.ssh_cert.recorded"]) == 1, L
PY
}
check "a single CKR_DEVICE_ERROR: the pool recovers the session and the request gets its certificate (200, recorded once)" \
    recovered
stop_hsmsignd

# --- no certificate without its row -----------------------------------------------------------
every_answer_recorded() {
    $py - out/issued out/inventory.db <<'PY'
import sqlite3, sys
issued = [l.split() for l in open(sys.argv[1]) if l.strip()]
db = sqlite3.connect(sys.argv[2])
cols = [r[1] for r in db.execute("PRAGMA table_info(certificates)")]
rows = db.execute("SELECT * FROM certificates").fetchall()
assert len(issued) >= 4 and len(rows) == len(issued), (len(issued), len(rows))
by_serial = {}
for r in rows:
    d = dict(zip(cols, r))
    by_serial[int(d["serial"], 16)] = d
for serial, sha in issued:
    d = by_serial.get(int(serial))
    assert d is not None, (serial, sorted(by_serial))
    assert d["kind"] == 1, d  # ST_KIND_SSH
    assert d["cert_sha256"].hex() == sha, (serial, d["cert_sha256"].hex(), sha)
PY
}
check "every certificate handed out has its inventory row (serial, kind ssh, SHA-256 of the certificate), and there is no other row" \
    every_answer_recorded

finish
