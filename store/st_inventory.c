#include "store/st_inventory.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "store/internal.h"

/* The store-independent half of st_inventory.h; each store lives in its own file
 * (st_sqlite.c, st_dynamodb.c). */

#define ST_INV_REASON_MAX 10 /* aACompromise (RFC 5280 §5.3.1) */
#define ST_INV_REASON_UNUSED 7

void st_inventory_close(struct st_inventory *inv)
{
    if (inv != NULL) {
        inv->ops->close(inv);
    }
}

void st_inventory_closep(struct st_inventory **inv)
{
    st_inventory_close(*inv);
}

/* --- validation (callers' threads, before anything reaches a store) ------------------------ */

HS_RESULT st_inv_serial_check(const char *serial_hex)
{
    HS_ENSURE_REF(serial_hex);
    size_t n = strnlen(serial_hex, ST_INV_SERIAL_MAX + 1);
    HS_ENSURE_MSG(n >= 1 && n <= ST_INV_SERIAL_MAX && strspn(serial_hex, "0123456789abcdef") == n &&
                      strncmp(serial_hex, "00", 2) != 0,
                  HS_ERR_INPUT_FIELD,
                  "serial must be 1..%d lowercase hex digits without a leading zero octet",
                  ST_INV_SERIAL_MAX);
    return HS_OK;
}

/* s is an array of max + 1 chars: it must hold its NUL. */
static HS_RESULT st_inv_text_check(const char *s, size_t max, const char *field)
{
    HS_ENSURE_MSG(strnlen(s, max + 1) <= max, HS_ERR_INPUT_RANGE, "%s is longer than %zu bytes",
                  field, max);
    return HS_OK;
}

HS_RESULT st_inv_reason_check(int reason)
{
    HS_ENSURE_MSG(reason >= -1 && reason <= ST_INV_REASON_MAX && reason != ST_INV_REASON_UNUSED,
                  HS_ERR_INPUT_RANGE, "revocation reason %d is not -1 or an RFC 5280 code", reason);
    return HS_OK;
}

static HS_RESULT st_inv_status_check(const struct st_cert_record *rec)
{
    switch (rec->status) {
    case ST_CERT_GOOD:
        HS_ENSURE_MSG(rec->revoked_at == 0 && rec->reason == -1, HS_ERR_INPUT_FIELD,
                      "a good certificate has no revocation time or reason");
        return HS_OK;
    case ST_CERT_REVOKED:
        HS_ENSURE_MSG(rec->revoked_at > 0, HS_ERR_INPUT_RANGE,
                      "a revoked certificate needs its revocation time");
        return HS_OK;
    default:
        HS_BAIL_MSG(HS_ERR_INPUT_FIELD, "unknown certificate status %d", (int)rec->status);
    }
}

HS_RESULT st_inv_kind_check(enum st_kind kind)
{
    switch (kind) {
    case ST_KIND_X509:
    case ST_KIND_SSH:
        return HS_OK;
    default:
        HS_BAIL_MSG(HS_ERR_INPUT_FIELD, "unknown record kind %d", (int)kind);
    }
}

/* --- SSH serials ------------------------------------------------------------------------------ */

HS_RESULT st_ssh_serial_hex(uint64_t serial, char *out, size_t out_len)
{
    HS_ENSURE_REF(out);
    HS_ENSURE(out_len > ST_INV_SSH_SERIAL_MAX, HS_ERR_BOUNDS);
    if (serial == 0) {
        memcpy(out, "0", 2); /* as BN_bn2hex writes zero, and sgn_cert_serial_hex with it */
        return HS_OK;
    }
    int octets = 8;
    while ((serial >> ((octets - 1) * 8)) == 0) {
        octets--;
    }
    for (int i = 0; i < octets; i++) {
        unsigned int v = (unsigned int)((serial >> ((octets - 1 - i) * 8)) & 0xffU);
        int w = snprintf(out + 2 * i, 3, "%02x", v);
        HS_ENSURE(w == 2, HS_ERR_INTERNAL);
    }
    return HS_OK;
}

HS_RESULT st_ssh_serial_parse(const char *serial_hex, uint64_t *out)
{
    HS_ENSURE_REF(serial_hex);
    HS_ENSURE_REF(out);
    size_t n = strnlen(serial_hex, ST_INV_SSH_SERIAL_MAX + 1);
    bool zero = strcmp(serial_hex, "0") == 0;
    HS_ENSURE_MSG(zero || (n >= 2 && n <= ST_INV_SSH_SERIAL_MAX && n % 2 == 0 &&
                           strspn(serial_hex, "0123456789abcdef") == n &&
                           strncmp(serial_hex, "00", 2) != 0),
                  HS_ERR_INPUT_FIELD,
                  "an SSH serial is 1..%d octets in lowercase hex without a leading zero octet",
                  ST_INV_SSH_SERIAL_MAX / 2);
    return st_inv_ssh_serial_value(serial_hex, out);
}

HS_RESULT st_inv_ssh_serial_value(const char *serial_hex, uint64_t *out)
{
    HS_ENSURE_REF(serial_hex);
    size_t n = strnlen(serial_hex, ST_INV_SSH_SERIAL_MAX + 1);
    HS_ENSURE_MSG(n >= 1 && n <= ST_INV_SSH_SERIAL_MAX &&
                      strspn(serial_hex, "0123456789abcdef") == n,
                  HS_ERR_INPUT_FIELD, "SSH serial %.40s is not 1..%d lowercase hex digits",
                  serial_hex, ST_INV_SSH_SERIAL_MAX);
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = serial_hex[i];
        v = (v << 4) | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    *out = v;
    return HS_OK;
}

static bool st_inv_hash_is_zero(const unsigned char *h)
{
    unsigned char acc = 0;
    for (size_t i = 0; i < ST_INV_KEY_HASH_LEN; i++) {
        acc |= h[i];
    }
    return acc == 0;
}

/* What an SSH record needs beyond every record's checks (st_inventory.h, enum st_kind). */
static HS_RESULT st_inv_ssh_check(const struct st_cert_record *rec)
{
    uint64_t serial = 0;
    HS_GUARD(st_ssh_serial_parse(rec->serial_hex, &serial));
    HS_ENSURE_MSG(serial != 0, HS_ERR_INPUT_FIELD, "an SSH certificate's serial is not 0");
    HS_ENSURE_MSG(!st_inv_hash_is_zero(rec->issuer_key_sha256), HS_ERR_INPUT_FIELD,
                  "an SSH certificate's record names its CA key (issuer_key_sha256)");
    return HS_OK;
}

HS_RESULT st_inv_record_check(const struct st_cert_record *rec)
{
    HS_ENSURE_REF(rec);
    HS_GUARD(st_inv_serial_check(rec->serial_hex));
    HS_GUARD(st_inv_text_check(rec->subject, ST_INV_SUBJECT_MAX, "subject"));
    HS_GUARD(st_inv_text_check(rec->sans, ST_INV_SANS_MAX, "sans"));
    HS_GUARD(st_inv_text_check(rec->requester, ST_INV_PRINCIPAL_MAX, "requester"));
    HS_GUARD(st_inv_text_check(rec->profile, ST_INV_PROFILE_MAX, "profile"));
    HS_ENSURE_MSG(rec->not_before <= rec->not_after, HS_ERR_INPUT_RANGE,
                  "notBefore is after notAfter");
    HS_GUARD(st_inv_reason_check(rec->reason));
    HS_GUARD(st_inv_kind_check(rec->kind));
    if (rec->kind == ST_KIND_SSH) {
        HS_GUARD(st_inv_ssh_check(rec));
    }
    return st_inv_status_check(rec);
}

/* --- the listing ------------------------------------------------------------------------------ */

HS_RESULT st_inv_list_query_check(const struct st_list_query *q)
{
    HS_ENSURE_REF(q);
    HS_ENSURE_MSG(q->limit >= 1 && q->limit <= ST_INV_LIST_MAX, HS_ERR_INPUT_RANGE,
                  "limit must be 1..%d", ST_INV_LIST_MAX);
    if (!q->any_kind) {
        HS_GUARD(st_inv_kind_check(q->kind));
    }
    HS_ENSURE_MSG(q->status >= ST_LIST_ANY && q->status <= ST_LIST_EXPIRED, HS_ERR_INPUT_FIELD,
                  "status is not a listing status");
    if (q->name != NULL) {
        size_t n = strnlen(q->name, ST_INV_LIST_NAME_MAX + 1);
        HS_ENSURE_MSG(n >= 1 && n <= ST_INV_LIST_NAME_MAX, HS_ERR_INPUT_RANGE,
                      "name must be 1..%d bytes", ST_INV_LIST_NAME_MAX);
    }
    if (q->requester != NULL) {
        HS_ENSURE_MSG(strnlen(q->requester, ST_INV_PRINCIPAL_MAX + 1) <= ST_INV_PRINCIPAL_MAX,
                      HS_ERR_INPUT_RANGE, "requester is longer than %d bytes",
                      ST_INV_PRINCIPAL_MAX);
    }
    if (q->after != NULL) {
        HS_GUARD(st_inv_serial_check(q->after->serial_hex));
    }
    return HS_OK;
}

/* Whether needle (n bytes) occurs in hay[0..len) ignoring ASCII case. */
static bool st_inv_contains(const char *hay, size_t len, const char *needle, size_t n)
{
    for (size_t i = 0; n <= len && i <= len - n; i++) {
        if (strncasecmp(hay + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

/* The value of the subject's CN (RFC 4514: "CN=" at the start or after an unescaped ','), up to
 * the next unescaped ','; *len 0 when there is none. */
static const char *st_inv_subject_cn(const char *subject, size_t *len)
{
    *len = 0;
    for (size_t i = 0; subject[i] != '\0'; i++) {
        bool start = i == 0 || (subject[i - 1] == ',' && (i < 2 || subject[i - 2] != '\\'));
        if (start && strncasecmp(subject + i, "CN=", 3) == 0) {
            const char *v = subject + i + 3;
            size_t n = 0;
            while (v[n] != '\0' && !(v[n] == ',' && (n == 0 || v[n - 1] != '\\'))) {
                n++;
            }
            *len = n;
            return v;
        }
    }
    return subject;
}

/* Whether name is in one of the SANs (a JSON array of strings; X.509 "TYPE:value" with the
 * value searched, SSH principals as they are). */
static bool st_inv_sans_contain(const struct st_cert_record *rec, const char *name, size_t n)
{
    json_object *sans = json_tokener_parse(rec->sans);
    bool found = false;
    if (sans != NULL && json_object_is_type(sans, json_type_array)) {
        for (size_t i = 0; !found && i < json_object_array_length(sans); i++) {
            const char *v = json_object_get_string(json_object_array_get_idx(sans, i));
            if (v == NULL) {
                continue;
            }
            const char *colon = rec->kind == ST_KIND_X509 ? strchr(v, ':') : NULL;
            v = colon != NULL ? colon + 1 : v;
            found = st_inv_contains(v, strlen(v), name, n);
        }
    }
    json_object_put(sans);
    return found;
}

static bool st_inv_name_matches(const struct st_cert_record *rec, const char *name)
{
    size_t n = strlen(name);
    size_t len = 0;
    const char *cn = rec->subject;
    if (rec->kind == ST_KIND_X509) {
        cn = st_inv_subject_cn(rec->subject, &len);
    } else {
        len = strlen(rec->subject); /* the key id */
    }
    return st_inv_contains(cn, len, name, n) || st_inv_sans_contain(rec, name, n);
}

static bool st_inv_status_matches(const struct st_list_query *q, const struct st_cert_record *rec)
{
    switch (q->status) {
    case ST_LIST_GOOD:
        return rec->status == ST_CERT_GOOD && rec->not_after >= q->now;
    case ST_LIST_REVOKED:
        return rec->status == ST_CERT_REVOKED;
    case ST_LIST_EXPIRED:
        return rec->status == ST_CERT_GOOD && rec->not_after < q->now;
    case ST_LIST_ANY:
    default:
        return q->status == ST_LIST_ANY;
    }
}

bool st_inv_list_matches(const struct st_list_query *q, const struct st_cert_record *rec)
{
    return (q->any_kind || rec->kind == q->kind) && st_inv_status_matches(q, rec) &&
           (q->requester == NULL || strcmp(rec->requester, q->requester) == 0) &&
           (!q->has_expires_before || rec->not_after < q->expires_before) &&
           (!q->has_expires_after || rec->not_after > q->expires_after) &&
           (q->name == NULL || st_inv_name_matches(rec, q->name));
}

int st_inv_list_cmp(const struct st_cert_record *rec, const struct st_list_position *pos)
{
    if (rec->issued_at != pos->issued) {
        return rec->issued_at > pos->issued ? -1 : 1;
    }
    int c = strcmp(rec->serial_hex, pos->serial_hex);
    return c > 0 ? -1 : c < 0 ? 1 : 0;
}

void st_inv_list_position(const struct st_cert_record *rec, struct st_list_position *out)
{
    out->issued = rec->issued_at;
    memcpy(out->serial_hex, rec->serial_hex, sizeof(out->serial_hex));
}
