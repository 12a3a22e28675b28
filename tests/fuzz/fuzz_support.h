/*
 * fuzz_support: what the fuzz targets of tests/fuzz/ share (docs/fuzzing.md).
 *
 * Every tests/fuzz/<target>_fuzz.c implements LLVMFuzzerTestOneInput (libFuzzer's interface,
 * https://llvm.org/docs/LibFuzzer.html "Fuzz Target") and may implement LLVMFuzzerInitialize.
 * Built with -DHS_FUZZ=ON they link libFuzzer; in every other build they link replay_main.c,
 * which runs each file of the corpus directories it is given once.
 */
#ifndef FUZZ_SUPPORT_H
#define FUZZ_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hs_err.h"

/* libFuzzer's entry points: TestOneInput returns 0 (libFuzzer reserves other values);
 * Initialize runs once before the first input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Sends the project's log lines to /dev/null and sets the threshold to errors: a target runs
 * millions of inputs and each refusal would log. Aborts when /dev/null cannot be opened. */
void fuzz_quiet(void);

/* Makes the n bytes at data the whole content of an in-memory file (memfd) and writes a path
 * that opens it into path (NUL-terminated): "/proc/self/fd/<FUZZ_MEMFILE_FD + slot>", the
 * same for every call with the same slot (0..FUZZ_MEMFILE_SLOTS-1), so a seed can name one
 * file from inside another (a config naming its JWK Set). For parsers whose only entry point
 * reads a file. Aborts when the file cannot be made or written (a harness failure). */
#define FUZZ_MEMFILE_FD 1000
#define FUZZ_MEMFILE_SLOTS 2
void fuzz_memfile(int slot, const uint8_t *data, size_t n, char path[64]);

/* A bounded reader over the fuzz input, for targets that split it into fields. */
struct fuzz_input {
    const uint8_t *p;
    size_t n;
};

/* Takes bytes up to (not including) the next '\n' (or all that is left) into a new NUL-terminated
 * string the caller frees with free(); a NUL byte inside ends the string early, as a C string
 * from a transport would. Sets *eof when nothing was left to take. Aborts when out of memory. */
char *fuzz_take_line(struct fuzz_input *in, bool *eof);

/* A new NUL-terminated copy of n bytes (free() it); aborts when out of memory. */
char *fuzz_strndup(const uint8_t *p, size_t n);

/* Returns r unchanged; when $HSMSIGN_FUZZ_DEBUG is set, first prints its code and detail to
 * stderr (to see why a seed is refused: scripts/fuzz.sh does not set it). */
HS_RESULT fuzz_debug(hs_result r);

/* A broken invariant (or a harness failure): prints "fuzz: broken at FILE:LINE" to stderr and
 * aborts, which libFuzzer reports as a crash and the replay driver as a failed test. */
#define fuzz_abort() fuzz_abort_at(__FILE__, __LINE__)
__attribute__((noreturn)) void fuzz_abort_at(const char *file, int line);

/* Takes one byte (0 when none is left). */
uint8_t fuzz_take_byte(struct fuzz_input *in);

#endif /* FUZZ_SUPPORT_H */
