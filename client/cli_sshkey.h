/*
 * cli_sshkey: the caller's SSH key pair, made locally with libcrypto, in OpenSSH's encodings:
 * the public key blob (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4), its authorized_keys line,
 * and the unencrypted private key container "openssh-key-v1" (OpenSSH PROTOCOL.key), which
 * libcrypto cannot write. The service side has its own encoder in signer/ (sgn_ssh_key), but
 * client/ sits only on aws/ and common/ (tests/lint/rules.py), so the little the client needs
 * is written here; the private key never leaves this process except into its 0600 file.
 */
#ifndef CLI_SSHKEY_H
#define CLI_SSHKEY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"

#define CLI_SSH_BLOB_MAX 2048          /* bytes of a public key or certificate-key blob */
#define CLI_SSH_LINE_MAX 8192          /* bytes of a public-key or certificate line (as the API) */
#define CLI_SSH_PRIVATE_MAX (8 * 1024) /* bytes of the private key file (RSA-3072: ~2.6 KiB) */
#define CLI_SSH_COMMENT_MAX 256

enum cli_ssh_key_type {
    CLI_SSH_KEY_ED25519, /* ssh-ed25519 */
    CLI_SSH_KEY_ECDSA,   /* ecdsa-sha2-nistp256 */
    CLI_SSH_KEY_RSA,     /* ssh-rsa, 3072 bits (signatures rsa-sha2-256/512 are the peer's) */
};

/* "ed25519", "ecdsa", "rsa". Errors: HS_ERR_INPUT naming --key-type. */
HS_RESULT cli_ssh_key_type_parse(const char *name, enum cli_ssh_key_type *out);

/* ssh-keygen's file name stem for type: "id_ed25519", "id_ecdsa", "id_rsa". */
const char *cli_ssh_key_default_file(enum cli_ssh_key_type type);

/* Generates a key pair: Ed25519, ECDSA P-256 or RSA-3072 (e = 65537). Errors: HS_ERR_CRYPTO,
 * HS_ERR_INTERNAL. The caller frees *out with EVP_PKEY_free(). */
HS_RESULT cli_ssh_key_generate(enum cli_ssh_key_type type, EVP_PKEY **out);

/* Appends key's public key blob (wire form) to out. Errors: HS_ERR_INPUT_KEY (not Ed25519,
 * EC P-256 or RSA), HS_ERR_CRYPTO, HS_ERR_BOUNDS. */
HS_RESULT cli_ssh_key_blob(EVP_PKEY *key, struct hs_buf *out);

/* Appends "TYPE BASE64[ COMMENT]\n" (an authorized_keys line) for key to out. comment: NULL
 * or empty for none, printable ASCII without newlines, at most CLI_SSH_COMMENT_MAX bytes.
 * Errors as cli_ssh_key_blob, HS_ERR_INPUT (comment). */
HS_RESULT cli_ssh_key_public_line(EVP_PKEY *key, const char *comment, struct hs_buf *out);

/* Appends key's private key as an unencrypted OpenSSH private key file ("-----BEGIN OPENSSH
 * PRIVATE KEY-----", PROTOCOL.key: cipher and KDF "none", one key, random check integers,
 * padding 1, 2, 3... to 8 bytes; base64 in lines of 70) to out, which should be sensitive
 * (hs_buf_new_sensitive): every intermediate copy is wiped. Errors as cli_ssh_key_blob. */
HS_RESULT cli_ssh_key_private_file(EVP_PKEY *key, const char *comment, struct hs_buf *out);

/* Parses the first line of text (NUL-terminated, len bytes) as "TYPE BASE64[ COMMENT]": the type (printable ASCII,
 * at most 64 bytes) is lent in *type_out / *type_len, the decoded blob appended to blob.
 * Checks that the blob starts with the string TYPE. Errors: HS_ERR_INPUT_KEY naming what is
 * wrong, HS_ERR_BOUNDS (blob over its buffer's maximum). */
HS_RESULT cli_ssh_line_parse(const char *text, size_t len, const char **type_out, size_t *type_len,
                             struct hs_buf *blob);

/* Checks that cert_line is an OpenSSH certificate (PROTOCOL.certkeys) of the key whose blob is
 * key_blob: the type is the key's type + "-cert-v01@openssh.com", and after the nonce come the
 * key's own fields. Errors: HS_ERR_INPUT_FIELD (not a certificate line), HS_ERR_INPUT_KEY (a
 * certificate of another key). */
HS_RESULT cli_ssh_cert_check(const char *cert_line, const struct hs_buf *key_blob);

#endif /* CLI_SSHKEY_H */
