/*
 * au_verify: one bearer token checked as hsmsign-authorizer must (docs/authorizer.md):
 *   1. au_jws_parse: JWS compact serialization only (RFC 7515 §7.1: three base64url parts,
 *      unpadded, strict), a JOSE header with "alg" in the configured allow-list ("none", HS*
 *      and anything unknown refused), "kid" present, "crit" refused (RFC 7515 §4.1.11: no
 *      extension is understood here), no duplicate members;
 *   2. the caller finds the key (au_jwks_find, refreshing the set at most as au_keys allows);
 *   3. au_jws_verify: the signature over ASCII(header "." payload) with OpenSSL: RS256
 *      (RSASSA-PKCS1-v1_5), PS256 (RSASSA-PSS, MGF1 SHA-256, salt 32 bytes, RFC 7518 §3.5),
 *      ES256/ES384 (the JWS signature is R || S, RFC 7518 §3.4, turned into DER for EVP),
 *      EdDSA (Ed25519, RFC 8037 §3.1);
 *   4. au_claims_check: "exp" required, "nbf" and "iat" optional, each with the configured
 *      leeway (RFC 7519 §4.1.4-6), "iss" exactly the configured issuer, "aud" (string or array)
 *      exactly one of the configured audiences, "sub" a non-empty string, the route's required
 *      scopes all present in "scope" (space-separated, RFC 8693 §4.2) or "scp" (array), and
 *      "cnf" read for mTLS (RFC 8705 §3.1).
 * Every refusal is an enum au_reason, never a crash; nothing here logs or keeps the token.
 */
#ifndef AU_VERIFY_H
#define AU_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "authorizer/au_config.h"
#include "authorizer/au_jwks.h"
#include "common/hs_buf.h"
#include "common/hs_err.h"

#define AU_TOKEN_MAX (8 * 1024) /* bytes of a bearer token */
#define AU_SUB_MAX 512          /* bytes of "sub" we pass on */
#define AU_SCOPE_STR_MAX 1024   /* bytes of the scopes we pass on */
#define AU_X5T_MAX 64           /* bytes of cnf "x5t#S256" (43 for SHA-256) */

/* Why a request was denied (or AU_OK). au_reason_name gives the log/context spelling. */
enum au_reason {
    AU_OK = 0,
    AU_TOKEN_MISSING,       /* no bearer token in the event */
    AU_TOKEN_MALFORMED,     /* not a JWS compact token, bad base64url or JSON, over a bound */
    AU_ALG_REFUSED,         /* "alg" none, HS*, unknown or not in the allow-list */
    AU_CRIT_REFUSED,        /* the header has "crit" */
    AU_KID_UNKNOWN,         /* no key with this "kid" (after the allowed refresh) */
    AU_KEY_MISMATCH,        /* the key's kty/crv/alg does not fit the header's "alg" */
    AU_SIGNATURE_INVALID,   /* the signature does not verify */
    AU_CLAIMS_INVALID,      /* a claim missing or of the wrong type */
    AU_EXPIRED,             /* now >= exp + leeway */
    AU_NOT_YET_VALID,       /* now < nbf - leeway */
    AU_ISSUED_IN_FUTURE,    /* iat > now + leeway */
    AU_ISSUER_MISMATCH,     /* "iss" is not the configured issuer */
    AU_AUDIENCE_MISMATCH,   /* no "aud" is a configured audience */
    AU_SCOPE_MISSING,       /* a scope the route requires is not granted */
    AU_CNF_MISSING,         /* mTLS: the token is not bound (cnf x5t#S256) */
    AU_CNF_MISMATCH,        /* mTLS: bound to another certificate, or no certificate came */
    AU_CERT_REVOKED,        /* mTLS: the inventory says the certificate is not good */
    AU_CERT_STATUS_UNKNOWN, /* mTLS: the status could not be learned (fail closed) */
    AU_JWKS_UNAVAILABLE,    /* no usable key set (never fetched, or too stale) */
    AU_EVENT_INVALID,       /* the event is not an authorizer event we understand */
    AU_INTERNAL,            /* anything else: deny */
};

const char *au_reason_name(enum au_reason r);

/* A parsed, not yet verified, token. */
struct au_jws {
    unsigned int alg; /* one enum au_alg bit */
    char kid[AU_KID_MAX + 1];
    const char *signing_input; /* lent: header "." payload of the caller's token */
    size_t signing_input_len;
    struct hs_buf *payload; /* the decoded claims set (JSON) */
    struct hs_buf *sig;     /* the decoded signature */
};

/* What a verified token grants, copied out for the answer's context and the log. */
struct au_grant {
    char sub[AU_SUB_MAX + 1];
    char kid[AU_KID_MAX + 1];
    char scope[AU_SCOPE_STR_MAX + 1]; /* space-separated, "" when none */
    char x5t[AU_X5T_MAX + 1];         /* cnf "x5t#S256", "" when the token is not bound */
};

/* Parses token[0..len) (lent; must outlive *jws) with the allow-list algs (enum au_alg bits)
 * into jws (cleared with au_jws_clear). Returns AU_OK, AU_TOKEN_MALFORMED, AU_ALG_REFUSED,
 * AU_CRIT_REFUSED or AU_INTERNAL (out of memory). */
enum au_reason au_jws_parse(const char *token, size_t len, unsigned int algs, struct au_jws *jws);
void au_jws_clear(struct au_jws *jws);

/* Verifies jws's signature with pkey (borrowed). AU_OK or AU_SIGNATURE_INVALID (also for a
 * signature of the wrong length), AU_INTERNAL. */
enum au_reason au_jws_verify(const struct au_jws *jws, EVP_PKEY *pkey);

/* Checks jws's claims against cfg for route (its required scopes; NULL or unlisted: none) at
 * now (seconds since the epoch); fills *grant (zeroed first). Returns AU_OK or the reason. */
enum au_reason au_claims_check(const struct au_jws *jws, const struct au_config *cfg,
                               const char *route, time_t now, struct au_grant *grant);

#endif /* AU_VERIFY_H */
