/*
 * api_http: hsmsignd's HTTP/1.1 front end (container mode): one I/O thread running an epoll
 * loop over non-blocking sockets, and a fixed pool of worker threads that run api_route()
 * (they may block in C_Sign). The request parser is api_http_parse.h (nodejs http-parser plus
 * our strictness checks); every refusal the front end makes is the JSON error shape of
 * api_route.h.
 *
 * Per connection: one request in flight (pipelined bytes wait, buffered, until its response is
 * written); keep-alive unless the request says Connection: close (or is HTTP/1.0 without
 * keep-alive). Deadlines (RFC 9112 §9.5 leaves them to the server):
 *   - request_timeout_s for the whole request, request line, headers and body, counted from
 *     its first byte: past it the connection gets 408 and is closed, however slowly bytes
 *     keep coming;
 *   - connection_timeout_s for an idle connection (before its first request and between
 *     requests), and for writing a response to a client that does not read it;
 * Limits: max_connections in all, max_connections_per_ip from one peer address; a connection
 * over either gets 503 (Retry-After: 1) and is closed at once. After an error response the
 * connection is half-closed and what the client still sends is read and dropped for at most
 * one second, so the client can read the answer before the close.
 * Lanes: a complete request is queued by its route's lane (api_route_lane: one lane per
 * signature class, plus a public lane for unauthenticated reads that sign nothing). An idle
 * worker takes the next request by the token scheduler's weighted-fair rule (p11_sched.h): of
 * the lanes with requests waiting, the one with the fewest requests at workers per weight; of
 * equals, the one whose virtual time (advanced by 1/weight per request it was given, never
 * behind the busy lanes' when it wakes) is earliest, so that one worker too alternates by
 * weight; first come within a lane. The public lane weighs as much as the heaviest class, so it
 * is never starved and, its requests being cheap, never starves signing. When no worker is idle
 * and a class's lane already holds lane_queue_max requests, its next request is answered 503
 * overloaded with Retry-After (api_route.h's error shape) by the I/O thread at once, on a
 * connection that stays open.
 * Hand-offs: connections are armed one event at a time (EPOLLONESHOT), so one that a worker holds
 * needs no epoll call. A worker writes its answer itself as far as the non-blocking socket takes
 * it; when it went out whole on a keep-alive connection with nothing pipelined behind it, the
 * worker arms the connection for its next request and the I/O thread is not involved. Any other
 * answer (partly written, closing, a pipelined request behind it) is handed back to the I/O
 * thread, which a worker wakes (eventfd) only when it is waiting in epoll_wait.
 * Response headers: Content-Type, Cache-Control, X-Request-Id, X-Content-Type-Options, Date,
 * Content-Length, Connection, and Retry-After when api_response.retry_after_s > 0.
 */
#ifndef API_HTTP_H
#define API_HTTP_H

#include <stdint.h>

#include "api/api_service.h"
#include "common/hs_err.h"
#include "service/svc_sched.h"

struct api_http;

/* The front end's limits (api_config.h "limits" documents the defaults and ranges). */
struct api_http_limits {
    long max_connections;        /* open connections in all */
    long max_connections_per_ip; /* open connections from one peer address */
    long connection_timeout_s;   /* seconds: idle keep-alive, and writing a response */
    long request_timeout_s;      /* seconds: the whole request, first byte to last */
    long workers;                /* threads running api_route() */
    /* seconds: after SIGTERM, how long responses still being written may take before their
     * connections are closed (requests a worker holds are always finished and answered) */
    long shutdown_grace_s;
    /* The lanes (below): each signature class's weight, indexed by enum svc_class (the token
     * scheduler's shares, svc_sched.h); 0 counts as 1. */
    unsigned int shares[SVC_CLASS_COUNT];
    /* requests of one class that may wait for a worker while none is idle (the scheduler's
     * max_queue); past it 503 overloaded at once; 0 = P11_SCHED_DEFAULT_QUEUE */
    long lane_queue_max;
};

/* Starts serving svc on listen ("host:port"; IPv6 as "[::1]:port"; port 0 picks a free port)
 * with the I/O thread and limits->workers workers; raises the soft RLIMIT_NOFILE (within the
 * hard limit) to fit max_connections. svc is borrowed and must outlive the
 * server. Errors: HS_ERR_INPUT_CONFIG (bad address, a limit < 1), HS_ERR_IO (cannot bind),
 * HS_ERR_NOMEM, HS_ERR_INTERNAL (a thread could not start). Stop with api_http_stop(). */
HS_RESULT api_http_start(struct api_service *svc, const char *listen,
                         const struct api_http_limits *limits, struct api_http **out);

/* The port actually bound. */
uint16_t api_http_port(const struct api_http *http);

/* Stops accepting and closes idle connections, lets the requests in flight finish and their
 * responses be written (each within connection_timeout_s), joins the I/O and worker threads
 * and frees the server (NULL accepted). */
void api_http_stop(struct api_http *http);

#endif /* API_HTTP_H */
