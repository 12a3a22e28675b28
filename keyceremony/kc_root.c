#include <time.h>

#include "common/hs_defer.h"
#include "keyceremony/internal.h"
#include "signer/sgn_cert.h"

/* The root's certificate, as the plan prints it and the run signs it. */
static struct sgn_cert_template kc_root_template(const struct kc_config *cfg, EVP_PKEY *key,
                                                 time_t now)
{
    return (struct sgn_cert_template){
        .subject = cfg->cert.subject,
        .subject_key = key,
        .issuer = NULL,
        .not_before = now,
        .not_after = now + cfg->cert.validity_days * KC_DAY_S,
        .ca = true,
        .path_len = -1,
        .key_usage = SGN_KU_KEY_CERT_SIGN | SGN_KU_CRL_SIGN,
    };
}

HS_RESULT kc_plan_root(const struct kc_config *cfg)
{
    kc_plan_keygen(cfg, &cfg->key);
    struct sgn_cert_template t = kc_root_template(cfg, NULL, time(NULL));
    kc_plan_line("issue a self-signed root certificate, signed by the new key:");
    kc_plan_template(&t, &cfg->cert);
    kc_plan_line("write %s (new file, 0644)", cfg->cert.output);
    return HS_OK;
}

HS_RESULT kc_run_root(const struct kc_config *cfg)
{
    HS_DEFER(struct kc_session s = {0}, kc_session_close);
    HS_GUARD(kc_session_open(&cfg->token, &s));
    HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
    HS_GUARD(kc_key_create(&s, &cfg->key, &key));
    HS_GUARD(kc_transcript(cfg, &s, &(struct kc_record){.key = key, .event = "key generated"}));
    struct sgn_cert_template t = kc_root_template(cfg, p11_key_get0_public(key), time(NULL));
    HS_DEFER(X509 *cert = NULL, hs_x509_freep);
    HS_GUARD(sgn_cert_sign(&t, key, &cert));
    HS_GUARD(sgn_chain_verify(cert, cert, NULL));
    HS_GUARD(kc_cert_write(cfg->cert.output, cert));
    return kc_transcript(
        cfg, &s,
        &(struct kc_record){
            .key = key, .cert = cert, .output = cfg->cert.output, .event = "certificate written"});
}
