#!/usr/bin/env bash
# local-aws-sqs for the SQS client tests (tests/sqs/sqs_server.js: local-aws-sqs behind a
# SigV4-checking front with fault injection).
#
# Sourced:
#   sqs_install                  npm ci --no-audit --no-fund into tests/sqs/node_modules once
#                                (under a lock; skipped when the pinned version is installed)
#   sqs_start REGION AKID SECRET QUEUES
#                                starts it on a free port of 127.0.0.1 with QUEUES (comma-
#                                separated) created; sets sqs_pid, sqs_port and sqs_endpoint
#   sqs_stop
# Run:
#   sqs.sh install               the above, for a CTest fixture
#   sqs.sh run CMD...            starts it (region eu-west-1, a test key pair, queues
#                                hsmsign-rt, -bytes, -vis, -poll, -fault and hsmsign-test.fifo)
#                                and runs CMD with HSMSIGN_TEST_SQS_* set
# Without node or npm: exit 77 (skipped), but under CI=true a failure.
sqs_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

sqs_require() {
    local c
    for c in node npm flock; do
        if ! command -v "$c" >/dev/null 2>&1; then
            if [ "${CI:-}" = true ]; then
                echo "missing dependency under CI: $c (scripts/deps.sh installs it)" >&2
                exit 1
            fi
            echo "skipped: $c not installed (the SQS tests need node and npm for local-aws-sqs)" >&2
            exit 77
        fi
    done
}

# True when node_modules holds the local-aws-sqs version package-lock.json pins.
sqs_installed() {
    (cd "$sqs_dir" && node -e '
        const lock = require("./package-lock.json").packages["node_modules/local-aws-sqs"];
        const have = require("./node_modules/local-aws-sqs/package.json");
        process.exit(lock && have.version === lock.version ? 0 : 1)' 2>/dev/null)
}

sqs_install() {
    sqs_require
    (
        flock 9
        if ! sqs_installed; then
            (cd "$sqs_dir" && npm ci --no-audit --no-fund --loglevel=error >&2) || {
                echo "npm ci in $sqs_dir failed" >&2
                exit 1
            }
        fi
    ) 9>"$sqs_dir/.install.lock"
}

sqs_start() {
    local region=$1 akid=$2 secret=$3 queues=$4
    sqs_install || return 1
    local dir
    dir=$(mktemp -d) # 0700; removed once the server has read its secret and is listening
    # The secret goes to the server in a 0600 file, never on its command line.
    (umask 077 && printf '%s' "$secret" >"$dir/secret")
    node "$sqs_dir/sqs_server.js" --region "$region" --akid "$akid" --secret-file "$dir/secret" \
        --queues "$queues" --port-file "$dir/port" >"$dir/log" 2>&1 &
    sqs_pid=$!
    for _ in $(seq 1 200); do
        [ -s "$dir/port" ] && break
        kill -0 "$sqs_pid" 2>/dev/null || break
        sleep 0.05
    done
    if [ ! -s "$dir/port" ]; then
        echo "local-aws-sqs did not start:" >&2
        cat "$dir/log" >&2
        rm -rf "$dir"
        sqs_pid=
        return 1
    fi
    sqs_port=$(cat "$dir/port")
    sqs_endpoint="http://127.0.0.1:$sqs_port"
    rm -rf "$dir"
}

sqs_stop() {
    if [ -n "${sqs_pid:-}" ]; then
        kill -TERM "$sqs_pid" 2>/dev/null || true
        wait "$sqs_pid" 2>/dev/null || true
        sqs_pid=
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-}" in
    install)
        sqs_install
        ;;
    run)
        shift
        sqs_require
        akid=AKIAHSMSIGNTEST00002
        secret=$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')
        sqs_start eu-west-1 "$akid" "$secret" \
            hsmsign-rt,hsmsign-bytes,hsmsign-vis,hsmsign-poll,hsmsign-fault,hsmsign-test.fifo
        trap sqs_stop EXIT
        HSMSIGN_TEST_SQS_ENDPOINT=$sqs_endpoint HSMSIGN_TEST_SQS_REGION=eu-west-1 \
            HSMSIGN_TEST_SQS_AKID=$akid HSMSIGN_TEST_SQS_SECRET=$secret \
            HSMSIGN_TEST_SQS_DIR=$sqs_dir "$@"
        ;;
    *)
        echo "usage: $0 install | run CMD..." >&2
        exit 2
        ;;
    esac
fi
