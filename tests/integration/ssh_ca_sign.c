/*
 * ssh_ca_sign: a test helper for ssh_ca_test.sh. Signs one OpenSSH certificate with a CA key
 * that `keyceremony ssh-ca` made in the token, through signer/sgn_ssh_cert (C_Sign on the
 * token), and writes its line to a new file.
 *
 *   ssh_ca_sign CONFIG CA_KEY user|host SERIAL PRINCIPALS SUBJECT_PUB OUT
 *
 * CONFIG is a JSON file with the ceremony's "token" block (the PIN from its pin_file), CA_KEY a
 * label or RFC 7512 URI, PRINCIPALS comma-separated, SUBJECT_PUB an OpenSSH public-key line
 * (ssh-keygen's .pub), OUT the certificate line (created with O_EXCL). The certificate is valid
 * from 5 minutes ago for an hour; user certificates get the five permit-* extensions. Exit 0
 * when written, 1 on any failure (the error on stderr), 2 on usage errors.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_err.h"
#include "common/hs_file.h"
#include "common/hs_json.h"
#include "common/hs_log.h"
#include "common/hs_secret.h"
#include "pkcs11/p11_config.h"
#include "pkcs11/p11_key.h"
#include "signer/sgn_ssh_cert.h"
#include "signer/sgn_ssh_key.h"

#define CONFIG_MAX 65536
#define PRINCIPALS_TEXT_MAX 1024

struct sign_args {
    const char *config;
    const char *ca_key;
    enum sgn_ssh_cert_type type;
    uint64_t serial;
    char principals_text[PRINCIPALS_TEXT_MAX];
    const char *principals[SGN_SSH_PRINCIPALS_MAX];
    size_t n_principals;
    const char *subject;
    const char *out;
};

static int parse_args(int argc, char **argv, struct sign_args *a)
{
    if (argc != 8 || (strcmp(argv[3], "user") != 0 && strcmp(argv[3], "host") != 0) ||
        strlen(argv[5]) >= sizeof(a->principals_text)) {
        return -1;
    }
    a->config = argv[1];
    a->ca_key = argv[2];
    a->type = strcmp(argv[3], "user") == 0 ? SGN_SSH_CERT_USER : SGN_SSH_CERT_HOST;
    char *end = NULL;
    errno = 0;
    unsigned long long serial = strtoull(argv[4], &end, 10);
    if (errno != 0 || end == argv[4] || *end != '\0') {
        return -1;
    }
    a->serial = serial;
    memcpy(a->principals_text, argv[5], strlen(argv[5]) + 1);
    char *save = NULL;
    for (char *p = strtok_r(a->principals_text, ",", &save);
         p != NULL && a->n_principals < SGN_SSH_PRINCIPALS_MAX; p = strtok_r(NULL, ",", &save)) {
        a->principals[a->n_principals++] = p;
    }
    a->subject = argv[6];
    a->out = argv[7];
    return 0;
}

static HS_RESULT open_ca(const char *config, const char *ref, struct p11_module **module,
                         struct p11_pool **pool, struct sgn_ssh_ca **out)
{
    HS_DEFER(struct hs_buf *text = NULL, hs_buf_freep);
    HS_GUARD(hs_file_read(config, CONFIG_MAX, &text));
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    HS_GUARD(hs_json_parse_object((const char *)hs_buf_data(text), hs_buf_len(text), CONFIG_MAX,
                                  HS_JSON_DEPTH_MAX, &doc));
    struct p11_token_config tc;
    HS_GUARD(p11_token_config_parse(doc, 0, &tc));
    HS_GUARD(p11_token_open(&tc, module, pool));
    HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
    HS_GUARD(p11_key_find(*pool, ref, &key));
    return sgn_ssh_ca_new(key, out);
}

static HS_RESULT sign(const struct sign_args *a, const struct sgn_ssh_ca *ca)
{
    static const char *const user_extensions[] = {
        "permit-X11-forwarding", "permit-agent-forwarding", "permit-port-forwarding", "permit-pty",
        "permit-user-rc"};
    HS_DEFER(struct hs_buf *line = NULL, hs_buf_freep);
    HS_GUARD(hs_file_read(a->subject, SGN_SSH_LINE_MAX, &line));
    HS_DEFER(struct sgn_ssh_key *subject = NULL, sgn_ssh_key_freep);
    HS_GUARD(sgn_ssh_key_parse_line((const char *)hs_buf_data(line), hs_buf_len(line), &subject));
    uint64_t now = (uint64_t)time(NULL);
    bool user = a->type == SGN_SSH_CERT_USER;
    struct sgn_ssh_cert_request req = {
        .subject = subject,
        .serial = a->serial,
        .type = a->type,
        .key_id = "ssh_ca_test",
        .principals = a->principals,
        .n_principals = a->n_principals,
        .valid_after = now - 300,
        .valid_before = now + 3600,
        .extensions = user ? user_extensions : NULL,
        .n_extensions = user ? sizeof(user_extensions) / sizeof(user_extensions[0]) : 0,
        .requester = "ssh_ca_test",
    };
    HS_DEFER(struct hs_buf *cert = hs_buf_new(SGN_SSH_CERT_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *out = hs_buf_new(2 * SGN_SSH_CERT_MAX), hs_buf_freep);
    HS_ENSURE(cert != NULL && out != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_ssh_cert_sign(ca, &req, cert));
    HS_GUARD(sgn_ssh_cert_to_line(hs_buf_data(cert), hs_buf_len(cert), "ssh_ca_test", out));
    HS_GUARD(hs_buf_put_byte(out, '\n'));
    return hs_file_write_new(a->out, hs_buf_data(out), hs_buf_len(out), 0644);
}

static HS_RESULT run(const struct sign_args *a)
{
    HS_GUARD(hs_secure_init(65536));
    struct p11_module *module = NULL;
    struct p11_pool *pool = NULL;
    struct sgn_ssh_ca *ca = NULL;
    hs_result r = open_ca(a->config, a->ca_key, &module, &pool, &ca);
    if (!hs_failed(r)) {
        r = sign(a, ca);
    }
    /* The CA holds a key that points into the pool: free it first, then the pool, the module. */
    sgn_ssh_ca_free(ca);
    p11_pool_free(pool);
    p11_module_free(module);
    return r;
}

int main(int argc, char **argv)
{
    struct sign_args a = {0};
    if (parse_args(argc, argv, &a) != 0) {
        fprintf(stderr, "usage: ssh_ca_sign CONFIG CA_KEY user|host SERIAL PRINCIPALS "
                        "SUBJECT_PUB OUT\n");
        return 2;
    }
    hs_log_set_stream(stderr);
    hs_log_init();
    if (hs_failed(run(&a))) {
        const struct hs_error *e = hs_error_last();
        fprintf(stderr, "ssh_ca_sign: %s: %s\n", hs_code_name(e->code), e->detail);
        return 1;
    }
    return 0;
}
