/*
 * hs_digest: SHA-256 and SHA-384 (FIPS 180-4) fetched from the default provider once per
 * process. The one-shot SHA256() and EVP_sha256() fetch the implementation from the provider
 * store on every call (OpenSSL 3 "implicit fetch"), which costs more than hashing a JWT or a
 * TBSCertificate.
 */
#ifndef HS_DIGEST_H
#define HS_DIGEST_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common/hs_err.h"

/* Lends the fetched SHA-256 / SHA-384 (kept for the process's life); NULL when the provider
 * offers none. */
const EVP_MD *hs_digest_sha256(void);
const EVP_MD *hs_digest_sha384(void);

/* Writes the SHA-256 of n bytes at p (p may be NULL when n is 0) to out. Errors: HS_ERR_CRYPTO. */
HS_RESULT hs_sha256(const void *p, size_t n, unsigned char out[SHA256_DIGEST_LENGTH]);

#endif /* HS_DIGEST_H */
