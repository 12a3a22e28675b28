/*
 * jwt-key: a JWT signing key born in the token, its public JWK written out and/or added as the
 * newest key of the published JWK Set; jwt-key retire KID: a key taken out of the JWK Set (it
 * stays in the token). hsmsignd publishes the set and signs with its first (newest) key, so a
 * rotation is: jwt-key (new key first, old keys still published), wait for verifiers' caches,
 * retire the old key.
 */
#include <string.h>
#include <time.h>

#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "common/hs_json.h"
#include "keyceremony/internal.h"
#include "signer/sgn_jwt.h"

/* The JWK Set at path as JSON ({"keys": []} when the file does not exist yet). */
static HS_RESULT kc_jwks_read(const char *path, json_object **out)
{
    if (!hs_file_exists(path)) {
        json_object *doc = json_object_new_object();
        json_object *keys = json_object_new_array();
        if (doc == NULL || keys == NULL || json_object_object_add(doc, "keys", keys) != 0) {
            json_object_put(doc);
            json_object_put(keys);
            HS_BAIL(HS_ERR_NOMEM);
        }
        *out = doc;
        return HS_OK;
    }
    HS_DEFER(struct hs_buf *text = NULL, hs_buf_freep);
    HS_GUARD(hs_file_read(path, SGN_JWKS_MAX, &text));
    return hs_json_parse_object((const char *)hs_buf_data(text), hs_buf_len(text), SGN_JWKS_MAX,
                                HS_JSON_DEPTH_MAX, out);
}

/* Checks the edited set as hsmsignd will read it, then replaces the file atomically. */
static HS_RESULT kc_jwks_write(const char *path, json_object *doc)
{
    HS_DEFER(char *text = NULL, hs_free_strp);
    HS_GUARD(hs_json_to_string(doc, &text));
    struct sgn_jwk_entry keys[SGN_JWT_KEYS_MAX];
    size_t n = 0;
    HS_GUARD(sgn_jwks_parse(text, strlen(text), keys, &n));
    sgn_jwk_entries_clear(keys, n);
    return hs_file_replace(path, text, strlen(text), 0644);
}

/* Adds jwk (taking a reference) as the first, newest key. */
static HS_RESULT kc_jwks_add(const char *path, json_object *jwk)
{
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    HS_GUARD(kc_jwks_read(path, &doc));
    json_object *old = NULL;
    HS_GUARD(hs_json_get_typed(doc, "keys", true, json_type_array, &old));
    json_object *keys = json_object_new_array();
    HS_ENSURE(keys != NULL, HS_ERR_NOMEM);
    HS_ENSURE(json_object_array_add(keys, json_object_get(jwk)) == 0, HS_ERR_NOMEM);
    for (size_t i = 0; i < json_object_array_length(old); i++) {
        json_object *k = json_object_get(json_object_array_get_idx(old, i));
        HS_ENSURE(json_object_array_add(keys, k) == 0, HS_ERR_NOMEM);
    }
    HS_ENSURE(json_object_object_add(doc, "keys", keys) == 0, HS_ERR_NOMEM);
    return kc_jwks_write(path, doc);
}

static HS_RESULT kc_jwks_remove(const char *path, const char *kid)
{
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    HS_GUARD(kc_jwks_read(path, &doc));
    json_object *old = NULL;
    HS_GUARD(hs_json_get_typed(doc, "keys", true, json_type_array, &old));
    json_object *keys = json_object_new_array();
    HS_ENSURE(keys != NULL, HS_ERR_NOMEM);
    size_t removed = 0;
    for (size_t i = 0; i < json_object_array_length(old); i++) {
        json_object *k = json_object_array_get_idx(old, i);
        json_object *v = NULL;
        if (json_object_object_get_ex(k, "kid", &v) &&
            strcmp(json_object_get_string(v), kid) == 0) {
            removed++;
            continue;
        }
        HS_ENSURE(json_object_array_add(keys, json_object_get(k)) == 0, HS_ERR_NOMEM);
    }
    HS_ENSURE(json_object_object_add(doc, "keys", keys) == 0, HS_ERR_NOMEM);
    HS_ENSURE_MSG(removed == 1, HS_ERR_INPUT_NOT_FOUND, "kid %s is not in %s", kid, path);
    return kc_jwks_write(path, doc);
}

HS_RESULT kc_plan_jwt_key(const struct kc_config *cfg)
{
    kc_plan_keygen(cfg, &cfg->key);
    kc_plan_line("JWS alg: %s", cfg->jwt_alg != NULL ? cfg->jwt_alg : "the key type's default");
    kc_plan_line("kid: the RFC 7638 thumbprint of the new public key");
    if (cfg->jwk_output != NULL) {
        kc_plan_line("write the public JWK to %s (new file, 0644)", cfg->jwk_output);
    }
    if (cfg->jwks != NULL) {
        kc_plan_line("add it to %s as the newest key (%s; replaced atomically); hsmsignd signs "
                     "with the newest key after its next start",
                     cfg->jwks,
                     hs_file_exists(cfg->jwks) ? "existing keys stay published"
                                               : "the file is created");
    }
    return HS_OK;
}

HS_RESULT kc_run_jwt_key(const struct kc_config *cfg)
{
    HS_DEFER(struct kc_session s = {0}, kc_session_close);
    HS_GUARD(kc_session_open(&cfg->token, &s));
    HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
    HS_GUARD(kc_key_create(&s, &cfg->key, &key));
    HS_DEFER(struct sgn_jwt_key *jk = NULL, sgn_jwt_key_freep);
    HS_GUARD(sgn_jwt_key_new(key, cfg->jwt_alg, &jk));
    HS_GUARD(kc_transcript(
        cfg, &s,
        &(struct kc_record){.key = key, .kid = sgn_jwt_key_kid(jk), .event = "key generated"}));
    HS_DEFER(json_object *jwk = NULL, hs_json_putp);
    HS_GUARD(sgn_jwk_new(p11_key_get0_public(key), sgn_jwt_key_alg(jk), &jwk));
    if (cfg->jwk_output != NULL) {
        HS_DEFER(char *text = NULL, hs_free_strp);
        HS_GUARD(hs_json_to_string(jwk, &text));
        HS_GUARD(hs_file_write_new(cfg->jwk_output, text, strlen(text), 0644));
    }
    if (cfg->jwks != NULL) {
        HS_GUARD(kc_jwks_add(cfg->jwks, jwk));
    }
    return kc_transcript(
        cfg, &s,
        &(struct kc_record){.kid = sgn_jwt_key_kid(jk),
                            .output = cfg->jwks != NULL ? cfg->jwks : cfg->jwk_output,
                            .event = "JWK published"});
}

HS_RESULT kc_plan_jwt_retire(const struct kc_config *cfg)
{
    kc_plan_line("remove kid %s from %s (replaced atomically); the key stays in the token",
                 cfg->retire_kid, cfg->jwks);
    kc_plan_line("hsmsignd stops publishing and using it after its next start");
    return HS_OK;
}

HS_RESULT kc_run_jwt_retire(const struct kc_config *cfg)
{
    HS_GUARD(kc_jwks_remove(cfg->jwks, cfg->retire_kid));
    return kc_transcript(
        cfg, NULL,
        &(struct kc_record){.kid = cfg->retire_kid, .output = cfg->jwks, .event = "JWK retired"});
}
