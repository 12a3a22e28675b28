/*
 * crl: a CRL signed by a CA key in the token (typically the root revoking an intermediate).
 */
#include <time.h>

#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "keyceremony/internal.h"
#include "signer/sgn_crl.h"

#define KC_CRL_PEM_MAX (16 * 1024 * 1024)

static HS_RESULT kc_crl_prepare(const struct kc_config *cfg, time_t now, X509 **issuer)
{
    HS_DEFER(X509 *cert = NULL, hs_x509_freep);
    HS_GUARD(kc_cert_read(cfg->issuer_cert, &cert));
    HS_ENSURE_MSG(X509_get_key_usage(cert) & KU_CRL_SIGN, HS_ERR_INPUT_CONFIG,
                  "issuer.certificate lacks cRLSign");
    HS_GUARD(kc_check_ca(cert, now, now, "issuer.certificate"));
    *issuer = cert;
    cert = NULL;
    return HS_OK;
}

HS_RESULT kc_plan_crl(const struct kc_config *cfg)
{
    time_t now = time(NULL);
    HS_DEFER(X509 *issuer = NULL, hs_x509_freep);
    HS_GUARD(kc_crl_prepare(cfg, now, &issuer));
    kc_plan_line("issue a CRL signed by the key \"%s\":", cfg->issuer_key);
    kc_plan_name("issuer", X509_get_subject_name(issuer));
    kc_plan_line("cRLNumber: %llu", (unsigned long long)cfg->crl->number);
    kc_plan_time("thisUpdate", now);
    kc_plan_time("nextUpdate", now + cfg->crl->validity_days * KC_DAY_S);
    kc_plan_line("authorityKeyIdentifier: the issuer's subjectKeyIdentifier");
    for (size_t i = 0; i < cfg->crl->n; i++) {
        const struct sgn_crl_entry *e = &cfg->crl->entries[i];
        char at[32];
        sgn_time_rfc3339(e->revoked_at, at);
        kc_plan_line("revoked: serial %s at %s, reason %s", e->serial_hex, at,
                     e->reason == SGN_CRL_REASON_NONE ? "(none)" : sgn_crl_reason_name(e->reason));
    }
    kc_plan_line("write %s (new file, 0644)", cfg->crl->output);
    return HS_OK;
}

HS_RESULT kc_run_crl(const struct kc_config *cfg)
{
    time_t now = time(NULL);
    HS_DEFER(X509 *issuer = NULL, hs_x509_freep);
    HS_GUARD(kc_crl_prepare(cfg, now, &issuer));
    HS_DEFER(struct kc_session s = {0}, kc_session_close);
    HS_GUARD(kc_session_open(&cfg->token, &s));
    HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
    HS_GUARD(kc_issuer_key(&s, cfg->issuer_key, issuer, &key));
    struct sgn_crl_spec spec = {issuer,
                                key,
                                now,
                                now + cfg->crl->validity_days * KC_DAY_S,
                                cfg->crl->number,
                                cfg->crl->entries,
                                cfg->crl->n};
    HS_DEFER(X509_CRL *crl = NULL, hs_x509_crl_freep);
    HS_GUARD(hs_error_context(sgn_crl_sign(&spec, &crl), "crl"));
    HS_DEFER(struct hs_buf *pem = hs_buf_new(KC_CRL_PEM_MAX), hs_buf_freep);
    HS_ENSURE(pem != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_crl_to_pem(crl, pem));
    HS_GUARD(hs_file_write_new(cfg->crl->output, hs_buf_data(pem), hs_buf_len(pem), 0644));
    return kc_transcript(
        cfg, &s,
        &(struct kc_record){
            .key = key, .crl = crl, .output = cfg->crl->output, .event = "CRL written"});
}
