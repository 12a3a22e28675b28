/*
 * api_policy: who may get which certificate or token. Deny by default: a request is allowed
 * only when one rule allows all of it.
 *
 *   "policy": {
 *     "admins": ["arn:aws:iam::123456789012:role/pki-admin"],
 *     "rules": [
 *       {"principals": ["arn:aws:iam::123456789012:role/device-*"],
 *        "profiles": ["client"],
 *        "cn_patterns": ["device-*"],
 *        "dns_patterns": ["*.devices.example.com"], "allow_wildcards": false,
 *        "email_patterns": [], "uri_patterns": [], "ip_ranges": ["10.0.0.0/8"],
 *        "max_cert_ttl_hours": 24,
 *        "audiences": ["https://snowflake.example/oauth"],
 *        "max_token_ttl_seconds": 3600}
 *     ]
 *   }
 *
 * Principal, CN and audience patterns are globs (fnmatch(3): `*`, `?`, `[...]`). A principal
 * pattern matches the caller's principal as a whole, `*` crossing `/` and `:` as in IAM
 * policies; callers authenticated by an mTLS client certificate we issued have the principal
 * "x509:" + the certificate's subject (RFC 4514, e.g. "x509:CN=device-42"; "x509:serial=<hex>"
 * when the subject is empty).
 * A DNS pattern is matched label by label, ignoring case: each label is an LDH label or `*`,
 * which matches exactly one whole label, so "*.example.com" matches one label in front of
 * example.com; a first label "**" matches one or more ("**.example.com", "**"). Partial-label
 * globs ("a*.example.com") and `?` / `[` are refused at load. A wildcard DNS SAN
 * ("*.example.com", RFC 6125 §6.4.3) is issued only under a rule with "allow_wildcards": true
 * (default false), and only when the pattern covers every name it stands for: its `*` label
 * must meet a `*` (or `**`) of the pattern. A CN holding `*` also needs allow_wildcards.
 * An email pattern is local@domain: the local part globbed with `*` (ignoring case), the domain
 * a DNS pattern; "*@example.com" admits "alice@example.com", never "a@evil.com@example.com"
 * (refused at CSR parse anyway); "*" alone admits any address. A URI pattern is an absolute URI (as sgn_ext_uri_parse takes
 * it): the scheme compared ignoring case, the host as a DNS pattern, port and query exactly,
 * the path segment by segment, `*` globbing within one segment ("spiffe://example.org/ns/prod/
 * sa/web-*"), a last segment "**" standing for one or more segments; "*" alone admits any URI.
 * ip_ranges are CIDR blocks (IPv4 or IPv6).
 * A rule without "profiles" allows no certificate; without "audiences", no token. A name type
 * without patterns is not allowed by that rule. "admins" may read and revoke any certificate
 * (the requester may always read and revoke its own).
 */
#ifndef API_POLICY_H
#define API_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>
#include <openssl/x509v3.h>

#include "common/hs_err.h"
#include "service/svc_profile.h"

#define API_POLICY_RULES_MAX 256
#define API_POLICY_PATTERNS_MAX 32 /* entries of one pattern list */
#define API_POLICY_PATTERN_MAX 512 /* bytes of one pattern */

/* Why a request was denied; api_policy_reason_name() gives the stable name the error response
 * carries as "reason". */
enum api_policy_reason {
    API_POLICY_ALLOWED = 0,
    API_POLICY_NO_RULE,            /* no rule names this principal */
    API_POLICY_PROFILE,            /* no rule for the principal allows this profile */
    API_POLICY_NAME,               /* the CN or a SAN is allowed by no rule for the principal */
    API_POLICY_CERT_TTL,           /* the lifetime exceeds every allowing rule's maximum */
    API_POLICY_AUDIENCE,           /* the audience is allowed by no rule for the principal */
    API_POLICY_TOKEN_TTL,          /* the token lifetime exceeds the allowing rules' maximum */
    API_POLICY_NOT_OWNER_OR_ADMIN, /* the certificate is neither the caller's nor is it admin */
};

struct api_pattern_list {
    const char *items[API_POLICY_PATTERNS_MAX]; /* borrowed from the config document */
    size_t n;
};

/* An IPv4 or IPv6 CIDR block. */
struct api_ip_range {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned int prefix;
};

struct api_policy_rule {
    struct api_pattern_list principals;
    struct api_pattern_list profiles; /* names of configured profiles (exact match) */
    struct api_pattern_list cn;
    struct api_pattern_list dns;
    bool allow_wildcards; /* a wildcard DNS SAN ("*.example.org") may be issued */
    struct api_pattern_list email;
    struct api_pattern_list uri;
    struct api_ip_range ip[API_POLICY_PATTERNS_MAX];
    size_t nip;
    long max_cert_ttl_s; /* 0 when the rule allows no certificate */
    struct api_pattern_list audiences;
    long max_token_ttl_s; /* 0 when the rule allows no token */
};

struct api_policy {
    struct api_pattern_list admins;
    struct api_policy_rule rules[API_POLICY_RULES_MAX];
    size_t nrules;
};

/* Parses the "policy" member of doc into out (strings stay owned by doc). A rule's "profiles"
 * must name profiles of the service's (svc_profile.h; borrowed for the call). max_cert_ttl_s and
 * max_token_ttl_s bound the rules' maximums (the service's own limits). Errors:
 * HS_ERR_INPUT_FIELD / HS_ERR_INPUT_RANGE naming the rule and field (a bad pattern, CIDR or
 * profile name, an unknown member, a list over API_POLICY_PATTERNS_MAX). */
HS_RESULT api_policy_parse(json_object *doc, const struct svc_profiles *profiles,
                           long max_cert_ttl_s, long max_token_ttl_s, struct api_policy *out);

/* A certificate request as the policy sees it. */
struct api_cert_ask {
    const char *principal;
    const char *profile;       /* the profile's name */
    const char *cn;            /* NULL when the CSR has none */
    const GENERAL_NAMES *sans; /* the SANs to be certified (never NULL) */
    long ttl_s;                /* requested lifetime; 0 = not given */
};

/* Decides a certificate request. On API_POLICY_ALLOWED, *ttl_s is the lifetime to use: the
 * request's, or (when it gave none) default_ttl_s capped by the allowing rule's maximum.
 * Pure function of its inputs; thread-safe. */
enum api_policy_reason api_policy_check_cert(const struct api_policy *p,
                                             const struct api_cert_ask *ask, long default_ttl_s,
                                             long *ttl_s);

/* Decides a token request for audience aud with lifetime ttl_s (0 = not given); on
 * API_POLICY_ALLOWED *out_ttl_s is the lifetime to use (default_ttl_s capped by the rule). */
enum api_policy_reason api_policy_check_token(const struct api_policy *p, const char *principal,
                                              const char *aud, long ttl_s, long default_ttl_s,
                                              long *out_ttl_s);

/* Whether principal may read or revoke a certificate that requester asked for: the requester
 * itself or an admin. */
bool api_policy_may_manage(const struct api_policy *p, const char *principal,
                           const char *requester);

/* Stable names: "no_matching_rule", "profile_not_allowed", "name_not_allowed",
 * "ttl_exceeds_policy", "audience_not_allowed", "token_ttl_exceeds_policy",
 * "not_owner_or_admin". */
const char *api_policy_reason_name(enum api_policy_reason r);

#endif /* API_POLICY_H */
