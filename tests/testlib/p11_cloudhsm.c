/*
 * The CloudHSM-shaped Cryptoki module described in p11_cloudhsm.h.
 *
 * Like p11_fault.c it is dlopened into a process that already carries hs_common, so it links
 * no project library: its Cryptoki functions return CK_RV and its helpers return bool.
 */
#include "tests/testlib/p11_cloudhsm.h"
#include "tests/testlib/p11_cloudhsm_shape.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

/* Largest signature the scratch buffer of a throttled C_Sign holds (RSA-8192). */
#define HS_CLOUDHSM_SIG_MAX 1024
/* Sessions table: entries, a power of two. */
#define HS_CLOUDHSM_SESSIONS 4096
/* Key family cache: entries (hsmsignd holds a handful of keys). */
#define HS_CLOUDHSM_KEYS 64
#define HS_CLOUDHSM_NS 1000000000LL
/* Largest mechanism parameter a deferred C_SignInit keeps, in bytes. */
#define HS_CLOUDHSM_PARAM_MAX sizeof(CK_RSA_PKCS_PSS_PARAMS)
/* Longest CKA_EC_PARAMS / CKA_MODULUS read to find a family, in bytes. */
#define HS_CLOUDHSM_ATTR_MAX 1024
/* Cluster files mapped by one process (each stays mapped until it exits). */
#define HS_CLOUDHSM_MAPS_MAX 16
/* A cluster file's header: an arbitrary constant ("hsCLUSTR" read as big-endian), then the
 * layout's version and size, so that a file of another layout is refused. */
#define HS_CLOUDHSM_CLUSTER_MAGIC 0x6873434c55535452ULL
#define HS_CLOUDHSM_CLUSTER_VERSION 1U

/* The slot counters live in a file that several processes map: they must be lock-free there. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic_uint must be lock-free to be process-shared");
_Static_assert(ATOMIC_BOOL_LOCK_FREE == 2, "atomic_bool must be lock-free to be process-shared");

/* DER of the curve OIDs as CKA_EC_PARAMS holds them (RFC 5480 §2.1.1.1). */
static const unsigned char hs_cloudhsm_oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                                     0xce, 0x3d, 0x03, 0x01, 0x07};
static const unsigned char hs_cloudhsm_oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const unsigned char hs_cloudhsm_oid_p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};

/* One key family's token bucket. */
struct hs_cloudhsm_bucket {
    double rate;  /* signatures per second; 0: no limit */
    double depth; /* most signatures it holds (at least 1) */
    double tokens;
    long long last_ns; /* CLOCK_MONOTONIC of the last refill (system-wide on Linux) */
};

/* The cluster's state: the process's own (hs_cloudhsm_local) or a file mapped MAP_SHARED by
 * every process whose shape names it. Only plain data, a process-shared robust mutex and
 * lock-free atomics: nothing in it points into one process. */
struct hs_cloudhsm_cluster {
    uint64_t magic; /* written last when a file is initialised: 0 means not yet */
    uint32_t version;
    uint32_t size;        /* sizeof(struct hs_cloudhsm_cluster) */
    pthread_mutex_t lock; /* the buckets (robust and process-shared in a file) */
    struct hs_cloudhsm_bucket buckets[HS_CLOUDHSM_FAMILY_COUNT];
    atomic_bool limited; /* some family has a rate (families need not be looked up otherwise) */
    atomic_uint busy[HS_CLOUDHSM_HSMS_MAX]; /* slots taken per HSM */
    atomic_uint next_hsm;                   /* where the next search for a free slot starts */
};

/* A cluster file this process mapped, by path (and inode, should the file be replaced). */
struct hs_cloudhsm_mapping {
    char path[HS_CLOUDHSM_CLUSTER_PATH_MAX + 1];
    dev_t dev;
    ino_t ino;
    struct hs_cloudhsm_cluster *cl;
};

/* Set once by hs_cloudhsm_load(), read-only afterwards. */
static pthread_once_t hs_cloudhsm_once = PTHREAD_ONCE_INIT;
static CK_RV hs_cloudhsm_load_rv = CKR_GENERAL_ERROR;
static void *hs_cloudhsm_dl;
static CK_FUNCTION_LIST *hs_cloudhsm_real;
static CK_FUNCTION_LIST hs_cloudhsm_list;

/* Serialises hs_cloudhsm_apply() (the mappings table included); taken before hs_cloudhsm_lock. */
static pthread_mutex_t hs_cloudhsm_apply_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hs_cloudhsm_mapping hs_cloudhsm_maps[HS_CLOUDHSM_MAPS_MAX];

/* The shape, replaced as a whole by hs_cloudhsm_apply(); copied out under the lock. */
static pthread_mutex_t hs_cloudhsm_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hs_cloudhsm_shape hs_cloudhsm_shape = HS_CLOUDHSM_SHAPE_DEFAULT;

/* The cluster of a shape without cluster=: this process's own. */
static struct hs_cloudhsm_cluster hs_cloudhsm_local;

/* Per session: (handle << 8) | (family << 2) | (deferred << 1) | pending-throttle; 0 is
 * empty. */
#define HS_CLOUDHSM_SESSION_PENDING 1U
#define HS_CLOUDHSM_SESSION_DEFERRED 2U
static atomic_uint_fast64_t hs_cloudhsm_sessions[HS_CLOUDHSM_SESSIONS];

/* A C_SignInit kept for C_Sign's round trip (PKCS#11 v2.40 §5.12: the mechanism, with its
 * parameter copied, and the key), in the entry of hs_cloudhsm_sessions with the same index.
 * Written only by the session's C_SignInit after it claimed the entry (deferred bit set), read
 * by that session's next C_Sign: a session is used by one thread at a time. */
struct hs_cloudhsm_deferred {
    CK_MECHANISM_TYPE mech;
    CK_OBJECT_HANDLE key;
    CK_ULONG param_len;
    _Alignas(max_align_t) unsigned char param[HS_CLOUDHSM_PARAM_MAX];
};
static struct hs_cloudhsm_deferred hs_cloudhsm_deferred_ops[HS_CLOUDHSM_SESSIONS];

/* Per key handle: (handle << 8) | family | (signable ? 0x80 : 0); 0 is empty. */
#define HS_CLOUDHSM_KEY_SIGNABLE 0x80U
static atomic_uint_fast64_t hs_cloudhsm_keys[HS_CLOUDHSM_KEYS];

/* This process's counters (struct hs_cloudhsm_stats), a shared cluster's included. */
static atomic_ulong hs_cloudhsm_net_calls;
static atomic_ulong hs_cloudhsm_signs;
static atomic_ulong hs_cloudhsm_throttled_rate;
static atomic_ulong hs_cloudhsm_throttled_busy;
static atomic_ulong hs_cloudhsm_in_flight;
static atomic_ulong hs_cloudhsm_in_flight_max;
static atomic_ullong hs_cloudhsm_slept_us;

/* --- time ------------------------------------------------------------------------------------ */

static long long hs_cloudhsm_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * HS_CLOUDHSM_NS + ts.tv_nsec;
}

/* Sleeps on CLOCK_MONOTONIC until end (nanoseconds of hs_cloudhsm_now_ns), to an absolute
 * deadline so signals do not stretch it; returns at once when end has passed. The calling
 * thread's timer slack (prctl(2) PR_SET_TIMERSLACK, 50 us by default) is 1 ns meanwhile and
 * then restored: a network answer wakes its reader when it arrives, while a timer may fire up
 * to the slack late, which on this box put 77 us (p50; 25 us with the slack at 1 ns) on every
 * 2 ms round trip. */
static void hs_cloudhsm_sleep_until(long long end)
{
    if (end <= hs_cloudhsm_now_ns()) {
        return;
    }
    int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    if (slack > 1) {
        (void)prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    }
    struct timespec ts = {(time_t)(end / HS_CLOUDHSM_NS), (long)(end % HS_CLOUDHSM_NS)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
    if (slack > 1) {
        (void)prctl(PR_SET_TIMERSLACK, (unsigned long)slack, 0, 0, 0);
    }
}

static struct hs_cloudhsm_shape hs_cloudhsm_shape_get(void)
{
    pthread_mutex_lock(&hs_cloudhsm_lock);
    struct hs_cloudhsm_shape s = hs_cloudhsm_shape;
    pthread_mutex_unlock(&hs_cloudhsm_lock);
    return s;
}

/* A call's round trip, with the HSM's work inside it: hs_cloudhsm_trip_start before the real
 * module's call gives the time the answer arrives (now + rtt; 0 when rtt is 0) and
 * hs_cloudhsm_trip_end after it sleeps until then. The call lasts max(rtt, the real module's
 * time): the published 1-2 ms per call is what a client waits for, the HSM's own work
 * included, so SoftHSM2's signature is not added on top of the round trip. */
static long long hs_cloudhsm_trip_start(const struct hs_cloudhsm_shape *s)
{
    return s->rtt_ns > 0 ? hs_cloudhsm_now_ns() + s->rtt_ns : 0;
}

static void hs_cloudhsm_trip_end(const struct hs_cloudhsm_shape *s, long long arrive)
{
    if (s->rtt_ns > 0) {
        atomic_fetch_add(&hs_cloudhsm_net_calls, 1);
        atomic_fetch_add(&hs_cloudhsm_slept_us, (unsigned long long)(s->rtt_ns / 1000));
        hs_cloudhsm_sleep_until(arrive);
    }
}

/* A round trip with no work of the real module inside it (a throttled answer). */
static void hs_cloudhsm_round_trip(const struct hs_cloudhsm_shape *s)
{
    hs_cloudhsm_trip_end(s, hs_cloudhsm_trip_start(s));
}

/* --- the cluster's state ----------------------------------------------------------------------- */

/* Locks cl's buckets. A process that died holding a file's lock left it EOWNERDEAD: its update
 * may be half done, which a bucket survives (every take clamps it), so the lock is made
 * consistent and taken. false only when the lock is unusable (ENOTRECOVERABLE). */
static bool hs_cloudhsm_cluster_lock(struct hs_cloudhsm_cluster *cl)
{
    int rc = pthread_mutex_lock(&cl->lock);
    if (rc == EOWNERDEAD) {
        rc = pthread_mutex_consistent(&cl->lock);
        if (rc != 0) {
            pthread_mutex_unlock(&cl->lock);
        }
    }
    return rc == 0;
}

static double hs_cloudhsm_depth(const struct hs_cloudhsm_shape *s, enum hs_cloudhsm_family f)
{
    double depth = s->rate[f] * s->burst_ms / 1000.0;
    return depth < 1.0 ? 1.0 : depth;
}

/* Gives cl's buckets s's rates, each full. */
static void hs_cloudhsm_cluster_fill(struct hs_cloudhsm_cluster *cl,
                                     const struct hs_cloudhsm_shape *s)
{
    bool limited = false;
    bool locked = hs_cloudhsm_cluster_lock(cl);
    long long now = hs_cloudhsm_now_ns();
    for (size_t f = 0; f < HS_CLOUDHSM_FAMILY_COUNT; f++) {
        struct hs_cloudhsm_bucket *b = &cl->buckets[f];
        b->rate = f == HS_CLOUDHSM_FAMILY_NONE ? 0 : s->rate[f];
        b->depth = hs_cloudhsm_depth(s, (enum hs_cloudhsm_family)f);
        b->tokens = b->depth;
        b->last_ns = now;
        limited = limited || b->rate > 0;
    }
    atomic_store(&cl->limited, limited);
    if (locked) {
        pthread_mutex_unlock(&cl->lock);
    }
}

/* Whether cl's buckets have s's rates and depths (a process joining a cluster file). */
static bool hs_cloudhsm_cluster_matches(struct hs_cloudhsm_cluster *cl,
                                        const struct hs_cloudhsm_shape *s)
{
    if (!hs_cloudhsm_cluster_lock(cl)) {
        return false;
    }
    bool same = true;
    for (size_t f = 1; f < HS_CLOUDHSM_FAMILY_COUNT; f++) {
        const struct hs_cloudhsm_bucket *b = &cl->buckets[f];
        same = same && b->rate == s->rate[f] &&
               b->depth == hs_cloudhsm_depth(s, (enum hs_cloudhsm_family)f);
    }
    pthread_mutex_unlock(&cl->lock);
    return same;
}

/* Initialises a cluster's state for s: its lock (robust and process-shared when shared), full
 * buckets, no slot taken; a file's header last, so that a creator that dies half way leaves
 * a header of zeros, which the next one to map the file initialises again. */
static bool hs_cloudhsm_cluster_init(struct hs_cloudhsm_cluster *cl,
                                     const struct hs_cloudhsm_shape *s, bool shared)
{
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0) {
        return false;
    }
    bool ok = !shared || (pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) == 0 &&
                          pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) == 0);
    ok = ok && pthread_mutex_init(&cl->lock, &attr) == 0;
    pthread_mutexattr_destroy(&attr);
    if (!ok) {
        return false;
    }
    for (size_t i = 0; i < HS_CLOUDHSM_HSMS_MAX; i++) {
        atomic_init(&cl->busy[i], 0);
    }
    atomic_init(&cl->next_hsm, 0);
    atomic_init(&cl->limited, false);
    hs_cloudhsm_cluster_fill(cl, s);
    cl->version = HS_CLOUDHSM_CLUSTER_VERSION;
    cl->size = (uint32_t)sizeof(*cl);
    atomic_thread_fence(memory_order_release);
    cl->magic = HS_CLOUDHSM_CLUSTER_MAGIC;
    return true;
}

/* Maps the cluster file open on fd (flock held): a new (empty) file is sized and initialised
 * for s (*created), a file with a zero header is initialised again, a cluster file of this
 * layout is joined; anything else is refused (NULL, the reason on stderr). */
static struct hs_cloudhsm_cluster *hs_cloudhsm_cluster_map_locked(int fd, const char *path,
                                                                  const struct stat *st,
                                                                  const struct hs_cloudhsm_shape *s,
                                                                  bool *created)
{
    const size_t size = sizeof(struct hs_cloudhsm_cluster);
    if (!S_ISREG(st->st_mode) || st->st_uid != geteuid() || (st->st_mode & 077) != 0) {
        fprintf(stderr,
                "p11_cloudhsm: cluster %s: not a regular file of this user with mode 0600\n", path);
        return NULL;
    }
    if (st->st_size != 0 && st->st_size != (off_t)size) {
        fprintf(stderr, "p11_cloudhsm: cluster %s: %lld bytes, not a cluster file (%zu bytes)\n",
                path, (long long)st->st_size, size);
        return NULL;
    }
    if (st->st_size == 0 && ftruncate(fd, (off_t)size) != 0) {
        fprintf(stderr, "p11_cloudhsm: cluster %s: %s\n", path, strerror(errno));
        return NULL;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        fprintf(stderr, "p11_cloudhsm: cluster %s: mmap: %s\n", path, strerror(errno));
        return NULL;
    }
    struct hs_cloudhsm_cluster *cl = p;
    *created = cl->magic == 0 && cl->version == 0 && cl->size == 0;
    if (*created && hs_cloudhsm_cluster_init(cl, s, true)) {
        return cl;
    }
    if (!*created && cl->magic == HS_CLOUDHSM_CLUSTER_MAGIC &&
        cl->version == HS_CLOUDHSM_CLUSTER_VERSION && cl->size == (uint32_t)size) {
        return cl;
    }
    fprintf(stderr, "p11_cloudhsm: cluster %s: not a cluster file of this layout\n", path);
    munmap(p, size);
    return NULL;
}

/* The cluster file at path, mapped once per process (again if the file was replaced). Opening,
 * sizing and initialising run under flock(LOCK_EX) on the file, so that processes loading the
 * module at once initialise it once. NULL (the reason on stderr) when it cannot be used.
 * Called with hs_cloudhsm_apply_lock held. */
static struct hs_cloudhsm_cluster *hs_cloudhsm_cluster_attach(const struct hs_cloudhsm_shape *s,
                                                              bool *created)
{
    *created = false;
    int fd = open(s->cluster, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        fprintf(stderr, "p11_cloudhsm: cluster %s: %s\n", s->cluster, strerror(errno));
        return NULL;
    }
    struct hs_cloudhsm_cluster *cl = NULL;
    struct stat st;
    if (flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "p11_cloudhsm: cluster %s: %s\n", s->cluster, strerror(errno));
        close(fd);
        return NULL;
    }
    size_t free_map = HS_CLOUDHSM_MAPS_MAX;
    for (size_t i = 0; i < HS_CLOUDHSM_MAPS_MAX && cl == NULL; i++) {
        struct hs_cloudhsm_mapping *m = &hs_cloudhsm_maps[i];
        if (m->cl != NULL && strcmp(m->path, s->cluster) == 0 && m->dev == st.st_dev &&
            m->ino == st.st_ino) {
            cl = m->cl;
        }
        free_map = m->cl == NULL && free_map == HS_CLOUDHSM_MAPS_MAX ? i : free_map;
    }
    if (cl == NULL && free_map == HS_CLOUDHSM_MAPS_MAX) {
        fprintf(stderr, "p11_cloudhsm: more than %d cluster files in one process\n",
                HS_CLOUDHSM_MAPS_MAX);
    } else if (cl == NULL) {
        cl = hs_cloudhsm_cluster_map_locked(fd, s->cluster, &st, s, created);
        if (cl != NULL) {
            struct hs_cloudhsm_mapping *m = &hs_cloudhsm_maps[free_map];
            memcpy(m->path, s->cluster, sizeof(m->path));
            m->dev = st.st_dev;
            m->ino = st.st_ino;
            m->cl = cl;
        }
    }
    /* Unlocked by hand: the mapping holds the open file, so close() alone would keep the lock
     * (flock belongs to the open file description) and wedge every other process. */
    (void)flock(fd, LOCK_UN);
    close(fd);
    return cl;
}

/* Installs s (parsed): its cluster is the process's own, or the file it names, mapped. A new
 * cluster file starts with s's buckets; one the process joins at load must have s's rates
 * and depths; a configure gives any cluster s's rates, each bucket full. Called with
 * hs_cloudhsm_apply_lock held; false (and nothing changed) when the cluster is refused. */
static bool hs_cloudhsm_apply_locked(struct hs_cloudhsm_shape *s, bool at_load)
{
    bool created = false;
    s->cl = s->cluster[0] == '\0' ? &hs_cloudhsm_local : hs_cloudhsm_cluster_attach(s, &created);
    if (s->cl == NULL) {
        return false;
    }
    if (at_load && s->cl != &hs_cloudhsm_local && !created) {
        if (!hs_cloudhsm_cluster_matches(s->cl, s)) {
            fprintf(stderr,
                    "p11_cloudhsm: cluster %s: its rates or burst differ from this shape's\n",
                    s->cluster);
            return false;
        }
    } else if (!created) {
        hs_cloudhsm_cluster_fill(s->cl, s);
    }
    pthread_mutex_lock(&hs_cloudhsm_lock);
    hs_cloudhsm_shape = *s;
    pthread_mutex_unlock(&hs_cloudhsm_lock);
    atomic_store(&hs_cloudhsm_net_calls, 0);
    atomic_store(&hs_cloudhsm_signs, 0);
    atomic_store(&hs_cloudhsm_throttled_rate, 0);
    atomic_store(&hs_cloudhsm_throttled_busy, 0);
    atomic_store(&hs_cloudhsm_in_flight_max, atomic_load(&hs_cloudhsm_in_flight));
    atomic_store(&hs_cloudhsm_slept_us, 0);
    return true;
}

/* Installs the shape of spec (at_load: from $HSMSIGN_CLOUDHSM_SHAPE), resets the counters;
 * false (and nothing changed) when the spec or its cluster file is bad. */
static bool hs_cloudhsm_apply(const char *spec, bool at_load)
{
    struct hs_cloudhsm_shape s;
    if (!hs_cloudhsm_parse(spec, &s)) {
        return false;
    }
    pthread_mutex_lock(&hs_cloudhsm_apply_lock);
    bool ok = hs_cloudhsm_apply_locked(&s, at_load);
    pthread_mutex_unlock(&hs_cloudhsm_apply_lock);
    return ok;
}

/* --- the cluster's capacity -------------------------------------------------------------------- */

/* Takes one signature from family f's bucket in the shape's cluster; true when it had one (or
 * f is not limited). The clock is read under the lock, so that the processes sharing a bucket
 * refill it in order; a last refill in the future (a file from before a reboot) restarts it. */
static bool hs_cloudhsm_bucket_take(const struct hs_cloudhsm_shape *s, enum hs_cloudhsm_family f)
{
    if (f == HS_CLOUDHSM_FAMILY_NONE) {
        return true;
    }
    struct hs_cloudhsm_bucket *b = &s->cl->buckets[f];
    if (!hs_cloudhsm_cluster_lock(s->cl)) {
        return false; /* fail closed: throttled */
    }
    bool ok = true;
    if (b->rate > 0) {
        long long now = hs_cloudhsm_now_ns();
        b->last_ns = b->last_ns > now ? now : b->last_ns;
        b->tokens += (double)(now - b->last_ns) * b->rate / (double)HS_CLOUDHSM_NS;
        b->tokens = b->tokens > b->depth ? b->depth : b->tokens;
        b->tokens = b->tokens >= 0 ? b->tokens : 0; /* NaN too */
        b->last_ns = now;
        ok = b->tokens >= 1.0;
        b->tokens -= ok ? 1.0 : 0.0;
    }
    pthread_mutex_unlock(&s->cl->lock);
    return ok;
}

/* A slot on the least busy HSM of the shape's cluster, whose index goes to *out; false when
 * every slot is taken. */
static bool hs_cloudhsm_slot_take(const struct hs_cloudhsm_shape *s, unsigned *out)
{
    atomic_uint *busy_of = s->cl->busy;
    unsigned start = atomic_fetch_add(&s->cl->next_hsm, 1);
    for (unsigned tries = 0; tries < 4; tries++) {
        unsigned best = 0;
        unsigned best_busy = UINT32_MAX;
        for (unsigned i = 0; i < s->hsms; i++) {
            unsigned h = (start + i) % s->hsms;
            unsigned busy = atomic_load(&busy_of[h]);
            if (busy < best_busy) {
                best = h;
                best_busy = busy;
            }
        }
        if (best_busy >= s->slots) {
            return false;
        }
        if (atomic_compare_exchange_strong(&busy_of[best], &best_busy, best_busy + 1)) {
            unsigned long n = atomic_fetch_add(&hs_cloudhsm_in_flight, 1) + 1;
            unsigned long max = atomic_load(&hs_cloudhsm_in_flight_max);
            while (n > max && !atomic_compare_exchange_weak(&hs_cloudhsm_in_flight_max, &max, n)) {
            }
            *out = best;
            return true;
        }
    }
    /* Lost every race: as busy as full. */
    return false;
}

/* Gives back the slot taken on cl (the cluster of the shape the C_Sign started with). */
static void hs_cloudhsm_slot_put(struct hs_cloudhsm_cluster *cl, unsigned hsm)
{
    atomic_fetch_sub(&cl->busy[hsm], 1);
    atomic_fetch_sub(&hs_cloudhsm_in_flight, 1);
}

/* --- sessions and keys ------------------------------------------------------------------------- */

static atomic_uint_fast64_t *hs_cloudhsm_session_slot(CK_SESSION_HANDLE h)
{
    return &hs_cloudhsm_sessions[h & (HS_CLOUDHSM_SESSIONS - 1)];
}

static uint64_t hs_cloudhsm_session_value(CK_SESSION_HANDLE h, enum hs_cloudhsm_family f,
                                          unsigned bits)
{
    return ((uint64_t)h << 8) | ((uint64_t)f << 2) | bits;
}

static bool hs_cloudhsm_session_foreign_deferred(uint64_t v, CK_SESSION_HANDLE h)
{
    return v != 0 && (v >> 8) != (uint64_t)h && (v & HS_CLOUDHSM_SESSION_DEFERRED) != 0;
}

/* Records session h's state. An entry holding another session's deferred C_SignInit is left
 * alone (that session's C_Sign reads it): h's signature then goes unrecorded, as a collision
 * in the table always made it. */
static void hs_cloudhsm_session_set(CK_SESSION_HANDLE h, enum hs_cloudhsm_family f, bool pending)
{
    atomic_uint_fast64_t *e = hs_cloudhsm_session_slot(h);
    uint64_t v = atomic_load(e);
    uint64_t want = hs_cloudhsm_session_value(h, f, pending ? HS_CLOUDHSM_SESSION_PENDING : 0U);
    while (!hs_cloudhsm_session_foreign_deferred(v, h) &&
           !atomic_compare_exchange_weak(e, &v, want)) {
    }
}

/* Claims session h's entry for a deferred C_SignInit of key family f and returns its operation
 * record to fill, or NULL when another session's deferred operation holds the entry. */
static struct hs_cloudhsm_deferred *hs_cloudhsm_session_defer(CK_SESSION_HANDLE h,
                                                              enum hs_cloudhsm_family f)
{
    atomic_uint_fast64_t *e = hs_cloudhsm_session_slot(h);
    uint64_t v = atomic_load(e);
    uint64_t want = hs_cloudhsm_session_value(h, f, HS_CLOUDHSM_SESSION_DEFERRED);
    do {
        if (hs_cloudhsm_session_foreign_deferred(v, h)) {
            return NULL;
        }
    } while (!atomic_compare_exchange_weak(e, &v, want));
    return &hs_cloudhsm_deferred_ops[h & (HS_CLOUDHSM_SESSIONS - 1)];
}

/* The family C_SignInit found for session h, whether its signature was throttled, and its
 * deferred operation (NULL when the real module's C_SignInit was made). */
static enum hs_cloudhsm_family hs_cloudhsm_session_get(CK_SESSION_HANDLE h, bool *pending,
                                                       const struct hs_cloudhsm_deferred **op)
{
    uint64_t v = atomic_load(hs_cloudhsm_session_slot(h));
    *pending = false;
    *op = NULL;
    if ((v >> 8) != (uint64_t)h || v == 0) {
        return HS_CLOUDHSM_FAMILY_NONE;
    }
    *pending = (v & HS_CLOUDHSM_SESSION_PENDING) != 0;
    if ((v & HS_CLOUDHSM_SESSION_DEFERRED) != 0) {
        *op = &hs_cloudhsm_deferred_ops[h & (HS_CLOUDHSM_SESSIONS - 1)];
    }
    return (enum hs_cloudhsm_family)((v >> 2) & 0x3f);
}

static void hs_cloudhsm_session_clear(CK_SESSION_HANDLE h)
{
    uint64_t v = atomic_load(hs_cloudhsm_session_slot(h));
    if ((v >> 8) == (uint64_t)h) {
        atomic_compare_exchange_strong(hs_cloudhsm_session_slot(h), &v, 0);
    }
}

static bool hs_cloudhsm_bytes_eq(const CK_ATTRIBUTE *a, const unsigned char *p, size_t n)
{
    return a->ulValueLen == n && memcmp(a->pValue, p, n) == 0;
}

/* Reads key's family from the real module (no round trip: this is the model's bookkeeping). */
static enum hs_cloudhsm_family hs_cloudhsm_key_type(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key)
{
    CK_KEY_TYPE type = 0;
    CK_ATTRIBUTE t = {CKA_KEY_TYPE, &type, sizeof(type)};
    if (hs_cloudhsm_real->C_GetAttributeValue(h, key, &t, 1) != CKR_OK) {
        return HS_CLOUDHSM_FAMILY_NONE;
    }
    if (type == CKK_EC_EDWARDS) {
        return HS_CLOUDHSM_FAMILY_ED25519;
    }
    unsigned char buf[HS_CLOUDHSM_ATTR_MAX];
    CK_ATTRIBUTE a = {type == CKK_RSA ? CKA_MODULUS : CKA_EC_PARAMS, buf, sizeof(buf)};
    if ((type != CKK_RSA && type != CKK_EC) ||
        hs_cloudhsm_real->C_GetAttributeValue(h, key, &a, 1) != CKR_OK) {
        return HS_CLOUDHSM_FAMILY_NONE;
    }
    if (type == CKK_RSA) {
        return a.ulValueLen == 256   ? HS_CLOUDHSM_FAMILY_RSA2048
               : a.ulValueLen == 384 ? HS_CLOUDHSM_FAMILY_RSA3072
               : a.ulValueLen == 512 ? HS_CLOUDHSM_FAMILY_RSA4096
                                     : HS_CLOUDHSM_FAMILY_NONE;
    }
    return hs_cloudhsm_bytes_eq(&a, hs_cloudhsm_oid_p256, sizeof(hs_cloudhsm_oid_p256))
               ? HS_CLOUDHSM_FAMILY_P256
           : hs_cloudhsm_bytes_eq(&a, hs_cloudhsm_oid_p384, sizeof(hs_cloudhsm_oid_p384))
               ? HS_CLOUDHSM_FAMILY_P384
           : hs_cloudhsm_bytes_eq(&a, hs_cloudhsm_oid_p521, sizeof(hs_cloudhsm_oid_p521))
               ? HS_CLOUDHSM_FAMILY_P521
               : HS_CLOUDHSM_FAMILY_NONE;
}

/* The cache entry of key: its family, and HS_CLOUDHSM_KEY_SIGNABLE when it is a private key
 * with CKA_SIGN=TRUE (a public key has no CKA_SIGN: the read fails). */
static uint64_t hs_cloudhsm_key_lookup(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key)
{
    enum hs_cloudhsm_family f = hs_cloudhsm_key_type(h, key);
    CK_BBOOL sign = CK_FALSE;
    CK_ATTRIBUTE a = {CKA_SIGN, &sign, sizeof(sign)};
    bool signable = f != HS_CLOUDHSM_FAMILY_NONE &&
                    hs_cloudhsm_real->C_GetAttributeValue(h, key, &a, 1) == CKR_OK &&
                    sign == CK_TRUE;
    return ((uint64_t)key << 8) | (uint64_t)f | (signable ? HS_CLOUDHSM_KEY_SIGNABLE : 0U);
}

/* The family of key, from the cache or looked up once; *signable: see hs_cloudhsm_key_lookup. */
static enum hs_cloudhsm_family hs_cloudhsm_key_family(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key,
                                                      bool *signable)
{
    atomic_uint_fast64_t *e = &hs_cloudhsm_keys[key % HS_CLOUDHSM_KEYS];
    uint64_t v = atomic_load(e);
    if (v == 0 || (v >> 8) != (uint64_t)key) {
        v = hs_cloudhsm_key_lookup(h, key);
        atomic_store(e, v);
    }
    *signable = (v & HS_CLOUDHSM_KEY_SIGNABLE) != 0;
    return (enum hs_cloudhsm_family)(v & 0x7f);
}

static void hs_cloudhsm_key_forget(CK_OBJECT_HANDLE key)
{
    atomic_uint_fast64_t *e = &hs_cloudhsm_keys[key % HS_CLOUDHSM_KEYS];
    uint64_t v = atomic_load(e);
    if ((v >> 8) == (uint64_t)key) {
        atomic_compare_exchange_strong(e, &v, 0);
    }
}

/* The signing mechanisms whose C_SignInit can wait for C_Sign, and the key families each
 * takes: RSA PKCS #1 v1.5 and PSS (CK_RSA_PKCS_PSS_PARAMS holds no pointer), ECDSA without or
 * with hashing, EdDSA without CK_EDDSA_PARAMS (PKCS#11 v3.0 §2.3.14; its context data is a
 * pointer). */
enum hs_cloudhsm_mech_kind {
    HS_CLOUDHSM_MECH_RSA,
    HS_CLOUDHSM_MECH_RSA_PSS,
    HS_CLOUDHSM_MECH_EC,
    HS_CLOUDHSM_MECH_ED
};

static const struct {
    CK_MECHANISM_TYPE mech;
    enum hs_cloudhsm_mech_kind kind;
} hs_cloudhsm_sign_mechs[] = {
    {CKM_RSA_PKCS, HS_CLOUDHSM_MECH_RSA},
    {CKM_SHA1_RSA_PKCS, HS_CLOUDHSM_MECH_RSA},
    {CKM_SHA224_RSA_PKCS, HS_CLOUDHSM_MECH_RSA},
    {CKM_SHA256_RSA_PKCS, HS_CLOUDHSM_MECH_RSA},
    {CKM_SHA384_RSA_PKCS, HS_CLOUDHSM_MECH_RSA},
    {CKM_SHA512_RSA_PKCS, HS_CLOUDHSM_MECH_RSA},
    {CKM_RSA_PKCS_PSS, HS_CLOUDHSM_MECH_RSA_PSS},
    {CKM_SHA1_RSA_PKCS_PSS, HS_CLOUDHSM_MECH_RSA_PSS},
    {CKM_SHA224_RSA_PKCS_PSS, HS_CLOUDHSM_MECH_RSA_PSS},
    {CKM_SHA256_RSA_PKCS_PSS, HS_CLOUDHSM_MECH_RSA_PSS},
    {CKM_SHA384_RSA_PKCS_PSS, HS_CLOUDHSM_MECH_RSA_PSS},
    {CKM_SHA512_RSA_PKCS_PSS, HS_CLOUDHSM_MECH_RSA_PSS},
    {CKM_ECDSA, HS_CLOUDHSM_MECH_EC},
    {CKM_ECDSA_SHA1, HS_CLOUDHSM_MECH_EC},
    {CKM_ECDSA_SHA224, HS_CLOUDHSM_MECH_EC},
    {CKM_ECDSA_SHA256, HS_CLOUDHSM_MECH_EC},
    {CKM_ECDSA_SHA384, HS_CLOUDHSM_MECH_EC},
    {CKM_ECDSA_SHA512, HS_CLOUDHSM_MECH_EC},
    {CKM_EDDSA, HS_CLOUDHSM_MECH_ED},
};
#define HS_CLOUDHSM_SIGN_MECHS (sizeof(hs_cloudhsm_sign_mechs) / sizeof(hs_cloudhsm_sign_mechs[0]))

/* Per entry of hs_cloudhsm_sign_mechs: 0 not asked yet, 1 the real module signs with it
 * (C_GetMechanismInfo, CKF_SIGN), -1 it does not. Asked once per process, on the first
 * session's slot: the module fronts one SoftHSM2, whose slots share a mechanism list. */
static atomic_int hs_cloudhsm_mech_signs[HS_CLOUDHSM_SIGN_MECHS];

static bool hs_cloudhsm_mech_supported(CK_SESSION_HANDLE h, size_t i)
{
    int known = atomic_load(&hs_cloudhsm_mech_signs[i]);
    if (known == 0) {
        CK_SESSION_INFO si;
        CK_MECHANISM_INFO mi;
        bool signs = hs_cloudhsm_real->C_GetSessionInfo(h, &si) == CKR_OK &&
                     hs_cloudhsm_real->C_GetMechanismInfo(si.slotID, hs_cloudhsm_sign_mechs[i].mech,
                                                          &mi) == CKR_OK &&
                     (mi.flags & CKF_SIGN) != 0;
        known = signs ? 1 : -1;
        atomic_store(&hs_cloudhsm_mech_signs[i], known);
    }
    return known == 1;
}

/* Whether session h's C_SignInit of mech with a key of family f can wait for C_Sign: a
 * mechanism of hs_cloudhsm_sign_mechs that takes family f, with the parameter it needs, and
 * that the real module signs with (so that its refusals still come from C_SignInit). */
static bool hs_cloudhsm_mech_deferrable(CK_SESSION_HANDLE h, const CK_MECHANISM *mech,
                                        enum hs_cloudhsm_family f)
{
    bool no_param = mech->pParameter == NULL && mech->ulParameterLen == 0;
    bool rsa = f >= HS_CLOUDHSM_FAMILY_RSA2048 && f <= HS_CLOUDHSM_FAMILY_RSA4096;
    for (size_t i = 0; i < HS_CLOUDHSM_SIGN_MECHS; i++) {
        if (hs_cloudhsm_sign_mechs[i].mech != mech->mechanism) {
            continue;
        }
        bool fits = false;
        switch (hs_cloudhsm_sign_mechs[i].kind) {
        case HS_CLOUDHSM_MECH_RSA:
            fits = no_param && rsa;
            break;
        case HS_CLOUDHSM_MECH_RSA_PSS:
            fits = mech->pParameter != NULL &&
                   mech->ulParameterLen == sizeof(CK_RSA_PKCS_PSS_PARAMS) && rsa;
            break;
        case HS_CLOUDHSM_MECH_EC:
            fits = no_param && f >= HS_CLOUDHSM_FAMILY_P256 && f <= HS_CLOUDHSM_FAMILY_P521;
            break;
        case HS_CLOUDHSM_MECH_ED:
            fits = no_param && f == HS_CLOUDHSM_FAMILY_ED25519;
            break;
        }
        return fits && hs_cloudhsm_mech_supported(h, i);
    }
    return false;
}

/* --- the wrapped functions --------------------------------------------------------------------- */

static CK_RV hs_cloudhsm_login(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin,
                               CK_ULONG pin_len)
{
    struct hs_cloudhsm_shape s = hs_cloudhsm_shape_get();
    long long arrive = hs_cloudhsm_trip_start(&s);
    CK_RV rv = hs_cloudhsm_real->C_Login(h, user, pin, pin_len);
    hs_cloudhsm_trip_end(&s, arrive);
    return rv;
}

static CK_RV hs_cloudhsm_logout(CK_SESSION_HANDLE h)
{
    struct hs_cloudhsm_shape s = hs_cloudhsm_shape_get();
    long long arrive = hs_cloudhsm_trip_start(&s);
    CK_RV rv = hs_cloudhsm_real->C_Logout(h);
    hs_cloudhsm_trip_end(&s, arrive);
    return rv;
}

static CK_RV hs_cloudhsm_find_objects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR out, CK_ULONG max,
                                      CK_ULONG_PTR out_count)
{
    struct hs_cloudhsm_shape s = hs_cloudhsm_shape_get();
    long long arrive = hs_cloudhsm_trip_start(&s);
    CK_RV rv = hs_cloudhsm_real->C_FindObjects(h, out, max, out_count);
    hs_cloudhsm_trip_end(&s, arrive);
    return rv;
}

static CK_RV hs_cloudhsm_get_attribute_value(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
                                             CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
    struct hs_cloudhsm_shape s = hs_cloudhsm_shape_get();
    long long arrive = hs_cloudhsm_trip_start(&s);
    CK_RV rv = hs_cloudhsm_real->C_GetAttributeValue(h, obj, tmpl, n);
    hs_cloudhsm_trip_end(&s, arrive);
    return rv;
}

static CK_RV hs_cloudhsm_generate_key_pair(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
                                           CK_ATTRIBUTE_PTR pub, CK_ULONG npub,
                                           CK_ATTRIBUTE_PTR priv, CK_ULONG npriv,
                                           CK_OBJECT_HANDLE_PTR out_pub,
                                           CK_OBJECT_HANDLE_PTR out_priv)
{
    struct hs_cloudhsm_shape s = hs_cloudhsm_shape_get();
    long long arrive = hs_cloudhsm_trip_start(&s);
    CK_RV rv =
        hs_cloudhsm_real->C_GenerateKeyPair(h, mech, pub, npub, priv, npriv, out_pub, out_priv);
    hs_cloudhsm_trip_end(&s, arrive);
    return rv;
}

static CK_RV hs_cloudhsm_destroy_object(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj)
{
    struct hs_cloudhsm_shape s = hs_cloudhsm_shape_get();
    long long arrive = hs_cloudhsm_trip_start(&s);
    CK_RV rv = hs_cloudhsm_real->C_DestroyObject(h, obj);
    hs_cloudhsm_trip_end(&s, arrive);
    if (rv == CKR_OK) {
        hs_cloudhsm_key_forget(obj);
    }
    return rv;
}

/* Client state only, as SDK 5's C_SignInit: finds the key's family and takes the signature's
 * token. A throttled signature never reaches the real module: C_Sign answers for it. A
 * signature on a known signing key with a mechanism of its family keeps the key and mechanism
 * for C_Sign, which makes the real C_SignInit inside its round trip (the HSM's work: SoftHSM2
 * loads the key there); any other gets the real C_SignInit at once, and its error. */
static CK_RV hs_cloudhsm_sign_init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)
{
    struct hs_cloudhsm_shape s = hs_cloudhsm_shape_get();
    bool pending = false;
    const struct hs_cloudhsm_deferred *active = NULL;
    (void)hs_cloudhsm_session_get(h, &pending, &active);
    if (active != NULL) {
        return CKR_OPERATION_ACTIVE; /* what the real module says of a second C_SignInit */
    }
    bool signable = false;
    enum hs_cloudhsm_family f = HS_CLOUDHSM_FAMILY_NONE;
    /* A new C_SignInit replaces a throttled one. */
    if (mech != NULL) {
        f = hs_cloudhsm_key_family(h, key, &signable);
    }
    if (!hs_cloudhsm_bucket_take(&s, f)) {
        hs_cloudhsm_session_set(h, f, true);
        return CKR_OK;
    }
    if (signable && hs_cloudhsm_mech_deferrable(h, mech, f)) {
        struct hs_cloudhsm_deferred *op = hs_cloudhsm_session_defer(h, f);
        if (op != NULL) {
            op->mech = mech->mechanism;
            op->key = key;
            op->param_len = mech->ulParameterLen;
            if (op->param_len > 0) {
                memcpy(op->param, mech->pParameter, op->param_len);
            }
            return CKR_OK;
        }
    }
    CK_RV rv = hs_cloudhsm_real->C_SignInit(h, mech, key);
    if (rv == CKR_OK) {
        hs_cloudhsm_session_set(h, f, false);
    }
    return rv;
}

/* The real C_SignInit of session h's deferred operation op. */
static CK_RV hs_cloudhsm_real_sign_init(CK_SESSION_HANDLE h, const struct hs_cloudhsm_deferred *op)
{
    CK_MECHANISM m = {op->mech, op->param_len > 0 ? (void *)op->param : NULL, op->param_len};
    return hs_cloudhsm_real->C_SignInit(h, &m, op->key);
}

/* A throttled C_Sign ends the signing operation (PKCS#11 v2.40 §5.12), but the real one is
 * still active: complete it into a scratch buffer and wipe the result. */
static void hs_cloudhsm_end_sign(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG len)
{
    unsigned char scratch[HS_CLOUDHSM_SIG_MAX];
    CK_ULONG n = 0;
    if (hs_cloudhsm_real->C_Sign(h, data, len, NULL, &n) != CKR_OK || n > sizeof(scratch)) {
        return;
    }
    (void)hs_cloudhsm_real->C_Sign(h, data, len, scratch, &n);
    explicit_bzero(scratch, sizeof(scratch));
}

/* The signature of session h, on an HSM slot for one round trip: the real C_SignInit first
 * when it was deferred (op), then the real C_Sign. */
static CK_RV hs_cloudhsm_sign_trip(const struct hs_cloudhsm_shape *s, CK_SESSION_HANDLE h,
                                   const struct hs_cloudhsm_deferred *op, CK_BYTE_PTR data,
                                   CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
    long long arrive = hs_cloudhsm_trip_start(s);
    CK_RV rv = op != NULL ? hs_cloudhsm_real_sign_init(h, op) : CKR_OK;
    if (rv == CKR_OK) {
        rv = hs_cloudhsm_real->C_Sign(h, data, len, sig, sig_len);
    }
    hs_cloudhsm_trip_end(s, arrive);
    return rv;
}

static CK_RV hs_cloudhsm_sign(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
                              CK_ULONG_PTR sig_len)
{
    bool pending = false;
    const struct hs_cloudhsm_deferred *op = NULL;
    enum hs_cloudhsm_family f = hs_cloudhsm_session_get(h, &pending, &op);
    if ((pending || op != NULL) && sig_len == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    CK_ULONG need = hs_cloudhsm_families[f].sig_len;
    if ((pending || op != NULL) && sig == NULL) {
        /* The size query: answered in the client. */
        *sig_len = need;
        return CKR_OK;
    }
    if (op != NULL && *sig_len < need) {
        *sig_len = need; /* the operation stays active (PKCS#11 v2.40 §5.2) */
        return CKR_BUFFER_TOO_SMALL;
    }
    if (sig == NULL) {
        return hs_cloudhsm_real->C_Sign(h, data, len, sig, sig_len);
    }
    struct hs_cloudhsm_shape s = hs_cloudhsm_shape_get();
    if (pending) {
        hs_cloudhsm_round_trip(&s);
        hs_cloudhsm_session_clear(h);
        atomic_fetch_add(&hs_cloudhsm_throttled_rate, 1);
        return s.throttle_rv;
    }
    unsigned hsm = 0;
    if (!hs_cloudhsm_slot_take(&s, &hsm)) {
        long long arrive = hs_cloudhsm_trip_start(&s);
        if (op == NULL) {
            hs_cloudhsm_end_sign(h, data, len);
        }
        hs_cloudhsm_trip_end(&s, arrive);
        hs_cloudhsm_session_clear(h);
        atomic_fetch_add(&hs_cloudhsm_throttled_busy, 1);
        return s.throttle_rv;
    }
    CK_RV rv = hs_cloudhsm_sign_trip(&s, h, op, data, len, sig, sig_len);
    hs_cloudhsm_slot_put(s.cl, hsm);
    if (rv != CKR_BUFFER_TOO_SMALL) {
        hs_cloudhsm_session_clear(h);
    } else if (op != NULL) {
        /* Not after the size check above, but should the real module disagree: its operation
         * is active now, and the session's next C_Sign goes to it. */
        hs_cloudhsm_session_set(h, f, false);
    }
    if (rv == CKR_OK) {
        atomic_fetch_add(&hs_cloudhsm_signs, 1);
    }
    return rv;
}

/* Multi-part signing (which SDK 5 does not offer) after a deferred C_SignInit: the real
 * C_SignInit is made first, without a round trip, and the session's operation is the real
 * module's from then on. */
static CK_RV hs_cloudhsm_materialise(CK_SESSION_HANDLE h)
{
    bool pending = false;
    const struct hs_cloudhsm_deferred *op = NULL;
    enum hs_cloudhsm_family f = hs_cloudhsm_session_get(h, &pending, &op);
    if (op == NULL) {
        return CKR_OK;
    }
    CK_RV rv = hs_cloudhsm_real_sign_init(h, op);
    hs_cloudhsm_session_clear(h);
    if (rv == CKR_OK) {
        hs_cloudhsm_session_set(h, f, false);
    }
    return rv;
}

static CK_RV hs_cloudhsm_sign_update(CK_SESSION_HANDLE h, CK_BYTE_PTR part, CK_ULONG len)
{
    CK_RV rv = hs_cloudhsm_materialise(h);
    return rv == CKR_OK ? hs_cloudhsm_real->C_SignUpdate(h, part, len) : rv;
}

static CK_RV hs_cloudhsm_sign_final(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
    CK_RV rv = hs_cloudhsm_materialise(h);
    return rv == CKR_OK ? hs_cloudhsm_real->C_SignFinal(h, sig, sig_len) : rv;
}

static CK_RV hs_cloudhsm_close_session(CK_SESSION_HANDLE h)
{
    hs_cloudhsm_session_clear(h);
    return hs_cloudhsm_real->C_CloseSession(h);
}

/* --- loading ----------------------------------------------------------------------------------- */

/* Runs once: applies $HSMSIGN_CLOUDHSM_SHAPE, loads the real module, builds the function list. */
static void hs_cloudhsm_load(void)
{
    if (!hs_cloudhsm_cluster_init(&hs_cloudhsm_local, &hs_cloudhsm_shape, false)) {
        fprintf(stderr, "p11_cloudhsm: cannot initialise a mutex\n");
        return;
    }
    if (!hs_cloudhsm_apply(getenv(HS_CLOUDHSM_SHAPE_ENV), true)) {
        fprintf(stderr, "p11_cloudhsm: $%s refused (a bad shape or cluster file)\n",
                HS_CLOUDHSM_SHAPE_ENV);
        hs_cloudhsm_load_rv = CKR_ARGUMENTS_BAD;
        return;
    }
    const char *path = getenv(HS_CLOUDHSM_MODULE_ENV);
    if (path == NULL || path[0] == '\0') {
        path = HS_CLOUDHSM_DEFAULT_MODULE;
    }
    hs_cloudhsm_dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (hs_cloudhsm_dl == NULL) {
        fprintf(stderr, "p11_cloudhsm: cannot load %s: %s\n", path, dlerror());
        return;
    }
    CK_C_GetFunctionList get_list = NULL;
    /* POSIX: the object pointer returned by dlsym converts to a function pointer. */
    *(void **)(&get_list) = dlsym(hs_cloudhsm_dl, "C_GetFunctionList");
    CK_FUNCTION_LIST *real = NULL;
    /* Our own C_GetFunctionList (the module pointed at itself) would recurse. */
    if (get_list == NULL || get_list == C_GetFunctionList || get_list(&real) != CKR_OK ||
        real == NULL) {
        fprintf(stderr, "p11_cloudhsm: %s has no usable C_GetFunctionList\n", path);
        return;
    }
    hs_cloudhsm_real = real;
    hs_cloudhsm_list = *real;
    hs_cloudhsm_list.C_Login = hs_cloudhsm_login;
    hs_cloudhsm_list.C_Logout = hs_cloudhsm_logout;
    hs_cloudhsm_list.C_FindObjects = hs_cloudhsm_find_objects;
    hs_cloudhsm_list.C_GetAttributeValue = hs_cloudhsm_get_attribute_value;
    hs_cloudhsm_list.C_GenerateKeyPair = hs_cloudhsm_generate_key_pair;
    hs_cloudhsm_list.C_DestroyObject = hs_cloudhsm_destroy_object;
    hs_cloudhsm_list.C_SignInit = hs_cloudhsm_sign_init;
    hs_cloudhsm_list.C_Sign = hs_cloudhsm_sign;
    hs_cloudhsm_list.C_SignUpdate = hs_cloudhsm_sign_update;
    hs_cloudhsm_list.C_SignFinal = hs_cloudhsm_sign_final;
    hs_cloudhsm_list.C_CloseSession = hs_cloudhsm_close_session;
    hs_cloudhsm_load_rv = CKR_OK;
}

/* Unloads the real module with this one (after the caller's C_Finalize). */
__attribute__((destructor)) static void hs_cloudhsm_unload(void)
{
    if (hs_cloudhsm_dl != NULL) {
        dlclose(hs_cloudhsm_dl);
        hs_cloudhsm_dl = NULL;
    }
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
    if (out == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    pthread_once(&hs_cloudhsm_once, hs_cloudhsm_load);
    if (hs_cloudhsm_load_rv != CKR_OK) {
        return hs_cloudhsm_load_rv;
    }
    *out = &hs_cloudhsm_list;
    return CKR_OK;
}

/* --- control ----------------------------------------------------------------------------------- */

int hs_cloudhsm_configure(const char *spec)
{
    pthread_once(&hs_cloudhsm_once, hs_cloudhsm_load);
    return hs_cloudhsm_apply(spec, false) ? 0 : -1;
}

void hs_cloudhsm_get_stats(struct hs_cloudhsm_stats *out)
{
    if (out == NULL) {
        return;
    }
    out->net_calls = atomic_load(&hs_cloudhsm_net_calls);
    out->signs = atomic_load(&hs_cloudhsm_signs);
    out->throttled_rate = atomic_load(&hs_cloudhsm_throttled_rate);
    out->throttled_busy = atomic_load(&hs_cloudhsm_throttled_busy);
    out->in_flight_max = atomic_load(&hs_cloudhsm_in_flight_max);
    out->slept_us = atomic_load(&hs_cloudhsm_slept_us);
}
