/*
 * p11_mech: the mechanisms a token offers (PKCS#11 v2.40 §5.5 C_GetMechanismList,
 * C_GetMechanismInfo), probed once when a pool opens, so that a key is never put to a use the
 * token cannot do: hsmsignd and the key ceremony check every mechanism they will need at start
 * and stop with an error naming it.
 */
#ifndef P11_MECH_H
#define P11_MECH_H

#include <stddef.h>

#include <p11-kit/pkcs11.h>

#include "common/hs_err.h"

#define P11_MECHS_MAX 1024

struct p11_mechs {
    size_t n;
    CK_MECHANISM_TYPE type[P11_MECHS_MAX];
    CK_MECHANISM_INFO info[P11_MECHS_MAX];
};

/* Reads the mechanism list and the info of each mechanism of slot into out. Errors: HS_ERR_HSM_*
 * (a failing call), HS_ERR_BOUNDS (more than P11_MECHS_MAX mechanisms). */
HS_RESULT p11_mechs_probe(CK_FUNCTION_LIST *fn, CK_SLOT_ID slot, struct p11_mechs *out);

/* Lends the info of mechanism type, or NULL when the token does not offer it. */
const CK_MECHANISM_INFO *p11_mechs_find(const struct p11_mechs *m, CK_MECHANISM_TYPE type);

/* Fails with HS_ERR_HSM_MECHANISM unless the token offers type with every flag in need
 * (CKF_SIGN, CKF_GENERATE_KEY_PAIR) and, for RSA mechanisms whose range the token states,
 * key_bits lies in ulMinKeySize..ulMaxKeySize (EC/EdDSA ranges are not compared: tokens
 * disagree on their units). The detail names the mechanism: "token does not offer CKM_EDDSA
 * for signing". what names the use ("signing", "key generation"). */
HS_RESULT p11_mechs_require(const struct p11_mechs *m, CK_MECHANISM_TYPE type, CK_FLAGS need,
                            unsigned int key_bits, const char *what);

/* Returns the static "CKM_..." name of type ("CKM_VENDOR_DEFINED" / "CKM_UNKNOWN" otherwise). */
const char *p11_mech_name(CK_MECHANISM_TYPE type);

#endif /* P11_MECH_H */
