#include "signer/sgn_ssh_cert.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "common/hs_defer.h"
#include "common/hs_log.h"
#include "pkcs11/p11_sign.h"
#include "signer/sgn_ssh_wire.h"

#define SGN_SSH_NAME_MAX 64
#define SGN_SSH_EC_COORD_MAX 66 /* bytes of a P-521 coordinate */

struct sgn_ssh_ca {
    struct p11_key *key;
    struct sgn_ssh_key *pub;
    enum p11_sig_alg alg;
    const char *sig_name;
    char fingerprint[SGN_SSH_FINGERPRINT_LEN + 1];
};

HS_DEFINE_FREEP(sgn_ecdsa_sig_freep, ECDSA_SIG, ECDSA_SIG_free)

/* --- the CA ------------------------------------------------------------------------------- */

HS_RESULT sgn_ssh_ca_new(struct p11_key *key, struct sgn_ssh_ca **out)
{
    HS_ENSURE_REF(key);
    HS_DEFER(struct sgn_ssh_ca *ca = OPENSSL_zalloc(sizeof(*ca)), sgn_ssh_ca_freep);
    HS_ENSURE(ca != NULL, HS_ERR_NOMEM);
    switch (p11_key_type(key)) {
    case P11_KEY_ED25519:
        ca->alg = P11_SIG_EDDSA;
        ca->sig_name = "ssh-ed25519";
        break;
    case P11_KEY_EC_P256:
        ca->alg = P11_SIG_ECDSA_SHA256;
        ca->sig_name = "ecdsa-sha2-nistp256";
        break;
    case P11_KEY_EC_P384:
        ca->alg = P11_SIG_ECDSA_SHA384;
        ca->sig_name = "ecdsa-sha2-nistp384";
        break;
    case P11_KEY_RSA:
        /* RFC 8332 §3: rsa-sha2-512, never SHA-1 "ssh-rsa". */
        ca->alg = P11_SIG_RSA_PKCS1_SHA512;
        ca->sig_name = "rsa-sha2-512";
        break;
    default:
        HS_BAIL_MSG(HS_ERR_INPUT_KEY, "key type cannot be an SSH CA");
    }
    HS_GUARD(sgn_ssh_key_from_pkey(p11_key_get0_public(key), &ca->pub));
    HS_GUARD(sgn_ssh_key_fingerprint(ca->pub, ca->fingerprint));
    HS_GUARD(p11_sign_check_key(key, ca->alg));
    ca->key = p11_key_up_ref(key);
    *out = ca;
    ca = NULL;
    return HS_OK;
}

void sgn_ssh_ca_free(struct sgn_ssh_ca *ca)
{
    if (ca != NULL) {
        p11_key_free(ca->key);
        sgn_ssh_key_free(ca->pub);
        OPENSSL_free(ca);
    }
}

void sgn_ssh_ca_freep(struct sgn_ssh_ca **ca)
{
    sgn_ssh_ca_free(*ca);
}

const struct sgn_ssh_key *sgn_ssh_ca_get0_key(const struct sgn_ssh_ca *ca)
{
    return ca->pub;
}

const char *sgn_ssh_ca_sig_name(const struct sgn_ssh_ca *ca)
{
    return ca->sig_name;
}

/* --- checking the request ------------------------------------------------------------------ */

/* Printable bytes only; no_sep also refuses space and comma (principals, extension names). */
static HS_RESULT sgn_ssh_text_check(const char *field, const char *s, size_t min, size_t max,
                                    bool no_sep)
{
    HS_ENSURE_MSG(s != NULL, HS_ERR_INPUT_FIELD, "%s is missing", field);
    size_t n = strnlen(s, max + 1);
    HS_ENSURE_MSG(n <= max, HS_ERR_INPUT_TOO_LARGE, "%s is longer than %zu bytes", field, max);
    HS_ENSURE_MSG(n >= min, HS_ERR_INPUT_FIELD, "%s is empty", field);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        HS_ENSURE_MSG(c >= 0x20 && c != 0x7f, HS_ERR_INPUT_FIELD, "%s holds a control character",
                      field);
        HS_ENSURE_MSG(!no_sep || (c != ' ' && c != ','), HS_ERR_INPUT_FIELD,
                      "%s holds a space or a comma", field);
    }
    return HS_OK;
}

static int sgn_strp_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int sgn_option_cmp(const void *a, const void *b)
{
    return strcmp(((const struct sgn_ssh_option *)a)->name,
                  ((const struct sgn_ssh_option *)b)->name);
}

static HS_RESULT sgn_ssh_principals_check(const struct sgn_ssh_cert_request *req)
{
    /* PROTOCOL.certkeys: an empty list means the certificate is valid for any principal. */
    HS_ENSURE_MSG(req->n_principals > 0 && req->principals != NULL, HS_ERR_INPUT_FIELD,
                  "a certificate needs at least one principal (an empty list means any)");
    HS_ENSURE_MSG(req->n_principals <= SGN_SSH_PRINCIPALS_MAX, HS_ERR_INPUT_RANGE,
                  "at most %d principals", SGN_SSH_PRINCIPALS_MAX);
    const char *sorted[SGN_SSH_PRINCIPALS_MAX] = {0};
    for (size_t i = 0; i < req->n_principals; i++) {
        HS_GUARD(
            sgn_ssh_text_check("principal", req->principals[i], 1, SGN_SSH_PRINCIPAL_MAX, true));
        sorted[i] = req->principals[i];
    }
    qsort(sorted, req->n_principals, sizeof(sorted[0]), sgn_strp_cmp);
    for (size_t i = 1; i < req->n_principals; i++) {
        HS_ENSURE_MSG(strcmp(sorted[i - 1], sorted[i]) != 0, HS_ERR_INPUT_FIELD,
                      "principal \"%s\" appears twice", sorted[i]);
    }
    return HS_OK;
}

static bool sgn_ssh_source_address_ok(const char *v)
{
    for (const char *p = v; *p != '\0'; p++) {
        bool ok = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
                  (*p >= 'A' && *p <= 'F') || *p == '.' || *p == ':' || *p == '/' || *p == ',';
        if (!ok) {
            return false;
        }
    }
    return true;
}

static HS_RESULT sgn_ssh_options_sorted(const struct sgn_ssh_cert_request *req,
                                        struct sgn_ssh_option out[2])
{
    HS_ENSURE_MSG(req->n_options == 0 || req->type == SGN_SSH_CERT_USER, HS_ERR_INPUT_FIELD,
                  "host certificates carry no critical options (PROTOCOL.certkeys)");
    HS_ENSURE_MSG(req->n_options <= 2, HS_ERR_INPUT_FIELD,
                  "critical options: force-command and source-address, each once");
    for (size_t i = 0; i < req->n_options; i++) {
        const struct sgn_ssh_option *o = &req->options[i];
        HS_ENSURE_MSG(o->name != NULL && (strcmp(o->name, "force-command") == 0 ||
                                          strcmp(o->name, "source-address") == 0),
                      HS_ERR_INPUT_FIELD,
                      "critical option not supported (force-command, source-address)");
        HS_GUARD(sgn_ssh_text_check(o->name, o->value, 1, SGN_SSH_OPTION_VALUE_MAX, false));
        HS_ENSURE_MSG(strcmp(o->name, "source-address") != 0 || sgn_ssh_source_address_ok(o->value),
                      HS_ERR_INPUT_FIELD,
                      "source-address is a comma-separated list of addresses or CIDR blocks");
        out[i] = *o;
    }
    /* PROTOCOL.certkeys: options "MUST be lexically ordered by name". */
    qsort(out, req->n_options, sizeof(out[0]), sgn_option_cmp);
    HS_ENSURE_MSG(req->n_options < 2 || strcmp(out[0].name, out[1].name) != 0, HS_ERR_INPUT_FIELD,
                  "critical option %s appears twice", out[0].name);
    return HS_OK;
}

static HS_RESULT sgn_ssh_extensions_sorted(const struct sgn_ssh_cert_request *req,
                                           const char *out[SGN_SSH_EXTENSIONS_MAX])
{
    HS_ENSURE_MSG(req->n_extensions == 0 || req->type == SGN_SSH_CERT_USER, HS_ERR_INPUT_FIELD,
                  "host certificates carry no extensions (PROTOCOL.certkeys)");
    HS_ENSURE_MSG(req->n_extensions <= SGN_SSH_EXTENSIONS_MAX, HS_ERR_INPUT_RANGE,
                  "at most %d extensions", SGN_SSH_EXTENSIONS_MAX);
    for (size_t i = 0; i < req->n_extensions; i++) {
        HS_GUARD(sgn_ssh_text_check("extension", req->extensions[i], 1, SGN_SSH_EXTENSION_NAME_MAX,
                                    true));
        out[i] = req->extensions[i];
    }
    qsort(out, req->n_extensions, sizeof(out[0]), sgn_strp_cmp);
    for (size_t i = 1; i < req->n_extensions; i++) {
        HS_ENSURE_MSG(strcmp(out[i - 1], out[i]) != 0, HS_ERR_INPUT_FIELD,
                      "extension \"%s\" appears twice", out[i]);
    }
    return HS_OK;
}

static HS_RESULT sgn_ssh_request_check(const struct sgn_ssh_cert_request *req)
{
    HS_ENSURE_MSG(req->subject != NULL, HS_ERR_INPUT_FIELD, "no subject key");
    HS_ENSURE_MSG(req->serial != 0, HS_ERR_INPUT_RANGE,
                  "serial 0 cannot be revoked by a KRL (PROTOCOL.krl)");
    HS_ENSURE_MSG(req->type == SGN_SSH_CERT_USER || req->type == SGN_SSH_CERT_HOST,
                  HS_ERR_INPUT_FIELD, "certificate type is user (1) or host (2)");
    if (req->key_id != NULL) {
        HS_GUARD(sgn_ssh_text_check("key id", req->key_id, 0, SGN_SSH_KEY_ID_MAX, false));
    }
    HS_ENSURE_MSG(req->valid_after < req->valid_before, HS_ERR_INPUT_RANGE,
                  "valid_after must be before valid_before");
    return sgn_ssh_principals_check(req);
}

/* --- encoding ------------------------------------------------------------------------------ */

/* A string holding a sequence of strings (valid principals). */
static HS_RESULT sgn_ssh_put_principals(struct hs_buf *b, const struct sgn_ssh_cert_request *req)
{
    HS_DEFER(struct hs_buf *inner = hs_buf_new(SGN_SSH_CERT_MAX), hs_buf_freep);
    HS_ENSURE(inner != NULL, HS_ERR_NOMEM);
    for (size_t i = 0; i < req->n_principals; i++) {
        HS_GUARD(sgn_ssh_put_cstring(inner, req->principals[i]));
    }
    return sgn_ssh_put_string(b, hs_buf_data(inner), hs_buf_len(inner));
}

/* Critical options: string name, string data where data is a string holding the value. */
static HS_RESULT sgn_ssh_put_options(struct hs_buf *b, const struct sgn_ssh_option *opts, size_t n)
{
    HS_DEFER(struct hs_buf *inner = hs_buf_new(SGN_SSH_CERT_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *data = hs_buf_new(SGN_SSH_OPTION_VALUE_MAX + 4), hs_buf_freep);
    HS_ENSURE(inner != NULL && data != NULL, HS_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        hs_buf_reset(data);
        HS_GUARD(sgn_ssh_put_cstring(data, opts[i].value));
        HS_GUARD(sgn_ssh_put_cstring(inner, opts[i].name));
        HS_GUARD(sgn_ssh_put_string(inner, hs_buf_data(data), hs_buf_len(data)));
    }
    return sgn_ssh_put_string(b, hs_buf_data(inner), hs_buf_len(inner));
}

/* Extensions: string name, string "" (the flag extensions carry no data). */
static HS_RESULT sgn_ssh_put_extensions(struct hs_buf *b, const char *const *names, size_t n)
{
    HS_DEFER(struct hs_buf *inner = hs_buf_new(SGN_SSH_CERT_MAX), hs_buf_freep);
    HS_ENSURE(inner != NULL, HS_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        HS_GUARD(sgn_ssh_put_cstring(inner, names[i]));
        HS_GUARD(sgn_ssh_put_string(inner, NULL, 0));
    }
    return sgn_ssh_put_string(b, hs_buf_data(inner), hs_buf_len(inner));
}

/* Everything the signature covers (PROTOCOL.certkeys), up to and including the CA key. */
static HS_RESULT sgn_ssh_tbs(const struct sgn_ssh_ca *ca, const struct sgn_ssh_cert_request *req,
                             struct hs_buf *tbs)
{
    struct sgn_ssh_option opts[2];
    const char *exts[SGN_SSH_EXTENSIONS_MAX];
    HS_GUARD(sgn_ssh_options_sorted(req, opts));
    HS_GUARD(sgn_ssh_extensions_sorted(req, exts));
    unsigned char nonce[SGN_SSH_NONCE_LEN];
    HS_GUARD_OSSL(RAND_bytes(nonce, sizeof(nonce)), HS_ERR_CRYPTO);
    size_t key_len = 0;
    const unsigned char *key = sgn_ssh_key_blob(req->subject, &key_len);
    /* The subject key's fields are its blob after the leading key type string. */
    struct hs_cursor c;
    hs_cursor_init(&c, key, key_len);
    const unsigned char *name = NULL;
    size_t name_len = 0;
    HS_GUARD(sgn_ssh_get_string(&c, "key type", SGN_SSH_NAME_MAX, &name, &name_len));
    HS_GUARD(sgn_ssh_put_cstring(tbs, sgn_ssh_key_cert_type_name(sgn_ssh_key_type(req->subject))));
    HS_GUARD(sgn_ssh_put_string(tbs, nonce, sizeof(nonce)));
    HS_GUARD(hs_buf_put(tbs, key + c.pos, hs_cursor_remaining(&c)));
    HS_GUARD(sgn_ssh_put_u64(tbs, req->serial));
    HS_GUARD(sgn_ssh_put_u32(tbs, (uint32_t)req->type));
    HS_GUARD(sgn_ssh_put_cstring(tbs, req->key_id != NULL ? req->key_id : ""));
    HS_GUARD(sgn_ssh_put_principals(tbs, req));
    HS_GUARD(sgn_ssh_put_u64(tbs, req->valid_after));
    HS_GUARD(sgn_ssh_put_u64(tbs, req->valid_before));
    HS_GUARD(sgn_ssh_put_options(tbs, opts, req->n_options));
    HS_GUARD(sgn_ssh_put_extensions(tbs, exts, req->n_extensions));
    HS_GUARD(sgn_ssh_put_string(tbs, NULL, 0)); /* reserved */
    size_t ca_len = 0;
    const unsigned char *ca_blob = sgn_ssh_key_blob(ca->pub, &ca_len);
    return sgn_ssh_put_string(tbs, ca_blob, ca_len);
}

/* The signature blob: string algorithm, string signature; for ECDSA the signature string holds
 * mpint r, mpint s made from the token's fixed-length r||s (RFC 5656 §3.1.2). */
static HS_RESULT sgn_ssh_sig_blob(const struct sgn_ssh_ca *ca, const struct hs_buf *raw,
                                  struct hs_buf *out)
{
    HS_GUARD(sgn_ssh_put_cstring(out, ca->sig_name));
    if (ca->alg != P11_SIG_ECDSA_SHA256 && ca->alg != P11_SIG_ECDSA_SHA384) {
        return sgn_ssh_put_string(out, hs_buf_data(raw), hs_buf_len(raw));
    }
    size_t half = hs_buf_len(raw) / 2;
    HS_ENSURE(half > 0 && hs_buf_len(raw) == 2 * half, HS_ERR_HSM);
    HS_DEFER(struct hs_buf *rs = hs_buf_new(2 * (SGN_SSH_EC_COORD_MAX + 5)), hs_buf_freep);
    HS_ENSURE(rs != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_ssh_put_mpint(rs, hs_buf_data(raw), half));
    HS_GUARD(sgn_ssh_put_mpint(rs, hs_buf_data(raw) + half, half));
    return sgn_ssh_put_string(out, hs_buf_data(rs), hs_buf_len(rs));
}

static HS_RESULT sgn_ssh_cert_sign_checked(const struct sgn_ssh_ca *ca,
                                           const struct sgn_ssh_cert_request *req,
                                           struct hs_buf *out, unsigned char digest[32])
{
    HS_GUARD(sgn_ssh_request_check(req));
    HS_DEFER(struct hs_buf *cert = hs_buf_new(SGN_SSH_CERT_MAX), hs_buf_freep);
    HS_ENSURE(cert != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_ssh_tbs(ca, req, cert));
    size_t tbs_len = hs_buf_len(cert);
    HS_ENSURE(SHA256(hs_buf_data(cert), tbs_len, digest) != NULL, HS_ERR_CRYPTO);
    HS_DEFER(struct hs_buf *raw = hs_buf_new(P11_SIG_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *sig = hs_buf_new(SGN_SSH_SIG_MAX), hs_buf_freep);
    HS_ENSURE(raw != NULL && sig != NULL, HS_ERR_NOMEM);
    HS_GUARD(p11_sign(ca->key, ca->alg, P11_SIG_FORMAT_RAW, hs_buf_data(cert), tbs_len, raw));
    HS_GUARD(sgn_ssh_sig_blob(ca, raw, sig));
    /* As the X.509 path: what the token signed is checked before anyone sees it. */
    hs_result v = sgn_ssh_sig_verify(sgn_ssh_key_get0_pkey(ca->pub), hs_buf_data(cert), tbs_len,
                                     hs_buf_data(sig), hs_buf_len(sig));
    HS_ENSURE_MSG(!hs_failed(v), HS_ERR_HSM, "the token's signature does not verify");
    HS_GUARD(sgn_ssh_put_string(cert, hs_buf_data(sig), hs_buf_len(sig)));
    return hs_buf_put(out, hs_buf_data(cert), hs_buf_len(cert));
}

HS_RESULT sgn_ssh_cert_sign(const struct sgn_ssh_ca *ca, const struct sgn_ssh_cert_request *req,
                            struct hs_buf *out)
{
    HS_ENSURE_REF(ca);
    HS_ENSURE_REF(req);
    HS_ENSURE_REF(out);
    const char *caller = req->requester != NULL ? req->requester : "";
    char serial[24];
    HS_IGNORE(snprintf(serial, sizeof(serial), "%" PRIu64, req->serial)); /* 20 digits fit */
    unsigned char digest[SHA256_DIGEST_LENGTH] = {0};
    hs_result r = sgn_ssh_cert_sign_checked(ca, req, out, digest);
    if (hs_failed(r)) {
        hs_log(HS_LOG_WARN, "sign.ssh_cert.failed", HS_LOG_AUDIT, HS_LOG_STR("caller", caller),
               HS_LOG_STR("ca", ca->fingerprint), HS_LOG_STR("serial", serial), HS_LOG_ERR());
        return r;
    }
    char subject[SGN_SSH_FINGERPRINT_LEN + 1] = "";
    HS_IGNORE(sgn_ssh_key_fingerprint(req->subject, subject));
    hs_log(HS_LOG_INFO, "sign.ssh_cert.issued", HS_LOG_AUDIT, HS_LOG_STR("caller", caller),
           HS_LOG_STR("key_label", p11_key_label(ca->key)), HS_LOG_STR("ca", ca->fingerprint),
           HS_LOG_STR("serial", serial),
           HS_LOG_STR("key_id", req->key_id != NULL ? req->key_id : ""),
           HS_LOG_INT("cert_type", (long long)req->type), HS_LOG_STR("subject_key", subject),
           HS_LOG_HEX("tbs_sha256", digest, sizeof(digest)));
    return HS_OK;
}

HS_RESULT sgn_ssh_cert_to_line(const unsigned char *blob, size_t len, const char *comment,
                               struct hs_buf *out)
{
    HS_ENSURE_REF(blob);
    struct hs_cursor c;
    hs_cursor_init(&c, blob, len);
    const unsigned char *name = NULL;
    size_t name_len = 0;
    HS_GUARD(sgn_ssh_get_string(&c, "certificate type", SGN_SSH_NAME_MAX, &name, &name_len));
    static const char suffix[] = "-cert-v01@openssh.com";
    size_t sl = sizeof(suffix) - 1;
    HS_ENSURE_MSG(name_len > sl && memcmp(name + name_len - sl, suffix, sl) == 0, HS_ERR_INPUT_KEY,
                  "not an OpenSSH certificate");
    char type[SGN_SSH_NAME_MAX + 1];
    memcpy(type, name, name_len);
    type[name_len] = '\0';
    return sgn_ssh_line_write(type, blob, len, comment, out);
}

/* --- verification -------------------------------------------------------------------------- */

/* mpint r, mpint s -> DER ECDSA-Sig-Value (RFC 3279 §2.2.3), as OpenSSL verifies it. */
static HS_RESULT sgn_ssh_ecdsa_der(const unsigned char *p, size_t n, struct hs_buf *der)
{
    struct hs_cursor c;
    hs_cursor_init(&c, p, n);
    const unsigned char *r = NULL;
    const unsigned char *s = NULL;
    size_t r_len = 0;
    size_t s_len = 0;
    HS_GUARD(sgn_ssh_get_mpint_pos(&c, "ECDSA r", SGN_SSH_EC_COORD_MAX, &r, &r_len));
    HS_GUARD(sgn_ssh_get_mpint_pos(&c, "ECDSA s", SGN_SSH_EC_COORD_MAX, &s, &s_len));
    HS_ENSURE_MSG(hs_cursor_remaining(&c) == 0, HS_ERR_INPUT_KEY, "trailing bytes after ECDSA s");
    HS_DEFER(ECDSA_SIG *sig = ECDSA_SIG_new(), sgn_ecdsa_sig_freep);
    BIGNUM *br = BN_bin2bn(r, (int)r_len, NULL);
    BIGNUM *bs = BN_bin2bn(s, (int)s_len, NULL);
    if (sig == NULL || br == NULL || bs == NULL || ECDSA_SIG_set0(sig, br, bs) != 1) {
        BN_free(br);
        BN_free(bs);
        HS_BAIL(HS_ERR_NOMEM);
    }
    int len = i2d_ECDSA_SIG(sig, NULL);
    HS_ENSURE(len > 0, HS_ERR_CRYPTO);
    unsigned char *dst = NULL;
    HS_GUARD(hs_buf_reserve(der, (size_t)len, &dst));
    HS_ENSURE(i2d_ECDSA_SIG(sig, &dst) == len, HS_ERR_CRYPTO);
    return hs_buf_commit(der, (size_t)len);
}

/* The digest (NULL for Ed25519) a signature algorithm name means for key pub; NULL name when
 * it does not fit the key. */
static const char *sgn_ssh_sig_digest(EVP_PKEY *pub, const unsigned char *alg, size_t alg_len,
                                      bool *fits)
{
    *fits = false;
    if (EVP_PKEY_is_a(pub, "ED25519")) {
        *fits = sgn_ssh_eq(alg, alg_len, "ssh-ed25519");
        return NULL;
    }
    if (EVP_PKEY_is_a(pub, "RSA")) {
        *fits =
            sgn_ssh_eq(alg, alg_len, "rsa-sha2-512") || sgn_ssh_eq(alg, alg_len, "rsa-sha2-256");
        return sgn_ssh_eq(alg, alg_len, "rsa-sha2-256") ? "SHA256" : "SHA512";
    }
    int bits = EVP_PKEY_get_bits(pub);
    const char *want = bits == 256   ? "ecdsa-sha2-nistp256"
                       : bits == 384 ? "ecdsa-sha2-nistp384"
                                     : "ecdsa-sha2-nistp521";
    *fits = EVP_PKEY_is_a(pub, "EC") && sgn_ssh_eq(alg, alg_len, want);
    /* RFC 5656 §6.2.1: the hash follows the curve size. */
    return bits == 256 ? "SHA256" : (bits == 384 ? "SHA384" : "SHA512");
}

HS_RESULT sgn_ssh_sig_verify(EVP_PKEY *pub, const unsigned char *data, size_t len,
                             const unsigned char *sig, size_t sig_len)
{
    HS_ENSURE_REF(pub);
    HS_ENSURE_REF(data);
    HS_ENSURE_REF(sig);
    struct hs_cursor c;
    hs_cursor_init(&c, sig, sig_len);
    const unsigned char *alg = NULL;
    size_t alg_len = 0;
    const unsigned char *body = NULL;
    size_t body_len = 0;
    HS_GUARD(sgn_ssh_get_string(&c, "signature algorithm", SGN_SSH_NAME_MAX, &alg, &alg_len));
    HS_GUARD(sgn_ssh_get_string(&c, "signature", SGN_SSH_SIG_MAX, &body, &body_len));
    HS_ENSURE_MSG(hs_cursor_remaining(&c) == 0, HS_ERR_INPUT_KEY,
                  "trailing bytes after the signature");
    bool fits = false;
    const char *md = sgn_ssh_sig_digest(pub, alg, alg_len, &fits);
    HS_ENSURE_MSG(fits, HS_ERR_INPUT_KEY, "signature algorithm does not fit the key");
    HS_DEFER(struct hs_buf *der = hs_buf_new(2 * SGN_SSH_EC_COORD_MAX + 16), hs_buf_freep);
    HS_ENSURE(der != NULL, HS_ERR_NOMEM);
    if (EVP_PKEY_is_a(pub, "EC")) {
        HS_GUARD(sgn_ssh_ecdsa_der(body, body_len, der));
        body = hs_buf_data(der);
        body_len = hs_buf_len(der);
    }
    HS_DEFER(EVP_MD_CTX *ctx = EVP_MD_CTX_new(), hs_evp_md_ctx_freep);
    HS_ENSURE(ctx != NULL, HS_ERR_NOMEM);
    EVP_PKEY_CTX *pctx = NULL;
    HS_GUARD_OSSL(EVP_DigestVerifyInit_ex(ctx, &pctx, md, NULL, NULL, pub, NULL), HS_ERR_CRYPTO);
    if (EVP_PKEY_is_a(pub, "RSA")) {
        HS_GUARD_OSSL(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING), HS_ERR_CRYPTO);
    }
    int ok = EVP_DigestVerify(ctx, body, body_len, data, len);
    ERR_clear_error();
    HS_ENSURE_MSG(ok == 1, HS_ERR_INPUT_KEY, "the signature does not verify");
    return HS_OK;
}
