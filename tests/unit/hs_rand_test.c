/* hs_rand: ids from the per-thread stock are distinct, bounded, and a forked child does not
 * hand out the bytes its parent will. */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/hs_rand.h"
#include "tests/testlib/hs_test.h"

#define IDS 100 /* more than one stock's worth of 16-byte ids */

HS_TEST(takes_are_distinct_and_bounded)
{
    unsigned char ids[IDS][16];
    for (size_t i = 0; i < IDS; i++) {
        HS_CHECK_OK(hs_rand_public(ids[i], sizeof(ids[i])));
    }
    size_t same = 0;
    for (size_t i = 0; i < IDS; i++) {
        for (size_t j = 0; j < i; j++) {
            same += memcmp(ids[i], ids[j], sizeof(ids[i])) == 0 ? 1 : 0;
        }
    }
    HS_CHECK(same == 0);
    unsigned char big[HS_RAND_TAKE_MAX + 1];
    HS_CHECK(hs_rand_public(big, 0).code == HS_ERR_INTERNAL);
    HS_CHECK(hs_rand_public(big, sizeof(big)).code == HS_ERR_INTERNAL);
    HS_CHECK(hs_rand_public(NULL, 1).code != HS_ERR_NONE);
    HS_CHECK_OK(hs_rand_public(big, HS_RAND_TAKE_MAX));
}

/* With bytes left in the stock, a child takes 16 and sends them up; the parent's next 16 are
 * not the same (the child refilled instead of repeating the stock it inherited). */
HS_TEST(a_forked_child_does_not_repeat_the_parent)
{
    unsigned char first[16];
    HS_CHECK_OK(hs_rand_public(first, sizeof(first)));
    int fds[2];
    HS_CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    HS_CHECK(pid >= 0);
    if (pid == 0) {
        unsigned char mine[16] = {0};
        int ok = hs_failed(hs_rand_public(mine, sizeof(mine))) ? 1 : 0;
        ssize_t w = write(fds[1], mine, sizeof(mine));
        _exit(ok == 0 && w == (ssize_t)sizeof(mine) ? 0 : 1);
    }
    close(fds[1]);
    unsigned char child[16] = {0};
    ssize_t got = read(fds[0], child, sizeof(child));
    close(fds[0]);
    int status = 0;
    HS_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    unsigned char next[16];
    HS_CHECK_OK(hs_rand_public(next, sizeof(next)));
    HS_CHECK(got == (ssize_t)sizeof(child));
    HS_CHECK(memcmp(child, next, sizeof(next)) != 0);
}

int main(void)
{
    return hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(takes_are_distinct_and_bounded),
        HS_TEST_CASE(a_forked_child_does_not_repeat_the_parent),
        HS_TEST_END,
    });
}
