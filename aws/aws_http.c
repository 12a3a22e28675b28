#include "aws/aws_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "aws/aws_creds.h"
#include "aws/aws_curl.h"
#include "common/hs_defer.h"
#include "common/hs_log.h"

#if LIBCURL_VERSION_NUM < 0x075500
#error "aws_http needs libcurl 7.85.0 or newer (CURLOPT_AWS_SIGV4, curl_easy_header, PROTOCOLS_STR)"
#endif

#define AWS_HTTP_TOKEN_NAME "X-Amz-Security-Token: "
#define AWS_HTTP_SECRET_LINE_MAX (AWS_HTTP_HEADER_LINE_MAX + HS_SECRET_LARGE_MAX)
#define AWS_HTTP_PROVIDER_MAX (sizeof("aws:amz::") + AWS_HTTP_REGION_MAX + AWS_HTTP_SERVICE_MAX)

struct aws_http {
    CURL *curl;
};

static void aws_curlu_freep(CURLU **u)
{
    aws_curl()->url_cleanup(*u);
}

static void aws_curl_strp(char **p)
{
    aws_curl()->free(*p);
}

/* Frees a header list after wiping it: it may hold a token or an authorization. */
static void aws_slist_wipe_freep(struct curl_slist **list)
{
    for (struct curl_slist *l = *list; l != NULL; l = l->next) {
        OPENSSL_cleanse(l->data, strlen(l->data));
    }
    aws_curl()->slist_free_all(*list);
}

/* --- libcurl's heap, wiped on free -----------------------------------------------------------
 * libcurl keeps its own copies of the password, the Authorization material and the header
 * list. These allocators clear every block before it goes back to the C library. */

static void *aws_mem_malloc(size_t n)
{
    return malloc(n);
}

static void aws_mem_free(void *p)
{
    if (p != NULL) {
        OPENSSL_cleanse(p, malloc_usable_size(p));
        free(p);
    }
}

static void *aws_mem_realloc(void *p, size_t n)
{
    if (p == NULL) {
        return malloc(n);
    }
    if (n == 0) {
        aws_mem_free(p);
        return NULL;
    }
    /* Never realloc() in place: the old block is wiped before it is released. */
    void *q = malloc(n);
    if (q != NULL) {
        size_t old = malloc_usable_size(p);
        memcpy(q, p, old < n ? old : n);
        aws_mem_free(p);
    }
    return q;
}

static char *aws_mem_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL) {
        memcpy(p, s, n);
    }
    return p;
}

static void *aws_mem_calloc(size_t nmemb, size_t size)
{
    return calloc(nmemb, size);
}

HS_RESULT aws_http_global_init(bool wipe)
{
    HS_GUARD(aws_curl_check());
    CURLcode rc =
        wipe ? aws_curl()->global_init_mem(CURL_GLOBAL_DEFAULT, aws_mem_malloc, aws_mem_free,
                                           aws_mem_realloc, aws_mem_strdup, aws_mem_calloc)
             : aws_curl()->global_init(CURL_GLOBAL_DEFAULT);
    HS_ENSURE_MSG(rc == CURLE_OK, HS_ERR_INTERNAL, "curl_global_init: %s",
                  aws_curl()->easy_strerror(rc));
    return HS_OK;
}

void aws_http_global_cleanup(void)
{
    aws_curl()->global_cleanup();
}

/* --- character classes and URLs ------------------------------------------------------------ */

bool aws_chars_ok(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (c == '\0' || strchr(extra, c) == NULL)) {
            return false;
        }
    }
    return true;
}

bool aws_printable(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] <= 0x20 || p[i] >= 0x7f) {
            return false;
        }
    }
    return true;
}

bool aws_host_loopback(const char *host)
{
    unsigned char a[4];
    return strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
           (inet_pton(AF_INET, host, a) == 1 && a[0] == 127);
}

static bool aws_host_in(const char *host, const char *const *list)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
        if (strcmp(host, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

HS_RESULT aws_url_check(const char *url, const char *what, const char *const *allowed_http,
                        bool bare, bool *local)
{
    HS_ENSURE_REF(url);
    size_t n = strnlen(url, AWS_HTTP_URL_MAX);
    HS_ENSURE_MSG(n > 0 && n < AWS_HTTP_URL_MAX && aws_printable((const unsigned char *)url, n),
                  HS_ERR_INPUT_CONFIG,
                  "%s is empty, longer than %d bytes or holds a space or a "
                  "control character",
                  what, AWS_HTTP_URL_MAX - 1);
    HS_DEFER(CURLU *u = aws_curl()->url(), aws_curlu_freep);
    HS_ENSURE(u != NULL, HS_ERR_NOMEM);
    HS_ENSURE_MSG(aws_curl()->url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK, HS_ERR_INPUT_CONFIG,
                  "%s is not a URL", what);
    HS_DEFER(char *scheme = NULL, aws_curl_strp);
    HS_DEFER(char *host = NULL, aws_curl_strp);
    HS_DEFER(char *user = NULL, aws_curl_strp);
    HS_DEFER(char *path = NULL, aws_curl_strp);
    HS_DEFER(char *query = NULL, aws_curl_strp);
    HS_ENSURE_MSG(aws_curl()->url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
                      aws_curl()->url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
                      aws_curl()->url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK,
                  HS_ERR_INPUT_CONFIG, "%s is not a URL with a host", what);
    HS_ENSURE_MSG(aws_curl()->url_get(u, CURLUPART_USER, &user, 0) == CURLUE_NO_USER,
                  HS_ERR_INPUT_CONFIG, "%s must not hold user information", what);
    bool https = strcmp(scheme, "https") == 0;
    bool loopback = aws_host_loopback(host);
    bool http_ok = loopback || aws_host_in(host, allowed_http);
    HS_ENSURE_MSG(https || (strcmp(scheme, "http") == 0 && http_ok), HS_ERR_INPUT_CONFIG,
                  "%s must be https:// (plain http only to a loopback address)", what);
    if (bare) {
        HS_ENSURE_MSG(strcmp(path, "/") == 0 &&
                          aws_curl()->url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_NO_QUERY,
                      HS_ERR_INPUT_CONFIG, "%s must be scheme://host[:port] without a path", what);
    }
    if (local != NULL) {
        *local = !https && loopback;
    }
    return HS_OK;
}

/* --- handles ------------------------------------------------------------------------------- */

struct aws_http *aws_http_new(void)
{
    struct aws_http *h = OPENSSL_zalloc(sizeof(*h));
    if (h == NULL) {
        return NULL;
    }
    h->curl = aws_curl()->easy_init();
    if (h->curl == NULL) {
        OPENSSL_free(h);
        return NULL;
    }
    return h;
}

void aws_http_free(struct aws_http *h)
{
    if (h != NULL) {
        aws_curl()->easy_cleanup(h->curl);
        OPENSSL_free(h);
    }
}

void aws_http_freep(struct aws_http **h)
{
    aws_http_free(*h);
}

HS_RESULT aws_http_header(struct aws_http *h, const char *name, char *out, size_t cap)
{
    HS_ENSURE_REF(h);
    HS_ENSURE(cap > 0, HS_ERR_INTERNAL);
    out[0] = '\0';
    struct curl_header *hh = NULL;
    HS_ENSURE(aws_curl()->easy_header(h->curl, name, 0, CURLH_HEADER, -1, &hh) == CURLHE_OK &&
                  hh != NULL,
              HS_ERR_INPUT_NOT_FOUND);
    size_t n = strnlen(hh->value, cap);
    HS_ENSURE(n < cap, HS_ERR_BOUNDS);
    memcpy(out, hh->value, n + 1);
    return HS_OK;
}

long long aws_http_total_us(struct aws_http *h)
{
    curl_off_t us = 0;
    if (h != NULL) {
        HS_IGNORE(aws_curl()->easy_getinfo(h->curl, CURLINFO_TOTAL_TIME_T, &us));
    }
    return (long long)us;
}

bool aws_http_throttling_code(const char *code)
{
    /* The AWS SDKs' throttling codes (botocore retries/standard.py, the Java SDK's
     * RetryUtils). */
    static const char *const codes[] = {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    };
    for (size_t i = 0; code != NULL && i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (strcmp(code, codes[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* --- one attempt --------------------------------------------------------------------------- */

struct aws_http_sink {
    struct hs_buf *body;
    bool overflow;
};

/* The one write callback: bounded, never truncating (the transfer stops instead). */
static size_t aws_http_write(char *p, size_t size, size_t nmemb, void *cls)
{
    struct aws_http_sink *sink = cls;
    size_t n = size * nmemb;
    if (hs_failed(hs_buf_put(sink->body, p, n))) {
        sink->overflow = true;
        return 0; /* CURLE_WRITE_ERROR: the transfer stops here */
    }
    return n;
}

/* Called about once a second: a non-zero *stop abandons the transfer. */
static int aws_http_progress(void *cls, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                             curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    const volatile sig_atomic_t *stop = cls;
    return stop != NULL && *stop != 0;
}

static HS_RESULT aws_http_check_request(const struct aws_http_request *req,
                                        const struct aws_http_response *out)
{
    HS_ENSURE_REF(req);
    HS_ENSURE_REF(out);
    HS_ENSURE_REF(req->method);
    HS_ENSURE_REF(req->url);
    HS_ENSURE_REF(out->body);
    HS_ENSURE_MSG(strcmp(req->method, "GET") == 0 || strcmp(req->method, "POST") == 0 ||
                      strcmp(req->method, "PUT") == 0 || strcmp(req->method, "PATCH") == 0 ||
                      strcmp(req->method, "DELETE") == 0,
                  HS_ERR_INTERNAL, "aws_http: method %.8s", req->method);
    HS_ENSURE_MSG(req->response_max > 0 && req->response_max <= hs_buf_max(out->body),
                  HS_ERR_INTERNAL, "aws_http: response_max must be 1..the buffer's maximum");
    HS_ENSURE_MSG(req->connect_timeout_ms > 0, HS_ERR_INTERNAL, "aws_http: no connect timeout");
    HS_ENSURE_MSG(req->timeout_ms > 0 || req->long_poll, HS_ERR_INTERNAL,
                  "aws_http: no total timeout");
    HS_ENSURE_MSG(req->attempts >= 0 && req->attempts <= AWS_HTTP_ATTEMPTS_MAX, HS_ERR_INTERNAL,
                  "aws_http: attempts");
    HS_ENSURE_MSG((req->sigv4_region == NULL) == (req->sigv4_service == NULL), HS_ERR_INTERNAL,
                  "aws_http: region and service go together");
    HS_ENSURE_MSG(req->sigv4_region == NULL || req->creds != NULL || req->provider != NULL,
                  HS_ERR_INTERNAL, "aws_http: signing needs credentials");
    return HS_OK;
}

/* "aws:amz:REGION:SERVICE" into provider. */
static HS_RESULT aws_http_provider(const struct aws_http_request *req, struct hs_buf *provider)
{
    size_t r = strnlen(req->sigv4_region, AWS_HTTP_REGION_MAX + 1);
    size_t s = strnlen(req->sigv4_service, AWS_HTTP_SERVICE_MAX + 1);
    HS_ENSURE_MSG(r > 0 && r <= AWS_HTTP_REGION_MAX && aws_chars_ok(req->sigv4_region, r, "-") &&
                      s > 0 && s <= AWS_HTTP_SERVICE_MAX &&
                      aws_chars_ok(req->sigv4_service, s, "-"),
                  HS_ERR_INPUT_CONFIG, "the SigV4 region or service is not 1..64 of [a-z0-9-]");
    HS_GUARD(hs_buf_put_str(provider, "aws:amz:"));
    HS_GUARD(hs_buf_put_str(provider, req->sigv4_region));
    HS_GUARD(hs_buf_put_byte(provider, ':'));
    return hs_buf_put_str(provider, req->sigv4_service);
}

/* Everything one attempt owns; freed (and wiped) when the attempt ends. */
struct aws_http_attempt {
    struct curl_slist *hdrs;
    struct hs_buf *provider;
    struct hs_buf *password; /* sensitive */
    struct hs_buf *secret_line;
    struct hs_buf *token_line;
    struct aws_creds *creds; /* from the provider */
};

static void aws_http_attempt_clear(struct aws_http_attempt *a)
{
    aws_slist_wipe_freep(&a->hdrs);
    hs_buf_free(a->provider);
    hs_buf_free(a->password);
    hs_buf_free(a->secret_line);
    hs_buf_free(a->token_line);
    aws_creds_free(a->creds);
    memset(a, 0, sizeof(*a));
}

static HS_RESULT aws_http_append(struct curl_slist **hdrs, const char *line)
{
    struct curl_slist *next = aws_curl()->slist_append(*hdrs, line);
    HS_ENSURE(next != NULL, HS_ERR_NOMEM);
    *hdrs = next;
    return HS_OK;
}

/* "name: <secret>" into line (sensitive) and onto the list. */
static HS_RESULT aws_http_secret_line(struct curl_slist **hdrs, struct hs_buf *line,
                                      const char *name, const struct hs_secret *value)
{
    const unsigned char *p = NULL;
    size_t n = 0;
    hs_secret_get0(value, &p, &n);
    bool ok = n > 0 && p[0] != ' ' && p[n - 1] != ' ';
    for (size_t i = 0; ok && i < n; i++) {
        ok = p[i] >= 0x20 && p[i] < 0x7f; /* nothing that could end or split the header */
    }
    HS_ENSURE_MSG(ok, HS_ERR_INPUT_CONFIG, "a %.64s value is empty or holds a control character",
                  name);
    HS_GUARD(hs_buf_put_str(line, name));
    HS_GUARD(hs_buf_put_str(line, ": "));
    HS_GUARD(hs_buf_put(line, p, n));
    const char *s = NULL;
    HS_GUARD(hs_buf_cstr(line, &s));
    return aws_http_append(hdrs, s);
}

static HS_RESULT aws_http_sign(CURL *c, const struct aws_http_request *req,
                               struct aws_http_attempt *a, struct aws_http_response *out)
{
    const struct aws_creds *creds = req->creds;
    if (creds == NULL) {
        HS_GUARD(aws_creds_provider_get(req->provider, &a->creds));
        creds = a->creds;
        out->creds_version = creds->version;
    }
    a->provider = hs_buf_new(AWS_HTTP_PROVIDER_MAX);
    a->password = hs_buf_new_sensitive(HS_SECRET_MAX + 1);
    HS_ENSURE(a->provider != NULL && a->password != NULL, HS_ERR_NOMEM);
    HS_GUARD(aws_http_provider(req, a->provider));
    const unsigned char *p = NULL;
    size_t n = 0;
    hs_secret_get0(creds->secret, &p, &n);
    HS_GUARD(hs_buf_put(a->password, p, n));
    const char *provider = NULL;
    const char *password = NULL;
    HS_GUARD(hs_buf_cstr(a->provider, &provider));
    HS_GUARD(hs_buf_cstr(a->password, &password));
    if (creds->session_token != NULL) {
        a->token_line = hs_buf_new_sensitive(AWS_HTTP_SECRET_LINE_MAX);
        HS_ENSURE(a->token_line != NULL, HS_ERR_NOMEM);
        HS_GUARD(aws_http_secret_line(&a->hdrs, a->token_line, "X-Amz-Security-Token",
                                      creds->session_token));
    }
    bool ok = aws_curl()->easy_setopt(c, CURLOPT_AWS_SIGV4, provider) == CURLE_OK &&
              /* USERNAME and PASSWORD rather than USERPWD: nothing in the secret is parsed. */
              aws_curl()->easy_setopt(c, CURLOPT_USERNAME, creds->access_key_id) == CURLE_OK &&
              aws_curl()->easy_setopt(c, CURLOPT_PASSWORD, password) == CURLE_OK;
    HS_ENSURE_MSG(ok, HS_ERR_INTERNAL, "libcurl refused the SigV4 options");
    return HS_OK;
}

static HS_RESULT aws_http_setopt(CURL *c, const struct aws_http_request *req,
                                 struct aws_http_sink *sink, char *errbuf)
{
    const char *protocols = req->protocols != NULL ? req->protocols : "https";
    bool ok = aws_curl()->easy_setopt(c, CURLOPT_URL, req->url) == CURLE_OK &&
              aws_curl()->easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols) == CURLE_OK &&
              aws_curl()->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
              aws_curl()->easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              aws_curl()->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms) ==
                  CURLE_OK &&
              aws_curl()->easy_setopt(c, CURLOPT_TIMEOUT_MS,
                                      req->long_poll ? 0L : req->timeout_ms) == CURLE_OK &&
              aws_curl()->easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK &&
              aws_curl()->easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                                      (curl_off_t)req->response_max) == CURLE_OK &&
              aws_curl()->easy_setopt(c, CURLOPT_WRITEFUNCTION, aws_http_write) == CURLE_OK &&
              aws_curl()->easy_setopt(c, CURLOPT_WRITEDATA, sink) == CURLE_OK;
    if (ok && req->no_proxy) {
        ok = aws_curl()->easy_setopt(c, CURLOPT_NOPROXY, "*") == CURLE_OK;
    }
    if (ok && req->keepalive) {
        ok = aws_curl()->easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
    }
    if (ok && req->cacert != NULL) {
        ok = aws_curl()->easy_setopt(c, CURLOPT_CAINFO, req->cacert) == CURLE_OK;
    }
    if (ok && req->user_agent != NULL) {
        ok = aws_curl()->easy_setopt(c, CURLOPT_USERAGENT, req->user_agent) == CURLE_OK;
    }
    if (ok && req->stop != NULL) {
        ok = aws_curl()->easy_setopt(c, CURLOPT_NOPROGRESS, 0L) == CURLE_OK &&
             aws_curl()->easy_setopt(c, CURLOPT_XFERINFOFUNCTION, aws_http_progress) == CURLE_OK &&
             aws_curl()->easy_setopt(c, CURLOPT_XFERINFODATA, req->stop) == CURLE_OK;
    }
    if (ok && strcmp(req->method, "GET") != 0) {
        /* The body is given whole, so libcurl hashes it for SigV4. */
        ok = aws_curl()->easy_setopt(c, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "") ==
                 CURLE_OK &&
             aws_curl()->easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len) ==
                 CURLE_OK;
        if (ok && strcmp(req->method, "POST") != 0) {
            /* PUT, PATCH, DELETE: the POST machinery with the method's own name. */
            ok = aws_curl()->easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method) == CURLE_OK;
        }
    }
    HS_ENSURE_MSG(ok, HS_ERR_INTERNAL, "libcurl refused an option");
    return HS_OK;
}

/* Transport failures: which may have reached the server, which are worth retrying. */
static enum aws_http_transport aws_http_transport_of(CURL *c, CURLcode rc)
{
    long sent = 0;
    switch (rc) {
    case CURLE_OK:
        return AWS_HTTP_ANSWERED;
    case CURLE_ABORTED_BY_CALLBACK:
        return AWS_HTTP_ABORTED;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return AWS_HTTP_UNREACHED;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_LOGIN_DENIED:
    case CURLE_NOT_BUILT_IN:
        return AWS_HTTP_REFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        /* Timed out before any of the request was sent: it never left. */
        HS_IGNORE(aws_curl()->easy_getinfo(c, CURLINFO_REQUEST_SIZE, &sent));
        return sent == 0 ? AWS_HTTP_UNREACHED : AWS_HTTP_BROKEN;
    default:
        return AWS_HTTP_BROKEN;
    }
}

static enum aws_http_class aws_http_default_class(long status)
{
    if (status == 429) {
        return AWS_HTTP_THROTTLE;
    }
    return status >= 500 && status != 501 ? AWS_HTTP_RETRY : AWS_HTTP_FINAL;
}

/* One attempt. Fails only when it cannot be made (bad request, credentials, memory) or the
 * answer is over its bound; how it went is in out. */
static HS_RESULT aws_http_attempt(CURL *c, const struct aws_http_request *req,
                                  struct aws_http_response *out)
{
    HS_DEFER(struct aws_http_attempt a = {0}, aws_http_attempt_clear);
    for (size_t i = 0; i < AWS_HTTP_HEADERS_MAX && req->headers[i] != NULL; i++) {
        HS_GUARD(aws_http_append(&a.hdrs, req->headers[i]));
    }
    if (req->secret_header.name != NULL) {
        a.secret_line = hs_buf_new_sensitive(AWS_HTTP_SECRET_LINE_MAX);
        HS_ENSURE(a.secret_line != NULL, HS_ERR_NOMEM);
        HS_GUARD(aws_http_secret_line(&a.hdrs, a.secret_line, req->secret_header.name,
                                      req->secret_header.value));
    }
    aws_curl()->easy_reset(
        c); /* drops the previous options (credentials among them), keeps connections */
    hs_buf_reset(out->body);
    struct aws_http_sink sink = {out->body, false};
    char errbuf[CURL_ERROR_SIZE] = "";
    HS_GUARD(aws_http_setopt(c, req, &sink, errbuf));
    if (req->sigv4_region != NULL) {
        HS_GUARD(aws_http_sign(c, req, &a, out));
    }
    if (a.hdrs != NULL) {
        HS_ENSURE(aws_curl()->easy_setopt(c, CURLOPT_HTTPHEADER, a.hdrs) == CURLE_OK,
                  HS_ERR_INTERNAL);
    }
    CURLcode rc = aws_curl()->easy_perform(c);
    /* The lists and libcurl's copies of the credentials go before anything else happens (a
     * pooled handle would keep them until its next use). The answer's headers stay readable. */
    HS_IGNORE(aws_curl()->easy_setopt(c, CURLOPT_HTTPHEADER, NULL));
    if (req->sigv4_region != NULL) {
        HS_IGNORE(aws_curl()->easy_setopt(c, CURLOPT_PASSWORD, NULL));
        HS_IGNORE(aws_curl()->easy_setopt(c, CURLOPT_USERNAME, NULL));
        HS_IGNORE(aws_curl()->easy_setopt(c, CURLOPT_AWS_SIGV4, NULL));
    }
    out->status = 0;
    HS_IGNORE(aws_curl()->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status));
    if (sink.overflow || rc == CURLE_FILESIZE_EXCEEDED) {
        out->transport = AWS_HTTP_ANSWERED;
        out->class = AWS_HTTP_FINAL;
        HS_BAIL_MSG(HS_ERR_BOUNDS, "the answer is larger than %zu bytes", req->response_max);
    }
    out->transport = aws_http_transport_of(c, rc);
    out->error[0] = '\0';
    if (rc != CURLE_OK) {
        /* libcurl's words for the code, then its detail (they name the host and the step). */
        (void)snprintf(out->error, sizeof(out->error), "%s%s%.160s", aws_curl()->easy_strerror(rc),
                       errbuf[0] != '\0' ? ": " : "", errbuf);
        out->class = out->transport == AWS_HTTP_UNREACHED || out->transport == AWS_HTTP_BROKEN
                         ? AWS_HTTP_RETRY
                         : AWS_HTTP_FINAL;
        return HS_OK;
    }
    out->class = req->classify != NULL ? req->classify(req->classify_ctx, out->status, out->body)
                                       : aws_http_default_class(out->status);
    if (out->class == AWS_HTTP_EXPIRED && req->provider == NULL) {
        out->class = AWS_HTTP_FINAL; /* fixed credentials cannot be refreshed */
    }
    return HS_OK;
}

/* Full jitter (a uniform delay in [0, base * 2^(attempt - 1)), capped), as the AWS SDKs back
 * off. */
static long aws_http_backoff_ms(const struct aws_http_request *req, int attempt, bool throttled)
{
    long base = throttled ? (req->throttle_backoff_ms > 0 ? req->throttle_backoff_ms
                                                          : AWS_HTTP_THROTTLE_BACKOFF_MS)
                          : (req->backoff_ms > 0 ? req->backoff_ms : AWS_HTTP_BACKOFF_MS);
    long cap = base;
    for (int i = 1; i < attempt && cap < AWS_HTTP_BACKOFF_CAP_MS; i++) {
        cap *= 2;
    }
    cap = cap < AWS_HTTP_BACKOFF_CAP_MS ? cap : AWS_HTTP_BACKOFF_CAP_MS;
    uint32_t r = UINT32_MAX / 2;
    HS_IGNORE(RAND_bytes((unsigned char *)&r, sizeof(r)));
    return (long)(r % (uint32_t)cap);
}

static void aws_http_sleep_ms(long ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static bool aws_http_stopped(const struct aws_http_request *req)
{
    return req->stop != NULL && *req->stop != 0;
}

HS_RESULT aws_http_send(struct aws_http *h, const struct aws_http_request *req,
                        struct aws_http_response *out)
{
    HS_GUARD(aws_http_check_request(req, out));
    HS_DEFER(struct aws_http *own = NULL, aws_http_freep);
    if (h == NULL) {
        own = aws_http_new();
        HS_ENSURE(own != NULL, HS_ERR_NOMEM);
        h = own;
    }
    int attempts = req->attempts > 1 ? req->attempts : 1;
    out->ambiguous = false;
    for (int attempt = 1;; attempt++) {
        out->attempts = attempt;
        HS_GUARD(aws_http_attempt(h->curl, req, out));
        bool last = attempt >= attempts || aws_http_stopped(req);
        if (out->class == AWS_HTTP_FINAL || last) {
            break;
        }
        long wait = aws_http_backoff_ms(req, attempt, out->class == AWS_HTTP_THROTTLE);
        hs_log(HS_LOG_WARN, "aws.http.retry",
               HS_LOG_STR("call", req->log_what != NULL ? req->log_what : req->method),
               HS_LOG_INT("attempt", attempt), HS_LOG_INT("http_status", out->status),
               HS_LOG_STR("transport", out->error[0] != '\0' ? out->error : NULL),
               HS_LOG_INT("backoff_ms", wait));
        out->ambiguous = out->ambiguous || out->transport == AWS_HTTP_BROKEN ||
                         (out->transport == AWS_HTTP_ANSWERED && out->status >= 500);
        if (out->class == AWS_HTTP_EXPIRED) {
            aws_creds_provider_invalidate(req->provider, out->creds_version);
        }
        aws_http_sleep_ms(wait);
    }
    HS_ENSURE_MSG(out->transport == AWS_HTTP_ANSWERED, HS_ERR_IO, "%s (%d attempt%s)", out->error,
                  out->attempts, out->attempts == 1 ? "" : "s");
    return HS_OK;
}
