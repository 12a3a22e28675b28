/*
 * svc_ctx: what the service holds while it runs: the token module and its session pool, the
 * issuing CA, the JWT keys with their published JWK Set and OpenID Connect discovery document,
 * the certificate profiles, the inventory and the CRL cache. Built once at start (token init,
 * login, key lookup, inventory open) before the first request; shared by all request threads
 * afterwards (the pool, keys, inventory and CRL cache are thread-safe; the rest is read-only).
 *
 * The service knows nothing of HTTP or Lambda. Its operations (svc_issue.h, svc_revoke.h,
 * svc_crl.h, svc_token.h, svc_device.h) take the caller (struct svc_caller) and a request struct
 * of their own, and return a result struct or an hs_result whose class the front end maps to its
 * status (INPUT, AUTH, POLICY, HSM, INTERNAL).
 */
#ifndef SVC_CTX_H
#define SVC_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "common/hs_err.h"
#include "common/hs_hist.h"
#include "pkcs11/p11_config.h"
#include "pkcs11/p11_pool.h"
#include "service/svc_profile.h"
#include "service/svc_token_profile.h"
#include "signer/sgn_jwt.h"
#include "signer/sgn_ssh_cert.h"
#include "store/st_config.h"

#define SVC_SSH_CA_KEYS_MAX 8 /* SSH CA keys of one type (rotation: newest first) */

/* What the service is built from. Everything is borrowed and must outlive the context (the
 * front end's parsed config file holds it). */
struct svc_config {
    const struct p11_token_config *token;
    const char *ca_key;        /* PKCS#11 URI or label of the issuing CA's key */
    const char *ca_chain_file; /* PEM: the issuing certificate, then up to the root */
    const char *crl_url;       /* CRL distribution point put into every leaf; NULL = none */
    long crl_validity_s;       /* nextUpdate - thisUpdate, seconds */
    const struct svc_profiles *profiles;
    const struct st_config *inventory;      /* the store (store/st_config.h) */
    const char *jwt_issuer;                 /* iss of every token (a URL) */
    const char *jwt_default_alg;            /* NULL = the newest key's alg */
    const char *jwt_jwks_file;              /* either this ... */
    const struct sgn_jwt_key_ref *jwt_keys; /* ... or these; [0] signs */
    size_t njwt_keys;
    long jwt_default_ttl_s; /* seconds, when a request names none (before the policy's cap) */
    long jwt_max_ttl_s;     /* seconds */
    /* SSH CAs (svc_ssh.h): token key references, newest first ([0] signs, all are published).
     * No key of either type: the SSH operations fail with HS_ERR_INPUT_NOT_FOUND. */
    const char *const *ssh_user_ca;
    size_t nssh_user_ca;
    const char *const *ssh_host_ca;
    size_t nssh_host_ca;
    long ssh_krl_validity_s; /* seconds a KRL is served before it is regenerated anyway */
    /* Token profiles (svc_token_profile.h); NULL = none. Each profile's key is bound to one of
     * the JWT keys at start (svc_ctx_new fails with HS_ERR_INPUT_CONFIG naming the profile). */
    const struct svc_token_profiles *token_profiles;
};

struct svc_ctx;

/* A certificate request as the authorisation callback sees it. */
struct svc_cert_ask {
    const char *profile;       /* the profile's name */
    const char *cn;            /* NULL when the CSR has none */
    const GENERAL_NAMES *sans; /* the SANs to be certified (never NULL) */
    long ttl_s;                /* requested lifetime, seconds; 0 = not given */
};

/* An SSH certificate request as the authorisation callback sees it (borrowed). */
struct svc_ssh_ask {
    enum sgn_ssh_cert_type type;
    const char *const *principals;
    size_t nprincipals;
    long ttl_s;            /* requested lifetime, seconds; 0 = not given */
    bool extensions_given; /* false: the policy's defaults */
    const char *const *extensions;
    size_t nextensions;
    const char *force_command;  /* NULL = not asked for */
    const char *source_address; /* NULL = not asked for */
};

#define SVC_SSH_GRANT_EXTENSIONS_MAX 8

/* What the authorisation grants: used as is (the policy sorts the extensions). Strings are
 * static or borrowed from the ask or the front end's configuration. */
struct svc_ssh_grant {
    long ttl_s; /* seconds, > 0 */
    const char *extensions[SVC_SSH_GRANT_EXTENSIONS_MAX];
    size_t nextensions;
    const char *force_command;  /* NULL = none */
    const char *source_address; /* NULL = none */
};

/* A token request as the authorisation callback sees it (borrowed). */
struct svc_token_ask {
    const char *audience; /* the aud claim */
    long ttl_s;           /* requested lifetime, seconds; 0 = not given */
    const char *profile;  /* the token profile's name (its audience and ttl_s above); NULL = none */
};

/* What the authorisation grants a token. */
struct svc_token_grant {
    long ttl_s; /* seconds, > 0 */
    /* Claims the policy adds (a JSON object borrowed from the front end's configuration, checked
     * by svc_token_claims_check at load); NULL = none. Used only when the profile says
     * claims_from_policy. */
    json_object *claims;
};

/* The front end's authorisation (its policy decides, the service asks). Each callback returns
 * HS_OK to allow, or a failure (HS_ERR_POLICY_DENIED) that the service returns unchanged; arg is
 * the front end's own. */
struct svc_authz {
    void *arg;
    /* May the caller have this certificate? On success *ttl_s is the lifetime to use, seconds
     * (the request's, or default_ttl_s capped by the policy). */
    HS_MUST_USE hs_result (*cert)(void *arg, const struct svc_cert_ask *ask, long default_ttl_s,
                                  long *ttl_s);
    /* May the caller have this token (for a profile: may it use the profile)? On success
     * out->ttl_s is the lifetime to use (the request's, or default_ttl_s capped by the policy;
     * a profile's own), and out->claims what the policy adds. */
    HS_MUST_USE hs_result (*token)(void *arg, const struct svc_token_ask *ask, long default_ttl_s,
                                   struct svc_token_grant *out);
    /* May the caller read and revoke a certificate that requester asked for? */
    HS_MUST_USE hs_result (*manage)(void *arg, const char *requester);
    /* May the caller have this SSH certificate? On success *out is the grant. A malformed ask
     * fails with HS_ERR_INPUT_FIELD / HS_ERR_INPUT_RANGE naming the field. */
    HS_MUST_USE hs_result (*ssh)(void *arg, const struct svc_ssh_ask *ask,
                                 struct svc_ssh_grant *out);
    /* May the caller see every certificate (an admin), not only its own? NULL: no. */
    bool (*sees_all)(void *arg);
};

/* Who is calling, as the front end authenticated it. */
struct svc_caller {
    const char *principal; /* IAM principal ARN, or "x509:" + subject for a device (svc_device.h) */
    /* A device's certificate thumbprint (base64url SHA-256 of its DER, RFC 8705 §3.1
     * x5t#S256): tokens it gets are bound to it. NULL for an IAM caller. */
    const char *x5t_s256;
    const struct svc_authz *authz; /* never NULL for an operation that needs a decision */
};

/* Opens everything cfg names: loads the module, logs in, finds the CA and JWT keys, loads and
 * verifies the CA chain, builds the JWK Set and discovery document, opens the inventory. cfg is
 * borrowed (see above). Errors: HS_ERR_HSM_*, HS_ERR_INPUT_CONFIG, HS_ERR_CRYPTO, HS_ERR_IO /
 * HS_ERR_STORE (inventory); the detail names the config field. The caller frees *out with
 * svc_ctx_free(). p11_evp_init() must have run. */
HS_RESULT svc_ctx_new(const struct svc_config *cfg, struct svc_ctx **out);

void svc_ctx_free(struct svc_ctx *ctx);
void svc_ctx_freep(struct svc_ctx **ctx);

/* How long the inventory's writes took until durable, process-wide, as a histogram for
 * /metrics (bounds 100 us to 1 s; the shape in hs_hist.h): each certificate's and SSH
 * certificate's record before its answer, and each revocation, whether it succeeded or not.
 * SQLite's is the group commit with its WAL fsync, DynamoDB's the conditional write. *out is
 * the caller's. */
void svc_inventory_latency_get(struct hs_hist_snapshot *out);

/* A reload of what can change without a restart (SIGHUP): the CA chain file, the JWT keys (the
 * JWK Set file's content, or jwt.keys) and what hangs off them (JWK Set and discovery document,
 * token profile keys). Built off to the side by svc_ctx_reload_new, swapped in by
 * svc_ctx_reload_commit, freed with svc_ctx_reload_free. */
struct svc_ctx_reload;

/* Builds the new state from next (only ca_chain_file, jwt_issuer, jwt_default_alg,
 * jwt_jwks_file, jwt_keys and njwt_keys are used; the rest stays ctx's; next's strings must
 * outlive ctx) with ctx's token session pool: the CA key is found again and verified against the
 * new chain, each JWT key is found and checked, the token profiles are bound to the new keys.
 * ctx is not changed. Errors: as svc_ctx_new's for those fields, the detail naming the field.
 * The caller frees *out with svc_ctx_reload_free (after or instead of committing it). */
HS_RESULT svc_ctx_reload_new(struct svc_ctx *ctx, const struct svc_config *next,
                             struct svc_ctx_reload **out);

/* Swaps the new state into ctx; rl then holds the old one, for svc_ctx_reload_free. Cannot fail.
 * The caller guarantees that no request uses ctx meanwhile (api_service's write lock). */
void svc_ctx_reload_commit(struct svc_ctx *ctx, struct svc_ctx_reload *rl);

/* The kid of the key that signs now (for the reload's log line); lent. */
const char *svc_ctx_jwt_kid(const struct svc_ctx *ctx);

void svc_ctx_reload_free(struct svc_ctx_reload *rl);
void svc_ctx_reload_freep(struct svc_ctx_reload **rl);

/* Whether a token session answers (C_GetSessionInfo on a pooled session). Errors:
 * HS_ERR_HSM_*. */
HS_RESULT svc_ctx_ping(struct svc_ctx *ctx);

/* Lend: the pool (for metrics), the JWK Set ({"keys": [...]}) and the OpenID Connect Discovery
 * 1.0 §3 metadata (both NUL-terminated JSON), valid while ctx lives. */
struct p11_pool *svc_ctx_get0_pool(const struct svc_ctx *ctx);
const char *svc_ctx_get0_jwks_json(const struct svc_ctx *ctx);
const char *svc_ctx_get0_openid_json(const struct svc_ctx *ctx);

/* Lends the issuing chain as loaded from ca.chain_file (PEM, NUL-terminated: the issuing
 * certificate first, then its issuers up to the root), valid while ctx lives; what
 * GET /v1/ca serves (RFC 8555 §9.1). */
const char *svc_ctx_get0_chain_pem(const struct svc_ctx *ctx);

#endif /* SVC_CTX_H */
