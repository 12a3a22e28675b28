/*
 * api_body: the request bodies of the POST routes (docs/api.md), decoded from JSON into the
 * service's request structs. Transport decoding only: the keys each body may have, their JSON
 * types and byte limits; what the values mean (a known profile, a lifetime within the
 * configured maximum, an acceptable CSR or revocation reason) the service checks.
 *
 *   POST /v1/certificates                  {"csr": PEM, "profile": name, "ttl_hours": int}
 *   POST /v1/certificates/{serial}/revoke  {"reason": RFC 5280 name}   (the body may be empty)
 *   POST /v1/tokens                        {"audience": string, "ttl_seconds": int, "alg": JWS alg,
 *                                           "profile": token profile name}  (audience required
 *                                           unless profile is given)
 *   POST /v1/ssh/certificates              {"public_key": OpenSSH line, "cert_type": "user" | "host",
 *                                           "principals": [string], "ttl_seconds": int,
 *                                           "key_id": string, "critical_options":
 *                                           {"force-command": string, "source-address": string},
 *                                           "extensions": [string]}
 *   POST /v1/ssh/certificates/{serial}/revoke  as the X.509 revocation
 *   POST /v1/ssh/keys                      {"key_type": "ed25519" | "rsa-2048" | "rsa-4096",
 *                                           "recipient": base64 X25519 public key, and the
 *                                           members of POST /v1/ssh/certificates but public_key}
 *
 * Each decoder parses body (body_len bytes, at most API_BODY_MAX, not NUL-terminated) as one
 * JSON object (depth at most API_BODY_DEPTH) and puts the parsed document in *doc: the strings of
 * *out point into it, and the caller releases it with json_object_put() (also on failure; it may
 * be NULL). Errors: HS_ERR_INPUT_TOO_LARGE (body or a field over its limit), HS_ERR_INPUT_JSON
 * (not a JSON object), HS_ERR_INPUT_FIELD (a missing, unknown or wrongly typed field; the detail
 * names it). The request's time (now) is left 0 for the caller to set. Pure functions of their
 * input: no token, no config.
 */
#ifndef API_BODY_H
#define API_BODY_H

#include <stddef.h>

#include <json-c/json.h>

#include "common/hs_err.h"
#include "service/svc_issue.h"
#include "service/svc_revoke.h"
#include "service/svc_ssh.h"
#include "service/svc_token.h"

#define API_BODY_MAX (64 * 1024) /* bytes of a request body */
#define API_BODY_DEPTH 8         /* nesting of a request body */

HS_RESULT api_cert_request_decode(const unsigned char *body, size_t body_len, json_object **doc,
                                  struct svc_cert_request *out);

/* The serial is not in the body: out->serial is left NULL. An empty body (body_len 0) is a
 * revocation without a reason. */
HS_RESULT api_revoke_request_decode(const unsigned char *body, size_t body_len, json_object **doc,
                                    struct svc_revoke_request *out);

HS_RESULT api_token_request_decode(const unsigned char *body, size_t body_len, json_object **doc,
                                   struct svc_token_request *out);

/* "public_key" (at most SGN_SSH_LINE_MAX bytes), "cert_type" and "principals" are required;
 * principals are 0..SGN_SSH_PRINCIPALS_MAX strings of at most SGN_SSH_PRINCIPAL_MAX bytes (an
 * empty list is decoded, and refused by the service's checks), extensions 0..
 * SGN_SSH_EXTENSIONS_MAX strings of at most SGN_SSH_EXTENSION_NAME_MAX bytes (out->
 * extensions_given says whether the member was there), "key_id" at most SGN_SSH_KEY_ID_MAX
 * bytes, each critical option's value at most SGN_SSH_OPTION_VALUE_MAX bytes. A string holding
 * a NUL byte is refused. */
HS_RESULT api_ssh_request_decode(const unsigned char *body, size_t body_len, json_object **doc,
                                 struct svc_ssh_request *out);

#define API_SSHKEY_TYPE_MAX 16      /* bytes of "key_type" */
#define API_SSHKEY_RECIPIENT_MAX 64 /* bytes of "recipient" (base64 of 32 bytes is 44) */

/* A server-side key generation (POST /v1/ssh/keys); strings point into the decoded document. */
struct api_sshkey_request {
    const char *key_type;       /* required; its value is the service's to check */
    const char *recipient;      /* NULL = none; its value is the service's to check */
    struct svc_ssh_request req; /* public_key NULL */
};

/* "key_type" (at most API_SSHKEY_TYPE_MAX bytes), "cert_type" and "principals" are required;
 * "recipient" at most API_SSHKEY_RECIPIENT_MAX bytes; the rest as api_ssh_request_decode(). */
HS_RESULT api_sshkey_request_decode(const unsigned char *body, size_t body_len, json_object **doc,
                                    struct api_sshkey_request *out);

#endif /* API_BODY_H */
