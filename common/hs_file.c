#include "common/hs_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HS_FILE_PATH_MAX 4096

static void hs_file_closep(const int *fd)
{
    if (*fd >= 0) {
        close(*fd);
    }
}

static HS_RESULT hs_file_read_into(const char *path, size_t max, bool sensitive,
                                   struct hs_buf **out)
{
    HS_ENSURE_REF(path);
    HS_DEFER(int fd = open(path, O_RDONLY | O_CLOEXEC), hs_file_closep);
    if (fd < 0) {
        enum hs_code code = errno == ENOENT ? HS_ERR_INPUT_NOT_FOUND : HS_ERR_IO;
        return hs_error_raise_errno(__FILE__, __LINE__, code, path);
    }
    struct stat st;
    HS_ENSURE(fstat(fd, &st) == 0, HS_ERR_IO);
    HS_ENSURE_MSG(S_ISREG(st.st_mode), HS_ERR_IO, "%s: not a regular file", path);
    HS_ENSURE_MSG((size_t)st.st_size <= max, HS_ERR_INPUT_TOO_LARGE, "%s: larger than %zu bytes",
                  path, max);
    HS_DEFER(struct hs_buf *b = sensitive ? hs_buf_new_sensitive(max + 1) : hs_buf_new(max + 1),
             hs_buf_freep);
    HS_ENSURE(b != NULL, HS_ERR_NOMEM);
    for (;;) {
        unsigned char *w = NULL;
        size_t room = max + 1 - hs_buf_len(b);
        HS_ENSURE_MSG(room > 0, HS_ERR_INPUT_TOO_LARGE, "%s: larger than %zu bytes", path, max);
        HS_GUARD(hs_buf_reserve(b, room < 65536 ? room : 65536, &w));
        ssize_t r = read(fd, w, room < 65536 ? room : 65536);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return hs_error_raise_errno(__FILE__, __LINE__, HS_ERR_IO, path);
        }
        HS_GUARD(hs_buf_commit(b, (size_t)r));
        if (r == 0) {
            break;
        }
    }
    HS_ENSURE_MSG(hs_buf_len(b) <= max, HS_ERR_INPUT_TOO_LARGE, "%s: larger than %zu bytes", path,
                  max);
    *out = b;
    b = NULL;
    return HS_OK;
}

HS_RESULT hs_file_read(const char *path, size_t max, struct hs_buf **out)
{
    return hs_file_read_into(path, max, false, out);
}

HS_RESULT hs_file_read_sensitive(const char *path, size_t max, struct hs_buf **out)
{
    return hs_file_read_into(path, max, true, out);
}

static HS_RESULT hs_file_write_all(int fd, const void *p, size_t n, const char *path)
{
    const unsigned char *c = p;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, c + done, n - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return hs_error_raise_errno(__FILE__, __LINE__, HS_ERR_IO, path);
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0) {
        return hs_error_raise_errno(__FILE__, __LINE__, HS_ERR_IO, path);
    }
    return HS_OK;
}

HS_RESULT hs_file_write_new(const char *path, const void *p, size_t n, mode_t mode)
{
    HS_ENSURE_REF(path);
    HS_DEFER(int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode),
             hs_file_closep);
    if (fd < 0 && errno == EEXIST) {
        HS_BAIL_MSG(HS_ERR_INPUT_EXISTS, "%s already exists; refusing to overwrite", path);
    }
    if (fd < 0) {
        return hs_error_raise_errno(__FILE__, __LINE__, HS_ERR_IO, path);
    }
    hs_result r = hs_file_write_all(fd, p, n, path);
    if (hs_failed(r)) {
        HS_IGNORE(unlink(path));
    }
    return r;
}

HS_RESULT hs_file_sync_dir(const char *path)
{
    char copy[HS_FILE_PATH_MAX];
    size_t n = strnlen(path, sizeof(copy));
    HS_ENSURE(n < sizeof(copy), HS_ERR_INPUT_TOO_LARGE);
    memcpy(copy, path, n + 1);
    HS_DEFER(int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC), hs_file_closep);
    if (dfd < 0 || fsync(dfd) != 0) {
        return hs_error_raise_errno(__FILE__, __LINE__, HS_ERR_IO, path);
    }
    return HS_OK;
}

HS_RESULT hs_file_replace(const char *path, const void *p, size_t n, mode_t mode)
{
    HS_ENSURE_REF(path);
    char tmp[HS_FILE_PATH_MAX];
    int len = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    HS_ENSURE(len > 0 && (size_t)len < sizeof(tmp), HS_ERR_INPUT_TOO_LARGE);
    HS_IGNORE(unlink(tmp));
    HS_GUARD(hs_file_write_new(tmp, p, n, mode));
    if (rename(tmp, path) != 0) {
        hs_result r = hs_error_raise_errno(__FILE__, __LINE__, HS_ERR_IO, path);
        HS_IGNORE(unlink(tmp));
        return r;
    }
    return hs_file_sync_dir(path);
}

HS_RESULT hs_file_append_line(const char *path, const char *text, mode_t mode)
{
    HS_ENSURE_REF(path);
    HS_ENSURE_REF(text);
    HS_DEFER(int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, mode),
             hs_file_closep);
    if (fd < 0) {
        return hs_error_raise_errno(__FILE__, __LINE__, HS_ERR_IO, path);
    }
    size_t n = strlen(text);
    HS_DEFER(struct hs_buf *line = hs_buf_new(n + 2), hs_buf_freep);
    HS_ENSURE(line != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put(line, text, n));
    HS_GUARD(hs_buf_put_byte(line, '\n'));
    return hs_file_write_all(fd, hs_buf_data(line), hs_buf_len(line), path);
}

bool hs_file_exists(const char *path)
{
    struct stat st;
    return path != NULL && lstat(path, &st) == 0;
}
