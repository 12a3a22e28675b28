/* svc_profile: the "profiles" config block — the defaults without it, a custom block, and a table
 * of bad blocks with the exact error code and detail each produces. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/hs_json.h"
#include "service/svc_profile.h"
#include "signer/sgn_cert.h"
#include "tests/testlib/hs_test.h"

#define HOUR_S 3600L
#define CA_DEFAULT_S (12 * HOUR_S)
#define CA_MAX_S (24 * HOUR_S)

/* Parses text (a whole config document) into out; the document stays alive in *doc. */
static HS_RESULT parse(const char *text, json_object **doc, struct svc_profiles *out)
{
    hs_error_clear();
    memset(out, 0, sizeof(*out));
    hs_result r = hs_json_parse_object(text, strlen(text), 65536, 16, doc);
    if (hs_failed(r)) {
        return r;
    }
    return svc_profiles_parse(*doc, CA_DEFAULT_S, CA_MAX_S, out);
}

HS_TEST(without_a_block_client_and_server_are_the_defaults)
{
    json_object *doc = NULL;
    struct svc_profiles p;
    HS_CHECK_OK(parse("{\"ca\": {}}", &doc, &p));
    HS_CHECK(p.n == 2);
    const struct svc_profile *c = svc_profiles_find(&p, NULL);
    HS_CHECK(c != NULL && strcmp(c->name, "client") == 0);
    HS_CHECK(c == svc_profiles_find(&p, "client"));
    HS_CHECK(c->eku == SGN_EKU_CLIENT_AUTH && c->key_usage == SGN_KU_DIGITAL_SIGNATURE);
    HS_CHECK(!c->require_dns_san && c->default_ttl_s == CA_DEFAULT_S && c->max_ttl_s == CA_MAX_S);
    const struct svc_profile *s = svc_profiles_find(&p, "server");
    HS_CHECK(s != NULL && s->eku == SGN_EKU_SERVER_AUTH && s->require_dns_san);
    HS_CHECK(s->key_usage == (SGN_KU_DIGITAL_SIGNATURE | SGN_KU_KEY_ENCIPHERMENT));
    HS_CHECK(svc_profiles_find(&p, "ca") == NULL && svc_profiles_find(&p, "") == NULL);
    char names[64];
    svc_profiles_names(&p, names, sizeof(names));
    HS_CHECK(strcmp(names, "client, server") == 0);
    json_object_put(doc);
}

HS_TEST(a_block_replaces_the_defaults_and_its_first_profile_is_the_default)
{
    json_object *doc = NULL;
    struct svc_profiles p;
    HS_CHECK_OK(parse("{\"profiles\": {"
                      " \"mesh\": {\"extended_key_usage\": [\"clientAuth\", \"serverAuth\"],"
                      "  \"key_usage\": [\"digitalSignature\", \"keyEncipherment\"],"
                      "  \"require_dns_san\": true, \"max_ttl_hours\": 6},"
                      " \"short\": {\"extended_key_usage\": [\"clientAuth\"],"
                      "  \"max_ttl_hours\": 2, \"default_ttl_hours\": 1}}}",
                      &doc, &p));
    HS_CHECK(p.n == 2);
    const struct svc_profile *m = svc_profiles_find(&p, NULL);
    HS_CHECK(m != NULL && strcmp(m->name, "mesh") == 0);
    HS_CHECK(m->eku == (SGN_EKU_CLIENT_AUTH | SGN_EKU_SERVER_AUTH) && m->require_dns_san);
    /* The CA's default (12 h) is capped by the profile's maximum. */
    HS_CHECK(m->max_ttl_s == 6 * HOUR_S && m->default_ttl_s == 6 * HOUR_S);
    const struct svc_profile *s = svc_profiles_find(&p, "short");
    HS_CHECK(s != NULL && s->key_usage == SGN_KU_DIGITAL_SIGNATURE && !s->require_dns_san);
    HS_CHECK(s->max_ttl_s == 2 * HOUR_S && s->default_ttl_s == HOUR_S);
    HS_CHECK(svc_profiles_find(&p, "client") == NULL && svc_profiles_find(&p, "server") == NULL);
    json_object_put(doc);
}

struct bad_case {
    const char *profiles; /* the value of "profiles" */
    enum hs_code code;
    const char *detail; /* the exact detail */
};

static const struct bad_case bad_cases[] = {
    {"[]", HS_ERR_INPUT_FIELD, "field \"profiles\" must be of type object"},
    {"{}", HS_ERR_INPUT_FIELD, "field \"profiles\" must name at least one profile"},
    {"{\"Client\": {\"extended_key_usage\": [\"clientAuth\"]}}", HS_ERR_INPUT_FIELD,
     "profiles: \"Client\" is not a profile name (1..16 of a-z 0-9 - _)"},
    {"{\"a-very-long-name-x\": {\"extended_key_usage\": [\"clientAuth\"]}}", HS_ERR_INPUT_FIELD,
     "profiles: \"a-very-long-name-x\" is not a profile name (1..16 of a-z 0-9 - _)"},
    {"{\"\": {\"extended_key_usage\": [\"clientAuth\"]}}", HS_ERR_INPUT_FIELD,
     "profiles: \"\" is not a profile name (1..16 of a-z 0-9 - _)"},
    {"{\"c\": 1}", HS_ERR_INPUT_FIELD, "a profile must be an object; in \"profiles.c\""},
    {"{\"c\": {}}", HS_ERR_INPUT_FIELD,
     "field \"extended_key_usage\" is required; in \"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": \"clientAuth\"}}", HS_ERR_INPUT_FIELD,
     "field \"extended_key_usage\" must be of type array; in \"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": []}}", HS_ERR_INPUT_FIELD,
     "field \"extended_key_usage\" must not be empty; in \"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"codeSigning\"]}}", HS_ERR_INPUT_FIELD,
     "field \"extended_key_usage\": entry 0 is not one of serverAuth, clientAuth; in "
     "\"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"clientAuth\", 7]}}", HS_ERR_INPUT_FIELD,
     "field \"extended_key_usage\": entry 1 is not one of serverAuth, clientAuth; in "
     "\"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"clientAuth\", \"clientAuth\"]}}", HS_ERR_INPUT_FIELD,
     "field \"extended_key_usage\": \"clientAuth\" is listed twice; in \"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"clientAuth\"], \"key_usage\": [\"keyCertSign\"]}}",
     HS_ERR_INPUT_FIELD,
     "field \"key_usage\": entry 0 is not one of digitalSignature, keyEncipherment; in "
     "\"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"clientAuth\"], \"key_usage\": []}}", HS_ERR_INPUT_FIELD,
     "field \"key_usage\" must not be empty; in \"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"clientAuth\"], \"colour\": \"red\"}}", HS_ERR_INPUT_FIELD,
     "profile: unknown field \"colour\"; in \"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"clientAuth\"], \"require_dns_san\": \"yes\"}}",
     HS_ERR_INPUT_FIELD, "field \"require_dns_san\" must be of type boolean; in \"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"clientAuth\"], \"max_ttl_hours\": 25}}",
     HS_ERR_INPUT_RANGE, "field \"max_ttl_hours\" must be between 1 and 24; in \"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"clientAuth\"], \"max_ttl_hours\": 0}}",
     HS_ERR_INPUT_RANGE, "field \"max_ttl_hours\" must be between 1 and 24; in \"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"clientAuth\"], \"max_ttl_hours\": 6, "
     "\"default_ttl_hours\": 7}}",
     HS_ERR_INPUT_RANGE, "field \"default_ttl_hours\" must be between 1 and 6; in \"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"clientAuth\"], \"max_ttl_hours\": 1.5}}",
     HS_ERR_INPUT_FIELD, "field \"max_ttl_hours\" must be of type int; in \"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"clientAuth\"], \"rsa_public_exponents\": {\"min\": 3, "
     "\"max\": 65537}}}",
     HS_ERR_INPUT_RANGE,
     "field \"rsa_public_exponents.min\" must be an odd number from 65537 to 2^256 - 1; in "
     "\"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"clientAuth\"], \"rsa_public_exponents\": {\"min\": "
     "65537, \"max\": 65538}}}",
     HS_ERR_INPUT_RANGE,
     "field \"rsa_public_exponents.max\" must be an odd number from 65537 to 2^256 - 1; in "
     "\"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"clientAuth\"], \"rsa_public_exponents\": {\"min\": "
     "65537, \"max\": "
     "\"115792089237316195423570985008687907853269984665640564039457584007913129639937\"}}}",
     HS_ERR_INPUT_RANGE,
     "field \"rsa_public_exponents.max\" must be an odd number from 65537 to 2^256 - 1; in "
     "\"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"clientAuth\"], \"rsa_public_exponents\": {\"min\": "
     "-65537, \"max\": 65537}}}",
     HS_ERR_INPUT_RANGE,
     "field \"rsa_public_exponents.min\" must be an odd number from 65537 to 2^256 - 1; in "
     "\"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"clientAuth\"], \"rsa_public_exponents\": {\"min\": "
     "65539, \"max\": 65537}}}",
     HS_ERR_INPUT_RANGE,
     "field \"rsa_public_exponents\": min is greater than max; in \"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"clientAuth\"], \"rsa_public_exponents\": {\"min\": "
     "65537}}}",
     HS_ERR_INPUT_FIELD, "field \"rsa_public_exponents.max\" is required; in \"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"clientAuth\"], \"rsa_public_exponents\": {\"min\": "
     "65537, \"max\": \"0x10001\"}}}",
     HS_ERR_INPUT_FIELD,
     "field \"rsa_public_exponents.max\" must be an integer or a string of at most 78 decimal "
     "digits; in \"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"clientAuth\"], \"rsa_public_exponents\": {\"min\": "
     "65537, \"max\": 65537, \"step\": 2}}}",
     HS_ERR_INPUT_FIELD, "rsa_public_exponents: unknown field \"step\"; in \"profiles.c\""},
    {"{\"c\": {\"extended_key_usage\": [\"clientAuth\"], \"rsa_public_exponents\": 65537}}",
     HS_ERR_INPUT_FIELD,
     "field \"rsa_public_exponents\" must be of type object; in \"profiles.c\""},
    {"{\"ok\": {\"extended_key_usage\": [\"serverAuth\"]}, \"bad\": {\"key_usage\": []}}",
     HS_ERR_INPUT_FIELD, "field \"extended_key_usage\" is required; in \"profiles.bad\""},
};

HS_TEST(bad_blocks_fail_with_the_exact_error)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        char text[1024];
        snprintf(text, sizeof(text), "{\"profiles\": %s}", c->profiles);
        json_object *doc = NULL;
        struct svc_profiles p;
        hs_result r = parse(text, &doc, &p);
        const char *detail = hs_error_last()->detail;
        bool match = r.code == c->code && strcmp(detail, c->detail) == 0;
        if (!match) {
            fprintf(stderr, "  case %zu %s: got %s \"%s\", expected %s \"%s\"\n", i, c->profiles,
                    hs_code_name(r.code), detail, hs_code_name(c->code), c->detail);
        }
        HS_CHECK(match); /* one check a case, so the table counts */
        json_object_put(doc);
    }
}

HS_TEST(more_than_the_maximum_number_of_profiles_is_refused)
{
    char text[4096] = "{\"profiles\": {";
    size_t len = strlen(text);
    for (int i = 0; i <= SVC_PROFILES_MAX; i++) {
        len += (size_t)snprintf(text + len, sizeof(text) - len,
                                "%s\"p%d\": {\"extended_key_usage\": [\"clientAuth\"]}",
                                i > 0 ? ", " : "", i);
    }
    snprintf(text + len, sizeof(text) - len, "}}");
    json_object *doc = NULL;
    struct svc_profiles p;
    HS_CHECK_ERR(parse(text, &doc, &p), HS_ERR_INPUT_RANGE);
    HS_CHECK(strcmp(hs_error_last()->detail, "field \"profiles\" names more than 16 profiles") ==
             0);
    json_object_put(doc);
}

HS_TEST(rsa_public_exponents_default_to_65537_and_take_a_range)
{
    json_object *doc = NULL;
    struct svc_profiles p;
    HS_CHECK_OK(parse("{\"profiles\": {"
                      " \"wide\": {\"extended_key_usage\": [\"clientAuth\"],"
                      "  \"rsa_public_exponents\": {\"min\": 65537, \"max\": "
                      "\"115792089237316195423570985008687907853269984665640564039457584007913129"
                      "639935\"}},"
                      " \"plain\": {\"extended_key_usage\": [\"clientAuth\"]}}}",
                      &doc, &p));
    struct sgn_rsa_exponents f4;
    sgn_rsa_exponents_default(&f4);
    HS_CHECK(f4.min[SGN_RSA_E_BYTES - 1] == 0x01 && f4.min[SGN_RSA_E_BYTES - 3] == 0x01 &&
             memcmp(f4.min, f4.max, SGN_RSA_E_BYTES) == 0);
    const struct svc_profile *wide = svc_profiles_find(&p, "wide");
    const struct svc_profile *plain = svc_profiles_find(&p, "plain");
    unsigned char ones[SGN_RSA_E_BYTES];
    memset(ones, 0xff, sizeof(ones));
    HS_CHECK(wide != NULL && memcmp(wide->rsa_exponents.min, f4.min, SGN_RSA_E_BYTES) == 0 &&
             memcmp(wide->rsa_exponents.max, ones, SGN_RSA_E_BYTES) == 0);
    HS_CHECK(plain != NULL && memcmp(&plain->rsa_exponents, &f4, sizeof(f4)) == 0);
    json_object_put(doc);
    HS_CHECK_OK(parse("{}", &doc, &p));
    HS_CHECK(memcmp(&p.items[0].rsa_exponents, &f4, sizeof(f4)) == 0 &&
             memcmp(&p.items[1].rsa_exponents, &f4, sizeof(f4)) == 0);
    json_object_put(doc);
}

int main(void)
{
    return hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(without_a_block_client_and_server_are_the_defaults),
        HS_TEST_CASE(a_block_replaces_the_defaults_and_its_first_profile_is_the_default),
        HS_TEST_CASE(bad_blocks_fail_with_the_exact_error),
        HS_TEST_CASE(more_than_the_maximum_number_of_profiles_is_refused),
        HS_TEST_CASE(rsa_public_exponents_default_to_65537_and_take_a_range),
        HS_TEST_END,
    });
}
