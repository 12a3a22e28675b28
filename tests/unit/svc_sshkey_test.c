/* svc_sshkey: the job's JSON (svc_sshkey_job_decode / _encode / _new) — a full job, a table of
 * bad jobs with the exact error each produces, a job made from a request and its round trip —
 * and the request id check. No token: running a job is tested by sshkey_test.sh. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "service/svc_sshkey.h"
#include "tests/testlib/hs_test.h"

#define ID "0123456789abcdef0123456789abcdef"
#define RECIPIENT "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" /* bytes 0..31 */

static HS_RESULT decode(const char *text, struct svc_sshkey_job **out)
{
    hs_error_clear();
    return svc_sshkey_job_decode(text, strlen(text), out);
}

HS_TEST(a_full_job_decodes_to_its_fields)
{
    HS_DEFER(struct svc_sshkey_job *job = NULL, svc_sshkey_job_freep);
    HS_CHECK_OK(decode("{\"v\": 1, \"request_id\": \"" ID "\", \"caller\": \"arn:x\","
                       " \"key_type\": \"rsa-4096\", \"cert_type\": \"host\","
                       " \"principals\": [\"a\", \"b\"], \"ttl_seconds\": 600, \"key_id\": \"k 1\","
                       " \"extensions\": [], \"critical_options\": {\"force-command\": \"id\"},"
                       " \"recipient\": \"" RECIPIENT "\", \"created\": 10, \"expires\": 310}",
                       &job));
    HS_CHECK(strcmp(job->request_id, ID) == 0 && strcmp(job->caller, "arn:x") == 0);
    HS_CHECK(job->key_type == SVC_SSHKEY_RSA_4096 && job->req.type == SGN_SSH_CERT_HOST);
    HS_CHECK(job->req.nprincipals == 2 && strcmp(job->req.principals[1], "b") == 0);
    HS_CHECK(job->req.has_ttl && job->req.ttl_s == 600 && strcmp(job->req.key_id, "k 1") == 0);
    HS_CHECK(job->req.extensions_given && job->req.nextensions == 0);
    HS_CHECK(strcmp(job->req.force_command, "id") == 0 && job->req.source_address == NULL);
    HS_CHECK(job->has_recipient && job->recipient[0] == 0 && job->recipient[31] == 31);
    HS_CHECK(job->created == 10 && job->expires == 310 && job->req.public_key == NULL);
}

struct bad_job {
    const char *members; /* after {"v": 1, "request_id": ..., "caller": "c", */
    enum hs_code code;
    const char *detail;
};

HS_TEST(bad_jobs_fail_with_the_exact_error)
{
    static const struct bad_job table[] = {
        {"\"key_type\": \"ecdsa\", \"cert_type\": \"user\", \"principals\": [\"a\"], "
         "\"created\": 1, \"expires\": 2",
         HS_ERR_INPUT_FIELD, "key_type"},
        {"\"cert_type\": \"user\", \"principals\": [\"a\"], \"created\": 1, \"expires\": 2",
         HS_ERR_INPUT_FIELD, "key_type"},
        {"\"key_type\": \"ed25519\", \"cert_type\": \"admin\", \"principals\": [\"a\"], "
         "\"created\": 1, \"expires\": 2",
         HS_ERR_INPUT_FIELD, "cert_type"},
        {"\"key_type\": \"ed25519\", \"cert_type\": \"user\", \"principals\": [], "
         "\"created\": 1, \"expires\": 2",
         HS_ERR_INPUT_FIELD, "principals"},
        {"\"key_type\": \"ed25519\", \"cert_type\": \"user\", \"principals\": [\"\"], "
         "\"created\": 1, \"expires\": 2",
         HS_ERR_INPUT_FIELD, "principals"},
        {"\"key_type\": \"ed25519\", \"cert_type\": \"user\", \"principals\": [\"a\\u0000b\"], "
         "\"created\": 1, \"expires\": 2",
         HS_ERR_INPUT_FIELD, "principals"},
        {"\"key_type\": \"ed25519\", \"cert_type\": \"user\", \"principals\": [\"a\"], "
         "\"created\": 5, \"expires\": 5",
         HS_ERR_INPUT_FIELD, "expires"},
        {"\"key_type\": \"ed25519\", \"cert_type\": \"user\", \"principals\": [\"a\"], "
         "\"created\": 1, \"expires\": 2, \"recipient\": "
         "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\"",
         HS_ERR_INPUT_FIELD, "recipient"},
        {"\"key_type\": \"ed25519\", \"cert_type\": \"user\", \"principals\": [\"a\"], "
         "\"created\": 1, \"expires\": 2, \"recipient\": "
         "\"!AECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"",
         HS_ERR_INPUT_FIELD, "recipient"},
        {"\"key_type\": \"ed25519\", \"cert_type\": \"user\", \"principals\": [\"a\"], "
         "\"created\": 1, \"expires\": 2, \"ttl_seconds\": 0",
         HS_ERR_INPUT_RANGE, "ttl_seconds"},
        {"\"key_type\": \"ed25519\", \"cert_type\": \"user\", \"principals\": [\"a\"], "
         "\"created\": 1, \"expires\": 2, \"key_id\": \"a\\u0007b\"",
         HS_ERR_INPUT_FIELD, "key_id"},
        {"\"key_type\": \"ed25519\", \"cert_type\": \"user\", \"principals\": [\"a\"], "
         "\"created\": 1, \"expires\": 2, \"public_key\": \"x\"",
         HS_ERR_INPUT_FIELD, "public_key"},
        {"\"key_type\": \"ed25519\", \"cert_type\": \"user\", \"principals\": [\"a\"], "
         "\"created\": 1, \"expires\": 2, \"critical_options\": {\"no-pty\": \"\"}",
         HS_ERR_INPUT_FIELD, "no-pty"},
    };
    char text[1024];
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        int n = snprintf(text, sizeof(text),
                         "{\"v\": 1, \"request_id\": \"" ID "\", \"caller\": "
                         "\"c\", %s}",
                         table[i].members);
        HS_CHECK(n > 0 && (size_t)n < sizeof(text));
        HS_DEFER(struct svc_sshkey_job *job = NULL, svc_sshkey_job_freep);
        HS_CHECK_ERR(decode(text, &job), table[i].code);
        HS_CHECK(job == NULL);
        if (strstr(hs_error_last()->detail, table[i].detail) == NULL) {
            fprintf(stderr, "case %zu: detail \"%s\" lacks \"%s\"\n", i, hs_error_last()->detail,
                    table[i].detail);
            HS_CHECK(false);
        }
    }
}

HS_TEST(bad_versions_ids_sizes_and_json_fail_with_the_exact_error)
{
    static const char base[] = "\"key_type\": \"ed25519\", \"cert_type\": \"user\", "
                               "\"principals\": [\"a\"], \"created\": 1, \"expires\": 2";
    char text[1024];
    static const struct {
        const char *head; /* then base, then tail */
        const char *tail;
        enum hs_code code;
    } whole[] = {
        {"{\"v\": 2, \"request_id\": \"" ID "\", \"caller\": \"c\", ", "}", HS_ERR_INPUT_RANGE},
        {"{\"v\": 1, \"request_id\": \"0123456789ABCDEF0123456789abcdef\", \"caller\": \"c\", ",
         "}", HS_ERR_INPUT_FIELD},
        {"{\"v\": 1, \"request_id\": \"0123\", \"caller\": \"c\", ", "}", HS_ERR_INPUT_FIELD},
        {"{\"v\": 1, \"request_id\": \"" ID "\", ", "}", HS_ERR_INPUT_FIELD},
        {"[{\"v\": 1, \"request_id\": \"" ID "\", \"caller\": \"c\", ", "}]", HS_ERR_INPUT_JSON},
    };
    for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
        int n = snprintf(text, sizeof(text), "%s%s%s", whole[i].head, base, whole[i].tail);
        HS_CHECK(n > 0 && (size_t)n < sizeof(text));
        HS_DEFER(struct svc_sshkey_job *job = NULL, svc_sshkey_job_freep);
        HS_CHECK_ERR(decode(text, &job), whole[i].code);
    }
    HS_DEFER(struct svc_sshkey_job *job = NULL, svc_sshkey_job_freep);
    HS_CHECK_ERR(svc_sshkey_job_decode(text, SVC_SSHKEY_JOB_MAX + 1, &job), HS_ERR_INPUT_TOO_LARGE);
}

HS_TEST(a_job_made_from_a_request_round_trips)
{
    struct svc_ssh_request req = {.type = SGN_SSH_CERT_USER,
                                  .nprincipals = 1,
                                  .principals = {"alice"},
                                  .has_ttl = true,
                                  .ttl_s = 60,
                                  .source_address = "10.0.0.0/8"};
    struct svc_sshkey_ask ask = {"ed25519", &req, RECIPIENT};
    HS_DEFER(struct svc_sshkey_job *a = NULL, svc_sshkey_job_freep);
    HS_DEFER(struct svc_sshkey_job *b = NULL, svc_sshkey_job_freep);
    HS_DEFER(struct svc_sshkey_job *c = NULL, svc_sshkey_job_freep);
    HS_CHECK_OK(svc_sshkey_job_new("arn:aws:iam::1:user/alice", &ask, 1000, 300, &a));
    HS_CHECK_OK(svc_sshkey_job_new("arn:aws:iam::1:user/alice", &ask, 1000, 300, &b));
    HS_CHECK(strcmp(a->request_id, b->request_id) != 0); /* random, 128 bits */
    HS_CHECK_OK(svc_sshkey_id_check(a->request_id, strlen(a->request_id)));
    HS_CHECK(a->created == 1000 && a->expires == 1300 && a->key_type == SVC_SSHKEY_ED25519);
    HS_CHECK(a->has_recipient && a->recipient[5] == 5);
    HS_CHECK(strcmp(a->req.source_address, "10.0.0.0/8") == 0 && a->req.ttl_s == 60);
    HS_DEFER(struct hs_buf *text = hs_buf_new(SVC_SSHKEY_JOB_MAX), hs_buf_freep);
    HS_CHECK(text != NULL);
    HS_CHECK_OK(svc_sshkey_job_encode(a, text));
    HS_CHECK_OK(svc_sshkey_job_decode((const char *)hs_buf_data(text), hs_buf_len(text), &c));
    HS_CHECK(strcmp(c->request_id, a->request_id) == 0 && strcmp(c->caller, a->caller) == 0);
    HS_CHECK(memcmp(c->recipient, a->recipient, sizeof(a->recipient)) == 0);
    /* What the service refuses at once. */
    HS_DEFER(struct svc_sshkey_job *d = NULL, svc_sshkey_job_freep);
    struct svc_sshkey_ask bad = {"rsa-1024", &req, NULL};
    HS_CHECK_ERR(svc_sshkey_job_new("c", &bad, 1000, 300, &d), HS_ERR_INPUT_FIELD);
    bad = (struct svc_sshkey_ask){"ed25519", &req, "AAAA"};
    HS_CHECK_ERR(svc_sshkey_job_new("c", &bad, 1000, 300, &d), HS_ERR_INPUT_FIELD);
    req.nprincipals = 0;
    bad = (struct svc_sshkey_ask){"ed25519", &req, NULL};
    HS_CHECK_ERR(svc_sshkey_job_new("c", &bad, 1000, 300, &d), HS_ERR_INPUT_FIELD);
    HS_CHECK(d == NULL);
}

HS_TEST(request_ids_are_32_lowercase_hex_digits)
{
    HS_CHECK_OK(svc_sshkey_id_check(ID, 32));
    HS_CHECK_ERR(svc_sshkey_id_check(ID, 31), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(svc_sshkey_id_check("0123456789abcdef0123456789abcdeF", 32), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(svc_sshkey_id_check("0123456789abcdef0123456789abcde/", 32), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(svc_sshkey_id_check(NULL, 32), HS_ERR_INPUT_FIELD);
}

int main(void)
{
    return hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(a_full_job_decodes_to_its_fields),
        HS_TEST_CASE(bad_jobs_fail_with_the_exact_error),
        HS_TEST_CASE(bad_versions_ids_sizes_and_json_fail_with_the_exact_error),
        HS_TEST_CASE(a_job_made_from_a_request_round_trips),
        HS_TEST_CASE(request_ids_are_32_lowercase_hex_digits),
        HS_TEST_END,
    });
}
