/*
 * svc_sched: the service's signature classes and their shares of the token.
 *
 * Every token operation runs in one class: certificate (X.509 issuance), token (JWT), ssh (SSH
 * certificates and key generation), crl (CRLs and KRLs) and background (everything else: key
 * lookups at start, health checks that reach the token, anything with no class set). The pool's
 * scheduler (pkcs11/p11_sched.h) shares the token's in-flight slots between them by weight.
 * The config member, all optional (docs/config.md "scheduler"):
 *
 *   "scheduler": {"shares": {"certificate": 50, "token": 25, "ssh": 15, "crl": 5,
 *                            "background": 5},
 *                 "max_queue": 64, "queue_timeout_ms": 2000, "limit_growth_ms": 25}
 *
 * A share is 1..P11_SCHED_WEIGHT_MAX (a weight: only the ratios matter); max_queue (callers of
 * one class waiting for a slot, 1..P11_SCHED_QUEUE_MAX) and queue_timeout_ms (how long one
 * waits, 1..P11_SCHED_TIMEOUT_MAX_MS) bound the wait: past either the operation fails with
 * HS_ERR_HSM_OVERLOADED (503 with Retry-After). limit_growth_ms (1..P11_SCHED_GROWTH_MAX_MS)
 * paces the adaptive in-flight limit's growth after throttling (p11_sched_config.growth_ms).
 */
#ifndef SVC_SCHED_H
#define SVC_SCHED_H

#include <stddef.h>

#include <json-c/json.h>

#include "common/hs_err.h"
#include "pkcs11/p11_sched.h"

enum svc_class {
    SVC_CLASS_CERTIFICATE,
    SVC_CLASS_TOKEN,
    SVC_CLASS_SSH,
    SVC_CLASS_CRL,
    SVC_CLASS_BACKGROUND,
    SVC_CLASS_COUNT,
};

/* Default shares (svc_sched.c): certificate 50, token 25, ssh 15, crl 5, background 5. */
#define SVC_SCHED_QUEUE_TIMEOUT_DEFAULT_MS 2000U

/* The class's config and metrics name ("certificate", ...); "unknown" out of range. */
const char *svc_class_name(unsigned int cls);

/* Reads the optional "scheduler" member of doc into out (defaults for what is absent; every
 * class present, background the default class). Errors: HS_ERR_INPUT_FIELD (unknown key or
 * class, wrong type), HS_ERR_INPUT_RANGE, each naming the field. */
HS_RESULT svc_sched_config_parse(json_object *doc, struct p11_sched_config *out);

/* Runs the calling thread's token operations in class cls until svc_class_end(previous). */
unsigned int svc_class_begin(enum svc_class cls);
void svc_class_end(unsigned int previous);

#endif /* SVC_SCHED_H */
