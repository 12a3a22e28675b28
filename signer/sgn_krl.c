#include "signer/sgn_krl.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "signer/sgn_ssh_key.h"
#include "signer/sgn_ssh_wire.h"

/* PROTOCOL.krl */
#define SGN_KRL_MAGIC 0x5353484b524c0a00ULL /* "SSHKRL\n\0" */
#define SGN_KRL_FORMAT_VERSION 1
#define SGN_KRL_SECTION_CERTIFICATES 1
#define SGN_KRL_SECTION_CERT_SERIAL_LIST 0x20
#define SGN_KRL_SECTION_CERT_SERIAL_RANGE 0x21

static void sgn_u64_freep(uint64_t **p)
{
    OPENSSL_free(*p);
}

static int sgn_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

/* Appends one subsection: byte type, string data. */
static HS_RESULT sgn_krl_put_sub(struct hs_buf *out, unsigned char type, const struct hs_buf *data)
{
    HS_GUARD(hs_buf_put_byte(out, type));
    return sgn_ssh_put_string(out, hs_buf_data(data), hs_buf_len(data));
}

/* Sorted, distinct serials s[0..n) as ranges (runs of SGN_KRL_RANGE_MIN or more) and one list
 * of the rest. */
static HS_RESULT sgn_krl_put_serials(struct hs_buf *sect, const uint64_t *s, size_t n)
{
    HS_DEFER(struct hs_buf *list = hs_buf_new(SGN_KRL_MAX), hs_buf_freep);
    HS_DEFER(struct hs_buf *range = hs_buf_new(16), hs_buf_freep);
    HS_ENSURE(list != NULL && range != NULL, HS_ERR_NOMEM);
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j + 1 < n && s[j + 1] == s[j] + 1) {
            j++;
        }
        if (j - i + 1 >= SGN_KRL_RANGE_MIN) {
            hs_buf_reset(range);
            HS_GUARD(sgn_ssh_put_u64(range, s[i]));
            HS_GUARD(sgn_ssh_put_u64(range, s[j]));
            HS_GUARD(sgn_krl_put_sub(sect, SGN_KRL_SECTION_CERT_SERIAL_RANGE, range));
        } else {
            for (size_t k = i; k <= j; k++) {
                HS_GUARD(sgn_ssh_put_u64(list, s[k]));
            }
        }
        i = j + 1;
    }
    if (hs_buf_len(list) > 0) {
        HS_GUARD(sgn_krl_put_sub(sect, SGN_KRL_SECTION_CERT_SERIAL_LIST, list));
    }
    return HS_OK;
}

static HS_RESULT sgn_krl_put_ca(struct hs_buf *out, const struct sgn_krl_ca *ca)
{
    HS_ENSURE_MSG(ca->n_serials <= SGN_KRL_SERIALS_MAX, HS_ERR_INPUT_RANGE,
                  "at most %u revoked serials per CA", SGN_KRL_SERIALS_MAX);
    HS_ENSURE(ca->n_serials == 0 || ca->serials != NULL, HS_ERR_INTERNAL);
    HS_DEFER(struct sgn_ssh_key *key = NULL, sgn_ssh_key_freep);
    HS_GUARD(sgn_ssh_key_parse_blob(ca->ca_blob, ca->ca_blob_len, &key));
    size_t n = ca->n_serials;
    HS_DEFER(uint64_t *s = OPENSSL_malloc((n > 0 ? n : 1) * sizeof(uint64_t)), sgn_u64_freep);
    HS_ENSURE(s != NULL, HS_ERR_NOMEM);
    if (n > 0) {
        memcpy(s, ca->serials, n * sizeof(uint64_t));
    }
    qsort(s, n, sizeof(uint64_t), sgn_u64_cmp);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        /* PROTOCOL.krl / krl.c: serial 0 is not a revocable serial. */
        HS_ENSURE_MSG(s[i] != 0, HS_ERR_INPUT_FIELD, "serial 0 cannot be revoked");
        if (m == 0 || s[m - 1] != s[i]) {
            s[m++] = s[i];
        }
    }
    HS_DEFER(struct hs_buf *sect = hs_buf_new(SGN_KRL_MAX), hs_buf_freep);
    HS_ENSURE(sect != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_ssh_put_string(sect, ca->ca_blob, ca->ca_blob_len));
    HS_GUARD(sgn_ssh_put_string(sect, NULL, 0)); /* reserved */
    HS_GUARD(sgn_krl_put_serials(sect, s, m));
    return sgn_krl_put_sub(out, SGN_KRL_SECTION_CERTIFICATES, sect);
}

static HS_RESULT sgn_krl_check_cas(const struct sgn_krl_ca *cas, size_t n_cas)
{
    HS_ENSURE_MSG(n_cas <= SGN_KRL_CAS_MAX, HS_ERR_INPUT_RANGE, "at most %d CA keys in a KRL",
                  SGN_KRL_CAS_MAX);
    HS_ENSURE(n_cas == 0 || cas != NULL, HS_ERR_INTERNAL);
    for (size_t i = 0; i < n_cas; i++) {
        HS_ENSURE_MSG(cas[i].ca_blob != NULL && cas[i].ca_blob_len > 0, HS_ERR_INPUT_KEY,
                      "empty CA key");
        for (size_t j = 0; j < i; j++) {
            HS_ENSURE_MSG(cas[i].ca_blob_len != cas[j].ca_blob_len ||
                              memcmp(cas[i].ca_blob, cas[j].ca_blob, cas[i].ca_blob_len) != 0,
                          HS_ERR_INPUT_FIELD, "a CA key appears twice in the KRL");
        }
    }
    return HS_OK;
}

HS_RESULT sgn_krl_write(const struct sgn_krl_ca *cas, size_t n_cas, uint64_t krl_version,
                        uint64_t generated_date, const char *comment, struct hs_buf *out)
{
    HS_ENSURE_REF(out);
    const char *text = comment != NULL ? comment : "";
    size_t clen = strnlen(text, SGN_KRL_COMMENT_MAX + 1);
    HS_ENSURE_MSG(clen <= SGN_KRL_COMMENT_MAX, HS_ERR_INPUT_FIELD,
                  "KRL comment longer than %d bytes", SGN_KRL_COMMENT_MAX);
    for (size_t i = 0; i < clen; i++) {
        HS_ENSURE_MSG((unsigned char)text[i] >= 0x20 && text[i] != 0x7f, HS_ERR_INPUT_FIELD,
                      "KRL comment holds a control character");
    }
    HS_GUARD(sgn_krl_check_cas(cas, n_cas));
    HS_DEFER(struct hs_buf *krl = hs_buf_new(SGN_KRL_MAX), hs_buf_freep);
    HS_ENSURE(krl != NULL, HS_ERR_NOMEM);
    HS_GUARD(sgn_ssh_put_u64(krl, SGN_KRL_MAGIC));
    HS_GUARD(sgn_ssh_put_u32(krl, SGN_KRL_FORMAT_VERSION));
    HS_GUARD(sgn_ssh_put_u64(krl, krl_version));
    HS_GUARD(sgn_ssh_put_u64(krl, generated_date));
    HS_GUARD(sgn_ssh_put_u64(krl, 0));          /* flags */
    HS_GUARD(sgn_ssh_put_string(krl, NULL, 0)); /* reserved */
    HS_GUARD(sgn_ssh_put_string(krl, text, clen));
    for (size_t i = 0; i < n_cas; i++) {
        HS_GUARD(sgn_krl_put_ca(krl, &cas[i]));
    }
    return hs_buf_put(out, hs_buf_data(krl), hs_buf_len(krl));
}
