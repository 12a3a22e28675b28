/* hs_json's writer: the bytes json-c prints for the same strings and numbers, strict UTF-8
 * checking, replacement for log lines, and bounds. */
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "tests/testlib/hs_test.h"

#define OUT_MAX 4096

/* Whether hs_json_put_string writes what json-c prints for the string s[0..n). */
static bool same_as_json_c(const char *s, size_t n)
{
    HS_DEFER(struct hs_buf *b = hs_buf_new(OUT_MAX), hs_buf_freep);
    HS_DEFER(json_object *o = json_object_new_string_len(s, (int)n), hs_json_putp);
    if (b == NULL || o == NULL || hs_failed(hs_json_put_string(b, s, n, HS_JSON_UTF8_STRICT))) {
        return false;
    }
    size_t want_len = 0;
    const char *want = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &want_len);
    return want != NULL && want_len == hs_buf_len(b) && memcmp(want, hs_buf_data(b), want_len) == 0;
}

/* Every single byte below 0x80 (NUL included), a string of all of them, and multi-byte UTF-8
 * of each length: the same bytes as json-c's. */
HS_TEST(strings_as_json_c_prints_them)
{
    char all[128];
    for (size_t c = 0; c < sizeof(all); c++) {
        all[c] = (char)c;
        char one[1] = {(char)c};
        HS_CHECK(same_as_json_c(one, 1));
    }
    HS_CHECK(same_as_json_c(all, sizeof(all)));
    static const char *const texts[] = {"",
                                        "plain",
                                        "a/b\\c\"d",
                                        "caf\xc3\xa9",
                                        "\xe2\x82\xac 5",
                                        "\xf0\x9f\x94\x91 key",
                                        "\xed\x9f\xbf",
                                        "\xef\xbf\xbf",
                                        "\xf4\x8f\xbf\xbf",
                                        "arn:aws:iam::1:role/x"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        HS_CHECK(same_as_json_c(texts[i], strlen(texts[i])));
    }
}

/* A byte that needs escaping (or starts a multi-byte sequence) is found at every position of a
 * longer string, where the scan looks at eight bytes at a time, next to every other byte. */
HS_TEST(escapes_found_at_every_position)
{
    static const char *const specials[] = {"\x01",     "\x1f",         "\"",   "\\", "\n",
                                           "\xc3\xa9", "\xe2\x82\xac", "\x7f", " ",  "~"};
    bool all = true;
    for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
        for (size_t pos = 0; pos < 20; pos++) {
            char text[40];
            memset(text, 'a', sizeof(text));
            size_t n = strlen(specials[k]);
            memcpy(text + pos, specials[k], n);
            text[pos + 1 + n] = (char)(0x20 + pos); /* a neighbour of each printable kind */
            all = all && same_as_json_c(text, 24 + n);
        }
    }
    HS_CHECK(all);
}

/* Ill-formed UTF-8 (RFC 3629 §4: overlong forms, surrogates, above U+10FFFF, lone and
 * truncated sequences) fails STRICT with HS_ERR_INPUT and leaves the buffer as it was; REPLACE
 * writes U+FFFD per byte. */
HS_TEST(ill_formed_utf8_fails_strict_and_is_replaced_for_logs)
{
    static const char *const bad[] = {
        "\xc0\xaf",         "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
        "\xf5\x80\x80\x80", "\x80",     "\xbf",         "\xc3",         "\xe2\x82",
        "\xf0\x9f\x94",     "\xff"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        HS_DEFER(struct hs_buf *b = hs_buf_new(OUT_MAX), hs_buf_freep);
        HS_CHECK(b != NULL && hs_buf_put_str(b, "x").code == HS_ERR_NONE);
        hs_result r = hs_json_put_string(b, bad[i], strlen(bad[i]), HS_JSON_UTF8_STRICT);
        HS_CHECK(r.code == HS_ERR_INPUT);
        HS_CHECK(hs_buf_len(b) == 1);
    }
    HS_DEFER(struct hs_buf *b = hs_buf_new(OUT_MAX), hs_buf_freep);
    HS_CHECK(b != NULL);
    HS_CHECK_OK(hs_json_put_string(b, "a\xc3(\xed\xa0\x80z", 7, HS_JSON_UTF8_REPLACE));
    static const char want[] = "\"a\\ufffd(\\ufffd\\ufffd\\ufffdz\"";
    HS_CHECK(hs_buf_len(b) == strlen(want) && memcmp(hs_buf_data(b), want, strlen(want)) == 0);
}

/* Numbers as json-c prints int64 and uint64, at the edges too. */
HS_TEST(numbers_as_json_c_prints_them)
{
    static const int64_t ints[] = {0, 1, -1, 9, 10, -10, 1764000000, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        HS_DEFER(struct hs_buf *b = hs_buf_new(64), hs_buf_freep);
        HS_DEFER(json_object *o = json_object_new_int64(ints[i]), hs_json_putp);
        HS_CHECK(b != NULL && o != NULL);
        HS_CHECK_OK(hs_json_put_int(b, ints[i]));
        const char *want = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        HS_CHECK(hs_buf_len(b) == strlen(want) && memcmp(hs_buf_data(b), want, strlen(want)) == 0);
    }
    HS_DEFER(struct hs_buf *b = hs_buf_new(64), hs_buf_freep);
    HS_DEFER(json_object *o = json_object_new_uint64(UINT64_MAX), hs_json_putp);
    HS_CHECK(b != NULL && o != NULL);
    HS_CHECK_OK(hs_json_put_uint(b, UINT64_MAX));
    const char *want = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    HS_CHECK(hs_buf_len(b) == strlen(want) && memcmp(hs_buf_data(b), want, strlen(want)) == 0);
}

/* A string that does not fit fails with HS_ERR_BOUNDS and appends nothing; names get their
 * comma and colon. */
HS_TEST(bounds_and_names)
{
    HS_DEFER(struct hs_buf *b = hs_buf_new(8), hs_buf_freep);
    HS_CHECK(b != NULL);
    HS_CHECK(hs_json_put_string(b, "1234567", 7, HS_JSON_UTF8_STRICT).code == HS_ERR_BOUNDS);
    HS_CHECK(hs_buf_len(b) == 0);
    HS_CHECK(hs_json_put_string(b, "\n\n\n\n", 4, HS_JSON_UTF8_STRICT).code == HS_ERR_BOUNDS);
    HS_CHECK_OK(hs_json_put_string(b, "123456", 6, HS_JSON_UTF8_STRICT));
    HS_DEFER(struct hs_buf *n = hs_buf_new(64), hs_buf_freep);
    HS_CHECK(n != NULL);
    HS_CHECK_OK(hs_json_put_name(n, "a", true));
    HS_CHECK_OK(hs_json_put_name(n, "b\"", false));
    static const char want[] = "\"a\":,\"b\\\"\":";
    HS_CHECK(hs_buf_len(n) == strlen(want) && memcmp(hs_buf_data(n), want, strlen(want)) == 0);
}

int main(void)
{
    return hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(strings_as_json_c_prints_them),
        HS_TEST_CASE(escapes_found_at_every_position),
        HS_TEST_CASE(ill_formed_utf8_fails_strict_and_is_replaced_for_logs),
        HS_TEST_CASE(numbers_as_json_c_prints_them),
        HS_TEST_CASE(bounds_and_names),
        HS_TEST_END,
    });
}
