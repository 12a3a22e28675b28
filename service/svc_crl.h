/*
 * svc_crl: the CRL the service publishes (RFC 5280 §5), signed by the issuing CA's token key
 * through C_Sign and kept in memory until it is stale.
 *
 * It is regenerated when the inventory's revocation generation has moved (a certificate was
 * revoked, here or by another instance sharing the store), or when half of its validity has
 * passed, so a fresh CRL is always available well before nextUpdate. Each regeneration takes
 * the next CRL number from the inventory (durable, so numbers never repeat across restarts or
 * instances, §5.2.3). Revoked certificates leave the CRL once they have expired (§3.3).
 */
#ifndef SVC_CRL_H
#define SVC_CRL_H

#include <time.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"
#include "service/svc_ctx.h"

/* Returns a copy of the current CRL (DER) in *out, first regenerating it when it is stale (see
 * above): the revoked, unexpired certificates of the inventory, thisUpdate = now, nextUpdate =
 * now + the configured validity (seconds). Public: needs no caller. Thread-safe; one
 * regeneration at a time. Errors: HS_ERR_HSM_* from C_Sign, HS_ERR_IO / HS_ERR_STORE from the
 * inventory, HS_ERR_CRYPTO, HS_ERR_NOMEM. The caller frees *out with hs_buf_free(). */
HS_RESULT svc_crl_get(struct svc_ctx *ctx, time_t now, struct hs_buf **out);

#endif /* SVC_CRL_H */
