#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The SQS side of the AWS keygen shape (issue 11, deliverable 3), without the keygen service:
# local-aws-sqs (behind the SigV4 front, tests/sqs/sqs.sh) with a request queue whose
# RedrivePolicy names a dead-letter queue (maxReceiveCount 3, visibility timeout 3 s), the event
# source mapping stand-in (tests/lambda/sqs_event_source.py) and the Runtime API stand-in
# (tests/lambda/runtime_api_server.py) in front of
#   1. a scripted function that fails the messages whose body starts with "fail": the others are
#      deleted after one delivery, the failed one is redelivered, and after its third receive it
#      lands in the DLQ;
#   2. hsmsignd itself in Lambda SQS-event mode with no SQS consumer configured: it must answer
#      the partial batch response naming the message (never an invocation error, never a
#      deletion), so the message ends in the DLQ, and log lambda.invocation.sqs.
# Run by CTest as `tests/sqs/sqs.sh run tests/integration/sqs_event_source_test.sh`.
. "$(dirname "$0")/lib.sh"
require curl node openssl
not() { ! "$@"; }
hsmsignd=${HSMSIGND:?} kc=${KEYCEREMONY:?}
: "${HSMSIGN_TEST_SQS_ENDPOINT:?run through tests/sqs/sqs.sh run}"
"$py" -c 'import botocore' 2>/dev/null || {
    [ "${CI:-}" = true ] && { echo "python3-botocore missing under CI" >&2; exit 1; }
    echo "skipped: python3-botocore not installed" >&2
    exit 77
}
export AWS_ACCESS_KEY_ID=$HSMSIGN_TEST_SQS_AKID AWS_SECRET_ACCESS_KEY=$HSMSIGN_TEST_SQS_SECRET
unset AWS_SESSION_TOKEN AWS_PROFILE
endpoint=$HSMSIGN_TEST_SQS_ENDPOINT region=$HSMSIGN_TEST_SQS_REGION
lambda_dir=$repo/tests/lambda
work=$(mktemp -d)
pids=()
stop_all() {
    local p
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    pids=()
}
trap 'stop_all; [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir -p out cfg

# sqs_py CODE ARGS...: CODE with `sqs` (a botocore client of the local queue) and sys.argv.
sqs_py() {
    local code=$1
    shift
    "$py" - "$@" <<PY
import json, sys, botocore.session
sqs = botocore.session.get_session().create_client("sqs", region_name="$region",
                                                   endpoint_url="$endpoint")
$code
PY
}

# make_queues NAME: NAME and NAME-dlq, NAME redriving to NAME-dlq after 3 receives, 3 s
# visibility (longer than the stand-in's 1 s long poll); prints NAME's URL.
make_queues() {
    sqs_py '
name = sys.argv[1]
dlq = sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
q = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "3",
    "RedrivePolicy": json.dumps({"maxReceiveCount": "3", "deadLetterTargetArn": arn})})["QueueUrl"]
print(q)' "$1"
}

send() { # send QUEUE_URL BODY: prints the MessageId
    sqs_py 'print(sqs.send_message(QueueUrl=sys.argv[1], MessageBody=sys.argv[2])["MessageId"])' \
        "$1" "$2"
}

# bodies QUEUE_URL: the bodies now visible on the queue, sorted, one a line (receives them with
# a 0 s visibility timeout, so they stay; local-aws-sqs then answers one message several times
# within the long poll, hence one body per MessageId).
bodies() {
    sqs_py '
seen = {}
r = sqs.receive_message(QueueUrl=sys.argv[1], MaxNumberOfMessages=10, WaitTimeSeconds=1,
                        VisibilityTimeout=0)
for m in r.get("Messages", []):
    seen[m["MessageId"]] = m["Body"]
print("\n".join(sorted(seen.values())))' "$1"
}

# start_runtime DIR: the Runtime API stand-in; sets rt_api.
start_runtime() {
    local dir=$1
    "$py" "$lambda_dir/runtime_api_server.py" --out "$dir" --port-file "$dir.port" \
        >"$dir.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 200); do
        [ -s "$dir.port" ] && break
        sleep 0.05
    done
    [ -s "$dir.port" ] || { echo "the Runtime API stand-in did not start"; cat "$dir.log"; exit 1; }
    rt_api=127.0.0.1:$(cat "$dir.port")
}

# run_source QUEUE_URL STATS: the event source stand-in until 4 empty polls in a row.
run_source() {
    timeout 120 "$py" "$lambda_dir/sqs_event_source.py" --endpoint "$endpoint" \
        --region "$region" --queue-url "$1" --runtime-api "$rt_api" --wait 1 --until-idle 6 \
        --invoke-timeout 60 --stats "$2"
}

stats_ok() { # stats_ok FILE EXPR: EXPR over s (the stand-in's counts)
    "$py" -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}

# --- 1. the stand-in's semantics, with a scripted function ------------------------------------
q1=$(make_queues kg-script) || { echo "cannot create the queues"; exit 1; }
start_runtime "$work/rt1"
# The function: fails the records whose body starts with "fail" (batchItemFailures).
"$py" - "$rt_api" "$work/out/events.jsonl" >out/fn.log 2>&1 <<'PY' &
import json, sys, urllib.request
api = "http://" + sys.argv[1] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        text = r.read()
    with open(sys.argv[2], "ab") as f:
        f.write(text + b"\n")
    ev = json.loads(text)
    fails = [{"itemIdentifier": x["messageId"]} for x in ev["Records"]
             if x["body"].startswith("fail")]
    body = json.dumps({"batchItemFailures": fails}).encode()
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=body)).read()
PY
pids+=($!)
for b in ok-1 fail-1 ok-2; do
    send "$q1" "$b" >/dev/null || { echo "send failed"; exit 1; }
done
run_source "$q1" out/stats1.json >out/source1.log 2>&1
check "the stand-in ran until the queue was idle" test -s out/stats1.json
check "the two good messages were deleted after one delivery each, the failed one never" \
    stats_ok out/stats1.json 's["deleted"] == 2 and s["failed"] == 3'
check "the failed message was delivered maxReceiveCount (3) times, then no more (the queue's redrive)" \
    stats_ok out/stats1.json 's["max_receive_count"] == 3 and s["delivered"] == 5'
check "the request queue is empty" test -z "$(bodies "$q1")"
bodies "${q1%/*}/kg-script-dlq" >out/dlq1.txt
check "the failed message is in the DLQ, alone" test "$(cat out/dlq1.txt)" = fail-1
check "every delivered event had the mapping's shape" "$py" - out/events.jsonl <<'PY'
import json, sys
ok = True
n = 0
for line in open(sys.argv[1]):
    ev = json.loads(line)
    ok &= set(ev) == {"Records"} and 1 <= len(ev["Records"]) <= 10
    for r in ev["Records"]:
        n += 1
        ok &= set(r) == {"messageId", "receiptHandle", "body", "attributes",
                         "messageAttributes", "md5OfBody", "eventSource", "eventSourceARN",
                         "awsRegion"}
        ok &= r["eventSource"] == "aws:sqs" and r["eventSourceARN"].endswith(":kg-script")
        ok &= int(r["attributes"]["ApproximateReceiveCount"]) >= 1 and len(r["md5OfBody"]) == 32
sys.exit(0 if ok and n == 5 else 1)
PY
stop_all

# --- 2. hsmsignd in Lambda SQS-event mode, no consumer configured -----------------------------
label=sqs-test
new_token "$work/token" "$label"
module=/usr/lib/softhsm/libsofthsm2.so
pin_file=$work/token/user.pin
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$pin_file\"}"
small_ceremony sqs EC-P256 || exit 1
cat >cfg/hsmsignd.json <<EOF
{ "token": {"module": "$module", "label": "$label", "pin_file": "$pin_file", "pool_size": 2},
  "ca": {"key": "pkcs11:token=$label;object=sqs-issuing;type=private",
         "chain_file": "$work/out/truststore.pem"},
  "inventory": {"sqlite": "$work/out/inventory.db"},
  "jwt": {"issuer": "https://sqs.example", "keys": [{"key": "sqs-jwt", "alg": "ES256"}]},
  $(permissive_policy arn:aws:iam::111122223333:user/nobody) }
EOF
q2=$(make_queues kg-worker) || exit 1
start_runtime "$work/rt2"
AWS_LAMBDA_RUNTIME_API=$rt_api HSMSIGN_CONFIG=cfg/hsmsignd.json "$hsmsignd" >out/lambda.log 2>&1 &
pids+=($!)
id=$(send "$q2" '{"request_id": "0123456789abcdef0123456789abcdef"}') || exit 1
run_source "$q2" out/stats2.json >out/source2.log 2>&1
check "hsmsignd answered each delivery with the message as a batch item failure" \
    stats_ok out/stats2.json 's["delivered"] == 3 and s["failed"] == 3 and s["deleted"] == 0'
check "after maxReceiveCount the message is in the DLQ" \
    test "$(bodies "${q2%/*}/kg-worker-dlq")" = '{"request_id": "0123456789abcdef0123456789abcdef"}'
check "the answers are partial batch responses naming the message (no invocation error)" \
    "$py" - "$work/rt2" "$id" <<'PY'
import glob, json, sys
recs = [json.load(open(f)) for f in glob.glob(sys.argv[1] + "/*.json")]
ok = len(recs) == 3
for r in recs:
    ok &= r["kind"] == "response" and r["body"] == {
        "batchItemFailures": [{"itemIdentifier": sys.argv[2]}]}
sys.exit(0 if ok else 1)
PY
check "hsmsignd logged each SQS invocation and the failed message" "$py" - out/lambda.log <<'PY'
import json, sys
L = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
inv = [l for l in L if l["event"] == "lambda.invocation.sqs"]
bad = [l for l in L if l["event"] == "lambda.sqs.message.failed"]
ok = len(inv) == 3 and all(l["records"] == 1 and l["failed"] == 1 for l in inv)
ok &= len(bad) == 3 and [l["receive_count"] for l in bad] == [1, 2, 3]
sys.exit(0 if ok else 1)
PY
check "the message body reached no log line" not grep -q 0123456789abcdef0123456789abcdef out/lambda.log
finish
