/*
 * p11_sign: signatures made by C_Sign on the token (PKCS#11 v2.40 §5.12).
 *
 * Mechanisms:
 *   RSA PKCS#1 v1.5    CKM_SHA256_RSA_PKCS / CKM_SHA384_RSA_PKCS / CKM_SHA512_RSA_PKCS
 *   RSA-PSS            CKM_SHA256_RSA_PKCS_PSS / CKM_SHA384_RSA_PKCS_PSS, MGF1 with the same
 *                      hash, salt length = hash length (RFC 8017 §9.1, RFC 7518 §3.5)
 *   ECDSA              digest computed in software, CKM_ECDSA over it; the token returns r||s,
 *                      which is kept raw for JWS (RFC 7518 §3.4) or DER-encoded as
 *                      ECDSA-Sig-Value for X.509 (RFC 3279 §2.2.3)
 *   EdDSA Ed25519      CKM_EDDSA over the whole message (RFC 8032 §5.1)
 */
#ifndef P11_SIGN_H
#define P11_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"
#include "common/hs_hist.h"
#include "pkcs11/p11_key.h"

enum p11_sig_alg {
    P11_SIG_RSA_PKCS1_SHA256,
    P11_SIG_RSA_PKCS1_SHA384,
    P11_SIG_RSA_PKCS1_SHA512,
    P11_SIG_RSA_PSS_SHA256,
    P11_SIG_RSA_PSS_SHA384,
    P11_SIG_ECDSA_SHA256,
    P11_SIG_ECDSA_SHA384,
    P11_SIG_EDDSA,
};

enum p11_sig_format {
    P11_SIG_FORMAT_DER, /* ECDSA as DER ECDSA-Sig-Value; other algorithms as produced */
    P11_SIG_FORMAT_RAW, /* ECDSA as fixed-length r||s; other algorithms as produced */
};

/* Largest signature any supported key produces (RSA-4096), in bytes. */
#define P11_SIG_MAX 512
/* Largest message p11_sign() accepts, in bytes (a TBSCertificate or CRL is far smaller). */
#define P11_SIGN_DATA_MAX (1024 * 1024)

/* Signs len bytes at data with key using alg and appends the signature to out. Errors:
 * HS_ERR_INPUT_KEY when alg does not fit the key (e.g. ECDSA with an RSA key, SHA-384 on
 * P-256 is allowed), HS_ERR_INPUT_TOO_LARGE, HS_ERR_BOUNDS when out has no room for
 * P11_SIG_MAX more bytes, HS_ERR_HSM_* (after the pool's retries), HS_ERR_CRYPTO. */
HS_RESULT p11_sign(struct p11_key *key, enum p11_sig_alg alg, enum p11_sig_format format,
                   const unsigned char *data, size_t len, struct hs_buf *out);

/* Checks, before a key is put to use (at start), that alg fits a key of type and key_bits
 * (RSA modulus bits; ignored for EC) and that pool's token offers alg's mechanism with CKF_SIGN
 * for that size (as probed when the pool opened). Usable before the key exists, so a ceremony
 * never creates a key the token cannot sign with. Errors: HS_ERR_INPUT_KEY (alg does not fit
 * the key type), HS_ERR_HSM_MECHANISM naming the CKM_* and the token. */
HS_RESULT p11_sign_check(const struct p11_pool *pool, enum p11_key_type type, unsigned int key_bits,
                         enum p11_sig_alg alg);

/* p11_sign_check() for an existing key. */
HS_RESULT p11_sign_check_key(const struct p11_key *key, enum p11_sig_alg alg);

/* The algorithm a key signs with by default: RSA -> PKCS#1 v1.5 SHA-256, P-256 -> ECDSA
 * SHA-256, P-384 -> ECDSA SHA-384, Ed25519 -> EdDSA. */
enum p11_sig_alg p11_sig_alg_default(enum p11_key_type type);

/* Whether alg can be used with a key of type. */
bool p11_sig_alg_fits(enum p11_sig_alg alg, enum p11_key_type type);

/* The message digest name alg hashes with ("SHA256", ...), NULL for EdDSA. */
const char *p11_sig_alg_digest(enum p11_sig_alg alg);

/* The CKM_* the token is asked for. */
CK_MECHANISM_TYPE p11_sig_alg_mechanism(enum p11_sig_alg alg);

/* Latency of successful signatures on the token (C_SignInit to the last C_Sign, in
 * microseconds), process-wide, as a histogram for /metrics (bounds 50 us to 250 ms; see
 * hs_hist.h for the shape). *out is the caller's. */
void p11_sign_latency_get(struct hs_hist_snapshot *out);

#endif /* P11_SIGN_H */
