#include "api/api_service.h"

#include <stdio.h>
#include <string.h>

#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "common/hs_json.h"
#include "common/hs_log.h"
#include "pkcs11/p11_config.h"
#include "pkcs11/p11_evp.h"

void api_service_free(struct api_service *svc)
{
    if (svc == NULL) {
        return;
    }
    sgn_jwt_key_array_freep(&svc->jwt_keys);
    if (svc->crl_ready) {
        api_crl_cache_clear(&svc->crl);
    }
    st_inventory_close(svc->inventory);
    free(svc->openid_config_json);
    for (size_t i = 0; i < 2 * API_ACCESS_KEYS_MAX; i++) {
        hs_secret_free(svc->secrets[i]);
    }
    free(svc->jwks_json);
    sgn_issuer_free(svc->issuer);
    p11_pool_free(svc->pool);
    p11_module_free(svc->module);
    api_config_free(svc->cfg);
    OPENSSL_free(svc);
}

void api_service_freep(struct api_service **svc)
{
    api_service_free(*svc);
}

static HS_RESULT api_service_ca(struct api_service *svc)
{
    HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
    HS_GUARD(hs_error_context(p11_key_find(svc->pool, svc->cfg->ca_key, &key), "ca.key"));
    HS_GUARD(hs_error_context(p11_key_check_protected(key), "ca.key"));
    HS_DEFER(struct hs_buf *chain = NULL, hs_buf_freep);
    HS_GUARD(hs_file_read(svc->cfg->ca_chain_file, SGN_CHAIN_PEM_MAX, &chain));
    HS_GUARD(hs_error_context(
        sgn_issuer_new(key, (const char *)hs_buf_data(chain), hs_buf_len(chain), &svc->issuer),
        "ca.chain_file"));
    return HS_OK;
}

/* Keys of the published JWK Set, found on the token by their public keys; the document's order
 * is kept (the key ceremony puts the newest first, and the first signs). */
static HS_RESULT api_service_jwks_keys(struct api_service *svc)
{
    HS_DEFER(struct hs_buf *text = NULL, hs_buf_freep);
    HS_GUARD(hs_file_read(svc->cfg->jwt_jwks_file, SGN_JWKS_MAX, &text));
    struct sgn_jwk_entry entries[SGN_JWT_KEYS_MAX];
    size_t n = 0;
    HS_GUARD(sgn_jwks_parse((const char *)hs_buf_data(text), hs_buf_len(text), entries, &n));
    hs_result r = HS_OK;
    for (size_t i = 0; i < n && !hs_failed(r); i++) {
        struct p11_key *key = NULL;
        r = p11_key_find_by_public(svc->pool, entries[i].pub, &key);
        r = hs_failed(r) ? r : p11_key_check_protected(key);
        r = hs_failed(r) ? r : sgn_jwt_key_new(key, entries[i].alg, &svc->jwt_keys[i]);
        if (hs_failed(r)) {
            hs_error_add_detail("key %s", entries[i].kid);
        }
        p11_key_free(key);
        svc->njwt_keys = hs_failed(r) ? svc->njwt_keys : i + 1;
    }
    sgn_jwk_entries_clear(entries, n);
    return r;
}

static HS_RESULT api_json_add_strings(json_object *obj, const char *key, const char *const *v,
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
static HS_RESULT api_service_openid(struct api_service *svc)
{
    static const char *const claims[] = {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "cnf"};
    static const char *const response_types[] = {"token"};
    static const char *const subject_types[] = {"public"};
    const char *iss = svc->cfg->jwt_issuer;
    size_t n = strlen(iss);
    while (n > 0 && iss[n - 1] == '/') {
        n--;
    }
    char jwks_uri[SGN_JWT_CLAIM_MAX + 64];
    snprintf(jwks_uri, sizeof(jwks_uri), "%.*s/.well-known/jwks.json", (int)n, iss);
    const char *algs[SGN_JWT_KEYS_MAX];
    size_t nalgs = 0;
    for (size_t i = 0; i < svc->njwt_keys; i++) {
        const char *alg = sgn_jwt_key_alg(svc->jwt_keys[i]);
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
    HS_GUARD(api_json_add_strings(doc, "response_types_supported", response_types, 1));
    HS_GUARD(api_json_add_strings(doc, "subject_types_supported", subject_types, 1));
    HS_GUARD(api_json_add_strings(doc, "id_token_signing_alg_values_supported", algs, nalgs));
    HS_GUARD(
        api_json_add_strings(doc, "claims_supported", claims, sizeof(claims) / sizeof(claims[0])));
    char *text = NULL;
    HS_GUARD(hs_json_to_string(doc, &text));
    svc->openid_config_json = text;
    return HS_OK;
}

static HS_RESULT api_service_jwt(struct api_service *svc)
{
    if (svc->cfg->jwt_jwks_file != NULL) {
        HS_GUARD(hs_error_context(api_service_jwks_keys(svc), "jwt.jwks_file"));
    } else {
        HS_GUARD(hs_error_context(
            sgn_jwt_keys_load(svc->pool, svc->cfg->jwt_keys, svc->cfg->njwt_keys, svc->jwt_keys),
            "jwt.keys"));
        svc->njwt_keys = svc->cfg->njwt_keys;
    }
    HS_GUARD(sgn_jwks_json(svc->jwt_keys, svc->njwt_keys, &svc->jwks_json));
    svc->jwt_default = api_service_jwt_key(svc, svc->cfg->jwt_default_alg);
    HS_ENSURE_MSG(svc->jwt_default != NULL, HS_ERR_INPUT_CONFIG,
                  "jwt.default_alg: no JWT key signs with %s", svc->cfg->jwt_default_alg);
    return api_service_openid(svc);
}

const struct sgn_jwt_key *api_service_jwt_key(const struct api_service *svc, const char *alg)
{
    for (size_t i = 0; i < svc->njwt_keys; i++) {
        if (alg == NULL || strcmp(sgn_jwt_key_alg(svc->jwt_keys[i]), alg) == 0) {
            return svc->jwt_keys[i];
        }
    }
    return NULL;
}

static HS_RESULT api_service_sigv4(struct api_service *svc)
{
    const struct api_config *cfg = svc->cfg;
    for (size_t i = 0; i < cfg->naccess_keys; i++) {
        const struct api_access_key_config *a = &cfg->access_keys[i];
        struct api_sigv4_key *k = &svc->sigv4_keys[i];
        HS_GUARD(hs_error_context(
            hs_secret_from_file(a->secret_file, HS_SECRET_MAX, &svc->secrets[2 * i]),
            "auth.sigv4.access_keys"));
        if (a->session_token_file != NULL) {
            HS_GUARD(
                hs_error_context(hs_secret_from_file(a->session_token_file, HS_SECRET_LARGE_MAX,
                                                     &svc->secrets[2 * i + 1]),
                                 "auth.sigv4.access_keys"));
        }
        k->access_key_id = a->access_key_id;
        k->secret_access_key = svc->secrets[2 * i];
        k->session_token = svc->secrets[2 * i + 1];
        k->principal_arn = a->principal_arn;
    }
    svc->sigv4 =
        (struct api_sigv4_config){cfg->sigv4_region, cfg->sigv4_service, cfg->sigv4_max_skew_s,
                                  svc->sigv4_keys, cfg->naccess_keys};
    return HS_OK;
}

HS_RESULT api_service_new(struct api_config *cfg, struct api_service **out)
{
    HS_DEFER(struct api_config *owned_cfg = cfg, api_config_freep);
    HS_ENSURE_REF(cfg);
    HS_DEFER(struct api_service *svc = OPENSSL_zalloc(sizeof(*svc)), api_service_freep);
    HS_ENSURE(svc != NULL, HS_ERR_NOMEM);
    svc->cfg = owned_cfg;
    owned_cfg = NULL;
    HS_GUARD(p11_evp_init());
    HS_GUARD(api_service_sigv4(svc));
    HS_GUARD(p11_token_open(&cfg->token, &svc->module, &svc->pool));
    HS_GUARD(api_service_ca(svc));
    HS_GUARD(api_service_jwt(svc));
    HS_GUARD(hs_error_context(st_inventory_open(&cfg->inventory, &svc->inventory), "inventory"));
    HS_GUARD(api_crl_cache_init(&svc->crl));
    svc->crl_ready = true;
    hs_log(HS_LOG_INFO, "service.init", HS_LOG_STR("token", cfg->token.label),
           HS_LOG_STR("ca_key", p11_key_label(sgn_issuer_get0_key(svc->issuer))),
           HS_LOG_STR("jwt_kid", sgn_jwt_key_kid(svc->jwt_keys[0])),
           HS_LOG_INT("access_keys", cfg->naccess_keys));
    *out = svc;
    svc = NULL;
    return HS_OK;
}
