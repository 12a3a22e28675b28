#include "aws/aws_lambda_runtime.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "aws/aws_http.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"

#define AWS_LAMBDA_URL_MAX 512
#define AWS_LAMBDA_DEADLINE_DIGITS 15 /* digits of Lambda-Runtime-Deadline-Ms (epoch ms) */
#define AWS_LAMBDA_ERROR_DOC_MAX 4096 /* bytes of an {"errorMessage", "errorType"} document */
#define AWS_LAMBDA_HEADER_LINE_MAX 128
#define AWS_LAMBDA_API_VERSION "/2018-06-01/runtime"
#define AWS_LAMBDA_REPLY_MAX 4096 /* bytes of the Runtime API's answer to a POST (read, unused) */

/* One aws_http handle for the process, so the connection to the Runtime API is kept alive
 * between calls. */
struct aws_lambda_runtime {
    struct aws_http *http;
    bool curl_global; /* aws_http_global_init() succeeded; cleaned up with the handle */
    char base[AWS_LAMBDA_URL_MAX]; /* "http://host:port/2018-06-01/runtime" */
    const volatile sig_atomic_t *stop;
};

/* What the Runtime API answered to one call. */
struct aws_lambda_reply {
    struct hs_buf *body; /* NULL: read into a small buffer of its own and discard */
    bool overflow;       /* the body was over its buffer's bound */
    bool stopped;        /* *stop ended the transfer */
    long status;
};

void aws_lambda_runtime_free(struct aws_lambda_runtime *rt)
{
    if (rt != NULL) {
        aws_http_free(rt->http);
        if (rt->curl_global) {
            aws_http_global_cleanup();
        }
        OPENSSL_free(rt);
    }
}

void aws_lambda_runtime_freep(struct aws_lambda_runtime **rt)
{
    aws_lambda_runtime_free(*rt);
}

HS_RESULT aws_lambda_runtime_new(const char *runtime_api, const volatile sig_atomic_t *stop,
                                 struct aws_lambda_runtime **out)
{
    HS_ENSURE_REF(runtime_api);
    size_t n = strnlen(runtime_api, AWS_LAMBDA_RUNTIME_API_MAX + 1);
    HS_ENSURE_MSG(n > 0 && n <= AWS_LAMBDA_RUNTIME_API_MAX && aws_chars_ok(runtime_api, n, ".:[]-"),
                  HS_ERR_INPUT_CONFIG, "AWS_LAMBDA_RUNTIME_API is not host:port");
    HS_DEFER(struct aws_lambda_runtime *l = OPENSSL_zalloc(sizeof(*l)), aws_lambda_runtime_freep);
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
    HS_GUARD(hs_buf_put_str(url, AWS_LAMBDA_API_VERSION));
    HS_GUARD(hs_buf_cstr(url, &s));
    memcpy(l->base, s, hs_buf_len(url) + 1);
    *out = l;
    l = NULL;
    return HS_OK;
}

/* base + suffix [+ id + tail] into out (at most AWS_LAMBDA_URL_MAX - 1 bytes). */
static HS_RESULT aws_lambda_url(const struct aws_lambda_runtime *l, const char *suffix,
                                const char *id, const char *tail, char out[AWS_LAMBDA_URL_MAX])
{
    HS_DEFER(struct hs_buf *url = hs_buf_new(AWS_LAMBDA_URL_MAX), hs_buf_freep);
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
static HS_RESULT aws_lambda_send(struct aws_lambda_runtime *l, struct aws_http_request *req,
                                 struct aws_lambda_reply *r)
{
    HS_DEFER(struct hs_buf *own = NULL, hs_buf_freep);
    struct hs_buf *body = r->body;
    if (body == NULL) {
        own = hs_buf_new(AWS_LAMBDA_REPLY_MAX);
        HS_ENSURE(own != NULL, HS_ERR_NOMEM);
        body = own;
    }
    /* Options every call shares: no proxy (the Runtime API is local), HTTP only, a connect
     * timeout, one attempt (a POSTed answer is not repeated). */
    req->protocols = "http";
    req->no_proxy = true;
    req->connect_timeout_ms = AWS_LAMBDA_CONNECT_TIMEOUT_MS;
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
static HS_RESULT aws_lambda_get_next(struct aws_lambda_runtime *l, struct aws_lambda_reply *r)
{
    char url[AWS_LAMBDA_URL_MAX];
    HS_GUARD(aws_lambda_url(l, "/invocation/next", NULL, NULL, url));
    struct aws_http_request req = {
        .method = "GET", .url = url, .long_poll = true, .stop = l->stop, .log_what = "next"};
    hs_result res = aws_lambda_send(l, &req, r);
    HS_ENSURE_MSG(!hs_failed(res), HS_ERR_IO, "GET /next: %s", hs_error_last()->detail);
    return HS_OK;
}

/* POST body (JSON) to url with connect and total timeouts; error_type (may be NULL) becomes
 * Lambda-Runtime-Function-Error-Type. A transport failure is HS_ERR_IO; any HTTP status is
 * left in r->status for the caller. */
static HS_RESULT aws_lambda_post(struct aws_lambda_runtime *l, const char *url,
                                 const struct hs_buf *body, const char *error_type,
                                 struct aws_lambda_reply *r)
{
    char type_line[AWS_LAMBDA_HEADER_LINE_MAX];
    static const char type_name[] = "Lambda-Runtime-Function-Error-Type: ";
    struct aws_http_request req = {
        .method = "POST",
        .url = url,
        .headers = {"Content-Type: application/json", "Expect:"},
        .body = hs_buf_data(body),
        .body_len = hs_buf_len(body),
        .timeout_ms = AWS_LAMBDA_POST_TIMEOUT_MS,
        .log_what = "lambda.post",
    };
    if (error_type != NULL) {
        size_t n = strnlen(error_type, AWS_LAMBDA_ERROR_TYPE_MAX + 1);
        HS_ENSURE(n <= AWS_LAMBDA_ERROR_TYPE_MAX && aws_chars_ok(error_type, n, "."),
                  HS_ERR_INTERNAL);
        memcpy(type_line, type_name, sizeof(type_name) - 1);
        memcpy(type_line + sizeof(type_name) - 1, error_type, n + 1);
        req.headers[2] = type_line;
    }
    hs_result res = aws_lambda_send(l, &req, r);
    HS_ENSURE_MSG(!hs_failed(res), HS_ERR_IO, "POST to the Runtime API: %s",
                  hs_error_last()->detail);
    /* 500 is the Runtime API's "non-recoverable state; the runtime should exit". */
    HS_ENSURE_MSG(r->status != 500, HS_ERR_IO, "the Runtime API answered 500");
    return HS_OK;
}

/* {"errorMessage": message, "errorType": type}. */
static HS_RESULT aws_lambda_error_doc(const char *type, const char *message, struct hs_buf **out)
{
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_json_add(obj, "errorMessage", json_object_new_string(message)));
    HS_GUARD(hs_json_add(obj, "errorType", json_object_new_string(type)));
    size_t len = 0;
    const char *text = json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    HS_ENSURE(text != NULL, HS_ERR_NOMEM);
    HS_DEFER(struct hs_buf *doc = hs_buf_new(AWS_LAMBDA_ERROR_DOC_MAX), hs_buf_freep);
    HS_ENSURE(doc != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put(doc, text, len));
    *out = doc;
    doc = NULL;
    return HS_OK;
}

HS_RESULT aws_lambda_runtime_init_error(const char *runtime_api, const char *error_type,
                                        const char *message)
{
    HS_ENSURE_REF(error_type);
    HS_ENSURE_REF(message);
    HS_DEFER(struct aws_lambda_runtime *l = NULL, aws_lambda_runtime_freep);
    HS_GUARD(aws_lambda_runtime_new(runtime_api, NULL, &l));
    char url[AWS_LAMBDA_URL_MAX];
    HS_GUARD(aws_lambda_url(l, "/init/error", NULL, NULL, url));
    HS_DEFER(struct hs_buf *doc = NULL, hs_buf_freep);
    HS_GUARD(aws_lambda_error_doc(error_type, message, &doc));
    struct aws_lambda_reply r = {0};
    HS_GUARD(aws_lambda_post(l, url, doc, error_type, &r));
    HS_ENSURE_MSG(r.status == 202, HS_ERR_IO, "POST /init/error answered %ld", r.status);
    return HS_OK;
}

/* Copies the value of response header name into out (n bytes with the terminator) when it is
 * present, at most n - 1 bytes long and made of allowed bytes: alphanumerics and `extra`, or any
 * visible ASCII and space when extra is NULL. Leaves out "" otherwise. */
static void aws_lambda_header_copy(struct aws_http *h, const char *name, const char *extra,
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
        ok = extra != NULL ? aws_chars_ok(out + i, 1, extra) : c >= 0x20 && c < 0x7f;
    }
    if (!ok) {
        out[0] = '\0';
    }
}

HS_RESULT aws_lambda_runtime_next(struct aws_lambda_runtime *l, struct aws_lambda_invocation *inv,
                                  bool *stopped)
{
    HS_ENSURE_REF(l);
    HS_ENSURE_REF(inv);
    HS_ENSURE_REF(inv->event);
    hs_buf_reset(inv->event);
    inv->too_large = false;
    struct aws_lambda_reply r = {.body = inv->event};
    HS_GUARD(aws_lambda_get_next(l, &r));
    *stopped = r.stopped && l->stop != NULL && *l->stop != 0;
    if (*stopped) {
        return HS_OK;
    }
    HS_ENSURE_MSG(!r.stopped, HS_ERR_IO, "GET /next: aborted");
    HS_ENSURE_MSG(r.status == 200, HS_ERR_IO, "GET /next answered %ld", r.status);
    inv->too_large = r.overflow;
    aws_lambda_header_copy(l->http, "Lambda-Runtime-Aws-Request-Id", "-_.", inv->request_id,
                           sizeof(inv->request_id));
    HS_ENSURE_MSG(inv->request_id[0] != '\0', HS_ERR_IO,
                  "GET /next: no valid Lambda-Runtime-Aws-Request-Id");
    aws_lambda_header_copy(l->http, "Lambda-Runtime-Trace-Id", NULL, inv->trace_id,
                           sizeof(inv->trace_id));
    char deadline[AWS_LAMBDA_DEADLINE_DIGITS + 1];
    aws_lambda_header_copy(l->http, "Lambda-Runtime-Deadline-Ms", "", deadline, sizeof(deadline));
    bool digits = deadline[0] != '\0' && strspn(deadline, "0123456789") == strlen(deadline);
    inv->deadline_ms = digits ? strtoll(deadline, NULL, 10) : 0;
    return HS_OK;
}

HS_RESULT aws_lambda_runtime_respond(struct aws_lambda_runtime *l,
                                     const struct aws_lambda_invocation *inv,
                                     const struct hs_buf *payload, long *runtime_status)
{
    HS_ENSURE_REF(l);
    HS_ENSURE_REF(inv);
    HS_ENSURE_REF(payload);
    char url[AWS_LAMBDA_URL_MAX];
    HS_GUARD(aws_lambda_url(l, "/invocation/", inv->request_id, "/response", url));
    struct aws_lambda_reply reply = {0};
    HS_GUARD(aws_lambda_post(l, url, payload, NULL, &reply));
    *runtime_status = reply.status;
    return HS_OK;
}

HS_RESULT aws_lambda_runtime_error(struct aws_lambda_runtime *l,
                                   const struct aws_lambda_invocation *inv, const char *error_type,
                                   const char *message, long *runtime_status)
{
    HS_ENSURE_REF(l);
    HS_ENSURE_REF(inv);
    HS_ENSURE_REF(error_type);
    HS_ENSURE_REF(message);
    char url[AWS_LAMBDA_URL_MAX];
    HS_GUARD(aws_lambda_url(l, "/invocation/", inv->request_id, "/error", url));
    HS_DEFER(struct hs_buf *doc = NULL, hs_buf_freep);
    HS_GUARD(aws_lambda_error_doc(error_type, message, &doc));
    struct aws_lambda_reply reply = {0};
    HS_GUARD(aws_lambda_post(l, url, doc, error_type, &reply));
    *runtime_status = reply.status;
    return HS_OK;
}

long long aws_lambda_remaining_ms(const struct aws_lambda_invocation *inv)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long now_ms = (long long)now.tv_sec * 1000LL + now.tv_nsec / 1000000;
    return inv->deadline_ms > 0 ? inv->deadline_ms - now_ms : 0;
}
