/*
 * http_parse_fuzz: hsmsignd's HTTP/1.1 request parser (api_http_parse: nodejs http-parser plus
 * our strictness scan) on a raw byte stream, as the event loop feeds it from a socket.
 *
 * Input: byte 0 picks how the stream is cut into reads (1 + byte0 bytes at a time, byte0 = 255
 * meaning all at once); the rest is the stream, which may hold several pipelined requests.
 * Oracles: every request handed out keeps the parser's promises (api_http_parse.h: a token
 * method, a target of visible ASCII within API_SIGV4_TARGET_MAX, at most API_SIGV4_HEADERS_MAX
 * fields with token names and values without control characters but HT, a body within
 * API_BODY_MAX; at most one Content-Length, no Transfer-Encoding beside it); every refusal is
 * one of the codes the header lists; and the outcome (the requests and the final refusal) is
 * the same whether the stream comes in one read or cut into small ones.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_body.h"
#include "api/api_http_parse.h"
#include "tests/fuzz/fuzz_support.h"

#define HTTP_PARSE_FUZZ_REQUESTS_MAX 64

/* What a stream amounted to: a digest (FNV-1a, 64 bits) of its requests and the refusal that
 * ended it. */
struct http_parse_outcome {
    uint64_t digest;
    size_t requests;
    enum hs_code error;
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

static bool http_parse_fuzz_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static void http_parse_fuzz_check(const struct api_http_message *m)
{
    size_t tlen = strlen(m->target);
    if (m->method == NULL || tlen == 0 || tlen > API_SIGV4_TARGET_MAX ||
        m->nheaders > API_SIGV4_HEADERS_MAX || m->body_len > API_BODY_MAX ||
        (m->body_len > 0) != (m->body != NULL)) {
        fuzz_abort();
    }
    for (size_t i = 0; i < tlen; i++) {
        if ((unsigned char)m->target[i] <= 0x20 || (unsigned char)m->target[i] >= 0x7f) {
            fuzz_abort();
        }
    }
    size_t ncl = 0;
    size_t nte = 0;
    for (size_t i = 0; i < m->nheaders; i++) {
        const unsigned char *n = (const unsigned char *)m->headers[i].name;
        const unsigned char *v = (const unsigned char *)m->headers[i].value;
        if (*n == '\0') {
            fuzz_abort();
        }
        for (; *n != '\0'; n++) {
            if (!http_parse_fuzz_tchar(*n)) {
                fuzz_abort();
            }
        }
        for (; *v != '\0'; v++) {
            if ((*v < 0x20 && *v != '\t') || *v == 0x7f) {
                fuzz_abort();
            }
        }
        ncl += strcasecmp(m->headers[i].name, "content-length") == 0;
        nte += strcasecmp(m->headers[i].name, "transfer-encoding") == 0;
    }
    if (ncl > 1 || nte > 1 || (ncl == 1 && nte == 1)) {
        fuzz_abort();
    }
}

static void http_parse_fuzz_hash(struct http_parse_outcome *o, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        o->digest = (o->digest ^ p[i]) * 0x100000001b3ULL;
    }
}

static void http_parse_fuzz_record(struct http_parse_outcome *o, const struct api_http_message *m)
{
    http_parse_fuzz_hash(o, m->method, strlen(m->method) + 1);
    http_parse_fuzz_hash(o, m->target, strlen(m->target) + 1);
    for (size_t i = 0; i < m->nheaders; i++) {
        http_parse_fuzz_hash(o, m->headers[i].name, strlen(m->headers[i].name) + 1);
        http_parse_fuzz_hash(o, m->headers[i].value, strlen(m->headers[i].value) + 1);
    }
    if (m->body_len > 0) {
        http_parse_fuzz_hash(o, m->body, m->body_len);
    }
    http_parse_fuzz_hash(o, &m->keep_alive, sizeof(m->keep_alive));
    o->requests++;
}

/* Feeds data in reads of step bytes (0: all at once). */
static void http_parse_fuzz_run(const uint8_t *data, size_t size, size_t step,
                                struct http_parse_outcome *o)
{
    struct api_http_parse *p = api_http_parse_new();
    if (p == NULL) {
        fuzz_abort();
    }
    o->digest = 0xcbf29ce484222325ULL;
    o->requests = 0;
    o->error = HS_ERR_NONE;
    size_t off = 0;
    while (off < size && o->requests < HTTP_PARSE_FUZZ_REQUESTS_MAX) {
        size_t n = step == 0 || step > size - off ? size - off : step;
        size_t used = 0;
        bool done = false;
        hs_result r = api_http_parse_feed(p, data + off, n, &used, &done);
        if (hs_failed(r)) {
            o->error = r.code;
            break;
        }
        if (used > n || (!done && used != n)) {
            fuzz_abort();
        }
        off += used;
        HS_IGNORE(api_http_parse_take_continue(p));
        if (done) {
            struct api_http_message m;
            api_http_parse_message(p, &m);
            http_parse_fuzz_check(&m);
            http_parse_fuzz_record(o, &m);
            api_http_parse_reset(p);
        }
    }
    api_http_parse_free(p);
    switch (o->error) {
    case HS_ERR_NONE:
    case HS_ERR_INPUT_HTTP:
    case HS_ERR_INPUT_HTTP_TARGET:
    case HS_ERR_INPUT_HTTP_HEADERS:
    case HS_ERR_INPUT_HTTP_VERSION:
    case HS_ERR_INPUT_HTTP_CODING:
    case HS_ERR_INPUT_TOO_LARGE:
        return;
    default:
        fuzz_abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    uint8_t cut = fuzz_take_byte(&in);
    struct http_parse_outcome whole;
    struct http_parse_outcome pieces;
    http_parse_fuzz_run(in.p, in.n, 0, &whole);
    http_parse_fuzz_run(in.p, in.n, cut == 255 ? 0 : (size_t)cut + 1, &pieces);
    if (whole.requests != pieces.requests || whole.digest != pieces.digest ||
        (whole.requests < HTTP_PARSE_FUZZ_REQUESTS_MAX && whole.error != pieces.error)) {
        fuzz_abort();
    }
    return 0;
}
