/*
 * ssh-ca: SSH certificate authority keys born in the token (issue 11; docs/ceremony.md "SSH CA
 * keys", docs/ssh.md). A user CA key (what sshd trusts through TrustedUserCAKeys) and a host CA
 * key (what clients trust through "@cert-authority" lines in known_hosts), each generated with
 * the protections of every ceremony key (kc_key_create) after the token was checked to offer the
 * mechanism its SSH signatures need (Ed25519: CKM_EDDSA; ECDSA: CKM_ECDSA; RSA: rsa-sha2-512,
 * CKM_SHA512_RSA_PKCS) and that neither label is taken, so a refusal leaves no half-made pair.
 * Each new key signs a throwaway certificate through sgn_ssh_cert_sign, verified with its public
 * key. Rotation: a run with new labels adds keys; nothing is overwritten; export publishes the
 * keys it lists, newest first.
 *
 * Also the SSH halves of export (ssh_user_ca.pub, ssh_host_ca.pub, ssh_known_hosts) and verify
 * (every published line is a protected key on the token, under the label its comment names).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_file.h"
#include "keyceremony/internal.h"
#include "pkcs11/p11_sign.h"
#include "signer/sgn_ssh_cert.h"
#include "signer/sgn_ssh_key.h"

#define KC_SSH_VERIFY_KEYS_MAX 64 /* CA lines in one published file that verify reads */
/* One published line: a key line and, for known_hosts, the marker and the host patterns. */
#define KC_SSH_KNOWN_HOSTS_LINE_MAX                                                                \
    (SGN_SSH_LINE_MAX + KC_SSH_HOST_PATTERNS_MAX * (KC_SSH_HOST_PATTERN_MAX + 1) + 32)

/* The signature an SSH CA of this key type makes (sgn_ssh_cert.h). */
static enum p11_sig_alg kc_ssh_sig_alg(enum p11_key_type type)
{
    switch (type) {
    case P11_KEY_ED25519:
        return P11_SIG_EDDSA;
    case P11_KEY_EC_P256:
        return P11_SIG_ECDSA_SHA256;
    case P11_KEY_EC_P384:
        return P11_SIG_ECDSA_SHA384;
    case P11_KEY_RSA:
    default:
        return P11_SIG_RSA_PKCS1_SHA512;
    }
}

static const char *kc_ssh_sig_text(enum p11_key_type type)
{
    switch (type) {
    case P11_KEY_ED25519:
        return "CKM_EDDSA, SSH signature ssh-ed25519";
    case P11_KEY_EC_P256:
        return "CKM_ECDSA, SSH signature ecdsa-sha2-nistp256";
    case P11_KEY_EC_P384:
        return "CKM_ECDSA, SSH signature ecdsa-sha2-nistp384";
    case P11_KEY_RSA:
    default:
        return "CKM_SHA512_RSA_PKCS, SSH signature rsa-sha2-512";
    }
}

/* --- ssh-ca ------------------------------------------------------------------------------- */

/* Before any key is made: the token signs as this CA will, and no key has its label. */
static HS_RESULT kc_ssh_ca_precheck(struct kc_session *s, const char *field,
                                    const struct kc_ssh_ca *ca)
{
    if (!ca->present) {
        return HS_OK;
    }
    hs_result r =
        p11_sign_check(s->pool, ca->key.type, ca->key.rsa_bits, kc_ssh_sig_alg(ca->key.type));
    if (hs_failed(r) && ca->key.type == P11_KEY_ED25519) {
        /* The detail holds 200 bytes: the mechanism error, this hint and the field fit. */
        hs_error_add_detail("%s.type Ed25519 needs CKM_EDDSA (CloudHSM: hsm2m non-FIPS only); use "
                            "EC-P384 or RSA-3072",
                            field);
    }
    HS_GUARD(hs_error_context(r, field));
    struct p11_key *existing = NULL;
    hs_result found = p11_key_find(s->pool, ca->key.label, &existing);
    p11_key_free(existing);
    HS_ENSURE_MSG(hs_failed(found), HS_ERR_INPUT_EXISTS,
                  "%s.label: a key labelled \"%s\" already exists on the token; a rotation adds "
                  "a key under a new label",
                  field, ca->key.label);
    /* Not found is the good case; any other failure (the token's) is the step's. */
    HS_GUARD(found.code == HS_ERR_HSM_KEY_NOT_FOUND ? HS_OK : found);
    hs_error_clear();
    return HS_OK;
}

/* The new CA signs a throwaway certificate for its own key (the SSH signature path end to end,
 * verified with its public key inside sgn_ssh_cert_sign); the certificate is dropped. */
static HS_RESULT kc_ssh_ca_selftest(const struct sgn_ssh_ca *ca)
{
    static const char *const principals[] = {"keyceremony-self-test"};
    uint64_t now = (uint64_t)time(NULL);
    struct sgn_ssh_cert_request req = {
        .subject = sgn_ssh_ca_get0_key(ca),
        .serial = 1,
        .type = SGN_SSH_CERT_USER,
        .key_id = "keyceremony self-test",
        .principals = principals,
        .n_principals = 1,
        .valid_after = now,
        .valid_before = now + 1,
        .requester = "keyceremony",
    };
    HS_DEFER(struct hs_buf *cert = hs_buf_new(SGN_SSH_CERT_MAX), hs_buf_freep);
    HS_ENSURE(cert != NULL, HS_ERR_NOMEM);
    return sgn_ssh_cert_sign(ca, &req, cert);
}

/* Appends the CA's line, "type base64 label", and a newline. */
static HS_RESULT kc_ssh_ca_line(const struct sgn_ssh_ca *ca, const struct p11_key *key,
                                struct hs_buf *out)
{
    HS_GUARD(sgn_ssh_key_to_line(sgn_ssh_ca_get0_key(ca), p11_key_label(key), out));
    return hs_buf_put_byte(out, '\n');
}

static HS_RESULT kc_ssh_ca_create(const struct kc_config *cfg, struct kc_session *s,
                                  const char *kind, const struct kc_ssh_ca *spec)
{
    if (!spec->present) {
        return HS_OK;
    }
    HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
    HS_GUARD(kc_key_create(s, &spec->key, &key));
    HS_DEFER(struct sgn_ssh_ca *ca = NULL, sgn_ssh_ca_freep);
    HS_GUARD(sgn_ssh_ca_new(key, &ca));
    HS_GUARD(kc_ssh_ca_selftest(ca));
    char fp[SGN_SSH_FINGERPRINT_LEN + 1];
    HS_GUARD(sgn_ssh_key_fingerprint(sgn_ssh_ca_get0_key(ca), fp));
    HS_GUARD(kc_transcript(
        cfg, s,
        &(struct kc_record){
            .key = key, .ssh_ca = kind, .ssh_fingerprint = fp, .event = "SSH CA key generated"}));
    printf("SSH %s CA key \"%s\" (%s): %s\n", kind, spec->key.label, kc_key_type_name(&spec->key),
           fp);
    if (spec->output == NULL) {
        return HS_OK;
    }
    HS_DEFER(struct hs_buf *line = hs_buf_new(SGN_SSH_LINE_MAX + 1), hs_buf_freep);
    HS_ENSURE(line != NULL, HS_ERR_NOMEM);
    HS_GUARD(kc_ssh_ca_line(ca, key, line));
    HS_GUARD(hs_file_write_new(spec->output, hs_buf_data(line), hs_buf_len(line), 0644));
    return kc_transcript(cfg, s,
                         &(struct kc_record){.key = key,
                                             .ssh_ca = kind,
                                             .ssh_fingerprint = fp,
                                             .output = spec->output,
                                             .event = "SSH CA public key written"});
}

static void kc_ssh_ca_plan(const struct kc_config *cfg, const char *kind,
                           const struct kc_ssh_ca *ca)
{
    if (!ca->present) {
        return;
    }
    kc_plan_line("SSH %s CA key:", kind);
    kc_plan_keygen(cfg, &ca->key);
    kc_plan_line("  the token must offer %s%s", kc_ssh_sig_text(ca->key.type),
                 ca->key.type == P11_KEY_ED25519
                     ? " (CloudHSM: only hsm2m in non-FIPS mode; refused before any key is made)"
                     : "");
    kc_plan_line("  the new key signs a throwaway SSH certificate, verified with its public key");
    if (ca->output != NULL) {
        kc_plan_line("  write its OpenSSH public-key line to %s (new file, 0644)", ca->output);
    }
}

HS_RESULT kc_plan_ssh_ca(const struct kc_config *cfg)
{
    kc_ssh_ca_plan(cfg, "user", &cfg->ssh_user_ca);
    kc_ssh_ca_plan(cfg, "host", &cfg->ssh_host_ca);
    kc_plan_line("both keys' mechanisms and labels are checked before either key is generated");
    kc_plan_line("the transcript records each key's label, CKA_ID, spki_sha256 and SSH SHA256 "
                 "fingerprint");
    kc_plan_line("publish with keyceremony export (its \"ssh\" block lists the CA keys, newest "
                 "first)");
    return HS_OK;
}

HS_RESULT kc_run_ssh_ca(const struct kc_config *cfg)
{
    HS_DEFER(struct kc_session s = {0}, kc_session_close);
    HS_GUARD(kc_session_open(&cfg->token, &s));
    HS_GUARD(kc_ssh_ca_precheck(&s, "user_ca", &cfg->ssh_user_ca));
    HS_GUARD(kc_ssh_ca_precheck(&s, "host_ca", &cfg->ssh_host_ca));
    HS_GUARD(kc_ssh_ca_create(cfg, &s, "user", &cfg->ssh_user_ca));
    return kc_ssh_ca_create(cfg, &s, "host", &cfg->ssh_host_ca);
}

/* --- export -------------------------------------------------------------------------------- */

/* The fingerprints of the keys seen so far: one key is published once, in one role. */
struct kc_ssh_seen {
    char fps[2 * KC_SSH_VERIFY_KEYS_MAX][SGN_SSH_FINGERPRINT_LEN + 1];
    size_t n;
};

static bool kc_ssh_seen_has(const struct kc_ssh_seen *seen, const char *fp)
{
    for (size_t i = 0; i < seen->n; i++) {
        if (strcmp(seen->fps[i], fp) == 0) {
            return true;
        }
    }
    return false;
}

static HS_RESULT kc_ssh_seen_add(struct kc_ssh_seen *seen, const char *fp, const char *what)
{
    HS_ENSURE_MSG(!kc_ssh_seen_has(seen, fp), HS_ERR_INPUT_CONFIG,
                  "%s: key %s is listed twice (once per file and role)", what, fp);
    HS_ENSURE_MSG(seen->n < sizeof(seen->fps) / sizeof(seen->fps[0]), HS_ERR_INPUT_RANGE,
                  "%s: too many keys", what);
    memcpy(seen->fps[seen->n++], fp, SGN_SSH_FINGERPRINT_LEN + 1);
    return HS_OK;
}

/* One listed CA key: on the token, protected, able to sign as an SSH CA; its line appended to
 * ca_lines and, when known_lines is given, its @cert-authority line to known_lines. */
static HS_RESULT kc_ssh_export_key(struct kc_session *s, const char *ref,
                                   const struct kc_ssh_export *e, struct kc_ssh_seen *seen,
                                   struct hs_buf *ca_lines, struct hs_buf *known_lines)
{
    HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
    HS_GUARD(p11_key_find(s->pool, ref, &key));
    HS_GUARD(p11_key_check_protected(key));
    HS_DEFER(struct sgn_ssh_ca *ca = NULL, sgn_ssh_ca_freep);
    HS_GUARD(sgn_ssh_ca_new(key, &ca));
    char fp[SGN_SSH_FINGERPRINT_LEN + 1];
    HS_GUARD(sgn_ssh_key_fingerprint(sgn_ssh_ca_get0_key(ca), fp));
    HS_GUARD(kc_ssh_seen_add(seen, fp, ref));
    HS_GUARD(kc_ssh_ca_line(ca, key, ca_lines));
    if (known_lines != NULL) {
        HS_GUARD(hs_buf_put_str(known_lines, "@cert-authority "));
        for (size_t i = 0; i < e->n_host_patterns; i++) {
            HS_GUARD(hs_buf_put_str(known_lines, i > 0 ? "," : ""));
            HS_GUARD(hs_buf_put_str(known_lines, e->host_patterns[i]));
        }
        HS_GUARD(hs_buf_put_byte(known_lines, ' '));
        HS_GUARD(kc_ssh_ca_line(ca, key, known_lines));
    }
    printf("SSH CA key \"%s\" (%s): %s\n", p11_key_label(key), p11_key_type_name(p11_key_type(key)),
           fp);
    return HS_OK;
}

static HS_RESULT kc_ssh_export_keys(struct kc_session *s, const char *field,
                                    const char *const *refs, size_t n,
                                    const struct kc_ssh_export *e, struct kc_ssh_seen *seen,
                                    struct hs_buf *ca_lines, struct hs_buf *known_lines)
{
    for (size_t i = 0; i < n; i++) {
        HS_GUARD(
            hs_error_context(kc_ssh_export_key(s, refs[i], e, seen, ca_lines, known_lines), field));
    }
    return HS_OK;
}

HS_RESULT kc_ssh_export(const struct kc_config *cfg, struct kc_session *s)
{
    const struct kc_ssh_export *e = &cfg->ssh_export;
    HS_DEFER(struct hs_buf *user_lines = hs_buf_new(KC_SSH_CA_KEYS_MAX * (SGN_SSH_LINE_MAX + 1)),
             hs_buf_freep);
    HS_DEFER(struct hs_buf *host_lines = hs_buf_new(KC_SSH_CA_KEYS_MAX * (SGN_SSH_LINE_MAX + 1)),
             hs_buf_freep);
    HS_DEFER(struct hs_buf *known_lines =
                 hs_buf_new(KC_SSH_CA_KEYS_MAX * KC_SSH_KNOWN_HOSTS_LINE_MAX),
             hs_buf_freep);
    HS_ENSURE(user_lines != NULL && host_lines != NULL && known_lines != NULL, HS_ERR_NOMEM);
    struct kc_ssh_seen seen = {0};
    /* Every key is checked and every file rendered before the first file is written. */
    HS_GUARD(kc_ssh_export_keys(s, "ssh.user_ca_keys", e->user_ca_keys, e->n_user_ca_keys, e, &seen,
                                user_lines, NULL));
    HS_GUARD(kc_ssh_export_keys(s, "ssh.host_ca_keys", e->host_ca_keys, e->n_host_ca_keys, e, &seen,
                                host_lines, known_lines));
    HS_GUARD(hs_file_write_new(e->user_ca_output, hs_buf_data(user_lines), hs_buf_len(user_lines),
                               0644));
    HS_GUARD(kc_transcript(
        cfg, s,
        &(struct kc_record){.output = e->user_ca_output, .event = "SSH user CA keys written"}));
    HS_GUARD(hs_file_write_new(e->host_ca_output, hs_buf_data(host_lines), hs_buf_len(host_lines),
                               0644));
    HS_GUARD(kc_transcript(
        cfg, s,
        &(struct kc_record){.output = e->host_ca_output, .event = "SSH host CA keys written"}));
    HS_GUARD(hs_file_write_new(e->known_hosts_output, hs_buf_data(known_lines),
                               hs_buf_len(known_lines), 0644));
    return kc_transcript(
        cfg, s,
        &(struct kc_record){.output = e->known_hosts_output, .event = "SSH known_hosts written"});
}

static void kc_ssh_plan_refs(const char *what, const char *const *refs, size_t n, const char *label)
{
    for (size_t i = 0; i < n; i++) {
        kc_plan_line("  %s %zu: %s (must be a protected key on token \"%s\")%s", what, i + 1,
                     refs[i], label, i == 0 ? ", the newest: it signs" : "");
    }
}

void kc_ssh_plan_export(const struct kc_config *cfg)
{
    const struct kc_ssh_export *e = &cfg->ssh_export;
    kc_plan_line("write %s (new file, 0644): one OpenSSH line per user CA key, in this order:",
                 e->user_ca_output);
    kc_ssh_plan_refs("user CA key", e->user_ca_keys, e->n_user_ca_keys, cfg->token.label);
    kc_plan_line("write %s (new file, 0644): one OpenSSH line per host CA key, in this order:",
                 e->host_ca_output);
    kc_ssh_plan_refs("host CA key", e->host_ca_keys, e->n_host_ca_keys, cfg->token.label);
    kc_plan_line("write %s (new file, 0644): \"@cert-authority <patterns> <host CA line>\" per "
                 "host CA key, for the host patterns:",
                 e->known_hosts_output);
    for (size_t i = 0; i < e->n_host_patterns; i++) {
        kc_plan_line("  %s", e->host_patterns[i]);
    }
    kc_plan_line("every key is checked before the first file is written; a key listed twice is "
                 "refused");
}

/* --- verify -------------------------------------------------------------------------------- */

/* A line's comment: what follows the key type and the base64 blob (NUL-terminated into out;
 * "" when none). */
static void kc_ssh_line_comment(const char *line, size_t len, char *out, size_t max)
{
    size_t i = 0;
    for (int field = 0; field < 2; field++) {
        while (i < len && line[i] != ' ' && line[i] != '\t') {
            i++;
        }
        while (i < len && (line[i] == ' ' || line[i] == '\t')) {
            i++;
        }
    }
    size_t n = len - i;
    while (n > 0 && (line[i + n - 1] == '\r' || line[i + n - 1] == ' ')) {
        n--;
    }
    n = n < max - 1 ? n : max - 1;
    memcpy(out, line + i, n);
    out[n] = '\0';
}

/* One published CA line: its key is a protected key on the token that can sign as an SSH CA,
 * and the line's comment is that key's label. */
static HS_RESULT kc_ssh_verify_line(struct kc_session *s, const char *line, size_t len,
                                    const char *what, struct kc_ssh_seen *seen)
{
    HS_DEFER(struct sgn_ssh_key *pub = NULL, sgn_ssh_key_freep);
    HS_GUARD(sgn_ssh_key_parse_line(line, len, &pub));
    char fp[SGN_SSH_FINGERPRINT_LEN + 1];
    HS_GUARD(sgn_ssh_key_fingerprint(pub, fp));
    HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
    HS_GUARD(
        hs_error_context(p11_key_find_by_public(s->pool, sgn_ssh_key_get0_pkey(pub), &key), fp));
    HS_GUARD(p11_key_check_protected(key));
    HS_DEFER(struct sgn_ssh_ca *ca = NULL, sgn_ssh_ca_freep);
    HS_GUARD(sgn_ssh_ca_new(key, &ca));
    char comment[SGN_SSH_LINE_MAX + 1]; /* len <= SGN_SSH_LINE_MAX: the parser checked it */
    kc_ssh_line_comment(line, len, comment, sizeof(comment));
    HS_ENSURE_MSG(strcmp(comment, p11_key_label(key)) == 0, HS_ERR_INPUT_CONFIG,
                  "%s: the line of %s names \"%s\" but the token's key is labelled \"%s\"", what,
                  fp, comment, p11_key_label(key));
    HS_GUARD(kc_ssh_seen_add(seen, fp, what));
    printf("ok  %s: %s is key \"%s\" (%s), sensitive and never extractable\n", what, fp,
           p11_key_label(key), p11_key_type_name(p11_key_type(key)));
    return HS_OK;
}

static bool kc_ssh_skip_line(const unsigned char *p, size_t n)
{
    return n == 0 || p[0] == '#' || (n == 1 && p[0] == '\r');
}

/* Every line of a published CA file (blank lines and # comments skipped; at least one key). */
static HS_RESULT kc_ssh_verify_file(struct kc_session *s, const char *what, const char *path,
                                    struct kc_ssh_seen *seen)
{
    HS_DEFER(struct hs_buf *text = NULL, hs_buf_freep);
    HS_GUARD(hs_file_read(path, KC_SSH_PUB_FILE_MAX, &text));
    struct hs_cursor c;
    hs_cursor_init(&c, hs_buf_data(text), hs_buf_len(text));
    size_t keys = 0;
    while (hs_cursor_remaining(&c) > 0) {
        const unsigned char *p = NULL;
        size_t n = 0;
        hs_cursor_get_until(&c, '\n', &p, &n);
        if (kc_ssh_skip_line(p, n)) {
            continue;
        }
        HS_ENSURE_MSG(keys < KC_SSH_VERIFY_KEYS_MAX, HS_ERR_INPUT_RANGE,
                      "%s: more than %d keys in %s", what, KC_SSH_VERIFY_KEYS_MAX, path);
        keys++;
        HS_GUARD(hs_error_context(kc_ssh_verify_line(s, (const char *)p, n, what, seen), path));
    }
    HS_ENSURE_MSG(keys > 0, HS_ERR_INPUT_CONFIG, "%s: %s holds no key", what, path);
    printf("ok  %s: %zu key%s in %s, newest first\n", what, keys, keys == 1 ? "" : "s", path);
    return HS_OK;
}

/* One known_hosts line: "@cert-authority PATTERNS LINE" with a key of the host CA file. */
static HS_RESULT kc_ssh_verify_known_host(const unsigned char *p, size_t n,
                                          const struct kc_ssh_seen *hosts, struct kc_ssh_seen *used)
{
    static const char marker[] = "@cert-authority ";
    HS_ENSURE_MSG(n > sizeof(marker) - 1 && memcmp(p, marker, sizeof(marker) - 1) == 0,
                  HS_ERR_INPUT_CONFIG, "a line is not an @cert-authority line");
    size_t i = sizeof(marker) - 1;
    while (i < n && p[i] != ' ') {
        i++;
    }
    HS_ENSURE_MSG(i < n, HS_ERR_INPUT_CONFIG, "an @cert-authority line has no key");
    HS_DEFER(struct sgn_ssh_key *pub = NULL, sgn_ssh_key_freep);
    HS_GUARD(sgn_ssh_key_parse_line((const char *)p + i + 1, n - i - 1, &pub));
    char fp[SGN_SSH_FINGERPRINT_LEN + 1];
    HS_GUARD(sgn_ssh_key_fingerprint(pub, fp));
    HS_ENSURE_MSG(kc_ssh_seen_has(hosts, fp), HS_ERR_INPUT_CONFIG,
                  "@cert-authority key %s is not a key of the host CA file", fp);
    if (!kc_ssh_seen_has(used, fp)) {
        HS_GUARD(kc_ssh_seen_add(used, fp, "known_hosts"));
    }
    return HS_OK;
}

static HS_RESULT kc_ssh_verify_known_hosts(const char *path, const struct kc_ssh_seen *hosts)
{
    HS_DEFER(struct hs_buf *text = NULL, hs_buf_freep);
    HS_GUARD(hs_file_read(path, KC_SSH_PUB_FILE_MAX, &text));
    struct kc_ssh_seen used = {0};
    struct hs_cursor c;
    hs_cursor_init(&c, hs_buf_data(text), hs_buf_len(text));
    while (hs_cursor_remaining(&c) > 0) {
        const unsigned char *p = NULL;
        size_t n = 0;
        hs_cursor_get_until(&c, '\n', &p, &n);
        if (!kc_ssh_skip_line(p, n)) {
            HS_GUARD(hs_error_context(kc_ssh_verify_known_host(p, n, hosts, &used), path));
        }
    }
    HS_ENSURE_MSG(used.n == hosts->n, HS_ERR_INPUT_CONFIG, "%s trusts %zu of the %zu host CA keys",
                  path, used.n, hosts->n);
    printf("ok  known_hosts: %s trusts every host CA key through @cert-authority\n", path);
    return HS_OK;
}

HS_RESULT kc_ssh_verify(const struct kc_config *cfg, struct kc_session *s)
{
    struct kc_ssh_seen seen = {0};
    struct kc_ssh_seen hosts = {0};
    if (cfg->ssh_user_ca_file != NULL) {
        HS_GUARD(kc_ssh_verify_file(s, "ssh user_ca", cfg->ssh_user_ca_file, &seen));
    }
    if (cfg->ssh_host_ca_file == NULL) {
        return HS_OK;
    }
    size_t before = seen.n;
    HS_GUARD(kc_ssh_verify_file(s, "ssh host_ca", cfg->ssh_host_ca_file, &seen));
    for (size_t i = before; i < seen.n; i++) {
        HS_GUARD(kc_ssh_seen_add(&hosts, seen.fps[i], "ssh host_ca"));
    }
    if (cfg->ssh_known_hosts_file != NULL) {
        HS_GUARD(kc_ssh_verify_known_hosts(cfg->ssh_known_hosts_file, &hosts));
    }
    return HS_OK;
}

void kc_ssh_plan_verify(const struct kc_config *cfg)
{
    const char *files[] = {cfg->ssh_user_ca_file, cfg->ssh_host_ca_file};
    for (size_t i = 0; i < 2; i++) {
        if (files[i] != NULL) {
            kc_plan_line("for every line of %s: find its key on token \"%s\" by public key, check "
                         "its protection and SSH signing mechanism, and that the line's comment is "
                         "its label; no key twice",
                         files[i], cfg->token.label);
        }
    }
    if (cfg->ssh_known_hosts_file != NULL) {
        kc_plan_line("check that every line of %s is \"@cert-authority\" with a key of %s, and "
                     "that every host CA key is there",
                     cfg->ssh_known_hosts_file, cfg->ssh_host_ca_file);
    }
}
