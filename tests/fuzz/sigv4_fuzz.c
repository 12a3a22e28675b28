/*
 * sigv4_fuzz: AWS Signature Version 4 verification of a whole request (api_sigv4_verify, as
 * api_auth_iam calls it for hsmsignd's own HTTP transport), and the route path the router takes
 * from the same request-target (api_sigv4_route_path).
 *
 * Input framing, an HTTP/1.1 request without the version (so seeds are readable):
 *   METHOD SP REQUEST-TARGET LF
 *   Name: value LF            (each header; up to API_SIGV4_HEADERS_MAX + 2 are passed on)
 *   LF
 *   body                      (the rest, at most API_BODY_MAX bytes as api_route allows)
 * A NUL byte ends a field early, as in the C strings api_route receives (hsmsignd's HTTP
 * parser refuses a NUL in the head outright). A header line without ':' is a name with an
 * empty value; one space after ':' is dropped, the verifier trims the rest.
 *
 * The key set and the clock are fixed: the credentials of tests/unit/api_sigv4_vectors.h
 * (region eu-central-1, service execute-api, one plain key and one with a session token) and
 * now = 2024-02-29T23:59:59Z, max skew 300 s; tests/fuzz/gen_sigv4_seeds.py signs its seeds
 * with botocore for this clock, so the corpus starts from requests that verify.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_route.h"
#include "api/api_sigv4.h"
#include "common/hs_defer.h"
#include "common/hs_secret.h"
#include "tests/fuzz/fuzz_support.h"

#define SIGV4_FUZZ_NOW 1709251199 /* 2024-02-29T23:59:59Z */
#define SIGV4_FUZZ_HEADERS (API_SIGV4_HEADERS_MAX + 2)

static struct api_sigv4_key sigv4_fuzz_keys[2];
static const struct api_sigv4_config sigv4_fuzz_cfg = {"eu-central-1", "execute-api", 300,
                                                       sigv4_fuzz_keys, 2};

static void sigv4_fuzz_secret(const char *s, const struct hs_secret **out)
{
    struct hs_secret *secret = NULL;
    if (hs_failed(hs_secret_from_bytes(s, strlen(s), &secret))) {
        fuzz_abort();
    }
    *out = secret;
}

static void sigv4_fuzz_keys_init(void)
{
    if (sigv4_fuzz_keys[0].access_key_id != NULL) {
        return;
    }
    struct api_sigv4_key *k = sigv4_fuzz_keys;
    k[0].access_key_id = "AKIAHSMSIGNVECTOR001";
    sigv4_fuzz_secret("vEcToRsEcReT/0123456789+abcdefghijklmnoP", &k[0].secret_access_key);
    k[0].principal_arn = "arn:aws:iam::123456789012:user/plain";
    k[1].access_key_id = "ASIAHSMSIGNVECTOR002";
    sigv4_fuzz_secret("sEsSiOnSeCrEt/9876543210+ABCDEFGHIJKLMNOp", &k[1].secret_access_key);
    sigv4_fuzz_secret("IQoJb3JpZ2luX2VjEXAMPLE//session+token/with=padding==", &k[1].session_token);
    k[1].principal_arn = "arn:aws:sts::123456789012:assumed-role/ci/session";
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    sigv4_fuzz_keys_init();
    return 0;
}

/* One parsed request; the strings are owned and freed by sigv4_fuzz_clear. */
struct sigv4_fuzz_req {
    char *method;
    char *target;
    char *names[SIGV4_FUZZ_HEADERS];
    char *values[SIGV4_FUZZ_HEADERS];
    struct api_header headers[SIGV4_FUZZ_HEADERS];
    size_t n;
};

static void sigv4_fuzz_clear(struct sigv4_fuzz_req *r)
{
    free(r->method);
    free(r->target);
    for (size_t i = 0; i < r->n; i++) {
        free(r->names[i]);
        free(r->values[i]);
    }
}

static void sigv4_fuzz_headers(struct fuzz_input *in, struct sigv4_fuzz_req *r)
{
    for (;;) {
        bool eof = false;
        char *line = fuzz_take_line(in, &eof);
        if (eof || line[0] == '\0' || r->n == SIGV4_FUZZ_HEADERS) {
            free(line);
            return;
        }
        char *colon = strchr(line, ':');
        const char *value = "";
        if (colon != NULL) {
            *colon = '\0';
            value = colon[1] == ' ' ? colon + 2 : colon + 1;
        }
        r->names[r->n] = fuzz_strndup((const uint8_t *)line, strlen(line));
        r->values[r->n] = fuzz_strndup((const uint8_t *)value, strlen(value));
        free(line);
        r->headers[r->n] = (struct api_header){r->names[r->n], r->values[r->n]};
        r->n++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sigv4_fuzz_keys_init();
    struct fuzz_input in = {data, size};
    struct sigv4_fuzz_req r = {0};
    bool eof = false;
    char *line = fuzz_take_line(&in, &eof);
    char *sp = strchr(line, ' ');
    r.target =
        fuzz_strndup((const uint8_t *)(sp != NULL ? sp + 1 : ""), sp != NULL ? strlen(sp + 1) : 0);
    if (sp != NULL) {
        *sp = '\0';
    }
    r.method = line;
    sigv4_fuzz_headers(&in, &r);
    if (in.n <= API_BODY_MAX) {
        struct api_sigv4_request req = {r.method, r.target, r.headers,     r.n,
                                        in.p,     in.n,     SIGV4_FUZZ_NOW};
        const struct api_sigv4_key *key = NULL;
        hs_result res = fuzz_debug(api_sigv4_verify(&sigv4_fuzz_cfg, &req, &key));
        /* On success the key lent is one of the configured ones; on failure none is. */
        if (hs_failed(res) ? key != NULL
                           : (key != &sigv4_fuzz_keys[0] && key != &sigv4_fuzz_keys[1])) {
            fuzz_abort();
        }
        HS_DEFER(struct hs_buf *path = hs_buf_new(API_SIGV4_TARGET_MAX + 1), hs_buf_freep);
        if (path == NULL) {
            fuzz_abort();
        }
        HS_IGNORE(api_sigv4_route_path(r.target, path));
    }
    sigv4_fuzz_clear(&r);
    return 0;
}
