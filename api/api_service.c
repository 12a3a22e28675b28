#include "api/api_service.h"

#include <string.h>

#include <openssl/crypto.h>

#include "api/api_console.h"
#include "api/api_keygen.h"
#include "api/api_route.h"
#include "common/hs_defer.h"
#include "common/hs_log.h"
#include "pkcs11/p11_evp.h"

struct api_retired {
    struct api_config *cfg;
    struct api_retired *next;
};

void api_service_free(struct api_service *svc)
{
    if (svc == NULL) {
        return;
    }
    svc_ctx_free(svc->svc);
    api_console_free(svc->console);
    for (size_t i = 0; i < 2 * API_ACCESS_KEYS_MAX; i++) {
        hs_secret_free(svc->secrets[i]);
    }
    for (size_t i = 0; i < API_ACCESS_KEYS_MAX; i++) {
        api_sigv4_cache_free(svc->sigv4_caches[i]);
    }
    api_config_free(svc->cfg);
    while (svc->old != NULL) {
        struct api_retired *r = svc->old;
        svc->old = r->next;
        api_config_free(r->cfg);
        OPENSSL_free(r);
    }
    if (svc->lock_ready) {
        pthread_rwlock_destroy(&svc->lock);
    }
    OPENSSL_free(svc);
}

/* Writers first: under a steady load some request always holds the lock for reading, and a
 * reload (the main thread, which also takes SIGTERM) must not wait for a gap that never comes.
 * So no thread may take it for reading twice (a waiting writer would deadlock it): api_route
 * and api_route_sshkey_authz each take it once and never run inside each other. */
static HS_RESULT api_service_lock_init(pthread_rwlock_t *lock)
{
    pthread_rwlockattr_t attr;
    HS_ENSURE(pthread_rwlockattr_init(&attr) == 0, HS_ERR_INTERNAL);
    int rc = pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    rc = rc != 0 ? rc : pthread_rwlock_init(lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    HS_ENSURE(rc == 0, HS_ERR_INTERNAL);
    return HS_OK;
}

void api_service_read_lock(struct api_service *svc)
{
    pthread_rwlock_rdlock(&svc->lock);
}

void api_service_read_unlock(struct api_service *svc)
{
    pthread_rwlock_unlock(&svc->lock);
}

void api_service_freep(struct api_service **svc)
{
    api_service_free(*svc);
}

/* The SigV4 keys of cfg, their secrets read from their files into secrets[] and each with a
 * new signing-key cache in caches[] (both owned by the caller, also on failure: free each with
 * hs_secret_free and api_sigv4_cache_free). keys[i] borrows secrets[2i..2i+1] and caches[i]. */
static HS_RESULT api_service_sigv4_read(const struct api_config *cfg,
                                        struct hs_secret *secrets[2 * API_ACCESS_KEYS_MAX],
                                        struct api_sigv4_cache *caches[API_ACCESS_KEYS_MAX],
                                        struct api_sigv4_key keys[API_ACCESS_KEYS_MAX])
{
    for (size_t i = 0; i < cfg->naccess_keys; i++) {
        const struct api_access_key_config *a = &cfg->access_keys[i];
        struct api_sigv4_key *k = &keys[i];
        HS_GUARD(
            hs_error_context(hs_secret_from_file(a->secret_file, HS_SECRET_MAX, &secrets[2 * i]),
                             "auth.sigv4.access_keys"));
        if (a->session_token_file != NULL) {
            HS_GUARD(hs_error_context(hs_secret_from_file(a->session_token_file,
                                                          HS_SECRET_LARGE_MAX, &secrets[2 * i + 1]),
                                      "auth.sigv4.access_keys"));
        }
        k->access_key_id = a->access_key_id;
        k->secret_access_key = secrets[2 * i];
        k->session_token = secrets[2 * i + 1];
        k->principal_arn = a->principal_arn;
        HS_GUARD(api_sigv4_cache_new(&caches[i]));
        k->cache = caches[i];
    }
    return HS_OK;
}

static void api_service_sigv4_set(struct api_service *svc)
{
    const struct api_config *cfg = svc->cfg;
    svc->sigv4 =
        (struct api_sigv4_config){cfg->sigv4_region, cfg->sigv4_service, cfg->sigv4_max_skew_s,
                                  svc->sigv4_keys, cfg->naccess_keys};
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
    HS_GUARD(api_service_lock_init(&svc->lock));
    svc->lock_ready = true;
    HS_GUARD(api_service_sigv4_read(cfg, svc->secrets, svc->sigv4_caches, svc->sigv4_keys));
    api_service_sigv4_set(svc);
    if (cfg->console_dir != NULL) {
        HS_GUARD(hs_error_context(api_console_load(cfg->console_dir, &svc->console), "console"));
    }
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

/* --- reload (SIGHUP) -------------------------------------------------------------------------- */

/* What a reload builds before it swaps anything. */
struct api_reload {
    struct api_config *cfg;
    struct hs_secret *secrets[2 * API_ACCESS_KEYS_MAX];
    struct api_sigv4_cache *sigv4_caches[API_ACCESS_KEYS_MAX];
    struct api_sigv4_key sigv4_keys[API_ACCESS_KEYS_MAX];
    struct svc_ctx_reload *svc;
    struct api_console *console; /* the new console's files (NULL: none) */
};

static void api_reload_free(struct api_reload *rl)
{
    if (rl == NULL) {
        return;
    }
    svc_ctx_reload_free(rl->svc);
    api_console_free(rl->console);
    for (size_t i = 0; i < 2 * API_ACCESS_KEYS_MAX; i++) {
        hs_secret_free(rl->secrets[i]);
    }
    for (size_t i = 0; i < API_ACCESS_KEYS_MAX; i++) {
        api_sigv4_cache_free(rl->sigv4_caches[i]);
    }
    api_config_free(rl->cfg);
    OPENSSL_clear_free(rl, sizeof(*rl));
}

static void api_reload_freep(struct api_reload **rl)
{
    api_reload_free(*rl);
}

/* Logs each member that changed but is read only at start. */
static void api_reload_restart_needed(const struct api_config *old, const struct api_config *cfg)
{
    static const char *const fixed[] = {"listen",   "token",          "inventory",
                                        "profiles", "token_profiles", "limits",
                                        "ssh",      "scheduler",      NULL};
    for (size_t i = 0; fixed[i] != NULL; i++) {
        json_object *a = NULL;
        json_object *b = NULL;
        (void)json_object_object_get_ex(old->doc, fixed[i], &a);
        (void)json_object_object_get_ex(cfg->doc, fixed[i], &b);
        if (json_object_equal(a, b) == 0) {
            hs_log(HS_LOG_WARN, "config.reload.restart_needed", HS_LOG_STR("field", fixed[i]));
        }
    }
    json_object *a = NULL;
    json_object *b = NULL;
    (void)json_object_object_get_ex(old->doc, "ca", &a);
    (void)json_object_object_get_ex(cfg->doc, "ca", &b);
    (void)json_object_object_get_ex(a, "key", &a);
    (void)json_object_object_get_ex(b, "key", &b);
    if (json_object_equal(a, b) == 0) {
        hs_log(HS_LOG_WARN, "config.reload.restart_needed", HS_LOG_STR("field", "ca.key"));
    }
}

static HS_RESULT api_reload_build(struct api_service *svc, const char *path,
                                  struct api_reload **out)
{
    HS_DEFER(struct api_reload *rl = OPENSSL_zalloc(sizeof(*rl)), api_reload_freep);
    HS_ENSURE(rl != NULL, HS_ERR_NOMEM);
    HS_GUARD(api_config_load(path, NULL, &rl->cfg));
    const struct api_config *cfg = rl->cfg;
    /* The CA key stays the running one (a new one needs a restart): the new chain must match
     * it. */
    struct svc_config next = svc->svc_cfg;
    next.ca_chain_file = cfg->ca_chain_file;
    next.jwt_issuer = cfg->jwt_issuer;
    next.jwt_default_alg = cfg->jwt_default_alg;
    next.jwt_jwks_file = cfg->jwt_jwks_file;
    next.jwt_keys = cfg->jwt_keys;
    next.njwt_keys = cfg->njwt_keys;
    HS_GUARD(api_service_sigv4_read(cfg, rl->secrets, rl->sigv4_caches, rl->sigv4_keys));
    if (cfg->console_dir != NULL) {
        HS_GUARD(hs_error_context(api_console_load(cfg->console_dir, &rl->console), "console"));
    }
    HS_GUARD(svc_ctx_reload_new(svc->svc, &next, &rl->svc));
    *out = rl;
    rl = NULL;
    return HS_OK;
}

static void api_retired_freep(struct api_retired **node)
{
    OPENSSL_free(*node);
}

HS_RESULT api_service_reload(struct api_service *svc, const char *path)
{
    HS_ENSURE_REF(svc);
    HS_ENSURE_REF(path);
    HS_DEFER(struct api_reload *rl = NULL, api_reload_freep);
    HS_DEFER(struct api_retired *node = OPENSSL_zalloc(sizeof(*node)), api_retired_freep);
    HS_ENSURE(node != NULL, HS_ERR_NOMEM);
    hs_result r = api_reload_build(svc, path, &rl);
    if (hs_failed(r)) {
        hs_log(HS_LOG_ERROR, "config.reload.failed", HS_LOG_STR("path", path), HS_LOG_ERR());
        return r;
    }
    api_reload_restart_needed(svc->cfg, rl->cfg);
    pthread_rwlock_wrlock(&svc->lock);
    /* The old config stays alive: the service's fixed part (svc_cfg) and grants handed to key
     * generation jobs borrow its strings. */
    node->cfg = svc->cfg;
    node->next = svc->old;
    svc->old = node;
    node = NULL;
    svc->cfg = rl->cfg;
    rl->cfg = NULL;
    for (size_t i = 0; i < 2 * API_ACCESS_KEYS_MAX; i++) {
        struct hs_secret *t = svc->secrets[i];
        svc->secrets[i] = rl->secrets[i];
        rl->secrets[i] = t;
    }
    for (size_t i = 0; i < API_ACCESS_KEYS_MAX; i++) {
        struct api_sigv4_cache *t = svc->sigv4_caches[i];
        svc->sigv4_caches[i] = rl->sigv4_caches[i];
        rl->sigv4_caches[i] = t;
    }
    memcpy(svc->sigv4_keys, rl->sigv4_keys, sizeof(svc->sigv4_keys));
    api_service_sigv4_set(svc);
    struct api_console *console = svc->console; /* the old set is freed with rl, unlocked */
    svc->console = rl->console;
    rl->console = console;
    svc_ctx_reload_commit(svc->svc, rl->svc);
    pthread_rwlock_unlock(&svc->lock);
    hs_log(HS_LOG_INFO, "config.reload.done", HS_LOG_STR("path", path),
           HS_LOG_INT("access_keys", (long long)svc->cfg->naccess_keys),
           HS_LOG_INT("console_files", (long long)api_console_count(svc->console)),
           HS_LOG_STR("jwt_kid", svc_ctx_jwt_kid(svc->svc)));
    return HS_OK;
}
