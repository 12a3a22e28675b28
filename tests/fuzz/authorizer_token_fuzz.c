/*
 * authorizer_token_fuzz: what hsmsign-authorizer reads from the outside (authorizer/): bearer
 * tokens (au_jws_parse, au_jws_verify, au_claims_check), API Gateway authorizer events and the
 * answers built for them (au_event_parse, au_event_answer), JWK Sets (au_jwks_parse) and its
 * config (au_config_parse).
 *
 * Input: one mode byte, then the bytes for that parser:
 *   0  a token, checked against the fixed JWKS below at a fixed time. Its keys' private halves
 *      were thrown away when they were made, so a signature that verifies is a forgery: the
 *      target aborts on AU_OK from au_jws_verify. The claims are checked whatever the
 *      signature said (to reach that parser without a key).
 *   1  an event; one that parses must have a route and a bounded token, and its answer (allow
 *      and deny) must be JSON that round-trips.
 *   2  a JWK Set; one that parses holds at most AU_JWKS_KEYS_MAX keys, each with a key and kid.
 *   3  a config; one that parses is within its documented bounds.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "authorizer/au_config.h"
#include "authorizer/au_event.h"
#include "authorizer/au_jwks.h"
#include "authorizer/au_verify.h"
#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "tests/fuzz/fuzz_support.h"

static const char fuzz_jwks[] =
    "{\"keys\": [{\"kid\": \"fuzz-p256\", \"kty\": \"EC\", \"crv\": \"P-256\", \"x\": "
    "\"wYPQZY0kmfJqF4AtMO_HnPXSVVvIvv5v3flZFdGrGpQ\", \"y\": "
    "\"aXnIA71bk-ms-WS1CX8Z02wj9_Lx_4kP0SImMM_-8zg\"}, {\"kid\": \"fuzz-ed\", \"kty\": \"OKP\", "
    "\"crv\": \"Ed25519\", \"x\": \"SQrcuCt4gqRCVBPrhV3n0HmrHXPhdaiga-ksZmKhcEw\"}]}";
static const char fuzz_config[] =
    "{\"issuer\": \"https://hsmsign.fuzz.example\", \"audiences\": [\"https://api.fuzz.example\"], "
    "\"leeway_seconds\": 60, \"jwks\": {\"file\": \"/nonexistent\"}, "
    "\"routes\": {\"GET /hello\": {\"scopes\": [\"read\"]}}}";
static struct au_jwks *jwks;
static struct au_config cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    if (hs_failed(au_jwks_parse(fuzz_jwks, strlen(fuzz_jwks), &jwks)) || jwks->n != 2 ||
        hs_failed(au_config_parse(fuzz_config, strlen(fuzz_config), &cfg))) {
        fuzz_abort();
    }
    return 0;
}

static void fuzz_token(const char *p, size_t n)
{
    HS_DEFER(struct au_jws jws = {0}, au_jws_clear);
    enum au_reason r = au_jws_parse(p, n, cfg.algorithms, &jws);
    if (r != AU_OK) {
        if (r > AU_INTERNAL) {
            fuzz_abort();
        }
        return;
    }
    if ((jws.alg & cfg.algorithms) == 0 || jws.kid[0] == '\0' || jws.payload == NULL ||
        jws.sig == NULL || jws.signing_input_len >= n) {
        fuzz_abort();
    }
    EVP_PKEY *k = NULL;
    if (au_jwks_find(jwks, jws.kid, jws.alg, &k) == AU_JWKS_FOUND &&
        au_jws_verify(&jws, k) == AU_OK) {
        fuzz_abort(); /* nobody holds these private keys */
    }
    struct au_grant g;
    r = au_claims_check(&jws, &cfg, "GET /hello", (time_t)1800000000, &g);
    if (r == AU_OK && (g.sub[0] == '\0' || strstr(g.scope, "read") == NULL)) {
        fuzz_abort();
    }
}

static void fuzz_answer(const struct au_event *ev, bool allow)
{
    struct au_grant g = {.sub = "s", .kid = "k"};
    HS_DEFER(struct hs_buf *a = NULL, hs_buf_freep);
    if (hs_failed(au_event_answer(ev, allow, &g, allow ? AU_OK : AU_EXPIRED, &a))) {
        fuzz_abort(); /* everything in an answer is bounded by the event's bounds */
    }
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    if (hs_failed(hs_json_parse_object((const char *)hs_buf_data(a), hs_buf_len(a), AU_ANSWER_MAX,
                                       HS_JSON_DEPTH_MAX, &doc))) {
        fuzz_abort();
    }
}

static void fuzz_event(const char *p, size_t n)
{
    HS_DEFER(struct au_event *ev = NULL, au_event_freep);
    if (hs_failed(au_event_parse(p, n, &cfg, &ev))) {
        return;
    }
    if (ev->route[0] == '\0' ||
        (ev->token != NULL && (ev->token_len == 0 || ev->token_len > AU_TOKEN_MAX)) ||
        (ev->token != NULL && ev->token_garbled) ||
        (ev->kind != AU_EVENT_HTTP_V2 && ev->resource[0] == '\0') ||
        (ev->client_cert_pem != NULL && strlen(ev->client_cert_pem) > AU_CERT_PEM_MAX)) {
        fuzz_abort();
    }
    fuzz_answer(ev, true);
    fuzz_answer(ev, false);
}

static void fuzz_jwks_doc(const char *p, size_t n)
{
    HS_DEFER(struct au_jwks *set = NULL, au_jwks_freep);
    if (hs_failed(au_jwks_parse(p, n, &set))) {
        return;
    }
    if (set->n > AU_JWKS_KEYS_MAX) {
        fuzz_abort();
    }
    for (size_t i = 0; i < set->n; i++) {
        if (set->keys[i].pkey == NULL || set->keys[i].kid[0] == '\0') {
            fuzz_abort();
        }
    }
}

static void fuzz_config_doc(const char *p, size_t n)
{
    static struct au_config c;
    if (hs_failed(au_config_parse(p, n, &c))) {
        return;
    }
    if (c.leeway_s < 0 || c.leeway_s > AU_LEEWAY_MAX || c.n_audiences == 0 ||
        c.n_audiences > AU_AUDIENCES_MAX || c.n_routes > AU_ROUTES_MAX || c.algorithms == 0 ||
        c.jwks.kind < AU_JWKS_FILE || c.jwks.kind > AU_JWKS_SSM) {
        fuzz_abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 4) {
    case 0:
        fuzz_token(p, n);
        break;
    case 1:
        fuzz_event(p, n);
        break;
    case 2:
        fuzz_jwks_doc(p, n);
        break;
    default:
        fuzz_config_doc(p, n);
        break;
    }
    hs_error_clear();
    return 0;
}
