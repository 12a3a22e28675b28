/*
 * The corpus replay driver: a main() for a fuzz target in builds without libFuzzer (gcc, or
 * clang without -DHS_FUZZ=ON). Runs LLVMFuzzerInitialize when the target has one, then
 * LLVMFuzzerTestOneInput once on every regular file in the directories (or files) named on the
 * command line, each in a heap block of exactly its size so that AddressSanitizer sees any read
 * past the end. Prints how many inputs ran; exits 1 when none did, or when an argument cannot
 * be read, so an empty or misplaced corpus fails its test.
 *   <target>_replay DIR|FILE...
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz_support.h"

/* Weak: a target need not define it. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

#define REPLAY_INPUT_MAX (16 * 1024 * 1024) /* bytes of one corpus file */

static int replay_file(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || st.st_size > REPLAY_INPUT_MAX) {
        fprintf(stderr, "replay: %s: cannot size it (or over %d bytes)\n", path, REPLAY_INPUT_MAX);
        fclose(f);
        return -1;
    }
    size_t n = (size_t)st.st_size;
    /* malloc(0) may return NULL; the input pointer must still be valid. */
    uint8_t *data = malloc(n > 0 ? n : 1);
    if (data == NULL || fread(data, 1, n, f) != n) {
        fprintf(stderr, "replay: %s: read failed\n", path);
        free(data);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(data, n);
    free(data);
    (*count)++;
    return 0;
}

static int replay_name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The regular files of dir, in name order (so a run is repeatable). */
static int replay_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    int rc = 0;
    struct dirent *e = NULL;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char **grown = realloc(names, (n + 1) * sizeof(*names));
        if (grown == NULL) {
            rc = -1;
            break;
        }
        names = grown;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(len);
        if (path == NULL) {
            rc = -1;
            break;
        }
        snprintf(path, len, "%s/%s", dir, e->d_name);
        names[n++] = path;
    }
    closedir(d);
    if (n > 1) {
        qsort(names, n, sizeof(*names), replay_name_cmp);
    }
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            rc = replay_file(names[i], count);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize != NULL) {
        LLVMFuzzerInitialize(&argc, &argv);
    }
    size_t count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int rc = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count)
                                                                : replay_file(argv[i], &count);
        if (rc != 0) {
            return 1;
        }
    }
    printf("replayed %zu inputs\n", count);
    if (count == 0) {
        fprintf(stderr, "replay: no input ran: the corpus is empty\n");
        return 1;
    }
    return 0;
}
