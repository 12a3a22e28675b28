/*
 * p11_sched: the admission policy of pkcs11/p11_sched.h with real threads and no token.
 *
 * Slots are taken and released by hand, so every assertion is on counts and order, never on
 * timing: a freed slot is handed to a waiter inside p11_sched_release(), so the counters are
 * exact as soon as it returns. Waiter threads only admit and record; the test releases their
 * slots for them (p11_sched_release counts slots per class, not per thread).
 */
#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/hs_defer.h"
#include "pkcs11/p11_sched.h"
#include "tests/testlib/hs_test.h"

enum {
    A = 0,
    B = 1,
    C = 2
};

/* --- helpers ------------------------------------------------------------------------------- */

static struct p11_sched *sched_new(size_t slots, size_t nclasses, const unsigned int *weights,
                                   size_t max_queue, unsigned int timeout_ms)
{
    struct p11_sched_config cfg = {.nclasses = nclasses,
                                   .default_class = 0,
                                   .max_queue = max_queue,
                                   .queue_timeout_ms = timeout_ms,
                                   .growth_ms = P11_SCHED_GROWTH_UNPACED};
    for (size_t i = 0; i < nclasses; i++) {
        cfg.weights[i] = weights[i];
    }
    struct p11_sched *s = NULL;
    HS_CHECK_OK(p11_sched_new(&cfg, slots, &s));
    return s;
}

static struct p11_sched_stats stats_of(struct p11_sched *s, unsigned int cls)
{
    struct p11_sched_stats st;
    p11_sched_get_stats(s, cls, &st);
    return st;
}

struct waiter {
    pthread_t thread;
    struct p11_sched *sched;
    unsigned int cls;
    enum hs_code code; /* what p11_sched_admit answered */
};

static void *waiter_main(void *arg)
{
    struct waiter *w = arg;
    hs_result r = p11_sched_admit(w->sched, w->cls);
    w->code = r.code;
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits (at most 10 s) until class cls has n callers queued: the waiter threads are blocked. */
static bool wait_queued(struct p11_sched *s, unsigned int cls, size_t n)
{
    for (int i = 0; i < 10000; i++) {
        if (stats_of(s, cls).queued == n) {
            return true;
        }
        sleep_ms(1);
    }
    return false;
}

static void waiters_start(struct waiter *w, size_t n, struct p11_sched *s, unsigned int cls)
{
    for (size_t i = 0; i < n; i++) {
        w[i] = (struct waiter){.sched = s, .cls = cls, .code = HS_ERR_INTERNAL};
        HS_CHECK(pthread_create(&w[i].thread, NULL, waiter_main, &w[i]) == 0);
    }
}

static void waiters_join(struct waiter *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pthread_join(w[i].thread, NULL);
    }
}

/* --- tests --------------------------------------------------------------------------------- */

HS_TEST(an_idle_scheduler_lets_one_class_take_every_slot)
{
    static const unsigned int w[] = {50, 25, 5};
    HS_DEFER(struct p11_sched *s = sched_new(4, 3, w, 8, 60000), p11_sched_freep);
    if (s == NULL) {
        return;
    }
    /* The smallest share alone is not held to its 5/80: work-conserving. */
    for (int i = 0; i < 4; i++) {
        HS_CHECK_OK(p11_sched_admit(s, C));
    }
    struct p11_sched_stats st = stats_of(s, C);
    HS_CHECK(st.in_flight == 4 && st.admitted == 4 && st.waited == 0 && st.queued == 0);
    for (int i = 0; i < 4; i++) {
        p11_sched_release(s, C);
    }
    HS_CHECK(stats_of(s, C).in_flight == 0);
}

/* A flood of A holds every slot and has many more waiting; a trickle of B arrives. Each freed
 * slot goes to the class furthest below its share, so B is admitted at the first release and
 * keeps its 1 slot of 4 (weights 3:1) while A's queue is far longer. */
HS_TEST(under_saturation_each_class_gets_its_share_in_order)
{
    static const unsigned int w[] = {3, 1};
    HS_DEFER(struct p11_sched *s = sched_new(4, 2, w, 64, 60000), p11_sched_freep);
    if (s == NULL) {
        return;
    }
    for (int i = 0; i < 4; i++) {
        HS_CHECK_OK(p11_sched_admit(s, A));
    }
    struct waiter wa[12];
    struct waiter wb[3];
    waiters_start(wa, 12, s, A);
    HS_CHECK(wait_queued(s, A, 12));
    waiters_start(wb, 3, s, B);
    HS_CHECK(wait_queued(s, B, 3));

    /* Expected owner of each freed slot, computed by hand from in_flight / weight (ties: the
     * lower class). Start A 4, B 0. */
    struct {
        unsigned int release;
        unsigned int expect;
        size_t a_after;
        size_t b_after;
    } steps[] = {
        {A, B, 3, 1},               /* A 3/3 vs B 0/1: B */
        {A, A, 3, 1},               /* A 2/3 vs B 1/1: A */
        {B, B, 3, 1},               /* A 3/3 vs B 0/1: B */
        {A, A, 3, 1},               /* A 2/3 vs B 1/1: A */
        {A, A, 3, 1}, {B, B, 3, 1}, /* B's last waiter */
        {B, A, 4, 0}, /* B has nobody waiting: A may take the slot (work-conserving) */
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        uint64_t a0 = stats_of(s, A).admitted;
        uint64_t b0 = stats_of(s, B).admitted;
        p11_sched_release(s, steps[i].release);
        struct p11_sched_stats sa = stats_of(s, A);
        struct p11_sched_stats sb = stats_of(s, B);
        fprintf(stderr, "  step %zu: release %u -> A in flight %zu (queued %zu), B %zu (%zu)\n", i,
                steps[i].release, sa.in_flight, sa.queued, sb.in_flight, sb.queued);
        HS_CHECK((steps[i].expect == A ? sa.admitted - a0 : sb.admitted - b0) == 1);
        HS_CHECK(sa.in_flight == steps[i].a_after && sb.in_flight == steps[i].b_after);
    }
    HS_CHECK(stats_of(s, B).queued == 0 && stats_of(s, B).waited == 3);
    /* Drain: release every slot until every A waiter got one and gave it back. */
    while (stats_of(s, A).queued > 0 || stats_of(s, A).in_flight > 0) {
        p11_sched_release(s, A);
    }
    waiters_join(wa, 12);
    waiters_join(wb, 3);
    for (size_t i = 0; i < 12; i++) {
        HS_CHECK(wa[i].code == HS_ERR_NONE);
    }
    for (size_t i = 0; i < 3; i++) {
        HS_CHECK(wb[i].code == HS_ERR_NONE);
    }
    HS_CHECK(stats_of(s, A).admitted == 16 && stats_of(s, A).rejected == 0);
}

/* Three backlogged classes with weights 50:25:5 (of 8 slots) converge to their shares: after
 * many releases of whichever class holds most above its share, each holds about weight/80. */
HS_TEST(three_backlogged_classes_hold_their_weights)
{
    static const unsigned int w[] = {50, 25, 5};
    HS_DEFER(struct p11_sched *s = sched_new(16, 3, w, 64, 60000), p11_sched_freep);
    if (s == NULL) {
        return;
    }
    for (int i = 0; i < 16; i++) {
        HS_CHECK_OK(p11_sched_admit(s, C)); /* the smallest class holds everything at first */
    }
    struct waiter wa[20];
    struct waiter wb[20];
    struct waiter wc[4];
    waiters_start(wa, 20, s, A);
    waiters_start(wb, 20, s, B);
    waiters_start(wc, 4, s, C);
    HS_CHECK(wait_queued(s, A, 20) && wait_queued(s, B, 20) && wait_queued(s, C, 4));
    /* Free C's excess slots one by one: each goes to the class furthest below its share. */
    for (int i = 0; i < 15; i++) {
        p11_sched_release(s, C);
    }
    size_t a = stats_of(s, A).in_flight;
    size_t b = stats_of(s, B).in_flight;
    size_t c = stats_of(s, C).in_flight;
    fprintf(stderr, "  16 slots, weights 50:25:5 -> in flight %zu:%zu:%zu\n", a, b, c);
    /* Shares of 16: 10, 5, 1 exactly. */
    HS_CHECK(a == 10 && b == 5 && c == 1 && a + b + c == 16);
    while (stats_of(s, A).queued + stats_of(s, B).queued + stats_of(s, C).queued > 0) {
        p11_sched_release(s, stats_of(s, A).in_flight > 0   ? A
                             : stats_of(s, B).in_flight > 0 ? B
                                                            : C);
    }
    waiters_join(wa, 20);
    waiters_join(wb, 20);
    waiters_join(wc, 4);
    while (stats_of(s, A).in_flight > 0) {
        p11_sched_release(s, A);
    }
    while (stats_of(s, B).in_flight > 0) {
        p11_sched_release(s, B);
    }
    while (stats_of(s, C).in_flight > 0) {
        p11_sched_release(s, C);
    }
    HS_CHECK(stats_of(s, A).admitted == 20 && stats_of(s, B).admitted == 20 &&
             stats_of(s, C).admitted == 20);
}

HS_TEST(a_full_queue_is_refused_at_once_and_changes_nothing)
{
    static const unsigned int w[] = {1, 1};
    HS_DEFER(struct p11_sched *s = sched_new(1, 2, w, 2, 60000), p11_sched_freep);
    if (s == NULL) {
        return;
    }
    HS_CHECK_OK(p11_sched_admit(s, A));
    struct waiter wa[2];
    waiters_start(wa, 2, s, A);
    HS_CHECK(wait_queued(s, A, 2));
    HS_CHECK_ERR(p11_sched_admit(s, A), HS_ERR_HSM_OVERLOADED);
    struct p11_sched_stats st = stats_of(s, A);
    HS_CHECK(st.rejected == 1 && st.queued == 2 && st.in_flight == 1);
    /* The bound is per class: B still queues. Both hold nothing at each release, so the earlier
     * arrival is served first: A's two waiters, then B. */
    struct waiter wb[1];
    waiters_start(wb, 1, s, B);
    HS_CHECK(wait_queued(s, B, 1));
    p11_sched_release(s, A);
    HS_CHECK(stats_of(s, A).in_flight == 1 && stats_of(s, A).queued == 1);
    p11_sched_release(s, A);
    HS_CHECK(stats_of(s, A).in_flight == 1 && stats_of(s, A).queued == 0);
    p11_sched_release(s, A);
    HS_CHECK(stats_of(s, B).in_flight == 1 && stats_of(s, B).queued == 0);
    waiters_join(wa, 2);
    waiters_join(wb, 1);
    HS_CHECK(wa[0].code == HS_ERR_NONE && wa[1].code == HS_ERR_NONE && wb[0].code == HS_ERR_NONE);
    p11_sched_release(s, B);
    HS_CHECK(stats_of(s, A).in_flight == 0 && stats_of(s, B).in_flight == 0);
}

HS_TEST(a_caller_not_admitted_in_time_gives_up)
{
    static const unsigned int w[] = {1};
    HS_DEFER(struct p11_sched *s = sched_new(1, 1, w, 4, 30), p11_sched_freep);
    if (s == NULL) {
        return;
    }
    HS_CHECK_OK(p11_sched_admit(s, A));
    HS_CHECK_ERR(p11_sched_admit(s, A), HS_ERR_HSM_OVERLOADED);
    struct p11_sched_stats st = stats_of(s, A);
    HS_CHECK(st.timeouts == 1 && st.queued == 0 && st.in_flight == 1 && st.admitted == 1);
    p11_sched_release(s, A);
    /* The queue holds no stale waiter: the next caller is admitted at once. */
    HS_CHECK_OK(p11_sched_admit(s, A));
    p11_sched_release(s, A);
    HS_CHECK(stats_of(s, A).in_flight == 0 && stats_of(s, A).admitted == 2);
}

HS_TEST(bad_configs_are_refused)
{
    struct p11_sched *s = NULL;
    struct p11_sched_config zero_weight = {.nclasses = 2, .weights = {1, 0}};
    HS_CHECK_ERR(p11_sched_new(&zero_weight, 2, &s), HS_ERR_INPUT_CONFIG);
    struct p11_sched_config big_weight = {.nclasses = 1, .weights = {P11_SCHED_WEIGHT_MAX + 1}};
    HS_CHECK_ERR(p11_sched_new(&big_weight, 2, &s), HS_ERR_INPUT_CONFIG);
    struct p11_sched_config too_many = {.nclasses = P11_SCHED_CLASSES_MAX + 1};
    HS_CHECK_ERR(p11_sched_new(&too_many, 2, &s), HS_ERR_INPUT_CONFIG);
    struct p11_sched_config ok = {.nclasses = 1, .weights = {1}};
    HS_CHECK_ERR(p11_sched_new(&ok, 0, &s), HS_ERR_INPUT_CONFIG);
    struct p11_sched_config long_wait = {.queue_timeout_ms = P11_SCHED_TIMEOUT_MAX_MS + 1};
    HS_CHECK_ERR(p11_sched_new(&long_wait, 2, &s), HS_ERR_INPUT_CONFIG);
    HS_CHECK(s == NULL);
}

HS_TEST(a_thread_without_a_class_counts_as_the_default_class)
{
    struct p11_sched_config cfg = {.nclasses = 3, .weights = {1, 1, 1}, .default_class = C};
    HS_DEFER(struct p11_sched *s = NULL, p11_sched_freep);
    HS_CHECK_OK(p11_sched_new(&cfg, 2, &s));
    if (s == NULL) {
        return;
    }
    HS_CHECK(p11_sched_class_of(s) == C);
    unsigned int prev = p11_sched_class_swap(B);
    HS_CHECK(prev == P11_SCHED_CLASS_UNSET && p11_sched_class_of(s) == B);
    HS_CHECK(p11_sched_class_swap(7) == B && p11_sched_class_of(s) == C); /* out of range */
    HS_CHECK(p11_sched_class_swap(prev) == 7 && p11_sched_class_of(s) == C);
}

/* The parent holds the only slot when it forks: the child, whose copy of that slot belongs to a
 * thread it does not have, forgets it and is admitted at once (without p11_sched_after_fork it
 * would wait out queue_timeout_ms and be refused). */
HS_TEST(a_forked_child_forgets_the_parents_slots)
{
    static const unsigned int w[] = {1};
    HS_DEFER(struct p11_sched *s = sched_new(1, 1, w, 4, 30), p11_sched_freep);
    if (s == NULL) {
        return;
    }
    HS_CHECK_OK(p11_sched_admit(s, A));
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        p11_sched_after_fork(s);
        hs_result r = p11_sched_admit(s, A);
        _exit(!hs_failed(r) && stats_of(s, A).in_flight == 1 ? 0 : 3);
    }
    HS_CHECK(child > 0);
    int status = -1;
    HS_CHECK(waitpid(child, &status, 0) == child);
    HS_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The parent's slot is still its own. */
    HS_CHECK(stats_of(s, A).in_flight == 1);
    p11_sched_release(s, A);
}

static bool limit_is(struct p11_sched *s, double want)
{
    double got = p11_sched_limit(s);
    fprintf(stderr, "  limit %.4f (want %.4f)\n", got, want);
    return got > want - 1e-6 && got < want + 1e-6;
}

/* The adaptive limit, fed outcomes by hand: a throttling answer multiplies it by 0.7 once per
 * round (answers of operations admitted before the last decrease do not count again); other
 * failures leave it; its whole part is what is admitted at once. */
HS_TEST(the_limit_goes_down_on_throttling_once_a_round)
{
    static const unsigned int w[] = {1};
    HS_DEFER(struct p11_sched *s = sched_new(8, 1, w, 8, 30), p11_sched_freep);
    if (s == NULL) {
        return;
    }
    HS_CHECK(limit_is(s, 8.0));
    struct p11_sched_ticket t[8];
    for (int i = 0; i < 8; i++) {
        HS_CHECK_OK(p11_sched_enter(s, A, &t[i]));
    }
    p11_sched_leave(s, &t[0], P11_SCHED_OUTCOME_THROTTLED);
    HS_CHECK(limit_is(s, 8.0 * 0.7));
    /* Same round: the other throttled answers of operations admitted under the old limit. */
    p11_sched_leave(s, &t[1], P11_SCHED_OUTCOME_THROTTLED);
    p11_sched_leave(s, &t[2], P11_SCHED_OUTCOME_THROTTLED);
    HS_CHECK(limit_is(s, 8.0 * 0.7));
    HS_CHECK(stats_of(s, A).throttled == 3);
    for (int i = 3; i < 8; i++) {
        p11_sched_leave(s, &t[i], P11_SCHED_OUTCOME_NONE); /* other failures: no change */
    }
    HS_CHECK(limit_is(s, 8.0 * 0.7));
    /* 5.6: five at once, the sixth waits (and gives up after 30 ms: nobody leaves). */
    for (int i = 0; i < 5; i++) {
        HS_CHECK_OK(p11_sched_enter(s, A, &t[i]));
    }
    HS_CHECK_ERR(p11_sched_enter(s, A, &t[5]), HS_ERR_HSM_OVERLOADED);
    HS_CHECK(stats_of(s, A).timeouts == 1 && stats_of(s, A).in_flight == 5);
    /* Admitted after the decrease: a new round, so this answer counts. */
    p11_sched_leave(s, &t[0], P11_SCHED_OUTCOME_THROTTLED);
    HS_CHECK(limit_is(s, 8.0 * 0.7 * 0.7));
    for (int i = 1; i < 5; i++) {
        p11_sched_leave(s, &t[i], P11_SCHED_OUTCOME_NONE);
    }
    HS_CHECK(stats_of(s, A).in_flight == 0);
}

/* Throttled round after round, the limit stops at the floor (one still runs); successes bring
 * it back by 1 / limit each, up to the slots and no further. */
HS_TEST(the_limit_stays_between_its_floor_and_the_slots)
{
    static const unsigned int w[] = {1};
    HS_DEFER(struct p11_sched *s = sched_new(8, 1, w, 8, 30), p11_sched_freep);
    if (s == NULL) {
        return;
    }
    struct p11_sched_ticket t[8];
    for (int i = 0; i < 20; i++) {
        HS_CHECK_OK(p11_sched_enter(s, A, &t[0]));
        p11_sched_leave(s, &t[0], P11_SCHED_OUTCOME_THROTTLED);
    }
    HS_CHECK(limit_is(s, (double)P11_SCHED_LIMIT_MIN));
    HS_CHECK_OK(p11_sched_enter(s, A, &t[0]));
    HS_CHECK_ERR(p11_sched_enter(s, A, &t[1]), HS_ERR_HSM_OVERLOADED);
    /* Successes: 1 -> 2 -> 2.5 -> 2.9 ... */
    p11_sched_leave(s, &t[0], P11_SCHED_OUTCOME_OK);
    HS_CHECK(limit_is(s, 2.0));
    HS_CHECK_OK(p11_sched_enter(s, A, &t[0]));
    p11_sched_leave(s, &t[0], P11_SCHED_OUTCOME_OK);
    HS_CHECK(limit_is(s, 2.5));
    /* ... and never above the slots. */
    for (int i = 0; i < 200; i++) {
        HS_CHECK_OK(p11_sched_enter(s, A, &t[0]));
        p11_sched_leave(s, &t[0], P11_SCHED_OUTCOME_OK);
    }
    HS_CHECK(limit_is(s, 8.0));
    for (int i = 0; i < 8; i++) {
        HS_CHECK_OK(p11_sched_enter(s, A, &t[i]));
    }
    for (int i = 0; i < 8; i++) {
        p11_sched_leave(s, &t[i], P11_SCHED_OUTCOME_OK);
    }
    HS_CHECK(stats_of(s, A).in_flight == 0 && limit_is(s, 8.0));
}

struct retrier {
    pthread_t thread;
    struct p11_sched *sched;
    struct p11_sched_ticket ticket;
    enum hs_code code;
};

static void *retrier_main(void *arg)
{
    struct retrier *r = arg;
    r->code = p11_sched_retry(r->sched, &r->ticket, 0).code;
    return NULL;
}

/* A throttled operation of A re-enters at the head of A's queue (ahead of A's later caller) but
 * does not jump B, which waited below its share: with the limit down to one slot, B is served
 * first, then the retry, then A's other caller. The retry is not a second admission. */
HS_TEST(a_throttled_operation_does_not_jump_another_class)
{
    static const unsigned int w[] = {1, 1};
    HS_DEFER(struct p11_sched *s = sched_new(2, 2, w, 8, 60000), p11_sched_freep);
    if (s == NULL) {
        return;
    }
    struct p11_sched_ticket t2;
    struct retrier rt = {.sched = s, .code = HS_ERR_INTERNAL};
    HS_CHECK_OK(p11_sched_enter(s, A, &rt.ticket));
    HS_CHECK_OK(p11_sched_enter(s, A, &t2));
    struct waiter wb;
    waiters_start(&wb, 1, s, B);
    HS_CHECK(wait_queued(s, B, 1));
    struct waiter wa;
    waiters_start(&wa, 1, s, A);
    HS_CHECK(wait_queued(s, A, 1));
    /* A's first operation is throttled: limit 2 -> 1.4 (one slot), and it queues again. */
    HS_CHECK(pthread_create(&rt.thread, NULL, retrier_main, &rt) == 0);
    HS_CHECK(wait_queued(s, A, 2));
    HS_CHECK(limit_is(s, 1.4));
    HS_CHECK(stats_of(s, A).in_flight == 1 && stats_of(s, A).throttled == 1);
    /* The other A operation ends: the one slot goes to B (0 of weight 1, waiting first). */
    p11_sched_leave(s, &t2, P11_SCHED_OUTCOME_NONE);
    HS_CHECK(stats_of(s, B).in_flight == 1 && stats_of(s, B).bypassed_max == 0);
    HS_CHECK(stats_of(s, A).in_flight == 0 && stats_of(s, A).queued == 2);
    /* B ends: now A's retry, not A's later caller. */
    p11_sched_release(s, B);
    pthread_join(rt.thread, NULL);
    HS_CHECK(rt.code == HS_ERR_NONE);
    HS_CHECK(stats_of(s, A).in_flight == 1 && stats_of(s, A).queued == 1);
    HS_CHECK(stats_of(s, A).admitted == 2); /* the retry is the same operation */
    /* The retry succeeds: 1.4 + 1/1.4, two slots, and A's caller gets one. */
    p11_sched_leave(s, &rt.ticket, P11_SCHED_OUTCOME_OK);
    waiters_join(&wa, 1);
    waiters_join(&wb, 1);
    HS_CHECK(wa.code == HS_ERR_NONE && wb.code == HS_ERR_NONE);
    HS_CHECK(stats_of(s, A).in_flight == 1 && stats_of(s, A).admitted == 3);
    p11_sched_release(s, A);
    HS_CHECK(stats_of(s, A).in_flight == 0 && stats_of(s, B).in_flight == 0);
}

static void *resting_retrier_main(void *arg)
{
    struct retrier *r = arg;
    r->code = p11_sched_retry(r->sched, &r->ticket, 1000).code;
    return NULL;
}

/* A retry rests its backoff (here 1 s) in its place: another class is served meanwhile, and its
 * own class's later caller stays behind it although the limit has room for one. */
HS_TEST(a_resting_retry_holds_its_place_in_its_class)
{
    static const unsigned int w[] = {1, 1};
    HS_DEFER(struct p11_sched *s = sched_new(2, 2, w, 8, 60000), p11_sched_freep);
    if (s == NULL) {
        return;
    }
    struct retrier rt = {.sched = s, .code = HS_ERR_INTERNAL};
    HS_CHECK_OK(p11_sched_enter(s, A, &rt.ticket));
    HS_CHECK(pthread_create(&rt.thread, NULL, resting_retrier_main, &rt) == 0);
    HS_CHECK(wait_queued(s, A, 1));
    HS_CHECK(limit_is(s, 1.4) && stats_of(s, A).in_flight == 0);
    /* B takes the free slot at once. */
    struct p11_sched_ticket tb;
    HS_CHECK_OK(p11_sched_enter(s, B, &tb));
    HS_CHECK(stats_of(s, B).waited == 0);
    p11_sched_leave(s, &tb, P11_SCHED_OUTCOME_NONE);
    /* A's next caller queues behind the resting retry, with the slot free. */
    struct waiter wa;
    waiters_start(&wa, 1, s, A);
    HS_CHECK(wait_queued(s, A, 2));
    HS_CHECK(stats_of(s, A).in_flight == 0);
    pthread_join(rt.thread, NULL);
    HS_CHECK(rt.code == HS_ERR_NONE);
    HS_CHECK(stats_of(s, A).in_flight == 1 && stats_of(s, A).queued == 1);
    p11_sched_leave(s, &rt.ticket, P11_SCHED_OUTCOME_OK);
    waiters_join(&wa, 1);
    HS_CHECK(wa.code == HS_ERR_NONE && stats_of(s, A).in_flight == 1);
    p11_sched_release(s, A);
    HS_CHECK(stats_of(s, A).in_flight == 0 && stats_of(s, A).admitted == 2);
}

/* The queue bound counts new callers only: with max_queue 1 and A's throttled operation resting
 * its backoff in A's queue, A's next caller still queues (behind it) and only the one after that
 * is refused; so a refusal does not hang on whether the earlier operation is in its backoff or
 * at the token when the newcomer arrives. */
HS_TEST(a_resting_retry_does_not_count_against_the_queue_bound)
{
    static const unsigned int w[] = {1};
    HS_DEFER(struct p11_sched *s = sched_new(1, 1, w, 1, 60000), p11_sched_freep);
    if (s == NULL) {
        return;
    }
    struct retrier rt = {.sched = s, .code = HS_ERR_INTERNAL};
    HS_CHECK_OK(p11_sched_enter(s, A, &rt.ticket));
    HS_CHECK(pthread_create(&rt.thread, NULL, resting_retrier_main, &rt) == 0);
    HS_CHECK(wait_queued(s, A, 1)); /* the retry rests in its place */
    struct waiter wa;
    waiters_start(&wa, 1, s, A);
    HS_CHECK(wait_queued(s, A, 2)); /* queued behind it, not refused */
    HS_CHECK(stats_of(s, A).rejected == 0);
    struct p11_sched_ticket t3;
    HS_CHECK_ERR(p11_sched_enter(s, A, &t3), HS_ERR_HSM_OVERLOADED);
    HS_CHECK(stats_of(s, A).rejected == 1 && stats_of(s, A).queued == 2);
    pthread_join(rt.thread, NULL);
    HS_CHECK(rt.code == HS_ERR_NONE);
    p11_sched_leave(s, &rt.ticket, P11_SCHED_OUTCOME_OK);
    waiters_join(&wa, 1);
    HS_CHECK(wa.code == HS_ERR_NONE);
    p11_sched_release(s, A);
    HS_CHECK(stats_of(s, A).in_flight == 0 && stats_of(s, A).queued == 0);
    /* Back to new callers only: one may wait again, the next is refused. */
    struct p11_sched_ticket t4;
    HS_CHECK_OK(p11_sched_enter(s, A, &t4));
    waiters_start(&wa, 1, s, A);
    HS_CHECK(wait_queued(s, A, 1));
    HS_CHECK_ERR(p11_sched_enter(s, A, &t3), HS_ERR_HSM_OVERLOADED);
    p11_sched_leave(s, &t4, P11_SCHED_OUTCOME_OK);
    waiters_join(&wa, 1);
    HS_CHECK(wa.code == HS_ERR_NONE);
    p11_sched_release(s, A);
    HS_CHECK(stats_of(s, A).rejected == 2 && stats_of(s, A).in_flight == 0);
}

/* A throttled operation keeps its place ahead of its class's later caller: with one slot, A's
 * operation throttled while A's next caller waits re-enters first and gets the slot back (the
 * slot is not handed to the waiting caller between giving it back and queueing again). */
HS_TEST(a_throttled_operation_stays_ahead_of_its_class)
{
    static const unsigned int w[] = {1};
    HS_DEFER(struct p11_sched *s = sched_new(1, 1, w, 8, 60000), p11_sched_freep);
    if (s == NULL) {
        return;
    }
    struct retrier rt = {.sched = s, .code = HS_ERR_INTERNAL};
    HS_CHECK_OK(p11_sched_enter(s, A, &rt.ticket));
    struct waiter wa;
    waiters_start(&wa, 1, s, A);
    HS_CHECK(wait_queued(s, A, 1));
    HS_CHECK(pthread_create(&rt.thread, NULL, retrier_main, &rt) == 0);
    pthread_join(rt.thread, NULL);
    HS_CHECK(rt.code == HS_ERR_NONE); /* the retry holds the slot again ... */
    HS_CHECK(stats_of(s, A).in_flight == 1 && stats_of(s, A).queued == 1); /* ... W still waits */
    HS_CHECK(stats_of(s, A).waited == 0);
    p11_sched_leave(s, &rt.ticket, P11_SCHED_OUTCOME_OK);
    waiters_join(&wa, 1);
    HS_CHECK(wa.code == HS_ERR_NONE && stats_of(s, A).waited == 1);
    p11_sched_release(s, A);
    HS_CHECK(stats_of(s, A).in_flight == 0 && stats_of(s, A).queued == 0);
}

/* Paced growth (the default): after a throttling answer the limit grows back by 1 / limit per
 * success but by at most one slot per growth_ms, however many successes come at once; each
 * step waits step x growth_ms after the one before (here 600 ms, from 5.6: about 107 ms). */
HS_TEST(the_limit_grows_back_by_at_most_one_slot_per_growth_ms)
{
    struct p11_sched_config cfg = {.nclasses = 1, .weights = {1}, .growth_ms = 600};
    HS_DEFER(struct p11_sched *s = NULL, p11_sched_freep);
    HS_CHECK_OK(p11_sched_new(&cfg, 8, &s));
    if (s == NULL) {
        return;
    }
    struct p11_sched_ticket t;
    HS_CHECK_OK(p11_sched_enter(s, A, &t));
    p11_sched_leave(s, &t, P11_SCHED_OUTCOME_THROTTLED);
    HS_CHECK(limit_is(s, 8.0 * 0.7));
    /* A burst of successes right after the decrease: no growth yet. */
    for (int i = 0; i < 20; i++) {
        HS_CHECK_OK(p11_sched_enter(s, A, &t));
        p11_sched_leave(s, &t, P11_SCHED_OUTCOME_OK);
    }
    HS_CHECK(limit_is(s, 8.0 * 0.7));
    /* After a step's time, one step; the successes right after it add nothing. */
    sleep_ms(150);
    for (int i = 0; i < 20; i++) {
        HS_CHECK_OK(p11_sched_enter(s, A, &t));
        p11_sched_leave(s, &t, P11_SCHED_OUTCOME_OK);
    }
    HS_CHECK(limit_is(s, 5.6 + 1.0 / 5.6));
    /* Given time, it reaches the slots and stops there. */
    for (int round = 0; round < 40 && p11_sched_limit(s) < 8.0; round++) {
        sleep_ms(150);
        HS_CHECK_OK(p11_sched_enter(s, A, &t));
        p11_sched_leave(s, &t, P11_SCHED_OUTCOME_OK);
    }
    HS_CHECK(limit_is(s, 8.0));
    /* Out of range: refused. */
    struct p11_sched_config bad = {
        .nclasses = 1, .weights = {1}, .growth_ms = P11_SCHED_GROWTH_MAX_MS + 1};
    struct p11_sched *b = NULL;
    HS_CHECK_ERR(p11_sched_new(&bad, 8, &b), HS_ERR_INPUT_CONFIG);
}

int main(void)
{
    return hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(an_idle_scheduler_lets_one_class_take_every_slot),
        HS_TEST_CASE(under_saturation_each_class_gets_its_share_in_order),
        HS_TEST_CASE(three_backlogged_classes_hold_their_weights),
        HS_TEST_CASE(a_full_queue_is_refused_at_once_and_changes_nothing),
        HS_TEST_CASE(a_caller_not_admitted_in_time_gives_up),
        HS_TEST_CASE(bad_configs_are_refused),
        HS_TEST_CASE(a_thread_without_a_class_counts_as_the_default_class),
        HS_TEST_CASE(a_forked_child_forgets_the_parents_slots),
        HS_TEST_CASE(the_limit_goes_down_on_throttling_once_a_round),
        HS_TEST_CASE(the_limit_stays_between_its_floor_and_the_slots),
        HS_TEST_CASE(a_throttled_operation_does_not_jump_another_class),
        HS_TEST_CASE(a_resting_retry_holds_its_place_in_its_class),
        HS_TEST_CASE(a_resting_retry_does_not_count_against_the_queue_bound),
        HS_TEST_CASE(a_throttled_operation_stays_ahead_of_its_class),
        HS_TEST_CASE(the_limit_grows_back_by_at_most_one_slot_per_growth_ms),
        HS_TEST_END,
    });
}
