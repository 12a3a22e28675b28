#!/usr/bin/env bash
# The token scheduler and throttling (issue 15, items 2-3) through a real hsmsignd on a fresh
# SoftHSM2 token, behind the fault-injecting module (tests/testlib/p11_fault.h), which answers
# C_Sign with CKR_FUNCTION_FAILED (what CloudHSM answers when it throttles) when told to:
#   (a) one throttling answer: the pool backs off and retries, the token and certificate are
#       issued (200), and /metrics counts the throttle against the token class and the
#       admissions per class;
#   (b) endless throttling: after token.throttle_deadline_ms the answer is 503 with
#       Retry-After and error "overloaded" (not a 5xx without a retry hint, not a hang);
#   (c) the queue bound: one session (token.pool_size 1), scheduler.max_queue 1, and a first
#       request holding the only slot while it retries: of three concurrent token requests one
#       is refused at once (hsmsign_sched_rejected_total{class="token"} 1), all get 503
#       overloaded with Retry-After, none hangs;
#   (d) the "scheduler" member is validated: an unknown class or a share out of range is
#       refused by --check-config, naming the field;
#   (e) token.throttle_codes replaces the built-in set: with ["CKR_DEVICE_MEMORY"] a
#       CKR_FUNCTION_FAILED fails the request at once (no retry, nothing counted as throttling,
#       not "overloaded") while one CKR_DEVICE_MEMORY is retried and the token issued; codes of
#       a lost session or PIN, unknown names and more than 16 codes are refused.
# Assertions are on statuses, bodies and counters, never on timings.
. "$(dirname "$0")/lib.sh"
require openssl curl
: "${HSMSIGND:?}" "${HSMSIGN_FAULT_LIB:?}"
work=$(mktemp -d)
trap 'stop_hsmsignd; rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir -p out cfg
label="sched-test"
new_token "$work/token" "$label"
module=/usr/lib/softhsm/libsofthsm2.so
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$work/token/user.pin\"}"
small_ceremony sched EC-P256 || exit 1
principal=arn:aws:iam::123456789012:role/sched-caller
akid=AKIASCHEDTEST0000001
new_caller_secret "$akid"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout out/dev.key \
    -subj /CN=dev.sched.example -out out/dev.csr 2>/dev/null
# write_config TOKEN_EXTRA [OTHER_MEMBERS]: hsmsignd's config on the fault module.
write_config() {
    cat >cfg/hsmsignd.json <<EOF
{ "listen": "127.0.0.1:0",
  "token": {"module": "$HSMSIGN_FAULT_LIB", "label": "$label",
            "pin_file": "$work/token/user.pin" $1},
  "ca": {"key": "sched-issuing", "chain_file": "out/truststore.pem"},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "https://sched.example", "jwks_file": "out/jwks.json"},
  "auth": {"sigv4": {"region": "eu-west-1", "access_keys": [
      {"access_key_id": "$akid", "secret_file": "out/caller.secret",
       "principal_arn": "$principal"}]}},
  $(permissive_policy "$principal") ${2:-} }
EOF
}
# start FAULT_SPEC: hsmsignd with the fault module's rules (read when the module loads).
start() {
    stop_hsmsignd
    HSMSIGN_FAULT=$1 HSMSIGN_FAULT_MODULE=$module start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log
}
sig=(--aws-sigv4 aws:amz:eu-west-1:execute-api -K out/curl.cfg)
# post PATH BODY OUT: prints the status; the body goes to OUT, the headers to OUT.h.
post() {
    curl -sS -m 60 -o "$3" -D "$3.h" -w '%{http_code}' "${sig[@]}" \
        -H 'Content-Type: application/json' --data "$2" "$svc_url$1" 2>/dev/null || echo 000
}
cert_body() {
    $py -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": "client"}))' "$1"
}
metric() { # NAME{LABELS}: its value on /metrics (empty when absent)
    curl -sS -m 10 "$svc_url/metrics" | awk -v k="$1" '$1 == k {print $2}'
}
overloaded() { # OUT: a 503 body with error "overloaded" and a Retry-After header
    $py -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d.get("error") != "overloaded")' "$1" &&
        grep -qi '^Retry-After: [1-9]' "$1.h"
}

# --- (a) one throttling answer: retried, then issued --------------------------------------
write_config ""
start "C_Sign:CKR_FUNCTION_FAILED:nth=1" || exit 1
code=$(post /v1/tokens '{"audience": "https://a.example"}' out/a-token.json)
check "(a) a token is issued after one throttling answer (200, got $code)" test "$code" = 200
check "(a) /metrics counts the throttle against the token class" \
    test "$(metric 'hsmsign_sched_throttled_total{class="token"}')" = 1
check "(a) the pool counts one backoff retry" test "$(metric hsmsign_pool_throttled_total)" = 1
code=$(post /v1/certificates "$(cert_body out/dev.csr)" out/a-cert.json)
check "(a) a certificate is issued (200, got $code)" test "$code" = 200
check "(a) admissions are counted per class (certificate 1, token 1)" \
    test "$(metric 'hsmsign_sched_admitted_total{class="certificate"}')" = 1 -a \
    "$(metric 'hsmsign_sched_admitted_total{class="token"}')" = 1
check "(a) nothing is queued or refused" \
    test "$(metric 'hsmsign_sched_queued{class="token"}')" = 0 -a \
    "$(metric 'hsmsign_sched_rejected_total{class="token"}')" = 0

# --- (b) endless throttling: 503 overloaded after the deadline ----------------------------
write_config ', "throttle_deadline_ms": 300'
start "C_Sign:CKR_FUNCTION_FAILED" || exit 1
code=$(post /v1/tokens '{"audience": "https://b.example"}' out/b-token.json)
check "(b) endless throttling answers 503 (got $code)" test "$code" = 503
check "(b) ... with error \"overloaded\" and Retry-After" overloaded out/b-token.json
throttled=$(metric 'hsmsign_sched_throttled_total{class="token"}')
check "(b) the token class met several throttling answers before giving up ($throttled)" \
    test "${throttled:-0}" -ge 3
check "(b) the adaptive in-flight limit came down to its floor (hsmsign_sched_limit 1.00)" \
    test "$(metric hsmsign_sched_limit)" = 1.00
check "(b) the log names the throttling code" \
    sh -c 'grep "\"status\":503" out/hsmsignd.log | grep -q CKR_FUNCTION_FAILED || grep -q "still throttling" out/hsmsignd.log'

# --- (c) the queue bound ------------------------------------------------------------------
write_config ', "pool_size": 1, "throttle_deadline_ms": 3000' \
    ', "scheduler": {"max_queue": 1, "queue_timeout_ms": 20000}'
start "C_Sign:CKR_FUNCTION_FAILED" || exit 1
pids=()
for i in 1 2 3; do
    post /v1/tokens '{"audience": "https://c.example"}' "out/c-$i.json" >"out/c-$i.code" &
    pids+=($!)
done
wait "${pids[@]}" # not a bare wait: hsmsignd is a child of this shell too
codes="$(cat out/c-1.code) $(cat out/c-2.code) $(cat out/c-3.code)"
check "(c) three concurrent requests on one throttled slot all answer 503 ($codes)" \
    test "$codes" = "503 503 503"
check "(c) every answer is \"overloaded\" with Retry-After" \
    sh -c "$(declare -f overloaded); py=$py; overloaded out/c-1.json && overloaded out/c-2.json && overloaded out/c-3.json"
rejected=$(metric 'hsmsign_sched_rejected_total{class="token"}')
admitted=$(metric 'hsmsign_sched_admitted_total{class="token"}')
waited=$(metric 'hsmsign_sched_waited_total{class="token"}')
check "(c) exactly one was refused at once: its class's queue (max_queue 1) was full ($rejected)" \
    test "$rejected" = 1
check "(c) the other two were admitted in turn, one after waiting ($admitted, $waited)" \
    test "$admitted" = 2 -a "$waited" = 1
check "(c) hsmsignd is still serving (/healthz 200)" \
    test "$(curl -sS -m 10 -o /dev/null -w '%{http_code}' "$svc_url/healthz")" = 200
stop_hsmsignd

# --- (d) the "scheduler" member is validated ----------------------------------------------
write_config "" ', "scheduler": {"shares": {"certificate": 50, "bulk": 5}}'
check_fails "(d) an unknown class is refused" 'bulk' "$HSMSIGND" --check-config cfg/hsmsignd.json
write_config "" ', "scheduler": {"shares": {"token": 0}}'
check_fails "(d) a share of 0 is refused" 'token' "$HSMSIGND" --check-config cfg/hsmsignd.json
write_config "" ', "scheduler": {"max_queue": 0}'
check_fails "(d) max_queue 0 is refused" 'max_queue' "$HSMSIGND" --check-config cfg/hsmsignd.json
write_config ', "throttle_deadline_ms": 0'
check_fails "(d) throttle_deadline_ms 0 is refused" 'throttle_deadline_ms' \
    "$HSMSIGND" --check-config cfg/hsmsignd.json
write_config "" ', "scheduler": {"limit_growth_ms": 10001}'
check_fails "(d) limit_growth_ms over 10000 is refused" 'limit_growth_ms' \
    "$HSMSIGND" --check-config cfg/hsmsignd.json
write_config "" ', "scheduler": {"shares": {"certificate": 60, "token": 20, "ssh": 10, "crl": 5, "background": 5}, "max_queue": 32, "queue_timeout_ms": 1500, "limit_growth_ms": 10}'
check "(d) a complete scheduler member is accepted" \
    sh -c "'$HSMSIGND' --check-config cfg/hsmsignd.json 2>&1 | grep -qx 'cfg/hsmsignd.json: ok'"

# --- (e) token.throttle_codes -------------------------------------------------------------
write_config ', "throttle_codes": ["CKR_DEVICE_MEMORY"], "throttle_deadline_ms": 5000'
start "C_Sign:CKR_FUNCTION_FAILED:nth=1" || exit 1
code=$(post /v1/tokens '{"audience": "https://e.example"}' out/e-1.json)
check "(e) CKR_FUNCTION_FAILED, not in throttle_codes, fails the request (503, got $code)" \
    test "$code" = 503
check "(e) ... as the token's failure (\"hsm_error\", not \"overloaded\"), the log naming the CK_RV" \
    sh -c "$py -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d.get(\"error\") != \"hsm_error\")' out/e-1.json &&
        grep '\"event\":\"http.request.failed\"' out/hsmsignd.log | grep -q '\"ckr\":\"CKR_FUNCTION_FAILED\"'"
check "(e) ... with no retry (no throttling counted)" \
    test "$(metric hsmsign_pool_throttled_total)" = 0 -a \
    "$(metric 'hsmsign_sched_throttled_total{class="token"}')" = 0
start "C_Sign:CKR_DEVICE_MEMORY:nth=1" || exit 1
code=$(post /v1/tokens '{"audience": "https://e.example"}' out/e-2.json)
check "(e) one CKR_DEVICE_MEMORY, listed, is retried and the token issued (200, got $code)" \
    test "$code" = 200 -a "$(metric hsmsign_pool_throttled_total)" = 1
stop_hsmsignd
write_config ', "throttle_codes": ["CKR_DEVICE_ERROR"]'
check_fails "(e) a lost-session code is refused as a throttling code" 'CKR_DEVICE_ERROR' \
    "$HSMSIGND" --check-config cfg/hsmsignd.json
write_config ', "throttle_codes": ["CKR_NOT_A_CODE"]'
check_fails "(e) an unknown name is refused" 'CKR_NOT_A_CODE' "$HSMSIGND" --check-config cfg/hsmsignd.json
write_config ', "throttle_codes": ["0x8000000G"]'
check_fails "(e) a bad hex value is refused" 'throttle_codes' "$HSMSIGND" --check-config cfg/hsmsignd.json
write_config ", \"throttle_codes\": [$(printf '"CKR_FUNCTION_FAILED",%.0s' $(seq 16)) \"CKR_DEVICE_MEMORY\"]"
check_fails "(e) 17 codes are refused" 'throttle_codes' "$HSMSIGND" --check-config cfg/hsmsignd.json
write_config ', "throttle_codes": ["CKR_FUNCTION_FAILED", "0x80000001"]'
check "(e) a name and a vendor-defined hex value are accepted" \
    sh -c "'$HSMSIGND' --check-config cfg/hsmsignd.json 2>&1 | grep -qx 'cfg/hsmsignd.json: ok'"
write_config ', "throttle_codes": []'
check "(e) an empty list (retry nothing) is accepted" \
    sh -c "'$HSMSIGND' --check-config cfg/hsmsignd.json 2>&1 | grep -qx 'cfg/hsmsignd.json: ok'"
check "no log line holds the caller's secret" \
    sh -c '! grep -qFf out/caller.secret out/hsmsignd.log'
finish
