#include "common/hs_buf.h"

#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define HS_BUF_INITIAL_CAP 256

struct hs_buf {
    unsigned char *data;
    size_t len;
    size_t cap;
    size_t max;
    size_t reserved; /* size of the open reservation; 0 when none */
    bool sensitive;
};

static struct hs_buf *hs_buf_alloc(size_t max, bool sensitive)
{
    if (max == 0) {
        return NULL;
    }
    struct hs_buf *b = OPENSSL_zalloc(sizeof(*b));
    if (b == NULL) {
        return NULL;
    }
    b->max = max;
    b->sensitive = sensitive;
    return b;
}

struct hs_buf *hs_buf_new(size_t max)
{
    return hs_buf_alloc(max, false);
}

struct hs_buf *hs_buf_new_sensitive(size_t max)
{
    return hs_buf_alloc(max, true);
}

void hs_buf_free(struct hs_buf *b)
{
    if (b == NULL) {
        return;
    }
    if (b->sensitive) {
        OPENSSL_clear_free(b->data, b->cap);
    } else {
        OPENSSL_free(b->data);
    }
    OPENSSL_free(b);
}

void hs_buf_freep(struct hs_buf **b)
{
    hs_buf_free(*b);
}

const unsigned char *hs_buf_data(const struct hs_buf *b)
{
    return b->data;
}

size_t hs_buf_len(const struct hs_buf *b)
{
    return b->len;
}

size_t hs_buf_max(const struct hs_buf *b)
{
    return b->max;
}

void hs_buf_reset(struct hs_buf *b)
{
    if (b->sensitive && b->data != NULL) {
        OPENSSL_cleanse(b->data, b->cap);
    }
    b->len = 0;
    b->reserved = 0;
}

/* Makes room for n more bytes, growing geometrically but never beyond max. */
static HS_RESULT hs_buf_grow(struct hs_buf *b, size_t n)
{
    HS_ENSURE(n <= b->max - b->len, HS_ERR_BOUNDS);
    size_t need = b->len + n;
    if (need <= b->cap) {
        return HS_OK;
    }
    size_t cap = b->cap > 0 ? b->cap : HS_BUF_INITIAL_CAP;
    while (cap < need) {
        cap = cap > b->max / 2 ? b->max : cap * 2;
    }
    if (cap > b->max) {
        cap = b->max;
    }
    unsigned char *p = OPENSSL_malloc(cap);
    HS_ENSURE(p != NULL, HS_ERR_NOMEM);
    if (b->len > 0) {
        memcpy(p, b->data, b->len);
    }
    if (b->sensitive) {
        OPENSSL_clear_free(b->data, b->cap);
    } else {
        OPENSSL_free(b->data);
    }
    b->data = p;
    b->cap = cap;
    return HS_OK;
}

HS_RESULT hs_buf_put(struct hs_buf *b, const void *p, size_t n)
{
    HS_ENSURE_REF(b);
    if (n == 0) {
        return HS_OK;
    }
    HS_ENSURE_REF(p);
    HS_GUARD(hs_buf_grow(b, n));
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->reserved = 0;
    return HS_OK;
}

HS_RESULT hs_buf_put_str(struct hs_buf *b, const char *s)
{
    HS_ENSURE_REF(s);
    return hs_buf_put(b, s, strlen(s));
}

HS_RESULT hs_buf_put_byte(struct hs_buf *b, unsigned char c)
{
    return hs_buf_put(b, &c, 1);
}

HS_RESULT hs_buf_put_hex(struct hs_buf *b, const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    HS_ENSURE(n <= SIZE_MAX / 2, HS_ERR_BOUNDS);
    unsigned char *w = NULL;
    HS_GUARD(hs_buf_reserve(b, 2 * n, &w));
    for (size_t i = 0; i < n; i++) {
        w[2 * i] = (unsigned char)digits[p[i] >> 4];
        w[2 * i + 1] = (unsigned char)digits[p[i] & 0x0f];
    }
    return hs_buf_commit(b, 2 * n);
}

int hs_hex_digit(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

HS_RESULT hs_buf_put_b64url(struct hs_buf *b, const unsigned char *p, size_t n)
{
    HS_ENSURE_REF(b);
    HS_ENSURE(p != NULL || n == 0, HS_ERR_INTERNAL);
    /* Unpadded length: 4 characters per 3 bytes, 2 or 3 for a final group of 1 or 2. */
    size_t out_len = (n / 3) * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
    HS_ENSURE(out_len <= b->max - b->len, HS_ERR_BOUNDS);
    size_t start = b->len;
    /* libcrypto encodes in chunks of 48 bytes (64 characters plus its NUL). */
    for (size_t off = 0; off < n; off += 48) {
        unsigned char chunk[65];
        size_t in = n - off < 48 ? n - off : 48;
        int written = EVP_EncodeBlock(chunk, p + off, (int)in);
        HS_ENSURE(written > 0, HS_ERR_CRYPTO);
        size_t used = (size_t)written;
        while (used > 0 && chunk[used - 1] == '=') {
            used--;
        }
        for (size_t i = 0; i < used; i++) {
            chunk[i] = chunk[i] == '+' ? '-' : (chunk[i] == '/' ? '_' : chunk[i]);
        }
        HS_GUARD(hs_buf_put(b, chunk, used));
    }
    HS_ENSURE(b->len - start == out_len, HS_ERR_INTERNAL);
    return HS_OK;
}

HS_RESULT hs_buf_reserve(struct hs_buf *b, size_t n, unsigned char **out)
{
    HS_ENSURE_REF(b);
    HS_ENSURE_REF(out);
    HS_GUARD(hs_buf_grow(b, n));
    b->reserved = n;
    *out = b->data + b->len;
    return HS_OK;
}

HS_RESULT hs_buf_commit(struct hs_buf *b, size_t used)
{
    HS_ENSURE_REF(b);
    HS_ENSURE(used <= b->reserved, HS_ERR_BOUNDS);
    b->len += used;
    b->reserved = 0;
    return HS_OK;
}

HS_RESULT hs_buf_cstr(struct hs_buf *b, const char **out)
{
    HS_ENSURE_REF(b);
    HS_ENSURE(b->len == 0 || memchr(b->data, '\0', b->len) == NULL, HS_ERR_INPUT);
    HS_GUARD(hs_buf_grow(b, 1));
    b->data[b->len] = '\0';
    b->reserved = 0;
    *out = (const char *)b->data;
    return HS_OK;
}

void hs_cursor_init(struct hs_cursor *c, const void *data, size_t len)
{
    c->data = data;
    c->len = data != NULL ? len : 0;
    c->pos = 0;
}

size_t hs_cursor_remaining(const struct hs_cursor *c)
{
    return c->len - c->pos;
}

HS_RESULT hs_cursor_get(struct hs_cursor *c, size_t n, const unsigned char **out)
{
    HS_ENSURE(n <= c->len - c->pos, HS_ERR_BOUNDS);
    *out = c->data + c->pos;
    c->pos += n;
    return HS_OK;
}

void hs_cursor_get_until(struct hs_cursor *c, unsigned char delim, const unsigned char **out,
                         size_t *out_len)
{
    const unsigned char *start = c->data + c->pos;
    size_t rest = c->len - c->pos;
    const unsigned char *hit = rest > 0 ? memchr(start, delim, rest) : NULL;
    size_t n = hit != NULL ? (size_t)(hit - start) : rest;
    *out = start;
    *out_len = n;
    c->pos += hit != NULL ? n + 1 : n;
}
