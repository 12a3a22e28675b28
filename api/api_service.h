/*
 * api_service: what hsmsignd's front ends hold while they run: the parsed config, the service
 * (service/svc_ctx.h: token, CA, JWT keys, inventory, CRL cache), the SigV4 credentials and the
 * metrics. Built once at start before the first request is answered; shared by all request
 * threads afterwards (the service and metrics are thread-safe; the rest is read-only).
 */
#ifndef API_SERVICE_H
#define API_SERVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "api/api_config.h"
#include "api/api_metrics.h"
#include "api/api_sigv4.h"
#include "common/hs_err.h"
#include "common/hs_secret.h"
#include "service/svc_ctx.h"
#include "service/svc_sshkey.h"

struct api_retired;
struct api_console;

struct api_service {
    /* Held for reading by every request (api_route) and policy decision of a key generation
     * job, for writing by a reload while it swaps the new state in (api_service_reload):
     * requests finish on the state they started with. Writers are preferred (a reload is not
     * starved by a steady load), so no thread takes it for reading twice. */
    pthread_rwlock_t lock;
    bool lock_ready;
    struct api_config *cfg;    /* the current config */
    struct api_retired *old;   /* configs replaced by reloads: kept, as their strings may be lent */
    struct svc_config svc_cfg; /* points into cfg */
    struct svc_ctx *svc;
    struct api_metrics metrics;
    struct hs_secret *secrets[2 * API_ACCESS_KEYS_MAX];
    struct api_sigv4_key sigv4_keys[API_ACCESS_KEYS_MAX];
    struct api_sigv4_config sigv4;
    /* The consumer of SQS messages in Lambda SQS-event mode (api_lambda.h): body[0..body_len)
     * (NUL-terminated, lent for the call) is one message, receive_count how often SQS delivered
     * it (0 when unknown). HS_OK: done with, the message is deleted (also a message that is
     * dropped for good); a failure: redeliver it (transient), and after the queue's
     * maxReceiveCount it goes to the dead-letter queue. NULL when none is configured: every
     * message then fails. */
    HS_MUST_USE hs_result (*sqs_consume)(struct api_service *svc, const char *body, size_t body_len,
                                         unsigned long receive_count);
    struct svc_sshkey_authz sshkey_authz; /* the key generation workers' policy (api_route) */
    struct api_keygen *keygen;   /* the AWS shape's state (api_keygen.h), lent: svc owns it */
    struct api_console *console; /* the files served at /ui/ (api_console.h); NULL = none */
};

/* Opens everything cfg names: reads the SigV4 secrets, then builds the service (svc_ctx_new:
 * module, login, CA and JWT keys, inventory). Takes ownership of cfg (also on failure). Errors:
 * HS_ERR_HSM_*, HS_ERR_INPUT_CONFIG, HS_ERR_CRYPTO, HS_ERR_IO (inventory, secrets). The caller
 * frees *out with api_service_free(). */
HS_RESULT api_service_new(struct api_config *cfg, struct api_service **out);

/* Reloads what can change without a restart from the config file at path (SIGHUP): the policy,
 * auth (the SigV4 access keys, their secret files re-read; mtls), the console's files (console.dir
 * re-read), the JWT keys (jwt: the JWK Set
 * file's content or jwt.keys, issuer, default_alg) and the CA chain file's content (checked
 * against ca.key). Everything new is built and validated off to the side first; then, under the
 * write lock, swapped in. On any failure nothing changes. Other members (listen, token, ca.key,
 * inventory, profiles, token_profiles, limits, ssh) need a restart: a change to one is logged
 * (config.reload.restart_needed) and not applied. Logs config.reload.done or
 * config.reload.failed (with the field and reason). Errors: as api_config_load and
 * svc_ctx_new's for those fields; HS_ERR_INPUT_CONFIG. */
HS_RESULT api_service_reload(struct api_service *svc, const char *path);

/* The read side of svc->lock (api_route, the key generation jobs' policy). */
void api_service_read_lock(struct api_service *svc);
void api_service_read_unlock(struct api_service *svc);

void api_service_free(struct api_service *svc);
void api_service_freep(struct api_service **svc);

#endif /* API_SERVICE_H */
