#include "aws/aws_creds.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "aws/aws_curl.h"
#include "aws/aws_http.h"
#include "aws/aws_ini.h"
#include "aws/aws_libxml.h"
#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "common/hs_json.h"
#include "common/hs_log.h"

#define AWS_ECS_BASE "http://169.254.170.2"
#define AWS_IMDS_DEFAULT "http://169.254.169.254"
#define AWS_IMDS_TOKEN_TTL "21600"
#define AWS_IMDS_TOKEN_MAX 1024
#define AWS_IMDS_ROLE_MAX 128
#define AWS_IMDS_PATH "/latest/meta-data/iam/security-credentials/"
#define AWS_STS_VERSION "2011-06-15"
#define AWS_STS_BODY_MAX (3 * HS_SECRET_LARGE_MAX + 4 * AWS_ROLE_ARN_MAX)
#define AWS_PROCESS_ARGS_MAX 64
#define AWS_PROCESS_LINE_MAX 4096
#define AWS_XML_CODE_MAX 128
#define AWS_PWBUF 16384
#define AWS_CREDS_ATTEMPTS 2 /* credentials endpoints: one retry, as the SDKs do for IMDS */
#define AWS_STS_ATTEMPTS 3

/* --- struct aws_creds -------------------------------------------------------------------------- */

void aws_creds_free(struct aws_creds *c)
{
    if (c != NULL) {
        hs_secret_free(c->secret);
        hs_secret_free(c->session_token);
        OPENSSL_clear_free(c, sizeof(*c));
    }
}

void aws_creds_freep(struct aws_creds **c)
{
    aws_creds_free(*c);
}

static void aws_set_source(struct aws_creds *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void aws_set_source(struct aws_creds *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(c->source, sizeof(c->source), fmt, ap);
    va_end(ap);
}

HS_RESULT aws_creds_from_parts(const char *id, size_t id_len, const void *secret, size_t secret_len,
                               const void *token, size_t token_len, time_t expiration,
                               struct aws_creds **out)
{
    HS_ENSURE_MSG(id != NULL && id_len >= AWS_AKID_MIN && id_len <= AWS_AKID_MAX &&
                      aws_chars_ok(id, id_len, ""),
                  HS_ERR_INPUT_CONFIG, "the access key id is not %d..%d letters and digits",
                  AWS_AKID_MIN, AWS_AKID_MAX);
    HS_ENSURE_MSG(secret != NULL && secret_len > 0 && secret_len <= HS_SECRET_MAX &&
                      aws_printable(secret, secret_len),
                  HS_ERR_INPUT_CONFIG,
                  "the secret access key is empty, longer than %d bytes or holds a space or a "
                  "control character",
                  HS_SECRET_MAX);
    HS_ENSURE_MSG(token_len <= HS_SECRET_LARGE_MAX &&
                      (token_len == 0 || aws_printable(token, token_len)),
                  HS_ERR_INPUT_CONFIG,
                  "the session token is longer than %d bytes or holds a space or a control "
                  "character",
                  HS_SECRET_LARGE_MAX);
    HS_DEFER(struct aws_creds *c = OPENSSL_zalloc(sizeof(*c)), aws_creds_freep);
    HS_ENSURE(c != NULL, HS_ERR_NOMEM);
    memcpy(c->access_key_id, id, id_len);
    HS_GUARD(hs_secret_from_bytes(secret, secret_len, &c->secret));
    if (token_len > 0) {
        HS_GUARD(hs_secret_from_bytes(token, token_len, &c->session_token));
    }
    c->expiration = expiration;
    *out = c;
    c = NULL;
    return HS_OK;
}

HS_RESULT aws_creds_dup(const struct aws_creds *c, struct aws_creds **out)
{
    HS_ENSURE_REF(c);
    const unsigned char *s = NULL;
    size_t sn = 0;
    const unsigned char *t = NULL;
    size_t tn = 0;
    hs_secret_get0(c->secret, &s, &sn);
    if (c->session_token != NULL) {
        hs_secret_get0(c->session_token, &t, &tn);
    }
    HS_DEFER(struct aws_creds *d = NULL, aws_creds_freep);
    HS_GUARD(aws_creds_from_parts(c->access_key_id, strlen(c->access_key_id), s, sn, t, tn,
                                  c->expiration, &d));
    d->version = c->version;
    memcpy(d->source, c->source, sizeof(d->source));
    *out = d;
    d = NULL;
    return HS_OK;
}

/* --- small helpers ------------------------------------------------------------------------------ */

/* The value of an environment variable, NULL when unset or empty. */
static const char *aws_env(const char *name)
{
    const char *v = secure_getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Parses an RFC 3339 UTC time ("2024-05-01T12:00:00Z", optionally with fractional seconds, or
 * "+00:00"). Errors: HS_ERR_IO naming what. */
static HS_RESULT aws_parse_time(const char *s, const char *what, time_t *out)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    HS_ENSURE_MSG(end != NULL, HS_ERR_IO, "%s: Expiration is not a time", what);
    if (*end == '.') {
        end += 1 + strspn(end + 1, "0123456789");
    }
    HS_ENSURE_MSG(strcmp(end, "Z") == 0 || strcmp(end, "+00:00") == 0, HS_ERR_IO,
                  "%s: Expiration is not in UTC", what);
    time_t t = timegm(&tm);
    HS_ENSURE_MSG(t > 0, HS_ERR_IO, "%s: Expiration is out of range", what);
    *out = t;
    return HS_OK;
}

/* Puts a parsed answer that held credentials, wiping its string values first. */
static void aws_json_wipep(json_object **doc)
{
    if (*doc != NULL && json_object_is_type(*doc, json_type_object)) {
        json_object_object_foreach(*doc, key, v)
        {
            (void)key;
            if (json_object_is_type(v, json_type_string)) {
                OPENSSL_cleanse((char *)json_object_get_string(v),
                                (size_t)json_object_get_string_len(v));
            }
        }
    }
    json_object_put(*doc);
}

/* Credentials from a JSON document: id_key/secret_key/token_key/"Expiration" (expiration
 * required when need_expiration). Errors: HS_ERR_IO naming what. */
static HS_RESULT aws_creds_from_json(const struct hs_buf *body, const char *what,
                                     const char *token_key, bool need_expiration,
                                     struct aws_creds **out)
{
    HS_DEFER(json_object *doc = NULL, aws_json_wipep);
    hs_result r = hs_json_parse_object((const char *)hs_buf_data(body), hs_buf_len(body),
                                       hs_buf_len(body) + 1, 4, &doc);
    HS_ENSURE_MSG(!hs_failed(r), HS_ERR_IO, "%s: the answer is not a JSON object", what);
    const char *id = NULL;
    const char *secret = NULL;
    const char *token = NULL;
    const char *expiration = NULL;
    r = hs_json_get_string(doc, "AccessKeyId", true, AWS_AKID_MAX, &id);
    r = hs_failed(r) ? r : hs_json_get_string(doc, "SecretAccessKey", true, HS_SECRET_MAX, &secret);
    r = hs_failed(r) ? r : hs_json_get_string(doc, token_key, false, HS_SECRET_LARGE_MAX, &token);
    r = hs_failed(r) ? r : hs_json_get_string(doc, "Expiration", need_expiration, 64, &expiration);
    HS_ENSURE_MSG(!hs_failed(r), HS_ERR_IO, "%s: %s", what, hs_error_last()->detail);
    time_t exp = 0;
    if (expiration != NULL) {
        HS_GUARD(aws_parse_time(expiration, what, &exp));
    }
    r = aws_creds_from_parts(id, strlen(id), secret, strlen(secret), token,
                             token != NULL ? strlen(token) : 0, exp, out);
    HS_ENSURE_MSG(!hs_failed(r), HS_ERR_IO, "%s: %s", what, hs_error_last()->detail);
    return HS_OK;
}

/* --- 1. the environment --------------------------------------------------------------------- */

static HS_RESULT aws_creds_env(struct aws_creds **out)
{
    const char *id = aws_env("AWS_ACCESS_KEY_ID");
    const char *secret = aws_env("AWS_SECRET_ACCESS_KEY");
    const char *token = aws_env("AWS_SESSION_TOKEN");
    HS_ENSURE_MSG(secret != NULL, HS_ERR_INPUT_CONFIG,
                  "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    HS_ENSURE_MSG(id != NULL, HS_ERR_INPUT_CONFIG,
                  "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
    hs_result r = aws_creds_from_parts(id, strlen(id), secret, strlen(secret), token,
                                       token != NULL ? strlen(token) : 0, 0, out);
    if (hs_failed(r)) {
        hs_error_add_detail(" in the AWS_* environment variables");
        return r;
    }
    aws_set_source(*out, "the environment");
    return HS_OK;
}

/* --- STS (Query protocol, XML answers) -------------------------------------------------------- */

/* The STS endpoint and the region it is signed for. */
static HS_RESULT aws_sts_endpoint(const char *region, struct hs_buf *url, const char **sign_region)
{
    const char *named = aws_env("AWS_ENDPOINT_URL_STS");
    named = named != NULL ? named : aws_env("AWS_ENDPOINT_URL");
    *sign_region = region[0] != '\0' ? region : "us-east-1";
    if (named != NULL) {
        HS_GUARD(
            aws_url_check(named, "the STS endpoint (AWS_ENDPOINT_URL_STS)", NULL, false, NULL));
        return hs_buf_put_str(url, named);
    }
    if (region[0] == '\0') {
        return hs_buf_put_str(url, "https://sts.amazonaws.com/");
    }
    HS_GUARD(hs_buf_put_str(url, "https://sts."));
    HS_GUARD(hs_buf_put_str(url, region));
    return hs_buf_put_str(url, ".amazonaws.com/");
}

/* "&name=<percent-encoded value>" onto body (sensitive). */
static HS_RESULT aws_form_add(struct hs_buf *body, const char *name, const void *value, size_t n)
{
    HS_ENSURE(n <= INT32_MAX, HS_ERR_BOUNDS);
    HS_DEFER(char *enc = aws_curl()->easy_escape(NULL, value, (int)n), hs_free_strp);
    HS_ENSURE(enc != NULL, HS_ERR_NOMEM);
    if (hs_buf_len(body) > 0) {
        HS_GUARD(hs_buf_put_byte(body, '&'));
    }
    HS_GUARD(hs_buf_put_str(body, name));
    HS_GUARD(hs_buf_put_byte(body, '='));
    hs_result r = hs_buf_put_str(body, enc);
    OPENSSL_cleanse(enc, strlen(enc));
    return r;
}

static const xmlNode *aws_xml_child(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n != NULL ? n->children : NULL; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0) {
            return c;
        }
    }
    return NULL;
}

/* The text of element n (its one text child), lent; NULL when n is absent or not simple. */
static const char *aws_xml_text(const xmlNode *n)
{
    if (n == NULL || n->children == NULL || n->children->next != NULL ||
        n->children->type != XML_TEXT_NODE) {
        return NULL;
    }
    return (const char *)n->children->content;
}

/* Wipes the content of every text node in top, its following siblings and their descendants
 * (a walk over the parent links: no recursion, whatever the nesting). */
static void aws_xml_wipe(xmlNode *top)
{
    xmlNode *n = top;
    while (n != NULL) {
        if (n->type == XML_TEXT_NODE && n->content != NULL) {
            OPENSSL_cleanse(n->content, strlen((const char *)n->content));
        }
        if (n->children != NULL) {
            n = n->children;
            continue;
        }
        while (n->next == NULL) {
            if (n->parent == top->parent) {
                return;
            }
            n = n->parent;
        }
        n = n->next;
    }
}

static void aws_xml_freep(xmlDoc **doc)
{
    if (*doc != NULL) {
        aws_xml_wipe(aws_libxml()->doc_get_root_element(*doc));
        aws_libxml()->free_doc(*doc);
    }
}

/* Parses an STS answer: <ActionResponse><ActionResult><Credentials>... or an
 * <ErrorResponse><Error><Code>. status is the HTTP status. */
static HS_RESULT aws_sts_parse(const char *action, long status, const struct hs_buf *body,
                               struct aws_creds **out)
{
    HS_ENSURE(hs_buf_len(body) <= INT32_MAX, HS_ERR_BOUNDS);
    /* No network, no entity substitution, no DTD loading; strings not interned (so they can be
     * wiped). */
    HS_DEFER(xmlDoc *doc = aws_libxml()->read_memory(
                 (const char *)hs_buf_data(body), (int)hs_buf_len(body), "sts.xml", NULL,
                 XML_PARSE_NONET | XML_PARSE_NODICT | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                     XML_PARSE_NOCDATA),
             aws_xml_freep);
    const xmlNode *root = doc != NULL ? aws_libxml()->doc_get_root_element(doc) : NULL;
    HS_ENSURE_MSG(root != NULL, HS_ERR_IO, "STS %s: HTTP %ld, the answer is not XML", action,
                  status);
    if (strcmp((const char *)root->name, "ErrorResponse") == 0 || status != 200) {
        const char *code = aws_xml_text(aws_xml_child(aws_xml_child(root, "Error"), "Code"));
        size_t n = code != NULL ? strnlen(code, AWS_XML_CODE_MAX + 1) : 0;
        bool ok = n > 0 && n <= AWS_XML_CODE_MAX && aws_chars_ok(code, n, "._-");
        HS_BAIL_MSG(HS_ERR_IO, "STS %s: HTTP %ld %s", action, status, ok ? code : "(no code)");
    }
    char result[64];
    (void)snprintf(result, sizeof(result), "%sResult", action);
    const xmlNode *creds = aws_xml_child(aws_xml_child(root, result), "Credentials");
    HS_ENSURE_MSG(creds != NULL, HS_ERR_IO, "STS %s: no %s/Credentials in the answer", action,
                  result);
    const char *id = aws_xml_text(aws_xml_child(creds, "AccessKeyId"));
    const char *secret = aws_xml_text(aws_xml_child(creds, "SecretAccessKey"));
    const char *token = aws_xml_text(aws_xml_child(creds, "SessionToken"));
    const char *exp = aws_xml_text(aws_xml_child(creds, "Expiration"));
    HS_ENSURE_MSG(id != NULL && secret != NULL && token != NULL && exp != NULL, HS_ERR_IO,
                  "STS %s: Credentials lack AccessKeyId, SecretAccessKey, SessionToken or "
                  "Expiration",
                  action);
    time_t expiration = 0;
    HS_GUARD(aws_parse_time(exp, "STS", &expiration));
    hs_result r = aws_creds_from_parts(id, strlen(id), secret, strlen(secret), token, strlen(token),
                                       expiration, out);
    HS_ENSURE_MSG(!hs_failed(r), HS_ERR_IO, "STS %s: %s", action, hs_error_last()->detail);
    return HS_OK;
}

static enum aws_http_class aws_sts_classify(void *ctx, long status, const struct hs_buf *body)
{
    (void)ctx;
    if (status >= 500 || status == 429) {
        return status == 429 ? AWS_HTTP_THROTTLE : AWS_HTTP_RETRY;
    }
    if (status == 400 && hs_buf_len(body) > 0) {
        /* <Code>Throttling</Code> and its kind: a retry after the throttling backoff. */
        static const char *const codes[] = {"<Code>Throttling</Code>",
                                            "<Code>IDPCommunicationError</Code>"};
        for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
            if (memmem(hs_buf_data(body), hs_buf_len(body), codes[i], strlen(codes[i])) != NULL) {
                return i == 0 ? AWS_HTTP_THROTTLE : AWS_HTTP_RETRY;
            }
        }
    }
    return AWS_HTTP_FINAL;
}

/* POSTs form (Action=...) to STS, signed with signer when not NULL, and parses the answer. */
static HS_RESULT aws_sts_call(const char *action, const struct hs_buf *form,
                              const struct aws_creds *signer, const char *region,
                              struct aws_creds **out)
{
    HS_DEFER(struct hs_buf *url = hs_buf_new(AWS_HTTP_URL_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *answer = hs_buf_new_sensitive(AWS_CREDS_ANSWER_MAX), hs_buf_freep);
    HS_ENSURE(url != NULL && answer != NULL, HS_ERR_NOMEM);
    const char *sign_region = NULL;
    HS_GUARD(aws_sts_endpoint(region, url, &sign_region));
    const char *url_s = NULL;
    HS_GUARD(hs_buf_cstr(url, &url_s));
    bool local = false;
    HS_GUARD(aws_url_check(url_s, "the STS endpoint", NULL, false, &local));
    struct aws_http_request req = {
        .method = "POST",
        .url = url_s,
        .protocols = "http,https",
        .headers = {"Content-Type: application/x-www-form-urlencoded; charset=utf-8"},
        .body = hs_buf_data(form),
        .body_len = hs_buf_len(form),
        .response_max = AWS_CREDS_ANSWER_MAX,
        .connect_timeout_ms = AWS_CREDS_TIMEOUT_MS,
        .timeout_ms = AWS_STS_TIMEOUT_MS,
        .no_proxy = local,
        .sigv4_region = signer != NULL ? sign_region : NULL,
        .sigv4_service = signer != NULL ? "sts" : NULL,
        .creds = signer,
        .attempts = AWS_STS_ATTEMPTS,
        .classify = aws_sts_classify,
        .log_what = action,
    };
    struct aws_http_response resp = {.body = answer};
    hs_result r = aws_http_send(NULL, &req, &resp);
    HS_ENSURE_MSG(!hs_failed(r), r.code == HS_ERR_BOUNDS ? HS_ERR_IO : r.code, "STS %s at %s: %s",
                  action, url_s, hs_error_last()->detail);
    return aws_sts_parse(action, resp.status, answer, out);
}

/* A session name: the given one, else "hsmsign-<unix time>". */
static void aws_session_name(const char *given, char out[AWS_ROLE_SESSION_NAME_MAX + 1])
{
    if (given != NULL) {
        (void)snprintf(out, AWS_ROLE_SESSION_NAME_MAX + 1, "%s", given);
    } else {
        (void)snprintf(out, AWS_ROLE_SESSION_NAME_MAX + 1, "hsmsign-%lld", (long long)time(NULL));
    }
}

static HS_RESULT aws_check_role(const char *role_arn, const char *session, const char *what)
{
    size_t n = strnlen(role_arn, AWS_ROLE_ARN_MAX + 1);
    HS_ENSURE_MSG(n >= 20 && n <= AWS_ROLE_ARN_MAX && strncmp(role_arn, "arn:", 4) == 0 &&
                      aws_printable((const unsigned char *)role_arn, n),
                  HS_ERR_INPUT_CONFIG, "%s: the role ARN is not arn:...", what);
    size_t s = strnlen(session, AWS_ROLE_SESSION_NAME_MAX + 1);
    HS_ENSURE_MSG(s >= 2 && s <= AWS_ROLE_SESSION_NAME_MAX && aws_chars_ok(session, s, "=,.@-_"),
                  HS_ERR_INPUT_CONFIG, "%s: the role session name is not 2..64 of [\\w+=,.@-]",
                  what);
    return HS_OK;
}

/* STS AssumeRoleWithWebIdentity with the token in token_file (unsigned). */
static HS_RESULT aws_creds_web_identity(const char *token_file, const char *role_arn,
                                        const char *session_given, const char *region,
                                        struct aws_creds **out)
{
    char session[AWS_ROLE_SESSION_NAME_MAX + 1];
    aws_session_name(session_given, session);
    HS_GUARD(aws_check_role(role_arn, session, "web identity"));
    HS_DEFER(struct hs_buf *token = NULL, hs_buf_freep);
    hs_result r = hs_file_read_sensitive(token_file, AWS_WEB_IDENTITY_TOKEN_MAX, &token);
    HS_ENSURE_MSG(!hs_failed(r), r.code == HS_ERR_IO ? HS_ERR_IO : HS_ERR_INPUT_CONFIG,
                  "the web identity token file %.200s cannot be read (missing, or over %d bytes)",
                  token_file, AWS_WEB_IDENTITY_TOKEN_MAX);
    size_t n = hs_buf_len(token);
    while (n > 0 && (hs_buf_data(token)[n - 1] == '\n' || hs_buf_data(token)[n - 1] == '\r')) {
        n--;
    }
    HS_ENSURE_MSG(n > 0 && aws_printable(hs_buf_data(token), n), HS_ERR_INPUT_CONFIG,
                  "the web identity token file %.200s is empty or holds a space or a control "
                  "character",
                  token_file);
    HS_DEFER(struct hs_buf *form = hs_buf_new_sensitive(AWS_STS_BODY_MAX), hs_buf_freep);
    HS_ENSURE(form != NULL, HS_ERR_NOMEM);
    HS_GUARD(aws_form_add(form, "Action", "AssumeRoleWithWebIdentity", 25));
    HS_GUARD(aws_form_add(form, "Version", AWS_STS_VERSION, strlen(AWS_STS_VERSION)));
    HS_GUARD(aws_form_add(form, "RoleArn", role_arn, strlen(role_arn)));
    HS_GUARD(aws_form_add(form, "RoleSessionName", session, strlen(session)));
    HS_GUARD(aws_form_add(form, "WebIdentityToken", hs_buf_data(token), n));
    HS_GUARD(aws_sts_call("AssumeRoleWithWebIdentity", form, NULL, region, out));
    aws_set_source(*out, "web identity (%.2048s via %.1024s)", role_arn, token_file);
    return HS_OK;
}

/* STS AssumeRole signed with signer. */
static HS_RESULT aws_creds_assume_role(const struct aws_creds *signer, const char *role_arn,
                                       const char *session_given, const char *external_id,
                                       const char *region, struct aws_creds **out)
{
    char session[AWS_ROLE_SESSION_NAME_MAX + 1];
    aws_session_name(session_given, session);
    HS_GUARD(aws_check_role(role_arn, session, "role_arn"));
    HS_DEFER(struct hs_buf *form = hs_buf_new_sensitive(AWS_STS_BODY_MAX), hs_buf_freep);
    HS_ENSURE(form != NULL, HS_ERR_NOMEM);
    HS_GUARD(aws_form_add(form, "Action", "AssumeRole", 10));
    HS_GUARD(aws_form_add(form, "Version", AWS_STS_VERSION, strlen(AWS_STS_VERSION)));
    HS_GUARD(aws_form_add(form, "RoleArn", role_arn, strlen(role_arn)));
    HS_GUARD(aws_form_add(form, "RoleSessionName", session, strlen(session)));
    if (external_id != NULL) {
        HS_ENSURE_MSG(strlen(external_id) <= 1224, HS_ERR_INPUT_CONFIG,
                      "external_id is longer than 1224 bytes");
        HS_GUARD(aws_form_add(form, "ExternalId", external_id, strlen(external_id)));
    }
    return aws_sts_call("AssumeRole", form, signer, region, out);
}

/* --- 4. container credentials ------------------------------------------------------------------ */

static const char *const aws_container_hosts[] = {"169.254.170.2", "169.254.170.23",
                                                  "[fd00:ec2::23]", NULL};

static bool aws_container_configured(void)
{
    return aws_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != NULL ||
           aws_env("AWS_CONTAINER_CREDENTIALS_FULL_URI") != NULL;
}

/* The Authorization value: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, else _TOKEN; *out NULL when
 * neither is set. */
static HS_RESULT aws_container_auth(struct hs_secret **out)
{
    const char *file = aws_env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    if (file != NULL) {
        HS_DEFER(struct hs_buf *text = NULL, hs_buf_freep);
        hs_result r = hs_file_read_sensitive(file, HS_SECRET_LARGE_MAX, &text);
        HS_ENSURE_MSG(!hs_failed(r), HS_ERR_INPUT_CONFIG,
                      "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %.200s cannot be read", file);
        size_t n = hs_buf_len(text);
        while (n > 0 && (hs_buf_data(text)[n - 1] == '\n' || hs_buf_data(text)[n - 1] == '\r')) {
            n--;
        }
        return hs_secret_from_bytes(hs_buf_data(text), n, out);
    }
    if (aws_env("AWS_CONTAINER_AUTHORIZATION_TOKEN") != NULL) {
        return hs_secret_from_env("AWS_CONTAINER_AUTHORIZATION_TOKEN", HS_SECRET_LARGE_MAX, out);
    }
    return HS_OK;
}

static HS_RESULT aws_creds_container(struct aws_creds **out)
{
    const char *relative = aws_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = aws_env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    HS_DEFER(struct hs_buf *url = hs_buf_new(AWS_HTTP_URL_MAX), hs_buf_freep);
    HS_ENSURE(url != NULL, HS_ERR_NOMEM);
    if (relative != NULL) {
        HS_ENSURE_MSG(relative[0] == '/', HS_ERR_INPUT_CONFIG,
                      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must be a path (/...)");
        HS_GUARD(hs_buf_put_str(url, AWS_ECS_BASE));
        hs_result r = hs_buf_put_str(url, relative);
        HS_ENSURE_MSG(!hs_failed(r), HS_ERR_INPUT_CONFIG,
                      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is too long");
    } else {
        hs_result r = hs_buf_put_str(url, full);
        HS_ENSURE_MSG(!hs_failed(r), HS_ERR_INPUT_CONFIG,
                      "AWS_CONTAINER_CREDENTIALS_FULL_URI is too long");
    }
    const char *url_s = NULL;
    HS_GUARD(hs_buf_cstr(url, &url_s));
    bool local = false;
    HS_GUARD(aws_url_check(url_s,
                           relative != NULL ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
                                            : "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                           aws_container_hosts, false, &local));
    HS_DEFER(struct hs_secret *auth = NULL, hs_secret_freep);
    HS_GUARD(aws_container_auth(&auth));
    HS_DEFER(struct hs_buf *answer = hs_buf_new_sensitive(AWS_CREDS_ANSWER_MAX), hs_buf_freep);
    HS_ENSURE(answer != NULL, HS_ERR_NOMEM);
    struct aws_http_request req = {
        .method = "GET",
        .url = url_s,
        .protocols = "http,https",
        .headers = {"Accept: application/json"},
        .secret_header = {auth != NULL ? "Authorization" : NULL, auth},
        .response_max = AWS_CREDS_ANSWER_MAX,
        .connect_timeout_ms = AWS_CREDS_CONNECT_TIMEOUT_MS,
        .timeout_ms = AWS_CREDS_TIMEOUT_MS,
        .no_proxy = true, /* a link-local or loopback endpoint: never through a proxy */
        .attempts = AWS_CREDS_ATTEMPTS,
        .log_what = "container-credentials",
    };
    struct aws_http_response resp = {.body = answer};
    hs_result r = aws_http_send(NULL, &req, &resp);
    HS_ENSURE_MSG(!hs_failed(r), HS_ERR_IO, "container credentials endpoint: %s",
                  hs_error_last()->detail);
    HS_ENSURE_MSG(resp.status == 200, HS_ERR_IO, "container credentials endpoint answered HTTP %ld",
                  resp.status);
    HS_GUARD(aws_creds_from_json(answer, "container credentials", "Token", true, out));
    aws_set_source(*out, "container credentials (%.1024s)", url_s);
    return HS_OK;
}

/* --- 5. EC2 instance metadata (IMDSv2) ----------------------------------------------------------- */

static const char *const aws_imds_hosts[] = {"169.254.169.254", "[fd00:ec2::254]", NULL};

static bool aws_imds_disabled(void)
{
    const char *v = aws_env("AWS_EC2_METADATA_DISABLED");
    return v != NULL && strcasecmp(v, "true") == 0;
}

/* base (without trailing '/') + path into url. */
static HS_RESULT aws_imds_url(const char *base, const char *path, const char *tail,
                              struct hs_buf *url, const char **out)
{
    hs_buf_reset(url);
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/') {
        n--;
    }
    HS_GUARD(hs_buf_put(url, base, n));
    HS_GUARD(hs_buf_put_str(url, path));
    HS_GUARD(hs_buf_put_str(url, tail));
    return hs_buf_cstr(url, out);
}

static HS_RESULT aws_imds_call(const char *method, const char *url, const char *extra,
                               const struct hs_secret *token, struct hs_buf *answer, long *status)
{
    struct aws_http_request req = {
        .method = method,
        .url = url,
        .protocols = "http,https",
        .headers = {extra},
        .secret_header = {token != NULL ? "X-aws-ec2-metadata-token" : NULL, token},
        .response_max = hs_buf_max(answer),
        .connect_timeout_ms = AWS_CREDS_CONNECT_TIMEOUT_MS,
        .timeout_ms = AWS_CREDS_TIMEOUT_MS,
        .no_proxy = true,
        .attempts = AWS_CREDS_ATTEMPTS,
        .log_what = "imds",
    };
    struct aws_http_response resp = {.body = answer};
    hs_result r = aws_http_send(NULL, &req, &resp);
    HS_ENSURE_MSG(!hs_failed(r), HS_ERR_IO, "instance metadata (%s): %s", method,
                  hs_error_last()->detail);
    *status = resp.status;
    return HS_OK;
}

static HS_RESULT aws_creds_imds(struct aws_creds **out)
{
    const char *base = aws_env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    base = base != NULL ? base : AWS_IMDS_DEFAULT;
    HS_GUARD(aws_url_check(base, "AWS_EC2_METADATA_SERVICE_ENDPOINT", aws_imds_hosts, false, NULL));
    HS_DEFER(struct hs_buf *url = hs_buf_new(AWS_HTTP_URL_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *tok = hs_buf_new_sensitive(AWS_IMDS_TOKEN_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *role = hs_buf_new(AWS_IMDS_ROLE_MAX + 2), hs_buf_freep);
    HS_DEFER(struct hs_buf *answer = hs_buf_new_sensitive(AWS_CREDS_ANSWER_MAX), hs_buf_freep);
    HS_ENSURE(url != NULL && tok != NULL && role != NULL && answer != NULL, HS_ERR_NOMEM);
    const char *u = NULL;
    long status = 0;
    HS_GUARD(aws_imds_url(base, "/latest/api/token", "", url, &u));
    HS_GUARD(aws_imds_call("PUT", u, "X-aws-ec2-metadata-token-ttl-seconds: " AWS_IMDS_TOKEN_TTL,
                           NULL, tok, &status));
    HS_ENSURE_MSG(status == 200 && hs_buf_len(tok) > 0 &&
                      aws_printable(hs_buf_data(tok), hs_buf_len(tok)),
                  HS_ERR_IO,
                  "instance metadata: PUT /latest/api/token answered HTTP %ld (IMDSv2 "
                  "only)",
                  status);
    HS_DEFER(struct hs_secret *token = NULL, hs_secret_freep);
    HS_GUARD(hs_secret_from_bytes(hs_buf_data(tok), hs_buf_len(tok), &token));
    HS_GUARD(aws_imds_url(base, AWS_IMDS_PATH, "", url, &u));
    hs_result r = aws_imds_call("GET", u, NULL, token, role, &status);
    HS_ENSURE_MSG(r.code != HS_ERR_BOUNDS, HS_ERR_IO,
                  "instance metadata: the role name is over %d "
                  "bytes",
                  AWS_IMDS_ROLE_MAX);
    HS_GUARD(r);
    HS_ENSURE_MSG(status == 200, HS_ERR_IO,
                  "instance metadata: no IAM role (GET %s answered HTTP %ld)", AWS_IMDS_PATH,
                  status);
    size_t n = hs_buf_len(role);
    while (n > 0 && (hs_buf_data(role)[n - 1] == '\n' || hs_buf_data(role)[n - 1] == '\r')) {
        n--;
    }
    char name[AWS_IMDS_ROLE_MAX + 1];
    HS_ENSURE_MSG(n > 0 && n <= AWS_IMDS_ROLE_MAX &&
                      aws_chars_ok((const char *)hs_buf_data(role), n, "+=,.@_-"),
                  HS_ERR_IO, "instance metadata: the role name is not an IAM role name");
    memcpy(name, hs_buf_data(role), n);
    name[n] = '\0';
    HS_GUARD(aws_imds_url(base, AWS_IMDS_PATH, name, url, &u));
    HS_GUARD(aws_imds_call("GET", u, "Accept: application/json", token, answer, &status));
    HS_ENSURE_MSG(status == 200, HS_ERR_IO, "instance metadata: role credentials answered HTTP %ld",
                  status);
    HS_GUARD(aws_creds_from_json(answer, "instance metadata", "Token", true, out));
    aws_set_source(*out, "instance metadata (role %s at %.512s)", name, base);
    return HS_OK;
}

/* --- credential_process ------------------------------------------------------------------------ */

/* Splits a command line as a POSIX shell would split words (no expansion): blanks separate,
 * '...' is literal, "..." keeps blanks and honours \" \\ \$ \`, a backslash outside quotes
 * escapes the next character. The words go into buf (NUL-separated), pointers into argv. */
static HS_RESULT aws_split_command(const char *cmd, char *buf, size_t cap, char **argv,
                                   size_t argv_max)
{
    size_t argc = 0;
    size_t w = 0;
    bool in_word = false;
    char quote = 0;
    for (const char *p = cmd;; p++) {
        char c = *p;
        HS_ENSURE_MSG(c == '\0' || (unsigned char)c >= 0x20 || c == '\t', HS_ERR_INPUT_CONFIG,
                      "credential_process holds a control character");
        bool end_word = c == '\0' || (quote == 0 && (c == ' ' || c == '\t'));
        if (end_word) {
            HS_ENSURE_MSG(c != '\0' || quote == 0, HS_ERR_INPUT_CONFIG,
                          "credential_process has an unterminated quote");
            if (in_word) {
                HS_ENSURE_MSG(w < cap && argc < argv_max, HS_ERR_INPUT_CONFIG,
                              "credential_process is too long or has too many words");
                buf[w++] = '\0';
                argc++;
                in_word = false;
            }
            if (c == '\0') {
                break;
            }
            continue;
        }
        if (!in_word) {
            HS_ENSURE_MSG(argc < argv_max, HS_ERR_INPUT_CONFIG,
                          "credential_process has more than %zu words", argv_max - 1);
            argv[argc] = buf + w;
            in_word = true;
        }
        if (quote == 0 && (c == '\'' || c == '"')) {
            quote = c;
            continue;
        }
        if (quote == c) {
            quote = 0;
            continue;
        }
        if (c == '\\' && quote != '\'' && p[1] != '\0' &&
            (quote == 0 || strchr("\"\\$`", p[1]) != NULL)) {
            c = *++p;
        }
        HS_ENSURE_MSG(w + 1 < cap, HS_ERR_INPUT_CONFIG, "credential_process is too long");
        buf[w++] = c;
    }
    HS_ENSURE_MSG(argc > 0 && argc < argv_max, HS_ERR_INPUT_CONFIG, "credential_process is empty");
    argv[argc] = NULL;
    return HS_OK;
}

static int64_t aws_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the child's stdout from fd into out until EOF, the bound or the deadline. */
static HS_RESULT aws_process_read(int fd, struct hs_buf *out, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - aws_now_ms();
        HS_ENSURE_MSG(left > 0, HS_ERR_IO, "credential_process did not finish within %d ms",
                      AWS_CREDS_PROCESS_TIMEOUT_MS);
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, (int)(left < 1000 ? left : 1000));
        if (pr < 0 && errno == EINTR) {
            continue;
        }
        HS_ENSURE_MSG(pr >= 0, HS_ERR_IO, "credential_process: poll failed");
        if (pr == 0) {
            continue;
        }
        unsigned char chunk[4096];
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        HS_ENSURE_MSG(n >= 0, HS_ERR_IO, "credential_process: reading its output failed");
        if (n == 0) {
            return HS_OK;
        }
        hs_result r = hs_buf_put(out, chunk, (size_t)n);
        OPENSSL_cleanse(chunk, sizeof(chunk));
        HS_ENSURE_MSG(!hs_failed(r), HS_ERR_IO, "credential_process printed more than %d bytes",
                      AWS_CREDS_PROCESS_OUTPUT_MAX);
    }
}

static void aws_close_fdp(const int *fd)
{
    if (*fd >= 0) {
        close(*fd);
    }
}

/* Closes *fd now (the child holds its copy) and marks it closed for aws_close_fdp. */
static void aws_close_now(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
    }
    *fd = -1;
}

/* Waits for pid (killing it first when kill_it); returns its wait status. */
static int aws_process_reap(pid_t pid, bool kill_it)
{
    if (kill_it) {
        kill(pid, SIGKILL);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

/* Runs cmd (no shell) and reads its standard output into out. */
static HS_RESULT aws_process_run(const char *cmd, struct hs_buf *out)
{
    char buf[AWS_PROCESS_LINE_MAX];
    char *argv[AWS_PROCESS_ARGS_MAX + 1];
    HS_ENSURE_MSG(strnlen(cmd, AWS_PROCESS_LINE_MAX) < AWS_PROCESS_LINE_MAX, HS_ERR_INPUT_CONFIG,
                  "credential_process is longer than %d bytes", AWS_PROCESS_LINE_MAX - 1);
    HS_GUARD(aws_split_command(cmd, buf, sizeof(buf), argv, AWS_PROCESS_ARGS_MAX + 1));
    int fds[2];
    HS_ENSURE_MSG(pipe2(fds, O_CLOEXEC) == 0, HS_ERR_IO, "credential_process: pipe failed");
    HS_DEFER(int rd = fds[0], aws_close_fdp);
    HS_DEFER(int wr = fds[1], aws_close_fdp);
    posix_spawn_file_actions_t fa;
    HS_ENSURE(posix_spawn_file_actions_init(&fa) == 0, HS_ERR_NOMEM);
    int rc = posix_spawn_file_actions_adddup2(&fa, wr, STDOUT_FILENO);
    pid_t pid = -1;
    if (rc == 0) {
        rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    }
    posix_spawn_file_actions_destroy(&fa);
    HS_ENSURE_MSG(rc == 0, HS_ERR_INPUT_CONFIG, "credential_process: %.200s cannot be run: %s",
                  argv[0], strerror(rc));
    aws_close_now(&wr);
    hs_result r = aws_process_read(rd, out, aws_now_ms() + AWS_CREDS_PROCESS_TIMEOUT_MS);
    int status = aws_process_reap(pid, hs_failed(r));
    HS_GUARD(r);
    HS_ENSURE_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, HS_ERR_IO,
                  "credential_process %.200s failed (exit status %d)", argv[0],
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return HS_OK;
}

static HS_RESULT aws_creds_process(const char *cmd, const char *profile, struct aws_creds **out)
{
    HS_DEFER(struct hs_buf *output = hs_buf_new_sensitive(AWS_CREDS_PROCESS_OUTPUT_MAX),
             hs_buf_freep);
    HS_ENSURE(output != NULL, HS_ERR_NOMEM);
    HS_GUARD(aws_process_run(cmd, output));
    HS_DEFER(json_object *doc = NULL, aws_json_wipep);
    hs_result r = hs_json_parse_object((const char *)hs_buf_data(output), hs_buf_len(output),
                                       AWS_CREDS_PROCESS_OUTPUT_MAX, 4, &doc);
    HS_ENSURE_MSG(!hs_failed(r), HS_ERR_IO, "credential_process: the output is not a JSON object");
    int64_t version = 0;
    r = hs_json_get_int(doc, "Version", true, 1, 1, 0, &version);
    HS_ENSURE_MSG(!hs_failed(r), HS_ERR_IO, "credential_process: Version must be 1");
    HS_GUARD(aws_creds_from_json(output, "credential_process", "SessionToken", false, out));
    aws_set_source(*out, "credential_process of profile [%.128s]", profile);
    return HS_OK;
}

/* --- 3. the shared files ----------------------------------------------------------------------- */

/* Appends the home directory: $HOME, else the password database's. */
static HS_RESULT aws_put_home(struct hs_buf *b)
{
    const char *home = aws_env("HOME");
    if (home != NULL) {
        return hs_buf_put_str(b, home);
    }
    char pwbuf[AWS_PWBUF];
    struct passwd pw;
    struct passwd *found = NULL;
    HS_ENSURE_MSG(getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &found) == 0 && found != NULL,
                  HS_ERR_INPUT_CONFIG, "no home directory ($HOME is not set)");
    return hs_buf_put_str(b, pw.pw_dir);
}

/* $env (a leading "~/" is the home directory), else ~/dflt; NUL-terminated into path. */
static HS_RESULT aws_file_path(const char *env, const char *dflt, struct hs_buf *path,
                               const char **out)
{
    const char *named = aws_env(env);
    if (named != NULL && strncmp(named, "~/", 2) != 0) {
        HS_GUARD(hs_buf_put_str(path, named));
    } else {
        HS_GUARD(aws_put_home(path));
        HS_GUARD(hs_buf_put_str(path, named != NULL ? named + 1 : dflt));
    }
    return hs_buf_cstr(path, out);
}

/* Both files, read once for one resolution. */
struct aws_files {
    struct hs_buf *config_path;
    struct hs_buf *creds_path;
    const char *config_name;
    const char *creds_name;
    struct hs_buf *config; /* NULL when the file does not exist */
    struct hs_buf *creds;
};

static void aws_files_clear(struct aws_files *f)
{
    hs_buf_free(f->config_path);
    hs_buf_free(f->creds_path);
    hs_buf_free(f->config);
    hs_buf_free(f->creds);
    memset(f, 0, sizeof(*f));
}

static HS_RESULT aws_file_load(const char *path, struct hs_buf **out)
{
    hs_result r = hs_file_read_sensitive(path, AWS_INI_FILE_MAX, out);
    if (r.code == HS_ERR_INPUT_NOT_FOUND) {
        return HS_OK;
    }
    if (hs_failed(r)) {
        hs_error_add_detail(" (%.200s)", path);
    }
    return r;
}

static HS_RESULT aws_files_load(struct aws_files *f)
{
    f->config_path = hs_buf_new(AWS_PATH_MAX);
    f->creds_path = hs_buf_new(AWS_PATH_MAX);
    HS_ENSURE(f->config_path != NULL && f->creds_path != NULL, HS_ERR_NOMEM);
    HS_GUARD(aws_file_path("AWS_CONFIG_FILE", "/.aws/config", f->config_path, &f->config_name));
    HS_GUARD(aws_file_path("AWS_SHARED_CREDENTIALS_FILE", "/.aws/credentials", f->creds_path,
                           &f->creds_name));
    HS_GUARD(aws_file_load(f->config_name, &f->config));
    return aws_file_load(f->creds_name, &f->creds);
}

/* One profile from both files; values lent from the files' buffers. */
struct aws_profile {
    char name[AWS_INI_PROFILE_MAX + 1];
    struct aws_ini_profile config;
    struct aws_ini_profile creds;
};

/* Parses profile name out of one file (none when file is NULL); a failure names the file. */
static HS_RESULT aws_profile_parse_file(const struct hs_buf *file, const char *file_name,
                                        enum aws_ini_form form, const char *name,
                                        struct aws_ini_profile *out)
{
    if (file == NULL) {
        return HS_OK;
    }
    hs_result r = aws_ini_parse(hs_buf_data(file), hs_buf_len(file), form, name, out);
    if (hs_failed(r)) {
        hs_error_add_detail(" in %.200s", file_name);
    }
    return r;
}

static HS_RESULT aws_profile_parse(const struct aws_files *f, const char *name,
                                   struct aws_profile *p)
{
    HS_GUARD(aws_ini_profile_check(name));
    memset(p, 0, sizeof(*p));
    memcpy(p->name, name, strlen(name) + 1);
    HS_GUARD(aws_profile_parse_file(f->config, f->config_name, AWS_INI_CONFIG, name, &p->config));
    HS_GUARD(aws_profile_parse_file(f->creds, f->creds_name, AWS_INI_CREDENTIALS, name, &p->creds));
    return HS_OK;
}

static bool aws_profile_found(const struct aws_profile *p)
{
    return p->config.found || p->creds.found;
}

/* A property: the credentials file's, else the config file's (n == 0: none). */
static struct aws_ini_span aws_profile_get(const struct aws_profile *p, enum aws_ini_key k)
{
    return p->creds.v[k].n > 0 ? p->creds.v[k] : p->config.v[k];
}

/* A property as a NUL-terminated string in buf (cap bytes); NULL when absent. */
static HS_RESULT aws_profile_str(const struct aws_profile *p, enum aws_ini_key k, char *buf,
                                 size_t cap, const char **out)
{
    struct aws_ini_span v = aws_profile_get(p, k);
    *out = NULL;
    if (v.n == 0) {
        return HS_OK;
    }
    HS_ENSURE_MSG(v.n < cap, HS_ERR_INPUT_CONFIG, "profile [%s]: %s is longer than %zu bytes",
                  p->name, aws_ini_key_name(k), cap - 1);
    memcpy(buf, v.p, v.n);
    buf[v.n] = '\0';
    *out = buf;
    return HS_OK;
}

static HS_RESULT aws_profile_static(const struct aws_profile *p, const struct aws_files *f,
                                    struct aws_creds **out)
{
    struct aws_ini_span id = aws_profile_get(p, AWS_INI_ACCESS_KEY_ID);
    struct aws_ini_span secret = aws_profile_get(p, AWS_INI_SECRET_ACCESS_KEY);
    struct aws_ini_span token = aws_profile_get(p, AWS_INI_SESSION_TOKEN);
    token = token.n > 0 ? token : aws_profile_get(p, AWS_INI_SECURITY_TOKEN);
    hs_result r = aws_creds_from_parts((const char *)id.p, id.n, secret.p, secret.n, token.p,
                                       token.n, 0, out);
    if (hs_failed(r)) {
        hs_error_add_detail(" in profile [%s]", p->name);
        return r;
    }
    bool in_creds = p->creds.v[AWS_INI_ACCESS_KEY_ID].n > 0;
    aws_set_source(*out, "%.2048s, profile [%.128s]", in_creds ? f->creds_name : f->config_name,
                   p->name);
    return HS_OK;
}

static HS_RESULT aws_profile_creds(const struct aws_files *f, const char *name, const char *region,
                                   int depth, struct aws_creds **out);

/* web_identity_token_file (a leading "~/" is the home directory) with role_arn. */
static HS_RESULT aws_profile_web_identity(const char *webfile, const char *role,
                                          const char *session, const char *region,
                                          struct aws_creds **out)
{
    HS_DEFER(struct hs_buf *path = hs_buf_new(AWS_PATH_MAX), hs_buf_freep);
    HS_ENSURE(path != NULL, HS_ERR_NOMEM);
    if (strncmp(webfile, "~/", 2) == 0) {
        HS_GUARD(aws_put_home(path));
        webfile++;
    }
    HS_GUARD(hs_buf_put_str(path, webfile));
    HS_GUARD(hs_buf_cstr(path, &webfile));
    return aws_creds_web_identity(webfile, role, session, region, out);
}

/* The credentials that sign a role profile's AssumeRole: its source_profile's (source) or its
 * credential_source's (csource); exactly one is non-NULL. */
/* NOLINTNEXTLINE(misc-no-recursion): source_profile links stop at AWS_ASSUME_ROLE_DEPTH_MAX */
static HS_RESULT aws_profile_role_signer(const struct aws_files *f, const struct aws_profile *p,
                                         const char *source, const char *csource,
                                         const char *region, int depth, struct aws_creds **out)
{
    if (source != NULL) {
        HS_ENSURE_MSG(depth < AWS_ASSUME_ROLE_DEPTH_MAX, HS_ERR_INPUT_CONFIG,
                      "profile [%s]: source_profile links more than %d deep (a loop?)", p->name,
                      AWS_ASSUME_ROLE_DEPTH_MAX);
        /* A profile that names itself uses its own static keys (as the SDKs allow). */
        if (strcmp(source, p->name) == 0) {
            return aws_profile_static(p, f, out);
        }
        return aws_profile_creds(f, source, region, depth + 1, out);
    }
    if (strcmp(csource, "Environment") == 0) {
        return aws_creds_env(out);
    }
    if (strcmp(csource, "EcsContainer") == 0) {
        return aws_creds_container(out);
    }
    if (strcmp(csource, "Ec2InstanceMetadata") == 0) {
        return aws_creds_imds(out);
    }
    HS_BAIL_MSG(HS_ERR_INPUT_CONFIG,
                "profile [%s]: credential_source must be Environment, EcsContainer or "
                "Ec2InstanceMetadata",
                p->name);
}

/* role_arn with source_profile, credential_source or web_identity_token_file. */
/* NOLINTNEXTLINE(misc-no-recursion): source_profile links stop at AWS_ASSUME_ROLE_DEPTH_MAX */
static HS_RESULT aws_profile_role(const struct aws_files *f, const struct aws_profile *p,
                                  const char *region, int depth, struct aws_creds **out)
{
    char role[AWS_ROLE_ARN_MAX + 1];
    char source[AWS_INI_PROFILE_MAX + 1];
    char session[AWS_ROLE_SESSION_NAME_MAX + 1];
    char external[1300];
    char csource[64];
    char webfile[AWS_PATH_MAX];
    const char *role_s = NULL;
    const char *source_s = NULL;
    const char *session_s = NULL;
    const char *external_s = NULL;
    const char *csource_s = NULL;
    const char *webfile_s = NULL;
    HS_GUARD(aws_profile_str(p, AWS_INI_ROLE_ARN, role, sizeof(role), &role_s));
    HS_GUARD(aws_profile_str(p, AWS_INI_SOURCE_PROFILE, source, sizeof(source), &source_s));
    HS_GUARD(aws_profile_str(p, AWS_INI_ROLE_SESSION_NAME, session, sizeof(session), &session_s));
    HS_GUARD(aws_profile_str(p, AWS_INI_EXTERNAL_ID, external, sizeof(external), &external_s));
    HS_GUARD(aws_profile_str(p, AWS_INI_CREDENTIAL_SOURCE, csource, sizeof(csource), &csource_s));
    HS_GUARD(
        aws_profile_str(p, AWS_INI_WEB_IDENTITY_TOKEN_FILE, webfile, sizeof(webfile), &webfile_s));
    if (webfile_s != NULL) {
        return aws_profile_web_identity(webfile_s, role_s, session_s, region, out);
    }
    HS_ENSURE_MSG((source_s != NULL) != (csource_s != NULL), HS_ERR_INPUT_CONFIG,
                  "profile [%s]: role_arn needs exactly one of source_profile and "
                  "credential_source",
                  p->name);
    HS_DEFER(struct aws_creds *signer = NULL, aws_creds_freep);
    HS_GUARD(aws_profile_role_signer(f, p, source_s, csource_s, region, depth, &signer));
    HS_GUARD(aws_creds_assume_role(signer, role_s, session_s, external_s, region, out));
    aws_set_source(*out, "role %.2048s assumed with profile [%.128s]", role_s, p->name);
    return HS_OK;
}

/* The credentials of profile name (depth: source_profile links followed so far). */
/* NOLINTNEXTLINE(misc-no-recursion): source_profile links stop at AWS_ASSUME_ROLE_DEPTH_MAX */
static HS_RESULT aws_profile_creds(const struct aws_files *f, const char *name, const char *region,
                                   int depth, struct aws_creds **out)
{
    struct aws_profile p;
    HS_GUARD(aws_profile_parse(f, name, &p));
    HS_ENSURE_MSG(aws_profile_found(&p), HS_ERR_INPUT_NOT_FOUND,
                  "no profile [%.128s] in %.200s or %.200s", name, f->creds_name, f->config_name);
    if (aws_profile_get(&p, AWS_INI_ROLE_ARN).n > 0) {
        return aws_profile_role(f, &p, region, depth, out);
    }
    bool has_id = aws_profile_get(&p, AWS_INI_ACCESS_KEY_ID).n > 0;
    bool has_secret = aws_profile_get(&p, AWS_INI_SECRET_ACCESS_KEY).n > 0;
    if (has_id && has_secret) {
        return aws_profile_static(&p, f, out);
    }
    HS_ENSURE_MSG(!has_id && !has_secret, HS_ERR_INPUT_CONFIG,
                  "profile [%s] has no aws_access_key_id and aws_secret_access_key (only one)",
                  name);
    char cmd[AWS_PROCESS_LINE_MAX];
    const char *cmd_s = NULL;
    HS_GUARD(aws_profile_str(&p, AWS_INI_CREDENTIAL_PROCESS, cmd, sizeof(cmd), &cmd_s));
    if (cmd_s != NULL) {
        hs_result r = aws_creds_process(cmd_s, name, out);
        OPENSSL_cleanse(cmd, sizeof(cmd));
        return r;
    }
    HS_ENSURE_MSG(aws_profile_get(&p, AWS_INI_SSO_START_URL).n == 0 &&
                      aws_profile_get(&p, AWS_INI_SSO_SESSION).n == 0,
                  HS_ERR_INPUT_CONFIG,
                  "profile [%s] is an sso profile (sso_start_url, sso_session), which is not "
                  "supported: use `aws configure export-credentials` in a credential_process",
                  name);
    HS_BAIL_MSG(HS_ERR_INPUT_CONFIG,
                "profile [%s] has no aws_access_key_id and aws_secret_access_key, role_arn or "
                "credential_process",
                name);
}

/* Whether the profile exists and sets any way to credentials (a [default] with only a region
 * does not: the chain goes on to the container and instance metadata, as in the SDKs). A file
 * that does not parse counts as having them, so that its error is reported. */
static bool aws_profile_has_creds(const struct aws_files *f, const char *name)
{
    static const enum aws_ini_key keys[] = {
        AWS_INI_ACCESS_KEY_ID,      AWS_INI_SECRET_ACCESS_KEY,       AWS_INI_ROLE_ARN,
        AWS_INI_CREDENTIAL_PROCESS, AWS_INI_WEB_IDENTITY_TOKEN_FILE, AWS_INI_SSO_START_URL,
        AWS_INI_SSO_SESSION,
    };
    struct aws_profile p;
    if (hs_failed(aws_profile_parse(f, name, &p))) {
        return true;
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (aws_profile_get(&p, keys[i]).n > 0) {
            return true;
        }
    }
    return false;
}

/* The profile's region (config file only); "" when none. */
static HS_RESULT aws_profile_region(const struct aws_files *f, const char *name,
                                    char out[AWS_REGION_MAX + 1])
{
    struct aws_profile p;
    out[0] = '\0';
    HS_GUARD(aws_profile_parse(f, name, &p));
    struct aws_ini_span v = p.config.v[AWS_INI_REGION];
    if (v.n == 0) {
        return HS_OK;
    }
    HS_ENSURE_MSG(v.n <= AWS_REGION_MAX && aws_chars_ok((const char *)v.p, v.n, "-"),
                  HS_ERR_INPUT_CONFIG, "profile [%s] in %.200s: region is not 1..%d of [a-z0-9-]",
                  name, f->config_name, AWS_REGION_MAX);
    memcpy(out, v.p, v.n);
    out[v.n] = '\0';
    return HS_OK;
}

static HS_RESULT aws_region_check(const char *v, const char *what, char out[AWS_REGION_MAX + 1])
{
    size_t n = strnlen(v, AWS_REGION_MAX + 1);
    HS_ENSURE_MSG(n > 0 && n <= AWS_REGION_MAX && aws_chars_ok(v, n, "-"), HS_ERR_INPUT_CONFIG,
                  "%s is not 1..%d of [a-z0-9-]", what, AWS_REGION_MAX);
    memcpy(out, v, n + 1);
    return HS_OK;
}

static const char *aws_profile_name(const char *given)
{
    const char *env = aws_env("AWS_PROFILE");
    return given != NULL ? given : env != NULL ? env : "default";
}

HS_RESULT aws_region_resolve(const char *profile, char out[AWS_REGION_MAX + 1])
{
    HS_ENSURE_REF(out);
    out[0] = '\0';
    const char *v = aws_env("AWS_REGION");
    if (v != NULL) {
        return aws_region_check(v, "AWS_REGION", out);
    }
    v = aws_env("AWS_DEFAULT_REGION");
    if (v != NULL) {
        return aws_region_check(v, "AWS_DEFAULT_REGION", out);
    }
    const char *name = aws_profile_name(profile);
    HS_GUARD(aws_ini_profile_check(name));
    HS_DEFER(struct aws_files f = {0}, aws_files_clear);
    HS_GUARD(aws_files_load(&f));
    return aws_profile_region(&f, name, out);
}

/* --- the chain -------------------------------------------------------------------------------- */

/* The last max bytes of s (a long path keeps its file name). */
static const char *aws_tail(const char *s, size_t max)
{
    size_t n = strlen(s);
    return n > max ? s + (n - max) : s;
}

static HS_RESULT aws_chain(const struct aws_creds_options *opt, const char **source,
                           struct aws_creds **out)
{
    bool explicit = opt->profile != NULL || aws_env("AWS_PROFILE") != NULL;
    if (!opt->profile_only) {
        if (aws_env("AWS_ACCESS_KEY_ID") != NULL || aws_env("AWS_SECRET_ACCESS_KEY") != NULL) {
            *source = "environment";
            return aws_creds_env(out);
        }
        const char *token_file = aws_env("AWS_WEB_IDENTITY_TOKEN_FILE");
        const char *role = aws_env("AWS_ROLE_ARN");
        if (token_file != NULL || role != NULL) {
            HS_ENSURE_MSG(token_file != NULL && role != NULL, HS_ERR_INPUT_CONFIG,
                          "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN go together");
            char region[AWS_REGION_MAX + 1];
            HS_GUARD(aws_region_resolve(opt->profile, region));
            *source = "web-identity";
            return aws_creds_web_identity(token_file, role, aws_env("AWS_ROLE_SESSION_NAME"),
                                          region, out);
        }
    }
    const char *name = aws_profile_name(opt->profile);
    HS_DEFER(struct aws_files f = {0}, aws_files_clear);
    HS_GUARD(aws_files_load(&f));
    char region[AWS_REGION_MAX + 1];
    HS_GUARD(aws_region_resolve(opt->profile, region));
    if (explicit || aws_profile_has_creds(&f, name)) {
        *source = "profile";
        return aws_profile_creds(&f, name, region, 0, out);
    }
    if (aws_container_configured()) {
        *source = "container";
        return aws_creds_container(out);
    }
    if (!aws_imds_disabled()) {
        hs_result r = aws_creds_imds(out);
        if (!hs_failed(r)) {
            *source = "imds";
            return r;
        }
        /* The detail holds 200 bytes: what matters first. */
        char why[72];
        (void)snprintf(why, sizeof(why), "%.71s", hs_error_last()->detail);
        HS_BAIL_MSG(HS_ERR_INPUT_CONFIG,
                    "no credentials (%s): none in the environment or the container, no profile "
                    "[%.32s] in %s",
                    why, name, aws_tail(f.creds_name, 60));
    }
    HS_BAIL_MSG(HS_ERR_INPUT_CONFIG,
                "no credentials (instance metadata off: AWS_EC2_METADATA_DISABLED): none in the "
                "environment or the container, no profile [%.32s] in %s",
                name, aws_tail(f.creds_name, 60));
}

/* --- the provider (cache) ---------------------------------------------------------------------- */

struct aws_creds_provider {
    struct aws_creds_options opt;
    char profile[AWS_INI_PROFILE_MAX + 1];
    bool fixed;                   /* static: never refetched */
    pthread_mutex_t refresh_lock; /* one fetch at a time */
    pthread_mutex_t lock;         /* guards the fields below */
    struct aws_creds *cached;
    uint64_t version;
    const char *source;
};

static struct aws_creds_provider *aws_provider_alloc(void)
{
    struct aws_creds_provider *p = OPENSSL_zalloc(sizeof(*p));
    if (p != NULL) {
        pthread_mutex_init(&p->refresh_lock, NULL);
        pthread_mutex_init(&p->lock, NULL);
        p->source = "none";
    }
    return p;
}

void aws_creds_provider_free(struct aws_creds_provider *p)
{
    if (p != NULL) {
        aws_creds_free(p->cached);
        pthread_mutex_destroy(&p->refresh_lock);
        pthread_mutex_destroy(&p->lock);
        OPENSSL_clear_free(p, sizeof(*p));
    }
}

void aws_creds_provider_freep(struct aws_creds_provider **p)
{
    aws_creds_provider_free(*p);
}

HS_RESULT aws_creds_provider_new(const struct aws_creds_options *opt,
                                 struct aws_creds_provider **out)
{
    HS_ENSURE_REF(out);
    HS_DEFER(struct aws_creds_provider *p = aws_provider_alloc(), aws_creds_provider_freep);
    HS_ENSURE(p != NULL, HS_ERR_NOMEM);
    if (opt != NULL) {
        p->opt = *opt;
        if (opt->profile != NULL) {
            HS_GUARD(aws_ini_profile_check(opt->profile));
            memcpy(p->profile, opt->profile, strlen(opt->profile) + 1);
            p->opt.profile = p->profile;
        }
    }
    *out = p;
    p = NULL;
    return HS_OK;
}

HS_RESULT aws_creds_provider_static(const struct aws_creds *c, struct aws_creds_provider **out)
{
    HS_ENSURE_REF(out);
    HS_DEFER(struct aws_creds_provider *p = aws_provider_alloc(), aws_creds_provider_freep);
    HS_ENSURE(p != NULL, HS_ERR_NOMEM);
    HS_GUARD(aws_creds_dup(c, &p->cached));
    p->cached->expiration = 0;
    p->cached->version = p->version = 1;
    p->fixed = true;
    p->source = "static";
    *out = p;
    p = NULL;
    return HS_OK;
}

/* Whether the cache needs a fetch now; *usable when the cached set may still be used. */
static bool aws_provider_due(struct aws_creds_provider *p, time_t now, bool *usable)
{
    HS_DEFER(pthread_mutex_t *held = hs_mutex_lock(&p->lock), hs_mutex_unlockp);
    (void)held; /* held for the scope */
    const struct aws_creds *c = p->cached;
    bool expiring = c != NULL && c->expiration != 0;
    *usable = c != NULL && (!expiring || now < c->expiration);
    return c == NULL || (expiring && now + AWS_CREDS_REFRESH_S >= c->expiration);
}

static HS_RESULT aws_provider_fetch(struct aws_creds_provider *p, bool usable)
{
    const char *source = "none";
    HS_DEFER(struct aws_creds *fresh = NULL, aws_creds_freep);
    hs_result r = aws_chain(&p->opt, &source, &fresh);
    if (hs_failed(r)) {
        if (usable) {
            hs_log(HS_LOG_WARN, "aws.credentials.refresh_failed", HS_LOG_ERR());
            return HS_OK;
        }
        return r;
    }
    hs_log(HS_LOG_INFO, "aws.credentials", HS_LOG_STR("source", source),
           HS_LOG_INT("expiration", (long long)fresh->expiration));
    HS_DEFER(pthread_mutex_t *held = hs_mutex_lock(&p->lock), hs_mutex_unlockp);
    (void)held; /* held for the scope */
    aws_creds_free(p->cached);
    fresh->version = ++p->version;
    p->cached = fresh;
    p->source = source;
    fresh = NULL;
    return HS_OK;
}

HS_RESULT aws_creds_provider_get(struct aws_creds_provider *p, struct aws_creds **out)
{
    HS_ENSURE_REF(p);
    HS_ENSURE_REF(out);
    bool usable = false;
    if (!p->fixed && aws_provider_due(p, time(NULL), &usable)) {
        if (!usable || pthread_mutex_trylock(&p->refresh_lock) == 0) {
            HS_DEFER(pthread_mutex_t *held =
                         usable ? &p->refresh_lock : hs_mutex_lock(&p->refresh_lock),
                     hs_mutex_unlockp);
            (void)held; /* held for the scope */
            /* Another thread may have fetched while this one waited. */
            if (aws_provider_due(p, time(NULL), &usable)) {
                HS_GUARD(aws_provider_fetch(p, usable));
            }
        }
    }
    HS_DEFER(pthread_mutex_t *held = hs_mutex_lock(&p->lock), hs_mutex_unlockp);
    (void)held; /* held for the scope */
    HS_ENSURE_MSG(p->cached != NULL, HS_ERR_IO, "no AWS credentials");
    return aws_creds_dup(p->cached, out);
}

void aws_creds_provider_invalidate(struct aws_creds_provider *p, uint64_t seen)
{
    if (p == NULL || p->fixed) {
        return;
    }
    HS_DEFER(pthread_mutex_t *held = hs_mutex_lock(&p->lock), hs_mutex_unlockp);
    (void)held; /* held for the scope */
    if (p->cached != NULL && p->cached->version == seen) {
        aws_creds_free(p->cached);
        p->cached = NULL;
    }
}

const char *aws_creds_provider_source(struct aws_creds_provider *p)
{
    if (p == NULL) {
        return "none";
    }
    HS_DEFER(pthread_mutex_t *held = hs_mutex_lock(&p->lock), hs_mutex_unlockp);
    (void)held; /* held for the scope */
    return p->source;
}
