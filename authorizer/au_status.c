#include "authorizer/au_status.h"

#include <stdlib.h>
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

/* The inventory's DynamoDB item (store/st_dynamodb.c, st_ddb_item): "serial" (S, the key),
 * "status" (N: 0 good, 1 revoked: enum st_cert_status), "kind" (N: 0 X.509, 1 SSH: enum
 * st_cert_kind), "not_after" (N, epoch seconds). authorizer/ may not include store/, so the
 * values are repeated here; tests/integration/authorizer_test.sh (dynamodb) checks them against
 * items hsmsignd wrote. */
#define AU_DDB_STATUS_GOOD "0"
#define AU_DDB_KIND_X509 "0"

struct au_status {
    const struct au_config *cfg;
    char ddb_url[AU_STR_MAX + 1]; /* the DynamoDB endpoint, when the table is named */
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
    if (cfg->mtls.dynamodb_table[0] != '\0') {
        const char *ep = cfg->mtls.endpoint[0] != '\0' ? cfg->mtls.endpoint
                                                       : getenv("AWS_ENDPOINT_URL_DYNAMODB");
        ep = ep != NULL ? ep : getenv("AWS_ENDPOINT_URL");
        int w = ep != NULL ? snprintf(s->ddb_url, sizeof(s->ddb_url), "%s", ep)
                           : snprintf(s->ddb_url, sizeof(s->ddb_url),
                                      "https://dynamodb.%s.amazonaws.com/", s->region);
        HS_ENSURE_MSG(w > 0 && (size_t)w < sizeof(s->ddb_url), HS_ERR_INPUT_CONFIG,
                      "mtls: the DynamoDB endpoint is too long");
        HS_GUARD(aws_url_check(s->ddb_url, "the DynamoDB endpoint", NULL, true, NULL));
    }
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

/* The number attribute name of item, NULL when absent or not a number. */
static const char *au_ddb_n(json_object *item, const char *name)
{
    json_object *attr = NULL;
    json_object *n = NULL;
    if (!json_object_object_get_ex(item, name, &attr) ||
        !json_object_object_get_ex(attr, "N", &n) || !json_object_is_type(n, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(n);
}

/* The GetItem request for serial, as a json-c object the caller releases. */
static HS_RESULT au_ddb_request(const struct au_status *s, const char *serial, json_object **out)
{
    HS_DEFER(json_object *q = json_object_new_object(), hs_json_putp);
    HS_ENSURE(q != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_json_add(q, "TableName", json_object_new_string(s->cfg->mtls.dynamodb_table)));
    json_object *key = json_object_new_object();
    HS_GUARD(hs_json_add(q, "Key", key));
    json_object *sv = json_object_new_object();
    HS_GUARD(hs_json_add(key, "serial", sv));
    HS_GUARD(hs_json_add(sv, "S", json_object_new_string(serial)));
    HS_GUARD(hs_json_add(q, "ConsistentRead", json_object_new_boolean(1)));
    HS_GUARD(hs_json_add(q, "ProjectionExpression", json_object_new_string("#s, #k, not_after")));
    json_object *names = json_object_new_object();
    HS_GUARD(hs_json_add(q, "ExpressionAttributeNames", names));
    HS_GUARD(hs_json_add(names, "#s", json_object_new_string("status")));
    HS_GUARD(hs_json_add(names, "#k", json_object_new_string("kind")));
    *out = q;
    q = NULL;
    return HS_OK;
}

/* GetItem's answer: *good for an X.509 item, status good, not_after after now; an answer
 * without "Item" (not in the inventory) is not good. */
static HS_RESULT au_ddb_answer(const struct hs_buf *answer, time_t now, bool *good)
{
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    HS_GUARD(au_json_parse((const char *)hs_buf_data(answer), hs_buf_len(answer),
                           AU_STATUS_ANSWER_MAX, &doc));
    json_object *item = NULL;
    HS_GUARD(hs_json_get_typed(doc, "Item", false, json_type_object, &item));
    if (item == NULL) {
        *good = false;
        return HS_OK;
    }
    const char *status = au_ddb_n(item, "status");
    const char *kind = au_ddb_n(item, "kind");
    const char *not_after = au_ddb_n(item, "not_after");
    HS_ENSURE_MSG(status != NULL && kind != NULL && not_after != NULL &&
                      strspn(not_after, "0123456789") == strlen(not_after) &&
                      strlen(not_after) > 0 && strlen(not_after) < 19,
                  HS_ERR_IO, "DynamoDB item: status, kind or not_after missing or malformed");
    *good = strcmp(status, AU_DDB_STATUS_GOOD) == 0 && strcmp(kind, AU_DDB_KIND_X509) == 0 &&
            (long long)now < strtoll(not_after, NULL, 10);
    return HS_OK;
}

/* DynamoDB GetItem on the inventory table (JSON 1.0 protocol, consistent read). */
static HS_RESULT au_status_ask_ddb(struct au_status *s, const char *serial, time_t now, bool *good)
{
    HS_DEFER(json_object *q = NULL, hs_json_putp);
    HS_GUARD(au_ddb_request(s, serial, &q));
    size_t qlen = 0;
    const char *qtext = json_object_to_json_string_length(q, JSON_C_TO_STRING_PLAIN, &qlen);
    HS_ENSURE(qtext != NULL, HS_ERR_NOMEM);
    bool local = false;
    HS_GUARD(aws_url_check(s->ddb_url, "the DynamoDB endpoint", NULL, true, &local));
    HS_DEFER(struct hs_buf *answer = hs_buf_new(AU_STATUS_ANSWER_MAX), hs_buf_freep);
    HS_ENSURE(answer != NULL, HS_ERR_NOMEM);
    struct aws_http_request req = {
        .method = "POST",
        .url = s->ddb_url,
        .protocols = local ? "http,https" : "https",
        .headers = {"Content-Type: application/x-amz-json-1.0",
                    "X-Amz-Target: DynamoDB_20120810.GetItem"},
        .body = qtext,
        .body_len = qlen,
        .response_max = AU_STATUS_ANSWER_MAX,
        .connect_timeout_ms = AU_STATUS_CONNECT_MS,
        .timeout_ms = AU_STATUS_TIMEOUT_MS,
        .no_proxy = local,
        .keepalive = true,
        .cacert = s->cfg->mtls.ca_file[0] != '\0' ? s->cfg->mtls.ca_file : NULL,
        .sigv4_region = s->region,
        .sigv4_service = "dynamodb",
        .provider = s->creds,
        .attempts = 2,
        .log_what = "dynamodb.GetItem",
    };
    struct aws_http_response resp = {.body = answer};
    HS_GUARD(aws_http_send(s->http, &req, &resp));
    HS_ENSURE_MSG(resp.status == 200, HS_ERR_IO, "DynamoDB GetItem answered %ld", resp.status);
    return au_ddb_answer(answer, now, good);
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
    hs_result asked = s->ddb_url[0] != '\0' ? au_status_ask_ddb(s, serial, now, &good)
                                            : au_status_ask(s, serial, &good);
    if (hs_failed(asked)) {
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
