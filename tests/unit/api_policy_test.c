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

int main(void)
{
    if (hs_failed(hs_json_parse_object(policy_doc, strlen(policy_doc), 65536, 16, &doc)) ||
        hs_failed(svc_profiles_parse(doc, 12 * HOUR_S, DAY_S, &profiles)) ||
        hs_failed(api_policy_parse(doc, &profiles, DAY_S, 3600, &policy))) {
        fprintf(stderr, "the test policy does not parse: %s\n", hs_error_last()->detail);
        json_object_put(doc);
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
        HS_TEST_END,
    });
    json_object_put(doc);
    return rc;
}
