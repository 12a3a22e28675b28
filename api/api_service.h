/*
 * api_service: what hsmsignd holds while it runs: the token pool, the issuing CA, the JWT keys
 * and their published JWK Set and OpenID Connect discovery document, the SigV4 credentials,
 * the certificate inventory, the CRL cache and the metrics. Built once at start (token init,
 * login, key lookup, inventory open) before the first request is answered; shared by all
 * request threads afterwards (the pool, keys, inventory, CRL cache and metrics are
 * thread-safe; the rest is read-only).
 */
#ifndef API_SERVICE_H
#define API_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "api/api_config.h"
#include "api/api_crl.h"
#include "api/api_metrics.h"
#include "api/api_sigv4.h"
#include "common/hs_err.h"
#include "common/hs_secret.h"
#include "pkcs11/p11_module.h"
#include "pkcs11/p11_pool.h"
#include "signer/sgn_cert.h"
#include "signer/sgn_jwt.h"
#include "store/st_inventory.h"

struct api_service {
    struct api_config *cfg;
    struct p11_module *module;
    struct p11_pool *pool;
    struct sgn_issuer *issuer;
    struct sgn_jwt_key *jwt_keys[SGN_JWT_KEYS_MAX]; /* newest first; all are published */
    size_t njwt_keys;
    const struct sgn_jwt_key *jwt_default; /* signs when a request names no alg */
    char *jwks_json;                       /* {"keys": [...]}, malloc'ed */
    char *openid_config_json; /* OpenID Connect Discovery 1.0 §3 metadata, malloc'ed */
    struct st_inventory *inventory;
    struct api_crl_cache crl;
    bool crl_ready; /* crl was initialised */
    struct api_metrics metrics;
    struct hs_secret *secrets[2 * API_ACCESS_KEYS_MAX];
    struct api_sigv4_key sigv4_keys[API_ACCESS_KEYS_MAX];
    struct api_sigv4_config sigv4;
};

/* Opens everything cfg names: loads the module, logs in, finds the CA and JWT keys, loads and
 * verifies the CA chain, reads the SigV4 secrets, opens the inventory. Takes ownership of cfg
 * (also on failure). Errors: HS_ERR_HSM_*, HS_ERR_INPUT_CONFIG, HS_ERR_CRYPTO, HS_ERR_IO
 * (inventory). The caller frees *out with api_service_free(). */
HS_RESULT api_service_new(struct api_config *cfg, struct api_service **out);

/* The newest active JWT key whose JWS alg is alg (NULL: the default key), or NULL. */
const struct sgn_jwt_key *api_service_jwt_key(const struct api_service *svc, const char *alg);

void api_service_free(struct api_service *svc);
void api_service_freep(struct api_service **svc);

#endif /* API_SERVICE_H */
