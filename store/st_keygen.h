/*
 * st_keygen: the results of asynchronous SSH key generation (issue 11, deliverable 3, the AWS
 * shape), kept in the inventory (st_inventory.h) beside the certificates, on both stores.
 *
 * A request has one record, keyed by its request_id (32 lowercase hex digits, as
 * svc_sshkey makes them): the principal that asked (its owner), a status, and once the worker
 * is done the result blob. The life of a record:
 *
 *   st_keygen_put_pending   the API, before the job is queued: a new PENDING record
 *   st_keygen_complete      the worker: PENDING -> DONE or FAILED, with the result blob
 *   st_keygen_take          the API, on each poll: PENDING reads as pending and stays; DONE or
 *                           FAILED is returned and deleted in the same step ("read once")
 *
 * Every record carries an expiry (seconds since the epoch). A record whose expiry is at or
 * before `now` does not exist for any operation: it reads as not found, may be replaced by a new
 * put_pending of the same id, and cannot be completed. The SQLite store deletes expired records
 * when it meets them (take) and sweeps them all on every put_pending; the DynamoDB store keeps
 * the expiry in the table's TTL attribute expires_at (DynamoDB deletes expired items lazily,
 * typically within days, so every operation also checks the expiry itself).
 *
 * What the result blob holds is the caller's business, but the caller must only ever store
 * ciphertext: the sealed box (libsodium crypto_box_seal) of the result to the requester's X25519
 * key. The store refuses nothing and cannot tell, but a private key must never be given to it in
 * the clear: SQS and DynamoDB must never hold one (issue 11).
 *
 * The functions validate their input before anything reaches the store (HS_ERR_INPUT_FIELD for a
 * malformed request_id, owner or status; HS_ERR_INPUT_RANGE for times and a blob past
 * ST_KEYGEN_BLOB_MAX), so bad input changes nothing. Where they list HS_ERR_IO they may also fail
 * with HS_ERR_STORE_UNAVAILABLE, as st_inventory.h says: nothing changed (or, DynamoDB, the
 * change may have been applied although its answer was lost; see each function), try again
 * later. A store that does not keep keygen records fails with HS_ERR_INTERNAL.
 */
#ifndef ST_KEYGEN_H
#define ST_KEYGEN_H

#include <stddef.h>
#include <time.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"
#include "store/st_inventory.h"

#define ST_KEYGEN_ID_LEN 32             /* lowercase hex digits of a request_id (128 bits) */
#define ST_KEYGEN_BLOB_MAX (16U * 1024) /* bytes of a stored result */

/* enum st_keygen_status (PENDING, DONE, FAILED) is in st_inventory.h, whose operations use it. */

/* Records request_id as PENDING for owner (1..ST_INV_PRINCIPAL_MAX bytes, NUL-terminated),
 * expiring at `expires` (> now). An expired record of the same id is replaced. SQLite: also
 * deletes every expired record (the sweep). DynamoDB: PutItem with the condition that no
 * unexpired item has the key; a retried put whose first attempt was applied (answer lost)
 * recognises its own record (same owner and expiry, pending) and succeeds. Errors:
 * HS_ERR_INPUT_FIELD, HS_ERR_INPUT_RANGE, HS_ERR_INPUT_EXISTS (an unexpired record of this id
 * exists), HS_ERR_IO. */
HS_RESULT st_keygen_put_pending(struct st_inventory *inv, const char *request_id, const char *owner,
                                time_t now, time_t expires);

/* Moves the unexpired PENDING record of request_id to status (DONE or FAILED) with the result
 * blob (blob_len bytes, 0..ST_KEYGEN_BLOB_MAX, copied; blob may be NULL when blob_len is 0;
 * ciphertext only, see above) and the new expiry `expires` (> now). Errors: HS_ERR_INPUT_FIELD
 * (request_id; status PENDING or unknown), HS_ERR_INPUT_RANGE (times, blob size),
 * HS_ERR_INPUT_NOT_FOUND (no such record, or it expired: the job is to be dropped),
 * HS_ERR_INPUT_EXISTS (the record is no longer PENDING: completed before; DynamoDB: unless it
 * holds this very status and blob after an attempt whose answer was lost, which succeeds),
 * HS_ERR_IO. */
HS_RESULT st_keygen_complete(struct st_inventory *inv, const char *request_id,
                             enum st_keygen_status status, const unsigned char *blob,
                             size_t blob_len, time_t now, time_t expires);

/* Reads the record of request_id for owner at time now. PENDING: *status = ST_KEYGEN_PENDING,
 * *out = NULL, the record stays. DONE or FAILED: *status is it, *out a new buffer (maximum
 * ST_KEYGEN_BLOB_MAX) with the blob, which the caller frees with hs_buf_free; the record is
 * deleted in the same atomic step (SQLite: one transaction; DynamoDB: DeleteItem with a condition
 * on owner, status and expiry, ReturnValues ALL_OLD), so of two concurrent takes one gets the
 * result and the other HS_ERR_INPUT_NOT_FOUND. A record of another owner, an expired one and a
 * missing one all read as HS_ERR_INPUT_NOT_FOUND (an expired one is deleted, SQLite). Outputs
 * are written only on success. Errors: HS_ERR_INPUT_FIELD, HS_ERR_INPUT_NOT_FOUND, HS_ERR_IO
 * (DynamoDB: when the answer to the delete was lost, the result may be gone), HS_ERR_NOMEM. */
HS_RESULT st_keygen_take(struct st_inventory *inv, const char *request_id, const char *owner,
                         time_t now, enum st_keygen_status *status, struct hs_buf **out);

/* Withdraws the PENDING record of request_id that owner put, as if it had never been put: for a
 * request whose job could not be queued (the queue refused it), so that nothing waits for a job
 * that will never run. SQLite: one DELETE; DynamoDB: DeleteItem with a condition on owner and
 * status. Errors: HS_ERR_INPUT_FIELD, HS_ERR_INPUT_NOT_FOUND (no such record of owner, or it is
 * no longer pending), HS_ERR_IO. */
HS_RESULT st_keygen_cancel(struct st_inventory *inv, const char *request_id, const char *owner);

#endif /* ST_KEYGEN_H */
