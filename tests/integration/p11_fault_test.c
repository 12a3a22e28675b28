/*
 * The pool's recovery policy (pkcs11/p11_pool.h) against injected Cryptoki failures: the
 * fixture's SoftHSM2 token is reached through the fault-injecting module (testlib/p11_fault.h,
 * $HSMSIGN_FAULT_LIB), whose rules each case sets. Every signature is verified with OpenSSL
 * against the key's public half.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/hs_defer.h"
#include "common/hs_log.h"
#include "common/hs_secret.h"
#include "pkcs11/p11_config.h"
#include "pkcs11/p11_error.h"
#include "pkcs11/p11_key.h"
#include "pkcs11/p11_pool.h"
#include "pkcs11/p11_sign.h"
#include "signer/sgn_cert.h"
#include "tests/testlib/hs_test.h"
#include "tests/testlib/p11_fault.h"

#define POOL_SIZE 4
#define SIGN_THREADS 8

/* The module's control functions, found with dlsym in the instance the pool loaded. */
struct fault_api {
    void *dl;
    hs_fault_configure_fn configure;
    hs_fault_injected_fn injected;
    hs_fault_calls_fn calls;
    hs_fault_hide_fn hide;
};

static struct fault_api fault;
static struct p11_module *module;
static struct p11_pool *pool;
static struct hs_secret *test_pin; /* kept to open further pools */
static const char *token_label;
static char label_prefix[32];

static const unsigned char msg[] = "a signature made through a token that keeps failing";

/* Labels are unique per run so the shared fixture token can be reused across test binaries. */
static const char *label(const char *name)
{
    static char buf[8][96];
    static int next;
    char *b = buf[next++ % 8];
    snprintf(b, 96, "%s-%s", label_prefix, name);
    return b;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct p11_key *gen(const char *name)
{
    struct p11_keygen_spec spec = {.type = P11_KEY_EC_P256, .label = label(name)};
    struct p11_key *k = NULL;
    HS_CHECK_OK(p11_key_generate(pool, &spec, &k));
    return k;
}

/* Destroys the key pair (the objects with its CKA_ID), so the shared fixture token stays small:
 * every search on SoftHSM2 walks all of the token's objects. */
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

/* For HS_DEFER: destroys the key's objects with no rule in force, then frees it. */
static void key_destroyp(struct p11_key **k)
{
    if (*k == NULL) {
        return;
    }
    HS_CHECK(fault.configure("") == 0);
    HS_CHECK_OK(p11_pool_run(pool, destroy_op, *k));
    p11_key_free(*k);
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

enum sign_outcome {
    SIGN_OK,
    SIGN_FAILED,  /* p11_sign failed: hs_error_last() says why */
    SIGN_BAD_SIG, /* p11_sign succeeded but the signature does not verify */
};

static enum sign_outcome sign_once(struct p11_key *k)
{
    HS_DEFER(struct hs_buf *sig = hs_buf_new(P11_SIG_MAX), hs_buf_freep);
    if (sig == NULL ||
        hs_failed(p11_sign(k, P11_SIG_ECDSA_SHA256, P11_SIG_FORMAT_DER, msg, sizeof(msg), sig))) {
        return SIGN_FAILED;
    }
    return verify(k, sig) ? SIGN_OK : SIGN_BAD_SIG;
}

/* Results of a run of signatures; the first failure's error is kept. */
struct sign_run {
    struct p11_key *key;
    int count;
    int ok;
    int failed;
    int failed_lost; /* of which HS_ERR_HSM_SESSION with CKR_SESSION_HANDLE_INVALID */
    int bad_sig;
    enum hs_code first_code;
    const char *first_ckr;
};

static void sign_run_many(struct sign_run *run)
{
    for (int i = 0; i < run->count; i++) {
        enum sign_outcome o = sign_once(run->key);
        run->ok += o == SIGN_OK;
        run->bad_sig += o == SIGN_BAD_SIG;
        if (o != SIGN_FAILED) {
            continue;
        }
        const struct hs_error *e = hs_error_last();
        run->failed_lost += e->code == HS_ERR_HSM_SESSION && e->ckr == CKR_SESSION_HANDLE_INVALID;
        if (run->failed++ == 0) {
            run->first_code = e->code;
            run->first_ckr = e->ckr_name;
        }
    }
}

static void *sign_thread(void *arg)
{
    sign_run_many(arg);
    return NULL;
}

/* Signs total times with k from threads threads and adds up the outcomes. */
static struct sign_run sign_parallel(struct p11_key *k, int threads, int total)
{
    struct sign_run runs[SIGN_THREADS];
    pthread_t tids[SIGN_THREADS];
    struct sign_run sum = {.key = k};
    int started = 0;
    for (int i = 0; i < threads && i < SIGN_THREADS; i++) {
        runs[i] = (struct sign_run){.key = k, .count = total / threads};
        if (pthread_create(&tids[i], NULL, sign_thread, &runs[i]) != 0) {
            break;
        }
        started++;
    }
    HS_CHECK(started == threads);
    for (int i = 0; i < started; i++) {
        pthread_join(tids[i], NULL);
        sum.count += runs[i].count;
        sum.ok += runs[i].ok;
        sum.bad_sig += runs[i].bad_sig;
        if (runs[i].failed > 0 && sum.failed == 0) {
            sum.first_code = runs[i].first_code;
            sum.first_ckr = runs[i].first_ckr;
        }
        sum.failed += runs[i].failed;
        sum.failed_lost += runs[i].failed_lost;
    }
    return sum;
}

static void report_run(const char *what, const struct sign_run *r)
{
    fprintf(stderr, "  %s: %d signs, %d ok, %d failed, %d did not verify", what, r->count, r->ok,
            r->failed, r->bad_sig);
    if (r->failed > 0) {
        fprintf(stderr, " (first failure: %s %s)", hs_code_name(r->first_code),
                r->first_ckr != NULL ? r->first_ckr : "-");
    }
    fprintf(stderr, "\n");
}

static bool ckr_is(const char *name)
{
    const char *got = hs_error_last()->ckr_name;
    return got != NULL && strcmp(got, name) == 0;
}

static void stats(struct p11_pool_stats *out)
{
    p11_pool_get_stats(pool, out);
}

/* Clears every rule and makes sure the token is logged in again (a case may leave it logged
 * out); p11_pool_ping logs in when it finds a public session. */
static void heal(void)
{
    HS_CHECK(fault.configure("") == 0);
    HS_CHECK_OK(p11_pool_ping(pool));
}

/* Logs the application out of the token behind the pool's back, on a session of our own, while
 * the pool's sessions sit idle (login state is shared by all of them). */
static void logout_behind_the_pool(void)
{
    CK_FUNCTION_LIST *fn = p11_module_get0_functions(module);
    CK_SLOT_ID slot = 0;
    CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
    HS_CHECK_OK(p11_module_find_token(module, token_label, &slot));
    HS_CHECK(fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h) ==
             CKR_OK);
    HS_CHECK(fn->C_Logout(h) == CKR_OK);
    HS_CHECK(fn->C_CloseSession(h) == CKR_OK);
}

/* --- the module itself --------------------------------------------------------------------- */

HS_TEST(spec_grammar_refuses_bad_rules_and_keeps_the_old_ones)
{
    static const char *const good[] = {
        "",
        " ; ;",
        "C_Sign:close",
        "C_Sign:garble:nth=2",
        "*:CKR_DEVICE_ERROR:every=3",
        "C_Sign:CKR_FUNCTION_FAILED:rate=0.5;seed=9",
        "C_Sign:CKR_FUNCTION_FAILED:rate=1",
        " C_Login : logout : nth=2 ",
        "C_OpenSession:CKR_DEVICE_ERROR;C_GetTokenInfo:CKR_TOKEN_NOT_PRESENT",
        "*:close;*:logout:nth=4",
    };
    static const char *const bad[] = {
        "C_Bogus:CKR_DEVICE_ERROR",
        "C_Sign",
        "C_Sign:",
        "C_Sign:CKR_NO_SUCH_CODE",
        "C_Sign:ckr_device_error",
        "C_Sign:close:every=0",
        "C_SignInit:garble",
        "*:garble",
        "C_Sign:close:every=-1",
        "C_Sign:close:every=x",
        "C_Sign:close:every=99999999999999999999999",
        "C_Sign:close:nth=",
        "C_Sign:close:rate=0",
        "C_Sign:close:rate=1.5",
        "C_Sign:close:rate=nan",
        "C_Sign:close:rate=0.5x",
        "C_Sign:close:often",
        "C_Sign:close:",
        "C_Sign:close:every=2:extra",
        "C_OpenSession:close",
        "C_GetTokenInfo:logout",
        "seed=abc",
        "C_Sign:close;C_Bogus:close",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (fault.configure(good[i]) != 0) {
            fprintf(stderr, "  refused good spec \"%s\"\n", good[i]);
            hs_test_report(__FILE__, __LINE__, "good spec accepted");
        }
    }
    /* A rule that never fires, and two counted calls. */
    HS_CHECK(fault.configure("C_Sign:CKR_DEVICE_ERROR:nth=1000000") == 0);
    HS_DEFER(struct p11_key *k = gen("grammar"), key_destroyp);
    HS_CHECK(fault.configure("C_Sign:CKR_DEVICE_ERROR:nth=1000000") == 0);
    HS_CHECK(k != NULL && sign_once(k) == SIGN_OK);
    HS_CHECK(fault.calls("C_Sign") == 2 && fault.calls("C_SignInit") == 1);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (fault.configure(bad[i]) != -1) {
            fprintf(stderr, "  accepted bad spec \"%s\"\n", bad[i]);
            hs_test_report(__FILE__, __LINE__, "bad spec refused");
        }
    }
    /* 33 rules: one too many. */
    char many[HS_FAULT_SPEC_MAX];
    size_t used = 0;
    for (int i = 0; i <= HS_FAULT_RULES_MAX; i++) {
        int n = snprintf(many + used, sizeof(many) - used, "C_Sign:close:nth=%d;", i + 1);
        HS_CHECK(n > 0 && (size_t)n < sizeof(many) - used);
        used += (size_t)n;
    }
    HS_CHECK(fault.configure(many) == -1);
    /* The refused specs left the rule and its counters alone. */
    HS_CHECK(fault.calls("C_Sign") == 2 && fault.calls("*") >= 3);
    HS_CHECK(fault.calls("C_NoSuchFunction") == 0 && fault.injected() == 0);
    heal();
}

/* Drives the wrapped C_GetSessionInfo directly with an invalid handle: an injected code is
 * CKR_DEVICE_ERROR or CKR_GENERAL_ERROR, the real module's answer CKR_SESSION_HANDLE_INVALID. */
static int count_injected_session_info(int calls, CK_RV which)
{
    CK_FUNCTION_LIST *fn = p11_module_get0_functions(module);
    int n = 0;
    for (int i = 0; i < calls; i++) {
        CK_SESSION_INFO info;
        n += fn->C_GetSessionInfo(CK_INVALID_HANDLE, &info) == which;
    }
    return n;
}

struct hammer {
    int calls;
    int injected;
};

static void *hammer_thread(void *arg)
{
    struct hammer *h = arg;
    h->injected = count_injected_session_info(h->calls, CKR_DEVICE_ERROR);
    return NULL;
}

HS_TEST(triggers_count_per_function_and_stay_exact_under_8_threads)
{
    HS_CHECK(fault.configure("C_GetSessionInfo:CKR_DEVICE_ERROR:every=7") == 0);
    HS_CHECK(count_injected_session_info(700, CKR_DEVICE_ERROR) == 100);
    HS_CHECK(fault.calls("C_GetSessionInfo") == 700 && fault.injected() == 100);
    /* The first rule that fires wins: call 2 meets the first rule, calls 4, 6... the second. */
    HS_CHECK(fault.configure("C_GetSessionInfo:CKR_DEVICE_ERROR:nth=2;"
                             "C_GetSessionInfo:CKR_GENERAL_ERROR:every=2") == 0);
    HS_CHECK(count_injected_session_info(2, CKR_DEVICE_ERROR) == 1);
    HS_CHECK(count_injected_session_info(8, CKR_GENERAL_ERROR) == 4);
    /* rate= draws from a seeded PRNG: about P of the calls, the same ones for the same seed. */
    HS_CHECK(fault.configure("C_GetSessionInfo:CKR_DEVICE_ERROR:rate=0.25;seed=42") == 0);
    int first = count_injected_session_info(4000, CKR_DEVICE_ERROR);
    HS_CHECK(fault.configure("seed=42;C_GetSessionInfo:CKR_DEVICE_ERROR:rate=0.25") == 0);
    int again = count_injected_session_info(4000, CKR_DEVICE_ERROR);
    fprintf(stderr, "  rate=0.25: %d of 4000 calls, %d with the same seed\n", first, again);
    HS_CHECK(first == again && first > 850 && first < 1150);
    HS_CHECK(fault.configure("C_GetSessionInfo:CKR_DEVICE_ERROR:rate=1") == 0);
    HS_CHECK(count_injected_session_info(100, CKR_DEVICE_ERROR) == 100);
    /* 8 threads x 20,000 calls: every count is handed out once, so exactly 1 in 7 fires. */
    HS_CHECK(fault.configure("C_GetSessionInfo:CKR_DEVICE_ERROR:every=7") == 0);
    struct hammer h[SIGN_THREADS];
    pthread_t tids[SIGN_THREADS];
    int started = 0;
    for (int i = 0; i < SIGN_THREADS; i++) {
        h[i] = (struct hammer){20000, 0};
        if (pthread_create(&tids[i], NULL, hammer_thread, &h[i]) != 0) {
            break;
        }
        started++;
    }
    int injected = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(tids[i], NULL);
        injected += h[i].injected;
    }
    HS_CHECK(started == SIGN_THREADS);
    HS_CHECK(fault.calls("C_GetSessionInfo") == (unsigned long)started * 20000);
    HS_CHECK(injected == started * 20000 / 7 && fault.injected() == (unsigned long)injected);
    heal();
}

/* --- a. sessions that really die ----------------------------------------------------------- */

/* Runs total signatures from threads threads under C_Sign:close:every=10 and reports. */
static struct sign_run sign_with_dying_sessions(const char *name, int threads, int total,
                                                unsigned long *out_injected, uint64_t *out_reopened)
{
    HS_DEFER(struct p11_key *k = gen(name), key_destroyp);
    struct sign_run r = {.key = k};
    if (k == NULL) {
        return r;
    }
    struct p11_pool_stats before;
    struct p11_pool_stats after;
    stats(&before);
    HS_CHECK(fault.configure("C_Sign:close:every=10") == 0);
    double t0 = now_s();
    r = sign_parallel(k, threads, total);
    double elapsed = now_s() - t0;
    stats(&after);
    unsigned long calls = fault.calls("C_Sign");
    *out_injected = fault.injected();
    *out_reopened = after.reopened - before.reopened;
    char what[64];
    snprintf(what, sizeof(what), "C_Sign:close:every=10, %d thread(s)", threads);
    report_run(what, &r);
    fprintf(stderr, "  C_Sign calls %lu, injected %lu, reopened +%llu, relogins +%llu, %.2f s\n",
            calls, *out_injected, (unsigned long long)*out_reopened,
            (unsigned long long)(after.relogins - before.relogins), elapsed);
    HS_CHECK(*out_injected == calls / 10);
    HS_CHECK(after.open <= POOL_SIZE && after.in_use == 0);
    heal();
    r.key = NULL; /* destroyed on return */
    return r;
}

/* One thread: the call after an injected close is never the next multiple of 10, so every
 * signature succeeds at its first retry. */
HS_TEST(a_2000_signs_with_every_10th_c_sign_closed_all_succeed_and_verify)
{
    unsigned long injected = 0;
    uint64_t reopened = 0;
    struct sign_run r = sign_with_dying_sessions("a-close", 1, 2000, &injected, &reopened);
    HS_CHECK(r.count == 2000 && r.ok == 2000 && r.failed == 0 && r.bad_sig == 0);
    HS_CHECK(injected >= 200);
    /* Every injected close drops exactly the session it killed. */
    HS_CHECK(reopened == injected && reopened >= 200);
}

/* Eight threads share the call counter, so one signature can meet a close on each of its
 * 1 + P11_POOL_RETRIES attempts (about 0.2^4 per signature): such a signature fails, cleanly,
 * with the session error. Every signature returned must verify. */
HS_TEST(a_8_threads_with_dying_sessions_verify_and_fail_only_past_the_retries)
{
    unsigned long injected = 0;
    uint64_t reopened = 0;
    struct sign_run r =
        sign_with_dying_sessions("a-close-mt", SIGN_THREADS, 2000, &injected, &reopened);
    HS_CHECK(r.count == 2000 && r.ok + r.failed == 2000 && r.bad_sig == 0);
    HS_CHECK(r.failed == r.failed_lost && r.failed <= 20);
    HS_CHECK(injected >= 200 && reopened == injected);
}

/* --- b. a lost login ------------------------------------------------------------------------ */

HS_TEST(b_a_logout_on_every_97th_c_sign_leads_to_a_relogin)
{
    HS_DEFER(struct p11_key *k = gen("b-logout"), key_destroyp);
    if (k == NULL) {
        return;
    }
    struct p11_pool_stats before;
    struct p11_pool_stats after;
    stats(&before);
    HS_CHECK(fault.configure("C_Sign:logout:every=97") == 0);
    struct sign_run r = {.key = k, .count = 1000};
    sign_run_many(&r);
    stats(&after);
    unsigned long injected = fault.injected();
    unsigned long calls = fault.calls("C_Sign");
    uint64_t relogins = after.relogins - before.relogins;
    report_run("C_Sign:logout:every=97", &r);
    fprintf(stderr, "  C_Sign calls %lu, logouts injected %lu, relogins +%llu\n", calls, injected,
            (unsigned long long)relogins);
    /* p11_sign makes two C_Sign calls (size query, then the signature), so 1000 signatures
     * make 2000 calls and meet 2000 / 97 = 20 logouts. */
    HS_CHECK(injected == calls / 97);
    /* After a C_Logout SoftHSM2 voids private object handles and reports the lost login as
     * CKR_OBJECT_HANDLE_INVALID at the next C_SignInit: the pool must log in again and find
     * the key again (found by this test; fixed in p11_pool_settle). */
    HS_CHECK(r.ok == 1000 && r.failed == 0 && calls == 2000 && injected == 20);
    HS_CHECK(relogins >= injected && injected > 0);
    HS_CHECK(relogins <= 2 * injected);
    HS_CHECK(r.bad_sig == 0);
    /* The pool logs in again (p11_pool_ping finds a public session); the key it found before
     * the logout must sign again. */
    stats(&before);
    heal();
    stats(&after);
    HS_CHECK(after.relogins - before.relogins == (r.failed > 0 ? 1 : 0));
    /* A re-login advances the epoch, so the handle C_Logout voided is never used again. */
    HS_CHECK(sign_once(k) == SIGN_OK);
    heal();
}

HS_TEST(b_logout_while_idle_then_c_sign_closed_still_signs)
{
    HS_DEFER(struct p11_key *k = gen("b-idle-sign"), key_destroyp);
    if (k == NULL) {
        return;
    }
    HS_CHECK(sign_once(k) == SIGN_OK);
    logout_behind_the_pool();
    struct p11_pool_stats before;
    struct p11_pool_stats after;
    stats(&before);
    HS_CHECK(fault.configure("C_Sign:close:nth=1") == 0);
    enum sign_outcome o = sign_once(k);
    stats(&after);
    const struct hs_error *e = hs_error_last();
    fprintf(stderr, "  sign: %s (%s %s), C_Sign closes %lu, reopened +%llu, relogins +%llu\n",
            o == SIGN_OK ? "ok" : "failed", o == SIGN_OK ? "-" : hs_code_name(e->code),
            o == SIGN_OK || e->ckr_name == NULL ? "-" : e->ckr_name, fault.injected(),
            (unsigned long long)(after.reopened - before.reopened),
            (unsigned long long)(after.relogins - before.relogins));
    HS_CHECK(o == SIGN_OK && fault.injected() == 1);
    HS_CHECK(after.relogins - before.relogins >= 1);
    heal();
}

HS_TEST(b_logout_while_idle_then_c_sign_init_closed_logs_in_the_new_session)
{
    HS_DEFER(struct p11_key *k = gen("b-idle-init"), key_destroyp);
    if (k == NULL) {
        return;
    }
    HS_CHECK(sign_once(k) == SIGN_OK);
    logout_behind_the_pool();
    struct p11_pool_stats before;
    struct p11_pool_stats after;
    stats(&before);
    /* The session dies at its first call, before the stale handle is used: the pool opens a
     * new one, finds it public (C_GetSessionInfo), logs in, finds the key again and signs. */
    HS_CHECK(fault.configure("C_SignInit:close:nth=1") == 0);
    HS_CHECK(sign_once(k) == SIGN_OK);
    stats(&after);
    fprintf(stderr, "  C_SignInit closes %lu, reopened +%llu, relogins +%llu\n", fault.injected(),
            (unsigned long long)(after.reopened - before.reopened),
            (unsigned long long)(after.relogins - before.relogins));
    HS_CHECK(fault.injected() == 1);
    HS_CHECK(after.reopened - before.reopened == 1);
    HS_CHECK(after.relogins - before.relogins == 1);
    HS_CHECK(fault.calls("C_Login") == 1 && fault.calls("C_OpenSession") == 1);
    HS_CHECK(sign_once(k) == SIGN_OK);
    heal();
}

/* --- c. a token that keeps failing ---------------------------------------------------------- */

HS_TEST(c_a_failing_token_gives_clean_errors_and_recovers_when_it_heals)
{
    HS_DEFER(struct p11_key *k = gen("c-device"), key_destroyp);
    if (k == NULL) {
        return;
    }
    HS_CHECK(sign_once(k) == SIGN_OK);
    HS_CHECK(fault.configure("*:CKR_DEVICE_ERROR") == 0);
    double t0 = now_s();
    HS_DEFER(struct hs_buf *sig = hs_buf_new(P11_SIG_MAX), hs_buf_freep);
    HS_CHECK_ERR(p11_sign(k, P11_SIG_ECDSA_SHA256, P11_SIG_FORMAT_DER, msg, sizeof(msg), sig),
                 HS_ERR_HSM_SESSION);
    HS_CHECK(ckr_is("CKR_DEVICE_ERROR") && hs_error_last()->ckr == CKR_DEVICE_ERROR);
    HS_CHECK(hs_buf_len(sig) == 0);
    /* One attempt and P11_POOL_RETRIES more, each failing at its first Cryptoki call. */
    unsigned long per_sign = fault.injected();
    HS_CHECK(per_sign == 1 + P11_POOL_RETRIES);
    HS_CHECK_ERR(p11_pool_ping(pool), HS_ERR_HSM_SESSION);
    HS_CHECK(ckr_is("CKR_DEVICE_ERROR"));
    HS_CHECK(fault.injected() == per_sign + 1 + P11_POOL_RETRIES);
    struct p11_keygen_spec spec = {.type = P11_KEY_EC_P256, .label = label("c-never")};
    struct p11_key *none = NULL;
    HS_CHECK_ERR(p11_key_generate(pool, &spec, &none), HS_ERR_HSM_SESSION);
    HS_CHECK(ckr_is("CKR_DEVICE_ERROR") && none == NULL);
    struct p11_pool_stats st;
    stats(&st);
    double elapsed = now_s() - t0;
    fprintf(stderr, "  3 failing calls: %lu faults injected, %.3f s, %zu sessions open\n",
            fault.injected(), elapsed, st.open);
    HS_CHECK(elapsed < 2.0 && st.in_use == 0);
    /* The token heals: the very next call works. */
    HS_CHECK(fault.configure("") == 0);
    HS_CHECK(sign_once(k) == SIGN_OK);
    HS_CHECK_OK(p11_pool_ping(pool));
    heal();
}

/* --- d. throttling -------------------------------------------------------------------------- */

HS_TEST(d_throttled_c_sign_is_retried_and_endless_throttling_fails_in_bounds)
{
    HS_DEFER(struct p11_key *k = gen("d-throttle"), key_destroyp);
    if (k == NULL) {
        return;
    }
    struct p11_pool_stats before;
    struct p11_pool_stats after;
    stats(&before);
    HS_CHECK(fault.configure("C_Sign:CKR_FUNCTION_FAILED:nth=2") == 0);
    HS_CHECK(sign_once(k) == SIGN_OK);
    stats(&after);
    HS_CHECK(after.throttled - before.throttled == 1);
    HS_CHECK(fault.injected() == 1 && fault.calls("C_Sign") == 4);
    fprintf(stderr, "  nth=2: throttled +%llu, C_Sign calls %lu\n",
            (unsigned long long)(after.throttled - before.throttled), fault.calls("C_Sign"));

    stats(&before);
    HS_CHECK(fault.configure("C_Sign:CKR_FUNCTION_FAILED") == 0);
    double t0 = now_s();
    HS_DEFER(struct hs_buf *sig = hs_buf_new(P11_SIG_MAX), hs_buf_freep);
    HS_CHECK_ERR(p11_sign(k, P11_SIG_ECDSA_SHA256, P11_SIG_FORMAT_DER, msg, sizeof(msg), sig),
                 HS_ERR_HSM_OVERLOADED);
    double elapsed = now_s() - t0;
    HS_CHECK(ckr_is("CKR_FUNCTION_FAILED") && hs_error_last()->ckr == CKR_FUNCTION_FAILED);
    stats(&after);
    uint64_t retries = after.throttled - before.throttled;
    fprintf(stderr, "  always: throttled +%llu, C_SignInit %lu, C_Sign %lu, %.3f s\n",
            (unsigned long long)retries, fault.calls("C_SignInit"), fault.calls("C_Sign"), elapsed);
    /* Retried until the pool's throttle deadline (the default 2 s): the backoff steps (5 ms
     * doubling to 200 ms, each slept half to whole) fit at least 10 retries into it. */
    HS_CHECK(retries >= 10);
    HS_CHECK(fault.calls("C_Sign") == 1 + retries);
    /* Every retry could start a new operation: the failed C_Sign ended the one before. */
    HS_CHECK(fault.calls("C_SignInit") == 1 + retries);
    HS_CHECK(elapsed >= 2.0 && elapsed < 10.0);
    HS_CHECK(fault.configure("") == 0);
    HS_CHECK(sign_once(k) == SIGN_OK);
    heal();
}

/* --- e. fatal errors ------------------------------------------------------------------------ */

HS_TEST(e_a_stale_handle_is_found_again_once)
{
    HS_DEFER(struct p11_key *k = gen("e-stale"), key_destroyp);
    if (k == NULL) {
        return;
    }
    struct p11_pool_stats before;
    struct p11_pool_stats after;
    stats(&before);
    uint64_t epoch = p11_pool_epoch(pool);
    /* Still logged in: the handle is found again under a new epoch and the sign succeeds. */
    HS_CHECK(fault.configure("C_SignInit:CKR_KEY_HANDLE_INVALID:nth=1") == 0);
    HS_CHECK(sign_once(k) == SIGN_OK);
    stats(&after);
    HS_CHECK(fault.calls("C_SignInit") == 2 && fault.injected() == 1);
    HS_CHECK(p11_pool_epoch(pool) > epoch);
    HS_CHECK(after.reopened == before.reopened && after.relogins == before.relogins);
    heal();
}

HS_TEST(e_a_handle_that_stays_invalid_fails_within_the_retries)
{
    HS_DEFER(struct p11_key *k = gen("e-invalid"), key_destroyp);
    if (k == NULL) {
        return;
    }
    HS_CHECK(fault.configure("C_SignInit:CKR_KEY_HANDLE_INVALID") == 0);
    HS_DEFER(struct hs_buf *sig = hs_buf_new(P11_SIG_MAX), hs_buf_freep);
    HS_CHECK_ERR(p11_sign(k, P11_SIG_ECDSA_SHA256, P11_SIG_FORMAT_DER, msg, sizeof(msg), sig),
                 HS_ERR_HSM);
    HS_CHECK(ckr_is("CKR_KEY_HANDLE_INVALID") && hs_error_last()->ckr == CKR_KEY_HANDLE_INVALID);
    HS_CHECK(fault.calls("C_SignInit") == 1 + P11_POOL_RETRIES && fault.calls("C_Sign") == 0);
    heal();
    HS_CHECK(sign_once(k) == SIGN_OK);
}

HS_TEST(e_a_fatal_error_is_not_retried)
{
    HS_DEFER(struct p11_key *k = gen("e-fatal"), key_destroyp);
    if (k == NULL) {
        return;
    }
    struct p11_pool_stats before;
    struct p11_pool_stats after;
    stats(&before);
    HS_CHECK(fault.configure("C_SignInit:CKR_GENERAL_ERROR:nth=1") == 0);
    HS_DEFER(struct hs_buf *sig = hs_buf_new(P11_SIG_MAX), hs_buf_freep);
    HS_CHECK_ERR(p11_sign(k, P11_SIG_ECDSA_SHA256, P11_SIG_FORMAT_DER, msg, sizeof(msg), sig),
                 HS_ERR_HSM);
    HS_CHECK(ckr_is("CKR_GENERAL_ERROR") && hs_error_last()->ckr == CKR_GENERAL_ERROR);
    stats(&after);
    HS_CHECK(fault.calls("C_SignInit") == 1 && fault.calls("C_Sign") == 0);
    HS_CHECK(after.reopened == before.reopened && after.relogins == before.relogins &&
             after.throttled == before.throttled);
    /* The rule fired once; the next signature goes through. */
    HS_CHECK(sign_once(k) == SIGN_OK);
    HS_CHECK(fault.calls("C_SignInit") == 2);
    heal();
}

/* --- f. mechanisms -------------------------------------------------------------------------- */

/* A pool probes the token's mechanisms when it opens; a use the token does not offer is refused
 * before any key is touched, with the CKM_* in the error. */
HS_TEST(f_a_mechanism_the_token_lacks_is_refused_naming_it)
{
    HS_DEFER(struct p11_key *k = gen("f-mech"), key_destroyp);
    if (k == NULL) {
        return;
    }
    HS_CHECK(fault.hide("CKM_ECDSA,CKM_EC_KEY_PAIR_GEN") == 0);
    struct p11_pool_config pc = {.token_label = token_label, .pin = test_pin, .size = 1};
    HS_DEFER(struct p11_pool *lacking = NULL, p11_pool_freep);
    HS_CHECK_OK(p11_pool_new(module, &pc, &lacking));
    HS_DEFER(struct p11_key *same = NULL, p11_key_freep);
    if (lacking != NULL) {
        HS_CHECK_OK(p11_key_find(lacking, label("f-mech"), &same));
    }
    if (same != NULL) {
        HS_CHECK_ERR(p11_sign_check_key(same, P11_SIG_ECDSA_SHA256), HS_ERR_HSM_MECHANISM);
        HS_CHECK(strstr(hs_error_last()->detail, "does not offer CKM_ECDSA for signing") != NULL);
        struct p11_keygen_spec spec = {.type = P11_KEY_EC_P256, .label = label("f-mech-new")};
        struct p11_key *created = NULL;
        HS_CHECK_ERR(p11_key_generate(lacking, &spec, &created), HS_ERR_HSM_MECHANISM);
        HS_CHECK(strstr(hs_error_last()->detail, "CKM_EC_KEY_PAIR_GEN for key generation") != NULL);
        HS_CHECK(created == NULL);
        /* RSA is still offered, so the check is about the mechanism, not the pool. */
        HS_CHECK_OK(p11_sign_check(lacking, P11_KEY_RSA, 2048, P11_SIG_RSA_PKCS1_SHA256));
    }
    /* The pool opened before the mechanisms disappeared probed them then. */
    HS_CHECK_OK(p11_sign_check_key(k, P11_SIG_ECDSA_SHA256));
    HS_CHECK(fault.hide("CKM_NO_SUCH") == -1);
    HS_CHECK(fault.hide("") == 0);
}

/* --- g. idle sessions ----------------------------------------------------------------------- */

/* A session that sat idle past idle_check_s is asked (C_GetSessionInfo) whether it still
 * exists and is logged in before it is used; one used recently is not asked. */
HS_TEST(g_an_idle_session_is_checked_and_logged_in_again_before_use)
{
    struct p11_pool_config pc = {
        .token_label = token_label, .pin = test_pin, .size = 1, .idle_check_s = 1};
    HS_DEFER(struct p11_pool *idle = NULL, p11_pool_freep);
    HS_CHECK_OK(p11_pool_new(module, &pc, &idle));
    HS_DEFER(struct p11_key *k = gen("g-idle"), key_destroyp);
    HS_DEFER(struct p11_key *same = NULL, p11_key_freep);
    if (idle == NULL || k == NULL) {
        return;
    }
    HS_CHECK_OK(p11_key_find(idle, label("g-idle"), &same));
    HS_CHECK(same != NULL && sign_once(same) == SIGN_OK);
    HS_CHECK(fault.configure("") == 0);
    HS_CHECK(sign_once(same) == SIGN_OK);
    HS_CHECK(fault.calls("C_GetSessionInfo") == 0);
    struct timespec pause = {2, 100 * 1000000L};
    nanosleep(&pause, NULL);
    logout_behind_the_pool();
    struct p11_pool_stats before;
    struct p11_pool_stats after;
    p11_pool_get_stats(idle, &before);
    HS_CHECK(fault.configure("") == 0);
    HS_CHECK(sign_once(same) == SIGN_OK);
    p11_pool_get_stats(idle, &after);
    HS_CHECK(fault.calls("C_GetSessionInfo") >= 1);
    HS_CHECK(after.relogins == before.relogins + 1 && after.reopened == before.reopened);
    /* The check logged in before C_SignInit: no failed call was needed to notice. */
    HS_CHECK(fault.calls("C_SignInit") == 1);
    heal();
}

/* --- h. key generation ---------------------------------------------------------------------- */

/* A new pair whose protection attributes cannot be read back is destroyed before the error is
 * returned: nothing with its label is left, so generating it again succeeds. */
HS_TEST(h_a_key_whose_attributes_cannot_be_read_back_is_destroyed)
{
    struct p11_keygen_spec spec = {.type = P11_KEY_EC_P256, .label = label("h-unread")};
    struct p11_key *none = NULL;
    HS_CHECK(fault.configure("C_GetAttributeValue:CKR_GENERAL_ERROR:nth=1") == 0);
    HS_CHECK_ERR(p11_key_generate(pool, &spec, &none), HS_ERR_HSM);
    HS_CHECK(ckr_is("CKR_GENERAL_ERROR") && none == NULL);
    HS_CHECK(fault.calls("C_GenerateKeyPair") == 1 && fault.injected() == 1);
    heal();
    HS_DEFER(struct p11_key *again = NULL, key_destroyp);
    HS_CHECK_OK(p11_key_generate(pool, &spec, &again));
    if (again != NULL) {
        HS_CHECK_OK(p11_key_check_protected(again));
    }
}

/* Finds the control functions in the module instance p11_module_load() opened. */
static bool fault_api_bind(const char *path)
{
    fault.dl = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (fault.dl == NULL) {
        return false;
    }
    *(void **)(&fault.configure) = dlsym(fault.dl, "hs_fault_configure");
    *(void **)(&fault.injected) = dlsym(fault.dl, "hs_fault_injected");
    *(void **)(&fault.calls) = dlsym(fault.dl, "hs_fault_calls");
    *(void **)(&fault.hide) = dlsym(fault.dl, "hs_fault_hide");
    return fault.configure != NULL && fault.injected != NULL && fault.calls != NULL &&
           fault.hide != NULL && fault.configure("") == 0;
}

static bool open_token(const char *dir, const char *fault_lib)
{
    char pin_file[1024];
    snprintf(pin_file, sizeof(pin_file), "%s/user.pin", dir);
    struct p11_token_config tc = {.label = token_label, .pin_file = pin_file};
    if (hs_failed(p11_token_config_pin(&tc, &test_pin)) ||
        hs_failed(p11_module_load(fault_lib, &module))) {
        return false;
    }
    struct p11_pool_config pc = {.token_label = token_label, .pin = test_pin, .size = POOL_SIZE};
    return !hs_failed(p11_pool_new(module, &pc, &pool)) && fault_api_bind(fault_lib);
}

/* --- i. a token that signs wrongly ---------------------------------------------------------- */

/* A certificate is checked against the signer's public key over the DER that leaves
 * (sgn_cert.c): a signature the token got wrong is refused with HS_ERR_HSM and nothing is
 * handed out; with the token healed the same template signs and verifies. */
HS_TEST(i_a_garbled_certificate_signature_never_leaves)
{
    HS_DEFER(struct p11_key *k = gen("i-garble"), key_destroyp);
    if (k == NULL) {
        return;
    }
    HS_DEFER(X509_NAME *name = X509_NAME_new(), hs_x509_name_freep);
    HS_CHECK(name != NULL &&
             X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                        (const unsigned char *)"garbled", -1, -1, 0) == 1);
    time_t now = time(NULL);
    struct sgn_cert_template t = {.subject = name,
                                  .subject_key = p11_key_get0_public(k),
                                  .not_before = now,
                                  .not_after = now + 3600,
                                  .ca = true,
                                  .path_len = 0,
                                  .key_usage = SGN_KU_KEY_CERT_SIGN | SGN_KU_CRL_SIGN};
    HS_CHECK(fault.configure("C_Sign:garble") == 0);
    X509 *bad = NULL;
    HS_CHECK_ERR(sgn_cert_sign(&t, k, &bad), HS_ERR_HSM);
    HS_CHECK(bad == NULL && fault.calls("C_Sign") >= 1);
    X509_free(bad);
    heal();
    HS_DEFER(X509 *good = NULL, hs_x509_freep);
    HS_CHECK_OK(sgn_cert_sign(&t, k, &good));
    HS_CHECK(good != NULL && X509_verify(good, p11_key_get0_public(k)) == 1);
}

int main(void)
{
    const char *dir = hs_test_env("HSMSIGN_TEST_TOKEN_DIR");
    token_label = hs_test_env("HSMSIGN_TEST_TOKEN_LABEL");
    const char *fault_lib = hs_test_env(HS_FAULT_LIB_ENV);
    snprintf(label_prefix, sizeof(label_prefix), "p11f-%ld", (long)getpid());
    /* Hundreds of recoveries each log a warning; keep the output to what fails. */
    hs_log_set_level(HS_LOG_ERROR);
    double t0 = now_s();
    if (!open_token(dir, fault_lib)) {
        hs_test_report(__FILE__, __LINE__, "open the test token through the fault module");
        printf("0 passed, 1 failed\n");
        p11_pool_free(pool);
        p11_module_free(module);
        return 1;
    }
    int rc = hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(spec_grammar_refuses_bad_rules_and_keeps_the_old_ones),
        HS_TEST_CASE(triggers_count_per_function_and_stay_exact_under_8_threads),
        HS_TEST_CASE(a_2000_signs_with_every_10th_c_sign_closed_all_succeed_and_verify),
        HS_TEST_CASE(a_8_threads_with_dying_sessions_verify_and_fail_only_past_the_retries),
        HS_TEST_CASE(b_a_logout_on_every_97th_c_sign_leads_to_a_relogin),
        HS_TEST_CASE(b_logout_while_idle_then_c_sign_closed_still_signs),
        HS_TEST_CASE(b_logout_while_idle_then_c_sign_init_closed_logs_in_the_new_session),
        HS_TEST_CASE(c_a_failing_token_gives_clean_errors_and_recovers_when_it_heals),
        HS_TEST_CASE(d_throttled_c_sign_is_retried_and_endless_throttling_fails_in_bounds),
        HS_TEST_CASE(e_a_stale_handle_is_found_again_once),
        HS_TEST_CASE(e_a_handle_that_stays_invalid_fails_within_the_retries),
        HS_TEST_CASE(e_a_fatal_error_is_not_retried),
        HS_TEST_CASE(f_a_mechanism_the_token_lacks_is_refused_naming_it),
        HS_TEST_CASE(g_an_idle_session_is_checked_and_logged_in_again_before_use),
        HS_TEST_CASE(h_a_key_whose_attributes_cannot_be_read_back_is_destroyed),
        HS_TEST_CASE(i_a_garbled_certificate_signature_never_leaves),
        HS_TEST_END,
    });
    fprintf(stderr, "wall time %.2f s\n", now_s() - t0);
    dlclose(fault.dl);
    p11_pool_free(pool);
    p11_module_free(module);
    hs_secret_free(test_pin);
    return rc;
}
