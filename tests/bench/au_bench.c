/*
 * au_bench: CPU per authorizer event (hsmsign-authorizer, issue 12), without a network: a key
 * made here, published as a JWKS file, a token signed here; then N events through what the
 * Lambda loop does per event (au_event_parse, au_authz_decide: JWS parse, key lookup, signature
 * verify, claims; au_event_answer), and the signature verify alone. CPU time is
 * CLOCK_PROCESS_CPUTIME_ID. Prints one table row per algorithm.
 *   au_bench DIR [EVENTS]     (DIR: a writable directory for the JWKS and config files)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "authorizer/au_authz.h"
#include "authorizer/au_config.h"
#include "authorizer/au_event.h"
#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_log.h"

static double cpu_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void b64(struct hs_buf *b, const void *p, size_t n)
{
    if (hs_failed(hs_buf_put_b64url(b, p, n))) {
        abort();
    }
}

/* header.payload.signature for an ES256 or EdDSA key. */
static void make_token(EVP_PKEY *k, const char *alg, char *out, size_t cap)
{
    char header[128];
    char claims[512];
    long now = (long)time(NULL);
    HS_IGNORE(snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"bench\",\"typ\":\"JWT\"}",
                       alg));
    HS_IGNORE(snprintf(
        claims, sizeof(claims),
        "{\"iss\":\"https://hsmsign.bench.example\",\"sub\":\"arn:aws:iam::123456789012:role/"
        "bench\",\"aud\":\"https://api.bench.example\",\"iat\":%ld,\"nbf\":%ld,\"exp\":%ld,"
        "\"jti\":\"0123456789abcdef\",\"scope\":\"read\"}",
        now, now, now + 3600));
    struct hs_buf *t = hs_buf_new(4096);
    b64(t, header, strlen(header));
    HS_IGNORE(hs_buf_put_byte(t, '.'));
    b64(t, claims, strlen(claims));
    unsigned char sig[256];
    size_t sl = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ec = strcmp(alg, "ES256") == 0;
    if (EVP_DigestSignInit(ctx, NULL, ec ? EVP_sha256() : NULL, NULL, k) != 1 ||
        EVP_DigestSign(ctx, sig, &sl, hs_buf_data(t), hs_buf_len(t)) != 1) {
        abort();
    }
    EVP_MD_CTX_free(ctx);
    if (ec) {
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
        BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
        ECDSA_SIG_free(es);
        sl = 64;
    }
    HS_IGNORE(hs_buf_put_byte(t, '.'));
    b64(t, sig, sl);
    HS_IGNORE(snprintf(out, cap, "%.*s", (int)hs_buf_len(t), (const char *)hs_buf_data(t)));
    hs_buf_free(t);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        abort();
    }
}

static void jwk_text(EVP_PKEY *k, bool ec, char *out, size_t cap)
{
    unsigned char pub[128];
    size_t len = sizeof(pub);
    struct hs_buf *x = hs_buf_new(256);
    struct hs_buf *y = hs_buf_new(256);
    if (ec) {
        EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &len);
        b64(x, pub + 1, 32);
        b64(y, pub + 33, 32);
        HS_IGNORE(snprintf(
            out, cap,
            "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"bench\",\"use\":\"sig\","
            "\"x\":\"%.*s\",\"y\":\"%.*s\"}]}",
            (int)hs_buf_len(x), hs_buf_data(x), (int)hs_buf_len(y), hs_buf_data(y)));
    } else {
        EVP_PKEY_get_raw_public_key(k, pub, &len);
        b64(x, pub, len);
        HS_IGNORE(snprintf(
            out, cap,
            "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"bench\",\"x\":\"%.*s\"}]}",
            (int)hs_buf_len(x), hs_buf_data(x)));
    }
    hs_buf_free(x);
    hs_buf_free(y);
}

/* CPU us per signature verify alone, on the parsed token; -1 when one failed. */
static double verify_only(struct au_authz *a, const struct au_config *cfg, const char *token,
                          long n)
{
    struct au_jws jws;
    EVP_PKEY *pk = NULL;
    if (au_jws_parse(token, strlen(token), cfg->algorithms, &jws) != AU_OK ||
        au_keys_find(a->keys, jws.kid, jws.alg, time(NULL), &pk) != AU_OK) {
        abort();
    }
    long verified = 0;
    double t0 = cpu_us();
    for (long i = 0; i < n; i++) {
        verified += au_jws_verify(&jws, pk) == AU_OK;
    }
    double us = (cpu_us() - t0) / (double)n;
    au_jws_clear(&jws);
    return verified == n ? us : -1;
}

static void bench(const char *dir, const char *alg, long n)
{
    bool ec = strcmp(alg, "ES256") == 0;
    EVP_PKEY *k = ec ? EVP_EC_gen("P-256") : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    char path[1024];
    char cfg_path[1024];
    char text[4096];
    jwk_text(k, ec, text, sizeof(text));
    HS_IGNORE(snprintf(path, sizeof(path), "%s/bench-jwks-%s.json", dir, alg));
    write_file(path, text);
    HS_IGNORE(snprintf(cfg_path, sizeof(cfg_path), "%s/bench-config-%s.json", dir, alg));
    HS_IGNORE(
        snprintf(text, sizeof(text),
                 "{\"issuer\":\"https://hsmsign.bench.example\",\"audiences\":[\"https://api.bench."
                 "example\"],\"jwks\":{\"file\":\"%s\"},\"routes\":{\"GET /hello\":{\"scopes\":"
                 "[\"read\"]}}}",
                 path));
    write_file(cfg_path, text);
    char token[2048];
    make_token(k, alg, token, sizeof(token));
    char event[4096];
    HS_IGNORE(
        snprintf(event, sizeof(event),
                 "{\"type\":\"TOKEN\",\"authorizationToken\":\"Bearer %s\",\"methodArn\":\"arn:aws:"
                 "execute-api:eu-west-1:123456789012:abcdef1234/prod/GET/hello\"}",
                 token));
    static struct au_config cfg;
    struct au_authz a;
    if (hs_failed(au_config_load(cfg_path, &cfg)) || hs_failed(au_authz_init(&cfg, &a))) {
        fprintf(stderr, "au_bench: setup failed: %s\n", hs_error_last()->detail);
        exit(1);
    }
    long allowed = 0;
    double t0 = cpu_us();
    for (long i = 0; i < n; i++) {
        struct au_event *ev = NULL;
        struct hs_buf *answer = NULL;
        if (hs_failed(au_event_parse(event, strlen(event), &cfg, &ev))) {
            abort();
        }
        struct au_request rq = {
            .token = ev->token, .token_len = ev->token_len, .route = ev->route, .now = time(NULL)};
        struct au_grant g;
        enum au_reason r = au_authz_decide(&a, &rq, &g);
        allowed += r == AU_OK;
        if (hs_failed(au_event_answer(ev, r == AU_OK, &g, r, &answer))) {
            abort();
        }
        hs_buf_free(answer);
        au_event_free(ev);
    }
    double per_event = (cpu_us() - t0) / (double)n;
    double per_verify = verify_only(&a, &cfg, token, n);
    printf("| %-6s | %8ld | %8ld | %14.1f | %15.1f |\n", alg, n, allowed, per_event, per_verify);
    if (allowed != n || per_verify < 0) {
        fprintf(stderr, "au_bench: %s: not every event was allowed\n", alg);
        exit(1);
    }
    au_authz_clear(&a);
    EVP_PKEY_free(k);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("usage: au_bench DIR [EVENTS]\n", stderr);
        return 2;
    }
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 20000;
    hs_log_set_level(HS_LOG_ERROR);
    hs_log_set_stream(stderr);
    puts("| alg    |   events |  allowed | CPU us / event | CPU us / verify |");
    puts("|--------|----------|----------|----------------|-----------------|");
    bench(argv[1], "ES256", n);
    bench(argv[1], "EdDSA", n);
    return 0;
}
