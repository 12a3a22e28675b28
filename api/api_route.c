#include "api/api_route.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "api/api_auth.h"
#include "api/api_policy.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "common/hs_log.h"
#include "signer/sgn_crl.h"
#include "signer/sgn_csr.h"

#define API_JSON_DEPTH 8
#define API_DETAIL_MAX 64
#define API_CRL_MAX_AGE "public, max-age=60"
#define API_PUBLIC_MAX_AGE "public, max-age=300"

/* What one request did, for its log line, its metrics and its error body. */
struct api_outcome {
    size_t route;
    const char *principal;
    const char *auth;       /* "sigv4", "iam", "mtls" or NULL */
    const char *detail_key; /* "serial" or "kid"; NULL = none */
    char detail[API_DETAIL_MAX];
    enum api_policy_reason reason; /* why a policy denied it */
    struct api_caller caller;
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
    {HS_ERR_INPUT_ALG, 400, "alg names no active signing key (see the OpenID configuration)"},
    {HS_ERR_INPUT_NOT_FOUND, 404, "no such resource"},
    {HS_ERR_INPUT_METHOD, 405, "method not allowed for this resource"},
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
static HS_RESULT api_response_json(struct api_response *out, unsigned int status, json_object *obj)
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
    out->binary = false;
    return HS_OK;
}

/* The error body; reason (policy) and detail (bad input) are added when not NULL. */
static void api_response_error_ex(struct api_response *out, enum hs_code code, const char *req_id,
                                  const char *reason, const char *detail)
{
    const struct api_public_error *e = api_error_lookup(code);
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    out->status = e->status;
    out->content_type = "application/json";
    out->cache_control = "no-store";
    out->binary = false;
    if (obj == NULL) {
        return;
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
    HS_IGNORE(api_response_json(out, e->status, obj));
}

void api_response_error(struct api_response *out, enum hs_code code, const char *req_id)
{
    api_response_error_ex(out, code, req_id, NULL, NULL);
}

/* --- small helpers ------------------------------------------------------------------------- */

static HS_RESULT api_parse_body(const struct api_request *req, json_object **out)
{
    return hs_json_parse_object((const char *)req->body, req->body_len, API_BODY_MAX,
                                API_JSON_DEPTH, out);
}

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
    snprintf(oc->detail, sizeof(oc->detail), "%s", value);
}

static void api_outcome_caller(struct api_outcome *oc)
{
    static const char *const methods[] = {"sigv4", "iam", "mtls"};
    oc->principal = oc->caller.principal;
    oc->auth = methods[oc->caller.method];
}

/* --- certificates -------------------------------------------------------------------------- */

/* The SANs as a JSON array of "DNS:x", "IP:y", "email:z", "URI:u" (OpenSSL's names). */
static HS_RESULT api_sans_json(const GENERAL_NAMES *sans, char *out, size_t out_len)
{
    HS_DEFER(json_object *arr = json_object_new_array(), hs_json_putp);
    HS_ENSURE(arr != NULL, HS_ERR_NOMEM);
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
        HS_DEFER(BIO *bio = BIO_new(BIO_s_mem()), hs_bio_freep);
        HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
        HS_ENSURE(GENERAL_NAME_print(bio, sk_GENERAL_NAME_value(sans, i)) == 1, HS_ERR_CRYPTO);
        char *p = NULL;
        long n = BIO_get_mem_data(bio, &p);
        HS_ENSURE(json_object_array_add(arr, json_object_new_string_len(p, (int)n)) == 0,
                  HS_ERR_NOMEM);
    }
    const char *text = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE);
    HS_ENSURE(text != NULL, HS_ERR_NOMEM);
    HS_ENSURE_MSG(strlen(text) < out_len, HS_ERR_INPUT_TOO_LARGE, "SAN list too long");
    memcpy(out, text, strlen(text) + 1);
    return HS_OK;
}

static HS_RESULT api_cert_record(const struct sgn_leaf *leaf, const struct sgn_csr *csr,
                                 const char *requester, enum api_profile profile,
                                 struct st_cert_record *rec)
{
    memset(rec, 0, sizeof(*rec));
    memcpy(rec->serial_hex, leaf->serial_hex, strlen(leaf->serial_hex) + 1);
    HS_GUARD(
        sgn_name_rfc4514(X509_get_subject_name(leaf->cert), rec->subject, sizeof(rec->subject)));
    HS_GUARD(api_sans_json(sgn_csr_get0_sans(csr), rec->sans, sizeof(rec->sans)));
    rec->not_before = leaf->not_before;
    rec->not_after = leaf->not_after;
    HS_ENSURE(strlen(requester) < sizeof(rec->requester), HS_ERR_BOUNDS);
    memcpy(rec->requester, requester, strlen(requester) + 1);
    snprintf(rec->profile, sizeof(rec->profile), "%s", api_profile_name(profile));
    HS_GUARD(sgn_csr_spki_sha256(csr, rec->spki_sha256));
    unsigned int n = 0;
    HS_GUARD_OSSL(X509_digest(leaf->cert, EVP_sha256(), rec->cert_sha256, &n), HS_ERR_CRYPTO);
    rec->status = ST_CERT_GOOD;
    rec->reason = SGN_CRL_REASON_NONE;
    return HS_OK;
}

static HS_RESULT api_cert_response(struct api_service *svc, const struct sgn_leaf *leaf,
                                   enum api_profile profile, struct api_response *out)
{
    HS_DEFER(struct hs_buf *pem = hs_buf_new(SGN_CERT_PEM_MAX), hs_buf_freep);
    HS_ENSURE(pem != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_cert_to_pem(leaf->cert, pem));
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_json_add(
        obj, "certificate",
        json_object_new_string_len((const char *)hs_buf_data(pem), (int)hs_buf_len(pem))));
    HS_GUARD(
        hs_json_add(obj, "chain", json_object_new_string(sgn_issuer_get0_chain_pem(svc->issuer))));
    HS_GUARD(hs_json_add(obj, "serial", json_object_new_string(leaf->serial_hex)));
    HS_GUARD(hs_json_add(obj, "profile", json_object_new_string(api_profile_name(profile))));
    HS_GUARD(api_json_add_time(obj, "not_before", leaf->not_before));
    HS_GUARD(api_json_add_time(obj, "not_after", leaf->not_after));
    HS_GUARD(api_response_json(out, 200, obj));
    out->cache_control = "no-store";
    return HS_OK;
}

static bool api_has_dns_san(const GENERAL_NAMES *sans)
{
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
        if (sk_GENERAL_NAME_value(sans, i)->type == GEN_DNS) {
            return true;
        }
    }
    return false;
}

static HS_RESULT api_parse_profile(json_object *body, enum api_profile *out)
{
    const char *name = NULL;
    HS_GUARD(hs_json_get_string(body, "profile", false, 16, &name));
    *out = name != NULL ? api_profile_parse(name) : API_PROFILE_CLIENT;
    HS_ENSURE_MSG(*out != 0, HS_ERR_INPUT_FIELD, "profile must be \"client\" or \"server\"");
    return HS_OK;
}

/* Issues, records durably, and only then answers: no 2xx without a committed record. */
static HS_RESULT api_issue_and_record(struct api_service *svc, const struct api_request *req,
                                      struct api_outcome *oc, const struct sgn_csr *csr,
                                      enum api_profile profile, long ttl_s,
                                      struct api_response *out)
{
    unsigned int eku = profile == API_PROFILE_SERVER ? SGN_EKU_SERVER_AUTH : SGN_EKU_CLIENT_AUTH;
    struct sgn_leaf_request lr = {
        csr, ttl_s, eku, req->now, oc->principal, api_profile_name(profile), svc->cfg->crl_url};
    HS_DEFER(struct sgn_leaf leaf = {0}, sgn_leaf_clear);
    HS_GUARD(sgn_cert_issue(svc->issuer, &lr, &leaf));
    api_outcome_detail(oc, "serial", leaf.serial_hex);
    struct st_cert_record rec;
    HS_GUARD(api_cert_record(&leaf, csr, oc->principal, profile, &rec));
    HS_GUARD(svc->inventory->ops->put(svc->inventory, &rec));
    return api_cert_response(svc, &leaf, profile, out);
}

static HS_RESULT api_handle_certificates(struct api_service *svc, const struct api_request *req,
                                         struct api_outcome *oc, struct api_response *out)
{
    static const char *const allowed[] = {"csr", "profile", "ttl_hours", NULL};
    HS_GUARD(api_auth_iam(svc, req, &oc->caller));
    api_outcome_caller(oc);
    HS_DEFER(json_object *body = NULL, hs_json_putp);
    HS_GUARD(api_parse_body(req, &body));
    HS_GUARD(hs_json_check_keys(body, allowed, "request"));
    const char *csr_pem = NULL;
    int64_t ttl_hours = 0;
    enum api_profile profile = API_PROFILE_CLIENT;
    HS_GUARD(hs_json_get_string(body, "csr", true, SGN_CSR_PEM_MAX, &csr_pem));
    HS_GUARD(api_parse_profile(body, &profile));
    HS_GUARD(hs_json_get_int(body, "ttl_hours", false, 1, svc->cfg->max_ttl_hours, 0, &ttl_hours));
    HS_DEFER(struct sgn_csr *csr = NULL, sgn_csr_freep);
    HS_GUARD(sgn_csr_parse(csr_pem, strlen(csr_pem), &csr));
    HS_ENSURE_MSG(profile != API_PROFILE_SERVER || api_has_dns_san(sgn_csr_get0_sans(csr)),
                  HS_ERR_INPUT_CSR, "the server profile needs at least one DNS SAN in the CSR");
    struct api_cert_ask ask = {oc->principal, profile, sgn_csr_get0_cn(csr), sgn_csr_get0_sans(csr),
                               (long)ttl_hours * 3600};
    long ttl_s = 0;
    enum api_policy_reason why =
        api_policy_check_cert(&svc->cfg->policy, &ask, svc->cfg->default_ttl_hours * 3600, &ttl_s);
    if (why != API_POLICY_ALLOWED) {
        return api_deny(oc, why);
    }
    return api_issue_and_record(svc, req, oc, csr, profile, ttl_s, out);
}

/* A serial as the path gives it (hex, any case, maybe with leading zero octets) in the
 * inventory's form: lowercase, no leading zero octets. */
static HS_RESULT api_serial_normalise(const char *s, size_t n, char out[ST_INV_SERIAL_MAX + 1])
{
    HS_ENSURE_MSG(n >= 1 && n <= 2 * ST_INV_SERIAL_MAX, HS_ERR_INPUT_FIELD,
                  "serial must be 1..40 hex digits");
    char tmp[2 * ST_INV_SERIAL_MAX + 2];
    size_t len = 0;
    if (n % 2 == 1) {
        tmp[len++] = '0';
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        HS_ENSURE_MSG((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'),
                      HS_ERR_INPUT_FIELD, "serial must be hex digits");
        tmp[len++] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    size_t start = 0;
    while (len - start > 2 && tmp[start] == '0' && tmp[start + 1] == '0') {
        start += 2;
    }
    HS_ENSURE_MSG(len - start <= ST_INV_SERIAL_MAX, HS_ERR_INPUT_FIELD,
                  "serial must be 1..40 hex digits");
    memcpy(out, tmp + start, len - start);
    out[len - start] = '\0';
    return HS_OK;
}

static const char *api_status_name(const struct st_cert_record *rec, time_t now)
{
    if (rec->status == ST_CERT_REVOKED) {
        return "revoked";
    }
    return now > rec->not_after ? "expired" : "good";
}

static HS_RESULT api_record_response(const struct st_cert_record *rec, time_t now,
                                     struct api_response *out)
{
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_json_add(obj, "serial", json_object_new_string(rec->serial_hex)));
    HS_GUARD(hs_json_add(obj, "status", json_object_new_string(api_status_name(rec, now))));
    HS_GUARD(hs_json_add(obj, "subject", json_object_new_string(rec->subject)));
    HS_GUARD(hs_json_add(obj, "sans", json_tokener_parse(rec->sans)));
    HS_GUARD(hs_json_add(obj, "profile", json_object_new_string(rec->profile)));
    HS_GUARD(api_json_add_time(obj, "not_before", rec->not_before));
    HS_GUARD(api_json_add_time(obj, "not_after", rec->not_after));
    HS_GUARD(hs_json_add(obj, "requested_by", json_object_new_string(rec->requester)));
    if (rec->status == ST_CERT_REVOKED) {
        HS_GUARD(api_json_add_time(obj, "revoked_at", rec->revoked_at));
        HS_GUARD(hs_json_add(obj, "reason",
                             json_object_new_string(rec->reason == SGN_CRL_REASON_NONE
                                                        ? "unspecified"
                                                        : sgn_crl_reason_name(rec->reason))));
    }
    HS_GUARD(api_response_json(out, 200, obj));
    out->cache_control = "no-store";
    return HS_OK;
}

/* The record of the path's serial, if the caller may see it. */
static HS_RESULT api_record_for_caller(struct api_service *svc, const struct api_request *req,
                                       struct api_outcome *oc, const char *serial,
                                       size_t serial_len, struct st_cert_record *rec)
{
    HS_GUARD(api_auth_iam(svc, req, &oc->caller));
    api_outcome_caller(oc);
    char norm[ST_INV_SERIAL_MAX + 1];
    HS_GUARD(api_serial_normalise(serial, serial_len, norm));
    api_outcome_detail(oc, "serial", norm);
    HS_GUARD(svc->inventory->ops->get(svc->inventory, norm, rec));
    if (!api_policy_may_manage(&svc->cfg->policy, oc->principal, rec->requester)) {
        return api_deny(oc, API_POLICY_NOT_OWNER_OR_ADMIN);
    }
    return HS_OK;
}

static HS_RESULT api_handle_certificate_get(struct api_service *svc, const struct api_request *req,
                                            struct api_outcome *oc, const char *serial,
                                            size_t serial_len, struct api_response *out)
{
    struct st_cert_record rec;
    HS_GUARD(api_record_for_caller(svc, req, oc, serial, serial_len, &rec));
    return api_record_response(&rec, req->now, out);
}

/* RFC 5280 §5.3.1 reasons a leaf may be revoked for; certificateHold (which can be undone)
 * and the CA / attribute-authority reasons are not offered. */
static HS_RESULT api_parse_reason(json_object *body, int *out)
{
    static const int allowed[] = {
        CRL_REASON_UNSPECIFIED, CRL_REASON_KEY_COMPROMISE,         CRL_REASON_AFFILIATION_CHANGED,
        CRL_REASON_SUPERSEDED,  CRL_REASON_CESSATION_OF_OPERATION, CRL_REASON_PRIVILEGE_WITHDRAWN};
    const char *name = NULL;
    HS_GUARD(hs_json_get_string(body, "reason", false, 32, &name));
    if (name == NULL) {
        *out = SGN_CRL_REASON_NONE;
        return HS_OK;
    }
    int reason = 0;
    HS_GUARD(sgn_crl_reason_parse(name, &reason));
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        if (allowed[i] == reason) {
            /* "unspecified" is encoded by leaving the reasonCode out (RFC 5280 §5.3.1). */
            *out = reason == CRL_REASON_UNSPECIFIED ? SGN_CRL_REASON_NONE : reason;
            return HS_OK;
        }
    }
    HS_BAIL_MSG(HS_ERR_INPUT_FIELD,
                "reason must be unspecified, keyCompromise, affiliationChanged, superseded, "
                "cessationOfOperation or privilegeWithdrawn");
}

static HS_RESULT api_handle_revoke(struct api_service *svc, const struct api_request *req,
                                   struct api_outcome *oc, const char *serial, size_t serial_len,
                                   struct api_response *out)
{
    static const char *const allowed[] = {"reason", NULL};
    struct st_cert_record rec;
    HS_GUARD(api_record_for_caller(svc, req, oc, serial, serial_len, &rec));
    HS_DEFER(json_object *body = NULL, hs_json_putp);
    int reason = SGN_CRL_REASON_NONE;
    if (req->body_len > 0) {
        HS_GUARD(api_parse_body(req, &body));
        HS_GUARD(hs_json_check_keys(body, allowed, "request"));
        HS_GUARD(api_parse_reason(body, &reason));
    }
    bool changed = false;
    HS_GUARD(
        svc->inventory->ops->revoke(svc->inventory, rec.serial_hex, req->now, reason, &changed));
    hs_log(HS_LOG_INFO, "cert.revoked", HS_LOG_AUDIT, HS_LOG_STR("caller", oc->principal),
           HS_LOG_STR("serial", rec.serial_hex), HS_LOG_STR("requested_by", rec.requester),
           HS_LOG_STR("reason",
                      reason == SGN_CRL_REASON_NONE ? "unspecified" : sgn_crl_reason_name(reason)),
           HS_LOG_BOOL("changed", changed));
    HS_GUARD(svc->inventory->ops->get(svc->inventory, rec.serial_hex, &rec));
    return api_record_response(&rec, req->now, out);
}

static HS_RESULT api_handle_crl(struct api_service *svc, const struct api_request *req,
                                struct api_response *out)
{
    struct hs_buf *der = NULL;
    HS_GUARD(api_crl_get(&svc->crl, svc->inventory, svc->issuer, svc->cfg->crl_validity_s, req->now,
                         &der));
    out->body = der;
    out->status = 200;
    out->content_type = "application/pkix-crl";
    out->cache_control = API_CRL_MAX_AGE;
    out->binary = true;
    return HS_OK;
}

/* --- tokens -------------------------------------------------------------------------------- */

static HS_RESULT api_token_response(const struct sgn_jwt_key *key, const struct hs_buf *token,
                                    long ttl_s, struct api_response *out)
{
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_json_add(
        obj, "token",
        json_object_new_string_len((const char *)hs_buf_data(token), (int)hs_buf_len(token))));
    HS_GUARD(hs_json_add(obj, "token_type", json_object_new_string("Bearer")));
    HS_GUARD(hs_json_add(obj, "expires_in", json_object_new_int64(ttl_s)));
    HS_GUARD(hs_json_add(obj, "kid", json_object_new_string(sgn_jwt_key_kid(key))));
    HS_GUARD(hs_json_add(obj, "alg", json_object_new_string(sgn_jwt_key_alg(key))));
    HS_GUARD(api_response_json(out, 200, obj));
    out->cache_control = "no-store";
    return HS_OK;
}

static HS_RESULT api_handle_tokens(struct api_service *svc, const struct api_request *req,
                                   struct api_outcome *oc, struct api_response *out)
{
    static const char *const allowed[] = {"audience", "ttl_seconds", "alg", NULL};
    HS_GUARD(api_auth_iam_or_cert(svc, req, &oc->caller));
    api_outcome_caller(oc);
    HS_DEFER(json_object *body = NULL, hs_json_putp);
    HS_GUARD(api_parse_body(req, &body));
    HS_GUARD(hs_json_check_keys(body, allowed, "request"));
    const char *aud = NULL;
    const char *alg = NULL;
    int64_t ttl = 0;
    HS_GUARD(hs_json_get_string(body, "audience", true, SGN_JWT_CLAIM_MAX, &aud));
    HS_GUARD(hs_json_get_string(body, "alg", false, 16, &alg));
    HS_GUARD(hs_json_get_int(body, "ttl_seconds", false, 1, svc->cfg->jwt_max_ttl_s, 0, &ttl));
    const struct sgn_jwt_key *key = alg != NULL ? api_service_jwt_key(svc, alg) : svc->jwt_default;
    HS_ENSURE_MSG(key != NULL, HS_ERR_INPUT_ALG, "no active key signs with alg %s", alg);
    long ttl_s = 0;
    enum api_policy_reason why = api_policy_check_token(
        &svc->cfg->policy, oc->principal, aud, (long)ttl, svc->cfg->jwt_default_ttl_s, &ttl_s);
    if (why != API_POLICY_ALLOWED) {
        return api_deny(oc, why);
    }
    bool bound = oc->caller.method == API_AUTH_CLIENT_CERT;
    struct sgn_jwt_claims claims = {svc->cfg->jwt_issuer,
                                    oc->principal,
                                    aud,
                                    req->now,
                                    ttl_s,
                                    oc->principal,
                                    bound ? oc->caller.x5t_s256 : NULL};
    HS_DEFER(struct hs_buf *token = hs_buf_new(SGN_JWT_MAX), hs_buf_freep);
    HS_ENSURE(token != NULL, HS_ERR_NOMEM);
    char jti[SGN_JTI_LEN + 1];
    HS_GUARD(sgn_jwt_sign(key, &claims, token, jti));
    api_outcome_detail(oc, "kid", sgn_jwt_key_kid(key));
    return api_token_response(key, token, ttl_s, out);
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

static HS_RESULT api_handle_healthz(struct api_service *svc, struct api_response *out)
{
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    HS_GUARD(p11_pool_ping(svc->pool));
    HS_GUARD(hs_json_add(obj, "status", json_object_new_string("ok")));
    HS_GUARD(api_response_json(out, 200, obj));
    out->cache_control = "no-store";
    return HS_OK;
}

/* --- dispatch ------------------------------------------------------------------------------ */

enum api_route_id {
    API_ROUTE_CERTIFICATES,
    API_ROUTE_CERTIFICATE,
    API_ROUTE_REVOKE,
    API_ROUTE_CRL,
    API_ROUTE_TOKENS,
    API_ROUTE_JWKS,
    API_ROUTE_OPENID,
    API_ROUTE_HEALTHZ,
    API_ROUTE_METRICS,
    API_ROUTE_UNKNOWN,
    API_ROUTE_COUNT,
};

static const char *const api_route_labels[API_ROUTE_COUNT] = {
    "POST /v1/certificates",
    "GET /v1/certificates/{serial}",
    "POST /v1/certificates/{serial}/revoke",
    "GET /v1/crl",
    "POST /v1/tokens",
    "GET /.well-known/jwks.json",
    "GET /.well-known/openid-configuration",
    "GET /healthz",
    "GET /metrics",
    "unknown",
};

const char *const *api_route_names(size_t *n)
{
    *n = API_ROUTE_COUNT;
    return api_route_labels;
}

/* Routes without a path parameter. */
static const struct {
    const char *path;
    const char *method;
    enum api_route_id id;
} api_routes[] = {
    {"/v1/certificates", "POST", API_ROUTE_CERTIFICATES},
    {"/v1/crl", "GET", API_ROUTE_CRL},
    {"/v1/tokens", "POST", API_ROUTE_TOKENS},
    {"/.well-known/jwks.json", "GET", API_ROUTE_JWKS},
    {"/.well-known/openid-configuration", "GET", API_ROUTE_OPENID},
    {"/healthz", "GET", API_ROUTE_HEALTHZ},
    {"/metrics", "GET", API_ROUTE_METRICS},
};

#define API_CERT_PREFIX "/v1/certificates/"
#define API_REVOKE_SUFFIX "/revoke"

/* The route of a path; *param / *param_len get a {serial} segment. The raw path must match
 * exactly: no dot segments, escapes or doubled slashes reach a handler. */
static enum api_route_id api_route_find(const char *path, size_t len, const char *method,
                                        const char **param, size_t *param_len, bool *method_ok)
{
    for (size_t i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++) {
        if (strlen(api_routes[i].path) == len && strncmp(path, api_routes[i].path, len) == 0) {
            *method_ok = strcmp(method, api_routes[i].method) == 0;
            return api_routes[i].id;
        }
    }
    size_t plen = strlen(API_CERT_PREFIX);
    if (len <= plen || strncmp(path, API_CERT_PREFIX, plen) != 0) {
        return API_ROUTE_UNKNOWN;
    }
    *param = path + plen;
    *param_len = strcspn(*param, "/");
    const char *rest = *param + *param_len;
    size_t rest_len = len - plen - *param_len;
    if (rest_len == 0) {
        *method_ok = strcmp(method, "GET") == 0;
        return API_ROUTE_CERTIFICATE;
    }
    if (rest_len == strlen(API_REVOKE_SUFFIX) && strncmp(rest, API_REVOKE_SUFFIX, rest_len) == 0) {
        *method_ok = strcmp(method, "POST") == 0;
        return API_ROUTE_REVOKE;
    }
    return API_ROUTE_UNKNOWN;
}

static HS_RESULT api_handle_metrics(struct api_service *svc, struct api_response *out)
{
    HS_DEFER(struct hs_buf *body = hs_buf_new(API_METRICS_TEXT_MAX), hs_buf_freep);
    HS_ENSURE(body != NULL, HS_ERR_NOMEM);
    HS_GUARD(api_metrics_render(&svc->metrics, api_route_labels, API_ROUTE_COUNT, svc->pool, body));
    out->body = body;
    body = NULL;
    out->status = 200;
    out->content_type = "text/plain; version=0.0.4";
    out->cache_control = "no-store";
    return HS_OK;
}

static HS_RESULT api_dispatch(struct api_service *svc, const struct api_request *req,
                              struct api_outcome *oc, struct api_response *out)
{
    HS_ENSURE(req->method != NULL && req->target != NULL, HS_ERR_INPUT);
    HS_ENSURE(req->body_len <= API_BODY_MAX, HS_ERR_INPUT_TOO_LARGE);
    const char *param = NULL;
    size_t param_len = 0;
    bool method_ok = false;
    enum api_route_id id = api_route_find(req->target, strcspn(req->target, "?"), req->method,
                                          &param, &param_len, &method_ok);
    oc->route = id;
    HS_ENSURE(id != API_ROUTE_UNKNOWN, HS_ERR_INPUT_NOT_FOUND);
    HS_ENSURE(method_ok, HS_ERR_INPUT_METHOD);
    switch (id) {
    case API_ROUTE_CERTIFICATES:
        return api_handle_certificates(svc, req, oc, out);
    case API_ROUTE_CERTIFICATE:
        return api_handle_certificate_get(svc, req, oc, param, param_len, out);
    case API_ROUTE_REVOKE:
        return api_handle_revoke(svc, req, oc, param, param_len, out);
    case API_ROUTE_CRL:
        return api_handle_crl(svc, req, out);
    case API_ROUTE_TOKENS:
        return api_handle_tokens(svc, req, oc, out);
    case API_ROUTE_JWKS:
        return api_static_json(svc->jwks_json, out);
    case API_ROUTE_OPENID:
        return api_static_json(svc->openid_config_json, out);
    case API_ROUTE_HEALTHZ:
        return api_handle_healthz(svc, out);
    case API_ROUTE_METRICS:
        return api_handle_metrics(svc, out);
    case API_ROUTE_UNKNOWN:
    case API_ROUTE_COUNT:
    default:
        HS_BAIL(HS_ERR_INTERNAL);
    }
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
    struct api_outcome oc = {.route = API_ROUTE_UNKNOWN, .reason = API_POLICY_ALLOWED};
    hs_result r = api_dispatch(svc, req, &oc, out);
    if (hs_failed(r)) {
        hs_log(hs_code_class(r.code) >= HS_CLASS_HSM ? HS_LOG_ERROR : HS_LOG_WARN,
               "http.request.failed", HS_LOG_STR("route", api_route_labels[oc.route]),
               HS_LOG_STR("principal", oc.principal), HS_LOG_ERR());
        api_response_clear(out);
        bool input = hs_code_class(r.code) == HS_CLASS_INPUT;
        api_response_error_ex(out, r.code, req->req_id,
                              oc.reason != API_POLICY_ALLOWED ? api_policy_reason_name(oc.reason)
                                                              : NULL,
                              input ? hs_error_last()->detail : NULL);
    }
    long long us = api_elapsed_us(&start);
    api_metrics_count(&svc->metrics, oc.route, out->status, us);
    hs_log(HS_LOG_INFO, "http.request", HS_LOG_STR("method", req->method),
           HS_LOG_STR("route", api_route_labels[oc.route]), HS_LOG_INT("status", out->status),
           HS_LOG_STR("principal", oc.principal), HS_LOG_STR("auth", oc.auth),
           HS_LOG_STR(oc.detail_key != NULL ? oc.detail_key : "detail",
                      oc.detail_key != NULL ? oc.detail : NULL),
           HS_LOG_INT("latency_us", us));
    hs_log_set_req_id(NULL);
}
