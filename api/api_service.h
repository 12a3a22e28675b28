/*
 * api_service: what hsmsignd holds while it runs: the token pool, the issuing CA, the JWT keys
 * and their published JWK Set, and the SigV4 credentials. Built once at start (token init,
 * login, key lookup) before the first request is answered; shared read-only by all request
 * threads afterwards (the pool and keys are thread-safe).
 */
#ifndef API_SERVICE_H
#define API_SERVICE_H

#include <stddef.h>
#include <time.h>

#include "api_config.h"
#include "api_sigv4.h"
#include "hs_err.h"
#include "hs_secret.h"
#include "p11_module.h"
#include "p11_pool.h"
#include "sgn_cert.h"
#include "sgn_jwt.h"

struct api_service {
    struct api_config *cfg;
    struct p11_module *module;
    struct p11_pool *pool;
    struct sgn_issuer *issuer;
    struct sgn_jwt_key *jwt_keys[SGN_JWT_KEYS_MAX]; /* [0] signs; all are published */
    size_t njwt_keys;
    char *jwks_json; /* {"keys": [...]}, malloc'ed */
    struct hs_secret *secrets[2 * API_ACCESS_KEYS_MAX];
    struct api_sigv4_key sigv4_keys[API_ACCESS_KEYS_MAX];
    struct api_sigv4_config sigv4;
};

/* Opens everything cfg names: loads the module, logs in, finds the CA and JWT keys, loads and
 * verifies the CA chain, reads the SigV4 secrets. Takes ownership of cfg (also on failure).
 * Errors: HS_ERR_HSM_*, HS_ERR_INPUT_CONFIG, HS_ERR_CRYPTO. The caller frees *out with
 * api_service_free(). */
HS_RESULT api_service_new(struct api_config *cfg, struct api_service **out);

void api_service_free(struct api_service *svc);
void api_service_freep(struct api_service **svc);

#endif /* API_SERVICE_H */
