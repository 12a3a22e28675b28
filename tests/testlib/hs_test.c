#include "tests/testlib/hs_test.h"

#include "common/hs_log.h"

int hs_test_failures;
int hs_test_checks;

static bool hs_test_under_ci(void)
{
    const char *ci = getenv("CI");
    return ci != NULL && strcmp(ci, "true") == 0;
}

void hs_test_pass(void)
{
    hs_test_checks++;
}

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
    /* A check that failed was a check, even when reported without HS_CHECK. */
    if (hs_test_checks < hs_test_failures) {
        hs_test_checks = hs_test_failures;
    }
}

int hs_test_main(const struct hs_test_case *cases)
{
    hs_log_init();
    int passed = 0;
    int failed = 0;
    int skipped = 0;
    for (const struct hs_test_case *c = cases; c->name != NULL; c++) {
        hs_test_failures = 0;
        hs_test_checks = 0;
        hs_error_clear();
        c->fn();
        if (hs_test_failures != 0) {
            failed++;
            fprintf(stderr, "FAIL %s (%d checks)\n", c->name, hs_test_failures);
        } else if (hs_test_checks == 0 && hs_test_under_ci()) {
            failed++;
            fprintf(stderr, "FAIL %s (ran no check, under CI)\n", c->name);
        } else if (hs_test_checks == 0) {
            skipped++;
            fprintf(stderr, "skip %s (ran no check)\n", c->name);
        } else {
            passed++;
            fprintf(stderr, "ok   %s (%d checks)\n", c->name, hs_test_checks);
        }
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    if (failed != 0) {
        return 1;
    }
    return passed == 0 ? 77 : 0;
}

void hs_test_skip_or_fail(const char *why)
{
    if (hs_test_under_ci()) {
        fprintf(stderr, "missing dependency under CI: %s\n", why);
        exit(1);
    }
    fprintf(stderr, "skipped: %s\n", why);
    exit(77);
}

const char *hs_test_env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        char msg[160];
        snprintf(msg, sizeof(msg), "environment variable %s is not set", name);
        hs_test_skip_or_fail(msg);
    }
    return v;
}
