#include "kc_config.h"

#include <libgen.h>
#include <string.h>
#include <sys/stat.h>

#include "hs_defer.h"
#include "hs_file.h"
#include "hs_json.h"

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

const char *kc_step_name(enum kc_step step)
{
    switch (step) {
    case KC_STEP_INIT_TOKEN:
        return "init-token";
    case KC_STEP_ROOT:
        return "root";
    case KC_STEP_INTERMEDIATE:
        return "intermediate";
    case KC_STEP_JWT_KEY:
        return "jwt-key";
    case KC_STEP_EXPORT:
        return "export";
    default:
        return "?";
    }
}

void kc_config_free(struct kc_config *cfg)
{
    if (cfg == NULL) {
        return;
    }
    X509_NAME_free(cfg->cert.subject);
    json_object_put(cfg->doc);
    OPENSSL_free(cfg);
}

void kc_config_freep(struct kc_config **cfg)
{
    kc_config_free(*cfg);
}

static hs_result kc_get_path(json_object *obj, const char *key, bool required, const char **out)
{
    return hs_json_get_string(obj, key, required, KC_PATH_MAX, out);
}

/* An input file named by the config must exist. */
static hs_result kc_get_input(json_object *obj, const char *key, const char **out)
{
    HS_GUARD(kc_get_path(obj, key, true, out));
    HS_ENSURE_MSG(hs_file_exists(*out), HS_ERR_INPUT_NOT_FOUND, "field \"%s\": %s does not exist",
                  key, *out);
    return HS_OK;
}

/* An output must not exist yet (nothing is ever overwritten) and its directory must. */
static hs_result kc_get_output(json_object *obj, const char *key, const char **out)
{
    HS_GUARD(kc_get_path(obj, key, true, out));
    HS_ENSURE_MSG(!hs_file_exists(*out), HS_ERR_INPUT_EXISTS,
                  "field \"%s\": %s already exists; refusing to overwrite", key, *out);
    char dir[KC_PATH_MAX + 1];
    memcpy(dir, *out, strlen(*out) + 1);
    struct stat st;
    HS_ENSURE_MSG(stat(dirname(dir), &st) == 0 && S_ISDIR(st.st_mode), HS_ERR_INPUT_CONFIG,
                  "field \"%s\": the directory of %s does not exist", key, *out);
    return HS_OK;
}

static hs_result kc_parse_key(json_object *doc, struct kc_key *k)
{
    static const char *const allowed[] = {"label", "type", NULL};
    json_object *obj = NULL;
    HS_GUARD(hs_json_get_typed(doc, "key", true, json_type_object, &obj));
    HS_GUARD(hs_error_context(hs_json_check_keys(obj, allowed, "key"), "key"));
    HS_GUARD(
        hs_error_context(hs_json_get_string(obj, "label", true, P11_LABEL_MAX, &k->label), "key"));
    const char *type = NULL;
    HS_GUARD(hs_error_context(hs_json_get_string(obj, "type", true, 16, &type), "key"));
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

static hs_result kc_parse_subject(json_object *cert, X509_NAME **out)
{
    static const char *const allowed[] = {"C", "ST", "L", "O", "OU", "CN", NULL};
    json_object *obj = NULL;
    HS_GUARD(hs_error_context(hs_json_get_typed(cert, "subject", true, json_type_object, &obj),
                              "certificate"));
    HS_GUARD(hs_error_context(hs_json_check_keys(obj, allowed, "subject"), "certificate.subject"));
    HS_DEFER(X509_NAME *name = X509_NAME_new(), hs_x509_name_freep);
    HS_ENSURE(name != NULL, HS_ERR_NOMEM);
    for (size_t i = 0; i < sizeof(kc_name_attrs) / sizeof(kc_name_attrs[0]); i++) {
        const char *v = NULL;
        bool required = kc_name_attrs[i].nid == NID_commonName;
        HS_GUARD(hs_error_context(
            hs_json_get_string(obj, kc_name_attrs[i].field, required, KC_NAME_VALUE_MAX, &v),
            "certificate.subject"));
        if (v == NULL) {
            continue;
        }
        HS_ENSURE_MSG(kc_name_attrs[i].nid != NID_countryName || strlen(v) == 2, HS_ERR_INPUT_FIELD,
                      "certificate.subject.C must be a two-letter code");
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

static hs_result kc_parse_cert(json_object *doc, struct kc_cert *c, bool intermediate)
{
    static const char *const allowed_root[] = {"subject", "validity_days", "output", NULL};
    static const char *const allowed_int[] = {"subject", "validity_days", "output", "path_len",
                                              NULL};
    json_object *obj = NULL;
    HS_GUARD(hs_json_get_typed(doc, "certificate", true, json_type_object, &obj));
    HS_GUARD(hs_error_context(
        hs_json_check_keys(obj, intermediate ? allowed_int : allowed_root, "certificate"),
        "certificate"));
    HS_GUARD(kc_parse_subject(obj, &c->subject));
    int64_t days = 0;
    HS_GUARD(hs_error_context(
        hs_json_get_int(obj, "validity_days", true, 1, KC_VALIDITY_DAYS_MAX, 0, &days),
        "certificate"));
    c->validity_days = (long)days;
    int64_t path_len = -1;
    if (intermediate) {
        HS_GUARD(hs_error_context(hs_json_get_int(obj, "path_len", false, 0, 8, 0, &path_len),
                                  "certificate"));
    }
    c->path_len = (int)path_len;
    return hs_error_context(kc_get_output(obj, "output", &c->output), "certificate");
}

static hs_result kc_parse_issuer(json_object *doc, struct kc_config *cfg)
{
    static const char *const allowed[] = {"key", "certificate", NULL};
    json_object *obj = NULL;
    HS_GUARD(hs_json_get_typed(doc, "issuer", true, json_type_object, &obj));
    HS_GUARD(hs_error_context(hs_json_check_keys(obj, allowed, "issuer"), "issuer"));
    HS_GUARD(hs_error_context(
        hs_json_get_string(obj, "key", true, P11_KEY_REF_MAX, &cfg->issuer_key), "issuer"));
    return hs_error_context(kc_get_input(obj, "certificate", &cfg->issuer_cert), "issuer");
}

/* The JWS algorithm must fit the key type (RFC 7518 §3.1), checked before any key exists. */
static hs_result kc_check_jwt_alg(const char *alg, enum p11_key_type type)
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

static hs_result kc_parse_step(struct kc_config *cfg)
{
    json_object *doc = cfg->doc;
    switch (cfg->step) {
    case KC_STEP_INIT_TOKEN:
        return kc_get_input(doc, "so_pin_file", &cfg->so_pin_file);
    case KC_STEP_ROOT:
        HS_GUARD(kc_parse_key(doc, &cfg->key));
        return kc_parse_cert(doc, &cfg->cert, false);
    case KC_STEP_INTERMEDIATE:
        HS_GUARD(kc_parse_issuer(doc, cfg));
        HS_GUARD(kc_parse_key(doc, &cfg->key));
        return kc_parse_cert(doc, &cfg->cert, true);
    case KC_STEP_JWT_KEY:
        HS_GUARD(kc_parse_key(doc, &cfg->key));
        HS_GUARD(hs_json_get_string(doc, "alg", false, 8, &cfg->jwt_alg));
        HS_GUARD(kc_check_jwt_alg(cfg->jwt_alg, cfg->key.type));
        return kc_get_output(doc, "jwk_output", &cfg->jwk_output);
    case KC_STEP_EXPORT:
        HS_GUARD(kc_get_input(doc, "root_certificate", &cfg->root_cert));
        HS_GUARD(kc_get_input(doc, "intermediate_certificate", &cfg->intermediate_cert));
        HS_GUARD(sgn_jwt_key_refs_parse(doc, "jwt_keys", cfg->jwt_keys, &cfg->njwt_keys));
        HS_GUARD(kc_get_output(doc, "truststore_output", &cfg->truststore_output));
        return kc_get_output(doc, "jwks_output", &cfg->jwks_output);
    default:
        HS_BAIL(HS_ERR_INTERNAL);
    }
}

static const char *const *kc_allowed_keys(enum kc_step step)
{
    static const char *const init_token[] = {"token", "transcript", "so_pin_file", NULL};
    static const char *const root[] = {"token", "transcript", "key", "certificate", NULL};
    static const char *const intermediate[] = {"token", "transcript",  "issuer",
                                               "key",   "certificate", NULL};
    static const char *const jwt_key[] = {"token", "transcript", "key", "alg", "jwk_output", NULL};
    static const char *const export_[] = {
        "token",    "transcript",        "root_certificate", "intermediate_certificate",
        "jwt_keys", "truststore_output", "jwks_output",      NULL};
    switch (step) {
    case KC_STEP_INIT_TOKEN:
        return init_token;
    case KC_STEP_ROOT:
        return root;
    case KC_STEP_INTERMEDIATE:
        return intermediate;
    case KC_STEP_JWT_KEY:
        return jwt_key;
    case KC_STEP_EXPORT:
    default:
        return export_;
    }
}

HS_RESULT kc_config_load(enum kc_step step, const char *path, struct kc_config **out)
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
    HS_GUARD(p11_token_config_parse(cfg->doc, P11_CONFIG_PROMPT, &cfg->token));
    HS_GUARD(kc_get_path(cfg->doc, "transcript", false, &cfg->transcript));
    HS_GUARD(kc_parse_step(cfg));
    *out = cfg;
    cfg = NULL;
    return HS_OK;
}
