#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/sha.h>

#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "common/hs_json.h"
#include "common/hs_log.h"
#include "common/hs_secret.h"
#include "keyceremony/internal.h"
#include "pkcs11/p11_sign.h"
#include "signer/sgn_cert.h"
#include "signer/sgn_ext.h"

#define KC_CERT_FILE_MAX (64 * 1024)

static const unsigned char kc_selftest_msg[] = "hsmsign key ceremony self-test";

/* The token's serial number, blank padding removed. */
static HS_RESULT kc_token_serial(struct p11_pool *pool, char out[17])
{
    CK_TOKEN_INFO info;
    HS_GUARD(p11_pool_get_token_info(pool, &info));
    size_t n = sizeof(info.serialNumber);
    while (n > 0 && info.serialNumber[n - 1] == ' ') {
        n--;
    }
    memcpy(out, info.serialNumber, n);
    out[n] = '\0';
    return HS_OK;
}

HS_RESULT kc_session_open(const struct p11_token_config *token, struct kc_session *out)
{
    memset(out, 0, sizeof(*out));
    HS_GUARD(p11_token_open(token, &out->module, &out->pool));
    return kc_token_serial(out->pool, out->token_serial);
}

void kc_session_close(struct kc_session *s)
{
    p11_pool_free(s->pool);
    p11_module_free(s->module);
    memset(s, 0, sizeof(*s));
}

/* Signs a test message with the new key and verifies it with the public key as exported. */
static HS_RESULT kc_key_selftest(struct p11_key *key)
{
    enum p11_sig_alg alg = p11_sig_alg_default(p11_key_type(key));
    HS_DEFER(struct hs_buf *sig = hs_buf_new(P11_SIG_MAX), hs_buf_freep);
    HS_ENSURE(sig != NULL, HS_ERR_NOMEM);
    HS_GUARD(p11_sign(key, alg, P11_SIG_FORMAT_DER, kc_selftest_msg, sizeof(kc_selftest_msg), sig));
    HS_DEFER(EVP_MD_CTX *ctx = EVP_MD_CTX_new(), hs_evp_md_ctx_freep);
    HS_ENSURE(ctx != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(EVP_DigestVerifyInit_ex(ctx, NULL, p11_sig_alg_digest(alg), NULL, NULL,
                                          p11_key_get0_public(key), NULL),
                  HS_ERR_CRYPTO);
    int ok = EVP_DigestVerify(ctx, hs_buf_data(sig), hs_buf_len(sig), kc_selftest_msg,
                              sizeof(kc_selftest_msg));
    ERR_clear_error();
    HS_ENSURE_MSG(ok == 1, HS_ERR_HSM, "the new key's test signature does not verify");
    return HS_OK;
}

HS_RESULT kc_key_create(struct kc_session *s, const struct kc_key *spec, struct p11_key **out)
{
    /* The token must be able to sign with the key before the key is created. */
    HS_GUARD(p11_sign_check(s->pool, spec->type, spec->rsa_bits, p11_sig_alg_default(spec->type)));
    struct p11_keygen_spec ks = {
        .type = spec->type, .rsa_bits = spec->rsa_bits, .label = spec->label};
    HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
    HS_GUARD(p11_key_generate(s->pool, &ks, &key));
    HS_GUARD(p11_key_check_protected(key));
    HS_GUARD(kc_key_selftest(key));
    *out = key;
    key = NULL;
    return HS_OK;
}

HS_RESULT kc_cert_read(const char *path, X509 **out)
{
    HS_DEFER(struct hs_buf *pem = NULL, hs_buf_freep);
    HS_GUARD(hs_file_read(path, KC_CERT_FILE_MAX, &pem));
    HS_DEFER(BIO *bio = BIO_new_mem_buf(hs_buf_data(pem), (int)hs_buf_len(pem)), hs_bio_freep);
    HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    ERR_clear_error();
    HS_ENSURE_MSG(cert != NULL, HS_ERR_INPUT_CONFIG, "%s holds no PEM certificate", path);
    *out = cert;
    return HS_OK;
}

HS_RESULT kc_cert_write(const char *path, const X509 *cert)
{
    HS_DEFER(struct hs_buf *pem = hs_buf_new(SGN_CERT_PEM_MAX), hs_buf_freep);
    HS_ENSURE(pem != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_cert_to_pem(cert, pem));
    return hs_file_write_new(path, hs_buf_data(pem), hs_buf_len(pem), 0644);
}

HS_RESULT kc_public_key_read(const char *path, const char *what, EVP_PKEY **out)
{
    HS_DEFER(struct hs_buf *pem = NULL, hs_buf_freep);
    HS_GUARD(hs_file_read(path, KC_CERT_FILE_MAX, &pem));
    HS_DEFER(BIO *bio = BIO_new_mem_buf(hs_buf_data(pem), (int)hs_buf_len(pem)), hs_bio_freep);
    HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
    HS_DEFER(EVP_PKEY *pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL), hs_evp_pkey_freep);
    ERR_clear_error();
    HS_ENSURE_MSG(pub != NULL, HS_ERR_INPUT_CONFIG, "%s: %s holds no PEM public key", what, path);
    int bits = EVP_PKEY_get_bits(pub);
    if (EVP_PKEY_is_a(pub, "RSA")) {
        HS_ENSURE_MSG(bits == 2048 || bits == 3072 || bits == 4096, HS_ERR_INPUT_KEY,
                      "%s: RSA-%d refused; RSA keys need 2048, 3072 or 4096 bits", what, bits);
    } else {
        char group[32] = "";
        size_t glen = 0;
        HS_ENSURE_MSG(
            EVP_PKEY_is_a(pub, "EC") &&
                EVP_PKEY_get_utf8_string_param(pub, "group", group, sizeof(group), &glen) == 1 &&
                (strcmp(group, "prime256v1") == 0 || strcmp(group, "secp384r1") == 0),
            HS_ERR_INPUT_KEY, "%s: key type refused (EC P-256/P-384, RSA 2048-4096)", what);
        ERR_clear_error();
    }
    *out = pub;
    pub = NULL;
    return HS_OK;
}

HS_RESULT kc_public_key_write(const char *path, EVP_PKEY *pub)
{
    HS_DEFER(BIO *bio = BIO_new(BIO_s_mem()), hs_bio_freep);
    HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(PEM_write_bio_PUBKEY(bio, pub), HS_ERR_CRYPTO);
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    HS_ENSURE(len > 0, HS_ERR_CRYPTO);
    return hs_file_write_new(path, (const unsigned char *)data, (size_t)len, 0644);
}

HS_RESULT kc_spki_sha256_hex(EVP_PKEY *pub, char out[65])
{
    HS_DEFER(unsigned char *der = NULL, hs_ossl_freep);
    int len = i2d_PUBKEY(pub, &der);
    HS_ENSURE(len > 0, HS_ERR_CRYPTO);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    HS_ENSURE(SHA256(der, (size_t)len, digest) != NULL, HS_ERR_CRYPTO);
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof(digest); i++) {
        out[2 * i] = digits[digest[i] >> 4];
        out[2 * i + 1] = digits[digest[i] & 0x0f];
    }
    out[2 * sizeof(digest)] = '\0';
    return HS_OK;
}

static HS_RESULT kc_json_hex(json_object *obj, const char *key, const unsigned char *p, size_t n)
{
    HS_DEFER(struct hs_buf *hex = hs_buf_new(2 * n + 1), hs_buf_freep);
    HS_ENSURE(hex != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put_hex(hex, p, n));
    const char *s = NULL;
    HS_GUARD(hs_buf_cstr(hex, &s));
    HS_ENSURE(json_object_object_add(obj, key, json_object_new_string(s)) == 0, HS_ERR_NOMEM);
    return HS_OK;
}

static HS_RESULT kc_transcript_spki(json_object *line, EVP_PKEY *pub)
{
    char hex[65];
    HS_GUARD(kc_spki_sha256_hex(pub, hex));
    HS_ENSURE(json_object_object_add(line, "spki_sha256", json_object_new_string(hex)) == 0,
              HS_ERR_NOMEM);
    return HS_OK;
}

static HS_RESULT kc_transcript_key(json_object *line, const struct p11_key *key)
{
    size_t id_len = 0;
    const unsigned char *id = p11_key_id(key, &id_len);
    json_object_object_add(line, "key_label", json_object_new_string(p11_key_label(key)));
    json_object_object_add(line, "key_type",
                           json_object_new_string(p11_key_type_name(p11_key_type(key))));
    HS_GUARD(kc_json_hex(line, "key_id", id, id_len));
    return kc_transcript_spki(line, p11_key_get0_public(key));
}

static HS_RESULT kc_transcript_cert(json_object *line, X509 *cert)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HS_GUARD_OSSL(X509_digest(cert, EVP_sha256(), digest, &n), HS_ERR_CRYPTO);
    HS_GUARD(kc_json_hex(line, "cert_sha256", digest, n));
    char serial[SGN_SERIAL_HEX_LEN + 9];
    HS_GUARD(sgn_cert_serial_hex(cert, serial, sizeof(serial)));
    json_object_object_add(line, "cert_serial", json_object_new_string(serial));
    return HS_OK;
}

static HS_RESULT kc_transcript_crl(json_object *line, X509_CRL *crl)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HS_GUARD_OSSL(X509_CRL_digest(crl, EVP_sha256(), digest, &n), HS_ERR_CRYPTO);
    HS_GUARD(kc_json_hex(line, "crl_sha256", digest, n));
    HS_DEFER(ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL),
             hs_asn1_integer_freep);
    json_object_object_add(line, "crl_number", json_object_new_int64(ASN1_INTEGER_get(num)));
    json_object_object_add(line, "crl_entries",
                           json_object_new_int(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl))));
    return HS_OK;
}

static HS_RESULT kc_transcript_fill(json_object *line, const struct kc_record *rec)
{
    if (rec->event != NULL) {
        json_object_object_add(line, "event", json_object_new_string(rec->event));
    }
    if (rec->key != NULL) {
        HS_GUARD(kc_transcript_key(line, rec->key));
    } else if (rec->pub != NULL) {
        HS_GUARD(kc_transcript_spki(line, rec->pub));
    }
    if (rec->cert != NULL) {
        HS_GUARD(kc_transcript_cert(line, rec->cert));
    }
    if (rec->crl != NULL) {
        HS_GUARD(kc_transcript_crl(line, rec->crl));
    }
    if (rec->kid != NULL) {
        json_object_object_add(line, "kid", json_object_new_string(rec->kid));
    }
    if (rec->ssh_ca != NULL) {
        json_object_object_add(line, "ssh_ca", json_object_new_string(rec->ssh_ca));
    }
    if (rec->ssh_fingerprint != NULL) {
        json_object_object_add(line, "ssh_fingerprint",
                               json_object_new_string(rec->ssh_fingerprint));
    }
    if (rec->output != NULL) {
        json_object_object_add(line, "output", json_object_new_string(rec->output));
    }
    return HS_OK;
}

HS_RESULT kc_transcript(const struct kc_config *cfg, const struct kc_session *s,
                        const struct kc_record *rec)
{
    if (cfg->transcript == NULL) {
        return HS_OK;
    }
    HS_DEFER(json_object *line = json_object_new_object(), hs_json_putp);
    HS_ENSURE(line != NULL, HS_ERR_NOMEM);
    char ts[32];
    sgn_time_rfc3339(time(NULL), ts);
    json_object_object_add(line, "time", json_object_new_string(ts));
    json_object_object_add(line, "step", json_object_new_string(kc_step_name(cfg->step)));
    if (cfg->has_token) {
        json_object_object_add(line, "token_label", json_object_new_string(cfg->token.label));
    }
    if (s != NULL) {
        json_object_object_add(line, "token_serial", json_object_new_string(s->token_serial));
    }
    HS_GUARD(kc_transcript_fill(line, rec));
    HS_DEFER(char *text = NULL, hs_free_strp);
    HS_GUARD(hs_json_to_string(line, &text));
    return hs_file_append_line(cfg->transcript, text, 0644);
}

HS_RESULT kc_issuer_key(struct kc_session *s, const char *ref, X509 *cert, struct p11_key **out)
{
    HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
    HS_GUARD(hs_error_context(p11_key_find(s->pool, ref, &key), "issuer.key"));
    HS_ENSURE_MSG(EVP_PKEY_eq(X509_get0_pubkey(cert), p11_key_get0_public(key)) == 1,
                  HS_ERR_INPUT_CONFIG, "issuer.key does not belong to issuer.certificate");
    HS_GUARD(p11_sign_check_key(key, p11_sig_alg_default(p11_key_type(key))));
    *out = key;
    key = NULL;
    return HS_OK;
}

HS_RESULT kc_check_ca(X509 *cert, time_t from, time_t to, const char *what)
{
    HS_ENSURE_MSG(X509_check_ca(cert) >= 1 && (X509_get_key_usage(cert) & KU_KEY_CERT_SIGN),
                  HS_ERR_INPUT_CONFIG, "%s is not a CA certificate with keyCertSign", what);
    time_t nb = 0;
    time_t na = 0;
    HS_GUARD(sgn_asn1_time_to_epoch(X509_get0_notBefore(cert), &nb));
    HS_GUARD(sgn_asn1_time_to_epoch(X509_get0_notAfter(cert), &na));
    HS_ENSURE_MSG(nb <= from, HS_ERR_INPUT_RANGE, "%s is not valid yet", what);
    HS_ENSURE_MSG(to <= na, HS_ERR_INPUT_RANGE,
                  "certificate.validity_days: the new certificate would outlive %s", what);
    return HS_OK;
}

HS_RESULT kc_cert_extras(const struct kc_cert *c, STACK_OF(X509_EXTENSION) * *out)
{
    HS_DEFER(STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null(),
             hs_x509_extension_stack_freep);
    HS_ENSURE(exts != NULL, HS_ERR_NOMEM);
    if (c->npermitted_dns + c->npermitted_email > 0) {
        HS_GUARD(sgn_ext_name_constraints(c->permitted_dns, c->npermitted_dns, c->permitted_email,
                                          c->npermitted_email, exts));
    }
    if (c->crl_distribution_point != NULL) {
        HS_GUARD(sgn_ext_crl_distribution_point(c->crl_distribution_point, exts));
    }
    if (c->ca_issuers != NULL) {
        HS_GUARD(sgn_ext_ca_issuers(c->ca_issuers, exts));
    }
    *out = exts;
    exts = NULL;
    return HS_OK;
}
