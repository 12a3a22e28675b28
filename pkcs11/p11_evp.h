/*
 * p11_evp: token keys as OpenSSL 3 EVP_PKEYs, so that libcrypto's own X509_sign_ctx,
 * X509_CRL_sign_ctx and X509_REQ_sign_ctx build and encode the structure while the signature
 * itself is a C_Sign on the token.
 *
 * It is a small built-in OpenSSL provider ("hsmsign-p11") with a key manager and a signature
 * implementation for one algorithm name, "HSMSIGN-P11". The key manager holds a reference to a
 * struct p11_key; the signature's one-shot digest-sign calls p11_sign() and reports the
 * AlgorithmIdentifier (OSSL_SIGNATURE_PARAM_ALGORITHM_ID) for the signed structure, as
 * OpenSSL's ASN1_item_sign_ctx() asks of provider keys. Nothing private is ever exported: the
 * key manager has no export function.
 */
#ifndef P11_EVP_H
#define P11_EVP_H

#include <openssl/evp.h>

#include "common/hs_err.h"
#include "pkcs11/p11_key.h"
#include "pkcs11/p11_sign.h"

/* Registers and loads the provider (and OpenSSL's default provider beside it) in the default
 * library context. Idempotent and thread-safe. Errors: HS_ERR_CRYPTO. */
HS_RESULT p11_evp_init(void);

/* Returns a digest-sign context for key and alg, ready for X509_sign_ctx() and friends. The
 * context holds a reference to key. Errors: HS_ERR_INPUT_KEY (alg does not fit the key),
 * HS_ERR_CRYPTO. The caller frees *out with EVP_MD_CTX_free(). */
HS_RESULT p11_evp_sign_ctx_new(struct p11_key *key, enum p11_sig_alg alg, EVP_MD_CTX **out);

/* Returns an EVP_PKEY standing for the token key (it holds a reference to key), to be kept by
 * a signer that signs many times (an issuer) and handed to p11_evp_sign_ctx_new_pkey():
 * building it costs a provider fetch and an import each time (~2 % of a certificate's CPU).
 * Read-only once made, so threads may share it. Errors: HS_ERR_CRYPTO. The caller frees *out
 * with EVP_PKEY_free(). */
HS_RESULT p11_evp_pkey_new(struct p11_key *key, EVP_PKEY **out);

/* p11_evp_sign_ctx_new() with pkey, which must come from p11_evp_pkey_new(key): the context
 * takes its own reference to pkey. Same errors and ownership. */
HS_RESULT p11_evp_sign_ctx_new_pkey(struct p11_key *key, EVP_PKEY *pkey, enum p11_sig_alg alg,
                                    EVP_MD_CTX **out);

/* The OpenSSL NID of alg's signature AlgorithmIdentifier (NID_ecdsa_with_SHA256 ...), or
 * NID_undef for RSA-PSS (whose identifier carries parameters). */
int p11_sig_alg_nid(enum p11_sig_alg alg);

/* Writes the DER AlgorithmIdentifier for alg (RFC 4055 / RFC 5758 / RFC 8410) into out.
 * Errors: HS_ERR_BOUNDS, HS_ERR_CRYPTO. */
HS_RESULT p11_evp_algorithm_id(enum p11_sig_alg alg, struct hs_buf *out);

#endif /* P11_EVP_H */
