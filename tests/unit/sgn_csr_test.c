/*
 * sgn_csr: every CSR in the shared interop corpus (certtool, keytool, Python cryptography) is
 * accepted with the names its manifest lists; generated bad CSRs fail with the exact error.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "common/hs_json.h"
#include "signer/sgn_csr.h"
#include "tests/testlib/hs_test.h"

#define CORPUS_MAX (64 * 1024)

static char corpus_dir[1024];

static int count_sans(const GENERAL_NAMES *sans, int type)
{
    int n = 0;
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
        n += sk_GENERAL_NAME_value(sans, i)->type == type;
    }
    return n;
}

static int json_list_len(json_object *sans, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(sans, key, &v) ? (int)json_object_array_length(v) : 0;
}

/* The CN=... component of a manifest subject string such as "OU=x,O=y,CN=name". */
static const char *manifest_cn(const char *subject, char *out, size_t out_len)
{
    const char *p = strstr(subject, "CN=");
    if (p == NULL) {
        return NULL;
    }
    p += 3;
    size_t n = strcspn(p, ",");
    if (n >= out_len) {
        return NULL;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

static void check_corpus_entry(json_object *entry)
{
    const char *file = json_object_get_string(json_object_object_get(entry, "file"));
    const char *subject = json_object_get_string(json_object_object_get(entry, "subject"));
    json_object *sans = json_object_object_get(entry, "sans");
    char path[1400];
    snprintf(path, sizeof(path), "%s/%s", corpus_dir, file);
    HS_DEFER(struct hs_buf *pem = NULL, hs_buf_freep);
    HS_CHECK_OK(hs_file_read(path, CORPUS_MAX, &pem));
    if (pem == NULL) {
        return;
    }
    HS_DEFER(struct sgn_csr *csr = NULL, sgn_csr_freep);
    hs_result r = sgn_csr_parse((const char *)hs_buf_data(pem), hs_buf_len(pem), &csr);
    if (hs_failed(r)) {
        fprintf(stderr, "  corpus file %s refused\n", file);
    }
    HS_CHECK(!hs_failed(r));
    if (csr == NULL) {
        return;
    }
    char cn[128];
    const char *want = manifest_cn(subject, cn, sizeof(cn));
    HS_CHECK(want != NULL && sgn_csr_get0_cn(csr) != NULL &&
             strcmp(want, sgn_csr_get0_cn(csr)) == 0);
    const GENERAL_NAMES *got = sgn_csr_get0_sans(csr);
    HS_CHECK(count_sans(got, GEN_DNS) == json_list_len(sans, "dns"));
    HS_CHECK(count_sans(got, GEN_IPADD) == json_list_len(sans, "ip"));
    HS_CHECK(count_sans(got, GEN_EMAIL) == json_list_len(sans, "email"));
    HS_CHECK(count_sans(got, GEN_URI) == json_list_len(sans, "uri"));
    unsigned char spki[32];
    HS_CHECK_OK(sgn_csr_spki_sha256(csr, spki));
}

HS_TEST(interop_corpus_is_accepted_with_its_names)
{
    char manifest[1100];
    snprintf(manifest, sizeof(manifest), "%s/manifest.json", corpus_dir);
    HS_DEFER(struct hs_buf *text = NULL, hs_buf_freep);
    HS_CHECK_OK(hs_file_read(manifest, CORPUS_MAX, &text));
    if (text == NULL) {
        return;
    }
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    HS_CHECK_OK(hs_json_parse_object((const char *)hs_buf_data(text), hs_buf_len(text), CORPUS_MAX,
                                     16, &doc));
    json_object *entries = NULL;
    HS_CHECK(doc != NULL && json_object_object_get_ex(doc, "entries", &entries));
    size_t n = entries != NULL ? json_object_array_length(entries) : 0;
    HS_CHECK(n >= 17);
    for (size_t i = 0; i < n; i++) {
        check_corpus_entry(json_object_array_get_idx(entries, i));
    }
}

/* --- generated CSRs ------------------------------------------------------------------------ */

enum gen_flags {
    GEN_TAMPER = 1 << 0, /* flip a bit in the signature */
    GEN_NO_CN = 1 << 1,
    GEN_TWO_CNS = 1 << 2,
    GEN_SAN_DNS = 1 << 3,
    GEN_SAN_DIRNAME = 1 << 4,
    GEN_SAN_BAD_DNS = 1 << 5,
    GEN_CN_CONTROL = 1 << 6,
    GEN_BAD_POINT = 1 << 7,  /* the EC point moved off the curve (after signing) */
    GEN_COMPRESSED = 1 << 8, /* the EC point in compressed form (RFC 5480 §2.2) */
};

static EVP_PKEY *gen_key(const char *kind)
{
    if (strcmp(kind, "rsa1024") == 0) {
        return EVP_RSA_gen(1024);
    }
    if (strcmp(kind, "rsa2048") == 0) {
        return EVP_RSA_gen(2048);
    }
    if (strcmp(kind, "ed25519") == 0) {
        return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    }
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind);
}

static void add_san(X509_REQ *req, const char *value)
{
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, value);
    sk_X509_EXTENSION_push(exts, ext);
    X509_REQ_add_extensions(req, exts);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

/* Builds and signs a CSR, returns its PEM in a static buffer (length in *len). */
static const char *gen_csr(const char *kind, unsigned int flags, size_t *len)
{
    static char pem[16384];
    HS_DEFER(EVP_PKEY *key = gen_key(kind), hs_evp_pkey_freep);
    HS_DEFER(X509_REQ *req = X509_REQ_new(), hs_x509_req_freep);
    X509_NAME *name = X509_REQ_get_subject_name(req);
    const char *cn = (flags & GEN_CN_CONTROL) ? "bad\x01name" : "gen.example";
    if (!(flags & GEN_NO_CN)) {
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    }
    if (flags & GEN_TWO_CNS) {
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"two", -1, -1,
                                   0);
    }
    if (flags & GEN_SAN_DNS) {
        add_san(req, "DNS:gen.example,DNS:*.gen.example,IP:192.0.2.1,IP:2001:db8::1");
    }
    if (flags & GEN_SAN_DIRNAME) {
        add_san(req, "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:user@example");
    }
    if (flags & GEN_SAN_BAD_DNS) {
        add_san(req, "DNS:bad_name..example");
    }
    if (flags & GEN_COMPRESSED) {
        EVP_PKEY_set_utf8_string_param(key, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                       "compressed");
    }
    X509_REQ_set_pubkey(req, key);
    const EVP_MD *md = strcmp(kind, "ed25519") == 0 ? NULL : EVP_sha256();
    X509_REQ_sign(req, key, md);
    unsigned char *der = NULL;
    int dlen = i2d_X509_REQ(req, &der);
    if (flags & GEN_TAMPER) {
        der[dlen - 3] ^= 0x01; /* inside the signature BIT STRING */
    }
    if (flags & GEN_BAD_POINT) {
        /* The last byte of the uncompressed P-256 point (04 || X || Y) follows its BIT STRING
         * header 03 42 00 04: change Y so the point leaves the curve. */
        for (int i = 0; i + 4 + 64 < dlen; i++) {
            if (der[i] == 0x03 && der[i + 1] == 0x42 && der[i + 2] == 0x00 && der[i + 3] == 0x04) {
                der[i + 4 + 63] ^= 0x01;
                break;
            }
        }
    }
    const unsigned char *p = der;
    HS_DEFER(X509_REQ *tampered = d2i_X509_REQ(NULL, &p, dlen), hs_x509_req_freep);
    OPENSSL_free(der);
    HS_DEFER(BIO *bio = BIO_new(BIO_s_mem()), hs_bio_freep);
    PEM_write_bio_X509_REQ(bio, tampered);
    int n = BIO_read(bio, pem, sizeof(pem) - 1);
    pem[n > 0 ? n : 0] = '\0';
    *len = n > 0 ? (size_t)n : 0;
    return pem;
}

HS_TEST(generated_good_csrs_are_accepted)
{
    static const struct {
        const char *kind;
        unsigned int flags;
    } good[] = {{"P-256", 0},
                {"P-384", GEN_SAN_DNS},
                {"rsa2048", 0},
                {"ed25519", GEN_SAN_DNS},
                {"P-256", GEN_NO_CN | GEN_SAN_DNS},
                {"P-256", GEN_COMPRESSED},
                {"P-384", GEN_COMPRESSED}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        size_t len = 0;
        const char *pem = gen_csr(good[i].kind, good[i].flags, &len);
        HS_DEFER(struct sgn_csr *csr = NULL, sgn_csr_freep);
        HS_CHECK_OK(sgn_csr_parse(pem, len, &csr));
        if (csr != NULL && (good[i].flags & GEN_SAN_DNS)) {
            HS_CHECK(sk_GENERAL_NAME_num(sgn_csr_get0_sans(csr)) == 4);
        }
    }
}

HS_TEST(generated_bad_csrs_fail_with_the_exact_error)
{
    static const struct {
        const char *kind;
        unsigned int flags;
        enum hs_code code;
    } bad[] = {
        {"rsa1024", 0, HS_ERR_INPUT_KEY},
        {"secp256k1", 0, HS_ERR_INPUT_KEY},
        {"P-521", 0, HS_ERR_INPUT_KEY},
        {"P-256", GEN_TAMPER, HS_ERR_INPUT_CSR_SIGNATURE},
        {"rsa2048", GEN_TAMPER, HS_ERR_INPUT_CSR_SIGNATURE},
        {"ed25519", GEN_TAMPER, HS_ERR_INPUT_CSR_SIGNATURE},
        {"P-256", GEN_NO_CN, HS_ERR_INPUT_CSR},
        {"P-256", GEN_TWO_CNS, HS_ERR_INPUT_CSR},
        {"P-256", GEN_SAN_DIRNAME, HS_ERR_INPUT_CSR},
        {"P-256", GEN_SAN_BAD_DNS, HS_ERR_INPUT_CSR},
        {"P-256", GEN_CN_CONTROL, HS_ERR_INPUT_CSR},
        {"P-256", GEN_BAD_POINT, HS_ERR_INPUT_KEY},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t len = 0;
        const char *pem = gen_csr(bad[i].kind, bad[i].flags, &len);
        struct sgn_csr *csr = NULL;
        HS_CHECK_ERR(sgn_csr_parse(pem, len, &csr), bad[i].code);
        HS_CHECK(csr == NULL);
    }
}

HS_TEST(malformed_pem_is_refused)
{
    size_t len = 0;
    const char *good = gen_csr("P-256", 0, &len);
    char buf[20000];
    struct sgn_csr *csr = NULL;
    HS_CHECK_ERR(sgn_csr_parse("", 0, &csr), HS_ERR_INPUT_CSR);
    HS_CHECK_ERR(sgn_csr_parse("hello", 5, &csr), HS_ERR_INPUT_CSR);
    /* truncated in the middle of the base64 */
    HS_CHECK_ERR(sgn_csr_parse(good, len / 2, &csr), HS_ERR_INPUT_CSR);
    /* trailing content after the block */
    memcpy(buf, good, len);
    memcpy(buf + len, "garbage\n", 8);
    HS_CHECK_ERR(sgn_csr_parse(buf, len + 8, &csr), HS_ERR_INPUT_CSR);
    /* a certificate is not a CSR */
    const char *cert_label = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
    HS_CHECK_ERR(sgn_csr_parse(cert_label, strlen(cert_label), &csr), HS_ERR_INPUT_CSR);
    /* too large, before any parsing */
    memset(buf, 'A', sizeof(buf));
    HS_CHECK_ERR(sgn_csr_parse(buf, SGN_CSR_PEM_MAX + 1, &csr), HS_ERR_INPUT_TOO_LARGE);
    HS_CHECK(csr == NULL);
    /* CRLF line endings are fine */
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        if (good[i] == '\n') {
            buf[w++] = '\r';
        }
        buf[w++] = good[i];
    }
    HS_CHECK_OK(sgn_csr_parse(buf, w, &csr));
    sgn_csr_free(csr);
}

int main(void)
{
    const char *dir = hs_test_env("HSMSIGN_TESTDATA");
    snprintf(corpus_dir, sizeof(corpus_dir), "%s/csr-interop", dir);
    return hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(interop_corpus_is_accepted_with_its_names),
        HS_TEST_CASE(generated_good_csrs_are_accepted),
        HS_TEST_CASE(generated_bad_csrs_fail_with_the_exact_error),
        HS_TEST_CASE(malformed_pem_is_refused),
        HS_TEST_END,
    });
}
