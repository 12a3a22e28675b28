/*
 * api_keygen: server-side SSH key generation in the AWS shape (issue 11, deliverable 3;
 * docs/keygen-aws.md): the queue is SQS, the results are keygen records in the DynamoDB inventory
 * (store/st_keygen.h), the worker is hsmsignd in Lambda SQS-event mode (api_lambda.h).
 *
 *   submit (POST /v1/ssh/keys, through svc_sshkey_backend): a job without a recipient is refused
 *     (HS_ERR_INPUT_FIELD "recipient": nothing may sit in SQS or DynamoDB in the clear); the
 *     pending record is put (owner = the caller, expiry = the job's), then the job's JSON
 *     (svc_sshkey_job_encode) is sent to the queue. When the send fails, the record is withdrawn
 *     (st_keygen_cancel) and the caller gets HS_ERR_QUEUE_FULL (503 with Retry-After).
 *   poll (GET /v1/ssh/keys/{id}): st_keygen_take: pending (stage "queued", position 0: the queue
 *     does not say), or the stored result once, then not found.
 *   consume (the worker, api_service.sqs_consume): decodes the job (a message that is not a job
 *     fails: after maxReceiveCount it is in the dead-letter queue), drops an expired one (HS_OK,
 *     logged ssh.keygen.dropped), runs it as its submitter (svc_sshkey_job_complete, the API's
 *     policy), and stores the result with st_keygen_complete. A failure of the moment (HSM_*,
 *     HS_ERR_STORE_UNAVAILABLE, HS_ERR_IO, HS_ERR_NOMEM, HS_ERR_INTERNAL) leaves the record
 *     pending and fails the message (SQS redelivers it); any other failure (a policy denial at
 *     run time, bad input) is stored as FAILED. A record that is gone (expired, or cancelled) or
 *     already completed (a redelivery) drops the job (HS_OK, logged).
 *
 * The stored result (at most ST_KEYGEN_BLOB_MAX bytes) is JSON: DONE {"status": "done", "job":
 * the job's JSON, "sealed_private_key": base64 of the sealed box, "public_key", "certificate",
 * "serial": decimal, "key_id", "valid_after", "valid_before": seconds}; FAILED {"status":
 * "failed", "error": the hs_code, "reason": a policy reason name (optional), "detail" (optional)}.
 * It never holds a private key in the clear: a DONE result without a sealed key (a job that had
 * no recipient, which submit never queues) is stored as FAILED (HS_ERR_INPUT_FIELD).
 */
#ifndef API_KEYGEN_H
#define API_KEYGEN_H

#include <stddef.h>

#include "common/hs_err.h"

struct api_service;

/* Sets up the AWS shape on svc when svc->cfg names ssh.keygen.queue_url: opens the queue
 * (aws_sqs_open) and its own handle on the inventory, sets the svc_sshkey backend and
 * svc->sqs_consume. Does nothing (HS_OK) otherwise. Errors: HS_ERR_INPUT_CONFIG (the queue's
 * config; the inventory is not DynamoDB), those of aws_sqs_open() and st_inventory_open(),
 * HS_ERR_NOMEM. Everything is released with svc (svc_ctx_free frees the backend). */
HS_RESULT api_keygen_start(struct api_service *svc);

#endif /* API_KEYGEN_H */
