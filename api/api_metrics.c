#include "api/api_metrics.h"

#include <stdarg.h>
#include <stdio.h>

#include "pkcs11/p11_sched.h"
#include "pkcs11/p11_sign.h"
#include "service/svc_ctx.h"
#include "service/svc_sched.h"

/* The statuses hsmsignd answers with; the last slot counts any other. */
static const unsigned int api_metrics_statuses[API_METRICS_STATUS_SLOTS - 1] = {
    200, 201, 202, 204, 301, 304, 400, 401, 403, 404, 405, 408, 409, 413, 415, 429, 500, 503, 504};

static const unsigned int api_metrics_latency_us[] = {
    250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 250000, 500000, 1000000};
static const struct hs_hist_bounds api_metrics_latency_bounds = {
    api_metrics_latency_us, sizeof(api_metrics_latency_us) / sizeof(api_metrics_latency_us[0])};

static size_t api_metrics_status_slot(unsigned int status)
{
    for (size_t i = 0; i < API_METRICS_STATUS_SLOTS - 1; i++) {
        if (api_metrics_statuses[i] == status) {
            return i;
        }
    }
    return API_METRICS_STATUS_SLOTS - 1;
}

void api_metrics_count(struct api_metrics *m, size_t route, unsigned int status,
                       long long latency_us)
{
    if (route >= API_METRICS_ROUTES_MAX) {
        return;
    }
    atomic_fetch_add_explicit(&m->requests[route][api_metrics_status_slot(status)], 1,
                              memory_order_relaxed);
    hs_hist_observe(&m->latency, &api_metrics_latency_bounds, latency_us);
}

void api_metrics_issued(struct api_metrics *m, enum api_metrics_kind kind)
{
    if ((size_t)kind < sizeof(m->issued) / sizeof(m->issued[0])) {
        atomic_fetch_add_explicit(&m->issued[kind], 1, memory_order_relaxed);
    }
}

static HS_RESULT api_metrics_printf(struct hs_buf *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static HS_RESULT api_metrics_printf(struct hs_buf *out, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    HS_ENSURE(n >= 0 && (size_t)n < sizeof(line), HS_ERR_BOUNDS);
    return hs_buf_put(out, line, (size_t)n);
}

static HS_RESULT api_metrics_requests(struct api_metrics *m, const char *const *names, size_t n,
                                      struct hs_buf *out)
{
    HS_GUARD(api_metrics_printf(out, "# HELP hsmsign_requests_total Requests answered, by route "
                                     "and HTTP status.\n# TYPE hsmsign_requests_total counter\n"));
    for (size_t r = 0; r < n && r < API_METRICS_ROUTES_MAX; r++) {
        for (size_t s = 0; s < API_METRICS_STATUS_SLOTS; s++) {
            uint64_t v = atomic_load_explicit(&m->requests[r][s], memory_order_relaxed);
            if (v == 0) {
                continue;
            }
            char status[16];
            if (s < API_METRICS_STATUS_SLOTS - 1) {
                HS_IGNORE(snprintf(status, sizeof(status), "%u", api_metrics_statuses[s]));
            } else {
                HS_IGNORE(snprintf(status, sizeof(status), "other"));
            }
            HS_GUARD(api_metrics_printf(out,
                                        "hsmsign_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                                        names[r], status, (unsigned long long)v));
        }
    }
    return HS_OK;
}

/* One histogram from non-cumulative counts (the last one above every bound). */
static HS_RESULT api_metrics_histogram(struct hs_buf *out, const char *name, const char *help,
                                       const struct hs_hist_snapshot *h)
{
    HS_GUARD(api_metrics_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name));
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h->bounds.n; i++) {
        cumulative += h->counts[i];
        HS_GUARD(api_metrics_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name,
                                    (double)h->bounds.us[i] / 1e6, (unsigned long long)cumulative));
    }
    cumulative += h->counts[h->bounds.n];
    HS_GUARD(api_metrics_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n", name,
                                (unsigned long long)cumulative));
    HS_GUARD(api_metrics_printf(out, "%s_sum %.6f\n", name, (double)h->sum_us / 1e6));
    return api_metrics_printf(out, "%s_count %llu\n", name, (unsigned long long)h->count);
}

static HS_RESULT api_metrics_latencies(struct api_metrics *m, struct hs_buf *out)
{
    struct hs_hist_snapshot h;
    hs_hist_get(&m->latency, &api_metrics_latency_bounds, &h);
    HS_GUARD(api_metrics_histogram(out, "hsmsign_request_duration_seconds",
                                   "Time to answer a request, inside the service.", &h));
    p11_sign_latency_get(&h);
    HS_GUARD(api_metrics_histogram(out, "hsmsign_c_sign_duration_seconds",
                                   "Time of one signature on the token (C_SignInit to C_Sign).",
                                   &h));
    svc_inventory_latency_get(&h);
    return api_metrics_histogram(
        out, "hsmsign_inventory_write_duration_seconds",
        "Time an inventory write (a record before its answer, a revocation) took until durable.",
        &h);
}

static HS_RESULT api_metrics_pool(struct p11_pool *pool, struct hs_buf *out)
{
    struct p11_pool_stats st;
    p11_pool_get_stats(pool, &st);
    HS_GUARD(api_metrics_printf(out,
                                "# HELP hsmsign_pool_sessions Token sessions of the pool.\n"
                                "# TYPE hsmsign_pool_sessions gauge\n"
                                "hsmsign_pool_sessions{state=\"configured\"} %zu\n"
                                "hsmsign_pool_sessions{state=\"open\"} %zu\n"
                                "hsmsign_pool_sessions{state=\"in_use\"} %zu\n",
                                st.size, st.open, st.in_use));
    const struct {
        const char *name;
        const char *help;
        uint64_t v;
    } counters[] = {
        {"hsmsign_pool_reopened_total", "Sessions reopened after a session-lost CK_RV.",
         st.reopened},
        {"hsmsign_pool_relogins_total", "Logins after the token forgot the login.", st.relogins},
        {"hsmsign_pool_throttled_total", "Retries after the token asked to back off.",
         st.throttled},
        {"hsmsign_pool_busy_total", "Callers that found no free session in time.", st.busy},
    };
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        HS_GUARD(api_metrics_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
                                    counters[i].name, counters[i].help, counters[i].name,
                                    counters[i].name, (unsigned long long)counters[i].v));
    }
    return HS_OK;
}

static HS_RESULT api_metrics_issued_render(struct api_metrics *m, bool token_up, struct hs_buf *out)
{
    static const char *const kinds[] = {"x509", "ssh", "token"};
    HS_GUARD(api_metrics_printf(out,
                                "# HELP hsmsign_token_up Whether a token session answers (1) or "
                                "not (0), at scrape time.\n# TYPE hsmsign_token_up gauge\n"
                                "hsmsign_token_up %d\n",
                                token_up ? 1 : 0));
    HS_GUARD(api_metrics_printf(out, "# HELP hsmsign_issued_total Certificates and tokens handed "
                                     "out, by kind.\n# TYPE hsmsign_issued_total counter\n"));
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        HS_GUARD(api_metrics_printf(
            out, "hsmsign_issued_total{kind=\"%s\"} %llu\n", kinds[i],
            (unsigned long long)atomic_load_explicit(&m->issued[i], memory_order_relaxed)));
    }
    return HS_OK;
}

/* One family over the scheduler's classes: value(st) per class (label class="certificate"...). */
static HS_RESULT api_metrics_sched_family(struct p11_sched *sched, struct hs_buf *out,
                                          const char *name, const char *type, const char *help,
                                          size_t field)
{
    HS_GUARD(api_metrics_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type));
    for (unsigned int c = 0; c < p11_sched_classes(sched); c++) {
        struct p11_sched_stats st;
        p11_sched_get_stats(sched, c, &st);
        uint64_t v = 0;
        switch (field) {
        case 0:
            v = st.in_flight;
            break;
        case 1:
            v = st.queued;
            break;
        case 2:
            v = st.admitted;
            break;
        case 3:
            v = st.waited;
            break;
        case 4:
            v = st.rejected;
            break;
        case 5:
            v = st.timeouts;
            break;
        case 6:
            v = st.throttled;
            break;
        default:
            HS_BAIL(HS_ERR_INTERNAL);
        }
        HS_GUARD(api_metrics_printf(out, "%s{class=\"%s\"} %llu\n", name, svc_class_name(c),
                                    (unsigned long long)v));
    }
    return HS_OK;
}

/* The token scheduler's per-class counters (pkcs11/p11_sched.h, service/svc_sched.h). */
static HS_RESULT api_metrics_sched(struct p11_sched *sched, struct hs_buf *out)
{
    static const struct {
        const char *name;
        const char *type;
        const char *help;
    } fam[] = {
        {"hsmsign_sched_in_flight", "gauge", "Token operations running, per class."},
        {"hsmsign_sched_queued", "gauge", "Token operations waiting for a slot, per class."},
        {"hsmsign_sched_admitted_total", "counter", "Token operations admitted, per class."},
        {"hsmsign_sched_waited_total", "counter", "Admissions that had to wait, per class."},
        {"hsmsign_sched_rejected_total", "counter",
         "Operations refused because their class's queue was full (503 overloaded)."},
        {"hsmsign_sched_timeouts_total", "counter",
         "Operations that waited queue_timeout_ms without a slot (503 overloaded)."},
        {"hsmsign_sched_throttled_total", "counter",
         "Throttling answers of the token met by the class's operations."},
    };
    for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
        HS_GUARD(api_metrics_sched_family(sched, out, fam[i].name, fam[i].type, fam[i].help, i));
    }
    HS_GUARD(api_metrics_printf(out, "# HELP hsmsign_sched_wait_seconds_total Time admitted "
                                     "operations waited for a slot, per class.\n"
                                     "# TYPE hsmsign_sched_wait_seconds_total counter\n"));
    for (unsigned int c = 0; c < p11_sched_classes(sched); c++) {
        struct p11_sched_stats st;
        p11_sched_get_stats(sched, c, &st);
        HS_GUARD(api_metrics_printf(out, "hsmsign_sched_wait_seconds_total{class=\"%s\"} %.6f\n",
                                    svc_class_name(c), (double)st.wait_us / 1e6));
    }
    return api_metrics_printf(out,
                              "# HELP hsmsign_sched_limit Adaptive limit on token operations in "
                              "flight (goes down on throttling answers, up on successes).\n"
                              "# TYPE hsmsign_sched_limit gauge\n"
                              "hsmsign_sched_limit %.2f\n",
                              p11_sched_limit(sched));
}

void api_metrics_lane(struct api_metrics *m, unsigned int lane, size_t queued, size_t busy)
{
    if (lane >= API_METRICS_LANES) {
        return;
    }
    atomic_store_explicit(&m->lanes_used, true, memory_order_relaxed);
    atomic_store_explicit(&m->lane_queued[lane], queued, memory_order_relaxed);
    atomic_store_explicit(&m->lane_busy[lane], busy, memory_order_relaxed);
}

void api_metrics_lane_overloaded(struct api_metrics *m, unsigned int lane)
{
    if (lane < API_METRICS_LANES) {
        atomic_fetch_add_explicit(&m->lane_overloaded[lane], 1, memory_order_relaxed);
    }
}

/* The front end's lanes: the signature classes by name, then "public" (api_route.h). */
static HS_RESULT api_metrics_lanes(struct api_metrics *m, struct hs_buf *out)
{
    static const struct {
        const char *name;
        const char *type;
        const char *help;
    } fam[] = {
        {"hsmsign_http_lane_queued", "gauge",
         "Complete requests waiting for an HTTP worker, per lane."},
        {"hsmsign_http_lane_busy", "gauge", "Requests at HTTP workers, per lane."},
        {"hsmsign_http_lane_overloaded_total", "counter",
         "Requests the HTTP front end answered 503 overloaded because their lane was full."},
    };
    if (!atomic_load_explicit(&m->lanes_used, memory_order_relaxed)) {
        return HS_OK;
    }
    for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
        HS_GUARD(api_metrics_printf(out, "# HELP %s %s\n# TYPE %s %s\n", fam[f].name, fam[f].help,
                                    fam[f].name, fam[f].type));
        for (unsigned int lane = 0; lane <= SVC_CLASS_COUNT; lane++) {
            const _Atomic uint64_t *v = f == 0   ? &m->lane_queued[lane]
                                        : f == 1 ? &m->lane_busy[lane]
                                                 : &m->lane_overloaded[lane];
            HS_GUARD(api_metrics_printf(
                out, "%s{lane=\"%s\"} %llu\n", fam[f].name,
                lane < SVC_CLASS_COUNT ? svc_class_name(lane) : "public",
                (unsigned long long)atomic_load_explicit(v, memory_order_relaxed)));
        }
    }
    return HS_OK;
}

HS_RESULT api_metrics_render(struct api_metrics *m, const char *const *route_names, size_t nroutes,
                             struct p11_pool *pool, bool token_up, struct hs_buf *out)
{
    HS_ENSURE_REF(m);
    HS_ENSURE_REF(out);
    _Static_assert(sizeof(api_metrics_statuses) / sizeof(api_metrics_statuses[0]) ==
                       API_METRICS_STATUS_SLOTS - 1,
                   "one slot a status, and one for the others");
    HS_GUARD(api_metrics_requests(m, route_names, nroutes, out));
    HS_GUARD(api_metrics_issued_render(m, token_up, out));
    HS_GUARD(api_metrics_latencies(m, out));
    HS_GUARD(api_metrics_lanes(m, out));
    if (pool == NULL) {
        return HS_OK;
    }
    HS_GUARD(api_metrics_pool(pool, out));
    return api_metrics_sched(p11_pool_get0_sched(pool), out);
}
