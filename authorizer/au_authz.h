/*
 * au_authz: the authorizer's decision for one request, from its parts: the bearer token
 * (au_verify), the key (au_keys) and, for mTLS, the client certificate's binding and status
 * (au_status). Fails closed: any error is a Deny with its reason.
 *
 * mTLS (RFC 8705 §3): when a client certificate came with the request, the token's cnf
 * "x5t#S256" must equal base64url(SHA-256(the certificate's DER)) (AU_CNF_MISSING when the
 * token is not bound, AU_CNF_MISMATCH when bound to another), and with an "mtls" config the
 * certificate must be good (au_status). A bound token that came without a certificate is
 * AU_CNF_MISMATCH; with mtls.require_cnf every request needs both.
 */
#ifndef AU_AUTHZ_H
#define AU_AUTHZ_H

#include <stddef.h>
#include <time.h>

#include "authorizer/au_config.h"
#include "authorizer/au_keys.h"
#include "authorizer/au_status.h"
#include "authorizer/au_verify.h"
#include "common/hs_err.h"

struct au_authz {
    const struct au_config *cfg; /* borrowed */
    struct au_keys *keys;        /* owned */
    struct au_status *status;    /* owned; NULL without "mtls" */
};

/* One request: all borrowed. */
struct au_request {
    const char *token; /* NULL: none */
    size_t token_len;
    const char *route;           /* "GET /hello" */
    const char *client_cert_pem; /* NULL: none */
    time_t now;
};

/* Sets up a (keys read from a file source now; status client when cfg has "mtls"). Errors as
 * au_keys_new and au_status_new. Release with au_authz_clear. */
HS_RESULT au_authz_init(const struct au_config *cfg, struct au_authz *a);
void au_authz_clear(struct au_authz *a);

/* The decision: AU_OK (allow; *grant filled) or the reason to deny (*grant holds what is
 * known, for the log). */
enum au_reason au_authz_decide(struct au_authz *a, const struct au_request *rq,
                               struct au_grant *grant);

#endif /* AU_AUTHZ_H */
