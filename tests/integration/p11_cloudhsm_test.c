/*
 * The CloudHSM-shaped token (tests/testlib/p11_cloudhsm.h) over the fixture's SoftHSM2 token:
 * the round trip is added, the per-family rate limit throttles a burst with CKR_FUNCTION_FAILED
 * and leaves a paced load alone, a cluster with every slot taken throttles, signatures still
 * verify, and what is not shaped passes through. Several processes on one cluster file
 * (cluster=PATH) share its rate: the test runs itself again as child processes
 * (p11_cloudhsm_test --cluster-child KEY_LABEL WINDOW_MS), each loading and initialising the
 * module on its own, and adds up what they signed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "common/hs_defer.h"
#include "common/hs_log.h"
#include "common/hs_secret.h"
#include "pkcs11/p11_config.h"
#include "pkcs11/p11_error.h"
#include "pkcs11/p11_key.h"
#include "pkcs11/p11_pool.h"
#include "pkcs11/p11_sched.h"
#include "pkcs11/p11_sign.h"
#include "tests/testlib/hs_test.h"
#include "tests/testlib/p11_cloudhsm.h"

#define POOL_SIZE 8
#define THREADS 8
#define RUN_MAX 64
#define CLASS_FLOOD 0U
#define CLASS_TRICKLE 1U
/* Child processes (cases j and k). */
#define CHILD_ARG "--cluster-child"
#define CHILD_THREADS 4
#define CHILD_LOAD_FAILED 3 /* the child's exit status when the module refused to load */
#define CHILD_LINES_MAX 64  /* lines a child may print (log lines) before its answer */
#define CHILD_ENV_MAX 1024  /* environment variables passed on */
#define CLUSTER_RATE 100.0  /* signatures per second of the shared cluster in case j */
#define CLUSTER_WINDOW_MS 1500

struct shape_api {
    void *dl;
    hs_cloudhsm_configure_fn configure;
    hs_cloudhsm_get_stats_fn stats;
};

static struct shape_api shape;
static struct p11_module *module;
static struct p11_pool *pool;
static struct hs_secret *test_pin;
static const char *token_label;
static char label_prefix[32];
static struct p11_key *ec_key;
static struct p11_key *rsa_key;

static char cluster_dir[256]; /* the cluster files of cases j and k */

static const unsigned char msg[] = "a signature made through a token that is far away";

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void sleep_until_us(long long t)
{
    struct timespec ts = {(time_t)(t / 1000000LL), (long)(t % 1000000LL) * 1000L};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
    }
}

static struct hs_cloudhsm_stats stats_now(void)
{
    struct hs_cloudhsm_stats s;
    memset(&s, 0, sizeof(s));
    shape.stats(&s);
    return s;
}

static bool verify(struct p11_key *k, const struct hs_buf *sig)
{
    HS_DEFER(EVP_MD_CTX *ctx = EVP_MD_CTX_new(), hs_evp_md_ctx_freep);
    EVP_PKEY *pub = p11_key_get0_public(k);
    if (ctx == NULL || EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, pub, NULL) != 1) {
        return false;
    }
    return EVP_DigestVerify(ctx, hs_buf_data(sig), hs_buf_len(sig), msg, sizeof(msg)) == 1;
}

/* p11_sign (the pool's retries included) and the signature verified; its latency in *us. */
static bool sign_verified(struct p11_key *k, enum p11_sig_alg alg, long long *us)
{
    HS_DEFER(struct hs_buf *sig = hs_buf_new(P11_SIG_MAX), hs_buf_freep);
    long long t0 = now_us();
    if (sig == NULL || hs_failed(p11_sign(k, alg, P11_SIG_FORMAT_DER, msg, sizeof(msg), sig))) {
        return false;
    }
    *us = now_us() - t0;
    return verify(k, sig);
}

/* One bare C_SignInit + C_Sign pair on a pool session, so that the module's answer reaches the
 * test as it is (p11_sign would retry a throttled one). */
struct raw_sign {
    struct p11_key *key;
    CK_MECHANISM_TYPE mech;
    CK_RV rv;
};

static HS_RESULT raw_sign_op(const struct p11_call *call, void *arg)
{
    struct raw_sign *rs = arg;
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    HS_GUARD(p11_key_handle(rs->key, call, &h));
    unsigned char data[32];
    memset(data, 0x5a, sizeof(data)); /* a SHA-256-sized digest for CKM_ECDSA */
    unsigned char sig[1024];
    CK_ULONG n = 0;
    CK_MECHANISM mech = {rs->mech, NULL, 0};
    rs->rv = call->fn->C_SignInit(call->session, &mech, h);
    if (rs->rv == CKR_OK) {
        rs->rv = call->fn->C_Sign(call->session, data, sizeof(data), NULL, &n);
    }
    if (rs->rv == CKR_OK && n > sizeof(sig)) {
        rs->rv = CKR_BUFFER_TOO_SMALL;
    }
    if (rs->rv == CKR_OK) {
        rs->rv = call->fn->C_Sign(call->session, data, sizeof(data), sig, &n);
    }
    return HS_OK;
}

static CK_RV raw_sign(struct p11_key *k, CK_MECHANISM_TYPE mech)
{
    struct raw_sign rs = {k, mech, CKR_GENERAL_ERROR};
    HS_CHECK_OK(p11_pool_run(pool, raw_sign_op, &rs));
    return rs.rv;
}

struct burst {
    struct p11_key *key;
    CK_MECHANISM_TYPE mech;
    int count;
    int ok;
    int throttled; /* CKR_FUNCTION_FAILED */
    int other;     /* anything else */
};

static void *burst_thread(void *arg)
{
    struct burst *b = arg;
    for (int i = 0; i < b->count; i++) {
        struct raw_sign rs = {b->key, b->mech, CKR_GENERAL_ERROR};
        hs_result r = p11_pool_run(pool, raw_sign_op, &rs);
        b->ok += !hs_failed(r) && rs.rv == CKR_OK;
        b->throttled += !hs_failed(r) && rs.rv == CKR_FUNCTION_FAILED;
        b->other += hs_failed(r) || (rs.rv != CKR_OK && rs.rv != CKR_FUNCTION_FAILED);
    }
    return NULL;
}

/* threads threads each signing count times at once; the outcomes added up. */
static struct burst burst_run(struct p11_key *k, CK_MECHANISM_TYPE mech, int threads, int count)
{
    struct burst runs[THREADS];
    pthread_t tids[THREADS];
    struct burst sum = {k, mech, 0, 0, 0, 0};
    int started = 0;
    for (int i = 0; i < threads && i < THREADS; i++) {
        runs[i] = (struct burst){k, mech, count, 0, 0, 0};
        if (pthread_create(&tids[i], NULL, burst_thread, &runs[i]) != 0) {
            break;
        }
        started++;
    }
    HS_CHECK(started == threads);
    for (int i = 0; i < started; i++) {
        pthread_join(tids[i], NULL);
        sum.count += runs[i].count;
        sum.ok += runs[i].ok;
        sum.throttled += runs[i].throttled;
        sum.other += runs[i].other;
    }
    fprintf(stderr, "  burst: %d signs, %d ok, %d throttled, %d other\n", sum.count, sum.ok,
            sum.throttled, sum.other);
    return sum;
}

/* --- cases ----------------------------------------------------------------------------------- */

HS_TEST(a_what_is_not_shaped_passes_through)
{
    HS_CHECK(shape.configure("rtt_ms=200") == 0);
    CK_FUNCTION_LIST *fn = p11_module_get0_functions(module);
    CK_INFO info;
    long long t0 = now_us();
    HS_CHECK(fn->C_GetInfo(&info) == CKR_OK);
    HS_CHECK(memcmp(info.manufacturerID, "SoftHSM", 7) == 0);
    CK_SLOT_ID slot = 0;
    HS_CHECK_OK(p11_module_find_token(module, token_label, &slot));
    CK_TOKEN_INFO ti;
    HS_CHECK(fn->C_GetTokenInfo(slot, &ti) == CKR_OK);
    HS_CHECK(memcmp(ti.label, token_label, strlen(token_label)) == 0);
    CK_ULONG nmech = 0;
    HS_CHECK(fn->C_GetMechanismList(slot, NULL, &nmech) == CKR_OK && nmech > 0);
    /* None of these is a round trip. */
    HS_CHECK(now_us() - t0 < 200000);
    HS_CHECK(stats_now().net_calls == 0);
    HS_CHECK(shape.configure("") == 0);
}

HS_TEST(b_bad_shapes_are_refused_and_change_nothing)
{
    static const char *const good[] = {
        "",
        "rtt_ms=2",
        "rtt_ms=0.5,hsms=3,slots=16,burst_ms=20",
        "rate.rsa2048=2000,rate.p256=500,rate.p384=250,rate.ed25519=100,throttle=CKR_DEVICE_ERROR",
        "rate.rsa3072=1,rate.rsa4096=1,rate.p521=1,throttle=CKR_OPERATION_ACTIVE",
    };
    static const char *const bad[] = {
        "rtt",
        "rtt_ms",
        "rtt_ms=",
        "=2",
        "rtt_ms=-1",
        "rtt_ms=1001",
        "rtt_ms=nan",
        "rtt_ms=2ms",
        "rtt_ms=1e2",
        "rtt_ms=0x10",
        "burst_ms=0x1p3",
        "rtt_ms=2.",
        "rtt_ms=.5",
        "rtt_ms=2,rtt_ms=3",
        "hsms=0",
        "hsms=29",
        "hsms=1.5",
        "slots=0",
        "slots=4097",
        "rate.p256=0",
        "rate.p256=1000001",
        "rate.p257=10",
        "rate.=10",
        "rate.p256=10,rate.p256=20",
        "burst_ms=10001",
        "throttle=CKR_OK",
        "throttle=ckr_function_failed",
        "colour=blue",
        "rtt_ms=2,",
        ",rtt_ms=2",
        "rtt_ms=2 ",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (shape.configure(good[i]) != 0) {
            fprintf(stderr, "  refused good shape \"%s\"\n", good[i]);
            hs_test_report(__FILE__, __LINE__, "good shape accepted");
        }
    }
    HS_CHECK(shape.configure("rtt_ms=20") == 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (shape.configure(bad[i]) != -1) {
            fprintf(stderr, "  accepted bad shape \"%s\"\n", bad[i]);
            hs_test_report(__FILE__, __LINE__, "bad shape refused");
        }
    }
    char big[HS_CLOUDHSM_SHAPE_MAX + 16];
    memset(big, '1', sizeof(big) - 1);
    memcpy(big, "rtt_ms=", 7);
    big[sizeof(big) - 1] = '\0';
    HS_CHECK(shape.configure(big) == -1);
    /* The 20 ms round trip is still in force. */
    long long us = 0;
    HS_CHECK(sign_verified(ec_key, P11_SIG_ECDSA_SHA256, &us));
    HS_CHECK(us >= 20000);
    HS_CHECK(shape.configure("") == 0);
}

HS_TEST(c_every_signature_pays_the_round_trip_and_still_verifies)
{
    enum {
        N = 20,
        RTT_US = 4000
    };
    long long min_plain = 1LL << 40;
    long long min_shaped = 1LL << 40;
    int verified = 0;
    HS_CHECK(shape.configure("") == 0);
    for (int i = 0; i < N; i++) {
        long long us = 0;
        verified += sign_verified(ec_key, P11_SIG_ECDSA_SHA256, &us);
        min_plain = us < min_plain ? us : min_plain;
    }
    /* Unshaped, the module sleeps for nothing: checked on its counter, not on the clock (a
     * plain ASan sign took over 4 ms once on a loaded machine). */
    struct hs_cloudhsm_stats plain = stats_now();
    HS_CHECK(plain.signs == N && plain.slept_us == 0);
    HS_CHECK(shape.configure("rtt_ms=4") == 0);
    for (int i = 0; i < N; i++) {
        long long us = 0;
        verified += sign_verified(ec_key, P11_SIG_ECDSA_SHA256, &us);
        min_shaped = us < min_shaped ? us : min_shaped;
    }
    struct hs_cloudhsm_stats st = stats_now();
    fprintf(stderr, "  min latency %lld us plain, %lld us with a 4 ms round trip\n", min_plain,
            min_shaped);
    HS_CHECK(verified == 2 * N);
    HS_CHECK(min_shaped >= RTT_US);
    /* One round trip per signature: the size query and C_SignInit are client side. */
    HS_CHECK(st.signs == N && st.net_calls == N);
    HS_CHECK(st.slept_us >= (unsigned long long)N * RTT_US);
    HS_CHECK(shape.configure("") == 0);
}

HS_TEST(d_a_burst_over_the_cap_is_throttled_with_ckr_function_failed)
{
    /* 50/s with a 10 ms bucket (1 signature): 8 threads x 25 at once, about 25 ms of work at
     * 1 ms a round trip, so about 1 + 50 x 0.03 = 3 may pass (52 if the machine took 1 s). */
    HS_CHECK(shape.configure("rtt_ms=1,hsms=2,rate.p256=50,burst_ms=10") == 0);
    long long t0 = now_us();
    struct burst b = burst_run(ec_key, CKM_ECDSA, THREADS, 25);
    double secs = (double)(now_us() - t0) / 1e6;
    struct hs_cloudhsm_stats st = stats_now();
    HS_CHECK(b.other == 0);
    HS_CHECK(b.ok + b.throttled == 200);
    HS_CHECK(b.throttled >= 100);
    HS_CHECK(b.ok >= 1 && b.ok <= 1 + (int)(50.0 * secs) + 1);
    HS_CHECK(st.throttled_rate == (unsigned long)b.throttled && st.signs == (unsigned long)b.ok);
    /* A throttled signature pays the round trip too. */
    HS_CHECK(st.net_calls == 200);
    /* Once the burst is over, the pool's p11_sign works and verifies. */
    HS_CHECK(shape.configure("rtt_ms=1,hsms=2,rate.p256=50,burst_ms=10") == 0);
    long long us = 0;
    HS_CHECK(sign_verified(ec_key, P11_SIG_ECDSA_SHA256, &us));
    HS_CHECK(shape.configure("") == 0);
}

HS_TEST(e_a_paced_load_under_the_cap_is_never_throttled)
{
    /* 100/s against a 200/s cap for 0.6 s; the 50 ms bucket (10 signatures) absorbs the
     * catching up after a scheduling stall on a loaded machine. */
    HS_CHECK(shape.configure("rtt_ms=1,hsms=2,rate.p256=200,burst_ms=50") == 0);
    int ok = 0;
    long long t = now_us();
    for (int i = 0; i < 60; i++) {
        ok += raw_sign(ec_key, CKM_ECDSA) == CKR_OK;
        t += 10000;
        sleep_until_us(t);
    }
    struct hs_cloudhsm_stats st = stats_now();
    HS_CHECK(ok == 60);
    HS_CHECK(st.throttled_rate == 0 && st.throttled_busy == 0 && st.signs == 60);
    HS_CHECK(shape.configure("") == 0);
}

HS_TEST(f_each_key_family_has_its_own_limit)
{
    /* RSA-2048 capped at 1/s: its first signature passes, the next ones are throttled, while
     * P-256 (not limited) signs on; the throttle code is the configured one. */
    HS_CHECK(shape.configure("rate.rsa2048=1,burst_ms=1,throttle=CKR_OPERATION_ACTIVE") == 0);
    HS_CHECK(raw_sign(rsa_key, CKM_SHA256_RSA_PKCS) == CKR_OK);
    HS_CHECK(raw_sign(rsa_key, CKM_SHA256_RSA_PKCS) == CKR_OPERATION_ACTIVE);
    HS_CHECK(raw_sign(rsa_key, CKM_SHA256_RSA_PKCS) == CKR_OPERATION_ACTIVE);
    for (int i = 0; i < 10; i++) {
        HS_CHECK(raw_sign(ec_key, CKM_ECDSA) == CKR_OK);
    }
    /* The throttled session is usable again: a real signature on every session of the pool. */
    HS_CHECK(shape.configure("") == 0);
    for (int i = 0; i < POOL_SIZE; i++) {
        long long us = 0;
        HS_CHECK(sign_verified(rsa_key, P11_SIG_RSA_PKCS1_SHA256, &us));
    }
}

HS_TEST(g_a_cluster_with_every_slot_taken_throttles)
{
    /* One HSM with 2 slots and a 30 ms round trip: of 8 signatures at once, most find it
     * busy; no more than 2 are ever in flight. */
    HS_CHECK(shape.configure("rtt_ms=30,hsms=1,slots=2") == 0);
    struct burst b = burst_run(ec_key, CKM_ECDSA, THREADS, 1);
    struct hs_cloudhsm_stats st = stats_now();
    HS_CHECK(b.other == 0 && b.ok + b.throttled == THREADS);
    HS_CHECK(b.ok >= 2 && b.throttled >= 1);
    HS_CHECK(st.throttled_busy == (unsigned long)b.throttled && st.in_flight_max <= 2);
    /* Two HSMs with 4 slots each take all 8. */
    HS_CHECK(shape.configure("rtt_ms=30,hsms=2,slots=4") == 0);
    b = burst_run(ec_key, CKM_ECDSA, THREADS, 1);
    HS_CHECK(b.ok == THREADS && stats_now().in_flight_max <= 8);
    HS_CHECK(shape.configure("") == 0);
}

/* Finding a key costs round trips at every start (on CloudHSM each C_FindObjects and
 * C_GetAttributeValue crosses the network): an attribute is read in one call (not a size query
 * and then the value), attributes read together in one call (type, id and label; the ten
 * protection attributes, with the type, id and label of a private key; modulus and exponent), a
 * key found by its public half is looked up by that value on the token instead of reading every
 * public key, and its public key object is not read twice. */
HS_TEST(h_finding_a_key_takes_few_round_trips)
{
    char ec_label[64];
    int w = snprintf(ec_label, sizeof(ec_label), "%s-ec", label_prefix);
    HS_CHECK(w > 0 && (size_t)w < sizeof(ec_label));
    HS_CHECK(shape.configure("rtt_ms=0.01") == 0);
    HS_DEFER(struct p11_key *by_label = NULL, p11_key_freep);
    HS_CHECK_OK(p11_key_find(pool, ec_label, &by_label));
    unsigned long find = stats_now().net_calls;
    /* Private key: search, CKA_KEY_TYPE + CKA_ID + CKA_LABEL + the protection attributes;
     * public key: search, CKA_EC_PARAMS + CKA_EC_POINT (before: 5, the curve read apart). */
    HS_CHECK(find == 4);
    /* The protection attributes came with the type, id and label: the check right after the
     * load asks nothing; a later one reads the token again. */
    HS_CHECK(shape.configure("rtt_ms=0.01") == 0);
    HS_CHECK_OK(p11_key_check_protected(by_label));
    HS_CHECK(stats_now().net_calls == 0);
    HS_CHECK_OK(p11_key_check_protected(by_label));
    HS_CHECK(stats_now().net_calls == 1);
    struct p11_key *keys[] = {ec_key, rsa_key};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        HS_CHECK(shape.configure("rtt_ms=0.01") == 0);
        HS_DEFER(struct p11_key *by_pub = NULL, p11_key_freep);
        HS_CHECK_OK(p11_key_find_by_public(pool, p11_key_get0_public(keys[i]), &by_pub));
        unsigned long n = stats_now().net_calls;
        fprintf(stderr, "  key %zu: %lu round trips to find by label, %lu by public key\n", i, find,
                n);
        HS_CHECK(by_pub != NULL &&
                 EVP_PKEY_eq(p11_key_get0_public(by_pub), p11_key_get0_public(keys[i])) == 1);
        /* The search by value, the match's type, id and label (one call), its key (and curve:
         * one call); then the private key's search and head (one call): the public key just
         * matched is not looked up again. EC and RSA 5 (before: 10 and 8). */
        HS_CHECK(n <= 5);
        HS_CHECK(shape.configure("rtt_ms=0.01") == 0);
        HS_CHECK(by_pub != NULL && !hs_failed(p11_key_check_protected(by_pub)));
        HS_CHECK(stats_now().net_calls == 0);
    }
    HS_CHECK(shape.configure("") == 0);
}

struct flooder {
    pthread_t thread;
    atomic_bool *stop;
    int ok;
    int failed;
};

static void *flooder_main(void *arg)
{
    struct flooder *f = arg;
    HS_IGNORE(p11_sched_class_swap(CLASS_FLOOD));
    while (!atomic_load(f->stop)) {
        HS_DEFER(struct hs_buf *sig = hs_buf_new(P11_SIG_MAX), hs_buf_freep);
        if (sig != NULL && !hs_failed(p11_sign(ec_key, P11_SIG_ECDSA_SHA256, P11_SIG_FORMAT_DER,
                                               msg, sizeof(msg), sig))) {
            f->ok++;
        } else {
            f->failed++;
        }
    }
    return NULL;
}

/* A flood of one class (8 threads, as many as the pool's sessions) and a trickle of another
 * (one signature after the other) against a low P-256 rate (400/s, a bucket of 2, 5 ms round
 * trip: about 2 signatures in flight fill it). The scheduler's limit comes down to what the
 * rate allows, so the queue forms in the scheduler, where the trickle's share puts it first:
 * every trickle signature completes and verifies while the flood runs, and the HSM throttles
 * the trickle rarely. Counts only: no latency is asserted. */
HS_TEST(i_a_trickle_keeps_its_share_of_a_rate_limited_token_under_a_flood)
{
    HS_CHECK(shape.configure("rtt_ms=5,hsms=2,rate.p256=400,burst_ms=5") == 0);
    struct p11_sched *sched = p11_pool_get0_sched(pool);
    struct p11_sched_stats t0;
    p11_sched_get_stats(sched, CLASS_TRICKLE, &t0);
    atomic_bool stop = false;
    struct flooder fl[THREADS];
    int started = 0;
    for (int i = 0; i < THREADS; i++) {
        fl[i] = (struct flooder){.stop = &stop};
        if (pthread_create(&fl[i].thread, NULL, flooder_main, &fl[i]) != 0) {
            break;
        }
        started++;
    }
    HS_CHECK(started == THREADS);
    /* Let the flood meet the rate first. */
    struct timespec settle = {0, 200 * 1000000L};
    nanosleep(&settle, NULL);
    unsigned int prev = p11_sched_class_swap(CLASS_TRICKLE);
    int trickle_ok = 0;
    enum {
        TRICKLE = 40
    };
    for (int i = 0; i < TRICKLE; i++) {
        long long us = 0;
        trickle_ok += sign_verified(ec_key, P11_SIG_ECDSA_SHA256, &us);
    }
    HS_IGNORE(p11_sched_class_swap(prev));
    double limit = p11_sched_limit(sched);
    atomic_store(&stop, true);
    int flood_ok = 0;
    int flood_failed = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(fl[i].thread, NULL);
        flood_ok += fl[i].ok;
        flood_failed += fl[i].failed;
    }
    struct p11_sched_stats t1;
    p11_sched_get_stats(sched, CLASS_TRICKLE, &t1);
    struct p11_sched_stats f1;
    p11_sched_get_stats(sched, CLASS_FLOOD, &f1);
    struct hs_cloudhsm_stats st = stats_now();
    uint64_t trickle_throttled = t1.throttled - t0.throttled;
    fprintf(stderr,
            "  trickle: %d/%d signed, %llu throttled; flood: %d signed, %d failed, %llu "
            "throttled; module: %lu signs, %lu throttled; limit at the end %.2f\n",
            trickle_ok, TRICKLE, (unsigned long long)trickle_throttled, flood_ok, flood_failed,
            (unsigned long long)f1.throttled, st.signs, st.throttled_rate, limit);
    HS_CHECK(trickle_ok == TRICKLE);
    HS_CHECK(flood_ok > 0);
    /* The limit came down from the pool's 8 sessions. */
    HS_CHECK(limit < (double)POOL_SIZE);
    /* The trickle met the throttle for at most one signature in four. */
    HS_CHECK(trickle_throttled <= TRICKLE / 4);
    HS_CHECK(shape.configure("") == 0);
}

/* --- several processes on one cluster ------------------------------------------------------ */

/* A child process: its pipes, and what it answered. */
struct child {
    pid_t pid;
    FILE *to;   /* its stdin */
    FILE *from; /* its stdout */
    int ok;
    int throttled;
    int other;
    long long start_us; /* its window on CLOCK_MONOTONIC (system-wide) */
    long long end_us;
};

/* Starts this program as a child on the fixture token with shape in $HSMSIGN_CLOUDHSM_SHAPE
 * (the rest of the environment as ours); it signs for window_ms once told "go". */
static bool child_start(struct child *c, const char *shape_text, int window_ms)
{
    *c = (struct child){.pid = -1};
    char shape_env[HS_CLOUDHSM_SHAPE_MAX + 64];
    char window[16];
    char key_label[64];
    hs_test_format(shape_env, sizeof(shape_env), "%s=%s", HS_CLOUDHSM_SHAPE_ENV, shape_text);
    hs_test_format(window, sizeof(window), "%d", window_ms);
    hs_test_format(key_label, sizeof(key_label), "%s-ec", label_prefix);
    char *envp[CHILD_ENV_MAX + 2];
    size_t k = 0;
    for (size_t i = 0; environ[i] != NULL; i++) {
        if (k == CHILD_ENV_MAX) {
            fprintf(stderr, "  more than %d environment variables\n", CHILD_ENV_MAX);
            return false;
        }
        if (strncmp(environ[i], HS_CLOUDHSM_SHAPE_ENV "=", strlen(HS_CLOUDHSM_SHAPE_ENV) + 1) !=
            0) {
            envp[k++] = environ[i];
        }
    }
    envp[k++] = shape_env;
    envp[k] = NULL;
    int in[2] = {-1, -1};
    int out[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
        return false;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    char self[] = "/proc/self/exe";
    char arg[] = CHILD_ARG;
    char *argv[] = {self, arg, key_label, window, NULL};
    int rc = posix_spawn(&c->pid, self, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    c->to = fdopen(in[1], "w");
    c->from = fdopen(out[0], "r");
    if (rc != 0 || c->to == NULL || c->from == NULL) {
        fprintf(stderr, "  posix_spawn: %s\n", strerror(rc));
        c->pid = rc != 0 ? -1 : c->pid;
        return false;
    }
    return true;
}

/* The child's next line that starts with word (its log lines skipped); false at its end. */
static bool child_line(struct child *c, const char *word, char *line, size_t len)
{
    for (int i = 0; i < CHILD_LINES_MAX && c->from != NULL; i++) {
        if (fgets(line, (int)len, c->from) == NULL) {
            return false;
        }
        if (strncmp(line, word, strlen(word)) == 0) {
            return true;
        }
    }
    return false;
}

/* Waits for the child's end; its result line read first (c->ok is -1 when it printed none).
 * Returns its exit status (-1 when it did not exit). */
static int child_finish(struct child *c)
{
    char line[256];
    if (c->to != NULL) {
        (void)fclose(c->to);
        c->to = NULL;
    }
    /* "result OK THROTTLED OTHER START_US END_US"; ok stays -1 unless all five are there. */
    long long v[5] = {0};
    bool good = child_line(c, "result ", line, sizeof(line));
    const char *at = line + strlen("result ");
    for (size_t i = 0; i < 5 && good; i++) {
        char *end = NULL;
        errno = 0;
        v[i] = strtoll(at, &end, 10);
        good = errno == 0 && end != at && v[i] >= 0 && (i >= 3 || v[i] <= INT_MAX);
        at = end;
    }
    c->ok = good ? (int)v[0] : -1;
    c->throttled = good ? (int)v[1] : 0;
    c->other = good ? (int)v[2] : 0;
    c->start_us = v[3];
    c->end_us = v[4];
    if (c->from != NULL) {
        (void)fclose(c->from);
        c->from = NULL;
    }
    int status = 0;
    if (c->pid <= 0 || waitpid(c->pid, &status, 0) != c->pid || !WIFEXITED(status)) {
        return -1;
    }
    return WEXITSTATUS(status);
}

/* Two children on shapes a and b, started one after the other (SoftHSM2 processes starting
 * at once on one token directory have failed), then told to go together. */
static bool children_run(const char *a, const char *b, struct child out[2])
{
    char line[64];
    out[0] = (struct child){.pid = -1};
    out[1] = (struct child){.pid = -1};
    bool ok = child_start(&out[0], a, CLUSTER_WINDOW_MS) &&
              child_line(&out[0], "ready", line, sizeof(line)) &&
              child_start(&out[1], b, CLUSTER_WINDOW_MS) &&
              child_line(&out[1], "ready", line, sizeof(line));
    for (int i = 0; i < 2 && ok; i++) {
        ok = fputs("go\n", out[i].to) >= 0 && fflush(out[i].to) == 0;
    }
    int rc0 = child_finish(&out[0]);
    int rc1 = child_finish(&out[1]);
    fprintf(stderr, "  children: %d+%d signed, %d+%d throttled, %d+%d other (exit %d, %d)\n",
            out[0].ok, out[1].ok, out[0].throttled, out[1].throttled, out[0].other, out[1].other,
            rc0, rc1);
    return ok && rc0 == 0 && rc1 == 0 && out[0].ok >= 0 && out[1].ok >= 0;
}

static void cluster_path(char *out, size_t len, const char *name)
{
    hs_test_format(out, len, "%s/%s", cluster_dir, name);
}

/* Two processes on one cluster file at 100/s (a 10 ms bucket: 1 signature) sign at most 100/s
 * between them over their common window (1 + 100 x its length, 2 more for rounding); on two
 * cluster files each gets its own 100/s, so together clearly more than one cluster's worth.
 * Counts only, against the windows the children measured on the system-wide clock. */
HS_TEST(j_processes_on_one_cluster_file_share_its_rate)
{
    char path[512];
    char shape_a[HS_CLOUDHSM_SHAPE_MAX];
    char shape_b[HS_CLOUDHSM_SHAPE_MAX];
    const char *base = "rtt_ms=1,hsms=2,rate.p256=100,burst_ms=10";
    cluster_path(path, sizeof(path), "shared");
    hs_test_format(shape_a, sizeof(shape_a), "%s,cluster=%s", base, path);
    struct child c[2];
    HS_CHECK(children_run(shape_a, shape_a, c));
    long long t0 = c[0].start_us < c[1].start_us ? c[0].start_us : c[1].start_us;
    long long t1 = c[0].end_us > c[1].end_us ? c[0].end_us : c[1].end_us;
    double span = (double)(t1 - t0) / 1e6;
    int total = c[0].ok + c[1].ok;
    fprintf(stderr, "  one cluster file: %d signed in %.3f s (cap %.0f)\n", total, span,
            1 + CLUSTER_RATE * span);
    HS_CHECK(c[0].other == 0 && c[1].other == 0);
    HS_CHECK(total <= 1 + (int)(CLUSTER_RATE * span) + 2);
    /* The cluster did sign at about its rate, and both were throttled. */
    HS_CHECK(total >= (int)(0.4 * CLUSTER_RATE * span));
    HS_CHECK(c[0].throttled > 0 && c[1].throttled > 0);

    cluster_path(path, sizeof(path), "a");
    hs_test_format(shape_a, sizeof(shape_a), "%s,cluster=%s", base, path);
    cluster_path(path, sizeof(path), "b");
    hs_test_format(shape_b, sizeof(shape_b), "%s,cluster=%s", base, path);
    HS_CHECK(children_run(shape_a, shape_b, c));
    t0 = c[0].start_us < c[1].start_us ? c[0].start_us : c[1].start_us;
    t1 = c[0].end_us > c[1].end_us ? c[0].end_us : c[1].end_us;
    span = (double)(t1 - t0) / 1e6;
    total = c[0].ok + c[1].ok;
    fprintf(stderr, "  two cluster files: %d signed in %.3f s (one cluster's cap %.0f)\n", total,
            span, 1 + CLUSTER_RATE * span);
    HS_CHECK(c[0].other == 0 && c[1].other == 0);
    for (int i = 0; i < 2; i++) {
        double w = (double)(c[i].end_us - c[i].start_us) / 1e6;
        HS_CHECK(c[i].ok >= (int)(0.5 * CLUSTER_RATE * w));
        HS_CHECK(c[i].ok <= 1 + (int)(CLUSTER_RATE * w) + 2);
    }
    HS_CHECK(total > (int)(1.2 * (1 + CLUSTER_RATE * span)));
}

/* Writes len bytes of byte into a new file at path with mode; true when it did. */
static bool file_write(const char *path, unsigned char byte, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        return false;
    }
    bool ok = fchmod(fd, mode) == 0;
    unsigned char buf[256];
    memset(buf, byte, sizeof(buf));
    for (size_t done = 0; ok && done < len;) {
        size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);
        ssize_t w = write(fd, buf, n);
        ok = w > 0;
        done += ok ? (size_t)w : 0;
    }
    return close(fd) == 0 && ok;
}

/* A child on shape that is told to go at once: its exit status. */
static int child_exit_status(const char *shape_text)
{
    struct child c;
    if (!child_start(&c, shape_text, 20)) {
        (void)child_finish(&c);
        return -1;
    }
    if (c.to != NULL) {
        (void)fputs("go\n", c.to);
    }
    return child_finish(&c);
}

/* A cluster file that is not one (wrong size, wrong header, another mode, a symlink, a
 * relative path) is refused by hs_cloudhsm_configure(), which changes nothing, and by a
 * process that loads the module with it (C_GetFunctionList fails: the child's
 * p11_module_load); so is a process that joins a cluster with other rates. A good file is
 * joined by both. */
HS_TEST(k_a_file_that_is_not_a_cluster_is_refused)
{
    char good[512];
    char spec[HS_CLOUDHSM_SHAPE_MAX];
    const char *base = "rtt_ms=1,rate.p256=50";
    cluster_path(good, sizeof(good), "good");
    hs_test_format(spec, sizeof(spec), "%s,cluster=%s", base, good);
    HS_CHECK(shape.configure(spec) == 0);
    struct stat st;
    HS_CHECK(stat(good, &st) == 0 && st.st_size > 0 && (st.st_mode & 0777) == 0600);
    /* The same file is joined again, by this process and by another. */
    HS_CHECK(shape.configure(spec) == 0);
    HS_CHECK(child_exit_status(spec) == 0);

    char small[512];
    char magic[512];
    char loose[512];
    char link[512];
    cluster_path(small, sizeof(small), "small");
    cluster_path(magic, sizeof(magic), "magic");
    cluster_path(loose, sizeof(loose), "loose");
    cluster_path(link, sizeof(link), "link");
    HS_CHECK(file_write(small, 0, 100, 0600));
    HS_CHECK(file_write(magic, 0xa5, (size_t)st.st_size, 0600));
    HS_CHECK(file_write(loose, 0, 0, 0644));
    HS_CHECK(symlink(good, link) == 0);
    const char *bad_files[] = {small, magic, loose, link};
    HS_CHECK(shape.configure("rtt_ms=20") == 0);
    for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
        hs_test_format(spec, sizeof(spec), "%s,cluster=%s", base, bad_files[i]);
        if (shape.configure(spec) != -1) {
            fprintf(stderr, "  configure accepted %s\n", bad_files[i]);
            hs_test_report(__FILE__, __LINE__, "a bad cluster file is refused by configure");
        }
        int rc = child_exit_status(spec);
        if (rc != CHILD_LOAD_FAILED) {
            fprintf(stderr, "  a child loaded with %s: exit %d\n", bad_files[i], rc);
            hs_test_report(__FILE__, __LINE__, "a bad cluster file is refused at load");
        }
    }
    HS_CHECK(shape.configure("cluster=relative/path") == -1);
    HS_CHECK(shape.configure("cluster=/tmp/a b") == -1);
    HS_CHECK(shape.configure("cluster=/") == -1);
    /* Refused files are left as they were: no header written into the one of the wrong size. */
    HS_CHECK(stat(small, &st) == 0 && st.st_size == 100);
    HS_CHECK(stat(loose, &st) == 0 && st.st_size == 0);
    /* Joining the good cluster with other rates is refused at load. */
    hs_test_format(spec, sizeof(spec), "rtt_ms=1,rate.p256=60,cluster=%s", good);
    HS_CHECK(child_exit_status(spec) == CHILD_LOAD_FAILED);
    /* The 20 ms round trip is still in force. */
    long long us = 0;
    HS_CHECK(sign_verified(ec_key, P11_SIG_ECDSA_SHA256, &us));
    HS_CHECK(us >= 20000);
    HS_CHECK(shape.configure("") == 0);
}

/* The child: loads the module (the shape from the environment), finds the parent's P-256 key
 * and says "ready"; on "go" it signs from CHILD_THREADS threads for its window and prints
 * "result OK THROTTLED OTHER START_US END_US". */
struct child_thread {
    struct p11_key *key;
    long long end_us;
    int ok;
    int throttled;
    int other;
};

static void *child_thread_main(void *arg)
{
    struct child_thread *t = arg;
    while (now_us() < t->end_us) {
        struct raw_sign rs = {t->key, CKM_ECDSA, CKR_GENERAL_ERROR};
        hs_result r = p11_pool_run(pool, raw_sign_op, &rs);
        t->ok += !hs_failed(r) && rs.rv == CKR_OK;
        t->throttled += !hs_failed(r) && rs.rv == CKR_FUNCTION_FAILED;
        t->other += hs_failed(r) || (rs.rv != CKR_OK && rs.rv != CKR_FUNCTION_FAILED);
    }
    return NULL;
}

static int child_sign(struct p11_key *key, long window_ms)
{
    char line[16];
    if (fgets(line, sizeof(line), stdin) == NULL || strcmp(line, "go\n") != 0) {
        return 1;
    }
    long long start = now_us();
    struct child_thread t[CHILD_THREADS];
    pthread_t tids[CHILD_THREADS];
    int started = 0;
    for (int i = 0; i < CHILD_THREADS; i++) {
        t[i] = (struct child_thread){key, start + window_ms * 1000LL, 0, 0, 0};
        if (pthread_create(&tids[i], NULL, child_thread_main, &t[i]) != 0) {
            break;
        }
        started++;
    }
    int ok = 0;
    int throttled = 0;
    int other = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(tids[i], NULL);
        ok += t[i].ok;
        throttled += t[i].throttled;
        other += t[i].other;
    }
    printf("result %d %d %d %lld %lld\n", ok, throttled, other, start, now_us());
    return started == CHILD_THREADS ? 0 : 1;
}

static int child_main(const char *key_label, const char *window_text)
{
    const char *dir = hs_test_env("HSMSIGN_TEST_TOKEN_DIR");
    token_label = hs_test_env("HSMSIGN_TEST_TOKEN_LABEL");
    const char *lib = hs_test_env(HS_CLOUDHSM_LIB_ENV);
    hs_log_set_level(HS_LOG_ERROR);
    char *end = NULL;
    long window_ms = strtol(window_text, &end, 10);
    if (*end != '\0' || window_ms < 1 || window_ms > 10000) {
        return 1;
    }
    char pin_file[1024];
    hs_test_format(pin_file, sizeof(pin_file), "%s/user.pin", dir);
    struct p11_token_config tc = {.label = token_label, .pin_file = pin_file};
    if (hs_failed(p11_token_config_pin(&tc, &test_pin))) {
        return 1;
    }
    if (hs_failed(p11_module_load(lib, &module))) {
        hs_secret_free(test_pin);
        return CHILD_LOAD_FAILED;
    }
    struct p11_pool_config pc = {
        .token_label = token_label, .pin = test_pin, .size = CHILD_THREADS};
    struct p11_key *key = NULL;
    int rc = 1;
    if (!hs_failed(p11_pool_new(module, &pc, &pool)) &&
        !hs_failed(p11_key_find(pool, key_label, &key))) {
        printf("ready\n");
        rc = fflush(stdout) == 0 ? child_sign(key, window_ms) : 1;
    }
    p11_key_free(key);
    p11_pool_free(pool);
    p11_module_free(module);
    hs_secret_free(test_pin);
    return rc;
}

static void cluster_dir_remove(void)
{
    static const char *const names[] = {"shared", "a",     "b",     "good",
                                        "small",  "magic", "loose", "link"};
    char path[512];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && cluster_dir[0] != '\0'; i++) {
        cluster_path(path, sizeof(path), names[i]);
        (void)unlink(path);
    }
    if (cluster_dir[0] != '\0') {
        (void)rmdir(cluster_dir);
    }
}

/* --- a deferred C_SignInit ------------------------------------------------------------------- */

/* A raw ECDSA signature (r || s, 32 bytes each: PKCS#11 v2.40 §2.3.1) over msg, checked as DER
 * with OpenSSL. */
static bool verify_raw_p256(const unsigned char *rs, CK_ULONG n)
{
    if (n != 64) {
        return false;
    }
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, 32, NULL);
    BIGNUM *s = BN_bin2bn(rs + 32, 32, NULL);
    if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return false;
    }
    unsigned char der[80];
    unsigned char *p = der;
    int len = i2d_ECDSA_SIG(es, NULL);
    bool fits = len > 0 && (size_t)len <= sizeof(der) && i2d_ECDSA_SIG(es, &p) == len;
    ECDSA_SIG_free(es);
    if (!fits) {
        return false;
    }
    HS_DEFER(struct hs_buf *sig = hs_buf_new(sizeof(der)), hs_buf_freep);
    return sig != NULL && !hs_failed(hs_buf_put(sig, der, (size_t)len)) && verify(ec_key, sig);
}

/* An RSA-PSS signature (SHA-256, MGF1 SHA-256, 32-byte salt) over msg. */
static bool verify_pss(const unsigned char *sig, CK_ULONG n)
{
    HS_DEFER(EVP_MD_CTX *ctx = EVP_MD_CTX_new(), hs_evp_md_ctx_freep);
    EVP_PKEY_CTX *pctx = NULL;
    return ctx != NULL &&
           EVP_DigestVerifyInit_ex(ctx, &pctx, "SHA256", NULL, NULL, p11_key_get0_public(rsa_key),
                                   NULL) == 1 &&
           EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1 &&
           EVP_DigestVerify(ctx, sig, n, msg, sizeof(msg)) == 1;
}

/* SoftHSM2's own function list: the same sessions, unshaped. */
struct deferral {
    CK_FUNCTION_LIST *real;
    unsigned long one_part;  /* C_Sign calls that signed */
    unsigned long key_trips; /* round trips to find the keys' handles in the session */
};

/* On session s: ECDSA over a SHA-256 digest, deferred; then CKM_ECDSA_SHA256, deferred when the
 * real module signs with it, refused by C_SignInit when it does not. */
static void deferral_ecdsa(struct deferral *d, CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                           CK_OBJECT_HANDLE ec)
{
    unsigned char sig[512];
    CK_ULONG n = sizeof(sig);
    unsigned char digest[32];
    unsigned int dlen = 0;
    HS_CHECK(EVP_Digest(msg, sizeof(msg), digest, &dlen, EVP_sha256(), NULL) == 1 && dlen == 32);
    CK_MECHANISM ecdsa = {CKM_ECDSA, NULL, 0};

    /* C_SignInit is client state: the real module has no operation until C_Sign. */
    HS_CHECK(fn->C_SignInit(s, &ecdsa, ec) == CKR_OK);
    HS_CHECK(d->real->C_Sign(s, digest, sizeof(digest), sig, &n) == CKR_OPERATION_NOT_INITIALIZED);
    /* A second C_SignInit meets the first, as in the real module. */
    HS_CHECK(fn->C_SignInit(s, &ecdsa, ec) == CKR_OPERATION_ACTIVE);
    /* The size query and a short buffer are answered in the client; the operation stays. */
    n = 0;
    HS_CHECK(fn->C_Sign(s, digest, sizeof(digest), NULL, &n) == CKR_OK && n == 64);
    n = 10;
    HS_CHECK(fn->C_Sign(s, digest, sizeof(digest), sig, &n) == CKR_BUFFER_TOO_SMALL && n == 64);
    n = sizeof(sig);
    HS_CHECK(fn->C_Sign(s, digest, sizeof(digest), sig, &n) == CKR_OK);
    HS_CHECK(verify_raw_p256(sig, n));
    /* The operation ended with the signature, in both modules. */
    n = sizeof(sig);
    HS_CHECK(fn->C_Sign(s, digest, sizeof(digest), sig, &n) == CKR_OPERATION_NOT_INITIALIZED);

    /* A mechanism the real module does not sign with is refused by C_SignInit, as before
     * (SoftHSM2 2.6 has no CKM_ECDSA_SHA256); one it does is deferred and signs. */
    CK_SESSION_INFO si;
    CK_MECHANISM_INFO mi;
    CK_MECHANISM hashed = {CKM_ECDSA_SHA256, NULL, 0};
    HS_CHECK(d->real->C_GetSessionInfo(s, &si) == CKR_OK);
    bool real_has = d->real->C_GetMechanismInfo(si.slotID, CKM_ECDSA_SHA256, &mi) == CKR_OK &&
                    (mi.flags & CKF_SIGN) != 0;
    CK_RV rv = fn->C_SignInit(s, &hashed, ec);
    HS_CHECK(real_has ? rv == CKR_OK : rv != CKR_OK);
    n = sizeof(sig);
    rv = fn->C_Sign(s, (CK_BYTE_PTR)msg, sizeof(msg), sig, &n);
    HS_CHECK(real_has ? rv == CKR_OK : rv == CKR_OPERATION_NOT_INITIALIZED);
    d->one_part = real_has ? 3 : 2;
}

/* On session s: RSA-PSS with its parameter changed after C_SignInit; CKM_ECDSA on the RSA key
 * (not deferred); multi-part PKCS #1 v1.5 after a deferred C_SignInit. */
static void deferral_rsa(struct deferral *d, CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                         CK_OBJECT_HANDLE rsa)
{
    unsigned char sig[512];
    CK_ULONG n = sizeof(sig);
    /* The mechanism's parameter is copied at C_SignInit: the caller's may change before
     * C_Sign (PKCS#11 v2.40 §5.2 lets it go once the call returns). */
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_MECHANISM pss_mech = {CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof(pss)};
    HS_CHECK(fn->C_SignInit(s, &pss_mech, rsa) == CKR_OK);
    pss.sLen = 0;
    pss.hashAlg = CKM_SHA_1;
    HS_CHECK(fn->C_Sign(s, (CK_BYTE_PTR)msg, sizeof(msg), sig, &n) == CKR_OK && n == 256);
    HS_CHECK(verify_pss(sig, n));

    /* A mechanism of another family gets the real C_SignInit at once: its refusal, or (SoftHSM2
     * 2.6 takes CKM_ECDSA on an RSA key) an operation the real module has, which its own
     * C_Sign then ends. */
    CK_MECHANISM ecdsa = {CKM_ECDSA, NULL, 0};
    unsigned char digest[32];
    memset(digest, 0x5a, sizeof(digest));
    if (fn->C_SignInit(s, &ecdsa, rsa) == CKR_OK) {
        n = sizeof(sig);
        HS_CHECK(d->real->C_Sign(s, digest, sizeof(digest), sig, &n) !=
                 CKR_OPERATION_NOT_INITIALIZED);
    }

    /* Multi-part signing after a deferred C_SignInit: the real one is made at the first part. */
    CK_MECHANISM pkcs1 = {CKM_SHA256_RSA_PKCS, NULL, 0};
    HS_CHECK(fn->C_SignInit(s, &pkcs1, rsa) == CKR_OK);
    HS_CHECK(fn->C_SignUpdate(s, (CK_BYTE_PTR)msg, 10) == CKR_OK);
    HS_CHECK(fn->C_SignUpdate(s, (CK_BYTE_PTR)msg + 10, sizeof(msg) - 10) == CKR_OK);
    n = sizeof(sig);
    HS_CHECK(fn->C_SignFinal(s, sig, &n) == CKR_OK && n == 256);
    HS_DEFER(struct hs_buf *b = hs_buf_new(sizeof(sig)), hs_buf_freep);
    HS_CHECK(b != NULL && !hs_failed(hs_buf_put(b, sig, n)) && verify(rsa_key, b));
}

static HS_RESULT deferral_op(const struct p11_call *call, void *arg)
{
    struct deferral *d = arg;
    CK_OBJECT_HANDLE ec = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE rsa = CK_INVALID_HANDLE;
    HS_GUARD(p11_key_handle(ec_key, call, &ec));
    HS_GUARD(p11_key_handle(rsa_key, call, &rsa));
    d->key_trips = stats_now().net_calls;
    deferral_ecdsa(d, call->fn, call->session, ec);
    deferral_rsa(d, call->fn, call->session, rsa);
    return HS_OK;
}

/* SDK 5 sends the whole signing operation with C_Sign, so the HSM's work (SoftHSM2 loading the
 * key and making the signature) happens inside C_Sign's round trip; C_SignInit only notes the
 * key and mechanism. */
HS_TEST(l_c_sign_init_waits_for_the_round_trip_of_c_sign)
{
    HS_CHECK(shape.configure("rtt_ms=1") == 0);
    void *dl = dlopen(HS_CLOUDHSM_DEFAULT_MODULE, RTLD_NOW | RTLD_NOLOAD);
    HS_CHECK(dl != NULL);
    CK_C_GetFunctionList get_list = NULL;
    if (dl != NULL) {
        *(void **)(&get_list) = dlsym(dl, "C_GetFunctionList");
    }
    struct deferral d = {NULL, 0, 0};
    HS_CHECK(get_list != NULL && get_list(&d.real) == CKR_OK && d.real != NULL);
    if (d.real != NULL) {
        HS_CHECK_OK(p11_pool_run(pool, deferral_op, &d));
        /* A round trip for each one-part signature, none for a C_SignInit, a size query or a
         * short buffer (the multi-part signature is the real module's). */
        struct hs_cloudhsm_stats st = stats_now();
        /* Plus the two C_Sign calls without an operation, which reach the real module. */
        HS_CHECK(st.signs == d.one_part && st.net_calls == d.key_trips + d.one_part + 2);
    }
    if (dl != NULL) {
        dlclose(dl);
    }
    HS_CHECK(shape.configure("") == 0);
}

/* --- timer slack ----------------------------------------------------------------------------- */

struct slack_probe {
    atomic_long tid; /* the signing thread's id, once it runs */
    int before;      /* its timer slack before the signature, ns */
    int after;       /* and after it */
    bool ok;         /* the signature verified */
};

static void *slack_signer_main(void *arg)
{
    struct slack_probe *p = arg;
    p->before = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    atomic_store(&p->tid, (long)syscall(SYS_gettid));
    long long us = 0;
    p->ok = sign_verified(ec_key, P11_SIG_ECDSA_SHA256, &us);
    p->after = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    return NULL;
}

/* The thread's timer slack in ns, read from /proc (proc(5) timerslack_ns); -1 if unreadable. */
static long slack_of(long tid)
{
    char path[64];
    hs_test_format(path, sizeof(path), "/proc/%ld/timerslack_ns", tid);
    FILE *f = fopen(path, "r");
    char line[32];
    bool got = f != NULL && fgets(line, sizeof(line), f) != NULL;
    if (f != NULL) {
        (void)fclose(f);
    }
    char *end = NULL;
    errno = 0;
    long v = got ? strtol(line, &end, 10) : -1;
    return got && errno == 0 && end != line && (*end == '\n' || *end == '\0') ? v : -1;
}

/* A round trip sleeps with the thread's timer slack at 1 ns (a network answer wakes its reader
 * when it arrives; a timer with the default 50 us slack fired 77 us late at p50), and gives the
 * thread its own slack back. Seen from this thread while the signer sleeps a 300 ms round
 * trip. */
HS_TEST(m_a_round_trip_sleeps_without_timer_slack)
{
    HS_CHECK(shape.configure("rtt_ms=300") == 0);
    struct slack_probe p = {.tid = 0, .before = -1, .after = -1, .ok = false};
    pthread_t t;
    HS_CHECK(pthread_create(&t, NULL, slack_signer_main, &p) == 0);
    long long deadline = now_us() + 2000000;
    while (atomic_load(&p.tid) == 0 && now_us() < deadline) {
        sleep_until_us(now_us() + 1000);
    }
    bool seen_one = false;
    while (!seen_one && now_us() < deadline) {
        seen_one = slack_of(atomic_load(&p.tid)) == 1;
        sleep_until_us(now_us() + 2000);
    }
    pthread_join(t, NULL);
    HS_CHECK(p.ok);
    HS_CHECK(seen_one);
    HS_CHECK(p.before > 1 && p.after == p.before);
    HS_CHECK(shape.configure("") == 0);
}

/* --- setup ----------------------------------------------------------------------------------- */

static bool shape_api_bind(const char *path)
{
    shape.dl = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (shape.dl == NULL) {
        return false;
    }
    *(void **)(&shape.configure) = dlsym(shape.dl, "hs_cloudhsm_configure");
    *(void **)(&shape.stats) = dlsym(shape.dl, "hs_cloudhsm_get_stats");
    return shape.configure != NULL && shape.stats != NULL && shape.configure("") == 0;
}

static bool open_token(const char *dir, const char *lib)
{
    char pin_file[1024];
    hs_test_format(pin_file, sizeof(pin_file), "%s/user.pin", dir);
    struct p11_token_config tc = {.label = token_label, .pin_file = pin_file};
    if (hs_failed(p11_token_config_pin(&tc, &test_pin)) ||
        hs_failed(p11_module_load(lib, &module))) {
        return false;
    }
    /* Two classes (the other cases run in the default one): a flood and a trickle of weight 4. */
    struct p11_sched_config sched = {.nclasses = 2,
                                     .weights = {1, 4},
                                     .default_class = CLASS_FLOOD,
                                     .max_queue = 64,
                                     .queue_timeout_ms = 10000};
    struct p11_pool_config pc = {
        .token_label = token_label, .pin = test_pin, .size = POOL_SIZE, .sched = &sched};
    if (hs_failed(p11_pool_new(module, &pc, &pool)) || !shape_api_bind(lib)) {
        return false;
    }
    char ec_label[64];
    char rsa_label[64];
    hs_test_format(ec_label, sizeof(ec_label), "%s-ec", label_prefix);
    hs_test_format(rsa_label, sizeof(rsa_label), "%s-rsa", label_prefix);
    struct p11_keygen_spec ec = {.type = P11_KEY_EC_P256, .label = ec_label};
    struct p11_keygen_spec rsa = {.type = P11_KEY_RSA, .label = rsa_label, .rsa_bits = 2048};
    return !hs_failed(p11_key_generate(pool, &ec, &ec_key)) &&
           !hs_failed(p11_key_generate(pool, &rsa, &rsa_key));
}

/* Destroys a key's objects (those with its CKA_ID), so the shared fixture token stays small. */
static HS_RESULT destroy_op(const struct p11_call *call, void *arg)
{
    size_t id_len = 0;
    const unsigned char *id = p11_key_id(arg, &id_len);
    CK_ATTRIBUTE tmpl = {CKA_ID, (void *)id, id_len};
    CK_OBJECT_HANDLE found[4];
    CK_ULONG n = 0;
    HS_GUARD_CKR(call->fn->C_FindObjectsInit(call->session, &tmpl, 1));
    CK_RV rv = call->fn->C_FindObjects(call->session, found, 4, &n);
    CK_RV final_rv = call->fn->C_FindObjectsFinal(call->session);
    HS_GUARD_CKR(rv);
    HS_GUARD_CKR(final_rv);
    for (CK_ULONG i = 0; i < n; i++) {
        HS_GUARD_CKR(call->fn->C_DestroyObject(call->session, found[i]));
    }
    return HS_OK;
}

static void key_destroy(struct p11_key *k)
{
    if (k != NULL && hs_failed(p11_pool_run(pool, destroy_op, k))) {
        fprintf(stderr, "warning: a test key was not destroyed\n");
    }
    p11_key_free(k);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], CHILD_ARG) == 0) {
        return child_main(argv[2], argv[3]);
    }
    const char *dir = hs_test_env("HSMSIGN_TEST_TOKEN_DIR");
    token_label = hs_test_env("HSMSIGN_TEST_TOKEN_LABEL");
    const char *lib = hs_test_env(HS_CLOUDHSM_LIB_ENV);
    hs_test_format(label_prefix, sizeof(label_prefix), "p11c-%ld", (long)getpid());
    /* Throttled signatures log warnings; keep the output to what fails. */
    hs_log_set_level(HS_LOG_ERROR);
    /* A child that refused to load closes its stdin before the "go" reaches it. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        perror("signal");
        return 1;
    }
    const char *tmp = getenv("TMPDIR");
    hs_test_format(cluster_dir, sizeof(cluster_dir), "%s/p11_cloudhsm_test.XXXXXX",
                   tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
    int rc = 1;
    if (mkdtemp(cluster_dir) == NULL) {
        perror(cluster_dir);
        cluster_dir[0] = '\0';
        printf("0 passed, 1 failed\n");
    } else if (!open_token(dir, lib)) {
        hs_test_report(__FILE__, __LINE__, "open the test token through the CloudHSM module");
        printf("0 passed, 1 failed\n");
    } else {
        rc = hs_test_main((const struct hs_test_case[]){
            HS_TEST_CASE(a_what_is_not_shaped_passes_through),
            HS_TEST_CASE(b_bad_shapes_are_refused_and_change_nothing),
            HS_TEST_CASE(c_every_signature_pays_the_round_trip_and_still_verifies),
            HS_TEST_CASE(d_a_burst_over_the_cap_is_throttled_with_ckr_function_failed),
            HS_TEST_CASE(e_a_paced_load_under_the_cap_is_never_throttled),
            HS_TEST_CASE(f_each_key_family_has_its_own_limit),
            HS_TEST_CASE(g_a_cluster_with_every_slot_taken_throttles),
            HS_TEST_CASE(h_finding_a_key_takes_few_round_trips),
            HS_TEST_CASE(i_a_trickle_keeps_its_share_of_a_rate_limited_token_under_a_flood),
            HS_TEST_CASE(j_processes_on_one_cluster_file_share_its_rate),
            HS_TEST_CASE(k_a_file_that_is_not_a_cluster_is_refused),
            HS_TEST_CASE(l_c_sign_init_waits_for_the_round_trip_of_c_sign),
            HS_TEST_CASE(m_a_round_trip_sleeps_without_timer_slack),
            HS_TEST_END,
        });
    }
    if (shape.configure != NULL) {
        (void)shape.configure("rtt_ms=0.01");
    }
    key_destroy(ec_key);
    key_destroy(rsa_key);
    if (shape.dl != NULL) {
        dlclose(shape.dl);
    }
    p11_pool_free(pool);
    p11_module_free(module);
    hs_secret_free(test_pin);
    cluster_dir_remove();
    return rc;
}
