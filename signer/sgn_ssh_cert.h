/*
 * sgn_ssh_cert: OpenSSH certificates (OpenSSH PROTOCOL.certkeys) signed by C_Sign on the token.
 *
 * A CA is a token key (struct p11_key) and its OpenSSH public key. The signature it makes over
 * the certificate (every field up to and including the signature key) is, per CA key type:
 *   Ed25519  CKM_EDDSA over the data                  "ssh-ed25519"          (RFC 8709 §6)
 *   P-256    CKM_ECDSA over SHA-256 of the data       "ecdsa-sha2-nistp256"  (RFC 5656 §6.2.1)
 *   P-384    CKM_ECDSA over SHA-384 of the data       "ecdsa-sha2-nistp384"
 *   RSA      CKM_SHA512_RSA_PKCS                      "rsa-sha2-512"         (RFC 8332 §3)
 * ECDSA's raw r||s from the token is written as mpint r, mpint s inside the signature blob.
 * RSA never signs SHA-1 "ssh-rsa" (RFC 8332 §3: SHA-1 is deprecated; OpenSSH 8.8 refuses it).
 * Every certificate is verified with the CA's public key (OpenSSL) before it is handed out.
 */
#ifndef SGN_SSH_CERT_H
#define SGN_SSH_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"
#include "pkcs11/p11_key.h"
#include "signer/sgn_ssh_key.h"

#define SGN_SSH_CERT_MAX 32768        /* bytes of a certificate blob */
#define SGN_SSH_PRINCIPALS_MAX 64     /* valid principals in one certificate */
#define SGN_SSH_PRINCIPAL_MAX 255     /* bytes of one principal */
#define SGN_SSH_KEY_ID_MAX 256        /* bytes of the key id */
#define SGN_SSH_OPTION_VALUE_MAX 1024 /* bytes of a critical option's value */
#define SGN_SSH_EXTENSIONS_MAX 32     /* extensions in one certificate */
#define SGN_SSH_EXTENSION_NAME_MAX 64 /* bytes of an extension's name */
#define SGN_SSH_NONCE_LEN 32          /* bytes of the random nonce */
#define SGN_SSH_SIG_MAX 1024          /* bytes of a signature blob (RSA-4096 is 531) */

enum sgn_ssh_cert_type {
    SGN_SSH_CERT_USER = 1, /* SSH2_CERT_TYPE_USER */
    SGN_SSH_CERT_HOST = 2, /* SSH2_CERT_TYPE_HOST */
};

/* A critical option (PROTOCOL.certkeys "Critical options"): "force-command" (a command line)
 * or "source-address" (comma-separated addresses / CIDR blocks). */
struct sgn_ssh_option {
    const char *name;
    const char *value;
};

/* Everything that goes into one certificate. Pointers are borrowed for the call. */
struct sgn_ssh_cert_request {
    const struct sgn_ssh_key *subject; /* the certified key */
    uint64_t serial;                   /* 1..UINT64_MAX (a KRL cannot revoke serial 0) */
    enum sgn_ssh_cert_type type;
    const char *key_id; /* 0..SGN_SSH_KEY_ID_MAX printable bytes; NULL = "" */
    /* 1..SGN_SSH_PRINCIPALS_MAX principals, each 1..SGN_SSH_PRINCIPAL_MAX bytes without
     * whitespace, commas or control characters, none twice. An empty list would mean "any
     * principal" and is refused. */
    const char *const *principals;
    size_t n_principals;
    uint64_t valid_after; /* seconds since the epoch; valid_after < valid_before */
    uint64_t valid_before;
    /* User certificates only; written sorted by name, none twice. */
    const struct sgn_ssh_option *options;
    size_t n_options;
    /* User certificates only ("permit-pty", ...); written sorted, none twice, each with empty
     * data. At most SGN_SSH_EXTENSIONS_MAX. */
    const char *const *extensions;
    size_t n_extensions;
    const char *requester; /* for the audit log; NULL = "" */
};

struct sgn_ssh_ca;

/* Wraps a token key (Ed25519, EC P-256/P-384, RSA of 2048..8192 bits) as an SSH CA: encodes its
 * public key and checks that the token offers the signing mechanism (p11_sign_check_key).
 * Takes a reference to key. Errors: HS_ERR_INPUT_KEY, HS_ERR_HSM_MECHANISM, HS_ERR_CRYPTO. The
 * caller frees *out with sgn_ssh_ca_free(). */
HS_RESULT sgn_ssh_ca_new(struct p11_key *key, struct sgn_ssh_ca **out);
void sgn_ssh_ca_free(struct sgn_ssh_ca *ca);
void sgn_ssh_ca_freep(struct sgn_ssh_ca **ca);

/* Lends the CA's OpenSSH public key (valid while ca lives). */
const struct sgn_ssh_key *sgn_ssh_ca_get0_key(const struct sgn_ssh_ca *ca);

/* The signature algorithm name the CA signs with ("ssh-ed25519", "ecdsa-sha2-nistp256",
 * "ecdsa-sha2-nistp384", "rsa-sha2-512"). */
const char *sgn_ssh_ca_sig_name(const struct sgn_ssh_ca *ca);

/* Builds the certificate req describes with a fresh 32-byte nonce, has the token sign it
 * (C_Sign), verifies the signature with the CA's public key and appends the certificate blob
 * (wire form) to out. Emits one audit event, "sign.ssh_cert.issued" (caller, CA fingerprint,
 * serial, key id, subject fingerprint, SHA-256 of the signed data) or "sign.ssh_cert.failed".
 * Errors: HS_ERR_INPUT_FIELD / HS_ERR_INPUT_RANGE / HS_ERR_INPUT_TOO_LARGE naming the bad field,
 * HS_ERR_HSM_* (a signature that does not verify is HS_ERR_HSM), HS_ERR_CRYPTO, HS_ERR_BOUNDS
 * (out has no room). */
HS_RESULT sgn_ssh_cert_sign(const struct sgn_ssh_ca *ca, const struct sgn_ssh_cert_request *req,
                            struct hs_buf *out);

/* Appends the certificate's line: "<type>-cert-v01@openssh.com base64 [comment]" (the type read
 * from the blob). Errors: HS_ERR_INPUT_KEY (blob without a certificate type),
 * HS_ERR_INPUT_FIELD (bad comment), HS_ERR_BOUNDS. */
HS_RESULT sgn_ssh_cert_to_line(const unsigned char *blob, size_t len, const char *comment,
                               struct hs_buf *out);

/* Verifies an SSH signature blob (string algorithm, string signature) over data with pub:
 * "ssh-ed25519", "ecdsa-sha2-nistp256/384/521" (mpint r, mpint s), "rsa-sha2-512" or
 * "rsa-sha2-256"; the algorithm must fit pub. Errors: HS_ERR_INPUT_KEY (malformed blob, wrong
 * algorithm for the key, or a signature that does not verify; the detail says which),
 * HS_ERR_CRYPTO. */
HS_RESULT sgn_ssh_sig_verify(EVP_PKEY *pub, const unsigned char *data, size_t len,
                             const unsigned char *sig, size_t sig_len);

#endif /* SGN_SSH_CERT_H */
