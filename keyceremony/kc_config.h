/*
 * kc_config: the key ceremony's configuration files (docs/ceremony.md, keyceremony/examples/).
 *
 * Each ceremony step has its own strict JSON document: unknown keys, missing fields, wrong
 * types, unknown key types, RSA below 2048 bits, subjects without CN, malformed URLs and name
 * constraints, and output paths that already exist are errors that name the field. The whole
 * document, and every input file it names, is checked before the PKCS#11 module is loaded, so
 * a mistake never touches the token. Relative paths are relative to the working directory.
 */
#ifndef KC_CONFIG_H
#define KC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <openssl/x509.h>

#include "common/hs_err.h"
#include "pkcs11/p11_config.h"
#include "pkcs11/p11_key.h"
#include "signer/sgn_cert.h"
#include "signer/sgn_crl.h"
#include "signer/sgn_ext.h"
#include "signer/sgn_jwt.h"

#define KC_CONFIG_MAX (256 * 1024) /* bytes of a config file */
#define KC_PATH_MAX 1024           /* bytes of a path in a config */
#define KC_VALIDITY_DAYS_MAX 36500
#define KC_CRL_DAYS_MAX 366
#define KC_CRL_ENTRIES_MAX 10000
#define KC_DAY_S 86400L

enum kc_step {
    KC_STEP_INIT_TOKEN,
    KC_STEP_ROOT,
    KC_STEP_KEY,
    KC_STEP_INTERMEDIATE,
    KC_STEP_CROSS_SIGN,
    KC_STEP_CRL,
    KC_STEP_JWT_KEY,
    KC_STEP_JWT_RETIRE,
    KC_STEP_EXPORT,
    KC_STEP_VERIFY,
    KC_STEP_SSH_CA,
};

#define KC_SSH_CA_KEYS_MAX 8        /* CA keys of one kind published at once (rotation) */
#define KC_SSH_HOST_PATTERNS_MAX 16 /* host patterns of the @cert-authority lines */
#define KC_SSH_HOST_PATTERN_MAX 255 /* bytes of one host pattern */
#define KC_SSH_PUB_FILE_MAX 65536   /* bytes of a published CA file read back by verify */

struct kc_key {
    const char *label;
    enum p11_key_type type;
    unsigned int rsa_bits;
};

/* ssh-ca: one SSH CA key to generate (user or host CA). */
struct kc_ssh_ca {
    bool present;
    struct kc_key key;  /* EC-P256, EC-P384, RSA-3072, RSA-4096 or Ed25519 */
    const char *output; /* the new key's OpenSSH public-key line, O_CREAT|O_EXCL; may be NULL */
};

/* export: the SSH CA files (every key a label or RFC 7512 URI, newest first). */
struct kc_ssh_export {
    const char *user_ca_keys[KC_SSH_CA_KEYS_MAX];
    size_t n_user_ca_keys;
    const char *host_ca_keys[KC_SSH_CA_KEYS_MAX];
    size_t n_host_ca_keys;
    const char *host_patterns[KC_SSH_HOST_PATTERNS_MAX]; /* known_hosts host patterns */
    size_t n_host_patterns;
    const char *user_ca_output;     /* TrustedUserCAKeys file, O_EXCL */
    const char *host_ca_output;     /* the host CA lines, O_EXCL */
    const char *known_hosts_output; /* "@cert-authority PATTERNS LINE" lines, O_EXCL */
};

/* The certificate a root, intermediate or cross-sign step issues. */
struct kc_cert {
    X509_NAME *subject; /* owned; NULL for cross-sign (the subject certificate's) */
    long validity_days;
    int path_len;     /* CA pathLenConstraint; -1 = none */
    unsigned int eku; /* enum sgn_eku bits; 0 = no EKU extension */
    const char *permitted_dns[SGN_EXT_NAMES_MAX];
    size_t npermitted_dns;
    const char *permitted_email[SGN_EXT_NAMES_MAX];
    size_t npermitted_email;
    const char *crl_distribution_point; /* URL or NULL */
    const char *ca_issuers;             /* URL or NULL */
    const char *output;                 /* PEM written here with O_CREAT|O_EXCL */
};

struct kc_crl {
    uint64_t number;
    long validity_days;
    struct sgn_crl_entry entries[KC_CRL_ENTRIES_MAX];
    size_t n;
    const char *output; /* PEM, O_CREAT|O_EXCL */
};

/* One parsed configuration. Strings point into the parsed JSON document, which the struct
 * owns; release everything with kc_config_free(). */
struct kc_config {
    enum kc_step step;
    json_object *doc;
    struct p11_token_config token;
    bool has_token;         /* jwt-key retire: the token block is optional */
    const char *transcript; /* JSON lines appended per step; NULL = none */
    /* init-token */
    const char *so_pin_file;
    /* root, key, intermediate (unless public_key), jwt-key */
    struct kc_key key;
    /* key: the new key's SubjectPublicKeyInfo (PEM), written with O_EXCL */
    const char *public_key_output;
    /* intermediate: certify this public key (PEM SPKI from a key step on another token)
     * instead of generating the key; NULL = generate key */
    const char *public_key;
    /* root, intermediate, cross-sign */
    struct kc_cert cert;
    /* intermediate, cross-sign, crl */
    const char *issuer_key;  /* URI or label of the issuing key */
    const char *issuer_cert; /* its certificate (PEM) */
    /* cross-sign */
    const char *subject_cert; /* the existing CA certificate whose key is certified again */
    /* crl */
    struct kc_crl *crl; /* owned */
    /* jwt-key */
    const char *jwt_alg;    /* JWS alg, NULL = key default */
    const char *jwk_output; /* the new key's public JWK, written with O_EXCL; may be NULL */
    /* jwt-key, jwt-key retire, verify: the published JWK Set, updated atomically */
    const char *jwks;
    char retire_kid[SGN_KID_LEN + 1]; /* jwt-key retire */
    /* export, verify: the X.509 part (optional in both when an "ssh" block is given) */
    bool has_x509;
    const char *root_cert;
    const char *intermediate_cert;
    /* verify: the key is kept on another token (an offline root); only its certificate and
     * the chain are checked here */
    bool root_key_offline;
    bool intermediate_key_offline;
    /* export */
    const char *truststore_output;
    const char *jwks_output;
    struct sgn_jwt_key_ref jwt_keys[SGN_JWT_KEYS_MAX];
    size_t njwt_keys;
    /* ssh-ca */
    struct kc_ssh_ca ssh_user_ca;
    struct kc_ssh_ca ssh_host_ca;
    /* export, verify: the "ssh" block */
    bool has_ssh;
    struct kc_ssh_export ssh_export;  /* export */
    const char *ssh_user_ca_file;     /* verify: a published user CA file; may be NULL */
    const char *ssh_host_ca_file;     /* verify: a published host CA file; may be NULL */
    const char *ssh_known_hosts_file; /* verify: the exported known_hosts; needs host_ca */
};

/* Reads and validates the config file at path for step (retire_kid: the kid for jwt-key
 * retire, else NULL). Errors: HS_ERR_INPUT_CONFIG / HS_ERR_INPUT_FIELD / HS_ERR_INPUT_RANGE /
 * HS_ERR_INPUT_KEY / HS_ERR_INPUT_EXISTS with a detail naming the field, HS_ERR_INPUT_NOT_FOUND,
 * HS_ERR_IO. The caller frees *out with kc_config_free(). */
HS_RESULT kc_config_load(enum kc_step step, const char *path, const char *retire_kid,
                         struct kc_config **out);

void kc_config_free(struct kc_config *cfg);
void kc_config_freep(struct kc_config **cfg);

/* Name of a step as used on the command line ("root", "jwt-key"...). */
const char *kc_step_name(enum kc_step step);

/* Name of a key type as configs spell it ("EC-P384", "RSA-4096", "Ed25519"). */
const char *kc_key_type_name(const struct kc_key *key);

#endif /* KC_CONFIG_H */
