#include "common/hs_json.h"

#include <string.h>

#include "common/hs_defer.h"

HS_RESULT hs_json_parse_object(const char *text, size_t len, size_t max_len, int max_depth,
                               json_object **out)
{
    HS_ENSURE(text != NULL || len == 0, HS_ERR_INTERNAL);
    HS_ENSURE(len <= max_len, HS_ERR_INPUT_TOO_LARGE);
    HS_ENSURE_MSG(len > 0 && len <= INT32_MAX, HS_ERR_INPUT_JSON, "empty document");
    HS_DEFER(json_tokener *tok = json_tokener_new_ex(max_depth), hs_json_tokener_freep);
    HS_ENSURE(tok != NULL, HS_ERR_NOMEM);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    HS_DEFER(json_object *obj = json_tokener_parse_ex(tok, text, (int)len), hs_json_putp);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    HS_ENSURE_MSG(obj != NULL && jerr == json_tokener_success, HS_ERR_INPUT_JSON, "%s",
                  json_tokener_error_desc(jerr));
    size_t used = json_tokener_get_parse_end(tok);
    for (size_t i = used; i < len; i++) {
        HS_ENSURE_MSG(strchr(" \t\r\n", text[i]) != NULL && text[i] != '\0', HS_ERR_INPUT_JSON,
                      "trailing content after the JSON value");
    }
    HS_ENSURE_MSG(json_object_is_type(obj, json_type_object), HS_ERR_INPUT_JSON,
                  "top-level value must be an object");
    *out = obj;
    obj = NULL;
    return HS_OK;
}

static bool hs_json_key_allowed(const char *key, const char *const *allowed)
{
    for (size_t i = 0; allowed[i] != NULL; i++) {
        if (strcmp(key, allowed[i]) == 0) {
            return true;
        }
    }
    return false;
}

HS_RESULT hs_json_check_keys(json_object *obj, const char *const *allowed, const char *what)
{
    HS_ENSURE_REF(obj);
    HS_ENSURE_REF(allowed);
    json_object_object_foreach(obj, key, val)
    {
        (void)val;
        HS_ENSURE_MSG(hs_json_key_allowed(key, allowed), HS_ERR_INPUT_FIELD,
                      "%s: unknown field \"%.64s\"", what != NULL ? what : "object", key);
    }
    return HS_OK;
}

HS_RESULT hs_json_get_typed(json_object *obj, const char *key, bool required, json_type type,
                            json_object **out)
{
    HS_ENSURE_REF(obj);
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
        HS_ENSURE_MSG(!required, HS_ERR_INPUT_FIELD, "field \"%s\" is required", key);
        *out = NULL;
        return HS_OK;
    }
    HS_ENSURE_MSG(json_object_is_type(v, type), HS_ERR_INPUT_FIELD,
                  "field \"%s\" must be of type %s", key, json_type_to_name(type));
    *out = v;
    return HS_OK;
}

HS_RESULT hs_json_get_string(json_object *obj, const char *key, bool required, size_t max_len,
                             const char **out)
{
    json_object *v = NULL;
    HS_GUARD(hs_json_get_typed(obj, key, required, json_type_string, &v));
    if (v == NULL) {
        *out = NULL;
        return HS_OK;
    }
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    HS_ENSURE_MSG(n <= max_len, HS_ERR_INPUT_TOO_LARGE, "field \"%s\" is longer than %zu bytes",
                  key, max_len);
    HS_ENSURE_MSG(n > 0, HS_ERR_INPUT_FIELD, "field \"%s\" must not be empty", key);
    HS_ENSURE_MSG(strlen(s) == n, HS_ERR_INPUT_FIELD, "field \"%s\" contains a NUL byte", key);
    *out = s;
    return HS_OK;
}

HS_RESULT hs_json_get_int(json_object *obj, const char *key, bool required, int64_t min,
                          int64_t max, int64_t dflt, int64_t *out)
{
    json_object *v = NULL;
    HS_GUARD(hs_json_get_typed(obj, key, required, json_type_int, &v));
    if (v == NULL) {
        *out = dflt;
        return HS_OK;
    }
    int64_t n = json_object_get_int64(v);
    HS_ENSURE_MSG(n >= min && n <= max, HS_ERR_INPUT_RANGE,
                  "field \"%s\" must be between %lld and %lld", key, (long long)min,
                  (long long)max);
    *out = n;
    return HS_OK;
}

HS_RESULT hs_json_get_bool(json_object *obj, const char *key, bool required, bool dflt, bool *out)
{
    json_object *v = NULL;
    HS_GUARD(hs_json_get_typed(obj, key, required, json_type_boolean, &v));
    *out = v != NULL ? json_object_get_boolean(v) != 0 : dflt;
    return HS_OK;
}

HS_RESULT hs_json_to_string(json_object *obj, char **out)
{
    HS_ENSURE_REF(obj);
    const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE);
    HS_ENSURE(s != NULL, HS_ERR_NOMEM);
    char *copy = strdup(s);
    HS_ENSURE(copy != NULL, HS_ERR_NOMEM);
    *out = copy;
    return HS_OK;
}

HS_RESULT hs_json_add(json_object *obj, const char *key, json_object *v)
{
    HS_ENSURE(v != NULL, HS_ERR_NOMEM);
    if (obj == NULL || json_object_object_add(obj, key, v) != 0) {
        json_object_put(v);
        HS_BAIL(HS_ERR_NOMEM);
    }
    return HS_OK;
}

HS_RESULT hs_json_add_strings(json_object *obj, const char *key, const char *const *v, size_t n)
{
    json_object *arr = json_object_new_array();
    HS_GUARD(hs_json_add(obj, key, arr));
    for (size_t i = 0; i < n; i++) {
        HS_ENSURE(v[i] != NULL, HS_ERR_INTERNAL);
        json_object *s = json_object_new_string(v[i]);
        HS_ENSURE(s != NULL, HS_ERR_NOMEM);
        if (json_object_array_add(arr, s) != 0) {
            json_object_put(s);
            HS_BAIL(HS_ERR_NOMEM);
        }
    }
    return HS_OK;
}
