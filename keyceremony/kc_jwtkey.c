#include <string.h>

#include "hs_defer.h"
#include "hs_file.h"
#include "hs_json.h"
#include "internal.h"
#include "sgn_jwt.h"

hs_result kc_run_jwt_key(const struct kc_config *cfg)
{
    HS_DEFER(struct kc_session s = {0}, kc_session_close);
    HS_GUARD(kc_session_open(&cfg->token, &s));
    HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
    HS_GUARD(kc_key_create(&s, &cfg->key, &key));
    HS_DEFER(struct sgn_jwt_key *jk = NULL, sgn_jwt_key_freep);
    HS_GUARD(sgn_jwt_key_new(key, cfg->jwt_alg, &jk));
    HS_DEFER(json_object *jwk = NULL, hs_json_putp);
    HS_GUARD(sgn_jwk_new(p11_key_get0_public(key), sgn_jwt_key_alg(jk), &jwk));
    HS_DEFER(char *text = NULL, hs_free_strp);
    HS_GUARD(hs_json_to_string(jwk, &text));
    HS_GUARD(hs_file_write_new(cfg->jwk_output, text, strlen(text), 0644));
    return kc_transcript(cfg, &s, key, NULL, cfg->jwk_output);
}
