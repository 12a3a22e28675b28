#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/hs_defer.h"
#include "common/hs_log.h"
#include "tests/testlib/hs_test.h"

#define LINES_MAX 8
#define LINE_MAX_BYTES 4096

/* The lines written by the calls in between hs_log_capture_begin and _end, parsed. */
struct capture {
    FILE *f;
    char raw[LINE_MAX_BYTES]; /* the first line as written */
    json_object *lines[LINES_MAX];
    size_t n;
};

static void capture_begin(struct capture *c)
{
    memset(c, 0, sizeof(*c));
    c->f = tmpfile();
    HS_CHECK(c->f != NULL);
    hs_log_set_stream(c->f);
}

static void capture_end(struct capture *c)
{
    hs_log_set_stream(NULL);
    if (c->f == NULL) {
        return;
    }
    rewind(c->f);
    char line[LINE_MAX_BYTES];
    while (c->n < LINES_MAX && fgets(line, sizeof(line), c->f) != NULL) {
        if (c->n == 0) {
            memcpy(c->raw, line, sizeof(line));
        }
        c->lines[c->n] = json_tokener_parse(line);
        HS_CHECK(c->lines[c->n] != NULL);
        c->n++;
    }
    fclose(c->f);
    c->f = NULL;
}

static void capture_free(struct capture *c)
{
    for (size_t i = 0; i < c->n; i++) {
        json_object_put(c->lines[i]);
    }
}

static void json_tokener_free_p(json_tokener **t)
{
    if (*t != NULL) {
        json_tokener_free(*t);
    }
}

static const char *str_of(json_object *line, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(line, key, &v) ? json_object_get_string(v) : NULL;
}

/* Every field type is rendered as before (strings escaped by json-c, hex in lowercase and cut at
 * 512 bytes, NULL values as null), the fixed members come first, and a field that repeats a
 * fixed member's name replaces its value rather than doubling the member. */
HS_TEST(fields_render_as_typed_json)
{
    unsigned char bytes[600];
    for (size_t i = 0; i < sizeof(bytes); i++) {
        bytes[i] = (unsigned char)(i * 7);
    }
    HS_DEFER(struct capture c, capture_free);
    capture_begin(&c);
    hs_log_set_req_id("req-1");
    hs_log(HS_LOG_INFO, "test.fields", HS_LOG_AUDIT, HS_LOG_STR("s", "a\"b\\c\nd"),
           HS_LOG_INT("i", -5), HS_LOG_HEX("h", bytes, 3), HS_LOG_HEX("long", bytes, 600),
           HS_LOG_HEX("none", NULL, 3), HS_LOG_STR("nul", NULL), HS_LOG_STR("level", "x"));
    hs_log_set_req_id(NULL);
    capture_end(&c);
    HS_CHECK(c.n == 1);
    if (c.n != 1) {
        return;
    }
    json_object *l = c.lines[0];
    HS_CHECK(strcmp(str_of(l, "event"), "test.fields") == 0);
    HS_CHECK(strcmp(str_of(l, "req_id"), "req-1") == 0);
    HS_CHECK(strncmp(str_of(l, "src"), "hs_log_test.c:", 14) == 0);
    HS_CHECK(strcmp(str_of(l, "s"), "a\"b\\c\nd") == 0);
    HS_CHECK(strcmp(str_of(l, "h"), "00070e") == 0);
    HS_CHECK(strlen(str_of(l, "long")) == 1024);
    HS_CHECK(strncmp(str_of(l, "long"), "00070e151c", 10) == 0);
    HS_CHECK(str_of(l, "none") == NULL && str_of(l, "nul") == NULL);
    HS_CHECK(strcmp(str_of(l, "level"), "x") == 0);
    HS_CHECK(json_object_object_length(l) == 12);
    json_object *v = NULL;
    HS_CHECK(json_object_object_get_ex(l, "i", &v) && json_object_get_int64(v) == -5);
}

/* A string field that is not well-formed UTF-8 still gives a line a strict reader takes (each
 * bad byte as U+FFFD; json-c's tree wrote the raw bytes), and a field named twice keeps its first
 * place with the last value, as json-c's object did. */
HS_TEST(bad_utf8_is_replaced_and_repeated_fields_keep_the_last_value)
{
    HS_DEFER(struct capture c, capture_free);
    capture_begin(&c);
    hs_log(HS_LOG_INFO, "test.utf8", HS_LOG_STR("who", "a\xff\xc3("), HS_LOG_INT("n", 1),
           HS_LOG_STR("last", "x"), HS_LOG_INT("n", 2));
    capture_end(&c);
    HS_CHECK(c.n == 1);
    if (c.n != 1) {
        return;
    }
    HS_DEFER(json_tokener *tok = json_tokener_new(), json_tokener_free_p);
    HS_CHECK(tok != NULL);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    HS_DEFER(json_object *strict = json_tokener_parse_ex(tok, c.raw, (int)strlen(c.raw)),
             hs_json_putp);
    HS_CHECK(strict != NULL);
    HS_CHECK(strcmp(str_of(c.lines[0], "who"), "a\xef\xbf\xbd\xef\xbf\xbd(") == 0);
    json_object *v = NULL;
    HS_CHECK(json_object_object_get_ex(c.lines[0], "n", &v) && json_object_get_int64(v) == 2);
    HS_CHECK(json_object_object_length(c.lines[0]) == 8);
    const char *n_at = strstr(c.raw, "\"n\":");
    HS_CHECK(n_at != NULL && strstr(c.raw, "\"src\":") < n_at && n_at < strstr(c.raw, "\"last\":"));
}

/* ts is RFC 3339 UTC with milliseconds, and follows the clock across a second boundary (the
 * formatted second is kept per thread between lines). */
HS_TEST(timestamp_is_rfc3339_ms_and_follows_the_clock)
{
    HS_DEFER(struct capture c, capture_free);
    capture_begin(&c);
    hs_log(HS_LOG_INFO, "test.ts");
    time_t before = time(NULL);
    usleep(1100 * 1000);
    hs_log(HS_LOG_INFO, "test.ts");
    time_t after = time(NULL);
    capture_end(&c);
    HS_CHECK(c.n == 2);
    if (c.n != 2) {
        return;
    }
    regex_t re;
    HS_CHECK(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
                     REG_EXTENDED | REG_NOSUB) == 0);
    const char *t0 = str_of(c.lines[0], "ts");
    const char *t1 = str_of(c.lines[1], "ts");
    HS_CHECK(regexec(&re, t0, 0, NULL, 0) == 0 && regexec(&re, t1, 0, NULL, 0) == 0);
    regfree(&re);
    /* The seconds differ, and the second line's is the clock's when it was written. */
    HS_CHECK(strncmp(t0, t1, 19) != 0);
    char want[32];
    struct tm tm;
    gmtime_r(&after, &tm);
    strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
    bool at_after = strncmp(t1, want, 19) == 0;
    time_t mid = before + 1;
    gmtime_r(&mid, &tm);
    strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
    HS_CHECK(at_after || strncmp(t1, want, 19) == 0);
}

int main(void)
{
    return hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(fields_render_as_typed_json),
        HS_TEST_CASE(bad_utf8_is_replaced_and_repeated_fields_keep_the_last_value),
        HS_TEST_CASE(timestamp_is_rfc3339_ms_and_follows_the_clock),
        HS_TEST_END,
    });
}
