/*
 * hs_hist: a latency histogram for the metrics page (a Prometheus histogram: per-bucket counts,
 * the sum and the count; Prometheus exposition format, "Histogram"), filled from any thread.
 * The bucket bounds are not stored: the one owner of a histogram passes the same bounds to
 * every call, so a histogram is plain zeroed memory (static, or inside a zeroed struct).
 *
 * Relaxed atomics: a scrape may see a count a moment before its sum, which Prometheus
 * tolerates; nothing orders observations against other memory.
 */
#ifndef HS_HIST_H
#define HS_HIST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define HS_HIST_BOUNDS_MAX 16 /* bucket bounds a histogram may have */

/* A histogram's bucket bounds: n (1..HS_HIST_BOUNDS_MAX) ascending upper bounds in
 * microseconds; an observation goes to the first bucket whose bound is >= it, or above the
 * last. */
struct hs_hist_bounds {
    const unsigned int *us;
    size_t n;
};

/* Zero-initialised is empty. counts[i] (not cumulative) holds the observations of bucket i,
 * counts[n] those above the last bound. */
struct hs_hist {
    _Atomic uint64_t counts[HS_HIST_BOUNDS_MAX + 1];
    _Atomic uint64_t sum_us;
    _Atomic uint64_t count;
};

/* A copy of a histogram with its bounds, for rendering. */
struct hs_hist_snapshot {
    struct hs_hist_bounds bounds;
    uint64_t counts[HS_HIST_BOUNDS_MAX + 1]; /* not cumulative */
    uint64_t sum_us;
    uint64_t count;
};

/* Adds one observation of us microseconds (a negative one counts as 0) to h with bounds b.
 * Thread-safe, lock-free. Bounds with n of 0 or above HS_HIST_BOUNDS_MAX count nothing. */
void hs_hist_observe(struct hs_hist *h, const struct hs_hist_bounds *b, int64_t us);

/* Adds the time since start (CLOCK_MONOTONIC, from clock_gettime) to h, in microseconds. */
void hs_hist_observe_since(struct hs_hist *h, const struct hs_hist_bounds *b,
                           const struct timespec *start);

/* Copies h (each counter read atomically; not one atomic snapshot) with bounds b into *out. */
void hs_hist_get(struct hs_hist *h, const struct hs_hist_bounds *b, struct hs_hist_snapshot *out);

#endif /* HS_HIST_H */
