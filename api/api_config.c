#include "api/api_config.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "common/hs_json.h"
#include "pkcs11/p11_key.h"
#include "service/svc_sched.h"
#include "signer/sgn_cert.h"
#include "signer/sgn_ext.h"
#include "signer/sgn_jwt.h"

#define API_PATH_MAX 1024
#define API_ARN_MAX 2048
#define API_AKID_MAX 128
#define API_CRL_HOURS_MAX (24 * 7)
#define API_HEADER_NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

void api_config_free(struct api_config *cfg)
{
    if (cfg != NULL) {
        json_object_put(cfg->doc);
        OPENSSL_free(cfg);
    }
}

void api_config_freep(struct api_config **cfg)
{
    api_config_free(*cfg);
}

static HS_RESULT api_input_file(json_object *obj, const char *key, bool required, const char **out)
{
    HS_GUARD(hs_json_get_string(obj, key, required, API_PATH_MAX, out));
    HS_ENSURE_MSG(*out == NULL || hs_file_exists(*out), HS_ERR_INPUT_NOT_FOUND,
                  "field \"%s\": %s does not exist", key, *out);
    return HS_OK;
}

static HS_RESULT api_parse_ca(json_object *doc, struct api_config *cfg)
{
    static const char *const allowed[] = {
        "key", "chain_file", "default_ttl_hours", "max_ttl_hours", "crl_url", "crl_validity_hours",
        NULL};
    json_object *ca = NULL;
    HS_GUARD(hs_json_get_typed(doc, "ca", true, json_type_object, &ca));
    HS_GUARD(hs_json_check_keys(ca, allowed, "ca"));
    HS_GUARD(hs_json_get_string(ca, "key", true, P11_KEY_REF_MAX, &cfg->ca_key));
    HS_GUARD(api_input_file(ca, "chain_file", true, &cfg->ca_chain_file));
    int64_t max_h = 0;
    int64_t def_h = 0;
    HS_GUARD(hs_json_get_int(ca, "max_ttl_hours", false, 1, SGN_LEAF_TTL_MAX_S / 3600,
                             SGN_LEAF_TTL_MAX_S / 3600, &max_h));
    HS_GUARD(hs_json_get_int(
        ca, "default_ttl_hours", false, 1, max_h,
        SGN_LEAF_TTL_DEFAULT_S / 3600 < max_h ? SGN_LEAF_TTL_DEFAULT_S / 3600 : max_h, &def_h));
    cfg->max_ttl_hours = (long)max_h;
    cfg->default_ttl_hours = (long)def_h;
    HS_GUARD(hs_json_get_string(ca, "crl_url", false, SGN_URL_MAX, &cfg->crl_url));
    HS_ENSURE_MSG(cfg->crl_url == NULL || sgn_ext_url_valid(cfg->crl_url), HS_ERR_INPUT_FIELD,
                  "field \"crl_url\" must be an http:// or https:// URL");
    int64_t crl_h = 0;
    HS_GUARD(hs_json_get_int(ca, "crl_validity_hours", false, 1, API_CRL_HOURS_MAX, 24, &crl_h));
    cfg->crl_validity_s = (long)crl_h * 3600;
    return HS_OK;
}

static HS_RESULT api_parse_dynamodb(json_object *ddb, struct st_dynamodb_config *out)
{
    static const char *const allowed[] = {"table", "region", "endpoint", "timeout_ms", NULL};
    HS_GUARD(hs_json_check_keys(ddb, allowed, "inventory.dynamodb"));
    HS_GUARD(hs_json_get_string(ddb, "table", true, ST_DDB_TABLE_MAX, &out->table));
    HS_GUARD(hs_json_get_string(ddb, "region", true, ST_DDB_REGION_MAX, &out->region));
    HS_GUARD(hs_json_get_string(ddb, "endpoint", false, ST_DDB_URL_MAX - 1, &out->endpoint));
    int64_t timeout = 0;
    HS_GUARD(hs_json_get_int(ddb, "timeout_ms", false, 10, ST_DDB_TIMEOUT_MS_MAX,
                             ST_DDB_TIMEOUT_MS_DEFAULT, &timeout));
    out->timeout_ms = (long)timeout;
    return HS_OK; /* names, region and URL: st_config_check() in api_parse_inventory */
}

static HS_RESULT api_parse_inventory(json_object *doc, struct api_config *cfg)
{
    static const char *const allowed[] = {"sqlite", "dynamodb", NULL};
    json_object *inv = NULL;
    json_object *ddb = NULL;
    HS_GUARD(hs_json_get_typed(doc, "inventory", true, json_type_object, &inv));
    HS_GUARD(hs_json_check_keys(inv, allowed, "inventory"));
    struct st_config *store = &cfg->inventory;
    HS_GUARD(hs_json_get_string(inv, "sqlite", false, API_PATH_MAX, &store->sqlite_path));
    HS_GUARD(hs_json_get_typed(inv, "dynamodb", false, json_type_object, &ddb));
    HS_ENSURE_MSG((store->sqlite_path != NULL) != (ddb != NULL), HS_ERR_INPUT_FIELD,
                  "exactly one of \"sqlite\" and \"dynamodb\" is required");
    store->backend = ddb != NULL ? ST_BACKEND_DYNAMODB : ST_BACKEND_SQLITE;
    if (ddb != NULL) {
        HS_GUARD(hs_error_context(api_parse_dynamodb(ddb, &store->dynamodb), "dynamodb"));
    }
    /* Checked before the token is opened; st_inventory_open() opens it. */
    return st_config_check(store);
}

static HS_RESULT api_parse_jwt(json_object *doc, struct api_config *cfg)
{
    static const char *const allowed[] = {
        "issuer",          "keys", "jwks_file", "default_alg", "default_ttl_seconds",
        "max_ttl_seconds", NULL};
    json_object *jwt = NULL;
    HS_GUARD(hs_json_get_typed(doc, "jwt", true, json_type_object, &jwt));
    HS_GUARD(hs_json_check_keys(jwt, allowed, "jwt"));
    HS_GUARD(hs_json_get_string(jwt, "issuer", true, SGN_JWT_CLAIM_MAX, &cfg->jwt_issuer));
    HS_ENSURE_MSG(sgn_ext_url_valid(cfg->jwt_issuer), HS_ERR_INPUT_FIELD,
                  "field \"issuer\" must be an http:// or https:// URL (OpenID Connect "
                  "Discovery §3 serves it at issuer + /.well-known/openid-configuration)");
    HS_GUARD(hs_json_get_string(jwt, "default_alg", false, 8, &cfg->jwt_default_alg));
    HS_GUARD(api_input_file(jwt, "jwks_file", false, &cfg->jwt_jwks_file));
    json_object *keys = NULL;
    HS_GUARD(hs_json_get_typed(jwt, "keys", false, json_type_array, &keys));
    HS_ENSURE_MSG((keys != NULL) != (cfg->jwt_jwks_file != NULL), HS_ERR_INPUT_FIELD,
                  "exactly one of \"jwks_file\" and \"keys\" is required");
    if (keys != NULL) {
        HS_GUARD(sgn_jwt_key_refs_parse(jwt, "keys", cfg->jwt_keys, &cfg->njwt_keys));
    }
    int64_t max_s = 0;
    int64_t def_s = 0;
    HS_GUARD(hs_json_get_int(jwt, "max_ttl_seconds", false, 1, SGN_JWT_TTL_MAX_S, SGN_JWT_TTL_MAX_S,
                             &max_s));
    HS_GUARD(hs_json_get_int(jwt, "default_ttl_seconds", false, 1, max_s,
                             SGN_JWT_TTL_DEFAULT_S < max_s ? SGN_JWT_TTL_DEFAULT_S : max_s,
                             &def_s));
    cfg->jwt_max_ttl_s = (long)max_s;
    cfg->jwt_default_ttl_s = (long)def_s;
    return HS_OK;
}

static HS_RESULT api_parse_access_key(json_object *e, struct api_access_key_config *k)
{
    static const char *const allowed[] = {"access_key_id", "secret_file", "session_token_file",
                                          "principal_arn", NULL};
    HS_ENSURE_MSG(json_object_is_type(e, json_type_object), HS_ERR_INPUT_FIELD,
                  "access_keys[] entries must be objects");
    HS_GUARD(hs_json_check_keys(e, allowed, "access_keys[]"));
    HS_GUARD(hs_json_get_string(e, "access_key_id", true, API_AKID_MAX, &k->access_key_id));
    HS_GUARD(api_input_file(e, "secret_file", true, &k->secret_file));
    HS_GUARD(api_input_file(e, "session_token_file", false, &k->session_token_file));
    HS_GUARD(hs_json_get_string(e, "principal_arn", true, API_ARN_MAX, &k->principal_arn));
    HS_ENSURE_MSG(strncmp(k->principal_arn, "arn:", 4) == 0, HS_ERR_INPUT_FIELD,
                  "principal_arn must be an ARN (arn:...)");
    return HS_OK;
}

static HS_RESULT api_parse_sigv4(json_object *s, struct api_config *cfg)
{
    static const char *const allowed[] = {"region", "service", "max_skew_seconds", "access_keys",
                                          NULL};
    json_object *list = NULL;
    cfg->has_sigv4 = true;
    HS_GUARD(hs_json_check_keys(s, allowed, "auth.sigv4"));
    HS_GUARD(hs_json_get_string(s, "region", true, 64, &cfg->sigv4_region));
    HS_GUARD(hs_json_get_string(s, "service", false, 64, &cfg->sigv4_service));
    cfg->sigv4_service = cfg->sigv4_service != NULL ? cfg->sigv4_service : "execute-api";
    int64_t skew = 0;
    HS_GUARD(hs_json_get_int(s, "max_skew_seconds", false, 1, 900, 300, &skew));
    cfg->sigv4_max_skew_s = (long)skew;
    HS_GUARD(hs_json_get_typed(s, "access_keys", true, json_type_array, &list));
    size_t n = json_object_array_length(list);
    HS_ENSURE_MSG(n <= API_ACCESS_KEYS_MAX, HS_ERR_INPUT_RANGE,
                  "field \"access_keys\" lists more than %d keys", API_ACCESS_KEYS_MAX);
    for (size_t i = 0; i < n; i++) {
        HS_GUARD(api_parse_access_key(json_object_array_get_idx(list, i), &cfg->access_keys[i]));
    }
    cfg->naccess_keys = n;
    return HS_OK;
}

static HS_RESULT api_parse_mtls(json_object *m, struct api_config *cfg)
{
    static const char *const allowed[] = {"proxy_header", "trusted_proxies", NULL};
    json_object *list = NULL;
    HS_GUARD(hs_json_check_keys(m, allowed, "auth.mtls"));
    HS_GUARD(
        hs_json_get_string(m, "proxy_header", true, API_HEADER_NAME_MAX, &cfg->mtls_proxy_header));
    HS_ENSURE_MSG(strspn(cfg->mtls_proxy_header, API_HEADER_NAME_CHARS) ==
                      strlen(cfg->mtls_proxy_header),
                  HS_ERR_INPUT_FIELD, "field \"proxy_header\" is not a header name");
    HS_GUARD(hs_json_get_typed(m, "trusted_proxies", true, json_type_array, &list));
    size_t n = json_object_array_length(list);
    HS_ENSURE_MSG(n > 0 && n <= API_PROXIES_MAX, HS_ERR_INPUT_RANGE,
                  "field \"trusted_proxies\" must list 1..%d addresses", API_PROXIES_MAX);
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(list, i);
        const char *a = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        unsigned char bin[16];
        HS_ENSURE_MSG(a != NULL &&
                          (inet_pton(AF_INET, a, bin) == 1 || inet_pton(AF_INET6, a, bin) == 1),
                      HS_ERR_INPUT_FIELD, "trusted_proxies: entry %zu is not an IP address", i);
        cfg->trusted_proxies[i] = a;
    }
    cfg->ntrusted_proxies = n;
    return HS_OK;
}

static HS_RESULT api_parse_auth(json_object *doc, struct api_config *cfg)
{
    static const char *const allowed[] = {"sigv4", "mtls", NULL};
    json_object *auth = NULL;
    json_object *sigv4 = NULL;
    json_object *mtls = NULL;
    HS_GUARD(hs_json_get_typed(doc, "auth", false, json_type_object, &auth));
    if (auth == NULL) {
        return HS_OK;
    }
    HS_GUARD(hs_json_check_keys(auth, allowed, "auth"));
    HS_GUARD(hs_json_get_typed(auth, "sigv4", false, json_type_object, &sigv4));
    HS_GUARD(hs_json_get_typed(auth, "mtls", false, json_type_object, &mtls));
    if (sigv4 != NULL) {
        HS_GUARD(hs_error_context(api_parse_sigv4(sigv4, cfg), "auth.sigv4"));
    }
    if (mtls != NULL) {
        HS_GUARD(hs_error_context(api_parse_mtls(mtls, cfg), "auth.mtls"));
    }
    return HS_OK;
}

/* Sessions and workers (docs/config.md "Sizing"): the pool defaults to
 * p11_pool_default_size() (max(2 x CPUs, 8)), and the workers to twice the pool (at least
 * API_LIMIT_WORKERS, at most API_LIMIT_WORKERS_MAX) so that every session can be busy while
 * requests of other classes wait in the token scheduler, where the shares apply, rather than
 * behind them in the front end's queue. Both are resolved here so that what runs is what was
 * checked. */
static void api_size_workers(struct api_config *cfg)
{
    if (cfg->token.pool_size == 0) {
        cfg->token.pool_size = p11_pool_default_size();
    }
    if (cfg->workers == 0) {
        long w = 2 * (long)cfg->token.pool_size;
        w = w > API_LIMIT_WORKERS ? w : API_LIMIT_WORKERS;
        cfg->workers = w < API_LIMIT_WORKERS_MAX ? w : API_LIMIT_WORKERS_MAX;
    }
}

static HS_RESULT api_parse_limits(json_object *doc, struct api_config *cfg)
{
    static const char *const allowed[] = {"max_connections",
                                          "max_connections_per_ip",
                                          "connection_timeout_seconds",
                                          "request_timeout_seconds",
                                          "workers",
                                          "shutdown_grace_seconds",
                                          NULL};
    json_object *lim = NULL;
    int64_t conns = API_LIMIT_CONNECTIONS;
    int64_t per_ip = API_LIMIT_CONNECTIONS_PER_IP;
    int64_t timeout = API_LIMIT_CONNECTION_TIMEOUT_S;
    int64_t request = API_LIMIT_REQUEST_TIMEOUT_S;
    int64_t workers = 0; /* 0: api_size_workers() decides */
    int64_t grace = API_LIMIT_SHUTDOWN_GRACE_S;
    HS_GUARD(hs_json_get_typed(doc, "limits", false, json_type_object, &lim));
    if (lim != NULL) {
        HS_GUARD(hs_json_check_keys(lim, allowed, "limits"));
        HS_GUARD(hs_json_get_int(lim, "max_connections", false, 1, 10000, conns, &conns));
        HS_GUARD(hs_json_get_int(lim, "max_connections_per_ip", false, 1, 10000, per_ip, &per_ip));
        HS_GUARD(
            hs_json_get_int(lim, "connection_timeout_seconds", false, 1, 600, timeout, &timeout));
        HS_GUARD(hs_json_get_int(lim, "request_timeout_seconds", false, 1, 300, request, &request));
        HS_GUARD(
            hs_json_get_int(lim, "workers", false, 1, API_LIMIT_WORKERS_MAX, workers, &workers));
        HS_GUARD(hs_json_get_int(lim, "shutdown_grace_seconds", false, 1, 3600, grace, &grace));
    }
    cfg->max_connections = (long)conns;
    cfg->max_connections_per_ip = (long)per_ip;
    cfg->connection_timeout_s = (long)timeout;
    cfg->request_timeout_s = (long)request;
    cfg->workers = (long)workers;
    cfg->shutdown_grace_s = (long)grace;
    return HS_OK;
}

/* One of "ssh"'s key lists: absent, or 1..SVC_SSH_CA_KEYS_MAX key references. */
static HS_RESULT api_parse_ssh_keys(json_object *ssh, const char *key, const char **out, size_t *n)
{
    json_object *list = NULL;
    HS_GUARD(hs_json_get_typed(ssh, key, false, json_type_array, &list));
    *n = 0;
    if (list == NULL) {
        return HS_OK;
    }
    size_t len = json_object_array_length(list);
    HS_ENSURE_MSG(len >= 1 && len <= SVC_SSH_CA_KEYS_MAX, HS_ERR_INPUT_RANGE,
                  "field \"%s\" must list 1..%d keys", key, SVC_SSH_CA_KEYS_MAX);
    for (size_t i = 0; i < len; i++) {
        json_object *v = json_object_array_get_idx(list, i);
        const char *ref = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        size_t rlen = strlen(ref);
        HS_ENSURE_MSG(
            rlen > 0 && rlen <= P11_KEY_REF_MAX && rlen == (size_t)json_object_get_string_len(v),
            HS_ERR_INPUT_FIELD,
            "field \"%s[%zu]\" must be a key reference (a PKCS#11 URI or a label)", key, i);
        for (size_t j = 0; j < i; j++) {
            HS_ENSURE_MSG(strcmp(out[j], ref) != 0, HS_ERR_INPUT_FIELD,
                          "field \"%s[%zu]\" repeats an earlier key", key, i);
        }
        out[i] = ref;
    }
    *n = len;
    return HS_OK;
}

/* "ssh": {"keygen": {"queue_url", "sqs_region", "sqs_endpoint"}}: the AWS shape, when queue_url
 * is set; it needs the DynamoDB inventory (parsed before "ssh"). */
static HS_RESULT api_parse_ssh_keygen_aws(json_object *kg, struct api_config *cfg)
{
    HS_GUARD(hs_json_get_string(kg, "queue_url", false, 1024, &cfg->ssh_keygen_queue_url));
    HS_GUARD(hs_json_get_string(kg, "sqs_region", false, 32, &cfg->ssh_keygen_sqs_region));
    HS_GUARD(hs_json_get_string(kg, "sqs_endpoint", false, 512, &cfg->ssh_keygen_sqs_endpoint));
    HS_ENSURE_MSG(cfg->ssh_keygen_queue_url != NULL ||
                      (cfg->ssh_keygen_sqs_region == NULL && cfg->ssh_keygen_sqs_endpoint == NULL),
                  HS_ERR_INPUT_CONFIG, "\"sqs_region\" and \"sqs_endpoint\" need \"queue_url\"");
    HS_ENSURE_MSG(cfg->ssh_keygen_queue_url == NULL ||
                      cfg->inventory.backend == ST_BACKEND_DYNAMODB,
                  HS_ERR_INPUT_CONFIG,
                  "\"queue_url\" (key generation through SQS) needs the DynamoDB inventory");
    return HS_OK;
}

/* "ssh": {"keygen": {...}}: the embedded key generation queue; defaults when absent. */
static HS_RESULT api_parse_ssh_keygen(json_object *ssh, struct api_config *cfg)
{
    static const char *const allowed[] = {
        "workers",   "queue_max",  "result_ttl_seconds", "pending_per_principal_max",
        "queue_url", "sqs_region", "sqs_endpoint",       NULL};
    struct svc_sshkey_config *out = &cfg->ssh_keygen;
    json_object *kg = NULL;
    HS_GUARD(hs_json_get_typed(ssh, "keygen", false, json_type_object, &kg));
    *out = (struct svc_sshkey_config){SVC_SSHKEY_DEFAULT_WORKERS, SVC_SSHKEY_DEFAULT_QUEUE_MAX,
                                      SVC_SSHKEY_DEFAULT_TTL_S, SVC_SSHKEY_DEFAULT_PER_PRINCIPAL};
    if (kg == NULL) {
        return HS_OK;
    }
    HS_GUARD(hs_json_check_keys(kg, allowed, "ssh.keygen"));
    int64_t v[4] = {0};
    HS_GUARD(hs_json_get_int(kg, "workers", false, 1, SVC_SSHKEY_WORKERS_MAX, out->workers, &v[0]));
    HS_GUARD(
        hs_json_get_int(kg, "queue_max", false, 1, SVC_SSHKEY_QUEUE_MAX, out->queue_max, &v[1]));
    HS_GUARD(hs_json_get_int(kg, "result_ttl_seconds", false, 1, SVC_SSHKEY_TTL_MAX,
                             out->result_ttl_s, &v[2]));
    HS_GUARD(hs_json_get_int(kg, "pending_per_principal_max", false, 1, SVC_SSHKEY_QUEUE_MAX,
                             out->pending_per_principal_max, &v[3]));
    *out = (struct svc_sshkey_config){(long)v[0], (long)v[1], (long)v[2], (long)v[3]};
    return api_parse_ssh_keygen_aws(kg, cfg);
}

static HS_RESULT api_parse_ssh(json_object *doc, struct api_config *cfg)
{
    static const char *const allowed[] = {"user_ca", "host_ca", "krl_validity_seconds", "keygen",
                                          NULL};
    json_object *ssh = NULL;
    HS_GUARD(hs_json_get_typed(doc, "ssh", false, json_type_object, &ssh));
    if (ssh == NULL) {
        return HS_OK;
    }
    HS_GUARD(hs_json_check_keys(ssh, allowed, "ssh"));
    HS_GUARD(api_parse_ssh_keys(ssh, "user_ca", cfg->ssh_user_ca, &cfg->nssh_user_ca));
    HS_GUARD(api_parse_ssh_keys(ssh, "host_ca", cfg->ssh_host_ca, &cfg->nssh_host_ca));
    HS_ENSURE_MSG(cfg->nssh_user_ca + cfg->nssh_host_ca > 0, HS_ERR_INPUT_FIELD,
                  "at least one of \"user_ca\" and \"host_ca\" is required");
    int64_t krl_s = 0;
    HS_GUARD(hs_json_get_int(ssh, "krl_validity_seconds", false, API_SSH_KRL_VALIDITY_MIN_S,
                             API_SSH_KRL_VALIDITY_MAX_S, API_SSH_KRL_VALIDITY_S, &krl_s));
    cfg->ssh_krl_validity_s = (long)krl_s;
    HS_GUARD(hs_error_context(api_parse_ssh_keygen(ssh, cfg), "keygen"));
    cfg->has_ssh = true;
    return HS_OK;
}

/* Every "token_profiles" entry of a policy rule names a configured token profile. */
static HS_RESULT api_check_token_profile_names(const struct api_config *cfg)
{
    for (size_t i = 0; i < cfg->policy.nrules; i++) {
        const struct api_pattern_list *l = &cfg->policy.rules[i].token_profiles;
        for (size_t j = 0; j < l->n; j++) {
            HS_ENSURE_MSG(svc_token_profiles_find(&cfg->token_profiles, l->items[j]) != NULL,
                          HS_ERR_INPUT_FIELD,
                          "token_profiles: \"%.64s\" is not a token profile; in "
                          "\"policy.rules[%zu]\"",
                          l->items[j], i);
        }
    }
    return HS_OK;
}

/* "console": {"dir": PATH}; the directory's files are read by api_service (api_console.h). */
static HS_RESULT api_parse_console(json_object *doc, struct api_config *cfg)
{
    static const char *const allowed[] = {"dir", NULL};
    json_object *console = NULL;
    HS_GUARD(hs_json_get_typed(doc, "console", false, json_type_object, &console));
    if (console == NULL) {
        return HS_OK;
    }
    HS_GUARD(hs_json_check_keys(console, allowed, "console"));
    HS_GUARD(api_input_file(console, "dir", true, &cfg->console_dir));
    return HS_OK;
}

static HS_RESULT api_set_listen(struct api_config *cfg, const char *listen)
{
    size_t n = strnlen(listen, sizeof(cfg->listen));
    HS_ENSURE_MSG(n > 0 && n < sizeof(cfg->listen), HS_ERR_INPUT_FIELD, "listen must be host:port");
    memcpy(cfg->listen, listen, n + 1);
    return HS_OK;
}

HS_RESULT api_config_load(const char *path, const char *listen_override, struct api_config **out)
{
    static const char *const allowed[] = {
        "listen", "token",  "ca",     "profiles", "inventory", "jwt",       "token_profiles",
        "auth",   "policy", "limits", "ssh",      "console",   "scheduler", NULL};
    HS_ENSURE_REF(path);
    HS_DEFER(struct hs_buf *text = NULL, hs_buf_freep);
    HS_GUARD(hs_file_read(path, API_CONFIG_MAX, &text));
    HS_DEFER(struct api_config *cfg = OPENSSL_zalloc(sizeof(*cfg)), api_config_freep);
    HS_ENSURE(cfg != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_json_parse_object((const char *)hs_buf_data(text), hs_buf_len(text), API_CONFIG_MAX,
                                  HS_JSON_DEPTH_MAX, &cfg->doc));
    HS_GUARD(hs_json_check_keys(cfg->doc, allowed, "config"));
    const char *listen = NULL;
    HS_GUARD(hs_json_get_string(cfg->doc, "listen", false, API_LISTEN_MAX - 1, &listen));
    HS_GUARD(api_set_listen(cfg, listen_override != NULL ? listen_override
                                 : listen != NULL        ? listen
                                                         : "127.0.0.1:8080"));
    HS_GUARD(p11_token_config_parse(cfg->doc, P11_CONFIG_POOL, &cfg->token));
    HS_GUARD(hs_error_context(api_parse_ca(cfg->doc, cfg), "ca"));
    HS_GUARD(svc_profiles_parse(cfg->doc, cfg->default_ttl_hours * 3600, cfg->max_ttl_hours * 3600,
                                &cfg->profiles));
    HS_GUARD(hs_error_context(api_parse_jwt(cfg->doc, cfg), "jwt"));
    HS_GUARD(svc_token_profiles_parse(cfg->doc, cfg->jwt_max_ttl_s, &cfg->token_profiles));
    HS_GUARD(hs_error_context(api_parse_inventory(cfg->doc, cfg), "inventory"));
    HS_GUARD(api_parse_auth(cfg->doc, cfg));
    HS_GUARD(hs_error_context(api_policy_parse(cfg->doc, &cfg->profiles, cfg->max_ttl_hours * 3600,
                                               cfg->jwt_max_ttl_s, &cfg->policy),
                              "policy"));
    HS_GUARD(api_check_token_profile_names(cfg));
    HS_GUARD(hs_error_context(api_parse_limits(cfg->doc, cfg), "limits"));
    HS_GUARD(hs_error_context(api_parse_ssh(cfg->doc, cfg), "ssh"));
    HS_GUARD(hs_error_context(api_parse_console(cfg->doc, cfg), "console"));
    HS_GUARD(svc_sched_config_parse(cfg->doc, &cfg->token.sched));
    api_size_workers(cfg);
    *out = cfg;
    cfg = NULL;
    return HS_OK;
}
