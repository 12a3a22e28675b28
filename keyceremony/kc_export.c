#include <string.h>

#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "keyceremony/internal.h"
#include "signer/sgn_cert.h"
#include "signer/sgn_jwt.h"

/* truststore.pem: the intermediate, then the root (the order API Gateway mTLS and
 * `openssl verify -untrusted` expect). */
static HS_RESULT kc_write_truststore(const char *path, const X509 *intermediate, const X509 *root)
{
    HS_DEFER(struct hs_buf *pem = hs_buf_new(2 * SGN_CERT_PEM_MAX), hs_buf_freep);
    HS_ENSURE(pem != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_cert_to_pem(intermediate, pem));
    HS_GUARD(sgn_cert_to_pem(root, pem));
    return hs_file_write_new(path, hs_buf_data(pem), hs_buf_len(pem), 0644);
}

static HS_RESULT kc_write_jwks(const struct kc_config *cfg, struct kc_session *s)
{
    HS_DEFER(struct sgn_jwt_key * keys[SGN_JWT_KEYS_MAX] = {0}, sgn_jwt_key_array_freep);
    HS_GUARD(sgn_jwt_keys_load(s->pool, cfg->jwt_keys, cfg->njwt_keys, keys));
    HS_DEFER(char *jwks = NULL, hs_free_strp);
    HS_GUARD(sgn_jwks_json(keys, cfg->njwt_keys, &jwks));
    return hs_file_write_new(cfg->jwks_output, jwks, strlen(jwks), 0644);
}

/* The X.509 half: truststore.pem and jwks.json, after the chain verifies. */
static HS_RESULT kc_export_x509(const struct kc_config *cfg, struct kc_session *s, X509 *root,
                                X509 *intermediate)
{
    HS_GUARD(kc_write_jwks(cfg, s));
    HS_GUARD(kc_transcript(
        cfg, s, &(struct kc_record){.output = cfg->jwks_output, .event = "JWKS written"}));
    HS_GUARD(kc_write_truststore(cfg->truststore_output, intermediate, root));
    return kc_transcript(cfg, s,
                         &(struct kc_record){.cert = intermediate,
                                             .output = cfg->truststore_output,
                                             .event = "truststore written"});
}

static HS_RESULT kc_export_chain(const struct kc_config *cfg, X509 **root, X509 **intermediate)
{
    HS_GUARD(kc_cert_read(cfg->root_cert, root));
    HS_GUARD(kc_cert_read(cfg->intermediate_cert, intermediate));
    HS_GUARD(hs_error_context(sgn_chain_verify(*root, *root, NULL), "root_certificate"));
    return hs_error_context(sgn_chain_verify(*intermediate, *root, NULL),
                            "intermediate_certificate");
}

HS_RESULT kc_run_export(const struct kc_config *cfg)
{
    HS_DEFER(X509 *root = NULL, hs_x509_freep);
    HS_DEFER(X509 *intermediate = NULL, hs_x509_freep);
    if (cfg->has_x509) {
        HS_GUARD(kc_export_chain(cfg, &root, &intermediate));
    }
    HS_DEFER(struct kc_session s = {0}, kc_session_close);
    HS_GUARD(kc_session_open(&cfg->token, &s));
    if (cfg->has_x509) {
        HS_GUARD(kc_export_x509(cfg, &s, root, intermediate));
    }
    return cfg->has_ssh ? kc_ssh_export(cfg, &s) : HS_OK;
}

HS_RESULT kc_plan_export(const struct kc_config *cfg)
{
    if (cfg->has_x509) {
        HS_DEFER(X509 *root = NULL, hs_x509_freep);
        HS_DEFER(X509 *intermediate = NULL, hs_x509_freep);
        HS_GUARD(kc_export_chain(cfg, &root, &intermediate));
        kc_plan_line("write %s: %s, then %s (new file, 0644)", cfg->truststore_output,
                     cfg->intermediate_cert, cfg->root_cert);
        kc_plan_line("write %s (new file, 0644) with the public JWKs of:", cfg->jwks_output);
        for (size_t i = 0; i < cfg->njwt_keys; i++) {
            kc_plan_line("  %s (alg %s; must be a protected key on token \"%s\")",
                         cfg->jwt_keys[i].key,
                         cfg->jwt_keys[i].alg != NULL ? cfg->jwt_keys[i].alg : "key default",
                         cfg->token.label);
        }
    }
    if (cfg->has_ssh) {
        kc_ssh_plan_export(cfg);
    }
    return HS_OK;
}
