#include "tests/testlib/hs_test.h"

#include <stdarg.h>

#include "common/hs_log.h"

int hs_test_failures;

void hs_test_report(const char *file, int line, const char *expr)
{
    const struct hs_error *e = hs_error_last();
    fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, expr);
    if (e->code != HS_ERR_NONE) {
        fprintf(stderr, "       last error: %s at %s:%d %s %s\n", hs_code_name(e->code),
                e->file != NULL ? e->file : "?", e->line, e->ckr_name != NULL ? e->ckr_name : "",
                e->detail);
    }
    hs_test_failures++;
}

int hs_test_main(const struct hs_test_case *cases)
{
    hs_log_init();
    int passed = 0;
    int failed = 0;
    for (const struct hs_test_case *c = cases; c->name != NULL; c++) {
        hs_test_failures = 0;
        hs_error_clear();
        c->fn();
        if (hs_test_failures == 0) {
            passed++;
            fprintf(stderr, "ok   %s\n", c->name);
        } else {
            failed++;
            fprintf(stderr, "FAIL %s (%d checks)\n", c->name, hs_test_failures);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

void hs_test_skip_or_fail(const char *why)
{
    const char *ci = getenv("CI");
    if (ci != NULL && strcmp(ci, "true") == 0) {
        fprintf(stderr, "missing dependency under CI: %s\n", why);
        exit(1);
    }
    fprintf(stderr, "skipped: %s\n", why);
    exit(77);
}

void hs_test_format(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len) {
        fprintf(stderr, "test setup: \"%s\" does not fit in %zu bytes\n", fmt, len);
        exit(1);
    }
}

const char *hs_test_env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        char msg[160];
        hs_test_format(msg, sizeof(msg), "environment variable %.100s is not set", name);
        hs_test_skip_or_fail(msg);
    }
    return v;
}
