#include "signer/sgn_spki.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include "common/hs_defer.h"

ASN1_SEQUENCE(SGN_SPKI_DER) =
    {
        ASN1_SIMPLE(SGN_SPKI_DER, algor, X509_ALGOR),
        ASN1_SIMPLE(SGN_SPKI_DER, public_key, ASN1_BIT_STRING),
} ASN1_SEQUENCE_END(SGN_SPKI_DER)

    /* RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 A.1.1). */
    typedef struct sgn_rsa_pub_st {
    BIGNUM *n;
    BIGNUM *e;
} SGN_RSA_PUB;

ASN1_SEQUENCE(SGN_RSA_PUB) =
    {
        ASN1_SIMPLE(SGN_RSA_PUB, n, BIGNUM),
        ASN1_SIMPLE(SGN_RSA_PUB, e, BIGNUM),
} static_ASN1_SEQUENCE_END(SGN_RSA_PUB)

#define SGN_RSA_BITS_MAX 16384

        static void sgn_rsa_pub_freep(SGN_RSA_PUB * *p)
{
    ASN1_item_free((ASN1_VALUE *)*p, ASN1_ITEM_rptr(SGN_RSA_PUB));
}

void sgn_spki_view(const SGN_SPKI_DER *der, struct sgn_spki *out)
{
    out->alg = der->algor;
    out->key = ASN1_STRING_get0_data(der->public_key);
    out->key_len = (size_t)ASN1_STRING_length(der->public_key);
}

/* Decodes the RSAPublicKey and re-encodes it: only DER passes (OpenSSL's BIGNUM type reads an
 * INTEGER's bytes as unsigned and tolerates leading zeros, so a negative or padded INTEGER
 * re-encodes differently). */
static HS_RESULT sgn_rsa_pub_parse(const struct sgn_spki *spki, SGN_RSA_PUB **out)
{
    const unsigned char *p = spki->key;
    SGN_RSA_PUB *rsa =
        (SGN_RSA_PUB *)ASN1_item_d2i(NULL, &p, (long)spki->key_len, ASN1_ITEM_rptr(SGN_RSA_PUB));
    ERR_clear_error();
    HS_DEFER(SGN_RSA_PUB *owned = rsa, sgn_rsa_pub_freep);
    HS_ENSURE_MSG(rsa != NULL && p == spki->key + spki->key_len, HS_ERR_INPUT_KEY,
                  "malformed RSAPublicKey");
    HS_DEFER(unsigned char *enc = NULL, hs_ossl_freep);
    int len = ASN1_item_i2d((const ASN1_VALUE *)rsa, &enc, ASN1_ITEM_rptr(SGN_RSA_PUB));
    HS_ENSURE_MSG(
        len > 0 && (size_t)len == spki->key_len && memcmp(enc, spki->key, spki->key_len) == 0,
        HS_ERR_INPUT_KEY,
        "RSAPublicKey is not DER (a padded or negative INTEGER, or a non-minimal length)");
    HS_ENSURE_MSG(BN_is_odd(rsa->n) && BN_is_odd(rsa->e) && !BN_is_one(rsa->e) &&
                      BN_num_bits(rsa->n) <= SGN_RSA_BITS_MAX,
                  HS_ERR_INPUT_KEY, "RSA modulus or exponent not acceptable");
    *out = rsa;
    owned = NULL;
    return HS_OK;
}

void sgn_rsa_exponents_default(struct sgn_rsa_exponents *out)
{
    memset(out, 0, sizeof(*out));
    /* 65537 = 0x010001 */
    out->min[SGN_RSA_E_BYTES - 3] = 0x01;
    out->min[SGN_RSA_E_BYTES - 1] = 0x01;
    memcpy(out->max, out->min, sizeof(out->max));
}

HS_RESULT sgn_spki_rsa_exponent_check(const struct sgn_spki *spki,
                                      const struct sgn_rsa_exponents *range)
{
    HS_ENSURE_REF(spki);
    struct sgn_rsa_exponents dflt;
    sgn_rsa_exponents_default(&dflt);
    const struct sgn_rsa_exponents *r = range != NULL ? range : &dflt;
    HS_DEFER(SGN_RSA_PUB *rsa = NULL, sgn_rsa_pub_freep);
    HS_GUARD(sgn_rsa_pub_parse(spki, &rsa));
    unsigned char e[SGN_RSA_E_BYTES];
    /* BN_bn2binpad fails for an exponent of 2^256 or more: outside any range. */
    bool fits = BN_bn2binpad(rsa->e, e, sizeof(e)) == (int)sizeof(e);
    ERR_clear_error();
    if (fits && memcmp(e, r->min, sizeof(e)) >= 0 && memcmp(e, r->max, sizeof(e)) <= 0) {
        return HS_OK;
    }
    /* The detail names a small exponent, and a large one by its size. */
    int bits = BN_num_bits(rsa->e);
    unsigned long long word = bits <= 64 ? (unsigned long long)BN_get_word(rsa->e) : 0;
    /* The default range (a profile that configured none) is 65537 alone. */
    if (memcmp(r->min, dflt.min, sizeof(e)) == 0 && memcmp(r->max, dflt.max, sizeof(e)) == 0) {
        HS_ENSURE_MSG(bits > 64, HS_ERR_INPUT_KEY, "RSA public exponent must be 65537, not %llu",
                      word);
        HS_BAIL_MSG(HS_ERR_INPUT_KEY, "RSA public exponent must be 65537, not a %d-bit number",
                    bits);
    }
    HS_ENSURE_MSG(bits > 64, HS_ERR_INPUT_KEY,
                  "RSA public exponent %llu is outside the profile's rsa_public_exponents", word);
    HS_BAIL_MSG(HS_ERR_INPUT_KEY,
                "RSA public exponent of %d bits is outside the profile's rsa_public_exponents",
                bits);
}

static HS_RESULT sgn_spki_classify_ec(const struct sgn_spki *spki, int ptype, const void *pval,
                                      struct sgn_spki_info *out)
{
    HS_ENSURE_MSG(ptype == V_ASN1_OBJECT, HS_ERR_INPUT_KEY,
                  "EC key without a named curve (RFC 5480 §2.1.1)");
    int curve = OBJ_obj2nid(pval);
    size_t coord = curve == NID_X9_62_prime256v1 ? 32 : (curve == NID_secp384r1 ? 48 : 0);
    HS_ENSURE_MSG(coord != 0, HS_ERR_INPUT_KEY, "EC curve not accepted (P-256, P-384)");
    bool uncompressed = spki->key_len == 1 + 2 * coord && spki->key[0] == 0x04;
    bool compressed = spki->key_len == 1 + coord && (spki->key[0] == 0x02 || spki->key[0] == 0x03);
    HS_ENSURE_MSG(uncompressed || compressed, HS_ERR_INPUT_KEY, "malformed EC point");
    out->kind = coord == 32 ? SGN_KEY_EC_P256 : SGN_KEY_EC_P384;
    out->bits = (int)coord * 8;
    return HS_OK;
}

HS_RESULT sgn_spki_classify(const struct sgn_spki *spki, struct sgn_spki_info *out)
{
    HS_ENSURE_REF(spki);
    HS_ENSURE_REF(spki->alg);
    HS_ENSURE_MSG(spki->key != NULL && spki->key_len > 0, HS_ERR_INPUT_KEY, "empty public key");
    const ASN1_OBJECT *obj = NULL;
    int ptype = V_ASN1_UNDEF;
    const void *pval = NULL;
    X509_ALGOR_get0(&obj, &ptype, &pval, spki->alg);
    switch (OBJ_obj2nid(obj)) {
    case NID_rsaEncryption: {
        HS_ENSURE_MSG(ptype == V_ASN1_NULL || ptype == V_ASN1_UNDEF, HS_ERR_INPUT_KEY,
                      "rsaEncryption with parameters");
        HS_DEFER(SGN_RSA_PUB *rsa = NULL, sgn_rsa_pub_freep);
        HS_GUARD(sgn_rsa_pub_parse(spki, &rsa));
        out->kind = SGN_KEY_RSA;
        out->bits = BN_num_bits(rsa->n);
        return HS_OK;
    }
    case NID_X9_62_id_ecPublicKey:
        return sgn_spki_classify_ec(spki, ptype, pval, out);
    case NID_ED25519:
        HS_ENSURE_MSG(ptype == V_ASN1_UNDEF && spki->key_len == 32, HS_ERR_INPUT_KEY,
                      "malformed Ed25519 key (RFC 8410 §4)");
        out->kind = SGN_KEY_ED25519;
        out->bits = 256;
        return HS_OK;
    default:
        HS_BAIL_MSG(HS_ERR_INPUT_KEY, "key algorithm not accepted (RSA, EC P-256/P-384, Ed25519)");
    }
}

static void sgn_param_bld_freep(OSSL_PARAM_BLD **p)
{
    OSSL_PARAM_BLD_free(*p);
}

static void sgn_params_freep(OSSL_PARAM **p)
{
    OSSL_PARAM_free(*p);
}

static HS_RESULT sgn_spki_params(const struct sgn_spki *spki, const struct sgn_spki_info *info,
                                 OSSL_PARAM **out)
{
    HS_DEFER(OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new(), sgn_param_bld_freep);
    HS_ENSURE(bld != NULL, HS_ERR_NOMEM);
    HS_DEFER(SGN_RSA_PUB *rsa = NULL, sgn_rsa_pub_freep);
    switch (info->kind) {
    case SGN_KEY_RSA:
        HS_GUARD(sgn_rsa_pub_parse(spki, &rsa));
        HS_GUARD_OSSL(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, rsa->n), HS_ERR_NOMEM);
        HS_GUARD_OSSL(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, rsa->e), HS_ERR_NOMEM);
        break;
    case SGN_KEY_EC_P256:
    case SGN_KEY_EC_P384:
        HS_GUARD_OSSL(OSSL_PARAM_BLD_push_utf8_string(
                          bld, OSSL_PKEY_PARAM_GROUP_NAME,
                          info->kind == SGN_KEY_EC_P256 ? "prime256v1" : "secp384r1", 0),
                      HS_ERR_NOMEM);
        /* The point, like the Ed25519 key, is the BIT STRING's bytes. */
        __attribute__((fallthrough));
    case SGN_KEY_ED25519:
        HS_GUARD_OSSL(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, spki->key,
                                                       spki->key_len),
                      HS_ERR_NOMEM);
        break;
    default:
        HS_BAIL(HS_ERR_INTERNAL);
    }
    *out = OSSL_PARAM_BLD_to_param(bld);
    HS_ENSURE(*out != NULL, HS_ERR_NOMEM);
    return HS_OK;
}

/* Domain parameters of P-256 and P-384, made once: a key copied from them and given its point
 * (EVP_PKEY_dup + EVP_PKEY_set1_encoded_public_key, ~5 µs) skips building the curve again,
 * which EVP_PKEY_fromdata does on every call (~20 µs, measured). Read-only once made. */
static EVP_PKEY *sgn_ec_params[2];
static pthread_once_t sgn_ec_params_once = PTHREAD_ONCE_INIT;

static EVP_PKEY *sgn_ec_params_new(const char *group)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
        OSSL_PARAM_construct_end()};
    EVP_PKEY *pkey = NULL;
    if (ctx == NULL || EVP_PKEY_paramgen_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_params(ctx, params) != 1 || EVP_PKEY_paramgen(ctx, &pkey) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return pkey;
}

static void sgn_ec_params_init(void)
{
    sgn_ec_params[0] = sgn_ec_params_new("prime256v1");
    sgn_ec_params[1] = sgn_ec_params_new("secp384r1");
}

static HS_RESULT sgn_spki_to_ec_pkey(const struct sgn_spki *spki, const struct sgn_spki_info *info,
                                     EVP_PKEY **out)
{
    pthread_once(&sgn_ec_params_once, sgn_ec_params_init);
    EVP_PKEY *params = sgn_ec_params[info->kind == SGN_KEY_EC_P256 ? 0 : 1];
    HS_ENSURE_MSG(params != NULL, HS_ERR_CRYPTO, "EC domain parameters unavailable");
    HS_DEFER(EVP_PKEY *pkey = EVP_PKEY_dup(params), hs_evp_pkey_freep);
    HS_ENSURE(pkey != NULL, HS_ERR_NOMEM);
    int ok = EVP_PKEY_set1_encoded_public_key(pkey, spki->key, spki->key_len);
    ERR_clear_error();
    HS_ENSURE_MSG(ok == 1, HS_ERR_INPUT_KEY, "the EC point is not on the curve");
    *out = pkey;
    pkey = NULL;
    return HS_OK;
}

HS_RESULT sgn_spki_to_pkey(const struct sgn_spki *spki, const struct sgn_spki_info *info,
                           EVP_PKEY **out)
{
    HS_ENSURE_REF(spki);
    HS_ENSURE_REF(info);
    if (info->kind == SGN_KEY_EC_P256 || info->kind == SGN_KEY_EC_P384) {
        return sgn_spki_to_ec_pkey(spki, info, out);
    }
    static const char *const names[] = {"RSA", "EC", "EC", "ED25519"};
    HS_DEFER(OSSL_PARAM *params = NULL, sgn_params_freep);
    HS_GUARD(sgn_spki_params(spki, info, &params));
    HS_DEFER(EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, names[info->kind], NULL),
             hs_evp_pkey_ctx_freep);
    HS_ENSURE(ctx != NULL, HS_ERR_NOMEM);
    EVP_PKEY *pkey = NULL;
    int ok = EVP_PKEY_fromdata_init(ctx) == 1 &&
             EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
    ERR_clear_error();
    HS_ENSURE_MSG(ok, HS_ERR_INPUT_KEY, "the public key does not import (a point off the curve?)");
    *out = pkey;
    return HS_OK;
}

HS_RESULT sgn_spki_set_x509(X509 *x, const struct sgn_spki *spki)
{
    HS_ENSURE_REF(x);
    HS_ENSURE_REF(spki);
    struct sgn_spki_info info;
    HS_GUARD(sgn_spki_classify(spki, &info));
    const ASN1_OBJECT *obj = NULL;
    int ptype = V_ASN1_UNDEF;
    const void *pval = NULL;
    X509_ALGOR_get0(&obj, &ptype, &pval, spki->alg);
    HS_ENSURE_MSG(ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL || ptype == V_ASN1_OBJECT,
                  HS_ERR_INPUT_KEY, "unexpected key algorithm parameters");
    ASN1_OBJECT *aobj = OBJ_dup(obj);
    ASN1_OBJECT *param = ptype == V_ASN1_OBJECT ? OBJ_dup(pval) : NULL;
    unsigned char *key = OPENSSL_memdup(spki->key, spki->key_len);
    X509_PUBKEY *pub = X509_get_X509_PUBKEY(x);
    if (aobj == NULL || (ptype == V_ASN1_OBJECT && param == NULL) || key == NULL ||
        !X509_PUBKEY_set0_param(pub, aobj, ptype, param, key, (int)spki->key_len)) {
        ASN1_OBJECT_free(aobj);
        ASN1_OBJECT_free(param);
        OPENSSL_free(key);
        HS_BAIL(HS_ERR_NOMEM);
    }
    return HS_OK;
}

HS_RESULT sgn_spki_of_x509(const X509 *x, struct sgn_spki *out)
{
    HS_ENSURE_REF(x);
    const unsigned char *key = NULL;
    int len = 0;
    X509_ALGOR *alg = NULL;
    HS_GUARD_OSSL(X509_PUBKEY_get0_param(NULL, &key, &len, &alg, X509_get_X509_PUBKEY(x)),
                  HS_ERR_CRYPTO);
    HS_ENSURE(alg != NULL && key != NULL && len > 0, HS_ERR_CRYPTO);
    *out = (struct sgn_spki){alg, key, (size_t)len};
    return HS_OK;
}

HS_RESULT sgn_spki_sha256(const struct sgn_spki *spki, unsigned char out[32])
{
    HS_ENSURE_REF(spki);
    /* A BIT STRING with no unused bits, exactly as a DER SPKI carries a key. */
    ASN1_BIT_STRING bits = {(int)spki->key_len, V_ASN1_BIT_STRING, (unsigned char *)spki->key,
                            ASN1_STRING_FLAG_BITS_LEFT};
    SGN_SPKI_DER der = {(X509_ALGOR *)spki->alg, &bits};
    HS_DEFER(unsigned char *enc = NULL, hs_ossl_freep);
    int len = ASN1_item_i2d((const ASN1_VALUE *)&der, &enc, ASN1_ITEM_rptr(SGN_SPKI_DER));
    HS_ENSURE(len > 0, HS_ERR_CRYPTO);
    HS_ENSURE(SHA256(enc, (size_t)len, out) != NULL, HS_ERR_CRYPTO);
    return HS_OK;
}
