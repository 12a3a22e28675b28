#include "common/hs_version.h"

#include <openssl/crypto.h>

void hs_version_print(FILE *out, const char *program)
{
    fprintf(out, "%s %s\n", program, hs_version_build);
    fprintf(out, "OpenSSL: %s\n", OpenSSL_version(OPENSSL_VERSION));
}
