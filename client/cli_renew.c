#include "client/cli_renew.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "client/cli_key.h"
#include "client/cli_print.h"
#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "common/hs_json.h"

#define CLI_CERT_FILE_MAX (64 * 1024) /* bytes of the certificate file renew reads */
#define CLI_TTL_HOURS_MAX 1000000
#define CLI_TIME_FIELD_MAX 64
#define CLI_RENEW_PATH_MAX 4096

/* --- ca ------------------------------------------------------------------------------------ */

/* The number of PEM certificates in body, which must be ASCII text holding at least one. */
static HS_RESULT cli_chain_count(const struct hs_buf *body, int *out)
{
    const unsigned char *p = hs_buf_data(body);
    size_t len = hs_buf_len(body);
    HS_ENSURE_MSG(len > 0 && len <= INT32_MAX, HS_ERR_INPUT_FIELD, "the chain is empty");
    for (size_t k = 0; k < len; k++) {
        HS_ENSURE_MSG(p[k] >= 0x20 ? p[k] < 0x7f : strchr("\r\n\t", p[k]) != NULL && p[k] != 0,
                      HS_ERR_INPUT_FIELD, "the chain is not PEM text");
    }
    HS_DEFER(BIO *bio = BIO_new_mem_buf(p, (int)len), hs_bio_freep);
    HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
    int n = 0;
    for (;;) {
        X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (cert == NULL) {
            break;
        }
        X509_free(cert);
        n++;
    }
    ERR_clear_error();
    HS_ENSURE_MSG(n > 0, HS_ERR_INPUT_FIELD, "no PEM certificate in the chain");
    *out = n;
    return HS_OK;
}

int cli_cmd_ca(const struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *path = a->value[CLI_OPT_OUT];
    if (a->npositional != 0) {
        return cli_usage_fail("ca", "ca takes no arguments");
    }
    struct cli_reply reply = {0};
    int rc = cli_call(ctx, false, "GET", "/v1/ca", NULL, CLI_ANSWER_MAX, &reply);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    int n = 0;
    if (hs_failed(cli_chain_count(reply.body, &n))) {
        cli_reply_clear(&reply);
        return cli_answer_bad("the CA chain");
    }
    if (path != NULL) {
        hs_result r = hs_file_replace(path, hs_buf_data(reply.body), hs_buf_len(reply.body), 0644);
        rc = hs_failed(r) ? cli_fail(CLI_EXIT_LOCAL, "writing the CA chain") : CLI_EXIT_OK;
        if (rc == CLI_EXIT_OK) {
            printf("certificates: %d\n", n);
        }
    } else if (fwrite(hs_buf_data(reply.body), 1, hs_buf_len(reply.body), stdout) !=
               hs_buf_len(reply.body)) {
        rc = CLI_EXIT_LOCAL;
    }
    cli_reply_clear(&reply);
    return rc;
}

/* --- renew --------------------------------------------------------------------------------- */

struct cli_renew_req {
    const char *cert_path;
    const char *key_path;
    const char *profile; /* NULL: from the certificate's extended key usage */
    const char *exec;    /* NULL: none */
    long ttl_hours;      /* 0: the service's default */
    bool force;
};

static HS_RESULT cli_renew_options(const struct cli_args *a, struct cli_renew_req *q)
{
    HS_ENSURE_MSG(a->npositional == 0, HS_ERR_INPUT, "renew takes no arguments, only options");
    q->cert_path = a->value[CLI_OPT_CERT];
    q->key_path = a->value[CLI_OPT_KEY];
    q->profile = a->value[CLI_OPT_PROFILE];
    q->exec = a->value[CLI_OPT_EXEC];
    q->force = a->present[CLI_OPT_FORCE];
    HS_ENSURE_MSG(q->cert_path != NULL && q->key_path != NULL, HS_ERR_INPUT,
                  "--cert FILE and --key FILE are required");
    HS_ENSURE_MSG(strcmp(q->cert_path, q->key_path) != 0, HS_ERR_INPUT,
                  "--cert and --key must be different files");
    HS_ENSURE_MSG(q->profile == NULL || strcmp(q->profile, "client") == 0 ||
                      strcmp(q->profile, "server") == 0,
                  HS_ERR_INPUT, "--profile: client or server");
    HS_ENSURE_MSG(q->exec == NULL || q->exec[0] != '\0', HS_ERR_INPUT, "--exec: an empty command");
    if (a->value[CLI_OPT_TTL_HOURS] != NULL) {
        HS_GUARD(cli_args_number(a->value[CLI_OPT_TTL_HOURS], 1, CLI_TTL_HOURS_MAX, "--ttl-hours",
                                 &q->ttl_hours));
    }
    return HS_OK;
}

/* The certificate at path (the first PEM certificate in it), and the file's status: a regular
 * file, since it is replaced by a rename. */
static HS_RESULT cli_renew_read_cert(const char *path, X509 **out, struct stat *st)
{
    HS_ENSURE_MSG(lstat(path, st) == 0, HS_ERR_INPUT_NOT_FOUND, "--cert %s: %s", path,
                  strerror(errno));
    HS_ENSURE_MSG(S_ISREG(st->st_mode), HS_ERR_INPUT,
                  "--cert %s is not a regular file (a symlink would be replaced, not followed)",
                  path);
    HS_DEFER(struct hs_buf *pem = NULL, hs_buf_freep);
    HS_GUARD(hs_file_read(path, CLI_CERT_FILE_MAX, &pem));
    HS_ENSURE_MSG(hs_buf_len(pem) > 0 && hs_buf_len(pem) <= INT32_MAX, HS_ERR_INPUT,
                  "--cert %s is empty", path);
    HS_DEFER(BIO *bio = BIO_new_mem_buf(hs_buf_data(pem), (int)hs_buf_len(pem)), hs_bio_freep);
    HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (cert == NULL) {
        ERR_clear_error();
        HS_BAIL_MSG(HS_ERR_INPUT, "--cert %s: no PEM certificate in it", path);
    }
    *out = cert;
    return HS_OK;
}

/* Seconds from a to b (negative when b is earlier). */
static HS_RESULT cli_time_diff(const ASN1_TIME *a, const ASN1_TIME *b, long long *out)
{
    int days = 0;
    int secs = 0;
    HS_GUARD_OSSL(ASN1_TIME_diff(&days, &secs, a, b), HS_ERR_CRYPTO);
    *out = (long long)days * 86400 + secs;
    return HS_OK;
}

/* Whether less than a third of cert's lifetime remains at now; *remaining and *lifetime get
 * the seconds. */
static HS_RESULT cli_renew_due(const X509 *cert, time_t now, bool *due, long long *remaining,
                               long long *lifetime)
{
    HS_DEFER(ASN1_TIME *t = ASN1_TIME_set(NULL, now), hs_asn1_time_freep);
    HS_ENSURE(t != NULL, HS_ERR_NOMEM);
    HS_GUARD(cli_time_diff(X509_get0_notBefore(cert), X509_get0_notAfter(cert), lifetime));
    HS_GUARD(cli_time_diff(t, X509_get0_notAfter(cert), remaining));
    *due = *remaining * 3 < *lifetime;
    return HS_OK;
}

static HS_RESULT cli_renew_body(const struct cli_renew_req *q, const X509 *cert,
                                const struct hs_buf *csr, json_object *body)
{
    HS_ENSURE(body != NULL, HS_ERR_NOMEM);
    const char *profile = q->profile;
    if (profile == NULL) {
        uint32_t xku = X509_get_extended_key_usage((X509 *)cert);
        profile = (xku & XKU_SSL_SERVER) != 0 ? "server" : "client";
    }
    HS_GUARD(hs_json_add(
        body, "csr",
        json_object_new_string_len((const char *)hs_buf_data(csr), (int)hs_buf_len(csr))));
    HS_GUARD(hs_json_add(body, "profile", json_object_new_string(profile)));
    if (q->ttl_hours > 0) {
        HS_GUARD(hs_json_add(body, "ttl_hours", json_object_new_int64(q->ttl_hours)));
    }
    return HS_OK;
}

static HS_RESULT cli_pem_first(const char *pem, const char *what, X509 **out)
{
    HS_DEFER(BIO *bio = BIO_new_mem_buf(pem, -1), hs_bio_freep);
    HS_ENSURE(bio != NULL, HS_ERR_NOMEM);
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (cert == NULL) {
        ERR_clear_error();
        HS_BAIL_MSG(HS_ERR_INPUT_FIELD, "%s is not a PEM certificate", what);
    }
    *out = cert;
    return HS_OK;
}

/* The new certificate holds key and is signed by the chain's first certificate. Errors:
 * HS_ERR_INPUT_FIELD (unparseable), HS_ERR_INPUT_KEY (not what was asked for). */
static HS_RESULT cli_renew_check(const char *cert_pem, const char *chain_pem, EVP_PKEY *key)
{
    HS_DEFER(X509 *cert = NULL, hs_x509_freep);
    HS_DEFER(X509 *issuer = NULL, hs_x509_freep);
    HS_GUARD(cli_pem_first(cert_pem, "certificate", &cert));
    HS_GUARD(cli_pem_first(chain_pem, "chain", &issuer));
    HS_ENSURE_MSG(EVP_PKEY_eq(X509_get0_pubkey(cert), key) == 1, HS_ERR_INPUT_KEY,
                  "the new certificate is for another public key than --key");
    bool signed_by_issuer = X509_verify(cert, X509_get0_pubkey(issuer)) == 1;
    ERR_clear_error();
    HS_ENSURE_MSG(signed_by_issuer, HS_ERR_INPUT_KEY,
                  "the new certificate does not verify with the first certificate of the chain");
    return HS_OK;
}

static void cli_fd_closep(const int *fd)
{
    if (*fd >= 0) {
        HS_IGNORE(close(*fd));
    }
}

/* Replaces path with pem atomically: a new temporary file in the same directory with the old
 * file's mode (and owner, when allowed), written and fsynced, renamed over path, and the
 * directory fsynced. On failure path is unchanged and the temporary file removed. */
static HS_RESULT cli_renew_replace(const char *path, const struct stat *old, const char *pem)
{
    char tmp[CLI_RENEW_PATH_MAX];
    const char *slash = strrchr(path, '/');
    int dir_len = slash != NULL ? (int)(slash - path + 1) : 0;
    int n = snprintf(tmp, sizeof(tmp), "%.*s.%s.renew.XXXXXX", dir_len, path,
                     slash != NULL ? slash + 1 : path);
    HS_ENSURE_MSG(n > 0 && (size_t)n < sizeof(tmp), HS_ERR_INPUT_TOO_LARGE,
                  "--cert: path too long");
    HS_DEFER(int fd = mkstemp(tmp), cli_fd_closep);
    HS_ENSURE_MSG(fd >= 0, HS_ERR_IO, "creating a temporary file next to --cert: %s",
                  strerror(errno));
    /* Owner first (fails unless root or the owner already: then it stays ours), then mode. */
    if (fchown(fd, old->st_uid, old->st_gid) != 0) {
        errno = 0; /* not root and not the owner: the new file is ours, which is all we may do */
    }
    size_t len = strlen(pem);
    size_t done = 0;
    bool ok = fchmod(fd, old->st_mode & 07777) == 0;
    while (ok && done < len) {
        ssize_t w = write(fd, pem + done, len - done);
        ok = w > 0 || (w < 0 && errno == EINTR);
        done += w > 0 ? (size_t)w : 0;
    }
    ok = ok && fsync(fd) == 0 && rename(tmp, path) == 0;
    if (!ok) {
        int e = errno;
        HS_IGNORE(unlink(tmp));
        HS_BAIL_MSG(HS_ERR_IO, "replacing %s: %s", path, strerror(e));
    }
    return hs_file_sync_dir(path);
}

/* Runs cmd with /bin/sh -c and returns its exit status (128 + N for signal N, 127 when the
 * shell could not start). */
static int cli_renew_exec(const char *cmd)
{
    if (fflush(NULL) != 0) {
        errno = 0; /* stdout's own failure is reported when hsmsign exits */
    }
    pid_t pid = fork();
    if (pid < 0) {
        return 127;
    }
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return 127;
        }
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 127;
}

/* The answer checked, the file replaced, the new serial and notAfter printed. */
static int cli_renew_save(const struct cli_renew_req *q, const struct stat *st, EVP_PKEY *key,
                          json_object *doc)
{
    const char *cert_pem = NULL;
    const char *chain_pem = NULL;
    const char *serial = NULL;
    const char *not_after = NULL;
    if (hs_failed(hs_json_get_string(doc, "certificate", true, CLI_PEM_FIELD_MAX, &cert_pem)) ||
        hs_failed(hs_json_get_string(doc, "chain", true, CLI_PEM_FIELD_MAX, &chain_pem)) ||
        hs_failed(hs_json_get_string(doc, "serial", true, CLI_SERIAL_HEX_MAX, &serial)) ||
        hs_failed(hs_json_get_string(doc, "not_after", true, CLI_TIME_FIELD_MAX, &not_after)) ||
        hs_failed(cli_serial_check(serial))) {
        return cli_answer_bad("the certificate answer");
    }
    hs_result r = cli_renew_check(cert_pem, chain_pem, key);
    if (r.code == HS_ERR_INPUT_KEY) {
        return cli_fail(CLI_EXIT_SERVICE, "the service's certificate is refused");
    }
    if (hs_failed(r)) {
        return cli_answer_bad("the certificate answer");
    }
    if (hs_failed(cli_renew_replace(q->cert_path, st, cert_pem))) {
        int rc = cli_fail(CLI_EXIT_LOCAL, "saving the certificate");
        fprintf(stderr,
                "hsmsign: certificate %s was issued but not saved; %s is unchanged; revoke the new "
                "one with: hsmsign revoke %s --reason superseded\n",
                serial, q->cert_path, serial);
        return rc;
    }
    printf("renewed: %s\nserial: %s\nnot_after: ", q->cert_path, serial);
    cli_print_clean(stdout, not_after, strlen(not_after));
    fputc('\n', stdout);
    return CLI_EXIT_OK;
}

/* The request for q: the certificate and key read and matched, the due check, the CSR. Returns
 * CLI_EXIT_OK with *csr set when a renewal is to be asked for. */
static int cli_renew_prepare(const struct cli_renew_req *q, X509 **cert, EVP_PKEY **key,
                             struct stat *st, struct hs_buf **csr)
{
    if (hs_failed(cli_renew_read_cert(q->cert_path, cert, st))) {
        return cli_fail(CLI_EXIT_LOCAL, "--cert");
    }
    if (hs_failed(cli_key_read(q->key_path, key))) {
        return cli_fail(CLI_EXIT_LOCAL, "--key");
    }
    if (EVP_PKEY_eq(X509_get0_pubkey(*cert), *key) != 1) {
        ERR_clear_error();
        fprintf(stderr, "hsmsign: --key is not the key of --cert's certificate\n");
        return CLI_EXIT_LOCAL;
    }
    bool due = false;
    long long remaining = 0;
    long long lifetime = 0;
    if (hs_failed(cli_renew_due(*cert, time(NULL), &due, &remaining, &lifetime))) {
        return cli_fail(CLI_EXIT_LOCAL, "--cert's validity");
    }
    if (!due && !q->force) {
        printf("not due: %lld of %lld seconds remain; renews when less than a third (%lld) "
               "remains, or with --force\n",
               remaining, lifetime, lifetime / 3);
        return CLI_EXIT_NOT_DUE;
    }
    *csr = hs_buf_new(CLI_CSR_PEM_MAX);
    if (*csr == NULL || hs_failed(cli_csr_build_like(*key, *cert, *csr))) {
        return cli_fail(CLI_EXIT_LOCAL, "making the CSR");
    }
    return CLI_EXIT_OK;
}

int cli_cmd_renew(const struct cli_ctx *ctx, const struct cli_args *a)
{
    struct cli_renew_req q = {0};
    hs_result r = cli_renew_options(a, &q);
    if (hs_failed(r)) {
        return cli_step_fail(r, "renew", "options");
    }
    HS_DEFER(X509 *cert = NULL, hs_x509_freep);
    HS_DEFER(EVP_PKEY *key = NULL, hs_evp_pkey_freep);
    HS_DEFER(struct hs_buf *csr = NULL, hs_buf_freep);
    struct stat st;
    int rc = cli_renew_prepare(&q, &cert, &key, &st, &csr);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    HS_DEFER(json_object *body = json_object_new_object(), hs_json_putp);
    if (hs_failed(cli_renew_body(&q, cert, csr, body))) {
        return cli_fail(CLI_EXIT_LOCAL, "building the request");
    }
    struct cli_reply reply = {0};
    rc = cli_call(ctx, true, "POST", "/v1/certificates", body, CLI_ANSWER_MAX, &reply);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    rc = cli_answer_json(&reply, &doc);
    cli_reply_clear(&reply);
    rc = rc != CLI_EXIT_OK ? rc : cli_renew_save(&q, &st, key, doc);
    if (rc != CLI_EXIT_OK || q.exec == NULL) {
        return rc;
    }
    int status = cli_renew_exec(q.exec);
    fprintf(stderr, "hsmsign: --exec finished with exit status %d\n", status);
    return status == 0 ? CLI_EXIT_OK : CLI_EXIT_EXEC;
}
