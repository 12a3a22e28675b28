/*
 * service/internal.h: the service context's layout and the helpers shared by service/'s files.
 * Nothing outside service/ includes it.
 */
#ifndef SVC_INTERNAL_H
#define SVC_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/hs_buf.h"
#include "pkcs11/p11_module.h"
#include "service/svc_ctx.h"
#include "service/svc_sshkey.h"
#include "signer/sgn_cert.h"
#include "signer/sgn_ssh_cert.h"
#include "store/st_inventory.h"

/* The CRL that GET /v1/crl serves, until it is stale (svc_crl.h). */
struct svc_crl_cache {
    pthread_mutex_t lock;
    struct hs_buf *der; /* the current CRL (DER), NULL before the first one */
    uint64_t generation;
    time_t this_update;
    time_t next_update;
    uint64_t number;
};

/* The KRL that GET /v1/ssh/krl serves, until it is stale (svc_ssh.h). */
struct svc_krl_cache {
    pthread_mutex_t lock;
    struct hs_buf *krl; /* the current KRL, NULL before the first one */
    uint64_t generation;
    time_t generated;
    uint64_t version;
};

/* One published SSH CA key. */
struct svc_ssh_ca_entry {
    struct sgn_ssh_ca *ca;
    unsigned char blob_sha256[ST_INV_KEY_HASH_LEN]; /* the inventory's issuer_key_sha256 */
};

/* The SSH CAs (newest first: [0] signs), their published lines and the KRL cache. */
struct svc_ssh_state {
    struct svc_ssh_ca_entry user[SVC_SSH_CA_KEYS_MAX];
    size_t nuser;
    struct svc_ssh_ca_entry host[SVC_SSH_CA_KEYS_MAX];
    size_t nhost;
    char *ca_json; /* {"user_ca": [lines], "host_ca": [lines]}, malloc'ed */
    struct svc_krl_cache krl;
    bool krl_ready; /* krl was initialised */
};

struct svc_ctx {
    struct svc_config cfg; /* a shallow copy; what it points to is the front end's */
    struct p11_module *module;
    struct p11_pool *pool;
    struct sgn_issuer *issuer;
    struct sgn_jwt_key *jwt_keys[SGN_JWT_KEYS_MAX]; /* newest first; all are published */
    size_t njwt_keys;
    const struct sgn_jwt_key *jwt_default; /* signs when a request names no alg */
    char *jwks_json;                       /* {"keys": [...]}, malloc'ed */
    char *openid_json; /* OpenID Connect Discovery 1.0 §3 metadata, malloc'ed */
    struct st_inventory *inventory;
    struct svc_crl_cache crl;
    bool crl_ready; /* crl was initialised */
    struct svc_ssh_state ssh;
    struct svc_sshkey_backend sshkey; /* SSH key generation; submit NULL = not configured */
    /* The JWT key of each token profile (cfg.token_profiles->items[i]), bound at start. */
    const struct sgn_jwt_key *token_profile_keys[SVC_TOKEN_PROFILES_MAX];
};

/* Fails (HS_ERR_INPUT_CONFIG naming ssh.user_ca / ssh.host_ca and the other role) when one of
 * ssh's CA keys is keys' issuing CA key or one of its JWT keys (one key, one role; svc_ssh.c).
 * Used by a reload, whose new JWT keys are checked against the running SSH CAs. */
HS_RESULT svc_ssh_roles_check(const struct svc_ctx *keys, const struct svc_ssh_state *ssh);

/* Initialises an empty cache. Errors: HS_ERR_INTERNAL when the mutex cannot be created. */
HS_RESULT svc_crl_cache_init(struct svc_crl_cache *c);

/* Releases the cache's CRL and mutex; only after a successful svc_crl_cache_init(). */
void svc_crl_cache_clear(struct svc_crl_cache *c);

/* Finds and wraps the configured SSH CA keys and builds the published CA document; nothing
 * configured is not an error (the SSH operations then answer not found). Errors: as
 * p11_key_find(), p11_key_check_protected() and sgn_ssh_ca_new(), with the field named
 * ("ssh.user_ca[1]"); HS_ERR_INPUT_CONFIG when one token key (same public key) is listed twice,
 * in one list or as both user and host CA, naming both entries, or when it is the issuing CA's
 * key or a JWT key (one key, one role; needs ctx->issuer and ctx->jwt_keys loaded first);
 * HS_ERR_INTERNAL (mutex). */
HS_RESULT svc_ssh_init(struct svc_ctx *ctx);

/* Releases what svc_ssh_init() made (also after its failure). */
void svc_ssh_clear(struct svc_ssh_state *ssh);

/* Stops the SSH key generation backend (its workers) and wipes its jobs and results; NULL
 * and an unset backend are accepted. */
void svc_sshkey_stop(struct svc_ctx *ctx);

/* Binds each configured token profile to its JWT key (by kid, jwt.keys reference or token
 * label), which must sign with the profile's alg. Errors: HS_ERR_INPUT_CONFIG naming the
 * profile ("token_profiles.NAME.key"). */
HS_RESULT svc_token_profiles_bind(struct svc_ctx *ctx);

/* The newest active JWT key whose JWS alg is alg (NULL: the newest of all), or NULL. */
const struct sgn_jwt_key *svc_ctx_jwt_key(const struct svc_ctx *ctx, const char *alg);

/* ctx's inventory put (st_inventory.h) of rec, timed for svc_inventory_latency_get. Errors:
 * the store's. */
HS_RESULT svc_inventory_put(struct svc_ctx *ctx, const struct st_cert_record *rec);

/* ctx's inventory revoke (st_inventory.h), timed as svc_inventory_put. Errors: the store's. */
HS_RESULT svc_inventory_revoke(struct svc_ctx *ctx, const char *serial_hex, time_t at, int reason,
                               bool *changed);

#endif /* SVC_INTERNAL_H */
