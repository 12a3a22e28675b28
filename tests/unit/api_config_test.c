/*
 * api_config: the "ssh" member of hsmsignd's configuration and the SSH members of its policy
 * rules (issue 11). A valid config loads (with and without "ssh"); then a table of bad configs
 * -- each the valid one with one change -- fails api_config_load with the exact hs_result code
 * and the exact detail the operator sees (hsmsignd prints it and refuses to start). The config
 * is a file in a scratch directory; api_config_load reads nothing else (the token, the PIN and
 * the key references are checked when the service starts: tests/integration/ssh_errors_test.sh).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_config.h"
#include "common/hs_defer.h"
#include "service/svc_ctx.h"
#include "tests/testlib/hs_test.h"

#define RULE_BASE "\"principals\": [\"arn:aws:iam::111122223333:role/ops\"]"
#define RULE_SSH                                                                                   \
    RULE_BASE ", \"ssh_cert_types\": [\"user\", \"host\"], \"ssh_principals\": [\"ops-*\"]"
#define SSH_OK                                                                                     \
    "{\"user_ca\": [\"ssh-user-ca-2\", \"ssh-user-ca-1\"], \"host_ca\": [\"ssh-host-ca\"]}"

static char config_path[512];
static char module_path[512]; /* an empty file: the config only checks that files exist */

/* Writes the config with the given "ssh" member (NULL: none) and one policy rule (the members
 * inside its braces), then loads it. */
static HS_RESULT load_with(const char *ssh, const char *rule, struct api_config **out)
{
    FILE *f = fopen(config_path, "w");
    if (f == NULL) {
        hs_test_skip_or_fail("cannot write the scratch config");
    }
    fprintf(f,
            "{ \"listen\": \"127.0.0.1:0\",\n"
            "  \"token\": {\"module\": \"%s\", \"label\": \"t\",\n"
            "            \"pin_file\": \"/nonexistent/user.pin\"},\n"
            "  \"ca\": {\"key\": \"issuing\", \"chain_file\": \"%s\"},\n"
            "  \"inventory\": {\"sqlite\": \"/nonexistent/inventory.db\"},\n"
            "  \"jwt\": {\"issuer\": \"https://hsmsign.example\",\n"
            "          \"keys\": [{\"key\": \"jwt\", \"alg\": \"ES256\"}]},\n"
            "  %s%s%s\n"
            "  \"policy\": {\"rules\": [{%s}]} }\n",
            module_path, module_path, ssh != NULL ? "\"ssh\": " : "", ssh != NULL ? ssh : "",
            ssh != NULL ? "," : "", rule);
    if (fclose(f) != 0) {
        hs_test_skip_or_fail("cannot write the scratch config");
    }
    hs_error_clear();
    return api_config_load(config_path, NULL, out);
}

struct bad_config {
    const char *ssh;  /* the "ssh" member, NULL for none */
    const char *rule; /* the policy rule's members */
    enum hs_code code;
    const char *detail; /* exactly hs_error_last()->detail */
};

/* 1025 'k's: one byte over P11_KEY_REF_MAX. */
static char long_ref_ssh[P11_KEY_REF_MAX + 64];

static const struct bad_config bad_configs[] = {
    /* --- the "ssh" member --------------------------------------------------------------- */
    /* ssh.keygen in the AWS shape (api_keygen.h): SQS needs the DynamoDB inventory (this
     * config's is SQLite); the queue's region and endpoint mean nothing without a queue. */
    {"{\"user_ca\": [\"ssh-user-ca\"], \"keygen\": {\"queue_url\": "
     "\"https://sqs.eu-west-1.amazonaws.com/111122223333/kg\"}}",
     RULE_SSH, HS_ERR_INPUT_CONFIG,
     "\"queue_url\" (key generation through SQS) needs the DynamoDB inventory; in \"keygen\"; in "
     "\"ssh\""},
    {"{\"user_ca\": [\"ssh-user-ca\"], \"keygen\": {\"sqs_region\": \"eu-west-1\"}}", RULE_SSH,
     HS_ERR_INPUT_CONFIG,
     "\"sqs_region\" and \"sqs_endpoint\" need \"queue_url\"; in \"keygen\"; in \"ssh\""},
    {"{\"user_ca\": [\"ssh-user-ca\"], \"keygen\": {\"queue_url\": 7}}", RULE_SSH,
     HS_ERR_INPUT_FIELD, "field \"queue_url\" must be of type string; in \"keygen\"; in \"ssh\""},
    {"[\"ssh-user-ca\"]", RULE_SSH, HS_ERR_INPUT_FIELD,
     "field \"ssh\" must be of type object; in \"ssh\""},
    {"\"ssh-user-ca\"", RULE_SSH, HS_ERR_INPUT_FIELD,
     "field \"ssh\" must be of type object; in \"ssh\""},
    {"{}", RULE_SSH, HS_ERR_INPUT_FIELD,
     "at least one of \"user_ca\" and \"host_ca\" is required; in \"ssh\""},
    {"{\"user_ca\": null, \"host_ca\": null}", RULE_SSH, HS_ERR_INPUT_FIELD,
     "at least one of \"user_ca\" and \"host_ca\" is required; in \"ssh\""},
    {"{\"user_ca\": []}", RULE_SSH, HS_ERR_INPUT_RANGE,
     "field \"user_ca\" must list 1..8 keys; in \"ssh\""},
    {"{\"user_ca\": [\"u\"], \"host_ca\": []}", RULE_SSH, HS_ERR_INPUT_RANGE,
     "field \"host_ca\" must list 1..8 keys; in \"ssh\""},
    {"{\"user_ca\": [\"k1\", \"k2\", \"k3\", \"k4\", \"k5\", \"k6\", \"k7\", \"k8\", \"k9\"]}",
     RULE_SSH, HS_ERR_INPUT_RANGE, "field \"user_ca\" must list 1..8 keys; in \"ssh\""},
    {"{\"user_ca\": \"ssh-user-ca\"}", RULE_SSH, HS_ERR_INPUT_FIELD,
     "field \"user_ca\" must be of type array; in \"ssh\""},
    {"{\"host_ca\": {\"key\": \"ssh-host-ca\"}}", RULE_SSH, HS_ERR_INPUT_FIELD,
     "field \"host_ca\" must be of type array; in \"ssh\""},
    {"{\"user_ca\": [5]}", RULE_SSH, HS_ERR_INPUT_FIELD,
     "field \"user_ca[0]\" must be a key reference (a PKCS#11 URI or a label); in \"ssh\""},
    {"{\"user_ca\": [\"u\", null]}", RULE_SSH, HS_ERR_INPUT_FIELD,
     "field \"user_ca[1]\" must be a key reference (a PKCS#11 URI or a label); in \"ssh\""},
    {"{\"host_ca\": [\"\"]}", RULE_SSH, HS_ERR_INPUT_FIELD,
     "field \"host_ca[0]\" must be a key reference (a PKCS#11 URI or a label); in \"ssh\""},
    {"{\"user_ca\": [\"ssh-user\\u0000ca\"]}", RULE_SSH, HS_ERR_INPUT_FIELD,
     "field \"user_ca[0]\" must be a key reference (a PKCS#11 URI or a label); in \"ssh\""},
    {long_ref_ssh, RULE_SSH, HS_ERR_INPUT_FIELD,
     "field \"user_ca[0]\" must be a key reference (a PKCS#11 URI or a label); in \"ssh\""},
    {"{\"user_ca\": [\"a\", \"b\", \"a\"]}", RULE_SSH, HS_ERR_INPUT_FIELD,
     "field \"user_ca[2]\" repeats an earlier key; in \"ssh\""},
    {"{\"user_ca\": [\"u\"], \"krl_validity_seconds\": 59}", RULE_SSH, HS_ERR_INPUT_RANGE,
     "field \"krl_validity_seconds\" must be between 60 and 86400; in \"ssh\""},
    {"{\"user_ca\": [\"u\"], \"krl_validity_seconds\": 86401}", RULE_SSH, HS_ERR_INPUT_RANGE,
     "field \"krl_validity_seconds\" must be between 60 and 86400; in \"ssh\""},
    {"{\"user_ca\": [\"u\"], \"krl_validity_seconds\": \"1h\"}", RULE_SSH, HS_ERR_INPUT_FIELD,
     "field \"krl_validity_seconds\" must be of type int; in \"ssh\""},
    {"{\"user_ca\": [\"u\"], \"users_ca\": [\"u\"]}", RULE_SSH, HS_ERR_INPUT_FIELD,
     "ssh: unknown field \"users_ca\"; in \"ssh\""},
    /* --- the SSH members of a policy rule ----------------------------------------------- */
    {SSH_OK, RULE_BASE ", \"ssh_cert_types\": [\"user\", \"robot\"], \"ssh_principals\": [\"a\"]",
     HS_ERR_INPUT_FIELD,
     "field \"ssh_cert_types\": entry 1 is not a known name; policy.rules[0]; in \"policy\""},
    {SSH_OK, RULE_BASE ", \"ssh_cert_types\": [], \"ssh_principals\": [\"a\"]", HS_ERR_INPUT_FIELD,
     "field \"ssh_cert_types\" must not be empty (leave it out for no SSH); policy.rules[0]; in "
     "\"policy\""},
    {SSH_OK, RULE_BASE ", \"ssh_cert_types\": \"user\", \"ssh_principals\": [\"a\"]",
     HS_ERR_INPUT_FIELD,
     "field \"ssh_cert_types\" must be of type array; policy.rules[0]; in \"policy\""},
    {SSH_OK, RULE_BASE ", \"ssh_cert_types\": [\"user\"]", HS_ERR_INPUT_FIELD,
     "field \"ssh_principals\" is required; policy.rules[0]; in \"policy\""},
    {SSH_OK, RULE_BASE ", \"ssh_principals\": [\"a\"]", HS_ERR_INPUT_FIELD,
     "field \"ssh_principals\" needs \"ssh_cert_types\"; policy.rules[0]; in \"policy\""},
    {SSH_OK, RULE_BASE ", \"ssh_cert_types\": [\"user\"], \"ssh_principals\": []",
     HS_ERR_INPUT_FIELD,
     "field \"ssh_principals\" must not be empty; policy.rules[0]; in \"policy\""},
    {SSH_OK, RULE_BASE ", \"ssh_cert_types\": [\"user\"], \"ssh_principals\": [\"a,b\"]",
     HS_ERR_INPUT_FIELD,
     "field \"ssh_principals\": entry 0 is not a principal glob (no ',', variables ${aws:username} "
     "and ${aws:rolesessionname} only); policy.rules[0]; in \"policy\""},
    {SSH_OK, RULE_BASE ", \"ssh_cert_types\": [\"user\"], \"ssh_principals\": [\"${aws:userid}\"]",
     HS_ERR_INPUT_FIELD,
     "field \"ssh_principals\": entry 0 is not a principal glob (no ',', variables ${aws:username} "
     "and ${aws:rolesessionname} only); policy.rules[0]; in \"policy\""},
    {SSH_OK, RULE_BASE ", \"ssh_cert_types\": [\"user\"], \"ssh_principals\": [\"${aws:username\"]",
     HS_ERR_INPUT_FIELD,
     "field \"ssh_principals\": entry 0 is not a principal glob (no ',', variables ${aws:username} "
     "and ${aws:rolesessionname} only); policy.rules[0]; in \"policy\""},
    {SSH_OK, RULE_SSH ", \"ssh_max_ttl_seconds\": 0", HS_ERR_INPUT_RANGE,
     "field \"ssh_max_ttl_seconds\" must be between 1 and 31622400; policy.rules[0]; in "
     "\"policy\""},
    {SSH_OK, RULE_SSH ", \"ssh_max_ttl_seconds\": -3600", HS_ERR_INPUT_RANGE,
     "field \"ssh_max_ttl_seconds\" must be between 1 and 31622400; policy.rules[0]; in "
     "\"policy\""},
    {SSH_OK, RULE_SSH ", \"ssh_max_ttl_seconds\": 31622401", HS_ERR_INPUT_RANGE,
     "field \"ssh_max_ttl_seconds\" must be between 1 and 31622400; policy.rules[0]; in "
     "\"policy\""},
    {SSH_OK, RULE_SSH ", \"ssh_max_ttl_seconds\": 1e30", HS_ERR_INPUT_FIELD,
     "field \"ssh_max_ttl_seconds\" must be of type int; policy.rules[0]; in \"policy\""},
    {SSH_OK, RULE_SSH ", \"ssh_max_ttl_seconds\": \"1h\"", HS_ERR_INPUT_FIELD,
     "field \"ssh_max_ttl_seconds\" must be of type int; policy.rules[0]; in \"policy\""},
    {SSH_OK, RULE_SSH ", \"ssh_max_ttl_seconds\": {\"user\": 0}", HS_ERR_INPUT_RANGE,
     "field \"user\" must be between 1 and 31622400; in \"ssh_max_ttl_seconds\"; policy.rules[0]; "
     "in \"policy\""},
    {SSH_OK, RULE_SSH ", \"ssh_max_ttl_seconds\": {\"usr\": 60}", HS_ERR_INPUT_FIELD,
     "ssh_max_ttl_seconds: unknown field \"usr\"; in \"ssh_max_ttl_seconds\"; policy.rules[0]; in "
     "\"policy\""},
    {SSH_OK, RULE_SSH ", \"ssh_extensions\": [\"permit-everything\"]", HS_ERR_INPUT_FIELD,
     "field \"ssh_extensions\": entry 0 is not a known name; policy.rules[0]; in \"policy\""},
    {SSH_OK, RULE_SSH ", \"ssh_extensions\": [\"permit-pty\", \"permit-pty\"]", HS_ERR_INPUT_FIELD,
     "field \"ssh_extensions\": entry 1 repeats \"permit-pty\"; policy.rules[0]; in \"policy\""},
    {SSH_OK, RULE_SSH ", \"ssh_extensions\": \"permit-pty\"", HS_ERR_INPUT_FIELD,
     "field \"ssh_extensions\" must be of type array; policy.rules[0]; in \"policy\""},
    {SSH_OK, RULE_SSH ", \"ssh_critical_options\": [\"verify-required\"]", HS_ERR_INPUT_FIELD,
     "field \"ssh_critical_options\": entry 0 is not a known name; policy.rules[0]; in \"policy\""},
    {SSH_OK, RULE_SSH ", \"ssh_critical_options\": [\"no-touch-required\"]", HS_ERR_INPUT_FIELD,
     "field \"ssh_critical_options\": entry 0 is not a known name; policy.rules[0]; in \"policy\""},
    {SSH_OK, RULE_SSH ", \"ssh_required_critical_options\": {\"x\": \"y\"}", HS_ERR_INPUT_FIELD,
     "ssh_required_critical_options: unknown field \"x\"; in \"ssh_required_critical_options\"; "
     "policy.rules[0]; in \"policy\""},
    {SSH_OK, RULE_SSH ", \"ssh_required_critical_options\": {\"source-address\": \"10.0.0.1/8\"}",
     HS_ERR_INPUT_FIELD,
     "ssh_required_critical_options.source-address: not a comma-separated list of addresses and "
     "CIDR blocks (host bits clear, at most 32); policy.rules[0]; in \"policy\""},
    {SSH_OK, RULE_BASE ", \"ssh_extensions\": [\"permit-pty\"]", HS_ERR_INPUT_FIELD,
     "field \"ssh_extensions\" needs \"ssh_cert_types\"; policy.rules[0]; in \"policy\""},
};

HS_TEST(a_valid_ssh_member_loads)
{
    HS_DEFER(struct api_config *cfg = NULL, api_config_freep);
    HS_CHECK_OK(load_with(SSH_OK, RULE_SSH ", \"ssh_max_ttl_seconds\": {\"user\": 600}", &cfg));
    HS_CHECK(cfg != NULL && cfg->has_ssh && cfg->nssh_user_ca == 2 && cfg->nssh_host_ca == 1);
    HS_CHECK(cfg != NULL && strcmp(cfg->ssh_user_ca[0], "ssh-user-ca-2") == 0 &&
             strcmp(cfg->ssh_user_ca[1], "ssh-user-ca-1") == 0);
    HS_CHECK(cfg != NULL && cfg->ssh_krl_validity_s == API_SSH_KRL_VALIDITY_S);
    HS_DEFER(struct api_config *none = NULL, api_config_freep);
    HS_CHECK_OK(load_with(NULL, RULE_BASE, &none));
    HS_CHECK(none != NULL && !none->has_ssh && none->nssh_user_ca == 0);
    HS_DEFER(struct api_config *max = NULL, api_config_freep);
    HS_CHECK_OK(load_with("{\"host_ca\": [\"k1\", \"k2\", \"k3\", \"k4\", \"k5\", \"k6\", \"k7\", "
                          "\"k8\"], \"krl_validity_seconds\": 60}",
                          RULE_SSH, &max));
    HS_CHECK(max != NULL && max->nssh_host_ca == SVC_SSH_CA_KEYS_MAX && max->nssh_user_ca == 0 &&
             max->ssh_krl_validity_s == 60);
}

HS_TEST(bad_ssh_configs_fail_with_the_exact_error)
{
    for (size_t i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]); i++) {
        const struct bad_config *b = &bad_configs[i];
        struct api_config *cfg = NULL;
        hs_result r = load_with(b->ssh, b->rule, &cfg);
        bool ok = hs_failed(r) && r.code == b->code && cfg == NULL &&
                  strcmp(hs_error_last()->detail, b->detail) == 0;
        HS_CHECK(ok);
        if (!ok) {
            fprintf(stderr, "  case %zu: ssh %.80s, rule {%s}\n    got %s \"%s\"\n", i,
                    b->ssh != NULL ? b->ssh : "(none)", b->rule, hs_code_name(r.code),
                    hs_error_last()->detail);
        }
        api_config_free(cfg);
    }
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[256];
    hs_test_format(dir, sizeof(dir), "%s/api_config_test.XXXXXX",
                   tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        hs_test_skip_or_fail("mkdtemp failed");
    }
    hs_test_format(config_path, sizeof(config_path), "%s/hsmsignd.json", dir);
    hs_test_format(module_path, sizeof(module_path), "%s/module.so", dir);
    FILE *m = fopen(module_path, "w");
    if (m == NULL || fclose(m) != 0) {
        hs_test_skip_or_fail("cannot write the scratch module file");
    }
    char *p = long_ref_ssh;
    memcpy(p, "{\"user_ca\": [\"", 14);
    memset(p + 14, 'k', P11_KEY_REF_MAX + 1);
    memcpy(p + 14 + P11_KEY_REF_MAX + 1, "\"]}", 4);
    int rc = hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(a_valid_ssh_member_loads),
        HS_TEST_CASE(bad_ssh_configs_fail_with_the_exact_error),
        HS_TEST_END,
    });
    unlink(config_path);
    unlink(module_path);
    rmdir(dir);
    return rc;
}
