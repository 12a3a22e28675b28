#include "client/cli_call.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "aws/aws_http.h"
#include "client/cli_print.h"
#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "common/hs_json.h"
#include "common/hs_secret.h"

#ifndef HS_VERSION
#define HS_VERSION "0"
#endif

#define CLI_BEARER "Bearer "

HS_DEFINE_FREEP(cli_call_curlu_freep, CURLU, curl_url_cleanup)
HS_DEFINE_FREEP(cli_call_curl_strp, char, curl_free)

/* What the command line asks for, checked. */
struct cli_call_req {
    const char *url;
    const char *method;
    const char *headers[AWS_HTTP_HEADERS_MAX]; /* NULL-ended */
    struct hs_buf *data;                       /* owned; NULL = no body */
};

/* URL: https, or http to a loopback host; no user, password or fragment. */
static HS_RESULT cli_call_check_url(const char *url)
{
    size_t n = strnlen(url, CLI_CALL_URL_MAX + 1);
    HS_ENSURE_MSG(n > 0 && n <= CLI_CALL_URL_MAX, HS_ERR_INPUT,
                  "URL: empty or longer than %d bytes", CLI_CALL_URL_MAX);
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)url[k];
        HS_ENSURE_MSG(c > 0x20 && c < 0x7f, HS_ERR_INPUT,
                      "URL: holds a space, a control or a non-ASCII character");
    }
    HS_DEFER(CURLU *u = curl_url(), cli_call_curlu_freep);
    HS_ENSURE(u != NULL, HS_ERR_NOMEM);
    HS_ENSURE_MSG(curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK, HS_ERR_INPUT,
                  "URL: not an absolute URL");
    HS_DEFER(char *scheme = NULL, cli_call_curl_strp);
    HS_DEFER(char *host = NULL, cli_call_curl_strp);
    HS_DEFER(char *user = NULL, cli_call_curl_strp);
    HS_DEFER(char *frag = NULL, cli_call_curl_strp);
    HS_ENSURE(curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK, HS_ERR_INPUT);
    HS_ENSURE(curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK, HS_ERR_INPUT);
    /* A bearer token over plain HTTP is anyone's on the path: only to this machine. */
    HS_ENSURE_MSG(
        strcmp(scheme, "https") == 0 || (strcmp(scheme, "http") == 0 && aws_host_loopback(host)),
        HS_ERR_INPUT, "URL: must be https:// (http:// only to 127.0.0.0/8, [::1] or localhost)");
    HS_ENSURE_MSG(curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_NO_USER, HS_ERR_INPUT,
                  "URL: must not hold a user name or password");
    HS_ENSURE_MSG(curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_NO_FRAGMENT, HS_ERR_INPUT,
                  "URL: must not have a fragment");
    return HS_OK;
}

/* "Name: value": a token name (RFC 9110 §5.6.2), printable ASCII, not one hsmsign sets. */
static HS_RESULT cli_call_check_header(const char *h)
{
    size_t n = strnlen(h, CLI_CALL_HEADER_MAX + 1);
    HS_ENSURE_MSG(n <= CLI_CALL_HEADER_MAX, HS_ERR_INPUT, "--header: longer than %d bytes",
                  CLI_CALL_HEADER_MAX);
    const char *colon = strchr(h, ':');
    HS_ENSURE_MSG(colon != NULL && colon != h, HS_ERR_INPUT, "--header: must be 'Name: value'");
    for (const char *p = h; p < colon; p++) {
        HS_ENSURE_MSG(*p > 0x20 && *p < 0x7f && strchr("\"(),/:;<=>?@[\\]{}", *p) == NULL,
                      HS_ERR_INPUT, "--header: the name is not an HTTP token");
    }
    for (const char *p = colon + 1; *p != '\0'; p++) {
        HS_ENSURE_MSG((*p >= 0x20 && *p < 0x7f) || *p == '\t', HS_ERR_INPUT,
                      "--header: the value holds a control or non-ASCII character");
    }
    size_t name_len = (size_t)(colon - h);
    bool reserved = (name_len == 13 && strncasecmp(h, "Authorization", 13) == 0) ||
                    (name_len == 4 && strncasecmp(h, "Host", 4) == 0);
    HS_ENSURE_MSG(!reserved, HS_ERR_INPUT,
                  "--header: Authorization and Host are set by hsmsign, never given");
    return HS_OK;
}

static bool cli_call_has_content_type(const struct cli_args *a)
{
    for (size_t k = 0; k < a->nlist[CLI_OPT_HEADER]; k++) {
        if (strncasecmp(a->list[CLI_OPT_HEADER][k], "Content-Type:", 13) == 0) {
            return true;
        }
    }
    return false;
}

/* --data D or @FILE. */
static HS_RESULT cli_call_data(const char *d, struct hs_buf **out)
{
    if (d[0] == '@') {
        HS_ENSURE_MSG(d[1] != '\0', HS_ERR_INPUT, "--data @FILE: no file named");
        return hs_file_read(d + 1, CLI_CALL_DATA_MAX, out);
    }
    size_t n = strnlen(d, CLI_CALL_DATA_MAX + 1);
    HS_ENSURE_MSG(n <= CLI_CALL_DATA_MAX, HS_ERR_INPUT, "--data: longer than %d bytes",
                  CLI_CALL_DATA_MAX);
    HS_DEFER(struct hs_buf *b = hs_buf_new(n + 1), hs_buf_freep);
    HS_ENSURE(b != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put(b, d, n));
    *out = b;
    b = NULL;
    return HS_OK;
}

static HS_RESULT cli_call_method(const struct cli_args *a, const char **out)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    const char *m = a->value[CLI_OPT_METHOD];
    if (m == NULL) {
        *out = a->value[CLI_OPT_DATA] != NULL ? "POST" : "GET";
        return HS_OK;
    }
    for (size_t k = 0; k < sizeof(methods) / sizeof(methods[0]); k++) {
        if (strcmp(m, methods[k]) == 0) {
            HS_ENSURE_MSG(k != 0 || a->value[CLI_OPT_DATA] == NULL, HS_ERR_INPUT,
                          "--data: a GET request has no body");
            *out = methods[k];
            return HS_OK;
        }
    }
    HS_BAIL_MSG(HS_ERR_INPUT, "--method: GET, POST, PUT, PATCH or DELETE");
}

/* Checks the command line: the usage errors come before any request. */
static HS_RESULT cli_call_args(const struct cli_args *a, struct cli_call_req *r)
{
    HS_ENSURE_MSG(a->npositional == 1, HS_ERR_INPUT, "give exactly one URL");
    r->url = a->positional[0];
    HS_GUARD(cli_call_check_url(r->url));
    HS_GUARD(cli_call_method(a, &r->method));
    size_t nh = a->nlist[CLI_OPT_HEADER];
    HS_ENSURE_MSG(nh <= CLI_CALL_HEADERS_MAX, HS_ERR_INPUT, "--header: at most %d",
                  CLI_CALL_HEADERS_MAX);
    for (size_t k = 0; k < nh; k++) {
        HS_GUARD(cli_call_check_header(a->list[CLI_OPT_HEADER][k]));
        r->headers[k] = a->list[CLI_OPT_HEADER][k];
    }
    if (a->value[CLI_OPT_DATA] != NULL && !cli_call_has_content_type(a)) {
        r->headers[nh] = "Content-Type: application/json";
    }
    return HS_OK;
}

/* "Bearer <token>" as a secret. */
static HS_RESULT cli_call_bearer(const char *token, struct hs_secret **out)
{
    size_t n = strlen(token);
    HS_ENSURE_MSG(n > 0 && n <= HS_SECRET_LARGE_MAX - sizeof(CLI_BEARER), HS_ERR_INPUT_TOO_LARGE,
                  "the token is empty or too long for a header");
    HS_DEFER(struct hs_buf *b = hs_buf_new_sensitive(HS_SECRET_LARGE_MAX), hs_buf_freep);
    HS_ENSURE(b != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put_str(b, CLI_BEARER));
    HS_GUARD(hs_buf_put(b, token, n));
    return hs_secret_from_bytes(hs_buf_data(b), hs_buf_len(b), out);
}

/* Sends the call; *status is the answer's HTTP status and answer holds its body. */
static HS_RESULT cli_call_send(const struct cli_ctx *ctx, const struct cli_call_req *r,
                               const struct hs_secret *bearer, struct hs_buf *answer, long *status,
                               long long *us)
{
    HS_DEFER(struct aws_http *h = aws_http_new(), aws_http_freep);
    HS_ENSURE(h != NULL, HS_ERR_NOMEM);
    long connect_s = ctx->http.timeout_s < CLI_CONNECT_TIMEOUT_MAX_S ? ctx->http.timeout_s
                                                                     : CLI_CONNECT_TIMEOUT_MAX_S;
    struct aws_http_request req = {
        .method = r->method,
        .url = r->url,
        .protocols = "http,https",
        .secret_header = {"Authorization", bearer},
        .body = r->data != NULL ? hs_buf_data(r->data) : NULL,
        .body_len = r->data != NULL ? hs_buf_len(r->data) : 0,
        .response_max = CLI_CALL_ANSWER_MAX,
        .connect_timeout_ms = connect_s * 1000,
        .timeout_ms = ctx->http.timeout_s * 1000,
        .cacert = ctx->http.cacert,
        .user_agent = "hsmsign/" HS_VERSION,
        .attempts = 1,
        .log_what = "call",
    };
    memcpy(req.headers, r->headers, sizeof(req.headers));
    struct aws_http_response resp = {.body = answer};
    hs_result res = aws_http_send(h, &req, &resp);
    HS_ENSURE_MSG(res.code != HS_ERR_BOUNDS, HS_ERR_INPUT_TOO_LARGE,
                  "the answer is larger than %d bytes", CLI_CALL_ANSWER_MAX);
    HS_GUARD(res);
    *status = resp.status;
    *us = aws_http_total_us(h);
    return HS_OK;
}

static void cli_call_req_clear(struct cli_call_req *r)
{
    hs_buf_free(r->data);
    memset(r, 0, sizeof(*r));
}

int cli_cmd_call(const struct cli_ctx *ctx, const struct cli_args *a)
{
    HS_DEFER(struct cli_call_req r = {0}, cli_call_req_clear);
    hs_result res = cli_call_args(a, &r);
    if (hs_failed(res)) {
        return cli_usage_fail("call", NULL);
    }
    if (a->value[CLI_OPT_DATA] != NULL) {
        res = cli_call_data(a->value[CLI_OPT_DATA], &r.data);
        if (hs_failed(res)) {
            return cli_step_fail(res, "call", "--data");
        }
    }
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    const char *token = NULL;
    int rc = cli_token_fetch(ctx, a, "call", &doc, &token);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    HS_DEFER(struct hs_secret *bearer = NULL, hs_secret_freep);
    if (hs_failed(cli_call_bearer(token, &bearer))) {
        return cli_fail(CLI_EXIT_NETWORK, "the token");
    }
    HS_DEFER(struct hs_buf *answer = hs_buf_new(CLI_CALL_ANSWER_MAX), hs_buf_freep);
    long status = 0;
    long long us = 0;
    if (answer == NULL) {
        return cli_fail(CLI_EXIT_LOCAL, "memory");
    }
    res = cli_call_send(ctx, &r, bearer, answer, &status, &us);
    if (hs_failed(res)) {
        bool local = res.code == HS_ERR_NOMEM || res.code == HS_ERR_INTERNAL;
        return cli_fail(local ? CLI_EXIT_LOCAL : CLI_EXIT_NETWORK,
                        local ? "preparing the call" : "no usable answer from URL");
    }
    if (ctx->verbose) {
        fprintf(stderr, "hsmsign: call %s -> %ld in %lld.%03lld ms\n", r.method, status, us / 1000,
                us % 1000);
    }
    if (hs_buf_len(answer) > 0 &&
        fwrite(hs_buf_data(answer), 1, hs_buf_len(answer), stdout) != hs_buf_len(answer)) {
        return cli_fail(CLI_EXIT_LOCAL, "output");
    }
    if (status >= 400) {
        fprintf(stderr, "hsmsign: call: the URL answered HTTP %ld\n", status);
        return CLI_EXIT_CALLED;
    }
    return CLI_EXIT_OK;
}
