/*
 * sgn_spki: SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) handled as data, without OpenSSL 3's
 * provider encoders and decoders.
 *
 * Why: OpenSSL 3.0 turns every SPKI into an EVP_PKEY, and every EVP_PKEY back into an SPKI,
 * through an OSSL_DECODER / OSSL_ENCODER context built afresh each time (about 100-200 µs and
 * a global lock per call, measured). A CSR's SPKI is copied into its certificate as it came
 * (X509_PUBKEY_set0_param), classified from its algorithm and key bits, and turned into an
 * EVP_PKEY only for the CSR's signature check, with EVP_PKEY_fromdata (the key management's
 * import, ~20 µs).
 *
 * Key types: rsaEncryption (RFC 8017 RSAPublicKey), id-ecPublicKey on prime256v1 / secp384r1
 * (RFC 5480, uncompressed or compressed point), id-Ed25519 (RFC 8410).
 */
#ifndef SGN_SPKI_H
#define SGN_SPKI_H

#include <stddef.h>

#include <openssl/asn1t.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/hs_err.h"

enum sgn_key_kind {
    SGN_KEY_RSA,
    SGN_KEY_EC_P256,
    SGN_KEY_EC_P384,
    SGN_KEY_ED25519,
};

/* A borrowed view of an SPKI: its algorithm and the subjectPublicKey BIT STRING's bytes. */
struct sgn_spki {
    const X509_ALGOR *alg;
    const unsigned char *key;
    size_t key_len;
};

/* What an SPKI holds. */
struct sgn_spki_info {
    enum sgn_key_kind kind;
    int bits; /* RSA modulus bits; 256 / 384 for EC; 256 for Ed25519 */
};

/* The SubjectPublicKeyInfo SEQUENCE as plain fields, for ASN.1 templates that must not decode
 * the key (an X509_PUBKEY field would). The typedef is the name OpenSSL's template macros
 * need. */
typedef struct sgn_spki_der_st {
    X509_ALGOR *algor;
    ASN1_BIT_STRING *public_key;
} SGN_SPKI_DER;
DECLARE_ASN1_ITEM(SGN_SPKI_DER)

/* The view of a parsed SGN_SPKI_DER. */
void sgn_spki_view(const SGN_SPKI_DER *der, struct sgn_spki *out);

/* Classifies spki. Errors: HS_ERR_INPUT_KEY for another algorithm or curve, parameters that
 * do not fit the algorithm, or a malformed RSA key: an RSAPublicKey (RFC 8017 A.1.1) must be
 * DER (X.690 §10; re-encoded and compared byte for byte, so a padded or negative INTEGER, a
 * long-form or indefinite length is refused), its modulus odd and of at most 16384 bits, its
 * exponent odd and at least 3 (sgn_spki_rsa_exponent_check narrows the exponent). */
HS_RESULT sgn_spki_classify(const struct sgn_spki *spki, struct sgn_spki_info *out);

#define SGN_RSA_E_BYTES 32 /* an accepted RSA public exponent is below 2^256 */

/* An inclusive range of RSA public exponents, each a big-endian number of SGN_RSA_E_BYTES bytes
 * (CA/Browser Forum BR 6.1.6: odd, and SHOULD be 2^16+1..2^256-1). */
struct sgn_rsa_exponents {
    unsigned char min[SGN_RSA_E_BYTES];
    unsigned char max[SGN_RSA_E_BYTES];
};

/* Sets out to the default range: 65537 only. */
void sgn_rsa_exponents_default(struct sgn_rsa_exponents *out);

/* Checks that the RSA spki's public exponent lies in range (NULL: the default, 65537 only).
 * Errors: HS_ERR_INPUT_KEY (not an RSA key, malformed, or the exponent outside the range; the
 * detail says which). */
HS_RESULT sgn_spki_rsa_exponent_check(const struct sgn_spki *spki,
                                      const struct sgn_rsa_exponents *range);

/* Makes an EVP_PKEY of spki (classified as info) with EVP_PKEY_fromdata. Errors:
 * HS_ERR_INPUT_KEY (the key does not import: a point off the curve...), HS_ERR_NOMEM. The
 * caller frees *out with EVP_PKEY_free(). */
HS_RESULT sgn_spki_to_pkey(const struct sgn_spki *spki, const struct sgn_spki_info *info,
                           EVP_PKEY **out);

/* Sets x's subjectPublicKeyInfo to a copy of spki, as it is, after classifying it again
 * (sgn_spki_classify: what is copied into a certificate is DER). Errors: HS_ERR_INPUT_KEY,
 * HS_ERR_NOMEM, HS_ERR_CRYPTO. */
HS_RESULT sgn_spki_set_x509(X509 *x, const struct sgn_spki *spki);

/* The view of x's own SPKI (valid while x lives and is not changed). Errors: HS_ERR_CRYPTO. */
HS_RESULT sgn_spki_of_x509(const X509 *x, struct sgn_spki *out);

/* SHA-256 of the DER SubjectPublicKeyInfo of spki into out[32]. Errors: HS_ERR_CRYPTO. */
HS_RESULT sgn_spki_sha256(const struct sgn_spki *spki, unsigned char out[32]);

#endif /* SGN_SPKI_H */
