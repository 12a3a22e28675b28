/*
 * svc_ssh: OpenSSH certificates (PROTOCOL.certkeys) from the token's SSH CA keys, their status
 * and revocation, and the KRL (PROTOCOL.krl) that revokes them.
 *
 * Issuance follows svc_issue: the caller's authorisation (svc_authz.ssh, the front end's
 * policy) decides the principals, lifetime, extensions and critical options; the newest CA key
 * of the certificate's type signs (C_Sign, verified by sgn_ssh_cert_sign); the certificate is
 * recorded in the inventory (kind ST_KIND_SSH) durably before it is answered; the audit line
 * "sign.ssh_cert.recorded" follows the record, or "sign.ssh_cert.discarded" when the record
 * could not be written (the certificate is then dropped, never handed out).
 *
 * Serials are random, 1..2^64-1, drawn from the inventory's one serial namespace (a serial
 * already recorded, of any kind, is refused by the store and another is drawn), so one is never
 * reused. The inventory spells them as st_ssh_serial_hex does; the API spells them in decimal,
 * as ssh-keygen -L prints them.
 */
#ifndef SVC_SSH_H
#define SVC_SSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"
#include "service/svc_ctx.h"
#include "service/svc_revoke.h"
#include "signer/sgn_ssh_cert.h"

#define SVC_SSH_BACKDATE_S 300    /* valid_after = now - 5 minutes (clock skew, issue 11) */
#define SVC_SSH_SERIAL_ATTEMPTS 4 /* serials drawn before giving up (a collision is ~2^-64) */
#define SVC_SSH_SERIAL_DEC_MAX 20 /* decimal digits of a uint64 */
#define SVC_SSH_KRL_FIRST_BATCH 1024

/* An SSH certificate request (POST /v1/ssh/certificates). Pointers are borrowed. */
struct svc_ssh_request {
    const char *public_key; /* an OpenSSH public key line (sgn_ssh_key_parse_line) */
    size_t public_key_len;  /* bytes */
    enum sgn_ssh_cert_type type;
    const char *principals[SGN_SSH_PRINCIPALS_MAX];
    size_t nprincipals;
    bool has_ttl;
    int64_t ttl_s;      /* seconds, when has_ttl */
    const char *key_id; /* NULL = "<caller> <SHA256 fingerprint>" */
    bool extensions_given;
    const char *extensions[SGN_SSH_EXTENSIONS_MAX];
    size_t nextensions;
    const char *force_command;  /* NULL = none asked for */
    const char *source_address; /* NULL = none asked for */
    time_t now;                 /* seconds since the epoch */
};

/* An issued certificate. */
struct svc_ssh_result {
    struct hs_buf *certificate; /* "<type>-cert-v01@openssh.com base64" (owned) */
    uint64_t serial;
    char key_id[SGN_SSH_KEY_ID_MAX + 1];
    time_t valid_after; /* seconds since the epoch */
    time_t valid_before;
};

/* Releases res->certificate and zeroes *res (NULL accepted). */
void svc_ssh_result_clear(struct svc_ssh_result *res);

/* Lends {"user_ca": [lines], "host_ca": [lines]}: the published CA keys as OpenSSH public-key
 * lines, newest first (NUL-terminated JSON, valid while ctx lives). Errors:
 * HS_ERR_INPUT_NOT_FOUND when no SSH CA is configured. */
HS_RESULT svc_ssh_ca_json(const struct svc_ctx *ctx, const char **out);

/* Issues a certificate for req->public_key (see above). Errors: HS_ERR_INPUT_NOT_FOUND (no CA
 * of the type is configured), HS_ERR_INPUT_KEY (the key line: DSA, RSA below 2048 bits, ...),
 * HS_ERR_INPUT_FIELD (a key_id that is not 1..SGN_SSH_KEY_ID_MAX printable ASCII bytes; a bad
 * principal, extension or option, from the authorisation or the signer), HS_ERR_INPUT_RANGE,
 * the authorisation's denial unchanged (HS_ERR_POLICY_DENIED), HS_ERR_HSM_* (C_Sign),
 * HS_ERR_STORE_UNAVAILABLE / HS_ERR_IO (the inventory: nothing was handed out), HS_ERR_STORE
 * (no free serial after SVC_SSH_SERIAL_ATTEMPTS draws). On success the caller clears *out with
 * svc_ssh_result_clear(); *out is written only on success. */
HS_RESULT svc_ssh_issue(struct svc_ctx *ctx, const struct svc_caller *caller,
                        const struct svc_ssh_request *req, struct svc_ssh_result *out);

/* The checks of svc_ssh_issue() that need no subject key: a CA of req->type is configured and
 * the caller's authorisation allows the request (req->public_key is not looked at). Used to
 * refuse an asynchronous key generation at once (svc_sshkey.h); svc_ssh_issue() asks again.
 * Errors: HS_ERR_INPUT_NOT_FOUND, HS_ERR_INPUT_RANGE, the authorisation's denial unchanged. */
HS_RESULT svc_ssh_authorize(struct svc_ctx *ctx, const struct svc_caller *caller,
                            const struct svc_ssh_request *req);

/* Reads the optional member "critical_options" of doc (a JSON request or job): an object with
 * only "force-command" and "source-address", each a string of 1..SGN_SSH_OPTION_VALUE_MAX bytes
 * without NUL, into r->force_command / r->source_address (pointing into doc). Errors:
 * HS_ERR_INPUT_FIELD, HS_ERR_INPUT_TOO_LARGE, naming the member. */
HS_RESULT svc_ssh_options_decode(json_object *doc, struct svc_ssh_request *r);

/* Reads a decimal serial (n bytes, not NUL-terminated): 1..20 digits, no leading zero,
 * 1..UINT64_MAX. Errors: HS_ERR_INPUT_FIELD. */
HS_RESULT svc_ssh_serial_parse(const char *s, size_t n, uint64_t *out);

/* One SSH certificate's record and what it means now, with its fingerprints
 * ("SHA256:" + unpadded base64, as ssh-keygen -l prints them). */
struct svc_ssh_status {
    struct svc_cert_status st;
    uint64_t serial;
    char key_fingerprint[SGN_SSH_FINGERPRINT_LEN + 1];
    char ca_fingerprint[SGN_SSH_FINGERPRINT_LEN + 1];
};

/* The status of SSH certificate serial at now, as svc_cert_status_get() (the requester or an
 * admin; a serial that is not recorded, not an SSH certificate or not the caller's to see
 * fails alike with HS_ERR_INPUT_NOT_FOUND). Errors: as there; HS_ERR_INPUT_NOT_FOUND also when
 * SSH is not configured. */
HS_RESULT svc_ssh_status_get(struct svc_ctx *ctx, const struct svc_caller *caller, uint64_t serial,
                             time_t now, struct svc_ssh_status *out);

/* The SSH view of st, a status svc_cert_list() listed (an SSH record): the serial as a number
 * and the OpenSSH fingerprints of the certified key and the CA key. Errors: HS_ERR_INPUT_FIELD
 * (not an SSH record), HS_ERR_IO (a stored serial that is not a uint64). */
HS_RESULT svc_ssh_status_of(const struct svc_cert_status *st, struct svc_ssh_status *out);

/* Revokes SSH certificate serial (reason: as svc_revoke_request, only recorded: a KRL has no
 * reasons) and returns its status afterwards; the next KRL lists it. Errors: as
 * svc_ssh_status_get() and svc_cert_revoke(). */
HS_RESULT svc_ssh_revoke(struct svc_ctx *ctx, const struct svc_caller *caller, uint64_t serial,
                         const char *reason, time_t now, struct svc_ssh_status *out);

/* Returns a copy of the current KRL in *out: one KRL_SECTION_CERTIFICATES per published CA key
 * (user and host) with its revoked, unexpired serials; krl_version from the inventory's durable
 * counter (next_crl_number), so it grows across restarts and instances; generated_date = the
 * time it was built. It is rebuilt when the inventory's revocation generation has moved or when
 * it is ssh_krl_validity_s old. A revoked certificate recorded without its CA (all-zero issuer)
 * is listed under every CA key: serials are one namespace, so that revokes nothing else.
 * Public: needs no caller. Thread-safe; one regeneration at a time. Errors:
 * HS_ERR_INPUT_NOT_FOUND (SSH not configured), HS_ERR_IO / HS_ERR_STORE_UNAVAILABLE (the
 * inventory), HS_ERR_INPUT_* / HS_ERR_BOUNDS from sgn_krl_write, HS_ERR_NOMEM. The caller
 * frees *out with hs_buf_free(). */
HS_RESULT svc_ssh_krl_get(struct svc_ctx *ctx, time_t now, struct hs_buf **out);

#endif /* SVC_SSH_H */
