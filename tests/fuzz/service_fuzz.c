/*
 * service_fuzz: the whole service, end to end. LLVMFuzzerInitialize runs
 * tests/fuzz/service_fuzz_setup.sh once into a new temporary directory (a SoftHSM2 token made
 * as the tests make theirs, an EC P-256 CA and ES256 / RS256 JWT keys made by the key ceremony,
 * a SQLite inventory, three SigV4 access keys, a trusted mTLS proxy and a policy), builds the
 * service from that config exactly as hsmsignd does (api_config_load, api_service_new), and
 * removes the directory at exit. Every input becomes one request (or two) answered by
 * api_route(), signing for real with C_Sign on the token.
 *
 * Input: byte 0 picks the form (b0 % 4), the rest is the form's:
 *   0  an API Gateway invocation event (payload 1.0 or 2.0 JSON), decoded as the Lambda runtime
 *      does (api_lambda_event_parse, api_lambda_event_request; a request over a bound answered
 *      413); the principal is the event's requestContext.
 *   1  an HTTP request, "METHOD TARGET\n" "Name: value\n"... "\n" body (as sigv4_fuzz), for
 *      hsmsignd's own transport from 127.0.0.1 (the trusted proxy). (b0 >> 2) % 4 picks who
 *      signs it with SigV4 (tests/fuzz/fuzz_sigv4.h, not api_sigv4.c): the device, the admin,
 *      the stranger, or nobody (sent as it is). The signer drops the headers it writes itself
 *      and adds Host when there is none, so that authentication passes and the routes are
 *      reached; (b0 >> 4) & 1 signs only Host and the x-amz-* headers.
 *   2  a certificate request the harness completes: lines CN, SANs ("DNS:x,IP:y,email:z,URI:u";
 *      another type is taken as DNS), profile, ttl_hours, then one byte for what follows and the
 *      rest. The harness makes the CSR with those names and one of its keys ((b0 >> 2) % 3:
 *      P-256, Ed25519, RSA-2048), signed, so the name and policy checks are reached, and sends
 *      {"csr", "profile", "ttl_hours"} to POST /v1/certificates as the device, over HTTP
 *      ((b0 >> 4) & 1 == 0) or as a payload 2.0 event. After a 200, the byte after ttl_hours
 *      picks a second request on the new certificate (% 4): none, GET its status, revoke it
 *      (the rest is the body), or POST /v1/tokens with it as the mTLS client certificate (the
 *      rest is the audience); (byte >> 2) % 3 picks who asks (device, admin, stranger).
 *   3  a token request: lines audience, ttl_seconds, alg; sent to POST /v1/tokens by the
 *      device over HTTP, by the device in a payload 2.0 event, or with the harness's own client
 *      certificate through the proxy header ((b0 >> 2) % 3).
 *
 * Oracle (abort on violation), on every answer:
 *   - status 200 or a documented 4xx (400, 401, 403, 404, 405, 413, 415); a 5xx is a finding. An
 *     error is exactly {"error", "message", "request_id" (this request's), ["reason"],
 *     ["detail"]} with string values; a 200 is the documented success shape of its route.
 *   - 200 to POST /v1/certificates: the certificate is in the inventory under its serial
 *     (looked up through the store API on a second connection) with the SHA-256 of its DER, is
 *     signed by the issuing CA's key (X509_verify) and chains to the root (X509_STORE at the
 *     request's time), certifies the CSR's key with the CSR's CN and exactly the CSR's SANs,
 *     and those are within the policy (checked here by its meaning, not by api_policy.c): CN
 *     "fuzz-*", DNS one label (not "*") before ".fuzz.example", email exactly one '@' and the
 *     domain fuzz.example, URI spiffe://fuzz.example/ without dot segments, IP in 10/8,
 *     lifetime within 24 h, a DNS SAN for the server profile.
 *   - 200 to POST /v1/tokens: a JWS (compact) whose kid names a key of the JWK Set the service
 *     publishes, whose signature verifies with that key (libcrypto), with iss the configured
 *     issuer, an allowed audience, and exp - iat = expires_in within the policy's maximum.
 *   - 200 to GET status / revoke: the record is in the inventory (revoked after a revoke);
 *     GET /v1/crl: a DER CRL signed by the issuing CA.
 */
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "api/api_config.h"
#include "api/api_lambda_event.h"
#include "api/api_route.h"
#include "api/api_service.h"
#include "common/hs_json.h"
#include "common/hs_secret.h"
#include "signer/sgn_cert.h"
#include "store/st_inventory.h"
#include "tests/fuzz/fuzz_sigv4.h"
#include "tests/fuzz/fuzz_support.h"

#ifndef HS_FUZZ_SETUP
#error "HS_FUZZ_SETUP (the setup script) must be defined by the build"
#endif
#ifndef HS_FUZZ_KEYCEREMONY
#error "HS_FUZZ_KEYCEREMONY (the keyceremony binary) must be defined by the build"
#endif

#define SF_ACCT "arn:aws:iam::123456789012"
#define SF_DEVICE SF_ACCT ":role/fuzz-device"
#define SF_REGION "eu-west-1"
#define SF_ISSUER "https://hsmsign.fuzz.example"
#define SF_CERT_TTL_MAX (24 * 3600L)
#define SF_TOKEN_TTL_MAX 600
#define SF_HEADERS (API_SIGV4_HEADERS_MAX + 8)
#define SF_JWKS_MAX 8

/* Who signs: the config's three access keys. */
struct sf_who {
    const char *akid;
    const char *file; /* secret file under out/ */
    const char *principal;
    char secret[64];
};

static struct sf_who sf_whos[3] = {
    {"AKIAFUZZSERVICE00001", "device.secret", SF_DEVICE, {0}},
    {"AKIAFUZZSERVICE00002", "admin.secret", SF_ACCT ":role/pki-admin", {0}},
    {"AKIAFUZZSERVICE00003", "stranger.secret", SF_ACCT ":role/stranger", {0}},
};

struct sf_jwk {
    char kid[128];
    char alg[16];
    EVP_PKEY *pub;
};

static struct {
    char dir[256];
    time_t now;
    struct api_service *svc;
    struct st_inventory *inv; /* the oracle's own connection to the inventory */
    X509 *ca;                 /* the issuing CA */
    X509 *root;
    X509_STORE *store;
    struct sf_jwk jwks[SF_JWKS_MAX];
    size_t njwks;
    EVP_PKEY *keys[3]; /* the CSR keys: P-256, Ed25519, RSA-2048 */
    char *client_pem;  /* the harness's own client certificate (CN=fuzz-mtls) */
} sf;

/* --- set-up and tear-down ------------------------------------------------------------------ */

static int sf_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void sf_remove_dir(void)
{
    if (sf.dir[0] != '\0') {
        nftw(sf.dir, sf_rm, 16, FTW_DEPTH | FTW_PHYS);
        sf.dir[0] = '\0';
    }
}

static void sf_cleanup(void)
{
    api_service_free(sf.svc);
    sf.svc = NULL;
    st_inventory_close(sf.inv);
    sf.inv = NULL;
    X509_free(sf.ca);
    X509_free(sf.root);
    X509_STORE_free(sf.store);
    for (size_t i = 0; i < sf.njwks; i++) {
        EVP_PKEY_free(sf.jwks[i].pub);
    }
    for (size_t i = 0; i < 3; i++) {
        EVP_PKEY_free(sf.keys[i]);
    }
    free(sf.client_pem);
    sf_remove_dir();
}

static void sf_die(const char *what)
{
    const struct hs_error *e = hs_error_last();
    fprintf(stderr, "service_fuzz: set-up failed: %s (%s: %s)\n", what, hs_code_name(e->code),
            e->detail);
    ERR_print_errors_fp(stderr);
    sf_cleanup();
    abort();
}

static void sf_path(const char *rel, char out[512])
{
    if (snprintf(out, 512, "%s/%s", sf.dir, rel) >= 512) {
        sf_die("path too long");
    }
}

static void sf_run_setup(void)
{
    char *argv[] = {(char *)HS_FUZZ_SETUP, sf.dir, (char *)HS_FUZZ_KEYCEREMONY, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    /* The ceremony's progress lines are not the fuzzer's output. */
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    int status = 0;
    int rc = posix_spawn(&pid, HS_FUZZ_SETUP, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        sf_die("service_fuzz_setup.sh");
    }
}

static X509 *sf_read_cert(const char *rel)
{
    char path[512];
    sf_path(rel, path);
    FILE *f = fopen(path, "r");
    X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f != NULL) {
        fclose(f);
    }
    if (x == NULL) {
        sf_die(rel);
    }
    return x;
}

static void sf_read_secret(struct sf_who *w)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/out/%s", sf.dir, w->file);
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(w->secret, 1, sizeof(w->secret) - 1, f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    if (n == 0) {
        sf_die(w->file);
    }
    w->secret[n] = '\0';
}

/* --- base64url and JSON helpers ------------------------------------------------------------ */

/* Decodes base64url (no padding) into a new buffer (free()); NULL when it is not base64url. */
static unsigned char *sf_b64url(const char *s, size_t n, size_t *out_len)
{
    size_t padded = (n + 3) / 4 * 4;
    char *t = malloc(padded + 1);
    unsigned char *out = malloc(padded / 4 * 3 + 1);
    if (t == NULL || out == NULL) {
        fuzz_abort();
    }
    for (size_t i = 0; i < padded; i++) {
        char c = i < n ? s[i] : '=';
        t[i] = c == '-' ? '+' : c == '_' ? '/' : c;
        if (i < n && (c == '+' || c == '/' || c == '=')) {
            free(t);
            free(out);
            return NULL;
        }
    }
    int len = EVP_DecodeBlock(out, (const unsigned char *)t, (int)padded);
    free(t);
    if (len < 0 || n % 4 == 1) {
        free(out);
        return NULL;
    }
    *out_len = (size_t)len - (padded - n); /* EVP_DecodeBlock counts the padding as zeros */
    return out;
}

static const char *sf_str(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}

/* Whether obj has only the keys listed (NULL-terminated) and all the first nreq of them. */
static bool sf_keys(json_object *obj, const char *const *keys, size_t nreq)
{
    if (!json_object_is_type(obj, json_type_object)) {
        return false;
    }
    size_t i = 0;
    for (; keys[i] != NULL; i++) {
        if (i < nreq && !json_object_object_get_ex(obj, keys[i], NULL)) {
            return false;
        }
    }
    json_object_object_foreach(obj, k, v)
    {
        (void)v;
        bool known = false;
        for (size_t j = 0; j < i; j++) {
            known = known || strcmp(k, keys[j]) == 0;
        }
        if (!known) {
            return false;
        }
    }
    return true;
}

/* One JSON value of exactly n bytes, or NULL. */
static json_object *sf_parse(const void *p, size_t n)
{
    json_tokener *tok = json_tokener_new();
    if (tok == NULL) {
        fuzz_abort();
    }
    json_object *doc = json_tokener_parse_ex(tok, p, (int)n);
    if (doc != NULL && json_tokener_get_parse_end(tok) != n) {
        json_object_put(doc);
        doc = NULL;
    }
    json_tokener_free(tok);
    return doc;
}

/* A broken invariant: says which, removes the temporary directory (the token, the inventory)
 * and aborts. */
#define SF_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "service_fuzz: " __VA_ARGS__);                                         \
            fputc('\n', stderr);                                                                   \
            sf_remove_dir();                                                                       \
            fuzz_abort();                                                                          \
        }                                                                                          \
    } while (0)

/* --- the published JWK Set, read independently --------------------------------------------- */

static EVP_PKEY *sf_jwk_pkey(json_object *k)
{
    const char *kty = sf_str(k, "kty");
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *n = NULL;
    BIGNUM *e = NULL;
    unsigned char *a = NULL;
    unsigned char *b = NULL;
    size_t alen = 0;
    size_t blen = 0;
    OSSL_PARAM *params = NULL;
    unsigned char point[65] = {4}; /* uncompressed; the builder keeps a pointer to it */
    if (kty != NULL && strcmp(kty, "EC") == 0) {
        const char *x = sf_str(k, "x");
        const char *y = sf_str(k, "y");
        a = x != NULL ? sf_b64url(x, strlen(x), &alen) : NULL;
        b = y != NULL ? sf_b64url(y, strlen(y), &blen) : NULL;
        if (a != NULL && b != NULL && alen == 32 && blen == 32) {
            memcpy(point + 1, a, 32);
            memcpy(point + 33, b, 32);
            OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 65);
            ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        }
    } else if (kty != NULL && strcmp(kty, "RSA") == 0) {
        const char *ns = sf_str(k, "n");
        const char *es = sf_str(k, "e");
        a = ns != NULL ? sf_b64url(ns, strlen(ns), &alen) : NULL;
        b = es != NULL ? sf_b64url(es, strlen(es), &blen) : NULL;
        if (a != NULL && b != NULL) {
            n = BN_bin2bn(a, (int)alen, NULL);
            e = BN_bin2bn(b, (int)blen, NULL);
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
            ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        }
    }
    params = ctx != NULL ? OSSL_PARAM_BLD_to_param(bld) : NULL;
    if (params == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        pkey = NULL;
    }
    OSSL_PARAM_free(params);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    free(a);
    free(b);
    return pkey;
}

static void sf_jwks_load(const struct api_response *resp)
{
    if (resp->status != 200 || resp->body == NULL) {
        sf_die("GET /.well-known/jwks.json");
    }
    json_object *doc = sf_parse(hs_buf_data(resp->body), hs_buf_len(resp->body));
    json_object *keys = NULL;
    if (doc == NULL || !json_object_object_get_ex(doc, "keys", &keys) ||
        !json_object_is_type(keys, json_type_array)) {
        sf_die("the JWK Set");
    }
    for (size_t i = 0; i < json_object_array_length(keys) && sf.njwks < SF_JWKS_MAX; i++) {
        json_object *k = json_object_array_get_idx(keys, i);
        const char *kid = sf_str(k, "kid");
        const char *alg = sf_str(k, "alg");
        EVP_PKEY *pub = sf_jwk_pkey(k);
        if (kid == NULL || alg == NULL || pub == NULL || strlen(kid) >= 128 || strlen(alg) >= 16) {
            sf_die("a JWK of the set");
        }
        struct sf_jwk *j = &sf.jwks[sf.njwks++];
        memcpy(j->kid, kid, strlen(kid) + 1);
        memcpy(j->alg, alg, strlen(alg) + 1);
        j->pub = pub;
    }
    json_object_put(doc);
    if (sf.njwks == 0) {
        sf_die("an empty JWK Set");
    }
}

/* --- requests ------------------------------------------------------------------------------ */

/* A request under construction; strings owned. */
struct sf_req {
    char *method;
    char *target;
    char *names[SF_HEADERS];
    char *values[SF_HEADERS];
    struct api_header headers[SF_HEADERS];
    size_t n;
    unsigned char *body;
    size_t body_len;
};

static void sf_req_clear(struct sf_req *r)
{
    free(r->method);
    free(r->target);
    for (size_t i = 0; i < r->n; i++) {
        free(r->names[i]);
        free(r->values[i]);
    }
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static char *sf_dup(const char *s)
{
    return fuzz_strndup((const uint8_t *)s, strlen(s));
}

static void sf_add_header(struct sf_req *r, const char *name, const char *value)
{
    if (r->n == SF_HEADERS) {
        return;
    }
    r->names[r->n] = sf_dup(name);
    r->values[r->n] = sf_dup(value);
    r->headers[r->n] = (struct api_header){r->names[r->n], r->values[r->n]};
    r->n++;
}

static void sf_set_body(struct sf_req *r, const void *p, size_t n)
{
    free(r->body);
    r->body = malloc(n > 0 ? n : 1);
    if (r->body == NULL) {
        fuzz_abort();
    }
    if (n > 0) {
        memcpy(r->body, p, n);
    }
    r->body_len = n;
}

static bool sf_signer_owned(const char *name)
{
    static const char *const owned[] = {"authorization", "x-amz-date", "date",
                                        "x-amz-security-token", "x-amz-content-sha256"};
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
        if (strcasecmp(name, owned[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Signs r as who (SigV4, at the service's clock): drops what the signer writes, adds Host when
 * missing, X-Amz-Date and Authorization. */
static void sf_sign(struct sf_req *r, const struct sf_who *who, bool minimal)
{
    size_t w = 0;
    bool host = false;
    for (size_t i = 0; i < r->n; i++) {
        if (sf_signer_owned(r->names[i])) {
            free(r->names[i]);
            free(r->values[i]);
            continue;
        }
        host = host || strcasecmp(r->names[i], "host") == 0;
        r->names[w] = r->names[i];
        r->values[w] = r->values[i];
        r->headers[w] = (struct api_header){r->names[w], r->values[w]};
        w++;
    }
    r->n = w;
    if (!host) {
        sf_add_header(r, "Host", "hsmsign.fuzz.example");
    }
    char amz_date[FUZZ_SIGV4_DATE_LEN + 1];
    fuzz_sigv4_amz_date(sf.now, amz_date);
    sf_add_header(r, "X-Amz-Date", amz_date);
    const struct fuzz_sigv4_cred cred = {who->akid, who->secret, SF_REGION, "execute-api"};
    const struct fuzz_sigv4_request sr = {r->method, r->target, r->headers,
                                          r->n,      r->body,   r->body_len};
    struct fuzz_str authz = {0};
    fuzz_sigv4_authorization(&sr, &cred, amz_date, minimal, false, &authz);
    sf_add_header(r, "Authorization", authz.p);
    free(authz.p);
}

/* --- the oracle ---------------------------------------------------------------------------- */

static bool sf_is_route(const char *method, const char *path, const char *want_method,
                        const char *want_path)
{
    return strcmp(method, want_method) == 0 && strcmp(path, want_path) == 0;
}

/* Whether path is /v1/certificates/{serial}[suffix]; *serial (len) gets the segment. */
static bool sf_is_serial_route(const char *path, const char *suffix, const char **serial,
                               size_t *len)
{
    static const char prefix[] = "/v1/certificates/";
    if (strncmp(path, prefix, sizeof(prefix) - 1) != 0) {
        return false;
    }
    const char *s = path + sizeof(prefix) - 1;
    size_t n = strcspn(s, "/");
    if (n == 0 || strcmp(s + n, suffix) != 0) {
        return false;
    }
    *serial = s;
    *len = n;
    return true;
}

static void sf_check_error(json_object *doc, const char *req_id)
{
    static const char *const keys[] = {"error", "message", "request_id", "reason", "detail", NULL};
    SF_CHECK(sf_keys(doc, keys, 3), "an error body is not {error, message, request_id, ...}");
    json_object_object_foreach(doc, k, v)
    {
        SF_CHECK(json_object_is_type(v, json_type_string), "error member %s is not a string", k);
    }
    SF_CHECK(strcmp(sf_str(doc, "request_id"), req_id) == 0, "error request_id is not ours");
    SF_CHECK(sf_str(doc, "error")[0] != '\0' && sf_str(doc, "message")[0] != '\0',
             "empty error code or message");
}

/* The lowercase hex of a serial as the inventory writes it (no leading zero octets). */
static void sf_serial_hex(const X509 *x, char out[ST_INV_SERIAL_MAX + 1])
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    SF_CHECK(hex != NULL && strlen(hex) <= ST_INV_SERIAL_MAX, "serial");
    size_t i = 0;
    for (; hex[i] != '\0'; i++) {
        out[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] - 'A' + 'a' : hex[i]);
    }
    out[i] = '\0';
    /* BN_bn2hex writes whole octets, so "0a..." keeps a zero nibble but never a zero octet. */
    OPENSSL_free(hex);
    BN_free(bn);
}

static bool sf_in_10_8(const ASN1_OCTET_STRING *ip)
{
    return ASN1_STRING_length(ip) == 4 && ASN1_STRING_get0_data(ip)[0] == 10;
}

/* The policy of service_fuzz_setup.sh, by its meaning. */
static void sf_check_name_policy(const GENERAL_NAME *gn)
{
    int type = 0;
    const ASN1_STRING *s = GENERAL_NAME_get0_value(gn, &type);
    const char *v = (const char *)ASN1_STRING_get0_data(s);
    size_t n = (size_t)ASN1_STRING_length(s);
    SF_CHECK(type == GEN_IPADD || memchr(v, '\0', n) == NULL, "a SAN with a NUL");
    switch (type) {
    case GEN_DNS: {
        static const char dom[] = ".fuzz.example";
        size_t d = sizeof(dom) - 1;
        SF_CHECK(n > d && strncasecmp(v + n - d, dom, d) == 0 && memchr(v, '.', n - d) == NULL &&
                     !(n - d == 1 && v[0] == '*'),
                 "DNS SAN %.*s is outside *.fuzz.example (one label, no wildcard)", (int)n, v);
        break;
    }
    case GEN_EMAIL: {
        const char *at = memchr(v, '@', n);
        SF_CHECK(at != NULL && at > v && memchr(at + 1, '@', n - (size_t)(at + 1 - v)) == NULL &&
                     (size_t)(v + n - at - 1) == strlen("fuzz.example") &&
                     strncasecmp(at + 1, "fuzz.example", strlen("fuzz.example")) == 0,
                 "email SAN %.*s is not local@fuzz.example", (int)n, v);
        break;
    }
    case GEN_URI: {
        static const char pre[] = "spiffe://fuzz.example/";
        size_t p = sizeof(pre) - 1;
        SF_CHECK(n >= p && memcmp(v, pre, p) == 0, "URI SAN %.*s is outside spiffe://fuzz.example/",
                 (int)n, v);
        /* No dot segment in the path (RFC 3986 §3.3), before any query or fragment. */
        size_t end = p + strcspn(v + p, "?#");
        end = end < n ? end : n;
        size_t i = p - 1;
        while (i < end) {
            size_t j = i + 1;
            while (j < end && v[j] != '/') {
                j++;
            }
            size_t len = j - i - 1;
            SF_CHECK(!(len == 1 && v[i + 1] == '.') &&
                         !(len == 2 && v[i + 1] == '.' && v[i + 2] == '.'),
                     "URI SAN %.*s has a dot segment", (int)n, v);
            i = j;
        }
        break;
    }
    case GEN_IPADD:
        SF_CHECK(sf_in_10_8(s), "IP SAN outside 10.0.0.0/8");
        break;
    default:
        SF_CHECK(false, "a SAN of type %d the policy has no patterns for", type);
    }
}

static const char *sf_cn(const X509_NAME *name, char out[256])
{
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (i < 0) {
        return NULL;
    }
    const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    int n = ASN1_STRING_length(s);
    SF_CHECK(n >= 0 && n < 256, "CN length");
    memcpy(out, ASN1_STRING_get0_data(s), (size_t)n);
    out[n] = '\0';
    return out;
}

static void sf_check_chain(X509 *cert)
{
    SF_CHECK(X509_verify(cert, X509_get0_pubkey(sf.ca)) == 1, "the certificate's signature does "
                                                              "not verify with the CA key");
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    SF_CHECK(ctx != NULL && untrusted != NULL && sk_X509_push(untrusted, sf.ca) > 0, "nomem");
    SF_CHECK(X509_STORE_CTX_init(ctx, sf.store, cert, untrusted) == 1, "X509_STORE_CTX_init");
    X509_STORE_CTX_set_time(ctx, 0, sf.now);
    int ok = X509_verify_cert(ctx);
    SF_CHECK(ok == 1, "the certificate does not chain to the root: %s",
             X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
}

/* The certificate answers to its CSR: same key, same CN, same SANs, all within the policy. */
static void sf_check_against_csr(X509 *cert, const char *csr_pem, const char *profile)
{
    BIO *bio = BIO_new_mem_buf(csr_pem, -1);
    X509_REQ *csr = bio != NULL ? PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL) : NULL;
    SF_CHECK(csr != NULL, "a 200 for a CSR libcrypto cannot read");
    SF_CHECK(X509_REQ_verify(csr, X509_REQ_get0_pubkey(csr)) == 1,
             "a 200 for a CSR whose signature does not verify");
    SF_CHECK(EVP_PKEY_eq(X509_get0_pubkey(cert), X509_REQ_get0_pubkey(csr)) == 1,
             "the certificate's key is not the CSR's");
    char a[256];
    char b[256];
    const char *cn_cert = sf_cn(X509_get_subject_name(cert), a);
    const char *cn_csr = sf_cn(X509_REQ_get_subject_name(csr), b);
    SF_CHECK((cn_cert == NULL) == (cn_csr == NULL) && (cn_cert == NULL || strcmp(a, b) == 0),
             "the certificate's CN is not the CSR's");
    SF_CHECK(X509_NAME_entry_count(X509_get_subject_name(cert)) == (cn_cert != NULL ? 1 : 0),
             "the subject has more than the CN");
    SF_CHECK(cn_cert == NULL || strncmp(a, "fuzz-", 5) == 0, "CN %s is outside fuzz-*", a);

    GENERAL_NAMES *want = NULL;
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
    int idx = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);
    if (idx >= 0) {
        want = X509V3_EXT_d2i(X509v3_get_ext(exts, idx));
    }
    GENERAL_NAMES *got = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    int nwant = want != NULL ? sk_GENERAL_NAME_num(want) : 0;
    int ngot = got != NULL ? sk_GENERAL_NAME_num(got) : 0;
    SF_CHECK(nwant == ngot, "%d SANs certified, the CSR asked %d", ngot, nwant);
    bool dns = false;
    for (int i = 0; i < ngot; i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(got, i);
        SF_CHECK(GENERAL_NAME_cmp(g, sk_GENERAL_NAME_value(want, i)) == 0,
                 "SAN %d differs from the CSR's", i);
        sf_check_name_policy(g);
        dns = dns || g->type == GEN_DNS;
    }
    SF_CHECK(strcmp(profile, "client") == 0 || (strcmp(profile, "server") == 0 && dns),
             "profile %s (a server certificate needs a DNS SAN)", profile);
    GENERAL_NAMES_free(want);
    GENERAL_NAMES_free(got);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(csr);
    BIO_free(bio);
}

/* The serial of the last certificate issued, for a follow-up request. */
static char sf_last_serial[ST_INV_SERIAL_MAX + 1];
static char *sf_last_pem;

static void sf_check_cert(json_object *doc, const struct sf_req *r)
{
    static const char *const keys[] = {"certificate", "chain",     "serial", "profile",
                                       "not_before",  "not_after", NULL};
    SF_CHECK(sf_keys(doc, keys, 6), "a 200 to POST /v1/certificates is not the documented shape");
    const char *pem = sf_str(doc, "certificate");
    const char *serial = sf_str(doc, "serial");
    const char *profile = sf_str(doc, "profile");
    SF_CHECK(pem != NULL && serial != NULL && profile != NULL && sf_str(doc, "chain") != NULL,
             "certificate, serial, profile or chain is not a string");
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *cert = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    SF_CHECK(cert != NULL, "the certificate is not PEM");
    char hex[ST_INV_SERIAL_MAX + 1];
    sf_serial_hex(cert, hex);
    SF_CHECK(strcmp(hex, serial) == 0, "serial %s is not the certificate's %s", serial, hex);

    /* (i) in the inventory, with the SHA-256 of this DER. */
    struct st_cert_record rec;
    hs_result got = sf.inv->ops->get(sf.inv, serial, &rec);
    SF_CHECK(!hs_failed(got), "serial %s is not in the inventory (%s)", serial,
             hs_code_name(got.code));
    unsigned char md[32];
    unsigned int mdlen = 0;
    SF_CHECK(X509_digest(cert, EVP_sha256(), md, &mdlen) == 1 && mdlen == 32, "digest");
    SF_CHECK(memcmp(md, rec.cert_sha256, 32) == 0, "the inventory's SHA-256 is another DER's");
    SF_CHECK(rec.kind == ST_KIND_X509 && rec.status == ST_CERT_GOOD &&
                 strcmp(rec.profile, profile) == 0,
             "the inventory record's kind, status or profile");
    /* (ii) signed by the CA, chaining to the root. */
    sf_check_chain(cert);
    /* (iii) what the CSR asked, within the policy. */
    /* The body as the service read it (hs_json, as api_body.c does), for the CSR it signed. */
    json_object *req = NULL;
    HS_IGNORE(hs_json_parse_object((const char *)r->body, r->body_len, API_BODY_MAX,
                                   HS_JSON_DEPTH_MAX, &req));
    const char *csr = req != NULL ? sf_str(req, "csr") : NULL;
    SF_CHECK(csr != NULL, "a 200 without a csr string in the request");
    sf_check_against_csr(cert, csr, profile);
    const ASN1_TIME *nb = X509_get0_notBefore(cert);
    const ASN1_TIME *na = X509_get0_notAfter(cert);
    int days = 0;
    int secs = 0;
    SF_CHECK(ASN1_TIME_diff(&days, &secs, nb, na) == 1 &&
                 (long)days * 86400 + secs <= SF_CERT_TTL_MAX + SGN_BACKDATE_S,
             "lifetime over the policy's 24 h");
    json_object_put(req);
    memcpy(sf_last_serial, serial, strlen(serial) + 1);
    free(sf_last_pem);
    sf_last_pem = sf_dup(pem);
    X509_free(cert);
    BIO_free(bio);
}

static bool sf_audience_ok(json_object *aud)
{
    const char *a = json_object_is_type(aud, json_type_string) ? json_object_get_string(aud) : "";
    return strcmp(a, "fuzz-aud") == 0 || strcmp(a, "https://api.fuzz.example") == 0;
}

static void sf_check_jws(const char *jws, const char *kid, const char *alg, int64_t expires_in)
{
    const char *dot1 = strchr(jws, '.');
    const char *dot2 = dot1 != NULL ? strchr(dot1 + 1, '.') : NULL;
    SF_CHECK(dot2 != NULL && strchr(dot2 + 1, '.') == NULL, "the token is not a compact JWS");
    size_t hlen = 0;
    size_t plen = 0;
    size_t slen = 0;
    unsigned char *h = sf_b64url(jws, (size_t)(dot1 - jws), &hlen);
    unsigned char *p = sf_b64url(dot1 + 1, (size_t)(dot2 - dot1 - 1), &plen);
    unsigned char *s = sf_b64url(dot2 + 1, strlen(dot2 + 1), &slen);
    SF_CHECK(h != NULL && p != NULL && s != NULL, "a JWS part is not base64url");
    char *ptext = fuzz_strndup(p, plen);
    char *htext = fuzz_strndup(h, hlen);
    json_object *hdr = json_tokener_parse(htext);
    json_object *claims = json_tokener_parse(ptext);
    SF_CHECK(hdr != NULL && claims != NULL, "the JWS header or claims are not JSON");
    const char *hkid = sf_str(hdr, "kid");
    const char *halg = sf_str(hdr, "alg");
    SF_CHECK(hkid != NULL && halg != NULL && strcmp(hkid, kid) == 0 && strcmp(halg, alg) == 0,
             "the JWS header's kid or alg is not the answer's");
    const struct sf_jwk *key = NULL;
    for (size_t i = 0; i < sf.njwks; i++) {
        key = strcmp(sf.jwks[i].kid, kid) == 0 ? &sf.jwks[i] : key;
    }
    SF_CHECK(key != NULL && strcmp(key->alg, alg) == 0, "kid %s is not in the JWK Set", kid);

    /* The signature over "header.payload" with the published key (RFC 7515 §5.2). */
    unsigned char *sig = s;
    size_t sig_len = slen;
    unsigned char *der = NULL;
    if (strcmp(alg, "ES256") == 0) {
        SF_CHECK(slen == 64, "an ES256 signature of %zu bytes", slen);
        ECDSA_SIG *es = ECDSA_SIG_new();
        SF_CHECK(es != NULL &&
                     ECDSA_SIG_set0(es, BN_bin2bn(s, 32, NULL), BN_bin2bn(s + 32, 32, NULL)) == 1,
                 "ECDSA_SIG");
        int n = i2d_ECDSA_SIG(es, &der);
        SF_CHECK(n > 0, "i2d_ECDSA_SIG");
        ECDSA_SIG_free(es);
        sig = der;
        sig_len = (size_t)n;
    } else {
        SF_CHECK(strcmp(alg, "RS256") == 0, "alg %s", alg);
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    SF_CHECK(md != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key->pub) == 1,
             "EVP_DigestVerifyInit");
    SF_CHECK(EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)jws, (size_t)(dot2 - jws)) ==
                 1,
             "the token's signature does not verify with the published key %s", kid);
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);

    const char *iss = sf_str(claims, "iss");
    json_object *aud = NULL;
    json_object *iat = NULL;
    json_object *exp = NULL;
    SF_CHECK(iss != NULL && strcmp(iss, SF_ISSUER) == 0, "iss");
    SF_CHECK(json_object_object_get_ex(claims, "aud", &aud) && sf_audience_ok(aud),
             "an audience outside the policy");
    SF_CHECK(json_object_object_get_ex(claims, "iat", &iat) &&
                 json_object_object_get_ex(claims, "exp", &exp) &&
                 json_object_get_int64(exp) - json_object_get_int64(iat) == expires_in &&
                 expires_in > 0 && expires_in <= SF_TOKEN_TTL_MAX,
             "exp - iat is not expires_in, or over the policy's maximum");
    json_object_put(hdr);
    json_object_put(claims);
    free(ptext);
    free(htext);
    free(h);
    free(p);
    free(s);
}

static void sf_check_token(json_object *doc)
{
    static const char *const keys[] = {"token", "token_type", "expires_in", "kid", "alg", NULL};
    SF_CHECK(sf_keys(doc, keys, 5), "a 200 to POST /v1/tokens is not the documented shape");
    json_object *exp = NULL;
    json_object_object_get_ex(doc, "expires_in", &exp);
    const char *tok = sf_str(doc, "token");
    const char *type = sf_str(doc, "token_type");
    const char *kid = sf_str(doc, "kid");
    const char *alg = sf_str(doc, "alg");
    SF_CHECK(tok != NULL && kid != NULL && alg != NULL && type != NULL &&
                 strcmp(type, "Bearer") == 0 && json_object_is_type(exp, json_type_int),
             "token answer members");
    sf_check_jws(tok, kid, alg, json_object_get_int64(exp));
}

static void sf_check_status(json_object *doc, bool revoked)
{
    static const char *const keys[] = {"serial",     "status",     "subject",   "sans",
                                       "profile",    "not_before", "not_after", "requested_by",
                                       "revoked_at", "reason",     NULL};
    SF_CHECK(sf_keys(doc, keys, 8), "a status answer is not the documented shape");
    const char *serial = sf_str(doc, "serial");
    const char *status = sf_str(doc, "status");
    SF_CHECK(serial != NULL && status != NULL, "serial, status");
    struct st_cert_record rec;
    SF_CHECK(!hs_failed(sf.inv->ops->get(sf.inv, serial, &rec)),
             "a status answer for a serial the inventory does not have");
    SF_CHECK(!revoked || (strcmp(status, "revoked") == 0 && rec.status == ST_CERT_REVOKED),
             "a 200 to revoke, but the certificate is not revoked");
    SF_CHECK((strcmp(status, "revoked") == 0) == (rec.status == ST_CERT_REVOKED),
             "status %s is not the inventory's", status);
}

static void sf_check_crl(const struct api_response *resp)
{
    SF_CHECK(resp->binary && strcmp(resp->content_type, "application/pkix-crl") == 0,
             "the CRL's content type");
    const unsigned char *p = hs_buf_data(resp->body);
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)hs_buf_len(resp->body));
    SF_CHECK(crl != NULL && p == hs_buf_data(resp->body) + hs_buf_len(resp->body),
             "the CRL is not one DER CRL");
    SF_CHECK(X509_CRL_verify(crl, X509_get0_pubkey(sf.ca)) == 1, "the CRL is not the CA's");
    X509_CRL_free(crl);
}

/* Every answer: a documented status and shape. */
static void sf_check(const struct api_request *req, const struct sf_req *r,
                     const struct api_response *resp)
{
    SF_CHECK(req->method != NULL && req->target != NULL, "a routed request without a target");
    SF_CHECK(resp->body != NULL && resp->content_type != NULL, "an answer without a body");
    unsigned int st = resp->status;
    if (getenv("HSMSIGN_FUZZ_DEBUG") != NULL) {
        fprintf(stderr, "service_fuzz: %s %.80s: %u %.*s\n", req->method, req->target, st,
                resp->binary ? 0
                             : (int)(hs_buf_len(resp->body) < 200 ? hs_buf_len(resp->body) : 200),
                (const char *)hs_buf_data(resp->body));
    }
    SF_CHECK(st == 200 || st == 400 || st == 401 || st == 403 || st == 404 || st == 405 ||
                 st == 413 || st == 415,
             "status %u to %s %s (%s: %s%s%s)", st, req->method, req->target,
             hs_code_name(hs_error_last()->code), hs_error_last()->detail,
             hs_error_last()->ckr_name != NULL ? " " : "",
             hs_error_last()->ckr_name != NULL ? hs_error_last()->ckr_name : "");
    char path[API_SIGV4_TARGET_MAX + 1];
    size_t plen = strcspn(req->target, "?");
    plen = plen < sizeof(path) - 1 ? plen : sizeof(path) - 1;
    memcpy(path, req->target, plen);
    path[plen] = '\0';
    /* HEAD is answered as GET (the front end drops the body). */
    const char *m = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
    /* 415 only to a POST with a body (the media type is checked there alone). */
    SF_CHECK(st != 415 || (strcmp(m, "POST") == 0 && req->body_len > 0),
             "415 to %s %s without a body", req->method, req->target);
    if (st == 200 && sf_is_route(m, path, "GET", "/v1/ca")) {
        static const char begin[] = "-----BEGIN CERTIFICATE-----";
        SF_CHECK(strcmp(resp->content_type, "application/pem-certificate-chain") == 0 &&
                     hs_buf_len(resp->body) > sizeof(begin) &&
                     memcmp(hs_buf_data(resp->body), begin, sizeof(begin) - 1) == 0,
                 "GET /v1/ca is not a PEM chain");
        return;
    }
    if (st == 200 &&
        (sf_is_route(m, path, "GET", "/v1/crl") || sf_is_route(m, path, "GET", "/metrics"))) {
        if (strcmp(path, "/v1/crl") == 0) {
            sf_check_crl(resp);
        }
        return;
    }
    SF_CHECK(strcmp(resp->content_type, "application/json") == 0 && !resp->binary,
             "content type %s", resp->content_type);
    json_object *doc = sf_parse(hs_buf_data(resp->body), hs_buf_len(resp->body));
    SF_CHECK(doc != NULL && json_object_is_type(doc, json_type_object),
             "the answer is not one JSON object");
    const char *serial = NULL;
    size_t serial_len = 0;
    if (st != 200) {
        sf_check_error(doc, req->req_id);
    } else if (sf_is_route(m, path, "POST", "/v1/certificates")) {
        sf_check_cert(doc, r);
    } else if (sf_is_route(m, path, "POST", "/v1/tokens")) {
        sf_check_token(doc);
    } else if (strcmp(m, "GET") == 0 && sf_is_serial_route(path, "", &serial, &serial_len)) {
        sf_check_status(doc, false);
    } else if (strcmp(m, "POST") == 0 &&
               sf_is_serial_route(path, "/revoke", &serial, &serial_len)) {
        sf_check_status(doc, true);
    } else if (sf_is_route(m, path, "GET", "/.well-known/jwks.json")) {
        json_object *keys = NULL;
        SF_CHECK(json_object_object_get_ex(doc, "keys", &keys) &&
                     json_object_is_type(keys, json_type_array),
                 "the JWK Set");
    } else if (sf_is_route(m, path, "GET", "/.well-known/openid-configuration")) {
        SF_CHECK(sf_str(doc, "issuer") != NULL && strcmp(sf_str(doc, "issuer"), SF_ISSUER) == 0,
                 "the OpenID configuration's issuer");
    } else if (sf_is_route(m, path, "GET", "/healthz")) {
        SF_CHECK(sf_str(doc, "status") != NULL && strcmp(sf_str(doc, "status"), "ok") == 0,
                 "healthz");
    } else if (sf_is_route(m, path, "GET", "/v1/whoami")) {
        json_object *admin = NULL;
        json_object *perms = NULL;
        SF_CHECK(sf_str(doc, "principal") != NULL && sf_str(doc, "principal")[0] != '\0' &&
                     json_object_object_get_ex(doc, "admin", &admin) &&
                     json_object_is_type(admin, json_type_boolean) &&
                     json_object_object_get_ex(doc, "permissions", &perms) &&
                     json_object_is_type(perms, json_type_object),
                 "GET /v1/whoami: principal, admin and permissions");
    } else if (sf_is_route(m, path, "GET", "/v1/certificates")) {
        json_object *list = NULL;
        json_object *cursor = NULL;
        SF_CHECK(json_object_object_get_ex(doc, "certificates", &list) &&
                     json_object_is_type(list, json_type_array) &&
                     json_object_array_length(list) <= 200,
                 "GET /v1/certificates: a list of at most 200");
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            json_object *one = json_object_array_get_idx(list, i);
            SF_CHECK(json_object_is_type(one, json_type_object) && sf_str(one, "serial") != NULL &&
                         sf_str(one, "status") != NULL && sf_str(one, "kind") != NULL,
                     "GET /v1/certificates: each entry a status document with its kind");
        }
        SF_CHECK(!json_object_object_get_ex(doc, "cursor", &cursor) ||
                     (json_object_is_type(cursor, json_type_string) &&
                      json_object_get_string_len(cursor) > 0),
                 "GET /v1/certificates: the cursor is a non-empty string when present");
    } else {
        SF_CHECK(false, "a 200 to %s %s, which is no route", m, req->target);
    }
    json_object_put(doc);
}

/* --- transports ---------------------------------------------------------------------------- */

/* hsmsignd's own HTTP transport, from the trusted proxy's address. */
static void sf_route_http(const struct sf_req *r)
{
    struct api_request req = {.method = r->method,
                              .target = r->target,
                              .headers = r->headers,
                              .nheaders = r->n,
                              .body = r->body,
                              .body_len = r->body_len,
                              .transport = API_TRANSPORT_HTTP,
                              .peer_addr = "127.0.0.1",
                              .now = sf.now};
    api_request_id_new(&req);
    struct api_response resp = {0};
    api_route(sf.svc, &req, &resp);
    sf_check(&req, r, &resp);
    api_response_clear(&resp);
}

/* An invocation event, as api_lambda.c handles one; r is the request the event carries, for
 * the oracle (NULL: taken from the decoded event). */
static void sf_route_event(const char *event, size_t len, const struct sf_req *r)
{
    struct api_lambda_event *ev = NULL;
    if (hs_failed(fuzz_debug(api_lambda_event_parse(event, len, &ev)))) {
        return;
    }
    struct api_request req;
    memset(&req, 0, sizeof(req));
    hs_result decoded = fuzz_debug(api_lambda_event_request(ev, &req));
    if (hs_failed(decoded) && decoded.code != HS_ERR_INPUT_TOO_LARGE) {
        api_lambda_event_free(ev);
        return;
    }
    api_request_id_new(&req);
    req.now = sf.now;
    struct api_response resp = {0};
    if (hs_failed(decoded)) {
        api_response_error(&resp, decoded.code, req.req_id);
        SF_CHECK(resp.status == 413, "a request over a bound is not 413");
    } else {
        api_route(sf.svc, &req, &resp);
    }
    struct sf_req view = {0};
    if (r == NULL && req.method != NULL) {
        /* The oracle reads the request body as a C string. */
        view.method = sf_dup(req.method);
        view.target = sf_dup(req.target != NULL ? req.target : "");
        sf_set_body(&view, req.body, req.body_len);
        view.body = realloc(view.body, req.body_len + 1);
        SF_CHECK(view.body != NULL, "nomem");
        view.body[req.body_len] = '\0';
        r = &view;
    }
    if (hs_failed(decoded)) {
        json_object *doc = sf_parse(hs_buf_data(resp.body), hs_buf_len(resp.body));
        sf_check_error(doc, req.req_id);
        json_object_put(doc);
    } else {
        sf_check(&req, r, &resp);
    }
    sf_req_clear(&view);
    api_response_clear(&resp);
    api_lambda_event_free(ev);
}

/* r as a payload 2.0 event from the device (API Gateway verified its SigV4). */
static void sf_route_as_event(const struct sf_req *r, const char *principal)
{
    json_object *ev = json_object_new_object();
    json_object *ctx = json_object_new_object();
    json_object *http = json_object_new_object();
    json_object *iam = json_object_new_object();
    json_object *authorizer = json_object_new_object();
    json_object *headers = json_object_new_object();
    SF_CHECK(ev != NULL && ctx != NULL && http != NULL && iam != NULL && authorizer != NULL &&
                 headers != NULL,
             "nomem");
    json_object_object_add(http, "method", json_object_new_string(r->method));
    json_object_object_add(iam, "userArn", json_object_new_string(principal));
    json_object_object_add(authorizer, "iam", iam);
    json_object_object_add(ctx, "http", http);
    json_object_object_add(ctx, "authorizer", authorizer);
    json_object_object_add(headers, "content-type", json_object_new_string("application/json"));
    const char *q = strchr(r->target, '?');
    size_t plen = q != NULL ? (size_t)(q - r->target) : strlen(r->target);
    json_object_object_add(ev, "version", json_object_new_string("2.0"));
    json_object_object_add(ev, "rawPath", json_object_new_string_len(r->target, (int)plen));
    json_object_object_add(ev, "rawQueryString", json_object_new_string(q != NULL ? q + 1 : ""));
    json_object_object_add(ev, "headers", headers);
    json_object_object_add(ev, "requestContext", ctx);
    json_object_object_add(ev, "body",
                           json_object_new_string_len((const char *)r->body, (int)r->body_len));
    json_object_object_add(ev, "isBase64Encoded", json_object_new_boolean(0));
    const char *text = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN);
    sf_route_event(text, strlen(text), r);
    json_object_put(ev);
}

/* --- forms --------------------------------------------------------------------------------- */

/* Form 1: METHOD TARGET\nheaders\n\nbody, signed by who (or not, who == NULL). */
static void sf_form_http(struct fuzz_input *in, const struct sf_who *who, bool minimal)
{
    struct sf_req r = {0};
    bool eof = false;
    char *line = fuzz_take_line(in, &eof);
    char *sp = strchr(line, ' ');
    r.target = sf_dup(sp != NULL ? sp + 1 : "");
    if (sp != NULL) {
        *sp = '\0';
    }
    r.method = line;
    for (;;) {
        line = fuzz_take_line(in, &eof);
        if (eof || line[0] == '\0' || r.n == API_SIGV4_HEADERS_MAX) {
            free(line);
            break;
        }
        char *colon = strchr(line, ':');
        const char *value = "";
        if (colon != NULL) {
            *colon = '\0';
            value = colon[1] == ' ' ? colon + 2 : colon + 1;
        }
        sf_add_header(&r, line, value);
        free(line);
    }
    /* The body, NUL-terminated for the oracle (the length is the input's). */
    sf_set_body(&r, in->p, in->n);
    r.body = realloc(r.body, in->n + 1);
    SF_CHECK(r.body != NULL, "nomem");
    r.body[in->n] = '\0';
    if (who != NULL) {
        sf_sign(&r, who, minimal);
    }
    sf_route_http(&r);
    sf_req_clear(&r);
}

/* Adds the SANs of "TYPE:value,..." to a CSR. */
static void sf_csr_sans(X509_REQ *csr, const char *list)
{
    if (list[0] == '\0') {
        return;
    }
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    char *copy = sf_dup(list);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        GENERAL_NAME *gn = NULL;
        if (strncmp(tok, "IP:", 3) == 0) {
            ASN1_OCTET_STRING *ip = a2i_IPADDRESS(tok + 3);
            if (ip != NULL) {
                gn = GENERAL_NAME_new();
                GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
            }
        } else {
            int type = GEN_DNS;
            const char *v = tok;
            if (strncmp(tok, "DNS:", 4) == 0) {
                v = tok + 4;
            } else if (strncmp(tok, "email:", 6) == 0) {
                type = GEN_EMAIL;
                v = tok + 6;
            } else if (strncmp(tok, "URI:", 4) == 0) {
                type = GEN_URI;
                v = tok + 4;
            }
            ASN1_IA5STRING *s = ASN1_IA5STRING_new();
            if (s != NULL && ASN1_STRING_set(s, v, (int)strlen(v)) == 1) {
                gn = GENERAL_NAME_new();
                GENERAL_NAME_set0_value(gn, type, s);
            } else {
                ASN1_IA5STRING_free(s);
            }
        }
        if (gn != NULL && sk_GENERAL_NAME_push(gens, gn) <= 0) {
            GENERAL_NAME_free(gn);
        }
    }
    free(copy);
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION *ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
    SF_CHECK(exts != NULL && ext != NULL && sk_X509_EXTENSION_push(exts, ext) > 0 &&
                 X509_REQ_add_extensions(csr, exts) == 1,
             "the CSR's SAN extension");
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    GENERAL_NAMES_free(gens);
}

/* A signed CSR (PEM, free()) for cn (none when empty) and sans, with key. */
static char *sf_csr_pem(const char *cn, const char *sans, EVP_PKEY *key)
{
    X509_REQ *csr = X509_REQ_new();
    SF_CHECK(csr != NULL && X509_REQ_set_pubkey(csr, key) == 1, "X509_REQ");
    if (cn[0] != '\0') {
        X509_NAME *name = X509_REQ_get_subject_name(csr);
        /* A CN libcrypto refuses (too long, bad UTF-8) leaves the subject empty. */
        if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                       (const unsigned char *)cn, -1, -1, 0) != 1) {
            ERR_clear_error();
        }
    }
    sf_csr_sans(csr, sans);
    bool ed = EVP_PKEY_get_id(key) == EVP_PKEY_ED25519;
    SF_CHECK(X509_REQ_sign(csr, key, ed ? NULL : EVP_sha256()) > 0, "X509_REQ_sign");
    BIO *bio = BIO_new(BIO_s_mem());
    SF_CHECK(bio != NULL && PEM_write_bio_X509_REQ(bio, csr) == 1, "PEM");
    char *p = NULL;
    long n = BIO_get_mem_data(bio, &p);
    char *pem = fuzz_strndup((const uint8_t *)p, (size_t)n);
    BIO_free(bio);
    X509_REQ_free(csr);
    return pem;
}

/* A JSON body from obj (consumed). */
static void sf_json_body(struct sf_req *r, json_object *obj)
{
    const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
    sf_set_body(r, text, strlen(text) + 1); /* with the NUL for the oracle ... */
    r->body_len--;                          /* ... which the request does not carry */
    json_object_put(obj);
}

static bool sf_digits(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < 10 && strspn(s, "0123456789") == n;
}

/* A request with a harness-made JSON body; headers only Content-Type. */
static void sf_req_json(struct sf_req *r, const char *method, const char *target, json_object *body)
{
    r->method = sf_dup(method);
    r->target = sf_dup(target);
    sf_add_header(r, "Content-Type", "application/json");
    if (body != NULL) {
        sf_json_body(r, body);
    } else {
        sf_set_body(r, "", 1);
        r->body_len = 0;
    }
}

/* The harness's client certificate through the trusted proxy's header (URL-encoded PEM). */
static void sf_add_client_cert(struct sf_req *r, const char *pem)
{
    struct fuzz_str enc = {0};
    fuzz_str_put(&enc, "", 0);
    for (const char *p = pem; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            strchr("-_.~", c) != NULL) {
            fuzz_str_putc(&enc, (char)c);
        } else {
            char e[4];
            snprintf(e, sizeof(e), "%%%02X", c);
            fuzz_str_puts(&enc, e);
        }
    }
    sf_add_header(r, "X-Client-Cert", enc.p);
    free(enc.p);
}

/* Sends r by the transport picked: 0 HTTP signed by who, 1 an event from who, 2 the client
 * certificate pem through the proxy header (HTTP, unsigned). */
static void sf_send(struct sf_req *r, int transport, const struct sf_who *who, const char *pem)
{
    switch (transport) {
    case 0:
        sf_sign(r, who, false);
        sf_route_http(r);
        break;
    case 1:
        sf_route_as_event(r, who->principal);
        break;
    default:
        sf_add_client_cert(r, pem);
        sf_route_http(r);
        break;
    }
}

/* Form 2's second request on the certificate just issued. */
static void sf_follow_up(uint8_t what, struct fuzz_input *in)
{
    const struct sf_who *who = &sf_whos[(what >> 2) % 3];
    char target[128];
    struct sf_req r = {0};
    char *rest = fuzz_strndup(in->p, in->n);
    switch (what % 4) {
    case 1:
        snprintf(target, sizeof(target), "/v1/certificates/%s", sf_last_serial);
        sf_req_json(&r, "GET", target, NULL);
        sf_send(&r, 0, who, NULL);
        break;
    case 2:
        snprintf(target, sizeof(target), "/v1/certificates/%s/revoke", sf_last_serial);
        sf_req_json(&r, "POST", target, NULL);
        sf_set_body(&r, rest, strlen(rest) + 1);
        r.body_len--;
        sf_send(&r, 0, who, NULL);
        break;
    case 3: {
        json_object *body = json_object_new_object();
        json_object_object_add(body, "audience", json_object_new_string(rest));
        sf_req_json(&r, "POST", "/v1/tokens", body);
        sf_send(&r, 2, who, sf_last_pem);
        break;
    }
    default:
        break;
    }
    free(rest);
    sf_req_clear(&r);
}

/* Form 2: a certificate request with a CSR the harness makes and signs. */
static void sf_form_issue(struct fuzz_input *in, uint8_t b0)
{
    bool eof = false;
    char *cn = fuzz_take_line(in, &eof);
    char *sans = fuzz_take_line(in, &eof);
    char *profile = fuzz_take_line(in, &eof);
    char *ttl = fuzz_take_line(in, &eof);
    uint8_t then = fuzz_take_byte(in);
    char *pem = sf_csr_pem(cn, sans, sf.keys[(b0 >> 2) % 3]);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "csr", json_object_new_string(pem));
    if (profile[0] != '\0') {
        json_object_object_add(body, "profile", json_object_new_string(profile));
    }
    if (sf_digits(ttl)) {
        json_object_object_add(body, "ttl_hours", json_object_new_int(atoi(ttl)));
    }
    struct sf_req r = {0};
    sf_req_json(&r, "POST", "/v1/certificates", body);
    sf_last_serial[0] = '\0';
    sf_send(&r, (b0 >> 4) & 1, &sf_whos[0], NULL);
    if (sf_last_serial[0] != '\0') {
        sf_follow_up(then, in);
    }
    sf_req_clear(&r);
    free(pem);
    free(cn);
    free(sans);
    free(profile);
    free(ttl);
}

/* Form 3: a token request. */
static void sf_form_token(struct fuzz_input *in, uint8_t b0)
{
    bool eof = false;
    char *aud = fuzz_take_line(in, &eof);
    char *ttl = fuzz_take_line(in, &eof);
    char *alg = fuzz_take_line(in, &eof);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "audience", json_object_new_string(aud));
    if (sf_digits(ttl)) {
        json_object_object_add(body, "ttl_seconds", json_object_new_int(atoi(ttl)));
    }
    if (alg[0] != '\0') {
        json_object_object_add(body, "alg", json_object_new_string(alg));
    }
    struct sf_req r = {0};
    sf_req_json(&r, "POST", "/v1/tokens", body);
    sf_send(&r, (b0 >> 2) % 3, &sf_whos[0], sf.client_pem);
    sf_req_clear(&r);
    free(aud);
    free(ttl);
    free(alg);
}

/* --- libFuzzer ----------------------------------------------------------------------------- */

static EVP_PKEY *sf_keygen(const char *type, size_t bits)
{
    EVP_PKEY *k = bits > 0                  ? EVP_PKEY_Q_keygen(NULL, NULL, type, bits)
                  : strcmp(type, "EC") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, type, "P-256")
                                            : EVP_PKEY_Q_keygen(NULL, NULL, type);
    if (k == NULL) {
        sf_die("a CSR key");
    }
    return k;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    /* As the integration tests: without SoftHSM2 the replay test is skipped (exit 77), except
     * under CI, where a missing dependency fails. */
    const char *module = getenv("SOFTHSM_MODULE") != NULL ? getenv("SOFTHSM_MODULE")
                                                          : "/usr/lib/softhsm/libsofthsm2.so";
    if (access(module, R_OK) != 0) {
        const char *ci = getenv("CI");
        fprintf(stderr, "service_fuzz: %s: no SoftHSM2 module (scripts/deps.sh installs it)\n",
                module);
        exit(ci != NULL && strcmp(ci, "true") == 0 ? 1 : 77);
    }
    /* tmpfs when there is one: the inventory fsyncs every commit (synchronous=FULL). */
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(sf.dir, sizeof(sf.dir), "%s/hsmsign-service-fuzz-XXXXXX", base);
    if (mkdtemp(sf.dir) == NULL) {
        sf.dir[0] = '\0';
        sf_die("mkdtemp");
    }
    atexit(sf_cleanup);
    sf_run_setup();
    char path[512];
    sf_path("token/softhsm2.conf", path);
    setenv("SOFTHSM2_CONF", path, 1);
    /* hsmsignd keeps its secrets on OpenSSL's secure heap (hs_secure_init). Once that exists,
     * OpenSSL also puts the state of each DRBG it instantiates there (the CTR-DRBG's context,
     * OPENSSL_secure_zalloc), and the cipher contexts that state points to look leaked to
     * LeakSanitizer, which does not scan the secure heap's mapping: 9 "leaks" (3 DRBGs x 3
     * EVP_CIPHER_CTX) at the first leak check. Drawing from both DRBGs first instantiates them
     * on the ordinary heap; nothing else about the service changes. */
    unsigned char warm[16];
    if (RAND_bytes(warm, sizeof(warm)) != 1 || RAND_priv_bytes(warm, sizeof(warm)) != 1) {
        sf_die("RAND_bytes");
    }
    if (hs_failed(hs_secure_init(65536))) {
        sf_die("hs_secure_init");
    }
    struct api_config *cfg = NULL;
    sf_path("cfg/hsmsignd.json", path);
    if (hs_failed(api_config_load(path, NULL, &cfg))) {
        sf_die("api_config_load");
    }
    if (hs_failed(api_service_new(cfg, &sf.svc))) {
        sf_die("api_service_new");
    }
    sf_path("out/inventory.db", path);
    if (hs_failed(st_sqlite_open(path, &sf.inv))) {
        sf_die("the inventory");
    }
    for (size_t i = 0; i < 3; i++) {
        sf_read_secret(&sf_whos[i]);
    }
    sf.ca = sf_read_cert("out/int.pem");
    sf.root = sf_read_cert("out/root.pem");
    sf.store = X509_STORE_new();
    if (sf.store == NULL || X509_STORE_add_cert(sf.store, sf.root) != 1) {
        sf_die("X509_STORE");
    }
    /* A fixed clock for the run: the CA's certificates start at set-up. */
    sf.now = time(NULL) + 1;
    sf.keys[0] = sf_keygen("EC", 0);
    sf.keys[1] = sf_keygen("ED25519", 0);
    sf.keys[2] = sf_keygen("RSA", 2048);

    struct api_request req = {.method = "GET", .target = "/.well-known/jwks.json", .now = sf.now};
    api_request_id_new(&req);
    struct api_response resp = {0};
    api_route(sf.svc, &req, &resp);
    sf_jwks_load(&resp);
    api_response_clear(&resp);

    /* The harness's own device certificate, for tokens by mTLS. */
    static const uint8_t issue[] = "fuzz-mtls\n\nclient\n\n";
    struct fuzz_input in = {issue, sizeof(issue) - 1};
    sf_form_issue(&in, 0);
    if (sf_last_pem == NULL) {
        sf_die("the harness's client certificate");
    }
    sf.client_pem = sf_last_pem;
    sf_last_pem = NULL;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    uint8_t b0 = fuzz_take_byte(&in);
    switch (b0 % 4) {
    case 0:
        sf_route_event((const char *)in.p, in.n, NULL);
        break;
    case 1: {
        unsigned who = (b0 >> 2) % 4;
        sf_form_http(&in, who < 3 ? &sf_whos[who] : NULL, ((b0 >> 4) & 1) != 0);
        break;
    }
    case 2:
        sf_form_issue(&in, b0);
        break;
    default:
        sf_form_token(&in, b0);
        break;
    }
    free(sf_last_pem);
    sf_last_pem = NULL;
    ERR_clear_error();
    return 0;
}
