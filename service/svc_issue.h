/*
 * svc_issue: a certificate for a CSR under a profile (svc_profile.h): checks the request
 * against the profile, asks the caller's authorisation (the front end's policy), issues on the
 * token, records the certificate durably in the inventory and only then answers: no certificate
 * leaves without a committed record.
 */
#ifndef SVC_ISSUE_H
#define SVC_ISSUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"
#include "service/svc_ctx.h"
#include "signer/sgn_cert.h"

/* A certificate request, decoded by the front end; strings are borrowed for the call. */
struct svc_cert_request {
    const char *csr_pem; /* PKCS#10 CSR, PEM (RFC 7468 "CERTIFICATE REQUEST") */
    size_t csr_len;      /* bytes of csr_pem, at most SGN_CSR_PEM_MAX */
    const char *profile; /* a configured profile's name; NULL = the default profile */
    bool has_ttl;        /* the request asked for a lifetime: */
    int64_t ttl_hours;   /* hours, 1..the profile's max_ttl_hours */
    time_t now;          /* seconds since the epoch */
};

/* The issued certificate. */
struct svc_cert_result {
    struct hs_buf *cert_pem; /* owned: the leaf, PEM */
    const char *chain_pem;   /* lent by the context: issuing certificate up to the root, PEM */
    const char *profile;     /* lent by the context: the profile's name */
    char serial_hex[SGN_SERIAL_HEX_LEN + 9]; /* lowercase hex, no leading zero octets */
    time_t not_before;                       /* seconds since the epoch */
    time_t not_after;
};

/* Issues a leaf for req to caller: the profile must exist (HS_ERR_INPUT_FIELD), ttl_hours be in
 * its range (HS_ERR_INPUT_RANGE), the CSR parse and verify (HS_ERR_INPUT_CSR*,
 * HS_ERR_INPUT_KEY) and carry a DNS SAN when the profile requires one (HS_ERR_INPUT_CSR); then
 * caller->authz->cert decides (its failure, e.g. HS_ERR_POLICY_DENIED, is returned unchanged)
 * and gives the lifetime. The leaf gets the profile's EKUs and key usages (RFC 5280
 * §4.2.1.3, §4.2.1.12) and the CRL distribution point; its inventory record (requester =
 * caller->principal) is committed before this returns, and only then is the audit event
 * "sign.cert.issued" written; a certificate the token signed whose record failed is freed,
 * never returned, and audited as "sign.cert.discarded" (serial, reason; sgn_leaf_audit()).
 * Other errors: HS_ERR_HSM_*, HS_ERR_STORE_UNAVAILABLE (the inventory cannot commit for now:
 * busy, locked, full, unreachable, throttled), HS_ERR_IO / HS_ERR_STORE (another inventory
 * failure), HS_ERR_CRYPTO. On success the caller releases *out with svc_cert_result_clear(); on
 * failure *out is untouched. */
HS_RESULT svc_cert_issue(struct svc_ctx *ctx, const struct svc_caller *caller,
                         const struct svc_cert_request *req, struct svc_cert_result *out);

/* Frees what svc_cert_issue() put in res (accepts a zeroed res). */
void svc_cert_result_clear(struct svc_cert_result *res);

#endif /* SVC_ISSUE_H */
