/* Fuzz target: hs_json's string writer (common/hs_json.h), which reads arbitrary bytes (log
 * fields from requests, claims) as UTF-8 (RFC 3629 §4) and writes them as a JSON string
 * (RFC 8259 §7). Checks what it promises, against json-c as the oracle:
 *   - STRICT: it accepts exactly the well-formed UTF-8 inputs (glibc's iconv decides), and
 *     then writes the bytes json-c prints for the same string (PLAIN | NOSLASHESCAPE), which
 *     parse back to the input;
 *   - REPLACE: it always succeeds, with valid JSON and valid UTF-8, the same as STRICT when the
 *     input is well formed;
 *   - a buffer too small for the answer fails with HS_ERR_BOUNDS and is left unchanged.
 * Input: the bytes of one string (at most 4 KiB are used). */
#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/hs_buf.h"
#include "common/hs_json.h"

#define JSON_WRITER_FUZZ_MAX 4096

/* json-c's reading of out[0..n) as a strict JSON text with UTF-8 validation: the string's bytes
 * in *got (NULL when it is not one valid JSON string). The caller puts *got. */
static json_object *json_writer_fuzz_parse(const char *out, size_t n)
{
    json_tokener *tok = json_tokener_new();
    if (tok == NULL) {
        abort();
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *obj = json_tokener_parse_ex(tok, out, (int)n);
    bool whole =
        json_tokener_get_error(tok) == json_tokener_success && json_tokener_get_parse_end(tok) == n;
    json_tokener_free(tok);
    if (!whole || !json_object_is_type(obj, json_type_string)) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

/* Whether s[0..n) is well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or values past
 * U+10FFFF), by glibc's iconv as the independent oracle (json-c's own UTF-8 check is laxer: it
 * takes overlong forms and surrogates). */
static bool json_writer_fuzz_utf8_ok(const uint8_t *s, size_t n)
{
    iconv_t cd = iconv_open("UTF-32LE", "UTF-8");
    if (cd == (iconv_t)-1) {
        abort();
    }
    char *in = (char *)(uintptr_t)s;
    size_t in_left = n;
    bool ok = true;
    while (ok && in_left > 0) {
        char out[256];
        char *o = out;
        size_t out_left = sizeof(out);
        size_t r = iconv(cd, &in, &in_left, &o, &out_left);
        ok = r != (size_t)-1 || errno == E2BIG;
    }
    iconv_close(cd);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = size < JSON_WRITER_FUZZ_MAX ? size : JSON_WRITER_FUZZ_MAX;
    const char *s = (const char *)data;
    struct hs_buf *strict = hs_buf_new(16 * JSON_WRITER_FUZZ_MAX);
    struct hs_buf *replace = hs_buf_new(16 * JSON_WRITER_FUZZ_MAX);
    if (strict == NULL || replace == NULL) {
        abort();
    }
    bool well_formed = json_writer_fuzz_utf8_ok(data, n);
    hs_result rs = hs_json_put_string(strict, s, n, HS_JSON_UTF8_STRICT);
    if (hs_failed(rs) != !well_formed || (hs_failed(rs) && hs_buf_len(strict) != 0)) {
        abort(); /* STRICT disagrees with iconv about UTF-8, or wrote on failure */
    }
    if (hs_failed(hs_json_put_string(replace, s, n, HS_JSON_UTF8_REPLACE))) {
        abort();
    }
    json_object *back =
        json_writer_fuzz_parse((const char *)hs_buf_data(replace), hs_buf_len(replace));
    if (back == NULL) {
        abort(); /* REPLACE wrote something that is not one valid JSON string */
    }
    if (well_formed) {
        /* The same bytes json-c prints, and they read back as the input. */
        json_object *ref = json_object_new_string_len(s, (int)n);
        size_t ref_len = 0;
        const char *printed = json_object_to_json_string_length(
            ref, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &ref_len);
        if (hs_buf_len(strict) != ref_len || memcmp(hs_buf_data(strict), printed, ref_len) != 0 ||
            hs_buf_len(replace) != ref_len || memcmp(hs_buf_data(replace), printed, ref_len) != 0 ||
            (size_t)json_object_get_string_len(back) != n ||
            memcmp(json_object_get_string(back), s, n) != 0) {
            abort();
        }
        json_object_put(ref);
    }
    json_object_put(back);
    /* One byte short of the answer: HS_ERR_BOUNDS, nothing written. */
    size_t need = hs_buf_len(replace);
    struct hs_buf *small = hs_buf_new(need - 1);
    if (small == NULL ||
        hs_json_put_string(small, s, n, HS_JSON_UTF8_REPLACE).code != HS_ERR_BOUNDS ||
        hs_buf_len(small) != 0) {
        abort();
    }
    hs_buf_free(small);
    hs_buf_free(strict);
    hs_buf_free(replace);
    return 0;
}
