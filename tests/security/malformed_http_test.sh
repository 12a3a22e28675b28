#!/usr/bin/env bash
# The malformed-HTTP set (issue 10, deliverable 3) against a real hsmsignd on a fresh SoftHSM2
# token: tests/security/malformed_http.py sends each case over a raw socket and checks a JSON
# 4xx (or a closed connection) and GET /healthz afterwards; then this script checks that the
# service still runs, that nothing the malformed requests sent was issued (the inventory's row
# count is unchanged) and that a normal request signed by curl --aws-sigv4 still gets a
# certificate.
#
# The per-request deadline (limits.request_timeout_seconds) is set when this hsmsignd takes it:
# HSMSIGN_SECURITY_DEADLINE=N forces N seconds, =0 leaves it out; unset, the script tries the
# config with 2 s and falls back to none when hsmsignd refuses it (the deadline case then fails
# with "no request deadline"). Other arguments go to malformed_http.py (--only NAME, --list).
. "$(dirname "$0")/../integration/lib.sh"
require openssl curl sqlite3
if ! $py -c 'import botocore' 2>/dev/null; then
    [ "${CI:-}" = true ] && { echo "python3-botocore missing under CI" >&2; exit 1; }
    echo "skipped: python3-botocore not installed" >&2
    exit 77
fi
suite=$repo/tests/security/malformed_http.py
work=$(mktemp -d)
trap 'stop_hsmsignd; rm -rf "$work"' EXIT
cd "$work"
mkdir -p out cfg
label=security-test
new_token "$work/token" "$label" >/dev/null
module=/usr/lib/softhsm/libsofthsm2.so
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$work/token/user.pin\"}"
small_ceremony sec EC-P256 || exit 1

region=eu-west-1
arn=arn:aws:iam::123456789012:role/security-suite
akid=AKIASECURITYSUITE001
umask 077
head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 >out/caller.secret
umask 022
write_config() { # $1: the "limits" member's contents
    cat >cfg/hsmsignd.json <<EOF
{ "listen": "127.0.0.1:0",
  "token": {"module": "$module", "label": "$label", "pin_file": "$work/token/user.pin",
            "pool_size": 2},
  "ca": {"key": "sec-issuing", "chain_file": "out/truststore.pem",
         "crl_url": "http://pki.security.example/v1/crl"},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "https://hsmsign.security.example", "jwks_file": "out/jwks.json",
          "default_alg": "ES256"},
  "auth": {"sigv4": {"region": "$region", "access_keys": [
    {"access_key_id": "$akid", "secret_file": "out/caller.secret", "principal_arn": "$arn"}]}},
  $(permissive_policy "$arn"),
  "limits": {$1} }
EOF
}
deadline=${HSMSIGN_SECURITY_DEADLINE:-2}
started=false
if [ "$deadline" -gt 0 ]; then
    write_config "\"request_timeout_seconds\": $deadline"
    if start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log >out/start.log; then
        started=true
    elif [ -n "${HSMSIGN_SECURITY_DEADLINE:-}" ]; then
        cat out/start.log
        exit 1
    else
        echo "note: this hsmsignd refuses limits.request_timeout_seconds; running without a" \
            "request deadline ($(tail -n 1 out/hsmsignd.log))"
    fi
fi
if ! $started; then
    deadline=0
    write_config '"max_connections": 256'
    start_hsmsignd cfg/hsmsignd.json out/hsmsignd.log || exit 1
fi

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout out/sec.key \
    -subj /CN=security-suite-1 -out out/sec.csr 2>/dev/null
rows() { sqlite3 out/inventory.db 'SELECT count(*) FROM certificates'; }
before=$(rows)

check "malformed HTTP: every case answered as expected (table above)" \
    $py "$suite" --url "$svc_url" --akid "$akid" --secret-file out/caller.secret \
    --region "$region" --csr out/sec.csr --deadline "$deadline" "$@"
check "hsmsignd still running after the malformed requests" kill -0 "$svc_pid"
same_rows() { # WANT: the inventory has WANT rows
    local n
    n=$(rows)
    [ "$n" = "$1" ] || { echo "     $n rows in the inventory, want $1"; return 1; }
}
check "no certificate issued by a malformed request (inventory rows: $before)" same_rows "$before"

# A normal signed request still gets a certificate (curl signs, as api_test.sh does).
$py -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": "client"}))' \
    out/sec.csr >out/req.json
issue_ok() {
    local status
    # The secret goes to curl on its standard input (-K -), not on its command line.
    status=$(printf 'user = "%s:%s"\n' "$akid" "$(cat out/caller.secret)" |
        curl -K - -sS -o out/resp -w '%{http_code}' --max-time 10 \
            --aws-sigv4 "aws:amz:$region:execute-api" \
            -H 'Content-Type: application/json' --data-binary @out/req.json \
            "$svc_url/v1/certificates") || return 1
    [ "$status" = 200 ] || { echo "     status $status: $(head -c 300 out/resp)"; return 1; }
    $py -c 'import json,sys; assert "BEGIN CERTIFICATE" in json.load(open("out/resp"))["certificate"]'
}
mid=$(rows)
check "a normal signed request after the suite gets a certificate" issue_ok
check "and it is in the inventory (one row more: $((mid + 1)))" same_rows "$((mid + 1))"
stop_hsmsignd
check "no sanitizer report in the service's log" \
    bash -c "! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' out/hsmsignd.log"
finish
