/*
 * api_lambda's transport side without a Runtime API: API Gateway events (payload 2.0 and 1.0)
 * decoded into struct api_request, tables of malformed, wrong-typed, truncated and oversized
 * events with the exact error each must give, strict base64 bodies, request-target encoding, and
 * proxy responses (text and binary); SQS events (records handed over, invalid records and handler
 * failures reported in the partial batch response, envelope errors and bounds).
 */
#include <string.h>

#include <json-c/json.h>

#include "api/api_lambda_event.h"
#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "tests/testlib/hs_test.h"

#define V2_ARN "arn:aws:sts::111122223333:assumed-role/caller/session"
#define V1_ARN "arn:aws:iam::111122223333:user/rest-caller"

/* Concatenates the NULL-terminated parts into a new string (free()). */
static char *concat(const char *const *parts)
{
    size_t n = 1;
    for (size_t i = 0; parts[i] != NULL; i++) {
        n += strlen(parts[i]);
    }
    char *s = malloc(n);
    if (s == NULL) {
        return NULL;
    }
    size_t at = 0;
    for (size_t i = 0; parts[i] != NULL; i++) {
        memcpy(s + at, parts[i], strlen(parts[i]));
        at += strlen(parts[i]);
    }
    s[at] = '\0';
    return s;
}

/* A v2 event with rawPath path, rawQueryString query and the extra members (ending with ','). */
static char *v2_event(const char *path, const char *query, const char *extra)
{
    return concat((const char *const[]){
        "{\"version\": \"2.0\", \"rawPath\": \"", path, "\", \"rawQueryString\": \"", query, "\", ",
        extra,
        "\"requestContext\": {\"http\": {\"method\": \"POST\"}, \"authorizer\": {\"iam\": "
        "{\"userArn\": \"" V2_ARN "\"}}}}",
        NULL});
}

/* unit repeated times, between prefix and suffix (free()). */
static char *repeat(const char *unit, size_t times, const char *prefix, const char *suffix)
{
    size_t n = strlen(prefix) + strlen(unit) * times + strlen(suffix) + 1;
    char *s = malloc(n);
    if (s == NULL) {
        return NULL;
    }
    size_t at = strlen(prefix);
    memcpy(s, prefix, at);
    for (size_t i = 0; i < times; i++) {
        memcpy(s + at, unit, strlen(unit));
        at += strlen(unit);
    }
    memcpy(s + at, suffix, strlen(suffix) + 1);
    return s;
}

static HS_RESULT decode(const char *text, struct api_lambda_event **ev, struct api_request *req)
{
    HS_GUARD(api_lambda_event_parse(text, strlen(text), ev));
    return api_lambda_event_request(*ev, req);
}

static const char *header(const struct api_request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        if (strcmp(req->headers[i].name, name) == 0) {
            return req->headers[i].value;
        }
    }
    return NULL;
}

HS_TEST(v2_event_maps_every_member)
{
    static const char ev_text[] =
        "{\"version\": \"2.0\", \"routeKey\": \"POST /v1/tokens\", \"rawPath\": \"/v1/tokens\","
        " \"rawQueryString\": \"a=1&b=x%2Fy\", \"cookies\": [\"s=1\", \"t=2\"],"
        " \"headers\": {\"content-type\": \"application/json\", \"x-multi\": \"a,b\"},"
        " \"requestContext\": {\"http\": {\"method\": \"POST\", \"path\": \"/v1/tokens\"},"
        "   \"authorizer\": {\"iam\": {\"userArn\": \"" V2_ARN "\"}},"
        "   \"authentication\": {\"clientCert\": {\"clientCertPem\": \"-----BEGIN CERTIFICATE-----"
        "\\nMIIB\\n-----END CERTIFICATE-----\\n\"}}},"
        " \"body\": \"{\\\"audience\\\": \\\"x\\\"}\", \"isBase64Encoded\": false,"
        " \"futureMember\": {\"ignored\": true}}";
    HS_DEFER(struct api_lambda_event *ev = NULL, api_lambda_event_freep);
    struct api_request req = {0};
    HS_CHECK_OK(decode(ev_text, &ev, &req));
    HS_CHECK(api_lambda_event_payload(ev) == API_LAMBDA_PAYLOAD_V2);
    HS_CHECK(strcmp(req.method, "POST") == 0);
    HS_CHECK(strcmp(req.target, "/v1/tokens?a=1&b=x%2Fy") == 0);
    HS_CHECK(req.transport == API_TRANSPORT_GATEWAY);
    HS_CHECK(req.principal != NULL && strcmp(req.principal, V2_ARN) == 0);
    HS_CHECK(req.client_cert_pem != NULL &&
             strcmp(req.client_cert_pem,
                    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n") == 0);
    HS_CHECK(req.nheaders == 3);
    HS_CHECK(header(&req, "content-type") != NULL &&
             strcmp(header(&req, "content-type"), "application/json") == 0);
    HS_CHECK(header(&req, "x-multi") != NULL && strcmp(header(&req, "x-multi"), "a,b") == 0);
    HS_CHECK(header(&req, "cookie") != NULL && strcmp(header(&req, "cookie"), "s=1; t=2") == 0);
    HS_CHECK(req.body_len == 17 && memcmp(req.body, "{\"audience\": \"x\"}", 17) == 0);
}

HS_TEST(v1_event_maps_every_member)
{
    static const char ev_text[] =
        "{\"resource\": \"/v1/tokens\", \"path\": \"/v1/to kens\", \"httpMethod\": \"POST\","
        " \"headers\": {\"Host\": \"ignored-when-multi\"},"
        " \"multiValueHeaders\": {\"Host\": [\"h.example\"], \"X-Two\": [\"1\", \"2\"]},"
        " \"queryStringParameters\": {\"q\": \"last\"},"
        " \"multiValueQueryStringParameters\": {\"q\": [\"a b&c\", \"d/e\"], \"k~\": [\"\"]},"
        " \"requestContext\": {\"identity\": {\"userArn\": \"" V1_ARN "\", \"clientCert\": null},"
        "   \"stage\": \"prod\"},"
        " \"body\": \"e30=\", \"isBase64Encoded\": true}";
    HS_DEFER(struct api_lambda_event *ev = NULL, api_lambda_event_freep);
    struct api_request req = {0};
    HS_CHECK_OK(decode(ev_text, &ev, &req));
    HS_CHECK(api_lambda_event_payload(ev) == API_LAMBDA_PAYLOAD_V1);
    HS_CHECK(strcmp(req.target, "/v1/to%20kens?q=a%20b%26c&q=d%2Fe&k~=") == 0);
    HS_CHECK(req.nheaders == 3);
    HS_CHECK(header(&req, "Host") != NULL && strcmp(header(&req, "Host"), "h.example") == 0);
    HS_CHECK(req.principal != NULL && strcmp(req.principal, V1_ARN) == 0);
    HS_CHECK(req.client_cert_pem == NULL);
    HS_CHECK(req.body_len == 2 && memcmp(req.body, "{}", 2) == 0);
}

HS_TEST(v1_nulls_are_absent)
{
    static const char ev_text[] =
        "{\"version\": \"1.0\", \"path\": \"/.well-known/jwks.json\", \"httpMethod\": \"GET\","
        " \"headers\": null, \"multiValueHeaders\": null, \"queryStringParameters\": null,"
        " \"multiValueQueryStringParameters\": null, \"body\": null, \"isBase64Encoded\": false,"
        " \"requestContext\": {\"identity\": {\"userArn\": null, \"clientCert\": null}}}";
    HS_DEFER(struct api_lambda_event *ev = NULL, api_lambda_event_freep);
    struct api_request req = {0};
    HS_CHECK_OK(decode(ev_text, &ev, &req));
    HS_CHECK(strcmp(req.method, "GET") == 0);
    HS_CHECK(strcmp(req.target, "/.well-known/jwks.json") == 0);
    HS_CHECK(req.nheaders == 0 && req.body == NULL && req.body_len == 0);
    HS_CHECK(req.principal == NULL && req.client_cert_pem == NULL);
}

HS_TEST(target_is_encoded_as_a_request_line_would_be)
{
    static const struct {
        const char *path;
        const char *query;
        const char *target;
    } cases[] = {
        {"/v1/tokens", "", "/v1/tokens"},
        {"/v1/a b", "", "/v1/a%20b"},            /* decoded rawPath (HTTP APIs) */
        {"/v1/a%20b", "", "/v1/a%20b"},          /* already encoded: unchanged */
        {"/v1/100%", "", "/v1/100%25"},          /* a bare '%' */
        {"/v1/%zz", "", "/v1/%25zz"},            /* not an escape */
        {"/v1/a?b#c", "", "/v1/a%3Fb%23c"},      /* a decoded '?' or '#' cannot split the path */
        {"/v1/\\u00e9", "", "/v1/%C3%A9"},       /* UTF-8 */
        {"/x", "a=1 2&b=#", "/x?a=1%202&b=%23"}, /* raw query: only what a line cannot carry */
        {"/x", "a=%41", "/x?a=%41"},
        {"/x", "s=a/b?c", "/x?s=a/b?c"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text = v2_event(cases[i].path, cases[i].query, "");
        HS_DEFER(struct api_lambda_event *ev = NULL, api_lambda_event_freep);
        struct api_request req = {0};
        HS_CHECK(text != NULL);
        HS_CHECK_OK(decode(text, &ev, &req));
        hs_test_pass(); /* a check; a failure is reported below */
        if (ev != NULL && strcmp(req.target, cases[i].target) != 0) {
            fprintf(stderr, "  case %zu: got %s, expected %s\n", i, req.target, cases[i].target);
            hs_test_report(__FILE__, __LINE__, "the target");
        }
        free(text);
    }
}

HS_TEST(base64_bodies_are_strict)
{
    static const struct {
        const char *body;
        enum hs_code code;
        const char *decoded;
    } cases[] = {
        {"", HS_ERR_NONE, ""},
        {"YQ==", HS_ERR_NONE, "a"},
        {"YWI=", HS_ERR_NONE, "ab"},
        {"YWJj", HS_ERR_NONE, "abc"},
        {"e30=", HS_ERR_NONE, "{}"},
        {"YQ=", HS_ERR_INPUT_FIELD, NULL},  /* length not a multiple of 4 */
        {"Y===", HS_ERR_INPUT_FIELD, NULL}, /* three padding characters */
        {"YQ=A", HS_ERR_INPUT_FIELD, NULL}, /* padding in the middle */
        {"=QQQ", HS_ERR_INPUT_FIELD, NULL}, /* padding first */
        {"YW J", HS_ERR_INPUT_FIELD, NULL}, /* whitespace */
        {"YWJj\\n", HS_ERR_INPUT_FIELD, NULL},
        {"YW-_", HS_ERR_INPUT_FIELD, NULL}, /* base64url is not base64 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char extra[128];
        snprintf(extra, sizeof(extra), "\"body\": \"%s\", \"isBase64Encoded\": true,",
                 cases[i].body);
        char *text = v2_event("/v1/tokens", "", extra);
        HS_DEFER(struct api_lambda_event *ev = NULL, api_lambda_event_freep);
        struct api_request req = {0};
        HS_CHECK(text != NULL);
        HS_CHECK_OK(api_lambda_event_parse(text, strlen(text), &ev));
        hs_result r = ev != NULL ? api_lambda_event_request(ev, &req) : HS_OK;
        hs_test_pass(); /* a check; a failure is reported below */
        if (r.code != cases[i].code) {
            fprintf(stderr, "  case %zu (%s): got %s\n", i, cases[i].body, hs_code_name(r.code));
            hs_test_report(__FILE__, __LINE__, "the base64 result");
        } else if (cases[i].decoded != NULL) {
            size_t n = strlen(cases[i].decoded);
            HS_CHECK(req.body_len == n && (n == 0 || memcmp(req.body, cases[i].decoded, n) == 0));
        }
        free(text);
    }
}

HS_TEST(malformed_events_are_refused_at_parse)
{
    static const struct {
        const char *event;
        enum hs_code code;
    } cases[] = {
        {"", HS_ERR_INPUT_JSON},
        {"this is not JSON", HS_ERR_INPUT_JSON},
        {"[1, 2]", HS_ERR_INPUT_JSON},
        {"\"2.0\"", HS_ERR_INPUT_JSON},
        {"{\"version\": \"2.0\", \"rawPath\": \"/x\"", HS_ERR_INPUT_JSON}, /* truncated */
        {"{\"a\": 1} {\"b\": 2}", HS_ERR_INPUT_JSON},                      /* trailing */
        {"{}", HS_ERR_INPUT_FIELD},
        {"{\"Records\": [{\"eventSource\": \"aws:s3\"}]}", HS_ERR_INPUT_FIELD},
        {"{\"version\": \"3.0\", \"httpMethod\": \"GET\", \"path\": \"/\", "
         "\"requestContext\": {}}",
         HS_ERR_INPUT_FIELD},
        {"{\"version\": 2, \"httpMethod\": \"GET\", \"path\": \"/\", \"requestContext\": {}}",
         HS_ERR_INPUT_FIELD},
        {"{\"version\": \"2.0\", \"rawPath\": \"/x\"}", HS_ERR_INPUT_FIELD},
        {"{\"version\": \"2.0\", \"rawPath\": \"/x\", \"requestContext\": {}}", HS_ERR_INPUT_FIELD},
        {"{\"version\": \"2.0\", \"rawPath\": \"/x\", \"requestContext\": {\"http\": 1}}",
         HS_ERR_INPUT_FIELD},
        {"{\"version\": \"2.0\", \"rawPath\": \"/x\", "
         "\"requestContext\": {\"http\": {\"method\": 7}}}",
         HS_ERR_INPUT_FIELD},
        {"{\"version\": \"2.0\", \"rawPath\": \"/x\", "
         "\"requestContext\": {\"http\": {\"method\": \"GE T\"}}}",
         HS_ERR_INPUT_FIELD},
        {"{\"version\": \"2.0\", \"rawPath\": \"/x\", "
         "\"requestContext\": {\"http\": {\"method\": \"\"}}}",
         HS_ERR_INPUT_FIELD},
        {"{\"version\": \"2.0\", \"rawPath\": \"x\", "
         "\"requestContext\": {\"http\": {\"method\": \"GET\"}}}",
         HS_ERR_INPUT_FIELD},
        {"{\"version\": \"2.0\", \"rawPath\": null, "
         "\"requestContext\": {\"http\": {\"method\": \"GET\"}}}",
         HS_ERR_INPUT_FIELD},
        {"{\"version\": \"2.0\", \"rawPath\": \"/x\\u0000y\", "
         "\"requestContext\": {\"http\": {\"method\": \"GET\"}}}",
         HS_ERR_INPUT_FIELD},
        {"{\"httpMethod\": \"GET\", \"path\": \"/x\"}", HS_ERR_INPUT_FIELD},
        {"{\"httpMethod\": \"GET\", \"path\": \"/x\", \"requestContext\": []}", HS_ERR_INPUT_FIELD},
        {"{\"httpMethod\": [\"GET\"], \"path\": \"/x\", \"requestContext\": {}}",
         HS_ERR_INPUT_FIELD},
        {"{\"httpMethod\": \"GET\", \"requestContext\": {}}", HS_ERR_INPUT_FIELD},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct api_lambda_event *ev = NULL;
        hs_result r = api_lambda_event_parse(cases[i].event, strlen(cases[i].event), &ev);
        hs_test_pass(); /* a check; a failure is reported below */
        if (r.code != cases[i].code || ev != NULL) {
            fprintf(stderr, "  case %zu: got %s\n", i, hs_code_name(r.code));
            hs_test_report(__FILE__, __LINE__, "the parse result");
        }
        api_lambda_event_free(ev);
    }
}

HS_TEST(oversized_event_is_refused_before_parsing)
{
    size_t n = API_LAMBDA_EVENT_MAX + 1;
    char *big = malloc(n);
    HS_CHECK(big != NULL);
    if (big == NULL) {
        return;
    }
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    struct api_lambda_event *ev = NULL;
    HS_CHECK_ERR(api_lambda_event_parse(big, n, &ev), HS_ERR_INPUT_TOO_LARGE);
    HS_CHECK(ev == NULL);
    /* One byte less is parsed (and found not to be an API Gateway event). */
    big[n - 2] = '}';
    HS_CHECK_ERR(api_lambda_event_parse(big, n - 1, &ev), HS_ERR_INPUT_FIELD);
    free(big);
}

/* Builds a v2 event whose extra members are `extra` and returns api_lambda_event_request's
 * result. */
static HS_RESULT request_with(const char *extra, const char *query)
{
    char *text = v2_event("/v1/tokens", query, extra);
    HS_DEFER(struct api_lambda_event *ev = NULL, api_lambda_event_freep);
    struct api_request req = {0};
    hs_result r = text != NULL ? api_lambda_event_parse(text, strlen(text), &ev) : HS_OK;
    r = hs_failed(r) || ev == NULL ? r : api_lambda_event_request(ev, &req);
    free(text);
    return r;
}

/* "headers": {"h0": "v", ... } with n members (free()). */
static char *n_headers(int n)
{
    static char names[256 * 16];
    size_t at = 0;
    for (int i = 0; i < n && at < sizeof(names); i++) {
        at += (size_t)snprintf(names + at, sizeof(names) - at, "%s\"h%d\": \"v\"",
                               i > 0 ? ", " : "", i);
    }
    return repeat(names, 1, "\"headers\": {", "},");
}

HS_TEST(request_members_wrong_type_or_over_bounds)
{
    HS_CHECK_ERR(request_with("\"headers\": [\"a\"],", ""), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(request_with("\"headers\": {\"a\": 1},", ""), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(request_with("\"headers\": {\"a b\": \"1\"},", ""), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(request_with("\"headers\": {\"a\": \"x\\u0000y\"},", ""), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(request_with("\"cookies\": \"a=1\",", ""), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(request_with("\"cookies\": [1],", ""), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(request_with("\"body\": 42,", ""), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(request_with("\"isBase64Encoded\": \"true\",", ""), HS_ERR_INPUT_FIELD);
    /* A repeated member (the event already has rawQueryString) is refused as such, whatever
     * its type: json-c would keep the last one. */
    HS_CHECK_ERR(request_with("\"rawQueryString\": 1,", ""), HS_ERR_INPUT_JSON);
    HS_CHECK_ERR(request_with("\"rawQueryString\": \"a=1\",", ""), HS_ERR_INPUT_JSON);

    /* 128 headers pass; 129 are too many, and a cookie header counts. */
    char *h128 = n_headers(128);
    HS_CHECK_OK(request_with(h128, ""));
    char *h128_cookie = repeat(h128, 1, "\"cookies\": [\"a=1\"], ", "");
    HS_CHECK_ERR(request_with(h128_cookie, ""), HS_ERR_INPUT_TOO_LARGE);
    free(h128_cookie);
    free(h128);
    char *h129 = n_headers(129);
    HS_CHECK_ERR(request_with(h129, ""), HS_ERR_INPUT_TOO_LARGE);
    free(h129);

    char *long_value =
        repeat("v", API_LAMBDA_HEADER_VALUE_MAX + 1, "\"headers\": {\"a\": \"", "\"},");
    HS_CHECK_ERR(request_with(long_value, ""), HS_ERR_INPUT_TOO_LARGE);
    free(long_value);
    char *ok_value = repeat("v", API_LAMBDA_HEADER_VALUE_MAX, "\"headers\": {\"a\": \"", "\"},");
    HS_CHECK_OK(request_with(ok_value, ""));
    free(ok_value);

    /* Every byte of the query below is encoded to three: the target passes its bound. */
    char *long_query = repeat(" ", API_LAMBDA_TARGET_MAX / 3, "", "");
    HS_CHECK_ERR(request_with("", long_query), HS_ERR_INPUT_TOO_LARGE);
    free(long_query);
}

HS_TEST(identity_members)
{
    static const char head[] = "{\"version\": \"2.0\", \"rawPath\": \"/x\", \"requestContext\": "
                               "{\"http\": {\"method\": \"GET\"}, ";
    static const struct {
        const char *context;
        enum hs_code code;
        bool principal;
    } cases[] = {
        {"\"authorizer\": {\"iam\": {\"userArn\": \"\"}}", HS_ERR_NONE, false},
        {"\"authorizer\": {\"jwt\": {\"claims\": {}}}", HS_ERR_NONE, false},
        {"\"authorizer\": {\"iam\": {\"userArn\": 7}}", HS_ERR_INPUT_FIELD, false},
        {"\"authorizer\": {\"iam\": \"arn\"}", HS_ERR_INPUT_FIELD, false},
        {"\"authorizer\": {\"iam\": {\"userArn\": \"arn:aws:iam::1:user/u\"}}", HS_ERR_NONE, true},
        {"\"authentication\": {\"clientCert\": {\"clientCertPem\": 1}}", HS_ERR_INPUT_FIELD, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text = concat((const char *const[]){head, cases[i].context, "}}", NULL});
        HS_DEFER(struct api_lambda_event *ev = NULL, api_lambda_event_freep);
        struct api_request req = {0};
        hs_result r = text != NULL ? decode(text, &ev, &req) : HS_OK;
        HS_CHECK(text != NULL && r.code == cases[i].code);
        HS_CHECK(hs_failed(r) || (req.principal != NULL) == cases[i].principal);
        free(text);
    }
    char *big_pem = repeat("A", API_LAMBDA_CERT_PEM_MAX + 1,
                           "\"authentication\": {\"clientCert\": {\"clientCertPem\": \"", "\"}}");
    char *text = concat((const char *const[]){head, big_pem, "}}", NULL});
    HS_DEFER(struct api_lambda_event *ev = NULL, api_lambda_event_freep);
    struct api_request req = {0};
    HS_CHECK_ERR(decode(text, &ev, &req), HS_ERR_INPUT_TOO_LARGE);
    free(text);
    free(big_pem);
}

/* Parses an encoded proxy response. */
static json_object *parse_payload(const struct hs_buf *payload)
{
    json_object *obj = NULL;
    if (hs_failed(hs_json_parse_object((const char *)hs_buf_data(payload), hs_buf_len(payload),
                                       API_LAMBDA_PAYLOAD_MAX, 8, &obj))) {
        return NULL;
    }
    return obj;
}

static const char *member(json_object *obj, const char *a, const char *b)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, a, &v) ||
        (b != NULL && !json_object_object_get_ex(v, b, &v))) {
        return NULL;
    }
    return json_object_get_string(v);
}

HS_TEST(response_text_and_binary)
{
    struct api_response resp = {.status = 200,
                                .content_type = "application/json",
                                .cache_control = "no-store",
                                .body = hs_buf_new(64)};
    HS_CHECK(resp.body != NULL);
    HS_CHECK_OK(hs_buf_put_str(resp.body, "{\"a\":\"/\\\"\"}"));
    HS_DEFER(struct hs_buf *payload = NULL, hs_buf_freep);
    HS_CHECK_OK(api_lambda_response_encode(&resp, "0123456789abcdef", &payload));
    HS_DEFER(json_object *obj = payload != NULL ? parse_payload(payload) : NULL, hs_json_putp);
    HS_CHECK(obj != NULL);
    HS_CHECK(json_object_get_int(json_object_object_get(obj, "statusCode")) == 200);
    HS_CHECK(strcmp(member(obj, "headers", "Content-Type"), "application/json") == 0);
    HS_CHECK(strcmp(member(obj, "headers", "Cache-Control"), "no-store") == 0);
    HS_CHECK(strcmp(member(obj, "headers", "X-Request-Id"), "0123456789abcdef") == 0);
    HS_CHECK(strcmp(member(obj, "body", NULL), "{\"a\":\"/\\\"\"}") == 0);
    HS_CHECK(!json_object_get_boolean(json_object_object_get(obj, "isBase64Encoded")));
    HS_CHECK(member(obj, "headers", "Location") == NULL);
    HS_CHECK(member(obj, "headers", "Retry-After") == NULL);

    /* A 202 with Location (POST /v1/ssh/keys) and a 503 with Retry-After keep both headers. */
    resp.status = 202;
    snprintf(resp.location, sizeof(resp.location), "/v1/ssh/keys/%s",
             "00112233445566778899aabbccddeeff");
    resp.retry_after_s = 5;
    HS_DEFER(struct hs_buf *loc = NULL, hs_buf_freep);
    HS_CHECK_OK(api_lambda_response_encode(&resp, "0123456789abcdef", &loc));
    HS_DEFER(json_object *lobj = loc != NULL ? parse_payload(loc) : NULL, hs_json_putp);
    HS_CHECK(lobj != NULL);
    HS_CHECK(strcmp(member(lobj, "headers", "Location"),
                    "/v1/ssh/keys/00112233445566778899aabbccddeeff") == 0);
    HS_CHECK(strcmp(member(lobj, "headers", "Retry-After"), "5") == 0);
    resp.location[0] = '\0';
    resp.retry_after_s = 0;

    /* HEAD: the GET answer's headers and Content-Length, an empty body; a 405 carries Allow. */
    resp.status = 200;
    resp.head = true;
    HS_DEFER(struct hs_buf *head = NULL, hs_buf_freep);
    HS_CHECK_OK(api_lambda_response_encode(&resp, "0123456789abcdef", &head));
    HS_DEFER(json_object *hobj = head != NULL ? parse_payload(head) : NULL, hs_json_putp);
    HS_CHECK(hobj != NULL);
    HS_CHECK(strcmp(member(hobj, "body", NULL), "") == 0);
    HS_CHECK(strcmp(member(hobj, "headers", "Content-Length"), "11") == 0);
    HS_CHECK(strcmp(member(hobj, "headers", "Content-Type"), "application/json") == 0);
    HS_CHECK(member(hobj, "headers", "Allow") == NULL);
    resp.head = false;
    resp.status = 405;
    snprintf(resp.allow, sizeof(resp.allow), "%s", "GET, HEAD");
    HS_DEFER(struct hs_buf *m405 = NULL, hs_buf_freep);
    HS_CHECK_OK(api_lambda_response_encode(&resp, "0123456789abcdef", &m405));
    HS_DEFER(json_object *mobj = m405 != NULL ? parse_payload(m405) : NULL, hs_json_putp);
    HS_CHECK(mobj != NULL);
    HS_CHECK(strcmp(member(mobj, "headers", "Allow"), "GET, HEAD") == 0);
    HS_CHECK(member(mobj, "headers", "Content-Length") == NULL);
    HS_CHECK(strcmp(member(mobj, "body", NULL), "{\"a\":\"/\\\"\"}") == 0);
    resp.allow[0] = '\0';

    /* A DER CRL is sent as padded standard base64; no Cache-Control when none was set. */
    static const unsigned char der[] = {0x30, 0x82, 0x00, 0xff, 0xfb};
    hs_buf_reset(resp.body);
    HS_CHECK_OK(hs_buf_put(resp.body, der, sizeof(der)));
    resp.binary = true;
    resp.content_type = "application/pkix-crl";
    resp.cache_control = NULL;
    HS_DEFER(struct hs_buf *bin = NULL, hs_buf_freep);
    HS_CHECK_OK(api_lambda_response_encode(&resp, "0123456789abcdef", &bin));
    HS_DEFER(json_object *bobj = bin != NULL ? parse_payload(bin) : NULL, hs_json_putp);
    HS_CHECK(bobj != NULL);
    HS_CHECK(strcmp(member(bobj, "body", NULL), "MIIA//s=") == 0);
    HS_CHECK(json_object_get_boolean(json_object_object_get(bobj, "isBase64Encoded")));
    HS_CHECK(member(bobj, "headers", "Cache-Control") == NULL);
    HS_CHECK(strcmp(member(bobj, "headers", "Content-Type"), "application/pkix-crl") == 0);

    /* No body at all (a 500 whose error body could not be built) is "". */
    api_response_clear(&resp);
    resp.status = 500;
    HS_DEFER(struct hs_buf *empty = NULL, hs_buf_freep);
    HS_CHECK_OK(api_lambda_response_encode(&resp, "0123456789abcdef", &empty));
    HS_DEFER(json_object *eobj = empty != NULL ? parse_payload(empty) : NULL, hs_json_putp);
    HS_CHECK(eobj != NULL && strcmp(member(eobj, "body", NULL), "") == 0);
    HS_CHECK(member(eobj, "headers", "Content-Type") == NULL);
}

/* --- SQS events --------------------------------------------------------------------------------- */

/* A record with messageId id, body text and extra members (each ending with ','). */
static char *sqs_record(const char *id, const char *body, const char *extra)
{
    return concat((const char *const[]){"{\"messageId\": \"", id,
                                        "\", \"receiptHandle\": \"AQEB+h=\", ", extra,
                                        "\"body\": \"", body,
                                        "\", \"eventSource\": \"aws:sqs\", \"eventSourceARN\": "
                                        "\"arn:aws:sqs:eu-west-1:111122223333:keygen\"}",
                                        NULL});
}

/* Counts the calls; fails the records whose body is "fail". */
static HS_RESULT sqs_handler(void *arg, const struct api_lambda_sqs_record *rec)
{
    size_t *calls = arg;
    (*calls)++;
    HS_ENSURE(strcmp(rec->body, "fail") != 0, HS_ERR_STORE_UNAVAILABLE);
    return HS_OK;
}

/* The itemIdentifiers of a partial batch response, joined with ',' into out. */
static void sqs_failures(const struct hs_buf *payload, char *out, size_t size)
{
    HS_DEFER(json_object *doc = parse_payload(payload), hs_json_putp);
    json_object *list = NULL;
    out[0] = '\0';
    HS_CHECK(doc != NULL && json_object_object_get_ex(doc, "batchItemFailures", &list) &&
             json_object_is_type(list, json_type_array) && json_object_object_length(doc) == 1);
    for (size_t i = 0; list != NULL && i < json_object_array_length(list); i++) {
        const char *id = member(json_object_array_get_idx(list, i), "itemIdentifier", NULL);
        HS_CHECK(id != NULL);
        size_t at = strlen(out);
        snprintf(out + at, size - at, "%s%s", at > 0 ? "," : "", id != NULL ? id : "?");
    }
}

HS_TEST(sqs_event_records_are_handed_over_and_failures_reported)
{
    HS_DEFER(char *r1 = sqs_record("m-1", "{\\\"job\\\": 1}",
                                   "\"attributes\": {\"ApproximateReceiveCount\": \"2\", "
                                   "\"SentTimestamp\": \"1545082649183\"},"),
             hs_free_strp);
    HS_DEFER(char *r2 = sqs_record("m_2", "fail", ""), hs_free_strp);
    HS_DEFER(char *r3 = sqs_record("m-3", "", "\"attributes\": null,"), hs_free_strp);
    HS_DEFER(char *text =
                 concat((const char *const[]){"{\"Records\": [", r1, ",", r2, ",", r3, "]}", NULL}),
             hs_free_strp);
    HS_DEFER(struct api_lambda_event *ev = NULL, api_lambda_event_freep);
    HS_CHECK_OK(api_lambda_event_parse(text, strlen(text), &ev));
    if (ev == NULL) {
        return;
    }
    HS_CHECK(api_lambda_event_payload(ev) == API_LAMBDA_PAYLOAD_SQS);
    HS_CHECK(api_lambda_sqs_count(ev) == 3);
    const struct api_lambda_sqs_record *rec = api_lambda_sqs_record(ev, 0);
    HS_CHECK(rec != NULL && rec->valid && strcmp(rec->message_id, "m-1") == 0 &&
             strcmp(rec->body, "{\"job\": 1}") == 0 && rec->body_len == 10 &&
             rec->receive_count == 2 &&
             strcmp(rec->source_arn, "arn:aws:sqs:eu-west-1:111122223333:keygen") == 0);
    rec = api_lambda_sqs_record(ev, 2);
    HS_CHECK(rec != NULL && rec->valid && rec->body_len == 0 && rec->receive_count == 0);
    HS_CHECK(api_lambda_sqs_record(ev, 3) == NULL);
    /* Not an HTTP request. */
    struct api_request req;
    HS_CHECK_ERR(api_lambda_event_request(ev, &req), HS_ERR_INPUT_FIELD);

    size_t calls = 0;
    size_t failed = 99;
    struct api_lambda_sqs_handler h = {.fn = sqs_handler, .arg = &calls};
    HS_DEFER(struct hs_buf *out = NULL, hs_buf_freep);
    HS_CHECK_OK(api_lambda_sqs_dispatch(ev, &h, &failed, &out));
    HS_CHECK(calls == 3 && failed == 1);
    char ids[256];
    sqs_failures(out, ids, sizeof(ids));
    HS_CHECK(strcmp(ids, "m_2") == 0);
}

HS_TEST(sqs_all_done_answers_an_empty_failure_list)
{
    HS_DEFER(char *r1 = sqs_record("only", "x", ""), hs_free_strp);
    HS_DEFER(char *text = concat((const char *const[]){"{\"Records\": [", r1, "]}", NULL}),
             hs_free_strp);
    HS_DEFER(struct api_lambda_event *ev = NULL, api_lambda_event_freep);
    HS_CHECK_OK(api_lambda_event_parse(text, strlen(text), &ev));
    size_t calls = 0;
    size_t failed = 99;
    struct api_lambda_sqs_handler h = {.fn = sqs_handler, .arg = &calls};
    HS_DEFER(struct hs_buf *out = NULL, hs_buf_freep);
    HS_CHECK_OK(api_lambda_sqs_dispatch(ev, &h, &failed, &out));
    HS_CHECK(calls == 1 && failed == 0);
    HS_CHECK(out != NULL && hs_buf_len(out) == strlen("{\"batchItemFailures\":[]}") &&
             memcmp(hs_buf_data(out), "{\"batchItemFailures\":[]}", hs_buf_len(out)) == 0);
}

/* Invalid records (all but their messageId) are never handled and always reported. */
HS_TEST(sqs_invalid_records_are_reported_without_being_handled)
{
    static const char *const records[] = {
        "{\"messageId\": \"a\", \"receiptHandle\": \"h\", \"body\": \"x\", "
        "\"eventSource\": \"aws:sns\"}",
        "{\"messageId\": \"b\", \"receiptHandle\": \"h\", \"body\": 5, \"eventSource\": "
        "\"aws:sqs\"}",
        "{\"messageId\": \"c\", \"receiptHandle\": \"h\", \"eventSource\": \"aws:sqs\"}",
        "{\"messageId\": \"d\", \"body\": \"x\", \"eventSource\": \"aws:sqs\"}",
        "{\"messageId\": \"e\", \"receiptHandle\": \"h\", \"body\": \"x\", \"eventSource\": "
        "\"aws:sqs\", \"attributes\": {\"ApproximateReceiveCount\": \"-1\"}}",
        "{\"messageId\": \"f\", \"receiptHandle\": \"h\", \"body\": \"x\", \"eventSource\": "
        "\"aws:sqs\", \"attributes\": []}",
        "{\"messageId\": \"g\", \"receiptHandle\": \"h\", \"body\": \"x\\u0000y\", "
        "\"eventSource\": \"aws:sqs\"}",
        "{\"messageId\": \"h\", \"receiptHandle\": \"h\", \"body\": \"x\", \"eventSource\": "
        "\"aws:sqs\", \"eventSourceARN\": 1}",
        "{\"messageId\": \"i\", \"receiptHandle\": \"h\", \"body\": \"x\", \"eventSource\": "
        "\"aws:sqs\"}",
    };
    size_t n = sizeof(records) / sizeof(records[0]);
    HS_DEFER(struct hs_buf *text = hs_buf_new(8192), hs_buf_freep);
    HS_CHECK_OK(hs_buf_put_str(text, "{\"Records\": ["));
    for (size_t i = 0; i < n; i++) {
        HS_CHECK_OK(hs_buf_put_str(text, records[i]));
        HS_CHECK_OK(hs_buf_put_str(text, i + 1 < n ? "," : "]}"));
    }
    HS_DEFER(struct api_lambda_event *ev = NULL, api_lambda_event_freep);
    HS_CHECK_OK(api_lambda_event_parse((const char *)hs_buf_data(text), hs_buf_len(text), &ev));
    if (ev == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct api_lambda_sqs_record *rec = api_lambda_sqs_record(ev, i);
        HS_CHECK(rec != NULL && rec->valid == (i == n - 1) && (rec->valid || rec->body == NULL));
    }
    size_t calls = 0;
    size_t failed = 0;
    struct api_lambda_sqs_handler h = {.fn = sqs_handler, .arg = &calls};
    HS_DEFER(struct hs_buf *out = NULL, hs_buf_freep);
    HS_CHECK_OK(api_lambda_sqs_dispatch(ev, &h, &failed, &out));
    HS_CHECK(calls == 1 && failed == n - 1);
    char ids[256];
    sqs_failures(out, ids, sizeof(ids));
    HS_CHECK(strcmp(ids, "a,b,c,d,e,f,g,h") == 0);
}

HS_TEST(sqs_envelope_errors_and_bounds)
{
    /* A body at SQS's bound is handed over; one byte more is an invalid record. */
    HS_DEFER(char *big = repeat("b", API_LAMBDA_SQS_BODY_MAX, "", ""), hs_free_strp);
    HS_DEFER(char *over = repeat("b", API_LAMBDA_SQS_BODY_MAX + 1, "", ""), hs_free_strp);
    HS_DEFER(char *r1 = sqs_record("big", big, ""), hs_free_strp);
    HS_DEFER(char *r2 = sqs_record("over", over, ""), hs_free_strp);
    HS_DEFER(char *text = concat((const char *const[]){"{\"Records\": [", r1, ",", r2, "]}", NULL}),
             hs_free_strp);
    HS_DEFER(struct api_lambda_event *ev = NULL, api_lambda_event_freep);
    HS_CHECK_OK(api_lambda_event_parse(text, strlen(text), &ev));
    HS_CHECK(api_lambda_sqs_count(ev) == 2 && api_lambda_sqs_record(ev, 0)->valid &&
             api_lambda_sqs_record(ev, 0)->body_len == API_LAMBDA_SQS_BODY_MAX &&
             !api_lambda_sqs_record(ev, 1)->valid);

    HS_DEFER(char *one = sqs_record("r", "x", ""), hs_free_strp);
    static const struct {
        const char *event;
        enum hs_code code;
    } cases[] = {
        {"{\"Records\": []}", HS_ERR_INPUT_FIELD},
        {"{\"Records\": {}}", HS_ERR_INPUT_FIELD},
        {"{\"Records\": null}", HS_ERR_INPUT_FIELD},
        {"{\"Records\": [7]}", HS_ERR_INPUT_FIELD},
        {"{\"Records\": [{\"body\": \"x\", \"eventSource\": \"aws:sqs\"}]}", HS_ERR_INPUT_FIELD},
        {"{\"Records\": [{\"messageId\": \"\", \"eventSource\": \"aws:sqs\"}]}",
         HS_ERR_INPUT_FIELD},
        {"{\"Records\": [{\"messageId\": \"a b\", \"eventSource\": \"aws:sqs\"}]}",
         HS_ERR_INPUT_FIELD},
        {"{\"Records\": [{\"messageId\": 12, \"eventSource\": \"aws:sqs\"}]}", HS_ERR_INPUT_FIELD},
        {"{\"Records\": [{\"messageId\": \"\\\"},{\\\"x\\\":\\\"\"}]}", HS_ERR_INPUT_FIELD},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct api_lambda_event *e = NULL;
        HS_CHECK_ERR(api_lambda_event_parse(cases[i].event, strlen(cases[i].event), &e),
                     cases[i].code);
        HS_CHECK(e == NULL);
    }
    /* 10 records are a batch; 11 are not. A messageId of 128 bytes is one; 129 is not. */
    const char *const parts10[] = {"{\"Records\": [",
                                   one,
                                   ",",
                                   one,
                                   ",",
                                   one,
                                   ",",
                                   one,
                                   ",",
                                   one,
                                   ",",
                                   one,
                                   ",",
                                   one,
                                   ",",
                                   one,
                                   ",",
                                   one,
                                   ",",
                                   one,
                                   "]}",
                                   NULL};
    HS_DEFER(char *ten_records = concat(parts10), hs_free_strp);
    HS_DEFER(struct api_lambda_event *e10 = NULL, api_lambda_event_freep);
    HS_CHECK_OK(api_lambda_event_parse(ten_records, strlen(ten_records), &e10));
    HS_CHECK(api_lambda_sqs_count(e10) == 10);
    const char *const parts11[] = {"{\"Records\": [",
                                   one,
                                   ",",
                                   one,
                                   ",",
                                   one,
                                   ",",
                                   one,
                                   ",",
                                   one,
                                   ",",
                                   one,
                                   ",",
                                   one,
                                   ",",
                                   one,
                                   ",",
                                   one,
                                   ",",
                                   one,
                                   ",",
                                   one,
                                   "]}",
                                   NULL};
    HS_DEFER(char *eleven = concat(parts11), hs_free_strp);
    struct api_lambda_event *e11 = NULL;
    HS_CHECK_ERR(api_lambda_event_parse(eleven, strlen(eleven), &e11), HS_ERR_INPUT_FIELD);
    HS_DEFER(char *id128 = repeat("i", API_LAMBDA_SQS_ID_MAX, "", ""), hs_free_strp);
    HS_DEFER(char *id129 = repeat("i", API_LAMBDA_SQS_ID_MAX + 1, "", ""), hs_free_strp);
    HS_DEFER(char *r128 = sqs_record(id128, "x", ""), hs_free_strp);
    HS_DEFER(char *r129 = sqs_record(id129, "x", ""), hs_free_strp);
    HS_DEFER(char *t128 = concat((const char *const[]){"{\"Records\": [", r128, "]}", NULL}),
             hs_free_strp);
    HS_DEFER(char *t129 = concat((const char *const[]){"{\"Records\": [", r129, "]}", NULL}),
             hs_free_strp);
    HS_DEFER(struct api_lambda_event *e128 = NULL, api_lambda_event_freep);
    HS_CHECK_OK(api_lambda_event_parse(t128, strlen(t128), &e128));
    struct api_lambda_event *e129 = NULL;
    HS_CHECK_ERR(api_lambda_event_parse(t129, strlen(t129), &e129), HS_ERR_INPUT_FIELD);
    /* dispatch on an API Gateway event is a caller's mistake */
    HS_DEFER(char *v2 = v2_event("/x", "", ""), hs_free_strp);
    HS_DEFER(struct api_lambda_event *ev2 = NULL, api_lambda_event_freep);
    HS_CHECK_OK(api_lambda_event_parse(v2, strlen(v2), &ev2));
    HS_CHECK(api_lambda_sqs_count(ev2) == 0 && api_lambda_sqs_record(ev2, 0) == NULL);
    size_t calls = 0;
    size_t failed = 0;
    struct api_lambda_sqs_handler h = {.fn = sqs_handler, .arg = &calls};
    struct hs_buf *out = NULL;
    HS_CHECK_ERR(api_lambda_sqs_dispatch(ev2, &h, &failed, &out), HS_ERR_INTERNAL);
    HS_CHECK(out == NULL && calls == 0);
}

int main(void)
{
    return hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(v2_event_maps_every_member),
        HS_TEST_CASE(v1_event_maps_every_member),
        HS_TEST_CASE(v1_nulls_are_absent),
        HS_TEST_CASE(target_is_encoded_as_a_request_line_would_be),
        HS_TEST_CASE(base64_bodies_are_strict),
        HS_TEST_CASE(malformed_events_are_refused_at_parse),
        HS_TEST_CASE(oversized_event_is_refused_before_parsing),
        HS_TEST_CASE(request_members_wrong_type_or_over_bounds),
        HS_TEST_CASE(identity_members),
        HS_TEST_CASE(response_text_and_binary),
        HS_TEST_CASE(sqs_event_records_are_handed_over_and_failures_reported),
        HS_TEST_CASE(sqs_all_done_answers_an_empty_failure_list),
        HS_TEST_CASE(sqs_invalid_records_are_reported_without_being_handled),
        HS_TEST_CASE(sqs_envelope_errors_and_bounds),
        HS_TEST_END,
    });
}
