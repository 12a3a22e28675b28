/*
 * cli_args: the hsmsign command line, parsed against one table of options.
 *
 * Options are long ("--cn NAME" or "--cn=NAME"), plus "-v" and "-h"; "--" ends them. A value
 * option given twice, a flag given a value and an option the command does not take are usage
 * errors; list options (--dns, --ip) repeat. Error details name the option but never echo a
 * value or a positional word, so a secret typed by mistake is not printed back. There is no
 * option for a secret: one that looks like it (--aws-secret-access-key, --password, ...) is
 * refused with a pointer to the environment and the credentials file.
 */
#ifndef CLI_ARGS_H
#define CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/hs_err.h"

enum cli_opt {
    /* common to every command */
    CLI_OPT_HELP,
    CLI_OPT_VERBOSE,
    CLI_OPT_ENDPOINT,
    CLI_OPT_REGION,
    CLI_OPT_SERVICE,
    CLI_OPT_PROFILE_NAME,
    CLI_OPT_TIMEOUT,
    CLI_OPT_CACERT,
    /* cert */
    CLI_OPT_CN,
    CLI_OPT_DNS,
    CLI_OPT_IP,
    CLI_OPT_KEY_TYPE,
    CLI_OPT_CSR,
    CLI_OPT_PROFILE,
    CLI_OPT_TTL_HOURS,
    CLI_OPT_OUT_KEY,
    CLI_OPT_OUT_CERT,
    CLI_OPT_OUT_CHAIN,
    /* token */
    CLI_OPT_AUDIENCE,
    CLI_OPT_TTL_SECONDS,
    CLI_OPT_ALG,
    CLI_OPT_JSON,
    /* revoke, crl */
    CLI_OPT_REASON,
    CLI_OPT_OUT,
    /* ssh, ssh-ca */
    CLI_OPT_PRINCIPAL,
    CLI_OPT_TYPE,
    CLI_OPT_KEY_ID,
    CLI_OPT_FORCE_COMMAND,
    CLI_OPT_SOURCE_ADDRESS,
    CLI_OPT_EXTENSION,
    CLI_OPT_PUBLIC_KEY,
    CLI_OPT_KNOWN_HOSTS,
    CLI_OPT_KEYGEN,
    CLI_OPT_WAIT_SECONDS,
    /* call */
    CLI_OPT_METHOD,
    CLI_OPT_DATA,
    CLI_OPT_HEADER,
    /* renew */
    CLI_OPT_CERT,
    CLI_OPT_KEY,
    CLI_OPT_FORCE,
    CLI_OPT_EXEC,
    CLI_OPT_COUNT
};

/* The options every command takes. */
#define CLI_OPT_COMMON_COUNT (CLI_OPT_CACERT + 1)

#define CLI_ARGS_MAX 256     /* words on the command line */
#define CLI_POSITIONAL_MAX 4 /* positional words kept (more is a usage error) */
#define CLI_LIST_MAX 64      /* occurrences of one list option */

struct cli_args {
    const char *value[CLI_OPT_COUNT]; /* a value option's value; NULL when absent */
    bool present[CLI_OPT_COUNT];
    const char *list[CLI_OPT_COUNT][CLI_LIST_MAX]; /* list options, in order */
    size_t nlist[CLI_OPT_COUNT];
    const char *positional[CLI_POSITIONAL_MAX];
    size_t npositional;
};

/* Parses argv[*i..argc) into *a, accepting the common options and the nallowed options of
 * `allowed` (borrowed). With stop_at_word, parsing stops at the first positional word, which
 * *i then indexes (the command name); otherwise positional words are collected. "--help" or
 * "-h" ends parsing successfully with a->present[CLI_OPT_HELP] set. The values are borrowed
 * from argv. Errors: HS_ERR_INPUT (detail for the user: which option, and why). */
HS_RESULT cli_args_parse(int argc, char **argv, int *i, const enum cli_opt *allowed,
                         size_t nallowed, bool stop_at_word, struct cli_args *a);

/* Prints "  --name VALUE  help" for option opt, wrapped for a terminal. */
void cli_args_print_option(FILE *out, enum cli_opt opt);

/* Parses a whole decimal number in [min, max] from s. Errors: HS_ERR_INPUT naming `what`. */
HS_RESULT cli_args_number(const char *s, long min, long max, const char *what, long *out);

#endif /* CLI_ARGS_H */
