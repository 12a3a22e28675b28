#include "api/api_query.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common/hs_buf.h"

#define API_CURSOR_VERSION 1
#define API_CURSOR_SUM_LEN 8
#define API_CURSOR_RAW_MAX (1 + 8 + 1 + ST_INV_SERIAL_MAX + API_CURSOR_SUM_LEN)
#define API_PARAM_NAME_MAX 16
#define API_VALUE_MAX ST_INV_PRINCIPAL_MAX /* the longest value, decoded */

enum api_param {
    API_P_STATUS,
    API_P_KIND,
    API_P_REQUESTER,
    API_P_NAME,
    API_P_EXPIRES_BEFORE,
    API_P_EXPIRES_AFTER,
    API_P_LIMIT,
    API_P_CURSOR,
    API_P_COUNT,
};

static const char *const api_param_names[API_P_COUNT] = {
    "status", "kind", "requester", "name", "expires_before", "expires_after", "limit", "cursor",
};

/* Percent-decodes s[0..n) into out (max bytes and a NUL); what names it in errors. Decoded
 * control characters and NUL are refused. */
static HS_RESULT api_pct_decode(const char *s, size_t n, const char *what, char *out, size_t max)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hs_hex_digit((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? hs_hex_digit((unsigned char)s[i + 2]) : -1;
            HS_ENSURE_MSG(hi >= 0 && lo >= 0, HS_ERR_INPUT_FIELD,
                          "query parameter %s has a malformed %%-escape", what);
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        HS_ENSURE_MSG(c >= 0x20 && c != 0x7f, HS_ERR_INPUT_FIELD,
                      "query parameter %s holds a control character", what);
        HS_ENSURE_MSG(o < max, HS_ERR_INPUT_RANGE, "query parameter %s is longer than %zu bytes",
                      what, max);
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return HS_OK;
}

/* The decimal number s[0..n), or -1 when one of them is not a digit. */
static int api_digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* "YYYY-MM-DDTHH:MM:SSZ" (RFC 3339 §5.6, UTC, no fraction) as seconds since the epoch. */
static HS_RESULT api_rfc3339_parse(const char *s, const char *what, time_t *out)
{
    bool shape = strnlen(s, 21) == 20 && s[4] == '-' && s[7] == '-' &&
                 (s[10] == 'T' || s[10] == 't') && s[13] == ':' && s[16] == ':' &&
                 (s[19] == 'Z' || s[19] == 'z');
    HS_ENSURE_MSG(shape, HS_ERR_INPUT_FIELD,
                  "query parameter %s must be RFC 3339 UTC, YYYY-MM-DDTHH:MM:SSZ", what);
    int year = api_digits(s, 4);
    int mon = api_digits(s + 5, 2);
    int mday = api_digits(s + 8, 2);
    int hour = api_digits(s + 11, 2);
    int min = api_digits(s + 14, 2);
    int sec = api_digits(s + 17, 2);
    HS_ENSURE_MSG(year >= 0 && mon >= 0 && mday >= 0 && hour >= 0 && min >= 0 && sec >= 0,
                  HS_ERR_INPUT_FIELD,
                  "query parameter %s must be RFC 3339 UTC, YYYY-MM-DDTHH:MM:SSZ", what);
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = mday;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    time_t v = timegm(&tm);
    struct tm back;
    /* timegm normalises (Feb 30 -> Mar 2): a date that moved did not exist. */
    HS_ENSURE_MSG(year >= 1970 && v != (time_t)-1 && gmtime_r(&v, &back) != NULL &&
                      back.tm_year + 1900 == year && back.tm_mon + 1 == mon &&
                      back.tm_mday == mday && back.tm_hour == hour && back.tm_min == min &&
                      back.tm_sec == sec,
                  HS_ERR_INPUT_RANGE, "query parameter %s is not a valid date and time", what);
    *out = v;
    return HS_OK;
}

static void api_cursor_sum(const unsigned char *p, size_t n,
                           unsigned char out[SHA256_DIGEST_LENGTH])
{
    SHA256(p, n, out);
}

HS_RESULT api_list_cursor_encode(const struct st_list_position *pos, char out[API_CURSOR_MAX + 1])
{
    HS_ENSURE_REF(pos);
    size_t slen = strnlen(pos->serial_hex, sizeof(pos->serial_hex));
    HS_ENSURE(slen >= 1 && slen <= ST_INV_SERIAL_MAX, HS_ERR_INTERNAL);
    unsigned char raw[API_CURSOR_RAW_MAX];
    size_t n = 0;
    raw[n++] = API_CURSOR_VERSION;
    uint64_t t = (uint64_t)(int64_t)pos->issued;
    for (int i = 7; i >= 0; i--) {
        raw[n++] = (unsigned char)(t >> (8 * i));
    }
    raw[n++] = (unsigned char)slen;
    memcpy(raw + n, pos->serial_hex, slen);
    n += slen;
    unsigned char md[SHA256_DIGEST_LENGTH];
    api_cursor_sum(raw, n, md);
    memcpy(raw + n, md, API_CURSOR_SUM_LEN);
    n += API_CURSOR_SUM_LEN;
    unsigned char b64[4 * ((API_CURSOR_RAW_MAX + 2) / 3) + 1];
    int w = EVP_EncodeBlock(b64, raw, (int)n);
    HS_ENSURE(w > 0 && (size_t)w <= API_CURSOR_MAX, HS_ERR_BOUNDS);
    size_t o = 0;
    for (int i = 0; i < w && b64[i] != '='; i++) {
        char c = (char)b64[i];
        if (c == '+') {
            c = '-';
        } else if (c == '/') {
            c = '_';
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return HS_OK;
}

/* The cursor's bytes from its base64url text; *n their count. */
static HS_RESULT api_cursor_bytes(const char *text, unsigned char raw[API_CURSOR_RAW_MAX + 3],
                                  size_t *n)
{
    size_t len = strlen(text);
    HS_ENSURE_MSG(
        len >= 2 && len <= API_CURSOR_MAX && len % 4 != 1 &&
            strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == len,
        HS_ERR_INPUT_FIELD, "query parameter cursor does not parse");
    char b64[API_CURSOR_MAX + 4];
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '-') {
            c = '+';
        } else if (c == '_') {
            c = '/';
        }
        b64[o++] = c;
    }
    size_t pad = (4 - len % 4) % 4;
    for (size_t i = 0; i < pad; i++) {
        b64[o++] = '=';
    }
    b64[o] = '\0';
    HS_ENSURE_MSG(o / 4 * 3 <= API_CURSOR_RAW_MAX + 3, HS_ERR_INPUT_FIELD,
                  "query parameter cursor does not parse");
    int w = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)o);
    HS_ENSURE_MSG(w >= 0 && (size_t)w >= pad, HS_ERR_INPUT_FIELD,
                  "query parameter cursor does not parse");
    *n = (size_t)w - pad;
    return HS_OK;
}

static HS_RESULT api_cursor_decode(const char *text, struct st_list_position *out)
{
    unsigned char raw[API_CURSOR_RAW_MAX + 3];
    size_t n = 0;
    HS_GUARD(api_cursor_bytes(text, raw, &n));
    HS_ENSURE_MSG(n >= 1 + 8 + 1 + 1 + API_CURSOR_SUM_LEN && raw[0] == API_CURSOR_VERSION,
                  HS_ERR_INPUT_FIELD, "query parameter cursor does not parse");
    size_t slen = raw[9];
    HS_ENSURE_MSG(slen >= 1 && slen <= ST_INV_SERIAL_MAX &&
                      n == 1 + 8 + 1 + slen + API_CURSOR_SUM_LEN,
                  HS_ERR_INPUT_FIELD, "query parameter cursor does not parse");
    unsigned char md[SHA256_DIGEST_LENGTH];
    api_cursor_sum(raw, n - API_CURSOR_SUM_LEN, md);
    HS_ENSURE_MSG(memcmp(md, raw + n - API_CURSOR_SUM_LEN, API_CURSOR_SUM_LEN) == 0,
                  HS_ERR_INPUT_FIELD, "query parameter cursor does not parse (checksum)");
    uint64_t t = 0;
    for (size_t i = 1; i <= 8; i++) {
        t = (t << 8) | raw[i];
    }
    out->issued = (time_t)(int64_t)t;
    memcpy(out->serial_hex, raw + 10, slen);
    out->serial_hex[slen] = '\0';
    HS_ENSURE_MSG(!hs_failed(st_inv_list_query_check(
                      &(struct st_list_query){.any_kind = true, .limit = 1, .after = out})),
                  HS_ERR_INPUT_FIELD, "query parameter cursor does not parse (serial)");
    return HS_OK;
}

/* One decoded parameter into out. */
static HS_RESULT api_param_set(enum api_param p, const char *v, struct api_list_query *out)
{
    const char *what = api_param_names[p];
    struct st_list_query *q = &out->q;
    HS_ENSURE_MSG(v[0] != '\0', HS_ERR_INPUT_FIELD, "query parameter %s is empty", what);
    switch (p) {
    case API_P_STATUS:
        q->status = strcmp(v, "good") == 0      ? ST_LIST_GOOD
                    : strcmp(v, "revoked") == 0 ? ST_LIST_REVOKED
                    : strcmp(v, "expired") == 0 ? ST_LIST_EXPIRED
                                                : ST_LIST_ANY;
        HS_ENSURE_MSG(q->status != ST_LIST_ANY, HS_ERR_INPUT_FIELD,
                      "query parameter status must be good, revoked or expired");
        return HS_OK;
    case API_P_KIND:
        HS_ENSURE_MSG(strcmp(v, "x509") == 0 || strcmp(v, "ssh") == 0, HS_ERR_INPUT_FIELD,
                      "query parameter kind must be x509 or ssh");
        q->any_kind = false;
        q->kind = strcmp(v, "ssh") == 0 ? ST_KIND_SSH : ST_KIND_X509;
        return HS_OK;
    case API_P_REQUESTER:
        HS_IGNORE(snprintf(out->requester, sizeof(out->requester), "%s", v));
        q->requester = out->requester;
        return HS_OK;
    case API_P_NAME:
        HS_ENSURE_MSG(strlen(v) <= ST_INV_LIST_NAME_MAX, HS_ERR_INPUT_RANGE,
                      "query parameter name must be 1..%d bytes", ST_INV_LIST_NAME_MAX);
        HS_IGNORE(snprintf(out->name, sizeof(out->name), "%s", v));
        q->name = out->name;
        return HS_OK;
    case API_P_EXPIRES_BEFORE:
        q->has_expires_before = true;
        return api_rfc3339_parse(v, what, &q->expires_before);
    case API_P_EXPIRES_AFTER:
        q->has_expires_after = true;
        return api_rfc3339_parse(v, what, &q->expires_after);
    case API_P_LIMIT: {
        size_t n = strlen(v);
        HS_ENSURE_MSG(n <= 3 && strspn(v, "0123456789") == n, HS_ERR_INPUT_RANGE,
                      "query parameter limit must be 1..%d", ST_INV_LIST_MAX);
        long lim = strtol(v, NULL, 10);
        HS_ENSURE_MSG(lim >= 1 && lim <= ST_INV_LIST_MAX, HS_ERR_INPUT_RANGE,
                      "query parameter limit must be 1..%d", ST_INV_LIST_MAX);
        q->limit = (size_t)lim;
        return HS_OK;
    }
    case API_P_CURSOR:
        HS_GUARD(api_cursor_decode(v, &out->after));
        q->after = &out->after;
        return HS_OK;
    case API_P_COUNT:
    default:
        HS_BAIL(HS_ERR_INTERNAL);
    }
}

/* The parameter named s[0..n), or API_P_COUNT. */
static enum api_param api_param_find(const char *s, size_t n)
{
    for (size_t i = 0; i < API_P_COUNT; i++) {
        if (strlen(api_param_names[i]) == n && memcmp(api_param_names[i], s, n) == 0) {
            return (enum api_param)i;
        }
    }
    return API_P_COUNT;
}

void api_list_query_freep(struct api_list_query **q)
{
    OPENSSL_free(*q);
}

HS_RESULT api_list_query_decode(const char *query, size_t len, time_t now,
                                struct api_list_query *out)
{
    HS_ENSURE_REF(out);
    HS_ENSURE(query != NULL || len == 0, HS_ERR_INTERNAL);
    HS_ENSURE_MSG(len <= API_QUERY_MAX, HS_ERR_INPUT_TOO_LARGE,
                  "the query string is longer than %d bytes", API_QUERY_MAX);
    memset(out, 0, sizeof(*out));
    out->q.any_kind = true;
    out->q.status = ST_LIST_ANY;
    out->q.now = now;
    out->q.limit = API_LIST_LIMIT_DEFAULT;
    bool seen[API_P_COUNT] = {false};
    char buf[API_VALUE_MAX + 1] = {0};
    for (size_t i = 0; i < len;) {
        size_t n = strcspn(query + i, "&");
        n = n < len - i ? n : len - i;
        const char *pair = query + i;
        i += n + 1;
        if (n == 0) {
            continue; /* "a=1&&b=2", a trailing '&' */
        }
        size_t klen = 0;
        while (klen < n && pair[klen] != '=') {
            klen++;
        }
        char key[API_PARAM_NAME_MAX + 1];
        hs_result r = api_pct_decode(pair, klen, "name", key, API_PARAM_NAME_MAX);
        enum api_param p = hs_failed(r) ? API_P_COUNT : api_param_find(key, strlen(key));
        HS_ENSURE_MSG(p != API_P_COUNT, HS_ERR_INPUT_FIELD,
                      "unknown query parameter %.*s (known: status, kind, requester, name, "
                      "expires_before, expires_after, limit, cursor)",
                      (int)(klen > API_PARAM_NAME_MAX ? API_PARAM_NAME_MAX : klen), pair);
        HS_ENSURE_MSG(!seen[p], HS_ERR_INPUT_FIELD, "query parameter %s is repeated",
                      api_param_names[p]);
        seen[p] = true;
        HS_ENSURE_MSG(klen < n, HS_ERR_INPUT_FIELD, "query parameter %s has no value",
                      api_param_names[p]);
        HS_GUARD(
            api_pct_decode(pair + klen + 1, n - klen - 1, api_param_names[p], buf, API_VALUE_MAX));
        HS_GUARD(api_param_set(p, buf, out));
    }
    return st_inv_list_query_check(&out->q);
}
