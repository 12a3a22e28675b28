/*
 * cli_ssh: the SSH commands (docs/client.md, docs/api.md "SSH"):
 *   ssh         a key pair made here (common/hs_sshkey; or --public-key: an existing key) certified by
 *               POST /v1/ssh/certificates; writes FILE (private, OpenSSH format, 0600),
 *               FILE.pub and FILE-cert.pub, all new files checked before the request
 *   ssh-ca      GET /v1/ssh/ca (unsigned): the CA lines, or known_hosts @cert-authority lines
 *   ssh-status  GET /v1/ssh/certificates/SERIAL (exit 0 good, 5 revoked, 6 expired)
 *   ssh-revoke  POST /v1/ssh/certificates/SERIAL/revoke
 *   ssh-krl     GET /v1/ssh/krl (unsigned) into a new file, checked as a KRL (PROTOCOL.krl)
 * SERIAL is decimal, as ssh-keygen -L prints it. Each returns its exit status (enum cli_exit).
 */
#ifndef CLI_SSH_H
#define CLI_SSH_H

#include "client/cli_args.h"
#include "client/cli_cmd.h"

#define CLI_SSH_PRINCIPAL_MAX 255 /* bytes of a principal (docs/api.md) */
#define CLI_SSH_KEY_ID_MAX 256
#define CLI_SSH_OPTION_MAX 4096  /* bytes of a critical option's value */
#define CLI_SSH_PATTERN_MAX 1024 /* bytes of a known_hosts host pattern */
#define CLI_SSH_SERIAL_DIGITS 20 /* 18446744073709551615 */

/* Checks an SSH certificate serial: decimal 1..2^64-1 without leading zeros. Errors:
 * HS_ERR_INPUT. */
HS_RESULT cli_ssh_serial_check(const char *serial);

int cli_cmd_ssh(const struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_ssh_ca(const struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_ssh_status(const struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_ssh_revoke(const struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_ssh_krl(const struct cli_ctx *ctx, const struct cli_args *a);

#endif /* CLI_SSH_H */
