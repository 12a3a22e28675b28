/*
 * sgn_jwt's JWK side: RFC 7638 thumbprints against published and independently computed
 * values, and the JWK members a verifier needs.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "common/hs_defer.h"
#include "signer/sgn_jwt.h"
#include "tests/testlib/hs_test.h"

/* RFC 7638 §3.1 example key and thumbprint. */
static const char rfc7638_n[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
    "BJECPebW"
    "KRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
    "FDW2QvzqY368QQM"
    "icAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2Nc"
    "Rwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
static const char rfc7638_kid[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/* RFC 7517 Appendix A.1 EC key; its thumbprint computed with python3-jwcrypto. */
static const char ec_x[] = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4";
static const char ec_y[] = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM";
static const char ec_kid[] = "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s";

/* RFC 8037 Appendix A.2 / A.3 Ed25519 key and thumbprint. */
static const char ed_x[] = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
static const char ed_kid[] = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

/* Decodes unpadded base64url into out; returns the length (0 on failure). */
static size_t b64url_decode(const char *in, unsigned char *out, size_t out_max)
{
    char tmp[1024];
    size_t n = strlen(in);
    if (n + 4 >= sizeof(tmp)) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        tmp[i] = in[i] == '-' ? '+' : (in[i] == '_' ? '/' : in[i]);
    }
    size_t pad = (4 - n % 4) % 4;
    memset(tmp + n, '=', pad);
    tmp[n + pad] = '\0';
    unsigned char buf[1024];
    int len = EVP_DecodeBlock(buf, (const unsigned char *)tmp, (int)(n + pad));
    if (len < 0 || (size_t)len - pad > out_max) {
        return 0;
    }
    memcpy(out, buf, (size_t)len - pad);
    return (size_t)len - pad;
}

static EVP_PKEY *pkey_from(const char *alg, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
    EVP_PKEY *pkey = NULL;
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

static EVP_PKEY *rsa_key(void)
{
    unsigned char n[512];
    size_t nlen = b64url_decode(rfc7638_n, n, sizeof(n));
    static const unsigned char e[] = {1, 0, 1};
    BIGNUM *bn_n = BN_bin2bn(n, (int)nlen, NULL);
    BIGNUM *bn_e = BN_bin2bn(e, sizeof(e), NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e);
    EVP_PKEY *pkey = pkey_from("RSA", bld);
    BN_free(bn_n);
    BN_free(bn_e);
    return pkey;
}

static EVP_PKEY *ec_key(void)
{
    unsigned char point[65] = {0x04};
    b64url_decode(ec_x, point + 1, 32);
    b64url_decode(ec_y, point + 33, 32);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
    return pkey_from("EC", bld);
}

static EVP_PKEY *ed_key(void)
{
    unsigned char raw[32];
    size_t n = b64url_decode(ed_x, raw, sizeof(raw));
    return EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, raw, n);
}

HS_TEST(thumbprints_match_published_values)
{
    HS_DEFER(EVP_PKEY *rsa = rsa_key(), hs_evp_pkey_freep);
    HS_DEFER(EVP_PKEY *ec = ec_key(), hs_evp_pkey_freep);
    HS_DEFER(EVP_PKEY *ed = ed_key(), hs_evp_pkey_freep);
    HS_CHECK(rsa != NULL && ec != NULL && ed != NULL);
    char kid[SGN_KID_LEN + 1];
    HS_CHECK_OK(sgn_jwk_thumbprint(rsa, kid));
    HS_CHECK(strcmp(kid, rfc7638_kid) == 0);
    HS_CHECK_OK(sgn_jwk_thumbprint(ec, kid));
    HS_CHECK(strcmp(kid, ec_kid) == 0);
    HS_CHECK_OK(sgn_jwk_thumbprint(ed, kid));
    HS_CHECK(strcmp(kid, ed_kid) == 0);
}

HS_TEST(jwk_carries_the_members_a_verifier_needs)
{
    HS_DEFER(EVP_PKEY *ec = ec_key(), hs_evp_pkey_freep);
    HS_DEFER(json_object *jwk = NULL, hs_json_putp);
    HS_CHECK_OK(sgn_jwk_new(ec, "ES256", &jwk));
    if (jwk == NULL) {
        return;
    }
    static const struct {
        const char *key;
        const char *value;
    } want[] = {{"kty", "EC"}, {"use", "sig"}, {"alg", "ES256"}, {"crv", "P-256"},
                {"x", ec_x},   {"y", ec_y},    {"kid", ec_kid}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        json_object *v = NULL;
        HS_CHECK(json_object_object_get_ex(jwk, want[i].key, &v) &&
                 strcmp(json_object_get_string(v), want[i].value) == 0);
    }
    HS_DEFER(EVP_PKEY *rsa = rsa_key(), hs_evp_pkey_freep);
    HS_DEFER(json_object *rjwk = NULL, hs_json_putp);
    HS_CHECK_OK(sgn_jwk_new(rsa, "RS256", &rjwk));
    json_object *n = NULL;
    json_object *e = NULL;
    HS_CHECK(rjwk != NULL && json_object_object_get_ex(rjwk, "n", &n) &&
             strcmp(json_object_get_string(n), rfc7638_n) == 0);
    HS_CHECK(rjwk != NULL && json_object_object_get_ex(rjwk, "e", &e) &&
             strcmp(json_object_get_string(e), "AQAB") == 0);
}

HS_TEST(unsupported_keys_are_refused)
{
    HS_DEFER(EVP_PKEY *p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521"), hs_evp_pkey_freep);
    char kid[SGN_KID_LEN + 1];
    HS_CHECK_ERR(sgn_jwk_thumbprint(p521, kid), HS_ERR_INPUT_KEY);
    HS_DEFER(EVP_PKEY *x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519"), hs_evp_pkey_freep);
    HS_CHECK_ERR(sgn_jwk_thumbprint(x25519, kid), HS_ERR_INPUT_KEY);
}

/* sgn_jwks_parse takes an alg only when it fits the key (found by tests/fuzz/jwt_fuzz.c:
 * corpus/jwt_fuzz/regress-alg-mismatch). */
HS_TEST(jwks_alg_must_fit_the_key)
{
    static const struct {
        const char *alg;
        bool ec_ok;
        bool ed_ok;
    } cases[] = {{"ES256", true, false},
                 {"ES384", false, false},
                 {"RS256", false, false},
                 {"PS256", false, false},
                 {"EdDSA", false, true}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char doc[512];
        int n = snprintf(doc, sizeof(doc),
                         "{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\", \"x\": \"%s\", "
                         "\"y\": \"%s\", \"use\": \"sig\", \"alg\": \"%s\", \"kid\": \"%s\"}]}",
                         ec_x, ec_y, cases[i].alg, ec_kid);
        HS_CHECK(n > 0 && (size_t)n < sizeof(doc));
        struct sgn_jwk_entry keys[SGN_JWT_KEYS_MAX];
        size_t nkeys = 0;
        if (cases[i].ec_ok) {
            HS_CHECK_OK(sgn_jwks_parse(doc, strlen(doc), keys, &nkeys));
            HS_CHECK(nkeys == 1 && strcmp(keys[0].alg, cases[i].alg) == 0);
            sgn_jwk_entries_clear(keys, nkeys);
        } else {
            HS_CHECK_ERR(sgn_jwks_parse(doc, strlen(doc), keys, &nkeys), HS_ERR_INPUT_FIELD);
        }
        n = snprintf(doc, sizeof(doc),
                     "{\"keys\": [{\"kty\": \"OKP\", \"crv\": \"Ed25519\", \"x\": \"%s\", "
                     "\"use\": \"sig\", \"alg\": \"%s\", \"kid\": \"%s\"}]}",
                     ed_x, cases[i].alg, ed_kid);
        HS_CHECK(n > 0 && (size_t)n < sizeof(doc));
        if (cases[i].ed_ok) {
            HS_CHECK_OK(sgn_jwks_parse(doc, strlen(doc), keys, &nkeys));
            sgn_jwk_entries_clear(keys, nkeys);
        } else {
            HS_CHECK_ERR(sgn_jwks_parse(doc, strlen(doc), keys, &nkeys), HS_ERR_INPUT_FIELD);
        }
    }
}

int main(void)
{
    return hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(thumbprints_match_published_values),
        HS_TEST_CASE(jwk_carries_the_members_a_verifier_needs),
        HS_TEST_CASE(unsupported_keys_are_refused),
        HS_TEST_CASE(jwks_alg_must_fit_the_key),
        HS_TEST_END,
    });
}
