/*
 * pkcs11/ against a real SoftHSM2 token (made fresh by the softhsm_token CTest fixture):
 * key generation and its protection attributes, that private values cannot be read, every
 * signing mechanism verified by OpenSSL, lookup by RFC 7512 URI, the OpenSSL provider, and
 * recovery from a session that really closed under the pool.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "common/hs_defer.h"
#include "common/hs_secret.h"
#include "pkcs11/p11_config.h"
#include "pkcs11/p11_error.h"
#include "pkcs11/p11_evp.h"
#include "pkcs11/p11_key.h"
#include "pkcs11/p11_pool.h"
#include "pkcs11/p11_sign.h"
#include "tests/testlib/hs_test.h"
#include "tests/testlib/hs_test_p11.h"

static struct p11_module *module;
static struct p11_pool *pool;

static const unsigned char msg[] = "the quick brown fox signs over the lazy token";

static const char *label(const char *name)
{
    return hs_test_p11_label(name);
}

static struct p11_key *gen(enum p11_key_type type, unsigned int bits, const char *name)
{
    return hs_test_p11_keygen(pool, type, bits, name);
}

static int verify(struct p11_key *k, const char *md, int pad, const struct hs_buf *sig)
{
    HS_DEFER(EVP_MD_CTX *ctx = EVP_MD_CTX_new(), hs_evp_md_ctx_freep);
    EVP_PKEY_CTX *pctx = NULL;
    if (EVP_DigestVerifyInit_ex(ctx, &pctx, md, NULL, NULL, p11_key_get0_public(k), NULL) != 1) {
        return -1;
    }
    if (pad == RSA_PKCS1_PSS_PADDING) {
        EVP_PKEY_CTX_set_rsa_padding(pctx, pad);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    return EVP_DigestVerify(ctx, hs_buf_data(sig), hs_buf_len(sig), msg, sizeof(msg));
}

/* Reads one attribute of the key's private object directly; returns the CK_RV. */
struct raw_read {
    struct p11_key *key;
    CK_ATTRIBUTE_TYPE type;
    CK_RV rv;
};

static HS_RESULT raw_read_op(const struct p11_call *call, void *arg)
{
    struct raw_read *rr = arg;
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    HS_GUARD(p11_key_handle(rr->key, call, &h));
    unsigned char value[1024];
    CK_ATTRIBUTE a = {rr->type, value, sizeof(value)};
    rr->rv = call->fn->C_GetAttributeValue(call->session, h, &a, 1);
    return HS_OK;
}

HS_TEST(generated_keys_are_protected_and_private_values_unreadable)
{
    HS_DEFER(struct p11_key *ec = gen(P11_KEY_EC_P256, 0, "ec-protect"), p11_key_freep);
    HS_DEFER(struct p11_key *rsa = gen(P11_KEY_RSA, 2048, "rsa-protect"), p11_key_freep);
    if (ec == NULL || rsa == NULL) {
        return;
    }
    struct p11_key_attrs a;
    HS_CHECK_OK(p11_key_get_attrs(ec, &a));
    HS_CHECK(a.token && a.private_ && a.sensitive && a.always_sensitive && !a.extractable &&
             a.never_extractable && a.sign && !a.decrypt && !a.unwrap && !a.derive);
    HS_CHECK_OK(p11_key_check_protected(rsa));
    struct raw_read ec_value = {ec, CKA_VALUE, CKR_OK};
    HS_CHECK_OK(p11_pool_run(pool, raw_read_op, &ec_value));
    HS_CHECK(ec_value.rv == CKR_ATTRIBUTE_SENSITIVE);
    struct raw_read rsa_d = {rsa, CKA_PRIVATE_EXPONENT, CKR_OK};
    HS_CHECK_OK(p11_pool_run(pool, raw_read_op, &rsa_d));
    HS_CHECK(rsa_d.rv == CKR_ATTRIBUTE_SENSITIVE);
    struct raw_read rsa_p = {rsa, CKA_PRIME_1, CKR_OK};
    HS_CHECK_OK(p11_pool_run(pool, raw_read_op, &rsa_p));
    HS_CHECK(rsa_p.rv == CKR_ATTRIBUTE_SENSITIVE);
    HS_CHECK(p11_key_bits(rsa) == 2048 && p11_key_bits(ec) == 256);
}

HS_TEST(rsa_signatures_verify_with_openssl)
{
    static const struct {
        enum p11_sig_alg alg;
        const char *md;
        int pad;
    } cases[] = {
        {P11_SIG_RSA_PKCS1_SHA256, "SHA256", RSA_PKCS1_PADDING},
        {P11_SIG_RSA_PKCS1_SHA384, "SHA384", RSA_PKCS1_PADDING},
        {P11_SIG_RSA_PKCS1_SHA512, "SHA512", RSA_PKCS1_PADDING},
        {P11_SIG_RSA_PSS_SHA256, "SHA256", RSA_PKCS1_PSS_PADDING},
        {P11_SIG_RSA_PSS_SHA384, "SHA384", RSA_PKCS1_PSS_PADDING},
    };
    HS_DEFER(struct p11_key *k = gen(P11_KEY_RSA, 3072, "rsa-sign"), p11_key_freep);
    if (k == NULL) {
        return;
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        HS_DEFER(struct hs_buf *sig = hs_buf_new(P11_SIG_MAX), hs_buf_freep);
        HS_CHECK_OK(p11_sign(k, cases[i].alg, P11_SIG_FORMAT_DER, msg, sizeof(msg), sig));
        HS_CHECK(hs_buf_len(sig) == 384);
        HS_CHECK(verify(k, cases[i].md, cases[i].pad, sig) == 1);
        /* The same signature over another message must not verify. */
        if (hs_buf_len(sig) > 0) {
            unsigned char *p = NULL;
            HS_DEFER(struct hs_buf *bad = hs_buf_new(P11_SIG_MAX), hs_buf_freep);
            HS_CHECK_OK(hs_buf_reserve(bad, hs_buf_len(sig), &p));
            memcpy(p, hs_buf_data(sig), hs_buf_len(sig));
            p[10] ^= 0x40;
            HS_CHECK_OK(hs_buf_commit(bad, hs_buf_len(sig)));
            HS_CHECK(verify(k, cases[i].md, cases[i].pad, bad) != 1);
        }
    }
}

/* Raw r||s must have exactly 2 x coordinate bytes and verify once DER-encoded. */
static void check_ecdsa(enum p11_key_type type, enum p11_sig_alg alg, const char *md, size_t coord)
{
    HS_DEFER(struct p11_key *k = gen(type, 0, type == P11_KEY_EC_P256 ? "p256" : "p384"),
             p11_key_freep);
    if (k == NULL) {
        return;
    }
    HS_DEFER(struct hs_buf *der = hs_buf_new(P11_SIG_MAX), hs_buf_freep);
    HS_CHECK_OK(p11_sign(k, alg, P11_SIG_FORMAT_DER, msg, sizeof(msg), der));
    HS_CHECK(verify(k, md, 0, der) == 1);
    HS_DEFER(struct hs_buf *raw = hs_buf_new(P11_SIG_MAX), hs_buf_freep);
    HS_CHECK_OK(p11_sign(k, alg, P11_SIG_FORMAT_RAW, msg, sizeof(msg), raw));
    HS_CHECK(hs_buf_len(raw) == 2 * coord);
    if (hs_buf_len(raw) != 2 * coord) {
        return;
    }
    ECDSA_SIG *s = ECDSA_SIG_new();
    ECDSA_SIG_set0(s, BN_bin2bn(hs_buf_data(raw), (int)coord, NULL),
                   BN_bin2bn(hs_buf_data(raw) + coord, (int)coord, NULL));
    unsigned char *p = NULL;
    int n = i2d_ECDSA_SIG(s, &p);
    HS_DEFER(struct hs_buf *conv = hs_buf_new(P11_SIG_MAX), hs_buf_freep);
    HS_CHECK_OK(hs_buf_put(conv, p, (size_t)n));
    OPENSSL_free(p);
    ECDSA_SIG_free(s);
    HS_CHECK(verify(k, md, 0, conv) == 1);
    HS_CHECK_ERR(p11_sign(k, P11_SIG_RSA_PKCS1_SHA256, P11_SIG_FORMAT_DER, msg, sizeof(msg), der),
                 HS_ERR_INPUT_KEY);
}

HS_TEST(ecdsa_signatures_verify_in_der_and_raw_form)
{
    check_ecdsa(P11_KEY_EC_P256, P11_SIG_ECDSA_SHA256, "SHA256", 32);
    check_ecdsa(P11_KEY_EC_P384, P11_SIG_ECDSA_SHA384, "SHA384", 48);
}

/* EdDSA (RFC 8032) where the token offers CKM_EDDSA: raw signatures and X.509 via the provider. */
HS_TEST(ed25519_signatures_verify_where_the_token_offers_eddsa)
{
    if (hs_failed(p11_sign_check(pool, P11_KEY_ED25519, 0, P11_SIG_EDDSA))) {
        fprintf(stderr, "  token lacks CKM_EDDSA: %s\n", hs_error_last()->detail);
        return;
    }
    HS_DEFER(struct p11_key *k = gen(P11_KEY_ED25519, 0, "ed25519"), p11_key_freep);
    if (k == NULL) {
        return;
    }
    HS_DEFER(struct hs_buf *sig = hs_buf_new(P11_SIG_MAX), hs_buf_freep);
    HS_CHECK_OK(p11_sign(k, P11_SIG_EDDSA, P11_SIG_FORMAT_RAW, msg, sizeof(msg), sig));
    HS_CHECK(hs_buf_len(sig) == 64);
    HS_CHECK(hs_test_p11_verify(k, P11_SIG_EDDSA, P11_SIG_FORMAT_RAW, msg, sizeof(msg), sig) == 1);
    HS_DEFER(X509 *x = X509_new(), hs_x509_freep);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 9);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"ed", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 60);
    X509_set_pubkey(x, p11_key_get0_public(k));
    HS_DEFER(EVP_MD_CTX *mctx = NULL, hs_evp_md_ctx_freep);
    HS_CHECK_OK(p11_evp_sign_ctx_new(k, P11_SIG_EDDSA, &mctx));
    HS_CHECK(mctx != NULL && X509_sign_ctx(x, mctx) > 0);
    HS_CHECK(X509_verify(x, p11_key_get0_public(k)) == 1);
    HS_CHECK(X509_get_signature_nid(x) == NID_ED25519);
}

HS_TEST(keygen_refuses_bad_specs_and_existing_labels)
{
    struct p11_key *k = NULL;
    struct p11_keygen_spec small = {.type = P11_KEY_RSA, .rsa_bits = 1024, .label = label("x")};
    HS_CHECK_ERR(p11_key_generate(pool, &small, &k), HS_ERR_INPUT_KEY);
    struct p11_keygen_spec odd = {.type = P11_KEY_RSA, .rsa_bits = 2049, .label = label("x")};
    HS_CHECK_ERR(p11_key_generate(pool, &odd, &k), HS_ERR_INPUT_KEY);
    struct p11_keygen_spec empty = {.type = P11_KEY_EC_P256, .label = ""};
    HS_CHECK_ERR(p11_key_generate(pool, &empty, &k), HS_ERR_INPUT_KEY);
    HS_DEFER(struct p11_key *first = gen(P11_KEY_EC_P256, 0, "dup"), p11_key_freep);
    struct p11_keygen_spec again = {.type = P11_KEY_EC_P384, .label = label("dup")};
    HS_CHECK_ERR(p11_key_generate(pool, &again, &k), HS_ERR_INPUT_EXISTS);
    size_t id_len = 0;
    const unsigned char *id = first != NULL ? p11_key_id(first, &id_len) : NULL;
    struct p11_keygen_spec same_id = {
        .type = P11_KEY_EC_P256, .label = label("dup-id"), .id = id, .id_len = id_len};
    HS_CHECK_ERR(p11_key_generate(pool, &same_id, &k), HS_ERR_INPUT_EXISTS);
    HS_CHECK(k == NULL);
}

HS_TEST(keys_are_found_by_uri_label_and_id)
{
    HS_DEFER(struct p11_key *k = gen(P11_KEY_EC_P256, 0, "find-me"), p11_key_freep);
    if (k == NULL) {
        return;
    }
    char uri[512];
    snprintf(uri, sizeof(uri), "pkcs11:token=%s;object=%s;type=private", hs_test_p11_token_label(),
             label("find-me"));
    HS_DEFER(struct p11_key *by_uri = NULL, p11_key_freep);
    HS_CHECK_OK(p11_key_find(pool, uri, &by_uri));
    HS_CHECK(by_uri != NULL &&
             EVP_PKEY_eq(p11_key_get0_public(by_uri), p11_key_get0_public(k)) == 1);
    HS_DEFER(struct p11_key *by_label = NULL, p11_key_freep);
    HS_CHECK_OK(p11_key_find(pool, label("find-me"), &by_label));
    size_t id_len = 0;
    const unsigned char *id = p11_key_id(k, &id_len);
    int n = snprintf(uri, sizeof(uri), "pkcs11:id=");
    for (size_t i = 0; i < id_len; i++) {
        n += snprintf(uri + n, sizeof(uri) - (size_t)n, "%%%02x", id[i]);
    }
    HS_DEFER(struct p11_key *by_id = NULL, p11_key_freep);
    HS_CHECK_OK(p11_key_find(pool, uri, &by_id));
    HS_CHECK(by_id != NULL && strcmp(p11_key_label(by_id), label("find-me")) == 0);
    struct p11_key *none = NULL;
    HS_CHECK_ERR(p11_key_find(pool, label("no-such-key"), &none), HS_ERR_HSM_KEY_NOT_FOUND);
    HS_CHECK_ERR(p11_key_find(pool, "pkcs11:token=another-token;object=x", &none),
                 HS_ERR_HSM_KEY_NOT_FOUND);
    snprintf(uri, sizeof(uri), "pkcs11:object=%s?pin-value=1234", label("find-me"));
    HS_CHECK_ERR(p11_key_find(pool, uri, &none), HS_ERR_INPUT_CONFIG);
    HS_CHECK_ERR(p11_key_find(pool, "pkcs11:object=x;type=cert", &none), HS_ERR_INPUT_CONFIG);
    HS_CHECK_ERR(p11_key_find(pool, "pkcs11:type=private", &none), HS_ERR_INPUT_CONFIG);
    HS_CHECK(none == NULL);
}

HS_TEST(provider_signs_x509_with_c_sign)
{
    HS_DEFER(struct p11_key *k = gen(P11_KEY_EC_P384, 0, "x509"), p11_key_freep);
    if (k == NULL) {
        return;
    }
    HS_DEFER(X509 *x = X509_new(), hs_x509_freep);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"p11", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 60);
    X509_set_pubkey(x, p11_key_get0_public(k));
    HS_DEFER(EVP_MD_CTX *mctx = NULL, hs_evp_md_ctx_freep);
    HS_CHECK_OK(p11_evp_sign_ctx_new(k, P11_SIG_ECDSA_SHA384, &mctx));
    HS_CHECK(mctx != NULL && X509_sign_ctx(x, mctx) > 0);
    HS_CHECK(X509_verify(x, p11_key_get0_public(k)) == 1);
    HS_CHECK(X509_get_signature_nid(x) == NID_ecdsa_with_SHA384);
    EVP_MD_CTX *wrong = NULL;
    HS_CHECK_ERR(p11_evp_sign_ctx_new(k, P11_SIG_RSA_PKCS1_SHA256, &wrong), HS_ERR_INPUT_KEY);
}

/* An operation whose first run really closes its session and reports it lost. */
struct lose_once {
    int runs;
    struct p11_key *key;
};

static HS_RESULT lose_once_op(const struct p11_call *call, void *arg)
{
    struct lose_once *lo = arg;
    if (lo->runs++ == 0) {
        HS_GUARD_CKR(call->fn->C_CloseSession(call->session));
        HS_GUARD_CKR(call->fn->C_GetSessionInfo(call->session, &(CK_SESSION_INFO){0}));
    }
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    return p11_key_handle(lo->key, call, &h);
}

HS_TEST(a_session_lost_under_the_pool_is_replaced_and_the_call_retried)
{
    HS_DEFER(struct p11_key *k = gen(P11_KEY_EC_P256, 0, "recover"), p11_key_freep);
    if (k == NULL) {
        return;
    }
    struct p11_pool_stats before;
    struct p11_pool_stats after;
    p11_pool_get_stats(pool, &before);
    uint64_t epoch = p11_pool_epoch(pool);
    struct lose_once lo = {0, k};
    HS_CHECK_OK(p11_pool_run(pool, lose_once_op, &lo));
    p11_pool_get_stats(pool, &after);
    HS_CHECK(lo.runs == 2);
    HS_CHECK(after.reopened == before.reopened + 1);
    HS_CHECK(p11_pool_epoch(pool) > epoch);
    /* The key's cached handle belonged to the old epoch; signing still works. */
    HS_DEFER(struct hs_buf *sig = hs_buf_new(P11_SIG_MAX), hs_buf_freep);
    HS_CHECK_OK(p11_sign(k, P11_SIG_ECDSA_SHA256, P11_SIG_FORMAT_DER, msg, sizeof(msg), sig));
    HS_CHECK(verify(k, "SHA256", 0, sig) == 1);
    HS_CHECK_OK(p11_pool_ping(pool));
}

/* (A wrong PIN cannot be tried here: this process is already logged in to the token, and
 * PKCS#11 login state is per application. e2e_test.sh starts hsmsignd with a wrong PIN.) */
HS_TEST(an_unknown_token_is_refused)
{
    HS_DEFER(struct hs_secret *pin = NULL, hs_secret_freep);
    HS_CHECK_OK(hs_secret_from_bytes("irrelevant", 10, &pin));
    struct p11_pool_config missing = {.token_label = "no-such-token", .pin = pin};
    struct p11_pool *p = NULL;
    HS_CHECK_ERR(p11_pool_new(module, &missing, &p), HS_ERR_HSM_TOKEN_NOT_FOUND);
    HS_CHECK(p == NULL);
}

/* An operation that keeps its session for a while, to exhaust a one-session pool. */
static HS_RESULT hold_session_op(const struct p11_call *call, void *arg)
{
    (void)call;
    (void)arg;
    struct timespec ts = {0, 600 * 1000000L};
    nanosleep(&ts, NULL);
    return HS_OK;
}

struct holder {
    struct p11_pool *pool;
    hs_result r;
};

static void *hold_thread(void *arg)
{
    struct holder *h = arg;
    h->r = p11_pool_run(h->pool, hold_session_op, NULL);
    return NULL;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* With every session lent, a caller waits at most wait_ms and then gets HS_ERR_HSM_BUSY (the
 * API answers 503); once the session comes back, the next caller is served. */
HS_TEST(an_exhausted_pool_answers_busy_after_the_wait)
{
    HS_DEFER(struct hs_secret *pin = NULL, hs_secret_freep);
    struct p11_token_config tc = {.pin_file = hs_test_p11_pin_file()};
    HS_CHECK_OK(p11_token_config_pin(&tc, &pin));
    struct p11_pool_config cfg = {
        .token_label = hs_test_p11_token_label(), .pin = pin, .size = 1, .wait_ms = 100};
    HS_DEFER(struct p11_pool *one = NULL, p11_pool_freep);
    HS_CHECK_OK(p11_pool_new(module, &cfg, &one));
    if (one == NULL) {
        return;
    }
    struct holder h = {one, HS_OK};
    pthread_t t;
    HS_CHECK(pthread_create(&t, NULL, hold_thread, &h) == 0);
    struct timespec settle = {0, 100 * 1000000L};
    nanosleep(&settle, NULL);
    double t0 = mono_s();
    HS_CHECK_ERR(p11_pool_ping(one), HS_ERR_HSM_BUSY);
    double waited = mono_s() - t0;
    HS_CHECK(waited >= 0.09 && waited < 0.5);
    struct p11_pool_stats st;
    p11_pool_get_stats(one, &st);
    HS_CHECK(st.busy == 1 && st.in_use == 1);
    pthread_join(t, NULL);
    HS_CHECK(!hs_failed(h.r));
    HS_CHECK_OK(p11_pool_ping(one));
}

/* A forked child re-initialises the module before its first use (PKCS#11 v2.40 §6.7.1) and
 * signs with the parent's pool and key; the parent's sessions are untouched. */
HS_TEST(a_forked_child_reinitialises_and_signs)
{
    HS_DEFER(struct p11_key *k = gen(P11_KEY_EC_P256, 0, "fork"), p11_key_freep);
    if (k == NULL) {
        return;
    }
    uint64_t epoch = p11_pool_epoch(pool);
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        struct hs_buf *sig = hs_buf_new(P11_SIG_MAX);
        int ok = sig != NULL &&
                 !hs_failed(p11_sign(k, P11_SIG_ECDSA_SHA256, P11_SIG_FORMAT_DER, msg, sizeof(msg),
                                     sig)) &&
                 hs_test_p11_verify(k, P11_SIG_ECDSA_SHA256, P11_SIG_FORMAT_DER, msg, sizeof(msg),
                                    sig) == 1 &&
                 p11_pool_epoch(pool) > epoch;
        hs_buf_free(sig);
        _exit(ok ? 0 : 3);
    }
    HS_CHECK(child > 0);
    int status = -1;
    HS_CHECK(waitpid(child, &status, 0) == child);
    HS_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    HS_DEFER(struct hs_buf *sig = hs_buf_new(P11_SIG_MAX), hs_buf_freep);
    HS_CHECK_OK(p11_sign(k, P11_SIG_ECDSA_SHA256, P11_SIG_FORMAT_DER, msg, sizeof(msg), sig));
    HS_CHECK(verify(k, "SHA256", 0, sig) == 1);
    HS_CHECK(p11_pool_epoch(pool) == epoch);
}

int main(void)
{
    if (hs_failed(p11_evp_init()) || hs_test_p11_open(4, &module, &pool) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    int rc = hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(generated_keys_are_protected_and_private_values_unreadable),
        HS_TEST_CASE(rsa_signatures_verify_with_openssl),
        HS_TEST_CASE(ecdsa_signatures_verify_in_der_and_raw_form),
        HS_TEST_CASE(ed25519_signatures_verify_where_the_token_offers_eddsa),
        HS_TEST_CASE(keygen_refuses_bad_specs_and_existing_labels),
        HS_TEST_CASE(keys_are_found_by_uri_label_and_id),
        HS_TEST_CASE(provider_signs_x509_with_c_sign),
        HS_TEST_CASE(a_session_lost_under_the_pool_is_replaced_and_the_call_retried),
        HS_TEST_CASE(an_unknown_token_is_refused),
        HS_TEST_CASE(an_exhausted_pool_answers_busy_after_the_wait),
        HS_TEST_CASE(a_forked_child_reinitialises_and_signs),
        HS_TEST_END,
    });
    hs_test_p11_cleanup(pool);
    p11_pool_free(pool);
    p11_module_free(module);
    return rc;
}
