#include "service/svc_token_profile.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "common/hs_json.h"
#include "pkcs11/p11_key.h"

static bool svc_tp_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SVC_TOKEN_PROFILE_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
            return false;
        }
    }
    return true;
}

/* 1..max printable ASCII bytes (a claim value, a lookup entry). */
static bool svc_tp_text_valid(const char *s, size_t len, size_t max)
{
    if (len == 0 || len > max || strlen(s) != len) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f) {
            return false;
        }
    }
    return true;
}

static bool svc_tp_string_valid(json_object *v)
{
    return json_object_is_type(v, json_type_string) &&
           svc_tp_text_valid(json_object_get_string(v), (size_t)json_object_get_string_len(v),
                             SGN_JWT_CLAIM_MAX);
}

static bool svc_tp_claim_value_valid(json_object *v)
{
    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_boolean)) {
        return true;
    }
    if (!json_object_is_type(v, json_type_array)) {
        return svc_tp_string_valid(v);
    }
    size_t n = json_object_array_length(v);
    if (n > SVC_TOKEN_CLAIM_ITEMS_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!svc_tp_string_valid(json_object_array_get_idx(v, i))) {
            return false;
        }
    }
    return true;
}

HS_RESULT svc_token_claims_check(json_object *claims, const char *what)
{
    HS_ENSURE_REF(what);
    HS_ENSURE_MSG(json_object_is_type(claims, json_type_object), HS_ERR_INPUT_FIELD,
                  "%s must be an object of claims", what);
    HS_ENSURE_MSG(json_object_object_length(claims) <= SVC_TOKEN_CLAIMS_MAX, HS_ERR_INPUT_RANGE,
                  "%s has more than %d claims", what, SVC_TOKEN_CLAIMS_MAX);
    json_object_object_foreach(claims, name, v)
    {
        HS_ENSURE_MSG(svc_tp_text_valid(name, strlen(name), SVC_TOKEN_CLAIM_NAME_MAX),
                      HS_ERR_INPUT_FIELD, "%s: a claim name is not 1..%d printable bytes", what,
                      SVC_TOKEN_CLAIM_NAME_MAX);
        HS_ENSURE_MSG(!sgn_jwt_claim_reserved(name), HS_ERR_INPUT_FIELD,
                      "%s: \"%s\" is a registered claim the signer sets", what, name);
        HS_ENSURE_MSG(svc_tp_claim_value_valid(v), HS_ERR_INPUT_FIELD,
                      "%s: \"%s\" must be a string (1..%d printable bytes), an integer, a "
                      "boolean or an array of at most %d such strings",
                      what, name, SGN_JWT_CLAIM_MAX, SVC_TOKEN_CLAIM_ITEMS_MAX);
    }
    return HS_OK;
}

static HS_RESULT svc_tp_lookup(json_object *lookup)
{
    HS_ENSURE_MSG(json_object_object_length(lookup) <= SVC_TOKEN_LOOKUP_MAX, HS_ERR_INPUT_RANGE,
                  "subject.lookup has more than %d entries", SVC_TOKEN_LOOKUP_MAX);
    json_object_object_foreach(lookup, name, v)
    {
        HS_ENSURE_MSG(svc_tp_text_valid(name, strlen(name), SVC_TOKEN_SUBJECT_MAX),
                      HS_ERR_INPUT_FIELD, "subject.lookup: a name is not 1..%d printable bytes",
                      SVC_TOKEN_SUBJECT_MAX);
        HS_ENSURE_MSG(svc_tp_string_valid(v), HS_ERR_INPUT_FIELD,
                      "subject.lookup: the subject of \"%.64s\" must be a string of 1..%d "
                      "printable bytes",
                      name, SVC_TOKEN_SUBJECT_MAX);
    }
    return HS_OK;
}

static HS_RESULT svc_tp_subject_parse(json_object *obj, struct svc_token_profile *p)
{
    static const char *const allowed[] = {"from", "strip_domain", "lookup", NULL};
    json_object *s = NULL;
    HS_GUARD(hs_json_get_typed(obj, "subject", true, json_type_object, &s));
    HS_GUARD(hs_json_check_keys(s, allowed, "subject"));
    const char *from = NULL;
    HS_GUARD(hs_json_get_string(s, "from", true, 32, &from));
    p->subject_from = strcmp(from, "user_name") == 0           ? SVC_SUBJECT_USER_NAME
                      : strcmp(from, "role_session_name") == 0 ? SVC_SUBJECT_ROLE_SESSION_NAME
                      : strcmp(from, "principal_arn") == 0     ? SVC_SUBJECT_PRINCIPAL_ARN
                                                               : 0;
    HS_ENSURE_MSG(p->subject_from != 0, HS_ERR_INPUT_FIELD,
                  "subject.from must be \"user_name\", \"role_session_name\" or "
                  "\"principal_arn\"");
    HS_GUARD(hs_json_get_string(s, "strip_domain", false, SVC_TOKEN_DOMAIN_MAX, &p->strip_domain));
    HS_ENSURE_MSG(p->strip_domain == NULL ||
                      (p->strip_domain[0] == '@' && p->strip_domain[1] != '\0' &&
                       strchr(p->strip_domain + 1, '@') == NULL),
                  HS_ERR_INPUT_FIELD, "subject.strip_domain must be \"@\" and a domain");
    HS_GUARD(hs_json_get_typed(s, "lookup", false, json_type_object, &p->lookup));
    if (p->lookup != NULL) {
        HS_GUARD(svc_tp_lookup(p->lookup));
    }
    return HS_OK;
}

static HS_RESULT svc_tp_alg_check(const char *alg)
{
    static const char *const algs[] = {"ES256", "ES384", "RS256", "PS256", "EdDSA"};
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strcmp(alg, algs[i]) == 0) {
            return HS_OK;
        }
    }
    HS_BAIL_MSG(HS_ERR_INPUT_FIELD, "alg must be ES256, ES384, RS256, PS256 or EdDSA");
}

static HS_RESULT svc_tp_parse(json_object *obj, long max_ttl_s, struct svc_token_profile *p)
{
    static const char *const allowed[] = {"audience", "ttl_seconds",        "alg", "key", "subject",
                                          "claims",   "claims_from_policy", NULL};
    HS_ENSURE_MSG(json_object_is_type(obj, json_type_object), HS_ERR_INPUT_FIELD,
                  "a token profile must be an object");
    HS_GUARD(hs_json_check_keys(obj, allowed, "token profile"));
    HS_GUARD(hs_json_get_string(obj, "audience", true, SGN_JWT_CLAIM_MAX, &p->audience));
    HS_ENSURE_MSG(svc_tp_text_valid(p->audience, strlen(p->audience), SGN_JWT_CLAIM_MAX),
                  HS_ERR_INPUT_FIELD, "audience holds a control character");
    int64_t ttl = 0;
    HS_GUARD(hs_json_get_int(obj, "ttl_seconds", true, 1, max_ttl_s, 0, &ttl));
    p->ttl_s = (long)ttl;
    HS_GUARD(hs_json_get_string(obj, "alg", true, 8, &p->alg));
    HS_GUARD(svc_tp_alg_check(p->alg));
    HS_GUARD(hs_json_get_string(obj, "key", true, P11_KEY_REF_MAX, &p->key));
    HS_GUARD(svc_tp_subject_parse(obj, p));
    HS_GUARD(hs_json_get_typed(obj, "claims", false, json_type_object, &p->claims));
    if (p->claims != NULL) {
        HS_GUARD(svc_token_claims_check(p->claims, "claims"));
    }
    HS_GUARD(hs_json_get_bool(obj, "claims_from_policy", false, false, &p->claims_from_policy));
    return HS_OK;
}

HS_RESULT svc_token_profiles_parse(json_object *doc, long max_ttl_s, struct svc_token_profiles *out)
{
    HS_ENSURE_REF(doc);
    HS_ENSURE_REF(out);
    memset(out, 0, sizeof(*out));
    json_object *tps = NULL;
    HS_GUARD(hs_json_get_typed(doc, "token_profiles", false, json_type_object, &tps));
    if (tps == NULL) {
        return HS_OK;
    }
    HS_ENSURE_MSG(json_object_object_length(tps) <= SVC_TOKEN_PROFILES_MAX, HS_ERR_INPUT_RANGE,
                  "field \"token_profiles\" names more than %d profiles", SVC_TOKEN_PROFILES_MAX);
    json_object_object_foreach(tps, name, obj)
    {
        HS_ENSURE_MSG(svc_tp_name_valid(name), HS_ERR_INPUT_FIELD,
                      "token_profiles: \"%.64s\" is not a profile name (1..%d of a-z 0-9 - _)",
                      name, SVC_TOKEN_PROFILE_NAME_MAX);
        struct svc_token_profile *p = &out->items[out->n];
        p->name = name;
        hs_result r = svc_tp_parse(obj, max_ttl_s, p);
        if (hs_failed(r)) {
            hs_error_add_detail("in \"token_profiles.%s\"", name);
            return r;
        }
        out->n++;
    }
    return HS_OK;
}

const struct svc_token_profile *svc_token_profiles_find(const struct svc_token_profiles *ps,
                                                        const char *name)
{
    for (size_t i = 0; ps != NULL && name != NULL && i < ps->n; i++) {
        if (strcmp(ps->items[i].name, name) == 0) {
            return &ps->items[i];
        }
    }
    return NULL;
}

/* --- subjects ------------------------------------------------------------------------------ */

/* An IAM name (IAM quotas: user names 1..64, role session names 2..64, of A-Z a-z 0-9 +=,.@_-). */
static bool svc_tp_iam_name(const char *s, size_t n, size_t min)
{
    if (n < min || n > 64) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  strchr("+=,.@_-", c) != NULL;
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* The resource part of an ARN arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE when its service is
 * service, else NULL. */
static const char *svc_tp_arn_resource(const char *arn, const char *service)
{
    if (strncmp(arn, "arn:", 4) != 0) {
        return NULL;
    }
    const char *p = arn + 4;
    const char *fields[4] = {NULL};
    for (size_t i = 0; i < 4; i++) {
        const char *colon = strchr(p, ':');
        if (colon == NULL) {
            return NULL;
        }
        fields[i] = p;
        p = colon + 1;
    }
    size_t slen = strlen(service);
    if (strncmp(fields[1], service, slen) != 0 || fields[1][slen] != ':') {
        return NULL;
    }
    return p;
}

/* The name the profile's "from" takes from principal: *name and *len, or false. */
static bool svc_tp_derive(enum svc_subject_from from, const char *principal, const char **name,
                          size_t *len)
{
    const char *res = NULL;
    const char *last = NULL;
    switch (from) {
    case SVC_SUBJECT_USER_NAME:
        res = svc_tp_arn_resource(principal, "iam");
        if (res == NULL || strncmp(res, "user/", 5) != 0) {
            return false;
        }
        last = strrchr(res, '/') + 1;
        *name = last;
        *len = strlen(last);
        return svc_tp_iam_name(last, *len, 1);
    case SVC_SUBJECT_ROLE_SESSION_NAME: {
        res = svc_tp_arn_resource(principal, "sts");
        if (res == NULL || strncmp(res, "assumed-role/", 13) != 0) {
            return false;
        }
        const char *role = res + 13;
        const char *slash = strchr(role, '/');
        if (slash == NULL || slash == role || strchr(slash + 1, '/') != NULL) {
            return false;
        }
        *name = slash + 1;
        *len = strlen(*name);
        return svc_tp_iam_name(*name, *len, 2);
    }
    case SVC_SUBJECT_PRINCIPAL_ARN:
        *name = principal;
        *len = strlen(principal);
        return strncmp(principal, "arn:", 4) == 0 && *len <= SVC_TOKEN_SUBJECT_MAX;
    default:
        return false;
    }
}

HS_RESULT svc_token_subject(const struct svc_token_profile *p, const char *principal,
                            char out[SVC_TOKEN_SUBJECT_MAX + 1])
{
    HS_ENSURE_REF(p);
    HS_ENSURE_REF(principal);
    HS_ENSURE_REF(out);
    const char *name = NULL;
    size_t len = 0;
    HS_ENSURE_MSG(svc_tp_derive(p->subject_from, principal, &name, &len), HS_ERR_POLICY_SUBJECT,
                  "token profile %s: the caller's principal has no %s", p->name,
                  p->subject_from == SVC_SUBJECT_USER_NAME           ? "IAM user name"
                  : p->subject_from == SVC_SUBJECT_ROLE_SESSION_NAME ? "role session name"
                                                                     : "ARN");
    if (p->strip_domain != NULL) {
        size_t dlen = strlen(p->strip_domain);
        HS_ENSURE_MSG(len > dlen && strncasecmp(name + len - dlen, p->strip_domain, dlen) == 0,
                      HS_ERR_POLICY_SUBJECT, "token profile %s: the name is not in %s", p->name,
                      p->strip_domain);
        len -= dlen;
    }
    char derived[SVC_TOKEN_SUBJECT_MAX + 1];
    HS_ENSURE(len <= SVC_TOKEN_SUBJECT_MAX, HS_ERR_POLICY_SUBJECT);
    memcpy(derived, name, len);
    derived[len] = '\0';
    const char *subject = derived;
    if (p->lookup != NULL) {
        json_object *v = NULL;
        HS_ENSURE_MSG(json_object_object_get_ex(p->lookup, derived, &v) &&
                          json_object_is_type(v, json_type_string),
                      HS_ERR_POLICY_SUBJECT, "token profile %s: the name is not in its lookup",
                      p->name);
        subject = json_object_get_string(v);
    }
    size_t slen = strlen(subject);
    HS_ENSURE(slen <= SVC_TOKEN_SUBJECT_MAX, HS_ERR_POLICY_SUBJECT);
    memcpy(out, subject, slen + 1);
    return HS_OK;
}
