#include "pkcs11/p11_sign.h"

#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "common/hs_defer.h"
#include "common/hs_digest.h"
#include "pkcs11/internal.h"

HS_DEFINE_FREEP(p11_ecdsa_sig_freep, ECDSA_SIG, ECDSA_SIG_free)

struct p11_sign_op {
    struct p11_key *key;
    CK_MECHANISM *mech;
    const unsigned char *data;
    size_t len;
    struct hs_buf *sig; /* the token's output; emptied at every attempt */
};

enum p11_sig_alg p11_sig_alg_default(enum p11_key_type type)
{
    switch (type) {
    case P11_KEY_EC_P256:
        return P11_SIG_ECDSA_SHA256;
    case P11_KEY_EC_P384:
        return P11_SIG_ECDSA_SHA384;
    case P11_KEY_ED25519:
        return P11_SIG_EDDSA;
    case P11_KEY_RSA:
    default:
        return P11_SIG_RSA_PKCS1_SHA256;
    }
}

bool p11_sig_alg_fits(enum p11_sig_alg alg, enum p11_key_type type)
{
    switch (alg) {
    case P11_SIG_RSA_PKCS1_SHA256:
    case P11_SIG_RSA_PKCS1_SHA384:
    case P11_SIG_RSA_PKCS1_SHA512:
    case P11_SIG_RSA_PSS_SHA256:
    case P11_SIG_RSA_PSS_SHA384:
        return type == P11_KEY_RSA;
    case P11_SIG_ECDSA_SHA256:
    case P11_SIG_ECDSA_SHA384:
        return type == P11_KEY_EC_P256 || type == P11_KEY_EC_P384;
    case P11_SIG_EDDSA:
        return type == P11_KEY_ED25519;
    default:
        return false;
    }
}

const char *p11_sig_alg_digest(enum p11_sig_alg alg)
{
    switch (alg) {
    case P11_SIG_RSA_PKCS1_SHA256:
    case P11_SIG_RSA_PSS_SHA256:
    case P11_SIG_ECDSA_SHA256:
        return "SHA256";
    case P11_SIG_RSA_PKCS1_SHA384:
    case P11_SIG_RSA_PSS_SHA384:
    case P11_SIG_ECDSA_SHA384:
        return "SHA384";
    case P11_SIG_RSA_PKCS1_SHA512:
        return "SHA512";
    case P11_SIG_EDDSA:
    default:
        return NULL;
    }
}

CK_MECHANISM_TYPE p11_sig_alg_mechanism(enum p11_sig_alg alg)
{
    switch (alg) {
    case P11_SIG_RSA_PKCS1_SHA256:
        return CKM_SHA256_RSA_PKCS;
    case P11_SIG_RSA_PKCS1_SHA384:
        return CKM_SHA384_RSA_PKCS;
    case P11_SIG_RSA_PKCS1_SHA512:
        return CKM_SHA512_RSA_PKCS;
    case P11_SIG_RSA_PSS_SHA256:
        return CKM_SHA256_RSA_PKCS_PSS;
    case P11_SIG_RSA_PSS_SHA384:
        return CKM_SHA384_RSA_PKCS_PSS;
    case P11_SIG_ECDSA_SHA256:
    case P11_SIG_ECDSA_SHA384:
        return CKM_ECDSA;
    case P11_SIG_EDDSA:
    default:
        return CKM_EDDSA;
    }
}

HS_RESULT p11_sign_check(const struct p11_pool *pool, enum p11_key_type type, unsigned int key_bits,
                         enum p11_sig_alg alg)
{
    HS_ENSURE_REF(pool);
    HS_ENSURE_MSG(p11_sig_alg_fits(alg, type), HS_ERR_INPUT_KEY,
                  "signature algorithm does not fit a %s key", p11_key_type_name(type));
    return p11_pool_require_mechanism(pool, p11_sig_alg_mechanism(alg), CKF_SIGN,
                                      p11_key_type_mech_bits(type, key_bits), "signing");
}

HS_RESULT p11_sign_check_key(const struct p11_key *key, enum p11_sig_alg alg)
{
    HS_ENSURE_REF(key);
    return p11_sign_check(p11_key_get0_pool(key), p11_key_type(key), p11_key_bits(key), alg);
}

static const unsigned int p11_sign_latency_us[] = {50,   100,   250,   500,   1000,   2500,
                                                   5000, 10000, 25000, 50000, 100000, 250000};
static const struct hs_hist_bounds p11_sign_latency_bounds = {
    p11_sign_latency_us, sizeof(p11_sign_latency_us) / sizeof(p11_sign_latency_us[0])};

/* Process-wide: every pool's signatures. */
static struct hs_hist p11_sign_hist;

void p11_sign_latency_get(struct hs_hist_snapshot *out)
{
    hs_hist_get(&p11_sign_hist, &p11_sign_latency_bounds, out);
}

static HS_RESULT p11_sign_op(const struct p11_call *call, void *arg)
{
    struct p11_sign_op *op = arg;
    hs_buf_reset(op->sig);
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    HS_GUARD(p11_key_handle(op->key, call, &h));
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    HS_GUARD_CKR(call->fn->C_SignInit(call->session, op->mech, h));
    /* Size query first (PKCS#11 v2.40 §5.2: it leaves the operation active). */
    CK_ULONG sig_len = 0;
    HS_GUARD_CKR(call->fn->C_Sign(call->session, (CK_BYTE_PTR)op->data, op->len, NULL, &sig_len));
    unsigned char *p = NULL;
    /* If this fails the operation stays active; the pool closes a session whose operation
     * failed without a CK_RV, so the state does not leak into the next request. */
    HS_GUARD(hs_buf_reserve(op->sig, sig_len, &p));
    HS_GUARD_CKR(call->fn->C_Sign(call->session, (CK_BYTE_PTR)op->data, op->len, p, &sig_len));
    hs_hist_observe_since(&p11_sign_hist, &p11_sign_latency_bounds, &start);
    return hs_buf_commit(op->sig, sig_len);
}

/* Turns the token's fixed-length r||s (PKCS#11 v2.40 §2.3.1) into a DER ECDSA-Sig-Value. */
static HS_RESULT p11_ecdsa_raw_to_der(const struct hs_buf *raw, size_t coord, struct hs_buf *out)
{
    HS_ENSURE_MSG(hs_buf_len(raw) == 2 * coord, HS_ERR_HSM,
                  "ECDSA signature of %zu bytes, expected %zu", hs_buf_len(raw), 2 * coord);
    const unsigned char *p = hs_buf_data(raw);
    HS_DEFER(ECDSA_SIG *sig = ECDSA_SIG_new(), p11_ecdsa_sig_freep);
    HS_ENSURE(sig != NULL, HS_ERR_NOMEM);
    BIGNUM *r = BN_bin2bn(p, (int)coord, NULL);
    BIGNUM *s = BN_bin2bn(p + coord, (int)coord, NULL);
    if (r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        HS_BAIL(HS_ERR_NOMEM);
    }
    int len = i2d_ECDSA_SIG(sig, NULL);
    HS_ENSURE(len > 0, HS_ERR_CRYPTO);
    unsigned char *w = NULL;
    HS_GUARD(hs_buf_reserve(out, (size_t)len, &w));
    HS_ENSURE(i2d_ECDSA_SIG(sig, &w) == len, HS_ERR_CRYPTO);
    return hs_buf_commit(out, (size_t)len);
}

/* ECDSA signs a digest computed here (CKM_ECDSA); the hash-and-sign mechanisms get the
 * message itself. */
static HS_RESULT p11_sign_input(enum p11_sig_alg alg, const unsigned char *data, size_t len,
                                unsigned char digest[EVP_MAX_MD_SIZE], const unsigned char **in,
                                size_t *in_len)
{
    if (alg != P11_SIG_ECDSA_SHA256 && alg != P11_SIG_ECDSA_SHA384) {
        *in = data;
        *in_len = len;
        return HS_OK;
    }
    unsigned int n = 0;
    const EVP_MD *md = alg == P11_SIG_ECDSA_SHA256 ? hs_digest_sha256() : hs_digest_sha384();
    HS_ENSURE_MSG(md != NULL, HS_ERR_CRYPTO, "the ECDSA digest is not available");
    HS_GUARD_OSSL(EVP_Digest(data, len, digest, &n, md, NULL), HS_ERR_CRYPTO);
    *in = digest;
    *in_len = n;
    return HS_OK;
}

HS_RESULT p11_sign(struct p11_key *key, enum p11_sig_alg alg, enum p11_sig_format format,
                   const unsigned char *data, size_t len, struct hs_buf *out)
{
    HS_ENSURE_REF(key);
    HS_ENSURE_REF(out);
    HS_ENSURE(data != NULL || len == 0, HS_ERR_INTERNAL);
    HS_ENSURE(len <= P11_SIGN_DATA_MAX, HS_ERR_INPUT_TOO_LARGE);
    enum p11_key_type type = p11_key_type(key);
    HS_ENSURE_MSG(p11_sig_alg_fits(alg, type), HS_ERR_INPUT_KEY,
                  "signature algorithm does not fit a %s key", p11_key_type_name(type));
    unsigned char digest[EVP_MAX_MD_SIZE];
    const unsigned char *in = NULL;
    size_t in_len = 0;
    HS_GUARD(p11_sign_input(alg, data, len, digest, &in, &in_len));
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    if (alg == P11_SIG_RSA_PSS_SHA384) {
        pss = (CK_RSA_PKCS_PSS_PARAMS){CKM_SHA384, CKG_MGF1_SHA384, 48};
    }
    bool is_pss = alg == P11_SIG_RSA_PSS_SHA256 || alg == P11_SIG_RSA_PSS_SHA384;
    CK_MECHANISM mech = {p11_sig_alg_mechanism(alg), is_pss ? &pss : NULL,
                         is_pss ? sizeof(pss) : 0};
    HS_DEFER(struct hs_buf *raw = hs_buf_new(P11_SIG_MAX), hs_buf_freep);
    HS_ENSURE(raw != NULL, HS_ERR_NOMEM);
    struct p11_sign_op op = {key, &mech, in, in_len, raw};
    HS_GUARD(p11_pool_run(p11_key_get0_pool(key), p11_sign_op, &op));
    bool ecdsa = alg == P11_SIG_ECDSA_SHA256 || alg == P11_SIG_ECDSA_SHA384;
    if (ecdsa && format == P11_SIG_FORMAT_DER) {
        return p11_ecdsa_raw_to_der(raw, type == P11_KEY_EC_P256 ? 32 : 48, out);
    }
    return hs_buf_put(out, hs_buf_data(raw), hs_buf_len(raw));
}
