# Shared helpers for the integration test scripts (sourced, not run).
# Every check counts; the script ends with "N passed, N failed" and fails if any check did.
# A script that made no check at all ends as skipped (exit 77), never as passed; under
# CI=true that is a failure.
set -euo pipefail

py=/usr/bin/python3 # Debian's python3, which has python3-jwt / python3-jwcrypto
repo=${HSMSIGN_REPO:?HSMSIGN_REPO must be set (ctest sets it)}
hs_passed=0
hs_failed=0

# require CMD...: skip (exit 77) when a tool is missing, unless CI=true, where that fails.
require() {
    for c in "$@"; do
        if ! command -v "$c" >/dev/null 2>&1; then
            if [ "${CI:-}" = true ]; then
                echo "missing dependency under CI: $c" >&2
                exit 1
            fi
            echo "skipped: $c not installed" >&2
            exit 77
        fi
    done
}

# CMD | has [grep options] PATTERN: like `grep -q`, but reads all of its input first. (With
# pipefail, `grep -q` exiting at the first match can kill the writer with SIGPIPE and fail the
# pipeline at random -- or, negated, make a match look like none.)
has() {
    local input
    input=$(cat)
    grep -q "$@" <<<"$input"
}

# check DESCRIPTION CMD...: CMD must succeed.
check() {
    local what=$1
    shift
    if "$@"; then
        hs_passed=$((hs_passed + 1))
        echo "ok   $what"
    else
        hs_failed=$((hs_failed + 1))
        echo "FAIL $what"
    fi
}

# check_fails DESCRIPTION EXPECTED_TEXT CMD...: CMD must fail and print EXPECTED_TEXT.
check_fails() {
    local what=$1 text=$2
    shift 2
    local out rc=0
    out=$("$@" 2>&1) || rc=$?
    if [ "$rc" -ne 0 ] && grep -qF -- "$text" <<<"$out"; then
        hs_passed=$((hs_passed + 1))
        echo "ok   $what"
    else
        hs_failed=$((hs_failed + 1))
        echo "FAIL $what (exit $rc, expected text: $text)"
        echo "$out" | tail -n 5 | sed 's/^/     /'
    fi
}

finish() {
    echo "$hs_passed passed, $hs_failed failed"
    if [ "$hs_failed" -ne 0 ]; then
        return 1
    fi
    if [ "$hs_passed" -eq 0 ]; then
        if [ "${CI:-}" = true ]; then
            echo "no check ran (under CI, a failure)" >&2
            exit 1
        fi
        echo "skipped: no check ran" >&2
        exit 77
    fi
}

# new_token DIR LABEL: a fresh SoftHSM2 token in DIR; exports SOFTHSM2_CONF.
new_token() {
    KEYCEREMONY=${KEYCEREMONY:?} "$repo/softhsm/init-token.sh" "$1" "$2"
    export SOFTHSM2_CONF="$1/softhsm2.conf"
}

# list_private_keys TOKEN_LABEL PIN_FILE: pkcs11-tool's view of the private keys. The PIN is
# typed into a pseudo-terminal (pkcs11-tool reads it from a tty), never passed as an argument.
list_private_keys() {
    local label=$1 pin_file=$2
    (sleep 0.5; cat "$pin_file") |
        script -qec "pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label $label --login --list-objects --type privkey" /dev/null |
        tr -d '\r'
}

# object_count TOKEN_LABEL PIN_FILE: number of objects on the token, counted after login (so
# private objects count too; the PIN is typed into a pseudo-terminal, never an argument).
object_count() {
    local label=$1 pin_file=$2
    (sleep 0.5; cat "$pin_file") |
        script -qec "pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label $label --login --list-objects" /dev/null |
        tr -d '\r' | grep -c 'Object;' || true
}

# token_listing TOKEN_LABEL PIN_FILE: every object on the token as pkcs11-tool lists it after
# login, for comparing a token before and after a step that must not change it.
token_listing() {
    local label=$1 pin_file=$2
    (sleep 0.5; cat "$pin_file") |
        script -qec "pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label $label --login --list-objects" /dev/null |
        tr -d '\r' | sed -e '/^Logging in/d' -e '/^Please enter/d'
}

# start_hsmsignd CONFIG LOG: runs hsmsignd (port 0 in CONFIG) in the background and waits for
# its service.ready line; sets svc_pid and svc_url. stop_hsmsignd ends it.
start_hsmsignd() {
    local config=$1 log=$2 port=
    "${HSMSIGND:?}" --config "$config" >"$log" 2>&1 &
    svc_pid=$!
    for _ in $(seq 1 200); do
        port=$(grep -m1 '"event":"service.ready"' "$log" 2>/dev/null |
            $py -c 'import json,sys; print(json.loads(sys.stdin.readline())["port"])' 2>/dev/null) ||
            true
        [ -n "$port" ] && break
        kill -0 "$svc_pid" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$port" ]; then
        echo "hsmsignd did not start:"
        tail -n 5 "$log"
        svc_pid=
        return 1
    fi
    svc_url="http://127.0.0.1:$port"
}

stop_hsmsignd() {
    if [ -n "${svc_pid:-}" ]; then
        kill -TERM "$svc_pid" 2>/dev/null || true
        wait "$svc_pid" 2>/dev/null || true
        svc_pid=
    fi
}

# new_caller_secret [AKID]: a random 40-character SigV4 secret access key in out/caller.secret
# (0600; the config's "secret_file"), and with AKID also out/curl.cfg (0600) holding
# `user = "AKID:SECRET"` for `curl -K out/curl.cfg --aws-sigv4 ...`: curl reads the credentials
# from a file, never from its command line.
new_caller_secret() {
    (
        umask 077
        head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 >out/caller.secret
    )
    if [ -n "${1:-}" ]; then
        sigv4_curl_cfg out/curl.cfg "$1" out/caller.secret
    fi
}

# sigv4_curl_cfg FILE AKID SECRET_FILE: writes FILE (0600, replaced if it exists), a curl config
# holding `user = "AKID:SECRET"` with the SigV4 secret access key read from SECRET_FILE, for
# `curl -K FILE --aws-sigv4 ...`: a secret is never on a command line (ps, /proc/PID/cmdline).
# The secret goes through the shell's own $(<file) and printf, never an external command's argv.
# A negative case (a wrong secret, an unknown key id) writes its wrong secret to a file first.
sigv4_curl_cfg() {
    local file=$1 akid=$2 secret_file=$3
    (
        umask 077
        secret=$(<"$secret_file")
        rm -f -- "$file"
        printf 'user = "%s:%s"\n' "$akid" "$secret" >"$file"
    )
}

# sigv4_call SCOPE CFG METHOD URL [BODY_FILE [CURL_OPTION...]]: one request with curl; prints the
# HTTP status code (-w '%{http_code}'), the body goes to out/resp. With CFG (a file from
# sigv4_curl_cfg) the request is SigV4-signed for SCOPE ("aws:amz:REGION:SERVICE"); with CFG
# empty it goes unsigned. With BODY_FILE it sends that file as the JSON body
# (Content-Type: application/json). CURL_OPTION... go to curl as they are (-D FILE for the
# response headers, --path-as-is, ...).
sigv4_call() {
    local scope=$1 cfg=$2 method=$3 url=$4 body_file=${5:-}
    shift $(($# < 5 ? $# : 5))
    local -a args=(-sS -o out/resp -w '%{http_code}' "$@")
    if [ -n "$cfg" ]; then
        args+=(-K "$cfg" --aws-sigv4 "$scope")
    fi
    args+=(-X "$method")
    if [ -n "$body_file" ]; then
        args+=(-H 'Content-Type: application/json' --data-binary "@$body_file")
    fi
    curl "${args[@]}" "$url"
}

# sigv4_call_as WHO METHOD URL [BODY [CURL_OPTION...]]: sigv4_call for API Gateway's
# execute-api in eu-west-1 as caller WHO: signed with out/WHO.curl (from sigv4_curl_cfg) when
# that file exists, unsigned otherwise; BODY, a string ("" for none), is sent from out/req.
# Prints the HTTP status; the body goes to out/resp.
sigv4_call_as() {
    local who=$1 method=$2 url=$3 body=${4:-} cfg='' req=''
    shift $(($# < 4 ? $# : 4))
    [ ! -f "out/$who.curl" ] || cfg=out/$who.curl
    if [ -n "$body" ]; then
        printf '%s' "$body" >out/req
        req=out/req
    fi
    sigv4_call aws:amz:eu-west-1:execute-api "$cfg" "$method" "$url" "$req" "$@"
}

# permissive_policy PRINCIPAL...: a config member "policy" that lets these principals (and
# every client certificate we issued) have any profile, name, lifetime and audience, SSH user
# and host certificates for any principal, lifetime (up to the policy's ceiling, 366 days),
# extension and critical option, and makes them admins; for tests that are not about policy.
permissive_policy() {
    local list
    list=$(printf '"%s", ' "$@")
    list="[${list%, }]"
    printf '"policy": {"admins": %s, "rules": [{"principals": %s, "profiles": ["client", "server"], "cn_patterns": ["*"], "dns_patterns": ["**"], "allow_wildcards": true, "email_patterns": ["*"], "uri_patterns": ["*"], "ip_ranges": ["0.0.0.0/0", "::/0"], "audiences": ["*"], "ssh_cert_types": ["user", "host"], "ssh_principals": ["*"], "ssh_max_ttl_seconds": 31622400, "ssh_extensions": ["no-touch-required", "permit-X11-forwarding", "permit-agent-forwarding", "permit-port-forwarding", "permit-pty", "permit-user-rc"], "ssh_critical_options": ["force-command", "source-address"]}, {"principals": ["x509:*"], "audiences": ["*"]}]}' \
        "$list" "$list"
}

# small_ceremony PREFIX ROOT_TYPE: the key ceremony most service tests need, in the current
# directory (cfg/ and out/ exist; $token is the config's token member): root PREFIX-root
# (ROOT_TYPE, 30 days), issuing CA PREFIX-issuing (EC-P256, 10 days), ES256 JWT key PREFIX-jwt,
# then export: out/root.pem, out/intermediate.pem, out/truststore.pem, out/jwks.json.
small_ceremony() {
    local prefix=$1 root_type=$2 name=${1^^}
    cat >cfg/root.json <<JSON
{ $token, "key": {"label": "$prefix-root", "type": "$root_type"},
  "certificate": {"subject": {"CN": "$name Root"}, "validity_days": 30, "output": "out/root.pem"} }
JSON
    cat >cfg/intermediate.json <<JSON
{ $token, "issuer": {"key": "$prefix-root", "certificate": "out/root.pem"},
  "key": {"label": "$prefix-issuing", "type": "EC-P256"},
  "certificate": {"subject": {"CN": "$name Issuing"}, "validity_days": 10,
                  "output": "out/intermediate.pem"} }
JSON
    cat >cfg/jwt.json <<JSON
{ $token, "key": {"label": "$prefix-jwt", "type": "EC-P256"}, "alg": "ES256",
  "jwk_output": "out/jwt.jwk.json" }
JSON
    cat >cfg/export.json <<JSON
{ $token, "root_certificate": "out/root.pem", "intermediate_certificate": "out/intermediate.pem",
  "jwt_keys": [{"key": "$prefix-jwt"}], "truststore_output": "out/truststore.pem",
  "jwks_output": "out/jwks.json" }
JSON
    local step
    for step in root:root intermediate:intermediate jwt-key:jwt export:export; do
        "${KEYCEREMONY:?}" "${step%%:*}" --config "cfg/${step#*:}.json" 2>>out/ceremony.log ||
            { echo "ceremony step $step failed"; cat out/ceremony.log; return 1; }
    done
}
