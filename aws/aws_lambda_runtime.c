#include "aws/aws_lambda_runtime.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "aws/aws_http.h"
#include "aws/aws_lambda_http.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"

#define AWS_LAMBDA_PATH_MAX 512
#define AWS_LAMBDA_DEADLINE_DIGITS 15 /* digits of Lambda-Runtime-Deadline-Ms (epoch ms) */
#define AWS_LAMBDA_ERROR_DOC_MAX 4096 /* bytes of an {"errorMessage", "errorType"} document */
#define AWS_LAMBDA_API_VERSION "/2018-06-01/runtime"
#define AWS_LAMBDA_REPLY_MAX 4096 /* bytes of the Runtime API's answer to a POST (read, unused) */
#define AWS_LAMBDA_HEAD_MAX 2048  /* bytes of one request's head */
#define AWS_LAMBDA_READ_CHUNK 16384
#define AWS_LAMBDA_STOP_POLL_MS 1000 /* how often a wait looks at *stop */
#define AWS_LAMBDA_PORT_MAX 5        /* digits of the port */

/* The Runtime API is plain HTTP/1.1 on loopback, spoken over one blocking-style socket (poll
 * with deadlines) kept alive for the process: libcurl, which the rest of aws/ uses for AWS's
 * HTTPS APIs, costs ~4.4 ms of dynamic loading at a cold start, before the first /next. */
struct aws_lambda_runtime {
    char host[AWS_LAMBDA_RUNTIME_API_MAX + 1]; /* as given, the Host header */
    char node[AWS_LAMBDA_RUNTIME_API_MAX + 1]; /* for getaddrinfo: no brackets */
    char port[AWS_LAMBDA_PORT_MAX + 1];
    int fd; /* -1: not connected */
    const volatile sig_atomic_t *stop;
    /* During a POST: *stop is not looked at. An answer being delivered is never abandoned (the
     * invocation's work, a certificate already committed, would be lost); the POST ends with
     * the Runtime API's answer or its timeout, and the loop stops after it. */
    bool posting;
    struct aws_lambda_http *parser;
};

/* What the Runtime API answered to one call. */
struct aws_lambda_reply {
    struct hs_buf *body; /* NULL: read into a small buffer of its own and discard */
    bool overflow;       /* the body was over its buffer's bound */
    bool stopped;        /* *stop ended the wait */
    long status;
};

static void aws_lambda_disconnect(struct aws_lambda_runtime *l)
{
    if (l->fd >= 0) {
        close(l->fd);
        l->fd = -1;
    }
}

void aws_lambda_runtime_free(struct aws_lambda_runtime *rt)
{
    if (rt != NULL) {
        aws_lambda_disconnect(rt);
        aws_lambda_http_free(rt->parser);
        OPENSSL_free(rt);
    }
}

void aws_lambda_runtime_freep(struct aws_lambda_runtime **rt)
{
    aws_lambda_runtime_free(*rt);
}

/* Splits "host:port" / "[v6]:port" into l->node and l->port (1..65535). */
static HS_RESULT aws_lambda_split(struct aws_lambda_runtime *l, const char *api, size_t n)
{
    const char *colon = memrchr(api, ':', n);
    HS_ENSURE_MSG(colon != NULL, HS_ERR_INPUT_CONFIG, "AWS_LAMBDA_RUNTIME_API is not host:port");
    size_t host_len = (size_t)(colon - api);
    size_t port_len = n - host_len - 1;
    const char *host = api;
    if (host_len >= 2 && api[0] == '[' && api[host_len - 1] == ']') {
        host++;
        host_len -= 2;
    }
    HS_ENSURE_MSG(host_len > 0 && memchr(host, '[', host_len) == NULL &&
                      memchr(host, ']', host_len) == NULL && port_len > 0 &&
                      port_len <= AWS_LAMBDA_PORT_MAX &&
                      strspn(colon + 1, "0123456789") == port_len,
                  HS_ERR_INPUT_CONFIG, "AWS_LAMBDA_RUNTIME_API is not host:port");
    long port = strtol(colon + 1, NULL, 10);
    HS_ENSURE_MSG(port >= 1 && port <= 65535, HS_ERR_INPUT_CONFIG,
                  "AWS_LAMBDA_RUNTIME_API is not host:port");
    memcpy(l->node, host, host_len);
    l->node[host_len] = '\0';
    memcpy(l->port, colon + 1, port_len);
    l->port[port_len] = '\0';
    return HS_OK;
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
    l->fd = -1;
    l->stop = stop;
    HS_GUARD(aws_lambda_split(l, runtime_api, n));
    memcpy(l->host, runtime_api, n + 1);
    l->parser = aws_lambda_http_new();
    HS_ENSURE(l->parser != NULL, HS_ERR_NOMEM);
    *out = l;
    l = NULL;
    return HS_OK;
}

static long long aws_lambda_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000LL + now.tv_nsec / 1000000;
}

static bool aws_lambda_stop_set(const struct aws_lambda_runtime *l)
{
    return !l->posting && l->stop != NULL && *l->stop != 0;
}

/* Waits until fd is ready for events, in slices of AWS_LAMBDA_STOP_POLL_MS so that *stop is
 * seen; deadline 0: none. *stopped is set when *stop ended the wait. A timeout is HS_ERR_IO. */
static HS_RESULT aws_lambda_wait(const struct aws_lambda_runtime *l, short events,
                                 long long deadline, bool *stopped)
{
    for (;;) {
        if (aws_lambda_stop_set(l)) {
            *stopped = true;
            return HS_OK;
        }
        long long slice = AWS_LAMBDA_STOP_POLL_MS;
        if (deadline > 0) {
            long long left = deadline - aws_lambda_now_ms();
            HS_ENSURE_MSG(left > 0, HS_ERR_IO, "the Runtime API did not answer in time");
            slice = left < slice ? left : slice;
        }
        struct pollfd pfd = {.fd = l->fd, .events = events};
        int rc = poll(&pfd, 1, (int)slice);
        if (rc > 0) {
            return HS_OK;
        }
        HS_ENSURE_MSG(rc == 0 || errno == EINTR, HS_ERR_IO, "poll: %s", strerror(errno));
    }
}

/* Connects to the Runtime API within AWS_LAMBDA_CONNECT_TIMEOUT_MS. */
static HS_RESULT aws_lambda_connect(struct aws_lambda_runtime *l, bool *stopped)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int gai = getaddrinfo(l->node, l->port, &hints, &ai);
    HS_ENSURE_MSG(gai == 0, HS_ERR_IO, "Runtime API %s: %s", l->host, gai_strerror(gai));
    long long deadline = aws_lambda_now_ms() + AWS_LAMBDA_CONNECT_TIMEOUT_MS;
    int err = ECONNREFUSED;
    for (struct addrinfo *a = ai; a != NULL && l->fd < 0 && !*stopped; a = a->ai_next) {
        l->fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (l->fd < 0) {
            err = errno;
            continue;
        }
        int rc = connect(l->fd, a->ai_addr, a->ai_addrlen);
        err = rc == 0 ? 0 : errno;
        if (rc != 0 && errno == EINPROGRESS) {
            hs_result w = aws_lambda_wait(l, POLLOUT, deadline, stopped);
            socklen_t len = sizeof(err);
            err = hs_failed(w) ? ETIMEDOUT : *stopped ? EINTR : 0;
            if (err == 0 && getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
                err = errno;
            }
            hs_error_clear();
        }
        if (err != 0) {
            aws_lambda_disconnect(l);
        }
    }
    freeaddrinfo(ai);
    if (*stopped) {
        aws_lambda_disconnect(l);
        return HS_OK;
    }
    HS_ENSURE_MSG(l->fd >= 0, HS_ERR_IO, "connecting to the Runtime API %s: %s", l->host,
                  strerror(err));
    int one = 1;
    HS_IGNORE(setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
    return HS_OK;
}

/* Sends n bytes before deadline (0: none). */
static HS_RESULT aws_lambda_send_all(struct aws_lambda_runtime *l, const unsigned char *p, size_t n,
                                     long long deadline, bool *stopped)
{
    while (n > 0 && !*stopped) {
        ssize_t w = send(l->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        HS_ENSURE_MSG(w < 0 && (errno == EAGAIN || errno == EINTR), HS_ERR_IO,
                      "sending to the Runtime API: %s", w == 0 ? "closed" : strerror(errno));
        HS_GUARD(aws_lambda_wait(l, POLLOUT, deadline, stopped));
    }
    return HS_OK;
}

/* Reads the answer into the parser until it is complete. *nothing is set when the connection
 * ended (or was reset) before its first byte: a kept-alive connection the server had closed. */
static HS_RESULT aws_lambda_read_answer(struct aws_lambda_runtime *l, long long deadline,
                                        bool *stopped, bool *nothing)
{
    unsigned char buf[AWS_LAMBDA_READ_CHUNK];
    bool done = false;
    *nothing = true;
    while (!done && !*stopped) {
        ssize_t r = recv(l->fd, buf, sizeof(buf), 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            HS_GUARD(aws_lambda_wait(l, POLLIN, deadline, stopped));
            continue;
        }
        if (r < 0 && *nothing && (errno == ECONNRESET || errno == EPIPE)) {
            return HS_OK;
        }
        HS_ENSURE_MSG(r >= 0, HS_ERR_IO, "reading from the Runtime API: %s", strerror(errno));
        if (r == 0 && *nothing) {
            return HS_OK;
        }
        *nothing = false;
        HS_GUARD(aws_lambda_http_feed(l->parser, buf, (size_t)r, &done));
    }
    return HS_OK;
}

/* One exchange: head (and body) out, the answer into r. A connection kept from an earlier call
 * that turns out closed is reopened once (nothing of the answer had arrived, so the request
 * was not taken). deadline 0: none (the /next long poll). A transport failure is HS_ERR_IO. */
static HS_RESULT aws_lambda_exchange(struct aws_lambda_runtime *l, const struct hs_buf *head,
                                     const struct hs_buf *body, long long deadline,
                                     struct aws_lambda_reply *r)
{
    HS_DEFER(struct hs_buf *own = NULL, hs_buf_freep);
    struct hs_buf *into = r->body;
    if (into == NULL) {
        own = hs_buf_new(AWS_LAMBDA_REPLY_MAX);
        HS_ENSURE(own != NULL, HS_ERR_NOMEM);
        into = own;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        bool reused = l->fd >= 0;
        if (!reused) {
            HS_GUARD(aws_lambda_connect(l, &r->stopped));
        }
        aws_lambda_http_reset(l->parser, into);
        bool nothing = true;
        hs_result res =
            aws_lambda_send_all(l, hs_buf_data(head), hs_buf_len(head), deadline, &r->stopped);
        if (!hs_failed(res) && body != NULL) {
            res =
                aws_lambda_send_all(l, hs_buf_data(body), hs_buf_len(body), deadline, &r->stopped);
        }
        if (!hs_failed(res)) {
            res = aws_lambda_read_answer(l, deadline, &r->stopped, &nothing);
        }
        /* *stop set while the exchange failed (SIGTERM, then the connection cut): stopped. */
        r->stopped = r->stopped || ((hs_failed(res) || nothing) && aws_lambda_stop_set(l));
        if (r->stopped) {
            aws_lambda_disconnect(l);
            hs_error_clear();
            return HS_OK;
        }
        if (hs_failed(res) || nothing) {
            aws_lambda_disconnect(l);
            if (reused && (nothing || res.code == HS_ERR_IO) && attempt == 0) {
                hs_error_clear();
                continue;
            }
            HS_GUARD(res);
            HS_BAIL_MSG(HS_ERR_IO, "the Runtime API closed the connection without an answer");
        }
        const struct aws_lambda_http_answer *a = aws_lambda_http_get0_answer(l->parser);
        r->status = a->status;
        r->overflow = a->overflow;
        if (!a->keep_alive) {
            aws_lambda_disconnect(l);
        }
        return HS_OK;
    }
    HS_BAIL_MSG(HS_ERR_IO, "the Runtime API closed the connection without an answer");
}

/* The head of a request to path: method, Host, and for a body its type, length and the
 * optional Lambda-Runtime-Function-Error-Type. */
static HS_RESULT aws_lambda_head(const struct aws_lambda_runtime *l, const char *method,
                                 const char *path, const struct hs_buf *body,
                                 const char *error_type, struct hs_buf *out)
{
    HS_GUARD(hs_buf_put_str(out, method));
    HS_GUARD(hs_buf_put_str(out, " " AWS_LAMBDA_API_VERSION));
    HS_GUARD(hs_buf_put_str(out, path));
    HS_GUARD(hs_buf_put_str(out, " HTTP/1.1\r\nHost: "));
    HS_GUARD(hs_buf_put_str(out, l->host));
    HS_GUARD(hs_buf_put_str(out, "\r\nUser-Agent: hsmsign\r\n"));
    if (body != NULL) {
        char len[32];
        int w = snprintf(len, sizeof(len), "%zu", hs_buf_len(body));
        HS_ENSURE(w > 0 && (size_t)w < sizeof(len), HS_ERR_INTERNAL);
        HS_GUARD(hs_buf_put_str(out, "Content-Type: application/json\r\nContent-Length: "));
        HS_GUARD(hs_buf_put_str(out, len));
        HS_GUARD(hs_buf_put_str(out, "\r\n"));
    }
    if (error_type != NULL) {
        size_t n = strnlen(error_type, AWS_LAMBDA_ERROR_TYPE_MAX + 1);
        HS_ENSURE(n > 0 && n <= AWS_LAMBDA_ERROR_TYPE_MAX && aws_chars_ok(error_type, n, "."),
                  HS_ERR_INTERNAL);
        HS_GUARD(hs_buf_put_str(out, "Lambda-Runtime-Function-Error-Type: "));
        HS_GUARD(hs_buf_put_str(out, error_type));
        HS_GUARD(hs_buf_put_str(out, "\r\n"));
    }
    return hs_buf_put_str(out, "\r\n");
}

/* GET /invocation/next: a connect timeout, no total timeout (the poll lasts until an event
 * comes, and Lambda freezes the process meanwhile), abandoned when *stop is set. */
static HS_RESULT aws_lambda_get_next(struct aws_lambda_runtime *l, struct aws_lambda_reply *r)
{
    HS_DEFER(struct hs_buf *head = hs_buf_new(AWS_LAMBDA_HEAD_MAX), hs_buf_freep);
    HS_ENSURE(head != NULL, HS_ERR_NOMEM);
    HS_GUARD(aws_lambda_head(l, "GET", "/invocation/next", NULL, NULL, head));
    hs_result res = aws_lambda_exchange(l, head, NULL, 0, r);
    if (hs_failed(res)) {
        char why[sizeof(hs_error_last()->detail)];
        memcpy(why, hs_error_last()->detail, sizeof(why));
        HS_BAIL_MSG(HS_ERR_IO, "GET /next: %s", why);
    }
    return HS_OK;
}

/* POST body (JSON) to path with connect and total timeouts; error_type (may be NULL) becomes
 * Lambda-Runtime-Function-Error-Type. *stop does not cut it short (see posting). A transport
 * failure is HS_ERR_IO; any HTTP status is left in r->status for the caller. */
static HS_RESULT aws_lambda_post(struct aws_lambda_runtime *l, const char *path,
                                 const struct hs_buf *body, const char *error_type,
                                 struct aws_lambda_reply *r)
{
    HS_DEFER(struct hs_buf *head = hs_buf_new(AWS_LAMBDA_HEAD_MAX), hs_buf_freep);
    HS_ENSURE(head != NULL, HS_ERR_NOMEM);
    HS_GUARD(aws_lambda_head(l, "POST", path, body, error_type, head));
    long long deadline = aws_lambda_now_ms() + AWS_LAMBDA_POST_TIMEOUT_MS;
    l->posting = true;
    hs_result res = aws_lambda_exchange(l, head, body, deadline, r);
    l->posting = false;
    if (hs_failed(res)) {
        char why[sizeof(hs_error_last()->detail)];
        memcpy(why, hs_error_last()->detail, sizeof(why));
        HS_BAIL_MSG(HS_ERR_IO, "POST to the Runtime API: %s", why);
    }
    /* 500 is the Runtime API's "non-recoverable state; the runtime should exit". */
    HS_ENSURE_MSG(r->status != 500, HS_ERR_IO, "the Runtime API answered 500");
    return HS_OK;
}

/* "/invocation/" id tail into out. */
static HS_RESULT aws_lambda_path(const char *id, const char *tail, char out[AWS_LAMBDA_PATH_MAX])
{
    int w = snprintf(out, AWS_LAMBDA_PATH_MAX, "/invocation/%s%s", id, tail);
    HS_ENSURE(w > 0 && w < AWS_LAMBDA_PATH_MAX, HS_ERR_BOUNDS);
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
    HS_DEFER(struct hs_buf *doc = NULL, hs_buf_freep);
    HS_GUARD(aws_lambda_error_doc(error_type, message, &doc));
    struct aws_lambda_reply r = {0};
    HS_GUARD(aws_lambda_post(l, "/init/error", doc, error_type, &r));
    HS_ENSURE_MSG(r.status == 202, HS_ERR_IO, "POST /init/error answered %ld", r.status);
    return HS_OK;
}

/* Copies a header value src into out (n bytes with the terminator) when it is non-empty and
 * made of allowed bytes: alphanumerics and `extra`, or any visible ASCII and space when extra
 * is NULL. Leaves out "" otherwise. */
static void aws_lambda_header_copy(const char *src, const char *extra, char *out, size_t n)
{
    out[0] = '\0';
    size_t len = strnlen(src, n);
    bool ok = len > 0 && len < n;
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        ok = extra != NULL ? aws_chars_ok(src + i, 1, extra) : c >= 0x20 && c < 0x7f;
    }
    if (ok) {
        memcpy(out, src, len + 1);
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
    inv->request_id[0] = '\0';
    inv->trace_id[0] = '\0';
    inv->deadline_ms = 0;
    struct aws_lambda_reply r = {.body = inv->event};
    HS_GUARD(aws_lambda_get_next(l, &r));
    *stopped = r.stopped;
    if (*stopped) {
        hs_buf_reset(inv->event);
        return HS_OK;
    }
    HS_ENSURE_MSG(r.status == 200, HS_ERR_IO, "GET /next answered %ld", r.status);
    inv->too_large = r.overflow;
    const struct aws_lambda_http_answer *a = aws_lambda_http_get0_answer(l->parser);
    aws_lambda_header_copy(a->request_id, "-_.", inv->request_id, sizeof(inv->request_id));
    HS_ENSURE_MSG(inv->request_id[0] != '\0', HS_ERR_IO,
                  "GET /next: no valid Lambda-Runtime-Aws-Request-Id");
    aws_lambda_header_copy(a->trace_id, NULL, inv->trace_id, sizeof(inv->trace_id));
    char deadline[AWS_LAMBDA_DEADLINE_DIGITS + 1];
    aws_lambda_header_copy(a->deadline_ms, "", deadline, sizeof(deadline));
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
    char path[AWS_LAMBDA_PATH_MAX];
    HS_GUARD(aws_lambda_path(inv->request_id, "/response", path));
    struct aws_lambda_reply reply = {0};
    HS_GUARD(aws_lambda_post(l, path, payload, NULL, &reply));
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
    char path[AWS_LAMBDA_PATH_MAX];
    HS_GUARD(aws_lambda_path(inv->request_id, "/error", path));
    HS_DEFER(struct hs_buf *doc = NULL, hs_buf_freep);
    HS_GUARD(aws_lambda_error_doc(error_type, message, &doc));
    struct aws_lambda_reply reply = {0};
    HS_GUARD(aws_lambda_post(l, path, doc, error_type, &reply));
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
