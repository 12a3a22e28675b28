#include "common/hs_secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

struct hs_secret {
    unsigned char *data; /* secure heap */
    size_t len;
    size_t cap; /* bytes allocated at data, wiped on free */
};

HS_RESULT hs_secure_init(size_t secure_heap_bytes)
{
    struct rlimit none = {0, 0};
    HS_ENSURE(setrlimit(RLIMIT_CORE, &none) == 0, HS_ERR_INTERNAL);
#if !defined(__SANITIZE_ADDRESS__)
    /* Not under ASan: LeakSanitizer's tracer must be able to attach to the process. */
    HS_ENSURE(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0, HS_ERR_INTERNAL);
#endif
    if (!CRYPTO_secure_malloc_initialized()) {
        /* 0 = failed (locked memory limit): OpenSSL then serves secure allocations from the
         * normal heap; secrets are still wiped on free. */
        HS_IGNORE(CRYPTO_secure_malloc_init(secure_heap_bytes, 32));
    }
    return HS_OK;
}

bool hs_secure_heap_active(void)
{
    return CRYPTO_secure_malloc_initialized() == 1;
}

/* Allocates a secret with room for cap bytes (cap <= HS_SECRET_LARGE_MAX + 8) and length 0. */
static HS_RESULT hs_secret_alloc(size_t cap, struct hs_secret **out)
{
    HS_ENSURE(cap <= HS_SECRET_LARGE_MAX + 8, HS_ERR_INPUT_TOO_LARGE);
    struct hs_secret *s = OPENSSL_zalloc(sizeof(*s));
    HS_ENSURE(s != NULL, HS_ERR_NOMEM);
    /* One spare byte so a zero-length allocation is never requested. */
    s->data = OPENSSL_secure_zalloc(cap + 1);
    if (s->data == NULL) {
        OPENSSL_free(s);
        HS_BAIL(HS_ERR_NOMEM);
    }
    s->cap = cap + 1;
    *out = s;
    return HS_OK;
}

HS_RESULT hs_secret_from_bytes(const void *p, size_t n, struct hs_secret **out)
{
    HS_ENSURE(p != NULL || n == 0, HS_ERR_INTERNAL);
    HS_ENSURE(n <= HS_SECRET_LARGE_MAX, HS_ERR_INPUT_TOO_LARGE);
    struct hs_secret *s = NULL;
    HS_GUARD(hs_secret_alloc(n, &s));
    if (n > 0) {
        memcpy(s->data, p, n);
    }
    s->len = n;
    *out = s;
    return HS_OK;
}

static void hs_fd_closep(const int *fd)
{
    if (*fd >= 0) {
        close(*fd);
    }
}

/* Removes one trailing "\n" or "\r\n". */
static size_t hs_secret_trim(const unsigned char *p, size_t n)
{
    if (n > 0 && p[n - 1] == '\n') {
        n--;
        if (n > 0 && p[n - 1] == '\r') {
            n--;
        }
    }
    return n;
}

/* A regular 0600-or-stricter file of 1..max + 2 bytes (a trailing CRLF allowed); its size in
 * *size. */
static HS_RESULT hs_secret_check_file(int fd, const char *path, size_t max, size_t *size)
{
    struct stat st;
    HS_ENSURE(fstat(fd, &st) == 0, HS_ERR_IO);
    HS_ENSURE_MSG(S_ISREG(st.st_mode), HS_ERR_INPUT_CONFIG, "secret file %s: not a regular file",
                  path);
    HS_ENSURE_MSG((st.st_mode & (S_IRWXG | S_IRWXO)) == 0, HS_ERR_INPUT_CONFIG,
                  "secret file %s: readable or writable by group or others (chmod 600)", path);
    HS_ENSURE_MSG(st.st_size > 0 && (size_t)st.st_size <= max + 2, HS_ERR_INPUT_CONFIG,
                  "secret file %s: empty or larger than %zu bytes", path, max);
    *size = (size_t)st.st_size;
    return HS_OK;
}

HS_RESULT hs_secret_from_file(const char *path, size_t max, struct hs_secret **out)
{
    HS_ENSURE_REF(path);
    HS_ENSURE(max <= HS_SECRET_LARGE_MAX, HS_ERR_INTERNAL);
    HS_DEFER(int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), hs_fd_closep);
    if (fd < 0) {
        return hs_error_raise_errno(__FILE__, __LINE__, HS_ERR_INPUT_CONFIG, path);
    }
    size_t size = 0;
    HS_GUARD(hs_secret_check_file(fd, path, max, &size));
    HS_DEFER(struct hs_secret *s = NULL, hs_secret_freep);
    /* Only as much secure heap as the file needs, plus one byte to detect growth. */
    size_t cap = size + 1;
    HS_GUARD(hs_secret_alloc(cap, &s));
    size_t got = 0;
    while (got < cap) {
        ssize_t r = read(fd, s->data + got, cap - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return hs_error_raise_errno(__FILE__, __LINE__, HS_ERR_IO, path);
        }
        if (r == 0) {
            break;
        }
        got += (size_t)r;
    }
    HS_ENSURE_MSG(got == size, HS_ERR_INPUT_CONFIG, "secret file %s changed while it was read",
                  path);
    size_t len = hs_secret_trim(s->data, got);
    HS_ENSURE_MSG(len > 0 && len <= max, HS_ERR_INPUT_CONFIG,
                  "secret file %s: empty or larger than %zu bytes", path, max);
    OPENSSL_cleanse(s->data + len, got - len);
    s->len = len;
    *out = s;
    s = NULL;
    return HS_OK;
}

HS_RESULT hs_secret_from_env(const char *name, size_t max, struct hs_secret **out)
{
    HS_ENSURE_REF(name);
    const char *v = secure_getenv(name);
    HS_ENSURE_MSG(v != NULL && v[0] != '\0', HS_ERR_INPUT_CONFIG,
                  "environment variable %s is not set", name);
    size_t n = strnlen(v, max + 1);
    HS_ENSURE_MSG(n <= max, HS_ERR_INPUT_CONFIG, "environment variable %s: longer than %zu bytes",
                  name, max);
    return hs_secret_from_bytes(v, n, out);
}

HS_RESULT hs_secret_take_env(const char *name, size_t max, struct hs_secret **out)
{
    HS_GUARD(hs_secret_from_env(name, max, out));
    /* The value lives in the environment block /proc/PID/environ shows (for the initial
     * environment, the process's own stack): overwrite it there before removing the name. */
    char *v = getenv(name);
    if (v != NULL) {
        OPENSSL_cleanse(v, strlen(v));
    }
    HS_ENSURE(unsetenv(name) == 0, HS_ERR_INTERNAL);
    return HS_OK;
}

/* Reads one line from fd into s (at most max bytes), byte by byte so nothing past the newline
 * is consumed. */
static HS_RESULT hs_secret_read_line(int fd, struct hs_secret *s, size_t max)
{
    size_t n = 0;
    for (;;) {
        unsigned char c = 0;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return hs_error_raise_errno(__FILE__, __LINE__, HS_ERR_IO, "terminal");
        }
        if (r == 0 || c == '\n') {
            break;
        }
        HS_ENSURE_MSG(n < max, HS_ERR_INPUT_CONFIG, "PIN longer than %zu bytes", max);
        s->data[n++] = c;
    }
    n = n > 0 && s->data[n - 1] == '\r' ? n - 1 : n;
    HS_ENSURE_MSG(n > 0, HS_ERR_INPUT_CONFIG, "empty PIN");
    s->len = n;
    return HS_OK;
}

/* Best effort: a prompt that cannot be shown still lets the operator type. */
static void hs_tty_write(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0) {
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

static void hs_tty_restore(int fd, const struct termios *saved)
{
    HS_IGNORE(tcsetattr(fd, TCSAFLUSH, saved));
    hs_tty_write(fd, "\n");
}

HS_RESULT hs_secret_from_tty(const char *prompt, size_t max, struct hs_secret **out)
{
    HS_ENSURE_REF(prompt);
    HS_ENSURE(max <= HS_SECRET_MAX, HS_ERR_INTERNAL);
    HS_DEFER(int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC), hs_fd_closep);
    HS_ENSURE_MSG(fd >= 0, HS_ERR_INPUT_CONFIG,
                  "no terminal to prompt for the PIN; name pin_file or pin_env in the config");
    struct termios saved;
    HS_ENSURE_MSG(tcgetattr(fd, &saved) == 0, HS_ERR_INPUT_CONFIG, "cannot prompt: not a tty");
    struct termios quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    HS_ENSURE(tcsetattr(fd, TCSAFLUSH, &quiet) == 0, HS_ERR_IO);
    hs_tty_write(fd, prompt);
    HS_DEFER(struct hs_secret *s = NULL, hs_secret_freep);
    hs_result r = hs_secret_alloc(max, &s);
    if (!hs_failed(r)) {
        r = hs_secret_read_line(fd, s, max);
    }
    hs_tty_restore(fd, &saved);
    HS_GUARD(r);
    *out = s;
    s = NULL;
    return HS_OK;
}

void hs_secret_get0(const struct hs_secret *s, const unsigned char **data, size_t *len)
{
    *data = s->data;
    *len = s->len;
}

bool hs_secret_equal(const struct hs_secret *s, const void *p, size_t n)
{
    if (s == NULL || p == NULL || s->len != n) {
        return false;
    }
    return CRYPTO_memcmp(s->data, p, n) == 0;
}

void hs_secret_free(struct hs_secret *s)
{
    if (s == NULL) {
        return;
    }
    OPENSSL_secure_clear_free(s->data, s->cap);
    OPENSSL_free(s);
}

void hs_secret_freep(struct hs_secret **s)
{
    hs_secret_free(*s);
}
