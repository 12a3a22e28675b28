#include "authorizer/au_authz.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "common/hs_buf.h"
#include "common/hs_defer.h"

HS_RESULT au_authz_init(const struct au_config *cfg, struct au_authz *a)
{
    HS_ENSURE_REF(cfg);
    memset(a, 0, sizeof(*a));
    a->cfg = cfg;
    HS_GUARD(au_keys_new(cfg, &a->keys));
    if (cfg->mtls.enabled) {
        HS_GUARD(au_status_new(cfg, &a->status));
    }
    return HS_OK;
}

void au_authz_clear(struct au_authz *a)
{
    au_keys_free(a->keys);
    au_status_free(a->status);
    memset(a, 0, sizeof(*a));
}

/* base64url(SHA-256(DER)) of the certificate (RFC 8705 §3.1) into out. */
static HS_RESULT au_cert_x5t(const X509 *cert, char out[AU_X5T_MAX + 1])
{
    unsigned char *der = NULL;
    int n = i2d_X509(cert, &der);
    HS_ENSURE(n > 0, HS_ERR_CRYPTO);
    HS_DEFER(unsigned char *own = der, hs_ossl_freep);
    unsigned char md[32];
    HS_GUARD_OSSL(EVP_Digest(own, (size_t)n, md, NULL, EVP_sha256(), NULL), HS_ERR_CRYPTO);
    HS_DEFER(struct hs_buf *b = hs_buf_new(AU_X5T_MAX + 1), hs_buf_freep);
    HS_ENSURE(b != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put_b64url(b, md, sizeof(md)));
    const char *s = NULL;
    HS_GUARD(hs_buf_cstr(b, &s));
    memcpy(out, s, hs_buf_len(b) + 1);
    return HS_OK;
}

static enum au_reason au_authz_mtls(struct au_authz *a, const struct au_request *rq,
                                    const struct au_grant *g)
{
    bool bound = g->x5t[0] != '\0';
    if (rq->client_cert_pem == NULL) {
        if (bound) {
            return AU_CNF_MISMATCH;
        }
        return a->cfg->mtls.require_cnf ? AU_CNF_MISSING : AU_OK;
    }
    if (!bound) {
        return AU_CNF_MISSING;
    }
    HS_DEFER(BIO *bio = BIO_new_mem_buf(rq->client_cert_pem, -1), hs_bio_freep);
    HS_DEFER(X509 *cert = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL,
             hs_x509_freep);
    char x5t[AU_X5T_MAX + 1];
    if (cert == NULL || hs_failed(au_cert_x5t(cert, x5t))) {
        hs_error_clear();
        ERR_clear_error();
        return AU_CNF_MISMATCH;
    }
    size_t n = strlen(x5t);
    if (strlen(g->x5t) != n || CRYPTO_memcmp(x5t, g->x5t, n) != 0) {
        return AU_CNF_MISMATCH;
    }
    return a->status != NULL ? au_status_check(a->status, cert, rq->now) : AU_OK;
}

enum au_reason au_authz_decide(struct au_authz *a, const struct au_request *rq,
                               struct au_grant *grant)
{
    memset(grant, 0, sizeof(*grant));
    if (rq->token == NULL) {
        return AU_TOKEN_MISSING;
    }
    HS_DEFER(struct au_jws jws = {0}, au_jws_clear);
    enum au_reason r = au_jws_parse(rq->token, rq->token_len, a->cfg->algorithms, &jws);
    if (r != AU_OK) {
        return r;
    }
    memcpy(grant->kid, jws.kid, sizeof(grant->kid));
    EVP_PKEY *pkey = NULL;
    r = au_keys_find(a->keys, jws.kid, jws.alg, rq->now, &pkey);
    r = r != AU_OK ? r : au_jws_verify(&jws, pkey);
    r = r != AU_OK ? r : au_claims_check(&jws, a->cfg, rq->route, rq->now, grant);
    return r != AU_OK ? r : au_authz_mtls(a, rq, grant);
}
