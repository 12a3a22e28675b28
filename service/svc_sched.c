#include "service/svc_sched.h"

#include <string.h>

#include "common/hs_json.h"

static const char *const svc_class_names[SVC_CLASS_COUNT] = {
    [SVC_CLASS_CERTIFICATE] = "certificate",
    [SVC_CLASS_TOKEN] = "token",
    [SVC_CLASS_SSH] = "ssh",
    [SVC_CLASS_CRL] = "crl",
    [SVC_CLASS_BACKGROUND] = "background",
};

const char *svc_class_name(unsigned int cls)
{
    return cls < SVC_CLASS_COUNT ? svc_class_names[cls] : "unknown";
}

static HS_RESULT svc_sched_shares(json_object *shares, struct p11_sched_config *out)
{
    static const char *const allowed[] = {"certificate", "token", "ssh", "crl", "background", NULL};
    HS_GUARD(hs_json_check_keys(shares, allowed, "scheduler.shares"));
    for (unsigned int i = 0; i < SVC_CLASS_COUNT; i++) {
        int64_t w = 0;
        HS_GUARD(hs_json_get_int(shares, svc_class_names[i], false, 1, P11_SCHED_WEIGHT_MAX,
                                 out->weights[i], &w));
        out->weights[i] = (unsigned int)w;
    }
    return HS_OK;
}

static HS_RESULT svc_sched_parse(json_object *sch, struct p11_sched_config *out)
{
    static const char *const allowed[] = {"shares", "max_queue", "queue_timeout_ms",
                                          "limit_growth_ms", NULL};
    HS_GUARD(hs_json_check_keys(sch, allowed, "scheduler"));
    json_object *shares = NULL;
    HS_GUARD(hs_json_get_typed(sch, "shares", false, json_type_object, &shares));
    if (shares != NULL) {
        HS_GUARD(svc_sched_shares(shares, out));
    }
    int64_t q = 0;
    int64_t t = 0;
    HS_GUARD(hs_json_get_int(sch, "max_queue", false, 1, P11_SCHED_QUEUE_MAX,
                             (int64_t)out->max_queue, &q));
    HS_GUARD(hs_json_get_int(sch, "queue_timeout_ms", false, 1, P11_SCHED_TIMEOUT_MAX_MS,
                             out->queue_timeout_ms, &t));
    int64_t g = 0;
    HS_GUARD(hs_json_get_int(sch, "limit_growth_ms", false, 1, P11_SCHED_GROWTH_MAX_MS,
                             P11_SCHED_DEFAULT_GROWTH_MS, &g));
    out->max_queue = (size_t)q;
    out->queue_timeout_ms = (unsigned int)t;
    out->growth_ms = (unsigned int)g;
    return HS_OK;
}

HS_RESULT svc_sched_config_parse(json_object *doc, struct p11_sched_config *out)
{
    HS_ENSURE_REF(doc);
    HS_ENSURE_REF(out);
    static const unsigned int dflt[SVC_CLASS_COUNT] = {
        [SVC_CLASS_CERTIFICATE] = 50, [SVC_CLASS_TOKEN] = 25,     [SVC_CLASS_SSH] = 15,
        [SVC_CLASS_CRL] = 5,          [SVC_CLASS_BACKGROUND] = 5,
    };
    struct p11_sched_config c = {.nclasses = SVC_CLASS_COUNT,
                                 .default_class = SVC_CLASS_BACKGROUND,
                                 .max_queue = P11_SCHED_DEFAULT_QUEUE,
                                 .queue_timeout_ms = SVC_SCHED_QUEUE_TIMEOUT_DEFAULT_MS};
    memcpy(c.weights, dflt, sizeof(dflt));
    json_object *sch = NULL;
    HS_GUARD(hs_json_get_typed(doc, "scheduler", false, json_type_object, &sch));
    if (sch != NULL) {
        HS_GUARD(hs_error_context(svc_sched_parse(sch, &c), "scheduler"));
    }
    *out = c;
    return HS_OK;
}

unsigned int svc_class_begin(enum svc_class cls)
{
    return p11_sched_class_swap((unsigned int)cls);
}

void svc_class_end(unsigned int previous)
{
    HS_IGNORE(p11_sched_class_swap(previous));
}
