/*
 * api_auth: who is calling. Three ways in, all deny-by-default:
 *
 *   SigV4        hsmsignd's own HTTP server verifies AWS Signature Version 4 against the
 *                configured access keys (api_sigv4.h); the principal is the key's ARN.
 *   Gateway IAM  API Gateway with AWS_IAM verified SigV4 before the Lambda ran; the principal
 *                is the event's requestContext ARN (api_request.principal).
 *   Client cert  an mTLS client certificate (API Gateway's requestContext.authentication
 *                .clientCert, or a trusted proxy's header: a URL-encoded PEM as nginx's
 *                $ssl_client_escaped_cert or an AWS ALB's X-Amzn-Mtls-Clientcert), which the
 *                service accepts as a device (svc_device.h: issued by this CA, for clientAuth,
 *                in the inventory, not revoked). Its principal is "x509:" + the subject
 *                (RFC 4514, "x509:CN=device-42"), or "x509:serial=<hex>" for an empty subject.
 */
#ifndef API_AUTH_H
#define API_AUTH_H

#include <stdbool.h>

#include "api/api_route.h"
#include "api/api_service.h"
#include "common/hs_err.h"
#include "service/svc_device.h"
#include "signer/sgn_jwt.h"
#include "store/st_inventory.h"

#define API_CLIENT_CERT_PEM_MAX                                                                    \
    SVC_DEVICE_CERT_PEM_MAX /* bytes of a client certificate PEM (decoded) */

enum api_auth_method {
    API_AUTH_SIGV4,
    API_AUTH_GATEWAY_IAM,
    API_AUTH_CLIENT_CERT,
};

/* The authenticated caller of one request. */
struct api_caller {
    enum api_auth_method method;
    char principal[ST_INV_PRINCIPAL_MAX + 1];
    /* API_AUTH_CLIENT_CERT only: base64url SHA-256 of the certificate's DER (RFC 8705 §3.1
     * x5t#S256) and its serial (lowercase hex). */
    char x5t_s256[SGN_KID_LEN + 1];
    char cert_serial[ST_INV_SERIAL_MAX + 1];
};

/* An IAM caller: SigV4 for the HTTP transport, the gateway's principal otherwise. Errors:
 * HS_ERR_AUTH_* (401). */
HS_RESULT api_auth_iam(struct api_service *svc, const struct api_request *req,
                       struct api_caller *out);

/* An IAM caller when the request carries IAM credentials (an Authorization header, or a
 * gateway principal), else a client certificate we issued. Errors: HS_ERR_AUTH_* (401;
 * HS_ERR_AUTH_CERTIFICATE for a certificate that is not ours, not for clientAuth, not in the
 * inventory or revoked), HS_ERR_IO / HS_ERR_STORE from the inventory. */
HS_RESULT api_auth_iam_or_cert(struct api_service *svc, const struct api_request *req,
                               struct api_caller *out);

/* Decodes %XX escapes of an URL-encoded header value (RFC 3986 §2.1) into out (NUL-
 * terminated, at most out_len - 1 bytes). Errors: HS_ERR_INPUT_TOO_LARGE, HS_ERR_INPUT_FIELD
 * for a malformed escape or a NUL byte. */
HS_RESULT api_url_decode(const char *in, char *out, size_t out_len);

/* The first value of header name (ASCII case-insensitive), or NULL. */
const char *api_header_get(const struct api_request *req, const char *name);

/* How many times header name (ASCII case-insensitive) was received. A header that carries an
 * identity (the mTLS proxy's) must come exactly once: a proxy that appends its value after the
 * client's would otherwise let the client's copy win (RFC 9110 §5.3 allows repeating only
 * list-valued fields). */
size_t api_header_count(const struct api_request *req, const char *name);

#endif /* API_AUTH_H */
