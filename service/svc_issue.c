#include "service/svc_issue.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "service/internal.h"
#include "service/svc_sched.h"
#include "signer/sgn_crl.h"
#include "signer/sgn_csr.h"

#define SVC_HOUR_S 3600L

void svc_cert_result_clear(struct svc_cert_result *res)
{
    if (res != NULL) {
        hs_buf_free(res->cert_pem);
        memset(res, 0, sizeof(*res));
    }
}

static bool svc_has_dns_san(const GENERAL_NAMES *sans)
{
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
        if (sk_GENERAL_NAME_value(sans, i)->type == GEN_DNS) {
            return true;
        }
    }
    return false;
}

/* The SANs as a JSON array of "DNS:x", "IP:y", "email:z", "URI:u" (OpenSSL's names). */
static HS_RESULT svc_sans_json(const GENERAL_NAMES *sans, char *out, size_t out_len)
{
    HS_DEFER(json_object *arr = json_object_new_array(), hs_json_putp);
    HS_ENSURE(arr != NULL, HS_ERR_NOMEM);
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
        HS_DEFER(BIO *bio = BIO_new(BIO_s_mem()), hs_bio_freep);
        HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
        HS_ENSURE(GENERAL_NAME_print(bio, sk_GENERAL_NAME_value(sans, i)) == 1, HS_ERR_CRYPTO);
        char *p = NULL;
        long n = BIO_get_mem_data(bio, &p);
        HS_ENSURE(json_object_array_add(arr, json_object_new_string_len(p, (int)n)) == 0,
                  HS_ERR_NOMEM);
    }
    const char *text = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE);
    HS_ENSURE(text != NULL, HS_ERR_NOMEM);
    HS_ENSURE_MSG(strlen(text) < out_len, HS_ERR_INPUT_TOO_LARGE, "SAN list too long");
    memcpy(out, text, strlen(text) + 1);
    return HS_OK;
}

static HS_RESULT svc_cert_record(const struct sgn_leaf *leaf, const struct sgn_csr *csr,
                                 const char *requester, const struct svc_profile *profile,
                                 struct st_cert_record *rec)
{
    memset(rec, 0, sizeof(*rec));
    memcpy(rec->serial_hex, leaf->serial_hex, strlen(leaf->serial_hex) + 1);
    HS_GUARD(
        sgn_name_rfc4514(X509_get_subject_name(leaf->cert), rec->subject, sizeof(rec->subject)));
    HS_GUARD(svc_sans_json(sgn_csr_get0_sans(csr), rec->sans, sizeof(rec->sans)));
    rec->not_before = leaf->not_before;
    rec->not_after = leaf->not_after;
    HS_ENSURE(strlen(requester) < sizeof(rec->requester), HS_ERR_BOUNDS);
    memcpy(rec->requester, requester, strlen(requester) + 1);
    HS_ENSURE(strlen(profile->name) < sizeof(rec->profile), HS_ERR_BOUNDS);
    memcpy(rec->profile, profile->name, strlen(profile->name) + 1);
    memcpy(rec->spki_sha256, leaf->spki_sha256, sizeof(rec->spki_sha256));
    memcpy(rec->cert_sha256, leaf->cert_sha256, sizeof(rec->cert_sha256));
    rec->kind = ST_KIND_X509;
    rec->status = ST_CERT_GOOD;
    rec->reason = SGN_CRL_REASON_NONE;
    return HS_OK;
}

static HS_RESULT svc_cert_result_fill(const struct svc_ctx *ctx, const struct sgn_leaf *leaf,
                                      const struct svc_profile *profile,
                                      struct svc_cert_result *out)
{
    HS_DEFER(struct hs_buf *pem = hs_buf_new(SGN_CERT_PEM_MAX), hs_buf_freep);
    HS_ENSURE(pem != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_cert_der_to_pem(leaf->der, leaf->der_len, pem));
    memset(out, 0, sizeof(*out));
    out->cert_pem = pem;
    pem = NULL;
    out->chain_pem = sgn_issuer_get0_chain_pem(ctx->issuer);
    out->profile = profile->name;
    memcpy(out->serial_hex, leaf->serial_hex, sizeof(out->serial_hex));
    out->not_before = leaf->not_before;
    out->not_after = leaf->not_after;
    return HS_OK;
}

/* Records the signed leaf durably and fills *out with it. Everything that can fail comes
 * before the inventory's put, so a recorded certificate is always handed out; *out is written
 * only on success. */
static HS_RESULT svc_leaf_record(struct svc_ctx *ctx, const struct svc_caller *caller,
                                 const struct sgn_csr *csr, const struct svc_profile *profile,
                                 const struct sgn_leaf *leaf, struct svc_cert_result *out)
{
    struct st_cert_record rec;
    HS_GUARD(svc_cert_record(leaf, csr, caller->principal, profile, &rec));
    rec.issued_at = time(NULL); /* the listing's order: notBefore is backdated and clamped */
    HS_DEFER(struct svc_cert_result res = {0}, svc_cert_result_clear);
    HS_GUARD(svc_cert_result_fill(ctx, leaf, profile, &res));
    HS_GUARD(svc_inventory_put(ctx, &rec));
    *out = res;
    res.cert_pem = NULL;
    return HS_OK;
}

/* Issues, records durably, and only then answers: no certificate without a committed record.
 * The audit line follows the record: "sign.cert.issued" once it is committed, or
 * "sign.cert.discarded" when it is not (the certificate is freed here, never handed out). */
static HS_RESULT svc_issue_and_record(struct svc_ctx *ctx, const struct svc_caller *caller,
                                      const struct sgn_csr *csr, const struct svc_profile *profile,
                                      long ttl_s, time_t now, struct svc_cert_result *out)
{
    struct sgn_leaf_request lr = {.csr = csr,
                                  .ttl_s = ttl_s,
                                  .eku = profile->eku,
                                  .now = now,
                                  .requester = caller->principal,
                                  .profile = profile->name,
                                  .crl_url = ctx->cfg.crl_url,
                                  .key_usage = profile->key_usage};
    HS_DEFER(struct sgn_leaf leaf = {0}, sgn_leaf_clear);
    HS_GUARD(sgn_cert_issue(ctx->issuer, &lr, &leaf));
    hs_result r = svc_leaf_record(ctx, caller, csr, profile, &leaf, out);
    sgn_leaf_audit(ctx->issuer, &lr, &leaf, r);
    return r;
}

HS_RESULT svc_cert_issue(struct svc_ctx *ctx, const struct svc_caller *caller,
                         const struct svc_cert_request *req, struct svc_cert_result *out)
{
    HS_ENSURE_REF(ctx);
    HS_ENSURE_REF(caller);
    HS_ENSURE_REF(caller->principal);
    HS_ENSURE_REF(caller->authz);
    HS_ENSURE_REF(req);
    HS_ENSURE_REF(req->csr_pem);
    const struct svc_profile *profile = svc_profiles_find(ctx->cfg.profiles, req->profile);
    if (profile == NULL) {
        char names[SVC_PROFILES_MAX * (SVC_PROFILE_NAME_MAX + 2) + 1];
        svc_profiles_names(ctx->cfg.profiles, names, sizeof(names));
        HS_BAIL_MSG(HS_ERR_INPUT_FIELD, "profile must be one of: %s", names);
    }
    long max_h = profile->max_ttl_s / SVC_HOUR_S;
    HS_ENSURE_MSG(!req->has_ttl || (req->ttl_hours >= 1 && req->ttl_hours <= max_h),
                  HS_ERR_INPUT_RANGE, "field \"ttl_hours\" must be between 1 and %ld", max_h);
    HS_DEFER(struct sgn_csr *csr = NULL, sgn_csr_freep);
    HS_GUARD(sgn_csr_parse_ex(req->csr_pem, req->csr_len, &profile->rsa_exponents, &csr));
    HS_ENSURE_MSG(!profile->require_dns_san || svc_has_dns_san(sgn_csr_get0_sans(csr)),
                  HS_ERR_INPUT_CSR, "the %s profile needs at least one DNS SAN in the CSR",
                  profile->name);
    struct svc_cert_ask ask = {profile->name, sgn_csr_get0_cn(csr), sgn_csr_get0_sans(csr),
                               req->has_ttl ? (long)req->ttl_hours * SVC_HOUR_S : 0};
    long ttl_s = 0;
    HS_GUARD(caller->authz->cert(caller->authz->arg, &ask, profile->default_ttl_s, &ttl_s));
    /* The policy grants at most what was asked or the profile's default; the profile caps it. */
    HS_ENSURE(ttl_s > 0, HS_ERR_INTERNAL);
    ttl_s = ttl_s < profile->max_ttl_s ? ttl_s : profile->max_ttl_s;
    unsigned int cls = svc_class_begin(SVC_CLASS_CERTIFICATE);
    hs_result r = svc_issue_and_record(ctx, caller, csr, profile, ttl_s, req->now, out);
    svc_class_end(cls);
    return r;
}
