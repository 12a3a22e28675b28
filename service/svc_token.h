/*
 * svc_token: access tokens (RFC 7519 JWTs) signed on the token with the service's JWT keys, for
 * an audience the caller's authorisation allows. Claims: iss (the configured issuer), sub (the
 * caller's principal), aud, iat = nbf = now, exp, jti; a device caller's token is bound to its
 * certificate by cnf {"x5t#S256"} (RFC 8705 §3.1).
 *
 * A request may name a token profile (svc_token_profile.h) instead: the profile fixes aud, the
 * lifetime, alg and the signing key (its kid is the header's), sub is derived from the caller's
 * principal, and the profile's fixed claims (and, when it says claims_from_policy, the policy's)
 * are added.
 */
#ifndef SVC_TOKEN_H
#define SVC_TOKEN_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"
#include "service/svc_ctx.h"
#include "signer/sgn_jwt.h"

/* A token request, decoded by the front end; strings are borrowed for the call. */
struct svc_token_request {
    const char *profile;  /* a token profile's name; NULL = none (then audience is required) */
    const char *audience; /* aud, 1..SGN_JWT_CLAIM_MAX bytes; with a profile NULL or its own */
    const char *alg;      /* JWS alg of an active key ("ES256", ...); NULL = the default key */
    bool has_ttl;         /* the request asked for a lifetime: */
    int64_t ttl_s;        /* seconds, 1..the configured maximum */
    time_t now;           /* seconds since the epoch */
};

/* The signed token. */
struct svc_token_result {
    struct hs_buf *token; /* owned: the compact JWS */
    long expires_in;      /* seconds */
    const char *kid;      /* lent by the context: the signing key's id (RFC 7638 thumbprint) */
    const char *alg;      /* lent by the context: its JWS alg */
};

/* Signs a token for caller: ttl_s must be in range (HS_ERR_INPUT_RANGE), alg name an active key
 * (HS_ERR_INPUT_ALG); then caller->authz->token decides (its failure is returned unchanged) and
 * gives the lifetime. With req->profile: an unknown profile fails with HS_ERR_INPUT_FIELD, and
 * so does an audience, alg or ttl_s the request gives that differs from the profile's (a profile
 * fixes them); the policy decides on the profile; a caller the profile's subject mapping cannot
 * name fails with HS_ERR_POLICY_SUBJECT. Other errors: HS_ERR_HSM_*, HS_ERR_CRYPTO, HS_ERR_INPUT_* for claims
 * sgn_jwt_sign refuses. On success the caller releases *out with svc_token_result_clear(); on
 * failure *out is untouched. */
HS_RESULT svc_token_issue(struct svc_ctx *ctx, const struct svc_caller *caller,
                          const struct svc_token_request *req, struct svc_token_result *out);

/* Frees what svc_token_issue() put in res (accepts a zeroed res). */
void svc_token_result_clear(struct svc_token_result *res);

#endif /* SVC_TOKEN_H */
