/*
 * au_status: is a device certificate still good? API Gateway's mTLS checks the chain but never
 * revocation, so the authorizer asks hsmsignd's inventory: GET {status_url}/v1/certificates/
 * {serial} (docs/api.md), an IAM route, signed with SigV4 (service "execute-api", the region of
 * mtls.region or the standard chain) with the Lambda's credentials from the standard chain; the
 * caller's role must be an hsmsignd admin (policy "admins") to see every serial. The answer's
 * "status" must be "good"; any other status ("revoked", "expired", "on_hold"...) and a 404
 * deny (AU_CERT_REVOKED); a failure to ask denies too (AU_CERT_STATUS_UNKNOWN, never cached).
 * Instead of status_url, mtls.dynamodb_table names the inventory's DynamoDB table: GetItem
 * (JSON 1.0 protocol, X-Amz-Target DynamoDB_20120810.GetItem, consistent read, SigV4 service
 * "dynamodb"; endpoint mtls.endpoint, else AWS_ENDPOINT_URL_DYNAMODB, else AWS_ENDPOINT_URL,
 * else https://dynamodb.REGION.amazonaws.com/) on the serial; good means an X.509 item with
 * status good whose not_after is still ahead (store/st_dynamodb.c's item). A serial not in the
 * table is not good. The role needs dynamodb:GetItem on the table.
 * Definite answers are cached per serial for mtls.cache_seconds (default 60).
 */
#ifndef AU_STATUS_H
#define AU_STATUS_H

#include <time.h>

#include <openssl/x509.h>

#include "authorizer/au_config.h"
#include "authorizer/au_verify.h"
#include "common/hs_err.h"

#define AU_STATUS_CACHE_MAX 256 /* serials remembered (the oldest is replaced) */

struct au_status;

/* A status client for cfg (borrowed; cfg->mtls.enabled). Errors: HS_ERR_INPUT_CONFIG (no
 * region), HS_ERR_NOMEM. Free with au_status_free (NULL accepted). */
HS_RESULT au_status_new(const struct au_config *cfg, struct au_status **out);
void au_status_free(struct au_status *s);
void au_status_freep(struct au_status **s);

/* AU_OK when cert (borrowed) is good at now; AU_CERT_REVOKED or AU_CERT_STATUS_UNKNOWN. */
enum au_reason au_status_check(struct au_status *s, const X509 *cert, time_t now);

#endif /* AU_STATUS_H */
