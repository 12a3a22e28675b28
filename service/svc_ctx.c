#include "service/svc_ctx.h"

#include <stdio.h>
#include <string.h>

#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "common/hs_json.h"
#include "common/hs_log.h"
#include "pkcs11/p11_key.h"
#include "service/internal.h"

static const unsigned int svc_inventory_latency_us[] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};
static const struct hs_hist_bounds svc_inventory_latency_bounds = {
    svc_inventory_latency_us,
    sizeof(svc_inventory_latency_us) / sizeof(svc_inventory_latency_us[0])};

/* Process-wide: every service context's inventory writes. */
static struct hs_hist svc_inventory_hist;

void svc_inventory_latency_get(struct hs_hist_snapshot *out)
{
    hs_hist_get(&svc_inventory_hist, &svc_inventory_latency_bounds, out);
}

HS_RESULT svc_inventory_put(struct svc_ctx *ctx, const struct st_cert_record *rec)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    hs_result r = ctx->inventory->ops->put(ctx->inventory, rec);
    hs_hist_observe_since(&svc_inventory_hist, &svc_inventory_latency_bounds, &start);
    return r;
}

HS_RESULT svc_inventory_revoke(struct svc_ctx *ctx, const char *serial_hex, time_t at, int reason,
                               bool *changed)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    hs_result r = ctx->inventory->ops->revoke(ctx->inventory, serial_hex, at, reason, changed);
    hs_hist_observe_since(&svc_inventory_hist, &svc_inventory_latency_bounds, &start);
    return r;
}

void svc_ctx_free(struct svc_ctx *ctx)
{
    if (ctx == NULL) {
        return;
    }
    svc_sshkey_stop(ctx); /* its workers use everything below */
    svc_ssh_clear(&ctx->ssh);
    sgn_jwt_key_array_freep(&ctx->jwt_keys);
    if (ctx->crl_ready) {
        svc_crl_cache_clear(&ctx->crl);
    }
    st_inventory_close(ctx->inventory);
    free(ctx->openid_json);
    free(ctx->jwks_json);
    sgn_issuer_free(ctx->issuer);
    p11_pool_free(ctx->pool);
    p11_module_free(ctx->module);
    OPENSSL_free(ctx);
}

void svc_ctx_freep(struct svc_ctx **ctx)
{
    svc_ctx_free(*ctx);
}

static HS_RESULT svc_ctx_ca(struct svc_ctx *ctx)
{
    HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
    HS_GUARD(hs_error_context(p11_key_find(ctx->pool, ctx->cfg.ca_key, &key), "ca.key"));
    HS_GUARD(hs_error_context(p11_key_check_protected(key), "ca.key"));
    HS_DEFER(struct hs_buf *chain = NULL, hs_buf_freep);
    HS_GUARD(hs_file_read(ctx->cfg.ca_chain_file, SGN_CHAIN_PEM_MAX, &chain));
    HS_GUARD(hs_error_context(
        sgn_issuer_new(key, (const char *)hs_buf_data(chain), hs_buf_len(chain), &ctx->issuer),
        "ca.chain_file"));
    return HS_OK;
}

/* Keys of the published JWK Set, found on the token by their public keys; the document's order
 * is kept (the key ceremony puts the newest first, and the first signs). */
static HS_RESULT svc_ctx_jwks_keys(struct svc_ctx *ctx)
{
    HS_DEFER(struct hs_buf *text = NULL, hs_buf_freep);
    HS_GUARD(hs_file_read(ctx->cfg.jwt_jwks_file, SGN_JWKS_MAX, &text));
    struct sgn_jwk_entry entries[SGN_JWT_KEYS_MAX];
    size_t n = 0;
    HS_GUARD(sgn_jwks_parse((const char *)hs_buf_data(text), hs_buf_len(text), entries, &n));
    hs_result r = HS_OK;
    for (size_t i = 0; i < n && !hs_failed(r); i++) {
        struct p11_key *key = NULL;
        r = p11_key_find_by_public(ctx->pool, entries[i].pub, &key);
        r = hs_failed(r) ? r : p11_key_check_protected(key);
        r = hs_failed(r) ? r : sgn_jwt_key_new(key, entries[i].alg, &ctx->jwt_keys[i]);
        if (hs_failed(r)) {
            hs_error_add_detail("key %s", entries[i].kid);
        }
        p11_key_free(key);
        ctx->njwt_keys = hs_failed(r) ? ctx->njwt_keys : i + 1;
    }
    sgn_jwk_entries_clear(entries, n);
    return r;
}

static HS_RESULT svc_json_add_strings(json_object *obj, const char *key, const char *const *v,
                                      size_t n)
{
    json_object *arr = json_object_new_array();
    HS_ENSURE(arr != NULL, HS_ERR_NOMEM);
    HS_ENSURE(json_object_object_add(obj, key, arr) == 0, HS_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        HS_ENSURE(json_object_array_add(arr, json_object_new_string(v[i])) == 0, HS_ERR_NOMEM);
    }
    return HS_OK;
}

/* OpenID Connect Discovery 1.0 §3 metadata: enough for an API Gateway JWT authorizer or any
 * OIDC relying party to find the keys (jwks_uri) of tokens whose iss is jwt.issuer. */
static HS_RESULT svc_ctx_openid(struct svc_ctx *ctx)
{
    static const char *const claims[] = {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "cnf"};
    static const char *const response_types[] = {"token"};
    static const char *const subject_types[] = {"public"};
    const char *iss = ctx->cfg.jwt_issuer;
    size_t n = strlen(iss);
    while (n > 0 && iss[n - 1] == '/') {
        n--;
    }
    char jwks_uri[SGN_JWT_CLAIM_MAX + 64];
    int w = snprintf(jwks_uri, sizeof(jwks_uri), "%.*s/.well-known/jwks.json", (int)n, iss);
    HS_ENSURE_MSG(w > 0 && (size_t)w < sizeof(jwks_uri), HS_ERR_INPUT_CONFIG,
                  "jwt.issuer is too long for a jwks_uri");
    const char *algs[SGN_JWT_KEYS_MAX];
    size_t nalgs = 0;
    for (size_t i = 0; i < ctx->njwt_keys; i++) {
        const char *alg = sgn_jwt_key_alg(ctx->jwt_keys[i]);
        bool seen = false;
        for (size_t j = 0; j < nalgs; j++) {
            seen = seen || strcmp(algs[j], alg) == 0;
        }
        if (!seen) {
            algs[nalgs++] = alg;
        }
    }
    HS_DEFER(json_object *doc = json_object_new_object(), hs_json_putp);
    HS_ENSURE(doc != NULL, HS_ERR_NOMEM);
    HS_ENSURE(json_object_object_add(doc, "issuer", json_object_new_string(iss)) == 0,
              HS_ERR_NOMEM);
    HS_ENSURE(json_object_object_add(doc, "jwks_uri", json_object_new_string(jwks_uri)) == 0,
              HS_ERR_NOMEM);
    HS_GUARD(svc_json_add_strings(doc, "response_types_supported", response_types, 1));
    HS_GUARD(svc_json_add_strings(doc, "subject_types_supported", subject_types, 1));
    HS_GUARD(svc_json_add_strings(doc, "id_token_signing_alg_values_supported", algs, nalgs));
    HS_GUARD(
        svc_json_add_strings(doc, "claims_supported", claims, sizeof(claims) / sizeof(claims[0])));
    char *text = NULL;
    HS_GUARD(hs_json_to_string(doc, &text));
    ctx->openid_json = text;
    return HS_OK;
}

static HS_RESULT svc_ctx_jwt(struct svc_ctx *ctx)
{
    if (ctx->cfg.jwt_jwks_file != NULL) {
        HS_GUARD(hs_error_context(svc_ctx_jwks_keys(ctx), "jwt.jwks_file"));
    } else {
        HS_GUARD(hs_error_context(
            sgn_jwt_keys_load(ctx->pool, ctx->cfg.jwt_keys, ctx->cfg.njwt_keys, ctx->jwt_keys),
            "jwt.keys"));
        ctx->njwt_keys = ctx->cfg.njwt_keys;
    }
    HS_GUARD(sgn_jwks_json(ctx->jwt_keys, ctx->njwt_keys, &ctx->jwks_json));
    ctx->jwt_default = svc_ctx_jwt_key(ctx, ctx->cfg.jwt_default_alg);
    HS_ENSURE_MSG(ctx->jwt_default != NULL, HS_ERR_INPUT_CONFIG,
                  "jwt.default_alg: no JWT key signs with %s", ctx->cfg.jwt_default_alg);
    return svc_ctx_openid(ctx);
}

const struct sgn_jwt_key *svc_ctx_jwt_key(const struct svc_ctx *ctx, const char *alg)
{
    for (size_t i = 0; i < ctx->njwt_keys; i++) {
        if (alg == NULL || strcmp(sgn_jwt_key_alg(ctx->jwt_keys[i]), alg) == 0) {
            return ctx->jwt_keys[i];
        }
    }
    return NULL;
}

HS_RESULT svc_ctx_new(const struct svc_config *cfg, struct svc_ctx **out)
{
    HS_ENSURE_REF(cfg);
    HS_ENSURE_REF(cfg->token);
    HS_ENSURE_REF(cfg->profiles);
    HS_ENSURE_REF(cfg->inventory);
    HS_ENSURE(cfg->profiles->n > 0, HS_ERR_INTERNAL);
    HS_DEFER(struct svc_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx)), svc_ctx_freep);
    HS_ENSURE(ctx != NULL, HS_ERR_NOMEM);
    ctx->cfg = *cfg;
    HS_GUARD(p11_token_open(cfg->token, &ctx->module, &ctx->pool));
    HS_GUARD(svc_ctx_ca(ctx));
    HS_GUARD(svc_ctx_jwt(ctx));
    HS_GUARD(svc_token_profiles_bind(ctx));
    HS_GUARD(hs_error_context(st_inventory_open(cfg->inventory, &ctx->inventory), "inventory"));
    HS_GUARD(svc_crl_cache_init(&ctx->crl));
    ctx->crl_ready = true;
    HS_GUARD(svc_ssh_init(ctx));
    hs_log(HS_LOG_INFO, "service.init", HS_LOG_STR("token", cfg->token->label),
           HS_LOG_STR("ca_key", p11_key_label(sgn_issuer_get0_key(ctx->issuer))),
           HS_LOG_STR("jwt_kid", sgn_jwt_key_kid(ctx->jwt_keys[0])),
           HS_LOG_INT("profiles", (long long)cfg->profiles->n));
    *out = ctx;
    ctx = NULL;
    return HS_OK;
}

/* The reload's state is a scratch context that borrows ctx's pool: only its CA, JWT and token
 * profile members are ever set. */
struct svc_ctx_reload {
    struct svc_ctx scratch;
};

void svc_ctx_reload_free(struct svc_ctx_reload *rl)
{
    if (rl == NULL) {
        return;
    }
    sgn_jwt_key_array_freep(&rl->scratch.jwt_keys);
    free(rl->scratch.openid_json);
    free(rl->scratch.jwks_json);
    sgn_issuer_free(rl->scratch.issuer);
    OPENSSL_free(rl);
}

void svc_ctx_reload_freep(struct svc_ctx_reload **rl)
{
    svc_ctx_reload_free(*rl);
}

HS_RESULT svc_ctx_reload_new(struct svc_ctx *ctx, const struct svc_config *next,
                             struct svc_ctx_reload **out)
{
    HS_ENSURE_REF(ctx);
    HS_ENSURE_REF(next);
    HS_DEFER(struct svc_ctx_reload *rl = OPENSSL_zalloc(sizeof(*rl)), svc_ctx_reload_freep);
    HS_ENSURE(rl != NULL, HS_ERR_NOMEM);
    struct svc_ctx *s = &rl->scratch;
    s->cfg = ctx->cfg;
    s->cfg.ca_chain_file = next->ca_chain_file;
    s->cfg.jwt_issuer = next->jwt_issuer;
    s->cfg.jwt_default_alg = next->jwt_default_alg;
    s->cfg.jwt_jwks_file = next->jwt_jwks_file;
    s->cfg.jwt_keys = next->jwt_keys;
    s->cfg.njwt_keys = next->njwt_keys;
    s->pool = ctx->pool; /* borrowed: never freed through the scratch context */
    hs_result r = svc_ctx_ca(s);
    r = hs_failed(r) ? r : svc_ctx_jwt(s);
    r = hs_failed(r) ? r : svc_token_profiles_bind(s);
    r = hs_failed(r) ? r : svc_ssh_roles_check(s, &ctx->ssh);
    s->pool = NULL;
    HS_GUARD(r);
    *out = rl;
    rl = NULL;
    return HS_OK;
}

#define SVC_SWAP(type, a, b)                                                                       \
    do {                                                                                           \
        type svc_swap_tmp_ = (a);                                                                  \
        (a) = (b);                                                                                 \
        (b) = svc_swap_tmp_;                                                                       \
    } while (0)

void svc_ctx_reload_commit(struct svc_ctx *ctx, struct svc_ctx_reload *rl)
{
    struct svc_ctx *s = &rl->scratch;
    SVC_SWAP(struct svc_config, ctx->cfg, s->cfg);
    SVC_SWAP(struct sgn_issuer *, ctx->issuer, s->issuer);
    for (size_t i = 0; i < SGN_JWT_KEYS_MAX; i++) {
        SVC_SWAP(struct sgn_jwt_key *, ctx->jwt_keys[i], s->jwt_keys[i]);
    }
    SVC_SWAP(size_t, ctx->njwt_keys, s->njwt_keys);
    SVC_SWAP(const struct sgn_jwt_key *, ctx->jwt_default, s->jwt_default);
    SVC_SWAP(char *, ctx->jwks_json, s->jwks_json);
    SVC_SWAP(char *, ctx->openid_json, s->openid_json);
    for (size_t i = 0; i < SVC_TOKEN_PROFILES_MAX; i++) {
        SVC_SWAP(const struct sgn_jwt_key *, ctx->token_profile_keys[i], s->token_profile_keys[i]);
    }
}

const char *svc_ctx_jwt_kid(const struct svc_ctx *ctx)
{
    return ctx->jwt_default != NULL ? sgn_jwt_key_kid(ctx->jwt_default) : NULL;
}

HS_RESULT svc_ctx_ping(struct svc_ctx *ctx)
{
    HS_ENSURE_REF(ctx);
    return p11_pool_ping(ctx->pool);
}

struct p11_pool *svc_ctx_get0_pool(const struct svc_ctx *ctx)
{
    return ctx->pool;
}

const char *svc_ctx_get0_jwks_json(const struct svc_ctx *ctx)
{
    return ctx->jwks_json;
}

const char *svc_ctx_get0_openid_json(const struct svc_ctx *ctx)
{
    return ctx->openid_json;
}

const char *svc_ctx_get0_chain_pem(const struct svc_ctx *ctx)
{
    return sgn_issuer_get0_chain_pem(ctx->issuer);
}
