/*
 * sgn_lint: checks a certificate we built against RFC 5280 and against the template that asked
 * for it, before the token signs it (the TBSCertificate) and after (the signature algorithm).
 * A failure is HS_ERR_LINT naming the rule; nothing is signed or written.
 *
 * Before signing:
 *   version v3; serial positive, 8..20 octets (RFC 5280 §4.1.2.2); notBefore < notAfter, inside
 *   the issuer's validity (§4.1.2.5); issuer name = the issuer's subject; CA subject non-empty;
 *   subject key RSA >= 2048 bits, EC P-256/P-384 or Ed25519; no extension twice and no unknown
 *   critical extension (§4.2); BasicConstraints critical with cA and pathLen as asked
 *   (§4.2.1.9); KeyUsage critical, exactly the bits asked, keyCertSign only for CAs
 *   (§4.2.1.3); EKU present exactly when asked (§4.2.1.12); SKI present, non-critical, as
 *   asked (§4.2.1.2); AKI keyIdentifier = the issuer's SKI, non-critical (§4.2.1.1); SAN
 *   critical exactly when the subject is empty (§4.2.1.6); NameConstraints only in CA
 *   certificates and critical (§4.2.1.10).
 * After signing:
 *   the outer and inner signature algorithms agree and are the signer's (its key type and
 *   default digest).
 */
#ifndef SGN_LINT_H
#define SGN_LINT_H

#include <openssl/x509.h>

#include "common/hs_err.h"
#include "pkcs11/p11_key.h"
#include "signer/sgn_cert.h"

/* Lints the TBS part of x (built from t, not yet signed). Errors: HS_ERR_LINT. */
HS_RESULT sgn_lint_tbs(X509 *x, const struct sgn_cert_template *t);

/* Lints the signature algorithm of the signed x against the signer's key. Errors: HS_ERR_LINT. */
HS_RESULT sgn_lint_signature(const X509 *x, const struct p11_key *signer);

#endif /* SGN_LINT_H */
