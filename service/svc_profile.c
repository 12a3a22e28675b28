#include "service/svc_profile.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>

#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "signer/sgn_cert.h"

#define SVC_HOUR_S 3600L
#define SVC_PROFILE_NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789-_"
#define SVC_USAGES_MAX 8    /* entries of one usage list */
#define SVC_E_DIGITS_MAX 78 /* decimal digits of 2^256 - 1 */

struct svc_usage_name {
    const char *name;
    unsigned int bit;
};

static const struct svc_usage_name svc_ekus[] = {
    {"serverAuth", SGN_EKU_SERVER_AUTH},
    {"clientAuth", SGN_EKU_CLIENT_AUTH},
};

/* A leaf never gets keyCertSign or cRLSign: only the CA signs certificates and CRLs. */
static const struct svc_usage_name svc_key_usages[] = {
    {"digitalSignature", SGN_KU_DIGITAL_SIGNATURE},
    {"keyEncipherment", SGN_KU_KEY_ENCIPHERMENT},
};

static void svc_profiles_default(long default_ttl_s, long max_ttl_s, struct svc_profiles *out)
{
    memset(out, 0, sizeof(*out));
    out->items[0] = (struct svc_profile){.name = "client",
                                         .eku = SGN_EKU_CLIENT_AUTH,
                                         .key_usage = SGN_KU_DIGITAL_SIGNATURE,
                                         .require_dns_san = false,
                                         .default_ttl_s = default_ttl_s,
                                         .max_ttl_s = max_ttl_s};
    out->items[1] =
        (struct svc_profile){.name = "server",
                             .eku = SGN_EKU_SERVER_AUTH,
                             .key_usage = SGN_KU_DIGITAL_SIGNATURE | SGN_KU_KEY_ENCIPHERMENT,
                             .require_dns_san = true,
                             .default_ttl_s = default_ttl_s,
                             .max_ttl_s = max_ttl_s};
    out->n = 2;
    sgn_rsa_exponents_default(&out->items[0].rsa_exponents);
    sgn_rsa_exponents_default(&out->items[1].rsa_exponents);
}

/* One bound of "rsa_public_exponents": a positive JSON integer or a string of decimal digits;
 * odd, 65537..2^256-1; written big-endian into out. */
static HS_RESULT svc_parse_exponent(json_object *obj, const char *key,
                                    unsigned char out[SGN_RSA_E_BYTES])
{
    json_object *v = NULL;
    HS_ENSURE_MSG(json_object_object_get_ex(obj, key, &v), HS_ERR_INPUT_FIELD,
                  "field \"rsa_public_exponents.%s\" is required", key);
    char digits[SVC_E_DIGITS_MAX + 2];
    if (json_object_is_type(v, json_type_int)) {
        int w = snprintf(digits, sizeof(digits), "%lld", (long long)json_object_get_int64(v));
        HS_ENSURE(w > 0 && (size_t)w < sizeof(digits), HS_ERR_INTERNAL);
    } else {
        const char *str = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        size_t n = strlen(str);
        HS_ENSURE_MSG(n > 0 && n <= SVC_E_DIGITS_MAX && strspn(str, "0123456789") == n,
                      HS_ERR_INPUT_FIELD,
                      "field \"rsa_public_exponents.%s\" must be an integer or a string of at "
                      "most %d decimal digits",
                      key, SVC_E_DIGITS_MAX);
        memcpy(digits, str, n + 1);
    }
    HS_DEFER(BIGNUM *e = NULL, hs_bn_freep);
    HS_ENSURE(BN_dec2bn(&e, digits) > 0 && e != NULL, HS_ERR_NOMEM);
    HS_ENSURE_MSG(BN_is_odd(e) && !BN_is_negative(e) && BN_num_bits(e) <= SGN_RSA_E_BYTES * 8 &&
                      BN_get_word(e) >= 65537,
                  HS_ERR_INPUT_RANGE,
                  "field \"rsa_public_exponents.%s\" must be an odd number from 65537 to "
                  "2^256 - 1",
                  key);
    HS_ENSURE(BN_bn2binpad(e, out, SGN_RSA_E_BYTES) == SGN_RSA_E_BYTES, HS_ERR_INTERNAL);
    return HS_OK;
}

/* "rsa_public_exponents": {"min": ..., "max": ...}, or 65537 only when absent. */
static HS_RESULT svc_parse_exponents(json_object *obj, struct sgn_rsa_exponents *out)
{
    static const char *const allowed[] = {"min", "max", NULL};
    json_object *range = NULL;
    HS_GUARD(hs_json_get_typed(obj, "rsa_public_exponents", false, json_type_object, &range));
    sgn_rsa_exponents_default(out);
    if (range == NULL) {
        return HS_OK;
    }
    HS_GUARD(hs_json_check_keys(range, allowed, "rsa_public_exponents"));
    HS_GUARD(svc_parse_exponent(range, "min", out->min));
    HS_GUARD(svc_parse_exponent(range, "max", out->max));
    HS_ENSURE_MSG(memcmp(out->min, out->max, SGN_RSA_E_BYTES) <= 0, HS_ERR_INPUT_RANGE,
                  "field \"rsa_public_exponents\": min is greater than max");
    return HS_OK;
}

/* A list of usage names ("key" of obj) as bits of table; dflt when absent. */
static HS_RESULT svc_parse_usages(json_object *obj, const char *key, bool required,
                                  const struct svc_usage_name *table, size_t ntable,
                                  unsigned int dflt, unsigned int *out)
{
    json_object *list = NULL;
    HS_GUARD(hs_json_get_typed(obj, key, required, json_type_array, &list));
    if (list == NULL) {
        *out = dflt;
        return HS_OK;
    }
    size_t n = json_object_array_length(list);
    HS_ENSURE_MSG(n > 0, HS_ERR_INPUT_FIELD, "field \"%s\" must not be empty", key);
    HS_ENSURE_MSG(n <= SVC_USAGES_MAX, HS_ERR_INPUT_RANGE, "field \"%s\" lists more than %d usages",
                  key, SVC_USAGES_MAX);
    unsigned int bits = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(list, i);
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        unsigned int bit = 0;
        for (size_t j = 0; s != NULL && j < ntable; j++) {
            bit = strcmp(s, table[j].name) == 0 ? table[j].bit : bit;
        }
        HS_ENSURE_MSG(bit != 0, HS_ERR_INPUT_FIELD, "field \"%s\": entry %zu is not one of %s, %s",
                      key, i, table[0].name, table[1].name);
        HS_ENSURE_MSG((bits & bit) == 0, HS_ERR_INPUT_FIELD, "field \"%s\": \"%s\" is listed twice",
                      key, s);
        bits |= bit;
    }
    *out = bits;
    return HS_OK;
}

static bool svc_profile_name_valid(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n <= SVC_PROFILE_NAME_MAX && strspn(name, SVC_PROFILE_NAME_CHARS) == n;
}

static HS_RESULT svc_parse_profile(json_object *obj, long default_ttl_s, long max_ttl_s,
                                   struct svc_profile *p)
{
    static const char *const allowed[] = {"extended_key_usage",
                                          "key_usage",
                                          "require_dns_san",
                                          "max_ttl_hours",
                                          "default_ttl_hours",
                                          "rsa_public_exponents",
                                          NULL};
    HS_ENSURE_MSG(json_object_is_type(obj, json_type_object), HS_ERR_INPUT_FIELD,
                  "a profile must be an object");
    HS_GUARD(hs_json_check_keys(obj, allowed, "profile"));
    HS_GUARD(svc_parse_usages(obj, "extended_key_usage", true, svc_ekus,
                              sizeof(svc_ekus) / sizeof(svc_ekus[0]), 0, &p->eku));
    HS_GUARD(svc_parse_usages(obj, "key_usage", false, svc_key_usages,
                              sizeof(svc_key_usages) / sizeof(svc_key_usages[0]),
                              SGN_KU_DIGITAL_SIGNATURE, &p->key_usage));
    HS_GUARD(hs_json_get_bool(obj, "require_dns_san", false, false, &p->require_dns_san));
    int64_t max_h = 0;
    int64_t def_h = 0;
    HS_GUARD(hs_json_get_int(obj, "max_ttl_hours", false, 1, max_ttl_s / SVC_HOUR_S,
                             max_ttl_s / SVC_HOUR_S, &max_h));
    long dflt_h = default_ttl_s / SVC_HOUR_S < max_h ? default_ttl_s / SVC_HOUR_S : (long)max_h;
    HS_GUARD(hs_json_get_int(obj, "default_ttl_hours", false, 1, max_h, dflt_h, &def_h));
    p->max_ttl_s = (long)max_h * SVC_HOUR_S;
    p->default_ttl_s = (long)def_h * SVC_HOUR_S;
    return svc_parse_exponents(obj, &p->rsa_exponents);
}

HS_RESULT svc_profiles_parse(json_object *doc, long default_ttl_s, long max_ttl_s,
                             struct svc_profiles *out)
{
    HS_ENSURE_REF(doc);
    HS_ENSURE_REF(out);
    HS_ENSURE(default_ttl_s >= SVC_HOUR_S && default_ttl_s <= max_ttl_s, HS_ERR_INTERNAL);
    json_object *profiles = NULL;
    HS_GUARD(hs_json_get_typed(doc, "profiles", false, json_type_object, &profiles));
    if (profiles == NULL) {
        svc_profiles_default(default_ttl_s, max_ttl_s, out);
        return HS_OK;
    }
    size_t n = (size_t)json_object_object_length(profiles);
    HS_ENSURE_MSG(n > 0, HS_ERR_INPUT_FIELD, "field \"profiles\" must name at least one profile");
    HS_ENSURE_MSG(n <= SVC_PROFILES_MAX, HS_ERR_INPUT_RANGE,
                  "field \"profiles\" names more than %d profiles", SVC_PROFILES_MAX);
    memset(out, 0, sizeof(*out));
    json_object_object_foreach(profiles, name, obj)
    {
        HS_ENSURE_MSG(svc_profile_name_valid(name), HS_ERR_INPUT_FIELD,
                      "profiles: \"%.64s\" is not a profile name (1..%d of a-z 0-9 - _)", name,
                      SVC_PROFILE_NAME_MAX);
        struct svc_profile *p = &out->items[out->n];
        p->name = name;
        hs_result r = svc_parse_profile(obj, default_ttl_s, max_ttl_s, p);
        if (hs_failed(r)) {
            hs_error_add_detail("in \"profiles.%s\"", name);
            return r;
        }
        out->n++;
    }
    return HS_OK;
}

const struct svc_profile *svc_profiles_find(const struct svc_profiles *p, const char *name)
{
    if (p == NULL || p->n == 0) {
        return NULL;
    }
    if (name == NULL) {
        return &p->items[0];
    }
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->items[i].name, name) == 0) {
            return &p->items[i];
        }
    }
    return NULL;
}

void svc_profiles_names(const struct svc_profiles *p, char *out, size_t out_len)
{
    size_t len = 0;
    if (out_len == 0) {
        return;
    }
    out[0] = '\0';
    for (size_t i = 0; i < p->n && len < out_len; i++) {
        int w = snprintf(out + len, out_len - len, "%s%s", i > 0 ? ", " : "", p->items[i].name);
        len += w > 0 ? (size_t)w : 0;
    }
}
