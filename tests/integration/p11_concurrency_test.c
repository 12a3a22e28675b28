/*
 * The pool under concurrency: 8 threads x 1,000 signs on one key through a pool of 4 sessions
 * (so threads wait for sessions), each over its own message; every signature must verify.
 * Runs under ASan in scripts/test.sh and under valgrind --leak-check=full (label "valgrind").
 * HSMSIGN_CONCURRENCY_SIGNS overrides the per-thread count (for a quick run on a real HSM);
 * HSMSIGN_CONCURRENCY_RSA=0 skips the RSA case (valgrind: the P-256 case is the test).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hs_defer.h"
#include "pkcs11/p11_evp.h"
#include "tests/testlib/hs_test.h"
#include "tests/testlib/hs_test_p11.h"

#define THREADS 8
#define SIGNS_DEFAULT 1000

static struct p11_module *module;
static struct p11_pool *pool;
static int signs_per_thread = SIGNS_DEFAULT;

struct worker {
    pthread_t thread;
    int id;
    struct p11_key *key;
    enum p11_sig_alg alg;
    int signed_ok;
    int verified;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < signs_per_thread; i++) {
        unsigned char msg[64];
        int n = snprintf((char *)msg, sizeof(msg), "thread %d message %d", w->id, i);
        struct hs_buf *sig = hs_buf_new(P11_SIG_MAX);
        if (sig != NULL &&
            !hs_failed(p11_sign(w->key, w->alg, P11_SIG_FORMAT_DER, msg, (size_t)n, sig))) {
            w->signed_ok++;
            w->verified +=
                hs_test_p11_verify(w->key, w->alg, P11_SIG_FORMAT_DER, msg, (size_t)n, sig) == 1;
        }
        hs_buf_free(sig);
    }
    return NULL;
}

static void hammer(struct p11_key *key, enum p11_sig_alg alg)
{
    struct worker w[THREADS];
    memset(w, 0, sizeof(w));
    for (int t = 0; t < THREADS; t++) {
        w[t] = (struct worker){.id = t, .key = key, .alg = alg};
        HS_CHECK(pthread_create(&w[t].thread, NULL, worker_main, &w[t]) == 0);
    }
    int ok = 0;
    int verified = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(w[t].thread, NULL);
        ok += w[t].signed_ok;
        verified += w[t].verified;
    }
    fprintf(stderr, "  %d signs, %d verified\n", ok, verified);
    HS_CHECK(ok == THREADS * signs_per_thread);
    HS_CHECK(verified == THREADS * signs_per_thread);
    struct p11_pool_stats st;
    p11_pool_get_stats(pool, &st);
    HS_CHECK(st.in_use == 0);
    HS_CHECK(st.busy == 0);
}

HS_TEST(eight_threads_ecdsa_p256_every_signature_verifies)
{
    HS_DEFER(struct p11_key *k = hs_test_p11_keygen(pool, P11_KEY_EC_P256, 0, "conc-p256"),
             p11_key_freep);
    if (k != NULL) {
        hammer(k, P11_SIG_ECDSA_SHA256);
    }
}

HS_TEST(eight_threads_rsa_2048_every_signature_verifies)
{
    HS_DEFER(struct p11_key *k = hs_test_p11_keygen(pool, P11_KEY_RSA, 2048, "conc-rsa"),
             p11_key_freep);
    const char *rsa = getenv("HSMSIGN_CONCURRENCY_RSA");
    if (rsa != NULL && strcmp(rsa, "0") == 0) {
        fprintf(stderr, "  RSA case skipped (HSMSIGN_CONCURRENCY_RSA=0)\n");
        return;
    }
    int saved = signs_per_thread;
    /* RSA-2048 signs are ~20x slower than P-256 on SoftHSM; 1/10 of the count keeps the
     * suite quick while still overlapping every thread. */
    signs_per_thread = saved / 10 > 0 ? saved / 10 : 1;
    if (k != NULL) {
        hammer(k, P11_SIG_RSA_PKCS1_SHA256);
    }
    signs_per_thread = saved;
}

int main(void)
{
    const char *n = getenv("HSMSIGN_CONCURRENCY_SIGNS");
    if (n != NULL && atoi(n) > 0) {
        signs_per_thread = atoi(n);
    }
    if (hs_failed(p11_evp_init()) || hs_test_p11_open(4, &module, &pool) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    int rc = hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(eight_threads_ecdsa_p256_every_signature_verifies),
        HS_TEST_CASE(eight_threads_rsa_2048_every_signature_verifies),
        HS_TEST_END,
    });
    hs_test_p11_cleanup(pool);
    p11_pool_free(pool);
    p11_module_free(module);
    return rc;
}
