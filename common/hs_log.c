#include "common/hs_log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"

#define HS_LOG_REQ_ID_MAX 64
#define HS_LOG_HEX_MAX 512 /* bytes of a HEX field rendered; fingerprints are far shorter */

static enum hs_log_level hs_log_threshold = HS_LOG_INFO;
static FILE *hs_log_stream;
static atomic_ulong hs_log_drops;
static _Thread_local char hs_log_tls_req_id[HS_LOG_REQ_ID_MAX];

static const char *const hs_log_level_names[] = {"debug", "info", "warn", "error"};

void hs_log_set_level(enum hs_log_level level)
{
    hs_log_threshold = level;
}

void hs_log_init(void)
{
    const char *v = getenv("HSMSIGN_LOG_LEVEL");
    if (v == NULL) {
        return;
    }
    for (size_t i = 0; i < sizeof(hs_log_level_names) / sizeof(hs_log_level_names[0]); i++) {
        if (strcmp(v, hs_log_level_names[i]) == 0) {
            hs_log_threshold = (enum hs_log_level)i;
        }
    }
}

void hs_log_set_stream(FILE *stream)
{
    hs_log_stream = stream;
}

void hs_log_set_req_id(const char *req_id)
{
    if (req_id == NULL) {
        hs_log_tls_req_id[0] = '\0';
        return;
    }
    size_t n = strnlen(req_id, sizeof(hs_log_tls_req_id) - 1);
    memcpy(hs_log_tls_req_id, req_id, n);
    hs_log_tls_req_id[n] = '\0';
}

const char *hs_log_req_id(void)
{
    return hs_log_tls_req_id;
}

unsigned long hs_log_dropped(void)
{
    return atomic_load(&hs_log_drops);
}

/* The thread's last formatted second: gmtime_r and strftime run once per second and thread,
 * not once per line. */
static _Thread_local time_t hs_log_tls_sec = (time_t)-1;
static _Thread_local char hs_log_tls_sec_text[32];
static _Thread_local size_t hs_log_tls_sec_len;

/* RFC 3339 UTC with milliseconds: 2026-11-21T19:24:05.123Z (24 characters). */
static void hs_log_timestamp(char out[32])
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec != hs_log_tls_sec) {
        struct tm tm;
        gmtime_r(&now.tv_sec, &tm);
        hs_log_tls_sec_len =
            strftime(hs_log_tls_sec_text, sizeof(hs_log_tls_sec_text), "%Y-%m-%dT%H:%M:%S", &tm);
        hs_log_tls_sec = hs_log_tls_sec_len != 0 ? now.tv_sec : (time_t)-1;
    }
    size_t n = hs_log_tls_sec_len;
    long ms = now.tv_nsec / 1000000;
    if (n == 0 || n + 6 > 32) {
        out[0] = '\0';
        return;
    }
    memcpy(out, hs_log_tls_sec_text, n);
    out[n++] = '.';
    out[n++] = (char)('0' + (ms / 100) % 10);
    out[n++] = (char)('0' + (ms / 10) % 10);
    out[n++] = (char)('0' + ms % 10);
    out[n++] = 'Z';
    out[n] = '\0';
}

/* --- the line ------------------------------------------------------------------------------
 * Written straight into one bounded buffer with hs_json's writer (the bytes json-c printed
 * from a tree of the same members, without the tree's ~30 allocations per line). */

#define HS_LOG_LINE_MAX (64 * 1024) /* bytes of one line; a longer one is dropped and counted */
#define HS_LOG_LINE_START 1024      /* bytes reserved up front: most lines fit */
#define HS_LOG_SRC_FILE_MAX 100     /* bytes of a src file name kept */

/* The members every line starts with, in order. A field of the same name replaces the value
 * (as json-c's object did), and so does a later field repeating an earlier one's name. */
static const char *const hs_log_fixed[] = {"ts", "level", "event", "req_id", "src"};
#define HS_LOG_FIXED_N (sizeof(hs_log_fixed) / sizeof(hs_log_fixed[0]))

static HS_RESULT hs_log_put_str(struct hs_buf *b, const char *s)
{
    if (s == NULL) {
        return hs_buf_put_str(b, "null");
    }
    return hs_json_put_string(b, s, strlen(s), HS_JSON_UTF8_REPLACE);
}

/* "file:line" with the file's base name (cut at HS_LOG_SRC_FILE_MAX bytes). */
static HS_RESULT hs_log_put_src(struct hs_buf *b, const char *file, int line)
{
    const char *base = file != NULL ? strrchr(file, '/') : NULL;
    base = base != NULL ? base + 1 : (file != NULL ? file : "?");
    char src[HS_LOG_SRC_FILE_MAX + 16];
    size_t n = strnlen(base, HS_LOG_SRC_FILE_MAX);
    memcpy(src, base, n);
    src[n++] = ':';
    char digits[12];
    size_t d = sizeof(digits);
    unsigned int v = line < 0 ? 0U : (unsigned int)line;
    do {
        digits[--d] = (char)('0' + v % 10U);
        v /= 10U;
    } while (v != 0 && d > 0);
    memcpy(src + n, digits + d, sizeof(digits) - d);
    n += sizeof(digits) - d;
    return hs_json_put_string(b, src, n, HS_JSON_UTF8_REPLACE);
}

static HS_RESULT hs_log_put_hex(struct hs_buf *b, const unsigned char *p, size_t n)
{
    if (p == NULL) {
        return hs_buf_put_str(b, "null");
    }
    HS_GUARD(hs_buf_put_byte(b, '"'));
    HS_GUARD(hs_buf_put_hex(b, p, n < HS_LOG_HEX_MAX ? n : HS_LOG_HEX_MAX));
    return hs_buf_put_byte(b, '"');
}

/* The thread's last error as an object: code, class, at, and ckr, ossl, errno, detail when
 * set. e is the copy taken before the line was begun. */
static HS_RESULT hs_log_put_error(struct hs_buf *b, const struct hs_error *e)
{
    HS_GUARD(hs_buf_put_byte(b, '{'));
    HS_GUARD(hs_json_put_name(b, "code", true));
    HS_GUARD(hs_log_put_str(b, hs_code_name(e->code)));
    HS_GUARD(hs_json_put_name(b, "class", false));
    HS_GUARD(hs_json_put_int(b, (int32_t)hs_code_class(e->code)));
    HS_GUARD(hs_json_put_name(b, "at", false));
    HS_GUARD(hs_log_put_src(b, e->file, e->line));
    if (e->ckr_name != NULL) {
        HS_GUARD(hs_json_put_name(b, "ckr", false));
        HS_GUARD(hs_log_put_str(b, e->ckr_name));
    }
    if (e->ossl != 0) {
        HS_GUARD(hs_json_put_name(b, "ossl", false));
        HS_GUARD(hs_json_put_uint(b, e->ossl));
    }
    if (e->sys_errno != 0) {
        HS_GUARD(hs_json_put_name(b, "errno", false));
        HS_GUARD(hs_json_put_int(b, e->sys_errno));
    }
    if (e->detail[0] != '\0') {
        HS_GUARD(hs_json_put_name(b, "detail", false));
        HS_GUARD(hs_json_put_string(b, e->detail, strnlen(e->detail, sizeof(e->detail)),
                                    HS_JSON_UTF8_REPLACE));
    }
    return hs_buf_put_byte(b, '}');
}

static HS_RESULT hs_log_put_value(struct hs_buf *b, const struct hs_log_field *f,
                                  const struct hs_error *e)
{
    switch (f->type) {
    case HS_LOG_T_STR:
        return hs_log_put_str(b, f->v.s);
    case HS_LOG_T_INT:
        return hs_json_put_int(b, f->v.i);
    case HS_LOG_T_BOOL:
        return hs_buf_put_str(b, f->v.b ? "true" : "false");
    case HS_LOG_T_HEX:
        return hs_log_put_hex(b, f->v.bytes.p, f->v.bytes.n);
    case HS_LOG_T_ERROR:
        return hs_log_put_error(b, e);
    case HS_LOG_T_END:
    default:
        return hs_buf_put_str(b, "null");
    }
}

/* Whether two member names are the same (most differ in their first byte). */
static bool hs_log_same_name(const char *a, const char *b)
{
    return a == b || (a[0] == b[0] && strcmp(a, b) == 0);
}

/* The index of the last field named key, or SIZE_MAX when none is. */
static size_t hs_log_last_named(const struct hs_log_field *fields, size_t n, const char *key)
{
    size_t found = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        found = fields[i].key != NULL && hs_log_same_name(fields[i].key, key) ? i : found;
    }
    return found;
}

/* Whether field i's name was written already: a fixed member's, or an earlier field's. */
static bool hs_log_name_taken(const struct hs_log_field *fields, size_t i)
{
    for (size_t k = 0; k < HS_LOG_FIXED_N; k++) {
        if (hs_log_same_name(fields[i].key, hs_log_fixed[k])) {
            return true;
        }
    }
    for (size_t j = 0; j < i; j++) {
        if (fields[j].key != NULL && hs_log_same_name(fields[j].key, fields[i].key)) {
            return true;
        }
    }
    return false;
}

/* The fixed member k: its own value, or that of the last field of its name. */
static HS_RESULT hs_log_put_fixed(struct hs_buf *b, size_t k, const char *const fixed[],
                                  const struct hs_log_field *fields, size_t n,
                                  const struct hs_error *e)
{
    HS_GUARD(hs_json_put_name(b, hs_log_fixed[k], k == 0));
    size_t over = hs_log_last_named(fields, n, hs_log_fixed[k]);
    if (over != SIZE_MAX) {
        return hs_log_put_value(b, &fields[over], e);
    }
    return hs_log_put_str(b, fixed[k]);
}

static HS_RESULT hs_log_build(struct hs_buf *b, const char *const fixed[], const char *file,
                              int line, const struct hs_log_field *fields, const struct hs_error *e)
{
    HS_ENSURE(b != NULL, HS_ERR_NOMEM);
    unsigned char *room = NULL;
    HS_GUARD(hs_buf_reserve(b, HS_LOG_LINE_START, &room));
    size_t n = 0;
    while (fields != NULL && fields[n].type != HS_LOG_T_END) {
        n++;
    }
    HS_GUARD(hs_buf_put_byte(b, '{'));
    for (size_t k = 0; k < HS_LOG_FIXED_N; k++) {
        if (k == HS_LOG_FIXED_N - 1 && hs_log_last_named(fields, n, "src") == SIZE_MAX) {
            HS_GUARD(hs_json_put_name(b, "src", false));
            HS_GUARD(hs_log_put_src(b, file, line));
            continue;
        }
        HS_GUARD(hs_log_put_fixed(b, k, fixed, fields, n, e));
    }
    for (size_t i = 0; i < n; i++) {
        if (fields[i].key == NULL || hs_log_name_taken(fields, i)) {
            continue;
        }
        HS_GUARD(hs_json_put_name(b, fields[i].key, false));
        HS_GUARD(hs_log_put_value(b, &fields[hs_log_last_named(fields, n, fields[i].key)], e));
    }
    return hs_buf_put_str(b, "}\n");
}

/* Each thread builds its lines in a buffer of its own, kept between lines (one allocation per
 * thread, not two per line) and freed when the thread ends; one that grew beyond
 * HS_LOG_LINE_KEEP for a long line is given back after it. */
#define HS_LOG_LINE_KEEP (4 * HS_LOG_LINE_START)

static pthread_key_t hs_log_line_key;
static pthread_once_t hs_log_line_once = PTHREAD_ONCE_INIT;
static bool hs_log_line_key_ok;
static _Thread_local struct hs_buf *hs_log_tls_line;

static void hs_log_line_free(void *p)
{
    hs_buf_free(p);
}

static void hs_log_line_key_make(void)
{
    hs_log_line_key_ok = pthread_key_create(&hs_log_line_key, hs_log_line_free) == 0;
}

/* The thread's line buffer, empty; NULL when out of memory. */
static struct hs_buf *hs_log_line_get(void)
{
    if (hs_log_tls_line != NULL) {
        hs_buf_reset(hs_log_tls_line);
        return hs_log_tls_line;
    }
    (void)pthread_once(&hs_log_line_once, hs_log_line_key_make);
    struct hs_buf *b = hs_buf_new(HS_LOG_LINE_MAX);
    /* Without a key to free it at thread exit, a buffer lives for one line only. */
    if (b != NULL && hs_log_line_key_ok && pthread_setspecific(hs_log_line_key, b) == 0) {
        hs_log_tls_line = b;
    }
    return b;
}

/* Gives the line buffer back when it is not the thread's kept one or grew too big. */
static void hs_log_line_put(struct hs_buf *b)
{
    if (b == NULL || (b == hs_log_tls_line && hs_buf_len(b) <= HS_LOG_LINE_KEEP)) {
        return;
    }
    if (b == hs_log_tls_line) {
        (void)pthread_setspecific(hs_log_line_key, NULL);
        hs_log_tls_line = NULL;
    }
    hs_buf_free(b);
}

HS_DEFINE_FREEP(hs_log_line_putp, struct hs_buf, hs_log_line_put)

void hs_log_emit(enum hs_log_level level, const char *event, const char *file, int line,
                 const struct hs_log_field *fields)
{
    if (level < hs_log_threshold || level > HS_LOG_ERROR) {
        return;
    }
    /* Building the line must not disturb the error the caller may be about to handle. */
    struct hs_error saved = *hs_error_last();
    char ts[32];
    hs_log_timestamp(ts);
    const char *const fixed[] = {ts, hs_log_level_names[level], event != NULL ? event : "?",
                                 hs_log_tls_req_id, NULL};
    HS_DEFER(struct hs_buf *text = hs_log_line_get(), hs_log_line_putp);
    if (hs_failed(hs_log_build(text, fixed, file, line, fields, &saved))) {
        hs_error_restore(&saved);
        atomic_fetch_add(&hs_log_drops, 1);
        return;
    }
    FILE *out = hs_log_stream != NULL ? hs_log_stream : stdout;
    size_t len = hs_buf_len(text);
    /* One locked stdio call per line keeps concurrent lines whole. */
    flockfile(out);
    bool ok = fwrite(hs_buf_data(text), 1, len, out) == len && fflush(out) == 0;
    funlockfile(out);
    if (!ok) {
        atomic_fetch_add(&hs_log_drops, 1);
    }
}
