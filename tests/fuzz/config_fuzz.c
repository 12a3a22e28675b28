/*
 * config_fuzz: the service configuration (api_config_load, which hsmsignd runs on its config
 * file) and the policy in it (api_policy_parse), then the policy's decisions (api_policy.h).
 *
 * The first input byte picks the mode (mod 2):
 *   0  the rest is a whole config file: written to an in-memory file and loaded through its
 *      path, as hsmsignd does (every bound of the real path: API_CONFIG_MAX, the file checks).
 *   1  a policy and three questions for it:
 *        principal LF name LF audience LF {"policy": ...}
 *      The profiles and the policy are parsed as api_config_load does (JSON object,
 *      HS_JSON_DEPTH_MAX, the service's ceilings of 90 days and 1 hour); then a certificate
 *      for name (as commonName, DNS, email and URI SANs, plus an IPv4 and an IPv6 SAN) is
 *      asked for with each profile,
 *      a token for audience, and whether principal may manage a certificate name requested;
 *      then SSH certificates (api_policy_check_ssh) of either type for principal, with name as
 *      the certificate principal (alone, and with "${aws:username}"-like extras), lifetimes
 *      0, 1 h and over the ceiling, the default extensions or [permit-pty, name], and audience
 *      as force-command and as source-address.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "api/api_config.h"
#include "api/api_policy.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "service/svc_profile.h"
#include "tests/fuzz/fuzz_support.h"

#define CONFIG_FUZZ_CERT_TTL_MAX_S (90L * 24 * 3600)
#define CONFIG_FUZZ_TOKEN_TTL_MAX_S 3600L

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

static void config_fuzz_file(const uint8_t *data, size_t size)
{
    char path[64];
    fuzz_memfile(0, data, size, path);
    HS_DEFER(struct api_config *cfg = NULL, api_config_freep);
    if (hs_failed(fuzz_debug(api_config_load(path, NULL, &cfg)))) {
        return;
    }
    if (cfg->policy.nrules > API_POLICY_RULES_MAX || cfg->naccess_keys > API_ACCESS_KEYS_MAX ||
        cfg->njwt_keys > SGN_JWT_KEYS_MAX || cfg->ntrusted_proxies > API_PROXIES_MAX ||
        cfg->listen[0] == '\0') {
        fuzz_abort();
    }
}

static void config_fuzz_add_name(GENERAL_NAMES *sans, int type, ASN1_STRING *value)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    if (gn == NULL || value == NULL) {
        fuzz_abort();
    }
    GENERAL_NAME_set0_value(gn, type, value);
    if (sk_GENERAL_NAME_push(sans, gn) <= 0) {
        fuzz_abort();
    }
}

static ASN1_STRING *config_fuzz_ia5(const char *prefix, const char *s)
{
    ASN1_STRING *a = ASN1_IA5STRING_new();
    size_t n = strlen(prefix) + strlen(s);
    char *joined = malloc(n + 1);
    if (a == NULL || joined == NULL || n > INT32_MAX) {
        fuzz_abort();
    }
    memcpy(joined, prefix, strlen(prefix));
    memcpy(joined + strlen(prefix), s, strlen(s) + 1);
    if (ASN1_STRING_set(a, joined, (int)n) != 1) {
        fuzz_abort();
    }
    free(joined);
    return a;
}

static void config_fuzz_names_freep(GENERAL_NAMES **p)
{
    GENERAL_NAMES_free(*p);
}

static void config_fuzz_decide(const struct api_policy *p, const struct svc_profiles *profiles,
                               const char *principal, const char *name, const char *aud)
{
    HS_DEFER(GENERAL_NAMES *sans = GENERAL_NAMES_new(), config_fuzz_names_freep);
    if (sans == NULL) {
        fuzz_abort();
    }
    config_fuzz_add_name(sans, GEN_DNS, config_fuzz_ia5("", name));
    config_fuzz_add_name(sans, GEN_EMAIL, config_fuzz_ia5("user@", name));
    config_fuzz_add_name(sans, GEN_URI, config_fuzz_ia5("spiffe://", name));
    config_fuzz_add_name(sans, GEN_IPADD, a2i_IPADDRESS("10.1.2.3"));
    config_fuzz_add_name(sans, GEN_IPADD, a2i_IPADDRESS("fd00::1"));
    static const long ttls[] = {0, 3600, CONFIG_FUZZ_CERT_TTL_MAX_S + 1};
    for (size_t i = 0; i < profiles->n; i++) {
        for (size_t t = 0; t < 3; t++) {
            struct api_cert_ask ask = {principal, profiles->items[i].name, name, sans, ttls[t]};
            long ttl_s = 0;
            enum api_policy_reason why = api_policy_check_cert(p, &ask, 86400, &ttl_s);
            /* Allowed means a lifetime within the ceiling the policy was parsed with. */
            if (why == API_POLICY_ALLOWED && (ttl_s <= 0 || ttl_s > CONFIG_FUZZ_CERT_TTL_MAX_S)) {
                fuzz_abort();
            }
            if (api_policy_reason_name(why) == NULL) {
                fuzz_abort();
            }
        }
    }
    long ttl_s = 0;
    enum api_policy_reason why = api_policy_check_token(p, principal, aud, 0, 300, &ttl_s);
    if (why == API_POLICY_ALLOWED && (ttl_s <= 0 || ttl_s > CONFIG_FUZZ_TOKEN_TTL_MAX_S)) {
        fuzz_abort();
    }
    if (!api_policy_may_manage(p, principal, principal)) {
        fuzz_abort(); /* the requester may always manage its own certificates */
    }
    (void)api_policy_may_manage(p, principal, name);
}

/* The invariants of an SSH decision: an input error is an input error; a grant has a lifetime
 * within the ceiling and the request's, sorted distinct extensions, none (and no options) on a
 * host certificate. */
static void config_fuzz_ssh_check(const struct api_ssh_ask *ask, hs_result r,
                                  enum api_policy_reason why, const struct api_ssh_grant *g)
{
    if (hs_failed(r)) {
        if (hs_code_class(r.code) != HS_CLASS_INPUT) {
            fuzz_abort();
        }
        return;
    }
    if (api_policy_reason_name(why) == NULL) {
        fuzz_abort();
    }
    if (why != API_POLICY_ALLOWED) {
        return;
    }
    if (g->ttl_s <= 0 || g->ttl_s > API_POLICY_SSH_TTL_MAX_S ||
        (ask->ttl_s > 0 && g->ttl_s != ask->ttl_s) || g->nextensions > API_SSH_EXTENSIONS_MAX) {
        fuzz_abort();
    }
    for (size_t i = 1; i < g->nextensions; i++) {
        if (strcmp(g->extensions[i - 1], g->extensions[i]) >= 0) {
            fuzz_abort();
        }
    }
    if (ask->type == API_SSH_CERT_HOST &&
        (g->nextensions != 0 || g->force_command != NULL || g->source_address != NULL)) {
        fuzz_abort();
    }
}

static void config_fuzz_ssh(const struct api_policy *p, const char *principal, const char *name,
                            const char *aud)
{
    static const long ttls[] = {0, 3600, API_POLICY_SSH_TTL_MAX_S + 1};
    const char *const one[] = {name};
    const char *const two[] = {name, "root"};
    const char *const exts[] = {"permit-pty", name};
    for (int type = API_SSH_CERT_USER; type <= API_SSH_CERT_HOST; type++) {
        for (size_t v = 0; v < 6; v++) {
            struct api_ssh_ask ask = {
                .caller = principal,
                .type = (enum api_ssh_cert_type)type,
                .principals = v % 2 == 0 ? one : two,
                .nprincipals = v % 2 == 0 ? 1 : 2,
                .ttl_s = ttls[v % 3],
                .extensions_given = v >= 4,
                .extensions = exts,
                .nextensions = v >= 4 ? 2 : 0,
                .force_command = v == 2 ? aud : NULL,
                .source_address = v == 3 ? aud : NULL,
            };
            struct api_ssh_grant g;
            enum api_policy_reason why = API_POLICY_NO_RULE;
            hs_result r = api_policy_check_ssh(p, &ask, &g, &why);
            config_fuzz_ssh_check(&ask, r, why, &g);
        }
    }
}

static void config_fuzz_policy(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    bool eof = false;
    char *principal = fuzz_take_line(&in, &eof);
    char *name = fuzz_take_line(&in, &eof);
    char *aud = fuzz_take_line(&in, &eof);
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    static struct api_policy policy;
    static struct svc_profiles profiles;
    memset(&policy, 0, sizeof(policy));
    /* The profiles come from the same document (the defaults without a "profiles" member), as
     * api_config_load reads them before the policy that names them. */
    if (!hs_failed(hs_json_parse_object((const char *)in.p, in.n, API_CONFIG_MAX, HS_JSON_DEPTH_MAX,
                                        &doc)) &&
        !hs_failed(
            fuzz_debug(svc_profiles_parse(doc, 86400, CONFIG_FUZZ_CERT_TTL_MAX_S, &profiles))) &&
        !hs_failed(fuzz_debug(api_policy_parse(doc, &profiles, CONFIG_FUZZ_CERT_TTL_MAX_S,
                                               CONFIG_FUZZ_TOKEN_TTL_MAX_S, &policy)))) {
        config_fuzz_decide(&policy, &profiles, principal, name, aud);
        config_fuzz_ssh(&policy, principal, name, aud);
    }
    free(principal);
    free(name);
    free(aud);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    if (data[0] % 2 == 0) {
        config_fuzz_file(data + 1, size - 1);
    } else {
        config_fuzz_policy(data + 1, size - 1);
    }
    return 0;
}
