#!/usr/bin/env bash
# Server-side SSH key generation in the AWS shape (issue 11, deliverable 3; docs/keygen-aws.md):
# dynalite (the DynamoDB inventory) and local-aws-sqs (the request queue, redriving to a DLQ after
# 3 receives), both behind their SigV4-checking fronts with one test key pair; hsmsignd as the API
# (HTTP, SigV4) with ssh.keygen.queue_url; hsmsignd as the worker in Lambda SQS-event mode under
# the Runtime API stand-in, fed by the event source mapping stand-in. Checked: a request without
# "recipient" is refused (400); a sealed Ed25519 request ends "done", opens with the recipient's
# X25519 secret key (PyNaCl) only, and its certificate logs in to a real sshd; a second fetch is
# 404; the SQS message bodies the worker got and the DynamoDB item of the result hold no private
# key in the clear (scanned while it waits); the inventory unavailable while the worker runs a job
# makes that delivery a batch item failure and the redelivery completes it; a policy denial when
# the job runs is stored as failed and answered with the policy's reason, once; a poisoned message
# lands in the dead-letter queue.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
. "$repo/tests/dynamo/dynalite.sh"
. "$repo/tests/sqs/sqs.sh"
require openssl curl node
ssh_require
"$py" -c 'import nacl.public, botocore' 2>/dev/null || {
    [ "${CI:-}" != true ] || { echo "missing dependency under CI: python3-nacl / python3-botocore" >&2; exit 1; }
    echo "skipped: python3-nacl or python3-botocore not installed" >&2
    exit 77
}
hsmsignd=${HSMSIGND:?} kc=${KEYCEREMONY:?}
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
trap 'stop_hsmsignd; stop_all; ssh_sshd_stop; sqs_stop; dynalite_stop; [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir -p out cfg keys

# --- AWS stand-ins, one key pair for both --------------------------------------------------
region=eu-west-1 table=hsmsign-keygen-test akid_aws=AKIAKEYGENAWSTEST001
secret_aws=$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')
dynalite_start "$table" "$region" "$akid_aws" "$secret_aws" || exit 1
sqs_start "$region" "$akid_aws" "$secret_aws" "" || exit 1
export AWS_ACCESS_KEY_ID=$akid_aws AWS_SECRET_ACCESS_KEY=$secret_aws
unset AWS_SESSION_TOKEN AWS_PROFILE
# aws_py CODE ARGS...: CODE with botocore clients sqs and ddb, and sys.argv.
aws_py() {
    local code=$1
    shift
    "$py" - "$@" <<PY
import base64, json, sys, botocore.session
s = botocore.session.get_session()
sqs = s.create_client("sqs", region_name="$region", endpoint_url="$sqs_endpoint")
ddb = s.create_client("dynamodb", region_name="$region", endpoint_url="$ddb_endpoint")
$code
PY
}
queue=$(aws_py '
dlq = sqs.create_queue(QueueName="kg-dlq")["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
print(sqs.create_queue(QueueName="kg", Attributes={"VisibilityTimeout": "3",
    "RedrivePolicy": json.dumps({"maxReceiveCount": "3", "deadLetterTargetArn": arn})})["QueueUrl"])') ||
    { echo "cannot create the queues"; exit 1; }
dlq=${queue%/*}/kg-dlq

# --- token, CA keys, configs ---------------------------------------------------------------
label=keygen-aws
new_token "$work/token" "$label"
module=/usr/lib/softhsm/libsofthsm2.so
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$work/token/user.pin\"}"
small_ceremony kgaws EC-P256 || exit 1
cat >cfg/user-ca.json <<JSON
{ $token, "key": {"label": "ssh-user-ca", "type": "EC-P256"},
  "public_key_output": "out/user-ca.pub.pem" }
JSON
"$kc" key --config cfg/user-ca.json 2>>out/ceremony.log || { echo "keyceremony key failed"; exit 1; }
alice=arn:aws:iam::123456789012:user/alice
umask 077
head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 >out/alice.secret
umask 022
# config OUT [HTTP [SSH_PRINCIPALS]]: the shared config; HTTP ("http") adds "listen" and the
# SigV4 access key (the API); SSH_PRINCIPALS is the policy rule's (default ["${aws:username}"]).
config() {
    local front="" allowed=${3:-'["${aws:username}"]'}
    [ "${2:-}" != http ] || front="\"listen\": \"127.0.0.1:0\", \"auth\": {\"sigv4\": {\"region\": \"eu-west-1\",
      \"access_keys\": [{\"access_key_id\": \"AKIAKEYGENALICE00001\", \"secret_file\": \"out/alice.secret\",
                         \"principal_arn\": \"$alice\"}]}},"
    cat >"$1" <<EOF
{ $front $token,
  "ca": {"key": "kgaws-issuing", "chain_file": "out/truststore.pem"},
  "inventory": {"dynamodb": {"table": "$table", "region": "$region", "endpoint": "$ddb_endpoint",
                             "timeout_ms": 3000}},
  "jwt": {"issuer": "https://hsmsign.keygen-aws.example", "jwks_file": "out/jwks.json"},
  "policy": {"rules": [{"principals": ["$alice"], "ssh_cert_types": ["user"],
                        "ssh_principals": $allowed, "ssh_max_ttl_seconds": 3600}]},
  "ssh": {"user_ca": ["ssh-user-ca"],
          "keygen": {"result_ttl_seconds": 300, "queue_url": "$queue", "sqs_region": "$region",
                     "sqs_endpoint": "$sqs_endpoint"}} }
EOF
}
config cfg/api.json http
config cfg/worker.json

# --- the API, the worker, the event source ---------------------------------------------------
start_hsmsignd cfg/api.json out/api.log || exit 1
"$py" "$lambda_dir/runtime_api_server.py" --out "$work/rt" --port-file "$work/rt.port" >out/rt.log 2>&1 &
pids+=($!)
for _ in $(seq 1 200); do [ -s "$work/rt.port" ] && break; sleep 0.05; done
rt_api=127.0.0.1:$(cat "$work/rt.port")
AWS_LAMBDA_RUNTIME_API=$rt_api HSMSIGN_CONFIG=cfg/worker.json "$hsmsignd" >out/worker.log 2>&1 &
worker_pid=$!
pids+=("$worker_pid")
source_pid=
start_source() { # start_source STATS: the event source stand-in, in the background
    "$py" "$lambda_dir/sqs_event_source.py" --endpoint "$sqs_endpoint" --region "$region" \
        --queue-url "$queue" --runtime-api "$rt_api" --wait 1 --events-log out/events.jsonl \
        --stats "$1" >>out/source.log 2>&1 &
    source_pid=$!
    pids+=("$source_pid")
}
stop_source() { kill -TERM "$source_pid" 2>/dev/null || true; wait "$source_pid" 2>/dev/null || true; }
start_source out/source.json

sigv4_curl_cfg out/alice.curl AKIAKEYGENALICE00001 out/alice.secret
call() { sigv4_call_as alice "$1" "$svc_url$2" "${3:-}"; } # METHOD PATH [BODY]: the status
field() { "$py" -c 'import json,sys; print(json.load(open("out/resp"))[sys.argv[1]])' "$1"; }
recipient=$("$py" -c '
import base64
from nacl.public import PrivateKey
sk = PrivateKey.generate()
open("keys/ed.x25519", "wb").write(bytes(sk))
print(base64.b64encode(bytes(sk.public_key)).decode())')
body='{"key_type": "ed25519", "cert_type": "user", "principals": ["alice"], "ttl_seconds": 600'

check "POST /v1/ssh/keys without recipient -> 400 (nothing in the clear in SQS/DynamoDB)" \
    test "$(call POST /v1/ssh/keys "$body}")" = 400
check "POST /v1/ssh/keys with a recipient -> 202 pending" \
    test "$(call POST /v1/ssh/keys "$body, \"recipient\": \"$recipient\"}")" = 202
id=$(field request_id 2>/dev/null)
# item_done [ID]: waits (60 s) until the worker completed the item, then writes it to
# out/item.json.
item_done() {
    aws_py '
import time
for _ in range(300):
    it = ddb.get_item(TableName=sys.argv[1], Key={"serial": {"S": "keygen#" + sys.argv[2]}},
                      ConsistentRead=True).get("Item")
    if it and it["keygen_status"]["N"] != "0":
        json.dump({k: (base64.b64encode(v["B"]).decode() if "B" in v else v) for k, v in it.items()},
                  open("out/item.json", "w"))
        sys.exit(0 if it["keygen_status"]["N"] == "1" else 1)
    time.sleep(0.2)
sys.exit(1)' "$table" "${1:-$id}"
}
check "the worker completed the DynamoDB item as done" item_done
# no_clear_key FILE: FILE holds no OpenSSH private key, PEM or raw (base64 of "openssh-key-v1").
no_clear_key() { [ -s "$1" ] && ! grep -q -e 'PRIVATE KEY' -e b3BlbnNzaC1rZXktdjE "$1"; }
check "the DynamoDB item holds no private key in the clear (its result decoded too)" eval '
    no_clear_key out/item.json && "$py" -c "import json,base64; print(base64.b64decode(json.load(open(\"out/item.json\"))[\"result\"]).decode())" >out/result.json &&
    no_clear_key out/result.json && grep -q sealed_private_key out/result.json'
check "the SQS message the worker got is the job, with no private key" eval \
    'no_clear_key out/events.jsonl && grep -q "$id" out/events.jsonl'
check "GET /v1/ssh/keys/{id} -> 200 done" eval \
    'test "$(call GET "/v1/ssh/keys/$id")" = 200 && test "$(field status)" = done && cp out/resp out/ed.json'
check "the sealed key opens with the recipient's key, and is the public key's" "$py" - <<'PY'
import base64, json, os, subprocess
from nacl.public import PrivateKey, SealedBox
d = json.load(open("out/ed.json"))
assert "private_key" not in d
key = SealedBox(PrivateKey(open("keys/ed.x25519", "rb").read())).decrypt(
    base64.b64decode(d["sealed_private_key"])).decode()
fd = os.open("keys/ed", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, key.encode())
os.close(fd)
open("keys/ed.pub", "w").write(d["public_key"] + "\n")
open("keys/ed-cert.pub", "w").write(d["certificate"] + "\n")
pub = subprocess.run(["ssh-keygen", "-y", "-f", "keys/ed"], capture_output=True, text=True).stdout
assert pub.split()[:2] == d["public_key"].split()[:2]
assert d["principals"] == ["alice"] and d["serial"].isdigit()
PY
check "a second fetch -> 404" test "$(call GET "/v1/ssh/keys/$id")" = 404
check "the item is gone from DynamoDB" aws_py '
sys.exit(0 if "Item" not in ddb.get_item(TableName=sys.argv[1], ConsistentRead=True,
    Key={"serial": {"S": "keygen#" + sys.argv[2]}}) else 1)' "$table" "$id"

# --- a failure of the moment: the inventory unavailable while the worker runs the job ----------
# The event source is stopped while the job is queued (and a moment longer than its long poll,
# which local-aws-sqs would still answer), so that the next DynamoDB requests after the faults
# are the worker's: its certificate record's PutItem fails 3 times (all its attempts). Nothing
# here reads DynamoDB until the worker has answered twice (its log says so).
stop_source
sleep 2
check "a second request -> 202" \
    test "$(call POST /v1/ssh/keys "$body, \"recipient\": \"$recipient\"}")" = 202
id2=$(field request_id 2>/dev/null)
dynalite_fault '{"faults": [{"status": 500, "type": "InternalServerError"},
    {"status": 500, "type": "InternalServerError"}, {"status": 500, "type": "InternalServerError"}]}'
invocations() { grep -c '"event":"lambda.invocation.sqs"' out/worker.log; }
before=$(invocations)
start_source out/source2.json
answered_twice() {
    for _ in $(seq 1 300); do
        [ "$(invocations)" -ge $((before + 2)) ] && return 0
        sleep 0.2
    done
    return 1
}
check "the worker answered two deliveries" answered_twice
check "the worker retried it: done after a delivery that failed" item_done "$id2"
stop_source
check "... the first delivery was a batch item failure (inventory unavailable), the second done" eval '
    "$py" -c "import json,sys; s=json.load(open(\"out/source2.json\")); sys.exit(0 if s[\"failed\"] == 1 and s[\"deleted\"] == 1 and s[\"max_receive_count\"] == 2 else 1)" &&
    grep lambda.sqs.message.failed out/worker.log | grep -q inventory_unavailable'
check "... and the requester gets it once" eval \
    'test "$(call GET "/v1/ssh/keys/$id2")" = 200 && test "$(field status)" = done &&
     test "$(call GET "/v1/ssh/keys/$id2")" = 404'
start_source out/source3.json

ssh_sshd_init "$work/sshd"
ssh_principals alice
curl -sS "$svc_url/v1/ssh/ca" | "$py" -c 'import json,sys; print("\n".join(json.load(sys.stdin)["user_ca"]))' >"$work/cas"
ssh_sshd_start "$work/cas" || exit 1
ssh_check_login "the server-made key (via SQS and DynamoDB) logs in to sshd" keys/ed keys/ed-cert.pub

# --- a poisoned message ------------------------------------------------------------------------
aws_py 'sqs.send_message(QueueUrl=sys.argv[1], MessageBody="{\"not\": \"a job\"}")' "$queue"
dlq_has_poison() {
    aws_py '
import time
for _ in range(60):
    for m in sqs.receive_message(QueueUrl=sys.argv[1], WaitTimeSeconds=1).get("Messages", []):
        if m["Body"] == "{\"not\": \"a job\"}":
            sys.exit(0)
sys.exit(1)' "$dlq"
}
check "a poisoned message lands in the dead-letter queue after 3 receives" dlq_has_poison
# --- a policy denial when the job runs: stored as failed, answered with the route's error -------
kill -TERM "$worker_pid" 2>/dev/null || true
wait "$worker_pid" 2>/dev/null || true
config cfg/worker-deny.json "" '["nobody"]'
AWS_LAMBDA_RUNTIME_API=$rt_api HSMSIGN_CONFIG=cfg/worker-deny.json "$hsmsignd" >out/worker-deny.log 2>&1 &
pids+=($!)
check "a request the API allows -> 202" \
    test "$(call POST /v1/ssh/keys "$body, \"recipient\": \"$recipient\"}")" = 202
id3=$(field request_id 2>/dev/null)
# fetch_final ID: polls (60 s) until the answer is not pending; leaves it in out/resp.
fetch_final() {
    for _ in $(seq 1 300); do
        [ "$(call GET "/v1/ssh/keys/$1")" = 200 ] || return 1
        [ "$(field status)" = pending ] || return 0
        sleep 0.2
    done
    return 1
}
check "... the worker's policy denies it when it runs: failed, with the policy's reason" eval \
    'fetch_final "$id3" && "$py" -c "import json; d=json.load(open(\"out/resp\")); assert d[\"status\"] == \"failed\" and d[\"error\"][\"error\"] == \"forbidden\" and d[\"error\"][\"reason\"] == \"ssh_principal_not_allowed\", d"'
check "... once: then 404" test "$(call GET "/v1/ssh/keys/$id3")" = 404

check "the worker logged it as a failed message, never a private key" eval \
    'grep -q lambda.sqs.message.failed out/worker.log && ! grep -q -e "PRIVATE KEY" -e b3BlbnNzaC1rZXktdjE out/worker.log out/api.log'
finish
