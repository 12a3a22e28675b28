/*
 * The DynamoDB certificate inventory against a real dynalite (tests/dynamo/dynalite.sh run
 * starts it on a free port of 127.0.0.1 behind a front that checks every SigV4 signature and
 * can inject faults, and sets HSMSIGN_TEST_DYNAMO_*): every operation and field round-trips,
 * duplicates are refused, revocation is idempotent, the generation and CRL numbers only grow
 * (also as another instance sees them), list_revoked follows several pages in serial order,
 * throttling and 5xx answers are retried (and a write whose answer was lost is recognised),
 * wrong credentials, tables and endpoints fail clearly, container credentials are fetched and
 * refreshed, and 16 threads put at once. Prints puts/s at 1 and 16 threads (a measurement).
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
#include "tests/testlib/hs_test.h"

#define T0 1700000000 /* 2023-11-14 */
#define THREADS 16
#define THREAD_PUTS 25
#define BENCH_PUTS 200
#define LIST_REVOKED 11
#define CTL_MAX 65536

static const char *endpoint;
static const char *table;
static const char *region;
static const char *akid;
static const char *secret;
static const char *creds_auth;
static unsigned serial_counter;
static unsigned run_stamp; /* makes this run's serials new to the table */

/* --- helpers --------------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* A fresh serial for this run: 16 hex digits, numeric and text order agree. */
static void next_serial(char out[ST_INV_SERIAL_MAX + 1])
{
    snprintf(out, ST_INV_SERIAL_MAX + 1, "%x%07x%08x", 1 + run_stamp % 15, ++serial_counter,
             run_stamp);
}

static struct st_cert_record *rec_new(const char *serial)
{
    struct st_cert_record *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        abort();
    }
    snprintf(r->serial_hex, sizeof(r->serial_hex), "%s", serial);
    snprintf(r->subject, sizeof(r->subject), "CN=%s.example.com,O=Ex\\2C \"Q\"", serial);
    snprintf(r->sans, sizeof(r->sans), "[\"DNS:%s.example.com\",\"IP:10.0.0.1\"]", serial);
    r->not_before = T0;
    r->not_after = T0 + 30 * 86400;
    snprintf(r->requester, sizeof(r->requester), "arn:aws:iam::123456789012:role/issuer");
    snprintf(r->profile, sizeof(r->profile), "server");
    for (size_t i = 0; i < sizeof(r->spki_sha256); i++) {
        r->spki_sha256[i] = (unsigned char)(i * 7 + (unsigned char)serial[0]);
        r->cert_sha256[i] = (unsigned char)(255 - i * 3);
    }
    r->status = ST_CERT_GOOD;
    r->revoked_at = 0;
    r->reason = -1;
    return r;
}

HS_DEFINE_FREEP(rec_freep, struct st_cert_record, free)

static bool rec_equal(const struct st_cert_record *a, const struct st_cert_record *b)
{
    return strcmp(a->serial_hex, b->serial_hex) == 0 && strcmp(a->subject, b->subject) == 0 &&
           strcmp(a->sans, b->sans) == 0 && a->not_before == b->not_before &&
           a->not_after == b->not_after && strcmp(a->requester, b->requester) == 0 &&
           strcmp(a->profile, b->profile) == 0 &&
           memcmp(a->spki_sha256, b->spki_sha256, sizeof(a->spki_sha256)) == 0 &&
           memcmp(a->cert_sha256, b->cert_sha256, sizeof(a->cert_sha256)) == 0 &&
           a->status == b->status && a->revoked_at == b->revoked_at && a->reason == b->reason;
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

static size_t ctl_write(char *p, size_t size, size_t nmemb, void *cls)
{
    char *out = cls;
    size_t have = strlen(out);
    size_t n = size * nmemb;
    if (have + n >= CTL_MAX) {
        return 0;
    }
    memcpy(out + have, p, n);
    out[have + n] = '\0';
    return n;
}

/* A control call to the dynalite front (GET when body is NULL); returns the parsed answer. */
static json_object *ctl(const char *path, const char *body)
{
    char url[256];
    static char answer[CTL_MAX];
    answer[0] = '\0';
    snprintf(url, sizeof(url), "%s%s", endpoint, path);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ctl_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, (void *)answer);
    if (body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    }
    CURLcode rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK) {
        fprintf(stderr, "control %s: %s\n", path, curl_easy_strerror(rc));
        abort();
    }
    return json_tokener_parse(answer);
}

/* Fetches a key pair with a session token from the front's container credentials endpoint
 * (as STS would hand one to Lambda) and puts it into the environment. */
static void env_session_credentials(void)
{
    char url[256];
    char auth[256];
    static char answer[CTL_MAX];
    answer[0] = '\0';
    snprintf(url, sizeof(url), "%s/creds", endpoint);
    snprintf(auth, sizeof(auth), "Authorization: %s", creds_auth);
    struct curl_slist *hdrs = curl_slist_append(NULL, auth);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ctl_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, (void *)answer);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    json_object *doc = rc == CURLE_OK ? json_tokener_parse(answer) : NULL;
    json_object *k = NULL;
    json_object *sk = NULL;
    json_object *t = NULL;
    if (doc == NULL || !json_object_object_get_ex(doc, "AccessKeyId", &k) ||
        !json_object_object_get_ex(doc, "SecretAccessKey", &sk) ||
        !json_object_object_get_ex(doc, "Token", &t)) {
        fprintf(stderr, "no credentials from %s\n", url);
        abort();
    }
    setenv("AWS_ACCESS_KEY_ID", json_object_get_string(k), 1);
    setenv("AWS_SECRET_ACCESS_KEY", json_object_get_string(sk), 1);
    setenv("AWS_SESSION_TOKEN", json_object_get_string(t), 1);
    json_object_put(doc);
}

static void faults(const char *json)
{
    json_object_put(ctl("/__faults", json));
}

/* A counter of the front's /__stats: "requests", "auth_failures", "creds_fetches" or, with
 * target, the requests of one action. */
static long stat_of(const char *name, const char *target)
{
    json_object *doc = ctl("/__stats", NULL);
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
    json_object_put(ctl("/__create_table", body));
}

static void inventory_closep(struct st_inventory **inv)
{
    st_inventory_close(*inv);
}

/* --- cases ------------------------------------------------------------------------------------ */

HS_TEST(round_trip)
{
    HS_DEFER(struct st_inventory *inv = open_table(table, 0), inventory_closep);
    char serial[ST_INV_SERIAL_MAX + 1];
    next_serial(serial);
    HS_DEFER(struct st_cert_record *r = rec_new(serial), rec_freep);
    HS_DEFER(struct st_cert_record *got = rec_new("1"), rec_freep);
    memset(r->sans, 'x', ST_INV_SANS_MAX); /* the longest text fields */
    r->sans[ST_INV_SANS_MAX] = '\0';
    memset(r->requester, 'r', ST_INV_PRINCIPAL_MAX);
    r->requester[ST_INV_PRINCIPAL_MAX] = '\0';
    HS_CHECK_OK(inv->ops->put(inv, r));
    HS_CHECK_OK(inv->ops->get(inv, serial, got));
    HS_CHECK(rec_equal(r, got));

    /* An empty subject, a revoked record put as such (it bumps the generation). */
    uint64_t g0 = inv->ops->generation(inv);
    next_serial(serial);
    HS_DEFER(struct st_cert_record *rv = rec_new(serial), rec_freep);
    rv->subject[0] = '\0';
    rv->status = ST_CERT_REVOKED;
    rv->revoked_at = T0 + 100;
    rv->reason = 1;
    HS_CHECK_OK(inv->ops->put(inv, rv));
    HS_CHECK_OK(inv->ops->get(inv, serial, got));
    HS_CHECK(rec_equal(rv, got));
    HS_CHECK(inv->ops->generation(inv) == g0 + 1);
}

HS_TEST(refused_before_the_store)
{
    HS_DEFER(struct st_inventory *inv = open_table(table, 0), inventory_closep);
    HS_DEFER(struct st_cert_record *r = rec_new("abc"), rec_freep);
    long before = stat_of("requests", NULL);
    static const char *const bad_serials[] = {
        "", "00ab", "ABC", "xyz", "meta#crl_number", "0123456789abcdef0123456789abcdef012345678"};
    for (size_t i = 0; i < sizeof(bad_serials) / sizeof(bad_serials[0]); i++) {
        HS_CHECK_ERR(inv->ops->get(inv, bad_serials[i], r), HS_ERR_INPUT_FIELD);
        HS_CHECK_ERR(inv->ops->revoke(inv, bad_serials[i], T0, 1, NULL), HS_ERR_INPUT_FIELD);
    }
    r->reason = 7;
    HS_CHECK_ERR(inv->ops->put(inv, r), HS_ERR_INPUT_RANGE);
    r->reason = -1;
    r->not_before = r->not_after + 1;
    HS_CHECK_ERR(inv->ops->put(inv, r), HS_ERR_INPUT_RANGE);
    HS_CHECK_ERR(inv->ops->revoke(inv, "abc", 0, 1, NULL), HS_ERR_INPUT_RANGE);
    HS_CHECK_ERR(inv->ops->revoke(inv, "abc", T0, 11, NULL), HS_ERR_INPUT_RANGE);
    HS_CHECK(stat_of("requests", NULL) == before);
}

HS_TEST(duplicate_and_missing)
{
    HS_DEFER(struct st_inventory *inv = open_table(table, 0), inventory_closep);
    char serial[ST_INV_SERIAL_MAX + 1];
    next_serial(serial);
    HS_DEFER(struct st_cert_record *r = rec_new(serial), rec_freep);
    HS_CHECK_OK(inv->ops->put(inv, r));
    HS_CHECK_ERR(inv->ops->put(inv, r), HS_ERR_INPUT_EXISTS);
    r->cert_sha256[0] ^= 1; /* another certificate with the same serial */
    HS_CHECK_ERR(inv->ops->put(inv, r), HS_ERR_INPUT_EXISTS);
    HS_CHECK_ERR(inv->ops->get(inv, "fedcba9876543210fedcba98", r), HS_ERR_INPUT_NOT_FOUND);
}

HS_TEST(revoke_is_idempotent)
{
    HS_DEFER(struct st_inventory *inv = open_table(table, 0), inventory_closep);
    char serial[ST_INV_SERIAL_MAX + 1];
    next_serial(serial);
    HS_DEFER(struct st_cert_record *r = rec_new(serial), rec_freep);
    HS_DEFER(struct st_cert_record *got = rec_new("1"), rec_freep);
    HS_CHECK_OK(inv->ops->put(inv, r));
    uint64_t g0 = inv->ops->generation(inv);
    bool changed = false;
    HS_CHECK_OK(inv->ops->revoke(inv, serial, T0 + 50, 1, &changed));
    HS_CHECK(changed);
    HS_CHECK(inv->ops->generation(inv) == g0 + 1);
    HS_CHECK_OK(inv->ops->revoke(inv, serial, T0 + 60, 4, &changed));
    HS_CHECK(!changed);
    HS_CHECK_OK(inv->ops->revoke(inv, serial, T0 + 70, 5, NULL));
    HS_CHECK(inv->ops->generation(inv) == g0 + 1);
    HS_CHECK_OK(inv->ops->get(inv, serial, got));
    HS_CHECK(got->status == ST_CERT_REVOKED && got->revoked_at == T0 + 50 && got->reason == 1);
    HS_CHECK_ERR(inv->ops->revoke(inv, "fedcba9876543210fedcba97", T0, 1, &changed),
                 HS_ERR_INPUT_NOT_FOUND);
}

/* CRL numbers and the generation only grow; a second instance on the same table sees another
 * instance's revocation within the generation cache's second. */
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
    HS_DEFER(struct st_cert_record *r = rec_new(serial), rec_freep);
    HS_CHECK_OK(a->ops->put(a, r));
    uint64_t gb = b->ops->generation(b);
    HS_CHECK_OK(a->ops->revoke(a, serial, T0 + 1, 0, NULL));
    uint64_t seen = b->ops->generation(b);
    double t = now_s();
    while (seen == gb && now_s() - t < 3) {
        sleep_ms(50);
        seen = b->ops->generation(b);
    }
    HS_CHECK(seen == gb + 1);
    HS_CHECK(now_s() - t < 1.5);
    HS_CHECK(a->ops->generation(a) == seen);
}

/* list_revoked over several pages (Limit 3), in serial order, without the expired ones, with
 * HS_ERR_BOUNDS and the total when out is too small. */
HS_TEST(list_revoked_pages)
{
    create_table("inventory-list");
    HS_DEFER(struct st_inventory *inv = open_table("inventory-list", 3), inventory_closep);
    char serials[LIST_REVOKED][ST_INV_SERIAL_MAX + 1];
    for (int i = 0; i < LIST_REVOKED; i++) {
        /* Inserted out of order; serials of one length sort numerically. */
        snprintf(serials[i], sizeof(serials[i]), "%x%015x", 1 + i, (unsigned)(i * 7919) % 97);
        HS_DEFER(struct st_cert_record *r = rec_new(serials[i]), rec_freep);
        r->not_after = T0 + (i % 4 == 0 ? 10 : 1000); /* every fourth expires before T0 + 500 */
        HS_CHECK_OK(inv->ops->put(inv, r));
    }
    for (int i = LIST_REVOKED - 1; i >= 0; i--) {
        if (i != 5) { /* one stays good */
            HS_CHECK_OK(inv->ops->revoke(inv, serials[i], T0 + 100 + i, i % 6, NULL));
        }
    }
    struct st_revoked_entry out[LIST_REVOKED];
    size_t n = 0;
    long queries = stat_of("targets", "Query");
    HS_CHECK_OK(inv->ops->list_revoked(inv, T0 + 500, out, LIST_REVOKED, &n));
    HS_CHECK(stat_of("targets", "Query") - queries >= 3);
    size_t want = 0;
    for (int i = 0; i < LIST_REVOKED; i++) {
        if (i == 5 || i % 4 == 0) {
            continue;
        }
        HS_CHECK(want < n && strcmp(out[want].serial_hex, serials[i]) == 0 &&
                 out[want].revoked_at == T0 + 100 + i && out[want].reason == i % 6);
        want++;
    }
    HS_CHECK(n == want && want == 7);
    HS_CHECK_OK(inv->ops->list_revoked(inv, 0, out, LIST_REVOKED, &n));
    HS_CHECK(n == LIST_REVOKED - 1);
    n = 0;
    HS_CHECK_ERR(inv->ops->list_revoked(inv, T0 + 500, out, 2, &n), HS_ERR_BOUNDS);
    HS_CHECK(n == 7 && strcmp(out[0].serial_hex, serials[1]) == 0 &&
             strcmp(out[1].serial_hex, serials[2]) == 0);
    HS_CHECK_ERR(inv->ops->list_revoked(inv, T0 + 500, NULL, 0, &n), HS_ERR_BOUNDS);
    HS_CHECK(n == 7);
}

/* Throttling and 5xx are retried (3 attempts in all); a write whose answer was lost is
 * recognised when its retry fails the condition; other errors are not retried. */
HS_TEST(retries)
{
    HS_DEFER(struct st_inventory *inv = open_table(table, 0), inventory_closep);
    char serial[ST_INV_SERIAL_MAX + 1];
    next_serial(serial);
    HS_DEFER(struct st_cert_record *r = rec_new(serial), rec_freep);
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
    HS_CHECK_ERR(inv->ops->put(inv, r), HS_ERR_IO);
    HS_CHECK(strstr(hs_error_last()->detail, "3 attempts") != NULL);
    HS_CHECK_ERR(inv->ops->get(inv, serial, r), HS_ERR_INPUT_NOT_FOUND);

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
HS_TEST(bounded_answers_and_timeouts)
{
    struct st_dynamodb_config c = config(table);
    c.timeout_ms = 300;
    HS_DEFER(struct st_inventory *inv = NULL, inventory_closep);
    HS_CHECK_OK(st_dynamodb_open(&c, &inv));
    HS_DEFER(struct st_cert_record *r = rec_new("1"), rec_freep);
    faults("{\"faults\": [{\"big\": true}]}");
    HS_CHECK_ERR(inv->ops->get(inv, "abc", r), HS_ERR_IO);
    HS_CHECK(strstr(hs_error_last()->detail, "larger than") != NULL);
    faults("{\"faults\": [{\"delay_ms\": 1000}, {\"delay_ms\": 1000}, {\"delay_ms\": 1000}]}");
    double t = now_s();
    HS_CHECK_ERR(inv->ops->get(inv, "abc", r), HS_ERR_IO);
    HS_CHECK(now_s() - t < 2.0);
    HS_CHECK(strstr(hs_error_last()->detail, "imeout") != NULL);
    sleep_ms(1200); /* the delayed requests finish before the next case */
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
    HS_CHECK_ERR(st_dynamodb_open(&c, &inv), HS_ERR_IO);
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
    json_object_put(ctl("/__config", "{\"creds_ttl_s\": 60}"));
    {
        HS_DEFER(struct st_inventory *inv = open_table(table, 0), inventory_closep);
        uint64_t n = 0;
        long opened = stat_of("creds_fetches", NULL);
        HS_CHECK_OK(inv->ops->next_crl_number(inv, &n));
        HS_CHECK_OK(inv->ops->next_crl_number(inv, &n));
        HS_CHECK(stat_of("creds_fetches", NULL) == opened + 2);
    }
    json_object_put(ctl("/__config", "{\"creds_ttl_s\": 3600}"));
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

struct put_job {
    struct st_inventory *inv;
    int index;
    int puts;
    int failures;
};

static void *put_thread(void *arg)
{
    struct put_job *j = arg;
    for (int i = 0; i < j->puts; i++) {
        char serial[ST_INV_SERIAL_MAX + 1];
        snprintf(serial, sizeof(serial), "c%02x%05x%08x", j->index, i, run_stamp);
        struct st_cert_record *r = rec_new(serial);
        j->failures += hs_failed(j->inv->ops->put(j->inv, r));
        free(r);
    }
    return NULL;
}

static double run_puts(struct st_inventory *inv, int threads, int puts, int *failures)
{
    pthread_t t[THREADS];
    struct put_job jobs[THREADS];
    double start = now_s();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (struct put_job){inv, i + (threads == 1 ? 0x80 : 0), puts, 0};
        pthread_create(&t[i], NULL, put_thread, &jobs[i]);
    }
    *failures = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        *failures += jobs[i].failures;
    }
    return (double)(threads * puts) / (now_s() - start);
}

HS_TEST(concurrent_puts)
{
    create_table("inventory-bench");
    HS_DEFER(struct st_inventory *inv = open_table("inventory-bench", 0), inventory_closep);
    int failures = 0;
    double one = run_puts(inv, 1, BENCH_PUTS, &failures);
    HS_CHECK(failures == 0);
    double many = run_puts(inv, THREADS, THREAD_PUTS, &failures);
    HS_CHECK(failures == 0);
    printf("  puts/s against dynalite: %.0f (1 thread), %.0f (%d threads)\n", one, many, THREADS);
    /* Every record of the 16 threads is there. */
    HS_DEFER(struct st_cert_record *got = rec_new("1"), rec_freep);
    int missing = 0;
    for (int i = 0; i < THREADS; i++) {
        for (int k = 0; k < THREAD_PUTS; k++) {
            char serial[ST_INV_SERIAL_MAX + 1];
            snprintf(serial, sizeof(serial), "c%02x%05x%08x", i, k, run_stamp);
            missing += hs_failed(inv->ops->get(inv, serial, got));
        }
    }
    HS_CHECK(missing == 0);
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
        HS_TEST_CASE(round_trip), HS_TEST_CASE(refused_before_the_store),
        HS_TEST_CASE(duplicate_and_missing), HS_TEST_CASE(revoke_is_idempotent),
        HS_TEST_CASE(counters_across_instances), HS_TEST_CASE(list_revoked_pages),
        HS_TEST_CASE(retries), HS_TEST_CASE(bounded_answers_and_timeouts),
        HS_TEST_CASE(wrong_configuration), HS_TEST_CASE(container_credentials),
        HS_TEST_CASE(session_token_from_environment), HS_TEST_CASE(concurrent_puts), HS_TEST_END});
    curl_global_cleanup();
    return rc;
}
