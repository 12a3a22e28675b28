/*
 * aws_sqs: an Amazon SQS client for one queue (the request queue of the asynchronous SSH key
 * generation, issue 11), over aws_http (libcurl, SigV4 "aws:amz:<region>:sqs") with the
 * credential chain of aws_creds.h.
 *
 * Protocols (Amazon SQS API Reference, "Making API requests"), chosen per client:
 *   "json"  (default) the AWS JSON 1.0 protocol: POST / with Content-Type:
 *           application/x-amz-json-1.0 and X-Amz-Target: AmazonSQS.<Action>, a JSON body;
 *           errors carry __type ("com.amazonaws.sqs#QueueDoesNotExist").
 *   "query" the AWS query protocol: POST / with an application/x-www-form-urlencoded body
 *           (Action=<Action>&Version=2012-11-05&...), XML answers (parsed with libxml2, no
 *           network, no DTD, no entity expansion); errors are <ErrorResponse><Error><Code>.
 * Every request goes to the configured endpoint (never to the host of a queue URL, which is
 * only a parameter).
 *
 * Operations (API Reference, "Actions"): GetQueueUrl (at open, for a queue given by name),
 * SendMessage, ReceiveMessage, DeleteMessage, ChangeMessageVisibility. Message attributes are
 * sent (type String only) but not asked for when receiving.
 *
 * Message bodies: 1..AWS_SQS_BODY_MAX bytes of UTF-8 whose characters are all in the set SQS
 * accepts (SendMessage, "MessageBody": #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
 * #x10000-#x10FFFF); anything else is refused before a request is made. The MD5 SQS returns
 * (MD5OfMessageBody on send, MD5OfBody on receive; and MD5OfMessageAttributes when attributes
 * were sent, computed as the SQS Developer Guide's "Calculating the MD5 message digest for
 * message attributes" says) is checked against our own MD5 of what we sent or received:
 * a mismatch is HS_ERR_IO (the message was changed on the way; a received one is not returned).
 *
 * Retries and errors: each attempt has connect and total timeouts (timeout_ms; a long poll adds
 * its wait). HTTP 5xx, throttling (ThrottlingException, RequestThrottled, ...) and transport
 * failures are retried as the AWS SDKs' "standard" retry mode does: at most AWS_SQS_ATTEMPTS in
 * all, exponential backoff with full jitter (aws_http.h). An expired session token refreshes
 * refreshable credentials and retries. When the last attempt still got no answer, a 5xx or a
 * throttling error, the failure is HS_ERR_STORE_UNAVAILABLE (transient: the caller may retry
 * later; the same code as the DynamoDB store's). SQS's refusals map to: QueueDoesNotExist
 * (AWS.SimpleQueueService.NonExistentQueue) -> HS_ERR_INPUT_NOT_FOUND; refused credentials or
 * signature (InvalidClientTokenId, SignatureDoesNotMatch, AccessDenied, ...) ->
 * HS_ERR_INPUT_CONFIG; any other 4xx (InvalidParameterValue, ReceiptHandleIsInvalid,
 * MessageNotInflight, ...) -> HS_ERR_INPUT; a malformed or oversized answer -> HS_ERR_IO. The
 * detail names the action and SQS's error code, never a credential or a message body.
 *
 * Thread-safe: requests use aws_http handles from a small locked pool; the credentials
 * provider is thread-safe. Secrets live only in struct hs_secret (aws_creds.h).
 */
#ifndef AWS_SQS_H
#define AWS_SQS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"

#define AWS_SQS_BODY_MAX (256 * 1024)    /* bytes of a message (body and attributes) */
#define AWS_SQS_BATCH_MAX 10             /* messages of one ReceiveMessage */
#define AWS_SQS_WAIT_MAX_S 20            /* longest long poll (WaitTimeSeconds) */
#define AWS_SQS_VISIBILITY_MAX_S 43200   /* longest VisibilityTimeout (12 hours) */
#define AWS_SQS_QUEUE_NAME_MAX 80        /* [A-Za-z0-9_-], ".fifo" included */
#define AWS_SQS_URL_MAX 512              /* the endpoint and the queue URL */
#define AWS_SQS_REGION_MAX 32            /* e.g. "eu-west-1" */
#define AWS_SQS_RECEIPT_MAX 1024         /* characters of a receipt handle */
#define AWS_SQS_ID_MAX 128               /* MessageId, MessageGroupId, MessageDeduplicationId */
#define AWS_SQS_ATTRS_MAX 10             /* message attributes of one message */
#define AWS_SQS_ATTR_NAME_MAX 256        /* characters of an attribute name */
#define AWS_SQS_RESPONSE_MAX (16U << 20) /* bytes of one answer (10 escaped bodies fit) */
#define AWS_SQS_TIMEOUT_MS_DEFAULT 3000  /* per attempt, when timeout_ms is 0 */
#define AWS_SQS_TIMEOUT_MS_MIN 10
#define AWS_SQS_TIMEOUT_MS_MAX 60000
#define AWS_SQS_ATTEMPTS 3 /* per request, the first included */
#define AWS_SQS_MD5_HEX_LEN 32

/* Borrowed strings: the caller keeps them alive during aws_sqs_open (which copies them). */
struct aws_sqs_config {
    const char *region;   /* AWS region, 1..AWS_SQS_REGION_MAX of [a-z0-9-]: the SigV4 scope */
    const char *endpoint; /* NULL: https://sqs.<region>.amazonaws.com; http:// only to a
                             loopback address (local SQS implementations, tests) */
    const char *queue;    /* the queue's URL (https://sqs.<region>.amazonaws.com/<account>/<name>,
                             at most AWS_SQS_URL_MAX - 1 bytes) or its name (GetQueueUrl) */
    const char *protocol; /* NULL or "json" (the JSON protocol), or "query" */
    long timeout_ms;      /* total time of one HTTP attempt, AWS_SQS_TIMEOUT_MS_MIN..
                             AWS_SQS_TIMEOUT_MS_MAX; 0 = AWS_SQS_TIMEOUT_MS_DEFAULT. Connecting
                             gets at most half; a long poll gets its wait on top */
};

/* A String message attribute (SendMessage "MessageAttributes"). */
struct aws_sqs_attribute {
    const char *name;  /* 1..AWS_SQS_ATTR_NAME_MAX of [A-Za-z0-9_.-], not starting with "AWS."
                          or "Amazon." nor with or ending in '.', no ".." */
    const char *value; /* 1.. bytes of the body's character set */
};

/* What SendMessage sends. */
struct aws_sqs_outgoing {
    const void *body; /* body_len bytes (see the character set above), no NUL needed */
    size_t body_len;
    const char *group_id; /* FIFO queues: required, 1..AWS_SQS_ID_MAX of printable ASCII
                             (0x21..0x7e); standard queues: must be NULL */
    const char *dedup_id; /* FIFO queues only, optional (NULL: the queue's content-based
                             deduplication); same characters */
    const struct aws_sqs_attribute *attributes; /* nattributes of them, names distinct */
    size_t nattributes;                         /* 0..AWS_SQS_ATTRS_MAX */
};

/* ReceiveMessage's parameters. */
struct aws_sqs_receive_options {
    int max_messages;       /* 1..AWS_SQS_BATCH_MAX (0 = 1) */
    int wait_seconds;       /* 0..AWS_SQS_WAIT_MAX_S: long polling; 0 = a short poll */
    int visibility_timeout; /* 0..AWS_SQS_VISIBILITY_MAX_S seconds; -1 = the queue's */
};

/* One received message. */
struct aws_sqs_message {
    char message_id[AWS_SQS_ID_MAX + 1];
    char receipt_handle[AWS_SQS_RECEIPT_MAX + 1]; /* for aws_sqs_delete / change_visibility */
    struct hs_buf *body; /* the body, its MD5 checked; owned by the batch */
};

/* What ReceiveMessage returned: n (0..AWS_SQS_BATCH_MAX) messages. */
struct aws_sqs_batch {
    size_t n;
    struct aws_sqs_message messages[AWS_SQS_BATCH_MAX];
};

/* A client for one queue. */
struct aws_sqs;

/* Checks cfg as aws_sqs_open() does, without credentials or any request. Errors:
 * HS_ERR_INPUT_CONFIG naming the field (never echoing a URL), HS_ERR_NOMEM. */
HS_RESULT aws_sqs_config_check(const struct aws_sqs_config *cfg);

/* Opens a client: validates cfg, finds credentials (aws_creds.h: asked once now), and, when the
 * queue is given by name, asks GetQueueUrl for its URL (proving the endpoint, the credentials and
 * the queue); a queue given by URL is used as it is, without a request. *out is written only on
 * success; close it with aws_sqs_close(). Errors: HS_ERR_INPUT_CONFIG (cfg malformed; no
 * credentials; the queue does not exist; the credentials are refused), HS_ERR_STORE_UNAVAILABLE
 * (the endpoint cannot be reached, or keeps answering 5xx or throttling), HS_ERR_IO (a malformed
 * answer; a credentials endpoint failed), HS_ERR_NOMEM. */
HS_RESULT aws_sqs_open(const struct aws_sqs_config *cfg, struct aws_sqs **out);

/* Releases q (NULL accepted). */
void aws_sqs_close(struct aws_sqs *q);
void aws_sqs_closep(struct aws_sqs **q);

/* The queue's URL (lent: valid until aws_sqs_close). */
const char *aws_sqs_queue_url(const struct aws_sqs *q);

/* True for a FIFO queue (its name ends in ".fifo"). */
bool aws_sqs_fifo(const struct aws_sqs *q);

/* SendMessage (API Reference, "SendMessage") of msg; checks the MD5OfMessageBody (and
 * MD5OfMessageAttributes) of the answer, then copies the MessageId into message_id. Errors:
 * HS_ERR_INPUT_TOO_LARGE (body and attributes over AWS_SQS_BODY_MAX bytes), HS_ERR_INPUT_FIELD
 * (an empty body, a character outside the set, a group id missing on a FIFO queue or given on a
 * standard one, a malformed id or attribute), and those of the header comment. A send whose
 * answer was lost and was retried may have been delivered twice (SQS is at-least-once). */
HS_RESULT aws_sqs_send(struct aws_sqs *q, const struct aws_sqs_outgoing *msg,
                       char message_id[AWS_SQS_ID_MAX + 1]);

/* ReceiveMessage (API Reference, "ReceiveMessage") with opt (NULL: one message, no wait, the
 * queue's visibility timeout). *out (the caller frees it with aws_sqs_batch_free) holds 0..
 * max_messages messages, each body checked against its MD5OfBody and the character set. Returns
 * after at most wait_seconds (plus the request's time) when no message comes. Errors:
 * HS_ERR_INPUT_RANGE (opt out of range), HS_ERR_IO (an MD5 mismatch, a malformed or oversized
 * answer), and those of the header comment. */
HS_RESULT aws_sqs_receive(struct aws_sqs *q, const struct aws_sqs_receive_options *opt,
                          struct aws_sqs_batch **out);

/* Releases b and the bodies it owns (NULL accepted). */
void aws_sqs_batch_free(struct aws_sqs_batch *b);
void aws_sqs_batch_freep(struct aws_sqs_batch **b);

/* DeleteMessage (API Reference, "DeleteMessage") of the message received with receipt_handle.
 * Errors: HS_ERR_INPUT_FIELD (a receipt handle empty, longer than AWS_SQS_RECEIPT_MAX or not
 * printable ASCII), HS_ERR_INPUT (ReceiptHandleIsInvalid), and those of the header comment. */
HS_RESULT aws_sqs_delete(struct aws_sqs *q, const char *receipt_handle);

/* ChangeMessageVisibility (API Reference, "ChangeMessageVisibility"): the message received with
 * receipt_handle becomes visible again after seconds (0..AWS_SQS_VISIBILITY_MAX_S; 0 = now).
 * Errors: HS_ERR_INPUT_FIELD (receipt handle, as aws_sqs_delete), HS_ERR_INPUT_RANGE (seconds),
 * HS_ERR_INPUT (MessageNotInflight, ReceiptHandleIsInvalid), and those of the header comment. */
HS_RESULT aws_sqs_change_visibility(struct aws_sqs *q, const char *receipt_handle, int seconds);

/* Checks that p[0..n) is UTF-8 (shortest forms, no surrogates) whose every character is in
 * SQS's set (see above). Errors: HS_ERR_INPUT_FIELD naming the byte offset of the first bad
 * character (never the content). */
HS_RESULT aws_sqs_body_check(const void *p, size_t n);

/* Checks that md5_hex (32 hex digits, either case) is the MD5 of p[0..n) (RFC 1321, as SQS's
 * MD5OfBody). Errors: HS_ERR_IO (malformed or not matching; the detail says which). */
HS_RESULT aws_sqs_md5_check(const void *p, size_t n, const char *md5_hex);

#endif /* AWS_SQS_H */
