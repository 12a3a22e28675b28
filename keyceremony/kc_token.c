#include "hs_defer.h"
#include "hs_secret.h"
#include "internal.h"
#include "p11_token.h"

hs_result kc_run_init_token(const struct kc_config *cfg)
{
    HS_DEFER(struct hs_secret *so_pin = NULL, hs_secret_freep);
    HS_DEFER(struct hs_secret *pin = NULL, hs_secret_freep);
    HS_GUARD(hs_secret_from_file(cfg->so_pin_file, HS_SECRET_MAX, &so_pin));
    HS_GUARD(p11_token_config_pin(&cfg->token, &pin));
    HS_DEFER(struct p11_module *m = NULL, p11_module_freep);
    HS_GUARD(p11_module_load(cfg->token.module, &m));
    HS_GUARD(p11_token_init(m, cfg->token.label, so_pin, pin));
    return kc_transcript(cfg, NULL, NULL, NULL, NULL);
}
