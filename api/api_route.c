#include "api/api_route.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "api/api_auth.h"
#include "api/api_body.h"
#include "api/api_console.h"
#include "api/api_policy.h"
#include "api/api_query.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "common/hs_log.h"
#include "common/hs_rand.h"
#include "service/svc_crl.h"
#include "service/svc_issue.h"
#include "service/svc_revoke.h"
#include "service/svc_ssh.h"
#include "service/svc_sshkey.h"
#include "service/svc_token.h"

#define API_DETAIL_MAX 64
#define API_CRL_MAX_AGE "public, max-age=60"
#define API_PUBLIC_MAX_AGE "public, max-age=300"
#define API_KRL_MAX_AGE "public, max-age=60"
#define API_MEDIA_JSON "application/json"

/* What one request did, for its log line, its metrics and its error body. */
struct api_outcome {
    size_t route;
    const char *principal;
    const char *auth;       /* "sigv4", "iam", "mtls" or NULL */
    const char *detail_key; /* "serial" or "kid"; NULL = none */
    char detail[API_DETAIL_MAX];
    enum api_policy_reason reason; /* why a policy denied it */
    struct api_caller caller;
    char allow[API_ALLOW_MAX]; /* a 405's Allow */
};

struct api_public_error {
    enum hs_code code;
    unsigned int status;
    const char *message;
};

/* How long a caller should wait before it asks again after a 503: the token's busy wait and
 * the inventory's busy timeout are a few seconds at most (docs/api.md). */
#define API_RETRY_HSM_S 1
#define API_RETRY_INVENTORY_S 2
#define API_RETRY_QUEUE_S 5 /* a key generation takes a second or so (RSA-4096 a few) */

/* The fixed public text of each error; anything more specific goes to the log only. */
static const struct api_public_error api_errors[] = {
    {HS_ERR_INPUT_TOO_LARGE, 413, "the request is too large"},
    {HS_ERR_INPUT_JSON, 400, "the request body is not a valid JSON object"},
    {HS_ERR_INPUT_FIELD, 400, "a field is missing, unknown or of the wrong type"},
    {HS_ERR_INPUT_RANGE, 400, "a numeric field is out of range"},
    {HS_ERR_INPUT_CSR, 400, "csr is not an acceptable PEM certificate signing request"},
    {HS_ERR_INPUT_CSR_SIGNATURE, 400, "the CSR's signature does not verify"},
    {HS_ERR_INPUT_KEY, 400,
     "the key type or size is not accepted (RSA >= 2048, P-256, P-384, "
     "Ed25519)"},
    {HS_ERR_INPUT_ALG, 400, "alg names no active signing key (see the OpenID configuration)"},
    {HS_ERR_INPUT_NOT_FOUND, 404, "no such resource"},
    {HS_ERR_INPUT_METHOD, 405, "method not allowed for this resource"},
    {HS_ERR_INPUT_HTTP, 400, "the request is not valid HTTP/1.1"},
    {HS_ERR_INPUT_HTTP_TARGET, 414, "the request-target is too long"},
    {HS_ERR_INPUT_HTTP_HEADERS, 431, "the request's header section is too large"},
    {HS_ERR_INPUT_HTTP_VERSION, 505, "only HTTP/1.1 and HTTP/1.0 are supported"},
    {HS_ERR_INPUT_HTTP_CODING, 501, "only the chunked transfer coding is supported"},
    {HS_ERR_INPUT_HTTP_TIMEOUT, 408, "the request did not arrive in time"},
    {HS_ERR_INPUT_HTTP_BUSY, 503, "too many connections; retry later"},
    {HS_ERR_INPUT_MEDIA_TYPE, 415,
     "the request body must be sent as Content-Type: application/json"},
    {HS_ERR_AUTH_MISSING, 401,
     "the request carries no credentials (AWS SigV4 or a client certificate)"},
    {HS_ERR_AUTH_MALFORMED, 401, "the Authorization header is malformed"},
    {HS_ERR_AUTH_UNKNOWN_KEY, 401, "the access key is not known"},
    {HS_ERR_AUTH_SIGNATURE, 401, "the request signature does not match"},
    {HS_ERR_AUTH_EXPIRED, 401, "the request date is outside the allowed clock skew"},
    {HS_ERR_AUTH_SCOPE, 401, "the credential scope does not match this service"},
    {HS_ERR_AUTH_CERTIFICATE, 401,
     "the client certificate was not issued by this service, or is revoked"},
    {HS_ERR_AUTH_UNSUPPORTED, 401,
     "only an AWS4-HMAC-SHA256 Authorization header with a signed payload is accepted"},
    {HS_ERR_AUTH_SIGV4_REQUIRED, 401,
     "this route accepts AWS SigV4 (IAM) credentials only, not a client certificate"},
    {HS_ERR_POLICY_DENIED, 403, "the caller is not allowed to do this"},
    {HS_ERR_POLICY_SUBJECT, 403, "the token profile's subject mapping cannot name the caller"},
    {HS_ERR_HSM_BUSY, 503, "the signing token is busy; retry later"},
    {HS_ERR_HSM_OVERLOADED, 503, "the signing token is overloaded; retry later"},
    {HS_ERR_STORE_UNAVAILABLE, 503, "the inventory is unavailable; retry later"},
    {HS_ERR_QUEUE_FULL, 503, "too many key generations are pending; retry later"},
};

/* Retry-After of an error answer (RFC 9110 §10.2.3): a 503 says when to ask again. */
static long api_retry_after(enum hs_code code, unsigned int status)
{
    if (status != 503) {
        return 0;
    }
    if (code == HS_ERR_QUEUE_FULL) {
        return API_RETRY_QUEUE_S;
    }
    return code == HS_ERR_STORE_UNAVAILABLE ? API_RETRY_INVENTORY_S : API_RETRY_HSM_S;
}

static const struct api_public_error *api_error_lookup(enum hs_code code)
{
    static const struct api_public_error by_class[] = {
        {HS_ERR_INPUT, 400, "the request is invalid"},
        {HS_ERR_AUTH, 401, "authentication failed"},
        {HS_ERR_POLICY, 403, "the caller is not allowed to do this"},
        {HS_ERR_HSM, 503, "the signing token is unavailable; retry later"},
        {HS_ERR_INTERNAL, 500, "internal error"},
    };
    for (size_t i = 0; i < sizeof(api_errors) / sizeof(api_errors[0]); i++) {
        if (api_errors[i].code == code) {
            return &api_errors[i];
        }
    }
    switch (hs_code_class(code)) {
    case HS_CLASS_INPUT:
        return &by_class[0];
    case HS_CLASS_AUTH:
        return &by_class[1];
    case HS_CLASS_POLICY:
        return &by_class[2];
    case HS_CLASS_HSM:
        return &by_class[3];
    case HS_CLASS_NONE:
    case HS_CLASS_INTERNAL:
    default:
        return &by_class[4];
    }
}

/* Request ids come from hs_rand's per-thread stock (one RAND_bytes per 16 ids: a call per
 * request was 1.7 % of a token's CPU). */
static void api_req_id_take(unsigned char *out, size_t n)
{
    if (hs_failed(hs_rand_public(out, n))) {
        /* As before: this one id is zeros; the next call tries again. */
        memset(out, 0, n);
    }
}

void api_request_id_new(struct api_request *req)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char raw[API_REQ_ID_LEN / 2];
    api_req_id_take(raw, sizeof(raw));
    for (size_t i = 0; i < sizeof(raw); i++) {
        req->req_id[2 * i] = digits[raw[i] >> 4];
        req->req_id[2 * i + 1] = digits[raw[i] & 0x0f];
    }
    req->req_id[API_REQ_ID_LEN] = '\0';
}

void api_response_clear(struct api_response *resp)
{
    hs_buf_free(resp->body);
    memset(resp, 0, sizeof(*resp));
}

/* Serialises obj as the response body, at most max bytes. */
static HS_RESULT api_response_json_max(struct api_response *out, unsigned int status,
                                       json_object *obj, size_t max)
{
    const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE);
    HS_ENSURE(text != NULL, HS_ERR_NOMEM);
    HS_DEFER(struct hs_buf *body = hs_buf_new(max), hs_buf_freep);
    HS_ENSURE(body != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put_str(body, text));
    hs_buf_free(out->body);
    out->body = body;
    body = NULL;
    out->status = status;
    out->content_type = "application/json";
    out->binary = false;
    return HS_OK;
}

/* Serialises obj as the response body. */
static HS_RESULT api_response_json(struct api_response *out, unsigned int status, json_object *obj)
{
    return api_response_json_max(out, status, obj, API_RESPONSE_MAX);
}

/* The error object: code name, public message, reason (policy) and detail (bad input) when not
 * NULL, request id. NULL when out of memory; the caller puts it. */
static json_object *api_error_json(enum hs_code code, const char *req_id, const char *reason,
                                   const char *detail)
{
    const struct api_public_error *e = api_error_lookup(code);
    json_object *obj = json_object_new_object();
    if (obj == NULL) {
        return NULL;
    }
    json_object_object_add(obj, "error", json_object_new_string(hs_code_name(code)));
    json_object_object_add(obj, "message", json_object_new_string(e->message));
    if (reason != NULL) {
        json_object_object_add(obj, "reason", json_object_new_string(reason));
    }
    if (detail != NULL && detail[0] != '\0') {
        json_object_object_add(obj, "detail", json_object_new_string(detail));
    }
    json_object_object_add(obj, "request_id", json_object_new_string(req_id));
    return obj;
}

/* The error body; reason (policy) and detail (bad input) are added when not NULL. */
static void api_response_error_ex(struct api_response *out, enum hs_code code, const char *req_id,
                                  const char *reason, const char *detail)
{
    const struct api_public_error *e = api_error_lookup(code);
    HS_DEFER(json_object *obj = api_error_json(code, req_id, reason, detail), hs_json_putp);
    out->status = e->status;
    out->content_type = "application/json";
    out->cache_control = "no-store";
    out->retry_after_s = api_retry_after(code, e->status);
    out->binary = false;
    if (obj == NULL) {
        return;
    }
    HS_IGNORE(api_response_json(out, e->status, obj));
}

void api_response_error(struct api_response *out, enum hs_code code, const char *req_id)
{
    api_response_error_ex(out, code, req_id, NULL, NULL);
}

/* --- small helpers ------------------------------------------------------------------------- */

static HS_RESULT api_json_add_time(json_object *obj, const char *key, time_t t)
{
    char ts[32];
    sgn_time_rfc3339(t, ts);
    return hs_json_add(obj, key, json_object_new_string(ts));
}

static HS_RESULT api_deny(struct api_outcome *oc, enum api_policy_reason reason)
{
    oc->reason = reason;
    HS_BAIL_MSG(HS_ERR_POLICY_DENIED, "policy: %s", api_policy_reason_name(reason));
}

static void api_outcome_detail(struct api_outcome *oc, const char *key, const char *value)
{
    oc->detail_key = key;
    HS_IGNORE(snprintf(oc->detail, sizeof(oc->detail), "%s", value));
}

static void api_outcome_caller(struct api_outcome *oc)
{
    static const char *const methods[] = {"sigv4", "iam", "mtls"};
    oc->principal = oc->caller.principal;
    oc->auth = methods[oc->caller.method];
}

/* One request on its way through a route: the front end's state, the {param} of the path and
 * the caller as the service sees it, whose authorisation asks the policy. */
struct api_call {
    struct api_service *svc;
    const struct api_request *req;
    struct api_outcome *oc;
    const char *param; /* the path's {serial}, not NUL-terminated */
    size_t param_len;
    struct svc_authz authz;
    struct svc_caller caller;
};

/* --- the policy, as the service asks it ---------------------------------------------------- */

static HS_RESULT api_authz_cert(void *arg, const struct svc_cert_ask *ask, long default_ttl_s,
                                long *ttl_s)
{
    struct api_call *call = arg;
    struct api_cert_ask a = {call->oc->principal, ask->profile, ask->cn, ask->sans, ask->ttl_s};
    enum api_policy_reason why =
        api_policy_check_cert(&call->svc->cfg->policy, &a, default_ttl_s, ttl_s);
    return why == API_POLICY_ALLOWED ? HS_OK : api_deny(call->oc, why);
}

static HS_RESULT api_authz_token(void *arg, const struct svc_token_ask *ask, long default_ttl_s,
                                 struct svc_token_grant *out)
{
    struct api_call *call = arg;
    const struct api_policy *policy = &call->svc->cfg->policy;
    long ttl_s = 0;
    json_object *claims = NULL;
    enum api_policy_reason why =
        ask->profile != NULL ? api_policy_check_token_profile(policy, call->oc->principal,
                                                              ask->profile, ask->ttl_s, &claims)
                             : api_policy_check_token(policy, call->oc->principal, ask->audience,
                                                      ask->ttl_s, default_ttl_s, &ttl_s);
    if (why != API_POLICY_ALLOWED) {
        return api_deny(call->oc, why);
    }
    out->ttl_s = ask->profile != NULL ? ask->ttl_s : ttl_s;
    out->claims = claims;
    return HS_OK;
}

static bool api_authz_sees_all(void *arg)
{
    const struct api_call *call = arg;
    return api_policy_may_manage(&call->svc->cfg->policy, call->oc->principal, NULL);
}

static HS_RESULT api_authz_manage(void *arg, const char *requester)
{
    struct api_call *call = arg;
    if (!api_policy_may_manage(&call->svc->cfg->policy, call->oc->principal, requester)) {
        return api_deny(call->oc, API_POLICY_NOT_OWNER_OR_ADMIN);
    }
    return HS_OK;
}

/* The policy's SSH decision for principal; *why is its reason. */
static HS_RESULT api_ssh_policy(const struct api_service *svc, const char *principal,
                                const struct svc_ssh_ask *ask, struct svc_ssh_grant *out,
                                enum api_policy_reason *why)
{
    struct api_ssh_ask a = {
        .caller = principal,
        .type = ask->type == SGN_SSH_CERT_HOST ? API_SSH_CERT_HOST : API_SSH_CERT_USER,
        .principals = ask->principals,
        .nprincipals = ask->nprincipals,
        .ttl_s = ask->ttl_s,
        .extensions_given = ask->extensions_given,
        .extensions = ask->extensions,
        .nextensions = ask->nextensions,
        .force_command = ask->force_command,
        .source_address = ask->source_address,
    };
    struct api_ssh_grant g;
    *why = API_POLICY_NO_RULE;
    HS_GUARD(api_policy_check_ssh(&svc->cfg->policy, &a, &g, why));
    if (*why != API_POLICY_ALLOWED) {
        HS_BAIL_MSG(HS_ERR_POLICY_DENIED, "policy: %s", api_policy_reason_name(*why));
    }
    _Static_assert(API_SSH_EXTENSIONS_MAX <= SVC_SSH_GRANT_EXTENSIONS_MAX,
                   "every granted extension fits the service's grant");
    memset(out, 0, sizeof(*out));
    out->ttl_s = g.ttl_s;
    for (size_t i = 0; i < g.nextensions && i < API_SSH_EXTENSIONS_MAX; i++) {
        out->extensions[i] = g.extensions[i];
    }
    out->nextensions = g.nextensions < API_SSH_EXTENSIONS_MAX ? g.nextensions : 0;
    out->force_command = g.force_command;
    out->source_address = g.source_address;
    return HS_OK;
}

static HS_RESULT api_authz_ssh(void *arg, const struct svc_ssh_ask *ask, struct svc_ssh_grant *out)
{
    struct api_call *call = arg;
    enum api_policy_reason why = API_POLICY_NO_RULE;
    hs_result r = api_ssh_policy(call->svc, call->oc->principal, ask, out, &why);
    if (r.code == HS_ERR_POLICY_DENIED) {
        call->oc->reason = why;
    }
    return r;
}

HS_RESULT api_route_sshkey_authz(void *arg, const char *principal, const struct svc_ssh_ask *ask,
                                 struct svc_ssh_grant *out, const char **reason)
{
    struct api_service *svc = arg;
    enum api_policy_reason why = API_POLICY_NO_RULE;
    api_service_read_lock(svc);
    hs_result r = api_ssh_policy(svc, principal, ask, out, &why);
    api_service_read_unlock(svc);
    if (r.code == HS_ERR_POLICY_DENIED) {
        *reason = api_policy_reason_name(why);
    }
    return r;
}

/* --- certificates -------------------------------------------------------------------------- */

/* Makes *body (JSON written straight into a buffer) the 200 answer, not to be cached; takes it
 * (*body is NULL after). */
static void api_response_take_json(struct api_response *out, struct hs_buf **body)
{
    hs_buf_free(out->body);
    out->body = *body;
    *body = NULL;
    out->status = 200;
    out->content_type = "application/json";
    out->binary = false;
    out->cache_control = "no-store";
}

/* Appends ,"key":"<RFC 3339 time>". */
static HS_RESULT api_json_put_time(struct hs_buf *body, const char *key, time_t t)
{
    char ts[32];
    sgn_time_rfc3339(t, ts);
    HS_GUARD(hs_json_put_name(body, key, false));
    return hs_json_put_string(body, ts, strlen(ts), HS_JSON_UTF8_STRICT);
}

/* {"certificate","chain","serial","profile","not_before","not_after"}: the bytes json-c printed
 * from an object of these members (docs/openapi.yaml CertificateResponse). */
static HS_RESULT api_cert_json(const struct svc_cert_result *res, struct hs_buf *body)
{
    HS_GUARD(hs_buf_put_byte(body, '{'));
    HS_GUARD(hs_json_put_name(body, "certificate", true));
    HS_GUARD(hs_json_put_string(body, (const char *)hs_buf_data(res->cert_pem),
                                hs_buf_len(res->cert_pem), HS_JSON_UTF8_STRICT));
    HS_GUARD(hs_json_put_name(body, "chain", false));
    HS_GUARD(hs_json_put_string(body, res->chain_pem, strlen(res->chain_pem), HS_JSON_UTF8_STRICT));
    HS_GUARD(hs_json_put_name(body, "serial", false));
    HS_GUARD(
        hs_json_put_string(body, res->serial_hex, strlen(res->serial_hex), HS_JSON_UTF8_STRICT));
    HS_GUARD(hs_json_put_name(body, "profile", false));
    HS_GUARD(hs_json_put_string(body, res->profile, strlen(res->profile), HS_JSON_UTF8_STRICT));
    HS_GUARD(api_json_put_time(body, "not_before", res->not_before));
    HS_GUARD(api_json_put_time(body, "not_after", res->not_after));
    return hs_buf_put_byte(body, '}');
}

static HS_RESULT api_cert_response(const struct svc_cert_result *res, struct api_response *out)
{
    HS_DEFER(struct hs_buf *body = hs_buf_new(API_RESPONSE_MAX), hs_buf_freep);
    HS_ENSURE(body != NULL, HS_ERR_NOMEM);
    unsigned char *room = NULL;
    /* Both PEMs, a few escaped newlines and ~200 bytes of members: one allocation. */
    size_t want = hs_buf_len(res->cert_pem) + strlen(res->chain_pem);
    HS_GUARD(hs_buf_reserve(body, want + want / 32 + 256, &room));
    HS_GUARD(api_cert_json(res, body));
    api_response_take_json(out, &body);
    return HS_OK;
}

static HS_RESULT api_handle_certificates(struct api_call *call, struct api_response *out)
{
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    struct svc_cert_request r;
    HS_GUARD(api_cert_request_decode(call->req->body, call->req->body_len, &doc, &r));
    r.now = call->req->now;
    HS_DEFER(struct svc_cert_result res = {0}, svc_cert_result_clear);
    HS_GUARD(svc_cert_issue(call->svc->svc, &call->caller, &r, &res));
    api_metrics_issued(&call->svc->metrics, API_METRICS_X509);
    api_outcome_detail(call->oc, "serial", res.serial_hex);
    return api_cert_response(&res, out);
}

/* The status document of one X.509 certificate (GET /v1/certificates/{serial}), into obj. */
static HS_RESULT api_status_json(const struct svc_cert_status *st, json_object *obj)
{
    const struct st_cert_record *rec = &st->rec;
    HS_GUARD(hs_json_add(obj, "serial", json_object_new_string(rec->serial_hex)));
    HS_GUARD(hs_json_add(obj, "status", json_object_new_string(svc_cert_state_name(st->state))));
    HS_GUARD(hs_json_add(obj, "subject", json_object_new_string(rec->subject)));
    HS_GUARD(hs_json_add(obj, "sans", json_tokener_parse(rec->sans)));
    HS_GUARD(hs_json_add(obj, "profile", json_object_new_string(rec->profile)));
    HS_GUARD(api_json_add_time(obj, "not_before", rec->not_before));
    HS_GUARD(api_json_add_time(obj, "not_after", rec->not_after));
    HS_GUARD(hs_json_add(obj, "requested_by", json_object_new_string(rec->requester)));
    if (st->state == SVC_CERT_REVOKED) {
        HS_GUARD(api_json_add_time(obj, "revoked_at", rec->revoked_at));
        HS_GUARD(hs_json_add(obj, "reason", json_object_new_string(st->reason)));
    }
    return HS_OK;
}

static HS_RESULT api_status_response(const struct svc_cert_status *st, struct api_response *out)
{
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    HS_GUARD(api_status_json(st, obj));
    HS_GUARD(api_response_json(out, 200, obj));
    out->cache_control = "no-store";
    return HS_OK;
}

/* The path's {serial} in the inventory's form. */
static HS_RESULT api_path_serial(struct api_call *call, char out[ST_INV_SERIAL_MAX + 1])
{
    HS_GUARD(svc_serial_normalise(call->param, call->param_len, out));
    api_outcome_detail(call->oc, "serial", out);
    return HS_OK;
}

static HS_RESULT api_handle_certificate_get(struct api_call *call, struct api_response *out)
{
    char serial[ST_INV_SERIAL_MAX + 1];
    HS_GUARD(api_path_serial(call, serial));
    struct svc_cert_status st;
    HS_GUARD(svc_cert_status_get(call->svc->svc, &call->caller, serial, ST_KIND_X509,
                                 call->req->now, &st));
    return api_status_response(&st, out);
}

static HS_RESULT api_handle_revoke(struct api_call *call, struct api_response *out)
{
    char serial[ST_INV_SERIAL_MAX + 1];
    HS_GUARD(api_path_serial(call, serial));
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    struct svc_revoke_request r;
    HS_GUARD(api_revoke_request_decode(call->req->body, call->req->body_len, &doc, &r));
    r.serial = serial;
    r.now = call->req->now;
    r.kind = ST_KIND_X509;
    struct svc_cert_status st;
    HS_GUARD(svc_cert_revoke(call->svc->svc, &call->caller, &r, &st));
    return api_status_response(&st, out);
}

/* The issuing chain for relying parties: the chain file as loaded (issuing CA first, up to the
 * root), RFC 8555 §9.1's media type. */
static HS_RESULT api_handle_ca(struct api_call *call, struct api_response *out)
{
    const char *pem = svc_ctx_get0_chain_pem(call->svc->svc);
    HS_ENSURE(pem != NULL, HS_ERR_INTERNAL);
    HS_DEFER(struct hs_buf *body = hs_buf_new(strlen(pem) + 1), hs_buf_freep);
    HS_ENSURE(body != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put_str(body, pem));
    out->body = body;
    body = NULL;
    out->status = 200;
    out->content_type = "application/pem-certificate-chain";
    out->cache_control = API_PUBLIC_MAX_AGE;
    return HS_OK;
}

static HS_RESULT api_handle_crl(struct api_call *call, struct api_response *out)
{
    struct hs_buf *der = NULL;
    HS_GUARD(svc_crl_get(call->svc->svc, call->req->now, &der));
    out->body = der;
    out->status = 200;
    out->content_type = "application/pkix-crl";
    out->cache_control = API_CRL_MAX_AGE;
    out->binary = true;
    return HS_OK;
}

/* --- SSH certificates (svc_ssh.h) ---------------------------------------------------------- */

static HS_RESULT api_json_add_u64(json_object *obj, const char *key, uint64_t v)
{
    char text[SVC_SSH_SERIAL_DEC_MAX + 1];
    HS_IGNORE(snprintf(text, sizeof(text), "%" PRIu64, v));
    return hs_json_add(obj, key, json_object_new_string(text));
}

static HS_RESULT api_static_json(const char *text, struct api_response *out);

static HS_RESULT api_handle_ssh_ca(struct api_call *call, struct api_response *out)
{
    const char *text = NULL;
    HS_GUARD(svc_ssh_ca_json(call->svc->svc, &text));
    return api_static_json(text, out);
}

static HS_RESULT api_ssh_cert_response(const struct svc_ssh_request *req,
                                       const struct svc_ssh_result *res, struct api_response *out)
{
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_json_add(obj, "certificate",
                         json_object_new_string_len((const char *)hs_buf_data(res->certificate),
                                                    (int)hs_buf_len(res->certificate))));
    HS_GUARD(api_json_add_u64(obj, "serial", res->serial));
    HS_GUARD(hs_json_add(obj, "key_id", json_object_new_string(res->key_id)));
    HS_GUARD(hs_json_add_strings(obj, "principals", req->principals, req->nprincipals));
    HS_GUARD(api_json_add_time(obj, "valid_after", res->valid_after));
    HS_GUARD(api_json_add_time(obj, "valid_before", res->valid_before));
    HS_GUARD(api_response_json(out, 200, obj));
    out->cache_control = "no-store";
    return HS_OK;
}

static HS_RESULT api_handle_ssh_certificates(struct api_call *call, struct api_response *out)
{
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    struct svc_ssh_request r;
    HS_GUARD(api_ssh_request_decode(call->req->body, call->req->body_len, &doc, &r));
    r.now = call->req->now;
    HS_DEFER(struct svc_ssh_result res = {0}, svc_ssh_result_clear);
    HS_GUARD(svc_ssh_issue(call->svc->svc, &call->caller, &r, &res));
    api_metrics_issued(&call->svc->metrics, API_METRICS_SSH);
    char serial[SVC_SSH_SERIAL_DEC_MAX + 1];
    HS_IGNORE(snprintf(serial, sizeof(serial), "%" PRIu64, res.serial));
    api_outcome_detail(call->oc, "serial", serial);
    return api_ssh_cert_response(&r, &res, out);
}

/* --- server-side SSH key generation (svc_sshkey.h) --------------------------------------------- */

static HS_RESULT api_handle_sshkey_submit(struct api_call *call, struct api_response *out)
{
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    struct api_sshkey_request r;
    HS_GUARD(api_sshkey_request_decode(call->req->body, call->req->body_len, &doc, &r));
    struct svc_sshkey_ask ask = {r.key_type, &r.req, r.recipient};
    char id[SVC_SSHKEY_ID_LEN + 1];
    HS_GUARD(svc_sshkey_submit(call->svc->svc, &call->caller, &ask, call->req->now, id));
    api_outcome_detail(call->oc, "request_id", id);
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_json_add(obj, "request_id", json_object_new_string(id)));
    HS_GUARD(hs_json_add(obj, "status", json_object_new_string("pending")));
    HS_GUARD(api_response_json(out, 202, obj));
    out->cache_control = "no-store";
    int n = snprintf(out->location, sizeof(out->location), "/v1/ssh/keys/%s", id);
    HS_ENSURE(n > 0 && (size_t)n < sizeof(out->location), HS_ERR_INTERNAL);
    return HS_OK;
}

static HS_RESULT api_sshkey_pending(const struct svc_sshkey_poll *p, json_object *obj)
{
    static const char *const stages[] = {"queued", "generating", "signing"};
    HS_ENSURE((size_t)p->stage < sizeof(stages) / sizeof(stages[0]), HS_ERR_INTERNAL);
    HS_GUARD(hs_json_add(obj, "status", json_object_new_string("pending")));
    HS_GUARD(hs_json_add(obj, "stage", json_object_new_string(stages[p->stage])));
    if (p->stage == SVC_SSHKEY_QUEUED) {
        HS_GUARD(hs_json_add(obj, "position", json_object_new_int64((int64_t)p->position)));
    }
    return HS_OK;
}

static HS_RESULT api_sshkey_done(const struct svc_sshkey_done *d, json_object *obj)
{
    HS_GUARD(hs_json_add(obj, "status", json_object_new_string("done")));
    const struct hs_buf *key =
        d->sealed_private_key != NULL ? d->sealed_private_key : d->private_key;
    HS_ENSURE(key != NULL && d->public_key != NULL && d->job != NULL, HS_ERR_INTERNAL);
    HS_GUARD(hs_json_add(
        obj, d->sealed_private_key != NULL ? "sealed_private_key" : "private_key",
        json_object_new_string_len((const char *)hs_buf_data(key), (int)hs_buf_len(key))));
    HS_GUARD(hs_json_add(obj, "public_key",
                         json_object_new_string_len((const char *)hs_buf_data(d->public_key),
                                                    (int)hs_buf_len(d->public_key))));
    HS_GUARD(hs_json_add(obj, "certificate",
                         json_object_new_string_len((const char *)hs_buf_data(d->cert.certificate),
                                                    (int)hs_buf_len(d->cert.certificate))));
    HS_GUARD(api_json_add_u64(obj, "serial", d->cert.serial));
    HS_GUARD(hs_json_add(obj, "key_id", json_object_new_string(d->cert.key_id)));
    HS_GUARD(
        hs_json_add_strings(obj, "principals", d->job->req.principals, d->job->req.nprincipals));
    HS_GUARD(api_json_add_time(obj, "valid_after", d->cert.valid_after));
    return api_json_add_time(obj, "valid_before", d->cert.valid_before);
}

/* The answer carries the private key: its JSON text is wiped when the object goes (json-c
 * keeps strings in its own allocations, so the body is built in a sensitive buffer). */
static HS_RESULT api_sshkey_response(json_object *obj, struct api_response *out)
{
    size_t n = 0;
    const char *text = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &n);
    HS_ENSURE(text != NULL, HS_ERR_NOMEM);
    HS_DEFER(struct hs_buf *body = hs_buf_new_sensitive(n + 1), hs_buf_freep);
    HS_ENSURE(body != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put(body, text, n));
    OPENSSL_cleanse((void *)text, n);
    json_object *key = NULL;
    if (json_object_object_get_ex(obj, "private_key", &key)) { /* json-c's own copy */
        OPENSSL_cleanse((void *)json_object_get_string(key),
                        (size_t)json_object_get_string_len(key));
    }
    out->body = body;
    body = NULL;
    out->status = 200;
    out->content_type = "application/json";
    out->cache_control = "no-store";
    return HS_OK;
}

static HS_RESULT api_handle_sshkey_poll(struct api_call *call, struct api_response *out)
{
    char id[SVC_SSHKEY_ID_LEN + 1];
    HS_GUARD(svc_sshkey_id_check(call->param, call->param_len));
    memcpy(id, call->param, SVC_SSHKEY_ID_LEN);
    id[SVC_SSHKEY_ID_LEN] = '\0';
    api_outcome_detail(call->oc, "request_id", id);
    struct svc_sshkey_poll p;
    HS_GUARD(svc_sshkey_poll(call->svc->svc, &call->caller, id, call->req->now, &p));
    HS_DEFER(struct svc_sshkey_done done = p.done, svc_sshkey_done_clear);
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    switch (p.status) {
    case SVC_SSHKEY_PENDING:
        HS_GUARD(api_sshkey_pending(&p, obj));
        break;
    case SVC_SSHKEY_DONE:
        HS_GUARD(api_sshkey_done(&done, obj));
        api_metrics_issued(&call->svc->metrics, API_METRICS_SSH);
        break;
    case SVC_SSHKEY_FAILED: {
        bool input = hs_code_class(done.error) == HS_CLASS_INPUT;
        HS_GUARD(hs_json_add(obj, "status", json_object_new_string("failed")));
        HS_GUARD(hs_json_add(
            obj, "error", api_error_json(done.error, id, done.reason, input ? done.detail : NULL)));
        break;
    }
    default:
        HS_BAIL(HS_ERR_INTERNAL);
    }
    return api_sshkey_response(obj, out);
}

/* The status document of one SSH certificate (GET /v1/ssh/certificates/{serial}), into obj. */
static HS_RESULT api_ssh_status_json(const struct svc_ssh_status *st, json_object *obj)
{
    const struct st_cert_record *rec = &st->st.rec;
    HS_GUARD(api_json_add_u64(obj, "serial", st->serial));
    HS_GUARD(hs_json_add(obj, "status", json_object_new_string(svc_cert_state_name(st->st.state))));
    HS_GUARD(hs_json_add(obj, "cert_type", json_object_new_string(rec->profile)));
    HS_GUARD(hs_json_add(obj, "key_id", json_object_new_string(rec->subject)));
    HS_GUARD(hs_json_add(obj, "principals", json_tokener_parse(rec->sans)));
    HS_GUARD(api_json_add_time(obj, "valid_after", rec->not_before));
    HS_GUARD(api_json_add_time(obj, "valid_before", rec->not_after));
    HS_GUARD(hs_json_add(obj, "key_fingerprint", json_object_new_string(st->key_fingerprint)));
    HS_GUARD(hs_json_add(obj, "ca_fingerprint", json_object_new_string(st->ca_fingerprint)));
    HS_GUARD(hs_json_add(obj, "requested_by", json_object_new_string(rec->requester)));
    if (st->st.state == SVC_CERT_REVOKED) {
        HS_GUARD(api_json_add_time(obj, "revoked_at", rec->revoked_at));
        HS_GUARD(hs_json_add(obj, "reason", json_object_new_string(st->st.reason)));
    }
    return HS_OK;
}

static HS_RESULT api_ssh_status_response(const struct svc_ssh_status *st, struct api_response *out)
{
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    HS_GUARD(api_ssh_status_json(st, obj));
    HS_GUARD(api_response_json(out, 200, obj));
    out->cache_control = "no-store";
    return HS_OK;
}

/* The path's {serial}, decimal. */
static HS_RESULT api_path_ssh_serial(struct api_call *call, uint64_t *out)
{
    HS_GUARD(svc_ssh_serial_parse(call->param, call->param_len, out));
    char text[SVC_SSH_SERIAL_DEC_MAX + 1];
    HS_IGNORE(snprintf(text, sizeof(text), "%" PRIu64, *out));
    api_outcome_detail(call->oc, "serial", text);
    return HS_OK;
}

static HS_RESULT api_handle_ssh_certificate_get(struct api_call *call, struct api_response *out)
{
    uint64_t serial = 0;
    HS_GUARD(api_path_ssh_serial(call, &serial));
    struct svc_ssh_status st;
    HS_GUARD(svc_ssh_status_get(call->svc->svc, &call->caller, serial, call->req->now, &st));
    return api_ssh_status_response(&st, out);
}

static HS_RESULT api_handle_ssh_revoke(struct api_call *call, struct api_response *out)
{
    uint64_t serial = 0;
    HS_GUARD(api_path_ssh_serial(call, &serial));
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    struct svc_revoke_request r;
    HS_GUARD(api_revoke_request_decode(call->req->body, call->req->body_len, &doc, &r));
    struct svc_ssh_status st;
    HS_GUARD(svc_ssh_revoke(call->svc->svc, &call->caller, serial, r.reason, call->req->now, &st));
    return api_ssh_status_response(&st, out);
}

static HS_RESULT api_handle_ssh_krl(struct api_call *call, struct api_response *out)
{
    struct hs_buf *krl = NULL;
    HS_GUARD(svc_ssh_krl_get(call->svc->svc, call->req->now, &krl));
    out->body = krl;
    out->status = 200;
    out->content_type = "application/octet-stream";
    out->cache_control = API_KRL_MAX_AGE;
    out->binary = true;
    return HS_OK;
}

/* --- the listing (GET /v1/certificates) ---------------------------------------------------- */

/* A page of up to ST_INV_LIST_MAX records with their SANs fits (8 KiB each at most, in JSON). */
#define API_LIST_RESPONSE_MAX (4 * 1024 * 1024)

/* The caller's room for one page (the records are large: about 11 KiB each). */
struct api_list_room {
    struct st_cert_record *records;
    enum svc_cert_state *states;
    const char **reasons;
};

static void api_list_room_clear(struct api_list_room *r)
{
    OPENSSL_free(r->records);
    OPENSSL_free(r->states);
    OPENSSL_free((void *)r->reasons);
}

/* One listed record as its own status route answers it, plus "kind". */
static HS_RESULT api_list_entry(const struct svc_cert_status *st, json_object *list)
{
    json_object *val = json_object_new_object();
    HS_ENSURE(val != NULL, HS_ERR_NOMEM);
    if (json_object_array_add(list, val) != 0) {
        json_object_put(val);
        HS_BAIL(HS_ERR_NOMEM);
    }
    if (st->rec.kind == ST_KIND_SSH) {
        struct svc_ssh_status ssh;
        HS_GUARD(svc_ssh_status_of(st, &ssh));
        HS_GUARD(api_ssh_status_json(&ssh, val));
    } else {
        HS_GUARD(api_status_json(st, val));
    }
    return hs_json_add(val, "kind",
                       json_object_new_string(st->rec.kind == ST_KIND_SSH ? "ssh" : "x509"));
}

static HS_RESULT api_list_response(const struct svc_cert_list *list, struct api_response *out)
{
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    json_object *arr = json_object_new_array();
    HS_GUARD(hs_json_add(obj, "certificates", arr));
    for (size_t i = 0; i < list->page.n; i++) {
        struct svc_cert_status st = {
            .rec = list->page.records[i], .state = list->states[i], .reason = list->reasons[i]};
        HS_GUARD(api_list_entry(&st, arr));
    }
    if (list->page.more) {
        char cursor[API_CURSOR_MAX + 1];
        HS_GUARD(api_list_cursor_encode(&list->page.next, cursor));
        HS_GUARD(hs_json_add(obj, "cursor", json_object_new_string(cursor)));
    }
    HS_GUARD(api_response_json_max(out, 200, obj, API_LIST_RESPONSE_MAX));
    out->cache_control = "no-store";
    return HS_OK;
}

/* GET /v1/certificates?...: admins list every certificate, others their own (svc_cert_list). */
static HS_RESULT api_handle_certificate_list(struct api_call *call, struct api_response *out)
{
    const char *target = call->req->target;
    const char *query = strchr(target, '?');
    size_t len = query != NULL ? strlen(query + 1) : 0;
    HS_DEFER(struct api_list_query *q = OPENSSL_zalloc(sizeof(*q)), api_list_query_freep);
    HS_ENSURE(q != NULL, HS_ERR_NOMEM);
    HS_GUARD(api_list_query_decode(query != NULL ? query + 1 : NULL, len, call->req->now, q));
    HS_DEFER(struct api_list_room room = {0}, api_list_room_clear);
    room.records = OPENSSL_zalloc(q->q.limit * sizeof(*room.records));
    room.states = OPENSSL_zalloc(q->q.limit * sizeof(*room.states));
    room.reasons = OPENSSL_zalloc(q->q.limit * sizeof(*room.reasons));
    HS_ENSURE(room.records != NULL && room.states != NULL && room.reasons != NULL, HS_ERR_NOMEM);
    struct svc_cert_list list = {
        .page = {.records = room.records}, .states = room.states, .reasons = room.reasons};
    HS_GUARD(svc_cert_list(call->svc->svc, &call->caller, &q->q, &list));
    return api_list_response(&list, out);
}

/* --- tokens -------------------------------------------------------------------------------- */

/* {"token","token_type":"Bearer","expires_in","kid","alg"}: the bytes json-c printed from an
 * object of these members, written straight into the body (docs/openapi.yaml TokenResponse). */
static HS_RESULT api_token_json(const struct svc_token_result *res, struct hs_buf *body)
{
    HS_GUARD(hs_buf_put_byte(body, '{'));
    HS_GUARD(hs_json_put_name(body, "token", true));
    HS_GUARD(hs_json_put_string(body, (const char *)hs_buf_data(res->token), hs_buf_len(res->token),
                                HS_JSON_UTF8_STRICT));
    HS_GUARD(hs_json_put_name(body, "token_type", false));
    HS_GUARD(hs_buf_put_str(body, "\"Bearer\""));
    HS_GUARD(hs_json_put_name(body, "expires_in", false));
    HS_GUARD(hs_json_put_int(body, res->expires_in));
    HS_GUARD(hs_json_put_name(body, "kid", false));
    HS_GUARD(hs_json_put_string(body, res->kid, strlen(res->kid), HS_JSON_UTF8_STRICT));
    HS_GUARD(hs_json_put_name(body, "alg", false));
    HS_GUARD(hs_json_put_string(body, res->alg, strlen(res->alg), HS_JSON_UTF8_STRICT));
    return hs_buf_put_byte(body, '}');
}

static HS_RESULT api_token_response(const struct svc_token_result *res, struct api_response *out)
{
    HS_DEFER(struct hs_buf *body = hs_buf_new(API_RESPONSE_MAX), hs_buf_freep);
    HS_ENSURE(body != NULL, HS_ERR_NOMEM);
    unsigned char *room = NULL;
    /* The token and ~100 bytes of members: one allocation. */
    HS_GUARD(hs_buf_reserve(body, hs_buf_len(res->token) + 256, &room));
    HS_GUARD(api_token_json(res, body));
    api_response_take_json(out, &body);
    return HS_OK;
}

static HS_RESULT api_handle_tokens(struct api_call *call, struct api_response *out)
{
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    struct svc_token_request r;
    HS_GUARD(api_token_request_decode(call->req->body, call->req->body_len, &doc, &r));
    r.now = call->req->now;
    HS_DEFER(struct svc_token_result res = {0}, svc_token_result_clear);
    hs_result issued = svc_token_issue(call->svc->svc, &call->caller, &r, &res);
    if (hs_failed(issued) && issued.code == HS_ERR_POLICY_SUBJECT) {
        /* The profile's mapping, not a rule, refused the caller: say so as the policy would. */
        call->oc->reason = API_POLICY_SUBJECT_UNMAPPED;
    }
    HS_GUARD(issued);
    api_metrics_issued(&call->svc->metrics, API_METRICS_TOKEN);
    api_outcome_detail(call->oc, "kid", res.kid);
    return api_token_response(&res, out);
}

/* --- who the caller is (GET /v1/whoami) ---------------------------------------------------- */

/* The principal the service sees, how it authenticated and what the policy lets it do
 * (api_policy_describe): for the console, which renders it; never a secret. */
static HS_RESULT api_handle_whoami(struct api_call *call, struct api_response *out)
{
    static const char *const by[] = {"sigv4", "api_gateway", "client_certificate"};
    const struct api_caller *c = &call->oc->caller;
    HS_ENSURE((size_t)c->method < sizeof(by) / sizeof(by[0]), HS_ERR_INTERNAL);
    json_object *perms = NULL;
    HS_GUARD(api_policy_describe(&call->svc->cfg->policy, c->principal, &perms));
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    if (obj == NULL) {
        json_object_put(perms);
        HS_BAIL(HS_ERR_NOMEM);
    }
    json_object *admin = NULL;
    (void)json_object_object_get_ex(perms, "admin", &admin);
    HS_GUARD(hs_json_add(obj, "principal", json_object_new_string(c->principal)));
    HS_GUARD(hs_json_add(obj, "authenticated_by", json_object_new_string(by[c->method])));
    HS_GUARD(hs_json_add(obj, "admin", json_object_new_boolean(json_object_get_boolean(admin))));
    HS_GUARD(hs_json_add(obj, "permissions", perms));
    HS_GUARD(api_response_json(out, 200, obj));
    out->cache_control = "no-store";
    return HS_OK;
}

/* --- public documents ---------------------------------------------------------------------- */

static HS_RESULT api_static_json(const char *text, struct api_response *out)
{
    HS_DEFER(struct hs_buf *body = hs_buf_new(strlen(text) + 1), hs_buf_freep);
    HS_ENSURE(body != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put_str(body, text));
    out->body = body;
    body = NULL;
    out->status = 200;
    out->content_type = "application/json";
    /* Verifiers may cache the key set briefly; rotation keeps old keys published longer. */
    out->cache_control = API_PUBLIC_MAX_AGE;
    return HS_OK;
}

static HS_RESULT api_handle_jwks(struct api_call *call, struct api_response *out)
{
    return api_static_json(svc_ctx_get0_jwks_json(call->svc->svc), out);
}

static HS_RESULT api_handle_openid(struct api_call *call, struct api_response *out)
{
    return api_static_json(svc_ctx_get0_openid_json(call->svc->svc), out);
}

static HS_RESULT api_handle_healthz(struct api_call *call, struct api_response *out)
{
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    HS_GUARD(svc_ctx_ping(call->svc->svc));
    HS_GUARD(hs_json_add(obj, "status", json_object_new_string("ok")));
    HS_GUARD(api_response_json(out, 200, obj));
    out->cache_control = "no-store";
    return HS_OK;
}

static HS_RESULT api_handle_metrics(struct api_call *call, struct api_response *out);

/* --- the console's static files (api_console.h) -------------------------------------------- */

/* The console's documents run no inline script and talk to this origin only; they may not be
 * framed (clickjacking) and send no Referer. */
static const char *const api_console_headers[][2] = {
    {"Content-Security-Policy",
     "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
     "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
     "form-action 'self'; frame-ancestors 'none'"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {NULL, NULL},
};

/* Whether If-None-Match (RFC 9110 §13.1.2) names etag, or is "*". */
static bool api_console_not_modified(const struct api_request *req, const char *etag)
{
    const char *inm = api_header_get(req, "If-None-Match");
    if (inm == NULL) {
        return false;
    }
    size_t n = strlen(etag);
    for (const char *p = inm; *p != '\0';) {
        p += strspn(p, " \t,");
        size_t m = strcspn(p, ",");
        while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t')) {
            m--;
        }
        const char *tag = p;
        if (m > 2 && strncmp(tag, "W/", 2) == 0) { /* weak comparison (§8.8.3.2) */
            tag += 2;
            m -= 2;
        }
        if ((m == 1 && tag[0] == '*') || (m == n && strncmp(tag, etag, n) == 0)) {
            return true;
        }
        p += strcspn(p, ",");
    }
    return false;
}

/* GET /ui: the console lives under /ui/ (relative links resolve there). */
static HS_RESULT api_handle_console_root(struct api_call *call, struct api_response *out)
{
    HS_ENSURE_MSG(call->svc->console != NULL, HS_ERR_INPUT_NOT_FOUND,
                  "no console is configured (console.dir)");
    out->status = 301;
    out->headers = api_console_headers;
    out->cache_control = API_PUBLIC_MAX_AGE;
    HS_IGNORE(snprintf(out->location, sizeof(out->location), "/ui/"));
    return HS_OK;
}

/* GET /ui/{path+}: a file of the console ("" is index.html), 304 when the caller has it. */
static HS_RESULT api_handle_console(struct api_call *call, struct api_response *out)
{
    HS_ENSURE_MSG(call->svc->console != NULL, HS_ERR_INPUT_NOT_FOUND,
                  "no console is configured (console.dir)");
    const struct api_console_file *f =
        api_console_find(call->svc->console, call->param, call->param_len);
    HS_ENSURE_MSG(f != NULL, HS_ERR_INPUT_NOT_FOUND, "the console has no such file");
    size_t len = hs_buf_len(f->data);
    HS_DEFER(struct hs_buf *body = hs_buf_new(len > 0 ? len : 1), hs_buf_freep);
    HS_ENSURE(body != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put(body, hs_buf_data(f->data), len));
    out->body = body;
    body = NULL;
    out->status = 200;
    out->content_type = f->content_type;
    out->cache_control = f->cache_control;
    out->binary = strncmp(f->content_type, "text/", 5) != 0 &&
                  strcmp(f->content_type, "application/json") != 0 &&
                  strcmp(f->content_type, "image/svg+xml") != 0;
    out->headers = api_console_headers;
    HS_IGNORE(snprintf(out->etag, sizeof(out->etag), "%s", f->etag));
    if (api_console_not_modified(call->req, f->etag)) {
        /* 304 (RFC 9110 §15.4.5): the 200's headers, no body; Content-Length stays the
         * representation's, as a HEAD's does. */
        out->status = 304;
        out->head = true;
    }
    return HS_OK;
}

/* --- the routes ---------------------------------------------------------------------------- */

/* Who may call a route; the dispatcher authenticates before the handler runs. */
enum api_route_auth {
    API_ROUTE_PUBLIC,      /* anyone */
    API_ROUTE_IAM,         /* SigV4, or the gateway's IAM principal */
    API_ROUTE_IAM_OR_CERT, /* that, or a client certificate this service issued */
};

struct api_route_def {
    const char *method;
    /* literal path; "{name}" matches one segment, "{name+}" at the end the rest of the path */
    const char *pattern;
    HS_MUST_USE hs_result (*handler)(struct api_call *call, struct api_response *out);
    enum api_route_auth auth;
};

/* Every route (docs/api.md): method, path pattern, handler, auth. Adding one is a row here, a
 * handler calling one svc_ function, its operation in docs/openapi.yaml and, for the AWS shape,
 * its route in infra/terraform/modules/api (openapi_test and tests/infra/check.sh compare both
 * with these rows). The order is the metrics' route index; each route's metrics label
 * ("METHOD pattern") is made from the same row at compile time. */
#define API_ROUTE_TABLE(ROW)                                                                       \
    ROW("POST", "/v1/certificates", api_handle_certificates, API_ROUTE_IAM)                        \
    ROW("GET", "/v1/certificates", api_handle_certificate_list, API_ROUTE_IAM)                     \
    ROW("GET", "/v1/certificates/{serial}", api_handle_certificate_get, API_ROUTE_IAM)             \
    ROW("POST", "/v1/certificates/{serial}/revoke", api_handle_revoke, API_ROUTE_IAM)              \
    ROW("GET", "/v1/crl", api_handle_crl, API_ROUTE_PUBLIC)                                        \
    ROW("GET", "/v1/ca", api_handle_ca, API_ROUTE_PUBLIC)                                          \
    ROW("GET", "/v1/ssh/ca", api_handle_ssh_ca, API_ROUTE_PUBLIC)                                  \
    ROW("POST", "/v1/ssh/certificates", api_handle_ssh_certificates, API_ROUTE_IAM)                \
    ROW("GET", "/v1/ssh/certificates/{serial}", api_handle_ssh_certificate_get, API_ROUTE_IAM)     \
    ROW("POST", "/v1/ssh/certificates/{serial}/revoke", api_handle_ssh_revoke, API_ROUTE_IAM)      \
    ROW("GET", "/v1/ssh/krl", api_handle_ssh_krl, API_ROUTE_PUBLIC)                                \
    ROW("POST", "/v1/ssh/keys", api_handle_sshkey_submit, API_ROUTE_IAM)                           \
    ROW("GET", "/v1/ssh/keys/{request_id}", api_handle_sshkey_poll, API_ROUTE_IAM)                 \
    ROW("POST", "/v1/tokens", api_handle_tokens, API_ROUTE_IAM_OR_CERT)                            \
    ROW("GET", "/v1/whoami", api_handle_whoami, API_ROUTE_IAM_OR_CERT)                             \
    ROW("GET", "/.well-known/jwks.json", api_handle_jwks, API_ROUTE_PUBLIC)                        \
    ROW("GET", "/.well-known/openid-configuration", api_handle_openid, API_ROUTE_PUBLIC)           \
    ROW("GET", "/healthz", api_handle_healthz, API_ROUTE_PUBLIC)                                   \
    ROW("GET", "/metrics", api_handle_metrics, API_ROUTE_PUBLIC)                                   \
    ROW("GET", "/ui", api_handle_console_root, API_ROUTE_PUBLIC)                                   \
    ROW("GET", "/ui/{path+}", api_handle_console, API_ROUTE_PUBLIC)

#define API_ROUTE_DEF(method, pattern, handler, auth) {(method), (pattern), (handler), (auth)},
#define API_ROUTE_LABEL(method, pattern, handler, auth) method " " pattern,

static const struct api_route_def api_routes[] = {API_ROUTE_TABLE(API_ROUTE_DEF)};

#define API_ROUTES_N (sizeof(api_routes) / sizeof(api_routes[0]))
#define API_ROUTE_UNKNOWN API_ROUTES_N /* the metrics' index of a path no route has */

/* "METHOD pattern" of each route, then "unknown": the metrics' labels. */
static const char *const api_route_labels[] = {API_ROUTE_TABLE(API_ROUTE_LABEL) "unknown"};
_Static_assert(API_ROUTES_N + 1 <= API_METRICS_ROUTES_MAX, "every route and unknown are counted");
_Static_assert(sizeof(api_route_labels) / sizeof(api_route_labels[0]) == API_ROUTES_N + 1,
               "one metrics label a route, and one for unknown paths");

const char *const *api_route_names(size_t *n)
{
    *n = API_ROUTES_N + 1;
    return api_route_labels;
}

static HS_RESULT api_handle_metrics(struct api_call *call, struct api_response *out)
{
    size_t n = 0;
    const char *const *names = api_route_names(&n);
    HS_DEFER(struct hs_buf *body = hs_buf_new(API_METRICS_TEXT_MAX), hs_buf_freep);
    HS_ENSURE(body != NULL, HS_ERR_NOMEM);
    /* The token gauge asks the token as GET /healthz does (one session, C_GetSessionInfo). */
    bool up = !hs_failed(svc_ctx_ping(call->svc->svc));
    hs_error_clear();
    HS_GUARD(api_metrics_render(&call->svc->metrics, names, n, svc_ctx_get0_pool(call->svc->svc),
                                up, body));
    out->body = body;
    body = NULL;
    out->status = 200;
    out->content_type = "text/plain; version=0.0.4";
    out->cache_control = "no-store";
    return HS_OK;
}

/* Whether the raw path (len bytes) is pattern; *param / *param_len get the {name} segment (which
 * may be empty inside the path, not at its end), or for a "{name+}" that ends the pattern, the
 * whole rest of the path (slashes included, possibly empty: the handler checks it). The raw
 * path must match exactly: no dot segments, escapes or doubled slashes reach a handler. */
static bool api_path_match(const char *pattern, const char *path, size_t len, const char **param,
                           size_t *param_len)
{
    size_t i = 0;
    for (const char *p = pattern; *p != '\0'; p++) {
        if (*p == '{') {
            size_t n = strcspn(path + i, "/");
            n = n < len - i ? n : len - i;
            p += strcspn(p, "}");
            if (*p == '\0') {
                return false;
            }
            if (p[-1] == '+' && p[1] == '\0') { /* "{name+}" ends a pattern: the rest */
                *param = path + i;
                *param_len = len - i;
                return true;
            }
            if (p[1] == '\0' && n == 0) {
                return false;
            }
            *param = path + i;
            *param_len = n;
            i += n;
            continue;
        }
        if (i >= len || path[i] != *p) {
            return false;
        }
        i++;
    }
    return i == len;
}

/* Adds method to the Allow list allow (", "-separated), and HEAD after GET. */
static void api_allow_add(char allow[API_ALLOW_MAX], const char *method)
{
    size_t used = strlen(allow);
    HS_IGNORE(snprintf(allow + used, API_ALLOW_MAX - used, "%s%s%s", used > 0 ? ", " : "", method,
                       strcmp(method, "GET") == 0 ? ", HEAD" : ""));
}

/* The route of a path and method (HEAD finds the GET route): its index, or API_ROUTE_UNKNOWN;
 * *method_ok is false when the path is a route's but no route has it with this method, and
 * allow then lists the methods it has. */
static size_t api_route_find(const char *path, size_t len, const char *method, const char **param,
                             size_t *param_len, bool *method_ok, char allow[API_ALLOW_MAX])
{
    size_t found = API_ROUTE_UNKNOWN;
    *method_ok = false;
    allow[0] = '\0';
    const char *as = strcmp(method, "HEAD") == 0 ? "GET" : method;
    for (size_t i = 0; i < API_ROUTES_N; i++) {
        const char *p = NULL;
        size_t n = 0;
        if (!api_path_match(api_routes[i].pattern, path, len, &p, &n)) {
            continue;
        }
        found = found == API_ROUTE_UNKNOWN ? i : found;
        api_allow_add(allow, api_routes[i].method);
        if (strcmp(as, api_routes[i].method) == 0) {
            *param = p;
            *param_len = n;
            *method_ok = true;
            return i;
        }
    }
    return found;
}

unsigned int api_route_lane(const char *method, const char *target)
{
    /* The routes that sign, by class; the table's rows stay as they are. */
    static const struct {
        const char *method;
        const char *pattern;
        unsigned int lane;
    } signing[] = {
        {"POST", "/v1/certificates", SVC_CLASS_CERTIFICATE},
        {"POST", "/v1/tokens", SVC_CLASS_TOKEN},
        {"POST", "/v1/ssh/certificates", SVC_CLASS_SSH},
        {"POST", "/v1/ssh/keys", SVC_CLASS_SSH},
        {"POST", "/v1/certificates/{serial}/revoke", SVC_CLASS_CRL},
        {"POST", "/v1/ssh/certificates/{serial}/revoke", SVC_CLASS_CRL},
    };
    const char *param = NULL;
    size_t param_len = 0;
    bool method_ok = false;
    char allow[API_ALLOW_MAX];
    size_t id =
        api_route_find(target, strcspn(target, "?"), method, &param, &param_len, &method_ok, allow);
    if (id == API_ROUTE_UNKNOWN || !method_ok || api_routes[id].auth == API_ROUTE_PUBLIC) {
        return API_LANE_PUBLIC;
    }
    for (size_t i = 0; i < sizeof(signing) / sizeof(signing[0]); i++) {
        if (strcmp(api_routes[id].method, signing[i].method) == 0 &&
            strcmp(api_routes[id].pattern, signing[i].pattern) == 0) {
            return signing[i].lane;
        }
    }
    return SVC_CLASS_BACKGROUND;
}

static HS_RESULT api_authenticate(struct api_call *call, enum api_route_auth auth)
{
    struct api_outcome *oc = call->oc;
    switch (auth) {
    case API_ROUTE_PUBLIC:
        return HS_OK;
    case API_ROUTE_IAM:
        HS_GUARD(api_auth_iam(call->svc, call->req, &oc->caller));
        break;
    case API_ROUTE_IAM_OR_CERT:
        HS_GUARD(api_auth_iam_or_cert(call->svc, call->req, &oc->caller));
        break;
    default:
        HS_BAIL(HS_ERR_INTERNAL);
    }
    api_outcome_caller(oc);
    call->caller.principal = oc->principal;
    call->caller.x5t_s256 = oc->caller.method == API_AUTH_CLIENT_CERT ? oc->caller.x5t_s256 : NULL;
    return HS_OK;
}

/* Whether the parameters after a media type (";"-separated, RFC 9110 §8.3.1) are acceptable
 * for JSON: a charset, if any, is utf-8 (RFC 8259 §8.1), quoted or not. */
static bool api_media_params_ok(const char *p)
{
    while (*p != '\0') {
        p += strspn(p, " \t;");
        size_t n = strcspn(p, ";");
        if (n >= 8 && strncasecmp(p, "charset=", 8) == 0) {
            const char *v = p + 8;
            size_t vn = n - 8;
            while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t')) {
                vn--;
            }
            bool quoted = vn >= 2 && v[0] == '"' && v[vn - 1] == '"';
            if (!((vn == 5 && strncasecmp(v, "utf-8", 5) == 0) ||
                  (quoted && vn == 7 && strncasecmp(v + 1, "utf-8", 5) == 0))) {
                return false;
            }
        }
        p += n;
    }
    return true;
}

/* A POST with a body must say Content-Type: application/json (RFC 9110 §8.3, §15.5.16): a
 * form, text/plain or no Content-Type at all is refused rather than parsed as JSON. (Every POST
 * route reads a JSON body; a body on a GET has no meaning and is not read.) */
static HS_RESULT api_media_type_check(const struct api_request *req)
{
    if (req->body_len == 0) {
        return HS_OK;
    }
    HS_ENSURE_MSG(api_header_count(req, "Content-Type") <= 1, HS_ERR_INPUT_MEDIA_TYPE,
                  "Content-Type was sent more than once");
    const char *ct = api_header_get(req, "Content-Type");
    HS_ENSURE_MSG(ct != NULL, HS_ERR_INPUT_MEDIA_TYPE,
                  "the request has a body but no Content-Type; send application/json");
    ct += strspn(ct, " \t");
    size_t n = strlen(API_MEDIA_JSON);
    bool json = strncasecmp(ct, API_MEDIA_JSON, n) == 0 &&
                (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
    size_t shown = strcspn(ct, "; \t");
    HS_ENSURE_MSG(json, HS_ERR_INPUT_MEDIA_TYPE, "Content-Type %.*s%s is not application/json",
                  (int)(shown > 48 ? 48 : shown), ct, shown > 48 ? "..." : "");
    HS_ENSURE_MSG(api_media_params_ok(ct + n), HS_ERR_INPUT_MEDIA_TYPE,
                  "JSON is UTF-8: the Content-Type's charset must be utf-8");
    return HS_OK;
}

static HS_RESULT api_dispatch(struct api_service *svc, const struct api_request *req,
                              struct api_outcome *oc, struct api_response *out)
{
    HS_ENSURE(req->method != NULL && req->target != NULL, HS_ERR_INPUT);
    HS_ENSURE(req->body_len <= API_BODY_MAX, HS_ERR_INPUT_TOO_LARGE);
    struct api_call call = {.svc = svc, .req = req, .oc = oc};
    call.authz =
        (struct svc_authz){&call,         api_authz_cert,    api_authz_token, api_authz_manage,
                           api_authz_ssh, api_authz_sees_all};
    call.caller.authz = &call.authz;
    bool method_ok = false;
    size_t id = api_route_find(req->target, strcspn(req->target, "?"), req->method, &call.param,
                               &call.param_len, &method_ok, oc->allow);
    oc->route = id;
    HS_ENSURE_MSG(id != API_ROUTE_UNKNOWN, HS_ERR_INPUT_NOT_FOUND,
                  "no route has this path (see docs/api.md)");
    HS_ENSURE_MSG(method_ok, HS_ERR_INPUT_METHOD, "%s allows %s, not %.16s", api_routes[id].pattern,
                  oc->allow, req->method);
    oc->allow[0] = '\0';
    HS_GUARD(api_authenticate(&call, api_routes[id].auth));
    if (strcmp(api_routes[id].method, "POST") == 0) {
        HS_GUARD(api_media_type_check(req));
    }
    return api_routes[id].handler(&call, out);
}

static long long api_elapsed_us(const struct timespec *start)
{
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    return (long long)(end.tv_sec - start->tv_sec) * 1000000LL +
           (end.tv_nsec - start->tv_nsec) / 1000;
}

void api_route(struct api_service *svc, const struct api_request *req, struct api_response *out)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    memset(out, 0, sizeof(*out));
    hs_log_set_req_id(req->req_id);
    hs_error_clear();
    size_t nroutes = 0;
    const char *const *labels = api_route_names(&nroutes);
    struct api_outcome oc = {.route = API_ROUTE_UNKNOWN, .reason = API_POLICY_ALLOWED};
    /* The whole request runs on one state: a reload (SIGHUP) waits for it to finish. */
    api_service_read_lock(svc);
    hs_result r = api_dispatch(svc, req, &oc, out);
    if (hs_failed(r)) {
        /* The policy's reason goes into the answer only when the answer is the denial: a
         * handler may answer a denial as something else (a serial the caller may not see is
         * not found), and then the reason is the log's alone. */
        const char *why =
            oc.reason != API_POLICY_ALLOWED ? api_policy_reason_name(oc.reason) : NULL;
        hs_log(hs_code_class(r.code) >= HS_CLASS_HSM ? HS_LOG_ERROR : HS_LOG_WARN,
               "http.request.failed", HS_LOG_STR("route", labels[oc.route]),
               HS_LOG_STR("principal", oc.principal), HS_LOG_STR("policy", why), HS_LOG_ERR());
        api_response_clear(out);
        bool input = hs_code_class(r.code) == HS_CLASS_INPUT;
        api_response_error_ex(out, r.code, req->req_id,
                              hs_code_class(r.code) == HS_CLASS_POLICY ? why : NULL,
                              input ? hs_error_last()->detail : NULL);
        memcpy(out->allow, oc.allow, sizeof(out->allow));
        if (strncmp(labels[oc.route], "GET /ui", 7) == 0) {
            out->headers = api_console_headers; /* every /ui answer, also a 404 */
        }
    }
    api_service_read_unlock(svc);
    out->head = out->head || strcmp(req->method, "HEAD") == 0;
    long long us = api_elapsed_us(&start);
    api_metrics_count(&svc->metrics, oc.route, out->status, us);
    hs_log(HS_LOG_INFO, "http.request", HS_LOG_STR("method", req->method),
           HS_LOG_STR("route", labels[oc.route]), HS_LOG_INT("status", out->status),
           HS_LOG_STR("principal", oc.principal), HS_LOG_STR("auth", oc.auth),
           HS_LOG_STR(oc.detail_key != NULL ? oc.detail_key : "detail",
                      oc.detail_key != NULL ? oc.detail : NULL),
           HS_LOG_INT("latency_us", us));
    hs_log_set_req_id(NULL);
}
