/*
 * ssh_key_fuzz: the OpenSSH public key parsers of sgn_ssh_key.c, which read what a caller of
 * POST /v1/ssh/certificates sends as "public_key" (sgn_ssh_key_parse_line) and the CA keys a KRL
 * names (sgn_ssh_key_parse_blob).
 *
 * The input is byte 0 mod 2: 0 the rest is an authorized_keys-style line (at most
 * SGN_SSH_LINE_MAX bytes, as the request carries it); 1 the rest is a key blob (wire form). A
 * key that parses is checked as the signer relies on it: its line written back parses to the
 * same blob and type, the line's type name is the blob's, RSA keys have 2048..8192 bits, and a
 * non-sk key encoded again from its OpenSSL key (sgn_ssh_key_from_pkey) is the same blob.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "common/hs_buf.h"
#include "signer/sgn_ssh_key.h"
#include "tests/fuzz/fuzz_support.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

static bool same_blob(const struct sgn_ssh_key *a, const struct sgn_ssh_key *b)
{
    size_t na = 0;
    size_t nb = 0;
    const unsigned char *pa = sgn_ssh_key_blob(a, &na);
    const unsigned char *pb = sgn_ssh_key_blob(b, &nb);
    return na == nb && memcmp(pa, pb, na) == 0 && sgn_ssh_key_type(a) == sgn_ssh_key_type(b);
}

static void ssh_key_fuzz_check(const struct sgn_ssh_key *k)
{
    enum sgn_ssh_key_type type = sgn_ssh_key_type(k);
    unsigned int bits = sgn_ssh_key_bits(k);
    if (type == SGN_SSH_KEY_RSA && (bits < SGN_SSH_RSA_BITS_MIN || bits > SGN_SSH_RSA_BITS_MAX)) {
        fuzz_abort();
    }
    struct hs_buf *line = hs_buf_new(SGN_SSH_LINE_MAX);
    if (line == NULL || hs_failed(sgn_ssh_key_to_line(k, "fuzz", line))) {
        fuzz_abort();
    }
    const char *name = sgn_ssh_key_type_name(type);
    size_t name_len = strlen(name);
    if (hs_buf_len(line) <= name_len || memcmp(hs_buf_data(line), name, name_len) != 0 ||
        hs_buf_data(line)[name_len] != ' ') {
        fuzz_abort();
    }
    struct sgn_ssh_key *again = NULL;
    if (hs_failed(
            sgn_ssh_key_parse_line((const char *)hs_buf_data(line), hs_buf_len(line), &again)) ||
        !same_blob(k, again)) {
        fuzz_abort();
    }
    sgn_ssh_key_free(again);
    hs_buf_free(line);
    char fp[SGN_SSH_FINGERPRINT_LEN + 1];
    if (hs_failed(sgn_ssh_key_fingerprint(k, fp)) || strncmp(fp, "SHA256:", 7) != 0) {
        fuzz_abort();
    }
    if (type != SGN_SSH_KEY_SK_ECDSA_P256 && type != SGN_SSH_KEY_SK_ED25519) {
        struct sgn_ssh_key *encoded = NULL;
        if (hs_failed(sgn_ssh_key_from_pkey(sgn_ssh_key_get0_pkey(k), &encoded)) ||
            !same_blob(k, encoded)) {
            fuzz_abort();
        }
        sgn_ssh_key_free(encoded);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    struct sgn_ssh_key *k = NULL;
    hs_result r = data[0] % 2 == 0 ? sgn_ssh_key_parse_line((const char *)data + 1, size - 1, &k)
                                   : sgn_ssh_key_parse_blob(data + 1, size - 1, &k);
    if (!hs_failed(fuzz_debug(r))) {
        if (k == NULL) {
            fuzz_abort();
        }
        ssh_key_fuzz_check(k);
    } else if (k != NULL) {
        fuzz_abort(); /* outputs are written only on success */
    }
    sgn_ssh_key_free(k);
    ERR_clear_error();
    return 0;
}
