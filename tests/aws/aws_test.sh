#!/usr/bin/env bash
# Runs the aws/ test program (argument 1) against tests/aws/aws_standin.py, which it starts on a
# free port of 127.0.0.1 and stops afterwards. Exits with the program's status.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/aws_test.XXXXXX")
standin_pid=
cleanup() {
    local rc=$?
    if [ -n "$standin_pid" ]; then
        kill "$standin_pid" 2>/dev/null || true
        wait "$standin_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
if ! /usr/bin/python3 -c 'import botocore' 2>/dev/null; then
    echo "python3-botocore is missing (scripts/deps.sh installs it)" >&2
    [ "${CI:-}" = true ] && exit 1
    exit 77
fi
/usr/bin/python3 "$here/aws_standin.py" "$work/port" &
standin_pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { echo "the stand-in did not start" >&2; exit 1; }
AWS_STANDIN_URL="http://127.0.0.1:$(cat "$work/port")"
export AWS_STANDIN_URL
export HSMSIGN_TEST_TMPDIR=$work
"$1"
