/*
 * The shape parser of the CloudHSM-shaped module (p11_cloudhsm_shape.h).
 */
#include "tests/testlib/p11_cloudhsm_shape.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const struct hs_cloudhsm_family_info hs_cloudhsm_families[HS_CLOUDHSM_FAMILY_COUNT] = {
    [HS_CLOUDHSM_FAMILY_NONE] = {"none", 0},
    [HS_CLOUDHSM_FAMILY_RSA2048] = {"rsa2048", 256},
    [HS_CLOUDHSM_FAMILY_RSA3072] = {"rsa3072", 384},
    [HS_CLOUDHSM_FAMILY_RSA4096] = {"rsa4096", 512},
    [HS_CLOUDHSM_FAMILY_P256] = {"p256", 64},
    [HS_CLOUDHSM_FAMILY_P384] = {"p384", 96},
    [HS_CLOUDHSM_FAMILY_P521] = {"p521", 132},
    [HS_CLOUDHSM_FAMILY_ED25519] = {"ed25519", 64},
};

/* Whether s[0..n) is decimal: digits, then optionally '.' and digits. strtod alone would also
 * take an exponent ("1e2"), hexadecimal ("0x10") and "0x1p3", which the grammar does not. */
static bool hs_cloudhsm_decimal(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        i++;
    }
    if (i == 0 || i == n) {
        return i == n && n > 0;
    }
    if (s[i] != '.' || i + 1 == n) {
        return false;
    }
    for (i++; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

/* A decimal number in [lo, hi] from s[0..n). */
static bool hs_cloudhsm_parse_num(const char *s, size_t n, double lo, double hi, double *out)
{
    char text[HS_CLOUDHSM_NUM_MAX + 1];
    if (n == 0 || n > HS_CLOUDHSM_NUM_MAX || !hs_cloudhsm_decimal(s, n)) {
        return false;
    }
    memcpy(text, s, n);
    text[n] = '\0';
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    /* NaN fails both comparisons. */
    if (errno != 0 || end != text + n || !(v >= lo && v <= hi)) {
        return false;
    }
    *out = v;
    return true;
}

static bool hs_cloudhsm_parse_int(const char *s, size_t n, unsigned lo, unsigned hi, unsigned *out)
{
    double v = 0;
    if (!hs_cloudhsm_parse_num(s, n, lo, hi, &v) || v != (double)(unsigned)v) {
        return false;
    }
    *out = (unsigned)v;
    return true;
}

static bool hs_cloudhsm_parse_ckr(const char *s, size_t n, CK_RV *out)
{
    static const struct {
        const char *name;
        CK_RV rv;
    } codes[] = {
        {"CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED},
        {"CKR_OPERATION_ACTIVE", CKR_OPERATION_ACTIVE},
        {"CKR_DEVICE_ERROR", CKR_DEVICE_ERROR},
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (strlen(codes[i].name) == n && memcmp(codes[i].name, s, n) == 0) {
            *out = codes[i].rv;
            return true;
        }
    }
    return false;
}

/* An absolute path of printable ASCII without spaces, at most HS_CLOUDHSM_CLUSTER_PATH_MAX
 * bytes, into out (NUL-terminated). */
static bool hs_cloudhsm_parse_path(const char *s, size_t n, char *out)
{
    if (n < 2 || n > HS_CLOUDHSM_CLUSTER_PATH_MAX || s[0] != '/') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] <= ' ' || s[i] > '~') {
            return false;
        }
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

static bool hs_cloudhsm_key_is(const char *key, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(key, lit, n) == 0;
}

/* One KEY=VALUE item into *s; seen is a bit per key, so that each comes at most once. */
static bool hs_cloudhsm_parse_item(const char *key, size_t kn, const char *val, size_t vn,
                                   struct hs_cloudhsm_shape *s, uint32_t *seen)
{
    unsigned bit = 0;
    bool ok = false;
    double v = 0;
    if (hs_cloudhsm_key_is(key, kn, "rtt_ms")) {
        ok = hs_cloudhsm_parse_num(val, vn, 0, HS_CLOUDHSM_RTT_MS_MAX, &v);
        s->rtt_ns = (long long)(v * 1e6);
    } else if (hs_cloudhsm_key_is(key, kn, "hsms")) {
        bit = 1;
        ok = hs_cloudhsm_parse_int(val, vn, 1, HS_CLOUDHSM_HSMS_MAX, &s->hsms);
    } else if (hs_cloudhsm_key_is(key, kn, "slots")) {
        bit = 2;
        ok = hs_cloudhsm_parse_int(val, vn, 1, HS_CLOUDHSM_SLOTS_MAX, &s->slots);
    } else if (hs_cloudhsm_key_is(key, kn, "burst_ms")) {
        bit = 3;
        ok = hs_cloudhsm_parse_num(val, vn, 0, HS_CLOUDHSM_BURST_MS_MAX, &s->burst_ms);
    } else if (hs_cloudhsm_key_is(key, kn, "throttle")) {
        bit = 4;
        ok = hs_cloudhsm_parse_ckr(val, vn, &s->throttle_rv);
    } else if (hs_cloudhsm_key_is(key, kn, "cluster")) {
        bit = 4 + HS_CLOUDHSM_FAMILY_COUNT;
        ok = hs_cloudhsm_parse_path(val, vn, s->cluster);
    } else if (kn > 5 && memcmp(key, "rate.", 5) == 0) {
        for (unsigned f = 1; f < HS_CLOUDHSM_FAMILY_COUNT && !ok; f++) {
            if (hs_cloudhsm_key_is(key + 5, kn - 5, hs_cloudhsm_families[f].name)) {
                bit = 4 + f;
                ok = hs_cloudhsm_parse_num(val, vn, 1, HS_CLOUDHSM_RATE_MAX, &s->rate[f]);
            }
        }
    }
    if (!ok || (*seen & (1U << bit)) != 0) {
        return false;
    }
    *seen |= 1U << bit;
    return true;
}

bool hs_cloudhsm_parse(const char *spec, struct hs_cloudhsm_shape *out)
{
    struct hs_cloudhsm_shape s = HS_CLOUDHSM_SHAPE_DEFAULT;
    uint32_t seen = 0;
    size_t len = spec == NULL ? 0 : strnlen(spec, HS_CLOUDHSM_SHAPE_MAX + 1);
    /* A trailing comma would end the loop before its empty item. */
    if (len > HS_CLOUDHSM_SHAPE_MAX || (len > 0 && spec[len - 1] == ',')) {
        return false;
    }
    for (size_t at = 0; at < len;) {
        const char *item = spec + at;
        const char *comma = memchr(item, ',', len - at);
        size_t n = comma == NULL ? len - at : (size_t)(comma - item);
        at += n + 1;
        const char *eq = memchr(item, '=', n);
        if (eq == NULL || eq == item ||
            !hs_cloudhsm_parse_item(item, (size_t)(eq - item), eq + 1, n - (size_t)(eq - item) - 1,
                                    &s, &seen)) {
            return false;
        }
    }
    *out = s;
    return true;
}
