#!/usr/bin/env bash
# The Lambda benchmark (issue 15, deliverable 2: "how many containers or Lambda concurrency
# saturate the cluster"): warm invocations of hsmsignd's Lambda runtime on the CloudHSM-shaped
# token, next to its HTTP front end on the same token. Not a test: performance is measured,
# never asserted; the exit status is non-zero only when something broke (the build, the
# ceremony, a process, an invocation or request that failed).
#
#   tests/bench/lambda_bench.sh [--seconds S] [--quick] [--shared-inventory]
#     --seconds S   measured seconds per row (default 5), after a 1 s warm-up
#     --quick       smoke run: 1 s per row after 0.3 s, environments 1 and 4, HTTP at 8 only
#     --shared-inventory  every environment writes one SQLite inventory file (see below)
#
# What runs: one SoftHSM2 token and key ceremony (EC-P384 root, EC-P256 issuing key, ES256 JWT
# key; the steps of http_bench.sh), then for certificates (POST /v1/certificates with a P-256
# CSR) and ES256 tokens (POST /v1/tokens), with E = 1, 4, 8 and 16 execution environments: E
# hsmsignd processes in Lambda mode (AWS_LAMBDA_RUNTIME_API), each one "execution environment"
# with its own Runtime API connection, all fed by one stand-in (tests/bench/
# lambda_runtime_bench.js, node's http module) that always has an event ready, so every
# environment is busy all the time: API Gateway HTTP API (payload 2.0) events with the IAM
# authorizer context (tests/lambda/events/v2-iam-*.json). In Lambda mode hsmsignd checks no
# SigV4: API Gateway did; api_lambda takes the caller from requestContext.authorizer.iam.userArn
# and the policy decides on it, as in production.
#
# The token: every environment loads tests/testlib/p11_cloudhsm.c ("hsm2m x2": 2 ms round
# trip, 2 HSMs, RSA-2048 2,000/s, P-256 3,000/s) over SoftHSM2, and all E environments of a row
# share one cluster (cluster=FILE, a file in the temporary directory, a new one per row): one
# 3,000/s bucket per key family and one set of HSM slots for all of them, as a real cluster is
# shared by its clients. Past the cap the model throttles (CKR_FUNCTION_FAILED); hsmsignd's pool
# retries a throttled signature within its deadline and otherwise answers 503 with
# Retry-After: those show up as longer invocations and in the 503/s column, not as good
# invocations past 1.0 x the cap. SoftHSM2 makes each signature on this machine's cores.
#
# The inventory: durable SQLite (WAL, synchronous=FULL), one file per environment by default:
# each Lambda execution environment has its own /tmp and no shared disk, so a real deployment
# would use DynamoDB (st_dynamodb), and a file per process keeps the SQLite write lock from
# serialising environments that share nothing in Lambda. st_sqlite does support several
# processes on one file (busy timeout ST_INV_BUSY_MS, a creation lock, BEGIN IMMEDIATE);
# --shared-inventory measures that instead (every environment's commit then waits its turn for
# the file's lock and fsync).
#
# Columns: inv/s (good invocations per second in the window), 503/s (invocations answered 503,
# the signer's "retry later", per second; HTTP rows: http_load's busy answers), p50/p99 of the
# good invocations' time inside the environment (the stand-in's clock: /next answered ->
# response POST received, what Lambda bills), /cap (inv/s / 3,000), srv us/inv (utime+stime of
# all E hsmsignd processes from /proc/PID/stat over the window / invocations), driver us/inv
# (the same for the stand-in), RSS MiB (peak RSS, VmHWM, per environment: the largest of the
# E). The HTTP rows: one hsmsignd in HTTP mode on the same shaped token (a cluster file of its
# own; pool_size 64, limits.workers 64, limits.max_connections_per_ip 128, SigV4 checked on
# every request) under
# tests/bench/http_load.c at concurrency 8 and 16 with the same two requests: answers/s, the
# client's p50/p99, server CPU per answer and http_load's CPU per answer (driver).
#
# HSMSIGN_BENCH_BUILD names the build directory (default build-bench, configured Release
# without sanitizers). Temporary files live under $TMPDIR and are removed at exit (with every
# process this script started); HSMSIGN_BENCH_KEEP=1 keeps them. Ports: free ones on 127.0.0.1.
# The PIN stays in the token's pin_file; no secret is put on a command line.
set -euo pipefail
export LC_ALL=C
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${HSMSIGN_BENCH_BUILD:-$repo/build-bench}
seconds=5
warmup=1
envs_list=(1 4 8 16)
http_concs=(1 8 16)
shared_inv=0
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=${2:?--seconds needs a value}; shift 2 ;;
        --quick) seconds=1; warmup=0.3; envs_list=(1 4); http_concs=(8); shift ;;
        --shared-inventory) shared_inv=1; shift ;;
        *) echo "usage: $0 [--seconds S] [--quick] [--shared-inventory]" >&2; exit 2 ;;
    esac
done
[[ "$seconds" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "--seconds: a number" >&2; exit 2; }
py=/usr/bin/python3
for cmd in node openssl curl softhsm2-util "$py"; do
    command -v "$cmd" >/dev/null ||
        { echo "lambda_bench: $cmd is missing (scripts/deps.sh installs it)" >&2; exit 77; }
done

# --- build --------------------------------------------------------------------------------------
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHS_SANITIZE=OFF >/dev/null
cmake --build "$build" -j2 --target hsmsignd keyceremony http_load hs_p11_cloudhsm >/dev/null
bin=$build/bin
module=/usr/lib/softhsm/libsofthsm2.so
cloudhsm_lib=$build/tests/libhs_p11_cloudhsm.so
shape="rtt_ms=2,hsms=2,rate.rsa2048=2000,rate.p256=3000" # "hsm2m x2"
cap=3000
standin=$repo/tests/bench/lambda_runtime_bench.js

# --- processes and cleanup ---------------------------------------------------------------------
tmp=$(mktemp -d)
pids=() # every process started here that may still run
stop_pids() { # PID...: SIGTERM, then wait for each
    local p
    for p in "$@"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "$@"; do
        wait "$p" 2>/dev/null || true
    done
}
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    [ "${#pids[@]}" -eq 0 ] || stop_pids "${pids[@]}"
    if [ "${HSMSIGN_BENCH_KEEP:-0}" = 1 ]; then
        echo "kept: $tmp" >&2
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
broken=0
fail() { # MESSAGE: reports a breakage; the run goes on, the exit status will be 1
    echo "lambda_bench: $*" >&2
    broken=1
}

free_port() {
    "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# cpu_ticks PID...: the sum of utime+stime (clock ticks) of these processes.
cpu_ticks() {
    local files=() p
    for p in "$@"; do
        [ ! -e "/proc/$p/stat" ] || files+=("/proc/$p/stat")
    done
    [ "${#files[@]}" -gt 0 ] || { echo 0; return 0; }
    # The fields after the command name's ")": state is $1, utime $12, stime $13.
    awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { printf "%d", t }' "${files[@]}"
}
hz=$(getconf CLK_TCK)

# rss_max PID...: the largest VmHWM among them, MiB.
rss_max() {
    local files=() p
    for p in "$@"; do
        [ ! -e "/proc/$p/status" ] || files+=("/proc/$p/status")
    done
    [ "${#files[@]}" -gt 0 ] || { echo -; return 0; }
    awk '/^VmHWM:/ && $2 > m { m = $2 } END { printf "%.1f", m / 1024 }' "${files[@]}"
}

# --- token and ceremony -------------------------------------------------------------------------
label=bench-lambda
dir=$tmp/token-dir
echo "== token and ceremony" >&2
# shellcheck source=tests/bench/bench_lib.sh
. "$repo/tests/bench/bench_lib.sh"
bench_ceremony "$dir" "$label" EC-P256 EC-P256 ES256 >/dev/null || exit 1
mkdir -p "$tmp/inv"
pin_file=$dir/token/user.pin

# --- requests and events ------------------------------------------------------------------------
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/leaf.key" \
    -subj "/CN=svc.bench.example" -addext "subjectAltName=DNS:svc.bench.example" \
    -out "$tmp/leaf.csr" 2>/dev/null
events=$repo/tests/lambda/events
"$py" "$repo/tests/lambda/make_event.py" "$events/v2-iam-certificates.json" \
    --body csr=@"$tmp/leaf.csr" >"$tmp/ev-cert.json"
cp "$events/v2-iam-tokens.json" "$tmp/ev-token.json"
# The HTTP rows send the bodies the events carry.
"$py" - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
for kind in ("cert", "token"):
    with open("%s/ev-%s.json" % (d, kind)) as f:
        body = json.load(f)["body"]
    with open("%s/%s.json" % (d, kind), "w") as f:
        f.write(body)
PY
lambda_arn=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["requestContext"]["authorizer"]["iam"]["userArn"])' \
    "$tmp/ev-cert.json")
region=eu-central-1
akid=AKIABENCH00000000001
http_arn=arn:aws:iam::111122223333:role/bench
(umask 077 && head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 >"$tmp/secret")
# http_load's --user is AKID:SECRET_FILE: it reads the secret from the file (http_load.c).
load_user=(--user "$akid:$tmp/secret") # lint: allow-argv-user (the secret's file path)

# write_config FILE INVENTORY [HTTP_PORT]: hsmsignd's config on the shaped token; with
# HTTP_PORT the HTTP front end's (listen, SigV4 access key, sizing for 16 in flight), else a
# Lambda environment's (one invocation at a time: two sessions; no SigV4, API Gateway did it).
write_config() {
    local file=$1 inv=$2 port=${3:-} extra='"pool_size": 2}'
    if [ -n "$port" ]; then
        extra="\"pool_size\": 64},
  \"listen\": \"127.0.0.1:$port\",
  \"limits\": {\"workers\": 64, \"max_connections_per_ip\": 128},
  \"auth\": {\"sigv4\": {\"region\": \"$region\", \"service\": \"execute-api\",
           \"access_keys\": [{\"access_key_id\": \"$akid\", \"secret_file\": \"$tmp/secret\",
                            \"principal_arn\": \"$http_arn\"}]}}"
    fi
    cat >"$file" <<EOF
{ "token": {"module": "$cloudhsm_lib", "label": "$label", "pin_file": "$pin_file",
            $extra,
  "ca": {"key": "pkcs11:token=$label;object=bench-issuing;type=private",
         "chain_file": "$dir/out/truststore.pem", "default_ttl_hours": 12, "max_ttl_hours": 24},
  "inventory": {"sqlite": "$inv"},
  "jwt": {"issuer": "https://hsmsign.bench.example", "jwks_file": "$dir/out/jwks.json"},
  "policy": {"rules": [{"principals": ["$lambda_arn", "$http_arn"], "profiles": ["client"],
                        "cn_patterns": ["*"], "dns_patterns": ["**"], "audiences": ["*"]}]} }
EOF
}

# check_sample KIND FILE: the first good answer's body, checked with independent tools: the
# certificate with openssl verify against the ceremony's root and issuing CA, the token as a
# three-part JWS whose header says ES256.
check_sample() {
    local kind=$1 file=$2
    [ -s "$file" ] || { fail "$kind: no good answer to check"; return 0; }
    if [ "$kind" = cert ]; then
        if ! "$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["certificate"])' \
            "$file" >"$file.pem" 2>/dev/null ||
            ! openssl verify -x509_strict -CAfile "$dir/out/root.pem" \
                -untrusted "$dir/out/intermediate.pem" "$file.pem" >/dev/null 2>&1; then
            fail "cert: the answer's certificate does not verify against the ceremony's CA"
        fi
    else
        "$py" - "$file" <<'PY' || fail "token: the answer is not an ES256 JWS"
import base64, json, sys
t = json.load(open(sys.argv[1]))["token"].split(".")
h = json.loads(base64.urlsafe_b64decode(t[0] + "=" * (-len(t[0]) % 4)))
sys.exit(0 if len(t) == 3 and h.get("alg") == "ES256" else 1)
PY
    fi
}

declare -A R # results: R[row:field]

# lambda_row KIND E: the stand-in and E environments; R[lambda-KIND-E:*].
lambda_row() {
    local kind=$1 n=$2 row=lambda-$1-$2 expect='"certificate"' rdir port_file
    rdir=$tmp/$row
    local api envs=() i p seen st cpu0 cpu1 s0 s1 stat out rc
    [ "$kind" = cert ] || expect='"token"'
    echo "== Lambda: $kind, $n environment(s)" >&2
    mkdir -p "$rdir"
    port_file=$rdir/port
    node "$standin" --event "$tmp/ev-$kind.json" --expect "$expect" --port-file "$port_file" \
        --sample "$rdir/sample.json" >"$rdir/standin.log" 2>&1 &
    st=$!
    pids+=("$st")
    for _ in $(seq 1 200); do
        [ -s "$port_file" ] && break
        sleep 0.05
    done
    [ -s "$port_file" ] || { fail "the stand-in did not start: $(cat "$rdir/standin.log")"; return 0; }
    api=127.0.0.1:$(cat "$port_file")
    # One environment after the other, each up (its first invocation taken) before the next
    # starts, as Lambda scales out: several SoftHSM2 processes starting at once on one token
    # directory made one's C_GetTokenInfo fail with CKR_GENERAL_ERROR (1 start in ~10).
    for ((i = 0; i < n; i++)); do
        if [ "$shared_inv" -eq 1 ]; then
            write_config "$rdir/env-$i.json" "$tmp/inv/lambda-shared.db"
        else
            write_config "$rdir/env-$i.json" "$tmp/inv/$row-env-$i.db"
        fi
        AWS_LAMBDA_RUNTIME_API=$api HSMSIGN_CLOUDHSM_MODULE=$module \
            HSMSIGN_CLOUDHSM_SHAPE="$shape,cluster=$rdir/cluster" \
            "$bin/hsmsignd" --config "$rdir/env-$i.json" >"$rdir/env-$i.log" 2>&1 &
        envs+=("$!")
        pids+=("$!")
        seen=0
        for _ in $(seq 1 200); do
            stat=$(curl -sS -m 5 "http://$api/control/status" 2>/dev/null || echo '{}')
            seen=$(jq -r '.environments // 0' <<<"$stat")
            [ "$seen" -le "$i" ] || break
            kill -0 "${envs[-1]}" 2>/dev/null || break
            sleep 0.02
        done
        if [ "$seen" -le "$i" ]; then
            fail "$row: environment $i did not come up: $(tail -n 2 "$rdir/env-$i.log")"
            break
        fi
    done
    sleep "$warmup"
    cpu0=$(cpu_ticks "${envs[@]}") s0=$(cpu_ticks "$st")
    curl -sS -m 5 -X POST "http://$api/control/start" >/dev/null
    sleep "$seconds"
    out=$(curl -sS -m 5 -X POST "http://$api/control/stop")
    cpu1=$(cpu_ticks "${envs[@]}") s1=$(cpu_ticks "$st")
    R[$row:rss]=$(rss_max "${envs[@]}")
    R[$row:rate]=$(jq -r '.rate' <<<"$out")
    R[$row:busy]=$(jq -r '.busy_rate' <<<"$out")
    R[$row:n]=$(jq -r '.invocations' <<<"$out")
    R[$row:p50]=$(jq -r '.p50_ms' <<<"$out")
    R[$row:p99]=$(jq -r '.p99_ms' <<<"$out")
    R[$row:seen]=$(jq -r '.environments' <<<"$out")
    R[$row:srv_us]=$(awk -v a="$cpu0" -v b="$cpu1" -v n="${R[$row:n]}" -v hz="$hz" \
        'BEGIN { if (n > 0) printf "%.0f", (b - a) * 1e6 / hz / n; else print "-" }')
    R[$row:drv_us]=$(awk -v a="$s0" -v b="$s1" -v n="${R[$row:n]}" -v hz="$hz" \
        'BEGIN { if (n > 0) printf "%.0f", (b - a) * 1e6 / hz / n; else print "-" }')
    if [ "$(jq -r '.bad' <<<"$out")" != 0 ]; then
        R[$row:bad]=1
        fail "$row: $(jq -r '.bad' <<<"$out") bad invocation(s), the first: $(jq -r '.first_bad' <<<"$out")"
    fi
    [ "${R[$row:seen]}" = "$n" ] || fail "$row: only ${R[$row:seen]} of $n environments answered in the window"
    # The stand-in holds every /next from now on; once each environment waits in one, SIGTERM
    # ends its loop at once (a SIGTERM during an invocation would wait for its answer's POST).
    curl -sS -m 5 -X POST "http://$api/control/drain" >/dev/null
    for _ in $(seq 1 200); do
        stat=$(curl -sS -m 5 "http://$api/control/status")
        [ "$(jq -r '.held' <<<"$stat")" != "$n" ] || break
        sleep 0.05
    done
    [ "$(jq -r '.held' <<<"$stat")" = "$n" ] || fail "$row: not every environment came back to /next: $stat"
    for i in "${envs[@]}"; do
        kill -TERM "$i" 2>/dev/null || true
    done
    i=0
    for p in "${envs[@]}"; do
        rc=0
        wait "$p" || rc=$?
        [ "$rc" -eq 0 ] || { fail "$row: environment $i exited $rc:"; tail -n 3 "$rdir/env-$i.log" >&2; }
        i=$((i + 1))
    done
    stat=$(curl -sS -m 5 "http://$api/control/status")
    [ "$(jq -r '.bad' <<<"$stat")" = 0 ] || fail "$row: bad invocations outside the window: $stat"
    stop_pids "$st"
    pids=()
    check_sample "$kind" "$rdir/sample.json"
    # The environments' logs (a few lines per invocation) go once read.
    [ "${HSMSIGN_BENCH_KEEP:-0}" = 1 ] || rm -f "$rdir"/env-*.log
}

# http_rows: one hsmsignd in HTTP mode, http_load at each concurrency for both requests.
http_rows() {
    local port hdir=$tmp/http svc kind c line rc expect
    echo "== HTTP front end, same token" >&2
    mkdir -p "$hdir"
    port=$(free_port)
    write_config "$hdir/hsmsignd.json" "$tmp/inv/http.db" "$port"
    "$bin/http_load" --url "http://127.0.0.1:$port/healthz" --ready 20 >"$hdir/ready.out" &
    local probe=$!
    HSMSIGN_CLOUDHSM_MODULE=$module HSMSIGN_CLOUDHSM_SHAPE="$shape,cluster=$hdir/cluster" \
        "$bin/hsmsignd" --config "$hdir/hsmsignd.json" >"$hdir/hsmsignd.log" 2>&1 &
    svc=$!
    pids+=("$svc")
    if ! wait "$probe"; then
        fail "hsmsignd (HTTP) did not become ready: $(tail -n 3 "$hdir/hsmsignd.log")"
        return 0
    fi
    for kind in cert token; do
        expect='"certificate"'
        [ "$kind" = cert ] || expect='"token"'
        local path=/v1/certificates
        [ "$kind" = cert ] || path=/v1/tokens
        for c in "${http_concs[@]}"; do
            rc=0
            line=$("$bin/http_load" --url "http://127.0.0.1:$port$path" --concurrency "$c" \
                --seconds "$seconds" --warmup "$warmup" --server-pid "$svc" \
                --body-file "$tmp/$kind.json" --sigv4 "$region/execute-api" \
                "${load_user[@]}" --header 'Content-Type: application/json' \
                --expect "$expect" --busy-status 503 2>"$hdir/load.err") || rc=$?
            [ "$rc" -eq 0 ] || { R[http-$kind-$c:bad]=1; fail "HTTP $kind c=$c: $(tail -n 1 "$hdir/load.err")"; }
            local pair
            for pair in $line; do
                R[http-$kind-$c:${pair%%=*}]=${pair#*=}
            done
        done
    done
    R[http:rss]=$(rss_max "$svc")
    stop_pids "$svc"
    pids=()
}

# --- run ----------------------------------------------------------------------------------------
echo "$(nproc) CPUs, $(uname -m), $(date -u +%Y-%m-%dT%H:%M:%SZ), load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg) at start"
echo "hsmsignd: $bin/hsmsignd (Release); token: p11_cloudhsm \"hsm2m x2\" ($shape), one cluster" \
    "file per row shared by its environments, over SoftHSM2;" \
    "$seconds s per row after $warmup s warm-up; inventory: durable SQLite," \
    "$([ "$shared_inv" -eq 1 ] && echo "one file shared by all environments" || echo "one file per environment")"
for kind in cert token; do
    for n in "${envs_list[@]}"; do
        lambda_row "$kind" "$n"
    done
done
http_rows

# --- table --------------------------------------------------------------------------------------
fmt() { # VALUE DECIMALS
    awk -v a="$1" -v d="$2" 'BEGIN { if (a ~ /^[0-9]+([.][0-9]*)?(e[-+]?[0-9]+)?$/) printf "%.*f", d, a; else printf "%s", a }'
}
ratio() { # A B
    awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else printf "-" }'
}
per_req_us() { # CORES RATE: CPU microseconds per request ("-" without a rate)
    awk -v c="$1" -v r="$2" 'BEGIN { if (r > 0) printf "%.0f", c * 1e6 / r; else print "-" }'
}
trow() { # CELL...: one row of the table
    # shellcheck disable=SC2059 # the table's format is this one variable, on purpose
    printf '| %-22s | %5s | %7s | %6s | %6s | %6s | %5s | %10s | %10s | %7s |\n' "$@"
}
echo
trow case "E / c" "inv/s" "503/s" "p50 ms" "p99 ms" /cap "srv us/inv" "drv us/inv" "RSS MiB"
trow '' '' '' '' '' '' '' '' '' '' | tr ' ' '-'
for kind in cert token; do
    name="Lambda cert P-256"
    [ "$kind" = cert ] || name="Lambda token ES256"
    for n in "${envs_list[@]}"; do
        r=lambda-$kind-$n rate=$(fmt "${R[$r:rate]:--}" 0)
        [ -z "${R[$r:bad]:-}" ] || rate=ERR
        trow "$name" "$n" "$rate" "$(fmt "${R[$r:busy]:--}" 0)" "$(fmt "${R[$r:p50]:--}" 2)" \
            "$(fmt "${R[$r:p99]:--}" 2)" "$(ratio "${R[$r:rate]:--}" "$cap")" \
            "${R[$r:srv_us]:--}" "${R[$r:drv_us]:--}" "${R[$r:rss]:--}"
    done
done
for kind in cert token; do
    name="HTTP cert P-256"
    [ "$kind" = cert ] || name="HTTP token ES256"
    for c in "${http_concs[@]}"; do
        r=http-$kind-$c rate=$(fmt "${R[$r:rps]:--}" 0)
        [ -z "${R[$r:bad]:-}" ] || rate=ERR
        srv=- drv=-
        if [ -n "${R[$r:rps]:-}" ]; then
            srv=$(per_req_us "${R[$r:server_cpu]}" "${R[$r:rps]}")
            drv=$(per_req_us "${R[$r:client_cpu]}" "${R[$r:rps]}")
        fi
        trow "$name" "$c" "$rate" "$(fmt "${R[$r:busy_rps]:--}" 0)" "$(fmt "${R[$r:p50_ms]:--}" 2)" \
            "$(fmt "${R[$r:p99_ms]:--}" 2)" "$(ratio "${R[$r:rps]:--}" "$cap")" "$srv" "$drv" \
            "${R[http:rss]:--}"
    done
done
cat <<EOF

E / c: Lambda execution environments (hsmsignd processes, one invocation each at a time; here
  they share this machine's $(nproc) cores with the stand-in, where in Lambda each has its own) /
  HTTP client concurrency (http_load connections). inv/s: good invocations (answers) per second.
p50 / p99: Lambda: the invocation's time inside the environment (/next answered -> response
  received, what Lambda bills); HTTP: the client's request latency.
503/s: answers 503 ("retry later": the cluster throttled past the pool's retries) per second.
/cap: inv/s / $cap ("hsm2m x2" P-256; the E environments of a row share one cluster file, so
  the cap holds across them).
srv us/inv: hsmsignd CPU (all environments) per invocation, SoftHSM2's P-256 signature
  included; drv us/inv: the driver's CPU per invocation (Lambda: the Runtime API stand-in, node;
  HTTP: http_load). RSS MiB: peak RSS (VmHWM) of one environment (the largest) / of the HTTP
  hsmsignd. Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg).
EOF
exit "$broken"
