/*
 * p11_module: a loaded Cryptoki module (PKCS#11 v2.40 §5.4: C_GetFunctionList, C_Initialize).
 *
 * The module is dlopen'ed by path (SoftHSM2's libsofthsm2.so, CloudHSM's
 * /opt/cloudhsm/lib/libcloudhsm_pkcs11.so) and initialised with CKF_OS_LOCKING_OK so it may be
 * called from many threads. It is reference counted: every pool on it holds a reference, and the
 * last p11_module_free() calls C_Finalize and dlclose. A process that finds itself forked
 * (getpid() changed) re-initialises the module before its next use (p11_module_check_fork()),
 * never from an atfork handler.
 */
#ifndef P11_MODULE_H
#define P11_MODULE_H

#include <stdbool.h>
#include <stddef.h>

#include <p11-kit/pkcs11.h>

#include "common/hs_err.h"

struct p11_module;

/* Loads and initialises the module at path. Errors: HS_ERR_HSM_MODULE (dlopen, missing
 * C_GetFunctionList, C_Initialize failure; the detail names the path and the CKR_*).
 * The caller frees *out with p11_module_free(). */
HS_RESULT p11_module_load(const char *path, struct p11_module **out);

/* The same for a function list the caller already holds instead of a module file: a module
 * linked into the program, or a test's in-memory table (tests/testlib/hs_fake_p11.h). fn is
 * borrowed and must stay valid until the last p11_module_free(); it is initialised here
 * (C_Initialize, CKF_OS_LOCKING_OK) and finalised by the last free, and nothing is dlclose'd.
 * name stands for the path in logs and p11_module_path(). Errors: HS_ERR_HSM_MODULE
 * (C_Initialize failed), HS_ERR_INPUT_CONFIG, HS_ERR_NOMEM. The caller frees *out with
 * p11_module_free(). */
HS_RESULT p11_module_from_functions(CK_FUNCTION_LIST *fn, const char *name,
                                    struct p11_module **out);

/* Takes a reference; returns m. */
struct p11_module *p11_module_up_ref(struct p11_module *m);

/* Drops a reference (NULL accepted); the last one finalises and unloads the module. */
void p11_module_free(struct p11_module *m);
void p11_module_freep(struct p11_module **m);

/* Lends the module's function list (valid while a reference is held). */
CK_FUNCTION_LIST *p11_module_get0_functions(const struct p11_module *m);

/* Finds the slot whose token label is `label` (compared against the blank-padded 32-byte
 * CK_TOKEN_INFO.label). Errors: HS_ERR_HSM_TOKEN_NOT_FOUND when none or more than one token
 * carries the label, HS_ERR_HSM on a failing C_GetSlotList / C_GetTokenInfo. */
HS_RESULT p11_module_find_token(struct p11_module *m, const char *label, CK_SLOT_ID *out);

/* Re-initialises the module when the process forked since the last call (C_Initialize in the
 * child). *out_reinit tells whether it did (then every session handle and object handle is
 * void). Thread-safe. Errors: HS_ERR_HSM_MODULE. */
HS_RESULT p11_module_check_fork(struct p11_module *m, bool *out_reinit);

/* Path the module was loaded from (lent). */
const char *p11_module_path(const struct p11_module *m);

#endif /* P11_MODULE_H */
