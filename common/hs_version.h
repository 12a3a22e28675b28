/*
 * hs_version: what a program prints for --version (issue 13).
 *
 * The version is the project version (CMakeLists.txt) and the output of
 * `git describe --always --dirty` taken at every build (cmake/hs_version.cmake), e.g.
 * "0.1.0 (git 3d3ec48-dirty)"; a tree that is not a git checkout gives
 * "0.1.0 (not a git checkout)".
 */
#ifndef HS_VERSION_H
#define HS_VERSION_H

#include <stdio.h>

/* The build's version text (NUL-terminated, static; generated into the build directory). */
extern const char hs_version_build[];

/* Writes two lines to out: "PROGRAM VERSION" and "OpenSSL: <OpenSSL_version(OPENSSL_VERSION)>"
 * (the libcrypto the process runs with, which may differ from the headers it was built
 * with). program is borrowed; nothing is allocated. Cannot fail (a write error is the caller's
 * to see with ferror). */
void hs_version_print(FILE *out, const char *program);

#endif /* HS_VERSION_H */
