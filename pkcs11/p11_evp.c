#include "pkcs11/p11_evp.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "common/hs_defer.h"

#define P11_EVP_PROVIDER "hsmsign-p11"
#define P11_EVP_ALG "HSMSIGN-P11"
#define P11_EVP_PARAM_KEY "hsmsign-p11-key"
#define P11_EVP_ALGID_MAX 128

/* --- key manager ---------------------------------------------------------------------------
 * Key data is a reference to a struct p11_key. It is created only by import from our own
 * p11_evp_pkey_new(); there is no export, so nothing can be read back out of it. */

struct p11_evp_keydata {
    struct p11_key *key;
};

static void *p11_km_new(void *provctx)
{
    (void)provctx;
    return OPENSSL_zalloc(sizeof(struct p11_evp_keydata));
}

static void p11_km_free(void *vkd)
{
    struct p11_evp_keydata *kd = vkd;
    if (kd != NULL) {
        p11_key_free(kd->key);
        OPENSSL_free(kd);
    }
}

static int p11_km_has(const void *vkd, int selection)
{
    const struct p11_evp_keydata *kd = vkd;
    (void)selection;
    return kd != NULL && kd->key != NULL;
}

static int p11_km_import(void *vkd, int selection, const OSSL_PARAM params[])
{
    struct p11_evp_keydata *kd = vkd;
    (void)selection;
    const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, P11_EVP_PARAM_KEY);
    const void *ptr = NULL;
    size_t len = 0;
    if (kd == NULL || kd->key != NULL || p == NULL || !OSSL_PARAM_get_octet_ptr(p, &ptr, &len) ||
        ptr == NULL || len != sizeof(struct p11_key *)) {
        return 0;
    }
    kd->key = p11_key_up_ref((struct p11_key *)ptr);
    return 1;
}

static const OSSL_PARAM *p11_km_import_types(int selection)
{
    static const OSSL_PARAM types[] = {
        OSSL_PARAM_octet_ptr(P11_EVP_PARAM_KEY, NULL, 0),
        OSSL_PARAM_END,
    };
    (void)selection;
    return types;
}

/* Largest DER signature the key produces, in bytes. */
static int p11_key_max_sig(const struct p11_key *k)
{
    switch (p11_key_type(k)) {
    case P11_KEY_EC_P256:
        return 72;
    case P11_KEY_EC_P384:
        return 104;
    case P11_KEY_ED25519:
        return 64;
    case P11_KEY_RSA:
    default:
        return (int)((p11_key_bits(k) + 7) / 8);
    }
}

static int p11_km_get_params(void *vkd, OSSL_PARAM params[])
{
    struct p11_evp_keydata *kd = vkd;
    if (kd == NULL || kd->key == NULL) {
        return 0;
    }
    EVP_PKEY *pub = p11_key_get0_public(kd->key);
    OSSL_PARAM *p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS);
    if (p != NULL && !OSSL_PARAM_set_int(p, EVP_PKEY_get_bits(pub))) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS);
    if (p != NULL && !OSSL_PARAM_set_int(p, EVP_PKEY_get_security_bits(pub))) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE);
    if (p != NULL && !OSSL_PARAM_set_int(p, p11_key_max_sig(kd->key))) {
        return 0;
    }
    return 1;
}

static const OSSL_PARAM *p11_km_gettable_params(void *provctx)
{
    static const OSSL_PARAM gettable[] = {
        OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
        OSSL_PARAM_END,
    };
    (void)provctx;
    return gettable;
}

static const char *p11_km_query_operation_name(int operation_id)
{
    return operation_id == OSSL_OP_SIGNATURE ? P11_EVP_ALG : NULL;
}

typedef void (*p11_fn)(void);

static const OSSL_DISPATCH p11_keymgmt_functions[] = {
    {OSSL_FUNC_KEYMGMT_NEW, (p11_fn)p11_km_new},
    {OSSL_FUNC_KEYMGMT_FREE, (p11_fn)p11_km_free},
    {OSSL_FUNC_KEYMGMT_HAS, (p11_fn)p11_km_has},
    {OSSL_FUNC_KEYMGMT_IMPORT, (p11_fn)p11_km_import},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (p11_fn)p11_km_import_types},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, (p11_fn)p11_km_get_params},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (p11_fn)p11_km_gettable_params},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (p11_fn)p11_km_query_operation_name},
    {0, NULL},
};

/* --- signature -----------------------------------------------------------------------------
 * One-shot and streaming digest-sign; the streaming form buffers the message (bounded by
 * P11_SIGN_DATA_MAX) because the hash-and-sign mechanisms take the message, not a digest. */

struct p11_evp_sigctx {
    struct p11_key *key;
    enum p11_sig_alg alg;
    struct hs_buf *msg; /* streaming input; NULL until the first update */
};

static void *p11_sig_newctx(void *provctx, const char *propq)
{
    (void)provctx;
    (void)propq;
    return OPENSSL_zalloc(sizeof(struct p11_evp_sigctx));
}

static void p11_sig_freectx(void *vctx)
{
    struct p11_evp_sigctx *ctx = vctx;
    if (ctx != NULL) {
        p11_key_free(ctx->key);
        hs_buf_free(ctx->msg);
        OPENSSL_free(ctx);
    }
}

static void *p11_sig_dupctx(void *vctx)
{
    const struct p11_evp_sigctx *src = vctx;
    struct p11_evp_sigctx *dst = OPENSSL_zalloc(sizeof(*dst));
    if (dst == NULL) {
        return NULL;
    }
    dst->alg = src->alg;
    dst->key = src->key != NULL ? p11_key_up_ref(src->key) : NULL;
    if (src->msg != NULL) {
        dst->msg = hs_buf_new(P11_SIGN_DATA_MAX);
        if (dst->msg == NULL ||
            hs_failed(hs_buf_put(dst->msg, hs_buf_data(src->msg), hs_buf_len(src->msg)))) {
            p11_sig_freectx(dst);
            return NULL;
        }
    }
    return dst;
}

/* Picks the token algorithm for the digest OpenSSL asks for on this key type. */
static bool p11_sig_pick(enum p11_key_type type, const char *mdname, enum p11_sig_alg *out)
{
    bool none = mdname == NULL || mdname[0] == '\0';
    bool sha256 =
        !none && (strcasecmp(mdname, "SHA256") == 0 || strcasecmp(mdname, "SHA2-256") == 0);
    bool sha384 =
        !none && (strcasecmp(mdname, "SHA384") == 0 || strcasecmp(mdname, "SHA2-384") == 0);
    bool sha512 =
        !none && (strcasecmp(mdname, "SHA512") == 0 || strcasecmp(mdname, "SHA2-512") == 0);
    switch (type) {
    case P11_KEY_RSA:
        *out = sha512   ? P11_SIG_RSA_PKCS1_SHA512
               : sha384 ? P11_SIG_RSA_PKCS1_SHA384
                        : P11_SIG_RSA_PKCS1_SHA256;
        return sha256 || sha384 || sha512 || none;
    case P11_KEY_EC_P256:
    case P11_KEY_EC_P384:
        *out = sha384 || (none && type == P11_KEY_EC_P384) ? P11_SIG_ECDSA_SHA384
                                                           : P11_SIG_ECDSA_SHA256;
        return sha256 || sha384 || none;
    case P11_KEY_ED25519:
        *out = P11_SIG_EDDSA;
        return none;
    default:
        return false;
    }
}

static int p11_sig_digest_sign_init(void *vctx, const char *mdname, void *provkey,
                                    const OSSL_PARAM params[])
{
    struct p11_evp_sigctx *ctx = vctx;
    struct p11_evp_keydata *kd = provkey;
    (void)params;
    if (ctx == NULL || kd == NULL || kd->key == NULL ||
        !p11_sig_pick(p11_key_type(kd->key), mdname, &ctx->alg)) {
        return 0;
    }
    p11_key_free(ctx->key);
    ctx->key = p11_key_up_ref(kd->key);
    hs_buf_free(ctx->msg);
    ctx->msg = NULL;
    return 1;
}

static int p11_sig_digest_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                               const unsigned char *tbs, size_t tbslen)
{
    struct p11_evp_sigctx *ctx = vctx;
    if (ctx == NULL || ctx->key == NULL) {
        return 0;
    }
    if (sig == NULL) {
        *siglen = (size_t)p11_key_max_sig(ctx->key);
        return 1;
    }
    HS_DEFER(struct hs_buf *out = hs_buf_new(P11_SIG_MAX + 16), hs_buf_freep);
    /* The p11 error stays in the thread's hs_error; HS_GUARD_OSSL at the caller keeps it. */
    if (out == NULL ||
        hs_failed(p11_sign(ctx->key, ctx->alg, P11_SIG_FORMAT_DER, tbs, tbslen, out)) ||
        hs_buf_len(out) > sigsize) {
        return 0;
    }
    memcpy(sig, hs_buf_data(out), hs_buf_len(out));
    *siglen = hs_buf_len(out);
    return 1;
}

static int p11_sig_digest_sign_update(void *vctx, const unsigned char *data, size_t len)
{
    struct p11_evp_sigctx *ctx = vctx;
    if (ctx == NULL) {
        return 0;
    }
    if (ctx->msg == NULL && (ctx->msg = hs_buf_new(P11_SIGN_DATA_MAX)) == NULL) {
        return 0;
    }
    return hs_failed(hs_buf_put(ctx->msg, data, len)) ? 0 : 1;
}

static int p11_sig_digest_sign_final(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize)
{
    struct p11_evp_sigctx *ctx = vctx;
    if (ctx == NULL) {
        return 0;
    }
    const unsigned char *msg = ctx->msg != NULL ? hs_buf_data(ctx->msg) : NULL;
    size_t len = ctx->msg != NULL ? hs_buf_len(ctx->msg) : 0;
    return p11_sig_digest_sign(vctx, sig, siglen, sigsize, msg, len);
}

static int p11_sig_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    struct p11_evp_sigctx *ctx = vctx;
    OSSL_PARAM *p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID);
    if (ctx == NULL || ctx->key == NULL) {
        return 0;
    }
    if (p == NULL) {
        return 1;
    }
    HS_DEFER(struct hs_buf *algid = hs_buf_new(P11_EVP_ALGID_MAX), hs_buf_freep);
    if (algid == NULL || hs_failed(p11_evp_algorithm_id(ctx->alg, algid))) {
        return 0;
    }
    return OSSL_PARAM_set_octet_string(p, hs_buf_data(algid), hs_buf_len(algid));
}

static const OSSL_PARAM *p11_sig_gettable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM gettable[] = {
        OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
        OSSL_PARAM_END,
    };
    (void)vctx;
    (void)provctx;
    return gettable;
}

static const OSSL_DISPATCH p11_signature_functions[] = {
    {OSSL_FUNC_SIGNATURE_NEWCTX, (p11_fn)p11_sig_newctx},
    {OSSL_FUNC_SIGNATURE_FREECTX, (p11_fn)p11_sig_freectx},
    {OSSL_FUNC_SIGNATURE_DUPCTX, (p11_fn)p11_sig_dupctx},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, (p11_fn)p11_sig_digest_sign_init},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN, (p11_fn)p11_sig_digest_sign},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, (p11_fn)p11_sig_digest_sign_update},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, (p11_fn)p11_sig_digest_sign_final},
    {OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, (p11_fn)p11_sig_get_ctx_params},
    {OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (p11_fn)p11_sig_gettable_ctx_params},
    {0, NULL},
};

/* --- provider ----------------------------------------------------------------------------- */

static const OSSL_ALGORITHM p11_keymgmt_algs[] = {
    {P11_EVP_ALG, "provider=" P11_EVP_PROVIDER, p11_keymgmt_functions,
     "PKCS#11 token key (private half stays on the token)"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM p11_signature_algs[] = {
    {P11_EVP_ALG, "provider=" P11_EVP_PROVIDER, p11_signature_functions,
     "C_Sign on a PKCS#11 token"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM *p11_prov_query(void *provctx, int operation_id, int *no_cache)
{
    (void)provctx;
    *no_cache = 0;
    switch (operation_id) {
    case OSSL_OP_KEYMGMT:
        return p11_keymgmt_algs;
    case OSSL_OP_SIGNATURE:
        return p11_signature_algs;
    default:
        return NULL;
    }
}

static const OSSL_DISPATCH p11_provider_functions[] = {
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (p11_fn)p11_prov_query},
    {0, NULL},
};

static int p11_prov_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                         const OSSL_DISPATCH **out, void **provctx)
{
    (void)in;
    *out = p11_provider_functions;
    *provctx = (void *)handle;
    return 1;
}

static pthread_once_t p11_evp_once = PTHREAD_ONCE_INIT;
static bool p11_evp_ready;
static OSSL_PROVIDER *p11_evp_default_prov;
static OSSL_PROVIDER *p11_evp_token_prov;

/* Registered after OpenSSL's own exit handler, so it runs before it: drops our references
 * while the library is still whole. */
static void p11_evp_unload(void)
{
    OSSL_PROVIDER_unload(p11_evp_token_prov);
    OSSL_PROVIDER_unload(p11_evp_default_prov);
    p11_evp_token_prov = NULL;
    p11_evp_default_prov = NULL;
}

static void p11_evp_load(void)
{
    /* Loading a provider explicitly turns off the implicit fallback to "default", so it is
     * loaded here too; both stay loaded until exit. */
    p11_evp_default_prov = OSSL_PROVIDER_load(NULL, "default");
    p11_evp_ready = p11_evp_default_prov != NULL &&
                    OSSL_PROVIDER_add_builtin(NULL, P11_EVP_PROVIDER, p11_prov_init) == 1 &&
                    (p11_evp_token_prov = OSSL_PROVIDER_load(NULL, P11_EVP_PROVIDER)) != NULL;
    p11_evp_ready = p11_evp_ready && atexit(p11_evp_unload) == 0;
}

HS_RESULT p11_evp_init(void)
{
    HS_ENSURE(pthread_once(&p11_evp_once, p11_evp_load) == 0, HS_ERR_INTERNAL);
    HS_ENSURE_MSG(p11_evp_ready, HS_ERR_CRYPTO, "cannot load the PKCS#11 OpenSSL provider");
    return HS_OK;
}

HS_RESULT p11_evp_pkey_new(struct p11_key *key, EVP_PKEY **out)
{
    HS_ENSURE_REF(key);
    HS_GUARD(p11_evp_init());
    HS_DEFER(EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, P11_EVP_ALG, NULL),
             hs_evp_pkey_ctx_freep);
    HS_ENSURE(ctx != NULL, HS_ERR_CRYPTO);
    HS_GUARD_OSSL(EVP_PKEY_fromdata_init(ctx), HS_ERR_CRYPTO);
    void *ptr = key;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_ptr(P11_EVP_PARAM_KEY, &ptr, sizeof(struct p11_key *)),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *pkey = NULL;
    HS_GUARD_OSSL(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params), HS_ERR_CRYPTO);
    *out = pkey;
    return HS_OK;
}

HS_RESULT p11_evp_sign_ctx_new_pkey(struct p11_key *key, EVP_PKEY *pkey, enum p11_sig_alg alg,
                                    EVP_MD_CTX **out)
{
    HS_ENSURE_REF(key);
    HS_ENSURE_REF(pkey);
    HS_ENSURE_MSG(p11_sig_alg_fits(alg, p11_key_type(key)), HS_ERR_INPUT_KEY,
                  "signature algorithm does not fit a %s key",
                  p11_key_type_name(p11_key_type(key)));
    HS_ENSURE_MSG(alg != P11_SIG_RSA_PSS_SHA256 && alg != P11_SIG_RSA_PSS_SHA384, HS_ERR_INPUT_KEY,
                  "RSA-PSS is not offered for X.509 structures");
    HS_DEFER(EVP_MD_CTX *mctx = EVP_MD_CTX_new(), hs_evp_md_ctx_freep);
    HS_ENSURE(mctx != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(
        EVP_DigestSignInit_ex(mctx, NULL, p11_sig_alg_digest(alg), NULL, NULL, pkey, NULL),
        HS_ERR_CRYPTO);
    *out = mctx;
    mctx = NULL;
    return HS_OK;
}

HS_RESULT p11_evp_sign_ctx_new(struct p11_key *key, enum p11_sig_alg alg, EVP_MD_CTX **out)
{
    HS_ENSURE_REF(key);
    HS_DEFER(EVP_PKEY *pkey = NULL, hs_evp_pkey_freep);
    HS_GUARD(p11_evp_pkey_new(key, &pkey));
    return p11_evp_sign_ctx_new_pkey(key, pkey, alg, out);
}

int p11_sig_alg_nid(enum p11_sig_alg alg)
{
    switch (alg) {
    case P11_SIG_RSA_PKCS1_SHA256:
        return NID_sha256WithRSAEncryption;
    case P11_SIG_RSA_PKCS1_SHA384:
        return NID_sha384WithRSAEncryption;
    case P11_SIG_RSA_PKCS1_SHA512:
        return NID_sha512WithRSAEncryption;
    case P11_SIG_ECDSA_SHA256:
        return NID_ecdsa_with_SHA256;
    case P11_SIG_ECDSA_SHA384:
        return NID_ecdsa_with_SHA384;
    case P11_SIG_EDDSA:
        return NID_ED25519;
    default:
        return NID_undef;
    }
}

HS_RESULT p11_evp_algorithm_id(enum p11_sig_alg alg, struct hs_buf *out)
{
    int nid = p11_sig_alg_nid(alg);
    HS_ENSURE(nid != NID_undef, HS_ERR_INPUT_KEY);
    HS_DEFER(X509_ALGOR *algor = X509_ALGOR_new(), hs_x509_algor_freep);
    HS_ENSURE(algor != NULL, HS_ERR_NOMEM);
    /* RFC 4055 §5: sha*WithRSAEncryption carries an explicit NULL parameter; RFC 5758 §3.2
     * and RFC 8410 §3: ECDSA and Ed25519 identifiers have no parameters. */
    bool rsa = nid == NID_sha256WithRSAEncryption || nid == NID_sha384WithRSAEncryption ||
               nid == NID_sha512WithRSAEncryption;
    HS_GUARD_OSSL(X509_ALGOR_set0(algor, OBJ_nid2obj(nid), rsa ? V_ASN1_NULL : V_ASN1_UNDEF, NULL),
                  HS_ERR_CRYPTO);
    int len = i2d_X509_ALGOR(algor, NULL);
    HS_ENSURE(len > 0, HS_ERR_CRYPTO);
    unsigned char *p = NULL;
    HS_GUARD(hs_buf_reserve(out, (size_t)len, &p));
    HS_ENSURE(i2d_X509_ALGOR(algor, &p) == len, HS_ERR_CRYPTO);
    return hs_buf_commit(out, (size_t)len);
}
