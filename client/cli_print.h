/*
 * cli_print: what hsmsign tells its user, and its exit status.
 *
 * Results go to stdout (a token alone, JSON documents pretty-printed); everything else, with the
 * "hsmsign: " prefix, to stderr. Text that came from the network is printed with every byte
 * that is not printable ASCII replaced by '?', so an answer cannot drive the terminal.
 */
#ifndef CLI_PRINT_H
#define CLI_PRINT_H

#include <stdio.h>

#include <json-c/json.h>

#include "client/cli_http.h"
#include "common/hs_err.h"

/* Exit status of every command (docs/client.md). */
enum cli_exit {
    CLI_EXIT_OK = 0,      /* done (status: the certificate is good) */
    CLI_EXIT_SERVICE = 1, /* the service refused or failed the request */
    CLI_EXIT_USAGE = 2,   /* the command line (or the settings it needs) is wrong */
    CLI_EXIT_LOCAL = 3,   /* a local failure: files, credentials, key generation */
    CLI_EXIT_NETWORK = 4, /* no usable answer: DNS, connect, TLS, timeout, not the API's answer */
    CLI_EXIT_REVOKED = 5, /* status: the certificate is revoked */
    CLI_EXIT_EXPIRED = 6, /* status: the certificate has expired */
    CLI_EXIT_CALLED = 7,  /* call: the called URL answered with an HTTP status >= 400 */
    CLI_EXIT_NOT_DUE = 8, /* renew: more than a third of the lifetime remains; nothing done */
    CLI_EXIT_EXEC = 9,    /* renew: renewed, but the --exec command failed */
};

/* Prints "hsmsign: <what>: <the thread's error detail>" to stderr and returns code. */
int cli_fail(int code, const char *what);

/* Prints "hsmsign: <message or the thread's error detail>" and a pointer to --help for
 * command (NULL: the general help) to stderr; returns CLI_EXIT_USAGE. */
int cli_usage_fail(const char *command, const char *message);

/* Writes s[0..n) to out, replacing bytes other than printable ASCII, '\n' and '\t' with '?'. */
void cli_print_clean(FILE *out, const char *s, size_t n);

/* Writes obj to out as indented JSON and a newline. Errors: HS_ERR_NOMEM, HS_ERR_IO. */
HS_RESULT cli_print_json(FILE *out, json_object *obj);

/* Prints a refusal (a non-2xx answer) to stderr: the HTTP status, the error code, message,
 * reason or detail, and the request id; from the API's JSON error, or from API Gateway's own
 * answer ({"message"} and x-amzn-ErrorType), or the start of any other body. */
void cli_print_refusal(const struct cli_reply *r);

/* -v: "hsmsign: METHOD PATH -> STATUS in N ms, request id ID" to stderr. */
void cli_print_exchange(const char *method, const char *path, const struct cli_reply *r);

#endif /* CLI_PRINT_H */
