/*
 * p11_pool: the recovery policy (pkcs11/p11_pool.h) against every CK_RV class of
 * pkcs11/p11_error.c, on the in-memory Cryptoki table of tests/testlib/hs_fake_p11.h (no HSM).
 *
 * Each row scripts one function of the fake to return one CK_RV, once or on every call, runs
 * one signing operation through p11_pool_run() on a one-session pool, and checks the exact
 * outcome: the hs_result code (and the CK_RV recorded with it), how often the operation ran,
 * how many sessions were closed and re-opened, logins and re-logins, backoff retries -- and
 * that the pool still serves a clean operation afterwards on a session with no operation left
 * active.
 */
#include <string.h>

#include "common/hs_defer.h"
#include "common/hs_secret.h"
#include "pkcs11/p11_error.h"
#include "pkcs11/p11_module.h"
#include "pkcs11/p11_pool.h"
#include "tests/testlib/hs_fake_p11.h"
#include "tests/testlib/hs_test.h"

/* --- the operation ------------------------------------------------------------------------- */

struct sign_arg {
    unsigned int runs;
    CK_SESSION_HANDLE last_session;
    enum hs_code fail_with; /* a non-Cryptoki failure to raise after C_SignInit; 0 = none */
};

/* Signs as p11_sign does: C_SignInit, a size query, C_Sign. */
static HS_RESULT sign_op(const struct p11_call *call, void *arg)
{
    struct sign_arg *a = arg;
    a->runs++;
    a->last_session = call->session;
    CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
    unsigned char data[32] = {1};
    unsigned char sig[HS_FAKE_P11_SIG_LEN];
    CK_ULONG len = 0;
    HS_GUARD_CKR(call->fn->C_SignInit(call->session, &mech, HS_FAKE_P11_KEY));
    if (a->fail_with != HS_ERR_NONE) {
        /* End the operation first, as an operation must on every path (p11_pool_op). */
        len = sizeof(sig);
        HS_IGNORE(call->fn->C_Sign(call->session, data, sizeof(data), sig, &len));
        HS_BAIL(a->fail_with);
    }
    HS_GUARD_CKR(call->fn->C_Sign(call->session, data, sizeof(data), NULL, &len));
    HS_ENSURE(len <= sizeof(sig), HS_ERR_BOUNDS);
    HS_GUARD_CKR(call->fn->C_Sign(call->session, data, sizeof(data), sig, &len));
    return HS_OK;
}

/* --- the fixture --------------------------------------------------------------------------- */

/* The fixture's throttle deadline: within it the backoff (5, 10, 20, 40, 80 ms steps, each
 * slept for half to all of its step) retries at least 5 times, whatever the jitter draws. */
#define THROTTLE_DEADLINE_MS 100U

struct fixture {
    struct p11_module *module;
    struct p11_pool *pool;
    struct p11_pool_stats base; /* stats right after the pool opened */
    uint64_t base_epoch;
};

static void fixture_close(struct fixture *f)
{
    p11_pool_free(f->pool);
    p11_module_free(f->module);
    memset(f, 0, sizeof(*f));
}

/* A fresh fake token and a pool of `size` sessions on it, logged in; call counts start at 0. */
static bool fixture_open(struct fixture *f, size_t size)
{
    memset(f, 0, sizeof(*f));
    hs_fake_p11_reset();
    HS_DEFER(struct hs_secret *pin = NULL, hs_secret_freep);
    HS_CHECK_OK(hs_secret_from_bytes(HS_FAKE_P11_PIN, strlen(HS_FAKE_P11_PIN), &pin));
    HS_CHECK_OK(p11_module_from_functions(hs_fake_p11_functions(), "hs_fake_p11", &f->module));
    if (pin == NULL || f->module == NULL) {
        fixture_close(f);
        return false;
    }
    struct p11_pool_config cfg = {
        .token_label = HS_FAKE_P11_LABEL, .pin = pin, .size = size, .wait_ms = 50};
    cfg.throttle_deadline_ms = THROTTLE_DEADLINE_MS;
    HS_CHECK_OK(p11_pool_new(f->module, &cfg, &f->pool));
    if (f->pool == NULL) {
        fixture_close(f);
        return false;
    }
    HS_CHECK(hs_fake_p11_open_sessions() == 1 && hs_fake_p11_logged_in());
    p11_pool_get_stats(f->pool, &f->base);
    f->base_epoch = p11_pool_epoch(f->pool);
    hs_fake_p11_clear_counts();
    return true;
}

/* --- the table ----------------------------------------------------------------------------- */

enum {
    ONCE = 1,
    ALWAYS = 0
};

struct pool_case {
    enum hs_fake_p11_fn fn; /* the scripted function */
    CK_RV rv;               /* what it returns */
    unsigned long times;    /* ONCE, or ALWAYS (every call) */
    bool drop_login;        /* the token forgets the login first (so the pool logs in again) */
    /* expected */
    enum hs_code code;    /* HS_ERR_NONE: the operation recovered */
    unsigned int runs;    /* times the operation ran */
    unsigned long closes; /* C_CloseSession calls (sessions closed instead of returned) */
    unsigned long opens;  /* C_OpenSession calls */
    unsigned long logins; /* C_Login calls */
    uint64_t relogins;    /* the pool's relogins counter */
    uint64_t throttled;   /* backoff retries */
    uint64_t epoch_min;   /* the epoch advanced at least this much */
};

/* The pool's policy, row by row (P11_POOL_RETRIES = 3 recoveries; throttling retried until
 * THROTTLE_DEADLINE_MS, then HS_ERR_HSM_OVERLOADED: in that row, runs and throttled are
 * minimums, and runs must be throttled + 1). A closed session is the pool's only one: closing it logs the token out
 * (PKCS#11 §5.6), so every re-open also logs in again. */
static const struct pool_case cases[] = {
    /* session lost: close, re-open, log in again, retry */
    {HS_FAKE_C_Sign, CKR_SESSION_HANDLE_INVALID, ONCE, false, HS_ERR_NONE, 2, 1, 1, 1, 1, 0, 1},
    {HS_FAKE_C_Sign, CKR_SESSION_CLOSED, ONCE, false, HS_ERR_NONE, 2, 1, 1, 1, 1, 0, 1},
    {HS_FAKE_C_Sign, CKR_DEVICE_REMOVED, ONCE, false, HS_ERR_NONE, 2, 1, 1, 1, 1, 0, 1},
    {HS_FAKE_C_Sign, CKR_TOKEN_NOT_PRESENT, ONCE, false, HS_ERR_NONE, 2, 1, 1, 1, 1, 0, 1},
    {HS_FAKE_C_Sign, CKR_DEVICE_ERROR, ONCE, false, HS_ERR_NONE, 2, 1, 1, 1, 1, 0, 1},
    {HS_FAKE_C_SignInit, CKR_SESSION_HANDLE_INVALID, ONCE, false, HS_ERR_NONE, 2, 1, 1, 1, 1, 0, 1},
    /* ... at most P11_POOL_RETRIES times */
    {HS_FAKE_C_Sign, CKR_DEVICE_ERROR, ALWAYS, false, HS_ERR_HSM_SESSION, 4, 4, 3, 3, 3, 0, 4},
    {HS_FAKE_C_Sign, CKR_SESSION_CLOSED, ALWAYS, false, HS_ERR_HSM_SESSION, 4, 4, 3, 3, 3, 0, 4},
    /* the module lost its state (one call says so): the session is dropped and re-opened */
    {HS_FAKE_C_Sign, CKR_CRYPTOKI_NOT_INITIALIZED, ONCE, false, HS_ERR_NONE, 2, 1, 1, 1, 1, 0, 1},
    /* lost login: log in again on the same session (CKR_USER_ALREADY_LOGGED_IN counts as in) */
    {HS_FAKE_C_Sign, CKR_USER_NOT_LOGGED_IN, ONCE, false, HS_ERR_NONE, 2, 0, 0, 1, 1, 0, 0},
    {HS_FAKE_C_Sign, CKR_USER_NOT_LOGGED_IN, ALWAYS, false, HS_ERR_HSM_SESSION, 4, 0, 0, 4, 4, 0,
     0},
    /* a login that truly lapsed: C_SignInit answers CKR_USER_NOT_LOGGED_IN itself */
    {HS_FAKE_C_SignInit, CKR_OK, ONCE, true, HS_ERR_NONE, 2, 0, 0, 1, 1, 0, 1},
    /* stale handle while still logged in: the epoch advances (handles found again), retry */
    {HS_FAKE_C_SignInit, CKR_KEY_HANDLE_INVALID, ONCE, false, HS_ERR_NONE, 2, 0, 0, 0, 0, 0, 1},
    {HS_FAKE_C_SignInit, CKR_OBJECT_HANDLE_INVALID, ONCE, false, HS_ERR_NONE, 2, 0, 0, 0, 0, 0, 1},
    {HS_FAKE_C_SignInit, CKR_KEY_HANDLE_INVALID, ALWAYS, false, HS_ERR_HSM, 4, 0, 0, 0, 0, 0, 4},
    /* a rejected PIN while logging in again: never retried, the session closed */
    {HS_FAKE_C_Login, CKR_PIN_INCORRECT, ONCE, true, HS_ERR_HSM_LOGIN, 1, 1, 0, 1, 1, 0, 0},
    {HS_FAKE_C_Login, CKR_PIN_LOCKED, ONCE, true, HS_ERR_HSM_LOGIN, 1, 1, 0, 1, 1, 0, 0},
    {HS_FAKE_C_Login, CKR_PIN_EXPIRED, ONCE, true, HS_ERR_HSM_LOGIN, 1, 1, 0, 1, 1, 0, 0},
    {HS_FAKE_C_Login, CKR_DEVICE_ERROR, ONCE, true, HS_ERR_HSM_LOGIN, 1, 1, 0, 1, 1, 0, 0},
    /* a PIN code from another call fails as a login error, unretried, the session kept */
    {HS_FAKE_C_Sign, CKR_PIN_INCORRECT, ONCE, false, HS_ERR_HSM_LOGIN, 1, 0, 0, 0, 0, 0, 0},
    /* overload: bounded backoff, the session kept */
    {HS_FAKE_C_Sign, CKR_FUNCTION_FAILED, ONCE, false, HS_ERR_NONE, 2, 0, 0, 0, 0, 1, 0},
    {HS_FAKE_C_Sign, CKR_DEVICE_MEMORY, ONCE, false, HS_ERR_NONE, 2, 0, 0, 0, 0, 1, 0},
    {HS_FAKE_C_SignInit, CKR_SESSION_COUNT, ONCE, false, HS_ERR_NONE, 2, 0, 0, 0, 0, 1, 0},
    {HS_FAKE_C_Sign, CKR_FUNCTION_FAILED, ALWAYS, false, HS_ERR_HSM_OVERLOADED, 6, 0, 0, 0, 0, 5,
     0},
    {HS_FAKE_C_SignInit, CKR_DEVICE_MEMORY, ALWAYS, false, HS_ERR_HSM_OVERLOADED, 6, 0, 0, 0, 0, 5,
     0},
    /* an operation active on the session: backoff, and the session is closed (it holds an
     * operation nobody will finish), so the retry runs on a fresh one */
    {HS_FAKE_C_SignInit, CKR_OPERATION_ACTIVE, ONCE, false, HS_ERR_NONE, 2, 1, 1, 1, 1, 1, 1},
    /* fatal: fails at once with the CKR_* name, the session kept */
    {HS_FAKE_C_Sign, CKR_GENERAL_ERROR, ONCE, false, HS_ERR_HSM, 1, 0, 0, 0, 0, 0, 0},
    {HS_FAKE_C_Sign, CKR_HOST_MEMORY, ONCE, false, HS_ERR_HSM, 1, 0, 0, 0, 0, 0, 0},
    {HS_FAKE_C_SignInit, CKR_ARGUMENTS_BAD, ONCE, false, HS_ERR_HSM, 1, 0, 0, 0, 0, 0, 0},
    {HS_FAKE_C_SignInit, CKR_MECHANISM_INVALID, ONCE, false, HS_ERR_HSM_MECHANISM, 1, 0, 0, 0, 0, 0,
     0},
    {HS_FAKE_C_SignInit, CKR_KEY_TYPE_INCONSISTENT, ONCE, false, HS_ERR_HSM, 1, 0, 0, 0, 0, 0, 0},
    {HS_FAKE_C_Sign, CKR_DATA_LEN_RANGE, ONCE, false, HS_ERR_HSM, 1, 0, 0, 0, 0, 0, 0},
    {HS_FAKE_C_Sign, CKR_FUNCTION_NOT_SUPPORTED, ONCE, false, HS_ERR_HSM, 1, 0, 0, 0, 0, 0, 0},
    {HS_FAKE_C_Sign, CKR_VENDOR_DEFINED + 1, ONCE, false, HS_ERR_HSM, 1, 0, 0, 0, 0, 0, 0},
    /* CKR_BUFFER_TOO_SMALL leaves the signing operation active (§5.2): fatal, and the session
     * is closed instead of being lent again with an operation nobody will finish */
    {HS_FAKE_C_Sign, CKR_BUFFER_TOO_SMALL, ONCE, false, HS_ERR_HSM, 1, 1, 0, 0, 0, 0, 1},
};

static void run_case(const struct pool_case *c)
{
    struct fixture f;
    if (!fixture_open(&f, 1)) {
        return;
    }
    fprintf(stderr, "  %s -> %s %s\n", hs_fake_p11_fn_name(c->fn), p11_ckr_name(c->rv),
            c->times == ONCE ? "once" : "always");
    if (c->rv != CKR_OK) {
        HS_CHECK(hs_fake_p11_script(c->fn, 1, c->times, c->rv) == 0);
    }
    if (c->drop_login) {
        hs_fake_p11_drop_login();
    }
    struct sign_arg arg = {0};
    hs_error_clear();
    hs_result r = p11_pool_run(f.pool, sign_op, &arg);
    const struct hs_error *e = hs_error_last();
    if (r.code != c->code) {
        fprintf(stderr, "    code %s, expected %s\n", hs_code_name(r.code), hs_code_name(c->code));
    }
    HS_CHECK(r.code == c->code);
    if (c->code != HS_ERR_NONE) {
        /* The failure names the CK_RV the token answered. */
        HS_CHECK(e->ckr == c->rv && e->ckr_name != NULL &&
                 strcmp(e->ckr_name, p11_ckr_name(c->rv)) == 0);
    }
    struct p11_pool_stats st;
    p11_pool_get_stats(f.pool, &st);
    unsigned long closes = hs_fake_p11_calls(HS_FAKE_C_CloseSession);
    unsigned long opens = hs_fake_p11_calls(HS_FAKE_C_OpenSession);
    unsigned long logins = hs_fake_p11_calls(HS_FAKE_C_Login);
    fprintf(stderr,
            "    runs %u, closes %lu, opens %lu, logins %lu, relogins %llu, throttled %llu, "
            "epoch +%llu\n",
            arg.runs, closes, opens, logins, (unsigned long long)(st.relogins - f.base.relogins),
            (unsigned long long)(st.throttled - f.base.throttled),
            (unsigned long long)(p11_pool_epoch(f.pool) - f.base_epoch));
    if (c->code == HS_ERR_HSM_OVERLOADED) {
        /* Retried until the deadline: how often depends on the jitter, at least c->throttled. */
        HS_CHECK(st.throttled - f.base.throttled >= c->throttled);
        HS_CHECK(arg.runs == st.throttled - f.base.throttled + 1 && arg.runs >= c->runs);
    } else {
        HS_CHECK(arg.runs == c->runs);
        HS_CHECK(st.throttled - f.base.throttled == c->throttled);
    }
    HS_CHECK(closes == c->closes);
    HS_CHECK(st.reopened - f.base.reopened == c->closes);
    HS_CHECK(opens == c->opens);
    HS_CHECK(logins == c->logins);
    HS_CHECK(st.relogins - f.base.relogins == c->relogins);
    HS_CHECK(p11_pool_epoch(f.pool) - f.base_epoch >= c->epoch_min);
    HS_CHECK(st.in_use == 0 && st.busy == 0);

    /* Afterwards (the script spent, the login back) the pool serves a clean operation on a
     * session with no operation left active -- unless the PIN was rejected, which blocks every
     * later login until restart. */
    bool pin_rejected =
        c->fn == HS_FAKE_C_Login && p11_ckr_classify(c->rv) == P11_CKR_KIND_PIN_REJECTED;
    hs_fake_p11_clear_scripts();
    struct sign_arg again = {0};
    hs_result r2 = p11_pool_run(f.pool, sign_op, &again);
    if (pin_rejected) {
        HS_CHECK(r2.code == HS_ERR_HSM_LOGIN && again.runs == 0);
    } else {
        HS_CHECK(!hs_failed(r2) && again.runs == 1);
        HS_CHECK(!hs_fake_p11_operation_active(again.last_session));
    }
    fixture_close(&f);
}

HS_TEST(every_ckr_class_gets_the_policy_outcome)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_case(&cases[i]);
    }
}

/* Every CK_RV the table uses is of the class its row assumes (p11_error.c). */
HS_TEST(the_table_covers_every_ckr_class)
{
    bool seen[P11_CKR_KIND_FATAL + 1] = {false};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum p11_ckr_kind k = p11_ckr_classify(cases[i].rv);
        HS_CHECK((size_t)k <= P11_CKR_KIND_FATAL);
        if ((size_t)k <= P11_CKR_KIND_FATAL) {
            seen[k] = true;
        }
    }
    for (size_t k = 0; k <= P11_CKR_KIND_FATAL; k++) {
        if (!seen[k]) {
            fprintf(stderr, "  no row of class %zu\n", k);
        }
        HS_CHECK(seen[k]);
    }
}

/* --- scenarios beyond one scripted code ------------------------------------------------------ */

HS_TEST(a_rejected_pin_is_never_tried_again)
{
    struct fixture f;
    if (!fixture_open(&f, 1)) {
        return;
    }
    HS_CHECK(hs_fake_p11_script(HS_FAKE_C_Login, 1, ALWAYS, CKR_PIN_INCORRECT) == 0);
    hs_fake_p11_drop_login();
    for (int i = 0; i < 3; i++) {
        struct sign_arg arg = {0};
        HS_CHECK_ERR(p11_pool_run(f.pool, sign_op, &arg), HS_ERR_HSM_LOGIN);
    }
    HS_CHECK(hs_fake_p11_calls(HS_FAKE_C_Login) == 1);
    HS_CHECK(!hs_fake_p11_logged_in());
    fixture_close(&f);
}

HS_TEST(a_wrong_pin_fails_the_pool_at_open)
{
    hs_fake_p11_reset();
    HS_DEFER(struct p11_module *m = NULL, p11_module_freep);
    HS_DEFER(struct hs_secret *pin = NULL, hs_secret_freep);
    HS_CHECK_OK(hs_secret_from_bytes("wrong", 5, &pin));
    HS_CHECK_OK(p11_module_from_functions(hs_fake_p11_functions(), "hs_fake_p11", &m));
    if (m == NULL || pin == NULL) {
        return;
    }
    struct p11_pool_config cfg = {
        .token_label = HS_FAKE_P11_LABEL, .pin = pin, .size = 1, .wait_ms = 50};
    struct p11_pool *pool = NULL;
    HS_CHECK_ERR(p11_pool_new(m, &cfg, &pool), HS_ERR_HSM_LOGIN);
    HS_CHECK(pool == NULL && strcmp(hs_error_last()->ckr_name, "CKR_PIN_INCORRECT") == 0);
    /* the session it opened to log in is closed again */
    HS_CHECK(hs_fake_p11_open_sessions() == 0);
    cfg.token_label = "no-such-token";
    HS_CHECK_ERR(p11_pool_new(m, &cfg, &pool), HS_ERR_HSM_TOKEN_NOT_FOUND);
}

HS_TEST(reopening_retries_a_failed_open_session)
{
    struct fixture f;
    if (!fixture_open(&f, 1)) {
        return;
    }
    HS_CHECK(hs_fake_p11_script(HS_FAKE_C_Sign, 1, ONCE, CKR_DEVICE_ERROR) == 0);
    HS_CHECK(hs_fake_p11_script(HS_FAKE_C_OpenSession, 1, ONCE, CKR_TOKEN_NOT_PRESENT) == 0);
    struct sign_arg arg = {0};
    HS_CHECK_OK(p11_pool_run(f.pool, sign_op, &arg));
    HS_CHECK(arg.runs == 2 && hs_fake_p11_calls(HS_FAKE_C_OpenSession) == 2);
    fixture_close(&f);
}

HS_TEST(input_errors_are_returned_and_internal_errors_close_the_session)
{
    struct fixture f;
    if (!fixture_open(&f, 1)) {
        return;
    }
    struct sign_arg input = {.fail_with = HS_ERR_INPUT_FIELD};
    HS_CHECK_ERR(p11_pool_run(f.pool, sign_op, &input), HS_ERR_INPUT_FIELD);
    HS_CHECK(input.runs == 1 && hs_fake_p11_calls(HS_FAKE_C_CloseSession) == 0);
    struct sign_arg internal = {.fail_with = HS_ERR_BOUNDS};
    HS_CHECK_ERR(p11_pool_run(f.pool, sign_op, &internal), HS_ERR_BOUNDS);
    HS_CHECK(internal.runs == 1 && hs_fake_p11_calls(HS_FAKE_C_CloseSession) == 1);
    struct sign_arg ok = {0};
    HS_CHECK_OK(p11_pool_run(f.pool, sign_op, &ok));
    HS_CHECK(ok.runs == 1 && ok.last_session != internal.last_session);
    fixture_close(&f);
}

/* The inner call is a ping: it skips the scheduler (whose one slot the outer operation holds)
 * and waits for the session itself. */
static HS_RESULT nested_op(const struct p11_call *call, void *arg)
{
    (void)call;
    struct p11_pool *pool = arg;
    return p11_pool_ping(pool);
}

HS_TEST(a_caller_waits_at_most_wait_ms_for_a_session)
{
    struct fixture f;
    if (!fixture_open(&f, 1)) {
        return;
    }
    /* The only session is lent to the outer operation; the inner one times out. */
    HS_CHECK_ERR(p11_pool_run(f.pool, nested_op, f.pool), HS_ERR_HSM_BUSY);
    struct p11_pool_stats st;
    p11_pool_get_stats(f.pool, &st);
    HS_CHECK(st.busy == 1 && st.in_use == 0);
    fixture_close(&f);
}

HS_TEST(ping_logs_in_again_after_a_lapsed_login)
{
    struct fixture f;
    if (!fixture_open(&f, 2)) {
        return;
    }
    hs_fake_p11_drop_login();
    HS_CHECK_OK(p11_pool_ping(f.pool));
    HS_CHECK(hs_fake_p11_logged_in() && hs_fake_p11_calls(HS_FAKE_C_Login) == 1);
    fixture_close(&f);
}

/* The pool re-initialises a module only after a fork (p11_module_check_fork); a module that
 * lost its state otherwise keeps answering CKR_CRYPTOKI_NOT_INITIALIZED, and the call fails
 * after P11_POOL_RETRIES recoveries instead of hanging. */
HS_TEST(a_module_that_lost_its_state_fails_after_bounded_retries)
{
    struct fixture f;
    if (!fixture_open(&f, 1)) {
        return;
    }
    hs_fake_p11_lose_state();
    struct sign_arg arg = {0};
    HS_CHECK_ERR(p11_pool_run(f.pool, sign_op, &arg), HS_ERR_HSM_SESSION);
    HS_CHECK(strcmp(hs_error_last()->ckr_name, "CKR_CRYPTOKI_NOT_INITIALIZED") == 0);
    HS_CHECK(arg.runs == 1 && hs_fake_p11_calls(HS_FAKE_C_OpenSession) == P11_POOL_RETRIES);
    HS_CHECK(hs_fake_p11_calls(HS_FAKE_C_Initialize) == 0);
    fixture_close(&f);
}

HS_TEST(every_function_of_the_fake_can_be_scripted)
{
    hs_fake_p11_reset();
    CK_FUNCTION_LIST *fn = hs_fake_p11_functions();
    HS_CHECK(fn->C_Initialize(NULL) == CKR_OK);
    /* an unmodelled function answers CKR_FUNCTION_NOT_SUPPORTED unless scripted */
    HS_CHECK(fn->C_DigestInit(1, NULL) == CKR_FUNCTION_NOT_SUPPORTED);
    HS_CHECK(hs_fake_p11_script(HS_FAKE_C_DigestInit, 2, ONCE, CKR_DEVICE_ERROR) == 0);
    HS_CHECK(fn->C_DigestInit(1, NULL) == CKR_DEVICE_ERROR);
    HS_CHECK(fn->C_DigestInit(1, NULL) == CKR_FUNCTION_NOT_SUPPORTED);
    HS_CHECK(hs_fake_p11_calls(HS_FAKE_C_DigestInit) == 3);
    HS_CHECK(strcmp(hs_fake_p11_fn_name(HS_FAKE_C_WaitForSlotEvent), "C_WaitForSlotEvent") == 0);
    HS_CHECK(hs_fake_p11_script(HS_FAKE_C_Sign, 0, ONCE, CKR_OK) == -1);
    /* the module lost its state: everything says so until C_Initialize */
    hs_fake_p11_lose_state();
    CK_SESSION_HANDLE h = 0;
    HS_CHECK(fn->C_OpenSession(HS_FAKE_P11_SLOT, CKF_SERIAL_SESSION, NULL, NULL, &h) ==
             CKR_CRYPTOKI_NOT_INITIALIZED);
    HS_CHECK(fn->C_Initialize(NULL) == CKR_OK);
    HS_CHECK(fn->C_Initialize(NULL) == CKR_CRYPTOKI_ALREADY_INITIALIZED);
    HS_CHECK(fn->C_Finalize(NULL) == CKR_OK);
}

int main(void)
{
    return hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(every_ckr_class_gets_the_policy_outcome),
        HS_TEST_CASE(the_table_covers_every_ckr_class),
        HS_TEST_CASE(a_rejected_pin_is_never_tried_again),
        HS_TEST_CASE(a_wrong_pin_fails_the_pool_at_open),
        HS_TEST_CASE(reopening_retries_a_failed_open_session),
        HS_TEST_CASE(input_errors_are_returned_and_internal_errors_close_the_session),
        HS_TEST_CASE(a_caller_waits_at_most_wait_ms_for_a_session),
        HS_TEST_CASE(ping_logs_in_again_after_a_lapsed_login),
        HS_TEST_CASE(a_module_that_lost_its_state_fails_after_bounded_retries),
        HS_TEST_CASE(every_function_of_the_fake_can_be_scripted),
        HS_TEST_END,
    });
}
