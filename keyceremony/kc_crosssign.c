/*
 * cross-sign: an existing CA certificate's key certified again by another root. The
 * cross-certificate keeps the subject, the public key, the SKI, the pathLenConstraint, the key
 * usage, the EKU and the NameConstraints of the certificate it crosses, so that a relying party
 * can build a path through either root.
 */
#include <time.h>

#include "common/hs_defer.h"
#include "keyceremony/internal.h"
#include "signer/sgn_cert.h"

/* What the cross-certificate copies from the certificate it crosses. */
struct kc_cross {
    X509 *issuer;
    X509 *subject;
    unsigned int key_usage;
    unsigned int eku;
    int path_len;
    STACK_OF(X509_EXTENSION) * extras; /* NameConstraints copy, CRL DP and AIA from config */
};

static void kc_cross_clear(struct kc_cross *x)
{
    X509_free(x->issuer);
    X509_free(x->subject);
    sk_X509_EXTENSION_pop_free(x->extras, X509_EXTENSION_free);
}

/* The subject certificate's key usage and EKU in our terms; anything else is refused. */
static HS_RESULT kc_cross_usages(struct kc_cross *x)
{
    uint32_t ku = X509_get_key_usage(x->subject);
    HS_ENSURE_MSG((ku & ~(uint32_t)(KU_KEY_CERT_SIGN | KU_CRL_SIGN | KU_DIGITAL_SIGNATURE)) == 0,
                  HS_ERR_INPUT_CONFIG, "subject_certificate has key usages cross-sign won't copy");
    x->key_usage = ((ku & KU_KEY_CERT_SIGN) ? SGN_KU_KEY_CERT_SIGN : 0) |
                   ((ku & KU_CRL_SIGN) ? SGN_KU_CRL_SIGN : 0) |
                   ((ku & KU_DIGITAL_SIGNATURE) ? SGN_KU_DIGITAL_SIGNATURE : 0);
    x->eku = 0;
    if (X509_get_extension_flags(x->subject) & EXFLAG_XKUSAGE) {
        uint32_t xku = X509_get_extended_key_usage(x->subject);
        HS_ENSURE_MSG((xku & ~(uint32_t)(XKU_SSL_SERVER | XKU_SSL_CLIENT)) == 0 && xku != 0,
                      HS_ERR_INPUT_CONFIG, "subject_certificate has EKUs cross-sign won't copy");
        x->eku = ((xku & XKU_SSL_SERVER) ? SGN_EKU_SERVER_AUTH : 0) |
                 ((xku & XKU_SSL_CLIENT) ? SGN_EKU_CLIENT_AUTH : 0);
    }
    long path = X509_get_pathlen(x->subject);
    x->path_len = path >= 0 ? (int)path : -1;
    return HS_OK;
}

static HS_RESULT kc_cross_copy_name_constraints(struct kc_cross *x)
{
    int idx = X509_get_ext_by_NID(x->subject, NID_name_constraints, -1);
    if (idx < 0) {
        return HS_OK;
    }
    X509_EXTENSION *copy = X509_EXTENSION_dup(X509_get_ext(x->subject, idx));
    HS_ENSURE(copy != NULL, HS_ERR_NOMEM);
    if (sk_X509_EXTENSION_push(x->extras, copy) <= 0) {
        X509_EXTENSION_free(copy);
        HS_BAIL(HS_ERR_NOMEM);
    }
    return HS_OK;
}

/* Everything checked before the token is opened. */
static HS_RESULT kc_cross_prepare(const struct kc_config *cfg, time_t now, struct kc_cross *x)
{
    HS_GUARD(kc_cert_read(cfg->issuer_cert, &x->issuer));
    HS_GUARD(kc_cert_read(cfg->subject_cert, &x->subject));
    HS_GUARD(hs_error_context(sgn_chain_verify(x->issuer, x->issuer, NULL), "issuer.certificate"));
    HS_GUARD(kc_check_ca(x->issuer, now, now + cfg->cert.validity_days * KC_DAY_S,
                         "issuer.certificate"));
    HS_ENSURE_MSG(X509_check_ca(x->subject) >= 1 && X509_get0_subject_key_id(x->subject) != NULL,
                  HS_ERR_INPUT_CONFIG, "subject_certificate is not a CA certificate with an SKI");
    HS_ENSURE_MSG(
        X509_NAME_cmp(X509_get_subject_name(x->subject), X509_get_subject_name(x->issuer)) != 0,
        HS_ERR_INPUT_CONFIG, "subject_certificate and issuer.certificate are the same CA");
    HS_GUARD(kc_cross_usages(x));
    HS_GUARD(hs_error_context(kc_cert_extras(&cfg->cert, &x->extras), "certificate"));
    return kc_cross_copy_name_constraints(x);
}

static struct sgn_cert_template kc_cross_template(const struct kc_config *cfg,
                                                  const struct kc_cross *x, time_t now)
{
    return (struct sgn_cert_template){
        .subject = X509_get_subject_name(x->subject),
        .subject_key = X509_get0_pubkey(x->subject),
        .issuer = x->issuer,
        .not_before = now,
        .not_after = now + cfg->cert.validity_days * KC_DAY_S,
        .ca = true,
        .path_len = x->path_len,
        .key_usage = x->key_usage,
        .eku = x->eku,
        .extra = x->extras,
        .ski = X509_get0_subject_key_id(x->subject),
    };
}

HS_RESULT kc_plan_cross_sign(const struct kc_config *cfg)
{
    time_t now = time(NULL);
    HS_DEFER(struct kc_cross x = {0}, kc_cross_clear);
    HS_GUARD(kc_cross_prepare(cfg, now, &x));
    struct sgn_cert_template t = kc_cross_template(cfg, &x, now);
    kc_plan_line("certify the key of %s again, signed by the key \"%s\" of %s:", cfg->subject_cert,
                 cfg->issuer_key, cfg->issuer_cert);
    kc_plan_template(&t, &cfg->cert);
    if (X509_get_ext_by_NID(x.subject, NID_name_constraints, -1) >= 0) {
        kc_plan_line("nameConstraints (critical): copied from the subject certificate");
    }
    kc_plan_line("write %s (new file, 0644)", cfg->cert.output);
    return HS_OK;
}

HS_RESULT kc_run_cross_sign(const struct kc_config *cfg)
{
    time_t now = time(NULL);
    HS_DEFER(struct kc_cross x = {0}, kc_cross_clear);
    HS_GUARD(kc_cross_prepare(cfg, now, &x));
    HS_DEFER(struct kc_session s = {0}, kc_session_close);
    HS_GUARD(kc_session_open(&cfg->token, &s));
    HS_DEFER(struct p11_key *issuer_key = NULL, p11_key_freep);
    HS_GUARD(kc_issuer_key(&s, cfg->issuer_key, x.issuer, &issuer_key));
    struct sgn_cert_template t = kc_cross_template(cfg, &x, now);
    HS_DEFER(X509 *cert = NULL, hs_x509_freep);
    HS_GUARD(sgn_cert_sign(&t, issuer_key, &cert));
    HS_GUARD(sgn_chain_verify(cert, x.issuer, NULL));
    HS_GUARD(kc_cert_write(cfg->cert.output, cert));
    return kc_transcript(cfg, &s,
                         &(struct kc_record){.key = issuer_key,
                                             .cert = cert,
                                             .output = cfg->cert.output,
                                             .event = "cross-certificate written"});
}
