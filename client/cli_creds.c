#include "client/cli_creds.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/hs_buf.h"
#include "common/hs_file.h"

#define CLI_CREDS_PWBUF 16384 /* getpwuid_r's buffer */

/* The properties hsmsign reads, in the order of cli_creds_keys. */
enum cli_creds_key {
    CLI_KEY_ID,
    CLI_KEY_SECRET,
    CLI_KEY_TOKEN,
    CLI_KEY_TOKEN_OLD,
    CLI_KEY_COUNT,
    CLI_KEY_OTHER = CLI_KEY_COUNT, /* a property of no interest */
    CLI_KEY_NONE,                  /* the previous line was no property */
};

static const char *const cli_creds_keys[CLI_KEY_COUNT] = {
    "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_security_token"};

struct cli_ini_span {
    const unsigned char *p;
    size_t n;
};

struct cli_ini {
    const char *profile;
    bool any_profile;  /* a [section] was seen */
    bool in_profile;   /* the current section is `profile` */
    bool seen_profile; /* `profile` was seen */
    enum cli_creds_key last;
    struct cli_ini_span v[CLI_KEY_COUNT];
    size_t line;
};

void cli_creds_free(struct cli_creds *c)
{
    if (c != NULL) {
        hs_secret_free(c->secret);
        hs_secret_free(c->session_token);
        OPENSSL_clear_free(c, sizeof(*c));
    }
}

void cli_creds_freep(struct cli_creds **c)
{
    cli_creds_free(*c);
}

static bool cli_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static struct cli_ini_span cli_trim(const unsigned char *p, size_t n)
{
    while (n > 0 && cli_blank(p[0])) {
        p++;
        n--;
    }
    while (n > 0 && cli_blank(p[n - 1])) {
        n--;
    }
    return (struct cli_ini_span){p, n};
}

static bool cli_span_is(struct cli_ini_span s, const char *text)
{
    return s.n == strlen(text) && strncasecmp((const char *)s.p, text, s.n) == 0;
}

/* "[name]" with an optional comment after it. */
static HS_RESULT cli_ini_section(struct cli_ini *st, struct cli_ini_span s)
{
    const unsigned char *close = memchr(s.p, ']', s.n);
    HS_ENSURE_MSG(close != NULL, HS_ERR_INPUT_CONFIG, "line %zu: '[' without ']'", st->line);
    struct cli_ini_span name = cli_trim(s.p + 1, (size_t)(close - s.p) - 1);
    struct cli_ini_span rest = cli_trim(close + 1, s.n - (size_t)(close - s.p) - 1);
    HS_ENSURE_MSG(rest.n == 0 || rest.p[0] == '#' || rest.p[0] == ';', HS_ERR_INPUT_CONFIG,
                  "line %zu: text after the profile's ']'", st->line);
    HS_ENSURE_MSG(name.n > 0, HS_ERR_INPUT_CONFIG, "line %zu: a profile without a name", st->line);
    st->any_profile = true;
    st->in_profile = name.n == strlen(st->profile) && memcmp(name.p, st->profile, name.n) == 0;
    st->seen_profile = st->seen_profile || st->in_profile;
    st->last = CLI_KEY_NONE;
    return HS_OK;
}

/* The text after '=', trimmed, up to a '#' or ';' that follows a blank (a comment). */
static struct cli_ini_span cli_ini_value(const unsigned char *p, size_t n)
{
    for (size_t k = 1; k < n; k++) {
        if ((p[k] == '#' || p[k] == ';') && cli_blank(p[k - 1])) {
            return cli_trim(p, k);
        }
    }
    return cli_trim(p, n);
}

/* "key = value". */
static HS_RESULT cli_ini_property(struct cli_ini *st, struct cli_ini_span s)
{
    const unsigned char *eq = memchr(s.p, '=', s.n);
    HS_ENSURE_MSG(eq != NULL, HS_ERR_INPUT_CONFIG,
                  "line %zu: expected \"[profile]\", \"key = value\" or a comment", st->line);
    HS_ENSURE_MSG(st->any_profile, HS_ERR_INPUT_CONFIG,
                  "line %zu: a property before the first [profile]", st->line);
    struct cli_ini_span key = cli_trim(s.p, (size_t)(eq - s.p));
    HS_ENSURE_MSG(key.n > 0, HS_ERR_INPUT_CONFIG, "line %zu: a property without a name", st->line);
    st->last = CLI_KEY_OTHER;
    for (size_t k = 0; k < CLI_KEY_COUNT; k++) {
        if (cli_span_is(key, cli_creds_keys[k])) {
            st->last = (enum cli_creds_key)k;
        }
    }
    if (st->in_profile && st->last != CLI_KEY_OTHER) {
        size_t after = (size_t)(eq - s.p) + 1;
        st->v[st->last] = cli_ini_value(s.p + after, s.n - after);
    }
    return HS_OK;
}

static HS_RESULT cli_ini_line(struct cli_ini *st, const unsigned char *p, size_t n)
{
    if (n > 0 && p[n - 1] == '\r') {
        n--;
    }
    HS_ENSURE_MSG(memchr(p, '\0', n) == NULL, HS_ERR_INPUT_CONFIG, "line %zu: a NUL byte",
                  st->line);
    bool indented = n > 0 && cli_blank(p[0]);
    struct cli_ini_span s = cli_trim(p, n);
    if (s.n == 0 || s.p[0] == '#' || s.p[0] == ';') {
        return HS_OK;
    }
    if (s.p[0] == '[') {
        return cli_ini_section(st, s);
    }
    if (indented && st->last != CLI_KEY_NONE) {
        /* A continuation (sub-property) of the previous property. */
        HS_ENSURE_MSG(!st->in_profile || st->last == CLI_KEY_OTHER, HS_ERR_INPUT_CONFIG,
                      "line %zu: an indented line continues %s (as in the AWS tools); "
                      "unindent it",
                      st->line, cli_creds_keys[st->last]);
        return HS_OK;
    }
    return cli_ini_property(st, s);
}

/* Printable ASCII without spaces: what access keys, secrets and session tokens are made of (and
 * so nothing that could end or split an HTTP header). */
static bool cli_token_chars(struct cli_ini_span v, bool alnum_only)
{
    for (size_t k = 0; k < v.n; k++) {
        unsigned char c = v.p[k];
        bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (alnum_only ? !alnum : (c <= 0x20 || c >= 0x7f)) {
            return false;
        }
    }
    return true;
}

/* Checks the three values (token.n == 0: none) and copies them into a new struct cli_creds. */
static HS_RESULT cli_creds_build(struct cli_ini_span id, struct cli_ini_span secret,
                                 struct cli_ini_span token, struct cli_creds **out)
{
    HS_ENSURE_MSG(id.n >= CLI_ACCESS_KEY_ID_MIN && id.n <= CLI_ACCESS_KEY_ID_MAX &&
                      cli_token_chars(id, true),
                  HS_ERR_INPUT_CONFIG, "the access key id is not %d..%d letters and digits",
                  CLI_ACCESS_KEY_ID_MIN, CLI_ACCESS_KEY_ID_MAX);
    HS_ENSURE_MSG(secret.n <= HS_SECRET_MAX && cli_token_chars(secret, false), HS_ERR_INPUT_CONFIG,
                  "the secret access key is longer than %d bytes or holds a space or a "
                  "control character",
                  HS_SECRET_MAX);
    HS_ENSURE_MSG(token.n <= HS_SECRET_LARGE_MAX && cli_token_chars(token, false),
                  HS_ERR_INPUT_CONFIG,
                  "the session token is longer than %d bytes or holds a space or a control "
                  "character",
                  HS_SECRET_LARGE_MAX);
    HS_DEFER(struct cli_creds *c = OPENSSL_zalloc(sizeof(*c)), cli_creds_freep);
    HS_ENSURE(c != NULL, HS_ERR_NOMEM);
    memcpy(c->access_key_id, id.p, id.n);
    HS_GUARD(hs_secret_from_bytes(secret.p, secret.n, &c->secret));
    if (token.n > 0) {
        HS_GUARD(hs_secret_from_bytes(token.p, token.n, &c->session_token));
    }
    *out = c;
    c = NULL;
    return HS_OK;
}

HS_RESULT cli_creds_parse(const unsigned char *text, size_t len, const char *profile,
                          struct cli_creds **out)
{
    HS_ENSURE(text != NULL || len == 0, HS_ERR_INTERNAL);
    HS_ENSURE_REF(profile);
    HS_ENSURE_MSG(len <= CLI_CREDS_FILE_MAX, HS_ERR_INPUT_TOO_LARGE, "larger than %d bytes",
                  CLI_CREDS_FILE_MAX);
    struct cli_ini st = {.profile = profile, .last = CLI_KEY_NONE};
    struct hs_cursor cur;
    hs_cursor_init(&cur, text, len);
    while (hs_cursor_remaining(&cur) > 0) {
        const unsigned char *line = NULL;
        size_t n = 0;
        hs_cursor_get_until(&cur, '\n', &line, &n);
        st.line++;
        HS_GUARD(cli_ini_line(&st, line, n));
    }
    HS_ENSURE_MSG(st.seen_profile, HS_ERR_INPUT_NOT_FOUND, "no profile [%.128s]", profile);
    HS_ENSURE_MSG(st.v[CLI_KEY_ID].n > 0 && st.v[CLI_KEY_SECRET].n > 0, HS_ERR_INPUT_CONFIG,
                  "profile [%.64s] has no aws_access_key_id and aws_secret_access_key "
                  "(role_arn, sso and credential_process profiles are not supported)",
                  profile);
    struct cli_ini_span token =
        st.v[CLI_KEY_TOKEN].n > 0 ? st.v[CLI_KEY_TOKEN] : st.v[CLI_KEY_TOKEN_OLD];
    return cli_creds_build(st.v[CLI_KEY_ID], st.v[CLI_KEY_SECRET], token, out);
}

static struct cli_ini_span cli_env_span(const char *name)
{
    const char *v = secure_getenv(name);
    return (struct cli_ini_span){(const unsigned char *)v, v != NULL ? strlen(v) : 0};
}

static HS_RESULT cli_creds_from_env(struct cli_creds **out)
{
    struct cli_ini_span id = cli_env_span("AWS_ACCESS_KEY_ID");
    struct cli_ini_span secret = cli_env_span("AWS_SECRET_ACCESS_KEY");
    HS_ENSURE_MSG(secret.n > 0, HS_ERR_INPUT_CONFIG,
                  "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    HS_ENSURE_MSG(id.n > 0, HS_ERR_INPUT_CONFIG,
                  "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
    HS_DEFER(struct cli_creds *c = NULL, cli_creds_freep);
    hs_result r = cli_creds_build(id, secret, cli_env_span("AWS_SESSION_TOKEN"), &c);
    if (hs_failed(r)) {
        hs_error_add_detail("in the AWS_* environment variables");
        return r;
    }
    memcpy(c->source, "the environment", sizeof("the environment"));
    *out = c;
    c = NULL;
    return HS_OK;
}

/* Appends the home directory: $HOME, else the password database's. */
static HS_RESULT cli_put_home(struct hs_buf *b)
{
    const char *home = secure_getenv("HOME");
    if (home != NULL && home[0] != '\0') {
        return hs_buf_put_str(b, home);
    }
    char pwbuf[CLI_CREDS_PWBUF];
    struct passwd pw;
    struct passwd *found = NULL;
    HS_ENSURE_MSG(getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &found) == 0 && found != NULL,
                  HS_ERR_INPUT_CONFIG, "no home directory ($HOME is not set)");
    return hs_buf_put_str(b, pw.pw_dir);
}

/* $AWS_SHARED_CREDENTIALS_FILE (a leading "~/" is the home directory) or ~/.aws/credentials. */
static HS_RESULT cli_creds_path(struct hs_buf *path)
{
    const char *named = secure_getenv("AWS_SHARED_CREDENTIALS_FILE");
    if (named != NULL && named[0] != '\0') {
        if (strncmp(named, "~/", 2) != 0) {
            return hs_buf_put_str(path, named);
        }
        HS_GUARD(cli_put_home(path));
        return hs_buf_put_str(path, named + 1);
    }
    HS_GUARD(cli_put_home(path));
    return hs_buf_put_str(path, "/.aws/credentials");
}

/* --profile-name, else $AWS_PROFILE, else "default". */
static HS_RESULT cli_profile_name(const char *profile_flag, const char **out)
{
    const char *env = secure_getenv("AWS_PROFILE");
    const char *name = profile_flag != NULL              ? profile_flag
                       : (env != NULL && env[0] != '\0') ? env
                                                         : "default";
    size_t n = strnlen(name, CLI_PROFILE_NAME_MAX + 1);
    HS_ENSURE_MSG(n <= CLI_PROFILE_NAME_MAX, HS_ERR_INPUT_CONFIG,
                  "the profile name is longer than %d bytes", CLI_PROFILE_NAME_MAX);
    for (size_t k = 0; k < n; k++) {
        HS_ENSURE_MSG((unsigned char)name[k] >= 0x20 && name[k] != ']' && name[k] != 0x7f,
                      HS_ERR_INPUT_CONFIG, "the profile name holds ']' or a control character");
    }
    *out = name;
    return HS_OK;
}

static HS_RESULT cli_creds_from_file(const char *profile_flag, struct cli_creds **out)
{
    const char *profile = NULL;
    HS_GUARD(cli_profile_name(profile_flag, &profile));
    HS_DEFER(struct hs_buf *path = hs_buf_new(CLI_CREDS_PATH_MAX), hs_buf_freep);
    HS_ENSURE(path != NULL, HS_ERR_NOMEM);
    const char *p = NULL;
    HS_GUARD(cli_creds_path(path));
    HS_GUARD(hs_buf_cstr(path, &p));
    HS_DEFER(struct hs_buf *text = NULL, hs_buf_freep);
    hs_result r = hs_file_read_sensitive(p, CLI_CREDS_FILE_MAX, &text);
    if (r.code == HS_ERR_INPUT_NOT_FOUND) {
        HS_BAIL_MSG(HS_ERR_INPUT_CONFIG,
                    "no credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY %s and %.100s does "
                    "not exist",
                    profile_flag != NULL ? "not used (--profile-name)" : "not set", p);
    }
    HS_GUARD(r);
    HS_DEFER(struct cli_creds *c = NULL, cli_creds_freep);
    r = cli_creds_parse(hs_buf_data(text), hs_buf_len(text), profile, &c);
    if (hs_failed(r)) {
        hs_error_add_detail("in %.120s", p);
        return r;
    }
    /* CLI_CREDS_SOURCE_MAX holds the longest path and profile name: never truncated. */
    (void)snprintf(c->source, sizeof(c->source), "%s, profile [%s]", p, profile);
    *out = c;
    c = NULL;
    return HS_OK;
}

HS_RESULT cli_creds_resolve(const char *profile_flag, struct cli_creds **out)
{
    HS_ENSURE_REF(out);
    bool has_id = cli_env_span("AWS_ACCESS_KEY_ID").n > 0;
    bool has_secret = cli_env_span("AWS_SECRET_ACCESS_KEY").n > 0;
    if (profile_flag == NULL && (has_id || has_secret)) {
        return cli_creds_from_env(out);
    }
    return cli_creds_from_file(profile_flag, out);
}
