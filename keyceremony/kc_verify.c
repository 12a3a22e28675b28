/*
 * verify: everything exported matches the token. The root and intermediate certificates form a
 * strictly valid chain; the private key of each (unless the config marks it as kept on another
 * token: root_key_offline, intermediate_key_offline), and of every JWK in the JWK Set, is on the
 * token, protected (CKA_SENSITIVE, CKA_ALWAYS_SENSITIVE, !CKA_EXTRACTABLE,
 * CKA_NEVER_EXTRACTABLE, sign only) and usable with its algorithm; each kid is the key's
 * thumbprint. With an "ssh" block, every published SSH CA line too (kc_sshca.c): its key on the
 * token, protected, able to sign as an SSH CA, its label the line's comment; the known_hosts
 * lines name only host CA keys. Prints one line per check; any failure fails the step.
 */
#include <stdio.h>
#include <string.h>

#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "keyceremony/internal.h"
#include "pkcs11/p11_sign.h"
#include "signer/sgn_jwt.h"

static HS_RESULT kc_verify_key(struct kc_session *s, EVP_PKEY *pub, const char *what)
{
    HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
    HS_GUARD(hs_error_context(p11_key_find_by_public(s->pool, pub, &key), what));
    HS_GUARD(hs_error_context(p11_key_check_protected(key), what));
    HS_GUARD(
        hs_error_context(p11_sign_check_key(key, p11_sig_alg_default(p11_key_type(key))), what));
    printf("ok  %s: key \"%s\" (%s) on the token, sensitive and never extractable\n", what,
           p11_key_label(key), p11_key_type_name(p11_key_type(key)));
    return HS_OK;
}

struct kc_jwk_set {
    struct sgn_jwk_entry keys[SGN_JWT_KEYS_MAX];
    size_t n;
};

static void kc_jwk_set_clear(struct kc_jwk_set *set)
{
    sgn_jwk_entries_clear(set->keys, set->n);
}

static HS_RESULT kc_verify_jwk(struct kc_session *s, const struct sgn_jwk_entry *e)
{
    HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
    HS_GUARD(p11_key_find_by_public(s->pool, e->pub, &key));
    HS_GUARD(p11_key_check_protected(key));
    HS_DEFER(struct sgn_jwt_key *jk = NULL, sgn_jwt_key_freep);
    HS_GUARD(sgn_jwt_key_new(key, e->alg, &jk));
    printf("ok  jwks: %s (%s) is key \"%s\", sensitive and never extractable\n", e->kid, e->alg,
           p11_key_label(key));
    return HS_OK;
}

static HS_RESULT kc_verify_jwks(const struct kc_config *cfg, struct kc_session *s)
{
    HS_DEFER(struct hs_buf *text = NULL, hs_buf_freep);
    HS_GUARD(hs_file_read(cfg->jwks, SGN_JWKS_MAX, &text));
    HS_DEFER(struct kc_jwk_set set = {0}, kc_jwk_set_clear);
    HS_GUARD(hs_error_context(
        sgn_jwks_parse((const char *)hs_buf_data(text), hs_buf_len(text), set.keys, &set.n),
        "jwks"));
    printf("ok  jwks: %zu keys, each kid its RFC 7638 thumbprint\n", set.n);
    for (size_t i = 0; i < set.n; i++) {
        HS_GUARD(hs_error_context(kc_verify_jwk(s, &set.keys[i]), set.keys[i].kid));
    }
    return HS_OK;
}

static HS_RESULT kc_verify_chain(const struct kc_config *cfg, X509 **root, X509 **intermediate)
{
    HS_GUARD(kc_cert_read(cfg->root_cert, root));
    HS_GUARD(kc_cert_read(cfg->intermediate_cert, intermediate));
    HS_GUARD(hs_error_context(sgn_chain_verify(*root, *root, NULL), "root_certificate"));
    HS_GUARD(
        hs_error_context(sgn_chain_verify(*intermediate, *root, NULL), "intermediate_certificate"));
    printf("ok  chain: %s -> %s verifies (X509_V_FLAG_X509_STRICT)\n", cfg->intermediate_cert,
           cfg->root_cert);
    return HS_OK;
}

/* A key that the config says is kept on another token is named, not looked up. */
static HS_RESULT kc_verify_cert_key(struct kc_session *s, X509 *cert, bool offline,
                                    const char *what)
{
    if (offline) {
        printf("skip %s: its key is kept on another token; not looked up here\n", what);
        return HS_OK;
    }
    return kc_verify_key(s, X509_get0_pubkey(cert), what);
}

static void kc_plan_cert_key(const char *what, const char *path, bool offline, const char *label)
{
    if (offline) {
        kc_plan_line("%s %s: its key is kept on another token; not looked up", what, path);
    } else {
        kc_plan_line("find the key of %s %s on token \"%s\" and check its protection", what, path,
                     label);
    }
}

HS_RESULT kc_plan_verify(const struct kc_config *cfg)
{
    if (cfg->has_x509) {
        kc_plan_line("check that %s -> %s verifies strictly", cfg->intermediate_cert,
                     cfg->root_cert);
        kc_plan_cert_key("root_certificate", cfg->root_cert, cfg->root_key_offline,
                         cfg->token.label);
        kc_plan_cert_key("intermediate_certificate", cfg->intermediate_cert,
                         cfg->intermediate_key_offline, cfg->token.label);
    }
    if (cfg->jwks != NULL) {
        kc_plan_line("check every JWK of %s the same way, and its kid", cfg->jwks);
    }
    if (cfg->has_ssh) {
        kc_ssh_plan_verify(cfg);
    }
    kc_plan_line("verify changes nothing; --dry-run only prints this plan");
    return HS_OK;
}

HS_RESULT kc_run_verify(const struct kc_config *cfg)
{
    HS_DEFER(X509 *root = NULL, hs_x509_freep);
    HS_DEFER(X509 *intermediate = NULL, hs_x509_freep);
    if (cfg->has_x509) {
        HS_GUARD(kc_verify_chain(cfg, &root, &intermediate));
    }
    HS_DEFER(struct kc_session s = {0}, kc_session_close);
    HS_GUARD(kc_session_open(&cfg->token, &s));
    if (cfg->has_x509) {
        HS_GUARD(kc_verify_cert_key(&s, root, cfg->root_key_offline, "root_certificate"));
        HS_GUARD(kc_verify_cert_key(&s, intermediate, cfg->intermediate_key_offline,
                                    "intermediate_certificate"));
    }
    if (cfg->jwks != NULL) {
        HS_GUARD(kc_verify_jwks(cfg, &s));
    }
    if (cfg->has_ssh) {
        HS_GUARD(kc_ssh_verify(cfg, &s));
    }
    return kc_transcript(cfg, &s, &(struct kc_record){.event = "verified"});
}
