/*
 * sgn_ssh_key: OpenSSH public keys as data: the wire blob (RFC 4253 §6.6), its authorized_keys
 * line ("type base64 [comment]", sshd(8) AUTHORIZED_KEYS FILE FORMAT) and its SHA256
 * fingerprint as ssh-keygen -l prints it.
 *
 * Key types (blob layout):
 *   ssh-ed25519                          string type, string key[32]            (RFC 8709 §4)
 *   ecdsa-sha2-nistp256/384/521          string type, string curve, string Q    (RFC 5656 §3.1)
 *   ssh-rsa                              string type, mpint e, mpint n          (RFC 4253 §6.6)
 *   sk-ecdsa-sha2-nistp256@openssh.com   string type, string "nistp256", string Q,
 *                                        string application           (OpenSSH PROTOCOL.u2f)
 *   sk-ssh-ed25519@openssh.com           string type, string key[32], string application
 * Refused: ssh-dss (DSA), RSA below SGN_SSH_RSA_BITS_MIN bits or above SGN_SSH_RSA_BITS_MAX,
 * an RSA exponent other than 65537 (as sgn_spki's default range), an EC point that is not an
 * uncompressed point on its curve (checked by OpenSSL), certificates as subject keys.
 */
#ifndef SGN_SSH_KEY_H
#define SGN_SSH_KEY_H

#include <stddef.h>

#include <openssl/evp.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"

#define SGN_SSH_KEY_BLOB_MAX 2048  /* bytes of a public key blob (RSA-8192 is ~1050) */
#define SGN_SSH_LINE_MAX 8192      /* bytes of an authorized_keys / certificate line */
#define SGN_SSH_COMMENT_MAX 1024   /* bytes of a line's comment */
#define SGN_SSH_SK_APP_MAX 256     /* bytes of an sk- key's application string */
#define SGN_SSH_RSA_BITS_MIN 2048  /* issue 11: RSA subject keys of at least 2048 bits */
#define SGN_SSH_RSA_BITS_MAX 8192  /* larger moduli only slow every verifier down */
#define SGN_SSH_FINGERPRINT_LEN 50 /* "SHA256:" + 43 characters of unpadded base64 */

enum sgn_ssh_key_type {
    SGN_SSH_KEY_ED25519,
    SGN_SSH_KEY_ECDSA_P256,
    SGN_SSH_KEY_ECDSA_P384,
    SGN_SSH_KEY_ECDSA_P521,
    SGN_SSH_KEY_RSA,
    SGN_SSH_KEY_SK_ECDSA_P256,
    SGN_SSH_KEY_SK_ED25519,
};

struct sgn_ssh_key;

/* Parses an authorized_keys-style line: the key type, one space or tab, the base64 blob
 * (RFC 4648 §4 with padding), then optionally whitespace and a comment of printable
 * characters; a trailing newline is allowed. No options in front. Strict: the type inside the
 * blob must equal the line's, the blob must end after its last field, sizes are bounded (line
 * SGN_SSH_LINE_MAX, blob SGN_SSH_KEY_BLOB_MAX) and the key must be accepted as the header says.
 * Errors: HS_ERR_INPUT_TOO_LARGE, HS_ERR_INPUT_KEY with a detail naming what is wrong. The
 * comment is not kept. The caller frees *out with sgn_ssh_key_free(). */
HS_RESULT sgn_ssh_key_parse_line(const char *line, size_t len, struct sgn_ssh_key **out);

/* Parses a public key blob (wire form) with the checks of sgn_ssh_key_parse_line. Errors as
 * there. The caller frees *out with sgn_ssh_key_free(). */
HS_RESULT sgn_ssh_key_parse_blob(const unsigned char *blob, size_t len, struct sgn_ssh_key **out);

/* Encodes a public key as OpenSSL holds it (a token key's public half, p11_key_get0_public, or
 * any EVP_PKEY): Ed25519, EC P-256/P-384/P-521 or RSA (the same size and exponent rules as a
 * parsed key). Errors: HS_ERR_INPUT_KEY (another type or curve), HS_ERR_CRYPTO, HS_ERR_NOMEM.
 * The caller frees *out with sgn_ssh_key_free(). */
HS_RESULT sgn_ssh_key_from_pkey(EVP_PKEY *pub, struct sgn_ssh_key **out);

void sgn_ssh_key_free(struct sgn_ssh_key *k);
void sgn_ssh_key_freep(struct sgn_ssh_key **k);

enum sgn_ssh_key_type sgn_ssh_key_type(const struct sgn_ssh_key *k);

/* Key size in bits: modulus bits for RSA, 256/384/521 for ECDSA, 256 for Ed25519. */
unsigned int sgn_ssh_key_bits(const struct sgn_ssh_key *k);

/* Lends the wire blob (valid while k lives) and its length in bytes. */
const unsigned char *sgn_ssh_key_blob(const struct sgn_ssh_key *k, size_t *out_len);

/* Lends the key as an OpenSSL public key (for an sk- key: its ECDSA or Ed25519 key; valid while
 * k lives). */
EVP_PKEY *sgn_ssh_key_get0_pkey(const struct sgn_ssh_key *k);

/* Appends "type base64" and, when comment is not NULL or empty, " comment" (printable, at most
 * SGN_SSH_COMMENT_MAX bytes). No newline. Errors: HS_ERR_INPUT_FIELD (bad comment),
 * HS_ERR_BOUNDS, HS_ERR_CRYPTO. */
HS_RESULT sgn_ssh_key_to_line(const struct sgn_ssh_key *k, const char *comment, struct hs_buf *out);

/* Appends "name base64(blob) [comment]" for any blob (a certificate's): the line writer of
 * sgn_ssh_key_to_line. Errors as there. */
HS_RESULT sgn_ssh_line_write(const char *name, const unsigned char *blob, size_t len,
                             const char *comment, struct hs_buf *out);

/* Writes the fingerprint as `ssh-keygen -l -E sha256` prints it: "SHA256:" and the unpadded
 * base64 (RFC 4648 §4) of the SHA-256 of the blob, NUL-terminated, into out. Errors:
 * HS_ERR_CRYPTO. */
HS_RESULT sgn_ssh_key_fingerprint(const struct sgn_ssh_key *k,
                                  char out[SGN_SSH_FINGERPRINT_LEN + 1]);

/* The key type's name in the blob and on the line ("ssh-ed25519", ...). */
const char *sgn_ssh_key_type_name(enum sgn_ssh_key_type type);

/* The certificate type of a key type (PROTOCOL.certkeys: "ssh-ed25519-cert-v01@openssh.com",
 * ...). */
const char *sgn_ssh_key_cert_type_name(enum sgn_ssh_key_type type);

/* Decodes base64 (RFC 4648 §4, padded, no whitespace) into out (at most max bytes). Errors:
 * HS_ERR_INPUT_KEY (not base64), HS_ERR_INPUT_TOO_LARGE. */
HS_RESULT sgn_ssh_b64_decode(const char *in, size_t len, unsigned char *out, size_t max,
                             size_t *out_len);

#endif /* SGN_SSH_KEY_H */
