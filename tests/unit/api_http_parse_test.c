/*
 * api_http_parse without sockets: a table of requests with the exact outcome each must have
 * (the request, or the refusal code and so the status), each fed whole and one byte at a time;
 * the request handed out (method, raw target, headers, decoded chunked body, keep-alive);
 * pipelined requests; 100-continue; and a chunked body refused as soon as it passes
 * API_BODY_MAX.
 */
#include <string.h>

#include "api/api_body.h"
#include "api/api_http_parse.h"
#include "tests/testlib/hs_test.h"

struct parse_case {
    const char *name;
    const char *bytes;
    size_t len;            /* 0: strlen(bytes) */
    enum hs_code expected; /* HS_ERR_NONE: a complete request */
};

#define REQ(name, text, code)                                                                      \
    {                                                                                              \
        name, text, sizeof(text) - 1, code                                                         \
    }

static const struct parse_case cases[] = {
    REQ("plain GET", "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n", HS_ERR_NONE),
    REQ("HTTP/1.0 without Host", "GET /healthz HTTP/1.0\r\n\r\n", HS_ERR_NONE),
    REQ("empty header value", "GET / HTTP/1.1\r\nHost: a\r\nX-E:\r\nX-F: 1\r\n\r\n", HS_ERR_NONE),
    REQ("blank line first", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", HS_ERR_NONE),
    REQ("obs-text in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-U: \xc3\xa9\r\n\r\n", HS_ERR_NONE),
    REQ("duplicate Content-Length",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
        HS_ERR_INPUT_HTTP),
    REQ("Content-Length and Transfer-Encoding",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\n",
        HS_ERR_INPUT_HTTP),
    REQ("Transfer-Encoding then Content-Length",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
        "0\r\n\r\n",
        HS_ERR_INPUT_HTTP),
    REQ("Content-Length not a number", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n",
        HS_ERR_INPUT_HTTP),
    REQ("no Host in HTTP/1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("two Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\0b\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("0x01 in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x01z\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("DEL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x7fz\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("obs-fold SP", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\r\n b\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("obs-fold HT", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\r\n\tb\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("bare LF everywhere", "GET / HTTP/1.1\nHost: a\n\n", HS_ERR_INPUT_HTTP),
    REQ("bare LF in a header", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("bare LF ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", HS_ERR_INPUT_HTTP),
    REQ("CR without LF", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("space in a name", "GET / HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("empty name", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("two spaces after the method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("two spaces before the version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("space after the version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("tab as separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("HTTP/0.9 line", "GET /\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("unknown method", "BREW / HTTP/1.1\r\nHost: a\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("version 2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", HS_ERR_INPUT_HTTP_VERSION),
    REQ("version 1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", HS_ERR_INPUT_HTTP_VERSION),
    REQ("version garbage", "GET / HTTQ/1.1\r\nHost: a\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("Transfer-Encoding gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
        HS_ERR_INPUT_HTTP),
    REQ("Transfer-Encoding chunked, gzip",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
        HS_ERR_INPUT_HTTP),
    REQ("Transfer-Encoding gzip, chunked",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        HS_ERR_INPUT_HTTP_CODING),
    REQ("Transfer-Encoding in HTTP/1.0",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", HS_ERR_INPUT_HTTP),
    REQ("two Transfer-Encoding",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
        "chunked\r\n\r\n0\r\n\r\n",
        HS_ERR_INPUT_HTTP),
    REQ("bad chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        HS_ERR_INPUT_HTTP),
    REQ("chunk size overflow",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
        HS_ERR_INPUT_TOO_LARGE),
    REQ("chunked body",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n2 ;a=\"b c\"\r\n{}\r\n"
        "0\r\n\r\n",
        HS_ERR_NONE),
    REQ("chunk data without its CRLF",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}xx0\r\n\r\n",
        HS_ERR_INPUT_HTTP),
    REQ("chunk data with LF only",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\n0\r\n\r\n",
        HS_ERR_INPUT_HTTP),
    REQ("chunk-size of 9 digits (leading zeros)",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n000000002\r\n{}\r\n"
        "0\r\n\r\n",
        HS_ERR_INPUT_HTTP),
    REQ("chunk-size without digits",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n;x\r\n",
        HS_ERR_INPUT_HTTP),
    REQ("chunk-size line with a bare LF",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\n{}\r\n0\r\n\r\n",
        HS_ERR_INPUT_HTTP),
    REQ("NUL in a chunk extension",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2;a\0\r\n{}\r\n"
        "0\r\n\r\n",
        HS_ERR_INPUT_HTTP),
    REQ("last chunk without the final CRLF",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nxx",
        HS_ERR_INPUT_HTTP),
    REQ("trailer fields",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-T: "
        "1\r\n\r\n",
        HS_ERR_INPUT_HTTP),
    REQ("Content-Length over the body limit",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 65537\r\n\r\n", HS_ERR_INPUT_TOO_LARGE),
};

/* Feeds the whole case in reads of step bytes; the code it ends with, and the request. */
static enum hs_code feed(struct api_http_parse *p, const char *bytes, size_t len, size_t step,
                         bool *done)
{
    size_t off = 0;
    *done = false;
    while (off < len && !*done) {
        size_t n = step < len - off ? step : len - off;
        size_t used = 0;
        hs_result r = api_http_parse_feed(p, (const unsigned char *)bytes + off, n, &used, done);
        if (hs_failed(r)) {
            return r.code;
        }
        off += used;
    }
    return HS_ERR_NONE;
}

HS_TEST(table)
{
    struct api_http_parse *p = api_http_parse_new();
    HS_CHECK(p != NULL);
    for (size_t i = 0; p != NULL && i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t step = 1; step <= 4096; step *= 4096) {
            bool done = false;
            api_http_parse_reset(p);
            enum hs_code got = feed(p, cases[i].bytes, cases[i].len, step, &done);
            HS_CHECK(got == cases[i].expected && done == (got == HS_ERR_NONE));
            if (got != cases[i].expected) {
                fprintf(stderr, "  %s (reads of %zu): got %s\n", cases[i].name, step,
                        hs_code_name(got));
            }
        }
    }
    api_http_parse_free(p);
}

HS_TEST(request_handed_out)
{
    static const char req[] = "POST /v1/tokens?x=%2F&y HTTP/1.1\r\nHost: a\r\n"
                              "Transfer-Encoding: chunked\r\nX-E:\r\nConnection: close\r\n\r\n"
                              "3;ext=1\r\n{\"a\r\n5\r\n\": 1}\r\n0\r\n\r\n";
    struct api_http_parse *p = api_http_parse_new();
    HS_CHECK(p != NULL);
    bool done = false;
    HS_CHECK(p != NULL && feed(p, req, sizeof(req) - 1, 1, &done) == HS_ERR_NONE && done);
    struct api_http_message m;
    api_http_parse_message(p, &m);
    HS_CHECK(strcmp(m.method, "POST") == 0);
    HS_CHECK(strcmp(m.target, "/v1/tokens?x=%2F&y") == 0);
    HS_CHECK(m.nheaders == 4);
    HS_CHECK(m.nheaders == 4 && strcmp(m.headers[2].name, "X-E") == 0 &&
             strcmp(m.headers[2].value, "") == 0 && strcmp(m.headers[0].value, "a") == 0);
    HS_CHECK(m.body_len == 8 && memcmp(m.body, "{\"a\": 1}", 8) == 0);
    HS_CHECK(!m.keep_alive);
    api_http_parse_free(p);
}

HS_TEST(pipelined_and_continue)
{
    static const char two[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n"
                              "Expect: 100-continue\r\n\r\n{}GET /b HTTP/1.0\r\n\r\n";
    struct api_http_parse *p = api_http_parse_new();
    HS_CHECK(p != NULL);
    size_t used = 0;
    bool done = false;
    size_t head = strstr(two, "{}") - two;
    /* The head alone: no request yet, a 100 to send once. */
    HS_CHECK_OK(api_http_parse_feed(p, (const unsigned char *)two, head, &used, &done));
    HS_CHECK(!done && used == head && api_http_parse_take_continue(p) &&
             !api_http_parse_take_continue(p));
    HS_CHECK_OK(api_http_parse_feed(p, (const unsigned char *)two + head, sizeof(two) - 1 - head,
                                    &used, &done));
    HS_CHECK(done && used == 2);
    struct api_http_message m;
    api_http_parse_message(p, &m);
    HS_CHECK(m.keep_alive && m.body_len == 2);
    size_t off = head + used;
    api_http_parse_reset(p);
    HS_CHECK(!api_http_parse_started(p));
    HS_CHECK_OK(api_http_parse_feed(p, (const unsigned char *)two + off, sizeof(two) - 1 - off,
                                    &used, &done));
    api_http_parse_message(p, &m);
    HS_CHECK(done && used == sizeof(two) - 1 - off && strcmp(m.target, "/b") == 0 &&
             !m.keep_alive && m.body == NULL);
    api_http_parse_free(p);
}

/* A chunked body is refused as soon as the announced sizes pass API_BODY_MAX, not at its end:
 * a single chunk of 1 MiB at its size line, and 4 KiB chunks at the line of the chunk that
 * would pass the limit. */
HS_TEST(chunked_over_the_limit)
{
    static const char head[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    static const char line[] = "1000\r\n"; /* a chunk of 4 KiB */
    static unsigned char chunk[sizeof(line) - 1 + 4096 + 2];
    memcpy(chunk, line, sizeof(line) - 1);
    memset(chunk + sizeof(line) - 1, 'x', 4096);
    memcpy(chunk + sizeof(chunk) - 2, "\r\n", 2);
    struct api_http_parse *p = api_http_parse_new();
    HS_CHECK(p != NULL);
    size_t used = 0;
    bool done = false;
    HS_CHECK_OK(
        api_http_parse_feed(p, (const unsigned char *)head, sizeof(head) - 1, &used, &done));
    HS_CHECK_ERR(api_http_parse_feed(p, (const unsigned char *)"100000\r\n", 8, &used, &done),
                 HS_ERR_INPUT_TOO_LARGE);
    api_http_parse_reset(p);
    HS_CHECK_OK(
        api_http_parse_feed(p, (const unsigned char *)head, sizeof(head) - 1, &used, &done));
    size_t fed = 0;
    hs_result r = HS_OK;
    while (!hs_failed(r) && fed < (1U << 20)) {
        r = api_http_parse_feed(p, chunk, sizeof(chunk), &used, &done);
        fed += 4096;
    }
    HS_CHECK(r.code == HS_ERR_INPUT_TOO_LARGE);
    /* 16 chunks fit API_BODY_MAX exactly; the 17th line is refused before its data. */
    HS_CHECK(fed == API_BODY_MAX + 4096);
    /* Dead after an error until reset. */
    HS_CHECK_ERR(api_http_parse_feed(p, chunk, 1, &used, &done), HS_ERR_INPUT_TOO_LARGE);
    api_http_parse_free(p);
}

/* Limits: the target (414), one value, the field count and the section (431). */
HS_TEST(limits)
{
    static char big[API_HTTP_PARSE_HEAD_MAX + API_SIGV4_TARGET_MAX + 256];
    struct api_http_parse *p = api_http_parse_new();
    HS_CHECK(p != NULL);
    size_t used = 0;
    bool done = false;
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /", 5);
    HS_CHECK_ERR(
        api_http_parse_feed(p, (unsigned char *)big, API_SIGV4_TARGET_MAX + 6, &used, &done),
        HS_ERR_INPUT_HTTP_TARGET);
    api_http_parse_reset(p);
    static const char line[] = "GET / HTTP/1.1\r\nX: ";
    memcpy(big, line, sizeof(line) - 1);
    HS_CHECK_ERR(api_http_parse_feed(p, (unsigned char *)big,
                                     sizeof(line) - 1 + API_SIGV4_HEADER_VALUE_MAX + 1, &used,
                                     &done),
                 HS_ERR_INPUT_HTTP_HEADERS);
    api_http_parse_reset(p);
    size_t n = strlen("GET / HTTP/1.1\r\n");
    memcpy(big, "GET / HTTP/1.1\r\n", n);
    for (int i = 0; i <= API_SIGV4_HEADERS_MAX; i++) {
        memcpy(big + n, "A: b\r\n", 6);
        n += 6;
    }
    HS_CHECK_ERR(api_http_parse_feed(p, (unsigned char *)big, n, &used, &done),
                 HS_ERR_INPUT_HTTP_HEADERS);
    api_http_parse_reset(p);
    n = strlen("GET / HTTP/1.1\r\n");
    for (int i = 0; i < 5; i++) { /* 5 lines of 8 KiB: within each, over the section */
        memcpy(big + n, "A: ", 3);
        memset(big + n + 3, 'v', 8000);
        memcpy(big + n + 8003, "\r\n", 2);
        n += 8005;
    }
    HS_CHECK_ERR(api_http_parse_feed(p, (unsigned char *)big, n, &used, &done),
                 HS_ERR_INPUT_HTTP_HEADERS);
    api_http_parse_free(p);
}

int main(void)
{
    return hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(table), HS_TEST_CASE(request_handed_out), HS_TEST_CASE(pipelined_and_continue),
        HS_TEST_CASE(chunked_over_the_limit), HS_TEST_CASE(limits), HS_TEST_END});
}
