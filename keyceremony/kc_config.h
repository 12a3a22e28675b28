/*
 * kc_config: the key ceremony's configuration files.
 *
 * Each ceremony step has its own strict JSON document: unknown keys, missing fields, wrong
 * types, unknown key types, RSA below 2048 bits, subjects without CN and output paths that
 * already exist are errors that name the field. The whole document is validated before the
 * PKCS#11 module is loaded, so a mistake never touches the token. Relative paths are relative
 * to the working directory.
 */
#ifndef KC_CONFIG_H
#define KC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>
#include <openssl/x509.h>

#include "hs_err.h"
#include "p11_config.h"
#include "p11_key.h"
#include "sgn_jwt.h"

#define KC_CONFIG_MAX (64 * 1024) /* bytes of a config file */
#define KC_PATH_MAX 1024          /* bytes of a path in a config */
#define KC_VALIDITY_DAYS_MAX 36500

enum kc_step {
    KC_STEP_INIT_TOKEN,
    KC_STEP_ROOT,
    KC_STEP_INTERMEDIATE,
    KC_STEP_JWT_KEY,
    KC_STEP_EXPORT,
};

struct kc_key {
    const char *label;
    enum p11_key_type type;
    unsigned int rsa_bits;
};

struct kc_cert {
    X509_NAME *subject; /* owned */
    long validity_days;
    int path_len;       /* intermediate only; -1 = none */
    const char *output; /* PEM written here with O_CREAT|O_EXCL */
};

struct kc_jwt_entry {
    const char *key; /* RFC 7512 URI or label */
    const char *alg; /* JWS alg, NULL = key default */
};

/* One parsed configuration. Strings point into the parsed JSON document, which the struct
 * owns; release everything with kc_config_free(). */
struct kc_config {
    enum kc_step step;
    json_object *doc;
    struct p11_token_config token;
    const char *transcript; /* JSON lines appended per step; NULL = none */
    /* init-token */
    const char *so_pin_file;
    /* root, intermediate, jwt-key */
    struct kc_key key;
    /* root, intermediate */
    struct kc_cert cert;
    /* intermediate */
    const char *issuer_key;  /* URI or label of the root key */
    const char *issuer_cert; /* root certificate PEM */
    /* jwt-key */
    const char *jwt_alg;    /* JWS alg, NULL = key default */
    const char *jwk_output; /* the new key's public JWK, written with O_EXCL */
    /* export */
    const char *root_cert;
    const char *intermediate_cert;
    const char *truststore_output;
    const char *jwks_output;
    struct sgn_jwt_key_ref jwt_keys[SGN_JWT_KEYS_MAX];
    size_t njwt_keys;
};

/* Reads and validates the config file at path for step. Errors: HS_ERR_INPUT_CONFIG /
 * HS_ERR_INPUT_FIELD / HS_ERR_INPUT_RANGE / HS_ERR_INPUT_KEY / HS_ERR_INPUT_EXISTS with a
 * detail naming the field, HS_ERR_INPUT_NOT_FOUND, HS_ERR_IO. The caller frees *out with
 * kc_config_free(). */
HS_RESULT kc_config_load(enum kc_step step, const char *path, struct kc_config **out);

void kc_config_free(struct kc_config *cfg);
void kc_config_freep(struct kc_config **cfg);

/* Name of a step as used on the command line ("root", "jwt-key"...). */
const char *kc_step_name(enum kc_step step);

#endif /* KC_CONFIG_H */
