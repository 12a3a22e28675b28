#!/usr/bin/env bash
# The self-test of tests/security/malformed_http.py: every case must pass against a strict
# HTTP/1.1 stand-in (tests/security/strict_standin.py, on a free port of 127.0.0.1) that
# answers as the suite expects hsmsignd's front end to -- so no case expects what no server can
# do, and the harness's own paths (the per-request deadline, the early 413 on a 64 MiB chunked
# body, the smuggling and pipelining checks) run at least once. Arguments go to
# malformed_http.py (--only NAME, --verbose).
. "$(dirname "$0")/../integration/lib.sh"
require openssl
if ! $py -c 'import botocore' 2>/dev/null; then
    [ "${CI:-}" = true ] && { echo "python3-botocore missing under CI" >&2; exit 1; }
    echo "skipped: python3-botocore not installed" >&2
    exit 77
fi
dir=$repo/tests/security
work=$(mktemp -d)
standin_pid=
trap '[ -z "$standin_pid" ] || kill "$standin_pid" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
$py "$dir/strict_standin.py" --deadline 2 >standin.out 2>standin.err &
standin_pid=$!
port=
for _ in $(seq 1 100); do
    port=$(sed -n 's/^port //p' standin.out)
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "the stand-in did not start"; cat standin.err; exit 1; }
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout self.key \
    -subj /CN=self-test -out self.csr 2>/dev/null
head -c 30 /dev/urandom | base64 | tr -d '/+=\n' >self.secret
check "every case passes against the strict stand-in (table above)" \
    $py "$dir/malformed_http.py" --url "http://127.0.0.1:$port" --akid AKIASELFTEST00000001 \
    --secret-file self.secret --region eu-west-1 --csr self.csr --deadline 2 "$@"
check "the stand-in is still running" kill -0 "$standin_pid"
finish
