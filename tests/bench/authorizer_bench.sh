#!/usr/bin/env bash
# hsmsign-authorizer's two figures (issue 12), on a Release build without sanitizers:
#   cold start: launch to the first GET /next on a Runtime API socket (target <= 15 ms), with a
#               JWKS file source and with a url source (fetched on first use, not at start);
#   CPU per event: an API Gateway TOKEN event through parse, ES256 verify, claims and the
#               answer, and the signature verify alone (target <= 100 us for ES256), EdDSA too.
# Prints a table and the command that made it; performance is measured here, not asserted.
#   tests/bench/authorizer_bench.sh [EVENTS] [RUNS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${HSMSIGN_BENCH_BUILD:-$repo/build-rel}
events=${1:-20000}
runs=${2:-30}
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHS_SANITIZE=OFF >/dev/null
cmake --build "$build" -j2 --target hsmsign-authorizer au_bench >"$build/authorizer-bench-build.log" 2>&1 ||
    { tail -20 "$build/authorizer-bench-build.log"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "command: tests/bench/authorizer_bench.sh $events $runs"
echo "$(nproc) CPUs, $(uname -m), $(date -u +%Y-%m-%dT%H:%M:%SZ), build $build (Release)"
echo
"$build/bin/au_bench" "$tmp" "$events"
echo
cat >"$tmp/url.json" <<JSON
{"issuer": "https://hsmsign.bench.example", "audiences": ["https://api.bench.example"],
 "jwks": {"url": "https://jwks.bench.example/.well-known/jwks.json"}}
JSON
echo "| cold start (launch -> first /next) | median ms | p90 ms | max ms | runs |"
echo "|------------------------------------|-----------|--------|--------|------|"
for src in file url; do
    cfg=$tmp/bench-config-ES256.json
    [ "$src" = url ] && cfg=$tmp/url.json
    read -r med p90 max n < <(/usr/bin/python3 "$repo/tests/bench/authorizer_cold_start.py" \
        "$build/bin/hsmsign-authorizer" "$cfg" "$runs")
    printf '| jwks %-29s | %9s | %6s | %6s | %4s |\n' "$src" "$med" "$p90" "$max" "$n"
done
