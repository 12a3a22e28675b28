#include "api/api_service.h"

#include <string.h>

#include "api/api_keygen.h"
#include "api/api_route.h"
#include "common/hs_defer.h"
#include "common/hs_log.h"
#include "pkcs11/p11_evp.h"

void api_service_free(struct api_service *svc)
{
    if (svc == NULL) {
        return;
    }
    svc_ctx_free(svc->svc);
    for (size_t i = 0; i < 2 * API_ACCESS_KEYS_MAX; i++) {
        hs_secret_free(svc->secrets[i]);
    }
    api_config_free(svc->cfg);
    OPENSSL_free(svc);
}

void api_service_freep(struct api_service **svc)
{
    api_service_free(*svc);
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

/* The service's part of the config file. */
static void api_service_config(const struct api_config *cfg, struct svc_config *out)
{
    memset(out, 0, sizeof(*out));
    out->token = &cfg->token;
    out->ca_key = cfg->ca_key;
    out->ca_chain_file = cfg->ca_chain_file;
    out->crl_url = cfg->crl_url;
    out->crl_validity_s = cfg->crl_validity_s;
    out->profiles = &cfg->profiles;
    out->inventory = &cfg->inventory;
    out->jwt_issuer = cfg->jwt_issuer;
    out->jwt_default_alg = cfg->jwt_default_alg;
    out->jwt_jwks_file = cfg->jwt_jwks_file;
    out->jwt_keys = cfg->jwt_keys;
    out->njwt_keys = cfg->njwt_keys;
    out->jwt_default_ttl_s = cfg->jwt_default_ttl_s;
    out->jwt_max_ttl_s = cfg->jwt_max_ttl_s;
    out->token_profiles = &cfg->token_profiles;
    out->ssh_user_ca = cfg->ssh_user_ca;
    out->nssh_user_ca = cfg->has_ssh ? cfg->nssh_user_ca : 0;
    out->ssh_host_ca = cfg->ssh_host_ca;
    out->nssh_host_ca = cfg->has_ssh ? cfg->nssh_host_ca : 0;
    out->ssh_krl_validity_s = cfg->ssh_krl_validity_s;
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
    api_service_config(cfg, &svc->svc_cfg);
    HS_GUARD(svc_ctx_new(&svc->svc_cfg, &svc->svc));
    if (cfg->has_ssh) {
        svc->sshkey_authz = (struct svc_sshkey_authz){svc, api_route_sshkey_authz};
    }
    if (cfg->has_ssh && cfg->ssh_keygen_queue_url != NULL) {
        HS_GUARD(api_keygen_start(svc)); /* the AWS shape: SQS and DynamoDB */
    } else if (cfg->has_ssh) {
        HS_GUARD(hs_error_context(svc_sshkey_start(svc->svc, &cfg->ssh_keygen, &svc->sshkey_authz),
                                  "ssh.keygen"));
    }
    hs_log(HS_LOG_INFO, "api.init", HS_LOG_INT("access_keys", (long long)cfg->naccess_keys));
    *out = svc;
    svc = NULL;
    return HS_OK;
}
