#include "pkcs11/p11_mech.h"

#include "pkcs11/p11_error.h"

struct p11_mech_entry {
    CK_MECHANISM_TYPE type;
    const char *name;
};

/* clang-format off */
#define P11_MECH_ENTRY(x) {x, #x}
/* clang-format on */

/* The mechanisms hsmsign uses or reports, by name (PKCS#11 v2.40 §2.1 / §6). */
static const struct p11_mech_entry p11_mech_names[] = {
    P11_MECH_ENTRY(CKM_RSA_PKCS_KEY_PAIR_GEN),
    P11_MECH_ENTRY(CKM_RSA_PKCS),
    P11_MECH_ENTRY(CKM_RSA_PKCS_PSS),
    P11_MECH_ENTRY(CKM_SHA256_RSA_PKCS),
    P11_MECH_ENTRY(CKM_SHA384_RSA_PKCS),
    P11_MECH_ENTRY(CKM_SHA512_RSA_PKCS),
    P11_MECH_ENTRY(CKM_SHA256_RSA_PKCS_PSS),
    P11_MECH_ENTRY(CKM_SHA384_RSA_PKCS_PSS),
    P11_MECH_ENTRY(CKM_SHA512_RSA_PKCS_PSS),
    P11_MECH_ENTRY(CKM_EC_KEY_PAIR_GEN),
    P11_MECH_ENTRY(CKM_ECDSA),
    P11_MECH_ENTRY(CKM_ECDSA_SHA256),
    P11_MECH_ENTRY(CKM_ECDSA_SHA384),
    P11_MECH_ENTRY(CKM_EC_EDWARDS_KEY_PAIR_GEN),
    P11_MECH_ENTRY(CKM_EDDSA),
};

const char *p11_mech_name(CK_MECHANISM_TYPE type)
{
    for (size_t i = 0; i < sizeof(p11_mech_names) / sizeof(p11_mech_names[0]); i++) {
        if (p11_mech_names[i].type == type) {
            return p11_mech_names[i].name;
        }
    }
    return type >= CKM_VENDOR_DEFINED ? "CKM_VENDOR_DEFINED" : "CKM_UNKNOWN";
}

static bool p11_mech_is_rsa(CK_MECHANISM_TYPE type)
{
    switch (type) {
    case CKM_RSA_PKCS_KEY_PAIR_GEN:
    case CKM_RSA_PKCS:
    case CKM_RSA_PKCS_PSS:
    case CKM_SHA256_RSA_PKCS:
    case CKM_SHA384_RSA_PKCS:
    case CKM_SHA512_RSA_PKCS:
    case CKM_SHA256_RSA_PKCS_PSS:
    case CKM_SHA384_RSA_PKCS_PSS:
    case CKM_SHA512_RSA_PKCS_PSS:
        return true;
    default:
        return false;
    }
}

HS_RESULT p11_mechs_probe(CK_FUNCTION_LIST *fn, CK_SLOT_ID slot, struct p11_mechs *out)
{
    HS_ENSURE_REF(fn);
    HS_ENSURE_REF(out);
    CK_ULONG n = 0;
    HS_GUARD_CKR(fn->C_GetMechanismList(slot, NULL, &n));
    HS_ENSURE_MSG(n <= P11_MECHS_MAX, HS_ERR_BOUNDS, "token offers more than %d mechanisms",
                  P11_MECHS_MAX);
    HS_GUARD_CKR(fn->C_GetMechanismList(slot, out->type, &n));
    for (CK_ULONG i = 0; i < n; i++) {
        HS_GUARD_CKR(fn->C_GetMechanismInfo(slot, out->type[i], &out->info[i]));
    }
    out->n = n;
    return HS_OK;
}

const CK_MECHANISM_INFO *p11_mechs_find(const struct p11_mechs *m, CK_MECHANISM_TYPE type)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->type[i] == type) {
            return &m->info[i];
        }
    }
    return NULL;
}

HS_RESULT p11_mechs_require(const struct p11_mechs *m, CK_MECHANISM_TYPE type, CK_FLAGS need,
                            unsigned int key_bits, const char *what)
{
    HS_ENSURE_REF(m);
    const CK_MECHANISM_INFO *info = p11_mechs_find(m, type);
    HS_ENSURE_MSG(info != NULL && (info->flags & need) == need, HS_ERR_HSM_MECHANISM,
                  "token does not offer %s for %s", p11_mech_name(type), what);
    /* Only RSA ranges are compared: PKCS#11 fixes them in bits of the modulus, while tokens
     * disagree on the units of EC and EdDSA ranges (field bits, bytes, curve ids), and a token
     * may leave a range meaningless (PKCS#11 v2.40 §5.5: 0/0). */
    bool ranged =
        p11_mech_is_rsa(type) && info->ulMaxKeySize > 0 && info->ulMinKeySize <= info->ulMaxKeySize;
    HS_ENSURE_MSG(!ranged || (key_bits >= info->ulMinKeySize && key_bits <= info->ulMaxKeySize),
                  HS_ERR_HSM_MECHANISM, "%s takes keys of %lu..%lu bits, not %u",
                  p11_mech_name(type), info->ulMinKeySize, info->ulMaxKeySize, key_bits);
    return HS_OK;
}
