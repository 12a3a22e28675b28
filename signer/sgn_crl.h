/*
 * sgn_crl: X.509 v2 certificate revocation lists (RFC 5280 §5) signed by C_Sign on the token,
 * through the same OpenSSL provider as certificates (X509_CRL_sign_ctx).
 *
 * A CRL carries the issuer's name, thisUpdate/nextUpdate, the revoked serials with their
 * revocation dates and reason codes (RFC 5280 §5.3.1; "unspecified" is encoded by leaving the
 * reason out, as §5.3.1 recommends), an AuthorityKeyIdentifier (§5.2.1) and a CRLNumber
 * (§5.2.3). Its signature is verified with the issuer's public key before it is handed out.
 */
#ifndef SGN_CRL_H
#define SGN_CRL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"
#include "pkcs11/p11_key.h"

#define SGN_CRL_ENTRIES_MAX 1000000
#define SGN_CRL_REASON_NONE (-1) /* no reasonCode extension */

struct sgn_crl_entry {
    const char *serial_hex; /* the revoked certificate's serial, 1..40 hex digits */
    time_t revoked_at;      /* seconds since the epoch */
    int reason;             /* CRL_REASON_* of <openssl/x509v3.h>, or SGN_CRL_REASON_NONE */
};

struct sgn_crl_spec {
    X509 *issuer;        /* the CA certificate; needs cRLSign (borrowed) */
    struct p11_key *key; /* the CA's token key (borrowed) */
    time_t this_update;  /* seconds since the epoch */
    time_t next_update;  /* after this_update */
    uint64_t number;     /* cRLNumber; must grow with every CRL the CA issues */
    const struct sgn_crl_entry *entries;
    size_t n;
};

/* Builds, signs and verifies the CRL described by spec. Errors: HS_ERR_INPUT_FIELD (a bad
 * serial, a serial listed twice), HS_ERR_INPUT_RANGE (nextUpdate not after thisUpdate, too many
 * entries), HS_ERR_INPUT_CONFIG (the issuer lacks cRLSign or is not the key's certificate),
 * HS_ERR_HSM_* from C_Sign, HS_ERR_CRYPTO. The caller frees *out with X509_CRL_free(). */
HS_RESULT sgn_crl_sign(const struct sgn_crl_spec *spec, X509_CRL **out);

/* Maps an RFC 5280 §5.3.1 reason name ("keyCompromise", "cACompromise", "superseded", ...) to
 * its CRL_REASON_* code. Errors: HS_ERR_INPUT_FIELD for an unknown name. */
HS_RESULT sgn_crl_reason_parse(const char *name, int *out);

/* The RFC 5280 name of a reason code ("unknown" for others). */
const char *sgn_crl_reason_name(int reason);

/* Appends the PEM (X509 CRL) or DER encoding of crl to out. Errors: HS_ERR_BOUNDS,
 * HS_ERR_CRYPTO. */
HS_RESULT sgn_crl_to_pem(const X509_CRL *crl, struct hs_buf *out);
HS_RESULT sgn_crl_to_der(const X509_CRL *crl, struct hs_buf *out);

#endif /* SGN_CRL_H */
