/*
 * The inventory's conformance test: every behaviour st_inventory.h promises, run unchanged
 * against every store, each opened through the factory (st_inventory_open, st_config.h):
 *
 *   st_conformance_test sqlite     SQLite files in a fresh directory under $HSMSIGN_TEST_TMPDIR
 *                                  (the build tree; "." when unset), removed when all passed
 *   st_conformance_test dynamodb   dynalite, through tests/dynamo/dynalite.sh run (which starts
 *                                  it and sets HSMSIGN_TEST_DYNAMO_*); Query pages of 3 items,
 *                                  so every listing crosses pages
 *
 * Each case gets a store of its own (a new file, a new table), so counters start at zero on
 * every backend. Covered: every field and both kinds round-trip; bad input is refused with its
 * exact code before it reaches the store (the store sees no activity); duplicates (also across
 * kinds and racing threads); revocation once, its generation, kept across a reopen; SSH
 * revocations stay off the CRL list; list_revoked's order, notAfter bound and HS_ERR_BOUNDS;
 * SSH serials' one spelling and their namespace shared with X.509; list_revoked_ssh (the KRL's
 * list) across two CA keys, in (CA key, serial) order, with its bound and HS_ERR_BOUNDS;
 * CRL numbers strictly increasing across threads and a reopen; 16 threads putting at once; the
 * factory's refusals; the keygen records of st_keygen.h (pending, done or failed taken once by
 * their owner, expiry for every operation, bad input refused before the store, one winner among
 * racing takers). Each backend's own test (st_sqlite_test.c, st_dynamodb_test.c) keeps
 * what only that store does.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "store/st_config.h"
#include "store/st_keygen.h"
#include "tests/testlib/hs_test.h"
#include "tests/testlib/hs_test_store.h"

#define T0 HS_TEST_STORE_T0
#define PATH_LEN 512
#define STORE_NAME_MAX 96
#define LIST_N 11
#define CRL_THREADS 8
#define CRL_EACH 10
#define PUT_THREADS 16
#define PUT_EACH 25
#define RACERS 8

enum backend {
    BACKEND_SQLITE,
    BACKEND_DYNAMODB,
};

static enum backend backend;
static char test_dir[PATH_LEN / 2];
static unsigned run_stamp; /* makes this run's table names new to dynalite */
static const char *endpoint;
static const char *region;

/* One store of a case: a file or a table, and the config the factory opens it with. */
struct store {
    char name[PATH_LEN];
    struct st_config cfg;
};

/* --- helpers ---------------------------------------------------------------------------------- */

static HS_RESULT put_serial(struct st_inventory *inv, const char *serial, enum st_kind kind)
{
    HS_DEFER(struct st_cert_record *r = hs_test_record_new(serial), hs_test_record_freep);
    r->kind = kind;
    return inv->ops->put(inv, r);
}

static bool present(struct st_inventory *inv, const char *serial)
{
    HS_DEFER(struct st_cert_record *r = hs_test_record_new("1"), hs_test_record_freep);
    return !hs_failed(inv->ops->get(inv, serial, r)) && strcmp(r->serial_hex, serial) == 0;
}

/* --- dynalite's control endpoints (tests/dynamo/dynalite_server.js) --------------------------- */

/* --- the backends ----------------------------------------------------------------------------- */

/* A new, empty store for one case: a file name not used yet, or a table created now. */
static void store_new(const char *label, struct store *s)
{
    memset(s, 0, sizeof(*s));
    if (backend == BACKEND_SQLITE) {
        snprintf(s->name, sizeof(s->name), "%s/%s.db", test_dir, label);
        s->cfg.backend = ST_BACKEND_SQLITE;
        s->cfg.sqlite_path = s->name;
        return;
    }
    snprintf(s->name, sizeof(s->name), "conf-%s-%08x", label, run_stamp);
    char body[PATH_LEN + 32];
    snprintf(body, sizeof(body), "{\"name\": \"%s\"}", s->name);
    json_object_put(hs_test_dynalite_ctl(endpoint, "/__create_table", NULL, body));
    s->cfg.backend = ST_BACKEND_DYNAMODB;
    s->cfg.dynamodb = (struct st_dynamodb_config){
        .table = s->name,
        .region = region,
        .endpoint = endpoint,
        .timeout_ms = 2000,
        .page_limit = 3 /* every listing of more than 3 crosses pages */};
}

/* Opens s through the factory; NULL (and a failed check) when it fails. */
static struct st_inventory *store_open(const struct store *s)
{
    struct st_inventory *inv = NULL;
    HS_CHECK_OK(st_inventory_open(&s->cfg, &inv));
    return inv;
}

/* What the store did so far, to show that refused input never reached it: the SQLite store's
 * commits, or the requests dynalite's front received. */
static long store_activity(struct st_inventory *inv)
{
    if (backend == BACKEND_SQLITE) {
        struct st_inventory_stats st;
        st_sqlite_stats(inv, &st);
        return (long)st.commits;
    }
    json_object *doc = hs_test_dynalite_ctl(endpoint, "/__stats", NULL, NULL);
    json_object *v = NULL;
    long n = json_object_object_get_ex(doc, "requests", &v) ? (long)json_object_get_int64(v) : -1;
    json_object_put(doc);
    return n;
}

/* --- cases ------------------------------------------------------------------------------------ */

HS_TEST(put_get_round_trips_every_field_and_kind)
{
    struct store s;
    store_new("roundtrip", &s);
    HS_DEFER(struct st_inventory *inv = store_open(&s), st_inventory_closep);
    if (inv == NULL) {
        return;
    }
    /* Every string at its bound, 64-bit times, hashes with every byte distinct. */
    HS_DEFER(struct st_cert_record *in = hs_test_record_new("7f3a9c0e5d2b41a8b6c4e2f019d7a3b5"),
             hs_test_record_freep);
    memset(in->subject, 's', ST_INV_SUBJECT_MAX);
    memset(in->sans, 'n', ST_INV_SANS_MAX);
    memset(in->requester, 'r', ST_INV_PRINCIPAL_MAX);
    memset(in->profile, 'p', ST_INV_PROFILE_MAX);
    in->not_before = -86400;
    in->not_after = 253402300799; /* 9999-12-31T23:59:59Z */
    for (size_t i = 0; i < sizeof(in->spki_sha256); i++) {
        in->spki_sha256[i] = (unsigned char)i;
        in->cert_sha256[i] = (unsigned char)(0xff - i);
    }
    HS_CHECK_OK(inv->ops->put(inv, in));
    HS_DEFER(struct st_cert_record *out = hs_test_record_new("1"), hs_test_record_freep);
    out->kind = ST_KIND_SSH; /* get must write the kind, not leave it */
    HS_CHECK_OK(inv->ops->get(inv, in->serial_hex, out));
    HS_CHECK(hs_test_record_equal(in, out));
    HS_CHECK(out->kind == ST_KIND_X509);

    /* Quotes, backslashes and commas in the subject; an SSH certificate. */
    HS_DEFER(struct st_cert_record *ssh = hs_test_record_new("5a5a"), hs_test_record_freep);
    ssh->kind = ST_KIND_SSH;
    snprintf(ssh->subject, sizeof(ssh->subject), "key-id \"alice\"\\laptop");
    snprintf(ssh->sans, sizeof(ssh->sans), "[\"alice\",\"root\"]");
    snprintf(ssh->profile, sizeof(ssh->profile), "user");
    HS_CHECK_OK(inv->ops->put(inv, ssh));
    HS_CHECK_OK(inv->ops->get(inv, "5a5a", out));
    HS_CHECK(hs_test_record_equal(ssh, out));
    HS_CHECK(out->kind == ST_KIND_SSH);
    /* Its CA key, every byte distinct, read back as it was put. */
    for (size_t i = 0; i < sizeof(ssh->issuer_key_sha256); i++) {
        ssh->issuer_key_sha256[i] = (unsigned char)(0x80 ^ (i * 11));
    }
    snprintf(ssh->serial_hex, sizeof(ssh->serial_hex), "fedcba9876543210");
    HS_CHECK_OK(inv->ops->put(inv, ssh));
    HS_CHECK_OK(inv->ops->get(inv, "fedcba9876543210", out));
    HS_CHECK(hs_test_record_equal(ssh, out));
    HS_CHECK(memcmp(out->issuer_key_sha256, ssh->issuer_key_sha256, 32) == 0);

    /* A record put as revoked, with an empty subject and no issuer key (X.509 may leave it all
     * zero), keeps its revocation and bumps the generation. */
    uint64_t gen = inv->ops->generation(inv);
    HS_CHECK(gen == 0);
    HS_DEFER(struct st_cert_record *rev = hs_test_record_new("1"), hs_test_record_freep);
    rev->subject[0] = '\0';
    memset(rev->issuer_key_sha256, 0, sizeof(rev->issuer_key_sha256));
    rev->status = ST_CERT_REVOKED;
    rev->revoked_at = T0 + 3600;
    rev->reason = 1;
    HS_CHECK_OK(inv->ops->put(inv, rev));
    HS_CHECK(inv->ops->generation(inv) == gen + 1);
    HS_CHECK_OK(inv->ops->get(inv, "1", out));
    HS_CHECK(hs_test_record_equal(rev, out));

    /* A failed get leaves *out alone. */
    HS_CHECK_ERR(inv->ops->get(inv, "abcdef", out), HS_ERR_INPUT_NOT_FOUND);
    HS_CHECK(strcmp(out->serial_hex, "1") == 0);
}

static void too_long_subject(struct st_cert_record *r)
{
    memset(r->subject, 'a', sizeof(r->subject));
}

static void too_long_sans(struct st_cert_record *r)
{
    memset(r->sans, 'a', sizeof(r->sans));
}

static void too_long_requester(struct st_cert_record *r)
{
    memset(r->requester, 'a', sizeof(r->requester));
}

static void too_long_profile(struct st_cert_record *r)
{
    memset(r->profile, 'a', sizeof(r->profile));
}

static void too_long_serial(struct st_cert_record *r)
{
    memset(r->serial_hex, 'a', sizeof(r->serial_hex));
}

static void validity_inverted(struct st_cert_record *r)
{
    r->not_before = r->not_after + 1;
}

static void status_unknown(struct st_cert_record *r)
{
    r->status = (enum st_cert_status)2;
}

static void kind_unknown(struct st_cert_record *r)
{
    r->kind = (enum st_kind)2;
}

static void kind_negative(struct st_cert_record *r)
{
    r->kind = (enum st_kind) - 1;
}

static void reason_too_big(struct st_cert_record *r)
{
    r->status = ST_CERT_REVOKED;
    r->revoked_at = T0;
    r->reason = 11;
}

static void reason_unused_7(struct st_cert_record *r)
{
    r->status = ST_CERT_REVOKED;
    r->revoked_at = T0;
    r->reason = 7;
}

static void good_with_revocation(struct st_cert_record *r)
{
    r->revoked_at = T0;
}

static void good_with_reason(struct st_cert_record *r)
{
    r->reason = 1;
}

static void revoked_without_time(struct st_cert_record *r)
{
    r->status = ST_CERT_REVOKED;
}

static void ssh_without_issuer(struct st_cert_record *r)
{
    r->kind = ST_KIND_SSH;
    snprintf(r->serial_hex, sizeof(r->serial_hex), "0abc");
    memset(r->issuer_key_sha256, 0, sizeof(r->issuer_key_sha256));
}

static void ssh_serial_odd(struct st_cert_record *r)
{
    r->kind = ST_KIND_SSH; /* "abc": an X.509 serial may be spelled so, an SSH one is "0abc" */
}

static void ssh_serial_too_long(struct st_cert_record *r)
{
    r->kind = ST_KIND_SSH;
    snprintf(r->serial_hex, sizeof(r->serial_hex), "0123456789abcdef01"); /* 9 octets */
}

static void ssh_serial_zero(struct st_cert_record *r)
{
    r->kind = ST_KIND_SSH;
    snprintf(r->serial_hex, sizeof(r->serial_hex), "0");
}

HS_TEST(bad_input_is_refused_with_its_code_before_the_store)
{
    struct store s;
    store_new("validation", &s);
    HS_DEFER(struct st_inventory *inv = store_open(&s), st_inventory_closep);
    if (inv == NULL) {
        return;
    }
    static const struct {
        const char *serial;
        enum hs_code code;
    } serials[] = {
        {"", HS_ERR_INPUT_FIELD},
        {"ABCDEF", HS_ERR_INPUT_FIELD},
        {"12g4", HS_ERR_INPUT_FIELD},
        {"xyz", HS_ERR_INPUT_FIELD},
        {"0x12", HS_ERR_INPUT_FIELD},
        {" 12", HS_ERR_INPUT_FIELD},
        {"12 ", HS_ERR_INPUT_FIELD},
        {"00ab", HS_ERR_INPUT_FIELD},
        {"00", HS_ERR_INPUT_FIELD},
        {"meta#crl_number", HS_ERR_INPUT_FIELD}, /* the DynamoDB store's counter items */
        {"1234567890abcdef1234567890abcdef123456789", HS_ERR_INPUT_FIELD}, /* 41 */
        {"1234567890abcdef1234567890abcdef12345678", HS_ERR_NONE},         /* 40 */
        {"0", HS_ERR_NONE},
        {"0ab", HS_ERR_NONE},
        {"0a1b", HS_ERR_NONE},
    };
    static const struct {
        void (*spoil)(struct st_cert_record *r);
        enum hs_code code;
    } records[] = {
        {too_long_subject, HS_ERR_INPUT_RANGE},    {too_long_sans, HS_ERR_INPUT_RANGE},
        {too_long_requester, HS_ERR_INPUT_RANGE},  {too_long_profile, HS_ERR_INPUT_RANGE},
        {too_long_serial, HS_ERR_INPUT_FIELD},     {validity_inverted, HS_ERR_INPUT_RANGE},
        {status_unknown, HS_ERR_INPUT_FIELD},      {kind_unknown, HS_ERR_INPUT_FIELD},
        {kind_negative, HS_ERR_INPUT_FIELD},       {reason_too_big, HS_ERR_INPUT_RANGE},
        {reason_unused_7, HS_ERR_INPUT_RANGE},     {good_with_revocation, HS_ERR_INPUT_FIELD},
        {good_with_reason, HS_ERR_INPUT_FIELD},    {revoked_without_time, HS_ERR_INPUT_RANGE},
        {ssh_without_issuer, HS_ERR_INPUT_FIELD},  {ssh_serial_odd, HS_ERR_INPUT_FIELD},
        {ssh_serial_too_long, HS_ERR_INPUT_FIELD}, {ssh_serial_zero, HS_ERR_INPUT_FIELD},
    };
    /* Refused input first: the store sees nothing of it. */
    long before = store_activity(inv);
    int accepted = 0;
    for (size_t i = 0; i < sizeof(serials) / sizeof(serials[0]); i++) {
        if (serials[i].code == HS_ERR_NONE) {
            accepted++;
            continue;
        }
        /* A serial longer than the record's array is the too_long_serial case below. */
        if (strlen(serials[i].serial) <= ST_INV_SERIAL_MAX) {
            HS_CHECK_ERR(put_serial(inv, serials[i].serial, ST_KIND_X509), serials[i].code);
        }
        HS_DEFER(struct st_cert_record *r = hs_test_record_new("1"), hs_test_record_freep);
        HS_CHECK_ERR(inv->ops->get(inv, serials[i].serial, r), serials[i].code);
        HS_CHECK_ERR(inv->ops->revoke(inv, serials[i].serial, T0, 1, NULL), serials[i].code);
    }
    for (size_t i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
        HS_DEFER(struct st_cert_record *r = hs_test_record_new("abc"), hs_test_record_freep);
        records[i].spoil(r);
        HS_CHECK_ERR(inv->ops->put(inv, r), records[i].code);
    }
    HS_CHECK_ERR(inv->ops->revoke(inv, "abc", 0, 1, NULL), HS_ERR_INPUT_RANGE);
    HS_CHECK_ERR(inv->ops->revoke(inv, "abc", -5, 1, NULL), HS_ERR_INPUT_RANGE);
    HS_CHECK_ERR(inv->ops->revoke(inv, "abc", T0, 11, NULL), HS_ERR_INPUT_RANGE);
    HS_CHECK_ERR(inv->ops->revoke(inv, "abc", T0, 7, NULL), HS_ERR_INPUT_RANGE);
    HS_CHECK_ERR(inv->ops->revoke(inv, "abc", T0, -2, NULL), HS_ERR_INPUT_RANGE);
    HS_CHECK(store_activity(inv) == before);

    /* Then the valid ones, of both kinds (SSH where the serial is an SSH one). */
    for (size_t i = 0; i < sizeof(serials) / sizeof(serials[0]); i++) {
        uint64_t v = 0;
        bool ssh = i % 2 && !hs_failed(st_ssh_serial_parse(serials[i].serial, &v)) && v != 0;
        if (serials[i].code == HS_ERR_NONE) {
            HS_CHECK_OK(put_serial(inv, serials[i].serial, ssh ? ST_KIND_SSH : ST_KIND_X509));
            HS_CHECK(present(inv, serials[i].serial));
        }
    }
    HS_CHECK(accepted == 4);
    HS_CHECK(!present(inv, "abc"));
    HS_CHECK_OK(put_serial(inv, "abc", ST_KIND_X509));
    HS_CHECK(store_activity(inv) > before);
    HS_CHECK(inv->ops->generation(inv) == 0);
}

struct racer {
    pthread_t thread;
    struct st_inventory *inv;
    pthread_barrier_t *start;
    enum st_kind kind;
    enum hs_code code;
};

static void *racer_main(void *arg)
{
    struct racer *r = arg;
    pthread_barrier_wait(r->start);
    r->code = put_serial(r->inv, "cc01", r->kind).code;
    return NULL;
}

HS_TEST(duplicates_are_refused_also_across_kinds_and_threads)
{
    struct store s;
    store_new("duplicates", &s);
    HS_DEFER(struct st_inventory *inv = store_open(&s), st_inventory_closep);
    if (inv == NULL) {
        return;
    }
    HS_DEFER(struct st_cert_record *r = hs_test_record_new("aa01"), hs_test_record_freep);
    HS_CHECK_OK(inv->ops->put(inv, r));
    HS_CHECK_ERR(inv->ops->put(inv, r), HS_ERR_INPUT_EXISTS);
    r->cert_sha256[0] ^= 1; /* another certificate with the same serial */
    HS_CHECK_ERR(inv->ops->put(inv, r), HS_ERR_INPUT_EXISTS);
    r->kind = ST_KIND_SSH; /* serials are one namespace across kinds */
    HS_CHECK_ERR(inv->ops->put(inv, r), HS_ERR_INPUT_EXISTS);
    HS_CHECK_OK(inv->ops->get(inv, "aa01", r));
    HS_CHECK(r->kind == ST_KIND_X509 && r->cert_sha256[0] == 255);
    HS_CHECK_ERR(inv->ops->get(inv, "fedcba9876543210fedcba98", r), HS_ERR_INPUT_NOT_FOUND);

    /* Threads racing for one new serial: exactly one wins. */
    struct racer racers[RACERS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, RACERS);
    for (int i = 0; i < RACERS; i++) {
        racers[i] = (struct racer){.inv = inv, .start = &start, .kind = (enum st_kind)(i % 2)};
        HS_CHECK(pthread_create(&racers[i].thread, NULL, racer_main, &racers[i]) == 0);
    }
    int ok = 0;
    int exists = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(racers[i].thread, NULL);
        ok += racers[i].code == HS_ERR_NONE;
        exists += racers[i].code == HS_ERR_INPUT_EXISTS;
    }
    pthread_barrier_destroy(&start);
    HS_CHECK(ok == 1 && exists == RACERS - 1);
    HS_CHECK(present(inv, "cc01"));
}

HS_TEST(revoke_sets_status_once_and_bumps_the_generation_on_change)
{
    struct store s;
    store_new("revoke", &s);
    HS_DEFER(struct st_inventory *inv = store_open(&s), st_inventory_closep);
    if (inv == NULL) {
        return;
    }
    HS_CHECK_OK(put_serial(inv, "a1", ST_KIND_X509));
    HS_CHECK_OK(put_serial(inv, "b2", ST_KIND_X509));
    uint64_t gen = inv->ops->generation(inv);
    HS_CHECK(gen == 0);
    bool changed = false;
    HS_CHECK_OK(inv->ops->revoke(inv, "a1", T0 + 100, 1, &changed));
    HS_CHECK(changed);
    HS_CHECK(inv->ops->generation(inv) == gen + 1);
    HS_DEFER(struct st_cert_record *r = hs_test_record_new("1"), hs_test_record_freep);
    HS_CHECK_OK(inv->ops->get(inv, "a1", r));
    HS_CHECK(r->status == ST_CERT_REVOKED && r->revoked_at == T0 + 100 && r->reason == 1);

    /* Twice, three times: no change, no error, the first revocation stays. */
    changed = true;
    HS_CHECK_OK(inv->ops->revoke(inv, "a1", T0 + 200, 4, &changed));
    HS_CHECK(!changed);
    HS_CHECK_OK(inv->ops->revoke(inv, "a1", T0 + 300, 5, NULL));
    HS_CHECK(inv->ops->generation(inv) == gen + 1);
    HS_CHECK_OK(inv->ops->get(inv, "a1", r));
    HS_CHECK(r->revoked_at == T0 + 100 && r->reason == 1);

    HS_CHECK_ERR(inv->ops->revoke(inv, "ffff", T0, 1, &changed), HS_ERR_INPUT_NOT_FOUND);
    HS_CHECK(inv->ops->generation(inv) == gen + 1);
    HS_CHECK_OK(inv->ops->revoke(inv, "b2", T0 + 300, -1, NULL));
    HS_CHECK(inv->ops->generation(inv) == gen + 2);
    HS_CHECK_OK(inv->ops->get(inv, "b2", r));
    HS_CHECK(r->status == ST_CERT_REVOKED && r->revoked_at == T0 + 300 && r->reason == -1);

    /* An SSH certificate is revoked the same way and keeps its kind. */
    HS_CHECK_OK(put_serial(inv, "c3", ST_KIND_SSH));
    changed = false;
    HS_CHECK_OK(inv->ops->revoke(inv, "c3", T0 + 400, 4, &changed));
    HS_CHECK(changed);
    HS_CHECK(inv->ops->generation(inv) == gen + 3);
    HS_CHECK_OK(inv->ops->revoke(inv, "c3", T0 + 500, 1, &changed));
    HS_CHECK(!changed);
    HS_CHECK_OK(inv->ops->get(inv, "c3", r));
    HS_CHECK(r->status == ST_CERT_REVOKED && r->revoked_at == T0 + 400 && r->reason == 4 &&
             r->kind == ST_KIND_SSH);

    /* The generation is kept in the store. */
    st_inventory_close(inv);
    inv = store_open(&s);
    HS_CHECK(inv != NULL && inv->ops->generation(inv) == gen + 3);
}

HS_TEST(list_revoked_orders_filters_counts_and_leaves_ssh_out)
{
    struct store s;
    store_new("list", &s);
    HS_DEFER(struct st_inventory *inv = store_open(&s), st_inventory_closep);
    if (inv == NULL) {
        return;
    }
    /* Put out of order (serials of one length sort numerically); every fourth has expired
     * before T0 + 500; one stays good; SSH revocations interleave and must not show. */
    char serials[LIST_N][ST_INV_SERIAL_MAX + 1];
    for (int i = 0; i < LIST_N; i++) {
        snprintf(serials[i], sizeof(serials[i]), "%x%015x", 1 + i, (unsigned)(i * 7919) % 97);
        HS_DEFER(struct st_cert_record *r = hs_test_record_new(serials[i]), hs_test_record_freep);
        r->not_after = T0 + (i % 4 == 0 ? 10 : 1000);
        HS_CHECK_OK(inv->ops->put(inv, r));
        char ssh[ST_INV_SERIAL_MAX + 1];
        snprintf(ssh, sizeof(ssh), "%x%015x", 1 + i, 500u + (unsigned)i);
        HS_CHECK_OK(put_serial(inv, ssh, ST_KIND_SSH));
        HS_CHECK_OK(inv->ops->revoke(inv, ssh, T0 + 1, 1, NULL));
    }
    HS_DEFER(struct st_cert_record *ssh_revoked = hs_test_record_new("e1"), hs_test_record_freep);
    ssh_revoked->kind = ST_KIND_SSH;
    ssh_revoked->status = ST_CERT_REVOKED;
    ssh_revoked->revoked_at = T0 + 2;
    HS_CHECK_OK(inv->ops->put(inv, ssh_revoked));
    for (int i = LIST_N - 1; i >= 0; i--) {
        if (i != 5) {
            HS_CHECK_OK(inv->ops->revoke(inv, serials[i], T0 + 100 + i, i % 6, NULL));
        }
    }
    struct st_revoked_entry e[LIST_N + 2];
    size_t n = 99;
    HS_CHECK_OK(inv->ops->list_revoked(inv, T0 + 500, e, LIST_N, &n));
    size_t want = 0;
    for (int i = 0; i < LIST_N; i++) {
        if (i == 5 || i % 4 == 0) {
            continue;
        }
        HS_CHECK(want < n && strcmp(e[want].serial_hex, serials[i]) == 0 &&
                 e[want].revoked_at == T0 + 100 + i && e[want].reason == i % 6);
        want++;
    }
    HS_CHECK(n == want && want == 7);
    /* Without the bound: every revoked X.509 certificate, in order, and nothing else. */
    HS_CHECK_OK(inv->ops->list_revoked(inv, 0, e, LIST_N + 2, &n));
    HS_CHECK(n == LIST_N - 1);
    for (size_t i = 0; i < n; i++) {
        HS_CHECK(i == 0 || strcmp(e[i - 1].serial_hex, e[i].serial_hex) < 0);
        HS_CHECK(e[i].revoked_at > T0 + 2); /* none of the SSH revocations */
    }
    /* notAfter at or after the bound: T0 + 1000 is the bound itself, one past is none. */
    HS_CHECK_OK(inv->ops->list_revoked(inv, T0 + 1000, e, LIST_N, &n));
    HS_CHECK(n == 7);
    HS_CHECK_OK(inv->ops->list_revoked(inv, T0 + 1001, e, LIST_N, &n));
    HS_CHECK(n == 0);
    /* Too little room: HS_ERR_BOUNDS, the total in *n, the first max entries in out. */
    n = 0;
    HS_CHECK_ERR(inv->ops->list_revoked(inv, T0 + 500, e, 2, &n), HS_ERR_BOUNDS);
    HS_CHECK(n == 7 && strcmp(e[0].serial_hex, serials[1]) == 0 &&
             strcmp(e[1].serial_hex, serials[2]) == 0);
    n = 0;
    HS_CHECK_ERR(inv->ops->list_revoked(inv, T0 + 500, NULL, 0, &n), HS_ERR_BOUNDS);
    HS_CHECK(n == 7);
    HS_CHECK_OK(inv->ops->list_revoked(inv, T0 + 500, e, 7, &n));
    HS_CHECK(n == 7);
    /* The SSH revocations are there all the same. */
    HS_DEFER(struct st_cert_record *r = hs_test_record_new("1"), hs_test_record_freep);
    HS_CHECK_OK(inv->ops->get(inv, "e1", r));
    HS_CHECK(r->status == ST_CERT_REVOKED && r->kind == ST_KIND_SSH);
}

/* --- the listing (list) -------------------------------------------------------------------- */

#define LS_N 25
#define LS_ALICE "arn:aws:iam::123456789012:user/alice"
#define LS_BOB "arn:aws:iam::123456789012:user/bob"
#define LS_NOW (T0 + 1000)

/* Record i of the listing's data set: pairs issued at the same second (ties go by serial);
 * every fifth SSH, every third alice's, every fourth X.509 one named Web-i, every seventh
 * expired by LS_NOW, i % 6 == 1 revoked. */
static void ls_record(int i, struct st_cert_record *r)
{
    char serial[ST_INV_SERIAL_MAX + 1];
    snprintf(serial, sizeof(serial), "a%03x", (unsigned)i);
    struct st_cert_record *t = hs_test_record_new(serial);
    *r = *t;
    free(t);
    r->issued_at = T0 + (i / 2) * 10;
    r->not_before = T0 + (LS_N - i); /* backwards: the order is issued_at's */
    r->not_after = i % 7 == 0 ? T0 + 100 : T0 + 100000;
    snprintf(r->requester, sizeof(r->requester), "%s", i % 3 == 0 ? LS_ALICE : LS_BOB);
    if (i % 5 == 0) {
        r->kind = ST_KIND_SSH;
        snprintf(r->subject, sizeof(r->subject), "key-%d", i);
        snprintf(r->sans, sizeof(r->sans), "[\"alice\",\"ops-%d\"]", i);
        snprintf(r->profile, sizeof(r->profile), "user");
    } else if (i % 4 == 0) {
        snprintf(r->subject, sizeof(r->subject), "CN=Web-%02d.Example.com,O=Acme", i);
        snprintf(r->sans, sizeof(r->sans), "[\"DNS:web-%02d.example.com\"]", i);
    } else {
        snprintf(r->subject, sizeof(r->subject), "CN=host-%02d,O=Acme", i);
        snprintf(r->sans, sizeof(r->sans), "[\"DNS:h%02d.internal\",\"IP:10.0.0.%d\"]", i, i);
    }
}

/* Lists q page by page (limit per page) to the end into serials[] (at most LS_N + 1); the
 * count, or -1 when a page broke the order, repeated a serial, or ran past LS_N + 1. */
static int ls_all(struct st_inventory *inv, struct st_list_query q, size_t limit,
                  char serials[LS_N + 1][ST_INV_SERIAL_MAX + 1])
{
    HS_DEFER(struct st_cert_record *recs = calloc(limit, sizeof(*recs)), hs_test_record_freep);
    struct st_list_position pos;
    int total = 0;
    q.limit = limit;
    q.after = NULL;
    for (int pages = 0; pages <= LS_N + 1; pages++) {
        struct st_list_page page = {.records = recs};
        if (hs_failed(inv->ops->list(inv, &q, &page)) || page.n > limit) {
            return -1;
        }
        for (size_t i = 0; i < page.n; i++) {
            const struct st_cert_record *r = &recs[i];
            if (total > 0) { /* strictly after the previous one in the order */
                const char *prev = serials[total - 1];
                bool ok = false;
                for (int k = 0; k < LS_N && !ok; k++) { /* its not_before, from the data set */
                    char sk[ST_INV_SERIAL_MAX + 1];
                    snprintf(sk, sizeof(sk), "a%03x", (unsigned)k);
                    if (strcmp(sk, prev) == 0) {
                        time_t at = T0 + (k / 2) * 10;
                        ok = r->issued_at < at ||
                             (r->issued_at == at && strcmp(r->serial_hex, prev) < 0);
                    }
                }
                if (!ok) {
                    return -1;
                }
            }
            for (int k = 0; k < total; k++) {
                if (strcmp(serials[k], r->serial_hex) == 0) {
                    return -1;
                }
            }
            if (total > LS_N) {
                return -1;
            }
            snprintf(serials[total++], ST_INV_SERIAL_MAX + 1, "%s", r->serial_hex);
        }
        if (!page.more) {
            return total;
        }
        pos = page.next;
        q.after = &pos;
    }
    return -1;
}

/* The count of q's matches, listed 3 at a time, and also in one page of 200 (the same). */
static int ls_count(struct st_inventory *inv, struct st_list_query q)
{
    char a[LS_N + 1][ST_INV_SERIAL_MAX + 1];
    char b[LS_N + 1][ST_INV_SERIAL_MAX + 1];
    int n = ls_all(inv, q, 3, a);
    int m = ls_all(inv, q, ST_INV_LIST_MAX, b);
    for (int i = 0; n == m && i < n; i++) {
        if (strcmp(a[i], b[i]) != 0) {
            return -2;
        }
    }
    return n == m ? n : -3;
}

HS_TEST(list_pages_newest_first_with_every_filter)
{
    struct store s;
    store_new("listing", &s);
    HS_DEFER(struct st_inventory *inv = store_open(&s), st_inventory_closep);
    if (inv == NULL) {
        return;
    }
    struct st_list_query none = {.any_kind = true, .now = LS_NOW};
    struct st_cert_record one;
    struct st_list_page empty = {.records = &one};
    none.limit = 5;
    HS_CHECK_OK(inv->ops->list(inv, &none, &empty)); /* an empty store: one empty last page */
    HS_CHECK(empty.n == 0 && !empty.more);
    for (int i = LS_N - 1; i >= 0; i--) { /* put out of order */
        HS_DEFER(struct st_cert_record *r = calloc(1, sizeof(*r)), hs_test_record_freep);
        ls_record(i, r);
        HS_CHECK_OK(inv->ops->put(inv, r));
    }
    for (int i = 1; i < LS_N; i += 6) {
        char serial[ST_INV_SERIAL_MAX + 1];
        snprintf(serial, sizeof(serial), "a%03x", (unsigned)i);
        HS_CHECK_OK(inv->ops->revoke(inv, serial, T0 + 500, 1, NULL));
    }
    /* Everything, 3 a page and 200 a page: all 25, newest first, ties by serial descending. */
    char all[LS_N + 1][ST_INV_SERIAL_MAX + 1];
    HS_CHECK(ls_all(inv, none, 3, all) == LS_N);
    HS_CHECK(strcmp(all[0], "a018") == 0 && strcmp(all[1], "a017") == 0 &&
             strcmp(all[2], "a016") == 0 && strcmp(all[LS_N - 1], "a000") == 0);
    HS_CHECK(ls_count(inv, none) == LS_N);
    /* An exactly full last page says so: 25 = 5 pages of 5, the fifth without more. */
    HS_CHECK(ls_all(inv, none, 5, all) == LS_N);
    /* Each filter, and all together. */
    struct st_list_query q = none;
    q.any_kind = false;
    q.kind = ST_KIND_SSH;
    HS_CHECK(ls_count(inv, q) == 5);
    q.kind = ST_KIND_X509;
    HS_CHECK(ls_count(inv, q) == 20);
    q = none;
    q.requester = LS_ALICE;
    HS_CHECK(ls_count(inv, q) == 9);
    q.requester = "arn:aws:iam::123456789012:user/alic"; /* exact, not a prefix */
    HS_CHECK(ls_count(inv, q) == 0);
    q = none;
    q.status = ST_LIST_REVOKED;
    HS_CHECK(ls_count(inv, q) == 4);
    q.status = ST_LIST_EXPIRED; /* 0, 7, 14, 21 expired; 7 is revoked */
    HS_CHECK(ls_count(inv, q) == 3);
    q.status = ST_LIST_GOOD;
    HS_CHECK(ls_count(inv, q) == 18);
    q = none;
    q.name = "WEB-"; /* the CN, ignoring case: 4, 8, 12, 16, 24 (0 and 20 are SSH) */
    HS_CHECK(ls_count(inv, q) == 5);
    q.name = "h07.INTERNAL"; /* a DNS SAN's value */
    HS_CHECK(ls_count(inv, q) == 1);
    q.name = "10.0.0.1"; /* IP SANs 10.0.0.1, .11, .13, .14, .17, .18, .19 (hosts only) */
    HS_CHECK(ls_count(inv, q) == 7);
    q.name = "ops-1"; /* SSH principals ops-10, ops-15 */
    HS_CHECK(ls_count(inv, q) == 2);
    q.name = "KEY-2"; /* an SSH key id: key-20 */
    HS_CHECK(ls_count(inv, q) == 1);
    q.name = "acme"; /* the O= of every subject: not the CN, no match */
    HS_CHECK(ls_count(inv, q) == 0);
    q.name = "DNS:"; /* the SAN's type is not part of its value */
    HS_CHECK(ls_count(inv, q) == 0);
    q = none;
    q.has_expires_before = true;
    q.expires_before = T0 + 200;
    HS_CHECK(ls_count(inv, q) == 4);
    q.has_expires_before = false;
    q.has_expires_after = true;
    q.expires_after = T0 + 200;
    HS_CHECK(ls_count(inv, q) == 21);
    q.expires_after = T0 + 100000; /* strictly after */
    HS_CHECK(ls_count(inv, q) == 0);
    q = none; /* alice's good X.509 certificates: 3, 6, 9, 12, 18, 24 */
    q.any_kind = false;
    q.kind = ST_KIND_X509;
    q.requester = LS_ALICE;
    q.status = ST_LIST_GOOD;
    HS_CHECK(ls_count(inv, q) == 6);
    /* Bad queries are refused before the store. */
    long before = store_activity(inv);
    struct st_cert_record recs[2];
    struct st_list_page page = {.records = recs};
    q = none;
    q.limit = 0;
    HS_CHECK_ERR(inv->ops->list(inv, &q, &page), HS_ERR_INPUT_RANGE);
    q.limit = ST_INV_LIST_MAX + 1;
    HS_CHECK_ERR(inv->ops->list(inv, &q, &page), HS_ERR_INPUT_RANGE);
    q.limit = 2;
    q.name = "";
    HS_CHECK_ERR(inv->ops->list(inv, &q, &page), HS_ERR_INPUT_RANGE);
    q.name = NULL;
    struct st_list_position bad = {.issued = T0};
    snprintf(bad.serial_hex, sizeof(bad.serial_hex), "00ff");
    q.after = &bad;
    HS_CHECK_ERR(inv->ops->list(inv, &q, &page), HS_ERR_INPUT_FIELD);
    q.after = NULL;
    q.any_kind = false;
    q.kind = (enum st_kind)7;
    HS_CHECK_ERR(inv->ops->list(inv, &q, &page), HS_ERR_INPUT_FIELD);
    HS_CHECK(store_activity(inv) == before);
    /* A record read from the listing is the record get reads. */
    q = none;
    q.limit = 2;
    HS_CHECK_OK(inv->ops->list(inv, &q, &page));
    HS_DEFER(struct st_cert_record *got = hs_test_record_new("1"), hs_test_record_freep);
    HS_CHECK(page.n == 2 && page.more);
    HS_CHECK_OK(inv->ops->get(inv, recs[1].serial_hex, got));
    HS_CHECK(hs_test_record_equal(got, &recs[1]));
    HS_CHECK(strcmp(page.next.serial_hex, recs[1].serial_hex) == 0 &&
             page.next.issued == recs[1].issued_at);
}

HS_TEST(list_revoked_of_an_empty_store)
{
    struct store s;
    store_new("empty", &s);
    HS_DEFER(struct st_inventory *inv = store_open(&s), st_inventory_closep);
    if (inv == NULL) {
        return;
    }
    size_t n = 99;
    HS_CHECK_OK(inv->ops->list_revoked(inv, 0, NULL, 0, &n));
    HS_CHECK(n == 0);
    n = 99;
    HS_CHECK_OK(inv->ops->list_revoked_ssh(inv, 0, NULL, 0, &n));
    HS_CHECK(n == 0);
    HS_CHECK(inv->ops->generation(inv) == 0);
}

HS_TEST(ssh_serials_have_one_spelling_and_share_the_namespace)
{
    static const struct {
        uint64_t v;
        const char *hex;
    } spell[] = {
        {0, "0"},
        {1, "01"},
        {0xa, "0a"},
        {0xff, "ff"},
        {0x100, "0100"},
        {0x0102030405060708ULL, "0102030405060708"},
        {0x8000000000000000ULL, "8000000000000000"},
        {UINT64_MAX, "ffffffffffffffff"},
    };
    for (size_t i = 0; i < sizeof(spell) / sizeof(spell[0]); i++) {
        char hex[ST_INV_SSH_SERIAL_MAX + 1];
        uint64_t back = 1;
        HS_CHECK_OK(st_ssh_serial_hex(spell[i].v, hex, sizeof(hex)));
        HS_CHECK(strcmp(hex, spell[i].hex) == 0);
        HS_CHECK_OK(st_ssh_serial_parse(spell[i].hex, &back));
        HS_CHECK(back == spell[i].v);
    }
    char small[ST_INV_SSH_SERIAL_MAX];
    HS_CHECK_ERR(st_ssh_serial_hex(1, small, sizeof(small)), HS_ERR_BOUNDS);
    static const char *const bad[] = {
        "", "a", "abc", "00ff", "0A", "1ffffffffffffffff", "01ffffffffffffffff", "g1", "-1", " 01",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t v = 7;
        HS_CHECK_ERR(st_ssh_serial_parse(bad[i], &v), HS_ERR_INPUT_FIELD);
        HS_CHECK(v == 7);
    }
    uint64_t v = 0;
    HS_CHECK_ERR(st_ssh_serial_parse(NULL, &v), HS_ERR_INTERNAL);

    /* One namespace: an SSH serial and an X.509 serial of the same value are one serial. */
    struct store s;
    store_new("namespace", &s);
    HS_DEFER(struct st_inventory *inv = store_open(&s), st_inventory_closep);
    if (inv == NULL) {
        return;
    }
    char hex[ST_INV_SSH_SERIAL_MAX + 1];
    HS_CHECK_OK(st_ssh_serial_hex(0x0a1b2c3dULL, hex, sizeof(hex)));
    HS_CHECK_OK(put_serial(inv, hex, ST_KIND_X509));
    HS_CHECK_ERR(put_serial(inv, hex, ST_KIND_SSH), HS_ERR_INPUT_EXISTS);
    HS_CHECK_OK(put_serial(inv, "7f01", ST_KIND_SSH));
    HS_CHECK_ERR(put_serial(inv, "7f01", ST_KIND_X509), HS_ERR_INPUT_EXISTS);
    HS_DEFER(struct st_cert_record *r = hs_test_record_new("1"), hs_test_record_freep);
    HS_CHECK_OK(inv->ops->get(inv, hex, r));
    HS_CHECK(r->kind == ST_KIND_X509);
    HS_CHECK_OK(inv->ops->get(inv, "7f01", r));
    HS_CHECK(r->kind == ST_KIND_SSH);
}

/* Two CA keys: A and B differ only in their last byte, so the order compares the whole hash. */
static void ca_key(unsigned char out[32], unsigned char last)
{
    memset(out, 0x5c, 32);
    out[31] = last;
}

#define KRL_N 11

HS_TEST(list_revoked_ssh_lists_per_ca_key_in_serial_order)
{
    struct store s;
    store_new("krl", &s);
    HS_DEFER(struct st_inventory *inv = store_open(&s), st_inventory_closep);
    if (inv == NULL) {
        return;
    }
    /* Out of order; of mixed lengths and beyond INT64_MAX (numeric order is not text order);
     * some put as revoked, the others revoked afterwards; one expired before T0 + 500; one
     * left good. X.509 revocations interleave and must not show. */
    static const struct {
        uint64_t serial;
        unsigned char ca;
        bool expired;
        bool put_revoked;
        bool good;
    } krl[KRL_N] = {
        {0x8000000000000000ULL, 0x02, false, true, false},
        {0x1234567890abcdefULL, 0x01, false, false, false},
        {0x0a, 0x02, false, false, false},
        {0x0100, 0x02, false, true, false},
        {UINT64_MAX, 0x02, true, false, false},
        {0x05, 0x01, false, true, false},
        {0x7fffffffffffffffULL, 0x01, false, false, false},
        {0xff, 0x02, false, false, false},
        {0x0200, 0x01, false, false, false},
        {0x0300, 0x01, false, false, true},
        {0x01, 0x02, false, true, false},
    };
    for (int i = 0; i < KRL_N; i++) {
        char hex[ST_INV_SSH_SERIAL_MAX + 1];
        HS_CHECK_OK(st_ssh_serial_hex(krl[i].serial, hex, sizeof(hex)));
        HS_DEFER(struct st_cert_record *r = hs_test_record_new(hex), hs_test_record_freep);
        r->kind = ST_KIND_SSH;
        ca_key(r->issuer_key_sha256, krl[i].ca);
        r->not_after = T0 + (krl[i].expired ? 10 : 1000);
        if (krl[i].put_revoked) {
            r->status = ST_CERT_REVOKED;
            r->revoked_at = T0 + 200 + i;
            r->reason = 1;
        }
        HS_CHECK_OK(inv->ops->put(inv, r));
        char x509[ST_INV_SERIAL_MAX + 1];
        snprintf(x509, sizeof(x509), "%02x%030x", 0x10 + i, (unsigned)i);
        HS_CHECK_OK(put_serial(inv, x509, ST_KIND_X509));
        HS_CHECK_OK(inv->ops->revoke(inv, x509, T0 + 1, 1, NULL));
    }
    for (int i = KRL_N - 1; i >= 0; i--) {
        if (!krl[i].put_revoked && !krl[i].good) {
            char hex[ST_INV_SSH_SERIAL_MAX + 1];
            HS_CHECK_OK(st_ssh_serial_hex(krl[i].serial, hex, sizeof(hex)));
            bool changed = false;
            HS_CHECK_OK(inv->ops->revoke(inv, hex, T0 + 200 + i, 4, &changed));
            HS_CHECK(changed);
        }
    }
    /* What the KRL must list, in its order: CA key 01's serials, then 02's, ascending. */
    static const int want[] = {5, 8, 1, 6, 10, 2, 7, 3, 0};
    size_t nwant = sizeof(want) / sizeof(want[0]);
    struct st_ssh_revoked_entry e[KRL_N];
    size_t n = 99;
    HS_CHECK_OK(inv->ops->list_revoked_ssh(inv, T0 + 500, e, KRL_N, &n));
    HS_CHECK(n == nwant);
    for (size_t i = 0; i < nwant && i < n; i++) {
        unsigned char ca[32];
        ca_key(ca, krl[want[i]].ca);
        HS_CHECK(e[i].serial == krl[want[i]].serial);
        HS_CHECK(memcmp(e[i].issuer_key_sha256, ca, 32) == 0);
        HS_CHECK(e[i].revoked_at == T0 + 200 + want[i]);
    }
    /* Without the bound the expired one is there too, last (CA key 02, the largest serial). */
    HS_CHECK_OK(inv->ops->list_revoked_ssh(inv, 0, e, KRL_N, &n));
    HS_CHECK(n == nwant + 1 && e[n - 1].serial == UINT64_MAX);
    HS_CHECK_OK(inv->ops->list_revoked_ssh(inv, T0 + 1001, e, KRL_N, &n));
    HS_CHECK(n == 0);
    /* Too little room: HS_ERR_BOUNDS, the total in *n, the first max entries in out. */
    n = 0;
    HS_CHECK_ERR(inv->ops->list_revoked_ssh(inv, T0 + 500, e, 3, &n), HS_ERR_BOUNDS);
    HS_CHECK(n == nwant && e[0].serial == 0x05 && e[1].serial == 0x0200 &&
             e[2].serial == 0x1234567890abcdefULL);
    n = 0;
    HS_CHECK_ERR(inv->ops->list_revoked_ssh(inv, T0 + 500, NULL, 0, &n), HS_ERR_BOUNDS);
    HS_CHECK(n == nwant);
    /* The CRL's list has the X.509 revocations and none of these. */
    struct st_revoked_entry x[KRL_N + 1];
    HS_CHECK_OK(inv->ops->list_revoked(inv, 0, x, KRL_N + 1, &n));
    HS_CHECK(n == KRL_N);
    for (size_t i = 0; i < n; i++) {
        HS_CHECK(strlen(x[i].serial_hex) == 32 && x[i].revoked_at == T0 + 1);
    }
    /* Revoking again changes nothing in the list; the list is kept across a reopen. */
    HS_CHECK_OK(inv->ops->revoke(inv, "0a", T0 + 999, 1, NULL));
    st_inventory_close(inv);
    inv = store_open(&s);
    HS_CHECK(inv != NULL);
    if (inv == NULL) {
        return;
    }
    HS_CHECK_OK(inv->ops->list_revoked_ssh(inv, T0 + 500, e, KRL_N, &n));
    HS_CHECK(n == nwant && e[5].serial == 0x0a && e[5].revoked_at == T0 + 202);
}

struct crl_taker {
    pthread_t thread;
    struct st_inventory *inv;
    uint64_t numbers[CRL_EACH];
    int ok;
};

static void *crl_taker_main(void *arg)
{
    struct crl_taker *t = arg;
    for (int i = 0; i < CRL_EACH; i++) {
        t->ok += !hs_failed(t->inv->ops->next_crl_number(t->inv, &t->numbers[i]));
    }
    return NULL;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

HS_TEST(crl_numbers_strictly_increase_across_threads_and_reopen)
{
    struct store s;
    store_new("crlnumber", &s);
    HS_DEFER(struct st_inventory *inv = store_open(&s), st_inventory_closep);
    if (inv == NULL) {
        return;
    }
    uint64_t a = 0;
    uint64_t b = 0;
    HS_CHECK_OK(inv->ops->next_crl_number(inv, &a));
    HS_CHECK_OK(inv->ops->next_crl_number(inv, &b));
    HS_CHECK(a == 1 && b == 2);
    /* 8 threads x 10: each thread's numbers increase, and all 80 are distinct: 3..82. */
    struct crl_taker t[CRL_THREADS];
    memset(t, 0, sizeof(t));
    uint64_t all[CRL_THREADS * CRL_EACH];
    for (int i = 0; i < CRL_THREADS; i++) {
        t[i].inv = inv;
        HS_CHECK(pthread_create(&t[i].thread, NULL, crl_taker_main, &t[i]) == 0);
    }
    for (int i = 0; i < CRL_THREADS; i++) {
        pthread_join(t[i].thread, NULL);
        HS_CHECK(t[i].ok == CRL_EACH);
        for (int k = 1; k < CRL_EACH; k++) {
            HS_CHECK(t[i].numbers[k] > t[i].numbers[k - 1]);
        }
        memcpy(&all[i * CRL_EACH], t[i].numbers, sizeof(t[i].numbers));
    }
    qsort(all, CRL_THREADS * CRL_EACH, sizeof(all[0]), u64_cmp);
    for (int i = 0; i < CRL_THREADS * CRL_EACH; i++) {
        HS_CHECK(all[i] == (uint64_t)i + 3);
    }
    st_inventory_close(inv);
    inv = store_open(&s);
    HS_CHECK(inv != NULL && !hs_failed(inv->ops->next_crl_number(inv, &a)) && a == 83);
}

struct put_worker {
    pthread_t thread;
    struct st_inventory *inv;
    pthread_barrier_t *start;
    int id;
    int failures;
};

static void put_worker_serial(int id, int i, char out[ST_INV_SERIAL_MAX + 1])
{
    snprintf(out, ST_INV_SERIAL_MAX + 1, "c%02x%05x", id, i);
}

static void *put_worker_main(void *arg)
{
    struct put_worker *w = arg;
    pthread_barrier_wait(w->start);
    for (int i = 0; i < PUT_EACH; i++) {
        char serial[ST_INV_SERIAL_MAX + 1];
        put_worker_serial(w->id, i, serial);
        w->failures += hs_failed(put_serial(w->inv, serial, (enum st_kind)(w->id % 4 == 3)));
    }
    return NULL;
}

HS_TEST(concurrent_puts_from_16_threads_all_land)
{
    struct store s;
    store_new("concurrent", &s);
    HS_DEFER(struct st_inventory *inv = store_open(&s), st_inventory_closep);
    if (inv == NULL) {
        return;
    }
    struct put_worker w[PUT_THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, PUT_THREADS + 1);
    for (int i = 0; i < PUT_THREADS; i++) {
        w[i] = (struct put_worker){.inv = inv, .start = &start, .id = i};
        HS_CHECK(pthread_create(&w[i].thread, NULL, put_worker_main, &w[i]) == 0);
    }
    pthread_barrier_wait(&start);
    double t = hs_test_now_s();
    int failures = 0;
    for (int i = 0; i < PUT_THREADS; i++) {
        pthread_join(w[i].thread, NULL);
        failures += w[i].failures;
    }
    t = hs_test_now_s() - t;
    pthread_barrier_destroy(&start);
    fprintf(stderr, "  %d threads: %d puts in %.2f s = %.0f puts/s\n", PUT_THREADS,
            PUT_THREADS * PUT_EACH, t, PUT_THREADS * PUT_EACH / t);
    HS_CHECK(failures == 0);
    /* Every record is there, with its kind. */
    HS_DEFER(struct st_cert_record *got = hs_test_record_new("1"), hs_test_record_freep);
    int missing = 0;
    int wrong_kind = 0;
    for (int i = 0; i < PUT_THREADS; i++) {
        for (int k = 0; k < PUT_EACH; k++) {
            char serial[ST_INV_SERIAL_MAX + 1];
            put_worker_serial(i, k, serial);
            bool found = !hs_failed(inv->ops->get(inv, serial, got));
            missing += !found;
            wrong_kind += found && got->kind != (enum st_kind)(i % 4 == 3);
        }
    }
    HS_CHECK(missing == 0 && wrong_kind == 0);
}

HS_TEST(the_factory_refuses_a_config_it_cannot_open)
{
    struct st_inventory *inv = NULL;
    struct st_config c = {0}; /* no backend named */
    HS_CHECK_ERR(st_config_check(&c), HS_ERR_INPUT_CONFIG);
    HS_CHECK_ERR(st_inventory_open(&c, &inv), HS_ERR_INPUT_CONFIG);
    c.backend = (enum st_backend)7;
    HS_CHECK_ERR(st_inventory_open(&c, &inv), HS_ERR_INPUT_CONFIG);
    c.backend = ST_BACKEND_SQLITE;
    HS_CHECK_ERR(st_inventory_open(&c, &inv), HS_ERR_INPUT_CONFIG); /* no path */
    c.sqlite_path = "";
    HS_CHECK_ERR(st_inventory_open(&c, &inv), HS_ERR_INPUT_CONFIG);
    static char long_path[ST_SQLITE_PATH_MAX + 2];
    memset(long_path, 'a', ST_SQLITE_PATH_MAX + 1);
    c.sqlite_path = long_path;
    HS_CHECK_ERR(st_inventory_open(&c, &inv), HS_ERR_INPUT_CONFIG);
    /* Checking a good SQLite config creates nothing. */
    char path[PATH_LEN];
    snprintf(path, sizeof(path), "%s/not-created.db", backend == BACKEND_SQLITE ? test_dir : ".");
    c.sqlite_path = path;
    HS_CHECK_OK(st_config_check(&c));
    struct stat st;
    HS_CHECK(stat(path, &st) != 0 && errno == ENOENT);
    c.backend = ST_BACKEND_DYNAMODB;
    c.dynamodb = (struct st_dynamodb_config){.table = "x", .region = "eu-west-1"};
    HS_CHECK_ERR(st_config_check(&c), HS_ERR_INPUT_CONFIG);
    HS_CHECK_ERR(st_inventory_open(&c, &inv), HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "dynamodb") != NULL);
    c.dynamodb.table = "hsmsign-inventory";
    HS_CHECK_OK(st_config_check(&c));
    HS_CHECK(inv == NULL); /* written only on success */
    HS_CHECK_ERR(st_config_check(NULL), HS_ERR_INTERNAL);
}

/* --- keygen records (st_keygen.h) ------------------------------------------------------------- */

#define KG_ID_A "0123456789abcdef0123456789abcdef"
#define KG_ID_B "fedcba9876543210fedcba9876543210"
#define KG_ID_C "00000000000000000000000000000001"
#define KG_OWNER "arn:aws:iam::123456789012:user/alice"
#define KG_OTHER "arn:aws:iam::123456789012:user/mallory"

/* Takes request_id for owner at now and checks the outcome: code, and on success the status
 * and the blob (want, want_len; NULL for pending). */
static void kg_take_check(struct st_inventory *inv, const char *id, const char *owner, time_t now,
                          enum hs_code code, enum st_keygen_status want_status,
                          const unsigned char *want, size_t want_len)
{
    enum st_keygen_status status = (enum st_keygen_status)99;
    struct hs_buf *marker = (struct hs_buf *)&status; /* any non-NULL pointer: must stay */
    struct hs_buf *out = marker;
    hs_result r = st_keygen_take(inv, id, owner, now, &status, &out);
    HS_CHECK(r.code == code);
    if (code != HS_ERR_NONE || r.code != HS_ERR_NONE) {
        HS_CHECK(out == marker && status == (enum st_keygen_status)99);
        return;
    }
    HS_DEFER(struct hs_buf *got = out, hs_buf_freep);
    HS_CHECK(status == want_status);
    if (want_status == ST_KEYGEN_PENDING) {
        HS_CHECK(got == NULL);
        return;
    }
    HS_CHECK(got != NULL && hs_buf_len(got) == want_len &&
             (want_len == 0 || memcmp(hs_buf_data(got), want, want_len) == 0));
}

HS_TEST(keygen_records_pending_then_done_are_taken_once_by_their_owner)
{
    struct store s;
    store_new("keygen", &s);
    HS_DEFER(struct st_inventory *inv = store_open(&s), st_inventory_closep);
    if (inv == NULL) {
        return;
    }
    static unsigned char blob[ST_KEYGEN_BLOB_MAX];
    for (size_t i = 0; i < sizeof(blob); i++) {
        blob[i] = (unsigned char)(i * 7 + (i >> 8));
    }
    time_t exp = T0 + 300;
    HS_CHECK_OK(st_keygen_put_pending(inv, KG_ID_A, KG_OWNER, T0, exp));
    HS_CHECK_ERR(st_keygen_put_pending(inv, KG_ID_A, KG_OWNER, T0, exp), HS_ERR_INPUT_EXISTS);
    HS_CHECK_ERR(st_keygen_put_pending(inv, KG_ID_A, KG_OTHER, T0 + 1, exp), HS_ERR_INPUT_EXISTS);
    /* Pending: it stays, for its owner only. */
    kg_take_check(inv, KG_ID_A, KG_OWNER, T0 + 1, HS_ERR_NONE, ST_KEYGEN_PENDING, NULL, 0);
    kg_take_check(inv, KG_ID_A, KG_OWNER, T0 + 2, HS_ERR_NONE, ST_KEYGEN_PENDING, NULL, 0);
    kg_take_check(inv, KG_ID_A, KG_OTHER, T0 + 2, HS_ERR_INPUT_NOT_FOUND, 0, NULL, 0);
    kg_take_check(inv, KG_ID_B, KG_OWNER, T0 + 2, HS_ERR_INPUT_NOT_FOUND, 0, NULL, 0);
    /* Done with a blob at its bound, every byte value; completed once only. */
    HS_CHECK_OK(
        st_keygen_complete(inv, KG_ID_A, ST_KEYGEN_DONE, blob, sizeof(blob), T0 + 3, T0 + 600));
    HS_CHECK_ERR(st_keygen_complete(inv, KG_ID_A, ST_KEYGEN_FAILED, NULL, 0, T0 + 3, T0 + 600),
                 HS_ERR_INPUT_EXISTS);
    HS_CHECK_ERR(st_keygen_complete(inv, KG_ID_B, ST_KEYGEN_DONE, blob, 10, T0 + 3, T0 + 600),
                 HS_ERR_INPUT_NOT_FOUND);
    /* Another owner cannot take it, nor make it vanish; its owner takes it once. The new
     * expiry counts: after the pending one's (T0 + 300) it is still there. */
    kg_take_check(inv, KG_ID_A, KG_OTHER, T0 + 4, HS_ERR_INPUT_NOT_FOUND, 0, NULL, 0);
    kg_take_check(inv, KG_ID_A, KG_OWNER, T0 + 400, HS_ERR_NONE, ST_KEYGEN_DONE, blob,
                  sizeof(blob));
    kg_take_check(inv, KG_ID_A, KG_OWNER, T0 + 401, HS_ERR_INPUT_NOT_FOUND, 0, NULL, 0);
    HS_CHECK_ERR(st_keygen_complete(inv, KG_ID_A, ST_KEYGEN_DONE, blob, 1, T0 + 402, T0 + 600),
                 HS_ERR_INPUT_NOT_FOUND);
    /* Failed, with an empty result and with a short one. */
    HS_CHECK_OK(st_keygen_put_pending(inv, KG_ID_B, KG_OTHER, T0, exp));
    HS_CHECK_OK(st_keygen_complete(inv, KG_ID_B, ST_KEYGEN_FAILED, NULL, 0, T0 + 1, exp));
    kg_take_check(inv, KG_ID_B, KG_OTHER, T0 + 2, HS_ERR_NONE, ST_KEYGEN_FAILED, NULL, 0);
    HS_CHECK_OK(st_keygen_put_pending(inv, KG_ID_B, KG_OTHER, T0 + 3, exp));
    HS_CHECK_OK(st_keygen_complete(inv, KG_ID_B, ST_KEYGEN_FAILED, blob, 3, T0 + 4, exp));
    kg_take_check(inv, KG_ID_B, KG_OTHER, T0 + 5, HS_ERR_NONE, ST_KEYGEN_FAILED, blob, 3);
    /* Certificates are untouched by keygen records and the reverse. */
    HS_CHECK_OK(put_serial(inv, "0123456789abcdef0123456789abcdef", ST_KIND_X509));
    kg_take_check(inv, KG_ID_A, KG_OWNER, T0 + 6, HS_ERR_INPUT_NOT_FOUND, 0, NULL, 0);
    HS_CHECK(present(inv, "0123456789abcdef0123456789abcdef"));
    HS_CHECK(inv->ops->generation(inv) == 0);
}

HS_TEST(keygen_pending_record_is_cancelled_by_its_owner_only)
{
    struct store s;
    store_new("keygen-cancel", &s);
    HS_DEFER(struct st_inventory *inv = store_open(&s), st_inventory_closep);
    if (inv == NULL) {
        return;
    }
    HS_CHECK_OK(st_keygen_put_pending(inv, KG_ID_A, KG_OWNER, T0, T0 + 60));
    HS_CHECK_ERR(st_keygen_cancel(inv, KG_ID_A, KG_OTHER), HS_ERR_INPUT_NOT_FOUND);
    kg_take_check(inv, KG_ID_A, KG_OWNER, T0 + 1, HS_ERR_NONE, ST_KEYGEN_PENDING, NULL, 0);
    HS_CHECK_OK(st_keygen_cancel(inv, KG_ID_A, KG_OWNER));
    kg_take_check(inv, KG_ID_A, KG_OWNER, T0 + 1, HS_ERR_INPUT_NOT_FOUND, 0, NULL, 0);
    HS_CHECK_ERR(st_keygen_cancel(inv, KG_ID_A, KG_OWNER), HS_ERR_INPUT_NOT_FOUND);
    HS_CHECK_ERR(st_keygen_complete(inv, KG_ID_A, ST_KEYGEN_DONE, NULL, 0, T0 + 2, T0 + 60),
                 HS_ERR_INPUT_NOT_FOUND);
    /* A completed one is no longer pending: the result stays for its owner. */
    const unsigned char sealed[2] = {9, 9};
    HS_CHECK_OK(st_keygen_put_pending(inv, KG_ID_B, KG_OWNER, T0, T0 + 60));
    HS_CHECK_OK(st_keygen_complete(inv, KG_ID_B, ST_KEYGEN_DONE, sealed, 2, T0 + 1, T0 + 60));
    HS_CHECK_ERR(st_keygen_cancel(inv, KG_ID_B, KG_OWNER), HS_ERR_INPUT_NOT_FOUND);
    kg_take_check(inv, KG_ID_B, KG_OWNER, T0 + 2, HS_ERR_NONE, ST_KEYGEN_DONE, sealed, 2);
    HS_CHECK_ERR(st_keygen_cancel(inv, "nothex", KG_OWNER), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(st_keygen_cancel(inv, KG_ID_A, ""), HS_ERR_INPUT_FIELD);
}

HS_TEST(keygen_records_expire_for_every_operation)
{
    struct store s;
    store_new("keygen-expiry", &s);
    HS_DEFER(struct st_inventory *inv = store_open(&s), st_inventory_closep);
    if (inv == NULL) {
        return;
    }
    const unsigned char sealed[4] = {1, 2, 3, 4};
    HS_CHECK_OK(st_keygen_put_pending(inv, KG_ID_A, KG_OWNER, T0, T0 + 10));
    /* At its expiry it is gone: not completed, not read; its id may be used again. */
    HS_CHECK_ERR(st_keygen_complete(inv, KG_ID_A, ST_KEYGEN_DONE, sealed, 4, T0 + 10, T0 + 20),
                 HS_ERR_INPUT_NOT_FOUND);
    kg_take_check(inv, KG_ID_A, KG_OWNER, T0 + 10, HS_ERR_INPUT_NOT_FOUND, 0, NULL, 0);
    HS_CHECK_OK(st_keygen_put_pending(inv, KG_ID_A, KG_OTHER, T0 + 11, T0 + 30));
    kg_take_check(inv, KG_ID_A, KG_OTHER, T0 + 12, HS_ERR_NONE, ST_KEYGEN_PENDING, NULL, 0);
    /* A done record unfetched past its expiry is gone too. */
    HS_CHECK_OK(st_keygen_complete(inv, KG_ID_A, ST_KEYGEN_DONE, sealed, 4, T0 + 13, T0 + 20));
    kg_take_check(inv, KG_ID_A, KG_OTHER, T0 + 20, HS_ERR_INPUT_NOT_FOUND, 0, NULL, 0);
    HS_CHECK_OK(st_keygen_put_pending(inv, KG_ID_A, KG_OWNER, T0 + 21, T0 + 40));
    kg_take_check(inv, KG_ID_A, KG_OWNER, T0 + 22, HS_ERR_NONE, ST_KEYGEN_PENDING, NULL, 0);
}

HS_TEST(keygen_bad_input_is_refused_with_its_code_before_the_store)
{
    struct store s;
    store_new("keygen-input", &s);
    HS_DEFER(struct st_inventory *inv = store_open(&s), st_inventory_closep);
    if (inv == NULL) {
        return;
    }
    static const char *const bad_ids[] = {
        "",
        "0123456789abcdef0123456789abcde",   /* 31 */
        "0123456789abcdef0123456789abcdef0", /* 33 */
        "0123456789ABCDEF0123456789abcdef",
        "0123456789abcdef0123456789abcdeg",
        "keygen#0123456789abcdef0123456",
        "0123456789abcdef 123456789abcdef",
    };
    static char long_owner[ST_INV_PRINCIPAL_MAX + 2];
    memset(long_owner, 'o', ST_INV_PRINCIPAL_MAX + 1);
    static unsigned char big[ST_KEYGEN_BLOB_MAX + 1];
    enum st_keygen_status st = ST_KEYGEN_PENDING;
    struct hs_buf *out = NULL;
    long before = store_activity(inv);
    for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
        HS_CHECK_ERR(st_keygen_put_pending(inv, bad_ids[i], KG_OWNER, T0, T0 + 9),
                     HS_ERR_INPUT_FIELD);
        HS_CHECK_ERR(st_keygen_complete(inv, bad_ids[i], ST_KEYGEN_DONE, big, 1, T0, T0 + 9),
                     HS_ERR_INPUT_FIELD);
        HS_CHECK_ERR(st_keygen_take(inv, bad_ids[i], KG_OWNER, T0, &st, &out), HS_ERR_INPUT_FIELD);
    }
    HS_CHECK_ERR(st_keygen_put_pending(inv, KG_ID_C, "", T0, T0 + 9), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(st_keygen_put_pending(inv, KG_ID_C, long_owner, T0, T0 + 9), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(st_keygen_put_pending(inv, KG_ID_C, KG_OWNER, T0, T0), HS_ERR_INPUT_RANGE);
    HS_CHECK_ERR(st_keygen_put_pending(inv, KG_ID_C, KG_OWNER, 0, T0), HS_ERR_INPUT_RANGE);
    HS_CHECK_ERR(st_keygen_complete(inv, KG_ID_C, ST_KEYGEN_PENDING, big, 1, T0, T0 + 9),
                 HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(st_keygen_complete(inv, KG_ID_C, (enum st_keygen_status)3, big, 1, T0, T0 + 9),
                 HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(st_keygen_complete(inv, KG_ID_C, ST_KEYGEN_DONE, big, sizeof(big), T0, T0 + 9),
                 HS_ERR_INPUT_RANGE);
    HS_CHECK_ERR(st_keygen_complete(inv, KG_ID_C, ST_KEYGEN_DONE, big, 1, T0, T0 - 1),
                 HS_ERR_INPUT_RANGE);
    HS_CHECK_ERR(st_keygen_take(inv, KG_ID_C, "", T0, &st, &out), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(st_keygen_take(inv, KG_ID_C, KG_OWNER, 0, &st, &out), HS_ERR_INPUT_RANGE);
    HS_CHECK_ERR(st_keygen_take(inv, KG_ID_C, KG_OWNER, T0, NULL, &out), HS_ERR_INTERNAL);
    HS_CHECK_ERR(st_keygen_take(NULL, KG_ID_C, KG_OWNER, T0, &st, &out), HS_ERR_INTERNAL);
    HS_CHECK(store_activity(inv) == before);
    HS_CHECK(out == NULL && st == ST_KEYGEN_PENDING);
    /* Nothing was created by any of it. */
    kg_take_check(inv, KG_ID_C, KG_OWNER, T0, HS_ERR_INPUT_NOT_FOUND, 0, NULL, 0);
}

struct kg_taker {
    pthread_t thread;
    struct st_inventory *inv;
    pthread_barrier_t *start;
    enum hs_code code;
    enum st_keygen_status status;
    size_t len;
};

static void *kg_taker_main(void *arg)
{
    struct kg_taker *t = arg;
    struct hs_buf *out = NULL;
    pthread_barrier_wait(t->start);
    t->code = st_keygen_take(t->inv, KG_ID_C, KG_OWNER, T0 + 1, &t->status, &out).code;
    t->len = out != NULL ? hs_buf_len(out) : 0;
    hs_buf_free(out);
    return NULL;
}

HS_TEST(keygen_result_races_to_exactly_one_taker)
{
    struct store s;
    store_new("keygen-race", &s);
    HS_DEFER(struct st_inventory *inv = store_open(&s), st_inventory_closep);
    if (inv == NULL) {
        return;
    }
    const unsigned char sealed[48] = {0x5e};
    HS_CHECK_OK(st_keygen_put_pending(inv, KG_ID_C, KG_OWNER, T0, T0 + 60));
    HS_CHECK_OK(
        st_keygen_complete(inv, KG_ID_C, ST_KEYGEN_DONE, sealed, sizeof(sealed), T0, T0 + 60));
    struct kg_taker takers[RACERS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, RACERS);
    for (int i = 0; i < RACERS; i++) {
        takers[i] = (struct kg_taker){.inv = inv, .start = &start};
        HS_CHECK(pthread_create(&takers[i].thread, NULL, kg_taker_main, &takers[i]) == 0);
    }
    int done = 0;
    int gone = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(takers[i].thread, NULL);
        done += takers[i].code == HS_ERR_NONE && takers[i].status == ST_KEYGEN_DONE &&
                takers[i].len == sizeof(sealed);
        gone += takers[i].code == HS_ERR_INPUT_NOT_FOUND;
    }
    pthread_barrier_destroy(&start);
    HS_CHECK(done == 1 && gone == RACERS - 1);
}

/* --- main ------------------------------------------------------------------------------------- */

static void remove_test_dir(void)
{
    hs_test_dir_remove(test_dir);
}

static int setup_sqlite(void)
{
    const char *base = getenv("HSMSIGN_TEST_TMPDIR");
    snprintf(test_dir, sizeof(test_dir), "%s/st_conformance_test.XXXXXX",
             base != NULL && base[0] != '\0' ? base : ".");
    if (mkdtemp(test_dir) == NULL) {
        perror(test_dir);
        return -1;
    }
    return 0;
}

static void setup_dynamodb(void)
{
    endpoint = getenv("HSMSIGN_TEST_DYNAMO_ENDPOINT");
    if (endpoint == NULL) {
        hs_test_skip_or_fail("no dynalite: run through tests/dynamo/dynalite.sh run (CTest does)");
    }
    region = hs_test_env("HSMSIGN_TEST_DYNAMO_REGION");
    setenv("AWS_ACCESS_KEY_ID", hs_test_env("HSMSIGN_TEST_DYNAMO_AKID"), 1);
    setenv("AWS_SECRET_ACCESS_KEY", hs_test_env("HSMSIGN_TEST_DYNAMO_SECRET"), 1);
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    run_stamp = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "sqlite") == 0) {
        backend = BACKEND_SQLITE;
        if (setup_sqlite() != 0) {
            printf("0 passed, 1 failed\n");
            return 1;
        }
    } else if (argc == 2 && strcmp(argv[1], "dynamodb") == 0) {
        backend = BACKEND_DYNAMODB;
        setup_dynamodb();
    } else {
        fprintf(stderr, "usage: %s sqlite|dynamodb\n", argv[0]);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(put_get_round_trips_every_field_and_kind),
        HS_TEST_CASE(bad_input_is_refused_with_its_code_before_the_store),
        HS_TEST_CASE(duplicates_are_refused_also_across_kinds_and_threads),
        HS_TEST_CASE(revoke_sets_status_once_and_bumps_the_generation_on_change),
        HS_TEST_CASE(list_revoked_orders_filters_counts_and_leaves_ssh_out),
        HS_TEST_CASE(list_revoked_of_an_empty_store),
        HS_TEST_CASE(list_pages_newest_first_with_every_filter),
        HS_TEST_CASE(ssh_serials_have_one_spelling_and_share_the_namespace),
        HS_TEST_CASE(list_revoked_ssh_lists_per_ca_key_in_serial_order),
        HS_TEST_CASE(crl_numbers_strictly_increase_across_threads_and_reopen),
        HS_TEST_CASE(concurrent_puts_from_16_threads_all_land),
        HS_TEST_CASE(the_factory_refuses_a_config_it_cannot_open),
        HS_TEST_CASE(keygen_records_pending_then_done_are_taken_once_by_their_owner),
        HS_TEST_CASE(keygen_records_expire_for_every_operation),
        HS_TEST_CASE(keygen_pending_record_is_cancelled_by_its_owner_only),
        HS_TEST_CASE(keygen_bad_input_is_refused_with_its_code_before_the_store),
        HS_TEST_CASE(keygen_result_races_to_exactly_one_taker),
        HS_TEST_END,
    });
    curl_global_cleanup();
    if (backend == BACKEND_SQLITE && rc == 0) {
        remove_test_dir();
    } else if (backend == BACKEND_SQLITE) {
        fprintf(stderr, "files kept in %s\n", test_dir);
    }
    return rc;
}
