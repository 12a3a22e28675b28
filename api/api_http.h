/*
 * api_http: hsmsignd's HTTP/1.1 front end on libmicrohttpd (container mode).
 *
 * A thread per connection (C_Sign blocks), a connection limit and a per-connection timeout;
 * bodies over API_BODY_MAX are refused with 413 without being buffered. The raw
 * request-target is captured before libmicrohttpd unescapes it, because SigV4 signs the URI
 * exactly as sent. The front end only decodes the transport, calls api_route() and encodes the
 * response.
 */
#ifndef API_HTTP_H
#define API_HTTP_H

#include <stdint.h>

#include "api/api_service.h"
#include "common/hs_err.h"

struct api_http;

/* Starts serving svc on listen ("host:port"; IPv6 as "[::1]:port"; port 0 picks a free port).
 * svc is borrowed and must outlive the server. Errors: HS_ERR_INPUT_CONFIG (bad address),
 * HS_ERR_IO (cannot bind). Stop with api_http_stop(). */
HS_RESULT api_http_start(struct api_service *svc, const char *listen, long max_connections,
                         long timeout_s, struct api_http **out);

/* The port actually bound. */
uint16_t api_http_port(const struct api_http *http);

/* Stops accepting, waits for the connection threads and frees the server (NULL accepted). */
void api_http_stop(struct api_http *http);

#endif /* API_HTTP_H */
