#include "authorizer/au_jwks.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "authorizer/au_config.h"
#include "authorizer/au_json.h"
#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"

#define AU_JWK_PARAM_MAX 1024 /* bytes of one decoded key parameter (an 8192-bit modulus) */
#define AU_RSA_BITS_MIN 2048
#define AU_RSA_BITS_MAX 8192

HS_DEFINE_FREEP(au_bld_freep, OSSL_PARAM_BLD, OSSL_PARAM_BLD_free)

void au_jwks_free(struct au_jwks *set)
{
    if (set != NULL) {
        for (size_t i = 0; i < set->n; i++) {
            EVP_PKEY_free(set->keys[i].pkey);
        }
        OPENSSL_free(set);
    }
}

void au_jwks_freep(struct au_jwks **set)
{
    au_jwks_free(*set);
}

/* Decodes the base64url member key of jwk into a new buffer; *out NULL when absent. */
static HS_RESULT au_jwk_bytes(json_object *jwk, const char *key, bool required, struct hs_buf **out)
{
    const char *s = NULL;
    HS_GUARD(hs_json_get_string(jwk, key, required, AU_JWK_PARAM_MAX * 2, &s));
    *out = NULL;
    if (s == NULL) {
        return HS_OK;
    }
    HS_DEFER(struct hs_buf *b = hs_buf_new(AU_JWK_PARAM_MAX), hs_buf_freep);
    HS_ENSURE(b != NULL, HS_ERR_NOMEM);
    hs_result r = au_b64url_decode(s, strlen(s), b);
    HS_ENSURE_MSG(!hs_failed(r), HS_ERR_INPUT_KEY, "jwk \"%s\": not base64url", key);
    *out = b;
    b = NULL;
    return HS_OK;
}

static HS_RESULT au_pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
    HS_DEFER(OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld), hs_ossl_param_freep);
    HS_ENSURE(params != NULL, HS_ERR_NOMEM);
    HS_DEFER(EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL),
             hs_evp_pkey_ctx_freep);
    HS_ENSURE(ctx != NULL, HS_ERR_CRYPTO);
    HS_GUARD_OSSL(EVP_PKEY_fromdata_init(ctx), HS_ERR_CRYPTO);
    EVP_PKEY *pkey = NULL;
    HS_GUARD_OSSL(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), HS_ERR_INPUT_KEY);
    *out = pkey;
    return HS_OK;
}

static HS_RESULT au_jwk_ec(json_object *jwk, const char *crv, struct au_jwk *k)
{
    bool p256 = strcmp(crv, "P-256") == 0;
    size_t size = p256 ? 32 : 48;
    HS_DEFER(struct hs_buf *x = NULL, hs_buf_freep);
    HS_DEFER(struct hs_buf *y = NULL, hs_buf_freep);
    HS_GUARD(au_jwk_bytes(jwk, "x", true, &x));
    HS_GUARD(au_jwk_bytes(jwk, "y", true, &y));
    HS_ENSURE_MSG(hs_buf_len(x) == size && hs_buf_len(y) == size, HS_ERR_INPUT_KEY,
                  "jwk %s: x and y must be %zu bytes (RFC 7518 §6.2.1.2)", crv, size);
    unsigned char point[1 + 2 * 48];
    point[0] = 0x04;
    memcpy(point + 1, hs_buf_data(x), size);
    memcpy(point + 1 + size, hs_buf_data(y), size);
    HS_DEFER(OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new(), au_bld_freep);
    HS_ENSURE(bld != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                                  p256 ? "prime256v1" : "secp384r1", 0),
                  HS_ERR_NOMEM);
    HS_GUARD_OSSL(
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * size),
        HS_ERR_NOMEM);
    HS_GUARD(au_pkey_fromdata("EC", bld, &k->pkey));
    /* fromdata does not check that the point is on the curve. */
    HS_DEFER(EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL),
             hs_evp_pkey_ctx_freep);
    HS_ENSURE(chk != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(EVP_PKEY_public_check(chk), HS_ERR_INPUT_KEY);
    k->algs = p256 ? AU_ALG_ES256 : AU_ALG_ES384;
    return HS_OK;
}

static HS_RESULT au_jwk_rsa(json_object *jwk, struct au_jwk *k)
{
    HS_DEFER(struct hs_buf *n = NULL, hs_buf_freep);
    HS_DEFER(struct hs_buf *e = NULL, hs_buf_freep);
    HS_GUARD(au_jwk_bytes(jwk, "n", true, &n));
    HS_GUARD(au_jwk_bytes(jwk, "e", true, &e));
    HS_ENSURE_MSG(hs_buf_len(e) >= 1 && hs_buf_len(e) <= 8, HS_ERR_INPUT_KEY, "jwk RSA: bad e");
    HS_DEFER(BIGNUM *bn = BN_bin2bn(hs_buf_data(n), (int)hs_buf_len(n), NULL), hs_bn_freep);
    HS_DEFER(BIGNUM *be = BN_bin2bn(hs_buf_data(e), (int)hs_buf_len(e), NULL), hs_bn_freep);
    HS_ENSURE(bn != NULL && be != NULL, HS_ERR_NOMEM);
    int bits = BN_num_bits(bn);
    HS_ENSURE_MSG(bits >= AU_RSA_BITS_MIN && bits <= AU_RSA_BITS_MAX, HS_ERR_INPUT_KEY,
                  "jwk RSA: %d-bit modulus (2048 to 8192 accepted)", bits);
    HS_ENSURE_MSG(BN_is_odd(be) && BN_num_bits(be) >= 2, HS_ERR_INPUT_KEY, "jwk RSA: bad e");
    HS_DEFER(OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new(), au_bld_freep);
    HS_ENSURE(bld != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn), HS_ERR_NOMEM);
    HS_GUARD_OSSL(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be), HS_ERR_NOMEM);
    HS_GUARD(au_pkey_fromdata("RSA", bld, &k->pkey));
    k->algs = AU_ALG_RS256 | AU_ALG_PS256;
    return HS_OK;
}

static HS_RESULT au_jwk_okp(json_object *jwk, struct au_jwk *k)
{
    HS_DEFER(struct hs_buf *x = NULL, hs_buf_freep);
    HS_GUARD(au_jwk_bytes(jwk, "x", true, &x));
    HS_ENSURE_MSG(hs_buf_len(x) == 32, HS_ERR_INPUT_KEY, "jwk Ed25519: x must be 32 bytes");
    HS_DEFER(OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new(), au_bld_freep);
    HS_ENSURE(bld != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, hs_buf_data(x), 32),
        HS_ERR_NOMEM);
    HS_GUARD(au_pkey_fromdata("ED25519", bld, &k->pkey));
    k->algs = AU_ALG_EDDSA;
    return HS_OK;
}

/* True when the key is meant for verifying signatures ("use" and "key_ops", RFC 7517 §4.2-3). */
static bool au_jwk_for_signatures(json_object *jwk)
{
    json_object *v = NULL;
    if (json_object_object_get_ex(jwk, "use", &v) &&
        (!json_object_is_type(v, json_type_string) ||
         strcmp(json_object_get_string(v), "sig") != 0)) {
        return false;
    }
    if (!json_object_object_get_ex(jwk, "key_ops", &v)) {
        return true;
    }
    size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *op = json_object_array_get_idx(v, i);
        if (json_object_is_type(op, json_type_string) &&
            strcmp(json_object_get_string(op), "verify") == 0) {
            return true;
        }
    }
    return false;
}

/* One key into k; *used false when it is left out. */
static HS_RESULT au_jwk_parse(json_object *jwk, struct au_jwk *k, bool *used)
{
    *used = false;
    HS_ENSURE_MSG(json_object_is_type(jwk, json_type_object), HS_ERR_INPUT_FIELD,
                  "keys: a key is not an object");
    const char *kty = NULL;
    const char *crv = NULL;
    const char *kid = NULL;
    const char *alg = NULL;
    HS_GUARD(hs_json_get_string(jwk, "kty", true, 16, &kty));
    HS_GUARD(hs_json_get_string(jwk, "crv", false, 16, &crv));
    HS_GUARD(hs_json_get_string(jwk, "kid", false, AU_KID_MAX, &kid));
    HS_GUARD(hs_json_get_string(jwk, "alg", false, 16, &alg));
    if (kid == NULL || !au_jwk_for_signatures(jwk)) {
        return HS_OK;
    }
    if (strcmp(kty, "EC") == 0 && crv != NULL &&
        (strcmp(crv, "P-256") == 0 || strcmp(crv, "P-384") == 0)) {
        HS_GUARD(au_jwk_ec(jwk, crv, k));
    } else if (strcmp(kty, "RSA") == 0 && crv == NULL) {
        HS_GUARD(au_jwk_rsa(jwk, k));
    } else if (strcmp(kty, "OKP") == 0 && crv != NULL && strcmp(crv, "Ed25519") == 0) {
        HS_GUARD(au_jwk_okp(jwk, k));
    } else {
        return HS_OK;
    }
    if (alg != NULL) {
        /* An "alg" the key's type cannot do leaves the key usable for nothing. */
        k->algs &= au_alg_from_name(alg);
    }
    memcpy(k->kid, kid, strlen(kid) + 1);
    *used = true;
    return HS_OK;
}

HS_RESULT au_jwks_parse(const char *text, size_t len, struct au_jwks **out)
{
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    HS_GUARD(au_json_parse(text, len, AU_JWKS_MAX, &doc));
    json_object *keys = NULL;
    HS_GUARD(hs_json_get_typed(doc, "keys", true, json_type_array, &keys));
    size_t n = json_object_array_length(keys);
    HS_ENSURE_MSG(n <= AU_JWKS_KEYS_MAX, HS_ERR_INPUT_TOO_LARGE, "jwks: over %d keys",
                  AU_JWKS_KEYS_MAX);
    HS_DEFER(struct au_jwks *set = OPENSSL_zalloc(sizeof(*set)), au_jwks_freep);
    HS_ENSURE(set != NULL, HS_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        bool used = false;
        struct au_jwk *k = &set->keys[set->n];
        hs_result r = au_jwk_parse(json_object_array_get_idx(keys, i), k, &used);
        if (hs_failed(r)) {
            EVP_PKEY_free(k->pkey);
            memset(k, 0, sizeof(*k));
            return r;
        }
        if (used) {
            set->n++;
        } else {
            set->skipped++;
        }
    }
    *out = set;
    set = NULL;
    return HS_OK;
}

enum au_jwks_find au_jwks_find(const struct au_jwks *set, const char *kid, unsigned int alg,
                               EVP_PKEY **out)
{
    enum au_jwks_find found = AU_JWKS_NO_KID;
    for (size_t i = 0; set != NULL && kid != NULL && i < set->n; i++) {
        if (strcmp(set->keys[i].kid, kid) != 0) {
            continue;
        }
        if ((set->keys[i].algs & alg) != 0) {
            *out = set->keys[i].pkey;
            return AU_JWKS_FOUND;
        }
        found = AU_JWKS_MISMATCH;
    }
    return found;
}
