#include "authorizer/au_keys.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "authorizer/au_json.h"
#include "authorizer/au_jwks.h"
#include "aws/aws_creds.h"
#include "aws/aws_http.h"
#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "common/hs_json.h"
#include "common/hs_log.h"

#define AU_FETCH_CONNECT_MS 2000L
#define AU_FETCH_TIMEOUT_MS 5000L
#define AU_SSM_ANSWER_MAX (2 * AU_JWKS_MAX + 4096) /* the JWKS JSON-escaped inside the answer */
#define AU_SSM_NAME_MAX 2048
#define AU_CACHE_CONTROL_MAX 256

struct au_keys {
    const struct au_config *cfg;
    struct au_jwks *set; /* the last good set, NULL before the first */
    time_t fetched_at;   /* when set was fetched */
    time_t expires_at;   /* fetched_at + its max age */
    time_t attempt_at;   /* the last fetch attempt, 0 before the first */
    bool attempt_ok;
    struct aws_http *http;
    bool curl_global;
    struct aws_creds_provider *creds; /* SSM only */
    char region[AWS_REGION_MAX + 1];
    char ssm_url[AU_STR_MAX + 1];
};

void au_keys_free(struct au_keys *k)
{
    if (k != NULL) {
        au_jwks_free(k->set);
        aws_http_free(k->http);
        aws_creds_provider_free(k->creds);
        if (k->curl_global) {
            aws_http_global_cleanup();
        }
        OPENSSL_free(k);
    }
}

void au_keys_freep(struct au_keys **k)
{
    au_keys_free(*k);
}

static HS_RESULT au_keys_ssm_setup(struct au_keys *k)
{
    const struct au_config *c = k->cfg;
    HS_ENSURE_MSG(strlen(c->jwks.source) <= AU_SSM_NAME_MAX, HS_ERR_INPUT_CONFIG,
                  "jwks.ssm_parameter: too long");
    if (c->jwks.region[0] != '\0') {
        memcpy(k->region, c->jwks.region, strlen(c->jwks.region) + 1);
    } else {
        HS_GUARD(aws_region_resolve(NULL, k->region));
    }
    HS_ENSURE_MSG(k->region[0] != '\0', HS_ERR_INPUT_CONFIG,
                  "jwks.ssm_parameter: no region (jwks.region or AWS_REGION)");
    HS_ENSURE_MSG(aws_chars_ok(k->region, strlen(k->region), "-"), HS_ERR_INPUT_CONFIG,
                  "jwks.region: not a region name");
    const char *ep =
        c->jwks.endpoint[0] != '\0' ? c->jwks.endpoint : getenv("AWS_ENDPOINT_URL_SSM");
    ep = ep != NULL ? ep : getenv("AWS_ENDPOINT_URL");
    if (ep != NULL) {
        HS_GUARD(aws_url_check(ep, "the SSM endpoint", NULL, true, NULL));
        HS_ENSURE_MSG(strlen(ep) < sizeof(k->ssm_url), HS_ERR_INPUT_CONFIG,
                      "SSM endpoint: too long");
        memcpy(k->ssm_url, ep, strlen(ep) + 1);
    } else {
        int n =
            snprintf(k->ssm_url, sizeof(k->ssm_url), "https://ssm.%s.amazonaws.com/", k->region);
        HS_ENSURE(n > 0 && (size_t)n < sizeof(k->ssm_url), HS_ERR_INPUT_CONFIG);
    }
    return aws_creds_provider_new(NULL, &k->creds);
}

HS_RESULT au_keys_new(const struct au_config *cfg, struct au_keys **out)
{
    HS_ENSURE_REF(cfg);
    HS_DEFER(struct au_keys *k = OPENSSL_zalloc(sizeof(*k)), au_keys_freep);
    HS_ENSURE(k != NULL, HS_ERR_NOMEM);
    k->cfg = cfg;
    if (cfg->jwks.kind == AU_JWKS_FILE) {
        HS_DEFER(struct hs_buf *text = NULL, hs_buf_freep);
        HS_GUARD(hs_error_context(hs_file_read(cfg->jwks.source, AU_JWKS_MAX, &text), "jwks.file"));
        HS_GUARD(hs_error_context(
            au_jwks_parse((const char *)hs_buf_data(text), hs_buf_len(text), &k->set),
            "jwks.file"));
        k->expires_at = (time_t)1 << 62;
    } else {
        HS_GUARD(aws_http_global_init(false));
        k->curl_global = true;
        k->http = aws_http_new();
        HS_ENSURE(k->http != NULL, HS_ERR_NOMEM);
        if (cfg->jwks.kind == AU_JWKS_SSM) {
            HS_GUARD(au_keys_ssm_setup(k));
        }
    }
    *out = k;
    k = NULL;
    return HS_OK;
}

/* Cache-Control's max-age (RFC 9111 §5.2.2.1) bounded by cfg, or cfg's when absent. */
static long au_keys_max_age(struct au_keys *k)
{
    long bound = k->cfg->jwks.max_age_s;
    char cc[AU_CACHE_CONTROL_MAX];
    if (hs_failed(aws_http_header(k->http, "Cache-Control", cc, sizeof(cc)))) {
        hs_error_clear();
        return bound;
    }
    if (strcasestr(cc, "no-store") != NULL || strcasestr(cc, "no-cache") != NULL) {
        return 0;
    }
    const char *p = strcasestr(cc, "max-age=");
    if (p == NULL) {
        return bound;
    }
    p += strlen("max-age=");
    size_t digits = strspn(p, "0123456789");
    if (digits == 0 || digits > 9) {
        return digits > 9 ? bound : 0;
    }
    long v = strtol(p, NULL, 10);
    return v < bound ? v : bound;
}

static HS_RESULT au_keys_get_url(struct au_keys *k, struct hs_buf *body, long *max_age)
{
    const struct au_config *c = k->cfg;
    bool local = false;
    HS_GUARD(aws_url_check(c->jwks.source, "jwks.url", NULL, false, &local));
    struct aws_http_request req = {
        .method = "GET",
        .url = c->jwks.source,
        .protocols = local ? "http,https" : "https",
        .headers = {"Accept: application/json"},
        .response_max = AU_JWKS_MAX,
        .connect_timeout_ms = AU_FETCH_CONNECT_MS,
        .timeout_ms = AU_FETCH_TIMEOUT_MS,
        .no_proxy = local,
        .cacert = c->jwks.ca_file[0] != '\0' ? c->jwks.ca_file : NULL,
        .attempts = 1,
        .log_what = "jwks.url",
    };
    struct aws_http_response resp = {.body = body};
    HS_GUARD(aws_http_send(k->http, &req, &resp));
    HS_ENSURE_MSG(resp.status == 200, HS_ERR_IO, "jwks.url answered %ld", resp.status);
    *max_age = au_keys_max_age(k);
    return HS_OK;
}

static HS_RESULT au_keys_get_ssm(struct au_keys *k, struct hs_buf *body, long *max_age)
{
    HS_DEFER(json_object *q = json_object_new_object(), hs_json_putp);
    HS_ENSURE(q != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_json_add(q, "Name", json_object_new_string(k->cfg->jwks.source)));
    HS_GUARD(hs_json_add(q, "WithDecryption", json_object_new_boolean(0)));
    size_t qlen = 0;
    const char *qtext = json_object_to_json_string_length(q, JSON_C_TO_STRING_PLAIN, &qlen);
    HS_ENSURE(qtext != NULL, HS_ERR_NOMEM);
    bool local = false;
    HS_GUARD(aws_url_check(k->ssm_url, "the SSM endpoint", NULL, true, &local));
    HS_DEFER(struct hs_buf *answer = hs_buf_new(AU_SSM_ANSWER_MAX), hs_buf_freep);
    HS_ENSURE(answer != NULL, HS_ERR_NOMEM);
    struct aws_http_request req = {
        .method = "POST",
        .url = k->ssm_url,
        .protocols = local ? "http,https" : "https",
        .headers = {"Content-Type: application/x-amz-json-1.1",
                    "X-Amz-Target: AmazonSSM.GetParameter"},
        .body = qtext,
        .body_len = qlen,
        .response_max = AU_SSM_ANSWER_MAX,
        .connect_timeout_ms = AU_FETCH_CONNECT_MS,
        .timeout_ms = AU_FETCH_TIMEOUT_MS,
        .no_proxy = local,
        .cacert = k->cfg->jwks.ca_file[0] != '\0' ? k->cfg->jwks.ca_file : NULL,
        .sigv4_region = k->region,
        .sigv4_service = "ssm",
        .provider = k->creds,
        .attempts = 2,
        .log_what = "ssm.GetParameter",
    };
    struct aws_http_response resp = {.body = answer};
    HS_GUARD(aws_http_send(k->http, &req, &resp));
    HS_ENSURE_MSG(resp.status == 200, HS_ERR_IO, "SSM GetParameter answered %ld", resp.status);
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    HS_GUARD(au_json_parse((const char *)hs_buf_data(answer), hs_buf_len(answer), AU_SSM_ANSWER_MAX,
                           &doc));
    json_object *param = NULL;
    const char *value = NULL;
    HS_GUARD(hs_json_get_typed(doc, "Parameter", true, json_type_object, &param));
    HS_GUARD(hs_json_get_string(param, "Value", true, AU_JWKS_MAX, &value));
    HS_GUARD(hs_buf_put_str(body, value));
    *max_age = k->cfg->jwks.max_age_s;
    return HS_OK;
}

/* One fetch attempt at now; the set is replaced only by a good one. */
static void au_keys_fetch(struct au_keys *k, time_t now)
{
    k->attempt_at = now;
    k->attempt_ok = false;
    hs_error_clear();
    HS_DEFER(struct hs_buf *body = hs_buf_new(AU_JWKS_MAX), hs_buf_freep);
    HS_DEFER(struct au_jwks *set = NULL, au_jwks_freep);
    long max_age = 0;
    hs_result r = body != NULL ? HS_OK : hs_error_raise(__FILE__, __LINE__, HS_ERR_NOMEM, NULL);
    if (!hs_failed(r)) {
        r = k->cfg->jwks.kind == AU_JWKS_SSM ? au_keys_get_ssm(k, body, &max_age)
                                             : au_keys_get_url(k, body, &max_age);
    }
    if (!hs_failed(r)) {
        r = au_jwks_parse((const char *)hs_buf_data(body), hs_buf_len(body), &set);
    }
    const char *what = k->cfg->jwks.kind == AU_JWKS_SSM ? "ssm_parameter" : "url";
    if (hs_failed(r)) {
        hs_log(HS_LOG_WARN, "jwks.fetch.failed", HS_LOG_STR("source", what),
               HS_LOG_BOOL("have_previous", k->set != NULL), HS_LOG_ERR());
        hs_error_clear();
        return;
    }
    au_jwks_free(k->set);
    k->set = set;
    hs_log(HS_LOG_INFO, "jwks.fetched", HS_LOG_STR("source", what), HS_LOG_INT("keys", set->n),
           HS_LOG_INT("skipped", set->skipped), HS_LOG_INT("max_age_s", max_age));
    set = NULL;
    k->fetched_at = now;
    k->expires_at = now + max_age;
    k->attempt_ok = true;
}

/* A fetch is allowed once refresh_seconds passed since the last attempt (or its first). */
static bool au_keys_may_fetch(const struct au_keys *k, time_t now)
{
    return k->attempt_at == 0 || now - k->attempt_at >= k->cfg->jwks.refresh_s;
}

enum au_reason au_keys_find(struct au_keys *k, const char *kid, unsigned int alg, time_t now,
                            EVP_PKEY **out)
{
    bool remote = k->cfg->jwks.kind != AU_JWKS_FILE;
    if (remote && now >= k->expires_at &&
        (au_keys_may_fetch(k, now) || (k->attempt_ok && now > k->attempt_at))) {
        au_keys_fetch(k, now);
    }
    enum au_jwks_find f = au_jwks_find(k->set, kid, alg, out);
    if (remote && f == AU_JWKS_NO_KID && au_keys_may_fetch(k, now)) {
        au_keys_fetch(k, now);
        f = au_jwks_find(k->set, kid, alg, out);
    }
    if (k->set == NULL || (remote && now - k->fetched_at > k->cfg->jwks.max_stale_s)) {
        return AU_JWKS_UNAVAILABLE;
    }
    return f == AU_JWKS_FOUND ? AU_OK : f == AU_JWKS_MISMATCH ? AU_KEY_MISMATCH : AU_KID_UNKNOWN;
}
