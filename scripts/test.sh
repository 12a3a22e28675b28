#!/usr/bin/env bash
# hsmsign's test command: installs what is missing, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs the whole CTest suite (unit tests without an HSM,
# integration tests against fresh SoftHSM2 tokens, end-to-end tests of a real hsmsignd).
#   scripts/test.sh [ctest arguments...]      e.g. scripts/test.sh -L unit
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${HSMSIGN_TEST_BUILD:-$repo/build-asan}

"$repo/scripts/deps.sh"
cmake -S "$repo" -B "$build" -DHS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j"$(nproc)"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$repo/tests/lsan.supp:print_suppressions=0}
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"
