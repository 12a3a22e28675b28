#include "signer/sgn_ssh_key.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include "common/hs_defer.h"
#include "signer/sgn_ssh_wire.h"

#define SGN_SSH_TYPE_NAME_MAX 64
#define SGN_SSH_EC_POINT_MAX (1 + 2 * 66) /* uncompressed P-521 point */
#define SGN_SSH_RSA_E_MAX 8               /* bytes of an exponent we look at (65537 only) */

struct sgn_ssh_type_entry {
    enum sgn_ssh_key_type type;
    const char *name;
    const char *cert_name;
    const char *curve; /* RFC 5656 §6.1 curve identifier in the blob; NULL for non-ECDSA */
    const char *group; /* OpenSSL group name */
    unsigned int bits;
    bool sk;
};

static const struct sgn_ssh_type_entry sgn_ssh_types[] = {
    {SGN_SSH_KEY_ED25519, "ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com", NULL, NULL, 256,
     false},
    {SGN_SSH_KEY_ECDSA_P256, "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256-cert-v01@openssh.com",
     "nistp256", "prime256v1", 256, false},
    {SGN_SSH_KEY_ECDSA_P384, "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384-cert-v01@openssh.com",
     "nistp384", "secp384r1", 384, false},
    {SGN_SSH_KEY_ECDSA_P521, "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521-cert-v01@openssh.com",
     "nistp521", "secp521r1", 521, false},
    {SGN_SSH_KEY_RSA, "ssh-rsa", "ssh-rsa-cert-v01@openssh.com", NULL, NULL, 0, false},
    {SGN_SSH_KEY_SK_ECDSA_P256, "sk-ecdsa-sha2-nistp256@openssh.com",
     "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", "nistp256", "prime256v1", 256, true},
    {SGN_SSH_KEY_SK_ED25519, "sk-ssh-ed25519@openssh.com", "sk-ssh-ed25519-cert-v01@openssh.com",
     NULL, NULL, 256, true},
};

#define SGN_SSH_TYPES_N (sizeof(sgn_ssh_types) / sizeof(sgn_ssh_types[0]))

struct sgn_ssh_key {
    const struct sgn_ssh_type_entry *entry;
    unsigned int bits;
    struct hs_buf *blob;
    EVP_PKEY *pkey;
};

static const struct sgn_ssh_type_entry *sgn_ssh_type_find(const unsigned char *name, size_t n)
{
    for (size_t i = 0; i < SGN_SSH_TYPES_N; i++) {
        if (sgn_ssh_eq(name, n, sgn_ssh_types[i].name)) {
            return &sgn_ssh_types[i];
        }
    }
    return NULL;
}

const char *sgn_ssh_key_type_name(enum sgn_ssh_key_type type)
{
    return (size_t)type < SGN_SSH_TYPES_N ? sgn_ssh_types[type].name : "unknown";
}

const char *sgn_ssh_key_cert_type_name(enum sgn_ssh_key_type type)
{
    return (size_t)type < SGN_SSH_TYPES_N ? sgn_ssh_types[type].cert_name : "unknown";
}

void sgn_ssh_key_free(struct sgn_ssh_key *k)
{
    if (k != NULL) {
        hs_buf_free(k->blob);
        EVP_PKEY_free(k->pkey);
        OPENSSL_free(k);
    }
}

void sgn_ssh_key_freep(struct sgn_ssh_key **k)
{
    sgn_ssh_key_free(*k);
}

enum sgn_ssh_key_type sgn_ssh_key_type(const struct sgn_ssh_key *k)
{
    return k->entry->type;
}

unsigned int sgn_ssh_key_bits(const struct sgn_ssh_key *k)
{
    return k->bits;
}

const unsigned char *sgn_ssh_key_blob(const struct sgn_ssh_key *k, size_t *out_len)
{
    *out_len = hs_buf_len(k->blob);
    return hs_buf_data(k->blob);
}

EVP_PKEY *sgn_ssh_key_get0_pkey(const struct sgn_ssh_key *k)
{
    return k->pkey;
}

/* --- parsing -------------------------------------------------------------------------------- */

static void sgn_param_bld_freep(OSSL_PARAM_BLD **p)
{
    OSSL_PARAM_BLD_free(*p);
}

/* Imports params as a public key of algorithm name; for EC also runs OpenSSL's public key check
 * (the point is on the curve, not at infinity, of the group's order). Not for RSA: OpenSSL's RSA
 * public check (SP 800-56B 6.4.2.1) runs an enhanced Miller-Rabin test with random bases, so a
 * junk modulus passed or failed at random (found by ssh_key_fuzz); RSA keys get only the
 * deterministic checks of sgn_ssh_parse_rsa. */
static HS_RESULT sgn_ssh_pkey_import(const char *name, OSSL_PARAM_BLD *bld, const char *what,
                                     EVP_PKEY **out)
{
    bool ec = strcmp(name, "EC") == 0;
    HS_DEFER(OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld), hs_ossl_param_freep);
    HS_ENSURE(params != NULL, HS_ERR_NOMEM);
    HS_DEFER(EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL),
             hs_evp_pkey_ctx_freep);
    HS_ENSURE(ctx != NULL, HS_ERR_NOMEM);
    HS_DEFER(EVP_PKEY *pkey = NULL, hs_evp_pkey_freep);
    int ok = EVP_PKEY_fromdata_init(ctx) == 1 &&
             EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
    if (ok && ec) {
        HS_DEFER(EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL),
                 hs_evp_pkey_ctx_freep);
        ok = check != NULL && EVP_PKEY_public_check(check) == 1;
    }
    ERR_clear_error();
    HS_ENSURE_MSG(ok, HS_ERR_INPUT_KEY, "%s", what);
    *out = pkey;
    pkey = NULL;
    return HS_OK;
}

static HS_RESULT sgn_ssh_parse_ed25519(struct hs_cursor *c, struct sgn_ssh_key *k)
{
    const unsigned char *pk = NULL;
    size_t n = 0;
    HS_GUARD(sgn_ssh_get_string(c, "Ed25519 key", 32, &pk, &n));
    HS_ENSURE_MSG(n == 32, HS_ERR_INPUT_KEY, "an Ed25519 key is 32 bytes, not %zu (RFC 8709 §4)",
                  n);
    k->pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pk, n);
    ERR_clear_error();
    HS_ENSURE_MSG(k->pkey != NULL, HS_ERR_INPUT_KEY, "the Ed25519 key does not import");
    k->bits = 256;
    return HS_OK;
}

static HS_RESULT sgn_ssh_parse_ecdsa(struct hs_cursor *c, struct sgn_ssh_key *k)
{
    const unsigned char *curve = NULL;
    size_t curve_len = 0;
    HS_GUARD(sgn_ssh_get_string(c, "ECDSA curve", SGN_SSH_TYPE_NAME_MAX, &curve, &curve_len));
    HS_ENSURE_MSG(sgn_ssh_eq(curve, curve_len, k->entry->curve), HS_ERR_INPUT_KEY,
                  "the curve identifier does not match the key type %s (RFC 5656 §3.1)",
                  k->entry->name);
    const unsigned char *q = NULL;
    size_t n = 0;
    HS_GUARD(sgn_ssh_get_string(c, "ECDSA point", SGN_SSH_EC_POINT_MAX, &q, &n));
    size_t coord = (k->entry->bits + 7) / 8;
    HS_ENSURE_MSG(n == 1 + 2 * coord && q[0] == 0x04, HS_ERR_INPUT_KEY,
                  "the ECDSA point is not an uncompressed %s point (SEC 1 §2.3.3)",
                  k->entry->curve);
    HS_DEFER(OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new(), sgn_param_bld_freep);
    HS_ENSURE(bld != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, k->entry->group, 0),
        HS_ERR_NOMEM);
    HS_GUARD_OSSL(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q, n),
                  HS_ERR_NOMEM);
    HS_GUARD(sgn_ssh_pkey_import("EC", bld, "the ECDSA point is not on the curve", &k->pkey));
    k->bits = k->entry->bits;
    return HS_OK;
}

static HS_RESULT sgn_ssh_parse_rsa(struct hs_cursor *c, struct sgn_ssh_key *k)
{
    const unsigned char *e = NULL;
    size_t e_len = 0;
    const unsigned char *n = NULL;
    size_t n_len = 0;
    HS_GUARD(sgn_ssh_get_mpint_pos(c, "RSA exponent", SGN_SSH_RSA_BITS_MAX / 8, &e, &e_len));
    HS_GUARD(sgn_ssh_get_mpint_pos(c, "RSA modulus", SGN_SSH_RSA_BITS_MAX / 8, &n, &n_len));
    /* As sgn_spki's default range: 65537 only. */
    static const unsigned char f4[] = {0x01, 0x00, 0x01};
    HS_ENSURE_MSG(e_len == sizeof(f4) && memcmp(e, f4, sizeof(f4)) == 0, HS_ERR_INPUT_KEY,
                  "RSA public exponent must be 65537");
    HS_DEFER(BIGNUM *bn_n = BN_bin2bn(n, (int)n_len, NULL), hs_bn_freep);
    HS_DEFER(BIGNUM *bn_e = BN_bin2bn(e, (int)e_len, NULL), hs_bn_freep);
    HS_ENSURE(bn_n != NULL && bn_e != NULL, HS_ERR_NOMEM);
    int bits = BN_num_bits(bn_n);
    HS_ENSURE_MSG(bits >= SGN_SSH_RSA_BITS_MIN && bits <= SGN_SSH_RSA_BITS_MAX, HS_ERR_INPUT_KEY,
                  "RSA keys need %d..%d bits, not %d", SGN_SSH_RSA_BITS_MIN, SGN_SSH_RSA_BITS_MAX,
                  bits);
    HS_ENSURE_MSG(BN_is_odd(bn_n), HS_ERR_INPUT_KEY, "the RSA modulus is even");
    HS_DEFER(OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new(), sgn_param_bld_freep);
    HS_ENSURE(bld != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n), HS_ERR_NOMEM);
    HS_GUARD_OSSL(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e), HS_ERR_NOMEM);
    HS_GUARD(sgn_ssh_pkey_import("RSA", bld, "the RSA key does not import", &k->pkey));
    k->bits = (unsigned int)bits;
    return HS_OK;
}

static HS_RESULT sgn_ssh_parse_fields(struct hs_cursor *c, struct sgn_ssh_key *k)
{
    switch (k->entry->type) {
    case SGN_SSH_KEY_ED25519:
    case SGN_SSH_KEY_SK_ED25519:
        HS_GUARD(sgn_ssh_parse_ed25519(c, k));
        break;
    case SGN_SSH_KEY_ECDSA_P256:
    case SGN_SSH_KEY_ECDSA_P384:
    case SGN_SSH_KEY_ECDSA_P521:
    case SGN_SSH_KEY_SK_ECDSA_P256:
        HS_GUARD(sgn_ssh_parse_ecdsa(c, k));
        break;
    case SGN_SSH_KEY_RSA:
        HS_GUARD(sgn_ssh_parse_rsa(c, k));
        break;
    default:
        HS_BAIL(HS_ERR_INTERNAL);
    }
    if (k->entry->sk) {
        /* PROTOCOL.u2f: the FIDO application (relying party id), usually "ssh:". */
        const unsigned char *app = NULL;
        size_t app_len = 0;
        HS_GUARD(sgn_ssh_get_string(c, "sk application", SGN_SSH_SK_APP_MAX, &app, &app_len));
        HS_ENSURE_MSG(app_len > 0, HS_ERR_INPUT_KEY, "empty sk application");
    }
    return HS_OK;
}

static HS_RESULT sgn_ssh_type_check(const unsigned char *name, size_t n,
                                    const struct sgn_ssh_type_entry **out)
{
    HS_ENSURE_MSG(!sgn_ssh_eq(name, n, "ssh-dss"), HS_ERR_INPUT_KEY,
                  "DSA keys (ssh-dss) are not accepted");
    static const char cert_suffix[] = "-cert-v01@openssh.com";
    size_t sl = sizeof(cert_suffix) - 1;
    HS_ENSURE_MSG(n < sl || memcmp(name + n - sl, cert_suffix, sl) != 0, HS_ERR_INPUT_KEY,
                  "a certificate is not a public key");
    const struct sgn_ssh_type_entry *e = sgn_ssh_type_find(name, n);
    HS_ENSURE_MSG(e != NULL, HS_ERR_INPUT_KEY,
                  "key type not accepted (ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa, "
                  "sk-ecdsa-sha2-nistp256@openssh.com, sk-ssh-ed25519@openssh.com)");
    *out = e;
    return HS_OK;
}

HS_RESULT sgn_ssh_key_parse_blob(const unsigned char *blob, size_t len, struct sgn_ssh_key **out)
{
    HS_ENSURE_REF(blob);
    HS_ENSURE_MSG(len <= SGN_SSH_KEY_BLOB_MAX, HS_ERR_INPUT_TOO_LARGE,
                  "public key blob longer than %d bytes", SGN_SSH_KEY_BLOB_MAX);
    struct hs_cursor c;
    hs_cursor_init(&c, blob, len);
    const unsigned char *name = NULL;
    size_t name_len = 0;
    HS_GUARD(sgn_ssh_get_string(&c, "key type", SGN_SSH_TYPE_NAME_MAX, &name, &name_len));
    HS_DEFER(struct sgn_ssh_key *k = OPENSSL_zalloc(sizeof(*k)), sgn_ssh_key_freep);
    HS_ENSURE(k != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_ssh_type_check(name, name_len, &k->entry));
    HS_GUARD(sgn_ssh_parse_fields(&c, k));
    HS_ENSURE_MSG(hs_cursor_remaining(&c) == 0, HS_ERR_INPUT_KEY,
                  "%zu trailing bytes after the key's fields", hs_cursor_remaining(&c));
    k->blob = hs_buf_new(SGN_SSH_KEY_BLOB_MAX);
    HS_ENSURE(k->blob != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put(k->blob, blob, len));
    *out = k;
    k = NULL;
    return HS_OK;
}

static bool sgn_b64_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '+' || ch == '/';
}

HS_RESULT sgn_ssh_b64_decode(const char *in, size_t len, unsigned char *out, size_t max,
                             size_t *out_len)
{
    HS_ENSURE_MSG(len > 0 && len % 4 == 0, HS_ERR_INPUT_KEY,
                  "the key is not base64 (length not a multiple of 4)");
    HS_ENSURE_MSG(len / 4 * 3 <= max, HS_ERR_INPUT_TOO_LARGE, "the key is longer than %zu bytes",
                  max);
    size_t pad = in[len - 1] == '=' ? (in[len - 2] == '=' ? 2 : 1) : 0;
    for (size_t i = 0; i < len - pad; i++) {
        HS_ENSURE_MSG(sgn_b64_char(in[i]), HS_ERR_INPUT_KEY,
                      "the key is not base64 (bad character at offset %zu)", i);
    }
    unsigned char tmp[SGN_SSH_LINE_MAX];
    HS_ENSURE(len / 4 * 3 <= sizeof(tmp), HS_ERR_INPUT_TOO_LARGE);
    int n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
    ERR_clear_error();
    HS_ENSURE_MSG(n >= 0 && (size_t)n >= pad, HS_ERR_INPUT_KEY, "the key is not base64");
    size_t got = (size_t)n - pad;
    /* Only the canonical encoding (RFC 4648 §3.5: pad bits zero) is one key's only spelling. */
    char again[SGN_SSH_LINE_MAX + 1];
    HS_ENSURE(len < sizeof(again), HS_ERR_INPUT_TOO_LARGE);
    int m = EVP_EncodeBlock((unsigned char *)again, tmp, (int)got);
    HS_ENSURE_MSG(m >= 0 && (size_t)m == len && memcmp(again, in, len) == 0, HS_ERR_INPUT_KEY,
                  "the key is not canonical base64");
    memcpy(out, tmp, got);
    *out_len = got;
    return HS_OK;
}

static bool sgn_ssh_ws(char ch)
{
    return ch == ' ' || ch == '\t';
}

static HS_RESULT sgn_ssh_comment_check(const char *s, size_t n)
{
    HS_ENSURE_MSG(n <= SGN_SSH_COMMENT_MAX, HS_ERR_INPUT_FIELD, "comment longer than %d bytes",
                  SGN_SSH_COMMENT_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        HS_ENSURE_MSG(ch >= 0x20 && ch != 0x7f, HS_ERR_INPUT_FIELD,
                      "comment holds a control character");
    }
    return HS_OK;
}

HS_RESULT sgn_ssh_key_parse_line(const char *line, size_t len, struct sgn_ssh_key **out)
{
    HS_ENSURE_REF(line);
    HS_ENSURE_MSG(len <= SGN_SSH_LINE_MAX, HS_ERR_INPUT_TOO_LARGE,
                  "public key line longer than %d bytes", SGN_SSH_LINE_MAX);
    if (len > 0 && line[len - 1] == '\n') {
        len--;
        len -= len > 0 && line[len - 1] == '\r' ? 1 : 0;
    }
    size_t t = 0;
    while (t < len && !sgn_ssh_ws(line[t])) {
        t++;
    }
    HS_ENSURE_MSG(t > 0 && t <= SGN_SSH_TYPE_NAME_MAX && t < len, HS_ERR_INPUT_KEY,
                  "not an OpenSSH public key line (\"type base64 [comment]\")");
    size_t b = t;
    while (b < len && sgn_ssh_ws(line[b])) {
        b++;
    }
    size_t e = b;
    while (e < len && !sgn_ssh_ws(line[e])) {
        e++;
    }
    size_t c = e;
    while (c < len && sgn_ssh_ws(line[c])) {
        c++;
    }
    HS_GUARD(hs_error_context(sgn_ssh_comment_check(line + c, len - c), "public key line"));
    HS_ENSURE_MSG(memchr(line, '\0', len) == NULL, HS_ERR_INPUT_KEY, "NUL byte in the key line");
    unsigned char blob[SGN_SSH_KEY_BLOB_MAX];
    size_t blob_len = 0;
    HS_GUARD(sgn_ssh_b64_decode(line + b, e - b, blob, sizeof(blob), &blob_len));
    /* The blob's own type first, so a DSA key gets its own error, not a mismatch. */
    struct hs_cursor cur;
    hs_cursor_init(&cur, blob, blob_len);
    const unsigned char *name = NULL;
    size_t name_len = 0;
    HS_GUARD(sgn_ssh_get_string(&cur, "key type", SGN_SSH_TYPE_NAME_MAX, &name, &name_len));
    const struct sgn_ssh_type_entry *entry = NULL;
    HS_GUARD(sgn_ssh_type_check(name, name_len, &entry));
    HS_ENSURE_MSG(name_len == t && memcmp(name, line, t) == 0, HS_ERR_INPUT_KEY,
                  "the line's key type does not match the key's (%s)", entry->name);
    return sgn_ssh_key_parse_blob(blob, blob_len, out);
}

/* --- encoding ------------------------------------------------------------------------------- */

static HS_RESULT sgn_ssh_blob_ec(EVP_PKEY *pub, struct hs_buf *blob)
{
    char group[32] = "";
    size_t glen = 0;
    HS_GUARD_OSSL(EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                                 sizeof(group), &glen),
                  HS_ERR_INPUT_KEY);
    int nid = OBJ_sn2nid(group);
    if (nid == NID_undef) {
        nid = EC_curve_nist2nid(group);
    }
    const struct sgn_ssh_type_entry *e = nid == NID_X9_62_prime256v1 ? &sgn_ssh_types[1]
                                         : nid == NID_secp384r1      ? &sgn_ssh_types[2]
                                         : nid == NID_secp521r1      ? &sgn_ssh_types[3]
                                                                     : NULL;
    HS_ENSURE_MSG(e != NULL, HS_ERR_INPUT_KEY, "EC curve %s has no OpenSSH key type", group);
    unsigned char q[SGN_SSH_EC_POINT_MAX];
    size_t qlen = 0;
    HS_GUARD_OSSL(EVP_PKEY_get_octet_string_param(pub, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, q,
                                                  sizeof(q), &qlen),
                  HS_ERR_CRYPTO);
    HS_GUARD(sgn_ssh_put_cstring(blob, e->name));
    HS_GUARD(sgn_ssh_put_cstring(blob, e->curve));
    return sgn_ssh_put_string(blob, q, qlen);
}

static HS_RESULT sgn_ssh_put_bn(EVP_PKEY *pub, const char *param, struct hs_buf *blob)
{
    HS_DEFER(BIGNUM *bn = NULL, hs_bn_freep);
    HS_GUARD_OSSL(EVP_PKEY_get_bn_param(pub, param, &bn), HS_ERR_CRYPTO);
    unsigned char raw[SGN_SSH_RSA_BITS_MAX / 8];
    HS_ENSURE_MSG(BN_num_bytes(bn) <= (int)sizeof(raw), HS_ERR_INPUT_KEY,
                  "RSA key larger than %d bits", SGN_SSH_RSA_BITS_MAX);
    int n = BN_bn2bin(bn, raw);
    HS_ENSURE(n >= 0, HS_ERR_CRYPTO);
    return sgn_ssh_put_mpint(blob, raw, (size_t)n);
}

HS_RESULT sgn_ssh_key_from_pkey(EVP_PKEY *pub, struct sgn_ssh_key **out)
{
    HS_ENSURE_REF(pub);
    HS_DEFER(struct hs_buf *blob = hs_buf_new(SGN_SSH_KEY_BLOB_MAX), hs_buf_freep);
    HS_ENSURE(blob != NULL, HS_ERR_NOMEM);
    if (EVP_PKEY_is_a(pub, "ED25519")) {
        unsigned char raw[32];
        size_t n = sizeof(raw);
        HS_GUARD_OSSL(EVP_PKEY_get_raw_public_key(pub, raw, &n), HS_ERR_CRYPTO);
        HS_GUARD(sgn_ssh_put_cstring(blob, "ssh-ed25519"));
        HS_GUARD(sgn_ssh_put_string(blob, raw, n));
    } else if (EVP_PKEY_is_a(pub, "EC")) {
        HS_GUARD(sgn_ssh_blob_ec(pub, blob));
    } else if (EVP_PKEY_is_a(pub, "RSA")) {
        HS_GUARD(sgn_ssh_put_cstring(blob, "ssh-rsa"));
        /* RFC 4253 §6.6: e before n. */
        HS_GUARD(sgn_ssh_put_bn(pub, OSSL_PKEY_PARAM_RSA_E, blob));
        HS_GUARD(sgn_ssh_put_bn(pub, OSSL_PKEY_PARAM_RSA_N, blob));
    } else {
        HS_BAIL_MSG(HS_ERR_INPUT_KEY, "key type has no OpenSSH form here (Ed25519, EC, RSA)");
    }
    /* Parsed back: the encoded key passes the same checks as a received one. */
    return sgn_ssh_key_parse_blob(hs_buf_data(blob), hs_buf_len(blob), out);
}

static HS_RESULT sgn_ssh_put_b64(struct hs_buf *out, const unsigned char *p, size_t n)
{
    HS_ENSURE(n <= SGN_SSH_LINE_MAX, HS_ERR_BOUNDS);
    size_t need = 4 * ((n + 2) / 3) + 1; /* EVP_EncodeBlock writes a NUL */
    unsigned char *dst = NULL;
    HS_GUARD(hs_buf_reserve(out, need, &dst));
    int m = EVP_EncodeBlock(dst, p, (int)n);
    HS_ENSURE(m >= 0 && (size_t)m < need, HS_ERR_CRYPTO);
    return hs_buf_commit(out, (size_t)m);
}

HS_RESULT sgn_ssh_line_write(const char *name, const unsigned char *blob, size_t len,
                             const char *comment, struct hs_buf *out)
{
    HS_ENSURE_REF(name);
    HS_ENSURE_REF(blob);
    size_t clen = comment != NULL ? strnlen(comment, SGN_SSH_COMMENT_MAX + 1) : 0;
    HS_GUARD(sgn_ssh_comment_check(comment, clen));
    HS_GUARD(hs_buf_put_str(out, name));
    HS_GUARD(hs_buf_put_byte(out, ' '));
    HS_GUARD(sgn_ssh_put_b64(out, blob, len));
    if (clen > 0) {
        HS_GUARD(hs_buf_put_byte(out, ' '));
        HS_GUARD(hs_buf_put(out, comment, clen));
    }
    return HS_OK;
}

HS_RESULT sgn_ssh_key_to_line(const struct sgn_ssh_key *k, const char *comment, struct hs_buf *out)
{
    HS_ENSURE_REF(k);
    return sgn_ssh_line_write(k->entry->name, hs_buf_data(k->blob), hs_buf_len(k->blob), comment,
                              out);
}

HS_RESULT sgn_ssh_key_fingerprint(const struct sgn_ssh_key *k,
                                  char out[SGN_SSH_FINGERPRINT_LEN + 1])
{
    HS_ENSURE_REF(k);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    HS_ENSURE(SHA256(hs_buf_data(k->blob), hs_buf_len(k->blob), digest) != NULL, HS_ERR_CRYPTO);
    unsigned char b64[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];
    int m = EVP_EncodeBlock(b64, digest, sizeof(digest));
    /* 32 bytes give 44 characters, the last one "=": OpenSSH drops the padding. */
    HS_ENSURE(m == 44 && b64[43] == '=', HS_ERR_CRYPTO);
    memcpy(out, "SHA256:", 7);
    memcpy(out + 7, b64, 43);
    out[SGN_SSH_FINGERPRINT_LEN] = '\0';
    return HS_OK;
}
