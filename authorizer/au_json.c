#include "authorizer/au_json.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/hs_defer.h"
#include "common/hs_json.h"

/* The duplicate scan runs over text json-c already accepted, so it only needs to find where
 * strings, objects and arrays start and end. It is iterative: a stack of the open containers,
 * and one array of the keys of the open objects (an object's keys are dropped when it closes).
 * Keys of one object are compared as written (an escaped spelling of the same name is not
 * caught here; json-c then keeps the last). */
#define AU_JSON_KEYS_MAX 512 /* members of one object */
#define AU_JSON_OPEN_MAX (AU_JSON_DEPTH_MAX + 1)
#define AU_JSON_OPEN_KEYS_MAX 1024 /* members of all the objects open at one point */

struct au_json_key {
    size_t start;
    size_t len;
};

struct au_json_open {
    bool object;
    size_t key_base; /* where this object's keys start in keys[] */
};

struct au_json_scan {
    struct au_json_open open[AU_JSON_OPEN_MAX];
    size_t depth;
    size_t nkeys;
    struct au_json_key keys[AU_JSON_OPEN_KEYS_MAX];
};

HS_DEFINE_FREEP(au_json_scan_freep, struct au_json_scan, OPENSSL_free)

/* s[*i] is '"': advances *i past the string; *start and *len give its raw content. */
static HS_RESULT au_json_string(const char *s, size_t n, size_t *i, struct au_json_key *out)
{
    size_t j = ++*i;
    while (*i < n && s[*i] != '"') {
        *i += s[*i] == '\\' ? 2 : 1;
    }
    HS_ENSURE(*i < n, HS_ERR_INPUT_JSON);
    out->start = j;
    out->len = *i - j;
    ++*i;
    return HS_OK;
}

static HS_RESULT au_json_key_add(struct au_json_scan *sc, const char *s, struct au_json_key k)
{
    const struct au_json_open *top = &sc->open[sc->depth - 1];
    for (size_t j = top->key_base; j < sc->nkeys; j++) {
        HS_ENSURE_MSG(sc->keys[j].len != k.len ||
                          memcmp(s + sc->keys[j].start, s + k.start, k.len) != 0,
                      HS_ERR_INPUT_JSON, "duplicate member \"%.*s\"",
                      (int)(k.len > 64 ? 64 : k.len), s + k.start);
    }
    HS_ENSURE_MSG(sc->nkeys - top->key_base < AU_JSON_KEYS_MAX && sc->nkeys < AU_JSON_OPEN_KEYS_MAX,
                  HS_ERR_INPUT_JSON, "over %d members in an object (%d in nested ones)",
                  AU_JSON_KEYS_MAX, AU_JSON_OPEN_KEYS_MAX);
    sc->keys[sc->nkeys++] = k;
    return HS_OK;
}

static HS_RESULT au_json_dups(const char *s, size_t n)
{
    /* Not zeroed: only open[0..depth) and keys[0..nkeys) are ever read. */
    HS_DEFER(struct au_json_scan *sc = OPENSSL_malloc(sizeof(*sc)), au_json_scan_freep);
    HS_ENSURE(sc != NULL, HS_ERR_NOMEM);
    sc->depth = 0;
    sc->nkeys = 0;
    bool expect_key = false;
    for (size_t i = 0; i < n;) {
        char c = s[i];
        if (c == '"') {
            struct au_json_key k;
            HS_GUARD(au_json_string(s, n, &i, &k));
            if (expect_key) {
                HS_GUARD(au_json_key_add(sc, s, k));
                expect_key = false;
            }
            continue;
        }
        if (c == '{' || c == '[') {
            HS_ENSURE(sc->depth < AU_JSON_OPEN_MAX, HS_ERR_INPUT_JSON);
            sc->open[sc->depth++] = (struct au_json_open){c == '{', sc->nkeys};
            expect_key = c == '{';
        } else if (c == '}' || c == ']') {
            HS_ENSURE(sc->depth > 0, HS_ERR_INPUT_JSON);
            sc->nkeys = sc->open[--sc->depth].key_base;
            expect_key = false;
        } else if (c == ',') {
            expect_key = sc->depth > 0 && sc->open[sc->depth - 1].object;
        }
        i++;
    }
    return HS_OK;
}

HS_RESULT au_json_parse(const char *text, size_t len, size_t max_len, json_object **out)
{
    HS_DEFER(json_object *obj = NULL, hs_json_putp);
    HS_GUARD(hs_json_parse_object(text, len, max_len, AU_JSON_DEPTH_MAX, &obj));
    HS_GUARD(au_json_dups(text, len));
    *out = obj;
    obj = NULL;
    return HS_OK;
}

static int au_b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    return c == '-' ? 62 : c == '_' ? 63 : -1;
}

HS_RESULT au_b64url_decode(const char *s, size_t n, struct hs_buf *out)
{
    HS_ENSURE_REF(out);
    HS_ENSURE(s != NULL || n == 0, HS_ERR_INTERNAL);
    HS_ENSURE_MSG(n % 4 != 1, HS_ERR_INPUT, "base64url: bad length");
    unsigned int acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = au_b64url_value(s[i]);
        HS_ENSURE_MSG(v >= 0, HS_ERR_INPUT, "base64url: bad character");
        acc = ((acc << 6) | (unsigned int)v) & 0xFFFFU;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            HS_GUARD(hs_buf_put_byte(out, (unsigned char)((acc >> bits) & 0xFFU)));
        }
    }
    /* The leftover bits (2 or 4) must be zero: one text per value. */
    HS_ENSURE_MSG((acc & ((1U << bits) - 1U)) == 0, HS_ERR_INPUT,
                  "base64url: non-zero padding bits");
    return HS_OK;
}
