#include "signer/sgn_jwt.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include "common/hs_defer.h"
#include "common/hs_digest.h"
#include "common/hs_json.h"
#include "common/hs_log.h"
#include "common/hs_rand.h"
#include "pkcs11/p11_sign.h"

#define SGN_JWK_COORD_MAX 66 /* bytes of an EC coordinate (P-521 bound; we use up to 48) */
#define SGN_JWK_MEMBER_MAX 1024
#define SGN_JWT_PART_MAX 2048

struct sgn_jwt_alg_entry {
    const char *name;
    enum p11_sig_alg alg;
};

static const struct sgn_jwt_alg_entry sgn_jwt_algs[] = {
    {"ES256", P11_SIG_ECDSA_SHA256},
    {"ES384", P11_SIG_ECDSA_SHA384},
    {"RS256", P11_SIG_RSA_PKCS1_SHA256},
    {"PS256", P11_SIG_RSA_PSS_SHA256},
    {"EdDSA", P11_SIG_EDDSA},
};

/* base64url of the JWS header {"alg":"ES256","typ":"JWT","kid":"<43>"}: at most 4/3 of ~70 */
#define SGN_JWT_HEADER_B64_MAX 128

struct sgn_jwt_key {
    struct p11_key *key;
    const char *alg; /* static name from sgn_jwt_algs */
    enum p11_sig_alg sig_alg;
    char kid[SGN_KID_LEN + 1];
    /* The header is the same for every token of the key: encoded once, in sgn_jwt_key_new. */
    char header_b64[SGN_JWT_HEADER_B64_MAX];
    size_t header_b64_len;
};

/* --- JWK ----------------------------------------------------------------------------------- */

/* The JWK members that define the key, base64url-encoded (RFC 7518 §6.2.1, §6.3.1; RFC 8037
 * §2). crv is a static string or NULL (RSA). */
struct sgn_jwk_members {
    const char *kty;
    const char *crv;
    struct hs_buf *a; /* EC/OKP: x; RSA: n */
    struct hs_buf *b; /* EC: y; RSA: e; OKP: empty */
};

static void sgn_jwk_members_clear(struct sgn_jwk_members *m)
{
    hs_buf_free(m->a);
    hs_buf_free(m->b);
}

static HS_RESULT sgn_put_bn_b64url(EVP_PKEY *pub, const char *param, int pad, struct hs_buf *out)
{
    HS_DEFER(BIGNUM *bn = NULL, hs_bn_freep);
    HS_GUARD_OSSL(EVP_PKEY_get_bn_param(pub, param, &bn), HS_ERR_CRYPTO);
    unsigned char raw[SGN_JWK_MEMBER_MAX];
    int n = pad > 0 ? BN_bn2binpad(bn, raw, pad) : BN_bn2bin(bn, raw);
    HS_ENSURE(n > 0 && BN_num_bytes(bn) <= (int)sizeof(raw), HS_ERR_CRYPTO);
    return hs_buf_put_b64url(out, raw, (size_t)n);
}

static HS_RESULT sgn_jwk_members_get(EVP_PKEY *pub, struct sgn_jwk_members *m)
{
    m->a = hs_buf_new(SGN_JWK_MEMBER_MAX);
    m->b = hs_buf_new(SGN_JWK_MEMBER_MAX);
    HS_ENSURE(m->a != NULL && m->b != NULL, HS_ERR_NOMEM);
    if (EVP_PKEY_is_a(pub, "RSA")) {
        m->kty = "RSA";
        /* RFC 7518 §6.3.1: unsigned big-endian, no leading zero octets. */
        HS_GUARD(sgn_put_bn_b64url(pub, OSSL_PKEY_PARAM_RSA_N, 0, m->a));
        return sgn_put_bn_b64url(pub, OSSL_PKEY_PARAM_RSA_E, 0, m->b);
    }
    if (EVP_PKEY_is_a(pub, "ED25519")) {
        m->kty = "OKP";
        m->crv = "Ed25519";
        unsigned char raw[32];
        size_t n = sizeof(raw);
        HS_GUARD_OSSL(EVP_PKEY_get_raw_public_key(pub, raw, &n), HS_ERR_CRYPTO);
        return hs_buf_put_b64url(m->a, raw, n);
    }
    HS_ENSURE_MSG(EVP_PKEY_is_a(pub, "EC"), HS_ERR_INPUT_KEY, "key type has no JWK form here");
    int bits = EVP_PKEY_get_bits(pub);
    HS_ENSURE_MSG(bits == 256 || bits == 384, HS_ERR_INPUT_KEY, "EC curve not supported");
    m->kty = "EC";
    m->crv = bits == 256 ? "P-256" : "P-384";
    /* RFC 7518 §6.2.1.2: coordinates are padded to the full field size. */
    HS_GUARD(sgn_put_bn_b64url(pub, OSSL_PKEY_PARAM_EC_PUB_X, bits / 8, m->a));
    return sgn_put_bn_b64url(pub, OSSL_PKEY_PARAM_EC_PUB_Y, bits / 8, m->b);
}

static HS_RESULT sgn_put_member(struct hs_buf *b, const char *name, const struct hs_buf *v,
                                const char *s, bool comma)
{
    HS_GUARD(hs_buf_put_str(b, comma ? ",\"" : "\""));
    HS_GUARD(hs_buf_put_str(b, name));
    HS_GUARD(hs_buf_put_str(b, "\":\""));
    HS_GUARD(v != NULL ? hs_buf_put(b, hs_buf_data(v), hs_buf_len(v)) : hs_buf_put_str(b, s));
    return hs_buf_put_byte(b, '"');
}

/* RFC 7638 §3.2: only the required members, in lexicographic order, no whitespace. The values
 * are base64url or fixed names, so no JSON escaping is needed. */
static HS_RESULT sgn_thumbprint_input(const struct sgn_jwk_members *m, struct hs_buf *json)
{
    HS_GUARD(hs_buf_put_byte(json, '{'));
    if (strcmp(m->kty, "RSA") == 0) {
        HS_GUARD(sgn_put_member(json, "e", m->b, NULL, false));
        HS_GUARD(sgn_put_member(json, "kty", NULL, "RSA", true));
        HS_GUARD(sgn_put_member(json, "n", m->a, NULL, true));
    } else {
        HS_GUARD(sgn_put_member(json, "crv", NULL, m->crv, false));
        HS_GUARD(sgn_put_member(json, "kty", NULL, m->kty, true));
        HS_GUARD(sgn_put_member(json, "x", m->a, NULL, true));
        if (strcmp(m->kty, "EC") == 0) {
            HS_GUARD(sgn_put_member(json, "y", m->b, NULL, true));
        }
    }
    return hs_buf_put_byte(json, '}');
}

HS_RESULT sgn_jwk_thumbprint(EVP_PKEY *pub, char out[SGN_KID_LEN + 1])
{
    HS_ENSURE_REF(pub);
    HS_DEFER(struct sgn_jwk_members m = {0}, sgn_jwk_members_clear);
    HS_GUARD(sgn_jwk_members_get(pub, &m));
    HS_DEFER(struct hs_buf *json = hs_buf_new(4 * SGN_JWK_MEMBER_MAX), hs_buf_freep);
    HS_ENSURE(json != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_thumbprint_input(&m, json));
    unsigned char digest[SHA256_DIGEST_LENGTH];
    HS_ENSURE(SHA256(hs_buf_data(json), hs_buf_len(json), digest) != NULL, HS_ERR_CRYPTO);
    HS_DEFER(struct hs_buf *kid = hs_buf_new(SGN_KID_LEN + 1), hs_buf_freep);
    HS_ENSURE(kid != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put_b64url(kid, digest, sizeof(digest)));
    HS_ENSURE(hs_buf_len(kid) == SGN_KID_LEN, HS_ERR_INTERNAL);
    memcpy(out, hs_buf_data(kid), SGN_KID_LEN);
    out[SGN_KID_LEN] = '\0';
    return HS_OK;
}

static HS_RESULT sgn_json_add_buf(json_object *obj, const char *key, const struct hs_buf *v)
{
    json_object *s = json_object_new_string_len((const char *)hs_buf_data(v), (int)hs_buf_len(v));
    HS_ENSURE(s != NULL, HS_ERR_NOMEM);
    HS_ENSURE(json_object_object_add(obj, key, s) == 0, HS_ERR_NOMEM);
    return HS_OK;
}

static HS_RESULT sgn_json_add_str(json_object *obj, const char *key, const char *v)
{
    json_object *s = json_object_new_string(v);
    HS_ENSURE(s != NULL, HS_ERR_NOMEM);
    HS_ENSURE(json_object_object_add(obj, key, s) == 0, HS_ERR_NOMEM);
    return HS_OK;
}

static HS_RESULT sgn_jwk_fill(json_object *jwk, const struct sgn_jwk_members *m, const char *alg,
                              const char *kid)
{
    HS_GUARD(sgn_json_add_str(jwk, "kty", m->kty));
    HS_GUARD(sgn_json_add_str(jwk, "use", "sig"));
    HS_GUARD(sgn_json_add_str(jwk, "alg", alg));
    HS_GUARD(sgn_json_add_str(jwk, "kid", kid));
    if (strcmp(m->kty, "RSA") == 0) {
        HS_GUARD(sgn_json_add_buf(jwk, "n", m->a));
        return sgn_json_add_buf(jwk, "e", m->b);
    }
    HS_GUARD(sgn_json_add_str(jwk, "crv", m->crv));
    HS_GUARD(sgn_json_add_buf(jwk, "x", m->a));
    if (strcmp(m->kty, "EC") == 0) {
        HS_GUARD(sgn_json_add_buf(jwk, "y", m->b));
    }
    return HS_OK;
}

HS_RESULT sgn_jwk_new(EVP_PKEY *pub, const char *alg, json_object **out)
{
    HS_ENSURE_REF(pub);
    HS_ENSURE_REF(alg);
    char kid[SGN_KID_LEN + 1];
    HS_GUARD(sgn_jwk_thumbprint(pub, kid));
    HS_DEFER(struct sgn_jwk_members m = {0}, sgn_jwk_members_clear);
    HS_GUARD(sgn_jwk_members_get(pub, &m));
    HS_DEFER(json_object *jwk = json_object_new_object(), hs_json_putp);
    HS_ENSURE(jwk != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_jwk_fill(jwk, &m, alg, kid));
    *out = jwk;
    jwk = NULL;
    return HS_OK;
}

HS_RESULT sgn_jwks_json(struct sgn_jwt_key *const *keys, size_t n, char **out)
{
    HS_DEFER(json_object *doc = json_object_new_object(), hs_json_putp);
    json_object *list = json_object_new_array();
    HS_ENSURE(doc != NULL && list != NULL && json_object_object_add(doc, "keys", list) == 0,
              HS_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        json_object *jwk = NULL;
        HS_GUARD(sgn_jwk_new(p11_key_get0_public(keys[i]->key), keys[i]->alg, &jwk));
        if (json_object_array_add(list, jwk) != 0) {
            json_object_put(jwk);
            HS_BAIL(HS_ERR_NOMEM);
        }
    }
    HS_DEFER(char *text = NULL, hs_free_strp);
    HS_GUARD(hs_json_to_string(doc, &text));
    HS_ENSURE(strlen(text) <= SGN_JWKS_MAX, HS_ERR_BOUNDS);
    *out = text;
    text = NULL;
    return HS_OK;
}

/* --- reading a JWK Set back ---------------------------------------------------------------- */

/* Decodes an unpadded base64url member into out (at most max bytes). */
static HS_RESULT sgn_b64url_member(json_object *jwk, const char *key, unsigned char *out,
                                   size_t max, size_t *out_len)
{
    const char *v = NULL;
    HS_GUARD(hs_json_get_string(jwk, key, true, 2 * SGN_JWK_MEMBER_MAX, &v));
    size_t n = strlen(v);
    char tmp[2 * SGN_JWK_MEMBER_MAX + 4];
    HS_ENSURE(n + 3 < sizeof(tmp), HS_ERR_INPUT_TOO_LARGE);
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        HS_ENSURE_MSG(ok, HS_ERR_INPUT_FIELD, "member \"%s\" is not base64url", key);
        if (c == '-') {
            c = '+';
        } else if (c == '_') {
            c = '/';
        }
        tmp[i] = c;
    }
    size_t pad = (4 - n % 4) % 4;
    HS_ENSURE_MSG(pad < 3, HS_ERR_INPUT_FIELD, "member \"%s\" has a bad length", key);
    memset(tmp + n, '=', pad);
    unsigned char raw[2 * SGN_JWK_MEMBER_MAX];
    int got = EVP_DecodeBlock(raw, (const unsigned char *)tmp, (int)(n + pad));
    HS_ENSURE_MSG(got >= 0 && (size_t)got >= pad && (size_t)got - pad <= max, HS_ERR_INPUT_FIELD,
                  "member \"%s\" does not decode", key);
    memcpy(out, raw, (size_t)got - pad);
    *out_len = (size_t)got - pad;
    return HS_OK;
}

static HS_RESULT sgn_pkey_from_params(const char *alg, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
    HS_DEFER(OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld), hs_ossl_param_freep);
    HS_DEFER(EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL),
             hs_evp_pkey_ctx_freep);
    HS_ENSURE(params != NULL && ctx != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(EVP_PKEY_fromdata_init(ctx), HS_ERR_CRYPTO);
    HS_GUARD_OSSL(EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params), HS_ERR_INPUT_FIELD);
    return HS_OK;
}

HS_DEFINE_FREEP(sgn_param_bld_freep, OSSL_PARAM_BLD, OSSL_PARAM_BLD_free)

static HS_RESULT sgn_jwk_ec(json_object *jwk, EVP_PKEY **out)
{
    const char *crv = NULL;
    HS_GUARD(hs_json_get_string(jwk, "crv", true, 16, &crv));
    bool p256 = strcmp(crv, "P-256") == 0;
    HS_ENSURE_MSG(p256 || strcmp(crv, "P-384") == 0, HS_ERR_INPUT_FIELD, "unsupported crv");
    size_t coord = p256 ? 32 : 48;
    unsigned char point[1 + 2 * 48] = {0x04};
    size_t nx = 0;
    size_t ny = 0;
    HS_GUARD(sgn_b64url_member(jwk, "x", point + 1, coord, &nx));
    HS_GUARD(sgn_b64url_member(jwk, "y", point + 1 + coord, coord, &ny));
    HS_ENSURE_MSG(nx == coord && ny == coord, HS_ERR_INPUT_FIELD,
                  "EC coordinates must have the full field length");
    HS_DEFER(OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new(), sgn_param_bld_freep);
    HS_ENSURE(bld != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, crv, 0),
                  HS_ERR_CRYPTO);
    HS_GUARD_OSSL(
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * coord),
        HS_ERR_CRYPTO);
    return sgn_pkey_from_params("EC", bld, out);
}

static HS_RESULT sgn_jwk_rsa(json_object *jwk, EVP_PKEY **out)
{
    unsigned char n[SGN_JWK_MEMBER_MAX];
    unsigned char e[16];
    size_t nlen = 0;
    size_t elen = 0;
    HS_GUARD(sgn_b64url_member(jwk, "n", n, sizeof(n), &nlen));
    HS_GUARD(sgn_b64url_member(jwk, "e", e, sizeof(e), &elen));
    HS_DEFER(BIGNUM *bn_n = BN_bin2bn(n, (int)nlen, NULL), hs_bn_freep);
    HS_DEFER(BIGNUM *bn_e = BN_bin2bn(e, (int)elen, NULL), hs_bn_freep);
    HS_DEFER(OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new(), sgn_param_bld_freep);
    HS_ENSURE(bn_n != NULL && bn_e != NULL && bld != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n), HS_ERR_CRYPTO);
    HS_GUARD_OSSL(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e), HS_ERR_CRYPTO);
    HS_GUARD(sgn_pkey_from_params("RSA", bld, out));
    HS_ENSURE_MSG(EVP_PKEY_get_bits(*out) >= 2048, HS_ERR_INPUT_FIELD, "RSA key below 2048 bits");
    return HS_OK;
}

static HS_RESULT sgn_jwk_okp(json_object *jwk, EVP_PKEY **out)
{
    const char *crv = NULL;
    HS_GUARD(hs_json_get_string(jwk, "crv", true, 16, &crv));
    HS_ENSURE_MSG(strcmp(crv, "Ed25519") == 0, HS_ERR_INPUT_FIELD, "unsupported OKP crv");
    unsigned char x[32];
    size_t n = 0;
    HS_GUARD(sgn_b64url_member(jwk, "x", x, sizeof(x), &n));
    HS_ENSURE_MSG(n == sizeof(x), HS_ERR_INPUT_FIELD, "Ed25519 x must be 32 bytes");
    *out = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, x, n);
    HS_ENSURE(*out != NULL, HS_ERR_CRYPTO);
    return HS_OK;
}

/* Whether alg may sign with pub: ES256 P-256, ES384 P-384 (RFC 7518 §3.4), RS256 / PS256 RSA
 * (§3.3, §3.5), EdDSA Ed25519 (RFC 8037 §3.1), as sgn_jwt_key_new() allows them. */
static bool sgn_jwk_alg_fits(EVP_PKEY *pub, const char *alg)
{
    if (EVP_PKEY_is_a(pub, "RSA")) {
        return strcmp(alg, "RS256") == 0 || strcmp(alg, "PS256") == 0;
    }
    if (EVP_PKEY_is_a(pub, "ED25519")) {
        return strcmp(alg, "EdDSA") == 0;
    }
    if (EVP_PKEY_is_a(pub, "EC")) {
        return strcmp(alg, EVP_PKEY_get_bits(pub) == 384 ? "ES384" : "ES256") == 0;
    }
    return false;
}

/* Reads one JWK (a signing key as sgn_jwk_new writes it) into e, checking kid and alg. */
static HS_RESULT sgn_jwk_read(json_object *jwk, struct sgn_jwk_entry *e)
{
    static const char *const allowed[] = {"kty", "use", "alg", "kid", "crv",
                                          "x",   "y",   "n",   "e",   NULL};
    HS_ENSURE_MSG(json_object_is_type(jwk, json_type_object), HS_ERR_INPUT_FIELD,
                  "a key is not an object");
    HS_GUARD(hs_json_check_keys(jwk, allowed, "JWK"));
    const char *kty = NULL;
    const char *use = NULL;
    const char *alg = NULL;
    const char *kid = NULL;
    HS_GUARD(hs_json_get_string(jwk, "kty", true, 8, &kty));
    HS_GUARD(hs_json_get_string(jwk, "use", true, 8, &use));
    HS_GUARD(hs_json_get_string(jwk, "alg", true, sizeof(e->alg) - 1, &alg));
    HS_GUARD(hs_json_get_string(jwk, "kid", true, SGN_KID_LEN, &kid));
    HS_ENSURE_MSG(strcmp(use, "sig") == 0, HS_ERR_INPUT_FIELD, "use must be \"sig\"");
    if (strcmp(kty, "EC") == 0) {
        HS_GUARD(sgn_jwk_ec(jwk, &e->pub));
    } else if (strcmp(kty, "RSA") == 0) {
        HS_GUARD(sgn_jwk_rsa(jwk, &e->pub));
    } else {
        HS_ENSURE_MSG(strcmp(kty, "OKP") == 0, HS_ERR_INPUT_FIELD, "unsupported kty");
        HS_GUARD(sgn_jwk_okp(jwk, &e->pub));
    }
    char thumb[SGN_KID_LEN + 1];
    HS_GUARD(sgn_jwk_thumbprint(e->pub, thumb));
    HS_ENSURE_MSG(strcmp(thumb, kid) == 0, HS_ERR_INPUT_FIELD,
                  "kid is not the key's RFC 7638 thumbprint");
    const struct sgn_jwt_alg_entry *a = NULL;
    for (size_t i = 0; i < sizeof(sgn_jwt_algs) / sizeof(sgn_jwt_algs[0]); i++) {
        a = strcmp(alg, sgn_jwt_algs[i].name) == 0 ? &sgn_jwt_algs[i] : a;
    }
    HS_ENSURE_MSG(a != NULL, HS_ERR_INPUT_FIELD, "unsupported alg");
    HS_ENSURE_MSG(sgn_jwk_alg_fits(e->pub, alg), HS_ERR_INPUT_FIELD, "alg %s does not fit the key",
                  alg);
    memcpy(e->alg, alg, strlen(alg) + 1);
    memcpy(e->kid, kid, SGN_KID_LEN + 1);
    return HS_OK;
}

void sgn_jwk_entries_clear(struct sgn_jwk_entry *entries, size_t n)
{
    for (size_t i = 0; entries != NULL && i < n; i++) {
        EVP_PKEY_free(entries[i].pub);
        entries[i].pub = NULL;
    }
}

HS_RESULT sgn_jwks_parse(const char *text, size_t len, struct sgn_jwk_entry out[SGN_JWT_KEYS_MAX],
                         size_t *out_n)
{
    static const char *const allowed[] = {"keys", NULL};
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    HS_GUARD(hs_json_parse_object(text, len, SGN_JWKS_MAX, HS_JSON_DEPTH_MAX, &doc));
    HS_GUARD(hs_json_check_keys(doc, allowed, "JWK Set"));
    json_object *keys = NULL;
    HS_GUARD(hs_json_get_typed(doc, "keys", true, json_type_array, &keys));
    size_t n = json_object_array_length(keys);
    HS_ENSURE_MSG(n >= 1 && n <= SGN_JWT_KEYS_MAX, HS_ERR_INPUT_FIELD, "a JWK Set needs 1..%d keys",
                  SGN_JWT_KEYS_MAX);
    struct sgn_jwk_entry tmp[SGN_JWT_KEYS_MAX];
    memset(tmp, 0, sizeof(tmp));
    for (size_t i = 0; i < n; i++) {
        hs_result r =
            hs_error_context(sgn_jwk_read(json_object_array_get_idx(keys, i), &tmp[i]), "keys[]");
        for (size_t j = 0; !hs_failed(r) && j < i; j++) {
            if (strcmp(tmp[i].kid, tmp[j].kid) == 0) {
                r = hs_error_raise(__FILE__, __LINE__, HS_ERR_INPUT_FIELD, "kid %s appears twice",
                                   tmp[i].kid);
            }
        }
        if (hs_failed(r)) {
            sgn_jwk_entries_clear(tmp, i + 1);
            return r;
        }
    }
    memcpy(out, tmp, n * sizeof(tmp[0]));
    *out_n = n;
    return HS_OK;
}

/* ,"name":"value" (the comma unless first); value must be well-formed UTF-8. */
static HS_RESULT sgn_json_put_str(struct hs_buf *b, const char *name, const char *v, bool first)
{
    HS_GUARD(hs_json_put_name(b, name, first));
    return hs_error_context(hs_json_put_string(b, v, strlen(v), HS_JSON_UTF8_STRICT), name);
}

/* ,"name":v */
static HS_RESULT sgn_json_put_int(struct hs_buf *b, const char *name, int64_t v)
{
    HS_GUARD(hs_json_put_name(b, name, false));
    return hs_json_put_int(b, v);
}

/* RFC 7515 §4.1: {"alg":...,"typ":"JWT","kid":...}, the bytes json-c printed from an object of
 * these members, base64url-encoded into k->header_b64. */
static HS_RESULT sgn_jwt_header(struct sgn_jwt_key *k)
{
    HS_DEFER(struct hs_buf *json = hs_buf_new(SGN_JWT_PART_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *b64 = hs_buf_new(SGN_JWT_HEADER_B64_MAX), hs_buf_freep);
    HS_ENSURE(json != NULL && b64 != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put_byte(json, '{'));
    HS_GUARD(sgn_json_put_str(json, "alg", k->alg, true));
    HS_GUARD(sgn_json_put_str(json, "typ", "JWT", false));
    HS_GUARD(sgn_json_put_str(json, "kid", k->kid, false));
    HS_GUARD(hs_buf_put_byte(json, '}'));
    HS_GUARD(hs_buf_put_b64url(b64, hs_buf_data(json), hs_buf_len(json)));
    memcpy(k->header_b64, hs_buf_data(b64), hs_buf_len(b64));
    k->header_b64_len = hs_buf_len(b64);
    return HS_OK;
}

/* --- keys ---------------------------------------------------------------------------------- */

HS_RESULT sgn_jwt_key_new(struct p11_key *key, const char *alg, struct sgn_jwt_key **out)
{
    HS_ENSURE_REF(key);
    enum p11_key_type type = p11_key_type(key);
    enum p11_sig_alg want = p11_sig_alg_default(type);
    const struct sgn_jwt_alg_entry *entry = NULL;
    for (size_t i = 0; i < sizeof(sgn_jwt_algs) / sizeof(sgn_jwt_algs[0]); i++) {
        bool match =
            alg != NULL ? strcmp(alg, sgn_jwt_algs[i].name) == 0 : sgn_jwt_algs[i].alg == want;
        if (match) {
            entry = &sgn_jwt_algs[i];
            break;
        }
    }
    HS_ENSURE_MSG(entry != NULL && p11_sig_alg_fits(entry->alg, type), HS_ERR_INPUT_KEY,
                  "JWS algorithm %s does not fit a %s key", alg != NULL ? alg : "(default)",
                  p11_key_type_name(type));
    HS_GUARD(p11_sign_check_key(key, entry->alg));
    HS_DEFER(struct sgn_jwt_key *k = OPENSSL_zalloc(sizeof(*k)), sgn_jwt_key_freep);
    HS_ENSURE(k != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_jwk_thumbprint(p11_key_get0_public(key), k->kid));
    k->alg = entry->name;
    k->sig_alg = entry->alg;
    HS_GUARD(sgn_jwt_header(k));
    k->key = p11_key_up_ref(key);
    *out = k;
    k = NULL;
    return HS_OK;
}

void sgn_jwt_key_free(struct sgn_jwt_key *k)
{
    if (k != NULL) {
        p11_key_free(k->key);
        OPENSSL_free(k);
    }
}

void sgn_jwt_key_freep(struct sgn_jwt_key **k)
{
    sgn_jwt_key_free(*k);
}

const char *sgn_jwt_key_kid(const struct sgn_jwt_key *k)
{
    return k->kid;
}

const char *sgn_jwt_key_alg(const struct sgn_jwt_key *k)
{
    return k->alg;
}

struct p11_key *sgn_jwt_key_get0_key(const struct sgn_jwt_key *k)
{
    return k->key;
}

HS_RESULT sgn_jwt_key_refs_parse(json_object *obj, const char *field,
                                 struct sgn_jwt_key_ref out[SGN_JWT_KEYS_MAX], size_t *out_n)
{
    static const char *const allowed[] = {"key", "alg", NULL};
    json_object *list = NULL;
    HS_GUARD(hs_json_get_typed(obj, field, true, json_type_array, &list));
    size_t n = json_object_array_length(list);
    HS_ENSURE_MSG(n >= 1 && n <= SGN_JWT_KEYS_MAX, HS_ERR_INPUT_RANGE,
                  "field \"%s\" must list 1..%d keys", field, SGN_JWT_KEYS_MAX);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(list, i);
        HS_ENSURE_MSG(json_object_is_type(e, json_type_object), HS_ERR_INPUT_FIELD,
                      "%s[%zu] must be an object", field, i);
        HS_GUARD(hs_error_context(hs_json_check_keys(e, allowed, "key entry"), field));
        HS_GUARD(hs_error_context(hs_json_get_string(e, "key", true, P11_KEY_REF_MAX, &out[i].key),
                                  field));
        HS_GUARD(hs_error_context(hs_json_get_string(e, "alg", false, 8, &out[i].alg), field));
    }
    *out_n = n;
    return HS_OK;
}

void sgn_jwt_key_array_freep(struct sgn_jwt_key *(*keys)[SGN_JWT_KEYS_MAX])
{
    for (size_t i = 0; i < SGN_JWT_KEYS_MAX; i++) {
        sgn_jwt_key_free((*keys)[i]);
    }
}

HS_RESULT sgn_jwt_keys_load(struct p11_pool *pool, const struct sgn_jwt_key_ref *refs, size_t n,
                            struct sgn_jwt_key *out[SGN_JWT_KEYS_MAX])
{
    HS_ENSURE_REF(pool);
    HS_ENSURE(n <= SGN_JWT_KEYS_MAX, HS_ERR_INTERNAL);
    HS_DEFER(struct sgn_jwt_key * keys[SGN_JWT_KEYS_MAX] = {0}, sgn_jwt_key_array_freep);
    for (size_t i = 0; i < n; i++) {
        HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
        HS_GUARD(p11_key_find(pool, refs[i].key, &key));
        HS_GUARD(p11_key_check_protected(key));
        HS_GUARD(sgn_jwt_key_new(key, refs[i].alg, &keys[i]));
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = keys[i];
        keys[i] = NULL;
    }
    return HS_OK;
}

/* --- tokens -------------------------------------------------------------------------------- */

static HS_RESULT sgn_claim_check(const char *name, const char *v)
{
    HS_ENSURE_MSG(v != NULL && v[0] != '\0', HS_ERR_INPUT_FIELD, "claim %s is empty", name);
    size_t n = strnlen(v, SGN_JWT_CLAIM_MAX + 1);
    HS_ENSURE_MSG(n <= SGN_JWT_CLAIM_MAX, HS_ERR_INPUT_TOO_LARGE, "claim %s is longer than %d",
                  name, SGN_JWT_CLAIM_MAX);
    for (size_t i = 0; i < n; i++) {
        HS_ENSURE_MSG((unsigned char)v[i] >= 0x20 && v[i] != 0x7f, HS_ERR_INPUT_FIELD,
                      "claim %s holds a control character", name);
    }
    return HS_OK;
}

bool sgn_jwt_claim_reserved(const char *name)
{
    static const char *const reserved[] = {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "cnf"};
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        if (strcmp(name, reserved[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Appends the members of extra (a JSON object, NULL = none): each name escaped as json-c
 * would, each value as json-c prints it. */
static HS_RESULT sgn_jwt_claims_extra(struct hs_buf *b, json_object *extra)
{
    if (extra == NULL) {
        return HS_OK;
    }
    HS_ENSURE_MSG(json_object_is_type(extra, json_type_object), HS_ERR_INPUT_FIELD,
                  "extra claims must be a JSON object");
    json_object_object_foreach(extra, name, v)
    {
        HS_ENSURE_MSG(!sgn_jwt_claim_reserved(name), HS_ERR_INPUT_FIELD,
                      "claim %s is set by the signer", name);
        size_t n = 0;
        const char *text = json_object_to_json_string_length(
            v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        HS_ENSURE(text != NULL, HS_ERR_NOMEM);
        HS_GUARD(hs_error_context(hs_json_put_name(b, name, false), "extra claim name"));
        HS_GUARD(hs_buf_put(b, text, n));
    }
    return HS_OK;
}

/* The claims set (RFC 7519 §4.1) in the order and bytes json-c printed from an object of them:
 * iss, sub, aud, iat, nbf, exp, jti, cnf (RFC 8705 §3.1) when bound, then extra's members.
 * HS_ERR_INPUT_TOO_LARGE beyond SGN_JWT_PART_MAX bytes. */
static HS_RESULT sgn_jwt_claims_json(const struct sgn_jwt_claims *c, const char *jti,
                                     struct hs_buf *b)
{
    HS_GUARD(hs_buf_put_byte(b, '{'));
    HS_GUARD(sgn_json_put_str(b, "iss", c->iss, true));
    HS_GUARD(sgn_json_put_str(b, "sub", c->sub, false));
    HS_GUARD(sgn_json_put_str(b, "aud", c->aud, false));
    HS_GUARD(sgn_json_put_int(b, "iat", (int64_t)c->now));
    HS_GUARD(sgn_json_put_int(b, "nbf", (int64_t)c->now));
    HS_GUARD(sgn_json_put_int(b, "exp", (int64_t)c->now + c->ttl_s));
    HS_GUARD(sgn_json_put_str(b, "jti", jti, false));
    if (c->x5t_s256 != NULL) {
        /* RFC 8705 §3.1: the token is bound to the client certificate it was issued to. */
        HS_GUARD(hs_json_put_name(b, "cnf", false));
        HS_GUARD(hs_buf_put_byte(b, '{'));
        HS_GUARD(sgn_json_put_str(b, "x5t#S256", c->x5t_s256, true));
        HS_GUARD(hs_buf_put_byte(b, '}'));
    }
    HS_GUARD(sgn_jwt_claims_extra(b, c->extra));
    return hs_buf_put_byte(b, '}');
}

/* Appends base64url(claims JSON). */
static HS_RESULT sgn_jwt_claims(const struct sgn_jwt_claims *c, const char *jti, struct hs_buf *out)
{
    HS_DEFER(struct hs_buf *json = hs_buf_new(SGN_JWT_PART_MAX), hs_buf_freep);
    HS_ENSURE(json != NULL, HS_ERR_NOMEM);
    unsigned char *room = NULL;
    HS_GUARD(hs_buf_reserve(json, SGN_JWT_PART_MAX / 4, &room));
    hs_result r = sgn_jwt_claims_json(c, jti, json);
    HS_ENSURE_MSG(r.code != HS_ERR_BOUNDS, HS_ERR_INPUT_TOO_LARGE,
                  "the claims are longer than %d bytes", SGN_JWT_PART_MAX);
    HS_GUARD(r);
    return hs_buf_put_b64url(out, hs_buf_data(json), hs_buf_len(json));
}

/* 128 random bits, base64url (RFC 7519 §4.1.7: unique per token). Public once issued, so they
 * come from hs_rand's per-thread stock. */
static HS_RESULT sgn_jti_new(char out[SGN_JTI_LEN + 1])
{
    unsigned char raw[16];
    HS_GUARD(hs_rand_public(raw, sizeof(raw)));
    HS_DEFER(struct hs_buf *b = hs_buf_new(SGN_JTI_LEN + 1), hs_buf_freep);
    HS_ENSURE(b != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put_b64url(b, raw, sizeof(raw)));
    HS_ENSURE(hs_buf_len(b) == SGN_JTI_LEN, HS_ERR_INTERNAL);
    memcpy(out, hs_buf_data(b), SGN_JTI_LEN);
    out[SGN_JTI_LEN] = '\0';
    return HS_OK;
}

/* Signs into out (empty): header.claims, then .signature (RFC 7515 §7.1). */
static HS_RESULT sgn_jwt_sign_checked(const struct sgn_jwt_key *k, const struct sgn_jwt_claims *c,
                                      struct hs_buf *out, char jti[SGN_JTI_LEN + 1])
{
    HS_GUARD(sgn_claim_check("iss", c->iss));
    HS_GUARD(sgn_claim_check("sub", c->sub));
    HS_GUARD(sgn_claim_check("aud", c->aud));
    HS_ENSURE_MSG(c->ttl_s >= 1 && c->ttl_s <= SGN_JWT_TTL_MAX_S, HS_ERR_INPUT_RANGE,
                  "token lifetime must be 1..%d seconds", SGN_JWT_TTL_MAX_S);
    HS_GUARD(sgn_jti_new(jti));
    /* Room for a typical token up front: one allocation, no growth. */
    unsigned char *room = NULL;
    HS_GUARD(hs_buf_reserve(out, SGN_JWT_MAX / 8, &room));
    HS_GUARD(hs_buf_put(out, k->header_b64, k->header_b64_len));
    HS_GUARD(hs_buf_put_byte(out, '.'));
    HS_GUARD(sgn_jwt_claims(c, jti, out));
    unsigned char digest[SHA256_DIGEST_LENGTH];
    HS_GUARD(hs_sha256(hs_buf_data(out), hs_buf_len(out), digest));
    HS_DEFER(struct hs_buf *sig = hs_buf_new(P11_SIG_MAX), hs_buf_freep);
    HS_ENSURE(sig != NULL, HS_ERR_NOMEM);
    /* RFC 7518 §3.4: ECDSA JWS signatures are the fixed-length r||s, not DER. */
    HS_GUARD(
        p11_sign(k->key, k->sig_alg, P11_SIG_FORMAT_RAW, hs_buf_data(out), hs_buf_len(out), sig));
    HS_GUARD(hs_buf_put_byte(out, '.'));
    HS_GUARD(hs_buf_put_b64url(out, hs_buf_data(sig), hs_buf_len(sig)));
    /* One audited line per outcome: this one, or sign.jwt.failed. */
    hs_log(HS_LOG_INFO, "sign.jwt.issued", HS_LOG_AUDIT, HS_LOG_STR("caller", c->requester),
           HS_LOG_STR("key_label", p11_key_label(k->key)), HS_LOG_STR("kid", k->kid),
           HS_LOG_STR("aud", c->aud), HS_LOG_STR("jti", jti),
           HS_LOG_INT("exp", (long long)c->now + c->ttl_s),
           HS_LOG_HEX("signing_input_sha256", digest, sizeof(digest)));
    return HS_OK;
}

HS_RESULT sgn_jwt_sign(const struct sgn_jwt_key *k, const struct sgn_jwt_claims *c,
                       struct hs_buf *out, char jti_out[SGN_JTI_LEN + 1])
{
    HS_ENSURE_REF(k);
    HS_ENSURE_REF(c);
    HS_ENSURE_REF(out);
    HS_ENSURE(hs_buf_len(out) == 0, HS_ERR_INTERNAL);
    char jti[SGN_JTI_LEN + 1] = "";
    hs_result r = sgn_jwt_sign_checked(k, c, out, jti);
    if (hs_failed(r)) {
        hs_buf_reset(out);
        hs_log(HS_LOG_WARN, "sign.jwt.failed", HS_LOG_AUDIT, HS_LOG_STR("caller", c->requester),
               HS_LOG_STR("kid", k->kid), HS_LOG_STR("aud", c->aud), HS_LOG_ERR());
        return r;
    }
    memcpy(jti_out, jti, sizeof(jti));
    return HS_OK;
}
