#include "common/hs_json.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/hs_defer.h"

/* --- duplicate member names ------------------------------------------------------------------
 * RFC 8259 §4 leaves duplicate names undefined and json-c silently keeps the last value, so a
 * request {"csr": weak, "csr": good} would be judged by one reader and acted on by another.
 * The check counts: the member names in the text (a scan of text json-c already accepted, so it
 * only needs to find strings and containers) against the members of every object json-c built.
 * A duplicate anywhere (also in an object that a later duplicate then replaced, and also spelt
 * with escapes) leaves the tree with fewer members than the text, and nothing else does. O(n),
 * no table of names; only when the counts differ is the text searched again, to name the member
 * in the error. */

#define HS_JSON_NAME_SHOWN 64   /* bytes of a duplicate member name put into the error */
#define HS_JSON_NAME_SEARCH 256 /* members of one object searched pairwise for the name */

HS_DEFINE_FREEP(hs_json_stackp_free, json_object *, OPENSSL_free)

/* s[*i] is '"': advances *i past the string (whose end json-c has already found). */
static void hs_json_skip_string(const char *s, size_t n, size_t *i)
{
    for (++*i; *i < n && s[*i] != '"'; ++*i) {
        if (s[*i] == '\\') {
            ++*i;
        }
    }
    ++*i;
}

/* Counts the member names in s[0..n) (strings right after '{' or ',' inside an object) and the
 * containers. depth_max bounds the stack of open containers (json-c enforced it already). */
static HS_RESULT hs_json_count_text(const char *s, size_t n, int depth_max, size_t *names,
                                    size_t *containers)
{
    size_t cap = (size_t)depth_max + 1;
    HS_DEFER(char *open = OPENSSL_malloc(cap), hs_ossl_str_freep);
    HS_ENSURE(open != NULL, HS_ERR_NOMEM);
    size_t depth = 0;
    bool expect_name = false;
    *names = 0;
    *containers = 0;
    for (size_t i = 0; i < n;) {
        char c = s[i];
        if (c == '"') {
            *names += expect_name ? 1 : 0;
            expect_name = false;
            hs_json_skip_string(s, n, &i);
            continue;
        }
        if (c == '{' || c == '[') {
            HS_ENSURE(depth < cap, HS_ERR_INTERNAL);
            open[depth++] = c;
            ++*containers;
            expect_name = c == '{';
        } else if (c == '}' || c == ']') {
            HS_ENSURE(depth > 0, HS_ERR_INTERNAL);
            depth--;
            expect_name = false;
        } else if (c == ',') {
            expect_name = depth > 0 && open[depth - 1] == '{';
        }
        i++;
    }
    return HS_OK;
}

/* The members of every object in the tree under root (iterative: a stack of at most
 * containers entries, each container being pushed once). */
static HS_RESULT hs_json_count_tree(json_object *root, size_t containers, size_t *names)
{
    HS_DEFER(json_object **stack = OPENSSL_malloc(sizeof(void *) * (containers + 1)),
             hs_json_stackp_free);
    HS_ENSURE(stack != NULL, HS_ERR_NOMEM);
    size_t top = 0;
    stack[top++] = root;
    *names = 0;
    while (top > 0) {
        json_object *o = stack[--top];
        if (json_object_is_type(o, json_type_object)) {
            *names += (size_t)json_object_object_length(o);
            json_object_object_foreach(o, key, val)
            {
                (void)key;
                if (json_object_is_type(val, json_type_object) ||
                    json_object_is_type(val, json_type_array)) {
                    HS_ENSURE(top <= containers, HS_ERR_INTERNAL);
                    stack[top++] = val;
                }
            }
        } else {
            size_t k = json_object_array_length(o);
            for (size_t j = 0; j < k; j++) {
                json_object *val = json_object_array_get_idx(o, j);
                if (json_object_is_type(val, json_type_object) ||
                    json_object_is_type(val, json_type_array)) {
                    HS_ENSURE(top <= containers, HS_ERR_INTERNAL);
                    stack[top++] = val;
                }
            }
        }
    }
    return HS_OK;
}

/* Whether the name at starts[count]/lens[count] equals one of the count before it. */
static bool hs_json_name_seen(const char *s, const size_t *starts, const size_t *lens, size_t count)
{
    for (size_t k = 0; k < count; k++) {
        if (lens[k] == lens[count] && memcmp(s + starts[k], s + starts[count], lens[count]) == 0) {
            return true;
        }
    }
    return false;
}

/* s[i] is '{': whether that object (not the objects nested in it) names one member twice,
 * byte for byte, among its first HS_JSON_NAME_SEARCH members; *at and *name_len then give the
 * name's raw text. */
static bool hs_json_object_duplicate(const char *s, size_t n, size_t i, size_t *at,
                                     size_t *name_len)
{
    size_t starts[HS_JSON_NAME_SEARCH];
    size_t lens[HS_JSON_NAME_SEARCH];
    size_t count = 0;
    int depth = 0;
    bool expect_name = true;
    for (size_t j = i + 1; j < n && depth >= 0 && count < HS_JSON_NAME_SEARCH;) {
        char c = s[j];
        if (c != '"') {
            depth += (c == '{' || c == '[') ? 1 : (c == '}' || c == ']') ? -1 : 0;
            expect_name = c == ',' ? depth == 0 : expect_name && strchr(" \t\r\n", c) != NULL;
            j++;
            continue;
        }
        size_t start = j + 1;
        hs_json_skip_string(s, n, &j);
        if (expect_name && depth == 0) {
            starts[count] = start;
            lens[count] = j - 1 - start;
            if (hs_json_name_seen(s, starts, lens, count)) {
                *at = start;
                *name_len = lens[count];
                return true;
            }
            count++;
        }
        expect_name = false;
    }
    return false;
}

/* Only after the counts differ: the first object (in text order) with one name written twice.
 * Returns false when none is found (the names differ only in their escapes, or the object has
 * more than HS_JSON_NAME_SEARCH members). */
static bool hs_json_find_duplicate(const char *s, size_t n, size_t *at, size_t *name_len)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            hs_json_skip_string(s, n, &i);
            i--; /* the loop's i++ */
        } else if (s[i] == '{' && hs_json_object_duplicate(s, n, i, at, name_len)) {
            return true;
        }
    }
    return false;
}

static HS_RESULT hs_json_no_duplicates(const char *text, size_t len, int max_depth,
                                       json_object *root)
{
    size_t in_text = 0;
    size_t containers = 0;
    size_t in_tree = 0;
    HS_GUARD(hs_json_count_text(text, len, max_depth, &in_text, &containers));
    HS_GUARD(hs_json_count_tree(root, containers, &in_tree));
    if (in_text == in_tree) {
        return HS_OK;
    }
    size_t at = 0;
    size_t name_len = 0;
    if (hs_json_find_duplicate(text, len, &at, &name_len)) {
        HS_BAIL_MSG(HS_ERR_INPUT_JSON, "duplicate member \"%.*s\"%s",
                    (int)(name_len > HS_JSON_NAME_SHOWN ? HS_JSON_NAME_SHOWN : name_len), text + at,
                    name_len > HS_JSON_NAME_SHOWN ? "..." : "");
    }
    HS_BAIL_MSG(HS_ERR_INPUT_JSON, "a member name appears twice in one object");
}

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
    /* json-c's "continue" is its parser's state: to a person it means the text stopped early. */
    HS_ENSURE_MSG(jerr != json_tokener_continue, HS_ERR_INPUT_JSON,
                  "the JSON text ends after %zu bytes, before the document is complete "
                  "(truncated?)",
                  len);
    HS_ENSURE_MSG(obj != NULL && jerr == json_tokener_success, HS_ERR_INPUT_JSON, "%s",
                  json_tokener_error_desc(jerr));
    size_t used = json_tokener_get_parse_end(tok);
    for (size_t i = used; i < len; i++) {
        HS_ENSURE_MSG(strchr(" \t\r\n", text[i]) != NULL && text[i] != '\0', HS_ERR_INPUT_JSON,
                      "trailing content after the JSON value");
    }
    HS_ENSURE_MSG(json_object_is_type(obj, json_type_object), HS_ERR_INPUT_JSON,
                  "top-level value must be an object");
    HS_GUARD(hs_json_no_duplicates(text, used, max_depth, obj));
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

/* --- writing ----------------------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence (RFC 3629 §4) starting at s[0] (n >= 1 bytes left),
 * or 0 when it is not one. */
static size_t hs_json_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        return 1;
    }
    size_t len = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80; /* no overlong forms */
        hi = c == 0xed ? 0x9f : 0xbf; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        lo = c == 0xf0 ? 0x90 : 0x80; /* no overlong forms */
        hi = c == 0xf4 ? 0x8f : 0xbf; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf) {
            return 0;
        }
    }
    return len;
}

/* The two-character escape of a byte below 0x80 that has one ('"', '\\', \b \f \n \r \t),
 * or 0 when it has none. */
static char hs_json_short_escape(unsigned char c)
{
    switch (c) {
    case '"':
        return '"';
    case '\\':
        return '\\';
    case '\b':
        return 'b';
    case '\f':
        return 'f';
    case '\n':
        return 'n';
    case '\r':
        return 'r';
    case '\t':
        return 't';
    default:
        return 0;
    }
}

/* The bytes written as they are outside a multi-byte sequence, one bit per byte value below
 * 0x80: printable ASCII other than '"' (0x22) and '\\' (0x5c), and U+007F; most of any string
 * we write. */
static const uint64_t hs_json_plain[2] = {
    0xfffffffb00000000U, /* 0x20..0x3f, not 0x22 */
    0xffffffffefffffffU, /* 0x40..0x7f, not 0x5c */
};

static bool hs_json_plain_byte(unsigned char c)
{
    return c < 0x80 && ((hs_json_plain[c >> 6] >> (c & 63U)) & 1U) != 0;
}

#define HS_JSON_ONES 0x0101010101010101U
#define HS_JSON_HIGHS 0x8080808080808080U

/* Whether any of the 8 bytes in w needs a look of its own: a control character (< 0x20), '"',
 * '\\' or a byte >= 0x80. A byte b below 0x80 sets its high bit in b - 0x20 when b < 0x20, and
 * in (b ^ c) - 1 when b == c; the lowest such byte is computed exactly (no borrow reaches it
 * from the bytes below), so a word holding one is always flagged. A borrow may flag a word
 * that holds none, which then only takes the byte-wise path. */
static bool hs_json_word_special(uint64_t w)
{
    uint64_t quote = w ^ (0x22U * HS_JSON_ONES);
    uint64_t bslash = w ^ (0x5cU * HS_JSON_ONES);
    uint64_t t =
        ((w - 0x20U * HS_JSON_ONES) | (quote - HS_JSON_ONES) | (bslash - HS_JSON_ONES) | w);
    return (t & HS_JSON_HIGHS) != 0;
}

/* The length of the run of plain bytes at s: eight at a time while none needs a look. */
static size_t hs_json_plain_run(const unsigned char *s, size_t n)
{
    size_t i = 0;
    for (; n - i >= 8; i += 8) {
        uint64_t w = 0;
        memcpy(&w, s + i, sizeof(w));
        if (hs_json_word_special(w)) {
            break;
        }
    }
    while (i < n && hs_json_plain_byte(s[i])) {
        i++;
    }
    return i;
}

/* Writes n bytes at p to w + *out (when w is not NULL) and counts them in *out. */
static void hs_json_emit(unsigned char *w, size_t *out, const void *p, size_t n)
{
    if (w != NULL) {
        memcpy(w + *out, p, n);
    }
    *out += n;
}

/* The escape of the one byte c below 0x80 that is not plain: its short form or \u00xx. */
static void hs_json_emit_escape(unsigned char *w, size_t *out, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char e = hs_json_short_escape(c);
    if (e != 0) {
        const unsigned char esc[2] = {'\\', (unsigned char)e};
        hs_json_emit(w, out, esc, sizeof(esc));
        return;
    }
    const unsigned char u[6] = {
        '\\', 'u', '0', '0', (unsigned char)hex[c >> 4], (unsigned char)hex[c & 0x0f]};
    hs_json_emit(w, out, u, sizeof(u));
}

/* Writes the escaped body of s[0..n) to w (when not NULL) and returns its length, or SIZE_MAX
 * when s is not well-formed UTF-8 and mode is STRICT. Two passes (count, then write) keep the
 * reservation exact. */
static size_t hs_json_escape(const unsigned char *s, size_t n, enum hs_json_utf8 mode,
                             unsigned char *w)
{
    static const unsigned char replacement[6] = {'\\', 'u', 'f', 'f', 'f', 'd'};
    size_t out = 0;
    for (size_t i = 0; i < n;) {
        size_t run = hs_json_plain_run(s + i, n - i);
        if (run > 0) {
            hs_json_emit(w, &out, s + i, run);
            i += run;
            continue;
        }
        size_t len = hs_json_utf8_len(s + i, n - i);
        if (len > 1) {
            hs_json_emit(w, &out, s + i, len);
        } else if (len == 1) {
            hs_json_emit_escape(w, &out, s[i]);
        } else if (mode == HS_JSON_UTF8_STRICT) {
            return SIZE_MAX;
        } else {
            hs_json_emit(w, &out, replacement, sizeof(replacement));
            len = 1;
        }
        i += len;
    }
    return out;
}

/* Appends the quote or separator pre[0..pre_n), s[0..n) and post[0..post_n) with one
 * reservation. */
static HS_RESULT hs_json_put_framed(struct hs_buf *b, const char *pre, size_t pre_n,
                                    const unsigned char *s, size_t n, const char *post,
                                    size_t post_n)
{
    HS_ENSURE(n <= SIZE_MAX - pre_n - post_n, HS_ERR_BOUNDS);
    unsigned char *w = NULL;
    size_t used = 0;
    HS_GUARD(hs_buf_reserve(b, pre_n + n + post_n, &w));
    hs_json_emit(w, &used, pre, pre_n);
    hs_json_emit(w, &used, s, n);
    hs_json_emit(w, &used, post, post_n);
    return hs_buf_commit(b, used);
}

HS_RESULT hs_json_put_string(struct hs_buf *b, const char *s, size_t n, enum hs_json_utf8 mode)
{
    HS_ENSURE_REF(b);
    HS_ENSURE(s != NULL || n == 0, HS_ERR_INTERNAL);
    const unsigned char *u = (const unsigned char *)s;
    if (n == 0 || hs_json_plain_run(u, n) == n) {
        /* Nothing to escape (most strings): one scan, one copy. */
        return hs_json_put_framed(b, "\"", 1, u, n, "\"", 1);
    }
    size_t len = hs_json_escape(u, n, mode, NULL);
    HS_ENSURE_MSG(len != SIZE_MAX, HS_ERR_INPUT, "a JSON string is not well-formed UTF-8");
    HS_ENSURE(len <= SIZE_MAX - 2, HS_ERR_BOUNDS);
    unsigned char *w = NULL;
    HS_GUARD(hs_buf_reserve(b, len + 2, &w));
    w[0] = '"';
    (void)hs_json_escape(u, n, mode, w + 1);
    w[len + 1] = '"';
    return hs_buf_commit(b, len + 2);
}

HS_RESULT hs_json_put_uint(struct hs_buf *b, uint64_t v)
{
    unsigned char digits[20];
    size_t i = sizeof(digits);
    do {
        digits[--i] = (unsigned char)('0' + v % 10);
        v /= 10;
    } while (v != 0 && i > 0);
    return hs_buf_put(b, digits + i, sizeof(digits) - i);
}

HS_RESULT hs_json_put_int(struct hs_buf *b, int64_t v)
{
    if (v >= 0) {
        return hs_json_put_uint(b, (uint64_t)v);
    }
    HS_GUARD(hs_buf_put_byte(b, '-'));
    /* -(v + 1) + 1 stays in range also for INT64_MIN. */
    return hs_json_put_uint(b, (uint64_t)(-(v + 1)) + 1U);
}

HS_RESULT hs_json_put_name(struct hs_buf *b, const char *name, bool first)
{
    HS_ENSURE_REF(name);
    size_t n = strlen(name);
    if (hs_json_plain_run((const unsigned char *)name, n) == n) {
        return hs_json_put_framed(b, first ? "\"" : ",\"", first ? 1 : 2,
                                  (const unsigned char *)name, n, "\":", 2);
    }
    if (!first) {
        HS_GUARD(hs_buf_put_byte(b, ','));
    }
    HS_GUARD(hs_json_put_string(b, name, n, HS_JSON_UTF8_STRICT));
    return hs_buf_put_byte(b, ':');
}
