#include <string.h>

#include <openssl/evp.h>

#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "tests/testlib/hs_test.h"

HS_TEST(put_within_max_succeeds_and_past_max_fails)
{
    HS_DEFER(struct hs_buf *b = hs_buf_new(8), hs_buf_freep);
    HS_CHECK(b != NULL);
    HS_CHECK_OK(hs_buf_put(b, "abcd", 4));
    HS_CHECK_OK(hs_buf_put(b, "efgh", 4));
    HS_CHECK_ERR(hs_buf_put_byte(b, 'x'), HS_ERR_BOUNDS);
    HS_CHECK(hs_buf_len(b) == 8);
    HS_CHECK(memcmp(hs_buf_data(b), "abcdefgh", 8) == 0);
}

HS_TEST(growth_keeps_content)
{
    HS_DEFER(struct hs_buf *b = hs_buf_new(100000), hs_buf_freep);
    for (int i = 0; i < 10000; i++) {
        HS_CHECK_OK(hs_buf_put_byte(b, (unsigned char)(i & 0xff)));
    }
    HS_CHECK(hs_buf_len(b) == 10000);
    int bad = 0;
    for (int i = 0; i < 10000; i++) {
        bad += hs_buf_data(b)[i] != (unsigned char)(i & 0xff);
    }
    HS_CHECK(bad == 0);
}

HS_TEST(reserve_commit_checks_used)
{
    HS_DEFER(struct hs_buf *b = hs_buf_new(16), hs_buf_freep);
    unsigned char *p = NULL;
    HS_CHECK_ERR(hs_buf_commit(b, 1), HS_ERR_BOUNDS);
    HS_CHECK_OK(hs_buf_reserve(b, 4, &p));
    memcpy(p, "wxyz", 4);
    HS_CHECK_ERR(hs_buf_commit(b, 5), HS_ERR_BOUNDS);
    HS_CHECK_OK(hs_buf_commit(b, 3));
    HS_CHECK(hs_buf_len(b) == 3);
    HS_CHECK_ERR(hs_buf_reserve(b, 14, &p), HS_ERR_BOUNDS);
    HS_CHECK_OK(hs_buf_reserve(b, 13, &p));
}

HS_TEST(cstr_rejects_embedded_nul_and_needs_room)
{
    HS_DEFER(struct hs_buf *b = hs_buf_new(4), hs_buf_freep);
    const char *s = NULL;
    HS_CHECK_OK(hs_buf_put(b, "ab", 2));
    HS_CHECK_OK(hs_buf_cstr(b, &s));
    HS_CHECK(strcmp(s, "ab") == 0);
    HS_CHECK_OK(hs_buf_put(b, "\0c", 2));
    HS_CHECK_ERR(hs_buf_cstr(b, &s), HS_ERR_INPUT);
    HS_DEFER(struct hs_buf *full = hs_buf_new(2), hs_buf_freep);
    HS_CHECK_OK(hs_buf_put(full, "ab", 2));
    HS_CHECK_ERR(hs_buf_cstr(full, &s), HS_ERR_BOUNDS);
}

HS_TEST(hex_and_base64url_match_rfc4648_vectors)
{
    /* RFC 4648 §10 vectors, in the URL-safe alphabet without padding. */
    static const struct {
        const char *in;
        const char *out;
    } v[] = {{"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
             {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        HS_DEFER(struct hs_buf *b = hs_buf_new(64), hs_buf_freep);
        const char *s = NULL;
        HS_CHECK_OK(hs_buf_put_b64url(b, (const unsigned char *)v[i].in, strlen(v[i].in)));
        HS_CHECK_OK(hs_buf_cstr(b, &s));
        HS_CHECK(strcmp(s, v[i].out) == 0);
    }
    HS_DEFER(struct hs_buf *b = hs_buf_new(64), hs_buf_freep);
    const unsigned char raw[] = {0xfb, 0xff, 0x00, 0x01};
    const char *s = NULL;
    HS_CHECK_OK(hs_buf_put_b64url(b, raw, 2));
    HS_CHECK_OK(hs_buf_cstr(b, &s));
    HS_CHECK(strcmp(s, "-_8") == 0);
    hs_buf_reset(b);
    HS_CHECK_OK(hs_buf_put_hex(b, raw, 4));
    HS_CHECK_OK(hs_buf_cstr(b, &s));
    HS_CHECK(strcmp(s, "fbff0001") == 0);
    /* Hex digits in either case; their neighbours in ASCII and bytes over 0x7f are not. */
    const char *hex = "0123456789abcdefABCDEF";
    for (size_t i = 0; hex[i] != '\0'; i++) {
        HS_CHECK(hs_hex_digit(hex[i]) == (int)(i < 16 ? i : i - 6));
    }
    const int not_hex[] = {'/', ':', '@', 'G', '`', 'g', '\0', ' ', 0xc1, 0xff, -1};
    for (size_t i = 0; i < sizeof(not_hex) / sizeof(not_hex[0]); i++) {
        HS_CHECK(hs_hex_digit(not_hex[i]) == -1);
    }
    /* Exactly the output size is enough; one byte less is a bounds error that writes nothing. */
    HS_DEFER(struct hs_buf *exact = hs_buf_new(4), hs_buf_freep);
    HS_CHECK_OK(hs_buf_put_b64url(exact, raw, 3));
    HS_DEFER(struct hs_buf *small = hs_buf_new(3), hs_buf_freep);
    HS_CHECK_ERR(hs_buf_put_b64url(small, raw, 3), HS_ERR_BOUNDS);
    HS_CHECK(hs_buf_len(small) == 0);
    /* Longer than one 48-byte chunk: matches the chunk-free encoding of the same bytes. */
    unsigned char big[100];
    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (unsigned char)(i * 7 + 3);
    }
    HS_DEFER(struct hs_buf *whole = hs_buf_new(200), hs_buf_freep);
    HS_CHECK_OK(hs_buf_put_b64url(whole, big, sizeof(big)));
    unsigned char ref[200];
    int m = EVP_EncodeBlock(ref, big, (int)sizeof(big));
    for (int i = 0; i < m; i++) {
        ref[i] = ref[i] == '+' ? '-' : (ref[i] == '/' ? '_' : ref[i]);
    }
    while (m > 0 && ref[m - 1] == '=') {
        m--;
    }
    HS_CHECK(hs_buf_len(whole) == (size_t)m && memcmp(hs_buf_data(whole), ref, (size_t)m) == 0);
}

HS_TEST(cursor_never_reads_past_end)
{
    struct hs_cursor c;
    const unsigned char *p = NULL;
    size_t n = 0;
    hs_cursor_init(&c, "a=b;c", 5);
    hs_cursor_get_until(&c, ';', &p, &n);
    HS_CHECK(n == 3 && memcmp(p, "a=b", 3) == 0);
    HS_CHECK(hs_cursor_remaining(&c) == 1);
    HS_CHECK_ERR(hs_cursor_get(&c, 2, &p), HS_ERR_BOUNDS);
    HS_CHECK_OK(hs_cursor_get(&c, 1, &p));
    HS_CHECK(*p == 'c');
    hs_cursor_get_until(&c, ';', &p, &n);
    HS_CHECK(n == 0);
}

HS_TEST(json_parse_rejects_bad_documents)
{
    static const struct {
        const char *text;
        enum hs_code code;
    } bad[] = {
        {"", HS_ERR_INPUT_JSON},
        {"[1,2]", HS_ERR_INPUT_JSON},
        {"{\"a\":1} x", HS_ERR_INPUT_JSON},
        {"{\"a\":1,}", HS_ERR_INPUT_JSON},
        {"{\"a\":01}", HS_ERR_INPUT_JSON},
        {"{\"a\":tru}", HS_ERR_INPUT_JSON},
        {"{\"a\":\"\xff\"}", HS_ERR_INPUT_JSON},
        {"{\"a\":1}{}", HS_ERR_INPUT_JSON},
        {"{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", HS_ERR_INPUT_JSON},
        {"{\"a\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
         HS_ERR_INPUT_TOO_LARGE},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_object *obj = NULL;
        HS_CHECK_ERR(hs_json_parse_object(bad[i].text, strlen(bad[i].text), 64, 8, &obj),
                     bad[i].code);
        HS_CHECK(obj == NULL);
    }
}

/* Duplicate member names are refused anywhere in the document (json-c would keep the last
 * value silently: {"csr": weak, "csr": good}); the same names in different objects, or inside
 * strings, are not duplicates. The detail names the member when it is written alike. */
HS_TEST(json_parse_refuses_duplicate_members)
{
    static const struct {
        const char *text;
        const char *detail; /* NULL: accepted */
    } cases[] = {
        {"{\"audience\":\"x\",\"audience\":\"y\"}", "duplicate member \"audience\""},
        {"{ \"a\" : 1 ,\n \"b\": {\"a\": 2}, \"a\" :3 }", "duplicate member \"a\""},
        {"{\"a\":{\"b\":1,\"c\":2,\"b\":3}}", "duplicate member \"b\""},
        {"{\"a\":[{\"k\":1},{\"k\":2,\"k\":2}]}", "duplicate member \"k\""},
        /* the first "a" holds an object that the second replaces: still refused */
        {"{\"a\":{\"x\":1,\"y\":2},\"a\":3}", "duplicate member \"a\""},
        /* the same name spelt with an escape */
        {"{\"ab\":1,\"a\\u0062\":2}", "a member name appears twice in one object"},
        {"{\"q\\\"\":1,\"q\\\"\":2}", "duplicate member \"q\\\"\""},
        /* not duplicates */
        {"{\"a\":{\"k\":1},\"b\":{\"k\":1},\"c\":[{\"k\":1},{\"k\":2}]}", NULL},
        {"{\"a\":\"{\\\"a\\\":1,\\\"a\\\":2}\",\"b\":\",\\\"a\\\":\"}", NULL},
        {"{\"a\":[\"a\",\"a\"],\"\":1,\"A\":2}", NULL},
        {"{}", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        HS_DEFER(json_object *obj = NULL, hs_json_putp);
        hs_result r = hs_json_parse_object(cases[i].text, strlen(cases[i].text), 1024, 8, &obj);
        if (cases[i].detail == NULL) {
            HS_CHECK_OK(r);
            continue;
        }
        HS_CHECK_ERR(r, HS_ERR_INPUT_JSON);
        HS_CHECK(obj == NULL);
        HS_CHECK(strcmp(hs_error_last()->detail, cases[i].detail) == 0);
    }
}

HS_TEST(json_getters_check_type_range_and_unknown_keys)
{
    const char *text = "{\"s\":\"x\",\"n\":12,\"f\":1.5,\"b\":true,\"z\":\"a\\u0000b\",\"e\":\"\"}";
    HS_DEFER(json_object *obj = NULL, hs_json_putp);
    HS_CHECK_OK(hs_json_parse_object(text, strlen(text), 1024, 8, &obj));
    const char *s = NULL;
    int64_t n = 0;
    bool b = false;
    HS_CHECK_OK(hs_json_get_string(obj, "s", true, 8, &s));
    HS_CHECK(s != NULL && strcmp(s, "x") == 0);
    HS_CHECK_ERR(hs_json_get_string(obj, "n", true, 8, &s), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(hs_json_get_string(obj, "z", true, 8, &s), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(hs_json_get_string(obj, "e", true, 8, &s), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(hs_json_get_string(obj, "missing", true, 8, &s), HS_ERR_INPUT_FIELD);
    HS_CHECK_OK(hs_json_get_string(obj, "missing", false, 8, &s));
    HS_CHECK(s == NULL);
    HS_CHECK_OK(hs_json_get_int(obj, "n", true, 1, 24, 0, &n));
    HS_CHECK(n == 12);
    HS_CHECK_ERR(hs_json_get_int(obj, "n", true, 1, 11, 0, &n), HS_ERR_INPUT_RANGE);
    HS_CHECK_ERR(hs_json_get_int(obj, "f", true, 0, 10, 0, &n), HS_ERR_INPUT_FIELD);
    HS_CHECK_OK(hs_json_get_int(obj, "absent", false, 0, 10, 7, &n));
    HS_CHECK(n == 7);
    HS_CHECK_OK(hs_json_get_bool(obj, "b", true, false, &b));
    HS_CHECK(b);
    static const char *const allowed[] = {"s", "n", "f", "b", "z", NULL};
    HS_CHECK_ERR(hs_json_check_keys(obj, allowed, "test"), HS_ERR_INPUT_FIELD);
    HS_CHECK(strstr(hs_error_last()->detail, "\"e\"") != NULL);
}

/* Appending a context to a detail of any length stays inside struct hs_error's detail: a
 * detail of 198 bytes used to get its terminator one byte past the end (found by
 * tests/fuzz/ceremony_config_fuzz.c). */
HS_TEST(error_detail_appends_stay_in_bounds)
{
    char text[sizeof(hs_error_last()->detail) + 8];
    for (size_t n = 1; n < sizeof(text); n++) {
        memset(text, 'a', n);
        text[n] = '\0';
        HS_IGNORE(hs_error_raise(__FILE__, __LINE__, HS_ERR_INPUT_FIELD, "%s", text));
        HS_IGNORE(hs_error_context(
            hs_error_raise(__FILE__, __LINE__, HS_ERR_INPUT_FIELD, "%s", text), "ctx"));
        const char *d = hs_error_last()->detail;
        size_t len = strnlen(d, sizeof(hs_error_last()->detail));
        HS_CHECK(len < sizeof(hs_error_last()->detail));
        HS_CHECK(strncmp(d, text, len < n ? len : n) == 0);
        if (n + 10 < sizeof(hs_error_last()->detail)) {
            HS_CHECK(len == n + 10 && strcmp(d + n, "; in \"ctx\"") == 0);
        }
    }
}

/* A new error may quote the previous one's detail ("%s: %s", what, hs_error_last()->detail):
 * the cause must survive the raise that clears the detail (it used to read "GET /next: "). */
HS_TEST(error_detail_may_quote_the_previous_detail)
{
    HS_IGNORE(hs_error_raise(__FILE__, __LINE__, HS_ERR_IO, "connection refused"));
    HS_IGNORE(hs_error_raise(__FILE__, __LINE__, HS_ERR_IO, "%s: %s", "GET /next",
                             hs_error_last()->detail));
    HS_CHECK(strcmp(hs_error_last()->detail, "GET /next: connection refused") == 0);
    hs_error_add_detail("again: %s", hs_error_last()->detail);
    HS_CHECK(strcmp(hs_error_last()->detail,
                    "GET /next: connection refused; again: GET /next: connection refused") == 0);
}

int main(void)
{
    return hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(put_within_max_succeeds_and_past_max_fails),
        HS_TEST_CASE(growth_keeps_content),
        HS_TEST_CASE(reserve_commit_checks_used),
        HS_TEST_CASE(cstr_rejects_embedded_nul_and_needs_room),
        HS_TEST_CASE(hex_and_base64url_match_rfc4648_vectors),
        HS_TEST_CASE(cursor_never_reads_past_end),
        HS_TEST_CASE(json_parse_rejects_bad_documents),
        HS_TEST_CASE(json_parse_refuses_duplicate_members),
        HS_TEST_CASE(json_getters_check_type_range_and_unknown_keys),
        HS_TEST_CASE(error_detail_appends_stay_in_bounds),
        HS_TEST_CASE(error_detail_may_quote_the_previous_detail),
        HS_TEST_END,
    });
}
