/*
 * au_keys: where the authorizer's JWKS comes from, and how long it is trusted.
 *
 *   {"file": PATH}         read and validated once at start (a bad file is a config error).
 *   {"url": "https://…"}   GET over HTTPS (libcurl; "ca_file" adds trust anchors; plain http
 *                          only to a loopback host), 200 only, at most AU_JWKS_MAX bytes.
 *                          Cached for Cache-Control max-age (RFC 9111 §5.2.2.1; no-store and
 *                          no-cache count as 0), at most "max_age_seconds" (default 300), which
 *                          is also the lifetime when the header is absent.
 *   {"ssm_parameter": N}   SSM GetParameter (JSON 1.1 protocol, X-Amz-Target
 *                          AmazonSSM.GetParameter, SigV4 service "ssm" with the standard
 *                          credential chain), the parameter's Value being the JWKS; cached for
 *                          "max_age_seconds". Endpoint: "endpoint", else AWS_ENDPOINT_URL_SSM,
 *                          else AWS_ENDPOINT_URL, else https://ssm.REGION.amazonaws.com/.
 * Remote sets are fetched on first use (not at start: cold start stays short). A token whose
 * kid is unknown triggers one refetch, at most every "refresh_seconds" (default 30); a failed
 * fetch is retried no sooner than that either. When fetching fails the last good set is kept
 * until it is "max_stale_seconds" old; with no usable set every token is denied
 * (AU_JWKS_UNAVAILABLE), never allowed. One line is logged per fetch (jwks.fetched /
 * jwks.fetch.failed).
 */
#ifndef AU_KEYS_H
#define AU_KEYS_H

#include <time.h>

#include <openssl/evp.h>

#include "authorizer/au_config.h"
#include "authorizer/au_verify.h"
#include "common/hs_err.h"

struct au_keys;

/* A key source for cfg (borrowed; must outlive it). A file source is read now. Errors:
 * HS_ERR_INPUT_NOT_FOUND, HS_ERR_INPUT_* (a bad JWKS file), HS_ERR_INPUT_CONFIG (SSM without a
 * region), HS_ERR_IO, HS_ERR_NOMEM. Free with au_keys_free (NULL accepted). */
HS_RESULT au_keys_new(const struct au_config *cfg, struct au_keys **out);
void au_keys_free(struct au_keys *k);
void au_keys_freep(struct au_keys **k);

/* The key for kid and alg (one enum au_alg bit) at now, refreshing the set as described above;
 * lends it in *out (valid until the next au_keys_find). Returns AU_OK, AU_KID_UNKNOWN,
 * AU_KEY_MISMATCH or AU_JWKS_UNAVAILABLE. */
enum au_reason au_keys_find(struct au_keys *k, const char *kid, unsigned int alg, time_t now,
                            EVP_PKEY **out);

#endif /* AU_KEYS_H */
