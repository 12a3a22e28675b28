/*
 * sgn_csr: every CSR of the repository's interop corpus (tests/data/csr-interop: OpenSSL,
 * certtool, keytool, Python cryptography) gets the outcome its manifest lists -- accepted with
 * exactly its key type, CN and SANs, or refused with the exact error; generated bad CSRs fail
 * with the exact error.
 */
#include <dirent.h>
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
/* Entries of tests/data/csr-interop/manifest.json, at least (tests/data/gen-csr-interop.sh). */
#define CORPUS_ENTRIES_MIN 44

static char corpus_dir[1024];

/* What the corpus as a whole must hold, tallied while its entries are checked. */
struct corpus_tally {
    size_t entries;
    size_t accepted;
    size_t refused;
    size_t der;
    size_t legacy_label;
    size_t crlf;
    unsigned int tool_types[4]; /* per tool: bit i = accepted key type i of key_types[] */
};

static const char *const tools[] = {"OpenSSL", "GnuTLS", "Java keytool", "python3-cryptography"};
static const struct {
    const char *name;
    enum sgn_key_kind kind;
    int bits;
} key_types[] = {
    {"RSA-2048", SGN_KEY_RSA, 2048},    {"RSA-3072", SGN_KEY_RSA, 3072},
    {"RSA-4096", SGN_KEY_RSA, 4096},    {"EC P-256", SGN_KEY_EC_P256, 256},
    {"EC P-384", SGN_KEY_EC_P384, 384}, {"Ed25519", SGN_KEY_ED25519, 256},
};

static const char *json_str(json_object *o, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static bool str_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static int json_list_len(json_object *sans, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(sans, key, &v) ? (int)json_object_array_length(v) : 0;
}

static void asn1_octet_string_freep(ASN1_OCTET_STRING **p)
{
    ASN1_OCTET_STRING_free(*p);
}

/* One SAN value equals the manifest's text (an IP address as its 4 or 16 bytes). */
static bool san_value_equal(const GENERAL_NAME *gn, const char *want)
{
    if (want == NULL) {
        return false;
    }
    if (gn->type == GEN_IPADD) {
        HS_DEFER(ASN1_OCTET_STRING *ip = a2i_IPADDRESS(want), asn1_octet_string_freep);
        return ip != NULL && ASN1_OCTET_STRING_cmp(ip, gn->d.iPAddress) == 0;
    }
    const ASN1_STRING *s = gn->d.ia5;
    size_t len = (size_t)ASN1_STRING_length(s);
    return strlen(want) == len && memcmp(ASN1_STRING_get0_data(s), want, len) == 0;
}

/* The manifest's SAN values of one kind ("dns", "ip", "email", "uri"), in order, are exactly
 * the parser's values of that GEN_* type, in order. */
static bool sans_equal(const GENERAL_NAMES *got, json_object *sans, const char *key, int type)
{
    json_object *want = NULL;
    size_t n = json_object_object_get_ex(sans, key, &want) ? json_object_array_length(want) : 0;
    size_t k = 0;
    for (int i = 0; i < sk_GENERAL_NAME_num(got); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(got, i);
        if (gn->type != type) {
            continue;
        }
        if (k >= n ||
            !san_value_equal(gn, json_object_get_string(json_object_array_get_idx(want, k++)))) {
            return false;
        }
    }
    return k == n;
}

/* Looks up an hs_code by its C name, as the manifest spells the expected error. */
static bool code_by_name(const char *name, enum hs_code *out)
{
    static const struct {
        const char *name;
        enum hs_code code;
    } codes[] = {{"HS_ERR_INPUT_KEY", HS_ERR_INPUT_KEY},
                 {"HS_ERR_INPUT_CSR", HS_ERR_INPUT_CSR},
                 {"HS_ERR_INPUT_CSR_SIGNATURE", HS_ERR_INPUT_CSR_SIGNATURE}};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (str_eq(name, codes[i].name)) {
            *out = codes[i].code;
            return true;
        }
    }
    return false;
}

/* Wraps DER in a "CERTIFICATE REQUEST" PEM block (the service takes PEM only). */
static struct hs_buf *der_to_pem(const struct hs_buf *der)
{
    HS_DEFER(BIO *bio = BIO_new(BIO_s_mem()), hs_bio_freep);
    if (bio == NULL ||
        PEM_write_bio(bio, PEM_STRING_X509_REQ, "", hs_buf_data(der), (long)hs_buf_len(der)) <= 0) {
        return NULL;
    }
    char *p = NULL;
    long n = BIO_get_mem_data(bio, &p);
    struct hs_buf *pem = hs_buf_new(CORPUS_MAX);
    if (pem != NULL && hs_failed(hs_buf_put(pem, p, (size_t)n))) {
        hs_buf_free(pem);
        return NULL;
    }
    return pem;
}

static int tool_index(const char *tool)
{
    for (size_t i = 0; tool != NULL && i < sizeof(tools) / sizeof(tools[0]); i++) {
        if (strstr(tool, tools[i]) != NULL) {
            return (int)i;
        }
    }
    return -1;
}

static void check_accepted(json_object *entry, const struct sgn_csr *csr, struct corpus_tally *t)
{
    const char *cn = json_str(entry, "cn");
    HS_CHECK(cn == NULL ? sgn_csr_get0_cn(csr) == NULL : str_eq(cn, sgn_csr_get0_cn(csr)));
    json_object *sans = json_object_object_get(entry, "sans");
    const GENERAL_NAMES *got = sgn_csr_get0_sans(csr);
    HS_CHECK(sans_equal(got, sans, "dns", GEN_DNS));
    HS_CHECK(sans_equal(got, sans, "ip", GEN_IPADD));
    HS_CHECK(sans_equal(got, sans, "email", GEN_EMAIL));
    HS_CHECK(sans_equal(got, sans, "uri", GEN_URI));
    HS_CHECK(sk_GENERAL_NAME_num(got) == json_list_len(sans, "dns") + json_list_len(sans, "ip") +
                                             json_list_len(sans, "email") +
                                             json_list_len(sans, "uri"));
    const char *key_type = json_str(entry, "key_type");
    const struct sgn_spki_info *info = sgn_csr_get0_key_info(csr);
    bool known = false;
    for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++) {
        if (str_eq(key_type, key_types[i].name)) {
            known = true;
            HS_CHECK(info->kind == key_types[i].kind && info->bits == key_types[i].bits);
            int tool = tool_index(json_str(entry, "tool"));
            if (tool >= 0) {
                t->tool_types[tool] |= 1U << i;
            }
        }
    }
    HS_CHECK(known);
    unsigned char spki[32];
    HS_CHECK_OK(sgn_csr_spki_sha256(csr, spki));
    t->accepted++;
}

static void check_corpus_entry(json_object *entry, struct corpus_tally *t)
{
    const char *file = json_str(entry, "file");
    const char *expect = json_str(entry, "expect");
    HS_CHECK(file != NULL && (str_eq(expect, "accept") || str_eq(expect, "refuse")));
    if (file == NULL) {
        return;
    }
    fprintf(stderr, "  %s (%s)\n", file, expect != NULL ? expect : "?");
    char path[1400];
    snprintf(path, sizeof(path), "%s/%s", corpus_dir, file);
    HS_DEFER(struct hs_buf *data = NULL, hs_buf_freep);
    HS_CHECK_OK(hs_file_read(path, CORPUS_MAX, &data));
    if (data == NULL) {
        return;
    }
    t->entries++;
    if (str_eq(json_str(entry, "format"), "der")) {
        /* Raw DER is not what the service takes; the same bytes in PEM are. */
        struct sgn_csr *raw = NULL;
        HS_CHECK_ERR(sgn_csr_parse((const char *)hs_buf_data(data), hs_buf_len(data), &raw),
                     HS_ERR_INPUT_CSR);
        HS_CHECK(raw == NULL);
        struct hs_buf *pem = der_to_pem(data);
        HS_CHECK(pem != NULL);
        if (pem == NULL) {
            return;
        }
        hs_buf_free(data);
        data = pem;
        t->der++;
    } else {
        t->legacy_label += str_eq(json_str(entry, "pem_label"), "NEW CERTIFICATE REQUEST");
        t->crlf += str_eq(json_str(entry, "line_endings"), "CRLF");
    }
    HS_DEFER(struct sgn_csr *csr = NULL, sgn_csr_freep);
    hs_result r = sgn_csr_parse((const char *)hs_buf_data(data), hs_buf_len(data), &csr);
    if (str_eq(expect, "refuse")) {
        enum hs_code want = HS_ERR_NONE;
        HS_CHECK(code_by_name(json_str(entry, "error"), &want));
        HS_CHECK(str_eq(hs_code_name(want), json_str(entry, "api_error")));
        if (r.code != want) {
            fprintf(stderr, "  %s: got %s, expected %s\n", file, hs_code_name(r.code),
                    hs_code_name(want));
        }
        HS_CHECK(r.code == want && csr == NULL);
        t->refused++;
        return;
    }
    if (hs_failed(r)) {
        fprintf(stderr, "  corpus file %s refused: %s\n", file, hs_error_last()->detail);
    }
    HS_CHECK(!hs_failed(r));
    if (csr != NULL) {
        check_accepted(entry, csr, t);
    }
}

/* Every file of the corpus directory but the manifest and README has a manifest entry. */
static size_t corpus_files(void)
{
    size_t n = 0;
    DIR *dir = opendir(corpus_dir);
    if (dir == NULL) {
        return 0;
    }
    for (struct dirent *d = readdir(dir); d != NULL; d = readdir(dir)) {
        size_t len = strlen(d->d_name);
        n += len > 4 &&
             (strcmp(d->d_name + len - 4, ".pem") == 0 || strcmp(d->d_name + len - 4, ".der") == 0);
    }
    closedir(dir);
    return n;
}

HS_TEST(interop_corpus_gets_the_outcome_its_manifest_lists)
{
    char manifest[1100];
    snprintf(manifest, sizeof(manifest), "%s/manifest.json", corpus_dir);
    HS_DEFER(struct hs_buf *text = NULL, hs_buf_freep);
    HS_CHECK_OK(hs_file_read(manifest, CORPUS_MAX * 2, &text));
    if (text == NULL) {
        return;
    }
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    HS_CHECK_OK(hs_json_parse_object((const char *)hs_buf_data(text), hs_buf_len(text),
                                     CORPUS_MAX * 2, 16, &doc));
    json_object *entries = NULL;
    HS_CHECK(doc != NULL && json_object_object_get_ex(doc, "entries", &entries));
    size_t n = entries != NULL ? json_object_array_length(entries) : 0;
    HS_CHECK(n >= CORPUS_ENTRIES_MIN);
    struct corpus_tally t;
    memset(&t, 0, sizeof(t));
    for (size_t i = 0; i < n; i++) {
        check_corpus_entry(json_object_array_get_idx(entries, i), &t);
    }
    HS_CHECK(t.entries == n && corpus_files() == n);
    HS_CHECK(t.accepted + t.refused == n && t.refused >= 10 && t.der >= 2);
    HS_CHECK(t.legacy_label >= 1 && t.crlf >= 1);
    /* Every accepted key type from every tool. */
    for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
        if (t.tool_types[i] != (1U << (sizeof(key_types) / sizeof(key_types[0]))) - 1) {
            fprintf(stderr, "  %s lacks accepted key types (mask 0x%x)\n", tools[i],
                    t.tool_types[i]);
        }
        HS_CHECK(t.tool_types[i] == (1U << (sizeof(key_types) / sizeof(key_types[0]))) - 1);
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
        HS_TEST_CASE(interop_corpus_gets_the_outcome_its_manifest_lists),
        HS_TEST_CASE(generated_good_csrs_are_accepted),
        HS_TEST_CASE(generated_bad_csrs_fail_with_the_exact_error),
        HS_TEST_CASE(malformed_pem_is_refused),
        HS_TEST_END,
    });
}
