#include "authorizer/au_config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "authorizer/au_json.h"
#include "aws/aws_http.h"
#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "common/hs_json.h"

HS_DEFINE_FREEP(au_config_tmp_freep, struct au_config, OPENSSL_free)

unsigned int au_alg_from_name(const char *name)
{
    static const struct {
        const char *name;
        unsigned int bit;
    } algs[] = {{"RS256", AU_ALG_RS256},
                {"PS256", AU_ALG_PS256},
                {"ES256", AU_ALG_ES256},
                {"ES384", AU_ALG_ES384},
                {"EdDSA", AU_ALG_EDDSA}};
    for (size_t i = 0; name != NULL && i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strcmp(name, algs[i].name) == 0) {
            return algs[i].bit;
        }
    }
    return 0;
}

/* Copies the string at key (required or not; "" when absent) into out (cap bytes). */
static HS_RESULT au_config_str(json_object *obj, const char *key, bool required, char *out,
                               size_t cap)
{
    const char *s = NULL;
    HS_GUARD(hs_json_get_string(obj, key, required, cap - 1, &s));
    out[0] = '\0';
    if (s != NULL) {
        memcpy(out, s, strlen(s) + 1);
    }
    return HS_OK;
}

/* An array at key of 1..max non-empty strings of at most cap - 1 bytes, each copied to
 * out + i * cap; *n is the count (0 when absent and !required). */
static HS_RESULT au_config_strings(json_object *obj, const char *key, bool required, size_t max,
                                   char *out, size_t cap, size_t *n)
{
    json_object *arr = NULL;
    HS_GUARD(hs_json_get_typed(obj, key, required, json_type_array, &arr));
    *n = 0;
    if (arr == NULL) {
        return HS_OK;
    }
    size_t len = json_object_array_length(arr);
    HS_ENSURE_MSG(len >= 1 && len <= max, HS_ERR_INPUT_RANGE, "%s: 1 to %zu entries", key, max);
    for (size_t i = 0; i < len; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        HS_ENSURE_MSG(json_object_is_type(v, json_type_string), HS_ERR_INPUT_FIELD,
                      "%s[%zu]: not a string", key, i);
        const char *s = json_object_get_string(v);
        size_t sl = (size_t)json_object_get_string_len(v);
        HS_ENSURE_MSG(sl > 0 && sl < cap && strlen(s) == sl, HS_ERR_INPUT_FIELD,
                      "%s[%zu]: empty, too long or holding NUL", key, i);
        memcpy(out + i * cap, s, sl + 1);
    }
    *n = len;
    return HS_OK;
}

static HS_RESULT au_config_jwks(json_object *root, struct au_config *c)
{
    json_object *j = NULL;
    HS_GUARD(hs_json_get_typed(root, "jwks", true, json_type_object, &j));
    static const char *const keys[] = {"file",
                                       "url",
                                       "ssm_parameter",
                                       "ca_file",
                                       "region",
                                       "endpoint",
                                       "max_age_seconds",
                                       "refresh_seconds",
                                       "max_stale_seconds",
                                       NULL};
    HS_GUARD(hs_json_check_keys(j, keys, "jwks"));
    static const char *const kinds[] = {"file", "url", "ssm_parameter"};
    int found = 0;
    for (int i = 0; i < 3; i++) {
        if (json_object_object_get_ex(j, kinds[i], NULL)) {
            found++;
            c->jwks.kind = (enum au_jwks_kind)(i + 1);
            HS_GUARD(au_config_str(j, kinds[i], true, c->jwks.source, sizeof(c->jwks.source)));
        }
    }
    HS_ENSURE_MSG(found == 1, HS_ERR_INPUT_CONFIG,
                  "jwks: exactly one of \"file\", \"url\", \"ssm_parameter\"");
    HS_GUARD(au_config_str(j, "ca_file", false, c->jwks.ca_file, sizeof(c->jwks.ca_file)));
    HS_GUARD(au_config_str(j, "region", false, c->jwks.region, sizeof(c->jwks.region)));
    HS_GUARD(au_config_str(j, "endpoint", false, c->jwks.endpoint, sizeof(c->jwks.endpoint)));
    HS_ENSURE_MSG(c->jwks.kind == AU_JWKS_URL || c->jwks.ca_file[0] == '\0' ||
                      c->jwks.kind == AU_JWKS_SSM,
                  HS_ERR_INPUT_CONFIG, "jwks.ca_file: only with \"url\" or \"ssm_parameter\"");
    HS_ENSURE_MSG(c->jwks.kind == AU_JWKS_SSM ||
                      (c->jwks.region[0] == '\0' && c->jwks.endpoint[0] == '\0'),
                  HS_ERR_INPUT_CONFIG, "jwks.region, jwks.endpoint: only with \"ssm_parameter\"");
    if (c->jwks.kind == AU_JWKS_URL) {
        HS_GUARD(aws_url_check(c->jwks.source, "jwks.url", NULL, false, NULL));
    }
    if (c->jwks.endpoint[0] != '\0') {
        HS_GUARD(aws_url_check(c->jwks.endpoint, "jwks.endpoint", NULL, true, NULL));
    }
    int64_t v = 0;
    HS_GUARD(
        hs_json_get_int(j, "max_age_seconds", false, 0, AU_MAX_AGE_MAX, AU_MAX_AGE_DEFAULT, &v));
    c->jwks.max_age_s = (long)v;
    HS_GUARD(hs_json_get_int(j, "refresh_seconds", false, 1, 3600, AU_REFRESH_DEFAULT, &v));
    c->jwks.refresh_s = (long)v;
    HS_GUARD(hs_json_get_int(j, "max_stale_seconds", false, 0, 7 * 86400, AU_STALE_DEFAULT, &v));
    c->jwks.max_stale_s = (long)v;
    return HS_OK;
}

static HS_RESULT au_config_mtls(json_object *root, struct au_config *c)
{
    json_object *m = NULL;
    HS_GUARD(hs_json_get_typed(root, "mtls", false, json_type_object, &m));
    if (m == NULL) {
        return HS_OK;
    }
    static const char *const keys[] = {"require_cnf", "status_url",    "dynamodb_table", "endpoint",
                                       "ca_file",     "cache_seconds", "region",         NULL};
    HS_GUARD(hs_json_check_keys(m, keys, "mtls"));
    c->mtls.enabled = true;
    HS_GUARD(hs_json_get_bool(m, "require_cnf", false, false, &c->mtls.require_cnf));
    HS_GUARD(au_config_str(m, "status_url", false, c->mtls.status_url, sizeof(c->mtls.status_url)));
    HS_GUARD(au_config_str(m, "dynamodb_table", false, c->mtls.dynamodb_table,
                           sizeof(c->mtls.dynamodb_table)));
    HS_GUARD(au_config_str(m, "endpoint", false, c->mtls.endpoint, sizeof(c->mtls.endpoint)));
    bool url = c->mtls.status_url[0] != '\0';
    bool table = c->mtls.dynamodb_table[0] != '\0';
    HS_ENSURE_MSG(url != table, HS_ERR_INPUT_FIELD,
                  "mtls: exactly one of \"status_url\", \"dynamodb_table\"");
    if (url) {
        HS_GUARD(aws_url_check(c->mtls.status_url, "mtls.status_url", NULL, false, NULL));
    }
    size_t tl = strlen(c->mtls.dynamodb_table);
    HS_ENSURE_MSG(!table ||
                      (tl >= 3 && tl <= 255 && aws_chars_ok(c->mtls.dynamodb_table, tl, "_-.")),
                  HS_ERR_INPUT_CONFIG, "mtls.dynamodb_table: not a DynamoDB table name");
    HS_ENSURE_MSG(table || c->mtls.endpoint[0] == '\0', HS_ERR_INPUT_CONFIG,
                  "mtls.endpoint: only with \"dynamodb_table\"");
    if (c->mtls.endpoint[0] != '\0') {
        HS_GUARD(aws_url_check(c->mtls.endpoint, "mtls.endpoint", NULL, true, NULL));
    }
    HS_GUARD(au_config_str(m, "ca_file", false, c->mtls.ca_file, sizeof(c->mtls.ca_file)));
    HS_GUARD(au_config_str(m, "region", false, c->mtls.region, sizeof(c->mtls.region)));
    int64_t v = 0;
    HS_GUARD(hs_json_get_int(m, "cache_seconds", false, 0, 3600, AU_CACHE_DEFAULT, &v));
    c->mtls.cache_s = (long)v;
    return HS_OK;
}

/* "METHOD /path": an upper-case method (or ANY), one space, a path starting with '/'. */
static bool au_route_name_ok(const char *s)
{
    size_t m = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    return m > 0 && s[m] == ' ' && s[m + 1] == '/' && strpbrk(s + m + 1, " \t\r\n") == NULL;
}

static HS_RESULT au_config_routes(json_object *root, struct au_config *c)
{
    json_object *r = NULL;
    HS_GUARD(hs_json_get_typed(root, "routes", false, json_type_object, &r));
    if (r == NULL) {
        return HS_OK;
    }
    HS_ENSURE_MSG(json_object_object_length(r) <= AU_ROUTES_MAX, HS_ERR_INPUT_RANGE,
                  "routes: at most %d", AU_ROUTES_MAX);
    json_object_object_foreach(r, name, val)
    {
        struct au_route *rt = &c->routes[c->n_routes];
        HS_ENSURE_MSG(strlen(name) <= AU_ROUTE_MAX && au_route_name_ok(name), HS_ERR_INPUT_CONFIG,
                      "routes: \"%.64s\" is not \"METHOD /path\"", name);
        HS_ENSURE_MSG(json_object_is_type(val, json_type_object), HS_ERR_INPUT_FIELD,
                      "routes.\"%.64s\": not an object", name);
        static const char *const keys[] = {"scopes", NULL};
        HS_GUARD(hs_error_context(hs_json_check_keys(val, keys, "route"), name));
        memcpy(rt->name, name, strlen(name) + 1);
        HS_GUARD(
            hs_error_context(au_config_strings(val, "scopes", true, AU_SCOPES_MAX,
                                               &rt->scopes[0][0], AU_SCOPE_MAX + 1, &rt->n_scopes),
                             name));
        for (size_t i = 0; i < rt->n_scopes; i++) {
            HS_ENSURE_MSG(strchr(rt->scopes[i], ' ') == NULL, HS_ERR_INPUT_CONFIG,
                          "routes.\"%.64s\".scopes: a scope holds no space", name);
        }
        c->n_routes++;
    }
    return HS_OK;
}

static HS_RESULT au_config_fill(json_object *root, struct au_config *c)
{
    static const char *const keys[] = {
        "issuer", "audiences", "algorithms", "leeway_seconds", "wildcard_resource", "jwks",
        "mtls",   "routes",    NULL};
    HS_GUARD(hs_json_check_keys(root, keys, "config"));
    HS_GUARD(au_config_str(root, "issuer", true, c->issuer, sizeof(c->issuer)));
    HS_GUARD(au_config_strings(root, "audiences", true, AU_AUDIENCES_MAX, &c->audiences[0][0],
                               AU_STR_MAX + 1, &c->n_audiences));
    char algs[5][16];
    size_t n_algs = 0;
    HS_GUARD(
        au_config_strings(root, "algorithms", false, 5, &algs[0][0], sizeof(algs[0]), &n_algs));
    c->algorithms = n_algs == 0
                        ? (AU_ALG_RS256 | AU_ALG_PS256 | AU_ALG_ES256 | AU_ALG_ES384 | AU_ALG_EDDSA)
                        : 0;
    for (size_t i = 0; i < n_algs; i++) {
        unsigned int bit = au_alg_from_name(algs[i]);
        HS_ENSURE_MSG(bit != 0, HS_ERR_INPUT_CONFIG,
                      "algorithms: \"%.16s\" is not one of RS256, PS256, ES256, ES384, EdDSA",
                      algs[i]);
        c->algorithms |= bit;
    }
    int64_t v = 0;
    HS_GUARD(hs_json_get_int(root, "leeway_seconds", false, 0, AU_LEEWAY_MAX, AU_LEEWAY_MAX, &v));
    c->leeway_s = (long)v;
    HS_GUARD(hs_json_get_bool(root, "wildcard_resource", false, false, &c->wildcard_resource));
    HS_GUARD(au_config_jwks(root, c));
    HS_GUARD(au_config_mtls(root, c));
    HS_GUARD(au_config_routes(root, c));
    return HS_OK;
}

HS_RESULT au_config_parse(const char *text, size_t len, struct au_config *out)
{
    HS_ENSURE_REF(out);
    HS_DEFER(json_object *root = NULL, hs_json_putp);
    HS_GUARD(au_json_parse(text, len, AU_CONFIG_MAX, &root));
    HS_DEFER(struct au_config *c = OPENSSL_zalloc(sizeof(*c)), au_config_tmp_freep);
    HS_ENSURE(c != NULL, HS_ERR_NOMEM);
    HS_GUARD(au_config_fill(root, c));
    memcpy(out, c, sizeof(*c));
    return HS_OK;
}

HS_RESULT au_config_load(const char *path, struct au_config *out)
{
    HS_ENSURE_REF(path);
    HS_DEFER(struct hs_buf *text = NULL, hs_buf_freep);
    HS_GUARD(hs_file_read(path, AU_CONFIG_MAX, &text));
    return au_config_parse((const char *)hs_buf_data(text), hs_buf_len(text), out);
}

const struct au_route *au_config_route(const struct au_config *c, const char *route)
{
    for (size_t i = 0; route != NULL && i < c->n_routes; i++) {
        if (strcmp(c->routes[i].name, route) == 0) {
            return &c->routes[i];
        }
    }
    return NULL;
}
