/*
 * p11_config: the "token" block every configuration shares, and opening it.
 *
 *   "token": {"module": "/usr/lib/softhsm/libsofthsm2.so", "label": "hsmsign-dev",
 *             "pin_file": "var/softhsm/user.pin", "pool_size": 4, "wait_ms": 5000,
 *             "idle_check_seconds": 60, "throttle_deadline_ms": 2000}
 *
 * Exactly one of pin_file (a 0600 file) and pin_env (the name of an environment variable) says
 * where the user PIN is; the PIN itself never appears in a config, a command line or a log.
 * CloudHSM's PIN has the form "CU_user:password".
 */
#ifndef P11_CONFIG_H
#define P11_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "common/hs_err.h"
#include "common/hs_secret.h"
#include "pkcs11/p11_module.h"
#include "pkcs11/p11_pool.h"
#include "pkcs11/p11_sched.h"

#define P11_CONFIG_PATH_MAX 1024

struct p11_token_config {
    const char *module;   /* path of the PKCS#11 module */
    const char *label;    /* token label, at most 32 bytes */
    const char *pin_file; /* at most one of pin_file / pin_env ... */
    const char *pin_env;
    bool pin_prompt;           /* ... and when neither: prompt on the terminal (if allowed) */
    size_t pool_size;          /* 0 = default (p11_pool_default_size()) */
    unsigned int wait_ms;      /* 0 = default (5000) */
    unsigned int idle_check_s; /* 0 = default (60) */
    unsigned int throttle_deadline_ms;            /* 0 = default (2000) */
    CK_RV throttle_codes[P11_THROTTLE_CODES_MAX]; /* "throttle_codes", when throttle_codes_set */
    size_t nthrottle_codes;
    bool throttle_codes_set;
    /* Classes and shares of the pool's scheduler (p11_sched.h); not read from "token": the
     * service fills it (service/svc_sched.h). nclasses 0 = one class. */
    struct p11_sched_config sched;
};

/* Flags for p11_token_config_parse(). */
enum p11_config_flags {
    P11_CONFIG_POOL = 1 << 0,   /* allow the pool settings */
    P11_CONFIG_PROMPT = 1 << 1, /* allow neither pin_file nor pin_env: prompt on the terminal */
};

/* Reads the "token" member of doc. P11_CONFIG_POOL allows "pool_size" (1..P11_POOL_SIZE_MAX),
 * "wait_ms" (1..60000 ms), "idle_check_seconds" (1..3600 s), "throttle_deadline_ms"
 * (1..P11_POOL_THROTTLE_DEADLINE_MAX_MS: how long throttling answers are retried) and
 * "throttle_codes" (an array of at most P11_THROTTLE_CODES_MAX CKR_* names or hex values, as
 * p11_ckr_parse reads them: the answers retried as throttling instead of the built-in set; []
 * retries none; codes of a lost session, login or PIN are refused). Strings are borrowed from doc.
 * Errors: HS_ERR_INPUT_FIELD / HS_ERR_INPUT_RANGE naming the field (and "in \"token\""),
 * HS_ERR_INPUT_NOT_FOUND when the module file does not exist. */
HS_RESULT p11_token_config_parse(json_object *doc, unsigned int flags,
                                 struct p11_token_config *out);

/* Reads the user PIN from the configured file or environment variable, or prompts for it on
 * the terminal without echo (pin_prompt). An environment variable is taken: its value is
 * overwritten and the variable removed (hs_secret_take_env), so call this once per process.
 * The caller frees *out with hs_secret_free(). Errors: HS_ERR_INPUT_CONFIG. */
HS_RESULT p11_token_config_pin(const struct p11_token_config *cfg, struct hs_secret **out);

/* Loads the module, reads the PIN and opens a logged-in pool on the token. The caller frees
 * *out_pool with p11_pool_free() and then *out_module with p11_module_free(). Errors: as
 * p11_module_load(), p11_token_config_pin() and p11_pool_new(). */
HS_RESULT p11_token_open(const struct p11_token_config *cfg, struct p11_module **out_module,
                         struct p11_pool **out_pool);

#endif /* P11_CONFIG_H */
