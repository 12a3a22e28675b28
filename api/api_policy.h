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
 * A rule without "profiles" allows no certificate; without "audiences", no token.
 * Token profiles (service/svc_token_profile.h) have members of their own:
 *
 *       {"principals": ["arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Analyst_0abc/?*"],
 *        "token_profiles": ["snowflake-analyst"],
 *        "token_claims": {"groups": ["analysts"]},
 *        "max_token_ttl_seconds": 3600}
 *
 * "token_profiles" names the profiles the rule's principals may use (exact names of configured
 * token profiles; checked at load by api_config); a request naming a profile is allowed only by
 * a rule listing it (deny by default; reason "token_profile_not_allowed"), and its "audiences"
 * do not matter (the profile fixes the audience). The profile's lifetime must be within the
 * rule's max_token_ttl_seconds. "token_claims" (svc_token_claims_check: at most 16 claims, no
 * registered claim) are added to the tokens of profiles that say "claims_from_policy"; the
 * first allowing rule's are used. A name type
 * without patterns is not allowed by that rule. "admins" may read and revoke any certificate
 * (the requester may always read and revoke its own).
 *
 * SSH certificates (OpenSSH PROTOCOL.certkeys) have members of their own:
 *
 *       {"principals": ["arn:aws:iam::123456789012:user/ops-*",
 *                       "arn:aws:sts::123456789012:assumed-role/ops/ops-*"],
 *        "ssh_cert_types": ["user"],
 *        "ssh_principals": ["${aws:username}", "${aws:username}-admin"],
 *        "ssh_max_ttl_seconds": 28800,               (or {"user": 28800, "host": 2592000})
 *        "ssh_extensions": ["permit-pty", "permit-port-forwarding"],
 *        "ssh_critical_options": ["force-command"],
 *        "ssh_required_critical_options": {"source-address": "10.0.0.0/8,192.0.2.7"}}
 *
 * A rule without "ssh_cert_types" allows no SSH certificate, and its other ssh_ members are
 * refused at load (they would do nothing). "ssh_principals" (required with ssh_cert_types) are
 * fnmatch(3) globs every principal of the certificate must match; before matching, the policy
 * variables (AWS IAM "Policy variables", names ignoring case) are replaced:
 *   ${aws:username}         the last '/'-separated element of the caller's ARN, for an IAM user
 *                           (arn:aws:iam::123456789012:user/path/alice -> alice) and for an
 *                           assumed role (arn:aws:sts::123456789012:assumed-role/Role/sess ->
 *                           sess, the role session name);
 *   ${aws:rolesessionname}  the role session name of an assumed-role ARN only.
 * The element must be an IAM name (1..64 of A-Z a-z 0-9 + = , . @ _ -; a session name 2..64).
 * Any other caller (a role, root or federated-user ARN, an "x509:" principal) or a malformed
 * ARN resolves nothing, and a rule with a variable it cannot resolve admits no SSH certificate
 * for that caller (as IAM, a statement whose variable is unset matches nothing). Any other
 * "${" is refused at load. Patterns holding ',' are refused (no principal has one).
 * "ssh_max_ttl_seconds" caps the lifetime (default 3600 for user, 30 days for host
 * certificates; at most API_POLICY_SSH_TTL_MAX_S). "ssh_extensions" names the extensions a user
 * certificate may carry (default the five permit-*: X11, agent, port forwarding, pty, user rc;
 * "no-touch-required" is the sixth known name); host certificates carry none (PROTOCOL.certkeys
 * defines none for them). "ssh_critical_options" names the options a request may set
 * ("force-command", "source-address"; default none), and "ssh_required_critical_options" puts
 * an option with a fixed value on every user certificate of the rule (a request may leave it
 * out or repeat the same value). Admins get nothing more for SSH than their rules give.
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
    /* SSH certificates, in the order api_policy_check_ssh checks (the reported reason is the
     * furthest any rule for the caller got). */
    API_POLICY_SSH_TYPE,      /* no rule for the caller allows this certificate type */
    API_POLICY_SSH_PRINCIPAL, /* a principal is allowed by no rule allowing the type */
    API_POLICY_SSH_EXTENSION, /* an extension is not allowed (or not known) */
    API_POLICY_SSH_OPTION,    /* a critical option is not allowed or differs from a required one */
    API_POLICY_SSH_TTL,       /* the lifetime exceeds the rule's ssh_max_ttl_seconds */
    /* Token profiles (service/svc_token_profile.h). */
    API_POLICY_TOKEN_PROFILE,    /* no rule for the caller lists the token profile */
    API_POLICY_SUBJECT_UNMAPPED, /* the profile's subject mapping cannot name the caller */
};

/* OpenSSH certificate types, with PROTOCOL.certkeys' values (SSH2_CERT_TYPE_USER/_HOST). */
enum api_ssh_cert_type {
    API_SSH_CERT_USER = 1,
    API_SSH_CERT_HOST = 2,
};

#define API_SSH_PRINCIPALS_MAX 64       /* principals of one SSH certificate */
#define API_SSH_PRINCIPAL_MAX 256       /* bytes of one SSH principal */
#define API_SSH_EXTENSIONS_MAX 6        /* the known extensions (api_policy.c's table) */
#define API_SSH_FORCE_COMMAND_MAX 1024  /* bytes of a force-command value */
#define API_SSH_SOURCE_ADDRESS_MAX 1024 /* bytes of a source-address value */
#define API_SSH_SOURCE_ADDRESSES_MAX 32 /* entries of a source-address list */
#define API_POLICY_SSH_USER_TTL_S 3600L /* default cap of a user certificate */
#define API_POLICY_SSH_HOST_TTL_S (30L * 24 * 3600) /* default cap of a host certificate */
#define API_POLICY_SSH_TTL_MAX_S (366L * 24 * 3600) /* the largest ssh_max_ttl_seconds */

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
    long max_token_ttl_s;                   /* 0 when the rule allows no token */
    struct api_pattern_list token_profiles; /* token profile names (exact match) */
    json_object *token_claims; /* claims for profiles with claims_from_policy; NULL = none */
    unsigned ssh_types;        /* bit (1U << enum api_ssh_cert_type) per allowed type; 0 = no SSH */
    struct api_pattern_list ssh_principals;
    long ssh_max_ttl_s[3];       /* indexed by enum api_ssh_cert_type */
    unsigned ssh_extensions;     /* bits of api_policy.c's extension table (user certificates) */
    unsigned ssh_options;        /* bits of the option table a request may set */
    const char *ssh_req_command; /* required force-command, or NULL (borrowed from the doc) */
    const char *ssh_req_source;  /* required source-address, or NULL (borrowed from the doc) */
    json_object *doc;            /* the rule as configured (borrowed; api_policy_describe) */
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
 * profile name, an unknown member, a list over API_POLICY_PATTERNS_MAX; for SSH: an unknown or
 * repeated type, extension or option name, an ssh_ member without ssh_cert_types, no
 * ssh_principals, a principal pattern with ',' or an unknown "${" variable, a lifetime outside
 * 1..API_POLICY_SSH_TTL_MAX_S or for a type the rule does not allow, a required option that is
 * malformed or in a rule without user certificates). */
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

/* Decides a token request naming the token profile profile (lifetime ttl_s): allowed by the
 * first rule for the principal listing the profile whose max_token_ttl_seconds admits ttl_s;
 * then *claims is that rule's token_claims (borrowed; NULL = none). Otherwise
 * API_POLICY_NO_RULE, API_POLICY_TOKEN_PROFILE or API_POLICY_TOKEN_TTL. Pure; thread-safe. */
enum api_policy_reason api_policy_check_token_profile(const struct api_policy *p,
                                                      const char *principal, const char *profile,
                                                      long ttl_s, json_object **claims);

/* Whether principal may read or revoke a certificate that requester asked for: the requester
 * itself or an admin. */
bool api_policy_may_manage(const struct api_policy *p, const char *principal,
                           const char *requester);

/* An SSH certificate request as the policy sees it; everything is borrowed. */
struct api_ssh_ask {
    const char *caller; /* the authenticated principal (an ARN, "x509:...") */
    enum api_ssh_cert_type type;
    const char *const *principals; /* the certificate's principals, nprincipals of them */
    size_t nprincipals;
    long ttl_s;                    /* requested lifetime in seconds; 0 = not given */
    bool extensions_given;         /* false: the defaults the rule allows */
    const char *const *extensions; /* names, nextensions of them (when given) */
    size_t nextensions;
    const char *force_command;  /* NULL = not asked for */
    const char *source_address; /* comma-separated CIDR list; NULL = not asked for */
};

/* What an allowing rule grants: the certificate's lifetime, extensions and critical options. */
struct api_ssh_grant {
    long ttl_s; /* seconds, 1..the rule's cap */
    /* Static names in PROTOCOL.certkeys' order (sorted by strcmp, as the protocol requires);
     * none for host certificates. */
    const char *extensions[API_SSH_EXTENSIONS_MAX];
    size_t nextensions;
    const char *force_command;  /* NULL = none; borrowed from the ask or the policy's doc */
    const char *source_address; /* NULL = none; borrowed as force_command */
};

/* Decides an SSH certificate request (OpenSSH PROTOCOL.certkeys; the principal rules follow
 * sshd_config(5) AuthorizedPrincipalsFile, which lists principals one per line and splits the
 * authorized_keys principals="" option on commas). First the request itself is checked; a
 * malformed one fails, with a detail naming the field (never echoing the value), as
 * HS_ERR_INPUT_FIELD (an unknown type; principals empty, which would mean "any principal",
 * over API_SSH_PRINCIPALS_MAX, or repeated; a principal that is not 1..API_SSH_PRINCIPAL_MAX
 * printable ASCII bytes or holds ',', whitespace, '*' or '?'; a repeated extension or more than
 * API_SSH_EXTENSIONS_MAX; a force-command that is empty, over API_SSH_FORCE_COMMAND_MAX bytes or
 * holds a control character; a source-address that is not a comma-separated list of IPv4/IPv6
 * addresses or CIDR blocks with host bits clear; extensions or options on a host certificate) or
 * HS_ERR_INPUT_RANGE (ttl_s < 0). Otherwise it succeeds and sets *why: API_POLICY_ALLOWED, when
 * one rule for the caller allows the type, every principal (after policy variables, see above),
 * the extensions (the request's, or when not given the default five the rule allows), the
 * critical options (with the rule's required ones added) and the lifetime (the request's, or
 * when not given the type's default, 3600 s user / 30 days host, capped by the rule), and then
 * *out holds the grant; else the denial reason of the rule that got furthest (or
 * API_POLICY_NO_RULE), and *out is untouched. The grant borrows from ask and from the policy's
 * document. Unknown extension names are denied (API_POLICY_SSH_EXTENSION), never an error.
 * Pure function of its inputs; thread-safe. */
HS_RESULT api_policy_check_ssh(const struct api_policy *p, const struct api_ssh_ask *ask,
                               struct api_ssh_grant *out, enum api_policy_reason *why);

/* What the policy lets principal do, for GET /v1/whoami: {"admin": bool, "rules": [...]} with,
 * for each rule whose principal patterns match principal (in the config's order), the rule's
 * members as configured, with the effective values filled in: max_cert_ttl_hours (when it has
 * profiles), max_token_ttl_seconds (when it has audiences or token profiles), and for SSH
 * ssh_principals with the policy variables replaced for this caller, ssh_max_ttl_seconds as
 * {"user": s, "host": s} of the allowed types and ssh_extensions (the user certificates'
 * extensions). A rule whose ssh_principals hold a variable the caller cannot resolve admits no
 * SSH certificate for it: its ssh_ members are left out. No rule matching is "rules": [] (deny
 * by default). The policy holds no secrets. Errors: HS_ERR_NOMEM. The caller puts *out
 * (json_object_put). */
HS_RESULT api_policy_describe(const struct api_policy *p, const char *principal, json_object **out);

/* Stable names: "no_matching_rule", "profile_not_allowed", "name_not_allowed",
 * "ttl_exceeds_policy", "audience_not_allowed", "token_ttl_exceeds_policy",
 * "not_owner_or_admin", "ssh_type_not_allowed", "ssh_principal_not_allowed",
 * "ssh_extension_not_allowed", "ssh_option_not_allowed", "ssh_ttl_too_long",
 * "token_profile_not_allowed", "subject_unmapped". */
const char *api_policy_reason_name(enum api_policy_reason r);

#endif /* API_POLICY_H */
