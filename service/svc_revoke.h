/*
 * svc_revoke: the status of a certificate we issued, and its revocation (RFC 5280 §5.3.1
 * reasons). The requester of a certificate and the policy's admins may read and revoke it: the
 * caller's authorisation (svc_authz.manage) decides. A revocation is durable in the inventory
 * before it is answered, and moves the inventory's generation so the next CRL lists it.
 */
#ifndef SVC_REVOKE_H
#define SVC_REVOKE_H

#include <stddef.h>
#include <time.h>

#include "common/hs_err.h"
#include "service/svc_ctx.h"
#include "store/st_inventory.h"

enum svc_cert_state {
    SVC_CERT_GOOD,
    SVC_CERT_REVOKED,
    SVC_CERT_EXPIRED, /* not revoked, past notAfter */
};

/* One certificate's record and what it means now. */
struct svc_cert_status {
    struct st_cert_record rec;
    enum svc_cert_state state;
    const char *reason; /* static RFC 5280 name ("unspecified" when none); NULL unless revoked */
};

/* A revocation. */
struct svc_revoke_request {
    const char *serial; /* as svc_serial_normalise() writes it */
    /* RFC 5280 §5.3.1 name: unspecified, keyCompromise, affiliationChanged, superseded,
     * cessationOfOperation or privilegeWithdrawn; NULL = unspecified */
    const char *reason;
    time_t now;        /* seconds since the epoch: revocationDate */
    enum st_kind kind; /* the route's kind (X.509 by default): a record of another is not found */
};

/* Writes a serial as a request gives it (hex, any case, maybe with leading zero octets; n bytes,
 * not NUL-terminated) in the inventory's form into out: lowercase, no leading zero octets.
 * Errors: HS_ERR_INPUT_FIELD ("serial must be 1..40 hex digits" / "hex digits"). */
HS_RESULT svc_serial_normalise(const char *s, size_t n, char out[ST_INV_SERIAL_MAX + 1]);

/* The stable name of a state: "good", "revoked", "expired". */
const char *svc_cert_state_name(enum svc_cert_state state);

/* The status of certificate serial at now, if caller->authz->manage allows it. A serial that
 * is not recorded and one the caller may not manage fail alike, with HS_ERR_INPUT_NOT_FOUND and
 * the same detail, after the same work (one inventory read, one manage question: for a missing
 * serial it is asked about requester ""), so that no caller learns whether another principal's
 * serial exists; the difference is logged ("cert.lookup.refused": caller, serial, recorded,
 * may_manage). A record of another kind than kind (serials are one namespace across X.509 and SSH,
 * st_inventory.h) is not found either: an X.509 route never shows or revokes an SSH
 * certificate, nor the reverse. Errors: HS_ERR_INPUT_FIELD (serial not normalised),
 * HS_ERR_INPUT_NOT_FOUND, any
 * other failure of the authorisation unchanged, HS_ERR_STORE_UNAVAILABLE / HS_ERR_IO (the
 * inventory). *out is written only on success. */
HS_RESULT svc_cert_status_get(struct svc_ctx *ctx, const struct svc_caller *caller,
                              const char *serial, enum st_kind kind, time_t now,
                              struct svc_cert_status *out);

/* Revokes req->serial if caller->authz->manage allows it, and returns its status afterwards. A
 * certificate already revoked keeps its first date and reason (the call succeeds). Emits one
 * audit event "cert.revoked" (caller, serial, requester, reason, whether it changed). Errors: as
 * svc_cert_status_get(), and HS_ERR_INPUT_FIELD for a reason not in the list above (checked
 * after the authorisation). */
HS_RESULT svc_cert_revoke(struct svc_ctx *ctx, const struct svc_caller *caller,
                          const struct svc_revoke_request *req, struct svc_cert_status *out);

/* One page of the inventory's listing (st_inventory.h, ops.list) for caller: q as the front end
 * decoded it (its requester filter, if any, borrowed), with the caller's rights applied here:
 * a caller for whom authz->sees_all is false (not an admin) sees only its own certificates,
 * the requester filter ANDed with requester = caller (asking for another requester's is an
 * empty page, not an error). out->page.records is the caller's array of q->limit records;
 * out->states[i] (same length, the caller's) is each record's state at q->now and
 * out->reasons[i] its static RFC 5280 reason name (NULL unless revoked), as
 * svc_cert_status_get() reports them. Errors: HS_ERR_INPUT_FIELD / HS_ERR_INPUT_RANGE (the
 * query), HS_ERR_STORE_UNAVAILABLE / HS_ERR_IO (the inventory). */
struct svc_cert_list {
    struct st_list_page page;
    enum svc_cert_state *states;
    const char **reasons;
};
HS_RESULT svc_cert_list(struct svc_ctx *ctx, const struct svc_caller *caller,
                        const struct st_list_query *q, struct svc_cert_list *out);

#endif /* SVC_REVOKE_H */
