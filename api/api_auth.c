#include "api/api_auth.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_log.h"
#include "service/svc_device.h"

const char *api_header_get(const struct api_request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->headers[i].name, name) == 0) {
            return req->headers[i].value;
        }
    }
    return NULL;
}

size_t api_header_count(const struct api_request *req, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        n += strcasecmp(req->headers[i].name, name) == 0 ? 1 : 0;
    }
    return n;
}

HS_RESULT api_url_decode(const char *in, char *out, size_t out_len)
{
    HS_ENSURE_REF(in);
    size_t n = 0;
    for (size_t i = 0; in[i] != '\0'; i++) {
        HS_ENSURE(n + 1 < out_len, HS_ERR_INPUT_TOO_LARGE);
        char c = in[i];
        if (c == '%') {
            int hi = OPENSSL_hexchar2int((unsigned char)in[i + 1]);
            int lo = hi >= 0 ? OPENSSL_hexchar2int((unsigned char)in[i + 2]) : -1;
            HS_ENSURE_MSG(lo >= 0 && (hi | lo) != 0, HS_ERR_INPUT_FIELD,
                          "malformed %%-escape in a URL-encoded value");
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return HS_OK;
}

/* Whether req makes a SigV4 attempt (an Authorization header, or presigned-URL parameters,
 * which api_sigv4 refuses by name), or the gateway found an IAM principal. */
static bool api_auth_iam_attempted(const struct api_request *req)
{
    if (req->transport == API_TRANSPORT_GATEWAY) {
        return req->principal != NULL;
    }
    const char *query = strchr(req->target, '?');
    return api_header_get(req, "Authorization") != NULL ||
           (query != NULL && strstr(query, "X-Amz-") != NULL);
}

/* Whether req carries a client certificate (the gateway's, or the proxy header, trusted or
 * not): a caller who sent one to an IAM-only route is told that route wants SigV4. */
static bool api_auth_cert_sent(const struct api_service *svc, const struct api_request *req)
{
    if (req->transport == API_TRANSPORT_GATEWAY) {
        return req->client_cert_pem != NULL;
    }
    const char *name = svc->cfg->mtls_proxy_header;
    const char *v = name != NULL ? api_header_get(req, name) : NULL;
    return v != NULL && v[0] != '\0';
}

HS_RESULT api_auth_iam(struct api_service *svc, const struct api_request *req,
                       struct api_caller *out)
{
    HS_ENSURE_REF(svc);
    HS_ENSURE_REF(req);
    memset(out, 0, sizeof(*out));
    HS_ENSURE_MSG(api_auth_iam_attempted(req) || !api_auth_cert_sent(svc, req),
                  HS_ERR_AUTH_SIGV4_REQUIRED, "a client certificate on an IAM-only route");
    const char *principal = NULL;
    if (req->transport == API_TRANSPORT_GATEWAY) {
        /* API Gateway authenticated the call, or the route has no IAM authorization. */
        HS_ENSURE_MSG(req->principal != NULL, HS_ERR_AUTH_MISSING,
                      "no IAM principal in the event's requestContext");
        principal = req->principal;
        out->method = API_AUTH_GATEWAY_IAM;
    } else {
        struct api_sigv4_request sr = {req->method, req->target,   req->headers, req->nheaders,
                                       req->body,   req->body_len, req->now};
        const struct api_sigv4_key *key = NULL;
        HS_GUARD(api_sigv4_verify(&svc->sigv4, &sr, &key));
        principal = key->principal_arn;
        out->method = API_AUTH_SIGV4;
    }
    HS_ENSURE_MSG(strlen(principal) < sizeof(out->principal), HS_ERR_AUTH_MALFORMED,
                  "principal ARN too long");
    memcpy(out->principal, principal, strlen(principal) + 1);
    return HS_OK;
}

static bool api_peer_trusted(const struct api_config *cfg, const char *peer)
{
    unsigned char a[16];
    unsigned char b[16];
    int fam = peer != NULL && strchr(peer, ':') != NULL ? AF_INET6 : AF_INET;
    if (peer == NULL || inet_pton(fam, peer, a) != 1) {
        return false;
    }
    size_t len = fam == AF_INET ? 4 : 16;
    for (size_t i = 0; i < cfg->ntrusted_proxies; i++) {
        if (inet_pton(fam, cfg->trusted_proxies[i], b) == 1 && memcmp(a, b, len) == 0) {
            return true;
        }
    }
    return false;
}

/* The client certificate PEM the transport carries, decoded into buf, or NULL for none. */
static HS_RESULT api_client_cert_pem(struct api_service *svc, const struct api_request *req,
                                     char *buf, size_t buf_len, const char **out)
{
    *out = NULL;
    if (req->transport == API_TRANSPORT_GATEWAY) {
        if (req->client_cert_pem != NULL) {
            HS_ENSURE(strlen(req->client_cert_pem) < buf_len, HS_ERR_INPUT_TOO_LARGE);
            memcpy(buf, req->client_cert_pem, strlen(req->client_cert_pem) + 1);
            *out = buf;
        }
        return HS_OK;
    }
    const struct api_config *cfg = svc->cfg;
    const char *v =
        cfg->mtls_proxy_header != NULL ? api_header_get(req, cfg->mtls_proxy_header) : NULL;
    if (v == NULL || v[0] == '\0') {
        return HS_OK;
    }
    if (!api_peer_trusted(cfg, req->peer_addr)) {
        /* Anyone can send the header; only the proxy's word counts. */
        hs_log(HS_LOG_WARN, "auth.client_cert.untrusted_peer", HS_LOG_STR("peer", req->peer_addr));
        return HS_OK;
    }
    /* The proxy must overwrite or strip the client's copy (docs/security.md); two copies mean
     * it appended, and the first would be the client's choice. */
    size_t copies = api_header_count(req, cfg->mtls_proxy_header);
    HS_ENSURE_MSG(copies == 1, HS_ERR_AUTH_CERTIFICATE, "%s was received %zu times",
                  cfg->mtls_proxy_header, copies);
    HS_GUARD(hs_error_context(api_url_decode(v, buf, buf_len), cfg->mtls_proxy_header));
    *out = buf;
    return HS_OK;
}

static HS_RESULT api_auth_cert(struct api_service *svc, const char *pem, struct api_caller *out)
{
    struct svc_device dev;
    HS_GUARD(svc_device_verify(svc->svc, pem, &dev));
    memset(out, 0, sizeof(*out));
    out->method = API_AUTH_CLIENT_CERT;
    memcpy(out->principal, dev.principal, sizeof(out->principal));
    memcpy(out->x5t_s256, dev.x5t_s256, sizeof(out->x5t_s256));
    memcpy(out->cert_serial, dev.serial_hex, sizeof(out->cert_serial));
    return HS_OK;
}

HS_RESULT api_auth_iam_or_cert(struct api_service *svc, const struct api_request *req,
                               struct api_caller *out)
{
    HS_ENSURE_REF(svc);
    HS_ENSURE_REF(req);
    /* A SigV4 attempt is judged as one, never silently passed over for a certificate. */
    if (api_auth_iam_attempted(req)) {
        return api_auth_iam(svc, req, out);
    }
    HS_DEFER(char *buf = OPENSSL_malloc(API_CLIENT_CERT_PEM_MAX), hs_ossl_strp);
    HS_ENSURE(buf != NULL, HS_ERR_NOMEM);
    const char *pem = NULL;
    hs_result r = api_client_cert_pem(svc, req, buf, API_CLIENT_CERT_PEM_MAX, &pem);
    if (hs_failed(r)) {
        HS_BAIL_MSG(HS_ERR_AUTH_CERTIFICATE, "client certificate header: %s",
                    hs_error_last()->detail);
    }
    HS_ENSURE_MSG(pem != NULL, HS_ERR_AUTH_MISSING,
                  "neither SigV4 credentials nor a client certificate");
    return api_auth_cert(svc, pem, out);
}
