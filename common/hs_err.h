/*
 * hs_err: result type, error codes and the control-flow macros used by every module.
 *
 * A fallible function returns hs_result (declared with HS_RESULT so a dropped result is a
 * compile error). The details of the most recent failure live in a thread-local struct
 * hs_error: the code, where it was raised, and any CK_RV or OpenSSL error behind it.
 * Error codes fall into five classes (INPUT, AUTH, POLICY, HSM, INTERNAL); api/ maps the class
 * to an HTTP status and the code to a fixed public message, and logs the rest.
 */
#ifndef HS_ERR_H
#define HS_ERR_H

#include <stdbool.h>
#include <stddef.h>

enum hs_class {
    HS_CLASS_NONE = 0,
    HS_CLASS_INPUT = 1,
    HS_CLASS_AUTH = 2,
    HS_CLASS_POLICY = 3,
    HS_CLASS_HSM = 4,
    HS_CLASS_INTERNAL = 5,
};

/* The class is the code's high byte; see hs_code_class(). */
enum hs_code {
    HS_ERR_NONE = 0,

    HS_ERR_INPUT = 0x100,       /* generic bad input */
    HS_ERR_INPUT_TOO_LARGE,     /* a size bound was exceeded */
    HS_ERR_INPUT_JSON,          /* body or config is not valid JSON / too deep */
    HS_ERR_INPUT_FIELD,         /* missing, unknown or wrongly typed field */
    HS_ERR_INPUT_RANGE,         /* a numeric field is out of its allowed range */
    HS_ERR_INPUT_CSR,           /* CSR cannot be parsed */
    HS_ERR_INPUT_CSR_SIGNATURE, /* CSR's self-signature does not verify */
    HS_ERR_INPUT_KEY,           /* public key type or size not accepted */
    HS_ERR_INPUT_CONFIG,        /* configuration file rejected */
    HS_ERR_INPUT_EXISTS,        /* refusing to overwrite something that exists */
    HS_ERR_INPUT_NOT_FOUND,     /* a named thing (route, file, serial) does not exist */
    HS_ERR_INPUT_METHOD,        /* HTTP method not allowed for the route */
    HS_ERR_INPUT_ALG,           /* a JWS alg no active key signs with */
    HS_ERR_INPUT_HTTP,          /* the request is not valid HTTP/1.1 (RFC 9112) */
    HS_ERR_INPUT_HTTP_TARGET,   /* the request-target is too long */
    HS_ERR_INPUT_HTTP_HEADERS,  /* the header section is too large */
    HS_ERR_INPUT_HTTP_VERSION,  /* an HTTP version other than 1.0 and 1.1 */
    HS_ERR_INPUT_HTTP_CODING,   /* a transfer coding other than chunked */
    HS_ERR_INPUT_HTTP_TIMEOUT,  /* the request did not arrive within its deadline */
    HS_ERR_INPUT_HTTP_BUSY,     /* over the connection limits (global or per address) */
    HS_ERR_INPUT_MEDIA_TYPE,    /* a request body whose Content-Type is not application/json */

    HS_ERR_AUTH = 0x200,        /* generic authentication failure */
    HS_ERR_AUTH_MISSING,        /* no credentials presented */
    HS_ERR_AUTH_MALFORMED,      /* credentials present but unparseable */
    HS_ERR_AUTH_UNKNOWN_KEY,    /* access key id not configured */
    HS_ERR_AUTH_SIGNATURE,      /* signature does not match */
    HS_ERR_AUTH_EXPIRED,        /* request date outside the allowed clock skew */
    HS_ERR_AUTH_SCOPE,          /* credential scope (region/service/date) mismatch */
    HS_ERR_AUTH_CERTIFICATE,    /* client certificate not ours, not for clientAuth, or revoked */
    HS_ERR_AUTH_UNSUPPORTED,    /* a valid form of credentials this service does not accept */
    HS_ERR_AUTH_SIGV4_REQUIRED, /* a client certificate sent to a route that wants SigV4 */

    HS_ERR_POLICY = 0x300, /* generic policy denial */
    HS_ERR_POLICY_DENIED,  /* no rule allows this principal to do this */
    HS_ERR_POLICY_SUBJECT, /* a token profile's subject mapping cannot name the caller */

    HS_ERR_HSM = 0x400,         /* a Cryptoki call failed (see hs_error.ckr) */
    HS_ERR_HSM_MODULE,          /* module cannot be loaded or initialised */
    HS_ERR_HSM_TOKEN_NOT_FOUND, /* no token with the configured label */
    HS_ERR_HSM_LOGIN,           /* C_Login rejected the PIN (never retried) */
    HS_ERR_HSM_KEY_NOT_FOUND,   /* no (unique) key matches the reference */
    HS_ERR_HSM_SESSION,         /* session lost (handle invalid, device removed...) */
    HS_ERR_HSM_BUSY,            /* no free session within the wait limit */
    HS_ERR_HSM_MECHANISM,       /* mechanism not offered by the token */
    HS_ERR_HSM_KEY_ATTRIBUTES,  /* key's attributes violate policy (extractable...) */
    HS_ERR_HSM_OVERLOADED,      /* admission queue full or wait past its deadline, or the token
                                   kept throttling past the retry deadline */

    HS_ERR_INTERNAL = 0x500, /* generic internal failure */
    HS_ERR_NOMEM,            /* allocation failed */
    HS_ERR_BOUNDS,           /* a buffer operation would exceed its bound */
    HS_ERR_CRYPTO,           /* a libcrypto call failed (see hs_error.ossl) */
    HS_ERR_IO,               /* file or socket I/O failed (see hs_error.sys_errno) */
    HS_ERR_STORE,            /* inventory store failure */
    HS_ERR_LINT,             /* a certificate or CRL we built breaks a profile rule */
    /* The inventory cannot answer for now (SQLite busy, locked, disk full or failing; DynamoDB
     * throttling, 5xx or unreachable): nothing was written, the same request may succeed later.
     * A store that answers with something it should not (a malformed row) is HS_ERR_IO. */
    HS_ERR_STORE_UNAVAILABLE,
    /* A work queue (asynchronous SSH key generation) is full, or the caller has as many jobs
     * pending as allowed: nothing was queued, the same request may succeed later. */
    HS_ERR_QUEUE_FULL,
};

/* Every function that returns hs_result is must-use. gcc checks declarations only, so each is
 * declared HS_RESULT (or, for a function pointer, HS_MUST_USE hs_result (*fn)(...)), and
 * tests/lint/rules.py fails the build on one that is not. clang also takes the attribute on
 * the type itself, so there a dropped result is an error whatever the declaration says. */
#define HS_MUST_USE __attribute__((warn_unused_result))
#if defined(__clang__)
#define HS_MUST_USE_TYPE HS_MUST_USE
#else
#define HS_MUST_USE_TYPE
#endif

typedef struct HS_MUST_USE_TYPE hs_result {
    enum hs_code code;
} hs_result;

#define HS_RESULT HS_MUST_USE hs_result
#define HS_OK ((hs_result){HS_ERR_NONE})

struct hs_error {
    enum hs_code code;
    const char *file; /* static string: __FILE__ of the raise site */
    int line;
    unsigned long ckr;    /* CK_RV behind an HSM error, 0 when none */
    const char *ckr_name; /* static "CKR_..." name, NULL when none */
    unsigned long ossl;   /* ERR_peek_last_error() value, 0 when none */
    int sys_errno;        /* errno behind an IO error, 0 when none */
    char detail[200];     /* operator-facing detail; never secrets, never request bodies */
};

/* Returns the class of code (the high byte); HS_CLASS_INTERNAL for unknown values. */
enum hs_class hs_code_class(enum hs_code code);

/* Returns a static, stable snake_case name for code (e.g. "input_csr"). */
const char *hs_code_name(enum hs_code code);

/* Returns the calling thread's most recent error. The pointer stays valid for the thread's
 * lifetime; its content changes with the next raise or clear. Never NULL. */
const struct hs_error *hs_error_last(void);

/* Resets the calling thread's error to HS_ERR_NONE. */
void hs_error_clear(void);

/* Sets the calling thread's error back to a copy taken earlier (*saved = *hs_error_last()), for
 * code that must not disturb it, such as the logger when its own line cannot be built. */
void hs_error_restore(const struct hs_error *saved);

/* Records a failure and returns it as hs_result. fmt (may be NULL) formats the operator detail:
 * callers pass only non-secret text (field names, limits, counts). The macros below call these. */
HS_RESULT hs_error_raise(const char *file, int line, enum hs_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* As hs_error_raise, and also records the newest OpenSSL error and clears OpenSSL's queue. If an
 * error was raised on this thread since the last hs_error_clear() (for example by the PKCS#11
 * provider under an X509_sign_ctx call), that more specific error is kept and returned. */
HS_RESULT hs_error_raise_ossl(const char *file, int line, enum hs_code code);

/* As hs_error_raise, recording a CK_RV and its static name (used by pkcs11/). */
HS_RESULT hs_error_raise_ckr(const char *file, int line, enum hs_code code, unsigned long ckr,
                             const char *ckr_name);

/* As hs_error_raise, recording errno (read before any other call). */
HS_RESULT hs_error_raise_errno(const char *file, int line, enum hs_code code, const char *what);

/* Returns r unchanged; when it is a failure, first appends "in \"where\"" to the detail, so a
 * config error names the object its field lives in. */
HS_RESULT hs_error_context(hs_result r, const char *where);

/* Appends to the current error's detail (e.g. the caller adds which file failed to load). */
void hs_error_add_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Returns raise (a call of an hs_error_raise* function) as a failure: never HS_ERR_NONE (the
 * raise functions already turn an HS_ERR_NONE into HS_ERR_INTERNAL). Written out here rather
 * than called so that static analysis sees, at any call depth, that a function fails on the
 * path where a macro below bails (the raise functions live in another file). */
#define HS_RETURN_FAILURE(raise)                                                                   \
    do {                                                                                           \
        hs_result hs_failure_r_ = (raise);                                                         \
        if (hs_failure_r_.code == HS_ERR_NONE) {                                                   \
            hs_failure_r_.code = HS_ERR_INTERNAL;                                                  \
        }                                                                                          \
        return hs_failure_r_;                                                                      \
    } while (0)

/* --- control flow ---------------------------------------------------------------------------
 * Only these macros leave a function early on failure. */
#define HS_BAIL(code) HS_RETURN_FAILURE(hs_error_raise(__FILE__, __LINE__, (code), NULL))
#define HS_BAIL_MSG(code, ...)                                                                     \
    HS_RETURN_FAILURE(hs_error_raise(__FILE__, __LINE__, (code), __VA_ARGS__))
#define HS_ENSURE(cond, code)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            HS_BAIL(code);                                                                         \
        }                                                                                          \
    } while (0)
#define HS_ENSURE_MSG(cond, code, ...)                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            HS_BAIL_MSG((code), __VA_ARGS__);                                                      \
        }                                                                                          \
    } while (0)
#define HS_ENSURE_REF(p) HS_ENSURE((p) != NULL, HS_ERR_INTERNAL)
#define HS_GUARD(call)                                                                             \
    do {                                                                                           \
        hs_result hs_guard_r_ = (call);                                                            \
        if (hs_guard_r_.code != HS_ERR_NONE) {                                                     \
            return hs_guard_r_;                                                                    \
        }                                                                                          \
    } while (0)
/* For libcrypto calls that return 1 on success. */
#define HS_GUARD_OSSL(call, code)                                                                  \
    do {                                                                                           \
        hs_error_clear();                                                                          \
        if ((call) != 1) {                                                                         \
            HS_RETURN_FAILURE(hs_error_raise_ossl(__FILE__, __LINE__, (code)));                    \
        }                                                                                          \
    } while (0)
/* For libcrypto calls that return a pointer, NULL on failure. */
#define HS_GUARD_OSSL_PTR(call, code) HS_GUARD_OSSL(((call) != NULL) ? 1 : 0, code)

/* Marks a result as deliberately ignored (cleanup paths where failure changes nothing). Every
 * function returning hs_result is declared HS_RESULT (warn_unused_result), which a (void) cast
 * does not silence under gcc, so the result is stored and then discarded. Works for any non-void
 * call (hs_result, a CK_RV, an int). */
#define HS_IGNORE(call)                                                                            \
    __extension__({                                                                                \
        __typeof__(call) hs_ignored_ = (call);                                                     \
        (void)hs_ignored_;                                                                         \
    })

/* A local that owns a resource: HS_DEFER(struct hs_buf *b = hs_buf_new(N), hs_buf_freep);
 * freefn receives a pointer to the variable and must accept a NULL object. The cleanup is the
 * variable's use (a lock guard is never read): gcc counts it so, and `unused` tells clang. */
#define HS_DEFER(decl, freefn) __attribute__((cleanup(freefn), unused)) decl

/* Defines `static inline void name(type **p)` calling freefn(*p), for use with HS_DEFER.
 * Marked unused: clang, unlike gcc, warns about an unused static inline function of a .c file. */
#define HS_DEFINE_FREEP(name, type, freefn)                                                        \
    __attribute__((unused)) static inline void name(__typeof__(type) **p)                          \
    {                                                                                              \
        freefn(*p);                                                                                \
    }

static inline bool hs_failed(hs_result r)
{
    return r.code != HS_ERR_NONE;
}

#endif /* HS_ERR_H */
