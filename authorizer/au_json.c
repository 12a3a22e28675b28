#include "authorizer/au_json.h"

#include <string.h>

#include "common/hs_defer.h"
#include "common/hs_json.h"

/* The duplicate scan runs over text json-c already accepted, so it only needs to find where
 * strings, objects and arrays start and end. Keys of one object are compared as written (an
 * escaped spelling of the same name is not caught here; json-c then keeps the last). */
struct au_json_scan {
    const char *s;
    size_t n;
    size_t i;
    int depth;
};

static void au_json_ws(struct au_json_scan *sc)
{
    while (sc->i < sc->n && strchr(" \t\r\n", sc->s[sc->i]) != NULL && sc->s[sc->i] != '\0') {
        sc->i++;
    }
}

/* At a '"': advances past the string; *start and *len give its raw content. */
static HS_RESULT au_json_string(struct au_json_scan *sc, size_t *start, size_t *len)
{
    HS_ENSURE(sc->i < sc->n && sc->s[sc->i] == '"', HS_ERR_INPUT_JSON);
    size_t j = ++sc->i;
    while (sc->i < sc->n && sc->s[sc->i] != '"') {
        sc->i += sc->s[sc->i] == '\\' ? 2 : 1;
    }
    HS_ENSURE(sc->i < sc->n, HS_ERR_INPUT_JSON);
    *start = j;
    *len = sc->i - j;
    sc->i++;
    return HS_OK;
}

static HS_RESULT au_json_value(struct au_json_scan *sc);

/* Keys of one object seen so far, as offsets into the text. */
#define AU_JSON_KEYS_MAX 512

static HS_RESULT au_json_object(struct au_json_scan *sc)
{
    size_t starts[AU_JSON_KEYS_MAX];
    size_t lens[AU_JSON_KEYS_MAX];
    size_t count = 0;
    sc->i++; /* '{' */
    au_json_ws(sc);
    if (sc->i < sc->n && sc->s[sc->i] == '}') {
        sc->i++;
        return HS_OK;
    }
    for (;;) {
        au_json_ws(sc);
        size_t k = 0;
        size_t kl = 0;
        HS_GUARD(au_json_string(sc, &k, &kl));
        for (size_t j = 0; j < count; j++) {
            HS_ENSURE_MSG(lens[j] != kl || memcmp(sc->s + starts[j], sc->s + k, kl) != 0,
                          HS_ERR_INPUT_JSON, "duplicate member \"%.*s\"", (int)(kl > 64 ? 64 : kl),
                          sc->s + k);
        }
        HS_ENSURE_MSG(count < AU_JSON_KEYS_MAX, HS_ERR_INPUT_JSON, "over %d members in an object",
                      AU_JSON_KEYS_MAX);
        starts[count] = k;
        lens[count++] = kl;
        au_json_ws(sc);
        HS_ENSURE(sc->i < sc->n && sc->s[sc->i] == ':', HS_ERR_INPUT_JSON);
        sc->i++;
        HS_GUARD(au_json_value(sc));
        au_json_ws(sc);
        HS_ENSURE(sc->i < sc->n, HS_ERR_INPUT_JSON);
        if (sc->s[sc->i++] == '}') {
            return HS_OK;
        }
    }
}

static HS_RESULT au_json_value(struct au_json_scan *sc)
{
    au_json_ws(sc);
    HS_ENSURE(sc->i < sc->n && sc->depth < AU_JSON_DEPTH_MAX + 1, HS_ERR_INPUT_JSON);
    char c = sc->s[sc->i];
    if (c == '"') {
        size_t k = 0;
        size_t kl = 0;
        return au_json_string(sc, &k, &kl);
    }
    if (c == '{' || c == '[') {
        sc->depth++;
        if (c == '{') {
            HS_GUARD(au_json_object(sc));
        } else {
            sc->i++;
            au_json_ws(sc);
            if (sc->i < sc->n && sc->s[sc->i] == ']') {
                sc->i++;
            } else {
                for (;;) {
                    HS_GUARD(au_json_value(sc));
                    au_json_ws(sc);
                    HS_ENSURE(sc->i < sc->n, HS_ERR_INPUT_JSON);
                    if (sc->s[sc->i++] == ']') {
                        break;
                    }
                }
            }
        }
        sc->depth--;
        return HS_OK;
    }
    /* A number or literal: up to the next delimiter. */
    while (sc->i < sc->n && strchr(",]} \t\r\n", sc->s[sc->i]) == NULL) {
        sc->i++;
    }
    return HS_OK;
}

HS_RESULT au_json_parse(const char *text, size_t len, size_t max_len, json_object **out)
{
    HS_DEFER(json_object *obj = NULL, hs_json_putp);
    HS_GUARD(hs_json_parse_object(text, len, max_len, AU_JSON_DEPTH_MAX, &obj));
    struct au_json_scan sc = {.s = text, .n = len};
    HS_GUARD(au_json_value(&sc));
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
        acc = ((acc << 6) | (unsigned int)v) & 0xffffu;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            HS_GUARD(hs_buf_put_byte(out, (unsigned char)((acc >> bits) & 0xffu)));
        }
    }
    /* The leftover bits (2 or 4) must be zero: one text per value. */
    HS_ENSURE_MSG((acc & ((1u << bits) - 1u)) == 0, HS_ERR_INPUT,
                  "base64url: non-zero padding bits");
    return HS_OK;
}
