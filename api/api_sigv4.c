#include "api/api_sigv4.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_digest.h"

#define API_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define API_SIGV4_ALGORITHM_4A "AWS4-ECDSA-P256-SHA256"
#define API_SIGV4_AMZ_PREFIX "x-amz-"
#define API_SIGV4_TERMINATOR "aws4_request"
#define API_SIGV4_SIG_HEX 64  /* hex digits of a signature */
#define API_SIGV4_DATE_LEN 16 /* YYYYMMDD'T'HHMMSS'Z' */
#define API_SIGV4_SCOPE_DATE_LEN 8
#define API_SIGV4_AKID_MAX 128
#define API_SIGV4_HASH_HEX (2 * SHA256_DIGEST_LENGTH)
/* "AWS4" + secret, the first HMAC key of the derivation. */
#define API_SIGV4_KEY_MAX (4 + HS_SECRET_MAX)
/* Each byte of the path becomes at most three ("%XX"). */
#define API_SIGV4_URI_MAX (3 * API_SIGV4_TARGET_MAX + 1)
/* Each byte of the query becomes at most three, plus one '=' for a parameter without one. */
#define API_SIGV4_QUERY_MAX (4 * API_SIGV4_TARGET_MAX)
/* Every signed name with ':' and '\n', plus every request value with a ',' before it. */
#define API_SIGV4_CHEADERS_MAX                                                                     \
    (API_SIGV4_AUTHZ_MAX + 2 * API_SIGV4_SIGNED_HEADERS_MAX +                                      \
     API_SIGV4_HEADERS_MAX * (API_SIGV4_HEADER_VALUE_MAX + 1))
#define API_SIGV4_CREQ_MAX                                                                         \
    (API_SIGV4_METHOD_MAX + API_SIGV4_URI_MAX + API_SIGV4_QUERY_MAX + API_SIGV4_CHEADERS_MAX +     \
     API_SIGV4_AUTHZ_MAX + API_SIGV4_HASH_HEX + 8)
/* Bytes of a credential scope (date/region/service/aws4_request) the signing-key cache keeps;
 * a longer scope (a region or service name far beyond AWS's) is derived every time. */
#define API_SIGV4_CACHE_SCOPE_MAX 128
/* Algorithm, date, scope (the parts are bounded by the Authorization header) and hash. */
#define API_SIGV4_STS_MAX (64 + API_SIGV4_AUTHZ_MAX + API_SIGV4_HASH_HEX)

/* A borrowed, not NUL-terminated piece of a request string. */
struct api_sigv4_span {
    const char *p;
    size_t n;
};

/* The Authorization header, split; every span points into the header's value. */
struct api_sigv4_auth {
    struct api_sigv4_span credential;
    struct api_sigv4_span signed_headers;
    struct api_sigv4_span signature;
    struct api_sigv4_span akid; /* the credential's five '/'-separated fields */
    struct api_sigv4_span date;
    struct api_sigv4_span region;
    struct api_sigv4_span service;
    struct api_sigv4_span terminator;
    struct api_sigv4_span names[API_SIGV4_SIGNED_HEADERS_MAX]; /* SignedHeaders, in order */
    size_t nnames;
};

/* The request time, as seconds since the epoch and in the ISO 8601 basic form the string to sign
 * and the credential scope use (whichever header it came from). */
struct api_sigv4_time {
    time_t t;
    char iso[API_SIGV4_DATE_LEN + 1];
};

/* One query parameter: offsets into the buffer of encoded text, then spans once it is final. */
struct api_sigv4_param {
    size_t name_off;
    size_t value_off;
    struct api_sigv4_span name;
    struct api_sigv4_span value;
};

/* Walks a span field by field, like Python's str.split: "a,,b," gives "a", "", "b", "". */
struct api_sigv4_split {
    const char *p;
    size_t n;
    bool done;
};

HS_DEFINE_FREEP(api_sigv4_spans_freep, struct api_sigv4_span, OPENSSL_free)
HS_DEFINE_FREEP(api_sigv4_params_freep, struct api_sigv4_param, OPENSSL_free)

/* --- characters and spans ----------------------------------------------------------------- */

static bool api_sigv4_is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

/* RFC 9110 §5.6.2 tchar, with letters only in lower case (SignedHeaders is lowercase). */
static bool api_sigv4_is_lower_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool api_sigv4_is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static unsigned char api_sigv4_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static struct api_sigv4_span api_sigv4_span_of(const char *s)
{
    return (struct api_sigv4_span){s, strlen(s)};
}

/* s without leading and trailing spaces and tabs (RFC 9110 §5.5 OWS). */
static struct api_sigv4_span api_sigv4_trim(const char *s)
{
    struct api_sigv4_span v = api_sigv4_span_of(s);
    while (v.n > 0 && api_sigv4_is_ows((unsigned char)v.p[0])) {
        v.p++;
        v.n--;
    }
    while (v.n > 0 && api_sigv4_is_ows((unsigned char)v.p[v.n - 1])) {
        v.n--;
    }
    return v;
}

static bool api_sigv4_span_eq(struct api_sigv4_span a, const char *s)
{
    size_t n = strlen(s);
    return a.n == n && (n == 0 || memcmp(a.p, s, n) == 0);
}

/* ASCII case-insensitive equality of a header name with a span. */
static bool api_sigv4_name_eq(const char *name, struct api_sigv4_span lower)
{
    size_t i = 0;
    for (; i < lower.n && name[i] != '\0'; i++) {
        if (api_sigv4_lower((unsigned char)name[i]) != api_sigv4_lower((unsigned char)lower.p[i])) {
            return false;
        }
    }
    return i == lower.n && name[i] == '\0';
}

/* Byte order, a prefix first. */
static int api_sigv4_span_cmp(struct api_sigv4_span a, struct api_sigv4_span b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n > 0 ? memcmp(a.p, b.p, n) : 0;
    if (c != 0) {
        return c;
    }
    return (a.n > b.n) - (a.n < b.n);
}

static struct api_sigv4_split api_sigv4_split_init(struct api_sigv4_span s)
{
    return (struct api_sigv4_split){s.p, s.n, false};
}

/* Lends the next field before delim in *out; false once every field has been lent. */
static bool api_sigv4_split_next(struct api_sigv4_split *s, char delim, struct api_sigv4_span *out)
{
    if (s->done) {
        return false;
    }
    const char *hit = s->n > 0 ? memchr(s->p, delim, s->n) : NULL;
    if (hit == NULL) {
        *out = (struct api_sigv4_span){s->p, s->n};
        s->done = true;
        return true;
    }
    size_t k = (size_t)(hit - s->p);
    *out = (struct api_sigv4_span){s->p, k};
    s->p += k + 1;
    s->n -= k + 1;
    return true;
}

static size_t api_sigv4_count(struct api_sigv4_span s, char c)
{
    size_t count = 0;
    for (size_t i = 0; i < s.n; i++) {
        count += s.p[i] == c;
    }
    return count;
}

/* --- encoding and hashing ------------------------------------------------------------------ */

/* Appends p with every byte outside A-Z a-z 0-9 - _ . ~ written as %XX (upper-case hex), the
 * SigV4 "UriEncode" of the AWS documentation. */
static HS_RESULT api_sigv4_put_encoded(struct hs_buf *out, const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789ABCDEF";
    if (n == 0) {
        return HS_OK;
    }
    HS_ENSURE(n <= SIZE_MAX / 3, HS_ERR_BOUNDS);
    unsigned char *w = NULL;
    HS_GUARD(hs_buf_reserve(out, 3 * n, &w));
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (api_sigv4_is_unreserved(p[i])) {
            w[used++] = p[i];
        } else {
            w[used++] = '%';
            w[used++] = (unsigned char)digits[p[i] >> 4];
            w[used++] = (unsigned char)digits[p[i] & 0x0f];
        }
    }
    return hs_buf_commit(out, used);
}

/* Appends the percent-decoding of s ('+' stays '+'). Errors: HS_ERR_AUTH_MALFORMED for a '%'
 * not followed by two hex digits. */
static HS_RESULT api_sigv4_put_decoded(struct hs_buf *out, struct api_sigv4_span s)
{
    if (s.n == 0) {
        return HS_OK;
    }
    unsigned char *w = NULL;
    HS_GUARD(hs_buf_reserve(out, s.n, &w));
    size_t used = 0;
    size_t i = 0;
    while (i < s.n) {
        unsigned char c = (unsigned char)s.p[i];
        if (c != '%') {
            w[used++] = c;
            i++;
            continue;
        }
        HS_ENSURE_MSG(s.n - i >= 3, HS_ERR_AUTH_MALFORMED, "sigv4: truncated %%-escape in query");
        int hi = hs_hex_digit((unsigned char)s.p[i + 1]);
        int lo = hs_hex_digit((unsigned char)s.p[i + 2]);
        HS_ENSURE_MSG(hi >= 0 && lo >= 0, HS_ERR_AUTH_MALFORMED,
                      "sigv4: invalid %%-escape in query");
        w[used++] = (unsigned char)(hi << 4 | lo);
        i += 3;
    }
    return hs_buf_commit(out, used);
}

/* SHA-256 (hs_digest) and HMAC fetched once: EVP_sha256() and HMAC() fetch from the provider
 * store on every call, which was a third of a verification's cost. */
static EVP_MAC *api_sigv4_hmac;
static pthread_once_t api_sigv4_fetch_once = PTHREAD_ONCE_INIT;

static void api_sigv4_fetch(void)
{
    api_sigv4_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/* Lends the fetched SHA-256 and HMAC (kept for the process's life). */
static HS_RESULT api_sigv4_algs(const EVP_MD **md, EVP_MAC **mac)
{
    HS_ENSURE(pthread_once(&api_sigv4_fetch_once, api_sigv4_fetch) == 0, HS_ERR_INTERNAL);
    *md = hs_digest_sha256();
    HS_ENSURE_MSG(*md != NULL && api_sigv4_hmac != NULL, HS_ERR_CRYPTO,
                  "sigv4: SHA-256 or HMAC is not available");
    *mac = api_sigv4_hmac;
    return HS_OK;
}

/* Appends the lowercase hex SHA-256 of n bytes at p (p may be NULL when n is 0). */
static HS_RESULT api_sigv4_put_sha256_hex(struct hs_buf *out, const void *p, size_t n)
{
    const EVP_MD *md = NULL;
    EVP_MAC *mac = NULL;
    HS_GUARD(api_sigv4_algs(&md, &mac));
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int used = 0;
    HS_GUARD_OSSL(EVP_Digest(p != NULL ? p : "", n, digest, &used, md, NULL), HS_ERR_CRYPTO);
    HS_ENSURE(used == SHA256_DIGEST_LENGTH, HS_ERR_CRYPTO);
    return hs_buf_put_hex(out, digest, used);
}

HS_DEFINE_FREEP(api_sigv4_mac_ctx_freep, EVP_MAC_CTX, EVP_MAC_CTX_free)

/* A new HMAC-SHA256 context keyed with key[0..n) (RFC 2104). The caller frees *out. */
static HS_RESULT api_sigv4_mac_new(const unsigned char *key, size_t n, EVP_MAC_CTX **out)
{
    const EVP_MD *md = NULL;
    EVP_MAC *mac = NULL;
    HS_GUARD(api_sigv4_algs(&md, &mac));
    HS_DEFER(EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac), api_sigv4_mac_ctx_freep);
    HS_ENSURE(ctx != NULL, HS_ERR_NOMEM);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)EVP_MD_get0_name(md), 0),
        OSSL_PARAM_construct_end()};
    HS_GUARD_OSSL(EVP_MAC_init(ctx, key, n, params), HS_ERR_CRYPTO);
    *out = ctx;
    ctx = NULL;
    return HS_OK;
}

/* Appends HMAC-SHA256(key, data): 32 bytes. */
static HS_RESULT api_sigv4_put_hmac(struct hs_buf *out, const struct hs_buf *key, const void *data,
                                    size_t n)
{
    HS_ENSURE(hs_buf_len(key) <= INT_MAX, HS_ERR_BOUNDS);
    unsigned char *w = NULL;
    unsigned int used = 0;
    HS_GUARD(hs_buf_reserve(out, SHA256_DIGEST_LENGTH, &w));
    HS_GUARD_OSSL_PTR(HMAC(EVP_sha256(), hs_buf_data(key), (int)hs_buf_len(key), data, n, w, &used),
                      HS_ERR_CRYPTO);
    HS_ENSURE(used == SHA256_DIGEST_LENGTH, HS_ERR_CRYPTO);
    return hs_buf_commit(out, used);
}

/* --- request shape ------------------------------------------------------------------------- */

static HS_RESULT api_sigv4_check_config(const struct api_sigv4_config *cfg)
{
    HS_ENSURE_REF(cfg->region);
    HS_ENSURE_REF(cfg->service);
    HS_ENSURE(cfg->keys != NULL || cfg->nkeys == 0, HS_ERR_INTERNAL);
    HS_ENSURE_MSG(cfg->max_skew_s >= 0, HS_ERR_INTERNAL, "sigv4: negative max_skew_s");
    return HS_OK;
}

static HS_RESULT api_sigv4_check_method(const char *method)
{
    size_t n = strnlen(method, API_SIGV4_METHOD_MAX + 1);
    HS_ENSURE_MSG(n <= API_SIGV4_METHOD_MAX, HS_ERR_INPUT_TOO_LARGE,
                  "sigv4: method longer than %d bytes", API_SIGV4_METHOD_MAX);
    HS_ENSURE_MSG(n > 0, HS_ERR_AUTH_MALFORMED, "sigv4: empty method");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = api_sigv4_lower((unsigned char)method[i]);
        HS_ENSURE_MSG(api_sigv4_is_lower_tchar(c), HS_ERR_AUTH_MALFORMED,
                      "sigv4: method is not an HTTP token");
    }
    return HS_OK;
}

static HS_RESULT api_sigv4_check_headers(const struct api_sigv4_request *req)
{
    HS_ENSURE_MSG(req->nheaders <= API_SIGV4_HEADERS_MAX, HS_ERR_INPUT_TOO_LARGE,
                  "sigv4: more than %d headers", API_SIGV4_HEADERS_MAX);
    HS_ENSURE(req->headers != NULL || req->nheaders == 0, HS_ERR_INTERNAL);
    for (size_t i = 0; i < req->nheaders; i++) {
        const struct api_header *h = &req->headers[i];
        HS_ENSURE_MSG(h->name != NULL && h->value != NULL, HS_ERR_AUTH_MALFORMED,
                      "sigv4: header %zu has no name or value", i);
        size_t n = strnlen(h->name, API_SIGV4_HEADER_NAME_MAX + 1);
        HS_ENSURE_MSG(n <= API_SIGV4_HEADER_NAME_MAX, HS_ERR_INPUT_TOO_LARGE,
                      "sigv4: header %zu: name longer than %d bytes", i, API_SIGV4_HEADER_NAME_MAX);
        HS_ENSURE_MSG(n > 0, HS_ERR_AUTH_MALFORMED, "sigv4: header %zu: empty name", i);
        HS_ENSURE_MSG(strnlen(h->value, API_SIGV4_HEADER_VALUE_MAX + 1) <=
                          API_SIGV4_HEADER_VALUE_MAX,
                      HS_ERR_INPUT_TOO_LARGE, "sigv4: header %zu: value longer than %d bytes", i,
                      API_SIGV4_HEADER_VALUE_MAX);
    }
    return HS_OK;
}

/* References and bounds of everything in req, before any of it is parsed. */
static HS_RESULT api_sigv4_check_request(const struct api_sigv4_request *req)
{
    HS_ENSURE_REF(req->method);
    HS_ENSURE_REF(req->target);
    HS_ENSURE(req->body != NULL || req->body_len == 0, HS_ERR_INTERNAL);
    HS_ENSURE_MSG(strnlen(req->target, API_SIGV4_TARGET_MAX + 1) <= API_SIGV4_TARGET_MAX,
                  HS_ERR_INPUT_TOO_LARGE, "sigv4: request-target longer than %d bytes",
                  API_SIGV4_TARGET_MAX);
    HS_ENSURE_MSG(req->body_len <= API_SIGV4_BODY_MAX, HS_ERR_INPUT_TOO_LARGE,
                  "sigv4: body longer than %d bytes", API_SIGV4_BODY_MAX);
    HS_GUARD(api_sigv4_check_method(req->method));
    return api_sigv4_check_headers(req);
}

/* How many headers are named `name` (lowercase); lends the first in *first (NULL if none). */
static size_t api_sigv4_find(const struct api_sigv4_request *req, struct api_sigv4_span name,
                             const struct api_header **first)
{
    size_t count = 0;
    *first = NULL;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (api_sigv4_name_eq(req->headers[i].name, name)) {
            if (count == 0) {
                *first = &req->headers[i];
            }
            count++;
        }
    }
    return count;
}

/* Lends the header named `name` (lowercase) in *out, NULL when absent. Errors:
 * HS_ERR_AUTH_MALFORMED when it appears more than once. */
static HS_RESULT api_sigv4_find_single(const struct api_sigv4_request *req, const char *name,
                                       const struct api_header **out)
{
    size_t count = api_sigv4_find(req, api_sigv4_span_of(name), out);
    HS_ENSURE_MSG(count <= 1, HS_ERR_AUTH_MALFORMED, "sigv4: repeated %s header", name);
    return HS_OK;
}

/* Splits the origin-form request-target (RFC 9112 §3.2.1) at its first '?'. */
static HS_RESULT api_sigv4_split_target(const char *target, struct api_sigv4_span *path,
                                        struct api_sigv4_span *query)
{
    struct api_sigv4_span t = api_sigv4_span_of(target);
    for (size_t i = 0; i < t.n; i++) {
        unsigned char c = (unsigned char)t.p[i];
        HS_ENSURE_MSG(c > 0x20 && c < 0x7f && c != '#', HS_ERR_AUTH_MALFORMED,
                      "sigv4: request-target byte %zu is not allowed", i);
    }
    const char *q = memchr(t.p, '?', t.n);
    size_t path_len = q != NULL ? (size_t)(q - t.p) : t.n;
    *path = (struct api_sigv4_span){t.p, path_len};
    *query = q != NULL ? (struct api_sigv4_span){q + 1, t.n - path_len - 1}
                       : (struct api_sigv4_span){t.p + t.n, 0};
    HS_ENSURE_MSG(path->n == 0 || path->p[0] == '/', HS_ERR_AUTH_MALFORMED,
                  "sigv4: request-target is not in origin form");
    return HS_OK;
}

/* --- canonical URI and query string -------------------------------------------------------- */

static HS_RESULT api_sigv4_check_escapes(struct api_sigv4_span s)
{
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] != '%') {
            continue;
        }
        HS_ENSURE_MSG(s.n - i >= 3 && hs_hex_digit((unsigned char)s.p[i + 1]) >= 0 &&
                          hs_hex_digit((unsigned char)s.p[i + 2]) >= 0,
                      HS_ERR_AUTH_MALFORMED, "sigv4: invalid %%-escape in path");
    }
    return HS_OK;
}

/* Splits a path into the segments the canonical URI keeps: "." and ".." are removed as RFC 3986
 * §5.2.4 says (".." above the root is dropped) and so are empty segments ("//"), all on the raw,
 * still percent-encoded text, as botocore's remove_dot_segments and the JavaScript SDK v3 do it.
 * *out gets an array of at least one slot, which the caller frees with OPENSSL_free. */
static HS_RESULT api_sigv4_path_segments(struct api_sigv4_span path, struct api_sigv4_span **out,
                                         size_t *out_n)
{
    size_t max = api_sigv4_count(path, '/') + 1;
    HS_DEFER(struct api_sigv4_span *segs = OPENSSL_malloc(max * sizeof(*segs)),
             api_sigv4_spans_freep);
    HS_ENSURE(segs != NULL, HS_ERR_NOMEM);
    size_t nsegs = 0;
    struct api_sigv4_split it = api_sigv4_split_init(path);
    struct api_sigv4_span seg;
    while (api_sigv4_split_next(&it, '/', &seg)) {
        if (seg.n == 0 || api_sigv4_span_eq(seg, ".")) {
            continue;
        }
        if (api_sigv4_span_eq(seg, "..")) {
            if (nsegs > 0) {
                nsegs--;
            }
            continue;
        }
        HS_ENSURE(nsegs < max, HS_ERR_BOUNDS);
        segs[nsegs++] = seg;
    }
    *out = segs;
    segs = NULL;
    *out_n = nsegs;
    return HS_OK;
}

/* Whether a normalised path keeps a trailing '/': when the raw path ends in one and a segment is
 * left ("/" alone is the root). */
static bool api_sigv4_keeps_trailing_slash(struct api_sigv4_span path, size_t nsegs)
{
    return nsegs > 0 && path.n > 0 && path.p[path.n - 1] == '/';
}

/* Appends the canonical URI of a non-S3 service: the segments of api_sigv4_path_segments(), each
 * percent-encoded again (so a wire "%20" is signed as "%2520"), joined with '/'. */
static HS_RESULT api_sigv4_put_canonical_uri(struct hs_buf *out, struct api_sigv4_span path)
{
    HS_GUARD(api_sigv4_check_escapes(path));
    HS_DEFER(struct api_sigv4_span *segs = NULL, api_sigv4_spans_freep);
    size_t nsegs = 0;
    HS_GUARD(api_sigv4_path_segments(path, &segs, &nsegs));
    for (size_t i = 0; i < nsegs; i++) {
        HS_GUARD(hs_buf_put_byte(out, '/'));
        HS_GUARD(api_sigv4_put_encoded(out, (const unsigned char *)segs[i].p, segs[i].n));
    }
    if (nsegs == 0 || api_sigv4_keeps_trailing_slash(path, nsegs)) {
        HS_GUARD(hs_buf_put_byte(out, '/'));
    }
    return HS_OK;
}

/* Query parameters that belong to query-string (presigned) authentication. */
static bool api_sigv4_is_presign_param(const unsigned char *name, size_t n)
{
    static const char *const refused[] = {
        "x-amz-algorithm", "x-amz-credential",    "x-amz-date",          "x-amz-expires",
        "x-amz-signature", "x-amz-signedheaders", "x-amz-security-token"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        size_t len = strlen(refused[i]);
        bool eq = n == len;
        for (size_t k = 0; eq && k < len; k++) {
            eq = api_sigv4_lower(name[k]) == (unsigned char)refused[i][k];
        }
        if (eq) {
            return true;
        }
    }
    return false;
}

/* Decodes one name or value into scratch and appends its AWS encoding to enc; *off gets where
 * it starts. When is_name, refuses the presigned parameters. */
static HS_RESULT api_sigv4_put_param_part(struct hs_buf *enc, struct hs_buf *scratch,
                                          struct api_sigv4_span raw, bool is_name, size_t *off)
{
    hs_buf_reset(scratch);
    HS_GUARD(api_sigv4_put_decoded(scratch, raw));
    HS_ENSURE_MSG(!is_name ||
                      !api_sigv4_is_presign_param(hs_buf_data(scratch), hs_buf_len(scratch)),
                  HS_ERR_AUTH_UNSUPPORTED,
                  "sigv4: query-string (presigned URL) authentication is not supported");
    *off = hs_buf_len(enc);
    return api_sigv4_put_encoded(enc, hs_buf_data(scratch), hs_buf_len(scratch));
}

static int api_sigv4_param_cmp(const void *a, const void *b)
{
    const struct api_sigv4_param *x = a;
    const struct api_sigv4_param *y = b;
    int c = api_sigv4_span_cmp(x->name, y->name);
    return c != 0 ? c : api_sigv4_span_cmp(x->value, y->value);
}

/* Appends the canonical query string: each name[=value] decoded and re-encoded, sorted by
 * encoded name then encoded value, joined as name=value with '&'. An empty query adds
 * nothing; "a&" has the parameters "a" and "" (as botocore splits it). */
static HS_RESULT api_sigv4_put_canonical_query(struct hs_buf *out, struct api_sigv4_span query)
{
    if (query.n == 0) {
        return HS_OK;
    }
    size_t count = api_sigv4_count(query, '&') + 1;
    HS_DEFER(struct api_sigv4_param *params = OPENSSL_zalloc(count * sizeof(*params)),
             api_sigv4_params_freep);
    HS_DEFER(struct hs_buf *enc = hs_buf_new(API_SIGV4_QUERY_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *scratch = hs_buf_new(API_SIGV4_TARGET_MAX), hs_buf_freep);
    HS_ENSURE(params != NULL && enc != NULL && scratch != NULL, HS_ERR_NOMEM);
    struct api_sigv4_split it = api_sigv4_split_init(query);
    struct api_sigv4_span field;
    size_t n = 0;
    while (api_sigv4_split_next(&it, '&', &field)) {
        HS_ENSURE(n < count, HS_ERR_BOUNDS);
        const char *eq = memchr(field.p, '=', field.n);
        size_t name_len = eq != NULL ? (size_t)(eq - field.p) : field.n;
        struct api_sigv4_span name = {field.p, name_len};
        struct api_sigv4_span value = {field.p + name_len, 0};
        if (eq != NULL) {
            value = (struct api_sigv4_span){eq + 1, field.n - name_len - 1};
        }
        struct api_sigv4_param *prm = &params[n++];
        HS_GUARD(api_sigv4_put_param_part(enc, scratch, name, true, &prm->name_off));
        prm->name.n = hs_buf_len(enc) - prm->name_off;
        HS_GUARD(api_sigv4_put_param_part(enc, scratch, value, false, &prm->value_off));
        prm->value.n = hs_buf_len(enc) - prm->value_off;
    }
    /* enc is final: its content no longer moves. */
    const char *base = (const char *)hs_buf_data(enc);
    for (size_t i = 0; i < n; i++) {
        params[i].name.p = base != NULL ? base + params[i].name_off : "";
        params[i].value.p = base != NULL ? base + params[i].value_off : "";
    }
    qsort(params, n, sizeof(*params), api_sigv4_param_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            HS_GUARD(hs_buf_put_byte(out, '&'));
        }
        HS_GUARD(hs_buf_put(out, params[i].name.p, params[i].name.n));
        HS_GUARD(hs_buf_put_byte(out, '='));
        HS_GUARD(hs_buf_put(out, params[i].value.p, params[i].value.n));
    }
    return HS_OK;
}

/* --- Authorization header ------------------------------------------------------------------ */

/* Stores one "Name=value" part of the Authorization header in a. */
static HS_RESULT api_sigv4_store_part(struct api_sigv4_auth *a, struct api_sigv4_span part)
{
    const char *eq = memchr(part.p, '=', part.n);
    HS_ENSURE_MSG(eq != NULL, HS_ERR_AUTH_MALFORMED, "sigv4: Authorization part without '='");
    struct api_sigv4_span name = {part.p, (size_t)(eq - part.p)};
    struct api_sigv4_span value = {eq + 1, part.n - name.n - 1};
    struct api_sigv4_span *slot = NULL;
    if (api_sigv4_span_eq(name, "Credential")) {
        slot = &a->credential;
    } else if (api_sigv4_span_eq(name, "SignedHeaders")) {
        slot = &a->signed_headers;
    } else if (api_sigv4_span_eq(name, "Signature")) {
        slot = &a->signature;
    }
    HS_ENSURE_MSG(slot != NULL, HS_ERR_AUTH_MALFORMED, "sigv4: unknown Authorization part");
    HS_ENSURE_MSG(slot->p == NULL, HS_ERR_AUTH_MALFORMED, "sigv4: repeated Authorization part");
    HS_ENSURE_MSG(value.n > 0, HS_ERR_AUTH_MALFORMED, "sigv4: empty Authorization part");
    for (size_t i = 0; i < value.n; i++) {
        HS_ENSURE_MSG(!api_sigv4_is_ows((unsigned char)value.p[i]), HS_ERR_AUTH_MALFORMED,
                      "sigv4: whitespace inside an Authorization part");
    }
    *slot = value;
    return HS_OK;
}

/* Credential=AKID/YYYYMMDD/region/service/aws4_request: five non-empty fields. */
static HS_RESULT api_sigv4_parse_credential(struct api_sigv4_auth *a)
{
    struct api_sigv4_span *fields[] = {&a->akid, &a->date, &a->region, &a->service, &a->terminator};
    size_t nfields = sizeof(fields) / sizeof(fields[0]);
    HS_ENSURE_MSG(api_sigv4_count(a->credential, '/') == nfields - 1, HS_ERR_AUTH_MALFORMED,
                  "sigv4: Credential is not AKID/date/region/service/aws4_request");
    struct api_sigv4_split it = api_sigv4_split_init(a->credential);
    for (size_t i = 0; i < nfields; i++) {
        HS_ENSURE(api_sigv4_split_next(&it, '/', fields[i]), HS_ERR_INTERNAL);
        HS_ENSURE_MSG(fields[i]->n > 0, HS_ERR_AUTH_MALFORMED, "sigv4: empty Credential field");
    }
    HS_ENSURE_MSG(a->akid.n <= API_SIGV4_AKID_MAX, HS_ERR_AUTH_MALFORMED,
                  "sigv4: access key id too long");
    for (size_t i = 0; i < a->akid.n; i++) {
        unsigned char c = (unsigned char)a->akid.p[i];
        HS_ENSURE_MSG((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'),
                      HS_ERR_AUTH_MALFORMED, "sigv4: access key id is not alphanumeric");
    }
    return HS_OK;
}

/* SignedHeaders=a;b;c: lowercase tokens, strictly ascending, "host" among them. */
static HS_RESULT api_sigv4_parse_signed_headers(struct api_sigv4_auth *a)
{
    struct api_sigv4_split it = api_sigv4_split_init(a->signed_headers);
    struct api_sigv4_span name;
    bool host = false;
    while (api_sigv4_split_next(&it, ';', &name)) {
        HS_ENSURE_MSG(a->nnames < API_SIGV4_SIGNED_HEADERS_MAX, HS_ERR_INPUT_TOO_LARGE,
                      "sigv4: more than %d signed headers", API_SIGV4_SIGNED_HEADERS_MAX);
        HS_ENSURE_MSG(name.n > 0, HS_ERR_AUTH_MALFORMED, "sigv4: empty name in SignedHeaders");
        for (size_t i = 0; i < name.n; i++) {
            HS_ENSURE_MSG(api_sigv4_is_lower_tchar((unsigned char)name.p[i]), HS_ERR_AUTH_MALFORMED,
                          "sigv4: SignedHeaders is not lowercase tokens");
        }
        HS_ENSURE_MSG(a->nnames == 0 || api_sigv4_span_cmp(a->names[a->nnames - 1], name) < 0,
                      HS_ERR_AUTH_MALFORMED, "sigv4: SignedHeaders is not sorted and unique");
        host = host || api_sigv4_span_eq(name, "host");
        a->names[a->nnames++] = name;
    }
    HS_ENSURE_MSG(host, HS_ERR_AUTH_MALFORMED, "sigv4: host is not signed");
    return HS_OK;
}

static HS_RESULT api_sigv4_check_signature_syntax(struct api_sigv4_span sig)
{
    HS_ENSURE_MSG(sig.n == API_SIGV4_SIG_HEX, HS_ERR_AUTH_MALFORMED,
                  "sigv4: Signature is not %d hex digits", API_SIGV4_SIG_HEX);
    for (size_t i = 0; i < sig.n; i++) {
        unsigned char c = (unsigned char)sig.p[i];
        HS_ENSURE_MSG((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'), HS_ERR_AUTH_MALFORMED,
                      "sigv4: Signature is not lowercase hex");
    }
    return HS_OK;
}

/* "AWS4-HMAC-SHA256" SP part ("," [SP...] part)*, each of the three parts exactly once. */
static HS_RESULT api_sigv4_parse_authz(struct api_sigv4_span v, struct api_sigv4_auth *a)
{
    size_t alg = strlen(API_SIGV4_ALGORITHM);
    size_t alg4a = strlen(API_SIGV4_ALGORITHM_4A);
    HS_ENSURE_MSG(v.n < alg4a || memcmp(v.p, API_SIGV4_ALGORITHM_4A, alg4a) != 0,
                  HS_ERR_AUTH_UNSUPPORTED,
                  "sigv4: SigV4a (AWS4-ECDSA-P256-SHA256) is not supported");
    HS_ENSURE_MSG(v.n > alg && memcmp(v.p, API_SIGV4_ALGORITHM, alg) == 0 && v.p[alg] == ' ',
                  HS_ERR_AUTH_MALFORMED, "sigv4: Authorization is not AWS4-HMAC-SHA256");
    struct api_sigv4_span rest = {v.p + alg, v.n - alg};
    struct api_sigv4_split it = api_sigv4_split_init(rest);
    struct api_sigv4_span part;
    while (api_sigv4_split_next(&it, ',', &part)) {
        while (part.n > 0 && part.p[0] == ' ') {
            part.p++;
            part.n--;
        }
        HS_ENSURE_MSG(part.n > 0, HS_ERR_AUTH_MALFORMED, "sigv4: empty Authorization part");
        HS_GUARD(api_sigv4_store_part(a, part));
    }
    HS_ENSURE_MSG(a->credential.p != NULL && a->signed_headers.p != NULL && a->signature.p != NULL,
                  HS_ERR_AUTH_MALFORMED, "sigv4: Authorization lacks a part");
    HS_GUARD(api_sigv4_check_signature_syntax(a->signature));
    HS_GUARD(api_sigv4_parse_credential(a));
    return api_sigv4_parse_signed_headers(a);
}

/* Finds and parses the single Authorization header. */
static HS_RESULT api_sigv4_read_authz(const struct api_sigv4_request *req, struct api_sigv4_auth *a)
{
    const struct api_header *h = NULL;
    HS_GUARD(api_sigv4_find_single(req, "authorization", &h));
    HS_ENSURE_MSG(h != NULL, HS_ERR_AUTH_MISSING, "sigv4: no Authorization header");
    struct api_sigv4_span v = api_sigv4_trim(h->value);
    HS_ENSURE_MSG(v.n <= API_SIGV4_AUTHZ_MAX, HS_ERR_INPUT_TOO_LARGE,
                  "sigv4: Authorization longer than %d bytes", API_SIGV4_AUTHZ_MAX);
    memset(a, 0, sizeof(*a));
    return api_sigv4_parse_authz(v, a);
}

static bool api_sigv4_is_signed(const struct api_sigv4_auth *a, const char *name)
{
    for (size_t i = 0; i < a->nnames; i++) {
        if (api_sigv4_span_eq(a->names[i], name)) {
            return true;
        }
    }
    return false;
}

/* Like api_sigv4_is_signed() for a request header's name, in any case. */
static bool api_sigv4_is_signed_name(const struct api_sigv4_auth *a, const char *name)
{
    for (size_t i = 0; i < a->nnames; i++) {
        if (api_sigv4_name_eq(name, a->names[i])) {
            return true;
        }
    }
    return false;
}

/* Whether a header name starts with "x-amz-" in any case. */
static bool api_sigv4_is_amz(const char *name)
{
    size_t n = strlen(API_SIGV4_AMZ_PREFIX);
    for (size_t i = 0; i < n; i++) {
        if (api_sigv4_lower((unsigned char)name[i]) != (unsigned char)API_SIGV4_AMZ_PREFIX[i]) {
            return false;
        }
    }
    return true;
}

/* Every signed header is in the request, every x-amz-* header of the request is signed (the
 * specification: "you must include ... any x-amz-* headers in the signature"), and the headers
 * SigV4 gives a meaning are not repeated. */
static HS_RESULT api_sigv4_check_signed_present(const struct api_sigv4_request *req,
                                                const struct api_sigv4_auth *a)
{
    static const char *const single[] = {"host", "x-amz-date", "x-amz-content-sha256",
                                         "x-amz-security-token"};
    const struct api_header *h = NULL;
    for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++) {
        HS_GUARD(api_sigv4_find_single(req, single[i], &h));
    }
    for (size_t i = 0; i < a->nnames; i++) {
        /* The name is a checked lowercase token; the detail shows at most 64 bytes of it. */
        int shown = a->names[i].n > 64 ? 64 : (int)a->names[i].n;
        HS_ENSURE_MSG(api_sigv4_find(req, a->names[i], &h) > 0, HS_ERR_AUTH_MALFORMED,
                      "sigv4: signed header %.*s is absent", shown, a->names[i].p);
    }
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *name = req->headers[i].name;
        HS_ENSURE_MSG(!api_sigv4_is_amz(name) || api_sigv4_is_signed_name(a, name),
                      HS_ERR_AUTH_MALFORMED, "sigv4: header %zu (x-amz-*) is not signed", i);
    }
    return HS_OK;
}

/* --- date, key, scope, token --------------------------------------------------------------- */

static int api_sigv4_digits(const char *p, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* Writes v (0 <= v < 10^n) as n decimal digits. */
static void api_sigv4_put_digits(char *w, int v, size_t n)
{
    for (size_t i = n; i > 0; i--) {
        w[i - 1] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* Whether v starts with the shape of pattern: '0' stands for a digit, 'a' for an ASCII letter
 * (the names are checked by the caller), anything else for itself. */
static bool api_sigv4_matches(struct api_sigv4_span v, const char *pattern)
{
    size_t n = strlen(pattern);
    if (v.n < n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v.p[i];
        bool ok = pattern[i] == '0'   ? (c >= '0' && c <= '9')
                  : pattern[i] == 'a' ? (api_sigv4_lower(c) >= 'a' && api_sigv4_lower(c) <= 'z')
                                      : c == (unsigned char)pattern[i];
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* Index of the three letters at p in names (exact case), -1 when absent. */
static int api_sigv4_name_index(const char *p, const char *const names[], int n)
{
    for (int i = 0; i < n; i++) {
        if (memcmp(p, names[i], 3) == 0) {
            return i;
        }
    }
    return -1;
}

/* Fills out from broken-down UTC fields that must make a real calendar time (timegm() turns
 * 31 April into 1 May, so a round trip tells) and, when wday >= 0, fall on that weekday. */
static HS_RESULT api_sigv4_time_from_tm(const struct tm *fields, int wday,
                                        struct api_sigv4_time *out)
{
    HS_ENSURE_MSG(fields->tm_year >= -1900 && fields->tm_year <= 9999 - 1900 &&
                      fields->tm_mon >= 0 && fields->tm_mon <= 11 && fields->tm_mday >= 1 &&
                      fields->tm_mday <= 31 && fields->tm_hour <= 23 && fields->tm_min <= 59 &&
                      fields->tm_sec <= 59,
                  HS_ERR_AUTH_MALFORMED, "sigv4: request date is out of range");
    struct tm tm = *fields;
    time_t t = timegm(&tm);
    struct tm back;
    HS_ENSURE_MSG(gmtime_r(&t, &back) != NULL && back.tm_year == fields->tm_year &&
                      back.tm_mon == fields->tm_mon && back.tm_mday == fields->tm_mday,
                  HS_ERR_AUTH_MALFORMED, "sigv4: request date is not a calendar date");
    HS_ENSURE_MSG(wday < 0 || back.tm_wday == wday, HS_ERR_AUTH_MALFORMED,
                  "sigv4: Date header names the wrong day of the week");
    out->t = t;
    api_sigv4_put_digits(out->iso, fields->tm_year + 1900, 4);
    api_sigv4_put_digits(out->iso + 4, fields->tm_mon + 1, 2);
    api_sigv4_put_digits(out->iso + 6, fields->tm_mday, 2);
    out->iso[8] = 'T';
    api_sigv4_put_digits(out->iso + 9, fields->tm_hour, 2);
    api_sigv4_put_digits(out->iso + 11, fields->tm_min, 2);
    api_sigv4_put_digits(out->iso + 13, fields->tm_sec, 2);
    out->iso[15] = 'Z';
    out->iso[API_SIGV4_DATE_LEN] = '\0';
    return HS_OK;
}

/* Parses YYYYMMDD'T'HHMMSS'Z' (the ISO 8601 basic format SigV4 uses) as UTC. */
static HS_RESULT api_sigv4_parse_amz_date(struct api_sigv4_span v, struct api_sigv4_time *out)
{
    HS_ENSURE_MSG(v.n == API_SIGV4_DATE_LEN && api_sigv4_matches(v, "00000000T000000Z"),
                  HS_ERR_AUTH_MALFORMED, "sigv4: X-Amz-Date is not YYYYMMDDTHHMMSSZ");
    struct tm tm = {
        .tm_year = api_sigv4_digits(v.p, 4) - 1900,
        .tm_mon = api_sigv4_digits(v.p + 4, 2) - 1,
        .tm_mday = api_sigv4_digits(v.p + 6, 2),
        .tm_hour = api_sigv4_digits(v.p + 9, 2),
        .tm_min = api_sigv4_digits(v.p + 11, 2),
        .tm_sec = api_sigv4_digits(v.p + 13, 2),
    };
    return api_sigv4_time_from_tm(&tm, -1, out);
}

/* Parses an HTTP Date in the RFC 9110 IMF-fixdate form ("Sun, 06 Nov 1994 08:49:37 GMT"), or
 * with the zone written "+0000" or "-0000" as RFC 1123 allows (botocore writes "-0000"). The
 * obsolete RFC 850 and asctime forms, and any other zone, are refused. */
static HS_RESULT api_sigv4_parse_http_date(struct api_sigv4_span v, struct api_sigv4_time *out)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const char pattern[] = "aaa, 00 aaa 0000 00:00:00 ";
    size_t head = sizeof(pattern) - 1;
    bool ok = api_sigv4_matches(v, pattern);
    struct api_sigv4_span zone = {v.p + head, ok ? v.n - head : 0};
    HS_ENSURE_MSG(ok && (api_sigv4_span_eq(zone, "GMT") || api_sigv4_span_eq(zone, "+0000") ||
                         api_sigv4_span_eq(zone, "-0000")),
                  HS_ERR_AUTH_MALFORMED, "sigv4: Date is not an IMF-fixdate in GMT");
    int wday = api_sigv4_name_index(v.p, days, 7);
    int mon = api_sigv4_name_index(v.p + 8, months, 12);
    HS_ENSURE_MSG(wday >= 0 && mon >= 0, HS_ERR_AUTH_MALFORMED,
                  "sigv4: Date has an unknown day or month name");
    struct tm tm = {
        .tm_year = api_sigv4_digits(v.p + 12, 4) - 1900,
        .tm_mon = mon,
        .tm_mday = api_sigv4_digits(v.p + 5, 2),
        .tm_hour = api_sigv4_digits(v.p + 17, 2),
        .tm_min = api_sigv4_digits(v.p + 20, 2),
        .tm_sec = api_sigv4_digits(v.p + 23, 2),
    };
    return api_sigv4_time_from_tm(&tm, wday, out);
}

/* Reads the request time: X-Amz-Date when present (it takes precedence, as the specification
 * says), otherwise the Date header. The one used must appear once and be signed. */
static HS_RESULT api_sigv4_read_date(const struct api_sigv4_request *req,
                                     const struct api_sigv4_auth *a, struct api_sigv4_time *out)
{
    const struct api_header *h = NULL;
    HS_GUARD(api_sigv4_find_single(req, "x-amz-date", &h));
    if (h != NULL) {
        HS_ENSURE_MSG(api_sigv4_is_signed(a, "x-amz-date"), HS_ERR_AUTH_MALFORMED,
                      "sigv4: X-Amz-Date is not signed");
        return api_sigv4_parse_amz_date(api_sigv4_trim(h->value), out);
    }
    HS_GUARD(api_sigv4_find_single(req, "date", &h));
    HS_ENSURE_MSG(h != NULL, HS_ERR_AUTH_MALFORMED, "sigv4: neither X-Amz-Date nor Date header");
    HS_ENSURE_MSG(api_sigv4_is_signed(a, "date"), HS_ERR_AUTH_MALFORMED,
                  "sigv4: Date is not signed");
    return api_sigv4_parse_http_date(api_sigv4_trim(h->value), out);
}

static bool api_sigv4_within_skew(time_t now, time_t t, long max_skew_s)
{
    long long d = 0;
    if (__builtin_sub_overflow((long long)now, (long long)t, &d)) {
        return false;
    }
    return d <= max_skew_s && d >= -(long long)max_skew_s;
}

static HS_RESULT api_sigv4_find_key(const struct api_sigv4_config *cfg, struct api_sigv4_span akid,
                                    const struct api_sigv4_key **out)
{
    for (size_t i = 0; i < cfg->nkeys; i++) {
        const struct api_sigv4_key *k = &cfg->keys[i];
        HS_ENSURE_REF(k->access_key_id);
        if (api_sigv4_span_eq(akid, k->access_key_id)) {
            HS_ENSURE_REF(k->secret_access_key);
            *out = k;
            return HS_OK;
        }
    }
    /* The key id was checked to be at most API_SIGV4_AKID_MAX alphanumerics. */
    HS_BAIL_MSG(HS_ERR_AUTH_UNKNOWN_KEY, "sigv4: unknown access key id %.*s", (int)akid.n, akid.p);
}

static HS_RESULT api_sigv4_check_scope(const struct api_sigv4_config *cfg,
                                       const struct api_sigv4_auth *a,
                                       const struct api_sigv4_time *when)
{
    struct api_sigv4_span day = {when->iso, API_SIGV4_SCOPE_DATE_LEN};
    HS_ENSURE_MSG(api_sigv4_span_cmp(a->date, day) == 0, HS_ERR_AUTH_SCOPE,
                  "sigv4: credential scope date is not the request's day");
    HS_ENSURE_MSG(api_sigv4_span_eq(a->region, cfg->region), HS_ERR_AUTH_SCOPE,
                  "sigv4: credential scope region is not %s", cfg->region);
    HS_ENSURE_MSG(api_sigv4_span_eq(a->service, cfg->service), HS_ERR_AUTH_SCOPE,
                  "sigv4: credential scope service is not %s", cfg->service);
    HS_ENSURE_MSG(api_sigv4_span_eq(a->terminator, API_SIGV4_TERMINATOR), HS_ERR_AUTH_SCOPE,
                  "sigv4: credential scope does not end in aws4_request");
    return HS_OK;
}

/* Compares the presented session token with the configured one through their SHA-256 digests,
 * so that the time taken shows neither where they differ nor the configured token's length. */
static HS_RESULT api_sigv4_check_token_value(const struct hs_secret *want,
                                             struct api_sigv4_span got)
{
    HS_DEFER(struct hs_buf *a = hs_buf_new_sensitive(API_SIGV4_HASH_HEX), hs_buf_freep);
    HS_DEFER(struct hs_buf *b = hs_buf_new_sensitive(API_SIGV4_HASH_HEX), hs_buf_freep);
    HS_ENSURE(a != NULL && b != NULL, HS_ERR_NOMEM);
    const unsigned char *p = NULL;
    size_t n = 0;
    hs_secret_get0(want, &p, &n);
    HS_GUARD(api_sigv4_put_sha256_hex(a, p, n));
    HS_GUARD(api_sigv4_put_sha256_hex(b, got.p, got.n));
    HS_ENSURE_MSG(CRYPTO_memcmp(hs_buf_data(a), hs_buf_data(b), API_SIGV4_HASH_HEX) == 0,
                  HS_ERR_AUTH_MALFORMED,
                  "sigv4: x-amz-security-token does not match the key's session token");
    return HS_OK;
}

/* The session-token rule of struct api_sigv4_key. */
static HS_RESULT api_sigv4_check_token(const struct api_sigv4_request *req,
                                       const struct api_sigv4_key *key,
                                       const struct api_sigv4_auth *a)
{
    const struct api_header *h = NULL;
    HS_GUARD(api_sigv4_find_single(req, "x-amz-security-token", &h));
    if (key->session_token == NULL) {
        HS_ENSURE_MSG(h == NULL, HS_ERR_AUTH_MALFORMED,
                      "sigv4: x-amz-security-token sent for a key without a session token");
        return HS_OK;
    }
    HS_ENSURE_MSG(h != NULL, HS_ERR_AUTH_MALFORMED, "sigv4: x-amz-security-token missing");
    HS_ENSURE_MSG(api_sigv4_is_signed(a, "x-amz-security-token"), HS_ERR_AUTH_MALFORMED,
                  "sigv4: x-amz-security-token is not signed");
    return api_sigv4_check_token_value(key->session_token, api_sigv4_trim(h->value));
}

/* --- canonical request, string to sign, signature ------------------------------------------ */

/* Appends one header value trimmed, with runs of spaces and tabs collapsed to one space.
 * Errors: HS_ERR_AUTH_MALFORMED for a control character (a folded or smuggled line). */
static HS_RESULT api_sigv4_put_header_value(struct hs_buf *out, const char *value)
{
    struct api_sigv4_span v = api_sigv4_trim(value);
    if (v.n == 0) {
        return HS_OK;
    }
    unsigned char *w = NULL;
    HS_GUARD(hs_buf_reserve(out, v.n, &w));
    size_t used = 0;
    for (size_t i = 0; i < v.n; i++) {
        unsigned char c = (unsigned char)v.p[i];
        HS_ENSURE_MSG((c >= 0x20 && c != 0x7f) || c == '\t', HS_ERR_AUTH_MALFORMED,
                      "sigv4: control character in a signed header value");
        if (api_sigv4_is_ows(c)) {
            /* v is trimmed, so a blank is never first and used > 0 here. */
            if (w[used - 1] != ' ') {
                w[used++] = ' ';
            }
        } else {
            w[used++] = c;
        }
    }
    return hs_buf_commit(out, used);
}

/* Appends "name:value[,value...]\n" for each signed header, in SignedHeaders order. */
static HS_RESULT api_sigv4_put_canonical_headers(struct hs_buf *out,
                                                 const struct api_sigv4_request *req,
                                                 const struct api_sigv4_auth *a)
{
    for (size_t i = 0; i < a->nnames; i++) {
        HS_GUARD(hs_buf_put(out, a->names[i].p, a->names[i].n));
        HS_GUARD(hs_buf_put_byte(out, ':'));
        size_t found = 0;
        for (size_t k = 0; k < req->nheaders; k++) {
            if (!api_sigv4_name_eq(req->headers[k].name, a->names[i])) {
                continue;
            }
            if (found++ > 0) {
                HS_GUARD(hs_buf_put_byte(out, ','));
            }
            HS_GUARD(api_sigv4_put_header_value(out, req->headers[k].value));
        }
        HS_ENSURE(found > 0, HS_ERR_AUTH_MALFORMED);
        HS_GUARD(hs_buf_put_byte(out, '\n'));
    }
    return HS_OK;
}

/* Appends the hex SHA-256 of the body, checked against x-amz-content-sha256 when present. */
static HS_RESULT api_sigv4_put_payload_hash(struct hs_buf *out, const struct api_sigv4_request *req)
{
    const struct api_header *h = NULL;
    HS_GUARD(api_sigv4_find_single(req, "x-amz-content-sha256", &h));
    size_t start = hs_buf_len(out);
    HS_GUARD(api_sigv4_put_sha256_hex(out, req->body, req->body_len));
    if (h == NULL) {
        return HS_OK;
    }
    struct api_sigv4_span v = api_sigv4_trim(h->value);
    /* Every route takes a body that decides what gets signed, so the signature must cover it:
     * no UNSIGNED-PAYLOAD, and no STREAMING-* (aws-chunked) forms either. */
    HS_ENSURE_MSG(!api_sigv4_span_eq(v, "UNSIGNED-PAYLOAD") &&
                      !(v.n >= 10 && memcmp(v.p, "STREAMING-", 10) == 0),
                  HS_ERR_AUTH_UNSUPPORTED,
                  "sigv4: unsigned or streaming payloads are not accepted");
    HS_ENSURE_MSG(v.n == API_SIGV4_HASH_HEX &&
                      CRYPTO_memcmp(v.p, hs_buf_data(out) + start, API_SIGV4_HASH_HEX) == 0,
                  HS_ERR_AUTH_SIGNATURE, "sigv4: x-amz-content-sha256 is not the body's hash");
    return HS_OK;
}

/* Method \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n
 * HashedPayload (the canonical headers end in their own \n, hence the empty line). */
static HS_RESULT api_sigv4_canonical_request(const struct api_sigv4_request *req,
                                             const struct api_sigv4_auth *a,
                                             struct api_sigv4_span path,
                                             const struct hs_buf *cquery, struct hs_buf *out)
{
    HS_GUARD(hs_buf_put_str(out, req->method));
    HS_GUARD(hs_buf_put_byte(out, '\n'));
    HS_GUARD(api_sigv4_put_canonical_uri(out, path));
    HS_GUARD(hs_buf_put_byte(out, '\n'));
    HS_GUARD(hs_buf_put(out, hs_buf_data(cquery), hs_buf_len(cquery)));
    HS_GUARD(hs_buf_put_byte(out, '\n'));
    HS_GUARD(api_sigv4_put_canonical_headers(out, req, a));
    HS_GUARD(hs_buf_put_byte(out, '\n'));
    HS_GUARD(hs_buf_put(out, a->signed_headers.p, a->signed_headers.n));
    HS_GUARD(hs_buf_put_byte(out, '\n'));
    return api_sigv4_put_payload_hash(out, req);
}

/* Appends date/region/service/aws4_request (the scope as received, checked against cfg). */
static HS_RESULT api_sigv4_put_scope(struct hs_buf *out, const struct api_sigv4_auth *a)
{
    const struct api_sigv4_span parts[] = {a->date, a->region, a->service, a->terminator};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (i > 0) {
            HS_GUARD(hs_buf_put_byte(out, '/'));
        }
        HS_GUARD(hs_buf_put(out, parts[i].p, parts[i].n));
    }
    return HS_OK;
}

/* "AWS4-HMAC-SHA256" \n X-Amz-Date \n scope \n hex(SHA-256(canonical request)). */
static HS_RESULT api_sigv4_string_to_sign(const struct api_sigv4_auth *a,
                                          struct api_sigv4_span date, const struct hs_buf *creq,
                                          struct hs_buf *out)
{
    HS_GUARD(hs_buf_put_str(out, API_SIGV4_ALGORITHM "\n"));
    HS_GUARD(hs_buf_put(out, date.p, date.n));
    HS_GUARD(hs_buf_put_byte(out, '\n'));
    HS_GUARD(api_sigv4_put_scope(out, a));
    HS_GUARD(hs_buf_put_byte(out, '\n'));
    return api_sigv4_put_sha256_hex(out, hs_buf_data(creq), hs_buf_len(creq));
}

/* Appends kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
 * "aws4_request"). Every intermediate key lives in a sensitive buffer, wiped when freed. */
static HS_RESULT api_sigv4_signing_key(const struct hs_secret *secret,
                                       const struct api_sigv4_auth *a, struct hs_buf *out)
{
    HS_DEFER(struct hs_buf *k = hs_buf_new_sensitive(API_SIGV4_KEY_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *next = hs_buf_new_sensitive(API_SIGV4_KEY_MAX), hs_buf_freep);
    HS_ENSURE(k != NULL && next != NULL, HS_ERR_NOMEM);
    const unsigned char *s = NULL;
    size_t s_len = 0;
    hs_secret_get0(secret, &s, &s_len);
    HS_GUARD(hs_buf_put_str(k, "AWS4"));
    HS_GUARD(hs_buf_put(k, s, s_len));
    const struct api_sigv4_span parts[] = {a->date, a->region, a->service, a->terminator};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        hs_buf_reset(next);
        HS_GUARD(api_sigv4_put_hmac(next, k, parts[i].p, parts[i].n));
        struct hs_buf *t = k;
        k = next;
        next = t;
    }
    return hs_buf_put(out, hs_buf_data(k), hs_buf_len(k));
}

struct api_sigv4_cache {
    pthread_mutex_t lock;
    size_t scope_len; /* 0: empty */
    char scope[API_SIGV4_CACHE_SCOPE_MAX];
    /* HMAC-SHA256 keyed with kSigning for scope (NULL when empty): each verification works on
     * a copy (EVP_MAC_CTX_dup), which also spares the key's two blocks of the hash. */
    EVP_MAC_CTX *keyed;
    unsigned long hits;
    unsigned long misses;
};

HS_RESULT api_sigv4_cache_new(struct api_sigv4_cache **out)
{
    HS_ENSURE_REF(out);
    /* Ordinary heap: the struct holds no key bytes (kSigning lives inside the HMAC context,
     * which OpenSSL keeps and cleanses), and a pointer kept in the secure heap's arena is out of
     * LeakSanitizer's sight, which then reports the context as leaked. */
    struct api_sigv4_cache *c = OPENSSL_zalloc(sizeof(*c));
    HS_ENSURE(c != NULL, HS_ERR_NOMEM);
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        OPENSSL_clear_free(c, sizeof(*c));
        HS_BAIL(HS_ERR_INTERNAL);
    }
    *out = c;
    return HS_OK;
}

void api_sigv4_cache_free(struct api_sigv4_cache *cache)
{
    if (cache != NULL) {
        pthread_mutex_destroy(&cache->lock);
        EVP_MAC_CTX_free(cache->keyed);
        OPENSSL_clear_free(cache, sizeof(*cache));
    }
}

void api_sigv4_cache_counts(struct api_sigv4_cache *cache, unsigned long *hits,
                            unsigned long *misses)
{
    pthread_mutex_lock(&cache->lock);
    *hits = cache->hits;
    *misses = cache->misses;
    pthread_mutex_unlock(&cache->lock);
}

/* The credential scope as signed: date/region/service/terminator, one contiguous piece of the
 * Credential value (the four parts follow each other there, split at '/'). */
static struct api_sigv4_span api_sigv4_scope_of(const struct api_sigv4_auth *a)
{
    struct api_sigv4_span s = {a->date.p, (size_t)(a->terminator.p - a->date.p) + a->terminator.n};
    return s;
}

/* Keeps a copy of ctx (keyed for scope) in c, replacing what it held. */
static HS_RESULT api_sigv4_cache_keep(struct api_sigv4_cache *c, struct api_sigv4_span scope,
                                      const EVP_MAC_CTX *ctx)
{
    EVP_MAC_CTX *keep = EVP_MAC_CTX_dup(ctx);
    HS_ENSURE(keep != NULL, HS_ERR_NOMEM);
    pthread_mutex_lock(&c->lock);
    EVP_MAC_CTX *old = c->keyed;
    c->keyed = keep;
    memcpy(c->scope, scope.p, scope.n);
    c->scope_len = scope.n;
    c->misses++;
    pthread_mutex_unlock(&c->lock);
    EVP_MAC_CTX_free(old);
    return HS_OK;
}

/* A new HMAC context keyed with kSigning for a's scope: a copy of key's cached one when the
 * cache holds that scope, else derived (and then kept). Only a scope already checked against
 * the configuration (api_sigv4_check_scope) gets here, so the cache holds one of at most two
 * days. The caller frees *out. */
static HS_RESULT api_sigv4_keyed_get(const struct api_sigv4_key *key,
                                     const struct api_sigv4_auth *a, EVP_MAC_CTX **out)
{
    struct api_sigv4_cache *c = key->cache;
    struct api_sigv4_span scope = api_sigv4_scope_of(a);
    bool cacheable = c != NULL && scope.n <= sizeof(c->scope);
    if (cacheable) {
        pthread_mutex_lock(&c->lock);
        bool hit =
            c->keyed != NULL && c->scope_len == scope.n && memcmp(c->scope, scope.p, scope.n) == 0;
        EVP_MAC_CTX *copy = hit ? EVP_MAC_CTX_dup(c->keyed) : NULL;
        c->hits += hit ? 1 : 0;
        pthread_mutex_unlock(&c->lock);
        if (hit) {
            HS_ENSURE(copy != NULL, HS_ERR_NOMEM);
            *out = copy;
            return HS_OK;
        }
    }
    HS_DEFER(struct hs_buf *kdf = hs_buf_new_sensitive(SHA256_DIGEST_LENGTH), hs_buf_freep);
    HS_ENSURE(kdf != NULL, HS_ERR_NOMEM);
    HS_GUARD(api_sigv4_signing_key(key->secret_access_key, a, kdf));
    HS_DEFER(EVP_MAC_CTX *ctx = NULL, api_sigv4_mac_ctx_freep);
    HS_GUARD(api_sigv4_mac_new(hs_buf_data(kdf), hs_buf_len(kdf), &ctx));
    if (cacheable) {
        HS_GUARD(api_sigv4_cache_keep(c, scope, ctx));
    }
    *out = ctx;
    ctx = NULL;
    return HS_OK;
}

/* Appends HMAC-SHA256(kSigning, sts): 32 bytes. */
static HS_RESULT api_sigv4_put_signature(const struct api_sigv4_key *key,
                                         const struct api_sigv4_auth *a, const struct hs_buf *sts,
                                         struct hs_buf *out)
{
    HS_DEFER(EVP_MAC_CTX *ctx = NULL, api_sigv4_mac_ctx_freep);
    HS_GUARD(api_sigv4_keyed_get(key, a, &ctx));
    HS_GUARD_OSSL(EVP_MAC_update(ctx, hs_buf_data(sts), hs_buf_len(sts)), HS_ERR_CRYPTO);
    unsigned char *w = NULL;
    size_t used = 0;
    HS_GUARD(hs_buf_reserve(out, SHA256_DIGEST_LENGTH, &w));
    HS_GUARD_OSSL(EVP_MAC_final(ctx, w, &used, SHA256_DIGEST_LENGTH), HS_ERR_CRYPTO);
    HS_ENSURE(used == SHA256_DIGEST_LENGTH, HS_ERR_CRYPTO);
    return hs_buf_commit(out, used);
}

static HS_RESULT api_sigv4_check_signature(const struct api_sigv4_request *req,
                                           const struct api_sigv4_key *key,
                                           const struct api_sigv4_auth *a,
                                           struct api_sigv4_span path, struct api_sigv4_span date,
                                           const struct hs_buf *cquery)
{
    HS_DEFER(struct hs_buf *creq = hs_buf_new(API_SIGV4_CREQ_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *sts = hs_buf_new(API_SIGV4_STS_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *mac = hs_buf_new_sensitive(SHA256_DIGEST_LENGTH), hs_buf_freep);
    HS_DEFER(struct hs_buf *hex = hs_buf_new_sensitive(API_SIGV4_SIG_HEX), hs_buf_freep);
    HS_ENSURE(creq != NULL && sts != NULL && mac != NULL && hex != NULL, HS_ERR_NOMEM);
    HS_GUARD(api_sigv4_canonical_request(req, a, path, cquery, creq));
    HS_GUARD(api_sigv4_string_to_sign(a, date, creq, sts));
    HS_GUARD(api_sigv4_put_signature(key, a, sts, mac));
    HS_GUARD(hs_buf_put_hex(hex, hs_buf_data(mac), hs_buf_len(mac)));
    HS_ENSURE(hs_buf_len(hex) == API_SIGV4_SIG_HEX && a->signature.n == API_SIGV4_SIG_HEX,
              HS_ERR_INTERNAL);
    HS_ENSURE_MSG(CRYPTO_memcmp(hs_buf_data(hex), a->signature.p, API_SIGV4_SIG_HEX) == 0,
                  HS_ERR_AUTH_SIGNATURE, "sigv4: signature does not match");
    return HS_OK;
}

HS_RESULT api_sigv4_verify(const struct api_sigv4_config *cfg, const struct api_sigv4_request *req,
                           const struct api_sigv4_key **out_key)
{
    HS_ENSURE_REF(cfg);
    HS_ENSURE_REF(req);
    HS_ENSURE_REF(out_key);
    HS_GUARD(api_sigv4_check_config(cfg));
    HS_GUARD(api_sigv4_check_request(req));
    struct api_sigv4_span path = {NULL, 0};
    struct api_sigv4_span query = {NULL, 0};
    HS_GUARD(api_sigv4_split_target(req->target, &path, &query));
    /* Before the Authorization header, so that a presigned request is told it is unsupported
     * rather than unauthenticated. */
    HS_DEFER(struct hs_buf *cquery = hs_buf_new(API_SIGV4_QUERY_MAX), hs_buf_freep);
    HS_ENSURE(cquery != NULL, HS_ERR_NOMEM);
    HS_GUARD(api_sigv4_put_canonical_query(cquery, query));
    struct api_sigv4_auth auth;
    HS_GUARD(api_sigv4_read_authz(req, &auth));
    HS_GUARD(api_sigv4_check_signed_present(req, &auth));
    struct api_sigv4_time when;
    HS_GUARD(api_sigv4_read_date(req, &auth, &when));
    const struct api_sigv4_key *key = NULL;
    HS_GUARD(api_sigv4_find_key(cfg, auth.akid, &key));
    HS_GUARD(api_sigv4_check_scope(cfg, &auth, &when));
    HS_ENSURE_MSG(api_sigv4_within_skew(req->now, when.t, cfg->max_skew_s), HS_ERR_AUTH_EXPIRED,
                  "sigv4: request date is more than %ld s from now", cfg->max_skew_s);
    HS_GUARD(api_sigv4_check_token(req, key, &auth));
    struct api_sigv4_span date = {when.iso, API_SIGV4_DATE_LEN};
    HS_GUARD(api_sigv4_check_signature(req, key, &auth, path, date, cquery));
    *out_key = key;
    return HS_OK;
}

/* --- the path for routing ------------------------------------------------------------------ */

/* Appends the percent-decoding of one path segment. Errors: HS_ERR_INPUT for a decoded '/', '\',
 * control byte or DEL, or a segment that decodes to "." or "..", which a router could misread. */
static HS_RESULT api_sigv4_put_route_segment(struct hs_buf *out, struct api_sigv4_span seg)
{
    size_t start = hs_buf_len(out);
    HS_GUARD(api_sigv4_put_decoded(out, seg));
    const unsigned char *d = hs_buf_data(out) + start;
    size_t n = hs_buf_len(out) - start;
    for (size_t i = 0; i < n; i++) {
        HS_ENSURE_MSG(d[i] >= 0x20 && d[i] != 0x7f && d[i] != '/' && d[i] != '\\', HS_ERR_INPUT,
                      "route path: a segment decodes to a separator or control byte");
    }
    bool dots = (n == 1 && d[0] == '.') || (n == 2 && d[0] == '.' && d[1] == '.');
    HS_ENSURE_MSG(!dots, HS_ERR_INPUT, "route path: a segment decodes to . or ..");
    return HS_OK;
}

HS_RESULT api_sigv4_route_path(const char *target, struct hs_buf *out)
{
    HS_ENSURE_REF(target);
    HS_ENSURE_REF(out);
    HS_ENSURE_MSG(strnlen(target, API_SIGV4_TARGET_MAX + 1) <= API_SIGV4_TARGET_MAX,
                  HS_ERR_INPUT_TOO_LARGE, "route path: request-target longer than %d bytes",
                  API_SIGV4_TARGET_MAX);
    struct api_sigv4_span path = {NULL, 0};
    struct api_sigv4_span query = {NULL, 0};
    hs_result r = api_sigv4_split_target(target, &path, &query);
    HS_ENSURE_MSG(!hs_failed(r) && !hs_failed(api_sigv4_check_escapes(path)), HS_ERR_INPUT,
                  "route path: not an origin-form path with valid %%-escapes");
    HS_DEFER(struct api_sigv4_span *segs = NULL, api_sigv4_spans_freep);
    size_t nsegs = 0;
    HS_GUARD(api_sigv4_path_segments(path, &segs, &nsegs));
    HS_DEFER(struct hs_buf *decoded = hs_buf_new(API_SIGV4_TARGET_MAX + 1), hs_buf_freep);
    HS_ENSURE(decoded != NULL, HS_ERR_NOMEM);
    for (size_t i = 0; i < nsegs; i++) {
        HS_GUARD(hs_buf_put_byte(decoded, '/'));
        HS_GUARD(api_sigv4_put_route_segment(decoded, segs[i]));
    }
    if (nsegs == 0 || api_sigv4_keeps_trailing_slash(path, nsegs)) {
        HS_GUARD(hs_buf_put_byte(decoded, '/'));
    }
    return hs_buf_put(out, hs_buf_data(decoded), hs_buf_len(decoded));
}
