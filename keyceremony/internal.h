/*
 * Declarations shared inside keyceremony/ only.
 */
#ifndef KC_INTERNAL_H
#define KC_INTERNAL_H

#include <openssl/x509.h>

#include "hs_err.h"
#include "kc_config.h"
#include "p11_key.h"
#include "p11_module.h"
#include "p11_pool.h"

/* An open token for one ceremony step. */
struct kc_session {
    struct p11_module *module;
    struct p11_pool *pool;
    char token_serial[17];
};

/* Loads the module, logs in to the configured token (PIN from file or environment). Errors:
 * HS_ERR_HSM_*, HS_ERR_INPUT_CONFIG. Close with kc_session_close(), also after a failure. */
hs_result kc_session_open(const struct p11_token_config *token, struct kc_session *out);
void kc_session_close(struct kc_session *s);

/* Generates the configured key, makes it sign a test message and verifies that signature with
 * the public key read back from the token, and checks its protection attributes. */
hs_result kc_key_create(struct kc_session *s, const struct kc_key *spec, struct p11_key **out);

/* Reads a PEM certificate file (at most 64 KiB). */
hs_result kc_cert_read(const char *path, X509 **out);

/* Writes cert as PEM to path with O_CREAT|O_EXCL, mode 0644. */
hs_result kc_cert_write(const char *path, const X509 *cert);

/* Appends one JSON line to the transcript (when configured): UTC time, step, token label and
 * serial, key label/id and SPKI SHA-256 (when key is set), certificate SHA-256 (when cert is
 * set), and what was written (output). Never a PIN or secret. */
hs_result kc_transcript(const struct kc_config *cfg, const struct kc_session *s,
                        const struct p11_key *key, X509 *cert, const char *output);

/* The ceremony steps; each receives a fully validated configuration. */
hs_result kc_run_init_token(const struct kc_config *cfg);
hs_result kc_run_root(const struct kc_config *cfg);
hs_result kc_run_intermediate(const struct kc_config *cfg);
hs_result kc_run_jwt_key(const struct kc_config *cfg);
hs_result kc_run_export(const struct kc_config *cfg);

#endif /* KC_INTERNAL_H */
