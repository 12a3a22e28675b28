#include "api/api_console.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "common/hs_defer.h"

#define API_CONSOLE_DIR_MAX 1024
#define API_CONSOLE_NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
#define API_CONSOLE_LONG_CACHE "public, max-age=300"
#define API_CONSOLE_NO_CACHE "no-cache"

struct api_console_entry {
    char *name;
    struct hs_buf *data;
    struct api_console_file file; /* lends name and data */
};

struct api_console {
    struct api_console_entry files[API_CONSOLE_FILES_MAX];
    size_t nfiles;
    size_t bytes;
};

void api_console_free(struct api_console *console)
{
    if (console == NULL) {
        return;
    }
    for (size_t i = 0; i < console->nfiles; i++) {
        OPENSSL_free(console->files[i].name);
        hs_buf_free(console->files[i].data);
    }
    OPENSSL_free(console);
}

void api_console_freep(struct api_console **console)
{
    api_console_free(*console);
}

static void api_console_closep(const int *fd)
{
    if (*fd >= 0) {
        close(*fd);
    }
}

/* Content-Type by extension; what is not listed is served as opaque bytes (nosniff). */
static const char *api_console_media_type(const char *name)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/vnd.microsoft.icon"},
        {".json", "application/json"},
        {".woff2", "font/woff2"},
        {".map", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    const char *slash = strrchr(name, '/');
    if (dot == NULL || (slash != NULL && dot < slash)) {
        return "application/octet-stream";
    }
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(dot, types[i][0]) == 0) {
            return types[i][1];
        }
    }
    return "application/octet-stream";
}

/* The entry points are revalidated on every load so a new deployment shows at once; the
 * bundles they name may be cached for a few minutes. */
static const char *api_console_cache(const char *name)
{
    return strcmp(name, "index.html") == 0 || strcmp(name, "config.json") == 0
               ? API_CONSOLE_NO_CACHE
               : API_CONSOLE_LONG_CACHE;
}

/* A strong ETag (RFC 9110 §8.8.3): the first 16 bytes of the content's SHA-256, hex, quoted. */
static void api_console_etag(const struct hs_buf *data, char out[API_CONSOLE_ETAG_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(hs_buf_data(data), hs_buf_len(data), md);
    out[0] = '"';
    for (size_t i = 0; i < 16; i++) {
        out[1 + 2 * i] = digits[md[i] >> 4];
        out[2 + 2 * i] = digits[md[i] & 0x0f];
    }
    out[API_CONSOLE_ETAG_LEN - 1] = '"';
    out[API_CONSOLE_ETAG_LEN] = '\0';
}

/* Reads the regular file name (in dirfd, not a link) as prefix/name into the next entry. */
static HS_RESULT api_console_add(struct api_console *c, int dirfd, const char *name,
                                 const char *rel)
{
    HS_ENSURE_MSG(c->nfiles < API_CONSOLE_FILES_MAX, HS_ERR_INPUT_TOO_LARGE,
                  "console.dir: more than %d files", API_CONSOLE_FILES_MAX);
    HS_DEFER(int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK),
             api_console_closep);
    HS_ENSURE_MSG(fd >= 0, errno == ELOOP ? HS_ERR_INPUT_CONFIG : HS_ERR_IO,
                  "console.dir: cannot open %s (%s)", rel, strerror(errno));
    struct stat st;
    HS_ENSURE_MSG(fstat(fd, &st) == 0 && S_ISREG(st.st_mode), HS_ERR_INPUT_CONFIG,
                  "console.dir: %s is not a regular file", rel);
    HS_ENSURE_MSG((size_t)st.st_size <= API_CONSOLE_BYTES_MAX - c->bytes, HS_ERR_INPUT_TOO_LARGE,
                  "console.dir: the files exceed %d bytes", API_CONSOLE_BYTES_MAX);
    size_t size = (size_t)st.st_size;
    HS_DEFER(struct hs_buf *data = hs_buf_new(size > 0 ? size : 1), hs_buf_freep);
    HS_ENSURE(data != NULL, HS_ERR_NOMEM);
    unsigned char *p = NULL;
    if (size > 0) {
        HS_GUARD(hs_buf_reserve(data, size, &p));
        size_t got = 0;
        while (got < size) {
            ssize_t n = read(fd, p + got, size - got);
            HS_ENSURE_MSG(n > 0 || (n < 0 && errno == EINTR), HS_ERR_IO,
                          "console.dir: cannot read %s", rel);
            got += n > 0 ? (size_t)n : 0;
        }
        HS_GUARD(hs_buf_commit(data, size));
    }
    struct api_console_entry *e = &c->files[c->nfiles];
    e->name = OPENSSL_strdup(rel);
    HS_ENSURE(e->name != NULL, HS_ERR_NOMEM);
    e->data = data;
    data = NULL;
    c->nfiles++;
    c->bytes += size;
    e->file.name = e->name;
    e->file.data = e->data;
    e->file.content_type = api_console_media_type(e->name);
    e->file.cache_control = api_console_cache(e->name);
    api_console_etag(e->data, e->file.etag);
    return HS_OK;
}

/* One open directory of the walk: its descriptor, its entries (scandirat: read at once, so
 * nothing else uses a directory stream) and the next one to look at, and its path with a
 * trailing '/' ("" for the root). */
struct api_console_level {
    int fd;
    struct dirent **names;
    int nnames;
    int next;
    char prefix[API_CONSOLE_NAME_MAX + 1];
};

/* The walk's open directories, the root first: at most API_CONSOLE_DEPTH_MAX + 1 at a time. */
struct api_console_walk {
    struct api_console_level level[API_CONSOLE_DEPTH_MAX + 1];
    size_t n;
};

static void api_console_walk_pop(struct api_console_walk *w)
{
    struct api_console_level *top = &w->level[--w->n];
    for (int i = 0; i < top->nnames; i++) {
        free(top->names[i]);
    }
    free(top->names);
    close(top->fd);
}

static void api_console_walk_clear(struct api_console_walk *w)
{
    while (w->n > 0) {
        api_console_walk_pop(w);
    }
}

/* Opens the directory fd (taken over: closed on failure too) as the walk's next level. */
static HS_RESULT api_console_walk_push(struct api_console_walk *w, int fd, const char *prefix)
{
    HS_ENSURE(fd >= 0, HS_ERR_INTERNAL);
    if (w->n >= sizeof(w->level) / sizeof(w->level[0])) {
        close(fd);
        HS_BAIL(HS_ERR_INTERNAL);
    }
    struct api_console_level *l = &w->level[w->n];
    memset(l, 0, sizeof(*l));
    l->fd = fd;
    w->n++;
    HS_IGNORE(snprintf(l->prefix, sizeof(l->prefix), "%s", prefix));
    l->nnames = scandirat(fd, ".", &l->names, NULL, alphasort);
    if (l->nnames < 0) {
        l->nnames = 0;
        l->names = NULL;
        HS_BAIL_MSG(HS_ERR_IO, "console.dir: cannot read the directory %s", prefix);
    }
    return HS_OK;
}

/* One directory entry of the walk's top level: a checked name, then a file (read) or a
 * subdirectory (pushed); links and the rest are refused. */
static HS_RESULT api_console_entry_load(struct api_console *c, struct api_console_walk *w,
                                        const char *name)
{
    const struct api_console_level *top = &w->level[w->n - 1];
    int fd = top->fd;
    char rel[API_CONSOLE_NAME_MAX + 1];
    int n = snprintf(rel, sizeof(rel), "%s%s", top->prefix, name);
    HS_ENSURE_MSG(n > 0 && (size_t)n + 1 < sizeof(rel), HS_ERR_INPUT_CONFIG,
                  "console.dir: a path is longer than %d bytes", API_CONSOLE_NAME_MAX - 1);
    HS_ENSURE_MSG(name[0] != '.', HS_ERR_INPUT_CONFIG, "console.dir: %s is a dot-file", rel);
    HS_ENSURE_MSG(name[strspn(name, API_CONSOLE_NAME_CHARS)] == '\0', HS_ERR_INPUT_CONFIG,
                  "console.dir: %s has characters other than [A-Za-z0-9._-]", rel);
    struct stat st;
    HS_ENSURE_MSG(fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0, HS_ERR_IO,
                  "console.dir: cannot stat %s", rel);
    HS_ENSURE_MSG(!S_ISLNK(st.st_mode), HS_ERR_INPUT_CONFIG, "console.dir: %s is a symbolic link",
                  rel);
    if (S_ISREG(st.st_mode)) {
        return api_console_add(c, fd, name, rel);
    }
    HS_ENSURE_MSG(S_ISDIR(st.st_mode), HS_ERR_INPUT_CONFIG,
                  "console.dir: %s is neither a file nor a directory", rel);
    HS_ENSURE_MSG(w->n <= API_CONSOLE_DEPTH_MAX, HS_ERR_INPUT_CONFIG,
                  "console.dir: %s is nested deeper than %d levels", rel, API_CONSOLE_DEPTH_MAX);
    rel[n] = '/';
    rel[n + 1] = '\0';
    int sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    HS_ENSURE_MSG(sub >= 0, errno == ELOOP ? HS_ERR_INPUT_CONFIG : HS_ERR_IO,
                  "console.dir: cannot open %s", rel);
    return api_console_walk_push(w, sub, rel);
}

/* Every file below the directory fd (taken over), depth first and without recursion: the
 * open directories are a stack. */
static HS_RESULT api_console_walk(struct api_console *c, int fd)
{
    HS_DEFER(struct api_console_walk w = {0}, api_console_walk_clear);
    HS_GUARD(api_console_walk_push(&w, fd, ""));
    while (w.n > 0) {
        struct api_console_level *top = &w.level[w.n - 1];
        if (top->next >= top->nnames) {
            api_console_walk_pop(&w);
            continue;
        }
        const char *name = top->names[top->next++]->d_name;
        if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
            HS_GUARD(api_console_entry_load(c, &w, name));
        }
    }
    return HS_OK;
}

static int api_console_cmp(const void *a, const void *b)
{
    const struct api_console_entry *x = a;
    const struct api_console_entry *y = b;
    return strcmp(x->name, y->name);
}

HS_RESULT api_console_load(const char *dir, struct api_console **out)
{
    HS_ENSURE_REF(dir);
    HS_ENSURE(strnlen(dir, API_CONSOLE_DIR_MAX + 1) <= API_CONSOLE_DIR_MAX, HS_ERR_INPUT_CONFIG);
    HS_DEFER(struct api_console *c = OPENSSL_zalloc(sizeof(*c)), api_console_freep);
    HS_ENSURE(c != NULL, HS_ERR_NOMEM);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    HS_ENSURE_MSG(fd >= 0, HS_ERR_INPUT_NOT_FOUND, "console.dir: %s is not a readable directory",
                  dir);
    HS_GUARD(api_console_walk(c, fd));
    qsort(c->files, c->nfiles, sizeof(c->files[0]), api_console_cmp);
    *out = c;
    c = NULL;
    return HS_OK;
}

/* The length of the prefix of path[0..len) made of name characters and '/' with no component
 * that starts with '.'. */
static size_t api_console_span(const char *path, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char ch = path[i];
        if (ch == '\0' || (ch != '/' && strchr(API_CONSOLE_NAME_CHARS, ch) == NULL) ||
            (ch == '.' && i > 0 && path[i - 1] == '/') ||
            (ch == '/' && i > 0 && path[i - 1] == '/')) {
            return i;
        }
    }
    return len;
}

const struct api_console_file *api_console_find(const struct api_console *console, const char *path,
                                                size_t len)
{
    if (console == NULL) {
        return NULL;
    }
    if (len == 0) {
        path = "index.html";
        len = strlen(path);
    }
    /* Only names a load could have taken are looked up (no NUL, escapes or dot segments). */
    if (len > API_CONSOLE_NAME_MAX || path[0] == '.' || api_console_span(path, len) != len) {
        return NULL;
    }
    size_t lo = 0;
    size_t hi = console->nfiles;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *name = console->files[mid].name;
        int cmp = strncmp(name, path, len);
        if (cmp == 0 && name[len] != '\0') {
            cmp = 1; /* name is longer: it sorts after path */
        }
        if (cmp == 0) {
            return &console->files[mid].file;
        }
        if (cmp < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

size_t api_console_count(const struct api_console *console)
{
    return console != NULL ? console->nfiles : 0;
}

size_t api_console_bytes(const struct api_console *console)
{
    return console != NULL ? console->bytes : 0;
}
