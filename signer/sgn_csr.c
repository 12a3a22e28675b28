#include "signer/sgn_csr.h"

#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "common/hs_defer.h"
#include "signer/sgn_ext.h"

/* CertificationRequest (RFC 2986 §4) as OpenSSL templates of our own: X509_REQ's would decode
 * the public key through a provider decoder on d2i (sgn_spki.h says why that is avoided). The
 * info keeps its received encoding, which is what the signature covers. The typedefs are the
 * names the template macros need. */
typedef struct sgn_csr_info_st {
    ASN1_ENCODING enc;
    ASN1_INTEGER *version;
    X509_NAME *subject;
    SGN_SPKI_DER *spki;
    STACK_OF(X509_ATTRIBUTE) * attributes;
} SGN_CSR_INFO;

ASN1_SEQUENCE_enc(SGN_CSR_INFO, enc, 0) =
    {
        ASN1_SIMPLE(SGN_CSR_INFO, version, ASN1_INTEGER),
        ASN1_SIMPLE(SGN_CSR_INFO, subject, X509_NAME),
        ASN1_SIMPLE(SGN_CSR_INFO, spki, SGN_SPKI_DER),
        /* [0] attributes, required by RFC 2986 but left out by some old software, as OpenSSL
     * accepts. */
        ASN1_IMP_SET_OF_OPT(SGN_CSR_INFO, attributes, X509_ATTRIBUTE, 0),
} static_ASN1_SEQUENCE_END_ref(SGN_CSR_INFO, SGN_CSR_INFO)

        typedef struct sgn_csr_der_st {
    SGN_CSR_INFO *info;
    X509_ALGOR *sig_alg;
    ASN1_BIT_STRING *signature;
} SGN_CSR_DER;

ASN1_SEQUENCE(SGN_CSR_DER) =
    {
        ASN1_SIMPLE(SGN_CSR_DER, info, SGN_CSR_INFO),
        ASN1_SIMPLE(SGN_CSR_DER, sig_alg, X509_ALGOR),
        ASN1_SIMPLE(SGN_CSR_DER, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(SGN_CSR_DER)

    /* The same CertificationRequestInfo without a kept encoding: what the DER check encodes
     * afresh from the decoded fields. */
    typedef struct sgn_csr_tbs_st {
    ASN1_INTEGER *version;
    X509_NAME *subject;
    SGN_SPKI_DER *spki;
    STACK_OF(X509_ATTRIBUTE) * attributes;
} SGN_CSR_TBS;

ASN1_SEQUENCE(SGN_CSR_TBS) =
    {
        ASN1_SIMPLE(SGN_CSR_TBS, version, ASN1_INTEGER),
        ASN1_SIMPLE(SGN_CSR_TBS, subject, X509_NAME),
        ASN1_SIMPLE(SGN_CSR_TBS, spki, SGN_SPKI_DER),
        ASN1_IMP_SET_OF_OPT(SGN_CSR_TBS, attributes, X509_ATTRIBUTE, 0),
} static_ASN1_SEQUENCE_END(SGN_CSR_TBS)

        struct sgn_csr {
    SGN_CSR_DER *der;
    struct sgn_spki spki; /* a view into der */
    struct sgn_spki_info key;
    EVP_PKEY *pub; /* imported from the SPKI, owned */
    unsigned char spki_sha256[SHA256_DIGEST_LENGTH];
    char *cn;            /* OPENSSL_malloc'ed UTF-8, or NULL */
    GENERAL_NAMES *sans; /* accepted entries, owned */
};

void sgn_csr_free(struct sgn_csr *csr)
{
    if (csr == NULL) {
        return;
    }
    ASN1_item_free((ASN1_VALUE *)csr->der, ASN1_ITEM_rptr(SGN_CSR_DER));
    EVP_PKEY_free(csr->pub);
    OPENSSL_free(csr->cn);
    GENERAL_NAMES_free(csr->sans);
    OPENSSL_free(csr);
}

void sgn_csr_freep(struct sgn_csr **csr)
{
    sgn_csr_free(*csr);
}

static void sgn_csr_der_freep(SGN_CSR_DER **der)
{
    ASN1_item_free((ASN1_VALUE *)*der, ASN1_ITEM_rptr(SGN_CSR_DER));
}

/* Only whitespace may follow the PEM block. */
static HS_RESULT sgn_csr_check_trailer(BIO *bio)
{
    char rest[64];
    int n = 0;
    while ((n = BIO_read(bio, rest, sizeof(rest))) > 0) {
        for (int i = 0; i < n; i++) {
            HS_ENSURE_MSG(strchr(" \t\r\n", rest[i]) != NULL && rest[i] != '\0', HS_ERR_INPUT_CSR,
                          "content after the CSR's PEM block");
        }
    }
    return HS_OK;
}

/* Whether value, encoded afresh as item, is exactly the len bytes at der (X.690 §10: one DER
 * encoding per value, so anything else -- indefinite or non-minimal lengths, padded integers,
 * unsorted SET OF, an explicit DEFAULT -- re-encodes differently). */
static HS_RESULT sgn_der_same(const void *value, const ASN1_ITEM *item, const unsigned char *der,
                              long len, const char *what)
{
    HS_DEFER(unsigned char *enc = NULL, hs_ossl_freep);
    int n = ASN1_item_i2d((const ASN1_VALUE *)value, &enc, item);
    HS_ENSURE(n > 0, HS_ERR_CRYPTO);
    HS_ENSURE_MSG(n == len && memcmp(enc, der, (size_t)len) == 0, HS_ERR_INPUT_CSR,
                  "the CSR's %s is not DER (X.690 §10)", what);
    return HS_OK;
}

/* A copy of name built from its entries, which OpenSSL then encodes afresh (a decoded X509_NAME
 * re-encodes as the bytes it came from). Multi-valued RDNs stay together. */
static HS_RESULT sgn_name_rebuilt(const X509_NAME *name, X509_NAME **out)
{
    HS_DEFER(X509_NAME *copy = X509_NAME_new(), hs_x509_name_freep);
    HS_ENSURE(copy != NULL, HS_ERR_NOMEM);
    int prev = -1;
    for (int i = 0; i < X509_NAME_entry_count(name); i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
        int set = X509_NAME_ENTRY_set(e);
        HS_GUARD_OSSL(X509_NAME_add_entry(copy, e, -1, i > 0 && set == prev ? -1 : 0),
                      HS_ERR_NOMEM);
        prev = set;
    }
    *out = copy;
    copy = NULL;
    return HS_OK;
}

/* The CSR is DER (X.690 §10): the whole CertificationRequest, and the signed
 * CertificationRequestInfo encoded afresh from its fields (the outer encoding keeps the info's
 * received bytes, which the signature covers). Values inside an attribute are checked where they
 * are used (sgn_csr_extensions). */
static HS_RESULT sgn_csr_check_der(const SGN_CSR_DER *der, const unsigned char *data, long len)
{
    HS_GUARD(sgn_der_same(der, ASN1_ITEM_rptr(SGN_CSR_DER), data, len, "CertificationRequest"));
    const SGN_CSR_INFO *info = der->info;
    HS_ENSURE_MSG(info->enc.enc != NULL, HS_ERR_INPUT_CSR, "malformed CertificationRequestInfo");
    HS_DEFER(X509_NAME *subject = NULL, hs_x509_name_freep);
    HS_GUARD(sgn_name_rebuilt(info->subject, &subject));
    SGN_CSR_TBS tbs;
    tbs.version = info->version;
    tbs.subject = subject;
    tbs.spki = info->spki;
    tbs.attributes = info->attributes;
    return sgn_der_same(&tbs, ASN1_ITEM_rptr(SGN_CSR_TBS), info->enc.enc, info->enc.len,
                        "CertificationRequestInfo");
}

/* The key must be one we certify; it is imported (EVP_PKEY_fromdata) for the signature check. */
static HS_RESULT sgn_csr_read_key(struct sgn_csr *csr, const struct sgn_rsa_exponents *rsa_e)
{
    const ASN1_BIT_STRING *bits = csr->der->info->spki->public_key;
    /* The certificate's SPKI gets these bytes with no unused bits (X509_PUBKEY_set0_param). */
    HS_ENSURE_MSG(!(bits->flags & ASN1_STRING_FLAG_BITS_LEFT) || (bits->flags & 0x07) == 0,
                  HS_ERR_INPUT_KEY, "the subjectPublicKey BIT STRING has unused bits");
    sgn_spki_view(csr->der->info->spki, &csr->spki);
    HS_GUARD(sgn_spki_classify(&csr->spki, &csr->key));
    HS_ENSURE_MSG(csr->key.kind != SGN_KEY_RSA || (csr->key.bits >= 2048 && csr->key.bits <= 8192),
                  HS_ERR_INPUT_KEY, "RSA keys must have 2048 to 8192 bits, not %d", csr->key.bits);
    if (csr->key.kind == SGN_KEY_RSA) {
        HS_GUARD(sgn_spki_rsa_exponent_check(&csr->spki, rsa_e));
    }
    HS_GUARD(sgn_spki_sha256(&csr->spki, csr->spki_sha256));
    return sgn_spki_to_pkey(&csr->spki, &csr->key, &csr->pub);
}

static HS_RESULT sgn_csr_check_san(const GENERAL_NAME *gn)
{
    int type = 0;
    const ASN1_STRING *s = GENERAL_NAME_get0_value(gn, &type);
    HS_ENSURE_REF(s);
    const unsigned char *p = ASN1_STRING_get0_data(s);
    size_t n = (size_t)ASN1_STRING_length(s);
    struct sgn_uri uri;
    switch (type) {
    case GEN_DNS:
        /* A wildcard only as the whole leftmost label; the policy decides whether it may be
         * issued (api_policy.h allow_wildcards). */
        HS_ENSURE_MSG(sgn_ext_san_dns_valid((const char *)p, n, NULL), HS_ERR_INPUT_CSR,
                      "invalid DNS name in SAN (LDH labels; a wildcard only as \"*.\" in front of "
                      "two or more labels)");
        return HS_OK;
    case GEN_IPADD:
        HS_ENSURE_MSG(n == 4 || n == 16, HS_ERR_INPUT_CSR, "invalid IP address in SAN");
        return HS_OK;
    case GEN_EMAIL:
        HS_ENSURE_MSG(sgn_ext_email_valid((const char *)p, n), HS_ERR_INPUT_CSR,
                      "invalid email address in SAN (local@domain, one '@', RFC 5321 dot-atom)");
        return HS_OK;
    case GEN_URI:
        HS_ENSURE_MSG(sgn_ext_uri_parse((const char *)p, n, 0, &uri), HS_ERR_INPUT_CSR,
                      "invalid URI in SAN (an absolute RFC 3986 URI without userinfo, fragment, "
                      "empty or dot segments)");
        return HS_OK;
    default:
        HS_BAIL_MSG(HS_ERR_INPUT_CSR, "SAN type %d is not supported", type);
    }
}

/* The extensionRequest attribute (PKCS#9, RFC 2985 §5.4.2; or Microsoft's older OID, as
 * X509_REQ_get_extensions reads it): at most one, holding one SEQUENCE of extensions. *out is
 * NULL when there is none; the caller frees it with sk_X509_EXTENSION_pop_free. */
static HS_RESULT sgn_csr_extensions(const SGN_CSR_INFO *info, STACK_OF(X509_EXTENSION) * *out)
{
    *out = NULL;
    const ASN1_TYPE *found = NULL;
    for (int i = 0; i < sk_X509_ATTRIBUTE_num(info->attributes); i++) {
        X509_ATTRIBUTE *attr = sk_X509_ATTRIBUTE_value(info->attributes, i);
        int nid = OBJ_obj2nid(X509_ATTRIBUTE_get0_object(attr));
        if (nid != NID_ext_req && nid != NID_ms_ext_req) {
            continue;
        }
        HS_ENSURE_MSG(found == NULL && X509_ATTRIBUTE_count(attr) == 1, HS_ERR_INPUT_CSR,
                      "more than one extension request");
        found = X509_ATTRIBUTE_get0_type(attr, 0);
        HS_ENSURE_MSG(found != NULL && found->type == V_ASN1_SEQUENCE, HS_ERR_INPUT_CSR,
                      "malformed extension request");
    }
    if (found == NULL) {
        return HS_OK;
    }
    const unsigned char *p = found->value.sequence->data;
    long len = found->value.sequence->length;
    HS_DEFER(STACK_OF(X509_EXTENSION) *exts = d2i_X509_EXTENSIONS(NULL, &p, len),
             hs_x509_extension_stack_freep);
    ERR_clear_error();
    HS_ENSURE_MSG(exts != NULL && p == found->value.sequence->data + len, HS_ERR_INPUT_CSR,
                  "malformed extension request");
    HS_GUARD(sgn_der_same(exts, ASN1_ITEM_rptr(X509_EXTENSIONS), found->value.sequence->data, len,
                          "extension request"));
    *out = exts;
    exts = NULL;
    return HS_OK;
}

static HS_RESULT sgn_csr_read_sans(struct sgn_csr *csr)
{
    csr->sans = GENERAL_NAMES_new();
    HS_ENSURE(csr->sans != NULL, HS_ERR_NOMEM);
    HS_DEFER(STACK_OF(X509_EXTENSION) *exts = NULL, hs_x509_extension_stack_freep);
    HS_GUARD(sgn_csr_extensions(csr->der->info, &exts));
    if (exts == NULL) {
        return HS_OK;
    }
    int crit = 0;
    int idx = -1;
    GENERAL_NAMES *names = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, &idx);
    HS_DEFER(GENERAL_NAMES *owned = names, hs_general_names_freep);
    /* crit == -2: the extension appears more than once (RFC 5280 §4.2 forbids that). */
    HS_ENSURE_MSG(crit != -2, HS_ERR_INPUT_CSR, "subjectAltName requested twice");
    HS_ENSURE_MSG(names != NULL || crit == -1, HS_ERR_INPUT_CSR, "malformed subjectAltName");
    if (names != NULL) {
        const ASN1_OCTET_STRING *value = X509_EXTENSION_get_data(X509v3_get_ext(exts, idx));
        HS_GUARD(sgn_der_same(names, ASN1_ITEM_rptr(GENERAL_NAMES), ASN1_STRING_get0_data(value),
                              ASN1_STRING_length(value), "subjectAltName"));
    }
    int n = names != NULL ? sk_GENERAL_NAME_num(names) : 0;
    HS_ENSURE_MSG(n <= SGN_SAN_MAX, HS_ERR_INPUT_CSR, "more than %d SAN entries", SGN_SAN_MAX);
    for (int i = 0; i < n; i++) {
        GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        HS_GUARD(sgn_csr_check_san(gn));
        GENERAL_NAME *copy = GENERAL_NAME_dup(gn);
        HS_ENSURE(copy != NULL, HS_ERR_NOMEM);
        if (sk_GENERAL_NAME_push(csr->sans, copy) <= 0) {
            GENERAL_NAME_free(copy);
            HS_BAIL(HS_ERR_NOMEM);
        }
    }
    return HS_OK;
}

static HS_RESULT sgn_csr_read_cn(struct sgn_csr *csr)
{
    const X509_NAME *subject = csr->der->info->subject;
    HS_ENSURE(subject != NULL, HS_ERR_INPUT_CSR);
    int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (idx < 0) {
        return HS_OK;
    }
    HS_ENSURE_MSG(X509_NAME_get_index_by_NID(subject, NID_commonName, idx) < 0, HS_ERR_INPUT_CSR,
                  "subject has more than one commonName");
    const ASN1_STRING *data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, data);
    HS_ENSURE_MSG(n > 0, HS_ERR_INPUT_CSR, "commonName cannot be decoded");
    csr->cn = (char *)utf8;
    HS_ENSURE_MSG((size_t)n <= SGN_CN_MAX && strlen(csr->cn) == (size_t)n, HS_ERR_INPUT_CSR,
                  "commonName longer than %d bytes or holding a NUL", SGN_CN_MAX);
    for (int i = 0; i < n; i++) {
        HS_ENSURE_MSG((unsigned char)csr->cn[i] >= 0x20 && csr->cn[i] != 0x7f, HS_ERR_INPUT_CSR,
                      "commonName holds a control character");
    }
    return HS_OK;
}

static void sgn_pem_freep(char **p)
{
    OPENSSL_free(*p);
}

/* One PEM block labelled "CERTIFICATE REQUEST" (RFC 7468 §7) or the legacy "NEW CERTIFICATE
 * REQUEST", without encryption headers, holding exactly one DER CertificationRequest. */
static HS_RESULT sgn_csr_read_der(BIO *bio, SGN_CSR_DER **out)
{
    HS_DEFER(char *name = NULL, sgn_pem_freep);
    HS_DEFER(char *header = NULL, sgn_pem_freep);
    HS_DEFER(unsigned char *data = NULL, hs_ossl_freep);
    long len = 0;
    int ok = PEM_read_bio(bio, &name, &header, &data, &len);
    ERR_clear_error();
    HS_ENSURE_MSG(ok == 1, HS_ERR_INPUT_CSR, "not a PEM certificate request");
    HS_ENSURE_MSG(strcmp(name, PEM_STRING_X509_REQ) == 0 ||
                      strcmp(name, PEM_STRING_X509_REQ_OLD) == 0,
                  HS_ERR_INPUT_CSR, "the PEM block is a %.40s, not a certificate request", name);
    HS_ENSURE_MSG(header[0] == '\0', HS_ERR_INPUT_CSR, "PEM headers are not accepted");
    const unsigned char *p = data;
    HS_DEFER(SGN_CSR_DER *der =
                 (SGN_CSR_DER *)ASN1_item_d2i(NULL, &p, len, ASN1_ITEM_rptr(SGN_CSR_DER)),
             sgn_csr_der_freep);
    ERR_clear_error();
    HS_ENSURE_MSG(der != NULL, HS_ERR_INPUT_CSR, "not a DER CertificationRequest");
    HS_ENSURE_MSG(p == data + len, HS_ERR_INPUT_CSR, "data after the CertificationRequest");
    HS_GUARD(sgn_csr_check_der(der, data, len));
    *out = der;
    der = NULL;
    return HS_OK;
}

HS_RESULT sgn_csr_parse(const char *pem, size_t len, struct sgn_csr **out)
{
    return sgn_csr_parse_ex(pem, len, NULL, out);
}

HS_RESULT sgn_csr_parse_ex(const char *pem, size_t len, const struct sgn_rsa_exponents *rsa_e,
                           struct sgn_csr **out)
{
    HS_ENSURE_REF(pem);
    HS_ENSURE_MSG(len <= SGN_CSR_PEM_MAX, HS_ERR_INPUT_TOO_LARGE, "CSR larger than %d bytes",
                  SGN_CSR_PEM_MAX);
    HS_DEFER(BIO *bio = BIO_new_mem_buf(pem, (int)len), hs_bio_freep);
    HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
    HS_DEFER(struct sgn_csr *csr = OPENSSL_zalloc(sizeof(*csr)), sgn_csr_freep);
    HS_ENSURE(csr != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_csr_read_der(bio, &csr->der));
    HS_GUARD(sgn_csr_check_trailer(bio));
    HS_ENSURE_MSG(ASN1_INTEGER_get(csr->der->info->version) == 0, HS_ERR_INPUT_CSR,
                  "CSR version is not v1");
    HS_GUARD(sgn_csr_read_key(csr, rsa_e));
    int ok = ASN1_item_verify_ex(ASN1_ITEM_rptr(SGN_CSR_INFO), csr->der->sig_alg,
                                 csr->der->signature, csr->der->info, NULL, csr->pub, NULL, NULL);
    ERR_clear_error();
    HS_ENSURE_MSG(ok == 1, HS_ERR_INPUT_CSR_SIGNATURE, "CSR signature does not verify");
    HS_GUARD(sgn_csr_read_cn(csr));
    HS_GUARD(sgn_csr_read_sans(csr));
    HS_ENSURE_MSG(csr->cn != NULL || sk_GENERAL_NAME_num(csr->sans) > 0, HS_ERR_INPUT_CSR,
                  "CSR names no commonName and no subjectAltName");
    *out = csr;
    csr = NULL;
    return HS_OK;
}

EVP_PKEY *sgn_csr_get0_pubkey(const struct sgn_csr *csr)
{
    return csr->pub;
}

const char *sgn_csr_get0_cn(const struct sgn_csr *csr)
{
    return csr->cn;
}

const GENERAL_NAMES *sgn_csr_get0_sans(const struct sgn_csr *csr)
{
    return csr->sans;
}

HS_RESULT sgn_csr_spki_sha256(const struct sgn_csr *csr, unsigned char out[32])
{
    HS_ENSURE_REF(csr);
    memcpy(out, csr->spki_sha256, sizeof(csr->spki_sha256));
    return HS_OK;
}

const struct sgn_spki *sgn_csr_get0_spki(const struct sgn_csr *csr)
{
    return &csr->spki;
}

const struct sgn_spki_info *sgn_csr_get0_key_info(const struct sgn_csr *csr)
{
    return &csr->key;
}
