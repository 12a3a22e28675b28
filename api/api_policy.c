#include "api/api_policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fnmatch.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "service/svc_token_profile.h"
#include "signer/sgn_csr.h"
#include "signer/sgn_ext.h"

#define API_POLICY_HOURS_S 3600L

/* --- matching ------------------------------------------------------------------------------ */

static bool api_name_listed(const struct api_pattern_list *l, const char *s)
{
    for (size_t i = 0; s != NULL && i < l->n; i++) {
        if (strcmp(l->items[i], s) == 0) {
            return true;
        }
    }
    return false;
}

static bool api_glob_any(const struct api_pattern_list *l, const char *s, int flags)
{
    for (size_t i = 0; s != NULL && i < l->n; i++) {
        if (fnmatch(l->items[i], s, flags) == 0) {
            return true;
        }
    }
    return false;
}

/* Copies the next dot-separated label of *p into out (lowercased) and advances *p. */
static bool api_dns_next_label(const char **p, char out[SGN_DNS_NAME_MAX + 1])
{
    size_t n = strcspn(*p, ".");
    if (n > SGN_DNS_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = (char)tolower((unsigned char)(*p)[i]);
    }
    out[n] = '\0';
    *p += n + ((*p)[n] == '.' ? 1 : 0);
    return true;
}

static size_t api_dns_labels(const char *s)
{
    size_t n = 1;
    for (; *s != '\0'; s++) {
        n += *s == '.';
    }
    return n;
}

/* A DNS pattern matches label by label, ignoring case: the label counts must be equal, except
 * that a first label "**" stands for one or more labels ("**.example.com", or "**" alone). A
 * pattern label "*" matches any one whole label, the wildcard label "*" of a SAN included; any
 * other pattern label (LDH, checked at load) only that label, so a SAN's "*" is admitted only by
 * a "*" or "**" of the pattern. */
static bool api_dns_match(const char *pattern, const char *name)
{
    char pl[SGN_DNS_NAME_MAX + 1];
    char nl[SGN_DNS_NAME_MAX + 1];
    const char *p = pattern;
    const char *n = name;
    if (strncmp(p, "**", 2) == 0 && (p[2] == '.' || p[2] == '\0')) {
        size_t rest = p[2] == '\0' ? 0 : api_dns_labels(p + 3);
        size_t have = api_dns_labels(n);
        if (have <= rest) {
            return false;
        }
        for (size_t skip = have - rest; skip > 0; skip--) {
            n += strcspn(n, ".") + (n[strcspn(n, ".")] == '.' ? 1 : 0);
        }
        p += p[2] == '\0' ? 2 : 3;
        if (*p == '\0') {
            return *n == '\0';
        }
    }
    while (*p != '\0' && *n != '\0') {
        if (!api_dns_next_label(&p, pl) || !api_dns_next_label(&n, nl) ||
            (strcmp(pl, "*") != 0 && strcmp(pl, nl) != 0)) {
            return false;
        }
    }
    return *p == '\0' && *n == '\0';
}

/* name (n bytes, not terminated) under api_dns_match, when it fits a DNS name's bound. */
static bool api_dns_match_n(const char *pattern, const char *name, size_t n)
{
    char buf[SGN_DNS_NAME_MAX + 1];
    if (n > SGN_DNS_NAME_MAX) {
        return false;
    }
    memcpy(buf, name, n);
    buf[n] = '\0';
    return api_dns_match(pattern, buf);
}

static bool api_dns_any(const struct api_pattern_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++) {
        if (api_dns_match(l->items[i], name)) {
            return true;
        }
    }
    return false;
}

/* A glob whose only metacharacter is '*' (any run of characters, none for FNM_PATHNAME's sake:
 * callers pass one path segment or one local part, which holds no separator). */
static bool api_star_match(const char *pat, size_t pn, const char *s, size_t sn, bool fold)
{
    size_t pi = 0;
    size_t si = 0;
    size_t star = (size_t)-1;
    size_t mark = 0;
    while (si < sn) {
        if (pi < pn && pat[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (pi < pn &&
                   (fold ? tolower((unsigned char)pat[pi]) == tolower((unsigned char)s[si])
                         : pat[pi] == s[si])) {
            pi++;
            si++;
        } else if (star != (size_t)-1) {
            pi = star + 1;
            si = ++mark;
        } else {
            return false;
        }
    }
    while (pi < pn && pat[pi] == '*') {
        pi++;
    }
    return pi == pn;
}

/* An email SAN (local@domain, checked at CSR parse) under a pattern local@domain: the local
 * part globbed with '*' ignoring case, the domain as a DNS pattern (api_dns_match). */
static bool api_email_match(const char *pattern, const char *email)
{
    if (strcmp(pattern, "*") == 0) {
        return true; /* any address (well formed: sgn_ext_email_valid) */
    }
    const char *pat_at = strchr(pattern, '@');
    const char *at = strchr(email, '@');
    if (pat_at == NULL || at == NULL || strchr(at + 1, '@') != NULL) {
        return false;
    }
    return api_star_match(pattern, (size_t)(pat_at - pattern), email, (size_t)(at - email), true) &&
           api_dns_match(pat_at + 1, at + 1);
}

/* The next '/'-separated segment of [*p, end): its start and length; advances *p past it. */
static size_t api_segment_next(const char **p, const char *end, const char **seg)
{
    const char *slash = memchr(*p, '/', (size_t)(end - *p));
    const char *stop = slash != NULL ? slash : end;
    *seg = *p;
    size_t n = (size_t)(stop - *p);
    *p = slash != NULL ? slash + 1 : end;
    return n;
}

/* Paths compared segment by segment: a pattern segment globs one segment ('*' never crosses
 * '/'); a last pattern segment "**" stands for one or more segments. */
static bool api_path_match(const struct sgn_uri *pat, const struct sgn_uri *uri)
{
    const char *p = pat->path;
    const char *pe = pat->path + pat->path_len;
    const char *u = uri->path;
    const char *ue = uri->path + uri->path_len;
    if ((p < pe && *p == '/') != (u < ue && *u == '/')) {
        return false;
    }
    if (p == pe || u == ue) {
        return p == pe && u == ue;
    }
    p += *p == '/';
    u += *u == '/';
    while (p < pe || u < ue) {
        if (p >= pe || u >= ue) {
            return false;
        }
        const char *ps = NULL;
        const char *us = NULL;
        size_t pn = api_segment_next(&p, pe, &ps);
        size_t un = api_segment_next(&u, ue, &us);
        if (pn == 2 && ps[0] == '*' && ps[1] == '*' && p >= pe) {
            return un > 0;
        }
        if (!api_star_match(ps, pn, us, un, false)) {
            return false;
        }
    }
    return true;
}

/* A URI SAN under a URI pattern, both parsed (sgn_ext_uri_parse): the scheme equal ignoring
 * case, the host as a DNS pattern, the port and the query exactly, the path per segment. */
static bool api_uri_match(const char *pattern, const char *value)
{
    struct sgn_uri pat;
    struct sgn_uri uri;
    if (strcmp(pattern, "*") == 0) {
        return sgn_ext_uri_parse(value, strlen(value), 0, &uri); /* any well-formed URI */
    }
    if (!sgn_ext_uri_parse(pattern, strlen(pattern), SGN_URI_PATTERN, &pat) ||
        !sgn_ext_uri_parse(value, strlen(value), 0, &uri)) {
        return false;
    }
    char host[SGN_DNS_NAME_MAX + 1];
    if (pat.scheme_len != uri.scheme_len ||
        strncasecmp(pat.scheme, uri.scheme, pat.scheme_len) != 0 ||
        pat.has_authority != uri.has_authority || pat.host_len > SGN_DNS_NAME_MAX) {
        return false;
    }
    memcpy(host, pat.host, pat.host_len);
    host[pat.host_len] = '\0';
    if (pat.has_authority && !api_dns_match_n(host, uri.host, uri.host_len)) {
        return false;
    }
    if (pat.port_len != uri.port_len || memcmp(pat.port, uri.port, pat.port_len) != 0 ||
        pat.has_query != uri.has_query || pat.query_len != uri.query_len ||
        memcmp(pat.query, uri.query, pat.query_len) != 0) {
        return false;
    }
    return api_path_match(&pat, &uri);
}

static bool api_email_any(const struct api_pattern_list *l, const char *email)
{
    for (size_t i = 0; email != NULL && i < l->n; i++) {
        if (api_email_match(l->items[i], email)) {
            return true;
        }
    }
    return false;
}

static bool api_uri_any(const struct api_pattern_list *l, const char *uri)
{
    for (size_t i = 0; uri != NULL && i < l->n; i++) {
        if (api_uri_match(l->items[i], uri)) {
            return true;
        }
    }
    return false;
}

static bool api_ip_in(const struct api_ip_range *r, const unsigned char *addr, size_t len)
{
    size_t want = r->family == AF_INET ? 4 : 16;
    if (len != want) {
        return false;
    }
    unsigned int bits = r->prefix;
    for (size_t i = 0; bits > 0; i++, bits = bits >= 8 ? bits - 8 : 0) {
        unsigned char mask = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
        if ((addr[i] & mask) != (r->addr[i] & mask)) {
            return false;
        }
    }
    return true;
}

static bool api_ip_any(const struct api_policy_rule *rule, const ASN1_OCTET_STRING *ip)
{
    for (size_t i = 0; i < rule->nip; i++) {
        if (api_ip_in(&rule->ip[i], ASN1_STRING_get0_data(ip), (size_t)ASN1_STRING_length(ip))) {
            return true;
        }
    }
    return false;
}

/* An IA5String SAN as a C string, or NULL when it holds a NUL (never allowed). */
static const char *api_ia5(const ASN1_IA5STRING *s)
{
    const char *p = (const char *)ASN1_STRING_get0_data(s);
    return strlen(p) == (size_t)ASN1_STRING_length(s) ? p : NULL;
}

static bool api_san_allowed(const struct api_policy_rule *rule, const GENERAL_NAME *gn)
{
    switch (gn->type) {
    case GEN_DNS: {
        const char *name = api_ia5(gn->d.dNSName);
        bool wildcard = false;
        /* Checked at CSR parse already; again here, as the policy's own input. */
        return name != NULL && sgn_ext_san_dns_valid(name, strlen(name), &wildcard) &&
               (!wildcard || rule->allow_wildcards) && api_dns_any(&rule->dns, name);
    }
    case GEN_EMAIL: {
        const char *email = api_ia5(gn->d.rfc822Name);
        return email != NULL && sgn_ext_email_valid(email, strlen(email)) &&
               api_email_any(&rule->email, email);
    }
    case GEN_URI:
        return api_uri_any(&rule->uri, api_ia5(gn->d.uniformResourceIdentifier));
    case GEN_IPADD:
        return api_ip_any(rule, gn->d.iPAddress);
    default:
        return false;
    }
}

static bool api_names_allowed(const struct api_policy_rule *rule, const struct api_cert_ask *ask)
{
    if (ask->cn != NULL && !api_glob_any(&rule->cn, ask->cn, 0)) {
        return false;
    }
    /* A CN with a '*' (a legacy client may take it for a wildcard host name) needs the rule to
     * allow wildcards too. */
    if (ask->cn != NULL && strchr(ask->cn, '*') != NULL && !rule->allow_wildcards) {
        return false;
    }
    for (int i = 0; i < sk_GENERAL_NAME_num(ask->sans); i++) {
        if (!api_san_allowed(rule, sk_GENERAL_NAME_value(ask->sans, i))) {
            return false;
        }
    }
    return true;
}

static bool api_principal_matches(const struct api_policy_rule *rule, const char *principal)
{
    return api_glob_any(&rule->principals, principal, 0);
}

/* The lifetime to use under a rule allowing up to max_s, or 0 when the request exceeds it. */
static long api_ttl_under(long requested, long dflt, long max_s)
{
    if (requested > 0) {
        return requested <= max_s ? requested : 0;
    }
    return dflt < max_s ? dflt : max_s;
}

enum api_policy_reason api_policy_check_cert(const struct api_policy *p,
                                             const struct api_cert_ask *ask, long default_ttl_s,
                                             long *ttl_s)
{
    enum api_policy_reason worst = API_POLICY_NO_RULE;
    for (size_t i = 0; i < p->nrules; i++) {
        const struct api_policy_rule *rule = &p->rules[i];
        if (!api_principal_matches(rule, ask->principal)) {
            continue;
        }
        /* The reason reported is the furthest any rule for this principal got. */
        if (!api_name_listed(&rule->profiles, ask->profile)) {
            worst = worst < API_POLICY_PROFILE ? API_POLICY_PROFILE : worst;
            continue;
        }
        if (!api_names_allowed(rule, ask)) {
            worst = worst < API_POLICY_NAME ? API_POLICY_NAME : worst;
            continue;
        }
        long ttl = api_ttl_under(ask->ttl_s, default_ttl_s, rule->max_cert_ttl_s);
        if (ttl == 0) {
            worst = API_POLICY_CERT_TTL;
            continue;
        }
        *ttl_s = ttl;
        return API_POLICY_ALLOWED;
    }
    return worst;
}

enum api_policy_reason api_policy_check_token(const struct api_policy *p, const char *principal,
                                              const char *aud, long ttl_s, long default_ttl_s,
                                              long *out_ttl_s)
{
    enum api_policy_reason worst = API_POLICY_NO_RULE;
    for (size_t i = 0; i < p->nrules; i++) {
        const struct api_policy_rule *rule = &p->rules[i];
        if (!api_principal_matches(rule, principal)) {
            continue;
        }
        if (!api_glob_any(&rule->audiences, aud, 0)) {
            worst = worst < API_POLICY_AUDIENCE ? API_POLICY_AUDIENCE : worst;
            continue;
        }
        long ttl = api_ttl_under(ttl_s, default_ttl_s, rule->max_token_ttl_s);
        if (ttl == 0) {
            worst = API_POLICY_TOKEN_TTL;
            continue;
        }
        *out_ttl_s = ttl;
        return API_POLICY_ALLOWED;
    }
    return worst;
}

enum api_policy_reason api_policy_check_token_profile(const struct api_policy *p,
                                                      const char *principal, const char *profile,
                                                      long ttl_s, json_object **claims)
{
    enum api_policy_reason worst = API_POLICY_NO_RULE;
    for (size_t i = 0; i < p->nrules; i++) {
        const struct api_policy_rule *rule = &p->rules[i];
        if (!api_principal_matches(rule, principal)) {
            continue;
        }
        if (!api_name_listed(&rule->token_profiles, profile)) {
            worst = worst == API_POLICY_NO_RULE ? API_POLICY_TOKEN_PROFILE : worst;
            continue;
        }
        if (ttl_s > rule->max_token_ttl_s) {
            worst = API_POLICY_TOKEN_TTL;
            continue;
        }
        *claims = rule->token_claims;
        return API_POLICY_ALLOWED;
    }
    return worst;
}

bool api_policy_may_manage(const struct api_policy *p, const char *principal, const char *requester)
{
    return principal != NULL && ((requester != NULL && strcmp(principal, requester) == 0) ||
                                 api_glob_any(&p->admins, principal, 0));
}

/* --- SSH certificates ----------------------------------------------------------------------- */

/* The extensions PROTOCOL.certkeys defines, sorted by strcmp (the order a certificate lists
 * them in); a rule's and a request's extensions are bits of this table. */
static const char *const api_ssh_extension_names[API_SSH_EXTENSIONS_MAX] = {
    "no-touch-required",
    "permit-X11-forwarding",
    "permit-agent-forwarding",
    "permit-port-forwarding",
    "permit-pty",
    "permit-user-rc",
};
/* The five permit-* extensions, which user certificates carry unless a request names its own. */
#define API_SSH_EXT_DEFAULT 0x3eU

/* The critical options a request may set (PROTOCOL.certkeys; user certificates only). */
static const char *const api_ssh_option_names[] = {"force-command", "source-address"};
#define API_SSH_OPT_COMMAND 0x1U
#define API_SSH_OPT_SOURCE 0x2U

#define API_SSH_IAM_NAME_MAX 64
/* Room for a principal pattern with its variables replaced: each variable ("${aws:username}",
 * 15 bytes or more) grows by at most API_SSH_IAM_NAME_MAX - 15 bytes. */
#define API_SSH_PATTERN_BUF (API_POLICY_PATTERN_MAX * 5 + 1)

/* The values of the policy variables for one caller (borrowed from the caller's ARN). */
struct api_ssh_vars {
    const char *username;
    size_t username_len; /* 0 = unresolved */
    const char *session;
    size_t session_len; /* 0 = unresolved */
};

static int api_name_index(const char *const *table, size_t n, const char *name)
{
    for (size_t i = 0; name != NULL && i < n; i++) {
        if (strcmp(table[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* An IAM user, role or session name: min..64 of A-Z a-z 0-9 and "+=,.@_-" (IAM User Guide,
 * "IAM object quotas"; STS AssumeRole RoleSessionName). */
static bool api_iam_name_valid(const char *s, size_t n, size_t min)
{
    if (n < min || n > API_SSH_IAM_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        /* ASCII only, whatever the locale's isalnum would say of bytes over 0x7f. */
        bool alnum = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                     (s[i] >= '0' && s[i] <= '9');
        if (!alnum && strchr("+=,.@_-", s[i]) == NULL) {
            return false;
        }
    }
    return true;
}

/* Advances *p past the next ':'-separated ARN field; its start and length in *f / return. */
static size_t api_arn_field(const char **p, const char **f)
{
    size_t n = strcspn(*p, ":");
    *f = *p;
    *p += n + ((*p)[n] == ':' ? 1 : 0);
    return n;
}

/* The policy variables of caller (AWS ARN format: arn:partition:service:region:account:
 * resource, IAM User Guide "IAM identifiers"): an IAM user "iam ... user/[path/]name" gives
 * aws:username; an assumed role "sts ... assumed-role/role/session" gives both, the session
 * name. Anything else resolves nothing. */
static void api_ssh_vars_of(const char *caller, struct api_ssh_vars *v)
{
    memset(v, 0, sizeof(*v));
    const char *p = caller;
    const char *f[4];
    size_t n[4];
    if (caller == NULL || strncmp(caller, "arn:", 4) != 0) {
        return;
    }
    p += 4;
    for (size_t i = 0; i < 4; i++) {
        n[i] = api_arn_field(&p, &f[i]); /* partition, service, region, account */
    }
    const char *res = p;
    bool account_ok = n[3] == 12 && strspn(f[3], "0123456789") >= 12;
    if (n[0] == 0 || n[2] != 0 || !account_ok || strchr(res, ':') != NULL) {
        return;
    }
    const char *last = strrchr(res, '/');
    if (n[1] == 3 && strncmp(f[1], "iam", 3) == 0 && strncmp(res, "user/", 5) == 0) {
        if (api_iam_name_valid(last + 1, strlen(last + 1), 1)) {
            v->username = last + 1;
            v->username_len = strlen(last + 1);
        }
        return;
    }
    if (n[1] == 3 && strncmp(f[1], "sts", 3) == 0 && strncmp(res, "assumed-role/", 13) == 0) {
        const char *role = res + 13;
        size_t role_len = last != NULL && last > role ? (size_t)(last - role) : 0;
        if (api_iam_name_valid(role, role_len, 1) &&
            api_iam_name_valid(last + 1, strlen(last + 1), 2)) {
            v->username = v->session = last + 1;
            v->username_len = v->session_len = strlen(last + 1);
        }
    }
}

/* The variable named at s ("${...}"): its value (NULL, *len 0 when the caller has none) and
 * the length of the reference; 0 when s holds no known, closed variable. */
static size_t api_ssh_var_ref(const char *s, const struct api_ssh_vars *v, const char **val,
                              size_t *len)
{
    static const char user[] = "${aws:username}";
    static const char session[] = "${aws:rolesessionname}";
    if (strncasecmp(s, user, sizeof(user) - 1) == 0) {
        *val = v->username;
        *len = v->username_len;
        return sizeof(user) - 1;
    }
    if (strncasecmp(s, session, sizeof(session) - 1) == 0) {
        *val = v->session;
        *len = v->session_len;
        return sizeof(session) - 1;
    }
    return 0;
}

/* pattern with its variables replaced, into out; false when one is unresolved (or unknown,
 * which the load refuses) or the result does not fit. The values hold no glob characters
 * (api_iam_name_valid), so they match literally. */
static bool api_ssh_substitute(const char *pattern, const struct api_ssh_vars *v,
                               char out[API_SSH_PATTERN_BUF])
{
    size_t o = 0;
    for (const char *s = pattern; *s != '\0';) {
        const char *val = s;
        size_t len = 1;
        size_t ref = 1;
        if (s[0] == '$' && s[1] == '{') {
            ref = api_ssh_var_ref(s, v, &val, &len);
            if (ref == 0 || len == 0) {
                return false;
            }
        }
        if (len >= API_SSH_PATTERN_BUF - o) {
            return false;
        }
        memcpy(out + o, val, len);
        o += len;
        s += ref;
    }
    out[o] = '\0';
    return true;
}

/* Every principal of the request matches one of the rule's patterns, with the caller's
 * variables in; a pattern that cannot be resolved makes the rule admit nothing. */
static bool api_ssh_principals_allowed(const struct api_policy_rule *rule,
                                       const struct api_ssh_ask *ask, const struct api_ssh_vars *v)
{
    char pat[API_SSH_PATTERN_BUF];
    for (size_t i = 0; i < rule->ssh_principals.n; i++) {
        if (!api_ssh_substitute(rule->ssh_principals.items[i], v, pat)) {
            return false;
        }
    }
    for (size_t k = 0; k < ask->nprincipals; k++) {
        bool ok = false;
        for (size_t i = 0; !ok && i < rule->ssh_principals.n; i++) {
            ok = api_ssh_substitute(rule->ssh_principals.items[i], v, pat) &&
                 fnmatch(pat, ask->principals[k], 0) == 0;
        }
        if (!ok) {
            return false;
        }
    }
    return rule->ssh_principals.n > 0;
}

/* One critical option under a rule: a required value is always there (the request may repeat
 * it); otherwise the request's, if the rule lets requests set the option. */
static bool api_ssh_option_under(const char *asked, const char *required, bool may_set,
                                 const char **out)
{
    if (required != NULL) {
        *out = required;
        return asked == NULL || strcmp(asked, required) == 0;
    }
    *out = asked;
    return asked == NULL || may_set;
}

/* The request's extensions after validation: bits of the table, and whether one is unknown. */
struct api_ssh_asked {
    unsigned extensions;
    bool unknown_extension;
};

/* Reason of a rule that allows the caller: API_POLICY_ALLOWED with *out filled, or why not. */
static enum api_policy_reason api_ssh_rule_decide(const struct api_policy_rule *rule,
                                                  const struct api_ssh_ask *ask,
                                                  const struct api_ssh_asked *asked,
                                                  const struct api_ssh_vars *v,
                                                  struct api_ssh_grant *out)
{
    bool user = ask->type == API_SSH_CERT_USER;
    if ((rule->ssh_types & (1U << ask->type)) == 0) {
        return API_POLICY_SSH_TYPE;
    }
    if (!api_ssh_principals_allowed(rule, ask, v)) {
        return API_POLICY_SSH_PRINCIPAL;
    }
    unsigned ext = ask->extensions_given ? asked->extensions
                                         : (user ? API_SSH_EXT_DEFAULT & rule->ssh_extensions : 0);
    if (asked->unknown_extension || (ext & ~rule->ssh_extensions) != 0) {
        return API_POLICY_SSH_EXTENSION;
    }
    const char *cmd = NULL;
    const char *src = NULL;
    if (user && (!api_ssh_option_under(ask->force_command, rule->ssh_req_command,
                                       (rule->ssh_options & API_SSH_OPT_COMMAND) != 0, &cmd) ||
                 !api_ssh_option_under(ask->source_address, rule->ssh_req_source,
                                       (rule->ssh_options & API_SSH_OPT_SOURCE) != 0, &src))) {
        return API_POLICY_SSH_OPTION;
    }
    long dflt = user ? API_POLICY_SSH_USER_TTL_S : API_POLICY_SSH_HOST_TTL_S;
    long ttl = api_ttl_under(ask->ttl_s, dflt, rule->ssh_max_ttl_s[ask->type]);
    if (ttl == 0) {
        return API_POLICY_SSH_TTL;
    }
    memset(out, 0, sizeof(*out));
    out->ttl_s = ttl;
    for (size_t i = 0; i < API_SSH_EXTENSIONS_MAX; i++) {
        if ((ext & (1U << i)) != 0) {
            out->extensions[out->nextensions++] = api_ssh_extension_names[i];
        }
    }
    out->force_command = cmd;
    out->source_address = src;
    return API_POLICY_ALLOWED;
}

/* An SSH principal: 1..API_SSH_PRINCIPAL_MAX printable ASCII bytes without whitespace, no ','
 * (sshd splits principals="" lists on it), no '*' or '?' (sshd matches certificate principals
 * exactly, but ssh(1) takes host certificate principals as patterns: refused, as confusing). */
static bool api_ssh_principal_valid(const char *s)
{
    size_t n = strnlen(s, API_SSH_PRINCIPAL_MAX + 1);
    if (n == 0 || n > API_SSH_PRINCIPAL_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e || c == ',' || c == '*' || c == '?') {
            return false;
        }
    }
    return true;
}

/* One entry of a source-address list (n bytes): an IPv4 or IPv6 address, or a CIDR block
 * address/prefix whose host bits are clear (sshd's addr_match_cidr_list form). */
static bool api_cidr_entry_valid(const char *s, size_t n)
{
    char addr[INET6_ADDRSTRLEN];
    unsigned char bytes[16];
    const char *slash = memchr(s, '/', n);
    size_t alen = slash != NULL ? (size_t)(slash - s) : n;
    if (alen == 0 || alen >= sizeof(addr)) {
        return false;
    }
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    int family = memchr(addr, ':', alen) != NULL ? AF_INET6 : AF_INET;
    if (inet_pton(family, addr, bytes) != 1) {
        return false;
    }
    unsigned int max = family == AF_INET ? 32 : 128;
    unsigned int prefix = max;
    if (slash != NULL) {
        size_t plen = n - alen - 1;
        if (plen == 0 || plen > 3 || strspn(slash + 1, "0123456789") < plen) {
            return false;
        }
        prefix = 0;
        for (size_t i = 0; i < plen; i++) {
            prefix = prefix * 10 + (unsigned int)(slash[1 + i] - '0');
        }
    }
    if (prefix > max) {
        return false;
    }
    for (unsigned int bit = prefix; bit < max; bit++) {
        if ((bytes[bit / 8] & (0x80U >> (bit % 8))) != 0) {
            return false;
        }
    }
    return true;
}

/* A source-address value: 1..API_SSH_SOURCE_ADDRESSES_MAX comma-separated entries
 * (api_cidr_entry_valid), no spaces, at most API_SSH_SOURCE_ADDRESS_MAX bytes. */
static bool api_ssh_source_valid(const char *s)
{
    size_t n = strnlen(s, API_SSH_SOURCE_ADDRESS_MAX + 1);
    size_t entries = 0;
    if (n == 0 || n > API_SSH_SOURCE_ADDRESS_MAX) {
        return false;
    }
    for (size_t i = 0; i <= n; entries++) {
        size_t len = strcspn(s + i, ",");
        if (entries >= API_SSH_SOURCE_ADDRESSES_MAX || !api_cidr_entry_valid(s + i, len)) {
            return false;
        }
        i += len + 1;
    }
    return true;
}

/* A force-command value: 1..API_SSH_FORCE_COMMAND_MAX bytes, no control characters (a newline
 * would end up in logs and in sshd's command line). */
static bool api_ssh_command_valid(const char *s)
{
    size_t n = strnlen(s, API_SSH_FORCE_COMMAND_MAX + 1);
    if (n == 0 || n > API_SSH_FORCE_COMMAND_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            return false;
        }
    }
    return true;
}

static HS_RESULT api_ssh_check_principals(const struct api_ssh_ask *ask)
{
    HS_ENSURE_MSG(ask->nprincipals > 0, HS_ERR_INPUT_FIELD,
                  "principals: an empty list is refused (it would mean any principal)");
    HS_ENSURE_MSG(ask->nprincipals <= API_SSH_PRINCIPALS_MAX, HS_ERR_INPUT_FIELD,
                  "principals: more than %d", API_SSH_PRINCIPALS_MAX);
    HS_ENSURE_REF(ask->principals);
    for (size_t i = 0; i < ask->nprincipals; i++) {
        HS_ENSURE_MSG(ask->principals[i] != NULL && api_ssh_principal_valid(ask->principals[i]),
                      HS_ERR_INPUT_FIELD,
                      "principals[%zu]: not 1..%d printable ASCII bytes without ',', '*', '?'", i,
                      API_SSH_PRINCIPAL_MAX);
        for (size_t j = 0; j < i; j++) {
            HS_ENSURE_MSG(strcmp(ask->principals[i], ask->principals[j]) != 0, HS_ERR_INPUT_FIELD,
                          "principals[%zu] repeats principals[%zu]", i, j);
        }
    }
    return HS_OK;
}

static HS_RESULT api_ssh_check_extensions(const struct api_ssh_ask *ask,
                                          struct api_ssh_asked *asked)
{
    memset(asked, 0, sizeof(*asked));
    if (!ask->extensions_given) {
        return HS_OK;
    }
    HS_ENSURE_MSG(ask->nextensions <= API_SSH_EXTENSIONS_MAX, HS_ERR_INPUT_FIELD,
                  "extensions: more than %d", API_SSH_EXTENSIONS_MAX);
    HS_ENSURE(ask->nextensions == 0 || ask->extensions != NULL, HS_ERR_INTERNAL);
    for (size_t i = 0; i < ask->nextensions; i++) {
        HS_ENSURE_REF(ask->extensions[i]);
        for (size_t j = 0; j < i; j++) {
            HS_ENSURE_MSG(strcmp(ask->extensions[i], ask->extensions[j]) != 0, HS_ERR_INPUT_FIELD,
                          "extensions[%zu] repeats extensions[%zu]", i, j);
        }
        int k = api_name_index(api_ssh_extension_names, API_SSH_EXTENSIONS_MAX, ask->extensions[i]);
        asked->unknown_extension |= k < 0;
        asked->extensions |= k >= 0 ? 1U << k : 0;
    }
    return HS_OK;
}

/* The request's own checks, before any rule: see api_policy_check_ssh. */
static HS_RESULT api_ssh_ask_check(const struct api_ssh_ask *ask, struct api_ssh_asked *asked)
{
    bool host = ask->type == API_SSH_CERT_HOST;
    HS_ENSURE_MSG(ask->type == API_SSH_CERT_USER || host, HS_ERR_INPUT_FIELD,
                  "cert_type: not user or host");
    HS_GUARD(api_ssh_check_principals(ask));
    HS_ENSURE_MSG(ask->ttl_s >= 0, HS_ERR_INPUT_RANGE, "ttl_seconds: negative");
    HS_ENSURE_MSG(!host || ask->nextensions == 0, HS_ERR_INPUT_FIELD,
                  "extensions: a host certificate carries none");
    HS_ENSURE_MSG(!host || (ask->force_command == NULL && ask->source_address == NULL),
                  HS_ERR_INPUT_FIELD, "critical_options: a host certificate carries none");
    HS_ENSURE_MSG(ask->force_command == NULL || api_ssh_command_valid(ask->force_command),
                  HS_ERR_INPUT_FIELD,
                  "critical_options.force-command: not 1..%d bytes without control characters",
                  API_SSH_FORCE_COMMAND_MAX);
    HS_ENSURE_MSG(ask->source_address == NULL || api_ssh_source_valid(ask->source_address),
                  HS_ERR_INPUT_FIELD,
                  "critical_options.source-address: not a comma-separated list of addresses "
                  "and CIDR blocks (host bits clear, at most %d)",
                  API_SSH_SOURCE_ADDRESSES_MAX);
    HS_GUARD(api_ssh_check_extensions(ask, asked));
    return HS_OK;
}

HS_RESULT api_policy_check_ssh(const struct api_policy *p, const struct api_ssh_ask *ask,
                               struct api_ssh_grant *out, enum api_policy_reason *why)
{
    HS_ENSURE_REF(p);
    HS_ENSURE_REF(ask);
    HS_ENSURE_REF(ask->caller);
    HS_ENSURE_REF(out);
    HS_ENSURE_REF(why);
    struct api_ssh_asked asked;
    struct api_ssh_vars vars;
    HS_GUARD(api_ssh_ask_check(ask, &asked));
    api_ssh_vars_of(ask->caller, &vars);
    enum api_policy_reason worst = API_POLICY_NO_RULE;
    for (size_t i = 0; i < p->nrules; i++) {
        const struct api_policy_rule *rule = &p->rules[i];
        if (!api_principal_matches(rule, ask->caller)) {
            continue;
        }
        struct api_ssh_grant grant;
        enum api_policy_reason r = api_ssh_rule_decide(rule, ask, &asked, &vars, &grant);
        if (r == API_POLICY_ALLOWED) {
            *out = grant;
            *why = API_POLICY_ALLOWED;
            return HS_OK;
        }
        worst = worst < r ? r : worst;
    }
    *why = worst;
    return HS_OK;
}

/* --- what a principal may do (GET /v1/whoami) ---------------------------------------------- */

/* The SSH members of the description of rule for the caller's variables v, into obj (a copy of
 * the rule's configuration). */
static HS_RESULT api_describe_ssh(const struct api_policy_rule *rule, const struct api_ssh_vars *v,
                                  json_object *obj)
{
    static const char *const ssh_keys[] = {"ssh_cert_types",       "ssh_principals",
                                           "ssh_max_ttl_seconds",  "ssh_extensions",
                                           "ssh_critical_options", "ssh_required_critical_options"};
    char pat[API_SSH_PATTERN_BUF];
    json_object *principals = json_object_new_array();
    HS_GUARD(hs_json_add(obj, "ssh_principals", principals));
    for (size_t i = 0; i < rule->ssh_principals.n; i++) {
        if (!api_ssh_substitute(rule->ssh_principals.items[i], v, pat)) {
            /* Unresolved for this caller: the rule admits no SSH certificate for it. */
            for (size_t k = 0; k < sizeof(ssh_keys) / sizeof(ssh_keys[0]); k++) {
                json_object_object_del(obj, ssh_keys[k]);
            }
            return HS_OK;
        }
        HS_ENSURE(json_object_array_add(principals, json_object_new_string(pat)) == 0,
                  HS_ERR_NOMEM);
    }
    json_object *ttl = json_object_new_object();
    HS_GUARD(hs_json_add(obj, "ssh_max_ttl_seconds", ttl));
    if ((rule->ssh_types & (1U << API_SSH_CERT_USER)) != 0) {
        HS_GUARD(hs_json_add(ttl, "user",
                             json_object_new_int64(rule->ssh_max_ttl_s[API_SSH_CERT_USER])));
        const char *ext[API_SSH_EXTENSIONS_MAX];
        size_t n = 0;
        for (size_t i = 0; i < API_SSH_EXTENSIONS_MAX; i++) {
            if ((rule->ssh_extensions & (1U << i)) != 0) {
                ext[n++] = api_ssh_extension_names[i];
            }
        }
        HS_GUARD(hs_json_add_strings(obj, "ssh_extensions", ext, n));
    }
    if ((rule->ssh_types & (1U << API_SSH_CERT_HOST)) != 0) {
        HS_GUARD(hs_json_add(ttl, "host",
                             json_object_new_int64(rule->ssh_max_ttl_s[API_SSH_CERT_HOST])));
    }
    return HS_OK;
}

/* One allowing rule as the caller sees it. */
static HS_RESULT api_describe_rule(const struct api_policy_rule *rule, const struct api_ssh_vars *v,
                                   json_object **out)
{
    HS_DEFER(json_object *obj = NULL, hs_json_putp);
    if (rule->doc == NULL || json_object_deep_copy(rule->doc, &obj, NULL) != 0 || obj == NULL) {
        obj = json_object_new_object();
    }
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    if (rule->max_cert_ttl_s > 0) {
        HS_GUARD(hs_json_add(obj, "max_cert_ttl_hours",
                             json_object_new_int64(rule->max_cert_ttl_s / API_POLICY_HOURS_S)));
    }
    if (rule->max_token_ttl_s > 0) {
        HS_GUARD(hs_json_add(obj, "max_token_ttl_seconds",
                             json_object_new_int64(rule->max_token_ttl_s)));
    }
    if (rule->ssh_types != 0) {
        HS_GUARD(api_describe_ssh(rule, v, obj));
    }
    *out = obj;
    obj = NULL;
    return HS_OK;
}

HS_RESULT api_policy_describe(const struct api_policy *p, const char *principal, json_object **out)
{
    HS_ENSURE_REF(p);
    HS_ENSURE_REF(principal);
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    HS_GUARD(
        hs_json_add(obj, "admin", json_object_new_boolean(api_glob_any(&p->admins, principal, 0))));
    json_object *rules = json_object_new_array();
    HS_GUARD(hs_json_add(obj, "rules", rules));
    struct api_ssh_vars v;
    api_ssh_vars_of(principal, &v);
    for (size_t i = 0; i < p->nrules; i++) {
        if (!api_principal_matches(&p->rules[i], principal)) {
            continue;
        }
        json_object *rule = NULL;
        HS_GUARD(api_describe_rule(&p->rules[i], &v, &rule));
        HS_ENSURE(json_object_array_add(rules, rule) == 0, HS_ERR_NOMEM);
    }
    *out = obj;
    obj = NULL;
    return HS_OK;
}

const char *api_policy_reason_name(enum api_policy_reason r)
{
    switch (r) {
    case API_POLICY_ALLOWED:
        return "allowed";
    case API_POLICY_NO_RULE:
        return "no_matching_rule";
    case API_POLICY_PROFILE:
        return "profile_not_allowed";
    case API_POLICY_NAME:
        return "name_not_allowed";
    case API_POLICY_CERT_TTL:
        return "ttl_exceeds_policy";
    case API_POLICY_AUDIENCE:
        return "audience_not_allowed";
    case API_POLICY_TOKEN_TTL:
        return "token_ttl_exceeds_policy";
    case API_POLICY_NOT_OWNER_OR_ADMIN:
        return "not_owner_or_admin";
    case API_POLICY_SSH_TYPE:
        return "ssh_type_not_allowed";
    case API_POLICY_SSH_PRINCIPAL:
        return "ssh_principal_not_allowed";
    case API_POLICY_SSH_EXTENSION:
        return "ssh_extension_not_allowed";
    case API_POLICY_SSH_OPTION:
        return "ssh_option_not_allowed";
    case API_POLICY_SSH_TTL:
        return "ssh_ttl_too_long";
    case API_POLICY_TOKEN_PROFILE:
        return "token_profile_not_allowed";
    case API_POLICY_SUBJECT_UNMAPPED:
        return "subject_unmapped";
    default:
        return "denied";
    }
}

/* --- parsing ------------------------------------------------------------------------------- */

static bool api_pattern_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > API_POLICY_PATTERN_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
            return false;
        }
    }
    return true;
}

static HS_RESULT api_parse_patterns(json_object *obj, const char *key, bool required,
                                    struct api_pattern_list *out)
{
    json_object *list = NULL;
    HS_GUARD(hs_json_get_typed(obj, key, required, json_type_array, &list));
    size_t n = list != NULL ? json_object_array_length(list) : 0;
    HS_ENSURE_MSG(!required || n > 0, HS_ERR_INPUT_FIELD, "field \"%s\" must not be empty", key);
    HS_ENSURE_MSG(n <= API_POLICY_PATTERNS_MAX, HS_ERR_INPUT_RANGE,
                  "field \"%s\" lists more than %d patterns", key, API_POLICY_PATTERNS_MAX);
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(list, i);
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        HS_ENSURE_MSG(s != NULL && api_pattern_valid(s), HS_ERR_INPUT_FIELD,
                      "field \"%s\": entry %zu is not a pattern (1..%d printable characters)", key,
                      i, API_POLICY_PATTERN_MAX);
        out->items[i] = s;
    }
    out->n = n;
    return HS_OK;
}

/* "10.0.0.0/8", "2001:db8::/32". */
static HS_RESULT api_parse_cidr(const char *s, struct api_ip_range *out)
{
    char addr[INET6_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    size_t n = slash != NULL ? (size_t)(slash - s) : 0;
    HS_ENSURE_MSG(slash != NULL && n > 0 && n < sizeof(addr), HS_ERR_INPUT_FIELD,
                  "ip_ranges: \"%s\" is not address/prefix", s);
    memcpy(addr, s, n);
    addr[n] = '\0';
    out->family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
    HS_ENSURE_MSG(inet_pton(out->family, addr, out->addr) == 1, HS_ERR_INPUT_FIELD,
                  "ip_ranges: \"%s\" is not an IP address", addr);
    char *end = NULL;
    unsigned long prefix = strtoul(slash + 1, &end, 10);
    unsigned long max = out->family == AF_INET ? 32 : 128;
    HS_ENSURE_MSG(slash[1] != '\0' && *end == '\0' && prefix <= max, HS_ERR_INPUT_FIELD,
                  "ip_ranges: prefix of \"%s\" is not 0..%lu", s, max);
    out->prefix = (unsigned int)prefix;
    return HS_OK;
}

static HS_RESULT api_parse_profiles(json_object *obj, const struct svc_profiles *profiles,
                                    struct api_pattern_list *out)
{
    HS_GUARD(api_parse_patterns(obj, "profiles", false, out));
    for (size_t i = 0; i < out->n; i++) {
        if (svc_profiles_find(profiles, out->items[i]) == NULL) {
            char names[SVC_PROFILES_MAX * (SVC_PROFILE_NAME_MAX + 2) + 1];
            svc_profiles_names(profiles, names, sizeof(names));
            HS_BAIL_MSG(HS_ERR_INPUT_FIELD, "profiles: \"%s\" is not a profile (%s)", out->items[i],
                        names);
        }
    }
    return HS_OK;
}

/* A DNS pattern: dot-separated labels, each LDH (RFC 1123 §2.1) or "*" (one whole label); the
 * first may be "**" (one or more labels). Partial-label globs ("a*.example.org") and fnmatch
 * syntax ('?', '[') are refused: a pattern never admits what its labels do not spell. */
static bool api_dns_pattern_valid(const char *s, size_t n)
{
    if (n == 0 || n > SGN_DNS_NAME_MAX) {
        return false;
    }
    size_t i = 0;
    while (i <= n) {
        const char *dot = memchr(s + i, '.', n - i);
        size_t end = dot != NULL ? (size_t)(dot - s) : n;
        size_t len = end - i;
        bool star = len == 1 && s[i] == '*';
        bool stars = len == 2 && i == 0 && s[0] == '*' && s[1] == '*';
        if (!star && !stars && !sgn_ext_dns_labels_valid(s + i, len)) {
            return false;
        }
        i = end + 1;
    }
    return true;
}

/* An email pattern: local@domain, one '@'; the local part 1..64 of atext and dots ('*', itself
 * atext, globs), the domain a DNS pattern. "*" alone admits any address. */
static bool api_email_pattern_valid(const char *s)
{
    const char *at = strchr(s, '@');
    if (strcmp(s, "*") == 0) {
        return true;
    }
    if (at == NULL || strchr(at + 1, '@') != NULL || at == s || at - s > 64) {
        return false;
    }
    for (const char *p = s; p < at; p++) {
        bool ok = isalnum((unsigned char)*p) || strchr("!#$%&'*+-/=?^_`{|}~.", *p) != NULL;
        if (!ok) {
            return false;
        }
    }
    return api_dns_pattern_valid(at + 1, strlen(at + 1));
}

/* A URI pattern: an absolute URI as sgn_ext_uri_parse takes it, whose host is a DNS pattern and
 * whose path segments glob with '*'; "**" only as the last segment. "*" alone admits any URI. */
static bool api_uri_pattern_valid(const char *s)
{
    struct sgn_uri u;
    if (strcmp(s, "*") == 0) {
        return true;
    }
    if (!sgn_ext_uri_parse(s, strlen(s), SGN_URI_PATTERN, &u) ||
        (u.has_authority && !api_dns_pattern_valid(u.host, u.host_len))) {
        return false;
    }
    const char *p = u.path;
    const char *end = u.path + u.path_len;
    p += p < end && *p == '/';
    while (p < end) {
        const char *seg = NULL;
        size_t n = api_segment_next(&p, end, &seg);
        if (n >= 2 && memmem(seg, n, "**", 2) != NULL && !(n == 2 && p >= end)) {
            return false;
        }
    }
    return true;
}

static HS_RESULT api_check_patterns(const struct api_pattern_list *l, const char *key,
                                    bool (*valid)(const char *), const char *what)
{
    for (size_t i = 0; i < l->n; i++) {
        HS_ENSURE_MSG(valid(l->items[i]), HS_ERR_INPUT_FIELD, "field \"%s\": entry %zu is not %s",
                      key, i, what);
    }
    return HS_OK;
}

static bool api_dns_pattern_valid_str(const char *s)
{
    return api_dns_pattern_valid(s, strlen(s));
}

static HS_RESULT api_parse_rule_names(json_object *obj, struct api_policy_rule *r)
{
    HS_GUARD(api_parse_patterns(obj, "cn_patterns", false, &r->cn));
    HS_GUARD(api_parse_patterns(obj, "dns_patterns", false, &r->dns));
    HS_GUARD(api_check_patterns(&r->dns, "dns_patterns", api_dns_pattern_valid_str,
                                "a DNS pattern (LDH labels, a whole label \"*\", a first "
                                "label \"**\")"));
    HS_GUARD(hs_json_get_bool(obj, "allow_wildcards", false, false, &r->allow_wildcards));
    HS_GUARD(api_parse_patterns(obj, "email_patterns", false, &r->email));
    HS_GUARD(api_check_patterns(&r->email, "email_patterns", api_email_pattern_valid,
                                "an email pattern (local@domain, '*' in the local part, the "
                                "domain a DNS pattern)"));
    HS_GUARD(api_parse_patterns(obj, "uri_patterns", false, &r->uri));
    HS_GUARD(api_check_patterns(&r->uri, "uri_patterns", api_uri_pattern_valid,
                                "a URI pattern (an absolute URI, the host a DNS pattern, '*' "
                                "within a path segment, \"**\" as the last segment)"));
    struct api_pattern_list cidrs = {.n = 0};
    HS_GUARD(api_parse_patterns(obj, "ip_ranges", false, &cidrs));
    for (size_t i = 0; i < cidrs.n; i++) {
        HS_GUARD(api_parse_cidr(cidrs.items[i], &r->ip[i]));
    }
    r->nip = cidrs.n;
    return HS_OK;
}

/* Whether obj has key with a value other than null (null counts as absent, as in hs_json). */
static bool api_member_present(json_object *obj, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(obj, key, &v) != 0 && v != NULL;
}

/* A list member of names from table (n entries), each at most once, as bits of the table. */
static HS_RESULT api_parse_ssh_names(json_object *obj, const char *key, const char *const *table,
                                     size_t n, unsigned dflt, unsigned *out)
{
    struct api_pattern_list l = {.n = 0};
    HS_GUARD(api_parse_patterns(obj, key, false, &l));
    if (!api_member_present(obj, key)) {
        *out = dflt;
        return HS_OK;
    }
    unsigned bits = 0;
    for (size_t i = 0; i < l.n; i++) {
        int k = api_name_index(table, n, l.items[i]);
        HS_ENSURE_MSG(k >= 0, HS_ERR_INPUT_FIELD, "field \"%s\": entry %zu is not a known name",
                      key, i);
        HS_ENSURE_MSG((bits & (1U << k)) == 0, HS_ERR_INPUT_FIELD,
                      "field \"%s\": entry %zu repeats \"%s\"", key, i, table[k]);
        bits |= 1U << k;
    }
    *out = bits;
    return HS_OK;
}

static HS_RESULT api_parse_ssh_types(json_object *obj, unsigned *out)
{
    static const char *const names[] = {"user", "host"};
    unsigned bits = 0;
    *out = 0;
    if (!api_member_present(obj, "ssh_cert_types")) {
        return HS_OK;
    }
    HS_GUARD(api_parse_ssh_names(obj, "ssh_cert_types", names, 2, 0, &bits));
    HS_ENSURE_MSG(bits != 0, HS_ERR_INPUT_FIELD,
                  "field \"ssh_cert_types\" must not be empty (leave it out for no SSH)");
    /* bit 0 is "user" (type 1), bit 1 "host" (type 2) */
    *out = bits << 1;
    return HS_OK;
}

/* A principal pattern: no ',' and every "${" one of the known variables. */
static bool api_ssh_pattern_valid(const char *s)
{
    struct api_ssh_vars none = {NULL, 0, NULL, 0};
    const char *val = NULL;
    size_t len = 0;
    if (strchr(s, ',') != NULL) {
        return false;
    }
    for (const char *d = strstr(s, "${"); d != NULL; d = strstr(d + 2, "${")) {
        if (api_ssh_var_ref(d, &none, &val, &len) == 0) {
            return false;
        }
    }
    return true;
}

/* "ssh_max_ttl_seconds": N (every type) or {"user": N, "host": M}; 1..API_POLICY_SSH_TTL_MAX_S,
 * default API_POLICY_SSH_USER_TTL_S / API_POLICY_SSH_HOST_TTL_S. */
static HS_RESULT api_parse_ssh_ttl(json_object *obj, struct api_policy_rule *r)
{
    static const char *const allowed[] = {"user", "host", NULL};
    static const char key[] = "ssh_max_ttl_seconds";
    json_object *v = NULL;
    int64_t user = API_POLICY_SSH_USER_TTL_S;
    int64_t host = API_POLICY_SSH_HOST_TTL_S;
    if (api_member_present(obj, key) && json_object_object_get_ex(obj, key, &v) &&
        json_object_is_type(v, json_type_object)) {
        HS_GUARD(hs_error_context(hs_json_check_keys(v, allowed, key), key));
        HS_GUARD(hs_error_context(
            hs_json_get_int(v, "user", false, 1, API_POLICY_SSH_TTL_MAX_S, user, &user), key));
        HS_GUARD(hs_error_context(
            hs_json_get_int(v, "host", false, 1, API_POLICY_SSH_TTL_MAX_S, host, &host), key));
        HS_ENSURE_MSG(!api_member_present(v, "user") ||
                          (r->ssh_types & (1U << API_SSH_CERT_USER)) != 0,
                      HS_ERR_INPUT_FIELD, "%s.user: the rule allows no user certificate", key);
        HS_ENSURE_MSG(!api_member_present(v, "host") ||
                          (r->ssh_types & (1U << API_SSH_CERT_HOST)) != 0,
                      HS_ERR_INPUT_FIELD, "%s.host: the rule allows no host certificate", key);
    } else if (api_member_present(obj, key)) {
        HS_GUARD(hs_json_get_int(obj, key, false, 1, API_POLICY_SSH_TTL_MAX_S, 0, &user));
        host = user;
    }
    r->ssh_max_ttl_s[API_SSH_CERT_USER] = (long)user;
    r->ssh_max_ttl_s[API_SSH_CERT_HOST] = (long)host;
    return HS_OK;
}

/* "ssh_required_critical_options": {"force-command": "...", "source-address": "..."}. */
static HS_RESULT api_parse_ssh_required(json_object *obj, struct api_policy_rule *r)
{
    static const char *const allowed[] = {"force-command", "source-address", NULL};
    static const char key[] = "ssh_required_critical_options";
    json_object *v = NULL;
    HS_GUARD(hs_json_get_typed(obj, key, false, json_type_object, &v));
    if (v == NULL) {
        return HS_OK;
    }
    HS_ENSURE_MSG((r->ssh_types & (1U << API_SSH_CERT_USER)) != 0, HS_ERR_INPUT_FIELD,
                  "field \"%s\": critical options are for user certificates, which the rule "
                  "does not allow",
                  key);
    HS_GUARD(hs_error_context(hs_json_check_keys(v, allowed, key), key));
    HS_GUARD(hs_error_context(hs_json_get_string(v, "force-command", false,
                                                 API_SSH_FORCE_COMMAND_MAX, &r->ssh_req_command),
                              key));
    HS_GUARD(hs_error_context(hs_json_get_string(v, "source-address", false,
                                                 API_SSH_SOURCE_ADDRESS_MAX, &r->ssh_req_source),
                              key));
    HS_ENSURE_MSG(r->ssh_req_command == NULL || api_ssh_command_valid(r->ssh_req_command),
                  HS_ERR_INPUT_FIELD, "%s.force-command: holds a control character", key);
    HS_ENSURE_MSG(r->ssh_req_source == NULL || api_ssh_source_valid(r->ssh_req_source),
                  HS_ERR_INPUT_FIELD,
                  "%s.source-address: not a comma-separated list of addresses and CIDR blocks "
                  "(host bits clear, at most %d)",
                  key, API_SSH_SOURCE_ADDRESSES_MAX);
    return HS_OK;
}

/* The ssh_ members of a rule; without "ssh_cert_types" none may be given. */
static HS_RESULT api_parse_rule_ssh(json_object *obj, struct api_policy_rule *r)
{
    static const char *const members[] = {"ssh_principals", "ssh_max_ttl_seconds", "ssh_extensions",
                                          "ssh_critical_options", "ssh_required_critical_options"};
    HS_GUARD(api_parse_ssh_types(obj, &r->ssh_types));
    if (r->ssh_types == 0) {
        for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
            HS_ENSURE_MSG(!api_member_present(obj, members[i]), HS_ERR_INPUT_FIELD,
                          "field \"%s\" needs \"ssh_cert_types\"", members[i]);
        }
        return HS_OK;
    }
    HS_GUARD(api_parse_patterns(obj, "ssh_principals", true, &r->ssh_principals));
    HS_GUARD(api_check_patterns(&r->ssh_principals, "ssh_principals", api_ssh_pattern_valid,
                                "a principal glob (no ',', variables ${aws:username} and "
                                "${aws:rolesessionname} only)"));
    HS_GUARD(api_parse_ssh_ttl(obj, r));
    HS_GUARD(api_parse_ssh_names(obj, "ssh_extensions", api_ssh_extension_names,
                                 API_SSH_EXTENSIONS_MAX, API_SSH_EXT_DEFAULT, &r->ssh_extensions));
    HS_GUARD(api_parse_ssh_names(obj, "ssh_critical_options", api_ssh_option_names, 2, 0,
                                 &r->ssh_options));
    HS_GUARD(api_parse_ssh_required(obj, r));
    return HS_OK;
}

/* "token_claims": only with "token_profiles" (it would do nothing else). */
static HS_RESULT api_parse_token_claims(json_object *obj, struct api_policy_rule *r)
{
    HS_GUARD(hs_json_get_typed(obj, "token_claims", false, json_type_object, &r->token_claims));
    if (r->token_claims == NULL) {
        return HS_OK;
    }
    HS_ENSURE_MSG(r->token_profiles.n > 0, HS_ERR_INPUT_FIELD,
                  "token_claims needs token_profiles (it would do nothing)");
    return svc_token_claims_check(r->token_claims, "token_claims");
}

static HS_RESULT api_parse_rule(json_object *obj, const struct svc_profiles *profiles,
                                long max_cert_s, long max_token_s, struct api_policy_rule *r)
{
    static const char *const allowed[] = {"principals",
                                          "profiles",
                                          "cn_patterns",
                                          "dns_patterns",
                                          "allow_wildcards",
                                          "email_patterns",
                                          "uri_patterns",
                                          "ip_ranges",
                                          "max_cert_ttl_hours",
                                          "audiences",
                                          "max_token_ttl_seconds",
                                          "token_profiles",
                                          "token_claims",
                                          "ssh_cert_types",
                                          "ssh_principals",
                                          "ssh_max_ttl_seconds",
                                          "ssh_extensions",
                                          "ssh_critical_options",
                                          "ssh_required_critical_options",
                                          NULL};
    HS_ENSURE_MSG(json_object_is_type(obj, json_type_object), HS_ERR_INPUT_FIELD,
                  "rules[] entries must be objects");
    HS_GUARD(hs_json_check_keys(obj, allowed, "rule"));
    HS_GUARD(api_parse_patterns(obj, "principals", true, &r->principals));
    HS_GUARD(api_parse_profiles(obj, profiles, &r->profiles));
    HS_GUARD(api_parse_rule_names(obj, r));
    int64_t hours = 0;
    int64_t secs = 0;
    HS_GUARD(hs_json_get_int(obj, "max_cert_ttl_hours", false, 1, max_cert_s / API_POLICY_HOURS_S,
                             max_cert_s / API_POLICY_HOURS_S, &hours));
    r->max_cert_ttl_s = r->profiles.n > 0 ? (long)hours * API_POLICY_HOURS_S : 0;
    HS_GUARD(api_parse_patterns(obj, "audiences", false, &r->audiences));
    HS_GUARD(
        hs_json_get_int(obj, "max_token_ttl_seconds", false, 1, max_token_s, max_token_s, &secs));
    HS_GUARD(api_parse_patterns(obj, "token_profiles", false, &r->token_profiles));
    r->max_token_ttl_s = r->audiences.n > 0 || r->token_profiles.n > 0 ? (long)secs : 0;
    HS_GUARD(api_parse_token_claims(obj, r));
    HS_GUARD(api_parse_rule_ssh(obj, r));
    r->doc = obj;
    return HS_OK;
}

HS_RESULT api_policy_parse(json_object *doc, const struct svc_profiles *profiles,
                           long max_cert_ttl_s, long max_token_ttl_s, struct api_policy *out)
{
    HS_ENSURE_REF(profiles);
    static const char *const allowed[] = {"admins", "rules", NULL};
    json_object *pol = NULL;
    json_object *rules = NULL;
    HS_GUARD(hs_json_get_typed(doc, "policy", true, json_type_object, &pol));
    HS_GUARD(hs_json_check_keys(pol, allowed, "policy"));
    HS_GUARD(api_parse_patterns(pol, "admins", false, &out->admins));
    HS_GUARD(hs_json_get_typed(pol, "rules", true, json_type_array, &rules));
    size_t n = json_object_array_length(rules);
    HS_ENSURE_MSG(n <= API_POLICY_RULES_MAX, HS_ERR_INPUT_RANGE, "policy lists more than %d rules",
                  API_POLICY_RULES_MAX);
    for (size_t i = 0; i < n; i++) {
        hs_result r = api_parse_rule(json_object_array_get_idx(rules, i), profiles, max_cert_ttl_s,
                                     max_token_ttl_s, &out->rules[i]);
        if (hs_failed(r)) {
            hs_error_add_detail("policy.rules[%zu]", i);
            return r;
        }
    }
    out->nrules = n;
    return HS_OK;
}
