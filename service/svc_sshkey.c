#include "service/svc_sshkey.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sodium.h>

#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "common/hs_log.h"
#include "common/hs_sshkey.h"
#include "service/internal.h"

#define SVC_SSHKEY_JOB_DEPTH 4
#define SVC_SSHKEY_RECIPIENT_B64 44 /* base64 of 32 bytes, padded */
#define SVC_SSHKEY_TIME_MAX 253402300799LL
#define SVC_SSHKEY_TTL_SECONDS_MAX 2147483647LL
#define SVC_SSHKEY_REAP_S 1 /* the workers look for expired entries this often, seconds */

/* --- key types and ids ------------------------------------------------------------------------ */

static const struct {
    const char *name;
    enum svc_sshkey_key_type type;
    enum hs_sshkey_type hs;
} svc_sshkey_types[] = {
    {"ed25519", SVC_SSHKEY_ED25519, HS_SSHKEY_ED25519},
    {"rsa-2048", SVC_SSHKEY_RSA_2048, HS_SSHKEY_RSA_2048},
    {"rsa-4096", SVC_SSHKEY_RSA_4096, HS_SSHKEY_RSA_4096},
};

#define SVC_SSHKEY_NTYPES (sizeof(svc_sshkey_types) / sizeof(svc_sshkey_types[0]))

HS_RESULT svc_sshkey_key_type_parse(const char *name, enum svc_sshkey_key_type *out)
{
    HS_ENSURE_MSG(name != NULL, HS_ERR_INPUT_FIELD, "field \"key_type\" is required");
    for (size_t k = 0; k < SVC_SSHKEY_NTYPES; k++) {
        if (strcmp(name, svc_sshkey_types[k].name) == 0) {
            *out = svc_sshkey_types[k].type;
            return HS_OK;
        }
    }
    HS_BAIL_MSG(HS_ERR_INPUT_FIELD,
                "field \"key_type\" must be \"ed25519\", \"rsa-2048\" or \"rsa-4096\"");
}

static const char *svc_sshkey_type_name(enum svc_sshkey_key_type type)
{
    for (size_t k = 0; k < SVC_SSHKEY_NTYPES; k++) {
        if (svc_sshkey_types[k].type == type) {
            return svc_sshkey_types[k].name;
        }
    }
    return "?";
}

static HS_RESULT svc_sshkey_hs_type(enum svc_sshkey_key_type type, enum hs_sshkey_type *out)
{
    for (size_t k = 0; k < SVC_SSHKEY_NTYPES; k++) {
        if (svc_sshkey_types[k].type == type) {
            *out = svc_sshkey_types[k].hs;
            return HS_OK;
        }
    }
    HS_BAIL(HS_ERR_INTERNAL);
}

HS_RESULT svc_sshkey_id_check(const char *id, size_t n)
{
    HS_ENSURE_MSG(id != NULL && n == SVC_SSHKEY_ID_LEN, HS_ERR_INPUT_FIELD,
                  "a request id is 32 lowercase hex digits");
    for (size_t k = 0; k < n; k++) {
        HS_ENSURE_MSG((id[k] >= '0' && id[k] <= '9') || (id[k] >= 'a' && id[k] <= 'f'),
                      HS_ERR_INPUT_FIELD, "a request id is 32 lowercase hex digits");
    }
    return HS_OK;
}

/* --- the job's JSON --------------------------------------------------------------------------- */

void svc_sshkey_job_free(struct svc_sshkey_job *job)
{
    if (job == NULL) {
        return;
    }
    json_object_put(job->doc);
    OPENSSL_cleanse(job, sizeof(*job));
    OPENSSL_free(job);
}

void svc_sshkey_job_freep(struct svc_sshkey_job **job)
{
    svc_sshkey_job_free(*job);
}

/* An array of 1..max_n (min_n 0 allows none) strings of 1..max_len bytes without NUL bytes. */
static HS_RESULT svc_sshkey_strings(json_object *arr, const char *key, size_t min_n, size_t max_n,
                                    size_t max_len, const char **out, size_t *n)
{
    size_t len = json_object_array_length(arr);
    HS_ENSURE_MSG(len >= min_n && len <= max_n, HS_ERR_INPUT_FIELD,
                  "field \"%s\" must list %zu..%zu entries", key, min_n, max_n);
    for (size_t i = 0; i < len; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        HS_ENSURE_MSG(json_object_is_type(v, json_type_string), HS_ERR_INPUT_FIELD,
                      "field \"%s\" must be an array of strings", key);
        const char *s = json_object_get_string(v);
        size_t slen = (size_t)json_object_get_string_len(v);
        HS_ENSURE_MSG(slen > 0 && slen <= max_len && strlen(s) == slen, HS_ERR_INPUT_FIELD,
                      "an entry of \"%s\" must be 1..%zu bytes without NUL", key, max_len);
        out[i] = s;
    }
    *n = len;
    return HS_OK;
}

/* Standard base64 of exactly SVC_SSHKEY_RECIPIENT_LEN bytes (44 characters, one '='). */
static HS_RESULT svc_sshkey_recipient_decode(const char *s, unsigned char out[32])
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strnlen(s, SVC_SSHKEY_RECIPIENT_B64 + 1);
    bool ok = n == SVC_SSHKEY_RECIPIENT_B64 && s[n - 1] == '=';
    for (size_t k = 0; ok && k + 1 < n; k++) {
        ok = s[k] != '\0' && strchr(alphabet, s[k]) != NULL;
    }
    unsigned char raw[SVC_SSHKEY_RECIPIENT_LEN + 1];
    ok = ok && EVP_DecodeBlock(raw, (const unsigned char *)s, (int)n) == (int)sizeof(raw);
    HS_ENSURE_MSG(ok, HS_ERR_INPUT_FIELD,
                  "field \"recipient\" must be the base64 of a 32-byte X25519 public key");
    memcpy(out, raw, SVC_SSHKEY_RECIPIENT_LEN);
    return HS_OK;
}

/* The certificate request's members (as POST /v1/ssh/certificates names them). */
static HS_RESULT svc_sshkey_request_decode(json_object *doc, struct svc_ssh_request *r)
{
    const char *type = NULL;
    HS_GUARD(hs_json_get_string(doc, "cert_type", true, 8, &type));
    HS_ENSURE_MSG(strcmp(type, "user") == 0 || strcmp(type, "host") == 0, HS_ERR_INPUT_FIELD,
                  "field \"cert_type\" must be \"user\" or \"host\"");
    r->type = strcmp(type, "host") == 0 ? SGN_SSH_CERT_HOST : SGN_SSH_CERT_USER;
    json_object *arr = NULL;
    HS_GUARD(hs_json_get_typed(doc, "principals", true, json_type_array, &arr));
    HS_GUARD(svc_sshkey_strings(arr, "principals", 1, SGN_SSH_PRINCIPALS_MAX, SGN_SSH_PRINCIPAL_MAX,
                                r->principals, &r->nprincipals));
    HS_GUARD(hs_json_get_typed(doc, "extensions", false, json_type_array, &arr));
    r->extensions_given = arr != NULL;
    if (arr != NULL) {
        HS_GUARD(svc_sshkey_strings(arr, "extensions", 0, SGN_SSH_EXTENSIONS_MAX,
                                    SGN_SSH_EXTENSION_NAME_MAX, r->extensions, &r->nextensions));
    }
    json_object *ttl = NULL;
    HS_GUARD(hs_json_get_typed(doc, "ttl_seconds", false, json_type_int, &ttl));
    r->has_ttl = ttl != NULL;
    HS_GUARD(
        hs_json_get_int(doc, "ttl_seconds", false, 1, SVC_SSHKEY_TTL_SECONDS_MAX, 0, &r->ttl_s));
    HS_GUARD(hs_json_get_string(doc, "key_id", false, SGN_SSH_KEY_ID_MAX, &r->key_id));
    /* svc_ssh_issue's rule, checked here so a bad key id is refused at once, not by the job
     * (it is also the private key file's comment). */
    for (const char *c = r->key_id; c != NULL && *c != '\0'; c++) {
        HS_ENSURE_MSG(*c >= 0x20 && *c < 0x7f, HS_ERR_INPUT_FIELD,
                      "field \"key_id\" must be printable ASCII");
    }
    return svc_ssh_options_decode(doc, r);
}

static HS_RESULT svc_sshkey_job_fields(json_object *doc, struct svc_sshkey_job *job)
{
    static const char *const allowed[] = {
        "v",          "request_id",  "caller",  "key_type",   "cert_type",
        "principals", "ttl_seconds", "key_id",  "extensions", "critical_options",
        "recipient",  "created",     "expires", NULL};
    HS_GUARD(hs_json_check_keys(doc, allowed, "job"));
    int64_t v = 0;
    HS_GUARD(hs_json_get_int(doc, "v", true, 1, 1, 1, &v));
    const char *s = NULL;
    HS_GUARD(hs_json_get_string(doc, "request_id", true, SVC_SSHKEY_ID_LEN, &s));
    HS_GUARD(hs_error_context(svc_sshkey_id_check(s, strlen(s)), "request_id"));
    memcpy(job->request_id, s, SVC_SSHKEY_ID_LEN + 1);
    HS_GUARD(hs_json_get_string(doc, "caller", true, SVC_SSHKEY_CALLER_MAX, &job->caller));
    HS_GUARD(hs_json_get_string(doc, "key_type", true, 16, &s));
    HS_GUARD(svc_sshkey_key_type_parse(s, &job->key_type));
    HS_GUARD(svc_sshkey_request_decode(doc, &job->req));
    HS_GUARD(hs_json_get_string(doc, "recipient", false, SVC_SSHKEY_RECIPIENT_B64, &s));
    job->has_recipient = s != NULL;
    if (s != NULL) {
        HS_GUARD(svc_sshkey_recipient_decode(s, job->recipient));
    }
    int64_t created = 0;
    int64_t expires = 0;
    HS_GUARD(hs_json_get_int(doc, "created", true, 0, SVC_SSHKEY_TIME_MAX, 0, &created));
    HS_GUARD(hs_json_get_int(doc, "expires", true, 1, SVC_SSHKEY_TIME_MAX, 0, &expires));
    HS_ENSURE_MSG(expires > created, HS_ERR_INPUT_FIELD,
                  "field \"expires\" must come after \"created\"");
    job->created = (time_t)created;
    job->expires = (time_t)expires;
    return HS_OK;
}

HS_RESULT svc_sshkey_job_decode(const char *text, size_t len, struct svc_sshkey_job **out)
{
    HS_ENSURE_REF(text);
    HS_ENSURE_REF(out);
    HS_ENSURE_MSG(len <= SVC_SSHKEY_JOB_MAX, HS_ERR_INPUT_TOO_LARGE, "a job is over %d bytes",
                  SVC_SSHKEY_JOB_MAX);
    HS_DEFER(struct svc_sshkey_job *job = OPENSSL_zalloc(sizeof(*job)), svc_sshkey_job_freep);
    HS_ENSURE(job != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_json_parse_object(text, len, SVC_SSHKEY_JOB_MAX, SVC_SSHKEY_JOB_DEPTH, &job->doc));
    HS_GUARD(svc_sshkey_job_fields(job->doc, job));
    *out = job;
    job = NULL;
    return HS_OK;
}

HS_RESULT svc_sshkey_job_encode(const struct svc_sshkey_job *job, struct hs_buf *out)
{
    HS_ENSURE_REF(job);
    HS_ENSURE_REF(out);
    size_t n = 0;
    const char *s = json_object_to_json_string_length(job->doc, JSON_C_TO_STRING_PLAIN, &n);
    HS_ENSURE(s != NULL, HS_ERR_NOMEM);
    HS_ENSURE(n <= SVC_SSHKEY_JOB_MAX, HS_ERR_BOUNDS);
    return hs_buf_put(out, s, n);
}

static HS_RESULT svc_sshkey_add_string(json_object *obj, const char *key, const char *v)
{
    return v == NULL ? HS_OK : hs_json_add(obj, key, json_object_new_string(v));
}

static HS_RESULT svc_sshkey_job_doc(const char *caller, const struct svc_sshkey_ask *ask,
                                    time_t now, long ttl_s, json_object *doc)
{
    const struct svc_ssh_request *r = ask->req;
    unsigned char raw[SVC_SSHKEY_ID_LEN / 2];
    char id[SVC_SSHKEY_ID_LEN + 1];
    static const char hex[] = "0123456789abcdef";
    HS_GUARD_OSSL(RAND_bytes(raw, sizeof(raw)), HS_ERR_CRYPTO);
    for (size_t k = 0; k < sizeof(raw); k++) {
        id[2 * k] = hex[raw[k] >> 4];
        id[2 * k + 1] = hex[raw[k] & 0x0f];
    }
    id[SVC_SSHKEY_ID_LEN] = '\0';
    HS_GUARD(hs_json_add(doc, "v", json_object_new_int(1)));
    HS_GUARD(hs_json_add(doc, "request_id", json_object_new_string(id)));
    HS_GUARD(svc_sshkey_add_string(doc, "caller", caller));
    HS_GUARD(svc_sshkey_add_string(doc, "key_type", ask->key_type));
    HS_GUARD(
        svc_sshkey_add_string(doc, "cert_type", r->type == SGN_SSH_CERT_HOST ? "host" : "user"));
    HS_GUARD(hs_json_add_strings(doc, "principals", r->principals, r->nprincipals));
    if (r->has_ttl) {
        HS_GUARD(hs_json_add(doc, "ttl_seconds", json_object_new_int64(r->ttl_s)));
    }
    HS_GUARD(svc_sshkey_add_string(doc, "key_id", r->key_id));
    if (r->extensions_given) {
        HS_GUARD(hs_json_add_strings(doc, "extensions", r->extensions, r->nextensions));
    }
    if (r->force_command != NULL || r->source_address != NULL) {
        json_object *opts = json_object_new_object();
        HS_GUARD(hs_json_add(doc, "critical_options", opts));
        HS_GUARD(svc_sshkey_add_string(opts, "force-command", r->force_command));
        HS_GUARD(svc_sshkey_add_string(opts, "source-address", r->source_address));
    }
    HS_GUARD(svc_sshkey_add_string(doc, "recipient", ask->recipient));
    HS_GUARD(hs_json_add(doc, "created", json_object_new_int64((int64_t)now)));
    return hs_json_add(doc, "expires", json_object_new_int64((int64_t)now + ttl_s));
}

HS_RESULT svc_sshkey_job_new(const char *caller, const struct svc_sshkey_ask *ask, time_t now,
                             long ttl_s, struct svc_sshkey_job **out)
{
    HS_ENSURE_REF(caller);
    HS_ENSURE_REF(ask);
    HS_ENSURE_REF(ask->req);
    HS_ENSURE_REF(out);
    HS_ENSURE(ttl_s > 0 && ttl_s <= SVC_SSHKEY_TTL_MAX, HS_ERR_INTERNAL);
    HS_ENSURE_MSG(ask->key_type != NULL, HS_ERR_INPUT_FIELD, "field \"key_type\" is required");
    HS_ENSURE_MSG(!ask->req->has_ttl || ask->req->ttl_s >= 1, HS_ERR_INPUT_RANGE,
                  "field \"ttl_seconds\" must be at least 1");
    HS_DEFER(json_object *doc = json_object_new_object(), hs_json_putp);
    HS_ENSURE(doc != NULL, HS_ERR_NOMEM);
    HS_GUARD(svc_sshkey_job_doc(caller, ask, now, ttl_s, doc));
    /* One set of checks: the job is what its JSON decodes to. */
    size_t n = 0;
    const char *text = json_object_to_json_string_length(doc, JSON_C_TO_STRING_PLAIN, &n);
    HS_ENSURE(text != NULL, HS_ERR_NOMEM);
    return svc_sshkey_job_decode(text, n, out);
}

/* --- running a job ---------------------------------------------------------------------------- */

void svc_sshkey_done_clear(struct svc_sshkey_done *done)
{
    if (done == NULL) {
        return;
    }
    svc_sshkey_job_free(done->job);
    hs_buf_free(done->private_key);
    hs_buf_free(done->sealed_private_key);
    hs_buf_free(done->public_key);
    svc_ssh_result_clear(&done->cert);
    memset(done, 0, sizeof(*done));
}

static void svc_sshkey_done_clearp(struct svc_sshkey_done *done)
{
    svc_sshkey_done_clear(done);
}

/* The sealed box (libsodium crypto_box_seal: an ephemeral X25519 key, XSalsa20-Poly1305) of
 * priv for recipient, in standard base64. */
static HS_RESULT svc_sshkey_seal(const struct hs_buf *priv, const unsigned char *recipient,
                                 struct hs_buf **out)
{
    HS_ENSURE(sodium_init() >= 0, HS_ERR_CRYPTO);
    size_t n = hs_buf_len(priv) + crypto_box_SEALBYTES;
    size_t enc = 4 * ((n + 2) / 3);
    HS_ENSURE(enc < SVC_SSHKEY_SEALED_MAX, HS_ERR_BOUNDS);
    HS_DEFER(struct hs_buf *box = hs_buf_new(n), hs_buf_freep);
    HS_DEFER(struct hs_buf *b64 = hs_buf_new(enc + 1), hs_buf_freep);
    HS_ENSURE(box != NULL && b64 != NULL, HS_ERR_NOMEM);
    unsigned char *p = NULL;
    HS_GUARD(hs_buf_reserve(box, n, &p));
    HS_ENSURE(crypto_box_seal(p, hs_buf_data(priv), hs_buf_len(priv), recipient) == 0,
              HS_ERR_CRYPTO);
    HS_GUARD(hs_buf_commit(box, n));
    HS_GUARD(hs_buf_reserve(b64, enc + 1, &p));
    HS_ENSURE(EVP_EncodeBlock(p, hs_buf_data(box), (int)n) == (int)enc, HS_ERR_CRYPTO);
    HS_GUARD(hs_buf_commit(b64, enc));
    *out = b64;
    b64 = NULL;
    return HS_OK;
}

/* The pair, its private key file and its public line (without a newline). */
static HS_RESULT svc_sshkey_make(const struct svc_sshkey_job *job, struct hs_buf *priv,
                                 struct hs_buf *pub)
{
    enum hs_sshkey_type type = HS_SSHKEY_ED25519;
    HS_GUARD(svc_sshkey_hs_type(job->key_type, &type));
    HS_DEFER(EVP_PKEY *key = NULL, hs_evp_pkey_freep);
    HS_GUARD(hs_sshkey_generate(type, &key));
    const char *comment = job->req.key_id != NULL ? job->req.key_id : job->req.principals[0];
    HS_DEFER(struct hs_buf *line = hs_buf_new(SGN_SSH_LINE_MAX), hs_buf_freep);
    HS_ENSURE(line != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_error_context(hs_sshkey_private_file(key, comment, priv), "key_id"));
    HS_GUARD(hs_sshkey_public_line(key, comment, line));
    HS_ENSURE(hs_buf_len(line) > 1, HS_ERR_INTERNAL);
    return hs_buf_put(pub, hs_buf_data(line), hs_buf_len(line) - 1); /* without its '\n' */
}

static HS_RESULT svc_sshkey_run(struct svc_ctx *ctx, const struct svc_caller *caller,
                                struct svc_sshkey_job **jobp, time_t now,
                                void (*stage)(void *arg, enum svc_sshkey_stage stage),
                                void *stage_arg, struct svc_sshkey_done *out)
{
    HS_ENSURE_REF(ctx);
    HS_ENSURE_REF(caller);
    HS_ENSURE(jobp != NULL && *jobp != NULL, HS_ERR_INTERNAL);
    HS_ENSURE_REF(out);
    struct svc_sshkey_job *job = *jobp;
    HS_ENSURE(caller->principal != NULL && strcmp(caller->principal, job->caller) == 0,
              HS_ERR_INTERNAL);
    if (stage != NULL) {
        stage(stage_arg, SVC_SSHKEY_GENERATING);
    }
    HS_DEFER(struct svc_sshkey_done done = {0}, svc_sshkey_done_clearp);
    done.private_key = hs_buf_new_sensitive(SVC_SSHKEY_PRIVATE_MAX);
    done.public_key = hs_buf_new(SGN_SSH_LINE_MAX);
    HS_ENSURE(done.private_key != NULL && done.public_key != NULL, HS_ERR_NOMEM);
    HS_GUARD(svc_sshkey_make(job, done.private_key, done.public_key));
    if (stage != NULL) {
        stage(stage_arg, SVC_SSHKEY_SIGNING);
    }
    struct svc_ssh_request req = job->req;
    req.public_key = (const char *)hs_buf_data(done.public_key);
    req.public_key_len = hs_buf_len(done.public_key);
    req.now = now;
    HS_GUARD(svc_ssh_issue(ctx, caller, &req, &done.cert));
    if (job->has_recipient) {
        HS_GUARD(svc_sshkey_seal(done.private_key, job->recipient, &done.sealed_private_key));
        hs_buf_free(done.private_key); /* wiped: only the sealed box leaves */
        done.private_key = NULL;
    }
    hs_log(HS_LOG_INFO, "ssh.keygen.generated", HS_LOG_AUDIT, HS_LOG_STR("caller", job->caller),
           HS_LOG_STR("request_id", job->request_id),
           HS_LOG_STR("key_type", svc_sshkey_type_name(job->key_type)),
           HS_LOG_BOOL("sealed", job->has_recipient));
    done.status = SVC_SSHKEY_DONE;
    done.job = job;
    *jobp = NULL;
    *out = done;
    memset(&done, 0, sizeof(done));
    return HS_OK;
}

HS_RESULT svc_sshkey_job_run(struct svc_ctx *ctx, const struct svc_caller *caller,
                             struct svc_sshkey_job **job, time_t now, struct svc_sshkey_done *out)
{
    return svc_sshkey_run(ctx, caller, job, now, NULL, NULL, out);
}

/* --- the embedded queue ----------------------------------------------------------------------- */

struct svc_sshkey_entry {
    struct svc_sshkey_entry *next;
    char request_id[SVC_SSHKEY_ID_LEN + 1];
    char *principal;            /* owned copy: the job is the worker's while it runs */
    struct svc_sshkey_job *job; /* while queued */
    enum svc_sshkey_status status;
    enum svc_sshkey_stage stage;
    bool running;
    time_t expires;
    struct svc_sshkey_done done;
};

struct svc_sshkey_queue {
    struct svc_ctx *ctx;
    struct svc_sshkey_config cfg;
    const struct svc_sshkey_authz *authz;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t threads[SVC_SSHKEY_WORKERS_MAX];
    size_t nthreads;
    bool stopping;
    struct svc_sshkey_entry *head; /* oldest first */
    size_t nqueued;
    size_t nentries;
};

static void svc_sshkey_entry_free(struct svc_sshkey_entry *e)
{
    if (e == NULL) {
        return;
    }
    svc_sshkey_job_free(e->job);
    svc_sshkey_done_clear(&e->done);
    OPENSSL_free(e->principal);
    OPENSSL_free(e);
}

static void svc_sshkey_entry_freep(struct svc_sshkey_entry **e)
{
    svc_sshkey_entry_free(*e);
}

static const char *svc_sshkey_state_name(const struct svc_sshkey_entry *e)
{
    if (e->status == SVC_SSHKEY_DONE) {
        return "done";
    }
    if (e->status == SVC_SSHKEY_FAILED) {
        return "failed";
    }
    return e->running ? "running" : "queued";
}

/* Unlinks *link's entry, wipes it; lock held. */
static void svc_sshkey_remove(struct svc_sshkey_queue *q, struct svc_sshkey_entry **link)
{
    struct svc_sshkey_entry *e = *link;
    *link = e->next;
    if (e->status == SVC_SSHKEY_PENDING && !e->running) {
        q->nqueued--;
    }
    q->nentries--;
    svc_sshkey_entry_free(e);
}

/* Wipes what is past its time (a running job is looked at when it ends); lock held. */
static void svc_sshkey_reap(struct svc_sshkey_queue *q, time_t now)
{
    struct svc_sshkey_entry **link = &q->head;
    while (*link != NULL) {
        struct svc_sshkey_entry *e = *link;
        if (e->running || now <= e->expires) {
            link = &e->next;
            continue;
        }
        hs_log(HS_LOG_INFO, "ssh.keygen.expired", HS_LOG_STR("request_id", e->request_id),
               HS_LOG_STR("caller", e->principal), HS_LOG_STR("state", svc_sshkey_state_name(e)));
        svc_sshkey_remove(q, link);
    }
}

/* One job being run: whose it is, the front end's authorisation, the denial's reason, and
 * (embedded queue only) the entry whose stage it sets. */
struct svc_sshkey_runner {
    const struct svc_sshkey_authz *authz;
    const char *principal;
    const char *reason;
    struct svc_sshkey_queue *q; /* NULL: no stage to report */
    struct svc_sshkey_entry *e;
};

static void svc_sshkey_stage_set(void *arg, enum svc_sshkey_stage stage)
{
    struct svc_sshkey_runner *w = arg;
    if (w->q == NULL) {
        return;
    }
    pthread_mutex_lock(&w->q->lock);
    w->e->stage = stage;
    pthread_mutex_unlock(&w->q->lock);
}

static HS_RESULT svc_sshkey_authz_ssh(void *arg, const struct svc_ssh_ask *ask,
                                      struct svc_ssh_grant *out)
{
    struct svc_sshkey_runner *w = arg;
    return w->authz->ssh(w->authz->arg, w->principal, ask, out, &w->reason);
}

/* Runs the job as its submitter; a failure becomes a FAILED result with the error the
 * synchronous route would give. */
static void svc_sshkey_complete(struct svc_ctx *ctx, struct svc_sshkey_runner *w,
                                struct svc_sshkey_job *job, time_t now, struct svc_sshkey_done *out)
{
    struct svc_authz authz = {.arg = w, .ssh = svc_sshkey_authz_ssh};
    struct svc_caller caller = {.principal = job->caller, .x5t_s256 = NULL, .authz = &authz};
    char id[SVC_SSHKEY_ID_LEN + 1];
    memcpy(id, job->request_id, sizeof(id));
    w->principal = job->caller;
    hs_log_set_req_id(id);
    hs_error_clear();
    hs_result r = svc_sshkey_run(ctx, &caller, &job, now, svc_sshkey_stage_set, w, out);
    if (hs_failed(r)) {
        const struct hs_error *err = hs_error_last();
        hs_log(HS_LOG_WARN, "ssh.keygen.failed", HS_LOG_STR("request_id", id),
               HS_LOG_STR("caller", job->caller), HS_LOG_STR("policy", w->reason), HS_LOG_ERR());
        memset(out, 0, sizeof(*out));
        out->status = SVC_SSHKEY_FAILED;
        out->job = job;
        out->error = r.code;
        out->reason = hs_code_class(r.code) == HS_CLASS_POLICY ? w->reason : NULL;
        if (hs_code_class(r.code) == HS_CLASS_INPUT) {
            (void)snprintf(out->detail, sizeof(out->detail), "%s", err->detail);
        }
    }
    hs_log_set_req_id(NULL);
}

void svc_sshkey_job_complete(struct svc_ctx *ctx, const struct svc_sshkey_authz *authz,
                             struct svc_sshkey_job *job, time_t now, struct svc_sshkey_done *out)
{
    if (out == NULL) {
        svc_sshkey_job_free(job);
        return;
    }
    if (ctx == NULL || job == NULL || authz == NULL || authz->ssh == NULL) {
        svc_sshkey_job_free(job);
        memset(out, 0, sizeof(*out));
        out->status = SVC_SSHKEY_FAILED;
        out->error = HS_ERR_INTERNAL;
        return;
    }
    struct svc_sshkey_runner w = {authz, NULL, NULL, NULL, NULL};
    svc_sshkey_complete(ctx, &w, job, now, out);
}

static void *svc_sshkey_worker(void *arg)
{
    struct svc_sshkey_queue *q = arg;
    pthread_mutex_lock(&q->lock);
    while (!q->stopping) {
        svc_sshkey_reap(q, time(NULL));
        struct svc_sshkey_entry *e = q->head;
        while (e != NULL && (e->status != SVC_SSHKEY_PENDING || e->running)) {
            e = e->next;
        }
        if (e == NULL) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += SVC_SSHKEY_REAP_S;
            (void)pthread_cond_timedwait(&q->cond, &q->lock, &until);
            continue;
        }
        struct svc_sshkey_job *job = e->job;
        e->job = NULL;
        e->running = true;
        e->stage = SVC_SSHKEY_GENERATING;
        q->nqueued--;
        pthread_mutex_unlock(&q->lock);
        struct svc_sshkey_done done = {0};
        struct svc_sshkey_runner w = {q->authz, NULL, NULL, q, e};
        svc_sshkey_complete(q->ctx, &w, job, time(NULL), &done);
        pthread_mutex_lock(&q->lock);
        e->done = done;
        e->status = done.status;
        e->running = false;
        svc_sshkey_reap(q, time(NULL));
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

static HS_RESULT svc_sshkey_queue_submit(void *self, struct svc_sshkey_job **job, time_t now)
{
    struct svc_sshkey_queue *q = self;
    HS_DEFER(struct svc_sshkey_entry *e = OPENSSL_zalloc(sizeof(*e)), svc_sshkey_entry_freep);
    HS_ENSURE(e != NULL, HS_ERR_NOMEM);
    e->principal = OPENSSL_strdup((*job)->caller);
    HS_ENSURE(e->principal != NULL, HS_ERR_NOMEM);
    memcpy(e->request_id, (*job)->request_id, sizeof(e->request_id));
    e->expires = (*job)->expires;
    e->status = SVC_SSHKEY_PENDING;
    e->stage = SVC_SSHKEY_QUEUED;
    pthread_mutex_lock(&q->lock);
    svc_sshkey_reap(q, now);
    size_t mine = 0;
    struct svc_sshkey_entry **link = &q->head;
    for (; *link != NULL; link = &(*link)->next) {
        mine += strcmp((*link)->principal, e->principal) == 0 ? 1U : 0U;
    }
    bool full = q->stopping || q->nqueued >= (size_t)q->cfg.queue_max ||
                q->nentries >= SVC_SSHKEY_ENTRIES_MAX;
    bool over = mine >= (size_t)q->cfg.pending_per_principal_max;
    if (!full && !over) {
        e->job = *job;
        *job = NULL;
        *link = e;
        e = NULL;
        q->nqueued++;
        q->nentries++;
        pthread_cond_signal(&q->cond);
    }
    pthread_mutex_unlock(&q->lock);
    HS_ENSURE_MSG(!full, HS_ERR_QUEUE_FULL, "the key generation queue is full");
    HS_ENSURE_MSG(!over, HS_ERR_QUEUE_FULL, "the caller has %ld key generations pending",
                  q->cfg.pending_per_principal_max);
    return HS_OK;
}

static HS_RESULT svc_sshkey_queue_poll(void *self, const char *principal, const char *request_id,
                                       time_t now, struct svc_sshkey_poll *out)
{
    struct svc_sshkey_queue *q = self;
    pthread_mutex_lock(&q->lock);
    svc_sshkey_reap(q, now);
    struct svc_sshkey_entry **link = &q->head;
    size_t position = 0;
    while (*link != NULL && strcmp((*link)->request_id, request_id) != 0) {
        bool queued = (*link)->status == SVC_SSHKEY_PENDING && !(*link)->running;
        position += queued ? 1U : 0U;
        link = &(*link)->next;
    }
    struct svc_sshkey_entry *e = *link;
    /* Another principal's request is not found, like a serial it may not see. */
    bool found = e != NULL && strcmp(e->principal, principal) == 0;
    if (found) {
        memset(out, 0, sizeof(*out));
        out->status = e->status;
        out->stage = e->stage;
        out->position = position;
        if (e->status != SVC_SSHKEY_PENDING) {
            out->done = e->done; /* handed out once */
            memset(&e->done, 0, sizeof(e->done));
            svc_sshkey_remove(q, link);
        }
    }
    pthread_mutex_unlock(&q->lock);
    HS_ENSURE_MSG(found, HS_ERR_INPUT_NOT_FOUND, "no such key generation request");
    return HS_OK;
}

static void svc_sshkey_queue_free(void *self)
{
    struct svc_sshkey_queue *q = self;
    if (q == NULL) {
        return;
    }
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    for (size_t k = 0; k < q->nthreads; k++) {
        pthread_join(q->threads[k], NULL);
    }
    while (q->head != NULL) {
        svc_sshkey_remove(q, &q->head);
    }
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->lock);
    OPENSSL_free(q);
}

static HS_RESULT svc_sshkey_config_check(const struct svc_sshkey_config *cfg)
{
    HS_ENSURE_MSG(cfg->workers >= 1 && cfg->workers <= SVC_SSHKEY_WORKERS_MAX, HS_ERR_INPUT_CONFIG,
                  "ssh.keygen.workers: 1..%d", SVC_SSHKEY_WORKERS_MAX);
    HS_ENSURE_MSG(cfg->queue_max >= 1 && cfg->queue_max <= SVC_SSHKEY_QUEUE_MAX,
                  HS_ERR_INPUT_CONFIG, "ssh.keygen.queue_max: 1..%d", SVC_SSHKEY_QUEUE_MAX);
    HS_ENSURE_MSG(cfg->result_ttl_s >= 1 && cfg->result_ttl_s <= SVC_SSHKEY_TTL_MAX,
                  HS_ERR_INPUT_CONFIG, "ssh.keygen.result_ttl_seconds: 1..%d", SVC_SSHKEY_TTL_MAX);
    HS_ENSURE_MSG(cfg->pending_per_principal_max >= 1 &&
                      cfg->pending_per_principal_max <= SVC_SSHKEY_QUEUE_MAX,
                  HS_ERR_INPUT_CONFIG, "ssh.keygen.pending_per_principal_max: 1..%d",
                  SVC_SSHKEY_QUEUE_MAX);
    return HS_OK;
}

HS_RESULT svc_sshkey_set_backend(struct svc_ctx *ctx, const struct svc_sshkey_backend *backend)
{
    HS_ENSURE_REF(ctx);
    HS_ENSURE_REF(backend);
    HS_ENSURE(backend->submit != NULL && backend->poll != NULL && backend->free != NULL,
              HS_ERR_INTERNAL);
    HS_ENSURE(backend->result_ttl_s >= 1 && backend->result_ttl_s <= SVC_SSHKEY_TTL_MAX,
              HS_ERR_INTERNAL);
    HS_ENSURE_MSG(ctx->sshkey.submit == NULL, HS_ERR_INPUT_EXISTS,
                  "an SSH key generation backend is set already");
    ctx->sshkey = *backend;
    return HS_OK;
}

HS_RESULT svc_sshkey_start(struct svc_ctx *ctx, const struct svc_sshkey_config *cfg,
                           const struct svc_sshkey_authz *authz)
{
    HS_ENSURE_REF(ctx);
    HS_ENSURE_REF(cfg);
    HS_ENSURE(authz != NULL && authz->ssh != NULL, HS_ERR_INTERNAL);
    HS_GUARD(svc_sshkey_config_check(cfg));
    HS_ENSURE_MSG(ctx->sshkey.submit == NULL, HS_ERR_INPUT_EXISTS,
                  "an SSH key generation backend is set already");
    HS_ENSURE(sodium_init() >= 0, HS_ERR_CRYPTO);
    struct svc_sshkey_queue *q = OPENSSL_zalloc(sizeof(*q));
    HS_ENSURE(q != NULL, HS_ERR_NOMEM);
    q->ctx = ctx;
    q->cfg = *cfg;
    q->authz = authz;
    if (pthread_mutex_init(&q->lock, NULL) != 0) {
        OPENSSL_free(q);
        HS_BAIL(HS_ERR_INTERNAL);
    }
    if (pthread_cond_init(&q->cond, NULL) != 0) {
        pthread_mutex_destroy(&q->lock);
        OPENSSL_free(q);
        HS_BAIL(HS_ERR_INTERNAL);
    }
    /* From here the context owns the queue: svc_ctx_free() stops what was started. */
    ctx->sshkey = (struct svc_sshkey_backend){q, svc_sshkey_queue_submit, svc_sshkey_queue_poll,
                                              svc_sshkey_queue_free, cfg->result_ttl_s};
    for (long k = 0; k < cfg->workers; k++) {
        HS_ENSURE_MSG(pthread_create(&q->threads[q->nthreads], NULL, svc_sshkey_worker, q) == 0,
                      HS_ERR_INTERNAL, "cannot start an SSH key generation worker");
        q->nthreads++;
    }
    hs_log(HS_LOG_INFO, "ssh.keygen.started", HS_LOG_INT("workers", cfg->workers),
           HS_LOG_INT("queue_max", cfg->queue_max),
           HS_LOG_INT("result_ttl_seconds", cfg->result_ttl_s));
    return HS_OK;
}

void svc_sshkey_stop(struct svc_ctx *ctx)
{
    if (ctx != NULL && ctx->sshkey.free != NULL) {
        ctx->sshkey.free(ctx->sshkey.self);
    }
    if (ctx != NULL) {
        memset(&ctx->sshkey, 0, sizeof(ctx->sshkey));
    }
}

/* --- submit and poll -------------------------------------------------------------------------- */

static HS_RESULT svc_sshkey_backend_of(const struct svc_ctx *ctx)
{
    HS_ENSURE_MSG(ctx->sshkey.submit != NULL, HS_ERR_INPUT_NOT_FOUND,
                  "SSH key generation is not configured (ssh.keygen)");
    return HS_OK;
}

HS_RESULT svc_sshkey_submit(struct svc_ctx *ctx, const struct svc_caller *caller,
                            const struct svc_sshkey_ask *ask, time_t now,
                            char id_out[SVC_SSHKEY_ID_LEN + 1])
{
    HS_ENSURE_REF(ctx);
    HS_ENSURE_REF(caller);
    HS_ENSURE_REF(caller->principal);
    HS_ENSURE_REF(ask);
    HS_ENSURE_REF(id_out);
    HS_GUARD(svc_sshkey_backend_of(ctx));
    HS_DEFER(struct svc_sshkey_job *job = NULL, svc_sshkey_job_freep);
    HS_GUARD(svc_sshkey_job_new(caller->principal, ask, now, ctx->sshkey.result_ttl_s, &job));
    HS_GUARD(svc_ssh_authorize(ctx, caller, &job->req));
    char id[SVC_SSHKEY_ID_LEN + 1];
    memcpy(id, job->request_id, sizeof(id));
    const char *type = svc_sshkey_type_name(job->key_type);
    bool sealed = job->has_recipient;
    HS_GUARD(ctx->sshkey.submit(ctx->sshkey.self, &job, now));
    hs_log(HS_LOG_INFO, "ssh.keygen.queued", HS_LOG_AUDIT, HS_LOG_STR("caller", caller->principal),
           HS_LOG_STR("request_id", id), HS_LOG_STR("key_type", type),
           HS_LOG_BOOL("sealed", sealed));
    memcpy(id_out, id, sizeof(id));
    return HS_OK;
}

HS_RESULT svc_sshkey_poll(struct svc_ctx *ctx, const struct svc_caller *caller,
                          const char *request_id, time_t now, struct svc_sshkey_poll *out)
{
    HS_ENSURE_REF(ctx);
    HS_ENSURE_REF(caller);
    HS_ENSURE_REF(caller->principal);
    HS_ENSURE_REF(request_id);
    HS_ENSURE_REF(out);
    HS_GUARD(svc_sshkey_backend_of(ctx));
    HS_GUARD(svc_sshkey_id_check(request_id, strnlen(request_id, SVC_SSHKEY_ID_LEN + 1)));
    return ctx->sshkey.poll(ctx->sshkey.self, caller->principal, request_id, now, out);
}
