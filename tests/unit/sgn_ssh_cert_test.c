/*
 * sgn_ssh_cert and sgn_krl against the real OpenSSH tools, with CA keys in the SoftHSM2 fixture
 * token (Ed25519 where the token offers CKM_EDDSA, P-256, P-384, RSA-3072): user and host
 * certificates for subject keys made by ssh-keygen (ed25519, ecdsa 256/384/521, rsa 2048/4096)
 * and for sk- keys built from their fields show exactly the requested fields in
 * `ssh-keygen -L` (which also checks the signature); Python `cryptography` verifies every
 * signature and refuses a flipped byte (sgn_ssh_cert_check.py); a KRL makes `ssh-keygen -Q`
 * answer REVOKED for a revoked serial and ok for the others; bad requests are refused and
 * leave the output untouched. Needs ssh-keygen and python3-cryptography (scripts/deps.sh).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/hs_defer.h"
#include "pkcs11/p11_key.h"
#include "pkcs11/p11_pool.h"
#include "pkcs11/p11_sign.h"
#include "signer/sgn_krl.h"
#include "signer/sgn_ssh_cert.h"
#include "signer/sgn_ssh_key.h"
#include "signer/sgn_ssh_wire.h"
#include "tests/testlib/hs_test.h"
#include "tests/testlib/hs_test_p11.h"
#include "tests/unit/sgn_ssh_run.h"

#define TEXT_MAX 16384
#define CAS_MAX 4
#define SUBJECTS_MAX 8
#define CERTS_MAX 96

static struct p11_module *module;
static struct p11_pool *pool;
static char dir[256];
static const char *repo;

struct test_ca {
    const char *name;
    enum p11_key_type type;
    unsigned int bits;
    const char *key_name; /* as ssh-keygen -L names the CA key type */
    const char *sig_name;
    struct p11_key *key;
    struct sgn_ssh_ca *ca;
};

static struct test_ca cas[CAS_MAX] = {
    {"ed25519", P11_KEY_ED25519, 0, "ED25519", "ssh-ed25519", NULL, NULL},
    {"p256", P11_KEY_EC_P256, 0, "ECDSA", "ecdsa-sha2-nistp256", NULL, NULL},
    {"p384", P11_KEY_EC_P384, 0, "ECDSA", "ecdsa-sha2-nistp384", NULL, NULL},
    {"rsa3072", P11_KEY_RSA, 3072, "RSA", "rsa-sha2-512", NULL, NULL},
};

struct test_subject {
    const char *name;
    const char *type; /* ssh-keygen -t, or NULL for an sk- key built from `from` */
    unsigned int bits;
    const char *sk_type;
    const char *from;
    struct sgn_ssh_key *key;
};

static struct test_subject subjects[SUBJECTS_MAX] = {
    {"ed25519", "ed25519", 256, NULL, NULL, NULL},
    {"ecdsa256", "ecdsa", 256, NULL, NULL, NULL},
    {"ecdsa384", "ecdsa", 384, NULL, NULL, NULL},
    {"ecdsa521", "ecdsa", 521, NULL, NULL, NULL},
    {"rsa2048", "rsa", 2048, NULL, NULL, NULL},
    {"rsa4096", "rsa", 4096, NULL, NULL, NULL},
    {"sk-ed25519", NULL, 0, "sk-ssh-ed25519@openssh.com", "ed25519", NULL},
    {"sk-ecdsa", NULL, 0, "sk-ecdsa-sha2-nistp256@openssh.com", "ecdsa256", NULL},
};

static char cert_paths[CERTS_MAX][512];
static size_t n_cert_paths;

static int read_line(const char *path, char *out, size_t out_len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    char *got = fgets(out, (int)out_len, f);
    if (fclose(f) != 0 || got == NULL) {
        return -1;
    }
    out[strcspn(out, "\n")] = '\0';
    return 0;
}

static int write_bytes(const char *path, const void *p, size_t n, bool newline)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        return -1;
    }
    int ok = fwrite(p, 1, n, f) == n && (!newline || fputc('\n', f) != EOF);
    return fclose(f) == 0 && ok ? 0 : -1;
}

static bool contains(const char *text, const char *want)
{
    if (strstr(text, want) != NULL) {
        return true;
    }
    fprintf(stderr, "  expected \"%s\" in:\n%s\n", want, text);
    return false;
}

/* --- fixtures ------------------------------------------------------------------------------- */

static struct sgn_ssh_key *subject_from_sk(const struct test_subject *s)
{
    const struct sgn_ssh_key *from = NULL;
    for (size_t i = 0; i < SUBJECTS_MAX; i++) {
        if (subjects[i].key != NULL && strcmp(subjects[i].name, s->from) == 0) {
            from = subjects[i].key;
        }
    }
    if (from == NULL) {
        return NULL;
    }
    size_t n = 0;
    const unsigned char *blob = sgn_ssh_key_blob(from, &n);
    struct hs_cursor c;
    hs_cursor_init(&c, blob, n);
    const unsigned char *name = NULL;
    size_t name_len = 0;
    HS_DEFER(struct hs_buf *sk = hs_buf_new(SGN_SSH_KEY_BLOB_MAX), hs_buf_freep);
    struct sgn_ssh_key *out = NULL;
    if (sk == NULL || hs_failed(sgn_ssh_get_string(&c, "type", 64, &name, &name_len)) ||
        hs_failed(sgn_ssh_put_cstring(sk, s->sk_type)) ||
        hs_failed(hs_buf_put(sk, blob + c.pos, hs_cursor_remaining(&c))) ||
        hs_failed(sgn_ssh_put_cstring(sk, "ssh:")) ||
        hs_failed(sgn_ssh_key_parse_blob(hs_buf_data(sk), hs_buf_len(sk), &out))) {
        return NULL;
    }
    return out;
}

static int make_subjects(void)
{
    for (size_t i = 0; i < SUBJECTS_MAX; i++) {
        struct test_subject *s = &subjects[i];
        if (s->type == NULL) {
            s->key = subject_from_sk(s);
            if (s->key == NULL) {
                return -1;
            }
            continue;
        }
        char path[512];
        char pub[512];
        char bits[16];
        char line[TEXT_MAX];
        hs_test_format(path, sizeof(path), "%s/%s", dir, s->name);
        hs_test_format(pub, sizeof(pub), "%s.pub", path);
        hs_test_format(bits, sizeof(bits), "%u", s->bits);
        char *const argv[] = {"ssh-keygen", "-q", "-t", (char *)s->type, "-b", bits,
                              "-N",         "",   "-C", (char *)s->name, "-f", path,
                              NULL};
        if (ssh_test_run(argv, line, sizeof(line)) != 0 ||
            read_line(pub, line, sizeof(line)) != 0 ||
            hs_failed(sgn_ssh_key_parse_line(line, strlen(line), &s->key))) {
            fprintf(stderr, "subject %s: %s\n", s->name, hs_error_last()->detail);
            return -1;
        }
    }
    return 0;
}

static int make_cas(void)
{
    for (size_t i = 0; i < CAS_MAX; i++) {
        struct test_ca *t = &cas[i];
        if (t->type == P11_KEY_ED25519 &&
            hs_failed(p11_sign_check(pool, P11_KEY_ED25519, 0, P11_SIG_EDDSA))) {
            fprintf(stderr, "  token lacks CKM_EDDSA: no Ed25519 CA\n");
            continue;
        }
        char name[64];
        hs_test_format(name, sizeof(name), "ssh-ca-%s", t->name);
        t->key = hs_test_p11_keygen(pool, t->type, t->bits, name);
        if (t->key == NULL || hs_failed(sgn_ssh_ca_new(t->key, &t->ca))) {
            fprintf(stderr, "CA %s: %s\n", t->name, hs_error_last()->detail);
            return -1;
        }
    }
    return 0;
}

/* --- signing -------------------------------------------------------------------------------- */

static const char *const user_principals[] = {"alice", "bob"};
/* Given unsorted: the certificate carries them sorted. */
static const struct sgn_ssh_option user_options[] = {
    {"source-address", "10.0.0.0/8,127.0.0.1/32"},
    {"force-command", "/usr/bin/true"},
};
static const char *const user_extensions[] = {"permit-pty", "permit-agent-forwarding",
                                              "permit-X11-forwarding"};
static const char *const host_principals[] = {"host.example.test", "10.1.2.3"};

static struct sgn_ssh_cert_request user_request(const struct sgn_ssh_key *subject, uint64_t serial,
                                                const char *key_id, uint64_t now)
{
    return (struct sgn_ssh_cert_request){
        .subject = subject,
        .serial = serial,
        .type = SGN_SSH_CERT_USER,
        .key_id = key_id,
        .principals = user_principals,
        .n_principals = 2,
        .valid_after = now - 300,
        .valid_before = now + 3600,
        .options = user_options,
        .n_options = 2,
        .extensions = user_extensions,
        .n_extensions = 3,
        .requester = "arn:aws:iam::123456789012:user/test",
    };
}

/* Signs req with ca and writes the certificate line to dir/name-cert.pub (path into path). */
static int sign_to_file(const struct sgn_ssh_ca *ca, const struct sgn_ssh_cert_request *req,
                        const char *name, char path[512])
{
    HS_DEFER(struct hs_buf *blob = hs_buf_new(SGN_SSH_CERT_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *line = hs_buf_new(SGN_SSH_LINE_MAX * 2), hs_buf_freep);
    hs_test_format(path, 512, "%s/%s-cert.pub", dir, name);
    if (blob == NULL || line == NULL || hs_failed(sgn_ssh_cert_sign(ca, req, blob)) ||
        hs_failed(sgn_ssh_cert_to_line(hs_buf_data(blob), hs_buf_len(blob), name, line)) ||
        write_bytes(path, hs_buf_data(line), hs_buf_len(line), true) != 0) {
        fprintf(stderr, "  signing %s: %s\n", name, hs_error_last()->detail);
        return -1;
    }
    if (n_cert_paths < CERTS_MAX) {
        memcpy(cert_paths[n_cert_paths++], path, 512);
    }
    return 0;
}

static int keygen_show(const char *path, char *out, size_t len)
{
    /* ssh-keygen prints the validity in local time: main() sets TZ=UTC. */
    char *const argv[] = {"ssh-keygen", "-L", "-f", (char *)path, NULL};
    return ssh_test_run(argv, out, len);
}

static void utc(uint64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        hs_test_format(out, 32, "(time %" PRIu64 ")", t);
    }
}

static void check_user_listing(const struct test_ca *t, const struct test_subject *s,
                               const struct sgn_ssh_cert_request *req, const char *text)
{
    char want[512];
    hs_test_format(want, sizeof(want), "Type: %s user certificate",
                   sgn_ssh_key_cert_type_name(sgn_ssh_key_type(s->key)));
    HS_CHECK(contains(text, want));
    char ca_fp[SGN_SSH_FINGERPRINT_LEN + 1];
    HS_CHECK_OK(sgn_ssh_key_fingerprint(sgn_ssh_ca_get0_key(t->ca), ca_fp));
    hs_test_format(want, sizeof(want), "Signing CA: %s %s (using %s)", t->key_name, ca_fp,
                   t->sig_name);
    HS_CHECK(contains(text, want));
    hs_test_format(want, sizeof(want), "Key ID: \"%s\"", req->key_id);
    HS_CHECK(contains(text, want));
    hs_test_format(want, sizeof(want), "Serial: %" PRIu64 "\n", req->serial);
    HS_CHECK(contains(text, want));
    char from[32];
    char to[32];
    utc(req->valid_after, from);
    utc(req->valid_before, to);
    hs_test_format(want, sizeof(want), "Valid: from %s to %s", from, to);
    HS_CHECK(contains(text, want));
    HS_CHECK(contains(text, "Principals: \n                alice\n                bob\n"));
    HS_CHECK(contains(text, "Critical Options: \n                force-command /usr/bin/true\n"
                            "                source-address 10.0.0.0/8,127.0.0.1/32\n"));
    HS_CHECK(contains(text, "Extensions: \n                permit-X11-forwarding\n"
                            "                permit-agent-forwarding\n"
                            "                permit-pty\n"));
}

HS_TEST(user_certificates_show_every_requested_field_in_ssh_keygen)
{
    uint64_t now = (uint64_t)time(NULL);
    uint64_t serial = 1000;
    for (size_t i = 0; i < CAS_MAX; i++) {
        if (cas[i].ca == NULL) {
            continue;
        }
        for (size_t j = 0; j < SUBJECTS_MAX; j++) {
            char name[128];
            hs_test_format(name, sizeof(name), "user-%s-%s", cas[i].name, subjects[j].name);
            struct sgn_ssh_cert_request req = user_request(subjects[j].key, ++serial, name, now);
            char path[512];
            HS_CHECK(sign_to_file(cas[i].ca, &req, name, path) == 0);
            char text[TEXT_MAX];
            HS_CHECK(keygen_show(path, text, sizeof(text)) == 0);
            check_user_listing(&cas[i], &subjects[j], &req, text);
        }
    }
}

HS_TEST(host_certificates_show_their_principals_and_no_options)
{
    uint64_t now = (uint64_t)time(NULL);
    for (size_t i = 0; i < CAS_MAX; i++) {
        if (cas[i].ca == NULL) {
            continue;
        }
        for (size_t j = 0; j < 6; j += 4) { /* ed25519 and rsa2048 host keys */
            char name[128];
            hs_test_format(name, sizeof(name), "host-%s-%s", cas[i].name, subjects[j].name);
            struct sgn_ssh_cert_request req = {
                .subject = subjects[j].key,
                .serial = UINT64_MAX - i * 10 - j,
                .type = SGN_SSH_CERT_HOST,
                .key_id = name,
                .principals = host_principals,
                .n_principals = 2,
                .valid_after = now - 300,
                .valid_before = now + 30 * 86400,
            };
            char path[512];
            HS_CHECK(sign_to_file(cas[i].ca, &req, name, path) == 0);
            char text[TEXT_MAX];
            HS_CHECK(keygen_show(path, text, sizeof(text)) == 0);
            char want[512];
            hs_test_format(want, sizeof(want), "Type: %s host certificate",
                           sgn_ssh_key_cert_type_name(sgn_ssh_key_type(subjects[j].key)));
            HS_CHECK(contains(text, want));
            hs_test_format(want, sizeof(want), "Serial: %" PRIu64 "\n", req.serial);
            HS_CHECK(contains(text, want));
            HS_CHECK(contains(text, "Principals: \n                host.example.test\n"
                                    "                10.1.2.3\n"));
            HS_CHECK(contains(text, "Critical Options: (none)"));
            HS_CHECK(contains(text, "Extensions: (none)"));
        }
    }
}

HS_TEST(python_cryptography_verifies_every_certificate_and_refuses_flipped_bytes)
{
    HS_CHECK(n_cert_paths > 0);
    char script[512];
    hs_test_format(script, sizeof(script), "%s/tests/unit/sgn_ssh_cert_check.py", repo);
    char *argv[CERTS_MAX + 3] = {"/usr/bin/python3", script};
    for (size_t i = 0; i < n_cert_paths; i++) {
        argv[2 + i] = cert_paths[i];
    }
    char out[TEXT_MAX];
    char want[64];
    hs_test_format(want, sizeof(want), "ok %zu\n", n_cert_paths);
    HS_CHECK(ssh_test_run(argv, out, sizeof(out)) == 0 && contains(out, want));
    /* And our own verifier refuses a changed signature. */
    HS_DEFER(struct hs_buf *blob = hs_buf_new(SGN_SSH_CERT_MAX), hs_buf_freep);
    struct sgn_ssh_cert_request req = user_request(subjects[0].key, 77, "flip", 1000000);
    HS_CHECK_OK(sgn_ssh_cert_sign(cas[1].ca, &req, blob));
    size_t n = hs_buf_len(blob);
    HS_CHECK(n > 100);
    if (n > 100) {
        unsigned char copy[SGN_SSH_CERT_MAX];
        memcpy(copy, hs_buf_data(blob), n);
        /* A byte near the end lies in the signature: ssh-keygen checks it and refuses. */
        copy[n - 3] ^= 0x01;
        char path[512];
        hs_test_format(path, sizeof(path), "%s/flipped-cert.pub", dir);
        HS_DEFER(struct hs_buf *line = hs_buf_new(SGN_SSH_LINE_MAX * 2), hs_buf_freep);
        HS_CHECK_OK(sgn_ssh_cert_to_line(copy, n, NULL, line));
        HS_CHECK(write_bytes(path, hs_buf_data(line), hs_buf_len(line), true) == 0);
        HS_CHECK(keygen_show(path, out, sizeof(out)) != 0);
    }
}

/* --- KRL ------------------------------------------------------------------------------------ */

static int keygen_query(const char *krl, const char *cert, char *out, size_t len)
{
    char *const argv[] = {"ssh-keygen", "-Q", "-f", (char *)krl, (char *)cert, NULL};
    return ssh_test_run(argv, out, len);
}

/* Unsorted, with a duplicate and a run (500..504: one range). */
static const uint64_t krl_p256_serials[] = {504, 0x1234567890abcdefULL, 500, 7, 501, 503, 502, 7};
static const uint64_t krl_rsa_serials[] = {42};

/* Writes the test KRL (P-256 CA: krl_p256_serials, RSA CA: krl_rsa_serials) into krl. */
static HS_RESULT krl_make(uint64_t now, struct hs_buf *krl)
{
    size_t p256_len = 0;
    size_t rsa_len = 0;
    const unsigned char *p256_blob = sgn_ssh_key_blob(sgn_ssh_ca_get0_key(cas[1].ca), &p256_len);
    const unsigned char *rsa_blob = sgn_ssh_key_blob(sgn_ssh_ca_get0_key(cas[3].ca), &rsa_len);
    const struct sgn_krl_ca krl_cas[] = {{p256_blob, p256_len, krl_p256_serials, 8},
                                         {rsa_blob, rsa_len, krl_rsa_serials, 1}};
    return sgn_krl_write(krl_cas, 2, 3, now, "hsmsign test KRL", krl);
}

HS_TEST(a_krl_revokes_exactly_its_serials_under_its_ca)
{
    uint64_t now = (uint64_t)time(NULL);
    char revoked[512];
    char in_range[512];
    char kept[512];
    char other_ca[512];
    struct sgn_ssh_cert_request req =
        user_request(subjects[0].key, 0x1234567890abcdefULL, "revoked", now);
    HS_CHECK(sign_to_file(cas[1].ca, &req, "krl-revoked", revoked) == 0);
    req.serial = 502;
    req.key_id = "in-range";
    HS_CHECK(sign_to_file(cas[1].ca, &req, "krl-in-range", in_range) == 0);
    req.serial = 0x1234567890abcdeeULL;
    req.key_id = "kept";
    HS_CHECK(sign_to_file(cas[1].ca, &req, "krl-kept", kept) == 0);
    /* The revoked serial again, under the other CA, which revoked something else. */
    req.serial = 0x1234567890abcdefULL;
    req.key_id = "other-ca";
    HS_CHECK(sign_to_file(cas[3].ca, &req, "krl-other-ca", other_ca) == 0);
    HS_DEFER(struct hs_buf *krl = hs_buf_new(SGN_KRL_MAX), hs_buf_freep);
    HS_CHECK_OK(krl_make(now, krl));
    char path[512];
    hs_test_format(path, sizeof(path), "%s/revoked.krl", dir);
    HS_CHECK(write_bytes(path, hs_buf_data(krl), hs_buf_len(krl), false) == 0);
    char out[TEXT_MAX];
    HS_CHECK(keygen_query(path, revoked, out, sizeof(out)) == 1 && contains(out, ": REVOKED"));
    HS_CHECK(keygen_query(path, in_range, out, sizeof(out)) == 1 && contains(out, ": REVOKED"));
    HS_CHECK(keygen_query(path, kept, out, sizeof(out)) == 0 && contains(out, ": ok"));
    HS_CHECK(keygen_query(path, other_ca, out, sizeof(out)) == 0 && contains(out, ": ok"));
}

HS_TEST(a_krl_is_encoded_compactly_and_bad_input_is_refused)
{
    uint64_t now = (uint64_t)time(NULL);
    HS_DEFER(struct hs_buf *krl = hs_buf_new(SGN_KRL_MAX), hs_buf_freep);
    HS_CHECK_OK(krl_make(now, krl));
    /* The subsections: one range 500..504, then the list 7, 0x1234567890abcdef. */
    static const unsigned char range[] = {0x21, 0,    0, 0, 16, 0, 0, 0, 0,    0,   0,
                                          0x01, 0xf4, 0, 0, 0,  0, 0, 0, 0x01, 0xf8};
    static const unsigned char list[] = {0x20, 0, 0,    0,    16,   0,    0,    0,    0,    0,   0,
                                         0,    7, 0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0xcd, 0xef};
    const unsigned char *k = hs_buf_data(krl);
    size_t kn = hs_buf_len(krl);
    HS_CHECK(kn > 8 && memcmp(k, "SSHKRL\n\0", 8) == 0);
    HS_CHECK(memmem(k, kn, range, sizeof(range)) != NULL);
    HS_CHECK(memmem(k, kn, list, sizeof(list)) != NULL);
    /* Bad input: serial 0, a CA twice, a blob that is no key. */
    size_t p256_len = 0;
    const unsigned char *p256_blob = sgn_ssh_key_blob(sgn_ssh_ca_get0_key(cas[1].ca), &p256_len);
    const uint64_t zero[] = {0};
    const struct sgn_krl_ca bad_zero[] = {{p256_blob, p256_len, zero, 1}};
    const struct sgn_krl_ca twice[] = {{p256_blob, p256_len, NULL, 0},
                                       {p256_blob, p256_len, NULL, 0}};
    const struct sgn_krl_ca junk[] = {{(const unsigned char *)"junk", 4, NULL, 0}};
    HS_DEFER(struct hs_buf *none = hs_buf_new(SGN_KRL_MAX), hs_buf_freep);
    HS_CHECK_ERR(sgn_krl_write(bad_zero, 1, 1, now, NULL, none), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(sgn_krl_write(twice, 2, 1, now, NULL, none), HS_ERR_INPUT_FIELD);
    HS_CHECK_ERR(sgn_krl_write(junk, 1, 1, now, NULL, none), HS_ERR_INPUT_KEY);
    HS_CHECK_ERR(sgn_krl_write(NULL, 0, 1, now, "bad\ncomment", none), HS_ERR_INPUT_FIELD);
    HS_CHECK(hs_buf_len(none) == 0);
}

/* --- bad requests --------------------------------------------------------------------------- */

HS_TEST(bad_requests_are_refused_and_write_nothing)
{
    uint64_t now = (uint64_t)time(NULL);
    const struct sgn_ssh_ca *ca = cas[1].ca;
    HS_DEFER(struct hs_buf *out = hs_buf_new(SGN_SSH_CERT_MAX), hs_buf_freep);
    struct sgn_ssh_cert_request r = user_request(subjects[0].key, 9, "bad", now);
    r.n_principals = 0;
    HS_CHECK_ERR(sgn_ssh_cert_sign(ca, &r, out), HS_ERR_INPUT_FIELD);
    HS_CHECK(strstr(hs_error_last()->detail, "at least one principal") != NULL);
    r = user_request(subjects[0].key, 0, "bad", now);
    HS_CHECK_ERR(sgn_ssh_cert_sign(ca, &r, out), HS_ERR_INPUT_RANGE);
    r = user_request(subjects[0].key, 9, "bad", now);
    r.valid_before = r.valid_after;
    HS_CHECK_ERR(sgn_ssh_cert_sign(ca, &r, out), HS_ERR_INPUT_RANGE);
    const char *const dup[] = {"alice", "alice"};
    r = user_request(subjects[0].key, 9, "bad", now);
    r.principals = dup;
    HS_CHECK_ERR(sgn_ssh_cert_sign(ca, &r, out), HS_ERR_INPUT_FIELD);
    const char *const comma[] = {"alice,root"};
    r.principals = comma;
    r.n_principals = 1;
    HS_CHECK_ERR(sgn_ssh_cert_sign(ca, &r, out), HS_ERR_INPUT_FIELD);
    const struct sgn_ssh_option unknown[] = {{"no-touch-required", ""}};
    r = user_request(subjects[0].key, 9, "bad", now);
    r.options = unknown;
    r.n_options = 1;
    HS_CHECK_ERR(sgn_ssh_cert_sign(ca, &r, out), HS_ERR_INPUT_FIELD);
    const struct sgn_ssh_option bad_source[] = {{"source-address", "10.0.0.0/8;rm"}};
    r.options = bad_source;
    HS_CHECK_ERR(sgn_ssh_cert_sign(ca, &r, out), HS_ERR_INPUT_FIELD);
    const struct sgn_ssh_option twice[] = {{"force-command", "a"}, {"force-command", "b"}};
    r.options = twice;
    r.n_options = 2;
    HS_CHECK_ERR(sgn_ssh_cert_sign(ca, &r, out), HS_ERR_INPUT_FIELD);
    r = user_request(subjects[0].key, 9, "bad", now);
    r.type = SGN_SSH_CERT_HOST; /* with the user options */
    HS_CHECK_ERR(sgn_ssh_cert_sign(ca, &r, out), HS_ERR_INPUT_FIELD);
    const char *const ext_dup[] = {"permit-pty", "permit-pty"};
    r = user_request(subjects[0].key, 9, "bad", now);
    r.extensions = ext_dup;
    r.n_extensions = 2;
    HS_CHECK_ERR(sgn_ssh_cert_sign(ca, &r, out), HS_ERR_INPUT_FIELD);
    r = user_request(subjects[0].key, 9, "bad\nid", now);
    HS_CHECK_ERR(sgn_ssh_cert_sign(ca, &r, out), HS_ERR_INPUT_FIELD);
    r = user_request(subjects[0].key, 9, "bad", now);
    r.type = 3;
    HS_CHECK_ERR(sgn_ssh_cert_sign(ca, &r, out), HS_ERR_INPUT_FIELD);
    HS_CHECK(hs_buf_len(out) == 0);
    /* The same request, fixed, signs. */
    r = user_request(subjects[0].key, 9, "good", now);
    HS_CHECK_OK(sgn_ssh_cert_sign(ca, &r, out));
    HS_CHECK(hs_buf_len(out) > 0);
}

static void cleanup(void)
{
    for (size_t i = 0; i < CAS_MAX; i++) {
        sgn_ssh_ca_free(cas[i].ca);
        p11_key_free(cas[i].key);
    }
    for (size_t i = 0; i < SUBJECTS_MAX; i++) {
        sgn_ssh_key_free(subjects[i].key);
    }
    hs_test_p11_cleanup(pool);
    p11_pool_free(pool);
    p11_module_free(module);
    HS_IGNORE(ssh_test_remove_tree(dir));
}

int main(void)
{
    char ignored[1024];
    char *const probe[] = {"ssh-keygen", "-?", NULL};
    if (ssh_test_run(probe, ignored, sizeof(ignored)) < 0 || strstr(ignored, "usage") == NULL) {
        hs_test_skip_or_fail("ssh-keygen (openssh-client) is not installed");
    }
    char *const python[] = {"/usr/bin/python3", "-c", "import cryptography", NULL};
    if (ssh_test_run(python, ignored, sizeof(ignored)) != 0) {
        hs_test_skip_or_fail("python3-cryptography is not installed");
    }
    repo = hs_test_env("HSMSIGN_REPO");
    if (setenv("TZ", "UTC", 1) != 0) {
        return 1;
    }
    const char *base = getenv("HSMSIGN_TEST_TMPDIR");
    hs_test_format(dir, sizeof(dir), "%s/sgn_ssh_cert_test.XXXXXX", base != NULL ? base : "/tmp");
    if (mkdtemp(dir) == NULL || hs_test_p11_open(4, &module, &pool) != 0 || make_subjects() != 0 ||
        make_cas() != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    int rc = hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(user_certificates_show_every_requested_field_in_ssh_keygen),
        HS_TEST_CASE(host_certificates_show_their_principals_and_no_options),
        HS_TEST_CASE(python_cryptography_verifies_every_certificate_and_refuses_flipped_bytes),
        HS_TEST_CASE(a_krl_revokes_exactly_its_serials_under_its_ca),
        HS_TEST_CASE(a_krl_is_encoded_compactly_and_bad_input_is_refused),
        HS_TEST_CASE(bad_requests_are_refused_and_write_nothing),
        HS_TEST_END,
    });
    cleanup();
    return rc;
}
