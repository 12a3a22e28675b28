#include "api_route.h"

#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "hs_defer.h"
#include "hs_json.h"
#include "hs_log.h"
#include "sgn_csr.h"

#define API_JSON_DEPTH 8
#define API_DETAIL_MAX 64

/* What one request did, for its log line. */
struct api_outcome {
    const char *route;
    const char *principal;
    const char *detail_key; /* "serial" or "kid"; NULL = none */
    char detail[API_DETAIL_MAX];
};

struct api_public_error {
    enum hs_code code;
    unsigned int status;
    const char *message;
};

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
    {HS_ERR_INPUT_NOT_FOUND, 404, "no such resource"},
    {HS_ERR_INPUT_METHOD, 405, "method not allowed for this resource"},
    {HS_ERR_AUTH_MISSING, 401, "the request must be signed with AWS Signature Version 4"},
    {HS_ERR_AUTH_MALFORMED, 401, "the Authorization header is malformed"},
    {HS_ERR_AUTH_UNKNOWN_KEY, 401, "the access key is not known"},
    {HS_ERR_AUTH_SIGNATURE, 401, "the request signature does not match"},
    {HS_ERR_AUTH_EXPIRED, 401, "the request date is outside the allowed clock skew"},
    {HS_ERR_AUTH_SCOPE, 401, "the credential scope does not match this service"},
    {HS_ERR_AUTH_UNSUPPORTED, 401,
     "only an AWS4-HMAC-SHA256 Authorization header with a signed payload is accepted"},
    {HS_ERR_POLICY_DENIED, 403, "the caller is not allowed to do this"},
    {HS_ERR_HSM_BUSY, 503, "the signing token is busy; retry later"},
};

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

void api_request_id_new(struct api_request *req)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char raw[API_REQ_ID_LEN / 2];
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        memset(raw, 0, sizeof(raw));
    }
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

/* Serialises obj as the response body. */
static hs_result api_response_json(struct api_response *out, unsigned int status, json_object *obj)
{
    const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE);
    HS_ENSURE(text != NULL, HS_ERR_NOMEM);
    HS_DEFER(struct hs_buf *body = hs_buf_new(API_RESPONSE_MAX), hs_buf_freep);
    HS_ENSURE(body != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put_str(body, text));
    hs_buf_free(out->body);
    out->body = body;
    body = NULL;
    out->status = status;
    out->content_type = "application/json";
    return HS_OK;
}

void api_response_error(struct api_response *out, enum hs_code code, const char *req_id)
{
    const struct api_public_error *e = api_error_lookup(code);
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    out->status = e->status;
    out->content_type = "application/json";
    out->cache_control = "no-store";
    if (obj == NULL) {
        return;
    }
    json_object_object_add(obj, "error", json_object_new_string(hs_code_name(code)));
    json_object_object_add(obj, "message", json_object_new_string(e->message));
    json_object_object_add(obj, "request_id", json_object_new_string(req_id));
    HS_IGNORE(api_response_json(out, e->status, obj));
}

/* --- authentication ------------------------------------------------------------------------ */

static hs_result api_authenticate(struct api_service *svc, const struct api_request *req,
                                  const char **principal)
{
    if (req->transport == API_TRANSPORT_GATEWAY) {
        /* API Gateway authenticated the call, or the route has no IAM authorization. */
        HS_ENSURE_MSG(req->principal != NULL, HS_ERR_AUTH_MISSING,
                      "no IAM principal in the event's requestContext");
        *principal = req->principal;
        return HS_OK;
    }
    struct api_sigv4_request sr = {req->method, req->target,   req->headers, req->nheaders,
                                   req->body,   req->body_len, req->now};
    const struct api_sigv4_key *key = NULL;
    HS_GUARD(api_sigv4_verify(&svc->sigv4, &sr, &key));
    *principal = key->principal_arn;
    return HS_OK;
}

/* --- handlers ------------------------------------------------------------------------------ */

static hs_result api_parse_body(const struct api_request *req, json_object **out)
{
    return hs_json_parse_object((const char *)req->body, req->body_len, API_BODY_MAX,
                                API_JSON_DEPTH, out);
}

static hs_result api_json_add(json_object *obj, const char *key, json_object *v)
{
    HS_ENSURE(v != NULL, HS_ERR_NOMEM);
    if (json_object_object_add(obj, key, v) != 0) {
        json_object_put(v);
        HS_BAIL(HS_ERR_NOMEM);
    }
    return HS_OK;
}

static hs_result api_cert_response(struct api_service *svc, const struct sgn_leaf *leaf,
                                   struct api_response *out)
{
    HS_DEFER(struct hs_buf *pem = hs_buf_new(SGN_CERT_PEM_MAX), hs_buf_freep);
    HS_ENSURE(pem != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_cert_to_pem(leaf->cert, pem));
    char not_after[32];
    sgn_time_rfc3339(leaf->not_after, not_after);
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    HS_GUARD(api_json_add(
        obj, "certificate",
        json_object_new_string_len((const char *)hs_buf_data(pem), (int)hs_buf_len(pem))));
    HS_GUARD(
        api_json_add(obj, "chain", json_object_new_string(sgn_issuer_get0_chain_pem(svc->issuer))));
    HS_GUARD(api_json_add(obj, "serial", json_object_new_string(leaf->serial_hex)));
    HS_GUARD(api_json_add(obj, "not_after", json_object_new_string(not_after)));
    return api_response_json(out, 200, obj);
}

static hs_result api_handle_certificates(struct api_service *svc, const struct api_request *req,
                                         struct api_outcome *oc, struct api_response *out)
{
    static const char *const allowed[] = {"csr", "ttl_hours", NULL};
    HS_GUARD(api_authenticate(svc, req, &oc->principal));
    HS_DEFER(json_object *body = NULL, hs_json_putp);
    HS_GUARD(api_parse_body(req, &body));
    HS_GUARD(hs_json_check_keys(body, allowed, "request"));
    const char *csr_pem = NULL;
    int64_t ttl_hours = 0;
    HS_GUARD(hs_json_get_string(body, "csr", true, SGN_CSR_PEM_MAX, &csr_pem));
    HS_GUARD(hs_json_get_int(body, "ttl_hours", false, 1, svc->cfg->max_ttl_hours,
                             svc->cfg->default_ttl_hours, &ttl_hours));
    HS_DEFER(struct sgn_csr *csr = NULL, sgn_csr_freep);
    HS_GUARD(sgn_csr_parse(csr_pem, strlen(csr_pem), &csr));
    struct sgn_leaf_request lr = {csr,      (long)ttl_hours * 3600, SGN_EKU_CLIENT_AUTH,
                                  req->now, oc->principal,          "client"};
    HS_DEFER(struct sgn_leaf leaf = {0}, sgn_leaf_clear);
    HS_GUARD(sgn_cert_issue(svc->issuer, &lr, &leaf));
    oc->detail_key = "serial";
    memcpy(oc->detail, leaf.serial_hex, strlen(leaf.serial_hex) + 1);
    return api_cert_response(svc, &leaf, out);
}

static hs_result api_token_response(const struct sgn_jwt_key *key, const struct hs_buf *token,
                                    long ttl_s, struct api_response *out)
{
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    HS_GUARD(api_json_add(
        obj, "token",
        json_object_new_string_len((const char *)hs_buf_data(token), (int)hs_buf_len(token))));
    HS_GUARD(api_json_add(obj, "token_type", json_object_new_string("Bearer")));
    HS_GUARD(api_json_add(obj, "expires_in", json_object_new_int64(ttl_s)));
    HS_GUARD(api_json_add(obj, "kid", json_object_new_string(sgn_jwt_key_kid(key))));
    HS_GUARD(api_response_json(out, 200, obj));
    out->cache_control = "no-store";
    return HS_OK;
}

static hs_result api_handle_tokens(struct api_service *svc, const struct api_request *req,
                                   struct api_outcome *oc, struct api_response *out)
{
    static const char *const allowed[] = {"audience", "ttl_seconds", NULL};
    HS_GUARD(api_authenticate(svc, req, &oc->principal));
    HS_DEFER(json_object *body = NULL, hs_json_putp);
    HS_GUARD(api_parse_body(req, &body));
    HS_GUARD(hs_json_check_keys(body, allowed, "request"));
    const char *aud = NULL;
    int64_t ttl = 0;
    HS_GUARD(hs_json_get_string(body, "audience", true, SGN_JWT_CLAIM_MAX, &aud));
    HS_GUARD(hs_json_get_int(body, "ttl_seconds", false, 1, svc->cfg->jwt_max_ttl_s,
                             svc->cfg->jwt_default_ttl_s, &ttl));
    const struct sgn_jwt_key *key = svc->jwt_keys[0];
    struct sgn_jwt_claims claims = {svc->cfg->jwt_issuer, oc->principal, aud, req->now, (long)ttl,
                                    oc->principal};
    HS_DEFER(struct hs_buf *token = hs_buf_new(SGN_JWT_MAX), hs_buf_freep);
    HS_ENSURE(token != NULL, HS_ERR_NOMEM);
    char jti[SGN_JTI_LEN + 1];
    HS_GUARD(sgn_jwt_sign(key, &claims, token, jti));
    oc->detail_key = "kid";
    memcpy(oc->detail, sgn_jwt_key_kid(key), SGN_KID_LEN + 1);
    return api_token_response(key, token, (long)ttl, out);
}

static hs_result api_handle_jwks(struct api_service *svc, struct api_response *out)
{
    HS_DEFER(struct hs_buf *body = hs_buf_new(SGN_JWKS_MAX + 1), hs_buf_freep);
    HS_ENSURE(body != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put_str(body, svc->jwks_json));
    out->body = body;
    body = NULL;
    out->status = 200;
    out->content_type = "application/json";
    /* Verifiers may cache the key set briefly; rotation keeps old keys published longer. */
    out->cache_control = "public, max-age=300";
    return HS_OK;
}

static hs_result api_handle_healthz(struct api_service *svc, struct api_response *out)
{
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    HS_GUARD(p11_pool_ping(svc->pool));
    HS_GUARD(api_json_add(obj, "status", json_object_new_string("ok")));
    HS_GUARD(api_response_json(out, 200, obj));
    out->cache_control = "no-store";
    return HS_OK;
}

/* --- dispatch ------------------------------------------------------------------------------ */

enum api_route_id {
    API_ROUTE_CERTIFICATES,
    API_ROUTE_TOKENS,
    API_ROUTE_JWKS,
    API_ROUTE_HEALTHZ,
};

static const struct {
    const char *path;
    const char *method;
    enum api_route_id id;
} api_routes[] = {
    {"/v1/certificates", "POST", API_ROUTE_CERTIFICATES},
    {"/v1/tokens", "POST", API_ROUTE_TOKENS},
    {"/.well-known/jwks.json", "GET", API_ROUTE_JWKS},
    {"/healthz", "GET", API_ROUTE_HEALTHZ},
};

static hs_result api_dispatch(struct api_service *svc, const struct api_request *req,
                              struct api_outcome *oc, struct api_response *out)
{
    HS_ENSURE(req->method != NULL && req->target != NULL, HS_ERR_INPUT);
    HS_ENSURE(req->body_len <= API_BODY_MAX, HS_ERR_INPUT_TOO_LARGE);
    size_t path_len = strcspn(req->target, "?");
    for (size_t i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++) {
        if (strlen(api_routes[i].path) != path_len ||
            strncmp(req->target, api_routes[i].path, path_len) != 0) {
            continue;
        }
        oc->route = api_routes[i].path;
        HS_ENSURE(strcmp(req->method, api_routes[i].method) == 0, HS_ERR_INPUT_METHOD);
        switch (api_routes[i].id) {
        case API_ROUTE_CERTIFICATES:
            return api_handle_certificates(svc, req, oc, out);
        case API_ROUTE_TOKENS:
            return api_handle_tokens(svc, req, oc, out);
        case API_ROUTE_JWKS:
            return api_handle_jwks(svc, out);
        case API_ROUTE_HEALTHZ:
            return api_handle_healthz(svc, out);
        default:
            HS_BAIL(HS_ERR_INTERNAL);
        }
    }
    HS_BAIL(HS_ERR_INPUT_NOT_FOUND);
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
    struct api_outcome oc = {.route = "unknown"};
    hs_result r = api_dispatch(svc, req, &oc, out);
    if (hs_failed(r)) {
        hs_log(hs_code_class(r.code) >= HS_CLASS_HSM ? HS_LOG_ERROR : HS_LOG_WARN,
               "http.request.failed", HS_LOG_STR("route", oc.route), HS_LOG_ERR());
        api_response_error(out, r.code, req->req_id);
    }
    hs_log(HS_LOG_INFO, "http.request", HS_LOG_STR("method", req->method),
           HS_LOG_STR("route", oc.route), HS_LOG_INT("status", out->status),
           HS_LOG_STR("principal", oc.principal),
           HS_LOG_STR(oc.detail_key != NULL ? oc.detail_key : "detail",
                      oc.detail_key != NULL ? oc.detail : NULL),
           HS_LOG_INT("latency_us", api_elapsed_us(&start)));
    hs_log_set_req_id(NULL);
}
