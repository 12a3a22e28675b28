/*
 * hsmsignd: the signing service. One binary: an HTTP server (container mode), and an AWS Lambda
 * custom runtime (api_lambda) when AWS_LAMBDA_RUNTIME_API is set.
 *
 *   hsmsignd --config FILE
 *   hsmsignd --version [--module PATH]
 *   hsmsignd --check-config FILE
 *
 * --version prints the build's version (git describe at build time), the OpenSSL hsmsignd runs
 * with and the p11-kit it was built with; with --module it also loads that Cryptoki module
 * (C_Initialize only: no token, no PIN, no config) and prints its CK_INFO (C_GetInfo).
 *
 * --check-config validates FILE as start-up does (every member, range and cross-reference; the
 * files it names must exist) without loading the module or touching a token, and without
 * reading the PIN: token.pin_file must exist and be a regular file (its content is never
 * read; a mode that lets group or others read it is warned about on stderr); token.pin_env is
 * not looked at. The JWK Set file, CA chain and secret files' contents are checked only at start
 * (they need the token). Exit 0 when valid ("FILE: ok" on stdout), 1 with the field and reason
 * on stderr. HSMSIGN_LISTEN is not applied.
 *
 * Environment: HSMSIGN_CONFIG (instead of --config), HSMSIGN_LISTEN (overrides "listen"; not
 * used by the Lambda runtime), HSMSIGN_LOG_LEVEL, AWS_LAMBDA_RUNTIME_API (host:port of the
 * Lambda Runtime API: run the Lambda loop instead of the HTTP server). The token PIN comes from
 * the file or variable the config names. Token init (module load, login, key lookup) happens
 * once, at start, in both modes; in Lambda mode a start-up failure is also posted to
 * /runtime/init/error.
 * Signals (HTTP mode): SIGHUP reloads the config file's policy, SigV4 access keys, JWT keys and
 * CA chain (api_service_reload: all or nothing; logged as config.reload.done / .failed);
 * SIGTERM/SIGINT stop accepting, let in-flight requests finish, close the token and exit 0.
 * In Lambda mode SIGHUP is ignored and SIGTERM/SIGINT end the Runtime API loop.
 * Exit status: 0 after SIGTERM/SIGINT, 1 when start-up fails (or, in Lambda mode, when the
 * Runtime API fails), 2 usage error.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "api/api_config.h"
#include "api/api_http.h"
#include "api/api_lambda.h"
#include "api/api_service.h"
#include "common/hs_log.h"
#include "common/hs_secret.h"
#include "common/hs_version.h"
#include "pkcs11/p11_version.h"

static void api_usage(FILE *out)
{
    fputs("usage: hsmsignd --config FILE\n"
          "       hsmsignd --version [--module PATH]   (with --module: the module's CK_INFO)\n"
          "       hsmsignd --check-config FILE  (validate without touching a token)\n"
          "  HSMSIGN_CONFIG   config path (instead of --config)\n"
          "  HSMSIGN_LISTEN   host:port to listen on (overrides \"listen\")\n"
          "  HSMSIGN_LOG_LEVEL debug|info|warn|error\n"
          "  AWS_LAMBDA_RUNTIME_API host:port: run as a Lambda custom runtime\n",
          out);
}

static const char *api_config_path(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--config") == 0) {
        return argv[2];
    }
    return argc == 1 ? getenv("HSMSIGN_CONFIG") : NULL;
}

/* The hs_error detail as one line on stderr: "hsmsignd: PATH: CODE: detail". */
static void api_print_error(const char *what)
{
    const struct hs_error *e = hs_error_last();
    fprintf(stderr, "hsmsignd: %s: %s%s%s\n", what, hs_code_name(e->code),
            e->detail[0] != '\0' ? ": " : "", e->detail);
}

/* --help, --version [--module PATH]: -1 when argv is neither, else the exit status. */
static int api_info(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        api_usage(stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "--version") != 0) {
        return -1;
    }
    if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--module") == 0)) {
        api_usage(stderr);
        return 2;
    }
    /* Loading a module logs; the version text alone goes to stdout. */
    hs_log_set_stream(stderr);
    hs_log_set_level(HS_LOG_ERROR);
    hs_version_print(stdout, "hsmsignd");
    if (hs_failed(p11_version_print(stdout, argc == 4 ? argv[3] : NULL))) {
        api_print_error(argv[3]);
        return 1;
    }
    return 0;
}

/* --check-config: see the top of this file. */
static int api_check_config(const char *path)
{
    struct api_config *cfg = NULL;
    if (hs_failed(api_config_load(path, NULL, &cfg))) {
        api_print_error(path);
        return 1;
    }
    int rc = 0;
    struct stat st;
    const char *pin_file = cfg->token.pin_file;
    if (pin_file != NULL && (stat(pin_file, &st) != 0 || !S_ISREG(st.st_mode))) {
        fprintf(stderr, "hsmsignd: %s: token.pin_file: %s is not a regular file\n", path, pin_file);
        rc = 1;
    } else if (pin_file != NULL && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        fprintf(stderr,
                "hsmsignd: %s: warning: token.pin_file: %s has mode %04o (0600 or 0400 "
                "keeps it to its owner)\n",
                path, pin_file, (unsigned)(st.st_mode & 07777));
    }
    api_config_free(cfg);
    if (rc == 0) {
        printf("%s: ok\n", path);
    }
    return rc;
}

static int api_fail(const char *what)
{
    hs_log(HS_LOG_ERROR, "service.start.failed", HS_LOG_STR("step", what), HS_LOG_ERR());
    const struct hs_error *e = hs_error_last();
    fprintf(stderr, "hsmsignd: %s failed: %s%s%s%s%s\n", what, hs_code_name(e->code),
            e->detail[0] != '\0' ? ": " : "", e->detail, e->ckr_name != NULL ? " " : "",
            e->ckr_name != NULL ? e->ckr_name : "");
    return 1;
}

/* Lambda mode: set by SIGTERM / SIGINT; the Runtime API loop ends at its next check. */
static volatile sig_atomic_t api_lambda_stop;

static void api_lambda_on_signal(int sig)
{
    (void)sig;
    api_lambda_stop = 1;
}

/* Logs a start-up failure as api_fail() does and reports it to /runtime/init/error with a
 * fixed message (the step and the error code; the details are in the log). */
static int api_lambda_fail(const char *runtime_api, const char *what, const char *error_type)
{
    enum hs_code code = hs_error_last()->code;
    int rc = api_fail(what);
    char message[128];
    /* The message is short and fixed apart from the step and code names: never truncated. */
    (void)snprintf(message, sizeof(message), "hsmsignd start-up failed at %s: %s", what,
                   hs_code_name(code));
    if (hs_failed(api_lambda_init_error(runtime_api, error_type, message))) {
        hs_log(HS_LOG_ERROR, "lambda.init_error.failed", HS_LOG_ERR());
    }
    return rc;
}

/* Lambda mode: token init once, then the Runtime API loop until SIGTERM / SIGINT. */
static int api_main_lambda(const char *path, const char *runtime_api, const struct timespec *t0)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = api_lambda_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    HS_IGNORE(signal(SIGHUP, SIG_IGN));
    HS_IGNORE(signal(SIGPIPE, SIG_IGN));
    /* A write past RLIMIT_FSIZE (or a file system's limit) must fail the request that caused
     * it (nothing is issued without its inventory record) instead of killing the service. */
    HS_IGNORE(signal(SIGXFSZ, SIG_IGN));
    struct api_config *cfg = NULL;
    struct api_service *svc = NULL;
    if (hs_failed(hs_secure_init(65536))) {
        return api_lambda_fail(runtime_api, "hardening", "Runtime.HardeningFailed");
    }
    if (hs_failed(api_config_load(path, NULL, &cfg))) {
        return api_lambda_fail(runtime_api, "config", "Runtime.ConfigInvalid");
    }
    if (hs_failed(api_service_new(cfg, &svc))) {
        return api_lambda_fail(runtime_api, "token", "Runtime.TokenUnavailable");
    }
    hs_result r = api_lambda_run(svc, runtime_api, t0, &api_lambda_stop);
    if (hs_failed(r)) {
        hs_log(HS_LOG_ERROR, "service.failed", HS_LOG_STR("mode", "lambda"), HS_LOG_ERR());
    }
    api_service_free(svc);
    hs_log(HS_LOG_INFO, "service.stopped");
    return hs_failed(r) ? 1 : 0;
}

static struct api_http_limits api_http_limits_of(const struct api_config *cfg)
{
    struct api_http_limits l = {
        .max_connections = cfg->max_connections,
        .max_connections_per_ip = cfg->max_connections_per_ip,
        .connection_timeout_s = cfg->connection_timeout_s,
        .request_timeout_s = cfg->request_timeout_s,
        .workers = cfg->workers,
        .shutdown_grace_s = cfg->shutdown_grace_s,
        .lane_queue_max = (long)cfg->token.sched.max_queue,
    };
    for (size_t i = 0; i < SVC_CLASS_COUNT && i < cfg->token.sched.nclasses; i++) {
        l.shares[i] = cfg->token.sched.weights[i];
    }
    return l;
}

/* Blocks until SIGINT or SIGTERM (blocked in every thread, taken here with sigwait); each SIGHUP
 * on the way reloads the config (a failed reload keeps the running state and is logged). */
static void api_wait_for_signal(const sigset_t *set, struct api_service *svc, const char *path)
{
    for (;;) {
        int sig = 0;
        if (sigwait(set, &sig) != 0) {
            continue;
        }
        if (sig != SIGHUP) {
            hs_log(HS_LOG_INFO, "service.stopping", HS_LOG_INT("signal", sig));
            return;
        }
        hs_log(HS_LOG_INFO, "config.reload.start", HS_LOG_STR("path", path));
        if (hs_failed(api_service_reload(svc, path))) {
            hs_error_clear(); /* logged as config.reload.failed; the old state serves on */
        }
    }
}

/* HTTP mode: SIGINT, SIGTERM and SIGHUP are blocked before any thread starts, so only sigwait()
 * receives them (api_wait_for_signal). */
static void api_signals_block(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    /* Without it in the set, SIGHUP's default action ended the process without a word. */
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    HS_IGNORE(signal(SIGPIPE, SIG_IGN));
    /* A write past RLIMIT_FSIZE (or a file system's limit) must fail the request that caused
     * it (nothing is issued without its inventory record) instead of killing the service. */
    HS_IGNORE(signal(SIGXFSZ, SIG_IGN));
}

int main(int argc, char **argv)
{
    int info_rc = api_info(argc, argv);
    if (info_rc >= 0) {
        return info_rc;
    }
    if (argc == 3 && strcmp(argv[1], "--check-config") == 0) {
        return api_check_config(argv[2]);
    }
    const char *path = api_config_path(argc, argv);
    if (path == NULL) {
        api_usage(stderr);
        return 2;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    hs_log_init();
    const char *runtime_api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (runtime_api != NULL) {
        return api_main_lambda(path, runtime_api, &t0);
    }
    sigset_t set;
    api_signals_block(&set);
    struct api_config *cfg = NULL;
    struct api_service *svc = NULL;
    struct api_http *http = NULL;
    if (hs_failed(hs_secure_init(65536))) {
        return api_fail("hardening");
    }
    if (hs_failed(api_config_load(path, getenv("HSMSIGN_LISTEN"), &cfg))) {
        return api_fail("config");
    }
    char listen[API_LISTEN_MAX];
    memcpy(listen, cfg->listen, sizeof(listen));
    /* The service takes cfg: what the front end needs is copied first. */
    const struct api_http_limits limits = api_http_limits_of(cfg);
    if (hs_failed(api_service_new(cfg, &svc))) {
        return api_fail("token");
    }
    if (hs_failed(api_http_start(svc, listen, &limits, &http))) {
        api_service_free(svc);
        return api_fail("listen");
    }
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    hs_log(HS_LOG_INFO, "service.ready", HS_LOG_STR("listen", listen),
           HS_LOG_INT("port", api_http_port(http)),
           HS_LOG_INT("startup_ms",
                      (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
    api_wait_for_signal(&set, svc, path);
    api_http_stop(http);
    api_service_free(svc);
    hs_log(HS_LOG_INFO, "service.stopped");
    return 0;
}
