#include "client/cli_http.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "aws/aws_http.h"
#include "common/hs_defer.h"

#if LIBCURL_VERSION_NUM < 0x075500
#error "cli_http needs libcurl 7.85.0 or newer (its URL API checks the endpoint)"
#endif

#ifndef HS_VERSION
#define HS_VERSION "0"
#endif

#define CLI_ENDPOINT_MAX (CLI_URL_MAX - 256) /* room for the route */
#define CLI_HEADER_RAW_MAX 1024              /* bytes of an answer header read */

HS_DEFINE_FREEP(cli_curlu_freep, CURLU, curl_url_cleanup)
HS_DEFINE_FREEP(cli_curl_strp, char, curl_free)

HS_RESULT cli_http_global_init(void)
{
    return aws_http_global_init(true);
}

void cli_http_global_cleanup(void)
{
    aws_http_global_cleanup();
}

/* --- checks ----------------------------------------------------------------------------------- */

/* True when URL part `part` of u is absent (libcurl answers `absent`). */
static bool cli_url_lacks(CURLU *u, CURLUPart part, CURLUcode absent)
{
    HS_DEFER(char *v = NULL, cli_curl_strp);
    return curl_url_get(u, part, &v, 0) == absent;
}

HS_RESULT cli_http_check_endpoint(const char *endpoint)
{
    HS_ENSURE_REF(endpoint);
    size_t n = strnlen(endpoint, CLI_ENDPOINT_MAX + 1);
    HS_ENSURE_MSG(n > 0 && n <= CLI_ENDPOINT_MAX, HS_ERR_INPUT,
                  "the endpoint is empty or longer than %d bytes", CLI_ENDPOINT_MAX);
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)endpoint[k];
        HS_ENSURE_MSG(c > 0x20 && c < 0x7f, HS_ERR_INPUT,
                      "the endpoint holds a space, a control or a non-ASCII character");
    }
    HS_DEFER(CURLU *u = curl_url(), cli_curlu_freep);
    HS_ENSURE(u != NULL, HS_ERR_NOMEM);
    HS_ENSURE_MSG(curl_url_set(u, CURLUPART_URL, endpoint, 0) == CURLUE_OK, HS_ERR_INPUT,
                  "the endpoint is not an absolute URL (e.g. https://api.example.com/prod)");
    HS_DEFER(char *scheme = NULL, cli_curl_strp);
    HS_ENSURE(curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK, HS_ERR_INPUT);
    HS_ENSURE_MSG(strcmp(scheme, "https") == 0 || strcmp(scheme, "http") == 0, HS_ERR_INPUT,
                  "the endpoint must be an http:// or https:// URL");
    /* Plain HTTP would show the signed requests, the certificates and the tokens to the path:
     * only a service on this machine (a dev hsmsignd, a local proxy) may be reached so. */
    HS_DEFER(char *host = NULL, cli_curl_strp);
    HS_ENSURE(curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK, HS_ERR_INPUT);
    HS_ENSURE_MSG(strcmp(scheme, "https") == 0 || aws_host_loopback(host), HS_ERR_INPUT,
                  "an http:// endpoint must be on this machine (127.0.0.0/8, [::1], localhost); "
                  "use https://");
    HS_ENSURE_MSG(cli_url_lacks(u, CURLUPART_USER, CURLUE_NO_USER) &&
                      cli_url_lacks(u, CURLUPART_PASSWORD, CURLUE_NO_PASSWORD),
                  HS_ERR_INPUT,
                  "the endpoint must not hold a user name or password (credentials come from "
                  "the environment or a credentials file)");
    HS_ENSURE_MSG(cli_url_lacks(u, CURLUPART_QUERY, CURLUE_NO_QUERY) &&
                      cli_url_lacks(u, CURLUPART_FRAGMENT, CURLUE_NO_FRAGMENT),
                  HS_ERR_INPUT, "the endpoint must not have a query or a fragment");
    return HS_OK;
}

HS_RESULT cli_http_check_scope_part(const char *value, const char *what)
{
    HS_ENSURE_REF(value);
    size_t n = strnlen(value, CLI_REGION_MAX + 1);
    HS_ENSURE_MSG(n > 0 && n <= CLI_REGION_MAX, HS_ERR_INPUT, "%s: empty or longer than %d bytes",
                  what, CLI_REGION_MAX);
    for (size_t k = 0; k < n; k++) {
        char c = value[k];
        HS_ENSURE_MSG((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-', HS_ERR_INPUT,
                      "%s: only lower-case letters, digits and '-'", what);
    }
    return HS_OK;
}

/* --- the exchange ----------------------------------------------------------------------------- */

/* endpoint without its trailing '/'s, then path, into url. */
static HS_RESULT cli_http_url(const char *endpoint, const char *path, struct hs_buf *url)
{
    size_t n = strlen(endpoint);
    while (n > 0 && endpoint[n - 1] == '/') {
        n--;
    }
    HS_GUARD(hs_buf_put(url, endpoint, n));
    return hs_buf_put_str(url, path);
}

/* Copies header `name` of the answer into out (cap bytes with the NUL), up to the first
 * character of `stop` (may be ""), replacing anything but printable ASCII with '?'. */
static void cli_http_header(struct aws_http *h, const char *name, const char *stop, char *out,
                            size_t cap)
{
    char raw[CLI_HEADER_RAW_MAX];
    out[0] = '\0';
    if (hs_failed(aws_http_header(h, name, raw, sizeof(raw)))) {
        hs_error_clear();
        return;
    }
    size_t k = 0;
    for (const char *v = raw; *v != '\0' && strchr(stop, *v) == NULL && k + 1 < cap; v++) {
        unsigned char c = (unsigned char)*v;
        out[k++] = (char)(c >= 0x20 && c < 0x7f ? c : '?');
    }
    out[k] = '\0';
}

static void cli_http_read_reply(struct aws_http *h, struct cli_reply *r)
{
    r->total_us = aws_http_total_us(h);
    cli_http_header(h, "X-Request-Id", "", r->request_id, sizeof(r->request_id));
    if (r->request_id[0] == '\0') {
        /* API Gateway's own answers (a refused signature, a throttle) carry only its id. */
        cli_http_header(h, "x-amzn-RequestId", "", r->request_id, sizeof(r->request_id));
    }
    if (r->request_id[0] == '\0') {
        cli_http_header(h, "apigw-requestid", "", r->request_id, sizeof(r->request_id));
    }
    cli_http_header(h, "x-amzn-ErrorType", ":", r->error_type, sizeof(r->error_type));
    cli_http_header(h, "Content-Type", "", r->content_type, sizeof(r->content_type));
}

HS_RESULT cli_http_request(const struct cli_http_config *cfg, const struct aws_creds *creds,
                           const char *method, const char *path, const char *body, size_t body_len,
                           size_t max_answer, struct cli_reply *out)
{
    HS_ENSURE_REF(cfg);
    HS_ENSURE_REF(cfg->endpoint);
    HS_ENSURE_REF(out);
    bool post = strcmp(method, "POST") == 0;
    HS_ENSURE(post || strcmp(method, "GET") == 0, HS_ERR_INTERNAL);
    HS_ENSURE(!post || body != NULL, HS_ERR_INTERNAL);
    HS_ENSURE(creds == NULL || (cfg->region != NULL && cfg->service != NULL), HS_ERR_INTERNAL);
    HS_DEFER(struct hs_buf *url = hs_buf_new(CLI_URL_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *answer = hs_buf_new(max_answer), hs_buf_freep);
    HS_DEFER(struct aws_http *h = aws_http_new(), aws_http_freep);
    HS_ENSURE(url != NULL && answer != NULL && h != NULL, HS_ERR_NOMEM);
    const char *url_s = NULL;
    HS_GUARD(cli_http_url(cfg->endpoint, path, url));
    HS_GUARD(hs_buf_cstr(url, &url_s));
    long connect_s =
        cfg->timeout_s < CLI_CONNECT_TIMEOUT_MAX_S ? cfg->timeout_s : CLI_CONNECT_TIMEOUT_MAX_S;
    struct aws_http_request req = {
        .method = method,
        .url = url_s,
        .protocols = "http,https",
        .headers = {post ? "Content-Type: application/json" : NULL},
        .body = body,
        .body_len = body_len,
        .response_max = max_answer,
        .connect_timeout_ms = connect_s * 1000,
        .timeout_ms = cfg->timeout_s * 1000,
        .cacert = cfg->cacert,
        .user_agent = "hsmsign/" HS_VERSION,
        .sigv4_region = creds != NULL ? cfg->region : NULL,
        .sigv4_service = creds != NULL ? cfg->service : NULL,
        .creds = creds,
        .attempts = 1,
    };
    struct aws_http_response resp = {.body = answer};
    hs_result r = aws_http_send(h, &req, &resp);
    HS_ENSURE_MSG(r.code != HS_ERR_BOUNDS, HS_ERR_INPUT_TOO_LARGE,
                  "the answer is larger than %zu bytes", max_answer);
    HS_GUARD(r);
    memset(out, 0, sizeof(*out));
    out->status = resp.status;
    cli_http_read_reply(h, out);
    out->body = answer;
    answer = NULL;
    return HS_OK;
}

void cli_reply_clear(struct cli_reply *r)
{
    if (r != NULL) {
        hs_buf_free(r->body);
        memset(r, 0, sizeof(*r));
    }
}
