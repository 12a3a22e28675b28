/*
 * signer/internal.h: declarations shared by the files of signer/ only (STYLE.md: nothing outside
 * the folder includes it).
 */
#ifndef SGN_INTERNAL_H
#define SGN_INTERNAL_H

#include <stddef.h>

#include "common/hs_err.h"
#include "signer/sgn_inventory.h"

/* Input checks every inventory store runs before it touches the store (sgn_inventory.h gives
 * the rules); defined in sgn_inventory.c. */

/* serial_hex: 1..SGN_INV_SERIAL_MAX lowercase hex digits, no leading "00". Errors:
 * HS_ERR_INTERNAL (NULL), HS_ERR_INPUT_FIELD. */
HS_RESULT sgn_inv_serial_check(const char *serial_hex);
/* reason: -1 or an RFC 5280 §5.3.1 CRLReason other than 7. Errors: HS_ERR_INPUT_RANGE. */
HS_RESULT sgn_inv_reason_check(int reason);
/* Everything put checks: serial, string bounds, notBefore <= notAfter, reason, status and its
 * revocation fields. Errors: HS_ERR_INTERNAL (NULL), HS_ERR_INPUT_FIELD, HS_ERR_INPUT_RANGE. */
HS_RESULT sgn_inv_record_check(const struct sgn_cert_record *rec);

#endif /* SGN_INTERNAL_H */
