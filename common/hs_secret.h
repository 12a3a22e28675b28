/*
 * hs_secret: PINs, tokens and cloud credentials.
 *
 * A secret lives only on the OpenSSL secure heap (mlock'ed, guard pages) when hs_secure_init()
 * has set it up, is wiped with OPENSSL_secure_clear_free, and has no printing or logging path:
 * the only way to read it is hs_secret_get0(), which lends the bytes to the call that needs them
 * (C_Login, an HMAC key).
 */
#ifndef HS_SECRET_H
#define HS_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "common/hs_err.h"

/* Largest secret accepted from a file or the environment, in bytes. */
#define HS_SECRET_MAX 1024
/* Largest secret of any kind (hs_secret_from_bytes, hs_secret_from_env with a larger max): AWS
 * STS session tokens exceed 1 KiB and STS fixes no bound. Only what a secret holds is allocated
 * on the secure heap. */
#define HS_SECRET_LARGE_MAX (8 * 1024)

struct hs_secret;

/* Process hardening for anything that holds secrets: sets up the OpenSSL secure heap
 * (secure_heap_bytes, a power of two, e.g. 65536), sets RLIMIT_CORE to 0 and, outside sanitizer
 * builds, PR_SET_DUMPABLE to 0. Errors: HS_ERR_INTERNAL if the core-dump limit cannot be set.
 * A secure heap that cannot be locked is not an error (OpenSSL then falls back to the normal
 * heap); hs_secure_heap_active() tells. Call once, before any secret is read. */
HS_RESULT hs_secure_init(size_t secure_heap_bytes);
bool hs_secure_heap_active(void);

/* Reads a secret from the file at path: a regular file, not a symlink, at most max bytes
 * (max <= HS_SECRET_LARGE_MAX), not readable or writable by group or others. One trailing "\n" or
 * "\r\n" is removed. Errors: HS_ERR_INPUT_CONFIG (missing, wrong type or mode, empty, too large;
 * the detail names the path, never the content), HS_ERR_IO, HS_ERR_NOMEM.
 * The caller frees *out with hs_secret_free(). */
HS_RESULT hs_secret_from_file(const char *path, size_t max, struct hs_secret **out);

/* Reads a secret from the environment variable `name` (the value is copied; the environment is
 * left as it is). Errors: HS_ERR_INPUT_CONFIG when unset, empty or longer than max bytes,
 * HS_ERR_NOMEM. The caller frees *out. */
HS_RESULT hs_secret_from_env(const char *name, size_t max, struct hs_secret **out);

/* hs_secret_from_env(), then the variable's value is overwritten in place and the variable
 * removed, so the secret does not linger in the process's environment (/proc/PID/environ,
 * child processes). For a secret read once at start, such as a token PIN. Errors: as
 * hs_secret_from_env(); HS_ERR_INTERNAL when unsetenv fails. */
HS_RESULT hs_secret_take_env(const char *name, size_t max, struct hs_secret **out);

/* Prompts on the controlling terminal (/dev/tty, not stdin or stdout) with prompt and reads one
 * line with echo turned off (restored on every path). At most max bytes (max <= HS_SECRET_MAX);
 * the newline is not kept. Errors: HS_ERR_INPUT_CONFIG when there is no terminal, the line is
 * empty or too long; HS_ERR_IO. The caller frees *out. */
HS_RESULT hs_secret_from_tty(const char *prompt, size_t max, struct hs_secret **out);

/* Copies n bytes into a new secret. Errors: HS_ERR_INPUT_TOO_LARGE when n > HS_SECRET_LARGE_MAX,
 * HS_ERR_NOMEM. The caller frees *out. */
HS_RESULT hs_secret_from_bytes(const void *p, size_t n, struct hs_secret **out);

/* Lends the secret's bytes (not NUL-terminated) and length; valid until hs_secret_free(). */
void hs_secret_get0(const struct hs_secret *s, const unsigned char **data, size_t *len);

/* Compares the secret with n bytes at p in time independent of the content (CRYPTO_memcmp);
 * only the lengths' equality is not hidden. */
bool hs_secret_equal(const struct hs_secret *s, const void *p, size_t n);

/* Wipes and releases s; NULL is accepted. */
void hs_secret_free(struct hs_secret *s);
void hs_secret_freep(struct hs_secret **s);

#endif /* HS_SECRET_H */
