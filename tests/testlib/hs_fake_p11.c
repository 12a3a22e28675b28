#include "tests/testlib/hs_fake_p11.h"

#include <string.h>

struct hs_fake_script {
    enum hs_fake_p11_fn fn;
    unsigned long first; /* first call that fails, from 1 */
    unsigned long last;  /* last call that fails; 0 = no end */
    CK_RV rv;
};

struct hs_fake_session {
    CK_SESSION_HANDLE handle; /* 0 = slot unused */
    bool sign_active;
    bool find_active;
};

static struct {
    bool initialized;
    bool logged_in;
    CK_SESSION_HANDLE next_handle;
    struct hs_fake_session sessions[HS_FAKE_P11_SESSIONS_MAX];
    unsigned long calls[HS_FAKE_P11_FN_COUNT];
    struct hs_fake_script scripts[HS_FAKE_P11_SCRIPTS_MAX];
    size_t nscripts;
} fake = {.next_handle = 1};

static const char *const fake_names[] = {
#define HS_FAKE_P11_NAME(name) #name,
    HS_FAKE_P11_FUNCTIONS(HS_FAKE_P11_NAME)
#undef HS_FAKE_P11_NAME
};

static const CK_MECHANISM_TYPE fake_mechs[] = {
    CKM_RSA_PKCS_KEY_PAIR_GEN,   CKM_SHA256_RSA_PKCS, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA,
    CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA,
};

const char *hs_fake_p11_fn_name(enum hs_fake_p11_fn fn)
{
    return (size_t)fn < HS_FAKE_P11_FN_COUNT ? fake_names[fn] : "?";
}

void hs_fake_p11_reset(void)
{
    memset(&fake, 0, sizeof(fake));
    fake.next_handle = 1;
}

void hs_fake_p11_clear_counts(void)
{
    memset(fake.calls, 0, sizeof(fake.calls));
}

void hs_fake_p11_clear_scripts(void)
{
    memset(fake.scripts, 0, sizeof(fake.scripts));
    fake.nscripts = 0;
}

int hs_fake_p11_script(enum hs_fake_p11_fn fn, unsigned long nth, unsigned long times, CK_RV rv)
{
    if (nth == 0 || (size_t)fn >= HS_FAKE_P11_FN_COUNT ||
        fake.nscripts >= HS_FAKE_P11_SCRIPTS_MAX) {
        return -1;
    }
    fake.scripts[fake.nscripts++] =
        (struct hs_fake_script){fn, nth, times == 0 ? 0 : nth + times - 1, rv};
    return 0;
}

unsigned long hs_fake_p11_calls(enum hs_fake_p11_fn fn)
{
    return (size_t)fn < HS_FAKE_P11_FN_COUNT ? fake.calls[fn] : 0;
}

static struct hs_fake_session *fake_session(CK_SESSION_HANDLE h)
{
    for (size_t i = 0; h != 0 && i < HS_FAKE_P11_SESSIONS_MAX; i++) {
        if (fake.sessions[i].handle == h) {
            return &fake.sessions[i];
        }
    }
    return NULL;
}

size_t hs_fake_p11_open_sessions(void)
{
    size_t n = 0;
    for (size_t i = 0; i < HS_FAKE_P11_SESSIONS_MAX; i++) {
        n += fake.sessions[i].handle != 0;
    }
    return n;
}

bool hs_fake_p11_logged_in(void)
{
    return fake.logged_in;
}

bool hs_fake_p11_operation_active(CK_SESSION_HANDLE h)
{
    const struct hs_fake_session *s = fake_session(h);
    return s != NULL && (s->sign_active || s->find_active);
}

void hs_fake_p11_drop_login(void)
{
    fake.logged_in = false;
}

void hs_fake_p11_lose_state(void)
{
    memset(fake.sessions, 0, sizeof(fake.sessions));
    fake.logged_in = false;
    fake.initialized = false;
}

/* Counts the call and returns the CK_RV a script or the module's state imposes on it, or
 * CKR_OK to go on with the modelled behaviour. */
static CK_RV fake_enter(enum hs_fake_p11_fn fn)
{
    unsigned long n = ++fake.calls[fn];
    for (size_t i = 0; i < fake.nscripts; i++) {
        const struct hs_fake_script *s = &fake.scripts[i];
        if (s->fn == fn && s->rv != CKR_OK && n >= s->first && (s->last == 0 || n <= s->last)) {
            return s->rv;
        }
    }
    if (!fake.initialized && fn != HS_FAKE_C_Initialize && fn != HS_FAKE_C_GetFunctionList) {
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    return CKR_OK;
}

/* fake_enter for a function on session h: also CKR_SESSION_HANDLE_INVALID for an unknown h. */
static CK_RV fake_enter_session(enum hs_fake_p11_fn fn, CK_SESSION_HANDLE h,
                                struct hs_fake_session **out)
{
    CK_RV rv = fake_enter(fn);
    *out = fake_session(h);
    if (rv == CKR_OK && *out == NULL) {
        rv = CKR_SESSION_HANDLE_INVALID;
    }
    return rv;
}

static void fake_padded(CK_UTF8CHAR *dst, size_t n, const char *src)
{
    memset(dst, ' ', n);
    memcpy(dst, src, strlen(src) < n ? strlen(src) : n);
}

static CK_RV fake_C_Initialize(void *args)
{
    (void)args;
    CK_RV rv = fake_enter(HS_FAKE_C_Initialize);
    if (rv != CKR_OK) {
        return rv;
    }
    if (fake.initialized) {
        return CKR_CRYPTOKI_ALREADY_INITIALIZED;
    }
    fake.initialized = true;
    return CKR_OK;
}

static CK_RV fake_C_Finalize(void *reserved)
{
    (void)reserved;
    CK_RV rv = fake_enter(HS_FAKE_C_Finalize);
    if (rv == CKR_OK) {
        hs_fake_p11_lose_state();
    }
    return rv;
}

static CK_RV fake_C_GetFunctionList(CK_FUNCTION_LIST **out)
{
    CK_RV rv = fake_enter(HS_FAKE_C_GetFunctionList);
    if (rv == CKR_OK) {
        *out = hs_fake_p11_functions();
    }
    return rv;
}

static CK_RV fake_C_GetSlotList(CK_BBOOL present, CK_SLOT_ID *list, CK_ULONG *count)
{
    (void)present;
    CK_RV rv = fake_enter(HS_FAKE_C_GetSlotList);
    if (rv != CKR_OK) {
        return rv;
    }
    if (list != NULL) {
        if (*count < 1) {
            *count = 1;
            return CKR_BUFFER_TOO_SMALL;
        }
        list[0] = HS_FAKE_P11_SLOT;
    }
    *count = 1;
    return CKR_OK;
}

static CK_RV fake_C_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO *info)
{
    CK_RV rv = fake_enter(HS_FAKE_C_GetTokenInfo);
    if (rv != CKR_OK) {
        return rv;
    }
    if (slot != HS_FAKE_P11_SLOT) {
        return CKR_SLOT_ID_INVALID;
    }
    memset(info, 0, sizeof(*info));
    fake_padded(info->label, sizeof(info->label), HS_FAKE_P11_LABEL);
    fake_padded(info->manufacturerID, sizeof(info->manufacturerID), "hsmsign tests");
    fake_padded(info->model, sizeof(info->model), "hs_fake_p11");
    fake_padded(info->serialNumber, sizeof(info->serialNumber), "1");
    info->flags = CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_LOGIN_REQUIRED;
    info->ulMaxSessionCount = HS_FAKE_P11_SESSIONS_MAX;
    info->ulSessionCount = hs_fake_p11_open_sessions();
    return CKR_OK;
}

static CK_RV fake_C_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE *list, CK_ULONG *count)
{
    CK_RV rv = fake_enter(HS_FAKE_C_GetMechanismList);
    if (rv != CKR_OK) {
        return rv;
    }
    if (slot != HS_FAKE_P11_SLOT) {
        return CKR_SLOT_ID_INVALID;
    }
    CK_ULONG n = sizeof(fake_mechs) / sizeof(fake_mechs[0]);
    if (list != NULL) {
        if (*count < n) {
            *count = n;
            return CKR_BUFFER_TOO_SMALL;
        }
        memcpy(list, fake_mechs, sizeof(fake_mechs));
    }
    *count = n;
    return CKR_OK;
}

static CK_RV fake_C_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
                                     CK_MECHANISM_INFO *info)
{
    CK_RV rv = fake_enter(HS_FAKE_C_GetMechanismInfo);
    if (rv != CKR_OK) {
        return rv;
    }
    if (slot != HS_FAKE_P11_SLOT) {
        return CKR_SLOT_ID_INVALID;
    }
    for (size_t i = 0; i < sizeof(fake_mechs) / sizeof(fake_mechs[0]); i++) {
        if (fake_mechs[i] == type) {
            bool gen = type == CKM_RSA_PKCS_KEY_PAIR_GEN || type == CKM_EC_KEY_PAIR_GEN ||
                       type == CKM_EC_EDWARDS_KEY_PAIR_GEN;
            info->ulMinKeySize = 256;
            info->ulMaxKeySize = 4096;
            info->flags = gen ? CKF_GENERATE_KEY_PAIR : CKF_SIGN;
            return CKR_OK;
        }
    }
    return CKR_MECHANISM_INVALID;
}

static CK_RV fake_C_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, void *app, CK_NOTIFY notify,
                                CK_SESSION_HANDLE *out)
{
    (void)app;
    (void)notify;
    CK_RV rv = fake_enter(HS_FAKE_C_OpenSession);
    if (rv != CKR_OK) {
        return rv;
    }
    if (slot != HS_FAKE_P11_SLOT) {
        return CKR_SLOT_ID_INVALID;
    }
    if (!(flags & CKF_SERIAL_SESSION)) {
        return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    }
    for (size_t i = 0; i < HS_FAKE_P11_SESSIONS_MAX; i++) {
        if (fake.sessions[i].handle == 0) {
            fake.sessions[i] = (struct hs_fake_session){fake.next_handle++, false, false};
            *out = fake.sessions[i].handle;
            return CKR_OK;
        }
    }
    return CKR_SESSION_COUNT;
}

static CK_RV fake_C_CloseSession(CK_SESSION_HANDLE h)
{
    struct hs_fake_session *s = NULL;
    CK_RV rv = fake_enter_session(HS_FAKE_C_CloseSession, h, &s);
    if (rv != CKR_OK) {
        return rv;
    }
    memset(s, 0, sizeof(*s));
    if (hs_fake_p11_open_sessions() == 0) {
        fake.logged_in = false; /* §5.6: closing the last session logs the user out */
    }
    return CKR_OK;
}

static CK_RV fake_C_CloseAllSessions(CK_SLOT_ID slot)
{
    CK_RV rv = fake_enter(HS_FAKE_C_CloseAllSessions);
    if (rv != CKR_OK) {
        return rv;
    }
    if (slot != HS_FAKE_P11_SLOT) {
        return CKR_SLOT_ID_INVALID;
    }
    memset(fake.sessions, 0, sizeof(fake.sessions));
    fake.logged_in = false;
    return CKR_OK;
}

static CK_RV fake_C_GetSessionInfo(CK_SESSION_HANDLE h, CK_SESSION_INFO *info)
{
    struct hs_fake_session *s = NULL;
    CK_RV rv = fake_enter_session(HS_FAKE_C_GetSessionInfo, h, &s);
    if (rv != CKR_OK) {
        return rv;
    }
    memset(info, 0, sizeof(*info));
    info->slotID = HS_FAKE_P11_SLOT;
    info->state = fake.logged_in ? CKS_RW_USER_FUNCTIONS : CKS_RW_PUBLIC_SESSION;
    info->flags = CKF_SERIAL_SESSION | CKF_RW_SESSION;
    return CKR_OK;
}

static CK_RV fake_C_Login(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR *pin, CK_ULONG len)
{
    struct hs_fake_session *s = NULL;
    CK_RV rv = fake_enter_session(HS_FAKE_C_Login, h, &s);
    if (rv != CKR_OK) {
        return rv;
    }
    if (user != CKU_USER) {
        return CKR_USER_TYPE_INVALID;
    }
    if (fake.logged_in) {
        return CKR_USER_ALREADY_LOGGED_IN;
    }
    if (pin == NULL || len != strlen(HS_FAKE_P11_PIN) || memcmp(pin, HS_FAKE_P11_PIN, len) != 0) {
        return CKR_PIN_INCORRECT;
    }
    fake.logged_in = true;
    return CKR_OK;
}

static CK_RV fake_C_Logout(CK_SESSION_HANDLE h)
{
    struct hs_fake_session *s = NULL;
    CK_RV rv = fake_enter_session(HS_FAKE_C_Logout, h, &s);
    if (rv != CKR_OK) {
        return rv;
    }
    if (!fake.logged_in) {
        return CKR_USER_NOT_LOGGED_IN;
    }
    fake.logged_in = false;
    return CKR_OK;
}

static CK_RV fake_C_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM *mech, CK_OBJECT_HANDLE key)
{
    struct hs_fake_session *s = NULL;
    CK_RV rv = fake_enter_session(HS_FAKE_C_SignInit, h, &s);
    if (rv != CKR_OK) {
        return rv;
    }
    if (s->sign_active || s->find_active) {
        return CKR_OPERATION_ACTIVE;
    }
    if (mech == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    if (!fake.logged_in) {
        return CKR_USER_NOT_LOGGED_IN;
    }
    if (key != HS_FAKE_P11_KEY) {
        return CKR_KEY_HANDLE_INVALID;
    }
    s->sign_active = true;
    return CKR_OK;
}

static CK_RV fake_C_Sign(CK_SESSION_HANDLE h, CK_BYTE *data, CK_ULONG len, CK_BYTE *sig,
                         CK_ULONG *sig_len)
{
    (void)data;
    (void)len;
    struct hs_fake_session *s = NULL;
    CK_RV rv = fake_enter_session(HS_FAKE_C_Sign, h, &s);
    if (s != NULL && rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL) {
        s->sign_active = false; /* §5.12: a failed C_Sign ends the operation */
    }
    if (rv != CKR_OK) {
        return rv;
    }
    if (!s->sign_active) {
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    if (sig == NULL) {
        *sig_len = HS_FAKE_P11_SIG_LEN; /* §5.2: a size query; the operation stays active */
        return CKR_OK;
    }
    if (*sig_len < HS_FAKE_P11_SIG_LEN) {
        *sig_len = HS_FAKE_P11_SIG_LEN;
        return CKR_BUFFER_TOO_SMALL;
    }
    memset(sig, 0x5a, HS_FAKE_P11_SIG_LEN);
    *sig_len = HS_FAKE_P11_SIG_LEN;
    s->sign_active = false;
    return CKR_OK;
}

static CK_RV fake_C_FindObjectsInit(CK_SESSION_HANDLE h, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    (void)tmpl;
    (void)n;
    struct hs_fake_session *s = NULL;
    CK_RV rv = fake_enter_session(HS_FAKE_C_FindObjectsInit, h, &s);
    if (rv != CKR_OK) {
        return rv;
    }
    if (s->sign_active || s->find_active) {
        return CKR_OPERATION_ACTIVE;
    }
    s->find_active = true;
    return CKR_OK;
}

static CK_RV fake_C_FindObjects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *out, CK_ULONG max,
                                CK_ULONG *count)
{
    struct hs_fake_session *s = NULL;
    CK_RV rv = fake_enter_session(HS_FAKE_C_FindObjects, h, &s);
    if (rv != CKR_OK) {
        return rv;
    }
    if (!s->find_active) {
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    *count = 0;
    if (max > 0 && fake.logged_in) {
        out[0] = HS_FAKE_P11_KEY;
        *count = 1;
    }
    return CKR_OK;
}

static CK_RV fake_C_FindObjectsFinal(CK_SESSION_HANDLE h)
{
    struct hs_fake_session *s = NULL;
    CK_RV rv = fake_enter_session(HS_FAKE_C_FindObjectsFinal, h, &s);
    if (s != NULL) {
        s->find_active = false;
    }
    return rv;
}

/* The functions the fake does not model answer CKR_FUNCTION_NOT_SUPPORTED unless scripted. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define HS_FAKE_P11_STUB(name, params)                                                             \
    static CK_RV fake_##name params                                                                \
    {                                                                                              \
        CK_RV rv = fake_enter(HS_FAKE_##name);                                                     \
        return rv != CKR_OK ? rv : CKR_FUNCTION_NOT_SUPPORTED;                                     \
    }

/* The functions the fake does not model, with their prototypes (pkcs11.h): X(name, params). */
#define HS_FAKE_P11_STUBS(X)                                                                       \
    X(C_GetInfo, (CK_INFO * info))                                                                 \
    X(C_GetSlotInfo, (CK_SLOT_ID slot_id, CK_SLOT_INFO * info))                                    \
    X(C_InitToken,                                                                                 \
      (CK_SLOT_ID slot_id, unsigned char *pin, unsigned long pin_len, unsigned char *label))       \
    X(C_InitPIN, (CK_SESSION_HANDLE session, unsigned char *pin, unsigned long pin_len))           \
    X(C_SetPIN, (CK_SESSION_HANDLE session, unsigned char *old_pin, unsigned long old_len,         \
                 unsigned char *new_pin, unsigned long new_len))                                   \
    X(C_GetOperationState, (CK_SESSION_HANDLE session, unsigned char *operation_state,             \
                            unsigned long *operation_state_len))                                   \
    X(C_SetOperationState, (CK_SESSION_HANDLE session, unsigned char *operation_state,             \
                            unsigned long operation_state_len, CK_OBJECT_HANDLE encryption_key,    \
                            CK_OBJECT_HANDLE authentiation_key))                                   \
    X(C_CreateObject, (CK_SESSION_HANDLE session, CK_ATTRIBUTE * templ, unsigned long count,       \
                       CK_OBJECT_HANDLE *object))                                                  \
    X(C_CopyObject, (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE * templ,     \
                     unsigned long count, CK_OBJECT_HANDLE *new_object))                           \
    X(C_DestroyObject, (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object))                       \
    X(C_GetObjectSize, (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, unsigned long *size))  \
    X(C_GetAttributeValue, (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,                    \
                            CK_ATTRIBUTE * templ, unsigned long count))                            \
    X(C_SetAttributeValue, (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,                    \
                            CK_ATTRIBUTE * templ, unsigned long count))                            \
    X(C_EncryptInit, (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_OBJECT_HANDLE key))  \
    X(C_Encrypt, (CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len,          \
                  unsigned char *encrypted_data, unsigned long *encrypted_data_len))               \
    X(C_EncryptUpdate, (CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len,    \
                        unsigned char *encrypted_part, unsigned long *encrypted_part_len))         \
    X(C_EncryptFinal, (CK_SESSION_HANDLE session, unsigned char *last_encrypted_part,              \
                       unsigned long *last_encrypted_part_len))                                    \
    X(C_DecryptInit, (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_OBJECT_HANDLE key))  \
    X(C_Decrypt, (CK_SESSION_HANDLE session, unsigned char *encrypted_data,                        \
                  unsigned long encrypted_data_len, unsigned char *data, unsigned long *data_len)) \
    X(C_DecryptUpdate,                                                                             \
      (CK_SESSION_HANDLE session, unsigned char *encrypted_part, unsigned long encrypted_part_len, \
       unsigned char *part, unsigned long *part_len))                                              \
    X(C_DecryptFinal,                                                                              \
      (CK_SESSION_HANDLE session, unsigned char *last_part, unsigned long *last_part_len))         \
    X(C_DigestInit, (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism))                         \
    X(C_Digest, (CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len,           \
                 unsigned char *digest, unsigned long *digest_len))                                \
    X(C_DigestUpdate, (CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len))    \
    X(C_DigestKey, (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key))                              \
    X(C_DigestFinal,                                                                               \
      (CK_SESSION_HANDLE session, unsigned char *digest, unsigned long *digest_len))               \
    X(C_SignUpdate, (CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len))      \
    X(C_SignFinal,                                                                                 \
      (CK_SESSION_HANDLE session, unsigned char *signature, unsigned long *signature_len))         \
    X(C_SignRecoverInit,                                                                           \
      (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_OBJECT_HANDLE key))                 \
    X(C_SignRecover, (CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len,      \
                      unsigned char *signature, unsigned long *signature_len))                     \
    X(C_VerifyInit, (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_OBJECT_HANDLE key))   \
    X(C_Verify, (CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len,           \
                 unsigned char *signature, unsigned long signature_len))                           \
    X(C_VerifyUpdate, (CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len))    \
    X(C_VerifyFinal,                                                                               \
      (CK_SESSION_HANDLE session, unsigned char *signature, unsigned long signature_len))          \
    X(C_VerifyRecoverInit,                                                                         \
      (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_OBJECT_HANDLE key))                 \
    X(C_VerifyRecover,                                                                             \
      (CK_SESSION_HANDLE session, unsigned char *signature, unsigned long signature_len,           \
       unsigned char *data, unsigned long *data_len))                                              \
    X(C_DigestEncryptUpdate,                                                                       \
      (CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len,                     \
       unsigned char *encrypted_part, unsigned long *encrypted_part_len))                          \
    X(C_DecryptDigestUpdate,                                                                       \
      (CK_SESSION_HANDLE session, unsigned char *encrypted_part, unsigned long encrypted_part_len, \
       unsigned char *part, unsigned long *part_len))                                              \
    X(C_SignEncryptUpdate,                                                                         \
      (CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len,                     \
       unsigned char *encrypted_part, unsigned long *encrypted_part_len))                          \
    X(C_DecryptVerifyUpdate,                                                                       \
      (CK_SESSION_HANDLE session, unsigned char *encrypted_part, unsigned long encrypted_part_len, \
       unsigned char *part, unsigned long *part_len))                                              \
    X(C_GenerateKey, (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_ATTRIBUTE * templ,   \
                      unsigned long count, CK_OBJECT_HANDLE *key))                                 \
    X(C_GenerateKeyPair,                                                                           \
      (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_ATTRIBUTE * public_key_template,    \
       unsigned long public_key_attribute_count, CK_ATTRIBUTE *private_key_template,               \
       unsigned long private_key_attribute_count, CK_OBJECT_HANDLE *public_key,                    \
       CK_OBJECT_HANDLE *private_key))                                                             \
    X(C_WrapKey,                                                                                   \
      (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_OBJECT_HANDLE wrapping_key,         \
       CK_OBJECT_HANDLE key, unsigned char *wrapped_key, unsigned long *wrapped_key_len))          \
    X(C_UnwrapKey,                                                                                 \
      (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_OBJECT_HANDLE unwrapping_key,       \
       unsigned char *wrapped_key, unsigned long wrapped_key_len, CK_ATTRIBUTE *templ,             \
       unsigned long attribute_count, CK_OBJECT_HANDLE *key))                                      \
    X(C_DeriveKey,                                                                                 \
      (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_OBJECT_HANDLE base_key,             \
       CK_ATTRIBUTE * templ, unsigned long attribute_count, CK_OBJECT_HANDLE *key))                \
    X(C_SeedRandom, (CK_SESSION_HANDLE session, unsigned char *seed, unsigned long seed_len))      \
    X(C_GenerateRandom,                                                                            \
      (CK_SESSION_HANDLE session, unsigned char *random_data, unsigned long random_len))           \
    X(C_GetFunctionStatus, (CK_SESSION_HANDLE session))                                            \
    X(C_CancelFunction, (CK_SESSION_HANDLE session))                                               \
    X(C_WaitForSlotEvent, (CK_FLAGS flags, CK_SLOT_ID * slot, void *reserved))
HS_FAKE_P11_STUBS(HS_FAKE_P11_STUB)
#undef HS_FAKE_P11_STUB
#pragma GCC diagnostic pop

CK_FUNCTION_LIST *hs_fake_p11_functions(void)
{
    static CK_FUNCTION_LIST list = {.version = {2, 40},
#define HS_FAKE_P11_SLOT_FN(name) .name = fake_##name,
                                    HS_FAKE_P11_FUNCTIONS(HS_FAKE_P11_SLOT_FN)
#undef HS_FAKE_P11_SLOT_FN
    };
    return &list;
}
