/*
 * p11_pool: a thread-safe pool of logged-in read/write sessions on one token.
 *
 * One login per token (PKCS#11 v2.40 §5.6: login state is shared by all of an application's
 * sessions), a fixed number of sessions opened on demand, and no C_OpenSession per request.
 * Every token operation runs through p11_pool_run(), which owns the recovery policy:
 *   - CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT,
 *     CKR_DEVICE_ERROR: the session is closed instead of returned, the pool epoch advances (so
 *     cached object handles are found again), and the operation is retried on a fresh session,
 *     at most P11_POOL_RETRIES times;
 *   - CKR_OBJECT_HANDLE_INVALID, CKR_KEY_HANDLE_INVALID: if the session lost its login (a
 *     token may report a lost login so), as CKR_USER_NOT_LOGGED_IN; otherwise the epoch
 *     advances so the key's handle is found again, and the operation is retried;
 *   - CKR_USER_NOT_LOGGED_IN: the pool logs in again (a successful login advances the epoch:
 *     private object handles do not survive a logout) and retries. A failed login is never
 *     retried within a call; a PIN the token rejected (CKR_PIN_*) is never tried again, and
 *     after P11_POOL_LOGIN_FAILURES_MAX failed logins in a row none is tried until restart;
 *   - CKR_FUNCTION_FAILED (what CloudHSM answers when throttling), CKR_OPERATION_ACTIVE,
 *     CKR_DEVICE_MEMORY, CKR_SESSION_COUNT: the operation gives its scheduler slot back (the
 *     scheduler's adaptive limit goes down, p11_sched.h), sleeps a short exponential backoff
 *     with jitter (none at first, then 1 ms doubling up to 20 ms) and re-enters the scheduler
 *     at the head of its class's queue, until throttle_deadline_ms after the first such
 *     answer; past it the call fails with HS_ERR_HSM_OVERLOADED (the API's 503 + Retry-After);
 *   - anything else fails with the CKR_* name in the error (CKR_MECHANISM_INVALID as
 *     HS_ERR_HSM_MECHANISM, CKR_PIN_* as HS_ERR_HSM_LOGIN), unretried;
 *   - a session is returned to the pool after a failure unless the failure was internal (bounds,
 *     memory, libcrypto) or left an operation active on it (CKR_BUFFER_TOO_SMALL, PKCS#11 v2.40
 *     §5.2, and CKR_OPERATION_ACTIVE): such a session is closed instead.
 * tests/unit/p11_pool_test.c checks every class of this policy on an in-memory token.
 * A caller waits at most wait_ms for a free session and then gets HS_ERR_HSM_BUSY.
 * Before all that, every p11_pool_run() takes an in-flight slot from the pool's scheduler
 * (p11_sched.h: one slot per session, weighted fair sharing between the classes of cfg->sched,
 * the calling thread's class from p11_sched_class_swap()); a full class queue or a wait past
 * its deadline fails with HS_ERR_HSM_OVERLOADED.
 */
#ifndef P11_POOL_H
#define P11_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#include "common/hs_err.h"
#include "common/hs_secret.h"
#include "pkcs11/p11_module.h"
#include "pkcs11/p11_sched.h"

/* Retries after a lost session, a lost login or a stale handle, per operation. */
#define P11_POOL_RETRIES 3
/* Failed logins in a row after which the pool stops logging in until restart (below
 * CloudHSM's lockout of a crypto user after five). */
#define P11_POOL_LOGIN_FAILURES_MAX 3
/* Most entries of p11_pool_config.throttle_codes. */
#define P11_THROTTLE_CODES_MAX 16
/* Longest throttle_deadline_ms: how long throttling answers are retried. */
#define P11_POOL_THROTTLE_DEADLINE_MAX_MS 60000U
/* Most sessions: a CloudHSM application may open at most 1,024 PKCS#11 sessions (AWS CloudHSM
 * user guide, "Quotas", system quotas; not adjustable), shared by every pool of the process. */
#define P11_POOL_SIZE_MAX 256

struct p11_pool_config {
    const char *token_label;     /* token to use (required) */
    const struct hs_secret *pin; /* user PIN (CloudHSM: "CU_user:password"); copied */
    size_t size;          /* sessions; 0 = p11_pool_default_size(); at most P11_POOL_SIZE_MAX */
    unsigned int wait_ms; /* longest wait for a free session; 0 = 5000 ms */
    unsigned int idle_check_s;            /* sessions idle longer are checked with C_GetSessionInfo;
                                  0 = 60 s */
    unsigned int throttle_deadline_ms;    /* retry throttling this long; 0 = 2000 ms */
    const struct p11_sched_config *sched; /* classes and shares (copied); NULL = one class */
    /* The answers treated as throttling, when throttle_codes_set (copied; at most
     * P11_THROTTLE_CODES_MAX, each of kind P11_CKR_KIND_THROTTLED or P11_CKR_KIND_FATAL by
     * p11_ckr_classify: codes that mean a lost session or login keep their recovery). Unset:
     * CKR_FUNCTION_FAILED, CKR_DEVICE_MEMORY, CKR_SESSION_COUNT and CKR_OPERATION_ACTIVE. */
    const CK_RV *throttle_codes;
    size_t nthrottle_codes;
    bool throttle_codes_set;
};

/* The default session count: max(2 x online CPUs, 8), so that a remote HSM's round trip (1-2 ms
 * per C_Sign on CloudHSM) does not cap in-flight signatures at a small box's core count. */
size_t p11_pool_default_size(void);

/* What an operation gets: the session to use and the pool epoch under which object handles it
 * caches are valid. */
struct p11_call {
    CK_FUNCTION_LIST *fn;
    CK_SESSION_HANDLE session;
    uint64_t epoch;
};

/* An operation run by p11_pool_run(). It fails through HS_GUARD_CKR so that the pool can read
 * the CK_RV from hs_error_last() and decide whether to retry. It must leave no operation active
 * on the session (C_FindObjectsFinal on every path, C_Sign completed). */
typedef HS_MUST_USE hs_result (*p11_pool_op)(const struct p11_call *call, void *arg);

struct p11_pool;

/* Opens the pool: finds the token by label on module m (the pool takes its own reference),
 * opens one session and logs in as CKU_USER (an "hsm.login" audit event; the PIN never appears
 * in a log or error). Errors: HS_ERR_HSM_TOKEN_NOT_FOUND, HS_ERR_HSM_LOGIN (PIN rejected),
 * HS_ERR_HSM, HS_ERR_INPUT_CONFIG, HS_ERR_NOMEM. The caller frees *out with p11_pool_free(). */
HS_RESULT p11_pool_new(struct p11_module *m, const struct p11_pool_config *cfg,
                       struct p11_pool **out);

/* Closes every session and releases the pool (NULL accepted). No session may be in use. */
void p11_pool_free(struct p11_pool *pool);
void p11_pool_freep(struct p11_pool **pool);

/* Runs op(call, arg) on a pool session with the recovery policy above. Errors: whatever op
 * raised (HS_ERR_HSM_* with the CK_RV), HS_ERR_HSM_BUSY, HS_ERR_HSM_LOGIN. */
HS_RESULT p11_pool_run(struct p11_pool *pool, p11_pool_op op, void *arg);

/* Checks that a session answers (C_GetSessionInfo in a logged-in state). For /healthz. */
HS_RESULT p11_pool_ping(struct p11_pool *pool);

/* Reads the token's CK_TOKEN_INFO (C_GetTokenInfo). Errors: HS_ERR_HSM_*. */
HS_RESULT p11_pool_get_token_info(struct p11_pool *pool, CK_TOKEN_INFO *out);

/* Fails with HS_ERR_HSM_MECHANISM (detail: the CKM_* name and the token) unless the token, as
 * probed when the pool opened (C_GetMechanismList / C_GetMechanismInfo), offers mech with the
 * flags in need (CKF_SIGN, CKF_GENERATE_KEY_PAIR) for keys of key_bits bits. what names the use
 * for the message ("signing", "key generation"). */
HS_RESULT p11_pool_require_mechanism(const struct p11_pool *pool, CK_MECHANISM_TYPE mech,
                                     CK_FLAGS need, unsigned int key_bits, const char *what);

/* The token label and the module (lent, valid while the pool lives). */
const char *p11_pool_token_label(const struct p11_pool *pool);
struct p11_module *p11_pool_get0_module(const struct p11_pool *pool);

/* The current epoch: it advances whenever a session is dropped or the module re-initialised. */
uint64_t p11_pool_epoch(const struct p11_pool *pool);

/* The pool's scheduler (lent, valid while the pool lives), for its per-class counters. */
struct p11_sched *p11_pool_get0_sched(const struct p11_pool *pool);

/* Counters for /metrics and tests. */
struct p11_pool_stats {
    size_t size;        /* configured sessions */
    size_t open;        /* sessions currently open */
    size_t in_use;      /* sessions currently lent */
    uint64_t reopened;  /* sessions dropped after a session-lost CK_RV */
    uint64_t relogins;  /* logins after CKR_USER_NOT_LOGGED_IN or a public session */
    uint64_t throttled; /* backoff retries */
    uint64_t busy;      /* callers that timed out waiting */
};
void p11_pool_get_stats(struct p11_pool *pool, struct p11_pool_stats *out);

#endif /* P11_POOL_H */
