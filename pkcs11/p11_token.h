/*
 * p11_token: token initialisation (PKCS#11 v2.40 §5.6 C_InitToken, C_InitPIN) for tokens that
 * allow it from the API: SoftHSM2 in development and CI, offline HSMs. (CloudHSM tokens are set
 * up with AWS's own tools instead.)
 */
#ifndef P11_TOKEN_H
#define P11_TOKEN_H

#include "common/hs_err.h"
#include "common/hs_secret.h"
#include "pkcs11/p11_module.h"

/* Initialises the first slot with an uninitialised token: label (at most 32 bytes), SO PIN,
 * then the user PIN (as SO: C_InitPIN). PINs are borrowed and never logged. Emits an
 * "hsm.token.init" audit event. Errors: HS_ERR_INPUT_EXISTS when a token with label already
 * exists, HS_ERR_HSM_TOKEN_NOT_FOUND when no slot holds an uninitialised token, HS_ERR_HSM_*. */
HS_RESULT p11_token_init(struct p11_module *m, const char *label, const struct hs_secret *so_pin,
                         const struct hs_secret *user_pin);

#endif /* P11_TOKEN_H */
