#include "api/api_http.h"

#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "api/api_route.h"
#include "common/hs_buf.h"
#include "common/hs_log.h"

#define API_HTTP_HEADERS_MAX API_SIGV4_HEADERS_MAX
#define API_HTTP_HOST_MAX 128

struct api_http {
    struct MHD_Daemon *daemon;
    struct api_service *svc;
    uint16_t port;
};

/* Per-request state, created when the request line arrives. */
struct api_http_req {
    char *target;        /* raw request-target as received */
    struct hs_buf *body; /* NULL until the first body bytes */
    bool started;
    bool too_large;
};

struct api_http_headers {
    struct api_header items[API_HTTP_HEADERS_MAX];
    size_t n;
    bool overflow;
};

static void *api_http_uri_log(void *cls, const char *uri, struct MHD_Connection *con)
{
    (void)cls;
    (void)con;
    struct api_http_req *r = OPENSSL_zalloc(sizeof(*r));
    if (r != NULL && uri != NULL) {
        /* An over-long target is kept truncated; SigV4 refuses it as too large. */
        r->target = OPENSSL_strndup(uri, API_SIGV4_TARGET_MAX + 1);
    }
    return r;
}

static void api_http_completed(void *cls, struct MHD_Connection *con, void **req_cls,
                               enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)con;
    (void)toe;
    struct api_http_req *r = *req_cls;
    if (r != NULL) {
        OPENSSL_free(r->target);
        hs_buf_free(r->body);
        OPENSSL_free(r);
        *req_cls = NULL;
    }
}

static enum MHD_Result api_http_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    (void)kind;
    struct api_http_headers *h = cls;
    if (h->n >= API_HTTP_HEADERS_MAX) {
        h->overflow = true;
        return MHD_NO;
    }
    h->items[h->n++] = (struct api_header){key, value != NULL ? value : ""};
    return MHD_YES;
}

static enum MHD_Result api_http_send(struct MHD_Connection *con, const struct api_response *resp,
                                     const char *req_id)
{
    const void *data = resp->body != NULL ? (const void *)hs_buf_data(resp->body) : "";
    size_t len = resp->body != NULL ? hs_buf_len(resp->body) : 0;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (r == NULL) {
        return MHD_NO;
    }
    if (resp->content_type != NULL) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    }
    if (resp->cache_control != NULL) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, resp->cache_control);
    }
    char retry[24];
    if (resp->retry_after_s > 0 && snprintf(retry, sizeof(retry), "%ld", resp->retry_after_s) > 0) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry);
    }
    MHD_add_response_header(r, "X-Request-Id", req_id);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ok = MHD_queue_response(con, resp->status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result api_http_error(struct MHD_Connection *con, enum hs_code code)
{
    struct api_request req = {0};
    api_request_id_new(&req);
    struct api_response resp;
    memset(&resp, 0, sizeof(resp));
    api_response_error(&resp, code, req.req_id);
    enum MHD_Result ok = api_http_send(con, &resp, req.req_id);
    api_response_clear(&resp);
    return ok;
}

/* First call for a request: only headers are known. A declared body over the limit is refused
 * at once, before a byte of it is read. */
static enum MHD_Result api_http_begin(struct MHD_Connection *con, struct api_http_req *r)
{
    r->started = true;
    const char *cl =
        MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL && (strlen(cl) > 9 || strtoul(cl, NULL, 10) > API_BODY_MAX)) {
        r->too_large = true;
        return api_http_error(con, HS_ERR_INPUT_TOO_LARGE);
    }
    return MHD_YES;
}

static void api_http_absorb(struct api_http_req *r, const char *data, size_t len)
{
    if (r->too_large) {
        return;
    }
    if (r->body == NULL) {
        r->body = hs_buf_new(API_BODY_MAX);
    }
    if (r->body == NULL || hs_failed(hs_buf_put(r->body, data, len))) {
        r->too_large = true;
    }
}

/* The peer's numeric address in out, or NULL when it cannot be told. */
static const char *api_http_peer(struct MHD_Connection *con, char out[NI_MAXHOST])
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == NULL || info->client_addr == NULL) {
        return NULL;
    }
    socklen_t len = info->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                             : sizeof(struct sockaddr_in);
    if (getnameinfo(info->client_addr, len, out, NI_MAXHOST, NULL, 0, NI_NUMERICHOST) != 0) {
        return NULL;
    }
    return out;
}

static enum MHD_Result api_http_access(void *cls, struct MHD_Connection *con, const char *url,
                                       const char *method, const char *version,
                                       const char *upload_data, size_t *upload_data_size,
                                       void **req_cls)
{
    (void)url;
    (void)version;
    struct api_http *http = cls;
    struct api_http_req *r = *req_cls;
    if (r == NULL || r->target == NULL) {
        return api_http_error(con, HS_ERR_NOMEM);
    }
    if (!r->started) {
        return api_http_begin(con, r);
    }
    if (*upload_data_size > 0) {
        api_http_absorb(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->too_large) {
        return api_http_error(con, HS_ERR_INPUT_TOO_LARGE);
    }
    char peer[NI_MAXHOST];
    const char *peer_addr = api_http_peer(con, peer);
    struct api_http_headers headers = {.n = 0};
    MHD_get_connection_values(con, MHD_HEADER_KIND, api_http_header, &headers);
    if (headers.overflow) {
        return api_http_error(con, HS_ERR_INPUT_TOO_LARGE);
    }
    struct api_request req = {
        .method = method,
        .target = r->target,
        .headers = headers.items,
        .nheaders = headers.n,
        .body = r->body != NULL ? hs_buf_data(r->body) : NULL,
        .body_len = r->body != NULL ? hs_buf_len(r->body) : 0,
        .transport = API_TRANSPORT_HTTP,
        .peer_addr = peer_addr,
        .now = time(NULL),
    };
    api_request_id_new(&req);
    struct api_response resp;
    api_route(http->svc, &req, &resp);
    enum MHD_Result ok = api_http_send(con, &resp, req.req_id);
    api_response_clear(&resp);
    return ok;
}

/* Splits "host:port" / "[v6]:port" and resolves it (numeric port). */
static HS_RESULT api_http_resolve(const char *listen, struct addrinfo **out)
{
    char host[API_HTTP_HOST_MAX];
    const char *colon = strrchr(listen, ':');
    HS_ENSURE_MSG(colon != NULL && colon != listen && colon[1] != '\0', HS_ERR_INPUT_CONFIG,
                  "listen address \"%s\" is not host:port", listen);
    const char *h = listen;
    size_t n = (size_t)(colon - listen);
    if (h[0] == '[' && n >= 2 && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    HS_ENSURE_MSG(n > 0 && n < sizeof(host), HS_ERR_INPUT_CONFIG, "listen host too long");
    memcpy(host, h, n);
    host[n] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
    int rc = getaddrinfo(host, colon + 1, &hints, out);
    HS_ENSURE_MSG(rc == 0, HS_ERR_INPUT_CONFIG, "listen address \"%s\": %s", listen,
                  gai_strerror(rc));
    return HS_OK;
}

HS_RESULT api_http_start(struct api_service *svc, const char *listen, long max_connections,
                         long timeout_s, struct api_http **out)
{
    HS_ENSURE_REF(svc);
    HS_ENSURE_REF(listen);
    struct addrinfo *ai = NULL;
    HS_GUARD(api_http_resolve(listen, &ai));
    struct api_http *http = OPENSSL_zalloc(sizeof(*http));
    if (http == NULL) {
        freeaddrinfo(ai);
        HS_BAIL(HS_ERR_NOMEM);
    }
    http->svc = svc;
    unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    if (ai->ai_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    http->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, api_http_access, http, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_URI_LOG_CALLBACK, api_http_uri_log, NULL, MHD_OPTION_NOTIFY_COMPLETED,
        api_http_completed, NULL, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)timeout_s, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (http->daemon == NULL) {
        OPENSSL_free(http);
        HS_BAIL_MSG(HS_ERR_IO, "cannot listen on %s", listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(http->daemon, MHD_DAEMON_INFO_BIND_PORT);
    http->port = info != NULL ? info->port : 0;
    *out = http;
    return HS_OK;
}

uint16_t api_http_port(const struct api_http *http)
{
    return http->port;
}

void api_http_stop(struct api_http *http)
{
    if (http != NULL) {
        MHD_stop_daemon(http->daemon);
        OPENSSL_free(http);
    }
}
