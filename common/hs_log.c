#include "common/hs_log.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "common/hs_defer.h"

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

/* Adds key (a string that outlives obj: a literal or a field's key, obj living only for one
 * hs_log_emit call) without json-c's copy of it. */
static void hs_log_add(json_object *obj, const char *key, json_object *value)
{
    json_object_object_add_ex(obj, key, value, JSON_C_OBJECT_ADD_CONSTANT_KEY);
}

static void hs_log_add_src(json_object *obj, const char *key, const char *file, int line)
{
    const char *base = file != NULL ? strrchr(file, '/') : NULL;
    base = base != NULL ? base + 1 : (file != NULL ? file : "?");
    char src[128];
    /* file:line; a long file name is truncated, which only shortens the diagnostic. */
    (void)snprintf(src, sizeof(src), "%s:%d", base, line);
    hs_log_add(obj, key, json_object_new_string(src));
}

static json_object *hs_log_hex(const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    if (p == NULL) {
        return NULL;
    }
    char text[2 * HS_LOG_HEX_MAX];
    char *w = text;
    const unsigned char *end = p + (n < HS_LOG_HEX_MAX ? n : HS_LOG_HEX_MAX);
    for (const unsigned char *q = p; q < end; q++) {
        *w++ = digits[*q >> 4];
        *w++ = digits[*q & 0x0f];
    }
    return json_object_new_string_len(text, (int)(w - text));
}

static json_object *hs_log_error_object(void)
{
    const struct hs_error *e = hs_error_last();
    json_object *o = json_object_new_object();
    if (o == NULL) {
        return NULL;
    }
    hs_log_add(o, "code", json_object_new_string(hs_code_name(e->code)));
    hs_log_add(o, "class", json_object_new_int((int32_t)hs_code_class(e->code)));
    hs_log_add_src(o, "at", e->file, e->line);
    if (e->ckr_name != NULL) {
        hs_log_add(o, "ckr", json_object_new_string(e->ckr_name));
    }
    if (e->ossl != 0) {
        hs_log_add(o, "ossl", json_object_new_uint64(e->ossl));
    }
    if (e->sys_errno != 0) {
        hs_log_add(o, "errno", json_object_new_int(e->sys_errno));
    }
    if (e->detail[0] != '\0') {
        hs_log_add(o, "detail", json_object_new_string(e->detail));
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
    hs_log_add(obj, "ts", json_object_new_string(ts));
    hs_log_add(obj, "level", json_object_new_string(hs_log_level_names[level]));
    hs_log_add(obj, "event", json_object_new_string(event != NULL ? event : "?"));
    hs_log_add(obj, "req_id", json_object_new_string(hs_log_tls_req_id));
    hs_log_add_src(obj, "src", file, line);
    for (size_t i = 0; fields != NULL && fields[i].type != HS_LOG_T_END; i++) {
        if (fields[i].key != NULL) {
            hs_log_add(obj, fields[i].key, hs_log_value(&fields[i]));
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
