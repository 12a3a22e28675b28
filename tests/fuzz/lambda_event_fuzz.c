/*
 * lambda_event_fuzz: API Gateway invocation events as the Lambda runtime decodes them
 * (api_lambda.c: api_lambda_event_parse on the event body, then api_lambda_event_request),
 * payload format 2.0 (HTTP APIs) and 1.0 (REST APIs), and the proxy response encoded for it.
 *
 * The input is the event JSON as the Runtime API returns it. A request that decodes is checked
 * against the promises of api_lambda_event.h (a target starting with '/', at most
 * API_LAMBDA_HEADERS_MAX headers, each of bounded size; no field over its bound), then a
 * response carrying its body (binary, so base64 as a CRL is sent) is encoded.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_lambda_event.h"
#include "common/hs_buf.h"
#include "common/hs_defer.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    HS_DEFER(struct api_lambda_event *ev = NULL, api_lambda_event_freep);
    if (hs_failed(fuzz_debug(api_lambda_event_parse((const char *)data, size, &ev)))) {
        return 0;
    }
    enum api_lambda_payload v = api_lambda_event_payload(ev);
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
