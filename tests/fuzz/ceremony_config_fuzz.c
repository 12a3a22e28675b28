/*
 * ceremony_config_fuzz: the key ceremony's configuration files (kc_config_load, which
 * keyceremony runs on its config before anything touches a token), for every ceremony step.
 *
 * Input: [step byte]KID LF [config JSON][0x00][JWK Set]. The step is the byte mod the number of
 * steps (enum kc_step order: init-token, root, key, intermediate, cross-sign, crl, jwt-key,
 * jwt-key retire, export, verify). KID is the command line's argument of jwt-key retire (passed
 * for every step, as kc_main passes NULL or argv). The config goes to in-memory file 0, the part
 * after its first NUL byte (empty when there is none) to in-memory file 1, "/proc/self/fd/1001",
 * which a config may name as its "jwks" (kc_config reads and checks an existing JWK Set). Input
 * files elsewhere must only exist: the seeds name /dev/null; outputs must not exist in an existing
 * directory: the seeds name /dev/hsmsign-fuzz-absent-*.
 */
#include <stdlib.h>
#include <string.h>

#include "common/hs_defer.h"
#include "keyceremony/kc_config.h"
#include "tests/fuzz/fuzz_support.h"

#define CEREMONY_FUZZ_STEPS 10

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

static void ceremony_fuzz_check(const struct kc_config *cfg, enum kc_step step, const char *kid)
{
    if (cfg->step != step || cfg->doc == NULL || kc_step_name(step) == NULL ||
        cfg->njwt_keys > SGN_JWT_KEYS_MAX || cfg->cert.npermitted_dns > SGN_EXT_NAMES_MAX ||
        cfg->cert.npermitted_email > SGN_EXT_NAMES_MAX ||
        (cfg->crl != NULL && cfg->crl->n > KC_CRL_ENTRIES_MAX)) {
        fuzz_abort();
    }
    if (cfg->cert.validity_days < 0 || cfg->cert.validity_days > KC_VALIDITY_DAYS_MAX) {
        fuzz_abort();
    }
    if (cfg->key.label != NULL && kc_key_type_name(&cfg->key) == NULL) {
        fuzz_abort();
    }
    if (step == KC_STEP_JWT_RETIRE && strcmp(cfg->retire_kid, kid) != 0) {
        fuzz_abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    enum kc_step step = (enum kc_step)(data[0] % CEREMONY_FUZZ_STEPS);
    struct fuzz_input in = {data + 1, size - 1};
    bool eof = false;
    char *kid = fuzz_take_line(&in, &eof);
    const uint8_t *nul = memchr(in.p, 0, in.n);
    size_t conf_len = nul != NULL ? (size_t)(nul - in.p) : in.n;
    char path[64];
    char jwks_path[64];
    fuzz_memfile(1, nul != NULL ? nul + 1 : in.p, nul != NULL ? in.n - conf_len - 1 : 0, jwks_path);
    fuzz_memfile(0, in.p, conf_len, path);
    HS_DEFER(struct kc_config *cfg = NULL, kc_config_freep);
    if (!hs_failed(fuzz_debug(kc_config_load(step, path, kid, &cfg)))) {
        ceremony_fuzz_check(cfg, step, kid);
    }
    free(kid);
    return 0;
}
