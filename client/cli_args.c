#include "client/cli_args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CLI_OPT_NAME_SHOWN 40 /* bytes of an unknown option's name put into a message */

enum cli_opt_kind {
    CLI_KIND_FLAG,
    CLI_KIND_VALUE,
    CLI_KIND_LIST,
};

struct cli_opt_spec {
    const char *name;  /* "--cn" */
    const char *alias; /* "-v", or NULL */
    enum cli_opt_kind kind;
    const char *metavar;
    const char *help;
};

/* Indexed by enum cli_opt. */
static const struct cli_opt_spec cli_opt_specs[CLI_OPT_COUNT] = {
    [CLI_OPT_HELP] = {"--help", "-h", CLI_KIND_FLAG, NULL, "print this help and exit 0"},
    [CLI_OPT_VERBOSE] = {"--verbose", "-v", CLI_KIND_FLAG, NULL,
                         "print the request id, HTTP status and timing to stderr"},
    [CLI_OPT_ENDPOINT] = {"--endpoint", NULL, CLI_KIND_VALUE, "URL",
                          "base URL of the service; /v1/... is appended (an API Gateway stage "
                          "path is kept). Default: $HSMSIGN_ENDPOINT"},
    [CLI_OPT_REGION] = {"--region", NULL, CLI_KIND_VALUE, "REGION",
                        "SigV4 region. Default: $AWS_REGION, else $AWS_DEFAULT_REGION"},
    [CLI_OPT_SERVICE] = {"--service", NULL, CLI_KIND_VALUE, "NAME",
                         "SigV4 service name (default execute-api)"},
    [CLI_OPT_PROFILE_NAME] = {"--profile-name", NULL, CLI_KIND_VALUE, "NAME",
                              "profile of the shared credentials file; given here, it is used "
                              "even when AWS_ACCESS_KEY_ID is set. Default: $AWS_PROFILE, else "
                              "default"},
    [CLI_OPT_TIMEOUT] = {"--timeout-seconds", NULL, CLI_KIND_VALUE, "N",
                         "total time allowed for the request, 1..3600 (default 30; connecting "
                         "gets at most 10 of them)"},
    [CLI_OPT_CACERT] = {"--cacert", NULL, CLI_KIND_VALUE, "FILE",
                        "PEM trust anchors for the endpoint's TLS certificate, instead of the "
                        "system's"},
    [CLI_OPT_CN] = {"--cn", NULL, CLI_KIND_VALUE, "NAME",
                    "subject common name of the generated CSR (required without --csr)"},
    [CLI_OPT_DNS] = {"--dns", NULL, CLI_KIND_LIST, "NAME", "a DNS subjectAltName (repeatable)"},
    [CLI_OPT_IP] = {"--ip", NULL, CLI_KIND_LIST, "ADDR",
                    "an IPv4 or IPv6 subjectAltName (repeatable)"},
    [CLI_OPT_KEY_TYPE] = {"--key-type", NULL, CLI_KIND_VALUE, "TYPE",
                          "cert: ec-p256 (default), ec-p384, rsa-2048, rsa-3072 or ed25519; ssh: "
                          "ed25519 (default), ecdsa (P-256), rsa (3072 bits), rsa-2048, "
                          "rsa-3072 or rsa-4096; ssh --keygen: ed25519, rsa-2048 or rsa-4096"},
    [CLI_OPT_CSR] = {"--csr", NULL, CLI_KIND_VALUE, "FILE",
                     "send this PEM CSR instead of generating a key (no key is written)"},
    [CLI_OPT_PROFILE] = {"--profile", NULL, CLI_KIND_VALUE, "NAME",
                         "cert: certificate profile, client (default) or server (needs a --dns "
                         "name); token, call: a token profile of the service (it fixes the "
                         "audience, lifetime and alg)"},
    [CLI_OPT_TTL_HOURS] = {"--ttl-hours", NULL, CLI_KIND_VALUE, "N",
                           "certificate lifetime in hours (default: the service's)"},
    [CLI_OPT_OUT_KEY] = {"--out-key", NULL, CLI_KIND_VALUE, "FILE",
                         "new file for the private key (PEM PKCS#8, mode 0600)"},
    [CLI_OPT_OUT_CERT] = {"--out-cert", NULL, CLI_KIND_VALUE, "FILE",
                          "new file for the certificate (PEM)"},
    [CLI_OPT_OUT_CHAIN] = {"--out-chain", NULL, CLI_KIND_VALUE, "FILE",
                           "new file for the chain: issuing CA ... root (PEM)"},
    [CLI_OPT_AUDIENCE] = {"--audience", NULL, CLI_KIND_VALUE, "AUD", "the token's aud claim"},
    [CLI_OPT_TTL_SECONDS] = {"--ttl-seconds", NULL, CLI_KIND_VALUE, "N",
                             "token or SSH certificate lifetime in seconds (default: the "
                             "service's)"},
    [CLI_OPT_ALG] = {"--alg", NULL, CLI_KIND_VALUE, "ALG",
                     "ES256, ES384, RS256, PS256 or EdDSA (default: the service's)"},
    [CLI_OPT_JSON] = {"--json", NULL, CLI_KIND_FLAG, NULL,
                      "print the whole response (token, expires_in, kid, alg) as JSON"},
    [CLI_OPT_REASON] = {"--reason", NULL, CLI_KIND_VALUE, "R",
                        "unspecified (default), keyCompromise, affiliationChanged, superseded, "
                        "cessationOfOperation or privilegeWithdrawn"},
    [CLI_OPT_OUT] = {"--out", NULL, CLI_KIND_VALUE, "FILE",
                     "crl: new file for the DER CRL; ssh-krl: for the KRL; ssh: new file for the "
                     "private key (default ./id_TYPE), with FILE.pub and FILE-cert.pub"},
    [CLI_OPT_PRINCIPAL] = {"--principal", NULL, CLI_KIND_LIST, "NAME",
                           "a principal of the SSH certificate: a user name (user) or host name "
                           "(host); repeatable, at least one"},
    [CLI_OPT_TYPE] = {"--type", NULL, CLI_KIND_VALUE, "user|host",
                      "SSH certificate type (default user)"},
    [CLI_OPT_KEY_ID] = {"--key-id", NULL, CLI_KIND_VALUE, "ID",
                        "the certificate's key id, as sshd logs it (default: your ARN and the "
                        "key's fingerprint)"},
    [CLI_OPT_FORCE_COMMAND] = {"--force-command", NULL, CLI_KIND_VALUE, "CMD",
                               "critical option force-command (user certificates)"},
    [CLI_OPT_SOURCE_ADDRESS] = {"--source-address", NULL, CLI_KIND_VALUE, "CIDRS",
                                "critical option source-address: comma-separated CIDR list "
                                "(user certificates)"},
    [CLI_OPT_EXTENSION] = {"--extension", NULL, CLI_KIND_LIST, "NAME",
                           "an extension such as permit-pty (repeatable; default: the policy's "
                           "permit-*)"},
    [CLI_OPT_PUBLIC_KEY] = {"--public-key", NULL, CLI_KIND_VALUE, "FILE.pub",
                            "certify this existing OpenSSH public key instead of making a key "
                            "pair; writes FILE-cert.pub next to it"},
    [CLI_OPT_KNOWN_HOSTS] = {"--known-hosts", NULL, CLI_KIND_VALUE, "PATTERN",
                             "print known_hosts lines \"@cert-authority PATTERN KEY\" for the "
                             "host CA keys"},
    [CLI_OPT_KEYGEN] = {"--keygen", NULL, CLI_KIND_FLAG, NULL,
                        "the service makes the key pair (POST /v1/ssh/keys) and returns it sealed "
                        "to a key made here for this request"},
    [CLI_OPT_WAIT_SECONDS] = {"--wait-seconds", NULL, CLI_KIND_VALUE, "N",
                              "with --keygen: how long to wait for the key, 1..3600 (default 120)"},
    [CLI_OPT_METHOD] = {"--method", NULL, CLI_KIND_VALUE, "M",
                        "GET (default; POST with --data), POST, PUT, PATCH or DELETE"},
    [CLI_OPT_DATA] = {"--data", NULL, CLI_KIND_VALUE, "D|@FILE",
                      "the request body: D itself, or the contents of FILE (at most 1 MiB)"},
    [CLI_OPT_HEADER] = {"--header", NULL, CLI_KIND_LIST, "'NAME: VALUE'",
                        "an extra request header (repeatable, at most 6; never Authorization)"},
    [CLI_OPT_CERT] = {"--cert", NULL, CLI_KIND_VALUE, "FILE",
                      "the PEM certificate to renew; replaced atomically by the new one (same "
                      "mode)"},
    [CLI_OPT_KEY] = {"--key", NULL, CLI_KIND_VALUE, "FILE",
                     "the certificate's unencrypted PEM private key; kept, the new certificate "
                     "is for the same key"},
    [CLI_OPT_FORCE] = {"--force", NULL, CLI_KIND_FLAG, NULL,
                       "renew even when more than a third of the lifetime remains"},
    [CLI_OPT_EXEC] = {"--exec", NULL, CLI_KIND_VALUE, "CMD",
                      "run CMD with /bin/sh -c after a renewal (not when none was due)"},
};

/* Words that name a secret: such an option is refused with advice, whatever the command. */
static const char *const cli_secret_words[] = {"secret", "password", "passwd", "session-token",
                                               "security-token"};

static bool cli_opt_allowed(enum cli_opt opt, const enum cli_opt *allowed, size_t nallowed)
{
    if ((size_t)opt < CLI_OPT_COMMON_COUNT) {
        return true;
    }
    for (size_t k = 0; k < nallowed; k++) {
        if (allowed[k] == opt) {
            return true;
        }
    }
    return false;
}

/* The option named word[0..n), or CLI_OPT_COUNT. */
static enum cli_opt cli_opt_find(const char *word, size_t n)
{
    for (size_t k = 0; k < CLI_OPT_COUNT; k++) {
        const struct cli_opt_spec *s = &cli_opt_specs[k];
        if ((strlen(s->name) == n && strncmp(word, s->name, n) == 0) ||
            (s->alias != NULL && strlen(s->alias) == n && strncmp(word, s->alias, n) == 0)) {
            return (enum cli_opt)k;
        }
    }
    return CLI_OPT_COUNT;
}

static HS_RESULT cli_opt_unknown(const char *word, size_t n)
{
    for (size_t k = 0; k < sizeof(cli_secret_words) / sizeof(cli_secret_words[0]); k++) {
        if (memmem(word, n, cli_secret_words[k], strlen(cli_secret_words[k])) != NULL) {
            HS_BAIL_MSG(HS_ERR_INPUT,
                        "%.*s: secrets are never taken from the command line (other users can "
                        "read it); use AWS_SECRET_ACCESS_KEY or a credentials file",
                        (int)(n < CLI_OPT_NAME_SHOWN ? n : CLI_OPT_NAME_SHOWN), word);
        }
    }
    HS_BAIL_MSG(HS_ERR_INPUT, "unknown option %.*s",
                (int)(n < CLI_OPT_NAME_SHOWN ? n : CLI_OPT_NAME_SHOWN), word);
}

/* One option word at argv[*i] (with its value from "=..." or the next word). */
static HS_RESULT cli_args_option(int argc, char **argv, int *i, const enum cli_opt *allowed,
                                 size_t nallowed, struct cli_args *a)
{
    const char *word = argv[*i];
    const char *eq = strncmp(word, "--", 2) == 0 ? strchr(word, '=') : NULL;
    size_t n = eq != NULL ? (size_t)(eq - word) : strlen(word);
    enum cli_opt opt = cli_opt_find(word, n);
    if (opt == CLI_OPT_COUNT) {
        return cli_opt_unknown(word, n);
    }
    const struct cli_opt_spec *s = &cli_opt_specs[opt];
    HS_ENSURE_MSG(cli_opt_allowed(opt, allowed, nallowed), HS_ERR_INPUT,
                  "%s is not an option of this command", s->name);
    if (s->kind == CLI_KIND_FLAG) {
        HS_ENSURE_MSG(eq == NULL, HS_ERR_INPUT, "%s takes no value", s->name);
        HS_ENSURE_MSG(!a->present[opt] || opt == CLI_OPT_HELP, HS_ERR_INPUT, "%s given twice",
                      s->name);
        a->present[opt] = true;
        return HS_OK;
    }
    const char *value = eq != NULL ? eq + 1 : NULL;
    if (value == NULL) {
        HS_ENSURE_MSG(*i + 1 < argc, HS_ERR_INPUT, "%s needs a value (%s)", s->name, s->metavar);
        value = argv[++*i];
    }
    HS_ENSURE_MSG(value[0] != '\0', HS_ERR_INPUT, "%s: empty value", s->name);
    if (s->kind == CLI_KIND_LIST) {
        HS_ENSURE_MSG(a->nlist[opt] < CLI_LIST_MAX, HS_ERR_INPUT, "%s: more than %d", s->name,
                      CLI_LIST_MAX);
        a->list[opt][a->nlist[opt]++] = value;
    } else {
        HS_ENSURE_MSG(!a->present[opt], HS_ERR_INPUT, "%s given twice", s->name);
        a->value[opt] = value;
    }
    a->present[opt] = true;
    return HS_OK;
}

HS_RESULT cli_args_parse(int argc, char **argv, int *i, const enum cli_opt *allowed,
                         size_t nallowed, bool stop_at_word, struct cli_args *a)
{
    HS_ENSURE_REF(i);
    HS_ENSURE_REF(a);
    HS_ENSURE_MSG(argc <= CLI_ARGS_MAX, HS_ERR_INPUT, "more than %d arguments", CLI_ARGS_MAX);
    bool options_done = false;
    for (; *i < argc; ++*i) {
        const char *word = argv[*i];
        bool is_option = !options_done && word[0] == '-' && word[1] != '\0';
        if (is_option && strcmp(word, "--") == 0) {
            options_done = true;
            continue;
        }
        if (!is_option) {
            if (stop_at_word) {
                return HS_OK;
            }
            HS_ENSURE_MSG(a->npositional < CLI_POSITIONAL_MAX, HS_ERR_INPUT, "too many arguments");
            a->positional[a->npositional++] = word;
            continue;
        }
        HS_GUARD(cli_args_option(argc, argv, i, allowed, nallowed, a));
        if (a->present[CLI_OPT_HELP]) {
            return HS_OK;
        }
    }
    return HS_OK;
}

void cli_args_print_option(FILE *out, enum cli_opt opt)
{
    if ((size_t)opt >= CLI_OPT_COUNT) {
        return;
    }
    const struct cli_opt_spec *s = &cli_opt_specs[opt];
    char head[64];
    int n = snprintf(head, sizeof(head), "%s%s%s%s%s", s->alias != NULL ? s->alias : "",
                     s->alias != NULL ? ", " : "", s->name, s->metavar != NULL ? " " : "",
                     s->metavar != NULL ? s->metavar : "");
    if (n < 0 || (size_t)n >= sizeof(head)) {
        return;
    }
    fprintf(out, "  %-28s", head);
    /* Wrap the help at 100 columns, under its own column. */
    const char *p = s->help;
    size_t col = 30;
    while (*p != '\0') {
        size_t w = strcspn(p, " ");
        if (col > 30 && col + 1 + w > 99) {
            fprintf(out, "\n%30s", "");
            col = 30;
        } else if (col > 30) {
            fputc(' ', out);
            col++;
        }
        fprintf(out, "%.*s", (int)w, p);
        col += w;
        p += w;
        p += strspn(p, " ");
    }
    fputc('\n', out);
}

HS_RESULT cli_args_number(const char *s, long min, long max, const char *what, long *out)
{
    HS_ENSURE_REF(s);
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    HS_ENSURE_MSG(s[0] >= '0' && s[0] <= '9' && end != s && *end == '\0' && errno == 0,
                  HS_ERR_INPUT, "%s: not a whole number", what);
    HS_ENSURE_MSG(v >= min && v <= max, HS_ERR_INPUT, "%s: must be %ld..%ld", what, min, max);
    *out = v;
    return HS_OK;
}
