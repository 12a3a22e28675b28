#include <time.h>

#include "hs_defer.h"
#include "internal.h"
#include "sgn_cert.h"

#define KC_DAY_S 86400L

hs_result kc_run_root(const struct kc_config *cfg)
{
    HS_DEFER(struct kc_session s = {0}, kc_session_close);
    HS_GUARD(kc_session_open(&cfg->token, &s));
    HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
    HS_GUARD(kc_key_create(&s, &cfg->key, &key));
    HS_GUARD(kc_transcript(cfg, &s, key, NULL, NULL));
    time_t now = time(NULL);
    struct sgn_cert_template t = {
        .subject = cfg->cert.subject,
        .subject_key = p11_key_get0_public(key),
        .issuer = NULL,
        .not_before = now,
        .not_after = now + cfg->cert.validity_days * KC_DAY_S,
        .ca = true,
        .path_len = -1,
        .key_usage = SGN_KU_KEY_CERT_SIGN | SGN_KU_CRL_SIGN,
    };
    HS_DEFER(X509 *cert = NULL, hs_x509_freep);
    HS_GUARD(sgn_cert_sign(&t, key, &cert));
    HS_GUARD(sgn_chain_verify(cert, cert, NULL));
    HS_GUARD(kc_cert_write(cfg->cert.output, cert));
    return kc_transcript(cfg, &s, key, cert, cfg->cert.output);
}
