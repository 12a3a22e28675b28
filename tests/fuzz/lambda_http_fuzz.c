/*
 * lambda_http_fuzz: the Lambda Runtime API client's answer parser (aws_lambda_http: nodejs
 * http-parser in HTTP_RESPONSE mode, bounded header section, the kept Lambda-Runtime-* values
 * and a bounded body) on a raw byte stream, as aws_lambda_runtime feeds it from its socket.
 *
 * Input: byte 0 picks how the stream is cut into reads (1 + byte0 bytes at a time, 255: all at
 * once), byte 1 the body buffer's maximum (1 + byte1 * 16 bytes); the rest is the stream, after
 * which the connection ends (a feed of 0 bytes) unless the answer was already complete.
 * Oracles: the body stays within its maximum, every kept value is NUL-terminated within its
 * buffer, a complete answer has a status of 100..599, every refusal is HS_ERR_IO (or
 * HS_ERR_NOMEM), and the outcome is the same whether the stream comes in one read or cut into
 * small ones: the refusal, and for an answer taken its status, flags, values and body.
 */
#include <string.h>

#include "aws/aws_lambda_http.h"
#include "common/hs_defer.h"
#include "tests/fuzz/fuzz_support.h"

struct lambda_http_outcome {
    bool done;
    enum hs_code error;
    struct aws_lambda_http_answer answer;
    size_t body_len;
    unsigned char body[1 + 255 * 16];
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

static void lambda_http_fuzz_run(const uint8_t *data, size_t size, size_t step, size_t body_max,
                                 struct lambda_http_outcome *out)
{
    HS_DEFER(struct aws_lambda_http *p = aws_lambda_http_new(), aws_lambda_http_freep);
    HS_DEFER(struct hs_buf *body = hs_buf_new(body_max), hs_buf_freep);
    if (p == NULL || body == NULL) {
        fuzz_abort();
    }
    aws_lambda_http_reset(p, body);
    memset(out, 0, sizeof(*out));
    size_t off = 0;
    hs_result r = HS_OK;
    /* Reads as a socket would give them; once the answer is complete, the rest in one read
     * (it makes the connection unfit for another request, not the answer different). */
    while (!hs_failed(r) && off < size) {
        size_t n = out->done ? size - off : (size - off < step ? size - off : step);
        r = aws_lambda_http_feed(p, data + off, n, &out->done);
        off += n;
    }
    if (!hs_failed(r) && !out->done) {
        r = aws_lambda_http_feed(p, NULL, 0, &out->done);
    }
    out->error = hs_failed(r) ? r.code : HS_ERR_NONE;
    hs_error_clear();
    out->answer = *aws_lambda_http_get0_answer(p);
    out->body_len = hs_buf_len(body);
    if (out->body_len > body_max || out->body_len > sizeof(out->body)) {
        fuzz_abort();
    }
    if (out->body_len > 0) {
        memcpy(out->body, hs_buf_data(body), out->body_len);
    }
}

static void lambda_http_fuzz_check(const struct lambda_http_outcome *o)
{
    const struct aws_lambda_http_answer *a = &o->answer;
    if (strnlen(a->request_id, sizeof(a->request_id)) == sizeof(a->request_id) ||
        strnlen(a->trace_id, sizeof(a->trace_id)) == sizeof(a->trace_id) ||
        strnlen(a->deadline_ms, sizeof(a->deadline_ms)) == sizeof(a->deadline_ms)) {
        fuzz_abort();
    }
    if (o->error != HS_ERR_NONE && o->error != HS_ERR_IO && o->error != HS_ERR_NOMEM) {
        fuzz_abort();
    }
    if (o->error == HS_ERR_NONE && o->done && (a->status < 100 || a->status > 599)) {
        fuzz_abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    size_t step = data[0] == 255 ? size : (size_t)data[0] + 1;
    size_t body_max = 1 + (size_t)data[1] * 16;
    static struct lambda_http_outcome cut;
    static struct lambda_http_outcome whole;
    lambda_http_fuzz_run(data + 2, size - 2, step, body_max, &cut);
    lambda_http_fuzz_run(data + 2, size - 2, size, body_max, &whole);
    lambda_http_fuzz_check(&cut);
    lambda_http_fuzz_check(&whole);
    if (cut.error != whole.error) {
        fuzz_abort();
    }
    /* After a refusal nothing of the answer is used (and what http-parser handed out before
     * the bad byte depends on the reads): the rest is compared for answers taken. */
    if (cut.error == HS_ERR_NONE &&
        (cut.done != whole.done || cut.answer.status != whole.answer.status ||
         cut.answer.keep_alive != whole.answer.keep_alive ||
         cut.answer.overflow != whole.answer.overflow ||
         strcmp(cut.answer.request_id, whole.answer.request_id) != 0 ||
         strcmp(cut.answer.trace_id, whole.answer.trace_id) != 0 ||
         strcmp(cut.answer.deadline_ms, whole.answer.deadline_ms) != 0 ||
         cut.body_len != whole.body_len || memcmp(cut.body, whole.body, cut.body_len) != 0)) {
        fuzz_abort();
    }
    return 0;
}
