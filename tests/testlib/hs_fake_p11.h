/*
 * hs_fake_p11: an in-memory Cryptoki table for unit tests (no module, no SoftHSM, no dlopen).
 *
 * hs_fake_p11_functions() returns a CK_FUNCTION_LIST (PKCS#11 v2.40) whose every function can be
 * scripted to return a chosen CK_RV on its Nth call. Hand it to the pool with
 * p11_module_from_functions() (pkcs11/p11_module.h) and p11_pool_new() as any module.
 *
 * It models one token with just enough state for the pool's recovery policy to be seen:
 *   - one slot (HS_FAKE_P11_SLOT) holding an initialised token labelled HS_FAKE_P11_LABEL whose
 *     user PIN is HS_FAKE_P11_PIN (a wrong one: CKR_PIN_INCORRECT);
 *   - sessions (at most HS_FAKE_P11_SESSIONS_MAX open): C_OpenSession, C_CloseSession,
 *     C_CloseAllSessions, C_GetSessionInfo (CKS_RW_USER_FUNCTIONS once logged in, else
 *     CKS_RW_PUBLIC_SESSION); an unknown handle answers CKR_SESSION_HANDLE_INVALID;
 *   - one token-wide login (§5.6): C_Login (CKR_USER_ALREADY_LOGGED_IN when it holds), C_Logout;
 *     closing the last session logs out, as §5.6 says;
 *   - one private key, HS_FAKE_P11_KEY, found by any C_FindObjects search and signing with any
 *     mechanism: C_SignInit (CKR_OPERATION_ACTIVE when an operation is active on the session,
 *     CKR_USER_NOT_LOGGED_IN without a login, CKR_KEY_HANDLE_INVALID for another handle) and
 *     C_Sign, which writes HS_FAKE_P11_SIG_LEN bytes; a size query (NULL buffer) and
 *     CKR_BUFFER_TOO_SMALL leave the operation active, anything else ends it (§5.2, §5.12);
 *   - C_GetMechanismList / C_GetMechanismInfo: CKM_ECDSA, CKM_EDDSA, CKM_SHA256_RSA_PKCS and
 *     the key-pair generators, flags CKF_SIGN / CKF_GENERATE_KEY_PAIR, 256..4096 bits.
 * Every other function answers CKR_FUNCTION_NOT_SUPPORTED unless scripted. Before C_Initialize
 * (or after hs_fake_p11_lose_state()) every function but C_Initialize and C_GetFunctionList
 * answers CKR_CRYPTOKI_NOT_INITIALIZED, as a module that lost its state does.
 *
 * Scripts: hs_fake_p11_script(fn, nth, times, rv) makes calls nth .. nth+times-1 of fn (counted
 * from 1 since the last hs_fake_p11_reset() or hs_fake_p11_clear_counts(); times 0 = every call
 * from nth on) return rv without doing anything, except that a scripted failure of C_Sign ends
 * the signing operation (unless rv is CKR_BUFFER_TOO_SMALL) as a real one would. Calls are
 * counted whether or not a script fires.
 *
 * A script with rv CKR_OK does nothing (the call behaves as modelled).
 *
 * Test code only. Not thread-safe: one test thread at a time drives it.
 */
#ifndef HS_FAKE_P11_H
#define HS_FAKE_P11_H

#include <stdbool.h>
#include <stddef.h>

#include <p11-kit/pkcs11.h>

/* Every function of CK_FUNCTION_LIST, in its order: X(name). */
#define HS_FAKE_P11_FUNCTIONS(X)                                                                   \
    X(C_Initialize)                                                                                \
    X(C_Finalize)                                                                                  \
    X(C_GetInfo)                                                                                   \
    X(C_GetFunctionList)                                                                           \
    X(C_GetSlotList)                                                                               \
    X(C_GetSlotInfo)                                                                               \
    X(C_GetTokenInfo)                                                                              \
    X(C_GetMechanismList)                                                                          \
    X(C_GetMechanismInfo)                                                                          \
    X(C_InitToken)                                                                                 \
    X(C_InitPIN)                                                                                   \
    X(C_SetPIN)                                                                                    \
    X(C_OpenSession)                                                                               \
    X(C_CloseSession)                                                                              \
    X(C_CloseAllSessions)                                                                          \
    X(C_GetSessionInfo)                                                                            \
    X(C_GetOperationState)                                                                         \
    X(C_SetOperationState)                                                                         \
    X(C_Login)                                                                                     \
    X(C_Logout)                                                                                    \
    X(C_CreateObject)                                                                              \
    X(C_CopyObject)                                                                                \
    X(C_DestroyObject)                                                                             \
    X(C_GetObjectSize)                                                                             \
    X(C_GetAttributeValue)                                                                         \
    X(C_SetAttributeValue)                                                                         \
    X(C_FindObjectsInit)                                                                           \
    X(C_FindObjects)                                                                               \
    X(C_FindObjectsFinal)                                                                          \
    X(C_EncryptInit)                                                                               \
    X(C_Encrypt)                                                                                   \
    X(C_EncryptUpdate)                                                                             \
    X(C_EncryptFinal)                                                                              \
    X(C_DecryptInit)                                                                               \
    X(C_Decrypt)                                                                                   \
    X(C_DecryptUpdate)                                                                             \
    X(C_DecryptFinal)                                                                              \
    X(C_DigestInit)                                                                                \
    X(C_Digest)                                                                                    \
    X(C_DigestUpdate)                                                                              \
    X(C_DigestKey)                                                                                 \
    X(C_DigestFinal)                                                                               \
    X(C_SignInit)                                                                                  \
    X(C_Sign)                                                                                      \
    X(C_SignUpdate)                                                                                \
    X(C_SignFinal)                                                                                 \
    X(C_SignRecoverInit)                                                                           \
    X(C_SignRecover)                                                                               \
    X(C_VerifyInit)                                                                                \
    X(C_Verify)                                                                                    \
    X(C_VerifyUpdate)                                                                              \
    X(C_VerifyFinal)                                                                               \
    X(C_VerifyRecoverInit)                                                                         \
    X(C_VerifyRecover)                                                                             \
    X(C_DigestEncryptUpdate)                                                                       \
    X(C_DecryptDigestUpdate)                                                                       \
    X(C_SignEncryptUpdate)                                                                         \
    X(C_DecryptVerifyUpdate)                                                                       \
    X(C_GenerateKey)                                                                               \
    X(C_GenerateKeyPair)                                                                           \
    X(C_WrapKey)                                                                                   \
    X(C_UnwrapKey)                                                                                 \
    X(C_DeriveKey)                                                                                 \
    X(C_SeedRandom)                                                                                \
    X(C_GenerateRandom)                                                                            \
    X(C_GetFunctionStatus)                                                                         \
    X(C_CancelFunction)                                                                            \
    X(C_WaitForSlotEvent)

#define HS_FAKE_P11_ENUM(name) HS_FAKE_##name,
enum hs_fake_p11_fn {
    HS_FAKE_P11_FUNCTIONS(HS_FAKE_P11_ENUM) HS_FAKE_P11_FN_COUNT
};
#undef HS_FAKE_P11_ENUM

#define HS_FAKE_P11_SLOT 7UL
#define HS_FAKE_P11_LABEL "fake-token"
#define HS_FAKE_P11_PIN "fake-pin-1234"
#define HS_FAKE_P11_KEY 0x100UL
#define HS_FAKE_P11_SIG_LEN 64UL
#define HS_FAKE_P11_SESSIONS_MAX 64
#define HS_FAKE_P11_SCRIPTS_MAX 16

/* The table (a static object: valid for the whole program). */
CK_FUNCTION_LIST *hs_fake_p11_functions(void);

/* Forgets every script, count, session and the login; the module is not initialised until
 * its C_Initialize. */
void hs_fake_p11_reset(void);

/* Sets every call count to 0 (scripts then count from there). */
void hs_fake_p11_clear_counts(void);

/* Forgets every script (counts and token state stay). */
void hs_fake_p11_clear_scripts(void);

/* Scripts fn: its calls nth .. nth+times-1 (times 0: every call from nth on; nth >= 1) return
 * rv. Returns 0, or -1 when HS_FAKE_P11_SCRIPTS_MAX scripts are set or nth is 0. */
int hs_fake_p11_script(enum hs_fake_p11_fn fn, unsigned long nth, unsigned long times, CK_RV rv);

/* Calls of fn since the last reset or clear. */
unsigned long hs_fake_p11_calls(enum hs_fake_p11_fn fn);

/* "C_Sign" for HS_FAKE_C_Sign. */
const char *hs_fake_p11_fn_name(enum hs_fake_p11_fn fn);

/* Token state, for assertions. */
size_t hs_fake_p11_open_sessions(void);
bool hs_fake_p11_logged_in(void);
bool hs_fake_p11_operation_active(CK_SESSION_HANDLE h);

/* Events that happen to a token: the login lapses (an HSM failover: sessions stay, their state
 * turns public); the module loses all state (every session gone, not initialised). */
void hs_fake_p11_drop_login(void);
void hs_fake_p11_lose_state(void);

#endif /* HS_FAKE_P11_H */
