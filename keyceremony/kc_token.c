#include "common/hs_defer.h"
#include "common/hs_secret.h"
#include "keyceremony/internal.h"
#include "pkcs11/p11_token.h"

HS_RESULT kc_run_init_token(const struct kc_config *cfg)
{
    HS_DEFER(struct hs_secret *so_pin = NULL, hs_secret_freep);
    HS_DEFER(struct hs_secret *pin = NULL, hs_secret_freep);
    HS_GUARD(hs_secret_from_file(cfg->so_pin_file, HS_SECRET_MAX, &so_pin));
    HS_GUARD(p11_token_config_pin(&cfg->token, &pin));
    HS_DEFER(struct p11_module *m = NULL, p11_module_freep);
    HS_GUARD(p11_module_load(cfg->token.module, &m));
    HS_GUARD(p11_token_init(m, cfg->token.label, so_pin, pin));
    return kc_transcript(cfg, NULL, &(struct kc_record){.event = "token initialised"});
}

HS_RESULT kc_plan_init_token(const struct kc_config *cfg)
{
    kc_plan_line("initialise the first uninitialised slot of %s as token \"%s\"", cfg->token.module,
                 cfg->token.label);
    kc_plan_line("SO PIN from %s; user PIN from %s", cfg->so_pin_file,
                 cfg->token.pin_file != NULL  ? cfg->token.pin_file
                 : cfg->token.pin_env != NULL ? "the environment"
                                              : "a prompt");
    kc_plan_line("refused if a token with this label exists");
    return HS_OK;
}
