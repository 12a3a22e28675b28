/*
 * api_metrics: counters for GET /metrics, in the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 *   hsmsign_requests_total{route,status}          counter, every answered request
 *   hsmsign_request_duration_seconds              histogram, time inside api_route()
 *   hsmsign_c_sign_duration_seconds               histogram, C_SignInit..C_Sign on the token
 *   hsmsign_pool_sessions{state}                  gauge: configured, open, in_use
 *   hsmsign_pool_{reopened,relogins,throttled,busy}_total   counters of the pool's recovery
 *
 * Updates are lock-free (relaxed atomics), so counting never slows a request down.
 */
#ifndef API_METRICS_H
#define API_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"
#include "pkcs11/p11_pool.h"

#define API_METRICS_ROUTES_MAX 16
#define API_METRICS_STATUS_SLOTS 16 /* distinct HTTP statuses counted; others go to "other" */
#define API_METRICS_LATENCY_BUCKETS 12
#define API_METRICS_TEXT_MAX (64 * 1024) /* bytes of the rendered page */

struct api_metrics {
    _Atomic uint64_t requests[API_METRICS_ROUTES_MAX][API_METRICS_STATUS_SLOTS];
    _Atomic uint64_t latency[API_METRICS_LATENCY_BUCKETS + 1]; /* not cumulative */
    _Atomic uint64_t latency_sum_us;
    _Atomic uint64_t latency_count;
};

/* Counts one request of route (an index below API_METRICS_ROUTES_MAX; larger ones are
 * ignored) answered with status after latency_us microseconds. Thread-safe. */
void api_metrics_count(struct api_metrics *m, size_t route, unsigned int status,
                       long long latency_us);

/* Appends the metrics page to out: route_names[i] labels route index i (nroutes entries),
 * pool gives the session gauges (may be NULL). Errors: HS_ERR_BOUNDS when out is full. */
HS_RESULT api_metrics_render(struct api_metrics *m, const char *const *route_names, size_t nroutes,
                             struct p11_pool *pool, struct hs_buf *out);

#endif /* API_METRICS_H */
