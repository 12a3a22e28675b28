/*
 * sgn_ext: the optional X.509 extensions a CA certificate (or a leaf) may carry, built as ASN.1
 * structures from validated values (never through OpenSSL's string configuration syntax, so a
 * value cannot inject extension syntax):
 *   NameConstraints with permitted dNSName / rfc822Name subtrees (RFC 5280 §4.2.1.10, critical)
 *   CRLDistributionPoints with one URI (RFC 5280 §4.2.1.13)
 *   AuthorityInfoAccess with one caIssuers URI (RFC 5280 §4.2.2.1)
 * Each builder appends its extension to a stack the caller passes as sgn_cert_template.extra.
 */
#ifndef SGN_EXT_H
#define SGN_EXT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "common/hs_err.h"

#define SGN_EXT_NAMES_MAX 64 /* permitted subtrees of one kind */
#define SGN_URL_MAX 1024

/* Whether the n bytes at s (not NUL-terminated, n may be 0) are dot-separated LDH labels of 1..63
 * letters, digits and hyphens, none starting or ending with a hyphen (RFC 1034 §3.5, RFC 1123
 * §2.1). Checks no total length: callers bound it. The one DNS name check of signer/. */
bool sgn_ext_dns_labels_valid(const char *s, size_t n);

/* Whether the n bytes at s are a DNS name a certificate may carry in a dNSName SAN: LDH labels
 * (sgn_ext_dns_labels_valid) of at most 253 bytes in all (RFC 1035 §2.3.4), or a wildcard: the
 * whole leftmost label "*" followed by at least two LDH labels (RFC 6125 §6.4.3, CA/Browser Forum
 * BR 7.1.4.2.1: "*.example.org"; never "f*.example.org", "*.*.example.org", "*" or "*.org").
 * *wildcard (may be NULL) says whether it is one. */
bool sgn_ext_san_dns_valid(const char *s, size_t n, bool *wildcard);

/* Whether the n bytes at s are a mailbox "local@domain" for an rfc822Name SAN (RFC 5280
 * §4.2.1.6, RFC 5321 §4.1.2): exactly one '@'; a local part of 1..64 bytes in dot-atom form
 * (atext: letters, digits and !#$%&'*+-/=?^_`{|}~, dots neither first, last nor doubled; no
 * quoted strings); a domain of LDH labels, at most 253 bytes. */
bool sgn_ext_email_valid(const char *s, size_t n);

#define SGN_URI_SCHEME_MAX 32 /* bytes of a URI scheme we accept */

/* A URI split into its RFC 3986 §3 components (views into the parsed string, not terminated). */
struct sgn_uri {
    const char *scheme; /* without the ':' */
    size_t scheme_len;
    bool has_authority; /* "scheme://authority..." */
    const char *host;   /* a DNS name (or, in a pattern, DNS pattern labels); 0 without */
    size_t host_len;
    const char *port; /* digits, 0 bytes when there is none */
    size_t port_len;
    const char *path; /* '/'-separated segments, possibly empty */
    size_t path_len;
    bool has_query;
    const char *query; /* without the '?' */
    size_t query_len;
};

/* Flag of sgn_ext_uri_parse: s is a policy pattern, whose host may also hold '*' (the caller
 * checks the host as a DNS pattern). */
#define SGN_URI_PATTERN 1U

/* Parses the n bytes at s as an absolute URI (RFC 3986 §4.3: scheme ":" hier-part ["?" query],
 * so no fragment) of the strict form a certificate may carry in a uniformResourceIdentifier SAN:
 * printable ASCII, at most SGN_URL_MAX bytes; a scheme of ALPHA *(ALPHA / DIGIT / + - .);
 * an authority, when present, of a DNS host (LDH labels) and an optional port 0..65535, with no
 * userinfo ('@'); path segments of pchar (unreserved, sub-delims, ':', '@', %HH), none empty
 * (a path of just "/" aside), none a dot segment "." or ".." (RFC 3986 §3.3, also when
 * percent-encoded as %2E), none holding an encoded '/', '\' or NUL (%2F, %5C, %00); a query of
 * pchar, '/' and '?'. A spiffe URI (SPIFFE ID, spiffe.io "SPIFFE-ID" §2) must have a host, and
 * no port, query or path "/". Without authority the path must not be empty ("urn:x:y"). A value
 * (flags 0) is in canonical form (RFC 3986 §6.2.2.1): no upper-case letter in the scheme or the
 * host ("Spiffe://…" is refused, a relying party comparing bytes would not see "spiffe://").
 * flags: 0 or SGN_URI_PATTERN. Returns false for anything else; out is written only on true. */
bool sgn_ext_uri_parse(const char *s, size_t n, unsigned int flags, struct sgn_uri *out);

/* Whether s is a DNS name constraint: LDH labels, optionally starting with '.', at most 253
 * bytes (RFC 5280 §4.2.1.10: "host.example.com" or ".example.com"). */
bool sgn_ext_dns_constraint_valid(const char *s);

/* Whether s is an email constraint: a mailbox, a host, or ".domain" (RFC 5280 §4.2.1.10). */
bool sgn_ext_email_constraint_valid(const char *s);

/* Whether s is an http:// or https:// URL of printable ASCII without spaces, at most
 * SGN_URL_MAX bytes. */
bool sgn_ext_url_valid(const char *s);

/* Appends a critical NameConstraints extension permitting the ndns DNS and nemail email
 * subtrees. Errors: HS_ERR_INPUT_FIELD (an invalid name, none at all), HS_ERR_INPUT_RANGE (too
 * many), HS_ERR_NOMEM, HS_ERR_CRYPTO. */
HS_RESULT sgn_ext_name_constraints(const char *const *dns, size_t ndns, const char *const *email,
                                   size_t nemail, STACK_OF(X509_EXTENSION) * exts);

/* Appends a non-critical CRLDistributionPoints extension with url as the fullName. Errors:
 * HS_ERR_INPUT_FIELD (not a URL), HS_ERR_NOMEM, HS_ERR_CRYPTO. */
HS_RESULT sgn_ext_crl_distribution_point(const char *url, STACK_OF(X509_EXTENSION) * exts);

/* Appends a non-critical AuthorityInfoAccess extension with url as caIssuers. Errors as
 * sgn_ext_crl_distribution_point(). */
HS_RESULT sgn_ext_ca_issuers(const char *url, STACK_OF(X509_EXTENSION) * exts);

#endif /* SGN_EXT_H */
