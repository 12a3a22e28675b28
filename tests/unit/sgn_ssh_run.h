/*
 * sgn_ssh_run: what the SSH tests (sgn_ssh_key_test, sgn_ssh_cert_test) share to run the real
 * OpenSSH tools and Python: a program run without a shell, its output captured, and the scratch
 * directory removed. Test code only; included by one .c file each (so the helpers are static,
 * marked unused for the file that needs only some).
 */
#ifndef SGN_SSH_RUN_H
#define SGN_SSH_RUN_H

#include <ftw.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Reads fd to its end; keeps the first out_len - 1 bytes in out, NUL-terminated. */
__attribute__((unused)) static void ssh_test_drain(int fd, char *out, size_t out_len)
{
    size_t n = 0;
    char scratch[4096];
    for (;;) {
        bool room = n + 1 < out_len;
        ssize_t got =
            room ? read(fd, out + n, out_len - 1 - n) : read(fd, scratch, sizeof(scratch));
        if (got <= 0) {
            break;
        }
        n += room ? (size_t)got : 0;
    }
    out[n] = '\0';
}

/* Runs argv[0] (looked up on PATH) with argv, without a shell; its stdout and stderr go to out.
 * Returns its exit status, or -1 when it could not be run or was killed. */
__attribute__((unused)) static int ssh_test_run(char *const argv[], char *out, size_t out_len)
{
    int fds[2];
    if (pipe(fds) != 0) {
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    ssh_test_drain(fds[0], out, out_len);
    close(fds[0]);
    int st = 0;
    if (rc != 0 || waitpid(pid, &st, 0) != pid) {
        return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

__attribute__((unused)) static int ssh_test_remove_entry(const char *path, const struct stat *st,
                                                         int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes the directory tree at path. Returns 0 on success. */
__attribute__((unused)) static int ssh_test_remove_tree(const char *path)
{
    return nftw(path, ssh_test_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The value of one hex digit, -1 for another character. */
__attribute__((unused)) static int ssh_test_nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes the lowercase or uppercase hex string hex into out (at most max bytes). Returns the
 * number of bytes, or 0 when hex is not an even-length hex string that fits. */
__attribute__((unused)) static size_t ssh_test_unhex(const char *hex, unsigned char *out,
                                                     size_t max)
{
    size_t n = strlen(hex);
    if (n % 2 != 0 || n / 2 > max) {
        return 0;
    }
    for (size_t i = 0; i < n / 2; i++) {
        int hi = ssh_test_nibble(hex[2 * i]);
        int lo = ssh_test_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return 0;
        }
        out[i] = (unsigned char)(hi * 16 + lo);
    }
    return n / 2;
}

#endif /* SGN_SSH_RUN_H */
