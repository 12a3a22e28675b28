/*
 * aws_lambda_http: the parser of the Lambda Runtime API's HTTP/1.1 answers (RFC 9112), without
 * I/O: bytes in, a status, the Lambda-Runtime-* headers aws_lambda_runtime reads and the body
 * out. aws_lambda_runtime feeds it what its socket reads; the fuzz target lambda_http_fuzz feeds
 * it arbitrary bytes.
 *
 * The framing (status line, header fields, Content-Length, chunked coding, a body that ends
 * with the connection) is nodejs http-parser 2.9 (Debian's libhttp-parser, which hsmsignd's own
 * server already links, api/api_http_parse.h), run in HTTP_RESPONSE mode.
 *
 * Limits: the header section AWS_LAMBDA_HTTP_HEAD_MAX bytes (names and values counted), each
 * header value kept (Lambda-Runtime-Aws-Request-Id, -Trace-Id, -Deadline-Ms) at most its
 * buffer's size less one byte: a longer one, or one sent twice, reads as absent (""); the body
 * at most its buffer's maximum: a longer one sets overflow and ends the answer there (the
 * connection must then be closed, its remaining bytes unread).
 */
#ifndef AWS_LAMBDA_HTTP_H
#define AWS_LAMBDA_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"

#define AWS_LAMBDA_HTTP_HEAD_MAX (16 * 1024) /* bytes of an answer's header section */
#define AWS_LAMBDA_HTTP_ID_MAX 128           /* bytes of Lambda-Runtime-Aws-Request-Id we keep */
#define AWS_LAMBDA_HTTP_TRACE_MAX 512        /* bytes of Lambda-Runtime-Trace-Id we keep */
#define AWS_LAMBDA_HTTP_DEADLINE_MAX 15      /* bytes of Lambda-Runtime-Deadline-Ms we keep */

/* What one answer said; strings NUL-terminated, "" when absent or refused as above. */
struct aws_lambda_http_answer {
    int status;      /* the status code, 100..599 */
    bool keep_alive; /* the connection may carry the next request */
    bool overflow;   /* the body was over its buffer's maximum (kept: what fit) */
    char request_id[AWS_LAMBDA_HTTP_ID_MAX + 1];
    char trace_id[AWS_LAMBDA_HTTP_TRACE_MAX + 1];
    char deadline_ms[AWS_LAMBDA_HTTP_DEADLINE_MAX + 1];
};

struct aws_lambda_http;

/* A parser waiting for the first byte of an answer, or NULL when out of memory. Free it with
 * aws_lambda_http_free(). */
struct aws_lambda_http *aws_lambda_http_new(void);

/* Releases p (NULL accepted). */
void aws_lambda_http_free(struct aws_lambda_http *p);
void aws_lambda_http_freep(struct aws_lambda_http **p);

/* Makes p ready for the next answer; its body goes into body (borrowed until the answer is
 * done; reset here), or is read and dropped when body is NULL. */
void aws_lambda_http_reset(struct aws_lambda_http *p, struct hs_buf *body);

/* Feeds len bytes of the connection (len 0: the peer closed it, which ends a body framed by the
 * connection's end). *done is set once the whole answer was read, or its body overflowed.
 * Errors: HS_ERR_IO (not HTTP/1.x, a status outside 100..599, bad framing, a header section over
 * AWS_LAMBDA_HTTP_HEAD_MAX, the connection closed inside an answer), HS_ERR_NOMEM. After an
 * error p accepts nothing more until reset. */
HS_RESULT aws_lambda_http_feed(struct aws_lambda_http *p, const unsigned char *data, size_t len,
                               bool *done);

/* Lends what the answer said (valid until the next reset or free); meaningful once *done. */
const struct aws_lambda_http_answer *aws_lambda_http_get0_answer(const struct aws_lambda_http *p);

#endif /* AWS_LAMBDA_HTTP_H */
