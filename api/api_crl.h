/*
 * api_crl: the CRL that GET /v1/crl serves (RFC 5280 §5), signed by the issuing CA's token key
 * through C_Sign and kept in memory until it is stale.
 *
 * It is regenerated when the inventory's revocation generation has moved (a certificate was
 * revoked, here or by another instance sharing the store), or when half of its validity has
 * passed, so a fresh CRL is always available well before nextUpdate. Each regeneration takes
 * the next CRL number from the inventory (durable, so numbers never repeat across restarts or
 * instances, §5.2.3). Revoked certificates leave the CRL once they have expired (§3.3).
 */
#ifndef API_CRL_H
#define API_CRL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"
#include "signer/sgn_cert.h"
#include "store/st_inventory.h"

struct api_crl_cache {
    pthread_mutex_t lock;
    struct hs_buf *der; /* the current CRL (DER), NULL before the first one */
    uint64_t generation;
    time_t this_update;
    time_t next_update;
    uint64_t number;
};

/* Initialises an empty cache. Errors: HS_ERR_INTERNAL when the mutex cannot be created. */
HS_RESULT api_crl_cache_init(struct api_crl_cache *c);

/* Releases the cache's CRL and mutex; only after a successful api_crl_cache_init(). */
void api_crl_cache_clear(struct api_crl_cache *c);

/* Returns a copy of the current CRL (DER) in *out, first regenerating it when it is stale
 * (see above): the revoked, unexpired certificates of inv, thisUpdate = now, nextUpdate = now +
 * validity_s (seconds). Thread-safe; one regeneration at a time. Errors: HS_ERR_HSM_* from
 * C_Sign, HS_ERR_IO / HS_ERR_STORE from the inventory, HS_ERR_CRYPTO, HS_ERR_NOMEM. The caller
 * frees *out with hs_buf_free(). */
HS_RESULT api_crl_get(struct api_crl_cache *c, struct st_inventory *inv,
                      const struct sgn_issuer *issuer, long validity_s, time_t now,
                      struct hs_buf **out);

#endif /* API_CRL_H */
