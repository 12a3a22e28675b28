/* Fuzz target: the AWS shared config and credentials file parser (aws/aws_ini.h), in both
 * forms and for a few profile names, as aws_creds reads ~/.aws/config and ~/.aws/credentials.
 * Checks what the parser promises: every value it lends lies inside the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "aws/aws_ini.h"

static void aws_config_fuzz_check(const uint8_t *data, size_t size, const struct aws_ini_profile *p)
{
    for (size_t k = 0; k < AWS_INI_KEY_COUNT; k++) {
        const struct aws_ini_span v = p->v[k];
        if (v.n > 0 && (v.p < data || v.p + v.n > data + size)) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const profiles[] = {"default", "work", "profile x"};
    for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
        struct aws_ini_profile p;
        hs_result r = aws_ini_parse(data, size, AWS_INI_CONFIG, profiles[i], &p);
        if (!hs_failed(r)) {
            aws_config_fuzz_check(data, size, &p);
        }
        r = aws_ini_parse(data, size, AWS_INI_CREDENTIALS, profiles[i], &p);
        if (!hs_failed(r)) {
            aws_config_fuzz_check(data, size, &p);
        }
    }
    return 0;
}
