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
#include "signer/sgn_cert.h"
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
};

/* Initialises an empty cache. Errors: HS_ERR_INTERNAL when the mutex cannot be created. */
HS_RESULT svc_crl_cache_init(struct svc_crl_cache *c);

/* Releases the cache's CRL and mutex; only after a successful svc_crl_cache_init(). */
void svc_crl_cache_clear(struct svc_crl_cache *c);

/* The newest active JWT key whose JWS alg is alg (NULL: the newest of all), or NULL. */
const struct sgn_jwt_key *svc_ctx_jwt_key(const struct svc_ctx *ctx, const char *alg);

#endif /* SVC_INTERNAL_H */
