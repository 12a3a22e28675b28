/*
 * p11_sched: weighted fair admission of token operations into a fixed number of in-flight slots.
 *
 * Every operation belongs to a class (a small number, 0 .. nclasses-1; the service names them,
 * service/svc_sched.h). A slot is one operation on the token; the pool gives the scheduler as
 * many slots as it has sessions. The policy:
 *   - work-conserving: while a slot is free an operation of any class is admitted at once, so
 *     one class alone may use every slot;
 *   - when every slot is busy, callers queue per class (FIFO within a class). Each freed slot
 *     goes to the waiting class with the smallest in_flight / weight (ties: the lower class
 *     number), so under saturation each backlogged class holds at least about its share
 *     weight / (sum of the backlogged classes' weights) of the slots, and a flood of one class
 *     cannot starve another (weighted fair sharing of in-flight slots);
 *   - a class whose queue already holds max_queue new callers is refused at once (throttled
 *     operations waiting to re-enter keep their places and are not counted), and a caller not
 *     admitted within queue_timeout_ms gives up: both fail with HS_ERR_HSM_OVERLOADED, which the
 *     API answers 503 with Retry-After, instead of queueing without bound.
 *   - the slots in use are bounded by an adaptive limit (AIMD, as TCP congestion avoidance,
 *     RFC 5681 §3.1) between P11_SCHED_LIMIT_MIN and the slots: an operation the token
 *     answered with throttling (p11_sched_leave with P11_SCHED_OUTCOME_THROTTLED) multiplies
 *     it by P11_SCHED_LIMIT_DECREASE, at most once per round of operations (answers of
 *     operations admitted before the last decrease do not count again), and each success adds
 *     1 / limit, paced to at most one slot per growth_ms (25 ms): against a 2 ms round trip,
 *     TCP's one slot per round of successes would probe the HSM's cap every few ms, and each
 *     probe throttles someone, a certificate as often as a token. Against a rate-limited HSM (CloudHSM) the queue then forms here, where the
 *     shares apply, rather than at the HSM, which refuses whoever arrives. A throttled
 *     operation re-enters (p11_sched_retry) at the head of its class's queue: first in its
 *     class, but its class still waits for its share like any other; re-entries are not
 *     counted again as admissions;
 * Waiting is a condition variable per waiter (no busy waiting); everything is guarded by one
 * mutex. tests/unit/p11_sched_test.c checks the policy with threads and no token.
 */
#ifndef P11_SCHED_H
#define P11_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hs_err.h"

#define P11_SCHED_CLASSES_MAX 8
#define P11_SCHED_WEIGHT_MAX 1000
#define P11_SCHED_QUEUE_MAX 4096        /* callers waiting per class */
#define P11_SCHED_TIMEOUT_MAX_MS 60000U /* longest queue_timeout_ms */
#define P11_SCHED_DEFAULT_QUEUE 64      /* per class, when max_queue is 0 */
#define P11_SCHED_DEFAULT_TIMEOUT_MS 2000U
#define P11_SCHED_LIMIT_MIN 1U          /* the adaptive limit never goes below this */
#define P11_SCHED_LIMIT_DECREASE 0.7    /* factor applied to the limit on throttling */
#define P11_SCHED_DEFAULT_GROWTH_MS 25U /* measured: see docs/capacity.md */
#define P11_SCHED_GROWTH_MAX_MS 10000U
#define P11_SCHED_GROWTH_UNPACED UINT32_MAX

struct p11_sched_config {
    size_t nclasses;                             /* 1..P11_SCHED_CLASSES_MAX; 0 = one class */
    unsigned int weights[P11_SCHED_CLASSES_MAX]; /* 1..P11_SCHED_WEIGHT_MAX each */
    unsigned int default_class; /* class of a thread that set none (p11_sched_class_swap) */
    size_t max_queue; /* waiting new callers per class (not retries); 0 = P11_SCHED_DEFAULT_QUEUE */
    unsigned int queue_timeout_ms; /* longest wait for a slot, ms; 0 = the default (2000) */
    /* After throttling, the limit grows back by 1 / limit per success but by at most one slot
     * per this many ms (0 = P11_SCHED_DEFAULT_GROWTH_MS): how often it probes the HSM's rate,
     * and so how often some operation is throttled at the HSM's cap. P11_SCHED_GROWTH_UNPACED:
     * by every success at once (TCP's congestion avoidance as is; the unit tests). */
    unsigned int growth_ms;
};

/* Counters of one class, for /metrics and tests. */
struct p11_sched_stats {
    size_t in_flight;   /* admitted and not yet released */
    size_t queued;      /* waiting now */
    uint64_t admitted;  /* admissions, immediate or after a wait */
    uint64_t waited;    /* admissions that had to wait */
    uint64_t wait_us;   /* total time admitted callers waited, microseconds */
    uint64_t rejected;  /* refused: queue full */
    uint64_t timeouts;  /* gave up: not admitted within queue_timeout_ms */
    uint64_t throttled; /* token throttling answers met by this class's operations */
    /* The most admissions of other classes that one waiter of this class saw go ahead of it
     * while it waited: 0 for a class that only ever waited below its share (the policy hands
     * it the next slot); FIFO across classes would let every earlier waiter pass. */
    uint64_t bypassed_max;
};

struct p11_sched;

/* Creates a scheduler of slots (1..P11_SCHED_QUEUE_MAX) in-flight slots. cfg is copied.
 * Errors: HS_ERR_INPUT_CONFIG (bad counts or weights), HS_ERR_NOMEM. The caller frees *out with
 * p11_sched_free(). */
HS_RESULT p11_sched_new(const struct p11_sched_config *cfg, size_t slots, struct p11_sched **out);

/* Releases the scheduler (NULL accepted). No caller may be admitted or waiting. */
void p11_sched_free(struct p11_sched *s);
void p11_sched_freep(struct p11_sched **s);

/* Takes a slot for class cls (a class out of range counts as the default class), waiting as the
 * policy above says. Errors: HS_ERR_HSM_OVERLOADED (queue full or waited queue_timeout_ms). On
 * success the caller must call p11_sched_release() with the same class exactly once. */
HS_RESULT p11_sched_admit(struct p11_sched *s, unsigned int cls);

/* Gives back a slot of class cls and hands it to the next waiter the policy picks. */
void p11_sched_release(struct p11_sched *s, unsigned int cls);

/* In a forked child: forgets the slots and waiters of the parent's threads, which do not exist
 * here and would never release them (counters are kept). Call before any other use in the
 * child, from one thread. */
void p11_sched_after_fork(struct p11_sched *s);

/* One admitted operation: its class (resolved) and the limit's epoch when it was admitted. */
struct p11_sched_ticket {
    unsigned int cls;
    uint64_t epoch;
};

/* How an admitted operation ended, for the adaptive limit. */
enum p11_sched_outcome {
    P11_SCHED_OUTCOME_NONE,      /* says nothing about the token's capacity (other failures) */
    P11_SCHED_OUTCOME_OK,        /* the token did it: limit += 1 / limit */
    P11_SCHED_OUTCOME_THROTTLED, /* the token refused for capacity: limit *= 0.7 (once a round) */
};

/* Like p11_sched_admit, filling *t for p11_sched_leave or p11_sched_retry. Errors:
 * HS_ERR_HSM_OVERLOADED (queue full, or waited queue_timeout_ms). On success the caller must
 * end with p11_sched_leave(t) exactly once (after any number of successful p11_sched_retry). */
HS_RESULT p11_sched_enter(struct p11_sched *s, unsigned int cls, struct p11_sched_ticket *t);

/* The token throttled ticket t's operation: in one step, gives its slot back as
 * P11_SCHED_OUTCOME_THROTTLED (the limit goes down, the slot goes to the next waiter) and
 * queues the operation again at the head of its class (never refused for a full queue; its
 * class is picked by the shares like any other, so it does not jump other classes). There it
 * rests rest_ms milliseconds (a backoff, at most P11_SCHED_TIMEOUT_MAX_MS, holding its place:
 * its class's later callers stay behind it), then waits up to queue_timeout_ms for a slot.
 * On success *t is admitted again (same class, new epoch). Errors: HS_ERR_HSM_OVERLOADED
 * (waited queue_timeout_ms; the slot is no longer held), HS_ERR_INTERNAL (bad ticket). */
HS_RESULT p11_sched_retry(struct p11_sched *s, struct p11_sched_ticket *t, unsigned int rest_ms);

/* Gives back ticket t's slot, moves the limit by outcome (a throttling answer is also counted
 * in the class's throttled counter), and hands free slots to the next waiters. */
void p11_sched_leave(struct p11_sched *s, const struct p11_sched_ticket *t,
                     enum p11_sched_outcome outcome);

/* The adaptive in-flight limit now (P11_SCHED_LIMIT_MIN..slots; its whole part is the number
 * of operations admitted at once), for /metrics and tests. 0 for NULL. */
double p11_sched_limit(struct p11_sched *s);

/* The class the calling thread's token operations belong to, as the scheduler resolves it. */
unsigned int p11_sched_class_of(const struct p11_sched *s);

/* Sets the calling thread's class (thread-local, read by p11_pool_run) and returns the previous
 * value, to be restored with another call when the operation ends. P11_SCHED_CLASS_UNSET
 * means "the scheduler's default class". */
#define P11_SCHED_CLASS_UNSET 0xffffffffU
unsigned int p11_sched_class_swap(unsigned int cls);

/* Copies class cls's counters (zeros for a class out of range). */
void p11_sched_get_stats(struct p11_sched *s, unsigned int cls, struct p11_sched_stats *out);

/* Number of classes and slots. */
size_t p11_sched_classes(const struct p11_sched *s);
size_t p11_sched_slots(const struct p11_sched *s);

#endif /* P11_SCHED_H */
