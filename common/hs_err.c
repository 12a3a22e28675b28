#include "common/hs_err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

static _Thread_local struct hs_error hs_tls_error;

struct hs_code_entry {
    enum hs_code code;
    const char *name;
};

static const struct hs_code_entry hs_code_names[] = {
    {HS_ERR_NONE, "ok"},
    {HS_ERR_INPUT, "invalid_input"},
    {HS_ERR_INPUT_TOO_LARGE, "too_large"},
    {HS_ERR_INPUT_JSON, "invalid_json"},
    {HS_ERR_INPUT_FIELD, "invalid_field"},
    {HS_ERR_INPUT_RANGE, "out_of_range"},
    {HS_ERR_INPUT_CSR, "invalid_csr"},
    {HS_ERR_INPUT_CSR_SIGNATURE, "csr_signature_invalid"},
    {HS_ERR_INPUT_KEY, "unsupported_key"},
    {HS_ERR_INPUT_CONFIG, "invalid_config"},
    {HS_ERR_INPUT_EXISTS, "already_exists"},
    {HS_ERR_INPUT_NOT_FOUND, "not_found"},
    {HS_ERR_INPUT_METHOD, "method_not_allowed"},
    {HS_ERR_INPUT_ALG, "unsupported_alg"},
    {HS_ERR_INPUT_HTTP, "bad_request"},
    {HS_ERR_INPUT_HTTP_TARGET, "uri_too_long"},
    {HS_ERR_INPUT_HTTP_HEADERS, "headers_too_large"},
    {HS_ERR_INPUT_HTTP_VERSION, "http_version_not_supported"},
    {HS_ERR_INPUT_HTTP_CODING, "not_implemented"},
    {HS_ERR_INPUT_HTTP_TIMEOUT, "request_timeout"},
    {HS_ERR_INPUT_HTTP_BUSY, "too_many_connections"},
    {HS_ERR_INPUT_MEDIA_TYPE, "unsupported_media_type"},
    {HS_ERR_AUTH, "unauthorized"},
    {HS_ERR_AUTH_MISSING, "missing_authentication"},
    {HS_ERR_AUTH_MALFORMED, "malformed_authentication"},
    {HS_ERR_AUTH_UNKNOWN_KEY, "unknown_access_key"},
    {HS_ERR_AUTH_SIGNATURE, "signature_mismatch"},
    {HS_ERR_AUTH_EXPIRED, "request_expired"},
    {HS_ERR_AUTH_SCOPE, "credential_scope_mismatch"},
    {HS_ERR_AUTH_CERTIFICATE, "client_certificate_rejected"},
    {HS_ERR_AUTH_UNSUPPORTED, "unsupported_authentication"},
    {HS_ERR_AUTH_SIGV4_REQUIRED, "sigv4_required"},
    {HS_ERR_POLICY, "forbidden"},
    {HS_ERR_POLICY_DENIED, "forbidden"},
    {HS_ERR_POLICY_SUBJECT, "subject_unmapped"},
    {HS_ERR_HSM, "hsm_error"},
    {HS_ERR_HSM_MODULE, "hsm_module"},
    {HS_ERR_HSM_TOKEN_NOT_FOUND, "hsm_token_not_found"},
    {HS_ERR_HSM_LOGIN, "hsm_login"},
    {HS_ERR_HSM_KEY_NOT_FOUND, "hsm_key_not_found"},
    {HS_ERR_HSM_SESSION, "hsm_session"},
    {HS_ERR_HSM_BUSY, "hsm_busy"},
    {HS_ERR_HSM_MECHANISM, "hsm_mechanism"},
    {HS_ERR_HSM_KEY_ATTRIBUTES, "hsm_key_attributes"},
    {HS_ERR_HSM_OVERLOADED, "overloaded"},
    {HS_ERR_INTERNAL, "internal"},
    {HS_ERR_NOMEM, "out_of_memory"},
    {HS_ERR_BOUNDS, "bounds"},
    {HS_ERR_CRYPTO, "crypto"},
    {HS_ERR_IO, "io"},
    {HS_ERR_STORE, "store"},
    {HS_ERR_LINT, "lint"},
    {HS_ERR_STORE_UNAVAILABLE, "inventory_unavailable"},
    {HS_ERR_QUEUE_FULL, "queue_full"},
};

enum hs_class hs_code_class(enum hs_code code)
{
    unsigned int cls = ((unsigned int)code) >> 8;
    if (cls > (unsigned int)HS_CLASS_INTERNAL) {
        return HS_CLASS_INTERNAL;
    }
    return (enum hs_class)cls;
}

const char *hs_code_name(enum hs_code code)
{
    for (size_t i = 0; i < sizeof(hs_code_names) / sizeof(hs_code_names[0]); i++) {
        if (hs_code_names[i].code == code) {
            return hs_code_names[i].name;
        }
    }
    return "internal";
}

const struct hs_error *hs_error_last(void)
{
    return &hs_tls_error;
}

void hs_error_restore(const struct hs_error *saved)
{
    if (saved != NULL) {
        hs_tls_error = *saved;
    }
}

void hs_error_clear(void)
{
    memset(&hs_tls_error, 0, sizeof(hs_tls_error));
}

/* Appends text (NUL-terminated) to the detail, after "; " when there is one already. */
static void hs_error_append(const char *text)
{
    size_t used = strnlen(hs_tls_error.detail, sizeof(hs_tls_error.detail));
    if (used + 1 >= sizeof(hs_tls_error.detail)) {
        return;
    }
    if (used > 0) {
        /* Separate appended details; the buffer is bounded and a truncated detail is still
         * a useful diagnostic, so truncation is acceptable here. The separator, one character
         * and the terminator must fit (a detail of 198 bytes used to put the terminator one
         * past the end: tests/fuzz/corpus/ceremony_config_fuzz/regress-error-detail-overflow). */
        if (used + 3 >= sizeof(hs_tls_error.detail)) {
            return;
        }
        hs_tls_error.detail[used++] = ';';
        hs_tls_error.detail[used++] = ' ';
        hs_tls_error.detail[used] = '\0';
    }
    (void)snprintf(hs_tls_error.detail + used, sizeof(hs_tls_error.detail) - used, "%s", text);
}

/* Formats into a buffer of its own first: callers often pass hs_error_last()->detail as an
 * argument ("%s: %s", what, hs_error_last()->detail), which must be read before the detail is
 * cleared or written (vsnprintf's source and destination may not overlap, C17 7.21.6.12). */
__attribute__((format(printf, 2, 0))) static void hs_error_vformat(char *text, const char *fmt,
                                                                   va_list ap)
{
    text[0] = '\0';
    if (fmt != NULL) {
        (void)vsnprintf(text, sizeof(hs_tls_error.detail), fmt, ap);
    }
}

static HS_RESULT hs_error_set(const char *file, int line, enum hs_code code)
{
    hs_error_clear();
    /* A raise always fails: an HS_ERR_NONE passed by mistake must not read as success. */
    if (code == HS_ERR_NONE) {
        code = HS_ERR_INTERNAL;
    }
    hs_tls_error.code = code;
    hs_tls_error.file = file;
    hs_tls_error.line = line;
    return (hs_result){code};
}

HS_RESULT hs_error_raise(const char *file, int line, enum hs_code code, const char *fmt, ...)
{
    char text[sizeof(hs_tls_error.detail)];
    va_list ap;
    va_start(ap, fmt);
    hs_error_vformat(text, fmt, ap);
    va_end(ap);
    hs_result r = hs_error_set(file, line, code);
    hs_error_append(text);
    return r;
}

HS_RESULT hs_error_raise_ossl(const char *file, int line, enum hs_code code)
{
    if (hs_tls_error.code != HS_ERR_NONE) {
        /* A nested layer (our provider, a callback) already said what went wrong. */
        ERR_clear_error();
        return (hs_result){hs_tls_error.code};
    }
    unsigned long e = ERR_peek_last_error();
    hs_result r = hs_error_set(file, line, code);
    hs_tls_error.ossl = e;
    if (e != 0) {
        const char *reason = ERR_reason_error_string(e);
        hs_error_add_detail("openssl: %s", reason != NULL ? reason : "unknown");
    }
    ERR_clear_error();
    return r;
}

HS_RESULT hs_error_raise_ckr(const char *file, int line, enum hs_code code, unsigned long ckr,
                             const char *ckr_name)
{
    hs_result r = hs_error_set(file, line, code);
    hs_tls_error.ckr = ckr;
    hs_tls_error.ckr_name = ckr_name;
    return r;
}

HS_RESULT hs_error_raise_errno(const char *file, int line, enum hs_code code, const char *what)
{
    int saved = errno;
    hs_result r = hs_error_set(file, line, code);
    hs_tls_error.sys_errno = saved;
    if (what != NULL) {
        char msg[96];
        /* GNU strerror_r: thread-safe, returns a pointer to a static or to msg. */
        hs_error_add_detail("%s: %s", what, strerror_r(saved, msg, sizeof(msg)));
    }
    return r;
}

void hs_error_add_detail(const char *fmt, ...)
{
    char text[sizeof(hs_tls_error.detail)];
    va_list ap;
    va_start(ap, fmt);
    hs_error_vformat(text, fmt, ap);
    va_end(ap);
    if (fmt != NULL) {
        hs_error_append(text);
    }
}

HS_RESULT hs_error_context(hs_result r, const char *where)
{
    if (hs_failed(r) && where != NULL) {
        hs_error_add_detail("in \"%s\"", where);
    }
    return r;
}
