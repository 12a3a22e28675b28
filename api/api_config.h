/*
 * api_config: hsmsignd's configuration file (strict JSON, validated completely at start).
 *
 *   {
 *     "listen": "127.0.0.1:8080",
 *     "token": {"module": "...", "label": "...", "pin_file": "...", "pool_size": 4},
 *     "ca": {"key": "pkcs11:token=...;object=...;type=private",
 *            "chain_file": "var/dev/ceremony/truststore.pem",
 *            "default_ttl_hours": 12, "max_ttl_hours": 24,
 *            "crl_url": "https://pki.example.com/v1/crl", "crl_validity_hours": 24},
 *     "profiles": {"client": {"extended_key_usage": ["clientAuth"]},
 *                  "server": {"extended_key_usage": ["serverAuth"],
 *                             "key_usage": ["digitalSignature", "keyEncipherment"],
 *                             "require_dns_san": true, "max_ttl_hours": 24}},
 *     "inventory": {"sqlite": "var/dev/inventory.db"},
 *        or {"dynamodb": {"table": "hsmsign-inventory", "region": "eu-west-1",
 *                         "endpoint": "http://127.0.0.1:8000", "timeout_ms": 3000}},
 *     "jwt": {"issuer": "http://127.0.0.1:8080",
 *             "jwks_file": "var/dev/ceremony/jwks.json", "default_alg": "ES256",
 *             "default_ttl_seconds": 300, "max_ttl_seconds": 3600},
 *     "token_profiles": {"snowflake-analyst": {
 *             "audience": "https://xy12345.snowflakecomputing.com", "ttl_seconds": 600,
 *             "alg": "RS256", "key": "<kid, jwt.keys reference or label>",
 *             "subject": {"from": "role_session_name", "strip_domain": "@example.com",
 *                         "lookup": {"alice": "ALICE"}},
 *             "claims": {"scp": "session:role:ANALYST"}, "claims_from_policy": false}},
 *     "auth": {"sigv4": {"region": "us-east-1", "service": "execute-api",
 *                        "max_skew_seconds": 300,
 *                        "access_keys": [{"access_key_id": "AKIA...",
 *                                         "secret_file": "var/dev/access-key.secret",
 *                                         "principal_arn": "arn:aws:iam::...:user/dev"}]},
 *              "mtls": {"proxy_header": "X-Client-Cert", "trusted_proxies": ["127.0.0.1"]}},
 *     "policy": {... api_policy.h ...},
 *     "ssh": {"user_ca": ["pkcs11:token=...;object=ssh-user-ca-2;type=private", "ssh-user-ca-1"],
 *             "host_ca": ["ssh-host-ca-1"], "krl_validity_seconds": 3600,
 *             "keygen": {"workers": 2, "queue_max": 64, "result_ttl_seconds": 300,
 *                        "pending_per_principal_max": 8}},
 *     "limits": {"max_connections": 256, "max_connections_per_ip": 32,
 *                "request_timeout_seconds": 10, "connection_timeout_seconds": 30, "workers": 8,
 *                "shutdown_grace_seconds": 10}
 *   }
 *
 * "auth" is optional: without "sigv4" no request is accepted by SigV4 (in Lambda mode API
 * Gateway authenticates); without "mtls" no client certificate is taken from a header. With
 * "mtls", the header (a URL-encoded PEM, as nginx's $ssl_client_escaped_cert or Envoy's
 * forwarded certificate) is believed only from the trusted proxies' addresses. "policy" is
 * required (an empty rule list denies everything; api_policy.h: whole-label DNS patterns,
 * "allow_wildcards" for wildcard SANs, email and URI patterns matched part by part). The inventory is required: no certificate
 * leaves without a committed record. It is exactly one of "sqlite" (a file path; the store of
 * st_inventory.h, for a single host) or "dynamodb" (st_dynamodb.h, for Lambda and
 * ECS, where instances share the table), parsed into a struct st_config that
 * st_inventory_open() (store/st_config.h) opens: "table" and "region" are required; "endpoint"
 * (default https://dynamodb.<region>.amazonaws.com; plain http only to a loopback address, for
 * dynalite or DynamoDB Local) and "timeout_ms" (per HTTP attempt, 10..60000, default 3000) are
 * optional. Its credentials come from the environment (AWS_ACCESS_KEY_ID...) or the ECS
 * container credentials endpoint, never from the config.
 *
 * "profiles" is optional (svc_profile.h): each member names a certificate profile (its extended
 * key usages, key usages, whether it needs a DNS SAN, its lifetime caps within the CA's, the RSA
 * public exponents it accepts: "rsa_public_exponents", 65537 by default); the
 * first listed is the default. Without it the service has "client" (the default) and "server"
 * as above, with the CA's lifetimes. The policy's rules name these profiles.
 *
 * The JWT keys come either from "jwks_file", the JWK Set the key ceremony publishes and rotates
 * (the service finds each key on the token by its public key, publishes them all and signs
 * with the first, the newest), or from "keys": [{"key": URI or label, "alg": "ES256"}] (the
 * first signs). Exactly one of the two.
 * "token_profiles" is optional (service/svc_token_profile.h has every member, its bounds and
 * the subject derivation): each names a token profile that POST /v1/tokens {"profile": NAME}
 * uses; it fixes the audience, lifetime (1..jwt.max_ttl_seconds), alg and signing key (checked
 * against the JWT keys at start), derives "sub" from the caller's principal ("from":
 * "user_name" of an IAM user, "role_session_name" of an assumed role, or "principal_arn";
 * "strip_domain" must end the name and is removed; a "lookup" table, when given, must hold the
 * result), and adds fixed "claims" (never iss, sub, aud, exp, nbf, iat, jti or cnf: "token_profiles.
 * NAME" and the claim are named in the error) and, with "claims_from_policy", the allowing
 * rule's "token_claims". A policy rule's "token_profiles" must name configured profiles.
 * "limits" is optional; each member has the default shown (api_http.h): "max_connections"
 * (1..10000) open connections in all and "max_connections_per_ip" (1..10000) from one peer
 * address, beyond which a connection gets 503 and is closed; "request_timeout_seconds"
 * (1..300), the deadline for a whole request (request line, headers and body, from its first
 * byte), past which the connection gets 408 and is closed however slowly bytes still come;
 * "connection_timeout_seconds" (1..600), how long an idle keep-alive connection waits for the
 * next request (and a response waits to be read); "workers" (1..256), the threads that run
 * requests (they wait for the token); "shutdown_grace_seconds" (1..3600, default 10), after SIGTERM
 * or SIGINT, how long answers still being written may take before their connections are closed.
 * "ssh" is optional; without it the SSH routes answer 404 ("SSH is not configured"). "user_ca"
 * and "host_ca" list the token keys (PKCS#11 URI, RFC 7512, or label, as "ca.key") of the SSH
 * user and host CAs, newest first, 1..SVC_SSH_CA_KEYS_MAX each: the first signs, all are
 * published (GET /v1/ssh/ca) and revoked against (GET /v1/ssh/krl), so a new key goes in front
 * and an old one stays listed until no certificate it signed is still valid (rotation). At least
 * one of the two is required; a request for a certificate type without a CA gets 404. Each key
 * is checked at start (found, protected, an Ed25519, EC P-256/P-384 or RSA 2048..8192 key, its
 * mechanism offered, and no token key listed twice -- in one list, or as user and host CA --
 * under any reference; the error names the field, e.g. "ssh.user_ca[1]").
 * "krl_validity_seconds" (60..86400, default 3600) is how long a generated KRL is served before
 * it is regenerated without a revocation (so expired certificates leave it); a revocation
 * regenerates it at the next request (docs/ssh.md).
 * "keygen" (optional; defaults when absent) sets the in-process queue of server-side key
 * generation (POST /v1/ssh/keys, service/svc_sshkey.h): "workers" (1..64, default 2) threads
 * make and certify keys; "queue_max" (1..65536, default 64) jobs may wait, beyond which a request
 * gets 503 with Retry-After; "result_ttl_seconds" (1..86400, default 300) is how long a job and
 * its unfetched result are kept before they are wiped; "pending_per_principal_max" (1..65536,
 * default 8) bounds one caller's jobs and unfetched results (503 beyond). "queue_url" (optional)
 * switches to the AWS shape (api/api_keygen.h, docs/keygen-aws.md): jobs go to that SQS queue
 * and results to the DynamoDB inventory, which it requires; "recipient" is then required on
 * POST /v1/ssh/keys; "sqs_region" (default: the inventory's region) and "sqs_endpoint" (tests:
 * http:// to a loopback address only) name the queue's service; "workers" and "queue_max" are
 * then unused.
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
#define API_LIMIT_WORKERS 8
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
    long workers;
    long shutdown_grace_s; /* seconds */
};

/* Reads and validates the config at path; listen_override (may be NULL, e.g. $HSMSIGN_LISTEN)
 * replaces "listen". Errors: HS_ERR_INPUT_* naming the field, HS_ERR_INPUT_NOT_FOUND, HS_ERR_IO.
 * The caller frees *out with api_config_free(). */
HS_RESULT api_config_load(const char *path, const char *listen_override, struct api_config **out);

void api_config_free(struct api_config *cfg);
void api_config_freep(struct api_config **cfg);

#endif /* API_CONFIG_H */
