/*
 * cli_http: one HTTP exchange with hsmsignd (or API Gateway in front of it), signed with AWS
 * SigV4 by libcurl when credentials are given.
 *
 * The endpoint is a base URL (http or https, no user name, password, query or fragment); the
 * route ("/v1/certificates") is appended to its path, so an API Gateway stage ("/prod") stays
 * in front. Every request has a connect and a total timeout, follows no redirects, speaks only
 * HTTP(S), and reads at most the caller's bound of answer; it is sent once (no retries: a
 * certificate request is not repeated behind the user's back). The exchange is aws_http's
 * (aws/aws_http.h): SigV4 by libcurl with an X-Amz-Security-Token header for a session token.
 * No header is suppressed (libcurl 7.88 would still list an "Expect:" suppression among the
 * SignedHeaders, and the verifier would refuse it); POST bodies are given whole so that libcurl
 * hashes the payload.
 *
 * libcurl copies the secret (CURLOPT_PASSWORD) and the token header into its own heap:
 * cli_http_global_init() makes libcurl wipe every block it frees (aws_http_global_init).
 */
#ifndef CLI_HTTP_H
#define CLI_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/aws_creds.h"
#include "common/hs_buf.h"
#include "common/hs_err.h"

#define CLI_URL_MAX 2048
#define CLI_REGION_MAX 64
#define CLI_SERVICE_MAX 64
#define CLI_CONNECT_TIMEOUT_MAX_S 10
#define CLI_REQUEST_ID_MAX 128
#define CLI_ERROR_TYPE_MAX 128
#define CLI_CONTENT_TYPE_MAX 128

struct cli_http_config {
    const char *endpoint; /* base URL, checked by cli_http_check_endpoint() */
    const char *region;   /* signed calls only */
    const char *service;  /* signed calls only */
    const char *cacert;   /* PEM trust anchors; NULL = the system's */
    long timeout_s;       /* total; connecting gets at most CLI_CONNECT_TIMEOUT_MAX_S */
};

/* What came back. Header values are cut to their bound and have control characters replaced;
 * empty when the header was absent. */
struct cli_reply {
    long status;
    struct hs_buf *body;                         /* owned; freed by cli_reply_clear() */
    char request_id[CLI_REQUEST_ID_MAX + 1];     /* X-Request-Id, else x-amzn-RequestId */
    char error_type[CLI_ERROR_TYPE_MAX + 1];     /* x-amzn-ErrorType up to its ':' */
    char content_type[CLI_CONTENT_TYPE_MAX + 1]; /* Content-Type */
    long long total_us;                          /* the whole exchange */
};

/* Sets libcurl up with wiping allocators. Call once, before any other libcurl use. Errors:
 * HS_ERR_INTERNAL. */
HS_RESULT cli_http_global_init(void);
void cli_http_global_cleanup(void);

/* Checks that endpoint is an absolute https URL (http only to a loopback host: 127.0.0.0/8,
 * [::1], localhost) without user name, password, query or fragment, at most CLI_URL_MAX - 256
 * bytes. Errors: HS_ERR_INPUT (never echoing the URL,
 * which might hold a password). */
HS_RESULT cli_http_check_endpoint(const char *endpoint);

/* Checks a SigV4 region or service name: 1..64 of [a-z0-9-]. Errors: HS_ERR_INPUT. */
HS_RESULT cli_http_check_scope_part(const char *value, const char *what);

/* Sends method ("GET" or "POST") to endpoint + path. body (body_len bytes, JSON) is sent for
 * POST. creds NULL: unsigned (lent; aws_creds.h says where they come from). At most max_answer bytes of body are accepted. On success *out
 * holds any HTTP status; the caller clears it with cli_reply_clear(). Errors: HS_ERR_IO (no
 * answer: DNS, connect, TLS, timeout; the detail is libcurl's), HS_ERR_INPUT_TOO_LARGE (the
 * answer exceeds max_answer), HS_ERR_NOMEM, HS_ERR_INTERNAL. */
HS_RESULT cli_http_request(const struct cli_http_config *cfg, const struct aws_creds *creds,
                           const char *method, const char *path, const char *body, size_t body_len,
                           size_t max_answer, struct cli_reply *out);

/* Frees the body and zeroes r. */
void cli_reply_clear(struct cli_reply *r);

#endif /* CLI_HTTP_H */
