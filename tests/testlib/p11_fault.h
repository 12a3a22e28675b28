/*
 * p11_fault: a fault-injecting Cryptoki module for tests (libhs_p11_fault.so, CMake target
 * hs_p11_fault; tests find its path in $HSMSIGN_FAULT_LIB).
 *
 * The module exports C_GetFunctionList. The first call dlopens the real module named by
 * $HSMSIGN_FAULT_MODULE (default /usr/lib/softhsm/libsofthsm2.so), copies its CK_FUNCTION_LIST
 * and replaces the functions it can fail: C_OpenSession, C_GetTokenInfo, C_GetSessionInfo,
 * C_Login, C_FindObjectsInit, C_FindObjects, C_FindObjectsFinal, C_SignInit, C_Sign,
 * C_GenerateKeyPair and C_GetAttributeValue. Every other function is the real module's own.
 * Load it as the pool's module (p11_module_load($HSMSIGN_FAULT_LIB)) and it sits between the
 * pool and the token.
 *
 * Rules come from $HSMSIGN_FAULT, read on that first call (a bad spec makes C_GetFunctionList
 * fail with CKR_ARGUMENTS_BAD), and are replaced at run time with hs_fault_configure(). Grammar:
 *
 *   spec    = [item *(";" item)]            empty items are ignored
 *   item    = rule | "seed=" S              S seeds the PRNG of rate triggers (default 1)
 *   rule    = FUNC ":" ACTION [":" TRIGGER]
 *   FUNC    = a wrapped function name ("C_Sign") | "*" (every wrapped function)
 *   ACTION  = a CKR_* name   the call returns that code without reaching the real module
 *           | "close"        the real C_CloseSession closes the call's session, and the call
 *                            returns CKR_SESSION_HANDLE_INVALID (a session that truly died)
 *           | "logout"       the real C_Logout runs on the call's session, then the call is
 *                            forwarded, so the real module answers as it would without a login
 *           | "garble"       C_Sign only: the call is forwarded and one bit in the middle of
 *                            the signature it returns is flipped (a token that signs wrongly;
 *                            the size query, with no buffer, is answered as is)
 *   TRIGGER = "every=" N     the Nth, 2Nth, 3Nth... call of the function (N >= 1)
 *           | "nth=" N       only the Nth call (N >= 1)
 *           | "rate=" P      each call with probability P, 0 < P <= 1
 *           | (absent)       every call
 *
 *   e.g. "C_Sign:close:every=10", "*:CKR_DEVICE_ERROR", "C_Sign:CKR_DEVICE_ERROR:rate=0.05;seed=7"
 *
 * Calls are counted per wrapped function, from 1, since the last successful configure. Several
 * rules may match a call: the first whose trigger fires is applied, the others are not
 * evaluated. close and logout need a session, so they are refused for C_OpenSession and
 * C_GetTokenInfo, and a "*" rule with them skips those two.
 *
 * An injected code on C_Sign or C_FindObjectsFinal still ends the real operation, as PKCS#11
 * v2.40 §5.12 / §5.7 say a failed call does (the real C_Sign is completed into a scratch buffer
 * that is wiped and dropped; the real C_FindObjectsFinal runs), so a session is never left with
 * an operation the caller believes is over.
 *
 * Everything is thread-safe: the rule table is read under a mutex, counters and the PRNG
 * (splitmix64) are atomics. Test code only; never load it in hsmsignd.
 */
#ifndef P11_FAULT_H
#define P11_FAULT_H

/* Environment variables. */
#define HS_FAULT_LIB_ENV "HSMSIGN_FAULT_LIB"       /* path of this module (set by CTest) */
#define HS_FAULT_MODULE_ENV "HSMSIGN_FAULT_MODULE" /* path of the real module */
#define HS_FAULT_SPEC_ENV "HSMSIGN_FAULT"          /* rules applied at load */
#define HS_FAULT_HIDE_ENV "HSMSIGN_FAULT_HIDE"     /* mechanisms hidden at load */
#define HS_FAULT_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"

/* Longest spec accepted, and most rules in one spec. */
#define HS_FAULT_SPEC_MAX 4096
#define HS_FAULT_RULES_MAX 32

/* Replaces every rule with those of spec (NULL or "" clears them), reseeds the PRNG and resets
 * every counter. Returns 0, or -1 for a bad spec, which changes nothing. Thread-safe. A call
 * before C_GetFunctionList first loads the module, so $HSMSIGN_FAULT never overrides it. */
int hs_fault_configure(const char *spec);

/* Hides mechanisms from C_GetMechanismList / C_GetMechanismInfo (which then answers
 * CKR_MECHANISM_INVALID), as a token that lacks them would: list is a comma-separated list of
 * CKM_* names hsmsign uses (CKM_ECDSA, CKM_EDDSA, CKM_SHA256_RSA_PKCS, ...); NULL or "" shows
 * everything again. Also read from $HSMSIGN_FAULT_HIDE at load. Returns 0, or -1 for an unknown
 * name (nothing changes). Thread-safe. */
int hs_fault_hide(const char *list);

/* Faults injected (rules applied, close and logout included) since the last configure. */
unsigned long hs_fault_injected(void);

/* Calls of wrapped function func ("C_Sign"; "*" sums them all) since the last configure; 0 for
 * a name the module does not wrap. */
unsigned long hs_fault_calls(const char *func);

/* The exported functions' types, for tests that dlsym them from the loaded module. */
typedef int (*hs_fault_configure_fn)(const char *spec);
typedef unsigned long (*hs_fault_injected_fn)(void);
typedef unsigned long (*hs_fault_calls_fn)(const char *func);
typedef int (*hs_fault_hide_fn)(const char *list);

#endif /* P11_FAULT_H */
