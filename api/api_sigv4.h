/*
 * api_sigv4: server-side verification of AWS Signature Version 4 (header form).
 *
 * Follows the AWS General Reference, "Create a signed AWS API request" (Signature Version 4):
 * the canonical request (method, canonical URI, canonical query string, canonical headers,
 * signed headers, hashed payload), the string to sign ("AWS4-HMAC-SHA256", X-Amz-Date,
 * credential scope, hex SHA-256 of the canonical request) and the signing key
 * HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
 * SHA-256 and HMAC come from libcrypto.
 *
 * Only the Authorization header form is accepted: query-string (presigned) authentication and
 * UNSIGNED-PAYLOAD are refused, and the time comes only from X-Amz-Date (a Date header is not
 * used).
 *
 * The canonical URI uses the rule for services other than S3, as botocore and the AWS SDK for
 * JavaScript v3 compute it: the path exactly as received (still percent-encoded) has its dot
 * segments removed (RFC 3986 §5.2.4) and its empty segments dropped ("//" collapses to "/"),
 * then every byte except A-Z a-z 0-9 - _ . ~ and '/' is percent-encoded again (so a wire
 * "%20" is signed as "%2520"). Because of this normalisation, "/v1//./certificates" is
 * accepted with a signature made for "/v1/certificates": the router must route on the same
 * normalised path, or refuse paths that are not already normal.
 *
 * The canonical query string percent-decodes each name and value and re-encodes them (RFC 3986
 * unreserved characters kept, all else %XX in upper case); a '+' in the raw query is a literal
 * plus, not a space, and is signed as "%2B".
 */
#ifndef API_SIGV4_H
#define API_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "hs_err.h"
#include "hs_secret.h"

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
 * *out_key is not written. cfg and req are only read and not kept; no state is shared, so
 * concurrent calls are safe.
 *
 * Rules beyond the signature itself:
 *   - SignedHeaders is lowercase, strictly ascending (so without repeats), includes "host" and
 *     "x-amz-date", and names only headers present in the request. Repeated request headers
 *     are signed as their values joined with ',' in the order received.
 *   - X-Amz-Date is YYYYMMDD'T'HHMMSS'Z' (UTC), a real calendar time, at most cfg->max_skew_s
 *     seconds from req->now either way. The scope date must equal its first eight characters.
 *   - The payload hash is always the SHA-256 of req->body; an x-amz-content-sha256 header, if
 *     present, must equal its lowercase hex.
 *   - Host, Authorization, X-Amz-Date, x-amz-content-sha256 and x-amz-security-token may each
 *     appear at most once.
 *
 * Errors:
 *   HS_ERR_AUTH_MISSING      no Authorization header
 *   HS_ERR_AUTH_MALFORMED    anything that cannot be parsed or is not supported: repeated
 *                            Authorization (or another single header above), an algorithm
 *                            other than AWS4-HMAC-SHA256, a missing, repeated or unknown part,
 *                            a signature that is not 64 lowercase hex digits, bad
 *                            SignedHeaders, a signed header absent from the request, a missing,
 *                            unsigned or unparseable X-Amz-Date, a bad request-target or
 *                            method, an invalid %-escape, presigned parameters in the query
 *                            (X-Amz-Signature, X-Amz-Credential, X-Amz-Algorithm,
 *                            X-Amz-Security-Token), a control character in a signed header
 *                            value, a NULL or empty header name or NULL value,
 *                            UNSIGNED-PAYLOAD, and any breach of the session-token rule of
 *                            struct api_sigv4_key (missing, unsigned, different, unexpected)
 *   HS_ERR_AUTH_UNKNOWN_KEY  no configured key has the access key id
 *   HS_ERR_AUTH_SCOPE        scope date, region or service differ, or the terminator is not
 *                            "aws4_request"
 *   HS_ERR_AUTH_EXPIRED      X-Amz-Date outside the allowed skew
 *   HS_ERR_AUTH_SIGNATURE    the signature does not match (compared in constant time), or
 *                            x-amz-content-sha256 differs from the body's hash
 *   HS_ERR_INPUT_TOO_LARGE   a bound above is exceeded
 *   HS_ERR_INTERNAL          cfg, req or out_key is NULL, or cfg or req is inconsistent (NULL
 *                            method, target, region, service, key id or secret; NULL headers,
 *                            keys or body with a non-zero count; negative max_skew_s)
 *   HS_ERR_NOMEM, HS_ERR_CRYPTO, HS_ERR_BOUNDS
 * Checks run in this order: arguments and bounds, request-target and query (so a presigned
 * request is told it is unsupported, not unauthenticated), Authorization, SignedHeaders,
 * X-Amz-Date, key, scope, clock, session token, payload hash, signature. The error detail names
 * the failed rule, never the secret, a token or either signature.
 */
HS_RESULT api_sigv4_verify(const struct api_sigv4_config *cfg, const struct api_sigv4_request *req,
                           const struct api_sigv4_key **out_key);

#endif /* API_SIGV4_H */
