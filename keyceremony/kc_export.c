#include <string.h>

#include "hs_buf.h"
#include "hs_defer.h"
#include "hs_file.h"
#include "internal.h"
#include "sgn_cert.h"
#include "sgn_jwt.h"

/* truststore.pem: the intermediate, then the root (the order API Gateway mTLS and
 * `openssl verify -untrusted` expect). */
static hs_result kc_write_truststore(const char *path, const X509 *intermediate, const X509 *root)
{
    HS_DEFER(struct hs_buf *pem = hs_buf_new(2 * SGN_CERT_PEM_MAX), hs_buf_freep);
    HS_ENSURE(pem != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_cert_to_pem(intermediate, pem));
    HS_GUARD(sgn_cert_to_pem(root, pem));
    return hs_file_write_new(path, hs_buf_data(pem), hs_buf_len(pem), 0644);
}

static hs_result kc_write_jwks(const struct kc_config *cfg, struct kc_session *s)
{
    HS_DEFER(struct sgn_jwt_key * keys[SGN_JWT_KEYS_MAX] = {0}, sgn_jwt_key_array_freep);
    HS_GUARD(sgn_jwt_keys_load(s->pool, cfg->jwt_keys, cfg->njwt_keys, keys));
    HS_DEFER(char *jwks = NULL, hs_free_strp);
    HS_GUARD(sgn_jwks_json(keys, cfg->njwt_keys, &jwks));
    return hs_file_write_new(cfg->jwks_output, jwks, strlen(jwks), 0644);
}

hs_result kc_run_export(const struct kc_config *cfg)
{
    HS_DEFER(X509 *root = NULL, hs_x509_freep);
    HS_DEFER(X509 *intermediate = NULL, hs_x509_freep);
    HS_GUARD(kc_cert_read(cfg->root_cert, &root));
    HS_GUARD(kc_cert_read(cfg->intermediate_cert, &intermediate));
    HS_GUARD(sgn_chain_verify(root, root, NULL));
    HS_GUARD(sgn_chain_verify(intermediate, root, NULL));
    HS_DEFER(struct kc_session s = {0}, kc_session_close);
    HS_GUARD(kc_session_open(&cfg->token, &s));
    HS_GUARD(kc_write_jwks(cfg, &s));
    HS_GUARD(kc_transcript(cfg, &s, NULL, NULL, cfg->jwks_output));
    HS_GUARD(kc_write_truststore(cfg->truststore_output, intermediate, root));
    return kc_transcript(cfg, &s, NULL, intermediate, cfg->truststore_output);
}
