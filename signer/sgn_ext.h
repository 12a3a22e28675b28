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
