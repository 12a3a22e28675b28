/*
 * hsmsign-authorizer: an API Gateway Lambda authorizer (a Lambda custom runtime) that verifies
 * hsmsign's JWTs against its JWKS; see docs/authorizer.md and the headers of this room.
 *
 *   hsmsign-authorizer [--config PATH]          the Runtime API loop (AWS_LAMBDA_RUNTIME_API)
 *   hsmsign-authorizer --config PATH --check-token TOKEN|- --route "GET /hello"
 *                      [--client-cert PEM] [--at EPOCH]   one decision, printed as JSON
 * The config is HSMSIGN_AUTHORIZER_CONFIG, else --config. Exit: 0 (allow, or a clean stop),
 * 1 (deny, or the runtime failed), 2 (usage or config error).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "authorizer/au_authz.h"
#include "authorizer/au_config.h"
#include "authorizer/au_event.h"
#include "authorizer/au_verify.h"
#include "aws/aws_lambda_runtime.h"
#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "common/hs_json.h"
#include "common/hs_log.h"
#include "common/hs_version.h"

static volatile sig_atomic_t au_stop;

static void au_on_signal(int sig)
{
    (void)sig;
    au_stop = 1;
}

HS_DEFINE_FREEP(au_config_freep, struct au_config, OPENSSL_free)

static void au_usage(FILE *f)
{
    fputs("usage: hsmsign-authorizer [--config PATH]\n"
          "       hsmsign-authorizer --config PATH --check-token TOKEN|- --route \"GET /hello\"\n"
          "                          [--client-cert PEM_FILE] [--at EPOCH_SECONDS]\n"
          "       hsmsign-authorizer --version | --help\n"
          "\n"
          "An API Gateway Lambda authorizer for hsmsign's JWTs (docs/authorizer.md). Without\n"
          "--check-token it runs as a Lambda custom runtime (AWS_LAMBDA_RUNTIME_API). The config\n"
          "is $HSMSIGN_AUTHORIZER_CONFIG, else --config. --check-token - reads the token from\n"
          "stdin (keeps it off the command line); the decision is printed as one JSON line.\n"
          "Exit status: 0 allow, 1 deny, 2 usage or config error.\n",
          f);
}

static double au_elapsed_us(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e6 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e3;
}

/* One line per decision (never the token). */
static void au_log_decision(const char *source, const char *request_id, const char *route,
                            enum au_reason r, const struct au_grant *g, double us)
{
    hs_log(r == AU_OK ? HS_LOG_INFO : HS_LOG_WARN, "authorizer.decision",
           HS_LOG_STR("source", source), HS_LOG_STR("aws_request_id", request_id),
           HS_LOG_STR("sub", g->sub[0] != '\0' ? g->sub : NULL),
           HS_LOG_STR("kid", g->kid[0] != '\0' ? g->kid : NULL), HS_LOG_STR("route", route),
           HS_LOG_STR("decision", r == AU_OK ? "allow" : "deny"),
           HS_LOG_STR("reason", au_reason_name(r)),
           HS_LOG_STR("x5t_s256", g->x5t[0] != '\0' ? g->x5t : NULL),
           HS_LOG_INT("verify_us", (long long)us));
}

/* --- Lambda mode ------------------------------------------------------------------------------ */

/* Answers one invocation: a decision, or "Unauthorized" (REST, no or garbled token: API
 * Gateway answers 401), or an invocation error for an event that is not an authorizer event. */
static HS_RESULT au_invoke(struct aws_lambda_runtime *rt, struct au_authz *a,
                           const struct aws_lambda_invocation *inv)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long status = 0;
    HS_DEFER(struct au_event *ev = NULL, au_event_freep);
    hs_error_clear();
    hs_result pr = inv->too_large ? hs_error_raise(__FILE__, __LINE__, HS_ERR_INPUT_TOO_LARGE, NULL)
                                  : au_event_parse((const char *)hs_buf_data(inv->event),
                                                   hs_buf_len(inv->event), a->cfg, &ev);
    struct au_grant g = {0};
    if (hs_failed(pr)) {
        hs_log(HS_LOG_WARN, "authorizer.event.invalid",
               HS_LOG_STR("aws_request_id", inv->request_id),
               HS_LOG_INT("event_bytes", hs_buf_len(inv->event)), HS_LOG_ERR());
        au_log_decision("lambda", inv->request_id, NULL, AU_EVENT_INVALID, &g, au_elapsed_us(&t0));
        return aws_lambda_runtime_error(rt, inv, "Runtime.InvalidEvent",
                                        "the event is not an API Gateway authorizer event",
                                        &status);
    }
    struct au_request rq = {.token = ev->token,
                            .token_len = ev->token_len,
                            .route = ev->route,
                            .client_cert_pem = ev->client_cert_pem,
                            .now = time(NULL)};
    enum au_reason r = ev->token_garbled ? AU_TOKEN_MALFORMED : au_authz_decide(a, &rq, &g);
    au_log_decision("lambda", inv->request_id, ev->route, r, &g, au_elapsed_us(&t0));
    bool unauthorized =
        ev->kind != AU_EVENT_HTTP_V2 && (r == AU_TOKEN_MISSING || r == AU_TOKEN_MALFORMED);
    if (unauthorized) {
        return aws_lambda_runtime_error(rt, inv, "Unauthorized", "Unauthorized", &status);
    }
    HS_DEFER(struct hs_buf *answer = NULL, hs_buf_freep);
    HS_GUARD(au_event_answer(ev, r == AU_OK, &g, r, &answer));
    return aws_lambda_runtime_respond(rt, inv, answer, &status);
}

static HS_RESULT au_run(struct au_authz *a, const char *runtime_api, const struct timespec *t0)
{
    HS_DEFER(struct aws_lambda_runtime *rt = NULL, aws_lambda_runtime_freep);
    HS_GUARD(aws_lambda_runtime_new(runtime_api, &au_stop, &rt));
    struct aws_lambda_invocation inv = {0};
    inv.event = hs_buf_new(AU_EVENT_MAX);
    HS_DEFER(struct hs_buf *event = inv.event, hs_buf_freep);
    HS_ENSURE(inv.event != NULL, HS_ERR_NOMEM);
    hs_log(HS_LOG_INFO, "service.ready", HS_LOG_STR("mode", "lambda"),
           HS_LOG_INT("startup_us", (long long)au_elapsed_us(t0)));
    bool stopped = false;
    while (au_stop == 0) {
        HS_GUARD(aws_lambda_runtime_next(rt, &inv, &stopped));
        if (stopped) {
            break;
        }
        HS_GUARD(au_invoke(rt, a, &inv));
    }
    return HS_OK;
}

static int au_main_lambda(const char *path, const char *runtime_api, const struct timespec *t0)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = au_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    HS_IGNORE(signal(SIGPIPE, SIG_IGN));
    HS_DEFER(struct au_config *cfg = OPENSSL_zalloc(sizeof(*cfg)), au_config_freep);
    struct au_authz a = {0};
    hs_result r = cfg != NULL ? HS_OK : hs_error_raise(__FILE__, __LINE__, HS_ERR_NOMEM, NULL);
    r = hs_failed(r)   ? r
        : path != NULL ? au_config_load(path, cfg)
                       : hs_error_raise(__FILE__, __LINE__, HS_ERR_INPUT_CONFIG,
                                        "no config (HSMSIGN_AUTHORIZER_CONFIG)");
    r = hs_failed(r) ? r : au_authz_init(cfg, &a);
    if (hs_failed(r)) {
        hs_log(HS_LOG_ERROR, "service.failed", HS_LOG_STR("at", "config"), HS_LOG_ERR());
        char message[300];
        (void)snprintf(message, sizeof(message), "hsmsign-authorizer config: %s: %.200s",
                       hs_code_name(hs_error_last()->code), hs_error_last()->detail);
        if (hs_failed(
                aws_lambda_runtime_init_error(runtime_api, "Runtime.ConfigInvalid", message))) {
            hs_log(HS_LOG_ERROR, "lambda.init_error.failed", HS_LOG_ERR());
        }
        au_authz_clear(&a);
        return 1;
    }
    r = au_run(&a, runtime_api, t0);
    if (hs_failed(r)) {
        hs_log(HS_LOG_ERROR, "service.failed", HS_LOG_STR("mode", "lambda"), HS_LOG_ERR());
    }
    au_authz_clear(&a);
    hs_log(HS_LOG_INFO, "service.stopped");
    return hs_failed(r) ? 1 : 0;
}

/* --- --check-token ------------------------------------------------------------------------- */

struct au_args {
    const char *config;
    const char *token;
    const char *route;
    const char *cert;
    const char *at;
};

/* Reads the token from stdin (one line, at most AU_TOKEN_MAX bytes). */
static HS_RESULT au_token_stdin(struct hs_buf *out)
{
    int c;
    while ((c = getchar()) != EOF && c != '\n') {
        HS_ENSURE_MSG(hs_buf_len(out) < AU_TOKEN_MAX, HS_ERR_INPUT_TOO_LARGE, "token over %d bytes",
                      AU_TOKEN_MAX);
        HS_GUARD(hs_buf_put_byte(out, (unsigned char)c));
    }
    if (hs_buf_len(out) > 0 && hs_buf_data(out)[hs_buf_len(out) - 1] == '\r') {
        HS_BAIL_MSG(HS_ERR_INPUT, "token ends in CR");
    }
    return HS_OK;
}

static int au_check_print(enum au_reason r, const struct au_grant *g, const char *route)
{
    HS_DEFER(json_object *o = json_object_new_object(), hs_json_putp);
    if (o == NULL ||
        hs_failed(
            hs_json_add(o, "decision", json_object_new_string(r == AU_OK ? "Allow" : "Deny"))) ||
        hs_failed(hs_json_add(o, "reason", json_object_new_string(au_reason_name(r)))) ||
        hs_failed(hs_json_add(o, "route", json_object_new_string(route))) ||
        hs_failed(hs_json_add(o, "sub", json_object_new_string(g->sub))) ||
        hs_failed(hs_json_add(o, "kid", json_object_new_string(g->kid))) ||
        hs_failed(hs_json_add(o, "scope", json_object_new_string(g->scope))) ||
        hs_failed(hs_json_add(o, "x5t#S256", json_object_new_string(g->x5t)))) {
        return 1;
    }
    puts(
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    return r == AU_OK ? 0 : 1;
}

static int au_main_check(const struct au_args *args, const char *path)
{
    HS_DEFER(struct au_config *cfg = OPENSSL_zalloc(sizeof(*cfg)), au_config_freep);
    HS_DEFER(struct hs_buf *tok = hs_buf_new_sensitive(AU_TOKEN_MAX + 1), hs_buf_freep);
    HS_DEFER(struct hs_buf *pem = NULL, hs_buf_freep);
    if (cfg == NULL || tok == NULL) {
        return 2;
    }
    time_t now = time(NULL);
    if (args->at != NULL) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(args->at, &end, 10);
        if (errno != 0 || end == args->at || *end != '\0' || v < 0 || v > 32503680000LL) {
            fputs("hsmsign-authorizer: --at: seconds since the epoch\n", stderr);
            return 2;
        }
        now = (time_t)v;
    }
    hs_result r = path != NULL
                      ? au_config_load(path, cfg)
                      : hs_error_raise(__FILE__, __LINE__, HS_ERR_INPUT_CONFIG,
                                       "no config (--config or HSMSIGN_AUTHORIZER_CONFIG)");
    if (!hs_failed(r) && strcmp(args->token, "-") == 0) {
        r = au_token_stdin(tok);
    } else if (!hs_failed(r)) {
        r = hs_buf_put(tok, args->token, strnlen(args->token, AU_TOKEN_MAX + 1));
    }
    if (!hs_failed(r) && args->cert != NULL) {
        r = hs_file_read(args->cert, AU_CERT_PEM_MAX, &pem);
    }
    const char *pem_str = NULL;
    if (!hs_failed(r) && pem != NULL) {
        r = hs_buf_cstr(pem, &pem_str);
    }
    struct au_authz a = {0};
    r = hs_failed(r) ? r : au_authz_init(cfg, &a);
    if (hs_failed(r)) {
        fprintf(stderr, "hsmsign-authorizer: %s: %s\n", hs_code_name(hs_error_last()->code),
                hs_error_last()->detail);
        au_authz_clear(&a);
        return 2;
    }
    struct au_request rq = {.token = hs_buf_len(tok) > 0 ? (const char *)hs_buf_data(tok) : NULL,
                            .token_len = hs_buf_len(tok),
                            .route = args->route,
                            .client_cert_pem = pem_str,
                            .now = now};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct au_grant g = {0};
    enum au_reason reason = au_authz_decide(&a, &rq, &g);
    au_log_decision("check-token", NULL, args->route, reason, &g, au_elapsed_us(&t0));
    au_authz_clear(&a);
    return au_check_print(reason, &g, args->route);
}

/* --- arguments ------------------------------------------------------------------------------ */

/* Where the value of option o goes, NULL for an unknown option. */
static const char **au_arg_slot(struct au_args *args, const char *o)
{
    static const char *const names[] = {"--config", "--check-token", "--route", "--client-cert",
                                        "--at"};
    const char **slots[] = {&args->config, &args->token, &args->route, &args->cert, &args->at};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(o, names[i]) == 0) {
            return slots[i];
        }
    }
    return NULL;
}

static int au_parse_args(int argc, char **argv, struct au_args *args)
{
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char **slot = au_arg_slot(args, o);
        if (slot == NULL || i + 1 >= argc || *slot != NULL) {
            fprintf(stderr, "hsmsign-authorizer: %s: %s\n", o,
                    slot == NULL ? "unknown option" : "needs one value (given once)");
            return 2;
        }
        *slot = argv[++i];
    }
    if ((args->token != NULL) != (args->route != NULL) ||
        (args->token == NULL && (args->cert != NULL || args->at != NULL))) {
        fputs("hsmsign-authorizer: --check-token and --route go together (with --client-cert, "
              "--at)\n",
              stderr);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        au_usage(stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        hs_version_print(stdout, "hsmsign-authorizer");
        return fflush(stdout) == 0 ? 0 : 1;
    }
    hs_log_init();
    hs_log_set_stream(stderr);
    struct au_args args = {0};
    if (au_parse_args(argc, argv, &args) != 0) {
        au_usage(stderr);
        return 2;
    }
    const char *env = getenv("HSMSIGN_AUTHORIZER_CONFIG");
    const char *path = env != NULL && env[0] != '\0' ? env : args.config;
    if (args.token != NULL) {
        return au_main_check(&args, path);
    }
    const char *runtime_api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (runtime_api == NULL || runtime_api[0] == '\0') {
        fputs("hsmsign-authorizer: AWS_LAMBDA_RUNTIME_API is not set (not in Lambda?); use "
              "--check-token for a one-shot decision\n",
              stderr);
        return 2;
    }
    return au_main_lambda(path, runtime_api, &t0);
}
