/*
 * keyceremony: the operators' tool. Keys are born inside the token; only public material
 * leaves it (root and intermediate PEM, truststore.pem, JWKs), and every step is recorded in
 * a transcript.
 *
 *   keyceremony init-token   --config F   (SoftHSM / offline HSMs: C_InitToken, C_InitPIN)
 *   keyceremony root         --config F
 *   keyceremony intermediate --config F
 *   keyceremony jwt-key      --config F
 *   keyceremony export       --config F
 *
 * Exit status: 0 done, 1 the step failed (nothing was overwritten), 2 usage error.
 * PINs come from the files or environment variables the config names, never from argv.
 */
#include <stdio.h>
#include <string.h>

#include "hs_err.h"
#include "hs_log.h"
#include "hs_secret.h"
#include "internal.h"
#include "kc_config.h"
#include "p11_evp.h"

struct kc_command {
    const char *name;
    enum kc_step step;
    hs_result (*run)(const struct kc_config *cfg);
    const char *help;
};

static const struct kc_command kc_commands[] = {
    {"init-token", KC_STEP_INIT_TOKEN, kc_run_init_token,
     "initialise a token and its user PIN (SoftHSM, offline HSMs)"},
    {"root", KC_STEP_ROOT, kc_run_root, "generate the root CA key and self-signed certificate"},
    {"intermediate", KC_STEP_INTERMEDIATE, kc_run_intermediate,
     "generate the intermediate CA key and its certificate signed by the root key"},
    {"jwt-key", KC_STEP_JWT_KEY, kc_run_jwt_key, "generate a JWT signing key and write its JWK"},
    {"export", KC_STEP_EXPORT, kc_run_export, "write truststore.pem and jwks.json"},
};

static void kc_usage(FILE *out)
{
    fputs("usage: keyceremony <step> --config FILE\n\nsteps:\n", out);
    for (size_t i = 0; i < sizeof(kc_commands) / sizeof(kc_commands[0]); i++) {
        fprintf(out, "  %-13s %s\n", kc_commands[i].name, kc_commands[i].help);
    }
    fputs("\nThe config is strict JSON (see keyceremony/examples/ and docs/ceremony.md).\n"
          "PINs are read from the file or environment variable it names, never from argv.\n",
          out);
}

static void kc_report_failure(const char *step)
{
    const struct hs_error *e = hs_error_last();
    fprintf(stderr, "keyceremony %s: failed: %s%s%s%s%s\n", step, hs_code_name(e->code),
            e->detail[0] != '\0' ? ": " : "", e->detail, e->ckr_name != NULL ? " " : "",
            e->ckr_name != NULL ? e->ckr_name : "");
}

static const struct kc_command *kc_find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(kc_commands) / sizeof(kc_commands[0]); i++) {
        if (strcmp(name, kc_commands[i].name) == 0) {
            return &kc_commands[i];
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        kc_usage(stdout);
        return 0;
    }
    const struct kc_command *cmd = argc == 4 ? kc_find_command(argv[1]) : NULL;
    if (cmd == NULL || strcmp(argv[2], "--config") != 0) {
        kc_usage(stderr);
        return 2;
    }
    hs_log_set_stream(stderr);
    hs_log_init();
    struct kc_config *cfg = NULL;
    /* Validate everything before the module is loaded: a bad config never touches a token. */
    if (hs_failed(hs_secure_init(65536)) || hs_failed(kc_config_load(cmd->step, argv[3], &cfg)) ||
        hs_failed(p11_evp_init()) || hs_failed(cmd->run(cfg))) {
        kc_report_failure(cmd->name);
        kc_config_free(cfg);
        return 1;
    }
    kc_config_free(cfg);
    printf("keyceremony %s: done\n", cmd->name);
    return 0;
}
