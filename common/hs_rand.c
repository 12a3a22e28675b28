#include "common/hs_rand.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

struct hs_rand_stock {
    unsigned char raw[HS_RAND_STOCK];
    size_t used;
    unsigned int fork_gen; /* hs_rand_fork_gen when filled */
};

/* Counts forks (in the child): a stock filled before the fork is stale in the child. getpid()
 * per call would do too, but it is a system call. */
static atomic_uint hs_rand_fork_gen;
static pthread_once_t hs_rand_once = PTHREAD_ONCE_INIT;
static _Thread_local struct hs_rand_stock hs_rand_tls = {.used = HS_RAND_STOCK};

static void hs_rand_after_fork(void)
{
    atomic_fetch_add(&hs_rand_fork_gen, 1U);
}

static void hs_rand_register(void)
{
    /* Fails only without memory; then a forked child may repeat ids of its parent, which the
     * getpid() check of old also allowed after a pid was reused. */
    (void)pthread_atfork(NULL, NULL, hs_rand_after_fork);
}

HS_RESULT hs_rand_public(unsigned char *out, size_t n)
{
    HS_ENSURE_REF(out);
    HS_ENSURE(n >= 1 && n <= HS_RAND_TAKE_MAX, HS_ERR_INTERNAL);
    (void)pthread_once(&hs_rand_once, hs_rand_register);
    struct hs_rand_stock *st = &hs_rand_tls;
    unsigned int gen = atomic_load_explicit(&hs_rand_fork_gen, memory_order_relaxed);
    if (st->used > sizeof(st->raw) - n || st->fork_gen != gen) {
        st->used = sizeof(st->raw);
        HS_GUARD_OSSL(RAND_bytes(st->raw, (int)sizeof(st->raw)), HS_ERR_CRYPTO);
        st->used = 0;
        st->fork_gen = gen;
    }
    memcpy(out, st->raw + st->used, n);
    /* A byte handed out is not kept: the stock holds only what is still to come. */
    OPENSSL_cleanse(st->raw + st->used, n);
    st->used += n;
    return HS_OK;
}
