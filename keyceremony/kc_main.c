/*
 * keyceremony: the operators' tool. Keys are born inside the token; only public material
 * leaves it (root and intermediate PEM, cross-certificates, CRLs, truststore.pem, JWKs, SSH CA
 * public-key lines), and
 * every step is recorded in a transcript. docs/ceremony.md is the runbook.
 *
 *   keyceremony init-token          --config F [--dry-run]
 *   keyceremony root                --config F [--dry-run]
 *   keyceremony key                 --config F [--dry-run]
 *   keyceremony intermediate        --config F [--dry-run]
 *   keyceremony cross-sign          --config F [--dry-run]
 *   keyceremony crl                 --config F [--dry-run]
 *   keyceremony jwt-key             --config F [--dry-run]
 *   keyceremony jwt-key retire KID  --config F [--dry-run]
 *   keyceremony export              --config F [--dry-run]
 *   keyceremony verify              --config F [--dry-run]
 *   keyceremony ssh-ca              --config F [--dry-run]
 *   keyceremony --version [--module PATH]
 *
 * --version prints the build's version (git describe at build time), the OpenSSL keyceremony
 * runs with and the p11-kit it was built with; with --module it also loads that Cryptoki module
 * (C_Initialize only: no token, no PIN, no config) and prints its CK_INFO (C_GetInfo).
 * --dry-run validates the config and the files it names, prints the full plan and touches
 * nothing: no module is loaded, no file is written.
 * Exit status: 0 done, 1 the step failed (nothing was overwritten), 2 usage error.
 * PINs come from the file or environment variable the config names, or a prompt without echo
 * on the terminal; never from argv.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/hs_err.h"
#include "common/hs_log.h"
#include "common/hs_secret.h"
#include "common/hs_version.h"
#include "keyceremony/internal.h"
#include "keyceremony/kc_config.h"
#include "pkcs11/p11_evp.h"
#include "pkcs11/p11_version.h"

struct kc_command {
    const char *name;
    enum kc_step step;
    HS_MUST_USE hs_result (*run)(const struct kc_config *cfg);
    HS_MUST_USE hs_result (*plan)(const struct kc_config *cfg);
    const char *help;
};

static const struct kc_command kc_commands[] = {
    {"init-token", KC_STEP_INIT_TOKEN, kc_run_init_token, kc_plan_init_token,
     "initialise a token and its user PIN (SoftHSM, offline HSMs)"},
    {"root", KC_STEP_ROOT, kc_run_root, kc_plan_root,
     "generate the root CA key and its self-signed certificate"},
    {"key", KC_STEP_KEY, kc_run_key, kc_plan_key,
     "generate a CA key and write its public key (offline root: certified elsewhere)"},
    {"intermediate", KC_STEP_INTERMEDIATE, kc_run_intermediate, kc_plan_intermediate,
     "certify an intermediate CA key (generated here, or a key step's public key) by the root"},
    {"cross-sign", KC_STEP_CROSS_SIGN, kc_run_cross_sign, kc_plan_cross_sign,
     "certify an existing CA certificate's key again under another root"},
    {"crl", KC_STEP_CRL, kc_run_crl, kc_plan_crl, "sign a CRL with a CA key (revoke a CA)"},
    {"jwt-key", KC_STEP_JWT_KEY, kc_run_jwt_key, kc_plan_jwt_key,
     "generate a JWT signing key; publish its JWK (newest key of the JWK Set)"},
    {"jwt-key retire", KC_STEP_JWT_RETIRE, kc_run_jwt_retire, kc_plan_jwt_retire,
     "take key KID out of the JWK Set (usage: jwt-key retire KID --config F)"},
    {"ssh-ca", KC_STEP_SSH_CA, kc_run_ssh_ca, kc_plan_ssh_ca,
     "generate SSH user and/or host CA keys (rotation: a new label adds a key)"},
    {"export", KC_STEP_EXPORT, kc_run_export, kc_plan_export,
     "write truststore.pem, jwks.json and the SSH CA files (ssh_user_ca.pub, ssh_host_ca.pub, "
     "known_hosts)"},
    {"verify", KC_STEP_VERIFY, kc_run_verify, kc_plan_verify,
     "check that every exported certificate, JWK and SSH CA line matches a protected key in the "
     "token"},
};

struct kc_args {
    const struct kc_command *cmd;
    const char *config;
    const char *kid;
    bool dry_run;
};

static void kc_usage(FILE *out)
{
    fputs("usage: keyceremony <step> [retire KID] --config FILE [--dry-run]\n"
          "       keyceremony --version [--module PATH]   (with --module: the module's CK_INFO)\n"
          "\nsteps:\n",
          out);
    for (size_t i = 0; i < sizeof(kc_commands) / sizeof(kc_commands[0]); i++) {
        fprintf(out, "  %-15s %s\n", kc_commands[i].name, kc_commands[i].help);
    }
    fputs("\n--dry-run checks the config and prints the full plan; it loads no module and writes\n"
          "nothing. Configs are strict JSON (keyceremony/examples/, docs/ceremony.md). PINs come\n"
          "from the file or environment variable the config names, or a prompt; never argv.\n",
          out);
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

/* step [retire KID] --config F [--dry-run], in that order of words. */
static bool kc_parse_args(int argc, char **argv, struct kc_args *a)
{
    int i = 1;
    if (argc < 2) {
        return false;
    }
    a->cmd = kc_find_command(argv[i++]);
    if (a->cmd != NULL && a->cmd->step == KC_STEP_JWT_KEY && i + 1 < argc &&
        strcmp(argv[i], "retire") == 0) {
        a->cmd = kc_find_command("jwt-key retire");
        a->kid = argv[i + 1];
        i += 2;
    }
    for (; a->cmd != NULL && i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc && a->config == NULL) {
            a->config = argv[++i];
        } else if (strcmp(argv[i], "--dry-run") == 0 && !a->dry_run) {
            a->dry_run = true;
        } else {
            return false;
        }
    }
    return a->cmd != NULL && a->config != NULL;
}

static void kc_report_failure(const char *step)
{
    const struct hs_error *e = hs_error_last();
    fprintf(stderr, "keyceremony %s: failed: %s%s%s%s%s\n", step, hs_code_name(e->code),
            e->detail[0] != '\0' ? ": " : "", e->detail, e->ckr_name != NULL ? " " : "",
            e->ckr_name != NULL ? e->ckr_name : "");
}

static HS_RESULT kc_execute(const struct kc_args *a, struct kc_config **cfg)
{
    HS_GUARD(hs_secure_init(65536));
    /* Validate everything before the module is loaded: a bad config never touches a token. */
    HS_GUARD(kc_config_load(a->cmd->step, a->config, a->kid, cfg));
    if (a->dry_run) {
        printf("keyceremony %s --dry-run: nothing will be changed; the plan:\n", a->cmd->name);
        return a->cmd->plan(*cfg);
    }
    HS_GUARD(p11_evp_init());
    return a->cmd->run(*cfg);
}

/* --version [--module PATH]: -1 when argv is not a --version call, else the exit status. */
static int kc_version(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--version") != 0) {
        return -1;
    }
    if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--module") == 0)) {
        kc_usage(stderr);
        return 2;
    }
    /* Loading a module logs; the version text alone goes to stdout. */
    hs_log_set_stream(stderr);
    hs_log_set_level(HS_LOG_ERROR);
    hs_version_print(stdout, "keyceremony");
    if (hs_failed(p11_version_print(stdout, argc == 4 ? argv[3] : NULL))) {
        const struct hs_error *e = hs_error_last();
        fprintf(stderr, "keyceremony: --module %s: %s%s%s\n", argv[3], hs_code_name(e->code),
                e->detail[0] != '\0' ? ": " : "", e->detail);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        kc_usage(stdout);
        return 0;
    }
    int version_rc = kc_version(argc, argv);
    if (version_rc >= 0) {
        return version_rc;
    }
    struct kc_args a = {0};
    if (!kc_parse_args(argc, argv, &a)) {
        kc_usage(stderr);
        return 2;
    }
    hs_log_set_stream(stderr);
    hs_log_init();
    struct kc_config *cfg = NULL;
    hs_result r = kc_execute(&a, &cfg);
    kc_config_free(cfg);
    if (hs_failed(r)) {
        kc_report_failure(a.cmd->name);
        return 1;
    }
    printf("keyceremony %s: %s\n", a.cmd->name,
           a.dry_run ? "plan printed; nothing changed" : "done");
    return 0;
}
