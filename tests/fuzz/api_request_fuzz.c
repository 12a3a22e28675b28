/* Fuzz target: the request bodies of every POST route (POST /v1/certificates, POST
 * /v1/certificates/{serial}/revoke, POST /v1/tokens, POST /v1/ssh/certificates, POST
 * /v1/ssh/keys) through api/'s decoders (api_body.h), JSON to
 * the service's request structs, as api_route does before it calls the service. No token, no
 * config. Each decoded struct is checked for what the decoders promise: bounded, NUL-free strings
 * pointing into the parsed document. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_body.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "signer/sgn_csr.h"
#include "signer/sgn_jwt.h"
#include "signer/sgn_ssh_cert.h"
#include "signer/sgn_ssh_key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void api_fuzz_check(int ok)
{
    if (!ok) {
        abort();
    }
}

static void api_fuzz_certificates(const uint8_t *data, size_t size)
{
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    struct svc_cert_request r;
    if (hs_failed(api_cert_request_decode(data, size, &doc, &r))) {
        return;
    }
    api_fuzz_check(r.csr_pem != NULL && r.csr_len > 0 && r.csr_len <= SGN_CSR_PEM_MAX &&
                   strlen(r.csr_pem) == r.csr_len);
    api_fuzz_check(r.profile == NULL || strlen(r.profile) <= SVC_PROFILE_NAME_MAX);
    api_fuzz_check(r.has_ttl || r.ttl_hours == 0);
}

static void api_fuzz_revoke(const uint8_t *data, size_t size)
{
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    struct svc_revoke_request r;
    if (hs_failed(api_revoke_request_decode(data, size, &doc, &r))) {
        return;
    }
    api_fuzz_check(r.serial == NULL && (r.reason == NULL || strlen(r.reason) <= 32));
    api_fuzz_check(size > 0 || (doc == NULL && r.reason == NULL));
}

static void api_fuzz_tokens(const uint8_t *data, size_t size)
{
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    struct svc_token_request r;
    if (hs_failed(api_token_request_decode(data, size, &doc, &r))) {
        return;
    }
    /* A token profile fixes the audience; without one it is required. */
    api_fuzz_check(r.audience != NULL || r.profile != NULL);
    api_fuzz_check(r.audience == NULL ||
                   (strlen(r.audience) > 0 && strlen(r.audience) <= SGN_JWT_CLAIM_MAX));
    api_fuzz_check(r.profile == NULL ||
                   (strlen(r.profile) > 0 && strlen(r.profile) <= SVC_TOKEN_PROFILE_NAME_MAX));
    api_fuzz_check(r.alg == NULL || strlen(r.alg) <= 16);
    api_fuzz_check(r.has_ttl || r.ttl_s == 0);
}

/* A decoded string: present, NUL-free, at most max bytes. */
static void api_fuzz_str(const char *s, size_t max)
{
    api_fuzz_check(s != NULL && strlen(s) <= max);
}

static void api_fuzz_ssh_fields(const struct svc_ssh_request *q);

static void api_fuzz_ssh(const uint8_t *data, size_t size)
{
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    struct svc_ssh_request r;
    if (hs_failed(api_ssh_request_decode(data, size, &doc, &r))) {
        return;
    }
    api_fuzz_check(r.public_key_len > 0 && r.public_key_len <= SGN_SSH_LINE_MAX &&
                   strlen(r.public_key) == r.public_key_len);
    api_fuzz_ssh_fields(&r);
}

static void api_fuzz_sshkey(const uint8_t *data, size_t size)
{
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    struct api_sshkey_request r;
    if (hs_failed(api_sshkey_request_decode(data, size, &doc, &r))) {
        return;
    }
    api_fuzz_str(r.key_type, API_SSHKEY_TYPE_MAX);
    api_fuzz_check(r.recipient == NULL || strlen(r.recipient) <= API_SSHKEY_RECIPIENT_MAX);
    api_fuzz_check(r.req.public_key == NULL && r.req.public_key_len == 0);
    api_fuzz_ssh_fields(&r.req);
}

static void api_fuzz_ssh_fields(const struct svc_ssh_request *q)
{
    struct svc_ssh_request r = *q;
    api_fuzz_check(r.type == SGN_SSH_CERT_USER || r.type == SGN_SSH_CERT_HOST);
    api_fuzz_check(r.nprincipals <= SGN_SSH_PRINCIPALS_MAX);
    for (size_t i = 0; i < r.nprincipals; i++) {
        api_fuzz_str(r.principals[i], SGN_SSH_PRINCIPAL_MAX);
    }
    api_fuzz_check(r.nextensions <= SGN_SSH_EXTENSIONS_MAX &&
                   (r.extensions_given || r.nextensions == 0));
    for (size_t i = 0; i < r.nextensions; i++) {
        api_fuzz_str(r.extensions[i], SGN_SSH_EXTENSION_NAME_MAX);
    }
    api_fuzz_check(r.key_id == NULL || strlen(r.key_id) <= SGN_SSH_KEY_ID_MAX);
    api_fuzz_check(r.force_command == NULL || strlen(r.force_command) <= SGN_SSH_OPTION_VALUE_MAX);
    api_fuzz_check(r.source_address == NULL ||
                   strlen(r.source_address) <= SGN_SSH_OPTION_VALUE_MAX);
    api_fuzz_check(r.has_ttl || r.ttl_s == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* api_route refuses bodies over API_BODY_MAX before decoding; the decoders refuse them too. */
    api_fuzz_certificates(data, size);
    api_fuzz_revoke(data, size);
    api_fuzz_tokens(data, size);
    api_fuzz_ssh(data, size);
    api_fuzz_sshkey(data, size);
    hs_error_clear();
    return 0;
}
