/*
 * p11_cloudhsm_shape: the shape grammar of the CloudHSM-shaped Cryptoki module
 * (tests/testlib/p11_cloudhsm.h gives the grammar), parsed apart from the module so that the
 * fuzz target cloudhsm_shape_fuzz runs the same parser. Test code only.
 */
#ifndef P11_CLOUDHSM_SHAPE_H
#define P11_CLOUDHSM_SHAPE_H

#include <stdbool.h>

#include <p11-kit/pkcs11.h>

#include "tests/testlib/p11_cloudhsm.h"

/* Longest decimal value, in characters. */
#define HS_CLOUDHSM_NUM_MAX 31
#define HS_CLOUDHSM_HSMS_MAX 28
#define HS_CLOUDHSM_SLOTS_MAX 4096
#define HS_CLOUDHSM_RATE_MAX 1000000.0
#define HS_CLOUDHSM_RTT_MS_MAX 1000.0
#define HS_CLOUDHSM_BURST_MS_MAX 10000.0

enum hs_cloudhsm_family {
    HS_CLOUDHSM_FAMILY_NONE, /* unknown: never limited */
    HS_CLOUDHSM_FAMILY_RSA2048,
    HS_CLOUDHSM_FAMILY_RSA3072,
    HS_CLOUDHSM_FAMILY_RSA4096,
    HS_CLOUDHSM_FAMILY_P256,
    HS_CLOUDHSM_FAMILY_P384,
    HS_CLOUDHSM_FAMILY_P521,
    HS_CLOUDHSM_FAMILY_ED25519,
    HS_CLOUDHSM_FAMILY_COUNT,
};

struct hs_cloudhsm_family_info {
    const char *name;
    CK_ULONG sig_len; /* the signature's size in bytes (PKCS#11 raw form) */
};

/* Per family: its rate.FAMILY name and signature size. */
extern const struct hs_cloudhsm_family_info hs_cloudhsm_families[HS_CLOUDHSM_FAMILY_COUNT];

struct hs_cloudhsm_cluster;

struct hs_cloudhsm_shape {
    long long rtt_ns;
    unsigned hsms;
    unsigned slots;
    double burst_ms;
    double rate[HS_CLOUDHSM_FAMILY_COUNT]; /* 0: no limit */
    CK_RV throttle_rv;
    char cluster[HS_CLOUDHSM_CLUSTER_PATH_MAX + 1]; /* "": the process's own cluster */
    struct hs_cloudhsm_cluster *cl;                 /* where the buckets and slots are */
};

/* The shape of "": no round trip, 2 HSMs of 64 slots, no rate, a 10 ms bucket, this process's
 * own cluster. */
#define HS_CLOUDHSM_SHAPE_DEFAULT                                                                  \
    {                                                                                              \
        .rtt_ns = 0, .hsms = 2, .slots = 64, .burst_ms = 10.0, .throttle_rv = CKR_FUNCTION_FAILED  \
    }

/* Parses spec (NUL-terminated; NULL or "" is the default shape) into *out: KEY=VALUE items
 * separated by commas, each key at most once, at most HS_CLOUDHSM_SHAPE_MAX bytes; values
 * decimal (digits, at most one '.' between digits) within their ranges, throttle one of three
 * CKR_ names, cluster an absolute printable path. Returns false for anything else, leaving *out
 * unchanged. out->cl is left NULL: attaching the cluster is the module's. Pure: no I/O. */
bool hs_cloudhsm_parse(const char *spec, struct hs_cloudhsm_shape *out);

#endif /* P11_CLOUDHSM_SHAPE_H */
