#include "client/cli_cert.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "client/cli_key.h"
#include "client/cli_print.h"
#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "common/hs_json.h"

#define CLI_TTL_HOURS_MAX 1000000
#define CLI_TIME_FIELD_MAX 64

/* What the command line asks for. */
struct cli_cert_req {
    const char *csr_path; /* --csr, or NULL: generate */
    enum cli_key_type key_type;
    struct cli_csr_names names;
    const char *profile; /* NULL: the service's default */
    long ttl_hours;      /* 0: the service's default */
    const char *out_key;
    const char *out_cert;
    const char *out_chain;
};

/* What came back (strings lent by the answer's JSON). */
struct cli_issued {
    const char *cert_pem;
    const char *chain_pem;
    const char *serial;
    const char *not_after;
};

static bool cli_same(const char *x, const char *y)
{
    return x != NULL && y != NULL && strcmp(x, y) == 0;
}

static HS_RESULT cli_cert_generated(const struct cli_args *a, struct cli_cert_req *q)
{
    HS_ENSURE_MSG(q->out_key != NULL, HS_ERR_INPUT, "--out-key FILE is required (or give --csr)");
    q->names.cn = a->value[CLI_OPT_CN];
    q->names.dns = a->list[CLI_OPT_DNS];
    q->names.ndns = a->nlist[CLI_OPT_DNS];
    q->names.ip = a->list[CLI_OPT_IP];
    q->names.nip = a->nlist[CLI_OPT_IP];
    q->key_type = CLI_KEY_EC_P256;
    if (a->value[CLI_OPT_KEY_TYPE] != NULL) {
        HS_GUARD(cli_key_type_parse(a->value[CLI_OPT_KEY_TYPE], &q->key_type));
    }
    return cli_csr_names_check(&q->names);
}

static HS_RESULT cli_cert_options(const struct cli_args *a, struct cli_cert_req *q)
{
    HS_ENSURE_MSG(a->npositional == 0, HS_ERR_INPUT, "cert takes no arguments, only options");
    q->csr_path = a->value[CLI_OPT_CSR];
    q->out_key = a->value[CLI_OPT_OUT_KEY];
    q->out_cert = a->value[CLI_OPT_OUT_CERT];
    q->out_chain = a->value[CLI_OPT_OUT_CHAIN];
    HS_ENSURE_MSG(q->out_cert != NULL, HS_ERR_INPUT, "--out-cert FILE is required");
    if (q->csr_path == NULL) {
        HS_GUARD(cli_cert_generated(a, q));
    } else {
        HS_ENSURE_MSG(q->out_key == NULL, HS_ERR_INPUT,
                      "--out-key does not go with --csr: the CSR's key is yours, no key is made");
        HS_ENSURE_MSG(!a->present[CLI_OPT_CN] && !a->present[CLI_OPT_DNS] &&
                          !a->present[CLI_OPT_IP] && !a->present[CLI_OPT_KEY_TYPE],
                      HS_ERR_INPUT,
                      "--cn, --dns, --ip and --key-type describe a CSR made here; not with --csr");
    }
    q->profile = a->value[CLI_OPT_PROFILE];
    HS_ENSURE_MSG(q->profile == NULL || strcmp(q->profile, "client") == 0 ||
                      strcmp(q->profile, "server") == 0,
                  HS_ERR_INPUT, "--profile: client or server");
    if (a->value[CLI_OPT_TTL_HOURS] != NULL) {
        HS_GUARD(cli_args_number(a->value[CLI_OPT_TTL_HOURS], 1, CLI_TTL_HOURS_MAX, "--ttl-hours",
                                 &q->ttl_hours));
    }
    HS_ENSURE_MSG(!cli_same(q->out_key, q->out_cert) && !cli_same(q->out_key, q->out_chain) &&
                      !cli_same(q->out_cert, q->out_chain),
                  HS_ERR_INPUT, "--out-key, --out-cert and --out-chain must be different files");
    return HS_OK;
}

static HS_RESULT cli_cert_outputs_free(const struct cli_cert_req *q)
{
    const char *paths[] = {q->out_key, q->out_cert, q->out_chain};
    for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
        if (paths[k] != NULL) {
            HS_GUARD(cli_check_new_file(paths[k]));
        }
    }
    return HS_OK;
}

/* The CSR to send and the key it is for: generated (private) or read from --csr (public). */
static HS_RESULT cli_cert_csr(const struct cli_cert_req *q, EVP_PKEY **key_out,
                              struct hs_buf **pem_out)
{
    if (q->csr_path != NULL) {
        return cli_csr_read(q->csr_path, pem_out, key_out);
    }
    HS_DEFER(EVP_PKEY *key = NULL, hs_evp_pkey_freep);
    HS_DEFER(struct hs_buf *pem = hs_buf_new(CLI_CSR_PEM_MAX), hs_buf_freep);
    HS_ENSURE(pem != NULL, HS_ERR_NOMEM);
    HS_GUARD(cli_key_generate(q->key_type, &key));
    HS_GUARD(cli_csr_build(key, &q->names, pem));
    *key_out = key;
    key = NULL;
    *pem_out = pem;
    pem = NULL;
    return HS_OK;
}

static HS_RESULT cli_cert_body(const struct cli_cert_req *q, const struct hs_buf *csr,
                               json_object *body)
{
    HS_ENSURE(body != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_json_add(
        body, "csr",
        json_object_new_string_len((const char *)hs_buf_data(csr), (int)hs_buf_len(csr))));
    if (q->profile != NULL) {
        HS_GUARD(hs_json_add(body, "profile", json_object_new_string(q->profile)));
    }
    if (q->ttl_hours > 0) {
        HS_GUARD(hs_json_add(body, "ttl_hours", json_object_new_int64(q->ttl_hours)));
    }
    return HS_OK;
}

/* The answer's members, each present and of its type. */
static HS_RESULT cli_cert_fields(json_object *doc, struct cli_issued *out)
{
    HS_GUARD(hs_json_get_string(doc, "certificate", true, CLI_PEM_FIELD_MAX, &out->cert_pem));
    HS_GUARD(hs_json_get_string(doc, "chain", true, CLI_PEM_FIELD_MAX, &out->chain_pem));
    HS_GUARD(hs_json_get_string(doc, "serial", true, CLI_SERIAL_HEX_MAX, &out->serial));
    HS_GUARD(hs_json_get_string(doc, "not_after", true, CLI_TIME_FIELD_MAX, &out->not_after));
    return cli_serial_check(out->serial);
}

static HS_RESULT cli_pem_x509(const char *pem, const char *what, X509 **out)
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

/* The certificate holds our public key and is signed by the chain's first certificate.
 * Errors: HS_ERR_INPUT_FIELD (unparseable: the answer is broken), HS_ERR_INPUT_KEY (it parses
 * but is not what was asked for: the service failed). */
static HS_RESULT cli_cert_check(const struct cli_issued *is, EVP_PKEY *key)
{
    HS_DEFER(X509 *cert = NULL, hs_x509_freep);
    HS_DEFER(X509 *issuer = NULL, hs_x509_freep);
    HS_GUARD(cli_pem_x509(is->cert_pem, "certificate", &cert));
    HS_GUARD(cli_pem_x509(is->chain_pem, "chain", &issuer));
    HS_ENSURE_MSG(EVP_PKEY_eq(X509_get0_pubkey(cert), key) == 1, HS_ERR_INPUT_KEY,
                  "the certificate is for another public key than the CSR's");
    bool signed_by_issuer = X509_verify(cert, X509_get0_pubkey(issuer)) == 1;
    ERR_clear_error();
    HS_ENSURE_MSG(signed_by_issuer, HS_ERR_INPUT_KEY,
                  "the certificate does not verify with the first certificate of the chain");
    return HS_OK;
}

static HS_RESULT cli_cert_write(const struct cli_cert_req *q, EVP_PKEY *key,
                                const struct cli_issued *is)
{
    if (q->out_key != NULL) {
        HS_GUARD(cli_key_write(key, q->out_key));
    }
    HS_GUARD(hs_file_write_new(q->out_cert, is->cert_pem, strlen(is->cert_pem), 0644));
    if (q->out_chain != NULL) {
        HS_GUARD(hs_file_write_new(q->out_chain, is->chain_pem, strlen(is->chain_pem), 0644));
    }
    return HS_OK;
}

/* Checks the answer, writes the files and prints the serial and notAfter. */
static int cli_cert_save(const struct cli_cert_req *q, EVP_PKEY *key, json_object *doc)
{
    struct cli_issued is = {0};
    if (hs_failed(cli_cert_fields(doc, &is))) {
        return cli_answer_bad("the certificate answer");
    }
    hs_result r = cli_cert_check(&is, key);
    if (r.code == HS_ERR_INPUT_KEY) {
        return cli_fail(CLI_EXIT_SERVICE, "the service's certificate is refused");
    }
    if (hs_failed(r)) {
        return cli_answer_bad("the certificate answer");
    }
    if (hs_failed(cli_cert_write(q, key, &is))) {
        int rc = cli_fail(CLI_EXIT_LOCAL, "saving the certificate");
        fprintf(stderr,
                "hsmsign: certificate %s was issued but not saved; revoke it with: "
                "hsmsign revoke %s --reason superseded\n",
                is.serial, is.serial);
        return rc;
    }
    printf("serial: %s\nnot_after: ", is.serial);
    cli_print_clean(stdout, is.not_after, strlen(is.not_after));
    fputc('\n', stdout);
    return CLI_EXIT_OK;
}

int cli_cmd_cert(const struct cli_ctx *ctx, const struct cli_args *a)
{
    struct cli_cert_req q = {0};
    hs_result r = cli_cert_options(a, &q);
    if (hs_failed(r)) {
        return cli_step_fail(r, "cert", "options");
    }
    if (hs_failed(cli_cert_outputs_free(&q))) {
        return cli_fail(CLI_EXIT_LOCAL, "output");
    }
    HS_DEFER(EVP_PKEY *key = NULL, hs_evp_pkey_freep);
    HS_DEFER(struct hs_buf *csr = NULL, hs_buf_freep);
    if (hs_failed(cli_cert_csr(&q, &key, &csr))) {
        return cli_fail(CLI_EXIT_LOCAL, q.csr_path != NULL ? "--csr" : "making the key and CSR");
    }
    HS_DEFER(json_object *body = json_object_new_object(), hs_json_putp);
    if (hs_failed(cli_cert_body(&q, csr, body))) {
        return cli_fail(CLI_EXIT_LOCAL, "building the request");
    }
    struct cli_reply reply = {0};
    int rc = cli_call(ctx, true, "POST", "/v1/certificates", body, CLI_ANSWER_MAX, &reply);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    rc = cli_answer_json(&reply, &doc);
    cli_reply_clear(&reply);
    return rc != CLI_EXIT_OK ? rc : cli_cert_save(&q, key, doc);
}
