/*
 * api_service: what hsmsignd's front ends hold while they run: the parsed config, the service
 * (service/svc_ctx.h: token, CA, JWT keys, inventory, CRL cache), the SigV4 credentials and the
 * metrics. Built once at start before the first request is answered; shared by all request
 * threads afterwards (the service and metrics are thread-safe; the rest is read-only).
 */
#ifndef API_SERVICE_H
#define API_SERVICE_H

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

struct api_service {
    struct api_config *cfg;
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
    struct api_keygen *keygen; /* the AWS shape's state (api_keygen.h), lent: svc owns it */
};

/* Opens everything cfg names: reads the SigV4 secrets, then builds the service (svc_ctx_new:
 * module, login, CA and JWT keys, inventory). Takes ownership of cfg (also on failure). Errors:
 * HS_ERR_HSM_*, HS_ERR_INPUT_CONFIG, HS_ERR_CRYPTO, HS_ERR_IO (inventory, secrets). The caller
 * frees *out with api_service_free(). */
HS_RESULT api_service_new(struct api_config *cfg, struct api_service **out);

void api_service_free(struct api_service *svc);
void api_service_freep(struct api_service **svc);

#endif /* API_SERVICE_H */
