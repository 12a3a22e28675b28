/*
 * sgn_csr: parsing and validating certificate signing requests (RFC 2986 PKCS#10).
 *
 * Accepts PEM with the "CERTIFICATE REQUEST" or legacy "NEW CERTIFICATE REQUEST" label, LF or
 * CRLF line endings (as GnuTLS certtool, Java keytool and Python cryptography write them).
 * The CSR must be DER and its own signature must verify. Keys accepted: RSA 2048..8192 bits
 * with the public exponent 65537 (or a configured range, sgn_csr_parse_ex), EC P-256 / P-384,
 * Ed25519. Names taken from the CSR: the subject's commonName and the subjectAltName
 * extension's dNSName, iPAddress, rfc822Name and uniformResourceIdentifier entries (RFC 5280
 * §4.2.1.6); any other requested extension is ignored, any other SAN type is refused.
 */
#ifndef SGN_CSR_H
#define SGN_CSR_H

#include <stddef.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/hs_err.h"
#include "signer/sgn_spki.h"

#define SGN_CSR_PEM_MAX 16384 /* bytes of PEM accepted */
#define SGN_CN_MAX 64         /* ub-common-name, RFC 5280 Appendix A */
#define SGN_SAN_MAX 100       /* subjectAltName entries */
#define SGN_DNS_NAME_MAX 253  /* RFC 1035 §2.3.4 */
#define SGN_URI_MAX 1024

struct sgn_csr;

/* Parses and validates len bytes of PEM. Errors: HS_ERR_INPUT_TOO_LARGE, HS_ERR_INPUT_CSR
 * (not a PEM CSR, trailing garbage, version not v1, no CN and no SAN, a malformed or
 * unsupported name; the detail says which), HS_ERR_INPUT_CSR_SIGNATURE, HS_ERR_INPUT_KEY
 * (key type or size not accepted). The caller frees *out with sgn_csr_free(). */
HS_RESULT sgn_csr_parse(const char *pem, size_t len, struct sgn_csr **out);

/* As sgn_csr_parse, with the RSA public exponents accepted (sgn_spki.h; NULL: 65537 only, as
 * sgn_csr_parse). The CSR must be DER (X.690 §10): the CertificationRequest, its signed
 * CertificationRequestInfo (the subject and attributes encoded afresh), the extension request
 * and the subjectAltName are each re-encoded and compared byte for byte; the RSAPublicKey too
 * (sgn_spki_classify). SAN values must be well formed (sgn_ext.h): DNS names LDH or a
 * leftmost-label wildcard "*.a.b" (sgn_ext_san_dns_valid), email addresses local@domain
 * (sgn_ext_email_valid), URIs absolute without dot segments (sgn_ext_uri_parse). Errors as
 * sgn_csr_parse; an RSA exponent outside the range is HS_ERR_INPUT_KEY. */
HS_RESULT sgn_csr_parse_ex(const char *pem, size_t len, const struct sgn_rsa_exponents *rsa_e,
                           struct sgn_csr **out);

void sgn_csr_free(struct sgn_csr *csr);
void sgn_csr_freep(struct sgn_csr **csr);

/* Lends the subject public key (valid while csr lives). */
EVP_PKEY *sgn_csr_get0_pubkey(const struct sgn_csr *csr);

/* Lends the subject commonName as UTF-8, or NULL when the subject has none. */
const char *sgn_csr_get0_cn(const struct sgn_csr *csr);

/* Lends the accepted subjectAltName entries (never NULL; possibly empty). */
const GENERAL_NAMES *sgn_csr_get0_sans(const struct sgn_csr *csr);

/* Lends the subject's SubjectPublicKeyInfo as received, and what it holds (valid while csr
 * lives): a certificate copies it as it is (sgn_spki_set_x509). */
const struct sgn_spki *sgn_csr_get0_spki(const struct sgn_csr *csr);
const struct sgn_spki_info *sgn_csr_get0_key_info(const struct sgn_csr *csr);

/* Writes the SHA-256 of the DER SubjectPublicKeyInfo into out[32]. */
HS_RESULT sgn_csr_spki_sha256(const struct sgn_csr *csr, unsigned char out[32]);

#endif /* SGN_CSR_H */
