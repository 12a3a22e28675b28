/*
 * hsmsign-authorizer's checks without a network or an HSM: keys made here with OpenSSL (P-256,
 * P-384, RSA-2048, Ed25519) published as a JWKS, tokens signed here for every algorithm, and
 * tables of refusals with the exact reason each must give (alg none/HS256/unknown, crit, kid,
 * key/alg mismatch, tampering, time claims with leeway, iss, aud, scopes, strict base64url,
 * duplicate members); JWKs that must be refused (RSA-1024, a point off the curve, short x);
 * strict config errors naming the member; API Gateway events and the answers built for them.
 */
#include <string.h>

#include <json-c/json.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "authorizer/au_authz.h"
#include "authorizer/au_config.h"
#include "authorizer/au_event.h"
#include "authorizer/au_json.h"
#include "authorizer/au_jwks.h"
#include "authorizer/au_verify.h"
#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "tests/testlib/hs_test.h"

#define ISS "https://hsmsign.unit.example"
#define AUD "https://api.unit.example"
#define NOW 1800000000L

static EVP_PKEY *k_p256;
static EVP_PKEY *k_p384;
static EVP_PKEY *k_rsa;
static EVP_PKEY *k_ed;
static struct au_jwks *jwks;
static struct au_config cfg;

static void b64url(struct hs_buf *b, const void *p, size_t n)
{
    if (hs_failed(hs_buf_put_b64url(b, p, n))) {
        hs_test_report(__FILE__, __LINE__, "b64url");
    }
}

/* The JWK of a public key: kty/crv and its parameters, kid as given. */
static json_object *jwk_of(EVP_PKEY *k, const char *kid)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "kid", json_object_new_string(kid));
    HS_DEFER(struct hs_buf *x = hs_buf_new(2048), hs_buf_freep);
    HS_DEFER(struct hs_buf *y = hs_buf_new(2048), hs_buf_freep);
    unsigned char buf[1024];
    size_t len = 0;
    if (EVP_PKEY_is_a(k, "EC")) {
        EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof(buf), &len);
        size_t half = (len - 1) / 2;
        b64url(x, buf + 1, half);
        b64url(y, buf + 1 + half, half);
        json_object_object_add(o, "kty", json_object_new_string("EC"));
        json_object_object_add(o, "crv", json_object_new_string(half == 32 ? "P-256" : "P-384"));
        json_object_object_add(
            o, "y", json_object_new_string_len((const char *)hs_buf_data(y), (int)hs_buf_len(y)));
    } else if (EVP_PKEY_is_a(k, "RSA")) {
        BIGNUM *n = NULL;
        BIGNUM *e = NULL;
        EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n);
        EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e);
        len = (size_t)BN_bn2bin(n, buf);
        b64url(x, buf, len);
        len = (size_t)BN_bn2bin(e, buf);
        b64url(y, buf, len);
        BN_free(n);
        BN_free(e);
        json_object_object_add(o, "kty", json_object_new_string("RSA"));
        json_object_object_add(
            o, "n", json_object_new_string_len((const char *)hs_buf_data(x), (int)hs_buf_len(x)));
        json_object_object_add(
            o, "e", json_object_new_string_len((const char *)hs_buf_data(y), (int)hs_buf_len(y)));
        return o;
    } else {
        len = sizeof(buf);
        EVP_PKEY_get_raw_public_key(k, buf, &len);
        b64url(x, buf, len);
        json_object_object_add(o, "kty", json_object_new_string("OKP"));
        json_object_object_add(o, "crv", json_object_new_string("Ed25519"));
    }
    json_object_object_add(
        o, "x", json_object_new_string_len((const char *)hs_buf_data(x), (int)hs_buf_len(x)));
    return o;
}

/* Signs header "." payload with key for alg into a compact token (a static buffer). */
static const char *sign(EVP_PKEY *key, const char *alg, const char *header, const char *payload)
{
    static char out[AU_TOKEN_MAX + 64];
    HS_DEFER(struct hs_buf *t = hs_buf_new(AU_TOKEN_MAX + 64), hs_buf_freep);
    b64url(t, header, strlen(header));
    HS_IGNORE(hs_buf_put_byte(t, '.'));
    b64url(t, payload, strlen(payload));
    unsigned char sig[1024];
    size_t sl = sizeof(sig);
    if (strcmp(alg, "HS256") == 0) {
        unsigned int hl = 0;
        HMAC(EVP_sha256(), "k", 1, hs_buf_data(t), hs_buf_len(t), sig, &hl);
        sl = hl;
    } else if (key != NULL) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pctx = NULL;
        const EVP_MD *md = strcmp(alg, "EdDSA") == 0   ? NULL
                           : strcmp(alg, "ES384") == 0 ? EVP_sha384()
                                                       : EVP_sha256();
        EVP_DigestSignInit(ctx, &pctx, md, NULL, key);
        if (strcmp(alg, "PS256") == 0) {
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32);
        }
        EVP_DigestSign(ctx, sig, &sl, hs_buf_data(t), hs_buf_len(t));
        EVP_MD_CTX_free(ctx);
        if (alg[0] == 'E' && alg[1] == 'S') { /* DER -> R || S */
            size_t half = strcmp(alg, "ES256") == 0 ? 32 : 48;
            const unsigned char *p = sig;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
            unsigned char raw[96];
            BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)half);
            BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + half, (int)half);
            ECDSA_SIG_free(es);
            memcpy(sig, raw, 2 * half);
            sl = 2 * half;
        }
    } else {
        sl = 0;
    }
    HS_IGNORE(hs_buf_put_byte(t, '.'));
    if (sl > 0) {
        b64url(t, sig, sl);
    }
    memcpy(out, hs_buf_data(t), hs_buf_len(t));
    out[hs_buf_len(t)] = '\0';
    return out;
}

static const char *claims_std(void)
{
    static char c[512];
    hs_test_format(c, sizeof(c),
                   "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD
                   "\",\"iat\":%ld,\"nbf\":%ld,\"exp\":%ld,\"scope\":\"read write\"}",
                   NOW - 10, NOW - 10, NOW + 300);
    return c;
}

/* Parses, finds the key in the test JWKS, verifies and checks claims at now for route. */
static enum au_reason run(const char *token, const char *route, long now, struct au_grant *g)
{
    struct au_jws jws;
    enum au_reason r = au_jws_parse(token, strlen(token), cfg.algorithms, &jws);
    EVP_PKEY *k = NULL;
    if (r == AU_OK) {
        enum au_jwks_find f = au_jwks_find(jwks, jws.kid, jws.alg, &k);
        r = f == AU_JWKS_FOUND ? AU_OK : f == AU_JWKS_MISMATCH ? AU_KEY_MISMATCH : AU_KID_UNKNOWN;
    }
    r = r != AU_OK ? r : au_jws_verify(&jws, k);
    r = r != AU_OK ? r : au_claims_check(&jws, &cfg, route, (time_t)now, g);
    au_jws_clear(&jws);
    return r;
}

static enum au_reason run_std(const char *token)
{
    struct au_grant g;
    return run(token, "GET /hello", NOW, &g);
}

static void setup(void)
{
    k_p256 = EVP_EC_gen("P-256");
    k_p384 = EVP_EC_gen("P-384");
    k_rsa = EVP_RSA_gen(2048);
    k_ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    json_object *set = json_object_new_object();
    json_object *keys = json_object_new_array();
    json_object_array_add(keys, jwk_of(k_p256, "p256"));
    json_object_array_add(keys, jwk_of(k_p384, "p384"));
    json_object_array_add(keys, jwk_of(k_rsa, "rsa"));
    json_object_array_add(keys, jwk_of(k_ed, "ed"));
    json_object *enc = jwk_of(k_p256, "enc-only");
    json_object_object_add(enc, "use", json_object_new_string("enc"));
    json_object_array_add(keys, enc);
    json_object *rs_only = jwk_of(k_rsa, "rsa-rs256");
    json_object_object_add(rs_only, "alg", json_object_new_string("RS256"));
    json_object_array_add(keys, rs_only);
    json_object_object_add(set, "keys", keys);
    const char *text = json_object_to_json_string(set);
    HS_CHECK_OK(au_jwks_parse(text, strlen(text), &jwks));
    json_object_put(set);
    static const char conf[] = "{\"issuer\": \"" ISS "\", \"audiences\": [\"other\", \"" AUD "\"], "
                               "\"leeway_seconds\": 30, \"jwks\": {\"file\": \"/nonexistent\"}, "
                               "\"routes\": {\"GET /admin\": {\"scopes\": [\"admin\"]}, "
                               "\"POST /hello\": {\"scopes\": [\"write\", \"read\"]}}}";
    HS_CHECK_OK(au_config_parse(conf, strlen(conf), &cfg));
}

HS_TEST(every_algorithm_verifies)
{
    HS_CHECK(jwks != NULL && jwks->n == 5 && jwks->skipped == 1);
    HS_CHECK(run_std(sign(k_p256, "ES256", "{\"alg\":\"ES256\",\"kid\":\"p256\"}", claims_std())) ==
             AU_OK);
    HS_CHECK(run_std(sign(k_p384, "ES384", "{\"alg\":\"ES384\",\"kid\":\"p384\"}", claims_std())) ==
             AU_OK);
    HS_CHECK(run_std(sign(k_rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa\"}", claims_std())) ==
             AU_OK);
    HS_CHECK(run_std(sign(k_rsa, "PS256", "{\"alg\":\"PS256\",\"kid\":\"rsa\"}", claims_std())) ==
             AU_OK);
    HS_CHECK(run_std(sign(k_ed, "EdDSA", "{\"alg\":\"EdDSA\",\"kid\":\"ed\"}", claims_std())) ==
             AU_OK);
    struct au_grant g;
    HS_CHECK(run(sign(k_p256, "ES256", "{\"alg\":\"ES256\",\"kid\":\"p256\",\"typ\":\"JWT\"}",
                      claims_std()),
                 "POST /hello", NOW, &g) == AU_OK);
    HS_CHECK(strcmp(g.sub, "alice") == 0 && strcmp(g.kid, "p256") == 0 &&
             strcmp(g.scope, "read write") == 0 && g.x5t[0] == '\0');
}

HS_TEST(refusals_give_their_reason)
{
    const char *c = claims_std();
    static const struct {
        const char *alg;
        const char *header;
        enum au_reason want;
    } rows[] = {
        {"none", "{\"alg\":\"none\",\"kid\":\"p256\"}", AU_ALG_REFUSED},
        {"HS256", "{\"alg\":\"HS256\",\"kid\":\"p256\"}", AU_ALG_REFUSED},
        {"ES256", "{\"alg\":\"ES512\",\"kid\":\"p256\"}", AU_ALG_REFUSED},
        {"ES256", "{\"alg\":\"es256\",\"kid\":\"p256\"}", AU_ALG_REFUSED},
        {"ES256", "{\"kid\":\"p256\"}", AU_TOKEN_MALFORMED},
        {"ES256", "{\"alg\":\"ES256\"}", AU_TOKEN_MALFORMED},
        {"ES256", "{\"alg\":\"ES256\",\"kid\":\"p256\",\"crit\":[\"exp\"]}", AU_CRIT_REFUSED},
        {"ES256", "{\"alg\":\"ES256\",\"kid\":\"nope\"}", AU_KID_UNKNOWN},
        {"ES256", "{\"alg\":\"ES256\",\"kid\":\"enc-only\"}", AU_KID_UNKNOWN},
        {"ES256", "{\"alg\":\"ES256\",\"kid\":\"rsa\"}", AU_KEY_MISMATCH},
        {"ES256", "{\"alg\":\"ES256\",\"kid\":\"p384\"}", AU_KEY_MISMATCH},
        {"PS256", "{\"alg\":\"PS256\",\"kid\":\"rsa-rs256\"}", AU_KEY_MISMATCH},
        {"ES256", "{\"alg\":\"ES256\",\"kid\":\"p256\",\"alg\":\"ES256\"}", AU_TOKEN_MALFORMED},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        EVP_PKEY *k = strcmp(rows[i].alg, "PS256") == 0 ? k_rsa : k_p256;
        enum au_reason got = run_std(sign(k, rows[i].alg, rows[i].header, c));
        if (got != rows[i].want) {
            fprintf(stderr, "  row %zu: got %s\n", i, au_reason_name(got));
        }
        HS_CHECK(got == rows[i].want);
    }
    /* The signature of another key, and of another algorithm's size. */
    HS_CHECK(run_std(sign(k_p384, "ES256", "{\"alg\":\"ES256\",\"kid\":\"p256\"}", c)) ==
             AU_SIGNATURE_INVALID);
    HS_CHECK(run_std(sign(k_p384, "ES384", "{\"alg\":\"ES256\",\"kid\":\"p256\"}", c)) ==
             AU_SIGNATURE_INVALID);
    HS_CHECK(run_std(sign(k_rsa, "RS256", "{\"alg\":\"PS256\",\"kid\":\"rsa\"}", c)) ==
             AU_SIGNATURE_INVALID);
}

HS_TEST(tampering_and_encoding)
{
    char tok[AU_TOKEN_MAX + 64];
    memcpy(tok, sign(k_p256, "ES256", "{\"alg\":\"ES256\",\"kid\":\"p256\"}", claims_std()),
           AU_TOKEN_MAX);
    HS_CHECK(run_std(tok) == AU_OK);
    char *payload = strchr(tok, '.') + 1;
    payload[5] = payload[5] == 'A' ? 'B' : 'A';
    HS_CHECK(run_std(tok) == AU_SIGNATURE_INVALID || run_std(tok) == AU_TOKEN_MALFORMED);
    payload[5] = payload[5] == 'A' ? 'B' : 'A';
    static const char *const suffixes[] = {"=", ".", " ", "+", "\n"};
    size_t n = strlen(tok);
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        memcpy(tok + n, suffixes[i], strlen(suffixes[i]) + 1);
        HS_CHECK(run_std(tok) == AU_TOKEN_MALFORMED);
    }
    tok[n] = '\0';
    /* A last character with non-zero unused bits: another text for the same bytes. */
    char last = tok[n - 1];
    tok[n - 1] = (char)(last + 1);
    HS_CHECK(run_std(tok) != AU_OK);
    tok[n - 1] = last;
    HS_CHECK(run_std("a.b") == AU_TOKEN_MALFORMED && run_std("..") == AU_TOKEN_MALFORMED &&
             run_std("") == AU_TOKEN_MALFORMED);
    HS_DEFER(struct hs_buf *b = hs_buf_new(16), hs_buf_freep);
    HS_CHECK_OK(au_b64url_decode("AQ", 2, b));
    HS_CHECK(hs_buf_len(b) == 1 && hs_buf_data(b)[0] == 1);
    HS_CHECK_ERR(au_b64url_decode("AR", 2, b), HS_ERR_INPUT);
    HS_CHECK_ERR(au_b64url_decode("AQ==", 4, b), HS_ERR_INPUT);
    HS_CHECK_ERR(au_b64url_decode("A", 1, b), HS_ERR_INPUT);
    HS_CHECK_ERR(au_b64url_decode("A+", 2, b), HS_ERR_INPUT);
}

static enum au_reason with_claims(const char *claims, const char *route, long now)
{
    struct au_grant g;
    return run(sign(k_p256, "ES256", "{\"alg\":\"ES256\",\"kid\":\"p256\"}", claims), route, now,
               &g);
}

HS_TEST(claims_times_issuer_audience_scopes)
{
    const char *c = claims_std();
    HS_CHECK(with_claims(c, "GET /hello", NOW + 300 + 29) == AU_OK);
    HS_CHECK(with_claims(c, "GET /hello", NOW + 300 + 30) == AU_EXPIRED);
    HS_CHECK(with_claims(c, "GET /hello", NOW - 10 - 31) == AU_NOT_YET_VALID);
    HS_CHECK(with_claims(c, "GET /hello", NOW - 10 - 30) == AU_OK);
    HS_CHECK(with_claims(c, "GET /admin", NOW) == AU_SCOPE_MISSING);
    HS_CHECK(with_claims(c, "POST /hello", NOW) == AU_OK);
    static const struct {
        const char *claims;
        enum au_reason want;
    } rows[] = {
        {"{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD "\"}", AU_CLAIMS_INVALID},
        {"{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":\"1\"}",
         AU_CLAIMS_INVALID},
        {"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1900000000}", AU_CLAIMS_INVALID},
        {"{\"iss\":\"" ISS "\",\"sub\":\"\",\"aud\":\"" AUD "\",\"exp\":1900000000}",
         AU_CLAIMS_INVALID},
        {"{\"iss\":\"" ISS "/\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":1900000000}",
         AU_ISSUER_MISMATCH},
        {"{\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":1900000000}", AU_ISSUER_MISMATCH},
        {"{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"x\",\"exp\":1900000000}",
         AU_AUDIENCE_MISMATCH},
        {"{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":[\"x\",\"" AUD "\"],\"exp\":1900000000}",
         AU_OK},
        {"{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":[],\"exp\":1900000000}", AU_AUDIENCE_MISMATCH},
        {"{\"iss\":\"" ISS "\",\"sub\":\"a\",\"exp\":1900000000}", AU_AUDIENCE_MISMATCH},
        {"{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":1900000000,\"iat\":"
         "1900000000}",
         AU_ISSUED_IN_FUTURE},
        {"{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":1900000000.5}", AU_OK},
        {"{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":1900000000,\"sub\":\"b\"}",
         AU_TOKEN_MALFORMED},
        {"[1]", AU_TOKEN_MALFORMED},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        enum au_reason got = with_claims(rows[i].claims, "GET /hello", NOW);
        if (got != rows[i].want) {
            fprintf(stderr, "  row %zu: got %s\n", i, au_reason_name(got));
        }
        HS_CHECK(got == rows[i].want);
    }
    /* scp as an array (and as a string), and cnf. */
    struct au_grant g;
    const char *scp =
        "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD
        "\",\"exp\":1900000000,\"scp\":[\"admin\",\"x\"],\"cnf\":{\"x5t#S256\":\"abc\"}}";
    HS_CHECK(run(sign(k_p256, "ES256", "{\"alg\":\"ES256\",\"kid\":\"p256\"}", scp), "GET /admin",
                 NOW, &g) == AU_OK);
    HS_CHECK(strcmp(g.scope, "admin x") == 0 && strcmp(g.x5t, "abc") == 0);
    HS_CHECK(with_claims("{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD
                         "\",\"exp\":1900000000,\"scp\":[1]}",
                         "GET /hello", NOW) == AU_CLAIMS_INVALID);
    HS_CHECK(with_claims("{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD
                         "\",\"exp\":1900000000,\"scope\":\"administrator\"}",
                         "GET /admin", NOW) == AU_SCOPE_MISSING);
}

static HS_RESULT jwks_one(const char *key)
{
    char text[4096];
    hs_test_format(text, sizeof(text), "{\"keys\": [%s]}", key);
    HS_DEFER(struct au_jwks *set = NULL, au_jwks_freep);
    return au_jwks_parse(text, strlen(text), &set);
}

HS_TEST(bad_jwks_are_refused)
{
    HS_DEFER(EVP_PKEY *small = EVP_RSA_gen(1024), hs_evp_pkey_freep);
    json_object *j = jwk_of(small, "small");
    HS_CHECK_ERR(jwks_one(json_object_to_json_string(j)), HS_ERR_INPUT_KEY);
    json_object_put(j);
    /* x and y of P-256 where y is not on the curve. */
    json_object *p = jwk_of(k_p256, "off");
    json_object_object_add(p, "y",
                           json_object_new_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"));
    HS_CHECK_ERR(jwks_one(json_object_to_json_string(p)), HS_ERR_INPUT_KEY);
    json_object_object_add(p, "y", json_object_new_string("AAAA"));
    HS_CHECK_ERR(jwks_one(json_object_to_json_string(p)), HS_ERR_INPUT_KEY);
    json_object_put(p);
    HS_CHECK_ERR(jwks_one("{\"kty\": 1}"), HS_ERR_INPUT_FIELD);
    HS_CHECK_OK(jwks_one("{\"kty\": \"oct\", \"kid\": \"h\", \"k\": \"AAAA\"}"));
    HS_DEFER(struct au_jwks *set = NULL, au_jwks_freep);
    HS_CHECK_ERR(au_jwks_parse("{\"keys\": 1}", 11, &set), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(au_jwks_parse("{\"keys\": [], \"keys\": []}", 24, &set), HS_ERR_INPUT_JSON);
    /* 33 keys: one over AU_JWKS_KEYS_MAX. */
    char many[4096];
    size_t at = 0;
    memcpy(many, "{\"keys\": [{}", 12);
    at = 12;
    for (int i = 1; i < 33; i++) {
        memcpy(many + at, ",{}", 3);
        at += 3;
    }
    memcpy(many + at, "]}", 3);
    HS_CHECK_ERR(au_jwks_parse(many, strlen(many), &set), HS_ERR_INPUT_TOO_LARGE);
}

static HS_RESULT config_of(const char *text)
{
    static struct au_config c;
    return au_config_parse(text, strlen(text), &c);
}

HS_TEST(config_is_strict)
{
#define BASE "\"issuer\": \"i\", \"audiences\": [\"a\"], \"jwks\": {\"file\": \"f\"}"
    static const struct {
        const char *text;
        enum hs_code want;
        const char *detail;
    } rows[] = {
        {"{" BASE ", \"extra\": 1}", HS_ERR_INPUT_FIELD, "extra"},
        {"{" BASE ", \"issuer\": \"j\"}", HS_ERR_INPUT_JSON, "duplicate member \"issuer\""},
        {"{" BASE ", \"leeway_seconds\": 61}", HS_ERR_INPUT_RANGE, "leeway_seconds"},
        {"{" BASE ", \"leeway_seconds\": \"5\"}", HS_ERR_INPUT_FIELD, "leeway_seconds"},
        {"{" BASE ", \"algorithms\": [\"none\"]}", HS_ERR_INPUT_CONFIG, "none"},
        {"{" BASE ", \"algorithms\": []}", HS_ERR_INPUT_RANGE, "algorithms"},
        {"{\"issuer\": \"i\", \"audiences\": [\"a\"], \"jwks\": {}}", HS_ERR_INPUT_CONFIG, "jwks"},
        {"{\"issuer\": \"i\", \"audiences\": [\"a\"], \"jwks\": {\"file\": \"f\", \"url\": "
         "\"https://x/\"}}",
         HS_ERR_INPUT_CONFIG, "exactly one"},
        {"{\"issuer\": \"i\", \"audiences\": [\"a\"], \"jwks\": {\"url\": \"http://x.example/\"}}",
         HS_ERR_INPUT_CONFIG, "jwks.url"},
        {"{\"issuer\": \"i\", \"audiences\": [], \"jwks\": {\"file\": \"f\"}}", HS_ERR_INPUT_RANGE,
         "audiences"},
        {"{\"audiences\": [\"a\"], \"jwks\": {\"file\": \"f\"}}", HS_ERR_INPUT_FIELD, "issuer"},
        {"{" BASE ", \"routes\": {\"hello\": {\"scopes\": [\"r\"]}}}", HS_ERR_INPUT_CONFIG,
         "METHOD"},
        {"{" BASE ", \"routes\": {\"GET /x\": {\"scope\": [\"r\"]}}}", HS_ERR_INPUT_FIELD, "scope"},
        {"{" BASE ", \"mtls\": {\"require_cnf\": true}}", HS_ERR_INPUT_FIELD, "status_url"},
        {"{" BASE ", \"mtls\": {\"status_url\": \"https://h/\", \"dynamodb_table\": \"inv\"}}",
         HS_ERR_INPUT_FIELD, "exactly one"},
        {"{" BASE ", \"mtls\": {\"status_url\": \"https://h/\", \"endpoint\": \"https://d/\"}}",
         HS_ERR_INPUT_CONFIG, "mtls.endpoint"},
        {"{" BASE ", \"mtls\": {\"dynamodb_table\": \"a b\"}}", HS_ERR_INPUT_CONFIG,
         "mtls.dynamodb_table"},
        {"{" BASE ", \"mtls\": {\"status_url\": \"https://h/\", \"cache_seconds\": -1}}",
         HS_ERR_INPUT_RANGE, "cache_seconds"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        hs_error_clear();
        hs_result r = config_of(rows[i].text);
        bool ok = r.code == rows[i].want && strstr(hs_error_last()->detail, rows[i].detail) != NULL;
        if (!ok) {
            fprintf(stderr, "  row %zu: %s: %s\n", i, hs_code_name(r.code),
                    hs_error_last()->detail);
        }
        HS_CHECK(ok);
    }
    HS_CHECK_OK(config_of("{" BASE "}"));
#undef BASE
}

static const char *answer_of(const char *event, bool allow, struct au_config *c)
{
    static char out[4096];
    HS_DEFER(struct au_event *ev = NULL, au_event_freep);
    HS_DEFER(struct hs_buf *a = NULL, hs_buf_freep);
    struct au_grant g = {.sub = "alice", .kid = "k1", .scope = "read"};
    out[0] = '\0';
    if (hs_failed(au_event_parse(event, strlen(event), c, &ev)) ||
        hs_failed(au_event_answer(ev, allow, &g, allow ? AU_OK : AU_EXPIRED, &a))) {
        return out;
    }
    memcpy(out, hs_buf_data(a), hs_buf_len(a));
    out[hs_buf_len(a)] = '\0';
    return out;
}

HS_TEST(events_and_answers)
{
    static const char token_ev[] =
        "{\"type\": \"TOKEN\", \"authorizationToken\": \"Bearer abc.def.ghi\", \"methodArn\": "
        "\"arn:aws:execute-api:eu-west-1:111122223333:api1/prod/GET/hello/world\"}";
    HS_DEFER(struct au_event *ev = NULL, au_event_freep);
    HS_CHECK_OK(au_event_parse(token_ev, strlen(token_ev), &cfg, &ev));
    HS_CHECK(ev != NULL && ev->kind == AU_EVENT_REST_TOKEN && ev->token_len == 11 &&
             strcmp(ev->route, "GET /hello/world") == 0);
    HS_CHECK(strcmp(answer_of(token_ev, true, &cfg),
                    "{\"principalId\":\"alice\",\"policyDocument\":{\"Version\":\"2012-10-17\","
                    "\"Statement\":[{\"Action\":\"execute-api:Invoke\",\"Effect\":\"Allow\","
                    "\"Resource\":\"arn:aws:execute-api:eu-west-1:111122223333:api1/prod/GET/hello/"
                    "world\"}]},\"context\":{\"sub\":\"alice\",\"scope\":\"read\",\"kid\":\"k1\","
                    "\"x5t#S256\":\"\"}}") == 0);
    struct au_config wild = cfg;
    wild.wildcard_resource = true;
    HS_CHECK(strstr(answer_of(token_ev, false, &wild),
                    "\"Effect\":\"Deny\",\"Resource\":\"arn:aws:execute-api:eu-west-1:"
                    "111122223333:api1/prod/*\"}]},\"context\":{\"reason\":\"expired\"}") != NULL);
    static const char v2_ev[] = "{\"version\": \"2.0\", \"type\": \"REQUEST\", \"routeKey\": \"GET "
                                "/hello\", \"headers\": {\"authorization\": \"bearer  t.u.v\"}}";
    HS_CHECK(strcmp(answer_of(v2_ev, false, &cfg),
                    "{\"isAuthorized\":false,\"context\":{\"reason\":\"expired\"}}") == 0);
    static const char *const bad[] = {
        "{}",
        "{\"type\": \"TOKEN\", \"methodArn\": \"not-an-arn\"}",
        "{\"type\": \"TOKEN\", \"methodArn\": \"arn:aws:execute-api:r:a:api\"}",
        "{\"type\": \"WEBSOCKET\"}",
        "{\"version\": \"2.0\", \"type\": \"REQUEST\"}",
        "[]",
        "{\"type\": \"TOKEN\", \"type\": \"TOKEN\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        HS_DEFER(struct au_event *e = NULL, au_event_freep);
        hs_result r = au_event_parse(bad[i], strlen(bad[i]), &cfg, &e);
        HS_CHECK(hs_failed(r) && hs_code_class(r.code) == HS_CLASS_INPUT && e == NULL);
    }
    static const char garbled[] =
        "{\"type\": \"REQUEST\", \"methodArn\": \"arn:aws:execute-api:r:a:api/s/GET/\", "
        "\"headers\": {\"Authorization\": \"Basic dXNlcjpwYXNz\"}}";
    HS_DEFER(struct au_event *g = NULL, au_event_freep);
    HS_CHECK_OK(au_event_parse(garbled, strlen(garbled), &cfg, &g));
    HS_CHECK(g != NULL && g->token == NULL && g->token_garbled && strcmp(g->route, "GET /") == 0);
}

static void teardown(void)
{
    au_jwks_free(jwks);
    EVP_PKEY_free(k_p256);
    EVP_PKEY_free(k_p384);
    EVP_PKEY_free(k_rsa);
    EVP_PKEY_free(k_ed);
}

HS_TEST(setup_case)
{
    setup();
    HS_CHECK(k_p256 != NULL && k_p384 != NULL && k_rsa != NULL && k_ed != NULL);
}

HS_TEST(teardown_case)
{
    teardown();
    HS_CHECK(true);
}

int main(void)
{
    return hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(setup_case),
        HS_TEST_CASE(every_algorithm_verifies),
        HS_TEST_CASE(refusals_give_their_reason),
        HS_TEST_CASE(tampering_and_encoding),
        HS_TEST_CASE(claims_times_issuer_audience_scopes),
        HS_TEST_CASE(bad_jwks_are_refused),
        HS_TEST_CASE(config_is_strict),
        HS_TEST_CASE(events_and_answers),
        HS_TEST_CASE(teardown_case),
        HS_TEST_END,
    });
}
