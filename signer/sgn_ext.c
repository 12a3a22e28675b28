#include "signer/sgn_ext.h"

#include <string.h>
#include <strings.h>

#include <openssl/x509v3.h>

#include "common/hs_buf.h"
#include "common/hs_defer.h"

#define SGN_DNS_MAX 253

HS_DEFINE_FREEP(sgn_nc_freep, NAME_CONSTRAINTS, NAME_CONSTRAINTS_free)
HS_DEFINE_FREEP(sgn_dps_freep, CRL_DIST_POINTS, CRL_DIST_POINTS_free)
HS_DEFINE_FREEP(sgn_aia_freep, AUTHORITY_INFO_ACCESS, AUTHORITY_INFO_ACCESS_free)
HS_DEFINE_FREEP(sgn_general_name_freep, GENERAL_NAME, GENERAL_NAME_free)

bool sgn_ext_dns_labels_valid(const char *s, size_t n)
{
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-') {
                return false;
            }
            label = 0;
            continue;
        }
        bool ldh =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!ldh || (label == 0 && c == '-') || ++label > 63) {
            return false;
        }
    }
    return label > 0 && s[n - 1] != '-';
}

bool sgn_ext_san_dns_valid(const char *s, size_t n, bool *wildcard)
{
    if (s == NULL || n == 0 || n > SGN_DNS_MAX) {
        return false;
    }
    bool wild = n > 2 && s[0] == '*' && s[1] == '.';
    size_t skip = wild ? 2 : 0;
    if (!sgn_ext_dns_labels_valid(s + skip, n - skip)) {
        return false;
    }
    /* "*.org" would cover a whole top-level domain: at least two labels after the '*'. */
    if (wild && memchr(s + skip, '.', n - skip) == NULL) {
        return false;
    }
    if (wildcard != NULL) {
        *wildcard = wild;
    }
    return true;
}

/* atext of RFC 5322 §3.2.3, which RFC 5321 §4.1.2's Atom uses. */
static bool sgn_atext(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

bool sgn_ext_email_valid(const char *s, size_t n)
{
    const char *at = s != NULL ? memchr(s, '@', n) : NULL;
    if (at == NULL || n > SGN_DNS_MAX + 65) {
        return false;
    }
    size_t local = (size_t)(at - s);
    size_t domain = n - local - 1;
    if (local == 0 || local > 64 || domain == 0 || domain > SGN_DNS_MAX || s[0] == '.' ||
        s[local - 1] == '.') {
        return false;
    }
    for (size_t i = 0; i < local; i++) {
        if (!(sgn_atext(s[i]) || (s[i] == '.' && s[i + 1] != '.'))) {
            return false;
        }
    }
    /* A second '@' is no LDH character: refused here. */
    return sgn_ext_dns_labels_valid(at + 1, domain);
}

static bool sgn_uri_unreserved_or_sub(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("-._~!$&'()*+,;=", c) != NULL);
}

/* One path segment or the query (RFC 3986 §3.3, §3.4): pchar and %HH; a '/' or '?' only in the
 * query. A segment decoding to "." or ".." is a dot segment. Encoded '/', '\\' and NUL would
 * hide a separator from whoever decodes the path: refused. */
static bool sgn_uri_chars(const char *s, size_t n, bool query)
{
    size_t dots = 0;
    size_t decoded = 0;
    for (size_t i = 0; i < n; i++, decoded++) {
        char c = s[i];
        if (c == '%') {
            int hi = n - i >= 3 ? hs_hex_digit((unsigned char)s[i + 1]) : -1;
            int lo = n - i >= 3 ? hs_hex_digit((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                return false;
            }
            int v = hi * 16 + lo;
            if (v == 0 || v == '/' || v == '\\') {
                return false;
            }
            dots += v == '.';
            i += 2;
            continue;
        }
        bool ok = sgn_uri_unreserved_or_sub(c) || c == ':' || c == '@' ||
                  (query && (c == '/' || c == '?'));
        if (!ok) {
            return false;
        }
        dots += c == '.';
    }
    return query || !(decoded >= 1 && decoded <= 2 && dots == decoded);
}

static bool sgn_uri_path_valid(const char *p, size_t n, bool spiffe)
{
    if (n == 0) {
        return true;
    }
    if (n == 1 && p[0] == '/') {
        return !spiffe; /* a SPIFFE ID has no trailing "/" */
    }
    size_t i = p[0] == '/' ? 1 : 0;
    while (i <= n) {
        const char *slash = memchr(p + i, '/', n - i);
        size_t end = slash != NULL ? (size_t)(slash - p) : n;
        if (end == i || !sgn_uri_chars(p + i, end - i, false)) {
            return false; /* an empty segment: "a//b", "a/" */
        }
        i = end + 1;
    }
    return true;
}

static bool sgn_uri_host_valid(const char *h, size_t n, unsigned int flags)
{
    if (n == 0 || n > SGN_DNS_MAX) {
        return false;
    }
    if (flags & SGN_URI_PATTERN) {
        /* Checked as a DNS pattern by the caller; only its characters here. */
        for (size_t i = 0; i < n; i++) {
            char c = h[i];
            bool ok = ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '*';
            if (!ok) {
                return false;
            }
        }
        return true;
    }
    return sgn_ext_dns_labels_valid(h, n);
}

static bool sgn_uri_authority(const char *a, size_t n, unsigned int flags, struct sgn_uri *u)
{
    if (memchr(a, '@', n) != NULL) {
        return false; /* userinfo: "user:password@" has no place in a certificate */
    }
    const char *colon = memchr(a, ':', n);
    size_t host = colon != NULL ? (size_t)(colon - a) : n;
    u->host = a;
    u->host_len = host;
    u->port = colon != NULL ? colon + 1 : a + n;
    u->port_len = colon != NULL ? n - host - 1 : 0;
    if (!sgn_uri_host_valid(a, host, flags)) {
        return false;
    }
    if (colon == NULL) {
        return true;
    }
    unsigned long port = 0;
    for (size_t i = 0; i < u->port_len; i++) {
        if (u->port[i] < '0' || u->port[i] > '9') {
            return false;
        }
        port = port * 10 + (unsigned long)(u->port[i] - '0');
    }
    return u->port_len >= 1 && u->port_len <= 5 && port <= 65535;
}

static bool sgn_uri_has_upper(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= 'A' && s[i] <= 'Z') {
            return true;
        }
    }
    return false;
}

static bool sgn_uri_scheme(const char *s, size_t n, struct sgn_uri *u)
{
    const char *colon = memchr(s, ':', n);
    size_t len = colon != NULL ? (size_t)(colon - s) : 0;
    if (len == 0 || len > SGN_URI_SCHEME_MAX || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')) {
        return false;
    }
    for (size_t i = 1; i < len; i++) {
        char c = s[i];
        bool ok = ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                  c == '-' || c == '.';
        if (!ok) {
            return false;
        }
    }
    u->scheme = s;
    u->scheme_len = len;
    return true;
}

bool sgn_ext_uri_parse(const char *s, size_t n, unsigned int flags, struct sgn_uri *out)
{
    struct sgn_uri u;
    memset(&u, 0, sizeof(u));
    if (s == NULL || n == 0 || n > SGN_URL_MAX || !sgn_uri_scheme(s, n, &u)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '#') {
            return false; /* no fragment in an absolute URI (RFC 3986 §4.3) */
        }
    }
    const char *p = s + u.scheme_len + 1;
    const char *end = s + n;
    const char *q = memchr(p, '?', (size_t)(end - p));
    const char *hier_end = q != NULL ? q : end;
    u.has_query = q != NULL;
    u.query = q != NULL ? q + 1 : end;
    u.query_len = (size_t)(end - u.query);
    if (hier_end - p >= 2 && p[0] == '/' && p[1] == '/') {
        const char *a = p + 2;
        const char *slash = memchr(a, '/', (size_t)(hier_end - a));
        const char *a_end = slash != NULL ? slash : hier_end;
        u.has_authority = true;
        if (!sgn_uri_authority(a, (size_t)(a_end - a), flags, &u)) {
            return false;
        }
        p = a_end;
    } else if (p == hier_end) {
        return false; /* "scheme:" alone */
    }
    u.path = p;
    u.path_len = (size_t)(hier_end - p);
    /* A certificate carries the canonical form (RFC 3986 §6.2.2.1): scheme and host in lower
     * case, so that relying parties comparing bytes and ones folding case agree. */
    if ((flags & SGN_URI_PATTERN) == 0 &&
        (sgn_uri_has_upper(u.scheme, u.scheme_len) || sgn_uri_has_upper(u.host, u.host_len))) {
        return false;
    }
    bool spiffe = u.scheme_len == 6 && strncasecmp(s, "spiffe", 6) == 0;
    if (spiffe && (!u.has_authority || u.port_len > 0 || u.has_query)) {
        return false;
    }
    if (!sgn_uri_path_valid(u.path, u.path_len, spiffe) ||
        (u.has_query && !sgn_uri_chars(u.query, u.query_len, true))) {
        return false;
    }
    *out = u;
    return true;
}

bool sgn_ext_dns_constraint_valid(const char *s)
{
    size_t n = s != NULL ? strnlen(s, SGN_DNS_MAX + 1) : 0;
    if (n == 0 || n > SGN_DNS_MAX) {
        return false;
    }
    return s[0] == '.' ? sgn_ext_dns_labels_valid(s + 1, n - 1) : sgn_ext_dns_labels_valid(s, n);
}

bool sgn_ext_email_constraint_valid(const char *s)
{
    const char *at = s != NULL ? strchr(s, '@') : NULL;
    if (at == NULL) {
        return sgn_ext_dns_constraint_valid(s);
    }
    for (const char *p = s; p < at; p++) {
        if (*p <= 0x20 || *p >= 0x7f || strchr("\"(),:;<>@[\\]", *p) != NULL) {
            return false;
        }
    }
    return at > s && at[1] != '.' && sgn_ext_dns_constraint_valid(at + 1);
}

bool sgn_ext_url_valid(const char *s)
{
    size_t n = s != NULL ? strnlen(s, SGN_URL_MAX + 1) : 0;
    if (n == 0 || n > SGN_URL_MAX ||
        (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] <= 0x20 || s[i] >= 0x7f) {
            return false;
        }
    }
    return true;
}

/* A GENERAL_NAME of type GEN_DNS, GEN_EMAIL or GEN_URI holding s. */
static HS_RESULT sgn_general_name(int type, const char *s, GENERAL_NAME **out)
{
    HS_DEFER(GENERAL_NAME *gn = GENERAL_NAME_new(), sgn_general_name_freep);
    ASN1_IA5STRING *v = ASN1_IA5STRING_new();
    if (gn == NULL || v == NULL || ASN1_STRING_set(v, s, (int)strlen(s)) != 1) {
        ASN1_IA5STRING_free(v);
        HS_BAIL(HS_ERR_NOMEM);
    }
    GENERAL_NAME_set0_value(gn, type, v);
    *out = gn;
    gn = NULL;
    return HS_OK;
}

static HS_RESULT sgn_add_subtrees(STACK_OF(GENERAL_SUBTREE) * trees, int type,
                                  const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool ok = type == GEN_DNS ? sgn_ext_dns_constraint_valid(names[i])
                                  : sgn_ext_email_constraint_valid(names[i]);
        HS_ENSURE_MSG(ok, HS_ERR_INPUT_FIELD, "invalid %s name constraint \"%.64s\"",
                      type == GEN_DNS ? "DNS" : "email", names[i] != NULL ? names[i] : "");
        GENERAL_SUBTREE *t = GENERAL_SUBTREE_new();
        HS_ENSURE(t != NULL, HS_ERR_NOMEM);
        GENERAL_NAME_free(t->base);
        t->base = NULL;
        hs_result r = sgn_general_name(type, names[i], &t->base);
        if (hs_failed(r) || sk_GENERAL_SUBTREE_push(trees, t) <= 0) {
            GENERAL_SUBTREE_free(t);
            HS_GUARD(r);
            HS_BAIL(HS_ERR_NOMEM);
        }
    }
    return HS_OK;
}

static HS_RESULT sgn_push_ext(STACK_OF(X509_EXTENSION) * exts, int nid, int critical, void *value)
{
    X509_EXTENSION *ext = X509V3_EXT_i2d(nid, critical, value);
    HS_ENSURE(ext != NULL, HS_ERR_CRYPTO);
    if (sk_X509_EXTENSION_push(exts, ext) <= 0) {
        X509_EXTENSION_free(ext);
        HS_BAIL(HS_ERR_NOMEM);
    }
    return HS_OK;
}

HS_RESULT sgn_ext_name_constraints(const char *const *dns, size_t ndns, const char *const *email,
                                   size_t nemail, STACK_OF(X509_EXTENSION) * exts)
{
    HS_ENSURE_REF(exts);
    HS_ENSURE_MSG(ndns + nemail > 0, HS_ERR_INPUT_FIELD, "name constraints permit nothing");
    HS_ENSURE_MSG(ndns <= SGN_EXT_NAMES_MAX && nemail <= SGN_EXT_NAMES_MAX, HS_ERR_INPUT_RANGE,
                  "more than %d permitted subtrees of a kind", SGN_EXT_NAMES_MAX);
    HS_DEFER(NAME_CONSTRAINTS *nc = NAME_CONSTRAINTS_new(), sgn_nc_freep);
    HS_ENSURE(nc != NULL, HS_ERR_NOMEM);
    nc->permittedSubtrees = sk_GENERAL_SUBTREE_new_null();
    HS_ENSURE(nc->permittedSubtrees != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_add_subtrees(nc->permittedSubtrees, GEN_DNS, dns, ndns));
    HS_GUARD(sgn_add_subtrees(nc->permittedSubtrees, GEN_EMAIL, email, nemail));
    /* RFC 5280 §4.2.1.10: conforming CAs MUST mark this extension as critical. */
    return sgn_push_ext(exts, NID_name_constraints, 1, nc);
}

HS_RESULT sgn_ext_crl_distribution_point(const char *url, STACK_OF(X509_EXTENSION) * exts)
{
    HS_ENSURE_REF(exts);
    HS_ENSURE_MSG(sgn_ext_url_valid(url), HS_ERR_INPUT_FIELD,
                  "CRL distribution point is not an "
                  "http(s) URL");
    HS_DEFER(CRL_DIST_POINTS *dps = sk_DIST_POINT_new_null(), sgn_dps_freep);
    DIST_POINT *dp = DIST_POINT_new();
    DIST_POINT_NAME *name = DIST_POINT_NAME_new();
    GENERAL_NAMES *names = GENERAL_NAMES_new();
    GENERAL_NAME *gn = NULL;
    hs_result r = sgn_general_name(GEN_URI, url, &gn);
    bool ok = dps != NULL && dp != NULL && name != NULL && names != NULL && !hs_failed(r) &&
              sk_GENERAL_NAME_push(names, gn) > 0;
    if (!ok) {
        GENERAL_NAME_free(gn);
        GENERAL_NAMES_free(names);
        DIST_POINT_NAME_free(name);
        DIST_POINT_free(dp);
        HS_BAIL(HS_ERR_NOMEM);
    }
    name->type = 0; /* fullName */
    name->name.fullname = names;
    dp->distpoint = name;
    if (sk_DIST_POINT_push(dps, dp) <= 0) {
        DIST_POINT_free(dp);
        HS_BAIL(HS_ERR_NOMEM);
    }
    return sgn_push_ext(exts, NID_crl_distribution_points, 0, dps);
}

HS_RESULT sgn_ext_ca_issuers(const char *url, STACK_OF(X509_EXTENSION) * exts)
{
    HS_ENSURE_REF(exts);
    HS_ENSURE_MSG(sgn_ext_url_valid(url), HS_ERR_INPUT_FIELD, "caIssuers is not an http(s) URL");
    HS_DEFER(AUTHORITY_INFO_ACCESS *aia = sk_ACCESS_DESCRIPTION_new_null(), sgn_aia_freep);
    ACCESS_DESCRIPTION *ad = ACCESS_DESCRIPTION_new();
    if (aia == NULL || ad == NULL) {
        ACCESS_DESCRIPTION_free(ad);
        HS_BAIL(HS_ERR_NOMEM);
    }
    ASN1_OBJECT_free(ad->method);
    ad->method = OBJ_nid2obj(NID_ad_ca_issuers);
    GENERAL_NAME_free(ad->location);
    ad->location = NULL;
    hs_result r = sgn_general_name(GEN_URI, url, &ad->location);
    if (hs_failed(r) || sk_ACCESS_DESCRIPTION_push(aia, ad) <= 0) {
        ACCESS_DESCRIPTION_free(ad);
        HS_GUARD(r);
        HS_BAIL(HS_ERR_NOMEM);
    }
    return sgn_push_ext(exts, NID_info_access, 0, aia);
}
