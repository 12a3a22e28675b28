#!/usr/bin/env bash
# The compiler half of the must-use rule: with the project's flags, a dropped hs_result fails the
# build, in a static function, through a function-table member and (gcc) through (void), while the
# same code that uses its results compiles. Usage: must_use_test.sh CC SRC_DIR
set -euo pipefail
cc=${1:?compiler}
src=$(cd "${2:?source dir}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# $1: a statement that uses (or drops) the result of s(); the file is otherwise the same.
program() {
    cat <<C
#include "common/hs_err.h"
static HS_RESULT s(int x) { return x ? HS_OK : HS_OK; }
struct ops { HS_MUST_USE hs_result (*op)(int); };
static const struct ops table = {s};
int use(int x);
int use(int x)
{
    $1
    return 0;
}
C
}

compile() {
    "$cc" -std=c17 -Wall -Wextra -Werror -I"$src" -c -o "$work/o.o" "$work/t.c" 2>"$work/err"
}

fails=0
check_refused() {
    program "$1" >"$work/t.c"
    if compile; then
        echo "FAIL: compiled although a result is dropped: $1" >&2
        fails=$((fails + 1))
    elif ! grep -q "unused-result\|warn_unused_result" "$work/err"; then
        echo "FAIL: refused, but not for the dropped result: $1" >&2
        cat "$work/err" >&2
        fails=$((fails + 1))
    else
        echo "ok   refused: $1"
    fi
}

program 'if (hs_failed(s(x)) || hs_failed(table.op(x))) { return 1; } HS_IGNORE(s(x));' >"$work/t.c"
if compile; then
    echo "ok   compiles when every result is used (or HS_IGNOREd)"
else
    echo "FAIL: the control program does not compile" >&2
    cat "$work/err" >&2
    fails=$((fails + 1))
fi
check_refused 's(x);'
check_refused 'table.op(x);'
n=3
# gcc also refuses a (void) cast (deliberate drops go through HS_IGNORE); clang accepts one.
if ! "$cc" --version | grep -q clang; then
    check_refused '(void)s(x);'
    n=4
fi
echo "$((n - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
