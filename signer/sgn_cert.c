#include "signer/sgn_cert.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "common/hs_defer.h"
#include "common/hs_digest.h"
#include "common/hs_log.h"
#include "pkcs11/p11_evp.h"
#include "pkcs11/p11_sign.h"
#include "signer/sgn_ext.h"
#include "signer/sgn_lint.h"

#define SGN_CHAIN_CERTS_MAX 8

HS_DEFINE_FREEP(sgn_auth_keyid_freep, AUTHORITY_KEYID, AUTHORITY_KEYID_free)
HS_DEFINE_FREEP(sgn_eku_freep, EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free)
HS_DEFINE_FREEP(sgn_bit_string_freep, ASN1_BIT_STRING, ASN1_BIT_STRING_free)
HS_DEFINE_FREEP(sgn_encode_ctx_freep, EVP_ENCODE_CTX, EVP_ENCODE_CTX_free)

struct sgn_issuer {
    struct p11_key *key;
    X509 *cert;
    STACK_OF(X509) * chain; /* cert first, the self-signed root last */
    char *chain_pem;
    EVP_PKEY *sign_pkey; /* key as an EVP_PKEY for X509_sign_ctx, made once (p11_evp) */
};

/* --- small conversions -------------------------------------------------------------------- */

HS_RESULT sgn_name_rfc4514(const X509_NAME *name, char *out, size_t out_len)
{
    HS_ENSURE_REF(name);
    HS_ENSURE(out_len > 0, HS_ERR_BOUNDS);
    HS_DEFER(BIO *bio = BIO_new(BIO_s_mem()), hs_bio_freep);
    HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
    HS_ENSURE(X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0, HS_ERR_CRYPTO);
    char *p = NULL;
    long n = BIO_get_mem_data(bio, &p);
    HS_ENSURE(n >= 0 && (size_t)n < out_len, HS_ERR_BOUNDS);
    /* An empty name (a certificate named only by its SANs) leaves the BIO without a buffer:
     * p is NULL, and memcpy from NULL is undefined even for 0 bytes. */
    if (n > 0) {
        memcpy(out, p, (size_t)n);
    }
    out[n] = '\0';
    return HS_OK;
}

HS_RESULT sgn_asn1_time_to_epoch(const ASN1_TIME *t, time_t *out)
{
    struct tm tm;
    HS_ENSURE(t != NULL && ASN1_TIME_to_tm(t, &tm) == 1, HS_ERR_CRYPTO);
    time_t v = timegm(&tm);
    HS_ENSURE(v != (time_t)-1, HS_ERR_CRYPTO);
    *out = v;
    return HS_OK;
}

void sgn_time_rfc3339(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    if (strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        out[0] = '\0';
    }
}

HS_RESULT sgn_cert_serial_hex(const X509 *cert, char *out, size_t out_len)
{
    HS_DEFER(BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL), hs_bn_freep);
    HS_ENSURE(bn != NULL, HS_ERR_CRYPTO);
    HS_DEFER(char *hex = BN_bn2hex(bn), hs_ossl_str_freep);
    HS_ENSURE(hex != NULL, HS_ERR_NOMEM);
    size_t n = strlen(hex);
    HS_ENSURE(n < out_len, HS_ERR_BOUNDS);
    for (size_t i = 0; i <= n; i++) {
        char c = hex[i];
        if (c >= 'A' && c <= 'F') {
            c = (char)(c - 'A' + 'a');
        }
        out[i] = c;
    }
    return HS_OK;
}

HS_RESULT sgn_cert_to_pem(const X509 *cert, struct hs_buf *out)
{
    HS_DEFER(BIO *bio = BIO_new(BIO_s_mem()), hs_bio_freep);
    HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(PEM_write_bio_X509(bio, cert), HS_ERR_CRYPTO);
    char *p = NULL;
    long n = BIO_get_mem_data(bio, &p);
    HS_ENSURE(n > 0 && p != NULL, HS_ERR_CRYPTO);
    return hs_buf_put(out, p, (size_t)n);
}

HS_RESULT sgn_cert_der_to_pem(const unsigned char *der, size_t len, struct hs_buf *out)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----\n";
    static const char end[] = "-----END CERTIFICATE-----\n";
    HS_ENSURE_REF(der);
    HS_ENSURE(len > 0 && len <= SGN_CERT_PEM_MAX / 2, HS_ERR_INPUT_TOO_LARGE);
    HS_DEFER(EVP_ENCODE_CTX *enc = EVP_ENCODE_CTX_new(), sgn_encode_ctx_freep);
    HS_ENSURE(enc != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put(out, begin, sizeof(begin) - 1));
    /* EVP_EncodeUpdate writes 64 characters and a newline per 48 bytes, as PEM asks. */
    size_t room = (size_t)EVP_ENCODE_LENGTH(len);
    unsigned char *p = NULL;
    HS_GUARD(hs_buf_reserve(out, room, &p));
    EVP_EncodeInit(enc);
    int n = 0;
    HS_GUARD_OSSL(EVP_EncodeUpdate(enc, p, &n, der, (int)len), HS_ERR_CRYPTO);
    int tail = 0;
    EVP_EncodeFinal(enc, p + n, &tail);
    HS_GUARD(hs_buf_commit(out, (size_t)n + (size_t)tail));
    return hs_buf_put(out, end, sizeof(end) - 1);
}

/* --- building ----------------------------------------------------------------------------- */

/* 16 random bytes with a non-zero first byte: a positive INTEGER of exactly 128 bits' length
 * (RFC 5280 §4.1.2.2 asks for at most 20 octets; CA/B Forum for at least 64 random bits). */
static HS_RESULT sgn_serial_new(X509 *x)
{
    unsigned char raw[SGN_SERIAL_BYTES];
    do {
        HS_GUARD_OSSL(RAND_bytes(raw, sizeof(raw)), HS_ERR_CRYPTO);
    } while (raw[0] == 0);
    HS_DEFER(BIGNUM *bn = BN_bin2bn(raw, sizeof(raw), NULL), hs_bn_freep);
    HS_ENSURE(bn != NULL, HS_ERR_NOMEM);
    HS_DEFER(ASN1_INTEGER *serial = BN_to_ASN1_INTEGER(bn, NULL), hs_asn1_integer_freep);
    HS_ENSURE(serial != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(X509_set_serialNumber(x, serial), HS_ERR_CRYPTO);
    return HS_OK;
}

static HS_RESULT sgn_add_basic_constraints(X509 *x, bool ca, int path_len)
{
    HS_DEFER(BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new(), hs_basic_constraints_freep);
    HS_ENSURE(bc != NULL, HS_ERR_NOMEM);
    bc->ca = ca ? 0xff : 0;
    if (ca && path_len >= 0) {
        bc->pathlen = ASN1_INTEGER_new();
        HS_ENSURE(bc->pathlen != NULL, HS_ERR_NOMEM);
        HS_GUARD_OSSL(ASN1_INTEGER_set(bc->pathlen, path_len), HS_ERR_CRYPTO);
    }
    HS_GUARD_OSSL(X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT),
                  HS_ERR_CRYPTO);
    return HS_OK;
}

static HS_RESULT sgn_add_key_usage(X509 *x, unsigned int usage)
{
    /* KeyUsage bit numbers, RFC 5280 §4.2.1.3. */
    static const struct {
        unsigned int flag;
        int bit;
    } map[] = {{SGN_KU_DIGITAL_SIGNATURE, 0},
               {SGN_KU_KEY_ENCIPHERMENT, 2},
               {SGN_KU_KEY_CERT_SIGN, 5},
               {SGN_KU_CRL_SIGN, 6}};
    HS_DEFER(ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new(), sgn_bit_string_freep);
    HS_ENSURE(ku != NULL, HS_ERR_NOMEM);
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (usage & map[i].flag) {
            HS_GUARD_OSSL(ASN1_BIT_STRING_set_bit(ku, map[i].bit, 1), HS_ERR_CRYPTO);
        }
    }
    HS_GUARD_OSSL(X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT), HS_ERR_CRYPTO);
    return HS_OK;
}

static HS_RESULT sgn_add_eku(X509 *x, unsigned int eku)
{
    HS_DEFER(EXTENDED_KEY_USAGE *list = sk_ASN1_OBJECT_new_null(), sgn_eku_freep);
    HS_ENSURE(list != NULL, HS_ERR_NOMEM);
    if (eku & SGN_EKU_SERVER_AUTH) {
        HS_ENSURE(sk_ASN1_OBJECT_push(list, OBJ_nid2obj(NID_server_auth)) > 0, HS_ERR_NOMEM);
    }
    if (eku & SGN_EKU_CLIENT_AUTH) {
        HS_ENSURE(sk_ASN1_OBJECT_push(list, OBJ_nid2obj(NID_client_auth)) > 0, HS_ERR_NOMEM);
    }
    HS_GUARD_OSSL(X509_add1_ext_i2d(x, NID_ext_key_usage, list, 0, X509V3_ADD_DEFAULT),
                  HS_ERR_CRYPTO);
    return HS_OK;
}

/* SKI = SHA-1 of the subjectPublicKey BIT STRING (RFC 5280 §4.2.1.2, method 1) unless the
 * template names one; AKI carries the issuer's SKI (or, self-signed, our own). */
static HS_RESULT sgn_add_key_ids(X509 *x, X509 *issuer, const ASN1_OCTET_STRING *given)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HS_GUARD_OSSL(X509_pubkey_digest(x, EVP_sha1(), md, &n), HS_ERR_CRYPTO);
    HS_DEFER(ASN1_OCTET_STRING *ski =
                 given != NULL ? ASN1_OCTET_STRING_dup(given) : ASN1_OCTET_STRING_new(),
             hs_asn1_octet_string_freep);
    HS_ENSURE(ski != NULL, HS_ERR_NOMEM);
    if (given == NULL) {
        HS_GUARD_OSSL(ASN1_OCTET_STRING_set(ski, md, (int)n), HS_ERR_CRYPTO);
    }
    HS_GUARD_OSSL(X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, X509V3_ADD_DEFAULT),
                  HS_ERR_CRYPTO);
    const ASN1_OCTET_STRING *issuer_ski = issuer != NULL ? X509_get0_subject_key_id(issuer) : ski;
    HS_ENSURE_MSG(issuer_ski != NULL, HS_ERR_INPUT, "issuer certificate has no SKI");
    HS_DEFER(AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new(), sgn_auth_keyid_freep);
    HS_ENSURE(aki != NULL, HS_ERR_NOMEM);
    aki->keyid = ASN1_OCTET_STRING_dup(issuer_ski);
    HS_ENSURE(aki->keyid != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(X509_add1_ext_i2d(x, NID_authority_key_identifier, aki, 0, X509V3_ADD_DEFAULT),
                  HS_ERR_CRYPTO);
    return HS_OK;
}

static HS_RESULT sgn_add_extensions(X509 *x, const struct sgn_cert_template *t)
{
    HS_GUARD(sgn_add_basic_constraints(x, t->ca, t->path_len));
    HS_GUARD(sgn_add_key_usage(x, t->key_usage));
    if (t->eku != 0) {
        HS_GUARD(sgn_add_eku(x, t->eku));
    }
    HS_GUARD(sgn_add_key_ids(x, t->issuer, t->ski));
    if (t->sans != NULL && sk_GENERAL_NAME_num(t->sans) > 0) {
        int critical = X509_NAME_entry_count(t->subject) == 0 ? 1 : 0;
        HS_GUARD_OSSL(X509_add1_ext_i2d(x, NID_subject_alt_name, (void *)t->sans, critical,
                                        X509V3_ADD_DEFAULT),
                      HS_ERR_CRYPTO);
    }
    for (int i = 0; t->extra != NULL && i < sk_X509_EXTENSION_num(t->extra); i++) {
        HS_GUARD_OSSL(X509_add_ext(x, sk_X509_EXTENSION_value(t->extra, i), -1) ? 1 : 0,
                      HS_ERR_CRYPTO);
    }
    return HS_OK;
}

static HS_RESULT sgn_template_check(const struct sgn_cert_template *t, struct p11_key *signer)
{
    HS_ENSURE_REF(t->subject);
    HS_ENSURE_MSG(t->subject_key != NULL || (t->subject_spki != NULL && t->issuer != NULL),
                  HS_ERR_INPUT, "no subject key (a self-signed certificate needs subject_key)");
    HS_ENSURE_MSG(t->not_after > t->not_before, HS_ERR_INPUT, "notAfter is not after notBefore");
    HS_ENSURE_MSG(!t->ca || (t->key_usage & SGN_KU_KEY_CERT_SIGN), HS_ERR_INPUT,
                  "a CA certificate needs keyCertSign");
    EVP_PKEY *signer_pub = p11_key_get0_public(signer);
    if (t->issuer == NULL) {
        HS_ENSURE_MSG(EVP_PKEY_eq(t->subject_key, signer_pub) == 1, HS_ERR_INPUT,
                      "a self-signed certificate must be signed by its own key");
    } else {
        HS_ENSURE_MSG(EVP_PKEY_eq(X509_get0_pubkey(t->issuer), signer_pub) == 1, HS_ERR_INPUT,
                      "the signing key does not belong to the issuer certificate");
    }
    return HS_OK;
}

static HS_RESULT sgn_tbs_fill(X509 *x, const struct sgn_cert_template *t)
{
    HS_GUARD_OSSL(X509_set_version(x, X509_VERSION_3), HS_ERR_CRYPTO);
    HS_GUARD(sgn_serial_new(x));
    HS_GUARD_OSSL(X509_set_subject_name(x, t->subject), HS_ERR_CRYPTO);
    const X509_NAME *issuer_name =
        t->issuer != NULL ? X509_get_subject_name(t->issuer) : t->subject;
    HS_GUARD_OSSL(X509_set_issuer_name(x, issuer_name), HS_ERR_CRYPTO);
    HS_GUARD_OSSL_PTR(ASN1_TIME_set(X509_getm_notBefore(x), t->not_before), HS_ERR_CRYPTO);
    HS_GUARD_OSSL_PTR(ASN1_TIME_set(X509_getm_notAfter(x), t->not_after), HS_ERR_CRYPTO);
    if (t->subject_spki != NULL) {
        HS_GUARD(sgn_spki_set_x509(x, t->subject_spki));
    } else {
        HS_GUARD_OSSL(X509_set_pubkey(x, t->subject_key), HS_ERR_CRYPTO);
    }
    return sgn_add_extensions(x, t);
}

/* A DER Certificate (RFC 5280 §4.1: SEQUENCE { tbsCertificate, signatureAlgorithm,
 * signatureValue BIT STRING }) as views into its encoding. */
struct sgn_cert_der {
    const unsigned char *tbs; /* the whole TBSCertificate TLV: what was signed */
    size_t tbs_len;
    const unsigned char *sig; /* the signature's octets (no unused bits) */
    size_t sig_len;
};

/* Reads one TLV header at *p (at most end - *p bytes): the tag and class it must have, whether
 * constructed; *body gets the content length, *p moves past the header. */
static HS_RESULT sgn_der_header(const unsigned char **p, const unsigned char *end, int want_tag,
                                bool constructed, long *body)
{
    int tag = 0;
    int cls = 0;
    HS_ENSURE(*p < end, HS_ERR_CRYPTO);
    int rc = ASN1_get_object(p, body, &tag, &cls, (long)(end - *p));
    HS_ENSURE((rc & 0x80) == 0 && tag == want_tag && cls == V_ASN1_UNIVERSAL &&
                  ((rc & V_ASN1_CONSTRUCTED) != 0) == constructed && *body <= end - *p,
              HS_ERR_CRYPTO);
    return HS_OK;
}

static HS_RESULT sgn_cert_der_split(const unsigned char *der, size_t len, struct sgn_cert_der *out)
{
    const unsigned char *p = der;
    const unsigned char *end = der + len;
    long body = 0;
    HS_GUARD(sgn_der_header(&p, end, V_ASN1_SEQUENCE, true, &body));
    HS_ENSURE(p + body == end, HS_ERR_CRYPTO);
    const unsigned char *tbs = p;
    HS_GUARD(sgn_der_header(&p, end, V_ASN1_SEQUENCE, true, &body));
    p += body;
    out->tbs = tbs;
    out->tbs_len = (size_t)(p - tbs);
    HS_GUARD(sgn_der_header(&p, end, V_ASN1_SEQUENCE, true, &body));
    p += body;
    HS_GUARD(sgn_der_header(&p, end, V_ASN1_BIT_STRING, false, &body));
    HS_ENSURE(body >= 2 && p[0] == 0 && p + body == end, HS_ERR_CRYPTO);
    out->sig = p + 1;
    out->sig_len = (size_t)body - 1;
    return HS_OK;
}

/* Encodes the signed x once and checks the token's signature over the encoded TBSCertificate
 * (the bytes that leave) with the signer's public key. *der (OPENSSL_malloc'd) on success. */
static HS_RESULT sgn_cert_encode_verified(X509 *x, struct p11_key *signer, enum p11_sig_alg alg,
                                          unsigned char **der, size_t *der_len)
{
    HS_DEFER(unsigned char *enc = NULL, hs_ossl_freep);
    int len = i2d_X509(x, &enc);
    HS_ENSURE(len > 0 && enc != NULL, HS_ERR_CRYPTO);
    struct sgn_cert_der parts;
    HS_GUARD(sgn_cert_der_split(enc, (size_t)len, &parts));
    HS_DEFER(EVP_MD_CTX *vctx = EVP_MD_CTX_new(), hs_evp_md_ctx_freep);
    HS_ENSURE(vctx != NULL, HS_ERR_NOMEM);
    /* A signature the token got wrong (a fault) must never leave: check it before use. */
    int ok = EVP_DigestVerifyInit_ex(vctx, NULL, p11_sig_alg_digest(alg), NULL, NULL,
                                     p11_key_get0_public(signer), NULL) == 1 &&
             EVP_DigestVerify(vctx, parts.sig, parts.sig_len, parts.tbs, parts.tbs_len) == 1;
    ERR_clear_error();
    HS_ENSURE_MSG(ok, HS_ERR_HSM, "the token's signature does not verify");
    *der = enc;
    *der_len = (size_t)len;
    enc = NULL;
    return HS_OK;
}

/* sgn_cert_sign() with the signer's EVP_PKEY made beforehand (an issuer's), or NULL to make
 * one for this signature; also hands out the certificate's DER (*der, OPENSSL_malloc'd). */
static HS_RESULT sgn_cert_sign_pkey(const struct sgn_cert_template *t, struct p11_key *signer,
                                    EVP_PKEY *pkey, X509 **out, unsigned char **der,
                                    size_t *der_len)
{
    HS_ENSURE_REF(t);
    HS_ENSURE_REF(signer);
    HS_GUARD(sgn_template_check(t, signer));
    HS_DEFER(X509 *x = X509_new(), hs_x509_freep);
    HS_ENSURE(x != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_tbs_fill(x, t));
    /* Lint before the real key signs anything. */
    HS_GUARD(sgn_lint_tbs(x, t));
    HS_DEFER(EVP_MD_CTX *mctx = NULL, hs_evp_md_ctx_freep);
    enum p11_sig_alg alg = p11_sig_alg_default(p11_key_type(signer));
    if (pkey != NULL) {
        HS_GUARD(p11_evp_sign_ctx_new_pkey(signer, pkey, alg, &mctx));
    } else {
        HS_GUARD(p11_evp_sign_ctx_new(signer, alg, &mctx));
    }
    HS_GUARD_OSSL(X509_sign_ctx(x, mctx) > 0 ? 1 : 0, HS_ERR_CRYPTO);
    HS_DEFER(unsigned char *enc = NULL, hs_ossl_freep);
    size_t len = 0;
    HS_GUARD(sgn_cert_encode_verified(x, signer, alg, &enc, &len));
    HS_GUARD(sgn_lint_signature(x, signer));
    *out = x;
    x = NULL;
    *der = enc;
    *der_len = len;
    enc = NULL;
    return HS_OK;
}

HS_RESULT sgn_cert_sign(const struct sgn_cert_template *t, struct p11_key *signer, X509 **out)
{
    HS_DEFER(unsigned char *der = NULL, hs_ossl_freep);
    size_t len = 0;
    return sgn_cert_sign_pkey(t, signer, NULL, out, &der, &len);
}

/* --- issuer -------------------------------------------------------------------------------- */

void sgn_issuer_free(struct sgn_issuer *issuer)
{
    if (issuer == NULL) {
        return;
    }
    p11_key_free(issuer->key);
    X509_free(issuer->cert);
    sk_X509_pop_free(issuer->chain, X509_free);
    OPENSSL_free(issuer->chain_pem);
    EVP_PKEY_free(issuer->sign_pkey);
    OPENSSL_free(issuer);
}

void sgn_issuer_freep(struct sgn_issuer **issuer)
{
    sgn_issuer_free(*issuer);
}

static HS_RESULT sgn_chain_read(const char *pem, size_t len, STACK_OF(X509) * *out)
{
    HS_ENSURE_MSG(len <= SGN_CHAIN_PEM_MAX, HS_ERR_INPUT_CONFIG, "chain larger than %d bytes",
                  SGN_CHAIN_PEM_MAX);
    HS_DEFER(BIO *bio = BIO_new_mem_buf(pem, (int)len), hs_bio_freep);
    HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
    HS_DEFER(STACK_OF(X509) *chain = sk_X509_new_null(), hs_x509_stack_freep);
    HS_ENSURE(chain != NULL, HS_ERR_NOMEM);
    X509 *x = NULL;
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (sk_X509_num(chain) >= SGN_CHAIN_CERTS_MAX || sk_X509_push(chain, x) <= 0) {
            X509_free(x);
            HS_BAIL_MSG(HS_ERR_INPUT_CONFIG, "chain holds more than %d certificates",
                        SGN_CHAIN_CERTS_MAX);
        }
    }
    ERR_clear_error();
    HS_ENSURE_MSG(sk_X509_num(chain) > 0, HS_ERR_INPUT_CONFIG, "chain holds no certificate");
    *out = chain;
    chain = NULL;
    return HS_OK;
}

/* X509_verify_cert of cert against the single trust anchor, with X509_V_FLAG_X509_STRICT and
 * the given extra flags. */
static HS_RESULT sgn_verify_against(X509 *cert, X509 *anchor, STACK_OF(X509) * untrusted,
                                    unsigned long flags)
{
    HS_DEFER(X509_STORE *store = X509_STORE_new(), hs_x509_store_freep);
    HS_DEFER(X509_STORE_CTX *ctx = X509_STORE_CTX_new(), hs_x509_store_ctx_freep);
    HS_ENSURE(store != NULL && ctx != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(X509_STORE_add_cert(store, anchor), HS_ERR_CRYPTO);
    HS_GUARD_OSSL(X509_STORE_CTX_init(ctx, store, cert, untrusted), HS_ERR_CRYPTO);
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT | flags);
    int ok = X509_verify_cert(ctx);
    int err = X509_STORE_CTX_get_error(ctx);
    ERR_clear_error();
    HS_ENSURE_MSG(ok == 1, HS_ERR_INPUT_CONFIG, "certificate does not verify: %s",
                  X509_verify_cert_error_string(err));
    return HS_OK;
}

HS_RESULT sgn_chain_verify(X509 *cert, X509 *root, STACK_OF(X509) * untrusted)
{
    HS_ENSURE_REF(cert);
    HS_ENSURE_REF(root);
    return sgn_verify_against(cert, root, untrusted, X509_V_FLAG_CHECK_SS_SIGNATURE);
}

/* The chain must lead from its first certificate to its last, a self-signed root. The root's
 * own signature is verified once, by sgn_chain_verify (X509_V_FLAG_CHECK_SS_SIGNATURE): asking
 * X509_self_signed() to verify it as well cost a second P-384 verification (~0.6 ms, 4% of
 * hsmsignd's start-up CPU). */
static HS_RESULT sgn_chain_check(STACK_OF(X509) * chain)
{
    X509 *root = sk_X509_value(chain, sk_X509_num(chain) - 1);
    HS_ENSURE_MSG(X509_self_signed(root, 0) == 1, HS_ERR_INPUT_CONFIG,
                  "the chain's last certificate is not a self-signed root");
    return sgn_chain_verify(sk_X509_value(chain, 0), root, chain);
}

static HS_RESULT sgn_chain_to_pem(STACK_OF(X509) * chain, char **out)
{
    HS_DEFER(struct hs_buf *pem = hs_buf_new(SGN_CHAIN_PEM_MAX), hs_buf_freep);
    HS_ENSURE(pem != NULL, HS_ERR_NOMEM);
    for (int i = 0; i < sk_X509_num(chain); i++) {
        HS_GUARD(sgn_cert_to_pem(sk_X509_value(chain, i), pem));
    }
    const char *s = NULL;
    HS_GUARD(hs_buf_cstr(pem, &s));
    char *copy = OPENSSL_strdup(s);
    HS_ENSURE(copy != NULL, HS_ERR_NOMEM);
    *out = copy;
    return HS_OK;
}

HS_RESULT sgn_issuer_new(struct p11_key *key, const char *chain_pem, size_t chain_len,
                         struct sgn_issuer **out)
{
    HS_ENSURE_REF(key);
    HS_ENSURE_REF(chain_pem);
    HS_DEFER(STACK_OF(X509) *chain = NULL, hs_x509_stack_freep);
    HS_GUARD(sgn_chain_read(chain_pem, chain_len, &chain));
    X509 *cert = sk_X509_value(chain, 0);
    HS_ENSURE_MSG(
        EVP_PKEY_eq(X509_get0_pubkey(cert), p11_key_get0_public(key)) == 1, HS_ERR_INPUT_CONFIG,
        "the chain's first certificate does not belong to token key \"%s\"", p11_key_label(key));
    HS_ENSURE_MSG(X509_check_ca(cert) >= 1 && (X509_get_key_usage(cert) & KU_KEY_CERT_SIGN),
                  HS_ERR_INPUT_CONFIG, "the issuing certificate is not a CA with keyCertSign");
    HS_GUARD(p11_sign_check_key(key, p11_sig_alg_default(p11_key_type(key))));
    HS_GUARD(sgn_chain_check(chain));
    HS_DEFER(struct sgn_issuer *issuer = OPENSSL_zalloc(sizeof(*issuer)), sgn_issuer_freep);
    HS_ENSURE(issuer != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_chain_to_pem(chain, &issuer->chain_pem));
    HS_GUARD(p11_evp_pkey_new(key, &issuer->sign_pkey));
    HS_ENSURE(X509_up_ref(cert) == 1, HS_ERR_CRYPTO);
    issuer->cert = cert;
    issuer->chain = chain;
    chain = NULL;
    issuer->key = p11_key_up_ref(key);
    *out = issuer;
    issuer = NULL;
    return HS_OK;
}

HS_RESULT sgn_issuer_verify_leaf(const struct sgn_issuer *issuer, X509 *leaf)
{
    HS_ENSURE_REF(issuer);
    HS_ENSURE_REF(leaf);
    int rc = X509_check_issued(issuer->cert, leaf);
    ERR_clear_error();
    HS_ENSURE_MSG(rc == X509_V_OK, HS_ERR_INPUT_CONFIG,
                  "the certificate was not issued by this CA: %s",
                  X509_verify_cert_error_string(rc));
    /* The chain above the issuing certificate was verified when it was loaded; trusting the
     * issuing certificate itself (X509_V_FLAG_PARTIAL_CHAIN) checks the leaf's signature,
     * validity and extensions without verifying the root's signature again each time (a
     * P-384 verification costs ~0.6 ms). */
    return sgn_verify_against(leaf, issuer->cert, NULL, X509_V_FLAG_PARTIAL_CHAIN);
}

X509 *sgn_issuer_get0_cert(const struct sgn_issuer *issuer)
{
    return issuer->cert;
}

const char *sgn_issuer_get0_chain_pem(const struct sgn_issuer *issuer)
{
    return issuer->chain_pem;
}

struct p11_key *sgn_issuer_get0_key(const struct sgn_issuer *issuer)
{
    return issuer->key;
}

/* --- leaf issuance -------------------------------------------------------------------------- */

/* The leaf's validity: [now - backdate, now + ttl], kept inside the issuer's validity. */
static HS_RESULT sgn_leaf_validity(X509 *issuer, time_t now, long ttl_s, time_t *nb, time_t *na)
{
    time_t issuer_nb = 0;
    time_t issuer_na = 0;
    HS_GUARD(sgn_asn1_time_to_epoch(X509_get0_notBefore(issuer), &issuer_nb));
    HS_GUARD(sgn_asn1_time_to_epoch(X509_get0_notAfter(issuer), &issuer_na));
    *nb = now - SGN_BACKDATE_S > issuer_nb ? now - SGN_BACKDATE_S : issuer_nb;
    *na = now + ttl_s < issuer_na ? now + ttl_s : issuer_na;
    HS_ENSURE_MSG(*na > now && now >= issuer_nb, HS_ERR_INTERNAL,
                  "the issuing CA is not valid now");
    return HS_OK;
}

static HS_RESULT sgn_leaf_subject(const struct sgn_csr *csr, X509_NAME **out)
{
    HS_DEFER(X509_NAME *name = X509_NAME_new(), hs_x509_name_freep);
    HS_ENSURE(name != NULL, HS_ERR_NOMEM);
    const char *cn = sgn_csr_get0_cn(csr);
    if (cn != NULL) {
        HS_GUARD_OSSL(X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                                 (const unsigned char *)cn, -1, -1, 0),
                      HS_ERR_CRYPTO);
    }
    *out = name;
    name = NULL;
    return HS_OK;
}

/* The leaf's digests, from the DER sgn_cert_sign_pkey() encoded once (leaf->der): the
 * TBSCertificate's (the audit line's tbs_sha256) and the whole certificate's. */
static HS_RESULT sgn_leaf_digests(struct sgn_leaf *leaf)
{
    struct sgn_cert_der parts;
    HS_GUARD(sgn_cert_der_split(leaf->der, leaf->der_len, &parts));
    HS_GUARD(hs_sha256(parts.tbs, parts.tbs_len, leaf->tbs_sha256));
    HS_GUARD(hs_sha256(leaf->der, leaf->der_len, leaf->cert_sha256));
    return HS_OK;
}

static HS_RESULT sgn_cert_issue_checked(const struct sgn_issuer *issuer,
                                        const struct sgn_leaf_request *req, struct sgn_leaf *out)
{
    HS_ENSURE_MSG(req->ttl_s >= 1 && req->ttl_s <= SGN_LEAF_TTL_MAX_S, HS_ERR_INPUT_RANGE,
                  "certificate lifetime must be 1..%d seconds", SGN_LEAF_TTL_MAX_S);
    struct sgn_leaf leaf;
    memset(&leaf, 0, sizeof(leaf));
    HS_GUARD(
        sgn_leaf_validity(issuer->cert, req->now, req->ttl_s, &leaf.not_before, &leaf.not_after));
    HS_DEFER(X509_NAME *subject = NULL, hs_x509_name_freep);
    HS_GUARD(sgn_leaf_subject(req->csr, &subject));
    HS_DEFER(STACK_OF(X509_EXTENSION) *extra = sk_X509_EXTENSION_new_null(),
             hs_x509_extension_stack_freep);
    HS_ENSURE(extra != NULL, HS_ERR_NOMEM);
    if (req->crl_url != NULL) {
        HS_GUARD(sgn_ext_crl_distribution_point(req->crl_url, extra));
    }
    bool rsa = sgn_csr_get0_key_info(req->csr)->kind == SGN_KEY_RSA;
    unsigned int key_usage =
        req->key_usage != 0 ? req->key_usage
                            : SGN_KU_DIGITAL_SIGNATURE |
                                  ((req->eku & SGN_EKU_SERVER_AUTH) ? SGN_KU_KEY_ENCIPHERMENT : 0);
    /* keyEncipherment is TLS RSA key transport: only an RSA key can do it. */
    key_usage &= rsa ? ~0U : ~(unsigned int)SGN_KU_KEY_ENCIPHERMENT;
    HS_ENSURE_MSG(
        (key_usage & ~(unsigned int)(SGN_KU_DIGITAL_SIGNATURE | SGN_KU_KEY_ENCIPHERMENT)) == 0 &&
            key_usage != 0,
        HS_ERR_INPUT_KEY, "the profile's key usages do not fit this key");
    struct sgn_cert_template t = {
        .subject = subject,
        .subject_spki = sgn_csr_get0_spki(req->csr),
        .issuer = issuer->cert,
        .not_before = leaf.not_before,
        .not_after = leaf.not_after,
        .ca = false,
        .path_len = -1,
        .key_usage = key_usage,
        .eku = req->eku,
        .sans = sgn_csr_get0_sans(req->csr),
        .extra = extra,
    };
    HS_DEFER(X509 *cert = NULL, hs_x509_freep);
    HS_DEFER(unsigned char *der = NULL, hs_ossl_freep);
    HS_GUARD(sgn_cert_sign_pkey(&t, issuer->key, issuer->sign_pkey, &cert, &der, &leaf.der_len));
    leaf.der = der;
    HS_GUARD(sgn_leaf_digests(&leaf));
    HS_GUARD(sgn_cert_serial_hex(cert, leaf.serial_hex, sizeof(leaf.serial_hex)));
    HS_GUARD(sgn_csr_spki_sha256(req->csr, leaf.spki_sha256));
    der = NULL;
    /* Signed, not yet issued: the caller records it, then calls sgn_leaf_audit(). */
    leaf.cert = cert;
    cert = NULL;
    *out = leaf;
    return HS_OK;
}

HS_RESULT sgn_cert_issue(const struct sgn_issuer *issuer, const struct sgn_leaf_request *req,
                         struct sgn_leaf *out)
{
    HS_ENSURE_REF(issuer);
    HS_ENSURE_REF(req);
    HS_ENSURE_REF(req->csr);
    hs_result r = sgn_cert_issue_checked(issuer, req, out);
    if (hs_failed(r)) {
        /* Every sign request has an audited result, failures included. */
        hs_log(HS_LOG_WARN, "sign.cert.failed", HS_LOG_AUDIT, HS_LOG_STR("caller", req->requester),
               HS_LOG_STR("key_label", p11_key_label(issuer->key)),
               HS_LOG_STR("profile", req->profile), HS_LOG_STR("cn", sgn_csr_get0_cn(req->csr)),
               HS_LOG_INT("ttl_s", req->ttl_s), HS_LOG_ERR());
    }
    return r;
}

void sgn_leaf_audit(const struct sgn_issuer *issuer, const struct sgn_leaf_request *req,
                    const struct sgn_leaf *leaf, hs_result recorded)
{
    char not_after[32];
    sgn_time_rfc3339(leaf->not_after, not_after);
    const char *key_label = p11_key_label(issuer->key);
    const char *cn = sgn_csr_get0_cn(req->csr);
    int sans = sk_GENERAL_NAME_num(sgn_csr_get0_sans(req->csr));
    const struct hs_log_field spki =
        HS_LOG_HEX("spki_sha256", leaf->spki_sha256, sizeof(leaf->spki_sha256));
    const struct hs_log_field tbs =
        HS_LOG_HEX("tbs_sha256", leaf->tbs_sha256, sizeof(leaf->tbs_sha256));
    /* One audited line per signature: this one, or sign.cert.failed from sgn_cert_issue(). */
    if (!hs_failed(recorded)) {
        hs_log(HS_LOG_INFO, "sign.cert.issued", HS_LOG_AUDIT, HS_LOG_STR("caller", req->requester),
               HS_LOG_STR("key_label", key_label), HS_LOG_STR("profile", req->profile),
               HS_LOG_STR("cn", cn), HS_LOG_INT("sans", sans), spki,
               HS_LOG_STR("serial", leaf->serial_hex), HS_LOG_STR("not_after", not_after), tbs);
        return;
    }
    hs_log(HS_LOG_WARN, "sign.cert.discarded", HS_LOG_AUDIT, HS_LOG_STR("caller", req->requester),
           HS_LOG_STR("key_label", key_label), HS_LOG_STR("profile", req->profile),
           HS_LOG_STR("cn", cn), HS_LOG_INT("sans", sans), spki,
           HS_LOG_STR("serial", leaf->serial_hex), HS_LOG_STR("not_after", not_after), tbs,
           HS_LOG_STR("reason", hs_code_name(recorded.code)), HS_LOG_ERR());
}

void sgn_leaf_clear(struct sgn_leaf *leaf)
{
    if (leaf != NULL) {
        X509_free(leaf->cert);
        leaf->cert = NULL;
        OPENSSL_free(leaf->der);
        leaf->der = NULL;
        leaf->der_len = 0;
    }
}
