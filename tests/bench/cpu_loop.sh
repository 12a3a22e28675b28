#!/usr/bin/env bash
# A quick loop for CPU-per-request work (issue 15 item 4), smaller than http_bench.sh: one key
# type, one hsmsignd (durable inventory on), concurrency 8, rows for certificates and tokens,
# each as server CPU µs per request (hsmsignd's CPU time / requests, the bench's "srv us"), the
# start-to-ready time, and optionally a perf profile. Not a test; http_bench.sh stays the
# measure of record.
#   tests/bench/cpu_loop.sh [--type p256|rsa2048] [--seconds S] [--rounds R] [--perf ROW]
#                           [--compare BIN] [--callgrind ROW]
#     --compare BIN      each round also runs hsmsignd binary BIN (say, a copy of the build
#                        before a change) first, on the same token: before/after in one run
#     --starts N         only start and stop hsmsignd N times (and BIN, alternating, with
#                        --compare) and print the min and median start-to-ready times
#     --fresh            with --starts: each start on a new (absent) inventory, as http_bench.sh
#                        starts each hsmsignd; without it every start after the first opens the
#                        inventory the first one made
#     --callgrind cert|token  run hsmsignd (and BIN, with --compare) under valgrind's callgrind
#                        and print the instructions it executes per request of that row (Ir per
#                        request, user space, SoftHSM included): a count the other loads of a
#                        shared machine do not move, unlike CPU time (no hardware counters here);
#                        the last dump stays in the build directory for callgrind_annotate
#     --perf cert|token  perf-record hsmsignd (DWARF call graphs) under that row afterwards and
#                        print the top symbols, self and inclusive
# HSMSIGN_BENCH_BUILD names the Release build directory (default build-rel); HSMSIGN_LOOP_KEEP=1
# keeps the token, configs and inventory for runs by hand (start-up traces).
set -euo pipefail
export LC_ALL=C
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${HSMSIGN_BENCH_BUILD:-$repo/build-rel}
bin=$build/bin
module=/usr/lib/softhsm/libsofthsm2.so
type=p256
seconds=4
rounds=1
perf_row=
compare=
starts=0
fresh=0
cg_row=
ready_s=10
while [ $# -gt 0 ]; do
    case "$1" in
        --type) type=${2:?}; shift 2 ;;
        --seconds) seconds=${2:?}; shift 2 ;;
        --rounds) rounds=${2:?}; shift 2 ;;
        --perf) perf_row=${2:?}; shift 2 ;;
        --compare) compare=${2:?}; shift 2 ;;
        --starts) starts=${2:?}; shift 2 ;;
        --fresh) fresh=1; shift ;;
        --callgrind) cg_row=${2:?}; shift 2 ;;
        *) echo "usage: $0 [--type p256|rsa2048] [--seconds S] [--rounds R] [--perf ROW]" \
               "[--compare BIN] [--starts N [--fresh]] [--callgrind ROW]" >&2
           exit 2 ;;
    esac
done
case "$type" in
    p256) ktype=EC-P256 alg=ES256 ;;
    rsa2048) ktype=RSA-2048 alg=RS256 ;;
    *) echo "--type: p256 or rsa2048" >&2; exit 2 ;;
esac
cmake --build "$build" -j2 --target hsmsignd keyceremony http_load >/dev/null

tmp=$(mktemp -d)
svc_pid=
cleanup() {
    [ -z "$svc_pid" ] || { kill -TERM "$svc_pid" 2>/dev/null || true; wait "$svc_pid" || true; }
    if [ -n "${HSMSIGN_LOOP_KEEP:-}" ]; then
        echo "kept: $tmp (hsmsignd.json, SOFTHSM2_CONF=$tmp/token/softhsm2.conf)" >&2
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
region=eu-central-1
akid=AKIABENCH00000000001
arn=arn:aws:iam::111122223333:role/bench
label=loop-$type
(umask 077 && head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 >"$tmp/secret")
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/leaf.key" \
    -subj "/CN=svc.bench.example" -addext "subjectAltName=DNS:svc.bench.example" \
    -out "$tmp/leaf.csr" 2>/dev/null
/usr/bin/python3 - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
json.dump({"csr": open(d + "/leaf.csr").read(), "ttl_hours": 12}, open(d + "/cert.json", "w"))
json.dump({"audience": "https://api.bench.example", "ttl_seconds": 300},
          open(d + "/token.json", "w"))
PY
# shellcheck source=tests/bench/bench_lib.sh
. "$repo/tests/bench/bench_lib.sh"
bench_ceremony "$tmp" "$label" "$ktype" "$ktype" "$alg" >/dev/null
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$tmp/hsmsignd.json" <<EOF
{ "listen": "127.0.0.1:$port",
  "token": {"module": "$module", "label": "$label", "pin_file": "$tmp/token/user.pin",
            "pool_size": 8},
  "ca": {"key": "pkcs11:token=$label;object=bench-issuing;type=private",
         "chain_file": "$tmp/out/truststore.pem", "default_ttl_hours": 12, "max_ttl_hours": 24,
         "crl_url": "http://127.0.0.1:$port/v1/crl"},
  "inventory": {"sqlite": "$tmp/out/inventory.db"},
  "jwt": {"issuer": "https://hsmsign.bench.example", "jwks_file": "$tmp/out/jwks.json"},
  "auth": {"sigv4": {"region": "$region", "service": "execute-api",
           "access_keys": [{"access_key_id": "$akid", "secret_file": "$tmp/secret",
                            "principal_arn": "$arn"}]}},
  "policy": {"rules": [{"principals": ["$arn"], "profiles": ["client"],
                        "cn_patterns": ["*"], "dns_patterns": ["**"], "audiences": ["*"]}]} }
EOF
url=http://127.0.0.1:$port
# http_load's --user is AKID:SECRET_FILE: it reads the secret from the file (http_load.c).
sig=(--sigv4 "$region/execute-api"
    --user "$akid:$tmp/secret" # lint: allow-argv-user (the secret's file path)
    --header 'Content-Type: application/json')
# start_server BIN: starts it and prints the time from exec to the first 200 from /healthz.
start_server() {
    local probe ready t0
    "$bin/http_load" --url "$url/healthz" --ready "$ready_s" >"$tmp/ready.out" &
    probe=$!
    sleep 0.2
    t0=${EPOCHREALTIME/./}
    "$1" --config "$tmp/hsmsignd.json" >"$tmp/hsmsignd.log" 2>&1 &
    svc_pid=$!
    wait "$probe" || { tail -n 5 "$tmp/hsmsignd.log" >&2; exit 1; }
    ready=$(sed -n 's/^ready_epoch_us=\([0-9]*\).*/\1/p' "$tmp/ready.out")
    echo "$2 start to ready: $(((ready - t0) / 1000)).$(((ready - t0) % 1000 / 100)) ms"
}
stop_server() {
    kill -TERM "$svc_pid" 2>/dev/null || true
    wait "$svc_pid" || true
    svc_pid=
}
run() { # NAME ROW PATH BODY EXPECT
    local line
    line=$("$bin/http_load" --url "$url$3" --concurrency 8 --seconds "$seconds" --warmup 1 \
        --server-pid "$svc_pid" --body-file "$4" "${sig[@]}" --expect "$5")
    echo "$1 $2 $line" | awk '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "%s %-6s rps=%s p99_ms=%s srv=%s us_per_req=%.0f\n", $1, $2, v["rps"],
               v["p99_ms"], v["server_cpu"], v["server_cpu"] * 1e6 / v["rps"] }'
}
if [ "$starts" -gt 0 ]; then
    for ((i = 0; i < starts; i++)); do
        if [ -n "$compare" ]; then
            [ "$fresh" -eq 0 ] || rm -f "$tmp/out/inventory.db" "$tmp/out/inventory.db"-*
            start_server "$compare" base >>"$tmp/starts"
            stop_server
        fi
        [ "$fresh" -eq 0 ] || rm -f "$tmp/out/inventory.db" "$tmp/out/inventory.db"-*
        start_server "$bin/hsmsignd" this >>"$tmp/starts"
        stop_server
    done
    for who in base this; do
        { grep "^$who " "$tmp/starts" || true; } | awk '{ print $5 }' | sort -g | awk -v w="$who" '
            { v[NR] = $1 } END { if (NR) printf "%s start to ready over %d starts: min %.1f ms, " \
                "median %.1f ms\n", w, NR, v[1], v[int((NR + 1) / 2)] }'
    done
    exit 0
fi
if [ -n "$cg_row" ]; then
    case "$cg_row" in
        cert) p=/v1/certificates b=$tmp/cert.json e='"certificate"' ;;
        token) p=/v1/tokens b=$tmp/token.json e='"token"' ;;
        *) echo "--callgrind: cert or token" >&2; exit 2 ;;
    esac
    ready_s=120
    for ((i = 0; i < rounds; i++)); do
        for who in ${compare:+base} this; do
            target=$bin/hsmsignd
            [ "$who" = this ] || target=$compare
            printf '#!/bin/sh\nexec valgrind -q --tool=callgrind --callgrind-out-file=%s "%s" "$@"\n' \
                "$tmp/cg.$who.%p" "$target" >"$tmp/cg-$who.sh"
            chmod +x "$tmp/cg-$who.sh"
            start_server "$tmp/cg-$who.sh" "$who (callgrind)" >/dev/null
            # A few requests first (first-use costs), then counters zeroed, then the measure.
            "$bin/http_load" --url "$url$p" --concurrency 2 --seconds 2 --warmup 0 \
                --body-file "$b" "${sig[@]}" --expect "$e" >/dev/null
            callgrind_control -z "$svc_pid" >/dev/null
            n=$("$bin/http_load" --url "$url$p" --concurrency 2 --seconds "$seconds" --warmup 0 \
                --timeout 30 --body-file "$b" "${sig[@]}" --expect "$e" |
                sed -n 's/.* n=\([0-9]*\) .*errors=\([0-9]*\).*/\1 \2/p')
            callgrind_control -d "$svc_pid" >/dev/null
            ir=$(cat "$tmp"/cg."$who".*.[0-9]* 2>/dev/null | awk '/^summary:/ { s += $2 }
                END { print s + 0 }')
            cat "$tmp"/cg."$who".*.[0-9]* >"$build/callgrind-$type-$cg_row-$who.out" 2>/dev/null || true
            rm -f "$tmp"/cg."$who".*
            echo "$who $cg_row $n" | awk -v ir="$ir" '{ n = $3 + $4
                printf "%s %-6s n=%d Ir_per_req=%.0f\n", $1, $2, n, (n > 0 ? ir / n : 0) }'
            stop_server
        done
    done
    exit 0
fi
# With --compare BIN, each round runs BIN ("base") and then this build's hsmsignd ("this") on
# the same token and inventory, so both see the same machine state.
for ((i = 0; i < rounds; i++)); do
    if [ -n "$compare" ]; then
        start_server "$compare" base
        run base cert /v1/certificates "$tmp/cert.json" '"certificate"'
        run base token /v1/tokens "$tmp/token.json" '"token"'
        echo "base peak RSS: $(awk '/^VmHWM:/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$svc_pid/status")"
        stop_server
    fi
    start_server "$bin/hsmsignd" this
    run this cert /v1/certificates "$tmp/cert.json" '"certificate"'
    run this token /v1/tokens "$tmp/token.json" '"token"'
    [ "$i" -eq $((rounds - 1)) ] || stop_server
done
echo "peak RSS: $(awk '/^VmHWM:/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$svc_pid/status")"
if [ -n "$perf_row" ]; then
    case "$perf_row" in
        cert) p=/v1/certificates b=$tmp/cert.json ;;
        token) p=/v1/tokens b=$tmp/token.json ;;
        *) echo "--perf: cert or token" >&2; exit 2 ;;
    esac
    "$bin/http_load" --url "$url$p" --concurrency 8 --seconds "$seconds" --warmup 1 \
        --server-pid "$svc_pid" --body-file "$b" "${sig[@]}" >/dev/null &
    lp=$!
    sleep 1
    out=${HSMSIGN_PERF_OUT:-$build/perf-$type-$perf_row}
    perf record -q --call-graph dwarf,16384 -F 499 -p "$svc_pid" -o "$out.data" -- \
        sleep "$((seconds - 1))" >/dev/null 2>&1 || true
    wait "$lp" || true
    perf report -i "$out.data" --no-children --sort dso,symbol --stdio -g none \
        2>/dev/null | awk '/^ +[0-9]/ && n++ < 60' >"$out.self"
    perf report -i "$out.data" --children --sort symbol --stdio -g none \
        2>/dev/null | awk '/^ +[0-9]/ && n++ < 200' >"$out.children"
    echo "perf: $out.self, $out.children, $out.data"
fi
