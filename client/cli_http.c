#include "client/cli_http.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "common/hs_defer.h"

#if LIBCURL_VERSION_NUM < 0x075500
#error "cli_http needs libcurl 7.85.0 or newer (curl_easy_header, CURLOPT_PROTOCOLS_STR)"
#endif

#ifndef HS_VERSION
#define HS_VERSION "0"
#endif

#define CLI_ENDPOINT_MAX (CLI_URL_MAX - 256) /* room for the route */
#define CLI_TOKEN_HEADER "X-Amz-Security-Token: "
#define CLI_PROVIDER_MAX (sizeof("aws:amz::") + CLI_REGION_MAX + CLI_SERVICE_MAX)

HS_DEFINE_FREEP(cli_curl_freep, CURL, curl_easy_cleanup)
HS_DEFINE_FREEP(cli_curlu_freep, CURLU, curl_url_cleanup)
HS_DEFINE_FREEP(cli_curl_strp, char, curl_free)

/* --- libcurl's heap, wiped on free ---------------------------------------------------------
 * libcurl keeps its own copies of the password, the Authorization material and the header
 * list. These allocators clear every block before it goes back to the C library. */

static void *cli_mem_malloc(size_t n)
{
    return malloc(n);
}

static void cli_mem_free(void *p)
{
    if (p != NULL) {
        OPENSSL_cleanse(p, malloc_usable_size(p));
        free(p);
    }
}

static void *cli_mem_realloc(void *p, size_t n)
{
    if (p == NULL) {
        return malloc(n);
    }
    if (n == 0) {
        cli_mem_free(p);
        return NULL;
    }
    /* Never realloc() in place: the old block is wiped before it is released. */
    void *q = malloc(n);
    if (q != NULL) {
        size_t old = malloc_usable_size(p);
        memcpy(q, p, old < n ? old : n);
        cli_mem_free(p);
    }
    return q;
}

static char *cli_mem_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL) {
        memcpy(p, s, n);
    }
    return p;
}

static void *cli_mem_calloc(size_t nmemb, size_t size)
{
    return calloc(nmemb, size);
}

HS_RESULT cli_http_global_init(void)
{
    CURLcode rc = curl_global_init_mem(CURL_GLOBAL_DEFAULT, cli_mem_malloc, cli_mem_free,
                                       cli_mem_realloc, cli_mem_strdup, cli_mem_calloc);
    HS_ENSURE_MSG(rc == CURLE_OK, HS_ERR_INTERNAL, "curl_global_init: %s", curl_easy_strerror(rc));
    return HS_OK;
}

void cli_http_global_cleanup(void)
{
    curl_global_cleanup();
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

struct cli_sink {
    struct hs_buf *body;
    bool overflow;
};

static size_t cli_http_write(char *p, size_t size, size_t nmemb, void *cls)
{
    struct cli_sink *sink = cls;
    size_t n = size * nmemb;
    if (hs_failed(hs_buf_put(sink->body, p, n))) {
        sink->overflow = true;
        return 0; /* CURLE_WRITE_ERROR: the transfer stops here */
    }
    return n;
}

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

static HS_RESULT cli_http_setopt_common(CURL *h, const struct cli_http_config *cfg, const char *url,
                                        struct cli_sink *sink, char *errbuf, size_t max_answer)
{
    long total_ms = cfg->timeout_s * 1000;
    long connect_s =
        cfg->timeout_s < CLI_CONNECT_TIMEOUT_MAX_S ? cfg->timeout_s : CLI_CONNECT_TIMEOUT_MAX_S;
    bool ok = curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_s * 1000) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_USERAGENT, "hsmsign/" HS_VERSION) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_answer) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cli_http_write) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_WRITEDATA, sink) == CURLE_OK;
    if (ok && cfg->cacert != NULL) {
        ok = curl_easy_setopt(h, CURLOPT_CAINFO, cfg->cacert) == CURLE_OK;
    }
    HS_ENSURE_MSG(ok, HS_ERR_INTERNAL, "libcurl refused an option");
    return HS_OK;
}

/* SigV4 by libcurl: the provider string, the key id and the secret. The secret is lent to
 * libcurl NUL-terminated from *password (sensitive, the caller's), which libcurl copies. */
static HS_RESULT cli_http_sign(CURL *h, const struct cli_http_config *cfg,
                               const struct cli_creds *creds, struct hs_buf *password)
{
    HS_ENSURE_REF(cfg->region);
    HS_ENSURE_REF(cfg->service);
    HS_DEFER(struct hs_buf *provider = hs_buf_new(CLI_PROVIDER_MAX), hs_buf_freep);
    HS_ENSURE(provider != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put_str(provider, "aws:amz:"));
    HS_GUARD(hs_buf_put_str(provider, cfg->region));
    HS_GUARD(hs_buf_put_byte(provider, ':'));
    HS_GUARD(hs_buf_put_str(provider, cfg->service));
    const char *provider_s = NULL;
    HS_GUARD(hs_buf_cstr(provider, &provider_s));
    const unsigned char *secret = NULL;
    size_t secret_len = 0;
    hs_secret_get0(creds->secret, &secret, &secret_len);
    HS_GUARD(hs_buf_put(password, secret, secret_len));
    const char *password_s = NULL;
    HS_GUARD(hs_buf_cstr(password, &password_s));
    bool ok = curl_easy_setopt(h, CURLOPT_AWS_SIGV4, provider_s) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_USERNAME, creds->access_key_id) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_PASSWORD, password_s) == CURLE_OK;
    HS_ENSURE_MSG(ok, HS_ERR_INTERNAL, "libcurl refused the SigV4 options");
    return HS_OK;
}

/* "X-Amz-Security-Token: <token>" into line (sensitive, the caller's). */
static HS_RESULT cli_http_token_line(const struct cli_creds *creds, struct hs_buf *line,
                                     const char **out)
{
    const unsigned char *token = NULL;
    size_t token_len = 0;
    hs_secret_get0(creds->session_token, &token, &token_len);
    HS_GUARD(hs_buf_put_str(line, CLI_TOKEN_HEADER));
    HS_GUARD(hs_buf_put(line, token, token_len));
    return hs_buf_cstr(line, out);
}

/* Copies header `name` of the answer into out (cap bytes with the NUL), up to the first
 * character of `stop` (may be ""), replacing anything but printable ASCII with '?'. */
static void cli_http_header(CURL *h, const char *name, const char *stop, char *out, size_t cap)
{
    struct curl_header *hh = NULL;
    out[0] = '\0';
    if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hh) != CURLHE_OK || hh == NULL) {
        return;
    }
    size_t k = 0;
    for (const char *v = hh->value; *v != '\0' && strchr(stop, *v) == NULL && k + 1 < cap; v++) {
        unsigned char c = (unsigned char)*v;
        out[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[k] = '\0';
}

static void cli_http_read_reply(CURL *h, struct cli_reply *r)
{
    HS_IGNORE(curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status));
    curl_off_t us = 0;
    HS_IGNORE(curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &us));
    r->total_us = (long long)us;
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

static HS_RESULT cli_http_perform(CURL *h, const struct cli_sink *sink, const char *errbuf,
                                  size_t max_answer)
{
    CURLcode rc = curl_easy_perform(h);
    HS_ENSURE_MSG(!sink->overflow && rc != CURLE_FILESIZE_EXCEEDED, HS_ERR_INPUT_TOO_LARGE,
                  "the answer is larger than %zu bytes", max_answer);
    /* libcurl's own words when it has them (they name the host and the step), else its code's. */
    HS_ENSURE_MSG(rc == CURLE_OK, HS_ERR_IO, "%s",
                  errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
    return HS_OK;
}

HS_RESULT cli_http_request(const struct cli_http_config *cfg, const struct cli_creds *creds,
                           const char *method, const char *path, const char *body, size_t body_len,
                           size_t max_answer, struct cli_reply *out)
{
    HS_ENSURE_REF(cfg);
    HS_ENSURE_REF(cfg->endpoint);
    HS_ENSURE_REF(out);
    bool post = strcmp(method, "POST") == 0;
    HS_ENSURE(post || strcmp(method, "GET") == 0, HS_ERR_INTERNAL);
    HS_ENSURE(!post || body != NULL, HS_ERR_INTERNAL);
    HS_DEFER(struct hs_buf *url = hs_buf_new(CLI_URL_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *answer = hs_buf_new(max_answer), hs_buf_freep);
    HS_DEFER(struct hs_buf *password = hs_buf_new_sensitive(HS_SECRET_MAX + 1), hs_buf_freep);
    HS_DEFER(struct hs_buf *token_line =
                 hs_buf_new_sensitive(sizeof(CLI_TOKEN_HEADER) + HS_SECRET_LARGE_MAX),
             hs_buf_freep);
    HS_DEFER(CURL *h = curl_easy_init(), cli_curl_freep);
    HS_ENSURE(url != NULL && answer != NULL && password != NULL && token_line != NULL && h != NULL,
              HS_ERR_NOMEM);
    const char *url_s = NULL;
    HS_GUARD(cli_http_url(cfg->endpoint, path, url));
    HS_GUARD(hs_buf_cstr(url, &url_s));
    struct cli_sink sink = {answer, false};
    char errbuf[CURL_ERROR_SIZE] = "";
    HS_GUARD(cli_http_setopt_common(h, cfg, url_s, &sink, errbuf, max_answer));

    /* The header list is ours (libcurl only reads it): the token's line stays in a wiped
     * buffer instead of a curl_slist_append() copy. No line suppresses a header. */
    char content_type[] = "Content-Type: application/json";
    struct curl_slist lines[2] = {{NULL, NULL}, {NULL, NULL}};
    struct curl_slist *headers = NULL;
    if (creds != NULL && creds->session_token != NULL) {
        const char *token_s = NULL;
        HS_GUARD(cli_http_token_line(creds, token_line, &token_s));
        lines[1] = (struct curl_slist){(char *)token_s, headers};
        headers = &lines[1];
    }
    bool ok = true;
    if (post) {
        lines[0] = (struct curl_slist){content_type, headers};
        headers = &lines[0];
        ok = curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len) == CURLE_OK;
    } else {
        ok = curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) == CURLE_OK;
    }
    ok = ok && curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
    HS_ENSURE_MSG(ok, HS_ERR_INTERNAL, "libcurl refused an option");
    if (creds != NULL) {
        HS_GUARD(cli_http_sign(h, cfg, creds, password));
    }
    HS_GUARD(cli_http_perform(h, &sink, errbuf, max_answer));
    memset(out, 0, sizeof(*out));
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
