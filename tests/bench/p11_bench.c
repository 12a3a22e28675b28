/*
 * p11_bench: signatures per second and p50/p99 latency through hsmsign's session pool
 * (p11_sign: pool, key handle cache, software digest for ECDSA, size query, C_Sign) side by side
 * with a bare C_SignInit/C_Sign loop on a private session, same key, same run, and their ratio.
 *
 *   p11_bench [--seconds S] [--rounds R] [--cases rsa2048,p256,...]
 *
 * The token comes from the environment as for the token tests (tests/testlib/hs_test_p11.h).
 * Each (case, threads) cell alternates bare and pool runs R times and reports the median rate,
 * so slow drift on a noisy machine hits both sides alike. Not a test: it prints a table
 * (tests/bench/p11_bench.sh runs it).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/hs_defer.h"
#include "common/hs_log.h"
#include "pkcs11/p11_error.h"
#include "pkcs11/p11_evp.h"
#include "tests/testlib/hs_test.h"
#include "tests/testlib/hs_test_p11.h"

#define MAX_THREADS 2
#define MAX_ROUNDS 9
#define SAMPLES_MAX (4 * 1024 * 1024)

struct bench_case {
    const char *name;
    enum p11_key_type type;
    unsigned int bits;
    enum p11_sig_alg alg;
};

static const struct bench_case cases[] = {
    {"rsa2048", P11_KEY_RSA, 2048, P11_SIG_RSA_PKCS1_SHA256},
    {"rsa3072", P11_KEY_RSA, 3072, P11_SIG_RSA_PKCS1_SHA256},
    {"rsa4096", P11_KEY_RSA, 4096, P11_SIG_RSA_PKCS1_SHA256},
    {"rsa2048-pss", P11_KEY_RSA, 2048, P11_SIG_RSA_PSS_SHA256},
    {"p256", P11_KEY_EC_P256, 0, P11_SIG_ECDSA_SHA256},
    {"p384", P11_KEY_EC_P384, 0, P11_SIG_ECDSA_SHA384},
    {"ed25519", P11_KEY_ED25519, 0, P11_SIG_EDDSA},
};

/* A JWT-sized message (header.claims), the typical thing the service signs. */
static const unsigned char message[] =
    "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImJlbmNoIn0.eyJpc3MiOiJodHRwczovL2hzbXNpZ24uZX"
    "hhbXBsZSIsInN1YiI6ImFybjphd3M6aWFtOjoxMjM0NTY3ODkwMTI6cm9sZS9iZW5jaCIsImF1ZCI6ImJlbmNoIn0";

static struct p11_module *module;
static struct p11_pool *pool;
static double seconds = 1.0;
static int rounds = 3;

struct bench_run {
    struct p11_key *key;
    const struct bench_case *c;
    CK_OBJECT_HANDLE handle;
    CK_SLOT_ID slot;
    bool bare;
    double *lat;   /* microseconds, this thread's samples */
    size_t n;      /* samples taken */
    size_t failed; /* signs that failed */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The bare loop: the mechanism p11_sign would use, on a session of its own. ECDSA signs a
 * digest computed once; everything else signs the message itself. */
static void bare_loop(struct bench_run *r, double until)
{
    CK_FUNCTION_LIST *fn = p11_module_get0_functions(module);
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    if (fn->C_OpenSession(r->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) != CKR_OK) {
        r->failed++;
        return;
    }
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    bool is_pss = r->c->alg == P11_SIG_RSA_PSS_SHA256;
    CK_MECHANISM mech = {p11_sig_alg_mechanism(r->c->alg), is_pss ? &pss : NULL,
                         is_pss ? sizeof(pss) : 0};
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    const unsigned char *data = message;
    CK_ULONG data_len = sizeof(message) - 1;
    if (mech.mechanism == CKM_ECDSA) {
        const char *md = p11_sig_alg_digest(r->c->alg);
        EVP_Digest(message, sizeof(message) - 1, digest, &dlen, EVP_get_digestbyname(md), NULL);
        data = digest;
        data_len = dlen;
    }
    unsigned char sig[P11_SIG_MAX];
    while (r->n < SAMPLES_MAX) {
        double t0 = now_s();
        if (t0 >= until) {
            break;
        }
        CK_ULONG sig_len = sizeof(sig);
        CK_RV rv = fn->C_SignInit(s, &mech, r->handle);
        rv = rv == CKR_OK ? fn->C_Sign(s, (CK_BYTE_PTR)data, data_len, sig, &sig_len) : rv;
        r->failed += rv != CKR_OK;
        r->lat[r->n++] = (now_s() - t0) * 1e6;
    }
    fn->C_CloseSession(s);
}

static void pool_loop(struct bench_run *r, double until)
{
    struct hs_buf *sig = hs_buf_new(P11_SIG_MAX);
    while (sig != NULL && r->n < SAMPLES_MAX) {
        double t0 = now_s();
        if (t0 >= until) {
            break;
        }
        hs_buf_reset(sig);
        r->failed += hs_failed(
            p11_sign(r->key, r->c->alg, P11_SIG_FORMAT_RAW, message, sizeof(message) - 1, sig));
        r->lat[r->n++] = (now_s() - t0) * 1e6;
    }
    hs_buf_free(sig);
}

struct bench_thread {
    pthread_t thread;
    struct bench_run *run;
    double until;
};

static void *bench_thread_main(void *arg)
{
    struct bench_thread *t = arg;
    if (t->run->bare) {
        bare_loop(t->run, t->until);
    } else {
        pool_loop(t->run, t->until);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

struct bench_result {
    double rate; /* signs per second, all threads */
    double p50;
    double p99;
    size_t failed;
};

/* Runs `threads` threads of one kind for `seconds` and summarises them. */
static struct bench_result run_once(struct bench_run *proto, int threads, double *scratch)
{
    struct bench_run runs[MAX_THREADS];
    struct bench_thread th[MAX_THREADS];
    double start = now_s();
    for (int i = 0; i < threads; i++) {
        runs[i] = *proto;
        runs[i].lat = scratch + (size_t)i * SAMPLES_MAX;
        runs[i].n = 0;
        runs[i].failed = 0;
        th[i] = (struct bench_thread){.run = &runs[i], .until = start + seconds};
        pthread_create(&th[i].thread, NULL, bench_thread_main, &th[i]);
    }
    size_t total = 0;
    struct bench_result res = {0};
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i].thread, NULL);
        memmove(scratch + total, runs[i].lat, runs[i].n * sizeof(double));
        total += runs[i].n;
        res.failed += runs[i].failed;
    }
    double elapsed = now_s() - start;
    qsort(scratch, total, sizeof(double), cmp_double);
    res.rate = (double)total / elapsed;
    res.p50 = total > 0 ? scratch[total / 2] : 0;
    res.p99 = total > 0 ? scratch[(size_t)((double)total * 0.99)] : 0;
    return res;
}

static int cmp_result(const void *a, const void *b)
{
    return cmp_double(&((const struct bench_result *)a)->rate,
                      &((const struct bench_result *)b)->rate);
}

struct handle_op {
    struct p11_key *key;
    CK_OBJECT_HANDLE handle;
};

static HS_RESULT handle_op(const struct p11_call *call, void *arg)
{
    struct handle_op *op = arg;
    return p11_key_handle(op->key, call, &op->handle);
}

static bool bench_case(const struct bench_case *c, CK_SLOT_ID slot, double *scratch)
{
    struct p11_key *key = hs_test_p11_keygen(pool, c->type, c->bits, c->name);
    if (key == NULL || hs_failed(p11_sign_check_key(key, c->alg))) {
        printf("| %-12s | skipped: the token cannot sign this way here%*s|\n", c->name, 68, "");
        p11_key_free(key);
        return true;
    }
    struct handle_op hop = {key, CK_INVALID_HANDLE};
    bool ok = !hs_failed(p11_pool_run(pool, handle_op, &hop));
    for (int threads = 1; ok && threads <= MAX_THREADS; threads++) {
        struct bench_result bare[MAX_ROUNDS];
        struct bench_result pooled[MAX_ROUNDS];
        struct bench_run proto = {key, c, hop.handle, slot, true, NULL, 0, 0};
        for (int r = 0; r < rounds; r++) {
            proto.bare = true;
            bare[r] = run_once(&proto, threads, scratch);
            proto.bare = false;
            pooled[r] = run_once(&proto, threads, scratch);
            ok = ok && bare[r].failed == 0 && pooled[r].failed == 0;
        }
        qsort(bare, (size_t)rounds, sizeof(bare[0]), cmp_result);
        qsort(pooled, (size_t)rounds, sizeof(pooled[0]), cmp_result);
        const struct bench_result *b = &bare[rounds / 2];
        const struct bench_result *p = &pooled[rounds / 2];
        printf("| %-12s | %7d | %10.0f | %8.0f | %8.0f | %10.0f | %8.0f | %8.0f | %6.1f %% |\n",
               c->name, threads, b->rate, b->p50, b->p99, p->rate, p->p50, p->p99,
               100.0 * p->rate / b->rate);
        fflush(stdout);
    }
    p11_key_free(key);
    return ok;
}

static bool wanted(const char *list, const char *name)
{
    if (list == NULL) {
        return true;
    }
    size_t n = strlen(name);
    for (const char *p = strstr(list, name); p != NULL; p = strstr(p + 1, name)) {
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) {
            return true;
        }
    }
    return false;
}

int main(int argc, char **argv)
{
    const char *list = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seconds") == 0) {
            seconds = atof(argv[i + 1]);
        } else if (strcmp(argv[i], "--rounds") == 0) {
            rounds = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--cases") == 0) {
            list = argv[i + 1];
        }
    }
    rounds = rounds < 1 ? 1 : (rounds > MAX_ROUNDS ? MAX_ROUNDS : rounds);
    hs_log_set_level(HS_LOG_WARN);
    if (hs_failed(p11_evp_init()) || hs_test_p11_open(4, &module, &pool) != 0) {
        return 1;
    }
    CK_SLOT_ID slot = 0;
    double *scratch = malloc((size_t)MAX_THREADS * SAMPLES_MAX * sizeof(double));
    if (scratch == NULL ||
        hs_failed(p11_module_find_token(module, hs_test_p11_token_label(), &slot))) {
        return 1;
    }
    printf("token %s, module %s; %.1f s per run, median of %d alternating rounds\n\n",
           hs_test_p11_token_label(), hs_test_p11_module_path(), seconds, rounds);
    printf("| %-12s | threads | bare sig/s | p50 (µs) | p99 (µs) | pool sig/s | p50 (µs) | "
           "p99 (µs) | pool/bare |\n",
           "case");
    printf("|--------------|---------|------------|----------|----------|------------|----------|"
           "----------|-----------|\n");
    bool ok = true;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (wanted(list, cases[i].name)) {
            ok = bench_case(&cases[i], slot, scratch) && ok;
        }
    }
    hs_test_p11_cleanup(pool);
    free(scratch);
    p11_pool_free(pool);
    p11_module_free(module);
    if (!ok) {
        fprintf(stderr, "some signatures failed\n");
    }
    return ok ? 0 : 1;
}
