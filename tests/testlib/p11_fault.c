/*
 * The fault-injecting Cryptoki module described in p11_fault.h.
 *
 * It is loaded with dlopen into a process that already carries hs_common, so it does not link
 * hs_common itself (a second copy of the thread-local hs_error would only confuse the tests):
 * its Cryptoki functions return CK_RV and its helpers return bool, true on success.
 */
#include "tests/testlib/p11_fault.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

/* Largest signature the scratch buffer of a failed C_Sign holds (RSA-8192). */
#define HS_FAULT_SIG_MAX 1024
/* Longest "rate=" value, in characters. */
#define HS_FAULT_RATE_MAX 31
/* splitmix64's increment (the golden ratio in 64 bits). */
#define HS_FAULT_GOLDEN 0x9e3779b97f4a7c15ULL
/* 2^53: rate draws are 53-bit integers, compared with P * 2^53. */
#define HS_FAULT_DRAW_RANGE 9007199254740992.0

enum hs_fault_fn {
    HS_FAULT_FN_OPEN_SESSION,
    HS_FAULT_FN_GET_TOKEN_INFO,
    HS_FAULT_FN_GET_SESSION_INFO,
    HS_FAULT_FN_LOGIN,
    HS_FAULT_FN_FIND_OBJECTS_INIT,
    HS_FAULT_FN_FIND_OBJECTS,
    HS_FAULT_FN_FIND_OBJECTS_FINAL,
    HS_FAULT_FN_SIGN_INIT,
    HS_FAULT_FN_SIGN,
    HS_FAULT_FN_GENERATE_KEY_PAIR,
    HS_FAULT_FN_GET_ATTRIBUTE_VALUE,
    HS_FAULT_FN_COUNT,
};

struct hs_fault_fn_info {
    const char *name;
    bool has_session; /* whether close and logout can apply */
};

static const struct hs_fault_fn_info hs_fault_fns[HS_FAULT_FN_COUNT] = {
    [HS_FAULT_FN_OPEN_SESSION] = {"C_OpenSession", false},
    [HS_FAULT_FN_GET_TOKEN_INFO] = {"C_GetTokenInfo", false},
    [HS_FAULT_FN_GET_SESSION_INFO] = {"C_GetSessionInfo", true},
    [HS_FAULT_FN_LOGIN] = {"C_Login", true},
    [HS_FAULT_FN_FIND_OBJECTS_INIT] = {"C_FindObjectsInit", true},
    [HS_FAULT_FN_FIND_OBJECTS] = {"C_FindObjects", true},
    [HS_FAULT_FN_FIND_OBJECTS_FINAL] = {"C_FindObjectsFinal", true},
    [HS_FAULT_FN_SIGN_INIT] = {"C_SignInit", true},
    [HS_FAULT_FN_SIGN] = {"C_Sign", true},
    [HS_FAULT_FN_GENERATE_KEY_PAIR] = {"C_GenerateKeyPair", true},
    [HS_FAULT_FN_GET_ATTRIBUTE_VALUE] = {"C_GetAttributeValue", true},
};

struct hs_fault_ckr {
    const char *name;
    CK_RV rv;
};

/* clang-format off */
#define HS_FAULT_CKR(x) {#x, x}
/* clang-format on */

/* The codes a rule may return: what the pool's recovery policy distinguishes, and a few
 * fatal ones. */
static const struct hs_fault_ckr hs_fault_ckrs[] = {
    HS_FAULT_CKR(CKR_SESSION_HANDLE_INVALID),
    HS_FAULT_CKR(CKR_SESSION_CLOSED),
    HS_FAULT_CKR(CKR_USER_NOT_LOGGED_IN),
    HS_FAULT_CKR(CKR_DEVICE_REMOVED),
    HS_FAULT_CKR(CKR_TOKEN_NOT_PRESENT),
    HS_FAULT_CKR(CKR_DEVICE_ERROR),
    HS_FAULT_CKR(CKR_FUNCTION_FAILED),
    HS_FAULT_CKR(CKR_OPERATION_ACTIVE),
    HS_FAULT_CKR(CKR_DEVICE_MEMORY),
    HS_FAULT_CKR(CKR_SESSION_COUNT),
    HS_FAULT_CKR(CKR_GENERAL_ERROR),
    HS_FAULT_CKR(CKR_HOST_MEMORY),
    HS_FAULT_CKR(CKR_KEY_HANDLE_INVALID),
    HS_FAULT_CKR(CKR_OBJECT_HANDLE_INVALID),
    HS_FAULT_CKR(CKR_PIN_INCORRECT),
    HS_FAULT_CKR(CKR_PIN_LOCKED),
    HS_FAULT_CKR(CKR_CRYPTOKI_NOT_INITIALIZED),
};

enum hs_fault_action {
    HS_FAULT_RETURN, /* return rv without calling the real module */
    HS_FAULT_CLOSE,  /* really close the session, return CKR_SESSION_HANDLE_INVALID */
    HS_FAULT_LOGOUT, /* really log out, then forward the call */
    HS_FAULT_GARBLE, /* C_Sign only: forward, then flip one bit of the signature returned */
};

enum hs_fault_trigger {
    HS_FAULT_ALWAYS,
    HS_FAULT_EVERY,
    HS_FAULT_NTH,
    HS_FAULT_RATE,
};

struct hs_fault_rule {
    bool any_fn; /* "*" */
    enum hs_fault_fn fn;
    enum hs_fault_action action;
    CK_RV rv; /* HS_FAULT_RETURN */
    enum hs_fault_trigger trigger;
    unsigned long n;    /* HS_FAULT_EVERY, HS_FAULT_NTH */
    uint64_t threshold; /* HS_FAULT_RATE: fires when a 53-bit draw is below it */
};

struct hs_fault_rules {
    struct hs_fault_rule rule[HS_FAULT_RULES_MAX];
    size_t count;
    uint64_t seed;
};

/* What a call meets: whether a rule fired, and what it does. */
struct hs_fault_hit {
    bool fired;
    enum hs_fault_action action;
    CK_RV rv;
};

/* A piece of the spec: not NUL-terminated. p == NULL marks an exhausted remainder. */
struct hs_fault_span {
    const char *p;
    size_t n;
};

/* Set once by hs_fault_load(), read-only afterwards. */
static pthread_once_t hs_fault_once = PTHREAD_ONCE_INIT;
static CK_RV hs_fault_load_rv = CKR_GENERAL_ERROR;
static void *hs_fault_dl;
static CK_FUNCTION_LIST *hs_fault_real;
static CK_FUNCTION_LIST hs_fault_list;

/* The rules, replaced as a whole by hs_fault_apply(). The counters change under the lock too,
 * so a configure never sees half a call; they are atomics so that they can be read without it. */
static pthread_mutex_t hs_fault_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hs_fault_rules hs_fault_rules;
static atomic_ulong hs_fault_counts[HS_FAULT_FN_COUNT];
static atomic_ulong hs_fault_injections;
static atomic_uint_fast64_t hs_fault_prng;

/* --- spec parsing -------------------------------------------------------------------------- */

/* Splits *rest at its first sep: *out gets what comes before, *rest what follows. Returns false
 * once *rest is exhausted. */
static bool hs_fault_span_next(struct hs_fault_span *rest, char sep, struct hs_fault_span *out)
{
    if (rest->p == NULL) {
        return false;
    }
    const char *end = memchr(rest->p, sep, rest->n);
    if (end == NULL) {
        *out = *rest;
        *rest = (struct hs_fault_span){NULL, 0};
        return true;
    }
    *out = (struct hs_fault_span){rest->p, (size_t)(end - rest->p)};
    rest->n -= out->n + 1;
    rest->p = end + 1;
    return true;
}

static struct hs_fault_span hs_fault_span_trim(struct hs_fault_span s)
{
    while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t')) {
        s.n--;
    }
    return s;
}

static bool hs_fault_span_eq(struct hs_fault_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* When s starts with prefix, lends the rest in *out. */
static bool hs_fault_span_after(struct hs_fault_span s, const char *prefix,
                                struct hs_fault_span *out)
{
    size_t n = strlen(prefix);
    if (s.n < n || memcmp(s.p, prefix, n) != 0) {
        return false;
    }
    *out = (struct hs_fault_span){s.p + n, s.n - n};
    return true;
}

/* A decimal number: digits only, no sign, no overflow. */
static bool hs_fault_parse_u64(struct hs_fault_span s, uint64_t *out)
{
    if (s.n == 0) {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9') {
            return false;
        }
        uint64_t d = (uint64_t)(s.p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* A count for every= / nth=: 1 or more. */
static bool hs_fault_parse_count(struct hs_fault_span s, unsigned long *out)
{
    uint64_t v = 0;
    if (!hs_fault_parse_u64(s, &v) || v == 0 || v > ULONG_MAX) {
        return false;
    }
    *out = (unsigned long)v;
    return true;
}

/* A probability 0 < P <= 1, stored as the threshold of a 53-bit draw. */
static bool hs_fault_parse_rate(struct hs_fault_span s, uint64_t *out)
{
    char text[HS_FAULT_RATE_MAX + 1];
    if (s.n == 0 || s.n > HS_FAULT_RATE_MAX) {
        return false;
    }
    memcpy(text, s.p, s.n);
    text[s.n] = '\0';
    char *end = NULL;
    errno = 0;
    double p = strtod(text, &end);
    /* NaN fails both comparisons. */
    if (errno != 0 || end != text + s.n || !(p > 0.0 && p <= 1.0)) {
        return false;
    }
    *out = (uint64_t)(p * HS_FAULT_DRAW_RANGE);
    return true;
}

static bool hs_fault_parse_func(struct hs_fault_span s, struct hs_fault_rule *r)
{
    if (hs_fault_span_eq(s, "*")) {
        r->any_fn = true;
        return true;
    }
    for (size_t i = 0; i < HS_FAULT_FN_COUNT; i++) {
        if (hs_fault_span_eq(s, hs_fault_fns[i].name)) {
            r->fn = (enum hs_fault_fn)i;
            return true;
        }
    }
    return false;
}

static bool hs_fault_parse_action(struct hs_fault_span s, struct hs_fault_rule *r)
{
    if (hs_fault_span_eq(s, "close")) {
        r->action = HS_FAULT_CLOSE;
        return true;
    }
    if (hs_fault_span_eq(s, "logout")) {
        r->action = HS_FAULT_LOGOUT;
        return true;
    }
    if (hs_fault_span_eq(s, "garble")) {
        r->action = HS_FAULT_GARBLE;
        return true;
    }
    for (size_t i = 0; i < sizeof(hs_fault_ckrs) / sizeof(hs_fault_ckrs[0]); i++) {
        if (hs_fault_span_eq(s, hs_fault_ckrs[i].name)) {
            r->action = HS_FAULT_RETURN;
            r->rv = hs_fault_ckrs[i].rv;
            return true;
        }
    }
    return false;
}

static bool hs_fault_parse_trigger(struct hs_fault_span s, struct hs_fault_rule *r)
{
    struct hs_fault_span v;
    if (hs_fault_span_after(s, "every=", &v)) {
        r->trigger = HS_FAULT_EVERY;
        return hs_fault_parse_count(v, &r->n);
    }
    if (hs_fault_span_after(s, "nth=", &v)) {
        r->trigger = HS_FAULT_NTH;
        return hs_fault_parse_count(v, &r->n);
    }
    if (hs_fault_span_after(s, "rate=", &v)) {
        r->trigger = HS_FAULT_RATE;
        return hs_fault_parse_rate(v, &r->threshold);
    }
    return false;
}

/* FUNC ":" ACTION [":" TRIGGER] */
static bool hs_fault_parse_rule(struct hs_fault_span item, struct hs_fault_rule *out)
{
    struct hs_fault_rule r;
    memset(&r, 0, sizeof(r));
    r.trigger = HS_FAULT_ALWAYS;
    struct hs_fault_span rest = item;
    struct hs_fault_span func;
    struct hs_fault_span action;
    struct hs_fault_span trigger;
    if (!hs_fault_span_next(&rest, ':', &func) || !hs_fault_span_next(&rest, ':', &action) ||
        !hs_fault_parse_func(hs_fault_span_trim(func), &r) ||
        !hs_fault_parse_action(hs_fault_span_trim(action), &r)) {
        return false;
    }
    if (hs_fault_span_next(&rest, ':', &trigger) &&
        !hs_fault_parse_trigger(hs_fault_span_trim(trigger), &r)) {
        return false;
    }
    /* A fourth field, close / logout on a function without a session, or garble on anything
     * but C_Sign. */
    if (rest.p != NULL ||
        (!r.any_fn && r.action != HS_FAULT_RETURN && !hs_fault_fns[r.fn].has_session) ||
        (r.action == HS_FAULT_GARBLE && (r.any_fn || r.fn != HS_FAULT_FN_SIGN))) {
        return false;
    }
    *out = r;
    return true;
}

static bool hs_fault_parse(const char *spec, struct hs_fault_rules *out)
{
    memset(out, 0, sizeof(*out));
    out->seed = 1;
    if (spec == NULL) {
        return true;
    }
    size_t len = strnlen(spec, HS_FAULT_SPEC_MAX + 1);
    if (len > HS_FAULT_SPEC_MAX) {
        return false;
    }
    struct hs_fault_span rest = {spec, len};
    struct hs_fault_span item;
    while (hs_fault_span_next(&rest, ';', &item)) {
        item = hs_fault_span_trim(item);
        struct hs_fault_span seed;
        if (item.n == 0) {
            continue;
        }
        if (hs_fault_span_after(item, "seed=", &seed)) {
            if (!hs_fault_parse_u64(seed, &out->seed)) {
                return false;
            }
            continue;
        }
        if (out->count == HS_FAULT_RULES_MAX ||
            !hs_fault_parse_rule(item, &out->rule[out->count])) {
            return false;
        }
        out->count++;
    }
    return true;
}

/* Installs the rules of spec and resets the counters; false (and nothing changed) when the spec
 * is bad. */
static bool hs_fault_apply(const char *spec)
{
    struct hs_fault_rules rules;
    if (!hs_fault_parse(spec, &rules)) {
        return false;
    }
    pthread_mutex_lock(&hs_fault_lock);
    hs_fault_rules = rules;
    for (size_t i = 0; i < HS_FAULT_FN_COUNT; i++) {
        atomic_store(&hs_fault_counts[i], 0);
    }
    atomic_store(&hs_fault_injections, 0);
    atomic_store(&hs_fault_prng, rules.seed);
    pthread_mutex_unlock(&hs_fault_lock);
    return true;
}

/* --- deciding ------------------------------------------------------------------------------ */

/* splitmix64 on a shared atomic state: each caller gets its own step, without a lock. Returns
 * 53 random bits. */
static uint64_t hs_fault_draw(void)
{
    uint64_t z = atomic_fetch_add(&hs_fault_prng, HS_FAULT_GOLDEN) + HS_FAULT_GOLDEN;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (z ^ (z >> 31)) >> 11;
}

/* Whether rule r applies to the n-th call of fn. */
static bool hs_fault_rule_fires(const struct hs_fault_rule *r, enum hs_fault_fn fn, unsigned long n)
{
    if ((!r->any_fn && r->fn != fn) ||
        (r->action != HS_FAULT_RETURN && !hs_fault_fns[fn].has_session)) {
        return false;
    }
    switch (r->trigger) {
    case HS_FAULT_ALWAYS:
        return true;
    case HS_FAULT_EVERY:
        return n % r->n == 0;
    case HS_FAULT_NTH:
        return n == r->n;
    case HS_FAULT_RATE:
        return hs_fault_draw() < r->threshold;
    default:
        return false;
    }
}

/* Counts a call of fn and finds the first rule that fires for it. */
static struct hs_fault_hit hs_fault_decide(enum hs_fault_fn fn)
{
    struct hs_fault_hit hit = {false, HS_FAULT_RETURN, CKR_OK};
    pthread_mutex_lock(&hs_fault_lock);
    unsigned long n = atomic_fetch_add(&hs_fault_counts[fn], 1) + 1;
    for (size_t i = 0; i < hs_fault_rules.count && !hit.fired; i++) {
        const struct hs_fault_rule *r = &hs_fault_rules.rule[i];
        if (hs_fault_rule_fires(r, fn, n)) {
            hit = (struct hs_fault_hit){true, r->action, r->rv};
            atomic_fetch_add(&hs_fault_injections, 1);
        }
    }
    pthread_mutex_unlock(&hs_fault_lock);
    return hit;
}

/* Applies the rule that fires for a call of fn on session h (CK_INVALID_HANDLE for the slot
 * functions). Returns CKR_OK when the call goes on to the real module, else the code it
 * returns instead. */
static CK_RV hs_fault_act(struct hs_fault_hit hit, CK_SESSION_HANDLE h)
{
    if (!hit.fired) {
        return CKR_OK;
    }
    switch (hit.action) {
    case HS_FAULT_CLOSE:
        /* Its CK_RV changes nothing: the session is gone either way. */
        (void)hs_fault_real->C_CloseSession(h);
        return CKR_SESSION_HANDLE_INVALID;
    case HS_FAULT_LOGOUT:
        /* The login is token-wide: every session of the process becomes public. */
        (void)hs_fault_real->C_Logout(h);
        return CKR_OK;
    case HS_FAULT_GARBLE: /* handled by hs_fault_sign */
        return CKR_OK;
    case HS_FAULT_RETURN:
    default:
        return hit.rv;
    }
}

static CK_RV hs_fault_enter(enum hs_fault_fn fn, CK_SESSION_HANDLE h)
{
    return hs_fault_act(hs_fault_decide(fn), h);
}

/* A failed C_Sign ends the signing operation (PKCS#11 v2.40 §5.12) but the real one is still
 * active: complete it into a scratch buffer and wipe the result. A signature larger than the
 * buffer leaves the operation active. */
static void hs_fault_end_sign(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG len)
{
    unsigned char scratch[HS_FAULT_SIG_MAX];
    CK_ULONG n = 0;
    if (hs_fault_real->C_Sign(h, data, len, NULL, &n) != CKR_OK || n > sizeof(scratch)) {
        return;
    }
    (void)hs_fault_real->C_Sign(h, data, len, scratch, &n);
    explicit_bzero(scratch, sizeof(scratch));
}

/* --- the wrapped functions ----------------------------------------------------------------- */

static CK_RV hs_fault_open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app,
                                   CK_NOTIFY notify, CK_SESSION_HANDLE_PTR out)
{
    CK_RV rv = hs_fault_enter(HS_FAULT_FN_OPEN_SESSION, CK_INVALID_HANDLE);
    if (rv != CKR_OK) {
        return rv;
    }
    return hs_fault_real->C_OpenSession(slot, flags, app, notify, out);
}

static CK_RV hs_fault_get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR out)
{
    CK_RV rv = hs_fault_enter(HS_FAULT_FN_GET_TOKEN_INFO, CK_INVALID_HANDLE);
    if (rv != CKR_OK) {
        return rv;
    }
    return hs_fault_real->C_GetTokenInfo(slot, out);
}

static CK_RV hs_fault_get_session_info(CK_SESSION_HANDLE h, CK_SESSION_INFO_PTR out)
{
    CK_RV rv = hs_fault_enter(HS_FAULT_FN_GET_SESSION_INFO, h);
    if (rv != CKR_OK) {
        return rv;
    }
    return hs_fault_real->C_GetSessionInfo(h, out);
}

static CK_RV hs_fault_login(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin,
                            CK_ULONG pin_len)
{
    CK_RV rv = hs_fault_enter(HS_FAULT_FN_LOGIN, h);
    if (rv != CKR_OK) {
        return rv;
    }
    return hs_fault_real->C_Login(h, user, pin, pin_len);
}

static CK_RV hs_fault_find_objects_init(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
    CK_RV rv = hs_fault_enter(HS_FAULT_FN_FIND_OBJECTS_INIT, h);
    if (rv != CKR_OK) {
        return rv;
    }
    return hs_fault_real->C_FindObjectsInit(h, tmpl, n);
}

static CK_RV hs_fault_find_objects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR out, CK_ULONG max,
                                   CK_ULONG_PTR out_count)
{
    CK_RV rv = hs_fault_enter(HS_FAULT_FN_FIND_OBJECTS, h);
    if (rv != CKR_OK) {
        return rv;
    }
    return hs_fault_real->C_FindObjects(h, out, max, out_count);
}

static CK_RV hs_fault_find_objects_final(CK_SESSION_HANDLE h)
{
    CK_RV rv = hs_fault_enter(HS_FAULT_FN_FIND_OBJECTS_FINAL, h);
    if (rv != CKR_OK) {
        /* The search ends even when Final fails. */
        (void)hs_fault_real->C_FindObjectsFinal(h);
        return rv;
    }
    return hs_fault_real->C_FindObjectsFinal(h);
}

static CK_RV hs_fault_sign_init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)
{
    CK_RV rv = hs_fault_enter(HS_FAULT_FN_SIGN_INIT, h);
    if (rv != CKR_OK) {
        return rv;
    }
    return hs_fault_real->C_SignInit(h, mech, key);
}

static CK_RV hs_fault_sign(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
                           CK_ULONG_PTR sig_len)
{
    struct hs_fault_hit hit = hs_fault_decide(HS_FAULT_FN_SIGN);
    CK_RV rv = hs_fault_act(hit, h);
    if (rv != CKR_OK) {
        hs_fault_end_sign(h, data, len);
        return rv;
    }
    rv = hs_fault_real->C_Sign(h, data, len, sig, sig_len);
    if (hit.fired && hit.action == HS_FAULT_GARBLE && rv == CKR_OK && sig != NULL && *sig_len > 0) {
        /* A token that signs wrongly (a fault in the HSM): the caller must catch it. */
        sig[*sig_len / 2] ^= 0x01;
    }
    return rv;
}

static CK_RV hs_fault_generate_key_pair(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
                                        CK_ATTRIBUTE_PTR pub, CK_ULONG npub, CK_ATTRIBUTE_PTR priv,
                                        CK_ULONG npriv, CK_OBJECT_HANDLE_PTR out_pub,
                                        CK_OBJECT_HANDLE_PTR out_priv)
{
    CK_RV rv = hs_fault_enter(HS_FAULT_FN_GENERATE_KEY_PAIR, h);
    if (rv != CKR_OK) {
        return rv;
    }
    return hs_fault_real->C_GenerateKeyPair(h, mech, pub, npub, priv, npriv, out_pub, out_priv);
}

static CK_RV hs_fault_get_attribute_value(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
                                          CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
    CK_RV rv = hs_fault_enter(HS_FAULT_FN_GET_ATTRIBUTE_VALUE, h);
    if (rv != CKR_OK) {
        return rv;
    }
    return hs_fault_real->C_GetAttributeValue(h, obj, tmpl, n);
}

/* --- loading ------------------------------------------------------------------------------- */

/* --- hidden mechanisms -------------------------------------------------------------------- */

#define HS_FAULT_HIDE_MAX 16

static pthread_mutex_t hs_fault_hide_lock = PTHREAD_MUTEX_INITIALIZER;
static CK_MECHANISM_TYPE hs_fault_hidden[HS_FAULT_HIDE_MAX];
static size_t hs_fault_nhidden;

struct hs_fault_mech_name {
    const char *name;
    CK_MECHANISM_TYPE type;
};

static const struct hs_fault_mech_name hs_fault_mech_names[] = {
    {"CKM_RSA_PKCS_KEY_PAIR_GEN", CKM_RSA_PKCS_KEY_PAIR_GEN},
    {"CKM_SHA256_RSA_PKCS", CKM_SHA256_RSA_PKCS},
    {"CKM_SHA384_RSA_PKCS", CKM_SHA384_RSA_PKCS},
    {"CKM_SHA512_RSA_PKCS", CKM_SHA512_RSA_PKCS},
    {"CKM_SHA256_RSA_PKCS_PSS", CKM_SHA256_RSA_PKCS_PSS},
    {"CKM_SHA384_RSA_PKCS_PSS", CKM_SHA384_RSA_PKCS_PSS},
    {"CKM_EC_KEY_PAIR_GEN", CKM_EC_KEY_PAIR_GEN},
    {"CKM_ECDSA", CKM_ECDSA},
    {"CKM_EC_EDWARDS_KEY_PAIR_GEN", CKM_EC_EDWARDS_KEY_PAIR_GEN},
    {"CKM_EDDSA", CKM_EDDSA},
};

static bool hs_fault_mech_lookup(const char *name, size_t len, CK_MECHANISM_TYPE *out)
{
    for (size_t i = 0; i < sizeof(hs_fault_mech_names) / sizeof(hs_fault_mech_names[0]); i++) {
        if (strlen(hs_fault_mech_names[i].name) == len &&
            strncmp(hs_fault_mech_names[i].name, name, len) == 0) {
            *out = hs_fault_mech_names[i].type;
            return true;
        }
    }
    return false;
}

static bool hs_fault_hide_apply(const char *list)
{
    CK_MECHANISM_TYPE parsed[HS_FAULT_HIDE_MAX] = {0};
    size_t n = 0;
    for (const char *p = list; p != NULL && *p != '\0';) {
        size_t len = strcspn(p, ",");
        if (len > 0 && (n >= HS_FAULT_HIDE_MAX || !hs_fault_mech_lookup(p, len, &parsed[n++]))) {
            return false;
        }
        p += len;
        p += *p == ',' ? 1 : 0;
    }
    pthread_mutex_lock(&hs_fault_hide_lock);
    memcpy(hs_fault_hidden, parsed, n * sizeof(parsed[0]));
    hs_fault_nhidden = n;
    pthread_mutex_unlock(&hs_fault_hide_lock);
    return true;
}

static bool hs_fault_is_hidden(CK_MECHANISM_TYPE type)
{
    bool hidden = false;
    pthread_mutex_lock(&hs_fault_hide_lock);
    for (size_t i = 0; i < hs_fault_nhidden; i++) {
        hidden = hidden || hs_fault_hidden[i] == type;
    }
    pthread_mutex_unlock(&hs_fault_hide_lock);
    return hidden;
}

/* The real list without the hidden mechanisms; the size query answers the filtered count. */
static CK_RV hs_fault_get_mechanism_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list,
                                         CK_ULONG_PTR count)
{
    CK_ULONG n = 0;
    CK_RV rv = hs_fault_real->C_GetMechanismList(slot, NULL, &n);
    CK_MECHANISM_TYPE *all = rv == CKR_OK ? calloc(n + 1, sizeof(*all)) : NULL;
    if (rv == CKR_OK && all == NULL) {
        rv = CKR_HOST_MEMORY;
    }
    rv = rv == CKR_OK ? hs_fault_real->C_GetMechanismList(slot, all, &n) : rv;
    CK_ULONG kept = 0;
    for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++) {
        if (!hs_fault_is_hidden(all[i])) {
            all[kept++] = all[i];
        }
    }
    if (rv == CKR_OK && list != NULL && *count < kept) {
        rv = CKR_BUFFER_TOO_SMALL;
    } else if (rv == CKR_OK && list != NULL) {
        memcpy(list, all, kept * sizeof(*all));
    }
    if (rv == CKR_OK || rv == CKR_BUFFER_TOO_SMALL) {
        *count = kept;
    }
    free(all);
    return rv;
}

static CK_RV hs_fault_get_mechanism_info(CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
                                         CK_MECHANISM_INFO_PTR info)
{
    if (hs_fault_is_hidden(type)) {
        return CKR_MECHANISM_INVALID;
    }
    return hs_fault_real->C_GetMechanismInfo(slot, type, info);
}

/* Runs once: applies $HSMSIGN_FAULT, loads the real module and builds the function list. */
static void hs_fault_load(void)
{
    if (!hs_fault_apply(getenv(HS_FAULT_SPEC_ENV))) {
        fprintf(stderr, "p11_fault: bad rules in $%s\n", HS_FAULT_SPEC_ENV);
        hs_fault_load_rv = CKR_ARGUMENTS_BAD;
        return;
    }
    const char *path = getenv(HS_FAULT_MODULE_ENV);
    if (path == NULL || path[0] == '\0') {
        path = HS_FAULT_DEFAULT_MODULE;
    }
    hs_fault_dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (hs_fault_dl == NULL) {
        fprintf(stderr, "p11_fault: cannot load %s: %s\n", path, dlerror());
        return;
    }
    CK_C_GetFunctionList get_list = NULL;
    /* POSIX: the object pointer returned by dlsym converts to a function pointer. */
    *(void **)(&get_list) = dlsym(hs_fault_dl, "C_GetFunctionList");
    CK_FUNCTION_LIST *real = NULL;
    /* Our own C_GetFunctionList (the module pointed at itself) would recurse. */
    if (get_list == NULL || get_list == C_GetFunctionList || get_list(&real) != CKR_OK ||
        real == NULL) {
        fprintf(stderr, "p11_fault: %s has no usable C_GetFunctionList\n", path);
        return;
    }
    hs_fault_real = real;
    hs_fault_list = *real;
    hs_fault_list.C_OpenSession = hs_fault_open_session;
    hs_fault_list.C_GetTokenInfo = hs_fault_get_token_info;
    hs_fault_list.C_GetSessionInfo = hs_fault_get_session_info;
    hs_fault_list.C_Login = hs_fault_login;
    hs_fault_list.C_FindObjectsInit = hs_fault_find_objects_init;
    hs_fault_list.C_FindObjects = hs_fault_find_objects;
    hs_fault_list.C_FindObjectsFinal = hs_fault_find_objects_final;
    hs_fault_list.C_SignInit = hs_fault_sign_init;
    hs_fault_list.C_Sign = hs_fault_sign;
    hs_fault_list.C_GenerateKeyPair = hs_fault_generate_key_pair;
    hs_fault_list.C_GetAttributeValue = hs_fault_get_attribute_value;
    hs_fault_list.C_GetMechanismList = hs_fault_get_mechanism_list;
    hs_fault_list.C_GetMechanismInfo = hs_fault_get_mechanism_info;
    if (!hs_fault_hide_apply(getenv(HS_FAULT_HIDE_ENV))) {
        fprintf(stderr, "p11_fault: bad mechanism list in $%s\n", HS_FAULT_HIDE_ENV);
        hs_fault_load_rv = CKR_ARGUMENTS_BAD;
        return;
    }
    hs_fault_load_rv = CKR_OK;
}

/* Unloads the real module with this one (after the caller's C_Finalize). */
__attribute__((destructor)) static void hs_fault_unload(void)
{
    if (hs_fault_dl != NULL) {
        dlclose(hs_fault_dl);
        hs_fault_dl = NULL;
    }
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
    if (out == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    pthread_once(&hs_fault_once, hs_fault_load);
    if (hs_fault_load_rv != CKR_OK) {
        return hs_fault_load_rv;
    }
    *out = &hs_fault_list;
    return CKR_OK;
}

/* --- control ------------------------------------------------------------------------------- */

int hs_fault_configure(const char *spec)
{
    /* The rules of $HSMSIGN_FAULT come first, so that these replace them. */
    pthread_once(&hs_fault_once, hs_fault_load);
    return hs_fault_apply(spec) ? 0 : -1;
}

int hs_fault_hide(const char *list)
{
    pthread_once(&hs_fault_once, hs_fault_load);
    return hs_fault_hide_apply(list) ? 0 : -1;
}

unsigned long hs_fault_injected(void)
{
    return atomic_load(&hs_fault_injections);
}

unsigned long hs_fault_calls(const char *func)
{
    if (func == NULL) {
        return 0;
    }
    bool all = strcmp(func, "*") == 0;
    unsigned long total = 0;
    for (size_t i = 0; i < HS_FAULT_FN_COUNT; i++) {
        if (all || strcmp(func, hs_fault_fns[i].name) == 0) {
            total += atomic_load(&hs_fault_counts[i]);
        }
    }
    return total;
}
