/*
 * http_load: a closed-loop HTTP load generator for hsmsignd and the peers it is compared with
 * (tests/bench/http_bench.sh runs it). Each of N threads keeps one keep-alive connection and
 * sends the same request again as soon as the answer is in: first for a warm-up, then for the
 * measured window. Every request's latency (µs) goes into the thread's own array; the arrays
 * are merged and sorted at the end. Not a test.
 *
 *   http_load --url URL [--method M] [--body-file F] [--header 'Name: value']...
 *             [--sigv4 REGION/SERVICE --user AKID:SECRET_FILE] [--concurrency N]
 *             [--seconds S] [--warmup S] [--timeout S] [--expect TEXT] [--server-pid PID]
 *             [--client raw|curl] [--sign-each] [--busy-status CODE]
 *   http_load --url URL --ready S   wait up to S seconds for GET URL to answer 2xx, then print
 *                                   ready_epoch_us= (CLOCK_REALTIME) and the probes it took
 *
 * Output: one line of key=value pairs: rps, n, p50_ms, p99_ms, max_ms, errors, client_cpu,
 * server_cpu, machine_cpu (cores busy during the measured window: this process, --server-pid
 * and the whole machine, from getrusage and /proc). An error is a non-2xx answer, a transport
 * failure or (with --expect) an answer without TEXT, in the warm-up or the window; any error
 * makes the row invalid: the first one is described on stderr and the exit status is 1.
 * --busy-status CODE (e.g. 503, the answer of an overloaded signer) counts answers with that
 * status apart: busy= and busy_rps= report them, rps and the percentiles cover the other
 * answers only, and they are not errors. The thread sends its next request at once (no
 * Retry-After wait: the benchmark wants the pressure).
 *
 * Clients. "raw" (the default) writes one prebuilt HTTP/1.1 request on a plain socket and
 * parses the answer (Content-Length or chunked). "curl" drives a libcurl easy handle per thread
 * and has libcurl sign every request (CURLOPT_AWS_SIGV4). Measured against hsmsignd on the
 * 2-core bench machine (client_cpu / rps, concurrency 8): tokens ~12 µs of client CPU per
 * request raw against ~70 µs with curl, certificates ~35 µs against ~115 µs. Every client
 * microsecond is taken from the server under test on 2 cores (curl would eat 0.5 of them at
 * 7k tokens/s), so raw is the default; curl stays as an independent cross-check of the signer.
 *
 * SigV4 (raw): this file's signer (AWS4-HMAC-SHA256, Authorization header form, signing host,
 * x-amz-date and every --header, the body's SHA-256 as payload hash) re-signs the request
 * whenever the X-Amz-Date second changes. Within one second a per-request signer produces the
 * very same bytes, so the server sees what a signing client sends and verifies each request in
 * full. (hsmsignd keeps no replay cache today; against one, even a per-request signer would
 * need a signed header that varies.) --sign-each signs every request anyway: that added ~20 µs
 * of client CPU per request.
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/hs_buf.h"
#include "common/hs_file.h"
#include "common/hs_secret.h"

#define LOAD_THREADS_MAX 512
#define LOAD_HEADERS_MAX 16
#define LOAD_HEADER_NAME_MAX 64
#define LOAD_BODY_MAX (64 * 1024)
#define LOAD_REQUEST_MAX (LOAD_BODY_MAX + 16 * 1024)
#define LOAD_RESPONSE_MAX (512 * 1024)
#define LOAD_FIELD_MAX 256
#define LOAD_PATH_MAX 2048
#define LOAD_CANONICAL_MAX (8 * 1024)
#define LOAD_AUTHZ_MAX 1024
#define LOAD_ERROR_TEXT_MAX 200
#define LOAD_SAMPLES_INIT 4096
#define LOAD_READY_PROBE_NS 500000L

enum load_client {
    LOAD_CLIENT_RAW,
    LOAD_CLIENT_CURL,
};

struct load_header {
    char name[LOAD_HEADER_NAME_MAX]; /* lower case, for signing */
    const char *value;               /* trimmed, borrowed from argv */
    size_t value_len;
    const char *line; /* as given, sent as it is */
};

struct load_opts {
    const char *url;
    const char *method;
    struct hs_buf *body; /* NULL = none */
    struct load_header headers[LOAD_HEADERS_MAX];
    size_t nheaders;
    bool sigv4;
    char region[LOAD_FIELD_MAX];
    char service[LOAD_FIELD_MAX];
    char akid[LOAD_FIELD_MAX];
    struct hs_secret *secret;
    char payload_hash[2 * 32 + 1];
    const char *signed_names[LOAD_HEADERS_MAX + 2]; /* sorted */
    size_t nsigned;
    int concurrency;
    double seconds;
    double warmup;
    double timeout;
    double ready; /* > 0: readiness probe mode */
    const char *expect;
    long server_pid;
    enum load_client client;
    bool sign_each;
    int busy_status; /* 0 = none: an answer with this status is counted as busy, not an error */
};

struct load_target {
    char authority[LOAD_FIELD_MAX]; /* host[:port] as in the URL: the Host header */
    char host[LOAD_FIELD_MAX];
    char port[8];
    char path[LOAD_PATH_MAX];
    struct sockaddr_storage addr;
    socklen_t addr_len;
};

struct load_answer {
    int status;
    const unsigned char *body;
    size_t body_len;
    bool close;
};

struct load_worker {
    pthread_t thread;
    uint32_t *lat; /* µs, requests started in the measured window */
    size_t n;
    size_t cap;
    size_t net_errors;
    size_t status_errors;
    size_t body_errors;
    size_t busy; /* answers with opts.busy_status in the measured window */
    char first_error[LOAD_ERROR_TEXT_MAX];
    int fd;
    time_t signed_at;
    struct hs_buf *request;
    unsigned char *resp;
    size_t resp_len;
    CURL *curl;
    struct curl_slist *curl_headers;
};

static struct load_opts opts = {
    .concurrency = 1, .seconds = 5.0, .warmup = 1.0, .timeout = 10.0, .server_pid = -1};
static struct load_target target;
static double load_measure_from;
static double load_end;

static double load_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void load_sleep_until(double t)
{
    struct timespec ts = {(time_t)t, (long)((t - (double)(time_t)t) * 1e9)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
    }
}

/* hs_buf_put_str for each argument up to a NULL. */
static HS_RESULT load_put(struct hs_buf *b, ...)
{
    va_list ap;
    va_start(ap, b);
    hs_result r = HS_OK;
    for (const char *s = va_arg(ap, const char *); s != NULL && !hs_failed(r);
         s = va_arg(ap, const char *)) {
        r = hs_buf_put_str(b, s);
    }
    va_end(ap);
    return r;
}

static void load_hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

static HS_RESULT load_sha256_hex(const void *p, size_t n, char out[2 * 32 + 1])
{
    unsigned char md[32];
    unsigned int len = 0;
    HS_GUARD_OSSL(EVP_Digest(p, n, md, &len, EVP_sha256(), NULL), HS_ERR_CRYPTO);
    load_hex(md, len, out);
    return HS_OK;
}

static HS_RESULT load_hmac(const unsigned char *key, size_t key_len, const char *msg,
                           unsigned char out[32])
{
    unsigned int len = 0;
    HS_GUARD_OSSL_PTR(
        HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), out, &len),
        HS_ERR_CRYPTO);
    return HS_OK;
}

/* --- options ------------------------------------------------------------------------------- */

static HS_RESULT load_copy(char *dst, size_t cap, const char *src, size_t n, const char *what)
{
    HS_ENSURE_MSG(n > 0 && n < cap, HS_ERR_INPUT, "%s: empty or too long", what);
    memcpy(dst, src, n);
    dst[n] = '\0';
    return HS_OK;
}

/* "http://host[:port][/path]"; host may be "[v6]". */
static HS_RESULT load_url_parse(const char *url, struct load_target *out)
{
    static const char scheme[] = "http://";
    HS_ENSURE_MSG(strncmp(url, scheme, sizeof(scheme) - 1) == 0, HS_ERR_INPUT,
                  "--url: only http:// URLs");
    const char *auth = url + sizeof(scheme) - 1;
    size_t auth_len = strcspn(auth, "/?#");
    HS_GUARD(load_copy(out->authority, sizeof(out->authority), auth, auth_len, "--url host"));
    const char *path = auth[auth_len] == '\0' ? "/" : auth + auth_len;
    HS_ENSURE_MSG(path[0] == '/' && strchr(path, '#') == NULL, HS_ERR_INPUT,
                  "--url: the path must start with / and have no fragment");
    HS_GUARD(load_copy(out->path, sizeof(out->path), path, strlen(path), "--url path"));
    const char *host = out->authority;
    size_t host_len = strlen(host);
    const char *port = "80";
    const char *close_bracket = host[0] == '[' ? strchr(host, ']') : NULL;
    const char *colon = strrchr(host, ':');
    if (close_bracket != NULL) {
        colon = close_bracket[1] == ':' ? close_bracket + 1 : NULL;
        host++;
        host_len = (size_t)(close_bracket - host);
    } else if (colon != NULL) {
        host_len = (size_t)(colon - host);
    }
    port = colon != NULL ? colon + 1 : port;
    HS_GUARD(load_copy(out->host, sizeof(out->host), host, host_len, "--url host"));
    HS_GUARD(load_copy(out->port, sizeof(out->port), port, strlen(port), "--url port"));
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(out->host, out->port, &hints, &ai);
    HS_ENSURE_MSG(rc == 0, HS_ERR_INPUT, "--url: %s", gai_strerror(rc));
    memcpy(&out->addr, ai->ai_addr, ai->ai_addrlen);
    out->addr_len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return HS_OK;
}

/* "Name: value": the name is kept in lower case for signing, the value trimmed. */
static HS_RESULT load_header_add(const char *line)
{
    static const char *const ours[] = {"host", "content-length", "x-amz-date", "authorization",
                                       NULL};
    HS_ENSURE_MSG(opts.nheaders < LOAD_HEADERS_MAX, HS_ERR_INPUT, "--header: too many");
    struct load_header *h = &opts.headers[opts.nheaders];
    const char *colon = strchr(line, ':');
    HS_ENSURE_MSG(colon != NULL, HS_ERR_INPUT, "--header: \"Name: value\" expected");
    size_t n = (size_t)(colon - line);
    HS_GUARD(load_copy(h->name, sizeof(h->name), line, n, "--header name"));
    for (size_t i = 0; i < n; i++) {
        h->name[i] = (char)(h->name[i] >= 'A' && h->name[i] <= 'Z' ? h->name[i] + 32 : h->name[i]);
    }
    for (size_t i = 0; ours[i] != NULL; i++) {
        HS_ENSURE_MSG(strcmp(h->name, ours[i]) != 0, HS_ERR_INPUT,
                      "--header: %s is set by http_load", ours[i]);
    }
    h->value = colon + 1 + strspn(colon + 1, " \t");
    h->value_len = strlen(h->value);
    while (h->value_len > 0 &&
           (h->value[h->value_len - 1] == ' ' || h->value[h->value_len - 1] == '\t')) {
        h->value_len--;
    }
    h->line = line;
    opts.nheaders++;
    return HS_OK;
}

/* --user AKID:SECRET_FILE; the secret stays in an hs_secret. */
static HS_RESULT load_user_parse(const char *arg)
{
    const char *colon = strchr(arg, ':');
    HS_ENSURE_MSG(colon != NULL, HS_ERR_INPUT, "--user: AKID:SECRET_FILE expected");
    HS_GUARD(load_copy(opts.akid, sizeof(opts.akid), arg, (size_t)(colon - arg), "--user AKID"));
    return hs_secret_from_file(colon + 1, HS_SECRET_MAX, &opts.secret);
}

/* --sigv4 REGION/SERVICE */
static HS_RESULT load_sigv4_parse(const char *arg)
{
    const char *slash = strchr(arg, '/');
    HS_ENSURE_MSG(slash != NULL, HS_ERR_INPUT, "--sigv4: REGION/SERVICE expected");
    HS_GUARD(load_copy(opts.region, sizeof(opts.region), arg, (size_t)(slash - arg), "region"));
    HS_GUARD(
        load_copy(opts.service, sizeof(opts.service), slash + 1, strlen(slash + 1), "service"));
    opts.sigv4 = true;
    return HS_OK;
}

static HS_RESULT load_number(const char *arg, double min, double max, const char *what, double *out)
{
    char *end = NULL;
    double v = strtod(arg, &end);
    HS_ENSURE_MSG(end != arg && *end == '\0' && v >= min && v <= max, HS_ERR_INPUT,
                  "%s: a number from %g to %g expected", what, min, max);
    *out = v;
    return HS_OK;
}

static HS_RESULT load_option(const char *name, const char *arg)
{
    double v = 0;
    if (strcmp(name, "--url") == 0) {
        opts.url = arg;
    } else if (strcmp(name, "--method") == 0) {
        opts.method = arg;
    } else if (strcmp(name, "--body-file") == 0) {
        HS_GUARD(hs_file_read(arg, LOAD_BODY_MAX, &opts.body));
    } else if (strcmp(name, "--header") == 0) {
        HS_GUARD(load_header_add(arg));
    } else if (strcmp(name, "--sigv4") == 0) {
        HS_GUARD(load_sigv4_parse(arg));
    } else if (strcmp(name, "--user") == 0) {
        HS_GUARD(load_user_parse(arg));
    } else if (strcmp(name, "--concurrency") == 0) {
        HS_GUARD(load_number(arg, 1, LOAD_THREADS_MAX, name, &v));
        opts.concurrency = (int)v;
    } else if (strcmp(name, "--seconds") == 0) {
        HS_GUARD(load_number(arg, 0.1, 3600, name, &opts.seconds));
    } else if (strcmp(name, "--warmup") == 0) {
        HS_GUARD(load_number(arg, 0, 3600, name, &opts.warmup));
    } else if (strcmp(name, "--timeout") == 0) {
        HS_GUARD(load_number(arg, 0.1, 600, name, &opts.timeout));
    } else if (strcmp(name, "--ready") == 0) {
        HS_GUARD(load_number(arg, 0.1, 600, name, &opts.ready));
    } else if (strcmp(name, "--expect") == 0) {
        opts.expect = arg;
    } else if (strcmp(name, "--server-pid") == 0) {
        HS_GUARD(load_number(arg, 1, 1e9, name, &v));
        opts.server_pid = (long)v;
    } else if (strcmp(name, "--busy-status") == 0) {
        HS_GUARD(load_number(arg, 300, 599, name, &v));
        opts.busy_status = (int)v;
    } else if (strcmp(name, "--client") == 0) {
        HS_ENSURE_MSG(strcmp(arg, "raw") == 0 || strcmp(arg, "curl") == 0, HS_ERR_INPUT,
                      "--client: raw or curl");
        opts.client = strcmp(arg, "curl") == 0 ? LOAD_CLIENT_CURL : LOAD_CLIENT_RAW;
    } else {
        HS_BAIL_MSG(HS_ERR_INPUT, "unknown option %s", name);
    }
    return HS_OK;
}

static int load_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* What signing needs once: the payload hash and the sorted signed header names. */
static HS_RESULT load_sigv4_prepare(void)
{
    HS_ENSURE_MSG(opts.secret != NULL, HS_ERR_INPUT, "--sigv4 needs --user AKID:SECRET_FILE");
    HS_ENSURE_MSG(target.path[strspn(target.path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                                                  "TUVWXYZ0123456789-._~/")] == '\0',
                  HS_ERR_INPUT, "--sigv4: the URL path must be plain (no query, no escapes)");
    const unsigned char *body = opts.body != NULL ? hs_buf_data(opts.body) : NULL;
    HS_GUARD(load_sha256_hex(body != NULL ? (const void *)body : "",
                             opts.body != NULL ? hs_buf_len(opts.body) : 0, opts.payload_hash));
    opts.signed_names[0] = "host";
    opts.signed_names[1] = "x-amz-date";
    for (size_t i = 0; i < opts.nheaders; i++) {
        opts.signed_names[2 + i] = opts.headers[i].name;
    }
    opts.nsigned = opts.nheaders + 2;
    qsort(opts.signed_names, opts.nsigned, sizeof(opts.signed_names[0]), load_cmp_str);
    return HS_OK;
}

static HS_RESULT load_opts_parse(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--sign-each") == 0) {
            opts.sign_each = true;
            continue;
        }
        HS_ENSURE_MSG(i + 1 < argc, HS_ERR_INPUT, "%s needs a value", argv[i]);
        HS_GUARD(load_option(argv[i], argv[i + 1]));
        i++;
    }
    HS_ENSURE_MSG(opts.url != NULL, HS_ERR_INPUT, "--url is required");
    HS_GUARD(load_url_parse(opts.url, &target));
    opts.method = opts.method != NULL ? opts.method : (opts.body != NULL ? "POST" : "GET");
    if (opts.sigv4) {
        HS_GUARD(load_sigv4_prepare());
    }
    return HS_OK;
}

/* --- SigV4 --------------------------------------------------------------------------------- */

static const char *load_signed_value(const char *name, const char *amz_date, size_t *len)
{
    if (strcmp(name, "host") == 0) {
        *len = strlen(target.authority);
        return target.authority;
    }
    if (strcmp(name, "x-amz-date") == 0) {
        *len = strlen(amz_date);
        return amz_date;
    }
    for (size_t i = 0; i < opts.nheaders; i++) {
        if (strcmp(name, opts.headers[i].name) == 0) {
            *len = opts.headers[i].value_len;
            return opts.headers[i].value;
        }
    }
    *len = 0;
    return "";
}

/* The hex SHA-256 of the canonical request, and the SignedHeaders list in names. */
static HS_RESULT load_canonical_hash(const char *amz_date, char hash[2 * 32 + 1],
                                     struct hs_buf *names)
{
    HS_DEFER(struct hs_buf *c = hs_buf_new(LOAD_CANONICAL_MAX), hs_buf_freep);
    HS_ENSURE(c != NULL, HS_ERR_NOMEM);
    HS_GUARD(load_put(c, opts.method, "\n", target.path, "\n\n", NULL));
    for (size_t i = 0; i < opts.nsigned; i++) {
        size_t len = 0;
        const char *v = load_signed_value(opts.signed_names[i], amz_date, &len);
        HS_GUARD(load_put(c, opts.signed_names[i], ":", NULL));
        HS_GUARD(hs_buf_put(c, v, len));
        HS_GUARD(hs_buf_put_byte(c, '\n'));
        HS_GUARD(load_put(names, i > 0 ? ";" : "", opts.signed_names[i], NULL));
    }
    HS_GUARD(hs_buf_put_byte(c, '\n'));
    HS_GUARD(hs_buf_put(c, hs_buf_data(names), hs_buf_len(names)));
    HS_GUARD(load_put(c, "\n", opts.payload_hash, NULL));
    return load_sha256_hex(hs_buf_data(c), hs_buf_len(c), hash);
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
static HS_RESULT load_signing_key(const char *date, unsigned char out[32])
{
    const unsigned char *secret = NULL;
    size_t secret_len = 0;
    hs_secret_get0(opts.secret, &secret, &secret_len);
    HS_DEFER(struct hs_buf *k = hs_buf_new_sensitive(HS_SECRET_MAX + 4), hs_buf_freep);
    HS_ENSURE(k != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put_str(k, "AWS4"));
    HS_GUARD(hs_buf_put(k, secret, secret_len));
    HS_GUARD(load_hmac(hs_buf_data(k), hs_buf_len(k), date, out));
    HS_GUARD(load_hmac(out, 32, opts.region, out));
    HS_GUARD(load_hmac(out, 32, opts.service, out));
    return load_hmac(out, 32, "aws4_request", out);
}

/* The X-Amz-Date and Authorization header lines for a request sent at now. */
static HS_RESULT load_sigv4_headers(time_t now, struct hs_buf *out)
{
    struct tm tm;
    char amz_date[17];
    char date[9];
    HS_ENSURE(gmtime_r(&now, &tm) != NULL, HS_ERR_INTERNAL);
    HS_ENSURE(strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm) == 16, HS_ERR_INTERNAL);
    memcpy(date, amz_date, 8);
    date[8] = '\0';
    HS_DEFER(struct hs_buf *names = hs_buf_new(LOAD_AUTHZ_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *sts = hs_buf_new(LOAD_AUTHZ_MAX), hs_buf_freep);
    HS_ENSURE(names != NULL && sts != NULL, HS_ERR_NOMEM);
    char hash[2 * 32 + 1];
    HS_GUARD(load_canonical_hash(amz_date, hash, names));
    HS_GUARD(load_put(sts, "AWS4-HMAC-SHA256\n", amz_date, "\n", date, "/", opts.region, "/",
                      opts.service, "/aws4_request\n", hash, NULL));
    const char *sts_str = NULL;
    const char *names_str = NULL;
    HS_GUARD(hs_buf_cstr(sts, &sts_str));
    unsigned char key[32];
    unsigned char sig[32];
    char sig_hex[2 * 32 + 1];
    HS_GUARD(load_signing_key(date, key));
    hs_result r = load_hmac(key, sizeof(key), sts_str, sig);
    OPENSSL_cleanse(key, sizeof(key));
    HS_GUARD(r);
    load_hex(sig, sizeof(sig), sig_hex);
    HS_GUARD(hs_buf_cstr(names, &names_str));
    return load_put(out, "X-Amz-Date: ", amz_date,
                    "\r\nAuthorization: AWS4-HMAC-SHA256 Credential=", opts.akid, "/", date, "/",
                    opts.region, "/", opts.service, "/aws4_request, SignedHeaders=", names_str,
                    ", Signature=", sig_hex, "\r\n", NULL);
}

/* --- raw client ---------------------------------------------------------------------------- */

/* The whole request: request line, Host, the --headers, SigV4, Content-Length, body. */
static HS_RESULT load_request_build(struct hs_buf *b, time_t now)
{
    hs_buf_reset(b);
    HS_GUARD(load_put(b, opts.method, " ", target.path, " HTTP/1.1\r\nHost: ", target.authority,
                      "\r\n", NULL));
    for (size_t i = 0; i < opts.nheaders; i++) {
        HS_GUARD(load_put(b, opts.headers[i].line, "\r\n", NULL));
    }
    if (opts.sigv4) {
        HS_GUARD(load_sigv4_headers(now, b));
    }
    if (opts.body != NULL) {
        char len[32];
        int n = snprintf(len, sizeof(len), "%zu", hs_buf_len(opts.body));
        HS_ENSURE(n > 0 && (size_t)n < sizeof(len), HS_ERR_INTERNAL);
        HS_GUARD(load_put(b, "Content-Length: ", len, "\r\n", NULL));
    }
    HS_GUARD(hs_buf_put_str(b, "\r\n"));
    if (opts.body != NULL) {
        HS_GUARD(hs_buf_put(b, hs_buf_data(opts.body), hs_buf_len(opts.body)));
    }
    return HS_OK;
}

static void load_close(struct load_worker *w)
{
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
}

static HS_RESULT load_connect(struct load_worker *w)
{
    if (w->fd >= 0) {
        return HS_OK;
    }
    int fd = socket(target.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    HS_ENSURE_MSG(fd >= 0, HS_ERR_IO, "socket: %s", strerror(errno));
    int one = 1;
    struct timeval tv = {(time_t)opts.timeout,
                         (suseconds_t)((opts.timeout - (double)(time_t)opts.timeout) * 1e6)};
    /* SO_SNDTIMEO bounds connect() too: these are the connect and total timeouts. */
    bool ok = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0 &&
              setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
              setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0 &&
              connect(fd, (const struct sockaddr *)&target.addr, target.addr_len) == 0;
    int err = errno;
    if (!ok) {
        close(fd);
    }
    HS_ENSURE_MSG(ok, HS_ERR_IO, "connect: %s", strerror(err));
    w->fd = fd;
    return HS_OK;
}

static HS_RESULT load_send_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        HS_ENSURE_MSG(k > 0, HS_ERR_IO, "send: %s", k < 0 ? strerror(errno) : "closed");
        p += k;
        n -= (size_t)k;
    }
    return HS_OK;
}

enum load_parse {
    LOAD_PARSE_MORE,
    LOAD_PARSE_DONE,
    LOAD_PARSE_BAD,
};

/* Case-insensitive: does the n bytes at p contain word? */
static bool load_span_has(const unsigned char *p, size_t n, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = 0; i + w <= n; i++) {
        if (strncasecmp((const char *)p + i, word, w) == 0) {
            return true;
        }
    }
    return false;
}

/* Walks a chunked body; with compact, moves the data of the chunks together (only once the
 * whole body is known to be there). */
static enum load_parse load_chunks(unsigned char *p, size_t n, bool compact, size_t *out_len)
{
    size_t i = 0;
    size_t w = 0;
    for (;;) {
        const unsigned char *eol = memmem(p + i, n - i, "\r\n", 2);
        if (eol == NULL) {
            return LOAD_PARSE_MORE;
        }
        size_t size = 0;
        size_t digits = 0;
        for (; p + i + digits < eol && isxdigit(p[i + digits]); digits++) {
            unsigned char c = p[i + digits];
            size = size * 16 + (size_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
            if (size > LOAD_RESPONSE_MAX) {
                return LOAD_PARSE_BAD;
            }
        }
        if (digits == 0) {
            return LOAD_PARSE_BAD;
        }
        i = (size_t)(eol - p) + 2;
        if (size == 0) {
            break;
        }
        if (n - i < size + 2) {
            return LOAD_PARSE_MORE;
        }
        if (compact) {
            memmove(p + w, p + i, size);
        }
        w += size;
        i += size + 2;
    }
    /* Trailer lines up to an empty one. */
    for (;;) {
        const unsigned char *eol = memmem(p + i, n - i, "\r\n", 2);
        if (eol == NULL) {
            return LOAD_PARSE_MORE;
        }
        if (eol == p + i) {
            *out_len = w;
            return LOAD_PARSE_DONE;
        }
        i = (size_t)(eol - p) + 2;
    }
}

/* Is a whole answer in buf[0..len)? eof: the peer has closed the connection. */
static enum load_parse load_http_parse(unsigned char *buf, size_t len, bool eof,
                                       struct load_answer *out)
{
    const unsigned char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (end == NULL) {
        return eof ? LOAD_PARSE_BAD : LOAD_PARSE_MORE;
    }
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || !isdigit(buf[9]) || !isdigit(buf[10]) ||
        !isdigit(buf[11])) {
        return LOAD_PARSE_BAD;
    }
    out->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    out->close = buf[7] == '0';
    long long clen = -1;
    bool chunked = false;
    const unsigned char *line = memmem(buf, len, "\r\n", 2) + 2;
    while (line < end + 2) {
        const unsigned char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
        size_t n = (size_t)(eol - line);
        if (n > 15 && strncasecmp((const char *)line, "content-length:", 15) == 0) {
            clen = strtoll((const char *)line + 15, NULL, 10);
        } else if (n > 18 && strncasecmp((const char *)line, "transfer-encoding:", 18) == 0) {
            chunked = load_span_has(line + 18, n - 18, "chunked");
        } else if (n > 11 && strncasecmp((const char *)line, "connection:", 11) == 0) {
            out->close = load_span_has(line + 11, n - 11, "close");
        }
        line = eol + 2;
    }
    unsigned char *body = (unsigned char *)end + 4;
    size_t avail = len - (size_t)(body - buf);
    out->body = body;
    if (chunked) {
        enum load_parse r = load_chunks(body, avail, false, &out->body_len);
        r = r == LOAD_PARSE_DONE ? load_chunks(body, avail, true, &out->body_len) : r;
        return r == LOAD_PARSE_MORE && eof ? LOAD_PARSE_BAD : r;
    }
    if (clen >= 0) {
        out->body_len = (size_t)clen;
        return avail >= (size_t)clen ? LOAD_PARSE_DONE : (eof ? LOAD_PARSE_BAD : LOAD_PARSE_MORE);
    }
    if (out->status < 200 || out->status == 204 || out->status == 304) {
        out->body_len = 0;
        return LOAD_PARSE_DONE;
    }
    /* No length: the body runs to the end of the connection. */
    out->close = true;
    out->body_len = avail;
    return eof ? LOAD_PARSE_DONE : LOAD_PARSE_MORE;
}

static HS_RESULT load_raw_exchange(struct load_worker *w, struct load_answer *ans)
{
    HS_GUARD(load_connect(w));
    HS_GUARD(load_send_all(w->fd, hs_buf_data(w->request), hs_buf_len(w->request)));
    w->resp_len = 0;
    enum load_parse state = LOAD_PARSE_MORE;
    while (state == LOAD_PARSE_MORE) {
        HS_ENSURE_MSG(w->resp_len < LOAD_RESPONSE_MAX, HS_ERR_INPUT_TOO_LARGE,
                      "answer over %d bytes", LOAD_RESPONSE_MAX);
        ssize_t k = recv(w->fd, w->resp + w->resp_len, LOAD_RESPONSE_MAX - w->resp_len, 0);
        HS_ENSURE_MSG(k >= 0, HS_ERR_IO, "recv: %s", strerror(errno));
        w->resp_len += (size_t)k;
        state = load_http_parse(w->resp, w->resp_len, k == 0, ans);
    }
    HS_ENSURE_MSG(state == LOAD_PARSE_DONE, HS_ERR_IO, "malformed or cut-off answer");
    if (ans->close) {
        load_close(w);
    }
    return HS_OK;
}

/* --- libcurl client ------------------------------------------------------------------------ */

static size_t load_curl_write(char *p, size_t size, size_t nmemb, void *arg)
{
    struct load_worker *w = arg;
    size_t n = size * nmemb;
    if (n > LOAD_RESPONSE_MAX - w->resp_len) {
        return 0; /* libcurl fails the transfer */
    }
    memcpy(w->resp + w->resp_len, p, n);
    w->resp_len += n;
    return n;
}

static HS_RESULT load_curl_setup(struct load_worker *w)
{
    w->curl = curl_easy_init();
    HS_ENSURE(w->curl != NULL, HS_ERR_NOMEM);
    /* No "Expect:" line to suppress 100-continue: libcurl 7.88 would list the suppressed header
     * in SigV4's SignedHeaders, and the server refuses a signed header that is absent. */
    struct curl_slist *h = NULL;
    for (size_t i = 0; i < opts.nheaders; i++) {
        struct curl_slist *next = curl_slist_append(h, opts.headers[i].line);
        if (next == NULL) {
            curl_slist_free_all(h);
        }
        h = next;
        HS_ENSURE(h != NULL, HS_ERR_NOMEM);
    }
    w->curl_headers = h;
    CURL *c = w->curl;
    long ms = (long)(opts.timeout * 1000);
    bool ok = curl_easy_setopt(c, CURLOPT_URL, opts.url) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_HTTPHEADER, h) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, opts.method) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, load_curl_write) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_WRITEDATA, w) == CURLE_OK;
    if (ok && opts.body != NULL) {
        ok = curl_easy_setopt(c, CURLOPT_POSTFIELDS, hs_buf_data(opts.body)) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)hs_buf_len(opts.body)) ==
                 CURLE_OK;
    }
    if (ok && opts.sigv4) {
        char provider[2 * LOAD_FIELD_MAX + 16];
        int n = snprintf(provider, sizeof(provider), "aws:amz:%s:%s", opts.region, opts.service);
        const unsigned char *secret = NULL;
        size_t secret_len = 0;
        hs_secret_get0(opts.secret, &secret, &secret_len);
        /* libcurl copies both strings; the password is its own copy of the secret. */
        HS_DEFER(struct hs_buf *pw = hs_buf_new_sensitive(HS_SECRET_MAX + 1), hs_buf_freep);
        const char *pw_str = NULL;
        ok = n > 0 && (size_t)n < sizeof(provider) && pw != NULL &&
             !hs_failed(hs_buf_put(pw, secret, secret_len)) &&
             !hs_failed(hs_buf_cstr(pw, &pw_str)) &&
             curl_easy_setopt(c, CURLOPT_AWS_SIGV4, provider) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_USERNAME, opts.akid) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_PASSWORD, pw_str) == CURLE_OK;
    }
    HS_ENSURE_MSG(ok, HS_ERR_INTERNAL, "libcurl refused an option");
    return HS_OK;
}

static HS_RESULT load_curl_exchange(struct load_worker *w, struct load_answer *ans)
{
    w->resp_len = 0;
    CURLcode rc = curl_easy_perform(w->curl);
    HS_ENSURE_MSG(rc == CURLE_OK, HS_ERR_IO, "curl: %s", curl_easy_strerror(rc));
    long status = 0;
    HS_ENSURE(curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK,
              HS_ERR_INTERNAL);
    ans->status = (int)status;
    ans->body = w->resp;
    ans->body_len = w->resp_len;
    return HS_OK;
}

/* --- workers ------------------------------------------------------------------------------- */

static HS_RESULT load_worker_init(struct load_worker *w)
{
    w->fd = -1;
    w->signed_at = (time_t)-1;
    w->cap = LOAD_SAMPLES_INIT;
    w->lat = malloc(w->cap * sizeof(w->lat[0]));
    w->resp = malloc(LOAD_RESPONSE_MAX);
    w->request = hs_buf_new(LOAD_REQUEST_MAX);
    HS_ENSURE(w->lat != NULL && w->resp != NULL && w->request != NULL, HS_ERR_NOMEM);
    if (opts.client == LOAD_CLIENT_CURL) {
        return load_curl_setup(w);
    }
    return load_request_build(w->request, time(NULL));
}

static void load_worker_clear(struct load_worker *w)
{
    load_close(w);
    free(w->lat);
    free(w->resp);
    hs_buf_free(w->request);
    curl_easy_cleanup(w->curl);
    curl_slist_free_all(w->curl_headers);
    memset(w, 0, sizeof(*w));
}

static void load_error_note(struct load_worker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void load_error_note(struct load_worker *w, const char *fmt, ...)
{
    if (w->first_error[0] != '\0') {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->first_error, sizeof(w->first_error), fmt, ap);
    va_end(ap);
}

/* Counts one answer (or failure); returns true for a busy answer (--busy-status), which is
 * neither a success nor an error. */
static bool load_judge(struct load_worker *w, hs_result r, const struct load_answer *ans)
{
    if (!hs_failed(r) && opts.busy_status != 0 && ans->status == opts.busy_status) {
        return true;
    }
    if (hs_failed(r)) {
        w->net_errors++;
        load_error_note(w, "%s: %s", hs_code_name(r.code), hs_error_last()->detail);
        load_close(w);
    } else if (ans->status < 200 || ans->status > 299) {
        w->status_errors++;
        int n = (int)(ans->body_len < 120 ? ans->body_len : 120);
        load_error_note(w, "HTTP %d: %.*s", ans->status, n, (const char *)ans->body);
    } else if (opts.expect != NULL &&
               memmem(ans->body, ans->body_len, opts.expect, strlen(opts.expect)) == NULL) {
        w->body_errors++;
        load_error_note(w, "HTTP %d without \"%s\"", ans->status, opts.expect);
    }
    return false;
}

static bool load_record(struct load_worker *w, double us)
{
    if (w->n == w->cap) {
        uint32_t *more = realloc(w->lat, 2 * w->cap * sizeof(w->lat[0]));
        if (more == NULL) {
            return false;
        }
        w->lat = more;
        w->cap *= 2;
    }
    w->lat[w->n++] = us > (double)UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    return true;
}

static void *load_worker_main(void *arg)
{
    struct load_worker *w = arg;
    for (;;) {
        double t0 = load_now();
        if (t0 >= load_end) {
            break;
        }
        struct load_answer ans = {0};
        hs_result r = HS_OK;
        time_t now = time(NULL);
        if (opts.client == LOAD_CLIENT_RAW && opts.sigv4 &&
            (opts.sign_each || now != w->signed_at)) {
            r = load_request_build(w->request, now);
            w->signed_at = now;
        }
        if (!hs_failed(r)) {
            r = opts.client == LOAD_CLIENT_CURL ? load_curl_exchange(w, &ans)
                                                : load_raw_exchange(w, &ans);
        }
        double t1 = load_now();
        bool busy = load_judge(w, r, &ans);
        if (busy) {
            w->busy += t0 >= load_measure_from;
            continue;
        }
        if (t0 >= load_measure_from && !load_record(w, (t1 - t0) * 1e6)) {
            load_error_note(w, "out of memory for samples");
            w->net_errors++;
            break;
        }
    }
    return NULL;
}

/* --- CPU accounting ------------------------------------------------------------------------ */

struct load_cpu {
    double self_s;
    double server_s;
    unsigned long long busy; /* jiffies, all CPUs */
    unsigned long long total;
};

static double load_proc_cpu_s(long pid)
{
    char path[64];
    char text[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(text, 1, sizeof(text) - 1, f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    text[n] = '\0';
    const char *p = strrchr(text, ')');
    unsigned long utime = 0;
    unsigned long stime = 0;
    /* After "(comm)": state, then fields 4..13, then utime (14) and stime (15). */
    if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                            &stime) != 2) {
        return 0;
    }
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static void load_cpu_sample(struct load_cpu *out)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    out->self_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                  (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    out->server_s = opts.server_pid > 0 ? load_proc_cpu_s(opts.server_pid) : 0;
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                            &v[3], &v[4], &v[5], &v[6], &v[7]) != 8) {
        memset(v, 0, sizeof(v));
    }
    if (f != NULL) {
        fclose(f);
    }
    /* user nice system idle iowait irq softirq steal */
    out->busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    out->total = out->busy + v[3] + v[4];
}

/* --- main ---------------------------------------------------------------------------------- */

static int load_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a;
    uint32_t y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank. */
static double load_pct_ms(const uint32_t *v, size_t n, double p)
{
    if (n == 0) {
        return 0;
    }
    size_t rank = (size_t)(p * (double)n + 0.999999);
    return (double)v[(rank > 0 ? rank : 1) - 1] / 1000.0;
}

static int load_report(struct load_worker *workers, int nw, const struct load_cpu *a,
                       const struct load_cpu *b)
{
    size_t total = 0;
    size_t errors = 0;
    size_t busy = 0;
    const char *first = NULL;
    for (int i = 0; i < nw; i++) {
        total += workers[i].n;
        busy += workers[i].busy;
        size_t e = workers[i].net_errors + workers[i].status_errors + workers[i].body_errors;
        errors += e;
        first = first == NULL && e > 0 ? workers[i].first_error : first;
    }
    uint32_t *all = malloc((total > 0 ? total : 1) * sizeof(*all));
    if (all == NULL) {
        fprintf(stderr, "http_load: out of memory\n");
        return 1;
    }
    size_t k = 0;
    for (int i = 0; i < nw; i++) {
        memcpy(all + k, workers[i].lat, workers[i].n * sizeof(*all));
        k += workers[i].n;
    }
    qsort(all, total, sizeof(*all), load_cmp_u32);
    double window = load_end - load_measure_from;
    double ncpu = (double)sysconf(_SC_NPROCESSORS_ONLN);
    double jiffies = (double)(b->total - a->total);
    printf("rps=%.1f n=%zu p50_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%zu client_cpu=%.2f "
           "server_cpu=%.2f machine_cpu=%.2f concurrency=%d client=%s busy=%zu busy_rps=%.1f\n",
           (double)total / window, total, load_pct_ms(all, total, 0.50),
           load_pct_ms(all, total, 0.99), total > 0 ? (double)all[total - 1] / 1000.0 : 0.0, errors,
           (b->self_s - a->self_s) / window, (b->server_s - a->server_s) / window,
           jiffies > 0 ? ncpu * (double)(b->busy - a->busy) / jiffies : 0.0, opts.concurrency,
           opts.client == LOAD_CLIENT_CURL ? "curl" : "raw", busy, (double)busy / window);
    free(all);
    if (errors > 0) {
        fprintf(stderr, "http_load: %zu error(s); first: %s\n", errors, first);
    }
    if (total == 0 && busy > 0) {
        /* A measurement too: nothing but busy answers (a starved request class). */
        fprintf(stderr, "http_load: every answer in the window was HTTP %d\n", opts.busy_status);
    }
    return errors > 0 || (total == 0 && busy == 0) ? 1 : 0;
}

static int load_run(void)
{
    struct load_worker *workers = calloc((size_t)opts.concurrency, sizeof(*workers));
    int started = 0;
    bool ok = workers != NULL;
    for (int i = 0; ok && i < opts.concurrency; i++) {
        hs_result r = load_worker_init(&workers[i]);
        ok = !hs_failed(r);
        if (!ok) {
            fprintf(stderr, "http_load: %s: %s\n", hs_code_name(r.code), hs_error_last()->detail);
        }
    }
    double start = load_now();
    load_measure_from = start + opts.warmup;
    load_end = load_measure_from + opts.seconds;
    for (; ok && started < opts.concurrency; started++) {
        ok = pthread_create(&workers[started].thread, NULL, load_worker_main, &workers[started]) ==
             0;
    }
    struct load_cpu a = {0};
    struct load_cpu b = {0};
    if (ok) {
        load_sleep_until(load_measure_from);
        load_cpu_sample(&a);
        load_sleep_until(load_end);
        load_cpu_sample(&b);
    }
    for (int i = 0; i < started; i++) {
        pthread_join(workers[i].thread, NULL);
    }
    int rc = ok ? load_report(workers, opts.concurrency, &a, &b) : 1;
    for (int i = 0; workers != NULL && i < opts.concurrency; i++) {
        load_worker_clear(&workers[i]);
    }
    free(workers);
    return rc;
}

/* Polls GET URL until it answers 2xx; prints the wall-clock time of that answer. */
static int load_ready(void)
{
    struct load_worker w = {.fd = -1};
    w.resp = malloc(LOAD_RESPONSE_MAX);
    w.request = hs_buf_new(LOAD_REQUEST_MAX);
    opts.method = "GET";
    opts.sigv4 = false;
    double deadline = load_now() + opts.ready;
    long probes = 0;
    int rc = 1;
    bool ok = w.resp != NULL && w.request != NULL && !hs_failed(load_request_build(w.request, 0));
    while (ok && load_now() < deadline) {
        struct load_answer ans = {0};
        probes++;
        if (!hs_failed(load_raw_exchange(&w, &ans)) && ans.status >= 200 && ans.status <= 299) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            printf("ready_epoch_us=%lld probes=%ld\n",
                   (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000, probes);
            rc = 0;
            break;
        }
        load_close(&w);
        struct timespec pause = {0, LOAD_READY_PROBE_NS};
        nanosleep(&pause, NULL);
    }
    if (rc != 0) {
        fprintf(stderr, "http_load: %s did not answer 2xx within %.1f s\n", opts.url, opts.ready);
    }
    load_worker_clear(&w);
    return rc;
}

static void load_usage(void)
{
    fputs("usage: http_load --url URL [--method M] [--body-file F] [--header 'Name: value']...\n"
          "         [--sigv4 REGION/SERVICE --user AKID:SECRET_FILE] [--concurrency N]\n"
          "         [--seconds S] [--warmup S] [--timeout S] [--expect TEXT] [--server-pid PID]\n"
          "         [--client raw|curl] [--sign-each]\n"
          "       http_load --url URL --ready S\n",
          stderr);
}

int main(int argc, char **argv)
{
    /* The SigV4 secret lives on the secure heap, like every credential in hsmsign. */
    if (hs_failed(hs_secure_init(65536))) {
        fprintf(stderr, "http_load: %s\n", hs_error_last()->detail);
        return 1;
    }
    hs_result r = load_opts_parse(argc, argv);
    if (hs_failed(r)) {
        fprintf(stderr, "http_load: %s\n", hs_error_last()->detail);
        load_usage();
        return 2;
    }
    if (opts.ready > 0) {
        return load_ready();
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return 1;
    }
    int rc = load_run();
    curl_global_cleanup();
    hs_buf_free(opts.body);
    hs_secret_free(opts.secret);
    return rc;
}
