#include "store/st_inventory.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "common/hs_log.h"
#include "store/internal.h"
#include "store/st_keygen.h"

/*
 * Design (see st_inventory.h for the contract):
 *
 * - Two connections to one WAL database. The writer connection is configured in open() and then
 *   used only by the writer thread; the reader connection serves get and list_revoked under
 *   reader_lock. In WAL mode a reader sees the last commit and never waits for a writer's
 *   transaction or fsync, so neither connection needs SQLite's own mutex (SQLITE_OPEN_NOMUTEX).
 * - put, revoke and next_crl_number each queue a job that lives on the caller's stack and wait
 *   until the writer marks it done. The writer takes up to ST_INV_BATCH_MAX queued jobs and
 *   runs them in one BEGIN IMMEDIATE ... COMMIT, each inside its own SAVEPOINT: a job refused
 *   for its input (duplicate or unknown serial) is rolled back alone and the batch goes on;
 *   any other failure rolls back the whole transaction and fails every job of the batch with
 *   HS_ERR_STORE_UNAVAILABLE (busy, locked, full, I/O error) or HS_ERR_IO. Jobs queued during
 *   one commit's fsync make up the next batch.
 * - The writer checkpoints the WAL itself (the WAL hook replaces the auto-checkpoint) after it
 *   has woken the callers, so no caller waits for a checkpoint's fsync.
 */

#define ST_INV_SCHEMA_VERSION 5
#define ST_INV_SQLITE_MIN 3037000 /* STRICT tables (3.37.0); RETURNING is 3.35.0 */
#define ST_INV_BATCH_MAX 256
/* Commit delay: while callers keep arriving (the last batch held more than one job), the
 * writer waits at most this long for the queue to grow back to the last batch's size before it
 * commits, so one fsync covers more records. Small next to a request's own latency. */
#define ST_INV_COMMIT_DELAY_NS 150000L
#define ST_INV_BUSY_MS 5000          /* waiting for another process's lock on the file */
#define ST_INV_CHECKPOINT_PAGES 1000 /* SQLite's default auto-checkpoint threshold */
#define ST_INV_PATH_MAX 4096
#define ST_INV_HASH_LEN 32
#define ST_INV_META_CRL "crl_number"
#define ST_INV_META_GENERATION "revocation_generation"
#define ST_INV_META_NAME_MAX 32

_Static_assert(ST_KIND_SSH == 1, "the schema and the KRL listing spell ST_KIND_SSH as 1");

/* Fails naming the store, the step and SQLite's message, unless cond holds: with
 * HS_ERR_STORE_UNAVAILABLE when SQLite's error says the file cannot be written for now (see
 * st_inv_sql_code), else HS_ERR_IO. */
#define ST_INV_ENSURE_SQL(cond, s, db, what)                                                       \
    HS_ENSURE_MSG((cond), st_inv_sql_code(db), "%s: %s: %s (%d)", (s)->path, (what),               \
                  sqlite3_errmsg(db), sqlite3_extended_errcode(db))

/* The code of db's last error: another connection holds the lock past the busy timeout
 * (SQLITE_BUSY, SQLITE_LOCKED), the disk is full or refuses the write (SQLITE_FULL, SQLITE_IOERR:
 * ENOSPC, EFBIG, EIO...), the file became read-only (SQLITE_READONLY) are conditions of the
 * moment, HS_ERR_STORE_UNAVAILABLE (https://sqlite.org/rescode.html); anything else (a corrupt
 * file, a schema we did not write, a misuse) is HS_ERR_IO. */
static enum hs_code st_inv_sql_code(sqlite3 *db)
{
    switch (sqlite3_errcode(db) & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
        return HS_ERR_STORE_UNAVAILABLE;
    default:
        return HS_ERR_IO;
    }
}

/* Version 1: the first schema, as every store before record kinds created it. */
static const char st_inv_schema_v1_sql[] =
    "CREATE TABLE certificates ("
    " serial TEXT PRIMARY KEY NOT NULL,"
    " subject TEXT NOT NULL,"
    " sans TEXT NOT NULL,"
    " not_before INTEGER NOT NULL,"
    " not_after INTEGER NOT NULL,"
    " requester TEXT NOT NULL,"
    " profile TEXT NOT NULL,"
    " spki_sha256 BLOB NOT NULL CHECK (length(spki_sha256) = 32),"
    " cert_sha256 BLOB NOT NULL CHECK (length(cert_sha256) = 32),"
    " status INTEGER NOT NULL CHECK (status IN (0, 1)),"
    " revoked_at INTEGER NOT NULL,"
    " reason INTEGER NOT NULL"
    ") STRICT;"
    /* Covers list_revoked: only revoked rows, in serial order. */
    "CREATE INDEX certificates_revoked ON certificates (serial, not_after, revoked_at, reason)"
    " WHERE status = 1;"
    "CREATE TABLE meta (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL)"
    " STRICT, WITHOUT ROWID;"
    "INSERT INTO meta (name, value) VALUES ('" ST_INV_META_CRL "', 0),"
    " ('" ST_INV_META_GENERATION "', 0);"
    "PRAGMA user_version = 1;";

/* 1 -> 2: records carry a kind (enum st_kind); every existing row is X.509 (0). ADD COLUMN
 * with a constant default rewrites no row. The covering index of list_revoked gains the kind,
 * which the CRL lists alone. */
static const char st_inv_schema_v2_sql[] =
    "ALTER TABLE certificates ADD COLUMN kind INTEGER NOT NULL DEFAULT 0 CHECK (kind IN (0, 1));"
    "DROP INDEX certificates_revoked;"
    "CREATE INDEX certificates_revoked ON certificates (kind, serial, not_after, revoked_at, "
    "reason)"
    " WHERE status = 1;"
    "PRAGMA user_version = 2;";

/* 2 -> 3: records name the key that signed them (issuer_key_sha256, st_inventory.h); rows
 * from before read as all zero, which the KRL treats as "any CA". As in 1 -> 2, ADD COLUMN with
 * a constant default rewrites no row. A second partial index covers list_revoked_ssh: the
 * revoked SSH rows, issuer first. */
static const char st_inv_schema_v3_sql[] =
    "ALTER TABLE certificates ADD COLUMN issuer_key_sha256 BLOB NOT NULL DEFAULT"
    " x'0000000000000000000000000000000000000000000000000000000000000000'"
    " CHECK (length(issuer_key_sha256) = 32);"
    "CREATE INDEX certificates_krl ON certificates (issuer_key_sha256, serial, not_after,"
    " revoked_at) WHERE status = 1 AND kind = 1;"
    "PRAGMA user_version = 3;";

/* 3 -> 4: the key generation records of st_keygen.h, a table of their own (they are not
 * certificates: no serial, no kind). status 0 pending, 1 done, 2 failed (enum
 * st_keygen_status); result is the sealed blob, NULL while pending. The expiry index serves the
 * sweep. */
static const char st_inv_schema_v4_sql[] =
    "CREATE TABLE keygen ("
    " request_id TEXT PRIMARY KEY NOT NULL CHECK (length(request_id) = 32),"
    " owner TEXT NOT NULL,"
    " status INTEGER NOT NULL CHECK (status IN (0, 1, 2)),"
    " result BLOB CHECK (result IS NULL OR length(result) <= 16384),"
    " expires_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX keygen_expiry ON keygen (expires_at);"
    "PRAGMA user_version = 4;";

/* 4 -> 5: records carry when they were issued (issued_at; rows from before take their
 * not_before, the one write of every row this upgrade makes), and the listing (list, GET
 * /v1/certificates) reads newest first, (issued_at, serial) descending: one index in that order
 * for everybody's listing (an admin's), one per requester for a caller's own. The other filters
 * (kind, status, expiry, name) are checked on the rows the index yields, at most
 * ST_INV_LIST_EXAMINE_MAX a call. */
static const char st_inv_schema_v5_sql[] =
    "ALTER TABLE certificates ADD COLUMN issued_at INTEGER NOT NULL DEFAULT 0;"
    "UPDATE certificates SET issued_at = not_before;"
    "CREATE INDEX certificates_issued ON certificates (issued_at, serial);"
    "CREATE INDEX certificates_requester ON certificates (requester, issued_at, serial);"
    "PRAGMA user_version = 5;";

/* The steps from version i to i + 1, run in order from the file's version. */
static const char *const st_inv_schema_steps[ST_INV_SCHEMA_VERSION] = {
    st_inv_schema_v1_sql, st_inv_schema_v2_sql, st_inv_schema_v3_sql,
    st_inv_schema_v4_sql, st_inv_schema_v5_sql,
};

/* The current schema in one go, for a new file (st_inv_build): what the steps above make from
 * nothing, statement for statement (st_sqlite_test compares the two files' sqlite_schema), at a
 * fraction of the cost (the ALTER TABLE steps each re-read the schema; the steps took about a
 * sixth of hsmsignd's start-up CPU on a new inventory). A new step changes this too. */
static const char st_inv_schema_current_sql[] =
    "CREATE TABLE certificates ("
    " serial TEXT PRIMARY KEY NOT NULL,"
    " subject TEXT NOT NULL,"
    " sans TEXT NOT NULL,"
    " not_before INTEGER NOT NULL,"
    " not_after INTEGER NOT NULL,"
    " requester TEXT NOT NULL,"
    " profile TEXT NOT NULL,"
    " spki_sha256 BLOB NOT NULL CHECK (length(spki_sha256) = 32),"
    " cert_sha256 BLOB NOT NULL CHECK (length(cert_sha256) = 32),"
    " status INTEGER NOT NULL CHECK (status IN (0, 1)),"
    " revoked_at INTEGER NOT NULL,"
    " reason INTEGER NOT NULL,"
    " kind INTEGER NOT NULL DEFAULT 0 CHECK (kind IN (0, 1)),"
    " issuer_key_sha256 BLOB NOT NULL DEFAULT"
    " x'0000000000000000000000000000000000000000000000000000000000000000'"
    " CHECK (length(issuer_key_sha256) = 32),"
    " issued_at INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    "CREATE TABLE meta (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL)"
    " STRICT, WITHOUT ROWID;"
    "INSERT INTO meta (name, value) VALUES ('" ST_INV_META_CRL "', 0),"
    " ('" ST_INV_META_GENERATION "', 0);"
    "CREATE INDEX certificates_revoked ON certificates (kind, serial, not_after, revoked_at, "
    "reason)"
    " WHERE status = 1;"
    "CREATE INDEX certificates_krl ON certificates (issuer_key_sha256, serial, not_after,"
    " revoked_at) WHERE status = 1 AND kind = 1;"
    "CREATE TABLE keygen ("
    " request_id TEXT PRIMARY KEY NOT NULL CHECK (length(request_id) = 32),"
    " owner TEXT NOT NULL,"
    " status INTEGER NOT NULL CHECK (status IN (0, 1, 2)),"
    " result BLOB CHECK (result IS NULL OR length(result) <= 16384),"
    " expires_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX keygen_expiry ON keygen (expires_at);"
    "CREATE INDEX certificates_issued ON certificates (issued_at, serial);"
    "CREATE INDEX certificates_requester ON certificates (requester, issued_at, serial);"
    "PRAGMA user_version = 5;";

_Static_assert(ST_INV_SCHEMA_VERSION == 5, "st_inv_schema_current_sql is schema 5");

_Static_assert(ST_KEYGEN_BLOB_MAX == 16384, "the keygen table's CHECK spells the blob bound");
_Static_assert(ST_KEYGEN_PENDING == 0 && ST_KEYGEN_DONE == 1 && ST_KEYGEN_FAILED == 2,
               "the keygen table spells the statuses as 0, 1, 2");

enum st_inv_wsql {
    ST_INV_W_BEGIN,
    ST_INV_W_COMMIT,
    ST_INV_W_SAVEPOINT,
    ST_INV_W_RELEASE,
    ST_INV_W_ROLLBACK_TO,
    ST_INV_W_INSERT,
    ST_INV_W_EXISTS,
    ST_INV_W_REVOKE,
    ST_INV_W_BUMP,
    ST_INV_W_KG_SWEEP,
    ST_INV_W_KG_INSERT,
    ST_INV_W_KG_COMPLETE,
    ST_INV_W_KG_GET,
    ST_INV_W_KG_DELETE,
    ST_INV_W_KG_CANCEL,
    ST_INV_W_COUNT,
};

enum st_inv_rsql {
    ST_INV_R_GET,
    ST_INV_R_LIST,
    ST_INV_R_LIST_SSH,
    ST_INV_R_COUNT,
};

struct st_inv_sql {
    const char *name; /* for error details */
    const char *sql;
};

static const struct st_inv_sql st_inv_wsql[ST_INV_W_COUNT] = {
    [ST_INV_W_BEGIN] = {"begin", "BEGIN IMMEDIATE"},
    [ST_INV_W_COMMIT] = {"commit", "COMMIT"},
    [ST_INV_W_SAVEPOINT] = {"savepoint", "SAVEPOINT job"},
    [ST_INV_W_RELEASE] = {"release", "RELEASE job"},
    [ST_INV_W_ROLLBACK_TO] = {"rollback to", "ROLLBACK TO job"},
    [ST_INV_W_INSERT] = {"insert",
                         "INSERT INTO certificates (serial, subject, sans, not_before, not_after,"
                         " requester, profile, spki_sha256, cert_sha256, status, revoked_at,"
                         " reason, kind, issuer_key_sha256, issued_at)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
                         " ?15)"},
    [ST_INV_W_EXISTS] = {"lookup", "SELECT 1 FROM certificates WHERE serial = ?1"},
    [ST_INV_W_REVOKE] = {"revoke", "UPDATE certificates SET status = 1, revoked_at = ?2,"
                                   " reason = ?3 WHERE serial = ?1 AND status = 0"},
    [ST_INV_W_BUMP] = {"counter",
                       "UPDATE meta SET value = value + 1 WHERE name = ?1 RETURNING value"},
    [ST_INV_W_KG_SWEEP] = {"keygen sweep", "DELETE FROM keygen WHERE expires_at <= ?1"},
    [ST_INV_W_KG_INSERT] = {"keygen insert",
                            "INSERT INTO keygen (request_id, owner, status, result, expires_at)"
                            " VALUES (?1, ?2, 0, NULL, ?3)"},
    [ST_INV_W_KG_COMPLETE] = {"keygen complete",
                              "UPDATE keygen SET status = ?2, result = ?3, expires_at = ?4"
                              " WHERE request_id = ?1 AND status = 0 AND expires_at > ?5"},
    [ST_INV_W_KG_GET] = {"keygen get", "SELECT owner, status, result, expires_at FROM keygen"
                                       " WHERE request_id = ?1"},
    [ST_INV_W_KG_DELETE] = {"keygen delete", "DELETE FROM keygen WHERE request_id = ?1"},
    [ST_INV_W_KG_CANCEL] = {"keygen cancel", "DELETE FROM keygen WHERE request_id = ?1 AND"
                                             " owner = ?2 AND status = 0"},
};

static const struct st_inv_sql st_inv_rsql[ST_INV_R_COUNT] = {
    [ST_INV_R_GET] = {"get", "SELECT serial, subject, sans, not_before, not_after, requester,"
                             " profile, spki_sha256, cert_sha256, status, revoked_at, reason,"
                             " kind, issuer_key_sha256, issued_at FROM certificates"
                             " WHERE serial = ?1"},
    [ST_INV_R_LIST] = {"list revoked",
                       "SELECT serial, revoked_at, reason FROM certificates"
                       " WHERE status = 1 AND kind = ?2 AND not_after >= ?1 ORDER BY serial"},
    /* kind = 1 (ST_KIND_SSH) as a literal, so that the partial index certificates_krl, whose
     * WHERE says the same, serves it. Serials in numeric order whatever their spelling:
     * left-padded with zeros to the longest serial (blobs compare as bytes). */
    [ST_INV_R_LIST_SSH] = {"list revoked ssh",
                           "SELECT serial, issuer_key_sha256, revoked_at FROM certificates"
                           " WHERE status = 1 AND kind = 1 AND not_after >= ?1"
                           " ORDER BY issuer_key_sha256,"
                           " substr('0000000000000000000000000000000000000000' || serial, -40)"},
};

enum st_inv_op {
    ST_INV_OP_PUT,
    ST_INV_OP_REVOKE,
    ST_INV_OP_CRL_NUMBER,
    ST_INV_OP_KG_PUT,
    ST_INV_OP_KG_COMPLETE,
    ST_INV_OP_KG_TAKE,
    ST_INV_OP_KG_CANCEL,
};

/* The part of a job that a keygen operation (st_keygen.h) reads and writes. */
struct st_inv_kg {
    const char *request_id;
    const char *owner;            /* PUT, TAKE */
    enum st_keygen_status status; /* COMPLETE: the new one; TAKE: the one read */
    const unsigned char *blob;    /* COMPLETE */
    size_t blob_len;              /* COMPLETE */
    time_t now;                   /* all */
    time_t expires;               /* PUT, COMPLETE */
    bool found;                   /* TAKE: an unexpired record of this owner */
    struct hs_buf *out;           /* TAKE of a done or failed record: its blob (caller frees) */
};

/* One queued operation. It lives on the caller's stack: the caller waits until done, so the
 * borrowed rec and serial_hex outlive every use the writer makes of them. */
struct st_inv_job {
    enum st_inv_op op;
    const struct st_cert_record *rec; /* PUT */
    const char *serial_hex;           /* REVOKE */
    time_t at;
    int reason;
    /* Written by the writer, read by the caller once done is set (both under lock). */
    bool changed;        /* REVOKE changed the row */
    uint64_t generation; /* the revocation generation this job set, 0 when none */
    uint64_t number;     /* CRL_NUMBER */
    struct st_inv_kg kg; /* KG_* */
    struct hs_error err; /* code HS_ERR_NONE when the job committed */
    bool done;
    pthread_cond_t wake; /* signalled once done is set: each caller wakes alone */
    struct st_inv_job *next;
};

struct st_inv_sqlite {
    struct st_inventory base; /* first: the ops see a struct st_inventory * */
    char *path;

    sqlite3 *wdb; /* writer connection: open() sets it up, then only the writer thread */
    sqlite3_stmt *wstmt[ST_INV_W_COUNT];
    int wal_pages; /* frames in the WAL after the last commit (writer thread only) */

    pthread_mutex_t reader_lock; /* guards rdb and rstmt */
    sqlite3 *rdb;
    sqlite3_stmt *rstmt[ST_INV_R_COUNT];

    pthread_mutex_t lock;  /* guards the queue, stopping and stats */
    pthread_cond_t queued; /* the writer waits for jobs */
    struct st_inv_job *head;
    struct st_inv_job *tail;
    bool stopping;
    struct st_inventory_stats stats;

    bool writer_running;
    pthread_t writer;
    _Atomic uint64_t generation;
};

static const struct st_inventory_ops st_inv_sqlite_ops;

static struct st_inv_sqlite *st_inv_cast(struct st_inventory *inv)
{
    return inv != NULL && inv->ops == &st_inv_sqlite_ops ? (struct st_inv_sqlite *)inv : NULL;
}

/* Leaves a shared statement ready for its next use, whichever way the function ends. */
static void st_inv_stmt_resetp(sqlite3_stmt **st)
{
    HS_IGNORE(sqlite3_reset(*st));
    HS_IGNORE(sqlite3_clear_bindings(*st));
}

/* Ends a transaction the function left open (a failure before COMMIT). */
static void st_inv_rollbackp(sqlite3 **db)
{
    if (*db != NULL && !sqlite3_get_autocommit(*db)) {
        HS_IGNORE(sqlite3_exec(*db, "ROLLBACK", NULL, NULL, NULL));
    }
}

static void st_inv_finalizep(sqlite3_stmt **st)
{
    HS_IGNORE(sqlite3_finalize(*st));
}

HS_DEFINE_FREEP(st_inv_record_freep, struct st_cert_record, free)

static void st_inv_fd_closep(const int *fd)
{
    if (*fd >= 0) {
        close(*fd);
    }
}

/* --- statement helpers ----------------------------------------------------------------------- */

static HS_RESULT st_inv_bind_text(struct st_inv_sqlite *s, sqlite3_stmt *st, int i,
                                  const char *text, size_t max)
{
    /* SQLITE_STATIC: the text is borrowed until the statement is reset, before the caller
     * of the operation is released. */
    int rc = sqlite3_bind_text(st, i, text, (int)strnlen(text, max), SQLITE_STATIC);
    ST_INV_ENSURE_SQL(rc == SQLITE_OK, s, sqlite3_db_handle(st), "bind");
    return HS_OK;
}

static HS_RESULT st_inv_bind_int(struct st_inv_sqlite *s, sqlite3_stmt *st, int i, sqlite3_int64 v)
{
    int rc = sqlite3_bind_int64(st, i, v);
    ST_INV_ENSURE_SQL(rc == SQLITE_OK, s, sqlite3_db_handle(st), "bind");
    return HS_OK;
}

static HS_RESULT st_inv_bind_hash(struct st_inv_sqlite *s, sqlite3_stmt *st, int i,
                                  const unsigned char *hash)
{
    int rc = sqlite3_bind_blob(st, i, hash, ST_INV_HASH_LEN, SQLITE_STATIC);
    ST_INV_ENSURE_SQL(rc == SQLITE_OK, s, sqlite3_db_handle(st), "bind");
    return HS_OK;
}

/* Runs writer statement i, which returns no rows. */
static HS_RESULT st_inv_wexec(struct st_inv_sqlite *s, enum st_inv_wsql i)
{
    HS_DEFER(sqlite3_stmt *st = s->wstmt[i], st_inv_stmt_resetp);
    int rc = sqlite3_step(st);
    ST_INV_ENSURE_SQL(rc == SQLITE_DONE, s, s->wdb, st_inv_wsql[i].name);
    return HS_OK;
}

/* Runs one-off SQL (set-up, schema) on db. */
static HS_RESULT st_inv_exec_sql(struct st_inv_sqlite *s, sqlite3 *db, const char *sql)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    ST_INV_ENSURE_SQL(rc == SQLITE_OK, s, db, "set-up");
    return HS_OK;
}

/* Runs a one-off query whose first row's first column is an integer. */
static HS_RESULT st_inv_query_int(struct st_inv_sqlite *s, sqlite3 *db, const char *sql,
                                  sqlite3_int64 *out)
{
    HS_DEFER(sqlite3_stmt *st = NULL, st_inv_finalizep);
    ST_INV_ENSURE_SQL(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, s, db, sql);
    int rc = sqlite3_step(st);
    HS_ENSURE_MSG(rc != SQLITE_DONE, HS_ERR_IO, "%s: %s: no row", s->path, sql);
    ST_INV_ENSURE_SQL(rc == SQLITE_ROW, s, db, sql);
    *out = sqlite3_column_int64(st, 0);
    return HS_OK;
}

/* As st_inv_query_int for a text result of at most size - 1 bytes. */
static HS_RESULT st_inv_query_text(struct st_inv_sqlite *s, sqlite3 *db, const char *sql, char *out,
                                   size_t size)
{
    HS_DEFER(sqlite3_stmt *st = NULL, st_inv_finalizep);
    ST_INV_ENSURE_SQL(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, s, db, sql);
    int rc = sqlite3_step(st);
    HS_ENSURE_MSG(rc != SQLITE_DONE, HS_ERR_IO, "%s: %s: no row", s->path, sql);
    ST_INV_ENSURE_SQL(rc == SQLITE_ROW, s, db, sql);
    const unsigned char *text = sqlite3_column_text(st, 0);
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    HS_ENSURE_MSG(text != NULL && n < size, HS_ERR_IO, "%s: %s: unexpected answer", s->path, sql);
    memcpy(out, text, n);
    out[n] = '\0';
    return HS_OK;
}

/* --- writer thread --------------------------------------------------------------------------- */

/* Advances meta counter name by one and returns its new value. */
static HS_RESULT st_inv_bump(struct st_inv_sqlite *s, const char *name, uint64_t *out)
{
    HS_DEFER(sqlite3_stmt *st = s->wstmt[ST_INV_W_BUMP], st_inv_stmt_resetp);
    HS_GUARD(st_inv_bind_text(s, st, 1, name, ST_INV_META_NAME_MAX));
    int rc = sqlite3_step(st);
    HS_ENSURE_MSG(rc != SQLITE_DONE, HS_ERR_IO, "%s: meta counter %s is missing", s->path, name);
    ST_INV_ENSURE_SQL(rc == SQLITE_ROW, s, s->wdb, name);
    sqlite3_int64 v = sqlite3_column_int64(st, 0);
    ST_INV_ENSURE_SQL(sqlite3_step(st) == SQLITE_DONE, s, s->wdb, name);
    HS_ENSURE_MSG(v > 0, HS_ERR_IO, "%s: meta counter %s is %lld", s->path, name, (long long)v);
    *out = (uint64_t)v;
    return HS_OK;
}

static HS_RESULT st_inv_bind_record(struct st_inv_sqlite *s, sqlite3_stmt *st,
                                    const struct st_cert_record *rec)
{
    HS_GUARD(st_inv_bind_text(s, st, 1, rec->serial_hex, ST_INV_SERIAL_MAX));
    HS_GUARD(st_inv_bind_text(s, st, 2, rec->subject, ST_INV_SUBJECT_MAX));
    HS_GUARD(st_inv_bind_text(s, st, 3, rec->sans, ST_INV_SANS_MAX));
    HS_GUARD(st_inv_bind_int(s, st, 4, (sqlite3_int64)rec->not_before));
    HS_GUARD(st_inv_bind_int(s, st, 5, (sqlite3_int64)rec->not_after));
    HS_GUARD(st_inv_bind_text(s, st, 6, rec->requester, ST_INV_PRINCIPAL_MAX));
    HS_GUARD(st_inv_bind_text(s, st, 7, rec->profile, ST_INV_PROFILE_MAX));
    HS_GUARD(st_inv_bind_hash(s, st, 8, rec->spki_sha256));
    HS_GUARD(st_inv_bind_hash(s, st, 9, rec->cert_sha256));
    HS_GUARD(st_inv_bind_int(s, st, 10, rec->status));
    HS_GUARD(st_inv_bind_int(s, st, 11, (sqlite3_int64)rec->revoked_at));
    HS_GUARD(st_inv_bind_int(s, st, 12, rec->reason));
    HS_GUARD(st_inv_bind_int(s, st, 13, rec->kind));
    HS_GUARD(st_inv_bind_hash(s, st, 14, rec->issuer_key_sha256));
    time_t issued = rec->issued_at != 0 ? rec->issued_at : rec->not_before;
    return st_inv_bind_int(s, st, 15, (sqlite3_int64)issued);
}

static HS_RESULT st_inv_insert(struct st_inv_sqlite *s, const struct st_cert_record *rec)
{
    HS_DEFER(sqlite3_stmt *st = s->wstmt[ST_INV_W_INSERT], st_inv_stmt_resetp);
    HS_GUARD(st_inv_bind_record(s, st, rec));
    int rc = sqlite3_step(st);
    HS_ENSURE_MSG(rc != SQLITE_CONSTRAINT_PRIMARYKEY && rc != SQLITE_CONSTRAINT_UNIQUE,
                  HS_ERR_INPUT_EXISTS, "serial %s is already in the inventory", rec->serial_hex);
    /* The checks above make the table's own constraints unreachable; should one fire anyway,
     * it concerns this record alone. */
    HS_ENSURE_MSG((rc & 0xff) != SQLITE_CONSTRAINT, HS_ERR_INPUT_FIELD,
                  "the store refused record %s: %s", rec->serial_hex, sqlite3_errmsg(s->wdb));
    ST_INV_ENSURE_SQL(rc == SQLITE_DONE, s, s->wdb, "insert");
    return HS_OK;
}

static HS_RESULT st_inv_do_put(struct st_inv_sqlite *s, struct st_inv_job *job)
{
    HS_GUARD(st_inv_insert(s, job->rec));
    if (job->rec->status == ST_CERT_REVOKED) {
        return st_inv_bump(s, ST_INV_META_GENERATION, &job->generation);
    }
    return HS_OK;
}

static HS_RESULT st_inv_exists(struct st_inv_sqlite *s, const char *serial_hex)
{
    HS_DEFER(sqlite3_stmt *st = s->wstmt[ST_INV_W_EXISTS], st_inv_stmt_resetp);
    HS_GUARD(st_inv_bind_text(s, st, 1, serial_hex, ST_INV_SERIAL_MAX));
    int rc = sqlite3_step(st);
    HS_ENSURE_MSG(rc != SQLITE_DONE, HS_ERR_INPUT_NOT_FOUND, "serial %s is not in the inventory",
                  serial_hex);
    ST_INV_ENSURE_SQL(rc == SQLITE_ROW, s, s->wdb, "lookup");
    return HS_OK;
}

/* Marks a good certificate revoked; *changed is false when it already was. */
static HS_RESULT st_inv_mark_revoked(struct st_inv_sqlite *s, const struct st_inv_job *job,
                                     bool *changed)
{
    HS_DEFER(sqlite3_stmt *st = s->wstmt[ST_INV_W_REVOKE], st_inv_stmt_resetp);
    HS_GUARD(st_inv_bind_text(s, st, 1, job->serial_hex, ST_INV_SERIAL_MAX));
    HS_GUARD(st_inv_bind_int(s, st, 2, (sqlite3_int64)job->at));
    HS_GUARD(st_inv_bind_int(s, st, 3, job->reason));
    ST_INV_ENSURE_SQL(sqlite3_step(st) == SQLITE_DONE, s, s->wdb, "revoke");
    *changed = sqlite3_changes(s->wdb) > 0;
    return HS_OK;
}

static HS_RESULT st_inv_do_revoke(struct st_inv_sqlite *s, struct st_inv_job *job)
{
    HS_GUARD(st_inv_exists(s, job->serial_hex));
    HS_GUARD(st_inv_mark_revoked(s, job, &job->changed));
    if (job->changed) {
        return st_inv_bump(s, ST_INV_META_GENERATION, &job->generation);
    }
    return HS_OK;
}

/* --- keygen records (writer thread) ----------------------------------------------------------- */

static HS_RESULT st_inv_kg_sweep(struct st_inv_sqlite *s, time_t now)
{
    HS_DEFER(sqlite3_stmt *st = s->wstmt[ST_INV_W_KG_SWEEP], st_inv_stmt_resetp);
    HS_GUARD(st_inv_bind_int(s, st, 1, (sqlite3_int64)now));
    ST_INV_ENSURE_SQL(sqlite3_step(st) == SQLITE_DONE, s, s->wdb, "keygen sweep");
    return HS_OK;
}

/* The sweep first, so an expired record of the same id makes room. */
static HS_RESULT st_inv_kg_put(struct st_inv_sqlite *s, const struct st_inv_kg *kg)
{
    HS_GUARD(st_inv_kg_sweep(s, kg->now));
    HS_DEFER(sqlite3_stmt *st = s->wstmt[ST_INV_W_KG_INSERT], st_inv_stmt_resetp);
    HS_GUARD(st_inv_bind_text(s, st, 1, kg->request_id, ST_KEYGEN_ID_LEN));
    HS_GUARD(st_inv_bind_text(s, st, 2, kg->owner, ST_INV_PRINCIPAL_MAX));
    HS_GUARD(st_inv_bind_int(s, st, 3, (sqlite3_int64)kg->expires));
    int rc = sqlite3_step(st);
    HS_ENSURE_MSG(rc != SQLITE_CONSTRAINT_PRIMARYKEY, HS_ERR_INPUT_EXISTS,
                  "key generation request %s exists", kg->request_id);
    ST_INV_ENSURE_SQL(rc == SQLITE_DONE, s, s->wdb, "keygen insert");
    return HS_OK;
}

/* The record of kg->request_id as the writer sees it; *found false when there is none. */
struct st_inv_kg_row {
    bool found;
    bool owner_ok;
    enum st_keygen_status status;
    time_t expires;
};

static HS_RESULT st_inv_kg_read(struct st_inv_sqlite *s, sqlite3_stmt *st, const char *owner,
                                struct st_inv_kg_row *row)
{
    int rc = sqlite3_step(st);
    row->found = rc == SQLITE_ROW;
    if (rc == SQLITE_DONE) {
        return HS_OK;
    }
    ST_INV_ENSURE_SQL(rc == SQLITE_ROW, s, s->wdb, "keygen get");
    const unsigned char *stored = sqlite3_column_text(st, 0);
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    row->owner_ok =
        owner != NULL && stored != NULL && n == strlen(owner) && memcmp(stored, owner, n) == 0;
    sqlite3_int64 v = sqlite3_column_int64(st, 1);
    HS_ENSURE_MSG(v >= ST_KEYGEN_PENDING && v <= ST_KEYGEN_FAILED, HS_ERR_IO,
                  "%s: stored keygen status %lld is unknown", s->path, (long long)v);
    row->status = (enum st_keygen_status)v;
    row->expires = (time_t)sqlite3_column_int64(st, 3);
    return HS_OK;
}

static HS_RESULT st_inv_kg_complete(struct st_inv_sqlite *s, const struct st_inv_kg *kg)
{
    {
        HS_DEFER(sqlite3_stmt *st = s->wstmt[ST_INV_W_KG_COMPLETE], st_inv_stmt_resetp);
        HS_GUARD(st_inv_bind_text(s, st, 1, kg->request_id, ST_KEYGEN_ID_LEN));
        HS_GUARD(st_inv_bind_int(s, st, 2, kg->status));
        /* A zero-length blob is stored as an empty blob, not NULL: a result was given. */
        static const unsigned char empty[1];
        int rc = sqlite3_bind_blob(st, 3, kg->blob_len > 0 ? kg->blob : empty, (int)kg->blob_len,
                                   SQLITE_STATIC);
        ST_INV_ENSURE_SQL(rc == SQLITE_OK, s, s->wdb, "bind");
        HS_GUARD(st_inv_bind_int(s, st, 4, (sqlite3_int64)kg->expires));
        HS_GUARD(st_inv_bind_int(s, st, 5, (sqlite3_int64)kg->now));
        ST_INV_ENSURE_SQL(sqlite3_step(st) == SQLITE_DONE, s, s->wdb, "keygen complete");
        if (sqlite3_changes(s->wdb) == 1) {
            return HS_OK;
        }
    }
    /* Not completed: tell a missing or expired record from one completed before. */
    HS_DEFER(sqlite3_stmt *st = s->wstmt[ST_INV_W_KG_GET], st_inv_stmt_resetp);
    HS_GUARD(st_inv_bind_text(s, st, 1, kg->request_id, ST_KEYGEN_ID_LEN));
    struct st_inv_kg_row row = {0};
    HS_GUARD(st_inv_kg_read(s, st, NULL, &row));
    HS_ENSURE_MSG(row.found && row.expires > kg->now, HS_ERR_INPUT_NOT_FOUND,
                  "key generation request %s is not pending (gone or expired)", kg->request_id);
    HS_BAIL_MSG(HS_ERR_INPUT_EXISTS, "key generation request %s was completed before",
                kg->request_id);
}

static HS_RESULT st_inv_kg_delete(struct st_inv_sqlite *s, const char *request_id)
{
    HS_DEFER(sqlite3_stmt *st = s->wstmt[ST_INV_W_KG_DELETE], st_inv_stmt_resetp);
    HS_GUARD(st_inv_bind_text(s, st, 1, request_id, ST_KEYGEN_ID_LEN));
    ST_INV_ENSURE_SQL(sqlite3_step(st) == SQLITE_DONE, s, s->wdb, "keygen delete");
    return HS_OK;
}

/* Copies the result column of the row st stands on into a new buffer. */
static HS_RESULT st_inv_kg_blob(struct st_inv_sqlite *s, sqlite3_stmt *st, struct hs_buf **out)
{
    size_t n = (size_t)sqlite3_column_bytes(st, 2);
    const void *p = sqlite3_column_blob(st, 2);
    HS_ENSURE_MSG(n <= ST_KEYGEN_BLOB_MAX && (p != NULL || n == 0), HS_ERR_IO,
                  "%s: stored keygen result does not fit", s->path);
    HS_DEFER(struct hs_buf *b = hs_buf_new(ST_KEYGEN_BLOB_MAX), hs_buf_freep);
    HS_ENSURE(b != NULL, HS_ERR_NOMEM);
    if (n > 0) {
        HS_GUARD(hs_buf_put(b, p, n));
    }
    *out = b;
    b = NULL;
    return HS_OK;
}

/* Reads and, when done or failed, deletes, in the batch's transaction: atomic. A missing,
 * foreign or expired record leaves kg->found false (not an error here, so that deleting an
 * expired record is committed with the batch rather than rolled back with a failed job). */
static HS_RESULT st_inv_kg_take(struct st_inv_sqlite *s, struct st_inv_kg *kg)
{
    struct st_inv_kg_row row = {0};
    HS_DEFER(struct hs_buf *blob = NULL, hs_buf_freep);
    {
        HS_DEFER(sqlite3_stmt *st = s->wstmt[ST_INV_W_KG_GET], st_inv_stmt_resetp);
        HS_GUARD(st_inv_bind_text(s, st, 1, kg->request_id, ST_KEYGEN_ID_LEN));
        HS_GUARD(st_inv_kg_read(s, st, kg->owner, &row));
        if (row.found && row.expires > kg->now && row.status != ST_KEYGEN_PENDING) {
            HS_GUARD(st_inv_kg_blob(s, st, &blob));
        }
    }
    kg->found = row.found && row.owner_ok && row.expires > kg->now;
    if (row.found && row.expires <= kg->now) {
        return st_inv_kg_delete(s, kg->request_id);
    }
    if (!kg->found || row.status == ST_KEYGEN_PENDING) {
        kg->status = row.status;
        return HS_OK;
    }
    HS_GUARD(st_inv_kg_delete(s, kg->request_id));
    kg->status = row.status;
    kg->out = blob;
    blob = NULL;
    return HS_OK;
}

static HS_RESULT st_inv_kg_cancel(struct st_inv_sqlite *s, const struct st_inv_kg *kg)
{
    HS_DEFER(sqlite3_stmt *st = s->wstmt[ST_INV_W_KG_CANCEL], st_inv_stmt_resetp);
    HS_GUARD(st_inv_bind_text(s, st, 1, kg->request_id, ST_KEYGEN_ID_LEN));
    HS_GUARD(st_inv_bind_text(s, st, 2, kg->owner, ST_INV_PRINCIPAL_MAX));
    ST_INV_ENSURE_SQL(sqlite3_step(st) == SQLITE_DONE, s, s->wdb, "keygen cancel");
    HS_ENSURE_MSG(sqlite3_changes(s->wdb) == 1, HS_ERR_INPUT_NOT_FOUND,
                  "key generation request %s is not pending for this owner", kg->request_id);
    return HS_OK;
}

static HS_RESULT st_inv_job_run(struct st_inv_sqlite *s, struct st_inv_job *job)
{
    switch (job->op) {
    case ST_INV_OP_PUT:
        return st_inv_do_put(s, job);
    case ST_INV_OP_REVOKE:
        return st_inv_do_revoke(s, job);
    case ST_INV_OP_CRL_NUMBER:
        return st_inv_bump(s, ST_INV_META_CRL, &job->number);
    case ST_INV_OP_KG_PUT:
        return st_inv_kg_put(s, &job->kg);
    case ST_INV_OP_KG_COMPLETE:
        return st_inv_kg_complete(s, &job->kg);
    case ST_INV_OP_KG_TAKE:
        return st_inv_kg_take(s, &job->kg);
    case ST_INV_OP_KG_CANCEL:
        return st_inv_kg_cancel(s, &job->kg);
    default:
        HS_BAIL_MSG(HS_ERR_INTERNAL, "unknown inventory operation %d", (int)job->op);
    }
}

/* Runs one job inside the batch's transaction. A job refused for its input is rolled back to
 * its savepoint and keeps its error; any other failure is the batch's and is returned. */
static HS_RESULT st_inv_job_apply(struct st_inv_sqlite *s, struct st_inv_job *job)
{
    HS_GUARD(st_inv_wexec(s, ST_INV_W_SAVEPOINT));
    hs_error_clear();
    hs_result r = st_inv_job_run(s, job);
    if (hs_failed(r) && hs_code_class(r.code) == HS_CLASS_INPUT) {
        job->err = *hs_error_last();
        HS_GUARD(st_inv_wexec(s, ST_INV_W_ROLLBACK_TO));
        r = HS_OK;
    }
    HS_GUARD(r);
    return st_inv_wexec(s, ST_INV_W_RELEASE);
}

static HS_RESULT st_inv_batch_apply(struct st_inv_sqlite *s, struct st_inv_job **batch, size_t n)
{
    HS_DEFER(sqlite3 *txn = s->wdb, st_inv_rollbackp);
    HS_GUARD(st_inv_wexec(s, ST_INV_W_BEGIN));
    for (size_t i = 0; i < n; i++) {
        HS_GUARD(st_inv_job_apply(s, batch[i]));
    }
    return st_inv_wexec(s, ST_INV_W_COMMIT);
}

/* Commits batch and fills in every job's outcome. Returns whether it committed, and the put
 * records it held in *records. */
static bool st_inv_batch_run(struct st_inv_sqlite *s, struct st_inv_job **batch, size_t n,
                             uint64_t *records)
{
    hs_result r = st_inv_batch_apply(s, batch, n);
    if (hs_failed(r)) {
        struct hs_error e = *hs_error_last();
        /* The batch's failure is every job's, whatever job raised it: the store's condition
         * (busy, full...) as it was, anything else HS_ERR_IO. */
        e.code = e.code == HS_ERR_STORE_UNAVAILABLE ? e.code : HS_ERR_IO;
        hs_log(HS_LOG_ERROR, "inventory.commit.failed", HS_LOG_STR("path", s->path),
               HS_LOG_INT("operations", n), HS_LOG_ERR());
        for (size_t i = 0; i < n; i++) {
            batch[i]->err = e;
        }
        return false;
    }
    uint64_t generation = 0;
    for (size_t i = 0; i < n; i++) {
        if (batch[i]->err.code != HS_ERR_NONE) {
            continue;
        }
        *records += batch[i]->op == ST_INV_OP_PUT;
        generation = batch[i]->generation > generation ? batch[i]->generation : generation;
    }
    if (generation != 0) {
        /* After COMMIT: whoever sees the new generation also sees the revocation. */
        atomic_store_explicit(&s->generation, generation, memory_order_release);
    }
    return true;
}

static int st_inv_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    ((struct st_inv_sqlite *)arg)->wal_pages = pages;
    return SQLITE_OK;
}

/* Copies the WAL back into the database once it has grown, outside any caller's wait.
 * PASSIVE never blocks readers; a checkpoint that cannot finish is retried after a later
 * commit. */
static void st_inv_checkpoint(struct st_inv_sqlite *s)
{
    if (s->wal_pages < ST_INV_CHECKPOINT_PAGES) {
        return;
    }
    s->wal_pages = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->wdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if (rc != SQLITE_OK) {
        hs_log(HS_LOG_WARN, "inventory.checkpoint.failed", HS_LOG_STR("path", s->path),
               HS_LOG_STR("sqlite", sqlite3_errmsg(s->wdb)));
    }
}

/* Takes up to ST_INV_BATCH_MAX jobs off the queue (lock held). */
static size_t st_inv_take(struct st_inv_sqlite *s, struct st_inv_job **batch)
{
    size_t n = 0;
    while (s->head != NULL && n < ST_INV_BATCH_MAX) {
        batch[n++] = s->head;
        s->head = s->head->next;
    }
    if (s->head == NULL) {
        s->tail = NULL;
    }
    return n;
}

static size_t st_inv_queued(const struct st_inv_sqlite *s)
{
    size_t n = 0;
    for (const struct st_inv_job *j = s->head; j != NULL && n < ST_INV_BATCH_MAX; j = j->next) {
        n++;
    }
    return n;
}

/* Under concurrency (the last batch held several jobs) waits, at most ST_INV_COMMIT_DELAY_NS,
 * until as many are queued again (lock held). */
static void st_inv_commit_delay(struct st_inv_sqlite *s, size_t last)
{
    if (last < 2 || s->stopping) {
        return;
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += ST_INV_COMMIT_DELAY_NS;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!s->stopping && st_inv_queued(s) < last &&
           pthread_cond_timedwait(&s->queued, &s->lock, &until) == 0) {
    }
}

static void *st_inv_writer_main(void *arg)
{
    struct st_inv_sqlite *s = arg;
    struct st_inv_job *batch[ST_INV_BATCH_MAX];
    size_t last = 0;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (s->head == NULL && !s->stopping) {
            pthread_cond_wait(&s->queued, &s->lock);
        }
        st_inv_commit_delay(s, last);
        size_t n = st_inv_take(s, batch);
        last = n;
        if (n == 0) {
            break; /* stopping, and the queue is drained */
        }
        pthread_mutex_unlock(&s->lock);
        uint64_t records = 0;
        bool committed = st_inv_batch_run(s, batch, n, &records);
        pthread_mutex_lock(&s->lock);
        s->stats.commits += committed;
        s->stats.records += records;
        for (size_t i = 0; i < n; i++) {
            batch[i]->done = true; /* the job may be gone once the lock is released */
            pthread_cond_signal(&batch[i]->wake);
        }
        pthread_mutex_unlock(&s->lock);
        st_inv_checkpoint(s);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* --- callers' side --------------------------------------------------------------------------- */

/* Queues job and waits until the writer has committed (or failed) the batch holding it. */
static HS_RESULT st_inv_submit(struct st_inv_sqlite *s, struct st_inv_job *job)
{
    bool open = false;
    HS_ENSURE(pthread_cond_init(&job->wake, NULL) == 0, HS_ERR_NOMEM);
    {
        HS_DEFER(pthread_mutex_t *held = hs_mutex_lock(&s->lock), hs_mutex_unlockp);
        open = !s->stopping;
        if (open && s->tail != NULL) {
            s->tail->next = job;
        } else if (open) {
            s->head = job;
        }
        if (open) {
            s->tail = job;
            pthread_cond_signal(&s->queued);
        }
        while (open && !job->done) {
            pthread_cond_wait(&job->wake, held);
        }
    }
    pthread_cond_destroy(&job->wake);
    HS_ENSURE_MSG(open, HS_ERR_STORE_UNAVAILABLE, "%s: the inventory is closing", s->path);
    if (job->err.code != HS_ERR_NONE) {
        /* The writer thread's error, raised again on the caller's thread. */
        return hs_error_raise(job->err.file, job->err.line, job->err.code, "%s", job->err.detail);
    }
    return HS_OK;
}

static HS_RESULT st_inv_sqlite_put(struct st_inventory *inv, const struct st_cert_record *rec)
{
    struct st_inv_sqlite *s = st_inv_cast(inv);
    HS_ENSURE_REF(s);
    HS_GUARD(st_inv_record_check(rec));
    struct st_inv_job job = {.op = ST_INV_OP_PUT, .rec = rec};
    return st_inv_submit(s, &job);
}

static HS_RESULT st_inv_sqlite_revoke(struct st_inventory *inv, const char *serial_hex, time_t at,
                                      int reason, bool *changed)
{
    struct st_inv_sqlite *s = st_inv_cast(inv);
    HS_ENSURE_REF(s);
    HS_GUARD(st_inv_serial_check(serial_hex));
    HS_ENSURE_MSG(at > 0, HS_ERR_INPUT_RANGE, "revocation time %lld is not after the epoch",
                  (long long)at);
    HS_GUARD(st_inv_reason_check(reason));
    struct st_inv_job job = {
        .op = ST_INV_OP_REVOKE, .serial_hex = serial_hex, .at = at, .reason = reason};
    HS_GUARD(st_inv_submit(s, &job));
    if (changed != NULL) {
        *changed = job.changed;
    }
    return HS_OK;
}

static HS_RESULT st_inv_sqlite_next_crl_number(struct st_inventory *inv, uint64_t *out)
{
    struct st_inv_sqlite *s = st_inv_cast(inv);
    HS_ENSURE_REF(s);
    HS_ENSURE_REF(out);
    struct st_inv_job job = {.op = ST_INV_OP_CRL_NUMBER};
    HS_GUARD(st_inv_submit(s, &job));
    *out = job.number;
    return HS_OK;
}

static HS_RESULT st_inv_sqlite_kg_put(struct st_inventory *inv, const char *request_id,
                                      const char *owner, time_t now, time_t expires)
{
    struct st_inv_sqlite *s = st_inv_cast(inv);
    HS_ENSURE_REF(s);
    struct st_inv_job job = {
        .op = ST_INV_OP_KG_PUT,
        .kg = {.request_id = request_id, .owner = owner, .now = now, .expires = expires}};
    return st_inv_submit(s, &job);
}

static HS_RESULT st_inv_sqlite_kg_complete(struct st_inventory *inv, const char *request_id,
                                           enum st_keygen_status status, const unsigned char *blob,
                                           size_t blob_len, time_t now, time_t expires)
{
    struct st_inv_sqlite *s = st_inv_cast(inv);
    HS_ENSURE_REF(s);
    struct st_inv_job job = {.op = ST_INV_OP_KG_COMPLETE,
                             .kg = {.request_id = request_id,
                                    .status = status,
                                    .blob = blob,
                                    .blob_len = blob_len,
                                    .now = now,
                                    .expires = expires}};
    return st_inv_submit(s, &job);
}

static HS_RESULT st_inv_sqlite_kg_take(struct st_inventory *inv, const char *request_id,
                                       const char *owner, time_t now, enum st_keygen_status *status,
                                       struct hs_buf **out)
{
    struct st_inv_sqlite *s = st_inv_cast(inv);
    HS_ENSURE_REF(s);
    struct st_inv_job job = {.op = ST_INV_OP_KG_TAKE,
                             .kg = {.request_id = request_id, .owner = owner, .now = now}};
    hs_result r = st_inv_submit(s, &job);
    /* The blob is the caller's only once the transaction that deleted its record committed. */
    HS_DEFER(struct hs_buf *blob = job.kg.out, hs_buf_freep);
    HS_GUARD(r);
    HS_ENSURE_MSG(job.kg.found, HS_ERR_INPUT_NOT_FOUND, "key generation request %s is not found",
                  request_id);
    *status = job.kg.status;
    *out = blob;
    blob = NULL;
    return HS_OK;
}

static HS_RESULT st_inv_sqlite_kg_cancel(struct st_inventory *inv, const char *request_id,
                                         const char *owner)
{
    struct st_inv_sqlite *s = st_inv_cast(inv);
    HS_ENSURE_REF(s);
    struct st_inv_job job = {.op = ST_INV_OP_KG_CANCEL,
                             .kg = {.request_id = request_id, .owner = owner}};
    return st_inv_submit(s, &job);
}

static uint64_t st_inv_sqlite_generation(struct st_inventory *inv)
{
    struct st_inv_sqlite *s = st_inv_cast(inv);
    return s != NULL ? atomic_load_explicit(&s->generation, memory_order_acquire) : 0;
}

/* --- readers --------------------------------------------------------------------------------- */

static HS_RESULT st_inv_column_text(struct st_inv_sqlite *s, sqlite3_stmt *st, int col, char *out,
                                    size_t size)
{
    const unsigned char *text = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    ST_INV_ENSURE_SQL(text != NULL, s, s->rdb, "read text");
    HS_ENSURE_MSG(n < size, HS_ERR_IO, "%s: stored %s is longer than %zu bytes", s->path,
                  sqlite3_column_name(st, col), size - 1);
    memcpy(out, text, n);
    out[n] = '\0';
    return HS_OK;
}

static HS_RESULT st_inv_column_hash(struct st_inv_sqlite *s, sqlite3_stmt *st, int col,
                                    unsigned char *out)
{
    const void *p = sqlite3_column_blob(st, col);
    HS_ENSURE_MSG(p != NULL && sqlite3_column_bytes(st, col) == ST_INV_HASH_LEN, HS_ERR_IO,
                  "%s: stored %s is not %d bytes", s->path, sqlite3_column_name(st, col),
                  ST_INV_HASH_LEN);
    memcpy(out, p, ST_INV_HASH_LEN);
    return HS_OK;
}

static HS_RESULT st_inv_column_status(struct st_inv_sqlite *s, sqlite3_stmt *st, int col,
                                      enum st_cert_status *out)
{
    sqlite3_int64 v = sqlite3_column_int64(st, col);
    HS_ENSURE_MSG(v == ST_CERT_GOOD || v == ST_CERT_REVOKED, HS_ERR_IO,
                  "%s: stored status %lld is unknown", s->path, (long long)v);
    *out = (enum st_cert_status)v;
    return HS_OK;
}

static HS_RESULT st_inv_column_kind(struct st_inv_sqlite *s, sqlite3_stmt *st, int col,
                                    enum st_kind *out)
{
    sqlite3_int64 v = sqlite3_column_int64(st, col);
    HS_ENSURE_MSG(v == ST_KIND_X509 || v == ST_KIND_SSH, HS_ERR_IO,
                  "%s: stored kind %lld is unknown", s->path, (long long)v);
    *out = (enum st_kind)v;
    return HS_OK;
}

static HS_RESULT st_inv_read_record(struct st_inv_sqlite *s, sqlite3_stmt *st,
                                    struct st_cert_record *rec)
{
    HS_GUARD(st_inv_column_text(s, st, 0, rec->serial_hex, sizeof(rec->serial_hex)));
    HS_GUARD(st_inv_column_text(s, st, 1, rec->subject, sizeof(rec->subject)));
    HS_GUARD(st_inv_column_text(s, st, 2, rec->sans, sizeof(rec->sans)));
    rec->not_before = (time_t)sqlite3_column_int64(st, 3);
    rec->not_after = (time_t)sqlite3_column_int64(st, 4);
    HS_GUARD(st_inv_column_text(s, st, 5, rec->requester, sizeof(rec->requester)));
    HS_GUARD(st_inv_column_text(s, st, 6, rec->profile, sizeof(rec->profile)));
    HS_GUARD(st_inv_column_hash(s, st, 7, rec->spki_sha256));
    HS_GUARD(st_inv_column_hash(s, st, 8, rec->cert_sha256));
    HS_GUARD(st_inv_column_status(s, st, 9, &rec->status));
    rec->revoked_at = (time_t)sqlite3_column_int64(st, 10);
    rec->reason = sqlite3_column_int(st, 11);
    HS_GUARD(st_inv_column_kind(s, st, 12, &rec->kind));
    HS_GUARD(st_inv_column_hash(s, st, 13, rec->issuer_key_sha256));
    rec->issued_at = (time_t)sqlite3_column_int64(st, 14);
    return HS_OK;
}

static HS_RESULT st_inv_sqlite_get(struct st_inventory *inv, const char *serial_hex,
                                   struct st_cert_record *out)
{
    struct st_inv_sqlite *s = st_inv_cast(inv);
    HS_ENSURE_REF(s);
    HS_ENSURE_REF(out);
    HS_GUARD(st_inv_serial_check(serial_hex));
    HS_DEFER(pthread_mutex_t *held = hs_mutex_lock(&s->reader_lock), hs_mutex_unlockp);
    HS_DEFER(sqlite3_stmt *st = s->rstmt[ST_INV_R_GET], st_inv_stmt_resetp);
    HS_GUARD(st_inv_bind_text(s, st, 1, serial_hex, ST_INV_SERIAL_MAX));
    int rc = sqlite3_step(st);
    HS_ENSURE_MSG(rc != SQLITE_DONE, HS_ERR_INPUT_NOT_FOUND, "serial %s is not in the inventory",
                  serial_hex);
    ST_INV_ENSURE_SQL(rc == SQLITE_ROW, s, s->rdb, "get");
    /* The record is large (about 11 KiB): build it on the heap, then copy it out whole. */
    HS_DEFER(struct st_cert_record *rec = calloc(1, sizeof(*rec)), st_inv_record_freep);
    HS_ENSURE(rec != NULL, HS_ERR_NOMEM);
    /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): freed by the cleanup above */
    HS_GUARD(st_inv_read_record(s, st, rec));
    *out = *rec;
    return HS_OK;
}

/* --- the listing ------------------------------------------------------------------------------ */

#define ST_INV_LIST_SQL_MAX 1024

/* The listing's statement for q: fixed fragments only (every value is a named parameter), the
 * order and the cursor in the form the indexes serve. */
static HS_RESULT st_inv_list_sql(const struct st_list_query *q, char out[ST_INV_LIST_SQL_MAX])
{
    static const char *const status_sql[] = {
        [ST_LIST_ANY] = "",
        [ST_LIST_GOOD] = " AND status = 0 AND not_after >= :now",
        [ST_LIST_REVOKED] = " AND status = 1",
        [ST_LIST_EXPIRED] = " AND status = 0 AND not_after < :now",
    };
    HS_ENSURE(q->status <= ST_LIST_EXPIRED, HS_ERR_INTERNAL);
    int n = snprintf(
        out, ST_INV_LIST_SQL_MAX,
        "SELECT serial, subject, sans, not_before, not_after, requester, profile, spki_sha256,"
        " cert_sha256, status, revoked_at, reason, kind, issuer_key_sha256, issued_at"
        " FROM certificates"
        " WHERE 1%s%s%s%s%s%s ORDER BY issued_at DESC, serial DESC LIMIT :cap",
        q->any_kind ? "" : " AND kind = :kind", q->requester != NULL ? " AND requester = :req" : "",
        status_sql[q->status], q->has_expires_before ? " AND not_after < :eb" : "",
        q->has_expires_after ? " AND not_after > :ea" : "",
        q->after != NULL ? " AND (issued_at, serial) < (:at, :as)" : "");
    HS_ENSURE(n > 0 && n < ST_INV_LIST_SQL_MAX, HS_ERR_BOUNDS);
    return HS_OK;
}

/* Binds the named parameter name if the statement has it. */
static HS_RESULT st_inv_bind_named_int(struct st_inv_sqlite *s, sqlite3_stmt *st, const char *name,
                                       sqlite3_int64 v)
{
    int i = sqlite3_bind_parameter_index(st, name);
    return i > 0 ? st_inv_bind_int(s, st, i, v) : HS_OK;
}

static HS_RESULT st_inv_bind_named_text(struct st_inv_sqlite *s, sqlite3_stmt *st, const char *name,
                                        const char *text, size_t max)
{
    int i = sqlite3_bind_parameter_index(st, name);
    return i > 0 && text != NULL ? st_inv_bind_text(s, st, i, text, max) : HS_OK;
}

static HS_RESULT st_inv_list_bind(struct st_inv_sqlite *s, sqlite3_stmt *st,
                                  const struct st_list_query *q)
{
    HS_GUARD(st_inv_bind_named_int(s, st, ":kind", q->kind));
    HS_GUARD(st_inv_bind_named_text(s, st, ":req", q->requester, ST_INV_PRINCIPAL_MAX));
    HS_GUARD(st_inv_bind_named_int(s, st, ":now", (sqlite3_int64)q->now));
    HS_GUARD(st_inv_bind_named_int(s, st, ":eb", (sqlite3_int64)q->expires_before));
    HS_GUARD(st_inv_bind_named_int(s, st, ":ea", (sqlite3_int64)q->expires_after));
    if (q->after != NULL) {
        HS_GUARD(st_inv_bind_named_int(s, st, ":at", (sqlite3_int64)q->after->issued));
        HS_GUARD(st_inv_bind_named_text(s, st, ":as", q->after->serial_hex, ST_INV_SERIAL_MAX));
    }
    return st_inv_bind_named_int(s, st, ":cap", ST_INV_LIST_EXAMINE_MAX);
}

static HS_RESULT st_inv_sqlite_list(struct st_inventory *inv, const struct st_list_query *q,
                                    struct st_list_page *page)
{
    struct st_inv_sqlite *s = st_inv_cast(inv);
    HS_ENSURE_REF(s);
    HS_ENSURE_REF(page);
    HS_ENSURE_REF(page->records);
    HS_GUARD(st_inv_list_query_check(q));
    char sql[ST_INV_LIST_SQL_MAX];
    HS_GUARD(st_inv_list_sql(q, sql));
    HS_DEFER(pthread_mutex_t *held = hs_mutex_lock(&s->reader_lock), hs_mutex_unlockp);
    HS_DEFER(sqlite3_stmt *st = NULL, st_inv_finalizep);
    int rc = sqlite3_prepare_v2(s->rdb, sql, -1, &st, NULL);
    ST_INV_ENSURE_SQL(rc == SQLITE_OK, s, s->rdb, "prepare list");
    HS_GUARD(st_inv_list_bind(s, st, q));
    HS_DEFER(struct st_cert_record *rec = calloc(1, sizeof(*rec)), st_inv_record_freep);
    HS_ENSURE(rec != NULL, HS_ERR_NOMEM);
    size_t examined = 0;
    page->n = 0;
    page->more = false;
    /* One statement, one read transaction: the page is one snapshot. */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): freed by the cleanup above */
        HS_GUARD(st_inv_read_record(s, st, rec));
        examined++;
        if (st_inv_list_matches(q, rec)) {
            if (page->n == q->limit) { /* one more: the page is full and another follows */
                page->more = true;
                st_inv_list_position(&page->records[page->n - 1], &page->next);
                return HS_OK;
            }
            page->records[page->n++] = *rec;
        }
    }
    /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): rec is freed by its cleanup */
    ST_INV_ENSURE_SQL(rc == SQLITE_DONE, s, s->rdb, "list");
    if (examined == ST_INV_LIST_EXAMINE_MAX) { /* stopped at the cap: continue after it */
        page->more = true;
        st_inv_list_position(rec, &page->next);
    }
    return HS_OK;
}

static HS_RESULT st_inv_read_revoked(struct st_inv_sqlite *s, sqlite3_stmt *st,
                                     struct st_revoked_entry *e)
{
    HS_GUARD(st_inv_column_text(s, st, 0, e->serial_hex, sizeof(e->serial_hex)));
    e->revoked_at = (time_t)sqlite3_column_int64(st, 1);
    e->reason = sqlite3_column_int(st, 2);
    return HS_OK;
}

static HS_RESULT st_inv_sqlite_list_revoked(struct st_inventory *inv, time_t not_after_from,
                                            struct st_revoked_entry *out, size_t max, size_t *n)
{
    struct st_inv_sqlite *s = st_inv_cast(inv);
    HS_ENSURE_REF(s);
    HS_ENSURE_REF(n);
    HS_ENSURE(out != NULL || max == 0, HS_ERR_INTERNAL);
    HS_DEFER(pthread_mutex_t *held = hs_mutex_lock(&s->reader_lock), hs_mutex_unlockp);
    /* One statement is one read transaction: the list and its count come from one snapshot. */
    HS_DEFER(sqlite3_stmt *st = s->rstmt[ST_INV_R_LIST], st_inv_stmt_resetp);
    HS_GUARD(st_inv_bind_int(s, st, 1, (sqlite3_int64)not_after_from));
    HS_GUARD(st_inv_bind_int(s, st, 2, ST_KIND_X509)); /* the CRL's; SSH goes to a KRL */
    size_t total = 0;
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (total < max) {
            HS_GUARD(st_inv_read_revoked(s, st, &out[total]));
        }
        total++;
    }
    ST_INV_ENSURE_SQL(rc == SQLITE_DONE, s, s->rdb, "list revoked");
    *n = total;
    HS_ENSURE_MSG(total <= max, HS_ERR_BOUNDS, "%zu revoked certificates, room for %zu", total,
                  max);
    return HS_OK;
}

static HS_RESULT st_inv_read_revoked_ssh(struct st_inv_sqlite *s, sqlite3_stmt *st,
                                         struct st_ssh_revoked_entry *e)
{
    char serial[ST_INV_SERIAL_MAX + 1];
    HS_GUARD(st_inv_column_text(s, st, 0, serial, sizeof(serial)));
    HS_ENSURE_MSG(!hs_failed(st_inv_ssh_serial_value(serial, &e->serial)), HS_ERR_IO,
                  "%s: stored SSH serial %s is not a uint64", s->path, serial);
    HS_GUARD(st_inv_column_hash(s, st, 1, e->issuer_key_sha256));
    e->revoked_at = (time_t)sqlite3_column_int64(st, 2);
    return HS_OK;
}

static HS_RESULT st_inv_sqlite_list_revoked_ssh(struct st_inventory *inv, time_t not_after_from,
                                                struct st_ssh_revoked_entry *out, size_t max,
                                                size_t *n)
{
    struct st_inv_sqlite *s = st_inv_cast(inv);
    HS_ENSURE_REF(s);
    HS_ENSURE_REF(n);
    HS_ENSURE(out != NULL || max == 0, HS_ERR_INTERNAL);
    HS_DEFER(pthread_mutex_t *held = hs_mutex_lock(&s->reader_lock), hs_mutex_unlockp);
    /* One statement, one read transaction, as list_revoked. */
    HS_DEFER(sqlite3_stmt *st = s->rstmt[ST_INV_R_LIST_SSH], st_inv_stmt_resetp);
    HS_GUARD(st_inv_bind_int(s, st, 1, (sqlite3_int64)not_after_from));
    size_t total = 0;
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (total < max) {
            HS_GUARD(st_inv_read_revoked_ssh(s, st, &out[total]));
        }
        total++;
    }
    ST_INV_ENSURE_SQL(rc == SQLITE_DONE, s, s->rdb, "list revoked ssh");
    *n = total;
    HS_ENSURE_MSG(total <= max, HS_ERR_BOUNDS, "%zu revoked SSH certificates, room for %zu", total,
                  max);
    return HS_OK;
}

/* --- open and close -------------------------------------------------------------------------- */

static void st_inv_sqlite_free(struct st_inv_sqlite *s)
{
    if (s == NULL) {
        return;
    }
    if (s->writer_running) {
        /* The writer drains the queue before it leaves. */
        pthread_mutex_lock(&s->lock);
        s->stopping = true;
        pthread_cond_signal(&s->queued);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->writer, NULL);
    }
    for (size_t i = 0; i < ST_INV_R_COUNT; i++) {
        HS_IGNORE(sqlite3_finalize(s->rstmt[i]));
    }
    for (size_t i = 0; i < ST_INV_W_COUNT; i++) {
        HS_IGNORE(sqlite3_finalize(s->wstmt[i]));
    }
    /* The writer closes last: as the last connection it checkpoints and removes the WAL. */
    HS_IGNORE(sqlite3_close_v2(s->rdb));
    HS_IGNORE(sqlite3_close_v2(s->wdb));
    pthread_cond_destroy(&s->queued);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->reader_lock);
    free(s->path);
    free(s);
}

HS_DEFINE_FREEP(st_inv_sqlite_freep, struct st_inv_sqlite, st_inv_sqlite_free)

static struct st_inv_sqlite *st_inv_sqlite_new(const char *path)
{
    struct st_inv_sqlite *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    s->base.ops = &st_inv_sqlite_ops;
    pthread_mutex_init(&s->reader_lock, NULL);
    pthread_mutex_init(&s->lock, NULL);
    /* The commit delay waits on a monotonic clock. */
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->queued, &attr);
    pthread_condattr_destroy(&attr);
    atomic_init(&s->generation, 0);
    s->path = strdup(path);
    if (s->path == NULL) {
        st_inv_sqlite_free(s);
        return NULL;
    }
    return s;
}

/* --- a new inventory ------------------------------------------------------------------------- */

/* A new inventory is built whole in "<path>-new" (SQLite's own side files are "-journal",
 * "-wal" and "-shm"; nothing else uses this name), without a journal on disk and without an
 * fsync, then fsynced once and linked into place, and the directory fsynced: two fsyncs where
 * creating the schema in place costs nine (the file, its directory, the rollback journal of the
 * switch to WAL and the WAL's first commit). A crash leaves either no inventory or a complete
 * one, never a half-built one that the next start would trust; the builder's file is never
 * taken for the inventory, and the next creation truncates whatever a crash left there. */
#define ST_INV_NEW_SUFFIX "-new"
#define ST_INV_LOCK_STEP_NS 1000000L /* polling step while another process builds */

static void st_inv_db_closep(sqlite3 **db)
{
    HS_IGNORE(sqlite3_close_v2(*db));
}

/* out = path + suffix. Errors: HS_ERR_INPUT_CONFIG when that is ST_INV_PATH_MAX or longer. */
static HS_RESULT st_inv_side_path(const char *path, const char *suffix, char out[ST_INV_PATH_MAX])
{
    int n = snprintf(out, ST_INV_PATH_MAX, "%s%s", path, suffix);
    HS_ENSURE_MSG(n > 0 && n < ST_INV_PATH_MAX, HS_ERR_INPUT_CONFIG,
                  "the inventory path is longer than %d bytes", ST_INV_PATH_MAX - 1);
    return HS_OK;
}

/* Removes the side files SQLite may have left next to the builder's file (a crash mid-build),
 * and with whole, the builder's file too. */
static void st_inv_new_remove(const char *tmp, bool whole)
{
    static const char *const sides[] = {"", "-journal", "-wal", "-shm"};
    for (size_t i = whole ? 0 : 1; i < sizeof(sides) / sizeof(sides[0]); i++) {
        char side[ST_INV_PATH_MAX];
        if (!hs_failed(st_inv_side_path(tmp, sides[i], side))) {
            HS_IGNORE(unlink(side));
        }
    }
}

static void st_inv_new_removep(const char *const *tmp)
{
    st_inv_new_remove(*tmp, true);
}

/* Whether fd is still the file named tmp: a builder that held the lock before us removes the
 * file when it is done, and then the lock we got is on a file nobody else sees. */
static HS_RESULT st_inv_new_current(const char *tmp, int fd, bool *out)
{
    struct stat held;
    struct stat named;
    if (fstat(fd, &held) != 0) {
        return hs_error_raise_errno(__FILE__, __LINE__, HS_ERR_IO, tmp);
    }
    *out = lstat(tmp, &named) == 0 && named.st_dev == held.st_dev && named.st_ino == held.st_ino;
    return HS_OK;
}

/* Opens tmp (creating it) and takes its exclusive flock, waiting up to ST_INV_BUSY_MS while
 * another process builds the same inventory. *out is the locked descriptor (caller closes).
 * Errors: HS_ERR_IO, HS_ERR_STORE_UNAVAILABLE (another builder held it past the wait). */
static HS_RESULT st_inv_new_lock(const char *tmp, int *out)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        HS_DEFER(int fd = open(tmp, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, S_IRUSR | S_IWUSR),
                 st_inv_fd_closep);
        if (fd < 0) {
            return hs_error_raise_errno(__FILE__, __LINE__, HS_ERR_IO, tmp);
        }
        bool locked = flock(fd, LOCK_EX | LOCK_NB) == 0;
        if (!locked && errno != EWOULDBLOCK) {
            return hs_error_raise_errno(__FILE__, __LINE__, HS_ERR_IO, tmp);
        }
        bool current = false;
        if (locked) {
            HS_GUARD(st_inv_new_current(tmp, fd, &current));
        }
        if (current) {
            *out = fd;
            fd = -1;
            return HS_OK;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long waited_ms =
            (long long)(now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        HS_ENSURE_MSG(waited_ms < ST_INV_BUSY_MS, HS_ERR_STORE_UNAVAILABLE,
                      "%s: another process has been creating the inventory for %lld ms", tmp,
                      waited_ms);
        struct timespec step = {.tv_sec = 0, .tv_nsec = ST_INV_LOCK_STEP_NS};
        nanosleep(&step, NULL);
    }
}

/* Builds the whole current schema (st_inv_schema_current_sql) into the empty file tmp in one
 * transaction, the rollback journal in memory and synchronous OFF: nothing trusts this file
 * until st_inv_create links it. Leaves it in WAL mode (the file's header says so),
 * checkpointed, with no -wal or -shm beside it. Errors: HS_ERR_IO, HS_ERR_NOMEM. */
static HS_RESULT st_inv_build(const char *tmp)
{
    HS_DEFER(sqlite3 *db = NULL, st_inv_db_closep);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW |
                SQLITE_OPEN_PRIVATECACHE;
    int rc = sqlite3_open_v2(tmp, &db, flags, NULL);
    HS_ENSURE_MSG(db != NULL, HS_ERR_NOMEM, "%s: no memory for a connection", tmp);
    HS_ENSURE_MSG(rc == SQLITE_OK, HS_ERR_IO, "%s: open: %s", tmp, sqlite3_errmsg(db));
    rc = sqlite3_exec(db, "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; BEGIN", NULL,
                      NULL, NULL);
    HS_ENSURE_MSG(rc == SQLITE_OK, HS_ERR_IO, "%s: set-up: %s", tmp, sqlite3_errmsg(db));
    rc = sqlite3_exec(db, st_inv_schema_current_sql, NULL, NULL, NULL);
    HS_ENSURE_MSG(rc == SQLITE_OK, HS_ERR_IO, "%s: schema: %s", tmp, sqlite3_errmsg(db));
    rc = sqlite3_exec(db, "COMMIT; PRAGMA journal_mode = WAL; PRAGMA wal_checkpoint(TRUNCATE)",
                      NULL, NULL, NULL);
    HS_ENSURE_MSG(rc == SQLITE_OK, HS_ERR_IO, "%s: commit: %s", tmp, sqlite3_errmsg(db));
    /* The last connection's close checkpoints what is left and removes the -wal and -shm. */
    rc = sqlite3_close(db);
    HS_ENSURE_MSG(rc == SQLITE_OK, HS_ERR_IO, "%s: close: %s", tmp, sqlite3_errmsg(db));
    db = NULL;
    return HS_OK;
}

/* Creates the inventory at path, complete at the current schema and 0600 whatever the umask,
 * unless another process creates it first (then that one is left as it is). Errors:
 * HS_ERR_INPUT_CONFIG (path too long), HS_ERR_IO, HS_ERR_NOMEM, HS_ERR_STORE_UNAVAILABLE. */
static HS_RESULT st_inv_create(const char *path)
{
    char tmp[ST_INV_PATH_MAX];
    HS_GUARD(st_inv_side_path(path, ST_INV_NEW_SUFFIX, tmp));
    HS_DEFER(int fd = -1, st_inv_fd_closep);
    HS_GUARD(st_inv_new_lock(tmp, &fd));
    /* Declared after fd, so it runs first: the files go while we still hold the lock. */
    HS_DEFER(const char *built = tmp, st_inv_new_removep);
    if (hs_file_exists(path)) {
        return HS_OK; /* made by the builder we waited for */
    }
    st_inv_new_remove(tmp, false); /* a crashed builder's side files; tmp itself we hold */
    if (ftruncate(fd, 0) != 0 || fchmod(fd, S_IRUSR | S_IWUSR) != 0) {
        return hs_error_raise_errno(__FILE__, __LINE__, HS_ERR_IO, tmp);
    }
    HS_GUARD(st_inv_build(tmp));
    if (fsync(fd) != 0) {
        return hs_error_raise_errno(__FILE__, __LINE__, HS_ERR_IO, tmp);
    }
    /* link, not rename: it never replaces a file that appeared at path meanwhile. */
    if (link(tmp, path) != 0 && errno != EEXIST) {
        return hs_error_raise_errno(__FILE__, __LINE__, HS_ERR_IO, path);
    }
    return hs_file_sync_dir(path);
}

/* Creates path (see st_inv_create) if it is missing and refuses a file that group or others
 * could open: the inventory names every requester and subject. SQLite gives the -wal and -shm
 * files the database's mode. */
static HS_RESULT st_inv_file_prepare(const char *path)
{
    size_t len = strnlen(path, ST_INV_PATH_MAX);
    HS_ENSURE_MSG(len > 0 && len < ST_INV_PATH_MAX, HS_ERR_INPUT_CONFIG,
                  "the inventory path is empty or longer than %d bytes", ST_INV_PATH_MAX - 1);
    int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC;
    HS_DEFER(int fd = open(path, flags), st_inv_fd_closep);
    if (fd < 0 && errno == ENOENT) {
        HS_GUARD(st_inv_create(path));
        fd = open(path, flags);
    }
    if (fd < 0) {
        return hs_error_raise_errno(__FILE__, __LINE__, HS_ERR_IO, path);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return hs_error_raise_errno(__FILE__, __LINE__, HS_ERR_IO, path);
    }
    HS_ENSURE_MSG(S_ISREG(st.st_mode), HS_ERR_INPUT_CONFIG, "%s is not a regular file", path);
    HS_ENSURE_MSG((st.st_mode & (S_IRWXG | S_IRWXO)) == 0, HS_ERR_INPUT_CONFIG,
                  "%s has mode %04o; group and others must have no access (chmod 600)", path,
                  (unsigned int)(st.st_mode & 07777));
    return HS_OK;
}

static HS_RESULT st_inv_connect(struct st_inv_sqlite *s, sqlite3 **out)
{
    /* NOMUTEX: each connection is used by one thread at a time (see the design note). */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW |
                SQLITE_OPEN_PRIVATECACHE;
    int rc = sqlite3_open_v2(s->path, out, flags, NULL);
    HS_ENSURE_MSG(*out != NULL, HS_ERR_NOMEM, "%s: no memory for a connection", s->path);
    ST_INV_ENSURE_SQL(rc == SQLITE_OK, s, *out, "open");
    HS_IGNORE(sqlite3_extended_result_codes(*out, 1));
    ST_INV_ENSURE_SQL(sqlite3_busy_timeout(*out, ST_INV_BUSY_MS) == SQLITE_OK, s, *out,
                      "busy timeout");
    /* No schema tricks from a tampered file: defensive mode, no functions run from the schema. */
    rc = sqlite3_db_config(*out, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    ST_INV_ENSURE_SQL(rc == SQLITE_OK, s, *out, "defensive");
    rc = sqlite3_db_config(*out, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    ST_INV_ENSURE_SQL(rc == SQLITE_OK, s, *out, "trusted_schema");
    return HS_OK;
}

static HS_RESULT st_inv_prepare(struct st_inv_sqlite *s, sqlite3 *db, const struct st_inv_sql *sql,
                                sqlite3_stmt **out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = sqlite3_prepare_v3(db, sql[i].sql, -1, SQLITE_PREPARE_PERSISTENT, &out[i], NULL);
        ST_INV_ENSURE_SQL(rc == SQLITE_OK, s, db, sql[i].name);
    }
    return HS_OK;
}

/* Reads the schema version (0: a new file); one newer than this build's is refused. */
static HS_RESULT st_inv_schema_version(struct st_inv_sqlite *s, sqlite3_int64 *out)
{
    HS_GUARD(st_inv_query_int(s, s->wdb, "PRAGMA user_version", out));
    HS_ENSURE_MSG(*out >= 0 && *out <= ST_INV_SCHEMA_VERSION, HS_ERR_INPUT_CONFIG,
                  "%s: inventory schema version %lld; this build knows version %d", s->path,
                  (long long)*out, ST_INV_SCHEMA_VERSION);
    return HS_OK;
}

static HS_RESULT st_inv_schema_apply(struct st_inv_sqlite *s)
{
    sqlite3_int64 version = 0;
    HS_GUARD(st_inv_schema_version(s, &version));
    for (sqlite3_int64 v = version; v < ST_INV_SCHEMA_VERSION; v++) {
        HS_GUARD(st_inv_exec_sql(s, s->wdb, st_inv_schema_steps[v]));
    }
    if (version != 0 && version < ST_INV_SCHEMA_VERSION) {
        hs_log(HS_LOG_INFO, "inventory.schema.upgraded", HS_LOG_STR("path", s->path),
               HS_LOG_INT("from", version), HS_LOG_INT("to", ST_INV_SCHEMA_VERSION));
    }
    return HS_OK;
}

static HS_RESULT st_inv_schema(struct st_inv_sqlite *s)
{
    HS_DEFER(sqlite3 *txn = s->wdb, st_inv_rollbackp);
    /* IMMEDIATE: of two processes opening a new (or old) file, one creates (or upgrades) the
     * schema, the other sees it. A failed step rolls the whole upgrade back. */
    HS_GUARD(st_inv_exec_sql(s, s->wdb, "BEGIN IMMEDIATE"));
    HS_GUARD(st_inv_schema_apply(s));
    return st_inv_exec_sql(s, s->wdb, "COMMIT");
}

static HS_RESULT st_inv_writer_setup(struct st_inv_sqlite *s)
{
    /* Before anything changes the file: not a database, or one from a newer build. */
    sqlite3_int64 version = 0;
    HS_GUARD(st_inv_schema_version(s, &version));
    char mode[16];
    HS_GUARD(st_inv_query_text(s, s->wdb, "PRAGMA journal_mode = WAL", mode, sizeof(mode)));
    HS_ENSURE_MSG(strcmp(mode, "wal") == 0, HS_ERR_IO, "%s: journal_mode is %s, not wal", s->path,
                  mode);
    /* FULL: in WAL mode, every COMMIT fsyncs the WAL before it returns. */
    HS_GUARD(st_inv_exec_sql(s, s->wdb, "PRAGMA synchronous = FULL"));
    sqlite3_int64 sync = 0;
    HS_GUARD(st_inv_query_int(s, s->wdb, "PRAGMA synchronous", &sync));
    HS_ENSURE_MSG(sync == 2, HS_ERR_IO, "%s: synchronous is %lld, not FULL", s->path,
                  (long long)sync);
    HS_GUARD(st_inv_schema(s));
    HS_GUARD(st_inv_prepare(s, s->wdb, st_inv_wsql, s->wstmt, ST_INV_W_COUNT));
    sqlite3_int64 generation = 0;
    HS_GUARD(st_inv_query_int(s, s->wdb,
                              "SELECT value FROM meta WHERE name = '" ST_INV_META_GENERATION "'",
                              &generation));
    HS_ENSURE_MSG(generation >= 0, HS_ERR_IO, "%s: revocation generation %lld", s->path,
                  (long long)generation);
    atomic_store(&s->generation, (uint64_t)generation);
    /* Replaces the auto-checkpoint: the writer checkpoints after waking its callers. */
    HS_IGNORE(sqlite3_wal_hook(s->wdb, st_inv_wal_hook, s));
    return HS_OK;
}

static HS_RESULT st_inv_reader_setup(struct st_inv_sqlite *s)
{
    HS_GUARD(st_inv_exec_sql(s, s->rdb, "PRAGMA query_only = ON"));
    return st_inv_prepare(s, s->rdb, st_inv_rsql, s->rstmt, ST_INV_R_COUNT);
}

HS_RESULT st_sqlite_open(const char *path, struct st_inventory **out)
{
    HS_ENSURE_REF(path);
    HS_ENSURE_REF(out);
    HS_ENSURE_MSG(sqlite3_libversion_number() >= ST_INV_SQLITE_MIN && sqlite3_threadsafe() != 0,
                  HS_ERR_INPUT_CONFIG,
                  "SQLite %s: the inventory needs 3.37 or later, built thread-safe",
                  sqlite3_libversion());
    HS_GUARD(st_inv_file_prepare(path));
    HS_DEFER(struct st_inv_sqlite *s = st_inv_sqlite_new(path), st_inv_sqlite_freep);
    HS_ENSURE(s != NULL, HS_ERR_NOMEM);
    HS_GUARD(st_inv_connect(s, &s->wdb));
    HS_GUARD(st_inv_writer_setup(s));
    HS_GUARD(st_inv_connect(s, &s->rdb));
    HS_GUARD(st_inv_reader_setup(s));
    HS_ENSURE_MSG(pthread_create(&s->writer, NULL, st_inv_writer_main, s) == 0, HS_ERR_NOMEM,
                  "cannot start the inventory writer thread");
    s->writer_running = true;
    hs_log(HS_LOG_INFO, "inventory.open", HS_LOG_STR("path", path),
           HS_LOG_INT("generation", atomic_load(&s->generation)));
    *out = &s->base;
    s = NULL;
    return HS_OK;
}

static void st_inv_sqlite_close(struct st_inventory *inv)
{
    st_inv_sqlite_free(st_inv_cast(inv));
}

void st_sqlite_stats(struct st_inventory *inv, struct st_inventory_stats *out)
{
    struct st_inv_sqlite *s = st_inv_cast(inv);
    struct st_inventory_stats stats = {0};
    if (s != NULL) {
        HS_DEFER(pthread_mutex_t *held = hs_mutex_lock(&s->lock), hs_mutex_unlockp);
        stats = s->stats;
    }
    if (out != NULL) {
        *out = stats;
    }
}

static const struct st_inventory_ops st_inv_sqlite_ops = {
    .put = st_inv_sqlite_put,
    .get = st_inv_sqlite_get,
    .revoke = st_inv_sqlite_revoke,
    .list_revoked = st_inv_sqlite_list_revoked,
    .list_revoked_ssh = st_inv_sqlite_list_revoked_ssh,
    .list = st_inv_sqlite_list,
    .next_crl_number = st_inv_sqlite_next_crl_number,
    .generation = st_inv_sqlite_generation,
    .keygen_put = st_inv_sqlite_kg_put,
    .keygen_complete = st_inv_sqlite_kg_complete,
    .keygen_take = st_inv_sqlite_kg_take,
    .keygen_cancel = st_inv_sqlite_kg_cancel,
    .close = st_inv_sqlite_close,
};
