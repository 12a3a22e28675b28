/*
 * hs_file: bounded whole-file reads and careful writes.
 *
 * Outputs of the key ceremony are created with O_CREAT|O_EXCL (never overwritten); files the
 * service or ceremony must update (jwks.json, the inventory's side files) are replaced
 * atomically (temporary file, fsync, rename, fsync of the directory).
 */
#ifndef HS_FILE_H
#define HS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"

/* Reads the whole regular file at path (at most max bytes) into a new buffer. Errors:
 * HS_ERR_INPUT_NOT_FOUND when it does not exist, HS_ERR_INPUT_TOO_LARGE when larger than max,
 * HS_ERR_IO. The caller frees *out with hs_buf_free(). */
HS_RESULT hs_file_read(const char *path, size_t max, struct hs_buf **out);

/* hs_file_read() into a sensitive buffer (wiped on growth and free), for files holding
 * secrets such as ~/.aws/credentials. */
HS_RESULT hs_file_read_sensitive(const char *path, size_t max, struct hs_buf **out);

/* Creates path with mode (O_CREAT|O_EXCL|O_NOFOLLOW), writes n bytes, fsyncs. Errors:
 * HS_ERR_INPUT_EXISTS when path exists, HS_ERR_IO (a partly written file is removed). */
HS_RESULT hs_file_write_new(const char *path, const void *p, size_t n, mode_t mode);

/* Atomically replaces (or creates) path with n bytes: writes "<path>.tmp.<pid>", fsyncs,
 * renames over path and fsyncs the directory. Errors: HS_ERR_IO. */
HS_RESULT hs_file_replace(const char *path, const void *p, size_t n, mode_t mode);

/* Appends one line (text plus "\n") to path, creating it with mode, and fsyncs. Errors:
 * HS_ERR_IO. */
HS_RESULT hs_file_append_line(const char *path, const char *text, mode_t mode);

/* fsyncs the directory holding path, so that creating or renaming path survives a power cut
 * (fsync(2) on the file alone does not cover its directory entry). Errors: HS_ERR_IO,
 * HS_ERR_INPUT_TOO_LARGE (path longer than HS_FILE_PATH_MAX). */
HS_RESULT hs_file_sync_dir(const char *path);

/* True when something exists at path (lstat succeeds). */
bool hs_file_exists(const char *path);

#endif /* HS_FILE_H */
