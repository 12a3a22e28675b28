#include "store/st_dynamodb.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "aws/aws_creds.h"
#include "aws/aws_http.h"
#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "common/hs_log.h"
#include "common/hs_secret.h"
#include "store/internal.h"
#include "store/st_keygen.h"

/*
 * Design (see st_dynamodb.h for the contract):
 *
 * - st_ddb_call() sends one action: it serialises the request once and hands it to aws_http
 *   (aws/aws_http.h) for up to ST_DDB_ATTEMPTS attempts, on a handle borrowed from the pool (so
 *   connections are kept between calls). Each attempt asks the credentials provider
 *   (aws/aws_creds.h, cached until 5 minutes before expiry) and is signed by libcurl;
 *   st_ddb_classify() sorts DynamoDB's answers (throttling, 5xx, ExpiredTokenException). The
 *   caller sees a parsed 200 answer, or a failure with DynamoDB's __type in the reply
 *   (ConditionalCheckFailedException is an answer the operations handle themselves).
 * - "ambiguous" records that an earlier attempt may have been applied although its answer was
 *   lost (a 5xx or a transport failure after connecting). put and revoke use it to recognise
 *   their own earlier attempt when the retried conditional write fails its condition.
 * - The generation is cached (gen_lock) and refreshed by generation() at most once a
 *   ST_DDB_GENERATION_CACHE_MS, outside the lock; this instance's own bumps update it at
 *   once. gen_changed_ms remembers when it last grew, for list_revoked's settle wait.
 */

#define ST_DDB_TARGET "X-Amz-Target: DynamoDB_20120810."
#define ST_DDB_CONTENT_TYPE "Content-Type: application/x-amz-json-1.0"
#define ST_DDB_META_CRL "meta#crl_number"
#define ST_DDB_META_GENERATION "meta#revocation_generation"
#define ST_DDB_GSI "revoked"
#define ST_DDB_REVOKED_PART "revoked"         /* the GSI partition of revoked X.509 records */
#define ST_DDB_REVOKED_PART_SSH "revoked#ssh" /* ... and of revoked SSH records */
#define ST_DDB_GSI_KRL "krl"                  /* the GSI of revoked SSH records, for the KRL */
#define ST_DDB_KRL_SERIAL_DIGITS 40           /* krl_sort pads the serial to this many digits */
#define ST_DDB_KRL_SORT_LEN (2 * ST_DDB_HASH_LEN + 1 + ST_DDB_KRL_SERIAL_DIGITS)
#define ST_DDB_TTL_GRACE_S (90LL * 86400) /* expires_at = not_after + 90 days */
#define ST_DDB_POOL_MAX 32                /* idle aws_http handles kept */
#define ST_DDB_BACKOFF_MS 50
#define ST_DDB_THROTTLE_BACKOFF_MS 200
#define ST_DDB_TIMEOUT_MS_MIN 10
#define ST_DDB_TYPE_MAX 96 /* the short name of an error's __type */
#define ST_DDB_LINE_MAX 160
#define ST_DDB_PAGES_MAX 100000
#define ST_DDB_HASH_LEN 32
#define ST_DDB_HASH_B64_LEN 44 /* base64 of 32 bytes, one '=' of padding */
#define ST_DDB_NUM_MAX 20      /* characters of a stored int64 ("-" and 19 digits) */
#define ST_DDB_REASON_MAX 10

struct st_inv_ddb {
    struct st_inventory base; /* first: the ops see a struct st_inventory * */
    char table[ST_DDB_TABLE_MAX + 1];
    char url[ST_DDB_URL_MAX];
    char sigv4[sizeof("aws:amz::dynamodb") + ST_DDB_REGION_MAX];
    bool local; /* the endpoint is plain http to a loopback address (tests) */
    long timeout_ms;
    int page_limit;
    bool curl_global;

    char region[ST_DDB_REGION_MAX + 1];

    pthread_mutex_t pool_lock; /* guards idle and nidle */
    struct aws_http *idle[ST_DDB_POOL_MAX];
    size_t nidle;

    struct aws_creds_provider *creds; /* the chain of aws_creds.h, cached */

    pthread_mutex_t gen_lock; /* guards the fields below */
    uint64_t gen;
    int64_t gen_read_ms;    /* monotonic ms of the last read of the counter (or own bump) */
    int64_t gen_changed_ms; /* monotonic ms when gen last grew (or the store opened) */
};

/* What st_ddb_call() leaves for its caller. */
struct st_ddb_reply {
    json_object *doc;               /* the answer, on success */
    char type[ST_DDB_TYPE_MAX + 1]; /* on failure: DynamoDB's __type (short), or "" */
    bool ambiguous;                 /* an earlier attempt may have been applied */
};

/* An aws_http handle borrowed from the pool. */
struct st_ddb_lease {
    struct st_inv_ddb *d;
    struct aws_http *h;
};

/* The revoked entries list_revoked (out) or list_revoked_ssh (ssh_out) collects over the
 * pages. */
struct st_ddb_listing {
    struct st_revoked_entry *out;
    struct st_ssh_revoked_entry *ssh_out;
    bool ssh; /* which of the two */
    size_t max;
    size_t total;
    char last[ST_DDB_KRL_SORT_LEN + 1]; /* the previous range key, to check the order */
};

/* One listing Query: its GSI, its partition there, and the one attribute besides serial,
 * not_after and revoked_at it reads (its name and its #placeholder). */
struct st_ddb_query {
    const char *index;
    const char *part;
    const char *projection; /* ProjectionExpression */
    const char *extra_key;  /* "#rn" */
    const char *extra_name; /* "reason" */
};

/* A revocation as revoke sends it: the record's kind and, for SSH, its CA key (for krl_sort). */
struct st_ddb_revocation {
    const char *serial;
    time_t at;
    int reason;
    enum st_kind kind;
    unsigned char issuer[ST_DDB_HASH_LEN];
};

static const struct st_inventory_ops st_ddb_ops;

static struct st_inv_ddb *st_ddb_cast(struct st_inventory *inv)
{
    return inv != NULL && inv->ops == &st_ddb_ops ? (struct st_inv_ddb *)inv : NULL;
}

/* --- small helpers ----------------------------------------------------------------------------- */

static int64_t st_ddb_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void st_ddb_sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void st_ddb_reply_clear(struct st_ddb_reply *r)
{
    json_object_put(r->doc);
    r->doc = NULL;
}

HS_DEFINE_FREEP(st_ddb_record_freep, struct st_cert_record, free)

/* True when every byte of s[0..n) is an ASCII letter or digit or in extra. */
static bool st_ddb_chars_ok(const char *s, size_t n, const char *extra)
{
    return aws_chars_ok(s, n, extra);
}

/* Copies s (at most size - 1 bytes) into out. Errors: HS_ERR_BOUNDS. */
static HS_RESULT st_ddb_copy(char *out, size_t size, const char *s)
{
    size_t n = strnlen(s, size);
    HS_ENSURE(n < size, HS_ERR_BOUNDS);
    memcpy(out, s, n + 1);
    return HS_OK;
}

/* --- DynamoDB JSON: building requests ---------------------------------------------------------- */

/* Adds {"<type>": v} to obj under name; takes v (also on failure, as hs_json_add does). */
static HS_RESULT st_ddb_add_value(json_object *obj, const char *name, const char *type,
                                  json_object *v)
{
    HS_DEFER(json_object *owned = v, hs_json_putp);
    HS_DEFER(json_object *attr = json_object_new_object(), hs_json_putp);
    HS_ENSURE(owned != NULL && attr != NULL, HS_ERR_NOMEM);
    json_object *give = owned;
    owned = NULL;
    HS_GUARD(hs_json_add(attr, type, give));
    give = attr;
    attr = NULL;
    return hs_json_add(obj, name, give);
}

static HS_RESULT st_ddb_add_s(json_object *obj, const char *name, const char *s)
{
    return st_ddb_add_value(obj, name, "S", json_object_new_string(s));
}

static HS_RESULT st_ddb_add_n(json_object *obj, const char *name, long long v)
{
    char text[ST_DDB_NUM_MAX + 2];
    int n = snprintf(text, sizeof(text), "%lld", v);
    HS_ENSURE(n > 0 && (size_t)n < sizeof(text), HS_ERR_BOUNDS);
    return st_ddb_add_value(obj, name, "N", json_object_new_string(text));
}

static HS_RESULT st_ddb_add_hash(json_object *obj, const char *name, const unsigned char *hash)
{
    unsigned char text[ST_DDB_HASH_B64_LEN + 1];
    int n = EVP_EncodeBlock(text, hash, ST_DDB_HASH_LEN);
    HS_ENSURE(n == ST_DDB_HASH_B64_LEN, HS_ERR_CRYPTO);
    return st_ddb_add_value(obj, name, "B", json_object_new_string((const char *)text));
}

/* {"TableName": table}, plus "Key": {"serial": {"S": serial}} when serial is not NULL. */
static HS_RESULT st_ddb_request(const struct st_inv_ddb *d, const char *serial, json_object **out)
{
    HS_DEFER(json_object *req = json_object_new_object(), hs_json_putp);
    HS_ENSURE(req != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_json_add(req, "TableName", json_object_new_string(d->table)));
    if (serial != NULL) {
        HS_DEFER(json_object *key = json_object_new_object(), hs_json_putp);
        HS_ENSURE(key != NULL, HS_ERR_NOMEM);
        HS_GUARD(st_ddb_add_s(key, "serial", serial));
        json_object *give = key;
        key = NULL;
        HS_GUARD(hs_json_add(req, "Key", give));
    }
    *out = req;
    req = NULL;
    return HS_OK;
}

/* Adds a string member (expressions, names). */
static HS_RESULT st_ddb_add_str(json_object *obj, const char *key, const char *s)
{
    return hs_json_add(obj, key, json_object_new_string(s));
}

/* Adds an object member and lends it in *out (obj owns it). */
static HS_RESULT st_ddb_add_obj(json_object *obj, const char *key, json_object **out)
{
    json_object *o = json_object_new_object();
    HS_GUARD(hs_json_add(obj, key, o));
    *out = o;
    return HS_OK;
}

/* The GSI partition (revoked_part) of a revoked record of kind: one per kind, so the CRL's
 * Query reads the X.509 partition alone. Errors: HS_ERR_INPUT_FIELD (unknown kind). */
static HS_RESULT st_ddb_revoked_part(enum st_kind kind, const char **out)
{
    switch (kind) {
    case ST_KIND_X509:
        *out = ST_DDB_REVOKED_PART;
        return HS_OK;
    case ST_KIND_SSH:
        *out = ST_DDB_REVOKED_PART_SSH;
        return HS_OK;
    default:
        HS_BAIL_MSG(HS_ERR_INPUT_FIELD, "unknown record kind %d", (int)kind);
    }
}

/* The range key of a revoked SSH record in the GSI "krl": the CA key's hash in hex, "#", and the
 * serial left-padded with zeros to ST_DDB_KRL_SERIAL_DIGITS, so that comparing keys as bytes
 * (as DynamoDB orders a string range key) orders by CA key, then by serial as a number. */
static HS_RESULT st_ddb_krl_sort(const unsigned char *issuer, const char *serial,
                                 char out[ST_DDB_KRL_SORT_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strnlen(serial, ST_INV_SERIAL_MAX + 1);
    HS_ENSURE(n >= 1 && n <= ST_DDB_KRL_SERIAL_DIGITS, HS_ERR_INPUT_FIELD);
    for (size_t i = 0; i < ST_DDB_HASH_LEN; i++) {
        out[2 * i] = hex[issuer[i] >> 4];
        out[2 * i + 1] = hex[issuer[i] & 0x0f];
    }
    char *p = out + 2 * ST_DDB_HASH_LEN;
    *p++ = '#';
    memset(p, '0', ST_DDB_KRL_SERIAL_DIGITS - n);
    memcpy(p + (ST_DDB_KRL_SERIAL_DIGITS - n), serial, n);
    out[ST_DDB_KRL_SORT_LEN] = '\0';
    return HS_OK;
}

/* The CA key hash at the head of a krl_sort key. Errors: HS_ERR_IO. */
static HS_RESULT st_ddb_krl_issuer(const char *sort, size_t n, unsigned char *out)
{
    HS_ENSURE_MSG(n == ST_DDB_KRL_SORT_LEN && sort[2 * ST_DDB_HASH_LEN] == '#' &&
                      strspn(sort, "0123456789abcdef") == 2 * ST_DDB_HASH_LEN,
                  HS_ERR_IO, "DynamoDB item: krl_sort is malformed");
    for (size_t i = 0; i < ST_DDB_HASH_LEN; i++) {
        char hi = sort[2 * i];
        char lo = sort[2 * i + 1];
        out[i] = (unsigned char)(((hi <= '9' ? hi - '0' : hi - 'a' + 10) << 4) |
                                 (lo <= '9' ? lo - '0' : lo - 'a' + 10));
    }
    return HS_OK;
}

/* The item of a record (PutItem's "Item"). */
static HS_RESULT st_ddb_item(const struct st_cert_record *rec, json_object *item)
{
    HS_GUARD(st_ddb_add_s(item, "serial", rec->serial_hex));
    HS_GUARD(st_ddb_add_s(item, "subject", rec->subject));
    HS_GUARD(st_ddb_add_s(item, "sans", rec->sans));
    HS_GUARD(st_ddb_add_n(item, "not_before", (long long)rec->not_before));
    HS_GUARD(st_ddb_add_n(item, "issued_at",
                          (long long)(rec->issued_at != 0 ? rec->issued_at : rec->not_before)));
    HS_GUARD(st_ddb_add_n(item, "not_after", (long long)rec->not_after));
    HS_GUARD(st_ddb_add_s(item, "requester", rec->requester));
    HS_GUARD(st_ddb_add_s(item, "profile", rec->profile));
    HS_GUARD(st_ddb_add_hash(item, "spki_sha256", rec->spki_sha256));
    HS_GUARD(st_ddb_add_hash(item, "cert_sha256", rec->cert_sha256));
    HS_GUARD(st_ddb_add_n(item, "status", rec->status));
    HS_GUARD(st_ddb_add_n(item, "revoked_at", (long long)rec->revoked_at));
    HS_GUARD(st_ddb_add_n(item, "reason", rec->reason));
    HS_GUARD(st_ddb_add_n(item, "kind", rec->kind));
    HS_GUARD(st_ddb_add_hash(item, "issuer_key_sha256", rec->issuer_key_sha256));
    /* Past any CRL's interest in it (it leaves the CRL at notAfter), DynamoDB's TTL removes it. */
    HS_ENSURE_MSG((long long)rec->not_after <= INT64_MAX - ST_DDB_TTL_GRACE_S, HS_ERR_INPUT_RANGE,
                  "notAfter is out of range");
    HS_GUARD(st_ddb_add_n(item, "expires_at", (long long)rec->not_after + ST_DDB_TTL_GRACE_S));
    if (rec->status == ST_CERT_REVOKED) {
        const char *part = NULL;
        HS_GUARD(st_ddb_revoked_part(rec->kind, &part));
        HS_GUARD(st_ddb_add_s(item, "revoked_part", part));
    }
    if (rec->status == ST_CERT_REVOKED && rec->kind == ST_KIND_SSH) {
        char sort[ST_DDB_KRL_SORT_LEN + 1];
        HS_GUARD(st_ddb_krl_sort(rec->issuer_key_sha256, rec->serial_hex, sort));
        HS_GUARD(st_ddb_add_s(item, "krl_sort", sort));
    }
    return HS_OK;
}

/* --- DynamoDB JSON: reading answers ------------------------------------------------------------ */

/* Lends the value of attribute name, of DynamoDB type type ("S", "N", "B"), in item. Errors:
 * HS_ERR_IO (missing or of another type). */
static HS_RESULT st_ddb_attr(json_object *item, const char *name, const char *type,
                             const char **out, size_t *len)
{
    json_object *attr = NULL;
    json_object *v = NULL;
    HS_ENSURE_MSG(
        json_object_object_get_ex(item, name, &attr) &&
            json_object_is_type(attr, json_type_object) &&
            json_object_object_get_ex(attr, type, &v) && json_object_is_type(v, json_type_string),
        HS_ERR_IO, "DynamoDB item: attribute %s is missing or not of type %s", name, type);
    *out = json_object_get_string(v);
    *len = (size_t)json_object_get_string_len(v);
    return HS_OK;
}

/* Copies string attribute name into out (size bytes with the NUL). Errors: HS_ERR_IO. */
static HS_RESULT st_ddb_get_text(json_object *item, const char *name, char *out, size_t size)
{
    const char *s = NULL;
    size_t n = 0;
    HS_GUARD(st_ddb_attr(item, name, "S", &s, &n));
    HS_ENSURE_MSG(n < size && memchr(s, '\0', n) == NULL, HS_ERR_IO,
                  "DynamoDB item: %s is longer than %zu bytes", name, size - 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return HS_OK;
}

/* Parses a DynamoDB number that must be an integer in [min, max]. Errors: HS_ERR_IO. */
static HS_RESULT st_ddb_parse_int(const char *s, size_t n, const char *name, long long min,
                                  long long max, long long *out)
{
    size_t digits = n > 0 && s[0] == '-' ? n - 1 : n;
    HS_ENSURE_MSG(n <= ST_DDB_NUM_MAX && digits > 0 && st_ddb_chars_ok(s, n, "-") &&
                      strspn(s + (n - digits), "0123456789") == digits,
                  HS_ERR_IO, "DynamoDB item: %s is not an integer", name);
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    HS_ENSURE_MSG(errno == 0 && end == s + n && v >= min && v <= max, HS_ERR_IO,
                  "DynamoDB item: %s is out of range", name);
    *out = v;
    return HS_OK;
}

static HS_RESULT st_ddb_get_int(json_object *item, const char *name, long long min, long long max,
                                long long *out)
{
    const char *s = NULL;
    size_t n = 0;
    HS_GUARD(st_ddb_attr(item, name, "N", &s, &n));
    return st_ddb_parse_int(s, n, name, min, max, out);
}

static HS_RESULT st_ddb_get_time(json_object *item, const char *name, time_t *out)
{
    long long v = 0;
    HS_GUARD(st_ddb_get_int(item, name, INT32_MIN, INT64_MAX / 2, &v));
    *out = (time_t)v;
    return HS_OK;
}

static HS_RESULT st_ddb_get_hash(json_object *item, const char *name, unsigned char *out)
{
    const char *s = NULL;
    size_t n = 0;
    HS_GUARD(st_ddb_attr(item, name, "B", &s, &n));
    unsigned char raw[ST_DDB_HASH_B64_LEN];
    /* 44 characters ending in exactly one '=' encode 32 bytes; EVP_DecodeBlock counts the
     * padding as a 33rd. */
    HS_ENSURE_MSG(n == ST_DDB_HASH_B64_LEN && s[n - 1] == '=' && s[n - 2] != '=' &&
                      EVP_DecodeBlock(raw, (const unsigned char *)s, (int)n) == ST_DDB_HASH_LEN + 1,
                  HS_ERR_IO, "DynamoDB item: %s is not %d bytes", name, ST_DDB_HASH_LEN);
    memcpy(out, raw, ST_DDB_HASH_LEN);
    return HS_OK;
}

static HS_RESULT st_ddb_item_record(json_object *item, struct st_cert_record *rec)
{
    HS_GUARD(st_ddb_get_text(item, "serial", rec->serial_hex, sizeof(rec->serial_hex)));
    HS_GUARD(st_ddb_get_text(item, "subject", rec->subject, sizeof(rec->subject)));
    HS_GUARD(st_ddb_get_text(item, "sans", rec->sans, sizeof(rec->sans)));
    HS_GUARD(st_ddb_get_time(item, "not_before", &rec->not_before));
    HS_GUARD(st_ddb_get_time(item, "not_after", &rec->not_after));
    HS_GUARD(st_ddb_get_text(item, "requester", rec->requester, sizeof(rec->requester)));
    HS_GUARD(st_ddb_get_text(item, "profile", rec->profile, sizeof(rec->profile)));
    HS_GUARD(st_ddb_get_hash(item, "spki_sha256", rec->spki_sha256));
    HS_GUARD(st_ddb_get_hash(item, "cert_sha256", rec->cert_sha256));
    long long v = 0;
    HS_GUARD(st_ddb_get_int(item, "status", ST_CERT_GOOD, ST_CERT_REVOKED, &v));
    rec->status = (enum st_cert_status)v;
    HS_GUARD(st_ddb_get_time(item, "revoked_at", &rec->revoked_at));
    HS_GUARD(st_ddb_get_int(item, "reason", -1, ST_DDB_REASON_MAX, &v));
    rec->reason = (int)v;
    /* Items written before records had a kind have no "kind": they are X.509. */
    v = ST_KIND_X509;
    if (json_object_object_get_ex(item, "kind", NULL)) {
        HS_GUARD(st_ddb_get_int(item, "kind", ST_KIND_X509, ST_KIND_SSH, &v));
    }
    rec->kind = (enum st_kind)v;
    /* Items written before the listing have no "issued_at": their not_before stands in. */
    rec->issued_at = rec->not_before;
    if (json_object_object_get_ex(item, "issued_at", NULL)) {
        HS_GUARD(st_ddb_get_time(item, "issued_at", &rec->issued_at));
    }
    /* ... and no "issuer_key_sha256" either: all zero, the issuer is not known. */
    memset(rec->issuer_key_sha256, 0, sizeof(rec->issuer_key_sha256));
    if (json_object_object_get_ex(item, "issuer_key_sha256", NULL)) {
        HS_GUARD(st_ddb_get_hash(item, "issuer_key_sha256", rec->issuer_key_sha256));
    }
    return HS_OK;
}

/* --- configuration ------------------------------------------------------------------------------ */

static HS_RESULT st_ddb_configure(struct st_inv_ddb *d, const struct st_dynamodb_config *c)
{
    HS_ENSURE_MSG(c->table != NULL && c->region != NULL, HS_ERR_INPUT_CONFIG,
                  "DynamoDB inventory: table and region are required");
    size_t n = strnlen(c->table, ST_DDB_TABLE_MAX + 1);
    HS_ENSURE_MSG(n >= 3 && n <= ST_DDB_TABLE_MAX && st_ddb_chars_ok(c->table, n, "_.-"),
                  HS_ERR_INPUT_CONFIG, "DynamoDB table name must be 3..%d of [A-Za-z0-9_.-]",
                  ST_DDB_TABLE_MAX);
    memcpy(d->table, c->table, n + 1);
    size_t r = strnlen(c->region, ST_DDB_REGION_MAX + 1);
    HS_ENSURE_MSG(r > 0 && r <= ST_DDB_REGION_MAX && st_ddb_chars_ok(c->region, r, "-"),
                  HS_ERR_INPUT_CONFIG, "AWS region must be 1..%d of [a-z0-9-]", ST_DDB_REGION_MAX);
    int w = snprintf(d->sigv4, sizeof(d->sigv4), "aws:amz:%s:dynamodb", c->region);
    HS_ENSURE(w > 0 && (size_t)w < sizeof(d->sigv4), HS_ERR_BOUNDS);
    if (c->endpoint != NULL) {
        HS_ENSURE_MSG(st_ddb_copy(d->url, sizeof(d->url), c->endpoint).code == HS_ERR_NONE,
                      HS_ERR_INPUT_CONFIG, "DynamoDB endpoint is longer than %d bytes",
                      ST_DDB_URL_MAX - 1);
    } else {
        w = snprintf(d->url, sizeof(d->url), "https://dynamodb.%s.amazonaws.com", c->region);
        HS_ENSURE(w > 0 && (size_t)w < sizeof(d->url), HS_ERR_BOUNDS);
    }
    HS_GUARD(aws_url_check(d->url, "the DynamoDB endpoint", NULL, true, &d->local));
    memcpy(d->region, c->region, r + 1);
    HS_ENSURE_MSG(c->timeout_ms == 0 || (c->timeout_ms >= ST_DDB_TIMEOUT_MS_MIN &&
                                         c->timeout_ms <= ST_DDB_TIMEOUT_MS_MAX),
                  HS_ERR_INPUT_CONFIG, "DynamoDB timeout_ms must be %d..%d", ST_DDB_TIMEOUT_MS_MIN,
                  ST_DDB_TIMEOUT_MS_MAX);
    d->timeout_ms = c->timeout_ms != 0 ? c->timeout_ms : ST_DDB_TIMEOUT_MS_DEFAULT;
    HS_ENSURE_MSG(c->page_limit >= 0, HS_ERR_INPUT_CONFIG, "page_limit must not be negative");
    d->page_limit = c->page_limit;
    return HS_OK;
}

/* --- requests ---------------------------------------------------------------------------------- */

static struct st_ddb_lease st_ddb_lease_take(struct st_inv_ddb *d)
{
    struct st_ddb_lease l = {d, NULL};
    pthread_mutex_lock(&d->pool_lock);
    if (d->nidle > 0) {
        l.h = d->idle[--d->nidle];
    }
    pthread_mutex_unlock(&d->pool_lock);
    if (l.h == NULL) {
        l.h = aws_http_new();
    }
    return l;
}

/* Returns the handle to the pool; its connections are kept (aws_http resets its options, the
 * credentials among them, before each use). */
static void st_ddb_lease_give(struct st_ddb_lease *l)
{
    if (l->h == NULL) {
        return;
    }
    pthread_mutex_lock(&l->d->pool_lock);
    if (l->d->nidle < ST_DDB_POOL_MAX) {
        l->d->idle[l->d->nidle++] = l->h;
        l->h = NULL;
    }
    pthread_mutex_unlock(&l->d->pool_lock);
    aws_http_free(l->h);
}

/* The short name of an error answer's __type ("com.amazonaws.dynamodb.v20120810#X" -> "X"). */
static void st_ddb_error_type(json_object *doc, char *out, size_t size)
{
    json_object *t = NULL;
    const char *type = "unknown";
    if (doc != NULL && json_object_object_get_ex(doc, "__type", &t) &&
        json_object_is_type(t, json_type_string)) {
        const char *s = json_object_get_string(t);
        const char *hash = strrchr(s, '#');
        s = hash != NULL ? hash + 1 : s;
        size_t n = strnlen(s, size);
        type = n > 0 && n < size && st_ddb_chars_ok(s, n, "._-") ? s : type;
    }
    memcpy(out, type, strlen(type) + 1);
}

/* The __type of an error answer body. */
static void st_ddb_body_type(const struct hs_buf *body, char *out, size_t size)
{
    json_object *doc = NULL;
    hs_result r = hs_json_parse_object((const char *)hs_buf_data(body), hs_buf_len(body),
                                       ST_DDB_RESPONSE_MAX, HS_JSON_DEPTH_MAX, &doc);
    if (hs_failed(r)) {
        hs_error_clear();
    }
    st_ddb_error_type(doc, out, size);
    json_object_put(doc);
}

/* Sorts an answer for aws_http: 5xx transient, throttling codes, an expired token (refreshable
 * credentials only), the rest final. */
static enum aws_http_class st_ddb_classify(void *ctx, long status, const struct hs_buf *body)
{
    struct st_inv_ddb *d = ctx;
    if (status >= 500) {
        return AWS_HTTP_RETRY;
    }
    if (status != 400) {
        return AWS_HTTP_FINAL;
    }
    char type[ST_DDB_TYPE_MAX + 1];
    st_ddb_body_type(body, type, sizeof(type));
    if (aws_http_throttling_code(type)) {
        return AWS_HTTP_THROTTLE;
    }
    const char *source = aws_creds_provider_source(d->creds);
    bool refreshable = strcmp(source, "environment") != 0 && strcmp(source, "static") != 0;
    return strcmp(type, "ExpiredTokenException") == 0 && refreshable ? AWS_HTTP_EXPIRED
                                                                     : AWS_HTTP_FINAL;
}

/* The failure, if any, of a call aws_http_send() returned r for: no answer after the last
 * attempt (unreachable, timed out), or still 5xx or throttled, means DynamoDB is unavailable for
 * now (HS_ERR_STORE_UNAVAILABLE); any other refusal is ours to fix (HS_ERR_IO). Sets out->type
 * from an error answer's body. */
static HS_RESULT st_ddb_call_outcome(const struct st_inv_ddb *d, const char *action, hs_result r,
                                     const struct aws_http_response *resp, struct st_ddb_reply *out)
{
    if (r.code == HS_ERR_BOUNDS) {
        HS_BAIL_MSG(HS_ERR_IO, "DynamoDB %s: answer larger than %u bytes", action,
                    ST_DDB_RESPONSE_MAX);
    }
    if (r.code == HS_ERR_IO && resp->transport != AWS_HTTP_ANSWERED) {
        HS_BAIL_MSG(HS_ERR_STORE_UNAVAILABLE, "DynamoDB %s at %s: %s (%d attempts)", action, d->url,
                    resp->error, resp->attempts);
    }
    HS_GUARD(r);
    if (resp->status != 200) {
        st_ddb_body_type(resp->body, out->type, sizeof(out->type));
        bool transient = resp->status >= 500 || aws_http_throttling_code(out->type);
        HS_BAIL_MSG(transient ? HS_ERR_STORE_UNAVAILABLE : HS_ERR_IO,
                    "DynamoDB %s: HTTP %ld %s (%d attempts)", action, resp->status, out->type,
                    resp->attempts);
    }
    return HS_OK;
}

/* Sends action with request req: up to ST_DDB_ATTEMPTS attempts (see the header). On
 * success out->doc holds the answer; on failure out->type names DynamoDB's error (so callers
 * can tell ConditionalCheckFailedException) and out->ambiguous whether an earlier attempt may
 * have been applied. The caller clears *out with st_ddb_reply_clear. */
static HS_RESULT st_ddb_call(struct st_inv_ddb *d, const char *action, json_object *req,
                             struct st_ddb_reply *out)
{
    HS_DEFER(char *body = NULL, hs_free_strp);
    HS_GUARD(hs_json_to_string(req, &body));
    char target[ST_DDB_LINE_MAX];
    int w = snprintf(target, sizeof(target), "%s%s", ST_DDB_TARGET, action);
    HS_ENSURE(w > 0 && (size_t)w < sizeof(target), HS_ERR_BOUNDS);
    HS_DEFER(struct hs_buf *answer = hs_buf_new(ST_DDB_RESPONSE_MAX), hs_buf_freep);
    HS_ENSURE(answer != NULL, HS_ERR_NOMEM);
    HS_DEFER(struct st_ddb_lease lease = st_ddb_lease_take(d), st_ddb_lease_give);
    HS_ENSURE(lease.h != NULL, HS_ERR_NOMEM);
    struct aws_http_request hr = {
        .method = "POST",
        .url = d->url,
        .protocols = d->local ? "http" : "https",
        /* Content-Type and X-Amz-Target are signed like every header given here. No "Expect:"
         * line: libcurl before 8.3 names a header removed that way in SignedHeaders although it
         * is not sent (curl issue 11664), which AWS may refuse (IncompleteSignatureException);
         * libcurl adds 100-continue only to bodies over 1 MiB, and a DynamoDB request is
         * smaller. */
        .headers = {ST_DDB_CONTENT_TYPE, target},
        .body = body,
        .body_len = strlen(body),
        .response_max = ST_DDB_RESPONSE_MAX,
        .connect_timeout_ms = d->timeout_ms / 2 > 0 ? d->timeout_ms / 2 : 1,
        .timeout_ms = d->timeout_ms,
        .no_proxy = d->local, /* proxies from the environment apply, except to a local one */
        .keepalive = true,
        .sigv4_region = d->region,
        .sigv4_service = "dynamodb",
        .provider = d->creds,
        .attempts = ST_DDB_ATTEMPTS,
        .backoff_ms = ST_DDB_BACKOFF_MS,
        .throttle_backoff_ms = ST_DDB_THROTTLE_BACKOFF_MS,
        .classify = st_ddb_classify,
        .classify_ctx = d,
        .log_what = action,
    };
    struct aws_http_response resp = {.body = answer};
    hs_result r = aws_http_send(lease.h, &hr, &resp);
    out->ambiguous = resp.ambiguous;
    out->type[0] = '\0';
    HS_GUARD(st_ddb_call_outcome(d, action, r, &resp, out));
    r = hs_json_parse_object((const char *)hs_buf_data(answer), hs_buf_len(answer),
                             ST_DDB_RESPONSE_MAX, HS_JSON_DEPTH_MAX, &out->doc);
    if (hs_failed(r)) {
        memcpy(out->type, "MalformedAnswer", sizeof("MalformedAnswer"));
        HS_BAIL_MSG(HS_ERR_IO, "DynamoDB %s: HTTP 200 MalformedAnswer (%d attempts)", action,
                    resp.attempts);
    }
    return HS_OK;
}

static bool st_ddb_conditional(const struct st_ddb_reply *r)
{
    return strcmp(r->type, "ConditionalCheckFailedException") == 0;
}

/* --- counters ---------------------------------------------------------------------------------- */

/* The value (N, >= 1) of the counter item name in an answer's Attributes or Item. */
static HS_RESULT st_ddb_counter_value(json_object *doc, const char *member, uint64_t *out)
{
    json_object *item = NULL;
    long long v = 0;
    HS_ENSURE_MSG(json_object_object_get_ex(doc, member, &item) &&
                      json_object_is_type(item, json_type_object),
                  HS_ERR_IO, "DynamoDB answer without %s", member);
    HS_GUARD(st_ddb_get_int(item, "value", 1, INT64_MAX, &v));
    *out = (uint64_t)v;
    return HS_OK;
}

/* UpdateItem ADD value :one on counter item name, ReturnValues UPDATED_NEW. */
static HS_RESULT st_ddb_counter_add(struct st_inv_ddb *d, const char *name, uint64_t *out)
{
    HS_DEFER(json_object *req = NULL, hs_json_putp);
    HS_GUARD(st_ddb_request(d, name, &req));
    json_object *names = NULL;
    json_object *values = NULL;
    HS_GUARD(st_ddb_add_str(req, "UpdateExpression", "ADD #v :one"));
    HS_GUARD(st_ddb_add_obj(req, "ExpressionAttributeNames", &names));
    HS_GUARD(st_ddb_add_str(names, "#v", "value"));
    HS_GUARD(st_ddb_add_obj(req, "ExpressionAttributeValues", &values));
    HS_GUARD(st_ddb_add_n(values, ":one", 1));
    HS_GUARD(st_ddb_add_str(req, "ReturnValues", "UPDATED_NEW"));
    HS_DEFER(struct st_ddb_reply reply = {0}, st_ddb_reply_clear);
    HS_GUARD(st_ddb_call(d, "UpdateItem", req, &reply));
    return st_ddb_counter_value(reply.doc, "Attributes", out);
}

/* The counter's current value (consistent GetItem; 0 when the item does not exist yet). */
static HS_RESULT st_ddb_counter_read(struct st_inv_ddb *d, const char *name,
                                     struct st_ddb_reply *reply, uint64_t *out)
{
    HS_DEFER(json_object *req = NULL, hs_json_putp);
    HS_GUARD(st_ddb_request(d, name, &req));
    json_object *names = NULL;
    HS_GUARD(hs_json_add(req, "ConsistentRead", json_object_new_boolean(1)));
    HS_GUARD(st_ddb_add_str(req, "ProjectionExpression", "#v"));
    HS_GUARD(st_ddb_add_obj(req, "ExpressionAttributeNames", &names));
    HS_GUARD(st_ddb_add_str(names, "#v", "value"));
    HS_GUARD(st_ddb_call(d, "GetItem", req, reply));
    if (!json_object_object_get_ex(reply->doc, "Item", NULL)) {
        *out = 0;
        return HS_OK;
    }
    return st_ddb_counter_value(reply->doc, "Item", out);
}

/* Records a generation value read from or written to the table (the cache keeps the highest). */
static void st_ddb_generation_seen(struct st_inv_ddb *d, uint64_t v)
{
    HS_DEFER(pthread_mutex_t *held = hs_mutex_lock(&d->gen_lock), hs_mutex_unlockp);
    int64_t now = st_ddb_now_ms();
    d->gen_read_ms = now;
    if (v > d->gen) {
        d->gen = v;
        d->gen_changed_ms = now;
    }
}

static HS_RESULT st_ddb_bump_generation(struct st_inv_ddb *d)
{
    uint64_t v = 0;
    HS_GUARD(st_ddb_counter_add(d, ST_DDB_META_GENERATION, &v));
    st_ddb_generation_seen(d, v);
    return HS_OK;
}

/* --- operations -------------------------------------------------------------------------------- */

/* GetItem (consistent) of serial into *out. Errors: HS_ERR_INPUT_NOT_FOUND, HS_ERR_IO. */
static HS_RESULT st_ddb_read(struct st_inv_ddb *d, const char *serial, struct st_cert_record *out)
{
    HS_DEFER(json_object *req = NULL, hs_json_putp);
    HS_GUARD(st_ddb_request(d, serial, &req));
    HS_GUARD(hs_json_add(req, "ConsistentRead", json_object_new_boolean(1)));
    HS_DEFER(struct st_ddb_reply reply = {0}, st_ddb_reply_clear);
    HS_GUARD(st_ddb_call(d, "GetItem", req, &reply));
    json_object *item = NULL;
    HS_ENSURE_MSG(json_object_object_get_ex(reply.doc, "Item", &item) &&
                      json_object_is_type(item, json_type_object),
                  HS_ERR_INPUT_NOT_FOUND, "serial %s is not in the inventory", serial);
    /* The record is large (about 11 KiB): build it on the heap, then copy it out whole. */
    HS_DEFER(struct st_cert_record *rec = calloc(1, sizeof(*rec)), st_ddb_record_freep);
    HS_ENSURE(rec != NULL, HS_ERR_NOMEM);
    HS_GUARD(st_ddb_item_record(item, rec));
    HS_ENSURE_MSG(strcmp(rec->serial_hex, serial) == 0, HS_ERR_IO,
                  "DynamoDB answered another item for serial %s", serial);
    *out = *rec;
    return HS_OK;
}

/* The PutItem's condition failed: serial is taken. When an earlier attempt of this put may have
 * been applied (its answer lost), a stored item with this certificate's hash is that attempt. */
static HS_RESULT st_ddb_put_conflict(struct st_inv_ddb *d, const struct st_cert_record *rec,
                                     bool ambiguous)
{
    HS_ENSURE_MSG(ambiguous, HS_ERR_INPUT_EXISTS, "serial %s is already in the inventory",
                  rec->serial_hex);
    HS_DEFER(struct st_cert_record *stored = calloc(1, sizeof(*stored)), st_ddb_record_freep);
    HS_ENSURE(stored != NULL, HS_ERR_NOMEM);
    /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): freed by the cleanup above */
    HS_GUARD(st_ddb_read(d, rec->serial_hex, stored));
    HS_ENSURE_MSG(CRYPTO_memcmp(stored->cert_sha256, rec->cert_sha256, ST_DDB_HASH_LEN) == 0,
                  HS_ERR_INPUT_EXISTS, "serial %s is already in the inventory", rec->serial_hex);
    return HS_OK;
}

static HS_RESULT st_ddb_put(struct st_inventory *inv, const struct st_cert_record *rec)
{
    struct st_inv_ddb *d = st_ddb_cast(inv);
    HS_ENSURE_REF(d);
    HS_GUARD(st_inv_record_check(rec));
    HS_DEFER(json_object *req = NULL, hs_json_putp);
    HS_GUARD(st_ddb_request(d, NULL, &req));
    json_object *item = NULL;
    HS_GUARD(st_ddb_add_obj(req, "Item", &item));
    HS_GUARD(st_ddb_item(rec, item));
    HS_GUARD(st_ddb_add_str(req, "ConditionExpression", "attribute_not_exists(serial)"));
    HS_DEFER(struct st_ddb_reply reply = {0}, st_ddb_reply_clear);
    hs_result r = st_ddb_call(d, "PutItem", req, &reply);
    if (hs_failed(r) && st_ddb_conditional(&reply)) {
        r = st_ddb_put_conflict(d, rec, reply.ambiguous);
    }
    HS_GUARD(r);
    if (rec->status == ST_CERT_REVOKED) {
        return st_ddb_bump_generation(d);
    }
    return HS_OK;
}

static HS_RESULT st_ddb_get(struct st_inventory *inv, const char *serial_hex,
                            struct st_cert_record *out)
{
    struct st_inv_ddb *d = st_ddb_cast(inv);
    HS_ENSURE_REF(d);
    HS_ENSURE_REF(out);
    HS_GUARD(st_inv_serial_check(serial_hex));
    return st_ddb_read(d, serial_hex, out);
}

/* UpdateItem: SET the revocation, and the GSI partition of its kind (and for SSH the range key
 * in the GSI "krl"), if the certificate exists, is good and is of rv->kind (an item without
 * "kind" is X.509). */
static HS_RESULT st_ddb_revoke_request(struct st_inv_ddb *d, const struct st_ddb_revocation *rv,
                                       json_object **out)
{
    const char *part = NULL;
    HS_GUARD(st_ddb_revoked_part(rv->kind, &part));
    bool ssh = rv->kind == ST_KIND_SSH;
    HS_DEFER(json_object *req = NULL, hs_json_putp);
    HS_GUARD(st_ddb_request(d, rv->serial, &req));
    json_object *names = NULL;
    json_object *values = NULL;
    HS_GUARD(st_ddb_add_str(req, "UpdateExpression",
                            ssh ? "SET #s = :revoked, #ra = :at, #rn = :reason, #rp = :part,"
                                  " #ks = :ks"
                                : "SET #s = :revoked, #ra = :at, #rn = :reason, #rp = :part"));
    HS_GUARD(st_ddb_add_str(req, "ConditionExpression",
                            ssh ? "attribute_exists(serial) AND #s = :good AND #k = :kind"
                                : "attribute_exists(serial) AND #s = :good AND"
                                  " (attribute_not_exists(#k) OR #k = :kind)"));
    HS_GUARD(st_ddb_add_obj(req, "ExpressionAttributeNames", &names));
    HS_GUARD(st_ddb_add_str(names, "#s", "status"));
    HS_GUARD(st_ddb_add_str(names, "#ra", "revoked_at"));
    HS_GUARD(st_ddb_add_str(names, "#rn", "reason"));
    HS_GUARD(st_ddb_add_str(names, "#rp", "revoked_part"));
    HS_GUARD(st_ddb_add_str(names, "#k", "kind"));
    HS_GUARD(st_ddb_add_obj(req, "ExpressionAttributeValues", &values));
    HS_GUARD(st_ddb_add_n(values, ":revoked", ST_CERT_REVOKED));
    HS_GUARD(st_ddb_add_n(values, ":good", ST_CERT_GOOD));
    HS_GUARD(st_ddb_add_n(values, ":at", (long long)rv->at));
    HS_GUARD(st_ddb_add_n(values, ":reason", rv->reason));
    HS_GUARD(st_ddb_add_s(values, ":part", part));
    HS_GUARD(st_ddb_add_n(values, ":kind", rv->kind));
    if (ssh) {
        char sort[ST_DDB_KRL_SORT_LEN + 1];
        HS_GUARD(st_ddb_krl_sort(rv->issuer, rv->serial, sort));
        HS_GUARD(st_ddb_add_str(names, "#ks", "krl_sort"));
        HS_GUARD(st_ddb_add_s(values, ":ks", sort));
    }
    *out = req;
    req = NULL;
    return HS_OK;
}

/* The revocation's condition failed: the serial is unknown (HS_ERR_INPUT_NOT_FOUND), good but
 * of another kind than the request's (rv->kind and rv->issuer set to the stored record's), or
 * already revoked. *ours is set when that revocation is this call's own earlier attempt (same
 * time and reason, after an attempt that may have been applied). */
static HS_RESULT st_ddb_revoke_conflict(struct st_inv_ddb *d, struct st_ddb_revocation *rv,
                                        bool ambiguous, bool *ours)
{
    HS_DEFER(struct st_cert_record *stored = calloc(1, sizeof(*stored)), st_ddb_record_freep);
    HS_ENSURE(stored != NULL, HS_ERR_NOMEM);
    /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): freed by the cleanup above */
    HS_GUARD(st_ddb_read(d, rv->serial, stored));
    if (stored->status == ST_CERT_GOOD && stored->kind != rv->kind) {
        rv->kind = stored->kind;
        memcpy(rv->issuer, stored->issuer_key_sha256, sizeof(rv->issuer));
        return HS_OK;
    }
    HS_ENSURE_MSG(stored->status == ST_CERT_REVOKED, HS_ERR_IO,
                  "DynamoDB refused to revoke %s, which is not revoked", rv->serial);
    *ours = ambiguous && stored->revoked_at == rv->at && stored->reason == rv->reason;
    return HS_OK;
}

/* One conditional revocation of rv->serial as a record of rv->kind. *did: it (or this call's
 * lost earlier attempt) revoked the record. When the record turns out to be good and of another
 * kind, rv takes that kind (and the record's CA key) and *did stays false: the caller tries
 * again with it. */
static HS_RESULT st_ddb_revoke_as(struct st_inv_ddb *d, struct st_ddb_revocation *rv, bool *did)
{
    HS_DEFER(json_object *req = NULL, hs_json_putp);
    HS_GUARD(st_ddb_revoke_request(d, rv, &req));
    HS_DEFER(struct st_ddb_reply reply = {0}, st_ddb_reply_clear);
    hs_result r = st_ddb_call(d, "UpdateItem", req, &reply);
    *did = !hs_failed(r);
    if (hs_failed(r) && st_ddb_conditional(&reply)) {
        r = st_ddb_revoke_conflict(d, rv, reply.ambiguous, did);
    }
    return r;
}

static HS_RESULT st_ddb_revoke(struct st_inventory *inv, const char *serial_hex, time_t at,
                               int reason, bool *changed)
{
    struct st_inv_ddb *d = st_ddb_cast(inv);
    HS_ENSURE_REF(d);
    HS_GUARD(st_inv_serial_check(serial_hex));
    HS_ENSURE_MSG(at > 0, HS_ERR_INPUT_RANGE, "revocation time %lld is not after the epoch",
                  (long long)at);
    HS_GUARD(st_inv_reason_check(reason));
    /* Most records are X.509: tried as one first; a good record of another kind costs one
     * more round (its kind and CA key never change, so a second is the last). The read that
     * tells the kind also gives an SSH record's CA key, which its KRL range key names. */
    struct st_ddb_revocation rv = {
        .serial = serial_hex, .at = at, .reason = reason, .kind = ST_KIND_X509};
    bool did = false;
    HS_GUARD(st_ddb_revoke_as(d, &rv, &did));
    if (!did && rv.kind != ST_KIND_X509) {
        enum st_kind tried = rv.kind;
        HS_GUARD(st_ddb_revoke_as(d, &rv, &did));
        HS_ENSURE_MSG(rv.kind == tried, HS_ERR_IO, "DynamoDB: the kind of %s changed", serial_hex);
    }
    if (did) {
        /* After the revocation: whoever sees the new generation can also see the revocation. */
        HS_GUARD(st_ddb_bump_generation(d));
    }
    if (changed != NULL) {
        *changed = did;
    }
    return HS_OK;
}

/* Waits until the newest generation change is ST_DDB_GSI_SETTLE_MS old (see the header). */
static void st_ddb_settle(struct st_inv_ddb *d)
{
    int64_t changed = 0;
    {
        HS_DEFER(pthread_mutex_t *held = hs_mutex_lock(&d->gen_lock), hs_mutex_unlockp);
        changed = d->gen_changed_ms;
    }
    int64_t wait = changed + ST_DDB_GSI_SETTLE_MS - st_ddb_now_ms();
    if (wait > 0) {
        st_ddb_sleep_ms(wait);
    }
}

/* Query q for one page after start (NULL: the first), items whose notAfter is at or after from. */
static HS_RESULT st_ddb_query_request(struct st_inv_ddb *d, const struct st_ddb_query *q,
                                      time_t from, json_object *start, json_object **out)
{
    HS_DEFER(json_object *req = NULL, hs_json_putp);
    HS_GUARD(st_ddb_request(d, NULL, &req));
    json_object *names = NULL;
    json_object *values = NULL;
    HS_GUARD(st_ddb_add_str(req, "IndexName", q->index));
    HS_GUARD(st_ddb_add_str(req, "KeyConditionExpression", "#rp = :r"));
    HS_GUARD(st_ddb_add_str(req, "FilterExpression", "#na >= :from"));
    HS_GUARD(st_ddb_add_str(req, "ProjectionExpression", q->projection));
    HS_GUARD(st_ddb_add_obj(req, "ExpressionAttributeNames", &names));
    HS_GUARD(st_ddb_add_str(names, "#rp", "revoked_part"));
    HS_GUARD(st_ddb_add_str(names, "#na", "not_after"));
    HS_GUARD(st_ddb_add_str(names, "#ra", "revoked_at"));
    HS_GUARD(st_ddb_add_str(names, q->extra_key, q->extra_name));
    HS_GUARD(st_ddb_add_obj(req, "ExpressionAttributeValues", &values));
    HS_GUARD(st_ddb_add_s(values, ":r", q->part));
    HS_GUARD(st_ddb_add_n(values, ":from", (long long)from));
    if (d->page_limit > 0) {
        HS_GUARD(hs_json_add(req, "Limit", json_object_new_int(d->page_limit)));
    }
    if (start != NULL) {
        HS_GUARD(hs_json_add(req, "ExclusiveStartKey", json_object_get(start)));
    }
    *out = req;
    req = NULL;
    return HS_OK;
}

/* Checks that key (the GSI's range key) follows the previous one, and keeps it. */
static HS_RESULT st_ddb_list_order(struct st_ddb_listing *l, const char *key)
{
    HS_ENSURE_MSG(strcmp(l->last, key) < 0, HS_ERR_IO,
                  "DynamoDB listed revoked serials out of order");
    size_t n = strnlen(key, sizeof(l->last) - 1);
    memcpy(l->last, key, n);
    l->last[n] = '\0';
    return HS_OK;
}

static HS_RESULT st_ddb_list_entry(json_object *item, struct st_ddb_listing *l)
{
    struct st_revoked_entry e = {0};
    long long v = 0;
    HS_GUARD(st_ddb_get_text(item, "serial", e.serial_hex, sizeof(e.serial_hex)));
    HS_GUARD(st_ddb_get_time(item, "revoked_at", &e.revoked_at));
    HS_GUARD(st_ddb_get_int(item, "reason", -1, ST_DDB_REASON_MAX, &v));
    e.reason = (int)v;
    HS_GUARD(st_ddb_list_order(l, e.serial_hex));
    if (l->total < l->max) {
        l->out[l->total] = e;
    }
    l->total++;
    return HS_OK;
}

static HS_RESULT st_ddb_list_ssh_entry(json_object *item, struct st_ddb_listing *l)
{
    struct st_ssh_revoked_entry e = {0};
    char serial[ST_INV_SERIAL_MAX + 1];
    char sort[ST_DDB_KRL_SORT_LEN + 1];
    char want[ST_DDB_KRL_SORT_LEN + 1];
    HS_GUARD(st_ddb_get_text(item, "serial", serial, sizeof(serial)));
    HS_ENSURE_MSG(!hs_failed(st_inv_ssh_serial_value(serial, &e.serial)), HS_ERR_IO,
                  "DynamoDB item: SSH serial %s is not a uint64", serial);
    HS_GUARD(st_ddb_get_text(item, "krl_sort", sort, sizeof(sort)));
    HS_GUARD(st_ddb_krl_issuer(sort, strlen(sort), e.issuer_key_sha256));
    /* The range key names this very serial. */
    HS_GUARD(st_ddb_krl_sort(e.issuer_key_sha256, serial, want));
    HS_ENSURE_MSG(strcmp(sort, want) == 0, HS_ERR_IO,
                  "DynamoDB item: krl_sort of %s is not its own", serial);
    HS_GUARD(st_ddb_get_time(item, "revoked_at", &e.revoked_at));
    HS_GUARD(st_ddb_list_order(l, sort));
    if (l->total < l->max) {
        l->ssh_out[l->total] = e;
    }
    l->total++;
    return HS_OK;
}

/* The items of one Query or Scan page (what names the operation in errors): lent from reply.
 * Errors: HS_ERR_IO when the answer has no Items array. */
static HS_RESULT st_ddb_page_items(const struct st_ddb_reply *reply, const char *what,
                                   json_object **items)
{
    HS_ENSURE_MSG(json_object_object_get_ex(reply->doc, "Items", items) &&
                      json_object_is_type(*items, json_type_array),
                  HS_ERR_IO, "DynamoDB %s answer without Items", what);
    return HS_OK;
}

/* After a page: drops *start and sets it to the page's LastEvaluatedKey (a reference the caller
 * puts), NULL after the last page. Errors: HS_ERR_IO when that key is not an object. */
static HS_RESULT st_ddb_page_next(const struct st_ddb_reply *reply, const char *what,
                                  json_object **start)
{
    json_object_put(*start);
    *start = NULL;
    json_object *next = NULL;
    if (json_object_object_get_ex(reply->doc, "LastEvaluatedKey", &next)) {
        HS_ENSURE_MSG(json_object_is_type(next, json_type_object), HS_ERR_IO,
                      "DynamoDB %s: LastEvaluatedKey is not an object", what);
        *start = json_object_get(next);
    }
    return HS_OK;
}

static HS_RESULT st_ddb_list_page(struct st_inv_ddb *d, const struct st_ddb_query *q, time_t from,
                                  json_object **start, struct st_ddb_listing *l)
{
    HS_DEFER(json_object *req = NULL, hs_json_putp);
    HS_GUARD(st_ddb_query_request(d, q, from, *start, &req));
    HS_DEFER(struct st_ddb_reply reply = {0}, st_ddb_reply_clear);
    HS_GUARD(st_ddb_call(d, "Query", req, &reply));
    json_object *items = NULL;
    HS_GUARD(st_ddb_page_items(&reply, "Query", &items));
    size_t n = json_object_array_length(items);
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(items, i);
        HS_GUARD(l->ssh ? st_ddb_list_ssh_entry(item, l) : st_ddb_list_entry(item, l));
    }
    return st_ddb_page_next(&reply, "Query", start);
}

/* Runs q page after page into l (see list_revoked in st_dynamodb.h). */
static HS_RESULT st_ddb_list(struct st_inv_ddb *d, const struct st_ddb_query *q, time_t from,
                             struct st_ddb_listing *l, size_t *n)
{
    st_ddb_settle(d);
    HS_DEFER(json_object *start = NULL, hs_json_putp);
    size_t pages = 0;
    do {
        HS_ENSURE_MSG(pages++ < ST_DDB_PAGES_MAX, HS_ERR_IO, "DynamoDB Query: more than %d pages",
                      ST_DDB_PAGES_MAX);
        HS_GUARD(st_ddb_list_page(d, q, from, &start, l));
    } while (start != NULL);
    *n = l->total;
    HS_ENSURE_MSG(l->total <= l->max, HS_ERR_BOUNDS, "%zu revoked certificates, room for %zu",
                  l->total, l->max);
    return HS_OK;
}

static HS_RESULT st_ddb_list_revoked(struct st_inventory *inv, time_t not_after_from,
                                     struct st_revoked_entry *out, size_t max, size_t *n)
{
    struct st_inv_ddb *d = st_ddb_cast(inv);
    HS_ENSURE_REF(d);
    HS_ENSURE_REF(n);
    HS_ENSURE(out != NULL || max == 0, HS_ERR_INTERNAL);
    /* The X.509 partition only: the CRL's entries (st_inventory.h). */
    static const struct st_ddb_query q = {ST_DDB_GSI, ST_DDB_REVOKED_PART, "serial, #ra, #rn",
                                          "#rn", "reason"};
    struct st_ddb_listing l = {.out = out, .max = max};
    return st_ddb_list(d, &q, not_after_from, &l, n);
}

static HS_RESULT st_ddb_list_revoked_ssh(struct st_inventory *inv, time_t not_after_from,
                                         struct st_ssh_revoked_entry *out, size_t max, size_t *n)
{
    struct st_inv_ddb *d = st_ddb_cast(inv);
    HS_ENSURE_REF(d);
    HS_ENSURE_REF(n);
    HS_ENSURE(out != NULL || max == 0, HS_ERR_INTERNAL);
    /* The GSI "krl": revoked SSH records only, in (CA key, serial) order. */
    static const struct st_ddb_query q = {ST_DDB_GSI_KRL, ST_DDB_REVOKED_PART_SSH,
                                          "serial, #ks, #ra", "#ks", "krl_sort"};
    struct st_ddb_listing l = {.ssh_out = out, .ssh = true, .max = max};
    return st_ddb_list(d, &q, not_after_from, &l, n);
}

/* --- the listing (Scan) ------------------------------------------------------------------------ */

/* A listing reads the whole table (there is no index in issue order; see st_dynamodb.h): at
 * most this many items a call, beyond which it fails rather than answer slowly. */
#define ST_DDB_LIST_SCAN_MAX 100000

/* The best records found so far, in the listing's order: up to limit + 1 (one more tells that
 * another page follows). by[i] is the index in recs of the i-th best. */
struct st_ddb_top {
    struct st_cert_record *recs;
    size_t *by;
    size_t n;
    size_t cap; /* limit + 1 */
    size_t scanned;
};

static void st_ddb_top_clear(struct st_ddb_top *t)
{
    free(t->recs);
    free(t->by);
}

/* Room for cap records; t is cleared by the caller, also on failure. */
static HS_RESULT st_ddb_top_init(struct st_ddb_top *t, size_t cap)
{
    t->cap = cap;
    t->recs = calloc(cap, sizeof(struct st_cert_record));
    t->by = calloc(cap, sizeof(size_t));
    HS_ENSURE(t->recs != NULL && t->by != NULL, HS_ERR_NOMEM);
    return HS_OK;
}

/* Whether a comes before b in the listing's order (newer). */
static bool st_ddb_top_before(const struct st_cert_record *a, const struct st_cert_record *b)
{
    struct st_list_position pos;
    st_inv_list_position(b, &pos);
    return st_inv_list_cmp(a, &pos) < 0;
}

/* Keeps rec if it is among the cap best. */
static void st_ddb_top_offer(struct st_ddb_top *t, const struct st_cert_record *rec)
{
    if (t->n == t->cap && !st_ddb_top_before(rec, &t->recs[t->by[t->n - 1]])) {
        return;
    }
    size_t slot = t->n < t->cap ? t->n++ : t->by[t->n - 1];
    t->recs[slot] = *rec;
    size_t i = t->n - 1; /* slot is the last; move it up to its place */
    t->by[i] = slot;
    while (i > 0 && st_ddb_top_before(&t->recs[slot], &t->recs[t->by[i - 1]])) {
        t->by[i] = t->by[i - 1];
        t->by[i - 1] = slot;
        i--;
    }
}

/* One Scan page after *start (NULL: the first); sets *start to the next (NULL: done). Only the
 * certificate items are offered (the counters and key generation records share the table). */
static HS_RESULT st_ddb_scan_page(struct st_inv_ddb *d, const struct st_list_query *q,
                                  json_object **start, struct st_ddb_top *t,
                                  struct st_cert_record *rec)
{
    HS_DEFER(json_object *req = NULL, hs_json_putp);
    HS_GUARD(st_ddb_request(d, NULL, &req));
    HS_GUARD(hs_json_add(req, "ConsistentRead", json_object_new_boolean(1)));
    if (d->page_limit > 0) {
        HS_GUARD(hs_json_add(req, "Limit", json_object_new_int(d->page_limit)));
    }
    if (q->requester != NULL) { /* the rest is filtered here, as SQLite does */
        json_object *names = NULL;
        json_object *values = NULL;
        HS_GUARD(st_ddb_add_str(req, "FilterExpression", "#rq = :rq"));
        HS_GUARD(st_ddb_add_obj(req, "ExpressionAttributeNames", &names));
        HS_GUARD(st_ddb_add_str(names, "#rq", "requester"));
        HS_GUARD(st_ddb_add_obj(req, "ExpressionAttributeValues", &values));
        HS_GUARD(st_ddb_add_s(values, ":rq", q->requester));
    }
    if (*start != NULL) {
        HS_GUARD(hs_json_add(req, "ExclusiveStartKey", json_object_get(*start)));
    }
    HS_DEFER(struct st_ddb_reply reply = {0}, st_ddb_reply_clear);
    HS_GUARD(st_ddb_call(d, "Scan", req, &reply));
    json_object *items = NULL;
    HS_GUARD(st_ddb_page_items(&reply, "Scan", &items));
    size_t n = json_object_array_length(items);
    t->scanned += n;
    HS_ENSURE_MSG(t->scanned <= ST_DDB_LIST_SCAN_MAX, HS_ERR_IO,
                  "DynamoDB Scan: the inventory has more than %d items to list",
                  ST_DDB_LIST_SCAN_MAX);
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(items, i);
        json_object *nb = NULL;
        if (!json_object_object_get_ex(item, "not_before", &nb)) {
            continue; /* a counter or a key generation record */
        }
        HS_GUARD(st_ddb_item_record(item, rec));
        if ((q->after == NULL || st_inv_list_cmp(rec, q->after) > 0) &&
            st_inv_list_matches(q, rec)) {
            st_ddb_top_offer(t, rec);
        }
    }
    return st_ddb_page_next(&reply, "Scan", start);
}

static HS_RESULT st_ddb_list_records(struct st_inventory *inv, const struct st_list_query *q,
                                     struct st_list_page *page)
{
    struct st_inv_ddb *d = st_ddb_cast(inv);
    HS_ENSURE_REF(d);
    HS_ENSURE_REF(page);
    HS_ENSURE_REF(page->records);
    HS_GUARD(st_inv_list_query_check(q));
    HS_DEFER(struct st_ddb_top t = {0}, st_ddb_top_clear);
    /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): t is cleared by its cleanup */
    HS_GUARD(st_ddb_top_init(&t, q->limit + 1));
    HS_DEFER(struct st_cert_record *rec = calloc(1, sizeof(*rec)), st_ddb_record_freep);
    HS_ENSURE(rec != NULL, HS_ERR_NOMEM);
    HS_DEFER(json_object *start = NULL, hs_json_putp);
    size_t pages = 0;
    do {
        HS_ENSURE_MSG(pages++ < ST_DDB_PAGES_MAX, HS_ERR_IO, "DynamoDB Scan: more than %d pages",
                      ST_DDB_PAGES_MAX);
        /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): rec is freed by its cleanup */
        HS_GUARD(st_ddb_scan_page(d, q, &start, &t, rec));
    } while (start != NULL);
    page->n = t.n < q->limit ? t.n : q->limit;
    for (size_t i = 0; i < page->n; i++) {
        page->records[i] = t.recs[t.by[i]];
    }
    page->more = t.n > q->limit;
    if (page->more) {
        st_inv_list_position(&page->records[page->n - 1], &page->next);
    }
    return HS_OK;
}

static HS_RESULT st_ddb_next_crl_number(struct st_inventory *inv, uint64_t *out)
{
    struct st_inv_ddb *d = st_ddb_cast(inv);
    HS_ENSURE_REF(d);
    HS_ENSURE_REF(out);
    return st_ddb_counter_add(d, ST_DDB_META_CRL, out);
}

static uint64_t st_ddb_generation(struct st_inventory *inv)
{
    struct st_inv_ddb *d = st_ddb_cast(inv);
    if (d == NULL) {
        return 0;
    }
    {
        HS_DEFER(pthread_mutex_t *held = hs_mutex_lock(&d->gen_lock), hs_mutex_unlockp);
        if (st_ddb_now_ms() - d->gen_read_ms < ST_DDB_GENERATION_CACHE_MS) {
            return d->gen;
        }
    }
    /* Read outside the lock; two threads reading at once do no harm. */
    HS_DEFER(struct st_ddb_reply reply = {0}, st_ddb_reply_clear);
    uint64_t v = 0;
    hs_result r = st_ddb_counter_read(d, ST_DDB_META_GENERATION, &reply, &v);
    if (hs_failed(r)) {
        hs_log(HS_LOG_WARN, "inventory.dynamodb.generation_failed", HS_LOG_ERR());
    }
    st_ddb_generation_seen(d, v); /* a failed read also waits a period before the next */
    HS_DEFER(pthread_mutex_t *held = hs_mutex_lock(&d->gen_lock), hs_mutex_unlockp);
    return d->gen;
}

/* --- open and close ---------------------------------------------------------------------------- */

/* --- keygen records (st_keygen.h) -------------------------------------------------------------- */

/* The item of a keygen request shares the table with the certificates, under the hash key
 * "keygen#<request_id>" (never a serial: a serial is hex digits only), so the certificate
 * indexes (sparse: no revoked_part) never see it, the table's TTL attribute expires_at removes
 * it, and IAM can limit a role to these items with dynamodb:LeadingKeys "keygen#*". Attributes:
 * owner (S), keygen_status (N, enum st_keygen_status), result (B, absent while pending or when
 * empty), expires_at (N). */
#define ST_DDB_KG_PREFIX "keygen#"
#define ST_DDB_KG_KEY_LEN (sizeof(ST_DDB_KG_PREFIX) - 1 + ST_KEYGEN_ID_LEN)
#define ST_DDB_KG_B64_MAX (4 * ((ST_KEYGEN_BLOB_MAX + 2) / 3))

static HS_RESULT st_ddb_kg_key(const char *request_id, char out[ST_DDB_KG_KEY_LEN + 1])
{
    int n = snprintf(out, ST_DDB_KG_KEY_LEN + 1, "%s%s", ST_DDB_KG_PREFIX, request_id);
    HS_ENSURE(n == (int)ST_DDB_KG_KEY_LEN, HS_ERR_INTERNAL);
    return HS_OK;
}

/* A request on the keygen item, with the names every keygen expression uses. */
static HS_RESULT st_ddb_kg_request(const struct st_inv_ddb *d, const char *request_id,
                                   bool with_key, json_object **out, json_object **values)
{
    char key[ST_DDB_KG_KEY_LEN + 1];
    HS_GUARD(st_ddb_kg_key(request_id, key));
    HS_DEFER(json_object *req = NULL, hs_json_putp);
    HS_GUARD(st_ddb_request(d, with_key ? key : NULL, &req));
    json_object *names = NULL;
    HS_GUARD(st_ddb_add_obj(req, "ExpressionAttributeNames", &names));
    HS_GUARD(st_ddb_add_str(names, "#s", "keygen_status"));
    HS_GUARD(st_ddb_add_str(names, "#e", "expires_at"));
    HS_GUARD(st_ddb_add_obj(req, "ExpressionAttributeValues", values));
    *out = req;
    req = NULL;
    return HS_OK;
}

/* Adds "#o" (owner) to the request's names. */
static HS_RESULT st_ddb_kg_name(json_object *req, const char *placeholder, const char *name)
{
    json_object *names = NULL;
    HS_ENSURE(json_object_object_get_ex(req, "ExpressionAttributeNames", &names), HS_ERR_INTERNAL);
    return st_ddb_add_str(names, placeholder, name);
}

/* The keygen item as a consistent GetItem reads it. */
struct st_ddb_kg_item {
    bool found;
    char owner[ST_INV_PRINCIPAL_MAX + 1];
    enum st_keygen_status status;
    time_t expires;
    struct hs_buf *result; /* done or failed only */
};

static void st_ddb_kg_item_clear(struct st_ddb_kg_item *it)
{
    hs_buf_free(it->result);
    it->result = NULL;
}

/* The result attribute (absent: empty) into a new buffer. */
static HS_RESULT st_ddb_kg_result(json_object *item, struct hs_buf **out)
{
    HS_DEFER(struct hs_buf *b = hs_buf_new(ST_KEYGEN_BLOB_MAX), hs_buf_freep);
    HS_ENSURE(b != NULL, HS_ERR_NOMEM);
    if (json_object_object_get_ex(item, "result", NULL)) {
        const char *s = NULL;
        size_t n = 0;
        HS_GUARD(st_ddb_attr(item, "result", "B", &s, &n));
        HS_ENSURE_MSG(n > 0 && n <= ST_DDB_KG_B64_MAX && n % 4 == 0, HS_ERR_IO,
                      "DynamoDB item: result is not base64 of at most %u bytes",
                      ST_KEYGEN_BLOB_MAX);
        size_t pad = (s[n - 1] == '=') + (s[n - 2] == '=');
        /* EVP_DecodeBlock writes the padding's zero bytes too: decode beside the buffer. */
        HS_DEFER(struct hs_buf *raw = hs_buf_new(n / 4 * 3), hs_buf_freep);
        HS_ENSURE(raw != NULL, HS_ERR_NOMEM);
        unsigned char *p = NULL;
        HS_GUARD(hs_buf_reserve(raw, n / 4 * 3, &p));
        int got = EVP_DecodeBlock(p, (const unsigned char *)s, (int)n);
        HS_ENSURE_MSG(got == (int)(n / 4 * 3) && (size_t)got - pad <= ST_KEYGEN_BLOB_MAX, HS_ERR_IO,
                      "DynamoDB item: result is not base64");
        HS_GUARD(hs_buf_put(b, p, (size_t)got - pad));
    }
    *out = b;
    b = NULL;
    return HS_OK;
}

/* Reads a keygen item's attributes (from GetItem's Item or DeleteItem's Attributes). */
static HS_RESULT st_ddb_kg_parse(json_object *item, struct st_ddb_kg_item *out)
{
    long long v = 0;
    HS_GUARD(st_ddb_get_text(item, "owner", out->owner, sizeof(out->owner)));
    HS_GUARD(st_ddb_get_int(item, "keygen_status", ST_KEYGEN_PENDING, ST_KEYGEN_FAILED, &v));
    out->status = (enum st_keygen_status)v;
    HS_GUARD(st_ddb_get_time(item, "expires_at", &out->expires));
    out->found = true;
    if (out->status != ST_KEYGEN_PENDING) {
        HS_GUARD(st_ddb_kg_result(item, &out->result));
    }
    return HS_OK;
}

static HS_RESULT st_ddb_kg_read(struct st_inv_ddb *d, const char *request_id,
                                struct st_ddb_kg_item *out)
{
    char key[ST_DDB_KG_KEY_LEN + 1];
    HS_GUARD(st_ddb_kg_key(request_id, key));
    HS_DEFER(json_object *req = NULL, hs_json_putp);
    HS_GUARD(st_ddb_request(d, key, &req));
    HS_GUARD(hs_json_add(req, "ConsistentRead", json_object_new_boolean(1)));
    HS_DEFER(struct st_ddb_reply reply = {0}, st_ddb_reply_clear);
    HS_GUARD(st_ddb_call(d, "GetItem", req, &reply));
    json_object *item = NULL;
    if (!json_object_object_get_ex(reply.doc, "Item", &item)) {
        out->found = false;
        return HS_OK;
    }
    HS_ENSURE_MSG(json_object_is_type(item, json_type_object), HS_ERR_IO,
                  "DynamoDB GetItem: Item is not an object");
    return st_ddb_kg_parse(item, out);
}

static HS_RESULT st_ddb_kg_put(struct st_inventory *inv, const char *request_id, const char *owner,
                               time_t now, time_t expires)
{
    struct st_inv_ddb *d = st_ddb_cast(inv);
    HS_ENSURE_REF(d);
    char key[ST_DDB_KG_KEY_LEN + 1];
    HS_GUARD(st_ddb_kg_key(request_id, key));
    HS_DEFER(json_object *req = NULL, hs_json_putp);
    HS_GUARD(st_ddb_request(d, NULL, &req));
    json_object *item = NULL;
    json_object *names = NULL;
    json_object *values = NULL;
    HS_GUARD(st_ddb_add_obj(req, "Item", &item));
    HS_GUARD(st_ddb_add_s(item, "serial", key));
    HS_GUARD(st_ddb_add_s(item, "owner", owner));
    HS_GUARD(st_ddb_add_n(item, "keygen_status", ST_KEYGEN_PENDING));
    HS_GUARD(st_ddb_add_n(item, "expires_at", (long long)expires));
    /* An expired item of the same key that TTL has not removed yet makes room. */
    HS_GUARD(
        st_ddb_add_str(req, "ConditionExpression", "attribute_not_exists(serial) OR #e <= :now"));
    HS_GUARD(st_ddb_add_obj(req, "ExpressionAttributeNames", &names));
    HS_GUARD(st_ddb_add_str(names, "#e", "expires_at"));
    HS_GUARD(st_ddb_add_obj(req, "ExpressionAttributeValues", &values));
    HS_GUARD(st_ddb_add_n(values, ":now", (long long)now));
    HS_DEFER(struct st_ddb_reply reply = {0}, st_ddb_reply_clear);
    hs_result r = st_ddb_call(d, "PutItem", req, &reply);
    if (!hs_failed(r) || !st_ddb_conditional(&reply)) {
        return r;
    }
    HS_ENSURE_MSG(reply.ambiguous, HS_ERR_INPUT_EXISTS, "key generation request %s exists",
                  request_id);
    /* This put's own earlier attempt, whose answer was lost? */
    HS_DEFER(struct st_ddb_kg_item stored = {0}, st_ddb_kg_item_clear);
    HS_GUARD(st_ddb_kg_read(d, request_id, &stored));
    HS_ENSURE_MSG(stored.found && stored.status == ST_KEYGEN_PENDING && stored.expires == expires &&
                      strcmp(stored.owner, owner) == 0,
                  HS_ERR_INPUT_EXISTS, "key generation request %s exists", request_id);
    return HS_OK;
}

/* Base64 (the B type) of blob as a new JSON string the caller owns. */
static HS_RESULT st_ddb_kg_b64(const unsigned char *blob, size_t n, json_object **out)
{
    size_t len = 4 * ((n + 2) / 3);
    HS_DEFER(struct hs_buf *b = hs_buf_new(len + 1), hs_buf_freep);
    HS_ENSURE(b != NULL, HS_ERR_NOMEM);
    unsigned char *p = NULL;
    HS_GUARD(hs_buf_reserve(b, len + 1, &p)); /* EVP_EncodeBlock adds a NUL */
    int w = EVP_EncodeBlock(p, blob, (int)n);
    HS_ENSURE(w == (int)len, HS_ERR_CRYPTO);
    json_object *text = json_object_new_string_len((const char *)p, w);
    HS_ENSURE(text != NULL, HS_ERR_NOMEM);
    *out = text;
    return HS_OK;
}

static HS_RESULT st_ddb_kg_complete_request(struct st_inv_ddb *d, const char *request_id,
                                            enum st_keygen_status status, const unsigned char *blob,
                                            size_t blob_len, time_t now, time_t expires,
                                            json_object **out)
{
    HS_DEFER(json_object *req = NULL, hs_json_putp);
    json_object *values = NULL;
    HS_GUARD(st_ddb_kg_request(d, request_id, true, &req, &values));
    /* An empty result is left out (DynamoDB Local and dynalite refuse an empty B). */
    HS_GUARD(
        st_ddb_add_str(req, "UpdateExpression",
                       blob_len > 0 ? "SET #s = :s, #e = :e, #r = :r" : "SET #s = :s, #e = :e"));
    HS_GUARD(st_ddb_add_str(req, "ConditionExpression",
                            "attribute_exists(serial) AND #s = :pending AND #e > :now"));
    HS_GUARD(st_ddb_add_n(values, ":s", status));
    HS_GUARD(st_ddb_add_n(values, ":e", (long long)expires));
    HS_GUARD(st_ddb_add_n(values, ":pending", ST_KEYGEN_PENDING));
    HS_GUARD(st_ddb_add_n(values, ":now", (long long)now));
    if (blob_len > 0) {
        json_object *text = NULL;
        HS_GUARD(st_ddb_kg_name(req, "#r", "result"));
        HS_GUARD(st_ddb_kg_b64(blob, blob_len, &text));
        HS_GUARD(st_ddb_add_value(values, ":r", "B", text)); /* takes text */
    }
    *out = req;
    req = NULL;
    return HS_OK;
}

static HS_RESULT st_ddb_kg_complete(struct st_inventory *inv, const char *request_id,
                                    enum st_keygen_status status, const unsigned char *blob,
                                    size_t blob_len, time_t now, time_t expires)
{
    struct st_inv_ddb *d = st_ddb_cast(inv);
    HS_ENSURE_REF(d);
    HS_DEFER(json_object *req = NULL, hs_json_putp);
    HS_GUARD(st_ddb_kg_complete_request(d, request_id, status, blob, blob_len, now, expires, &req));
    HS_DEFER(struct st_ddb_reply reply = {0}, st_ddb_reply_clear);
    hs_result r = st_ddb_call(d, "UpdateItem", req, &reply);
    if (!hs_failed(r) || !st_ddb_conditional(&reply)) {
        return r;
    }
    HS_DEFER(struct st_ddb_kg_item stored = {0}, st_ddb_kg_item_clear);
    HS_GUARD(st_ddb_kg_read(d, request_id, &stored));
    HS_ENSURE_MSG(stored.found && stored.expires > now, HS_ERR_INPUT_NOT_FOUND,
                  "key generation request %s is not pending (gone or expired)", request_id);
    /* This call's own earlier attempt, whose answer was lost? */
    bool ours = reply.ambiguous && stored.status == status && stored.expires == expires &&
                stored.result != NULL && hs_buf_len(stored.result) == blob_len &&
                (blob_len == 0 || memcmp(hs_buf_data(stored.result), blob, blob_len) == 0);
    HS_ENSURE_MSG(ours, HS_ERR_INPUT_EXISTS, "key generation request %s was completed before",
                  request_id);
    return HS_OK;
}

/* The delete's condition failed: pending (it stays), or not found for this owner. When an
 * earlier attempt of the delete may have been applied and the item is gone, its result is lost
 * with the answer: HS_ERR_IO says so. */
static HS_RESULT st_ddb_kg_take_conflict(struct st_inv_ddb *d, const char *request_id,
                                         const char *owner, time_t now, bool ambiguous,
                                         enum st_keygen_status *status)
{
    HS_DEFER(struct st_ddb_kg_item stored = {0}, st_ddb_kg_item_clear);
    HS_GUARD(st_ddb_kg_read(d, request_id, &stored));
    HS_ENSURE_MSG(stored.found || !ambiguous, HS_ERR_IO,
                  "DynamoDB DeleteItem: the answer was lost; key generation result %s is gone",
                  request_id);
    HS_ENSURE_MSG(stored.found && stored.expires > now && strcmp(stored.owner, owner) == 0,
                  HS_ERR_INPUT_NOT_FOUND, "key generation request %s is not found", request_id);
    /* Done since the delete was refused: still pending as of the delete; the next poll takes
     * it. */
    *status = ST_KEYGEN_PENDING;
    return HS_OK;
}

static HS_RESULT st_ddb_kg_take(struct st_inventory *inv, const char *request_id, const char *owner,
                                time_t now, enum st_keygen_status *status, struct hs_buf **out)
{
    struct st_inv_ddb *d = st_ddb_cast(inv);
    HS_ENSURE_REF(d);
    HS_DEFER(json_object *req = NULL, hs_json_putp);
    json_object *values = NULL;
    HS_GUARD(st_ddb_kg_request(d, request_id, true, &req, &values));
    HS_GUARD(st_ddb_kg_name(req, "#o", "owner"));
    HS_GUARD(
        st_ddb_add_str(req, "ConditionExpression", "#o = :o AND #s <> :pending AND #e > :now"));
    HS_GUARD(st_ddb_add_s(values, ":o", owner));
    HS_GUARD(st_ddb_add_n(values, ":pending", ST_KEYGEN_PENDING));
    HS_GUARD(st_ddb_add_n(values, ":now", (long long)now));
    HS_GUARD(st_ddb_add_str(req, "ReturnValues", "ALL_OLD"));
    HS_DEFER(struct st_ddb_reply reply = {0}, st_ddb_reply_clear);
    hs_result r = st_ddb_call(d, "DeleteItem", req, &reply);
    if (hs_failed(r) && st_ddb_conditional(&reply)) {
        enum st_keygen_status st = ST_KEYGEN_PENDING;
        HS_GUARD(st_ddb_kg_take_conflict(d, request_id, owner, now, reply.ambiguous, &st));
        *status = st;
        *out = NULL;
        return HS_OK;
    }
    HS_GUARD(r);
    json_object *attrs = NULL;
    HS_ENSURE_MSG(json_object_object_get_ex(reply.doc, "Attributes", &attrs) &&
                      json_object_is_type(attrs, json_type_object),
                  HS_ERR_IO, "DynamoDB DeleteItem: no Attributes");
    HS_DEFER(struct st_ddb_kg_item taken = {0}, st_ddb_kg_item_clear);
    HS_GUARD(st_ddb_kg_parse(attrs, &taken));
    HS_ENSURE_MSG(taken.status != ST_KEYGEN_PENDING && taken.result != NULL, HS_ERR_IO,
                  "DynamoDB DeleteItem: deleted a pending item");
    *status = taken.status;
    *out = taken.result;
    taken.result = NULL;
    return HS_OK;
}

static HS_RESULT st_ddb_kg_cancel(struct st_inventory *inv, const char *request_id,
                                  const char *owner)
{
    struct st_inv_ddb *d = st_ddb_cast(inv);
    HS_ENSURE_REF(d);
    HS_DEFER(json_object *req = NULL, hs_json_putp);
    json_object *values = NULL;
    HS_GUARD(st_ddb_kg_request(d, request_id, true, &req, &values));
    /* The request's names hold #e, which this condition does not use: replace them. */
    json_object_object_del(req, "ExpressionAttributeNames");
    json_object *names = NULL;
    HS_GUARD(st_ddb_add_obj(req, "ExpressionAttributeNames", &names));
    HS_GUARD(st_ddb_add_str(names, "#o", "owner"));
    HS_GUARD(st_ddb_add_str(names, "#s", "keygen_status"));
    HS_GUARD(st_ddb_add_str(req, "ConditionExpression", "#o = :o AND #s = :pending"));
    HS_GUARD(st_ddb_add_s(values, ":o", owner));
    HS_GUARD(st_ddb_add_n(values, ":pending", ST_KEYGEN_PENDING));
    HS_DEFER(struct st_ddb_reply reply = {0}, st_ddb_reply_clear);
    hs_result r = st_ddb_call(d, "DeleteItem", req, &reply);
    /* A lost answer to an applied delete also fails its retry's condition: gone either way. */
    HS_ENSURE_MSG(!hs_failed(r) || !st_ddb_conditional(&reply) || reply.ambiguous,
                  HS_ERR_INPUT_NOT_FOUND, "key generation request %s is not pending for this owner",
                  request_id);
    return hs_failed(r) && st_ddb_conditional(&reply) ? HS_OK : r;
}

static void st_ddb_free(struct st_inv_ddb *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->nidle; i++) {
        aws_http_free(d->idle[i]);
    }
    aws_creds_provider_free(d->creds);
    if (d->curl_global) {
        aws_http_global_cleanup();
    }
    pthread_mutex_destroy(&d->pool_lock);
    pthread_mutex_destroy(&d->gen_lock);
    OPENSSL_clear_free(d, sizeof(*d));
}

HS_DEFINE_FREEP(st_ddb_freep, struct st_inv_ddb, st_ddb_free)

static struct st_inv_ddb *st_ddb_new(void)
{
    struct st_inv_ddb *d = OPENSSL_zalloc(sizeof(*d));
    if (d == NULL) {
        return NULL;
    }
    d->base.ops = &st_ddb_ops;
    pthread_mutex_init(&d->pool_lock, NULL);
    pthread_mutex_init(&d->gen_lock, NULL);
    return d;
}

/* The credential chain (aws_creds.h), asked once now so that missing or refused credentials
 * fail the open. */
static HS_RESULT st_ddb_creds_init(struct st_inv_ddb *d)
{
    HS_GUARD(aws_creds_provider_new(NULL, &d->creds));
    HS_DEFER(struct aws_creds *c = NULL, aws_creds_freep);
    hs_result r = aws_creds_provider_get(d->creds, &c);
    if (r.code == HS_ERR_INPUT_CONFIG || r.code == HS_ERR_INPUT_NOT_FOUND) {
        char why[160];
        (void)snprintf(why, sizeof(why), "%.159s", hs_error_last()->detail);
        HS_BAIL_MSG(HS_ERR_INPUT_CONFIG, "no AWS credentials for DynamoDB: %s", why);
    }
    return r;
}

/* Errors that mean the configuration (table, credentials, endpoint) is wrong. */
static bool st_ddb_config_error(const char *type)
{
    static const char *const types[] = {
        "ResourceNotFoundException",    "UnrecognizedClientException",
        "InvalidSignatureException",    "AccessDeniedException",
        "MissingAuthenticationToken",   "MissingAuthenticationTokenException",
        "IncompleteSignatureException", "ExpiredTokenException",
        "InvalidClientTokenId",         "SignatureDoesNotMatch",
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(type, types[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* The first read: the generation counter. It proves the endpoint, the credentials and the
 * table, and names the culprit when one of them is wrong. */
static HS_RESULT st_ddb_first_read(struct st_inv_ddb *d, uint64_t *out)
{
    HS_DEFER(struct st_ddb_reply reply = {0}, st_ddb_reply_clear);
    hs_result r = st_ddb_counter_read(d, ST_DDB_META_GENERATION, &reply, out);
    HS_ENSURE_MSG(!hs_failed(r) || strcmp(reply.type, "ResourceNotFoundException") != 0,
                  HS_ERR_INPUT_CONFIG, "DynamoDB table %s does not exist at %s", d->table, d->url);
    HS_ENSURE_MSG(!hs_failed(r) || !st_ddb_config_error(reply.type), HS_ERR_INPUT_CONFIG,
                  "DynamoDB at %s refused the credentials: %s", d->url, reply.type);
    return r;
}

HS_RESULT st_dynamodb_config_check(const struct st_dynamodb_config *cfg)
{
    HS_ENSURE_REF(cfg);
    HS_DEFER(struct st_inv_ddb *d = st_ddb_new(), st_ddb_freep);
    HS_ENSURE(d != NULL, HS_ERR_NOMEM);
    return st_ddb_configure(d, cfg);
}

HS_RESULT st_dynamodb_open(const struct st_dynamodb_config *cfg, struct st_inventory **out)
{
    HS_ENSURE_REF(cfg);
    HS_ENSURE_REF(out);
    HS_DEFER(struct st_inv_ddb *d = st_ddb_new(), st_ddb_freep);
    HS_ENSURE(d != NULL, HS_ERR_NOMEM);
    HS_GUARD(aws_http_global_init(false));
    d->curl_global = true;
    HS_GUARD(st_ddb_configure(d, cfg));
    HS_GUARD(st_ddb_creds_init(d));
    uint64_t generation = 0;
    HS_GUARD(st_ddb_first_read(d, &generation));
    d->gen = generation;
    d->gen_read_ms = st_ddb_now_ms();
    /* Another instance may have revoked just now: list_revoked lets the GSI settle first. */
    d->gen_changed_ms = d->gen_read_ms;
    hs_log(HS_LOG_INFO, "inventory.open", HS_LOG_STR("store", "dynamodb"),
           HS_LOG_STR("table", d->table), HS_LOG_STR("endpoint", d->url),
           HS_LOG_STR("credentials", aws_creds_provider_source(d->creds)),
           HS_LOG_INT("generation", (long long)generation));
    *out = &d->base;
    d = NULL;
    return HS_OK;
}

static void st_ddb_close(struct st_inventory *inv)
{
    st_ddb_free(st_ddb_cast(inv));
}

static const struct st_inventory_ops st_ddb_ops = {
    .put = st_ddb_put,
    .get = st_ddb_get,
    .revoke = st_ddb_revoke,
    .list_revoked = st_ddb_list_revoked,
    .list_revoked_ssh = st_ddb_list_revoked_ssh,
    .list = st_ddb_list_records,
    .next_crl_number = st_ddb_next_crl_number,
    .generation = st_ddb_generation,
    .keygen_put = st_ddb_kg_put,
    .keygen_complete = st_ddb_kg_complete,
    .keygen_take = st_ddb_kg_take,
    .keygen_cancel = st_ddb_kg_cancel,
    .close = st_ddb_close,
};
