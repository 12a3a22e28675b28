/*
 * hs_log: structured JSON logging, one object per line, written by hs_json's bounded writer
 * (the bytes json-c printed from an object of the same members; never format strings). A string
 * that is not well-formed UTF-8 is logged with U+FFFD for each bad byte; a field repeating a
 * name replaces its value in place; a line over 64 KiB is dropped and counted.
 *
 * Every line carries ts (UTC, RFC 3339 with milliseconds), level, event (dotted, e.g.
 * "sign.cert.issued"), req_id (the thread's current request, "" when none) and src (file:line),
 * then typed fields. There is deliberately no field type for hs_secret, request bodies or
 * headers: callers log fingerprints (HS_LOG_HEX of a SHA-256), never content.
 *
 *   hs_log(HS_LOG_INFO, "sign.cert.issued", HS_LOG_AUDIT, HS_LOG_STR("serial", serial_hex));
 */
#ifndef HS_LOG_H
#define HS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/hs_err.h"

enum hs_log_level {
    HS_LOG_DEBUG = 0,
    HS_LOG_INFO = 1,
    HS_LOG_WARN = 2,
    HS_LOG_ERROR = 3,
};

enum hs_log_type {
    HS_LOG_T_END = 0,
    HS_LOG_T_STR, /* NUL-terminated string; NULL logs as JSON null */
    HS_LOG_T_INT, /* signed 64-bit */
    HS_LOG_T_BOOL,
    HS_LOG_T_HEX,   /* bytes rendered as lowercase hex (fingerprints, serials) */
    HS_LOG_T_ERROR, /* the thread's hs_error_last(): code, class, at, ckr, ossl, detail */
};

struct hs_log_field {
    enum hs_log_type type;
    const char *key;
    union {
        const char *s;
        long long i;
        bool b;
        struct {
            const unsigned char *p;
            size_t n;
        } bytes;
    } v;
};

#define HS_LOG_STR(k, val) ((struct hs_log_field){.type = HS_LOG_T_STR, .key = (k), .v.s = (val)})
#define HS_LOG_INT(k, val)                                                                         \
    ((struct hs_log_field){.type = HS_LOG_T_INT, .key = (k), .v.i = (long long)(val)})
#define HS_LOG_BOOL(k, val) ((struct hs_log_field){.type = HS_LOG_T_BOOL, .key = (k), .v.b = (val)})
#define HS_LOG_HEX(k, ptr, len)                                                                    \
    ((struct hs_log_field){.type = HS_LOG_T_HEX, .key = (k), .v.bytes = {(ptr), (len)}})
#define HS_LOG_ERR() ((struct hs_log_field){.type = HS_LOG_T_ERROR, .key = "error"})
#define HS_LOG_AUDIT HS_LOG_BOOL("audit", true)
#define HS_LOG_END_FIELD ((struct hs_log_field){.type = HS_LOG_T_END})

#define hs_log(level, event, ...)                                                                  \
    hs_log_emit((level), (event), __FILE__, __LINE__,                                              \
                (const struct hs_log_field[]){__VA_ARGS__ __VA_OPT__(, ) HS_LOG_END_FIELD})

/* Writes one line if level passes the threshold. Never fails: a line that cannot be built is
 * dropped (and counted, see hs_log_dropped()). fields ends with an HS_LOG_T_END entry. */
void hs_log_emit(enum hs_log_level level, const char *event, const char *file, int line,
                 const struct hs_log_field *fields);

/* Sets the minimum level written (default HS_LOG_INFO, or $HSMSIGN_LOG_LEVEL = debug|info|
 * warn|error read by hs_log_init()). */
void hs_log_set_level(enum hs_log_level level);

/* Reads HSMSIGN_LOG_LEVEL. Call once at start, before threads. */
void hs_log_init(void);

/* Directs output to stream (borrowed; default stdout). Call before threads start. */
void hs_log_set_stream(FILE *stream);

/* Sets the calling thread's request id (copied, truncated to 63 bytes; NULL clears it). */
void hs_log_set_req_id(const char *req_id);

/* Lends the calling thread's request id ("" when none). */
const char *hs_log_req_id(void);

/* Number of lines dropped because they could not be built or written. */
unsigned long hs_log_dropped(void);

#endif /* HS_LOG_H */
