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

#include "common/hs_buf.h"
#include "common/hs_err.h"

/* Default nesting limit for request bodies and configs. */
#define HS_JSON_DEPTH_MAX 16

/* Parses text[0..len) (not necessarily NUL-terminated) as exactly one JSON object (RFC 8259),
 * refusing a member name that appears twice in one object anywhere in the document (RFC 8259 §4
 * leaves that undefined; json-c would keep the last value, so two readers could disagree).
 * Errors: HS_ERR_INPUT_TOO_LARGE when len > max_len, HS_ERR_INPUT_JSON for invalid JSON, a depth
 * over max_depth, trailing content, a top-level value that is not an object, or a duplicate
 * member (the detail: 'duplicate member "NAME"', at most 64 bytes of it, or "a member name
 * appears twice in one object" when the two spellings differ only in escapes), HS_ERR_NOMEM. The caller releases
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

/* --- writing JSON text straight into a bounded buffer ----------------------------------------
 * For the hot paths (log lines, JWS header and claims, small answers) that would otherwise build
 * a json-c tree only to print it. The output is byte for byte what json-c prints with
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE for the same well-formed UTF-8 text. */

/* What hs_json_put_string does with bytes that are not well-formed UTF-8 (RFC 3629 §4). */
enum hs_json_utf8 {
    HS_JSON_UTF8_STRICT,  /* fail with HS_ERR_INPUT, nothing appended */
    HS_JSON_UTF8_REPLACE, /* write U+FFFD ("\ufffd") for each such byte (log lines) */
};

/* Appends s[0..n) as a JSON string (RFC 8259 §7), quotes included: '"' and '\\' escaped, \b
 * \f \n \r \t in their short forms, the other control characters U+0000..U+001F as \u00xx
 * (lowercase hex), everything else (also '/' and U+007F) as is. s need not be NUL-terminated.
 * Errors: HS_ERR_INPUT (mode STRICT and s is not well-formed UTF-8), HS_ERR_BOUNDS, HS_ERR_NOMEM;
 * on failure b is unchanged. */
HS_RESULT hs_json_put_string(struct hs_buf *b, const char *s, size_t n, enum hs_json_utf8 mode);

/* Appends v as a JSON number (RFC 8259 §6: decimal, '-' for negative values). Errors:
 * HS_ERR_BOUNDS, HS_ERR_NOMEM. */
HS_RESULT hs_json_put_int(struct hs_buf *b, int64_t v);
HS_RESULT hs_json_put_uint(struct hs_buf *b, uint64_t v);

/* Appends ,"name": (the comma unless first): a member's name and separator. name is escaped as
 * hs_json_put_string STRICT. Errors as hs_json_put_string. */
HS_RESULT hs_json_put_name(struct hs_buf *b, const char *name, bool first);

#endif /* HS_JSON_H */
