#include "service/svc_ssh.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "common/hs_log.h"
#include "pkcs11/p11_key.h"
#include "service/internal.h"
#include "service/svc_sched.h"
#include "signer/sgn_cert.h"
#include "signer/sgn_crl.h"
#include "signer/sgn_jwt.h"
#include "signer/sgn_krl.h"

#define SVC_SSH_KRL_COMMENT "hsmsign"

/* --- the CA keys ----------------------------------------------------------------------------- */

static void svc_ssh_entries_clear(struct svc_ssh_ca_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sgn_ssh_ca_free(e[i].ca);
        e[i].ca = NULL;
    }
}

void svc_ssh_clear(struct svc_ssh_state *ssh)
{
    svc_ssh_entries_clear(ssh->user, ssh->nuser);
    svc_ssh_entries_clear(ssh->host, ssh->nhost);
    free(ssh->ca_json);
    if (ssh->krl_ready) {
        hs_buf_free(ssh->krl.krl);
        pthread_mutex_destroy(&ssh->krl.lock);
    }
    memset(ssh, 0, sizeof(*ssh));
}

/* Refuses key when it is the issuing CA's key or a JWT key: one key, one role (a key that
 * signs X.509 certificates or tokens and also SSH certificates widens what a compromise of any
 * one use, or a confusion between the encodings, reaches). Compared by public key
 * (EVP_PKEY_eq), so another reference to the same token object is caught too. Errors:
 * HS_ERR_INPUT_CONFIG naming the other role. */
static HS_RESULT svc_ssh_own_role(const struct svc_ctx *ctx, EVP_PKEY *pub)
{
    if (ctx->issuer != NULL) {
        HS_ENSURE_MSG(EVP_PKEY_eq(pub, p11_key_get0_public(sgn_issuer_get0_key(ctx->issuer))) != 1,
                      HS_ERR_INPUT_CONFIG,
                      "the key is the issuing CA's key (ca_key); an SSH CA key has one role");
    }
    for (size_t i = 0; i < ctx->njwt_keys; i++) {
        HS_ENSURE_MSG(
            EVP_PKEY_eq(pub, p11_key_get0_public(sgn_jwt_key_get0_key(ctx->jwt_keys[i]))) != 1,
            HS_ERR_INPUT_CONFIG, "the key is JWT key %zu (kid %s); an SSH CA key has one role", i,
            sgn_jwt_key_kid(ctx->jwt_keys[i]));
    }
    return HS_OK;
}

HS_RESULT svc_ssh_roles_check(const struct svc_ctx *keys, const struct svc_ssh_state *ssh)
{
    for (size_t i = 0; i < ssh->nuser; i++) {
        HS_GUARD(hs_error_context(
            svc_ssh_own_role(keys, sgn_ssh_key_get0_pkey(sgn_ssh_ca_get0_key(ssh->user[i].ca))),
            "ssh.user_ca"));
    }
    for (size_t i = 0; i < ssh->nhost; i++) {
        HS_GUARD(hs_error_context(
            svc_ssh_own_role(keys, sgn_ssh_key_get0_pkey(sgn_ssh_ca_get0_key(ssh->host[i].ca))),
            "ssh.host_ca"));
    }
    return HS_OK;
}

static HS_RESULT svc_ssh_load_one(const struct svc_ctx *ctx, const char *ref,
                                  struct svc_ssh_ca_entry *out)
{
    HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
    HS_GUARD(p11_key_find(ctx->pool, ref, &key));
    HS_GUARD(p11_key_check_protected(key));
    HS_GUARD(svc_ssh_own_role(ctx, p11_key_get0_public(key)));
    HS_DEFER(struct sgn_ssh_ca *ca = NULL, sgn_ssh_ca_freep);
    HS_GUARD(sgn_ssh_ca_new(key, &ca));
    size_t len = 0;
    const unsigned char *blob = sgn_ssh_key_blob(sgn_ssh_ca_get0_key(ca), &len);
    HS_ENSURE(SHA256(blob, len, out->blob_sha256) != NULL, HS_ERR_CRYPTO);
    out->ca = ca;
    ca = NULL;
    return HS_OK;
}

/* Loads refs[0..n) into entries, counting the loaded ones in *loaded (so that a failure half
 * way frees what was loaded); field names the config member in errors. */
static HS_RESULT svc_ssh_load(const struct svc_ctx *ctx, const char *const *refs, size_t n,
                              const char *field, struct svc_ssh_ca_entry *entries, size_t *loaded)
{
    HS_ENSURE(n <= SVC_SSH_CA_KEYS_MAX, HS_ERR_INTERNAL);
    for (size_t i = 0; i < n; i++) {
        hs_result r = svc_ssh_load_one(ctx, refs[i], &entries[i]);
        if (hs_failed(r)) {
            hs_error_add_detail("(ssh.%s[%zu])", field, i);
            return r;
        }
        *loaded = i + 1;
    }
    return HS_OK;
}

static HS_RESULT svc_ssh_lines(const struct svc_ssh_ca_entry *e, size_t n, json_object *doc,
                               const char *key)
{
    json_object *arr = json_object_new_array();
    HS_GUARD(hs_json_add(doc, key, arr));
    for (size_t i = 0; i < n; i++) {
        HS_DEFER(struct hs_buf *line = hs_buf_new(SGN_SSH_LINE_MAX), hs_buf_freep);
        HS_ENSURE(line != NULL, HS_ERR_NOMEM);
        HS_GUARD(sgn_ssh_key_to_line(sgn_ssh_ca_get0_key(e[i].ca), NULL, line));
        HS_ENSURE(
            json_object_array_add(arr, json_object_new_string_len((const char *)hs_buf_data(line),
                                                                  (int)hs_buf_len(line))) == 0,
            HS_ERR_NOMEM);
    }
    return HS_OK;
}

/* Each token key serves one role, once: the config compares only the reference strings, and a
 * label and a URI can name the same key. One key as user and host CA would make every host
 * certificate's signer a trusted user CA too (keyceremony ssh-ca refuses that pairing); twice
 * in a list it would be published twice and get two KRL sections. Compared by public key. */
static HS_RESULT svc_ssh_distinct(const struct svc_ssh_state *ssh)
{
    const struct svc_ssh_ca_entry *lists[2] = {ssh->user, ssh->host};
    const size_t counts[2] = {ssh->nuser, ssh->nhost};
    static const char *const fields[2] = {"user_ca", "host_ca"};
    for (size_t la = 0; la < 2; la++) {
        for (size_t a = 0; a < counts[la]; a++) {
            for (size_t lb = la; lb < 2; lb++) {
                for (size_t b = la == lb ? a + 1 : 0; b < counts[lb]; b++) {
                    HS_ENSURE_MSG(memcmp(lists[la][a].blob_sha256, lists[lb][b].blob_sha256,
                                         sizeof(lists[la][a].blob_sha256)) != 0,
                                  HS_ERR_INPUT_CONFIG,
                                  "ssh.%s[%zu] is the same key as ssh.%s[%zu]; an SSH CA key is "
                                  "listed once, in one role",
                                  fields[lb], b, fields[la], a);
                }
            }
        }
    }
    return HS_OK;
}

HS_RESULT svc_ssh_init(struct svc_ctx *ctx)
{
    struct svc_ssh_state *ssh = &ctx->ssh;
    const struct svc_config *cfg = &ctx->cfg;
    if (cfg->nssh_user_ca + cfg->nssh_host_ca == 0) {
        return HS_OK;
    }
    HS_GUARD(
        svc_ssh_load(ctx, cfg->ssh_user_ca, cfg->nssh_user_ca, "user_ca", ssh->user, &ssh->nuser));
    HS_GUARD(
        svc_ssh_load(ctx, cfg->ssh_host_ca, cfg->nssh_host_ca, "host_ca", ssh->host, &ssh->nhost));
    HS_GUARD(svc_ssh_distinct(ssh));
    HS_DEFER(json_object *doc = json_object_new_object(), hs_json_putp);
    HS_ENSURE(doc != NULL, HS_ERR_NOMEM);
    HS_GUARD(svc_ssh_lines(ssh->user, ssh->nuser, doc, "user_ca"));
    HS_GUARD(svc_ssh_lines(ssh->host, ssh->nhost, doc, "host_ca"));
    HS_GUARD(hs_json_to_string(doc, &ssh->ca_json));
    HS_ENSURE(pthread_mutex_init(&ssh->krl.lock, NULL) == 0, HS_ERR_INTERNAL);
    ssh->krl_ready = true;
    hs_log(HS_LOG_INFO, "service.ssh.init", HS_LOG_INT("user_ca_keys", (long long)ssh->nuser),
           HS_LOG_INT("host_ca_keys", (long long)ssh->nhost));
    return HS_OK;
}

static HS_RESULT svc_ssh_not_configured(void)
{
    HS_BAIL_MSG(HS_ERR_INPUT_NOT_FOUND, "SSH is not configured (config member \"ssh\")");
}

static bool svc_ssh_enabled(const struct svc_ctx *ctx)
{
    return ctx->ssh.ca_json != NULL;
}

HS_RESULT svc_ssh_ca_json(const struct svc_ctx *ctx, const char **out)
{
    HS_ENSURE_REF(ctx);
    if (!svc_ssh_enabled(ctx)) {
        return svc_ssh_not_configured();
    }
    *out = ctx->ssh.ca_json;
    return HS_OK;
}

/* --- issuance -------------------------------------------------------------------------------- */

void svc_ssh_result_clear(struct svc_ssh_result *res)
{
    if (res != NULL) {
        hs_buf_free(res->certificate);
        memset(res, 0, sizeof(*res));
    }
}

static const char *svc_ssh_type_name(enum sgn_ssh_cert_type type)
{
    return type == SGN_SSH_CERT_HOST ? "host" : "user";
}

/* The CA that signs certificates of type: the newest configured key. */
static HS_RESULT svc_ssh_signer(const struct svc_ctx *ctx, enum sgn_ssh_cert_type type,
                                const struct svc_ssh_ca_entry **out)
{
    if (!svc_ssh_enabled(ctx)) {
        return svc_ssh_not_configured();
    }
    switch (type) {
    case SGN_SSH_CERT_USER:
        HS_ENSURE_MSG(ctx->ssh.nuser > 0, HS_ERR_INPUT_NOT_FOUND,
                      "no SSH user CA is configured (ssh.user_ca)");
        *out = &ctx->ssh.user[0];
        return HS_OK;
    case SGN_SSH_CERT_HOST:
        HS_ENSURE_MSG(ctx->ssh.nhost > 0, HS_ERR_INPUT_NOT_FOUND,
                      "no SSH host CA is configured (ssh.host_ca)");
        *out = &ctx->ssh.host[0];
        return HS_OK;
    default:
        HS_BAIL_MSG(HS_ERR_INPUT_FIELD, "cert_type must be \"user\" or \"host\"");
    }
}

/* The key id: the caller's (1..SGN_SSH_KEY_ID_MAX printable ASCII bytes), or
 * "<principal> <SHA256 fingerprint>" with the principal cut to fit and any byte that is not
 * printable ASCII written as '?'. */
static HS_RESULT svc_ssh_key_id(const char *principal, const struct sgn_ssh_key *key,
                                const char *given, char out[SGN_SSH_KEY_ID_MAX + 1])
{
    if (given != NULL) {
        size_t n = strnlen(given, SGN_SSH_KEY_ID_MAX + 1);
        HS_ENSURE_MSG(n >= 1 && n <= SGN_SSH_KEY_ID_MAX, HS_ERR_INPUT_FIELD,
                      "field \"key_id\" must be 1..%d bytes", SGN_SSH_KEY_ID_MAX);
        for (size_t i = 0; i < n; i++) {
            HS_ENSURE_MSG(given[i] >= 0x20 && given[i] <= 0x7e, HS_ERR_INPUT_FIELD,
                          "field \"key_id\" must be printable ASCII");
        }
        memcpy(out, given, n + 1);
        return HS_OK;
    }
    char fp[SGN_SSH_FINGERPRINT_LEN + 1];
    HS_GUARD(sgn_ssh_key_fingerprint(key, fp));
    size_t room = SGN_SSH_KEY_ID_MAX - strlen(fp) - 1;
    size_t n = strnlen(principal, room);
    for (size_t i = 0; i < n; i++) {
        out[i] = principal[i];
        if (out[i] < 0x20 || out[i] > 0x7e) {
            out[i] = '?';
        }
    }
    out[n] = ' ';
    memcpy(out + n + 1, fp, strlen(fp) + 1);
    return HS_OK;
}

static void svc_ssh_fingerprint_of(const unsigned char hash[ST_INV_KEY_HASH_LEN],
                                   char out[SGN_SSH_FINGERPRINT_LEN + 1])
{
    unsigned char b64[4 * ((ST_INV_KEY_HASH_LEN + 2) / 3) + 1];
    int n = EVP_EncodeBlock(b64, hash, ST_INV_KEY_HASH_LEN);
    while (n > 0 && b64[n - 1] == '=') {
        n--;
    }
    HS_IGNORE(snprintf(out, SGN_SSH_FINGERPRINT_LEN + 1, "SHA256:%.*s", n, (const char *)b64));
}

static HS_RESULT svc_ssh_principals_json(const char *const *p, size_t n, char *out, size_t max)
{
    HS_DEFER(json_object *arr = json_object_new_array(), hs_json_putp);
    HS_ENSURE(arr != NULL, HS_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        HS_ENSURE(json_object_array_add(arr, json_object_new_string(p[i])) == 0, HS_ERR_NOMEM);
    }
    const char *text = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE);
    HS_ENSURE(text != NULL, HS_ERR_NOMEM);
    HS_ENSURE_MSG(strlen(text) < max, HS_ERR_INPUT_TOO_LARGE, "principals are too long");
    memcpy(out, text, strlen(text) + 1);
    return HS_OK;
}

static HS_RESULT svc_ssh_copy(char *dst, size_t max, const char *src)
{
    size_t n = strlen(src);
    HS_ENSURE(n < max, HS_ERR_BOUNDS);
    memcpy(dst, src, n + 1);
    return HS_OK;
}

/* The inventory's record of a signed certificate (st_inventory.h: the SSH fields). */
static HS_RESULT svc_ssh_record(const struct sgn_ssh_cert_request *sr, const struct hs_buf *blob,
                                const struct svc_ssh_ca_entry *ca, struct st_cert_record *rec)
{
    memset(rec, 0, sizeof(*rec));
    HS_GUARD(st_ssh_serial_hex(sr->serial, rec->serial_hex, sizeof(rec->serial_hex)));
    HS_GUARD(svc_ssh_copy(rec->subject, sizeof(rec->subject), sr->key_id));
    HS_GUARD(
        svc_ssh_principals_json(sr->principals, sr->n_principals, rec->sans, sizeof(rec->sans)));
    rec->not_before = (time_t)sr->valid_after;
    rec->not_after = (time_t)sr->valid_before;
    HS_GUARD(svc_ssh_copy(rec->requester, sizeof(rec->requester), sr->requester));
    HS_GUARD(svc_ssh_copy(rec->profile, sizeof(rec->profile), svc_ssh_type_name(sr->type)));
    size_t klen = 0;
    const unsigned char *kblob = sgn_ssh_key_blob(sr->subject, &klen);
    HS_ENSURE(SHA256(kblob, klen, rec->spki_sha256) != NULL, HS_ERR_CRYPTO);
    HS_ENSURE(SHA256(hs_buf_data(blob), hs_buf_len(blob), rec->cert_sha256) != NULL, HS_ERR_CRYPTO);
    memcpy(rec->issuer_key_sha256, ca->blob_sha256, sizeof(rec->issuer_key_sha256));
    rec->kind = ST_KIND_SSH;
    rec->status = ST_CERT_GOOD;
    rec->reason = SGN_CRL_REASON_NONE;
    return HS_OK;
}

static HS_RESULT svc_ssh_random_serial(uint64_t *out)
{
    uint64_t s = 0;
    while (s == 0) {
        unsigned char raw[sizeof(s)];
        HS_GUARD_OSSL(RAND_bytes(raw, sizeof(raw)), HS_ERR_CRYPTO);
        for (size_t i = 0; i < sizeof(raw); i++) {
            s = (s << 8) | raw[i];
        }
    }
    *out = s;
    return HS_OK;
}

/* The audit line that follows the record: the certificate was recorded (and is handed out) or
 * discarded (never handed out). */
static void svc_ssh_audit(const struct sgn_ssh_cert_request *sr, const struct st_cert_record *rec,
                          hs_result r)
{
    char key_fp[SGN_SSH_FINGERPRINT_LEN + 1];
    char ca_fp[SGN_SSH_FINGERPRINT_LEN + 1];
    svc_ssh_fingerprint_of(rec->spki_sha256, key_fp);
    svc_ssh_fingerprint_of(rec->issuer_key_sha256, ca_fp);
    char serial[SVC_SSH_SERIAL_DEC_MAX + 1];
    HS_IGNORE(snprintf(serial, sizeof(serial), "%" PRIu64, sr->serial));
    hs_log(hs_failed(r) ? HS_LOG_WARN : HS_LOG_INFO,
           hs_failed(r) ? "sign.ssh_cert.discarded" : "sign.ssh_cert.recorded", HS_LOG_AUDIT,
           HS_LOG_STR("caller", sr->requester), HS_LOG_STR("serial", serial),
           HS_LOG_STR("cert_type", rec->profile), HS_LOG_STR("key_id", sr->key_id),
           HS_LOG_STR("principals", rec->sans), HS_LOG_STR("subject_key", key_fp),
           HS_LOG_STR("ca", ca_fp), HS_LOG_INT("valid_after", (long long)rec->not_before),
           HS_LOG_INT("valid_before", (long long)rec->not_after),
           HS_LOG_HEX("cert_sha256", rec->cert_sha256, sizeof(rec->cert_sha256)),
           hs_failed(r) ? HS_LOG_ERR() : HS_LOG_END_FIELD);
}

/* Signs one certificate with serial sr->serial, records it and fills *out. Everything that can
 * fail comes before the inventory's put, so a recorded certificate is always handed out. */
static HS_RESULT svc_ssh_sign_record(struct svc_ctx *ctx, const struct svc_ssh_ca_entry *ca,
                                     const struct sgn_ssh_cert_request *sr,
                                     struct svc_ssh_result *out)
{
    HS_DEFER(struct hs_buf *blob = hs_buf_new(SGN_SSH_CERT_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *line = hs_buf_new(SGN_SSH_LINE_MAX + SGN_SSH_CERT_MAX * 2),
             hs_buf_freep);
    HS_ENSURE(blob != NULL && line != NULL, HS_ERR_NOMEM);
    unsigned int cls = svc_class_begin(SVC_CLASS_SSH);
    hs_result sign_r = sgn_ssh_cert_sign(ca->ca, sr, blob);
    svc_class_end(cls);
    HS_GUARD(sign_r);
    HS_GUARD(sgn_ssh_cert_to_line(hs_buf_data(blob), hs_buf_len(blob), NULL, line));
    struct st_cert_record rec;
    HS_GUARD(svc_ssh_record(sr, blob, ca, &rec));
    rec.issued_at = time(NULL); /* the listing's order: valid_after is backdated */
    hs_result r = svc_inventory_put(ctx, &rec);
    svc_ssh_audit(sr, &rec, r);
    HS_GUARD(r);
    memset(out, 0, sizeof(*out));
    out->certificate = line;
    line = NULL;
    out->serial = sr->serial;
    HS_GUARD(svc_ssh_copy(out->key_id, sizeof(out->key_id), sr->key_id));
    out->valid_after = (time_t)sr->valid_after;
    out->valid_before = (time_t)sr->valid_before;
    return HS_OK;
}

/* Draws serials until the store takes one (HS_ERR_INPUT_EXISTS: recorded already, of any
 * kind; another is drawn and the certificate signed again, since the serial is signed). */
static HS_RESULT svc_ssh_issue_serial(struct svc_ctx *ctx, const struct svc_ssh_ca_entry *ca,
                                      struct sgn_ssh_cert_request *sr, struct svc_ssh_result *out)
{
    for (int attempt = 0; attempt < SVC_SSH_SERIAL_ATTEMPTS; attempt++) {
        HS_GUARD(svc_ssh_random_serial(&sr->serial));
        hs_result r = svc_ssh_sign_record(ctx, ca, sr, out);
        if (!hs_failed(r) || r.code != HS_ERR_INPUT_EXISTS) {
            return r;
        }
        hs_log(HS_LOG_WARN, "ssh.serial.taken", HS_LOG_INT("attempt", (long long)attempt + 1));
    }
    HS_BAIL_MSG(HS_ERR_STORE, "no free SSH serial after %d draws", SVC_SSH_SERIAL_ATTEMPTS);
}

static HS_RESULT svc_ssh_ask_policy(const struct svc_caller *caller,
                                    const struct svc_ssh_request *req, struct svc_ssh_grant *out)
{
    HS_ENSURE_MSG(!req->has_ttl || req->ttl_s >= 1, HS_ERR_INPUT_RANGE,
                  "field \"ttl_seconds\" must be at least 1");
    struct svc_ssh_ask ask = {
        .type = req->type,
        .principals = req->principals,
        .nprincipals = req->nprincipals,
        .ttl_s = req->has_ttl ? (long)req->ttl_s : 0,
        .extensions_given = req->extensions_given,
        .extensions = req->extensions,
        .nextensions = req->nextensions,
        .force_command = req->force_command,
        .source_address = req->source_address,
    };
    memset(out, 0, sizeof(*out));
    HS_GUARD(caller->authz->ssh(caller->authz->arg, &ask, out));
    HS_ENSURE(out->ttl_s > 0 && out->nextensions <= SVC_SSH_GRANT_EXTENSIONS_MAX, HS_ERR_INTERNAL);
    return HS_OK;
}

HS_RESULT svc_ssh_authorize(struct svc_ctx *ctx, const struct svc_caller *caller,
                            const struct svc_ssh_request *req)
{
    HS_ENSURE_REF(ctx);
    HS_ENSURE_REF(caller);
    HS_ENSURE_REF(caller->authz);
    HS_ENSURE_REF(req);
    const struct svc_ssh_ca_entry *ca = NULL;
    HS_GUARD(svc_ssh_signer(ctx, req->type, &ca));
    struct svc_ssh_grant grant;
    return svc_ssh_ask_policy(caller, req, &grant);
}

HS_RESULT svc_ssh_issue(struct svc_ctx *ctx, const struct svc_caller *caller,
                        const struct svc_ssh_request *req, struct svc_ssh_result *out)
{
    HS_ENSURE_REF(ctx);
    HS_ENSURE_REF(caller);
    HS_ENSURE_REF(caller->principal);
    HS_ENSURE_REF(caller->authz);
    HS_ENSURE_REF(req);
    HS_ENSURE_REF(req->public_key);
    HS_ENSURE_REF(out);
    const struct svc_ssh_ca_entry *ca = NULL;
    HS_GUARD(svc_ssh_signer(ctx, req->type, &ca));
    HS_DEFER(struct sgn_ssh_key *key = NULL, sgn_ssh_key_freep);
    HS_GUARD(hs_error_context(sgn_ssh_key_parse_line(req->public_key, req->public_key_len, &key),
                              "public_key"));
    char key_id[SGN_SSH_KEY_ID_MAX + 1];
    HS_GUARD(svc_ssh_key_id(caller->principal, key, req->key_id, key_id));
    struct svc_ssh_grant grant;
    HS_GUARD(svc_ssh_ask_policy(caller, req, &grant));
    struct sgn_ssh_option options[2];
    size_t nopt = 0;
    if (grant.force_command != NULL) {
        options[nopt++] = (struct sgn_ssh_option){"force-command", grant.force_command};
    }
    if (grant.source_address != NULL) {
        options[nopt++] = (struct sgn_ssh_option){"source-address", grant.source_address};
    }
    time_t now = req->now;
    struct sgn_ssh_cert_request sr = {
        .subject = key,
        .type = req->type,
        .key_id = key_id,
        .principals = req->principals,
        .n_principals = req->nprincipals,
        .valid_after = (uint64_t)(now > SVC_SSH_BACKDATE_S ? now - SVC_SSH_BACKDATE_S : 0),
        .valid_before = (uint64_t)now + (uint64_t)grant.ttl_s,
        .options = options,
        .n_options = nopt,
        .extensions = grant.extensions,
        .n_extensions = grant.nextensions,
        .requester = caller->principal,
    };
    return svc_ssh_issue_serial(ctx, ca, &sr, out);
}

HS_RESULT svc_ssh_options_decode(json_object *doc, struct svc_ssh_request *r)
{
    static const char *const allowed[] = {"force-command", "source-address", NULL};
    json_object *opts = NULL;
    HS_GUARD(hs_json_get_typed(doc, "critical_options", false, json_type_object, &opts));
    if (opts == NULL) {
        return HS_OK;
    }
    HS_GUARD(hs_json_check_keys(opts, allowed, "critical_options"));
    HS_GUARD(hs_json_get_string(opts, "force-command", false, SGN_SSH_OPTION_VALUE_MAX,
                                &r->force_command));
    return hs_json_get_string(opts, "source-address", false, SGN_SSH_OPTION_VALUE_MAX,
                              &r->source_address);
}

/* --- status and revocation ------------------------------------------------------------------- */

HS_RESULT svc_ssh_serial_parse(const char *s, size_t n, uint64_t *out)
{
    HS_ENSURE_REF(s);
    HS_ENSURE_MSG(n >= 1 && n <= SVC_SSH_SERIAL_DEC_MAX && (s[0] != '0' || n == 1),
                  HS_ERR_INPUT_FIELD, "serial must be a decimal number 1..%" PRIu64, UINT64_MAX);
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        HS_ENSURE_MSG(s[i] >= '0' && s[i] <= '9', HS_ERR_INPUT_FIELD,
                      "serial must be decimal digits");
        uint64_t d = (uint64_t)(s[i] - '0');
        HS_ENSURE_MSG(v <= (UINT64_MAX - d) / 10, HS_ERR_INPUT_FIELD,
                      "serial must be at most %" PRIu64, UINT64_MAX);
        v = v * 10 + d;
    }
    HS_ENSURE_MSG(v != 0, HS_ERR_INPUT_FIELD, "serial 0 is never issued");
    *out = v;
    return HS_OK;
}

HS_RESULT svc_ssh_status_get(struct svc_ctx *ctx, const struct svc_caller *caller, uint64_t serial,
                             time_t now, struct svc_ssh_status *out)
{
    HS_ENSURE_REF(ctx);
    HS_ENSURE_REF(out);
    if (!svc_ssh_enabled(ctx)) {
        return svc_ssh_not_configured();
    }
    char hex[ST_INV_SERIAL_MAX + 1];
    HS_GUARD(st_ssh_serial_hex(serial, hex, sizeof(hex)));
    struct svc_ssh_status st;
    memset(&st, 0, sizeof(st));
    /* An X.509 certificate of the same number is not an SSH certificate: not found, as for a
     * serial that is not recorded. */
    HS_GUARD(svc_cert_status_get(ctx, caller, hex, ST_KIND_SSH, now, &st.st));
    st.serial = serial;
    svc_ssh_fingerprint_of(st.st.rec.spki_sha256, st.key_fingerprint);
    svc_ssh_fingerprint_of(st.st.rec.issuer_key_sha256, st.ca_fingerprint);
    *out = st;
    return HS_OK;
}

HS_RESULT svc_ssh_status_of(const struct svc_cert_status *st, struct svc_ssh_status *out)
{
    HS_ENSURE_REF(st);
    HS_ENSURE_REF(out);
    HS_ENSURE(st->rec.kind == ST_KIND_SSH, HS_ERR_INPUT_FIELD);
    uint64_t serial = 0;
    HS_ENSURE_MSG(!hs_failed(st_ssh_serial_parse(st->rec.serial_hex, &serial)), HS_ERR_IO,
                  "stored SSH serial %s is not a uint64", st->rec.serial_hex);
    out->st = *st;
    out->serial = serial;
    svc_ssh_fingerprint_of(st->rec.spki_sha256, out->key_fingerprint);
    svc_ssh_fingerprint_of(st->rec.issuer_key_sha256, out->ca_fingerprint);
    return HS_OK;
}

HS_RESULT svc_ssh_revoke(struct svc_ctx *ctx, const struct svc_caller *caller, uint64_t serial,
                         const char *reason, time_t now, struct svc_ssh_status *out)
{
    struct svc_ssh_status st;
    HS_GUARD(svc_ssh_status_get(ctx, caller, serial, now, &st));
    struct svc_revoke_request rr = {
        .serial = st.st.rec.serial_hex, .reason = reason, .now = now, .kind = ST_KIND_SSH};
    HS_GUARD(svc_cert_revoke(ctx, caller, &rr, &st.st));
    *out = st;
    return HS_OK;
}

/* --- the KRL --------------------------------------------------------------------------------- */

static void svc_ssh_revoked_freep(struct st_ssh_revoked_entry **p)
{
    OPENSSL_free(*p);
}

static void svc_ssh_u64_freep(uint64_t **p)
{
    OPENSSL_free(*p);
}

/* The revoked, unexpired SSH certificates; the caller frees *out with OPENSSL_free. */
static HS_RESULT svc_ssh_krl_list(struct st_inventory *inv, time_t now,
                                  struct st_ssh_revoked_entry **out, size_t *n)
{
    size_t cap = SVC_SSH_KRL_FIRST_BATCH;
    for (int attempt = 0; attempt < 3; attempt++) {
        HS_DEFER(struct st_ssh_revoked_entry *list = OPENSSL_malloc(cap * sizeof(*list)),
                 svc_ssh_revoked_freep);
        HS_ENSURE(list != NULL, HS_ERR_NOMEM);
        hs_result r = inv->ops->list_revoked_ssh(inv, now, list, cap, n);
        if (!hs_failed(r)) {
            *out = list;
            list = NULL;
            return HS_OK;
        }
        HS_ENSURE(r.code == HS_ERR_BOUNDS && *n < SGN_KRL_SERIALS_MAX, r.code);
        cap = *n + SVC_SSH_KRL_FIRST_BATCH; /* grew meanwhile: room for more */
    }
    HS_BAIL_MSG(HS_ERR_STORE, "the revoked list kept growing while it was read");
}

/* Every published CA key once (a key may be both a user and a host CA). */
static size_t svc_ssh_published(const struct svc_ssh_state *ssh,
                                const struct svc_ssh_ca_entry *out[2 * SVC_SSH_CA_KEYS_MAX])
{
    size_t n = 0;
    for (size_t i = 0; i < ssh->nuser + ssh->nhost; i++) {
        const struct svc_ssh_ca_entry *e =
            i < ssh->nuser ? &ssh->user[i] : &ssh->host[i - ssh->nuser];
        bool seen = false;
        for (size_t j = 0; j < n; j++) {
            seen = seen || memcmp(out[j]->blob_sha256, e->blob_sha256, ST_INV_KEY_HASH_LEN) == 0;
        }
        if (!seen) {
            out[n++] = e;
        }
    }
    return n;
}

static bool svc_ssh_hash_zero(const unsigned char h[ST_INV_KEY_HASH_LEN])
{
    unsigned char acc = 0;
    for (size_t i = 0; i < ST_INV_KEY_HASH_LEN; i++) {
        acc |= h[i];
    }
    return acc == 0;
}

/* Whether a revoked entry belongs in the section of ca: signed by it, or recorded without its
 * CA (listed under every CA key: serials are one namespace, so that revokes nothing else). */
static bool svc_ssh_krl_match(const struct st_ssh_revoked_entry *e,
                              const struct svc_ssh_ca_entry *ca)
{
    return svc_ssh_hash_zero(e->issuer_key_sha256) ||
           memcmp(e->issuer_key_sha256, ca->blob_sha256, ST_INV_KEY_HASH_LEN) == 0;
}

static HS_RESULT svc_ssh_krl_build(const struct svc_ssh_state *ssh,
                                   const struct st_ssh_revoked_entry *revoked, size_t n,
                                   uint64_t version, time_t now, struct hs_buf **out)
{
    const struct svc_ssh_ca_entry *cas[2 * SVC_SSH_CA_KEYS_MAX];
    size_t ncas = svc_ssh_published(ssh, cas);
    _Static_assert(2 * SVC_SSH_CA_KEYS_MAX <= SGN_KRL_CAS_MAX, "every CA key fits one KRL");
    size_t total = 0;
    for (size_t c = 0; c < ncas; c++) {
        for (size_t i = 0; i < n; i++) {
            total += svc_ssh_krl_match(&revoked[i], cas[c]) ? 1 : 0;
        }
    }
    HS_DEFER(uint64_t *serials = OPENSSL_malloc((total + 1) * sizeof(uint64_t)), svc_ssh_u64_freep);
    HS_ENSURE(serials != NULL, HS_ERR_NOMEM);
    struct sgn_krl_ca sections[2 * SVC_SSH_CA_KEYS_MAX];
    size_t used = 0;
    for (size_t c = 0; c < ncas; c++) {
        size_t len = 0;
        sections[c].ca_blob = sgn_ssh_key_blob(sgn_ssh_ca_get0_key(cas[c]->ca), &len);
        sections[c].ca_blob_len = len;
        sections[c].serials = serials + used;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (svc_ssh_krl_match(&revoked[i], cas[c])) {
                serials[used + k++] = revoked[i].serial;
            }
        }
        sections[c].n_serials = k;
        used += k;
    }
    HS_DEFER(struct hs_buf *krl = hs_buf_new(SGN_KRL_MAX), hs_buf_freep);
    HS_ENSURE(krl != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_krl_write(sections, ncas, version, (uint64_t)now, SVC_SSH_KRL_COMMENT, krl));
    *out = krl;
    krl = NULL;
    return HS_OK;
}

static HS_RESULT svc_ssh_krl_regenerate(struct svc_ctx *ctx, time_t now)
{
    struct svc_krl_cache *c = &ctx->ssh.krl;
    struct st_inventory *inv = ctx->inventory;
    /* The generation first: a revocation during the listing makes the next call regenerate
     * again rather than be missed. */
    uint64_t generation = inv->ops->generation(inv);
    HS_DEFER(struct st_ssh_revoked_entry *revoked = NULL, svc_ssh_revoked_freep);
    size_t n = 0;
    HS_GUARD(svc_ssh_krl_list(inv, now, &revoked, &n));
    uint64_t version = 0;
    HS_GUARD(inv->ops->next_crl_number(inv, &version));
    struct hs_buf *krl = NULL;
    HS_GUARD(svc_ssh_krl_build(&ctx->ssh, revoked, n, version, now, &krl));
    hs_buf_free(c->krl);
    c->krl = krl;
    c->generation = generation;
    c->generated = now;
    c->version = version;
    hs_log(HS_LOG_INFO, "ssh.krl.generated", HS_LOG_AUDIT,
           HS_LOG_INT("krl_version", (long long)version), HS_LOG_INT("entries", (long long)n),
           HS_LOG_INT("bytes", (long long)hs_buf_len(krl)));
    return HS_OK;
}

static bool svc_ssh_krl_stale(const struct svc_ctx *ctx, time_t now)
{
    const struct svc_krl_cache *c = &ctx->ssh.krl;
    return c->krl == NULL || ctx->inventory->ops->generation(ctx->inventory) != c->generation ||
           now >= c->generated + ctx->cfg.ssh_krl_validity_s || now < c->generated;
}

static HS_RESULT svc_ssh_krl_get_locked(struct svc_ctx *ctx, time_t now, struct hs_buf **out)
{
    if (svc_ssh_krl_stale(ctx, now)) {
        HS_GUARD(svc_ssh_krl_regenerate(ctx, now));
    }
    const struct hs_buf *krl = ctx->ssh.krl.krl;
    HS_DEFER(struct hs_buf *copy = hs_buf_new(hs_buf_len(krl)), hs_buf_freep);
    HS_ENSURE(copy != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put(copy, hs_buf_data(krl), hs_buf_len(krl)));
    *out = copy;
    copy = NULL;
    return HS_OK;
}

HS_RESULT svc_ssh_krl_get(struct svc_ctx *ctx, time_t now, struct hs_buf **out)
{
    HS_ENSURE_REF(ctx);
    HS_ENSURE_REF(out);
    if (!svc_ssh_enabled(ctx)) {
        return svc_ssh_not_configured();
    }
    unsigned int cls = svc_class_begin(SVC_CLASS_CRL);
    pthread_mutex_lock(&ctx->ssh.krl.lock);
    hs_result r = svc_ssh_krl_get_locked(ctx, now, out);
    pthread_mutex_unlock(&ctx->ssh.krl.lock);
    svc_class_end(cls);
    return r;
}
