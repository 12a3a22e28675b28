#include "api/api_keygen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "api/api_policy.h"
#include "api/api_service.h"
#include "aws/aws_sqs.h"
#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "common/hs_log.h"
#include "service/svc_sshkey.h"
#include "store/st_config.h"
#include "store/st_keygen.h"

#define API_KEYGEN_SQS_TIMEOUT_MS 5000

/* The backend's state: the queue and a handle on the inventory of its own. */
struct api_keygen {
    struct aws_sqs *q;
    struct st_inventory *inv;
};

static void api_keygen_free(void *self)
{
    struct api_keygen *kg = self;
    if (kg != NULL) {
        aws_sqs_close(kg->q);
        st_inventory_close(kg->inv);
        OPENSSL_free(kg);
    }
}

static void api_keygen_freep(struct api_keygen **kg)
{
    api_keygen_free(*kg);
}

/* --- the stored result ---------------------------------------------------------------------- */

static HS_RESULT api_keygen_add_buf(json_object *obj, const char *key, const struct hs_buf *b)
{
    HS_ENSURE(b != NULL, HS_ERR_INTERNAL);
    return hs_json_add(
        obj, key, json_object_new_string_len((const char *)hs_buf_data(b), (int)hs_buf_len(b)));
}

static HS_RESULT api_keygen_done_json(const struct svc_sshkey_done *d, json_object *obj)
{
    HS_DEFER(struct hs_buf *job = hs_buf_new(SVC_SSHKEY_JOB_MAX), hs_buf_freep);
    HS_ENSURE(job != NULL && d->job != NULL, HS_ERR_NOMEM);
    HS_GUARD(svc_sshkey_job_encode(d->job, job));
    char serial[24];
    int w = snprintf(serial, sizeof(serial), "%" PRIu64, d->cert.serial);
    HS_ENSURE(w > 0 && (size_t)w < sizeof(serial), HS_ERR_BOUNDS);
    HS_GUARD(hs_json_add(obj, "status", json_object_new_string("done")));
    HS_GUARD(api_keygen_add_buf(obj, "job", job));
    HS_GUARD(api_keygen_add_buf(obj, "sealed_private_key", d->sealed_private_key));
    HS_GUARD(api_keygen_add_buf(obj, "public_key", d->public_key));
    HS_GUARD(api_keygen_add_buf(obj, "certificate", d->cert.certificate));
    HS_GUARD(hs_json_add(obj, "serial", json_object_new_string(serial)));
    HS_GUARD(hs_json_add(obj, "key_id", json_object_new_string(d->cert.key_id)));
    HS_GUARD(hs_json_add(obj, "valid_after", json_object_new_int64(d->cert.valid_after)));
    return hs_json_add(obj, "valid_before", json_object_new_int64(d->cert.valid_before));
}

static HS_RESULT api_keygen_failed_json(enum hs_code code, const char *reason, const char *detail,
                                        json_object *obj)
{
    HS_GUARD(hs_json_add(obj, "status", json_object_new_string("failed")));
    HS_GUARD(hs_json_add(obj, "error", json_object_new_int((int)code)));
    if (reason != NULL) {
        HS_GUARD(hs_json_add(obj, "reason", json_object_new_string(reason)));
    }
    if (detail != NULL && detail[0] != '\0') {
        HS_GUARD(hs_json_add(obj, "detail", json_object_new_string(detail)));
    }
    return HS_OK;
}

/* The blob of d: DONE only with a sealed key; anything else is stored as FAILED. */
static HS_RESULT api_keygen_blob(const struct svc_sshkey_done *d, struct hs_buf **out,
                                 enum st_keygen_status *status)
{
    HS_DEFER(json_object *obj = json_object_new_object(), hs_json_putp);
    HS_ENSURE(obj != NULL, HS_ERR_NOMEM);
    bool done =
        d->status == SVC_SSHKEY_DONE && d->sealed_private_key != NULL && d->private_key == NULL;
    if (done) {
        HS_GUARD(api_keygen_done_json(d, obj));
    } else if (d->status == SVC_SSHKEY_DONE) {
        HS_GUARD(api_keygen_failed_json(HS_ERR_INPUT_FIELD, NULL,
                                        "a key made without a recipient is never stored", obj));
    } else {
        HS_GUARD(api_keygen_failed_json(d->error, d->reason, d->detail, obj));
    }
    size_t n = 0;
    const char *text = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &n);
    HS_ENSURE(text != NULL, HS_ERR_NOMEM);
    HS_ENSURE_MSG(n <= ST_KEYGEN_BLOB_MAX, HS_ERR_INPUT_TOO_LARGE,
                  "the key generation result is over %u bytes", ST_KEYGEN_BLOB_MAX);
    HS_DEFER(struct hs_buf *b = hs_buf_new(ST_KEYGEN_BLOB_MAX), hs_buf_freep);
    HS_ENSURE(b != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put(b, text, n));
    *status = done ? ST_KEYGEN_DONE : ST_KEYGEN_FAILED;
    *out = b;
    b = NULL;
    return HS_OK;
}

/* A string member into a new buffer. */
static HS_RESULT api_keygen_get_buf(json_object *obj, const char *key, size_t max,
                                    struct hs_buf **out)
{
    const char *s = NULL;
    HS_GUARD(hs_json_get_string(obj, key, true, max, &s));
    HS_DEFER(struct hs_buf *b = hs_buf_new(max), hs_buf_freep);
    HS_ENSURE(b != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put_str(b, s));
    *out = b;
    b = NULL;
    return HS_OK;
}

/* The static name of a policy reason (svc_sshkey_done.reason is static), or NULL. */
static const char *api_keygen_reason(const char *name)
{
    for (int r = API_POLICY_NO_RULE; name != NULL && r <= API_POLICY_SSH_TTL; r++) {
        const char *known = api_policy_reason_name((enum api_policy_reason)r);
        if (known != NULL && strcmp(known, name) == 0) {
            return known;
        }
    }
    return NULL;
}

static HS_RESULT api_keygen_parse_done(json_object *obj, struct svc_sshkey_done *d)
{
    const char *job = NULL;
    const char *serial = NULL;
    const char *key_id = NULL;
    int64_t after = 0;
    int64_t before = 0;
    HS_GUARD(hs_json_get_string(obj, "job", true, SVC_SSHKEY_JOB_MAX, &job));
    HS_GUARD(svc_sshkey_job_decode(job, strlen(job), &d->job));
    HS_GUARD(api_keygen_get_buf(obj, "sealed_private_key", SVC_SSHKEY_SEALED_MAX,
                                &d->sealed_private_key));
    HS_GUARD(api_keygen_get_buf(obj, "public_key", ST_KEYGEN_BLOB_MAX, &d->public_key));
    HS_GUARD(api_keygen_get_buf(obj, "certificate", ST_KEYGEN_BLOB_MAX, &d->cert.certificate));
    HS_GUARD(hs_json_get_string(obj, "serial", true, 20, &serial));
    HS_GUARD(hs_json_get_string(obj, "key_id", true, SGN_SSH_KEY_ID_MAX, &key_id));
    HS_GUARD(hs_json_get_int(obj, "valid_after", true, 0, INT64_MAX / 2, 0, &after));
    HS_GUARD(hs_json_get_int(obj, "valid_before", true, 0, INT64_MAX / 2, 0, &before));
    char *end = NULL;
    d->cert.serial = strtoull(serial, &end, 10);
    HS_ENSURE_MSG(end != serial && *end == '\0', HS_ERR_IO, "stored serial is not a number");
    memcpy(d->cert.key_id, key_id, strlen(key_id) + 1);
    d->cert.valid_after = (time_t)after;
    d->cert.valid_before = (time_t)before;
    d->status = SVC_SSHKEY_DONE;
    return HS_OK;
}

static HS_RESULT api_keygen_parse_failed(json_object *obj, struct svc_sshkey_done *d)
{
    int64_t code = 0;
    const char *reason = NULL;
    const char *detail = NULL;
    HS_GUARD(hs_json_get_int(obj, "error", true, 1, 0xffff, 0, &code));
    HS_GUARD(hs_json_get_string(obj, "reason", false, 64, &reason));
    HS_GUARD(hs_json_get_string(obj, "detail", false, SVC_SSHKEY_DETAIL_MAX - 1, &detail));
    d->status = SVC_SSHKEY_FAILED;
    d->error = (enum hs_code)code;
    d->reason = api_keygen_reason(reason);
    (void)snprintf(d->detail, sizeof(d->detail), "%s", detail != NULL ? detail : "");
    return HS_OK;
}

/* The stored result back into *out (written only on success). A result that does not parse is
 * HS_ERR_IO: the store holds what we wrote. */
static HS_RESULT api_keygen_unblob(const struct hs_buf *blob, struct svc_sshkey_done *out)
{
    HS_DEFER(json_object *obj = NULL, hs_json_putp);
    hs_result r = hs_json_parse_object((const char *)hs_buf_data(blob), hs_buf_len(blob),
                                       ST_KEYGEN_BLOB_MAX, HS_JSON_DEPTH_MAX, &obj);
    HS_ENSURE_MSG(!hs_failed(r), HS_ERR_IO, "a stored key generation result is not JSON");
    const char *status = NULL;
    HS_GUARD(hs_json_get_string(obj, "status", true, 8, &status));
    HS_DEFER(struct svc_sshkey_done d = {0}, svc_sshkey_done_clear);
    r = strcmp(status, "done") == 0 ? api_keygen_parse_done(obj, &d)
                                    : api_keygen_parse_failed(obj, &d);
    HS_ENSURE_MSG(!hs_failed(r), HS_ERR_IO, "a stored key generation result is malformed");
    *out = d;
    memset(&d, 0, sizeof(d));
    return HS_OK;
}

/* --- the backend (the API side) ------------------------------------------------------------- */

static HS_RESULT api_keygen_send(struct api_keygen *kg, const struct svc_sshkey_job *job)
{
    HS_DEFER(struct hs_buf *body = hs_buf_new(SVC_SSHKEY_JOB_MAX), hs_buf_freep);
    HS_ENSURE(body != NULL, HS_ERR_NOMEM);
    HS_GUARD(svc_sshkey_job_encode(job, body));
    struct aws_sqs_outgoing msg = {.body = hs_buf_data(body), .body_len = hs_buf_len(body)};
    char message_id[AWS_SQS_ID_MAX + 1];
    return aws_sqs_send(kg->q, &msg, message_id);
}

static HS_RESULT api_keygen_submit(void *self, struct svc_sshkey_job **job, time_t now)
{
    struct api_keygen *kg = self;
    HS_ENSURE(kg != NULL && job != NULL && *job != NULL, HS_ERR_INTERNAL);
    const struct svc_sshkey_job *j = *job;
    HS_ENSURE_MSG(j->has_recipient, HS_ERR_INPUT_FIELD,
                  "\"recipient\" is required: the key is sealed to it before it is stored");
    HS_GUARD(st_keygen_put_pending(kg->inv, j->request_id, j->caller, now, j->expires));
    hs_result r = api_keygen_send(kg, j);
    if (hs_failed(r)) {
        hs_log(HS_LOG_WARN, "ssh.keygen.enqueue.failed", HS_LOG_STR("request_id", j->request_id),
               HS_LOG_ERR());
        hs_result c = st_keygen_cancel(kg->inv, j->request_id, j->caller);
        if (hs_failed(c)) {
            hs_log(HS_LOG_WARN, "ssh.keygen.cancel.failed", HS_LOG_STR("request_id", j->request_id),
                   HS_LOG_ERR()); /* it expires unseen */
        }
        HS_BAIL_MSG(HS_ERR_QUEUE_FULL, "the key generation queue cannot take the job now");
    }
    svc_sshkey_job_free(*job);
    *job = NULL;
    return HS_OK;
}

static HS_RESULT api_keygen_poll(void *self, const char *principal, const char *request_id,
                                 time_t now, struct svc_sshkey_poll *out)
{
    struct api_keygen *kg = self;
    HS_ENSURE(kg != NULL && out != NULL, HS_ERR_INTERNAL);
    enum st_keygen_status status = ST_KEYGEN_PENDING;
    HS_DEFER(struct hs_buf *blob = NULL, hs_buf_freep);
    HS_GUARD(st_keygen_take(kg->inv, request_id, principal, now, &status, &blob));
    struct svc_sshkey_poll p = {.status = SVC_SSHKEY_PENDING, .stage = SVC_SSHKEY_QUEUED};
    if (status != ST_KEYGEN_PENDING) {
        HS_GUARD(api_keygen_unblob(blob, &p.done));
        p.status = p.done.status;
    }
    *out = p;
    return HS_OK;
}

/* --- the worker ----------------------------------------------------------------------------- */

/* Failures of the moment: the message is retried, the record stays pending. */
static bool api_keygen_transient(enum hs_code code)
{
    return hs_code_class(code) == HS_CLASS_HSM || code == HS_ERR_STORE_UNAVAILABLE ||
           code == HS_ERR_IO || code == HS_ERR_NOMEM || code == HS_ERR_INTERNAL ||
           code == HS_ERR_STORE;
}

static HS_RESULT api_keygen_store(struct api_keygen *kg, const char *id,
                                  const struct svc_sshkey_done *done, time_t now, time_t expires)
{
    enum st_keygen_status status = ST_KEYGEN_FAILED;
    HS_DEFER(struct hs_buf *blob = NULL, hs_buf_freep);
    HS_GUARD(api_keygen_blob(done, &blob, &status));
    hs_result r =
        st_keygen_complete(kg->inv, id, status, hs_buf_data(blob), hs_buf_len(blob), now, expires);
    if (r.code == HS_ERR_INPUT_NOT_FOUND || r.code == HS_ERR_INPUT_EXISTS) {
        /* Gone (expired, cancelled) or completed by an earlier delivery: nothing to do. */
        hs_log(HS_LOG_WARN, "ssh.keygen.dropped", HS_LOG_STR("request_id", id),
               HS_LOG_STR("why", r.code == HS_ERR_INPUT_EXISTS ? "completed before" : "gone"));
        hs_error_clear();
        return HS_OK;
    }
    return r;
}

static HS_RESULT api_keygen_consume(struct api_service *svc, const char *body, size_t body_len,
                                    unsigned long receive_count)
{
    struct api_keygen *kg = svc->keygen;
    HS_ENSURE_REF(kg);
    HS_DEFER(struct svc_sshkey_job *job = NULL, svc_sshkey_job_freep);
    HS_GUARD(svc_sshkey_job_decode(body, body_len, &job)); /* not a job: to the DLQ in time */
    time_t now = time(NULL);
    char id[SVC_SSHKEY_ID_LEN + 1];
    memcpy(id, job->request_id, sizeof(id));
    time_t expires = job->expires;
    if (expires <= now) {
        hs_log(HS_LOG_WARN, "ssh.keygen.dropped", HS_LOG_STR("request_id", id),
               HS_LOG_STR("why", "expired"), HS_LOG_INT("receive_count", receive_count));
        return HS_OK;
    }
    HS_DEFER(struct svc_sshkey_done done = {0}, svc_sshkey_done_clear);
    svc_sshkey_job_complete(svc->svc, &svc->sshkey_authz, job, now, &done);
    job = NULL; /* taken over */
    HS_ENSURE_MSG(done.status != SVC_SSHKEY_FAILED || !api_keygen_transient(done.error), done.error,
                  "key generation %s failed for now (%s); SQS retries it", id,
                  hs_code_name(done.error));
    return api_keygen_store(kg, id, &done, now, expires);
}

/* --- start ---------------------------------------------------------------------------------- */

HS_RESULT api_keygen_start(struct api_service *svc)
{
    HS_ENSURE_REF(svc);
    const struct api_config *cfg = svc->cfg;
    if (cfg->ssh_keygen_queue_url == NULL) {
        return HS_OK;
    }
    HS_ENSURE_MSG(cfg->inventory.backend == ST_BACKEND_DYNAMODB, HS_ERR_INPUT_CONFIG,
                  "ssh.keygen.queue_url needs the DynamoDB inventory");
    HS_DEFER(struct api_keygen *kg = OPENSSL_zalloc(sizeof(*kg)), api_keygen_freep);
    HS_ENSURE(kg != NULL, HS_ERR_NOMEM);
    struct aws_sqs_config q = {
        .region = cfg->ssh_keygen_sqs_region != NULL ? cfg->ssh_keygen_sqs_region
                                                     : cfg->inventory.dynamodb.region,
        .endpoint = cfg->ssh_keygen_sqs_endpoint,
        .queue = cfg->ssh_keygen_queue_url,
        .timeout_ms = API_KEYGEN_SQS_TIMEOUT_MS,
    };
    HS_GUARD(hs_error_context(aws_sqs_open(&q, &kg->q), "ssh.keygen.queue_url"));
    HS_GUARD(hs_error_context(st_inventory_open(&cfg->inventory, &kg->inv), "inventory"));
    struct svc_sshkey_backend b = {.self = kg,
                                   .submit = api_keygen_submit,
                                   .poll = api_keygen_poll,
                                   .free = api_keygen_free,
                                   .result_ttl_s = cfg->ssh_keygen.result_ttl_s};
    HS_GUARD(svc_sshkey_set_backend(svc->svc, &b));
    svc->keygen = kg;
    kg = NULL; /* svc_ctx_free frees it through b.free */
    svc->sqs_consume = api_keygen_consume;
    hs_log(HS_LOG_INFO, "ssh.keygen.aws", HS_LOG_STR("queue", cfg->ssh_keygen_queue_url));
    return HS_OK;
}
