/*
 * aws_http: the one libcurl client of hsmsign (the Lambda Runtime API, DynamoDB, STS, the
 * container and instance metadata credentials endpoints, and the hsmsign client).
 *
 * Every request has a connect timeout and a total timeout (only a long poll, such as the Lambda
 * Runtime API's GET /next, may go without the total one, and should give a stop flag), follows
 * no redirects, reads at most the caller's named bound of answer (HS_ERR_BOUNDS past it; nothing
 * is truncated silently), and may be retried as the AWS SDKs' "standard" retry mode does (AWS
 * SDKs and Tools Reference Guide, "Retry behavior"): transport failures, HTTP 5xx and 429,
 * throttling error codes and whatever the caller's classifier says, with exponential backoff and
 * full jitter (a uniform delay in [0, base * 2^(attempt - 1)), at most AWS_HTTP_BACKOFF_CAP_MS).
 *
 * Signing: AWS Signature Version 4 by libcurl (CURLOPT_AWS_SIGV4 "aws:amz:REGION:SERVICE",
 * libcurl >= 7.85), plus an X-Amz-Security-Token header (signed with the rest) for session
 * credentials. Header lines that hold secrets (the session token, an Authorization value, an
 * IMDS token) are built in sensitive buffers and wiped when freed; aws_http_global_init(true)
 * also makes libcurl wipe every block of its own heap it frees (its copies of the password).
 */
#ifndef AWS_HTTP_H
#define AWS_HTTP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"
#include "common/hs_secret.h"

#define AWS_HTTP_URL_MAX 2048
#define AWS_HTTP_HEADERS_MAX 8           /* extra header lines of one request */
#define AWS_HTTP_HEADER_LINE_MAX 256     /* a header line without a secret value */
#define AWS_HTTP_ATTEMPTS_MAX 10         /* attempts of one request, the first included */
#define AWS_HTTP_BACKOFF_MS 50           /* base delay before a retry */
#define AWS_HTTP_THROTTLE_BACKOFF_MS 200 /* base delay after a throttling answer */
#define AWS_HTTP_BACKOFF_CAP_MS 20000    /* longest delay before a retry */
#define AWS_HTTP_ERROR_MAX 256           /* bytes of a transport error message */
#define AWS_HTTP_REGION_MAX 64
#define AWS_HTTP_SERVICE_MAX 64

struct aws_creds;
struct aws_creds_provider;

/* How the classifier sorts one answer (or the default classification does). */
enum aws_http_class {
    AWS_HTTP_FINAL = 0, /* the answer is the result: no retry */
    AWS_HTTP_RETRY,     /* transient (5xx): retry after the base backoff */
    AWS_HTTP_THROTTLE,  /* throttled: retry after the throttling backoff */
    AWS_HTTP_EXPIRED,   /* the credentials expired: refresh them from the provider, retry */
};

/* How the last attempt's transport went. */
enum aws_http_transport {
    AWS_HTTP_ANSWERED = 0, /* an HTTP answer came (any status) */
    AWS_HTTP_UNREACHED,    /* no connection was made: the request never left */
    AWS_HTTP_BROKEN,       /* failed after connecting (timeout, reset): it may have been applied */
    AWS_HTTP_ABORTED,      /* the stop flag ended it */
    AWS_HTTP_REFUSED,      /* not worth retrying (bad URL, TLS verification, protocol) */
};

struct aws_http_response;

/* Sorts an answer: status and body (what came, within the bound). ctx is the request's. */
typedef enum aws_http_class (*aws_http_classify_fn)(void *ctx, long status,
                                                    const struct hs_buf *body);

/* A header whose value is secret (an Authorization token, an IMDS token): never logged. */
struct aws_http_secret_header {
    const char *name;
    const struct hs_secret *value;
};

struct aws_http_request {
    const char *method;    /* "GET", "POST", "PUT", "PATCH" or "DELETE" */
    const char *url;       /* absolute; at most AWS_HTTP_URL_MAX - 1 bytes */
    const char *protocols; /* libcurl's list, e.g. "https" or "http,https"; NULL = "https" */
    const char *headers[AWS_HTTP_HEADERS_MAX];   /* "Name: value" lines, NULL-ended; lent */
    struct aws_http_secret_header secret_header; /* .name NULL: none */
    const void *body; /* POST/PUT body, body_len bytes (hashed whole when signed) */
    size_t body_len;
    size_t response_max;               /* bytes of answer accepted, >= 1; HS_ERR_BOUNDS past it */
    long connect_timeout_ms;           /* > 0 */
    long timeout_ms;                   /* > 0; 0 only with long_poll */
    bool long_poll;                    /* no total timeout: stop must be given */
    const volatile sig_atomic_t *stop; /* non-zero abandons the transfer within about 1 s */
    bool no_proxy;                     /* ignore the environment's proxies (local endpoints) */
    bool keepalive;                    /* TCP keep-alive probes on the connection */
    const char *cacert;                /* PEM trust anchors; NULL = the system's */
    const char *user_agent;            /* NULL = libcurl's default (none) */
    /* SigV4: both NULL = unsigned. creds (lent) or provider (asked before every attempt). */
    const char *sigv4_region;
    const char *sigv4_service;
    const struct aws_creds *creds;
    struct aws_creds_provider *provider;
    /* Retries: attempts in all (0 or 1 = one attempt); classify NULL = the default. */
    int attempts;
    long backoff_ms;          /* 0 = AWS_HTTP_BACKOFF_MS */
    long throttle_backoff_ms; /* 0 = AWS_HTTP_THROTTLE_BACKOFF_MS */
    aws_http_classify_fn classify;
    void *classify_ctx;
    const char *log_what; /* names the call in the retry log line ("dynamodb.GetItem") */
};

/* What came back from the last attempt. */
struct aws_http_response {
    long status;         /* HTTP status; 0 when no answer came */
    struct hs_buf *body; /* the caller's buffer: filled with the answer */
    enum aws_http_transport transport;
    enum aws_http_class class;      /* how the last answer was sorted */
    int attempts;                   /* attempts made */
    bool ambiguous;                 /* an earlier attempt may have been applied */
    uint64_t creds_version;         /* the provider's credentials the last attempt used */
    char error[AWS_HTTP_ERROR_MAX]; /* libcurl's words for a transport failure, else "" */
};

/* A reusable connection (one libcurl easy handle): keeps the connection alive between calls.
 * Not for concurrent use; one per thread or from a pool. */
struct aws_http;

/* Initialises libcurl once for the process (reference-counted by libcurl; pair each with
 * aws_http_global_cleanup), loading it first if need be (dlopen, aws/aws_curl.h). wipe:
 * libcurl's heap is wiped on free (the first call decides). Errors: HS_ERR_INTERNAL (libcurl
 * cannot be loaded, is older than 7.85.0, or its initialisation fails). */
HS_RESULT aws_http_global_init(bool wipe);
void aws_http_global_cleanup(void);

/* A new handle, or NULL when out of memory. Free with aws_http_free (NULL accepted). */
struct aws_http *aws_http_new(void);
void aws_http_free(struct aws_http *h);
void aws_http_freep(struct aws_http **h);

/* Sends req on h (NULL: a handle of its own for this call) and fills out (out->body is the
 * caller's buffer, reset before each attempt). Retries as described above. Returns HS_OK when
 * an HTTP answer came that needs no further retry, whatever its status (out->status,
 * out->class). Errors: HS_ERR_BOUNDS (the answer was over req->response_max; out->body holds
 * the part that fit and out->status the status), HS_ERR_IO (no answer after the last attempt:
 * out->transport and out->error say why; AWS_HTTP_ABORTED when req->stop ended it), HS_ERR_INTERNAL
 * (a request that breaks the rules above), HS_ERR_NOMEM; any error of the credentials provider.
 * Secrets are never in the error detail. */
HS_RESULT aws_http_send(struct aws_http *h, const struct aws_http_request *req,
                        struct aws_http_response *out);

/* Copies the value of response header name (of h's last answer) into out (cap bytes with the
 * NUL). Errors: HS_ERR_INPUT_NOT_FOUND (absent), HS_ERR_BOUNDS (longer than cap - 1). */
HS_RESULT aws_http_header(struct aws_http *h, const char *name, char *out, size_t cap);

/* Total time of h's last transfer in microseconds. */
long long aws_http_total_us(struct aws_http *h);

/* True when code is one of the AWS SDKs' throttling error codes (ThrottlingException,
 * ProvisionedThroughputExceededException, RequestLimitExceeded, Throttling, ...). */
bool aws_http_throttling_code(const char *code);

/* True when every byte of s[0..n) is an ASCII letter or digit or in extra (no NUL). */
bool aws_chars_ok(const char *s, size_t n, const char *extra);

/* True when every byte of p[0..n) is printable ASCII without space (0x21..0x7e). */
bool aws_printable(const unsigned char *p, size_t n);

/* True for "localhost", 127.0.0.0/8 and [::1]. */
bool aws_host_loopback(const char *host);

/* Checks url: absolute, https, or http only to a loopback host or one of allowed_http (a
 * NULL-ended list, may be NULL); no user information; when bare, no path other than "/", no
 * query. *local (may be NULL) is set for plain http to loopback. Errors: HS_ERR_INPUT_CONFIG
 * naming what (never echoing the URL). */
HS_RESULT aws_url_check(const char *url, const char *what, const char *const *allowed_http,
                        bool bare, bool *local);

#endif /* AWS_HTTP_H */
