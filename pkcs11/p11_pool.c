#include "pkcs11/p11_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/hs_buf.h"
#include "common/hs_log.h"
#include "pkcs11/p11_error.h"
#include "pkcs11/p11_mech.h"

#define P11_POOL_DEFAULT_WAIT_MS 5000U
#define P11_POOL_DEFAULT_IDLE_S 60U
#define P11_POOL_BACKOFF_MS 5L
#define P11_POOL_BACKOFF_CAP_MS 200L
#define P11_POOL_DEFAULT_THROTTLE_MS 2000U
#define P11_POOL_DEFAULT_TARGET 8 /* in-flight signatures a default pool allows at least */

struct p11_session {
    CK_SESSION_HANDLE handle;
    bool open;
    time_t last_used; /* CLOCK_MONOTONIC seconds */
};

enum p11_put_mode {
    P11_PUT_KEEP, /* the session is healthy: return it */
    P11_PUT_DROP, /* the session is lost or suspect: close it, the slot re-opens on demand */
};

struct p11_pool {
    struct p11_module *module;
    CK_FUNCTION_LIST *fn;
    CK_SLOT_ID slot;
    char token_label[33];
    struct hs_secret *pin;
    struct p11_mechs *mechs; /* probed at open; read-only afterwards */
    unsigned int wait_ms;
    unsigned int idle_check_s;
    unsigned int throttle_deadline_ms;
    CK_RV throttle_codes[P11_THROTTLE_CODES_MAX]; /* when throttle_codes_set */
    size_t nthrottle_codes;
    bool throttle_codes_set;
    struct p11_sched *sched; /* admission of operations into the sessions (thread-safe) */
    pid_t sched_pid;         /* process whose threads the scheduler's slots belong to */

    pthread_mutex_t lock; /* guards everything below up to the atomics */
    pthread_cond_t freed;
    struct p11_session *sessions;
    size_t size;
    size_t *idle; /* stack of indices of sessions not lent out */
    size_t idle_count;
    pid_t pid; /* process the sessions belong to */

    atomic_bool login_blocked;  /* a rejected PIN or too many failed logins: never log in again */
    atomic_uint login_failures; /* failed logins in a row */
    atomic_uint_fast64_t epoch;
    atomic_size_t open_count;
    atomic_uint_fast64_t reopened;
    atomic_uint_fast64_t relogins;
    atomic_uint_fast64_t throttled;
    atomic_uint_fast64_t busy;
};

static time_t p11_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

size_t p11_pool_default_size(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t n = cpus > 0 ? (size_t)cpus * 2 : 4;
    return n > P11_POOL_DEFAULT_TARGET ? n : P11_POOL_DEFAULT_TARGET;
}

static bool p11_state_logged_in(CK_STATE state)
{
    return state == CKS_RW_USER_FUNCTIONS || state == CKS_RO_USER_FUNCTIONS;
}

/* Logs in on session h as CKU_USER. CKR_USER_ALREADY_LOGGED_IN means the token-wide login
 * still holds. A failed login is never retried within a call (HS_ERR_HSM_LOGIN is not a
 * recoverable kind); a PIN the token rejected is never tried again, and after
 * P11_POOL_LOGIN_FAILURES_MAX failed logins in a row the pool stops trying altogether, because
 * an HSM that locks the user after a few failures (CloudHSM: five) may report a wrong PIN with
 * a code that does not say so. */
static HS_RESULT p11_pool_login(struct p11_pool *pool, CK_SESSION_HANDLE h)
{
    HS_ENSURE_MSG(!atomic_load(&pool->login_blocked), HS_ERR_HSM_LOGIN,
                  "logins to token \"%s\" failed before; not trying again until restart",
                  pool->token_label);
    const unsigned char *pin = NULL;
    size_t pin_len = 0;
    hs_secret_get0(pool->pin, &pin, &pin_len);
    CK_RV rv = pool->fn->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)pin_len);
    if (rv == CKR_USER_ALREADY_LOGGED_IN) {
        atomic_store(&pool->login_failures, 0);
        return HS_OK;
    }
    hs_log(rv == CKR_OK ? HS_LOG_INFO : HS_LOG_ERROR, "hsm.login", HS_LOG_AUDIT,
           HS_LOG_STR("token", pool->token_label), HS_LOG_STR("result", p11_ckr_name(rv)));
    if (rv == CKR_OK) {
        atomic_store(&pool->login_failures, 0);
        /* PKCS#11 v2.40 §5.6 (C_Logout): handles of private objects obtained before a logout
         * stay invalid after a new login, so every cached handle is found again. */
        atomic_fetch_add(&pool->epoch, 1);
        return HS_OK;
    }
    unsigned int failures = atomic_fetch_add(&pool->login_failures, 1) + 1;
    if (p11_ckr_classify(rv) == P11_CKR_KIND_PIN_REJECTED ||
        failures >= P11_POOL_LOGIN_FAILURES_MAX) {
        atomic_store(&pool->login_blocked, true);
        hs_log(HS_LOG_ERROR, "hsm.login.blocked", HS_LOG_AUDIT,
               HS_LOG_STR("token", pool->token_label), HS_LOG_INT("failures", failures));
    }
    return hs_error_raise_ckr(__FILE__, __LINE__, HS_ERR_HSM_LOGIN, rv, p11_ckr_name(rv));
}

/* Makes sure session h is in a logged-in state (a new session on a token whose login lapsed,
 * e.g. after an HSM failover, starts as a public session). */
static HS_RESULT p11_pool_ensure_login(struct p11_pool *pool, CK_SESSION_HANDLE h)
{
    CK_SESSION_INFO info;
    HS_GUARD_CKR(pool->fn->C_GetSessionInfo(h, &info));
    if (p11_state_logged_in(info.state)) {
        return HS_OK;
    }
    atomic_fetch_add(&pool->relogins, 1);
    return p11_pool_login(pool, h);
}

static void p11_session_close(struct p11_pool *pool, struct p11_session *s)
{
    if (s->open) {
        /* The session may already be gone on the HSM; its CK_RV changes nothing. */
        HS_IGNORE(pool->fn->C_CloseSession(s->handle));
        atomic_fetch_sub(&pool->open_count, 1);
    }
    s->open = false;
    s->handle = CK_INVALID_HANDLE;
}

/* Readies a lent session: opens it (read/write: CloudHSM has no read-only sessions) when its
 * slot is empty, checks one that sat idle too long, and makes sure it is logged in. */
/* A session that sat idle past idle_check_s is asked whether it still exists and is still
 * logged in (a failed-over HSM may have forgotten both). */
static HS_RESULT p11_session_check_idle(struct p11_pool *pool, struct p11_session *s)
{
    CK_SESSION_INFO info;
    if (pool->fn->C_GetSessionInfo(s->handle, &info) != CKR_OK) {
        p11_session_close(pool, s);
        atomic_fetch_add(&pool->epoch, 1);
        return HS_OK;
    }
    if (!p11_state_logged_in(info.state)) {
        atomic_fetch_add(&pool->relogins, 1);
        HS_GUARD(p11_pool_login(pool, s->handle));
    }
    return HS_OK;
}

/* Readies a lent session: opens it (read/write: CloudHSM has no read-only sessions) when its
 * slot is empty, checks one that sat idle too long, and makes sure it is logged in. */
static HS_RESULT p11_session_prepare(struct p11_pool *pool, struct p11_session *s)
{
    if (s->open && p11_now_s() - s->last_used > (time_t)pool->idle_check_s) {
        HS_GUARD(p11_session_check_idle(pool, s));
    }
    if (!s->open) {
        CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
        HS_GUARD_CKR(pool->fn->C_OpenSession(pool->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
                                             NULL, &h));
        s->handle = h;
        s->open = true;
        atomic_fetch_add(&pool->open_count, 1);
        HS_GUARD(p11_pool_ensure_login(pool, h));
    }
    return HS_OK;
}

/* Called with the lock held: in a forked child every inherited session belongs to the parent,
 * so the slots are emptied (without C_CloseSession) and the module re-initialised. */
static HS_RESULT p11_pool_after_fork_locked(struct p11_pool *pool)
{
    bool reinit = false;
    HS_GUARD(p11_module_check_fork(pool->module, &reinit));
    atomic_store(&pool->open_count, 0);
    for (size_t i = 0; i < pool->size; i++) {
        pool->sessions[i].open = false;
        pool->sessions[i].handle = CK_INVALID_HANDLE;
        pool->idle[i] = i;
    }
    pool->idle_count = pool->size;
    pool->pid = getpid();
    atomic_fetch_add(&pool->epoch, 1);
    return HS_OK;
}

static HS_RESULT p11_pool_take_locked(struct p11_pool *pool, size_t *out)
{
    if (pool->pid != getpid()) {
        HS_GUARD(p11_pool_after_fork_locked(pool));
    }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += pool->wait_ms / 1000;
    deadline.tv_nsec += (long)(pool->wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (pool->idle_count == 0) {
        int rc = pthread_cond_timedwait(&pool->freed, &pool->lock, &deadline);
        if (rc == ETIMEDOUT && pool->idle_count == 0) {
            atomic_fetch_add(&pool->busy, 1);
            HS_BAIL_MSG(HS_ERR_HSM_BUSY, "no free session within %u ms", pool->wait_ms);
        }
    }
    *out = pool->idle[--pool->idle_count];
    return HS_OK;
}

static void p11_pool_put(struct p11_pool *pool, size_t idx, enum p11_put_mode mode)
{
    struct p11_session *s = &pool->sessions[idx];
    if (mode == P11_PUT_DROP) {
        atomic_fetch_add(&pool->reopened, s->open ? 1 : 0);
        p11_session_close(pool, s);
        atomic_fetch_add(&pool->epoch, 1);
    }
    s->last_used = p11_now_s();
    pthread_mutex_lock(&pool->lock);
    pool->idle[pool->idle_count++] = idx;
    pthread_cond_signal(&pool->freed);
    pthread_mutex_unlock(&pool->lock);
}

/* Lends a ready session. A session that cannot be readied goes back closed. */
static HS_RESULT p11_pool_acquire(struct p11_pool *pool, size_t *out)
{
    size_t idx = 0;
    pthread_mutex_lock(&pool->lock);
    hs_result r = p11_pool_take_locked(pool, &idx);
    pthread_mutex_unlock(&pool->lock);
    HS_GUARD(r);
    r = p11_session_prepare(pool, &pool->sessions[idx]);
    if (hs_failed(r)) {
        p11_pool_put(pool, idx, P11_PUT_DROP);
        return r;
    }
    *out = idx;
    return HS_OK;
}

static uint64_t p11_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000U + (uint64_t)ts.tv_nsec / 1000000U;
}

/* The backoff before retry number attempt after a throttling answer, ms: exponential (none at
 * first, then 1 ms doubling, at most P11_POOL_BACKOFF_CAP_MS) with "equal jitter" (half the
 * step fixed, half random), so that callers the HSM throttled together do not come back
 * together; never past left_ms. The operation rests in its scheduler queue meanwhile. */
static unsigned int p11_pool_backoff_ms(unsigned int attempt, uint64_t left_ms)
{
    long step = P11_POOL_BACKOFF_MS << (attempt < 6 ? attempt : 6);
    step = step < P11_POOL_BACKOFF_CAP_MS ? step : P11_POOL_BACKOFF_CAP_MS;
    unsigned int rnd = 0;
    if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1) {
        rnd = 0; /* no jitter is still a bounded backoff */
    }
    long ms = step / 2 + (long)(rnd % (unsigned int)(step / 2 + 1));
    ms = (uint64_t)ms < left_ms ? ms : (long)left_ms;
    return (unsigned int)ms;
}

/* Decides, from the CK_RV behind a failure, whether the operation may run again. */
/* Copies cfg's throttling codes (p11_pool_config): at most P11_THROTTLE_CODES_MAX, none that
 * means a lost session or login (those keep their recovery) and not CKR_OK. */
static HS_RESULT p11_pool_throttle_codes(struct p11_pool *pool, const struct p11_pool_config *cfg)
{
    pool->throttle_codes_set = cfg->throttle_codes_set;
    if (!cfg->throttle_codes_set) {
        return HS_OK;
    }
    HS_ENSURE_MSG(cfg->nthrottle_codes <= P11_THROTTLE_CODES_MAX, HS_ERR_INPUT_CONFIG,
                  "at most %d throttling codes", P11_THROTTLE_CODES_MAX);
    HS_ENSURE(cfg->nthrottle_codes == 0 || cfg->throttle_codes != NULL, HS_ERR_INPUT_CONFIG);
    for (size_t i = 0; i < cfg->nthrottle_codes; i++) {
        enum p11_ckr_kind kind = p11_ckr_classify(cfg->throttle_codes[i]);
        HS_ENSURE_MSG(kind == P11_CKR_KIND_THROTTLED || kind == P11_CKR_KIND_FATAL,
                      HS_ERR_INPUT_CONFIG,
                      "%s cannot be a throttling code: it is %s, recovered as such",
                      p11_ckr_name(cfg->throttle_codes[i]),
                      kind == P11_CKR_KIND_OK ? "success" : "a lost session, login or PIN");
        pool->throttle_codes[i] = cfg->throttle_codes[i];
    }
    pool->nthrottle_codes = cfg->nthrottle_codes;
    return HS_OK;
}

static enum p11_ckr_kind p11_failure_kind(const struct p11_pool *pool, hs_result r)
{
    const struct hs_error *e = hs_error_last();
    if (hs_code_class(r.code) != HS_CLASS_HSM || e->ckr_name == NULL ||
        r.code == HS_ERR_HSM_LOGIN) {
        return P11_CKR_KIND_FATAL;
    }
    enum p11_ckr_kind kind = p11_ckr_classify(e->ckr);
    if (!pool->throttle_codes_set ||
        (kind != P11_CKR_KIND_THROTTLED && kind != P11_CKR_KIND_FATAL)) {
        return kind;
    }
    for (size_t i = 0; i < pool->nthrottle_codes; i++) {
        if (pool->throttle_codes[i] == e->ckr) {
            return P11_CKR_KIND_THROTTLED;
        }
    }
    return P11_CKR_KIND_FATAL; /* a configured set: the others fail the request */
}

/* True when session h is open but no longer logged in (its C_GetSessionInfo says so). */
static bool p11_session_lost_login(struct p11_pool *pool, CK_SESSION_HANDLE h)
{
    CK_SESSION_INFO info;
    return pool->fn->C_GetSessionInfo(h, &info) == CKR_OK && !p11_state_logged_in(info.state);
}

/* True when the failure left an operation active on the session: CKR_BUFFER_TOO_SMALL does not
 * end a C_Sign/C_GetAttributeValue-style operation (PKCS#11 v2.40 §5.2), and
 * CKR_OPERATION_ACTIVE says one is active. Nobody will finish it, so lending the session again
 * would fail every later operation on it with CKR_OPERATION_ACTIVE. */
static bool p11_failure_leaves_operation(hs_result r)
{
    const struct hs_error *e = hs_error_last();
    return hs_code_class(r.code) == HS_CLASS_HSM && e->ckr_name != NULL &&
           (e->ckr == CKR_BUFFER_TOO_SMALL || e->ckr == CKR_OPERATION_ACTIVE);
}

/* After an operation failed on session idx: works out what the failure means, repairs what
 * can be repaired, and returns the session or closes it. *kind may be refined (a handle that a
 * lost login voided is a lost login). Fails only when the repair itself fails (a login). */
static HS_RESULT p11_pool_settle(struct p11_pool *pool, size_t idx, hs_result r,
                                 enum p11_ckr_kind *kind)
{
    CK_SESSION_HANDLE h = pool->sessions[idx].handle;
    if (*kind == P11_CKR_KIND_HANDLE_INVALID && p11_session_lost_login(pool, h)) {
        *kind = P11_CKR_KIND_NOT_LOGGED_IN;
    }
    switch (*kind) {
    case P11_CKR_KIND_NOT_LOGGED_IN: {
        atomic_fetch_add(&pool->relogins, 1);
        hs_result lr = p11_pool_login(pool, h);
        p11_pool_put(pool, idx, hs_failed(lr) ? P11_PUT_DROP : P11_PUT_KEEP);
        return lr;
    }
    case P11_CKR_KIND_HANDLE_INVALID:
        /* Still logged in: the cached handle went stale. The next epoch finds it again. */
        atomic_fetch_add(&pool->epoch, 1);
        p11_pool_put(pool, idx, P11_PUT_KEEP);
        return HS_OK;
    case P11_CKR_KIND_THROTTLED:
    case P11_CKR_KIND_PIN_REJECTED:
    case P11_CKR_KIND_FATAL:
    case P11_CKR_KIND_OK:
        /* An internal failure (bounds, memory, libcrypto) may have left an operation active,
         * and some CK_RVs say one is: such a session is closed rather than lent again. */
        p11_pool_put(pool, idx,
                     hs_code_class(r.code) == HS_CLASS_INTERNAL || p11_failure_leaves_operation(r)
                         ? P11_PUT_DROP
                         : P11_PUT_KEEP);
        return HS_OK;
    case P11_CKR_KIND_SESSION_LOST:
    case P11_CKR_KIND_NOT_INITIALIZED:
    default:
        p11_pool_put(pool, idx, P11_PUT_DROP);
        return HS_OK;
    }
}

/* The throttling answer r ran past the deadline: HS_ERR_HSM_OVERLOADED, keeping the CK_RV. */
static HS_RESULT p11_pool_throttled_out(const struct p11_pool *pool, unsigned int throttles)
{
    const struct hs_error *e = hs_error_last();
    CK_RV rv = e->ckr;
    hs_result r =
        hs_error_raise_ckr(__FILE__, __LINE__, HS_ERR_HSM_OVERLOADED, rv, p11_ckr_name(rv));
    hs_error_add_detail("token \"%s\" still throttling after %u retries in %u ms",
                        pool->token_label, throttles, pool->throttle_deadline_ms);
    return r;
}

/* One attempt of p11_pool_run(), once the operation holds a scheduler slot: runs op on a
 * session, recovering lost sessions and logins (at most P11_POOL_RETRIES times). Sets
 * *throttled when the token answered with throttling (the caller gives the slot back and
 * re-enters the scheduler before trying again). */
static HS_RESULT p11_pool_run_admitted(struct p11_pool *pool, p11_pool_op op, void *arg,
                                       bool *throttled)
{
    unsigned int recoveries = 0;
    *throttled = false;
    for (;;) {
        size_t idx = 0;
        hs_result r = p11_pool_acquire(pool, &idx);
        enum p11_ckr_kind kind = P11_CKR_KIND_FATAL;
        if (hs_failed(r)) {
            kind = p11_failure_kind(pool, r);
        } else {
            struct p11_call call = {pool->fn, pool->sessions[idx].handle,
                                    atomic_load(&pool->epoch)};
            r = op(&call, arg);
            if (!hs_failed(r)) {
                p11_pool_put(pool, idx, P11_PUT_KEEP);
                return HS_OK;
            }
            kind = p11_failure_kind(pool, r);
            HS_GUARD(p11_pool_settle(pool, idx, r, &kind));
        }
        switch (kind) {
        case P11_CKR_KIND_SESSION_LOST:
        case P11_CKR_KIND_NOT_INITIALIZED:
        case P11_CKR_KIND_NOT_LOGGED_IN:
        case P11_CKR_KIND_HANDLE_INVALID:
            if (recoveries++ >= P11_POOL_RETRIES) {
                return r;
            }
            hs_log(HS_LOG_WARN, "hsm.session.recover", HS_LOG_STR("token", pool->token_label),
                   HS_LOG_STR("ckr", hs_error_last()->ckr_name), HS_LOG_INT("attempt", recoveries));
            break;
        case P11_CKR_KIND_THROTTLED:
            *throttled = true;
            return r;
        case P11_CKR_KIND_OK:
        case P11_CKR_KIND_PIN_REJECTED:
        case P11_CKR_KIND_FATAL:
        default:
            return r;
        }
    }
}

HS_RESULT p11_pool_run(struct p11_pool *pool, p11_pool_op op, void *arg)
{
    HS_ENSURE_REF(pool);
    HS_ENSURE_REF(op);
    if (pool->sched_pid != getpid()) {
        /* A forked child: the parent's in-flight operations hold slots here that nothing will
         * release (the sessions are dealt with in p11_pool_after_fork_locked). */
        p11_sched_after_fork(pool->sched);
        pool->sched_pid = getpid();
    }
    struct p11_sched_ticket ticket;
    HS_GUARD(p11_sched_enter(pool->sched, p11_sched_class_of(pool->sched), &ticket));
    unsigned int throttles = 0;
    uint64_t throttle_end = 0;
    for (;;) {
        bool throttled = false;
        hs_result r = p11_pool_run_admitted(pool, op, arg, &throttled);
        if (!throttled) {
            p11_sched_leave(pool->sched, &ticket,
                            hs_failed(r) ? P11_SCHED_OUTCOME_NONE : P11_SCHED_OUTCOME_OK);
            return r;
        }
        uint64_t now = p11_now_ms();
        if (throttle_end == 0) {
            throttle_end = now + pool->throttle_deadline_ms;
        }
        if (now >= throttle_end) {
            p11_sched_leave(pool->sched, &ticket, P11_SCHED_OUTCOME_THROTTLED);
            return p11_pool_throttled_out(pool, throttles);
        }
        /* Throttled: the slot goes back (and the limit down), so the queue forms in the
         * scheduler, where the shares apply; the operation re-enters at its class's head. */
        atomic_fetch_add(&pool->throttled, 1);
        HS_GUARD(p11_sched_retry(pool->sched, &ticket,
                                 p11_pool_backoff_ms(throttles++, throttle_end - now)));
    }
}

static HS_RESULT p11_pool_alloc(const struct p11_pool_config *cfg, struct p11_pool **out)
{
    size_t size = cfg->size != 0 ? cfg->size : p11_pool_default_size();
    HS_ENSURE_MSG(size <= P11_POOL_SIZE_MAX, HS_ERR_INPUT_CONFIG, "pool size must be at most %d",
                  P11_POOL_SIZE_MAX);
    HS_DEFER(struct p11_pool *pool = OPENSSL_zalloc(sizeof(*pool)), p11_pool_freep);
    HS_ENSURE(pool != NULL, HS_ERR_NOMEM);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->freed, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&pool->lock, NULL);
    pool->pid = getpid();
    pool->sched_pid = pool->pid;
    pool->size = size;
    pool->sessions = OPENSSL_zalloc(size * sizeof(*pool->sessions));
    pool->idle = OPENSSL_zalloc(size * sizeof(*pool->idle));
    HS_ENSURE(pool->sessions != NULL && pool->idle != NULL, HS_ERR_NOMEM);
    static const struct p11_sched_config one_class = {0};
    HS_GUARD(p11_sched_new(cfg->sched != NULL ? cfg->sched : &one_class, size, &pool->sched));
    *out = pool;
    pool = NULL;
    return HS_OK;
}

static HS_RESULT p11_list_append(struct hs_buf *list, const char *name)
{
    if (hs_buf_len(list) > 0) {
        HS_GUARD(hs_buf_put_byte(list, ','));
    }
    return hs_buf_put_str(list, name);
}

/* Logs which of the mechanisms hsmsign can use the token offers, for operators. */
static void p11_pool_log_mechanisms(const struct p11_pool *pool)
{
    static const CK_MECHANISM_TYPE used[] = {
        CKM_RSA_PKCS_KEY_PAIR_GEN,   CKM_SHA256_RSA_PKCS,
        CKM_SHA384_RSA_PKCS,         CKM_SHA512_RSA_PKCS,
        CKM_SHA256_RSA_PKCS_PSS,     CKM_SHA384_RSA_PKCS_PSS,
        CKM_EC_KEY_PAIR_GEN,         CKM_ECDSA,
        CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA,
    };
    HS_DEFER(struct hs_buf *offered = hs_buf_new(1024), hs_buf_freep);
    HS_DEFER(struct hs_buf *missing = hs_buf_new(1024), hs_buf_freep);
    if (offered == NULL || missing == NULL) {
        return;
    }
    for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++) {
        struct hs_buf *to = p11_mechs_find(pool->mechs, used[i]) != NULL ? offered : missing;
        if (hs_failed(p11_list_append(to, p11_mech_name(used[i])))) {
            return;
        }
    }
    const char *a = NULL;
    const char *b = NULL;
    if (hs_failed(hs_buf_cstr(offered, &a)) || hs_failed(hs_buf_cstr(missing, &b))) {
        return;
    }
    hs_log(HS_LOG_INFO, "hsm.mechanisms", HS_LOG_STR("token", pool->token_label),
           HS_LOG_INT("count", pool->mechs->n), HS_LOG_STR("offered", a), HS_LOG_STR("missing", b));
}

HS_RESULT p11_pool_require_mechanism(const struct p11_pool *pool, CK_MECHANISM_TYPE mech,
                                     CK_FLAGS need, unsigned int key_bits, const char *what)
{
    HS_ENSURE_REF(pool);
    HS_ENSURE_REF(pool->mechs);
    hs_result r = p11_mechs_require(pool->mechs, mech, need, key_bits, what);
    if (hs_failed(r)) {
        hs_error_add_detail("token \"%s\"", pool->token_label);
    }
    return r;
}

HS_RESULT p11_pool_new(struct p11_module *m, const struct p11_pool_config *cfg,
                       struct p11_pool **out)
{
    HS_ENSURE_REF(m);
    HS_ENSURE_REF(cfg);
    HS_ENSURE_MSG(cfg->token_label != NULL && cfg->pin != NULL, HS_ERR_INPUT_CONFIG,
                  "token label and PIN are required");
    HS_ENSURE_MSG(strlen(cfg->token_label) <= 32, HS_ERR_INPUT_CONFIG,
                  "token label longer than 32 bytes");
    HS_DEFER(struct p11_pool *pool = NULL, p11_pool_freep);
    HS_GUARD(p11_pool_alloc(cfg, &pool));
    pool->module = p11_module_up_ref(m);
    pool->fn = p11_module_get0_functions(m);
    pool->wait_ms = cfg->wait_ms != 0 ? cfg->wait_ms : P11_POOL_DEFAULT_WAIT_MS;
    pool->idle_check_s = cfg->idle_check_s != 0 ? cfg->idle_check_s : P11_POOL_DEFAULT_IDLE_S;
    HS_ENSURE_MSG(cfg->throttle_deadline_ms <= P11_POOL_THROTTLE_DEADLINE_MAX_MS,
                  HS_ERR_INPUT_CONFIG, "throttle deadline must be at most %u ms",
                  P11_POOL_THROTTLE_DEADLINE_MAX_MS);
    pool->throttle_deadline_ms =
        cfg->throttle_deadline_ms != 0 ? cfg->throttle_deadline_ms : P11_POOL_DEFAULT_THROTTLE_MS;
    HS_GUARD(p11_pool_throttle_codes(pool, cfg));
    memcpy(pool->token_label, cfg->token_label, strlen(cfg->token_label) + 1);
    const unsigned char *pin = NULL;
    size_t pin_len = 0;
    hs_secret_get0(cfg->pin, &pin, &pin_len);
    HS_GUARD(hs_secret_from_bytes(pin, pin_len, &pool->pin));
    HS_GUARD(p11_module_find_token(m, cfg->token_label, &pool->slot));
    for (size_t i = 0; i < pool->size; i++) {
        pool->idle[i] = pool->size - 1 - i;
    }
    pool->idle_count = pool->size;
    /* Open the first session now: it logs in and proves the PIN before we serve anything. */
    size_t idx = 0;
    HS_GUARD(p11_pool_acquire(pool, &idx));
    p11_pool_put(pool, idx, P11_PUT_KEEP);
    pool->mechs = OPENSSL_zalloc(sizeof(*pool->mechs));
    HS_ENSURE(pool->mechs != NULL, HS_ERR_NOMEM);
    HS_GUARD(p11_mechs_probe(pool->fn, pool->slot, pool->mechs));
    p11_pool_log_mechanisms(pool);
    *out = pool;
    pool = NULL;
    return HS_OK;
}

void p11_pool_free(struct p11_pool *pool)
{
    if (pool == NULL) {
        return;
    }
    if (pool->sessions != NULL && pool->pid == getpid()) {
        for (size_t i = 0; i < pool->size; i++) {
            p11_session_close(pool, &pool->sessions[i]);
        }
    }
    pthread_cond_destroy(&pool->freed);
    pthread_mutex_destroy(&pool->lock);
    OPENSSL_free(pool->sessions);
    OPENSSL_free(pool->idle);
    hs_secret_free(pool->pin);
    OPENSSL_free(pool->mechs);
    p11_sched_free(pool->sched);
    p11_module_free(pool->module);
    OPENSSL_free(pool);
}

void p11_pool_freep(struct p11_pool **pool)
{
    p11_pool_free(*pool);
}

static HS_RESULT p11_ping_op(const struct p11_call *call, void *arg)
{
    (void)arg;
    CK_SESSION_INFO info;
    HS_GUARD_CKR(call->fn->C_GetSessionInfo(call->session, &info));
    if (!p11_state_logged_in(info.state)) {
        /* Let the pool's recovery log in again. */
        HS_GUARD_CKR(CKR_USER_NOT_LOGGED_IN);
    }
    return HS_OK;
}

HS_RESULT p11_pool_ping(struct p11_pool *pool)
{
    /* Not scheduled: /healthz must answer while signatures saturate the token (it still waits
     * for a free session, at most wait_ms). */
    HS_ENSURE_REF(pool);
    unsigned int throttles = 0;
    uint64_t throttle_end = 0;
    for (;;) {
        bool throttled = false;
        hs_result r = p11_pool_run_admitted(pool, p11_ping_op, NULL, &throttled);
        if (!throttled) {
            return r;
        }
        uint64_t now = p11_now_ms();
        if (throttle_end == 0) {
            throttle_end = now + pool->throttle_deadline_ms;
        }
        if (now >= throttle_end) {
            return p11_pool_throttled_out(pool, throttles);
        }
        atomic_fetch_add(&pool->throttled, 1);
        unsigned int ms = p11_pool_backoff_ms(throttles++, throttle_end - now);
        struct timespec ts = {ms / 1000U, (long)(ms % 1000U) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
}

struct p11_sched *p11_pool_get0_sched(const struct p11_pool *pool)
{
    return pool->sched;
}

HS_RESULT p11_pool_get_token_info(struct p11_pool *pool, CK_TOKEN_INFO *out)
{
    HS_ENSURE_REF(pool);
    HS_GUARD_CKR(pool->fn->C_GetTokenInfo(pool->slot, out));
    return HS_OK;
}

const char *p11_pool_token_label(const struct p11_pool *pool)
{
    return pool->token_label;
}

struct p11_module *p11_pool_get0_module(const struct p11_pool *pool)
{
    return pool->module;
}

uint64_t p11_pool_epoch(const struct p11_pool *pool)
{
    return atomic_load(&pool->epoch);
}

void p11_pool_get_stats(struct p11_pool *pool, struct p11_pool_stats *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&pool->lock);
    out->size = pool->size;
    out->in_use = pool->size - pool->idle_count;
    pthread_mutex_unlock(&pool->lock);
    out->open = atomic_load(&pool->open_count);
    out->reopened = atomic_load(&pool->reopened);
    out->relogins = atomic_load(&pool->relogins);
    out->throttled = atomic_load(&pool->throttled);
    out->busy = atomic_load(&pool->busy);
}
