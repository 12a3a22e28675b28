/*
 * lambda_event_fuzz: API Gateway invocation events as the Lambda runtime decodes them
 * (api_lambda.c: api_lambda_event_parse on the event body, then api_lambda_event_request),
 * payload format 2.0 (HTTP APIs) and 1.0 (REST APIs), and the proxy response encoded for it.
 *
 * The input is the event JSON as the Runtime API returns it. A request that decodes is checked
 * against the promises of api_lambda_event.h (a target starting with '/', at most
 * API_LAMBDA_HEADERS_MAX headers, each of bounded size; no field over its bound), then a
 * response carrying its body (binary, so base64 as a CRL is sent) is encoded.
 *
 * SQS events (the worker's Lambda mode): every record has a messageId of 1..API_LAMBDA_SQS_ID_MAX
 * bytes; a valid one has a body within API_LAMBDA_SQS_BODY_MAX, an invalid one none; the records
 * are dispatched to a handler that fails every other valid record, and the partial batch response
 * must be a JSON object naming exactly the invalid and failed records, in order.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_lambda_event.h"
#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "tests/fuzz/fuzz_support.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

static void lambda_fuzz_check(const struct api_request *req)
{
    if (req->method == NULL || req->target == NULL || req->target[0] != '/' ||
        strlen(req->target) > API_LAMBDA_TARGET_MAX || req->nheaders > API_LAMBDA_HEADERS_MAX ||
        (req->body == NULL && req->body_len > 0) || req->transport != API_TRANSPORT_GATEWAY) {
        fuzz_abort();
    }
    for (size_t i = 0; i < req->nheaders; i++) {
        const struct api_header *h = &req->headers[i];
        if (h->name == NULL || h->value == NULL || h->name[0] == '\0' ||
            strlen(h->name) > API_LAMBDA_HEADER_NAME_MAX ||
            strlen(h->value) > API_LAMBDA_HEADER_VALUE_MAX) {
            fuzz_abort();
        }
    }
    if ((req->principal != NULL && strlen(req->principal) > API_LAMBDA_ARN_MAX) ||
        (req->client_cert_pem != NULL && strlen(req->client_cert_pem) > API_LAMBDA_CERT_PEM_MAX)) {
        fuzz_abort();
    }
}

/* The response side: the request's body sent back as a binary body (base64 in the payload). */
static void lambda_fuzz_respond(const struct api_request *req)
{
    struct api_response resp = {
        .status = 200, .content_type = "application/pkix-crl", .binary = true};
    if (req->body_len <= API_RESPONSE_MAX) {
        resp.body = hs_buf_new(API_RESPONSE_MAX);
        if (resp.body == NULL || hs_failed(hs_buf_put(resp.body, req->body, req->body_len))) {
            fuzz_abort();
        }
    }
    HS_DEFER(struct hs_buf *payload = NULL, hs_buf_freep);
    if (hs_failed(api_lambda_response_encode(&resp, "0123456789abcdef", &payload))) {
        fuzz_abort(); /* a body within API_RESPONSE_MAX always fits the payload */
    }
    api_response_clear(&resp);
}

/* Fails every other record it is given (and checks what it is given). */
static HS_RESULT lambda_fuzz_sqs_handler(void *arg, const struct api_lambda_sqs_record *rec)
{
    size_t *calls = arg;
    if (!rec->valid || rec->body == NULL || strlen(rec->body) != rec->body_len) {
        fuzz_abort();
    }
    HS_ENSURE((*calls)++ % 2 == 0, HS_ERR_STORE_UNAVAILABLE);
    return HS_OK;
}

/* The failures the response names, in order: the invalid records and every other valid one. */
static void lambda_fuzz_sqs_expect(const struct api_lambda_event *ev, json_object *list)
{
    size_t valid = 0;
    size_t j = 0;
    for (size_t i = 0; i < api_lambda_sqs_count(ev); i++) {
        const struct api_lambda_sqs_record *rec = api_lambda_sqs_record(ev, i);
        bool fails = !rec->valid || valid++ % 2 == 1;
        if (!fails) {
            continue;
        }
        json_object *item = json_object_array_get_idx(list, j++);
        json_object *id = NULL;
        if (item == NULL || !json_object_object_get_ex(item, "itemIdentifier", &id) ||
            strcmp(json_object_get_string(id), rec->message_id) != 0) {
            fuzz_abort();
        }
    }
    if (j != json_object_array_length(list)) {
        fuzz_abort();
    }
}

static void lambda_fuzz_sqs(const struct api_lambda_event *ev)
{
    size_t n = api_lambda_sqs_count(ev);
    if (n < 1 || n > API_LAMBDA_SQS_RECORDS_MAX) {
        fuzz_abort();
    }
    for (size_t i = 0; i < n; i++) {
        const struct api_lambda_sqs_record *rec = api_lambda_sqs_record(ev, i);
        size_t id_len = rec->message_id != NULL ? strlen(rec->message_id) : 0;
        if (id_len < 1 || id_len > API_LAMBDA_SQS_ID_MAX || rec->source_arn == NULL ||
            (rec->valid && (rec->body == NULL || rec->body_len > API_LAMBDA_SQS_BODY_MAX)) ||
            (!rec->valid && rec->body != NULL)) {
            fuzz_abort();
        }
    }
    size_t calls = 0;
    size_t failed = 0;
    struct api_lambda_sqs_handler h = {.fn = lambda_fuzz_sqs_handler, .arg = &calls};
    HS_DEFER(struct hs_buf *out = NULL, hs_buf_freep);
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    json_object *list = NULL;
    if (hs_failed(api_lambda_sqs_dispatch(ev, &h, &failed, &out)) ||
        hs_failed(hs_json_parse_object((const char *)hs_buf_data(out), hs_buf_len(out),
                                       API_LAMBDA_SQS_RESPONSE_MAX, 4, &doc)) ||
        !json_object_object_get_ex(doc, "batchItemFailures", &list) ||
        !json_object_is_type(list, json_type_array) || json_object_array_length(list) != failed) {
        fuzz_abort();
    }
    lambda_fuzz_sqs_expect(ev, list);
    struct api_request req;
    if (!hs_failed(api_lambda_event_request((struct api_lambda_event *)ev, &req))) {
        fuzz_abort(); /* an SQS event is no HTTP request */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    HS_DEFER(struct api_lambda_event *ev = NULL, api_lambda_event_freep);
    if (hs_failed(fuzz_debug(api_lambda_event_parse((const char *)data, size, &ev)))) {
        return 0;
    }
    enum api_lambda_payload v = api_lambda_event_payload(ev);
    if (v == API_LAMBDA_PAYLOAD_SQS) {
        lambda_fuzz_sqs(ev);
        return 0;
    }
    if (v != API_LAMBDA_PAYLOAD_V1 && v != API_LAMBDA_PAYLOAD_V2) {
        fuzz_abort();
    }
    struct api_request req;
    memset(&req, 0, sizeof(req));
    if (hs_failed(fuzz_debug(api_lambda_event_request(ev, &req)))) {
        return 0;
    }
    lambda_fuzz_check(&req);
    lambda_fuzz_respond(&req);
    return 0;
}
