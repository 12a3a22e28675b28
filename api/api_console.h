/*
 * api_console: the web console's static files, served by hsmsignd at /ui/ (docs/console.md,
 * docs/config.md "console"). The files under the configured directory are read into memory at
 * start and again on SIGHUP (api_service_reload: a directory that fails to load keeps the old
 * set); no request ever touches the file system.
 *
 * Bounds: at most API_CONSOLE_FILES_MAX files and API_CONSOLE_BYTES_MAX bytes in all; each path
 * (relative to the directory) at most API_CONSOLE_NAME_MAX bytes of [A-Za-z0-9._-/], no
 * component starting with "." (no dot-files, no "." or ".."); regular files and directories
 * only, opened with openat(O_NOFOLLOW) so a symbolic link anywhere below the directory is
 * refused (the load fails naming it).
 */
#ifndef API_CONSOLE_H
#define API_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"

#define API_CONSOLE_FILES_MAX 1024
#define API_CONSOLE_BYTES_MAX (32 * 1024 * 1024) /* bytes, all files together */
#define API_CONSOLE_NAME_MAX 255                 /* bytes of a relative path */
#define API_CONSOLE_DEPTH_MAX 8                  /* directory levels below the root */
#define API_CONSOLE_ETAG_LEN 34                  /* '"' + 32 hex digits + '"' */

struct api_console;

/* One file as served. */
struct api_console_file {
    const char *name;          /* relative path, "index.html", "assets/app.js" */
    const struct hs_buf *data; /* the bytes */
    const char *content_type;  /* static: by the name's extension */
    const char *cache_control; /* static: "no-cache" (index.html, config.json) or 5 minutes */
    char etag[API_CONSOLE_ETAG_LEN + 1]; /* strong validator: a quoted SHA-256 prefix (hex) */
};

/* Reads every file below dir (a directory path, at most 1024 bytes) into a new console.
 * Errors: HS_ERR_INPUT_NOT_FOUND (dir missing or not a directory), HS_ERR_INPUT_CONFIG naming
 * the offending file (a symbolic link, a dot-file, a name with other characters, a special
 * file, too deep), HS_ERR_INPUT_TOO_LARGE (over the file count or byte bound), HS_ERR_IO,
 * HS_ERR_NOMEM. The caller frees *out with api_console_free(). */
HS_RESULT api_console_load(const char *dir, struct api_console **out);

/* The file named path[0..len) (relative, no leading '/'; "" is "index.html"), lent for as long
 * as console lives; NULL when there is none. */
const struct api_console_file *api_console_find(const struct api_console *console, const char *path,
                                                size_t len);

/* The number of files and their total size in bytes. */
size_t api_console_count(const struct api_console *console);
size_t api_console_bytes(const struct api_console *console);

void api_console_free(struct api_console *console);
void api_console_freep(struct api_console **console);

#endif /* API_CONSOLE_H */
