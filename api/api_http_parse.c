#include "api/api_http_parse.h"

#include <string.h>
#include <strings.h>

#include <http_parser.h>
#include <openssl/crypto.h>

#include "api/api_body.h"
#include "common/hs_buf.h"

/* The target, each name and value with its NUL, in one buffer. */
#define API_HTTP_PARSE_ARENA_MAX                                                                   \
    (API_SIGV4_TARGET_MAX + 1 + API_HTTP_PARSE_HEAD_MAX + 2 * API_SIGV4_HEADERS_MAX)
#define API_HTTP_PARSE_VERSION_LEN 8 /* "HTTP/1.1" */

/* Where our own scan of the head is (api_http_parse.h lists what it checks). */
enum api_http_scan {
    API_HTTP_SCAN_START = 0, /* before the method; empty lines allowed */
    API_HTTP_SCAN_BLANK_LF,  /* after the CR of an empty line before the request */
    API_HTTP_SCAN_METHOD,
    API_HTTP_SCAN_TARGET,
    API_HTTP_SCAN_VERSION,
    API_HTTP_SCAN_LINE_LF,     /* after the request line's CR */
    API_HTTP_SCAN_FIELD_START, /* at the start of a header line */
    API_HTTP_SCAN_NAME,
    API_HTTP_SCAN_VALUE,
    API_HTTP_SCAN_VALUE_LF, /* after a header line's CR */
    API_HTTP_SCAN_END_LF,   /* after the CR of the empty line ending the head */
    API_HTTP_SCAN_BODY,     /* the head is complete: http-parser alone from here (no body, or
                               Content-Length) */
    /* A chunked body (RFC 9112 §7.1), which Debian's http-parser, built without
     * HTTP_PARSER_STRICT, frames leniently: it takes any byte for the CRLF after chunk data and
     * chunk-size lines of any length. */
    API_HTTP_SCAN_CHUNK_SIZE,    /* in the hex digits of a chunk-size */
    API_HTTP_SCAN_CHUNK_BWS,     /* after the digits, before ';' */
    API_HTTP_SCAN_CHUNK_EXT,     /* in chunk extensions (ignored, bounded) */
    API_HTTP_SCAN_CHUNK_SIZE_LF, /* after the chunk-size line's CR */
    API_HTTP_SCAN_CHUNK_DATA,
    API_HTTP_SCAN_CHUNK_DATA_CR, /* after chunk data */
    API_HTTP_SCAN_CHUNK_DATA_LF,
    API_HTTP_SCAN_CHUNK_LAST_CR, /* after the last chunk: no trailer fields, the final CRLF */
    API_HTTP_SCAN_CHUNK_LAST_LF,
    API_HTTP_SCAN_DONE, /* the message ended; the bytes after it are the next request's */
};

#define API_HTTP_PARSE_CHUNK_DIGITS_MAX 8 /* hex digits of a chunk-size, leading zeros included */

/* Which http-parser callback ran last, to tell where a name or value starts. */
enum api_http_last {
    API_HTTP_LAST_NONE = 0,
    API_HTTP_LAST_URL,
    API_HTTP_LAST_FIELD,
    API_HTTP_LAST_VALUE,
};

struct api_http_field {
    size_t name_off;
    size_t value_off;
};

struct api_http_parse {
    http_parser hp;
    enum hs_code error; /* HS_ERR_NONE until the request fails */
    bool started;
    bool head_done;
    bool complete;
    bool keep_alive;
    bool expect_continue;
    /* our scan */
    enum api_http_scan scan;
    size_t blank_lines;
    size_t token_len; /* bytes of the method, target, name or value being scanned */
    size_t head_len;  /* bytes of the header section so far */
    size_t nlines;    /* header lines so far */
    char version[API_HTTP_PARSE_VERSION_LEN];
    size_t chunk_line; /* bytes of the chunk-size line so far */
    size_t chunk_left; /* bytes of the current chunk's data still to come */
    size_t chunk_size; /* the chunk-size being read */
    size_t body_total; /* chunk-sizes announced so far */
    /* what http-parser reported */
    enum api_http_last last;
    struct hs_buf *arena;
    struct api_http_field fields[API_SIGV4_HEADERS_MAX];
    size_t nfields;
    struct api_header headers[API_SIGV4_HEADERS_MAX];
    struct hs_buf *body;
};

/* RFC 9110 §5.6.2 tchar. */
static bool api_http_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* field-vchar / obs-text, SP and HT (RFC 9110 §5.5): everything but the other controls. */
static bool api_http_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static enum hs_code api_http_fail(struct api_http_parse *p, enum hs_code code)
{
    if (p->error == HS_ERR_NONE) {
        p->error = code;
    }
    return p->error;
}

/* "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3): 400 when malformed, 505 unless 1.0 or 1.1. */
static enum hs_code api_http_version_check(const char v[API_HTTP_PARSE_VERSION_LEN])
{
    if (memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' ||
        v[7] > '9') {
        return HS_ERR_INPUT_HTTP;
    }
    if (v[5] != '1' || v[7] > '1') {
        return HS_ERR_INPUT_HTTP_VERSION;
    }
    return HS_ERR_NONE;
}

/* A byte before the method: empty lines (CRLF) are skipped, RFC 9112 §2.2. */
static enum hs_code api_http_scan_start(struct api_http_parse *p, unsigned char c)
{
    if (p->scan == API_HTTP_SCAN_BLANK_LF) {
        p->scan = API_HTTP_SCAN_START;
        return c == '\n' ? HS_ERR_NONE : HS_ERR_INPUT_HTTP;
    }
    if (c == '\r' && p->blank_lines < API_HTTP_PARSE_BLANK_MAX) {
        p->blank_lines++;
        p->scan = API_HTTP_SCAN_BLANK_LF;
        return HS_ERR_NONE;
    }
    p->scan = API_HTTP_SCAN_METHOD;
    p->token_len = 1;
    return api_http_tchar(c) ? HS_ERR_NONE : HS_ERR_INPUT_HTTP;
}

/* One byte of the request line; HS_ERR_NONE or the refusal. */
static enum hs_code api_http_scan_line(struct api_http_parse *p, unsigned char c)
{
    switch (p->scan) {
    case API_HTTP_SCAN_START:
    case API_HTTP_SCAN_BLANK_LF:
        return api_http_scan_start(p, c);
    case API_HTTP_SCAN_METHOD:
        if (c == ' ') {
            p->scan = API_HTTP_SCAN_TARGET;
            p->token_len = 0;
            return HS_ERR_NONE;
        }
        p->token_len++;
        return api_http_tchar(c) && p->token_len <= API_SIGV4_METHOD_MAX ? HS_ERR_NONE
                                                                         : HS_ERR_INPUT_HTTP;
    case API_HTTP_SCAN_TARGET:
        if (c == ' ' && p->token_len > 0) {
            p->scan = API_HTTP_SCAN_VERSION;
            p->token_len = 0;
            return HS_ERR_NONE;
        }
        if (c <= 0x20 || c >= 0x7f) {
            return HS_ERR_INPUT_HTTP;
        }
        p->token_len++;
        return p->token_len <= API_SIGV4_TARGET_MAX ? HS_ERR_NONE : HS_ERR_INPUT_HTTP_TARGET;
    case API_HTTP_SCAN_VERSION:
        if (p->token_len < API_HTTP_PARSE_VERSION_LEN) {
            p->version[p->token_len++] = (char)c;
            return HS_ERR_NONE;
        }
        p->scan = API_HTTP_SCAN_LINE_LF;
        return c == '\r' ? api_http_version_check(p->version) : HS_ERR_INPUT_HTTP;
    case API_HTTP_SCAN_LINE_LF:
        p->scan = API_HTTP_SCAN_FIELD_START;
        return c == '\n' ? HS_ERR_NONE : HS_ERR_INPUT_HTTP;
    default:
        return HS_ERR_INPUT_HTTP;
    }
}

/* One byte of the header section; HS_ERR_NONE or the refusal. */
static enum hs_code api_http_scan_field(struct api_http_parse *p, unsigned char c)
{
    if (++p->head_len > API_HTTP_PARSE_HEAD_MAX) {
        return HS_ERR_INPUT_HTTP_HEADERS;
    }
    switch (p->scan) {
    case API_HTTP_SCAN_FIELD_START:
        if (c == '\r') {
            p->scan = API_HTTP_SCAN_END_LF;
            return HS_ERR_NONE;
        }
        /* SP or HT here is obs-fold; LF is a bare line ending. */
        if (!api_http_tchar(c)) {
            return HS_ERR_INPUT_HTTP;
        }
        p->scan = API_HTTP_SCAN_NAME;
        p->token_len = 1;
        return ++p->nlines <= API_SIGV4_HEADERS_MAX ? HS_ERR_NONE : HS_ERR_INPUT_HTTP_HEADERS;
    case API_HTTP_SCAN_NAME:
        if (c == ':') {
            p->scan = API_HTTP_SCAN_VALUE;
            p->token_len = 0;
            return HS_ERR_NONE;
        }
        if (!api_http_tchar(c)) {
            return HS_ERR_INPUT_HTTP;
        }
        return ++p->token_len <= API_SIGV4_HEADER_NAME_MAX ? HS_ERR_NONE
                                                           : HS_ERR_INPUT_HTTP_HEADERS;
    case API_HTTP_SCAN_VALUE:
        if (c == '\r') {
            p->scan = API_HTTP_SCAN_VALUE_LF;
            return HS_ERR_NONE;
        }
        if (!api_http_value_char(c)) {
            return HS_ERR_INPUT_HTTP;
        }
        return ++p->token_len <= API_SIGV4_HEADER_VALUE_MAX ? HS_ERR_NONE
                                                            : HS_ERR_INPUT_HTTP_HEADERS;
    case API_HTTP_SCAN_VALUE_LF:
        p->scan = API_HTTP_SCAN_FIELD_START;
        return c == '\n' ? HS_ERR_NONE : HS_ERR_INPUT_HTTP;
    case API_HTTP_SCAN_END_LF:
        p->scan = API_HTTP_SCAN_BODY;
        return c == '\n' ? HS_ERR_NONE : HS_ERR_INPUT_HTTP;
    default:
        return HS_ERR_INPUT_HTTP;
    }
}

/* Scans data up to the end of the head (or of data); fails at the first refused byte. */
/* Scans data up to the end of the head (or of data); at the first refused byte, returns its
 * code with *good the number of bytes before it. */
static enum hs_code api_http_scan_head(struct api_http_parse *p, const unsigned char *data,
                                       size_t len, size_t *good)
{
    for (size_t i = 0; i < len; i++) {
        enum hs_code code = p->scan < API_HTTP_SCAN_FIELD_START ? api_http_scan_line(p, data[i])
                                                                : api_http_scan_field(p, data[i]);
        if (code != HS_ERR_NONE) {
            *good = i;
            return code;
        }
        if (p->scan == API_HTTP_SCAN_BODY) {
            *good = i + 1; /* the head's last byte: http-parser decides the framing from it */
            return HS_ERR_NONE;
        }
    }
    *good = len;
    return HS_ERR_NONE;
}

/* The end of a chunk-size line (its LF): a chunk's data follows, or the last chunk's end. */
static enum hs_code api_http_chunk_start(struct api_http_parse *p, unsigned char c)
{
    if (c != '\n') {
        return HS_ERR_INPUT_HTTP;
    }
    p->chunk_line = 0;
    p->chunk_left = p->chunk_size;
    p->scan = p->chunk_size > 0 ? API_HTTP_SCAN_CHUNK_DATA : API_HTTP_SCAN_CHUNK_LAST_CR;
    return HS_ERR_NONE;
}

/* A byte in the chunk-size's hex digits: one more digit, or the end of the digits. */
static enum hs_code api_http_chunk_digit(struct api_http_parse *p, unsigned char c)
{
    int digit = OPENSSL_hexchar2int(c);
    if (digit >= 0) {
        if (p->chunk_line > API_HTTP_PARSE_CHUNK_DIGITS_MAX) {
            return HS_ERR_INPUT_HTTP;
        }
        p->chunk_size = p->chunk_size * 16 + (size_t)digit;
        return p->chunk_size <= API_BODY_MAX - p->body_total ? HS_ERR_NONE : HS_ERR_INPUT_TOO_LARGE;
    }
    if (p->chunk_line == 1) {
        return HS_ERR_INPUT_HTTP; /* no digit */
    }
    p->body_total += p->chunk_size;
    if (c == ';') {
        p->scan = API_HTTP_SCAN_CHUNK_EXT;
    } else if (c == '\r') {
        p->scan = API_HTTP_SCAN_CHUNK_SIZE_LF;
    } else {
        p->scan = API_HTTP_SCAN_CHUNK_BWS;
    }
    return c == ';' || c == '\r' || c == ' ' || c == '\t' ? HS_ERR_NONE : HS_ERR_INPUT_HTTP;
}

/* One byte of a chunk-size line: 1*HEXDIG [BWS] *( ";" chunk-ext ) CRLF, RFC 9112 §7.1.
 * Announced sizes are summed: a body over API_BODY_MAX is refused at the line that passes it,
 * before any of that chunk's data is read. */
static enum hs_code api_http_scan_chunk_line(struct api_http_parse *p, unsigned char c)
{
    if (++p->chunk_line > API_HTTP_PARSE_CHUNK_LINE_MAX) {
        return HS_ERR_INPUT_HTTP;
    }
    switch (p->scan) {
    case API_HTTP_SCAN_CHUNK_SIZE:
        return api_http_chunk_digit(p, c);
    case API_HTTP_SCAN_CHUNK_BWS:
        if (c == ';') {
            p->scan = API_HTTP_SCAN_CHUNK_EXT;
        }
        return c == ';' || c == ' ' || c == '\t' ? HS_ERR_NONE : HS_ERR_INPUT_HTTP;
    case API_HTTP_SCAN_CHUNK_EXT:
        if (c == '\r') {
            p->scan = API_HTTP_SCAN_CHUNK_SIZE_LF;
            return HS_ERR_NONE;
        }
        return api_http_value_char(c) ? HS_ERR_NONE : HS_ERR_INPUT_HTTP;
    case API_HTTP_SCAN_CHUNK_SIZE_LF:
        return api_http_chunk_start(p, c);
    default:
        return HS_ERR_INPUT_HTTP;
    }
}

/* Scans a chunked body up to its end (or of data), as api_http_scan_head does the head. */
static enum hs_code api_http_scan_chunked(struct api_http_parse *p, const unsigned char *data,
                                          size_t len, size_t *good)
{
    size_t i = 0;
    while (i < len && p->scan != API_HTTP_SCAN_DONE) {
        enum hs_code code = HS_ERR_NONE;
        unsigned char c = data[i];
        switch (p->scan) {
        case API_HTTP_SCAN_CHUNK_DATA: {
            size_t n = len - i < p->chunk_left ? len - i : p->chunk_left;
            p->chunk_left -= n;
            i += n;
            if (p->chunk_left == 0) {
                p->scan = API_HTTP_SCAN_CHUNK_DATA_CR;
            }
            continue;
        }
        case API_HTTP_SCAN_CHUNK_DATA_CR:
        case API_HTTP_SCAN_CHUNK_LAST_CR:
            code = c == '\r' ? HS_ERR_NONE : HS_ERR_INPUT_HTTP; /* a trailer field is refused */
            p->scan = p->scan == API_HTTP_SCAN_CHUNK_DATA_CR ? API_HTTP_SCAN_CHUNK_DATA_LF
                                                             : API_HTTP_SCAN_CHUNK_LAST_LF;
            break;
        case API_HTTP_SCAN_CHUNK_DATA_LF:
            code = c == '\n' ? HS_ERR_NONE : HS_ERR_INPUT_HTTP;
            p->scan = API_HTTP_SCAN_CHUNK_SIZE;
            p->chunk_size = 0;
            break;
        case API_HTTP_SCAN_CHUNK_LAST_LF:
            code = c == '\n' ? HS_ERR_NONE : HS_ERR_INPUT_HTTP;
            p->scan = API_HTTP_SCAN_DONE;
            break;
        default:
            code = api_http_scan_chunk_line(p, c);
            break;
        }
        if (code != HS_ERR_NONE) {
            *good = i;
            return code;
        }
        i++;
    }
    *good = i;
    return HS_ERR_NONE;
}

/* Our scan of the next bytes: the head, a chunked body, or nothing (a Content-Length body is
 * framed by http-parser alone). */
static enum hs_code api_http_scan(struct api_http_parse *p, const unsigned char *data, size_t len,
                                  size_t *good)
{
    if (p->scan < API_HTTP_SCAN_BODY) {
        return api_http_scan_head(p, data, len, good);
    }
    if (p->scan > API_HTTP_SCAN_BODY && p->scan < API_HTTP_SCAN_DONE) {
        return api_http_scan_chunked(p, data, len, good);
    }
    *good = len;
    return HS_ERR_NONE;
}

/* --- http-parser callbacks: 0 goes on, -1 stops with p->error set -------------------------- */

/* Records code and tells http-parser to stop. */
static int api_http_stop(struct api_http_parse *p, enum hs_code code)
{
    api_http_fail(p, code);
    return -1;
}

static int api_http_append(struct api_http_parse *p, const char *at, size_t n)
{
    if (n > 0 && hs_failed(hs_buf_put(p->arena, at, n))) {
        return api_http_stop(p, HS_ERR_INPUT_HTTP_HEADERS);
    }
    return 0;
}

static int api_http_terminate(struct api_http_parse *p)
{
    return api_http_append(p, "", 1);
}

static int api_http_on_url(http_parser *hp, const char *at, size_t n)
{
    struct api_http_parse *p = hp->data;
    p->last = API_HTTP_LAST_URL;
    return api_http_append(p, at, n);
}

static int api_http_on_field(http_parser *hp, const char *at, size_t n)
{
    struct api_http_parse *p = hp->data;
    if (p->head_done) {
        /* A trailer section after a chunked body: refused, as nothing here reads one. */
        return api_http_stop(p, HS_ERR_INPUT_HTTP);
    }
    if (p->last != API_HTTP_LAST_FIELD) {
        if (p->last == API_HTTP_LAST_NONE || api_http_terminate(p) != 0) {
            return api_http_stop(p, HS_ERR_INPUT_HTTP);
        }
        if (p->nfields >= API_SIGV4_HEADERS_MAX) {
            return api_http_stop(p, HS_ERR_INPUT_HTTP_HEADERS);
        }
        p->fields[p->nfields++] = (struct api_http_field){hs_buf_len(p->arena), 0};
        p->last = API_HTTP_LAST_FIELD;
    }
    return api_http_append(p, at, n);
}

static int api_http_on_value(http_parser *hp, const char *at, size_t n)
{
    struct api_http_parse *p = hp->data;
    if (p->last != API_HTTP_LAST_VALUE) {
        if (p->last != API_HTTP_LAST_FIELD || api_http_terminate(p) != 0) {
            return api_http_stop(p, HS_ERR_INPUT_HTTP);
        }
        p->fields[p->nfields - 1].value_off = hs_buf_len(p->arena);
        p->last = API_HTTP_LAST_VALUE;
    }
    return api_http_append(p, at, n);
}

/* value equals want (ASCII case-insensitive) once optional whitespace is trimmed. */
static bool api_http_value_is(const char *value, const char *want)
{
    size_t start = strspn(value, " \t");
    size_t end = strlen(value);
    while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t')) {
        end--;
    }
    return end - start == strlen(want) && strncasecmp(value + start, want, end - start) == 0;
}

static size_t api_http_count(const struct api_http_parse *p, const char *name, const char **last)
{
    size_t n = 0;
    for (size_t i = 0; i < p->nfields; i++) {
        if (strcasecmp(p->headers[i].name, name) == 0) {
            *last = p->headers[i].value;
            n++;
        }
    }
    return n;
}

/* The framing rules of RFC 9112 §3.2, §6.1 and §6.3 that http-parser leaves to us. */
static enum hs_code api_http_check_head(struct api_http_parse *p)
{
    const char *host = NULL;
    const char *te = NULL;
    const char *cl = NULL;
    const char *expect = NULL;
    const char *upgrade = NULL;
    size_t nhost = api_http_count(p, "host", &host);
    size_t nte = api_http_count(p, "transfer-encoding", &te);
    size_t ncl = api_http_count(p, "content-length", &cl);
    bool http11 = p->hp.http_minor == 1;
    if (nhost > 1 || (http11 && nhost == 0) || ncl > 1 || nte > 1 || (nte == 1 && ncl == 1)) {
        return HS_ERR_INPUT_HTTP;
    }
    if (nte == 1) {
        /* chunked must be the final coding (else the length is unknown: 400, §6.3 ¶4); any
         * coding before it is one we do not implement (501, §6.1). */
        const char *comma = strrchr(te, ',');
        if (!http11 || !api_http_value_is(comma != NULL ? comma + 1 : te, "chunked")) {
            return HS_ERR_INPUT_HTTP;
        }
        if (comma != NULL) {
            return HS_ERR_INPUT_HTTP_CODING;
        }
        p->scan = API_HTTP_SCAN_CHUNK_SIZE;
    }
    if (ncl == 1 && (p->hp.flags & F_CONTENTLENGTH) != 0 && p->hp.content_length > API_BODY_MAX) {
        return HS_ERR_INPUT_TOO_LARGE;
    }
    bool body = nte == 1 || ((p->hp.flags & F_CONTENTLENGTH) != 0 && p->hp.content_length > 0);
    p->expect_continue = http11 && body && api_http_count(p, "expect", &expect) == 1 &&
                         api_http_value_is(expect, "100-continue");
    p->keep_alive = api_http_count(p, "upgrade", &upgrade) == 0;
    return HS_ERR_NONE;
}

static int api_http_on_headers_complete(http_parser *hp)
{
    struct api_http_parse *p = hp->data;
    if (p->last == API_HTTP_LAST_FIELD || api_http_terminate(p) != 0 || p->nfields != p->nlines) {
        return api_http_stop(p, HS_ERR_INPUT_HTTP);
    }
    const char *base = (const char *)hs_buf_data(p->arena);
    for (size_t i = 0; i < p->nfields; i++) {
        p->headers[i] =
            (struct api_header){base + p->fields[i].name_off, base + p->fields[i].value_off};
    }
    p->head_done = true;
    enum hs_code code = api_http_check_head(p);
    return code == HS_ERR_NONE ? 0 : api_http_stop(p, code);
}

static int api_http_on_body(http_parser *hp, const char *at, size_t n)
{
    struct api_http_parse *p = hp->data;
    if (p->body == NULL) {
        p->body = hs_buf_new(API_BODY_MAX);
        if (p->body == NULL) {
            return api_http_stop(p, HS_ERR_NOMEM);
        }
    }
    if (n > API_BODY_MAX - hs_buf_len(p->body) || hs_failed(hs_buf_put(p->body, at, n))) {
        return api_http_stop(p, HS_ERR_INPUT_TOO_LARGE);
    }
    return 0;
}

static int api_http_on_message_complete(http_parser *hp)
{
    struct api_http_parse *p = hp->data;
    p->complete = true;
    p->keep_alive = p->keep_alive && http_should_keep_alive(hp) != 0;
    http_parser_pause(hp, 1); /* a pipelined request stays unread until the next reset */
    return 0;
}

static const http_parser_settings api_http_settings = {
    .on_url = api_http_on_url,
    .on_header_field = api_http_on_field,
    .on_header_value = api_http_on_value,
    .on_headers_complete = api_http_on_headers_complete,
    .on_body = api_http_on_body,
    .on_message_complete = api_http_on_message_complete,
};

/* http-parser's own refusals, in our codes: 431 for its header overflow, else 400 (among them
 * HPE_INVALID_TRANSFER_ENCODING, a request whose final coding is not chunked, §6.3 ¶4). */
static enum hs_code api_http_errno_code(enum http_errno e)
{
    return e == HPE_HEADER_OVERFLOW ? HS_ERR_INPUT_HTTP_HEADERS : HS_ERR_INPUT_HTTP;
}

void api_http_parse_reset(struct api_http_parse *p)
{
    struct hs_buf *arena = p->arena;
    hs_buf_free(p->body);
    hs_buf_reset(arena);
    memset(p, 0, sizeof(*p));
    p->arena = arena;
    http_parser_init(&p->hp, HTTP_REQUEST);
    p->hp.data = p;
}

struct api_http_parse *api_http_parse_new(void)
{
    struct api_http_parse *p = OPENSSL_zalloc(sizeof(*p));
    if (p == NULL) {
        return NULL;
    }
    p->arena = hs_buf_new(API_HTTP_PARSE_ARENA_MAX);
    if (p->arena == NULL) {
        OPENSSL_free(p);
        return NULL;
    }
    api_http_parse_reset(p);
    return p;
}

void api_http_parse_free(struct api_http_parse *p)
{
    if (p != NULL) {
        hs_buf_free(p->arena);
        hs_buf_free(p->body);
        OPENSSL_free(p);
    }
}

HS_RESULT api_http_parse_feed(struct api_http_parse *p, const unsigned char *data, size_t len,
                              size_t *used, bool *done)
{
    HS_ENSURE_REF(p);
    HS_ENSURE(data != NULL || len == 0, HS_ERR_INTERNAL);
    *used = 0;
    *done = false;
    HS_ENSURE(p->error == HS_ERR_NONE && !p->complete,
              p->error != HS_ERR_NONE ? p->error : HS_ERR_INTERNAL);
    if (len == 0) {
        return HS_OK; /* http-parser takes 0 bytes as the end of the stream */
    }
    p->started = true;
    /* http-parser gets the bytes our scan let through, even when it refused a later one, so
     * that the refusal (and its status) does not depend on how the bytes were cut into reads:
     * whichever of the two refuses the earliest byte decides. The scan stops at the end of the
     * head, so that http-parser has decided the framing (api_http_check_head) before the body's
     * bytes are scanned. */
    size_t off = 0;
    while (off < len) {
        size_t good = len - off;
        enum hs_code code = api_http_scan(p, data + off, len - off, &good);
        size_t n = good > 0 ? http_parser_execute(&p->hp, &api_http_settings,
                                                  (const char *)data + off, good)
                            : 0;
        enum http_errno e = HTTP_PARSER_ERRNO(&p->hp);
        HS_ENSURE(code == HS_ERR_NONE || e != HPE_OK, api_http_fail(p, code));
        if (e == HPE_PAUSED && p->complete) {
            *used = off + n;
            *done = true;
            return HS_OK;
        }
        HS_ENSURE(e == HPE_OK,
                  api_http_fail(p, p->error != HS_ERR_NONE ? p->error : api_http_errno_code(e)));
        HS_ENSURE(n == good && n > 0, api_http_fail(p, HS_ERR_INPUT_HTTP));
        off += n;
    }
    *used = len;
    return HS_OK;
}

bool api_http_parse_started(const struct api_http_parse *p)
{
    return p->started;
}

bool api_http_parse_take_continue(struct api_http_parse *p)
{
    bool c = p->expect_continue && !p->complete;
    p->expect_continue = false;
    return c;
}

void api_http_parse_message(const struct api_http_parse *p, struct api_http_message *out)
{
    *out = (struct api_http_message){
        .method = http_method_str((enum http_method)p->hp.method),
        .target = (const char *)hs_buf_data(p->arena),
        .headers = p->headers,
        .nheaders = p->nfields,
        .body = p->body != NULL && hs_buf_len(p->body) > 0 ? hs_buf_data(p->body) : NULL,
        .body_len = p->body != NULL ? hs_buf_len(p->body) : 0,
        .keep_alive = p->keep_alive,
    };
}
