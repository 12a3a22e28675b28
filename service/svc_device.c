#include "service/svc_device.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "service/internal.h"

static HS_RESULT svc_device_principal(X509 *cert, const char *serial, struct svc_device *out)
{
    char subject[ST_INV_SUBJECT_MAX + 1];
    HS_GUARD(
        hs_error_context(sgn_name_rfc4514(X509_get_subject_name(cert), subject, sizeof(subject)),
                         "client certificate"));
    int n = subject[0] != '\0'
                ? snprintf(out->principal, sizeof(out->principal), "x509:%s", subject)
                : snprintf(out->principal, sizeof(out->principal), "x509:serial=%s", serial);
    HS_ENSURE_MSG(n > 0 && (size_t)n < sizeof(out->principal), HS_ERR_AUTH_CERTIFICATE,
                  "client certificate subject too long");
    return HS_OK;
}

/* The certificate must be exactly one we issued and have not revoked. */
static HS_RESULT svc_device_in_inventory(struct svc_ctx *ctx, X509 *cert,
                                         const unsigned char digest[SHA256_DIGEST_LENGTH],
                                         struct svc_device *out)
{
    HS_GUARD(sgn_cert_serial_hex(cert, out->serial_hex, sizeof(out->serial_hex)));
    struct st_cert_record rec;
    hs_result r = ctx->inventory->ops->get(ctx->inventory, out->serial_hex, &rec);
    if (hs_failed(r) && r.code == HS_ERR_INPUT_NOT_FOUND) {
        HS_BAIL_MSG(HS_ERR_AUTH_CERTIFICATE, "client certificate %s is not in the inventory",
                    out->serial_hex);
    }
    HS_GUARD(r);
    HS_ENSURE_MSG(
        CRYPTO_memcmp(rec.cert_sha256, digest, SHA256_DIGEST_LENGTH) == 0, HS_ERR_AUTH_CERTIFICATE,
        "client certificate %s differs from the one issued with that serial", out->serial_hex);
    HS_ENSURE_MSG(rec.status == ST_CERT_GOOD, HS_ERR_AUTH_CERTIFICATE,
                  "client certificate %s is revoked", out->serial_hex);
    return HS_OK;
}

static HS_RESULT svc_device_verify_into(struct svc_ctx *ctx, const char *pem,
                                        struct svc_device *dev)
{
    HS_DEFER(BIO *bio = BIO_new_mem_buf(pem, -1), hs_bio_freep);
    HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
    HS_DEFER(X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL), hs_x509_freep);
    ERR_clear_error();
    HS_ENSURE_MSG(cert != NULL, HS_ERR_AUTH_CERTIFICATE, "client certificate is not a PEM X.509");
    hs_result r = sgn_issuer_verify_leaf(ctx->issuer, cert);
    if (hs_failed(r)) {
        HS_BAIL_MSG(HS_ERR_AUTH_CERTIFICATE, "client certificate rejected: %s",
                    hs_error_last()->detail);
    }
    int client_ok = X509_check_purpose(cert, X509_PURPOSE_SSL_CLIENT, 0);
    ERR_clear_error();
    HS_ENSURE_MSG(client_ok == 1, HS_ERR_AUTH_CERTIFICATE,
                  "client certificate does not allow clientAuth");
    HS_DEFER(unsigned char *der = NULL, hs_ossl_freep);
    int len = i2d_X509(cert, &der);
    HS_ENSURE(len > 0, HS_ERR_CRYPTO);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    HS_ENSURE(SHA256(der, (size_t)len, digest) != NULL, HS_ERR_CRYPTO);
    HS_GUARD(svc_device_in_inventory(ctx, cert, digest, dev));
    HS_DEFER(struct hs_buf *t = hs_buf_new(SGN_KID_LEN + 1), hs_buf_freep);
    HS_ENSURE(t != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put_b64url(t, digest, sizeof(digest)));
    HS_ENSURE(hs_buf_len(t) == SGN_KID_LEN, HS_ERR_INTERNAL);
    memcpy(dev->x5t_s256, hs_buf_data(t), SGN_KID_LEN);
    dev->x5t_s256[SGN_KID_LEN] = '\0';
    return svc_device_principal(cert, dev->serial_hex, dev);
}

HS_RESULT svc_device_verify(struct svc_ctx *ctx, const char *pem, struct svc_device *out)
{
    HS_ENSURE_REF(ctx);
    HS_ENSURE_REF(pem);
    HS_ENSURE_REF(out);
    HS_ENSURE(strnlen(pem, SVC_DEVICE_CERT_PEM_MAX + 1) <= SVC_DEVICE_CERT_PEM_MAX,
              HS_ERR_AUTH_CERTIFICATE);
    struct svc_device dev;
    memset(&dev, 0, sizeof(dev));
    HS_GUARD(svc_device_verify_into(ctx, pem, &dev));
    *out = dev;
    return HS_OK;
}
