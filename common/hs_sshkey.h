/*
 * hs_sshkey: an SSH key pair made in memory with libcrypto, in OpenSSH's encodings: the public
 * key blob (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4), its authorized_keys line, and the
 * unencrypted private key container "openssh-key-v1" (OpenSSH PROTOCOL.key), which libcrypto
 * cannot write. Both the client (hsmsign ssh, which sits only on aws/ and common/) and the
 * service (server-side key generation, service/svc_sshkey) need it, so it lives in common/:
 * the private key container is a key file format, not a signed encoding (signer/ keeps those).
 * Private key bytes pass only through sensitive buffers (hs_buf_new_sensitive, wiped on free).
 */
#ifndef HS_SSHKEY_H
#define HS_SSHKEY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"

#define HS_SSHKEY_BLOB_MAX 2048 /* bytes of a public key or certificate-key blob */
#define HS_SSHKEY_LINE_MAX 8192 /* bytes of a public-key or certificate line (as the API) */
#define HS_SSHKEY_PRIVATE_MAX (8 * 1024) /* bytes of the private key file (RSA-4096: ~3.4 KiB) */
#define HS_SSHKEY_COMMENT_MAX 256

enum hs_sshkey_type {
    HS_SSHKEY_ED25519,    /* ssh-ed25519 */
    HS_SSHKEY_ECDSA_P256, /* ecdsa-sha2-nistp256 */
    HS_SSHKEY_RSA_2048,   /* ssh-rsa, e = 65537 (signatures rsa-sha2-256/512 are the peer's) */
    HS_SSHKEY_RSA_3072,
    HS_SSHKEY_RSA_4096,
};

/* Generates a key pair of type (RSA: e = 65537). Errors: HS_ERR_CRYPTO, HS_ERR_INTERNAL (an
 * unknown type). The caller frees *out with EVP_PKEY_free(). */
HS_RESULT hs_sshkey_generate(enum hs_sshkey_type type, EVP_PKEY **out);

/* Appends key's public key blob (wire form) to out. Errors: HS_ERR_INPUT_KEY (not Ed25519,
 * EC P-256 or RSA), HS_ERR_CRYPTO, HS_ERR_BOUNDS. */
HS_RESULT hs_sshkey_blob(EVP_PKEY *key, struct hs_buf *out);

/* Appends "TYPE BASE64[ COMMENT]\n" (an authorized_keys line) for key to out. comment: NULL
 * or empty for none, printable ASCII without newlines, at most HS_SSHKEY_COMMENT_MAX bytes.
 * Errors as hs_sshkey_blob, HS_ERR_INPUT (comment). */
HS_RESULT hs_sshkey_public_line(EVP_PKEY *key, const char *comment, struct hs_buf *out);

/* Appends key's private key as an unencrypted OpenSSH private key file ("-----BEGIN OPENSSH
 * PRIVATE KEY-----", PROTOCOL.key: cipher and KDF "none", one key, random check integers,
 * padding 1, 2, 3... to 8 bytes; base64 in lines of 70) to out, which should be sensitive
 * (hs_buf_new_sensitive): every intermediate copy is wiped. Errors as hs_sshkey_blob. */
HS_RESULT hs_sshkey_private_file(EVP_PKEY *key, const char *comment, struct hs_buf *out);

/* Parses the first line of text (NUL-terminated, len bytes) as "TYPE BASE64[ COMMENT]": the type (printable ASCII,
 * at most 64 bytes) is lent in *type_out / *type_len, the decoded blob appended to blob.
 * Checks that the blob starts with the string TYPE. Errors: HS_ERR_INPUT_KEY naming what is
 * wrong, HS_ERR_BOUNDS (blob over its buffer's maximum). */
HS_RESULT hs_sshkey_line_parse(const char *text, size_t len, const char **type_out,
                               size_t *type_len, struct hs_buf *blob);

/* Checks that cert_line is an OpenSSH certificate (PROTOCOL.certkeys) of the key whose blob is
 * key_blob: the type is the key's type + "-cert-v01@openssh.com", and after the nonce come the
 * key's own fields. Errors: HS_ERR_INPUT_FIELD (not a certificate line), HS_ERR_INPUT_KEY (a
 * certificate of another key). */
HS_RESULT hs_sshkey_cert_check(const char *cert_line, const struct hs_buf *key_blob);

/* Checks that text (len bytes) is an unencrypted OpenSSH private key file (PROTOCOL.key:
 * "-----BEGIN OPENSSH PRIVATE KEY-----", cipher and KDF "none", one key, equal check integers)
 * whose key is that of the public key blob key_blob, and whose private part belongs to it:
 * Ed25519, the seed derives the public key; RSA, n and e are the blob's and p * q = n (the
 * types the service generates; other types are refused). Decoded bytes pass only through
 * sensitive buffers. Errors: HS_ERR_INPUT_KEY naming what is wrong, HS_ERR_CRYPTO,
 * HS_ERR_NOMEM. */
HS_RESULT hs_sshkey_private_check(const char *text, size_t len, const struct hs_buf *key_blob);

#endif /* HS_SSHKEY_H */
