/*
 * store/internal.h: declarations shared by the files of store/ only (STYLE.md: nothing outside
 * the folder includes it).
 */
#ifndef ST_INTERNAL_H
#define ST_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hs_err.h"
#include "store/st_inventory.h"

/* Input checks every inventory store runs before it touches the store (st_inventory.h gives
 * the rules); defined in st_inventory.c. */

/* serial_hex: 1..ST_INV_SERIAL_MAX lowercase hex digits, no leading "00". Errors:
 * HS_ERR_INTERNAL (NULL), HS_ERR_INPUT_FIELD. */
HS_RESULT st_inv_serial_check(const char *serial_hex);
/* reason: -1 or an RFC 5280 §5.3.1 CRLReason other than 7. Errors: HS_ERR_INPUT_RANGE. */
HS_RESULT st_inv_reason_check(int reason);
/* kind: one of enum st_kind. Errors: HS_ERR_INPUT_FIELD. */
HS_RESULT st_inv_kind_check(enum st_kind kind);
/* Everything put checks: serial, string bounds, notBefore <= notAfter, reason, kind, status and
 * its revocation fields. Errors: HS_ERR_INTERNAL (NULL), HS_ERR_INPUT_FIELD,
 * HS_ERR_INPUT_RANGE. */
HS_RESULT st_inv_record_check(const struct st_cert_record *rec);

/* The value of a stored SSH serial: 1..ST_INV_SSH_SERIAL_MAX lowercase hex digits in any
 * spelling (a record from before put checked the spelling reads too). Errors: HS_ERR_INTERNAL
 * (NULL), HS_ERR_INPUT_FIELD (the stores report it as HS_ERR_IO: a stored row that does not
 * fit). */
HS_RESULT st_inv_ssh_serial_value(const char *serial_hex, uint64_t *out);

/* The listing (st_inventory_ops.list) the same way in every store. */

/* Whether rec passes every filter of q (the position aside). */
bool st_inv_list_matches(const struct st_list_query *q, const struct st_cert_record *rec);
/* <0 when rec comes before pos in the listing's order (is newer), 0 at it, >0 after it. */
int st_inv_list_cmp(const struct st_cert_record *rec, const struct st_list_position *pos);
/* rec's position. */
void st_inv_list_position(const struct st_cert_record *rec, struct st_list_position *out);

/* request_id: ST_KEYGEN_ID_LEN lowercase hex digits (st_keygen.h); defined in st_keygen.c.
 * Errors: HS_ERR_INTERNAL (NULL), HS_ERR_INPUT_FIELD. */
HS_RESULT st_keygen_id_check(const char *request_id);

#endif /* ST_INTERNAL_H */
