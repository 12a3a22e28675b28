#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz/ (docs/fuzzing.md).
#   scripts/fuzz.sh TARGET SECONDS [--runs N] [--merge]
# TARGET is a file name in tests/fuzz/ without .c (csr_fuzz ...), or "all" for every target in
# turn. Installs what is missing (scripts/deps.sh), configures and builds the clang build
# (build-fuzz: -DHS_FUZZ=ON, ASan + UBSan, -O2; $HSMSIGN_FUZZ_BUILD overrides the directory),
# and fuzzes each target for SECONDS seconds (or N executions with --runs, whichever comes
# first) on a working copy of tests/fuzz/corpus/TARGET, with leak detection, a per-input
# timeout and an RSS limit. The committed corpus changes only with --merge: then the new inputs
# that add coverage are merged into it (libFuzzer -merge=1, files named by their SHA-1).
# Prints one summary line per target (executions, exec/s, cov and ft from libFuzzer's final
# stats, corpus size, seconds); exits 1 when any target crashed, leaked, timed out or ran out of
# memory (the input that did it is kept in build-fuzz/fuzz-work/TARGET/, named by its kind).
set -euo pipefail

usage() {
    echo "usage: scripts/fuzz.sh TARGET|all SECONDS [--runs N] [--merge]" >&2
    exit 2
}

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${HSMSIGN_FUZZ_BUILD:-$repo/build-fuzz}
[ $# -ge 2 ] || usage
target=$1
seconds=$2
shift 2
runs=-1
merge=0
while [ $# -gt 0 ]; do
    case $1 in
    --runs) [ $# -ge 2 ] || usage; runs=$2; shift 2 ;;
    --merge) merge=1; shift ;;
    *) usage ;;
    esac
done
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    usage
fi
[[ $runs =~ ^-?[0-9]+$ ]] || usage

targets=()
if [ "$target" = all ]; then
    for f in "$repo"/tests/fuzz/*_fuzz.c; do
        targets+=("$(basename "$f" .c)")
    done
elif [[ $target =~ ^[A-Za-z0-9_]+$ ]] && [ -f "$repo/tests/fuzz/$target.c" ]; then
    targets=("$target")
else
    echo "fuzz.sh: no such target: tests/fuzz/$target.c" >&2
    exit 2
fi

"$repo/scripts/deps.sh"
cmake -S "$repo" -B "$build" -DHS_FUZZ=ON -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
mkdir -p "$build"
if ! cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >"$build/fuzz-build.log" 2>&1; then
    tail -n 30 "$build/fuzz-build.log" >&2
    exit 1
fi

# (Not fast_unwind_on_malloc=0 as the tests have it: it slows every allocation tenfold (service_fuzz
# from about 2 000 to 84 inputs a second). Only service_fuzz loads a third-party module that
# tests/lsan.supp names, SoftHSM2, and nothing of it has needed a suppression in its runs; a leak
# report whose stack stops in libcrypto is reproduced under gcc with build-asan/bin/<target>_replay,
# which unwinds fully.)
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$repo/tests/lsan.supp:print_suppressions=0

# The value of libFuzzer's final "stat::NAME:" line in log $2.
fuzz_stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

failed=0
for t in "${targets[@]}"; do
    work=$build/fuzz-work/$t
    rm -rf "$work"
    mkdir -p "$work/artifacts"
    cp -r "$repo/tests/fuzz/corpus/$t" "$work/corpus"
    log=$work/fuzz.log
    start=$(date +%s)
    rc=0
    (cd "$work" && "$build/bin/$t" -max_total_time="$seconds" -runs="$runs" -rss_limit_mb=2048 \
        -timeout=10 -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
        corpus) >"$log" 2>&1 || rc=$?
    elapsed=$(($(date +%s) - start))
    # "#1234567 DONE cov: 1234 ft: 5678 corp: ..." (or the last status line before a crash).
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    execs=$(fuzz_stat number_of_executed_units "$log")
    rate=$(fuzz_stat average_exec_per_sec "$log")
    corpus=$(find "$work/corpus" -type f | wc -l)
    status=ok
    if [ "$rc" -ne 0 ]; then
        status="FAILED (exit $rc: $(grep -m1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)[^(]*|runtime error: .*' "$log" || echo "see $log"))"
        failed=1
    fi
    echo "fuzz $t: $status executions=${execs:-?} exec/s=${rate:-?} cov=${cov:-?} ft=${ft:-?} corpus=$corpus seconds=$elapsed"
    if [ "$rc" -ne 0 ]; then
        echo "  log: $log; inputs: $(find "$work/artifacts" -type f -printf '%f ')" >&2
        tail -n 40 "$log" >&2
    elif [ "$merge" = 1 ]; then
        before=$(find "$repo/tests/fuzz/corpus/$t" -type f | wc -l)
        "$build/bin/$t" -merge=1 "$repo/tests/fuzz/corpus/$t" "$work/corpus" >"$work/merge.log" 2>&1
        after=$(find "$repo/tests/fuzz/corpus/$t" -type f | wc -l)
        echo "  merged $((after - before)) new inputs into tests/fuzz/corpus/$t"
    fi
done
exit "$failed"
