/*
 * api_route: the transport-independent request dispatch shared by the HTTP server and the
 * Lambda runtime. A front end decodes its transport into struct api_request, calls api_route()
 * and encodes struct api_response; authentication, input limits, the JSON error shape and the
 * per-request log line all live here.
 *
 * Routes (docs/api.md):
 *   POST /v1/certificates           {"csr": PEM, "ttl_hours": 12}        SigV4
 *   POST /v1/tokens                 {"audience": "...", "ttl_seconds": 300} SigV4
 *   GET  /.well-known/jwks.json                                          public
 *   GET  /healthz                   200 when a token session answers, 503 otherwise
 * Every error is {"error": code, "message": fixed text, "request_id": id} with the status of
 * its class: INPUT 400 (413 too large, 404 unknown route, 405 wrong method), AUTH 401,
 * POLICY 403, HSM 503, INTERNAL 500. Details go to the log only.
 */
#ifndef API_ROUTE_H
#define API_ROUTE_H

#include <stddef.h>
#include <time.h>

#include "api_service.h"
#include "api_sigv4.h"
#include "hs_buf.h"

#define API_BODY_MAX (64 * 1024)      /* bytes of a request body */
#define API_RESPONSE_MAX (128 * 1024) /* bytes of a response body */
#define API_REQ_ID_LEN 16

struct api_request {
    const char *method;
    const char *target;               /* raw request-target, path[?query], percent-encoded */
    const struct api_header *headers; /* as received */
    size_t nheaders;
    const unsigned char *body;
    size_t body_len;
    /* Set by a front end whose transport already authenticated the caller (API Gateway with
     * AWS_IAM in front of Lambda): the principal ARN. NULL: api_route verifies SigV4. */
    const char *principal;
    time_t now;
    char req_id[API_REQ_ID_LEN + 1]; /* filled by api_request_id_new() */
};

struct api_response {
    unsigned int status;
    const char *content_type;  /* static */
    const char *cache_control; /* static or NULL */
    struct hs_buf *body;       /* owned; release with api_response_clear() */
};

/* Writes a fresh random request id (16 lowercase hex characters) into req->req_id. */
void api_request_id_new(struct api_request *req);

/* Handles req and always fills out (on a failure to build even an error body, out->body may be
 * NULL with status 500). Logs one "http.request" line (principal, route, status, serial or
 * kid, latency in microseconds). The caller releases out with api_response_clear(). */
void api_route(struct api_service *svc, const struct api_request *req, struct api_response *out);

/* Sets out to the JSON error response for code (used by front ends for transport-level
 * failures such as an oversized body). */
void api_response_error(struct api_response *out, enum hs_code code, const char *req_id);

void api_response_clear(struct api_response *resp);

#endif /* API_ROUTE_H */
