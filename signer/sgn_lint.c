#include "signer/sgn_lint.h"

#include <string.h>

#include <openssl/x509v3.h>

#include "common/hs_defer.h"
#include "pkcs11/p11_evp.h"
#include "pkcs11/p11_sign.h"
#include "signer/sgn_spki.h"

#define SGN_LINT_EXTS_MAX 32

HS_DEFINE_FREEP(sgn_lint_aki_freep, AUTHORITY_KEYID, AUTHORITY_KEYID_free)
HS_DEFINE_FREEP(sgn_lint_bits_freep, ASN1_BIT_STRING, ASN1_BIT_STRING_free)
HS_DEFINE_FREEP(sgn_lint_eku_freep, EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free)

/* Extensions we put into certificates; anything else is a lint failure. */
static const int sgn_lint_known[] = {
    NID_basic_constraints,
    NID_key_usage,
    NID_ext_key_usage,
    NID_subject_key_identifier,
    NID_authority_key_identifier,
    NID_subject_alt_name,
    NID_name_constraints,
    NID_crl_distribution_points,
    NID_info_access,
};

static bool sgn_lint_is_known(int nid)
{
    for (size_t i = 0; i < sizeof(sgn_lint_known) / sizeof(sgn_lint_known[0]); i++) {
        if (sgn_lint_known[i] == nid) {
            return true;
        }
    }
    return false;
}

static HS_RESULT sgn_lint_serial(const X509 *x)
{
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    HS_ENSURE_MSG(ASN1_STRING_type(sn) == V_ASN1_INTEGER, HS_ERR_LINT, "serial is not positive");
    int len = ASN1_STRING_length(sn);
    const unsigned char *p = ASN1_STRING_get0_data(sn);
    /* DER adds a leading zero octet when the magnitude's top bit is set. */
    int der = len + (len > 0 && (p[0] & 0x80) ? 1 : 0);
    HS_ENSURE_MSG(len >= 8 && der <= 20, HS_ERR_LINT,
                  "serial is %d octets; RFC 5280 allows at most 20, we want 64+ random bits", der);
    return HS_OK;
}

static HS_RESULT sgn_lint_validity(const X509 *x, const X509 *issuer)
{
    const ASN1_TIME *nb = X509_get0_notBefore(x);
    const ASN1_TIME *na = X509_get0_notAfter(x);
    HS_ENSURE_MSG(ASN1_TIME_compare(nb, na) < 0, HS_ERR_LINT, "notBefore is not before notAfter");
    if (issuer != NULL) {
        HS_ENSURE_MSG(ASN1_TIME_compare(X509_get0_notBefore(issuer), nb) <= 0 &&
                          ASN1_TIME_compare(na, X509_get0_notAfter(issuer)) <= 0,
                      HS_ERR_LINT, "validity is not inside the issuer's");
    }
    return HS_OK;
}

static HS_RESULT sgn_lint_names(X509 *x, X509 *issuer, bool ca)
{
    const X509_NAME *want =
        issuer != NULL ? X509_get_subject_name(issuer) : X509_get_subject_name(x);
    HS_ENSURE_MSG(X509_NAME_cmp(X509_get_issuer_name(x), want) == 0, HS_ERR_LINT,
                  "issuer name is not the issuer's subject");
    HS_ENSURE_MSG(!ca || X509_NAME_entry_count(X509_get_subject_name(x)) > 0, HS_ERR_LINT,
                  "a CA certificate needs a subject");
    return HS_OK;
}

/* The subject key, read from the SPKI as it is (no provider decoding): a type we certify. */
static HS_RESULT sgn_lint_key(const X509 *x)
{
    struct sgn_spki spki;
    struct sgn_spki_info info;
    HS_GUARD(sgn_spki_of_x509(x, &spki));
    hs_result r = sgn_spki_classify(&spki, &info);
    HS_ENSURE_MSG(!hs_failed(r), HS_ERR_LINT, "subject key is not RSA, P-256, P-384 or Ed25519");
    HS_ENSURE_MSG(info.kind != SGN_KEY_RSA || info.bits >= 2048, HS_ERR_LINT,
                  "RSA key below 2048 bits");
    return HS_OK;
}

/* No extension twice, none we do not know. */
static HS_RESULT sgn_lint_extension_set(const X509 *x)
{
    int seen[SGN_LINT_EXTS_MAX];
    int n = X509_get_ext_count(x);
    HS_ENSURE_MSG(n <= SGN_LINT_EXTS_MAX, HS_ERR_LINT, "too many extensions");
    for (int i = 0; i < n; i++) {
        X509_EXTENSION *ext = X509_get_ext(x, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
        HS_ENSURE_MSG(sgn_lint_is_known(nid), HS_ERR_LINT, "unexpected extension (nid %d)", nid);
        for (int j = 0; j < i; j++) {
            HS_ENSURE_MSG(seen[j] != nid, HS_ERR_LINT, "extension %s appears twice",
                          OBJ_nid2sn(nid));
        }
        seen[i] = nid;
    }
    return HS_OK;
}

/* Whether extension nid is present, and its criticality. */
static bool sgn_lint_ext(const X509 *x, int nid, bool *critical)
{
    int idx = X509_get_ext_by_NID(x, nid, -1);
    if (idx < 0) {
        return false;
    }
    *critical = X509_EXTENSION_get_critical(X509_get_ext(x, idx)) != 0;
    return true;
}

static HS_RESULT sgn_lint_basic_constraints(X509 *x, const struct sgn_cert_template *t)
{
    int crit = 0;
    HS_DEFER(BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL),
             hs_basic_constraints_freep);
    HS_ENSURE_MSG(bc != NULL && crit == 1, HS_ERR_LINT, "BasicConstraints missing or not critical");
    HS_ENSURE_MSG((bc->ca != 0) == t->ca, HS_ERR_LINT, "BasicConstraints cA is not as asked");
    long path = bc->pathlen != NULL ? ASN1_INTEGER_get(bc->pathlen) : -1;
    HS_ENSURE_MSG(path == (t->ca ? t->path_len : -1), HS_ERR_LINT,
                  "BasicConstraints pathLenConstraint is not as asked");
    return HS_OK;
}

/* The lint decodes extensions itself (X509_get_ext_d2i): OpenSSL's cached extension flags
 * (X509_get_key_usage and friends) cannot be computed for an unsigned certificate, and a failed
 * computation would stay cached on it after signing. */

static HS_RESULT sgn_lint_key_usage(X509 *x, const struct sgn_cert_template *t)
{
    int crit = 0;
    HS_DEFER(ASN1_BIT_STRING *ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL),
             sgn_lint_bits_freep);
    HS_ENSURE_MSG(ku != NULL && crit == 1, HS_ERR_LINT, "KeyUsage missing or not critical");
    /* Bit numbers of RFC 5280 §4.2.1.3. */
    unsigned int got = (ASN1_BIT_STRING_get_bit(ku, 0) ? SGN_KU_DIGITAL_SIGNATURE : 0) |
                       (ASN1_BIT_STRING_get_bit(ku, 2) ? SGN_KU_KEY_ENCIPHERMENT : 0) |
                       (ASN1_BIT_STRING_get_bit(ku, 5) ? SGN_KU_KEY_CERT_SIGN : 0) |
                       (ASN1_BIT_STRING_get_bit(ku, 6) ? SGN_KU_CRL_SIGN : 0);
    static const int others[] = {1, 3, 4, 7, 8};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        HS_ENSURE_MSG(!ASN1_BIT_STRING_get_bit(ku, others[i]), HS_ERR_LINT,
                      "KeyUsage bit %d set but not asked", others[i]);
    }
    HS_ENSURE_MSG(got == t->key_usage, HS_ERR_LINT, "KeyUsage is 0x%x, asked 0x%x", got,
                  t->key_usage);
    HS_ENSURE_MSG(t->ca || (got & (SGN_KU_KEY_CERT_SIGN | SGN_KU_CRL_SIGN)) == 0, HS_ERR_LINT,
                  "keyCertSign or cRLSign in a certificate that is not a CA");
    return HS_OK;
}

static HS_RESULT sgn_lint_eku(X509 *x, const struct sgn_cert_template *t)
{
    int crit = 0;
    HS_DEFER(EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL),
             sgn_lint_eku_freep);
    HS_ENSURE_MSG((eku != NULL) == (t->eku != 0), HS_ERR_LINT,
                  "ExtendedKeyUsage presence not as asked");
    if (eku == NULL) {
        return HS_OK;
    }
    unsigned int got = 0;
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
        int nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
        HS_ENSURE_MSG(nid == NID_server_auth || nid == NID_client_auth, HS_ERR_LINT,
                      "unexpected ExtendedKeyUsage purpose");
        got |= nid == NID_server_auth ? SGN_EKU_SERVER_AUTH : SGN_EKU_CLIENT_AUTH;
    }
    HS_ENSURE_MSG(crit == 0 && got == t->eku, HS_ERR_LINT,
                  "ExtendedKeyUsage is critical or not as asked");
    return HS_OK;
}

static HS_RESULT sgn_lint_key_ids(X509 *x, X509 *issuer, const struct sgn_cert_template *t)
{
    int crit = 0;
    HS_DEFER(ASN1_OCTET_STRING *ski = X509_get_ext_d2i(x, NID_subject_key_identifier, &crit, NULL),
             hs_asn1_octet_string_freep);
    HS_ENSURE_MSG(ski != NULL && crit == 0, HS_ERR_LINT,
                  "SubjectKeyIdentifier missing or "
                  "critical");
    HS_ENSURE_MSG(t->ski == NULL || ASN1_OCTET_STRING_cmp(ski, t->ski) == 0, HS_ERR_LINT,
                  "SubjectKeyIdentifier is not the one asked for");
    int aki_crit = 0;
    HS_DEFER(AUTHORITY_KEYID *aki =
                 X509_get_ext_d2i(x, NID_authority_key_identifier, &aki_crit, NULL),
             sgn_lint_aki_freep);
    const ASN1_OCTET_STRING *want = issuer != NULL ? X509_get0_subject_key_id(issuer) : ski;
    HS_ENSURE_MSG(aki != NULL && aki_crit == 0 && aki->keyid != NULL && want != NULL &&
                      ASN1_OCTET_STRING_cmp(aki->keyid, want) == 0,
                  HS_ERR_LINT, "AuthorityKeyIdentifier is not the issuer's key identifier");
    HS_ENSURE_MSG(aki->issuer == NULL && aki->serial == NULL, HS_ERR_LINT,
                  "AuthorityKeyIdentifier carries issuer and serial");
    return HS_OK;
}

static HS_RESULT sgn_lint_names_ext(X509 *x, const struct sgn_cert_template *t)
{
    bool crit = false;
    bool empty = X509_NAME_entry_count(X509_get_subject_name(x)) == 0;
    bool san = sgn_lint_ext(x, NID_subject_alt_name, &crit);
    HS_ENSURE_MSG(!empty || san, HS_ERR_LINT, "empty subject without subjectAltName");
    HS_ENSURE_MSG(!san || crit == empty, HS_ERR_LINT,
                  "subjectAltName must be critical exactly when the subject is empty");
    bool nc = sgn_lint_ext(x, NID_name_constraints, &crit);
    HS_ENSURE_MSG(!nc || (t->ca && crit), HS_ERR_LINT,
                  "NameConstraints outside a CA certificate or not critical");
    return HS_OK;
}

HS_RESULT sgn_lint_tbs(X509 *x, const struct sgn_cert_template *t)
{
    HS_ENSURE_REF(x);
    HS_ENSURE_REF(t);
    HS_ENSURE_MSG(X509_get_version(x) == X509_VERSION_3, HS_ERR_LINT,
                  "not an X.509 v3 "
                  "certificate");
    HS_GUARD(sgn_lint_serial(x));
    HS_GUARD(sgn_lint_validity(x, t->issuer));
    HS_GUARD(sgn_lint_names(x, t->issuer, t->ca));
    HS_GUARD(sgn_lint_key(x));
    HS_GUARD(sgn_lint_extension_set(x));
    HS_GUARD(sgn_lint_basic_constraints(x, t));
    HS_GUARD(sgn_lint_key_usage(x, t));
    HS_GUARD(sgn_lint_eku(x, t));
    HS_GUARD(sgn_lint_key_ids(x, t->issuer, t));
    return sgn_lint_names_ext(x, t);
}

HS_RESULT sgn_lint_signature(const X509 *x, const struct p11_key *signer)
{
    HS_ENSURE_REF(x);
    HS_ENSURE_REF(signer);
    const ASN1_BIT_STRING *sig = NULL;
    const X509_ALGOR *outer = NULL;
    X509_get0_signature(&sig, &outer, x);
    const X509_ALGOR *inner = X509_get0_tbs_sigalg(x);
    HS_ENSURE_MSG(outer != NULL && inner != NULL && X509_ALGOR_cmp(outer, inner) == 0, HS_ERR_LINT,
                  "outer and inner signature algorithms differ");
    int want = p11_sig_alg_nid(p11_sig_alg_default(p11_key_type(signer)));
    HS_ENSURE_MSG(X509_get_signature_nid(x) == want, HS_ERR_LINT,
                  "signature algorithm does not match the signer's key");
    return HS_OK;
}
