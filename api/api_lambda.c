#include "api/api_lambda.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "api/api_lambda_event.h"
#include "aws/aws_lambda_runtime.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "common/hs_log.h"

/* The Runtime API client is aws/aws_lambda_runtime; this file decodes, routes and encodes. */

/* The X-Ray SDKs read the trace header from the environment (as the AWS runtimes set it). */
static void api_lambda_trace_env(const struct aws_lambda_invocation *inv)
{
    if (inv->trace_id[0] != '\0') {
        setenv("_X_AMZN_TRACE_ID", inv->trace_id, 1);
    } else {
        unsetenv("_X_AMZN_TRACE_ID");
    }
}

struct api_lambda_reject_reason {
    enum hs_code code;
    const char *type;
    const char *message;
};

/* The fixed errorType and errorMessage for an event that cannot be decoded; the detail goes to
 * the log only. */
static const struct api_lambda_reject_reason *api_lambda_reject_reason(enum hs_code code)
{
    static const struct api_lambda_reject_reason reasons[] = {
        {HS_ERR_INPUT_TOO_LARGE, "Runtime.EventTooLarge", "the event is over the size limit"},
        {HS_ERR_INPUT_JSON, "Runtime.InvalidEvent", "the event is not a JSON object"},
        {HS_ERR_INPUT_FIELD, "Runtime.InvalidEvent",
         "the event is not an API Gateway proxy event (payload format 2.0 or 1.0) nor an SQS "
         "event"},
        {HS_ERR_INTERNAL, "Runtime.InternalError", "internal error"},
    };
    size_t n = sizeof(reasons) / sizeof(reasons[0]);
    for (size_t i = 0; i < n; i++) {
        if (reasons[i].code == code) {
            return &reasons[i];
        }
    }
    return hs_code_class(code) == HS_CLASS_INPUT ? &reasons[2] : &reasons[n - 1];
}

/* Posts an invocation error for inv (failure r) and logs it. */
static HS_RESULT api_lambda_reject(struct aws_lambda_runtime *l,
                                   const struct aws_lambda_invocation *inv, hs_result r)
{
    const struct api_lambda_reject_reason *why = api_lambda_reject_reason(r.code);
    hs_log(HS_LOG_WARN, "lambda.invocation.rejected", HS_LOG_STR("aws_request_id", inv->request_id),
           HS_LOG_STR("trace_id", inv->trace_id[0] != '\0' ? inv->trace_id : NULL),
           HS_LOG_STR("error_type", why->type), HS_LOG_INT("event_bytes", hs_buf_len(inv->event)),
           HS_LOG_BOOL("event_truncated", inv->too_large), HS_LOG_ERR());
    long runtime_status = 0;
    HS_GUARD(aws_lambda_runtime_error(l, inv, why->type, why->message, &runtime_status));
    if (runtime_status != 202) {
        hs_log(HS_LOG_WARN, "lambda.runtime.refused", HS_LOG_STR("aws_request_id", inv->request_id),
               HS_LOG_STR("call", "error"), HS_LOG_INT("runtime_status", runtime_status));
    }
    return HS_OK;
}

/* Routes a decoded request (or answers 413 when decoding found it too large). */
static void api_lambda_route(struct api_service *svc, struct api_request *req, hs_result decoded,
                             struct api_response *resp)
{
    api_request_id_new(req);
    req->now = time(NULL);
    if (hs_failed(decoded)) {
        memset(resp, 0, sizeof(*resp));
        api_response_error(resp, decoded.code, req->req_id);
        return;
    }
    api_route(svc, req, resp);
}

/* Encodes resp; when that fails, a 500 error response instead. */
static HS_RESULT api_lambda_encode(const struct api_request *req, struct api_response *resp,
                                   struct hs_buf **out)
{
    hs_result r = api_lambda_response_encode(resp, req->req_id, out);
    if (hs_failed(r)) {
        hs_log(HS_LOG_ERROR, "lambda.response.encode.failed", HS_LOG_ERR());
        api_response_clear(resp);
        api_response_error(resp, HS_ERR_INTERNAL, req->req_id);
        r = api_lambda_response_encode(resp, req->req_id, out);
    }
    return r;
}

static void api_lambda_log(const struct aws_lambda_invocation *inv, const struct api_request *req,
                           enum api_lambda_payload payload, unsigned int status,
                           long runtime_status)
{
    unsigned char fp[EVP_MAX_MD_SIZE];
    unsigned int fp_len = 0;
    const char *pem = req->client_cert_pem;
    if (pem == NULL || EVP_Digest(pem, strlen(pem), fp, &fp_len, EVP_sha256(), NULL) != 1) {
        fp_len = 0;
    }
    hs_log_set_req_id(req->req_id);
    hs_log(runtime_status == 202 ? HS_LOG_INFO : HS_LOG_WARN, "lambda.invocation",
           HS_LOG_STR("aws_request_id", inv->request_id),
           HS_LOG_STR("trace_id", inv->trace_id[0] != '\0' ? inv->trace_id : NULL),
           HS_LOG_STR("payload", payload == API_LAMBDA_PAYLOAD_V2 ? "2.0" : "1.0"),
           HS_LOG_INT("status", status), HS_LOG_INT("runtime_status", runtime_status),
           HS_LOG_INT("remaining_ms", aws_lambda_remaining_ms(inv)),
           HS_LOG_HEX("client_cert_pem_sha256", fp_len > 0 ? fp : NULL, fp_len));
    hs_log_set_req_id(NULL);
}

static HS_RESULT api_lambda_parse(const struct aws_lambda_invocation *inv,
                                  struct api_lambda_event **out)
{
    HS_ENSURE_MSG(!inv->too_large, HS_ERR_INPUT_TOO_LARGE, "event over %d bytes",
                  API_LAMBDA_EVENT_MAX);
    return api_lambda_event_parse((const char *)hs_buf_data(inv->event), hs_buf_len(inv->event),
                                  out);
}

/* One SQS message for the service's consumer; none configured: every message fails (it goes
 * back to the queue and, after maxReceiveCount, to the dead-letter queue; nothing is lost). */
static HS_RESULT api_lambda_sqs_message(void *arg, const struct api_lambda_sqs_record *rec)
{
    struct api_service *svc = arg;
    hs_result r = svc->sqs_consume != NULL
                      ? svc->sqs_consume(svc, rec->body, rec->body_len, rec->receive_count)
                      : hs_error_raise(__FILE__, __LINE__, HS_ERR_INPUT_CONFIG,
                                       "an SQS event came but no SQS consumer is configured "
                                       "(ssh.keygen)");
    if (hs_failed(r)) {
        hs_log(HS_LOG_WARN, "lambda.sqs.message.failed", HS_LOG_STR("message_id", rec->message_id),
               HS_LOG_INT("receive_count", rec->receive_count), HS_LOG_ERR());
    }
    return r;
}

/* Answers an SQS event with its partial batch response (api_lambda_event.h). */
static HS_RESULT api_lambda_invoke_sqs(struct aws_lambda_runtime *l, struct api_service *svc,
                                       const struct aws_lambda_invocation *inv,
                                       const struct api_lambda_event *ev)
{
    struct api_lambda_sqs_handler h = {.fn = api_lambda_sqs_message, .arg = svc};
    size_t failed = 0;
    HS_DEFER(struct hs_buf *payload = NULL, hs_buf_freep);
    hs_result r = api_lambda_sqs_dispatch(ev, &h, &failed, &payload);
    if (hs_failed(r)) {
        /* The whole batch is retried. */
        return api_lambda_reject(l, inv, r);
    }
    long runtime_status = 0;
    HS_GUARD(aws_lambda_runtime_respond(l, inv, payload, &runtime_status));
    hs_log(runtime_status == 202 ? HS_LOG_INFO : HS_LOG_WARN, "lambda.invocation.sqs",
           HS_LOG_STR("aws_request_id", inv->request_id),
           HS_LOG_STR("trace_id", inv->trace_id[0] != '\0' ? inv->trace_id : NULL),
           HS_LOG_INT("records", api_lambda_sqs_count(ev)), HS_LOG_INT("failed", failed),
           HS_LOG_INT("runtime_status", runtime_status),
           HS_LOG_INT("remaining_ms", aws_lambda_remaining_ms(inv)));
    return HS_OK;
}

/* Handles one invocation: decode, route, encode, post. Fails only when the Runtime API cannot
 * be talked to. */
static HS_RESULT api_lambda_invoke(struct aws_lambda_runtime *l, struct api_service *svc,
                                   const struct aws_lambda_invocation *inv)
{
    api_lambda_trace_env(inv);
    hs_error_clear();
    HS_DEFER(struct api_lambda_event *ev = NULL, api_lambda_event_freep);
    struct api_request req = {0};
    hs_result r = api_lambda_parse(inv, &ev);
    if (!hs_failed(r) && api_lambda_event_payload(ev) == API_LAMBDA_PAYLOAD_SQS) {
        return api_lambda_invoke_sqs(l, svc, inv, ev);
    }
    r = hs_failed(r) ? r : api_lambda_event_request(ev, &req);
    /* Inside a good event, a request over a bound is answered 413 like api_http does. */
    if (hs_failed(r) && (ev == NULL || r.code != HS_ERR_INPUT_TOO_LARGE)) {
        return api_lambda_reject(l, inv, r);
    }
    HS_DEFER(struct api_response resp = {0}, api_response_clear);
    api_lambda_route(svc, &req, r, &resp);
    HS_DEFER(struct hs_buf *payload = NULL, hs_buf_freep);
    hs_result enc = api_lambda_encode(&req, &resp, &payload);
    if (hs_failed(enc)) {
        return api_lambda_reject(l, inv, enc);
    }
    long runtime_status = 0;
    HS_GUARD(aws_lambda_runtime_respond(l, inv, payload, &runtime_status));
    api_lambda_log(inv, &req, api_lambda_event_payload(ev), resp.status, runtime_status);
    return HS_OK;
}

static void api_lambda_invocation_clear(struct aws_lambda_invocation *inv)
{
    hs_buf_free(inv->event);
    inv->event = NULL;
}

HS_RESULT api_lambda_run(struct api_service *svc, const char *runtime_api,
                         const struct timespec *started, const volatile sig_atomic_t *stop)
{
    HS_ENSURE_REF(svc);
    HS_ENSURE_REF(started);
    HS_DEFER(struct aws_lambda_runtime *l = NULL, aws_lambda_runtime_freep);
    HS_GUARD(aws_lambda_runtime_new(runtime_api, stop, &l));
    HS_DEFER(struct aws_lambda_invocation inv = {0}, api_lambda_invocation_clear);
    inv.event = hs_buf_new(API_LAMBDA_EVENT_MAX);
    HS_ENSURE(inv.event != NULL, HS_ERR_NOMEM);
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    hs_log(HS_LOG_INFO, "service.ready", HS_LOG_STR("mode", "lambda"),
           HS_LOG_STR("runtime_api", runtime_api),
           HS_LOG_INT("startup_ms", (t1.tv_sec - started->tv_sec) * 1000 +
                                        (t1.tv_nsec - started->tv_nsec) / 1000000));
    bool stopped = false;
    while (stop == NULL || *stop == 0) {
        HS_GUARD(aws_lambda_runtime_next(l, &inv, &stopped));
        if (stopped) {
            break;
        }
        HS_GUARD(api_lambda_invoke(l, svc, &inv));
    }
    hs_log(HS_LOG_INFO, "service.stopping", HS_LOG_STR("mode", "lambda"));
    return HS_OK;
}

HS_RESULT api_lambda_init_error(const char *runtime_api, const char *error_type,
                                const char *message)
{
    return aws_lambda_runtime_init_error(runtime_api, error_type, message);
}
