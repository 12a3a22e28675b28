/*
 * aws_lambda_runtime: the client of the AWS Lambda Runtime API that hsmsignd (api/api_lambda)
 * and hsmsign-authorizer (authorizer/) run under as custom runtimes.
 *
 * Runtime API (AWS Lambda Developer Guide, "Using the Lambda runtime API for custom runtimes",
 * API version 2018-06-01), plain HTTP/1.1 to http://${AWS_LAMBDA_RUNTIME_API} (loopback in Lambda)
 * over one TCP connection of our own, answers parsed by aws_lambda_http (nodejs http-parser).
 * Not libcurl, which the rest of aws/ uses for AWS's HTTPS APIs: loading it (and the TLS, LDAP,
 * Kerberos... libraries behind it) cost ~4.4 ms of a Lambda cold start before the first /next,
 * and the Runtime API needs no TLS, proxy, redirect or retry policy:
 *   GET  /2018-06-01/runtime/invocation/next            long poll for the next event; reads
 *        Lambda-Runtime-Aws-Request-Id (required: [A-Za-z0-9._-], at most
 *        AWS_LAMBDA_REQUEST_ID_MAX bytes), Lambda-Runtime-Deadline-Ms (epoch milliseconds) and
 *        Lambda-Runtime-Trace-Id (at most AWS_LAMBDA_TRACE_ID_MAX bytes of visible ASCII)
 *   POST /2018-06-01/runtime/invocation/{id}/response   the function's answer (JSON)
 *   POST /2018-06-01/runtime/invocation/{id}/error      an invocation error
 *   POST /2018-06-01/runtime/init/error                 start-up failed (before the first /next)
 * Error bodies are {"errorMessage": text, "errorType": "Runtime.<Reason>"} with the header
 * Lambda-Runtime-Function-Error-Type set to the same errorType.
 *
 * The /next long poll has a connect timeout (AWS_LAMBDA_CONNECT_TIMEOUT_MS) and deliberately no
 * total timeout (an event may be hours away, and Lambda freezes the process meanwhile); every
 * POST has both (AWS_LAMBDA_POST_TIMEOUT_MS). One connection is kept alive for the process; one
 * the server closed while idle is reopened once, when no byte of the answer had come (so the
 * request was not taken). An answer's header section is bounded (AWS_LAMBDA_HTTP_HEAD_MAX), and
 * so is its body (the event's buffer; a POST's answer AWS_LAMBDA_REPLY_MAX bytes, unread).
 */
#ifndef AWS_LAMBDA_RUNTIME_H
#define AWS_LAMBDA_RUNTIME_H

#include <signal.h>
#include <stdbool.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"

#define AWS_LAMBDA_RUNTIME_API_MAX 255      /* bytes of AWS_LAMBDA_RUNTIME_API */
#define AWS_LAMBDA_CONNECT_TIMEOUT_MS 5000L /* connecting to the Runtime API */
#define AWS_LAMBDA_POST_TIMEOUT_MS 30000L   /* one whole POST to the Runtime API */
#define AWS_LAMBDA_REQUEST_ID_MAX 128 /* bytes of Lambda-Runtime-Aws-Request-Id (a UUID today) */
#define AWS_LAMBDA_TRACE_ID_MAX 512   /* bytes of Lambda-Runtime-Trace-Id */
#define AWS_LAMBDA_ERROR_TYPE_MAX 64  /* bytes of an errorType */

/* One invocation as /next delivered it. event is the caller's buffer (its maximum bounds the
 * event: a larger one sets too_large and keeps what fit). */
struct aws_lambda_invocation {
    char request_id[AWS_LAMBDA_REQUEST_ID_MAX + 1];
    char trace_id[AWS_LAMBDA_TRACE_ID_MAX + 1]; /* "" when none */
    long long deadline_ms;                      /* epoch ms, 0 when unknown */
    struct hs_buf *event;
    bool too_large;
};

struct aws_lambda_runtime;

/* A client for runtime_api ("host:port", the value of AWS_LAMBDA_RUNTIME_API; at most
 * AWS_LAMBDA_RUNTIME_API_MAX bytes of [A-Za-z0-9.:[]-]). stop (may be NULL; borrowed for the
 * client's life): when it becomes non-zero, as a SIGTERM handler sets it, a pending /next is
 * abandoned within about a second. Connects on first use (host names resolved then). Errors:
 * HS_ERR_INPUT_CONFIG (bad runtime_api: not host:port, [v6]:port, port 1..65535),
 * HS_ERR_INTERNAL, HS_ERR_NOMEM. The caller frees *out
 * with aws_lambda_runtime_free (NULL accepted). */
HS_RESULT aws_lambda_runtime_new(const char *runtime_api, const volatile sig_atomic_t *stop,
                                 struct aws_lambda_runtime **out);
void aws_lambda_runtime_free(struct aws_lambda_runtime *rt);
void aws_lambda_runtime_freep(struct aws_lambda_runtime **rt);

/* Waits for the next invocation into inv (inv->event is reset and filled). *stopped is set (and
 * inv left empty) when *stop ended the wait. Errors: HS_ERR_IO (unreachable, /next not 200 or
 * without a valid request id), HS_ERR_INTERNAL, HS_ERR_NOMEM. */
HS_RESULT aws_lambda_runtime_next(struct aws_lambda_runtime *rt, struct aws_lambda_invocation *inv,
                                  bool *stopped);

/* POSTs payload (JSON, borrowed) as inv's response; *runtime_status is what the Runtime API
 * answered (202 when accepted). A stop (SIGTERM) while it is under way does not abandon it: the
 * POST completes, or fails after its timeout, and the next aws_lambda_runtime_next sees the
 * stop at once. Errors: HS_ERR_IO (a transport failure, or 500: "non-recoverable
 * state, the runtime should exit"), HS_ERR_INTERNAL, HS_ERR_NOMEM. */
HS_RESULT aws_lambda_runtime_respond(struct aws_lambda_runtime *rt,
                                     const struct aws_lambda_invocation *inv,
                                     const struct hs_buf *payload, long *runtime_status);

/* POSTs {"errorMessage": message, "errorType": error_type} as inv's error (error_type:
 * "Runtime.<Reason>", [A-Za-z0-9.], at most AWS_LAMBDA_ERROR_TYPE_MAX bytes; message fixed
 * operator text, no secrets). *runtime_status and errors as aws_lambda_runtime_respond. */
HS_RESULT aws_lambda_runtime_error(struct aws_lambda_runtime *rt,
                                   const struct aws_lambda_invocation *inv, const char *error_type,
                                   const char *message, long *runtime_status);

/* Reports a start-up failure to POST /runtime/init/error (before the first /next) with
 * error_type and message as above, on a client of its own for runtime_api. Errors:
 * HS_ERR_INPUT_CONFIG (bad runtime_api), HS_ERR_INTERNAL (bad error_type), HS_ERR_IO
 * (unreachable, or an answer other than 202), HS_ERR_NOMEM. */
HS_RESULT aws_lambda_runtime_init_error(const char *runtime_api, const char *error_type,
                                        const char *message);

/* Milliseconds left before inv's deadline (CLOCK_REALTIME), 0 when it is unknown. */
long long aws_lambda_remaining_ms(const struct aws_lambda_invocation *inv);

#endif /* AWS_LAMBDA_RUNTIME_H */
