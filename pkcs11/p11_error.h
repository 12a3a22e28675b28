/*
 * p11_error: names and classes of Cryptoki return values (PKCS#11 v2.40 §5.1, §11 of the base
 * specification's return value list).
 */
#ifndef P11_ERROR_H
#define P11_ERROR_H

#include <p11-kit/pkcs11.h>

#include "common/hs_err.h"

/* How the pool reacts to a CK_RV. */
enum p11_ckr_kind {
    P11_CKR_KIND_OK,
    P11_CKR_KIND_SESSION_LOST,    /* drop the session, re-open, re-find handles, retry */
    P11_CKR_KIND_NOT_LOGGED_IN,   /* log in again (CloudHSM after failover), retry */
    P11_CKR_KIND_HANDLE_INVALID,  /* a lost login (SoftHSM2 reports it so) or a stale handle:
                                     log in again or find the object again, retry */
    P11_CKR_KIND_THROTTLED,       /* overloaded HSM: retry after a bounded backoff */
    P11_CKR_KIND_PIN_REJECTED,    /* never retried */
    P11_CKR_KIND_NOT_INITIALIZED, /* module lost its state (fork): re-initialise */
    P11_CKR_KIND_FATAL,           /* fail the request with the CKR_* name */
};

/* Returns the static "CKR_..." name of rv ("CKR_VENDOR_DEFINED" / "CKR_UNKNOWN" otherwise). */
const char *p11_ckr_name(CK_RV rv);

/* Classifies rv for retry decisions. */
enum p11_ckr_kind p11_ckr_classify(CK_RV rv);

/* Reads a CK_RV written as its name ("CKR_FUNCTION_FAILED", any of PKCS#11 v2.40 §3.6) or in
 * hex ("0x80000123", for vendor-defined values: 1..8 digits). Errors: HS_ERR_INPUT_FIELD for
 * anything else (the message quotes at most 40 bytes of text). */
HS_RESULT p11_ckr_parse(const char *text, CK_RV *out);

/* Records rv in the thread's hs_error with the matching HS_ERR_HSM_* code and returns it. */
HS_RESULT p11_error_raise(const char *file, int line, CK_RV rv);

/* For Cryptoki calls: fails with an HS_ERR_HSM_* code that records the CK_RV and its name. */
#define HS_GUARD_CKR(call)                                                                         \
    do {                                                                                           \
        CK_RV hs_guard_rv_ = (call);                                                               \
        if (hs_guard_rv_ != CKR_OK) {                                                              \
            HS_RETURN_FAILURE(p11_error_raise(__FILE__, __LINE__, hs_guard_rv_));                  \
        }                                                                                          \
    } while (0)

#endif /* P11_ERROR_H */
