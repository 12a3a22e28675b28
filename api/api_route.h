/*
 * api_route: the transport-independent request dispatch shared by the HTTP server and the
 * Lambda runtime. A front end decodes its transport into struct api_request, calls api_route()
 * and encodes struct api_response; authentication, input limits, the JSON error shape and the
 * per-request log line all live here. The routes are one table of {method, path pattern,
 * handler, auth}; each handler decodes its body (api_body.h), calls one svc_ function (the
 * service decides everything else, asking the policy through struct svc_authz) and encodes the
 * result.
 *
 * Routes (docs/api.md):
 *   POST /v1/certificates                   {"csr", "profile", "ttl_hours"}     IAM
 *   GET  /v1/certificates?status=&...       the listing (api_query.h)          IAM (own, admin)
 *   GET  /v1/certificates/{serial}          status of one we issued            IAM (owner, admin)
 *   POST /v1/certificates/{serial}/revoke   {"reason"}                          IAM (owner, admin)
 *   GET  /v1/crl                            DER CRL (application/pkix-crl)      public
 *   GET  /v1/ca                             the issuing chain, PEM, issuing CA first up to the
 *                                           root (application/pem-certificate-chain,
 *                                           RFC 8555 §9.1)                      public
 *   GET  /v1/ssh/ca                         {"user_ca": [...], "host_ca": [...]} public
 *   POST /v1/ssh/certificates               {"public_key", "cert_type", ...}    IAM
 *   GET  /v1/ssh/certificates/{serial}      status of one (decimal serial)     IAM (owner, admin)
 *   POST /v1/ssh/certificates/{serial}/revoke  {"reason"}                       IAM (owner, admin)
 *   GET  /v1/ssh/krl                        OpenSSH KRL (application/octet-stream) public
 *   POST /v1/ssh/keys                       {"key_type", "cert_type", "principals", ...,
 *                                           "recipient"} -> 202 {"request_id"}, Location IAM
 *   GET  /v1/ssh/keys/{request_id}          pending, or the key + certificate once   IAM (same)
 *   POST /v1/tokens                         {"audience", "ttl_seconds", "alg"}  IAM or mTLS
 *   GET  /v1/whoami                         the caller and what the policy lets it do
 *                                           (api_policy_describe)               IAM or mTLS
 *   GET  /ui, /ui/{path+}                   the web console's files (api_console.h)  public
 *   GET  /.well-known/jwks.json             the JWK Set                         public
 *   GET  /.well-known/openid-configuration  OIDC discovery metadata             public
 *   GET  /healthz                           200 when a token session answers    public
 *   GET  /metrics                           Prometheus text format              public
 * Every error is {"error": code, "message": fixed text, "request_id": id}, plus "reason" for
 * a policy denial (api_policy_reason_name) and "detail" for bad input, with the status of its
 * class: INPUT 400 (413 too large, 404 unknown route or serial, 405 wrong method), AUTH 401,
 * POLICY 403, HSM 503, INTERNAL 500 (but 503 inventory_unavailable when the inventory cannot
 * answer for now, and 503 queue_full when too many key generations are pending). A 503
 * carries Retry-After (retry_after_s). A serial the caller may not see is answered exactly as one that does not exist (404 not_found, RFC 9110 §15.5.5), so the
 * answer tells a caller who is not an admin nothing about other principals' serials. The HTTP
 * front end's own refusals (api_http_parse.h) are 400, 408, 413, 414, 431, 501, 503 and 505 in
 * the same shape. Other details go to the log only.
 * HEAD is answered wherever GET is, as the GET with no body (RFC 9110 §9.3.2). A 405 carries
 * Allow, the path's methods. A POST with a body must say Content-Type: application/json
 * (parameters allowed; a charset, if given, must be utf-8): another media type, or none, is
 * 415 unsupported_media_type (RFC 9110 §15.5.16), checked after authentication so an
 * anonymous caller learns only 401. A client certificate sent to an IAM-only route is 401
 * sigv4_required, not "no credentials".
 */
#ifndef API_ROUTE_H
#define API_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "api/api_body.h"
#include "api/api_service.h"
#include "api/api_sigv4.h"
#include "common/hs_buf.h"
#include "service/svc_sched.h"

#define API_RESPONSE_MAX (128 * 1024) /* bytes of a response body */
#define API_REQ_ID_LEN 16
#define API_LOCATION_MAX 64 /* bytes of a Location path (a key generation: 46) */
#define API_ALLOW_MAX 32    /* bytes of an Allow list ("GET, HEAD, POST") */
#define API_ETAG_MAX 40     /* bytes of an ETag, quotes and NUL included */

/* Who authenticated the caller before api_route() sees the request. */
enum api_transport {
    /* hsmsignd's own HTTP server (container): api_route verifies SigV4 from the headers; an
     * mTLS client certificate may come in a trusted proxy's header (auth.mtls). */
    API_TRANSPORT_HTTP = 0,
    /* API Gateway in front of the Lambda runtime: it verified SigV4 (AWS_IAM) or the mTLS
     * handshake itself; principal / client_cert_pem carry what it found (either may be NULL
     * for a route without authorization). */
    API_TRANSPORT_GATEWAY = 1,
};

struct api_request {
    const char *method;
    const char *target;               /* raw request-target, path[?query], percent-encoded */
    const struct api_header *headers; /* as received */
    size_t nheaders;
    const unsigned char *body;
    size_t body_len;
    enum api_transport transport;
    /* GATEWAY: the IAM principal ARN from the event's requestContext (payload v2
     * authorizer.iam.userArn, v1 identity.userArn), or NULL. Ignored for HTTP. */
    const char *principal;
    /* GATEWAY: the mTLS client certificate (PEM) from requestContext.authentication.clientCert
     * .clientCertPem, or NULL. Ignored for HTTP. */
    const char *client_cert_pem;
    /* HTTP: the peer's numeric address ("127.0.0.1", "::1"), for auth.mtls trusted proxies;
     * NULL when unknown. */
    const char *peer_addr;
    time_t now;
    char req_id[API_REQ_ID_LEN + 1]; /* filled by api_request_id_new() */
};

struct api_response {
    unsigned int status;
    const char *content_type;  /* static */
    const char *cache_control; /* static or NULL */
    long retry_after_s;        /* seconds for Retry-After, 0 = none */
    bool binary;         /* body is not UTF-8 text (a DER CRL, a KRL): Lambda base64-encodes it */
    struct hs_buf *body; /* owned; release with api_response_clear() */
    char location[API_LOCATION_MAX]; /* Location (a path), "" = none */
    /* Allow (RFC 9110 §10.2.1) of a 405: the methods the path has, "" = none. */
    char allow[API_ALLOW_MAX];
    /* A HEAD request (RFC 9110 §9.3.2): the front end sends the headers of the GET answer,
     * Content-Length the body's length, and no body. */
    bool head;
    /* More header fields, static: {name, value} pairs ending with {NULL, NULL} (the console's
     * Content-Security-Policy and framing headers), or NULL. */
    const char *const (*headers)[2];
    char etag[API_ETAG_MAX]; /* ETag (RFC 9110 §8.8.3), quoted; "" = none */
};

/* The authorisation of server-side key generation jobs when they run (svc_sshkey_authz): the
 * policy's SSH decision for principal, as POST /v1/ssh/certificates asks it; arg is the
 * struct api_service. On a denial *reason is the policy's reason name. */
HS_RESULT api_route_sshkey_authz(void *arg, const char *principal, const struct svc_ssh_ask *ask,
                                 struct svc_ssh_grant *out, const char **reason);

/* Writes a fresh random request id (16 lowercase hex characters) into req->req_id. */
void api_request_id_new(struct api_request *req);

/* Handles req and always fills out (on a failure to build even an error body, out->body may be
 * NULL with status 500). Logs one "http.request" line (principal, route, status, serial or
 * kid, latency in microseconds). The caller releases out with api_response_clear(). */
void api_route(struct api_service *svc, const struct api_request *req, struct api_response *out);

/* Sets out to the JSON error response for code (used by front ends for transport-level
 * failures such as an oversized body). */
void api_response_error(struct api_response *out, enum hs_code code, const char *req_id);

/* The lanes of the HTTP front end's queue (api_http.h): lane n < SVC_CLASS_COUNT is signature
 * class n (service/svc_sched.h enum svc_class, the token scheduler's classes), and
 * API_LANE_PUBLIC is for what needs neither a signature nor a caller's credentials. */
#define API_LANE_PUBLIC ((unsigned int)SVC_CLASS_COUNT)
#define API_LANES (API_LANE_PUBLIC + 1)

/* The lane of a request, from its method and request-target (path[?query]) as api_route()
 * would route it: POST /v1/certificates certificate; POST /v1/tokens token; POST
 * /v1/ssh/certificates and POST /v1/ssh/keys ssh; the two revocations crl; every other
 * authenticated route background; public routes (healthz, metrics, jwks, OIDC, ca, crl, KRL,
 * SSH CA keys, console files), unknown paths and wrong methods API_LANE_PUBLIC. Pure: reads the
 * route table only. */
unsigned int api_route_lane(const char *method, const char *target);

/* The names of the routes as /metrics labels them ("POST /v1/tokens", ...); *n gets their
 * count. */
const char *const *api_route_names(size_t *n);

void api_response_clear(struct api_response *resp);

#endif /* API_ROUTE_H */
