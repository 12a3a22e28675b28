/* aws/: the shared config/credentials parser (aws_ini), the HTTP client (aws_http) and every
 * source of the credential chain (aws_creds) against tests/aws/aws_standin.py on 127.0.0.1
 * (started by tests/aws/aws_test.sh, which sets AWS_STANDIN_URL). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws/aws_creds.h"
#include "aws/aws_http.h"
#include "aws/aws_ini.h"
#include "common/hs_buf.h"
#include "tests/testlib/hs_test.h"

#define ID1 "AKIAIOSFODNN7EXAMPLE"
#define SK1 "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define ID2 "ASIAY34FZKBOKMUTVV7A"
#define SK2 "a+b/c#d;e=f"
#define TOK "IQoJb3JpZ2luX2VjEJv//////////wEaCXVzLWVhc3QtMSJHMEUCIQ=="

static const char *standin;
static char dir[512];

/* --- aws_ini ------------------------------------------------------------------------------- */

static bool span_is(struct aws_ini_span s, const char *want)
{
    return want == NULL ? s.n == 0 : (s.n == strlen(want) && memcmp(s.p, want, s.n) == 0);
}

/* text parses (credentials form) and profile's three values are id, sk, tok. */
static void parses_to(const char *text, const char *profile, const char *id, const char *sk,
                      const char *tok)
{
    struct aws_ini_profile p;
    HS_CHECK_OK(
        aws_ini_parse((const unsigned char *)text, strlen(text), AWS_INI_CREDENTIALS, profile, &p));
    HS_CHECK(p.found);
    HS_CHECK(span_is(p.v[AWS_INI_ACCESS_KEY_ID], id));
    HS_CHECK(span_is(p.v[AWS_INI_SECRET_ACCESS_KEY], sk));
    struct aws_ini_span t =
        p.v[AWS_INI_SESSION_TOKEN].n > 0 ? p.v[AWS_INI_SESSION_TOKEN] : p.v[AWS_INI_SECURITY_TOKEN];
    HS_CHECK(span_is(t, tok));
}

HS_TEST(ini_profiles_comments_crlf)
{
    parses_to("[default]\naws_access_key_id = " ID1 "\naws_secret_access_key = " SK1 "\n",
              "default", ID1, SK1, NULL);
    parses_to("[default]\naws_access_key_id=" ID1 "\naws_secret_access_key=" SK1, "default", ID1,
              SK1, NULL);
    static const char text[] = "# a comment\r\n; another\r\n\r\n[default]\r\n"
                               "aws_access_key_id = AKIAOTHEROTHEROTHER1\r\n"
                               "aws_secret_access_key = other\r\n\r\n"
                               "   [  work  ]   # the work account\r\n"
                               "\taws_access_key_id\t=\t" ID1 "   # inline comment\r\n"
                               "aws_secret_access_key =   " SK1 "  ; another\r\n"
                               "   # an indented comment\r\nregion = eu-west-1\r\n[next]\r\n";
    parses_to(text, "work", ID1, SK1, NULL);
    parses_to(text, "default", "AKIAOTHEROTHEROTHER1", "other", NULL);
    /* '#', ';' and '=' inside a value are part of it; right after '=' a '#' begins it. */
    parses_to("[p]\naws_access_key_id = " ID2 "\naws_secret_access_key = " SK2 "\n"
              "aws_session_token = " TOK "\n",
              "p", ID2, SK2, TOK);
    parses_to("[p]\naws_access_key_id=" ID2 "\naws_secret_access_key=#" SK2 "\n", "p", ID2, "#" SK2,
              NULL);
    /* Keys ignore case, profile names do not; later values win; profiles merge. */
    parses_to("[Default]\naws_access_key_id = AKIAOTHEROTHEROTHER1\n"
              "[default]\nAWS_ACCESS_KEY_ID = " ID1 "\nAws_Secret_Access_Key = " SK1 "\n",
              "default", ID1, SK1, NULL);
    parses_to("[a]\naws_access_key_id = AKIAOTHEROTHEROTHER1\naws_secret_access_key = old\n"
              "[b]\naws_secret_access_key = bbb\n[a]\naws_access_key_id = " ID1 "\n"
              "[a]\naws_secret_access_key = " SK1 "\n",
              "a", ID1, SK1, NULL);
    parses_to("[s]\naws_access_key_id = " ID2 "\naws_secret_access_key = " SK1
              "\naws_security_token = " TOK "\n",
              "s", ID2, SK1, TOK);
    /* Sub-properties are skipped. */
    parses_to("[default]\ns3 =\n  max_concurrent_requests = 10\n  addressing_style = path\n"
              "aws_access_key_id = " ID1 "\naws_secret_access_key = " SK1 "\n",
              "default", ID1, SK1, NULL);
    parses_to("[other]\naws_secret_access_key =\n  nested = 1\n"
              "[default]\naws_access_key_id = " ID1 "\naws_secret_access_key = " SK1 "\n",
              "default", ID1, SK1, NULL);
}

HS_TEST(ini_config_form)
{
    static const char text[] = "[default]\nregion = eu-west-1\n"
                               "[profile work]\nregion = eu-west-3\ncredential_process = /bin/x y\n"
                               "[work]\nregion = us-east-2\n"
                               "[sso-session s]\nregion = ap-south-1\n"
                               "[profile  default]\noutput = json\n";
    struct aws_ini_profile p;
    HS_CHECK_OK(
        aws_ini_parse((const unsigned char *)text, strlen(text), AWS_INI_CONFIG, "work", &p));
    HS_CHECK(p.found && span_is(p.v[AWS_INI_REGION], "eu-west-3") &&
             span_is(p.v[AWS_INI_CREDENTIAL_PROCESS], "/bin/x y"));
    HS_CHECK_OK(
        aws_ini_parse((const unsigned char *)text, strlen(text), AWS_INI_CONFIG, "default", &p));
    HS_CHECK(p.found && span_is(p.v[AWS_INI_REGION], "eu-west-1"));
    /* In the credentials form, [work] is the profile and [profile work] is not. */
    HS_CHECK_OK(
        aws_ini_parse((const unsigned char *)text, strlen(text), AWS_INI_CREDENTIALS, "work", &p));
    HS_CHECK(p.found && span_is(p.v[AWS_INI_REGION], "us-east-2"));
    HS_CHECK_OK(aws_ini_parse((const unsigned char *)text, strlen(text), AWS_INI_CONFIG, "s", &p));
    HS_CHECK(!p.found);
}

struct bad_case {
    const char *text;
    enum hs_code code;
    const char *detail;
};

static const struct bad_case bad_cases[] = {
    {"aws_access_key_id = " ID1 "\n[default]\n", HS_ERR_INPUT_CONFIG,
     "line 1: a property before the first [profile]"},
    {"[default]\naws_access_key_id " ID1 "\n", HS_ERR_INPUT_CONFIG,
     "line 2: expected \"[profile]\", \"key = value\" or a comment"},
    {"[default\naws_access_key_id = " ID1 "\n", HS_ERR_INPUT_CONFIG, "line 1: '[' without ']'"},
    {"[default] x\n", HS_ERR_INPUT_CONFIG, "line 1: text after the profile's ']'"},
    {"[ ]\n", HS_ERR_INPUT_CONFIG, "line 1: a profile without a name"},
    {"[default]\n = x\n", HS_ERR_INPUT_CONFIG, "line 2: a property without a name"},
    {"[default]\naws_secret_access_key =\n  " SK1 "\n", HS_ERR_INPUT_CONFIG,
     "line 3: an indented line continues aws_secret_access_key"},
    {"[default]\naws_access_key_id = " ID1 "\n  aws_secret_access_key = " SK1 "\n",
     HS_ERR_INPUT_CONFIG, "line 3: an indented line continues aws_access_key_id"},
};

HS_TEST(ini_refusals_and_bounds)
{
    for (size_t k = 0; k < sizeof(bad_cases) / sizeof(bad_cases[0]); k++) {
        struct aws_ini_profile p;
        const char *t = bad_cases[k].text;
        HS_CHECK_ERR(
            aws_ini_parse((const unsigned char *)t, strlen(t), AWS_INI_CREDENTIALS, "default", &p),
            bad_cases[k].code);
        if (strstr(hs_error_last()->detail, bad_cases[k].detail) == NULL) {
            fprintf(stderr, "  case %zu: detail \"%s\"\n", k, hs_error_last()->detail);
            HS_CHECK(!"the expected detail");
        }
        HS_CHECK(strstr(hs_error_last()->detail, SK1) == NULL);
    }
    struct aws_ini_profile p;
    static const char nul[] = "[default]\naws_access_key_id = " ID1 "\0\n";
    HS_CHECK_ERR(aws_ini_parse((const unsigned char *)nul, sizeof(nul) - 1, AWS_INI_CREDENTIALS,
                               "default", &p),
                 HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "line 2: a NUL byte") != NULL);
    size_t big = AWS_INI_FILE_MAX + 1;
    unsigned char *b = malloc(big);
    HS_CHECK(b != NULL);
    if (b != NULL) {
        memset(b, '\n', big);
        HS_CHECK_ERR(aws_ini_parse(b, big, AWS_INI_CONFIG, "default", &p), HS_ERR_INPUT_TOO_LARGE);
        HS_CHECK_OK(aws_ini_parse(b, big - 1, AWS_INI_CONFIG, "default", &p));
        HS_CHECK(!p.found);
        memset(b, '#', AWS_INI_LINE_MAX + 1);
        HS_CHECK_ERR(aws_ini_parse(b, AWS_INI_LINE_MAX + 1, AWS_INI_CONFIG, "default", &p),
                     HS_ERR_INPUT_TOO_LARGE);
        HS_CHECK_OK(aws_ini_parse(b, AWS_INI_LINE_MAX, AWS_INI_CONFIG, "default", &p));
        free(b);
    }
    HS_CHECK_ERR(aws_ini_profile_check("a]b"), HS_ERR_INPUT_CONFIG);
    HS_CHECK_ERR(aws_ini_profile_check("a\nb"), HS_ERR_INPUT_CONFIG);
    HS_CHECK_ERR(aws_ini_profile_check(""), HS_ERR_INPUT_CONFIG);
}

/* --- aws_http -------------------------------------------------------------------------------- */

static char url_buf[1024];

static const char *url(const char *path)
{
    snprintf(url_buf, sizeof(url_buf), "%s%s", standin, path);
    return url_buf;
}

static struct aws_http_request get_req(const char *path, size_t max)
{
    return (struct aws_http_request){.method = "GET",
                                     .url = url(path),
                                     .protocols = "http",
                                     .response_max = max,
                                     .connect_timeout_ms = 1000,
                                     .timeout_ms = 5000,
                                     .no_proxy = true};
}

HS_TEST(http_bounded_answers)
{
    struct hs_buf *body = hs_buf_new(1000);
    struct aws_http_response resp = {.body = body};
    struct aws_http_request req = get_req("/big?n=1000", 1000);
    HS_CHECK_OK(aws_http_send(NULL, &req, &resp));
    HS_CHECK(resp.status == 200 && hs_buf_len(body) == 1000);
    req = get_req("/big?n=1001", 1000);
    HS_CHECK_ERR(aws_http_send(NULL, &req, &resp), HS_ERR_BOUNDS);
    HS_CHECK(hs_buf_len(body) <= 1000);
    /* A large answer that arrives in several pieces (no Content-Length shortcut either way). */
    struct hs_buf *large = hs_buf_new(1 << 20);
    struct aws_http_response big = {.body = large};
    req = get_req("/big?n=1048577", 1 << 20);
    HS_CHECK_ERR(aws_http_send(NULL, &req, &big), HS_ERR_BOUNDS);
    req = get_req("/big?n=1048576", 1 << 20);
    HS_CHECK_OK(aws_http_send(NULL, &req, &big));
    HS_CHECK(hs_buf_len(large) == 1 << 20);
    /* A request that breaks the rules: no total timeout without a long poll and a stop flag;
     * a bound larger than the buffer. */
    req = get_req("/big?n=1", 1000);
    req.timeout_ms = 0;
    HS_CHECK_ERR(aws_http_send(NULL, &req, &resp), HS_ERR_INTERNAL);
    req = get_req("/big?n=1", 1001);
    HS_CHECK_ERR(aws_http_send(NULL, &req, &resp), HS_ERR_INTERNAL);
    hs_buf_free(large);
    hs_buf_free(body);
}

HS_TEST(http_retries_and_timeouts)
{
    struct hs_buf *body = hs_buf_new(4096);
    struct aws_http_response resp = {.body = body};
    struct aws_http *h = aws_http_new();
    /* Two 503s, then 200: three attempts succeed; two do not. */
    struct aws_http_request req = get_req("/flaky?key=a&fail=2", 4096);
    req.attempts = 3;
    req.backoff_ms = 10;
    HS_CHECK_OK(aws_http_send(h, &req, &resp));
    HS_CHECK(resp.status == 200 && resp.attempts == 3 && resp.ambiguous);
    req = get_req("/flaky?key=b&fail=2", 4096);
    req.attempts = 2;
    req.backoff_ms = 10;
    HS_CHECK_OK(aws_http_send(h, &req, &resp));
    HS_CHECK(resp.status == 503 && resp.attempts == 2 && resp.class == AWS_HTTP_RETRY);
    /* 4xx is final; 429 is throttling. */
    req = get_req("/status?code=404", 4096);
    req.attempts = 3;
    HS_CHECK_OK(aws_http_send(h, &req, &resp));
    HS_CHECK(resp.status == 404 && resp.attempts == 1);
    req = get_req("/status?code=429", 4096);
    req.attempts = 2;
    req.throttle_backoff_ms = 10;
    HS_CHECK_OK(aws_http_send(h, &req, &resp));
    HS_CHECK(resp.status == 429 && resp.attempts == 2 && resp.class == AWS_HTTP_THROTTLE);
    /* The total timeout. */
    req = get_req("/slow?s=3", 4096);
    req.timeout_ms = 300;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    HS_CHECK_ERR(aws_http_send(h, &req, &resp), HS_ERR_IO);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    HS_CHECK(resp.transport == AWS_HTTP_BROKEN && t1.tv_sec - t0.tv_sec < 3);
    /* Nothing listening: unreached, retried, then HS_ERR_IO with libcurl's words. */
    req = get_req("", 4096);
    req.url = "http://127.0.0.1:1/";
    req.attempts = 2;
    req.backoff_ms = 1;
    HS_CHECK_ERR(aws_http_send(h, &req, &resp), HS_ERR_IO);
    HS_CHECK(resp.transport == AWS_HTTP_UNREACHED && resp.attempts == 2 && !resp.ambiguous);
    HS_CHECK(strstr(hs_error_last()->detail, "2 attempts") != NULL);
    /* A protocol outside the request's list is refused, not retried. */
    req = get_req("/status?code=200", 4096);
    req.protocols = "https";
    req.attempts = 3;
    HS_CHECK_ERR(aws_http_send(h, &req, &resp), HS_ERR_IO);
    HS_CHECK(resp.transport == AWS_HTTP_REFUSED && resp.attempts == 1);
    aws_http_free(h);
    hs_buf_free(body);
}

HS_TEST(http_headers_and_signing)
{
    struct hs_buf *body = hs_buf_new(16384);
    struct aws_http_response resp = {.body = body};
    struct hs_secret *auth = NULL;
    HS_CHECK_OK(hs_secret_from_bytes("tok-123", 7, &auth));
    struct aws_creds *c = NULL;
    HS_CHECK_OK(aws_creds_from_parts(ID2, strlen(ID2), SK1, strlen(SK1), TOK, strlen(TOK), 0, &c));
    struct aws_http_request req = get_req("/headers", 16384);
    req.headers[0] = "X-Test: one";
    req.secret_header = (struct aws_http_secret_header){"X-Secret", auth};
    req.sigv4_region = "eu-west-1";
    req.sigv4_service = "execute-api";
    req.creds = c;
    HS_CHECK_OK(aws_http_send(NULL, &req, &resp));
    const char *s = NULL;
    HS_CHECK_OK(hs_buf_cstr(body, &s));
    HS_CHECK(s != NULL && strstr(s, "\"X-Test\": \"one\"") != NULL &&
             strstr(s, "\"X-Secret\": \"tok-123\"") != NULL &&
             strstr(s, "\"X-Amz-Security-Token\": \"" TOK "\"") != NULL &&
             strstr(s, "AWS4-HMAC-SHA256 Credential=" ID2 "/") != NULL &&
             strstr(s, "/eu-west-1/execute-api/aws4_request") != NULL);
    /* A header value with a line break is refused before anything is sent. */
    HS_CHECK(strstr(s, "tok-123") != NULL);
    struct hs_secret *bad = NULL;
    HS_CHECK_OK(hs_secret_from_bytes("a\r\nb", 4, &bad));
    req.secret_header.value = bad;
    HS_CHECK_ERR(aws_http_send(NULL, &req, &resp), HS_ERR_INPUT_CONFIG);
    hs_secret_free(bad);
    hs_secret_free(auth);
    aws_creds_free(c);
    hs_buf_free(body);
}

static volatile sig_atomic_t stop_flag;

static void *stop_later(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
    stop_flag = 1;
    return NULL;
}

HS_TEST(http_long_poll_and_stop)
{
    struct hs_buf *body = hs_buf_new(64);
    struct aws_http_response resp = {.body = body};
    /* A long poll has no total timeout; the stop flag ends it within about a second. */
    struct aws_http_request req = get_req("/slow?s=5", 64);
    req.timeout_ms = 0;
    req.long_poll = true;
    req.stop = &stop_flag;
    stop_flag = 0;
    pthread_t t;
    HS_CHECK(pthread_create(&t, NULL, stop_later, NULL) == 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    HS_CHECK_ERR(aws_http_send(NULL, &req, &resp), HS_ERR_IO);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(t, NULL);
    HS_CHECK(resp.transport == AWS_HTTP_ABORTED && t1.tv_sec - t0.tv_sec < 3);
    /* Without the stop flag set, a long poll waits for its answer. */
    stop_flag = 0;
    req = get_req("/slow?s=1.2", 64);
    req.timeout_ms = 0;
    req.long_poll = true;
    req.stop = &stop_flag;
    HS_CHECK_OK(aws_http_send(NULL, &req, &resp));
    HS_CHECK(resp.status == 200 && hs_buf_len(body) == 4);
    hs_buf_free(body);
}

/* --- aws_creds --------------------------------------------------------------------------------- */

static void write_file(const char *name, const char *text, mode_t mode)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
    FILE *f = fopen(path, "w");
    HS_CHECK(f != NULL);
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
    chmod(path, mode);
}

static const char *const env_names[] = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
};

/* Nothing configured but HOME (an empty directory's .aws) and instance metadata disabled. */
static void clear_env(void)
{
    for (size_t k = 0; k < sizeof(env_names) / sizeof(env_names[0]); k++) {
        unsetenv(env_names[k]);
    }
    setenv("HOME", dir, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    char sts[600];
    snprintf(sts, sizeof(sts), "%s/sts/", standin);
    setenv("AWS_ENDPOINT_URL_STS", sts, 1);
}

/* Resolves once with a fresh provider: the access key id, or the error code. */
static void resolves_to(const char *profile, bool only, const char *id, enum hs_code code)
{
    struct aws_creds_options opt = {.profile = profile, .profile_only = only};
    struct aws_creds_provider *p = NULL;
    struct aws_creds *c = NULL;
    hs_result r = aws_creds_provider_new(&opt, &p);
    r = hs_failed(r) ? r : aws_creds_provider_get(p, &c);
    if (id == NULL) {
        HS_CHECK_ERR(r, code);
        HS_CHECK(c == NULL);
    } else {
        HS_CHECK_OK(r);
        if (c == NULL || strcmp(c->access_key_id, id) != 0) {
            fprintf(stderr, "  got %s, expected %s\n", c != NULL ? c->access_key_id : "(none)", id);
            HS_CHECK(!"the expected access key id");
        }
    }
    aws_creds_free(c);
    aws_creds_provider_free(p);
}

static long standin_count(const char *path)
{
    struct hs_buf *body = hs_buf_new(64);
    struct aws_http_response resp = {.body = body};
    char q[300];
    snprintf(q, sizeof(q), "/_count?path=%s", path);
    struct aws_http_request req = get_req(q, 64);
    long n = -1;
    const char *s = NULL;
    if (!hs_failed(aws_http_send(NULL, &req, &resp)) && !hs_failed(hs_buf_cstr(body, &s))) {
        n = strtol(s, NULL, 10);
    }
    hs_buf_free(body);
    return n;
}

static void standin_config(const char *json)
{
    struct hs_buf *body = hs_buf_new(64);
    struct aws_http_response resp = {.body = body};
    struct aws_http_request req = get_req("/_config", 64);
    req.method = "POST";
    req.body = json;
    req.body_len = strlen(json);
    HS_CHECK_OK(aws_http_send(NULL, &req, &resp));
    hs_buf_free(body);
}

HS_TEST(creds_environment_and_files)
{
    clear_env();
    resolves_to(NULL, false, NULL, HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "no credentials") != NULL &&
             strstr(hs_error_last()->detail, ".aws/credentials") != NULL);
    setenv("AWS_ACCESS_KEY_ID", ID1, 1);
    resolves_to(NULL, false, NULL, HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "AWS_SECRET_ACCESS_KEY is not") != NULL);
    setenv("AWS_SECRET_ACCESS_KEY", SK1, 1);
    setenv("AWS_SESSION_TOKEN", TOK, 1);
    struct aws_creds_provider *p = NULL;
    struct aws_creds *c = NULL;
    HS_CHECK_OK(aws_creds_provider_new(NULL, &p));
    HS_CHECK_OK(aws_creds_provider_get(p, &c));
    HS_CHECK(c != NULL && strcmp(c->access_key_id, ID1) == 0 &&
             hs_secret_equal(c->secret, SK1, strlen(SK1)) &&
             hs_secret_equal(c->session_token, TOK, strlen(TOK)) &&
             strcmp(c->source, "the environment") == 0 && c->expiration == 0);
    HS_CHECK(strcmp(aws_creds_provider_source(p), "environment") == 0);
    aws_creds_free(c);
    aws_creds_provider_free(p);
    setenv("AWS_ACCESS_KEY_ID", "AKIA BAD", 1);
    resolves_to(NULL, false, NULL, HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "AWS_*") != NULL);

    clear_env();
    char aws[600];
    snprintf(aws, sizeof(aws), "%s/.aws", dir);
    mkdir(aws, 0700);
    write_file(".aws/credentials",
               "[default]\naws_access_key_id = AKIADEFAULTDEFAULT01\naws_secret_access_key = d\n"
               "[named]\naws_access_key_id = AKIANAMEDNAMEDNAMED1\naws_secret_access_key = n\n"
               "aws_session_token = t\n"
               "[broken]\naws_access_key_id = AKIANAMEDNAMEDNAMED1\n",
               0600);
    write_file(".aws/config",
               "[default]\nregion = eu-west-1\n"
               "[profile cfg]\naws_access_key_id = AKIACONFIGCONFIGCFG1\n"
               "aws_secret_access_key = c\nregion = eu-west-3\n"
               "[profile named]\naws_access_key_id = AKIALOSESLOSESLOSES1\n"
               "[profile sso]\nsso_start_url = https://example.awsapps.com/start\n",
               0600);
    write_file("other",
               "[default]\naws_access_key_id = AKIAOTHERFILEOTHER01\n"
               "aws_secret_access_key = o\n",
               0600);
    resolves_to(NULL, false, "AKIADEFAULTDEFAULT01", HS_ERR_NONE);
    resolves_to("named", true, "AKIANAMEDNAMEDNAMED1", HS_ERR_NONE); /* credentials file wins */
    resolves_to("cfg", true, "AKIACONFIGCONFIGCFG1", HS_ERR_NONE);   /* keys in the config file */
    setenv("AWS_PROFILE", "named", 1);
    resolves_to(NULL, false, "AKIANAMEDNAMEDNAMED1", HS_ERR_NONE);
    resolves_to("default", true, "AKIADEFAULTDEFAULT01", HS_ERR_NONE); /* the caller outranks */
    resolves_to("missing", true, NULL, HS_ERR_INPUT_NOT_FOUND);
    HS_CHECK(strstr(hs_error_last()->detail, "no profile [missing]") != NULL);
    resolves_to("broken", true, NULL, HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "profile [broken] has no") != NULL ||
             strstr(hs_error_last()->detail, "secret access key") != NULL);
    resolves_to("sso", true, NULL, HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "sso") != NULL);
    /* The environment's keys outrank AWS_PROFILE, but not a profile the caller names. */
    setenv("AWS_ACCESS_KEY_ID", ID1, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SK1, 1);
    resolves_to(NULL, false, ID1, HS_ERR_NONE);
    resolves_to("default", true, "AKIADEFAULTDEFAULT01", HS_ERR_NONE);
    clear_env();
    setenv("AWS_SHARED_CREDENTIALS_FILE", "~/other", 1);
    resolves_to(NULL, false, "AKIAOTHERFILEOTHER01", HS_ERR_NONE);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "~/nonexistent", 1);
    resolves_to(NULL, false, NULL, HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "no credentials") != NULL);
    /* Bad and oversized files: an error naming the line and the file, never a value. */
    write_file("bad", "[default]\naws_access_key_id = " ID1 "\naws_secret_access_key\n", 0600);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "~/bad", 1);
    resolves_to(NULL, false, NULL, HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "line 3: expected") != NULL &&
             strstr(hs_error_last()->detail, "/bad") != NULL);
    char *huge = malloc(AWS_INI_FILE_MAX + 2);
    HS_CHECK(huge != NULL);
    if (huge != NULL) {
        memset(huge, '#', AWS_INI_FILE_MAX + 1);
        huge[AWS_INI_FILE_MAX + 1] = '\0';
        write_file("huge", huge, 0600);
        free(huge);
    }
    setenv("AWS_SHARED_CREDENTIALS_FILE", "~/huge", 1);
    resolves_to(NULL, false, NULL, HS_ERR_INPUT_TOO_LARGE);
    resolves_to("a]b", true, NULL, HS_ERR_INPUT_CONFIG);
    /* Region: AWS_REGION, then AWS_DEFAULT_REGION, then the profile's in the config file. */
    clear_env();
    char region[AWS_REGION_MAX + 1];
    HS_CHECK_OK(aws_region_resolve(NULL, region));
    HS_CHECK(strcmp(region, "eu-west-1") == 0);
    HS_CHECK_OK(aws_region_resolve("cfg", region));
    HS_CHECK(strcmp(region, "eu-west-3") == 0);
    HS_CHECK_OK(aws_region_resolve("sso", region));
    HS_CHECK(region[0] == '\0');
    setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
    HS_CHECK_OK(aws_region_resolve("cfg", region));
    HS_CHECK(strcmp(region, "us-west-2") == 0);
    setenv("AWS_REGION", "ap-south-1", 1);
    HS_CHECK_OK(aws_region_resolve("cfg", region));
    HS_CHECK(strcmp(region, "ap-south-1") == 0);
    setenv("AWS_REGION", "eu:x", 1);
    HS_CHECK_ERR(aws_region_resolve(NULL, region), HS_ERR_INPUT_CONFIG);
    clear_env();
}

HS_TEST(creds_process)
{
    clear_env();
    char script[700];
    snprintf(script, sizeof(script), "%s/proc.sh", dir);
    write_file("proc.sh",
               "#!/bin/sh\n"
               "case \"$1\" in\n"
               "ok) printf '{\"Version\": 1, \"AccessKeyId\": \"ASIAPROCESSPROCESS01\", "
               "\"SecretAccessKey\": \"p/s\", \"SessionToken\": \"p-tok\", "
               "\"Expiration\": \"2999-01-01T00:00:00Z\"}' ;;\n"
               "static) printf '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROCESSSTATIC001\", "
               "\"SecretAccessKey\": \"p/s\"}' ;;\n"
               "quoted) [ \"$2\" = 'two words' ] && printf '{\"Version\": 1, \"AccessKeyId\": "
               "\"AKIAPROCESSQUOTED001\", \"SecretAccessKey\": \"q\"}' ;;\n"
               "v2) printf '{\"Version\": 2, \"AccessKeyId\": \"AKIAPROCESSSTATIC001\", "
               "\"SecretAccessKey\": \"p/s\"}' ;;\n"
               "fail) echo 'no way' >&2; exit 3 ;;\n"
               "big) head -c 70000 /dev/zero | tr '\\\\0' ' ' ;;\n"
               "garbage) echo 'not json' ;;\n"
               "esac\n",
               0700);
    char cfg[8192];
    snprintf(cfg, sizeof(cfg),
             "[profile ok]\ncredential_process = %s ok\n"
             "[profile static]\ncredential_process = %s static\n"
             "[profile quoted]\ncredential_process = %s quoted 'two words'\n"
             "[profile v2]\ncredential_process = %s v2\n"
             "[profile fail]\ncredential_process = %s fail\n"
             "[profile big]\ncredential_process = %s big\n"
             "[profile garbage]\ncredential_process = %s garbage\n"
             "[profile missing]\ncredential_process = %s/does-not-exist\n"
             "[profile unterminated]\ncredential_process = %s 'ok\n",
             script, script, script, script, script, script, script, dir, script);
    write_file("config", cfg, 0600);
    char path[700];
    snprintf(path, sizeof(path), "%s/config", dir);
    setenv("AWS_CONFIG_FILE", path, 1);
    struct aws_creds_options opt = {.profile = "ok", .profile_only = true};
    struct aws_creds_provider *p = NULL;
    struct aws_creds *c = NULL;
    HS_CHECK_OK(aws_creds_provider_new(&opt, &p));
    HS_CHECK_OK(aws_creds_provider_get(p, &c));
    HS_CHECK(c != NULL && strcmp(c->access_key_id, "ASIAPROCESSPROCESS01") == 0 &&
             hs_secret_equal(c->secret, "p/s", 3) &&
             hs_secret_equal(c->session_token, "p-tok", 5) && c->expiration > time(NULL) &&
             strstr(c->source, "credential_process") != NULL);
    aws_creds_free(c);
    aws_creds_provider_free(p);
    resolves_to("static", true, "AKIAPROCESSSTATIC001", HS_ERR_NONE);
    resolves_to("quoted", true, "AKIAPROCESSQUOTED001", HS_ERR_NONE);
    resolves_to("v2", true, NULL, HS_ERR_IO);
    HS_CHECK(strstr(hs_error_last()->detail, "Version must be 1") != NULL);
    resolves_to("fail", true, NULL, HS_ERR_IO);
    HS_CHECK(strstr(hs_error_last()->detail, "exit status 3") != NULL);
    resolves_to("big", true, NULL, HS_ERR_IO);
    HS_CHECK(strstr(hs_error_last()->detail, "more than 65536 bytes") != NULL);
    resolves_to("garbage", true, NULL, HS_ERR_IO);
    resolves_to("missing", true, NULL, HS_ERR_INPUT_CONFIG);
    resolves_to("unterminated", true, NULL, HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "unterminated quote") != NULL);
    clear_env();
}

HS_TEST(creds_sts_roles)
{
    clear_env();
    standin_config("{\"expiry_s\": 3600}");
    /* Web identity from the environment: unsigned AssumeRoleWithWebIdentity. */
    write_file("web.token", "eyJ0eXAiOiJKV1QifQ.web-identity-token.sig\n", 0600);
    char path[700];
    snprintf(path, sizeof(path), "%s/web.token", dir);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", path, 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/web", 1);
    setenv("AWS_REGION", "eu-west-1", 1);
    resolves_to(NULL, false, "ASIASTSWEBIDENTITY01", HS_ERR_NONE);
    /* The environment's keys come first. */
    setenv("AWS_ACCESS_KEY_ID", ID1, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SK1, 1);
    resolves_to(NULL, false, ID1, HS_ERR_NONE);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    write_file("web.token", "wrong-token\n", 0600);
    resolves_to(NULL, false, NULL, HS_ERR_IO);
    HS_CHECK(strstr(hs_error_last()->detail, "InvalidIdentityToken") != NULL);
    unsetenv("AWS_ROLE_ARN");
    resolves_to(NULL, false, NULL, HS_ERR_INPUT_CONFIG);
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    /* role_arn + source_profile: AssumeRole signed with the source profile's keys (the stand-in
     * checks the signature with botocore). */
    write_file("creds2",
               "[base]\naws_access_key_id = AKIASOURCEPROFILE001\n"
               "aws_secret_access_key = source/secret+key==\n"
               "[wrongbase]\naws_access_key_id = AKIASOURCEPROFILE001\n"
               "aws_secret_access_key = not-the-secret\n",
               0600);
    write_file("config2",
               "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/r\n"
               "source_profile = base\nrole_session_name = test-session\n"
               "[profile wrong]\nrole_arn = arn:aws:iam::123456789012:role/r\n"
               "source_profile = wrongbase\n"
               "[profile loop]\nrole_arn = arn:aws:iam::123456789012:role/r\n"
               "source_profile = loop2\n"
               "[profile loop2]\nrole_arn = arn:aws:iam::123456789012:role/r\n"
               "source_profile = loop\n"
               "[profile webprof]\nrole_arn = arn:aws:iam::123456789012:role/w\n"
               "web_identity_token_file = ~/web2.token\n",
               0600);
    write_file("web2.token", "eyJ0eXAiOiJKV1QifQ.web-identity-token.sig", 0600);
    snprintf(path, sizeof(path), "%s/creds2", dir);
    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
    snprintf(path, sizeof(path), "%s/config2", dir);
    setenv("AWS_CONFIG_FILE", path, 1);
    long before = standin_count("/sts/AssumeRole");
    resolves_to("role", true, "ASIASTSASSUMEROLE001", HS_ERR_NONE);
    HS_CHECK(standin_count("/sts/AssumeRole") == before + 1);
    resolves_to("wrong", true, NULL, HS_ERR_IO);
    HS_CHECK(strstr(hs_error_last()->detail, "SignatureDoesNotMatch") != NULL);
    HS_CHECK(strstr(hs_error_last()->detail, "not-the-secret") == NULL);
    resolves_to("loop", true, NULL, HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "deep") != NULL);
    /* An STS endpoint in plain http to anything but loopback is refused. */
    setenv("AWS_ENDPOINT_URL_STS", "http://sts.example.com/", 1);
    resolves_to("role", true, NULL, HS_ERR_INPUT_CONFIG);
    clear_env();
    snprintf(path, sizeof(path), "%s/config2", dir);
    setenv("AWS_CONFIG_FILE", path, 1);
    resolves_to("webprof", true, "ASIASTSWEBIDENTITY01", HS_ERR_NONE);
    clear_env();
}

HS_TEST(creds_container_and_imds)
{
    clear_env();
    char stale[700];
    snprintf(stale, sizeof(stale), "%s/.aws/credentials", dir);
    unlink(stale);
    snprintf(stale, sizeof(stale), "%s/.aws/config", dir);
    unlink(stale);
    standin_config("{\"expiry_s\": 3600}");
    char full[600];
    snprintf(full, sizeof(full), "%s/ecs/creds", standin);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", full, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-authorization-token-123", 1);
    resolves_to(NULL, false, "ASIAECSCONTAINER0001", HS_ERR_NONE);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong", 1);
    resolves_to(NULL, false, NULL, HS_ERR_IO);
    HS_CHECK(strstr(hs_error_last()->detail, "HTTP 401") != NULL);
    /* The token file outranks the variable. */
    write_file("ecs.token", "ecs-authorization-token-123\n", 0600);
    char path[700];
    snprintf(path, sizeof(path), "%s/ecs.token", dir);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
    resolves_to(NULL, false, "ASIAECSCONTAINER0001", HS_ERR_NONE);
    /* Plain http only to loopback or the ECS/EKS addresses. */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/creds", 1);
    resolves_to(NULL, false, NULL, HS_ERR_INPUT_CONFIG);
    /* A profile of the shared files comes before the container. */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", full, 1);
    char aws[600];
    snprintf(aws, sizeof(aws), "%s/.aws", dir);
    mkdir(aws, 0700);
    write_file(".aws/credentials",
               "[default]\naws_access_key_id = AKIADEFAULTDEFAULT01\n"
               "aws_secret_access_key = d\n",
               0600);
    resolves_to(NULL, false, "AKIADEFAULTDEFAULT01", HS_ERR_NONE);
    snprintf(path, sizeof(path), "%s/.aws/credentials", dir);
    unlink(path);

    /* IMDSv2, after the container. */
    clear_env();
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", standin, 1);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", full, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-authorization-token-123", 1);
    resolves_to(NULL, false, "ASIAECSCONTAINER0001", HS_ERR_NONE);
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    long tokens = standin_count("/latest/api/token");
    resolves_to(NULL, false, "ASIAIMDSINSTANCE0001", HS_ERR_NONE);
    HS_CHECK(standin_count("/latest/api/token") == tokens + 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    resolves_to(NULL, false, NULL, HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "AWS_EC2_METADATA_DISABLED") != NULL);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
    resolves_to(NULL, false, NULL, HS_ERR_INPUT_CONFIG);
    HS_CHECK(strstr(hs_error_last()->detail, "instance metadata") != NULL);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://192.0.2.1", 1);
    resolves_to(NULL, false, NULL, HS_ERR_INPUT_CONFIG);
    clear_env();
}

HS_TEST(creds_cache_until_five_minutes_before_expiry)
{
    clear_env();
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", standin, 1);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    const char *role = "/latest/meta-data/iam/security-credentials/hsmsign-instance-role";
    standin_config("{\"expiry_s\": 3600}");
    struct aws_creds_provider *p = NULL;
    HS_CHECK_OK(aws_creds_provider_new(NULL, &p));
    long n0 = standin_count(role);
    struct aws_creds *c = NULL;
    uint64_t v1 = 0;
    for (int i = 0; i < 3; i++) {
        HS_CHECK_OK(aws_creds_provider_get(p, &c));
        v1 = c != NULL ? c->version : 0;
        aws_creds_free(c);
        c = NULL;
    }
    HS_CHECK(standin_count(role) == n0 + 1); /* cached */
    HS_CHECK(strcmp(aws_creds_provider_source(p), "imds") == 0);
    /* An answer said they expired: the next get fetches again. */
    aws_creds_provider_invalidate(p, v1 + 5); /* another set: nothing happens */
    HS_CHECK_OK(aws_creds_provider_get(p, &c));
    aws_creds_free(c);
    c = NULL;
    HS_CHECK(standin_count(role) == n0 + 1);
    aws_creds_provider_invalidate(p, v1);
    HS_CHECK_OK(aws_creds_provider_get(p, &c));
    HS_CHECK(c != NULL && c->version == v1 + 1);
    aws_creds_free(c);
    c = NULL;
    HS_CHECK(standin_count(role) == n0 + 2);
    aws_creds_provider_free(p);
    /* Credentials expiring within 5 minutes are fetched on every get. */
    standin_config("{\"expiry_s\": 200}");
    HS_CHECK_OK(aws_creds_provider_new(NULL, &p));
    n0 = standin_count(role);
    for (int i = 0; i < 3; i++) {
        HS_CHECK_OK(aws_creds_provider_get(p, &c));
        HS_CHECK(c != NULL && c->expiration > time(NULL) + 100 && c->expiration < time(NULL) + 300);
        aws_creds_free(c);
        c = NULL;
    }
    HS_CHECK(standin_count(role) == n0 + 3);
    /* The refetch fails while the cached ones are still valid: they are used. */
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
    HS_CHECK_OK(aws_creds_provider_get(p, &c));
    HS_CHECK(c != NULL && strcmp(c->access_key_id, "ASIAIMDSINSTANCE0001") == 0);
    aws_creds_free(c);
    aws_creds_provider_free(p);
    standin_config("{\"expiry_s\": 3600}");
    clear_env();
}

static struct aws_creds_provider *shared_provider;

static void *get_many(void *arg)
{
    int *failures = arg;
    for (int i = 0; i < 20; i++) {
        struct aws_creds *c = NULL;
        if (hs_failed(aws_creds_provider_get(shared_provider, &c)) || c == NULL ||
            strcmp(c->access_key_id, "ASIAECSCONTAINER0001") != 0) {
            (*failures)++;
        }
        aws_creds_free(c);
    }
    return NULL;
}

HS_TEST(creds_provider_threads)
{
    clear_env();
    standin_config("{\"expiry_s\": 3600}");
    char full[600];
    snprintf(full, sizeof(full), "%s/ecs/creds", standin);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", full, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-authorization-token-123", 1);
    long n0 = standin_count("/ecs/creds");
    HS_CHECK_OK(aws_creds_provider_new(NULL, &shared_provider));
    pthread_t t[4];
    int failures[4] = {0};
    for (int i = 0; i < 4; i++) {
        HS_CHECK(pthread_create(&t[i], NULL, get_many, &failures[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        HS_CHECK(failures[i] == 0);
    }
    HS_CHECK(standin_count("/ecs/creds") == n0 + 1); /* one fetch for 80 gets */
    aws_creds_provider_free(shared_provider);
    shared_provider = NULL;
    clear_env();
}

int main(void)
{
    HS_CHECK_OK(hs_secure_init(65536));
    standin = hs_test_env("AWS_STANDIN_URL");
    const char *tmp = getenv("HSMSIGN_TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/aws_test.%ld", tmp != NULL ? tmp : "/tmp", (long)getpid());
    HS_CHECK(mkdir(dir, 0700) == 0);
    HS_CHECK_OK(aws_http_global_init(true));
    int rc = hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(ini_profiles_comments_crlf), HS_TEST_CASE(ini_config_form),
        HS_TEST_CASE(ini_refusals_and_bounds), HS_TEST_CASE(http_bounded_answers),
        HS_TEST_CASE(http_retries_and_timeouts), HS_TEST_CASE(http_headers_and_signing),
        HS_TEST_CASE(http_long_poll_and_stop), HS_TEST_CASE(creds_provider_threads),
        HS_TEST_CASE(creds_environment_and_files), HS_TEST_CASE(creds_process),
        HS_TEST_CASE(creds_sts_roles), HS_TEST_CASE(creds_container_and_imds),
        HS_TEST_CASE(creds_cache_until_five_minutes_before_expiry), HS_TEST_END});
    aws_http_global_cleanup();
    return rc;
}
