#include "client/cli_cmd.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "client/cli_print.h"
#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "common/hs_json.h"

#define CLI_AUDIENCE_MAX 512
#define CLI_TOKEN_PROFILE_MAX 32 /* bytes of a token profile name (svc_token_profile.h) */
#define CLI_ROUTE_MAX 128
#define CLI_TIME_MAX 32

/* --- shared ----------------------------------------------------------------------------------- */

int cli_step_fail(hs_result r, const char *command, const char *what)
{
    if (r.code == HS_ERR_INPUT) {
        return cli_usage_fail(command, NULL);
    }
    return cli_fail(CLI_EXIT_LOCAL, what);
}

HS_RESULT cli_check_new_file(const char *path)
{
    HS_ENSURE_REF(path);
    HS_ENSURE_MSG(!hs_file_exists(path), HS_ERR_INPUT_EXISTS,
                  "%.150s already exists; refusing to overwrite", path);
    return HS_OK;
}

/* The credential chain (aws_creds.h); --profile-name skips the environment's keys, as the AWS
 * CLI's --profile does. */
static HS_RESULT cli_creds_get(const char *profile_name, struct aws_creds **out)
{
    struct aws_creds_options opt = {.profile = profile_name, .profile_only = profile_name != NULL};
    HS_DEFER(struct aws_creds_provider *p = NULL, aws_creds_provider_freep);
    HS_GUARD(aws_creds_provider_new(&opt, &p));
    return aws_creds_provider_get(p, out);
}

int cli_call(const struct cli_ctx *ctx, bool sign, const char *method, const char *path,
             json_object *body, size_t max_answer, struct cli_reply *reply)
{
    if (sign && ctx->http.region == NULL) {
        return cli_usage_fail(NULL, "no region: give --region, set AWS_REGION or "
                                    "AWS_DEFAULT_REGION, or `region` in ~/.aws/config");
    }
    HS_DEFER(struct aws_creds *creds = NULL, aws_creds_freep);
    if (sign && hs_failed(cli_creds_get(ctx->profile_name, &creds))) {
        return cli_fail(CLI_EXIT_LOCAL, "credentials");
    }
    if (creds != NULL && ctx->verbose) {
        fprintf(stderr, "hsmsign: signing as %s%s (from %s), region %s, service %s\n",
                creds->access_key_id, creds->session_token != NULL ? " with a session token" : "",
                creds->source, ctx->http.region, ctx->http.service);
    }
    HS_DEFER(char *text = NULL, hs_free_strp);
    if (body != NULL && hs_failed(hs_json_to_string(body, &text))) {
        return cli_fail(CLI_EXIT_LOCAL, "building the request");
    }
    hs_result r = cli_http_request(&ctx->http, creds, method, path, text,
                                   text != NULL ? strlen(text) : 0, max_answer, reply);
    if (hs_failed(r)) {
        bool local = r.code == HS_ERR_NOMEM || r.code == HS_ERR_INTERNAL;
        return cli_fail(local ? CLI_EXIT_LOCAL : CLI_EXIT_NETWORK,
                        local ? "preparing the request" : "no usable answer from the endpoint");
    }
    if (ctx->verbose) {
        cli_print_exchange(method, path, reply);
    }
    if (reply->status < 200 || reply->status > 299) {
        cli_print_refusal(reply);
        cli_reply_clear(reply);
        return CLI_EXIT_SERVICE;
    }
    return CLI_EXIT_OK;
}

int cli_answer_bad(const char *what)
{
    const struct hs_error *e = hs_error_last();
    fprintf(stderr, "hsmsign: the endpoint's answer is not what the API promises: %s%s%s\n", what,
            e->detail[0] != '\0' ? ": " : "", e->detail);
    return CLI_EXIT_NETWORK;
}

int cli_answer_json(const struct cli_reply *reply, json_object **out)
{
    const char *text = (const char *)hs_buf_data(reply->body);
    if (hs_failed(hs_json_parse_object(text, hs_buf_len(reply->body), CLI_ANSWER_MAX,
                                       HS_JSON_DEPTH_MAX, out))) {
        return cli_answer_bad("not a JSON object");
    }
    return CLI_EXIT_OK;
}

HS_RESULT cli_serial_check(const char *serial)
{
    size_t n = strnlen(serial, CLI_SERIAL_HEX_MAX + 1);
    bool ok = n > 0 && n <= CLI_SERIAL_HEX_MAX;
    for (size_t k = 0; ok && k < n; k++) {
        char c = serial[k];
        ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }
    HS_ENSURE_MSG(ok, HS_ERR_INPUT, "SERIAL: 1..%d hexadecimal digits (as hsmsign cert prints it)",
                  CLI_SERIAL_HEX_MAX);
    return HS_OK;
}

/* "/v1/certificates/SERIAL" + tail into route. */
static HS_RESULT cli_serial_route(const char *serial, const char *tail, struct hs_buf *route,
                                  const char **out)
{
    HS_GUARD(cli_serial_check(serial));
    HS_GUARD(hs_buf_put_str(route, "/v1/certificates/"));
    HS_GUARD(hs_buf_put_str(route, serial));
    HS_GUARD(hs_buf_put_str(route, tail));
    return hs_buf_cstr(route, out);
}

/* --- token ------------------------------------------------------------------------------------ */

static HS_RESULT cli_token_body(const struct cli_args *a, json_object *body)
{
    HS_ENSURE(body != NULL, HS_ERR_NOMEM);
    const char *aud = a->value[CLI_OPT_AUDIENCE];
    const char *profile = a->value[CLI_OPT_PROFILE];
    HS_ENSURE_MSG(aud != NULL || profile != NULL, HS_ERR_INPUT,
                  "--audience or --profile is required");
    if (profile != NULL) {
        HS_ENSURE_MSG(strnlen(profile, CLI_TOKEN_PROFILE_MAX + 1) <= CLI_TOKEN_PROFILE_MAX,
                      HS_ERR_INPUT, "--profile: longer than %d bytes", CLI_TOKEN_PROFILE_MAX);
        HS_GUARD(hs_json_add(body, "profile", json_object_new_string(profile)));
    }
    if (aud != NULL) {
        HS_ENSURE_MSG(strnlen(aud, CLI_AUDIENCE_MAX + 1) <= CLI_AUDIENCE_MAX, HS_ERR_INPUT,
                      "--audience: longer than %d bytes", CLI_AUDIENCE_MAX);
        HS_GUARD(hs_json_add(body, "audience", json_object_new_string(aud)));
    }
    if (a->value[CLI_OPT_TTL_SECONDS] != NULL) {
        long ttl = 0;
        HS_GUARD(
            cli_args_number(a->value[CLI_OPT_TTL_SECONDS], 1, INT32_MAX, "--ttl-seconds", &ttl));
        HS_GUARD(hs_json_add(body, "ttl_seconds", json_object_new_int64(ttl)));
    }
    if (a->value[CLI_OPT_ALG] != NULL) {
        HS_GUARD(hs_json_add(body, "alg", json_object_new_string(a->value[CLI_OPT_ALG])));
    }
    return HS_OK;
}

int cli_token_fetch(const struct cli_ctx *ctx, const struct cli_args *a, const char *command,
                    json_object **out, const char **token)
{
    HS_DEFER(json_object *body = json_object_new_object(), hs_json_putp);
    hs_result r = cli_token_body(a, body);
    if (hs_failed(r)) {
        return cli_step_fail(r, command, "building the request");
    }
    struct cli_reply reply = {0};
    int rc = cli_call(ctx, true, "POST", "/v1/tokens", body, CLI_ANSWER_MAX, &reply);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    rc = cli_answer_json(&reply, &doc);
    cli_reply_clear(&reply);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    if (hs_failed(hs_json_get_string(doc, "token", true, CLI_ANSWER_MAX, token))) {
        return cli_answer_bad("no token");
    }
    *out = doc;
    doc = NULL;
    return CLI_EXIT_OK;
}

int cli_cmd_token(const struct cli_ctx *ctx, const struct cli_args *a)
{
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    const char *token = NULL;
    int rc = cli_token_fetch(ctx, a, "token", &doc, &token);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    if (a->present[CLI_OPT_JSON]) {
        return hs_failed(cli_print_json(stdout, doc)) ? cli_fail(CLI_EXIT_LOCAL, "output")
                                                      : CLI_EXIT_OK;
    }
    /* Only the token, so that $(hsmsign token ...) is the token. */
    if (fputs(token, stdout) < 0 || fputc('\n', stdout) == EOF) {
        return cli_fail(CLI_EXIT_LOCAL, "output");
    }
    return CLI_EXIT_OK;
}

/* --- revoke, status --------------------------------------------------------------------------- */

/* Prints a status document and maps its "status" to the exit status. */
static int cli_status_exit(json_object *doc)
{
    const char *status = NULL;
    if (hs_failed(hs_json_get_string(doc, "status", true, 32, &status))) {
        return cli_answer_bad("no status");
    }
    if (hs_failed(cli_print_json(stdout, doc))) {
        return cli_fail(CLI_EXIT_LOCAL, "output");
    }
    if (strcmp(status, "good") == 0) {
        return CLI_EXIT_OK;
    }
    if (strcmp(status, "revoked") == 0) {
        return CLI_EXIT_REVOKED;
    }
    if (strcmp(status, "expired") == 0) {
        return CLI_EXIT_EXPIRED;
    }
    hs_error_clear();
    return cli_answer_bad("an unknown status");
}

/* The one SERIAL argument of revoke and status. */
static int cli_serial_arg(const struct cli_args *a, const char *command, struct hs_buf *route,
                          const char *tail, const char **out)
{
    if (a->npositional != 1) {
        return cli_usage_fail(command, "expected one SERIAL");
    }
    hs_result r = cli_serial_route(a->positional[0], tail, route, out);
    return hs_failed(r) ? cli_step_fail(r, command, "building the request") : CLI_EXIT_OK;
}

int cli_status_call(const struct cli_ctx *ctx, const char *method, const char *route,
                    json_object *body, bool exit_by_status)
{
    struct cli_reply reply = {0};
    int rc = cli_call(ctx, true, method, route, body, CLI_ANSWER_MAX, &reply);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    rc = cli_answer_json(&reply, &doc);
    cli_reply_clear(&reply);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    rc = cli_status_exit(doc);
    /* revoke: the revocation was done; the document says "revoked". */
    return exit_by_status || rc == CLI_EXIT_NETWORK || rc == CLI_EXIT_LOCAL ? rc : CLI_EXIT_OK;
}

int cli_cmd_revoke(const struct cli_ctx *ctx, const struct cli_args *a)
{
    HS_DEFER(struct hs_buf *route = hs_buf_new(CLI_ROUTE_MAX), hs_buf_freep);
    HS_DEFER(json_object *body = json_object_new_object(), hs_json_putp);
    if (route == NULL || body == NULL) {
        return cli_fail(CLI_EXIT_LOCAL, "out of memory");
    }
    const char *path = NULL;
    int rc = cli_serial_arg(a, "revoke", route, "/revoke", &path);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    if (a->value[CLI_OPT_REASON] != NULL &&
        hs_failed(hs_json_add(body, "reason", json_object_new_string(a->value[CLI_OPT_REASON])))) {
        return cli_fail(CLI_EXIT_LOCAL, "building the request");
    }
    return cli_status_call(ctx, "POST", path, body, false);
}

int cli_cmd_status(const struct cli_ctx *ctx, const struct cli_args *a)
{
    HS_DEFER(struct hs_buf *route = hs_buf_new(CLI_ROUTE_MAX), hs_buf_freep);
    if (route == NULL) {
        return cli_fail(CLI_EXIT_LOCAL, "out of memory");
    }
    const char *path = NULL;
    int rc = cli_serial_arg(a, "status", route, "", &path);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    return cli_status_call(ctx, "GET", path, NULL, true);
}

/* --- jwks, crl -------------------------------------------------------------------------------- */

int cli_cmd_jwks(const struct cli_ctx *ctx, const struct cli_args *a)
{
    if (a->npositional != 0) {
        return cli_usage_fail("jwks", "jwks takes no arguments");
    }
    struct cli_reply reply = {0};
    int rc = cli_call(ctx, false, "GET", "/.well-known/jwks.json", NULL, CLI_ANSWER_MAX, &reply);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    rc = cli_answer_json(&reply, &doc);
    cli_reply_clear(&reply);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    json_object *keys = NULL;
    if (hs_failed(hs_json_get_typed(doc, "keys", true, json_type_array, &keys))) {
        return cli_answer_bad("not a JWK Set");
    }
    return hs_failed(cli_print_json(stdout, doc)) ? cli_fail(CLI_EXIT_LOCAL, "output")
                                                  : CLI_EXIT_OK;
}

/* RFC 3339 UTC of t into out; "-" when t is absent or unreadable. */
static void cli_asn1_time(const ASN1_TIME *t, char out[CLI_TIME_MAX])
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
        strftime(out, CLI_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        memcpy(out, "-", 2);
    }
}

/* The whole answer must be one DER CRL. */
static HS_RESULT cli_crl_parse(const struct cli_reply *reply, X509_CRL **out)
{
    const unsigned char *p = hs_buf_data(reply->body);
    size_t n = hs_buf_len(reply->body);
    HS_ENSURE_MSG(n > 0 && n <= CLI_CRL_MAX, HS_ERR_INPUT, "empty");
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)n);
    if (crl == NULL || p != hs_buf_data(reply->body) + n) {
        X509_CRL_free(crl);
        ERR_clear_error();
        HS_BAIL_MSG(HS_ERR_INPUT, "not one DER CRL");
    }
    *out = crl;
    return HS_OK;
}

int cli_cmd_crl(const struct cli_ctx *ctx, const struct cli_args *a)
{
    const char *path = a->value[CLI_OPT_OUT];
    if (a->npositional != 0 || path == NULL) {
        return cli_usage_fail("crl", a->npositional != 0 ? "crl takes no arguments"
                                                         : "--out FILE is required");
    }
    if (hs_failed(cli_check_new_file(path))) {
        return cli_fail(CLI_EXIT_LOCAL, "--out");
    }
    struct cli_reply reply = {0};
    int rc = cli_call(ctx, false, "GET", "/v1/crl", NULL, CLI_CRL_MAX, &reply);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    HS_DEFER(X509_CRL *crl = NULL, hs_x509_crl_freep);
    hs_result r = cli_crl_parse(&reply, &crl);
    if (!hs_failed(r)) {
        r = hs_file_write_new(path, hs_buf_data(reply.body), hs_buf_len(reply.body), 0644);
        rc = hs_failed(r) ? cli_fail(CLI_EXIT_LOCAL, "writing the CRL") : CLI_EXIT_OK;
    } else {
        rc = cli_answer_bad("the CRL");
    }
    cli_reply_clear(&reply);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    char this_update[CLI_TIME_MAX];
    char next_update[CLI_TIME_MAX];
    cli_asn1_time(X509_CRL_get0_lastUpdate(crl), this_update);
    cli_asn1_time(X509_CRL_get0_nextUpdate(crl), next_update);
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
    printf("this_update: %s\nnext_update: %s\nrevoked: %d\n", this_update, next_update,
           revoked != NULL ? sk_X509_REVOKED_num(revoked) : 0);
    return CLI_EXIT_OK;
}
