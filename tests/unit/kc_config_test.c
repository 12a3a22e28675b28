/*
 * kc_config: every example config (keyceremony/examples/) validates, and a table of bad configs
 * -- each an example with one change -- fails with the exact hs_result code and the exact
 * detail the operator sees, per ceremony step. Runs in a scratch directory holding the input
 * files the examples name; the token's module is a scratch file too, so no HSM is needed.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "common/hs_json.h"
#include "keyceremony/kc_config.h"
#include "signer/sgn_jwt.h"
#include "tests/testlib/hs_test.h"

#define CEREMONY "var/dev/ceremony/"
#define MODULE "fake-module.so"

static char examples_dir[1024];
static char scratch_dir[1100];
static char kid_first[SGN_KID_LEN + 1]; /* kids of the two keys in CEREMONY "jwks.json" */
static char kid_second[SGN_KID_LEN + 1];
static char jwks_two[4096];

static bool write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return false;
    }
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* A JWK Set of two fresh EC P-256 keys (kid = RFC 7638 thumbprint, as sgn_jwks_parse wants). */
static bool make_jwks(void)
{
    HS_DEFER(json_object *keys = json_object_new_array(), hs_json_putp);
    for (int i = 0; i < 2; i++) {
        HS_DEFER(EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), hs_evp_pkey_freep);
        json_object *jwk = NULL;
        if (k == NULL || hs_failed(sgn_jwk_new(k, "ES256", &jwk)) ||
            hs_failed(sgn_jwk_thumbprint(k, i == 0 ? kid_first : kid_second))) {
            return false;
        }
        json_object_array_add(keys, jwk);
    }
    HS_DEFER(json_object *doc = json_object_new_object(), hs_json_putp);
    json_object_object_add(doc, "keys", json_object_get(keys));
    const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
    if (strlen(s) >= sizeof(jwks_two)) {
        return false;
    }
    memcpy(jwks_two, s, strlen(s) + 1);
    return true;
}

/* What export-ssh writes and verify-ssh reads. */
static const char *const ssh_files[] = {CEREMONY "ssh_user_ca.pub", CEREMONY "ssh_host_ca.pub",
                                        CEREMONY "ssh_known_hosts"};

static bool remove_ssh_files(void)
{
    bool ok = true;
    for (size_t i = 0; i < sizeof(ssh_files) / sizeof(ssh_files[0]); i++) {
        ok = ok && (unlink(ssh_files[i]) == 0 || errno == ENOENT);
    }
    return ok;
}

/* The files the examples read, and none of those they write. */
static bool fixture_files(void)
{
    static const char *const inputs[] = {
        CEREMONY "root.pem",         CEREMONY "root-2.pem",
        CEREMONY "intermediate.pem", CEREMONY "issuing-ca-2.pub.pem",
        CEREMONY "ssh_user_ca.pub",  CEREMONY "ssh_host_ca.pub",
        CEREMONY "ssh_known_hosts"};
    bool ok = write_file("var/softhsm/user.pin", "1234\n") &&
              write_file("var/softhsm/so.pin", "5678\n") && write_file(MODULE, "") &&
              write_file(CEREMONY "jwks.json", jwks_two);
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        ok = ok && write_file(inputs[i], "-----BEGIN CERTIFICATE-----\n");
    }
    static const char *const outputs[] = {
        CEREMONY "root-crl-1.pem",     CEREMONY "intermediate-cross-root-2.pem",
        CEREMONY "truststore.pem",     CEREMONY "intermediate-constrained.pem",
        CEREMONY "intermediate-2.pem", CEREMONY "jwt-es256-1.jwk.json",
        CEREMONY "ssh-user-ca-1.pub",  CEREMONY "ssh-host-ca-1.pub"};
    for (size_t i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
        if (unlink(outputs[i]) != 0 && errno != ENOENT) {
            ok = false;
        }
    }
    return ok;
}

static bool fixture_dir(void)
{
    const char *base = getenv("HSMSIGN_TEST_TMPDIR");
    snprintf(scratch_dir, sizeof(scratch_dir), "%s/kc_config_test.XXXXXX",
             base != NULL ? base : "/tmp");
    if (mkdtemp(scratch_dir) == NULL || chdir(scratch_dir) != 0) {
        return false;
    }
    return mkdir("var", 0700) == 0 && mkdir("var/softhsm", 0700) == 0 &&
           mkdir("var/dev", 0700) == 0 && mkdir("var/dev/ceremony", 0700) == 0 && make_jwks() &&
           fixture_files();
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* --- configs ------------------------------------------------------------------------------- */

/* Reads examples/<name>.json with its token module pointed at the scratch MODULE. */
static json_object *example(const char *name)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s.json", examples_dir, name);
    HS_DEFER(struct hs_buf *text = NULL, hs_buf_freep);
    if (hs_failed(hs_file_read(path, KC_CONFIG_MAX, &text))) {
        return NULL;
    }
    json_object *doc = NULL;
    if (hs_failed(hs_json_parse_object((const char *)hs_buf_data(text), hs_buf_len(text),
                                       KC_CONFIG_MAX, HS_JSON_DEPTH_MAX, &doc))) {
        return NULL;
    }
    json_object *token = NULL;
    if (json_object_object_get_ex(doc, "token", &token)) {
        json_object_object_add(token, "module", json_object_new_string(MODULE));
    }
    return doc;
}

/* Sets (value: JSON text) or removes (value NULL) the member at a dotted path ("a.b.c"). */
static bool mutate(json_object *doc, const char *path, const char *value)
{
    char buf[256];
    if (strlen(path) >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, path, strlen(path) + 1);
    json_object *obj = doc;
    char *key = buf;
    for (char *dot = strchr(key, '.'); dot != NULL; dot = strchr(key, '.')) {
        *dot = '\0';
        if (!json_object_object_get_ex(obj, key, &obj) ||
            !json_object_is_type(obj, json_type_object)) {
            return false;
        }
        key = dot + 1;
    }
    if (value == NULL) {
        json_object_object_del(obj, key);
        return true;
    }
    json_object *v = json_tokener_parse(value);
    if (v == NULL && strcmp(value, "null") != 0) {
        return false;
    }
    return json_object_object_add(obj, key, v) == 0;
}

static HS_RESULT load_doc(enum kc_step step, json_object *doc, const char *kid)
{
    if (!write_file("cfg.json", json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY))) {
        return (hs_result){HS_ERR_IO};
    }
    struct kc_config *cfg = NULL;
    hs_result r = kc_config_load(step, "cfg.json", kid, &cfg);
    HS_CHECK(hs_failed(r) == (cfg == NULL));
    kc_config_free(cfg);
    return r;
}

/* --- good configs -------------------------------------------------------------------------- */

HS_TEST(every_example_validates)
{
    static const struct {
        const char *name;
        enum kc_step step;
        const char *output; /* an input of other examples this one writes: removed first */
    } good[] = {
        {"init-token", KC_STEP_INIT_TOKEN, NULL},
        {"root", KC_STEP_ROOT, CEREMONY "root.pem"},
        {"root-2", KC_STEP_ROOT, CEREMONY "root-2.pem"},
        {"key", KC_STEP_KEY, CEREMONY "issuing-ca-2.pub.pem"},
        {"intermediate", KC_STEP_INTERMEDIATE, CEREMONY "intermediate.pem"},
        {"intermediate-constrained", KC_STEP_INTERMEDIATE, NULL},
        {"intermediate-public-key", KC_STEP_INTERMEDIATE, NULL},
        {"cross-sign", KC_STEP_CROSS_SIGN, NULL},
        {"crl", KC_STEP_CRL, NULL},
        {"jwt-key", KC_STEP_JWT_KEY, NULL},
        {"jwt-key-rotate", KC_STEP_JWT_KEY, NULL},
        {"jwt-key-retire", KC_STEP_JWT_RETIRE, NULL},
        {"export", KC_STEP_EXPORT, CEREMONY "jwks.json"},
        {"verify", KC_STEP_VERIFY, NULL},
        {"ssh-ca", KC_STEP_SSH_CA, NULL},
        {"ssh-ca-production", KC_STEP_SSH_CA, NULL},
        {"export-ssh", KC_STEP_EXPORT, NULL},
        {"export-ssh-production", KC_STEP_EXPORT, NULL},
        {"verify-ssh", KC_STEP_VERIFY, NULL},
    };
    /* every example is in this list */
    size_t files = 0;
    DIR *dir = opendir(examples_dir);
    HS_CHECK(dir != NULL);
    for (struct dirent *d = dir != NULL ? readdir(dir) : NULL; d != NULL; d = readdir(dir)) {
        files += strstr(d->d_name, ".json") != NULL;
    }
    if (dir != NULL) {
        closedir(dir);
    }
    HS_CHECK(files == sizeof(good) / sizeof(good[0]));
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        HS_CHECK(fixture_files());
        if (good[i].output != NULL) {
            HS_CHECK(unlink(good[i].output) == 0);
        }
        if (good[i].step == KC_STEP_EXPORT) {
            HS_CHECK(remove_ssh_files());
        }
        HS_DEFER(json_object *doc = example(good[i].name), hs_json_putp);
        HS_CHECK(doc != NULL);
        if (doc == NULL) {
            continue;
        }
        hs_error_clear();
        const char *kid = good[i].step == KC_STEP_JWT_RETIRE ? kid_first : NULL;
        hs_result r = load_doc(good[i].step, doc, kid);
        if (hs_failed(r)) {
            fprintf(stderr, "  examples/%s.json: %s: %s\n", good[i].name, hs_code_name(r.code),
                    hs_error_last()->detail);
        }
        HS_CHECK(!hs_failed(r));
    }
    HS_CHECK(fixture_files());
}

/* --- bad configs --------------------------------------------------------------------------- */

#define DELETE NULL

struct bad_case {
    const char *example;
    enum kc_step step;
    const char *path;  /* member changed */
    const char *value; /* new value (JSON text), or DELETE */
    enum hs_code code;
    const char *detail; /* exactly what the operator reads */
};

static const struct bad_case bad[] = {
    {"init-token", KC_STEP_INIT_TOKEN, "extra", "1", HS_ERR_INPUT_FIELD,
     "init-token: unknown field \"extra\""},
    {"init-token", KC_STEP_INIT_TOKEN, "so_pin_file", DELETE, HS_ERR_INPUT_FIELD,
     "field \"so_pin_file\" is required"},
    {"init-token", KC_STEP_INIT_TOKEN, "so_pin_file", "\"var/softhsm/nope.pin\"",
     HS_ERR_INPUT_NOT_FOUND, "field \"so_pin_file\": var/softhsm/nope.pin does not exist"},
    {"init-token", KC_STEP_INIT_TOKEN, "so_pin_file", "5", HS_ERR_INPUT_FIELD,
     "field \"so_pin_file\" must be of type string"},
    {"init-token", KC_STEP_INIT_TOKEN, "token", DELETE, HS_ERR_INPUT_FIELD,
     "field \"token\" is required"},
    {"init-token", KC_STEP_INIT_TOKEN, "token", "\"hsmsign-dev\"", HS_ERR_INPUT_FIELD,
     "field \"token\" must be of type object"},
    {"init-token", KC_STEP_INIT_TOKEN, "token.label", DELETE, HS_ERR_INPUT_FIELD,
     "field \"label\" is required; in \"token\""},
    {"init-token", KC_STEP_INIT_TOKEN, "token.label", "\"a-label-that-is-longer-than-32-bytes\"",
     HS_ERR_INPUT_TOO_LARGE, "field \"label\" is longer than 32 bytes; in \"token\""},
    {"init-token", KC_STEP_INIT_TOKEN, "token.module", "\"nope.so\"", HS_ERR_INPUT_NOT_FOUND,
     "token.module: nope.so does not exist"},
    {"init-token", KC_STEP_INIT_TOKEN, "token.extra", "1", HS_ERR_INPUT_FIELD,
     "token: unknown field \"extra\"; in \"token\""},
    {"init-token", KC_STEP_INIT_TOKEN, "transcript", "7", HS_ERR_INPUT_FIELD,
     "field \"transcript\" must be of type string"},
    {"root", KC_STEP_ROOT, "key", DELETE, HS_ERR_INPUT_FIELD, "field \"key\" is required"},
    {"root", KC_STEP_ROOT, "key", "\"EC-P384\"", HS_ERR_INPUT_FIELD,
     "field \"key\" must be of type object"},
    {"root", KC_STEP_ROOT, "key.type", "\"RSA-1024\"", HS_ERR_INPUT_KEY,
     "key.type: RSA-1024 refused; RSA keys need 2048, 3072 or 4096 bits"},
    {"root", KC_STEP_ROOT, "key.type", "\"EC-P521\"", HS_ERR_INPUT_KEY,
     "key.type: unknown key type EC-P521 (EC-P256, EC-P384, RSA-2048, RSA-3072, RSA-4096)"},
    {"root", KC_STEP_ROOT, "key.type", "\"Ed25519\"", HS_ERR_INPUT_KEY,
     "key.type: unknown key type Ed25519 (EC-P256, EC-P384, RSA-2048, RSA-3072, RSA-4096)"},
    {"root", KC_STEP_ROOT, "key.type", "384", HS_ERR_INPUT_FIELD,
     "field \"type\" must be of type string; in \"key\""},
    {"root", KC_STEP_ROOT, "key.label", DELETE, HS_ERR_INPUT_FIELD,
     "field \"label\" is required; in \"key\""},
    {"root", KC_STEP_ROOT, "key.label", "42", HS_ERR_INPUT_FIELD,
     "field \"label\" must be of type string; in \"key\""},
    {"root", KC_STEP_ROOT, "key.extra", "true", HS_ERR_INPUT_FIELD,
     "key: unknown field \"extra\"; in \"key\""},
    {"root", KC_STEP_ROOT, "certificate", "5", HS_ERR_INPUT_FIELD,
     "field \"certificate\" must be of type object"},
    {"root", KC_STEP_ROOT, "certificate", DELETE, HS_ERR_INPUT_FIELD,
     "field \"certificate\" is required"},
    {"root", KC_STEP_ROOT, "certificate.subject", DELETE, HS_ERR_INPUT_FIELD,
     "field \"subject\" is required; in \"certificate\""},
    {"root", KC_STEP_ROOT, "certificate.subject.CN", DELETE, HS_ERR_INPUT_FIELD,
     "field \"CN\" is required; in \"subject\"; in \"certificate\""},
    {"root", KC_STEP_ROOT, "certificate.subject.C", "\"DEU\"", HS_ERR_INPUT_FIELD,
     "subject.C must be a two-letter code; in \"certificate\""},
    {"root", KC_STEP_ROOT, "certificate.subject.CN",
     "\"a-common-name-that-is-longer-than-sixty-four-bytes-which-is-ub-cn\"",
     HS_ERR_INPUT_TOO_LARGE,
     "field \"CN\" is longer than 64 bytes; in \"subject\"; in \"certificate\""},
    {"root", KC_STEP_ROOT, "certificate.subject.E", "\"x@example.com\"", HS_ERR_INPUT_FIELD,
     "subject: unknown field \"E\"; in \"subject\"; in \"certificate\""},
    {"root", KC_STEP_ROOT, "certificate.validity_days", "0", HS_ERR_INPUT_RANGE,
     "field \"validity_days\" must be between 1 and 36500; in \"certificate\""},
    {"root", KC_STEP_ROOT, "certificate.validity_days", "36501", HS_ERR_INPUT_RANGE,
     "field \"validity_days\" must be between 1 and 36500; in \"certificate\""},
    {"root", KC_STEP_ROOT, "certificate.validity_days", "\"3650\"", HS_ERR_INPUT_FIELD,
     "field \"validity_days\" must be of type int; in \"certificate\""},
    {"root", KC_STEP_ROOT, "certificate.validity_days", "3.5", HS_ERR_INPUT_FIELD,
     "field \"validity_days\" must be of type int; in \"certificate\""},
    {"root", KC_STEP_ROOT, "certificate.validity_days", DELETE, HS_ERR_INPUT_FIELD,
     "field \"validity_days\" is required; in \"certificate\""},
    {"root", KC_STEP_ROOT, "certificate.output", "\"var/dev/ceremony/intermediate.pem\"",
     HS_ERR_INPUT_EXISTS,
     "field \"output\": var/dev/ceremony/intermediate.pem already exists; refusing to overwrite; "
     "in \"certificate\""},
    {"root", KC_STEP_ROOT, "certificate.output", "\"no-such-dir/root.pem\"", HS_ERR_INPUT_CONFIG,
     "field \"output\": the directory of no-such-dir/root.pem does not exist; in \"certificate\""},
    {"root", KC_STEP_ROOT, "certificate.output", DELETE, HS_ERR_INPUT_FIELD,
     "field \"output\" is required; in \"certificate\""},
    {"root", KC_STEP_ROOT, "certificate.path_len", "0", HS_ERR_INPUT_FIELD,
     "certificate: unknown field \"path_len\""},
    {"root", KC_STEP_ROOT, "certificate.eku", "[\"serverAuth\"]", HS_ERR_INPUT_FIELD,
     "certificate: unknown field \"eku\""},
    {"key", KC_STEP_KEY, "public_key_output", DELETE, HS_ERR_INPUT_FIELD,
     "field \"public_key_output\" is required"},
    {"key", KC_STEP_KEY, "public_key_output", "\"var/dev/ceremony/root.pem\"", HS_ERR_INPUT_EXISTS,
     "field \"public_key_output\": var/dev/ceremony/root.pem already exists; refusing to "
     "overwrite"},
    {"key", KC_STEP_KEY, "key.type", "\"RSA-8192\"", HS_ERR_INPUT_KEY,
     "key.type: RSA-8192 refused; RSA keys need 2048, 3072 or 4096 bits"},
    {"key", KC_STEP_KEY, "certificate", "{}", HS_ERR_INPUT_FIELD,
     "key: unknown field \"certificate\""},
    {"intermediate", KC_STEP_INTERMEDIATE, "issuer", DELETE, HS_ERR_INPUT_FIELD,
     "field \"issuer\" is required"},
    {"intermediate", KC_STEP_INTERMEDIATE, "issuer.key", DELETE, HS_ERR_INPUT_FIELD,
     "field \"key\" is required; in \"issuer\""},
    {"intermediate", KC_STEP_INTERMEDIATE, "issuer.certificate", "\"var/dev/ceremony/missing.pem\"",
     HS_ERR_INPUT_NOT_FOUND,
     "field \"certificate\": var/dev/ceremony/missing.pem does not exist; in \"issuer\""},
    {"intermediate", KC_STEP_INTERMEDIATE, "issuer.extra", "1", HS_ERR_INPUT_FIELD,
     "issuer: unknown field \"extra\"; in \"issuer\""},
    {"intermediate", KC_STEP_INTERMEDIATE, "public_key",
     "\"var/dev/ceremony/issuing-ca-2.pub.pem\"", HS_ERR_INPUT_FIELD,
     "exactly one of \"key\" (generate the intermediate key on this token) and \"public_key\" "
     "(certify a key made by the key step on another token) is required"},
    {"intermediate", KC_STEP_INTERMEDIATE, "key", DELETE, HS_ERR_INPUT_FIELD,
     "exactly one of \"key\" (generate the intermediate key on this token) and \"public_key\" "
     "(certify a key made by the key step on another token) is required"},
    {"intermediate", KC_STEP_INTERMEDIATE, "certificate.path_len", "9", HS_ERR_INPUT_RANGE,
     "field \"path_len\" must be between 0 and 8; in \"certificate\""},
    {"intermediate", KC_STEP_INTERMEDIATE, "certificate.path_len", "-1", HS_ERR_INPUT_RANGE,
     "field \"path_len\" must be between 0 and 8; in \"certificate\""},
    {"intermediate", KC_STEP_INTERMEDIATE, "certificate.eku", "[\"codeSigning\"]",
     HS_ERR_INPUT_FIELD, "field \"eku\": entry 0 is not valid; in \"certificate\""},
    {"intermediate", KC_STEP_INTERMEDIATE, "certificate.eku",
     "[\"serverAuth\", \"clientAuth\", \"serverAuth\"]", HS_ERR_INPUT_RANGE,
     "field \"eku\" lists more than 2 entries; in \"certificate\""},
    {"intermediate", KC_STEP_INTERMEDIATE, "certificate.eku", "\"serverAuth\"", HS_ERR_INPUT_FIELD,
     "field \"eku\" must be of type array; in \"certificate\""},
    {"intermediate", KC_STEP_INTERMEDIATE, "certificate.name_constraints", "{}", HS_ERR_INPUT_FIELD,
     "name_constraints permits nothing; in \"certificate\""},
    {"intermediate", KC_STEP_INTERMEDIATE, "certificate.name_constraints",
     "{\"permitted_dns\": [\"bad..name\"]}", HS_ERR_INPUT_FIELD,
     "field \"permitted_dns\": entry 0 is not valid; in \"certificate\""},
    {"intermediate", KC_STEP_INTERMEDIATE, "certificate.name_constraints",
     "{\"excluded_dns\": [\"example.com\"]}", HS_ERR_INPUT_FIELD,
     "name_constraints: unknown field \"excluded_dns\"; in \"certificate\""},
    {"intermediate", KC_STEP_INTERMEDIATE, "certificate.crl_distribution_point",
     "\"ftp://pki.example.com/root.crl\"", HS_ERR_INPUT_FIELD,
     "field \"crl_distribution_point\" must be an http:// or https:// URL; in \"certificate\""},
    {"intermediate", KC_STEP_INTERMEDIATE, "certificate.ca_issuers", "5", HS_ERR_INPUT_FIELD,
     "field \"ca_issuers\" must be of type string; in \"certificate\""},
    {"intermediate", KC_STEP_INTERMEDIATE, "certificate.output", "\"var/dev/ceremony/root.pem\"",
     HS_ERR_INPUT_EXISTS,
     "field \"output\": var/dev/ceremony/root.pem already exists; refusing to overwrite; in "
     "\"certificate\""},
    {"intermediate-public-key", KC_STEP_INTERMEDIATE, "public_key",
     "\"var/dev/ceremony/missing.pub.pem\"", HS_ERR_INPUT_NOT_FOUND,
     "field \"public_key\": var/dev/ceremony/missing.pub.pem does not exist"},
    {"cross-sign", KC_STEP_CROSS_SIGN, "subject_certificate", DELETE, HS_ERR_INPUT_FIELD,
     "field \"subject_certificate\" is required"},
    {"cross-sign", KC_STEP_CROSS_SIGN, "subject_certificate", "\"var/dev/ceremony/missing.pem\"",
     HS_ERR_INPUT_NOT_FOUND,
     "field \"subject_certificate\": var/dev/ceremony/missing.pem does not exist"},
    {"cross-sign", KC_STEP_CROSS_SIGN, "certificate.subject", "{\"CN\": \"x\"}", HS_ERR_INPUT_FIELD,
     "certificate: unknown field \"subject\""},
    {"cross-sign", KC_STEP_CROSS_SIGN, "certificate.validity_days", "0", HS_ERR_INPUT_RANGE,
     "field \"validity_days\" must be between 1 and 36500; in \"certificate\""},
    {"cross-sign", KC_STEP_CROSS_SIGN, "certificate.output",
     "\"var/dev/ceremony/intermediate.pem\"", HS_ERR_INPUT_EXISTS,
     "field \"output\": var/dev/ceremony/intermediate.pem already exists; refusing to overwrite; "
     "in \"certificate\""},
    {"cross-sign", KC_STEP_CROSS_SIGN, "key", "{\"label\": \"x\"}", HS_ERR_INPUT_FIELD,
     "cross-sign: unknown field \"key\""},
    {"crl", KC_STEP_CRL, "crl", DELETE, HS_ERR_INPUT_FIELD, "field \"crl\" is required"},
    {"crl", KC_STEP_CRL, "crl.number", "0", HS_ERR_INPUT_RANGE,
     "field \"number\" must be between 1 and 9223372036854775807; in \"crl\""},
    {"crl", KC_STEP_CRL, "crl.number", "\"1\"", HS_ERR_INPUT_FIELD,
     "field \"number\" must be of type int; in \"crl\""},
    {"crl", KC_STEP_CRL, "crl.validity_days", "367", HS_ERR_INPUT_RANGE,
     "field \"validity_days\" must be between 1 and 366; in \"crl\""},
    {"crl", KC_STEP_CRL, "crl.revoked", DELETE, HS_ERR_INPUT_FIELD,
     "field \"revoked\" is required; in \"crl\""},
    {"crl", KC_STEP_CRL, "crl.revoked", "[{\"serial\": \"xyz\"}]", HS_ERR_INPUT_FIELD,
     "serial must be hex digits; in \"revoked\"; in \"crl\""},
    {"crl", KC_STEP_CRL, "crl.revoked", "[{\"serial\": \"01\", \"reason\": \"bogus\"}]",
     HS_ERR_INPUT_FIELD,
     "unknown revocation reason \"bogus\" (RFC 5280 §5.3.1); in \"revoked\"; in \"crl\""},
    {"crl", KC_STEP_CRL, "crl.revoked", "[{\"serial\": \"01\", \"revoked_at\": \"2026-13-01\"}]",
     HS_ERR_INPUT_FIELD, "a time must look like 2026-11-21T19:24:05Z; in \"revoked\"; in \"crl\""},
    {"crl", KC_STEP_CRL, "crl.revoked",
     "[{\"serial\": \"01\", \"revoked_at\": \"2099-01-01T00:00:00Z\"}]", HS_ERR_INPUT_RANGE,
     "revoked_at is in the future; in \"revoked\"; in \"crl\""},
    {"crl", KC_STEP_CRL, "crl.revoked", "[{\"serial\": \"01\", \"extra\": 1}]", HS_ERR_INPUT_FIELD,
     "revoked[]: unknown field \"extra\"; in \"revoked\"; in \"crl\""},
    {"crl", KC_STEP_CRL, "crl.revoked", "[5]", HS_ERR_INPUT_FIELD,
     "revoked entries must be objects; in \"revoked\"; in \"crl\""},
    {"crl", KC_STEP_CRL, "crl.output", "\"var/dev/ceremony/root.pem\"", HS_ERR_INPUT_EXISTS,
     "field \"output\": var/dev/ceremony/root.pem already exists; refusing to overwrite; in "
     "\"crl\""},
    {"crl", KC_STEP_CRL, "crl.extra", "1", HS_ERR_INPUT_FIELD, "crl: unknown field \"extra\""},
    {"jwt-key", KC_STEP_JWT_KEY, "alg", "\"RS256\"", HS_ERR_INPUT_FIELD,
     "alg: RS256 does not fit key.type EC-P256"},
    {"jwt-key", KC_STEP_JWT_KEY, "alg", "\"HS256\"", HS_ERR_INPUT_FIELD,
     "alg: HS256 does not fit key.type EC-P256"},
    {"jwt-key", KC_STEP_JWT_KEY, "jwk_output", DELETE, HS_ERR_INPUT_FIELD,
     "one of \"jwk_output\" and \"jwks\" is required"},
    {"jwt-key", KC_STEP_JWT_KEY, "jwk_output", "\"var/dev/ceremony/root.pem\"", HS_ERR_INPUT_EXISTS,
     "field \"jwk_output\": var/dev/ceremony/root.pem already exists; refusing to overwrite"},
    {"jwt-key", KC_STEP_JWT_KEY, "key.type", "\"EC-P384\"", HS_ERR_INPUT_FIELD,
     "alg: ES256 does not fit key.type EC-P384"},
    {"jwt-key", KC_STEP_JWT_KEY, "jwks", "\"no-such-dir/jwks.json\"", HS_ERR_INPUT_CONFIG,
     "field \"jwks\": the directory of no-such-dir/jwks.json does not exist"},
    {"jwt-key", KC_STEP_JWT_KEY, "certificate", "{}", HS_ERR_INPUT_FIELD,
     "jwt-key: unknown field \"certificate\""},
    {"ssh-ca", KC_STEP_SSH_CA, "user_ca.type", "\"RSA-2048\"", HS_ERR_INPUT_KEY,
     "user_ca.type: RSA-2048 refused; an SSH CA key needs RSA-3072 or RSA-4096; in \"user_ca\""},
    {"ssh-ca", KC_STEP_SSH_CA, "host_ca.type", "\"EC-P521\"", HS_ERR_INPUT_KEY,
     "host_ca.type: unknown key type EC-P521 (EC-P256, EC-P384, RSA-3072, RSA-4096, Ed25519); in "
     "\"host_ca\""},
    {"ssh-ca", KC_STEP_SSH_CA, "host_ca.label", "\"hsmsign-dev-ssh-user-ca-1\"", HS_ERR_INPUT_FIELD,
     "user_ca.label and host_ca.label must differ (one key for both roles would let a host "
     "certificate log in as a user)"},
    {"ssh-ca", KC_STEP_SSH_CA, "user_ca.label", DELETE, HS_ERR_INPUT_FIELD,
     "field \"label\" is required; in \"user_ca\""},
    {"ssh-ca", KC_STEP_SSH_CA, "user_ca.extra", "1", HS_ERR_INPUT_FIELD,
     "user_ca: unknown field \"extra\"; in \"user_ca\""},
    {"ssh-ca", KC_STEP_SSH_CA, "user_ca.public_key_output", "\"var/dev/ceremony/root.pem\"",
     HS_ERR_INPUT_EXISTS,
     "field \"public_key_output\": var/dev/ceremony/root.pem already exists; refusing to "
     "overwrite; in \"user_ca\""},
    {"ssh-ca", KC_STEP_SSH_CA, "host_ca.public_key_output",
     "\"var/dev/ceremony/ssh-user-ca-1.pub\"", HS_ERR_INPUT_FIELD,
     "user_ca and host_ca name the same public_key_output"},
    {"ssh-ca", KC_STEP_SSH_CA, "key", "{}", HS_ERR_INPUT_FIELD, "ssh-ca: unknown field \"key\""},
    {"export-ssh", KC_STEP_EXPORT, "ssh.user_ca_keys", "[]", HS_ERR_INPUT_FIELD,
     "field \"user_ca_keys\" lists nothing; in \"ssh\""},
    {"export-ssh", KC_STEP_EXPORT, "ssh.host_ca_keys", DELETE, HS_ERR_INPUT_FIELD,
     "field \"host_ca_keys\" is required; in \"ssh\""},
    {"export-ssh", KC_STEP_EXPORT, "ssh.user_ca_keys", "[\"\"]", HS_ERR_INPUT_FIELD,
     "field \"user_ca_keys\": entry 0 is not valid; in \"ssh\""},
    {"export-ssh", KC_STEP_EXPORT, "ssh.known_hosts_patterns", "[\"a.example,b.example\"]",
     HS_ERR_INPUT_FIELD, "field \"known_hosts_patterns\": entry 0 is not valid; in \"ssh\""},
    {"export-ssh", KC_STEP_EXPORT, "ssh.known_hosts_patterns", "[\"a b\"]", HS_ERR_INPUT_FIELD,
     "field \"known_hosts_patterns\": entry 0 is not valid; in \"ssh\""},
    {"export-ssh", KC_STEP_EXPORT, "ssh.host_ca_output", "\"var/dev/ceremony/ssh_user_ca.pub\"",
     HS_ERR_INPUT_FIELD, "the three outputs must be different files; in \"ssh\""},
    {"export-ssh", KC_STEP_EXPORT, "ssh.known_hosts_output", "\"var/dev/ceremony/root.pem\"",
     HS_ERR_INPUT_EXISTS,
     "field \"known_hosts_output\": var/dev/ceremony/root.pem already exists; refusing to "
     "overwrite; in \"ssh\""},
    {"export-ssh", KC_STEP_EXPORT, "ssh.extra", "1", HS_ERR_INPUT_FIELD,
     "ssh: unknown field \"extra\"; in \"ssh\""},
    {"export-ssh", KC_STEP_EXPORT, "ssh.user_ca", "\"x\"", HS_ERR_INPUT_FIELD,
     "ssh: unknown field \"user_ca\"; in \"ssh\""},
    {"export-ssh", KC_STEP_EXPORT, "root_certificate", "\"var/dev/ceremony/root.pem\"",
     HS_ERR_INPUT_FIELD, "field \"intermediate_certificate\" is required"},
    {"export-ssh", KC_STEP_EXPORT, "ssh", DELETE, HS_ERR_INPUT_FIELD,
     "field \"root_certificate\" is required"},
    {"verify-ssh", KC_STEP_VERIFY, "ssh.user_ca", "\"var/dev/ceremony/nope.pub\"",
     HS_ERR_INPUT_NOT_FOUND,
     "field \"user_ca\": var/dev/ceremony/nope.pub does not exist; in \"ssh\""},
    {"verify-ssh", KC_STEP_VERIFY, "ssh.host_ca", DELETE, HS_ERR_INPUT_FIELD,
     "\"known_hosts\" is checked against \"host_ca\": name both; in \"ssh\""},
    {"verify-ssh", KC_STEP_VERIFY, "ssh.known_hosts", "5", HS_ERR_INPUT_FIELD,
     "field \"known_hosts\" must be of type string; in \"ssh\""},
    {"verify-ssh", KC_STEP_VERIFY, "ssh", "{}", HS_ERR_INPUT_FIELD,
     "one of \"user_ca\" and \"host_ca\" is required; in \"ssh\""},
    {"verify-ssh", KC_STEP_VERIFY, "ssh.user_ca_keys", "[]", HS_ERR_INPUT_FIELD,
     "ssh: unknown field \"user_ca_keys\"; in \"ssh\""},
    {"jwt-key-retire", KC_STEP_JWT_RETIRE, "jwks", DELETE, HS_ERR_INPUT_FIELD,
     "field \"jwks\" is required"},
    {"jwt-key-retire", KC_STEP_JWT_RETIRE, "extra", "1", HS_ERR_INPUT_FIELD,
     "jwt-key retire: unknown field \"extra\""},
    {"jwt-key-retire", KC_STEP_JWT_RETIRE, "token", "5", HS_ERR_INPUT_FIELD,
     "field \"token\" must be of type object"},
    {"jwt-key-retire", KC_STEP_JWT_RETIRE, "jwks", "\"no-such-dir/jwks.json\"", HS_ERR_INPUT_CONFIG,
     "field \"jwks\": the directory of no-such-dir/jwks.json does not exist"},
    {"export", KC_STEP_EXPORT, "jwt_keys", DELETE, HS_ERR_INPUT_FIELD,
     "field \"jwt_keys\" is required"},
    {"export", KC_STEP_EXPORT, "jwt_keys", "[]", HS_ERR_INPUT_RANGE,
     "field \"jwt_keys\" must list 1..16 keys"},
    {"export", KC_STEP_EXPORT, "jwt_keys", "[{\"key\": \"x\", \"extra\": 1}]", HS_ERR_INPUT_FIELD,
     "key entry: unknown field \"extra\"; in \"jwt_keys\""},
    {"export", KC_STEP_EXPORT, "jwt_keys", "[5]", HS_ERR_INPUT_FIELD,
     "jwt_keys[0] must be an object"},
    {"export", KC_STEP_EXPORT, "truststore_output", "\"var/dev/ceremony/root.pem\"",
     HS_ERR_INPUT_EXISTS,
     "field \"truststore_output\": var/dev/ceremony/root.pem already exists; refusing to "
     "overwrite"},
    {"export", KC_STEP_EXPORT, "jwks_output", DELETE, HS_ERR_INPUT_FIELD,
     "field \"jwks_output\" is required"},
    {"export", KC_STEP_EXPORT, "root_certificate", "\"var/dev/ceremony/missing.pem\"",
     HS_ERR_INPUT_NOT_FOUND,
     "field \"root_certificate\": var/dev/ceremony/missing.pem does not exist"},
    {"verify", KC_STEP_VERIFY, "root_certificate", DELETE, HS_ERR_INPUT_FIELD,
     "field \"root_certificate\" is required"},
    {"verify", KC_STEP_VERIFY, "root_key_offline", "\"yes\"", HS_ERR_INPUT_FIELD,
     "field \"root_key_offline\" must be of type boolean"},
    {"verify", KC_STEP_VERIFY, "intermediate_certificate", "\"var/dev/ceremony/missing.pem\"",
     HS_ERR_INPUT_NOT_FOUND,
     "field \"intermediate_certificate\": var/dev/ceremony/missing.pem does not exist"},
    {"verify", KC_STEP_VERIFY, "output", "\"x\"", HS_ERR_INPUT_FIELD,
     "verify: unknown field \"output\""},
    {"verify", KC_STEP_VERIFY, "jwks", "\"var/dev/ceremony/missing.json\"", HS_ERR_INPUT_NOT_FOUND,
     "field \"jwks\": var/dev/ceremony/missing.json does not exist"},
    {"verify", KC_STEP_VERIFY, "root_key_offline", "1", HS_ERR_INPUT_FIELD,
     "field \"root_key_offline\" must be of type boolean"},
};

HS_TEST(bad_configs_fail_with_the_exact_error)
{
    HS_CHECK(sizeof(bad) / sizeof(bad[0]) >= 60);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const struct bad_case *c = &bad[i];
        HS_CHECK(fixture_files());
        if (c->step == KC_STEP_EXPORT) {
            HS_CHECK(unlink(CEREMONY "jwks.json") == 0); /* the example's jwks_output */
            HS_CHECK(remove_ssh_files());                /* export-ssh's outputs */
        }
        HS_DEFER(json_object *doc = example(c->example), hs_json_putp);
        bool mutated = doc != NULL && mutate(doc, c->path, c->value);
        HS_CHECK(mutated);
        if (!mutated) {
            fprintf(stderr, "  cannot apply %s = %s to %s\n", c->path,
                    c->value != NULL ? c->value : "(delete)", c->example);
            continue;
        }
        hs_error_clear();
        const char *kid = c->step == KC_STEP_JWT_RETIRE ? kid_first : NULL;
        hs_result r = load_doc(c->step, doc, kid);
        const char *detail = hs_error_last()->detail;
        bool exact = r.code == c->code && strcmp(detail, c->detail) == 0;
        if (!exact) {
            fprintf(stderr, "  %s: %s = %s\n    got      %s \"%s\"\n    expected %s \"%s\"\n",
                    c->example, c->path, c->value != NULL ? c->value : "(delete)",
                    hs_code_name(r.code), detail, hs_code_name(c->code), c->detail);
        }
        HS_CHECK(exact);
    }
    HS_CHECK(fixture_files());
}

/* Errors that depend on the command line or on files rather than on one member. */
HS_TEST(retire_checks_the_kid_and_the_jwks)
{
    HS_CHECK(fixture_files());
    HS_DEFER(json_object *doc = example("jwt-key-retire"), hs_json_putp);
    if (doc == NULL) {
        HS_CHECK(doc != NULL);
        return;
    }
    HS_CHECK_OK(load_doc(KC_STEP_JWT_RETIRE, doc, kid_second));
    HS_CHECK_ERR(load_doc(KC_STEP_JWT_RETIRE, doc, NULL), HS_ERR_INPUT_FIELD);
    HS_CHECK(strcmp(hs_error_last()->detail, "KID must be a 43-character RFC 7638 thumbprint") ==
             0);
    HS_CHECK_ERR(load_doc(KC_STEP_JWT_RETIRE, doc, "short"), HS_ERR_INPUT_FIELD);
    char unknown[SGN_KID_LEN + 1];
    memset(unknown, 'A', SGN_KID_LEN);
    unknown[SGN_KID_LEN] = '\0';
    HS_CHECK_ERR(load_doc(KC_STEP_JWT_RETIRE, doc, unknown), HS_ERR_INPUT_NOT_FOUND);
    char want[256];
    snprintf(want, sizeof(want), "kid %s is not in " CEREMONY "jwks.json", unknown);
    HS_CHECK(strcmp(hs_error_last()->detail, want) == 0);
    /* the last key of a JWK Set is never retired */
    HS_DEFER(json_object *one = json_tokener_parse(jwks_two), hs_json_putp);
    json_object *keys = NULL;
    HS_CHECK(one != NULL && json_object_object_get_ex(one, "keys", &keys));
    if (keys != NULL) {
        json_object_array_del_idx(keys, 1, 1);
        HS_CHECK(write_file(CEREMONY "jwks.json", json_object_to_json_string(one)));
        HS_CHECK_ERR(load_doc(KC_STEP_JWT_RETIRE, doc, kid_first), HS_ERR_INPUT_RANGE);
        snprintf(want, sizeof(want),
                 "%s is the only key in " CEREMONY
                 "jwks.json; retiring it would leave nothing to sign with",
                 kid_first);
        HS_CHECK(strcmp(hs_error_last()->detail, want) == 0);
    }
    /* a JWK Set that is not one */
    HS_CHECK(write_file(CEREMONY "jwks.json", "{\"keys\": 5}"));
    HS_CHECK_ERR(load_doc(KC_STEP_JWT_RETIRE, doc, kid_first), HS_ERR_INPUT_FIELD);
    HS_CHECK(unlink(CEREMONY "jwks.json") == 0);
    HS_CHECK_ERR(load_doc(KC_STEP_JWT_RETIRE, doc, kid_first), HS_ERR_INPUT_NOT_FOUND);
    HS_CHECK(strcmp(hs_error_last()->detail,
                    "field \"jwks\": " CEREMONY "jwks.json does not exist") == 0);
    HS_CHECK(fixture_files());
}

HS_TEST(files_that_are_not_configs_are_refused)
{
    struct kc_config *cfg = NULL;
    HS_CHECK_ERR(kc_config_load(KC_STEP_ROOT, "no-such-config.json", NULL, &cfg),
                 HS_ERR_INPUT_NOT_FOUND);
    HS_CHECK(write_file("cfg.json", "[1, 2]"));
    HS_CHECK_ERR(kc_config_load(KC_STEP_ROOT, "cfg.json", NULL, &cfg), HS_ERR_INPUT_JSON);
    HS_CHECK(write_file("cfg.json", "{\"token\": "));
    HS_CHECK_ERR(kc_config_load(KC_STEP_ROOT, "cfg.json", NULL, &cfg), HS_ERR_INPUT_JSON);
    HS_CHECK(write_file("cfg.json", "{\"a\": 1, \"a\": 2}"));
    HS_CHECK(hs_failed(kc_config_load(KC_STEP_ROOT, "cfg.json", NULL, &cfg)));
    /* larger than KC_CONFIG_MAX, refused before parsing */
    FILE *f = fopen("cfg.json", "w");
    HS_CHECK(f != NULL);
    if (f != NULL) {
        for (size_t i = 0; i <= KC_CONFIG_MAX; i++) {
            fputc(' ', f);
        }
        fclose(f);
        HS_CHECK_ERR(kc_config_load(KC_STEP_ROOT, "cfg.json", NULL, &cfg), HS_ERR_INPUT_TOO_LARGE);
    }
    HS_CHECK(cfg == NULL);
}

int main(void)
{
    const char *repo = hs_test_env("HSMSIGN_REPO");
    snprintf(examples_dir, sizeof(examples_dir), "%s/keyceremony/examples", repo);
    if (!fixture_dir()) {
        fprintf(stderr, "cannot make the scratch directory\n");
        return 1;
    }
    int rc = hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(every_example_validates),
        HS_TEST_CASE(bad_configs_fail_with_the_exact_error),
        HS_TEST_CASE(retire_checks_the_kid_and_the_jwks),
        HS_TEST_CASE(files_that_are_not_configs_are_refused),
        HS_TEST_END,
    });
    if (chdir("/") != 0 || nftw(scratch_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        fprintf(stderr, "cannot remove %s\n", scratch_dir);
        return 1;
    }
    return rc;
}
