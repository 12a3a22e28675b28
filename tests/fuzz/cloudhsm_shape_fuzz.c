/*
 * cloudhsm_shape_fuzz: the shape parser of the CloudHSM-shaped Cryptoki module
 * (hs_cloudhsm_parse, tests/testlib/p11_cloudhsm_shape.h), which reads $HSMSIGN_CLOUDHSM_SHAPE
 * and hs_cloudhsm_configure()'s spec in the benchmarks and tests. The parse is pure; attaching
 * a cluster= file (file I/O) is the module's and is not run here.
 *
 * The input is one shape (a NUL ends it early). A shape that parses is checked against the
 * grammar of p11_cloudhsm.h, independently of the parser: every item is KEY=VALUE with a known
 * key at most once, numbers are decimal (digits with at most one '.' between digits), and the
 * parsed values lie within the documented ranges.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_support.h"
#include "tests/testlib/p11_cloudhsm_shape.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

/* Digits, optionally '.' and digits: the grammar's "decimal". */
static bool shape_fuzz_decimal(const char *v, size_t n)
{
    size_t i = 0;
    while (i < n && v[i] >= '0' && v[i] <= '9') {
        i++;
    }
    if (i == 0) {
        return false;
    }
    if (i == n) {
        return true;
    }
    if (v[i] != '.' || i + 1 == n) {
        return false;
    }
    for (i++; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return false;
        }
    }
    return true;
}

/* The keys of the grammar; a number's value must be decimal. */
static bool shape_fuzz_item_ok(const char *k, size_t kn, const char *v, size_t vn)
{
    static const char *const numeric[] = {
        "rtt_ms",       "hsms",      "slots",     "burst_ms",  "rate.rsa2048", "rate.rsa3072",
        "rate.rsa4096", "rate.p256", "rate.p384", "rate.p521", "rate.ed25519"};
    for (size_t i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++) {
        if (strlen(numeric[i]) == kn && memcmp(numeric[i], k, kn) == 0) {
            return shape_fuzz_decimal(v, vn);
        }
    }
    return (kn == 8 && memcmp(k, "throttle", 8) == 0) || (kn == 7 && memcmp(k, "cluster", 7) == 0);
}

/* Every item of an accepted spec, checked by the grammar; each key at most once. */
static void shape_fuzz_check_items(const char *spec)
{
    size_t len = strlen(spec);
    for (size_t at = 0; at < len;) {
        const char *item = spec + at;
        const char *comma = memchr(item, ',', len - at);
        size_t n = comma == NULL ? len - at : (size_t)(comma - item);
        const char *eq = memchr(item, '=', n);
        if (eq == NULL ||
            !shape_fuzz_item_ok(item, (size_t)(eq - item), eq + 1, n - (size_t)(eq - item) - 1)) {
            fuzz_abort();
        }
        /* The same key again later: refused by the grammar. */
        size_t kn = (size_t)(eq - item) + 1;
        for (const char *p = item + n; p != NULL && *p != '\0';) {
            p = strchr(p, ',');
            if (p != NULL && strncmp(p + 1, item, kn) == 0) {
                fuzz_abort();
            }
            p = p == NULL ? NULL : p + 1;
        }
        at += n + 1;
    }
}

/* The parsed values within the ranges of p11_cloudhsm.h. */
static void shape_fuzz_check_values(const struct hs_cloudhsm_shape *s)
{
    if (s->rtt_ns < 0 || s->rtt_ns > (long long)(HS_CLOUDHSM_RTT_MS_MAX * 1e6) || s->hsms < 1 ||
        s->hsms > HS_CLOUDHSM_HSMS_MAX || s->slots < 1 || s->slots > HS_CLOUDHSM_SLOTS_MAX ||
        !(s->burst_ms >= 0 && s->burst_ms <= HS_CLOUDHSM_BURST_MS_MAX) || s->cl != NULL ||
        s->rate[HS_CLOUDHSM_FAMILY_NONE] != 0) {
        fuzz_abort();
    }
    for (size_t f = 1; f < HS_CLOUDHSM_FAMILY_COUNT; f++) {
        if (s->rate[f] != 0 && !(s->rate[f] >= 1 && s->rate[f] <= HS_CLOUDHSM_RATE_MAX)) {
            fuzz_abort();
        }
    }
    if (s->throttle_rv != CKR_FUNCTION_FAILED && s->throttle_rv != CKR_OPERATION_ACTIVE &&
        s->throttle_rv != CKR_DEVICE_ERROR) {
        fuzz_abort();
    }
    size_t pn = strnlen(s->cluster, sizeof(s->cluster));
    if (pn == sizeof(s->cluster) || (pn > 0 && (pn < 2 || s->cluster[0] != '/'))) {
        fuzz_abort();
    }
    for (size_t i = 0; i < pn; i++) {
        if (s->cluster[i] <= ' ' || s->cluster[i] > '~') {
            fuzz_abort();
        }
    }
}

static bool shape_fuzz_same(const struct hs_cloudhsm_shape *a, const struct hs_cloudhsm_shape *b)
{
    bool same = a->rtt_ns == b->rtt_ns && a->hsms == b->hsms && a->slots == b->slots &&
                a->burst_ms == b->burst_ms && a->throttle_rv == b->throttle_rv && a->cl == b->cl &&
                strcmp(a->cluster, b->cluster) == 0;
    for (size_t f = 0; f < HS_CLOUDHSM_FAMILY_COUNT; f++) {
        same = same && a->rate[f] == b->rate[f];
    }
    return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > HS_CLOUDHSM_SHAPE_MAX + 64) {
        return 0;
    }
    char *spec = fuzz_strndup(data, size);
    if (spec == NULL) {
        return 0;
    }
    struct hs_cloudhsm_shape s = HS_CLOUDHSM_SHAPE_DEFAULT;
    struct hs_cloudhsm_shape before = s;
    if (hs_cloudhsm_parse(spec, &s)) {
        if (strlen(spec) > HS_CLOUDHSM_SHAPE_MAX) {
            fuzz_abort();
        }
        shape_fuzz_check_items(spec);
        shape_fuzz_check_values(&s);
    } else if (!shape_fuzz_same(&s, &before)) {
        fuzz_abort(); /* a refused shape changes nothing */
    }
    free(spec);
    return 0;
}
