/*
 * cli_creds: the AWS credentials hsmsign signs with.
 *
 * Resolution (cli_creds_resolve), first match wins:
 *   1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN) from the environment,
 *      unless a profile was named on the command line (--profile-name): as with the AWS CLI,
 *      an explicit profile outranks the environment's keys. One of the pair without the other
 *      is an error, not a reason to look further.
 *   2. The shared credentials file, $AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile
 *      --profile-name, else $AWS_PROFILE, else "default": aws_access_key_id,
 *      aws_secret_access_key and aws_session_token (or the older aws_security_token).
 * Anything else (role_arn, sso_*, credential_process, instance metadata) is not supported; the
 * error says so and how to export such credentials.
 *
 * The file format (cli_creds_parse), as the AWS SDKs read it:
 *   - lines end in "\n"; a "\r" before it is dropped; spaces and tabs around items are ignored;
 *   - blank lines and lines whose first non-blank character is '#' or ';' are comments;
 *   - "[name]" starts a profile (the name is trimmed; a '#' or ';' comment may follow the ']');
 *     a profile named twice is one profile, and the later value of a key wins;
 *   - "key = value" sets a property: the key is trimmed and compared without regard to case,
 *     the value is trimmed and ends before a '#' or ';' that follows a space or tab;
 *   - an indented line after a property continues it (a sub-property, as in "s3 =" and its
 *     indented settings); continuing one of the three keys above is an error;
 *   - a property before the first profile, a line of another form or a NUL byte is an error
 *     naming the line number (never its content).
 * Bounds: the secret access key HS_SECRET_MAX bytes, the session token HS_SECRET_LARGE_MAX (STS
 * tokens are often over 1 KiB); all three printable ASCII without spaces.
 * Secrets are held in hs_secret from the moment they are parsed, the file is read into a buffer
 * that is wiped when freed, and no error detail ever contains a value.
 */
#ifndef CLI_CREDS_H
#define CLI_CREDS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/hs_err.h"
#include "common/hs_secret.h"

#define CLI_CREDS_FILE_MAX (1024 * 1024) /* bytes of a shared credentials file */
#define CLI_PROFILE_NAME_MAX 128
#define CLI_ACCESS_KEY_ID_MIN 16
#define CLI_ACCESS_KEY_ID_MAX 128
#define CLI_CREDS_PATH_MAX 4096
#define CLI_CREDS_SOURCE_MAX (CLI_CREDS_PATH_MAX + CLI_PROFILE_NAME_MAX + 32)

struct cli_creds {
    char access_key_id[CLI_ACCESS_KEY_ID_MAX + 1];
    struct hs_secret *secret;
    struct hs_secret *session_token;   /* NULL when none */
    char source[CLI_CREDS_SOURCE_MAX]; /* where they came from, for -v: never a value */
};

/* Reads profile `profile` from the credentials file text[0..len). Errors: HS_ERR_INPUT_CONFIG
 * (a syntax error, with its line number; the profile lacks a key; a value is malformed),
 * HS_ERR_INPUT_NOT_FOUND (no such profile), HS_ERR_INPUT_TOO_LARGE (over CLI_CREDS_FILE_MAX),
 * HS_ERR_NOMEM. The caller frees *out with cli_creds_free(). */
HS_RESULT cli_creds_parse(const unsigned char *text, size_t len, const char *profile,
                          struct cli_creds **out);

/* Resolves credentials as described above. profile_flag is --profile-name (NULL when not
 * given). Errors: as cli_creds_parse (the detail names the file and profile), and
 * HS_ERR_INPUT_CONFIG when nothing supplies credentials or the environment holds half a pair;
 * HS_ERR_IO when the file cannot be read. The caller frees *out with cli_creds_free(). */
HS_RESULT cli_creds_resolve(const char *profile_flag, struct cli_creds **out);

/* Wipes and releases c; NULL is accepted. */
void cli_creds_free(struct cli_creds *c);
void cli_creds_freep(struct cli_creds **c);

#endif /* CLI_CREDS_H */
