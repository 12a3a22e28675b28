#include "service/svc_revoke.h"

#include <string.h>

#include <openssl/x509v3.h>

#include "common/hs_log.h"
#include "service/internal.h"
#include "signer/sgn_crl.h"

HS_RESULT svc_serial_normalise(const char *s, size_t n, char out[ST_INV_SERIAL_MAX + 1])
{
    HS_ENSURE_REF(s);
    HS_ENSURE_MSG(n >= 1 && n <= 2 * ST_INV_SERIAL_MAX, HS_ERR_INPUT_FIELD,
                  "serial must be 1..40 hex digits");
    char tmp[2 * ST_INV_SERIAL_MAX + 2];
    size_t len = 0;
    if (n % 2 == 1) {
        tmp[len++] = '0';
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        HS_ENSURE_MSG((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'),
                      HS_ERR_INPUT_FIELD, "serial must be hex digits");
        tmp[len++] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    size_t start = 0;
    while (len - start > 2 && tmp[start] == '0' && tmp[start + 1] == '0') {
        start += 2;
    }
    HS_ENSURE_MSG(len - start <= ST_INV_SERIAL_MAX, HS_ERR_INPUT_FIELD,
                  "serial must be 1..40 hex digits");
    memcpy(out, tmp + start, len - start);
    out[len - start] = '\0';
    return HS_OK;
}

const char *svc_cert_state_name(enum svc_cert_state state)
{
    switch (state) {
    case SVC_CERT_GOOD:
        return "good";
    case SVC_CERT_REVOKED:
        return "revoked";
    case SVC_CERT_EXPIRED:
        return "expired";
    default:
        return "unknown";
    }
}

static const char *svc_reason_name(int reason)
{
    return reason == SGN_CRL_REASON_NONE ? "unspecified" : sgn_crl_reason_name(reason);
}

static void svc_status_from(const struct st_cert_record *rec, time_t now,
                            struct svc_cert_status *out)
{
    memcpy(&out->rec, rec, sizeof(*rec));
    if (rec->status == ST_CERT_REVOKED) {
        out->state = SVC_CERT_REVOKED;
        out->reason = svc_reason_name(rec->reason);
        return;
    }
    out->state = now > rec->not_after ? SVC_CERT_EXPIRED : SVC_CERT_GOOD;
    out->reason = NULL;
}

/* The one failure for "no such serial" and "a serial you may not see": the same code and
 * detail, so the answer cannot tell them apart (the policy's reason stays in the log). */
static HS_RESULT svc_serial_hidden(const char *serial)
{
    HS_BAIL_MSG(HS_ERR_INPUT_NOT_FOUND, "serial %s is not in the inventory", serial);
}

/* The record of serial, if the caller may see it. A serial that is not recorded and one the
 * caller may not manage fail alike (svc_serial_hidden), each after one inventory read and one
 * policy question: the same answer and the same work. */
static HS_RESULT svc_record_for_caller(struct svc_ctx *ctx, const struct svc_caller *caller,
                                       const char *serial, enum st_kind kind,
                                       struct st_cert_record *rec)
{
    HS_ENSURE_REF(ctx);
    HS_ENSURE_REF(caller);
    HS_ENSURE_REF(caller->authz);
    HS_ENSURE_REF(serial);
    char norm[ST_INV_SERIAL_MAX + 1];
    HS_GUARD(svc_serial_normalise(serial, strlen(serial), norm));
    HS_ENSURE_MSG(strcmp(norm, serial) == 0, HS_ERR_INPUT_FIELD, "serial is not normalised");
    hs_result r = ctx->inventory->ops->get(ctx->inventory, norm, rec);
    if (hs_failed(r) && r.code != HS_ERR_INPUT_NOT_FOUND) {
        return r;
    }
    bool found = !hs_failed(r) && rec->kind == kind;
    /* Asked for a missing serial too (as a record no principal requested), so that both paths
     * do the same work; an admin may manage anything, and is then told the truth below. */
    r = caller->authz->manage(caller->authz->arg, found ? rec->requester : "");
    if (!found || (hs_failed(r) && hs_code_class(r.code) == HS_CLASS_POLICY)) {
        /* The truth, for the operator only. */
        hs_log(HS_LOG_INFO, "cert.lookup.refused", HS_LOG_STR("caller", caller->principal),
               HS_LOG_STR("serial", norm), HS_LOG_BOOL("recorded", found),
               HS_LOG_BOOL("may_manage", !hs_failed(r)));
        return svc_serial_hidden(norm);
    }
    HS_GUARD(r);
    return HS_OK;
}

HS_RESULT svc_cert_status_get(struct svc_ctx *ctx, const struct svc_caller *caller,
                              const char *serial, enum st_kind kind, time_t now,
                              struct svc_cert_status *out)
{
    struct st_cert_record rec;
    HS_GUARD(svc_record_for_caller(ctx, caller, serial, kind, &rec));
    svc_status_from(&rec, now, out);
    return HS_OK;
}

/* RFC 5280 §5.3.1 reasons a leaf may be revoked for; certificateHold (which can be undone)
 * and the CA / attribute-authority reasons are not offered. */
static HS_RESULT svc_parse_reason(const char *name, int *out)
{
    static const int allowed[] = {
        CRL_REASON_UNSPECIFIED, CRL_REASON_KEY_COMPROMISE,         CRL_REASON_AFFILIATION_CHANGED,
        CRL_REASON_SUPERSEDED,  CRL_REASON_CESSATION_OF_OPERATION, CRL_REASON_PRIVILEGE_WITHDRAWN};
    if (name == NULL) {
        *out = SGN_CRL_REASON_NONE;
        return HS_OK;
    }
    int reason = 0;
    HS_GUARD(sgn_crl_reason_parse(name, &reason));
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        if (allowed[i] == reason) {
            /* "unspecified" is encoded by leaving the reasonCode out (RFC 5280 §5.3.1). */
            *out = reason == CRL_REASON_UNSPECIFIED ? SGN_CRL_REASON_NONE : reason;
            return HS_OK;
        }
    }
    HS_BAIL_MSG(HS_ERR_INPUT_FIELD,
                "reason must be unspecified, keyCompromise, affiliationChanged, superseded, "
                "cessationOfOperation or privilegeWithdrawn");
}

HS_RESULT svc_cert_revoke(struct svc_ctx *ctx, const struct svc_caller *caller,
                          const struct svc_revoke_request *req, struct svc_cert_status *out)
{
    HS_ENSURE_REF(req);
    struct st_cert_record rec;
    HS_GUARD(svc_record_for_caller(ctx, caller, req->serial, req->kind, &rec));
    int reason = SGN_CRL_REASON_NONE;
    HS_GUARD(svc_parse_reason(req->reason, &reason));
    bool changed = false;
    HS_GUARD(svc_inventory_revoke(ctx, rec.serial_hex, req->now, reason, &changed));
    hs_log(HS_LOG_INFO, "cert.revoked", HS_LOG_AUDIT, HS_LOG_STR("caller", caller->principal),
           HS_LOG_STR("serial", rec.serial_hex), HS_LOG_STR("requested_by", rec.requester),
           HS_LOG_STR("reason", svc_reason_name(reason)), HS_LOG_BOOL("changed", changed));
    HS_GUARD(ctx->inventory->ops->get(ctx->inventory, rec.serial_hex, &rec));
    svc_status_from(&rec, req->now, out);
    return HS_OK;
}

HS_RESULT svc_cert_list(struct svc_ctx *ctx, const struct svc_caller *caller,
                        const struct st_list_query *q, struct svc_cert_list *out)
{
    HS_ENSURE_REF(ctx);
    HS_ENSURE_REF(caller);
    HS_ENSURE_REF(caller->principal);
    HS_ENSURE_REF(caller->authz);
    HS_ENSURE_REF(q);
    HS_ENSURE_REF(out);
    HS_ENSURE(out->page.records != NULL && out->states != NULL && out->reasons != NULL,
              HS_ERR_INTERNAL);
    struct st_list_query mine = *q;
    bool all = caller->authz->sees_all != NULL && caller->authz->sees_all(caller->authz->arg);
    if (!all) {
        if (q->requester != NULL && strcmp(q->requester, caller->principal) != 0) {
            HS_GUARD(st_inv_list_query_check(q)); /* bad input is bad input, also here */
            out->page.n = 0;
            out->page.more = false;
            return HS_OK;
        }
        mine.requester = caller->principal;
    }
    struct st_inventory *inv = ctx->inventory;
    HS_GUARD(inv->ops->list(inv, &mine, &out->page));
    for (size_t i = 0; i < out->page.n; i++) {
        struct svc_cert_status st;
        svc_status_from(&out->page.records[i], q->now, &st);
        out->states[i] = st.state;
        out->reasons[i] = st.reason;
    }
    return HS_OK;
}
