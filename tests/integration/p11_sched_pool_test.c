/*
 * The pool's scheduler on the real SoftHSM2 fixture token: two sessions, two classes of equal
 * weight, a flood of class A (6 threads signing RSA-2048 in a loop) and a trickle of class B
 * (one thread). Checked on counts, not timings:
 *   - every signature of both classes is made and verifies, none is refused or times out;
 *   - the pool runs each operation in its thread's class (admissions per class are exact);
 *   - B is never starved: whenever its thread waits it is below its share (it holds no slot),
 *     so the next freed slot is its own and no A operation is admitted ahead of it
 *     (bypassed_max 0), however long A's queue is -- first-come order would let every queued A
 *     operation pass;
 *   - afterwards nothing is in flight or queued.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/hs_defer.h"
#include "common/hs_secret.h"
#include "pkcs11/p11_evp.h"
#include "pkcs11/p11_sched.h"
#include "tests/testlib/hs_test.h"
#include "tests/testlib/hs_test_p11.h"

#define A_THREADS 6
#define A_SIGNS 30
#define B_SIGNS 20

enum {
    CLASS_A = 0,
    CLASS_B = 1
};

static struct p11_module *module;
static struct p11_pool *fixture_pool; /* hs_test_p11_open's, for the module and cleanup */

struct signer {
    pthread_t thread;
    struct p11_key *key;
    unsigned int cls;
    int n;
    int ok;
    int verified;
    enum hs_code last_error;
};

static void *signer_main(void *arg)
{
    struct signer *w = arg;
    HS_IGNORE(p11_sched_class_swap(w->cls));
    for (int i = 0; i < w->n; i++) {
        unsigned char msg[64];
        int len = snprintf((char *)msg, sizeof(msg), "class %u message %d", w->cls, i);
        struct hs_buf *sig = hs_buf_new(P11_SIG_MAX);
        hs_result r = sig == NULL ? (hs_result){.code = HS_ERR_NOMEM}
                                  : p11_sign(w->key, P11_SIG_RSA_PKCS1_SHA256, P11_SIG_FORMAT_DER,
                                             msg, (size_t)len, sig);
        if (hs_failed(r)) {
            w->last_error = r.code;
        } else {
            w->ok++;
            w->verified += hs_test_p11_verify(w->key, P11_SIG_RSA_PKCS1_SHA256, P11_SIG_FORMAT_DER,
                                              msg, (size_t)len, sig) == 1;
        }
        hs_buf_free(sig);
    }
    return NULL;
}

/* A pool of 2 sessions on the fixture token with classes A and B of equal weight. */
static struct p11_pool *two_class_pool(void)
{
    HS_DEFER(struct hs_secret *pin = NULL, hs_secret_freep);
    HS_CHECK_OK(hs_secret_from_file(hs_test_p11_pin_file(), HS_SECRET_MAX, &pin));
    if (pin == NULL) {
        return NULL;
    }
    struct p11_sched_config sched = {.nclasses = 2,
                                     .weights = {1, 1},
                                     .default_class = CLASS_A,
                                     .max_queue = 64,
                                     .queue_timeout_ms = 60000};
    struct p11_pool_config cfg = {.token_label = hs_test_p11_token_label(),
                                  .pin = pin,
                                  .size = 2,
                                  .wait_ms = 60000,
                                  .sched = &sched};
    struct p11_pool *pool = NULL;
    HS_CHECK_OK(p11_pool_new(module, &cfg, &pool));
    return pool;
}

static struct p11_sched_stats class_stats(struct p11_pool *pool, unsigned int cls)
{
    struct p11_sched_stats st;
    p11_sched_get_stats(p11_pool_get0_sched(pool), cls, &st);
    return st;
}

HS_TEST(a_flood_of_one_class_does_not_starve_another)
{
    HS_DEFER(struct p11_pool *pool = two_class_pool(), p11_pool_freep);
    if (pool == NULL) {
        return;
    }
    HS_DEFER(struct p11_key *key = hs_test_p11_keygen(pool, P11_KEY_RSA, 2048, "sched-rsa"),
             p11_key_freep);
    if (key == NULL) {
        return;
    }
    struct p11_sched_stats a0 = class_stats(pool, CLASS_A);
    struct p11_sched_stats b0 = class_stats(pool, CLASS_B);
    struct signer a[A_THREADS];
    struct signer b = {.key = key, .cls = CLASS_B, .n = B_SIGNS};
    for (int t = 0; t < A_THREADS; t++) {
        a[t] = (struct signer){.key = key, .cls = CLASS_A, .n = A_SIGNS};
        HS_CHECK(pthread_create(&a[t].thread, NULL, signer_main, &a[t]) == 0);
    }
    HS_CHECK(pthread_create(&b.thread, NULL, signer_main, &b) == 0);
    int a_ok = 0;
    int a_verified = 0;
    for (int t = 0; t < A_THREADS; t++) {
        pthread_join(a[t].thread, NULL);
        a_ok += a[t].ok;
        a_verified += a[t].verified;
    }
    pthread_join(b.thread, NULL);
    struct p11_sched_stats a1 = class_stats(pool, CLASS_A);
    struct p11_sched_stats b1 = class_stats(pool, CLASS_B);
    fprintf(stderr,
            "  A: %d signed, admitted %llu (waited %llu, %.1f ms avg wait, bypassed at most "
            "%llu)\n  B: %d signed, admitted %llu (waited %llu, %.1f ms avg wait, bypassed at "
            "most %llu)\n",
            a_ok, (unsigned long long)(a1.admitted - a0.admitted),
            (unsigned long long)(a1.waited - a0.waited),
            a1.waited > a0.waited
                ? (double)(a1.wait_us - a0.wait_us) / 1000.0 / (double)(a1.waited - a0.waited)
                : 0.0,
            (unsigned long long)a1.bypassed_max, b.ok,
            (unsigned long long)(b1.admitted - b0.admitted),
            (unsigned long long)(b1.waited - b0.waited),
            b1.waited > b0.waited
                ? (double)(b1.wait_us - b0.wait_us) / 1000.0 / (double)(b1.waited - b0.waited)
                : 0.0,
            (unsigned long long)b1.bypassed_max);
    HS_CHECK(a_ok == A_THREADS * A_SIGNS && a_verified == a_ok);
    HS_CHECK(b.ok == B_SIGNS && b.verified == B_SIGNS);
    HS_CHECK(a1.admitted - a0.admitted == A_THREADS * A_SIGNS);
    HS_CHECK(b1.admitted - b0.admitted == B_SIGNS);
    HS_CHECK(a1.rejected + a1.timeouts + b1.rejected + b1.timeouts == 0);
    /* The flood did saturate the two slots: A operations had to queue. */
    HS_CHECK(a1.waited > a0.waited);
    /* B below its share always got the next slot: no A operation was admitted ahead of it. */
    HS_CHECK(b1.bypassed_max == 0);
    HS_CHECK(a1.in_flight == 0 && a1.queued == 0 && b1.in_flight == 0 && b1.queued == 0);
}

int main(void)
{
    if (hs_failed(p11_evp_init()) || hs_test_p11_open(2, &module, &fixture_pool) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    int rc = hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(a_flood_of_one_class_does_not_starve_another),
        HS_TEST_END,
    });
    hs_test_p11_cleanup(fixture_pool);
    p11_pool_free(fixture_pool);
    p11_module_free(module);
    return rc;
}
