#include "signer/sgn_ssh_wire.h"

#include <string.h>

HS_RESULT sgn_ssh_put_u32(struct hs_buf *b, uint32_t v)
{
    unsigned char be[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 8), (unsigned char)v};
    return hs_buf_put(b, be, sizeof(be));
}

HS_RESULT sgn_ssh_put_u64(struct hs_buf *b, uint64_t v)
{
    HS_GUARD(sgn_ssh_put_u32(b, (uint32_t)(v >> 32)));
    return sgn_ssh_put_u32(b, (uint32_t)v);
}

HS_RESULT sgn_ssh_put_string(struct hs_buf *b, const void *p, size_t n)
{
    HS_ENSURE(n <= UINT32_MAX, HS_ERR_BOUNDS);
    HS_GUARD(sgn_ssh_put_u32(b, (uint32_t)n));
    return n == 0 ? HS_OK : hs_buf_put(b, p, n);
}

HS_RESULT sgn_ssh_put_cstring(struct hs_buf *b, const char *s)
{
    HS_ENSURE_REF(s);
    return sgn_ssh_put_string(b, s, strlen(s));
}

HS_RESULT sgn_ssh_put_mpint(struct hs_buf *b, const unsigned char *p, size_t n)
{
    while (n > 0 && p[0] == 0) {
        p++;
        n--;
    }
    if (n == 0) {
        return sgn_ssh_put_u32(b, 0);
    }
    bool pad = (p[0] & 0x80) != 0;
    HS_ENSURE(n < UINT32_MAX, HS_ERR_BOUNDS);
    HS_GUARD(sgn_ssh_put_u32(b, (uint32_t)(n + (pad ? 1 : 0))));
    if (pad) {
        HS_GUARD(hs_buf_put_byte(b, 0));
    }
    return hs_buf_put(b, p, n);
}

HS_RESULT sgn_ssh_get_u32(struct hs_cursor *c, const char *what, uint32_t *out)
{
    const unsigned char *p = NULL;
    HS_ENSURE_MSG(!hs_failed(hs_cursor_get(c, 4, &p)), HS_ERR_INPUT_KEY, "truncated %s", what);
    *out = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    return HS_OK;
}

HS_RESULT sgn_ssh_get_u64(struct hs_cursor *c, const char *what, uint64_t *out)
{
    uint32_t hi = 0;
    uint32_t lo = 0;
    HS_GUARD(sgn_ssh_get_u32(c, what, &hi));
    HS_GUARD(sgn_ssh_get_u32(c, what, &lo));
    *out = ((uint64_t)hi << 32) | lo;
    return HS_OK;
}

HS_RESULT sgn_ssh_get_string(struct hs_cursor *c, const char *what, size_t max,
                             const unsigned char **out, size_t *out_len)
{
    uint32_t n = 0;
    HS_GUARD(sgn_ssh_get_u32(c, what, &n));
    HS_ENSURE_MSG(n <= max, HS_ERR_INPUT_KEY, "%s is longer than %zu bytes", what, max);
    const unsigned char *p = NULL;
    HS_ENSURE_MSG(!hs_failed(hs_cursor_get(c, n, &p)), HS_ERR_INPUT_KEY, "truncated %s", what);
    *out = p;
    *out_len = n;
    return HS_OK;
}

HS_RESULT sgn_ssh_get_mpint_pos(struct hs_cursor *c, const char *what, size_t max,
                                const unsigned char **out, size_t *out_len)
{
    const unsigned char *p = NULL;
    size_t n = 0;
    /* One more byte than max for the 0x00 in front of a magnitude whose top bit is set. */
    HS_GUARD(sgn_ssh_get_string(c, what, max + 1, &p, &n));
    HS_ENSURE_MSG(n > 0, HS_ERR_INPUT_KEY, "%s is zero", what);
    HS_ENSURE_MSG((p[0] & 0x80) == 0, HS_ERR_INPUT_KEY, "%s is negative", what);
    if (p[0] == 0) {
        HS_ENSURE_MSG(n > 1 && (p[1] & 0x80) != 0, HS_ERR_INPUT_KEY,
                      "%s has an unnecessary leading zero (RFC 4251 §5)", what);
        p++;
        n--;
    }
    HS_ENSURE_MSG(n <= max, HS_ERR_INPUT_KEY, "%s is longer than %zu bytes", what, max);
    *out = p;
    *out_len = n;
    return HS_OK;
}

bool sgn_ssh_eq(const unsigned char *p, size_t n, const char *s)
{
    size_t sl = strlen(s);
    return n == sl && memcmp(p, s, n) == 0;
}
