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
    uint64_t epoch;  /* the limit's epoch when it was admitted */
    pthread_cond_t cond;
    bool admitted;
    bool retry;   /* re-entry of a throttled operation: not a new admission in the counters */
    bool resting; /* a retry in its backoff: holds its place, not yet eligible */
};

struct p11_sched_class {
    unsigned int weight;
    struct p11_sched_waiter *head; /* FIFO of waiters */
    struct p11_sched_waiter *tail;
    uint64_t entries; /* admissions including retries, for bypassed_max */
    size_t retries;   /* of stats.queued: throttled operations waiting to re-enter */
    struct p11_sched_stats stats;
};

struct p11_sched {
    pthread_mutex_t lock; /* guards everything below */
    size_t slots;
    size_t in_flight;
    double limit;           /* adaptive in-flight limit, P11_SCHED_LIMIT_MIN..slots (AIMD) */
    unsigned int growth_ms; /* pacing of the limit's growth; P11_SCHED_GROWTH_UNPACED: none */
    uint64_t grown_at_us;   /* when the limit last went up or down */
    uint64_t epoch;         /* decreases of the limit so far; an admission remembers it */
    uint64_t seq;           /* arrivals that queued */
    uint64_t admissions;    /* of every class */
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
    HS_ENSURE_MSG(
        cfg->growth_ms <= P11_SCHED_GROWTH_MAX_MS || cfg->growth_ms == P11_SCHED_GROWTH_UNPACED,
        HS_ERR_INPUT_CONFIG, "scheduler growth_ms must be at most %u", P11_SCHED_GROWTH_MAX_MS);
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
    s->limit = (double)slots;
    s->growth_ms = cfg->growth_ms != 0 ? cfg->growth_ms : P11_SCHED_DEFAULT_GROWTH_MS;
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

/* With the lock held: how many operations may be in flight now (the limit's whole part). */
static size_t p11_sched_cap_locked(const struct p11_sched *s)
{
    size_t cap = (size_t)s->limit;
    cap = cap < P11_SCHED_LIMIT_MIN ? P11_SCHED_LIMIT_MIN : cap;
    return cap < s->slots ? cap : s->slots;
}

/* With the lock held: the waiting class with the smallest in_flight / weight, compared as
 * in_flight_a * weight_b < in_flight_b * weight_a (no division, exact); of equals, the one whose
 * first waiter came first. -1 when none waits. */
static int p11_sched_pick_locked(const struct p11_sched *s)
{
    int best = -1;
    for (size_t i = 0; i < s->nclasses; i++) {
        const struct p11_sched_class *c = &s->classes[i];
        if (c->head == NULL || c->head->resting) {
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
    while (s->in_flight < p11_sched_cap_locked(s)) {
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
        uint64_t bypassed = (s->admissions - w->all_at) - (c->entries - w->own_at);
        c->stats.bypassed_max = bypassed > c->stats.bypassed_max ? bypassed : c->stats.bypassed_max;
        c->stats.queued--;
        c->retries -= w->retry ? 1 : 0;
        c->stats.in_flight++;
        if (!w->retry) {
            c->stats.admitted++;
            c->stats.waited++;
        }
        c->entries++;
        s->admissions++;
        s->in_flight++;
        w->epoch = s->epoch;
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
        c->retries -= it->retry ? 1 : 0;
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
    w->own_at = c->entries;
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

/* With the lock held: queues the caller (at the head of its class's FIFO when it retries an
 * operation the token throttled, else at the tail) and waits for a slot until the deadline.
 * The waiter is off the queue on every return (admitted by dispatch, or unlinked here). */
static HS_RESULT p11_sched_wait_locked(struct p11_sched *s, struct p11_sched_class *c, bool retry,
                                       unsigned int rest_ms, uint64_t *epoch)
{
    HS_DEFER(struct p11_sched_waiter *w = p11_sched_waiter_new(s, c), p11_sched_waiter_freep);
    HS_ENSURE(w != NULL, HS_ERR_NOMEM);
    w->retry = retry;
    w->resting = retry && rest_ms > 0;
    if (retry) {
        /* Back where it was: ahead of its own class, but its class is picked by the shares
         * like any other (a throttled class does not jump ahead of other classes). */
        if (c->head != NULL) {
            w->seq = c->head->seq;
        }
        w->next = c->head;
        c->head = w;
        if (c->tail == NULL) {
            c->tail = w;
        }
    } else if (c->tail != NULL) {
        c->tail->next = w;
        c->tail = w;
    } else {
        c->head = w;
        c->tail = w;
    }
    c->stats.queued++;
    c->retries += retry ? 1 : 0;
    /* The slot a retry gave back goes to whoever the policy picks now: another class, or the
     * retry itself when it does not rest; never a later caller of its class while it rests. */
    p11_sched_dispatch_locked(s);
    if (w->resting) {
        /* The backoff, in its place: no other class waits on it (it is skipped), and its own
         * class's later callers stay behind it. */
        struct timespec ready = p11_sched_deadline(rest_ms);
        while (pthread_cond_timedwait(&w->cond, &s->lock, &ready) != ETIMEDOUT) {
        }
        w->resting = false;
    }
    /* A retry may find a slot free (the limit allows more than run now): dispatch decides. */
    p11_sched_dispatch_locked(s);
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
    if (!retry) {
        c->stats.wait_us += p11_sched_now_us() - t0;
    }
    *epoch = w->epoch;
    return HS_OK;
}

static HS_RESULT p11_sched_admit_locked(struct p11_sched *s, struct p11_sched_class *c,
                                        uint64_t *epoch)
{
    if (s->in_flight < p11_sched_cap_locked(s) && c->head == NULL) {
        /* A free slot means nobody eligible waits (dispatch fills slots before anyone queues);
         * a retry resting its backoff at the head of this class keeps its place. */
        s->in_flight++;
        c->stats.in_flight++;
        c->stats.admitted++;
        c->entries++;
        s->admissions++;
        *epoch = s->epoch;
        return HS_OK;
    }
    /* Retries of throttled operations keep their places and do not count against the bound:
     * whether a newcomer is refused does not hang on whether an earlier operation happens to be
     * in its backoff or at the token at that moment. */
    if (c->stats.queued - c->retries >= s->max_queue) {
        c->stats.rejected++;
        HS_BAIL_MSG(HS_ERR_HSM_OVERLOADED, "%zu callers of this class already wait for the token",
                    c->stats.queued - c->retries);
    }
    return p11_sched_wait_locked(s, c, false, 0, epoch);
}

HS_RESULT p11_sched_enter(struct p11_sched *s, unsigned int cls, struct p11_sched_ticket *t)
{
    HS_ENSURE_REF(s);
    HS_ENSURE_REF(t);
    t->cls = p11_sched_resolve(s, cls);
    struct p11_sched_class *c = &s->classes[t->cls];
    pthread_mutex_lock(&s->lock);
    hs_result r = p11_sched_admit_locked(s, c, &t->epoch);
    pthread_mutex_unlock(&s->lock);
    return r;
}

HS_RESULT p11_sched_admit(struct p11_sched *s, unsigned int cls)
{
    struct p11_sched_ticket t;
    return p11_sched_enter(s, cls, &t);
}

/* With the lock held: moves the limit after an operation admitted in epoch ended with outcome
 * (AIMD, as TCP congestion avoidance, RFC 5681 §3.1): a throttling answer multiplies it by
 * P11_SCHED_LIMIT_DECREASE, at most once per epoch (answers of operations admitted before the
 * last decrease saw the old limit and do not count again: the window is one round of
 * operations, about a round trip); a success adds 1 / limit (about one more per limit's worth
 * of successes); never below P11_SCHED_LIMIT_MIN nor above the slots. */
static void p11_sched_adapt_locked(struct p11_sched *s, enum p11_sched_outcome outcome,
                                   uint64_t epoch)
{
    if (outcome == P11_SCHED_OUTCOME_THROTTLED) {
        if (epoch < s->epoch) {
            return;
        }
        double next = s->limit * P11_SCHED_LIMIT_DECREASE;
        s->limit = next > (double)P11_SCHED_LIMIT_MIN ? next : (double)P11_SCHED_LIMIT_MIN;
        s->epoch++;
        s->grown_at_us = p11_sched_now_us();
    } else if (outcome == P11_SCHED_OUTCOME_OK && s->limit < (double)s->slots) {
        double step = 1.0 / s->limit;
        if (s->growth_ms != P11_SCHED_GROWTH_UNPACED) {
            /* At most one slot per growth_ms: this step waits step x growth_ms after the last. */
            uint64_t now = p11_sched_now_us();
            if ((double)(now - s->grown_at_us) < step * s->growth_ms * 1000.0) {
                return;
            }
            s->grown_at_us = now;
        }
        double next = s->limit + step;
        s->limit = next < (double)s->slots ? next : (double)s->slots;
    }
}

/* With the lock held: gives back ticket t's slot, adapts the limit, fills free slots. */
/* With the lock held: gives t's slot back; dispatch: hand free slots out now (a retry does
 * not: it queues first, so that its own class's later callers cannot take its place). */
static void p11_sched_leave_locked(struct p11_sched *s, const struct p11_sched_ticket *t,
                                   enum p11_sched_outcome outcome, bool dispatch)
{
    struct p11_sched_class *c = &s->classes[t->cls];
    if (c->stats.in_flight > 0 && s->in_flight > 0) {
        c->stats.in_flight--;
        s->in_flight--;
    }
    if (outcome == P11_SCHED_OUTCOME_THROTTLED) {
        c->stats.throttled++;
    }
    p11_sched_adapt_locked(s, outcome, t->epoch);
    if (dispatch) {
        p11_sched_dispatch_locked(s);
    }
}

void p11_sched_leave(struct p11_sched *s, const struct p11_sched_ticket *t,
                     enum p11_sched_outcome outcome)
{
    if (s == NULL || t == NULL || t->cls >= s->nclasses) {
        return;
    }
    pthread_mutex_lock(&s->lock);
    p11_sched_leave_locked(s, t, outcome, true);
    pthread_mutex_unlock(&s->lock);
}

HS_RESULT p11_sched_retry(struct p11_sched *s, struct p11_sched_ticket *t, unsigned int rest_ms)
{
    HS_ENSURE_REF(s);
    HS_ENSURE_REF(t);
    HS_ENSURE(t->cls < s->nclasses, HS_ERR_INTERNAL);
    rest_ms = rest_ms < P11_SCHED_TIMEOUT_MAX_MS ? rest_ms : P11_SCHED_TIMEOUT_MAX_MS;
    pthread_mutex_lock(&s->lock);
    p11_sched_leave_locked(s, t, P11_SCHED_OUTCOME_THROTTLED, false);
    hs_result r = p11_sched_wait_locked(s, &s->classes[t->cls], true, rest_ms, &t->epoch);
    pthread_mutex_unlock(&s->lock);
    return r;
}

void p11_sched_release(struct p11_sched *s, unsigned int cls)
{
    if (s == NULL) {
        return;
    }
    struct p11_sched_ticket t = {p11_sched_resolve(s, cls), 0};
    p11_sched_leave(s, &t, P11_SCHED_OUTCOME_NONE);
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

double p11_sched_limit(struct p11_sched *s)
{
    if (s == NULL) {
        return 0.0;
    }
    pthread_mutex_lock(&s->lock);
    double limit = s->limit;
    pthread_mutex_unlock(&s->lock);
    return limit;
}

size_t p11_sched_slots(const struct p11_sched *s)
{
    return s->slots;
}
