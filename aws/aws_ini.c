#include "aws/aws_ini.h"

#include <string.h>
#include <strings.h>

#include "common/hs_buf.h"

#define AWS_INI_KEY_OTHER AWS_INI_KEY_COUNT      /* a property of no interest */
#define AWS_INI_KEY_NONE (AWS_INI_KEY_COUNT + 1) /* the previous line was no property */

static const char *const aws_ini_keys[AWS_INI_KEY_COUNT] = {
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
    "region",
    "credential_process",
    "role_arn",
    "source_profile",
    "role_session_name",
    "external_id",
    "web_identity_token_file",
    "credential_source",
    "sso_start_url",
    "sso_session",
};

struct aws_ini_state {
    const char *profile;
    size_t profile_len;
    enum aws_ini_form form;
    bool any_section; /* a [section] was seen */
    bool in_profile;  /* the current section is the profile */
    unsigned last;    /* the key of the previous property line, or the markers above */
    struct aws_ini_profile found;
    size_t line;
};

const char *aws_ini_key_name(enum aws_ini_key k)
{
    return (unsigned)k < AWS_INI_KEY_COUNT ? aws_ini_keys[k] : "?";
}

static bool aws_ini_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static struct aws_ini_span aws_ini_trim(const unsigned char *p, size_t n)
{
    while (n > 0 && aws_ini_blank(p[0])) {
        p++;
        n--;
    }
    while (n > 0 && aws_ini_blank(p[n - 1])) {
        n--;
    }
    return (struct aws_ini_span){p, n};
}

static bool aws_ini_span_is(struct aws_ini_span s, const char *text, size_t n)
{
    return s.n == n && memcmp(s.p, text, n) == 0;
}

HS_RESULT aws_ini_profile_check(const char *profile)
{
    HS_ENSURE_REF(profile);
    size_t n = strnlen(profile, AWS_INI_PROFILE_MAX + 1);
    HS_ENSURE_MSG(n > 0 && n <= AWS_INI_PROFILE_MAX, HS_ERR_INPUT_CONFIG,
                  "the profile name is empty or longer than %d bytes", AWS_INI_PROFILE_MAX);
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)profile[k];
        HS_ENSURE_MSG(c >= 0x20 && c != ']' && c != 0x7f, HS_ERR_INPUT_CONFIG,
                      "the profile name holds ']' or a control character");
    }
    return HS_OK;
}

/* Whether section name `name` (trimmed) is the profile in this form. */
static bool aws_ini_section_is(const struct aws_ini_state *st, struct aws_ini_span name)
{
    if (st->form == AWS_INI_CREDENTIALS) {
        return aws_ini_span_is(name, st->profile, st->profile_len);
    }
    if (strcmp(st->profile, "default") == 0 && aws_ini_span_is(name, "default", 7)) {
        return true;
    }
    /* "profile" then at least one blank, then the name. */
    if (name.n < 8 || memcmp(name.p, "profile", 7) != 0 || !aws_ini_blank(name.p[7])) {
        return false;
    }
    struct aws_ini_span rest = aws_ini_trim(name.p + 7, name.n - 7);
    return aws_ini_span_is(rest, st->profile, st->profile_len);
}

/* "[name]" with an optional comment after it. */
static HS_RESULT aws_ini_section(struct aws_ini_state *st, struct aws_ini_span s)
{
    const unsigned char *close = memchr(s.p, ']', s.n);
    HS_ENSURE_MSG(close != NULL, HS_ERR_INPUT_CONFIG, "line %zu: '[' without ']'", st->line);
    struct aws_ini_span name = aws_ini_trim(s.p + 1, (size_t)(close - s.p) - 1);
    struct aws_ini_span rest = aws_ini_trim(close + 1, s.n - (size_t)(close - s.p) - 1);
    HS_ENSURE_MSG(rest.n == 0 || rest.p[0] == '#' || rest.p[0] == ';', HS_ERR_INPUT_CONFIG,
                  "line %zu: text after the profile's ']'", st->line);
    HS_ENSURE_MSG(name.n > 0, HS_ERR_INPUT_CONFIG, "line %zu: a profile without a name", st->line);
    st->any_section = true;
    st->in_profile = aws_ini_section_is(st, name);
    st->found.found = st->found.found || st->in_profile;
    st->last = AWS_INI_KEY_NONE;
    return HS_OK;
}

/* The text after '=', trimmed, up to a '#' or ';' that follows a blank (a comment). */
static struct aws_ini_span aws_ini_value(const unsigned char *p, size_t n)
{
    for (size_t k = 1; k < n; k++) {
        if ((p[k] == '#' || p[k] == ';') && aws_ini_blank(p[k - 1])) {
            return aws_ini_trim(p, k);
        }
    }
    return aws_ini_trim(p, n);
}

/* "key = value". */
static HS_RESULT aws_ini_property(struct aws_ini_state *st, struct aws_ini_span s)
{
    const unsigned char *eq = memchr(s.p, '=', s.n);
    HS_ENSURE_MSG(eq != NULL, HS_ERR_INPUT_CONFIG,
                  "line %zu: expected \"[profile]\", \"key = value\" or a comment", st->line);
    HS_ENSURE_MSG(st->any_section, HS_ERR_INPUT_CONFIG,
                  "line %zu: a property before the first [profile]", st->line);
    struct aws_ini_span key = aws_ini_trim(s.p, (size_t)(eq - s.p));
    HS_ENSURE_MSG(key.n > 0, HS_ERR_INPUT_CONFIG, "line %zu: a property without a name", st->line);
    st->last = AWS_INI_KEY_OTHER;
    for (unsigned k = 0; k < AWS_INI_KEY_COUNT; k++) {
        if (key.n == strlen(aws_ini_keys[k]) &&
            strncasecmp((const char *)key.p, aws_ini_keys[k], key.n) == 0) {
            st->last = k;
        }
    }
    if (st->in_profile && st->last < AWS_INI_KEY_COUNT) {
        size_t after = (size_t)(eq - s.p) + 1;
        st->found.v[st->last] = aws_ini_value(s.p + after, s.n - after);
    }
    return HS_OK;
}

static HS_RESULT aws_ini_line(struct aws_ini_state *st, const unsigned char *p, size_t n)
{
    HS_ENSURE_MSG(n <= AWS_INI_LINE_MAX, HS_ERR_INPUT_TOO_LARGE, "line %zu: longer than %d bytes",
                  st->line, AWS_INI_LINE_MAX);
    if (n > 0 && p[n - 1] == '\r') {
        n--;
    }
    HS_ENSURE_MSG(n == 0 || memchr(p, '\0', n) == NULL, HS_ERR_INPUT_CONFIG, "line %zu: a NUL byte",
                  st->line);
    bool indented = n > 0 && aws_ini_blank(p[0]);
    struct aws_ini_span s = aws_ini_trim(p, n);
    if (s.n == 0 || s.p[0] == '#' || s.p[0] == ';') {
        return HS_OK;
    }
    if (s.p[0] == '[') {
        return aws_ini_section(st, s);
    }
    if (indented && st->last != AWS_INI_KEY_NONE) {
        /* A continuation (sub-property) of the previous property. */
        HS_ENSURE_MSG(!st->in_profile || st->last == AWS_INI_KEY_OTHER, HS_ERR_INPUT_CONFIG,
                      "line %zu: an indented line continues %s (as in the AWS tools); "
                      "unindent it",
                      st->line, aws_ini_keys[st->last]);
        return HS_OK;
    }
    return aws_ini_property(st, s);
}

HS_RESULT aws_ini_parse(const unsigned char *text, size_t len, enum aws_ini_form form,
                        const char *profile, struct aws_ini_profile *out)
{
    HS_ENSURE(text != NULL || len == 0, HS_ERR_INTERNAL);
    HS_ENSURE_REF(out);
    HS_ENSURE(profile != NULL && hs_failed(aws_ini_profile_check(profile)) == false,
              HS_ERR_INTERNAL);
    HS_ENSURE_MSG(len <= AWS_INI_FILE_MAX, HS_ERR_INPUT_TOO_LARGE, "larger than %d bytes",
                  AWS_INI_FILE_MAX);
    struct aws_ini_state st = {
        .profile = profile, .profile_len = strlen(profile), .form = form, .last = AWS_INI_KEY_NONE};
    struct hs_cursor cur;
    hs_cursor_init(&cur, text, len);
    while (hs_cursor_remaining(&cur) > 0) {
        const unsigned char *line = NULL;
        size_t n = 0;
        hs_cursor_get_until(&cur, '\n', &line, &n);
        st.line++;
        HS_GUARD(aws_ini_line(&st, line, n));
    }
    *out = st.found;
    return HS_OK;
}
