#include "keyceremony/kc_config.h"

#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "common/hs_json.h"

#define KC_NAME_VALUE_MAX 64 /* ub-name / ub-common-name, RFC 5280 Appendix A */

struct kc_key_type_entry {
    const char *name;
    enum p11_key_type type;
    unsigned int bits;
};

static const struct kc_key_type_entry kc_key_types[] = {
    {"EC-P256", P11_KEY_EC_P256, 0}, {"EC-P384", P11_KEY_EC_P384, 0},
    {"RSA-2048", P11_KEY_RSA, 2048}, {"RSA-3072", P11_KEY_RSA, 3072},
    {"RSA-4096", P11_KEY_RSA, 4096},
};

/* SSH CA keys (issue 11): no RSA-2048 for a CA; Ed25519 where the token offers CKM_EDDSA
 * (checked on the token before any key is made). */
static const struct kc_key_type_entry kc_ssh_key_types[] = {
    {"EC-P256", P11_KEY_EC_P256, 0}, {"EC-P384", P11_KEY_EC_P384, 0},
    {"RSA-3072", P11_KEY_RSA, 3072}, {"RSA-4096", P11_KEY_RSA, 4096},
    {"Ed25519", P11_KEY_ED25519, 0},
};

const char *kc_step_name(enum kc_step step)
{
    switch (step) {
    case KC_STEP_INIT_TOKEN:
        return "init-token";
    case KC_STEP_ROOT:
        return "root";
    case KC_STEP_KEY:
        return "key";
    case KC_STEP_INTERMEDIATE:
        return "intermediate";
    case KC_STEP_CROSS_SIGN:
        return "cross-sign";
    case KC_STEP_CRL:
        return "crl";
    case KC_STEP_JWT_KEY:
        return "jwt-key";
    case KC_STEP_JWT_RETIRE:
        return "jwt-key retire";
    case KC_STEP_EXPORT:
        return "export";
    case KC_STEP_VERIFY:
        return "verify";
    case KC_STEP_SSH_CA:
        return "ssh-ca";
    default:
        return "?";
    }
}

const char *kc_key_type_name(const struct kc_key *key)
{
    for (size_t i = 0; i < sizeof(kc_key_types) / sizeof(kc_key_types[0]); i++) {
        if (kc_key_types[i].type == key->type && kc_key_types[i].bits == key->rsa_bits) {
            return kc_key_types[i].name;
        }
    }
    for (size_t i = 0; i < sizeof(kc_ssh_key_types) / sizeof(kc_ssh_key_types[0]); i++) {
        if (kc_ssh_key_types[i].type == key->type && kc_ssh_key_types[i].bits == key->rsa_bits) {
            return kc_ssh_key_types[i].name;
        }
    }
    return "?";
}

void kc_config_free(struct kc_config *cfg)
{
    if (cfg == NULL) {
        return;
    }
    X509_NAME_free(cfg->cert.subject);
    OPENSSL_free(cfg->crl);
    json_object_put(cfg->doc);
    OPENSSL_free(cfg);
}

void kc_config_freep(struct kc_config **cfg)
{
    kc_config_free(*cfg);
}

/* --- paths --------------------------------------------------------------------------------- */

static HS_RESULT kc_get_path(json_object *obj, const char *key, bool required, const char **out)
{
    return hs_json_get_string(obj, key, required, KC_PATH_MAX, out);
}

/* An input file named by the config must exist. */
static HS_RESULT kc_get_input(json_object *obj, const char *key, bool required, const char **out)
{
    HS_GUARD(kc_get_path(obj, key, required, out));
    HS_ENSURE_MSG(*out == NULL || hs_file_exists(*out), HS_ERR_INPUT_NOT_FOUND,
                  "field \"%s\": %s does not exist", key, *out);
    return HS_OK;
}

static HS_RESULT kc_check_dir(const char *key, const char *path)
{
    char dir[KC_PATH_MAX + 1];
    memcpy(dir, path, strlen(path) + 1);
    struct stat st;
    HS_ENSURE_MSG(stat(dirname(dir), &st) == 0 && S_ISDIR(st.st_mode), HS_ERR_INPUT_CONFIG,
                  "field \"%s\": the directory of %s does not exist", key, path);
    return HS_OK;
}

/* An output must not exist yet (nothing is ever overwritten) and its directory must. */
static HS_RESULT kc_get_output(json_object *obj, const char *key, bool required, const char **out)
{
    HS_GUARD(kc_get_path(obj, key, required, out));
    if (*out == NULL) {
        return HS_OK;
    }
    HS_ENSURE_MSG(!hs_file_exists(*out), HS_ERR_INPUT_EXISTS,
                  "field \"%s\": %s already exists; refusing to overwrite", key, *out);
    return kc_check_dir(key, *out);
}

/* A document the step updates in place (atomically): it may exist; its directory must. */
static HS_RESULT kc_get_updated(json_object *obj, const char *key, bool required, const char **out)
{
    HS_GUARD(kc_get_path(obj, key, required, out));
    return *out == NULL ? HS_OK : kc_check_dir(key, *out);
}

/* --- keys and names ------------------------------------------------------------------------ */

static HS_RESULT kc_parse_key(json_object *doc, const char *dflt, struct kc_key *k)
{
    static const char *const allowed[] = {"label", "type", NULL};
    json_object *obj = NULL;
    HS_GUARD(hs_json_get_typed(doc, "key", true, json_type_object, &obj));
    HS_GUARD(hs_error_context(hs_json_check_keys(obj, allowed, "key"), "key"));
    HS_GUARD(
        hs_error_context(hs_json_get_string(obj, "label", true, P11_LABEL_MAX, &k->label), "key"));
    const char *type = NULL;
    HS_GUARD(hs_error_context(hs_json_get_string(obj, "type", false, 16, &type), "key"));
    type = type != NULL ? type : dflt;
    for (size_t i = 0; i < sizeof(kc_key_types) / sizeof(kc_key_types[0]); i++) {
        if (strcmp(type, kc_key_types[i].name) == 0) {
            k->type = kc_key_types[i].type;
            k->rsa_bits = kc_key_types[i].bits;
            return HS_OK;
        }
    }
    HS_ENSURE_MSG(strncmp(type, "RSA-", 4) != 0, HS_ERR_INPUT_KEY,
                  "key.type: %s refused; RSA keys need 2048, 3072 or 4096 bits", type);
    HS_BAIL_MSG(HS_ERR_INPUT_KEY,
                "key.type: unknown key type %s (EC-P256, EC-P384, RSA-2048, RSA-3072, RSA-4096)",
                type);
}

/* Subject attributes we accept, in the order they are written (most significant first). */
static const struct {
    const char *field;
    int nid;
} kc_name_attrs[] = {
    {"C", NID_countryName},      {"ST", NID_stateOrProvinceName},    {"L", NID_localityName},
    {"O", NID_organizationName}, {"OU", NID_organizationalUnitName}, {"CN", NID_commonName}};

static HS_RESULT kc_parse_subject(json_object *cert, X509_NAME **out)
{
    static const char *const allowed[] = {"C", "ST", "L", "O", "OU", "CN", NULL};
    json_object *obj = NULL;
    HS_GUARD(hs_json_get_typed(cert, "subject", true, json_type_object, &obj));
    HS_GUARD(hs_error_context(hs_json_check_keys(obj, allowed, "subject"), "subject"));
    HS_DEFER(X509_NAME *name = X509_NAME_new(), hs_x509_name_freep);
    HS_ENSURE(name != NULL, HS_ERR_NOMEM);
    for (size_t i = 0; i < sizeof(kc_name_attrs) / sizeof(kc_name_attrs[0]); i++) {
        const char *v = NULL;
        bool required = kc_name_attrs[i].nid == NID_commonName;
        HS_GUARD(hs_error_context(
            hs_json_get_string(obj, kc_name_attrs[i].field, required, KC_NAME_VALUE_MAX, &v),
            "subject"));
        if (v == NULL) {
            continue;
        }
        HS_ENSURE_MSG(kc_name_attrs[i].nid != NID_countryName || strlen(v) == 2, HS_ERR_INPUT_FIELD,
                      "subject.C must be a two-letter code");
        /* countryName is a PrintableString (RFC 5280 Appendix A); the rest UTF8String. */
        int type = kc_name_attrs[i].nid == NID_countryName ? MBSTRING_ASC : MBSTRING_UTF8;
        HS_GUARD_OSSL(X509_NAME_add_entry_by_NID(name, kc_name_attrs[i].nid, type,
                                                 (const unsigned char *)v, -1, -1, 0),
                      HS_ERR_INPUT_FIELD);
    }
    *out = name;
    name = NULL;
    return HS_OK;
}

/* A JSON array of strings, each accepted by valid(). */
static HS_RESULT kc_parse_strings(json_object *obj, const char *key, bool (*valid)(const char *),
                                  const char **out, size_t max, size_t *n)
{
    json_object *list = NULL;
    HS_GUARD(hs_json_get_typed(obj, key, false, json_type_array, &list));
    *n = 0;
    size_t count = list != NULL ? json_object_array_length(list) : 0;
    HS_ENSURE_MSG(count <= max, HS_ERR_INPUT_RANGE, "field \"%s\" lists more than %zu entries", key,
                  max);
    for (size_t i = 0; i < count; i++) {
        json_object *v = json_object_array_get_idx(list, i);
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        HS_ENSURE_MSG(s != NULL && valid(s), HS_ERR_INPUT_FIELD,
                      "field \"%s\": entry %zu is not valid", key, i);
        out[(*n)++] = s;
    }
    return HS_OK;
}

static bool kc_eku_name_valid(const char *s)
{
    return strcmp(s, "serverAuth") == 0 || strcmp(s, "clientAuth") == 0;
}

static HS_RESULT kc_parse_eku(json_object *obj, unsigned int *out)
{
    const char *names[2];
    size_t n = 0;
    HS_GUARD(kc_parse_strings(obj, "eku", kc_eku_name_valid, names, 2, &n));
    *out = 0;
    for (size_t i = 0; i < n; i++) {
        *out |= strcmp(names[i], "serverAuth") == 0 ? SGN_EKU_SERVER_AUTH : SGN_EKU_CLIENT_AUTH;
    }
    return HS_OK;
}

static HS_RESULT kc_parse_name_constraints(json_object *obj, struct kc_cert *c)
{
    static const char *const allowed[] = {"permitted_dns", "permitted_email", NULL};
    json_object *nc = NULL;
    HS_GUARD(hs_json_get_typed(obj, "name_constraints", false, json_type_object, &nc));
    if (nc == NULL) {
        return HS_OK;
    }
    HS_GUARD(hs_json_check_keys(nc, allowed, "name_constraints"));
    HS_GUARD(kc_parse_strings(nc, "permitted_dns", sgn_ext_dns_constraint_valid, c->permitted_dns,
                              SGN_EXT_NAMES_MAX, &c->npermitted_dns));
    HS_GUARD(kc_parse_strings(nc, "permitted_email", sgn_ext_email_constraint_valid,
                              c->permitted_email, SGN_EXT_NAMES_MAX, &c->npermitted_email));
    HS_ENSURE_MSG(c->npermitted_dns + c->npermitted_email > 0, HS_ERR_INPUT_FIELD,
                  "name_constraints permits nothing");
    return HS_OK;
}

static HS_RESULT kc_parse_url(json_object *obj, const char *key, const char **out)
{
    HS_GUARD(hs_json_get_string(obj, key, false, SGN_URL_MAX, out));
    HS_ENSURE_MSG(*out == NULL || sgn_ext_url_valid(*out), HS_ERR_INPUT_FIELD,
                  "field \"%s\" must be an http:// or https:// URL", key);
    return HS_OK;
}

/* --- certificates -------------------------------------------------------------------------- */

static const char *const *kc_cert_keys(enum kc_step step)
{
    static const char *const root[] = {"subject", "validity_days", "output", NULL};
    static const char *const intermediate[] = {
        "subject",    "validity_days",    "path_len",
        "eku",        "name_constraints", "crl_distribution_point",
        "ca_issuers", "output",           NULL};
    static const char *const cross[] = {"validity_days", "crl_distribution_point", "ca_issuers",
                                        "output", NULL};
    return step == KC_STEP_ROOT ? root : (step == KC_STEP_INTERMEDIATE ? intermediate : cross);
}

static HS_RESULT kc_parse_cert_body(json_object *obj, enum kc_step step, struct kc_cert *c)
{
    if (step != KC_STEP_CROSS_SIGN) {
        HS_GUARD(kc_parse_subject(obj, &c->subject));
    }
    int64_t days = 0;
    HS_GUARD(hs_json_get_int(obj, "validity_days", true, 1, KC_VALIDITY_DAYS_MAX, 0, &days));
    c->validity_days = (long)days;
    c->path_len = -1;
    if (step == KC_STEP_INTERMEDIATE) {
        int64_t path_len = 0;
        HS_GUARD(hs_json_get_int(obj, "path_len", false, 0, 8, 0, &path_len));
        c->path_len = (int)path_len;
        HS_GUARD(kc_parse_eku(obj, &c->eku));
        HS_GUARD(kc_parse_name_constraints(obj, c));
    }
    if (step != KC_STEP_ROOT) {
        HS_GUARD(kc_parse_url(obj, "crl_distribution_point", &c->crl_distribution_point));
        HS_GUARD(kc_parse_url(obj, "ca_issuers", &c->ca_issuers));
    }
    return kc_get_output(obj, "output", true, &c->output);
}

static HS_RESULT kc_parse_cert(json_object *doc, enum kc_step step, struct kc_cert *c)
{
    json_object *obj = NULL;
    HS_GUARD(hs_json_get_typed(doc, "certificate", true, json_type_object, &obj));
    HS_GUARD(hs_json_check_keys(obj, kc_cert_keys(step), "certificate"));
    return hs_error_context(kc_parse_cert_body(obj, step, c), "certificate");
}

static HS_RESULT kc_parse_issuer(json_object *doc, struct kc_config *cfg)
{
    static const char *const allowed[] = {"key", "certificate", NULL};
    json_object *obj = NULL;
    HS_GUARD(hs_json_get_typed(doc, "issuer", true, json_type_object, &obj));
    HS_GUARD(hs_error_context(hs_json_check_keys(obj, allowed, "issuer"), "issuer"));
    HS_GUARD(hs_error_context(
        hs_json_get_string(obj, "key", true, P11_KEY_REF_MAX, &cfg->issuer_key), "issuer"));
    return hs_error_context(kc_get_input(obj, "certificate", true, &cfg->issuer_cert), "issuer");
}

/* --- CRL ----------------------------------------------------------------------------------- */

/* "2026-11-21T19:24:05Z" (RFC 3339, UTC) to seconds since the epoch. */
static HS_RESULT kc_parse_time(const char *s, time_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = s != NULL ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    HS_ENSURE_MSG(end != NULL && *end == '\0', HS_ERR_INPUT_FIELD,
                  "a time must look like 2026-11-21T19:24:05Z");
    time_t t = timegm(&tm);
    HS_ENSURE_MSG(t != (time_t)-1, HS_ERR_INPUT_FIELD, "time out of range");
    *out = t;
    return HS_OK;
}

static HS_RESULT kc_parse_revoked(json_object *e, struct sgn_crl_entry *out, time_t now)
{
    static const char *const allowed[] = {"serial", "reason", "revoked_at", NULL};
    HS_ENSURE_MSG(json_object_is_type(e, json_type_object), HS_ERR_INPUT_FIELD,
                  "revoked entries must be objects");
    HS_GUARD(hs_json_check_keys(e, allowed, "revoked[]"));
    const char *reason = NULL;
    const char *at = NULL;
    HS_GUARD(hs_json_get_string(e, "serial", true, 40, &out->serial_hex));
    HS_ENSURE_MSG(strspn(out->serial_hex, "0123456789abcdefABCDEF") == strlen(out->serial_hex),
                  HS_ERR_INPUT_FIELD, "serial must be hex digits");
    HS_GUARD(hs_json_get_string(e, "reason", false, 32, &reason));
    out->reason = SGN_CRL_REASON_NONE;
    if (reason != NULL) {
        HS_GUARD(sgn_crl_reason_parse(reason, &out->reason));
    }
    HS_GUARD(hs_json_get_string(e, "revoked_at", false, 32, &at));
    out->revoked_at = now;
    if (at != NULL) {
        HS_GUARD(kc_parse_time(at, &out->revoked_at));
        HS_ENSURE_MSG(out->revoked_at <= now, HS_ERR_INPUT_RANGE, "revoked_at is in the future");
    }
    return HS_OK;
}

static HS_RESULT kc_parse_crl_body(json_object *obj, struct kc_crl *crl)
{
    int64_t number = 0;
    int64_t days = 0;
    HS_GUARD(hs_json_get_int(obj, "number", true, 1, INT64_MAX, 0, &number));
    HS_GUARD(hs_json_get_int(obj, "validity_days", true, 1, KC_CRL_DAYS_MAX, 0, &days));
    crl->number = (uint64_t)number;
    crl->validity_days = (long)days;
    json_object *list = NULL;
    HS_GUARD(hs_json_get_typed(obj, "revoked", true, json_type_array, &list));
    size_t n = json_object_array_length(list);
    HS_ENSURE_MSG(n <= KC_CRL_ENTRIES_MAX, HS_ERR_INPUT_RANGE, "more than %d revoked entries",
                  KC_CRL_ENTRIES_MAX);
    time_t now = time(NULL);
    for (size_t i = 0; i < n; i++) {
        HS_GUARD(hs_error_context(
            kc_parse_revoked(json_object_array_get_idx(list, i), &crl->entries[i], now),
            "revoked"));
    }
    crl->n = n;
    return kc_get_output(obj, "output", true, &crl->output);
}

static HS_RESULT kc_parse_crl(json_object *doc, struct kc_config *cfg)
{
    static const char *const allowed[] = {"number", "validity_days", "revoked", "output", NULL};
    json_object *obj = NULL;
    HS_GUARD(hs_json_get_typed(doc, "crl", true, json_type_object, &obj));
    HS_GUARD(hs_json_check_keys(obj, allowed, "crl"));
    cfg->crl = OPENSSL_zalloc(sizeof(*cfg->crl));
    HS_ENSURE(cfg->crl != NULL, HS_ERR_NOMEM);
    return hs_error_context(kc_parse_crl_body(obj, cfg->crl), "crl");
}

/* --- JWT keys ------------------------------------------------------------------------------ */

/* The JWS algorithm must fit the key type (RFC 7518 §3.1), checked before any key exists. */
static HS_RESULT kc_check_jwt_alg(const char *alg, enum p11_key_type type)
{
    if (alg == NULL) {
        return HS_OK;
    }
    bool fits = (strcmp(alg, "ES256") == 0 && type == P11_KEY_EC_P256) ||
                (strcmp(alg, "ES384") == 0 && type == P11_KEY_EC_P384) ||
                ((strcmp(alg, "RS256") == 0 || strcmp(alg, "PS256") == 0) && type == P11_KEY_RSA);
    HS_ENSURE_MSG(fits, HS_ERR_INPUT_FIELD, "alg: %s does not fit key.type %s", alg,
                  p11_key_type_name(type));
    return HS_OK;
}

/* An existing JWK Set must be valid (and have room for one more key when growing). */
static HS_RESULT kc_check_jwks(const char *path, bool adding, const char *kid)
{
    if (!hs_file_exists(path)) {
        HS_ENSURE_MSG(adding, HS_ERR_INPUT_NOT_FOUND, "field \"jwks\": %s does not exist", path);
        return HS_OK;
    }
    HS_DEFER(struct hs_buf *text = NULL, hs_buf_freep);
    HS_GUARD(hs_file_read(path, SGN_JWKS_MAX, &text));
    struct sgn_jwk_entry keys[SGN_JWT_KEYS_MAX];
    size_t n = 0;
    HS_GUARD(hs_error_context(
        sgn_jwks_parse((const char *)hs_buf_data(text), hs_buf_len(text), keys, &n), "jwks"));
    bool found = false;
    for (size_t i = 0; kid != NULL && i < n; i++) {
        found = found || strcmp(keys[i].kid, kid) == 0;
    }
    sgn_jwk_entries_clear(keys, n);
    HS_ENSURE_MSG(!adding || n < SGN_JWT_KEYS_MAX, HS_ERR_INPUT_RANGE,
                  "field \"jwks\": %s already holds %d keys; retire one first", path,
                  SGN_JWT_KEYS_MAX);
    HS_ENSURE_MSG(kid == NULL || found, HS_ERR_INPUT_NOT_FOUND, "kid %s is not in %s", kid, path);
    HS_ENSURE_MSG(kid == NULL || n > 1, HS_ERR_INPUT_RANGE,
                  "%s is the only key in %s; retiring it would leave nothing to sign with", kid,
                  path);
    return HS_OK;
}

static HS_RESULT kc_parse_jwt_key(json_object *doc, struct kc_config *cfg)
{
    HS_GUARD(kc_parse_key(doc, "EC-P256", &cfg->key));
    HS_GUARD(hs_json_get_string(doc, "alg", false, 8, &cfg->jwt_alg));
    HS_GUARD(kc_check_jwt_alg(cfg->jwt_alg, cfg->key.type));
    HS_GUARD(kc_get_output(doc, "jwk_output", false, &cfg->jwk_output));
    HS_GUARD(kc_get_updated(doc, "jwks", false, &cfg->jwks));
    HS_ENSURE_MSG(cfg->jwk_output != NULL || cfg->jwks != NULL, HS_ERR_INPUT_FIELD,
                  "one of \"jwk_output\" and \"jwks\" is required");
    return cfg->jwks != NULL ? kc_check_jwks(cfg->jwks, true, NULL) : HS_OK;
}

static HS_RESULT kc_parse_retire(json_object *doc, struct kc_config *cfg, const char *kid)
{
    size_t n = kid != NULL ? strlen(kid) : 0;
    HS_ENSURE_MSG(
        n == SGN_KID_LEN && strspn(kid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789-_") == n,
        HS_ERR_INPUT_FIELD, "KID must be a %d-character RFC 7638 thumbprint", SGN_KID_LEN);
    memcpy(cfg->retire_kid, kid, n + 1);
    HS_GUARD(kc_get_updated(doc, "jwks", true, &cfg->jwks));
    return kc_check_jwks(cfg->jwks, false, cfg->retire_kid);
}

/* --- SSH CA keys (ssh-ca, and the "ssh" blocks of export and verify) ---------------------- */

static HS_RESULT kc_ssh_key_type(const char *field, const char *type, struct kc_key *k)
{
    for (size_t i = 0; i < sizeof(kc_ssh_key_types) / sizeof(kc_ssh_key_types[0]); i++) {
        if (strcmp(type, kc_ssh_key_types[i].name) == 0) {
            k->type = kc_ssh_key_types[i].type;
            k->rsa_bits = kc_ssh_key_types[i].bits;
            return HS_OK;
        }
    }
    HS_ENSURE_MSG(strncmp(type, "RSA-", 4) != 0, HS_ERR_INPUT_KEY,
                  "%s.type: %s refused; an SSH CA key needs RSA-3072 or RSA-4096", field, type);
    HS_BAIL_MSG(HS_ERR_INPUT_KEY,
                "%s.type: unknown key type %s (EC-P256, EC-P384, RSA-3072, RSA-4096, Ed25519)",
                field, type);
}

static HS_RESULT kc_parse_ssh_ca_body(json_object *obj, const char *field, struct kc_ssh_ca *ca)
{
    HS_GUARD(hs_json_get_string(obj, "label", true, P11_LABEL_MAX, &ca->key.label));
    const char *type = NULL;
    HS_GUARD(hs_json_get_string(obj, "type", false, 16, &type));
    HS_GUARD(kc_ssh_key_type(field, type != NULL ? type : "EC-P384", &ca->key));
    return kc_get_output(obj, "public_key_output", false, &ca->output);
}

/* "user_ca" / "host_ca": {"label", "type" (default EC-P384), "public_key_output"}. */
static HS_RESULT kc_parse_ssh_ca(json_object *doc, const char *field, struct kc_ssh_ca *ca)
{
    static const char *const allowed[] = {"label", "type", "public_key_output", NULL};
    json_object *obj = NULL;
    HS_GUARD(hs_json_get_typed(doc, field, false, json_type_object, &obj));
    ca->present = obj != NULL;
    if (obj == NULL) {
        return HS_OK;
    }
    HS_GUARD(hs_error_context(hs_json_check_keys(obj, allowed, field), field));
    return hs_error_context(kc_parse_ssh_ca_body(obj, field, ca), field);
}

static HS_RESULT kc_parse_ssh_ca_step(json_object *doc, struct kc_config *cfg)
{
    const struct kc_ssh_ca *u = &cfg->ssh_user_ca;
    const struct kc_ssh_ca *h = &cfg->ssh_host_ca;
    HS_GUARD(kc_parse_ssh_ca(doc, "user_ca", &cfg->ssh_user_ca));
    HS_GUARD(kc_parse_ssh_ca(doc, "host_ca", &cfg->ssh_host_ca));
    HS_ENSURE_MSG(u->present || h->present, HS_ERR_INPUT_FIELD,
                  "one of \"user_ca\" and \"host_ca\" is required");
    bool both = u->present && h->present;
    HS_ENSURE_MSG(!both || strcmp(u->key.label, h->key.label) != 0, HS_ERR_INPUT_FIELD,
                  "user_ca.label and host_ca.label must differ (one key for both roles would let "
                  "a host certificate log in as a user)");
    HS_ENSURE_MSG(!both || u->output == NULL || h->output == NULL ||
                      strcmp(u->output, h->output) != 0,
                  HS_ERR_INPUT_FIELD, "user_ca and host_ca name the same public_key_output");
    return HS_OK;
}

static bool kc_key_ref_valid(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            return false;
        }
    }
    return n > 0 && n <= P11_KEY_REF_MAX;
}

/* A known_hosts host pattern (sshd(8) SSH_KNOWN_HOSTS FILE FORMAT): a name or address with
 * the wildcards * and ?, a leading ! to negate, [host]:port for another port. No commas or
 * whitespace: the patterns are joined with commas on the line. */
static bool kc_ssh_host_pattern_valid(const char *s)
{
    static const char allowed[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                  "0123456789.-_*?[]:!";
    size_t n = strlen(s);
    return n > 0 && n <= KC_SSH_HOST_PATTERN_MAX && strspn(s, allowed) == n;
}

static HS_RESULT kc_parse_ssh_list(json_object *obj, const char *key, bool (*valid)(const char *),
                                   const char **out, size_t max, size_t *n)
{
    HS_ENSURE_MSG(json_object_object_get_ex(obj, key, NULL), HS_ERR_INPUT_FIELD,
                  "field \"%s\" is required", key);
    HS_GUARD(kc_parse_strings(obj, key, valid, out, max, n));
    HS_ENSURE_MSG(*n > 0, HS_ERR_INPUT_FIELD, "field \"%s\" lists nothing", key);
    return HS_OK;
}

static HS_RESULT kc_parse_ssh_export_body(json_object *obj, struct kc_ssh_export *e)
{
    HS_GUARD(kc_parse_ssh_list(obj, "user_ca_keys", kc_key_ref_valid, e->user_ca_keys,
                               KC_SSH_CA_KEYS_MAX, &e->n_user_ca_keys));
    HS_GUARD(kc_parse_ssh_list(obj, "host_ca_keys", kc_key_ref_valid, e->host_ca_keys,
                               KC_SSH_CA_KEYS_MAX, &e->n_host_ca_keys));
    HS_GUARD(kc_parse_ssh_list(obj, "known_hosts_patterns", kc_ssh_host_pattern_valid,
                               e->host_patterns, KC_SSH_HOST_PATTERNS_MAX, &e->n_host_patterns));
    HS_GUARD(kc_get_output(obj, "user_ca_output", true, &e->user_ca_output));
    HS_GUARD(kc_get_output(obj, "host_ca_output", true, &e->host_ca_output));
    HS_GUARD(kc_get_output(obj, "known_hosts_output", true, &e->known_hosts_output));
    HS_ENSURE_MSG(strcmp(e->user_ca_output, e->host_ca_output) != 0 &&
                      strcmp(e->user_ca_output, e->known_hosts_output) != 0 &&
                      strcmp(e->host_ca_output, e->known_hosts_output) != 0,
                  HS_ERR_INPUT_FIELD, "the three outputs must be different files");
    return HS_OK;
}

static HS_RESULT kc_parse_ssh_verify_body(json_object *obj, struct kc_config *cfg)
{
    HS_GUARD(kc_get_input(obj, "user_ca", false, &cfg->ssh_user_ca_file));
    HS_GUARD(kc_get_input(obj, "host_ca", false, &cfg->ssh_host_ca_file));
    HS_GUARD(kc_get_input(obj, "known_hosts", false, &cfg->ssh_known_hosts_file));
    HS_ENSURE_MSG(cfg->ssh_user_ca_file != NULL || cfg->ssh_host_ca_file != NULL,
                  HS_ERR_INPUT_FIELD, "one of \"user_ca\" and \"host_ca\" is required");
    HS_ENSURE_MSG(cfg->ssh_known_hosts_file == NULL || cfg->ssh_host_ca_file != NULL,
                  HS_ERR_INPUT_FIELD, "\"known_hosts\" is checked against \"host_ca\": name both");
    return HS_OK;
}

/* The optional "ssh" block of export and verify. */
static HS_RESULT kc_parse_ssh_block(json_object *doc, struct kc_config *cfg)
{
    static const char *const export_keys[] = {"user_ca_keys",
                                              "host_ca_keys",
                                              "known_hosts_patterns",
                                              "user_ca_output",
                                              "host_ca_output",
                                              "known_hosts_output",
                                              NULL};
    static const char *const verify_keys[] = {"user_ca", "host_ca", "known_hosts", NULL};
    json_object *obj = NULL;
    HS_GUARD(hs_json_get_typed(doc, "ssh", false, json_type_object, &obj));
    cfg->has_ssh = obj != NULL;
    if (obj == NULL) {
        return HS_OK;
    }
    bool is_export = cfg->step == KC_STEP_EXPORT;
    HS_GUARD(hs_error_context(hs_json_check_keys(obj, is_export ? export_keys : verify_keys, "ssh"),
                              "ssh"));
    return hs_error_context(is_export ? kc_parse_ssh_export_body(obj, &cfg->ssh_export)
                                      : kc_parse_ssh_verify_body(obj, cfg),
                            "ssh");
}

/* Without an "ssh" block the X.509 part is required; with one it is optional, as a whole: any
 * of keys present makes all the required ones required. */
static bool kc_x509_wanted(const struct kc_config *cfg, const char *const *keys)
{
    bool any = !cfg->has_ssh;
    for (size_t i = 0; keys[i] != NULL; i++) {
        any = any || json_object_object_get_ex(cfg->doc, keys[i], NULL);
    }
    return any;
}

static HS_RESULT kc_parse_export(json_object *doc, struct kc_config *cfg)
{
    static const char *const x509[] = {"root_certificate", "intermediate_certificate",
                                       "jwt_keys",         "truststore_output",
                                       "jwks_output",      NULL};
    HS_GUARD(kc_parse_ssh_block(doc, cfg));
    cfg->has_x509 = kc_x509_wanted(cfg, x509);
    if (!cfg->has_x509) {
        return HS_OK;
    }
    HS_GUARD(kc_get_input(doc, "root_certificate", true, &cfg->root_cert));
    HS_GUARD(kc_get_input(doc, "intermediate_certificate", true, &cfg->intermediate_cert));
    HS_GUARD(sgn_jwt_key_refs_parse(doc, "jwt_keys", cfg->jwt_keys, &cfg->njwt_keys));
    HS_GUARD(kc_get_output(doc, "truststore_output", true, &cfg->truststore_output));
    return kc_get_output(doc, "jwks_output", true, &cfg->jwks_output);
}

/* --- intermediate and verify ------------------------------------------------------------- */

/* An intermediate either generates its key here ("key") or certifies a public key generated
 * on another token by the key step ("public_key"): the offline-root flow (docs/ceremony.md). */
static HS_RESULT kc_parse_subject_key(json_object *doc, struct kc_config *cfg)
{
    bool has_key = json_object_object_get_ex(doc, "key", NULL);
    HS_GUARD(kc_get_input(doc, "public_key", false, &cfg->public_key));
    HS_ENSURE_MSG(has_key != (cfg->public_key != NULL), HS_ERR_INPUT_FIELD,
                  "exactly one of \"key\" (generate the intermediate key on this token) and "
                  "\"public_key\" (certify a key made by the key step on another token) is "
                  "required");
    return has_key ? kc_parse_key(doc, "EC-P256", &cfg->key) : HS_OK;
}

static HS_RESULT kc_parse_verify(json_object *doc, struct kc_config *cfg)
{
    static const char *const x509[] = {"root_certificate", "intermediate_certificate",
                                       "root_key_offline", "intermediate_key_offline", NULL};
    HS_GUARD(kc_parse_ssh_block(doc, cfg));
    HS_GUARD(kc_get_input(doc, "jwks", false, &cfg->jwks));
    cfg->has_x509 = kc_x509_wanted(cfg, x509);
    if (!cfg->has_x509) {
        return HS_OK;
    }
    HS_GUARD(kc_get_input(doc, "root_certificate", true, &cfg->root_cert));
    HS_GUARD(kc_get_input(doc, "intermediate_certificate", true, &cfg->intermediate_cert));
    HS_GUARD(hs_json_get_bool(doc, "root_key_offline", false, false, &cfg->root_key_offline));
    HS_GUARD(hs_json_get_bool(doc, "intermediate_key_offline", false, false,
                              &cfg->intermediate_key_offline));
    HS_ENSURE_MSG(!cfg->root_key_offline || !cfg->intermediate_key_offline || cfg->jwks != NULL,
                  HS_ERR_INPUT_FIELD,
                  "root_key_offline and intermediate_key_offline leave no key to find on the "
                  "token; name a \"jwks\" or verify on the token that holds a key");
    return HS_OK;
}

/* --- the document -------------------------------------------------------------------------- */

static HS_RESULT kc_parse_step(struct kc_config *cfg, const char *retire_kid)
{
    json_object *doc = cfg->doc;
    switch (cfg->step) {
    case KC_STEP_INIT_TOKEN:
        return kc_get_input(doc, "so_pin_file", true, &cfg->so_pin_file);
    case KC_STEP_ROOT:
        HS_GUARD(kc_parse_key(doc, "EC-P384", &cfg->key));
        return kc_parse_cert(doc, cfg->step, &cfg->cert);
    case KC_STEP_KEY:
        HS_GUARD(kc_parse_key(doc, "EC-P256", &cfg->key));
        return kc_get_output(doc, "public_key_output", true, &cfg->public_key_output);
    case KC_STEP_INTERMEDIATE:
        HS_GUARD(kc_parse_issuer(doc, cfg));
        HS_GUARD(kc_parse_subject_key(doc, cfg));
        return kc_parse_cert(doc, cfg->step, &cfg->cert);
    case KC_STEP_CROSS_SIGN:
        HS_GUARD(kc_parse_issuer(doc, cfg));
        HS_GUARD(kc_get_input(doc, "subject_certificate", true, &cfg->subject_cert));
        return kc_parse_cert(doc, cfg->step, &cfg->cert);
    case KC_STEP_CRL:
        HS_GUARD(kc_parse_issuer(doc, cfg));
        return kc_parse_crl(doc, cfg);
    case KC_STEP_JWT_KEY:
        return kc_parse_jwt_key(doc, cfg);
    case KC_STEP_JWT_RETIRE:
        return kc_parse_retire(doc, cfg, retire_kid);
    case KC_STEP_EXPORT:
        return kc_parse_export(doc, cfg);
    case KC_STEP_VERIFY:
        return kc_parse_verify(doc, cfg);
    case KC_STEP_SSH_CA:
        return kc_parse_ssh_ca_step(doc, cfg);
    default:
        HS_BAIL(HS_ERR_INTERNAL);
    }
}

static const char *const *kc_allowed_keys(enum kc_step step)
{
    static const char *const init_token[] = {"token", "transcript", "so_pin_file", NULL};
    static const char *const root[] = {"token", "transcript", "key", "certificate", NULL};
    static const char *const key[] = {"token", "transcript", "key", "public_key_output", NULL};
    static const char *const intermediate[] = {"token",      "transcript",  "issuer", "key",
                                               "public_key", "certificate", NULL};
    static const char *const cross[] = {
        "token", "transcript", "issuer", "subject_certificate", "certificate", NULL};
    static const char *const crl[] = {"token", "transcript", "issuer", "crl", NULL};
    static const char *const jwt_key[] = {"token",      "transcript", "key", "alg",
                                          "jwk_output", "jwks",       NULL};
    static const char *const retire[] = {"token", "transcript", "jwks", NULL};
    static const char *const export_[] = {
        "token",    "transcript",        "root_certificate", "intermediate_certificate",
        "jwt_keys", "truststore_output", "jwks_output",      "ssh",
        NULL};
    static const char *const verify[] = {
        "token", "transcript",       "root_certificate",         "intermediate_certificate",
        "jwks",  "root_key_offline", "intermediate_key_offline", "ssh",
        NULL};
    static const char *const ssh_ca[] = {"token", "transcript", "user_ca", "host_ca", NULL};
    switch (step) {
    case KC_STEP_INIT_TOKEN:
        return init_token;
    case KC_STEP_ROOT:
        return root;
    case KC_STEP_KEY:
        return key;
    case KC_STEP_INTERMEDIATE:
        return intermediate;
    case KC_STEP_CROSS_SIGN:
        return cross;
    case KC_STEP_CRL:
        return crl;
    case KC_STEP_JWT_KEY:
        return jwt_key;
    case KC_STEP_JWT_RETIRE:
        return retire;
    case KC_STEP_VERIFY:
        return verify;
    case KC_STEP_SSH_CA:
        return ssh_ca;
    case KC_STEP_EXPORT:
    default:
        return export_;
    }
}

static HS_RESULT kc_parse_token(struct kc_config *cfg)
{
    json_object *token = NULL;
    HS_GUARD(hs_json_get_typed(cfg->doc, "token", cfg->step != KC_STEP_JWT_RETIRE, json_type_object,
                               &token));
    cfg->has_token = token != NULL;
    if (!cfg->has_token) {
        return HS_OK;
    }
    return p11_token_config_parse(cfg->doc, P11_CONFIG_PROMPT, &cfg->token);
}

HS_RESULT kc_config_load(enum kc_step step, const char *path, const char *retire_kid,
                         struct kc_config **out)
{
    HS_ENSURE_REF(path);
    HS_DEFER(struct hs_buf *text = NULL, hs_buf_freep);
    HS_GUARD(hs_file_read(path, KC_CONFIG_MAX, &text));
    HS_DEFER(struct kc_config *cfg = OPENSSL_zalloc(sizeof(*cfg)), kc_config_freep);
    HS_ENSURE(cfg != NULL, HS_ERR_NOMEM);
    cfg->step = step;
    cfg->cert.path_len = -1;
    HS_GUARD(hs_json_parse_object((const char *)hs_buf_data(text), hs_buf_len(text), KC_CONFIG_MAX,
                                  HS_JSON_DEPTH_MAX, &cfg->doc));
    HS_GUARD(hs_json_check_keys(cfg->doc, kc_allowed_keys(step), kc_step_name(step)));
    HS_GUARD(kc_parse_token(cfg));
    HS_GUARD(kc_get_path(cfg->doc, "transcript", false, &cfg->transcript));
    HS_GUARD(kc_parse_step(cfg, retire_kid));
    *out = cfg;
    cfg = NULL;
    return HS_OK;
}
