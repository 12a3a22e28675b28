/*
 * st_dynamodb: the certificate inventory (st_inventory.h) in an Amazon DynamoDB
 * table, for hsmsignd on AWS Lambda or ECS, where several instances share one table.
 *
 * Every operation is one or a few calls of the DynamoDB JSON API (Amazon DynamoDB API Reference,
 * "Actions"; protocol awsJson1_0): POST / with X-Amz-Target: DynamoDB_20120810.<Action> and
 * Content-Type: application/x-amz-json-1.0, signed with AWS Signature Version 4 by libcurl
 * (CURLOPT_AWS_SIGV4 "aws:amz:<region>:dynamodb", through aws/aws_http.h). A write is durable when DynamoDB acknowledges
 * it, so put returns only after its PutItem succeeded: no 2xx without a stored record.
 *
 * The table (its Terraform defines the same):
 *   hash key  serial (S): the certificate's serial as st_inventory.h spells it, or
 *                         "meta#crl_number" / "meta#revocation_generation" for the counters
 *   item      subject, sans (the JSON text), requester, profile (S); not_before, not_after,
 *             status (0 good / 1 revoked), revoked_at, reason (N); spki_sha256, cert_sha256 (B);
 *             kind (N, enum st_kind: 0 x509 / 1 ssh; absent = x509, as items written before
 *             records had a kind); issuer_key_sha256 (B; absent = all zero, as items written
 *             before records named their CA key); expires_at (N, not_after + 90 days: the
 *             table's TTL attribute); revoked_part (S), only on revoked items: "revoked" for
 *             X.509, "revoked#ssh" for SSH; krl_sort (S), only on revoked SSH items: the CA
 *             key's SHA-256 in lowercase hex, "#", the serial left-padded with zeros to 40
 *             digits (so byte order is CA key, then serial as a number)
 *   GSI       "revoked": hash revoked_part, range serial; it must project not_after,
 *             revoked_at and reason (ALL or INCLUDE). Sparse: only revoked items are in it,
 *             one partition per kind, so the CRL reads its own partition and the index needs
 *             no "kind" (a GSI's projection cannot change in place).
 *   GSI       "krl": hash revoked_part, range krl_sort; it must project not_after and
 *             revoked_at (ALL or INCLUDE). Sparse twice over: only revoked SSH items carry
 *             krl_sort. A second index rather than issuer_key_sha256 added to the first one's
 *             projection: a projection cannot change in place (the index would be dropped and
 *             rebuilt, and the CRL fail meanwhile), while a new index is built online beside
 *             the old; and its range key gives the KRL's order, which serial alone cannot.
 *   counters  attribute value (N) of the meta# items, advanced with UpdateItem ADD.
 *
 * Operations (DynamoDB API Reference sections):
 *   put             PutItem, ConditionExpression attribute_not_exists(serial): a duplicate is
 *                   HS_ERR_INPUT_EXISTS. A put that was retried after an answer was lost and then
 *                   fails its condition reads the item back (GetItem): the same certificate
 *                   (cert_sha256) is this put's own earlier attempt, so it succeeds. A REVOKED
 *                   record also advances the revocation generation.
 *   get             GetItem, ConsistentRead true.
 *   revoke          UpdateItem SET status, revoked_at, reason, revoked_part (the record kind's
 *                   partition) with the condition attribute_exists(serial) AND status = 0 AND
 *                   the kind is the one assumed, X.509 first; when the condition fails, a
 *                   GetItem tells an unknown serial (HS_ERR_INPUT_NOT_FOUND) from one already
 *                   revoked (*changed = false) and from a good record of another kind (SSH),
 *                   which is then revoked as its kind (one more UpdateItem, which also SETs
 *                   krl_sort from the CA key that GetItem read). A change then advances the
 *                   generation (UpdateItem ADD, ReturnValues UPDATED_NEW).
 *   list_revoked    Query on the GSI "revoked" (revoked_part = "revoked": X.509, FilterExpression
 *                   not_after >= from, only serial, revoked_at and reason projected), following
 *                   LastEvaluatedKey; in serial order (the GSI's range key, compared as bytes).
 *   list_revoked_ssh  Query on the GSI "krl" (revoked_part = "revoked#ssh", FilterExpression
 *                   not_after >= from, serial, krl_sort and revoked_at projected), following
 *                   LastEvaluatedKey; in krl_sort order, which is the contract's (CA key, serial);
 *                   the CA key is read back from krl_sort. Settles and reads page by page as
 *                   list_revoked does (below).
 *   list            Scan of the whole table (ConsistentRead, following LastEvaluatedKey; a
 *                   FilterExpression requester = :rq when the caller is not an admin), the
 *                   other filters and the order applied here, keeping the limit + 1 best
 *                   records in memory. There is no index in issue order (a GSI on a constant
 *                   partition would be one hot partition for every write), so each page costs
 *                   a read of every item: about (table size / 4 KiB) read capacity units, and
 *                   a FilterExpression does not reduce that (DynamoDB charges for what it
 *                   scans, not what it returns). A table of more than 100000 items is refused
 *                   (HS_ERR_IO) rather than scanned: for a large inventory list from the SQLite
 *                   store, or add a GSI (e.g. per requester and month) first. Pages are not
 *                   one snapshot: a record put during the scan may or may not be in it; the
 *                   cursor (position in the order) keeps pages free of duplicates and gaps for
 *                   records that existed before the first page.
 *   next_crl_number UpdateItem ADD value 1 on "meta#crl_number", ReturnValues UPDATED_NEW.
 *   generation      the value of "meta#revocation_generation", read with a consistent GetItem
 *                   and cached for at most ST_DDB_GENERATION_CACHE_MS: several instances
 *                   share the table, so another instance's revocation shows here within about a
 *                   second (this instance's own revocations at once). A failed read keeps the
 *                   last value (logged): the CRL is then regenerated at the latest when half its
 *                   validity has passed.
 *
 * Where DynamoDB differs from the SQLite store, and what this store does about it:
 *   - A GSI is eventually consistent and cannot be read with ConsistentRead: a revocation
 *     acknowledged a moment ago may be missing from a Query made right after. list_revoked
 *     therefore first waits until the newest generation change this store has seen is at least
 *     ST_DDB_GSI_SETTLE_MS old (DynamoDB propagates to GSIs "typically within a fraction of
 *     a second"; not a guarantee). So the first CRL after a revocation takes up to that long.
 *   - list_revoked (and list_revoked_ssh) reads page after page, not one snapshot: a
 *     revocation made during the listing may or may not be in it (the generation, read before
 *     the list, then makes the caller list again).
 *   - The revocation and the generation are two writes (dynalite, which the tests use, has no
 *     TransactWriteItems). If the process dies between them, the record is revoked but the
 *     generation not advanced: other instances' cached CRLs miss it until they are regenerated
 *     for age (half their validity).
 *   - Counters retried after a lost answer may advance twice: a CRL number is then skipped
 *     (never repeated), a generation grows by two.
 *
 * Requests: each attempt has connect and total timeouts (cfg->timeout_ms). Throttling
 * (ProvisionedThroughputExceededException, ThrottlingException, RequestLimitExceeded), HTTP 5xx
 * (InternalServerError, ServiceUnavailable) and transport failures are retried as the AWS SDKs'
 * "standard" retry mode does: at most 3 attempts in all, exponential backoff with full jitter
 * (a uniform delay in [0, base * 2^(attempt - 1)), base 50 ms, 200 ms after a throttling error).
 * An ExpiredTokenException refreshes credentials that can be refreshed (not the environment's)
 * and retries. Responses are bounded (ST_DDB_RESPONSE_MAX) and parsed strictly (hs_json.h). When
 * the last attempt still got no answer, a 5xx or a throttling error, the failure is
 * HS_ERR_STORE_UNAVAILABLE (for now: the caller may retry later); any other failure is HS_ERR_IO;
 * either's detail names the action and DynamoDB's __type (never a credential); HS_ERR_INPUT_*
 * as in st_inventory.h. The transport is aws/aws_http.h. Thread-safe:
 * requests use aws_http handles from a small locked pool (kept connections), and the credentials
 * provider is thread-safe.
 *
 * Credentials: the AWS SDKs' chain of aws/aws_creds.h (environment, as Lambda sets it; web
 * identity; the shared config and credentials files; the ECS container credentials endpoint with
 * its authorization token; EC2 instance metadata, IMDSv2), cached until 5 minutes before they
 * expire. Secrets live only in struct hs_secret (and, as long as a request runs, in libcurl's
 * copies of its options); nothing logs them.
 */
#ifndef ST_DYNAMODB_H
#define ST_DYNAMODB_H

#include "common/hs_err.h"
#include "store/st_inventory.h"

#define ST_DDB_TABLE_MAX 255            /* DynamoDB table names: 3..255 [A-Za-z0-9_.-] */
#define ST_DDB_REGION_MAX 32            /* e.g. "eu-west-1" */
#define ST_DDB_URL_MAX 512              /* the endpoint URL */
#define ST_DDB_TIMEOUT_MS_DEFAULT 3000  /* per attempt, when timeout_ms is 0 */
#define ST_DDB_TIMEOUT_MS_MAX 60000     /* longest timeout_ms accepted */
#define ST_DDB_RESPONSE_MAX (2U << 20)  /* bytes of one DynamoDB answer */
#define ST_DDB_GENERATION_CACHE_MS 1000 /* generation() reads the table at most this often */
#define ST_DDB_GSI_SETTLE_MS 1000       /* see "eventually consistent" above */
#define ST_DDB_ATTEMPTS 3               /* per request, the first included */

struct st_dynamodb_config {
    const char *table;    /* the table's name */
    const char *region;   /* AWS region, e.g. "eu-west-1": the SigV4 scope */
    const char *endpoint; /* NULL: https://dynamodb.<region>.amazonaws.com; http:// only to a
                             loopback address (dynalite, DynamoDB Local) */
    long timeout_ms;      /* total time of one HTTP attempt, 1..ST_DDB_TIMEOUT_MS_MAX;
                             0 = ST_DDB_TIMEOUT_MS_DEFAULT. Connecting gets at most half */
    int page_limit;       /* list_revoked's Query Limit (items per page); 0 = none (DynamoDB's
                             1 MB pages). For tests that need several pages */
};

/* Opens the DynamoDB inventory that cfg describes: validates cfg, finds credentials (see
 * above; fetching container credentials once), and reads "meta#revocation_generation" with a
 * consistent GetItem, which proves the endpoint, the credentials and the table. cfg and its
 * strings are copied. Errors: HS_ERR_INPUT_CONFIG (cfg: table name, region, endpoint URL or
 * timeout malformed; no credentials (aws_creds.h); a container credentials URI that is not
 * allowed; the table does not exist (ResourceNotFoundException); the credentials are refused
 * (UnrecognizedClientException, InvalidSignatureException, AccessDeniedException...)),
 * HS_ERR_STORE_UNAVAILABLE (the endpoint cannot be reached, or keeps answering 5xx or
 * throttling), HS_ERR_IO (the credentials endpoint cannot be reached or keeps failing),
 * HS_ERR_NOMEM. Close with st_inventory_close(). */
HS_RESULT st_dynamodb_open(const struct st_dynamodb_config *cfg, struct st_inventory **out);

/* Checks cfg as st_dynamodb_open() does, without credentials or any request (for
 * validating a configuration before anything is opened). Errors: HS_ERR_INPUT_CONFIG naming the
 * field, HS_ERR_NOMEM. */
HS_RESULT st_dynamodb_config_check(const struct st_dynamodb_config *cfg);

#endif /* ST_DYNAMODB_H */
