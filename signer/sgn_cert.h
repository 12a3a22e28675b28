/*
 * sgn_cert: X.509 v3 certificates (RFC 5280) whose signature is a C_Sign on the token.
 *
 * sgn_cert_sign() is the one builder used for every certificate we make (root, intermediate,
 * leaf): it fills the TBSCertificate (serial, validity, names, SPKI, extensions) with libcrypto
 * and signs it through p11_evp, so the private key never leaves the token; it then verifies the
 * signature with the signer's public key before handing the certificate out.
 *
 * sgn_issuer is the issuing CA of the service (intermediate): its token key, certificate and
 * chain; sgn_cert_issue() turns a validated CSR into a leaf certificate under it.
 */
#ifndef SGN_CERT_H
#define SGN_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"
#include "pkcs11/p11_key.h"
#include "signer/sgn_csr.h"
#include "signer/sgn_spki.h"

#define SGN_SERIAL_BYTES 16 /* RFC 5280 §4.1.2.2: positive, at most 20 octets */
#define SGN_SERIAL_HEX_LEN (2 * SGN_SERIAL_BYTES)
#define SGN_BACKDATE_S 300 /* notBefore = now - 5 min, for clock skew */
#define SGN_LEAF_TTL_DEFAULT_S (12 * 3600)
#define SGN_LEAF_TTL_MAX_S (24 * 3600)
#define SGN_CHAIN_PEM_MAX (64 * 1024)
#define SGN_CERT_PEM_MAX 16384

/* Key usage bits (RFC 5280 §4.2.1.3), combined with |. */
enum sgn_key_usage {
    SGN_KU_DIGITAL_SIGNATURE = 1 << 0,
    SGN_KU_KEY_ENCIPHERMENT = 1 << 1,
    SGN_KU_KEY_CERT_SIGN = 1 << 2,
    SGN_KU_CRL_SIGN = 1 << 3,
};

/* Extended key usages (RFC 5280 §4.2.1.12), combined with |. */
enum sgn_eku {
    SGN_EKU_SERVER_AUTH = 1 << 0,
    SGN_EKU_CLIENT_AUTH = 1 << 1,
};

/* Everything that goes into one certificate. Pointers are borrowed for the call. */
struct sgn_cert_template {
    const X509_NAME *subject;
    EVP_PKEY *subject_key; /* public key certified (a token key's), or NULL with subject_spki */
    /* The SPKI certified as received (a CSR's): copied without re-encoding; NULL = use
     * subject_key. A self-signed certificate needs subject_key. */
    const struct sgn_spki *subject_spki;
    X509 *issuer;      /* NULL: self-signed (issuer = subject, AKI = SKI); OpenSSL caches into it */
    time_t not_before; /* seconds since the epoch */
    time_t not_after;
    bool ca;                                /* BasicConstraints cA (always critical) */
    int path_len;                           /* pathLenConstraint when ca; -1 = absent */
    unsigned int key_usage;                 /* enum sgn_key_usage bits; critical */
    unsigned int eku;                       /* enum sgn_eku bits; 0 = no EKU extension */
    const GENERAL_NAMES *sans;              /* NULL or empty: no SAN extension */
    const STACK_OF(X509_EXTENSION) * extra; /* further extensions, added as given; may be NULL */
    /* NULL: the SKI is computed (RFC 5280 §4.2.1.2 method 1); a cross-certificate keeps the
     * original's. */
    const ASN1_OCTET_STRING *ski;
};

/* Builds the certificate described by t with a fresh random serial, signs it with signer (the
 * issuer's token key; for a self-signed certificate the key of subject_key) using the key's
 * default algorithm (RSA: sha256WithRSAEncryption, P-256: ecdsa-with-SHA256, P-384:
 * ecdsa-with-SHA384, Ed25519), and verifies the signature. Adds SKI (RFC 5280 §4.2.1.2
 * method 1, or t->ski) and AKI keyIdentifier (§4.2.1.1). SAN is critical when the subject is
 * empty (§4.2.1.6). The TBSCertificate is linted (sgn_lint_tbs) before the token signs it and
 * the signature algorithm after. Errors: HS_ERR_INPUT (inconsistent template), HS_ERR_LINT,
 * HS_ERR_HSM_* from C_Sign, HS_ERR_CRYPTO. The caller frees *out with X509_free(). */
HS_RESULT sgn_cert_sign(const struct sgn_cert_template *t, struct p11_key *signer, X509 **out);

/* Appends the PEM encoding of cert to out. Errors: HS_ERR_BOUNDS, HS_ERR_CRYPTO. */
HS_RESULT sgn_cert_to_pem(const X509 *cert, struct hs_buf *out);

/* Appends the PEM encoding (RFC 7468 §2 and §5: "CERTIFICATE" label, base64 in 64-character
 * lines, each ending in a newline) of the DER certificate der (len bytes) to out, the same
 * text PEM_write_bio_X509() writes, without decoding or encoding the certificate again.
 * Errors: HS_ERR_INPUT_TOO_LARGE (len > SGN_CERT_PEM_MAX / 2), HS_ERR_BOUNDS, HS_ERR_CRYPTO. */
HS_RESULT sgn_cert_der_to_pem(const unsigned char *der, size_t len, struct hs_buf *out);

/* Writes the certificate's serial as lowercase hex into out (at least 41 bytes), without
 * leading zero bytes. Errors: HS_ERR_CRYPTO, HS_ERR_BOUNDS. */
HS_RESULT sgn_cert_serial_hex(const X509 *cert, char *out, size_t out_len);

/* Verifies cert up to root, the only trust anchor, through untrusted (may be NULL), with RFC 5280
 * path validation under X509_V_FLAG_X509_STRICT and the root's own signature checked. Errors:
 * HS_ERR_INPUT_CONFIG naming OpenSSL's verification error, HS_ERR_NOMEM. */
HS_RESULT sgn_chain_verify(X509 *cert, X509 *root, STACK_OF(X509) * untrusted);

/* Writes name in RFC 4514 form ("CN=device-42,O=Example", XN_FLAG_RFC2253) into out,
 * NUL-terminated; "" for an empty name. Errors: HS_ERR_BOUNDS (longer than out_len - 1),
 * HS_ERR_CRYPTO, HS_ERR_NOMEM. */
HS_RESULT sgn_name_rfc4514(const X509_NAME *name, char *out, size_t out_len);

/* Converts an ASN1_TIME to seconds since the epoch. Errors: HS_ERR_CRYPTO. */
HS_RESULT sgn_asn1_time_to_epoch(const ASN1_TIME *t, time_t *out);

/* Writes t as RFC 3339 UTC ("2026-11-21T19:24:05Z") into out[21]. */
void sgn_time_rfc3339(time_t t, char out[32]);

/* --- the issuing CA ------------------------------------------------------------------------ */

struct sgn_issuer;

/* Loads the issuing CA: chain_pem holds the issuing certificate first, then its issuers up to
 * the self-signed root (truststore.pem as the key ceremony writes it). Checks that the first
 * certificate's public key is key's public key, that it is a CA allowed to sign certificates
 * (BasicConstraints cA, keyCertSign), that the chain verifies (X509_V_FLAG_X509_STRICT) and that
 * the token offers the mechanism the key signs certificates with. Takes a reference to key.
 * Errors: HS_ERR_INPUT_CONFIG (detail says what does not fit), HS_ERR_HSM_MECHANISM,
 * HS_ERR_CRYPTO. The caller frees *out with sgn_issuer_free(). */
HS_RESULT sgn_issuer_new(struct p11_key *key, const char *chain_pem, size_t chain_len,
                         struct sgn_issuer **out);
void sgn_issuer_free(struct sgn_issuer *issuer);
void sgn_issuer_freep(struct sgn_issuer **issuer);

/* Verifies that leaf was issued by this CA's certificate: RFC 5280 path validation at the
 * current time under X509_V_FLAG_X509_STRICT with the issuing certificate as the trust anchor
 * (its own chain to the root was verified by sgn_issuer_new), used to accept mTLS client
 * certificates we issued. Thread-safe. Errors: HS_ERR_INPUT_CONFIG naming OpenSSL's
 * verification error, HS_ERR_NOMEM. */
HS_RESULT sgn_issuer_verify_leaf(const struct sgn_issuer *issuer, X509 *leaf);

/* Lends the issuing certificate, the chain PEM (issuing certificate then up to the root, as
 * loaded, NUL-terminated) and the token key. */
X509 *sgn_issuer_get0_cert(const struct sgn_issuer *issuer);
const char *sgn_issuer_get0_chain_pem(const struct sgn_issuer *issuer);
struct p11_key *sgn_issuer_get0_key(const struct sgn_issuer *issuer);

/* A request for a leaf certificate. */
struct sgn_leaf_request {
    const struct sgn_csr *csr;
    long ttl_s;       /* 1..SGN_LEAF_TTL_MAX_S seconds */
    unsigned int eku; /* enum sgn_eku bits */
    time_t now;
    const char *requester; /* principal ARN, for the audit log */
    const char *profile;   /* profile name, for the audit log */
    const char *crl_url;   /* CRL distribution point (RFC 5280 §4.2.1.13); NULL = none */
    /* enum sgn_key_usage bits: SGN_KU_DIGITAL_SIGNATURE and/or SGN_KU_KEY_ENCIPHERMENT (kept only
     * for an RSA key); 0 = digitalSignature, plus keyEncipherment for serverAuth. */
    unsigned int key_usage;
};

/* The issued certificate. */
struct sgn_leaf {
    X509 *cert;
    char serial_hex[SGN_SERIAL_HEX_LEN + 9];
    time_t not_before;
    time_t not_after;
    unsigned char tbs_sha256[32];  /* SHA-256 of the DER TBSCertificate, for the audit line */
    unsigned char spki_sha256[32]; /* SHA-256 of the DER SubjectPublicKeyInfo */
    /* The certificate's DER, encoded once after signing (OPENSSL_malloc'd, der_len bytes):
     * the PEM answer and the inventory's digest read it rather than encoding cert again. */
    unsigned char *der;
    size_t der_len;
    unsigned char cert_sha256[32]; /* SHA-256 of der (the inventory's cert_sha256) */
};

/* Issues a leaf under issuer for req (RFC 5280 profile): subject = CN from the CSR (only),
 * SANs copied, notBefore = now - SGN_BACKDATE_S, notAfter = now + ttl_s (never past the
 * issuer's notAfter), BasicConstraints CA:FALSE critical, KeyUsage req->key_usage critical
 * (keyEncipherment only for an RSA key, for TLS RSA key transport), the
 * requested EKUs, SKI, AKI, and the CRL distribution point when req->crl_url is set. The CSR's
 * SubjectPublicKeyInfo is copied as received. On failure emits the audit event
 * "sign.cert.failed"; on success none: the certificate is not issued until the caller has
 * recorded it, and the caller then emits the outcome with sgn_leaf_audit(). Errors: HS_ERR_INPUT_RANGE (ttl), HS_ERR_INPUT_KEY (no key usage left
 * for this key, or one a leaf may not have), HS_ERR_INTERNAL (issuer expired),
 * HS_ERR_HSM_*, HS_ERR_CRYPTO. The caller frees out->cert and out->der with sgn_leaf_clear(). */
HS_RESULT sgn_cert_issue(const struct sgn_issuer *issuer, const struct sgn_leaf_request *req,
                         struct sgn_leaf *out);

/* Emits the audit event of a certificate sgn_cert_issue() signed for req, once its fate is
 * known: "sign.cert.issued" (info) when recorded is HS_OK, the certificate being durably in the
 * inventory and handed out; otherwise "sign.cert.discarded" (warn: signed by the token but
 * never handed out), with "reason" the code name of recorded and the thread's error. Both carry
 * the requester, key label, profile, CN, SAN count, SPKI SHA-256, serial, notAfter and SHA-256
 * of the TBSCertificate, so every signature the token made has exactly one audit line. */
void sgn_leaf_audit(const struct sgn_issuer *issuer, const struct sgn_leaf_request *req,
                    const struct sgn_leaf *leaf, hs_result recorded);

/* Frees what a successful sgn_cert_issue() put in leaf (cert and der). */
void sgn_leaf_clear(struct sgn_leaf *leaf);

#endif /* SGN_CERT_H */
