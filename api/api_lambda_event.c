#include "api/api_lambda_event.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/hs_defer.h"
#include "common/hs_json.h"

#define API_LAMBDA_VERSION_MAX 16 /* bytes of the event's "version" */

/* --- small helpers ---------------------------------------------------------------------------- */

static bool api_lambda_is_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool api_lambda_is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* RFC 3986 §2.3 unreserved. */
static bool api_lambda_is_unreserved(unsigned char c)
{
    return api_lambda_is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 3986 §3.3 pchar without pct-encoded: unreserved, sub-delims, ':' and '@'. */
static bool api_lambda_is_pchar(unsigned char c)
{
    return api_lambda_is_unreserved(c) || strchr("!$&'()*+,;=:@", c) != NULL;
}

/* True when every byte of s[0..n) is in the set `extra` or alphanumeric. */
static bool api_lambda_chars_ok(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!api_lambda_is_alnum(c) && (c == '\0' || strchr(extra, c) == NULL)) {
            return false;
        }
    }
    return true;
}

/* RFC 9110 §5.6.2 token (the method). */
static bool api_lambda_is_token(const char *s, size_t n)
{
    return n > 0 && api_lambda_chars_ok(s, n, "!#$%&'*+-.^_`|~");
}

/* Appends n bytes to b, keeping one byte free for hs_buf_cstr()'s terminator; a bound breached
 * by the request is the client's HS_ERR_INPUT_TOO_LARGE, not an internal HS_ERR_BOUNDS. */
static HS_RESULT api_lambda_put(struct hs_buf *b, const void *p, size_t n, const char *what)
{
    HS_ENSURE_MSG(n < hs_buf_max(b) - hs_buf_len(b), HS_ERR_INPUT_TOO_LARGE, "%s is over %zu bytes",
                  what, hs_buf_max(b) - 1);
    return hs_buf_put(b, p, n);
}

/* Appends c, or %XX (upper-case hex, RFC 3986 §2.1) when keep is false. */
static HS_RESULT api_lambda_put_pct(struct hs_buf *b, unsigned char c, bool keep, const char *what)
{
    static const char digits[] = "0123456789ABCDEF";
    const char esc[3] = {'%', digits[c >> 4], digits[c & 0x0f]};
    return keep ? api_lambda_put(b, &c, 1, what) : api_lambda_put(b, esc, sizeof(esc), what);
}

/* --- event decoding --------------------------------------------------------------------------- */

struct api_lambda_event {
    json_object *doc;
    enum api_lambda_payload payload;
    json_object *ctx;   /* requestContext, lent from doc */
    const char *method; /* lent from doc */
    const char *path;   /* lent from doc; rawPath (v2) or path (v1) */
    size_t path_len;
    struct hs_buf *target; /* rebuilt request-target, NUL-terminated by hs_buf_cstr() */
    struct hs_buf *cookie; /* v2 cookies joined with "; " */
    struct hs_buf *body;   /* a decoded base64 body */
    struct api_header headers[API_LAMBDA_HEADERS_MAX];
    size_t nheaders;
    struct api_lambda_sqs_record sqs[API_LAMBDA_SQS_RECORDS_MAX]; /* SQS: the records */
    size_t nsqs;
};

void api_lambda_event_free(struct api_lambda_event *ev)
{
    if (ev != NULL) {
        json_object_put(ev->doc);
        hs_buf_free(ev->target);
        hs_buf_free(ev->cookie);
        hs_buf_free(ev->body);
        OPENSSL_free(ev);
    }
}

void api_lambda_event_freep(struct api_lambda_event **ev)
{
    api_lambda_event_free(*ev);
}

enum api_lambda_payload api_lambda_event_payload(const struct api_lambda_event *ev)
{
    return ev->payload;
}

/* Lends the string value v (empty allowed) and its length; what names it in the detail. */
static HS_RESULT api_lambda_str_value(json_object *v, const char *what, size_t max,
                                      const char **out, size_t *out_len)
{
    HS_ENSURE_MSG(json_object_is_type(v, json_type_string), HS_ERR_INPUT_FIELD,
                  "%s must be a string", what);
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    HS_ENSURE_MSG(n <= max, HS_ERR_INPUT_TOO_LARGE, "%s is over %zu bytes", what, max);
    HS_ENSURE_MSG(memchr(s, '\0', n) == NULL, HS_ERR_INPUT_FIELD, "%s holds a NUL byte", what);
    *out = s;
    *out_len = n;
    return HS_OK;
}

/* Lends the string member key of obj (NULL when absent or null and !required). */
static HS_RESULT api_lambda_get_str(json_object *obj, const char *key, bool required, size_t max,
                                    const char **out, size_t *out_len)
{
    json_object *v = NULL;
    HS_GUARD(hs_json_get_typed(obj, key, required, json_type_string, &v));
    *out = NULL;
    *out_len = 0;
    return v != NULL ? api_lambda_str_value(v, key, max, out, out_len) : HS_OK;
}

/* Lends the member at the path keys[0].keys[1]... (NULL-terminated) of obj when it has type
 * `type`; NULL when a member on the way is absent or null. */
static HS_RESULT api_lambda_member(json_object *obj, const char *const *keys, json_type type,
                                   json_object **out)
{
    json_object *cur = obj;
    for (size_t i = 0; cur != NULL && keys[i] != NULL; i++) {
        json_type want = keys[i + 1] != NULL ? json_type_object : type;
        HS_GUARD(hs_json_get_typed(cur, keys[i], false, want, &cur));
    }
    *out = cur;
    return HS_OK;
}

static HS_RESULT api_lambda_envelope_v2(struct api_lambda_event *ev)
{
    static const char *const method_path[] = {"http", "method", NULL};
    json_object *method = NULL;
    size_t n = 0;
    HS_GUARD(hs_json_get_typed(ev->doc, "requestContext", true, json_type_object, &ev->ctx));
    HS_GUARD(api_lambda_member(ev->ctx, method_path, json_type_string, &method));
    HS_ENSURE_MSG(method != NULL, HS_ERR_INPUT_FIELD, "requestContext.http.method is required");
    HS_GUARD(api_lambda_str_value(method, "requestContext.http.method", API_SIGV4_METHOD_MAX,
                                  &ev->method, &n));
    HS_ENSURE_MSG(api_lambda_is_token(ev->method, n), HS_ERR_INPUT_FIELD,
                  "requestContext.http.method is not an HTTP method");
    return api_lambda_get_str(ev->doc, "rawPath", true, API_LAMBDA_EVENT_MAX, &ev->path,
                              &ev->path_len);
}

static HS_RESULT api_lambda_envelope_v1(struct api_lambda_event *ev)
{
    size_t n = 0;
    HS_GUARD(
        api_lambda_get_str(ev->doc, "httpMethod", true, API_SIGV4_METHOD_MAX, &ev->method, &n));
    HS_ENSURE_MSG(api_lambda_is_token(ev->method, n), HS_ERR_INPUT_FIELD,
                  "httpMethod is not an HTTP method");
    HS_GUARD(hs_json_get_typed(ev->doc, "requestContext", true, json_type_object, &ev->ctx));
    return api_lambda_get_str(ev->doc, "path", true, API_LAMBDA_EVENT_MAX, &ev->path,
                              &ev->path_len);
}

/* --- SQS events ------------------------------------------------------------------------------- */

/* Lends string member key of rec when present, a string of at most max bytes without NUL;
 * false otherwise (absent counts as bad when required). */
static bool api_lambda_sqs_str(json_object *rec, const char *key, bool required, size_t max,
                               const char **out, size_t *out_len)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(rec, key, &v) || json_object_is_type(v, json_type_null)) {
        *out = NULL;
        *out_len = 0;
        return !required;
    }
    if (!json_object_is_type(v, json_type_string)) {
        return false;
    }
    *out = json_object_get_string(v);
    *out_len = (size_t)json_object_get_string_len(v);
    return *out_len <= max && memchr(*out, '\0', *out_len) == NULL;
}

/* attributes.ApproximateReceiveCount: 1..9 decimal digits when present. */
static bool api_lambda_sqs_receive_count(json_object *rec, unsigned long *out)
{
    json_object *attrs = NULL;
    *out = 0;
    if (!json_object_object_get_ex(rec, "attributes", &attrs) ||
        json_object_is_type(attrs, json_type_null)) {
        return true;
    }
    const char *s = NULL;
    size_t n = 0;
    if (!json_object_is_type(attrs, json_type_object) ||
        !api_lambda_sqs_str(attrs, "ApproximateReceiveCount", false, 9, &s, &n)) {
        return false;
    }
    if (s == NULL) {
        return true;
    }
    if (n == 0 || strspn(s, "0123456789") != n) {
        return false;
    }
    *out = strtoul(s, NULL, 10);
    return true;
}

/* Everything of a record besides its messageId; false marks it invalid. */
static bool api_lambda_sqs_fields(json_object *rec, struct api_lambda_sqs_record *out)
{
    const char *source = NULL;
    const char *handle = NULL;
    size_t n = 0;
    const char *arn = NULL;
    bool ok =
        api_lambda_sqs_str(rec, "eventSource", true, 16, &source, &n) &&
        strcmp(source, "aws:sqs") == 0 &&
        api_lambda_sqs_str(rec, "receiptHandle", true, API_LAMBDA_SQS_HANDLE_MAX, &handle, &n) &&
        api_lambda_sqs_str(rec, "eventSourceARN", false, API_LAMBDA_SQS_ARN_MAX, &arn, &n) &&
        api_lambda_sqs_receive_count(rec, &out->receive_count) &&
        api_lambda_sqs_str(rec, "body", true, API_LAMBDA_SQS_BODY_MAX, &out->body, &out->body_len);
    out->source_arn = arn != NULL ? arn : "";
    if (!ok) {
        out->body = NULL;
        out->body_len = 0;
    }
    return ok;
}

static HS_RESULT api_lambda_sqs_one(json_object *rec, size_t i, struct api_lambda_sqs_record *out)
{
    const char *id = NULL;
    size_t n = 0;
    HS_ENSURE_MSG(json_object_is_type(rec, json_type_object), HS_ERR_INPUT_FIELD,
                  "SQS record %zu is not an object", i);
    HS_ENSURE_MSG(api_lambda_sqs_str(rec, "messageId", true, API_LAMBDA_SQS_ID_MAX, &id, &n) &&
                      n > 0 && api_lambda_chars_ok(id, n, "-_"),
                  HS_ERR_INPUT_FIELD,
                  "SQS record %zu has no messageId of 1..%d letters, digits, '-' or '_'", i,
                  API_LAMBDA_SQS_ID_MAX);
    *out = (struct api_lambda_sqs_record){.message_id = id};
    out->valid = api_lambda_sqs_fields(rec, out);
    return HS_OK;
}

static HS_RESULT api_lambda_envelope_sqs(struct api_lambda_event *ev, json_object *records)
{
    HS_ENSURE_MSG(json_object_is_type(records, json_type_array), HS_ERR_INPUT_FIELD,
                  "Records must be an array");
    size_t n = json_object_array_length(records);
    HS_ENSURE_MSG(n >= 1 && n <= API_LAMBDA_SQS_RECORDS_MAX, HS_ERR_INPUT_FIELD,
                  "an SQS event holds 1..%d records", API_LAMBDA_SQS_RECORDS_MAX);
    for (size_t i = 0; i < n; i++) {
        HS_GUARD(api_lambda_sqs_one(json_object_array_get_idx(records, i), i, &ev->sqs[i]));
    }
    ev->nsqs = n;
    ev->payload = API_LAMBDA_PAYLOAD_SQS;
    return HS_OK;
}

size_t api_lambda_sqs_count(const struct api_lambda_event *ev)
{
    return ev != NULL && ev->payload == API_LAMBDA_PAYLOAD_SQS ? ev->nsqs : 0;
}

const struct api_lambda_sqs_record *api_lambda_sqs_record(const struct api_lambda_event *ev,
                                                          size_t i)
{
    return i < api_lambda_sqs_count(ev) ? &ev->sqs[i] : NULL;
}

/* {"itemIdentifier": id} appended to list. */
static HS_RESULT api_lambda_sqs_failure(json_object *list, const char *id)
{
    HS_DEFER(json_object *item = json_object_new_object(), hs_json_putp);
    HS_ENSURE(item != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_json_add(item, "itemIdentifier", json_object_new_string(id)));
    HS_ENSURE(json_object_array_add(list, item) == 0, HS_ERR_NOMEM);
    item = NULL;
    return HS_OK;
}

HS_RESULT api_lambda_sqs_dispatch(const struct api_lambda_event *ev,
                                  const struct api_lambda_sqs_handler *h, size_t *failed,
                                  struct hs_buf **out)
{
    HS_ENSURE_REF(ev);
    HS_ENSURE(h != NULL && h->fn != NULL && failed != NULL && out != NULL, HS_ERR_INTERNAL);
    HS_ENSURE_MSG(ev->payload == API_LAMBDA_PAYLOAD_SQS, HS_ERR_INTERNAL, "not an SQS event");
    HS_DEFER(json_object *doc = json_object_new_object(), hs_json_putp);
    HS_ENSURE(doc != NULL, HS_ERR_NOMEM);
    json_object *list = json_object_new_array();
    HS_GUARD(hs_json_add(doc, "batchItemFailures", list));
    size_t nfailed = 0;
    for (size_t i = 0; i < ev->nsqs; i++) {
        const struct api_lambda_sqs_record *rec = &ev->sqs[i];
        bool ok = rec->valid;
        if (ok) {
            hs_error_clear();
            ok = !hs_failed(h->fn(h->arg, rec));
        }
        if (!ok) {
            HS_GUARD(api_lambda_sqs_failure(list, rec->message_id));
            nfailed++;
        }
    }
    const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
    HS_ENSURE(text != NULL, HS_ERR_NOMEM);
    HS_DEFER(struct hs_buf *b = hs_buf_new(API_LAMBDA_SQS_RESPONSE_MAX), hs_buf_freep);
    HS_ENSURE(b != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put_str(b, text));
    *failed = nfailed;
    *out = b;
    b = NULL;
    return HS_OK;
}

/* Tells the payload version and checks the members every request needs. */
static HS_RESULT api_lambda_envelope(struct api_lambda_event *ev)
{
    json_object *records = NULL;
    if (json_object_object_get_ex(ev->doc, "Records", &records)) {
        return api_lambda_envelope_sqs(ev, records);
    }
    const char *version = NULL;
    size_t n = 0;
    HS_GUARD(api_lambda_get_str(ev->doc, "version", false, API_LAMBDA_VERSION_MAX, &version, &n));
    if (version != NULL && strcmp(version, "2.0") == 0) {
        ev->payload = API_LAMBDA_PAYLOAD_V2;
        HS_GUARD(api_lambda_envelope_v2(ev));
    } else {
        HS_ENSURE_MSG(version == NULL || strcmp(version, "1.0") == 0, HS_ERR_INPUT_FIELD,
                      "payload version is neither \"2.0\" nor \"1.0\"");
        ev->payload = API_LAMBDA_PAYLOAD_V1;
        HS_GUARD(api_lambda_envelope_v1(ev));
    }
    HS_ENSURE_MSG(ev->path_len > 0 && ev->path[0] == '/', HS_ERR_INPUT_FIELD,
                  "the path does not start with '/'");
    return HS_OK;
}

HS_RESULT api_lambda_event_parse(const char *text, size_t len, struct api_lambda_event **out)
{
    HS_ENSURE(text != NULL || len == 0, HS_ERR_INTERNAL);
    HS_ENSURE_REF(out);
    HS_ENSURE_MSG(len <= API_LAMBDA_EVENT_MAX, HS_ERR_INPUT_TOO_LARGE, "event over %d bytes",
                  API_LAMBDA_EVENT_MAX);
    HS_DEFER(struct api_lambda_event *ev = OPENSSL_zalloc(sizeof(*ev)), api_lambda_event_freep);
    HS_ENSURE(ev != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_json_parse_object(text, len, API_LAMBDA_EVENT_MAX, HS_JSON_DEPTH_MAX, &ev->doc));
    HS_GUARD(api_lambda_envelope(ev));
    *out = ev;
    ev = NULL;
    return HS_OK;
}

/* The path as a raw request line carries it: bytes that may stand literally in an encoded
 * path are kept, a '%' starting a valid escape is kept, everything else is %XX. */
static HS_RESULT api_lambda_target_path(struct api_lambda_event *ev)
{
    const unsigned char *p = (const unsigned char *)ev->path;
    size_t n = ev->path_len;
    for (size_t i = 0; i < n; i++) {
        bool escape =
            p[i] == '%' && i + 2 < n && api_lambda_is_hex(p[i + 1]) && api_lambda_is_hex(p[i + 2]);
        bool keep = api_lambda_is_pchar(p[i]) || p[i] == '/' || escape;
        HS_GUARD(api_lambda_put_pct(ev->target, p[i], keep, "the request-target"));
    }
    return HS_OK;
}

/* v2 rawQueryString, still encoded: kept, except bytes a request line cannot carry. */
static HS_RESULT api_lambda_target_raw_query(struct api_lambda_event *ev)
{
    const char *q = NULL;
    size_t n = 0;
    HS_GUARD(api_lambda_get_str(ev->doc, "rawQueryString", false, API_LAMBDA_TARGET_MAX, &q, &n));
    const unsigned char *p = (const unsigned char *)q;
    if (n > 0) {
        HS_GUARD(api_lambda_put(ev->target, "?", 1, "the request-target"));
    }
    for (size_t i = 0; i < n; i++) {
        bool escape =
            p[i] == '%' && i + 2 < n && api_lambda_is_hex(p[i + 1]) && api_lambda_is_hex(p[i + 2]);
        bool keep = api_lambda_is_pchar(p[i]) || p[i] == '/' || p[i] == '?' || escape;
        HS_GUARD(api_lambda_put_pct(ev->target, p[i], keep, "the request-target"));
    }
    return HS_OK;
}

/* Appends "name=value" (each fully encoded), preceded by '?' or '&'. */
static HS_RESULT api_lambda_target_param(struct api_lambda_event *ev, bool first, const char *name,
                                         json_object *value)
{
    const char *v = NULL;
    size_t vn = 0;
    HS_GUARD(api_lambda_str_value(value, "a query string value", API_LAMBDA_TARGET_MAX, &v, &vn));
    HS_GUARD(api_lambda_put(ev->target, first ? "?" : "&", 1, "the request-target"));
    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
        HS_GUARD(
            api_lambda_put_pct(ev->target, *p, api_lambda_is_unreserved(*p), "the request-target"));
    }
    HS_GUARD(api_lambda_put(ev->target, "=", 1, "the request-target"));
    for (size_t i = 0; i < vn; i++) {
        unsigned char c = (unsigned char)v[i];
        HS_GUARD(
            api_lambda_put_pct(ev->target, c, api_lambda_is_unreserved(c), "the request-target"));
    }
    return HS_OK;
}

/* v1 query parameters, decoded by API Gateway: multiValueQueryStringParameters {name: [v]},
 * else queryStringParameters {name: v}, re-encoded in the event's order. */
static HS_RESULT api_lambda_target_params(struct api_lambda_event *ev)
{
    json_object *multi = NULL;
    json_object *single = NULL;
    bool first = true;
    HS_GUARD(hs_json_get_typed(ev->doc, "multiValueQueryStringParameters", false, json_type_object,
                               &multi));
    HS_GUARD(hs_json_get_typed(ev->doc, "queryStringParameters", false, json_type_object, &single));
    json_object *params = multi != NULL ? multi : single;
    if (params == NULL) {
        return HS_OK;
    }
    json_object_object_foreach(params, name, val)
    {
        bool list = multi != NULL;
        HS_ENSURE_MSG(!list || json_object_is_type(val, json_type_array), HS_ERR_INPUT_FIELD,
                      "multiValueQueryStringParameters values must be arrays");
        size_t count = list ? json_object_array_length(val) : 1;
        for (size_t i = 0; i < count; i++) {
            json_object *v = list ? json_object_array_get_idx(val, i) : val;
            HS_GUARD(api_lambda_target_param(ev, first, name, v));
            first = false;
        }
    }
    return HS_OK;
}

static HS_RESULT api_lambda_target(struct api_lambda_event *ev)
{
    hs_buf_free(ev->target);
    ev->target = hs_buf_new(API_LAMBDA_TARGET_MAX + 1);
    HS_ENSURE(ev->target != NULL, HS_ERR_NOMEM);
    HS_GUARD(api_lambda_target_path(ev));
    HS_GUARD(ev->payload == API_LAMBDA_PAYLOAD_V2 ? api_lambda_target_raw_query(ev)
                                                  : api_lambda_target_params(ev));
    return HS_OK;
}

static HS_RESULT api_lambda_header_add(struct api_lambda_event *ev, const char *name,
                                       json_object *value)
{
    const char *v = NULL;
    size_t vn = 0;
    size_t nn = strlen(name);
    HS_ENSURE_MSG(ev->nheaders < API_LAMBDA_HEADERS_MAX, HS_ERR_INPUT_TOO_LARGE,
                  "more than %d headers", API_LAMBDA_HEADERS_MAX);
    HS_ENSURE_MSG(nn <= API_LAMBDA_HEADER_NAME_MAX, HS_ERR_INPUT_TOO_LARGE,
                  "a header name is over %d bytes", API_LAMBDA_HEADER_NAME_MAX);
    HS_ENSURE_MSG(api_lambda_is_token(name, nn), HS_ERR_INPUT_FIELD,
                  "a header name is not an HTTP token");
    HS_GUARD(api_lambda_str_value(value, "a header value", API_LAMBDA_HEADER_VALUE_MAX, &v, &vn));
    ev->headers[ev->nheaders++] = (struct api_header){name, v};
    return HS_OK;
}

/* v2 cookies: an array of "name=value" strings, sent on as one Cookie header. */
static HS_RESULT api_lambda_cookies(struct api_lambda_event *ev)
{
    json_object *cookies = NULL;
    HS_GUARD(hs_json_get_typed(ev->doc, "cookies", false, json_type_array, &cookies));
    size_t n = cookies != NULL ? json_object_array_length(cookies) : 0;
    if (n == 0) {
        return HS_OK;
    }
    hs_buf_free(ev->cookie);
    ev->cookie = hs_buf_new(API_LAMBDA_HEADER_VALUE_MAX + 1);
    HS_ENSURE(ev->cookie != NULL, HS_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        const char *c = NULL;
        size_t cn = 0;
        HS_GUARD(api_lambda_str_value(json_object_array_get_idx(cookies, i), "a cookie",
                                      API_LAMBDA_HEADER_VALUE_MAX, &c, &cn));
        if (i > 0) {
            HS_GUARD(api_lambda_put(ev->cookie, "; ", 2, "the cookie header"));
        }
        HS_GUARD(api_lambda_put(ev->cookie, c, cn, "the cookie header"));
    }
    const char *value = NULL;
    HS_GUARD(hs_buf_cstr(ev->cookie, &value));
    HS_ENSURE_MSG(ev->nheaders < API_LAMBDA_HEADERS_MAX, HS_ERR_INPUT_TOO_LARGE,
                  "more than %d headers", API_LAMBDA_HEADERS_MAX);
    ev->headers[ev->nheaders++] = (struct api_header){"cookie", value};
    return HS_OK;
}

static HS_RESULT api_lambda_headers(struct api_lambda_event *ev)
{
    json_object *multi = NULL;
    json_object *single = NULL;
    ev->nheaders = 0;
    if (ev->payload == API_LAMBDA_PAYLOAD_V1) {
        HS_GUARD(hs_json_get_typed(ev->doc, "multiValueHeaders", false, json_type_object, &multi));
    }
    HS_GUARD(hs_json_get_typed(ev->doc, "headers", false, json_type_object, &single));
    if (multi != NULL) {
        json_object_object_foreach(multi, name, values)
        {
            HS_ENSURE_MSG(json_object_is_type(values, json_type_array), HS_ERR_INPUT_FIELD,
                          "multiValueHeaders values must be arrays");
            for (size_t i = 0; i < json_object_array_length(values); i++) {
                HS_GUARD(api_lambda_header_add(ev, name, json_object_array_get_idx(values, i)));
            }
        }
    } else if (single != NULL) {
        json_object_object_foreach(single, name, value)
        {
            HS_GUARD(api_lambda_header_add(ev, name, value));
        }
    }
    return ev->payload == API_LAMBDA_PAYLOAD_V2 ? api_lambda_cookies(ev) : HS_OK;
}

static int api_lambda_b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    return c == '+' ? 62 : (c == '/' ? 63 : -1);
}

/* Strict standard base64 (RFC 4648 §4): the alphabet, '=' padding only at the end, length a
 * multiple of 4. libcrypto's EVP_DecodeBlock is laxer (it takes "Y===" and skips whitespace),
 * so the text is checked first and the padding bytes it decodes are dropped. */
static HS_RESULT api_lambda_b64_decode(const char *text, size_t n, struct hs_buf **out)
{
    HS_ENSURE_MSG(n % 4 == 0 && n <= INT_MAX, HS_ERR_INPUT_FIELD,
                  "body: base64 length is not a multiple of 4");
    size_t pad = (n >= 1 && text[n - 1] == '=') + (n >= 2 && text[n - 2] == '=');
    for (size_t i = 0; i < n - pad; i++) {
        HS_ENSURE_MSG(api_lambda_b64_value((unsigned char)text[i]) >= 0, HS_ERR_INPUT_FIELD,
                      "body: not standard base64");
    }
    HS_DEFER(struct hs_buf *b = hs_buf_new(n / 4 * 3 + 1), hs_buf_freep);
    HS_ENSURE(b != NULL, HS_ERR_NOMEM);
    if (n > 0) {
        unsigned char *p = NULL;
        HS_GUARD(hs_buf_reserve(b, n / 4 * 3, &p));
        int got = EVP_DecodeBlock(p, (const unsigned char *)text, (int)n);
        HS_ENSURE_MSG(got >= 0 && (size_t)got == n / 4 * 3, HS_ERR_INPUT_FIELD,
                      "body: not standard base64");
        HS_GUARD(hs_buf_commit(b, (size_t)got - pad));
    }
    *out = b;
    b = NULL;
    return HS_OK;
}

static HS_RESULT api_lambda_body(struct api_lambda_event *ev, const unsigned char **out,
                                 size_t *out_len)
{
    json_object *body = NULL;
    bool b64 = false;
    HS_GUARD(hs_json_get_typed(ev->doc, "body", false, json_type_string, &body));
    HS_GUARD(hs_json_get_bool(ev->doc, "isBase64Encoded", false, false, &b64));
    const char *text = body != NULL ? json_object_get_string(body) : NULL;
    size_t n = body != NULL ? (size_t)json_object_get_string_len(body) : 0;
    if (!b64 || text == NULL) {
        /* A body over API_BODY_MAX is passed on: api_route answers it 413. */
        *out = (const unsigned char *)text;
        *out_len = n;
        return HS_OK;
    }
    hs_buf_free(ev->body);
    ev->body = NULL;
    HS_GUARD(api_lambda_b64_decode(text, n, &ev->body));
    *out = hs_buf_data(ev->body);
    *out_len = hs_buf_len(ev->body);
    return HS_OK;
}

/* Lends the string at path (NULL when absent, null or empty). */
static HS_RESULT api_lambda_context_str(struct api_lambda_event *ev, const char *const *path,
                                        const char *what, size_t max, const char **out)
{
    json_object *v = NULL;
    const char *s = NULL;
    size_t n = 0;
    HS_GUARD(api_lambda_member(ev->ctx, path, json_type_string, &v));
    if (v != NULL) {
        HS_GUARD(api_lambda_str_value(v, what, max, &s, &n));
    }
    *out = n > 0 ? s : NULL;
    return HS_OK;
}

/* Who API Gateway authenticated: the IAM principal and the mTLS client certificate. An empty
 * value counts as none, so it can only ever lead to a refusal. */
static HS_RESULT api_lambda_identity(struct api_lambda_event *ev, const char **principal,
                                     const char **cert)
{
    static const char *const v2_arn[] = {"authorizer", "iam", "userArn", NULL};
    static const char *const v2_cert[] = {"authentication", "clientCert", "clientCertPem", NULL};
    static const char *const v1_arn[] = {"identity", "userArn", NULL};
    static const char *const v1_cert[] = {"identity", "clientCert", "clientCertPem", NULL};
    bool v2 = ev->payload == API_LAMBDA_PAYLOAD_V2;
    HS_GUARD(api_lambda_context_str(ev, v2 ? v2_arn : v1_arn, "the principal ARN",
                                    API_LAMBDA_ARN_MAX, principal));
    HS_GUARD(api_lambda_context_str(ev, v2 ? v2_cert : v1_cert, "clientCertPem",
                                    API_LAMBDA_CERT_PEM_MAX, cert));
    return HS_OK;
}

HS_RESULT api_lambda_event_request(struct api_lambda_event *ev, struct api_request *out)
{
    HS_ENSURE_REF(ev);
    HS_ENSURE_REF(out);
    HS_ENSURE_MSG(ev->payload != API_LAMBDA_PAYLOAD_SQS, HS_ERR_INPUT_FIELD,
                  "an SQS event is not an HTTP request");
    const unsigned char *body = NULL;
    size_t body_len = 0;
    const char *principal = NULL;
    const char *cert = NULL;
    const char *target = NULL;
    HS_GUARD(api_lambda_target(ev));
    HS_GUARD(hs_buf_cstr(ev->target, &target));
    HS_GUARD(api_lambda_headers(ev));
    HS_GUARD(api_lambda_body(ev, &body, &body_len));
    HS_GUARD(api_lambda_identity(ev, &principal, &cert));
    *out = (struct api_request){
        .method = ev->method,
        .target = target,
        .headers = ev->headers,
        .nheaders = ev->nheaders,
        .body = body,
        .body_len = body_len,
        .transport = API_TRANSPORT_GATEWAY,
        .principal = principal,
        .client_cert_pem = cert,
    };
    return HS_OK;
}

/* --- response encoding ------------------------------------------------------------------------ */

static HS_RESULT api_lambda_response_headers(const struct api_response *resp, const char *req_id,
                                             json_object *obj)
{
    json_object *h = json_object_new_object();
    HS_GUARD(hs_json_add(obj, "headers", h));
    if (resp->content_type != NULL) {
        HS_GUARD(hs_json_add(h, "Content-Type", json_object_new_string(resp->content_type)));
    }
    if (resp->cache_control != NULL) {
        HS_GUARD(hs_json_add(h, "Cache-Control", json_object_new_string(resp->cache_control)));
    }
    if (resp->retry_after_s > 0) {
        char retry[24];
        int n = snprintf(retry, sizeof(retry), "%ld", resp->retry_after_s);
        HS_ENSURE(n > 0 && (size_t)n < sizeof(retry), HS_ERR_BOUNDS);
        HS_GUARD(hs_json_add(h, "Retry-After", json_object_new_string(retry)));
    }
    if (resp->location[0] != '\0') {
        HS_GUARD(hs_json_add(h, "Location", json_object_new_string(resp->location)));
    }
    if (resp->allow[0] != '\0') {
        HS_GUARD(hs_json_add(h, "Allow", json_object_new_string(resp->allow)));
    }
    if (resp->etag[0] != '\0') {
        HS_GUARD(hs_json_add(h, "ETag", json_object_new_string(resp->etag)));
    }
    for (size_t i = 0; resp->headers != NULL && resp->headers[i][0] != NULL; i++) {
        HS_GUARD(hs_json_add(h, resp->headers[i][0], json_object_new_string(resp->headers[i][1])));
    }
    if (resp->head) {
        /* HEAD: the GET answer's headers and length, no body (RFC 9110 §9.3.2). */
        size_t len = resp->body != NULL ? hs_buf_len(resp->body) : 0;
        char text[24];
        int n = snprintf(text, sizeof(text), "%zu", len);
        HS_ENSURE(n > 0 && (size_t)n < sizeof(text), HS_ERR_BOUNDS);
        HS_GUARD(hs_json_add(h, "Content-Length", json_object_new_string(text)));
    }
    HS_GUARD(hs_json_add(h, "X-Request-Id", json_object_new_string(req_id)));
    HS_GUARD(hs_json_add(h, "X-Content-Type-Options", json_object_new_string("nosniff")));
    return HS_OK;
}

/* The body as a JSON string: text as is, binary as padded standard base64. */
static HS_RESULT api_lambda_response_body(const struct api_response *resp, json_object *obj)
{
    const unsigned char *data = resp->body != NULL ? hs_buf_data(resp->body) : NULL;
    size_t len = resp->body != NULL && !resp->head ? hs_buf_len(resp->body) : 0;
    HS_ENSURE(len <= API_RESPONSE_MAX, HS_ERR_BOUNDS);
    if (!resp->binary || len == 0) {
        HS_GUARD(hs_json_add(
            obj, "body", json_object_new_string_len(len > 0 ? (const char *)data : "", (int)len)));
        return hs_json_add(obj, "isBase64Encoded", json_object_new_boolean(0));
    }
    size_t b64_len = (len + 2) / 3 * 4;
    HS_DEFER(struct hs_buf *b64 = hs_buf_new(b64_len + 1), hs_buf_freep);
    HS_ENSURE(b64 != NULL, HS_ERR_NOMEM);
    unsigned char *p = NULL;
    HS_GUARD(hs_buf_reserve(b64, b64_len + 1, &p));
    int n = EVP_EncodeBlock(p, data, (int)len);
    HS_ENSURE(n >= 0 && (size_t)n == b64_len, HS_ERR_CRYPTO);
    HS_GUARD(hs_buf_commit(b64, (size_t)n));
    HS_GUARD(
        hs_json_add(obj, "body", json_object_new_string_len((const char *)hs_buf_data(b64), n)));
    return hs_json_add(obj, "isBase64Encoded", json_object_new_boolean(1));
}

HS_RESULT api_lambda_response_encode(const struct api_response *resp, const char *req_id,
                                     struct hs_buf **out)
{
    HS_ENSURE_REF(resp);
    HS_ENSURE_REF(req_id);
    HS_ENSURE_REF(out);
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_json_add(obj, "statusCode", json_object_new_int((int)resp->status)));
    HS_GUARD(api_lambda_response_headers(resp, req_id, obj));
    HS_GUARD(api_lambda_response_body(resp, obj));
    size_t len = 0;
    const char *text = json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    HS_ENSURE(text != NULL, HS_ERR_NOMEM);
    /* A body may carry a private key (GET /v1/ssh/keys/{id}, unsealed): as over HTTP, every copy
     * is wiped, json-c's own (the body string and the serialised text) before they are freed. */
    HS_DEFER(struct hs_buf *payload = hs_buf_new_sensitive(API_LAMBDA_PAYLOAD_MAX), hs_buf_freep);
    HS_ENSURE(payload != NULL, HS_ERR_NOMEM);
    hs_result put = hs_buf_put(payload, text, len);
    OPENSSL_cleanse((void *)text, len);
    json_object *body = NULL;
    if (json_object_object_get_ex(obj, "body", &body)) {
        OPENSSL_cleanse((void *)json_object_get_string(body),
                        (size_t)json_object_get_string_len(body));
    }
    HS_GUARD(put);
    *out = payload;
    payload = NULL;
    return HS_OK;
}
