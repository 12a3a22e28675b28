/*
 * p11_cloudhsm: a Cryptoki module shaped like an AWS CloudHSM cluster, for benchmarks and tests
 * (libhs_p11_cloudhsm.so, CMake target hs_p11_cloudhsm; tests find its path in
 * $HSMSIGN_CLOUDHSM_LIB). Test code only; never load it in a production hsmsignd.
 *
 * The module exports C_GetFunctionList. The first call dlopens the real module named by
 * $HSMSIGN_CLOUDHSM_MODULE (default /usr/lib/softhsm/libsofthsm2.so), copies its
 * CK_FUNCTION_LIST and wraps the calls that the CloudHSM Client SDK 5 PKCS#11 library sends to
 * an HSM. Every other function (C_Initialize, C_GetInfo, C_GetSlotList, C_GetTokenInfo,
 * C_OpenSession, C_CloseSession, C_GetMechanismList, ...) is the real module's own: the SDK
 * answers those in the client. Every key and signature is SoftHSM2's, so a signature verifies
 * as before; only the time and the answers under load change.
 *
 * The shape comes from $HSMSIGN_CLOUDHSM_SHAPE, read on that first call (a bad shape makes
 * C_GetFunctionList fail with CKR_ARGUMENTS_BAD), and is replaced at run time with
 * hs_cloudhsm_configure(). Grammar (parsed by p11_cloudhsm_shape.c, fuzzed by
 * tests/fuzz/cloudhsm_shape_fuzz.c): comma-separated KEY=VALUE items, each at most once; an
 * empty shape is a plain pass-through. A decimal is digits with at most one '.' between digits
 * (no sign, exponent or hexadecimal).
 *
 *   rtt_ms=X        round trip in milliseconds (decimal, 0 to 1000; default 0) of every wrapped
 *                   call, the HSM's work included: the real module's call runs inside it, and
 *                   the calling thread then sleeps (clock_nanosleep, never spins, with its
 *                   timer slack at 1 ns meanwhile) until the round trip is over, so a call
 *                   lasts max(rtt, the real module's time)
 *   hsms=N          HSMs in the cluster (1 to 28, CloudHSM's cluster maximum; default 2)
 *   slots=N         concurrent C_Sign operations one HSM accepts (1 to 4096; default 64); a
 *                   C_Sign that finds every HSM's slots taken is throttled
 *   rate.FAMILY=R   the cluster's signatures per second for a key family (1 to 1000000; absent:
 *                   no limit), FAMILY one of rsa2048 rsa3072 rsa4096 p256 p384 p521 ed25519
 *   burst_ms=X      depth of each family's token bucket, in milliseconds of its rate (decimal,
 *                   0 to 10000; default 10; at least one signature)
 *   throttle=CKR    what a throttled C_Sign returns: CKR_FUNCTION_FAILED (default: what the
 *                   SDK 5 PKCS#11 library maps an HSM's "busy" answer to), CKR_OPERATION_ACTIVE
 *                   or CKR_DEVICE_ERROR
 *   cluster=PATH    the cluster is shared by every process whose shape names PATH (absolute,
 *                   printable ASCII without spaces, at most HS_CLOUDHSM_CLUSTER_PATH_MAX bytes;
 *                   absent: the cluster is this process's own, as before)
 *
 *   e.g. "rtt_ms=2,hsms=2,rate.rsa2048=2000,rate.p256=500"  (hsm1.medium x 2)
 *        "rtt_ms=2,hsms=2,rate.rsa2048=2000,rate.p256=3000" (hsm2m.medium x 2)
 *        "rtt_ms=2,hsms=2,rate.p256=3000,cluster=/tmp/bench/cluster" (one cluster for several
 *        hsmsignd processes: containers, Lambda execution environments)
 *
 * Shared cluster (cluster=PATH). Without it, each process that loads the module has a cluster
 * of its own: several processes each get the whole rate. With it, PATH is a small file mapped
 * MAP_SHARED that holds what a real cluster shares between its clients: the per-family token
 * buckets (with their rates and depths) and the per-HSM slot counts. The buckets are guarded
 * by a process-shared, robust pthread mutex (a process killed while holding it does not wedge
 * the others: the next one takes it over), refilled on CLOCK_MONOTONIC (system-wide on Linux);
 * the slot counts are lock-free atomics. The file is opened with O_CREAT|O_NOFOLLOW, mode 0600,
 * and must be a regular file of this user that no one else may read or write; the first
 * process sizes it and initialises it from its shape under flock(LOCK_EX), writing the header
 * (magic, layout version, size) last, so that processes loading at once initialise it once. A
 * file of another size or header is refused: at load C_GetFunctionList answers
 * CKR_ARGUMENTS_BAD (the reason on stderr), and hs_cloudhsm_configure() returns -1. A process
 * that joins an existing cluster at load must name the same rates and burst_ms as the file
 * holds (else CKR_ARGUMENTS_BAD): the file is the cluster's capacity. Per process still: rtt_ms,
 * throttle, and hsms and slots (each process's view of the shared slot counts: give every
 * process the same), the session and key tables, and every counter of struct
 * hs_cloudhsm_stats (what this process's calls met). A slot held by a process killed during a
 * C_Sign stays taken in the file: remove the file to start afresh. A process maps at most 16
 * cluster files, each until it exits.
 *
 * Which calls cross the network (each sleeps rtt_ms): C_Login, C_Logout, C_FindObjects (the
 * search runs on the HSM; Init and Final are client state), C_GetAttributeValue,
 * C_GenerateKeyPair, C_DestroyObject, and C_Sign when it signs (the size query, with a NULL
 * signature buffer, is answered in the client). C_SignInit is client state: SDK 5 does not
 * support multi-part signing, so the whole operation travels with C_Sign. The module therefore
 * notes the key and mechanism at C_SignInit (the parameter copied) and makes the real
 * module's C_SignInit inside C_Sign's round trip, where the HSM's work is: SoftHSM2 loads the
 * key there (for P-256 it rebuilds the curve, some 60-80 us). It does so for the signing
 * mechanisms of a key's own family (RSA PKCS #1 v1.5 and PSS, ECDSA, EdDSA without
 * parameters) on a private key with CKA_SIGN=TRUE, when the real module lists the mechanism
 * with CKF_SIGN; any other C_SignInit is the real module's at once, with its answer. A deferred
 * operation answers the size query and a short buffer (CKR_BUFFER_TOO_SMALL, the operation
 * kept) in the client, a second C_SignInit with CKR_OPERATION_ACTIVE, and a C_SignUpdate or
 * C_SignFinal (multi-part: not SDK 5's, passed through) after the real C_SignInit, made then;
 * an error of that real C_SignInit comes from C_Sign. Sources: the AWS
 * CloudHSM User Guide, "Known issues for the PKCS #11 library" (no multi-part sign;
 * C_GetAttributeValue can be throttled, so it reaches the HSM) and "AWS CloudHSM application
 * integration best practices" (one C_Login per cluster). This is the model, not a trace of the
 * SDK: docs/capacity.md says what it leaves out.
 *
 * Rate limit (AWS CloudHSM User Guide, "HSM throttling": an HSM answers "busy" when a workload
 * exceeds the cluster's capacity, and in PKCS#11 that maps to CKR_FUNCTION_FAILED; "AWS
 * CloudHSM performance information" gives the capacity per cluster size). The key family is
 * found at C_SignInit (CKA_KEY_TYPE, the modulus length or the curve, and CKA_SIGN, read from
 * the real module once per key handle). The signature takes a token from its family's bucket then: when the
 * bucket is empty no real C_SignInit is made, the size query answers the family's size,
 * and C_Sign answers the throttle code after the round trip. C_Sign then takes a slot on the
 * least busy HSM for the round trip and the real signature; with every slot taken it answers
 * the throttle code after the round trip (an operation whose real C_SignInit was made at once
 * is first completed into a scratch buffer, which it wipes: this costs the caller's CPU a
 * signature, as a real throttled call would not). The client SDK's own retries (5.8.0+, "standard" mode) are not modelled: the caller
 * sees every throttled answer, as with --default-retry-mode off.
 *
 * Thread-safe: the shape is copied under a mutex at the start of a call, the buckets have one
 * mutex per cluster, slots and counters are atomics; no lock is held while a call sleeps or
 * while the real module runs. A session is found in a table of 4096 atomic entries indexed by its handle
 * (two live sessions whose handles differ by a multiple of 4096 collide: the later C_SignInit
 * wins, and the other's C_Sign is not limited, or, if its signature was throttled, answers
 * what the real module says of a C_Sign without C_SignInit; an entry holding a deferred
 * operation is never taken over: the later session's C_SignInit is then the real module's at
 * once and its signature is not limited; SoftHSM2 numbers sessions upwards, so it takes 4096
 * re-opened sessions to get there).
 */
#ifndef P11_CLOUDHSM_H
#define P11_CLOUDHSM_H

/* Environment variables. */
#define HS_CLOUDHSM_LIB_ENV "HSMSIGN_CLOUDHSM_LIB"       /* path of this module (set by CTest) */
#define HS_CLOUDHSM_MODULE_ENV "HSMSIGN_CLOUDHSM_MODULE" /* path of the real module */
#define HS_CLOUDHSM_SHAPE_ENV "HSMSIGN_CLOUDHSM_SHAPE"   /* shape applied at load */
#define HS_CLOUDHSM_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"

/* Longest shape accepted, in bytes. */
#define HS_CLOUDHSM_SHAPE_MAX 1024
/* Longest cluster= path, in bytes. */
#define HS_CLOUDHSM_CLUSTER_PATH_MAX 255

/* What the module did in this process since the last successful configure (or load); per
 * process also on a shared cluster (in_flight_max: this process's C_Sign operations). */
struct hs_cloudhsm_stats {
    unsigned long net_calls;      /* wrapped calls that took a round trip */
    unsigned long signs;          /* C_Sign calls that signed (real signature returned) */
    unsigned long throttled_rate; /* C_Sign answered the throttle code: bucket empty */
    unsigned long throttled_busy; /* C_Sign answered the throttle code: every slot taken */
    unsigned long in_flight_max;  /* most C_Sign operations holding slots at once */
    unsigned long long slept_us;  /* total of their round trips (rtt each), microseconds */
};

/* Replaces the shape with spec (NULL or "" is a pass-through), refills every bucket and resets
 * the counters. Returns 0, or -1 for a bad spec or a refused cluster file, which changes
 * nothing (a refused file is left as it was). With cluster=PATH the process moves to that
 * cluster (mapping it, and creating it when new) and gives it spec's rates and burst, each
 * bucket full: every process on the cluster then signs at them (their own shapes are not
 * re-read; a process that loads later must name the new rates). The slot counts are kept:
 * other processes' signatures may hold slots. Without cluster= the process goes back to its
 * own cluster. Thread-safe. A call before C_GetFunctionList first loads the module, so
 * $HSMSIGN_CLOUDHSM_SHAPE never overrides it. */
int hs_cloudhsm_configure(const char *spec);

/* Copies the counters into *out (a snapshot; each counter is read atomically). */
void hs_cloudhsm_get_stats(struct hs_cloudhsm_stats *out);

/* The exported functions' types, for tests that dlsym them from the loaded module. */
typedef int (*hs_cloudhsm_configure_fn)(const char *spec);
typedef void (*hs_cloudhsm_get_stats_fn)(struct hs_cloudhsm_stats *out);

#endif /* P11_CLOUDHSM_H */
