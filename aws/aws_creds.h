/*
 * aws_creds: AWS credentials and the region, found as the AWS SDKs find them (AWS SDKs and
 * Tools Reference Guide, "Standardized credential providers" and "Region"), and cached.
 *
 * The chain, in order; the first source that is configured answers (a source that is configured
 * but fails ends the chain with its error, as in the SDKs):
 *   1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY [+ AWS_SESSION_TOKEN]; half a pair
 *      is an error.
 *   2. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN [+ AWS_ROLE_SESSION_NAME]: STS
 *      AssumeRoleWithWebIdentity (an unsigned Query-protocol POST; XML answer).
 *   3. shared files: profile AWS_PROFILE (or the caller's) else "default", in AWS_CONFIG_FILE
 *      (default ~/.aws/config, sections "[profile NAME]" and "[default]") and
 *      AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials, sections "[NAME]"); a property
 *      of the credentials file outranks the config file's. Within the profile: role_arn (with
 *      source_profile, whose own credentials sign STS AssumeRole; with web_identity_token_file,
 *      AssumeRoleWithWebIdentity), then static keys (aws_access_key_id, aws_secret_access_key,
 *      aws_session_token), then credential_process (run without a shell; JSON answer, Version 1,
 *      AccessKeyId, SecretAccessKey, SessionToken, Expiration; output bounded, time-limited).
 *      A profile that was named (AWS_PROFILE or the caller) must exist.
 *   4. container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (http://169.254.170.2<uri>) or
 *      AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http to a loopback address, 169.254.170.2,
 *      169.254.170.23 or [fd00:ec2::23]), with the Authorization header from
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or AWS_CONTAINER_AUTHORIZATION_TOKEN.
 *   5. EC2 instance metadata, IMDSv2 only: PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-
 *      seconds), GET /latest/meta-data/iam/security-credentials/ and then the role, with the
 *      token; at AWS_EC2_METADATA_SERVICE_ENDPOINT (default http://169.254.169.254); skipped when
 *      AWS_EC2_METADATA_DISABLED=true.
 * STS: AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else https://sts.REGION.amazonaws.com
 * (https://sts.amazonaws.com, signed for us-east-1, when no region is known).
 *
 * Secrets live only in struct hs_secret; answers that held them are read into sensitive buffers
 * and wiped. No error detail or log line carries a secret.
 */
#ifndef AWS_CREDS_H
#define AWS_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/hs_err.h"
#include "common/hs_secret.h"

#define AWS_AKID_MIN 16
#define AWS_AKID_MAX 128
#define AWS_REGION_MAX 64
#define AWS_PROFILE_NAME_MAX 128
#define AWS_PATH_MAX 4096
#define AWS_CREDS_SOURCE_MAX (AWS_PATH_MAX + AWS_PROFILE_NAME_MAX + 64)
#define AWS_CREDS_REFRESH_S 300          /* refetched 5 minutes before they expire */
#define AWS_CREDS_ANSWER_MAX (16 * 1024) /* bytes of a credentials endpoint's or STS's answer */
#define AWS_CREDS_PROCESS_OUTPUT_MAX (64 * 1024) /* bytes a credential_process may print */
#define AWS_CREDS_PROCESS_TIMEOUT_MS 30000
#define AWS_CREDS_CONNECT_TIMEOUT_MS 1000 /* container and instance metadata endpoints */
#define AWS_CREDS_TIMEOUT_MS 5000
#define AWS_STS_TIMEOUT_MS 10000
#define AWS_WEB_IDENTITY_TOKEN_MAX (HS_SECRET_LARGE_MAX)
#define AWS_ROLE_ARN_MAX 2048
#define AWS_ROLE_SESSION_NAME_MAX 64
#define AWS_ASSUME_ROLE_DEPTH_MAX 4 /* source_profile links followed */

/* One set of credentials. */
struct aws_creds {
    char access_key_id[AWS_AKID_MAX + 1];
    struct hs_secret *secret;
    struct hs_secret *session_token;   /* NULL when none */
    time_t expiration;                 /* 0: does not expire */
    uint64_t version;                  /* which set of a provider's this is (0 outside one) */
    char source[AWS_CREDS_SOURCE_MAX]; /* where they came from, for messages: never a value */
};

/* Wipes and releases c; NULL is accepted. */
void aws_creds_free(struct aws_creds *c);
void aws_creds_freep(struct aws_creds **c);

/* A copy of c in *out (the caller frees it). Errors: HS_ERR_NOMEM. */
HS_RESULT aws_creds_dup(const struct aws_creds *c, struct aws_creds **out);

/* Checks and copies: id (AWS_AKID_MIN..AWS_AKID_MAX letters and digits), secret (1..
 * HS_SECRET_MAX printable ASCII without spaces) and token (NULL or "": none; at most
 * HS_SECRET_LARGE_MAX, same characters) into a new struct aws_creds. Errors:
 * HS_ERR_INPUT_CONFIG (the detail names which value, never the value), HS_ERR_NOMEM. */
HS_RESULT aws_creds_from_parts(const char *id, size_t id_len, const void *secret, size_t secret_len,
                               const void *token, size_t token_len, time_t expiration,
                               struct aws_creds **out);

struct aws_creds_options {
    const char *profile; /* NULL: AWS_PROFILE, else "default" */
    /* The profile was named by the caller (e.g. hsmsign --profile-name): the environment's
     * keys and web identity are then skipped, as the AWS CLI does with --profile. */
    bool profile_only;
};

/* The chain with a cache: thread-safe. */
struct aws_creds_provider;

/* A provider over the chain (nothing is fetched yet). opt may be NULL; its strings are copied.
 * Errors: HS_ERR_INPUT_CONFIG (a profile name longer than AWS_PROFILE_NAME_MAX or holding ']'
 * or a control character), HS_ERR_NOMEM. Free with aws_creds_provider_free. */
HS_RESULT aws_creds_provider_new(const struct aws_creds_options *opt,
                                 struct aws_creds_provider **out);

/* A provider that always answers c (copied): for callers that already hold credentials. */
HS_RESULT aws_creds_provider_static(const struct aws_creds *c, struct aws_creds_provider **out);

void aws_creds_provider_free(struct aws_creds_provider *p);
void aws_creds_provider_freep(struct aws_creds_provider **p);

/* Current credentials: a copy in *out (the caller frees it). Cached until AWS_CREDS_REFRESH_S
 * before they expire; then one thread refetches while the others go on with the cached ones
 * as long as those have not expired (a refetch that fails then is logged, and the cached ones
 * used). Errors: HS_ERR_INPUT_CONFIG (no source configured, a source misconfigured: the
 * detail names it), HS_ERR_INPUT_NOT_FOUND (a named profile is in neither file), HS_ERR_IO (a
 * credentials endpoint, STS or a credential_process failed), HS_ERR_NOMEM. */
HS_RESULT aws_creds_provider_get(struct aws_creds_provider *p, struct aws_creds **out);

/* Forgets the cached credentials if they are still those of version seen (an answer said they
 * expired), so that the next get fetches. */
void aws_creds_provider_invalidate(struct aws_creds_provider *p, uint64_t seen);

/* Name of the source that answered last ("environment", "web-identity", "profile",
 * "credential_process", "assume-role", "container", "imds", "static"), or "none". */
const char *aws_creds_provider_source(struct aws_creds_provider *p);

/* The region: AWS_REGION, else AWS_DEFAULT_REGION, else the profile's `region` in the config
 * file (profile as in aws_creds_options). Writes "" when none is set. The value is checked
 * (1..AWS_REGION_MAX of [a-z0-9-]). Errors: HS_ERR_INPUT_CONFIG (a malformed region or config
 * file: the detail names the file), HS_ERR_IO, HS_ERR_NOMEM. */
HS_RESULT aws_region_resolve(const char *profile, char out[AWS_REGION_MAX + 1]);

#endif /* AWS_CREDS_H */
