/*
 * hs_json: strict, bounded JSON parsing and typed field access on top of json-c.
 *
 * Used for request bodies and every configuration file. Parsing is bounded in size (the caller's
 * limit) and nesting depth, uses JSON_TOKENER_STRICT and rejects trailing content. The getters
 * check type and range and name the field in the error detail; strings with embedded NUL bytes
 * are rejected.
 */
#ifndef HS_JSON_H
#define HS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/hs_err.h"

/* Default nesting limit for request bodies and configs. */
#define HS_JSON_DEPTH_MAX 16

/* Parses text[0..len) (not necessarily NUL-terminated) as exactly one JSON object. Errors:
 * HS_ERR_INPUT_TOO_LARGE when len > max_len, HS_ERR_INPUT_JSON for invalid JSON, a depth over
 * max_depth, trailing content or a top-level value that is not an object. The caller releases
 * *out with json_object_put(). */
HS_RESULT hs_json_parse_object(const char *text, size_t len, size_t max_len, int max_depth,
                               json_object **out);

/* Fails with HS_ERR_INPUT_FIELD naming the first key of obj that is not in allowed (a
 * NULL-terminated list). what names the object in the detail ("config", "request"). */
HS_RESULT hs_json_check_keys(json_object *obj, const char *const *allowed, const char *what);

/* Lends the string at key in *out (NULL when absent and !required); at most max_len bytes,
 * no NUL bytes, not empty. Errors: HS_ERR_INPUT_FIELD (missing, wrong type, empty), 
 * HS_ERR_INPUT_TOO_LARGE. The string lives as long as obj. */
HS_RESULT hs_json_get_string(json_object *obj, const char *key, bool required, size_t max_len,
                             const char **out);

/* Reads the integer at key into *out; when absent and !required, *out = dflt. A JSON number
 * with a fraction or exponent is rejected. Errors: HS_ERR_INPUT_FIELD, HS_ERR_INPUT_RANGE when
 * outside [min, max]. */
HS_RESULT hs_json_get_int(json_object *obj, const char *key, bool required, int64_t min,
                          int64_t max, int64_t dflt, int64_t *out);

/* Reads the boolean at key; when absent and !required, *out = dflt. Errors: HS_ERR_INPUT_FIELD. */
HS_RESULT hs_json_get_bool(json_object *obj, const char *key, bool required, bool dflt, bool *out);

/* Lends the value at key in *out when it has type `type` (NULL when absent and !required).
 * Errors: HS_ERR_INPUT_FIELD. */
HS_RESULT hs_json_get_typed(json_object *obj, const char *key, bool required, json_type type,
                            json_object **out);

/* Serialises obj compactly without escaping '/', into a string the caller frees with free(). */
HS_RESULT hs_json_to_string(json_object *obj, char **out);

/* Adds v to obj under key, taking ownership of v also on failure (so a json_object_new_*()
 * result can be passed straight in: NULL fails with HS_ERR_NOMEM). Errors: HS_ERR_NOMEM. */
HS_RESULT hs_json_add(json_object *obj, const char *key, json_object *v);

/* Adds the array of the n strings v (copied) to obj under key. Errors: HS_ERR_NOMEM,
 * HS_ERR_INTERNAL (a NULL string). */
HS_RESULT hs_json_add_strings(json_object *obj, const char *key, const char *const *v, size_t n);

#endif /* HS_JSON_H */
