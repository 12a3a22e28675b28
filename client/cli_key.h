/*
 * cli_key: the caller's key pair and CSR, made locally with libcrypto. The private key never
 * leaves the client: it is written once, to a new file (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600),
 * as PEM PKCS#8 built in OpenSSL's secure memory.
 */
#ifndef CLI_KEY_H
#define CLI_KEY_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"

#define CLI_CSR_PEM_MAX (16 * 1024) /* the service's CSR limit */
#define CLI_CN_MAX 64               /* RFC 5280 ub-common-name */
#define CLI_DNS_NAME_MAX 253
#define CLI_KEY_PEM_MAX (64 * 1024) /* bytes of a PEM private key file we read */

enum cli_key_type {
    CLI_KEY_EC_P256,
    CLI_KEY_EC_P384,
    CLI_KEY_RSA_2048,
    CLI_KEY_RSA_3072,
    CLI_KEY_ED25519,
};

/* The names subject to the CSR (all borrowed). */
struct cli_csr_names {
    const char *cn;
    const char *const *dns;
    size_t ndns;
    const char *const *ip;
    size_t nip;
};

/* "ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "ed25519". Errors: HS_ERR_INPUT. */
HS_RESULT cli_key_type_parse(const char *name, enum cli_key_type *out);

/* Generates a key pair. Errors: HS_ERR_CRYPTO. The caller frees *out with EVP_PKEY_free(). */
HS_RESULT cli_key_generate(enum cli_key_type type, EVP_PKEY **out);

/* Checks the names as cli_csr_build() does, before a key is generated for them. Errors:
 * HS_ERR_INPUT (the detail names the option). */
HS_RESULT cli_csr_names_check(const struct cli_csr_names *names);

/* Builds a PKCS#10 CSR for key with subject CN=names->cn and the DNS and IP SANs, signs it
 * (SHA-256; SHA-384 for P-384; pure Ed25519), checks its signature and appends its PEM to out.
 * Errors: HS_ERR_INPUT (a name that is empty, too long, not ASCII for DNS, not an address for
 * IP; the detail says which option), HS_ERR_CRYPTO, HS_ERR_BOUNDS. */
HS_RESULT cli_csr_build(EVP_PKEY *key, const struct cli_csr_names *names, struct hs_buf *out);

/* Reads the PEM CSR at path (at most CLI_CSR_PEM_MAX bytes) into *pem_out and its public key
 * into *key_out, after checking the CSR's signature. Errors: HS_ERR_INPUT_NOT_FOUND,
 * HS_ERR_INPUT_TOO_LARGE, HS_ERR_INPUT_CSR (not one PEM CSR, or its signature fails),
 * HS_ERR_IO. The caller frees both. */
HS_RESULT cli_csr_read(const char *path, struct hs_buf **pem_out, EVP_PKEY **key_out);

/* Writes key's private key as PEM PKCS#8 to a new file at path, mode 0600. Errors:
 * HS_ERR_INPUT_EXISTS, HS_ERR_IO, HS_ERR_CRYPTO. */
HS_RESULT cli_key_write(EVP_PKEY *key, const char *path);

/* Reads an unencrypted PEM private key (PKCS#8 or traditional; at most CLI_KEY_PEM_MAX bytes)
 * from path, through a buffer wiped when freed; an encrypted key is refused, never prompted
 * for. Errors: HS_ERR_INPUT_NOT_FOUND, HS_ERR_INPUT_TOO_LARGE, HS_ERR_INPUT_KEY (no
 * unencrypted PEM private key in it), HS_ERR_IO. The caller frees *out with EVP_PKEY_free(). */
HS_RESULT cli_key_read(const char *path, EVP_PKEY **out);

/* Builds a PKCS#10 CSR (RFC 2986) for key with cert's subject and its subjectAltName extension
 * as it is (every name kind), for renewing cert with the same key; signs it as
 * cli_csr_build() does, checks its signature and appends its PEM to out. Errors:
 * HS_ERR_CRYPTO, HS_ERR_NOMEM, HS_ERR_BOUNDS. */
HS_RESULT cli_csr_build_like(EVP_PKEY *key, const X509 *cert, struct hs_buf *out);

#endif /* CLI_KEY_H */
