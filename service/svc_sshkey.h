/*
 * svc_sshkey: server-side SSH key generation, asynchronous (issue 11, deliverable 3).
 *
 * A caller submits a job (POST /v1/ssh/keys); a worker makes the key pair in memory
 * (common/hs_sshkey, libcrypto), certifies its public key through svc_ssh_issue() (so the
 * policy, serial, inventory record and audit are those of POST /v1/ssh/certificates), writes the
 * private key as an unencrypted openssh-key-v1 file (OpenSSH PROTOCOL.key) and, when the job
 * names a recipient (an X25519 public key), seals it to that key with libsodium's
 * crypto_box_seal (an anonymous sealed box: X25519 + XSalsa20-Poly1305). The caller polls by
 * request_id (GET /v1/ssh/keys/{id}) and gets the result once; it is then wiped.
 *
 * The job is self-contained JSON (svc_sshkey_job_encode / _decode), so it can be carried to
 * another process (a queue) and run there with svc_sshkey_job_run(). The queue and the result
 * store are behind struct svc_sshkey_backend; the embedded default is an in-process queue with
 * worker threads and results in memory (svc_sshkey_start()).
 *
 * The private key never goes to disk, a log or the inventory: it lives in sensitive buffers
 * (wiped on free) until it is sealed or handed out.
 */
#ifndef SVC_SSHKEY_H
#define SVC_SSHKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"
#include "service/svc_ctx.h"
#include "service/svc_ssh.h"

#define SVC_SSHKEY_ID_LEN 32              /* lowercase hex characters of a request id (128 bits) */
#define SVC_SSHKEY_RECIPIENT_LEN 32       /* bytes of an X25519 public key */
#define SVC_SSHKEY_JOB_MAX (32 * 1024)    /* bytes of a job's JSON */
#define SVC_SSHKEY_CALLER_MAX 1024        /* bytes of the caller's principal */
#define SVC_SSHKEY_DETAIL_MAX 200         /* bytes of a failed job's detail */
#define SVC_SSHKEY_PRIVATE_MAX (8 * 1024) /* bytes of the private key file (RSA-4096 ~3.4 KiB) */
#define SVC_SSHKEY_SEALED_MAX (12 * 1024) /* bytes of the base64 sealed box */
#define SVC_SSHKEY_WORKERS_MAX 64
#define SVC_SSHKEY_QUEUE_MAX 65536
#define SVC_SSHKEY_TTL_MAX 86400      /* seconds a result may be kept */
#define SVC_SSHKEY_ENTRIES_MAX 100000 /* jobs and results held at once */

enum svc_sshkey_key_type {
    SVC_SSHKEY_ED25519,
    SVC_SSHKEY_RSA_2048,
    SVC_SSHKEY_RSA_4096,
};

/* "ed25519", "rsa-2048", "rsa-4096". Errors: HS_ERR_INPUT_FIELD naming "key_type". */
HS_RESULT svc_sshkey_key_type_parse(const char *name, enum svc_sshkey_key_type *out);

/* One job. Strings point into doc, which the job owns (the job's JSON, as decoded); req holds
 * the certificate request as POST /v1/ssh/certificates takes it (req.public_key is NULL and
 * req.now 0 until the job runs). */
struct svc_sshkey_job {
    json_object *doc;
    char request_id[SVC_SSHKEY_ID_LEN + 1];
    const char *caller; /* the principal that submitted it */
    enum svc_sshkey_key_type key_type;
    struct svc_ssh_request req;
    bool has_recipient;
    unsigned char recipient[SVC_SSHKEY_RECIPIENT_LEN];
    time_t created; /* seconds since the epoch */
    time_t expires; /* created + result_ttl_seconds: after it the job and its result are wiped */
};

/* What a caller asks for (borrowed). req: as POST /v1/ssh/certificates without public_key;
 * recipient: NULL or the standard base64 (RFC 4648 §4) of a 32-byte X25519 public key. */
struct svc_sshkey_ask {
    const char *key_type;
    const struct svc_ssh_request *req;
    const char *recipient;
};

/* Builds a job for caller: a fresh random request id, created = now, expires = now + ttl_s.
 * The same checks as svc_sshkey_job_decode(). Errors: HS_ERR_INPUT_FIELD naming the field
 * (key_type, recipient, principals, ...), HS_ERR_INPUT_TOO_LARGE, HS_ERR_CRYPTO (random),
 * HS_ERR_NOMEM. The caller frees *out with svc_sshkey_job_free(). */
HS_RESULT svc_sshkey_job_new(const char *caller, const struct svc_sshkey_ask *ask, time_t now,
                             long ttl_s, struct svc_sshkey_job **out);

/* Appends the job's JSON (one object, UTF-8, no newline) to out:
 *   {"v": 1, "request_id": hex32, "caller": string, "key_type": string, "cert_type": "user" |
 *    "host", "principals": [string], "ttl_seconds": int (optional), "key_id": string (optional),
 *    "extensions": [string] (optional), "critical_options": {"force-command", "source-address"}
 *    (optional), "recipient": base64 (optional), "created": int, "expires": int}
 * Errors: HS_ERR_BOUNDS, HS_ERR_NOMEM. */
HS_RESULT svc_sshkey_job_encode(const struct svc_sshkey_job *job, struct hs_buf *out);

/* Parses text (len bytes, at most SVC_SSHKEY_JOB_MAX, not NUL-terminated) as a job, strictly:
 * unknown or missing members, wrong types, a request id that is not 32 lowercase hex digits,
 * an unknown key or certificate type, 1..SGN_SSH_PRINCIPALS_MAX principals of 1..
 * SGN_SSH_PRINCIPAL_MAX bytes, strings with NUL bytes or over their limits, a recipient that is
 * not 32 bytes, expires not after created: all refused. Pure. Errors: HS_ERR_INPUT_TOO_LARGE,
 * HS_ERR_INPUT_JSON, HS_ERR_INPUT_FIELD (the detail names the member). The caller frees *out
 * with svc_sshkey_job_free(). */
HS_RESULT svc_sshkey_job_decode(const char *text, size_t len, struct svc_sshkey_job **out);

void svc_sshkey_job_free(struct svc_sshkey_job *job);
void svc_sshkey_job_freep(struct svc_sshkey_job **job);

enum svc_sshkey_status {
    SVC_SSHKEY_PENDING,
    SVC_SSHKEY_DONE,
    SVC_SSHKEY_FAILED,
};

enum svc_sshkey_stage {
    SVC_SSHKEY_QUEUED,
    SVC_SSHKEY_GENERATING,
    SVC_SSHKEY_SIGNING,
};

/* A finished job. status DONE: exactly one of private_key (sensitive, the openssh-key-v1 file)
 * and sealed_private_key (base64 of the sealed box) is set, with public_key (its line, no
 * newline) and cert. status FAILED: error, reason (a static policy reason name, or NULL) and
 * detail (bad input only) as the synchronous route would answer them. */
struct svc_sshkey_done {
    enum svc_sshkey_status status;
    struct svc_sshkey_job *job; /* owned: the principals, key id, ... */
    struct hs_buf *private_key;
    struct hs_buf *sealed_private_key;
    struct hs_buf *public_key;
    struct svc_ssh_result cert;
    enum hs_code error;
    const char *reason;
    char detail[SVC_SSHKEY_DETAIL_MAX];
};

/* Releases everything done holds (the private key is wiped) and zeroes it; NULL accepted. */
void svc_sshkey_done_clear(struct svc_sshkey_done *done);

/* Runs job at now as caller (whose authorisation decides, as for POST /v1/ssh/certificates):
 * generates the pair, encodes the private key (comment: the key_id, else the first principal),
 * certifies the public key with svc_ssh_issue() and seals the private key when the job has a
 * recipient. On HS_OK *done is a DONE result and takes job over (*job is set to NULL); on
 * failure nothing is written, *job is kept, and the failure is svc_ssh_issue()'s, or
 * HS_ERR_CRYPTO / HS_ERR_NOMEM / HS_ERR_BOUNDS. The caller clears *done with
 * svc_sshkey_done_clear(). */
HS_RESULT svc_sshkey_job_run(struct svc_ctx *ctx, const struct svc_caller *caller,
                             struct svc_sshkey_job **job, time_t now, struct svc_sshkey_done *out);

/* The front end's authorisation for jobs that run later, in a worker: as svc_authz.ssh, for
 * principal; on a policy denial *reason is its static name (else left NULL). */
struct svc_sshkey_authz {
    void *arg;
    HS_MUST_USE hs_result (*ssh)(void *arg, const char *principal, const struct svc_ssh_ask *ask,
                                 struct svc_ssh_grant *out, const char **reason);
};

/* Runs job (taken over) as its submitter job->caller, authorised by authz (the front end's
 * policy), as the embedded queue's workers do, and always yields a result in *out: DONE, or
 * FAILED with the error, policy reason and input detail the synchronous route would answer
 * (logged as ssh.keygen.failed). For a worker in another process (the queue-service shape):
 * decode the job, complete it, store the result. The caller clears *out with
 * svc_sshkey_done_clear(). */
void svc_sshkey_job_complete(struct svc_ctx *ctx, const struct svc_sshkey_authz *authz,
                             struct svc_sshkey_job *job, time_t now, struct svc_sshkey_done *out);

/* The embedded queue's settings (config "ssh": {"keygen": {...}}). */
struct svc_sshkey_config {
    long workers;                   /* threads, 1..SVC_SSHKEY_WORKERS_MAX */
    long queue_max;                 /* jobs waiting for a worker, 1..SVC_SSHKEY_QUEUE_MAX */
    long result_ttl_s;              /* seconds a job and its result are kept, 1..TTL_MAX */
    long pending_per_principal_max; /* jobs and unfetched results of one principal */
};

#define SVC_SSHKEY_DEFAULT_WORKERS 2
#define SVC_SSHKEY_DEFAULT_QUEUE_MAX 64
#define SVC_SSHKEY_DEFAULT_TTL_S 300
#define SVC_SSHKEY_DEFAULT_PER_PRINCIPAL 8

/* What a poll sees. PENDING: stage, and position (0 = next) when queued. DONE / FAILED: done
 * (the caller clears it with svc_sshkey_done_clear()). */
struct svc_sshkey_poll {
    enum svc_sshkey_status status;
    enum svc_sshkey_stage stage;
    size_t position;
    struct svc_sshkey_done done;
};

/* Where jobs go and results come from: the seam for another shape (a queue service and a
 * result table). submit takes the job over on success; poll is as svc_sshkey_poll(). */
struct svc_sshkey_backend {
    void *self;
    HS_MUST_USE hs_result (*submit)(void *self, struct svc_sshkey_job **job, time_t now);
    HS_MUST_USE hs_result (*poll)(void *self, const char *principal, const char *request_id,
                                  time_t now, struct svc_sshkey_poll *out);
    void (*free)(void *self);
    long result_ttl_s; /* seconds a job and its result are kept (1..SVC_SSHKEY_TTL_MAX) */
};

/* Starts the embedded queue on ctx: cfg->workers threads that run jobs as their submitter,
 * authorised by authz (borrowed; it must outlive ctx). svc_ctx_free() stops the workers and
 * wipes every job and result. Errors: HS_ERR_INPUT_CONFIG (a setting out of range),
 * HS_ERR_INTERNAL (threads), HS_ERR_NOMEM; HS_ERR_INPUT_EXISTS when a backend is already set. */
HS_RESULT svc_sshkey_start(struct svc_ctx *ctx, const struct svc_sshkey_config *cfg,
                           const struct svc_sshkey_authz *authz);

/* Sets another backend on ctx (taken over: svc_ctx_free() calls its free). Errors:
 * HS_ERR_INPUT_EXISTS when one is set. */
HS_RESULT svc_sshkey_set_backend(struct svc_ctx *ctx, const struct svc_sshkey_backend *backend);

/* Submits a key generation for caller: refused at once when the caller's authorisation denies
 * the certificate (svc_ssh_authorize()), then queued. *id_out gets the request id (33 bytes
 * with the NUL). Errors: HS_ERR_INPUT_NOT_FOUND (SSH or key generation not configured), the
 * job's checks (svc_sshkey_job_new()), the policy's denial, HS_ERR_QUEUE_FULL (the queue is
 * full or the caller has pending_per_principal_max jobs: retry later). */
HS_RESULT svc_sshkey_submit(struct svc_ctx *ctx, const struct svc_caller *caller,
                            const struct svc_sshkey_ask *ask, time_t now,
                            char id_out[SVC_SSHKEY_ID_LEN + 1]);

/* Checks a request id: 32 lowercase hex digits (n bytes). Errors: HS_ERR_INPUT_FIELD. */
HS_RESULT svc_sshkey_id_check(const char *id, size_t n);

/* Polls request_id for caller: pending, or the result once (it is then removed; a second poll
 * fails). A request of another principal, an unknown or expired one fail alike with
 * HS_ERR_INPUT_NOT_FOUND. *out is written only on success. */
HS_RESULT svc_sshkey_poll(struct svc_ctx *ctx, const struct svc_caller *caller,
                          const char *request_id, time_t now, struct svc_sshkey_poll *out);

#endif /* SVC_SSHKEY_H */
