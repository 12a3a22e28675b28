/*
 * sgn_ssh_wire: the SSH wire encoding (RFC 4251 §5) of what hsmsign signs and publishes:
 * OpenSSH public keys, certificates (PROTOCOL.certkeys) and KRLs (PROTOCOL.krl).
 *
 * Writers append to a bounded hs_buf (HS_ERR_BOUNDS when it is full); readers take from a
 * bounded hs_cursor and fail with HS_ERR_INPUT_KEY on truncated or malformed input, so that a
 * parser built on them refuses bad keys with one clear error class.
 */
#ifndef SGN_SSH_WIRE_H
#define SGN_SSH_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"

/* uint32 / uint64: big-endian (RFC 4251 §5). Errors: as hs_buf_put. */
HS_RESULT sgn_ssh_put_u32(struct hs_buf *b, uint32_t v);
HS_RESULT sgn_ssh_put_u64(struct hs_buf *b, uint64_t v);

/* string: uint32 length, then n bytes (RFC 4251 §5). Errors: HS_ERR_BOUNDS (also for n above
 * UINT32_MAX), HS_ERR_NOMEM. */
HS_RESULT sgn_ssh_put_string(struct hs_buf *b, const void *p, size_t n);

/* string of strlen(s) bytes. Errors: as sgn_ssh_put_string. */
HS_RESULT sgn_ssh_put_cstring(struct hs_buf *b, const char *s);

/* mpint (RFC 4251 §5) of the non-negative big-endian magnitude p[0..n): leading zero bytes
 * dropped, one 0x00 put in front when the top bit is set, zero as the empty string. Errors: as
 * sgn_ssh_put_string. */
HS_RESULT sgn_ssh_put_mpint(struct hs_buf *b, const unsigned char *p, size_t n);

/* Readers. Errors: HS_ERR_INPUT_KEY (truncated) naming what (a static field name). */
HS_RESULT sgn_ssh_get_u32(struct hs_cursor *c, const char *what, uint32_t *out);
HS_RESULT sgn_ssh_get_u64(struct hs_cursor *c, const char *what, uint64_t *out);

/* Lends the next string's bytes (valid while the cursor's memory lives). Errors:
 * HS_ERR_INPUT_KEY (truncated, or longer than max bytes). */
HS_RESULT sgn_ssh_get_string(struct hs_cursor *c, const char *what, size_t max,
                             const unsigned char **out, size_t *out_len);

/* Lends the magnitude of the next mpint, which must be positive and minimally encoded (RFC 4251
 * §5: no unnecessary leading 0x00; a negative number is refused). Errors: HS_ERR_INPUT_KEY. */
HS_RESULT sgn_ssh_get_mpint_pos(struct hs_cursor *c, const char *what, size_t max,
                                const unsigned char **out, size_t *out_len);

/* Whether the string [p, p+n) equals the NUL-terminated s. */
bool sgn_ssh_eq(const unsigned char *p, size_t n, const char *s);

#endif /* SGN_SSH_WIRE_H */
