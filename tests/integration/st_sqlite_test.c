/*
 * What only the SQLite inventory does, against real database files (no mocks, no HSM); the
 * behaviour every store shares is st_conformance_test.c's. Here: group commit really groups
 * (one commit per put when they come one by one, fewer under concurrency; a duplicate fails
 * only its own record of a batch; reads do not wait for the writer); a put returns only after
 * a sync of the WAL holding it (a counting VFS); a record whose put returned survives SIGKILL of
 * the process; a commit that fails (the WAL cannot grow past
 * RLIMIT_FSIZE) fails every operation of its batch and leaves nothing visible; a database
 * locked by another connection past the busy timeout fails the put alone; the file is 0600 and
 * in WAL mode, and foreign, newer or unsafe files are refused; a schema 1 file (before record
 * kinds) and a schema 2 file (before records named their CA key) are upgraded in place, each
 * in one transaction that a failure rolls back whole. Prints puts/s at 1 and 16 threads (a
 * measurement, not a check).
 *
 * Files live in a fresh directory under $HSMSIGN_TEST_TMPDIR (the build tree; "." when unset),
 * removed when every case passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/st_config.h"
#include "store/st_inventory.h"
#include "tests/testlib/hs_test.h"
#include "tests/testlib/hs_test_store.h"

#define PATH_LEN 512
#define BENCH_PUTS 200
#define GROUP_THREADS 16
#define GROUP_PUTS 200
#define CRASH_THREADS 4
#define CRASH_ACKS_BEFORE_KILL 400
#define CRASH_ACKS_MAX 8192
#define T0 HS_TEST_STORE_T0

static char test_dir[PATH_LEN / 2];

static void test_path(const char *name, char out[PATH_LEN])
{
    snprintf(out, PATH_LEN, "%s/%s.db", test_dir, name);
}

static HS_RESULT put_serial(struct st_inventory *inv, const char *serial)
{
    HS_DEFER(struct st_cert_record *r = hs_test_record_new(serial), hs_test_record_freep);
    return inv->ops->put(inv, r);
}

static bool present(struct st_inventory *inv, const char *serial)
{
    HS_DEFER(struct st_cert_record *r = hs_test_record_new("1"), hs_test_record_freep);
    return !hs_failed(inv->ops->get(inv, serial, r)) && strcmp(r->serial_hex, serial) == 0;
}

static struct st_inventory_stats stats_of(struct st_inventory *inv)
{
    struct st_inventory_stats st;
    st_sqlite_stats(inv, &st);
    return st;
}

static void sqlite_closep(sqlite3 **db)
{
    sqlite3_close(*db);
}

/* A second connection that takes the database's write lock, so that the store's writer waits
 * (busy_timeout) and the operations queued meanwhile form one batch. */
static sqlite3 *write_lock_take(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "  cannot take the write lock: %s\n", sqlite3_errmsg(db));
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static void write_lock_release(sqlite3 *db)
{
    HS_CHECK(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
}

/* --- one operation on its own thread -------------------------------------------------------- */

enum op_kind {
    OP_PUT,
    OP_REVOKE,
    OP_CRL_NUMBER,
};

struct op_thread {
    pthread_t thread;
    struct st_inventory *inv;
    enum op_kind kind;
    char serial[ST_INV_SERIAL_MAX + 1];
    enum hs_code code;
};

static void *op_main(void *arg)
{
    struct op_thread *o = arg;
    uint64_t number = 0;
    switch (o->kind) {
    case OP_PUT:
        o->code = put_serial(o->inv, o->serial).code;
        break;
    case OP_REVOKE:
        o->code = o->inv->ops->revoke(o->inv, o->serial, T0, 1, NULL).code;
        break;
    default:
        o->code = o->inv->ops->next_crl_number(o->inv, &number).code;
        break;
    }
    return NULL;
}

static void op_start(struct op_thread *o, struct st_inventory *inv, enum op_kind kind,
                     const char *serial)
{
    o->inv = inv;
    o->kind = kind;
    snprintf(o->serial, sizeof(o->serial), "%s", serial);
    o->code = HS_ERR_INTERNAL;
    HS_CHECK(pthread_create(&o->thread, NULL, op_main, o) == 0);
}

/* --- cases ---------------------------------------------------------------------------------- */

HS_TEST(duplicate_serial_fails_only_its_record_in_the_batch)
{
    char path[PATH_LEN];
    test_path("duplicates", path);
    HS_DEFER(struct st_inventory *inv = NULL, st_inventory_closep);
    HS_CHECK_OK(st_sqlite_open(path, &inv));
    if (inv == NULL) {
        return;
    }
    HS_CHECK(put_serial(inv, "aa01").code == HS_ERR_NONE);
    HS_CHECK(put_serial(inv, "aa01").code == HS_ERR_INPUT_EXISTS);
    struct st_inventory_stats before = stats_of(inv);
    sqlite3 *lock = write_lock_take(path);
    HS_CHECK(lock != NULL);
    if (lock == NULL) {
        return;
    }
    struct op_thread p[16];
    op_start(&p[0], inv, OP_PUT, "bb00");
    hs_test_sleep_ms(200); /* the writer has taken p[0] and waits for the lock */
    for (int i = 1; i < 16; i++) {
        char serial[16];
        snprintf(serial, sizeof(serial), i <= 5 ? "aa01" : i <= 10 ? "cc01" : "dd%02x", i);
        op_start(&p[i], inv, OP_PUT, serial);
    }
    hs_test_sleep_ms(300);
    /* Reads do not wait for the writer; nothing queued is visible yet. */
    HS_CHECK(present(inv, "aa01"));
    HS_CHECK(!present(inv, "bb00"));
    write_lock_release(lock);
    int cc_ok = 0;
    int cc_exists = 0;
    for (int i = 0; i < 16; i++) {
        pthread_join(p[i].thread, NULL);
        if (i >= 1 && i <= 5) {
            HS_CHECK(p[i].code == HS_ERR_INPUT_EXISTS);
        } else if (i >= 6 && i <= 10) {
            cc_ok += p[i].code == HS_ERR_NONE;
            cc_exists += p[i].code == HS_ERR_INPUT_EXISTS;
        } else {
            HS_CHECK(p[i].code == HS_ERR_NONE);
            HS_CHECK(present(inv, p[i].serial));
        }
    }
    HS_CHECK(cc_ok == 1 && cc_exists == 4);
    HS_CHECK(present(inv, "cc01"));
    struct st_inventory_stats after = stats_of(inv);
    fprintf(stderr, "  duplicates: %llu commits for 16 puts\n",
            (unsigned long long)(after.commits - before.commits));
    HS_CHECK(after.commits - before.commits <= 2);
    HS_CHECK(after.records - before.records == 7);
}

struct bench_worker {
    pthread_t thread;
    struct st_inventory *inv;
    pthread_barrier_t *start;
    int id;
    int puts;
    int ok;
};

static void *bench_main(void *arg)
{
    struct bench_worker *w = arg;
    pthread_barrier_wait(w->start);
    for (int i = 0; i < w->puts; i++) {
        char serial[16];
        snprintf(serial, sizeof(serial), "%02x%06x", w->id, i);
        w->ok += !hs_failed(put_serial(w->inv, serial));
    }
    return NULL;
}

/* Runs threads x puts concurrently; returns the seconds taken, writes the puts that succeeded. */
static double bench_run(struct st_inventory *inv, int threads, int first_id, int puts, int *ok)
{
    struct bench_worker w[GROUP_THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned int)threads + 1);
    for (int i = 0; i < threads; i++) {
        w[i] = (struct bench_worker){.inv = inv, .start = &start, .id = first_id + i, .puts = puts};
        HS_CHECK(pthread_create(&w[i].thread, NULL, bench_main, &w[i]) == 0);
    }
    pthread_barrier_wait(&start);
    double t = hs_test_now_s();
    *ok = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(w[i].thread, NULL);
        *ok += w[i].ok;
    }
    t = hs_test_now_s() - t;
    pthread_barrier_destroy(&start);
    return t;
}

HS_TEST(group_commit_groups_concurrent_puts)
{
    char path[PATH_LEN];
    test_path("group", path);
    HS_DEFER(struct st_inventory *inv = NULL, st_inventory_closep);
    HS_CHECK_OK(st_sqlite_open(path, &inv));
    if (inv == NULL) {
        return;
    }
    int ok = 0;
    struct st_inventory_stats s0 = stats_of(inv);
    double t1 = bench_run(inv, 1, 0xe0, BENCH_PUTS, &ok);
    struct st_inventory_stats s1 = stats_of(inv);
    HS_CHECK(ok == BENCH_PUTS);
    /* One by one, each put is its own transaction. */
    HS_CHECK(s1.commits - s0.commits == BENCH_PUTS && s1.records - s0.records == BENCH_PUTS);
    fprintf(stderr, "  bench: 1 thread: %d puts in %.2f s = %.0f puts/s, %.2f records/commit\n", ok,
            t1, ok / t1, (double)(s1.records - s0.records) / (double)(s1.commits - s0.commits));

    double t16 = bench_run(inv, GROUP_THREADS, 0x10, GROUP_PUTS, &ok);
    struct st_inventory_stats s2 = stats_of(inv);
    HS_CHECK(ok == GROUP_THREADS * GROUP_PUTS);
    uint64_t records = s2.records - s1.records;
    uint64_t commits = s2.commits - s1.commits;
    fprintf(stderr,
            "  bench: %d threads: %d puts in %.2f s = %.0f puts/s, %llu commits, "
            "%.2f records/commit\n",
            GROUP_THREADS, ok, t16, ok / t16, (unsigned long long)commits,
            (double)records / (double)commits);
    HS_CHECK(records == GROUP_THREADS * GROUP_PUTS);
    HS_CHECK(commits > 0 && records / commits > 2);
    int missing = 0;
    for (int t = 0; t < GROUP_THREADS; t++) {
        for (int i = 0; i < GROUP_PUTS; i++) {
            char serial[16];
            snprintf(serial, sizeof(serial), "%02x%06x", 0x10 + t, i);
            missing += !present(inv, serial);
        }
    }
    HS_CHECK(missing == 0);
}

/* --- a crash after the response --------------------------------------------------------------- */

struct crash_worker {
    pthread_t thread;
    struct st_inventory *inv;
    int id;
    int fd;
};

static void *crash_main(void *arg)
{
    struct crash_worker *w = arg;
    for (int i = 0;; i++) {
        char serial[16];
        char line[32];
        snprintf(serial, sizeof(serial), "%02x%06x", 0x30 + w->id, i);
        bool ok = !hs_failed(put_serial(w->inv, serial));
        int n = snprintf(line, sizeof(line), "%s\n", ok ? serial : "ERR");
        /* Only after put returned: this line is the acknowledgement. */
        if (write(w->fd, line, (size_t)n) != n) {
            _exit(3);
        }
    }
    return NULL;
}

/* --- a VFS that counts syncs ----------------------------------------------------------------- */

/* SQLite's default VFS ("unix") with every file wrapped, so a test sees each xSync SQLite makes
 * (https://sqlite.org/c3ref/vfs.html, https://sqlite.org/c3ref/io_methods.html): the WAL's
 * separately from the rest. Registered as the default for one case, so the store's own
 * sqlite3_open_v2(..., NULL) calls use it. */
struct cf_file {
    sqlite3_file base;
    sqlite3_file *real; /* the unix VFS's file, in the same allocation, after this struct */
    bool wal;
};

static sqlite3_vfs *cf_real;
static sqlite3_vfs cf_vfs;
static atomic_ulong cf_wal_syncs;
static atomic_ulong cf_other_syncs;

static sqlite3_file *cf(sqlite3_file *f)
{
    return ((struct cf_file *)f)->real;
}

static int cf_close(sqlite3_file *f)
{
    return cf(f)->pMethods->xClose(cf(f));
}

static int cf_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    return cf(f)->pMethods->xRead(cf(f), buf, n, off);
}

static int cf_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    return cf(f)->pMethods->xWrite(cf(f), buf, n, off);
}

static int cf_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return cf(f)->pMethods->xTruncate(cf(f), size);
}

static int cf_sync(sqlite3_file *f, int flags)
{
    int rc = cf(f)->pMethods->xSync(cf(f), flags);
    if (rc == SQLITE_OK) {
        atomic_fetch_add(((struct cf_file *)f)->wal ? &cf_wal_syncs : &cf_other_syncs, 1);
    }
    return rc;
}

static int cf_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return cf(f)->pMethods->xFileSize(cf(f), size);
}

static int cf_lock(sqlite3_file *f, int level)
{
    return cf(f)->pMethods->xLock(cf(f), level);
}

static int cf_unlock(sqlite3_file *f, int level)
{
    return cf(f)->pMethods->xUnlock(cf(f), level);
}

static int cf_check_reserved(sqlite3_file *f, int *out)
{
    return cf(f)->pMethods->xCheckReservedLock(cf(f), out);
}

static int cf_file_control(sqlite3_file *f, int op, void *arg)
{
    return cf(f)->pMethods->xFileControl(cf(f), op, arg);
}

static int cf_sector_size(sqlite3_file *f)
{
    return cf(f)->pMethods->xSectorSize(cf(f));
}

static int cf_device(sqlite3_file *f)
{
    return cf(f)->pMethods->xDeviceCharacteristics(cf(f));
}

static int cf_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **out)
{
    return cf(f)->pMethods->xShmMap(cf(f), page, size, extend, out);
}

static int cf_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return cf(f)->pMethods->xShmLock(cf(f), off, n, flags);
}

static void cf_shm_barrier(sqlite3_file *f)
{
    cf(f)->pMethods->xShmBarrier(cf(f));
}

static int cf_shm_unmap(sqlite3_file *f, int delete_flag)
{
    return cf(f)->pMethods->xShmUnmap(cf(f), delete_flag);
}

static int cf_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
    return cf(f)->pMethods->xFetch(cf(f), off, n, out);
}

static int cf_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return cf(f)->pMethods->xUnfetch(cf(f), off, p);
}

static const sqlite3_io_methods cf_methods = {
    .iVersion = 3,
    .xClose = cf_close,
    .xRead = cf_read,
    .xWrite = cf_write,
    .xTruncate = cf_truncate,
    .xSync = cf_sync,
    .xFileSize = cf_file_size,
    .xLock = cf_lock,
    .xUnlock = cf_unlock,
    .xCheckReservedLock = cf_check_reserved,
    .xFileControl = cf_file_control,
    .xSectorSize = cf_sector_size,
    .xDeviceCharacteristics = cf_device,
    .xShmMap = cf_shm_map,
    .xShmLock = cf_shm_lock,
    .xShmBarrier = cf_shm_barrier,
    .xShmUnmap = cf_shm_unmap,
    .xFetch = cf_fetch,
    .xUnfetch = cf_unfetch,
};

static int cf_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    (void)vfs;
    struct cf_file *c = (struct cf_file *)f;
    c->real = (sqlite3_file *)(c + 1);
    c->wal = (flags & SQLITE_OPEN_WAL) != 0;
    int rc = cf_real->xOpen(cf_real, name, c->real, flags, out_flags);
    /* The unix VFS's files are of version 3; a file it did not open has no methods. */
    c->base.pMethods = rc == SQLITE_OK && c->real->pMethods != NULL ? &cf_methods : NULL;
    return rc;
}

/* Makes the counting VFS SQLite's default. */
static bool cf_register(void)
{
    cf_real = sqlite3_vfs_find("unix");
    if (cf_real == NULL || cf_real->iVersion < 1) {
        return false;
    }
    cf_vfs = *cf_real;
    cf_vfs.zName = "hs-count-syncs";
    cf_vfs.szOsFile = (int)sizeof(struct cf_file) + cf_real->szOsFile;
    cf_vfs.xOpen = cf_open;
    return sqlite3_vfs_register(&cf_vfs, 1) == SQLITE_OK;
}

static void cf_unregister(void)
{
    sqlite3_vfs_unregister(&cf_vfs);
    sqlite3_vfs_register(cf_real, 1);
}

/* Durability at the file level, which SIGKILL (acknowledged_puts_survive_sigkill) cannot
 * observe: the kernel keeps a killed process's writes. Every put returns only after a sync of
 * the WAL that holds it (synchronous=FULL in WAL mode: https://sqlite.org/pragma.html#pragma_synchronous;
 * NORMAL would sync the WAL only at checkpoints and lose the last commits on power loss), and
 * under concurrency every commit, of several records, is synced. */
HS_TEST(every_acknowledged_put_was_synced_to_the_wal_first)
{
    HS_CHECK(cf_register());
    char path[PATH_LEN];
    test_path("syncs", path);
    {
        HS_DEFER(struct st_inventory *inv = NULL, st_inventory_closep);
        HS_CHECK_OK(st_sqlite_open(path, &inv));
        for (int i = 0; inv != NULL && i < 8; i++) {
            char serial[8];
            snprintf(serial, sizeof(serial), "5c%02x", i);
            HS_DEFER(struct st_cert_record *rec = hs_test_record_new(serial), hs_test_record_freep);
            unsigned long before = atomic_load(&cf_wal_syncs);
            HS_CHECK_OK(inv->ops->put(inv, rec));
            HS_CHECK(atomic_load(&cf_wal_syncs) > before);
        }
        if (inv != NULL) {
            struct st_inventory_stats s0 = stats_of(inv);
            unsigned long w0 = atomic_load(&cf_wal_syncs);
            int ok = 0;
            (void)bench_run(inv, GROUP_THREADS, 0x5d, 20, &ok);
            struct st_inventory_stats s1 = stats_of(inv);
            HS_CHECK(ok == GROUP_THREADS * 20);
            /* Each commit synced the WAL (a checkpoint syncs it too, before it copies pages
             * back), and a commit held several records. */
            HS_CHECK(s1.commits > s0.commits &&
                     atomic_load(&cf_wal_syncs) - w0 >= s1.commits - s0.commits);
            HS_CHECK(s1.commits - s0.commits < (uint64_t)ok);
        }
    }
    cf_unregister();
}

static void crash_child(const char *path, int fd)
{
    struct st_inventory *inv = NULL;
    if (hs_failed(st_sqlite_open(path, &inv))) {
        _exit(write(fd, "ERR\n", 4) == 4 ? 2 : 3);
    }
    struct crash_worker w[CRASH_THREADS];
    for (int i = 0; i < CRASH_THREADS; i++) {
        w[i] = (struct crash_worker){.inv = inv, .id = i, .fd = fd};
        if (pthread_create(&w[i].thread, NULL, crash_main, &w[i]) != 0) {
            _exit(2);
        }
    }
    for (;;) {
        pause(); /* until SIGKILL */
    }
}

HS_TEST(acknowledged_puts_survive_sigkill)
{
    char path[PATH_LEN];
    test_path("crash", path);
    int fds[2];
    HS_CHECK(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    HS_CHECK(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        crash_child(path, fds[1]);
    }
    close(fds[1]);
    FILE *acks = fdopen(fds[0], "r");
    HS_CHECK(acks != NULL);
    char(*acked)[ST_INV_SERIAL_MAX + 2] = calloc(CRASH_ACKS_MAX, sizeof(*acked));
    HS_CHECK(acked != NULL);
    int n = 0;
    int errors = 0;
    bool killed = false;
    char line[64];
    while (acks != NULL && acked != NULL && fgets(line, sizeof(line), acks) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        errors += strcmp(line, "ERR") == 0;
        if (n < CRASH_ACKS_MAX && strcmp(line, "ERR") != 0) {
            snprintf(acked[n++], sizeof(acked[0]), "%.40s", line);
        }
        if (!killed && n >= CRASH_ACKS_BEFORE_KILL) {
            kill(pid, SIGKILL);
            killed = true; /* and read the acknowledgements still in the pipe */
        }
    }
    if (!killed) {
        kill(pid, SIGKILL);
    }
    int status = 0;
    HS_CHECK(waitpid(pid, &status, 0) == pid);
    HS_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    HS_CHECK(errors == 0);
    HS_CHECK(n >= CRASH_ACKS_BEFORE_KILL);
    HS_DEFER(struct st_inventory *inv = NULL, st_inventory_closep);
    HS_CHECK_OK(st_sqlite_open(path, &inv));
    int missing = 0;
    for (int i = 0; inv != NULL && i < n; i++) {
        missing += !present(inv, acked[i]);
    }
    fprintf(stderr, "  crash: %d acknowledged puts before and just after SIGKILL, %d missing\n", n,
            missing);
    HS_CHECK(inv != NULL && missing == 0);
    free(acked);
    if (acks != NULL) {
        fclose(acks);
    }
}

/* --- a commit that fails ---------------------------------------------------------------------- */

static void wal_size(const char *path, off_t *out)
{
    char wal[PATH_LEN + 8];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    struct stat st;
    *out = stat(wal, &st) == 0 ? st.st_size : -1;
}

/* In a child, so that RLIMIT_FSIZE stays there: the WAL may not grow, so the next COMMIT
 * fails; every operation queued in that batch must fail with HS_ERR_IO and leave nothing. */
static void failing_commit_child(const char *path)
{
    signal(SIGXFSZ, SIG_IGN); /* a write past the limit fails with EFBIG instead */
    struct st_inventory *inv = NULL;
    HS_CHECK_OK(st_sqlite_open(path, &inv));
    if (inv == NULL) {
        _exit(1);
    }
    HS_CHECK(put_serial(inv, "a1").code == HS_ERR_NONE);
    uint64_t gen = inv->ops->generation(inv);
    off_t wal = 0;
    wal_size(path, &wal);
    HS_CHECK(wal > 0);
    struct rlimit old;
    HS_CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    struct rlimit lim = {.rlim_cur = (rlim_t)wal, .rlim_max = old.rlim_max};

    /* Queue 8 puts, a revoke and a CRL number behind another connection's write lock, so
     * that they commit together once it is released. */
    sqlite3 *lock = write_lock_take(path);
    HS_CHECK(lock != NULL && setrlimit(RLIMIT_FSIZE, &lim) == 0);
    struct op_thread o[10];
    for (int i = 0; i < 8; i++) {
        char serial[8];
        snprintf(serial, sizeof(serial), "b%d", i);
        op_start(&o[i], inv, OP_PUT, serial);
    }
    op_start(&o[8], inv, OP_REVOKE, "a1");
    op_start(&o[9], inv, OP_CRL_NUMBER, "");
    hs_test_sleep_ms(300);
    if (lock != NULL) {
        write_lock_release(lock);
    }
    for (int i = 0; i < 10; i++) {
        pthread_join(o[i].thread, NULL);
        /* The file cannot grow (EFBIG, SQLITE_IOERR): a condition of the moment. */
        HS_CHECK(o[i].code == HS_ERR_STORE_UNAVAILABLE);
        HS_CHECK(i >= 8 || !present(inv, o[i].serial));
    }

    /* With room again the store works, and the failed operations left no trace. */
    HS_CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    {
        /* A block, so the record is freed before _exit (valgrind follows the child). */
        HS_DEFER(struct st_cert_record *r = hs_test_record_new("1"), hs_test_record_freep);
        HS_CHECK_OK(inv->ops->get(inv, "a1", r));
        HS_CHECK(r->status == ST_CERT_GOOD);
    }
    HS_CHECK(inv->ops->generation(inv) == gen);
    uint64_t number = 0;
    HS_CHECK_OK(inv->ops->next_crl_number(inv, &number));
    HS_CHECK(number == 1);
    HS_CHECK(put_serial(inv, "b0").code == HS_ERR_NONE);
    st_inventory_close(inv);
    _exit(hs_test_failures == 0 ? 0 : 1);
}

HS_TEST(failed_commit_fails_its_whole_batch_and_leaves_nothing)
{
    char path[PATH_LEN];
    test_path("failcommit", path);
    fflush(NULL);
    pid_t pid = fork();
    HS_CHECK(pid >= 0);
    if (pid == 0) {
        failing_commit_child(path);
    }
    int status = 0;
    HS_CHECK(waitpid(pid, &status, 0) == pid);
    HS_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* And after a fresh open. */
    HS_DEFER(struct st_inventory *inv = NULL, st_inventory_closep);
    HS_CHECK_OK(st_sqlite_open(path, &inv));
    HS_CHECK(inv != NULL && present(inv, "a1") && present(inv, "b0") && !present(inv, "b1"));
}

/* --- the file -------------------------------------------------------------------------------- */

static int file_mode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static void query_text(sqlite3 *db, const char *sql, char *out, size_t size)
{
    sqlite3_stmt *st = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    HS_CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    HS_CHECK(fd >= 0 && fchmod(fd, mode) == 0);
    if (fd >= 0) {
        close(fd);
    }
}

HS_TEST(file_is_private_and_in_wal_mode)
{
    char path[PATH_LEN];
    test_path("file", path);
    mode_t old = umask(0); /* 0600 must not depend on the umask */
    struct st_inventory *inv = NULL;
    HS_CHECK_OK(st_sqlite_open(path, &inv));
    umask(old);
    HS_CHECK(file_mode(path) == 0600);
    char side[PATH_LEN + 8];
    snprintf(side, sizeof(side), "%s-wal", path);
    HS_CHECK(file_mode(side) == 0600);
    snprintf(side, sizeof(side), "%s-shm", path);
    HS_CHECK(file_mode(side) == 0600);
    {
        HS_DEFER(sqlite3 *db = NULL, sqlite_closep);
        HS_CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
        char text[32];
        query_text(db, "PRAGMA journal_mode", text, sizeof(text));
        HS_CHECK(strcmp(text, "wal") == 0);
        query_text(db, "PRAGMA user_version", text, sizeof(text));
        HS_CHECK(strcmp(text, "5") == 0);
    }
    st_inventory_close(inv);

    /* Refused: a file group or others can read, a symlink, a directory, a file that is not an
     * inventory, an inventory from a newer build. */
    HS_CHECK(chmod(path, 0640) == 0);
    HS_CHECK_ERR(st_sqlite_open(path, &inv), HS_ERR_INPUT_CONFIG);
    HS_CHECK(chmod(path, 0600) == 0);
    char other[PATH_LEN];
    test_path("symlink", other);
    HS_CHECK(symlink(path, other) == 0);
    HS_CHECK_ERR(st_sqlite_open(other, &inv), HS_ERR_IO);
    HS_CHECK_ERR(st_sqlite_open(test_dir, &inv), HS_ERR_IO);
    test_path("garbage", other);
    write_file(other, "this is not a database, only some bytes of text....................\n",
               0600);
    HS_CHECK_ERR(st_sqlite_open(other, &inv), HS_ERR_IO);
    test_path("newer", other);
    write_file(other, "", 0600);
    {
        HS_DEFER(sqlite3 *db = NULL, sqlite_closep);
        HS_CHECK(sqlite3_open(other, &db) == SQLITE_OK);
        HS_CHECK(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK);
    }
    HS_CHECK_ERR(st_sqlite_open(other, &inv), HS_ERR_INPUT_CONFIG);
    HS_CHECK_ERR(st_sqlite_open("", &inv), HS_ERR_INPUT_CONFIG);
}

/* --- another connection's lock ---------------------------------------------------------------- */

/* The store waits ST_INV_BUSY_MS (5 s) for another connection's write lock, then fails the
 * batch with HS_ERR_STORE_UNAVAILABLE (busy: retry later); the store itself stays usable. */
HS_TEST(a_write_lock_held_past_the_busy_timeout_fails_the_put_alone)
{
    char path[PATH_LEN];
    test_path("locked", path);
    HS_DEFER(struct st_inventory *inv = NULL, st_inventory_closep);
    HS_CHECK_OK(st_sqlite_open(path, &inv));
    if (inv == NULL) {
        return;
    }
    HS_CHECK_OK(put_serial(inv, "a1"));
    sqlite3 *lock = write_lock_take(path);
    HS_CHECK(lock != NULL);
    if (lock == NULL) {
        return;
    }
    double t = hs_test_now_s();
    HS_CHECK_ERR(put_serial(inv, "b1"), HS_ERR_STORE_UNAVAILABLE);
    t = hs_test_now_s() - t;
    HS_CHECK(t >= 4.5 && t < 30);
    HS_CHECK(strstr(hs_error_last()->detail, "locked") != NULL);
    /* Reads still work while the lock is held. */
    HS_CHECK(present(inv, "a1") && !present(inv, "b1"));
    write_lock_release(lock);
    HS_CHECK_OK(put_serial(inv, "b1"));
    HS_CHECK(present(inv, "b1"));
}

/* --- schema upgrades ------------------------------------------------------------------------- */

/* Schema version 1 exactly as builds before record kinds created it. */
static const char schema_v1_sql[] =
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
    "CREATE INDEX certificates_revoked ON certificates (serial, not_after, revoked_at, reason)"
    " WHERE status = 1;"
    "CREATE TABLE meta (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL)"
    " STRICT, WITHOUT ROWID;"
    "INSERT INTO meta (name, value) VALUES ('crl_number', 5), ('revocation_generation', 3);"
    "PRAGMA user_version = 1;";

/* Inserts rec as a schema 1 row (no kind). */
static void v1_insert(sqlite3 *db, const struct st_cert_record *rec)
{
    sqlite3_stmt *st = NULL;
    HS_CHECK(sqlite3_prepare_v2(db,
                                "INSERT INTO certificates VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                                " ?9, ?10, ?11, ?12)",
                                -1, &st, NULL) == SQLITE_OK);
    sqlite3_bind_text(st, 1, rec->serial_hex, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rec->subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, rec->sans, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, rec->not_before);
    sqlite3_bind_int64(st, 5, rec->not_after);
    sqlite3_bind_text(st, 6, rec->requester, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, rec->profile, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 8, rec->spki_sha256, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 9, rec->cert_sha256, 32, SQLITE_STATIC);
    sqlite3_bind_int(st, 10, rec->status);
    sqlite3_bind_int64(st, 11, rec->revoked_at);
    sqlite3_bind_int(st, 12, rec->reason);
    HS_CHECK(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_finalize(st);
}

/* A schema 1 inventory at path (0600) holding good and revoked; extra_sql runs last. */
static void v1_create(const char *path, const struct st_cert_record *good,
                      const struct st_cert_record *revoked, const char *extra_sql)
{
    write_file(path, "", 0600);
    HS_DEFER(sqlite3 *db = NULL, sqlite_closep);
    HS_CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    HS_CHECK(sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) == SQLITE_OK);
    HS_CHECK(sqlite3_exec(db, schema_v1_sql, NULL, NULL, NULL) == SQLITE_OK);
    v1_insert(db, good);
    v1_insert(db, revoked);
    if (extra_sql != NULL) {
        HS_CHECK(sqlite3_exec(db, extra_sql, NULL, NULL, NULL) == SQLITE_OK);
    }
}

static void v1_records(struct st_cert_record **good, struct st_cert_record **revoked)
{
    *good = hs_test_record_new("1a2b");
    *revoked = hs_test_record_new("3c4d");
    (*revoked)->status = ST_CERT_REVOKED;
    (*revoked)->revoked_at = T0 + 60;
    (*revoked)->reason = 4;
}

/* Whether table certificates of db has a column named column. */
static bool has_column(sqlite3 *db, const char *column)
{
    sqlite3_stmt *st = NULL;
    bool found = false;
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM pragma_table_info('certificates') WHERE name = ?1",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_bind_text(st, 1, column, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        found = sqlite3_column_int(st, 0) == 1;
    }
    sqlite3_finalize(st);
    return found;
}

/* The file's user_version and whether certificates has a column "kind" (schema 2). */
static void schema_of(const char *path, char version[8], bool *has_kind)
{
    HS_DEFER(sqlite3 *db = NULL, sqlite_closep);
    HS_CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    query_text(db, "PRAGMA user_version", version, 8);
    *has_kind = has_column(db, "kind");
}

/* Whether the file's certificates have a column "issuer_key_sha256" (schema 3). */
static bool has_issuer(const char *path)
{
    HS_DEFER(sqlite3 *db = NULL, sqlite_closep);
    HS_CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    return has_column(db, "issuer_key_sha256");
}

/* Whether the file has the keygen table (schema 4). */
static bool has_keygen(const char *path)
{
    HS_DEFER(sqlite3 *db = NULL, sqlite_closep);
    HS_CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    char n[8] = "";
    query_text(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'keygen'", n,
               sizeof(n));
    return strcmp(n, "1") == 0;
}

HS_TEST(schema_1_is_upgraded_in_place)
{
    char path[PATH_LEN];
    test_path("schema1", path);
    struct st_cert_record *g = NULL;
    struct st_cert_record *rv = NULL;
    v1_records(&g, &rv);
    HS_DEFER(struct st_cert_record *good = g, hs_test_record_freep);
    HS_DEFER(struct st_cert_record *revoked = rv, hs_test_record_freep);
    v1_create(path, good, revoked, NULL);
    char version[8];
    bool has_kind = true;
    schema_of(path, version, &has_kind);
    HS_CHECK(strcmp(version, "1") == 0 && !has_kind);

    HS_DEFER(struct st_inventory *inv = NULL, st_inventory_closep);
    HS_CHECK_OK(st_sqlite_open(path, &inv));
    if (inv == NULL) {
        return;
    }
    schema_of(path, version, &has_kind);
    HS_CHECK(strcmp(version, "5") == 0 && has_kind && has_issuer(path) && has_keygen(path));
    /* The old rows read back whole, as X.509 without a CA key; the counters go on where they
     * were. */
    memset(good->issuer_key_sha256, 0, sizeof(good->issuer_key_sha256));
    memset(revoked->issuer_key_sha256, 0, sizeof(revoked->issuer_key_sha256));
    HS_DEFER(struct st_cert_record *got = hs_test_record_new("1"), hs_test_record_freep);
    got->kind = ST_KIND_SSH;
    HS_CHECK_OK(inv->ops->get(inv, "1a2b", got));
    HS_CHECK(hs_test_record_equal(good, got) && got->kind == ST_KIND_X509);
    got->kind = ST_KIND_SSH;
    HS_CHECK_OK(inv->ops->get(inv, "3c4d", got));
    HS_CHECK(hs_test_record_equal(revoked, got) && got->kind == ST_KIND_X509);
    HS_CHECK(inv->ops->generation(inv) == 3);
    uint64_t number = 0;
    HS_CHECK_OK(inv->ops->next_crl_number(inv, &number));
    HS_CHECK(number == 6);
    /* The old revocation is on the CRL list; a new SSH one is not. */
    HS_DEFER(struct st_cert_record *ssh = hs_test_record_new("5e6f"), hs_test_record_freep);
    ssh->kind = ST_KIND_SSH;
    HS_CHECK_OK(inv->ops->put(inv, ssh));
    HS_CHECK_OK(inv->ops->revoke(inv, "5e6f", T0 + 90, 1, NULL));
    HS_CHECK_OK(inv->ops->revoke(inv, "1a2b", T0 + 120, 1, NULL));
    HS_CHECK(inv->ops->generation(inv) == 5);
    struct st_revoked_entry e[4];
    size_t n = 0;
    HS_CHECK_OK(inv->ops->list_revoked(inv, 0, e, 4, &n));
    HS_CHECK(n == 2 && strcmp(e[0].serial_hex, "1a2b") == 0 &&
             strcmp(e[1].serial_hex, "3c4d") == 0 && e[1].revoked_at == T0 + 60 &&
             e[1].reason == 4);
    /* A second open finds schema 3 and changes nothing. */
    st_inventory_close(inv);
    inv = NULL;
    HS_CHECK_OK(st_sqlite_open(path, &inv));
    HS_CHECK(inv != NULL && present(inv, "5e6f") && inv->ops->generation(inv) == 5);
    schema_of(path, version, &has_kind);
    HS_CHECK(strcmp(version, "5") == 0 && has_kind);
}

/* A schema 1 file the upgrade cannot handle (its list index is missing, so DROP INDEX fails)
 * is refused, and the whole upgrade rolled back: still schema 1, no kind column. */
HS_TEST(a_failed_upgrade_changes_nothing)
{
    char path[PATH_LEN];
    test_path("schema1bad", path);
    struct st_cert_record *g = NULL;
    struct st_cert_record *rv = NULL;
    v1_records(&g, &rv);
    HS_DEFER(struct st_cert_record *good = g, hs_test_record_freep);
    HS_DEFER(struct st_cert_record *revoked = rv, hs_test_record_freep);
    v1_create(path, good, revoked, "DROP INDEX certificates_revoked;");
    struct st_inventory *inv = NULL;
    HS_CHECK_ERR(st_sqlite_open(path, &inv), HS_ERR_IO);
    HS_CHECK(strstr(hs_error_last()->detail, "certificates_revoked") != NULL);
    HS_CHECK(inv == NULL);
    char version[8];
    bool has_kind = true;
    schema_of(path, version, &has_kind);
    HS_CHECK(strcmp(version, "1") == 0 && !has_kind && !has_issuer(path) && !has_keygen(path));
}

/* Schema version 2 exactly as builds before CA keys made it: version 1, then this step. */
static const char schema_v2_step_sql[] =
    "ALTER TABLE certificates ADD COLUMN kind INTEGER NOT NULL DEFAULT 0 CHECK (kind IN (0, 1));"
    "DROP INDEX certificates_revoked;"
    "CREATE INDEX certificates_revoked ON certificates (kind, serial, not_after, revoked_at, "
    "reason)"
    " WHERE status = 1;"
    "PRAGMA user_version = 2;";

/* Inserts rec as a schema 2 row (a kind, no CA key). */
static void v2_insert(sqlite3 *db, const struct st_cert_record *rec)
{
    sqlite3_stmt *st = NULL;
    HS_CHECK(sqlite3_prepare_v2(db,
                                "INSERT INTO certificates (serial, subject, sans, not_before,"
                                " not_after, requester, profile, spki_sha256, cert_sha256, status,"
                                " revoked_at, reason, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
                                " ?8, ?9, ?10, ?11, ?12, ?13)",
                                -1, &st, NULL) == SQLITE_OK);
    sqlite3_bind_text(st, 1, rec->serial_hex, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rec->subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, rec->sans, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, rec->not_before);
    sqlite3_bind_int64(st, 5, rec->not_after);
    sqlite3_bind_text(st, 6, rec->requester, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, rec->profile, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 8, rec->spki_sha256, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 9, rec->cert_sha256, 32, SQLITE_STATIC);
    sqlite3_bind_int(st, 10, rec->status);
    sqlite3_bind_int64(st, 11, rec->revoked_at);
    sqlite3_bind_int(st, 12, rec->reason);
    sqlite3_bind_int(st, 13, rec->kind);
    HS_CHECK(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_finalize(st);
}

/* Four schema 2 rows: X.509 good and revoked, SSH good and revoked (without CA keys, which
 * schema 2 did not have: all zero once upgraded). */
#define V2_ROWS 4
static void v2_records(struct st_cert_record *r[V2_ROWS])
{
    static const char *const serials[V2_ROWS] = {"1a2b", "3c4d", "5e6f", "7a8b"};
    for (int i = 0; i < V2_ROWS; i++) {
        r[i] = hs_test_record_new(serials[i]);
        memset(r[i]->issuer_key_sha256, 0, sizeof(r[i]->issuer_key_sha256));
        r[i]->kind = i >= 2 ? ST_KIND_SSH : ST_KIND_X509;
        if (i % 2 == 1) {
            r[i]->status = ST_CERT_REVOKED;
            r[i]->revoked_at = T0 + 60 + i;
            r[i]->reason = 4;
        }
    }
}

static void v2_records_free(struct st_cert_record *(*r)[V2_ROWS])
{
    for (int i = 0; i < V2_ROWS; i++) {
        free((*r)[i]);
    }
}

/* A schema 2 inventory at path (0600), as the old code path made it, holding r; extra_sql runs
 * last. */
static void v2_create(const char *path, struct st_cert_record *const r[V2_ROWS],
                      const char *extra_sql)
{
    write_file(path, "", 0600);
    HS_DEFER(sqlite3 *db = NULL, sqlite_closep);
    HS_CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    HS_CHECK(sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) == SQLITE_OK);
    HS_CHECK(sqlite3_exec(db, schema_v1_sql, NULL, NULL, NULL) == SQLITE_OK);
    HS_CHECK(sqlite3_exec(db, schema_v2_step_sql, NULL, NULL, NULL) == SQLITE_OK);
    for (int i = 0; i < V2_ROWS; i++) {
        v2_insert(db, r[i]);
    }
    if (extra_sql != NULL) {
        HS_CHECK(sqlite3_exec(db, extra_sql, NULL, NULL, NULL) == SQLITE_OK);
    }
}

HS_TEST(schema_2_is_upgraded_in_place)
{
    char path[PATH_LEN];
    test_path("schema2", path);
    HS_DEFER(struct st_cert_record * r[V2_ROWS], v2_records_free);
    v2_records(r);
    v2_create(path, r, NULL);
    char version[8];
    bool has_kind = false;
    schema_of(path, version, &has_kind);
    HS_CHECK(strcmp(version, "2") == 0 && has_kind && !has_issuer(path));

    HS_DEFER(struct st_inventory *inv = NULL, st_inventory_closep);
    HS_CHECK_OK(st_sqlite_open(path, &inv));
    if (inv == NULL) {
        return;
    }
    schema_of(path, version, &has_kind);
    HS_CHECK(strcmp(version, "5") == 0 && has_kind && has_issuer(path) && has_keygen(path));
    /* Every old row reads back whole, its kind kept, without a CA key. */
    HS_DEFER(struct st_cert_record *got = hs_test_record_new("1"), hs_test_record_freep);
    for (int i = 0; i < V2_ROWS; i++) {
        memset(got->issuer_key_sha256, 0xee, sizeof(got->issuer_key_sha256));
        HS_CHECK_OK(inv->ops->get(inv, r[i]->serial_hex, got));
        HS_CHECK(hs_test_record_equal(r[i], got));
    }
    HS_CHECK(inv->ops->generation(inv) == 3);
    /* The CRL still lists the X.509 revocation alone; the KRL lists the old SSH revocation
     * with no CA key, and one revoked now, and before a new record with its CA key. */
    HS_CHECK_OK(inv->ops->revoke(inv, "5e6f", T0 + 90, 1, NULL));
    HS_DEFER(struct st_cert_record *ssh = hs_test_record_new("01"), hs_test_record_freep);
    ssh->kind = ST_KIND_SSH;
    HS_CHECK_OK(inv->ops->put(inv, ssh));
    HS_CHECK_OK(inv->ops->revoke(inv, "01", T0 + 95, 1, NULL));
    struct st_revoked_entry e[4];
    size_t n = 0;
    HS_CHECK_OK(inv->ops->list_revoked(inv, 0, e, 4, &n));
    HS_CHECK(n == 1 && strcmp(e[0].serial_hex, "3c4d") == 0 && e[0].revoked_at == T0 + 61);
    struct st_ssh_revoked_entry k[4];
    static const unsigned char zero[32] = {0};
    HS_CHECK_OK(inv->ops->list_revoked_ssh(inv, 0, k, 4, &n));
    HS_CHECK(n == 3);
    HS_CHECK(n == 3 && k[0].serial == 0x5e6f && memcmp(k[0].issuer_key_sha256, zero, 32) == 0 &&
             k[0].revoked_at == T0 + 90);
    HS_CHECK(n == 3 && k[1].serial == 0x7a8b && memcmp(k[1].issuer_key_sha256, zero, 32) == 0 &&
             k[1].revoked_at == T0 + 63);
    HS_CHECK(n == 3 && k[2].serial == 0x01 &&
             memcmp(k[2].issuer_key_sha256, ssh->issuer_key_sha256, 32) == 0);
    /* A second open finds schema 3 and changes nothing. */
    st_inventory_close(inv);
    inv = NULL;
    HS_CHECK_OK(st_sqlite_open(path, &inv));
    HS_CHECK(inv != NULL && present(inv, "01") && inv->ops->generation(inv) == 5);
    schema_of(path, version, &has_kind);
    HS_CHECK(strcmp(version, "5") == 0);
}

/* A schema 2 file the upgrade cannot handle (an index already has the name schema 3 gives its
 * KRL index, so CREATE INDEX fails after ADD COLUMN succeeded) is refused, and the whole
 * upgrade rolled back: still schema 2, no issuer column, the rows as they were. */
HS_TEST(a_failed_upgrade_from_2_changes_nothing)
{
    char path[PATH_LEN];
    test_path("schema2bad", path);
    HS_DEFER(struct st_cert_record * r[V2_ROWS], v2_records_free);
    v2_records(r);
    v2_create(path, r, "CREATE INDEX certificates_krl ON certificates (subject);");
    struct st_inventory *inv = NULL;
    HS_CHECK_ERR(st_sqlite_open(path, &inv), HS_ERR_IO);
    HS_CHECK(strstr(hs_error_last()->detail, "certificates_krl") != NULL);
    HS_CHECK(inv == NULL);
    char version[8];
    bool has_kind = false;
    schema_of(path, version, &has_kind);
    HS_CHECK(strcmp(version, "2") == 0 && has_kind && !has_issuer(path));
    HS_DEFER(sqlite3 *db = NULL, sqlite_closep);
    HS_CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    char rows[8];
    query_text(db, "SELECT count(*) FROM certificates", rows, sizeof(rows));
    HS_CHECK(strcmp(rows, "4") == 0);
}

/* st_inventory_open (st_config.h) with a SQLite config is st_sqlite_open. */
HS_TEST(the_factory_opens_the_sqlite_store)
{
    char path[PATH_LEN];
    test_path("factory", path);
    struct st_config cfg = {.backend = ST_BACKEND_SQLITE, .sqlite_path = path};
    HS_DEFER(struct st_inventory *inv = NULL, st_inventory_closep);
    HS_CHECK_OK(st_inventory_open(&cfg, &inv));
    HS_CHECK(inv != NULL && !hs_failed(put_serial(inv, "f1")));
    struct st_inventory_stats st;
    st_sqlite_stats(inv, &st);
    HS_CHECK(st.commits == 1 && st.records == 1); /* the SQLite store's own statistics */
    /* Its errors name the backend. */
    struct st_inventory *other = NULL;
    cfg.sqlite_path = test_dir; /* a directory */
    HS_CHECK_ERR(st_inventory_open(&cfg, &other), HS_ERR_IO);
    HS_CHECK(strstr(hs_error_last()->detail, "sqlite") != NULL && other == NULL);
}

/* --- a new inventory ------------------------------------------------------------------------- */

/* The file's whole schema (every table and index with its SQL), in name order. */
static void schema_text(const char *path, char *out, size_t size)
{
    HS_DEFER(sqlite3 *db = NULL, sqlite_closep);
    HS_CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    query_text(db,
               "SELECT group_concat(type || ' ' || name || ' ' || coalesce(sql, ''), char(10))"
               " FROM (SELECT * FROM sqlite_schema ORDER BY name)",
               out, size);
}

/* A new inventory is built beside its path ("<path>-new") and linked into place complete: the
 * current schema (exactly what upgrading a schema 1 file gives), its counters, WAL mode, an
 * intact file, and nothing left of the builder's file. */
HS_TEST(a_new_inventory_is_complete_at_the_current_schema)
{
    char path[PATH_LEN];
    test_path("new", path);
    char built[PATH_LEN + 8];
    snprintf(built, sizeof(built), "%s-new", path);
    {
        HS_DEFER(struct st_inventory *inv = NULL, st_inventory_closep);
        HS_CHECK_OK(st_sqlite_open(path, &inv));
        HS_CHECK(access(built, F_OK) != 0 && errno == ENOENT);
        HS_CHECK(inv != NULL && !hs_failed(put_serial(inv, "4e")) && present(inv, "4e"));
    }
    char text[8192];
    {
        HS_DEFER(sqlite3 *db = NULL, sqlite_closep);
        HS_CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
        query_text(db, "PRAGMA user_version", text, sizeof(text));
        HS_CHECK(strcmp(text, "5") == 0);
        query_text(db, "PRAGMA journal_mode", text, sizeof(text));
        HS_CHECK(strcmp(text, "wal") == 0);
        query_text(db, "PRAGMA integrity_check", text, sizeof(text));
        HS_CHECK(strcmp(text, "ok") == 0);
        query_text(db, "SELECT group_concat(name || '=' || value) FROM meta", text, sizeof(text));
        HS_CHECK(strcmp(text, "crl_number=0,revocation_generation=0") == 0);
    }
    /* The same schema, statement for statement, as a schema 1 file upgraded in place. */
    char old[PATH_LEN];
    test_path("new-vs-upgraded", old);
    struct st_cert_record *g = NULL;
    struct st_cert_record *rv = NULL;
    v1_records(&g, &rv);
    HS_DEFER(struct st_cert_record *good = g, hs_test_record_freep);
    HS_DEFER(struct st_cert_record *revoked = rv, hs_test_record_freep);
    v1_create(old, good, revoked, NULL);
    {
        HS_DEFER(struct st_inventory *inv = NULL, st_inventory_closep);
        HS_CHECK_OK(st_sqlite_open(old, &inv));
    }
    char upgraded[8192];
    schema_text(path, text, sizeof(text));
    schema_text(old, upgraded, sizeof(upgraded));
    HS_CHECK(strstr(text, "table keygen") != NULL &&
             strstr(text, "certificates_requester") != NULL);
    HS_CHECK(strcmp(text, upgraded) == 0);
}

/* What a builder that crashed left ("<path>-new", a complete-looking inventory holding a record,
 * and a -wal beside it) is never taken for the inventory: the next creation builds afresh and
 * removes it. Beside an inventory that exists, such a file is ignored. */
HS_TEST(a_crashed_creation_leaves_nothing_that_is_trusted)
{
    char path[PATH_LEN];
    test_path("leftover", path);
    char built[PATH_LEN + 8];
    snprintf(built, sizeof(built), "%s-new", path);
    char built_wal[PATH_LEN + 16];
    snprintf(built_wal, sizeof(built_wal), "%s-new-wal", path);
    {
        /* A whole inventory holding "dead", made at the builder's name. */
        HS_DEFER(struct st_inventory *inv = NULL, st_inventory_closep);
        HS_CHECK_OK(st_sqlite_open(built, &inv));
        HS_CHECK(inv != NULL && !hs_failed(put_serial(inv, "dead")));
    }
    write_file(built_wal, "not a WAL: what a crash may leave beside the builder's file\n", 0600);
    {
        HS_DEFER(struct st_inventory *inv = NULL, st_inventory_closep);
        HS_CHECK_OK(st_sqlite_open(path, &inv));
        HS_CHECK(inv != NULL && !present(inv, "dead"));
        HS_CHECK(inv != NULL && !hs_failed(put_serial(inv, "a11e")));
    }
    HS_CHECK(access(built, F_OK) != 0 && access(built_wal, F_OK) != 0);

    /* Next to an existing inventory: ignored, and the inventory is the one it was. */
    write_file(built, "a leftover beside an inventory that exists\n", 0600);
    HS_DEFER(struct st_inventory *inv = NULL, st_inventory_closep);
    HS_CHECK_OK(st_sqlite_open(path, &inv));
    HS_CHECK(inv != NULL && present(inv, "a11e") && !present(inv, "dead"));
}

#define CREATORS 4

/* Processes that open the same new inventory at once all get the one file: one builds it, the
 * others wait for it (or find it made), and every record put lands in it. */
HS_TEST(processes_creating_one_inventory_at_once_share_it)
{
    char path[PATH_LEN];
    test_path("together", path);
    pid_t pids[CREATORS];
    fflush(NULL);
    for (int i = 0; i < CREATORS; i++) {
        pids[i] = fork();
        HS_CHECK(pids[i] >= 0);
        if (pids[i] == 0) {
            struct st_inventory *inv = NULL;
            char serial[8];
            snprintf(serial, sizeof(serial), "c%d", i + 1);
            bool ok = !hs_failed(st_sqlite_open(path, &inv)) && !hs_failed(put_serial(inv, serial));
            st_inventory_close(inv);
            _exit(ok ? 0 : 1);
        }
    }
    for (int i = 0; i < CREATORS; i++) {
        int status = -1;
        HS_CHECK(pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i]);
        HS_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    HS_DEFER(struct st_inventory *inv = NULL, st_inventory_closep);
    HS_CHECK_OK(st_sqlite_open(path, &inv));
    for (int i = 0; i < CREATORS && inv != NULL; i++) {
        char serial[8];
        snprintf(serial, sizeof(serial), "c%d", i + 1);
        HS_CHECK(present(inv, serial));
    }
}

/* --- main ------------------------------------------------------------------------------------ */

static void remove_test_dir(void)
{
    hs_test_dir_remove(test_dir);
}

int main(void)
{
    const char *base = getenv("HSMSIGN_TEST_TMPDIR");
    snprintf(test_dir, sizeof(test_dir), "%s/st_sqlite_test.XXXXXX",
             base != NULL && base[0] != '\0' ? base : ".");
    if (mkdtemp(test_dir) == NULL) {
        perror(test_dir);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    int rc = hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(duplicate_serial_fails_only_its_record_in_the_batch),
        HS_TEST_CASE(group_commit_groups_concurrent_puts),
        HS_TEST_CASE(every_acknowledged_put_was_synced_to_the_wal_first),
        HS_TEST_CASE(acknowledged_puts_survive_sigkill),
        HS_TEST_CASE(failed_commit_fails_its_whole_batch_and_leaves_nothing),
        HS_TEST_CASE(file_is_private_and_in_wal_mode),
        HS_TEST_CASE(a_write_lock_held_past_the_busy_timeout_fails_the_put_alone),
        HS_TEST_CASE(schema_1_is_upgraded_in_place),
        HS_TEST_CASE(a_failed_upgrade_changes_nothing),
        HS_TEST_CASE(schema_2_is_upgraded_in_place),
        HS_TEST_CASE(a_failed_upgrade_from_2_changes_nothing),
        HS_TEST_CASE(the_factory_opens_the_sqlite_store),
        HS_TEST_CASE(a_new_inventory_is_complete_at_the_current_schema),
        HS_TEST_CASE(a_crashed_creation_leaves_nothing_that_is_trusted),
        HS_TEST_CASE(processes_creating_one_inventory_at_once_share_it),
        HS_TEST_END,
    });
    if (rc == 0) {
        remove_test_dir();
    } else {
        fprintf(stderr, "files kept in %s\n", test_dir);
    }
    return rc;
}
