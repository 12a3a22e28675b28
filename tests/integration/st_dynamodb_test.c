/*
 * What only the DynamoDB inventory does, against a real dynalite (tests/dynamo/dynalite.sh run
 * starts it on a free port of 127.0.0.1 behind a front that checks every SigV4 signature and
 * can inject faults, and sets HSMSIGN_TEST_DYNAMO_*); the behaviour every store shares is
 * st_conformance_test.c's, which runs here too. Here: the generation and CRL numbers only grow
 * as another instance sees them; list_revoked follows several pages and waits for the GSI to
 * settle; the kind attribute (absent on old items = X.509) and one GSI partition per kind;
 * throttling and 5xx answers are retried (and a conditional write whose answer was lost is
 * recognised); bounded answers and timeouts; wrong credentials, tables and endpoints fail
 * clearly; container credentials are fetched and refreshed; a session token is signed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "store/st_dynamodb.h"
#include "store/st_keygen.h"
#include "tests/testlib/hs_test.h"
#include "tests/testlib/hs_test_store.h"

#define T0 HS_TEST_STORE_T0
#define LIST_REVOKED 11

static const char *endpoint;
static const char *table;
static const char *region;
static const char *akid;
static const char *secret;
static const char *creds_auth;
static unsigned serial_counter;
static unsigned run_stamp; /* makes this run's serials new to the table */

/* --- helpers --------------------------------------------------------------------------------- */

/* A fresh serial for this run: 16 hex digits, numeric and text order agree. */
static void next_serial(char out[ST_INV_SERIAL_MAX + 1])
{
    snprintf(out, ST_INV_SERIAL_MAX + 1, "%x%07x%08x", 1 + run_stamp % 15, ++serial_counter,
             run_stamp);
}

static struct st_dynamodb_config config(const char *table_name)
{
    return (struct st_dynamodb_config){table_name, region, endpoint, 2000, 0};
}

static void env_credentials(void)
{
    setenv("AWS_ACCESS_KEY_ID", akid, 1);
    setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
}

static struct st_inventory *open_table(const char *table_name, int page_limit)
{
    struct st_dynamodb_config c = config(table_name);
    c.page_limit = page_limit;
    struct st_inventory *inv = NULL;
    hs_result r = st_dynamodb_open(&c, &inv);
    if (hs_failed(r)) {
        fprintf(stderr, "open %s: %s\n", table_name, hs_error_last()->detail);
        abort();
    }
    return inv;
}

/* Fetches a key pair with a session token from the front's container credentials endpoint
 * (as STS would hand one to Lambda) and puts it into the environment. */
static void env_session_credentials(void)
{
    char auth[256];
    snprintf(auth, sizeof(auth), "Authorization: %s", creds_auth);
    json_object *doc = hs_test_dynalite_ctl(endpoint, "/creds", auth, NULL);
    json_object *k = NULL;
    json_object *sk = NULL;
    json_object *t = NULL;
    if (doc == NULL || !json_object_object_get_ex(doc, "AccessKeyId", &k) ||
        !json_object_object_get_ex(doc, "SecretAccessKey", &sk) ||
        !json_object_object_get_ex(doc, "Token", &t)) {
        fprintf(stderr, "no credentials from %s/creds\n", endpoint);
        abort();
    }
    setenv("AWS_ACCESS_KEY_ID", json_object_get_string(k), 1);
    setenv("AWS_SECRET_ACCESS_KEY", json_object_get_string(sk), 1);
    setenv("AWS_SESSION_TOKEN", json_object_get_string(t), 1);
    json_object_put(doc);
}

static void faults(const char *json)
{
    json_object_put(hs_test_dynalite_ctl(endpoint, "/__faults", NULL, json));
}

/* A counter of the front's /__stats: "requests", "auth_failures", "creds_fetches" or, with
 * target, the requests of one action. */
static long stat_of(const char *name, const char *target)
{
    json_object *doc = hs_test_dynalite_ctl(endpoint, "/__stats", NULL, NULL);
    json_object *v = NULL;
    long n = 0;
    if (json_object_object_get_ex(doc, name, &v) && target != NULL) {
        json_object *t = NULL;
        n = json_object_object_get_ex(v, target, &t) ? (long)json_object_get_int64(t) : 0;
    } else if (v != NULL) {
        n = (long)json_object_get_int64(v);
    }
    json_object_put(doc);
    return n;
}

static void create_table(const char *name)
{
    char body[128];
    snprintf(body, sizeof(body), "{\"name\": \"%s\"}", name);
    json_object_put(hs_test_dynalite_ctl(endpoint, "/__create_table", NULL, body));
}

static void inventory_closep(struct st_inventory **inv)
{
    st_inventory_close(*inv);
}

/* --- cases ------------------------------------------------------------------------------------ */

HS_TEST(counters_across_instances)
{
    HS_DEFER(struct st_inventory *a = open_table(table, 0), inventory_closep);
    HS_DEFER(struct st_inventory *b = open_table(table, 0), inventory_closep);
    uint64_t last = 0;
    for (int i = 0; i < 5; i++) {
        uint64_t n = 0;
        HS_CHECK_OK((i % 2 ? a : b)->ops->next_crl_number(i % 2 ? a : b, &n));
        HS_CHECK(n > last);
        last = n;
    }
    char serial[ST_INV_SERIAL_MAX + 1];
    next_serial(serial);
    HS_DEFER(struct st_cert_record *r = hs_test_record_new(serial), hs_test_record_freep);
    HS_CHECK_OK(a->ops->put(a, r));
    uint64_t gb = b->ops->generation(b);
    HS_CHECK_OK(a->ops->revoke(a, serial, T0 + 1, 0, NULL));
    uint64_t seen = b->ops->generation(b);
    double t = hs_test_now_s();
    while (seen == gb && hs_test_now_s() - t < 3) {
        hs_test_sleep_ms(50);
        seen = b->ops->generation(b);
    }
    HS_CHECK(seen == gb + 1);
    HS_CHECK(hs_test_now_s() - t < 1.5);
    HS_CHECK(a->ops->generation(a) == seen);
}

/* list_revoked follows LastEvaluatedKey: with Limit 3, seven revoked certificates take at
 * least three Queries and come back whole and in order; without a Limit, one Query. (What the
 * list holds is st_conformance_test.c's, which pages too.) */
HS_TEST(list_revoked_follows_pages)
{
    create_table("inventory-list");
    HS_DEFER(struct st_inventory *inv = open_table("inventory-list", 3), inventory_closep);
    HS_DEFER(struct st_inventory *whole = open_table("inventory-list", 0), inventory_closep);
    for (int i = 0; i < LIST_REVOKED; i++) {
        char serial[ST_INV_SERIAL_MAX + 1];
        snprintf(serial, sizeof(serial), "%x%015x", 1 + i, (unsigned)(i * 7919) % 97);
        HS_DEFER(struct st_cert_record *r = hs_test_record_new(serial), hs_test_record_freep);
        HS_CHECK_OK(inv->ops->put(inv, r));
        if (i < 7) {
            HS_CHECK_OK(inv->ops->revoke(inv, serial, T0 + 100 + i, i % 6, NULL));
        }
    }
    struct st_revoked_entry out[LIST_REVOKED];
    size_t n = 0;
    long queries = stat_of("targets", "Query");
    HS_CHECK_OK(inv->ops->list_revoked(inv, 0, out, LIST_REVOKED, &n));
    HS_CHECK(stat_of("targets", "Query") - queries >= 3);
    HS_CHECK(n == 7);
    for (size_t i = 0; i < n; i++) {
        HS_CHECK(out[i].revoked_at == T0 + 100 + (time_t)i && out[i].reason == (int)i % 6);
    }
    queries = stat_of("targets", "Query");
    HS_CHECK_OK(whole->ops->list_revoked(whole, 0, out, LIST_REVOKED, &n));
    HS_CHECK(stat_of("targets", "Query") - queries == 1);
    HS_CHECK(n == 7);
}

/* One signed DynamoDB call made here, beside the store (curl signs it as the store does). */
static json_object *ddb_raw(const char *action, const char *body)
{
    char target[96];
    char userpwd[256];
    static char answer[HS_TEST_CTL_MAX];
    answer[0] = '\0';
    snprintf(target, sizeof(target), "X-Amz-Target: DynamoDB_20120810.%s", action);
    snprintf(userpwd, sizeof(userpwd), "%s:%s", akid, secret);
    char sigv4[64];
    snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:dynamodb", region);
    struct curl_slist *hdrs = curl_slist_append(NULL, target);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/x-amz-json-1.0");
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, endpoint);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4);
    curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, hs_test_curl_sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, (void *)answer);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        fprintf(stderr, "%s: %s\n", action, curl_easy_strerror(rc));
        abort();
    }
    return json_tokener_parse(answer);
}

/* The string value of attribute name (type "S" or "N") of serial's item in table_name, or ""
 * when the item or attribute is missing. */
static void raw_attr(const char *table_name, const char *serial, const char *name, const char *type,
                     char *out, size_t size)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"TableName\": \"%s\", \"ConsistentRead\": true,"
             " \"Key\": {\"serial\": {\"S\": \"%s\"}}}",
             table_name, serial);
    json_object *doc = ddb_raw("GetItem", body);
    json_object *item = NULL;
    json_object *attr = NULL;
    json_object *v = NULL;
    out[0] = '\0';
    if (json_object_object_get_ex(doc, "Item", &item) &&
        json_object_object_get_ex(item, name, &attr) && json_object_object_get_ex(attr, type, &v)) {
        snprintf(out, size, "%s", json_object_get_string(v));
    }
    json_object_put(doc);
}

/* An item as builds before record kinds wrote it (no "kind"), with extra attributes. */
static void raw_put_old_item(const char *table_name, const char *serial, const char *extra)
{
    char body[2048];
    snprintf(body, sizeof(body),
             "{\"TableName\": \"%s\", \"Item\": {\"serial\": {\"S\": \"%s\"},"
             " \"subject\": {\"S\": \"CN=old\"}, \"sans\": {\"S\": \"[]\"},"
             " \"not_before\": {\"N\": \"%d\"}, \"not_after\": {\"N\": \"%d\"},"
             " \"requester\": {\"S\": \"old\"}, \"profile\": {\"S\": \"server\"},"
             " \"spki_sha256\": {\"B\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"},"
             " \"cert_sha256\": {\"B\": \"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"},"
             " \"status\": {\"N\": \"0\"}, \"revoked_at\": {\"N\": \"0\"},"
             " \"reason\": {\"N\": \"-1\"}%s}}",
             table_name, serial, T0, T0 + 86400, extra);
    json_object_put(ddb_raw("PutItem", body));
}

/* Records carry "kind" (N); an item without it (written before kinds) is X.509. Revoked items
 * go to their kind's GSI partition, so the CRL's Query never sees an SSH revocation; revoking
 * an SSH record costs one more round (the X.509 condition fails first) and gives it its range
 * key in the GSI "krl"; an item without issuer_key_sha256 has an all-zero one. A stored kind the
 * build does not know is an I/O error, not a guess. */
HS_TEST(kind_attribute_and_partitions)
{
    const char *t = "inventory-kind";
    create_table(t);
    HS_DEFER(struct st_inventory *inv = open_table(t, 0), inventory_closep);
    HS_DEFER(struct st_cert_record *got = hs_test_record_new("1"), hs_test_record_freep);
    char v[64];

    raw_put_old_item(t, "01d", "");
    got->kind = ST_KIND_SSH;
    HS_CHECK_OK(inv->ops->get(inv, "01d", got));
    HS_CHECK(got->kind == ST_KIND_X509 && strcmp(got->subject, "CN=old") == 0);
    bool changed = false;
    HS_CHECK_OK(inv->ops->revoke(inv, "01d", T0 + 5, 1, &changed));
    HS_CHECK(changed);
    raw_attr(t, "01d", "revoked_part", "S", v, sizeof(v));
    HS_CHECK(strcmp(v, "revoked") == 0);
    raw_attr(t, "01d", "kind", "N", v, sizeof(v));
    HS_CHECK(strcmp(v, "") == 0); /* revoking does not add what the item lacked */

    HS_DEFER(struct st_cert_record *x = hs_test_record_new("0a1"), hs_test_record_freep);
    HS_CHECK_OK(inv->ops->put(inv, x));
    raw_attr(t, "0a1", "kind", "N", v, sizeof(v));
    HS_CHECK(strcmp(v, "0") == 0);
    HS_DEFER(struct st_cert_record *ssh = hs_test_record_new("0b01"), hs_test_record_freep);
    ssh->kind = ST_KIND_SSH;
    HS_CHECK_OK(inv->ops->put(inv, ssh));
    raw_attr(t, "0b01", "kind", "N", v, sizeof(v));
    HS_CHECK(strcmp(v, "1") == 0);

    long updates = stat_of("targets", "UpdateItem");
    long gets = stat_of("targets", "GetItem");
    HS_CHECK_OK(inv->ops->revoke(inv, "0a1", T0 + 6, 1, &changed));
    HS_CHECK(changed);
    /* The revocation and the generation. */
    HS_CHECK(stat_of("targets", "UpdateItem") - updates == 2);
    HS_CHECK(stat_of("targets", "GetItem") - gets == 0);
    updates = stat_of("targets", "UpdateItem");
    HS_CHECK_OK(inv->ops->revoke(inv, "0b01", T0 + 7, 1, &changed));
    HS_CHECK(changed);
    /* As X.509 (refused), the read that tells why, as SSH, the generation. */
    HS_CHECK(stat_of("targets", "UpdateItem") - updates == 3);
    HS_CHECK(stat_of("targets", "GetItem") - gets == 1);
    raw_attr(t, "0a1", "revoked_part", "S", v, sizeof(v));
    HS_CHECK(strcmp(v, "revoked") == 0);
    raw_attr(t, "0b01", "revoked_part", "S", v, sizeof(v));
    HS_CHECK(strcmp(v, "revoked#ssh") == 0);
    HS_CHECK_OK(inv->ops->revoke(inv, "0b01", T0 + 8, 2, &changed));
    HS_CHECK(!changed);
    HS_CHECK_OK(inv->ops->get(inv, "0b01", got));
    HS_CHECK(got->kind == ST_KIND_SSH && got->revoked_at == T0 + 7);
    HS_CHECK(memcmp(got->issuer_key_sha256, ssh->issuer_key_sha256, 32) == 0);
    /* A revoked SSH item carries its KRL range key (the GSI "krl"): the CA key in hex, '#', the
     * serial padded to 40 digits; an X.509 one does not. */
    char ks[160];
    raw_attr(t, "0b01", "krl_sort", "S", ks, sizeof(ks));
    char want[160];
    for (int i = 0; i < 32; i++) {
        snprintf(want + 2 * i, 3, "%02x", ssh->issuer_key_sha256[i]);
    }
    snprintf(want + 64, sizeof(want) - 64, "#%036d0b01", 0);
    HS_CHECK(strcmp(ks, want) == 0);
    raw_attr(t, "0a1", "krl_sort", "S", ks, sizeof(ks));
    HS_CHECK(strcmp(ks, "") == 0);
    /* An SSH item written before records named their CA key: all zero, listed first. */
    raw_put_old_item(t, "0c01", ", \"kind\": {\"N\": \"1\"}");
    HS_CHECK_OK(inv->ops->get(inv, "0c01", got));
    static const unsigned char zero[32] = {0};
    HS_CHECK(got->kind == ST_KIND_SSH && memcmp(got->issuer_key_sha256, zero, 32) == 0);
    HS_CHECK_OK(inv->ops->revoke(inv, "0c01", T0 + 9, 1, &changed));
    HS_CHECK(changed);
    struct st_ssh_revoked_entry k[3];
    size_t nk = 0;
    HS_CHECK_OK(inv->ops->list_revoked_ssh(inv, 0, k, 3, &nk));
    HS_CHECK(nk == 2 && k[0].serial == 0x0c01 && memcmp(k[0].issuer_key_sha256, zero, 32) == 0 &&
             k[1].serial == 0x0b01 && k[1].revoked_at == T0 + 7 &&
             memcmp(k[1].issuer_key_sha256, ssh->issuer_key_sha256, 32) == 0);

    struct st_revoked_entry out[4];
    size_t n = 0;
    HS_CHECK_OK(inv->ops->list_revoked(inv, 0, out, 4, &n));
    HS_CHECK(n == 2 && strcmp(out[0].serial_hex, "01d") == 0 &&
             strcmp(out[1].serial_hex, "0a1") == 0);

    raw_put_old_item(t, "07e", ", \"kind\": {\"N\": \"7\"}");
    HS_CHECK_ERR(inv->ops->get(inv, "07e", got), HS_ERR_IO);
    HS_CHECK(strstr(hs_error_last()->detail, "kind") != NULL);
    HS_CHECK_ERR(inv->ops->revoke(inv, "07e", T0, 1, NULL), HS_ERR_IO);
}

/* The GSI is eventually consistent: list_revoked lets ST_DDB_GSI_SETTLE_MS pass after the
 * newest generation change this store saw before it queries (and includes the revocation),
 * and does not wait again while nothing changes. */
HS_TEST(list_revoked_waits_for_the_gsi_to_settle)
{
    const char *t = "inventory-settle";
    create_table(t);
    HS_DEFER(struct st_inventory *inv = open_table(t, 0), inventory_closep);
    HS_DEFER(struct st_cert_record *r = hs_test_record_new("5e7"), hs_test_record_freep);
    HS_CHECK_OK(inv->ops->put(inv, r));
    hs_test_sleep_ms(ST_DDB_GSI_SETTLE_MS); /* the settle period of the open itself */
    struct st_revoked_entry out[2];
    size_t n = 0;
    double t0 = hs_test_now_s();
    HS_CHECK_OK(inv->ops->list_revoked(inv, 0, out, 2, &n));
    HS_CHECK(n == 0 && hs_test_now_s() - t0 < 0.5 * ST_DDB_GSI_SETTLE_MS / 1000.0);
    HS_CHECK_OK(inv->ops->revoke(inv, "5e7", T0 + 1, 1, NULL));
    t0 = hs_test_now_s();
    HS_CHECK_OK(inv->ops->list_revoked(inv, 0, out, 2, &n));
    double waited = hs_test_now_s() - t0;
    HS_CHECK(n == 1 && strcmp(out[0].serial_hex, "5e7") == 0);
    HS_CHECK(waited >= 0.9 * ST_DDB_GSI_SETTLE_MS / 1000.0);
    t0 = hs_test_now_s();
    HS_CHECK_OK(inv->ops->list_revoked(inv, 0, out, 2, &n));
    HS_CHECK(n == 1 && hs_test_now_s() - t0 < 0.5 * ST_DDB_GSI_SETTLE_MS / 1000.0);
}

/* Throttling and 5xx are retried (3 attempts in all); a write whose answer was lost is
 * recognised when its retry fails the condition; other errors are not retried. */
HS_TEST(retries)
{
    HS_DEFER(struct st_inventory *inv = open_table(table, 0), inventory_closep);
    char serial[ST_INV_SERIAL_MAX + 1];
    next_serial(serial);
    HS_DEFER(struct st_cert_record *r = hs_test_record_new(serial), hs_test_record_freep);
    long puts = stat_of("targets", "PutItem");
    faults("{\"faults\": [{\"status\": 400, \"type\": \"ProvisionedThroughputExceededException\"},"
           " {\"status\": 400, \"type\": \"ThrottlingException\"}]}");
    HS_CHECK_OK(inv->ops->put(inv, r));
    HS_CHECK(stat_of("targets", "PutItem") - puts == 3);

    next_serial(serial);
    snprintf(r->serial_hex, sizeof(r->serial_hex), "%s", serial);
    faults("{\"faults\": [{\"status\": 500, \"type\": \"InternalServerError\"},"
           " {\"status\": 503, \"raw\": \"<html>Service Unavailable</html>\"},"
           " {\"status\": 500, \"type\": \"InternalServerError\"}]}");
    HS_CHECK_ERR(inv->ops->put(inv, r), HS_ERR_STORE_UNAVAILABLE); /* 5xx to the last: for now */
    HS_CHECK(strstr(hs_error_last()->detail, "3 attempts") != NULL);
    HS_CHECK_ERR(inv->ops->get(inv, serial, r), HS_ERR_INPUT_NOT_FOUND);
    faults("{\"faults\": [{\"status\": 400, \"type\": \"ThrottlingException\"},"
           " {\"status\": 400, \"type\": \"ThrottlingException\"},"
           " {\"status\": 400, \"type\": \"ProvisionedThroughputExceededException\"}]}");
    HS_CHECK_ERR(inv->ops->get(inv, serial, r),
                 HS_ERR_STORE_UNAVAILABLE); /* throttled to the last */

    /* Applied, but the answer is a 500: the retry fails its condition on our own item. */
    snprintf(r->serial_hex, sizeof(r->serial_hex), "%s", serial);
    faults("{\"faults\": [{\"status\": 500, \"type\": \"InternalServerError\", \"apply\": true}]}");
    HS_CHECK_OK(inv->ops->put(inv, r));
    uint64_t g0 = inv->ops->generation(inv);
    bool changed = false;
    faults("{\"faults\": [{\"status\": 500, \"type\": \"InternalServerError\", \"apply\": true}]}");
    HS_CHECK_OK(inv->ops->revoke(inv, serial, T0 + 9, 3, &changed));
    HS_CHECK(changed);
    HS_CHECK(inv->ops->generation(inv) >= g0 + 1);

    /* Not retried: a validation error, an expired token with fixed credentials. */
    long gets = stat_of("targets", "GetItem");
    faults("{\"faults\": [{\"status\": 400, \"type\": \"ValidationException\"}]}");
    HS_CHECK_ERR(inv->ops->get(inv, serial, r), HS_ERR_IO);
    HS_CHECK(strstr(hs_error_last()->detail, "ValidationException") != NULL);
    faults("{\"faults\": [{\"status\": 400, \"type\": \"ExpiredTokenException\"}]}");
    HS_CHECK_ERR(inv->ops->get(inv, serial, r), HS_ERR_IO);
    HS_CHECK(stat_of("targets", "GetItem") - gets == 2);
}

/* Answers are bounded; each attempt has a total timeout. */
/* Keygen records when an answer is lost after the write was applied (st_keygen.h): put and
 * complete recognise their own earlier attempt; a take whose delete was applied cannot give the
 * result any more and says so (HS_ERR_IO), never "pending" or "not found"; a cancel is done. A
 * DynamoDB that stays unavailable is HS_ERR_STORE_UNAVAILABLE and changes nothing. */
HS_TEST(keygen_lost_answers)
{
    HS_DEFER(struct st_inventory *inv = open_table(table, 0), inventory_closep);
    const char *id = "abcdefabcdefabcdefabcdefabcdef01";
    const char *owner = "arn:aws:iam::111122223333:user/kg";
    const unsigned char sealed[5] = {1, 2, 3, 4, 5};
    time_t now = time(NULL);
    enum st_keygen_status st = ST_KEYGEN_PENDING;
    struct hs_buf *out = NULL;
    faults("{\"faults\": [{\"status\": 500, \"type\": \"InternalServerError\", \"apply\": true}]}");
    HS_CHECK_OK(st_keygen_put_pending(inv, id, owner, now, now + 60));
    HS_CHECK_ERR(st_keygen_put_pending(inv, id, owner, now, now + 60), HS_ERR_INPUT_EXISTS);
    faults("{\"faults\": [{\"status\": 500, \"type\": \"InternalServerError\", \"apply\": true}]}");
    HS_CHECK_OK(st_keygen_complete(inv, id, ST_KEYGEN_DONE, sealed, sizeof(sealed), now, now + 60));
    HS_CHECK_ERR(st_keygen_complete(inv, id, ST_KEYGEN_DONE, sealed, sizeof(sealed), now, now + 60),
                 HS_ERR_INPUT_EXISTS);
    faults("{\"faults\": [{\"status\": 500, \"type\": \"InternalServerError\", \"apply\": true}]}");
    HS_CHECK_ERR(st_keygen_take(inv, id, owner, now, &st, &out), HS_ERR_IO);
    HS_CHECK(out == NULL && strstr(hs_error_last()->detail, "is gone") != NULL);
    HS_CHECK_ERR(st_keygen_take(inv, id, owner, now, &st, &out), HS_ERR_INPUT_NOT_FOUND);

    HS_CHECK_OK(st_keygen_put_pending(inv, id, owner, now, now + 60));
    faults("{\"faults\": [{\"status\": 500, \"type\": \"InternalServerError\", \"apply\": true}]}");
    HS_CHECK_OK(st_keygen_cancel(inv, id, owner));
    HS_CHECK_ERR(st_keygen_take(inv, id, owner, now, &st, &out), HS_ERR_INPUT_NOT_FOUND);

    /* Unavailable to the last attempt: nothing written. */
    faults("{\"faults\": [{\"status\": 500, \"type\": \"InternalServerError\"},"
           " {\"status\": 500, \"type\": \"InternalServerError\"},"
           " {\"status\": 500, \"type\": \"InternalServerError\"}]}");
    HS_CHECK_ERR(st_keygen_put_pending(inv, id, owner, now, now + 60), HS_ERR_STORE_UNAVAILABLE);
    HS_CHECK_ERR(st_keygen_take(inv, id, owner, now, &st, &out), HS_ERR_INPUT_NOT_FOUND);
    HS_CHECK(out == NULL && st == ST_KEYGEN_PENDING);
}

HS_TEST(bounded_answers_and_timeouts)
{
    struct st_dynamodb_config c = config(table);
    c.timeout_ms = 300;
    HS_DEFER(struct st_inventory *inv = NULL, inventory_closep);
    HS_CHECK_OK(st_dynamodb_open(&c, &inv));
    HS_DEFER(struct st_cert_record *r = hs_test_record_new("1"), hs_test_record_freep);
    faults("{\"faults\": [{\"big\": true}]}");
    HS_CHECK_ERR(inv->ops->get(inv, "abc", r), HS_ERR_IO);
    HS_CHECK(strstr(hs_error_last()->detail, "larger than") != NULL);
    faults("{\"faults\": [{\"delay_ms\": 1000}, {\"delay_ms\": 1000}, {\"delay_ms\": 1000}]}");
    double t = hs_test_now_s();
    HS_CHECK_ERR(inv->ops->get(inv, "abc", r), HS_ERR_STORE_UNAVAILABLE); /* timed out */
    HS_CHECK(hs_test_now_s() - t < 2.0);
    HS_CHECK(strstr(hs_error_last()->detail, "imeout") != NULL);
    hs_test_sleep_ms(1200); /* the delayed requests finish before the next case */
}

HS_TEST(wrong_configuration)
{
    struct st_inventory *inv = NULL;
    struct st_dynamodb_config c = config(table);
    setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret", 1);
    HS_CHECK_ERR(st_dynamodb_open(&c, &inv), HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "InvalidSignatureException") != NULL);
    setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000001", 1);
    HS_CHECK_ERR(st_dynamodb_open(&c, &inv), HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "UnrecognizedClientException") != NULL);
    unsetenv("AWS_ACCESS_KEY_ID");
    HS_CHECK_ERR(st_dynamodb_open(&c, &inv), HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "no AWS credentials") != NULL);
    env_credentials();
    c.region = "us-east-1"; /* signed for another region */
    HS_CHECK_ERR(st_dynamodb_open(&c, &inv), HS_ERR_INPUT_CONFIG);
    c = config("no-such-table");
    HS_CHECK_ERR(st_dynamodb_open(&c, &inv), HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "does not exist") != NULL);
    c = config(table);
    c.endpoint = "http://127.0.0.1:1"; /* nothing listens */
    HS_CHECK_ERR(st_dynamodb_open(&c, &inv), HS_ERR_STORE_UNAVAILABLE);
    static const char *const bad_endpoints[] = {"http://dynamodb.eu-west-1.amazonaws.com",
                                                "https://u:p@example.com", "ftp://127.0.0.1",
                                                "https://example.com/path", "not a url"};
    for (size_t i = 0; i < sizeof(bad_endpoints) / sizeof(bad_endpoints[0]); i++) {
        c.endpoint = bad_endpoints[i];
        HS_CHECK_ERR(st_dynamodb_config_check(&c), HS_ERR_INPUT_CONFIG);
    }
    c = config("x");
    HS_CHECK_ERR(st_dynamodb_config_check(&c), HS_ERR_INPUT_CONFIG);
    c = config("bad/name");
    HS_CHECK_ERR(st_dynamodb_config_check(&c), HS_ERR_INPUT_CONFIG);
    c = config(table);
    c.timeout_ms = 5;
    HS_CHECK_ERR(st_dynamodb_config_check(&c), HS_ERR_INPUT_CONFIG);
    c.timeout_ms = 0;
    c.endpoint = NULL; /* https://dynamodb.<region>.amazonaws.com */
    HS_CHECK_OK(st_dynamodb_config_check(&c));
}

/* The container credentials provider (as ECS offers it): fetched at open with the
 * authorization token, used with their session token, fetched again near Expiration. */
HS_TEST(container_credentials)
{
    char uri[256];
    snprintf(uri, sizeof(uri), "%s/creds", endpoint);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong", 1);
    struct st_dynamodb_config c = config(table);
    struct st_inventory *bad = NULL;
    HS_CHECK_ERR(st_dynamodb_open(&c, &bad), HS_ERR_IO);
    HS_CHECK(strstr(hs_error_last()->detail, "HTTP 401") != NULL);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", creds_auth, 1);
    long fetches = stat_of("creds_fetches", NULL);
    {
        HS_DEFER(struct st_inventory *inv = open_table(table, 0), inventory_closep);
        HS_CHECK(stat_of("creds_fetches", NULL) == fetches + 1);
        uint64_t n = 0;
        for (int i = 0; i < 5; i++) {
            HS_CHECK_OK(inv->ops->next_crl_number(inv, &n));
        }
        HS_CHECK(stat_of("creds_fetches", NULL) == fetches + 1);
        /* ExpiredTokenException: fetched again at once, and the call is retried. */
        faults("{\"faults\": [{\"status\": 400, \"type\": \"ExpiredTokenException\"}]}");
        HS_CHECK_OK(inv->ops->next_crl_number(inv, &n));
        HS_CHECK(stat_of("creds_fetches", NULL) == fetches + 2);
        fetches++;
    }
    /* Credentials valid for 60 s are within the 5 minutes of refresh: each call fetches. */
    json_object_put(hs_test_dynalite_ctl(endpoint, "/__config", NULL, "{\"creds_ttl_s\": 60}"));
    {
        HS_DEFER(struct st_inventory *inv = open_table(table, 0), inventory_closep);
        uint64_t n = 0;
        long opened = stat_of("creds_fetches", NULL);
        HS_CHECK_OK(inv->ops->next_crl_number(inv, &n));
        HS_CHECK_OK(inv->ops->next_crl_number(inv, &n));
        HS_CHECK(stat_of("creds_fetches", NULL) == opened + 2);
    }
    json_object_put(hs_test_dynalite_ctl(endpoint, "/__config", NULL, "{\"creds_ttl_s\": 3600}"));
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1/creds", 1);
    HS_CHECK_ERR(st_dynamodb_open(&c, &bad), HS_ERR_INPUT_CONFIG);
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "no-slash", 1);
    HS_CHECK_ERR(st_dynamodb_open(&c, &bad), HS_ERR_INPUT_CONFIG);
    env_credentials();
}

/* Lambda's way: a key pair and its session token in the environment; the token is sent (and
 * signed) as x-amz-security-token, a wrong one is refused. */
HS_TEST(session_token_from_environment)
{
    env_session_credentials();
    {
        HS_DEFER(struct st_inventory *inv = open_table(table, 0), inventory_closep);
        uint64_t n = 0;
        HS_CHECK_OK(inv->ops->next_crl_number(inv, &n));
    }
    setenv("AWS_SESSION_TOKEN", "IQoJnot-the-token", 1);
    struct st_dynamodb_config c = config(table);
    struct st_inventory *bad = NULL;
    HS_CHECK_ERR(st_dynamodb_open(&c, &bad), HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "UnrecognizedClientException") != NULL);
    env_credentials();
}

int main(void)
{
    endpoint = getenv("HSMSIGN_TEST_DYNAMO_ENDPOINT");
    if (endpoint == NULL) {
        hs_test_skip_or_fail("no dynalite: run through tests/dynamo/dynalite.sh run (CTest does)");
    }
    table = hs_test_env("HSMSIGN_TEST_DYNAMO_TABLE");
    region = hs_test_env("HSMSIGN_TEST_DYNAMO_REGION");
    akid = hs_test_env("HSMSIGN_TEST_DYNAMO_AKID");
    secret = hs_test_env("HSMSIGN_TEST_DYNAMO_SECRET");
    creds_auth = hs_test_env("HSMSIGN_TEST_DYNAMO_CREDS_AUTH");
    run_stamp = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    env_credentials();
    int rc = hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(counters_across_instances),
        HS_TEST_CASE(list_revoked_follows_pages),
        HS_TEST_CASE(kind_attribute_and_partitions),
        HS_TEST_CASE(list_revoked_waits_for_the_gsi_to_settle),
        HS_TEST_CASE(retries),
        HS_TEST_CASE(bounded_answers_and_timeouts),
        HS_TEST_CASE(wrong_configuration),
        HS_TEST_CASE(container_credentials),
        HS_TEST_CASE(session_token_from_environment),
        HS_TEST_CASE(keygen_lost_answers),
        HS_TEST_END,
    });
    curl_global_cleanup();
    return rc;
}
