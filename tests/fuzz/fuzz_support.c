#include "tests/fuzz/fuzz_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/hs_log.h"

static void fuzz_die(const char *what)
{
    perror(what);
    abort();
}

void fuzz_quiet(void)
{
    static FILE *sink = NULL;
    if (sink == NULL) {
        sink = fopen("/dev/null", "w");
        if (sink == NULL) {
            fuzz_die("fuzz_quiet: /dev/null");
        }
    }
    hs_log_set_stream(sink);
    hs_log_set_level(HS_LOG_ERROR);
}

void fuzz_memfile(int slot, const uint8_t *data, size_t n, char path[64])
{
    static bool made[FUZZ_MEMFILE_SLOTS];
    if (slot < 0 || slot >= FUZZ_MEMFILE_SLOTS) {
        abort();
    }
    int fd = FUZZ_MEMFILE_FD + slot;
    if (!made[slot]) {
        int m = memfd_create("hsmsign-fuzz", 0);
        if (m < 0 || dup2(m, fd) != fd) {
            fuzz_die("fuzz_memfile: memfd_create");
        }
        close(m);
        made[slot] = true;
    }
    if (ftruncate(fd, 0) != 0) {
        fuzz_die("fuzz_memfile: ftruncate");
    }
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(fd, data + done, n - done, (off_t)done);
        if (w <= 0) {
            fuzz_die("fuzz_memfile: pwrite");
        }
        done += (size_t)w;
    }
    snprintf(path, 64, "/proc/self/fd/%d", fd);
}

char *fuzz_strndup(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s == NULL) {
        fuzz_die("fuzz_strndup");
    }
    if (n > 0) {
        memcpy(s, p, n);
    }
    s[n] = '\0';
    return s;
}

char *fuzz_take_line(struct fuzz_input *in, bool *eof)
{
    *eof = in->n == 0;
    const uint8_t *nl = in->n > 0 ? memchr(in->p, '\n', in->n) : NULL;
    size_t len = nl != NULL ? (size_t)(nl - in->p) : in->n;
    char *s = fuzz_strndup(in->p, len);
    size_t used = nl != NULL ? len + 1 : len;
    in->p += used;
    in->n -= used;
    return s;
}

uint8_t fuzz_take_byte(struct fuzz_input *in)
{
    if (in->n == 0) {
        return 0;
    }
    uint8_t b = in->p[0];
    in->p++;
    in->n--;
    return b;
}

HS_RESULT fuzz_debug(hs_result r)
{
    static int on = -1;
    if (on < 0) {
        on = getenv("HSMSIGN_FUZZ_DEBUG") != NULL;
    }
    if (on && hs_failed(r)) {
        fprintf(stderr, "fuzz: %s: %s\n", hs_code_name(r.code), hs_error_last()->detail);
    }
    return r;
}

void fuzz_abort_at(const char *file, int line)
{
    fprintf(stderr, "fuzz: broken at %s:%d\n", file, line);
    abort();
}
