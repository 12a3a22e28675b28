/* cli_creds: the shared credentials file parser and the resolution order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/cli_creds.h"
#include "tests/testlib/hs_test.h"

#define ID1 "AKIAIOSFODNN7EXAMPLE"
#define SK1 "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define ID2 "ASIAY34FZKBOKMUTVV7A"
#define SK2 "a+b/c#d;e=f"
#define TOK "IQoJb3JpZ2luX2VjEJv//////////wEaCXVzLWVhc3QtMSJHMEUCIQ=="

static HS_RESULT parse(const char *text, const char *profile, struct cli_creds **out)
{
    return cli_creds_parse((const unsigned char *)text, strlen(text), profile, out);
}

static bool secret_is(const struct hs_secret *s, const char *want)
{
    return s != NULL && hs_secret_equal(s, want, strlen(want));
}

/* The profile parses to these values (tok NULL: no session token). */
static void parses_to(const char *text, const char *profile, const char *id, const char *sk,
                      const char *tok)
{
    struct cli_creds *c = NULL;
    HS_CHECK_OK(parse(text, profile, &c));
    if (c == NULL) {
        return;
    }
    HS_CHECK(strcmp(c->access_key_id, id) == 0);
    HS_CHECK(secret_is(c->secret, sk));
    HS_CHECK(tok == NULL ? c->session_token == NULL : secret_is(c->session_token, tok));
    cli_creds_free(c);
}

HS_TEST(default_profile)
{
    parses_to("[default]\naws_access_key_id = " ID1 "\naws_secret_access_key = " SK1 "\n",
              "default", ID1, SK1, NULL);
    /* No final newline; no spaces around '='. */
    parses_to("[default]\naws_access_key_id=" ID1 "\naws_secret_access_key=" SK1, "default", ID1,
              SK1, NULL);
}

HS_TEST(comments_whitespace_crlf)
{
    static const char text[] =
        "# a comment\r\n"
        "; another\r\n"
        "\r\n"
        "[default]\r\n"
        "aws_access_key_id = AKIAOTHEROTHEROTHER1\r\n"
        "aws_secret_access_key = other\r\n"
        "\r\n"
        "   [  work  ]   # the work account\r\n"
        "\taws_access_key_id\t=\t" ID1 "   # inline comment after a blank\r\n"
        "aws_secret_access_key =   " SK1 "  ; another inline comment\r\n"
        "   # an indented comment\r\n"
        "region = eu-west-1\r\n"
        "[next]\r\n";
    parses_to(text, "work", ID1, SK1, NULL);
    parses_to(text, "default", "AKIAOTHEROTHEROTHER1", "other", NULL);
}

HS_TEST(values_keep_comment_characters_not_after_a_blank)
{
    /* '#', ';' and '=' inside a value are part of it (secrets and tokens hold '/', '+', '='). */
    parses_to("[p]\naws_access_key_id = " ID2 "\naws_secret_access_key = " SK2 "\n"
              "aws_session_token = " TOK "\n",
              "p", ID2, SK2, TOK);
    /* Right after '=', a '#' follows no blank: it begins the value. */
    parses_to("[p]\naws_access_key_id=" ID2 "\naws_secret_access_key=#" SK2 "\n", "p", ID2, "#" SK2,
              NULL);
}

HS_TEST(keys_ignore_case_profiles_do_not)
{
    parses_to("[Default]\naws_access_key_id = AKIAOTHEROTHEROTHER1\naws_secret_access_key = x\n"
              "[default]\nAWS_ACCESS_KEY_ID = " ID1 "\nAws_Secret_Access_Key = " SK1 "\n",
              "default", ID1, SK1, NULL);
}

HS_TEST(later_values_win_and_profiles_merge)
{
    parses_to("[a]\naws_access_key_id = AKIAOTHEROTHEROTHER1\naws_secret_access_key = old\n"
              "[b]\naws_secret_access_key = bbb\n"
              "[a]\naws_access_key_id = " ID1 "\n"
              "[a]\naws_secret_access_key = " SK1 "\n",
              "a", ID1, SK1, NULL);
}

HS_TEST(session_token_and_the_older_name)
{
    static const char base[] = "[s]\naws_access_key_id = " ID2 "\naws_secret_access_key = " SK1;
    char text[512];
    snprintf(text, sizeof(text), "%s\naws_security_token = %s\n", base, TOK);
    parses_to(text, "s", ID2, SK1, TOK);
    snprintf(text, sizeof(text), "%s\naws_security_token = old\naws_session_token = %s\n", base,
             TOK);
    parses_to(text, "s", ID2, SK1, TOK);
    snprintf(text, sizeof(text), "%s\naws_session_token = %s\naws_security_token = old\n", base,
             TOK);
    parses_to(text, "s", ID2, SK1, TOK);
}

HS_TEST(sub_properties_are_skipped)
{
    parses_to("[default]\ns3 =\n  max_concurrent_requests = 10\n  addressing_style = path\n"
              "aws_access_key_id = " ID1 "\naws_secret_access_key = " SK1 "\n",
              "default", ID1, SK1, NULL);
    /* In another profile, even a continuation of one of our keys does not matter. */
    parses_to("[other]\naws_secret_access_key =\n  nested = 1\n"
              "[default]\naws_access_key_id = " ID1 "\naws_secret_access_key = " SK1 "\n",
              "default", ID1, SK1, NULL);
}

struct bad_case {
    const char *text;
    const char *profile;
    enum hs_code code;
    const char *detail; /* a part of the error detail */
};

static const struct bad_case bad_cases[] = {
    {"aws_access_key_id = " ID1 "\n[default]\n", "default", HS_ERR_INPUT_CONFIG,
     "line 1: a property before the first [profile]"},
    {"[default]\naws_access_key_id " ID1 "\n", "default", HS_ERR_INPUT_CONFIG,
     "line 2: expected \"[profile]\", \"key = value\" or a comment"},
    {"[default\naws_access_key_id = " ID1 "\n", "default", HS_ERR_INPUT_CONFIG,
     "line 1: '[' without ']'"},
    {"[default] x\n", "default", HS_ERR_INPUT_CONFIG, "line 1: text after the profile's ']'"},
    {"[ ]\n", "default", HS_ERR_INPUT_CONFIG, "line 1: a profile without a name"},
    {"[default]\n = x\n", "default", HS_ERR_INPUT_CONFIG, "line 2: a property without a name"},
    {"[default]\naws_secret_access_key =\n  " SK1 "\n", "default", HS_ERR_INPUT_CONFIG,
     "line 3: an indented line continues aws_secret_access_key"},
    {"[default]\naws_access_key_id = " ID1 "\n  aws_secret_access_key = " SK1 "\n", "default",
     HS_ERR_INPUT_CONFIG, "line 3: an indented line continues aws_access_key_id"},
    {"", "default", HS_ERR_INPUT_NOT_FOUND, "no profile [default]"},
    {"[other]\naws_access_key_id = " ID1 "\naws_secret_access_key = " SK1 "\n", "default",
     HS_ERR_INPUT_NOT_FOUND, "no profile [default]"},
    {"[default]\naws_access_key_id = " ID1 "\n", "default", HS_ERR_INPUT_CONFIG,
     "profile [default] has no aws_access_key_id and aws_secret_access_key"},
    {"[default]\naws_access_key_id =\naws_secret_access_key = " SK1 "\n", "default",
     HS_ERR_INPUT_CONFIG, "has no aws_access_key_id"},
    /* "= #..." is a comment after a blank: an empty value. */
    {"[default]\naws_access_key_id = " ID1 "\naws_secret_access_key = #" SK1 "\n", "default",
     HS_ERR_INPUT_CONFIG, "has no aws_access_key_id and aws_secret_access_key"},
    {"[default]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = base\n", "default",
     HS_ERR_INPUT_CONFIG, "role_arn, sso and credential_process profiles are not supported"},
    {"[default]\naws_access_key_id = AKIA-BAD-KEY-ID-0001\naws_secret_access_key = " SK1 "\n",
     "default", HS_ERR_INPUT_CONFIG, "the access key id is not 16..128 letters and digits"},
    {"[default]\naws_access_key_id = AKIASHORT\naws_secret_access_key = " SK1 "\n", "default",
     HS_ERR_INPUT_CONFIG, "the access key id is not"},
    {"[default]\naws_access_key_id = " ID1 "\naws_secret_access_key = not secret\n", "default",
     HS_ERR_INPUT_CONFIG, "the secret access key is longer than"},
    {"[default]\naws_access_key_id = " ID1 "\naws_secret_access_key = " SK1 "\n"
     "aws_session_token = a\x01b\n",
     "default", HS_ERR_INPUT_CONFIG, "the session token is longer than"},
};

HS_TEST(refusals)
{
    for (size_t k = 0; k < sizeof(bad_cases) / sizeof(bad_cases[0]); k++) {
        struct cli_creds *c = NULL;
        HS_CHECK_ERR(parse(bad_cases[k].text, bad_cases[k].profile, &c), bad_cases[k].code);
        HS_CHECK(c == NULL);
        if (strstr(hs_error_last()->detail, bad_cases[k].detail) == NULL) {
            fprintf(stderr, "  case %zu: detail \"%s\", expected \"%s\"\n", k,
                    hs_error_last()->detail, bad_cases[k].detail);
            HS_CHECK(!"the expected detail");
        }
        /* No error ever repeats a value. */
        HS_CHECK(strstr(hs_error_last()->detail, SK1) == NULL);
        HS_CHECK(strstr(hs_error_last()->detail, "not secret") == NULL);
        cli_creds_free(c);
    }
}

HS_TEST(nul_bytes_and_size)
{
    static const char text[] = "[default]\naws_access_key_id = " ID1 "\0\n";
    struct cli_creds *c = NULL;
    HS_CHECK_ERR(cli_creds_parse((const unsigned char *)text, sizeof(text) - 1, "default", &c),
                 HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "line 2: a NUL byte") != NULL);
    size_t big = CLI_CREDS_FILE_MAX + 1;
    unsigned char *p = malloc(big);
    HS_CHECK(p != NULL);
    if (p != NULL) {
        memset(p, '#', big);
        HS_CHECK_ERR(cli_creds_parse(p, big, "default", &c), HS_ERR_INPUT_TOO_LARGE);
        /* Exactly at the bound: a file of comments, which has no profile. */
        HS_CHECK_ERR(cli_creds_parse(p, big - 1, "default", &c), HS_ERR_INPUT_NOT_FOUND);
        free(p);
    }
    /* A secret one byte over HS_SECRET_MAX. */
    char *text2 = malloc(HS_SECRET_MAX + 128);
    HS_CHECK(text2 != NULL);
    if (text2 != NULL) {
        int n = snprintf(text2, 96, "[d]\naws_access_key_id = %s\naws_secret_access_key = ", ID1);
        memset(text2 + n, 'k', HS_SECRET_MAX + 1);
        text2[n + HS_SECRET_MAX + 1] = '\0';
        HS_CHECK_ERR(parse(text2, "d", &c), HS_ERR_INPUT_CONFIG);
        text2[n + HS_SECRET_MAX] = '\0';
        HS_CHECK_OK(parse(text2, "d", &c));
        cli_creds_free(c);
        free(text2);
    }
    /* Session tokens: up to HS_SECRET_LARGE_MAX (STS tokens are often over 1 KiB). */
    char *text3 = malloc(HS_SECRET_LARGE_MAX + 256);
    HS_CHECK(text3 != NULL);
    if (text3 != NULL) {
        int n = snprintf(text3, 160,
                         "[d]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                         "aws_session_token = ",
                         ID2, SK1);
        memset(text3 + n, 'T', HS_SECRET_LARGE_MAX + 1);
        text3[n + HS_SECRET_LARGE_MAX + 1] = '\0';
        HS_CHECK_ERR(parse(text3, "d", &c), HS_ERR_INPUT_CONFIG);
        text3[n + HS_SECRET_LARGE_MAX] = '\0';
        HS_CHECK_OK(parse(text3, "d", &c));
        const unsigned char *tok = NULL;
        size_t tok_len = 0;
        if (c != NULL && c->session_token != NULL) {
            hs_secret_get0(c->session_token, &tok, &tok_len);
        }
        HS_CHECK(tok_len == HS_SECRET_LARGE_MAX);
        cli_creds_free(c);
        free(text3);
    }
}

/* --- resolution ---------------------------------------------------------------------------- */

static char dir[512];

static void write_file(const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    HS_CHECK(f != NULL);
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

static void clear_env(void)
{
    static const char *const names[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                        "AWS_SESSION_TOKEN", "AWS_PROFILE",
                                        "AWS_SHARED_CREDENTIALS_FILE"};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        unsetenv(names[k]);
    }
    setenv("HOME", dir, 1);
}

/* Resolves with profile_flag and checks the access key id (NULL: must fail with code). */
static void resolves_to(const char *profile_flag, const char *id, enum hs_code code)
{
    struct cli_creds *c = NULL;
    if (id == NULL) {
        HS_CHECK_ERR(cli_creds_resolve(profile_flag, &c), code);
        HS_CHECK(c == NULL);
    } else {
        HS_CHECK_OK(cli_creds_resolve(profile_flag, &c));
        HS_CHECK(c != NULL && strcmp(c->access_key_id, id) == 0);
    }
    cli_creds_free(c);
}

HS_TEST(resolution_order)
{
    const char *tmp = getenv("HSMSIGN_TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/cli_creds_test.%ld", tmp != NULL ? tmp : "/tmp", (long)getpid());
    HS_CHECK(mkdir(dir, 0700) == 0);
    char aws[600];
    snprintf(aws, sizeof(aws), "%s/.aws", dir);
    HS_CHECK(mkdir(aws, 0700) == 0);
    write_file(".aws/credentials", "[default]\naws_access_key_id = AKIADEFAULTDEFAULT01\n"
                                   "aws_secret_access_key = d\n"
                                   "[named]\naws_access_key_id = AKIANAMEDNAMEDNAMED1\n"
                                   "aws_secret_access_key = n\naws_session_token = t\n");
    write_file("other", "[default]\naws_access_key_id = AKIAOTHERFILEOTHER01\n"
                        "aws_secret_access_key = o\n");
    clear_env();
    resolves_to(NULL, "AKIADEFAULTDEFAULT01", HS_ERR_NONE);
    resolves_to("named", "AKIANAMEDNAMEDNAMED1", HS_ERR_NONE);
    setenv("AWS_PROFILE", "named", 1);
    resolves_to(NULL, "AKIANAMEDNAMEDNAMED1", HS_ERR_NONE);
    resolves_to("default", "AKIADEFAULTDEFAULT01", HS_ERR_NONE); /* the flag outranks */
    resolves_to("missing", NULL, HS_ERR_INPUT_NOT_FOUND);
    /* The environment's keys outrank AWS_PROFILE, but not --profile-name. */
    setenv("AWS_ACCESS_KEY_ID", ID1, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SK1, 1);
    setenv("AWS_SESSION_TOKEN", TOK, 1);
    struct cli_creds *c = NULL;
    HS_CHECK_OK(cli_creds_resolve(NULL, &c));
    HS_CHECK(c != NULL && strcmp(c->access_key_id, ID1) == 0 && secret_is(c->secret, SK1) &&
             secret_is(c->session_token, TOK) && strcmp(c->source, "the environment") == 0);
    cli_creds_free(c);
    resolves_to("default", "AKIADEFAULTDEFAULT01", HS_ERR_NONE);
    /* Half a pair is an error, not a reason to look further. */
    unsetenv("AWS_SECRET_ACCESS_KEY");
    resolves_to(NULL, NULL, HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "AWS_SECRET_ACCESS_KEY is not") != NULL);
    setenv("AWS_SECRET_ACCESS_KEY", SK1, 1);
    unsetenv("AWS_ACCESS_KEY_ID");
    resolves_to(NULL, NULL, HS_ERR_INPUT_CONFIG);
    setenv("AWS_ACCESS_KEY_ID", "AKIA BAD", 1);
    resolves_to(NULL, NULL, HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "AWS_*") != NULL);
    clear_env();
    /* AWS_SHARED_CREDENTIALS_FILE, with "~/" for the home directory. */
    setenv("AWS_SHARED_CREDENTIALS_FILE", "~/other", 1);
    resolves_to(NULL, "AKIAOTHERFILEOTHER01", HS_ERR_NONE);
    char other[600];
    snprintf(other, sizeof(other), "%s/other", dir);
    setenv("AWS_SHARED_CREDENTIALS_FILE", other, 1);
    HS_CHECK_OK(cli_creds_resolve(NULL, &c));
    HS_CHECK(c != NULL && strstr(c->source, "/other, profile [default]") != NULL);
    cli_creds_free(c);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "~/nonexistent", 1);
    resolves_to(NULL, NULL, HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "no credentials") != NULL);
    /* Profile names: bounded, no ']' or control characters. */
    clear_env();
    resolves_to("a]b", NULL, HS_ERR_INPUT_CONFIG);
    resolves_to("a\nb", NULL, HS_ERR_INPUT_CONFIG);
    char path[600];
    snprintf(path, sizeof(path), "%s/.aws/credentials", dir);
    unlink(path);
    unlink(other);
    rmdir(aws);
    rmdir(dir);
}

int main(void)
{
    HS_CHECK_OK(hs_secure_init(65536));
    return hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(default_profile), HS_TEST_CASE(comments_whitespace_crlf),
        HS_TEST_CASE(values_keep_comment_characters_not_after_a_blank),
        HS_TEST_CASE(keys_ignore_case_profiles_do_not),
        HS_TEST_CASE(later_values_win_and_profiles_merge),
        HS_TEST_CASE(session_token_and_the_older_name), HS_TEST_CASE(sub_properties_are_skipped),
        HS_TEST_CASE(refusals), HS_TEST_CASE(nul_bytes_and_size), HS_TEST_CASE(resolution_order),
        HS_TEST_END});
}
