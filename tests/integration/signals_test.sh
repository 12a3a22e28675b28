#!/usr/bin/env bash
# hsmsignd's signals (issue 13, deliverable 3), against a real hsmsignd on a fresh SoftHSM2 token:
#   (a) SIGHUP while tokens are being issued, with the JWK Set file rotated to a second JWT key
#       (made by the key ceremony) in front: no request fails, the service lives on, logs
#       config.reload.done, serves the new JWK Set and signs with the new key afterwards;
#   (b) SIGHUP with a narrower policy: applied; then SIGHUP with a malformed policy: logged as
#       config.reload.failed naming "policy", and the narrower policy is still enforced;
#   (c) SIGTERM during a burst of 48 requests: every answered request is complete (a 200 with a
#       token, or a JSON 503 beyond the per-address connection limit), the rest refused;
#       hsmsignd exits 0 and logs service.stopped, sanitizers quiet;
#   (d) SIGTERM with a connection stuck writing answers (a client that pipelines and never
#       reads): cut off after limits.shutdown_grace_seconds (2 s), exit 0 well before
#       connection_timeout_seconds (30 s).
. "$(dirname "$0")/lib.sh"
require openssl curl
: "${HSMSIGND:?}"
work=$(mktemp -d)
trap 'stop_hsmsignd; rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir -p out cfg
label="sig-test"
new_token "$work/token" "$label"
module=/usr/lib/softhsm/libsofthsm2.so
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$work/token/user.pin\"}"
small_ceremony sig EC-P256 || exit 1
# A second JWT key and a JWK Set with it in front (the rotation the key ceremony does).
cat >cfg/jwt2.json <<JSON
{ $token, "key": {"label": "sig-jwt2", "type": "EC-P256"}, "alg": "ES256",
  "jwk_output": "out/jwt2.jwk.json" }
JSON
cat >cfg/export2.json <<JSON
{ $token, "root_certificate": "out/root.pem", "intermediate_certificate": "out/intermediate.pem",
  "jwt_keys": [{"key": "sig-jwt2"}, {"key": "sig-jwt"}], "truststore_output": "out/truststore2.pem",
  "jwks_output": "out/jwks2.json" }
JSON
if ! "$KEYCEREMONY" jwt-key --config cfg/jwt2.json 2>>out/ceremony.log ||
    ! "$KEYCEREMONY" export --config cfg/export2.json 2>>out/ceremony.log; then
    echo "second JWT key ceremony failed"
    cat out/ceremony.log
    exit 1
fi
kid_of() { $py -c 'import json,sys; print(json.load(open(sys.argv[1]))["keys"][0]["kid"])' "$1"; }
old_kid=$(kid_of out/jwks.json)
new_kid=$(kid_of out/jwks2.json)
principal=arn:aws:iam::123456789012:role/sig-caller
akid=AKIASIGNALTEST000001
new_caller_secret "$akid" # out/caller.secret and out/curl.cfg
cp out/jwks.json cfg/live-jwks.json
write_config() { # $1 = the "policy" member
    cat >cfg/hsmsignd.json.tmp <<EOF
{ "listen": "127.0.0.1:0", $token,
  "ca": {"key": "sig-issuing", "chain_file": "out/truststore.pem"},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "https://sig.example", "jwks_file": "cfg/live-jwks.json"},
  "auth": {"sigv4": {"region": "eu-west-1", "access_keys": [
      {"access_key_id": "$akid", "secret_file": "out/caller.secret",
       "principal_arn": "$principal"}]}},
  $1 }
EOF
    mv cfg/hsmsignd.json.tmp cfg/hsmsignd.json
}
write_config "$(permissive_policy "$principal")"
start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log || exit 1
sig=(-K out/curl.cfg --aws-sigv4 aws:amz:eu-west-1:execute-api)

# token AUDIENCE OUT: POST /v1/tokens; prints the status code (000: no answer at all, e.g.
# refused), the body goes to OUT. An answer cut off after its status line prints
# "incomplete-CODE".
token() {
    local code rc=0
    code=$(curl -sS -m 10 -o "$2" -w '%{http_code}' "${sig[@]}" \
        -H 'Content-Type: application/json' --data "{\"audience\": \"$1\"}" \
        "$svc_url/v1/tokens" 2>/dev/null) || rc=$?
    if [ "$rc" = 0 ] || [ "$code" = 000 ]; then
        echo "$code"
    else
        echo "incomplete-$code"
    fi
}
# kid of a token answer's JWT header
token_kid() {
    $py -c '
import base64, json, sys
t = json.load(open(sys.argv[1]))["token"].split(".")[0]
print(json.loads(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)))["kid"])' "$1"
}
# wait_log EVENT N: until the log holds N lines of EVENT (5 s at most).
wait_log() {
    for _ in $(seq 1 100); do
        [ "$(grep -c "\"event\":\"$1\"" out/hsmsignd.log || true)" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}

# (a) a load loop issuing tokens while SIGHUP swaps the JWK Set.
load() { # $1 = stop file; codes go to out/load.codes, one per line
    local i=0
    while [ ! -e "$1" ]; do
        token load "out/load.$((i % 4)).json" >>out/load.codes
        echo >>out/load.codes
        i=$((i + 1))
    done
}
: >out/load.codes
load out/load.stop &
loader=$!
load2() { : >out/load2.codes; while [ ! -e out/load.stop ]; do token load out/load2.json >>out/load2.codes; echo >>out/load2.codes; done; }
load2 &
loader2=$!
sleep 1
cp out/jwks2.json cfg/live-jwks.json.tmp && mv cfg/live-jwks.json.tmp cfg/live-jwks.json
kill -HUP "$svc_pid"
check "(a) SIGHUP: config.reload.done logged" wait_log config.reload.done 1
sleep 1
touch out/load.stop
wait "$loader" "$loader2"
total=$(cat out/load.codes out/load2.codes | grep -c . || true)
bad=$(cat out/load.codes out/load2.codes | grep -v '^$' | grep -vc '^200$' || true)
echo "     load: $total requests, $bad not 200"
check "(a) the load loop ran (>= 10 requests)" test "$total" -ge 10
check "(a) 0 failed requests during the reload" test "$bad" = 0
check "(a) hsmsignd still runs after SIGHUP" kill -0 "$svc_pid"
jwks_served() {
    curl -sS -m 5 "$svc_url/.well-known/jwks.json" >out/jwks.served &&
        [ "$(kid_of out/jwks.served)" = "$new_kid" ] &&
        grep -qF -- "\"$old_kid\"" out/jwks.served
}
check "(a) the new JWK Set is served (new key first, old still published)" jwks_served
signs_new() { [ "$(token after out/after.json)" = 200 ] && [ "$(token_kid out/after.json)" = "$new_kid" ]; }
signs_new_allowed() { [ "$(token only-this out/after.json)" = 200 ] && [ "$(token_kid out/after.json)" = "$new_kid" ]; }
check "(a) tokens are signed with the new key afterwards" signs_new

# (b) a narrower policy, then a malformed one.
narrow='"policy": {"rules": [{"principals": ["'$principal'"], "audiences": ["only-this"]}]}'
write_config "$narrow"
kill -HUP "$svc_pid"
check "(b) narrower policy reloaded" wait_log config.reload.done 2
check "(b) ... and enforced: another audience 403" test "$(token other out/b1.json)" = 403
check "(b) ... the allowed audience 200" test "$(token only-this out/b2.json)" = 200
write_config "$narrow, \"limits\": {\"workers\": 2}"
kill -HUP "$svc_pid"
check "(b) a changed \"limits\": the reload is done ..." wait_log config.reload.done 3
check "(b) ... and says limits needs a restart" \
    sh -c "grep '\"event\":\"config.reload.restart_needed\"' out/hsmsignd.log | grep -q '\"field\":\"limits\"'"
write_config '"policy": {"rules": "not a list"}'
kill -HUP "$svc_pid"
check "(b) malformed policy: config.reload.failed logged" wait_log config.reload.failed 1
check "(b) ... naming the policy" sh -c "grep '\"event\":\"config.reload.failed\"' out/hsmsignd.log | grep -q policy"
check "(b) ... old policy still enforced: another audience 403" test "$(token other out/b3.json)" = 403
check "(b) ... the allowed audience still 200" test "$(token only-this out/b4.json)" = 200
write_config '"policy": {"rules": [}'
kill -HUP "$svc_pid"
check "(b) a config that is not JSON: config.reload.failed, service lives" \
    sh -c "sleep 0.5; grep -c '\"event\":\"config.reload.failed\"' out/hsmsignd.log | grep -qx 2 && kill -0 $svc_pid"

# A JWK Set whose key is not on the token: the reload fails naming jwt.jwks_file, and the
# running keys stay (the JWK Set served and the signing key unchanged).
write_config "$narrow"
$py -c '
import json
from jwcrypto import jwk
k = jwk.JWK.generate(kty="EC", crv="P-256")
d = json.loads(k.export_public())
d.update(kid=k.thumbprint(), alg="ES256", use="sig")
print(json.dumps({"keys": [d]}))' >cfg/live-jwks.json.tmp
mv cfg/live-jwks.json.tmp cfg/live-jwks.json
kill -HUP "$svc_pid"
check "(b) a JWK Set with a key not on the token: config.reload.failed" wait_log config.reload.failed 3
check "(b) ... naming jwt.jwks_file" \
    sh -c "grep '\"event\":\"config.reload.failed\"' out/hsmsignd.log | tail -1 | grep -q jwks_file"
check "(b) ... the running JWK Set is still served" jwks_served
check "(b) ... and still signs" signs_new_allowed
# (c) SIGTERM during a burst.
for i in $(seq 1 48); do
    (token only-this "out/burst.$i.json" >"out/burst.$i.code") &
done
sleep 0.1
kill -TERM "$svc_pid"
rc=0
wait "$svc_pid" || rc=$?
svc_pid=
wait
check "(c) SIGTERM during a burst: exit 0" test "$rc" = 0
check "(c) service.stopped logged" grep -q '"event":"service.stopped"' out/hsmsignd.log
burst_complete() {
    local i answered=0 busy=0
    for i in $(seq 1 48); do
        code=$(cat "out/burst.$i.code")
        case $code in
        200)
            $py -c 'import json,sys; t=json.load(open(sys.argv[1]))["token"]; assert t.count(".")==2' \
                "out/burst.$i.json" || return 1
            answered=$((answered + 1)) ;;
        503) # over limits.max_connections_per_ip (32): a whole JSON error, not a cut-off
            $py -c 'import json,sys; assert "error" in json.load(open(sys.argv[1]))' \
                "out/burst.$i.json" || return 1
            busy=$((busy + 1)) ;;
        000) ;; # refused or closed before a byte was answered
        *) echo "     burst $i: $code"; return 1 ;;
        esac
    done
    echo "     burst: $answered of 48 answered 200, $busy answered 503, the rest refused at the door"
}
check "(c) every answered request is complete (200 with a token, or a JSON 503)" burst_complete
check "(c) sanitizers quiet" sh -c "! grep -q 'ERROR: \(AddressSanitizer\|LeakSanitizer\)\|runtime error' out/hsmsignd.log"

# (d) limits.shutdown_grace_seconds bounds the drain: a client that pipelines thousands of
# requests and never reads leaves its connection stuck writing answers; after SIGTERM it is cut
# off once the grace (2 s) has passed, well before connection_timeout_seconds (30 s).
cp out/jwks2.json cfg/live-jwks.json
write_config "$narrow, \"limits\": {\"shutdown_grace_seconds\": 2, \"connection_timeout_seconds\": 30, \"request_timeout_seconds\": 60}"
start_hsmsignd cfg/hsmsignd.json out/hsmsignd-d.log || exit 1
port=${svc_url##*:}
$py - "$port" <<'PY' &
import socket, sys, threading, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
req = b"GET /.well-known/openid-configuration HTTP/1.1\r\nHost: t\r\n\r\n" * 20000
threading.Thread(target=lambda: s.sendall(req), daemon=True).start()
time.sleep(60)  # never reads; ended by the test
PY
reader=$!
# Until the server stops answering (its log stops growing): the connection is stuck writing.
stuck() {
    local a b
    for _ in $(seq 1 60); do
        a=$(wc -l <out/hsmsignd-d.log)
        sleep 0.5
        b=$(wc -l <out/hsmsignd-d.log)
        [ "$a" = "$b" ] && [ "$b" -gt 100 ] && return 0
    done
    return 1
}
check "(d) a pipelining client that never reads leaves a connection stuck writing" stuck
t0=$(date +%s)
kill -TERM "$svc_pid"
rc=0
wait "$svc_pid" || rc=$?
svc_pid=
elapsed=$(($(date +%s) - t0))
kill "$reader" 2>/dev/null || true
wait "$reader" 2>/dev/null || true
echo "     exited after ${elapsed} s"
check "(d) SIGTERM: exit 0 within the 2 s grace plus slack (< 10 s), not connection_timeout" \
    sh -c "[ $rc = 0 ] && [ $elapsed -lt 10 ]"
finish
