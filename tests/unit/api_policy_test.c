/* api_policy: parsing, pattern matching and decisions, deny by default. */
#include <string.h>

#include <openssl/x509v3.h>

#include "api/api_policy.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "tests/testlib/hs_test.h"

#define DAY_S (24 * 3600L)
#define HOUR_S 3600L

static const char *const device = "arn:aws:iam::123456789012:role/device-provisioner";
static const char *const web = "arn:aws:iam::123456789012:role/web-7";
static const char *const admin = "arn:aws:iam::123456789012:role/pki-admin";

static const char policy_doc[] =
    "{\"policy\": {\"admins\": [\"arn:aws:iam::123456789012:role/pki-*\"], \"rules\": ["
    " {\"principals\": [\"arn:aws:iam::123456789012:role/device-*\"], \"profiles\": [\"client\"],"
    "  \"cn_patterns\": [\"device-*\"], \"dns_patterns\": [\"*.devices.example.com\"],"
    "  \"ip_ranges\": [\"10.0.0.0/8\", \"2001:db8::/32\"], \"max_cert_ttl_hours\": 6,"
    "  \"audiences\": [\"snowflake\", \"https://api.example.com/*\"],"
    "  \"max_token_ttl_seconds\": 600},"
    " {\"principals\": [\"arn:aws:iam::123456789012:role/web-*\"], \"profiles\": [\"server\"],"
    "  \"cn_patterns\": [\"*\"], \"dns_patterns\": [\"**.example.com\"],"
    "  \"email_patterns\": [\"*@example.com\"]},"
    " {\"principals\": [\"x509:CN=device-*\"], \"audiences\": [\"snowflake\"]}"
    "]}}";

static struct api_policy policy;
static json_object *doc;
static struct svc_profiles profiles; /* the defaults: client and server */

static bool load(const char *text, struct api_policy *out)
{
    json_object *d = NULL;
    memset(out, 0, sizeof(*out));
    hs_result r = hs_json_parse_object(text, strlen(text), 65536, 16, &d);
    if (!hs_failed(r)) {
        r = api_policy_parse(d, &profiles, DAY_S, 3600, out);
    }
    json_object_put(d);
    return !hs_failed(r);
}

/* A parse that must fail naming `field` in the error detail. */
static void refused(const char *rules, const char *field)
{
    char text[2048];
    snprintf(text, sizeof(text), "{\"policy\": {\"rules\": [%s]}}", rules);
    struct api_policy p;
    HS_CHECK(!load(text, &p));
    HS_CHECK(strstr(hs_error_last()->detail, field) != NULL);
}

static GENERAL_NAMES *names(const char *const *dns, const char *const *ips)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    for (size_t i = 0; dns != NULL && dns[i] != NULL; i++) {
        sk_GENERAL_NAME_push(gens, a2i_GENERAL_NAME(NULL, NULL, NULL, GEN_DNS, dns[i], 0));
    }
    for (size_t i = 0; ips != NULL && ips[i] != NULL; i++) {
        sk_GENERAL_NAME_push(gens, a2i_GENERAL_NAME(NULL, NULL, NULL, GEN_IPADD, ips[i], 0));
    }
    return gens;
}

static enum api_policy_reason cert(const char *principal, const char *profile, const char *cn,
                                   const char *const *dns, const char *const *ips, long ttl_s,
                                   long *got_ttl)
{
    GENERAL_NAMES *gens = names(dns, ips);
    struct api_cert_ask ask = {principal, profile, cn, gens, ttl_s};
    long ttl = 0;
    enum api_policy_reason r = api_policy_check_cert(&policy, &ask, 12 * HOUR_S, &ttl);
    if (got_ttl != NULL) {
        *got_ttl = ttl;
    }
    GENERAL_NAMES_free(gens);
    return r;
}

HS_TEST(parses_and_refuses_malformed_rules_naming_the_field)
{
    HS_CHECK(policy.nrules == 3 && policy.admins.n == 1);
    HS_CHECK(policy.rules[0].max_cert_ttl_s == 6 * HOUR_S);
    HS_CHECK(policy.rules[1].max_cert_ttl_s == DAY_S); /* defaults to the service maximum */
    HS_CHECK(policy.rules[1].max_token_ttl_s == 0);    /* no audiences: no token */
    HS_CHECK(policy.rules[2].max_cert_ttl_s == 0);     /* no profiles: no certificate */
    refused("{\"principals\": [\"arn:*\"], \"profiles\": [\"admin\"]}", "profiles");
    refused("{\"principals\": [\"arn:*\"], \"ip_ranges\": [\"10.0.0.0/33\"]}", "ip_ranges");
    refused("{\"principals\": [\"arn:*\"], \"ip_ranges\": [\"10.0.0.300/8\"]}", "ip_ranges");
    refused("{\"principals\": [\"arn:*\"], \"dns_patterns\": [\"a b\"]}", "dns_patterns");
    refused("{\"principals\": []}", "principals");
    refused("{\"principals\": [\"arn:*\"], \"colour\": 1}", "colour");
    refused("{\"principals\": [\"arn:*\"], \"max_cert_ttl_hours\": 25}", "max_cert_ttl_hours");
    refused("{\"principals\": [\"arn:*\"], \"max_token_ttl_seconds\": 3601}",
            "max_token_ttl_seconds");
    struct api_policy p;
    HS_CHECK(!load("{}", &p)); /* the policy block is required: deny by default */
    HS_CHECK(load("{\"policy\": {\"rules\": []}}", &p) && p.nrules == 0);
}

HS_TEST(denies_by_default)
{
    struct api_policy empty;
    HS_CHECK(load("{\"policy\": {\"rules\": []}}", &empty));
    GENERAL_NAMES *gens = names(NULL, NULL);
    struct api_cert_ask ask = {device, "client", "device-1", gens, 0};
    long ttl = 0;
    HS_CHECK(api_policy_check_cert(&empty, &ask, HOUR_S, &ttl) == API_POLICY_NO_RULE);
    HS_CHECK(api_policy_check_token(&empty, device, "snowflake", 0, 300, &ttl) ==
             API_POLICY_NO_RULE);
    HS_CHECK(!api_policy_may_manage(&empty, device, web));
    GENERAL_NAMES_free(gens);
}

HS_TEST(principal_globs_cross_slashes_but_not_accounts)
{
    const char *const dns[] = {"a.devices.example.com", NULL};
    HS_CHECK(cert(device, "client", "device-1", dns, NULL, 0, NULL) == API_POLICY_ALLOWED);
    HS_CHECK(cert("arn:aws:iam::999999999999:role/device-1", "client", "device-1", dns, NULL, 0,
                  NULL) == API_POLICY_NO_RULE);
    HS_CHECK(cert("arn:aws:iam::123456789012:role/other", "client", "device-1", dns, NULL, 0,
                  NULL) == API_POLICY_NO_RULE);
    HS_CHECK(cert("arn:aws:iam::123456789012:role/device-x/path/deep", "client", "device-1", dns,
                  NULL, 0, NULL) == API_POLICY_ALLOWED);
}

HS_TEST(dns_patterns_match_label_by_label_ignoring_case)
{
    const char *const one[] = {"Sensor.DEVICES.example.com", NULL};
    const char *const deep[] = {"a.b.devices.example.com", NULL};
    const char *const bare[] = {"devices.example.com", NULL};
    HS_CHECK(cert(device, "client", NULL, one, NULL, 0, NULL) == API_POLICY_ALLOWED);
    HS_CHECK(cert(device, "client", NULL, deep, NULL, 0, NULL) == API_POLICY_NAME);
    HS_CHECK(cert(device, "client", NULL, bare, NULL, 0, NULL) == API_POLICY_NAME);
    /* "**." stands for one or more labels. */
    const char *const web_deep[] = {"x.y.z.example.com", NULL};
    const char *const web_apex[] = {"example.com", NULL};
    const char *const web_other[] = {"example.org", NULL};
    HS_CHECK(cert(web, "server", "www", web_deep, NULL, 0, NULL) == API_POLICY_ALLOWED);
    HS_CHECK(cert(web, "server", "www", web_apex, NULL, 0, NULL) == API_POLICY_NAME);
    HS_CHECK(cert(web, "server", "www", web_other, NULL, 0, NULL) == API_POLICY_NAME);
    /* One name outside the patterns denies the whole request. */
    const char *const mixed[] = {"a.devices.example.com", "evil.example.org", NULL};
    HS_CHECK(cert(device, "client", NULL, mixed, NULL, 0, NULL) == API_POLICY_NAME);
}

HS_TEST(cn_and_ip_ranges)
{
    const char *const in4[] = {"10.200.3.4", NULL};
    const char *const out4[] = {"11.0.0.1", NULL};
    const char *const in6[] = {"2001:db8:1::5", NULL};
    const char *const out6[] = {"2001:db9::1", NULL};
    HS_CHECK(cert(device, "client", "device-9", NULL, in4, 0, NULL) == API_POLICY_ALLOWED);
    HS_CHECK(cert(device, "client", "device-9", NULL, out4, 0, NULL) == API_POLICY_NAME);
    HS_CHECK(cert(device, "client", "device-9", NULL, in6, 0, NULL) == API_POLICY_ALLOWED);
    HS_CHECK(cert(device, "client", "device-9", NULL, out6, 0, NULL) == API_POLICY_NAME);
    HS_CHECK(cert(device, "client", "printer-1", NULL, NULL, 0, NULL) == API_POLICY_NAME);
    /* The web rule allows no IP SAN at all. */
    HS_CHECK(cert(web, "server", "www", NULL, in4, 0, NULL) == API_POLICY_NAME);
}

HS_TEST(profiles_and_lifetimes)
{
    const char *const dns[] = {"a.devices.example.com", NULL};
    long ttl = 0;
    HS_CHECK(cert(device, "server", "device-1", dns, NULL, 0, NULL) == API_POLICY_PROFILE);
    /* No requested lifetime: the service default (12 h) capped by the rule (6 h). */
    HS_CHECK(cert(device, "client", "device-1", dns, NULL, 0, &ttl) == API_POLICY_ALLOWED);
    HS_CHECK(ttl == 6 * HOUR_S);
    HS_CHECK(cert(device, "client", "device-1", dns, NULL, 2 * HOUR_S, &ttl) == API_POLICY_ALLOWED);
    HS_CHECK(ttl == 2 * HOUR_S);
    HS_CHECK(cert(device, "client", "device-1", dns, NULL, 7 * HOUR_S, NULL) ==
             API_POLICY_CERT_TTL);
    const char *const web_dns[] = {"www.example.com", NULL};
    HS_CHECK(cert(web, "server", "www", web_dns, NULL, 0, &ttl) == API_POLICY_ALLOWED);
    HS_CHECK(ttl == 12 * HOUR_S);
    HS_CHECK(cert(web, "client", "www", web_dns, NULL, 0, NULL) == API_POLICY_PROFILE);
}

HS_TEST(tokens_audiences_and_lifetimes)
{
    long ttl = 0;
    HS_CHECK(api_policy_check_token(&policy, device, "snowflake", 0, 300, &ttl) ==
             API_POLICY_ALLOWED);
    HS_CHECK(ttl == 300);
    HS_CHECK(api_policy_check_token(&policy, device, "https://api.example.com/orders", 600, 300,
                                    &ttl) == API_POLICY_ALLOWED &&
             ttl == 600);
    HS_CHECK(api_policy_check_token(&policy, device, "snowflake", 601, 300, &ttl) ==
             API_POLICY_TOKEN_TTL);
    HS_CHECK(api_policy_check_token(&policy, device, "https://evil.example.org", 0, 300, &ttl) ==
             API_POLICY_AUDIENCE);
    /* The web rule names no audience: no token. */
    HS_CHECK(api_policy_check_token(&policy, web, "snowflake", 0, 300, &ttl) ==
             API_POLICY_AUDIENCE);
    /* mTLS principals have their own rules. */
    HS_CHECK(api_policy_check_token(&policy, "x509:CN=device-42", "snowflake", 0, 300, &ttl) ==
             API_POLICY_ALLOWED);
    HS_CHECK(api_policy_check_token(&policy, "x509:CN=printer-1", "snowflake", 0, 300, &ttl) ==
             API_POLICY_NO_RULE);
}

HS_TEST(owners_and_admins_manage_certificates)
{
    HS_CHECK(api_policy_may_manage(&policy, device, device));
    HS_CHECK(api_policy_may_manage(&policy, admin, device));
    HS_CHECK(!api_policy_may_manage(&policy, web, device));
    HS_CHECK(!api_policy_may_manage(&policy, NULL, device));
    HS_CHECK(strcmp(api_policy_reason_name(API_POLICY_NAME), "name_not_allowed") == 0);
    HS_CHECK(svc_profiles_find(&profiles, "server") == &profiles.items[1] &&
             svc_profiles_find(&profiles, "ca") == NULL);
}

/* --- issue 10, findings 3 and 5 ------------------------------------------------------------- */

static const char names_doc[] =
    "{\"policy\": {\"rules\": ["
    " {\"principals\": [\"wild\"], \"profiles\": [\"server\"], \"cn_patterns\": [\"*\"],"
    "  \"dns_patterns\": [\"*.example.org\", \"**.deep.example.org\"], \"allow_wildcards\": true},"
    " {\"principals\": [\"tame\"], \"profiles\": [\"server\"], \"cn_patterns\": [\"*\"],"
    "  \"dns_patterns\": [\"*.example.org\", \"**\"]},"
    " {\"principals\": [\"named\"], \"profiles\": [\"server\"], \"cn_patterns\": [\"*\"],"
    "  \"dns_patterns\": [\"www.example.org\", \"*.*.example.net\"], \"allow_wildcards\": true},"
    " {\"principals\": [\"mail\"], \"profiles\": [\"client\"], \"cn_patterns\": [\"*\"],"
    "  \"email_patterns\": [\"*@example.com\", \"ops-*@*.example.net\"]},"
    " {\"principals\": [\"spiffe\"], \"profiles\": [\"client\"], \"cn_patterns\": [\"*\"],"
    "  \"uri_patterns\": [\"spiffe://example.org/*\", \"spiffe://example.org/ns/*/sa/web-*\","
    "   \"spiffe://*.example.net/tree/**\", \"https://api.example.org:8443/v1?mode=x\"]}"
    "]}}";

static struct api_policy names_policy;
static json_object *names_json; /* the patterns of names_policy live here */

/* Decides a request of principal for profile with CN cn and the SANs of specs ("DNS:x",
 * "email:y", "URI:z"). */
static enum api_policy_reason ask_names(const char *principal, const char *profile, const char *cn,
                                        const char *const *specs)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    for (size_t i = 0; specs != NULL && specs[i] != NULL; i++) {
        const char *colon = strchr(specs[i], ':');
        int type = strncmp(specs[i], "DNS:", 4) == 0     ? GEN_DNS
                   : strncmp(specs[i], "email:", 6) == 0 ? GEN_EMAIL
                                                         : GEN_URI;
        sk_GENERAL_NAME_push(gens, a2i_GENERAL_NAME(NULL, NULL, NULL, type, colon + 1, 0));
    }
    struct api_cert_ask ask = {principal, profile, cn, gens, 0};
    long ttl = 0;
    enum api_policy_reason r = api_policy_check_cert(&names_policy, &ask, 12 * HOUR_S, &ttl);
    GENERAL_NAMES_free(gens);
    return r;
}

static enum api_policy_reason one(const char *principal, const char *profile, const char *san)
{
    const char *const specs[] = {san, NULL};
    return ask_names(principal, profile, "n", specs);
}

HS_TEST(dns_patterns_are_whole_labels_and_refused_otherwise)
{
    /* The review's reproducer: "?.example.org" admitted "*.example.org". */
    refused("{\"principals\": [\"arn:*\"], \"dns_patterns\": [\"?.example.org\"]}", "dns_patterns");
    refused("{\"principals\": [\"arn:*\"], \"dns_patterns\": [\"a*.example.org\"]}",
            "dns_patterns");
    refused("{\"principals\": [\"arn:*\"], \"dns_patterns\": [\"[a-z].example.org\"]}",
            "dns_patterns");
    refused("{\"principals\": [\"arn:*\"], \"dns_patterns\": [\"a.**.example.org\"]}",
            "dns_patterns");
    refused("{\"principals\": [\"arn:*\"], \"dns_patterns\": [\"example..org\"]}", "dns_patterns");
    refused("{\"principals\": [\"arn:*\"], \"allow_wildcards\": \"yes\"}", "allow_wildcards");
    HS_CHECK(names_policy.rules[0].allow_wildcards && !names_policy.rules[1].allow_wildcards);
}

HS_TEST(wildcard_dns_sans_need_allow_wildcards_and_a_covering_pattern)
{
    HS_CHECK(one("wild", "server", "DNS:*.example.org") == API_POLICY_ALLOWED);
    HS_CHECK(one("wild", "server", "DNS:www.example.org") == API_POLICY_ALLOWED);
    HS_CHECK(one("wild", "server", "DNS:*.a.deep.example.org") == API_POLICY_ALLOWED);
    HS_CHECK(one("wild", "server", "DNS:*.other.org") == API_POLICY_NAME);
    /* Without allow_wildcards, even "*.example.org" and "**" admit no wildcard SAN. */
    HS_CHECK(one("tame", "server", "DNS:*.example.org") == API_POLICY_NAME);
    HS_CHECK(one("tame", "server", "DNS:*.a.b.c") == API_POLICY_NAME);
    HS_CHECK(one("tame", "server", "DNS:www.example.org") == API_POLICY_ALLOWED);
    /* The existing rule "*.devices.example.com" (no allow_wildcards) admits names, not "*". */
    const char *const wild_dev[] = {"*.devices.example.com", NULL};
    HS_CHECK(cert(device, "client", NULL, wild_dev, NULL, 0, NULL) == API_POLICY_NAME);
    /* A literal label never admits the SAN's '*': "www.example.org" is not "*.example.org". */
    HS_CHECK(one("named", "server", "DNS:*.example.org") == API_POLICY_NAME);
    HS_CHECK(one("named", "server", "DNS:*.a.example.net") == API_POLICY_ALLOWED);
    /* Malformed wildcards never pass, whatever the rule. */
    HS_CHECK(one("wild", "server", "DNS:f*.example.org") == API_POLICY_NAME);
    HS_CHECK(one("wild", "server", "DNS:*.org") == API_POLICY_NAME);
    /* A CN holding '*' needs allow_wildcards too. */
    const char *const www[] = {"DNS:www.example.org", NULL};
    HS_CHECK(ask_names("tame", "server", "*.example.org", www) == API_POLICY_NAME);
    HS_CHECK(ask_names("wild", "server", "*.example.org", www) == API_POLICY_ALLOWED);
    HS_CHECK(strcmp(api_policy_reason_name(one("tame", "server", "DNS:*.example.org")),
                    "name_not_allowed") == 0);
}

HS_TEST(email_patterns_match_local_part_and_domain_separately)
{
    HS_CHECK(one("mail", "client", "email:alice@example.com") == API_POLICY_ALLOWED);
    HS_CHECK(one("mail", "client", "email:Alice@EXAMPLE.com") == API_POLICY_ALLOWED);
    /* The review's reproducer. */
    HS_CHECK(one("mail", "client", "email:attacker@evil.com@example.com") == API_POLICY_NAME);
    HS_CHECK(one("mail", "client", "email:alice@evil.com") == API_POLICY_NAME);
    HS_CHECK(one("mail", "client", "email:alice@sub.example.com") == API_POLICY_NAME);
    HS_CHECK(one("mail", "client", "email:ops-db@eu.example.net") == API_POLICY_ALLOWED);
    HS_CHECK(one("mail", "client", "email:dev-db@eu.example.net") == API_POLICY_NAME);
    HS_CHECK(one("mail", "client", "email:ops-db@example.net") == API_POLICY_NAME);
    /* The web rule of the main policy: "*@example.com". */
    const char *const specs[] = {"DNS:www.example.com", "email:x@evil.org@example.com", NULL};
    struct api_cert_ask ask = {web, "server", "www", NULL, 0};
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    for (size_t i = 0; specs[i] != NULL; i++) {
        int type = i == 0 ? GEN_DNS : GEN_EMAIL;
        sk_GENERAL_NAME_push(
            gens, a2i_GENERAL_NAME(NULL, NULL, NULL, type, strchr(specs[i], ':') + 1, 0));
    }
    ask.sans = gens;
    long ttl = 0;
    HS_CHECK(api_policy_check_cert(&policy, &ask, HOUR_S, &ttl) == API_POLICY_NAME);
    GENERAL_NAMES_free(gens);
    refused("{\"principals\": [\"a\"], \"email_patterns\": [\"*@example.com@x.org\"]}",
            "email_patterns");
    refused("{\"principals\": [\"a\"], \"email_patterns\": [\"example.com\"]}", "email_patterns");
    refused("{\"principals\": [\"a\"], \"email_patterns\": [\"a@?.example.com\"]}",
            "email_patterns");
}

HS_TEST(uri_patterns_glob_per_path_segment)
{
    HS_CHECK(one("spiffe", "client", "URI:spiffe://example.org/web") == API_POLICY_ALLOWED);
    /* The review's reproducer: '*' crossed '/', "../.." left the trust domain. */
    HS_CHECK(one("spiffe", "client", "URI:spiffe://example.org/../../other-trust-domain") ==
             API_POLICY_NAME);
    HS_CHECK(one("spiffe", "client", "URI:spiffe://example.org/a/b") == API_POLICY_NAME);
    HS_CHECK(one("spiffe", "client", "URI:spiffe://example.org/%2e%2e") == API_POLICY_NAME);
    HS_CHECK(one("spiffe", "client", "URI:spiffe://other.org/web") == API_POLICY_NAME);
    /* A value must be canonical (lower-case scheme and host): no pattern admits another form. */
    HS_CHECK(one("spiffe", "client", "URI:SPIFFE://example.org/web") == API_POLICY_NAME);
    HS_CHECK(one("spiffe", "client", "URI:spiffe://EXAMPLE.org/web") == API_POLICY_NAME);
    HS_CHECK(one("spiffe", "client", "URI:https://example.org/web") == API_POLICY_NAME);
    HS_CHECK(one("spiffe", "client", "URI:spiffe://example.org/ns/prod/sa/web-1") ==
             API_POLICY_ALLOWED);
    HS_CHECK(one("spiffe", "client", "URI:spiffe://example.org/ns/prod/sa/db-1") ==
             API_POLICY_NAME);
    HS_CHECK(one("spiffe", "client", "URI:spiffe://example.org/ns/a/b/sa/web-1") ==
             API_POLICY_NAME);
    HS_CHECK(one("spiffe", "client", "URI:spiffe://td.example.net/tree/a/b/c") ==
             API_POLICY_ALLOWED);
    HS_CHECK(one("spiffe", "client", "URI:spiffe://td.example.net/tree") == API_POLICY_NAME);
    HS_CHECK(one("spiffe", "client", "URI:spiffe://a.td.example.net/tree/a") == API_POLICY_NAME);
    HS_CHECK(one("spiffe", "client", "URI:https://api.example.org:8443/v1?mode=x") ==
             API_POLICY_ALLOWED);
    HS_CHECK(one("spiffe", "client", "URI:https://api.example.org:8443/v1?mode=y") ==
             API_POLICY_NAME);
    HS_CHECK(one("spiffe", "client", "URI:https://api.example.org/v1?mode=x") == API_POLICY_NAME);
    HS_CHECK(one("spiffe", "client", "URI:https://user@api.example.org:8443/v1?mode=x") ==
             API_POLICY_NAME);
    refused("{\"principals\": [\"a\"], \"uri_patterns\": [\"spiffe://example.org/**/x\"]}",
            "uri_patterns");
    refused("{\"principals\": [\"a\"], \"uri_patterns\": [\"spiffe://ex?mple.org/x\"]}",
            "uri_patterns");
    refused("{\"principals\": [\"a\"], \"uri_patterns\": [\"https://u@example.org/\"]}",
            "uri_patterns");
    refused("{\"principals\": [\"a\"], \"uri_patterns\": [\"example.org/x\"]}", "uri_patterns");
    refused("{\"principals\": [\"a\"], \"uri_patterns\": [\"spiffe://example.org/../x\"]}",
            "uri_patterns");
}

int main(void)
{
    if (hs_failed(hs_json_parse_object(policy_doc, strlen(policy_doc), 65536, 16, &doc)) ||
        hs_failed(svc_profiles_parse(doc, 12 * HOUR_S, DAY_S, &profiles)) ||
        hs_failed(api_policy_parse(doc, &profiles, DAY_S, 3600, &policy)) ||
        hs_failed(hs_json_parse_object(names_doc, strlen(names_doc), 65536, 16, &names_json)) ||
        hs_failed(api_policy_parse(names_json, &profiles, DAY_S, 3600, &names_policy))) {
        fprintf(stderr, "the test policy does not parse: %s\n", hs_error_last()->detail);
        json_object_put(doc);
        json_object_put(names_json);
        return 1;
    }
    int rc = hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(parses_and_refuses_malformed_rules_naming_the_field),
        HS_TEST_CASE(denies_by_default),
        HS_TEST_CASE(principal_globs_cross_slashes_but_not_accounts),
        HS_TEST_CASE(dns_patterns_match_label_by_label_ignoring_case),
        HS_TEST_CASE(cn_and_ip_ranges),
        HS_TEST_CASE(profiles_and_lifetimes),
        HS_TEST_CASE(tokens_audiences_and_lifetimes),
        HS_TEST_CASE(owners_and_admins_manage_certificates),
        HS_TEST_CASE(dns_patterns_are_whole_labels_and_refused_otherwise),
        HS_TEST_CASE(wildcard_dns_sans_need_allow_wildcards_and_a_covering_pattern),
        HS_TEST_CASE(email_patterns_match_local_part_and_domain_separately),
        HS_TEST_CASE(uri_patterns_glob_per_path_segment),
        HS_TEST_END,
    });
    json_object_put(doc);
    json_object_put(names_json);
    return rc;
}
