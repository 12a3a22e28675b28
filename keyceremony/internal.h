/*
 * Declarations shared inside keyceremony/ only.
 */
#ifndef KC_INTERNAL_H
#define KC_INTERNAL_H

#include <stdio.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/hs_err.h"
#include "keyceremony/kc_config.h"
#include "pkcs11/p11_key.h"
#include "pkcs11/p11_module.h"
#include "pkcs11/p11_pool.h"
#include "signer/sgn_cert.h"

/* An open token for one ceremony step. */
struct kc_session {
    struct p11_module *module;
    struct p11_pool *pool;
    char token_serial[17];
};

/* Loads the module, logs in to the configured token (PIN from file, environment or terminal).
 * Errors: HS_ERR_HSM_*, HS_ERR_INPUT_CONFIG. Close with kc_session_close(), also after a
 * failure. */
HS_RESULT kc_session_open(const struct p11_token_config *token, struct kc_session *out);
void kc_session_close(struct kc_session *s);

/* Checks that the token can sign with such a key, generates it, makes it sign a test message
 * that is verified with the public key read back from the token, and checks its protection
 * attributes. */
HS_RESULT kc_key_create(struct kc_session *s, const struct kc_key *spec, struct p11_key **out);

/* Finds the issuing key named by ref and checks it belongs to cert and can sign with its
 * default algorithm. */
HS_RESULT kc_issuer_key(struct kc_session *s, const char *ref, X509 *cert, struct p11_key **out);

/* Reads a PEM certificate file (at most 64 KiB). */
HS_RESULT kc_cert_read(const char *path, X509 **out);

/* Writes cert as PEM to path with O_CREAT|O_EXCL, mode 0644. */
HS_RESULT kc_cert_write(const char *path, const X509 *cert);

/* Reads a PEM SubjectPublicKeyInfo ("BEGIN PUBLIC KEY", at most 64 KiB) and accepts only the
 * key types a CA key may have here: EC P-256 or P-384, RSA 2048, 3072 or 4096 bits. what names
 * the config field for messages. Errors: HS_ERR_INPUT_CONFIG (no PEM public key),
 * HS_ERR_INPUT_KEY (type refused), HS_ERR_IO. The caller frees *out with EVP_PKEY_free. */
HS_RESULT kc_public_key_read(const char *path, const char *what, EVP_PKEY **out);

/* Writes pub as a PEM SubjectPublicKeyInfo to path with O_CREAT|O_EXCL, mode 0644. */
HS_RESULT kc_public_key_write(const char *path, EVP_PKEY *pub);

/* SHA-256 of pub's DER SubjectPublicKeyInfo as 64 lowercase hex digits and a NUL: the
 * spki_sha256 the transcript records and witnesses compare across tokens. */
HS_RESULT kc_spki_sha256_hex(EVP_PKEY *pub, char out[65]);

/* Fails unless cert is a CA certificate (cA, keyCertSign) that is valid over [from, to]. what
 * names the config field for the message. */
HS_RESULT kc_check_ca(X509 *cert, time_t from, time_t to, const char *what);

/* Builds the optional extensions of c (NameConstraints, CRL distribution point, AIA
 * caIssuers) into a new stack the caller frees with sk_X509_EXTENSION_pop_free. */
HS_RESULT kc_cert_extras(const struct kc_cert *c, STACK_OF(X509_EXTENSION) * *out);

/* What one step did, for its transcript line. Every member may be NULL/0. */
struct kc_record {
    const struct p11_key *key;
    EVP_PKEY *pub; /* a public key certified without its token key (when key is NULL) */
    X509 *cert;
    X509_CRL *crl;
    const char *kid;
    const char *output;
    const char *event;  /* short description: "key generated", "certificate written", ... */
    const char *ssh_ca; /* "user" or "host": an SSH CA key */
    const char *ssh_fingerprint; /* its SHA256 fingerprint as ssh-keygen -l prints it */
};

/* Appends one JSON line to the transcript (when configured): UTC time, step, event, token
 * label and serial, key label/id and SPKI SHA-256, certificate or CRL SHA-256 and serial or
 * number, kid, and what was written. Never a PIN or secret. */
HS_RESULT kc_transcript(const struct kc_config *cfg, const struct kc_session *s,
                        const struct kc_record *rec);

/* --- dry-run plans: print what the step would do; touch no token and no file ------------- */

void kc_plan_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kc_plan_name(const char *what, const X509_NAME *name);
void kc_plan_time(const char *what, time_t t);
void kc_plan_keygen(const struct kc_config *cfg, const struct kc_key *key);
void kc_plan_template(const struct sgn_cert_template *t, const struct kc_cert *c);

/* The ceremony steps; each receives a fully validated configuration. plan_* print the plan
 * for --dry-run after the same checks the run makes before it opens the token. */
HS_RESULT kc_plan_init_token(const struct kc_config *cfg);
HS_RESULT kc_run_init_token(const struct kc_config *cfg);
HS_RESULT kc_plan_root(const struct kc_config *cfg);
HS_RESULT kc_run_root(const struct kc_config *cfg);
HS_RESULT kc_plan_key(const struct kc_config *cfg);
HS_RESULT kc_run_key(const struct kc_config *cfg);
HS_RESULT kc_plan_intermediate(const struct kc_config *cfg);
HS_RESULT kc_run_intermediate(const struct kc_config *cfg);
HS_RESULT kc_plan_cross_sign(const struct kc_config *cfg);
HS_RESULT kc_run_cross_sign(const struct kc_config *cfg);
HS_RESULT kc_plan_crl(const struct kc_config *cfg);
HS_RESULT kc_run_crl(const struct kc_config *cfg);
HS_RESULT kc_plan_jwt_key(const struct kc_config *cfg);
HS_RESULT kc_run_jwt_key(const struct kc_config *cfg);
HS_RESULT kc_plan_jwt_retire(const struct kc_config *cfg);
HS_RESULT kc_run_jwt_retire(const struct kc_config *cfg);
HS_RESULT kc_plan_export(const struct kc_config *cfg);
HS_RESULT kc_run_export(const struct kc_config *cfg);
HS_RESULT kc_plan_verify(const struct kc_config *cfg);
HS_RESULT kc_run_verify(const struct kc_config *cfg);
HS_RESULT kc_plan_ssh_ca(const struct kc_config *cfg);
HS_RESULT kc_run_ssh_ca(const struct kc_config *cfg);

/* The "ssh" block of export (kc_sshca.c): checks every listed CA key (on the token, protected,
 * able to sign as an SSH CA, none twice), then writes the user CA file, the host CA file (one
 * "type base64 label" line per key, in the listed order: newest first) and the known_hosts file
 * ("@cert-authority PATTERNS LINE" per host CA key), each with O_CREAT|O_EXCL, mode 0644. */
HS_RESULT kc_ssh_export(const struct kc_config *cfg, struct kc_session *s);
void kc_ssh_plan_export(const struct kc_config *cfg);

/* The "ssh" block of verify: every line of the published files is a protected key on the
 * token that can sign as an SSH CA and whose label is the line's comment; no key twice; every
 * known_hosts line is an @cert-authority line with a host CA key, and every host CA key has
 * one. Prints one "ok" line per check. */
HS_RESULT kc_ssh_verify(const struct kc_config *cfg, struct kc_session *s);
void kc_ssh_plan_verify(const struct kc_config *cfg);

#endif /* KC_INTERNAL_H */
