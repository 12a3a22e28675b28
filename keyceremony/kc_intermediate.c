#include <time.h>

#include "hs_defer.h"
#include "internal.h"
#include "p11_sign.h"
#include "sgn_cert.h"

#define KC_DAY_S 86400L

/* Everything about the root that can be checked before the token is opened: a self-signed CA
 * whose validity covers the intermediate's whole lifetime. */
static hs_result kc_root_check(const struct kc_config *cfg, X509 *root, time_t now)
{
    HS_GUARD(sgn_chain_verify(root, root, NULL));
    HS_ENSURE_MSG(X509_check_ca(root) >= 1, HS_ERR_INPUT_CONFIG,
                  "issuer.certificate: %s is not a CA certificate", cfg->issuer_cert);
    time_t root_na = 0;
    HS_GUARD(sgn_asn1_time_to_epoch(X509_get0_notAfter(root), &root_na));
    HS_ENSURE_MSG(now + cfg->cert.validity_days * KC_DAY_S <= root_na, HS_ERR_INPUT_RANGE,
                  "certificate.validity_days: %ld days would outlive the root's notAfter",
                  cfg->cert.validity_days);
    return HS_OK;
}

hs_result kc_run_intermediate(const struct kc_config *cfg)
{
    time_t now = time(NULL);
    HS_DEFER(X509 *root = NULL, hs_x509_freep);
    HS_GUARD(kc_cert_read(cfg->issuer_cert, &root));
    HS_GUARD(kc_root_check(cfg, root, now));
    HS_DEFER(struct kc_session s = {0}, kc_session_close);
    HS_GUARD(kc_session_open(&cfg->token, &s));
    HS_DEFER(struct p11_key *root_key = NULL, p11_key_freep);
    HS_GUARD(p11_key_find(s.pool, cfg->issuer_key, &root_key));
    HS_ENSURE_MSG(EVP_PKEY_eq(X509_get0_pubkey(root), p11_key_get0_public(root_key)) == 1,
                  HS_ERR_INPUT_CONFIG, "issuer.key does not belong to issuer.certificate");
    HS_GUARD(p11_sign_check_key(root_key, p11_sig_alg_default(p11_key_type(root_key))));
    HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
    HS_GUARD(kc_key_create(&s, &cfg->key, &key));
    HS_GUARD(kc_transcript(cfg, &s, key, NULL, NULL));
    struct sgn_cert_template t = {
        .subject = cfg->cert.subject,
        .subject_key = p11_key_get0_public(key),
        .issuer = root,
        .not_before = now,
        .not_after = now + cfg->cert.validity_days * KC_DAY_S,
        .ca = true,
        .path_len = cfg->cert.path_len,
        .key_usage = SGN_KU_KEY_CERT_SIGN | SGN_KU_CRL_SIGN,
    };
    HS_DEFER(X509 *cert = NULL, hs_x509_freep);
    HS_GUARD(sgn_cert_sign(&t, root_key, &cert));
    HS_GUARD(sgn_chain_verify(cert, root, NULL));
    HS_GUARD(kc_cert_write(cfg->cert.output, cert));
    return kc_transcript(cfg, &s, key, cert, cfg->cert.output);
}
