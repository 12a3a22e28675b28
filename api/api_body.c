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
    static const char *const allowed[] = {"audience", "ttl_seconds", "alg", "profile", NULL};
    HS_ENSURE_REF(out);
    HS_GUARD(api_body_parse(body, body_len, allowed, doc));
    struct svc_token_request r;
    memset(&r, 0, sizeof(r));
    HS_GUARD(hs_json_get_string(*doc, "profile", false, SVC_TOKEN_PROFILE_NAME_MAX, &r.profile));
    /* A profile fixes the audience; without one it is required. */
    HS_GUARD(
        hs_json_get_string(*doc, "audience", r.profile == NULL, SGN_JWT_CLAIM_MAX, &r.audience));
    HS_GUARD(hs_json_get_string(*doc, "alg", false, API_ALG_MAX, &r.alg));
    HS_GUARD(api_body_int(*doc, "ttl_seconds", &r.has_ttl, &r.ttl_s));
    *out = r;
    return HS_OK;
}

/* An array member of strings: at most max_n entries of 1..max_len bytes without NUL bytes
 * (an empty string is kept for the service to refuse with its own message). */
static HS_RESULT api_body_strings(json_object *obj, const char *key, bool required, size_t max_n,
                                  size_t max_len, const char **out, size_t *n, bool *given)
{
    json_object *arr = NULL;
    HS_GUARD(hs_json_get_typed(obj, key, required, json_type_array, &arr));
    *given = arr != NULL;
    *n = 0;
    if (arr == NULL) {
        return HS_OK;
    }
    size_t len = json_object_array_length(arr);
    HS_ENSURE_MSG(len <= max_n, HS_ERR_INPUT_FIELD, "field \"%s\" lists more than %zu entries", key,
                  max_n);
    for (size_t i = 0; i < len; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        HS_ENSURE_MSG(json_object_is_type(v, json_type_string), HS_ERR_INPUT_FIELD,
                      "field \"%s\" must be an array of strings", key);
        const char *str = json_object_get_string(v);
        size_t slen = (size_t)json_object_get_string_len(v);
        HS_ENSURE_MSG(slen <= max_len, HS_ERR_INPUT_TOO_LARGE,
                      "an entry of \"%s\" is longer than %zu bytes", key, max_len);
        HS_ENSURE_MSG(strlen(str) == slen, HS_ERR_INPUT_FIELD,
                      "an entry of \"%s\" holds a NUL byte", key);
        out[i] = str;
    }
    *n = len;
    return HS_OK;
}

/* The members POST /v1/ssh/certificates and POST /v1/ssh/keys share. */
static HS_RESULT api_ssh_fields_decode(json_object *doc, struct svc_ssh_request *r)
{
    const char *type = NULL;
    HS_GUARD(hs_json_get_string(doc, "cert_type", true, 8, &type));
    HS_ENSURE_MSG(strcmp(type, "user") == 0 || strcmp(type, "host") == 0, HS_ERR_INPUT_FIELD,
                  "field \"cert_type\" must be \"user\" or \"host\"");
    r->type = strcmp(type, "host") == 0 ? SGN_SSH_CERT_HOST : SGN_SSH_CERT_USER;
    bool given = false;
    HS_GUARD(api_body_strings(doc, "principals", true, SGN_SSH_PRINCIPALS_MAX,
                              SGN_SSH_PRINCIPAL_MAX, r->principals, &r->nprincipals, &given));
    HS_GUARD(api_body_strings(doc, "extensions", false, SGN_SSH_EXTENSIONS_MAX,
                              SGN_SSH_EXTENSION_NAME_MAX, r->extensions, &r->nextensions,
                              &r->extensions_given));
    HS_GUARD(api_body_int(doc, "ttl_seconds", &r->has_ttl, &r->ttl_s));
    HS_GUARD(hs_json_get_string(doc, "key_id", false, SGN_SSH_KEY_ID_MAX, &r->key_id));
    return svc_ssh_options_decode(doc, r);
}

HS_RESULT api_ssh_request_decode(const unsigned char *body, size_t body_len, json_object **doc,
                                 struct svc_ssh_request *out)
{
    static const char *const allowed[] = {"public_key",  "cert_type", "principals",
                                          "ttl_seconds", "key_id",    "critical_options",
                                          "extensions",  NULL};
    HS_ENSURE_REF(out);
    HS_GUARD(api_body_parse(body, body_len, allowed, doc));
    struct svc_ssh_request r;
    memset(&r, 0, sizeof(r));
    HS_GUARD(hs_json_get_string(*doc, "public_key", true, SGN_SSH_LINE_MAX, &r.public_key));
    r.public_key_len = strlen(r.public_key);
    HS_GUARD(api_ssh_fields_decode(*doc, &r));
    *out = r;
    return HS_OK;
}

HS_RESULT api_sshkey_request_decode(const unsigned char *body, size_t body_len, json_object **doc,
                                    struct api_sshkey_request *out)
{
    static const char *const allowed[] = {"key_type",    "cert_type", "principals",
                                          "ttl_seconds", "key_id",    "critical_options",
                                          "extensions",  "recipient", NULL};
    HS_ENSURE_REF(out);
    HS_GUARD(api_body_parse(body, body_len, allowed, doc));
    struct api_sshkey_request r;
    memset(&r, 0, sizeof(r));
    HS_GUARD(hs_json_get_string(*doc, "key_type", true, API_SSHKEY_TYPE_MAX, &r.key_type));
    HS_GUARD(hs_json_get_string(*doc, "recipient", false, API_SSHKEY_RECIPIENT_MAX, &r.recipient));
    HS_GUARD(api_ssh_fields_decode(*doc, &r.req));
    *out = r;
    return HS_OK;
}
