#include "signer/sgn_crl.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/hs_defer.h"
#include "pkcs11/p11_evp.h"
#include "pkcs11/p11_sign.h"

#define SGN_SERIAL_HEX_MAX 40

HS_DEFINE_FREEP(sgn_crl_revoked_freep, X509_REVOKED, X509_REVOKED_free)
HS_DEFINE_FREEP(sgn_crl_enum_freep, ASN1_ENUMERATED, ASN1_ENUMERATED_free)
HS_DEFINE_FREEP(sgn_crl_aki_freep, AUTHORITY_KEYID, AUTHORITY_KEYID_free)

static const struct {
    const char *name;
    int code;
} sgn_crl_reasons[] = {
    {"unspecified", CRL_REASON_UNSPECIFIED},
    {"keyCompromise", CRL_REASON_KEY_COMPROMISE},
    {"cACompromise", CRL_REASON_CA_COMPROMISE},
    {"affiliationChanged", CRL_REASON_AFFILIATION_CHANGED},
    {"superseded", CRL_REASON_SUPERSEDED},
    {"cessationOfOperation", CRL_REASON_CESSATION_OF_OPERATION},
    {"certificateHold", CRL_REASON_CERTIFICATE_HOLD},
    {"removeFromCRL", CRL_REASON_REMOVE_FROM_CRL},
    {"privilegeWithdrawn", CRL_REASON_PRIVILEGE_WITHDRAWN},
    {"aACompromise", CRL_REASON_AA_COMPROMISE},
};

HS_RESULT sgn_crl_reason_parse(const char *name, int *out)
{
    HS_ENSURE_REF(name);
    for (size_t i = 0; i < sizeof(sgn_crl_reasons) / sizeof(sgn_crl_reasons[0]); i++) {
        if (strcmp(name, sgn_crl_reasons[i].name) == 0) {
            *out = sgn_crl_reasons[i].code;
            return HS_OK;
        }
    }
    HS_BAIL_MSG(HS_ERR_INPUT_FIELD, "unknown revocation reason \"%.32s\" (RFC 5280 §5.3.1)", name);
}

const char *sgn_crl_reason_name(int reason)
{
    for (size_t i = 0; i < sizeof(sgn_crl_reasons) / sizeof(sgn_crl_reasons[0]); i++) {
        if (sgn_crl_reasons[i].code == reason) {
            return sgn_crl_reasons[i].name;
        }
    }
    return "unknown";
}

static HS_RESULT sgn_serial_from_hex(const char *hex, ASN1_INTEGER **out)
{
    size_t n = hex != NULL ? strnlen(hex, SGN_SERIAL_HEX_MAX + 1) : 0;
    HS_ENSURE_MSG(n > 0 && n <= SGN_SERIAL_HEX_MAX && strspn(hex, "0123456789abcdefABCDEF") == n,
                  HS_ERR_INPUT_FIELD, "serial must be 1..%d hex digits", SGN_SERIAL_HEX_MAX);
    HS_DEFER(BIGNUM *bn = NULL, hs_bn_freep);
    HS_ENSURE(BN_hex2bn(&bn, hex) == (int)n, HS_ERR_INPUT_FIELD);
    ASN1_INTEGER *i = BN_to_ASN1_INTEGER(bn, NULL);
    HS_ENSURE(i != NULL, HS_ERR_NOMEM);
    *out = i;
    return HS_OK;
}

static HS_RESULT sgn_crl_add_entry(X509_CRL *crl, const struct sgn_crl_entry *e)
{
    HS_DEFER(X509_REVOKED *r = X509_REVOKED_new(), sgn_crl_revoked_freep);
    HS_DEFER(ASN1_INTEGER *serial = NULL, hs_asn1_integer_freep);
    HS_DEFER(ASN1_TIME *when = ASN1_TIME_set(NULL, e->revoked_at), hs_asn1_time_freep);
    HS_ENSURE(r != NULL && when != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_serial_from_hex(e->serial_hex, &serial));
    HS_GUARD_OSSL(X509_REVOKED_set_serialNumber(r, serial), HS_ERR_CRYPTO);
    HS_GUARD_OSSL(X509_REVOKED_set_revocationDate(r, when), HS_ERR_CRYPTO);
    if (e->reason != SGN_CRL_REASON_NONE && e->reason != CRL_REASON_UNSPECIFIED) {
        HS_ENSURE_MSG(strcmp(sgn_crl_reason_name(e->reason), "unknown") != 0, HS_ERR_INPUT_FIELD,
                      "unknown revocation reason code %d", e->reason);
        HS_DEFER(ASN1_ENUMERATED *code = ASN1_ENUMERATED_new(), sgn_crl_enum_freep);
        HS_ENSURE(code != NULL, HS_ERR_NOMEM);
        HS_GUARD_OSSL(ASN1_ENUMERATED_set(code, e->reason), HS_ERR_CRYPTO);
        HS_GUARD_OSSL(X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, code, 0, 0), HS_ERR_CRYPTO);
    }
    HS_GUARD_OSSL(X509_CRL_add0_revoked(crl, r), HS_ERR_CRYPTO);
    r = NULL;
    return HS_OK;
}

/* After sorting, equal serials are neighbours. */
static HS_RESULT sgn_crl_check_unique(X509_CRL *crl)
{
    STACK_OF(X509_REVOKED) *list = X509_CRL_get_REVOKED(crl);
    for (int i = 1; i < sk_X509_REVOKED_num(list); i++) {
        const ASN1_INTEGER *a = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(list, i - 1));
        const ASN1_INTEGER *b = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(list, i));
        HS_ENSURE_MSG(ASN1_INTEGER_cmp(a, b) != 0, HS_ERR_INPUT_FIELD, "a serial is listed twice");
    }
    return HS_OK;
}

static HS_RESULT sgn_crl_add_extensions(X509_CRL *crl, X509 *issuer, uint64_t number)
{
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(issuer);
    HS_ENSURE_MSG(ski != NULL, HS_ERR_INPUT_CONFIG, "the issuer certificate has no SKI");
    HS_DEFER(AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new(), sgn_crl_aki_freep);
    HS_ENSURE(aki != NULL, HS_ERR_NOMEM);
    aki->keyid = ASN1_OCTET_STRING_dup(ski);
    HS_ENSURE(aki->keyid != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, aki, 0, 0),
                  HS_ERR_CRYPTO);
    HS_DEFER(ASN1_INTEGER *num = ASN1_INTEGER_new(), hs_asn1_integer_freep);
    HS_ENSURE(num != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(ASN1_INTEGER_set_uint64(num, number), HS_ERR_CRYPTO);
    HS_GUARD_OSSL(X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0), HS_ERR_CRYPTO);
    return HS_OK;
}

static HS_RESULT sgn_crl_check_spec(const struct sgn_crl_spec *spec)
{
    HS_ENSURE_REF(spec->issuer);
    HS_ENSURE_REF(spec->key);
    HS_ENSURE(spec->entries != NULL || spec->n == 0, HS_ERR_INTERNAL);
    HS_ENSURE_MSG(spec->n <= SGN_CRL_ENTRIES_MAX, HS_ERR_INPUT_RANGE, "more than %d entries",
                  SGN_CRL_ENTRIES_MAX);
    HS_ENSURE_MSG(spec->next_update > spec->this_update, HS_ERR_INPUT_RANGE,
                  "nextUpdate must be after thisUpdate");
    HS_ENSURE_MSG(X509_get_key_usage(spec->issuer) & KU_CRL_SIGN, HS_ERR_INPUT_CONFIG,
                  "the issuer certificate lacks cRLSign");
    HS_ENSURE_MSG(EVP_PKEY_eq(X509_get0_pubkey(spec->issuer), p11_key_get0_public(spec->key)) == 1,
                  HS_ERR_INPUT_CONFIG, "the key does not belong to the issuer certificate");
    return HS_OK;
}

static HS_RESULT sgn_crl_fill(X509_CRL *crl, const struct sgn_crl_spec *spec)
{
    HS_GUARD_OSSL(X509_CRL_set_version(crl, X509_CRL_VERSION_2), HS_ERR_CRYPTO);
    HS_GUARD_OSSL(X509_CRL_set_issuer_name(crl, X509_get_subject_name(spec->issuer)),
                  HS_ERR_CRYPTO);
    HS_DEFER(ASN1_TIME *this_update = ASN1_TIME_set(NULL, spec->this_update), hs_asn1_time_freep);
    HS_DEFER(ASN1_TIME *next_update = ASN1_TIME_set(NULL, spec->next_update), hs_asn1_time_freep);
    HS_ENSURE(this_update != NULL && next_update != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(X509_CRL_set1_lastUpdate(crl, this_update), HS_ERR_CRYPTO);
    HS_GUARD_OSSL(X509_CRL_set1_nextUpdate(crl, next_update), HS_ERR_CRYPTO);
    for (size_t i = 0; i < spec->n; i++) {
        HS_GUARD(sgn_crl_add_entry(crl, &spec->entries[i]));
    }
    HS_GUARD_OSSL(X509_CRL_sort(crl), HS_ERR_CRYPTO);
    HS_GUARD(sgn_crl_check_unique(crl));
    return sgn_crl_add_extensions(crl, spec->issuer, spec->number);
}

HS_RESULT sgn_crl_sign(const struct sgn_crl_spec *spec, X509_CRL **out)
{
    HS_ENSURE_REF(spec);
    HS_GUARD(sgn_crl_check_spec(spec));
    HS_DEFER(X509_CRL *crl = X509_CRL_new(), hs_x509_crl_freep);
    HS_ENSURE(crl != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_crl_fill(crl, spec));
    HS_DEFER(EVP_MD_CTX *mctx = NULL, hs_evp_md_ctx_freep);
    HS_GUARD(p11_evp_sign_ctx_new(spec->key, p11_sig_alg_default(p11_key_type(spec->key)), &mctx));
    HS_GUARD_OSSL(X509_CRL_sign_ctx(crl, mctx) > 0 ? 1 : 0, HS_ERR_CRYPTO);
    int ok = X509_CRL_verify(crl, p11_key_get0_public(spec->key));
    ERR_clear_error();
    HS_ENSURE_MSG(ok == 1, HS_ERR_HSM, "the token's CRL signature does not verify");
    *out = crl;
    crl = NULL;
    return HS_OK;
}

static HS_RESULT sgn_crl_put_bio(BIO *bio, struct hs_buf *out)
{
    char *p = NULL;
    long n = BIO_get_mem_data(bio, &p);
    HS_ENSURE(n > 0 && p != NULL, HS_ERR_CRYPTO);
    return hs_buf_put(out, p, (size_t)n);
}

HS_RESULT sgn_crl_to_pem(const X509_CRL *crl, struct hs_buf *out)
{
    HS_DEFER(BIO *bio = BIO_new(BIO_s_mem()), hs_bio_freep);
    HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(PEM_write_bio_X509_CRL(bio, crl), HS_ERR_CRYPTO);
    return sgn_crl_put_bio(bio, out);
}

HS_RESULT sgn_crl_to_der(const X509_CRL *crl, struct hs_buf *out)
{
    HS_DEFER(BIO *bio = BIO_new(BIO_s_mem()), hs_bio_freep);
    HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(i2d_X509_CRL_bio(bio, crl), HS_ERR_CRYPTO);
    return sgn_crl_put_bio(bio, out);
}
