#!/usr/bin/env bash
# The C sources follow .clang-format (STYLE.md: clang-format in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null; then
    [ "${CI:-}" = true ] && { echo "clang-format missing under CI" >&2; exit 1; }
    echo "skipped: clang-format not installed" >&2
    exit 77
fi
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find common pkcs11 signer keyceremony api tests -name '*.[ch]')
clang-format --dry-run --Werror $files
echo "$(wc -w <<<"$files") files formatted"
