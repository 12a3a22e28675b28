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

/* --- SSH certificates (issue 11) ------------------------------------------------------------ */

#define ACCT "arn:aws:iam::123456789012:"
#define STS "arn:aws:sts::123456789012:"

static const char ssh_doc[] =
    "{\"policy\": {\"admins\": [\"" ACCT "role/pki-admin\"], \"rules\": ["
    " {\"principals\": [\"" ACCT "user/*\"], \"ssh_cert_types\": [\"user\"],"
    "  \"ssh_principals\": [\"${aws:username}\", \"${aws:username}-admin\", \"deploy\"],"
    "  \"ssh_max_ttl_seconds\": 28800},"
    " {\"principals\": [\"" STS "assumed-role/ops/*\"], \"ssh_cert_types\": [\"user\"],"
    "  \"ssh_principals\": [\"${aws:rolesessionname}\", \"ops-${AWS:UserName}\"],"
    "  \"ssh_extensions\": [\"permit-pty\", \"permit-port-forwarding\"],"
    "  \"ssh_critical_options\": [\"force-command\"],"
    "  \"ssh_required_critical_options\": {\"source-address\": \"10.0.0.0/8,192.0.2.7\"}},"
    " {\"principals\": [\"" ACCT "role/hosts\"], \"ssh_cert_types\": [\"host\"],"
    "  \"ssh_principals\": [\"*.hosts.example.com\"], \"ssh_max_ttl_seconds\": {\"host\": "
    "7776000}},"
    " {\"principals\": [\"" ACCT "role/build*\"], \"ssh_cert_types\": [\"user\"],"
    "  \"ssh_principals\": [\"${aws:username}\"]},"
    " {\"principals\": [\"" STS "federated-user/*\", \"x509:*\"],"
    "  \"ssh_cert_types\": [\"user\", \"host\"], \"ssh_principals\": [\"${aws:username}\"]},"
    " {\"principals\": [\"" ACCT "user/carol\"], \"ssh_cert_types\": [\"host\", \"user\"],"
    "  \"ssh_principals\": [\"*\"], \"ssh_max_ttl_seconds\": 600, \"ssh_extensions\": [],"
    "  \"ssh_critical_options\": [\"source-address\", \"force-command\"]},"
    " {\"principals\": [\"" ACCT "role/web-*\"], \"profiles\": [\"server\"],"
    "  \"cn_patterns\": [\"*\"], \"dns_patterns\": [\"**\"]}"
    "]}}";

static struct api_policy ssh_policy;
static json_object *ssh_json; /* the patterns of ssh_policy live here */

/* The request of a test: principals NULL-terminated; the rest as struct api_ssh_ask. */
struct ssh_req {
    const char *caller;
    enum api_ssh_cert_type type;
    const char *const *principals;
    long ttl_s;
    const char *const *extensions; /* NULL-terminated; NULL = not given */
    const char *force_command;
    const char *source_address;
};

static size_t count(const char *const *list)
{
    size_t n = 0;
    while (list != NULL && list[n] != NULL) {
        n++;
    }
    return n;
}

/* Decides req under p; a failure (malformed request) is API_POLICY_ALLOWED - 1 (-1). */
static int ssh_on(const struct api_policy *p, const struct ssh_req *req, struct api_ssh_grant *g)
{
    struct api_ssh_ask ask = {
        .caller = req->caller,
        .type = req->type,
        .principals = req->principals,
        .nprincipals = count(req->principals),
        .ttl_s = req->ttl_s,
        .extensions_given = req->extensions != NULL,
        .extensions = req->extensions,
        .nextensions = count(req->extensions),
        .force_command = req->force_command,
        .source_address = req->source_address,
    };
    struct api_ssh_grant scratch;
    enum api_policy_reason why = API_POLICY_ALLOWED;
    if (hs_failed(api_policy_check_ssh(p, &ask, g != NULL ? g : &scratch, &why))) {
        return -1;
    }
    return (int)why;
}

static int ssh(const struct ssh_req *req, struct api_ssh_grant *g)
{
    return ssh_on(&ssh_policy, req, g);
}

/* One user-certificate principal for caller with the defaults. */
static int ssh_user(const char *caller, const char *principal)
{
    const char *const ps[] = {principal, NULL};
    return ssh(&(struct ssh_req){caller, API_SSH_CERT_USER, ps, 0, NULL, NULL, NULL}, NULL);
}

static bool grant_has(const struct api_ssh_grant *g, const char *const *names)
{
    if (g->nextensions != count(names)) {
        return false;
    }
    for (size_t i = 0; i < g->nextensions; i++) {
        if (names[i] == NULL || strcmp(g->extensions[i], names[i]) != 0) {
            return false;
        }
    }
    return true;
}

/* A policy whose document stays alive (the rules borrow its strings) until json_object_put. */
static bool load_kept(const char *text, struct api_policy *out, json_object **d)
{
    memset(out, 0, sizeof(*out));
    *d = NULL;
    return !hs_failed(hs_json_parse_object(text, strlen(text), 65536, 16, d)) &&
           !hs_failed(api_policy_parse(*d, &profiles, DAY_S, 3600, out));
}

HS_TEST(ssh_user_arns_give_aws_username)
{
    const char *alice = ACCT "user/alice";
    HS_CHECK(ssh_user(alice, "alice") == API_POLICY_ALLOWED);
    HS_CHECK(ssh_user(alice, "alice-admin") == API_POLICY_ALLOWED);
    HS_CHECK(ssh_user(alice, "deploy") == API_POLICY_ALLOWED);
    HS_CHECK(ssh_user(alice, "bob") == API_POLICY_SSH_PRINCIPAL);
    HS_CHECK(ssh_user(alice, "Alice") == API_POLICY_SSH_PRINCIPAL);
    HS_CHECK(ssh_user(alice, "alice2") == API_POLICY_SSH_PRINCIPAL);
    /* The last element, after an IAM path. */
    HS_CHECK(ssh_user(ACCT "user/eng/team-a/alice", "alice") == API_POLICY_ALLOWED);
    HS_CHECK(ssh_user(ACCT "user/eng/team-a/alice", "team-a") == API_POLICY_SSH_PRINCIPAL);
    HS_CHECK(ssh_user(ACCT "user/bob", "alice") == API_POLICY_SSH_PRINCIPAL);
    /* Every principal must be allowed. */
    const char *const two[] = {"alice", "deploy", NULL};
    const char *const bad[] = {"alice", "root", NULL};
    HS_CHECK(ssh(&(struct ssh_req){alice, API_SSH_CERT_USER, two, 0, NULL, NULL, NULL}, NULL) ==
             API_POLICY_ALLOWED);
    HS_CHECK(ssh(&(struct ssh_req){alice, API_SSH_CERT_USER, bad, 0, NULL, NULL, NULL}, NULL) ==
             API_POLICY_SSH_PRINCIPAL);
    /* A user name that is no IAM name resolves nothing, and the rule then admits nothing, not
     * even its literal "deploy". */
    HS_CHECK(ssh_user(ACCT "user/al!ce", "deploy") == API_POLICY_SSH_PRINCIPAL);
    HS_CHECK(ssh_user(ACCT "user/", "deploy") == API_POLICY_SSH_PRINCIPAL);
    HS_CHECK(ssh_user(ACCT "user/alice", "deploy") == API_POLICY_ALLOWED);
}

HS_TEST(ssh_assumed_roles_give_the_session_name)
{
    const char *sess = STS "assumed-role/ops/alice-laptop";
    struct api_ssh_grant g;
    const char *const ps[] = {"alice-laptop", NULL};
    HS_CHECK(ssh(&(struct ssh_req){sess, API_SSH_CERT_USER, ps, 0, NULL, NULL, NULL}, &g) ==
             API_POLICY_ALLOWED);
    /* ${AWS:UserName}: names ignore case; aws:username is the session name here too. */
    HS_CHECK(ssh_user(sess, "ops-alice-laptop") == API_POLICY_ALLOWED);
    HS_CHECK(ssh_user(sess, "ops") == API_POLICY_SSH_PRINCIPAL);
    HS_CHECK(ssh_user(sess, "alice") == API_POLICY_SSH_PRINCIPAL);
    /* A session name is 2..64 characters; a role name holds no '/'. */
    HS_CHECK(ssh_user(STS "assumed-role/ops/a", "a") == API_POLICY_SSH_PRINCIPAL);
    HS_CHECK(ssh_user(STS "assumed-role/ops/x/alice", "alice") == API_POLICY_SSH_PRINCIPAL);
    /* The rule's required source-address is on the grant, its extensions the defaults it
     * allows (in the protocol's order). */
    const char *const exts[] = {"permit-port-forwarding", "permit-pty", NULL};
    HS_CHECK(grant_has(&g, exts));
    HS_CHECK(g.source_address != NULL && strcmp(g.source_address, "10.0.0.0/8,192.0.2.7") == 0);
    HS_CHECK(g.force_command == NULL && g.ttl_s == 3600);
}

HS_TEST(ssh_other_arn_shapes_resolve_nothing)
{
    /* Callers of rules whose only pattern is a variable. */
    HS_CHECK(ssh_user(ACCT "role/builder", "builder") == API_POLICY_SSH_PRINCIPAL);
    HS_CHECK(ssh_user(STS "federated-user/bob", "bob") == API_POLICY_SSH_PRINCIPAL);
    HS_CHECK(ssh_user("x509:CN=bob", "bob") == API_POLICY_SSH_PRINCIPAL);
    HS_CHECK(ssh_user("x509:CN=bob/x", "x") == API_POLICY_SSH_PRINCIPAL);
    /* Under a rule for every caller, only IAM user and assumed-role ARNs resolve. */
    struct api_policy any;
    json_object *d = NULL;
    HS_CHECK(
        load_kept("{\"policy\": {\"rules\": [{\"principals\": [\"*\"],"
                  " \"ssh_cert_types\": [\"user\"], \"ssh_principals\": [\"${aws:username}\"]},"
                  " {\"principals\": [\"*\"], \"ssh_cert_types\": [\"host\"],"
                  " \"ssh_principals\": [\"${aws:rolesessionname}.example.com\"]}]}}",
                  &any, &d));
    static const struct {
        const char *caller;
        bool resolves;
    } arns[] = {
        {"arn:aws:iam::123456789012:user/alice", true},
        {"arn:aws-cn:iam::123456789012:user/alice", true},
        {"arn:aws:sts::123456789012:assumed-role/r/alice", true},
        {"arn:aws:iam::123456789012:role/alice", false},
        {"arn:aws:sts::123456789012:federated-user/alice", false},
        {"arn:aws:iam::123456789012:root", false},
        {"arn:aws:iam::12345678901:user/alice", false},
        {"arn:aws:iam::1234567890123:user/alice", false},
        {"arn:aws:iam::12345678901x:user/alice", false},
        {"arn:aws:iam:us-east-1:123456789012:user/alice", false},
        {"arn::iam::123456789012:user/alice", false},
        {"arn:aws:s3:::bucket/alice", false},
        {"arn:aws:sts::123456789012:user/alice", false},
        {"arn:aws:iam::123456789012:assumed-role/r/alice", false},
        {"arn:aws:iam::123456789012:user/x:alice", false},
        {"arn:aws:iam::123456789012:user/alice:", false},
        {"arn:aws:iam::123456789012", false},
        {"ARN:aws:iam::123456789012:user/alice", false},
        {"x509:CN=alice", false},
        {"alice", false},
    };
    for (size_t i = 0; i < sizeof(arns) / sizeof(arns[0]); i++) {
        int want = arns[i].resolves ? API_POLICY_ALLOWED : API_POLICY_SSH_PRINCIPAL;
        int got =
            ssh_on(&any,
                   &(struct ssh_req){arns[i].caller, API_SSH_CERT_USER,
                                     (const char *const[]){"alice", NULL}, 0, NULL, NULL, NULL},
                   NULL);
        if (got != want) {
            fprintf(stderr, "  %s: aws:username %s\n", arns[i].caller,
                    arns[i].resolves ? "unresolved" : "resolved");
        }
        HS_CHECK(got == want);
    }
    /* aws:rolesessionname exists for assumed roles only. */
    const char *const host[] = {"alice.example.com", NULL};
    HS_CHECK(ssh_on(&any,
                    &(struct ssh_req){STS "assumed-role/r/alice", API_SSH_CERT_HOST, host, 0, NULL,
                                      NULL, NULL},
                    NULL) == API_POLICY_ALLOWED);
    HS_CHECK(
        ssh_on(&any,
               &(struct ssh_req){ACCT "user/alice", API_SSH_CERT_HOST, host, 0, NULL, NULL, NULL},
               NULL) == API_POLICY_SSH_PRINCIPAL);
    json_object_put(d);
}

/* A request that must fail as malformed with code, the detail naming field. */
static void ssh_malformed(const struct ssh_req *req, enum hs_code code, const char *field)
{
    HS_CHECK(ssh(req, NULL) == -1);
    HS_CHECK(hs_error_last()->code == code);
    HS_CHECK(strstr(hs_error_last()->detail, field) != NULL);
}

HS_TEST(ssh_principals_must_be_sane)
{
    const char *carol = ACCT "user/carol";
    char longest[API_SSH_PRINCIPAL_MAX + 2];
    memset(longest, 'p', sizeof(longest) - 1);
    longest[API_SSH_PRINCIPAL_MAX] = '\0';
    HS_CHECK(ssh_user(carol, longest) == API_POLICY_ALLOWED);
    HS_CHECK(ssh_user(carol, "root@host-1.example.com") == API_POLICY_ALLOWED);
    longest[API_SSH_PRINCIPAL_MAX] = 'p';
    longest[API_SSH_PRINCIPAL_MAX + 1] = '\0';
    const char *const bad[] = {"a,b", "a b",  "a\tb",        "a*",    "h?st",
                               "",    "\x01", "caf\xc3\xa9", "a\x7f", longest};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *const ps[] = {bad[i], NULL};
        ssh_malformed(&(struct ssh_req){carol, API_SSH_CERT_USER, ps, 0, NULL, NULL, NULL},
                      HS_ERR_INPUT_FIELD, "principals[0]");
    }
    /* An empty list would mean any principal. */
    const char *const none[] = {NULL};
    ssh_malformed(&(struct ssh_req){carol, API_SSH_CERT_USER, none, 0, NULL, NULL, NULL},
                  HS_ERR_INPUT_FIELD, "empty");
    ssh_malformed(&(struct ssh_req){carol, API_SSH_CERT_HOST, NULL, 0, NULL, NULL, NULL},
                  HS_ERR_INPUT_FIELD, "empty");
    const char *const twice[] = {"a", "b", "a", NULL};
    ssh_malformed(&(struct ssh_req){carol, API_SSH_CERT_USER, twice, 0, NULL, NULL, NULL},
                  HS_ERR_INPUT_FIELD, "principals[2]");
    const char *many[API_SSH_PRINCIPALS_MAX + 2];
    char names_buf[API_SSH_PRINCIPALS_MAX + 1][8];
    for (size_t i = 0; i <= API_SSH_PRINCIPALS_MAX; i++) {
        snprintf(names_buf[i], sizeof(names_buf[i]), "p%zu", i);
        many[i] = names_buf[i];
    }
    many[API_SSH_PRINCIPALS_MAX + 1] = NULL;
    ssh_malformed(&(struct ssh_req){carol, API_SSH_CERT_USER, many, 0, NULL, NULL, NULL},
                  HS_ERR_INPUT_FIELD, "principals");
    many[API_SSH_PRINCIPALS_MAX] = NULL;
    HS_CHECK(ssh(&(struct ssh_req){carol, API_SSH_CERT_USER, many, 0, NULL, NULL, NULL}, NULL) ==
             API_POLICY_ALLOWED);
    /* Unknown types and negative lifetimes are malformed too. */
    const char *const ps[] = {"carol", NULL};
    ssh_malformed(&(struct ssh_req){carol, (enum api_ssh_cert_type)3, ps, 0, NULL, NULL, NULL},
                  HS_ERR_INPUT_FIELD, "cert_type");
    ssh_malformed(&(struct ssh_req){carol, API_SSH_CERT_USER, ps, -1, NULL, NULL, NULL},
                  HS_ERR_INPUT_RANGE, "ttl_seconds");
}

HS_TEST(ssh_lifetimes_default_per_type_and_are_capped)
{
    struct api_ssh_grant g;
    const char *hosts = ACCT "role/hosts";
    const char *const hname[] = {"web-1.hosts.example.com", NULL};
    HS_CHECK(ssh(&(struct ssh_req){hosts, API_SSH_CERT_HOST, hname, 0, NULL, NULL, NULL}, &g) ==
             API_POLICY_ALLOWED);
    HS_CHECK(g.ttl_s == 30 * DAY_S && g.nextensions == 0);
    HS_CHECK(ssh(&(struct ssh_req){hosts, API_SSH_CERT_HOST, hname, 90 * DAY_S, NULL, NULL, NULL},
                 &g) == API_POLICY_ALLOWED &&
             g.ttl_s == 90 * DAY_S);
    HS_CHECK(
        ssh(&(struct ssh_req){hosts, API_SSH_CERT_HOST, hname, 90 * DAY_S + 1, NULL, NULL, NULL},
            NULL) == API_POLICY_SSH_TTL);
    /* That rule is for host certificates only. */
    HS_CHECK(ssh(&(struct ssh_req){hosts, API_SSH_CERT_USER, hname, 0, NULL, NULL, NULL}, NULL) ==
             API_POLICY_SSH_TYPE);
    const char *const deep[] = {"a.b.hosts.example.com", NULL};
    HS_CHECK(ssh(&(struct ssh_req){hosts, API_SSH_CERT_HOST, deep, 0, NULL, NULL, NULL}, NULL) ==
             API_POLICY_ALLOWED); /* fnmatch without FNM_PATHNAME: '*' crosses '.' */
    /* User certificates: 1 h by default, up to the rule's 8 h. */
    const char *alice = ACCT "user/alice";
    const char *const ps[] = {"alice", NULL};
    HS_CHECK(ssh(&(struct ssh_req){alice, API_SSH_CERT_USER, ps, 0, NULL, NULL, NULL}, &g) ==
                 API_POLICY_ALLOWED &&
             g.ttl_s == HOUR_S);
    HS_CHECK(ssh(&(struct ssh_req){alice, API_SSH_CERT_USER, ps, 8 * HOUR_S, NULL, NULL, NULL},
                 &g) == API_POLICY_ALLOWED &&
             g.ttl_s == 8 * HOUR_S);
    HS_CHECK(ssh(&(struct ssh_req){alice, API_SSH_CERT_USER, ps, 8 * HOUR_S + 1, NULL, NULL, NULL},
                 NULL) == API_POLICY_SSH_TTL);
    HS_CHECK(ssh(&(struct ssh_req){alice, API_SSH_CERT_HOST, ps, 0, NULL, NULL, NULL}, NULL) ==
             API_POLICY_SSH_TYPE);
    /* A single number caps both types; the default is then the lesser. */
    const char *carol = ACCT "user/carol";
    HS_CHECK(ssh(&(struct ssh_req){carol, API_SSH_CERT_HOST, hname, 0, NULL, NULL, NULL}, &g) ==
                 API_POLICY_ALLOWED &&
             g.ttl_s == 600);
    HS_CHECK(ssh(&(struct ssh_req){carol, API_SSH_CERT_USER, ps, 601, NULL, NULL, NULL}, NULL) ==
             API_POLICY_SSH_TTL);
    /* The parsed caps: defaults where the rule names none. */
    HS_CHECK(ssh_policy.rules[1].ssh_max_ttl_s[API_SSH_CERT_USER] == API_POLICY_SSH_USER_TTL_S);
    HS_CHECK(ssh_policy.rules[4].ssh_max_ttl_s[API_SSH_CERT_HOST] == API_POLICY_SSH_HOST_TTL_S);
    HS_CHECK(ssh_policy.rules[2].ssh_max_ttl_s[API_SSH_CERT_HOST] == 90 * DAY_S);
}

HS_TEST(ssh_extensions_allowed_and_defaulted)
{
    const char *alice = ACCT "user/alice";
    const char *const ps[] = {"alice", NULL};
    struct api_ssh_grant g;
    const char *const five[] = {"permit-X11-forwarding",  "permit-agent-forwarding",
                                "permit-port-forwarding", "permit-pty",
                                "permit-user-rc",         NULL};
    HS_CHECK(ssh(&(struct ssh_req){alice, API_SSH_CERT_USER, ps, 0, NULL, NULL, NULL}, &g) ==
             API_POLICY_ALLOWED);
    HS_CHECK(grant_has(&g, five));
    /* Given in any order, granted sorted. */
    const char *const asked[] = {"permit-user-rc", "permit-X11-forwarding", "permit-pty", NULL};
    const char *const sorted[] = {"permit-X11-forwarding", "permit-pty", "permit-user-rc", NULL};
    HS_CHECK(ssh(&(struct ssh_req){alice, API_SSH_CERT_USER, ps, 0, asked, NULL, NULL}, &g) ==
             API_POLICY_ALLOWED);
    HS_CHECK(grant_has(&g, sorted));
    const char *const empty[] = {NULL};
    HS_CHECK(ssh(&(struct ssh_req){alice, API_SSH_CERT_USER, ps, 0, empty, NULL, NULL}, &g) ==
                 API_POLICY_ALLOWED &&
             g.nextensions == 0);
    /* Known but not allowed by default; unknown; repeated. */
    const char *const touch[] = {"no-touch-required", NULL};
    const char *const evil[] = {"permit-pty", "permit-everything", NULL};
    const char *const twice[] = {"permit-pty", "permit-pty", NULL};
    HS_CHECK(ssh(&(struct ssh_req){alice, API_SSH_CERT_USER, ps, 0, touch, NULL, NULL}, NULL) ==
             API_POLICY_SSH_EXTENSION);
    HS_CHECK(ssh(&(struct ssh_req){alice, API_SSH_CERT_USER, ps, 0, evil, NULL, NULL}, NULL) ==
             API_POLICY_SSH_EXTENSION);
    ssh_malformed(&(struct ssh_req){alice, API_SSH_CERT_USER, ps, 0, twice, NULL, NULL},
                  HS_ERR_INPUT_FIELD, "extensions[1]");
    /* The ops rule allows two; carol's none. */
    const char *sess = STS "assumed-role/ops/alice-laptop";
    const char *const sps[] = {"alice-laptop", NULL};
    const char *const x11[] = {"permit-X11-forwarding", NULL};
    HS_CHECK(ssh(&(struct ssh_req){sess, API_SSH_CERT_USER, sps, 0, x11, NULL, NULL}, NULL) ==
             API_POLICY_SSH_EXTENSION);
    const char *carol = ACCT "user/carol";
    const char *const pty[] = {"permit-pty", NULL};
    HS_CHECK(ssh(&(struct ssh_req){carol, API_SSH_CERT_USER, ps, 0, NULL, NULL, NULL}, &g) ==
                 API_POLICY_ALLOWED &&
             g.nextensions == 0);
    HS_CHECK(ssh(&(struct ssh_req){carol, API_SSH_CERT_USER, ps, 0, pty, NULL, NULL}, NULL) ==
             API_POLICY_SSH_EXTENSION);
    /* Host certificates carry none. */
    ssh_malformed(&(struct ssh_req){carol, API_SSH_CERT_HOST, ps, 0, pty, NULL, NULL},
                  HS_ERR_INPUT_FIELD, "extensions");
    HS_CHECK(ssh(&(struct ssh_req){carol, API_SSH_CERT_HOST, ps, 0, empty, NULL, NULL}, &g) ==
                 API_POLICY_ALLOWED &&
             g.nextensions == 0);
}

HS_TEST(ssh_critical_options_allowed_and_required)
{
    const char *alice = ACCT "user/alice";
    const char *const ps[] = {"alice", NULL};
    struct api_ssh_grant g;
    /* Alice's rule allows no option. */
    HS_CHECK(ssh(&(struct ssh_req){alice, API_SSH_CERT_USER, ps, 0, NULL, "/bin/true", NULL},
                 NULL) == API_POLICY_SSH_OPTION);
    HS_CHECK(ssh(&(struct ssh_req){alice, API_SSH_CERT_USER, ps, 0, NULL, NULL, "10.0.0.0/8"},
                 NULL) == API_POLICY_SSH_OPTION);
    /* The ops rule: force-command may be set; source-address is required, and a request may
     * only repeat it. */
    const char *sess = STS "assumed-role/ops/alice-laptop";
    const char *const sps[] = {"alice-laptop", NULL};
    HS_CHECK(ssh(&(struct ssh_req){sess, API_SSH_CERT_USER, sps, 0, NULL, "backup --now", NULL},
                 &g) == API_POLICY_ALLOWED);
    HS_CHECK(g.force_command != NULL && strcmp(g.force_command, "backup --now") == 0);
    HS_CHECK(g.source_address != NULL && strcmp(g.source_address, "10.0.0.0/8,192.0.2.7") == 0);
    HS_CHECK(
        ssh(&(struct ssh_req){sess, API_SSH_CERT_USER, sps, 0, NULL, NULL, "10.0.0.0/8,192.0.2.7"},
            &g) == API_POLICY_ALLOWED);
    HS_CHECK(ssh(&(struct ssh_req){sess, API_SSH_CERT_USER, sps, 0, NULL, NULL, "10.1.0.0/16"},
                 NULL) == API_POLICY_SSH_OPTION);
    HS_CHECK(ssh(&(struct ssh_req){sess, API_SSH_CERT_USER, sps, 0, NULL, NULL, "0.0.0.0/0"},
                 NULL) == API_POLICY_SSH_OPTION);
    /* Carol's rule allows both. */
    const char *carol = ACCT "user/carol";
    HS_CHECK(ssh(&(struct ssh_req){carol, API_SSH_CERT_USER, ps, 0, NULL, "true",
                                   "10.0.0.0/8,2001:db8::/32,192.0.2.1,::1"},
                 &g) == API_POLICY_ALLOWED);
    HS_CHECK(g.source_address != NULL && strcmp(g.force_command, "true") == 0);
    static const char *const bad_sources[] = {"10.0.0.1/8",
                                              "10.0.0.0/33",
                                              "10.0.0.0/",
                                              ",10.0.0.0/8",
                                              "10.0.0.0/8,",
                                              "10.0.0.0/8 ",
                                              "example.com",
                                              "::1/129",
                                              "10.0.0.0/+8",
                                              "10.0.0.0/0008",
                                              "2001:db8::1/32",
                                              "10.0.0.0/8,,10.0.0.0/8",
                                              "*",
                                              ""};
    for (size_t i = 0; i < sizeof(bad_sources) / sizeof(bad_sources[0]); i++) {
        ssh_malformed(
            &(struct ssh_req){carol, API_SSH_CERT_USER, ps, 0, NULL, NULL, bad_sources[i]},
            HS_ERR_INPUT_FIELD, "source-address");
    }
    char many[40 * 12] = "";
    for (size_t i = 0; i <= API_SSH_SOURCE_ADDRESSES_MAX; i++) {
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s10.0.%zu.0/24",
                 i > 0 ? "," : "", i);
    }
    ssh_malformed(&(struct ssh_req){carol, API_SSH_CERT_USER, ps, 0, NULL, NULL, many},
                  HS_ERR_INPUT_FIELD, "source-address");
    *strrchr(many, ',') = '\0';
    HS_CHECK(ssh(&(struct ssh_req){carol, API_SSH_CERT_USER, ps, 0, NULL, NULL, many}, NULL) ==
             API_POLICY_ALLOWED);
    ssh_malformed(&(struct ssh_req){carol, API_SSH_CERT_USER, ps, 0, NULL, "a\nb", NULL},
                  HS_ERR_INPUT_FIELD, "force-command");
    ssh_malformed(&(struct ssh_req){carol, API_SSH_CERT_USER, ps, 0, NULL, "", NULL},
                  HS_ERR_INPUT_FIELD, "force-command");
    ssh_malformed(&(struct ssh_req){carol, API_SSH_CERT_HOST, ps, 0, NULL, "true", NULL},
                  HS_ERR_INPUT_FIELD, "critical_options");
    ssh_malformed(&(struct ssh_req){carol, API_SSH_CERT_HOST, ps, 0, NULL, NULL, "10.0.0.0/8"},
                  HS_ERR_INPUT_FIELD, "critical_options");
}

HS_TEST(ssh_denied_by_default_with_a_reason)
{
    struct api_policy empty;
    HS_CHECK(load("{\"policy\": {\"rules\": []}}", &empty));
    const char *const ps[] = {"root", NULL};
    struct api_ssh_grant g = {.ttl_s = 77};
    HS_CHECK(ssh_on(&empty,
                    &(struct ssh_req){ACCT "user/root", API_SSH_CERT_USER, ps, 0, NULL, NULL, NULL},
                    &g) == API_POLICY_NO_RULE);
    HS_CHECK(g.ttl_s == 77); /* the grant is written only when allowed */
    /* Admins get nothing for SSH that no rule gives them. */
    HS_CHECK(ssh_user(ACCT "role/pki-admin", "root") == API_POLICY_NO_RULE);
    HS_CHECK(ssh_user("arn:aws:iam::999999999999:user/alice", "alice") == API_POLICY_NO_RULE);
    /* A rule for the caller without ssh_cert_types allows no SSH certificate. */
    HS_CHECK(ssh_user(ACCT "role/web-1", "web") == API_POLICY_SSH_TYPE);
    HS_CHECK(ssh_on(&policy, &(struct ssh_req){device, API_SSH_CERT_HOST, ps, 0, NULL, NULL, NULL},
                    NULL) == API_POLICY_SSH_TYPE);
    HS_CHECK(policy.rules[0].ssh_types == 0 && policy.rules[0].ssh_principals.n == 0);
    static const struct {
        enum api_policy_reason r;
        const char *name;
    } names[] = {
        {API_POLICY_SSH_TYPE, "ssh_type_not_allowed"},
        {API_POLICY_SSH_PRINCIPAL, "ssh_principal_not_allowed"},
        {API_POLICY_SSH_EXTENSION, "ssh_extension_not_allowed"},
        {API_POLICY_SSH_OPTION, "ssh_option_not_allowed"},
        {API_POLICY_SSH_TTL, "ssh_ttl_too_long"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        HS_CHECK(strcmp(api_policy_reason_name(names[i].r), names[i].name) == 0);
    }
}

HS_TEST(ssh_rule_members_refused_at_load_naming_the_field)
{
#define SSH_RULE "{\"principals\": [\"arn:*\"], \"ssh_cert_types\": [\"user\"], "
    refused("{\"principals\": [\"arn:*\"], \"ssh_cert_types\": [\"user\", \"robot\"]}",
            "ssh_cert_types");
    refused("{\"principals\": [\"arn:*\"], \"ssh_cert_types\": [\"user\", \"user\"]}",
            "ssh_cert_types");
    refused("{\"principals\": [\"arn:*\"], \"ssh_cert_types\": []}", "ssh_cert_types");
    refused("{\"principals\": [\"arn:*\"], \"ssh_cert_types\": \"user\"}", "ssh_cert_types");
    refused("{\"principals\": [\"arn:*\"], \"ssh_cert_types\": [\"user\"]}", "ssh_principals");
    refused(SSH_RULE "\"ssh_principals\": []}", "ssh_principals");
    refused(SSH_RULE "\"ssh_principals\": [\"a,b\"]}", "ssh_principals");
    refused(SSH_RULE "\"ssh_principals\": [\"${aws:userid}\"]}", "ssh_principals");
    refused(SSH_RULE "\"ssh_principals\": [\"${aws:username\"]}", "ssh_principals");
    refused(SSH_RULE "\"ssh_principals\": [\"a b\"]}", "ssh_principals");
    refused("{\"principals\": [\"arn:*\"], \"ssh_principals\": [\"a\"]}", "ssh_principals");
    refused("{\"principals\": [\"arn:*\"], \"ssh_extensions\": []}", "ssh_extensions");
    refused("{\"principals\": [\"arn:*\"], \"ssh_max_ttl_seconds\": 60}", "ssh_max_ttl_seconds");
    refused(SSH_RULE "\"ssh_principals\": [\"a\"], \"ssh_max_ttl_seconds\": 0}",
            "ssh_max_ttl_seconds");
    refused(SSH_RULE "\"ssh_principals\": [\"a\"], \"ssh_max_ttl_seconds\": 31622401}",
            "ssh_max_ttl_seconds");
    refused(SSH_RULE "\"ssh_principals\": [\"a\"], \"ssh_max_ttl_seconds\": \"1h\"}",
            "ssh_max_ttl_seconds");
    refused(SSH_RULE "\"ssh_principals\": [\"a\"], \"ssh_max_ttl_seconds\": {\"user\": 0}}",
            "ssh_max_ttl_seconds");
    refused(SSH_RULE "\"ssh_principals\": [\"a\"], \"ssh_max_ttl_seconds\": {\"usr\": 5}}",
            "ssh_max_ttl_seconds");
    refused(SSH_RULE "\"ssh_principals\": [\"a\"], \"ssh_max_ttl_seconds\": {\"host\": 60}}",
            "ssh_max_ttl_seconds");
    refused(SSH_RULE "\"ssh_principals\": [\"a\"], \"ssh_extensions\": [\"permit-everything\"]}",
            "ssh_extensions");
    refused(SSH_RULE "\"ssh_principals\": [\"a\"], \"ssh_extensions\": [\"permit-pty\", "
                     "\"permit-pty\"]}",
            "ssh_extensions");
    refused(SSH_RULE
            "\"ssh_principals\": [\"a\"], \"ssh_critical_options\": [\"verify-required\"]}",
            "ssh_critical_options");
    refused(SSH_RULE "\"ssh_principals\": [\"a\"], \"ssh_required_critical_options\": "
                     "{\"source-address\": \"10.0.0.1/8\"}}",
            "ssh_required_critical_options");
    refused(SSH_RULE "\"ssh_principals\": [\"a\"], \"ssh_required_critical_options\": "
                     "{\"force-command\": \"\"}}",
            "ssh_required_critical_options");
    refused(SSH_RULE "\"ssh_principals\": [\"a\"], \"ssh_required_critical_options\": "
                     "{\"force-command\": 5}}",
            "ssh_required_critical_options");
    refused(SSH_RULE "\"ssh_principals\": [\"a\"], \"ssh_required_critical_options\": "
                     "{\"x\": \"y\"}}",
            "ssh_required_critical_options");
    refused("{\"principals\": [\"arn:*\"], \"ssh_cert_types\": [\"host\"], \"ssh_principals\": "
            "[\"a\"], \"ssh_required_critical_options\": {\"force-command\": \"true\"}}",
            "ssh_required_critical_options");
    /* The error names the rule, too. */
    refused("{\"principals\": [\"a\"]}, " SSH_RULE "\"ssh_principals\": [\"${x}\"]}", "rules[1]");
#undef SSH_RULE
    /* null is absent, as everywhere in the configuration. */
    struct api_policy p;
    json_object *d = NULL;
    HS_CHECK(load_kept("{\"policy\": {\"rules\": [{\"principals\": [\"a\"], \"ssh_cert_types\": "
                       "null, \"ssh_principals\": null}, {\"principals\": [\"b\"], "
                       "\"ssh_cert_types\": [\"host\"], \"ssh_principals\": [\"h\"], "
                       "\"ssh_max_ttl_seconds\": null}]}}",
                       &p, &d));
    HS_CHECK(p.rules[0].ssh_types == 0 &&
             p.rules[1].ssh_max_ttl_s[API_SSH_CERT_HOST] == API_POLICY_SSH_HOST_TTL_S);
    json_object_put(d);
    HS_CHECK(ssh_policy.nrules == 7);
    HS_CHECK(ssh_policy.rules[0].ssh_types == (1U << API_SSH_CERT_USER));
    HS_CHECK(ssh_policy.rules[5].ssh_types ==
             ((1U << API_SSH_CERT_USER) | (1U << API_SSH_CERT_HOST)));
    HS_CHECK(ssh_policy.rules[1].ssh_req_source != NULL &&
             ssh_policy.rules[1].ssh_req_command == NULL);
}

int main(void)
{
    if (hs_failed(hs_json_parse_object(policy_doc, strlen(policy_doc), 65536, 16, &doc)) ||
        hs_failed(svc_profiles_parse(doc, 12 * HOUR_S, DAY_S, &profiles)) ||
        hs_failed(api_policy_parse(doc, &profiles, DAY_S, 3600, &policy)) ||
        hs_failed(hs_json_parse_object(names_doc, strlen(names_doc), 65536, 16, &names_json)) ||
        hs_failed(api_policy_parse(names_json, &profiles, DAY_S, 3600, &names_policy)) ||
        hs_failed(hs_json_parse_object(ssh_doc, strlen(ssh_doc), 65536, 16, &ssh_json)) ||
        hs_failed(api_policy_parse(ssh_json, &profiles, DAY_S, 3600, &ssh_policy))) {
        fprintf(stderr, "the test policy does not parse: %s\n", hs_error_last()->detail);
        json_object_put(doc);
        json_object_put(names_json);
        json_object_put(ssh_json);
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
        HS_TEST_CASE(ssh_user_arns_give_aws_username),
        HS_TEST_CASE(ssh_assumed_roles_give_the_session_name),
        HS_TEST_CASE(ssh_other_arn_shapes_resolve_nothing),
        HS_TEST_CASE(ssh_principals_must_be_sane),
        HS_TEST_CASE(ssh_lifetimes_default_per_type_and_are_capped),
        HS_TEST_CASE(ssh_extensions_allowed_and_defaulted),
        HS_TEST_CASE(ssh_critical_options_allowed_and_required),
        HS_TEST_CASE(ssh_denied_by_default_with_a_reason),
        HS_TEST_CASE(ssh_rule_members_refused_at_load_naming_the_field),
        HS_TEST_END,
    });
    json_object_put(doc);
    json_object_put(names_json);
    json_object_put(ssh_json);
    return rc;
}
