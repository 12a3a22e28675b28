/*
 * hsmsign: the command-line client of hsmsignd, for callers with AWS credentials.
 *
 *   hsmsign cert --cn NAME [--dns NAME]... [--ip ADDR]... [--key-type TYPE]
 *                --out-key F --out-cert F [--out-chain F] [--profile client|server] [--ttl-hours N]
 *   hsmsign cert --csr FILE --out-cert F [--out-chain F] [--profile ...] [--ttl-hours N]
 *   hsmsign token --audience A | --profile P [--ttl-seconds N] [--alg ALG] [--json]
 *   hsmsign call URL [--method M] [--data D|@FILE] [--header H]... --audience A | --profile P
 *   hsmsign revoke SERIAL [--reason R]
 *   hsmsign status SERIAL
 *   hsmsign jwks
 *   hsmsign crl --out F
 *   hsmsign ca [--out F]
 *   hsmsign renew --cert F --key F [--force] [--exec CMD] [--profile P] [--ttl-hours N]
 *   hsmsign ssh --principal P [--principal P2]... [--type user|host] [--key-type TYPE]
 *               [--ttl-seconds N] [--key-id ID] [--force-command CMD] [--source-address CIDRS]
 *               [--extension NAME]... [--out FILE | --public-key FILE.pub]
 *   hsmsign ssh-ca [--known-hosts PATTERN]
 *   hsmsign ssh-status SERIAL
 *   hsmsign ssh-revoke SERIAL [--reason R]
 *   hsmsign ssh-krl --out F
 *   hsmsign --version        the build's version (git describe), OpenSSL and libcurl
 *
 * Requests are signed with AWS SigV4 (cli_http) with credentials from the AWS SDKs' chain
 * (aws/aws_creds.h: environment, web identity, profiles with credential_process and role_arn,
 * container, IMDSv2); jwks, crl, ssh-ca and ssh-krl are unsigned. docs/client.md is the manual,
 * with the exit statuses of enum cli_exit (cli_print.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "client/cli_args.h"
#include "client/cli_call.h"
#include "client/cli_cert.h"
#include "client/cli_cmd.h"
#include "client/cli_http.h"
#include "client/cli_print.h"
#include "client/cli_renew.h"
#include "client/cli_ssh.h"
#include "common/hs_err.h"
#include "common/hs_log.h"
#include "common/hs_secret.h"
#include "common/hs_version.h"

#define CLI_TIMEOUT_DEFAULT_S 30
#define CLI_TIMEOUT_MAX_S 3600
#define CLI_SERVICE_DEFAULT "execute-api"

struct cli_command {
    const char *name;
    int (*run)(const struct cli_ctx *ctx, const struct cli_args *a);
    const enum cli_opt *opts;
    size_t nopts;
    const char *summary;
    const char *usage;
    const char *about;
};

static const enum cli_opt cli_cert_opts[] = {
    CLI_OPT_CN,      CLI_OPT_DNS,       CLI_OPT_IP,      CLI_OPT_KEY_TYPE, CLI_OPT_CSR,
    CLI_OPT_PROFILE, CLI_OPT_TTL_HOURS, CLI_OPT_OUT_KEY, CLI_OPT_OUT_CERT, CLI_OPT_OUT_CHAIN};
static const enum cli_opt cli_token_opts[] = {CLI_OPT_AUDIENCE, CLI_OPT_PROFILE,
                                              CLI_OPT_TTL_SECONDS, CLI_OPT_ALG, CLI_OPT_JSON};
static const enum cli_opt cli_call_opts[] = {CLI_OPT_METHOD,   CLI_OPT_DATA,    CLI_OPT_HEADER,
                                             CLI_OPT_AUDIENCE, CLI_OPT_PROFILE, CLI_OPT_TTL_SECONDS,
                                             CLI_OPT_ALG};
static const enum cli_opt cli_revoke_opts[] = {CLI_OPT_REASON};
static const enum cli_opt cli_crl_opts[] = {CLI_OPT_OUT};
static const enum cli_opt cli_renew_opts[] = {CLI_OPT_CERT, CLI_OPT_KEY,     CLI_OPT_FORCE,
                                              CLI_OPT_EXEC, CLI_OPT_PROFILE, CLI_OPT_TTL_HOURS};
static const enum cli_opt cli_ssh_opts[] = {
    CLI_OPT_PRINCIPAL, CLI_OPT_TYPE,          CLI_OPT_KEY_TYPE,       CLI_OPT_TTL_SECONDS,
    CLI_OPT_KEY_ID,    CLI_OPT_FORCE_COMMAND, CLI_OPT_SOURCE_ADDRESS, CLI_OPT_EXTENSION,
    CLI_OPT_OUT,       CLI_OPT_PUBLIC_KEY,    CLI_OPT_KEYGEN,         CLI_OPT_WAIT_SECONDS};
static const enum cli_opt cli_ssh_ca_opts[] = {CLI_OPT_KNOWN_HOSTS};

#define CLI_OPTS(list) (list), sizeof(list) / sizeof((list)[0])

static const struct cli_command cli_commands[] = {
    {"cert", cli_cmd_cert, CLI_OPTS(cli_cert_opts), "get a certificate (POST /v1/certificates)",
     "hsmsign cert --cn NAME [--dns NAME]... [--ip ADDR]... [--key-type TYPE]\n"
     "                    --out-key F --out-cert F [--out-chain F] [--profile client|server]\n"
     "                    [--ttl-hours N]\n"
     "       hsmsign cert --csr FILE --out-cert F [--out-chain F] [--profile client|server]\n"
     "                    [--ttl-hours N]",
     "Gets a certificate (POST /v1/certificates). Without --csr, makes the key pair and the CSR\n"
     "here; the private key never leaves this machine and is written, after the certificate\n"
     "came back for it, to a new file (mode 0600, PEM PKCS#8). With --csr, sends that CSR and\n"
     "writes no key. Output files must not exist. Prints the serial and notAfter."},
    {"token", cli_cmd_token, CLI_OPTS(cli_token_opts), "get a JWT (POST /v1/tokens)",
     "hsmsign token --audience AUD | --profile NAME [--ttl-seconds N] [--alg ALG] [--json]",
     "Gets a JWT (POST /v1/tokens) and prints only the token, for $(hsmsign token ...);\n"
     "--json prints the whole answer instead. --profile names a token profile of the service,\n"
     "which fixes the audience, lifetime and alg."},
    {"call", cli_cmd_call, CLI_OPTS(cli_call_opts), "call a URL with a fresh token (Bearer)",
     "hsmsign call URL [--method M] [--data D|@FILE] [--header 'NAME: VALUE']...\n"
     "                    --audience AUD | --profile NAME",
     "Gets a fresh token (as hsmsign token), calls URL with \"Authorization: Bearer\" and prints\n"
     "the answer's body to stdout (-v: its status and time to stderr). URL is https (http only\n"
     "to this machine). Exit status 7 when the URL answers with an HTTP status >= 400 (the\n"
     "body is still printed). The token is never printed."},
    {"revoke", cli_cmd_revoke, CLI_OPTS(cli_revoke_opts), "revoke a certificate",
     "hsmsign revoke SERIAL [--reason R]",
     "Revokes a certificate you requested (or any, as an admin) and prints its status\n"
     "document. Revoking again changes nothing and succeeds."},
    {"status", cli_cmd_status, NULL, 0, "print the status of a certificate",
     "hsmsign status SERIAL",
     "Prints a certificate's status document (GET /v1/certificates/SERIAL). The exit status\n"
     "tells the \"status\" member: 0 good, 5 revoked, 6 expired."},
    {"jwks", cli_cmd_jwks, NULL, 0, "print the JWK Set of the token-signing keys", "hsmsign jwks",
     "Prints the JWK Set of the token-signing keys (GET /.well-known/jwks.json; unsigned)."},
    {"crl", cli_cmd_crl, CLI_OPTS(cli_crl_opts), "save the issuing CA's CRL (DER)",
     "hsmsign crl --out FILE",
     "Saves the issuing CA's CRL (GET /v1/crl; unsigned), DER, to a new file, and prints its\n"
     "thisUpdate, nextUpdate and number of revoked certificates."},
    {"ca", cli_cmd_ca, CLI_OPTS(cli_crl_opts), "print the issuing CA chain (PEM)",
     "hsmsign ca [--out FILE]",
     "Prints the issuing chain (GET /v1/ca; unsigned), PEM, issuing CA first up to the root,\n"
     "for relying parties' trust stores. With --out, replaces FILE atomically (mode 0644)\n"
     "and prints how many certificates it holds."},
    {"renew", cli_cmd_renew, CLI_OPTS(cli_renew_opts), "renew a certificate with the same key",
     "hsmsign renew --cert FILE --key FILE [--force] [--exec CMD] [--profile client|server]\n"
     "                     [--ttl-hours N]",
     "Renews the certificate in --cert when less than a third of its lifetime remains (or\n"
     "with --force): a new CSR from --key with the certificate's subject and SANs, the new\n"
     "certificate checked against the key and chain, --cert replaced atomically (same mode),\n"
     "then --exec CMD run once with /bin/sh -c. The profile is --profile, else server for a\n"
     "certificate with serverAuth, else client. Exit status 0 renewed, 8 not due (nothing\n"
     "changed), 9 renewed but CMD failed."},
    {"ssh", cli_cmd_ssh, CLI_OPTS(cli_ssh_opts),
     "get an SSH certificate (POST /v1/ssh/certificates)",
     "hsmsign ssh --principal NAME [--principal NAME]... [--type user|host]\n"
     "                   [--key-type ed25519|ecdsa|rsa|rsa-2048|rsa-3072|rsa-4096]\n"
     "                   [--ttl-seconds N] [--key-id ID] [--force-command CMD]\n"
     "                   [--source-address CIDRS] [--extension NAME]... [--out FILE]\n"
     "       hsmsign ssh --keygen [--key-type ed25519|rsa-2048|rsa-4096] [--wait-seconds N]\n"
     "                   --principal NAME ... (same options)\n"
     "       hsmsign ssh --public-key FILE.pub --principal NAME ... (same options, no --out\n"
     "                   and --key-type)",
     "Gets an OpenSSH certificate (POST /v1/ssh/certificates). Without --public-key, makes the\n"
     "key pair here (Ed25519 by default, ECDSA P-256, RSA-3072); the private key never leaves\n"
     "this machine and is written, after the certificate came back for it, to FILE (default\n"
     "./id_TYPE; OpenSSH format, unencrypted, mode 0600), with FILE.pub and FILE-cert.pub.\n"
     "With --public-key K.pub, certifies that key and writes only K-cert.pub. With --keygen,\n"
     "the service makes the key pair (POST /v1/ssh/keys), sealed to an X25519 key made here for\n"
     "the request (libsodium sealed box); hsmsign polls for it (GET /v1/ssh/keys/ID, up to\n"
     "--wait-seconds), opens it, checks that the key and certificate belong together and\n"
     "writes the same three files. Output files must not exist. Prints the serial, key id,\n"
     "principals and validity."},
    {"ssh-ca", cli_cmd_ssh_ca, CLI_OPTS(cli_ssh_ca_opts), "print the SSH CA public keys",
     "hsmsign ssh-ca [--known-hosts PATTERN]",
     "Prints the SSH CA public keys (GET /v1/ssh/ca; unsigned), user CA keys then host CA\n"
     "keys, newest first, each group after a '#' comment line. With --known-hosts PATTERN,\n"
     "prints instead one known_hosts line \"@cert-authority PATTERN KEY\" per host CA key."},
    {"ssh-status", cli_cmd_ssh_status, NULL, 0, "print the status of an SSH certificate",
     "hsmsign ssh-status SERIAL",
     "Prints an SSH certificate's status document (GET /v1/ssh/certificates/SERIAL; SERIAL in\n"
     "decimal, as ssh-keygen -L prints it). The exit status tells the \"status\" member: 0\n"
     "good, 5 revoked, 6 expired."},
    {"ssh-revoke", cli_cmd_ssh_revoke, CLI_OPTS(cli_revoke_opts), "revoke an SSH certificate",
     "hsmsign ssh-revoke SERIAL [--reason R]",
     "Revokes an SSH certificate you requested (or any, as an admin) and prints its status\n"
     "document; the next KRL (hsmsign ssh-krl) lists it. Revoking again changes nothing."},
    {"ssh-krl", cli_cmd_ssh_krl, CLI_OPTS(cli_crl_opts), "save the SSH KRL (for RevokedKeys)",
     "hsmsign ssh-krl --out FILE",
     "Saves the OpenSSH KRL of revoked SSH certificates (GET /v1/ssh/krl; unsigned) to a new\n"
     "file for sshd's RevokedKeys, and prints its krl_version and generation time."},
};

static const char cli_credentials_help[] =
    "credentials (signed commands), first found:\n"
    "  AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), unless --profile-name\n"
    "  is given; then profile --profile-name, $AWS_PROFILE or \"default\" of\n"
    "  $AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials. Secrets are never taken from the\n"
    "  command line.\n";

static const char cli_exit_help[] =
    "exit status:\n"
    "  0  done (status: the certificate is good)\n"
    "  1  the service refused or failed the request (its error code, message, reason or\n"
    "     detail, and request id are printed)\n"
    "  2  usage error\n"
    "  3  local error: files, credentials, key or CSR\n"
    "  4  network or transport error, or an answer that is not the API's\n"
    "  5  status, ssh-status: the certificate is revoked\n"
    "  6  status, ssh-status: the certificate has expired\n"
    "  7  call: the URL answered with an HTTP status >= 400\n"
    "  8  renew: not due (more than a third of the lifetime remains); nothing changed\n"
    "  9  renew: renewed, but the --exec command failed\n";

static void cli_help_common(FILE *out)
{
    fputs("\ncommon options:\n", out);
    for (size_t k = 0; k < CLI_OPT_COMMON_COUNT; k++) {
        cli_args_print_option(out, (enum cli_opt)k);
    }
    fputc('\n', out);
    fputs(cli_credentials_help, out);
    fputc('\n', out);
    fputs(cli_exit_help, out);
}

static void cli_help_main(FILE *out)
{
    fputs("usage: hsmsign [common options] COMMAND [options]\n\ncommands:\n", out);
    for (size_t k = 0; k < sizeof(cli_commands) / sizeof(cli_commands[0]); k++) {
        fprintf(out, "  %-11s %s\n", cli_commands[k].name, cli_commands[k].summary);
    }
    fputs("\n'hsmsign COMMAND --help' describes a command; docs/client.md is the manual.\n"
          "'hsmsign --version' prints the version and the OpenSSL and libcurl in use.\n",
          out);
    cli_help_common(out);
}

static void cli_help_command(FILE *out, const struct cli_command *c)
{
    fprintf(out, "usage: %s\n\n%s\n", c->usage, c->about);
    if (c->nopts > 0) {
        fputs("\noptions:\n", out);
        for (size_t k = 0; k < c->nopts; k++) {
            cli_args_print_option(out, c->opts[k]);
        }
    }
    cli_help_common(out);
}

static const struct cli_command *cli_find_command(const char *name)
{
    for (size_t k = 0; k < sizeof(cli_commands) / sizeof(cli_commands[0]); k++) {
        if (strcmp(name, cli_commands[k].name) == 0) {
            return &cli_commands[k];
        }
    }
    return NULL;
}

/* The first non-empty of the option's value and the environment variables. */
static const char *cli_setting(const char *value, const char *env1, const char *env2)
{
    const char *names[] = {env1, env2};
    for (size_t k = 0; value == NULL && k < 2; k++) {
        const char *v = names[k] != NULL ? getenv(names[k]) : NULL;
        value = v != NULL && v[0] != '\0' ? v : NULL;
    }
    return value;
}

static int cli_settings(const struct cli_command *c, const struct cli_args *a, struct cli_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->verbose = a->present[CLI_OPT_VERBOSE];
    ctx->profile_name = a->value[CLI_OPT_PROFILE_NAME];
    struct cli_http_config *h = &ctx->http;
    h->endpoint = cli_setting(a->value[CLI_OPT_ENDPOINT], "HSMSIGN_ENDPOINT", NULL);
    if (h->endpoint == NULL) {
        return cli_usage_fail(c->name, "no endpoint: give --endpoint URL or set HSMSIGN_ENDPOINT");
    }
    h->region = cli_setting(a->value[CLI_OPT_REGION], "AWS_REGION", "AWS_DEFAULT_REGION");
    if (h->region == NULL && !hs_failed(aws_region_resolve(ctx->profile_name, ctx->region)) &&
        ctx->region[0] != '\0') {
        /* The profile's `region` in the config file (AWS_CONFIG_FILE, ~/.aws/config). A file
         * that cannot be read leaves no region; the credentials then say why. */
        h->region = ctx->region;
    }
    hs_error_clear();
    h->service =
        a->value[CLI_OPT_SERVICE] != NULL ? a->value[CLI_OPT_SERVICE] : CLI_SERVICE_DEFAULT;
    h->cacert = a->value[CLI_OPT_CACERT];
    h->timeout_s = CLI_TIMEOUT_DEFAULT_S;
    hs_result r = cli_http_check_endpoint(h->endpoint);
    if (!hs_failed(r) && h->region != NULL) {
        r = cli_http_check_scope_part(h->region, "region");
    }
    if (!hs_failed(r)) {
        r = cli_http_check_scope_part(h->service, "--service");
    }
    if (!hs_failed(r) && a->value[CLI_OPT_TIMEOUT] != NULL) {
        r = cli_args_number(a->value[CLI_OPT_TIMEOUT], 1, CLI_TIMEOUT_MAX_S, "--timeout-seconds",
                            &h->timeout_s);
    }
    if (hs_failed(r)) {
        return cli_usage_fail(c->name, NULL);
    }
    FILE *f = h->cacert != NULL ? fopen(h->cacert, "r") : NULL;
    if (h->cacert != NULL && f == NULL) {
        HS_IGNORE(hs_error_raise_errno(__FILE__, __LINE__, HS_ERR_IO, h->cacert));
        return cli_fail(CLI_EXIT_LOCAL, "--cacert");
    }
    if (f != NULL) {
        HS_IGNORE(fclose(f));
    }
    return CLI_EXIT_OK;
}

/* "help [COMMAND]". */
static int cli_help_word(int argc, char **argv, int i)
{
    const struct cli_command *c = i < argc ? cli_find_command(argv[i]) : NULL;
    if (c != NULL) {
        cli_help_command(stdout, c);
    } else {
        cli_help_main(stdout);
    }
    return CLI_EXIT_OK;
}

static int cli_run(int argc, char **argv)
{
    static struct cli_args a; /* large: not on the stack */
    int i = 1;
    if (hs_failed(cli_args_parse(argc, argv, &i, NULL, 0, true, &a))) {
        return cli_usage_fail(NULL, NULL);
    }
    if (a.present[CLI_OPT_HELP]) {
        cli_help_main(stdout);
        return CLI_EXIT_OK;
    }
    if (i >= argc) {
        cli_help_main(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[i], "help") == 0) {
        return cli_help_word(argc, argv, i + 1);
    }
    const struct cli_command *c = cli_find_command(argv[i++]);
    if (c == NULL) {
        return cli_usage_fail(NULL,
                              "unknown command (cert, token, call, revoke, status, jwks, crl, ca, "
                              "renew, ssh, ssh-ca, ssh-status, ssh-revoke, ssh-krl)");
    }
    if (hs_failed(cli_args_parse(argc, argv, &i, c->opts, c->nopts, false, &a))) {
        return cli_usage_fail(c->name, NULL);
    }
    if (a.present[CLI_OPT_HELP]) {
        cli_help_command(stdout, c);
        return CLI_EXIT_OK;
    }
    struct cli_ctx ctx;
    int rc = cli_settings(c, &a, &ctx);
    return rc != CLI_EXIT_OK ? rc : c->run(&ctx, &a);
}

int main(int argc, char **argv)
{
    /* Secrets on the secure heap, no core dumps. */
    if (hs_failed(hs_secure_init(65536))) {
        return cli_fail(CLI_EXIT_LOCAL, "hardening");
    }
    /* aws/ logs retries and credential refreshes: to stderr, and only failures unless -v. */
    hs_log_set_stream(stderr);
    hs_log_set_level(HS_LOG_ERROR);
    if (hs_failed(cli_http_global_init())) {
        return cli_fail(CLI_EXIT_LOCAL, "libcurl");
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        hs_version_print(stdout, "hsmsign");
        printf("libcurl: %s\n", curl_version());
        cli_http_global_cleanup();
        return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_LOCAL;
    }
    int rc = cli_run(argc, argv);
    cli_http_global_cleanup();
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fputs("hsmsign: cannot write the output\n", stderr);
        return rc == CLI_EXIT_OK ? CLI_EXIT_LOCAL : rc;
    }
    return rc;
}
