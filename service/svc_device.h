/*
 * svc_device: a device that authenticates with an mTLS client certificate this service issued.
 * The certificate is accepted only if this CA issued it (RFC 5280 path validation under
 * X509_V_FLAG_X509_STRICT), it allows clientAuth, the inventory holds exactly this certificate
 * (same SHA-256) and it is not revoked. Its principal is "x509:" + the subject (RFC 4514,
 * "x509:CN=device-42"), or "x509:serial=<hex>" for an empty subject.
 */
#ifndef SVC_DEVICE_H
#define SVC_DEVICE_H

#include "common/hs_err.h"
#include "service/svc_ctx.h"
#include "signer/sgn_jwt.h"
#include "store/st_inventory.h"

#define SVC_DEVICE_CERT_PEM_MAX 16384 /* bytes of a client certificate PEM */

/* An authenticated device. */
struct svc_device {
    char principal[ST_INV_PRINCIPAL_MAX + 1];
    /* base64url SHA-256 of the certificate's DER (RFC 8705 §3.1 x5t#S256) */
    char x5t_s256[SGN_KID_LEN + 1];
    char serial_hex[ST_INV_SERIAL_MAX + 1]; /* lowercase hex */
};

/* Verifies the client certificate pem (NUL-terminated, at most SVC_DEVICE_CERT_PEM_MAX bytes) as
 * above and fills out. Errors: HS_ERR_AUTH_CERTIFICATE (not PEM X.509, not ours, not for
 * clientAuth, not in the inventory, different from the one recorded, revoked), HS_ERR_IO /
 * HS_ERR_STORE from the inventory, HS_ERR_CRYPTO, HS_ERR_NOMEM. out is written only on
 * success. */
HS_RESULT svc_device_verify(struct svc_ctx *ctx, const char *pem, struct svc_device *out);

#endif /* SVC_DEVICE_H */
