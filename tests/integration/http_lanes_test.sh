#!/usr/bin/env bash
# The HTTP front end's lanes (issue 15, api_http.h "Lanes") through a real hsmsignd with ONE
# worker on the CloudHSM-shaped module (tests/testlib/p11_cloudhsm.h) over a fresh SoftHSM2
# token, every token call made slow by a round trip (rtt_ms), so that requests queue in the
# front end:
#   (a) a flood of tokens queued first does not keep a certificate (or /healthz) behind it: with
#       first come, first served the certificate is answered after every token; by the weighted
#       fair rule it is answered while several tokens of the flood are still waiting;
#   (b) the bound: with scheduler.max_queue 2, of concurrent tokens beyond the one at the worker
#       and the two waiting, each is answered 503 "overloaded" with Retry-After by the front end
#       itself (no worker: no http.request line, the token scheduler refused nothing), the
#       others 200; a certificate and /healthz are still served afterwards.
# Assertions are on statuses, counts and the order of completions, never on durations.
. "$(dirname "$0")/lib.sh"
require openssl curl
: "${HSMSIGND:?}" "${HSMSIGN_CLOUDHSM_LIB:?}"
work=$(mktemp -d)
trap 'stop_hsmsignd; rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir -p out cfg
label="lanes-test"
new_token "$work/token" "$label"
module=/usr/lib/softhsm/libsofthsm2.so
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$work/token/user.pin\"}"
small_ceremony lanes EC-P256 || exit 1
principal=arn:aws:iam::123456789012:role/lanes-caller
akid=AKIALANESTEST0000001
new_caller_secret "$akid"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout out/dev.key \
    -subj /CN=dev.lanes.example -out out/dev.csr 2>/dev/null
# write_config [OTHER_MEMBERS]: one worker, on the CloudHSM-shaped module.
write_config() {
    cat >cfg/hsmsignd.json <<JSON
{ "listen": "127.0.0.1:0",
  "token": {"module": "$HSMSIGN_CLOUDHSM_LIB", "label": "$label",
            "pin_file": "$work/token/user.pin"},
  "ca": {"key": "lanes-issuing", "chain_file": "out/truststore.pem"},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "https://lanes.example", "jwks_file": "out/jwks.json"},
  "limits": {"workers": 1},
  "auth": {"sigv4": {"region": "eu-west-1", "access_keys": [
      {"access_key_id": "$akid", "secret_file": "out/caller.secret",
       "principal_arn": "$principal"}]}},
  $(permissive_policy "$principal") ${1:-} }
JSON
}
start() { # every signature and key lookup costs a 150 ms round trip
    stop_hsmsignd
    HSMSIGN_CLOUDHSM_MODULE=$module HSMSIGN_CLOUDHSM_SHAPE=rtt_ms=150 \
        start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log
}
sig=(--aws-sigv4 aws:amz:eu-west-1:execute-api -K out/curl.cfg)
# post NAME PATH BODY: the status into out/NAME.code, the body into out/NAME.json (headers
# out/NAME.json.h); then NAME is appended to out/order (the order of completions).
post() {
    local code
    code=$(curl -sS -m 120 -o "out/$1.json" -D "out/$1.json.h" -w '%{http_code}' "${sig[@]}" \
        -H 'Content-Type: application/json' --data "$3" "$svc_url$2" 2>/dev/null) || code=000
    echo "$code" >"out/$1.code"
    echo "$1" >>out/order
}
healthz() {
    curl -sS -m 120 -o /dev/null -w '%{http_code}' "$svc_url/healthz" >out/healthz.code 2>/dev/null ||
        echo 000 >out/healthz.code
    echo healthz >>out/order
}
cert_body() {
    $py -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": "client"}))' "$1"
}
metric() { # NAME{LABELS}: its value on /metrics (empty when absent)
    curl -sS -m 30 "$svc_url/metrics" | awk -v k="$1" '$1 == k {print $2}'
}
overloaded() { # NAME: out/NAME.json is 503 "overloaded" with a Retry-After header
    $py -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d.get("error") != "overloaded")' "out/$1.json" &&
        grep -qi '^Retry-After: [1-9]' "out/$1.json.h"
}
# after NAME: how many tokens completed after NAME (out/order)
after() { awk -v n="$1" 'f && /^t/ {c++} $0 == n {f = 1} END {print c + 0}' out/order; }
codes() { for f in "$@"; do cat "out/$f.code"; done | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}'; }

# --- (a) a token flood does not hold the certificate or /healthz behind it ----------------
write_config
start || exit 1
# 20 tokens of at least one 150 ms round trip each on one worker: about 3 s of flood, so a
# certificate held up by a loaded machine (curl's start) still meets most of it waiting.
flood=20
cert_json=$(cert_body out/dev.csr) # made before the flood, not while it runs
: >out/order
pids=()
for i in $(seq 1 $flood); do
    post "t$i" /v1/tokens '{"audience": "https://a.example"}' &
    pids+=($!)
done
sleep 0.5 # the flood reaches the front end first (if not, the certificate is only earlier)
post cert /v1/certificates "$cert_json" &
pids+=($!)
healthz &
pids+=($!)
wait "${pids[@]}" # not a bare wait: hsmsignd is a child of this shell too
tokens=$(for i in $(seq 1 $flood); do echo "t$i"; done)
check "(a) every request answered 200 ($(codes $tokens cert) healthz:$(cat out/healthz.code))" \
    sh -c "[ \"$(cat out/cert.code) $(cat out/healthz.code)\" = '200 200' ] &&
           [ \"$(for t in $tokens; do cat out/$t.code; done | sort -u)\" = 200 ]"
check "(a) the certificate was answered while at least 4 of $flood tokens still waited ($(after cert) after it)" \
    test "$(after cert)" -ge 4
check "(a) /healthz was answered while at least 4 of $flood tokens still waited ($(after healthz) after it)" \
    test "$(after healthz)" -ge 4
stop_hsmsignd

# --- (b) the lane's bound answers 503 overloaded at once, from the front end ---------------
write_config ', "scheduler": {"max_queue": 2, "queue_timeout_ms": 60000}'
start || exit 1
n=7
: >out/order
pids=()
for i in $(seq 1 $n); do
    post "b$i" /v1/tokens '{"audience": "https://b.example"}' &
    pids+=($!)
done
wait "${pids[@]}"
ok=0 busy=0 other=0
for i in $(seq 1 $n); do
    case "$(cat "out/b$i.code")" in
        200) ok=$((ok + 1)) ;;
        503) busy=$((busy + 1)); overloaded "b$i" || other=$((other + 1)) ;;
        *) other=$((other + 1)) ;;
    esac
done
check "(b) $n concurrent tokens on one worker with max_queue 2: some 503 ($busy), at least 3 issued ($ok), nothing else" \
    test "$busy" -ge 1 -a "$ok" -ge 3 -a "$other" = 0 -a $((ok + busy)) = "$n"
refused=$(grep -c '"event":"http.request.overloaded"' out/hsmsignd.log || true)
check "(b) each 503 was the front end's own refusal (http.request.overloaded lines: $refused)" \
    test "$refused" = "$busy"
routed=$(grep '"event":"http.request"' out/hsmsignd.log | grep -c 'POST /v1/tokens' || true)
check "(b) no worker ran a refused request (api_route lines for tokens: $routed = $ok issued)" \
    test "$routed" = "$ok"
check "(b) the token scheduler refused nothing (the front end did)" \
    test "$(metric 'hsmsign_sched_rejected_total{class="token"}')" = 0
check "(b) /metrics counts the front end's 503s in the token lane ($busy)" \
    test "$(metric 'hsmsign_http_lane_overloaded_total{lane="token"}')" = "$busy"
check "(b) and none in the certificate or public lanes" \
    test "$(metric 'hsmsign_http_lane_overloaded_total{lane="certificate"}')" = 0 -a \
    "$(metric 'hsmsign_http_lane_overloaded_total{lane="public"}')" = 0
check "(b) after the burst nothing waits in the token lane" \
    test "$(metric 'hsmsign_http_lane_queued{lane="token"}')" = 0
check "(b) the scrape itself is the public lane's one request at a worker" \
    test "$(metric 'hsmsign_http_lane_busy{lane="public"}')" = 1
post cert2 /v1/certificates "$(cert_body out/dev.csr)"
check "(b) a certificate is still issued afterwards (got $(cat out/cert2.code))" \
    test "$(cat out/cert2.code)" = 200
healthz
check "(b) /healthz still answers 200 (got $(cat out/healthz.code))" test "$(cat out/healthz.code)" = 200
check "no log line holds the caller's secret" \
    sh -c '! grep -qFf out/caller.secret out/hsmsignd.log'
finish
