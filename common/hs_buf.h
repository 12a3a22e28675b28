/*
 * hs_buf: bounded byte buffers, and hs_cursor: bounded reading.
 *
 * A buffer is created with a hard maximum (a named constant of the caller's); it grows on demand
 * up to that maximum and never past it. Every write checks its length first and fails with
 * HS_ERR_BOUNDS instead of truncating. A buffer created sensitive is wiped whenever its memory
 * is released or moved. Raw memory is handed to libcrypto or C_Sign only through
 * hs_buf_reserve() + hs_buf_commit().
 */
#ifndef HS_BUF_H
#define HS_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include "common/hs_err.h"

struct hs_buf;

/* Returns a new empty buffer that may hold up to max bytes (max >= 1), or NULL when out of
 * memory. The caller frees it with hs_buf_free(). */
struct hs_buf *hs_buf_new(size_t max);

/* As hs_buf_new(); the content is wiped with OPENSSL_cleanse on reset, growth and free. */
struct hs_buf *hs_buf_new_sensitive(size_t max);

/* Releases b (NULL is accepted), wiping it first when sensitive. */
void hs_buf_free(struct hs_buf *b);

/* For HS_DEFER. */
void hs_buf_freep(struct hs_buf **b);

/* Lends the content (valid until the next write, reset or free) and its length in bytes. */
const unsigned char *hs_buf_data(const struct hs_buf *b);
size_t hs_buf_len(const struct hs_buf *b);
size_t hs_buf_max(const struct hs_buf *b);

/* Empties b (wiping it when sensitive); the maximum stays. */
void hs_buf_reset(struct hs_buf *b);

/* Appends n bytes. Errors: HS_ERR_BOUNDS when len + n > max, HS_ERR_NOMEM. */
HS_RESULT hs_buf_put(struct hs_buf *b, const void *p, size_t n);

/* Appends strlen(s) bytes (no terminator). Errors as hs_buf_put. */
HS_RESULT hs_buf_put_str(struct hs_buf *b, const char *s);

/* Appends one byte. Errors as hs_buf_put. */
HS_RESULT hs_buf_put_byte(struct hs_buf *b, unsigned char c);

/* Appends the lowercase hex of n bytes (2n characters). Errors as hs_buf_put. */
HS_RESULT hs_buf_put_hex(struct hs_buf *b, const unsigned char *p, size_t n);

/* The value (0..15) of the hex digit c in either case (RFC 3986 §2.1 HEXDIG, as percent-encoding
 * reads it), -1 for any other character (a NUL or a byte over 0x7f included). */
int hs_hex_digit(int c);

/* Appends the unpadded base64url encoding (RFC 4648 §5, as RFC 7515 §2 uses it) of n bytes.
 * Errors as hs_buf_put, HS_ERR_CRYPTO if libcrypto's encoder fails. */
HS_RESULT hs_buf_put_b64url(struct hs_buf *b, const unsigned char *p, size_t n);

/* Makes n bytes writable after the content and lends a pointer to them in *out. Nothing is
 * appended until hs_buf_commit(). Errors: HS_ERR_BOUNDS when len + n > max, HS_ERR_NOMEM. */
HS_RESULT hs_buf_reserve(struct hs_buf *b, size_t n, unsigned char **out);

/* Appends `used` bytes written into the last reservation. Errors: HS_ERR_BOUNDS when used is
 * larger than what was reserved or when nothing was reserved. */
HS_RESULT hs_buf_commit(struct hs_buf *b, size_t used);

/* Lends the content as a NUL-terminated string in *out (the terminator is not counted in the
 * length). Errors: HS_ERR_BOUNDS when no room is left for the terminator, HS_ERR_INPUT when the
 * content holds a NUL byte, HS_ERR_NOMEM. */
HS_RESULT hs_buf_cstr(struct hs_buf *b, const char **out);

/* Reads a bounded byte sequence front to back. Borrows the memory; never owns it. */
struct hs_cursor {
    const unsigned char *data;
    size_t len;
    size_t pos;
};

void hs_cursor_init(struct hs_cursor *c, const void *data, size_t len);
size_t hs_cursor_remaining(const struct hs_cursor *c);

/* Lends the next n bytes in *out and advances. Errors: HS_ERR_BOUNDS when fewer remain. */
HS_RESULT hs_cursor_get(struct hs_cursor *c, size_t n, const unsigned char **out);

/* Lends the bytes up to (not including) the next `delim` in *out / *out_len and advances past
 * the delimiter; when there is none, lends the rest. Never fails. */
void hs_cursor_get_until(struct hs_cursor *c, unsigned char delim, const unsigned char **out,
                         size_t *out_len);

#endif /* HS_BUF_H */
