/* Fuzz target: svc_sshkey_job_decode (service/svc_sshkey.h), the JSON of a server-side SSH key
 * generation job as it would arrive from a queue. No token, no config. A decoded job is checked
 * for what the decoder promises (a 32-hex request id, bounded NUL-free strings, 1.. principals,
 * a known key type, expires after created) and must survive svc_sshkey_job_encode and a second
 * decode unchanged (the encoding is a fixed point). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "service/svc_sshkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void job_fuzz_check(int ok)
{
    if (!ok) {
        abort();
    }
}

static void job_fuzz_invariants(const struct svc_sshkey_job *job)
{
    job_fuzz_check(strlen(job->request_id) == SVC_SSHKEY_ID_LEN);
    job_fuzz_check(!hs_failed(svc_sshkey_id_check(job->request_id, SVC_SSHKEY_ID_LEN)));
    job_fuzz_check(job->caller != NULL && strlen(job->caller) <= SVC_SSHKEY_CALLER_MAX);
    job_fuzz_check(job->key_type == SVC_SSHKEY_ED25519 || job->key_type == SVC_SSHKEY_RSA_2048 ||
                   job->key_type == SVC_SSHKEY_RSA_4096);
    const struct svc_ssh_request *r = &job->req;
    job_fuzz_check(r->public_key == NULL && r->now == 0);
    job_fuzz_check(r->type == SGN_SSH_CERT_USER || r->type == SGN_SSH_CERT_HOST);
    job_fuzz_check(r->nprincipals >= 1 && r->nprincipals <= SGN_SSH_PRINCIPALS_MAX);
    for (size_t i = 0; i < r->nprincipals; i++) {
        job_fuzz_check(strlen(r->principals[i]) <= SGN_SSH_PRINCIPAL_MAX);
    }
    job_fuzz_check(r->nextensions <= SGN_SSH_EXTENSIONS_MAX);
    job_fuzz_check(!r->has_ttl || r->ttl_s >= 1);
    job_fuzz_check(r->key_id == NULL || strlen(r->key_id) <= SGN_SSH_KEY_ID_MAX);
    job_fuzz_check(job->expires > job->created);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    HS_DEFER(struct svc_sshkey_job *job = NULL, svc_sshkey_job_freep);
    if (hs_failed(svc_sshkey_job_decode((const char *)data, size, &job))) {
        hs_error_clear();
        return 0;
    }
    job_fuzz_invariants(job);
    HS_DEFER(struct hs_buf *a = hs_buf_new(SVC_SSHKEY_JOB_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *b = hs_buf_new(SVC_SSHKEY_JOB_MAX), hs_buf_freep);
    HS_DEFER(struct svc_sshkey_job *again = NULL, svc_sshkey_job_freep);
    job_fuzz_check(a != NULL && b != NULL);
    job_fuzz_check(!hs_failed(svc_sshkey_job_encode(job, a)));
    job_fuzz_check(
        !hs_failed(svc_sshkey_job_decode((const char *)hs_buf_data(a), hs_buf_len(a), &again)));
    job_fuzz_invariants(again);
    job_fuzz_check(!hs_failed(svc_sshkey_job_encode(again, b)));
    job_fuzz_check(hs_buf_len(a) == hs_buf_len(b) &&
                   memcmp(hs_buf_data(a), hs_buf_data(b), hs_buf_len(a)) == 0);
    job_fuzz_check(memcmp(job->recipient, again->recipient, sizeof(job->recipient)) == 0 &&
                   job->has_recipient == again->has_recipient && job->created == again->created &&
                   job->expires == again->expires && job->key_type == again->key_type);
    hs_error_clear();
    return 0;
}
