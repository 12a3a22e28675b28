#include "pkcs11/p11_config.h"

#include <stdio.h>

#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "common/hs_json.h"
#include "pkcs11/p11_error.h"

static HS_RESULT p11_in_token(hs_result r)
{
    return hs_error_context(r, "token");
}

/* "throttle_codes": see p11_token_config_parse. */
static HS_RESULT p11_config_throttle_codes(json_object *obj, struct p11_token_config *t)
{
    json_object *arr = NULL;
    HS_GUARD(hs_json_get_typed(obj, "throttle_codes", false, json_type_array, &arr));
    if (arr == NULL) {
        return HS_OK;
    }
    size_t n = json_object_array_length(arr);
    HS_ENSURE_MSG(n <= P11_THROTTLE_CODES_MAX, HS_ERR_INPUT_RANGE,
                  "\"throttle_codes\": at most %d codes", P11_THROTTLE_CODES_MAX);
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        HS_ENSURE_MSG(json_object_is_type(v, json_type_string), HS_ERR_INPUT_FIELD,
                      "\"throttle_codes\"[%zu]: not a string", i);
        CK_RV rv = 0;
        hs_result r = p11_ckr_parse(json_object_get_string(v), &rv);
        if (hs_failed(r)) {
            return hs_error_context(r, "throttle_codes");
        }
        enum p11_ckr_kind kind = p11_ckr_classify(rv);
        HS_ENSURE_MSG(
            kind == P11_CKR_KIND_THROTTLED || kind == P11_CKR_KIND_FATAL, HS_ERR_INPUT_FIELD,
            "\"throttle_codes\"[%zu]: %s is %s and keeps its own recovery", i, p11_ckr_name(rv),
            kind == P11_CKR_KIND_OK ? "success" : "a lost session, login or PIN");
        t->throttle_codes[i] = rv;
    }
    t->nthrottle_codes = n;
    t->throttle_codes_set = true;
    return HS_OK;
}

HS_RESULT p11_token_config_parse(json_object *doc, unsigned int flags, struct p11_token_config *out)
{
    static const char *const plain[] = {"module", "label", "pin_file", "pin_env", NULL};
    static const char *const pooled[] = {
        "module",         "label",   "pin_file",           "pin_env",
        "pool_size",      "wait_ms", "idle_check_seconds", "throttle_deadline_ms",
        "throttle_codes", NULL};
    json_object *obj = NULL;
    HS_GUARD(hs_json_get_typed(doc, "token", true, json_type_object, &obj));
    HS_GUARD(
        p11_in_token(hs_json_check_keys(obj, (flags & P11_CONFIG_POOL) ? pooled : plain, "token")));
    struct p11_token_config t = {0};
    HS_GUARD(p11_in_token(hs_json_get_string(obj, "module", true, P11_CONFIG_PATH_MAX, &t.module)));
    HS_ENSURE_MSG(hs_file_exists(t.module), HS_ERR_INPUT_NOT_FOUND,
                  "token.module: %s does not exist", t.module);
    HS_GUARD(p11_in_token(hs_json_get_string(obj, "label", true, 32, &t.label)));
    HS_GUARD(
        p11_in_token(hs_json_get_string(obj, "pin_file", false, P11_CONFIG_PATH_MAX, &t.pin_file)));
    HS_GUARD(p11_in_token(hs_json_get_string(obj, "pin_env", false, 128, &t.pin_env)));
    HS_ENSURE_MSG(t.pin_file == NULL || t.pin_env == NULL, HS_ERR_INPUT_FIELD,
                  "token: \"pin_file\" and \"pin_env\" exclude each other");
    t.pin_prompt = t.pin_file == NULL && t.pin_env == NULL;
    HS_ENSURE_MSG(!t.pin_prompt || (flags & P11_CONFIG_PROMPT), HS_ERR_INPUT_FIELD,
                  "token: one of \"pin_file\" and \"pin_env\" is required");
    int64_t size = 0;
    int64_t wait = 0;
    HS_GUARD(
        p11_in_token(hs_json_get_int(obj, "pool_size", false, 1, P11_POOL_SIZE_MAX, 0, &size)));
    HS_GUARD(p11_in_token(hs_json_get_int(obj, "wait_ms", false, 1, 60000, 0, &wait)));
    int64_t idle = 0;
    HS_GUARD(p11_in_token(hs_json_get_int(obj, "idle_check_seconds", false, 1, 3600, 0, &idle)));
    int64_t throttle = 0;
    HS_GUARD(p11_in_token(hs_json_get_int(obj, "throttle_deadline_ms", false, 1,
                                          P11_POOL_THROTTLE_DEADLINE_MAX_MS, 0, &throttle)));
    t.throttle_deadline_ms = (unsigned int)throttle;
    HS_GUARD(p11_in_token(p11_config_throttle_codes(obj, &t)));
    t.pool_size = (size_t)size;
    t.wait_ms = (unsigned int)wait;
    t.idle_check_s = (unsigned int)idle;
    *out = t;
    return HS_OK;
}

HS_RESULT p11_token_config_pin(const struct p11_token_config *cfg, struct hs_secret **out)
{
    HS_ENSURE_REF(cfg);
    if (cfg->pin_file != NULL) {
        return hs_secret_from_file(cfg->pin_file, HS_SECRET_MAX, out);
    }
    if (cfg->pin_env != NULL) {
        /* Read once at start (the pool keeps its copy for logins): then gone. */
        return hs_secret_take_env(cfg->pin_env, HS_SECRET_MAX, out);
    }
    HS_ENSURE(cfg->pin_prompt, HS_ERR_INPUT_CONFIG);
    char prompt[96];
    /* A token label is at most 32 bytes, so the prompt is never truncated. */
    (void)snprintf(prompt, sizeof(prompt), "User PIN for token \"%s\": ", cfg->label);
    return hs_secret_from_tty(prompt, HS_SECRET_MAX, out);
}

HS_RESULT p11_token_open(const struct p11_token_config *cfg, struct p11_module **out_module,
                         struct p11_pool **out_pool)
{
    HS_ENSURE_REF(cfg);
    HS_DEFER(struct hs_secret *pin = NULL, hs_secret_freep);
    HS_GUARD(p11_token_config_pin(cfg, &pin));
    HS_DEFER(struct p11_module *m = NULL, p11_module_freep);
    HS_GUARD(p11_module_load(cfg->module, &m));
    struct p11_pool_config pc = {.token_label = cfg->label,
                                 .pin = pin,
                                 .size = cfg->pool_size,
                                 .wait_ms = cfg->wait_ms,
                                 .idle_check_s = cfg->idle_check_s,
                                 .throttle_deadline_ms = cfg->throttle_deadline_ms,
                                 .throttle_codes = cfg->throttle_codes,
                                 .nthrottle_codes = cfg->nthrottle_codes,
                                 .throttle_codes_set = cfg->throttle_codes_set,
                                 .sched = cfg->sched.nclasses != 0 ? &cfg->sched : NULL};
    HS_DEFER(struct p11_pool *pool = NULL, p11_pool_freep);
    HS_GUARD(p11_pool_new(m, &pc, &pool));
    *out_pool = pool;
    pool = NULL;
    *out_module = m;
    m = NULL;
    return HS_OK;
}
