#include "api/api_policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fnmatch.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/hs_json.h"
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

bool api_policy_may_manage(const struct api_policy *p, const char *principal, const char *requester)
{
    return principal != NULL && ((requester != NULL && strcmp(principal, requester) == 0) ||
                                 api_glob_any(&p->admins, principal, 0));
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

static HS_RESULT api_parse_rule(json_object *obj, const struct svc_profiles *profiles,
                                long max_cert_s, long max_token_s, struct api_policy_rule *r)
{
    static const char *const allowed[] = {
        "principals",         "profiles",       "cn_patterns",           "dns_patterns",
        "allow_wildcards",    "email_patterns", "uri_patterns",          "ip_ranges",
        "max_cert_ttl_hours", "audiences",      "max_token_ttl_seconds", NULL};
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
    r->max_token_ttl_s = r->audiences.n > 0 ? (long)secs : 0;
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
