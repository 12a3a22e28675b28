#!/usr/bin/env bash
# Runs the token-layer tests and the raw C_Sign benchmark against a real PKCS#11 token:
#   HSMSIGN_TEST_MODULE=/opt/cloudhsm/lib/libcloudhsm_pkcs11.so HSMSIGN_TEST_TOKEN_LABEL=hsm1 \
#   HSMSIGN_TEST_PIN_FILE=/path/to/0600-pin-file scripts/test-token.sh
# The tests create keys labelled hsmsign-test-<pid>-* and destroy them when they finish. They
# count against the HSM's key quota while they exist: use a test cluster or a dedicated user
# (docs/cloudhsm.md). HSMSIGN_CONCURRENCY_SIGNS sets the per-thread count of the 8-thread test.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
: "${HSMSIGN_TEST_MODULE:?set HSMSIGN_TEST_MODULE to the PKCS#11 module path}"
: "${HSMSIGN_TEST_TOKEN_LABEL:?set HSMSIGN_TEST_TOKEN_LABEL to the token label}"
: "${HSMSIGN_TEST_PIN_FILE:?set HSMSIGN_TEST_PIN_FILE to a 0600 file holding the user PIN}"
build=${HSMSIGN_TOKEN_TEST_BUILD:-$repo/build}
"$repo/scripts/deps.sh"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHS_SANITIZE=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target p11_test p11_concurrency_test p11_bench >/dev/null
export HSMSIGN_TEST_MODULE HSMSIGN_TEST_TOKEN_LABEL HSMSIGN_TEST_PIN_FILE
export HSMSIGN_LOG_LEVEL=${HSMSIGN_LOG_LEVEL:-warn}
echo "== token tests on \"$HSMSIGN_TEST_TOKEN_LABEL\" ($HSMSIGN_TEST_MODULE)"
"$build/bin/p11_test"
"$build/bin/p11_concurrency_test"
echo "== raw C_Sign benchmark"
"$repo/tests/bench/p11_bench.sh" --seconds "${HSMSIGN_BENCH_SECONDS:-2}"
