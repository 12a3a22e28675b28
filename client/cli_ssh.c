#include "client/cli_ssh.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "client/cli_print.h"
#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "common/hs_json.h"
#include "common/hs_sshkey.h"

#define CLI_SSH_PATH_MAX 4096
#define CLI_SSH_ROUTE_MAX 96
#define CLI_SSH_TIME_MAX 64
#define CLI_SSH_TTL_MAX 31622400 /* 366 days: the policy's largest ssh_max_ttl_seconds */
#define CLI_SSH_CA_LINES_MAX 64
#define CLI_SSH_CERT_TYPE_SUFFIX "-cert-v01@openssh.com"
#define CLI_SSH_TIME_T_MAX 253402300799ULL /* 9999-12-31T23:59:59Z */
#define CLI_SSH_WAIT_DEFAULT_S 120
#define CLI_SSH_WAIT_MAX_S 3600
#define CLI_SSH_POLL_FIRST_MS 200 /* the first wait between polls, doubled up to ... */
#define CLI_SSH_POLL_MAX_MS 2000
#define CLI_SSH_REQUEST_ID_LEN 32
#define CLI_SSH_SEALED_MAX (16 * 1024) /* bytes of the base64 sealed private key */
#define CLI_SSH_KRL_HEADER 28 /* magic 8, format version 4, krl_version 8, generated_date 8 */

static const unsigned char cli_krl_magic[8] = {'S', 'S', 'H', 'K', 'R', 'L', '\n', 0};

/* What the ssh command line asks for (strings borrowed from argv). */
struct cli_ssh_req {
    const char *cert_type; /* "user" or "host" */
    enum hs_sshkey_type key_type;
    const char *const *principals;
    size_t nprincipals;
    long ttl_seconds; /* 0: the service's default */
    const char *key_id;
    const char *force_command;
    const char *source_address;
    const char *const *extensions;
    size_t nextensions;
    const char *public_key; /* --public-key FILE, or NULL: generate */
    bool keygen;            /* --keygen: the service makes the key (POST /v1/ssh/keys) */
    long wait_seconds;      /* --keygen: how long to poll for it */
};

/* The files: private key and .pub only when generating. */
struct cli_ssh_paths {
    struct hs_buf *key;
    struct hs_buf *pub;
    struct hs_buf *cert;
    const char *key_path;
    const char *pub_path;
    const char *cert_path;
};

/* What came back (lent by the answer's JSON). */
struct cli_ssh_issued {
    const char *certificate;
    const char *serial;
    const char *key_id;
    json_object *principals;
    const char *valid_after;
    const char *valid_before;
};

/* --- checks ---------------------------------------------------------------------------------- */

HS_RESULT cli_ssh_serial_check(const char *serial)
{
    HS_ENSURE_REF(serial);
    size_t n = strnlen(serial, CLI_SSH_SERIAL_DIGITS + 1);
    bool ok = n > 0 && n <= CLI_SSH_SERIAL_DIGITS && serial[0] != '0';
    for (size_t k = 0; ok && k < n; k++) {
        ok = serial[k] >= '0' && serial[k] <= '9';
    }
    if (ok) {
        errno = 0;
        (void)strtoull(serial, NULL, 10);
        ok = errno == 0;
    }
    HS_ENSURE_MSG(ok, HS_ERR_INPUT,
                  "SERIAL: a decimal number 1..18446744073709551615 (as ssh-keygen -L prints it)");
    return HS_OK;
}

/* --key-type: "ed25519", "ecdsa" (P-256), "rsa" (3072 bits), "rsa-2048", "rsa-3072", "rsa-4096";
 * with --keygen (made by the service) only ed25519, rsa-2048 and rsa-4096. Errors:
 * HS_ERR_INPUT naming --key-type. */
static HS_RESULT cli_ssh_key_type_parse(const char *name, bool keygen, enum hs_sshkey_type *out)
{
    static const struct {
        const char *name;
        enum hs_sshkey_type type;
        bool server;
    } types[] = {
        {"ed25519", HS_SSHKEY_ED25519, true},    {"ecdsa", HS_SSHKEY_ECDSA_P256, false},
        {"rsa", HS_SSHKEY_RSA_3072, false},      {"rsa-2048", HS_SSHKEY_RSA_2048, true},
        {"rsa-3072", HS_SSHKEY_RSA_3072, false}, {"rsa-4096", HS_SSHKEY_RSA_4096, true},
    };
    for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
        if (strcmp(name, types[k].name) == 0 && (types[k].server || !keygen)) {
            *out = types[k].type;
            return HS_OK;
        }
    }
    if (keygen) {
        HS_BAIL_MSG(HS_ERR_INPUT, "--key-type with --keygen: ed25519, rsa-2048 or rsa-4096");
    }
    HS_BAIL_MSG(HS_ERR_INPUT, "--key-type: ed25519, ecdsa (P-256), rsa (3072 bits), rsa-2048, "
                              "rsa-3072 or rsa-4096");
}

/* ssh-keygen's file name stem for type: "id_ed25519", "id_ecdsa", "id_rsa". */
static const char *cli_ssh_key_default_file(enum hs_sshkey_type type)
{
    switch (type) {
    case HS_SSHKEY_ECDSA_P256:
        return "id_ecdsa";
    case HS_SSHKEY_RSA_2048:
    case HS_SSHKEY_RSA_3072:
    case HS_SSHKEY_RSA_4096:
        return "id_rsa";
    case HS_SSHKEY_ED25519:
    default:
        return "id_ed25519";
    }
}

/* 1..max bytes of printable ASCII; no space or ',' when `word`. */
static bool cli_ssh_text_ok(const char *s, size_t max, bool word)
{
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max) {
        return false;
    }
    for (size_t k = 0; k < n; k++) {
        char c = s[k];
        if (c < 0x20 || c >= 0x7f || (word && (c == ' ' || c == ','))) {
            return false;
        }
    }
    return true;
}

static HS_RESULT cli_ssh_principals(const struct cli_args *a, struct cli_ssh_req *q)
{
    q->principals = a->list[CLI_OPT_PRINCIPAL];
    q->nprincipals = a->nlist[CLI_OPT_PRINCIPAL];
    HS_ENSURE_MSG(q->nprincipals > 0, HS_ERR_INPUT,
                  "--principal NAME is required (a certificate without principals would be "
                  "valid for any)");
    for (size_t k = 0; k < q->nprincipals; k++) {
        HS_ENSURE_MSG(cli_ssh_text_ok(q->principals[k], CLI_SSH_PRINCIPAL_MAX, true), HS_ERR_INPUT,
                      "--principal: 1..%d printable ASCII bytes without ' ' or ','",
                      CLI_SSH_PRINCIPAL_MAX);
    }
    q->extensions = a->list[CLI_OPT_EXTENSION];
    q->nextensions = a->nlist[CLI_OPT_EXTENSION];
    for (size_t k = 0; k < q->nextensions; k++) {
        HS_ENSURE_MSG(cli_ssh_text_ok(q->extensions[k], CLI_SSH_PRINCIPAL_MAX, true), HS_ERR_INPUT,
                      "--extension: a name such as permit-pty");
    }
    return HS_OK;
}

static HS_RESULT cli_ssh_options(const struct cli_args *a, struct cli_ssh_req *q)
{
    HS_ENSURE_MSG(a->npositional == 0, HS_ERR_INPUT, "ssh takes no arguments, only options");
    HS_GUARD(cli_ssh_principals(a, q));
    q->cert_type = a->value[CLI_OPT_TYPE] != NULL ? a->value[CLI_OPT_TYPE] : "user";
    HS_ENSURE_MSG(strcmp(q->cert_type, "user") == 0 || strcmp(q->cert_type, "host") == 0,
                  HS_ERR_INPUT, "--type: user or host");
    q->public_key = a->value[CLI_OPT_PUBLIC_KEY];
    q->keygen = a->present[CLI_OPT_KEYGEN];
    HS_ENSURE_MSG(!q->keygen || q->public_key == NULL, HS_ERR_INPUT,
                  "--keygen has the service make the key; not with --public-key");
    if (q->public_key != NULL) {
        HS_ENSURE_MSG(!a->present[CLI_OPT_OUT] && !a->present[CLI_OPT_KEY_TYPE], HS_ERR_INPUT,
                      "--out and --key-type describe a key made here; not with --public-key "
                      "(FILE-cert.pub is written next to it)");
    }
    q->key_type = HS_SSHKEY_ED25519;
    if (a->value[CLI_OPT_KEY_TYPE] != NULL) {
        HS_GUARD(cli_ssh_key_type_parse(a->value[CLI_OPT_KEY_TYPE], q->keygen, &q->key_type));
    }
    if (a->value[CLI_OPT_TTL_SECONDS] != NULL) {
        HS_GUARD(cli_args_number(a->value[CLI_OPT_TTL_SECONDS], 1, CLI_SSH_TTL_MAX, "--ttl-seconds",
                                 &q->ttl_seconds));
    }
    q->wait_seconds = CLI_SSH_WAIT_DEFAULT_S;
    HS_ENSURE_MSG(q->keygen || a->value[CLI_OPT_WAIT_SECONDS] == NULL, HS_ERR_INPUT,
                  "--wait-seconds goes with --keygen");
    if (a->value[CLI_OPT_WAIT_SECONDS] != NULL) {
        HS_GUARD(cli_args_number(a->value[CLI_OPT_WAIT_SECONDS], 1, CLI_SSH_WAIT_MAX_S,
                                 "--wait-seconds", &q->wait_seconds));
    }
    q->key_id = a->value[CLI_OPT_KEY_ID];
    HS_ENSURE_MSG(q->key_id == NULL || cli_ssh_text_ok(q->key_id, CLI_SSH_KEY_ID_MAX, false),
                  HS_ERR_INPUT, "--key-id: 1..%d printable ASCII bytes", CLI_SSH_KEY_ID_MAX);
    q->force_command = a->value[CLI_OPT_FORCE_COMMAND];
    q->source_address = a->value[CLI_OPT_SOURCE_ADDRESS];
    HS_ENSURE_MSG(q->force_command == NULL ||
                      cli_ssh_text_ok(q->force_command, CLI_SSH_OPTION_MAX, false),
                  HS_ERR_INPUT, "--force-command: 1..%d printable ASCII bytes", CLI_SSH_OPTION_MAX);
    HS_ENSURE_MSG(q->source_address == NULL ||
                      (cli_ssh_text_ok(q->source_address, CLI_SSH_OPTION_MAX, false) &&
                       strchr(q->source_address, ' ') == NULL),
                  HS_ERR_INPUT, "--source-address: a comma-separated list of CIDRs, no spaces");
    return HS_OK;
}

/* FILE, FILE.pub, FILE-cert.pub; or with --public-key K.pub: K-cert.pub (ssh(1) looks for the
 * certificate of identity K there). Each must not exist. */
static HS_RESULT cli_ssh_paths_make(const struct cli_args *a, const struct cli_ssh_req *q,
                                    struct cli_ssh_paths *p)
{
    p->key = hs_buf_new(CLI_SSH_PATH_MAX);
    p->pub = hs_buf_new(CLI_SSH_PATH_MAX);
    p->cert = hs_buf_new(CLI_SSH_PATH_MAX);
    HS_ENSURE(p->key != NULL && p->pub != NULL && p->cert != NULL, HS_ERR_NOMEM);
    const char *stem = q->public_key != NULL ? q->public_key : a->value[CLI_OPT_OUT];
    size_t n = stem != NULL ? strlen(stem) : 0;
    if (q->public_key != NULL && n > 4 && strcmp(stem + n - 4, ".pub") == 0) {
        n -= 4;
    }
    if (stem == NULL) {
        stem = cli_ssh_key_default_file(q->key_type);
        n = strlen(stem);
    }
    HS_ENSURE_MSG(n > 0 && n < CLI_SSH_PATH_MAX - 16, HS_ERR_INPUT, "--out: a file name");
    HS_GUARD(hs_buf_put(p->cert, stem, n));
    HS_GUARD(hs_buf_put_str(p->cert, "-cert.pub"));
    HS_GUARD(hs_buf_cstr(p->cert, &p->cert_path));
    if (q->public_key == NULL) {
        HS_GUARD(hs_buf_put(p->key, stem, n));
        HS_GUARD(hs_buf_cstr(p->key, &p->key_path));
        HS_GUARD(hs_buf_put(p->pub, stem, n));
        HS_GUARD(hs_buf_put_str(p->pub, ".pub"));
        HS_GUARD(hs_buf_cstr(p->pub, &p->pub_path));
    }
    return HS_OK;
}

static void cli_ssh_paths_clear(struct cli_ssh_paths *p)
{
    hs_buf_free(p->key);
    hs_buf_free(p->pub);
    hs_buf_free(p->cert);
    memset(p, 0, sizeof(*p));
}

static HS_RESULT cli_ssh_paths_free(const struct cli_ssh_paths *p)
{
    const char *paths[] = {p->key_path, p->pub_path, p->cert_path};
    for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
        if (paths[k] != NULL) {
            HS_GUARD(cli_check_new_file(paths[k]));
        }
    }
    return HS_OK;
}

/* --- the key --------------------------------------------------------------------------------- */

/* The public key line to send (line, without its newline) and its blob: from --public-key, or
 * from a key generated here into *key_out. */
static HS_RESULT cli_ssh_subject(const struct cli_ssh_req *q, struct hs_buf *line,
                                 struct hs_buf *blob, EVP_PKEY **key_out)
{
    if (q->public_key != NULL) {
        HS_DEFER(struct hs_buf *text = NULL, hs_buf_freep);
        HS_GUARD(hs_file_read(q->public_key, HS_SSHKEY_LINE_MAX, &text));
        const char *s = NULL;
        HS_ENSURE_MSG(!hs_failed(hs_buf_cstr(text, &s)), HS_ERR_INPUT_KEY,
                      "%.200s: not an OpenSSH public key (.pub) file", q->public_key);
        const char *type = NULL;
        size_t type_len = 0;
        hs_result r = hs_sshkey_line_parse(s, hs_buf_len(text), &type, &type_len, blob);
        HS_ENSURE_MSG(!hs_failed(r), HS_ERR_INPUT_KEY,
                      "%.200s: not an OpenSSH public key (.pub) file", q->public_key);
        size_t sfx = strlen(CLI_SSH_CERT_TYPE_SUFFIX);
        HS_ENSURE_MSG(type_len < sfx ||
                          memcmp(type + type_len - sfx, CLI_SSH_CERT_TYPE_SUFFIX, sfx) != 0,
                      HS_ERR_INPUT_KEY, "%.200s is a certificate, not a public key", q->public_key);
        size_t n = strcspn(s, "\r\n");
        return hs_buf_put(line, s, n);
    }
    HS_DEFER(EVP_PKEY *key = NULL, hs_evp_pkey_freep);
    HS_GUARD(hs_sshkey_generate(q->key_type, &key));
    HS_GUARD(hs_sshkey_blob(key, blob));
    HS_GUARD(hs_sshkey_public_line(key, q->principals[0], line));
    *key_out = key;
    key = NULL;
    return HS_OK;
}

static HS_RESULT cli_ssh_body(const struct cli_ssh_req *q, const struct hs_buf *line,
                              json_object *body)
{
    HS_ENSURE(body != NULL, HS_ERR_NOMEM);
    if (line != NULL) { /* --keygen sends none */
        size_t n = hs_buf_len(line);
        while (n > 0 && hs_buf_data(line)[n - 1] == '\n') {
            n--;
        }
        HS_GUARD(hs_json_add(body, "public_key",
                             json_object_new_string_len((const char *)hs_buf_data(line), (int)n)));
    }
    HS_GUARD(hs_json_add(body, "cert_type", json_object_new_string(q->cert_type)));
    HS_GUARD(hs_json_add_strings(body, "principals", q->principals, q->nprincipals));
    if (q->ttl_seconds > 0) {
        HS_GUARD(hs_json_add(body, "ttl_seconds", json_object_new_int64(q->ttl_seconds)));
    }
    if (q->key_id != NULL) {
        HS_GUARD(hs_json_add(body, "key_id", json_object_new_string(q->key_id)));
    }
    if (q->force_command != NULL || q->source_address != NULL) {
        json_object *opts = json_object_new_object();
        HS_GUARD(hs_json_add(body, "critical_options", opts));
        if (q->force_command != NULL) {
            HS_GUARD(hs_json_add(opts, "force-command", json_object_new_string(q->force_command)));
        }
        if (q->source_address != NULL) {
            HS_GUARD(
                hs_json_add(opts, "source-address", json_object_new_string(q->source_address)));
        }
    }
    if (q->nextensions > 0) {
        HS_GUARD(hs_json_add_strings(body, "extensions", q->extensions, q->nextensions));
    }
    return HS_OK;
}

/* --- the answer ------------------------------------------------------------------------------ */

static HS_RESULT cli_ssh_fields(json_object *doc, struct cli_ssh_issued *out)
{
    HS_GUARD(hs_json_get_string(doc, "certificate", true, HS_SSHKEY_LINE_MAX, &out->certificate));
    HS_GUARD(hs_json_get_string(doc, "serial", true, CLI_SSH_SERIAL_DIGITS, &out->serial));
    HS_GUARD(hs_json_get_string(doc, "key_id", true, CLI_SSH_KEY_ID_MAX, &out->key_id));
    HS_GUARD(hs_json_get_typed(doc, "principals", true, json_type_array, &out->principals));
    HS_GUARD(hs_json_get_string(doc, "valid_after", true, CLI_SSH_TIME_MAX, &out->valid_after));
    HS_GUARD(hs_json_get_string(doc, "valid_before", true, CLI_SSH_TIME_MAX, &out->valid_before));
    HS_ENSURE_MSG(strchr(out->certificate, '\n') == NULL, HS_ERR_INPUT_FIELD,
                  "the certificate is more than one line");
    return cli_ssh_serial_check(out->serial);
}

/* Writes FILE (priv, when not NULL), FILE.pub (line) and FILE-cert.pub. */
static HS_RESULT cli_ssh_write(const struct cli_ssh_paths *p, const struct hs_buf *priv,
                               const struct hs_buf *line, const char *certificate)
{
    if (priv != NULL) {
        HS_GUARD(hs_file_write_new(p->key_path, hs_buf_data(priv), hs_buf_len(priv), 0600));
        HS_GUARD(hs_file_write_new(p->pub_path, hs_buf_data(line), hs_buf_len(line), 0644));
    }
    HS_DEFER(struct hs_buf *cert = hs_buf_new(HS_SSHKEY_LINE_MAX + 2), hs_buf_freep);
    HS_ENSURE(cert != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put_str(cert, certificate));
    HS_GUARD(hs_buf_put_byte(cert, '\n'));
    return hs_file_write_new(p->cert_path, hs_buf_data(cert), hs_buf_len(cert), 0644);
}

static void cli_ssh_print_field(const char *name, const char *value)
{
    printf("%s: ", name);
    cli_print_clean(stdout, value, strlen(value));
    fputc('\n', stdout);
}

static void cli_ssh_print(const struct cli_ssh_paths *p, const struct cli_ssh_issued *is)
{
    cli_ssh_print_field("serial", is->serial);
    cli_ssh_print_field("key_id", is->key_id);
    fputs("principals: ", stdout);
    size_t n = json_object_array_length(is->principals);
    for (size_t k = 0; k < n; k++) {
        const char *s = json_object_get_string(json_object_array_get_idx(is->principals, k));
        if (k > 0) {
            fputc(',', stdout);
        }
        cli_print_clean(stdout, s != NULL ? s : "?", s != NULL ? strlen(s) : 1);
    }
    fputc('\n', stdout);
    cli_ssh_print_field("valid_after", is->valid_after);
    cli_ssh_print_field("valid_before", is->valid_before);
    if (p->key_path != NULL) {
        cli_ssh_print_field("private_key", p->key_path);
        cli_ssh_print_field("public_key", p->pub_path);
    }
    cli_ssh_print_field("certificate", p->cert_path);
}

/* Checks the answer, writes the files (priv: the private key file, or NULL) and prints what
 * was issued. */
static int cli_ssh_save(const struct cli_ssh_paths *p, const struct hs_buf *priv,
                        const struct hs_buf *line, const struct hs_buf *blob, json_object *doc)
{
    struct cli_ssh_issued is = {0};
    if (hs_failed(cli_ssh_fields(doc, &is))) {
        return cli_answer_bad("the SSH certificate answer");
    }
    hs_result r = hs_sshkey_cert_check(is.certificate, blob);
    if (r.code == HS_ERR_INPUT_KEY) {
        return cli_fail(CLI_EXIT_SERVICE, "the service's certificate is refused");
    }
    if (hs_failed(r)) {
        return cli_answer_bad("the SSH certificate answer");
    }
    if (hs_failed(cli_ssh_write(p, priv, line, is.certificate))) {
        int rc = cli_fail(CLI_EXIT_LOCAL, "saving the SSH certificate");
        fprintf(stderr,
                "hsmsign: SSH certificate %s was issued but not saved; revoke it with: "
                "hsmsign ssh-revoke %s --reason superseded\n",
                is.serial, is.serial);
        return rc;
    }
    cli_ssh_print(p, &is);
    return CLI_EXIT_OK;
}

static int cli_ssh_issue(const struct cli_ctx *ctx, const struct cli_ssh_req *q,
                         const struct cli_ssh_paths *p)
{
    HS_DEFER(EVP_PKEY *key = NULL, hs_evp_pkey_freep);
    HS_DEFER(struct hs_buf *line = hs_buf_new(HS_SSHKEY_LINE_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *blob = hs_buf_new(HS_SSHKEY_LINE_MAX), hs_buf_freep);
    if (line == NULL || blob == NULL) {
        return cli_fail(CLI_EXIT_LOCAL, "out of memory");
    }
    if (hs_failed(cli_ssh_subject(q, line, blob, &key))) {
        return cli_fail(CLI_EXIT_LOCAL, q->public_key != NULL ? "--public-key" : "making the key");
    }
    HS_DEFER(json_object *body = json_object_new_object(), hs_json_putp);
    if (hs_failed(cli_ssh_body(q, line, body))) {
        return cli_fail(CLI_EXIT_LOCAL, "building the request");
    }
    struct cli_reply reply = {0};
    int rc = cli_call(ctx, true, "POST", "/v1/ssh/certificates", body, CLI_ANSWER_MAX, &reply);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    rc = cli_answer_json(&reply, &doc);
    cli_reply_clear(&reply);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    HS_DEFER(struct hs_buf *priv = NULL, hs_buf_freep);
    if (key != NULL) {
        priv = hs_buf_new_sensitive(HS_SSHKEY_PRIVATE_MAX);
        if (priv == NULL || hs_failed(hs_sshkey_private_file(key, q->principals[0], priv))) {
            return cli_fail(CLI_EXIT_LOCAL, "encoding the private key");
        }
    }
    return cli_ssh_save(p, priv, line, blob, doc);
}

/* --- ssh --keygen: the service makes the key ---------------------------------------------------- */

static const char *cli_ssh_keygen_type(enum hs_sshkey_type type)
{
    switch (type) {
    case HS_SSHKEY_RSA_2048:
        return "rsa-2048";
    case HS_SSHKEY_RSA_4096:
        return "rsa-4096";
    case HS_SSHKEY_ED25519:
    default:
        return "ed25519";
    }
}

static HS_RESULT cli_ssh_keygen_body(const struct cli_ssh_req *q, const unsigned char *pk,
                                     json_object *body)
{
    HS_GUARD(cli_ssh_body(q, NULL, body));
    HS_GUARD(
        hs_json_add(body, "key_type", json_object_new_string(cli_ssh_keygen_type(q->key_type))));
    char b64[4 * ((crypto_box_PUBLICKEYBYTES + 2) / 3) + 1];
    HS_ENSURE(EVP_EncodeBlock((unsigned char *)b64, pk, crypto_box_PUBLICKEYBYTES) ==
                  (int)sizeof(b64) - 1,
              HS_ERR_CRYPTO);
    return hs_json_add(body, "recipient", json_object_new_string(b64));
}

static bool cli_ssh_request_id_ok(const char *id)
{
    size_t n = strnlen(id, CLI_SSH_REQUEST_ID_LEN + 1);
    bool ok = n == CLI_SSH_REQUEST_ID_LEN;
    for (size_t k = 0; ok && k < n; k++) {
        ok = (id[k] >= '0' && id[k] <= '9') || (id[k] >= 'a' && id[k] <= 'f');
    }
    return ok;
}

static long long cli_ssh_ms_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)(now.tv_sec - start->tv_sec) * 1000 +
           (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* A failed job's error: printed as the service put it (its code, reason and detail). */
static int cli_ssh_keygen_failed(json_object *doc)
{
    json_object *err = NULL;
    const char *code = NULL;
    const char *reason = NULL;
    const char *detail = NULL;
    if (hs_failed(hs_json_get_typed(doc, "error", true, json_type_object, &err)) ||
        hs_failed(hs_json_get_string(err, "error", true, 64, &code)) ||
        hs_failed(hs_json_get_string(err, "reason", false, 64, &reason)) ||
        hs_failed(hs_json_get_string(err, "detail", false, 256, &detail))) {
        return cli_answer_bad("the failed key generation");
    }
    fputs("hsmsign: the service's key generation failed: ", stderr);
    cli_print_clean(stderr, code, strlen(code));
    if (reason != NULL) {
        fputs(" (", stderr);
        cli_print_clean(stderr, reason, strlen(reason));
        fputc(')', stderr);
    }
    if (detail != NULL) {
        fputs(": ", stderr);
        cli_print_clean(stderr, detail, strlen(detail));
    }
    fputc('\n', stderr);
    return CLI_EXIT_SERVICE;
}

/* Polls GET /v1/ssh/keys/{id} (waits CLI_SSH_POLL_FIRST_MS, doubled up to CLI_SSH_POLL_MAX_MS,
 * at most q->wait_seconds in all) until the answer is done (*out) or failed. */
static int cli_ssh_keygen_wait(const struct cli_ctx *ctx, const struct cli_ssh_req *q,
                               const char *id, json_object **out)
{
    char route[CLI_SSH_ROUTE_MAX];
    int n = snprintf(route, sizeof(route), "/v1/ssh/keys/%s", id);
    if (n <= 0 || (size_t)n >= sizeof(route)) {
        return cli_fail(CLI_EXIT_LOCAL, "building the request");
    }
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long delay_ms = CLI_SSH_POLL_FIRST_MS;
    for (;;) {
        struct timespec pause = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
        (void)nanosleep(&pause, NULL);
        struct cli_reply reply = {0};
        int rc = cli_call(ctx, true, "GET", route, NULL, CLI_ANSWER_MAX, &reply);
        if (rc != CLI_EXIT_OK) {
            return rc;
        }
        HS_DEFER(json_object *doc = NULL, hs_json_putp);
        rc = cli_answer_json(&reply, &doc);
        cli_reply_clear(&reply);
        const char *status = NULL;
        if (rc != CLI_EXIT_OK) {
            return rc;
        }
        if (hs_failed(hs_json_get_string(doc, "status", true, 16, &status))) {
            return cli_answer_bad("the key generation status");
        }
        if (strcmp(status, "done") == 0) {
            *out = doc;
            doc = NULL;
            return CLI_EXIT_OK;
        }
        if (strcmp(status, "failed") == 0) {
            return cli_ssh_keygen_failed(doc);
        }
        if (strcmp(status, "pending") != 0) {
            return cli_answer_bad("the key generation status");
        }
        delay_ms = delay_ms * 2 > CLI_SSH_POLL_MAX_MS ? CLI_SSH_POLL_MAX_MS : delay_ms * 2;
        if (cli_ssh_ms_since(&start) + delay_ms > q->wait_seconds * 1000LL) {
            fprintf(stderr, "hsmsign: no key after %ld s (--wait-seconds); request %s\n",
                    q->wait_seconds, id);
            return CLI_EXIT_SERVICE;
        }
    }
}

/* Opens the sealed box (base64) with the request's key pair into priv (sensitive). */
static HS_RESULT cli_ssh_unseal(const char *sealed, const unsigned char *pk,
                                const unsigned char *sk, struct hs_buf *priv)
{
    size_t n = strnlen(sealed, CLI_SSH_SEALED_MAX + 1);
    HS_ENSURE_MSG(n <= CLI_SSH_SEALED_MAX && n % 4 == 0 && n > 0, HS_ERR_INPUT_FIELD,
                  "sealed_private_key is not base64 of a sealed box");
    size_t pad = sealed[n - 1] == '=' ? (sealed[n - 2] == '=' ? 2 : 1) : 0;
    size_t len = n / 4 * 3;
    HS_DEFER(struct hs_buf *box = hs_buf_new(len), hs_buf_freep);
    HS_ENSURE(box != NULL, HS_ERR_NOMEM);
    unsigned char *p = NULL;
    HS_GUARD(hs_buf_reserve(box, len, &p));
    HS_ENSURE_MSG(EVP_DecodeBlock(p, (const unsigned char *)sealed, (int)n) == (int)len,
                  HS_ERR_INPUT_FIELD, "sealed_private_key is not base64");
    HS_GUARD(hs_buf_commit(box, len - pad));
    size_t blen = hs_buf_len(box);
    HS_ENSURE_MSG(blen > crypto_box_SEALBYTES, HS_ERR_INPUT_FIELD, "the sealed box is too short");
    HS_GUARD(hs_buf_reserve(priv, blen - crypto_box_SEALBYTES, &p));
    HS_ENSURE_MSG(crypto_box_seal_open(p, hs_buf_data(box), blen, pk, sk) == 0, HS_ERR_INPUT_KEY,
                  "the sealed private key does not open with this request's key");
    return hs_buf_commit(priv, blen - crypto_box_SEALBYTES);
}

/* The answer's key: opened, its public line parsed (line, blob) and checked to be the private
 * key's. */
static HS_RESULT cli_ssh_keygen_key(json_object *doc, const unsigned char *pk,
                                    const unsigned char *sk, struct hs_buf *priv,
                                    struct hs_buf *line, struct hs_buf *blob)
{
    const char *sealed = NULL;
    const char *pub = NULL;
    HS_GUARD(hs_json_get_string(doc, "sealed_private_key", true, CLI_SSH_SEALED_MAX, &sealed));
    HS_GUARD(hs_json_get_string(doc, "public_key", true, HS_SSHKEY_LINE_MAX - 1, &pub));
    HS_ENSURE_MSG(strchr(pub, '\n') == NULL, HS_ERR_INPUT_FIELD, "public_key is not one line");
    HS_GUARD(cli_ssh_unseal(sealed, pk, sk, priv));
    HS_GUARD(hs_buf_put_str(line, pub));
    HS_GUARD(hs_buf_put_byte(line, '\n'));
    const char *type = NULL;
    size_t type_len = 0;
    HS_GUARD(hs_sshkey_line_parse(pub, strlen(pub), &type, &type_len, blob));
    return hs_sshkey_private_check((const char *)hs_buf_data(priv), hs_buf_len(priv), blob);
}

static int cli_ssh_keygen(const struct cli_ctx *ctx, const struct cli_ssh_req *q,
                          const struct cli_ssh_paths *p)
{
    HS_DEFER(struct hs_buf *sk = hs_buf_new_sensitive(crypto_box_SECRETKEYBYTES), hs_buf_freep);
    HS_DEFER(struct hs_buf *priv = hs_buf_new_sensitive(HS_SSHKEY_PRIVATE_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *line = hs_buf_new(HS_SSHKEY_LINE_MAX + 1), hs_buf_freep);
    HS_DEFER(struct hs_buf *blob = hs_buf_new(HS_SSHKEY_LINE_MAX), hs_buf_freep);
    HS_DEFER(json_object *body = json_object_new_object(), hs_json_putp);
    unsigned char pk[crypto_box_PUBLICKEYBYTES];
    unsigned char *skp = NULL;
    if (sk == NULL || priv == NULL || line == NULL || blob == NULL || sodium_init() < 0 ||
        hs_failed(hs_buf_reserve(sk, crypto_box_SECRETKEYBYTES, &skp)) ||
        crypto_box_keypair(pk, skp) != 0 ||
        hs_failed(hs_buf_commit(sk, crypto_box_SECRETKEYBYTES))) {
        return cli_fail(CLI_EXIT_LOCAL, "making the request's X25519 key");
    }
    if (hs_failed(cli_ssh_keygen_body(q, pk, body))) {
        return cli_fail(CLI_EXIT_LOCAL, "building the request");
    }
    struct cli_reply reply = {0};
    int rc = cli_call(ctx, true, "POST", "/v1/ssh/keys", body, CLI_ANSWER_MAX, &reply);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    HS_DEFER(json_object *accepted = NULL, hs_json_putp);
    rc = cli_answer_json(&reply, &accepted);
    cli_reply_clear(&reply);
    const char *id = NULL;
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    if (hs_failed(hs_json_get_string(accepted, "request_id", true, CLI_SSH_REQUEST_ID_LEN, &id)) ||
        !cli_ssh_request_id_ok(id)) {
        return cli_answer_bad("the key generation request");
    }
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    rc = cli_ssh_keygen_wait(ctx, q, id, &doc);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    hs_result r = cli_ssh_keygen_key(doc, pk, hs_buf_data(sk), priv, line, blob);
    if (r.code == HS_ERR_INPUT_KEY) {
        return cli_fail(CLI_EXIT_SERVICE, "the service's key is refused");
    }
    if (hs_failed(r)) {
        return cli_answer_bad("the generated key");
    }
    return cli_ssh_save(p, priv, line, blob, doc);
}

int cli_cmd_ssh(const struct cli_ctx *ctx, const struct cli_args *a)
{
    struct cli_ssh_req q = {0};
    hs_result r = cli_ssh_options(a, &q);
    if (hs_failed(r)) {
        return cli_step_fail(r, "ssh", "options");
    }
    struct cli_ssh_paths p = {0};
    r = cli_ssh_paths_make(a, &q, &p);
    int rc = CLI_EXIT_OK;
    if (hs_failed(r)) {
        rc = cli_step_fail(r, "ssh", "output");
    } else if (hs_failed(cli_ssh_paths_free(&p))) {
        rc = cli_fail(CLI_EXIT_LOCAL, "output");
    } else {
        rc = q.keygen ? cli_ssh_keygen(ctx, &q, &p) : cli_ssh_issue(ctx, &q, &p);
    }
    cli_ssh_paths_clear(&p);
    return rc;
}

/* --- ssh-ca ---------------------------------------------------------------------------------- */

/* The answer's list `name`: 0..CLI_SSH_CA_LINES_MAX one-line public keys. */
static HS_RESULT cli_ssh_ca_list(json_object *doc, const char *name, json_object **out)
{
    json_object *arr = NULL;
    HS_GUARD(hs_json_get_typed(doc, name, true, json_type_array, &arr));
    size_t n = json_object_array_length(arr);
    HS_ENSURE_MSG(n <= CLI_SSH_CA_LINES_MAX, HS_ERR_INPUT_FIELD, "%s: too many keys", name);
    for (size_t k = 0; k < n; k++) {
        json_object *v = json_object_array_get_idx(arr, k);
        HS_ENSURE_MSG(json_object_is_type(v, json_type_string) &&
                          cli_ssh_text_ok(json_object_get_string(v), HS_SSHKEY_LINE_MAX, false),
                      HS_ERR_INPUT_FIELD, "%s: not a list of public-key lines", name);
    }
    *out = arr;
    return HS_OK;
}

static void cli_ssh_ca_print(json_object *arr, const char *prefix)
{
    size_t n = json_object_array_length(arr);
    for (size_t k = 0; k < n; k++) {
        printf("%s%s\n", prefix, json_object_get_string(json_object_array_get_idx(arr, k)));
    }
}

int cli_cmd_ssh_ca(const struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *pattern = a->value[CLI_OPT_KNOWN_HOSTS];
    if (a->npositional != 0) {
        return cli_usage_fail("ssh-ca", "ssh-ca takes no arguments");
    }
    if (pattern != NULL && !cli_ssh_text_ok(pattern, CLI_SSH_PATTERN_MAX, false)) {
        return cli_usage_fail("ssh-ca", "--known-hosts: a host pattern such as "
                                        "*.example.com (printable ASCII, no spaces)");
    }
    if (pattern != NULL && strchr(pattern, ' ') != NULL) {
        return cli_usage_fail("ssh-ca", "--known-hosts: no spaces (patterns are separated by ',')");
    }
    struct cli_reply reply = {0};
    int rc = cli_call(ctx, false, "GET", "/v1/ssh/ca", NULL, CLI_ANSWER_MAX, &reply);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    rc = cli_answer_json(&reply, &doc);
    cli_reply_clear(&reply);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    json_object *user = NULL;
    json_object *host = NULL;
    if (hs_failed(cli_ssh_ca_list(doc, "user_ca", &user)) ||
        hs_failed(cli_ssh_ca_list(doc, "host_ca", &host))) {
        return cli_answer_bad("the SSH CA keys");
    }
    if (pattern != NULL) {
        if (json_object_array_length(host) == 0) {
            fputs("hsmsign: the service publishes no host CA key\n", stderr);
            return CLI_EXIT_SERVICE;
        }
        HS_DEFER(struct hs_buf *prefix = hs_buf_new(CLI_SSH_PATTERN_MAX + 32), hs_buf_freep);
        const char *pre = NULL;
        if (prefix == NULL || hs_failed(hs_buf_put_str(prefix, "@cert-authority ")) ||
            hs_failed(hs_buf_put_str(prefix, pattern)) || hs_failed(hs_buf_put_byte(prefix, ' ')) ||
            hs_failed(hs_buf_cstr(prefix, &pre))) {
            return cli_fail(CLI_EXIT_LOCAL, "output");
        }
        cli_ssh_ca_print(host, pre);
        return CLI_EXIT_OK;
    }
    fputs("# user CA keys (sshd: TrustedUserCAKeys), newest first\n", stdout);
    cli_ssh_ca_print(user, "");
    fputs("# host CA keys (known_hosts: @cert-authority PATTERN KEY), newest first\n", stdout);
    cli_ssh_ca_print(host, "");
    return CLI_EXIT_OK;
}

/* --- ssh-status, ssh-revoke ------------------------------------------------------------------- */

static int cli_ssh_serial_route(const struct cli_args *a, const char *command, const char *tail,
                                struct hs_buf *route, const char **out)
{
    if (a->npositional != 1) {
        return cli_usage_fail(command, "expected one SERIAL");
    }
    hs_result r = cli_ssh_serial_check(a->positional[0]);
    if (!hs_failed(r)) {
        r = hs_buf_put_str(route, "/v1/ssh/certificates/");
    }
    if (!hs_failed(r)) {
        r = hs_buf_put_str(route, a->positional[0]);
    }
    if (!hs_failed(r)) {
        r = hs_buf_put_str(route, tail);
    }
    if (!hs_failed(r)) {
        r = hs_buf_cstr(route, out);
    }
    return hs_failed(r) ? cli_step_fail(r, command, "building the request") : CLI_EXIT_OK;
}

int cli_cmd_ssh_status(const struct cli_ctx *ctx, const struct cli_args *a)
{
    HS_DEFER(struct hs_buf *route = hs_buf_new(CLI_SSH_ROUTE_MAX), hs_buf_freep);
    if (route == NULL) {
        return cli_fail(CLI_EXIT_LOCAL, "out of memory");
    }
    const char *path = NULL;
    int rc = cli_ssh_serial_route(a, "ssh-status", "", route, &path);
    return rc != CLI_EXIT_OK ? rc : cli_status_call(ctx, "GET", path, NULL, true);
}

int cli_cmd_ssh_revoke(const struct cli_ctx *ctx, const struct cli_args *a)
{
    HS_DEFER(struct hs_buf *route = hs_buf_new(CLI_SSH_ROUTE_MAX), hs_buf_freep);
    HS_DEFER(json_object *body = json_object_new_object(), hs_json_putp);
    if (route == NULL || body == NULL) {
        return cli_fail(CLI_EXIT_LOCAL, "out of memory");
    }
    const char *path = NULL;
    int rc = cli_ssh_serial_route(a, "ssh-revoke", "/revoke", route, &path);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    if (a->value[CLI_OPT_REASON] != NULL &&
        hs_failed(hs_json_add(body, "reason", json_object_new_string(a->value[CLI_OPT_REASON])))) {
        return cli_fail(CLI_EXIT_LOCAL, "building the request");
    }
    return cli_status_call(ctx, "POST", path, body, false);
}

/* --- ssh-krl --------------------------------------------------------------------------------- */

static uint64_t cli_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (size_t k = 0; k < 8; k++) {
        v = v << 8 | p[k];
    }
    return v;
}

/* PROTOCOL.krl: MAGIC "SSHKRL\n\0", uint32 KRL_FORMAT_VERSION (1), uint64 krl_version, uint64
 * generated_date, ... Only the header is checked here; sshd and ssh-keygen -Q read the rest. */
static HS_RESULT cli_krl_header(const struct hs_buf *body, uint64_t *version, uint64_t *generated)
{
    const unsigned char *p = hs_buf_data(body);
    HS_ENSURE_MSG(hs_buf_len(body) >= CLI_SSH_KRL_HEADER &&
                      memcmp(p, cli_krl_magic, sizeof(cli_krl_magic)) == 0,
                  HS_ERR_INPUT, "not an OpenSSH KRL");
    HS_ENSURE_MSG(p[8] == 0 && p[9] == 0 && p[10] == 0 && p[11] == 1, HS_ERR_INPUT,
                  "a KRL format version other than 1");
    *version = cli_be64(p + 12);
    *generated = cli_be64(p + 20);
    return HS_OK;
}

int cli_cmd_ssh_krl(const struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *path = a->value[CLI_OPT_OUT];
    if (a->npositional != 0 || path == NULL) {
        return cli_usage_fail("ssh-krl", a->npositional != 0 ? "ssh-krl takes no arguments"
                                                             : "--out FILE is required");
    }
    if (hs_failed(cli_check_new_file(path))) {
        return cli_fail(CLI_EXIT_LOCAL, "--out");
    }
    struct cli_reply reply = {0};
    int rc = cli_call(ctx, false, "GET", "/v1/ssh/krl", NULL, CLI_CRL_MAX, &reply);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    uint64_t version = 0;
    uint64_t generated = 0;
    if (hs_failed(cli_krl_header(reply.body, &version, &generated))) {
        rc = cli_answer_bad("the KRL");
    } else if (hs_failed(hs_file_write_new(path, hs_buf_data(reply.body), hs_buf_len(reply.body),
                                           0644))) {
        rc = cli_fail(CLI_EXIT_LOCAL, "writing the KRL");
    }
    cli_reply_clear(&reply);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    char when[CLI_SSH_TIME_MAX] = "-";
    time_t t = (time_t)(generated <= CLI_SSH_TIME_T_MAX ? generated : 0);
    struct tm tm;
    if (t > 0 && gmtime_r(&t, &tm) != NULL) {
        (void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    printf("krl_version: %llu\ngenerated: %s\n", (unsigned long long)version, when);
    return CLI_EXIT_OK;
}
