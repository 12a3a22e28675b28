#!/usr/bin/env bash
# hsmsign's test command: installs what is missing, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs the whole CTest suite (unit tests without an HSM,
# integration tests against fresh SoftHSM2 tokens, end-to-end tests of a real hsmsignd). Before
# that, the pool concurrency test runs under valgrind --leak-check=full in a build without
# sanitizers (HSMSIGN_SKIP_VALGRIND=1 skips it).
#   scripts/test.sh [ctest arguments...]      e.g. scripts/test.sh -L unit  (no valgrind stage)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${HSMSIGN_TEST_BUILD:-$repo/build-asan}
vbuild=${HSMSIGN_VALGRIND_BUILD:-$repo/build-valgrind}
jobs=$(nproc)

"$repo/scripts/deps.sh"
cmake -S "$repo" -B "$build" -DHS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j"$jobs"

if [ $# -eq 0 ] && [ "${HSMSIGN_SKIP_VALGRIND:-0}" != 1 ]; then
    cmake -S "$repo" -B "$vbuild" -DHS_SANITIZE=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    # All targets: the release build (FORTIFY, -O2) warns where the debug build does not.
    cmake --build "$vbuild" -j"$jobs" >/dev/null
    (cd "$vbuild" && ctest --output-on-failure -L valgrind)
fi

# (The sanitizer options every test runs with are set in tests/CMakeLists.txt.)
cd "$build"
ctest --output-on-failure -j"$jobs" "$@"
