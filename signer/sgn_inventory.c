#include "signer/sgn_inventory.h"

#include <string.h>

#include "signer/internal.h"

/* The store-independent half of sgn_inventory.h; each store lives in its own file
 * (sgn_inventory_sqlite.c, sgn_inventory_dynamodb.c). */

#define SGN_INV_REASON_MAX 10 /* aACompromise (RFC 5280 §5.3.1) */
#define SGN_INV_REASON_UNUSED 7

void sgn_inventory_close(struct sgn_inventory *inv)
{
    if (inv != NULL) {
        inv->ops->close(inv);
    }
}

void sgn_inventory_closep(struct sgn_inventory **inv)
{
    sgn_inventory_close(*inv);
}

/* --- validation (callers' threads, before anything reaches a store) ------------------------ */

HS_RESULT sgn_inv_serial_check(const char *serial_hex)
{
    HS_ENSURE_REF(serial_hex);
    size_t n = strnlen(serial_hex, SGN_INV_SERIAL_MAX + 1);
    HS_ENSURE_MSG(n >= 1 && n <= SGN_INV_SERIAL_MAX &&
                      strspn(serial_hex, "0123456789abcdef") == n &&
                      strncmp(serial_hex, "00", 2) != 0,
                  HS_ERR_INPUT_FIELD,
                  "serial must be 1..%d lowercase hex digits without a leading zero octet",
                  SGN_INV_SERIAL_MAX);
    return HS_OK;
}

/* s is an array of max + 1 chars: it must hold its NUL. */
static HS_RESULT sgn_inv_text_check(const char *s, size_t max, const char *field)
{
    HS_ENSURE_MSG(strnlen(s, max + 1) <= max, HS_ERR_INPUT_RANGE, "%s is longer than %zu bytes",
                  field, max);
    return HS_OK;
}

HS_RESULT sgn_inv_reason_check(int reason)
{
    HS_ENSURE_MSG(reason >= -1 && reason <= SGN_INV_REASON_MAX && reason != SGN_INV_REASON_UNUSED,
                  HS_ERR_INPUT_RANGE, "revocation reason %d is not -1 or an RFC 5280 code", reason);
    return HS_OK;
}

static HS_RESULT sgn_inv_status_check(const struct sgn_cert_record *rec)
{
    switch (rec->status) {
    case SGN_CERT_GOOD:
        HS_ENSURE_MSG(rec->revoked_at == 0 && rec->reason == -1, HS_ERR_INPUT_FIELD,
                      "a good certificate has no revocation time or reason");
        return HS_OK;
    case SGN_CERT_REVOKED:
        HS_ENSURE_MSG(rec->revoked_at > 0, HS_ERR_INPUT_RANGE,
                      "a revoked certificate needs its revocation time");
        return HS_OK;
    default:
        HS_BAIL_MSG(HS_ERR_INPUT_FIELD, "unknown certificate status %d", (int)rec->status);
    }
}

HS_RESULT sgn_inv_record_check(const struct sgn_cert_record *rec)
{
    HS_ENSURE_REF(rec);
    HS_GUARD(sgn_inv_serial_check(rec->serial_hex));
    HS_GUARD(sgn_inv_text_check(rec->subject, SGN_INV_SUBJECT_MAX, "subject"));
    HS_GUARD(sgn_inv_text_check(rec->sans, SGN_INV_SANS_MAX, "sans"));
    HS_GUARD(sgn_inv_text_check(rec->requester, SGN_INV_PRINCIPAL_MAX, "requester"));
    HS_GUARD(sgn_inv_text_check(rec->profile, SGN_INV_PROFILE_MAX, "profile"));
    HS_ENSURE_MSG(rec->not_before <= rec->not_after, HS_ERR_INPUT_RANGE,
                  "notBefore is after notAfter");
    HS_GUARD(sgn_inv_reason_check(rec->reason));
    return sgn_inv_status_check(rec);
}
