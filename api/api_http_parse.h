/*
 * api_http_parse: one connection's HTTP/1.1 request parser (RFC 9112), without I/O: bytes in,
 * a complete request or an error code out. hsmsignd's event loop (api_http.c) feeds it what it
 * reads; the fuzz target http_parse_fuzz feeds it arbitrary bytes.
 *
 * The framing (request line, header fields, Content-Length, chunked decoding) is nodejs
 * http-parser 2.9 (Debian's libhttp-parser). Before a byte of the head reaches it, our own
 * scanner checks what http-parser tolerates or what we refuse on principle, so that a proxy in
 * front of us cannot frame a request differently (request smuggling):
 *   - the request line is exactly METHOD SP request-target SP HTTP/D.D CRLF (one space each, a
 *     token method, a target of visible ASCII), RFC 9112 §3;
 *   - every line ends in CRLF: a bare LF or a CR not followed by LF is refused (§2.2);
 *   - a header line starting with SP or HT (obs-fold, §5.2) is refused;
 *   - a field name is a token (RFC 9110 §5.1) directly followed by ':';
 *   - a field value holds no control character but HT (so no NUL, no DEL);
 * and once the head is complete: HTTP/1.1 needs exactly one Host (§3.2; more than one is
 * refused in any version), Content-Length at most once (even with equal values) and only
 * digits, Transfer-Encoding at most once, never with Content-Length nor in HTTP/1.0, with
 * "chunked" as its final coding (else 400, §6.3) and no other (else 501, §6.1). A chunked body
 * is framed by our scan as well, since Debian's http-parser is built without
 * HTTP_PARSER_STRICT and takes any two bytes for the CRLF after chunk data: chunk-size at most 8
 * hex digits, a chunk-size line (extensions included, no control characters but HT) at most
 * API_HTTP_PARSE_CHUNK_LINE_MAX bytes, CRLF after every chunk's data, and no trailer fields
 * (§7.1).
 *
 * Limits: the method API_SIGV4_METHOD_MAX bytes, the target API_SIGV4_TARGET_MAX bytes (414),
 * the header section API_HTTP_PARSE_HEAD_MAX bytes, API_SIGV4_HEADERS_MAX fields, a name
 * API_SIGV4_HEADER_NAME_MAX and a value API_SIGV4_HEADER_VALUE_MAX bytes (431); the body
 * API_BODY_MAX bytes (413), refused when Content-Length says so, before any of it is read, and
 * for a chunked body at the chunk-size line whose size takes the sum past the limit.
 */
#ifndef API_HTTP_PARSE_H
#define API_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "api/api_sigv4.h"
#include "common/hs_err.h"

#define API_HTTP_PARSE_HEAD_MAX (32 * 1024) /* bytes of the header section (after the line) */
#define API_HTTP_PARSE_BLANK_MAX 4          /* empty lines (CRLF) accepted before a request */
#define API_HTTP_PARSE_CHUNK_LINE_MAX 256   /* bytes of a chunk-size line, extensions included */

struct api_http_parse;

/* A complete request, lent by the parser until its next reset or free. Strings are
 * NUL-terminated; method is one of http-parser's static names; target is the request-target
 * exactly as received (SigV4 signs it as sent). */
struct api_http_message {
    const char *method;
    const char *target;
    const struct api_header *headers; /* in the order received */
    size_t nheaders;
    const unsigned char *body; /* NULL when body_len is 0; chunked bodies decoded */
    size_t body_len;
    bool keep_alive; /* false: the connection closes after the response (Connection: close,
                        HTTP/1.0 without keep-alive, an Upgrade request) */
};

/* A new parser waiting for the first byte of a request, or NULL when out of memory. Free it
 * with api_http_parse_free(). */
struct api_http_parse *api_http_parse_new(void);

/* Releases p (NULL accepted). */
void api_http_parse_free(struct api_http_parse *p);

/* Makes p ready for the next request on the same connection (after a response was sent). */
void api_http_parse_reset(struct api_http_parse *p);

/* Feeds len bytes of the connection. *used gets how many were consumed; *done is set when a
 * whole request was read: the bytes after it (a pipelined request) are not consumed and are fed
 * again after api_http_parse_reset(). Errors, each meaning "answer it and close the
 * connection": HS_ERR_INPUT_HTTP (400, bad syntax or framing), HS_ERR_INPUT_HTTP_TARGET (414),
 * HS_ERR_INPUT_HTTP_HEADERS (431), HS_ERR_INPUT_TOO_LARGE (413, body), HS_ERR_INPUT_HTTP_VERSION
 * (505), HS_ERR_INPUT_HTTP_CODING (501), HS_ERR_NOMEM. After an error p accepts nothing more
 * until reset. */
HS_RESULT api_http_parse_feed(struct api_http_parse *p, const unsigned char *data, size_t len,
                              size_t *used, bool *done);

/* True once any byte of the current request arrived (empty lines before it included). */
bool api_http_parse_started(const struct api_http_parse *p);

/* True once, when the head was complete with "Expect: 100-continue" and a body is still to
 * come: the caller then sends "HTTP/1.1 100 Continue" (RFC 9110 §10.1.1). Reading it clears it. */
bool api_http_parse_take_continue(struct api_http_parse *p);

/* Fills out with the request; only valid after api_http_parse_feed() set *done. */
void api_http_parse_message(const struct api_http_parse *p, struct api_http_message *out);

#endif /* API_HTTP_PARSE_H */
