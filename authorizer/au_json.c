#include "authorizer/au_json.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/hs_defer.h"
#include "common/hs_json.h"

HS_RESULT au_json_parse(const char *text, size_t len, size_t max_len, json_object **out)
{
    HS_DEFER(json_object *obj = NULL, hs_json_putp);
    HS_GUARD(hs_json_parse_object(text, len, max_len, AU_JSON_DEPTH_MAX, &obj));
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
