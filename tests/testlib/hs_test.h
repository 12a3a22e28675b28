/*
 * hs_test: a minimal test harness for the C test programs run by CTest.
 *
 *   HS_TEST(name) { HS_CHECK(x == 1); HS_CHECK_OK(call()); HS_CHECK_ERR(call(), HS_ERR_...); }
 *   int main(void) { return hs_test_main((const struct hs_test_case[]){HS_TEST_CASE(name),
 *                                         HS_TEST_END}); }
 *
 * Every check counts; a failing check prints file:line, the expression and the thread's
 * hs_error, and marks the case failed. A case that ran no check at all is reported as skipped
 * ("skip NAME (ran no check)"), never as passed. The program ends with the plain summary line
 * "N passed, N failed, N skipped" and exits 1 when a case failed, 77 (CTest's
 * SKIP_RETURN_CODE) when no case passed because every case was skipped, and 0 otherwise.
 * Under CI=true a skipped case is a failure: CI never passes a check that did not run.
 */
#ifndef HS_TEST_H
#define HS_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hs_err.h"

struct hs_test_case {
    const char *name;
    void (*fn)(void);
};

extern int hs_test_failures; /* failed checks in the running case */
extern int hs_test_checks;   /* checks run (passed or failed) in the running case */

#define HS_TEST(name) static void name(void)
#define HS_TEST_CASE(name)                                                                         \
    {                                                                                              \
#name, name                                                                                \
    }
#define HS_TEST_END                                                                                \
    {                                                                                              \
        NULL, NULL                                                                                 \
    }

/* Records a failed check (and counts it as run). */
void hs_test_report(const char *file, int line, const char *expr);

/* Counts a check that passed, for code that reports failures with hs_test_report() itself. */
void hs_test_pass(void);

#define HS_CHECK(cond)                                                                             \
    do {                                                                                           \
        hs_test_pass();                                                                            \
        if (!(cond)) {                                                                             \
            hs_test_report(__FILE__, __LINE__, #cond);                                             \
        }                                                                                          \
    } while (0)

#define HS_CHECK_OK(call)                                                                          \
    do {                                                                                           \
        hs_result hs_test_r_ = (call);                                                             \
        hs_test_pass();                                                                            \
        if (hs_failed(hs_test_r_)) {                                                               \
            hs_test_report(__FILE__, __LINE__, #call " succeeds");                                 \
        }                                                                                          \
    } while (0)

#define HS_CHECK_ERR(call, expected)                                                               \
    do {                                                                                           \
        hs_result hs_test_r_ = (call);                                                             \
        hs_test_pass();                                                                            \
        if (hs_test_r_.code != (expected)) {                                                       \
            fprintf(stderr, "  got %s, expected %s\n", hs_code_name(hs_test_r_.code),              \
                    hs_code_name(expected));                                                       \
            hs_test_report(__FILE__, __LINE__, #call " fails with " #expected);                    \
        }                                                                                          \
    } while (0)

/* Runs every case; prints one line per case and the summary; returns the exit status. */
int hs_test_main(const struct hs_test_case *cases);

/* Exits 77 (skipped) with a reason, unless CI=true, where a missing dependency is a failure. */
void hs_test_skip_or_fail(const char *why);

/* Returns the value of environment variable name, or exits via hs_test_skip_or_fail(). */
const char *hs_test_env(const char *name);

#endif /* HS_TEST_H */
