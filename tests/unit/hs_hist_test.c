/* hs_hist: observations land in the first bucket whose bound holds them (or above the last),
 * the sum and count add up, bad bounds count nothing, and threads lose no observation. */
#include <pthread.h>
#include <string.h>

#include "common/hs_hist.h"
#include "tests/testlib/hs_test.h"

#define THREADS 4
#define PER_THREAD 20000

static const unsigned int bounds_us[] = {10, 100};
static const struct hs_hist_bounds bounds = {bounds_us, 2};

HS_TEST(each_observation_goes_to_its_bucket)
{
    static struct hs_hist h;
    const int64_t values[] = {-5, 0, 10, 11, 100, 101, 1000000000};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        hs_hist_observe(&h, &bounds, values[i]);
    }
    struct hs_hist_snapshot s;
    hs_hist_get(&h, &bounds, &s);
    /* <= 10: -5 (as 0), 0, 10; <= 100: 11, 100; above: 101, 1e9. */
    HS_CHECK(s.counts[0] == 3 && s.counts[1] == 2 && s.counts[2] == 2);
    HS_CHECK(s.count == 7);
    HS_CHECK(s.sum_us == 0 + 0 + 10 + 11 + 100 + 101 + 1000000000ULL);
    HS_CHECK(s.bounds.us == bounds_us && s.bounds.n == 2);
}

HS_TEST(bad_bounds_count_nothing)
{
    static struct hs_hist h;
    static const unsigned int many[HS_HIST_BOUNDS_MAX + 1] = {1};
    const struct hs_hist_bounds none = {bounds_us, 0};
    const struct hs_hist_bounds too_many = {many, HS_HIST_BOUNDS_MAX + 1};
    const struct hs_hist_bounds no_array = {NULL, 2};
    hs_hist_observe(&h, &none, 5);
    hs_hist_observe(&h, &too_many, 5);
    hs_hist_observe(&h, &no_array, 5);
    hs_hist_observe(&h, NULL, 5);
    hs_hist_observe(NULL, &bounds, 5);
    struct hs_hist_snapshot s;
    hs_hist_get(&h, &bounds, &s);
    HS_CHECK(s.count == 0 && s.sum_us == 0 && s.counts[0] == 0);
    hs_hist_get(&h, &none, &s);
    HS_CHECK(s.bounds.n == 0 && s.count == 0);
}

HS_TEST(observe_since_measures_the_elapsed_time)
{
    static struct hs_hist h;
    struct timespec start;
    HS_CHECK(clock_gettime(CLOCK_MONOTONIC, &start) == 0);
    struct timespec nap = {0, 2000000};
    while (nanosleep(&nap, &nap) != 0) {
    }
    hs_hist_observe_since(&h, &bounds, &start);
    struct hs_hist_snapshot s;
    hs_hist_get(&h, &bounds, &s);
    /* At least the 2 ms slept: above the last bound. */
    HS_CHECK(s.count == 1 && s.sum_us >= 2000 && s.counts[2] == 1);
}

static struct hs_hist shared;

static void *observer_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        hs_hist_observe(&shared, &bounds, i % 3 == 0 ? 5 : 50);
    }
    return NULL;
}

HS_TEST(threads_lose_no_observation)
{
    pthread_t t[THREADS];
    int started = 0;
    for (int i = 0; i < THREADS; i++) {
        started += pthread_create(&t[i], NULL, observer_main, NULL) == 0;
    }
    HS_CHECK(started == THREADS);
    for (int i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
    }
    struct hs_hist_snapshot s;
    hs_hist_get(&shared, &bounds, &s);
    uint64_t n = (uint64_t)started * PER_THREAD;
    uint64_t fives = (uint64_t)started * ((PER_THREAD + 2) / 3);
    HS_CHECK(s.count == n);
    HS_CHECK(s.counts[0] == fives && s.counts[1] == n - fives && s.counts[2] == 0);
    HS_CHECK(s.sum_us == fives * 5 + (n - fives) * 50);
}

int main(void)
{
    return hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(each_observation_goes_to_its_bucket),
        HS_TEST_CASE(bad_bounds_count_nothing),
        HS_TEST_CASE(observe_since_measures_the_elapsed_time),
        HS_TEST_CASE(threads_lose_no_observation),
        HS_TEST_END,
    });
}
