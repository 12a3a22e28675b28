/*
 * au_jwks: a JSON Web Key Set (RFC 7517 §5) turned into verification keys, and the lookup of
 * the key for one JWS by "kid", matched by "kty"/"crv"/"alg" (RFC 7518 §6, RFC 8037 §2).
 *
 * Accepted keys: "EC" P-256 (ES256) and P-384 (ES384) with "x"/"y" of the curve's size and on
 * the curve; "RSA" (RS256, PS256) with a modulus of 2048 to 8192 bits; "OKP" Ed25519 (EdDSA).
 * Keys are built with OpenSSL's EVP_PKEY_fromdata (OSSL_PARAM). A key with "use" other than
 * "sig", "key_ops" without "verify", an unknown "kty"/"crv" or without "kid" is left out (and
 * counted), so one key the authorizer cannot use does not stop the others.
 */
#ifndef AU_JWKS_H
#define AU_JWKS_H

#include <stddef.h>

#include <openssl/evp.h>

#include "common/hs_err.h"

#define AU_JWKS_MAX (64 * 1024) /* bytes of a JWKS document */
#define AU_JWKS_KEYS_MAX 32     /* keys in one set */
#define AU_KID_MAX 256          /* bytes of a "kid" */

struct au_jwk {
    char kid[AU_KID_MAX + 1];
    unsigned int algs; /* the enum au_alg bits this key may verify ("alg" narrows it to one) */
    EVP_PKEY *pkey;
};

struct au_jwks {
    size_t n;
    struct au_jwk keys[AU_JWKS_KEYS_MAX];
    size_t skipped; /* keys left out (see above) */
};

/* Parses text[0..len) (at most AU_JWKS_MAX bytes; {"keys": [...]} with at most
 * AU_JWKS_KEYS_MAX keys) into a new set. Errors: HS_ERR_INPUT_TOO_LARGE, HS_ERR_INPUT_JSON,
 * HS_ERR_INPUT_FIELD (no "keys" array, a member of the wrong type), HS_ERR_INPUT_KEY (a usable
 * key type with bad parameters: RSA under 2048 bits, a point off the curve), HS_ERR_NOMEM. The
 * caller frees *out with au_jwks_free (NULL accepted). */
HS_RESULT au_jwks_parse(const char *text, size_t len, struct au_jwks **out);
void au_jwks_free(struct au_jwks *set);
void au_jwks_freep(struct au_jwks **set);

enum au_jwks_find {
    AU_JWKS_FOUND = 0,
    AU_JWKS_NO_KID,   /* no key has this kid */
    AU_JWKS_MISMATCH, /* a key has it, but not of the type or "alg" alg (enum au_alg) needs */
};

/* Looks up kid for alg (one enum au_alg bit) in set (may be NULL: no kid); lends the key's
 * EVP_PKEY in *out (valid while set lives) when AU_JWKS_FOUND. */
enum au_jwks_find au_jwks_find(const struct au_jwks *set, const char *kid, unsigned int alg,
                               EVP_PKEY **out);

#endif /* AU_JWKS_H */
