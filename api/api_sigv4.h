/*
 * api_sigv4: server-side verification of AWS Signature Version 4 (header form).
 *
 * Follows the IAM User Guide, "Create a signed AWS API request" and "Elements of an AWS API
 * request signature": the canonical request (method, canonical URI, canonical query string,
 * canonical headers, signed headers, hashed payload), the string to sign ("AWS4-HMAC-SHA256",
 * request date, credential scope, hex SHA-256 of the canonical request) and the signing key
 * HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). SHA-256 and
 * HMAC come from libcrypto.
 *
 * What is accepted, and what is refused as HS_ERR_AUTH_UNSUPPORTED (a form of SigV4 that is valid
 * but not taken here):
 *   - Only the Authorization header with AWS4-HMAC-SHA256. Query-string (presigned URL)
 *     authentication is refused: every authenticated route is a POST whose JSON body decides
 *     what is signed, and SDK presigners cannot carry it (botocore's SigV4QueryAuth moves the
 *     body's members into the query and sends no body); a presigned URL would also stretch the
 *     replay window from the clock skew to X-Amz-Expires (up to 7 days) and put the signature
 *     and any session token into URLs that proxies log. SigV4a (AWS4-ECDSA-P256-SHA256) is
 *     refused.
 *   - The payload is always signed: x-amz-content-sha256, when present, must be the body's hash;
 *     UNSIGNED-PAYLOAD and the STREAMING-* (aws-chunked) values are refused, because a
 *     signature that does not cover the body would let anyone who sees one request swap the
 *     CSR or audience within the skew.
 *   - The request time comes from X-Amz-Date (YYYYMMDD'T'HHMMSS'Z'), or, when there is none,
 *     from a signed Date header (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", or "+0000" /
 *     "-0000" for GMT, which is what botocore writes when a request already has a Date).
 *
 * The canonical URI uses the rule for services other than S3, as botocore and the AWS SDK for
 * JavaScript v3 compute it: the path exactly as received (still percent-encoded) has its dot
 * segments removed (RFC 3986 §5.2.4) and its empty segments dropped ("//" collapses to "/"),
 * then every byte except A-Z a-z 0-9 - _ . ~ and '/' is percent-encoded again (so a wire
 * "%20" is signed as "%2520"). Escapes are not decoded first: "%2E%2E" is not a dot segment and
 * "%2F" does not split a segment. Because of this normalisation one signature covers
 * "/v1//./certificates" and "/v1/certificates": a router must either route on
 * api_sigv4_route_path(), which normalises the same way, or compare the raw path exactly, so
 * that only the normal spelling of a route reaches its handler (what api_route does).
 *
 * The canonical query string percent-decodes each name and value and re-encodes them (RFC 3986
 * unreserved characters kept, all else %XX in upper case), sorted by encoded name then value,
 * with "=" after a name that has no value. A '+' in the raw query is a literal plus, not a
 * space, and is signed as "%2B" (RFC 3986; the specification says a space is "%20", never '+').
 *
 * Signers, as checked by tests/unit/api_sigv4_vectors.py and tests/integration/sigv4_test.sh:
 * botocore 1.29 normalises and double-encodes the path as above, but signs a query given in the
 * URL as written (sorted, but not decoded and re-encoded), and sends a `params` dict
 * urlencoded with '+' for a space while signing "%20". curl 7.88 (--aws-sigv4) signs the path
 * and the query exactly as sent, neither normalised, re-encoded nor sorted, and lists a
 * repeated header twice in SignedHeaders. So both verify for a normal path (no ".", ".." or
 * empty segment) of unreserved characters, such as every route's, and a query that is already
 * canonical (sorted, %20 for a space, upper-case escapes); other spellings fail as
 * signature_mismatch here, as they would at AWS.
 */
#ifndef API_SIGV4_H
#define API_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"
#include "common/hs_secret.h"

/* Input bounds; a request over any of them fails with HS_ERR_INPUT_TOO_LARGE. */
#define API_SIGV4_TARGET_MAX 8192        /* bytes of the request-target */
#define API_SIGV4_AUTHZ_MAX 2048         /* bytes of the Authorization value */
#define API_SIGV4_SIGNED_HEADERS_MAX 64  /* names in SignedHeaders */
#define API_SIGV4_HEADERS_MAX 128        /* request headers (repeats count each time) */
#define API_SIGV4_HEADER_NAME_MAX 256    /* bytes of one header name */
#define API_SIGV4_HEADER_VALUE_MAX 8192  /* bytes of one header value */
#define API_SIGV4_BODY_MAX (1024 * 1024) /* bytes of the body */
#define API_SIGV4_METHOD_MAX 32          /* bytes of the method */

/* One request header as received. Names compare case-insensitively (ASCII); the value is used
 * with leading and trailing spaces and tabs removed. Both must be non-NULL, NUL-terminated. */
struct api_header {
    const char *name;
    const char *value;
};

/* The signing key derived for one access key (AWS SigV4, "Calculate the signature":
 * kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")),
 * kept for the credential scope it was last derived for, so that the four HMACs run once per
 * key and day instead of once per request. It lives on the OpenSSL secure heap and is wiped
 * when freed; a mutex makes it safe for concurrent api_sigv4_verify() calls. */
struct api_sigv4_cache;

/* One accepted credential. All pointers are borrowed from the caller for the life of the
 * configuration. */
struct api_sigv4_key {
    const char *access_key_id;
    const struct hs_secret *secret_access_key;
    /* NULL = none. When set, the request must carry x-amz-security-token equal to it (compared
     * in constant time) and list it in SignedHeaders; when NULL, a request carrying
     * x-amz-security-token is refused. */
    const struct hs_secret *session_token;
    const char *principal_arn; /* e.g. arn:aws:iam::123456789012:role/ci; not used here */
    /* NULL = derive the signing key for every request. Otherwise this key's own cache
     * (api_sigv4_cache_new), one per key: it holds what secret_access_key derived, so it must
     * not outlive that secret nor be shared with another key. */
    struct api_sigv4_cache *cache;
};

struct api_sigv4_config {
    const char *region;  /* e.g. "us-east-1"; compared exactly with the credential scope */
    const char *service; /* "execute-api"; compared exactly with the credential scope */
    long max_skew_s;     /* allowed |now - X-Amz-Date| in seconds (inclusive), >= 0; 300 */
    const struct api_sigv4_key *keys; /* the first entry whose access_key_id matches is used */
    size_t nkeys;
};

struct api_sigv4_request {
    const char *method; /* "GET", "POST" ... as received (case-sensitive, not upper-cased) */
    /* Raw HTTP request-target exactly as received, in origin form and still percent-encoded:
     * "/v1/certificates?b=2&a=1". Visible ASCII only; every '%' starts a valid %XX escape. */
    const char *target;
    const struct api_header *headers;
    size_t nheaders;
    const unsigned char *body; /* may be NULL when body_len is 0 */
    size_t body_len;
    time_t now; /* seconds since the epoch (UTC) */
};

/*
 * Verifies the "Authorization: AWS4-HMAC-SHA256 Credential=AKID/YYYYMMDD/region/service/
 * aws4_request, SignedHeaders=a;b;c, Signature=<64 lowercase hex>" header of req (the three
 * parts in any order, separated by ',' and optional spaces) against cfg. On success lends the
 * matching key in *out_key (it points into cfg->keys and lives as long as cfg); on failure
 * *out_key is not written. cfg and req are only read and not kept; the only state shared is a
 * key's signing-key cache (struct api_sigv4_key's .cache, locked), so concurrent calls are safe.
 *
 * Rules beyond the signature itself:
 *   - SignedHeaders is lowercase, strictly ascending (so without repeats), includes "host",
 *     names only headers present in the request, and includes every x-amz-* header the request
 *     has (the specification: "You must include ... any x-amz-* headers in the signature"; so
 *     no proxy may add one, such as CloudFront's X-Amz-Cf-Id). Repeated request headers are
 *     signed as their values joined with ',' in the order received.
 *   - The request date is X-Amz-Date when present, otherwise Date (see above); the one used
 *     must be signed, be a real calendar time, and be at most cfg->max_skew_s seconds from
 *     req->now either way (inclusive). The credential scope's date must be its day.
 *   - The payload hash is always the SHA-256 of req->body; an x-amz-content-sha256 header, if
 *     present, must equal its lowercase hex.
 *   - Host, Authorization, X-Amz-Date, Date (when used), x-amz-content-sha256 and
 *     x-amz-security-token may each appear at most once.
 *
 * Errors:
 *   HS_ERR_AUTH_MISSING      no Authorization header
 *   HS_ERR_AUTH_UNSUPPORTED  a valid SigV4 form this service refuses: query-string parameters
 *                            of presigned URLs (X-Amz-Algorithm, -Credential, -Date, -Expires,
 *                            -SignedHeaders, -Signature, -Security-Token, in any case, even
 *                            beside an Authorization header), SigV4a, UNSIGNED-PAYLOAD or a
 *                            STREAMING-* payload hash
 *   HS_ERR_AUTH_MALFORMED    anything that cannot be parsed: repeated Authorization (or
 *                            another single header above), an algorithm other than
 *                            AWS4-HMAC-SHA256, a missing, repeated or unknown part, a signature
 *                            that is not 64 lowercase hex digits, bad SignedHeaders, a signed
 *                            header absent from the request, an unsigned x-amz-* header, no
 *                            date header, an unsigned or unparseable one, a bad request-target
 *                            or method, an invalid %-escape, a control character in a signed
 *                            header value, a NULL or empty header name or NULL value, and any
 *                            breach of the session-token rule of struct api_sigv4_key
 *                            (missing, unsigned, different, unexpected)
 *   HS_ERR_AUTH_UNKNOWN_KEY  no configured key has the access key id
 *   HS_ERR_AUTH_SCOPE        scope date, region or service differ, or the terminator is not
 *                            "aws4_request"
 *   HS_ERR_AUTH_EXPIRED      the request date is outside the allowed skew
 *   HS_ERR_AUTH_SIGNATURE    the signature does not match (compared in constant time), or
 *                            x-amz-content-sha256 differs from the body's hash
 *   HS_ERR_INPUT_TOO_LARGE   a bound above is exceeded
 *   HS_ERR_INTERNAL          cfg, req or out_key is NULL, or cfg or req is inconsistent (NULL
 *                            method, target, region, service, key id or secret; NULL headers,
 *                            keys or body with a non-zero count; negative max_skew_s)
 *   HS_ERR_NOMEM, HS_ERR_CRYPTO, HS_ERR_BOUNDS
 * Checks run in this order: arguments and bounds, request-target and query (so a presigned
 * request is told it is unsupported, not unauthenticated), Authorization, SignedHeaders against
 * the request's headers, date, key, scope, clock, session token, payload hash, signature. The
 * session token is compared through SHA-256 digests with CRYPTO_memcmp, so the time shows
 * neither its content nor its length. The error detail names the failed rule, never the
 * secret, a token or either signature.
 */
HS_RESULT api_sigv4_verify(const struct api_sigv4_config *cfg, const struct api_sigv4_request *req,
                           const struct api_sigv4_key **out_key);

/* A new, empty signing-key cache for one struct api_sigv4_key (its .cache). Errors:
 * HS_ERR_NOMEM, HS_ERR_INTERNAL (out NULL, or the mutex cannot be made). The caller frees *out
 * with api_sigv4_cache_free() once no api_sigv4_verify() call can use it. */
HS_RESULT api_sigv4_cache_new(struct api_sigv4_cache **out);

/* Wipes and frees cache; NULL is accepted. */
void api_sigv4_cache_free(struct api_sigv4_cache *cache);

/* How many verifications took the signing key from cache (a hit) and how many derived it (a
 * miss) since it was made: for tests and diagnostics. cache must not be NULL. */
void api_sigv4_cache_counts(struct api_sigv4_cache *cache, unsigned long *hits,
                            unsigned long *misses);

/*
 * Appends to out the path of a request-target as the signature sees it, decoded for routing: the
 * segments api_sigv4_verify() keeps (dot segments removed and "//" collapsed on the raw text),
 * each percent-decoded, joined with '/', with a trailing '/' kept, "/" for an empty path, and
 * the query dropped: "/v1//x/../%74okens/?a=1" gives "/v1/tokens/". Two targets with the same
 * canonical URI (which one signature covers) always give the same route path, so a router that
 * matches on it cannot take a signed request anywhere its signer did not name. A segment that
 * would decode to something a router could misread is refused rather than decoded: '/' or '\'
 * inside a segment ("%2F", "%5C" or a raw backslash), a control byte or DEL, and a segment that
 * decodes to "." or ".." ("%2E", ".%2E": dot segments the signature did not remove). target
 * is a raw request-target as for struct api_sigv4_request. On failure out is not written.
 * Errors: HS_ERR_INPUT (not an origin-form path of visible ASCII, an invalid %-escape, or a
 * segment refused above), HS_ERR_INPUT_TOO_LARGE (over API_SIGV4_TARGET_MAX),
 * HS_ERR_INTERNAL (NULL argument), HS_ERR_NOMEM, HS_ERR_BOUNDS (out is full).
 */
HS_RESULT api_sigv4_route_path(const char *target, struct hs_buf *out);

#endif /* API_SIGV4_H */
