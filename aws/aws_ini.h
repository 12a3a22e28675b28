/*
 * aws_ini: the AWS shared config and credentials files (AWS SDKs and Tools Reference Guide,
 * "Shared config and credentials files", "Format of the config file").
 *
 * The format, as the AWS tools read it: lines of "[section]", "key = value", comments ('#' or
 * ';' at the start of a line, or after a blank inside a value) and blank lines; CRLF accepted.
 * In the config file a profile is "[profile NAME]" or "[default]" ("[profile default]" too;
 * other sections such as "[sso-session x]" are skipped); in the credentials file it is "[NAME]".
 * Keys compare without case, profile names with. A profile may appear more than once: its
 * properties merge, later values win. An indented line after "key =" is a sub-property (as in
 * "s3 =\n  addressing_style = path"), skipped; under one of the keys read here it is an error.
 * Strict about sizes: at most AWS_INI_FILE_MAX bytes, lines of at most AWS_INI_LINE_MAX, no NUL.
 */
#ifndef AWS_INI_H
#define AWS_INI_H

#include <stdbool.h>
#include <stddef.h>

#include "common/hs_err.h"

#define AWS_INI_FILE_MAX (1024 * 1024) /* bytes of a config or credentials file */
#define AWS_INI_LINE_MAX (16 * 1024)   /* bytes of one line */
#define AWS_INI_PROFILE_MAX 128        /* bytes of a profile name */

enum aws_ini_form {
    AWS_INI_CREDENTIALS, /* [NAME] */
    AWS_INI_CONFIG,      /* [profile NAME], [default] */
};

/* The properties read, in the order of aws_ini_key_names. */
enum aws_ini_key {
    AWS_INI_ACCESS_KEY_ID,
    AWS_INI_SECRET_ACCESS_KEY,
    AWS_INI_SESSION_TOKEN,
    AWS_INI_SECURITY_TOKEN, /* the older name of aws_session_token */
    AWS_INI_REGION,
    AWS_INI_CREDENTIAL_PROCESS,
    AWS_INI_ROLE_ARN,
    AWS_INI_SOURCE_PROFILE,
    AWS_INI_ROLE_SESSION_NAME,
    AWS_INI_EXTERNAL_ID,
    AWS_INI_WEB_IDENTITY_TOKEN_FILE,
    AWS_INI_CREDENTIAL_SOURCE,
    AWS_INI_SSO_START_URL,
    AWS_INI_SSO_SESSION,
    AWS_INI_KEY_COUNT,
};

/* A value: bytes lent from the parsed text (n == 0: absent or empty). */
struct aws_ini_span {
    const unsigned char *p;
    size_t n;
};

/* One profile as parsed. */
struct aws_ini_profile {
    bool found; /* the profile has a section in the file */
    struct aws_ini_span v[AWS_INI_KEY_COUNT];
};

/* Returns the key's name in the files ("aws_access_key_id"). */
const char *aws_ini_key_name(enum aws_ini_key k);

/* Parses text[0..len) in form and collects profile `profile`'s properties into *out (values
 * lent from text; found false when no section names the profile). Errors: HS_ERR_INPUT_CONFIG
 * (a syntax error, with its line number; never a value), HS_ERR_INPUT_TOO_LARGE (the text or a
 * line over its bound), HS_ERR_INTERNAL (profile NULL or longer than AWS_INI_PROFILE_MAX). *out
 * is written only on success. */
HS_RESULT aws_ini_parse(const unsigned char *text, size_t len, enum aws_ini_form form,
                        const char *profile, struct aws_ini_profile *out);

/* Checks a profile name: 1..AWS_INI_PROFILE_MAX bytes, no ']' and no control character.
 * Errors: HS_ERR_INPUT_CONFIG. */
HS_RESULT aws_ini_profile_check(const char *profile);

#endif /* AWS_INI_H */
