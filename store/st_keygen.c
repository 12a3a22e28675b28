#include "store/st_keygen.h"

#include <string.h>

#include "store/internal.h"

/* The store-independent half of st_keygen.h: every input is checked here, before a store sees
 * it; the stores (st_sqlite.c, st_dynamodb.c) do the rest. */

HS_RESULT st_keygen_id_check(const char *request_id)
{
    HS_ENSURE_REF(request_id);
    size_t n = strnlen(request_id, ST_KEYGEN_ID_LEN + 1);
    HS_ENSURE_MSG(n == ST_KEYGEN_ID_LEN && strspn(request_id, "0123456789abcdef") == n,
                  HS_ERR_INPUT_FIELD, "a request_id is %d lowercase hex digits", ST_KEYGEN_ID_LEN);
    return HS_OK;
}

static HS_RESULT st_keygen_owner_check(const char *owner)
{
    HS_ENSURE_REF(owner);
    size_t n = strnlen(owner, ST_INV_PRINCIPAL_MAX + 1);
    HS_ENSURE_MSG(n >= 1 && n <= ST_INV_PRINCIPAL_MAX, HS_ERR_INPUT_FIELD,
                  "a request's owner is 1..%d bytes", ST_INV_PRINCIPAL_MAX);
    return HS_OK;
}

/* now > 0 and expires after it. */
static HS_RESULT st_keygen_times_check(time_t now, time_t expires)
{
    HS_ENSURE_MSG(now > 0 && expires > now, HS_ERR_INPUT_RANGE,
                  "a keygen record's expiry must lie after now");
    return HS_OK;
}

static HS_RESULT st_keygen_ops(struct st_inventory *inv)
{
    HS_ENSURE_REF(inv);
    HS_ENSURE_MSG(inv->ops->keygen_put != NULL && inv->ops->keygen_complete != NULL &&
                      inv->ops->keygen_take != NULL && inv->ops->keygen_cancel != NULL,
                  HS_ERR_INTERNAL, "this inventory store keeps no keygen records");
    return HS_OK;
}

HS_RESULT st_keygen_put_pending(struct st_inventory *inv, const char *request_id, const char *owner,
                                time_t now, time_t expires)
{
    HS_GUARD(st_keygen_ops(inv));
    HS_GUARD(st_keygen_id_check(request_id));
    HS_GUARD(st_keygen_owner_check(owner));
    HS_GUARD(st_keygen_times_check(now, expires));
    return inv->ops->keygen_put(inv, request_id, owner, now, expires);
}

HS_RESULT st_keygen_complete(struct st_inventory *inv, const char *request_id,
                             enum st_keygen_status status, const unsigned char *blob,
                             size_t blob_len, time_t now, time_t expires)
{
    HS_GUARD(st_keygen_ops(inv));
    HS_GUARD(st_keygen_id_check(request_id));
    switch (status) {
    case ST_KEYGEN_DONE:
    case ST_KEYGEN_FAILED:
        break;
    default:
        HS_BAIL_MSG(HS_ERR_INPUT_FIELD, "a request completes as done or failed, not %d",
                    (int)status);
    }
    HS_ENSURE_MSG(blob_len <= ST_KEYGEN_BLOB_MAX, HS_ERR_INPUT_RANGE,
                  "a keygen result is at most %u bytes", ST_KEYGEN_BLOB_MAX);
    HS_ENSURE(blob != NULL || blob_len == 0, HS_ERR_INTERNAL);
    HS_GUARD(st_keygen_times_check(now, expires));
    return inv->ops->keygen_complete(inv, request_id, status, blob, blob_len, now, expires);
}

HS_RESULT st_keygen_cancel(struct st_inventory *inv, const char *request_id, const char *owner)
{
    HS_GUARD(st_keygen_ops(inv));
    HS_GUARD(st_keygen_id_check(request_id));
    HS_GUARD(st_keygen_owner_check(owner));
    return inv->ops->keygen_cancel(inv, request_id, owner);
}

HS_RESULT st_keygen_take(struct st_inventory *inv, const char *request_id, const char *owner,
                         time_t now, enum st_keygen_status *status, struct hs_buf **out)
{
    HS_GUARD(st_keygen_ops(inv));
    HS_ENSURE_REF(status);
    HS_ENSURE_REF(out);
    HS_GUARD(st_keygen_id_check(request_id));
    HS_GUARD(st_keygen_owner_check(owner));
    HS_ENSURE_MSG(now > 0, HS_ERR_INPUT_RANGE, "now is after the epoch");
    return inv->ops->keygen_take(inv, request_id, owner, now, status, out);
}
