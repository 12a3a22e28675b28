#!/usr/bin/env bash
# dynalite for the DynamoDB inventory tests (tests/dynamo/dynalite_server.js: dynalite behind a
# SigV4-checking front with fault injection and a container credentials endpoint).
#
# Sourced (after tests/integration/lib.sh or alone):
#   dynalite_install             npm ci --no-audit --no-fund into tests/dynamo/node_modules once
#                                (under a lock; skipped when the pinned version is installed)
#   dynalite_start TABLE REGION AKID SECRET [--token T] [--creds-auth A]
#                                starts it on a free port of 127.0.0.1 with TABLE created; sets
#                                ddb_pid, ddb_port and ddb_endpoint
#   dynalite_stop
#   dynalite_count TABLE REGION AKID SECRET   certificate items in TABLE (Scan, meta# excluded)
#   dynalite_fault JSON          queues faults (see dynalite_server.js)
# Run:
#   dynalite.sh install          the above, for a CTest fixture
#   dynalite.sh run CMD...       starts dynalite (table inventory-test, region eu-west-1, a test
#                                key pair) and runs CMD with HSMSIGN_TEST_DYNAMO_* set
# Without node or npm: exit 77 (skipped), but under CI=true a failure.
dynamo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

dynalite_require() {
    local c
    for c in node npm flock curl; do
        if ! command -v "$c" >/dev/null 2>&1; then
            if [ "${CI:-}" = true ]; then
                echo "missing dependency under CI: $c (scripts/deps.sh installs it)" >&2
                exit 1
            fi
            echo "skipped: $c not installed (the DynamoDB tests need node and npm for dynalite)" >&2
            exit 77
        fi
    done
}

# True when node_modules holds the dynalite version package-lock.json pins.
dynalite_installed() {
    (cd "$dynamo_dir" && node -e '
        const lock = require("./package-lock.json").packages["node_modules/dynalite"];
        const have = require("./node_modules/dynalite/package.json");
        process.exit(lock && have.version === lock.version ? 0 : 1)' 2>/dev/null)
}

dynalite_install() {
    dynalite_require
    (
        flock 9
        if ! dynalite_installed; then
            (cd "$dynamo_dir" && npm ci --no-audit --no-fund --loglevel=error >&2) || {
                echo "npm ci in $dynamo_dir failed" >&2
                exit 1
            }
        fi
    ) 9>"$dynamo_dir/.install.lock"
}

dynalite_start() {
    local table=$1 region=$2 akid=$3 secret=$4
    shift 4
    dynalite_install || return 1
    local dir
    dir=$(mktemp -d) # 0700; removed once the server has read its files and is listening
    # The secret and the credentials endpoint's token go to the server in 0600 files, never on
    # its command line.
    local -a opts=(--secret-file "$dir/secret")
    (umask 077 && printf '%s' "$secret" >"$dir/secret")
    while [ $# -gt 0 ]; do
        case $1 in
        --creds-auth)
            (umask 077 && printf '%s' "$2" >"$dir/creds-auth")
            opts+=(--creds-auth-file "$dir/creds-auth")
            shift 2
            ;;
        *)
            opts+=("$1")
            shift
            ;;
        esac
    done
    node "$dynamo_dir/dynalite_server.js" --table "$table" --region "$region" --akid "$akid" \
        "${opts[@]}" --port-file "$dir/port" >"$dir/log" 2>&1 &
    ddb_pid=$!
    for _ in $(seq 1 200); do
        [ -s "$dir/port" ] && break
        kill -0 "$ddb_pid" 2>/dev/null || break
        sleep 0.05
    done
    if [ ! -s "$dir/port" ]; then
        echo "dynalite did not start:" >&2
        cat "$dir/log" >&2
        rm -rf "$dir"
        ddb_pid=
        return 1
    fi
    ddb_port=$(cat "$dir/port")
    ddb_endpoint="http://127.0.0.1:$ddb_port"
    rm -rf "$dir"
}

dynalite_stop() {
    if [ -n "${ddb_pid:-}" ]; then
        kill -TERM "$ddb_pid" 2>/dev/null || true
        wait "$ddb_pid" 2>/dev/null || true
        ddb_pid=
    fi
}

dynalite_fault() {
    curl -sS -o /dev/null -X POST --data-binary "$1" "$ddb_endpoint/__faults"
}

# One signed DynamoDB call with curl (as the service makes them): dynalite_call ACTION JSON.
# curl reads the key id and secret as a config on its standard input (-K -), never from its
# command line; printf is the shell's own.
dynalite_call() {
    printf 'user = "%s:%s"\n' "$ddb_akid" "$ddb_secret" |
        curl -sS -K - --aws-sigv4 "aws:amz:$ddb_region:dynamodb" \
            -H "X-Amz-Target: DynamoDB_20120810.$1" \
            -H 'Content-Type: application/x-amz-json-1.0' --data-binary "$2" "$ddb_endpoint/"
}

dynalite_count() {
    local table=$1 ddb_region=$2 ddb_akid=$3 ddb_secret=$4 start=null total=0 answer
    while :; do
        answer=$(dynalite_call Scan "$(/usr/bin/python3 -c 'import json, sys
d = {"TableName": sys.argv[1], "Select": "COUNT", "ConsistentRead": True,
     "FilterExpression": "NOT begins_with(serial, :m)",
     "ExpressionAttributeValues": {":m": {"S": "meta#"}}}
start = json.loads(sys.argv[2])
if start:
    d["ExclusiveStartKey"] = start
print(json.dumps(d))' "$table" "$start")") || return 1
        read -r n start < <(/usr/bin/python3 -c 'import json, sys
d = json.loads(sys.argv[1])
print(d["Count"], json.dumps(d.get("LastEvaluatedKey")).replace(" ", ""))' "$answer") || {
            echo "Scan failed: $answer" >&2
            return 1
        }
        total=$((total + n))
        [ "$start" = null ] && break
    done
    echo "$total"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-}" in
    install)
        dynalite_install
        ;;
    run)
        shift
        dynalite_require
        akid=AKIAHSMSIGNTEST00001
        secret=$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')
        dynalite_start inventory-test eu-west-1 "$akid" "$secret" --creds-auth "creds-$secret"
        trap dynalite_stop EXIT
        HSMSIGN_TEST_DYNAMO_ENDPOINT=$ddb_endpoint HSMSIGN_TEST_DYNAMO_TABLE=inventory-test \
            HSMSIGN_TEST_DYNAMO_REGION=eu-west-1 HSMSIGN_TEST_DYNAMO_AKID=$akid \
            HSMSIGN_TEST_DYNAMO_SECRET=$secret HSMSIGN_TEST_DYNAMO_CREDS_AUTH="creds-$secret" \
            "$@"
        ;;
    *)
        echo "usage: $0 install | run CMD..." >&2
        exit 2
        ;;
    esac
fi
