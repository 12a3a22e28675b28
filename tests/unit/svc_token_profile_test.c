/*
 * svc_token_profile: the "token_profiles" config block (a valid block; a table of bad blocks
 * with the exact error code and detail each produces, reserved claims among them), the subject
 * derivation from principal ARNs (a table: each "from", strip_domain, lookup, and the callers
 * no mapping names), and the policy's "token_profiles" / "token_claims" rule members
 * (api_policy_check_token_profile: allowed, token_profile_not_allowed, token_ttl_exceeds_policy,
 * no_matching_rule; the load-time refusals). No HSM: the keys are bound at start and tested in
 * tests/integration/token_profile_test.sh.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>
#include <unistd.h>

#include "api/api_config.h"
#include "api/api_policy.h"
#include "common/hs_json.h"
#include "service/svc_profile.h"
#include "service/svc_token_profile.h"
#include "tests/testlib/hs_test.h"

#define MAX_TTL_S 3600L
#define P_OK                                                                                       \
    "\"audience\": \"https://sf.example\", \"ttl_seconds\": 600, \"alg\": \"RS256\", "             \
    "\"key\": \"jwt-rs\""
#define SUBJ_OK "\"subject\": {\"from\": \"role_session_name\"}"

static HS_RESULT parse(const char *text, json_object **doc, struct svc_token_profiles *out)
{
    hs_error_clear();
    memset(out, 0, sizeof(*out));
    HS_GUARD(hs_json_parse_object(text, strlen(text), 65536, 16, doc));
    return svc_token_profiles_parse(*doc, MAX_TTL_S, out);
}

HS_TEST(a_valid_block_parses_and_an_absent_one_is_empty)
{
    json_object *doc = NULL;
    struct svc_token_profiles p;
    HS_CHECK_OK(parse("{}", &doc, &p));
    HS_CHECK(p.n == 0 && svc_token_profiles_find(&p, "x") == NULL);
    json_object_put(doc);
    doc = NULL;
    HS_CHECK_OK(parse("{\"token_profiles\": {\"sf\": {" P_OK ", \"subject\": {\"from\": "
                      "\"role_session_name\", \"strip_domain\": \"@example.com\", \"lookup\": "
                      "{\"alice\": \"ALICE\"}}, \"claims\": {\"scp\": [\"session:role:A\"], "
                      "\"n\": 2, \"b\": false}, \"claims_from_policy\": true}, "
                      "\"u\": {" P_OK ", \"subject\": {\"from\": \"user_name\"}}}}",
                      &doc, &p));
    const struct svc_token_profile *sf = svc_token_profiles_find(&p, "sf");
    HS_CHECK(p.n == 2 && sf != NULL && sf->ttl_s == 600 && strcmp(sf->alg, "RS256") == 0);
    HS_CHECK(sf != NULL && sf->subject_from == SVC_SUBJECT_ROLE_SESSION_NAME &&
             sf->claims_from_policy);
    HS_CHECK(sf != NULL && strcmp(sf->strip_domain, "@example.com") == 0 && sf->lookup != NULL);
    const struct svc_token_profile *u = svc_token_profiles_find(&p, "u");
    HS_CHECK(u != NULL && u->subject_from == SVC_SUBJECT_USER_NAME && !u->claims_from_policy);
    HS_CHECK(u != NULL && u->claims == NULL && u->lookup == NULL && u->strip_domain == NULL);
    json_object_put(doc);
}

struct bad_case {
    const char *block; /* the value of "token_profiles" */
    enum hs_code code;
    const char *detail; /* exactly hs_error_last()->detail */
};

static const struct bad_case bad_cases[] = {
    {"[]", HS_ERR_INPUT_FIELD, "field \"token_profiles\" must be of type object"},
    {"{\"Bad\": {" P_OK ", " SUBJ_OK "}}", HS_ERR_INPUT_FIELD,
     "token_profiles: \"Bad\" is not a profile name (1..32 of a-z 0-9 - _)"},
    {"{\"p\": 1}", HS_ERR_INPUT_FIELD,
     "a token profile must be an object; in \"token_profiles.p\""},
    {"{\"p\": {" P_OK ", " SUBJ_OK ", \"colour\": 1}}", HS_ERR_INPUT_FIELD,
     "token profile: unknown field \"colour\"; in \"token_profiles.p\""},
    {"{\"p\": {\"ttl_seconds\": 60, \"alg\": \"RS256\", \"key\": \"k\", " SUBJ_OK "}}",
     HS_ERR_INPUT_FIELD, "field \"audience\" is required; in \"token_profiles.p\""},
    {"{\"p\": {\"audience\": \"a\", \"ttl_seconds\": 3601, \"alg\": \"RS256\", \"key\": "
     "\"k\", " SUBJ_OK "}}",
     HS_ERR_INPUT_RANGE,
     "field \"ttl_seconds\" must be between 1 and 3600; in "
     "\"token_profiles.p\""},
    {"{\"p\": {\"audience\": \"a\", \"ttl_seconds\": 60, \"alg\": \"HS256\", \"key\": "
     "\"k\", " SUBJ_OK "}}",
     HS_ERR_INPUT_FIELD,
     "alg must be ES256, ES384, RS256, PS256 or EdDSA; in "
     "\"token_profiles.p\""},
    {"{\"p\": {\"audience\": \"a\", \"ttl_seconds\": 60, \"alg\": \"RS256\", " SUBJ_OK "}}",
     HS_ERR_INPUT_FIELD, "field \"key\" is required; in \"token_profiles.p\""},
    {"{\"p\": {" P_OK "}}", HS_ERR_INPUT_FIELD,
     "field \"subject\" is required; in \"token_profiles.p\""},
    {"{\"p\": {" P_OK ", \"subject\": {\"from\": \"email\"}}}", HS_ERR_INPUT_FIELD,
     "subject.from must be \"user_name\", \"role_session_name\" or \"principal_arn\"; in "
     "\"token_profiles.p\""},
    {"{\"p\": {" P_OK ", \"subject\": {\"from\": \"user_name\", \"strip_domain\": "
     "\"example.com\"}}}",
     HS_ERR_INPUT_FIELD,
     "subject.strip_domain must be \"@\" and a domain; in "
     "\"token_profiles.p\""},
    {"{\"p\": {" P_OK ", \"subject\": {\"from\": \"user_name\", \"lookup\": {\"a\": 1}}}}",
     HS_ERR_INPUT_FIELD,
     "subject.lookup: the subject of \"a\" must be a string of 1..512 "
     "printable bytes; in \"token_profiles.p\""},
    {"{\"p\": {" P_OK ", \"subject\": {\"from\": \"user_name\", \"tag\": 1}}}", HS_ERR_INPUT_FIELD,
     "subject: unknown field \"tag\"; in \"token_profiles.p\""},
    /* Reserved claims: every claim the signer sets itself. */
    {"{\"p\": {" P_OK ", " SUBJ_OK ", \"claims\": {\"sub\": \"root\"}}}", HS_ERR_INPUT_FIELD,
     "claims: \"sub\" is a registered claim the signer sets; in \"token_profiles.p\""},
    {"{\"p\": {" P_OK ", " SUBJ_OK ", \"claims\": {\"iss\": \"x\"}}}", HS_ERR_INPUT_FIELD,
     "claims: \"iss\" is a registered claim the signer sets; in \"token_profiles.p\""},
    {"{\"p\": {" P_OK ", " SUBJ_OK ", \"claims\": {\"aud\": \"x\"}}}", HS_ERR_INPUT_FIELD,
     "claims: \"aud\" is a registered claim the signer sets; in \"token_profiles.p\""},
    {"{\"p\": {" P_OK ", " SUBJ_OK ", \"claims\": {\"exp\": 1}}}", HS_ERR_INPUT_FIELD,
     "claims: \"exp\" is a registered claim the signer sets; in \"token_profiles.p\""},
    {"{\"p\": {" P_OK ", " SUBJ_OK ", \"claims\": {\"nbf\": 1}}}", HS_ERR_INPUT_FIELD,
     "claims: \"nbf\" is a registered claim the signer sets; in \"token_profiles.p\""},
    {"{\"p\": {" P_OK ", " SUBJ_OK ", \"claims\": {\"iat\": 1}}}", HS_ERR_INPUT_FIELD,
     "claims: \"iat\" is a registered claim the signer sets; in \"token_profiles.p\""},
    {"{\"p\": {" P_OK ", " SUBJ_OK ", \"claims\": {\"jti\": \"x\"}}}", HS_ERR_INPUT_FIELD,
     "claims: \"jti\" is a registered claim the signer sets; in \"token_profiles.p\""},
    {"{\"p\": {" P_OK ", " SUBJ_OK ", \"claims\": {\"cnf\": \"x\"}}}", HS_ERR_INPUT_FIELD,
     "claims: \"cnf\" is a registered claim the signer sets; in \"token_profiles.p\""},
    {"{\"p\": {" P_OK ", " SUBJ_OK ", \"claims\": {\"scp\": {\"a\": 1}}}}", HS_ERR_INPUT_FIELD,
     "claims: \"scp\" must be a string (1..512 printable bytes), an integer, a boolean or an "
     "array of at most 32 such strings; in \"token_profiles.p\""},
    {"{\"p\": {" P_OK ", " SUBJ_OK ", \"claims\": {\"scp\": [1]}}}", HS_ERR_INPUT_FIELD,
     "claims: \"scp\" must be a string (1..512 printable bytes), an integer, a boolean or an "
     "array of at most 32 such strings; in \"token_profiles.p\""},
    {"{\"p\": {" P_OK ", " SUBJ_OK ", \"claims\": {\"x\": \"a\\u0001b\"}}}", HS_ERR_INPUT_FIELD,
     "claims: \"x\" must be a string (1..512 printable bytes), an integer, a boolean or an "
     "array of at most 32 such strings; in \"token_profiles.p\""},
    {"{\"p\": {" P_OK ", " SUBJ_OK ", \"claims\": [\"scp\"]}}", HS_ERR_INPUT_FIELD,
     "field \"claims\" must be of type object; in \"token_profiles.p\""},
    {"{\"p\": {" P_OK ", " SUBJ_OK ", \"claims_from_policy\": \"yes\"}}", HS_ERR_INPUT_FIELD,
     "field \"claims_from_policy\" must be of type boolean; in \"token_profiles.p\""},
};

HS_TEST(bad_blocks_fail_with_the_exact_error)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        char text[2048];
        int n = snprintf(text, sizeof(text), "{\"token_profiles\": %s}", c->block);
        HS_CHECK(n > 0 && (size_t)n < sizeof(text));
        json_object *doc = NULL;
        struct svc_token_profiles p;
        hs_result r = parse(text, &doc, &p);
        const char *detail = hs_error_last()->detail;
        bool match = r.code == c->code && strcmp(detail, c->detail) == 0;
        if (!match) {
            fprintf(stderr, "  case %zu: got %s \"%s\", expected %s \"%s\"\n", i,
                    hs_code_name(r.code), detail, hs_code_name(c->code), c->detail);
        }
        HS_CHECK(match); /* one check a case, so the table counts */
        json_object_put(doc);
    }
}

struct subject_case {
    const char *subject;   /* the profile's "subject" member */
    const char *principal; /* the caller */
    const char *want;      /* the sub claim; NULL = unmapped (HS_ERR_POLICY_SUBJECT) */
};

#define SSO "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Analyst_0abc/"
#define IAM_USER "arn:aws:iam::123456789012:user/"

static const struct subject_case subject_cases[] = {
    {"{\"from\": \"role_session_name\"}", SSO "alice@example.com", "alice@example.com"},
    {"{\"from\": \"role_session_name\", \"strip_domain\": \"@example.com\"}",
     SSO "alice@example.com", "alice"},
    {"{\"from\": \"role_session_name\", \"strip_domain\": \"@example.com\"}",
     SSO "alice@EXAMPLE.COM", "alice"},
    {"{\"from\": \"role_session_name\", \"strip_domain\": \"@example.com\"}",
     SSO "alice@evil.example", NULL},
    {"{\"from\": \"role_session_name\", \"strip_domain\": \"@example.com\"}",
     SSO "alice@notexample.com", NULL},
    {"{\"from\": \"role_session_name\", \"strip_domain\": \"@example.com\"}", SSO "@example.com",
     NULL},
    {"{\"from\": \"role_session_name\", \"strip_domain\": \"@example.com\", \"lookup\": "
     "{\"alice\": \"ALICE_SMITH\"}}",
     SSO "alice@example.com", "ALICE_SMITH"},
    {"{\"from\": \"role_session_name\", \"strip_domain\": \"@example.com\", \"lookup\": "
     "{\"alice\": \"ALICE_SMITH\"}}",
     SSO "carol@example.com", NULL},
    {"{\"from\": \"role_session_name\"}", IAM_USER "bob", NULL},
    {"{\"from\": \"role_session_name\"}", "arn:aws:iam::123456789012:role/web", NULL},
    {"{\"from\": \"role_session_name\"}", "x509:CN=device-1", NULL},
    {"{\"from\": \"role_session_name\"}", "arn:aws:sts::123456789012:assumed-role/r/a/b", NULL},
    {"{\"from\": \"role_session_name\"}", "arn:aws:sts::123456789012:assumed-role//sess", NULL},
    {"{\"from\": \"role_session_name\"}", SSO "x", NULL}, /* session names are 2..64 */
    {"{\"from\": \"role_session_name\"}", SSO "a b", NULL},
    {"{\"from\": \"user_name\"}", IAM_USER "path/to/bob", "bob"},
    {"{\"from\": \"user_name\"}", IAM_USER "bob", "bob"},
    {"{\"from\": \"user_name\"}", "arn:aws-us-gov:iam::123456789012:user/gov", "gov"},
    {"{\"from\": \"user_name\"}", SSO "alice@example.com", NULL},
    {"{\"from\": \"user_name\"}", "arn:aws:iam::123456789012:role/bob", NULL},
    {"{\"from\": \"user_name\"}", "arn:aws:s3::123456789012:user/bob", NULL},
    {"{\"from\": \"user_name\"}", IAM_USER, NULL},
    {"{\"from\": \"user_name\", \"lookup\": {\"bob\": \"BOB\"}}", IAM_USER "bob", "BOB"},
    {"{\"from\": \"principal_arn\"}", IAM_USER "bob", IAM_USER "bob"},
    {"{\"from\": \"principal_arn\"}", "x509:CN=device-1", NULL},
};

HS_TEST(subjects_are_derived_from_principals_or_refused)
{
    for (size_t i = 0; i < sizeof(subject_cases) / sizeof(subject_cases[0]); i++) {
        const struct subject_case *c = &subject_cases[i];
        char text[1024];
        int n = snprintf(text, sizeof(text),
                         "{\"token_profiles\": {\"p\": {" P_OK ", \"subject\": %s}}}", c->subject);
        HS_CHECK(n > 0 && (size_t)n < sizeof(text));
        json_object *doc = NULL;
        struct svc_token_profiles p;
        hs_result r = parse(text, &doc, &p);
        char sub[SVC_TOKEN_SUBJECT_MAX + 1] = "";
        if (!hs_failed(r)) {
            r = svc_token_subject(&p.items[0], c->principal, sub);
        }
        bool match = c->want != NULL ? !hs_failed(r) && strcmp(sub, c->want) == 0
                                     : r.code == HS_ERR_POLICY_SUBJECT;
        if (!match) {
            fprintf(stderr, "  case %zu %s: got %s \"%s\"\n", i, c->principal, hs_code_name(r.code),
                    sub);
        }
        HS_CHECK(match);
        json_object_put(doc);
    }
}

/* A policy with two rules; *doc keeps it alive. */
static HS_RESULT policy(const char *rules, json_object **doc, struct api_policy *out)
{
    char text[2048];
    int n = snprintf(text, sizeof(text), "{\"policy\": {\"rules\": [%s]}}", rules);
    HS_ENSURE(n > 0 && (size_t)n < sizeof(text), HS_ERR_INTERNAL);
    hs_error_clear();
    HS_GUARD(hs_json_parse_object(text, strlen(text), 65536, 16, doc));
    struct svc_profiles profiles;
    HS_GUARD(svc_profiles_parse(*doc, 3600, 86400, &profiles));
    return api_policy_parse(*doc, &profiles, 86400, MAX_TTL_S, out);
}

HS_TEST(the_policy_allows_profiles_by_name_and_adds_its_claims)
{
    static struct api_policy p; /* large */
    json_object *doc = NULL;
    HS_CHECK_OK(policy("{\"principals\": [\"arn:aws:sts::*:assumed-role/AWSReservedSSO_*/*\"],"
                       " \"token_profiles\": [\"sf\"], \"token_claims\": {\"groups\": [\"g\"]},"
                       " \"max_token_ttl_seconds\": 900},"
                       "{\"principals\": [\"arn:aws:iam::*:user/*\"], \"audiences\": [\"a\"]}",
                       &doc, &p));
    json_object *claims = NULL;
    HS_CHECK(api_policy_check_token_profile(&p, SSO "alice", "sf", 600, &claims) ==
             API_POLICY_ALLOWED);
    HS_CHECK(claims != NULL && json_object_object_get_ex(claims, "groups", NULL));
    HS_CHECK(api_policy_check_token_profile(&p, SSO "alice", "sf", 901, &claims) ==
             API_POLICY_TOKEN_TTL);
    HS_CHECK(api_policy_check_token_profile(&p, SSO "alice", "other", 60, &claims) ==
             API_POLICY_TOKEN_PROFILE);
    HS_CHECK(api_policy_check_token_profile(&p, IAM_USER "bob", "sf", 60, &claims) ==
             API_POLICY_TOKEN_PROFILE);
    HS_CHECK(api_policy_check_token_profile(&p, "arn:aws:iam::1:role/x", "sf", 60, &claims) ==
             API_POLICY_NO_RULE);
    HS_CHECK(
        strcmp(api_policy_reason_name(API_POLICY_TOKEN_PROFILE), "token_profile_not_allowed") == 0);
    HS_CHECK(strcmp(api_policy_reason_name(API_POLICY_SUBJECT_UNMAPPED), "subject_unmapped") == 0);
    /* A rule with token profiles but no audiences allows no audience token. */
    long ttl = 0;
    HS_CHECK(api_policy_check_token(&p, SSO "alice", "a", 0, 300, &ttl) == API_POLICY_AUDIENCE);
    json_object_put(doc);
}

struct bad_rule {
    const char *rule;
    const char *detail;
};

static const struct bad_rule bad_rules[] = {
    {"{\"principals\": [\"*\"], \"token_profiles\": [\"sf\"], \"token_claims\": {\"sub\": \"x\"}}",
     "token_claims: \"sub\" is a registered claim the signer sets; policy.rules[0]"},
    {"{\"principals\": [\"*\"], \"token_claims\": {\"g\": \"x\"}}",
     "token_claims needs token_profiles (it would do nothing); policy.rules[0]"},
    {"{\"principals\": [\"*\"], \"token_profiles\": \"sf\"}",
     "field \"token_profiles\" must be of type array; policy.rules[0]"},
};

HS_TEST(bad_token_rules_are_refused_at_load)
{
    static struct api_policy p;
    for (size_t i = 0; i < sizeof(bad_rules) / sizeof(bad_rules[0]); i++) {
        json_object *doc = NULL;
        hs_result r = policy(bad_rules[i].rule, &doc, &p);
        const char *detail = hs_error_last()->detail;
        bool match = r.code == HS_ERR_INPUT_FIELD && strcmp(detail, bad_rules[i].detail) == 0;
        if (!match) {
            fprintf(stderr, "  rule %zu: got %s \"%s\"\n", i, hs_code_name(r.code), detail);
        }
        HS_CHECK(match);
        json_object_put(doc);
    }
}

/* --- the whole config file, as hsmsignd loads it (api_config_load) --------------------------- */

static char config_path[512];
static char module_path[512]; /* an empty file: the config only checks that files exist */

#define TP_GOOD "{\"sf\": {" P_OK ", " SUBJ_OK ", \"claims\": {\"scp\": [\"session:role:A\"]}}}"
#define RULE_GOOD "\"principals\": [\"*\"], \"token_profiles\": [\"sf\"]"

/* Writes a config with this "token_profiles" member (NULL: none) and one policy rule, loads it. */
static HS_RESULT load_with(const char *profiles, const char *rule, struct api_config **out)
{
    FILE *f = fopen(config_path, "w");
    if (f == NULL) {
        hs_test_skip_or_fail("cannot write the scratch config");
    }
    fprintf(f,
            "{ \"listen\": \"127.0.0.1:0\",\n"
            "  \"token\": {\"module\": \"%s\", \"label\": \"t\", \"pin_file\": \"/nonexistent\"},\n"
            "  \"ca\": {\"key\": \"issuing\", \"chain_file\": \"%s\"},\n"
            "  \"inventory\": {\"sqlite\": \"/nonexistent/inventory.db\"},\n"
            "  \"jwt\": {\"issuer\": \"https://hsmsign.example\",\n"
            "          \"keys\": [{\"key\": \"jwt-rs\", \"alg\": \"RS256\"}]},\n"
            "  %s%s%s\n"
            "  \"policy\": {\"rules\": [{%s}]} }\n",
            module_path, module_path, profiles != NULL ? "\"token_profiles\": " : "",
            profiles != NULL ? profiles : "", profiles != NULL ? "," : "", rule);
    if (fclose(f) != 0) {
        hs_test_skip_or_fail("cannot write the scratch config");
    }
    hs_error_clear();
    return api_config_load(config_path, NULL, out);
}

HS_TEST(a_config_with_token_profiles_loads)
{
    struct api_config *cfg = NULL;
    HS_CHECK_OK(load_with(TP_GOOD, RULE_GOOD, &cfg));
    HS_CHECK(cfg != NULL && cfg->token_profiles.n == 1 &&
             svc_token_profiles_find(&cfg->token_profiles, "sf") != NULL);
    HS_CHECK(cfg != NULL && cfg->policy.rules[0].token_profiles.n == 1);
    api_config_free(cfg);
}

struct bad_config {
    const char *profiles;
    const char *rule;
    enum hs_code code;
    const char *detail;
};

static const struct bad_config bad_configs[] = {
    {"{\"sf\": {" P_OK ", " SUBJ_OK ", \"claims\": {\"sub\": \"root\"}}}", RULE_GOOD,
     HS_ERR_INPUT_FIELD,
     "claims: \"sub\" is a registered claim the signer sets; in "
     "\"token_profiles.sf\""},
    {"{\"sf\": {" P_OK ", " SUBJ_OK ", \"claims\": {\"cnf\": {}}}}", RULE_GOOD, HS_ERR_INPUT_FIELD,
     "claims: \"cnf\" is a registered claim the signer sets; in "
     "\"token_profiles.sf\""},
    {NULL, RULE_GOOD, HS_ERR_INPUT_FIELD,
     "token_profiles: \"sf\" is not a token profile; in \"policy.rules[0]\""},
    {TP_GOOD, "\"principals\": [\"*\"], \"token_profiles\": [\"sf\", \"other\"]",
     HS_ERR_INPUT_FIELD,
     "token_profiles: \"other\" is not a token profile; in \"policy.rules[0]\""},
    {TP_GOOD, RULE_GOOD ", \"token_claims\": {\"exp\": 1}", HS_ERR_INPUT_FIELD,
     "token_claims: \"exp\" is a registered claim the signer sets; policy.rules[0]; in \"policy\""},
    {TP_GOOD, RULE_GOOD ", \"max_token_ttl_seconds\": 3601", HS_ERR_INPUT_RANGE,
     "field \"max_token_ttl_seconds\" must be between 1 and 3600; policy.rules[0]; in \"policy\""},
};

HS_TEST(bad_configs_fail_with_the_exact_error)
{
    for (size_t i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]); i++) {
        const struct bad_config *c = &bad_configs[i];
        struct api_config *cfg = NULL;
        hs_result r = load_with(c->profiles, c->rule, &cfg);
        const char *detail = hs_error_last()->detail;
        bool match = r.code == c->code && strcmp(detail, c->detail) == 0 && cfg == NULL;
        if (!match) {
            fprintf(stderr, "  case %zu: got %s \"%s\", expected %s \"%s\"\n", i,
                    hs_code_name(r.code), detail, hs_code_name(c->code), c->detail);
        }
        HS_CHECK(match);
        api_config_free(cfg);
    }
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[256];
    hs_test_format(dir, sizeof(dir), "%s/svc_token_profile_test.XXXXXX",
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
    int rc = hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(a_config_with_token_profiles_loads),
        HS_TEST_CASE(bad_configs_fail_with_the_exact_error),
        HS_TEST_CASE(a_valid_block_parses_and_an_absent_one_is_empty),
        HS_TEST_CASE(bad_blocks_fail_with_the_exact_error),
        HS_TEST_CASE(subjects_are_derived_from_principals_or_refused),
        HS_TEST_CASE(the_policy_allows_profiles_by_name_and_adds_its_claims),
        HS_TEST_CASE(bad_token_rules_are_refused_at_load),
        HS_TEST_END,
    });
    unlink(config_path);
    unlink(module_path);
    rmdir(dir);
    return rc;
}
