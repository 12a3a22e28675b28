#include "service/svc_token.h"

#include <string.h>

#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "common/hs_log.h"
#include "pkcs11/p11_key.h"
#include "service/internal.h"
#include "service/svc_sched.h"

void svc_token_result_clear(struct svc_token_result *res)
{
    if (res != NULL) {
        hs_buf_free(res->token);
        memset(res, 0, sizeof(*res));
    }
}

/* Signs claims with key and fills *out. */
static HS_RESULT svc_token_sign(const struct sgn_jwt_key *key, const struct sgn_jwt_claims *claims,
                                struct svc_token_result *out)
{
    HS_DEFER(struct hs_buf *token = hs_buf_new(SGN_JWT_MAX), hs_buf_freep);
    HS_ENSURE(token != NULL, HS_ERR_NOMEM);
    char jti[SGN_JTI_LEN + 1];
    unsigned int cls = svc_class_begin(SVC_CLASS_TOKEN);
    hs_result r = sgn_jwt_sign(key, claims, token, jti);
    svc_class_end(cls);
    HS_GUARD(r);
    memset(out, 0, sizeof(*out));
    out->token = token;
    token = NULL;
    out->expires_in = claims->ttl_s;
    out->kid = sgn_jwt_key_kid(key);
    out->alg = sgn_jwt_key_alg(key);
    return HS_OK;
}

static bool svc_token_key_named(const struct svc_ctx *ctx, size_t i, const char *ref)
{
    const struct sgn_jwt_key *k = ctx->jwt_keys[i];
    const char *label = p11_key_label(sgn_jwt_key_get0_key(k));
    bool by_ref = ctx->cfg.jwt_keys != NULL && i < ctx->cfg.njwt_keys &&
                  strcmp(ctx->cfg.jwt_keys[i].key, ref) == 0;
    return strcmp(sgn_jwt_key_kid(k), ref) == 0 || by_ref ||
           (label != NULL && strcmp(label, ref) == 0);
}

HS_RESULT svc_token_profiles_bind(struct svc_ctx *ctx)
{
    HS_ENSURE_REF(ctx);
    const struct svc_token_profiles *ps = ctx->cfg.token_profiles;
    for (size_t p = 0; ps != NULL && p < ps->n; p++) {
        const struct svc_token_profile *tp = &ps->items[p];
        const struct sgn_jwt_key *found = NULL;
        for (size_t i = 0; i < ctx->njwt_keys && found == NULL; i++) {
            found = svc_token_key_named(ctx, i, tp->key) ? ctx->jwt_keys[i] : NULL;
        }
        HS_ENSURE_MSG(found != NULL, HS_ERR_INPUT_CONFIG,
                      "token_profiles.%s.key: \"%.128s\" is none of the JWT keys (kid, jwt.keys "
                      "reference or token label)",
                      tp->name, tp->key);
        HS_ENSURE_MSG(strcmp(sgn_jwt_key_alg(found), tp->alg) == 0, HS_ERR_INPUT_CONFIG,
                      "token_profiles.%s.key: the key signs with %s, not %s", tp->name,
                      sgn_jwt_key_alg(found), tp->alg);
        ctx->token_profile_keys[p] = found;
    }
    return HS_OK;
}

/* Adds a deep copy of every member of src to dst. src belongs to the configuration, shared by
 * every request thread: json-c's reference counts are not atomic, so it is only read here
 * (never json_object_get), and the token is built from copies of its own. */
static HS_RESULT svc_token_claims_copy(json_object *dst, json_object *src)
{
    json_object_object_foreach(src, name, v)
    {
        json_object *copy = NULL;
        HS_ENSURE(json_object_deep_copy(v, &copy, NULL) == 0, HS_ERR_NOMEM);
        HS_GUARD(hs_json_add(dst, name, copy));
    }
    return HS_OK;
}

/* The claims a profile's token carries besides the registered ones: the policy's (when the
 * profile takes them), then the profile's own, which win. The caller puts *out. */
static HS_RESULT svc_token_extra(const struct svc_token_profile *tp, json_object *policy,
                                 json_object **out)
{
    HS_DEFER(json_object *extra = json_object_new_object(), hs_json_putp);
    HS_ENSURE(extra != NULL, HS_ERR_NOMEM);
    if (tp->claims_from_policy && policy != NULL) {
        HS_GUARD(svc_token_claims_copy(extra, policy));
    }
    if (tp->claims != NULL) {
        HS_GUARD(svc_token_claims_copy(extra, tp->claims));
    }
    *out = extra;
    extra = NULL;
    return HS_OK;
}

/* A request naming a profile may repeat what the profile fixes, never change it. */
static HS_RESULT svc_token_profile_fits(const struct svc_token_profile *tp,
                                        const struct svc_token_request *req)
{
    HS_ENSURE_MSG(req->audience == NULL || strcmp(req->audience, tp->audience) == 0,
                  HS_ERR_INPUT_FIELD,
                  "field \"audience\" differs from the profile's (a token profile fixes it)");
    HS_ENSURE_MSG(req->alg == NULL || strcmp(req->alg, tp->alg) == 0, HS_ERR_INPUT_FIELD,
                  "field \"alg\" differs from the profile's (a token profile fixes it)");
    HS_ENSURE_MSG(!req->has_ttl || req->ttl_s == tp->ttl_s, HS_ERR_INPUT_FIELD,
                  "field \"ttl_seconds\" differs from the profile's (a token profile fixes it)");
    return HS_OK;
}

static HS_RESULT svc_token_issue_profile(struct svc_ctx *ctx, const struct svc_caller *caller,
                                         const struct svc_token_request *req,
                                         struct svc_token_result *out)
{
    const struct svc_token_profiles *ps = ctx->cfg.token_profiles;
    const struct svc_token_profile *tp = svc_token_profiles_find(ps, req->profile);
    HS_ENSURE_MSG(tp != NULL, HS_ERR_INPUT_FIELD, "field \"profile\" names no token profile");
    HS_GUARD(svc_token_profile_fits(tp, req));
    const struct sgn_jwt_key *key = ctx->token_profile_keys[(size_t)(tp - ps->items)];
    HS_ENSURE(key != NULL, HS_ERR_INTERNAL);
    struct svc_token_ask ask = {tp->audience, tp->ttl_s, tp->name};
    struct svc_token_grant grant = {0, NULL};
    HS_GUARD(caller->authz->token(caller->authz->arg, &ask, tp->ttl_s, &grant));
    HS_ENSURE(grant.ttl_s == tp->ttl_s, HS_ERR_INTERNAL);
    char sub[SVC_TOKEN_SUBJECT_MAX + 1];
    HS_GUARD(svc_token_subject(tp, caller->principal, sub));
    HS_DEFER(json_object *extra = NULL, hs_json_putp);
    HS_GUARD(svc_token_extra(tp, grant.claims, &extra));
    struct sgn_jwt_claims claims = {
        ctx->cfg.jwt_issuer, sub,  tp->audience, req->now, tp->ttl_s, caller->principal,
        caller->x5t_s256,    extra};
    HS_GUARD(svc_token_sign(key, &claims, out));
    hs_log(HS_LOG_INFO, "token.profile.issued", HS_LOG_AUDIT,
           HS_LOG_STR("caller", caller->principal), HS_LOG_STR("profile", tp->name),
           HS_LOG_STR("sub", sub), HS_LOG_STR("kid", out->kid));
    return HS_OK;
}

HS_RESULT svc_token_issue(struct svc_ctx *ctx, const struct svc_caller *caller,
                          const struct svc_token_request *req, struct svc_token_result *out)
{
    HS_ENSURE_REF(ctx);
    HS_ENSURE_REF(caller);
    HS_ENSURE_REF(caller->principal);
    HS_ENSURE_REF(caller->authz);
    HS_ENSURE_REF(req);
    if (req->profile != NULL) {
        return svc_token_issue_profile(ctx, caller, req, out);
    }
    HS_ENSURE_MSG(req->audience != NULL, HS_ERR_INPUT_FIELD,
                  "field \"audience\" is required (or \"profile\")");
    HS_ENSURE_MSG(!req->has_ttl || (req->ttl_s >= 1 && req->ttl_s <= ctx->cfg.jwt_max_ttl_s),
                  HS_ERR_INPUT_RANGE, "field \"ttl_seconds\" must be between 1 and %ld",
                  ctx->cfg.jwt_max_ttl_s);
    const struct sgn_jwt_key *key =
        req->alg != NULL ? svc_ctx_jwt_key(ctx, req->alg) : ctx->jwt_default;
    HS_ENSURE_MSG(key != NULL, HS_ERR_INPUT_ALG, "no active key signs with alg %s", req->alg);
    struct svc_token_ask ask = {req->audience, req->has_ttl ? (long)req->ttl_s : 0, NULL};
    struct svc_token_grant grant = {0, NULL};
    HS_GUARD(caller->authz->token(caller->authz->arg, &ask, ctx->cfg.jwt_default_ttl_s, &grant));
    HS_ENSURE(grant.ttl_s > 0 && grant.ttl_s <= ctx->cfg.jwt_max_ttl_s, HS_ERR_INTERNAL);
    struct sgn_jwt_claims claims = {
        ctx->cfg.jwt_issuer, caller->principal, req->audience,    req->now,
        grant.ttl_s,         caller->principal, caller->x5t_s256, NULL};
    return svc_token_sign(key, &claims, out);
}
