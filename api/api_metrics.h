/*
 * api_metrics: counters for GET /metrics, in the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 *   hsmsign_requests_total{route,status}          counter, every answered request
 *   hsmsign_request_duration_seconds              histogram, time inside api_route()
 *   hsmsign_c_sign_duration_seconds               histogram, C_SignInit..C_Sign on the token
 *   hsmsign_pool_sessions{state}                  gauge: configured, open, in_use
 *   hsmsign_pool_{reopened,relogins,throttled,busy}_total   counters of the pool's recovery
 *   hsmsign_token_up                              gauge: 1 when a token session answers now
 *                                                 (C_GetSessionInfo at scrape time, as
 *                                                 GET /healthz), else 0
 *   hsmsign_issued_total{kind}                    counter: X.509 certificates (x509), SSH
 *                                                 certificates (ssh: POST /v1/ssh/certificates
 *                                                 and server-side key generation results handed
 *                                                 out), JWTs (token) answered 200
 *   hsmsign_http_lane_queued{lane}                gauge: complete requests waiting for a worker
 *                                                 in the front end's lane (api_http.h "Lanes":
 *                                                 the signature classes and "public")
 *   hsmsign_http_lane_busy{lane}                  gauge: the lane's requests at workers now
 *   hsmsign_http_lane_overloaded_total{lane}      counter: 503 overloaded answered by the front
 *                                                 end itself because the lane was full
 *   (the lane families appear in container mode only: Lambda has no HTTP front end)
 *
 * Updates are lock-free (relaxed atomics), so counting never slows a request down.
 */
#ifndef API_METRICS_H
#define API_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"
#include "common/hs_hist.h"
#include "pkcs11/p11_pool.h"

#define API_METRICS_ROUTES_MAX 32
#define API_METRICS_STATUS_SLOTS 20      /* distinct HTTP statuses counted; others go to "other" */
#define API_METRICS_TEXT_MAX (64 * 1024) /* bytes of the rendered page */
#define API_METRICS_LANES 8              /* at least API_LANES (api_route.h) */

struct api_metrics {
    _Atomic uint64_t requests[API_METRICS_ROUTES_MAX][API_METRICS_STATUS_SLOTS];
    struct hs_hist latency;     /* time to answer, 250 us to 1 s */
    _Atomic uint64_t issued[3]; /* enum api_metrics_kind */
    /* The HTTP front end's lanes (api_http.c keeps them under its lock and mirrors them here). */
    _Atomic bool lanes_used;
    _Atomic uint64_t lane_queued[API_METRICS_LANES];
    _Atomic uint64_t lane_busy[API_METRICS_LANES];
    _Atomic uint64_t lane_overloaded[API_METRICS_LANES];
};

/* What hsmsign_issued_total counts. */
enum api_metrics_kind {
    API_METRICS_X509 = 0,
    API_METRICS_SSH = 1,
    API_METRICS_TOKEN = 2,
};

/* Counts one credential of kind handed out. Thread-safe. */
void api_metrics_issued(struct api_metrics *m, enum api_metrics_kind kind);

/* Counts one request of route (an index below API_METRICS_ROUTES_MAX; larger ones are
 * ignored) answered with status after latency_us microseconds. Thread-safe. */
void api_metrics_count(struct api_metrics *m, size_t route, unsigned int status,
                       long long latency_us);

/* The front end's lane (index below API_METRICS_LANES; others are ignored) now has queued
 * requests waiting and busy at workers. Thread-safe; the caller serializes updates of one lane
 * (api_http does them under its lock), readers see a recent value. */
void api_metrics_lane(struct api_metrics *m, unsigned int lane, size_t queued, size_t busy);

/* Counts one 503 overloaded that the front end answered itself for lane. Thread-safe. */
void api_metrics_lane_overloaded(struct api_metrics *m, unsigned int lane);

/* Appends the metrics page to out: route_names[i] labels route index i (nroutes entries),
 * pool gives the session gauges (may be NULL), token_up the hsmsign_token_up gauge. Errors:
 * HS_ERR_BOUNDS when out is full. */
HS_RESULT api_metrics_render(struct api_metrics *m, const char *const *route_names, size_t nroutes,
                             struct p11_pool *pool, bool token_up, struct hs_buf *out);

#endif /* API_METRICS_H */
