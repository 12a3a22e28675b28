#include "common/hs_log.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "common/hs_buf.h"

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

/* RFC 3339 UTC with milliseconds: 2026-11-21T19:24:05.123Z (24 characters). */
static void hs_log_timestamp(char out[32])
{
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    long ms = now.tv_nsec / 1000000;
    if (n == 0 || n + 6 > 32) {
        out[0] = '\0';
        return;
    }
    out[n++] = '.';
    out[n++] = (char)('0' + (ms / 100) % 10);
    out[n++] = (char)('0' + (ms / 10) % 10);
    out[n++] = (char)('0' + ms % 10);
    out[n++] = 'Z';
    out[n] = '\0';
}

static void hs_log_add_src(json_object *obj, const char *key, const char *file, int line)
{
    const char *base = file != NULL ? strrchr(file, '/') : NULL;
    base = base != NULL ? base + 1 : (file != NULL ? file : "?");
    char src[128];
    /* file:line; a long file name is truncated, which only shortens the diagnostic. */
    (void)snprintf(src, sizeof(src), "%s:%d", base, line);
    json_object_object_add(obj, key, json_object_new_string(src));
}

static json_object *hs_log_hex(const unsigned char *p, size_t n)
{
    if (p == NULL) {
        return NULL;
    }
    HS_DEFER(struct hs_buf *b = hs_buf_new(2 * HS_LOG_HEX_MAX + 1), hs_buf_freep);
    const char *s = NULL;
    if (b == NULL || hs_failed(hs_buf_put_hex(b, p, n < HS_LOG_HEX_MAX ? n : HS_LOG_HEX_MAX)) ||
        hs_failed(hs_buf_cstr(b, &s))) {
        return NULL;
    }
    return json_object_new_string(s);
}

static json_object *hs_log_error_object(void)
{
    const struct hs_error *e = hs_error_last();
    json_object *o = json_object_new_object();
    if (o == NULL) {
        return NULL;
    }
    json_object_object_add(o, "code", json_object_new_string(hs_code_name(e->code)));
    json_object_object_add(o, "class", json_object_new_int((int32_t)hs_code_class(e->code)));
    hs_log_add_src(o, "at", e->file, e->line);
    if (e->ckr_name != NULL) {
        json_object_object_add(o, "ckr", json_object_new_string(e->ckr_name));
    }
    if (e->ossl != 0) {
        json_object_object_add(o, "ossl", json_object_new_uint64(e->ossl));
    }
    if (e->sys_errno != 0) {
        json_object_object_add(o, "errno", json_object_new_int(e->sys_errno));
    }
    if (e->detail[0] != '\0') {
        json_object_object_add(o, "detail", json_object_new_string(e->detail));
    }
    return o;
}

static json_object *hs_log_value(const struct hs_log_field *f)
{
    switch (f->type) {
    case HS_LOG_T_STR:
        return f->v.s != NULL ? json_object_new_string(f->v.s) : NULL;
    case HS_LOG_T_INT:
        return json_object_new_int64(f->v.i);
    case HS_LOG_T_BOOL:
        return json_object_new_boolean(f->v.b);
    case HS_LOG_T_HEX:
        return hs_log_hex(f->v.bytes.p, f->v.bytes.n);
    case HS_LOG_T_ERROR:
        return hs_log_error_object();
    case HS_LOG_T_END:
    default:
        return NULL;
    }
}

static void hs_log_putp(json_object **o)
{
    json_object_put(*o);
}

void hs_log_emit(enum hs_log_level level, const char *event, const char *file, int line,
                 const struct hs_log_field *fields)
{
    if (level < hs_log_threshold || level > HS_LOG_ERROR) {
        return;
    }
    HS_DEFER(json_object *obj = json_object_new_object(), hs_log_putp);
    if (obj == NULL) {
        atomic_fetch_add(&hs_log_drops, 1);
        return;
    }
    char ts[32];
    hs_log_timestamp(ts);
    json_object_object_add(obj, "ts", json_object_new_string(ts));
    json_object_object_add(obj, "level", json_object_new_string(hs_log_level_names[level]));
    json_object_object_add(obj, "event", json_object_new_string(event != NULL ? event : "?"));
    json_object_object_add(obj, "req_id", json_object_new_string(hs_log_tls_req_id));
    hs_log_add_src(obj, "src", file, line);
    for (size_t i = 0; fields != NULL && fields[i].type != HS_LOG_T_END; i++) {
        if (fields[i].key != NULL) {
            json_object_object_add(obj, fields[i].key, hs_log_value(&fields[i]));
        }
    }
    const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE);
    FILE *out = hs_log_stream != NULL ? hs_log_stream : stdout;
    /* One locked stdio call per line keeps concurrent lines whole. */
    flockfile(out);
    int ok = text != NULL && fputs(text, out) >= 0 && fputc('\n', out) != EOF && fflush(out) == 0;
    funlockfile(out);
    if (!ok) {
        atomic_fetch_add(&hs_log_drops, 1);
    }
}
