/*
 * api_lambda_event: the API Gateway side of the Lambda runtime: an invocation event decoded into
 * struct api_request, and struct api_response encoded as the proxy response. No I/O; api_lambda
 * runs the Runtime API loop around it.
 *
 * Events (API Gateway Developer Guide, "Create AWS Lambda proxy integrations for HTTP APIs"
 * payload format 2.0, and "Input format of a Lambda function for proxy integration" for REST
 * APIs, payload 1.0):
 *   v2 ("version": "2.0"): requestContext.http.method, rawPath, rawQueryString, headers
 *      (lowercase names, repeated values already comma-joined), cookies (sent on as one
 *      "cookie" header joined with "; "), body, isBase64Encoded; the principal is
 *      requestContext.authorizer.iam.userArn, the mTLS client certificate
 *      requestContext.authentication.clientCert.clientCertPem.
 *   v1 (httpMethod present; "version" absent or "1.0"): httpMethod, path,
 *      multiValueQueryStringParameters (else queryStringParameters), multiValueHeaders (else
 *      headers), body, isBase64Encoded; the principal is requestContext.identity.userArn, the
 *      client certificate requestContext.identity.clientCert.clientCertPem.
 * JSON null counts as absent (REST APIs send "headers": null and "body": null), and so does an
 * empty principal or certificate. Members not named here are ignored, as API Gateway adds
 * members over time.
 *
 * The request-target is rebuilt as a raw request line would carry it: the path with every byte
 * that cannot appear literally in an encoded path percent-encoded (RFC 3986 §3.3; a '%' that
 * already starts a %XX escape is kept, because HTTP APIs deliver rawPath decoded and other
 * sources encoded), then "?" and the query: v2's rawQueryString as sent (bytes a request line
 * cannot carry encoded), v1's decoded parameters re-encoded (RFC 3986 unreserved characters
 * kept) and joined with '&' in the event's order. A named stage's prefix in rawPath is not
 * removed: deploy on the $default stage or behind a custom domain mapping.
 *
 * SQS events (AWS Lambda Developer Guide, "Using Lambda with Amazon SQS": the event source
 * mapping's batch): {"Records": [{"messageId", "receiptHandle", "body", "attributes":
 * {"ApproximateReceiveCount", ...}, "messageAttributes", "md5OfBody", "eventSource": "aws:sqs",
 * "eventSourceARN", "awsRegion"}, ...]}, 1..API_LAMBDA_SQS_RECORDS_MAX records. A record whose
 * messageId is usable but whose other members are not (eventSource not "aws:sqs", body missing
 * or over API_LAMBDA_SQS_BODY_MAX, a member of the wrong type...) is kept as invalid: it is never
 * handed to a handler and is always reported failed, so SQS redelivers it and, after the queue's
 * maxReceiveCount, moves it to the dead-letter queue. A record without a usable messageId cannot
 * be reported, so it makes the whole event malformed. The answer is the partial batch response
 * ("Implementing partial batch responses", with ReportBatchItemFailures on the mapping):
 * {"batchItemFailures": [{"itemIdentifier": "<messageId>"}, ...]}; an empty list deletes the
 * whole batch.
 *
 * Proxy response (both payload versions accept it): {"statusCode": n, "headers":
 * {"Content-Type", "Cache-Control" when set, "X-Request-Id", "X-Content-Type-Options"}, "body":
 * text, "isBase64Encoded": false}; a binary api_response (a DER CRL) is sent as standard base64
 * (RFC 4648 §4, padded) with "isBase64Encoded": true.
 */
#ifndef API_LAMBDA_EVENT_H
#define API_LAMBDA_EVENT_H

#include <stdbool.h>
#include <stddef.h>

#include "api/api_route.h"
#include "common/hs_buf.h"
#include "common/hs_err.h"

#define API_LAMBDA_EVENT_MAX (1024 * 1024)           /* bytes of one invocation event */
#define API_LAMBDA_PAYLOAD_MAX (1024 * 1024)         /* bytes of one proxy response */
#define API_LAMBDA_HEADERS_MAX API_SIGV4_HEADERS_MAX /* request headers (each repeat counts) */
#define API_LAMBDA_HEADER_NAME_MAX API_SIGV4_HEADER_NAME_MAX   /* bytes of one header name */
#define API_LAMBDA_HEADER_VALUE_MAX API_SIGV4_HEADER_VALUE_MAX /* bytes of one header value */
#define API_LAMBDA_TARGET_MAX API_SIGV4_TARGET_MAX /* bytes of the rebuilt request-target */
#define API_LAMBDA_ARN_MAX 2048                    /* bytes of the principal ARN */
#define API_LAMBDA_CERT_PEM_MAX (16 * 1024)        /* bytes of the client certificate PEM */
#define API_LAMBDA_SQS_RECORDS_MAX 10              /* records of one SQS event (the batch) */
#define API_LAMBDA_SQS_BODY_MAX (256 * 1024)       /* bytes of one message body (SQS's limit) */
#define API_LAMBDA_SQS_ID_MAX 128                  /* bytes of a messageId (a UUID: 36) */
#define API_LAMBDA_SQS_HANDLE_MAX 1024             /* bytes of a receiptHandle */
#define API_LAMBDA_SQS_ARN_MAX 256                 /* bytes of the queue's ARN */
#define API_LAMBDA_SQS_RESPONSE_MAX 4096           /* bytes of a partial batch response */

enum api_lambda_payload {
    API_LAMBDA_PAYLOAD_V1 = 1,  /* REST API (or HTTP API with payload format 1.0) */
    API_LAMBDA_PAYLOAD_V2 = 2,  /* HTTP API payload format 2.0 */
    API_LAMBDA_PAYLOAD_SQS = 3, /* an SQS event source mapping's batch (see above) */
};

/* One message of an SQS event. Strings are NUL-terminated and lent from the event (they live
 * until api_lambda_event_free). */
struct api_lambda_sqs_record {
    const char *message_id;      /* 1..API_LAMBDA_SQS_ID_MAX bytes of [A-Za-z0-9_-] */
    const char *body;            /* NULL when invalid */
    size_t body_len;             /* at most API_LAMBDA_SQS_BODY_MAX */
    const char *source_arn;      /* eventSourceARN, "" when absent */
    unsigned long receive_count; /* attributes.ApproximateReceiveCount, 0 when absent */
    bool valid; /* false: malformed beyond its messageId; never handled, reported failed */
};

/* What api_lambda_sqs_dispatch calls for each valid record: HS_OK when the message is done with
 * (it will be deleted), a failure when it is to be redelivered (a batch item failure). */
struct api_lambda_sqs_handler {
    HS_MUST_USE hs_result (*fn)(void *arg, const struct api_lambda_sqs_record *rec);
    void *arg;
};

/* One decoded invocation event; owns the parsed document and everything rebuilt from it. */
struct api_lambda_event;

/* Parses text[0..len) (an invocation event; not necessarily NUL-terminated) and checks its
 * envelope: a JSON object of payload v2 or v1 (see above) with a requestContext object, a
 * method (an RFC 9110 token) and a path starting with '/'. Nothing else is looked at yet. Or an
 * SQS event (a "Records" member): 1..API_LAMBDA_SQS_RECORDS_MAX records, each an object with a
 * usable messageId, each checked as said above (invalid records are kept, marked).
 * Errors: HS_ERR_INPUT_TOO_LARGE (len > API_LAMBDA_EVENT_MAX), HS_ERR_INPUT_JSON (not exactly
 * one JSON object, nesting over HS_JSON_DEPTH_MAX), HS_ERR_INPUT_FIELD (not an API Gateway
 * proxy event, or a required member missing, empty or of the wrong type), HS_ERR_NOMEM. The
 * caller frees *out with api_lambda_event_free(). */
HS_RESULT api_lambda_event_parse(const char *text, size_t len, struct api_lambda_event **out);

/* The payload version of a parsed event. */
enum api_lambda_payload api_lambda_event_payload(const struct api_lambda_event *ev);

/* Fills out's method, target, headers, body, principal and client_cert_pem from ev and sets
 * transport = API_TRANSPORT_GATEWAY (req_id, now and peer_addr are zero; the caller sets the
 * first two). Every pointer lent in *out points into ev and lives until
 * api_lambda_event_free() or the next call. A base64 body (isBase64Encoded) is decoded strictly
 * (RFC 4648 §4 alphabet, '=' padding only at the end, length a multiple of 4); any other body
 * is passed on as its bytes, whatever its size (api_route answers a body over API_BODY_MAX 413).
 * Errors: HS_ERR_INPUT_TOO_LARGE (more than API_LAMBDA_HEADERS_MAX headers, or a header name or
 * value, the target, the principal or the certificate over its bound: the request is too large
 * to route; answer 413), HS_ERR_INPUT_FIELD (a member of the wrong type, a string with a NUL
 * byte, a header name that is not a token, invalid base64: the event is malformed),
 * HS_ERR_NOMEM. */
HS_RESULT api_lambda_event_request(struct api_lambda_event *ev, struct api_request *out);

/* The records of an SQS event (0 for an API Gateway event), and record i (< count) of it. */
size_t api_lambda_sqs_count(const struct api_lambda_event *ev);
const struct api_lambda_sqs_record *api_lambda_sqs_record(const struct api_lambda_event *ev,
                                                          size_t i);

/* Hands each valid record of the SQS event ev to h, in order, and encodes the partial batch
 * response naming every record that is invalid or that h failed, in event order. *failed gets
 * their count. The caller frees *out (at most API_LAMBDA_SQS_RESPONSE_MAX bytes, no terminator)
 * with hs_buf_free(). A handler's failure is not this function's: it is logged by the handler
 * and reported in the response. Errors: HS_ERR_INTERNAL (not an SQS event, NULL), HS_ERR_NOMEM,
 * HS_ERR_BOUNDS. */
HS_RESULT api_lambda_sqs_dispatch(const struct api_lambda_event *ev,
                                  const struct api_lambda_sqs_handler *h, size_t *failed,
                                  struct hs_buf **out);

void api_lambda_event_free(struct api_lambda_event *ev);
void api_lambda_event_freep(struct api_lambda_event **ev);

/* Encodes resp as the API Gateway proxy response JSON (see above) with X-Request-Id req_id
 * (NUL-terminated). A NULL resp->body is sent as "". The caller frees *out (at most
 * API_LAMBDA_PAYLOAD_MAX bytes, no terminator) with hs_buf_free(). Errors: HS_ERR_BOUNDS (a
 * body over API_RESPONSE_MAX or a payload over API_LAMBDA_PAYLOAD_MAX), HS_ERR_CRYPTO (base64
 * encoder), HS_ERR_NOMEM. Headers: Content-Type, Cache-Control, Retry-After and Location when
 * resp sets them, X-Request-Id, X-Content-Type-Options. *out is a sensitive buffer and json-c's
 * intermediate copies are wiped (a body may hold a private key). */
HS_RESULT api_lambda_response_encode(const struct api_response *resp, const char *req_id,
                                     struct hs_buf **out);

#endif /* API_LAMBDA_EVENT_H */
