#include "aws/aws_lambda_http.h"

#include <string.h>
#include <strings.h>

#include <http_parser.h>
#include <openssl/crypto.h>

/* The header whose value is being read. */
enum aws_lambda_http_field {
    AWS_LAMBDA_FIELD_OTHER = 0,
    AWS_LAMBDA_FIELD_ID,
    AWS_LAMBDA_FIELD_TRACE,
    AWS_LAMBDA_FIELD_DEADLINE,
};

#define AWS_LAMBDA_HTTP_NAME_MAX 64 /* bytes of a header name we compare (longer: another one) */

struct aws_lambda_http {
    http_parser parser;
    struct hs_buf *body; /* borrowed; NULL: dropped */
    struct aws_lambda_http_answer answer;
    char name[AWS_LAMBDA_HTTP_NAME_MAX + 1];
    size_t name_len; /* > AWS_LAMBDA_HTTP_NAME_MAX: too long to be one we keep */
    bool in_value;   /* the last callback was a value (a new name starts a new field) */
    enum aws_lambda_http_field field;
    size_t value_len;  /* bytes of the current kept value */
    bool seen[4];      /* per field: already sent once */
    bool refused[4];   /* per field: too long or repeated */
    size_t head_bytes; /* names and values so far */
    bool head_over;    /* the header section passed AWS_LAMBDA_HTTP_HEAD_MAX */
    bool bad_status;   /* a status code outside 100..599 */
    bool done;
    bool failed;
};

static char *aws_lambda_http_slot(struct aws_lambda_http *p, enum aws_lambda_http_field f,
                                  size_t *size)
{
    switch (f) {
    case AWS_LAMBDA_FIELD_ID:
        *size = sizeof(p->answer.request_id);
        return p->answer.request_id;
    case AWS_LAMBDA_FIELD_TRACE:
        *size = sizeof(p->answer.trace_id);
        return p->answer.trace_id;
    case AWS_LAMBDA_FIELD_DEADLINE:
        *size = sizeof(p->answer.deadline_ms);
        return p->answer.deadline_ms;
    case AWS_LAMBDA_FIELD_OTHER:
    default:
        *size = 0;
        return NULL;
    }
}

static int aws_lambda_http_count(struct aws_lambda_http *p, size_t n)
{
    p->head_bytes += n;
    if (p->head_bytes > AWS_LAMBDA_HTTP_HEAD_MAX) {
        p->head_over = true;
        return 1;
    }
    return 0;
}

/* Which kept field the complete name is (case-insensitive, RFC 9110 §5.1). */
static enum aws_lambda_http_field aws_lambda_http_which(const struct aws_lambda_http *p)
{
    static const struct {
        const char *name;
        enum aws_lambda_http_field field;
    } kept[] = {
        {"Lambda-Runtime-Aws-Request-Id", AWS_LAMBDA_FIELD_ID},
        {"Lambda-Runtime-Trace-Id", AWS_LAMBDA_FIELD_TRACE},
        {"Lambda-Runtime-Deadline-Ms", AWS_LAMBDA_FIELD_DEADLINE},
    };
    for (size_t i = 0;
         p->name_len <= AWS_LAMBDA_HTTP_NAME_MAX && i < sizeof(kept) / sizeof(kept[0]); i++) {
        if (strcasecmp(p->name, kept[i].name) == 0) {
            return kept[i].field;
        }
    }
    return AWS_LAMBDA_FIELD_OTHER;
}

static int aws_lambda_http_on_field(http_parser *hp, const char *at, size_t n)
{
    struct aws_lambda_http *p = hp->data;
    if (p->in_value) {
        p->in_value = false;
        p->name_len = 0;
    }
    if (p->name_len <= AWS_LAMBDA_HTTP_NAME_MAX && n <= AWS_LAMBDA_HTTP_NAME_MAX - p->name_len) {
        memcpy(p->name + p->name_len, at, n);
        p->name[p->name_len + n] = '\0';
    }
    p->name_len += n <= AWS_LAMBDA_HTTP_NAME_MAX ? n : AWS_LAMBDA_HTTP_NAME_MAX + 1;
    return aws_lambda_http_count(p, n);
}

static int aws_lambda_http_on_value(http_parser *hp, const char *at, size_t n)
{
    struct aws_lambda_http *p = hp->data;
    if (!p->in_value) {
        p->in_value = true;
        p->field = aws_lambda_http_which(p);
        p->value_len = 0;
        if (p->field != AWS_LAMBDA_FIELD_OTHER) {
            /* A kept header sent twice is believed in neither copy. */
            p->refused[p->field] = p->refused[p->field] || p->seen[p->field];
            p->seen[p->field] = true;
            size_t size = 0;
            aws_lambda_http_slot(p, p->field, &size)[0] = '\0';
        }
    }
    size_t size = 0;
    char *slot = aws_lambda_http_slot(p, p->field, &size);
    if (slot != NULL && !p->refused[p->field]) {
        if (n < size - p->value_len) {
            memcpy(slot + p->value_len, at, n);
            p->value_len += n;
            slot[p->value_len] = '\0';
        } else {
            p->refused[p->field] = true;
        }
    }
    return aws_lambda_http_count(p, n);
}

static int aws_lambda_http_on_headers(http_parser *hp)
{
    struct aws_lambda_http *p = hp->data;
    for (int f = AWS_LAMBDA_FIELD_ID; f <= AWS_LAMBDA_FIELD_DEADLINE; f++) {
        size_t size = 0;
        char *slot = aws_lambda_http_slot(p, (enum aws_lambda_http_field)f, &size);
        if (p->refused[f]) {
            slot[0] = '\0';
        }
    }
    /* http-parser takes one to three digits; RFC 9110 §15 has three, 1xx to 5xx. */
    if (hp->status_code < 100 || hp->status_code > 599) {
        p->bad_status = true;
        return -1; /* an error: 1 and 2 would mean "no body" to http-parser */
    }
    p->answer.status = (int)hp->status_code;
    return 0;
}

static int aws_lambda_http_on_body(http_parser *hp, const char *at, size_t n)
{
    struct aws_lambda_http *p = hp->data;
    if (p->body == NULL) {
        return 0;
    }
    size_t room = hs_buf_max(p->body) - hs_buf_len(p->body);
    if (n > room) {
        /* Keep what fits, then stop: the caller closes the connection. */
        if (room > 0 && hs_failed(hs_buf_put(p->body, at, room))) {
            p->failed = true;
            return 1;
        }
        p->answer.overflow = true;
        p->done = true;
        return 1;
    }
    if (hs_failed(hs_buf_put(p->body, at, n))) {
        p->failed = true;
        return 1;
    }
    return 0;
}

static int aws_lambda_http_on_complete(http_parser *hp)
{
    struct aws_lambda_http *p = hp->data;
    p->done = true;
    p->answer.keep_alive = http_should_keep_alive(hp) != 0;
    http_parser_pause(hp, 1);
    return 0;
}

static const http_parser_settings aws_lambda_http_settings = {
    .on_header_field = aws_lambda_http_on_field,
    .on_header_value = aws_lambda_http_on_value,
    .on_headers_complete = aws_lambda_http_on_headers,
    .on_body = aws_lambda_http_on_body,
    .on_message_complete = aws_lambda_http_on_complete,
};

struct aws_lambda_http *aws_lambda_http_new(void)
{
    struct aws_lambda_http *p = OPENSSL_zalloc(sizeof(*p));
    if (p != NULL) {
        aws_lambda_http_reset(p, NULL);
    }
    return p;
}

void aws_lambda_http_free(struct aws_lambda_http *p)
{
    OPENSSL_clear_free(p, sizeof(*p));
}

void aws_lambda_http_freep(struct aws_lambda_http **p)
{
    aws_lambda_http_free(*p);
}

void aws_lambda_http_reset(struct aws_lambda_http *p, struct hs_buf *body)
{
    memset(p, 0, sizeof(*p));
    http_parser_init(&p->parser, HTTP_RESPONSE);
    p->parser.data = p;
    p->body = body;
    if (body != NULL) {
        hs_buf_reset(body);
    }
}

HS_RESULT aws_lambda_http_feed(struct aws_lambda_http *p, const unsigned char *data, size_t len,
                               bool *done)
{
    HS_ENSURE_REF(p);
    HS_ENSURE_REF(done);
    HS_ENSURE(data != NULL || len == 0, HS_ERR_INTERNAL);
    *done = p->done;
    HS_ENSURE_MSG(!p->failed, HS_ERR_IO, "the Runtime API's answer was refused before");
    if (p->done) {
        /* Bytes after a complete answer: nothing was asked for them. */
        p->answer.keep_alive = p->answer.keep_alive && len == 0;
        return HS_OK;
    }
    size_t used =
        http_parser_execute(&p->parser, &aws_lambda_http_settings, (const char *)data, len);
    enum http_errno err = HTTP_PARSER_ERRNO(&p->parser);
    if (p->done) {
        if (p->answer.overflow || used < len) {
            p->answer.keep_alive = false;
        }
        *done = true;
        return HS_OK;
    }
    p->failed = true;
    HS_ENSURE_MSG(!p->head_over, HS_ERR_IO, "the Runtime API's header section is over %d bytes",
                  AWS_LAMBDA_HTTP_HEAD_MAX);
    HS_ENSURE_MSG(!p->bad_status, HS_ERR_IO, "the Runtime API answered status %u",
                  p->parser.status_code);
    HS_ENSURE_MSG(err == HPE_OK, HS_ERR_IO, "the Runtime API's answer is not HTTP/1.1: %s",
                  http_errno_name(err));
    HS_ENSURE_MSG(len > 0, HS_ERR_IO, "the Runtime API closed the connection inside an answer");
    HS_ENSURE(used == len, HS_ERR_IO);
    p->failed = false;
    return HS_OK;
}

const struct aws_lambda_http_answer *aws_lambda_http_get0_answer(const struct aws_lambda_http *p)
{
    return &p->answer;
}
