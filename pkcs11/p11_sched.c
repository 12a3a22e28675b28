#include "pkcs11/p11_sched.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/hs_defer.h"

/* A caller waiting for a slot, linked into its class's FIFO while it waits. */
struct p11_sched_waiter {
    struct p11_sched_waiter *next;
    uint64_t seq;    /* arrival order, for ties between classes */
    uint64_t all_at; /* the scheduler's admissions when it queued */
    uint64_t own_at; /* its class's admissions when it queued */
    pthread_cond_t cond;
    bool admitted;
};

struct p11_sched_class {
    unsigned int weight;
    struct p11_sched_waiter *head; /* FIFO of waiters */
    struct p11_sched_waiter *tail;
    struct p11_sched_stats stats;
};

struct p11_sched {
    pthread_mutex_t lock; /* guards everything below */
    size_t slots;
    size_t in_flight;
    uint64_t seq;        /* arrivals that queued */
    uint64_t admissions; /* of every class */
    size_t nclasses;
    unsigned int default_class;
    size_t max_queue;
    unsigned int timeout_ms;
    struct p11_sched_class classes[P11_SCHED_CLASSES_MAX];
};

static _Thread_local unsigned int p11_sched_thread_class = P11_SCHED_CLASS_UNSET;

unsigned int p11_sched_class_swap(unsigned int cls)
{
    unsigned int prev = p11_sched_thread_class;
    p11_sched_thread_class = cls;
    return prev;
}

unsigned int p11_sched_class_of(const struct p11_sched *s)
{
    unsigned int cls = p11_sched_thread_class;
    return cls < s->nclasses ? cls : s->default_class;
}

static uint64_t p11_sched_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000U + (uint64_t)ts.tv_nsec / 1000U;
}

static HS_RESULT p11_sched_config_check(const struct p11_sched_config *cfg, size_t slots)
{
    HS_ENSURE_MSG(slots >= 1 && slots <= P11_SCHED_QUEUE_MAX, HS_ERR_INPUT_CONFIG,
                  "scheduler slots must be 1..%d", P11_SCHED_QUEUE_MAX);
    HS_ENSURE_MSG(cfg->nclasses <= P11_SCHED_CLASSES_MAX, HS_ERR_INPUT_CONFIG,
                  "at most %d scheduler classes", P11_SCHED_CLASSES_MAX);
    HS_ENSURE_MSG(cfg->max_queue <= P11_SCHED_QUEUE_MAX, HS_ERR_INPUT_CONFIG,
                  "scheduler max_queue must be at most %d", P11_SCHED_QUEUE_MAX);
    HS_ENSURE_MSG(cfg->queue_timeout_ms <= P11_SCHED_TIMEOUT_MAX_MS, HS_ERR_INPUT_CONFIG,
                  "scheduler queue_timeout_ms must be at most %u", P11_SCHED_TIMEOUT_MAX_MS);
    for (size_t i = 0; i < cfg->nclasses; i++) {
        HS_ENSURE_MSG(cfg->weights[i] >= 1 && cfg->weights[i] <= P11_SCHED_WEIGHT_MAX,
                      HS_ERR_INPUT_CONFIG, "scheduler weight of class %zu must be 1..%d", i,
                      P11_SCHED_WEIGHT_MAX);
    }
    return HS_OK;
}

HS_RESULT p11_sched_new(const struct p11_sched_config *cfg, size_t slots, struct p11_sched **out)
{
    HS_ENSURE_REF(cfg);
    HS_ENSURE_REF(out);
    HS_GUARD(p11_sched_config_check(cfg, slots));
    struct p11_sched *s = OPENSSL_zalloc(sizeof(*s));
    HS_ENSURE(s != NULL, HS_ERR_NOMEM);
    pthread_mutex_init(&s->lock, NULL);
    s->slots = slots;
    s->nclasses = cfg->nclasses != 0 ? cfg->nclasses : 1;
    for (size_t i = 0; i < s->nclasses; i++) {
        s->classes[i].weight = cfg->nclasses != 0 ? cfg->weights[i] : 1;
    }
    s->default_class = cfg->default_class < s->nclasses ? cfg->default_class : 0;
    s->max_queue = cfg->max_queue != 0 ? cfg->max_queue : P11_SCHED_DEFAULT_QUEUE;
    s->timeout_ms =
        cfg->queue_timeout_ms != 0 ? cfg->queue_timeout_ms : P11_SCHED_DEFAULT_TIMEOUT_MS;
    *out = s;
    return HS_OK;
}

void p11_sched_free(struct p11_sched *s)
{
    if (s == NULL) {
        return;
    }
    pthread_mutex_destroy(&s->lock);
    OPENSSL_free(s);
}

void p11_sched_freep(struct p11_sched **s)
{
    p11_sched_free(*s);
}

static unsigned int p11_sched_resolve(const struct p11_sched *s, unsigned int cls)
{
    return cls < s->nclasses ? cls : s->default_class;
}

/* With the lock held: the waiting class with the smallest in_flight / weight, compared as
 * in_flight_a * weight_b < in_flight_b * weight_a (no division, exact); of equals, the one whose
 * first waiter came first. -1 when none waits. */
static int p11_sched_pick_locked(const struct p11_sched *s)
{
    int best = -1;
    for (size_t i = 0; i < s->nclasses; i++) {
        const struct p11_sched_class *c = &s->classes[i];
        if (c->head == NULL) {
            continue;
        }
        if (best < 0) {
            best = (int)i;
            continue;
        }
        const struct p11_sched_class *b = &s->classes[best];
        uint64_t lc = (uint64_t)c->stats.in_flight * b->weight;
        uint64_t lb = (uint64_t)b->stats.in_flight * c->weight;
        if (lc < lb || (lc == lb && c->head->seq < b->head->seq)) {
            best = (int)i;
        }
    }
    return best;
}

/* With the lock held: fills free slots with waiters, in the policy's order. */
static void p11_sched_dispatch_locked(struct p11_sched *s)
{
    while (s->in_flight < s->slots) {
        int i = p11_sched_pick_locked(s);
        if (i < 0) {
            return;
        }
        struct p11_sched_class *c = &s->classes[i];
        struct p11_sched_waiter *w = c->head;
        c->head = w->next;
        if (c->head == NULL) {
            c->tail = NULL;
        }
        uint64_t bypassed = (s->admissions - w->all_at) - (c->stats.admitted - w->own_at);
        c->stats.bypassed_max = bypassed > c->stats.bypassed_max ? bypassed : c->stats.bypassed_max;
        c->stats.queued--;
        c->stats.in_flight++;
        c->stats.admitted++;
        c->stats.waited++;
        s->admissions++;
        s->in_flight++;
        w->admitted = true;
        pthread_cond_signal(&w->cond);
    }
}

/* With the lock held: takes waiter w (not admitted) out of class c's FIFO. */
static void p11_sched_unlink_locked(struct p11_sched_class *c, const struct p11_sched_waiter *w)
{
    struct p11_sched_waiter *prev = NULL;
    for (struct p11_sched_waiter *it = c->head; it != NULL; prev = it, it = it->next) {
        if (it != w) {
            continue;
        }
        if (prev == NULL) {
            c->head = it->next;
        } else {
            prev->next = it->next;
        }
        if (c->tail == it) {
            c->tail = prev;
        }
        c->stats.queued--;
        return;
    }
}

static struct timespec p11_sched_deadline(unsigned int ms)
{
    struct timespec d;
    clock_gettime(CLOCK_MONOTONIC, &d);
    d.tv_sec += ms / 1000;
    d.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (d.tv_nsec >= 1000000000L) {
        d.tv_sec++;
        d.tv_nsec -= 1000000000L;
    }
    return d;
}

/* A waiter of class c, numbered in arrival order (NULL when out of memory). */
static struct p11_sched_waiter *p11_sched_waiter_new(struct p11_sched *s,
                                                     const struct p11_sched_class *c)
{
    struct p11_sched_waiter *w = OPENSSL_zalloc(sizeof(*w));
    if (w == NULL) {
        return NULL;
    }
    w->seq = s->seq++;
    w->all_at = s->admissions;
    w->own_at = c->stats.admitted;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);
    return w;
}

static void p11_sched_waiter_freep(struct p11_sched_waiter **w)
{
    if (*w != NULL) {
        pthread_cond_destroy(&(*w)->cond);
        OPENSSL_free(*w);
    }
}

/* With the lock held: queues the caller and waits for a slot until the deadline. The waiter
 * is off the queue on every return (admitted by dispatch, or unlinked here). */
static HS_RESULT p11_sched_wait_locked(struct p11_sched *s, struct p11_sched_class *c)
{
    HS_DEFER(struct p11_sched_waiter *w = p11_sched_waiter_new(s, c), p11_sched_waiter_freep);
    HS_ENSURE(w != NULL, HS_ERR_NOMEM);
    if (c->tail != NULL) {
        c->tail->next = w;
    } else {
        c->head = w;
    }
    c->tail = w;
    c->stats.queued++;
    uint64_t t0 = p11_sched_now_us();
    struct timespec deadline = p11_sched_deadline(s->timeout_ms);
    while (!w->admitted) {
        if (pthread_cond_timedwait(&w->cond, &s->lock, &deadline) == ETIMEDOUT && !w->admitted) {
            break;
        }
    }
    if (!w->admitted) {
        p11_sched_unlink_locked(c, w);
        c->stats.timeouts++;
        HS_BAIL_MSG(HS_ERR_HSM_OVERLOADED, "no token slot within %u ms", s->timeout_ms);
    }
    c->stats.wait_us += p11_sched_now_us() - t0;
    return HS_OK;
}

static HS_RESULT p11_sched_admit_locked(struct p11_sched *s, struct p11_sched_class *c)
{
    if (s->in_flight < s->slots) {
        /* A free slot means nobody waits (dispatch fills slots before anyone queues). */
        s->in_flight++;
        c->stats.in_flight++;
        c->stats.admitted++;
        s->admissions++;
        return HS_OK;
    }
    if (c->stats.queued >= s->max_queue) {
        c->stats.rejected++;
        HS_BAIL_MSG(HS_ERR_HSM_OVERLOADED, "%zu callers of this class already wait for the token",
                    c->stats.queued);
    }
    return p11_sched_wait_locked(s, c);
}

HS_RESULT p11_sched_admit(struct p11_sched *s, unsigned int cls)
{
    HS_ENSURE_REF(s);
    struct p11_sched_class *c = &s->classes[p11_sched_resolve(s, cls)];
    pthread_mutex_lock(&s->lock);
    hs_result r = p11_sched_admit_locked(s, c);
    pthread_mutex_unlock(&s->lock);
    return r;
}

void p11_sched_release(struct p11_sched *s, unsigned int cls)
{
    if (s == NULL) {
        return;
    }
    struct p11_sched_class *c = &s->classes[p11_sched_resolve(s, cls)];
    pthread_mutex_lock(&s->lock);
    if (c->stats.in_flight > 0 && s->in_flight > 0) {
        c->stats.in_flight--;
        s->in_flight--;
    }
    p11_sched_dispatch_locked(s);
    pthread_mutex_unlock(&s->lock);
}

void p11_sched_after_fork(struct p11_sched *s)
{
    if (s == NULL) {
        return;
    }
    /* The mutex may have been held by a thread that is not in the child: a fresh one. */
    pthread_mutex_init(&s->lock, NULL);
    s->in_flight = 0;
    for (size_t i = 0; i < s->nclasses; i++) {
        s->classes[i].head = NULL;
        s->classes[i].tail = NULL;
        s->classes[i].stats.in_flight = 0;
        s->classes[i].stats.queued = 0;
    }
}

void p11_sched_note_throttle(struct p11_sched *s, unsigned int cls)
{
    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&s->lock);
    s->classes[p11_sched_resolve(s, cls)].stats.throttled++;
    pthread_mutex_unlock(&s->lock);
}

void p11_sched_get_stats(struct p11_sched *s, unsigned int cls, struct p11_sched_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (s == NULL || cls >= s->nclasses) {
        return;
    }
    pthread_mutex_lock(&s->lock);
    *out = s->classes[cls].stats;
    pthread_mutex_unlock(&s->lock);
}

size_t p11_sched_classes(const struct p11_sched *s)
{
    return s->nclasses;
}

size_t p11_sched_slots(const struct p11_sched *s)
{
    return s->slots;
}
