#include "pkcs11/p11_token.h"

#include <string.h>

#include "common/hs_log.h"
#include "pkcs11/p11_error.h"

#define P11_TOKEN_SLOTS_MAX 1024

static HS_RESULT p11_token_free_slot(CK_FUNCTION_LIST *fn, CK_SLOT_ID *out)
{
    CK_ULONG count = 0;
    HS_GUARD_CKR(fn->C_GetSlotList(CK_TRUE, NULL, &count));
    HS_ENSURE(count <= P11_TOKEN_SLOTS_MAX, HS_ERR_HSM);
    CK_SLOT_ID slots[P11_TOKEN_SLOTS_MAX];
    HS_GUARD_CKR(fn->C_GetSlotList(CK_TRUE, slots, &count));
    for (CK_ULONG i = 0; i < count; i++) {
        CK_TOKEN_INFO info;
        if (fn->C_GetTokenInfo(slots[i], &info) == CKR_OK &&
            !(info.flags & CKF_TOKEN_INITIALIZED)) {
            *out = slots[i];
            return HS_OK;
        }
    }
    HS_BAIL_MSG(HS_ERR_HSM_TOKEN_NOT_FOUND, "no slot holds an uninitialised token");
}

/* As SO on the new token: set the user PIN. The session is closed on every path. */
static HS_RESULT p11_token_set_user_pin(CK_FUNCTION_LIST *fn, CK_SLOT_ID slot,
                                        const struct hs_secret *so_pin,
                                        const struct hs_secret *user_pin)
{
    CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
    HS_GUARD_CKR(fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h));
    const unsigned char *pin = NULL;
    size_t len = 0;
    hs_secret_get0(so_pin, &pin, &len);
    CK_RV rv = fn->C_Login(h, CKU_SO, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)len);
    if (rv == CKR_OK) {
        hs_secret_get0(user_pin, &pin, &len);
        rv = fn->C_InitPIN(h, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)len);
        HS_IGNORE(fn->C_Logout(h));
    }
    HS_IGNORE(fn->C_CloseSession(h));
    HS_GUARD_CKR(rv);
    return HS_OK;
}

HS_RESULT p11_token_init(struct p11_module *m, const char *label, const struct hs_secret *so_pin,
                         const struct hs_secret *user_pin)
{
    HS_ENSURE_REF(m);
    HS_ENSURE_REF(label);
    HS_ENSURE_REF(so_pin);
    HS_ENSURE_REF(user_pin);
    size_t n = strlen(label);
    HS_ENSURE_MSG(n > 0 && n <= 32, HS_ERR_INPUT_CONFIG, "token label must be 1..32 bytes");
    CK_SLOT_ID existing = 0;
    hs_result found = p11_module_find_token(m, label, &existing);
    HS_ENSURE_MSG(hs_failed(found), HS_ERR_INPUT_EXISTS, "a token labelled \"%s\" already exists",
                  label);
    if (found.code != HS_ERR_HSM_TOKEN_NOT_FOUND) {
        return found;
    }
    CK_FUNCTION_LIST *fn = p11_module_get0_functions(m);
    CK_SLOT_ID slot = 0;
    HS_GUARD(p11_token_free_slot(fn, &slot));
    /* CK_TOKEN_INFO labels are 32 bytes padded with blanks, not NUL-terminated (PKCS#11 3.0 §3.2). */
    CK_UTF8CHAR padded[32];
    for (size_t i = 0; i < sizeof(padded); i++) {
        padded[i] = i < n ? (CK_UTF8CHAR)label[i] : ' ';
    }
    const unsigned char *pin = NULL;
    size_t len = 0;
    hs_secret_get0(so_pin, &pin, &len);
    HS_GUARD_CKR(fn->C_InitToken(slot, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)len, padded));
    /* SoftHSM moves the new token to a fresh slot id: find it again by its label. */
    HS_GUARD(p11_module_find_token(m, label, &slot));
    HS_GUARD(p11_token_set_user_pin(fn, slot, so_pin, user_pin));
    hs_log(HS_LOG_INFO, "hsm.token.init", HS_LOG_AUDIT, HS_LOG_STR("token", label),
           HS_LOG_STR("module", p11_module_path(m)));
    return HS_OK;
}
