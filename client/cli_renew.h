/*
 * cli_renew: hsmsign ca and hsmsign renew, the relying party's and the operator's day two.
 *
 * ca: GET /v1/ca (unsigned), the issuing chain as PEM (application/pem-certificate-chain,
 * RFC 8555 §9.1), issuing CA first, up to the root; printed, or with --out FILE written
 * atomically (replacing FILE, so a cron job can refresh a trust bundle).
 *
 * renew: the certificate at --cert, for the key at --key (which must match it), is renewed
 * when less than a third of its lifetime (notBefore..notAfter, seconds) remains, or always
 * with --force. The new CSR is made here from the same key, with the certificate's subject and
 * subjectAltName extension as they are; the profile is --profile, else server when the
 * certificate has the serverAuth extended key usage, else client. The answer must hold the same
 * public key and verify with the chain's first certificate; then --cert is replaced atomically
 * (a temporary file in the same directory, the old file's mode and, when allowed, owner,
 * fsync, rename, fsync of the directory) and --exec CMD runs once through /bin/sh -c. Exit
 * statuses (enum cli_exit): 0 renewed, 8 not due (nothing changed, nothing run), 9 renewed but
 * CMD failed (its exit status is printed), and 1..4 as for every command (nothing changed).
 */
#ifndef CLI_RENEW_H
#define CLI_RENEW_H

#include "client/cli_args.h"
#include "client/cli_cmd.h"

int cli_cmd_ca(const struct cli_ctx *ctx, const struct cli_args *a);
int cli_cmd_renew(const struct cli_ctx *ctx, const struct cli_args *a);

#endif /* CLI_RENEW_H */
