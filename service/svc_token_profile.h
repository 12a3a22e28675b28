/*
 * svc_token_profile: token profiles, what a consumer of hsmsign's JWTs (Snowflake External
 * OAuth, an API behind hsmsign-authorizer) needs fixed in every token it accepts: the audience,
 * lifetime, algorithm and signing key, the subject derived from the caller's IAM principal, and
 * fixed claims. They come from the optional "token_profiles" member of hsmsignd's config:
 *
 *   "token_profiles": {
 *     "snowflake-analyst": {
 *       "audience": "https://xy12345.snowflakecomputing.com",
 *       "ttl_seconds": 600, "alg": "RS256", "key": "jwt-rs256-2026",
 *       "subject": {"from": "role_session_name", "strip_domain": "@example.com",
 *                   "lookup": {"alice": "ALICE_SMITH"}},
 *       "claims": {"scp": "session:role:ANALYST"},
 *       "claims_from_policy": false}
 *   }
 *
 * Each member names a profile (1..SVC_TOKEN_PROFILE_NAME_MAX of a-z 0-9 - _). Members:
 *   "audience"     (required) the aud claim, 1..SGN_JWT_CLAIM_MAX printable bytes;
 *   "ttl_seconds"  (required) the lifetime, 1..jwt.max_ttl_seconds;
 *   "alg"          (required) "ES256", "ES384", "RS256", "PS256" or "EdDSA";
 *   "key"          (required) the JWT key that signs (its kid, the "key" reference of a
 *                  jwt.keys entry, or its token label); it must be one of the service's JWT keys
 *                  and sign with "alg" (checked when the service starts: svc_ctx_new);
 *   "subject"      (required) {"from": "user_name" | "role_session_name" | "principal_arn",
 *                  "strip_domain": "@domain" (optional), "lookup": {name: subject} (optional)};
 *   "claims"       (optional) fixed claims, at most SVC_TOKEN_CLAIMS_MAX members: a string
 *                  (1..SGN_JWT_CLAIM_MAX printable bytes), an integer, a boolean, or an array of
 *                  at most SVC_TOKEN_CLAIM_ITEMS_MAX such strings; never a registered claim the
 *                  signer sets (iss, sub, aud, exp, nbf, iat, jti, cnf: sgn_jwt_claim_reserved);
 *   "claims_from_policy" (optional, default false) whether the allowing policy rule's
 *                  "token_claims" are added (the profile's own claims win on a name clash).
 * Unknown members, missing members and bad values are errors naming the profile and member.
 *
 * Subject derivation from the caller's principal (AWS IAM identifiers, "IAM ARNs"):
 *   user_name          arn:aws:iam::123456789012:user/path/bob -> "bob" (IAM users only);
 *   role_session_name  arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Analyst_0abc/
 *                      alice@example.com -> "alice@example.com" (assumed roles only);
 *   principal_arn      the ARN itself (any "arn:" principal; never a device's "x509:" one).
 * The name must be an IAM name (user: 1..64, session: 2..64 of A-Z a-z 0-9 + = , . @ _ -).
 * Then "strip_domain" (compared ignoring case) must end the name and is removed (a name without
 * it, or nothing left, is unmapped), and "lookup", when given, must hold the result, whose value
 * becomes the subject. A caller none of this names is refused (HS_ERR_POLICY_SUBJECT; the API
 * answers 403 with reason "subject_unmapped").
 */
#ifndef SVC_TOKEN_PROFILE_H
#define SVC_TOKEN_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "common/hs_err.h"
#include "signer/sgn_jwt.h"

#define SVC_TOKEN_PROFILES_MAX 16
#define SVC_TOKEN_PROFILE_NAME_MAX 32 /* bytes of a profile name */
#define SVC_TOKEN_CLAIMS_MAX 16       /* members of a "claims" / "token_claims" object */
#define SVC_TOKEN_CLAIM_NAME_MAX 64   /* bytes of a claim name */
#define SVC_TOKEN_CLAIM_ITEMS_MAX 32  /* strings of an array claim */
#define SVC_TOKEN_LOOKUP_MAX 1024     /* entries of a subject lookup table */
#define SVC_TOKEN_DOMAIN_MAX 255      /* bytes of strip_domain */
#define SVC_TOKEN_SUBJECT_MAX SGN_JWT_CLAIM_MAX

enum svc_subject_from {
    SVC_SUBJECT_USER_NAME = 1,
    SVC_SUBJECT_ROLE_SESSION_NAME,
    SVC_SUBJECT_PRINCIPAL_ARN,
};

/* One profile; every string and object is borrowed from the config document. */
struct svc_token_profile {
    const char *name;
    const char *audience;
    long ttl_s; /* seconds */
    const char *alg;
    const char *key; /* kid, jwt.keys reference or token label */
    enum svc_subject_from subject_from;
    const char *strip_domain; /* NULL = none */
    json_object *lookup;      /* {derived: subject}; NULL = none */
    json_object *claims;      /* fixed claims; NULL = none */
    bool claims_from_policy;
};

struct svc_token_profiles {
    struct svc_token_profile items[SVC_TOKEN_PROFILES_MAX];
    size_t n;
};

/* Parses the optional "token_profiles" member of doc into out (zero profiles when absent);
 * max_ttl_s is jwt.max_ttl_seconds. Errors: HS_ERR_INPUT_FIELD / HS_ERR_INPUT_RANGE /
 * HS_ERR_INPUT_TOO_LARGE, the detail naming the member ("token_profiles.sf.claims: \"sub\" is a
 * registered claim the signer sets"). */
HS_RESULT svc_token_profiles_parse(json_object *doc, long max_ttl_s,
                                   struct svc_token_profiles *out);

/* The profile called name, or NULL. */
const struct svc_token_profile *svc_token_profiles_find(const struct svc_token_profiles *ps,
                                                        const char *name);

/* Checks a claims object as described above ("claims" of a profile, "token_claims" of a policy
 * rule); what names it in the detail. Errors: HS_ERR_INPUT_FIELD, HS_ERR_INPUT_RANGE,
 * HS_ERR_INPUT_TOO_LARGE. */
HS_RESULT svc_token_claims_check(json_object *claims, const char *what);

/* Derives the subject of a token of profile p for principal (see above) into out
 * (NUL-terminated). Errors: HS_ERR_POLICY_SUBJECT (unmapped; the detail says why, never
 * echoing the lookup table), HS_ERR_INTERNAL on a NULL argument. Pure; thread-safe. */
HS_RESULT svc_token_subject(const struct svc_token_profile *p, const char *principal,
                            char out[SVC_TOKEN_SUBJECT_MAX + 1]);

#endif /* SVC_TOKEN_PROFILE_H */
