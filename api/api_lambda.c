#include "api/api_lambda.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "api/api_lambda_event.h"
#include "aws/aws_http.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "common/hs_log.h"

#define API_LAMBDA_URL_MAX 512
#define API_LAMBDA_REQUEST_ID_MAX 128 /* bytes of Lambda-Runtime-Aws-Request-Id (a UUID today) */
#define API_LAMBDA_TRACE_ID_MAX 512   /* bytes of Lambda-Runtime-Trace-Id */
#define API_LAMBDA_DEADLINE_DIGITS 15 /* digits of Lambda-Runtime-Deadline-Ms (epoch ms) */
#define API_LAMBDA_ERROR_TYPE_MAX 64
#define API_LAMBDA_ERROR_DOC_MAX 4096 /* bytes of an {"errorMessage", "errorType"} document */
#define API_LAMBDA_HEADER_LINE_MAX 128
#define API_LAMBDA_API_VERSION "/2018-06-01/runtime"
#define API_LAMBDA_REPLY_MAX 4096 /* bytes of the Runtime API's answer to a POST (read, unused) */

static bool api_lambda_chars_ok(const char *s, size_t n, const char *extra)
{
    return aws_chars_ok(s, n, extra);
}

/* --- the Runtime API client ---------------------------------------------------------------------
 * One aws_http handle for the process, so the connection to the Runtime API is kept alive
 * between calls. */

struct api_lambda {
    struct aws_http *http;
    bool curl_global; /* aws_http_global_init() succeeded; cleaned up with the handle */
    char base[API_LAMBDA_URL_MAX]; /* "http://host:port/2018-06-01/runtime" */
    const volatile sig_atomic_t *stop;
};

/* What the Runtime API answered to one call. */
struct api_lambda_reply {
    struct hs_buf *body; /* NULL: read into a small buffer of its own and discard */
    bool overflow;       /* the body was over its buffer's bound */
    bool stopped;        /* *stop ended the transfer */
    long status;
};

/* One invocation as /next delivered it. */
struct api_lambda_invocation {
    char request_id[API_LAMBDA_REQUEST_ID_MAX + 1];
    char trace_id[API_LAMBDA_TRACE_ID_MAX + 1]; /* "" when none */
    long long deadline_ms;                      /* epoch ms, 0 when unknown */
    struct hs_buf *event;
    bool too_large;
};

static void api_lambda_free(struct api_lambda *l)
{
    if (l != NULL) {
        aws_http_free(l->http);
        if (l->curl_global) {
            aws_http_global_cleanup();
        }
        OPENSSL_free(l);
    }
}

HS_DEFINE_FREEP(api_lambda_freep, struct api_lambda, api_lambda_free)

static HS_RESULT api_lambda_new(const char *runtime_api, const volatile sig_atomic_t *stop,
                                struct api_lambda **out)
{
    HS_ENSURE_REF(runtime_api);
    size_t n = strnlen(runtime_api, API_LAMBDA_RUNTIME_API_MAX + 1);
    HS_ENSURE_MSG(n > 0 && n <= API_LAMBDA_RUNTIME_API_MAX &&
                      api_lambda_chars_ok(runtime_api, n, ".:[]-"),
                  HS_ERR_INPUT_CONFIG, "AWS_LAMBDA_RUNTIME_API is not host:port");
    HS_DEFER(struct api_lambda *l = OPENSSL_zalloc(sizeof(*l)), api_lambda_freep);
    HS_ENSURE(l != NULL, HS_ERR_NOMEM);
    HS_GUARD(aws_http_global_init(false));
    l->curl_global = true;
    l->stop = stop;
    l->http = aws_http_new();
    HS_ENSURE(l->http != NULL, HS_ERR_NOMEM);
    HS_DEFER(struct hs_buf *url = hs_buf_new(sizeof(l->base)), hs_buf_freep);
    HS_ENSURE(url != NULL, HS_ERR_NOMEM);
    const char *s = NULL;
    HS_GUARD(hs_buf_put_str(url, "http://"));
    HS_GUARD(hs_buf_put_str(url, runtime_api));
    HS_GUARD(hs_buf_put_str(url, API_LAMBDA_API_VERSION));
    HS_GUARD(hs_buf_cstr(url, &s));
    memcpy(l->base, s, hs_buf_len(url) + 1);
    *out = l;
    l = NULL;
    return HS_OK;
}

/* base + suffix [+ id + tail] into out (at most API_LAMBDA_URL_MAX - 1 bytes). */
static HS_RESULT api_lambda_url(const struct api_lambda *l, const char *suffix, const char *id,
                                const char *tail, char out[API_LAMBDA_URL_MAX])
{
    HS_DEFER(struct hs_buf *url = hs_buf_new(API_LAMBDA_URL_MAX), hs_buf_freep);
    HS_ENSURE(url != NULL, HS_ERR_NOMEM);
    const char *s = NULL;
    HS_GUARD(hs_buf_put_str(url, l->base));
    HS_GUARD(hs_buf_put_str(url, suffix));
    if (id != NULL) {
        HS_GUARD(hs_buf_put_str(url, id));
        HS_GUARD(hs_buf_put_str(url, tail));
    }
    HS_GUARD(hs_buf_cstr(url, &s));
    memcpy(out, s, hs_buf_len(url) + 1);
    return HS_OK;
}

/* Sends req on the Runtime API connection; the answer goes into r (an answer over its bound
 * sets r->overflow, *stop ending the wait sets r->stopped). A transport failure is HS_ERR_IO. */
static HS_RESULT api_lambda_send(struct api_lambda *l, struct aws_http_request *req,
                                 struct api_lambda_reply *r)
{
    HS_DEFER(struct hs_buf *own = NULL, hs_buf_freep);
    struct hs_buf *body = r->body;
    if (body == NULL) {
        own = hs_buf_new(API_LAMBDA_REPLY_MAX);
        HS_ENSURE(own != NULL, HS_ERR_NOMEM);
        body = own;
    }
    /* Options every call shares: no proxy (the Runtime API is local), HTTP only, a connect
     * timeout, one attempt (a POSTed answer is not repeated). */
    req->protocols = "http";
    req->no_proxy = true;
    req->connect_timeout_ms = API_LAMBDA_CONNECT_TIMEOUT_MS;
    req->response_max = hs_buf_max(body);
    req->attempts = 1;
    struct aws_http_response resp = {.body = body};
    hs_result res = aws_http_send(l->http, req, &resp);
    r->status = resp.status;
    r->overflow = res.code == HS_ERR_BOUNDS;
    r->stopped = res.code == HS_ERR_IO && resp.transport == AWS_HTTP_ABORTED;
    if (r->overflow || r->stopped) {
        hs_error_clear();
        return HS_OK;
    }
    return res;
}

/* GET /invocation/next: connect timeout, no total timeout (the poll lasts until an event
 * comes, and Lambda freezes the process meanwhile), abandoned when *stop is set. */
static HS_RESULT api_lambda_get_next(struct api_lambda *l, struct api_lambda_reply *r)
{
    char url[API_LAMBDA_URL_MAX];
    HS_GUARD(api_lambda_url(l, "/invocation/next", NULL, NULL, url));
    struct aws_http_request req = {
        .method = "GET", .url = url, .long_poll = true, .stop = l->stop, .log_what = "next"};
    hs_result res = api_lambda_send(l, &req, r);
    HS_ENSURE_MSG(!hs_failed(res), HS_ERR_IO, "GET /next: %s", hs_error_last()->detail);
    return HS_OK;
}

/* POST body (JSON) to url with connect and total timeouts; error_type (may be NULL) becomes
 * Lambda-Runtime-Function-Error-Type. A transport failure is HS_ERR_IO; any HTTP status is
 * left in r->status for the caller. */
static HS_RESULT api_lambda_post(struct api_lambda *l, const char *url, const struct hs_buf *body,
                                 const char *error_type, struct api_lambda_reply *r)
{
    char type_line[API_LAMBDA_HEADER_LINE_MAX];
    static const char type_name[] = "Lambda-Runtime-Function-Error-Type: ";
    struct aws_http_request req = {
        .method = "POST",
        .url = url,
        .headers = {"Content-Type: application/json", "Expect:"},
        .body = hs_buf_data(body),
        .body_len = hs_buf_len(body),
        .timeout_ms = API_LAMBDA_POST_TIMEOUT_MS,
        .log_what = "lambda.post",
    };
    if (error_type != NULL) {
        size_t n = strnlen(error_type, API_LAMBDA_ERROR_TYPE_MAX + 1);
        HS_ENSURE(n <= API_LAMBDA_ERROR_TYPE_MAX && api_lambda_chars_ok(error_type, n, "."),
                  HS_ERR_INTERNAL);
        memcpy(type_line, type_name, sizeof(type_name) - 1);
        memcpy(type_line + sizeof(type_name) - 1, error_type, n + 1);
        req.headers[2] = type_line;
    }
    hs_result res = api_lambda_send(l, &req, r);
    HS_ENSURE_MSG(!hs_failed(res), HS_ERR_IO, "POST to the Runtime API: %s",
                  hs_error_last()->detail);
    /* 500 is the Runtime API's "non-recoverable state; the runtime should exit". */
    HS_ENSURE_MSG(r->status != 500, HS_ERR_IO, "the Runtime API answered 500");
    return HS_OK;
}

/* {"errorMessage": message, "errorType": type}. */
static HS_RESULT api_lambda_error_doc(const char *type, const char *message, struct hs_buf **out)
{
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_json_add(obj, "errorMessage", json_object_new_string(message)));
    HS_GUARD(hs_json_add(obj, "errorType", json_object_new_string(type)));
    size_t len = 0;
    const char *text = json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    HS_ENSURE(text != NULL, HS_ERR_NOMEM);
    HS_DEFER(struct hs_buf *doc = hs_buf_new(API_LAMBDA_ERROR_DOC_MAX), hs_buf_freep);
    HS_ENSURE(doc != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put(doc, text, len));
    *out = doc;
    doc = NULL;
    return HS_OK;
}

HS_RESULT api_lambda_init_error(const char *runtime_api, const char *error_type,
                                const char *message)
{
    HS_ENSURE_REF(error_type);
    HS_ENSURE_REF(message);
    HS_DEFER(struct api_lambda *l = NULL, api_lambda_freep);
    HS_GUARD(api_lambda_new(runtime_api, NULL, &l));
    char url[API_LAMBDA_URL_MAX];
    HS_GUARD(api_lambda_url(l, "/init/error", NULL, NULL, url));
    HS_DEFER(struct hs_buf *doc = NULL, hs_buf_freep);
    HS_GUARD(api_lambda_error_doc(error_type, message, &doc));
    struct api_lambda_reply r = {0};
    HS_GUARD(api_lambda_post(l, url, doc, error_type, &r));
    HS_ENSURE_MSG(r.status == 202, HS_ERR_IO, "POST /init/error answered %ld", r.status);
    return HS_OK;
}

/* Copies the value of response header name into out (n bytes with the terminator) when it is
 * present, at most n - 1 bytes long and made of allowed bytes: alphanumerics and `extra`, or any
 * visible ASCII and space when extra is NULL. Leaves out "" otherwise. */
static void api_lambda_header_copy(struct aws_http *h, const char *name, const char *extra,
                                   char *out, size_t n)
{
    out[0] = '\0';
    if (hs_failed(aws_http_header(h, name, out, n))) {
        hs_error_clear();
        out[0] = '\0';
        return;
    }
    size_t len = strlen(out);
    bool ok = len > 0;
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char c = (unsigned char)out[i];
        ok = extra != NULL ? api_lambda_chars_ok(out + i, 1, extra) : c >= 0x20 && c < 0x7f;
    }
    if (!ok) {
        out[0] = '\0';
    }
}

/* Waits for the next invocation. *stopped is set (and inv left empty) when *stop ended the
 * wait. */
static HS_RESULT api_lambda_next(struct api_lambda *l, struct api_lambda_invocation *inv,
                                 bool *stopped)
{
    hs_buf_reset(inv->event);
    struct api_lambda_reply r = {.body = inv->event};
    HS_GUARD(api_lambda_get_next(l, &r));
    *stopped = r.stopped && l->stop != NULL && *l->stop != 0;
    if (*stopped) {
        return HS_OK;
    }
    HS_ENSURE_MSG(!r.stopped, HS_ERR_IO, "GET /next: aborted");
    HS_ENSURE_MSG(r.status == 200, HS_ERR_IO, "GET /next answered %ld", r.status);
    inv->too_large = r.overflow;
    api_lambda_header_copy(l->http, "Lambda-Runtime-Aws-Request-Id", "-_.", inv->request_id,
                           sizeof(inv->request_id));
    HS_ENSURE_MSG(inv->request_id[0] != '\0', HS_ERR_IO,
                  "GET /next: no valid Lambda-Runtime-Aws-Request-Id");
    api_lambda_header_copy(l->http, "Lambda-Runtime-Trace-Id", NULL, inv->trace_id,
                           sizeof(inv->trace_id));
    char deadline[API_LAMBDA_DEADLINE_DIGITS + 1];
    api_lambda_header_copy(l->http, "Lambda-Runtime-Deadline-Ms", "", deadline, sizeof(deadline));
    bool digits = deadline[0] != '\0' && strspn(deadline, "0123456789") == strlen(deadline);
    inv->deadline_ms = digits ? strtoll(deadline, NULL, 10) : 0;
    return HS_OK;
}

static long long api_lambda_remaining_ms(const struct api_lambda_invocation *inv)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long now_ms = (long long)now.tv_sec * 1000LL + now.tv_nsec / 1000000;
    return inv->deadline_ms > 0 ? inv->deadline_ms - now_ms : 0;
}

/* The X-Ray SDKs read the trace header from the environment (as the AWS runtimes set it). */
static void api_lambda_trace_env(const struct api_lambda_invocation *inv)
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
static HS_RESULT api_lambda_reject(struct api_lambda *l, const struct api_lambda_invocation *inv,
                                   hs_result r)
{
    const struct api_lambda_reject_reason *why = api_lambda_reject_reason(r.code);
    hs_log(HS_LOG_WARN, "lambda.invocation.rejected", HS_LOG_STR("aws_request_id", inv->request_id),
           HS_LOG_STR("trace_id", inv->trace_id[0] != '\0' ? inv->trace_id : NULL),
           HS_LOG_STR("error_type", why->type), HS_LOG_INT("event_bytes", hs_buf_len(inv->event)),
           HS_LOG_BOOL("event_truncated", inv->too_large), HS_LOG_ERR());
    char url[API_LAMBDA_URL_MAX];
    HS_GUARD(api_lambda_url(l, "/invocation/", inv->request_id, "/error", url));
    HS_DEFER(struct hs_buf *doc = NULL, hs_buf_freep);
    HS_GUARD(api_lambda_error_doc(why->type, why->message, &doc));
    struct api_lambda_reply reply = {0};
    HS_GUARD(api_lambda_post(l, url, doc, why->type, &reply));
    if (reply.status != 202) {
        hs_log(HS_LOG_WARN, "lambda.runtime.refused", HS_LOG_STR("aws_request_id", inv->request_id),
               HS_LOG_STR("call", "error"), HS_LOG_INT("runtime_status", reply.status));
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

static void api_lambda_log(const struct api_lambda_invocation *inv, const struct api_request *req,
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
           HS_LOG_INT("remaining_ms", api_lambda_remaining_ms(inv)),
           HS_LOG_HEX("client_cert_pem_sha256", fp_len > 0 ? fp : NULL, fp_len));
    hs_log_set_req_id(NULL);
}

static HS_RESULT api_lambda_parse(const struct api_lambda_invocation *inv,
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
static HS_RESULT api_lambda_invoke_sqs(struct api_lambda *l, struct api_service *svc,
                                       const struct api_lambda_invocation *inv,
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
    char url[API_LAMBDA_URL_MAX];
    HS_GUARD(api_lambda_url(l, "/invocation/", inv->request_id, "/response", url));
    struct api_lambda_reply reply = {0};
    HS_GUARD(api_lambda_post(l, url, payload, NULL, &reply));
    hs_log(reply.status == 202 ? HS_LOG_INFO : HS_LOG_WARN, "lambda.invocation.sqs",
           HS_LOG_STR("aws_request_id", inv->request_id),
           HS_LOG_STR("trace_id", inv->trace_id[0] != '\0' ? inv->trace_id : NULL),
           HS_LOG_INT("records", api_lambda_sqs_count(ev)), HS_LOG_INT("failed", failed),
           HS_LOG_INT("runtime_status", reply.status),
           HS_LOG_INT("remaining_ms", api_lambda_remaining_ms(inv)));
    return HS_OK;
}

/* Handles one invocation: decode, route, encode, post. Fails only when the Runtime API cannot
 * be talked to. */
static HS_RESULT api_lambda_invoke(struct api_lambda *l, struct api_service *svc,
                                   const struct api_lambda_invocation *inv)
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
    char url[API_LAMBDA_URL_MAX];
    HS_GUARD(api_lambda_url(l, "/invocation/", inv->request_id, "/response", url));
    struct api_lambda_reply reply = {0};
    HS_GUARD(api_lambda_post(l, url, payload, NULL, &reply));
    api_lambda_log(inv, &req, api_lambda_event_payload(ev), resp.status, reply.status);
    return HS_OK;
}

static void api_lambda_invocation_clear(struct api_lambda_invocation *inv)
{
    hs_buf_free(inv->event);
    inv->event = NULL;
}

HS_RESULT api_lambda_run(struct api_service *svc, const char *runtime_api,
                         const struct timespec *started, const volatile sig_atomic_t *stop)
{
    HS_ENSURE_REF(svc);
    HS_ENSURE_REF(started);
    HS_DEFER(struct api_lambda *l = NULL, api_lambda_freep);
    HS_GUARD(api_lambda_new(runtime_api, stop, &l));
    HS_DEFER(struct api_lambda_invocation inv = {0}, api_lambda_invocation_clear);
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
        HS_GUARD(api_lambda_next(l, &inv, &stopped));
        if (stopped) {
            break;
        }
        HS_GUARD(api_lambda_invoke(l, svc, &inv));
    }
    hs_log(HS_LOG_INFO, "service.stopping", HS_LOG_STR("mode", "lambda"));
    return HS_OK;
}
