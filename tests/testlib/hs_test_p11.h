/*
 * hs_test_p11: helpers for tests that run against a real token.
 *
 * The token comes from the environment, so the same tests run on the SoftHSM2 fixture token and
 * on a real HSM (docs/cloudhsm.md, scripts/test-token.sh):
 *   HSMSIGN_TEST_MODULE       PKCS#11 module path
 *   HSMSIGN_TEST_TOKEN_LABEL  token label
 *   HSMSIGN_TEST_PIN_FILE     0600 file with the user PIN (default $HSMSIGN_TEST_TOKEN_DIR/user.pin)
 *   HSMSIGN_TEST_POOL_WAIT_MS longest wait for a pool session (default 5000)
 * Keys are created with labels "hsmsign-test-<pid>-<name>" and destroyed by
 * hs_test_p11_cleanup(), so a real HSM is left as it was found.
 */
#ifndef HS_TEST_P11_H
#define HS_TEST_P11_H

#include <stddef.h>

#include "common/hs_buf.h"
#include "pkcs11/p11_key.h"
#include "pkcs11/p11_module.h"
#include "pkcs11/p11_pool.h"
#include "pkcs11/p11_sign.h"

/* Opens the test token with a pool of pool_size sessions (0 = default). Skips (exit 77) or,
 * under CI=true, fails when the environment does not name a token. Returns 0 on success. */
int hs_test_p11_open(size_t pool_size, struct p11_module **module, struct p11_pool **pool);

/* The module path and token label in use (valid after hs_test_p11_open). */
const char *hs_test_p11_module_path(void);
const char *hs_test_p11_token_label(void);
const char *hs_test_p11_pin_file(void);

/* Returns "hsmsign-test-<pid>-<name>" (a static buffer that later calls may reuse) and
 * remembers it for hs_test_p11_cleanup(). */
const char *hs_test_p11_label(const char *name);

/* Generates a key pair named hs_test_p11_label(name); NULL (and a failed check) on error. */
struct p11_key *hs_test_p11_keygen(struct p11_pool *pool, enum p11_key_type type,
                                   unsigned int rsa_bits, const char *name);

/* Destroys every object carrying a label handed out by hs_test_p11_label(). */
void hs_test_p11_cleanup(struct p11_pool *pool);

/* Verifies sig (as p11_sign produced it in format) over msg with key's public half using
 * OpenSSL; returns 1 when it verifies. */
int hs_test_p11_verify(struct p11_key *key, enum p11_sig_alg alg, enum p11_sig_format format,
                       const unsigned char *msg, size_t len, const struct hs_buf *sig);

#endif /* HS_TEST_P11_H */
