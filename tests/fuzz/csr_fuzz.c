/*
 * csr_fuzz: the CSR parser as POST /v1/certificates uses it (sgn_csr_parse on the "csr" string
 * of the body, at most SGN_CSR_PEM_MAX bytes, read up to its first NUL as strlen() does in
 * api_route), and the SubjectPublicKeyInfo decoding of sgn_spki.c under it.
 *
 * The first input byte picks how the rest is fed (mod 4):
 *   0  PEM text as a client sends it (labels, line endings, trailing data, headers).
 *   1  DER CertificationRequest (RFC 2986 §4), wrapped here in a "CERTIFICATE REQUEST" PEM block
 *      so that mutations reach the ASN.1 rather than the base64.
 *   2  subject Name and attributes of a CertificationRequestInfo: [2-byte big-endian length of
 *      the subject's DER TLV][subject TLV][contents of the [0] attributes SET]; the harness adds
 *      version 0 and a fixed Ed25519 key, signs it with that key (RFC 8410) and wraps it, so the
 *      signature verifies and the name checks (commonName, subjectAltName) are reached.
 *   3  a bare SubjectPublicKeyInfo (DER): classified, imported and hashed as a CSR's key is.
 * A CSR that parses has its accessors read and its SANs printed as the inventory record does.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "common/hs_defer.h"
#include "signer/sgn_csr.h"
#include "signer/sgn_spki.h"
#include "tests/fuzz/fuzz_support.h"

#define CSR_FUZZ_SIG_LEN 64 /* Ed25519 signature bytes */

/* A growing DER byte string (harness only; aborts when out of memory). */
struct der_out {
    unsigned char *p;
    size_t n;
};

static void der_put(struct der_out *d, const void *p, size_t n)
{
    unsigned char *grown = realloc(d->p, d->n + n + 1);
    if (grown == NULL) {
        fuzz_abort();
    }
    d->p = grown;
    if (n > 0) {
        memcpy(d->p + d->n, p, n);
    }
    d->n += n;
}

/* Tag and definite length (X.690 §8.1.3), then the content. */
static void der_tlv(struct der_out *d, unsigned char tag, const void *content, size_t n)
{
    unsigned char hdr[6] = {tag};
    size_t h = 1;
    if (n < 0x80) {
        hdr[h++] = (unsigned char)n;
    } else if (n <= 0xff) {
        hdr[h++] = 0x81;
        hdr[h++] = (unsigned char)n;
    } else if (n <= 0xffff) {
        hdr[h++] = 0x82;
        hdr[h++] = (unsigned char)(n >> 8);
        hdr[h++] = (unsigned char)n;
    } else {
        hdr[h++] = 0x83;
        hdr[h++] = (unsigned char)(n >> 16);
        hdr[h++] = (unsigned char)(n >> 8);
        hdr[h++] = (unsigned char)n;
    }
    der_put(d, hdr, h);
    der_put(d, content, n);
}

static void der_free(struct der_out *d)
{
    free(d->p);
    d->p = NULL;
    d->n = 0;
}

/* The fixed signing key of mode 2 (a constant seed: runs are repeatable) and its SPKI. */
static EVP_PKEY *csr_fuzz_key;
static unsigned char csr_fuzz_spki[44];

static void csr_fuzz_key_init(void)
{
    static const unsigned char seed[32] = "hsmsign csr_fuzz fixed key seed";
    static const unsigned char spki_prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                                  0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    if (csr_fuzz_key != NULL) {
        return;
    }
    csr_fuzz_key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
    size_t len = 32;
    memcpy(csr_fuzz_spki, spki_prefix, sizeof(spki_prefix));
    if (csr_fuzz_key == NULL ||
        EVP_PKEY_get_raw_public_key(csr_fuzz_key, csr_fuzz_spki + sizeof(spki_prefix), &len) != 1) {
        fuzz_abort();
    }
}

/* What api_route does with a parsed CSR before and after issuing: the accessors and the SANs
 * printed into the record (api_sans_json). */
static void csr_fuzz_use(const struct sgn_csr *csr)
{
    unsigned char sha[32];
    HS_IGNORE(sgn_csr_spki_sha256(csr, sha));
    const char *cn = sgn_csr_get0_cn(csr);
    /* The promises of sgn_csr.h, which the certificate and the record rely on. */
    for (size_t i = 0; cn != NULL && cn[i] != '\0'; i++) {
        if (i >= SGN_CN_MAX || (unsigned char)cn[i] < 0x20 || cn[i] == 0x7f) {
            fuzz_abort();
        }
    }
    const GENERAL_NAMES *sans = sgn_csr_get0_sans(csr);
    if (sans == NULL || sk_GENERAL_NAME_num(sans) > SGN_SAN_MAX ||
        (cn == NULL && sk_GENERAL_NAME_num(sans) == 0) || sgn_csr_get0_pubkey(csr) == NULL) {
        fuzz_abort();
    }
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
        BIO *bio = BIO_new(BIO_s_mem());
        if (bio != NULL) {
            HS_IGNORE(GENERAL_NAME_print(bio, sk_GENERAL_NAME_value(sans, i)));
            BIO_free(bio);
        }
    }
}

static void csr_fuzz_parse_pem(const char *pem, size_t len)
{
    HS_DEFER(struct sgn_csr *csr = NULL, sgn_csr_freep);
    if (!hs_failed(fuzz_debug(sgn_csr_parse(pem, len, &csr)))) {
        csr_fuzz_use(csr);
    }
}

/* DER into a PEM "CERTIFICATE REQUEST" block of 64-character lines (RFC 7468 §2), parsed. */
static void csr_fuzz_parse_der(const unsigned char *der, size_t n)
{
    static const char begin[] = "-----BEGIN CERTIFICATE REQUEST-----\n";
    static const char end[] = "-----END CERTIFICATE REQUEST-----\n";
    if (n > SGN_CSR_PEM_MAX) {
        return; /* could never fit the PEM bound */
    }
    size_t b64 = 4 * ((n + 2) / 3);
    size_t cap = sizeof(begin) + b64 + b64 / 64 + 2 + sizeof(end) + 1;
    char *pem = malloc(cap);
    if (pem == NULL) {
        fuzz_abort();
    }
    size_t len = strlen(begin);
    memcpy(pem, begin, len);
    for (size_t off = 0; off < n; off += 48) {
        size_t chunk = n - off < 48 ? n - off : 48;
        len += (size_t)EVP_EncodeBlock((unsigned char *)pem + len, der + off, (int)chunk);
        pem[len++] = '\n';
    }
    memcpy(pem + len, end, strlen(end));
    len += strlen(end);
    csr_fuzz_parse_pem(pem, len);
    free(pem);
}

/* Mode 2: a CertificationRequest around the fuzzed subject and attributes, signed. */
static void csr_fuzz_signed(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    size_t sub_len = (size_t)fuzz_take_byte(&in) << 8;
    sub_len |= fuzz_take_byte(&in);
    sub_len = sub_len < in.n ? sub_len : in.n;
    static const unsigned char version[] = {0x02, 0x01, 0x00};
    static const unsigned char sig_alg[] = {0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};
    struct der_out body = {0};
    der_put(&body, version, sizeof(version));
    der_put(&body, in.p, sub_len);
    der_put(&body, csr_fuzz_spki, sizeof(csr_fuzz_spki));
    der_tlv(&body, 0xa0, in.p + sub_len, in.n - sub_len);
    struct der_out info = {0};
    der_tlv(&info, 0x30, body.p, body.n);
    der_free(&body);

    unsigned char sig[1 + CSR_FUZZ_SIG_LEN] = {0};
    size_t sig_len = CSR_FUZZ_SIG_LEN;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestSignInit(md, NULL, NULL, NULL, csr_fuzz_key) != 1 ||
        EVP_DigestSign(md, sig + 1, &sig_len, info.p, info.n) != 1) {
        fuzz_abort();
    }
    EVP_MD_CTX_free(md);
    struct der_out all = {0};
    der_put(&all, info.p, info.n);
    der_put(&all, sig_alg, sizeof(sig_alg));
    der_tlv(&all, 0x03, sig, 1 + sig_len);
    der_free(&info);
    struct der_out csr = {0};
    der_tlv(&csr, 0x30, all.p, all.n);
    der_free(&all);
    csr_fuzz_parse_der(csr.p, csr.n);
    der_free(&csr);
}

static void pkey_freep(EVP_PKEY **p)
{
    EVP_PKEY_free(*p);
}

static void spki_der_freep(SGN_SPKI_DER **p)
{
    ASN1_item_free((ASN1_VALUE *)*p, ASN1_ITEM_rptr(SGN_SPKI_DER));
}

/* Mode 3: what sgn_csr_read_key does with a CSR's SPKI. */
static void csr_fuzz_spki_only(const uint8_t *data, size_t size)
{
    const unsigned char *p = data;
    HS_DEFER(SGN_SPKI_DER *der =
                 (SGN_SPKI_DER *)ASN1_item_d2i(NULL, &p, (long)size, ASN1_ITEM_rptr(SGN_SPKI_DER)),
             spki_der_freep);
    ERR_clear_error();
    if (der == NULL) {
        return;
    }
    struct sgn_spki spki;
    sgn_spki_view(der, &spki);
    struct sgn_spki_info info;
    if (hs_failed(sgn_spki_classify(&spki, &info))) {
        return;
    }
    unsigned char sha[32];
    HS_IGNORE(sgn_spki_sha256(&spki, sha));
    if (info.kind == SGN_KEY_RSA && (info.bits < 2048 || info.bits > 8192)) {
        return; /* sgn_csr_read_key refuses these before importing */
    }
    HS_DEFER(EVP_PKEY *pkey = NULL, pkey_freep);
    HS_IGNORE(sgn_spki_to_pkey(&spki, &info, &pkey));
    ERR_clear_error();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    csr_fuzz_key_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    csr_fuzz_key_init();
    const uint8_t *rest = data + 1;
    size_t n = size - 1;
    switch (data[0] % 4) {
    case 0: {
        char *pem = fuzz_strndup(rest, n);
        csr_fuzz_parse_pem(pem, strlen(pem));
        free(pem);
        break;
    }
    case 1:
        csr_fuzz_parse_der(rest, n);
        break;
    case 2:
        csr_fuzz_signed(rest, n);
        break;
    default:
        csr_fuzz_spki_only(rest, n);
        break;
    }
    ERR_clear_error();
    return 0;
}
