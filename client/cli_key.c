#include "client/cli_key.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/hs_defer.h"
#include "common/hs_file.h"

/* Indexed by enum cli_key_type. */
static const char *const cli_key_names[] = {
    [CLI_KEY_EC_P256] = "ec-p256",   [CLI_KEY_EC_P384] = "ec-p384", [CLI_KEY_RSA_2048] = "rsa-2048",
    [CLI_KEY_RSA_3072] = "rsa-3072", [CLI_KEY_ED25519] = "ed25519",
};

HS_RESULT cli_key_type_parse(const char *name, enum cli_key_type *out)
{
    HS_ENSURE_REF(name);
    for (size_t k = 0; k < sizeof(cli_key_names) / sizeof(cli_key_names[0]); k++) {
        if (strcmp(name, cli_key_names[k]) == 0) {
            *out = (enum cli_key_type)k;
            return HS_OK;
        }
    }
    HS_BAIL_MSG(HS_ERR_INPUT, "--key-type: one of ec-p256, ec-p384, rsa-2048, rsa-3072, ed25519");
}

HS_RESULT cli_key_generate(enum cli_key_type type, EVP_PKEY **out)
{
    EVP_PKEY *key = NULL;
    switch (type) {
    case CLI_KEY_EC_P256:
        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        break;
    case CLI_KEY_EC_P384:
        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
        break;
    case CLI_KEY_RSA_2048:
        key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        break;
    case CLI_KEY_RSA_3072:
        key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
        break;
    case CLI_KEY_ED25519:
        key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        break;
    default:
        HS_BAIL(HS_ERR_INTERNAL);
    }
    HS_GUARD_OSSL_PTR(key, HS_ERR_CRYPTO);
    *out = key;
    return HS_OK;
}

/* 1..max bytes. A CN: no control characters (X509_NAME checks the UTF-8); a DNS name: ASCII
 * letters, digits, '-', '.', '*' and '_' (the service judges the rest). */
static bool cli_name_ok(const char *s, size_t max, bool dns)
{
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max) {
        return false;
    }
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        bool ok = dns ? (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || strchr("-.*_", c) != NULL
                      : c >= 0x20 && c != 0x7f;
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* Appends one SAN of type gen_type (GEN_DNS, GEN_IPADD) parsed from text. */
static HS_RESULT cli_san_push(GENERAL_NAMES *gens, int gen_type, const char *text)
{
    GENERAL_NAME *g = a2i_GENERAL_NAME(NULL, NULL, NULL, gen_type, text, 0);
    if (g == NULL) {
        ERR_clear_error();
        HS_BAIL_MSG(HS_ERR_INPUT, "%s",
                    gen_type == GEN_IPADD ? "--ip: not an IPv4 or IPv6 address"
                                          : "--dns: not a DNS name");
    }
    if (sk_GENERAL_NAME_push(gens, g) <= 0) {
        GENERAL_NAME_free(g);
        HS_BAIL(HS_ERR_NOMEM);
    }
    return HS_OK;
}

HS_RESULT cli_csr_names_check(const struct cli_csr_names *names)
{
    HS_ENSURE_REF(names);
    HS_ENSURE_MSG(names->cn != NULL, HS_ERR_INPUT, "--cn is required (or give --csr)");
    HS_ENSURE_MSG(cli_name_ok(names->cn, CLI_CN_MAX, false), HS_ERR_INPUT,
                  "--cn: 1..%d bytes without control characters", CLI_CN_MAX);
    for (size_t k = 0; k < names->ndns; k++) {
        HS_ENSURE_MSG(cli_name_ok(names->dns[k], CLI_DNS_NAME_MAX, true), HS_ERR_INPUT,
                      "--dns: 1..%d letters, digits and '-', '.', '*', '_'", CLI_DNS_NAME_MAX);
    }
    HS_DEFER(GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null(), hs_general_names_freep);
    HS_ENSURE(gens != NULL, HS_ERR_NOMEM);
    for (size_t k = 0; k < names->nip; k++) {
        HS_GUARD(cli_san_push(gens, GEN_IPADD, names->ip[k]));
    }
    return HS_OK;
}

static HS_RESULT cli_csr_add_sans(X509_REQ *req, const struct cli_csr_names *names)
{
    if (names->ndns + names->nip == 0) {
        return HS_OK;
    }
    HS_DEFER(GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null(), hs_general_names_freep);
    HS_ENSURE(gens != NULL, HS_ERR_NOMEM);
    for (size_t k = 0; k < names->ndns; k++) {
        HS_GUARD(cli_san_push(gens, GEN_DNS, names->dns[k]));
    }
    for (size_t k = 0; k < names->nip; k++) {
        HS_GUARD(cli_san_push(gens, GEN_IPADD, names->ip[k]));
    }
    HS_DEFER(STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null(),
             hs_x509_extension_stack_freep);
    HS_ENSURE(exts != NULL, HS_ERR_NOMEM);
    X509_EXTENSION *ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
    HS_GUARD_OSSL_PTR(ext, HS_ERR_CRYPTO);
    if (sk_X509_EXTENSION_push(exts, ext) <= 0) {
        X509_EXTENSION_free(ext);
        HS_BAIL(HS_ERR_NOMEM);
    }
    HS_GUARD_OSSL(X509_REQ_add_extensions(req, exts), HS_ERR_CRYPTO);
    return HS_OK;
}

static HS_RESULT cli_key_digest(EVP_PKEY *key, EVP_MD **out)
{
    const char *name = "SHA256";
    if (EVP_PKEY_is_a(key, "ED25519")) {
        *out = NULL;
        return HS_OK;
    }
    if (EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_bits(key) > 256) {
        name = "SHA384";
    }
    EVP_MD *md = EVP_MD_fetch(NULL, name, NULL);
    HS_GUARD_OSSL_PTR(md, HS_ERR_CRYPTO);
    *out = md;
    return HS_OK;
}

static HS_RESULT cli_bio_to_buf(BIO *bio, struct hs_buf *out)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    HS_ENSURE(n > 0 && data != NULL, HS_ERR_CRYPTO);
    return hs_buf_put(out, data, (size_t)n);
}

HS_RESULT cli_csr_build(EVP_PKEY *key, const struct cli_csr_names *names, struct hs_buf *out)
{
    HS_ENSURE_REF(key);
    HS_ENSURE_REF(names);
    HS_GUARD(cli_csr_names_check(names));
    HS_DEFER(X509_REQ *req = X509_REQ_new(), hs_x509_req_freep);
    HS_ENSURE(req != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(X509_REQ_set_version(req, X509_REQ_VERSION_1), HS_ERR_CRYPTO);
    hs_error_clear();
    if (X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
                                   (const unsigned char *)names->cn, -1, -1, 0) != 1) {
        ERR_clear_error();
        HS_BAIL_MSG(HS_ERR_INPUT, "--cn: not valid UTF-8");
    }
    HS_GUARD_OSSL(X509_REQ_set_pubkey(req, key), HS_ERR_CRYPTO);
    HS_GUARD(cli_csr_add_sans(req, names));
    HS_DEFER(EVP_MD *md = NULL, hs_evp_md_freep);
    HS_GUARD(cli_key_digest(key, &md));
    HS_GUARD_OSSL(X509_REQ_sign(req, key, md) > 0 ? 1 : 0, HS_ERR_CRYPTO);
    HS_GUARD_OSSL(X509_REQ_verify(req, key), HS_ERR_CRYPTO);
    HS_DEFER(BIO *bio = BIO_new(BIO_s_mem()), hs_bio_freep);
    HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(PEM_write_bio_X509_REQ(bio, req), HS_ERR_CRYPTO);
    return cli_bio_to_buf(bio, out);
}

/* PEM is ASCII text: anything else (DER, UTF-16) is refused before it reaches JSON. */
static bool cli_is_text(const struct hs_buf *b)
{
    const unsigned char *p = hs_buf_data(b);
    for (size_t k = 0; k < hs_buf_len(b); k++) {
        if ((p[k] < 0x20 && p[k] != '\n' && p[k] != '\r' && p[k] != '\t') || p[k] >= 0x7f) {
            return false;
        }
    }
    return true;
}

HS_RESULT cli_csr_read(const char *path, struct hs_buf **pem_out, EVP_PKEY **key_out)
{
    HS_ENSURE_REF(path);
    HS_DEFER(struct hs_buf *pem = NULL, hs_buf_freep);
    HS_GUARD(hs_file_read(path, CLI_CSR_PEM_MAX, &pem));
    HS_ENSURE_MSG(hs_buf_len(pem) > 0 && cli_is_text(pem), HS_ERR_INPUT_CSR,
                  "%s: not a PEM CSR (for DER: openssl req -inform DER -outform PEM)", path);
    HS_DEFER(BIO *bio = BIO_new_mem_buf(hs_buf_data(pem), (int)hs_buf_len(pem)), hs_bio_freep);
    HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
    HS_DEFER(X509_REQ *req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL), hs_x509_req_freep);
    if (req == NULL) {
        ERR_clear_error();
        HS_BAIL_MSG(HS_ERR_INPUT_CSR, "%s: no PEM CERTIFICATE REQUEST in it", path);
    }
    HS_DEFER(EVP_PKEY *key = X509_REQ_get_pubkey(req), hs_evp_pkey_freep);
    if (key == NULL || X509_REQ_verify(req, key) != 1) {
        ERR_clear_error();
        HS_BAIL_MSG(HS_ERR_INPUT_CSR, "%s: the CSR's signature does not verify", path);
    }
    *pem_out = pem;
    pem = NULL;
    *key_out = key;
    key = NULL;
    return HS_OK;
}

HS_RESULT cli_key_write(EVP_PKEY *key, const char *path)
{
    HS_ENSURE_REF(key);
    HS_ENSURE_REF(path);
    /* Secure memory, cleared when freed: the PEM never sits in the ordinary heap. */
    HS_DEFER(BIO *bio = BIO_new(BIO_s_secmem()), hs_bio_freep);
    HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL),
                  HS_ERR_CRYPTO);
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    HS_ENSURE(n > 0 && data != NULL, HS_ERR_CRYPTO);
    return hs_file_write_new(path, data, (size_t)n, 0600);
}

/* A passphrase callback that gives none: an encrypted key is refused, never prompted for. */
static int cli_key_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    if (size > 0) {
        buf[0] = '\0';
    }
    (void)rwflag;
    (void)u;
    return -1;
}

HS_RESULT cli_key_read(const char *path, EVP_PKEY **out)
{
    HS_ENSURE_REF(path);
    HS_DEFER(struct hs_buf *pem = NULL, hs_buf_freep);
    HS_GUARD(hs_file_read_sensitive(path, CLI_KEY_PEM_MAX, &pem));
    HS_DEFER(BIO *bio = BIO_new_mem_buf(hs_buf_data(pem), (int)hs_buf_len(pem)), hs_bio_freep);
    HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, cli_key_no_passphrase, NULL);
    if (key == NULL) {
        ERR_clear_error();
        HS_BAIL_MSG(HS_ERR_INPUT_KEY, "%s: no unencrypted PEM private key in it", path);
    }
    *out = key;
    return HS_OK;
}

HS_RESULT cli_csr_build_like(EVP_PKEY *key, const X509 *cert, struct hs_buf *out)
{
    HS_ENSURE_REF(key);
    HS_ENSURE_REF(cert);
    HS_DEFER(X509_REQ *req = X509_REQ_new(), hs_x509_req_freep);
    HS_ENSURE(req != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(X509_REQ_set_version(req, X509_REQ_VERSION_1), HS_ERR_CRYPTO);
    HS_GUARD_OSSL(X509_REQ_set_subject_name(req, X509_get_subject_name(cert)), HS_ERR_CRYPTO);
    HS_GUARD_OSSL(X509_REQ_set_pubkey(req, key), HS_ERR_CRYPTO);
    int at = X509_get_ext_by_NID(cert, NID_subject_alt_name, -1);
    if (at >= 0) {
        /* The subjectAltName extension as the certificate has it, every name kind included. */
        HS_DEFER(STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null(),
                 hs_x509_extension_stack_freep);
        HS_ENSURE(exts != NULL, HS_ERR_NOMEM);
        X509_EXTENSION *ext = X509_EXTENSION_dup(X509_get_ext(cert, at));
        HS_ENSURE(ext != NULL, HS_ERR_NOMEM);
        if (sk_X509_EXTENSION_push(exts, ext) <= 0) {
            X509_EXTENSION_free(ext);
            HS_BAIL(HS_ERR_NOMEM);
        }
        HS_GUARD_OSSL(X509_REQ_add_extensions(req, exts), HS_ERR_CRYPTO);
    }
    HS_DEFER(EVP_MD *md = NULL, hs_evp_md_freep);
    HS_GUARD(cli_key_digest(key, &md));
    HS_GUARD_OSSL(X509_REQ_sign(req, key, md) > 0 ? 1 : 0, HS_ERR_CRYPTO);
    HS_GUARD_OSSL(X509_REQ_verify(req, key), HS_ERR_CRYPTO);
    HS_DEFER(BIO *bio = BIO_new(BIO_s_mem()), hs_bio_freep);
    HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(PEM_write_bio_X509_REQ(bio, req), HS_ERR_CRYPTO);
    return cli_bio_to_buf(bio, out);
}
