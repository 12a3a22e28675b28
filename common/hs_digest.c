#include "common/hs_digest.h"

#include <pthread.h>

static EVP_MD *hs_digest_md256;
static EVP_MD *hs_digest_md384;
static pthread_once_t hs_digest_once = PTHREAD_ONCE_INIT;

static void hs_digest_fetch(void)
{
    hs_digest_md256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    hs_digest_md384 = EVP_MD_fetch(NULL, "SHA384", NULL);
}

const EVP_MD *hs_digest_sha256(void)
{
    return pthread_once(&hs_digest_once, hs_digest_fetch) == 0 ? hs_digest_md256 : NULL;
}

const EVP_MD *hs_digest_sha384(void)
{
    return pthread_once(&hs_digest_once, hs_digest_fetch) == 0 ? hs_digest_md384 : NULL;
}

HS_RESULT hs_sha256(const void *p, size_t n, unsigned char out[SHA256_DIGEST_LENGTH])
{
    HS_ENSURE(p != NULL || n == 0, HS_ERR_INTERNAL);
    HS_ENSURE_REF(out);
    const EVP_MD *md = hs_digest_sha256();
    HS_ENSURE_MSG(md != NULL, HS_ERR_CRYPTO, "SHA-256 is not available");
    unsigned int used = 0;
    HS_GUARD_OSSL(EVP_Digest(p != NULL ? p : "", n, out, &used, md, NULL), HS_ERR_CRYPTO);
    HS_ENSURE(used == SHA256_DIGEST_LENGTH, HS_ERR_CRYPTO);
    return HS_OK;
}
