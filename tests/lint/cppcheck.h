/*
 * Force-included by tests/lint/cppcheck.sh into every file cppcheck checks (never compiled):
 * after the real common/hs_err.h and common/hs_log.h (whose include guards then keep them from
 * being read again), two macros are redefined in forms cppcheck 2.10 understands.
 */
#include "common/hs_err.h"
#include "common/hs_log.h"

/* HS_DEFER(decl, freefn) is __attribute__((cleanup(freefn))) decl: the compiler calls
 * freefn(&var) on every way out of the scope. cppcheck drops the attribute and would report
 * each HS_DEFER-owned local as leaked at every early return (HS_GUARD, HS_ENSURE). Declared
 * static, the local is left out of the leak check (something beyond the scope keeps it) while
 * its values (NULL after a failed allocation, what it points to) are still tracked; freefn is
 * named so a cleanup function used only by HS_DEFER counts as used. */
#undef HS_DEFER
#define HS_DEFER(decl, freefn)                                                                     \
    (void)(freefn);                                                                                \
    static decl

/* hs_log ends its field list with __VA_OPT__(,), which cppcheck's preprocessor does not know;
 * the same compound literal with the GNU comma swallow instead (field order does not matter). */
#undef hs_log
#define hs_log(level, event, ...)                                                                  \
    hs_log_emit((level), (event), __FILE__, __LINE__,                                              \
                (const struct hs_log_field[]){HS_LOG_END_FIELD, ##__VA_ARGS__})

/* HS_IGNORE stores the call's value in a __typeof__(call) variable; cppcheck reads the operand
 * of __typeof__ as a second call (a second fclose(f) would be a use of a closed file). */
#undef HS_IGNORE
#define HS_IGNORE(call) ((void)(call))
