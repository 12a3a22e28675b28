/*
 * sigv4_resign_fuzz: the acceptance path of api_sigv4_verify. The fuzzer mutates a request; the
 * harness signs it again with its own AWS Signature Version 4 signer (written here from the
 * IAM User Guide, "Create a signed AWS API request", with libcrypto's SHA-256 and HMAC; it does
 * not call api_sigv4.c), so every input reaches the verifier with a valid signature. Oracle:
 *   - a request the harness knows to be within the documented limits and validation rules of
 *     api_sigv4.h (checked by sigv4_resign_valid below) must verify, and lend the key it was
 *     signed with; any refusal of it aborts (a canonicalisation the verifier gets wrong, a
 *     clock or scope off by one, a valid form refused);
 *   - any request that verified must be refused once one hex digit of its signature is changed,
 *     and once one byte is appended to its body (HS_ERR_AUTH_SIGNATURE for both).
 * A request outside the rules may be refused for any reason (the verifier's refusals are what
 * sigv4_fuzz fuzzes), and is not checked further.
 *
 * Input:
 *   byte 0: flags. bit 0: the key (0 the plain key, 1 the one with a session token, which adds
 *           X-Amz-Security-Token); bit 1: add x-amz-content-sha256; bit 2: date in a Date header
 *           (IMF-fixdate) instead of X-Amz-Date; bit 3: sign only host and the x-amz-* headers
 *           (else every header); bits 4-6: the signer's clock offset from the verifier's, one of
 *           0, -300, +300, -1, +1, -299, +299, +59 s (max skew 300 s, inclusive); bit 7: the
 *           Authorization parts in another order and without spaces after the commas.
 *   then    METHOD SP REQUEST-TARGET LF, "Name: value" LF per header, LF, body (the rest, at
 *           most API_BODY_MAX bytes), framed as for sigv4_fuzz. The headers the signer owns
 *           (Authorization, X-Amz-Date, Date, X-Amz-Security-Token, x-amz-content-sha256) are
 *           dropped from the input; Host: hsmsign.example.com is added when there is none.
 * Keys and clock are sigv4_fuzz's (tests/unit/api_sigv4_vectors.h, now 2024-02-29T23:59:59Z).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/sha.h>

#include "api/api_body.h"
#include "api/api_sigv4.h"
#include "common/hs_secret.h"
#include "tests/fuzz/fuzz_sigv4.h"
#include "tests/fuzz/fuzz_support.h"

#define RS_NOW 1709251199 /* 2024-02-29T23:59:59Z */
#define RS_SKEW 300
#define RS_REGION "eu-central-1"
#define RS_SERVICE "execute-api"
#define RS_HOST "hsmsign.example.com"
#define RS_HEADERS (API_SIGV4_HEADERS_MAX + 8) /* input headers kept, plus the signer's */

struct rs_key {
    const char *akid;
    const char *secret;
    const char *token; /* NULL = none */
};

static const struct rs_key rs_keys[2] = {
    {"AKIAHSMSIGNVECTOR001", "vEcToRsEcReT/0123456789+abcdefghijklmnoP", NULL},
    {"ASIAHSMSIGNVECTOR002", "sEsSiOnSeCrEt/9876543210+ABCDEFGHIJKLMNOp",
     "IQoJb3JpZ2luX2VjEXAMPLE//session+token/with=padding=="},
};

static struct api_sigv4_key rs_cfg_keys[2];
static const struct api_sigv4_config rs_cfg = {RS_REGION, RS_SERVICE, RS_SKEW, rs_cfg_keys, 2};

static const struct hs_secret *rs_secret(const char *s)
{
    struct hs_secret *secret = NULL;
    if (hs_failed(hs_secret_from_bytes(s, strlen(s), &secret))) {
        fuzz_abort();
    }
    return secret;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    for (size_t i = 0; i < 2; i++) {
        rs_cfg_keys[i].access_key_id = rs_keys[i].akid;
        rs_cfg_keys[i].secret_access_key = rs_secret(rs_keys[i].secret);
        rs_cfg_keys[i].session_token =
            rs_keys[i].token != NULL ? rs_secret(rs_keys[i].token) : NULL;
        rs_cfg_keys[i].principal_arn = "arn:aws:iam::123456789012:user/resign";
    }
    return 0;
}

/* One request as the fuzzer framed it; strings owned. */
struct rs_req {
    char *method;
    char *target;
    char *names[RS_HEADERS];
    char *values[RS_HEADERS];
    struct api_header headers[RS_HEADERS];
    size_t n;
    const unsigned char *body;
    size_t body_len;
};

static void rs_req_clear(struct rs_req *r)
{
    free(r->method);
    free(r->target);
    for (size_t i = 0; i < r->n; i++) {
        free(r->names[i]);
        free(r->values[i]);
    }
}

static void rs_add_header(struct rs_req *r, const char *name, const char *value)
{
    if (r->n == RS_HEADERS) {
        fuzz_abort();
    }
    r->names[r->n] = fuzz_strndup((const uint8_t *)name, strlen(name));
    r->values[r->n] = fuzz_strndup((const uint8_t *)value, strlen(value));
    r->headers[r->n] = (struct api_header){r->names[r->n], r->values[r->n]};
    r->n++;
}

/* The headers the signer writes itself. */
static bool rs_signer_owned(const char *name)
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

/* --- what the rules of api_sigv4.h accept -------------------------------------------------- */

static bool rs_escapes_ok(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%' && (i + 2 >= n || fuzz_hexval((unsigned char)p[i + 1]) < 0 ||
                            fuzz_hexval((unsigned char)p[i + 2]) < 0)) {
            return false;
        }
    }
    return true;
}

/* Whether a query names a presigned-URL parameter (X-Amz-*, decoded, any case): refused as
 * unsupported, whatever else the request has. */
static bool rs_query_presigned(const char *q)
{
    struct fuzz_str name = {0};
    bool found = false;
    while (!found && q != NULL) {
        const char *end = strchr(q, '&');
        size_t n = end != NULL ? (size_t)(end - q) : strlen(q);
        const char *eq = memchr(q, '=', n);
        name.n = 0;
        fuzz_str_put(&name, "", 0);
        for (size_t i = 0; i < (eq != NULL ? (size_t)(eq - q) : n); i++) {
            if (q[i] == '%' && i + 2 < n) {
                fuzz_str_putc(&name, (char)(fuzz_hexval((unsigned char)q[i + 1]) << 4 |
                                            fuzz_hexval((unsigned char)q[i + 2])));
                i += 2;
            } else {
                fuzz_str_putc(&name, q[i]);
            }
        }
        found = strncasecmp(name.p, "x-amz-", 6) == 0;
        q = end != NULL ? end + 1 : NULL;
    }
    free(name.p);
    return found;
}

static bool rs_value_ok(const char *v)
{
    for (; *v != '\0'; v++) {
        unsigned char c = (unsigned char)*v;
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return false;
        }
    }
    return true;
}

/* Whether r (signed as asked) is within every documented limit and rule, so that the verifier
 * must accept it. */
static bool rs_valid(const struct rs_req *r, bool minimal, size_t authz_len)
{
    size_t m = strlen(r->method);
    if (m == 0 || m > API_SIGV4_METHOD_MAX) {
        return false;
    }
    for (size_t i = 0; i < m; i++) {
        if (!fuzz_tchar((unsigned char)r->method[i])) {
            return false;
        }
    }
    size_t t = strlen(r->target);
    if (t == 0 || t > API_SIGV4_TARGET_MAX || r->target[0] != '/' || !rs_escapes_ok(r->target, t)) {
        return false;
    }
    for (size_t i = 0; i < t; i++) {
        unsigned char c = (unsigned char)r->target[i];
        if (c <= 0x20 || c >= 0x7f || c == '#') {
            return false;
        }
    }
    const char *q = strchr(r->target, '?');
    if (q != NULL && rs_query_presigned(q + 1)) {
        return false;
    }
    if (r->n > API_SIGV4_HEADERS_MAX || authz_len > API_SIGV4_AUTHZ_MAX) {
        return false;
    }
    size_t hosts = 0;
    size_t nsigned = 0;
    for (size_t i = 0; i < r->n; i++) {
        const char *name = r->headers[i].name;
        size_t n = strlen(name);
        if (n == 0 || n > API_SIGV4_HEADER_NAME_MAX ||
            strlen(r->headers[i].value) > API_SIGV4_HEADER_VALUE_MAX) {
            return false;
        }
        hosts += strcasecmp(name, "host") == 0 ? 1 : 0;
        if (!fuzz_sigv4_is_signed(name, minimal)) {
            continue;
        }
        nsigned++;
        for (size_t k = 0; k < n; k++) {
            if (!fuzz_tchar((unsigned char)name[k])) {
                return false;
            }
        }
        if (!rs_value_ok(r->headers[i].value)) {
            return false;
        }
    }
    /* (nsigned counts repeats; distinct names are fewer, so this is only the safe side.) */
    return hosts == 1 && nsigned <= API_SIGV4_SIGNED_HEADERS_MAX;
}

/* --- the target ---------------------------------------------------------------------------- */

static void rs_parse(struct fuzz_input *in, struct rs_req *r)
{
    bool eof = false;
    char *line = fuzz_take_line(in, &eof);
    char *sp = strchr(line, ' ');
    const char *target = sp != NULL ? sp + 1 : "";
    r->target = fuzz_strndup((const uint8_t *)target, strlen(target));
    if (sp != NULL) {
        *sp = '\0';
    }
    r->method = line;
    for (;;) {
        line = fuzz_take_line(in, &eof);
        if (eof || line[0] == '\0' || r->n == API_SIGV4_HEADERS_MAX + 1) {
            free(line);
            break;
        }
        char *colon = strchr(line, ':');
        const char *value = "";
        if (colon != NULL) {
            *colon = '\0';
            value = colon[1] == ' ' ? colon + 2 : colon + 1;
        }
        if (!rs_signer_owned(line)) {
            rs_add_header(r, line, value);
        }
        free(line);
    }
    r->body = in->p;
    r->body_len = in->n;
}

/* Adds the date header for t (X-Amz-Date, or Date as IMF-fixdate); amz_date gets t for the
 * signature. */
static void rs_dates(time_t t, bool http_date, char amz_date[FUZZ_SIGV4_DATE_LEN + 1],
                     struct rs_req *r)
{
    fuzz_sigv4_amz_date(t, amz_date);
    if (!http_date) {
        rs_add_header(r, "X-Amz-Date", amz_date);
        return;
    }
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        fuzz_abort();
    }
    char date[64];
    snprintf(date, sizeof(date), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
             tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    rs_add_header(r, "Date", date);
}

static HS_RESULT rs_verify(const struct rs_req *r, const unsigned char *body, size_t body_len,
                           const struct api_sigv4_key **key)
{
    struct api_sigv4_request req = {r->method, r->target, r->headers, r->n, body, body_len, RS_NOW};
    return api_sigv4_verify(&rs_cfg, &req, key);
}

/* The verified request must fail once its signature or body is changed. */
static void rs_tamper(struct rs_req *r, size_t authz_index, uint8_t pick)
{
    char *v = r->values[authz_index];
    char *sig = strstr(v, "Signature=");
    if (sig == NULL) {
        fuzz_abort();
    }
    char *digit = sig + strlen("Signature=") + pick % 64;
    char saved = *digit;
    *digit = saved == '0' ? 'f' : (char)(saved == 'a' ? '9' : saved - 1);
    const struct api_sigv4_key *key = NULL;
    hs_result res = rs_verify(r, r->body, r->body_len, &key);
    if (res.code != HS_ERR_AUTH_SIGNATURE || key != NULL) {
        fprintf(stderr, "sigv4_resign: a changed signature gave %s\n", hs_code_name(res.code));
        fuzz_abort();
    }
    *digit = saved;
    unsigned char *longer = malloc(r->body_len + 1);
    if (longer == NULL) {
        fuzz_abort();
    }
    if (r->body_len > 0) {
        memcpy(longer, r->body, r->body_len);
    }
    longer[r->body_len] = pick;
    res = rs_verify(r, longer, r->body_len + 1, &key);
    free(longer);
    if (res.code != HS_ERR_AUTH_SIGNATURE || key != NULL) {
        fprintf(stderr, "sigv4_resign: a longer body gave %s\n", hs_code_name(res.code));
        fuzz_abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long offsets[8] = {0, -RS_SKEW, RS_SKEW, -1, 1, -RS_SKEW + 1, RS_SKEW - 1, 59};
    struct fuzz_input in = {data, size};
    uint8_t flags = fuzz_take_byte(&in);
    struct rs_req r = {0};
    rs_parse(&in, &r);
    if (r.body_len > API_BODY_MAX) {
        rs_req_clear(&r);
        return 0;
    }
    const struct rs_key *key_used = &rs_keys[flags & 1];
    const struct fuzz_sigv4_cred cred = {key_used->akid, key_used->secret, RS_REGION, RS_SERVICE};
    char amz_date[FUZZ_SIGV4_DATE_LEN + 1];
    bool has_host = false;
    for (size_t i = 0; i < r.n; i++) {
        has_host = has_host || strcasecmp(r.headers[i].name, "host") == 0;
    }
    if (!has_host) {
        rs_add_header(&r, "Host", RS_HOST);
    }
    rs_dates(RS_NOW + offsets[(flags >> 4) & 7], (flags & 4) != 0, amz_date, &r);
    if (key_used->token != NULL) {
        rs_add_header(&r, "X-Amz-Security-Token", key_used->token);
    }
    if ((flags & 2) != 0) {
        unsigned char md[32];
        SHA256(r.body, r.body_len, md);
        struct fuzz_str hex = {0};
        fuzz_str_hex(&hex, md, 32);
        rs_add_header(&r, "x-amz-content-sha256", hex.p);
        free(hex.p);
    }
    bool minimal = (flags & 8) != 0;
    struct fuzz_str authz = {0};
    const struct fuzz_sigv4_request sr = {r.method, r.target, r.headers, r.n, r.body, r.body_len};
    fuzz_sigv4_authorization(&sr, &cred, amz_date, minimal, (flags & 0x80) != 0, &authz);
    size_t authz_index = r.n;
    rs_add_header(&r, "Authorization", authz.p);
    bool valid = rs_valid(&r, minimal, authz.n);
    free(authz.p);

    const struct api_sigv4_key *key = NULL;
    hs_result res = fuzz_debug(rs_verify(&r, r.body, r.body_len, &key));
    if (hs_failed(res) && valid) {
        fprintf(stderr, "sigv4_resign: a valid re-signed request was refused: %s: %s\n",
                hs_code_name(res.code), hs_error_last()->detail);
        fuzz_abort();
    }
    if (!hs_failed(res)) {
        if (key != &rs_cfg_keys[flags & 1]) {
            fuzz_abort();
        }
        rs_tamper(&r, authz_index, size > 0 ? data[size - 1] : 0);
    }
    rs_req_clear(&r);
    return 0;
}
