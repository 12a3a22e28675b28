/*
 * au_event: API Gateway Lambda authorizer events in, authorizer answers out (API Gateway
 * Developer Guide, "Input to an API Gateway Lambda authorizer", "Output from an API Gateway
 * Lambda authorizer", and for HTTP APIs "Working with AWS Lambda authorizers", payload 2.0):
 *
 *   REST TOKEN      {"type": "TOKEN", "authorizationToken": "Bearer …", "methodArn": ARN}
 *   REST REQUEST    {"type": "REQUEST", "methodArn": ARN, "headers": {…}, "requestContext":
 *                    {"identity": {"clientCert": {"clientCertPem": PEM, …}}, …}, …}
 *                   (HTTP API payload 1.0 has this shape too and gets the same answer)
 *   HTTP API 2.0    {"version": "2.0", "type": "REQUEST", "routeKey": "GET /hello",
 *                    "headers": {"authorization": "Bearer …"}, "requestContext":
 *                    {"authentication": {"clientCert": {"clientCertPem": PEM}}, …}, …}
 * The route is "METHOD /path": from methodArn (arn:PARTITION:execute-api:REGION:ACCOUNT:
 * API-ID/STAGE/METHOD/PATH) for REST, routeKey for 2.0. The token is the credentials of an
 * "Authorization: Bearer" value (RFC 6750 §2.1; header names compared case-insensitively).
 *
 * Answers: REST and 1.0 get {"principalId", "policyDocument": {"Version": "2012-10-17",
 * "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow"|"Deny", "Resource": the
 * methodArn, or "arn:…:API-ID/STAGE/ *" (without the space) with wildcard_resource}]}, "context": {…}}; 2.0 gets
 * {"isAuthorized": bool, "context": {…}}. The context carries "sub", "scope", "kid",
 * "x5t#S256" on Allow, and "reason" on Deny.
 */
#ifndef AU_EVENT_H
#define AU_EVENT_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "authorizer/au_config.h"
#include "authorizer/au_verify.h"
#include "common/hs_buf.h"
#include "common/hs_err.h"

#define AU_EVENT_MAX (256 * 1024) /* bytes of one event */
#define AU_ARN_MAX 1600           /* bytes of a methodArn */
#define AU_CERT_PEM_MAX (16 * 1024)
#define AU_ANSWER_MAX (16 * 1024) /* bytes of one answer */

enum au_event_kind {
    AU_EVENT_REST_TOKEN = 1,
    AU_EVENT_REST_REQUEST,
    AU_EVENT_HTTP_V2
};

struct au_event {
    enum au_event_kind kind;
    json_object *doc;  /* owns the strings below */
    const char *token; /* the bearer token, NULL when there is none */
    size_t token_len;
    bool token_garbled;            /* an Authorization value that is not "Bearer <token68>" */
    char route[AU_ROUTE_MAX + 1];  /* "GET /hello" */
    const char *method_arn;        /* REST and 1.0 */
    char resource[AU_ARN_MAX + 1]; /* what the policy names */
    const char *client_cert_pem;   /* NULL when none came */
};

/* Parses text[0..len) (at most AU_EVENT_MAX bytes) with cfg's wildcard_resource into a new
 * event. Errors: HS_ERR_INPUT_TOO_LARGE, HS_ERR_INPUT_JSON, HS_ERR_INPUT_FIELD (not one of the
 * three shapes: the detail says what is missing), HS_ERR_NOMEM. Free with au_event_free. */
HS_RESULT au_event_parse(const char *text, size_t len, const struct au_config *cfg,
                         struct au_event **out);
void au_event_free(struct au_event *ev);
void au_event_freep(struct au_event **ev);

/* The answer for ev: allow, the grant (its sub, scope, kid, x5t; may be NULL on deny) and the
 * reason, as JSON in a new buffer. Errors: HS_ERR_NOMEM, HS_ERR_BOUNDS. */
HS_RESULT au_event_answer(const struct au_event *ev, bool allow, const struct au_grant *grant,
                          enum au_reason reason, struct hs_buf **out);

#endif /* AU_EVENT_H */
