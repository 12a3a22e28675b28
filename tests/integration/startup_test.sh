#!/usr/bin/env bash
# Cold start (issue 15, item 5): what hsmsignd loads before its first request. libcurl (with
# its ~30 libraries) and libxml2 (with ICU) cost ~6 ms of CPU to relocate at every start
# (tests/bench/cpu_loop.sh --starts), and only the AWS clients need them, so aws/ dlopen()s
# them on first use (aws/aws_curl.h, aws/aws_libxml.h). Against a real hsmsignd (SQLite
# inventory, no AWS client) on a fresh SoftHSM2 token:
#   - hsmsignd is not linked against libcurl or libxml2 (readelf: no such DT_NEEDED);
#   - once it serves (a token issued), neither is mapped into the process (/proc/PID/maps);
#   - hsmsign (the CLI), which calls libcurl itself, still links it.
#   - in Lambda mode, neither is mapped when it asks the Runtime API for its first event.
# The AWS paths that do load them (SQS, DynamoDB, STS) are covered by aws_sqs_test,
# st_dynamodb_test and aws_test; the Lambda runtime's loop by lambda_test.
. "$(dirname "$0")/lib.sh"
require readelf curl
: "${HSMSIGND:?}"
work=$(mktemp -d)
trap 'stop_hsmsignd; rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir -p out cfg
label="start-test"
new_token "$work/token" "$label"
module=/usr/lib/softhsm/libsofthsm2.so
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$work/token/user.pin\"}"
small_ceremony start EC-P256 || exit 1

needed() { # BINARY: its DT_NEEDED sonames, one a line
    readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}
lacks() { # PATTERN TEXT: TEXT has no line matching PATTERN
    ! grep -q -- "$1" <<<"$2"
}
check "hsmsignd is not linked against libcurl" lacks '^libcurl' "$(needed "$HSMSIGND")"
check "hsmsignd is not linked against libxml2" lacks '^libxml2' "$(needed "$HSMSIGND")"
check "hsmsign (the CLI) still links libcurl" \
    grep -q '^libcurl' <<<"$(needed "$(dirname "$HSMSIGND")/hsmsign")"

cat >cfg/hsmsignd.json <<JSON
{ "listen": "127.0.0.1:0", $token,
  "ca": {"key": "pkcs11:token=$label;object=start-issuing;type=private",
         "chain_file": "out/truststore.pem", "default_ttl_hours": 12, "max_ttl_hours": 24},
  "inventory": {"sqlite": "$work/out/inventory.db"},
  "jwt": {"issuer": "https://hsmsign.start.example", "jwks_file": "out/jwks.json"},
  "auth": {"sigv4": {"region": "eu-west-1", "access_keys": [
             {"access_key_id": "AKIASTARTTEST0000001", "secret_file": "out/caller.secret",
              "principal_arn": "arn:aws:iam::111122223333:role/start"}]}},
  $(permissive_policy arn:aws:iam::111122223333:role/start) }
JSON
(umask 077 && printf '%s' "start-test-secret-0123456789abcdefABCDEF" >out/caller.secret)
sigv4_curl_cfg out/curl.cfg AKIASTARTTEST0000001 out/caller.secret
if start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log; then
    code=$(curl -s -o out/token.json -w '%{http_code}' --aws-sigv4 aws:amz:eu-west-1:execute-api \
        -K out/curl.cfg \
        -H 'Content-Type: application/json' --data '{"audience": "https://a.example"}' \
        "$svc_url/v1/tokens")
    check "a token is issued (200)" test "$code" = 200
    maps=$(cat "/proc/$svc_pid/maps")
    check "libcurl is not mapped into the serving hsmsignd" lacks '/libcurl' "$maps"
    check "libxml2 is not mapped into the serving hsmsignd" lacks '/libxml2' "$maps"
else
    check "hsmsignd starts" false
fi
stop_hsmsignd

# The chain check at start verifies the root's self-signature once (sgn_chain_check): a root
# whose signature is broken must still be refused.
$py - out/truststore.pem out/broken.pem <<'PY'
import base64, re, sys
pems = re.findall(r"-----BEGIN CERTIFICATE-----\n(.*?)-----END CERTIFICATE-----", open(sys.argv[1]).read(), re.S)
der = bytearray(base64.b64decode("".join(pems[-1].split())))
der[-3] ^= 0x01  # inside the root's signature value (the end of the DER)
pems[-1] = base64.encodebytes(bytes(der)).decode()
with open(sys.argv[2], "w") as f:
    for p in pems:
        f.write("-----BEGIN CERTIFICATE-----\n" + "".join(p.split()) + "\n-----END CERTIFICATE-----\n")
PY
sed 's|"chain_file": "out/truststore.pem"|"chain_file": "out/broken.pem"|' cfg/hsmsignd.json >cfg/broken.json
broken_refused() {
    local rc=0
    timeout 60 "$HSMSIGND" --config cfg/broken.json >out/broken.log 2>&1 || rc=$?
    [ "$rc" -ne 0 ] && grep -q '"event":"service.start.failed"' out/broken.log &&
        grep -q 'does not verify' out/broken.log
}
check "a chain whose root's self-signature is broken is refused at start" broken_refused

# Lambda mode: the Runtime API client speaks HTTP/1.1 on its own socket (aws_lambda_runtime.h),
# so hsmsignd reaches its first GET /next without loading libcurl (or libxml2). A stand-in
# Runtime API on a free loopback port reads that request, then the process's maps.
sed -e 's|"listen": "127.0.0.1:0", ||' -e '/"auth": {"sigv4"/,/principal_arn/d' \
    cfg/hsmsignd.json >cfg/lambda.json
lambda_first_next() {
    HSMSIGND_BIN=$HSMSIGND HSMSIGN_CONFIG=cfg/lambda.json timeout 60 $py - >out/lambda.out <<'PY'
import os, signal, socket, subprocess
lst = socket.socket()
lst.bind(("127.0.0.1", 0))
lst.listen(1)
lst.settimeout(30)
env = dict(os.environ, AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % lst.getsockname()[1])
p = subprocess.Popen([os.environ["HSMSIGND_BIN"]], env=env, stdout=subprocess.DEVNULL,
                     stderr=open("out/lambda.log", "w"))
conn, _ = lst.accept()
data = b""
while b"\r\n\r\n" not in data:
    chunk = conn.recv(4096)
    if not chunk:
        break
    data += chunk
maps = open("/proc/%d/maps" % p.pid).read()
print("first:", data.split(b"\r\n")[0].decode(errors="replace"))
print("libcurl:", "/libcurl" in maps, "libxml2:", "/libxml2" in maps)
p.send_signal(signal.SIGTERM)
conn.close()
print("exit:", p.wait())
PY
}
if lambda_first_next; then
    check "Lambda mode: the first request is GET /next" \
        grep -q '^first: GET /2018-06-01/runtime/invocation/next HTTP/1.1$' out/lambda.out
    check "Lambda mode: neither libcurl nor libxml2 is mapped at the first /next" \
        grep -q '^libcurl: False libxml2: False$' out/lambda.out
    check "Lambda mode: SIGTERM during the /next long poll exits 0" grep -q '^exit: 0$' out/lambda.out
else
    check "hsmsignd in Lambda mode reaches /next" false
fi
finish
