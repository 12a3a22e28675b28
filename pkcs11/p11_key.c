#include "pkcs11/p11_key.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <p11-kit/uri.h>

#include "common/hs_defer.h"
#include "common/hs_log.h"
#include "pkcs11/internal.h"

#define P11_KEY_DEFAULT_ID_LEN 16
#define P11_EC_PARAMS_MAX 64

struct p11_key {
    atomic_int refs;
    struct p11_pool *pool;
    enum p11_key_type type;
    CK_KEY_TYPE ck_type;
    unsigned int bits;
    char label[P11_LABEL_MAX + 1];
    unsigned char id[P11_ID_MAX];
    size_t id_len;
    EVP_PKEY *pub;

    pthread_mutex_t lock; /* guards the cached handle and the load's attributes */
    CK_OBJECT_HANDLE handle;
    uint64_t handle_epoch;
    bool have_handle;
    /* The protection attributes read in the load's own C_GetAttributeValue, for the first
     * p11_key_get_attrs (p11_key_check_protected right after the load asks nothing). */
    struct p11_key_attrs load_attrs;
    bool have_load_attrs;
};

/* What identifies a key on the token: a label, an id, or both. */
struct p11_key_query {
    char label[P11_LABEL_MAX + 1];
    bool has_label;
    unsigned char id[P11_ID_MAX];
    size_t id_len;
    bool has_id;
};

HS_DEFINE_FREEP(p11_uri_freep, P11KitUri, p11_kit_uri_free)

const char *p11_key_type_name(enum p11_key_type type)
{
    switch (type) {
    case P11_KEY_RSA:
        return "RSA";
    case P11_KEY_EC_P256:
        return "EC-P256";
    case P11_KEY_EC_P384:
        return "EC-P384";
    case P11_KEY_ED25519:
        return "Ed25519";
    default:
        return "unknown";
    }
}

static HS_RESULT p11_query_set_label(struct p11_key_query *q, const void *p, size_t n)
{
    HS_ENSURE_MSG(n > 0 && n <= P11_LABEL_MAX && memchr(p, '\0', n) == NULL, HS_ERR_INPUT_CONFIG,
                  "key label must be 1..%d bytes without NUL", P11_LABEL_MAX);
    memcpy(q->label, p, n);
    q->label[n] = '\0';
    q->has_label = true;
    return HS_OK;
}

static HS_RESULT p11_query_set_id(struct p11_key_query *q, const void *p, size_t n)
{
    HS_ENSURE_MSG(n > 0 && n <= P11_ID_MAX, HS_ERR_INPUT_CONFIG, "key id must be 1..%d bytes",
                  P11_ID_MAX);
    memcpy(q->id, p, n);
    q->id_len = n;
    q->has_id = true;
    return HS_OK;
}

/* Parses an RFC 7512 URI with p11-kit and checks that it names a private key on this pool's
 * token. A URI carrying a PIN (pin-value, pin-source) is refused: PINs come from the PIN file. */
static HS_RESULT p11_query_from_uri(struct p11_pool *pool, const char *ref, struct p11_key_query *q)
{
    HS_DEFER(P11KitUri *uri = p11_kit_uri_new(), p11_uri_freep);
    HS_ENSURE(uri != NULL, HS_ERR_NOMEM);
    int rc = p11_kit_uri_parse(ref, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, uri);
    HS_ENSURE_MSG(rc == P11_KIT_URI_OK, HS_ERR_INPUT_CONFIG, "key URI: %s",
                  p11_kit_uri_message(rc));
    HS_ENSURE_MSG(p11_kit_uri_any_unrecognized(uri) == 0, HS_ERR_INPUT_CONFIG,
                  "key URI has attributes this service does not understand");
    HS_ENSURE_MSG(p11_kit_uri_get_pin_value(uri) == NULL && p11_kit_uri_get_pin_source(uri) == NULL,
                  HS_ERR_INPUT_CONFIG, "key URI must not carry a PIN; use the PIN file");
    CK_TOKEN_INFO info;
    HS_GUARD(p11_pool_get_token_info(pool, &info));
    HS_ENSURE_MSG(p11_kit_uri_match_token_info(uri, &info) == 1, HS_ERR_HSM_KEY_NOT_FOUND,
                  "key URI names another token than \"%s\"", p11_pool_token_label(pool));
    CK_ATTRIBUTE *cls = p11_kit_uri_get_attribute(uri, CKA_CLASS);
    if (cls != NULL) {
        CK_OBJECT_CLASS c = 0;
        HS_ENSURE(cls->ulValueLen == sizeof(c), HS_ERR_INPUT_CONFIG);
        memcpy(&c, cls->pValue, sizeof(c));
        HS_ENSURE_MSG(c == CKO_PRIVATE_KEY, HS_ERR_INPUT_CONFIG, "key URI must have type=private");
    }
    CK_ATTRIBUTE *label = p11_kit_uri_get_attribute(uri, CKA_LABEL);
    if (label != NULL) {
        HS_GUARD(p11_query_set_label(q, label->pValue, label->ulValueLen));
    }
    CK_ATTRIBUTE *id = p11_kit_uri_get_attribute(uri, CKA_ID);
    if (id != NULL) {
        HS_GUARD(p11_query_set_id(q, id->pValue, id->ulValueLen));
    }
    HS_ENSURE_MSG(q->has_label || q->has_id, HS_ERR_INPUT_CONFIG,
                  "key URI must name the key with object= or id=");
    return HS_OK;
}

static HS_RESULT p11_query_parse(struct p11_pool *pool, const char *ref, struct p11_key_query *q)
{
    memset(q, 0, sizeof(*q));
    size_t n = strnlen(ref, P11_KEY_REF_MAX + 1);
    HS_ENSURE_MSG(n <= P11_KEY_REF_MAX, HS_ERR_INPUT_CONFIG, "key reference too long");
    if (strncmp(ref, "pkcs11:", 7) == 0) {
        return p11_query_from_uri(pool, ref, q);
    }
    return p11_query_set_label(q, ref, n);
}

/* --- public key material -> EVP_PKEY ------------------------------------------------------- */

static HS_RESULT p11_pkey_fromdata(const char *alg, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
    HS_DEFER(OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld), hs_ossl_param_freep);
    HS_ENSURE(params != NULL, HS_ERR_NOMEM);
    HS_DEFER(EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL),
             hs_evp_pkey_ctx_freep);
    HS_ENSURE(ctx != NULL, HS_ERR_CRYPTO);
    HS_GUARD_OSSL(EVP_PKEY_fromdata_init(ctx), HS_ERR_CRYPTO);
    EVP_PKEY *pkey = NULL;
    HS_GUARD_OSSL(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), HS_ERR_CRYPTO);
    *out = pkey;
    return HS_OK;
}

HS_DEFINE_FREEP(p11_param_bld_freep, OSSL_PARAM_BLD, OSSL_PARAM_BLD_free)

static HS_RESULT p11_pub_rsa(const struct hs_buf *n, const struct hs_buf *e, EVP_PKEY **out)
{
    HS_DEFER(BIGNUM *bn_n = BN_bin2bn(hs_buf_data(n), (int)hs_buf_len(n), NULL), hs_bn_freep);
    HS_DEFER(BIGNUM *bn_e = BN_bin2bn(hs_buf_data(e), (int)hs_buf_len(e), NULL), hs_bn_freep);
    HS_ENSURE(bn_n != NULL && bn_e != NULL, HS_ERR_NOMEM);
    HS_DEFER(OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new(), p11_param_bld_freep);
    HS_ENSURE(bld != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n), HS_ERR_CRYPTO);
    HS_GUARD_OSSL(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e), HS_ERR_CRYPTO);
    return p11_pkey_fromdata("RSA", bld, out);
}

/* Maps CKA_EC_PARAMS (a DER OID, or for Ed25519 also the PrintableString "edwards25519" that
 * PKCS#11 3.0 §2.3.6 allows) to a key type. */
static HS_RESULT p11_curve_from_params(const struct hs_buf *params, enum p11_key_type *out)
{
    static const unsigned char ed_name[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r',
                                            'd',  's',  '2', '5', '5', '1', '9'};
    if (hs_buf_len(params) == sizeof(ed_name) &&
        memcmp(hs_buf_data(params), ed_name, sizeof(ed_name)) == 0) {
        *out = P11_KEY_ED25519;
        return HS_OK;
    }
    const unsigned char *p = hs_buf_data(params);
    ASN1_OBJECT *oid = d2i_ASN1_OBJECT(NULL, &p, (long)hs_buf_len(params));
    HS_ENSURE_MSG(oid != NULL, HS_ERR_INPUT_KEY, "CKA_EC_PARAMS is not a named curve");
    int nid = OBJ_obj2nid(oid);
    ASN1_OBJECT_free(oid);
    switch (nid) {
    case NID_X9_62_prime256v1:
        *out = P11_KEY_EC_P256;
        return HS_OK;
    case NID_secp384r1:
        *out = P11_KEY_EC_P384;
        return HS_OK;
    case NID_ED25519:
        *out = P11_KEY_ED25519;
        return HS_OK;
    default:
        HS_BAIL_MSG(HS_ERR_INPUT_KEY, "unsupported curve (nid %d)", nid);
    }
}

/* CKA_EC_POINT is a DER OCTET STRING holding the point (PKCS#11 v2.40 §2.3.3); some modules
 * return the bare point. Lends the point in *out / *out_len. */
static HS_RESULT p11_ec_point_unwrap(const struct hs_buf *raw, size_t point_len,
                                     const unsigned char **out, size_t *out_len)
{
    const unsigned char *p = hs_buf_data(raw);
    size_t n = hs_buf_len(raw);
    if (n == point_len + 2 && p[0] == 0x04 && p[1] == point_len) {
        *out = p + 2;
        *out_len = point_len;
        return HS_OK;
    }
    if (n == point_len + 3 && p[0] == 0x04 && p[1] == 0x81 && p[2] == point_len) {
        *out = p + 3;
        *out_len = point_len;
        return HS_OK;
    }
    HS_ENSURE_MSG(n == point_len, HS_ERR_INPUT_KEY, "CKA_EC_POINT has an unexpected length");
    *out = p;
    *out_len = n;
    return HS_OK;
}

static HS_RESULT p11_pub_ec(enum p11_key_type type, const struct hs_buf *point_attr, EVP_PKEY **out)
{
    const unsigned char *point = NULL;
    size_t len = 0;
    if (type == P11_KEY_ED25519) {
        HS_GUARD(p11_ec_point_unwrap(point_attr, 32, &point, &len));
        EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, point, len);
        HS_ENSURE(pkey != NULL, HS_ERR_CRYPTO);
        *out = pkey;
        return HS_OK;
    }
    size_t coord = type == P11_KEY_EC_P256 ? 32 : 48;
    HS_GUARD(p11_ec_point_unwrap(point_attr, 1 + 2 * coord, &point, &len));
    HS_ENSURE_MSG(point[0] == 0x04, HS_ERR_INPUT_KEY, "EC point is not uncompressed");
    HS_DEFER(OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new(), p11_param_bld_freep);
    HS_ENSURE(bld != NULL, HS_ERR_NOMEM);
    const char *group = type == P11_KEY_EC_P256 ? "P-256" : "P-384";
    HS_GUARD_OSSL(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
                  HS_ERR_CRYPTO);
    HS_GUARD_OSSL(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, len),
                  HS_ERR_CRYPTO);
    return p11_pkey_fromdata("EC", bld, out);
}

/* --- finding ------------------------------------------------------------------------------ */

/* Fills tmpl with the query's criteria for objects of class cls; returns the count. */
static CK_ULONG p11_query_template(const struct p11_key_query *q, const CK_OBJECT_CLASS *cls,
                                   CK_ATTRIBUTE tmpl[3])
{
    CK_ULONG n = 0;
    tmpl[n++] = (CK_ATTRIBUTE){CKA_CLASS, (void *)cls, sizeof(*cls)};
    if (q->has_label) {
        tmpl[n++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)q->label, strlen(q->label)};
    }
    if (q->has_id) {
        tmpl[n++] = (CK_ATTRIBUTE){CKA_ID, (void *)q->id, q->id_len};
    }
    return n;
}

/* The query's CKA_ID as lowercase hex ("" when it has none). */
static void p11_id_hex(const struct p11_key_query *q, char out[2 * P11_ID_MAX + 1])
{
    static const char digits[] = "0123456789abcdef";
    size_t n = q->has_id && q->id_len <= P11_ID_MAX ? q->id_len : 0;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[q->id[i] >> 4];
        out[2 * i + 1] = digits[q->id[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

static HS_RESULT p11_find_one(const struct p11_call *call, const struct p11_key_query *q,
                              CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *out)
{
    CK_ATTRIBUTE tmpl[3];
    CK_ULONG n = p11_query_template(q, &cls, tmpl);
    CK_OBJECT_HANDLE found[2];
    size_t count = 0;
    HS_GUARD(p11_find_objects(call, tmpl, n, found, 2, &count));
    if (count != 1) {
        /* Name the key as it was asked for: by label, by id (hex), or by both. */
        char id_hex[2 * P11_ID_MAX + 1];
        p11_id_hex(q, id_hex);
        HS_BAIL_MSG(HS_ERR_HSM_KEY_NOT_FOUND, "%s %s key with %s%s%s%s%s%s",
                    count == 0 ? "no" : "more than one",
                    cls == CKO_PRIVATE_KEY ? "private" : "public", q->has_label ? "label \"" : "",
                    q->has_label ? q->label : "", q->has_label ? "\"" : "",
                    q->has_label && q->has_id ? " and " : "", q->has_id ? "id " : "", id_hex);
    }
    *out = found[0];
    return HS_OK;
}

struct p11_key_load {
    const struct p11_key_query *query;
    struct p11_key *key; /* filled in place; reset on every attempt */
    EVP_PKEY *pub;       /* lent: the public key already read (by public key), or NULL */
    enum p11_key_type pub_type;
};

/* The key type and the EVP_PKEY of the public key material of obj (a public key, or an RSA
 * private key that carries its modulus and exponent), ck being the key's CKA_KEY_TYPE: from
 * CKA_MODULUS and CKA_PUBLIC_EXPONENT, or from CKA_EC_PARAMS (the curve) and CKA_EC_POINT, each
 * pair in one call. Errors: HS_ERR_INPUT_KEY (a key type or curve we do not sign with),
 * HS_ERR_HSM_*, HS_ERR_CRYPTO. */
static HS_RESULT p11_object_public(const struct p11_call *call, CK_OBJECT_HANDLE obj,
                                   CK_KEY_TYPE ck, enum p11_key_type *type, EVP_PKEY **out)
{
    HS_DEFER(struct hs_buf *a = hs_buf_new(P11_ATTR_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *b = hs_buf_new(P11_ATTR_MAX), hs_buf_freep);
    HS_ENSURE(a != NULL && b != NULL, HS_ERR_NOMEM);
    if (ck == CKK_RSA) {
        const struct p11_attr_want want[] = {{CKA_MODULUS, a}, {CKA_PUBLIC_EXPONENT, b}};
        HS_GUARD(p11_attrs_read(call, obj, want, 2));
        *type = P11_KEY_RSA;
        return p11_pub_rsa(a, b, out);
    }
    HS_ENSURE_MSG(ck == CKK_EC || ck == CKK_EC_EDWARDS, HS_ERR_INPUT_KEY,
                  "unsupported CKA_KEY_TYPE 0x%lx", ck);
    const struct p11_attr_want want[] = {{CKA_EC_PARAMS, b}, {CKA_EC_POINT, a}};
    HS_GUARD(p11_attrs_read(call, obj, want, 2));
    HS_ENSURE_MSG(hs_buf_len(b) <= P11_EC_PARAMS_MAX, HS_ERR_INPUT_KEY,
                  "CKA_EC_PARAMS longer than %d bytes", P11_EC_PARAMS_MAX);
    HS_GUARD(p11_curve_from_params(b, type));
    return p11_pub_ec(*type, a, out);
}

/* k's CKA_ID and CKA_LABEL from their values. */
static HS_RESULT p11_key_names_set(struct p11_key *k, const struct hs_buf *id,
                                   const struct hs_buf *label)
{
    HS_ENSURE_MSG(hs_buf_len(id) <= P11_ID_MAX, HS_ERR_INPUT_KEY, "CKA_ID longer than %d bytes",
                  P11_ID_MAX);
    k->id_len = hs_buf_len(id);
    if (k->id_len > 0) {
        memcpy(k->id, hs_buf_data(id), k->id_len);
    }
    size_t n = hs_buf_len(label);
    if (n > P11_LABEL_MAX) {
        n = P11_LABEL_MAX;
    }
    if (n > 0) {
        memcpy(k->label, hs_buf_data(label), n);
    }
    k->label[n] = '\0';
    return HS_OK;
}

/* obj's CKA_KEY_TYPE, CKA_ID and CKA_LABEL (one call) into k->ck_type and k's names. */
static HS_RESULT p11_object_head(const struct p11_call *call, CK_OBJECT_HANDLE obj,
                                 struct p11_key *k)
{
    HS_DEFER(struct hs_buf *type = hs_buf_new(sizeof(CK_KEY_TYPE)), hs_buf_freep);
    HS_DEFER(struct hs_buf *id = hs_buf_new(P11_ATTR_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *label = hs_buf_new(P11_ATTR_MAX), hs_buf_freep);
    HS_ENSURE(type != NULL && id != NULL && label != NULL, HS_ERR_NOMEM);
    const struct p11_attr_want want[] = {{CKA_KEY_TYPE, type}, {CKA_ID, id}, {CKA_LABEL, label}};
    HS_GUARD(p11_attrs_read(call, obj, want, 3));
    HS_ENSURE(hs_buf_len(type) == sizeof(CK_KEY_TYPE), HS_ERR_HSM);
    memcpy(&k->ck_type, hs_buf_data(type), sizeof(CK_KEY_TYPE));
    return p11_key_names_set(k, id, label);
}

/* The protection attributes (struct p11_key_attrs, in its order). */
#define P11_PROTECT_N 10
static const CK_ATTRIBUTE_TYPE p11_protect_types[P11_PROTECT_N] = {
    CKA_TOKEN,       CKA_PRIVATE,          CKA_SENSITIVE,
    CKA_EXTRACTABLE, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE,
    CKA_SIGN,        CKA_DECRYPT,          CKA_UNWRAP,
    CKA_DERIVE};

/* a's fields from the values of p11_protect_types, in that order. */
static void p11_protect_set(struct p11_key_attrs *a, const bool v[P11_PROTECT_N])
{
    a->token = v[0];
    a->private_ = v[1];
    a->sensitive = v[2];
    a->extractable = v[3];
    a->always_sensitive = v[4];
    a->never_extractable = v[5];
    a->sign = v[6];
    a->decrypt = v[7];
    a->unwrap = v[8];
    a->derive = v[9];
}

/* The private key's CKA_KEY_TYPE, CKA_ID, CKA_LABEL and protection attributes in one
 * C_GetAttributeValue (PKCS#11 v2.40 §5.7: every attribute of a private key object), so that a
 * key costs one round trip less at start. *out is false, and k unchanged, when the module did
 * not give every value (an attribute the object lacks, an id or label longer than k keeps:
 * CKR_ATTRIBUTE_TYPE_INVALID, CKR_BUFFER_TOO_SMALL...); the caller then reads them as before. */
static HS_RESULT p11_key_read_head_all(const struct p11_call *call, CK_OBJECT_HANDLE priv,
                                       struct p11_key *k, bool *out)
{
    CK_KEY_TYPE ck = 0;
    unsigned char id[P11_ID_MAX];
    unsigned char label[P11_LABEL_MAX];
    CK_BBOOL v[P11_PROTECT_N] = {0};
    CK_ATTRIBUTE tmpl[3 + P11_PROTECT_N] = {{CKA_KEY_TYPE, &ck, sizeof(ck)},
                                            {CKA_ID, id, sizeof(id)},
                                            {CKA_LABEL, label, sizeof(label)}};
    for (size_t i = 0; i < P11_PROTECT_N; i++) {
        tmpl[3 + i] = (CK_ATTRIBUTE){p11_protect_types[i], &v[i], sizeof(v[i])};
    }
    *out = false;
    CK_RV rv = call->fn->C_GetAttributeValue(call->session, priv, tmpl, 3 + P11_PROTECT_N);
    if (rv != CKR_OK) {
        return HS_OK; /* a session or device error shows again in the reads that follow */
    }
    bool fits = tmpl[0].ulValueLen == sizeof(ck) && tmpl[1].ulValueLen <= sizeof(id) &&
                tmpl[2].ulValueLen <= sizeof(label);
    for (size_t i = 0; i < P11_PROTECT_N; i++) {
        fits = fits && tmpl[3 + i].ulValueLen == sizeof(v[i]);
    }
    if (!fits) {
        return HS_OK;
    }
    k->ck_type = ck;
    k->id_len = tmpl[1].ulValueLen;
    memcpy(k->id, id, k->id_len);
    memcpy(k->label, label, tmpl[2].ulValueLen);
    k->label[tmpl[2].ulValueLen] = '\0';
    bool b[P11_PROTECT_N];
    for (size_t i = 0; i < P11_PROTECT_N; i++) {
        b[i] = v[i] == CK_TRUE;
    }
    p11_protect_set(&k->load_attrs, b);
    k->have_load_attrs = true;
    *out = true;
    return HS_OK;
}

static HS_RESULT p11_key_read_public(const struct p11_call *call, CK_OBJECT_HANDLE priv,
                                     struct p11_key *k)
{
    struct p11_key_query pq;
    memset(&pq, 0, sizeof(pq));
    if (k->id_len > 0) {
        HS_GUARD(p11_query_set_id(&pq, k->id, k->id_len));
    } else {
        HS_GUARD(p11_query_set_label(&pq, k->label, strlen(k->label)));
    }
    CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE;
    hs_result r = p11_find_one(call, &pq, CKO_PUBLIC_KEY, &pub);
    if (hs_failed(r) && k->ck_type == CKK_RSA && r.code == HS_ERR_HSM_KEY_NOT_FOUND) {
        pub = priv;
    } else {
        HS_GUARD(r);
    }
    /* An EC key's curve is the public object's (its CKA_EC_PARAMS, read with the point): the
     * pair shares it, and one round trip fewer than asking the private key too. */
    return p11_object_public(call, pub, k->ck_type, &k->type, &k->pub);
}

static HS_RESULT p11_key_load_op(const struct p11_call *call, void *arg)
{
    struct p11_key_load *ld = arg;
    struct p11_key *k = ld->key;
    EVP_PKEY_free(k->pub);
    k->pub = NULL;
    CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE;
    k->have_load_attrs = false;
    HS_GUARD(p11_find_one(call, ld->query, CKO_PRIVATE_KEY, &priv));
    bool all = false;
    HS_GUARD(p11_key_read_head_all(call, priv, k, &all));
    if (!all) {
        HS_GUARD(p11_object_head(call, priv, k));
    }
    if (ld->pub != NULL) {
        /* Found by its public key, whose object (type, curve, value) was read just now. */
        bool rsa = ld->pub_type == P11_KEY_RSA;
        HS_ENSURE_MSG(rsa ? k->ck_type == CKK_RSA
                          : k->ck_type == CKK_EC || k->ck_type == CKK_EC_EDWARDS,
                      HS_ERR_HSM_KEY_NOT_FOUND,
                      "the private key with the matching CKA_ID is of another key type");
        HS_ENSURE(EVP_PKEY_up_ref(ld->pub) == 1, HS_ERR_CRYPTO);
        k->pub = ld->pub;
        k->type = ld->pub_type;
    } else {
        HS_GUARD(p11_key_read_public(call, priv, k));
    }
    int bits = EVP_PKEY_get_bits(k->pub);
    HS_ENSURE(bits > 0, HS_ERR_CRYPTO);
    k->bits = (unsigned int)bits;
    k->handle = priv;
    k->handle_epoch = call->epoch;
    k->have_handle = true;
    return HS_OK;
}

static struct p11_key *p11_key_alloc(struct p11_pool *pool)
{
    struct p11_key *k = OPENSSL_zalloc(sizeof(*k));
    if (k == NULL) {
        return NULL;
    }
    atomic_init(&k->refs, 1);
    pthread_mutex_init(&k->lock, NULL);
    k->pool = pool;
    return k;
}

/* Loads the private key q names; pub (lent, of type pub_type) is its public key when the caller
 * has already read it from the token, else NULL. */
static HS_RESULT p11_key_load(struct p11_pool *pool, const struct p11_key_query *q, EVP_PKEY *pub,
                              enum p11_key_type pub_type, struct p11_key **out)
{
    HS_DEFER(struct p11_key *k = p11_key_alloc(pool), p11_key_freep);
    HS_ENSURE(k != NULL, HS_ERR_NOMEM);
    struct p11_key_load ld = {q, k, pub, pub_type};
    HS_GUARD(p11_pool_run(pool, p11_key_load_op, &ld));
    if (k->type == P11_KEY_RSA) {
        HS_ENSURE_MSG(k->bits >= 2048, HS_ERR_INPUT_KEY, "RSA key of %u bits is too small",
                      k->bits);
    }
    *out = k;
    k = NULL;
    return HS_OK;
}

HS_RESULT p11_key_find(struct p11_pool *pool, const char *ref, struct p11_key **out)
{
    HS_ENSURE_REF(pool);
    HS_ENSURE_REF(ref);
    struct p11_key_query q;
    HS_GUARD(p11_query_parse(pool, ref, &q));
    return p11_key_load(pool, &q, NULL, P11_KEY_RSA, out);
}

#define P11_PUBLIC_SCAN_MAX 256

struct p11_pubfind {
    EVP_PKEY *want;
    struct p11_key_query *query; /* filled with the match's CKA_ID (or label) */
    bool found;
    enum p11_key_type type; /* the match's */
};

/* The value a token stores for want's public key (PKCS#11 v2.40 §2.3.3 and §2.1.2): CKA_EC_POINT
 * as a DER OCTET STRING of the uncompressed point (EC) or of the 32-byte key (Ed25519), or
 * CKA_MODULUS big-endian without leading zeros (RSA). *attr is 0 for another kind of key. */
struct p11_pub_value {
    CK_ATTRIBUTE_TYPE attr;
    CK_KEY_TYPE key_type;
    unsigned char value[P11_ATTR_MAX];
    size_t len;
};

static void p11_pub_value_freep(struct p11_pub_value **v)
{
    OPENSSL_free(*v);
}

static void p11_pub_value_of(EVP_PKEY *want, struct p11_pub_value *out)
{
    out->attr = 0;
    size_t n = 0;
    if (EVP_PKEY_is_a(want, "RSA")) {
        BIGNUM *bn = NULL;
        if (EVP_PKEY_get_bn_param(want, OSSL_PKEY_PARAM_RSA_N, &bn) == 1 && BN_num_bytes(bn) > 0 &&
            (size_t)BN_num_bytes(bn) <= sizeof(out->value)) {
            out->len = (size_t)BN_bn2bin(bn, out->value);
            out->key_type = CKK_RSA;
            out->attr = CKA_MODULUS;
        }
        BN_free(bn);
        return;
    }
    /* A DER OCTET STRING of at most 127 bytes: 0x04, the length, the point. */
    bool ed = EVP_PKEY_is_a(want, "ED25519");
    if (ed) {
        n = 32;
        if (EVP_PKEY_get_raw_public_key(want, out->value + 2, &n) != 1) {
            return;
        }
    } else if (!EVP_PKEY_is_a(want, "EC") ||
               EVP_PKEY_get_octet_string_param(want, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                               out->value + 2, 127, &n) != 1) {
        return;
    }
    if (n == 0 || n > 127) {
        return;
    }
    out->value[0] = 0x04;
    out->value[1] = (unsigned char)n;
    out->len = n + 2;
    out->key_type = ed ? CKK_EC_EDWARDS : CKK_EC;
    out->attr = CKA_EC_POINT;
}

/* The public key objects that may be want: those whose stored value equals want's (one search
 * the token answers, instead of reading every public key), or, when that finds none (a module
 * that stores the point another way), every public key object (at most P11_PUBLIC_SCAN_MAX). */
static HS_RESULT p11_pubfind_candidates(const struct p11_call *call, EVP_PKEY *want,
                                        CK_OBJECT_HANDLE *objs, size_t *n)
{
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    *n = 0;
    HS_DEFER(struct p11_pub_value *v = OPENSSL_malloc(sizeof(*v)), p11_pub_value_freep);
    HS_ENSURE(v != NULL, HS_ERR_NOMEM);
    p11_pub_value_of(want, v);
    if (v->attr != 0) {
        CK_ATTRIBUTE exact[3] = {{CKA_CLASS, &cls, sizeof(cls)},
                                 {CKA_KEY_TYPE, &v->key_type, sizeof(v->key_type)},
                                 {v->attr, v->value, (CK_ULONG)v->len}};
        HS_GUARD(p11_find_objects(call, exact, 3, objs, P11_FIND_MAX, n));
        if (*n > 0) {
            return HS_OK;
        }
    }
    CK_ATTRIBUTE tmpl = {CKA_CLASS, &cls, sizeof(cls)};
    return p11_find_objects(call, &tmpl, 1, objs, P11_PUBLIC_SCAN_MAX, n);
}

/* Looks at the candidate public key objects for one whose key equals want. Objects of key types
 * we do not use are passed over; the token's match is never trusted alone. */
static HS_RESULT p11_pubfind_op(const struct p11_call *call, void *arg)
{
    struct p11_pubfind *pf = arg;
    pf->found = false;
    CK_OBJECT_HANDLE objs[P11_PUBLIC_SCAN_MAX];
    size_t n = 0;
    HS_GUARD(p11_pubfind_candidates(call, pf->want, objs, &n));
    for (size_t i = 0; i < n && !pf->found; i++) {
        /* Type, id and label in one call; then the key (and curve) in another. */
        struct p11_key k;
        memset(&k, 0, sizeof(k));
        HS_GUARD(p11_object_head(call, objs[i], &k));
        enum p11_key_type type = P11_KEY_RSA;
        HS_DEFER(EVP_PKEY *pub = NULL, hs_evp_pkey_freep);
        hs_result r = p11_object_public(call, objs[i], k.ck_type, &type, &pub);
        if (hs_failed(r) && r.code == HS_ERR_INPUT_KEY) {
            continue; /* a key type or curve we do not use */
        }
        HS_GUARD(r);
        if (EVP_PKEY_eq(pub, pf->want) != 1) {
            continue;
        }
        pf->type = type;
        memset(pf->query, 0, sizeof(*pf->query));
        if (k.id_len > 0) {
            HS_GUARD(p11_query_set_id(pf->query, k.id, k.id_len));
        } else {
            HS_GUARD(p11_query_set_label(pf->query, k.label, strlen(k.label)));
        }
        pf->found = true;
    }
    return HS_OK;
}

HS_RESULT p11_key_find_by_public(struct p11_pool *pool, EVP_PKEY *pub, struct p11_key **out)
{
    HS_ENSURE_REF(pool);
    HS_ENSURE_REF(pub);
    struct p11_key_query q;
    memset(&q, 0, sizeof(q));
    struct p11_pubfind pf = {pub, &q, false, P11_KEY_RSA};
    HS_GUARD(p11_pool_run(pool, p11_pubfind_op, &pf));
    HS_ENSURE_MSG(pf.found, HS_ERR_HSM_KEY_NOT_FOUND,
                  "no public key object on token \"%s\" matches", p11_pool_token_label(pool));
    HS_DEFER(struct p11_key *k = NULL, p11_key_freep);
    /* The matching object's key is pub: the load reads only the private key. */
    HS_GUARD(p11_key_load(pool, &q, pub, pf.type, &k));
    HS_ENSURE_MSG(EVP_PKEY_eq(k->pub, pub) == 1, HS_ERR_HSM_KEY_NOT_FOUND,
                  "the private key with the matching CKA_ID has another public key");
    *out = k;
    k = NULL;
    return HS_OK;
}

HS_RESULT p11_key_handle(struct p11_key *k, const struct p11_call *call, CK_OBJECT_HANDLE *out)
{
    pthread_mutex_lock(&k->lock);
    bool cached = k->have_handle && k->handle_epoch == call->epoch;
    CK_OBJECT_HANDLE h = k->handle;
    pthread_mutex_unlock(&k->lock);
    if (cached) {
        *out = h;
        return HS_OK;
    }
    /* The epoch moved (a session was dropped or the module re-initialised): never trust an
     * old handle; search again by the key's identity. */
    struct p11_key_query q;
    memset(&q, 0, sizeof(q));
    if (k->id_len > 0) {
        HS_GUARD(p11_query_set_id(&q, k->id, k->id_len));
    }
    if (k->label[0] != '\0') {
        HS_GUARD(p11_query_set_label(&q, k->label, strlen(k->label)));
    }
    HS_GUARD(p11_find_one(call, &q, CKO_PRIVATE_KEY, &h));
    pthread_mutex_lock(&k->lock);
    k->handle = h;
    k->handle_epoch = call->epoch;
    k->have_handle = true;
    pthread_mutex_unlock(&k->lock);
    *out = h;
    return HS_OK;
}

struct p11_key *p11_key_up_ref(struct p11_key *k)
{
    atomic_fetch_add(&k->refs, 1);
    return k;
}

void p11_key_free(struct p11_key *k)
{
    if (k == NULL || atomic_fetch_sub(&k->refs, 1) != 1) {
        return;
    }
    EVP_PKEY_free(k->pub);
    pthread_mutex_destroy(&k->lock);
    OPENSSL_free(k);
}

void p11_key_freep(struct p11_key **k)
{
    p11_key_free(*k);
}

EVP_PKEY *p11_key_get0_public(const struct p11_key *k)
{
    return k->pub;
}

enum p11_key_type p11_key_type(const struct p11_key *k)
{
    return k->type;
}

unsigned int p11_key_bits(const struct p11_key *k)
{
    return k->bits;
}

const char *p11_key_label(const struct p11_key *k)
{
    return k->label;
}

const unsigned char *p11_key_id(const struct p11_key *k, size_t *out_len)
{
    *out_len = k->id_len;
    return k->id;
}

struct p11_pool *p11_key_get0_pool(const struct p11_key *k)
{
    return k->pool;
}

/* --- attributes --------------------------------------------------------------------------- */

struct p11_attrs_op {
    struct p11_key *key;
    struct p11_key_attrs *out;
};

static HS_RESULT p11_read_attrs(const struct p11_call *call, CK_OBJECT_HANDLE h,
                                struct p11_key_attrs *a)
{
    /* All ten in one C_GetAttributeValue (one round trip on a network HSM, not ten). */
    CK_BBOOL v[P11_PROTECT_N] = {0};
    CK_ATTRIBUTE tmpl[P11_PROTECT_N];
    for (size_t i = 0; i < P11_PROTECT_N; i++) {
        tmpl[i] = (CK_ATTRIBUTE){p11_protect_types[i], &v[i], sizeof(v[i])};
    }
    CK_RV rv = call->fn->C_GetAttributeValue(call->session, h, tmpl, P11_PROTECT_N);
    bool b[P11_PROTECT_N] = {false};
    if (rv == CKR_OK) {
        for (size_t i = 0; i < P11_PROTECT_N; i++) {
            HS_ENSURE(tmpl[i].ulValueLen == sizeof(v[i]), HS_ERR_HSM);
            b[i] = v[i] == CK_TRUE;
        }
        p11_protect_set(a, b);
        return HS_OK;
    }
    /* An attribute the object does not have: one by one, each missing one reading false. */
    if (rv != CKR_ATTRIBUTE_TYPE_INVALID) {
        HS_GUARD_CKR(rv);
    }
    for (size_t i = 0; i < P11_PROTECT_N; i++) {
        HS_GUARD(p11_attr_bool(call, h, p11_protect_types[i], &b[i]));
    }
    p11_protect_set(a, b);
    return HS_OK;
}

static HS_RESULT p11_key_attrs_op(const struct p11_call *call, void *arg)
{
    struct p11_attrs_op *op = arg;
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    HS_GUARD(p11_key_handle(op->key, call, &h));
    return p11_read_attrs(call, h, op->out);
}

HS_RESULT p11_key_get_attrs(struct p11_key *k, struct p11_key_attrs *out)
{
    HS_ENSURE_REF(k);
    struct p11_key_attrs a;
    memset(&a, 0, sizeof(a));
    pthread_mutex_lock(&k->lock);
    bool loaded = k->have_load_attrs;
    k->have_load_attrs = false; /* once: later calls read the token */
    a = k->load_attrs;
    pthread_mutex_unlock(&k->lock);
    if (loaded) {
        *out = a;
        return HS_OK;
    }
    struct p11_attrs_op op = {k, &a};
    HS_GUARD(p11_pool_run(k->pool, p11_key_attrs_op, &op));
    *out = a;
    return HS_OK;
}

static HS_RESULT p11_attrs_check(const struct p11_key_attrs *a)
{
    HS_ENSURE_MSG(a->token, HS_ERR_HSM_KEY_ATTRIBUTES, "CKA_TOKEN is false");
    HS_ENSURE_MSG(a->private_, HS_ERR_HSM_KEY_ATTRIBUTES, "CKA_PRIVATE is false");
    HS_ENSURE_MSG(a->sensitive, HS_ERR_HSM_KEY_ATTRIBUTES, "CKA_SENSITIVE is false");
    HS_ENSURE_MSG(a->always_sensitive, HS_ERR_HSM_KEY_ATTRIBUTES, "CKA_ALWAYS_SENSITIVE is false");
    HS_ENSURE_MSG(!a->extractable, HS_ERR_HSM_KEY_ATTRIBUTES, "CKA_EXTRACTABLE is true");
    HS_ENSURE_MSG(a->never_extractable, HS_ERR_HSM_KEY_ATTRIBUTES,
                  "CKA_NEVER_EXTRACTABLE is false");
    HS_ENSURE_MSG(a->sign, HS_ERR_HSM_KEY_ATTRIBUTES, "CKA_SIGN is false");
    HS_ENSURE_MSG(!a->decrypt && !a->unwrap && !a->derive, HS_ERR_HSM_KEY_ATTRIBUTES,
                  "key may decrypt, unwrap or derive");
    return HS_OK;
}

HS_RESULT p11_key_check_protected(struct p11_key *k)
{
    struct p11_key_attrs a;
    HS_GUARD(p11_key_get_attrs(k, &a));
    return p11_attrs_check(&a);
}

/* --- generation --------------------------------------------------------------------------- */

unsigned int p11_key_type_mech_bits(enum p11_key_type type, unsigned int rsa_bits)
{
    switch (type) {
    case P11_KEY_RSA:
        return rsa_bits;
    case P11_KEY_EC_P384:
        return 384;
    case P11_KEY_EC_P256:
    case P11_KEY_ED25519:
    default:
        return 256;
    }
}

static CK_MECHANISM_TYPE p11_keygen_mechanism(enum p11_key_type type)
{
    switch (type) {
    case P11_KEY_RSA:
        return CKM_RSA_PKCS_KEY_PAIR_GEN;
    case P11_KEY_ED25519:
        return CKM_EC_EDWARDS_KEY_PAIR_GEN;
    case P11_KEY_EC_P256:
    case P11_KEY_EC_P384:
    default:
        return CKM_EC_KEY_PAIR_GEN;
    }
}

struct p11_keygen_op {
    const struct p11_keygen_spec *spec;
    const unsigned char *id;
    size_t id_len;
    const unsigned char *ec_params;
    size_t ec_params_len;
};

/* Refuses to create a key whose label or id is already used by any object on the token. */
static HS_RESULT p11_keygen_check_free(const struct p11_call *call, const struct p11_keygen_op *op)
{
    CK_ATTRIBUTE by_label = {CKA_LABEL, (void *)op->spec->label, strlen(op->spec->label)};
    CK_ATTRIBUTE by_id = {CKA_ID, (void *)op->id, op->id_len};
    CK_OBJECT_HANDLE h[1];
    size_t count = 0;
    HS_GUARD(p11_find_objects(call, &by_label, 1, h, 1, &count));
    HS_ENSURE_MSG(count == 0, HS_ERR_INPUT_EXISTS, "an object labelled \"%s\" already exists",
                  op->spec->label);
    HS_GUARD(p11_find_objects(call, &by_id, 1, h, 1, &count));
    HS_ENSURE_MSG(count == 0, HS_ERR_INPUT_EXISTS, "an object with this CKA_ID already exists");
    return HS_OK;
}

static HS_RESULT p11_keygen_op(const struct p11_call *call, void *arg)
{
    struct p11_keygen_op *op = arg;
    const struct p11_keygen_spec *spec = op->spec;
    HS_GUARD(p11_keygen_check_free(call, op));
    CK_BBOOL yes = CK_TRUE;
    CK_BBOOL no = CK_FALSE;
    CK_ULONG bits = spec->rsa_bits;
    static const CK_BYTE f4[] = {0x01, 0x00, 0x01};
    CK_ULONG label_len = strlen(spec->label);
    /* CKA_PRIVATE is left to the token for the public key: CloudHSM accepts only its default
     * there, and a public key's secrecy protects nothing. */
    CK_ATTRIBUTE pub[8] = {
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_VERIFY, &yes, sizeof(yes)},
        {CKA_ENCRYPT, &no, sizeof(no)},
        {CKA_WRAP, &no, sizeof(no)},
        {CKA_LABEL, (void *)spec->label, label_len},
        {CKA_ID, (void *)op->id, op->id_len},
    };
    CK_ULONG npub = 6;
    CK_ATTRIBUTE priv[] = {
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &yes, sizeof(yes)},
        {CKA_EXTRACTABLE, &no, sizeof(no)},
        {CKA_SIGN, &yes, sizeof(yes)},
        {CKA_DECRYPT, &no, sizeof(no)},
        {CKA_UNWRAP, &no, sizeof(no)},
        {CKA_DERIVE, &no, sizeof(no)},
        {CKA_LABEL, (void *)spec->label, label_len},
        {CKA_ID, (void *)op->id, op->id_len},
    };
    CK_MECHANISM mech = {p11_keygen_mechanism(spec->type), NULL, 0};
    if (spec->type == P11_KEY_RSA) {
        pub[npub++] = (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof(bits)};
        pub[npub++] = (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, (void *)f4, sizeof(f4)};
    } else {
        pub[npub++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)op->ec_params, op->ec_params_len};
    }
    CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE hpriv = CK_INVALID_HANDLE;
    HS_GUARD_CKR(call->fn->C_GenerateKeyPair(call->session, &mech, pub, npub, priv,
                                             sizeof(priv) / sizeof(priv[0]), &hpub, &hpriv));
    struct p11_key_attrs a;
    memset(&a, 0, sizeof(a));
    hs_result r = p11_read_attrs(call, hpriv, &a);
    if (!hs_failed(r)) {
        r = p11_attrs_check(&a);
    }
    if (hs_failed(r)) {
        /* The token did not honour the template: the pair must not survive, and the
         * destruction is an audit event (the caller's error says why). */
        CK_RV rv_priv = call->fn->C_DestroyObject(call->session, hpriv);
        CK_RV rv_pub = call->fn->C_DestroyObject(call->session, hpub);
        hs_log(HS_LOG_WARN, "hsm.keygen.destroyed", HS_LOG_AUDIT,
               HS_LOG_STR("key_label", spec->label), HS_LOG_HEX("key_id", op->id, op->id_len),
               HS_LOG_BOOL("private_destroyed", rv_priv == CKR_OK),
               HS_LOG_BOOL("public_destroyed", rv_pub == CKR_OK), HS_LOG_ERR());
    }
    return r;
}

static HS_RESULT p11_keygen_validate(const struct p11_keygen_spec *spec)
{
    HS_ENSURE_REF(spec->label);
    size_t n = strnlen(spec->label, P11_LABEL_MAX + 1);
    HS_ENSURE_MSG(n > 0 && n <= P11_LABEL_MAX, HS_ERR_INPUT_KEY, "key label must be 1..%d bytes",
                  P11_LABEL_MAX);
    HS_ENSURE_MSG(spec->id == NULL || (spec->id_len > 0 && spec->id_len <= P11_ID_MAX),
                  HS_ERR_INPUT_KEY, "key id must be 1..%d bytes", P11_ID_MAX);
    switch (spec->type) {
    case P11_KEY_RSA:
        HS_ENSURE_MSG(spec->rsa_bits == 2048 || spec->rsa_bits == 3072 || spec->rsa_bits == 4096,
                      HS_ERR_INPUT_KEY, "RSA keys must have 2048, 3072 or 4096 bits, not %u",
                      spec->rsa_bits);
        return HS_OK;
    case P11_KEY_EC_P256:
    case P11_KEY_EC_P384:
    case P11_KEY_ED25519:
        return HS_OK;
    default:
        HS_BAIL_MSG(HS_ERR_INPUT_KEY, "unknown key type");
    }
}

static HS_RESULT p11_keygen_ec_params(enum p11_key_type type, struct hs_buf *out)
{
    int nid = type == P11_KEY_EC_P256   ? NID_X9_62_prime256v1
              : type == P11_KEY_EC_P384 ? NID_secp384r1
                                        : NID_ED25519;
    const ASN1_OBJECT *oid = OBJ_nid2obj(nid);
    HS_ENSURE(oid != NULL, HS_ERR_CRYPTO);
    int len = i2d_ASN1_OBJECT(oid, NULL);
    HS_ENSURE(len > 0, HS_ERR_CRYPTO);
    unsigned char *p = NULL;
    HS_GUARD(hs_buf_reserve(out, (size_t)len, &p));
    HS_ENSURE(i2d_ASN1_OBJECT(oid, &p) == len, HS_ERR_CRYPTO);
    return hs_buf_commit(out, (size_t)len);
}

static void p11_keygen_audit(const struct p11_key *k)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(k->pub, &der);
    bool have = len > 0 && SHA256(der, (size_t)len, digest) != NULL;
    OPENSSL_free(der);
    hs_log(HS_LOG_INFO, "hsm.keygen", HS_LOG_AUDIT,
           HS_LOG_STR("token", p11_pool_token_label(k->pool)), HS_LOG_STR("key_label", k->label),
           HS_LOG_HEX("key_id", k->id, k->id_len),
           HS_LOG_STR("key_type", p11_key_type_name(k->type)), HS_LOG_INT("bits", k->bits),
           HS_LOG_HEX("spki_sha256", have ? digest : NULL, sizeof(digest)));
}

HS_RESULT p11_key_generate(struct p11_pool *pool, const struct p11_keygen_spec *spec,
                           struct p11_key **out)
{
    HS_ENSURE_REF(pool);
    HS_ENSURE_REF(spec);
    HS_GUARD(p11_keygen_validate(spec));
    HS_GUARD(p11_pool_require_mechanism(
        pool, p11_keygen_mechanism(spec->type), CKF_GENERATE_KEY_PAIR,
        p11_key_type_mech_bits(spec->type, spec->rsa_bits), "key generation"));
    unsigned char id[P11_KEY_DEFAULT_ID_LEN];
    struct p11_keygen_op op = {spec, spec->id, spec->id_len, NULL, 0};
    if (spec->id == NULL) {
        HS_GUARD_OSSL(RAND_bytes(id, sizeof(id)), HS_ERR_CRYPTO);
        op.id = id;
        op.id_len = sizeof(id);
    }
    HS_DEFER(struct hs_buf *params = hs_buf_new(P11_EC_PARAMS_MAX), hs_buf_freep);
    HS_ENSURE(params != NULL, HS_ERR_NOMEM);
    if (spec->type != P11_KEY_RSA) {
        HS_GUARD(p11_keygen_ec_params(spec->type, params));
        op.ec_params = hs_buf_data(params);
        op.ec_params_len = hs_buf_len(params);
    }
    HS_GUARD(p11_pool_run(pool, p11_keygen_op, &op));
    struct p11_key_query q;
    memset(&q, 0, sizeof(q));
    HS_GUARD(p11_query_set_label(&q, spec->label, strlen(spec->label)));
    HS_GUARD(p11_query_set_id(&q, op.id, op.id_len));
    HS_DEFER(struct p11_key *k = NULL, p11_key_freep);
    HS_GUARD(p11_key_load(pool, &q, NULL, P11_KEY_RSA, &k));
    p11_keygen_audit(k);
    *out = k;
    k = NULL;
    return HS_OK;
}
