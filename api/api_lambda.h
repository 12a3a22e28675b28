/*
 * api_lambda: hsmsignd as an AWS Lambda custom runtime behind API Gateway, the Lambda twin of
 * api_http. It only decodes the transport (api_lambda_event), calls api_route() and encodes the
 * response.
 *
 * Runtime API (AWS Lambda Developer Guide, "Using the Lambda runtime API for custom runtimes",
 * API version 2018-06-01), spoken with libcurl (>= 7.85) to http://${AWS_LAMBDA_RUNTIME_API}:
 *   GET  /2018-06-01/runtime/invocation/next            long poll for the next event; reads
 *        Lambda-Runtime-Aws-Request-Id (required: [A-Za-z0-9._-], at most 128 bytes),
 *        Lambda-Runtime-Deadline-Ms (epoch milliseconds) and Lambda-Runtime-Trace-Id (exported
 *        as _X_AMZN_TRACE_ID for the invocation, as the AWS runtimes do)
 *   POST /2018-06-01/runtime/invocation/{id}/response   the API Gateway proxy response
 *   POST /2018-06-01/runtime/invocation/{id}/error      an event that is not a usable request
 *   POST /2018-06-01/runtime/init/error                 start-up failed (before the first /next)
 * Error bodies are {"errorMessage": fixed text, "errorType": "Runtime.<Reason>"} with the header
 * Lambda-Runtime-Function-Error-Type set to the same errorType; details go to the log only.
 * Invocation errors: Runtime.InvalidEvent (not JSON, not an API Gateway proxy event, a member
 * missing or of the wrong type), Runtime.EventTooLarge (over API_LAMBDA_EVENT_MAX),
 * Runtime.InternalError.
 *
 * SQS-event mode (the keygen worker, infra/terraform/modules/signer/keygen.tf): the same binary
 * and loop; an event with "Records" is an SQS event source mapping's batch (api_lambda_event.h).
 * Each valid record's body goes to svc->sqs_consume (api_service.h); the answer posted to
 * /response is the partial batch response naming the invalid records and those the consumer
 * failed, so SQS redelivers only them (the mapping must have function_response_types =
 * ["ReportBatchItemFailures"]; without it Lambda deletes the whole batch on any answer). With no
 * consumer configured every record fails (the messages go back to the queue and, after
 * maxReceiveCount, to the dead-letter queue: nothing is lost). Such an invocation logs
 * "lambda.invocation.sqs" (aws_request_id, trace_id, records, failed, runtime_status,
 * remaining_ms) and one "lambda.sqs.message.failed" (message_id, receive_count, the error) per
 * failed record; never a body. A batch that cannot be answered is posted to /error (Lambda then
 * retries the whole batch).
 */
#ifndef API_LAMBDA_H
#define API_LAMBDA_H

#include <signal.h>
#include <time.h>

#include "api/api_service.h"
#include "aws/aws_lambda_runtime.h"
#include "common/hs_err.h"

/* The Runtime API client is aws/aws_lambda_runtime (shared with hsmsign-authorizer). */
#define API_LAMBDA_RUNTIME_API_MAX AWS_LAMBDA_RUNTIME_API_MAX
#define API_LAMBDA_CONNECT_TIMEOUT_MS AWS_LAMBDA_CONNECT_TIMEOUT_MS
#define API_LAMBDA_POST_TIMEOUT_MS AWS_LAMBDA_POST_TIMEOUT_MS

/*
 * Runs the Runtime API loop for svc (borrowed; token init, login and key lookup are done, once,
 * by the caller) against runtime_api ("host:port", the value of AWS_LAMBDA_RUNTIME_API; at most
 * API_LAMBDA_RUNTIME_API_MAX bytes of [A-Za-z0-9.:[]-]). Logs "service.ready" (mode "lambda",
 * startup_ms: milliseconds since *started, a CLOCK_MONOTONIC time) just before the first /next.
 * Each invocation then logs one line of its own besides api_route's "http.request":
 * "lambda.invocation" (aws_request_id, trace_id, payload "2.0"/"1.0", status, runtime_status
 * (what the Runtime API answered the POST), remaining_ms before the deadline,
 * client_cert_pem_sha256 when a client certificate came; req_id links it to "http.request" and
 * the X-Request-Id header) or "lambda.invocation.rejected" (aws_request_id, error_type, the
 * error) for an event posted to /error. Bodies, headers, PINs and tokens are never logged.
 *
 * An event that cannot be decoded is posted to /invocation/{id}/error and the loop goes on; a
 * request over a bound inside a good event is answered 413 (as api_http does).
 *
 * The /next long poll has a connect timeout (API_LAMBDA_CONNECT_TIMEOUT_MS) and deliberately no
 * total timeout (an event may be hours away, and Lambda freezes the process meanwhile); every
 * POST has both (API_LAMBDA_POST_TIMEOUT_MS). When *stop (may be NULL) becomes non-zero, as a
 * SIGTERM handler sets it, a pending /next is abandoned within about a second and the loop
 * returns HS_OK; an invocation already received is answered first.
 *
 * Errors (the runtime should then exit; Lambda starts a new one): HS_ERR_INPUT_CONFIG (bad
 * runtime_api), HS_ERR_IO (the Runtime API unreachable or timing out, /next not 200 or without
 * a valid request id, a 500 from the Runtime API, which means "non-recoverable, exit"),
 * HS_ERR_NOMEM, HS_ERR_INTERNAL.
 */
HS_RESULT api_lambda_run(struct api_service *svc, const char *runtime_api,
                         const struct timespec *started, const volatile sig_atomic_t *stop);

/* Reports a start-up failure to POST /runtime/init/error, before the first /next, with
 * errorType and the Lambda-Runtime-Function-Error-Type header error_type ("Runtime.<Reason>",
 * [A-Za-z0-9.], at most 64 bytes) and errorMessage message (operator text, copied; no secrets).
 * Connect and total timeouts as above. Errors: HS_ERR_INPUT_CONFIG (bad runtime_api),
 * HS_ERR_INTERNAL (bad error_type), HS_ERR_IO (unreachable, or an answer other than 202),
 * HS_ERR_NOMEM. */
HS_RESULT api_lambda_init_error(const char *runtime_api, const char *error_type,
                                const char *message);

#endif /* API_LAMBDA_H */
