/*
 * fuzz_sigv4: an AWS Signature Version 4 signer for the fuzz targets (sigv4_resign_fuzz,
 * service_fuzz), written from the IAM User Guide ("Create a signed AWS API request", "Elements
 * of an AWS API request signature") with libcrypto's SHA-256 and HMAC, independent of
 * api/api_sigv4.c, so that a target can re-sign what the fuzzer mutated and reach the
 * verifier's acceptance path. The canonical URI is the one for services other than S3 (dot and
 * empty segments removed on the raw path, each segment URI-encoded again); the canonical query
 * decodes and re-encodes each name and value ('+' is a literal plus) and sorts them; a header
 * value is trimmed with inner runs of spaces and tabs made one space, repeats joined with ','.
 * Harness code: aborts (fuzz_abort) when out of memory instead of returning errors.
 */
#ifndef FUZZ_SIGV4_H
#define FUZZ_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "api/api_sigv4.h"

#define FUZZ_SIGV4_DATE_LEN 16 /* YYYYMMDD'T'HHMMSS'Z' */

/* A growable NUL-terminated string; free(s.p) when done. Aborts when out of memory. */
struct fuzz_str {
    char *p;
    size_t n;
    size_t cap;
};
void fuzz_str_put(struct fuzz_str *s, const void *p, size_t n);
void fuzz_str_puts(struct fuzz_str *s, const char *z);
void fuzz_str_putc(struct fuzz_str *s, char c);
void fuzz_str_hex(struct fuzz_str *s, const unsigned char *p, size_t n); /* lowercase hex */

/* RFC 9110 §5.6.2 tchar; the value of a hex digit (either case) or -1. */
bool fuzz_tchar(unsigned char c);
int fuzz_hexval(unsigned char c);

struct fuzz_sigv4_cred {
    const char *akid;
    const char *secret;
    const char *region;
    const char *service;
};

/* A request to sign: its headers must already hold the date (X-Amz-Date or Date), Host and any
 * session token, but no Authorization. Borrowed. */
struct fuzz_sigv4_request {
    const char *method;
    const char *target; /* raw request-target, path[?query] */
    const struct api_header *headers;
    size_t nheaders;
    const unsigned char *body;
    size_t body_len;
};

/* Whether a header name starts with "x-amz-" (any case). */
bool fuzz_sigv4_is_amz(const char *name);

/* Whether the signer signs header name: every header, or when minimal only Host, Date and the
 * x-amz-* headers. */
bool fuzz_sigv4_is_signed(const char *name, bool minimal);

/* Appends the Authorization value "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
 * Signature=..." for r signed with c at amz_date (YYYYMMDD'T'HHMMSS'Z'; the scope's day is its
 * first 8 characters) to out; reorder puts Signature first and leaves out the spaces after the
 * commas. */
void fuzz_sigv4_authorization(const struct fuzz_sigv4_request *r, const struct fuzz_sigv4_cred *c,
                              const char *amz_date, bool minimal, bool reorder,
                              struct fuzz_str *out);

/* Writes t (UTC) as YYYYMMDD'T'HHMMSS'Z' into out. */
void fuzz_sigv4_amz_date(time_t t, char out[FUZZ_SIGV4_DATE_LEN + 1]);

#endif /* FUZZ_SIGV4_H */
