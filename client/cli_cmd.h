/*
 * cli_cmd: the settings every command shares, the one exchange each makes (cli_call), and the
 * commands other than cert: token, revoke, status, jwks, crl. Each command returns its exit
 * status (enum cli_exit) after printing what went wrong.
 */
#ifndef CLI_CMD_H
#define CLI_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "client/cli_args.h"
#include "client/cli_http.h"

#define CLI_ANSWER_MAX (256 * 1024)    /* bytes of a JSON answer */
#define CLI_CRL_MAX (16 * 1024 * 1024) /* bytes of a CRL */
#define CLI_PEM_FIELD_MAX (64 * 1024)  /* bytes of a certificate or chain in an answer */
#define CLI_SERIAL_HEX_MAX 64

struct cli_ctx {
    struct cli_http_config http;
    const char *profile_name;        /* --profile-name; NULL = $AWS_PROFILE, else "default" */
    char region[AWS_REGION_MAX + 1]; /* the region when it came from the config file */
    bool verbose;
};

/* One exchange: resolves credentials when sign, sends body (NULL for GET; serialised here),
 * prints the exchange with -v. Returns CLI_EXIT_OK with *reply filled (the caller clears it)
 * for a 2xx answer; otherwise prints why and returns the exit status: a refusal (1), no region
 * (2), credentials (3), transport (4). */
int cli_call(const struct cli_ctx *ctx, bool sign, const char *method, const char *path,
             json_object *body, size_t max_answer, struct cli_reply *reply);

/* Parses a 2xx answer as a JSON object into *out (the caller puts it), or prints why not and
 * returns CLI_EXIT_NETWORK. */
int cli_answer_json(const struct cli_reply *reply, json_object **out);

/* Prints an answer that lacks what the API promises (the thread's error says what) and returns
 * CLI_EXIT_NETWORK. */
int cli_answer_bad(const char *what);

/* Maps the failure of a step that checks the command line (HS_ERR_INPUT: usage, 2) or does
 * local work (anything else: 3) to its exit status, printing why. */
int cli_step_fail(hs_result r, const char *command, const char *what);

/* Fails with HS_ERR_INPUT_EXISTS when something exists at path: outputs are never overwritten,
 * and are checked before the request so that nothing is issued that cannot be saved. */
HS_RESULT cli_check_new_file(const char *path);

/* Checks a certificate serial: 1..CLI_SERIAL_HEX_MAX hexadecimal digits. Errors: HS_ERR_INPUT. */
HS_RESULT cli_serial_check(const char *serial);

/* One signed exchange whose answer is a status document ({"status": "good"|"revoked"|
 * "expired", ...}); prints it indented. Returns the exit status by "status" (0, 5, 6) when
 * exit_by_status, else 0 for any known status; 1..4 as cli_call() and for a bad answer. */
int cli_status_call(const struct cli_ctx *ctx, const char *method, const char *route,
                    json_object *body, bool exit_by_status);

/* Gets a token (POST /v1/tokens) for --audience and/or --profile (token profile), --ttl-seconds
 * and --alg of a. Returns CLI_EXIT_OK with *out the answer (the caller puts it) and *token lent
 * from it; otherwise prints why (naming command for usage errors) and returns the exit status
 * as cli_call(). */
int cli_token_fetch(const struct cli_ctx *ctx, const struct cli_args *a, const char *command,
                    json_object **out, const char **token);

int cli_cmd_token(const struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_revoke(const struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_status(const struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_jwks(const struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_crl(const struct cli_ctx *ctx, const struct cli_args *a);

#endif /* CLI_CMD_H */
