/*
 * cli_call: `hsmsign call URL`, the invoker: gets a fresh token from hsmsignd (POST /v1/tokens
 * for --audience or --profile, as `hsmsign token`), then calls URL with "Authorization: Bearer
 * <token>" (RFC 6750 §2.1) and prints the answer's body to stdout, unchanged.
 *
 * URL is https, or http only to a loopback host (127.0.0.0/8, [::1], localhost), without a user
 * name, password or fragment (a query is kept), at most CLI_CALL_URL_MAX bytes. --method is GET
 * (default; POST when --data is given), POST, PUT, PATCH or DELETE; --data D or @FILE is the
 * body (at most CLI_CALL_DATA_MAX bytes; Content-Type application/json unless a --header gives
 * one); --header 'Name: value' adds a header (at most CLI_CALL_HEADERS_MAX, printable ASCII, at
 * most CLI_CALL_HEADER_MAX bytes; Authorization and Host are refused). The answer is read up to
 * CLI_CALL_ANSWER_MAX bytes (more: exit 4, nothing printed). No redirect is followed; no retry.
 * The token lives in a wiped secret and goes only into the Authorization header: never on a
 * command line, in a log line or in -v output (which prints the status and the time).
 *
 * Exit status (cli_print.h): 0 the URL answered < 400; 7 it answered >= 400 (the body is still
 * printed); 1 hsmsignd refused the token; 2 usage; 3 local (credentials, --data file); 4 no
 * usable answer (from hsmsignd or the URL: DNS, connect, TLS, timeout, too large).
 */
#ifndef CLI_CALL_H
#define CLI_CALL_H

#include "client/cli_args.h"
#include "client/cli_cmd.h"

#define CLI_CALL_URL_MAX 2047                 /* bytes of URL */
#define CLI_CALL_DATA_MAX (1024 * 1024)       /* bytes of --data */
#define CLI_CALL_ANSWER_MAX (8 * 1024 * 1024) /* bytes of the answer read */
#define CLI_CALL_HEADERS_MAX 6                /* --header lines */
#define CLI_CALL_HEADER_MAX 255               /* bytes of one --header line */

int cli_cmd_call(const struct cli_ctx *ctx, const struct cli_args *a);

#endif /* CLI_CALL_H */
