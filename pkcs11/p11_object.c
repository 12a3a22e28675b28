#include <string.h>

#include "pkcs11/internal.h"

HS_RESULT p11_find_objects(const struct p11_call *call, CK_ATTRIBUTE *tmpl, CK_ULONG n,
                           CK_OBJECT_HANDLE *out, size_t max, size_t *out_count)
{
    HS_GUARD_CKR(call->fn->C_FindObjectsInit(call->session, tmpl, n));
    CK_ULONG found = 0;
    CK_RV rv = call->fn->C_FindObjects(call->session, out, (CK_ULONG)max, &found);
    /* Final runs on every path so the session is left without an active search. */
    CK_RV final_rv = call->fn->C_FindObjectsFinal(call->session);
    HS_GUARD_CKR(rv);
    HS_GUARD_CKR(final_rv);
    *out_count = found;
    return HS_OK;
}

HS_RESULT p11_attr_read(const struct p11_call *call, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
                        struct hs_buf *out)
{
    /* One call when the value fits what is left of out (up to P11_ATTR_MAX): on CloudHSM each
     * C_GetAttributeValue is a network round trip, and asking the size first doubled them. Only
     * CKR_BUFFER_TOO_SMALL (PKCS#11 v2.40 §5.7) falls back to the size query. */
    size_t room = hs_buf_max(out) - hs_buf_len(out);
    room = room < P11_ATTR_MAX ? room : P11_ATTR_MAX;
    unsigned char *p = NULL;
    HS_GUARD(hs_buf_reserve(out, room, &p));
    CK_ATTRIBUTE a = {type, p, (CK_ULONG)room};
    CK_RV rv = call->fn->C_GetAttributeValue(call->session, obj, &a, 1);
    if (rv != CKR_BUFFER_TOO_SMALL) {
        HS_GUARD_CKR(rv);
        HS_ENSURE(a.ulValueLen != CK_UNAVAILABLE_INFORMATION, HS_ERR_HSM);
        HS_ENSURE(a.ulValueLen <= room, HS_ERR_BOUNDS);
        return hs_buf_commit(out, a.ulValueLen);
    }
    a = (CK_ATTRIBUTE){type, NULL, 0};
    HS_GUARD_CKR(call->fn->C_GetAttributeValue(call->session, obj, &a, 1));
    HS_ENSURE(a.ulValueLen != CK_UNAVAILABLE_INFORMATION, HS_ERR_HSM);
    HS_ENSURE(a.ulValueLen <= P11_ATTR_MAX, HS_ERR_BOUNDS);
    HS_GUARD(hs_buf_reserve(out, a.ulValueLen, &p));
    a.pValue = p;
    CK_ULONG reserved = a.ulValueLen;
    HS_GUARD_CKR(call->fn->C_GetAttributeValue(call->session, obj, &a, 1));
    HS_ENSURE(a.ulValueLen <= reserved, HS_ERR_BOUNDS);
    return hs_buf_commit(out, a.ulValueLen);
}

HS_RESULT p11_attrs_read(const struct p11_call *call, CK_OBJECT_HANDLE obj,
                         const struct p11_attr_want *want, size_t n)
{
    HS_ENSURE(n > 0 && n <= P11_ATTRS_MAX, HS_ERR_INTERNAL);
    CK_ATTRIBUTE tmpl[P11_ATTRS_MAX] = {{0}};
    size_t room[P11_ATTRS_MAX] = {0};
    for (size_t i = 0; i < n; i++) {
        room[i] = hs_buf_max(want[i].out) - hs_buf_len(want[i].out);
        room[i] = room[i] < P11_ATTR_MAX ? room[i] : P11_ATTR_MAX;
        unsigned char *p = NULL;
        HS_GUARD(hs_buf_reserve(want[i].out, room[i], &p));
        tmpl[i] = (CK_ATTRIBUTE){want[i].type, p, (CK_ULONG)room[i]};
    }
    CK_RV rv = call->fn->C_GetAttributeValue(call->session, obj, tmpl, (CK_ULONG)n);
    bool all = rv == CKR_OK;
    for (size_t i = 0; all && i < n; i++) {
        all = tmpl[i].ulValueLen != CK_UNAVAILABLE_INFORMATION && tmpl[i].ulValueLen <= room[i];
    }
    if (all) {
        for (size_t i = 0; i < n; i++) {
            HS_GUARD(hs_buf_commit(want[i].out, tmpl[i].ulValueLen));
        }
        return HS_OK;
    }
    /* Not every value came (an attribute the object lacks, one too large, a sensitive one):
     * each alone, so that the error is the one p11_attr_read gives. */
    for (size_t i = 0; i < n; i++) {
        HS_GUARD(p11_attr_read(call, obj, want[i].type, want[i].out));
    }
    return HS_OK;
}

HS_RESULT p11_attr_bool(const struct p11_call *call, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
                        bool *out)
{
    CK_BBOOL v = CK_FALSE;
    CK_ATTRIBUTE a = {type, &v, sizeof(v)};
    CK_RV rv = call->fn->C_GetAttributeValue(call->session, obj, &a, 1);
    if (rv == CKR_ATTRIBUTE_TYPE_INVALID) {
        *out = false;
        return HS_OK;
    }
    HS_GUARD_CKR(rv);
    HS_ENSURE(a.ulValueLen == sizeof(v), HS_ERR_HSM);
    *out = v == CK_TRUE;
    return HS_OK;
}

HS_RESULT p11_attr_ulong(const struct p11_call *call, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
                         CK_ULONG *out)
{
    CK_ULONG v = 0;
    CK_ATTRIBUTE a = {type, &v, sizeof(v)};
    HS_GUARD_CKR(call->fn->C_GetAttributeValue(call->session, obj, &a, 1));
    HS_ENSURE(a.ulValueLen == sizeof(v), HS_ERR_HSM);
    *out = v;
    return HS_OK;
}
