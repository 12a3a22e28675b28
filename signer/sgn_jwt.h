/*
 * sgn_jwt: JSON Web Tokens (RFC 7519) in JWS compact serialisation (RFC 7515 §7.1) signed by
 * C_Sign, and the JWK / JWK Set (RFC 7517) that verifies them.
 *
 * Algorithms (RFC 7518 §3.1, RFC 8037): ES256 (P-256), ES384 (P-384) with raw r||s signatures
 * (RFC 7518 §3.4), RS256 and PS256 (RSA), EdDSA (Ed25519). The key id is the key's RFC 7638
 * JWK thumbprint (SHA-256, base64url, 43 characters).
 */
#ifndef SGN_JWT_H
#define SGN_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"
#include "pkcs11/p11_key.h"

#define SGN_KID_LEN 43            /* base64url of a SHA-256 */
#define SGN_JTI_LEN 22            /* base64url of 16 random bytes */
#define SGN_JWT_MAX 8192          /* bytes of a compact JWT we produce */
#define SGN_JWKS_MAX (256 * 1024) /* bytes of a JWK Set document */
#define SGN_JWT_CLAIM_MAX 512     /* bytes of iss, sub or aud */
#define SGN_JWT_TTL_DEFAULT_S 300
#define SGN_JWT_TTL_MAX_S 3600
#define SGN_JWT_KEYS_MAX 16 /* JWT keys one service or JWKS carries */

struct sgn_jwt_key;

/* Wraps a token key for JWS. alg is "ES256", "ES384", "RS256", "PS256" or "EdDSA", or NULL
 * for the key type's default (P-256 ES256, P-384 ES384, RSA RS256, Ed25519 EdDSA). Checks that
 * the token offers the signing mechanism (p11_sign_check_key). Takes a reference to key.
 * Errors: HS_ERR_INPUT_KEY (alg does not fit the key), HS_ERR_HSM_MECHANISM, HS_ERR_CRYPTO. The
 * caller frees *out with sgn_jwt_key_free(). */
HS_RESULT sgn_jwt_key_new(struct p11_key *key, const char *alg, struct sgn_jwt_key **out);
void sgn_jwt_key_free(struct sgn_jwt_key *k);
void sgn_jwt_key_freep(struct sgn_jwt_key **k);

/* Lends the key id (RFC 7638 thumbprint) and the JWS "alg" name. */
const char *sgn_jwt_key_kid(const struct sgn_jwt_key *k);
const char *sgn_jwt_key_alg(const struct sgn_jwt_key *k);
struct p11_key *sgn_jwt_key_get0_key(const struct sgn_jwt_key *k);

/* A configured JWT key: a token key reference (RFC 7512 URI or label) and an optional JWS alg.
 * Strings are borrowed from the configuration document. */
struct sgn_jwt_key_ref {
    const char *key;
    const char *alg; /* NULL = the key type's default */
};

/* Reads the array member `field` of obj: [{"key": "...", "alg": "ES256"}, ...] with
 * 1..SGN_JWT_KEYS_MAX entries ("alg" optional). Strings stay owned by obj. Errors:
 * HS_ERR_INPUT_FIELD / HS_ERR_INPUT_RANGE / HS_ERR_INPUT_TOO_LARGE naming the field. */
HS_RESULT sgn_jwt_key_refs_parse(json_object *obj, const char *field,
                                 struct sgn_jwt_key_ref out[SGN_JWT_KEYS_MAX], size_t *out_n);

/* Finds each of the n referenced keys on pool's token, refuses one that is not protected
 * (p11_key_check_protected) and wraps it for JWS. On success out[0..n) hold new keys the
 * caller frees with sgn_jwt_key_free(); on failure out is not written. Errors: as
 * p11_key_find(), p11_key_check_protected() and sgn_jwt_key_new(). */
HS_RESULT sgn_jwt_keys_load(struct p11_pool *pool, const struct sgn_jwt_key_ref *refs, size_t n,
                            struct sgn_jwt_key *out[SGN_JWT_KEYS_MAX]);

/* Frees every key of an array filled by sgn_jwt_keys_load() (for HS_DEFER on the array). */
void sgn_jwt_key_array_freep(struct sgn_jwt_key *(*keys)[SGN_JWT_KEYS_MAX]);

/* Writes the RFC 7638 thumbprint of pub (EC P-256/P-384, RSA, Ed25519) into out (NUL-
 * terminated). Errors: HS_ERR_INPUT_KEY, HS_ERR_CRYPTO. */
HS_RESULT sgn_jwk_thumbprint(EVP_PKEY *pub, char out[SGN_KID_LEN + 1]);

/* Returns the public JWK of pub: kty, crv/x/y or n/e, and use "sig", alg, kid. Errors:
 * HS_ERR_INPUT_KEY, HS_ERR_CRYPTO, HS_ERR_NOMEM. The caller releases *out (json_object_put). */
HS_RESULT sgn_jwk_new(EVP_PKEY *pub, const char *alg, json_object **out);

/* One key of a JWK Set document as read back: its public key, "alg" and "kid". */
struct sgn_jwk_entry {
    EVP_PKEY *pub; /* owned */
    char alg[8];
    char kid[SGN_KID_LEN + 1];
};

/* Parses a JWK Set document (RFC 7517 §5) as the key ceremony writes it: {"keys": [...]} with
 * 1..SGN_JWT_KEYS_MAX signing keys, each with kty (EC P-256/P-384, RSA, OKP Ed25519), use
 * "sig", alg (fitting the key), and kid equal to the key's RFC 7638 thumbprint; no kid twice.
 * Fills out[0..*out_n) in document order (the ceremony puts the newest key first). Errors:
 * HS_ERR_INPUT_JSON, HS_ERR_INPUT_FIELD naming the key and member. The caller frees the entries
 * with sgn_jwk_entries_clear(). */
HS_RESULT sgn_jwks_parse(const char *text, size_t len, struct sgn_jwk_entry out[SGN_JWT_KEYS_MAX],
                         size_t *out_n);
void sgn_jwk_entries_clear(struct sgn_jwk_entry *entries, size_t n);

/* Returns {"keys": [...]} for n keys, as a string the caller frees with free(). Errors as
 * sgn_jwk_new, HS_ERR_BOUNDS beyond SGN_JWKS_MAX. */
HS_RESULT sgn_jwks_json(struct sgn_jwt_key *const *keys, size_t n, char **out);

struct sgn_jwt_claims {
    const char *iss;       /* issuer URL */
    const char *sub;       /* subject: the caller's principal ARN */
    const char *aud;       /* audience */
    time_t now;            /* iat = nbf = now */
    long ttl_s;            /* exp = now + ttl_s; 1..SGN_JWT_TTL_MAX_S */
    const char *requester; /* for the audit log */
    /* base64url SHA-256 of the caller's mTLS client certificate (DER): adds the confirmation
     * claim cnf {"x5t#S256": ...} of RFC 8705 §3.1; NULL = none */
    const char *x5t_s256;
    /* More claims (a JSON object, borrowed; NULL = none), added after the registered ones; a
     * member named as a claim this function sets (iss, sub, aud, exp, nbf, iat, jti, cnf) is
     * refused with HS_ERR_INPUT_FIELD. Its members gain references during the call (json-c's
     * counts are not atomic): no other thread may use the object meanwhile. */
    json_object *extra;
};

/* Whether name is a claim sgn_jwt_sign() sets itself (RFC 7519 §4.1: iss, sub, aud, exp, nbf,
 * iat, jti; RFC 7800 §3.1: cnf), which extra claims may not name. */
bool sgn_jwt_claim_reserved(const char *name);

/* Signs a JWT with header {alg, typ "JWT", kid} and claims {iss, sub, aud, iat, nbf, exp,
 * jti (128 random bits), cnf when c->x5t_s256 is set, then c->extra's members} and writes
 * the compact form into out, which must be empty (HS_ERR_INTERNAL otherwise) and is left empty
 * on failure. Header and claims are the bytes json-c prints for objects of these members
 * (hs_json's writer; the extra members' values printed by json-c). Writes the jti into jti_out. Emits one audit event, "sign.jwt.issued" (caller, kid, aud,
 * jti, SHA-256 of the signing input) or "sign.jwt.failed". Errors: HS_ERR_INPUT_FIELD /
 * HS_ERR_INPUT_RANGE / HS_ERR_INPUT_TOO_LARGE for bad claims, HS_ERR_HSM_*, HS_ERR_CRYPTO,
 * HS_ERR_BOUNDS. */
HS_RESULT sgn_jwt_sign(const struct sgn_jwt_key *k, const struct sgn_jwt_claims *c,
                       struct hs_buf *out, char jti_out[SGN_JTI_LEN + 1]);

#endif /* SGN_JWT_H */
