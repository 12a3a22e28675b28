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
 * Proxy response (both payload versions accept it): {"statusCode": n, "headers":
 * {"Content-Type", "Cache-Control" when set, "X-Request-Id", "X-Content-Type-Options"}, "body":
 * text, "isBase64Encoded": false}; a binary api_response (a DER CRL) is sent as standard base64
 * (RFC 4648 §4, padded) with "isBase64Encoded": true.
 */
#ifndef API_LAMBDA_EVENT_H
#define API_LAMBDA_EVENT_H

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

enum api_lambda_payload {
    API_LAMBDA_PAYLOAD_V1 = 1, /* REST API (or HTTP API with payload format 1.0) */
    API_LAMBDA_PAYLOAD_V2 = 2, /* HTTP API payload format 2.0 */
};

/* One decoded invocation event; owns the parsed document and everything rebuilt from it. */
struct api_lambda_event;

/* Parses text[0..len) (an invocation event; not necessarily NUL-terminated) and checks its
 * envelope: a JSON object of payload v2 or v1 (see above) with a requestContext object, a
 * method (an RFC 9110 token) and a path starting with '/'. Nothing else is looked at yet.
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

void api_lambda_event_free(struct api_lambda_event *ev);
void api_lambda_event_freep(struct api_lambda_event **ev);

/* Encodes resp as the API Gateway proxy response JSON (see above) with X-Request-Id req_id
 * (NUL-terminated). A NULL resp->body is sent as "". The caller frees *out (at most
 * API_LAMBDA_PAYLOAD_MAX bytes, no terminator) with hs_buf_free(). Errors: HS_ERR_BOUNDS (a
 * body over API_RESPONSE_MAX or a payload over API_LAMBDA_PAYLOAD_MAX), HS_ERR_CRYPTO (base64
 * encoder), HS_ERR_NOMEM. */
HS_RESULT api_lambda_response_encode(const struct api_response *resp, const char *req_id,
                                     struct hs_buf **out);

#endif /* API_LAMBDA_EVENT_H */
