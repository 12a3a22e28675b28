/*
 * fuzz_sigv4: the fuzz targets' own AWS Signature Version 4 signer (fuzz_sigv4.h).
 */
#include "tests/fuzz/fuzz_sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "tests/fuzz/fuzz_support.h"

/* --- a growable string (the harness's own; aborts when out of memory) ---------------------- */

void fuzz_str_put(struct fuzz_str *s, const void *p, size_t n)
{
    if (s->n + n + 1 > s->cap) {
        size_t cap = (s->n + n + 1) * 2;
        char *q = realloc(s->p, cap);
        if (q == NULL) {
            fuzz_abort();
        }
        s->p = q;
        s->cap = cap;
    }
    if (n > 0) {
        memcpy(s->p + s->n, p, n);
    }
    s->n += n;
    s->p[s->n] = '\0';
}

void fuzz_str_puts(struct fuzz_str *s, const char *z)
{
    fuzz_str_put(s, z, strlen(z));
}

void fuzz_str_putc(struct fuzz_str *s, char c)
{
    fuzz_str_put(s, &c, 1);
}

void fuzz_str_hex(struct fuzz_str *s, const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        fuzz_str_putc(s, digits[p[i] >> 4]);
        fuzz_str_putc(s, digits[p[i] & 15]);
    }
}

/* --- the signer ---------------------------------------------------------------------------- */

static bool rs_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

bool fuzz_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

int fuzz_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* URI-encodes n bytes: every byte but the unreserved ones as %XX (upper case). */
static void rs_encode(struct fuzz_str *s, const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        if (rs_unreserved(p[i])) {
            fuzz_str_putc(s, (char)p[i]);
        } else {
            char e[3] = {'%', digits[p[i] >> 4], digits[p[i] & 15]};
            fuzz_str_put(s, e, 3);
        }
    }
}

/* The canonical URI of a service other than S3: dot segments and empty segments removed on
 * the raw path, each segment encoded again, a trailing '/' kept when a segment is left. */
static void rs_canonical_uri(struct fuzz_str *s, const char *path, size_t n)
{
    size_t max = 1;
    for (size_t i = 0; i < n; i++) {
        max += path[i] == '/' ? 1 : 0;
    }
    const char **segs = calloc(max, sizeof(*segs));
    size_t *lens = calloc(max, sizeof(*lens));
    if (segs == NULL || lens == NULL) {
        fuzz_abort();
    }
    size_t nsegs = 0;
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && path[j] != '/') {
            j++;
        }
        size_t len = j - i;
        if (len == 2 && path[i] == '.' && path[i + 1] == '.') {
            nsegs -= nsegs > 0 ? 1 : 0;
        } else if (len > 0 && !(len == 1 && path[i] == '.')) {
            segs[nsegs] = path + i;
            lens[nsegs++] = len;
        }
        i = j + 1;
    }
    for (size_t k = 0; k < nsegs; k++) {
        fuzz_str_putc(s, '/');
        rs_encode(s, (const unsigned char *)segs[k], lens[k]);
    }
    if (nsegs == 0 || (n > 0 && path[n - 1] == '/')) {
        fuzz_str_putc(s, '/');
    }
    free(segs);
    free(lens);
}

struct rs_param {
    struct fuzz_str name;
    struct fuzz_str value;
};

/* Decodes %XX escapes ('+' stays a plus) and encodes the result again. */
static void rs_reencode(struct fuzz_str *s, const char *p, size_t n)
{
    struct fuzz_str raw = {0};
    fuzz_str_put(&raw, "", 0);
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%' && i + 2 < n) {
            int hi = fuzz_hexval((unsigned char)p[i + 1]);
            int lo = fuzz_hexval((unsigned char)p[i + 2]);
            if (hi >= 0 && lo >= 0) {
                fuzz_str_putc(&raw, (char)(hi << 4 | lo));
                i += 2;
                continue;
            }
        }
        fuzz_str_putc(&raw, p[i]);
    }
    rs_encode(s, (const unsigned char *)raw.p, raw.n);
    free(raw.p);
}

static int rs_str_cmp(const struct fuzz_str *a, const struct fuzz_str *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    int c = memcmp(a->p, b->p, n);
    return c != 0 ? c : (a->n > b->n) - (a->n < b->n);
}

static int rs_param_cmp(const void *x, const void *y)
{
    const struct rs_param *a = x;
    const struct rs_param *b = y;
    int c = rs_str_cmp(&a->name, &b->name);
    return c != 0 ? c : rs_str_cmp(&a->value, &b->value);
}

/* The canonical query string: every '&'-separated field, name and value decoded and encoded
 * again, sorted by name then value, joined as name=value. */
static void rs_canonical_query(struct fuzz_str *s, const char *q, size_t n)
{
    if (n == 0) {
        return;
    }
    size_t count = 1;
    for (size_t i = 0; i < n; i++) {
        count += q[i] == '&' ? 1 : 0;
    }
    struct rs_param *params = calloc(count, sizeof(*params));
    if (params == NULL) {
        fuzz_abort();
    }
    size_t k = 0;
    size_t i = 0;
    while (k < count) {
        size_t j = i;
        while (j < n && q[j] != '&') {
            j++;
        }
        const char *eq = memchr(q + i, '=', j - i);
        size_t name_len = eq != NULL ? (size_t)(eq - (q + i)) : j - i;
        rs_reencode(&params[k].name, q + i, name_len);
        fuzz_str_put(&params[k].name, "", 0);
        fuzz_str_put(&params[k].value, "", 0);
        if (eq != NULL) {
            rs_reencode(&params[k].value, eq + 1, j - i - name_len - 1);
        }
        k++;
        i = j + 1;
    }
    qsort(params, count, sizeof(*params), rs_param_cmp);
    for (k = 0; k < count; k++) {
        if (k > 0) {
            fuzz_str_putc(s, '&');
        }
        fuzz_str_put(s, params[k].name.p, params[k].name.n);
        fuzz_str_putc(s, '=');
        fuzz_str_put(s, params[k].value.p, params[k].value.n);
        free(params[k].name.p);
        free(params[k].value.p);
    }
    free(params);
}

/* A header value trimmed of spaces and tabs, inner runs of them one space. */
static void rs_header_value(struct fuzz_str *s, const char *v)
{
    size_t n = strlen(v);
    size_t a = 0;
    while (a < n && (v[a] == ' ' || v[a] == '\t')) {
        a++;
    }
    while (n > a && (v[n - 1] == ' ' || v[n - 1] == '\t')) {
        n--;
    }
    bool blank = false;
    for (size_t i = a; i < n; i++) {
        if (v[i] == ' ' || v[i] == '\t') {
            blank = true;
            continue;
        }
        if (blank) {
            fuzz_str_putc(s, ' ');
            blank = false;
        }
        fuzz_str_putc(s, v[i]);
    }
}

bool fuzz_sigv4_is_amz(const char *name)
{
    return strncasecmp(name, "x-amz-", 6) == 0;
}

static void rs_lower(char *s)
{
    for (; *s != '\0'; s++) {
        *s = (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') : *s;
    }
}

static int rs_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted, distinct, lower-case names to sign; *n their count. Caller frees each and out. */
static char **rs_signed_names(const struct fuzz_sigv4_request *r, bool minimal, size_t *n)
{
    char **names = calloc(r->nheaders + 1, sizeof(*names));
    if (names == NULL) {
        fuzz_abort();
    }
    size_t k = 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        const char *name = r->headers[i].name;
        if (!fuzz_sigv4_is_signed(name, minimal)) {
            continue;
        }
        names[k] = fuzz_strndup((const uint8_t *)name, strlen(name));
        rs_lower(names[k]);
        k++;
    }
    qsort(names, k, sizeof(*names), rs_name_cmp);
    size_t w = 0;
    for (size_t i = 0; i < k; i++) {
        if (w > 0 && strcmp(names[w - 1], names[i]) == 0) {
            free(names[i]);
            continue;
        }
        names[w++] = names[i];
    }
    *n = w;
    return names;
}

static void rs_hmac(const unsigned char *key, size_t key_len, const char *msg, size_t msg_len,
                    unsigned char out[32])
{
    unsigned int used = 0;
    if (HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, msg_len, out, &used) ==
            NULL ||
        used != 32) {
        fuzz_abort();
    }
}

void fuzz_sigv4_authorization(const struct fuzz_sigv4_request *r, const struct fuzz_sigv4_cred *c,
                              const char *amz_date, bool minimal, bool reorder,
                              struct fuzz_str *out)
{
    char day[9];
    memcpy(day, amz_date, 8);
    day[8] = '\0';
    struct fuzz_str creq = {0};
    fuzz_str_puts(&creq, r->method);
    fuzz_str_putc(&creq, '\n');
    const char *q = strchr(r->target, '?');
    size_t path_len = q != NULL ? (size_t)(q - r->target) : strlen(r->target);
    rs_canonical_uri(&creq, r->target, path_len);
    fuzz_str_putc(&creq, '\n');
    if (q != NULL) {
        rs_canonical_query(&creq, q + 1, strlen(q + 1));
    }
    fuzz_str_putc(&creq, '\n');
    size_t nnames = 0;
    char **names = rs_signed_names(r, minimal, &nnames);
    struct fuzz_str list = {0};
    fuzz_str_put(&list, "", 0);
    for (size_t i = 0; i < nnames; i++) {
        fuzz_str_puts(&creq, names[i]);
        fuzz_str_putc(&creq, ':');
        size_t found = 0;
        for (size_t k = 0; k < r->nheaders; k++) {
            if (strcasecmp(r->headers[k].name, names[i]) == 0) {
                if (found++ > 0) {
                    fuzz_str_putc(&creq, ',');
                }
                rs_header_value(&creq, r->headers[k].value);
            }
        }
        fuzz_str_putc(&creq, '\n');
        if (i > 0) {
            fuzz_str_putc(&list, ';');
        }
        fuzz_str_puts(&list, names[i]);
        free(names[i]);
    }
    free(names);
    fuzz_str_putc(&creq, '\n');
    fuzz_str_puts(&creq, list.p);
    fuzz_str_putc(&creq, '\n');
    unsigned char md[32];
    SHA256(r->body, r->body_len, md);
    fuzz_str_hex(&creq, md, 32);

    char scope[128];
    snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", day, c->region, c->service);
    struct fuzz_str sts = {0};
    fuzz_str_puts(&sts, "AWS4-HMAC-SHA256\n");
    fuzz_str_puts(&sts, amz_date);
    fuzz_str_putc(&sts, '\n');
    fuzz_str_puts(&sts, scope);
    fuzz_str_putc(&sts, '\n');
    SHA256((const unsigned char *)creq.p, creq.n, md);
    fuzz_str_hex(&sts, md, 32);

    char k0[128];
    int k0_len = snprintf(k0, sizeof(k0), "AWS4%s", c->secret);
    unsigned char k[32];
    rs_hmac((const unsigned char *)k0, (size_t)k0_len, day, strlen(day), k);
    rs_hmac(k, 32, c->region, strlen(c->region), k);
    rs_hmac(k, 32, c->service, strlen(c->service), k);
    rs_hmac(k, 32, "aws4_request", 12, k);
    unsigned char sig[32];
    rs_hmac(k, 32, sts.p, sts.n, sig);

    struct fuzz_str cred = {0};
    fuzz_str_puts(&cred, "Credential=");
    fuzz_str_puts(&cred, c->akid);
    fuzz_str_putc(&cred, '/');
    fuzz_str_puts(&cred, scope);
    struct fuzz_str sh = {0};
    fuzz_str_puts(&sh, "SignedHeaders=");
    fuzz_str_puts(&sh, list.p);
    struct fuzz_str sgn = {0};
    fuzz_str_puts(&sgn, "Signature=");
    fuzz_str_hex(&sgn, sig, 32);
    fuzz_str_puts(out, "AWS4-HMAC-SHA256 ");
    const struct fuzz_str *order[3] = {&cred, &sh, &sgn};
    if (reorder) {
        order[0] = &sgn;
        order[1] = &cred;
        order[2] = &sh;
    }
    for (size_t i = 0; i < 3; i++) {
        if (i > 0) {
            fuzz_str_puts(out, reorder ? "," : ", ");
        }
        fuzz_str_put(out, order[i]->p, order[i]->n);
    }
    free(creq.p);
    free(sts.p);
    free(list.p);
    free(cred.p);
    free(sh.p);
    free(sgn.p);
}

bool fuzz_sigv4_is_signed(const char *name, bool minimal)
{
    return !minimal || fuzz_sigv4_is_amz(name) || strcasecmp(name, "host") == 0 ||
           strcasecmp(name, "date") == 0;
}

void fuzz_sigv4_amz_date(time_t t, char out[FUZZ_SIGV4_DATE_LEN + 1])
{
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL ||
        strftime(out, FUZZ_SIGV4_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm) != FUZZ_SIGV4_DATE_LEN) {
        fuzz_abort();
    }
}
