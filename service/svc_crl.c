#include "service/svc_crl.h"

#include <string.h>

#include "common/hs_defer.h"
#include "common/hs_log.h"
#include "service/internal.h"
#include "service/svc_sched.h"
#include "signer/sgn_crl.h"

#define SVC_CRL_FIRST_BATCH 1024
#define SVC_CRL_ENTRY_DER_MAX 64 /* bytes one revoked entry takes in the DER, generously */
#define SVC_CRL_FIXED_DER_MAX 8192

HS_RESULT svc_crl_cache_init(struct svc_crl_cache *c)
{
    memset(c, 0, sizeof(*c));
    HS_ENSURE(pthread_mutex_init(&c->lock, NULL) == 0, HS_ERR_INTERNAL);
    return HS_OK;
}

void svc_crl_cache_clear(struct svc_crl_cache *c)
{
    hs_buf_free(c->der);
    pthread_mutex_destroy(&c->lock);
    memset(c, 0, sizeof(*c));
}

static void svc_revoked_freep(struct st_revoked_entry **p)
{
    OPENSSL_free(*p);
}

static void svc_crl_entries_freep(struct sgn_crl_entry **p)
{
    OPENSSL_free(*p);
}

/* The revoked, unexpired certificates; the caller frees *out with OPENSSL_free. */
static HS_RESULT svc_crl_list(struct st_inventory *inv, time_t now, struct st_revoked_entry **out,
                              size_t *n)
{
    size_t cap = SVC_CRL_FIRST_BATCH;
    for (int attempt = 0; attempt < 3; attempt++) {
        HS_DEFER(struct st_revoked_entry *list = OPENSSL_malloc(cap * sizeof(*list)),
                 svc_revoked_freep);
        HS_ENSURE(list != NULL, HS_ERR_NOMEM);
        hs_result r = inv->ops->list_revoked(inv, now, list, cap, n);
        if (!hs_failed(r)) {
            *out = list;
            list = NULL;
            return HS_OK;
        }
        HS_ENSURE(r.code == HS_ERR_BOUNDS && *n < SGN_CRL_ENTRIES_MAX, r.code);
        cap = *n + SVC_CRL_FIRST_BATCH; /* grew meanwhile: room for more */
    }
    HS_BAIL_MSG(HS_ERR_STORE, "the revoked list kept growing while it was read");
}

static HS_RESULT svc_crl_regenerate(struct svc_crl_cache *c, struct st_inventory *inv,
                                    const struct sgn_issuer *issuer, long validity_s, time_t now)
{
    /* Read the generation first: a revocation during the listing makes the next call
     * regenerate again rather than be missed. */
    uint64_t generation = inv->ops->generation(inv);
    HS_DEFER(struct st_revoked_entry *revoked = NULL, svc_revoked_freep);
    size_t n = 0;
    HS_GUARD(svc_crl_list(inv, now, &revoked, &n));
    HS_DEFER(struct sgn_crl_entry *entries = OPENSSL_zalloc((n + 1) * sizeof(*entries)),
             svc_crl_entries_freep);
    HS_ENSURE(entries != NULL, HS_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        entries[i] =
            (struct sgn_crl_entry){revoked[i].serial_hex, revoked[i].revoked_at, revoked[i].reason};
    }
    uint64_t number = 0;
    HS_GUARD(inv->ops->next_crl_number(inv, &number));
    struct sgn_crl_spec spec = {sgn_issuer_get0_cert(issuer),
                                sgn_issuer_get0_key(issuer),
                                now,
                                now + validity_s,
                                number,
                                entries,
                                n};
    HS_DEFER(X509_CRL *crl = NULL, hs_x509_crl_freep);
    HS_GUARD(sgn_crl_sign(&spec, &crl));
    HS_DEFER(struct hs_buf *der = hs_buf_new(SVC_CRL_FIXED_DER_MAX + n * SVC_CRL_ENTRY_DER_MAX),
             hs_buf_freep);
    HS_ENSURE(der != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_crl_to_der(crl, der));
    hs_buf_free(c->der);
    c->der = der;
    der = NULL;
    c->generation = generation;
    c->this_update = now;
    c->next_update = now + validity_s;
    c->number = number;
    hs_log(HS_LOG_INFO, "crl.generated", HS_LOG_AUDIT, HS_LOG_INT("crl_number", (long long)number),
           HS_LOG_INT("entries", (long long)n),
           HS_LOG_INT("next_update", (long long)c->next_update));
    return HS_OK;
}

static bool svc_crl_stale(const struct svc_crl_cache *c, struct st_inventory *inv, time_t now)
{
    return c->der == NULL || inv->ops->generation(inv) != c->generation ||
           now >= c->this_update + (c->next_update - c->this_update) / 2 || now < c->this_update;
}

static HS_RESULT svc_crl_get_locked(struct svc_crl_cache *c, struct st_inventory *inv,
                                    const struct sgn_issuer *issuer, long validity_s, time_t now,
                                    struct hs_buf **out)
{
    if (svc_crl_stale(c, inv, now)) {
        HS_GUARD(svc_crl_regenerate(c, inv, issuer, validity_s, now));
    }
    HS_DEFER(struct hs_buf *copy = hs_buf_new(hs_buf_len(c->der)), hs_buf_freep);
    HS_ENSURE(copy != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put(copy, hs_buf_data(c->der), hs_buf_len(c->der)));
    *out = copy;
    copy = NULL;
    return HS_OK;
}

HS_RESULT svc_crl_get(struct svc_ctx *ctx, time_t now, struct hs_buf **out)
{
    HS_ENSURE_REF(ctx);
    HS_ENSURE_REF(out);
    struct svc_crl_cache *c = &ctx->crl;
    unsigned int cls = svc_class_begin(SVC_CLASS_CRL);
    pthread_mutex_lock(&c->lock);
    hs_result r =
        svc_crl_get_locked(c, ctx->inventory, ctx->issuer, ctx->cfg.crl_validity_s, now, out);
    pthread_mutex_unlock(&c->lock);
    svc_class_end(cls);
    return r;
}
