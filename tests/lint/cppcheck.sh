#!/usr/bin/env bash
# cppcheck over the project's own C files (the rooms in lint_files.py, with the include paths and
# defines of the build's compile_commands.json); passes only with zero findings.
# tests/lint/cppcheck.cfg teaches it HS_DEFER; tests/lint/cppcheck.supp holds the few
# suppressions, each with its reason. Usage: tests/lint/cppcheck.sh SRC_DIR BUILD_DIR
# (HS_LINT_JOBS sets the parallelism, default: the number of cores). docs/lint.md says more.
set -euo pipefail
src=$(cd "${1:?source dir}" && pwd)
build=$(cd "${2:?build dir}" && pwd)
py=/usr/bin/python3

if ! command -v cppcheck >/dev/null; then
    [ "${CI:-}" = true ] && { echo "cppcheck missing under CI (scripts/deps.sh installs it)" >&2; exit 1; }
    echo "skipped: cppcheck not installed (scripts/deps.sh installs it)" >&2
    exit 77
fi
[ -f "$build/compile_commands.json" ] || { echo "no $build/compile_commands.json" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/db" "$work/logs" "$work/cache"
"$py" "$src/tests/lint/lint_files.py" db "$src" "$build" "$work/db"
echo "$(cppcheck --version): $(grep -c '"file"' "$work/db/compile_commands.json") files" >&2

# warning/style/performance/portability; unusedFunction needs the whole program in one process
# and the must-use and layering rules already cover what it would find.
rc=0
cppcheck --project="$work/db/compile_commands.json" -j "${HS_LINT_JOBS:-$(nproc)}" --quiet \
    --enable=warning,style,performance,portability --std=c11 \
    --library=posix --library=openssl --library=libcurl --library=sqlite3 \
    --library="$src/tests/lint/cppcheck.cfg" --include="$src/tests/lint/cppcheck.h" \
    --suppressions-list="$src/tests/lint/cppcheck.supp" \
    --template='{file}:{line}:{column}: {severity}: {message} [{id}]\n{code}' \
    --cppcheck-build-dir="$work/cache" --error-exitcode=3 \
    >"$work/logs/cppcheck.out" 2>&1 || rc=$?
echo "$rc" >"$work/logs/cppcheck.rc"
"$py" "$src/tests/lint/lint_files.py" report cppcheck "$work/logs" "$src"
