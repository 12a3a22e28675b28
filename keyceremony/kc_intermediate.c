#include <time.h>

#include "common/hs_defer.h"
#include "keyceremony/internal.h"
#include "pkcs11/p11_sign.h"
#include "signer/sgn_cert.h"

/* Everything checked before the token is opened: the root is a valid self-signed CA whose
 * validity covers the intermediate's whole lifetime, and a public_key to certify is a CA key
 * type and not the root's own key. *pub is NULL unless the config names public_key. */
static HS_RESULT kc_intermediate_prepare(const struct kc_config *cfg, time_t now, X509 **root,
                                         EVP_PKEY **pub)
{
    HS_DEFER(X509 *cert = NULL, hs_x509_freep);
    HS_GUARD(kc_cert_read(cfg->issuer_cert, &cert));
    HS_GUARD(hs_error_context(sgn_chain_verify(cert, cert, NULL), "issuer.certificate"));
    HS_GUARD(
        kc_check_ca(cert, now, now + cfg->cert.validity_days * KC_DAY_S, "issuer.certificate"));
    *pub = NULL;
    if (cfg->public_key != NULL) {
        HS_GUARD(kc_public_key_read(cfg->public_key, "public_key", pub));
        HS_ENSURE_MSG(EVP_PKEY_eq(*pub, X509_get0_pubkey(cert)) != 1, HS_ERR_INPUT_CONFIG,
                      "public_key is the root's own key");
        ERR_clear_error();
    }
    *root = cert;
    cert = NULL;
    return HS_OK;
}

static struct sgn_cert_template kc_intermediate_template(const struct kc_config *cfg, X509 *root,
                                                         EVP_PKEY *key, time_t now,
                                                         STACK_OF(X509_EXTENSION) * extras)
{
    return (struct sgn_cert_template){
        .subject = cfg->cert.subject,
        .subject_key = key,
        .issuer = root,
        .not_before = now,
        .not_after = now + cfg->cert.validity_days * KC_DAY_S,
        .ca = true,
        .path_len = cfg->cert.path_len,
        .key_usage = SGN_KU_KEY_CERT_SIGN | SGN_KU_CRL_SIGN,
        .eku = cfg->cert.eku,
        .extra = extras,
    };
}

HS_RESULT kc_plan_intermediate(const struct kc_config *cfg)
{
    time_t now = time(NULL);
    HS_DEFER(X509 *root = NULL, hs_x509_freep);
    HS_DEFER(EVP_PKEY *pub = NULL, hs_evp_pkey_freep);
    HS_GUARD(kc_intermediate_prepare(cfg, now, &root, &pub));
    if (pub == NULL) {
        kc_plan_keygen(cfg, &cfg->key);
    } else {
        char spki[65];
        HS_GUARD(kc_spki_sha256_hex(pub, spki));
        kc_plan_line("certify the public key in %s (%s, %d bits), generated on another token",
                     cfg->public_key, EVP_PKEY_get0_type_name(pub), EVP_PKEY_get_bits(pub));
        kc_plan_line("  spki_sha256 %s: compare with that key step's transcript", spki);
    }
    struct sgn_cert_template t = kc_intermediate_template(cfg, root, pub, now, NULL);
    kc_plan_line("issue the intermediate certificate, signed by the root key \"%s\":",
                 cfg->issuer_key);
    kc_plan_template(&t, &cfg->cert);
    kc_plan_line("write %s (new file, 0644)", cfg->cert.output);
    return HS_OK;
}

HS_RESULT kc_run_intermediate(const struct kc_config *cfg)
{
    time_t now = time(NULL);
    HS_DEFER(X509 *root = NULL, hs_x509_freep);
    HS_DEFER(EVP_PKEY *pub = NULL, hs_evp_pkey_freep);
    HS_GUARD(kc_intermediate_prepare(cfg, now, &root, &pub));
    HS_DEFER(STACK_OF(X509_EXTENSION) *extras = NULL, hs_x509_extension_stack_freep);
    HS_GUARD(hs_error_context(kc_cert_extras(&cfg->cert, &extras), "certificate"));
    HS_DEFER(struct kc_session s = {0}, kc_session_close);
    HS_GUARD(kc_session_open(&cfg->token, &s));
    HS_DEFER(struct p11_key *root_key = NULL, p11_key_freep);
    HS_GUARD(kc_issuer_key(&s, cfg->issuer_key, root, &root_key));
    HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
    if (pub == NULL) {
        HS_GUARD(kc_key_create(&s, &cfg->key, &key));
        HS_GUARD(kc_transcript(cfg, &s, &(struct kc_record){.key = key, .event = "key generated"}));
    }
    EVP_PKEY *subject_key = key != NULL ? p11_key_get0_public(key) : pub;
    struct sgn_cert_template t = kc_intermediate_template(cfg, root, subject_key, now, extras);
    HS_DEFER(X509 *cert = NULL, hs_x509_freep);
    HS_GUARD(sgn_cert_sign(&t, root_key, &cert));
    HS_GUARD(sgn_chain_verify(cert, root, NULL));
    HS_GUARD(kc_cert_write(cfg->cert.output, cert));
    return kc_transcript(cfg, &s,
                         &(struct kc_record){.key = key,
                                             .pub = pub,
                                             .cert = cert,
                                             .output = cfg->cert.output,
                                             .event = "certificate written"});
}
