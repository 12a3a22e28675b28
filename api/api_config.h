/*
 * api_config: hsmsignd's configuration file (strict JSON, validated completely at start).
 *
 * The reference -- every member with its type, default, range and meaning, and what SIGHUP
 * reloads -- is docs/config.md; the JSON Schema is docs/schema/hsmsignd.schema.json, kept in
 * agreement with this parser by tests/schema/check.sh (a member added here must be added there).
 * Unknown keys, missing fields and out-of-range values are errors naming the field. The secret
 * access keys live in 0600 files named by the config, never in the config itself.
 */
#ifndef API_CONFIG_H
#define API_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "api/api_policy.h"
#include "common/hs_err.h"
#include "pkcs11/p11_config.h"
#include "service/svc_ctx.h"
#include "service/svc_profile.h"
#include "service/svc_sshkey.h"
#include "signer/sgn_jwt.h"
#include "store/st_config.h"

#define API_CONFIG_MAX (256 * 1024)
#define API_ACCESS_KEYS_MAX 64
#define API_LISTEN_MAX 128
#define API_PROXIES_MAX 16
#define API_HEADER_NAME_MAX 64
#define API_LIMIT_CONNECTIONS 256
#define API_LIMIT_CONNECTIONS_PER_IP 32
#define API_LIMIT_CONNECTION_TIMEOUT_S 30
#define API_LIMIT_REQUEST_TIMEOUT_S 10
#define API_LIMIT_WORKERS 8 /* least default workers (the default is 2 x pool_size) */
#define API_LIMIT_WORKERS_MAX 256
#define API_LIMIT_SHUTDOWN_GRACE_S 10
#define API_SSH_KRL_VALIDITY_S 3600L
#define API_SSH_KRL_VALIDITY_MIN_S 60L
#define API_SSH_KRL_VALIDITY_MAX_S 86400L

struct api_access_key_config {
    const char *access_key_id;
    const char *secret_file;
    const char *session_token_file; /* optional */
    const char *principal_arn;
};

/* The parsed configuration; strings point into doc, which it owns. */
struct api_config {
    json_object *doc;
    char listen[API_LISTEN_MAX];
    struct p11_token_config token;
    const char *ca_key;
    const char *ca_chain_file;
    long default_ttl_hours;
    long max_ttl_hours;
    const char *crl_url;          /* CRL distribution point put into every leaf; NULL = none */
    struct svc_profiles profiles; /* "profiles", or the default client and server */
    long crl_validity_s;          /* nextUpdate - thisUpdate */
    struct st_config inventory;   /* the store (st_config.h); strings point into doc */
    const char *jwt_issuer;
    const char *jwt_default_alg;                       /* NULL = the newest key's alg */
    const char *jwt_jwks_file;                         /* either this ... */
    struct sgn_jwt_key_ref jwt_keys[SGN_JWT_KEYS_MAX]; /* ... or these; [0] signs */
    size_t njwt_keys;
    long jwt_default_ttl_s;
    long jwt_max_ttl_s;
    bool has_sigv4;
    const char *sigv4_region;
    const char *sigv4_service;
    long sigv4_max_skew_s;
    struct api_access_key_config access_keys[API_ACCESS_KEYS_MAX];
    size_t naccess_keys;
    const char *mtls_proxy_header; /* NULL = no client certificates from headers */
    const char *trusted_proxies[API_PROXIES_MAX];
    size_t ntrusted_proxies;
    struct svc_token_profiles token_profiles; /* "token_profiles" (none when absent) */
    struct api_policy policy;
    bool has_ssh;                                 /* "ssh" is present */
    const char *ssh_user_ca[SVC_SSH_CA_KEYS_MAX]; /* newest first; [0] signs */
    size_t nssh_user_ca;
    const char *ssh_host_ca[SVC_SSH_CA_KEYS_MAX]; /* newest first; [0] signs */
    size_t nssh_host_ca;
    long ssh_krl_validity_s;             /* seconds */
    struct svc_sshkey_config ssh_keygen; /* "ssh": {"keygen": ...}, defaults filled in */
    /* "ssh": {"keygen": {"queue_url", "sqs_region", "sqs_endpoint"}}: the AWS shape
     * (api_keygen.h) when queue_url is set (NULL otherwise); point into doc. */
    const char *ssh_keygen_queue_url;
    const char *ssh_keygen_sqs_region;   /* NULL: the DynamoDB inventory's region */
    const char *ssh_keygen_sqs_endpoint; /* NULL: the region's SQS endpoint */
    long max_connections;                /* limits: see above */
    long max_connections_per_ip;
    long connection_timeout_s; /* seconds */
    long request_timeout_s;    /* seconds */
    long workers;              /* resolved: never 0 (api_config.c api_size_workers) */
    long shutdown_grace_s;     /* seconds */
    /* "console": {"dir"}: the web console's files served at /ui/ (api_console.h); NULL = none
     * (/ui/ answers 404). Points into doc. */
    const char *console_dir;
};

/* Reads and validates the config at path; listen_override (may be NULL, e.g. $HSMSIGN_LISTEN)
 * replaces "listen". Errors: HS_ERR_INPUT_* naming the field, HS_ERR_INPUT_NOT_FOUND, HS_ERR_IO.
 * The caller frees *out with api_config_free(). */
HS_RESULT api_config_load(const char *path, const char *listen_override, struct api_config **out);

void api_config_free(struct api_config *cfg);
void api_config_freep(struct api_config **cfg);

#endif /* API_CONFIG_H */
