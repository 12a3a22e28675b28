/*
 * cli_cert: hsmsign cert. Without --csr: a key pair and a CSR made here (cli_key), the key
 * written only after the certificate came back and matched it. With --csr: the CSR as given,
 * no key written. Every output is a new file; all are checked before the request, so nothing
 * is issued that cannot be saved. The certificate must hold the requested public key and
 * verify with the first certificate of the returned chain before it is written.
 */
#ifndef CLI_CERT_H
#define CLI_CERT_H

#include "client/cli_args.h"
#include "client/cli_cmd.h"

int cli_cmd_cert(const struct cli_ctx *ctx, const struct cli_args *a);

#endif /* CLI_CERT_H */
