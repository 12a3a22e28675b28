#include "common/hs_hist.h"

#include <stdbool.h>
#include <string.h>

static bool hs_hist_bounds_ok(const struct hs_hist_bounds *b)
{
    return b != NULL && b->us != NULL && b->n >= 1 && b->n <= HS_HIST_BOUNDS_MAX;
}

void hs_hist_observe(struct hs_hist *h, const struct hs_hist_bounds *b, int64_t us)
{
    if (h == NULL || !hs_hist_bounds_ok(b)) {
        return;
    }
    uint64_t v = us > 0 ? (uint64_t)us : 0;
    size_t i = 0;
    while (i < b->n && v > b->us[i]) {
        i++;
    }
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, v, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

void hs_hist_observe_since(struct hs_hist *h, const struct hs_hist_bounds *b,
                           const struct timespec *start)
{
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    int64_t us =
        (int64_t)(end.tv_sec - start->tv_sec) * 1000000 + (end.tv_nsec - start->tv_nsec) / 1000;
    hs_hist_observe(h, b, us);
}

void hs_hist_get(struct hs_hist *h, const struct hs_hist_bounds *b, struct hs_hist_snapshot *out)
{
    memset(out, 0, sizeof(*out));
    if (h == NULL || !hs_hist_bounds_ok(b)) {
        return;
    }
    out->bounds = *b;
    for (size_t i = 0; i <= b->n; i++) {
        out->counts[i] = atomic_load_explicit(&h->counts[i], memory_order_relaxed);
    }
    out->sum_us = atomic_load_explicit(&h->sum_us, memory_order_relaxed);
    out->count = atomic_load_explicit(&h->count, memory_order_relaxed);
}
