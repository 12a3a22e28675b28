#include "authorizer/au_status.h"

#include <string.h>

#include <openssl/bn.h>

#include "authorizer/au_json.h"
#include "aws/aws_creds.h"
#include "aws/aws_http.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "common/hs_log.h"

#define AU_SERIAL_HEX_MAX 40 /* hex digits of a 20-byte serial (RFC 5280 §4.1.2.2) */
#define AU_STATUS_ANSWER_MAX (16 * 1024)
#define AU_STATUS_CONNECT_MS 2000L
#define AU_STATUS_TIMEOUT_MS 5000L

struct au_status_entry {
    char serial[AU_SERIAL_HEX_MAX + 1];
    bool good;
    time_t at;
};

struct au_status {
    const struct au_config *cfg;
    struct aws_http *http;
    bool curl_global;
    struct aws_creds_provider *creds;
    char region[AWS_REGION_MAX + 1];
    size_t n;
    size_t next; /* the slot replaced when full */
    struct au_status_entry cache[AU_STATUS_CACHE_MAX];
};

void au_status_free(struct au_status *s)
{
    if (s != NULL) {
        aws_http_free(s->http);
        aws_creds_provider_free(s->creds);
        if (s->curl_global) {
            aws_http_global_cleanup();
        }
        OPENSSL_free(s);
    }
}

void au_status_freep(struct au_status **s)
{
    au_status_free(*s);
}

HS_RESULT au_status_new(const struct au_config *cfg, struct au_status **out)
{
    HS_ENSURE_REF(cfg);
    HS_DEFER(struct au_status *s = OPENSSL_zalloc(sizeof(*s)), au_status_freep);
    HS_ENSURE(s != NULL, HS_ERR_NOMEM);
    s->cfg = cfg;
    if (cfg->mtls.region[0] != '\0') {
        memcpy(s->region, cfg->mtls.region, strlen(cfg->mtls.region) + 1);
    } else {
        HS_GUARD(aws_region_resolve(NULL, s->region));
    }
    HS_ENSURE_MSG(s->region[0] != '\0' && aws_chars_ok(s->region, strlen(s->region), "-"),
                  HS_ERR_INPUT_CONFIG, "mtls: no region (mtls.region or AWS_REGION)");
    HS_GUARD(aws_http_global_init(false));
    s->curl_global = true;
    s->http = aws_http_new();
    HS_ENSURE(s->http != NULL, HS_ERR_NOMEM);
    HS_GUARD(aws_creds_provider_new(NULL, &s->creds));
    *out = s;
    s = NULL;
    return HS_OK;
}

/* The serial as lowercase hex without leading zero bytes (hsmsignd's normal form). */
static HS_RESULT au_serial_hex(const X509 *cert, char out[AU_SERIAL_HEX_MAX + 1])
{
    HS_DEFER(BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL), hs_bn_freep);
    HS_ENSURE(bn != NULL && !BN_is_negative(bn), HS_ERR_INPUT);
    HS_DEFER(char *hex = BN_bn2hex(bn), hs_ossl_strp);
    HS_ENSURE(hex != NULL, HS_ERR_NOMEM);
    size_t n = strlen(hex);
    HS_ENSURE(n >= 1 && n <= AU_SERIAL_HEX_MAX, HS_ERR_INPUT);
    size_t j = 0;
    if (n % 2 == 1) {
        out[j++] = '0';
    }
    for (size_t i = 0; i < n; i++) {
        char c = hex[i];
        out[j++] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    out[j] = '\0';
    HS_ENSURE(j <= AU_SERIAL_HEX_MAX, HS_ERR_INPUT);
    return HS_OK;
}

/* Asks hsmsignd; *good is the answer (HS_OK) when it was definite (200 or 404). */
static HS_RESULT au_status_ask(struct au_status *s, const char *serial, bool *good)
{
    char url[AWS_HTTP_URL_MAX];
    const char *base = s->cfg->mtls.status_url;
    size_t bl = strlen(base);
    bool slash = bl > 0 && base[bl - 1] == '/';
    int w = snprintf(url, sizeof(url), "%.*s/v1/certificates/%s", (int)(slash ? bl - 1 : bl), base,
                     serial);
    HS_ENSURE(w > 0 && (size_t)w < sizeof(url), HS_ERR_BOUNDS);
    bool local = false;
    HS_GUARD(aws_url_check(base, "mtls.status_url", NULL, false, &local));
    HS_DEFER(struct hs_buf *answer = hs_buf_new(AU_STATUS_ANSWER_MAX), hs_buf_freep);
    HS_ENSURE(answer != NULL, HS_ERR_NOMEM);
    struct aws_http_request req = {
        .method = "GET",
        .url = url,
        .protocols = local ? "http,https" : "https",
        .headers = {"Accept: application/json"},
        .response_max = AU_STATUS_ANSWER_MAX,
        .connect_timeout_ms = AU_STATUS_CONNECT_MS,
        .timeout_ms = AU_STATUS_TIMEOUT_MS,
        .no_proxy = local,
        .keepalive = true,
        .cacert = s->cfg->mtls.ca_file[0] != '\0' ? s->cfg->mtls.ca_file : NULL,
        .sigv4_region = s->region,
        .sigv4_service = "execute-api",
        .provider = s->creds,
        .attempts = 2,
        .log_what = "certificate.status",
    };
    struct aws_http_response resp = {.body = answer};
    HS_GUARD(aws_http_send(s->http, &req, &resp));
    if (resp.status == 404) {
        *good = false;
        return HS_OK;
    }
    HS_ENSURE_MSG(resp.status == 200, HS_ERR_IO, "status_url answered %ld", resp.status);
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    HS_GUARD(au_json_parse((const char *)hs_buf_data(answer), hs_buf_len(answer),
                           AU_STATUS_ANSWER_MAX, &doc));
    const char *status = NULL;
    const char *got = NULL;
    HS_GUARD(hs_json_get_string(doc, "status", true, 32, &status));
    HS_GUARD(hs_json_get_string(doc, "serial", true, AU_SERIAL_HEX_MAX, &got));
    HS_ENSURE_MSG(strcmp(got, serial) == 0, HS_ERR_IO, "status_url answered another serial");
    *good = strcmp(status, "good") == 0;
    return HS_OK;
}

enum au_reason au_status_check(struct au_status *s, const X509 *cert, time_t now)
{
    char serial[AU_SERIAL_HEX_MAX + 1];
    if (hs_failed(au_serial_hex(cert, serial))) {
        hs_error_clear();
        return AU_CERT_STATUS_UNKNOWN;
    }
    for (size_t i = 0; i < s->n; i++) {
        struct au_status_entry *e = &s->cache[i];
        if (strcmp(e->serial, serial) == 0 && now - e->at < s->cfg->mtls.cache_s && now >= e->at) {
            return e->good ? AU_OK : AU_CERT_REVOKED;
        }
    }
    bool good = false;
    hs_error_clear();
    if (hs_failed(au_status_ask(s, serial, &good))) {
        hs_log(HS_LOG_WARN, "certificate.status.failed", HS_LOG_STR("serial", serial),
               HS_LOG_ERR());
        hs_error_clear();
        return AU_CERT_STATUS_UNKNOWN;
    }
    size_t slot = s->n;
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->cache[i].serial, serial) == 0) {
            slot = i;
        }
    }
    if (slot == s->n) {
        slot = s->n < AU_STATUS_CACHE_MAX ? s->n++ : s->next++ % AU_STATUS_CACHE_MAX;
    }
    memcpy(s->cache[slot].serial, serial, sizeof(serial));
    s->cache[slot].good = good;
    s->cache[slot].at = now;
    return good ? AU_OK : AU_CERT_REVOKED;
}
