#!/usr/bin/env bash
# infra/docker/entrypoint.sh against stand-ins: SSM, Secrets Manager and the ECS credentials
# endpoint on loopback (fake_aws.py, which verifies every SigV4 signature itself), a fake
# configure-pkcs11 and a fake hsmsignd that reports what it was started with.
#
# Asserts: the parameters land in the runtime directory and the config path is exported; the CU
# PIN arrives in the variable token.pin_env names (plain and JSON secrets), and nowhere else: not
# in a file under the runtime or CloudHSM directories, not in the entrypoint's output, not in any
# process's argument list (strace -f -e execve when strace exists); hsmsignd gets no arguments;
# configure-pkcs11 gets the HSM addresses and the cluster certificate; ECS credentials are not
# passed on to hsmsignd; failures exit 1 with one JSON line and, under Lambda, an init error; a
# wrong secret key is refused by the signature check (so the check is not vacuous).
# The authorizer mode (image command hsmsign-authorizer, via _HANDLER or the first argument): the
# config from HSMSIGN_AUTHORIZER_CONFIG_JSON (no AWS call) or SSM lands in the file
# HSMSIGN_AUTHORIZER_CONFIG names; a PIN secret or HSM addresses are refused; an unknown program
# name is refused.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
entrypoint=$repo/infra/docker/entrypoint.sh
for tool in curl jq /usr/bin/python3; do
    command -v "$tool" >/dev/null || { echo "skipped: $tool missing" >&2; exit 77; }
done
curl --help all 2>/dev/null | grep -q -- --aws-sigv4 || { echo "skipped: curl without --aws-sigv4" >&2; exit 77; }

work=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "${HSMSIGN_KEEP_WORK:-}" ]; then echo "kept $work"; [ -n "$server_pid" ] && kill "$server_pid"; return; fi
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

passed=0 failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}

pin='CU_hsmsign:s3cret-Pa55word'
# The tools of this script get the PIN from a file (jq --rawfile, grep -f), not in their argv.
(umask 077 && printf '%s' "$pin" >"$work/pin.txt")
region=eu-central-1
state=$work/aws
mkdir -p "$state"
cat >"$state/creds.json" <<EOF
{"AccessKeyId": "AKIDEXAMPLE0000TEST", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
 "Token": "IQoJb3JpZ2luX2VjEXAMPLETOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==", "region": "$region",
 "container_authorization": "ecs-auth-token-123"}
EOF
config='{"token": {"module": "/opt/cloudhsm/lib/libcloudhsm_pkcs11.so", "label": "hsm1", "pin_env": "HSMSIGN_CU_PIN"}, "jwt": {"jwks_file": "/tmp/x/jwks.json"}}'
jq -n --arg config "$config" '{
  "/hsmsign-test/config": $config,
  "/hsmsign-test/config-nopin": "{\"token\": {\"label\": \"hsm1\", \"pin_file\": \"/x\"}}",
  "/hsmsign-test/jwks": "{\"keys\": [{\"kty\": \"EC\", \"kid\": \"k1\"}]}",
  "/hsmsign-test/truststore": "-----BEGIN CERTIFICATE-----\nTRUST\n-----END CERTIFICATE-----\n",
  "/hsmsign-test/hsm-ca-cert": "-----BEGIN CERTIFICATE-----\nCUSTOMERCA\n-----END CERTIFICATE-----\n"
}' >"$state/parameters.json"
secret_arn="arn:aws:secretsmanager:$region:123456789012:secret:hsmsign/pin-AbCdEf"
json_secret_arn="arn:aws:secretsmanager:$region:123456789012:secret:hsmsign/pin-json-GhIjKl"
jq -n --arg a "$secret_arn" --arg b "$json_secret_arn" --rawfile pin "$work/pin.txt" \
    '{($a): $pin, ($b): ({user: "hsmsign", pin: $pin} | tojson)}' >"$state/secrets.json"

/usr/bin/python3 "$here/fake_aws.py" "$state" &
server_pid=$!
for _ in $(seq 100); do [ -s "$state/port" ] && break; sleep 0.05; done
[ -s "$state/port" ] || { echo "fake AWS did not start"; exit 1; }
endpoint="http://127.0.0.1:$(cat "$state/port")"

# A fake hsmsignd: records its arguments, environment and the files it was given.
cat >"$work/hsmsignd" <<'EOF'
#!/usr/bin/env bash
out=$FAKE_OUT
printf '%s\n' "$#" >"$out/argc"
printf '%s' "${HSMSIGN_CONFIG:-}" >"$out/config_path"
printf '%s' "${HSMSIGN_CU_PIN:-}" >"$out/.pin_seen"    # compared, then removed by the test
env >"$out/.env_seen" # checked, then removed by the test
exit 0
EOF
cat >"$work/configure-pkcs11" <<'EOF'
#!/usr/bin/env bash
printf '%s\n' "$*" >>"$FAKE_OUT/configure-pkcs11.args"
[ -w "$HSMSIGN_CLOUDHSM_STATE_DIR/etc" ] || { echo "etc not writable" >&2; exit 1; }
EOF
# A fake hsmsign-authorizer: records its arguments, its config path and content, its environment.
cat >"$work/hsmsign-authorizer" <<'EOF'
#!/usr/bin/env bash
out=$FAKE_OUT
printf '%s\n' "$#" >"$out/authorizer_argc"
printf '%s' "${HSMSIGN_AUTHORIZER_CONFIG:-}" >"$out/authorizer_config_path"
cat "${HSMSIGN_AUTHORIZER_CONFIG:-/nonexistent}" >"$out/authorizer_config" 2>/dev/null
env >"$out/.env_seen"
exit 0
EOF
chmod +x "$work/hsmsignd" "$work/configure-pkcs11" "$work/hsmsign-authorizer"
mkdir -p "$work/etc.image"
echo '{"clusters": []}' >"$work/etc.image/cloudhsm-pkcs11.cfg"

# strace shows every argv (execve) of the entrypoint and its children; where ptrace is not
# allowed (some containers), the argv checks are skipped.
use_strace=0
if command -v strace >/dev/null && strace -f -qq -e trace=execve -o /dev/null true 2>/dev/null; then
    use_strace=1
else
    echo "note: strace unavailable or not permitted: argument-list checks skipped"
fi

# run_entrypoint NAME ENV...: runs the entrypoint in a clean environment (under strace when
# available), with the arguments in the array entry_args; output in $work/NAME/{stdout,stderr,rc}.
entry_args=()
run_entrypoint() {
    local name=$1
    shift
    local out=$work/$name
    mkdir -p "$out"
    local -a env_common=(
        PATH="$PATH" HOME="$work" AWS_REGION="$region"
        AWS_ENDPOINT_URL_SSM="$endpoint" AWS_ENDPOINT_URL_SECRETS_MANAGER="$endpoint"
        HSMSIGN_RUNTIME_DIR="$out/run" HSMSIGN_CLOUDHSM_STATE_DIR="$out/cloudhsm"
        HSMSIGN_CLOUDHSM_ETC_IMAGE="$work/etc.image" HSMSIGN_CONFIGURE_PKCS11="$work/configure-pkcs11"
        HSMSIGND="$work/hsmsignd" HSMSIGN_AUTHORIZER_BIN="$work/hsmsign-authorizer"
        FAKE_OUT="$out" HSMSIGN_ENTRYPOINT_TIMEOUT=5
    )
    local -a cmd=(env -i "${env_common[@]}" "$@" bash "$entrypoint" "${entry_args[@]}")
    local rc=0
    if [ "$use_strace" = 1 ]; then
        strace -f -qq -s 65535 -e trace=execve -o "$out/strace" "${cmd[@]}" >"$out/stdout" 2>"$out/stderr" || rc=$?
    else
        "${cmd[@]}" >"$out/stdout" 2>"$out/stderr" || rc=$?
    fi
    echo "$rc" >"$out/rc"
}

# absent NEEDLE FILE...: true when no FILE contains NEEDLE (grep errors count as failures).
absent() {
    local needle=$1 rc=0
    shift
    grep -rqF -e "$needle" "$@" || rc=$?
    [ "$rc" -eq 1 ]
}
absent_pin() { # absent_pin FILE...: the PIN is not in them (grep's own error, 2, is no pass)
    local rc=0
    grep -rqF -f "$work/pin.txt" "$@" || rc=$?
    [ "$rc" -eq 1 ]
}

# The strace record without the harness's own `env -i NAME=VALUE ... bash entrypoint` line.
argv_log() {
    grep -v 'execve("/usr/bin/env"' "$work/$1/strace"
}

pin_nowhere_else() { # the PIN must not be in files (but the fake's own record), output, argv
    local out=$work/$1 f
    while IFS= read -r -d '' f; do
        absent_pin "$f" || { echo "the PIN is in $f"; return 1; }
    done < <(find "$out" -type f ! -name .pin_seen ! -name .env_seen ! -name strace -print0)
    if [ -f "$out/strace" ]; then
        argv_log "$1" | absent_pin - || { echo "the PIN is in an argv"; return 1; }
    fi
    return 0
}

# --- 1. Lambda: credentials in the environment, everything from SSM, plain secret -----------------
run_entrypoint lambda \
    AWS_ACCESS_KEY_ID=AKIDEXAMPLE0000TEST AWS_SECRET_ACCESS_KEY='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' \
    AWS_SESSION_TOKEN='IQoJb3JpZ2luX2VjEXAMPLETOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==' \
    HSMSIGN_SSM_CONFIG=/hsmsign-test/config HSMSIGN_SSM_JWKS=/hsmsign-test/jwks \
    HSMSIGN_SSM_TRUSTSTORE=/hsmsign-test/truststore HSMSIGN_SSM_HSM_CA_CERT=/hsmsign-test/hsm-ca-cert \
    HSMSIGN_PIN_SECRET_ARN="$secret_arn" HSMSIGN_CLOUDHSM_HSM_IPS='10.40.0.17 10.40.1.23'
o=$work/lambda
check "lambda: entrypoint exits 0 (exec'd the fake hsmsignd)" test "$(cat "$o/rc")" = 0
check "lambda: hsmsignd got no arguments" test "$(cat "$o/argc" 2>/dev/null)" = 0
check "lambda: HSMSIGN_CONFIG is the fetched config" test "$(cat "$o/config_path" 2>/dev/null)" = "$o/run/hsmsignd.json"
check "lambda: the config is the parameter's value" test "$(cat "$o/run/hsmsignd.json" 2>/dev/null)" = "$config"
check "lambda: jwks.json written" grep -q '"kid": "k1"' "$o/run/jwks.json"
check "lambda: truststore.pem written" grep -q TRUST "$o/run/truststore.pem"
check "lambda: customerCA.crt written" grep -q CUSTOMERCA "$o/run/customerCA.crt"
check "lambda: the runtime directory is 0700" test "$(stat -c %a "$o/run")" = 700
check "lambda: the PIN reached \$HSMSIGN_CU_PIN" test "$(cat "$o/.pin_seen" 2>/dev/null)" = "$pin"
check "lambda: hsmsignd's environment holds the PIN only in HSMSIGN_CU_PIN" \
    test "$(grep -cF -f "$work/pin.txt" "$o/.env_seen")" = 1
rm -f "$o/.pin_seen" "$o/.env_seen"
check "lambda: configure-pkcs11 -a with both HSMs and the cluster certificate" \
    grep -qxF -- "-a 10.40.0.17 10.40.1.23 --hsm-ca-cert $o/cloudhsm/etc/customerCA.crt" "$o/configure-pkcs11.args"
check "lambda: no --disable-key-availability-check" bash -c "! grep -q disable '$o/configure-pkcs11.args'"
check "lambda: image defaults copied to the CloudHSM etc" test -f "$o/cloudhsm/etc/cloudhsm-pkcs11.cfg"
check "lambda: the PIN is in no file, no output, no argv" pin_nowhere_else lambda
check "lambda: every AWS request was validly SigV4-signed (incl. x-amz-target, session token)" \
    bash -c "[ \$(grep -c '\"valid\": true' '$state/requests.jsonl') -eq 2 ] && ! grep -q '\"valid\": false' '$state/requests.jsonl'"
check "lambda: stderr lines are JSON" bash -c "grep -v '^$' '$o/stderr' | jq -e . >/dev/null"
if [ -f "$o/strace" ]; then
    check "lambda: no AWS secret key or session token in any argv" \
        bash -c "! grep -v 'execve(\"/usr/bin/env\"' '$o/strace' | grep -qF -e wJalrXUtnFEMI -e IQoJb3JpZ2luX2VjEXAMPLETOKEN"
fi

# --- 2. ECS: container credentials endpoint, JSON secret, no CloudHSM addresses ---------------------
: >"$state/requests.jsonl"
run_entrypoint ecs \
    AWS_CONTAINER_CREDENTIALS_FULL_URI="$endpoint/creds" AWS_CONTAINER_AUTHORIZATION_TOKEN=ecs-auth-token-123 \
    HSMSIGN_SSM_CONFIG=/hsmsign-test/config HSMSIGN_SSM_JWKS=/hsmsign-test/jwks \
    HSMSIGN_SSM_TRUSTSTORE=/hsmsign-test/truststore \
    HSMSIGN_PIN_SECRET_ARN="$json_secret_arn" HSMSIGN_PIN_SECRET_JSON_KEY=pin
o=$work/ecs
check "ecs: entrypoint exits 0" test "$(cat "$o/rc")" = 0
check "ecs: the PIN from the JSON secret's member reached \$HSMSIGN_CU_PIN" test "$(cat "$o/.pin_seen" 2>/dev/null)" = "$pin"
rm -f "$o/.pin_seen"
check "ecs: role credentials are not handed to hsmsignd" absent wJalrXUtnFEMI "$o/.env_seen"
check "ecs: no CloudHSM configuration without addresses" test ! -e "$o/configure-pkcs11.args"
check "ecs: the PIN is in no file, no output, no argv" pin_nowhere_else ecs
check "ecs: credentials fetched with the authorization token" grep -q '"op": "creds", "authorized": true' "$state/requests.jsonl"
if [ -f "$o/strace" ]; then
    check "ecs: the authorization token and the role's secret key are in no argv" \
        bash -c "! grep -v 'execve(\"/usr/bin/env\"' '$o/strace' | grep -qF -e ecs-auth-token-123 -e wJalrXUtnFEMI"
fi

# --- 3. failures ------------------------------------------------------------------------------------
lambda_creds=(AWS_ACCESS_KEY_ID=AKIDEXAMPLE0000TEST AWS_SECRET_ACCESS_KEY='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
    AWS_SESSION_TOKEN='IQoJb3JpZ2luX2VjEXAMPLETOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==')
: >"$state/requests.jsonl"
run_entrypoint missing "${lambda_creds[@]}" HSMSIGN_SSM_CONFIG=/hsmsign-test/nope \
    AWS_LAMBDA_RUNTIME_API="127.0.0.1:$(cat "$state/port")"
o=$work/missing
check "missing parameter: exit 1" test "$(cat "$o/rc")" = 1
check "missing parameter: one JSON error line naming it" \
    bash -c "jq -e 'select(.level == \"error\" and .event == \"entrypoint.ssm\" and (.detail | contains(\"/hsmsign-test/nope\")))' '$o/stderr' >/dev/null"
check "missing parameter: hsmsignd not started" test ! -e "$o/argc"
check "missing parameter: reported to /runtime/init/error" \
    grep -q '"op": "init_error", "type": "Runtime.EntrypointFailed"' "$state/requests.jsonl"

run_entrypoint badkey AWS_ACCESS_KEY_ID=AKIDEXAMPLE0000TEST AWS_SECRET_ACCESS_KEY=not-the-key \
    AWS_SESSION_TOKEN='IQoJb3JpZ2luX2VjEXAMPLETOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==' \
    HSMSIGN_SSM_CONFIG=/hsmsign-test/config
check "wrong secret key: refused by the signature check, exit 1" \
    bash -c "[ \"\$(cat '$work/badkey/rc')\" = 1 ] && grep -q '\"reason\": \"signature mismatch\"' '$state/requests.jsonl'"

run_entrypoint nopinenv "${lambda_creds[@]}" HSMSIGN_SSM_CONFIG=/hsmsign-test/config-nopin \
    HSMSIGN_PIN_SECRET_ARN="$secret_arn"
check "config without token.pin_env but a PIN secret: exit 1 before hsmsignd" \
    bash -c "[ \"\$(cat '$work/nopinenv/rc')\" = 1 ] && [ ! -e '$work/nopinenv/argc' ]"

run_entrypoint noconfig
check "no config at all: exit 1" test "$(cat "$work/noconfig/rc")" = 1

run_entrypoint badip "${lambda_creds[@]}" HSMSIGN_SSM_CONFIG=/hsmsign-test/config \
    HSMSIGN_SSM_HSM_CA_CERT=/hsmsign-test/hsm-ca-cert HSMSIGN_CLOUDHSM_HSM_IPS='10.0.0.1;reboot'
check "HSM address that is not an IPv4 address: exit 1" test "$(cat "$work/badip/rc")" = 1

# --- 4. the authorizer ------------------------------------------------------------------------------
authz_config='{"issuer": "https://pki.example.com", "audiences": ["https://api.example.com"], "jwks": {"ssm_parameter": "/hsmsign-test/jwks"}}'
: >"$state/requests.jsonl"
run_entrypoint authz-json "${lambda_creds[@]}" _HANDLER=hsmsign-authorizer \
    HSMSIGN_AUTHORIZER_CONFIG_JSON="$authz_config" AWS_LAMBDA_RUNTIME_API="127.0.0.1:$(cat "$state/port")"
o=$work/authz-json
check "authorizer (_HANDLER, config JSON): exit 0, hsmsignd not started" \
    bash -c "[ \"\$(cat '$o/rc')\" = 0 ] && [ ! -e '$o/argc' ]"
check "authorizer (config JSON): no arguments" test "$(cat "$o/authorizer_argc" 2>/dev/null)" = 0
check "authorizer (config JSON): HSMSIGN_AUTHORIZER_CONFIG is the written file" \
    test "$(cat "$o/authorizer_config_path" 2>/dev/null)" = "$o/run/hsmsign-authorizer.json"
check "authorizer (config JSON): the file holds the JSON as given" \
    test "$(cat "$o/authorizer_config" 2>/dev/null)" = "$authz_config"
check "authorizer (config JSON): no AWS call at start" test ! -s "$state/requests.jsonl"
check "authorizer (config JSON): the variable is not passed on" absent HSMSIGN_AUTHORIZER_CONFIG_JSON "$o/.env_seen"
check "authorizer: the function role's credentials are passed on (it reads SSM itself)" \
    grep -q '^AWS_ACCESS_KEY_ID=AKIDEXAMPLE0000TEST$' "$o/.env_seen"
rm -f "$o/.env_seen"

entry_args=(hsmsign-authorizer)
run_entrypoint authz-ssm "${lambda_creds[@]}" HSMSIGN_SSM_CONFIG=/hsmsign-test/config
entry_args=()
o=$work/authz-ssm
check "authorizer (argument, SSM config): exit 0" test "$(cat "$o/rc")" = 0
check "authorizer (SSM config): the parameter's value is its config" \
    test "$(cat "$o/authorizer_config" 2>/dev/null)" = "$config"
check "authorizer (SSM config): one validly signed GetParameters" \
    bash -c "[ \$(grep -c '\"valid\": true' '$state/requests.jsonl') -eq 1 ] && ! grep -q '\"valid\": false' '$state/requests.jsonl'"
rm -f "$o/.env_seen"

run_entrypoint authz-pin "${lambda_creds[@]}" _HANDLER=hsmsign-authorizer \
    HSMSIGN_AUTHORIZER_CONFIG_JSON="$authz_config" HSMSIGN_PIN_SECRET_ARN="$secret_arn"
check "authorizer with a PIN secret: exit 1, not started" \
    bash -c "[ \"\$(cat '$work/authz-pin/rc')\" = 1 ] && [ ! -e '$work/authz-pin/authorizer_argc' ]"
run_entrypoint authz-hsm _HANDLER=hsmsign-authorizer HSMSIGN_AUTHORIZER_CONFIG_JSON="$authz_config" \
    HSMSIGN_CLOUDHSM_HSM_IPS=10.40.0.17
check "authorizer with HSM addresses: exit 1, not started" \
    bash -c "[ \"\$(cat '$work/authz-hsm/rc')\" = 1 ] && [ ! -e '$work/authz-hsm/authorizer_argc' ]"
run_entrypoint authz-none _HANDLER=hsmsign-authorizer
check "authorizer without a config: exit 1 with a JSON error line" \
    bash -c "[ \"\$(cat '$work/authz-none/rc')\" = 1 ] && jq -e 'select(.event == \"entrypoint.config\")' '$work/authz-none/stderr' >/dev/null"
run_entrypoint unknown _HANDLER=/bin/sh HSMSIGN_AUTHORIZER_CONFIG_JSON="$authz_config"
check "unknown program name: exit 1, nothing started" \
    bash -c "[ \"\$(cat '$work/unknown/rc')\" = 1 ] && [ ! -e '$work/unknown/argc' ] && [ ! -e '$work/unknown/authorizer_argc' ]"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
