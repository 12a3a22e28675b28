#include "api/api_http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>
#include <openssl/crypto.h>

#include "api/api_http_parse.h"
#include "api/api_metrics.h"
#include "api/api_route.h"
#include "api/api_service.h"
#include "common/hs_buf.h"
#include "common/hs_log.h"
#include "pkcs11/p11_sched.h"

#define API_HTTP_HOST_MAX 128
#define API_HTTP_READ_MAX (64 * 1024) /* bytes one read() takes */
#define API_HTTP_READS_PER_EVENT 4    /* reads of one connection before the next one's turn */
#define API_HTTP_ACCEPTS_PER_EVENT 64 /* accepts before the connections get their turn */
#define API_HTTP_EVENTS 256           /* epoll events per wait */
#define API_HTTP_TICK_MS 100          /* deadlines are checked this often */
#define API_HTTP_LINGER_MS 1000       /* reading and dropping after an error response */
#define API_HTTP_LINGER_MAX (1 << 20) /* bytes read and dropped after an error response */
#define API_HTTP_ACCEPT_PAUSE_MS 100  /* no accept() after EMFILE for this long */
#define API_HTTP_HEAD_OUT_MAX 2048    /* bytes of a response's status line and headers */
#define API_HTTP_FIELD_MAX 64         /* bytes of a formatted number or date */
#define API_HTTP_RETRY_BUSY_S 1       /* Retry-After of a 503 over the connection limits */
#define API_HTTP_ADDR_LEN 16          /* an IPv6 address; IPv4 as ::ffff:a.b.c.d */
#define API_HTTP_FDS_SPARE 64         /* descriptors beyond the connections (token, store, logs) */
#define API_HTTP_CONTINUE "HTTP/1.1 100 Continue\r\n\r\n"
_Static_assert(API_LANES <= API_METRICS_LANES, "every lane has its metrics");
/* A lane's virtual time advances by API_HTTP_VSCALE / weight per request it is given. */
#define API_HTTP_VSCALE ((uint64_t)P11_SCHED_WEIGHT_MAX * 1000)

enum api_http_state {
    API_HTTP_READ = 0, /* reading a request (or idle between requests) */
    API_HTTP_WORK,     /* a worker has the request; the I/O thread does not touch it */
    API_HTTP_WRITE,    /* writing the response */
    API_HTTP_LINGER,   /* half-closed after an error response: reading and dropping */
};

struct api_http_conn {
    int fd;
    size_t slot; /* index in http->conns */
    /* Atomic: a worker hands the connection back by storing API_HTTP_READ (under http->lock,
     * after its deadline) while the I/O thread's sweep may look at it. */
    _Atomic(enum api_http_state) state;
    struct api_http_parse *parse;
    unsigned char *pending; /* bytes after the request in flight (pipelining) */
    size_t pending_len;
    struct hs_buf *out; /* the response being written */
    size_t out_off;
    bool close_after; /* close (after lingering) once out is written */
    bool watched;     /* registered with epoll (EPOLLONESHOT: armed or not) */
    int64_t deadline_ms;
    size_t lingered;
    unsigned char addr[API_HTTP_ADDR_LEN];
    char peer[NI_MAXHOST]; /* numeric; "" when unknown */
    unsigned int lane;     /* api_route_lane() of the request in flight */
    uint64_t seq;          /* arrival order of the request in flight */
    struct api_http_conn *next;
};

/* Requests of one lane waiting for a worker (api_http.h "Lanes"); guarded by http->lock. */
struct api_http_lane {
    struct api_http_conn *head;
    struct api_http_conn *tail;
    size_t queued;
    size_t in_flight; /* taken by a worker and not yet answered */
    unsigned int weight;
    uint64_t vnext; /* virtual time of the lane's next request */
};

/* Open connections from one address. */
struct api_http_peer {
    unsigned char addr[API_HTTP_ADDR_LEN];
    long count;
};

struct api_http {
    struct api_service *svc;
    struct api_http_limits limits;
    uint16_t port;
    int listen_fd;
    int epoll_fd;
    int wake_fd; /* eventfd: a worker finished while the I/O thread waited, or stop */
    /* A worker wakes the I/O thread only when it waits in epoll_wait (io_waiting); it sets
     * has_done first and the I/O thread sets io_waiting before it reads has_done (both
     * sequentially consistent), so either the worker sees it waiting or it sees the work. */
    atomic_bool io_waiting;
    atomic_bool has_done;
    bool accepting;
    int64_t accept_resume_ms;
    atomic_bool stopping;
    pthread_t io_thread;
    bool io_started;
    pthread_t *workers;
    size_t nworkers;
    pthread_mutex_t lock; /* the lanes, the counters below, done and workers_stop */
    pthread_cond_t work_cond;
    struct api_http_lane lanes[API_LANES];
    size_t queued;              /* in all lanes */
    size_t busy;                /* requests workers hold */
    uint64_t vclock;            /* virtual time of the request given last */
    uint64_t seq;               /* requests queued so far */
    size_t lane_max;            /* limits.lane_queue_max, resolved */
    struct api_http_conn *done; /* answered, for the I/O thread to write or close */
    bool workers_stop;
    /* I/O thread only */
    struct api_http_conn **conns;
    size_t nconns;
    struct api_http_peer *peers;
    size_t npeers;
    unsigned char scratch[API_HTTP_READ_MAX];
};

static int64_t api_http_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- responses ------------------------------------------------------------------------------ */

static HS_RESULT api_http_put_header(struct hs_buf *b, const char *name, const char *value)
{
    HS_GUARD(hs_buf_put_str(b, name));
    HS_GUARD(hs_buf_put_str(b, ": "));
    HS_GUARD(hs_buf_put_str(b, value));
    return hs_buf_put_str(b, "\r\n");
}

static HS_RESULT api_http_put_number(struct hs_buf *b, const char *name, long long value)
{
    char text[API_HTTP_FIELD_MAX];
    int n = snprintf(text, sizeof(text), "%lld", value);
    HS_ENSURE(n > 0 && (size_t)n < sizeof(text), HS_ERR_BOUNDS);
    return api_http_put_header(b, name, text);
}

/* Date: IMF-fixdate (RFC 9110 §5.6.7). */
static HS_RESULT api_http_put_date(struct hs_buf *b)
{
    char text[API_HTTP_FIELD_MAX];
    struct tm tm;
    time_t now = time(NULL);
    HS_ENSURE(gmtime_r(&now, &tm) != NULL, HS_ERR_INTERNAL);
    HS_ENSURE(strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0, HS_ERR_BOUNDS);
    return api_http_put_header(b, "Date", text);
}

/* The whole response (status line, headers, body) in *out, which the caller frees. */
static HS_RESULT api_http_serialize(const struct api_response *resp, const char *req_id, bool close,
                                    struct hs_buf **out)
{
    size_t len = resp->body != NULL ? hs_buf_len(resp->body) : 0;
    /* Sensitive: a body may carry a generated private key (GET /v1/ssh/keys/{id}). */
    HS_DEFER(struct hs_buf *b = hs_buf_new_sensitive(API_HTTP_HEAD_OUT_MAX + len), hs_buf_freep);
    HS_ENSURE(b != NULL, HS_ERR_NOMEM);
    char line[API_HTTP_FIELD_MAX];
    unsigned int status = resp->status != 0 ? resp->status : 500;
    int n = snprintf(line, sizeof(line), "HTTP/1.1 %u %s\r\n", status,
                     http_status_str((enum http_status)status));
    HS_ENSURE(n > 0 && (size_t)n < sizeof(line), HS_ERR_BOUNDS);
    HS_GUARD(hs_buf_put(b, line, (size_t)n));
    if (resp->content_type != NULL) {
        HS_GUARD(api_http_put_header(b, "Content-Type", resp->content_type));
    }
    if (resp->cache_control != NULL) {
        HS_GUARD(api_http_put_header(b, "Cache-Control", resp->cache_control));
    }
    if (resp->retry_after_s > 0) {
        HS_GUARD(api_http_put_number(b, "Retry-After", resp->retry_after_s));
    }
    if (resp->location[0] != '\0') {
        HS_GUARD(api_http_put_header(b, "Location", resp->location));
    }
    if (resp->allow[0] != '\0') {
        HS_GUARD(api_http_put_header(b, "Allow", resp->allow));
    }
    if (resp->etag[0] != '\0') {
        HS_GUARD(api_http_put_header(b, "ETag", resp->etag));
    }
    for (size_t i = 0; resp->headers != NULL && resp->headers[i][0] != NULL; i++) {
        HS_GUARD(api_http_put_header(b, resp->headers[i][0], resp->headers[i][1]));
    }
    HS_GUARD(api_http_put_header(b, "X-Request-Id", req_id));
    HS_GUARD(api_http_put_header(b, "X-Content-Type-Options", "nosniff"));
    HS_GUARD(api_http_put_date(b));
    HS_GUARD(api_http_put_number(b, "Content-Length", (long long)len));
    HS_GUARD(api_http_put_header(b, "Connection", close ? "close" : "keep-alive"));
    HS_GUARD(hs_buf_put_str(b, "\r\n"));
    /* HEAD: Content-Length is the GET answer's, and no body follows (RFC 9110 §9.3.2). */
    if (len > 0 && !resp->head) {
        HS_GUARD(hs_buf_put(b, hs_buf_data(resp->body), len));
    }
    *out = b;
    b = NULL;
    return HS_OK;
}

/* The JSON error response for a refusal of the front end itself (always closing). */
static HS_RESULT api_http_error_bytes(enum hs_code code, const char *peer, struct hs_buf **out)
{
    struct api_request req = {0};
    api_request_id_new(&req);
    struct api_response resp;
    memset(&resp, 0, sizeof(resp));
    api_response_error(&resp, code, req.req_id);
    if (code == HS_ERR_INPUT_HTTP_BUSY) {
        resp.retry_after_s = API_HTTP_RETRY_BUSY_S;
    }
    hs_log_set_req_id(req.req_id);
    hs_log(code == HS_ERR_INPUT_HTTP_BUSY ? HS_LOG_DEBUG : HS_LOG_INFO, "http.request.refused",
           HS_LOG_STR("peer", peer), HS_LOG_STR("code", hs_code_name(code)),
           HS_LOG_INT("status", resp.status));
    hs_log_set_req_id(NULL);
    hs_result r = api_http_serialize(&resp, req.req_id, true, out);
    api_response_clear(&resp);
    return r;
}

/* --- connections (I/O thread) --------------------------------------------------------------- */

static struct api_http_peer *api_http_peer_find(struct api_http *http,
                                                const unsigned char addr[API_HTTP_ADDR_LEN])
{
    for (size_t i = 0; i < http->npeers; i++) {
        if (memcmp(http->peers[i].addr, addr, API_HTTP_ADDR_LEN) == 0) {
            return &http->peers[i];
        }
    }
    return NULL;
}

/* The address as a 16-byte key (IPv4 mapped into IPv6) and as numeric text. */
static void api_http_addr(const struct sockaddr_storage *ss, socklen_t len,
                          unsigned char key[API_HTTP_ADDR_LEN], char text[NI_MAXHOST])
{
    memset(key, 0, API_HTTP_ADDR_LEN);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        key[10] = 0xff;
        key[11] = 0xff;
        memcpy(key + 12, &in->sin_addr, 4);
    } else if (ss->ss_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)ss)->sin6_addr, API_HTTP_ADDR_LEN);
    }
    if (getnameinfo((const struct sockaddr *)ss, len, text, NI_MAXHOST, NULL, 0, NI_NUMERICHOST) !=
        0) {
        text[0] = '\0';
    }
}

/* Arms conn for one event (EPOLLONESHOT, epoll(7)): once it fires, the connection is disarmed
 * until armed again, so a request handed to a worker needs no epoll_ctl, and whoever holds the
 * connection next (the I/O thread, or a worker that answered it) arms it once. */
static bool api_http_watch(struct api_http *http, struct api_http_conn *conn, uint32_t events)
{
    struct epoll_event ev = {.events = events | EPOLLONESHOT, .data.ptr = conn};
    int op = conn->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(http->epoll_fd, op, conn->fd, &ev) != 0) {
        return false;
    }
    conn->watched = true;
    return true;
}

static void api_http_close(struct api_http *http, struct api_http_conn *conn)
{
    struct api_http_peer *peer = api_http_peer_find(http, conn->addr);
    if (peer != NULL && --peer->count == 0) {
        *peer = http->peers[--http->npeers];
    }
    http->conns[conn->slot] = http->conns[--http->nconns];
    http->conns[conn->slot]->slot = conn->slot;
    close(conn->fd); /* also removes it from epoll */
    api_http_parse_free(conn->parse);
    hs_buf_free(conn->out);
    OPENSSL_free(conn->pending);
    OPENSSL_free(conn);
}

static bool api_http_consume(struct api_http *http, struct api_http_conn *conn,
                             const unsigned char *data, size_t len, bool from_pending);

/* Ready for the next request: keep-alive, with any pipelined bytes parsed at once. Returns false
 * when conn is no longer the I/O thread's (closed, or a worker has its next request). */
static bool api_http_next(struct api_http *http, struct api_http_conn *conn)
{
    api_http_parse_reset(conn->parse);
    conn->state = API_HTTP_READ;
    conn->deadline_ms = api_http_now_ms() + http->limits.connection_timeout_s * 1000;
    if (conn->pending_len > 0) {
        if (!api_http_consume(http, conn, conn->pending, conn->pending_len, true)) {
            return false;
        }
        if (conn->state != API_HTTP_READ) {
            return true; /* refused: armed for writing the refusal */
        }
    }
    if (!api_http_watch(http, conn, EPOLLIN)) {
        api_http_close(http, conn);
        return false;
    }
    return true;
}

/* How far api_http_send got. */
enum api_http_sent {
    API_HTTP_SENT_ALL,   /* conn->out is written whole */
    API_HTTP_SENT_AGAIN, /* the socket takes no more now (EAGAIN) */
    API_HTTP_SENT_ERROR, /* the peer is gone or the socket failed */
};

/* Sends what the non-blocking socket takes of conn->out from conn->out_off on, advancing it.
 * Called by the I/O thread or by the worker that holds conn. */
static enum api_http_sent api_http_send(struct api_http_conn *conn)
{
    size_t total = hs_buf_len(conn->out);
    while (conn->out_off < total) {
        ssize_t n = send(conn->fd, hs_buf_data(conn->out) + conn->out_off, total - conn->out_off,
                         MSG_NOSIGNAL);
        if (n > 0) {
            conn->out_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return API_HTTP_SENT_AGAIN;
        } else {
            return API_HTTP_SENT_ERROR;
        }
    }
    return API_HTTP_SENT_ALL;
}

/* Writes what it can of conn->out; at the end, keep-alive, linger or close. Returns false when
 * conn is no longer the I/O thread's (closed and freed, or its next request at a worker). */
static bool api_http_write(struct api_http *http, struct api_http_conn *conn)
{
    enum api_http_sent sent = api_http_send(conn);
    if (sent == API_HTTP_SENT_AGAIN && api_http_watch(http, conn, EPOLLOUT)) {
        return true;
    }
    if (sent != API_HTTP_SENT_ALL) {
        api_http_close(http, conn);
        return false;
    }
    hs_buf_free(conn->out);
    conn->out = NULL;
    conn->out_off = 0;
    if (!conn->close_after && !atomic_load(&http->stopping)) {
        return api_http_next(http, conn);
    }
    if (!conn->close_after || shutdown(conn->fd, SHUT_WR) != 0 ||
        !api_http_watch(http, conn, EPOLLIN)) {
        api_http_close(http, conn);
        return false;
    }
    /* Half-closed: the client reads the answer while what it still sends is dropped, so the
     * close does not reset the connection under its unread response. */
    conn->state = API_HTTP_LINGER;
    conn->deadline_ms = api_http_now_ms() + API_HTTP_LINGER_MS;
    return true;
}

/* Answers the front end's own refusal and closes. Returns false when conn was closed. */
static bool api_http_refuse(struct api_http *http, struct api_http_conn *conn, enum hs_code code)
{
    hs_buf_free(conn->out);
    conn->out = NULL;
    conn->out_off = 0;
    if (hs_failed(api_http_error_bytes(code, conn->peer, &conn->out))) {
        api_http_close(http, conn);
        return false;
    }
    conn->state = API_HTTP_WRITE;
    conn->close_after = true;
    conn->deadline_ms = api_http_now_ms() + http->limits.connection_timeout_s * 1000;
    /* Written when the socket reports it can take it (at once, as a rule). */
    if (!api_http_watch(http, conn, EPOLLOUT)) {
        api_http_close(http, conn);
        return false;
    }
    return true;
}

/* A class's lane is full: 503 overloaded with Retry-After from here, no worker used; the
 * connection stays open (the request was read whole). Returns false when conn was closed. */
static bool api_http_overloaded(struct api_http *http, struct api_http_conn *conn,
                                const struct api_http_message *m)
{
    struct api_request req = {0};
    api_request_id_new(&req);
    struct api_response resp;
    memset(&resp, 0, sizeof(resp));
    api_response_error(&resp, HS_ERR_HSM_OVERLOADED, req.req_id);
    api_metrics_lane_overloaded(&http->svc->metrics, conn->lane);
    hs_log_set_req_id(req.req_id);
    hs_log(HS_LOG_WARN, "http.request.overloaded", HS_LOG_STR("peer", conn->peer),
           HS_LOG_STR("class", svc_class_name(conn->lane)), HS_LOG_INT("status", resp.status));
    hs_log_set_req_id(NULL);
    hs_buf_free(conn->out);
    conn->out = NULL;
    conn->out_off = 0;
    conn->close_after = !m->keep_alive || atomic_load(&http->stopping);
    hs_result r = api_http_serialize(&resp, req.req_id, conn->close_after, &conn->out);
    api_response_clear(&resp);
    if (hs_failed(r)) {
        conn->out = NULL;
        api_http_close(http, conn);
        return false;
    }
    conn->state = API_HTTP_WRITE;
    conn->deadline_ms = api_http_now_ms() + http->limits.connection_timeout_s * 1000;
    /* Written from the event loop (not from here: pipelined requests would recurse). */
    if (!api_http_watch(http, conn, EPOLLOUT)) {
        api_http_close(http, conn);
        return false;
    }
    return true;
}

/* Queues a complete request in its lane for the workers (returns false: the connection is the
 * worker's from here), or refuses it when its class's lane is full and no worker is idle
 * (returns false only when conn was closed). The connection is disarmed (EPOLLONESHOT) while a
 * worker has it. */
static bool api_http_dispatch(struct api_http *http, struct api_http_conn *conn)
{
    struct api_http_message m;
    api_http_parse_message(conn->parse, &m);
    conn->lane = api_route_lane(m.method, m.target);
    struct api_http_lane *lane = &http->lanes[conn->lane];
    pthread_mutex_lock(&http->lock);
    if (conn->lane != API_LANE_PUBLIC && http->queued + http->busy >= http->nworkers &&
        lane->queued >= http->lane_max) {
        pthread_mutex_unlock(&http->lock);
        return api_http_overloaded(http, conn, &m);
    }
    conn->state = API_HTTP_WORK;
    conn->next = NULL;
    conn->seq = http->seq++;
    if (lane->tail != NULL) {
        lane->tail->next = conn;
    } else {
        /* A lane that wakes starts at the current virtual time: no credit for idling. */
        lane->vnext = lane->vnext > http->vclock ? lane->vnext : http->vclock;
        lane->head = conn;
    }
    lane->tail = conn;
    lane->queued++;
    http->queued++;
    api_metrics_lane(&http->svc->metrics, conn->lane, lane->queued, lane->in_flight);
    pthread_mutex_unlock(&http->lock);
    /* Signalled after the unlock, so the woken worker does not block on the lock at once. */
    pthread_cond_signal(&http->work_cond);
    return false;
}

/* Keeps data[off..len) for after the request in flight. */
static bool api_http_keep(struct api_http_conn *conn, const unsigned char *data, size_t len,
                          size_t off, bool from_pending)
{
    size_t rest = len - off;
    if (from_pending) {
        memmove(conn->pending, conn->pending + off, rest);
        conn->pending_len = rest;
        return true;
    }
    OPENSSL_free(conn->pending);
    conn->pending = NULL;
    conn->pending_len = 0;
    if (rest == 0) {
        return true;
    }
    conn->pending = OPENSSL_malloc(rest);
    if (conn->pending == NULL) {
        return false;
    }
    memcpy(conn->pending, data + off, rest);
    conn->pending_len = rest;
    return true;
}

/* Parses bytes read (or kept from before); dispatches a complete request or refuses a bad
 * one. Returns false when conn is no longer the I/O thread's (closed, or handed to a worker);
 * true with conn still reading (not armed: the caller arms it) or refused (armed for writing). */
static bool api_http_consume(struct api_http *http, struct api_http_conn *conn,
                             const unsigned char *data, size_t len, bool from_pending)
{
    if (conn->parse == NULL && (conn->parse = api_http_parse_new()) == NULL) {
        api_http_close(http, conn);
        return false;
    }
    bool was_started = api_http_parse_started(conn->parse);
    size_t used = 0;
    bool done = false;
    hs_result r = api_http_parse_feed(conn->parse, data, len, &used, &done);
    if (!was_started && api_http_parse_started(conn->parse)) {
        conn->deadline_ms = api_http_now_ms() + http->limits.request_timeout_s * 1000;
    }
    if (from_pending) {
        conn->pending_len = 0;
    }
    if (hs_failed(r)) {
        return api_http_refuse(http, conn, r.code);
    }
    if (api_http_parse_take_continue(conn->parse)) {
        /* 25 bytes on a socket with nothing else queued; a failure shows at the next read. */
        HS_IGNORE(send(conn->fd, API_HTTP_CONTINUE, strlen(API_HTTP_CONTINUE), MSG_NOSIGNAL));
    }
    if (!done) {
        return true;
    }
    if (!api_http_keep(conn, data, len, used, from_pending)) {
        api_http_close(http, conn);
        return false;
    }
    return api_http_dispatch(http, conn);
}

static void api_http_on_readable(struct api_http *http, struct api_http_conn *conn)
{
    for (int i = 0; i < API_HTTP_READS_PER_EVENT; i++) {
        ssize_t n = recv(conn->fd, http->scratch, sizeof(http->scratch), 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        if (n <= 0) {
            api_http_close(http, conn); /* end of stream or error: nothing more to answer */
            return;
        }
        if (conn->state == API_HTTP_LINGER) {
            conn->lingered += (size_t)n;
            if (conn->lingered > API_HTTP_LINGER_MAX) {
                api_http_close(http, conn);
                return;
            }
            continue;
        }
        if (!api_http_consume(http, conn, http->scratch, (size_t)n, false) ||
            conn->state != API_HTTP_READ) {
            return; /* closed, at a worker, or armed for writing a refusal */
        }
    }
    /* Drained, or its turn is over (armed again, the rest fires at once). */
    if (!api_http_watch(http, conn, EPOLLIN)) {
        api_http_close(http, conn);
    }
}

static void api_http_on_event(struct api_http *http, struct api_http_conn *conn)
{
    enum api_http_state state = conn->state; /* clang: no switch on an _Atomic */
    switch (state) {
    case API_HTTP_READ:
    case API_HTTP_LINGER:
        api_http_on_readable(http, conn);
        return;
    case API_HTTP_WRITE:
        HS_IGNORE(api_http_write(http, conn));
        return;
    case API_HTTP_WORK:
    default:
        return;
    }
}

/* A connection over the limits: 503 as far as the socket takes it, and closed. */
static void api_http_refuse_fd(int fd, const char *peer)
{
    HS_DEFER(struct hs_buf *out = NULL, hs_buf_freep);
    /* What already arrived is dropped, so that the close does not reset the connection under
     * the answer; the rest may. */
    unsigned char drop[API_HTTP_HEAD_OUT_MAX];
    HS_IGNORE(recv(fd, drop, sizeof(drop), MSG_DONTWAIT));
    if (!hs_failed(api_http_error_bytes(HS_ERR_INPUT_HTTP_BUSY, peer, &out))) {
        HS_IGNORE(send(fd, hs_buf_data(out), hs_buf_len(out), MSG_NOSIGNAL | MSG_DONTWAIT));
        HS_IGNORE(shutdown(fd, SHUT_WR));
    }
    close(fd);
}

static void api_http_adopt(struct api_http *http, int fd, const struct sockaddr_storage *ss,
                           socklen_t len)
{
    unsigned char key[API_HTTP_ADDR_LEN];
    char peer[NI_MAXHOST];
    api_http_addr(ss, len, key, peer);
    struct api_http_peer *p = api_http_peer_find(http, key);
    if ((long)http->nconns >= http->limits.max_connections ||
        (p != NULL && p->count >= http->limits.max_connections_per_ip)) {
        api_http_refuse_fd(fd, peer);
        return;
    }
    struct api_http_conn *conn = OPENSSL_zalloc(sizeof(*conn));
    if (conn == NULL) {
        close(fd);
        return;
    }
    conn->fd = fd;
    memcpy(conn->addr, key, sizeof(key));
    memcpy(conn->peer, peer, sizeof(peer));
    /* Idle until its first byte; from then on the request deadline runs. */
    conn->deadline_ms = api_http_now_ms() + http->limits.connection_timeout_s * 1000;
    if (!api_http_watch(http, conn, EPOLLIN)) {
        close(fd);
        OPENSSL_free(conn);
        return;
    }
    if (p == NULL) {
        p = &http->peers[http->npeers++];
        memcpy(p->addr, key, sizeof(key));
        p->count = 0;
    }
    p->count++;
    conn->slot = http->nconns;
    http->conns[http->nconns++] = conn;
}

static void api_http_accept_pause(struct api_http *http, bool pause)
{
    if (pause == !http->accepting || http->listen_fd < 0) {
        return;
    }
    if (pause) {
        epoll_ctl(http->epoll_fd, EPOLL_CTL_DEL, http->listen_fd, NULL);
        http->accept_resume_ms = api_http_now_ms() + API_HTTP_ACCEPT_PAUSE_MS;
    } else {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &http->listen_fd};
        if (epoll_ctl(http->epoll_fd, EPOLL_CTL_ADD, http->listen_fd, &ev) != 0) {
            return;
        }
    }
    http->accepting = !pause;
}

static void api_http_on_accept(struct api_http *http)
{
    for (int i = 0; i < API_HTTP_ACCEPTS_PER_EVENT; i++) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        socklen_t len = sizeof(ss);
        int fd =
            accept4(http->listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            api_http_adopt(http, fd, &ss, len);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) {
            continue;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            hs_log(HS_LOG_WARN, "http.accept.paused", HS_LOG_INT("errno", errno));
            api_http_accept_pause(http, true);
        }
        return;
    }
}

/* Deadlines: 408 for a request that is not complete in time, close for the rest. */
static void api_http_sweep(struct api_http *http, int64_t now)
{
    if (!http->accepting && !atomic_load(&http->stopping) && now >= http->accept_resume_ms) {
        api_http_accept_pause(http, false);
    }
    /* Under the lock: a worker hands a connection back to reading (state, deadline, armed) as
     * one step under it (api_http_rearm_locked). */
    pthread_mutex_lock(&http->lock);
    for (size_t i = http->nconns; i-- > 0;) {
        struct api_http_conn *conn = http->conns[i];
        enum api_http_state state = conn->state;
        if (state == API_HTTP_WORK || now < conn->deadline_ms) {
            continue;
        }
        if (state == API_HTTP_READ && conn->parse != NULL && api_http_parse_started(conn->parse)) {
            HS_IGNORE(api_http_refuse(http, conn, HS_ERR_INPUT_HTTP_TIMEOUT));
        } else {
            api_http_close(http, conn);
        }
    }
    pthread_mutex_unlock(&http->lock);
}

/* Stopping: no more accepts; idle, reading and lingering connections closed. */
/* After SIGTERM: no new connections; idle ones closed; past the grace period (late) answers still
 * being written are cut off too. Connections a worker holds are never touched here: they are
 * answered, then closed (close_after). */
static void api_http_wind_down(struct api_http *http, bool late)
{
    if (http->listen_fd >= 0) {
        close(http->listen_fd);
        http->listen_fd = -1;
        http->accepting = false;
    }
    pthread_mutex_lock(&http->lock); /* as in api_http_sweep */
    for (size_t i = http->nconns; i-- > 0;) {
        struct api_http_conn *conn = http->conns[i];
        enum api_http_state state = conn->state;
        if (state == API_HTTP_READ || state == API_HTTP_LINGER ||
            (late && state == API_HTTP_WRITE)) {
            api_http_close(http, conn);
        }
    }
    pthread_mutex_unlock(&http->lock);
}

/* Responses the workers finished: written from here. */
static void api_http_collect(struct api_http *http)
{
    pthread_mutex_lock(&http->lock);
    struct api_http_conn *done = http->done;
    http->done = NULL;
    atomic_store(&http->has_done, false);
    pthread_mutex_unlock(&http->lock);
    while (done != NULL) {
        struct api_http_conn *conn = done;
        done = conn->next;
        if (conn->out == NULL) {
            api_http_close(http, conn);
            continue;
        }
        conn->state = API_HTTP_WRITE;
        conn->deadline_ms = api_http_now_ms() + http->limits.connection_timeout_s * 1000;
        HS_IGNORE(api_http_write(http, conn));
    }
}

static void *api_http_io_main(void *arg)
{
    struct api_http *http = arg;
    struct epoll_event events[API_HTTP_EVENTS];
    int64_t last_sweep = api_http_now_ms();
    int64_t stop_deadline = 0; /* 0: not stopping yet */
    for (;;) {
        if (atomic_load(&http->stopping)) {
            int64_t now = api_http_now_ms();
            stop_deadline =
                stop_deadline != 0 ? stop_deadline : now + http->limits.shutdown_grace_s * 1000;
            api_http_wind_down(http, now >= stop_deadline);
            if (http->nconns == 0) {
                break;
            }
        }
        atomic_store(&http->io_waiting, true);
        int wait_ms = atomic_load(&http->has_done) ? 0 : API_HTTP_TICK_MS;
        int n = epoll_wait(http->epoll_fd, events, API_HTTP_EVENTS, wait_ms);
        atomic_store(&http->io_waiting, false);
        for (int i = 0; i < n; i++) {
            void *ptr = events[i].data.ptr;
            if (ptr == &http->listen_fd) {
                api_http_on_accept(http);
            } else if (ptr == &http->wake_fd) {
                uint64_t count = 0;
                HS_IGNORE(read(http->wake_fd, &count, sizeof(count)));
            } else {
                api_http_on_event(http, ptr);
            }
        }
        if (atomic_load(&http->has_done)) {
            api_http_collect(http);
        }
        int64_t now = api_http_now_ms();
        if (now - last_sweep >= API_HTTP_TICK_MS) {
            api_http_sweep(http, now);
            last_sweep = now;
        }
    }
    return NULL;
}

/* --- workers ---------------------------------------------------------------------------------- */

/* Runs one request through api_route() and leaves the response bytes in conn->out (NULL when
 * even they could not be built: the connection is then closed). */
static void api_http_serve(struct api_http *http, struct api_http_conn *conn)
{
    struct api_http_message m;
    api_http_parse_message(conn->parse, &m);
    struct api_request req = {
        .method = m.method,
        .target = m.target,
        .headers = m.headers,
        .nheaders = m.nheaders,
        .body = m.body,
        .body_len = m.body_len,
        .transport = API_TRANSPORT_HTTP,
        .peer_addr = conn->peer[0] != '\0' ? conn->peer : NULL,
        .now = time(NULL),
    };
    api_request_id_new(&req);
    struct api_response resp;
    memset(&resp, 0, sizeof(resp));
    api_route(http->svc, &req, &resp);
    /* Only GET and POST have routes: after anything else (HEAD, whose answer must have no body;
     * CONNECT, after which http-parser expects a tunnel) the connection closes. */
    bool routed = strcmp(m.method, "GET") == 0 || strcmp(m.method, "POST") == 0;
    conn->close_after = !m.keep_alive || !routed || atomic_load(&http->stopping);
    if (hs_failed(api_http_serialize(&resp, req.req_id, conn->close_after, &conn->out))) {
        conn->out = NULL;
    }
    api_response_clear(&resp);
}

/* The worker writes the answer itself, as far as the non-blocking socket takes it at once
 * (conn->out_off advances). Returns true when it went out whole and the connection can wait for
 * its next request at once: keep-alive, nothing pipelined behind it, not stopping. Otherwise the
 * I/O thread finishes the connection (the rest of the answer, lingering, the pipelined request,
 * or the close). */
static bool api_http_answer(struct api_http *http, struct api_http_conn *conn)
{
    /* Not all sent: the I/O thread waits for room (EAGAIN) or closes (an error). */
    if (conn->out == NULL || api_http_send(conn) != API_HTTP_SENT_ALL) {
        return false;
    }
    return !conn->close_after && conn->pending_len == 0 && !atomic_load(&http->stopping);
}

/* With the lock held: conn, answered whole by its worker, waits for its next request; from the
 * epoll_ctl on it is the I/O thread's. State, deadline and arming are one step under the lock,
 * so the sweep never closes a connection between the two (a closed fd number could be reused by
 * the next accept). False when it could not be armed: it stays the worker's, to hand back. */
static bool api_http_rearm_locked(struct api_http *http, struct api_http_conn *conn)
{
    hs_buf_free(conn->out);
    conn->out = NULL;
    conn->out_off = 0;
    api_http_parse_reset(conn->parse);
    conn->deadline_ms = api_http_now_ms() + http->limits.connection_timeout_s * 1000;
    conn->state = API_HTTP_READ;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = conn};
    if (epoll_ctl(http->epoll_fd, EPOLL_CTL_MOD, conn->fd, &ev) != 0) {
        conn->state = API_HTTP_WORK;
        return false; /* handed back with no answer: the I/O thread closes it */
    }
    return true;
}

/* With the lock held: the lane a free worker serves next (api_http.h "Lanes"), compared as
 * in_flight_a * weight_b < in_flight_b * weight_a (exact, as p11_sched does); -1 when none
 * waits. */
static int api_http_pick_locked(const struct api_http *http)
{
    int best = -1;
    for (size_t i = 0; i < API_LANES; i++) {
        const struct api_http_lane *c = &http->lanes[i];
        if (c->head == NULL) {
            continue;
        }
        if (best < 0) {
            best = (int)i;
            continue;
        }
        const struct api_http_lane *b = &http->lanes[best];
        uint64_t lc = (uint64_t)c->in_flight * b->weight;
        uint64_t lb = (uint64_t)b->in_flight * c->weight;
        bool earlier = c->vnext < b->vnext || (c->vnext == b->vnext && c->head->seq < b->head->seq);
        if (lc < lb || (lc == lb && earlier)) {
            best = (int)i;
        }
    }
    return best;
}

/* With the lock held: takes the first request of lane i for the calling worker. */
static struct api_http_conn *api_http_take_locked(struct api_http *http, size_t i)
{
    struct api_http_lane *lane = &http->lanes[i];
    struct api_http_conn *conn = lane->head;
    lane->head = conn->next;
    if (lane->head == NULL) {
        lane->tail = NULL;
    }
    conn->next = NULL;
    lane->queued--;
    lane->in_flight++;
    http->queued--;
    http->busy++;
    http->vclock = lane->vnext;
    lane->vnext += API_HTTP_VSCALE / lane->weight;
    api_metrics_lane(&http->svc->metrics, (unsigned int)i, lane->queued, lane->in_flight);
    return conn;
}

static void *api_http_worker_main(void *arg)
{
    struct api_http *http = arg;
    pthread_mutex_lock(&http->lock);
    for (;;) {
        int i = api_http_pick_locked(http);
        if (i < 0) {
            if (http->workers_stop) {
                break;
            }
            pthread_cond_wait(&http->work_cond, &http->lock);
            continue;
        }
        struct api_http_conn *conn = api_http_take_locked(http, (size_t)i);
        pthread_mutex_unlock(&http->lock);
        api_http_serve(http, conn);
        bool again = api_http_answer(http, conn);
        pthread_mutex_lock(&http->lock);
        http->lanes[i].in_flight--;
        http->busy--;
        api_metrics_lane(&http->svc->metrics, (unsigned int)i, http->lanes[i].queued,
                         http->lanes[i].in_flight);
        if (again && api_http_rearm_locked(http, conn)) {
            continue; /* no hand-off: the I/O thread sees the next request's bytes */
        }
        conn->next = http->done;
        http->done = conn;
        atomic_store(&http->has_done, true);
        if (atomic_load(&http->io_waiting)) {
            uint64_t one = 1;
            HS_IGNORE(write(http->wake_fd, &one, sizeof(one)));
        }
    }
    pthread_mutex_unlock(&http->lock);
    return NULL;
}

/* --- start and stop ------------------------------------------------------------------------- */

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

/* The listening socket, bound and listening; its port in http->port. */
static HS_RESULT api_http_listen(struct api_http *http, const char *addr)
{
    struct addrinfo *ai = NULL;
    HS_GUARD(api_http_resolve(addr, &ai));
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    bool ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
              bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0;
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t len = sizeof(ss);
    ok = ok && getsockname(fd, (struct sockaddr *)&ss, &len) == 0;
    if (!ok) {
        int err = errno;
        if (fd >= 0) {
            close(fd);
        }
        HS_BAIL_MSG(HS_ERR_IO, "cannot listen on %s: %s", addr, strerror(err));
    }
    http->listen_fd = fd;
    http->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                : ((struct sockaddr_in *)&ss)->sin_port);
    return HS_OK;
}

static HS_RESULT api_http_check_limits(const struct api_http_limits *l)
{
    HS_ENSURE_MSG(l->max_connections >= 1 && l->max_connections_per_ip >= 1 &&
                      l->connection_timeout_s >= 1 && l->request_timeout_s >= 1 && l->workers >= 1,
                  HS_ERR_INPUT_CONFIG, "every HTTP limit must be at least 1");
    return HS_OK;
}

/* Raises the soft RLIMIT_NOFILE (up to the hard one) so that max_connections fit; a shortfall
 * is logged (accept() then pauses at EMFILE rather than failing the server). */
static void api_http_fd_limit(long max_connections)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)max_connections + API_HTTP_FDS_SPARE;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want) {
        return;
    }
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want) {
        hs_log(HS_LOG_WARN, "http.fd_limit.low", HS_LOG_INT("nofile", (long long)rl.rlim_cur),
               HS_LOG_INT("max_connections", max_connections));
    }
}

/* Everything but the threads; http is freed by api_http_free() on any failure. */
static HS_RESULT api_http_open(struct api_http *http, const char *listen)
{
    size_t max = (size_t)http->limits.max_connections;
    http->conns = OPENSSL_zalloc(max * sizeof(struct api_http_conn *));
    http->peers = OPENSSL_zalloc(max * sizeof(*http->peers));
    http->workers = OPENSSL_zalloc((size_t)http->limits.workers * sizeof(*http->workers));
    HS_ENSURE(http->conns != NULL && http->peers != NULL && http->workers != NULL, HS_ERR_NOMEM);
    api_http_fd_limit(http->limits.max_connections);
    HS_GUARD(api_http_listen(http, listen));
    http->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    http->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    HS_ENSURE_MSG(http->epoll_fd >= 0 && http->wake_fd >= 0, HS_ERR_IO, "epoll: %s",
                  strerror(errno));
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &http->wake_fd};
    HS_ENSURE_MSG(epoll_ctl(http->epoll_fd, EPOLL_CTL_ADD, http->wake_fd, &ev) == 0, HS_ERR_IO,
                  "epoll: %s", strerror(errno));
    api_http_accept_pause(http, false);
    HS_ENSURE_MSG(http->accepting, HS_ERR_IO, "epoll: %s", strerror(errno));
    return HS_OK;
}

/* Joins what was started and frees everything (after the I/O thread ended). */
static void api_http_free(struct api_http *http)
{
    pthread_mutex_lock(&http->lock);
    http->workers_stop = true;
    pthread_cond_broadcast(&http->work_cond);
    pthread_mutex_unlock(&http->lock);
    for (size_t i = 0; i < http->nworkers; i++) {
        pthread_join(http->workers[i], NULL);
    }
    while (http->nconns > 0) {
        api_http_close(http, http->conns[http->nconns - 1]);
    }
    const int fds[] = {http->listen_fd, http->epoll_fd, http->wake_fd};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
        }
    }
    pthread_cond_destroy(&http->work_cond);
    pthread_mutex_destroy(&http->lock);
    OPENSSL_free(http->workers);
    OPENSSL_free(http->peers);
    OPENSSL_free(http->conns);
    OPENSSL_free(http);
}

/* The workers, then the I/O thread. */
static HS_RESULT api_http_threads(struct api_http *http)
{
    for (long i = 0; i < http->limits.workers; i++) {
        HS_ENSURE_MSG(pthread_create(&http->workers[i], NULL, api_http_worker_main, http) == 0,
                      HS_ERR_INTERNAL, "cannot start an HTTP worker");
        http->nworkers++;
    }
    HS_ENSURE_MSG(pthread_create(&http->io_thread, NULL, api_http_io_main, http) == 0,
                  HS_ERR_INTERNAL, "cannot start the HTTP I/O thread");
    http->io_started = true;
    return HS_OK;
}

/* Weights (0 counts as 1; the public lane as the heaviest class) and the lane bound. */
static void api_http_lanes_init(struct api_http *http)
{
    unsigned int heaviest = 1;
    for (size_t i = 0; i < SVC_CLASS_COUNT; i++) {
        unsigned int w = http->limits.shares[i];
        w = w == 0 ? 1 : (w > P11_SCHED_WEIGHT_MAX ? P11_SCHED_WEIGHT_MAX : w);
        http->lanes[i].weight = w;
        heaviest = w > heaviest ? w : heaviest;
    }
    http->lanes[API_LANE_PUBLIC].weight = heaviest;
    http->lane_max = http->limits.lane_queue_max > 0 ? (size_t)http->limits.lane_queue_max
                                                     : P11_SCHED_DEFAULT_QUEUE;
    for (unsigned int i = 0; i < API_LANES; i++) {
        api_metrics_lane(&http->svc->metrics, i, 0, 0); /* on /metrics from the start */
    }
}

HS_RESULT api_http_start(struct api_service *svc, const char *listen,
                         const struct api_http_limits *limits, struct api_http **out)
{
    HS_ENSURE_REF(svc);
    HS_ENSURE_REF(listen);
    HS_ENSURE_REF(limits);
    HS_GUARD(api_http_check_limits(limits));
    struct api_http *http = OPENSSL_zalloc(sizeof(*http));
    HS_ENSURE(http != NULL, HS_ERR_NOMEM);
    http->svc = svc;
    http->limits = *limits;
    if (http->limits.shutdown_grace_s <= 0) { /* callers that predate it: the default */
        http->limits.shutdown_grace_s = 10;
    }
    http->listen_fd = -1;
    http->epoll_fd = -1;
    http->wake_fd = -1;
    atomic_init(&http->stopping, false);
    atomic_init(&http->io_waiting, false);
    atomic_init(&http->has_done, false);
    api_http_lanes_init(http);
    pthread_mutex_init(&http->lock, NULL);
    pthread_cond_init(&http->work_cond, NULL);
    hs_result r = api_http_open(http, listen);
    if (!hs_failed(r)) {
        r = api_http_threads(http);
    }
    if (hs_failed(r)) {
        api_http_stop(http);
        return r;
    }
    *out = http;
    return HS_OK;
}

uint16_t api_http_port(const struct api_http *http)
{
    return http->port;
}

void api_http_stop(struct api_http *http)
{
    if (http == NULL) {
        return;
    }
    atomic_store(&http->stopping, true);
    uint64_t one = 1;
    HS_IGNORE(write(http->wake_fd, &one, sizeof(one)));
    if (http->io_started) {
        pthread_join(http->io_thread, NULL);
    }
    api_http_free(http);
}
