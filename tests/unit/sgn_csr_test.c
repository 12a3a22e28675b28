/*
 * sgn_csr: every CSR of the repository's interop corpus (tests/data/csr-interop: OpenSSL,
 * certtool, keytool, Python cryptography) gets the outcome its manifest lists -- accepted with
 * exactly its key type, CN and SANs, or refused with the exact error; generated bad CSRs fail
 * with the exact error.
 */
#include <dirent.h>
#include <string.h>

#include <openssl/bn.h>
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

/* --- names (issue 10, findings 3 and 5) ---------------------------------------------------- */

/* A P-256 CSR with CN "names.example" and the SANs of san (OpenSSL's "DNS:a,URI:b" syntax). */
static const char *csr_with_sans(const char *san, size_t *len)
{
    static char pem[16384];
    *len = 0;
    HS_DEFER(EVP_PKEY *key = gen_key("P-256"), hs_evp_pkey_freep);
    HS_DEFER(X509_REQ *req = X509_REQ_new(), hs_x509_req_freep);
    HS_DEFER(BIO *bio = BIO_new(BIO_s_mem()), hs_bio_freep);
    if (key == NULL || req == NULL || bio == NULL) {
        return "";
    }
    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_ASC,
                               (const unsigned char *)"names.example", -1, -1, 0);
    add_san(req, san);
    X509_REQ_set_pubkey(req, key);
    X509_REQ_sign(req, key, EVP_sha256());
    PEM_write_bio_X509_REQ(bio, req);
    int n = BIO_read(bio, pem, sizeof(pem) - 1);
    pem[n > 0 ? n : 0] = '\0';
    *len = n > 0 ? (size_t)n : 0;
    return pem;
}

static HS_RESULT parse_sans(const char *san)
{
    size_t len = 0;
    const char *pem = csr_with_sans(san, &len);
    HS_DEFER(struct sgn_csr *csr = NULL, sgn_csr_freep);
    hs_result r = sgn_csr_parse(pem, len, &csr);
    if (!hs_failed(r) && sk_GENERAL_NAME_num(sgn_csr_get0_sans(csr)) != 1) {
        r.code = HS_ERR_INTERNAL; /* the one SAN must come through */
    }
    return r;
}

HS_TEST(wildcards_only_as_a_whole_leftmost_label_over_two_or_more_labels)
{
    static const char *const good[] = {"DNS:*.example.org", "DNS:*.a.b.example.org",
                                       "DNS:www.example.org", "DNS:localhost"};
    static const char *const bad[] = {
        "DNS:f*.example.org",
        "DNS:*f.example.org",
        "DNS:a.*.example.org",
        "DNS:*.*.example.org",
        "DNS:*",
        "DNS:*.org",
        "DNS:*.",
        "DNS:**.example.org",
        "DNS:?.example.org",
        "DNS:*example.org",
        "DNS:*..example.org",
        "DNS:example.org.",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        HS_CHECK_OK(parse_sans(good[i]));
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hs_result r = parse_sans(bad[i]);
        if (r.code != HS_ERR_INPUT_CSR) {
            fprintf(stderr, "  %s: %s\n", bad[i], hs_code_name(r.code));
        }
        HS_CHECK(r.code == HS_ERR_INPUT_CSR);
    }
}

HS_TEST(uri_and_email_sans_are_parsed)
{
    static const char *const good[] = {
        "URI:spiffe://example.org/ns/prod/sa/web",
        "URI:spiffe://example.org",
        "URI:https://many.example/",
        "URI:https://api.example:8443/v1/items?x=1&y=a/b",
        "URI:urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        "URI:https://example.org/a%20b/c.d/...",
        "email:alice@example.com",
        "email:first.last+tag@mail.example.co.uk",
        "email:o'brien@example.com",
    };
    static const char *const bad[] = {
        "URI:spiffe://example.org/../../other-trust-domain",
        "URI:spiffe://example.org/ns/./x",
        "URI:spiffe://example.org/ns/%2e%2e/x",
        "URI:spiffe://example.org/ns/%2E/x",
        "URI:spiffe://example.org/a%2fb",
        "URI:spiffe://example.org/a%00b",
        "URI:spiffe://example.org/a%zzb",
        "URI:spiffe://example.org/a%2",
        "URI:spiffe:///no-trust-domain",
        "URI:spiffe://example.org/",
        "URI:spiffe://example.org//a",
        "URI:spiffe://example.org/a?x=1",
        "URI:spiffe://example.org:443/a",
        "URI:Spiffe://example.org/a",
        "URI:spiffe://Example.org/a",
        "URI:HTTPS://example.org/a",
        "URI:spiffe://example.org/a#frag",
        "URI:https://user:pw@example.org/",
        "URI:https://example.org/a#frag",
        "URI:https://example.org:99999/",
        "URI:https://exa_mple.org/",
        "URI:https://[::1]/",
        "URI:https://example.org/a/",
        "URI:no-scheme/path",
        "URI:1http://example.org/",
        "URI:https:",
        "URI:https://example.org/a b",
        "URI:https://example.org/a\\b",
        "email:attacker@evil.com@example.com",
        "email:@example.com",
        "email:alice@",
        "email:alice",
        "email:.alice@example.com",
        "email:alice.@example.com",
        "email:a..b@example.com",
        "email:\"a b\"@example.com",
        "email:alice@exa_mple.com",
        "email:alice@example..com",
        "email:alice(comment)@example.com",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        hs_result r = parse_sans(good[i]);
        if (hs_failed(r)) {
            fprintf(stderr, "  %s: %s\n", good[i], hs_error_last()->detail);
        }
        HS_CHECK(!hs_failed(r));
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hs_result r = parse_sans(bad[i]);
        if (r.code != HS_ERR_INPUT_CSR) {
            fprintf(stderr, "  %s: %s\n", bad[i], hs_code_name(r.code));
        }
        HS_CHECK(r.code == HS_ERR_INPUT_CSR);
    }
}

/* --- DER (issue 10, finding 4) ------------------------------------------------------------- */

static size_t der_header(unsigned char *out, unsigned char tag, size_t len)
{
    out[0] = tag;
    if (len < 0x80) {
        out[1] = (unsigned char)len;
        return 2;
    }
    if (len < 0x100) {
        out[1] = 0x81;
        out[2] = (unsigned char)len;
        return 3;
    }
    out[1] = 0x82;
    out[2] = (unsigned char)(len >> 8);
    out[3] = (unsigned char)len;
    return 4;
}

/* An RSA key of 2048 bits with public exponent e + 2^top (top 0: e alone). */
static EVP_PKEY *rsa_key_with_e(unsigned long e, int top)
{
    HS_DEFER(BIGNUM *bn = BN_new(), hs_bn_freep);
    HS_DEFER(EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL),
             hs_evp_pkey_ctx_freep);
    EVP_PKEY *key = NULL;
    if (bn == NULL || BN_set_word(bn, e) != 1 || (top > 0 && BN_set_bit(bn, top) != 1) ||
        ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) != 1 ||
        EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, bn) != 1 || EVP_PKEY_keygen(ctx, &key) != 1) {
        return NULL;
    }
    return key;
}

/* The RSAPublicKey of key with the modulus INTEGER's leading bytes changed: pad > 0 adds that
 * many extra 0x00 bytes, pad < 0 drops DER's 0x00 (the modulus then reads as negative). */
static size_t rsa_pub_der(EVP_PKEY *key, int pad, unsigned char *out)
{
    BIGNUM *n = NULL;
    BIGNUM *e = NULL;
    unsigned char nb[1100];
    unsigned char eb[80];
    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e);
    size_t z = pad >= 0 ? 1 + (size_t)pad : 0; /* the modulus has its top bit set */
    memset(nb, 0, z);
    size_t nlen = z + (size_t)BN_bn2bin(n, nb + z);
    size_t elen = (size_t)BN_bn2bin(e, eb);
    BN_free(n);
    BN_free(e);
    unsigned char ih[8];
    unsigned char eh[8];
    size_t ihl = der_header(ih, 0x02, nlen);
    size_t ehl = der_header(eh, 0x02, elen);
    size_t w = der_header(out, 0x30, ihl + nlen + ehl + elen);
    memcpy(out + w, ih, ihl);
    memcpy(out + w + ihl, nb, nlen);
    memcpy(out + w + ihl + nlen, eh, ehl);
    memcpy(out + w + ihl + nlen + ehl, eb, elen);
    return w + ihl + nlen + ehl + elen;
}

/* A CSR signed by key; with rsa_pad != 0 its SPKI holds key's RSAPublicKey re-encoded with
 * the modulus padded (rsa_pub_der), then signed: a validly signed CSR carrying non-DER. */
static X509_REQ *signed_req(EVP_PKEY *key, int rsa_pad)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_ASC,
                               (const unsigned char *)"der.example", -1, -1, 0);
    X509_REQ_set_pubkey(req, key);
    if (rsa_pad != 0) {
        unsigned char *der = OPENSSL_malloc(1200);
        size_t len = rsa_pub_der(key, rsa_pad, der);
        X509_PUBKEY_set0_param(X509_REQ_get_X509_PUBKEY(req), OBJ_nid2obj(NID_rsaEncryption),
                               V_ASN1_NULL, NULL, der, (int)len);
    }
    X509_REQ_sign(req, key, EVP_sha256());
    return req;
}

static HS_RESULT parse_der(const unsigned char *der, size_t len,
                           const struct sgn_rsa_exponents *range)
{
    HS_DEFER(struct hs_buf *buf = hs_buf_new(CORPUS_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *pem = NULL, hs_buf_freep);
    if (buf == NULL || hs_failed(hs_buf_put(buf, der, len)) || (pem = der_to_pem(buf)) == NULL) {
        return (hs_result){HS_ERR_INTERNAL};
    }
    HS_DEFER(struct sgn_csr *csr = NULL, sgn_csr_freep);
    return sgn_csr_parse_ex((const char *)hs_buf_data(pem), hs_buf_len(pem), range, &csr);
}

static HS_RESULT parse_req(const X509_REQ *req, const struct sgn_rsa_exponents *range)
{
    HS_DEFER(unsigned char *der = NULL, hs_ossl_freep);
    int len = i2d_X509_REQ(req, &der);
    return len > 0 ? parse_der(der, (size_t)len, range) : (hs_result){HS_ERR_INTERNAL};
}

HS_TEST(rsa_public_keys_must_be_der)
{
    HS_DEFER(EVP_PKEY *key = gen_key("rsa2048"), hs_evp_pkey_freep);
    HS_DEFER(X509_REQ *good = signed_req(key, 0), hs_x509_req_freep);
    HS_CHECK_OK(parse_req(good, NULL));
    /* A modulus with an extra 0x00 (openssl asn1parse: BAD INTEGER), validly signed. */
    HS_DEFER(X509_REQ *padded = signed_req(key, 1), hs_x509_req_freep);
    HS_CHECK_ERR(parse_req(padded, NULL), HS_ERR_INPUT_KEY);
    HS_CHECK(strstr(hs_error_last()->detail, "not DER") != NULL);
    HS_DEFER(X509_REQ *padded2 = signed_req(key, 3), hs_x509_req_freep);
    HS_CHECK_ERR(parse_req(padded2, NULL), HS_ERR_INPUT_KEY);
    /* Without DER's leading 0x00 the modulus is a negative INTEGER. */
    HS_DEFER(X509_REQ *negative = signed_req(key, -1), hs_x509_req_freep);
    HS_CHECK_ERR(parse_req(negative, NULL), HS_ERR_INPUT_KEY);
}

HS_TEST(rsa_public_exponent_is_65537_or_the_configured_range)
{
    HS_DEFER(EVP_PKEY *e3 = rsa_key_with_e(3, 0), hs_evp_pkey_freep);
    HS_DEFER(EVP_PKEY *big = rsa_key_with_e(1, 512), hs_evp_pkey_freep); /* 2^512 + 1 */
    HS_DEFER(EVP_PKEY *e65539 = rsa_key_with_e(65539, 0), hs_evp_pkey_freep);
    HS_CHECK(e3 != NULL && big != NULL && e65539 != NULL);
    if (e3 == NULL || big == NULL || e65539 == NULL) {
        return;
    }
    HS_DEFER(X509_REQ *r3 = signed_req(e3, 0), hs_x509_req_freep);
    HS_DEFER(X509_REQ *rbig = signed_req(big, 0), hs_x509_req_freep);
    HS_DEFER(X509_REQ *r65539 = signed_req(e65539, 0), hs_x509_req_freep);
    HS_CHECK_ERR(parse_req(r3, NULL), HS_ERR_INPUT_KEY);
    HS_CHECK(strcmp(hs_error_last()->detail, "RSA public exponent must be 65537, not 3") == 0);
    HS_CHECK_ERR(parse_req(rbig, NULL), HS_ERR_INPUT_KEY);
    HS_CHECK(strcmp(hs_error_last()->detail,
                    "RSA public exponent must be 65537, not a 513-bit number") == 0);
    HS_CHECK_ERR(parse_req(r65539, NULL), HS_ERR_INPUT_KEY);
    /* A configured range 65537..2^256-1 admits 65539 but neither 3 nor 2^512+1. */
    struct sgn_rsa_exponents range;
    sgn_rsa_exponents_default(&range);
    memset(range.max, 0xff, sizeof(range.max));
    HS_CHECK_OK(parse_req(r65539, &range));
    HS_CHECK_ERR(parse_req(r3, &range), HS_ERR_INPUT_KEY);
    HS_CHECK_ERR(parse_req(rbig, &range), HS_ERR_INPUT_KEY);
    HS_CHECK(strstr(hs_error_last()->detail, "outside the profile's rsa_public_exponents") != NULL);
}

HS_TEST(csrs_must_be_der_outside_and_inside)
{
    HS_DEFER(EVP_PKEY *key = gen_key("P-256"), hs_evp_pkey_freep);
    HS_DEFER(X509_REQ *req = signed_req(key, 0), hs_x509_req_freep);
    HS_DEFER(unsigned char *der = NULL, hs_ossl_freep);
    int len = i2d_X509_REQ(req, &der);
    HS_CHECK(len > 0 && len < 1000 && der[0] == 0x30 && der[1] == 0x81);
    if (len <= 0 || len >= 1000 || der[1] != 0x81) {
        return;
    }
    HS_CHECK_OK(parse_der(der, (size_t)len, NULL));
    unsigned char buf[1100];
    size_t body = (size_t)len - 3;
    /* The outer SEQUENCE with an indefinite length: 30 80 ... 00 00. */
    buf[0] = 0x30;
    buf[1] = 0x80;
    memcpy(buf + 2, der + 3, body);
    buf[2 + body] = 0;
    buf[3 + body] = 0;
    HS_CHECK_ERR(parse_der(buf, body + 4, NULL), HS_ERR_INPUT_CSR);
    /* ... with a long-form length one byte longer than needed: 30 82 00 LL. */
    buf[1] = 0x82;
    buf[2] = 0x00;
    buf[3] = der[2];
    memcpy(buf + 4, der + 3, body);
    HS_CHECK_ERR(parse_der(buf, body + 4, NULL), HS_ERR_INPUT_CSR);
    HS_CHECK(strstr(hs_error_last()->detail, "not DER") != NULL);
    /* The signed CertificationRequestInfo with a non-minimal length, signed again: the
     * signature verifies, and still the CSR is not DER. */
    const unsigned char *info = der + 3;
    size_t info_hdr = info[1] == 0x81 ? 3 : 2;
    size_t info_len = info[info_hdr - 1];
    unsigned char tbs[600];
    tbs[0] = 0x30;
    tbs[1] = 0x82;
    tbs[2] = 0x00;
    tbs[3] = (unsigned char)info_len;
    memcpy(tbs + 4, info + info_hdr, info_len);
    size_t tbs_len = 4 + info_len;
    unsigned char sig[128];
    size_t sig_len = sizeof(sig);
    HS_DEFER(EVP_MD_CTX *md = EVP_MD_CTX_new(), hs_evp_md_ctx_freep);
    HS_CHECK(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestSign(md, sig, &sig_len, tbs, tbs_len) == 1);
    const unsigned char *alg = info + info_hdr + info_len; /* the AlgorithmIdentifier */
    size_t alg_len = 2 + (size_t)alg[1];
    unsigned char bits_hdr[8];
    size_t bh = der_header(bits_hdr, 0x03, sig_len + 1);
    size_t content = tbs_len + alg_len + bh + 1 + sig_len;
    size_t w = der_header(buf, 0x30, content);
    memcpy(buf + w, tbs, tbs_len);
    memcpy(buf + w + tbs_len, alg, alg_len);
    memcpy(buf + w + tbs_len + alg_len, bits_hdr, bh);
    buf[w + tbs_len + alg_len + bh] = 0x00;
    memcpy(buf + w + tbs_len + alg_len + bh + 1, sig, sig_len);
    HS_CHECK_ERR(parse_der(buf, w + content, NULL), HS_ERR_INPUT_CSR);
    HS_CHECK(strstr(hs_error_last()->detail, "CertificationRequestInfo is not DER") != NULL);
}

HS_TEST(der_csrs_with_multi_valued_rdns_and_attributes_are_accepted)
{
    /* The DER check encodes the subject afresh from its entries: a multi-valued RDN (X.690
     * §11.6: the SET sorted) and a challengePassword next to the extension request must come
     * out as they went in. */
    HS_DEFER(EVP_PKEY *key = gen_key("P-256"), hs_evp_pkey_freep);
    HS_DEFER(X509_REQ *req = X509_REQ_new(), hs_x509_req_freep);
    X509_NAME *name = X509_REQ_get_subject_name(req);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Example", -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"multi.example", -1,
                               -1, 0);
    X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_ASC, (const unsigned char *)"Ops", -1, -1, -1);
    X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword, MBSTRING_ASC,
                              (const unsigned char *)"not-a-secret", -1);
    add_san(req, "DNS:multi.example,email:ops@example.com,URI:spiffe://example.com/multi");
    X509_REQ_set_pubkey(req, key);
    X509_REQ_sign(req, key, EVP_sha256());
    HS_CHECK(X509_NAME_entry_count(X509_REQ_get_subject_name(req)) == 3);
    HS_CHECK_OK(parse_req(req, NULL));
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
        HS_TEST_CASE(wildcards_only_as_a_whole_leftmost_label_over_two_or_more_labels),
        HS_TEST_CASE(uri_and_email_sans_are_parsed),
        HS_TEST_CASE(rsa_public_keys_must_be_der),
        HS_TEST_CASE(rsa_public_exponent_is_65537_or_the_configured_range),
        HS_TEST_CASE(csrs_must_be_der_outside_and_inside),
        HS_TEST_CASE(der_csrs_with_multi_valued_rdns_and_attributes_are_accepted),
        HS_TEST_END,
    });
}
