#include "tests/testlib/hs_test_p11.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "common/hs_defer.h"
#include "pkcs11/p11_config.h"
#include "pkcs11/p11_error.h"
#include "tests/testlib/hs_test.h"

#define HS_TEST_LABELS_MAX 256

static char test_module[1024];
static char test_label[64];
static char test_pin_file[1024];
static char labels[HS_TEST_LABELS_MAX][P11_LABEL_MAX + 1];
static size_t nlabels;
static pthread_mutex_t labels_lock = PTHREAD_MUTEX_INITIALIZER;

static void copy_env(char *out, size_t len, const char *value)
{
    hs_test_format(out, len, "%s", value);
}

/* HSMSIGN_TEST_POOL_WAIT_MS: milliseconds, 0 (the pool's default) when unset; a value that is
 * not a number up to an hour fails the test program rather than being read as 0. */
static unsigned int pool_wait_ms(void)
{
    const char *wait = getenv("HSMSIGN_TEST_POOL_WAIT_MS");
    if (wait == NULL || wait[0] == '\0') {
        return 0;
    }
    char *end = NULL;
    errno = 0;
    unsigned long ms = strtoul(wait, &end, 10);
    if (errno != 0 || *end != '\0' || wait[0] == '-' || ms > 3600000UL) {
        fprintf(stderr, "HSMSIGN_TEST_POOL_WAIT_MS is not a number of milliseconds\n");
        exit(1);
    }
    return (unsigned int)ms;
}

int hs_test_p11_open(size_t pool_size, struct p11_module **module, struct p11_pool **pool)
{
    copy_env(test_module, sizeof(test_module), hs_test_env("HSMSIGN_TEST_MODULE"));
    copy_env(test_label, sizeof(test_label), hs_test_env("HSMSIGN_TEST_TOKEN_LABEL"));
    const char *pin = getenv("HSMSIGN_TEST_PIN_FILE");
    if (pin != NULL && pin[0] != '\0') {
        copy_env(test_pin_file, sizeof(test_pin_file), pin);
    } else {
        hs_test_format(test_pin_file, sizeof(test_pin_file), "%s/user.pin",
                       hs_test_env("HSMSIGN_TEST_TOKEN_DIR"));
    }
    /* Under valgrind threads run one at a time: HSMSIGN_TEST_POOL_WAIT_MS lengthens the wait. */
    struct p11_token_config tc = {.module = test_module,
                                  .label = test_label,
                                  .pin_file = test_pin_file,
                                  .pool_size = pool_size,
                                  .wait_ms = pool_wait_ms()};
    hs_result r = p11_token_open(&tc, module, pool);
    if (hs_failed(r)) {
        hs_test_report(__FILE__, __LINE__, "open the test token");
        return -1;
    }
    return 0;
}

const char *hs_test_p11_module_path(void)
{
    return test_module;
}

const char *hs_test_p11_token_label(void)
{
    return test_label;
}

const char *hs_test_p11_pin_file(void)
{
    return test_pin_file;
}

const char *hs_test_p11_label(const char *name)
{
    static _Thread_local char buf[P11_LABEL_MAX + 1];
    hs_test_format(buf, sizeof(buf), "hsmsign-test-%ld-%s", (long)getpid(), name);
    pthread_mutex_lock(&labels_lock);
    bool known = false;
    for (size_t i = 0; i < nlabels; i++) {
        known = known || strcmp(labels[i], buf) == 0;
    }
    if (!known && nlabels < HS_TEST_LABELS_MAX) {
        memcpy(labels[nlabels++], buf, sizeof(buf));
    }
    pthread_mutex_unlock(&labels_lock);
    return buf;
}

struct p11_key *hs_test_p11_keygen(struct p11_pool *pool, enum p11_key_type type,
                                   unsigned int rsa_bits, const char *name)
{
    struct p11_keygen_spec spec = {
        .type = type, .rsa_bits = rsa_bits, .label = hs_test_p11_label(name)};
    struct p11_key *k = NULL;
    HS_CHECK_OK(p11_key_generate(pool, &spec, &k));
    return k;
}

struct destroy_op {
    const char *label;
    size_t destroyed;
};

static HS_RESULT destroy_label_op(const struct p11_call *call, void *arg)
{
    struct destroy_op *op = arg;
    CK_ATTRIBUTE tmpl = {CKA_LABEL, (void *)op->label, strlen(op->label)};
    CK_OBJECT_HANDLE found[16];
    CK_ULONG n = 0;
    HS_GUARD_CKR(call->fn->C_FindObjectsInit(call->session, &tmpl, 1));
    CK_RV rv = call->fn->C_FindObjects(call->session, found, 16, &n);
    HS_IGNORE(call->fn->C_FindObjectsFinal(call->session));
    HS_GUARD_CKR(rv);
    for (CK_ULONG i = 0; i < n; i++) {
        if (call->fn->C_DestroyObject(call->session, found[i]) == CKR_OK) {
            op->destroyed++;
        }
    }
    return HS_OK;
}

void hs_test_p11_cleanup(struct p11_pool *pool)
{
    size_t destroyed = 0;
    for (size_t i = 0; pool != NULL && i < nlabels; i++) {
        struct destroy_op op = {labels[i], 0};
        if (!hs_failed(p11_pool_run(pool, destroy_label_op, &op))) {
            destroyed += op.destroyed;
        }
    }
    fprintf(stderr, "cleanup: destroyed %zu test objects under %zu labels\n", destroyed, nlabels);
    nlabels = 0;
}

/* r||s -> DER ECDSA-Sig-Value, for verifying raw JWS-style signatures. */
static int raw_to_der(const struct hs_buf *raw, unsigned char **der)
{
    size_t half = hs_buf_len(raw) / 2;
    ECDSA_SIG *s = ECDSA_SIG_new();
    ECDSA_SIG_set0(s, BN_bin2bn(hs_buf_data(raw), (int)half, NULL),
                   BN_bin2bn(hs_buf_data(raw) + half, (int)half, NULL));
    int n = i2d_ECDSA_SIG(s, der);
    ECDSA_SIG_free(s);
    return n;
}

int hs_test_p11_verify(struct p11_key *key, enum p11_sig_alg alg, enum p11_sig_format format,
                       const unsigned char *msg, size_t len, const struct hs_buf *sig)
{
    HS_DEFER(EVP_MD_CTX *ctx = EVP_MD_CTX_new(), hs_evp_md_ctx_freep);
    EVP_PKEY_CTX *pctx = NULL;
    if (ctx == NULL || EVP_DigestVerifyInit_ex(ctx, &pctx, p11_sig_alg_digest(alg), NULL, NULL,
                                               p11_key_get0_public(key), NULL) != 1) {
        return -1;
    }
    if (alg == P11_SIG_RSA_PSS_SHA256 || alg == P11_SIG_RSA_PSS_SHA384) {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    bool ecdsa = alg == P11_SIG_ECDSA_SHA256 || alg == P11_SIG_ECDSA_SHA384;
    if (ecdsa && format == P11_SIG_FORMAT_RAW) {
        unsigned char *der = NULL;
        int n = raw_to_der(sig, &der);
        int ok = n > 0 ? EVP_DigestVerify(ctx, der, (size_t)n, msg, len) : -1;
        OPENSSL_free(der);
        return ok;
    }
    return EVP_DigestVerify(ctx, hs_buf_data(sig), hs_buf_len(sig), msg, len);
}
