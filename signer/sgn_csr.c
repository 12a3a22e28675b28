#include "sgn_csr.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "hs_defer.h"

struct sgn_csr {
    X509_REQ *req;
    EVP_PKEY *pub;       /* lent from req */
    char *cn;            /* OPENSSL_malloc'ed UTF-8, or NULL */
    GENERAL_NAMES *sans; /* accepted entries, owned */
};

void sgn_csr_free(struct sgn_csr *csr)
{
    if (csr == NULL) {
        return;
    }
    X509_REQ_free(csr->req);
    OPENSSL_free(csr->cn);
    GENERAL_NAMES_free(csr->sans);
    OPENSSL_free(csr);
}

void sgn_csr_freep(struct sgn_csr **csr)
{
    sgn_csr_free(*csr);
}

/* Only whitespace may follow the PEM block. */
static hs_result sgn_csr_check_trailer(BIO *bio)
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

static hs_result sgn_csr_check_key(EVP_PKEY *pub)
{
    HS_ENSURE_MSG(pub != NULL, HS_ERR_INPUT_KEY, "CSR public key cannot be decoded");
    int bits = EVP_PKEY_get_bits(pub);
    if (EVP_PKEY_is_a(pub, "RSA")) {
        HS_ENSURE_MSG(bits >= 2048 && bits <= 8192, HS_ERR_INPUT_KEY,
                      "RSA keys must have 2048 to 8192 bits, not %d", bits);
        return HS_OK;
    }
    if (EVP_PKEY_is_a(pub, "ED25519")) {
        return HS_OK;
    }
    HS_ENSURE_MSG(EVP_PKEY_is_a(pub, "EC"), HS_ERR_INPUT_KEY,
                  "CSR key type not accepted (RSA, EC P-256/P-384, Ed25519)");
    char group[32];
    size_t glen = 0;
    HS_ENSURE_MSG(EVP_PKEY_get_utf8_string_param(pub, "group", group, sizeof(group), &glen) == 1,
                  HS_ERR_INPUT_KEY, "EC key without a named curve");
    HS_ENSURE_MSG(strcmp(group, "prime256v1") == 0 || strcmp(group, "secp384r1") == 0,
                  HS_ERR_INPUT_KEY, "EC curve %s not accepted (P-256, P-384)", group);
    return HS_OK;
}

/* LDH labels of 1..63 characters, optionally a leading "*." wildcard label (RFC 6125 §6.4.3
 * as CAs issue it), total at most 253 characters. */
static bool sgn_dns_name_valid(const unsigned char *p, size_t n)
{
    if (n == 0 || n > SGN_DNS_NAME_MAX) {
        return false;
    }
    size_t i = 0;
    if (n > 2 && p[0] == '*' && p[1] == '.') {
        i = 2;
    }
    size_t label = 0;
    for (; i < n; i++) {
        unsigned char c = p[i];
        if (c == '.') {
            if (label == 0 || p[i - 1] == '-') {
                return false;
            }
            label = 0;
            continue;
        }
        bool ldh =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!ldh || (label == 0 && c == '-') || ++label > 63) {
            return false;
        }
    }
    return label > 0 && p[n - 1] != '-';
}

static bool sgn_printable_ascii(const unsigned char *p, size_t n, size_t max)
{
    if (n == 0 || n > max) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x21 || p[i] > 0x7e) {
            return false;
        }
    }
    return true;
}

static hs_result sgn_csr_check_san(const GENERAL_NAME *gn)
{
    int type = 0;
    const ASN1_STRING *s = GENERAL_NAME_get0_value(gn, &type);
    HS_ENSURE_REF(s);
    const unsigned char *p = ASN1_STRING_get0_data(s);
    size_t n = (size_t)ASN1_STRING_length(s);
    switch (type) {
    case GEN_DNS:
        HS_ENSURE_MSG(sgn_dns_name_valid(p, n), HS_ERR_INPUT_CSR, "invalid DNS name in SAN");
        return HS_OK;
    case GEN_IPADD:
        HS_ENSURE_MSG(n == 4 || n == 16, HS_ERR_INPUT_CSR, "invalid IP address in SAN");
        return HS_OK;
    case GEN_EMAIL:
        HS_ENSURE_MSG(sgn_printable_ascii(p, n, SGN_DNS_NAME_MAX + 65) && memchr(p, '@', n) != NULL,
                      HS_ERR_INPUT_CSR, "invalid email address in SAN");
        return HS_OK;
    case GEN_URI:
        HS_ENSURE_MSG(sgn_printable_ascii(p, n, SGN_URI_MAX) && memchr(p, ':', n) != NULL,
                      HS_ERR_INPUT_CSR, "invalid URI in SAN");
        return HS_OK;
    default:
        HS_BAIL_MSG(HS_ERR_INPUT_CSR, "SAN type %d is not supported", type);
    }
}

static hs_result sgn_csr_read_sans(struct sgn_csr *csr)
{
    csr->sans = GENERAL_NAMES_new();
    HS_ENSURE(csr->sans != NULL, HS_ERR_NOMEM);
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr->req);
    if (exts == NULL) {
        /* No extension request, or one OpenSSL cannot decode; the latter is refused. */
        ERR_clear_error();
        return HS_OK;
    }
    int crit = 0;
    int idx = -1;
    GENERAL_NAMES *names = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, &idx);
    /* crit == -2: the extension appears more than once (RFC 5280 §4.2 forbids that). */
    bool duplicate = crit == -2;
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    HS_DEFER(GENERAL_NAMES *owned = names, hs_general_names_freep);
    HS_ENSURE_MSG(!duplicate, HS_ERR_INPUT_CSR, "subjectAltName requested twice");
    HS_ENSURE_MSG(names != NULL || crit == -1, HS_ERR_INPUT_CSR, "malformed subjectAltName");
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

static hs_result sgn_csr_read_cn(struct sgn_csr *csr)
{
    const X509_NAME *subject = X509_REQ_get_subject_name(csr->req);
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

HS_RESULT sgn_csr_parse(const char *pem, size_t len, struct sgn_csr **out)
{
    HS_ENSURE_REF(pem);
    HS_ENSURE_MSG(len <= SGN_CSR_PEM_MAX, HS_ERR_INPUT_TOO_LARGE, "CSR larger than %d bytes",
                  SGN_CSR_PEM_MAX);
    HS_DEFER(BIO *bio = BIO_new_mem_buf(pem, (int)len), hs_bio_freep);
    HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
    HS_DEFER(struct sgn_csr *csr = OPENSSL_zalloc(sizeof(*csr)), sgn_csr_freep);
    HS_ENSURE(csr != NULL, HS_ERR_NOMEM);
    /* PEM_read_bio_X509_REQ accepts both "CERTIFICATE REQUEST" and "NEW CERTIFICATE REQUEST". */
    csr->req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
    ERR_clear_error();
    HS_ENSURE_MSG(csr->req != NULL, HS_ERR_INPUT_CSR, "not a PEM certificate request");
    HS_GUARD(sgn_csr_check_trailer(bio));
    HS_ENSURE_MSG(X509_REQ_get_version(csr->req) == X509_REQ_VERSION_1, HS_ERR_INPUT_CSR,
                  "CSR version is not v1");
    csr->pub = X509_REQ_get0_pubkey(csr->req);
    HS_GUARD(sgn_csr_check_key(csr->pub));
    int ok = X509_REQ_verify(csr->req, csr->pub);
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
    HS_DEFER(unsigned char *der = NULL, hs_ossl_freep);
    int len = i2d_PUBKEY(csr->pub, &der);
    HS_ENSURE(len > 0, HS_ERR_CRYPTO);
    HS_ENSURE(SHA256(der, (size_t)len, out) != NULL, HS_ERR_CRYPTO);
    return HS_OK;
}
