#!/usr/bin/env bash
# clang-tidy over the project's own C files (the rooms in lint_files.py, from the build's
# compile_commands.json) with the repository's .clang-tidy; passes only with zero findings.
# Usage: tests/lint/tidy.sh SRC_DIR BUILD_DIR   (CTest passes both; HS_LINT_JOBS sets the parallelism,
# default: the number of cores). docs/lint.md says what the checks are for.
set -euo pipefail
src=$(cd "${1:?source dir}" && pwd)
build=$(cd "${2:?build dir}" && pwd)
py=/usr/bin/python3

tidy=$(command -v clang-tidy || command -v clang-tidy-14 || true)
if [ -z "$tidy" ]; then
    [ "${CI:-}" = true ] && { echo "clang-tidy missing under CI (scripts/deps.sh installs it)" >&2; exit 1; }
    echo "skipped: clang-tidy not installed (scripts/deps.sh installs it)" >&2
    exit 77
fi
[ -f "$build/compile_commands.json" ] || { echo "no $build/compile_commands.json" >&2; exit 1; }

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
"$py" "$src/tests/lint/lint_files.py" files "$src" "$build" >"$logs/files"
count=$(wc -l <"$logs/files")
echo "$($tidy --version | grep -m1 -o 'version [0-9.]*'): $count files" >&2

# One clang-tidy per file, in parallel; each leaves its log and its exit status in $logs.
export tidy build logs
# shellcheck disable=SC2016 # the inner sh expands $1, $logs and $tidy, not this shell
xargs -a "$logs/files" -P "${HS_LINT_JOBS:-$(nproc)}" -I{} sh -c '
    log="$logs/$(echo "$1" | tr / _)"
    "$tidy" -p "$build" --quiet "$1" >"$log.out" 2>&1; echo $? >"$log.rc"
' sh {}
rm "$logs/files"
"$py" "$src/tests/lint/lint_files.py" report clang-tidy "$logs" "$src"
