#include "service/svc_token.h"

#include <string.h>

#include "common/hs_defer.h"
#include "service/internal.h"

void svc_token_result_clear(struct svc_token_result *res)
{
    if (res != NULL) {
        hs_buf_free(res->token);
        memset(res, 0, sizeof(*res));
    }
}

HS_RESULT svc_token_issue(struct svc_ctx *ctx, const struct svc_caller *caller,
                          const struct svc_token_request *req, struct svc_token_result *out)
{
    HS_ENSURE_REF(ctx);
    HS_ENSURE_REF(caller);
    HS_ENSURE_REF(caller->principal);
    HS_ENSURE_REF(caller->authz);
    HS_ENSURE_REF(req);
    HS_ENSURE_REF(req->audience);
    HS_ENSURE_MSG(!req->has_ttl || (req->ttl_s >= 1 && req->ttl_s <= ctx->cfg.jwt_max_ttl_s),
                  HS_ERR_INPUT_RANGE, "field \"ttl_seconds\" must be between 1 and %ld",
                  ctx->cfg.jwt_max_ttl_s);
    const struct sgn_jwt_key *key =
        req->alg != NULL ? svc_ctx_jwt_key(ctx, req->alg) : ctx->jwt_default;
    HS_ENSURE_MSG(key != NULL, HS_ERR_INPUT_ALG, "no active key signs with alg %s", req->alg);
    long ttl_s = 0;
    HS_GUARD(caller->authz->token(caller->authz->arg, req->audience,
                                  req->has_ttl ? (long)req->ttl_s : 0, ctx->cfg.jwt_default_ttl_s,
                                  &ttl_s));
    HS_ENSURE(ttl_s > 0 && ttl_s <= ctx->cfg.jwt_max_ttl_s, HS_ERR_INTERNAL);
    struct sgn_jwt_claims claims = {
        ctx->cfg.jwt_issuer, caller->principal, req->audience, req->now, ttl_s,
        caller->principal,   caller->x5t_s256};
    HS_DEFER(struct hs_buf *token = hs_buf_new(SGN_JWT_MAX), hs_buf_freep);
    HS_ENSURE(token != NULL, HS_ERR_NOMEM);
    char jti[SGN_JTI_LEN + 1];
    HS_GUARD(sgn_jwt_sign(key, &claims, token, jti));
    memset(out, 0, sizeof(*out));
    out->token = token;
    token = NULL;
    out->expires_in = ttl_s;
    out->kid = sgn_jwt_key_kid(key);
    out->alg = sgn_jwt_key_alg(key);
    return HS_OK;
}
