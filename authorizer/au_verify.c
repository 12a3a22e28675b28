#include "authorizer/au_verify.h"

#include <math.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "authorizer/au_json.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"

#define AU_HEADER_MAX 1024 /* bytes of a decoded JOSE header */
#define AU_SIG_MAX 1024    /* bytes of a decoded signature (RSA 8192) */

HS_DEFINE_FREEP(au_ecdsa_sig_freep, ECDSA_SIG, ECDSA_SIG_free)

const char *au_reason_name(enum au_reason r)
{
    static const char *const names[] = {
        "ok",
        "token_missing",
        "token_malformed",
        "alg_refused",
        "crit_refused",
        "kid_unknown",
        "key_mismatch",
        "signature_invalid",
        "claims_invalid",
        "expired",
        "not_yet_valid",
        "issued_in_future",
        "issuer_mismatch",
        "audience_mismatch",
        "scope_missing",
        "cnf_missing",
        "cnf_mismatch",
        "certificate_revoked",
        "certificate_status_unknown",
        "jwks_unavailable",
        "event_invalid",
        "internal",
    };
    size_t i = (size_t)r;
    return i < sizeof(names) / sizeof(names[0]) ? names[i] : "internal";
}

void au_jws_clear(struct au_jws *jws)
{
    hs_buf_free(jws->payload);
    hs_buf_free(jws->sig);
    memset(jws, 0, sizeof(*jws));
}

/* The header: alg in the allow-list, kid, no crit. */
static enum au_reason au_jws_header(const struct hs_buf *h, unsigned int algs, struct au_jws *jws)
{
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    if (hs_failed(
            au_json_parse((const char *)hs_buf_data(h), hs_buf_len(h), AU_HEADER_MAX, &doc))) {
        return AU_TOKEN_MALFORMED;
    }
    json_object *v = NULL;
    if (!json_object_object_get_ex(doc, "alg", &v) || !json_object_is_type(v, json_type_string)) {
        return AU_TOKEN_MALFORMED;
    }
    unsigned int alg = au_alg_from_name(json_object_get_string(v));
    if (alg == 0 || (alg & algs) == 0) {
        return AU_ALG_REFUSED;
    }
    if (json_object_object_get_ex(doc, "crit", NULL)) {
        return AU_CRIT_REFUSED;
    }
    if (!json_object_object_get_ex(doc, "kid", &v) || !json_object_is_type(v, json_type_string)) {
        return AU_TOKEN_MALFORMED;
    }
    size_t kl = (size_t)json_object_get_string_len(v);
    const char *kid = json_object_get_string(v);
    if (kl == 0 || kl > AU_KID_MAX || strlen(kid) != kl) {
        return AU_TOKEN_MALFORMED;
    }
    memcpy(jws->kid, kid, kl + 1);
    jws->alg = alg;
    return AU_OK;
}

enum au_reason au_jws_parse(const char *token, size_t len, unsigned int algs, struct au_jws *jws)
{
    memset(jws, 0, sizeof(*jws));
    if (token == NULL || len == 0 || len > AU_TOKEN_MAX) {
        return AU_TOKEN_MALFORMED;
    }
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 =
        dot1 != NULL ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL) {
        return AU_TOKEN_MALFORMED;
    }
    HS_DEFER(struct hs_buf *header = hs_buf_new(AU_HEADER_MAX), hs_buf_freep);
    jws->payload = hs_buf_new(AU_TOKEN_MAX);
    jws->sig = hs_buf_new(AU_SIG_MAX);
    if (header == NULL || jws->payload == NULL || jws->sig == NULL) {
        return AU_INTERNAL;
    }
    size_t hl = (size_t)(dot1 - token);
    size_t pl = (size_t)(dot2 - dot1 - 1);
    size_t sl = len - (size_t)(dot2 + 1 - token);
    /* The header first: "alg": "none" (with or without a signature) is refused as such. */
    if (hl == 0 || pl == 0 || hs_failed(au_b64url_decode(token, hl, header)) ||
        hs_failed(au_b64url_decode(dot1 + 1, pl, jws->payload))) {
        hs_error_clear();
        return AU_TOKEN_MALFORMED;
    }
    enum au_reason r = au_jws_header(header, algs, jws);
    hs_error_clear();
    if (r != AU_OK) {
        return r;
    }
    if (sl == 0 || hs_failed(au_b64url_decode(dot2 + 1, sl, jws->sig))) {
        hs_error_clear();
        return AU_TOKEN_MALFORMED;
    }
    jws->signing_input = token;
    jws->signing_input_len = (size_t)(dot2 - token);
    return r;
}

/* R || S (RFC 7518 §3.4) into DER ECDSA-Sig-Value for EVP. */
static HS_RESULT au_ecdsa_der(const struct hs_buf *sig, size_t half, struct hs_buf *out)
{
    HS_ENSURE(hs_buf_len(sig) == 2 * half, HS_ERR_INPUT);
    HS_DEFER(ECDSA_SIG *es = ECDSA_SIG_new(), au_ecdsa_sig_freep);
    HS_ENSURE(es != NULL, HS_ERR_NOMEM);
    BIGNUM *r = BN_bin2bn(hs_buf_data(sig), (int)half, NULL);
    BIGNUM *s = BN_bin2bn(hs_buf_data(sig) + half, (int)half, NULL);
    if (r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        HS_BAIL(HS_ERR_NOMEM);
    }
    int n = i2d_ECDSA_SIG(es, NULL);
    HS_ENSURE(n > 0, HS_ERR_CRYPTO);
    unsigned char *p = NULL;
    HS_GUARD(hs_buf_reserve(out, (size_t)n, &p));
    HS_ENSURE(i2d_ECDSA_SIG(es, &p) == n, HS_ERR_CRYPTO);
    HS_GUARD(hs_buf_commit(out, (size_t)n));
    return HS_OK;
}

enum au_reason au_jws_verify(const struct au_jws *jws, EVP_PKEY *pkey)
{
    const EVP_MD *md = jws->alg == AU_ALG_ES384   ? EVP_sha384()
                       : jws->alg == AU_ALG_EDDSA ? NULL
                                                  : EVP_sha256();
    HS_DEFER(struct hs_buf *der = hs_buf_new(AU_SIG_MAX), hs_buf_freep);
    HS_DEFER(EVP_MD_CTX *ctx = EVP_MD_CTX_new(), hs_evp_md_ctx_freep);
    if (der == NULL || ctx == NULL) {
        return AU_INTERNAL;
    }
    const struct hs_buf *sig = jws->sig;
    if (jws->alg == AU_ALG_ES256 || jws->alg == AU_ALG_ES384) {
        if (hs_failed(au_ecdsa_der(jws->sig, jws->alg == AU_ALG_ES256 ? 32 : 48, der))) {
            hs_error_clear();
            return AU_SIGNATURE_INVALID;
        }
        sig = der;
    }
    EVP_PKEY_CTX *pctx = NULL;
    int ok = EVP_DigestVerifyInit(ctx, &pctx, md, NULL, pkey) == 1;
    if (ok && jws->alg == AU_ALG_PS256) {
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1;
    } else if (ok && jws->alg == AU_ALG_RS256) {
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
    }
    ok = ok &&
         EVP_DigestVerify(ctx, hs_buf_data(sig), hs_buf_len(sig),
                          (const unsigned char *)jws->signing_input, jws->signing_input_len) == 1;
    ERR_clear_error();
    return ok ? AU_OK : AU_SIGNATURE_INVALID;
}

/* A NumericDate claim (RFC 7519 §2): an integer, or a finite number (its floor). *present is
 * false when absent; false is returned for a wrong type. */
static bool au_claim_time(json_object *claims, const char *key, bool *present, long long *out)
{
    json_object *v = NULL;
    *present = json_object_object_get_ex(claims, key, &v);
    if (!*present) {
        return true;
    }
    if (json_object_is_type(v, json_type_int)) {
        *out = (long long)json_object_get_int64(v);
        return true;
    }
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        if (!isfinite(d) || d < -1e15 || d > 1e15) {
            return false;
        }
        *out = (long long)floor(d);
        return true;
    }
    return false;
}

static enum au_reason au_claims_times(json_object *claims, long leeway, time_t now)
{
    bool has_exp = false;
    bool has_nbf = false;
    bool has_iat = false;
    long long exp = 0;
    long long nbf = 0;
    long long iat = 0;
    if (!au_claim_time(claims, "exp", &has_exp, &exp) || !has_exp ||
        !au_claim_time(claims, "nbf", &has_nbf, &nbf) ||
        !au_claim_time(claims, "iat", &has_iat, &iat)) {
        return AU_CLAIMS_INVALID;
    }
    long long t = (long long)now;
    if (t >= exp + leeway) {
        return AU_EXPIRED;
    }
    if (has_nbf && t < nbf - leeway) {
        return AU_NOT_YET_VALID;
    }
    if (has_iat && iat > t + leeway) {
        return AU_ISSUED_IN_FUTURE;
    }
    return AU_OK;
}

static bool au_audience_ok(const struct au_config *cfg, json_object *v)
{
    if (!json_object_is_type(v, json_type_string)) {
        return false;
    }
    const char *s = json_object_get_string(v);
    if ((size_t)json_object_get_string_len(v) != strlen(s)) {
        return false;
    }
    for (size_t i = 0; i < cfg->n_audiences; i++) {
        if (strcmp(cfg->audiences[i], s) == 0) {
            return true;
        }
    }
    return false;
}

static enum au_reason au_claims_aud(json_object *claims, const struct au_config *cfg)
{
    json_object *aud = NULL;
    if (!json_object_object_get_ex(claims, "aud", &aud)) {
        return AU_AUDIENCE_MISMATCH;
    }
    if (!json_object_is_type(aud, json_type_array)) {
        return au_audience_ok(cfg, aud) ? AU_OK : AU_AUDIENCE_MISMATCH;
    }
    size_t n = json_object_array_length(aud);
    for (size_t i = 0; i < n; i++) {
        if (au_audience_ok(cfg, json_object_array_get_idx(aud, i))) {
            return AU_OK;
        }
    }
    return AU_AUDIENCE_MISMATCH;
}

/* Copies the string claim key (1..cap-1 bytes, no NUL) into out; false when absent or bad. */
static bool au_claim_str(json_object *claims, const char *key, char *out, size_t cap)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(claims, key, &v) || !json_object_is_type(v, json_type_string)) {
        return false;
    }
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (n == 0 || n >= cap || strlen(s) != n) {
        return false;
    }
    memcpy(out, s, n + 1);
    return true;
}

/* The granted scopes as one space-separated string: "scope" (RFC 8693 §4.2) or "scp". */
static enum au_reason au_claims_scope(json_object *claims, struct au_grant *g)
{
    json_object *v = NULL;
    if (json_object_object_get_ex(claims, "scope", &v)) {
        return au_claim_str(claims, "scope", g->scope, sizeof(g->scope)) ? AU_OK
                                                                         : AU_CLAIMS_INVALID;
    }
    if (!json_object_object_get_ex(claims, "scp", &v)) {
        return AU_OK;
    }
    if (json_object_is_type(v, json_type_string)) {
        return au_claim_str(claims, "scp", g->scope, sizeof(g->scope)) ? AU_OK : AU_CLAIMS_INVALID;
    }
    if (!json_object_is_type(v, json_type_array)) {
        return AU_CLAIMS_INVALID;
    }
    size_t n = json_object_array_length(v);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (!json_object_is_type(e, json_type_string)) {
            return AU_CLAIMS_INVALID;
        }
        const char *s = json_object_get_string(e);
        size_t sl = (size_t)json_object_get_string_len(e);
        if (sl == 0 || strlen(s) != sl || strchr(s, ' ') != NULL ||
            used + sl + 1 >= sizeof(g->scope)) {
            return AU_CLAIMS_INVALID;
        }
        if (used > 0) {
            g->scope[used++] = ' ';
        }
        memcpy(g->scope + used, s, sl + 1);
        used += sl;
    }
    return AU_OK;
}

static bool au_scope_granted(const char *granted, const char *want)
{
    size_t wl = strlen(want);
    for (const char *p = granted; *p != '\0';) {
        size_t n = strcspn(p, " ");
        if (n == wl && memcmp(p, want, wl) == 0) {
            return true;
        }
        p += n;
        p += strspn(p, " ");
    }
    return false;
}

static enum au_reason au_claims_cnf(json_object *claims, struct au_grant *g)
{
    json_object *cnf = NULL;
    if (!json_object_object_get_ex(claims, "cnf", &cnf)) {
        return AU_OK;
    }
    if (!json_object_is_type(cnf, json_type_object)) {
        return AU_CLAIMS_INVALID;
    }
    json_object *v = NULL;
    if (!json_object_object_get_ex(cnf, "x5t#S256", &v)) {
        return AU_OK;
    }
    return au_claim_str(cnf, "x5t#S256", g->x5t, sizeof(g->x5t)) ? AU_OK : AU_CLAIMS_INVALID;
}

enum au_reason au_claims_check(const struct au_jws *jws, const struct au_config *cfg,
                               const char *route, time_t now, struct au_grant *grant)
{
    memset(grant, 0, sizeof(*grant));
    HS_DEFER(json_object *claims = NULL, hs_json_putp);
    if (hs_failed(au_json_parse((const char *)hs_buf_data(jws->payload), hs_buf_len(jws->payload),
                                AU_TOKEN_MAX, &claims))) {
        hs_error_clear();
        return AU_TOKEN_MALFORMED;
    }
    memcpy(grant->kid, jws->kid, sizeof(grant->kid));
    if (!au_claim_str(claims, "sub", grant->sub, sizeof(grant->sub))) {
        return AU_CLAIMS_INVALID;
    }
    enum au_reason r = au_claims_times(claims, cfg->leeway_s, now);
    if (r != AU_OK) {
        return r;
    }
    char iss[AU_STR_MAX + 1];
    if (!au_claim_str(claims, "iss", iss, sizeof(iss)) || strcmp(iss, cfg->issuer) != 0) {
        return AU_ISSUER_MISMATCH;
    }
    r = au_claims_aud(claims, cfg);
    r = r != AU_OK ? r : au_claims_scope(claims, grant);
    r = r != AU_OK ? r : au_claims_cnf(claims, grant);
    if (r != AU_OK) {
        return r;
    }
    const struct au_route *rt = au_config_route(cfg, route);
    for (size_t i = 0; rt != NULL && i < rt->n_scopes; i++) {
        if (!au_scope_granted(grant->scope, rt->scopes[i])) {
            return AU_SCOPE_MISSING;
        }
    }
    return AU_OK;
}
