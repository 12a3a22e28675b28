#include "api/api_body.h"

#include <string.h>

#include "common/hs_json.h"
#include "signer/sgn_csr.h"
#include "signer/sgn_jwt.h"

#define API_REASON_MAX 32 /* bytes of a revocation reason name */
#define API_ALG_MAX 16    /* bytes of a JWS alg name */

static HS_RESULT api_body_parse(const unsigned char *body, size_t body_len,
                                const char *const *allowed, json_object **doc)
{
    HS_ENSURE_REF(doc);
    *doc = NULL;
    HS_ENSURE(body != NULL || body_len == 0, HS_ERR_INTERNAL);
    HS_GUARD(hs_json_parse_object((const char *)body, body_len, API_BODY_MAX, API_BODY_DEPTH, doc));
    return hs_json_check_keys(*doc, allowed, "request");
}

/* An optional integer field: present (any int64 value; the service checks the range) or not. */
static HS_RESULT api_body_int(json_object *obj, const char *key, bool *has, int64_t *out)
{
    json_object *v = NULL;
    HS_GUARD(hs_json_get_typed(obj, key, false, json_type_int, &v));
    *has = v != NULL;
    *out = v != NULL ? json_object_get_int64(v) : 0;
    return HS_OK;
}

HS_RESULT api_cert_request_decode(const unsigned char *body, size_t body_len, json_object **doc,
                                  struct svc_cert_request *out)
{
    static const char *const allowed[] = {"csr", "profile", "ttl_hours", NULL};
    HS_ENSURE_REF(out);
    HS_GUARD(api_body_parse(body, body_len, allowed, doc));
    struct svc_cert_request r;
    memset(&r, 0, sizeof(r));
    HS_GUARD(hs_json_get_string(*doc, "csr", true, SGN_CSR_PEM_MAX, &r.csr_pem));
    r.csr_len = strlen(r.csr_pem);
    HS_GUARD(hs_json_get_string(*doc, "profile", false, SVC_PROFILE_NAME_MAX, &r.profile));
    HS_GUARD(api_body_int(*doc, "ttl_hours", &r.has_ttl, &r.ttl_hours));
    *out = r;
    return HS_OK;
}

HS_RESULT api_revoke_request_decode(const unsigned char *body, size_t body_len, json_object **doc,
                                    struct svc_revoke_request *out)
{
    static const char *const allowed[] = {"reason", NULL};
    HS_ENSURE_REF(doc);
    HS_ENSURE_REF(out);
    *doc = NULL;
    struct svc_revoke_request r;
    memset(&r, 0, sizeof(r));
    if (body_len > 0) {
        HS_GUARD(api_body_parse(body, body_len, allowed, doc));
        HS_GUARD(hs_json_get_string(*doc, "reason", false, API_REASON_MAX, &r.reason));
    }
    *out = r;
    return HS_OK;
}

HS_RESULT api_token_request_decode(const unsigned char *body, size_t body_len, json_object **doc,
                                   struct svc_token_request *out)
{
    static const char *const allowed[] = {"audience", "ttl_seconds", "alg", NULL};
    HS_ENSURE_REF(out);
    HS_GUARD(api_body_parse(body, body_len, allowed, doc));
    struct svc_token_request r;
    memset(&r, 0, sizeof(r));
    HS_GUARD(hs_json_get_string(*doc, "audience", true, SGN_JWT_CLAIM_MAX, &r.audience));
    HS_GUARD(hs_json_get_string(*doc, "alg", false, API_ALG_MAX, &r.alg));
    HS_GUARD(api_body_int(*doc, "ttl_seconds", &r.has_ttl, &r.ttl_s));
    *out = r;
    return HS_OK;
}
