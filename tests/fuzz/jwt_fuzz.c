/*
 * jwt_fuzz: the JWK Set parser (sgn_jwks_parse), which reads the set the key ceremony publishes
 * and rotates (keyceremony jwt-key / jwt-key retire / verify, and hsmsignd's jwt.jwks_file),
 * and the JWT key references of a config (sgn_jwt_key_refs_parse, jwt.keys and the export
 * step's jwt_keys). hsmsign verifies no JWT itself: it only signs them (sgn_jwt_sign, fixed
 * input) and serves its JWK Set, which the client prints as JSON without decoding the keys.
 *
 * The input is one JSON document, as a JWK Set file (at most SGN_JWKS_MAX bytes). A set that
 * parses is checked as the ceremony's writer relies on it: each kid is the RFC 7638 thumbprint
 * of its key, and each key written back as a JWK (sgn_jwk_new) and parsed again as a set
 * (what kc_jwks_write does before replacing the file) gives the same kid and alg.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "signer/sgn_jwt.h"
#include "tests/fuzz/fuzz_support.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

/* The promise of sgn_jwt.h: alg fits the key (regress-alg-mismatch was accepted before). */
static void jwt_fuzz_alg_fits(const struct sgn_jwk_entry *e)
{
    bool fits = EVP_PKEY_is_a(e->pub, "RSA")
                    ? strcmp(e->alg, "RS256") == 0 || strcmp(e->alg, "PS256") == 0
                : EVP_PKEY_is_a(e->pub, "ED25519") ? strcmp(e->alg, "EdDSA") == 0
                : EVP_PKEY_get_bits(e->pub) == 384 ? strcmp(e->alg, "ES384") == 0
                                                   : strcmp(e->alg, "ES256") == 0;
    if (!fits) {
        fuzz_abort();
    }
}

/* The set written back from its keys parses to the same kids and algs. */
static void jwt_fuzz_roundtrip(const struct sgn_jwk_entry *keys, size_t n)
{
    HS_DEFER(json_object *doc = json_object_new_object(), hs_json_putp);
    json_object *arr = json_object_new_array();
    if (doc == NULL || arr == NULL || json_object_object_add(doc, "keys", arr) != 0) {
        fuzz_abort();
    }
    for (size_t i = 0; i < n; i++) {
        jwt_fuzz_alg_fits(&keys[i]);
        char kid[SGN_KID_LEN + 1];
        json_object *jwk = NULL;
        if (hs_failed(sgn_jwk_thumbprint(keys[i].pub, kid)) || strcmp(kid, keys[i].kid) != 0 ||
            hs_failed(sgn_jwk_new(keys[i].pub, keys[i].alg, &jwk)) ||
            json_object_array_add(arr, jwk) != 0) {
            fuzz_abort();
        }
    }
    HS_DEFER(char *text = NULL, hs_free_strp);
    if (hs_failed(hs_json_to_string(doc, &text))) {
        fuzz_abort();
    }
    struct sgn_jwk_entry again[SGN_JWT_KEYS_MAX];
    size_t m = 0;
    if (hs_failed(sgn_jwks_parse(text, strlen(text), again, &m)) || m != n) {
        fuzz_abort();
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(again[i].kid, keys[i].kid) != 0 || strcmp(again[i].alg, keys[i].alg) != 0) {
            fuzz_abort();
        }
    }
    sgn_jwk_entries_clear(again, m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sgn_jwk_entry keys[SGN_JWT_KEYS_MAX];
    size_t n = 0;
    if (!hs_failed(fuzz_debug(sgn_jwks_parse((const char *)data, size, keys, &n)))) {
        if (n < 1 || n > SGN_JWT_KEYS_MAX) {
            fuzz_abort();
        }
        jwt_fuzz_roundtrip(keys, n);
        sgn_jwk_entries_clear(keys, n);
    }
    /* The same document as a config object holding "keys": [{"key", "alg"}]. */
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    if (!hs_failed(hs_json_parse_object((const char *)data, size, SGN_JWKS_MAX, HS_JSON_DEPTH_MAX,
                                        &doc))) {
        struct sgn_jwt_key_ref refs[SGN_JWT_KEYS_MAX];
        size_t nrefs = 0;
        if (!hs_failed(sgn_jwt_key_refs_parse(doc, "keys", refs, &nrefs)) &&
            (nrefs < 1 || nrefs > SGN_JWT_KEYS_MAX || refs[0].key == NULL)) {
            fuzz_abort();
        }
    }
    ERR_clear_error();
    return 0;
}
