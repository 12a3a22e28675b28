#include "common/hs_sshkey.h"

#include <stdint.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/hs_defer.h"

#define HS_SSHKEY_TYPE_MAX 64
#define HS_SSHKEY_ED25519_LEN 32
#define HS_SSHKEY_P256_POINT_LEN 65 /* 0x04 || X || Y (SEC 1 §2.3.3, uncompressed) */
#define HS_SSHKEY_PEM_LINE 70       /* as ssh-keygen wraps it */
#define HS_SSHKEY_BLOCK 8           /* PROTOCOL.key: the "none" cipher's block size */
#define HS_SSHKEY_CERT_SUFFIX "-cert-v01@openssh.com"

static const char hs_sshkey_magic[] = "openssh-key-v1"; /* written with its NUL (PROTOCOL.key) */
static const char hs_sshkey_pem_begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
static const char hs_sshkey_pem_end[] = "-----END OPENSSH PRIVATE KEY-----\n";

static void hs_sshkey_bn_freep(BIGNUM **p)
{
    BN_clear_free(*p);
}

static void hs_sshkey_bn_ctx_freep(BN_CTX **p)
{
    BN_CTX_free(*p);
}

static void hs_sshkey_pkey_freep(EVP_PKEY **p)
{
    EVP_PKEY_free(*p);
}

static void hs_sshkey_encode_ctx_freep(EVP_ENCODE_CTX **p)
{
    EVP_ENCODE_CTX_free(*p);
}

HS_RESULT hs_sshkey_generate(enum hs_sshkey_type type, EVP_PKEY **out)
{
    EVP_PKEY *key = NULL;
    switch (type) {
    case HS_SSHKEY_ED25519:
        key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        break;
    case HS_SSHKEY_ECDSA_P256:
        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        break;
    case HS_SSHKEY_RSA_2048:
        key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        break;
    case HS_SSHKEY_RSA_3072:
        key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
        break;
    case HS_SSHKEY_RSA_4096:
        key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
        break;
    default:
        HS_BAIL(HS_ERR_INTERNAL);
    }
    HS_GUARD_OSSL_PTR(key, HS_ERR_CRYPTO);
    *out = key;
    return HS_OK;
}

/* --- wire encoding (RFC 4251 §5) ------------------------------------------------------------- */

static HS_RESULT hs_sshkey_put_u32(struct hs_buf *b, uint32_t v)
{
    unsigned char be[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 8), (unsigned char)v};
    return hs_buf_put(b, be, sizeof(be));
}

static HS_RESULT hs_sshkey_put_string(struct hs_buf *b, const void *p, size_t n)
{
    HS_ENSURE(n <= HS_SSHKEY_PRIVATE_MAX, HS_ERR_BOUNDS);
    HS_GUARD(hs_sshkey_put_u32(b, (uint32_t)n));
    return hs_buf_put(b, p, n);
}

static HS_RESULT hs_sshkey_put_cstring(struct hs_buf *b, const char *s)
{
    return hs_sshkey_put_string(b, s, strlen(s));
}

/* mpint: big-endian two's complement, a leading zero byte when the top bit is set, zero as the
 * empty string. Only non-negative numbers occur here. Written straight into b (which is
 * sensitive for private values). */
static HS_RESULT hs_sshkey_put_mpint(struct hs_buf *b, const BIGNUM *bn)
{
    HS_ENSURE(bn != NULL && !BN_is_negative(bn), HS_ERR_CRYPTO);
    int n = BN_num_bytes(bn);
    HS_ENSURE(n >= 0 && n <= HS_SSHKEY_BLOB_MAX, HS_ERR_BOUNDS);
    bool pad = n > 0 && BN_is_bit_set(bn, n * 8 - 1);
    HS_GUARD(hs_sshkey_put_u32(b, (uint32_t)n + (pad ? 1U : 0U)));
    if (pad) {
        HS_GUARD(hs_buf_put_byte(b, 0));
    }
    unsigned char *p = NULL;
    HS_GUARD(hs_buf_reserve(b, (size_t)n, &p));
    HS_ENSURE(BN_bn2bin(bn, p) == n, HS_ERR_CRYPTO);
    return hs_buf_commit(b, (size_t)n);
}

static HS_RESULT hs_sshkey_put_bn_param(struct hs_buf *b, EVP_PKEY *key, const char *name)
{
    HS_DEFER(BIGNUM *bn = NULL, hs_sshkey_bn_freep);
    HS_GUARD_OSSL(EVP_PKEY_get_bn_param(key, name, &bn), HS_ERR_CRYPTO);
    return hs_sshkey_put_mpint(b, bn);
}

/* The P-256 point, uncompressed. */
static HS_RESULT hs_sshkey_ec_point(EVP_PKEY *key, unsigned char out[HS_SSHKEY_P256_POINT_LEN])
{
    char group[32] = {0};
    size_t n = 0;
    HS_GUARD_OSSL(
        EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &n),
        HS_ERR_CRYPTO);
    HS_ENSURE_MSG(strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0, HS_ERR_INPUT_KEY,
                  "an EC key on another curve than P-256");
    HS_GUARD_OSSL(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, out,
                                                  HS_SSHKEY_P256_POINT_LEN, &n),
                  HS_ERR_CRYPTO);
    HS_ENSURE(n == HS_SSHKEY_P256_POINT_LEN && out[0] == 0x04, HS_ERR_CRYPTO);
    return HS_OK;
}

static HS_RESULT hs_sshkey_ed25519_public(EVP_PKEY *key, unsigned char out[HS_SSHKEY_ED25519_LEN])
{
    size_t n = HS_SSHKEY_ED25519_LEN;
    HS_GUARD_OSSL(EVP_PKEY_get_raw_public_key(key, out, &n), HS_ERR_CRYPTO);
    HS_ENSURE(n == HS_SSHKEY_ED25519_LEN, HS_ERR_CRYPTO);
    return HS_OK;
}

/* The key's type name and public fields: the blob is these; the private section repeats the
 * type and adds the private fields (PROTOCOL.key "private key" formats, as sshkey.c's
 * sshkey_private_serialize writes them). */
static HS_RESULT hs_sshkey_fields(EVP_PKEY *key, bool private_part, struct hs_buf *out)
{
    if (EVP_PKEY_is_a(key, "ED25519")) {
        unsigned char pub[HS_SSHKEY_ED25519_LEN];
        HS_GUARD(hs_sshkey_ed25519_public(key, pub));
        HS_GUARD(hs_sshkey_put_cstring(out, "ssh-ed25519"));
        HS_GUARD(hs_sshkey_put_string(out, pub, sizeof(pub)));
        if (private_part) {
            /* string (seed || public key), 64 bytes: the "secret key" of the reference code. */
            unsigned char *p = NULL;
            size_t n = HS_SSHKEY_ED25519_LEN;
            HS_GUARD(hs_sshkey_put_u32(out, 2 * HS_SSHKEY_ED25519_LEN));
            HS_GUARD(hs_buf_reserve(out, HS_SSHKEY_ED25519_LEN, &p));
            HS_GUARD_OSSL(EVP_PKEY_get_raw_private_key(key, p, &n), HS_ERR_CRYPTO);
            HS_ENSURE(n == HS_SSHKEY_ED25519_LEN, HS_ERR_CRYPTO);
            HS_GUARD(hs_buf_commit(out, n));
            HS_GUARD(hs_buf_put(out, pub, sizeof(pub)));
        }
        return HS_OK;
    }
    if (EVP_PKEY_is_a(key, "EC")) {
        unsigned char q[HS_SSHKEY_P256_POINT_LEN];
        HS_GUARD(hs_sshkey_ec_point(key, q));
        HS_GUARD(hs_sshkey_put_cstring(out, "ecdsa-sha2-nistp256"));
        HS_GUARD(hs_sshkey_put_cstring(out, "nistp256"));
        HS_GUARD(hs_sshkey_put_string(out, q, sizeof(q)));
        return private_part ? hs_sshkey_put_bn_param(out, key, OSSL_PKEY_PARAM_PRIV_KEY) : HS_OK;
    }
    HS_ENSURE_MSG(EVP_PKEY_is_a(key, "RSA"), HS_ERR_INPUT_KEY,
                  "not an Ed25519, ECDSA P-256 or RSA key");
    HS_GUARD(hs_sshkey_put_cstring(out, "ssh-rsa"));
    if (!private_part) {
        HS_GUARD(hs_sshkey_put_bn_param(out, key, OSSL_PKEY_PARAM_RSA_E));
        return hs_sshkey_put_bn_param(out, key, OSSL_PKEY_PARAM_RSA_N);
    }
    /* n, e, d, iqmp, p, q */
    static const char *const names[] = {
        OSSL_PKEY_PARAM_RSA_N,       OSSL_PKEY_PARAM_RSA_E,
        OSSL_PKEY_PARAM_RSA_D,       OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
        OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        HS_GUARD(hs_sshkey_put_bn_param(out, key, names[k]));
    }
    return HS_OK;
}

HS_RESULT hs_sshkey_blob(EVP_PKEY *key, struct hs_buf *out)
{
    HS_ENSURE_REF(key);
    HS_ENSURE_REF(out);
    return hs_sshkey_fields(key, false, out);
}

static HS_RESULT hs_sshkey_comment_check(const char *comment)
{
    size_t n = strnlen(comment, HS_SSHKEY_COMMENT_MAX + 1);
    HS_ENSURE_MSG(n <= HS_SSHKEY_COMMENT_MAX, HS_ERR_INPUT, "key comment: over %d bytes",
                  HS_SSHKEY_COMMENT_MAX);
    for (size_t k = 0; k < n; k++) {
        HS_ENSURE_MSG(comment[k] >= 0x20 && comment[k] < 0x7f, HS_ERR_INPUT,
                      "key comment: printable ASCII only");
    }
    return HS_OK;
}

/* Appends the base64 (RFC 4648 §4, padded) of p[0..n) to out, in lines of `wrap` characters
 * each ended by '\n' (wrap 0: one run, no newline). The encoding passes through a buffer of
 * out's sensitivity class only: sensitive callers give a sensitive out. */
static HS_RESULT hs_sshkey_put_base64(struct hs_buf *out, const unsigned char *p, size_t n,
                                      size_t wrap)
{
    HS_ENSURE(n <= HS_SSHKEY_PRIVATE_MAX, HS_ERR_BOUNDS);
    size_t enc = 4 * ((n + 2) / 3);
    HS_DEFER(struct hs_buf *tmp = hs_buf_new_sensitive(enc + 1), hs_buf_freep);
    HS_ENSURE(tmp != NULL, HS_ERR_NOMEM);
    unsigned char *t = NULL;
    HS_GUARD(hs_buf_reserve(tmp, enc + 1, &t));
    HS_ENSURE(EVP_EncodeBlock(t, p, (int)n) == (int)enc, HS_ERR_CRYPTO);
    HS_GUARD(hs_buf_commit(tmp, enc));
    if (wrap == 0) {
        return hs_buf_put(out, t, enc);
    }
    for (size_t off = 0; off < enc; off += wrap) {
        size_t len = enc - off < wrap ? enc - off : wrap;
        HS_GUARD(hs_buf_put(out, t + off, len));
        HS_GUARD(hs_buf_put_byte(out, '\n'));
    }
    return HS_OK;
}

HS_RESULT hs_sshkey_public_line(EVP_PKEY *key, const char *comment, struct hs_buf *out)
{
    HS_ENSURE_REF(key);
    HS_ENSURE_REF(out);
    HS_DEFER(struct hs_buf *blob = hs_buf_new(HS_SSHKEY_BLOB_MAX), hs_buf_freep);
    HS_ENSURE(blob != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_sshkey_blob(key, blob));
    struct hs_cursor c;
    const unsigned char *p = NULL;
    hs_cursor_init(&c, hs_buf_data(blob), hs_buf_len(blob));
    HS_GUARD(hs_cursor_get(&c, 4, &p));
    size_t tlen = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
    HS_GUARD(hs_cursor_get(&c, tlen, &p));
    HS_GUARD(hs_buf_put(out, p, tlen));
    HS_GUARD(hs_buf_put_byte(out, ' '));
    HS_GUARD(hs_sshkey_put_base64(out, hs_buf_data(blob), hs_buf_len(blob), 0));
    if (comment != NULL && comment[0] != '\0') {
        HS_GUARD(hs_sshkey_comment_check(comment));
        HS_GUARD(hs_buf_put_byte(out, ' '));
        HS_GUARD(hs_buf_put_str(out, comment));
    }
    return hs_buf_put_byte(out, '\n');
}

HS_RESULT hs_sshkey_private_file(EVP_PKEY *key, const char *comment, struct hs_buf *out)
{
    HS_ENSURE_REF(key);
    HS_ENSURE_REF(out);
    const char *cmt = comment != NULL ? comment : "";
    HS_GUARD(hs_sshkey_comment_check(cmt));
    HS_DEFER(struct hs_buf *pub = hs_buf_new(HS_SSHKEY_BLOB_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *priv = hs_buf_new_sensitive(HS_SSHKEY_PRIVATE_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *whole = hs_buf_new_sensitive(HS_SSHKEY_PRIVATE_MAX), hs_buf_freep);
    HS_ENSURE(pub != NULL && priv != NULL && whole != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_sshkey_blob(key, pub));
    /* The private section: the same random check integer twice (a wrong passphrase shows as a
     * mismatch when the section is encrypted), the key, the comment, padding 1, 2, 3, ... */
    unsigned char check[4];
    HS_GUARD_OSSL(RAND_bytes(check, sizeof(check)), HS_ERR_CRYPTO);
    HS_GUARD(hs_buf_put(priv, check, sizeof(check)));
    HS_GUARD(hs_buf_put(priv, check, sizeof(check)));
    HS_GUARD(hs_sshkey_fields(key, true, priv));
    HS_GUARD(hs_sshkey_put_cstring(priv, cmt));
    for (unsigned char pad = 1; hs_buf_len(priv) % HS_SSHKEY_BLOCK != 0; pad++) {
        HS_GUARD(hs_buf_put_byte(priv, pad));
    }
    HS_GUARD(hs_buf_put(whole, hs_sshkey_magic, sizeof(hs_sshkey_magic))); /* with its NUL */
    HS_GUARD(hs_sshkey_put_cstring(whole, "none"));                        /* ciphername */
    HS_GUARD(hs_sshkey_put_cstring(whole, "none"));                        /* kdfname */
    HS_GUARD(hs_sshkey_put_cstring(whole, ""));                            /* kdfoptions */
    HS_GUARD(hs_sshkey_put_u32(whole, 1));                                 /* number of keys */
    HS_GUARD(hs_sshkey_put_string(whole, hs_buf_data(pub), hs_buf_len(pub)));
    HS_GUARD(hs_sshkey_put_string(whole, hs_buf_data(priv), hs_buf_len(priv)));
    HS_GUARD(hs_buf_put_str(out, hs_sshkey_pem_begin));
    HS_GUARD(hs_sshkey_put_base64(out, hs_buf_data(whole), hs_buf_len(whole), HS_SSHKEY_PEM_LINE));
    return hs_buf_put_str(out, hs_sshkey_pem_end);
}

/* --- reading lines and certificates ---------------------------------------------------------- */

static HS_RESULT hs_sshkey_get_u32(struct hs_cursor *c, size_t *out)
{
    const unsigned char *p = NULL;
    HS_GUARD(hs_cursor_get(c, 4, &p));
    *out = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
    return HS_OK;
}

static HS_RESULT hs_sshkey_get_string(struct hs_cursor *c, const unsigned char **p, size_t *n)
{
    HS_GUARD(hs_sshkey_get_u32(c, n));
    return hs_cursor_get(c, *n, p);
}

HS_RESULT hs_sshkey_line_parse(const char *text, size_t len, const char **type_out,
                               size_t *type_len, struct hs_buf *blob)
{
    HS_ENSURE_REF(text);
    HS_ENSURE_REF(blob);
    const char *nl = memchr(text, '\n', len);
    size_t n = nl != NULL ? (size_t)(nl - text) : len;
    HS_ENSURE_MSG(n <= HS_SSHKEY_LINE_MAX, HS_ERR_INPUT_KEY, "the key line is over %d bytes",
                  HS_SSHKEY_LINE_MAX);
    size_t t = strcspn(text, " \t\r\n");
    HS_ENSURE_MSG(t > 0 && t <= HS_SSHKEY_TYPE_MAX && t < n, HS_ERR_INPUT_KEY,
                  "not an OpenSSH public-key line (TYPE BASE64 [COMMENT])");
    for (size_t k = 0; k < t; k++) {
        HS_ENSURE_MSG(text[k] > 0x20 && text[k] < 0x7f, HS_ERR_INPUT_KEY,
                      "the key type is not printable ASCII");
    }
    size_t b = t + strspn(text + t, " \t");
    size_t e = b + strcspn(text + b, " \t\r\n");
    HS_ENSURE_MSG(e <= n && e > b && (e - b) % 4 == 0, HS_ERR_INPUT_KEY,
                  "the key's base64 is missing or malformed");
    size_t pad = text[e - 1] == '=' ? (text[e - 2] == '=' ? 2 : 1) : 0;
    size_t dec = (e - b) / 4 * 3;
    unsigned char *p = NULL;
    HS_GUARD(hs_buf_reserve(blob, dec, &p));
    HS_ENSURE_MSG(EVP_DecodeBlock(p, (const unsigned char *)text + b, (int)(e - b)) == (int)dec,
                  HS_ERR_INPUT_KEY, "the key's base64 is malformed");
    HS_GUARD(hs_buf_commit(blob, dec - pad));
    struct hs_cursor c;
    const unsigned char *inner = NULL;
    size_t inner_len = 0;
    hs_cursor_init(&c, hs_buf_data(blob), hs_buf_len(blob));
    HS_ENSURE_MSG(!hs_failed(hs_sshkey_get_string(&c, &inner, &inner_len)) && inner_len == t &&
                      memcmp(inner, text, t) == 0,
                  HS_ERR_INPUT_KEY, "the key's blob is not of the type the line names");
    *type_out = text;
    *type_len = t;
    return HS_OK;
}

HS_RESULT hs_sshkey_cert_check(const char *cert_line, const struct hs_buf *key_blob)
{
    HS_ENSURE_REF(cert_line);
    HS_ENSURE_REF(key_blob);
    HS_DEFER(struct hs_buf *cblob = hs_buf_new(HS_SSHKEY_LINE_MAX), hs_buf_freep);
    HS_ENSURE(cblob != NULL, HS_ERR_NOMEM);
    const char *ctype = NULL;
    size_t ctype_len = 0;
    if (hs_failed(hs_sshkey_line_parse(cert_line, strlen(cert_line), &ctype, &ctype_len, cblob))) {
        HS_BAIL_MSG(HS_ERR_INPUT_FIELD, "the certificate is not an OpenSSH certificate line");
    }
    /* The key's type and fields. */
    struct hs_cursor k;
    const unsigned char *ktype = NULL;
    size_t ktype_len = 0;
    hs_cursor_init(&k, hs_buf_data(key_blob), hs_buf_len(key_blob));
    HS_GUARD(hs_sshkey_get_string(&k, &ktype, &ktype_len));
    size_t suffix = sizeof(HS_SSHKEY_CERT_SUFFIX) - 1;
    HS_ENSURE_MSG(ctype_len == ktype_len + suffix && memcmp(ctype, ktype, ktype_len) == 0 &&
                      memcmp(ctype + ktype_len, HS_SSHKEY_CERT_SUFFIX, suffix) == 0,
                  HS_ERR_INPUT_KEY, "the certificate is not of the key's type");
    /* PROTOCOL.certkeys: string type, string nonce, then the key's public fields. */
    struct hs_cursor c;
    const unsigned char *p = NULL;
    size_t n = 0;
    hs_cursor_init(&c, hs_buf_data(cblob), hs_buf_len(cblob));
    HS_GUARD(hs_sshkey_get_string(&c, &p, &n));
    HS_ENSURE_MSG(!hs_failed(hs_sshkey_get_string(&c, &p, &n)), HS_ERR_INPUT_FIELD,
                  "the certificate is truncated");
    size_t fields = hs_cursor_remaining(&k);
    HS_ENSURE_MSG(!hs_failed(hs_cursor_get(&c, fields, &p)) &&
                      memcmp(p, hs_buf_data(key_blob) + k.pos, fields) == 0,
                  HS_ERR_INPUT_KEY, "the certificate is for another public key");
    return HS_OK;
}

/* --- reading a private key file -------------------------------------------------------------- */

/* The base64 body between the PEM lines of text, decoded into out (sensitive). */
static HS_RESULT hs_sshkey_pem_decode(const char *text, size_t len, struct hs_buf *out)
{
    size_t b = sizeof(hs_sshkey_pem_begin) - 1;
    size_t e = sizeof(hs_sshkey_pem_end) - 1;
    HS_ENSURE_MSG(len > b + e && len <= 2 * HS_SSHKEY_PRIVATE_MAX &&
                      memcmp(text, hs_sshkey_pem_begin, b) == 0,
                  HS_ERR_INPUT_KEY, "not an OpenSSH private key file");
    const char *end = NULL;
    for (size_t k = b; k + e - 1 <= len; k++) {
        if (memcmp(text + k, hs_sshkey_pem_end, e - 1) == 0) { /* the end line, its '\n' aside */
            end = text + k;
            break;
        }
    }
    HS_ENSURE_MSG(end != NULL, HS_ERR_INPUT_KEY, "the private key file has no end line");
    size_t n = (size_t)(end - (text + b));
    HS_DEFER(EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new(), hs_sshkey_encode_ctx_freep);
    HS_ENSURE(ctx != NULL, HS_ERR_NOMEM);
    unsigned char *p = NULL;
    HS_GUARD(hs_buf_reserve(out, n, &p));
    int used = 0;
    int last = 0;
    EVP_DecodeInit(ctx);
    HS_ENSURE_MSG(n <= INT32_MAX &&
                      EVP_DecodeUpdate(ctx, p, &used, (const unsigned char *)text + b, (int)n) >=
                          0 &&
                      EVP_DecodeFinal(ctx, p + used, &last) == 1,
                  HS_ERR_INPUT_KEY, "the private key file's base64 is malformed");
    return hs_buf_commit(out, (size_t)used + (size_t)last);
}

static HS_RESULT hs_sshkey_expect(struct hs_cursor *c, const void *want, size_t n, const char *what)
{
    const unsigned char *p = NULL;
    size_t got = 0;
    HS_ENSURE_MSG(!hs_failed(hs_sshkey_get_string(c, &p, &got)) && got == n &&
                      (n == 0 || memcmp(p, want, n) == 0),
                  HS_ERR_INPUT_KEY, "the private key file: %s", what);
    return HS_OK;
}

/* Ed25519's private fields: string pub (the blob's), string seed || pub, and the seed derives
 * pub. c is after the key type. */
static HS_RESULT hs_sshkey_check_ed25519(struct hs_cursor *c, const unsigned char *pub)
{
    HS_GUARD(hs_sshkey_expect(c, pub, HS_SSHKEY_ED25519_LEN, "another Ed25519 public key"));
    const unsigned char *sk = NULL;
    size_t n = 0;
    HS_ENSURE_MSG(!hs_failed(hs_sshkey_get_string(c, &sk, &n)) && n == 2 * HS_SSHKEY_ED25519_LEN &&
                      memcmp(sk + HS_SSHKEY_ED25519_LEN, pub, HS_SSHKEY_ED25519_LEN) == 0,
                  HS_ERR_INPUT_KEY, "the private key file: a malformed Ed25519 key");
    HS_DEFER(EVP_PKEY *key =
                 EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk, HS_SSHKEY_ED25519_LEN),
             hs_sshkey_pkey_freep);
    HS_GUARD_OSSL_PTR(key, HS_ERR_CRYPTO);
    unsigned char derived[HS_SSHKEY_ED25519_LEN];
    HS_GUARD(hs_sshkey_ed25519_public(key, derived));
    HS_ENSURE_MSG(CRYPTO_memcmp(derived, pub, sizeof(derived)) == 0, HS_ERR_INPUT_KEY,
                  "the private key is not the public key's");
    return HS_OK;
}

static HS_RESULT hs_sshkey_get_bn(struct hs_cursor *c, BIGNUM **out)
{
    const unsigned char *p = NULL;
    size_t n = 0;
    HS_ENSURE_MSG(!hs_failed(hs_sshkey_get_string(c, &p, &n)) && n <= HS_SSHKEY_BLOB_MAX,
                  HS_ERR_INPUT_KEY, "the private key file: a malformed RSA key");
    *out = BN_bin2bn(p, (int)n, NULL);
    HS_GUARD_OSSL_PTR(*out, HS_ERR_CRYPTO);
    return HS_OK;
}

/* RSA's private fields: n, e (the blob's), d, iqmp, p, q with p * q = n. c is after the key
 * type; blob is after the blob's key type (e, n). */
static HS_RESULT hs_sshkey_check_rsa(struct hs_cursor *c, struct hs_cursor *blob)
{
    HS_DEFER(BIGNUM *n = NULL, hs_sshkey_bn_freep);
    HS_DEFER(BIGNUM *e = NULL, hs_sshkey_bn_freep);
    HS_DEFER(BIGNUM *d = NULL, hs_sshkey_bn_freep);
    HS_DEFER(BIGNUM *iqmp = NULL, hs_sshkey_bn_freep);
    HS_DEFER(BIGNUM *p = NULL, hs_sshkey_bn_freep);
    HS_DEFER(BIGNUM *q = NULL, hs_sshkey_bn_freep);
    HS_DEFER(BIGNUM *be = NULL, hs_sshkey_bn_freep);
    HS_DEFER(BIGNUM *bn = NULL, hs_sshkey_bn_freep);
    HS_DEFER(BIGNUM *pq = BN_secure_new(), hs_sshkey_bn_freep);
    HS_DEFER(BN_CTX *bctx = BN_CTX_secure_new(), hs_sshkey_bn_ctx_freep);
    HS_ENSURE(pq != NULL && bctx != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_sshkey_get_bn(c, &n));
    HS_GUARD(hs_sshkey_get_bn(c, &e));
    HS_GUARD(hs_sshkey_get_bn(c, &d));
    HS_GUARD(hs_sshkey_get_bn(c, &iqmp));
    HS_GUARD(hs_sshkey_get_bn(c, &p));
    HS_GUARD(hs_sshkey_get_bn(c, &q));
    HS_GUARD(hs_sshkey_get_bn(blob, &be));
    HS_GUARD(hs_sshkey_get_bn(blob, &bn));
    HS_ENSURE_MSG(BN_cmp(n, bn) == 0 && BN_cmp(e, be) == 0, HS_ERR_INPUT_KEY,
                  "the private key file holds another RSA public key");
    HS_GUARD_OSSL(BN_mul(pq, p, q, bctx), HS_ERR_CRYPTO);
    HS_ENSURE_MSG(BN_cmp(pq, n) == 0, HS_ERR_INPUT_KEY, "the private key is not the public key's");
    return HS_OK;
}

HS_RESULT hs_sshkey_private_check(const char *text, size_t len, const struct hs_buf *key_blob)
{
    HS_ENSURE_REF(text);
    HS_ENSURE_REF(key_blob);
    HS_DEFER(struct hs_buf *raw = hs_buf_new_sensitive(2 * HS_SSHKEY_PRIVATE_MAX), hs_buf_freep);
    HS_ENSURE(raw != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_sshkey_pem_decode(text, len, raw));
    struct hs_cursor c;
    const unsigned char *p = NULL;
    size_t n = 0;
    hs_cursor_init(&c, hs_buf_data(raw), hs_buf_len(raw));
    HS_ENSURE_MSG(!hs_failed(hs_cursor_get(&c, sizeof(hs_sshkey_magic), &p)) &&
                      memcmp(p, hs_sshkey_magic, sizeof(hs_sshkey_magic)) == 0,
                  HS_ERR_INPUT_KEY, "not an openssh-key-v1 container");
    HS_GUARD(hs_sshkey_expect(&c, "none", 4, "encrypted (cipher other than none)"));
    HS_GUARD(hs_sshkey_expect(&c, "none", 4, "encrypted (KDF other than none)"));
    HS_GUARD(hs_sshkey_expect(&c, "", 0, "KDF options"));
    HS_ENSURE_MSG(!hs_failed(hs_sshkey_get_u32(&c, &n)) && n == 1, HS_ERR_INPUT_KEY,
                  "the private key file does not hold one key");
    HS_GUARD(hs_sshkey_expect(&c, hs_buf_data(key_blob), hs_buf_len(key_blob),
                              "the public key is another"));
    HS_ENSURE_MSG(!hs_failed(hs_sshkey_get_string(&c, &p, &n)), HS_ERR_INPUT_KEY,
                  "the private key file is truncated");
    struct hs_cursor priv;
    hs_cursor_init(&priv, p, n);
    const unsigned char *check = NULL;
    HS_ENSURE_MSG(!hs_failed(hs_cursor_get(&priv, 8, &check)) && memcmp(check, check + 4, 4) == 0,
                  HS_ERR_INPUT_KEY, "the private key file's check integers differ");
    struct hs_cursor blob;
    const unsigned char *type = NULL;
    size_t type_len = 0;
    hs_cursor_init(&blob, hs_buf_data(key_blob), hs_buf_len(key_blob));
    HS_GUARD(hs_sshkey_get_string(&blob, &type, &type_len));
    HS_GUARD(hs_sshkey_expect(&priv, type, type_len, "a key of another type"));
    if (type_len == 11 && memcmp(type, "ssh-ed25519", 11) == 0) {
        const unsigned char *pub = NULL;
        size_t pub_len = 0;
        HS_ENSURE_MSG(!hs_failed(hs_sshkey_get_string(&blob, &pub, &pub_len)) &&
                          pub_len == HS_SSHKEY_ED25519_LEN,
                      HS_ERR_INPUT_KEY, "a malformed Ed25519 public key");
        return hs_sshkey_check_ed25519(&priv, pub);
    }
    HS_ENSURE_MSG(type_len == 7 && memcmp(type, "ssh-rsa", 7) == 0, HS_ERR_INPUT_KEY,
                  "only Ed25519 and RSA private keys are checked");
    return hs_sshkey_check_rsa(&priv, &blob);
}
