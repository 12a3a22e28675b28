/*
 * st_inventory: the record of every certificate the service issued, and of its revocation.
 *
 * A record is committed durably before the certificate is handed out: no 2xx without a
 * committed record, and a crash after the response never loses it. The interface is a small
 * table of operations (struct st_inventory_ops) with two stores: SQLite (st_sqlite_open,
 * below) and DynamoDB (st_dynamodb.h, which says where its guarantees differ);
 * st_inventory_open (st_config.h) opens the one a configuration names. Every operation is
 * thread-safe. Records carry a kind (enum st_kind): X.509 and SSH certificates share the store.
 *
 * The SQLite store (SQLite 3, https://sqlite.org/wal.html) runs in WAL mode with
 * synchronous=FULL, so each committed transaction is fsync'd. Writers do not commit one by one:
 * a writer thread takes every record queued while the previous transaction was being fsync'd
 * and commits them together in one transaction (group commit), then wakes their callers. Reads
 * use their own connection and never wait for the writer.
 *
 * Every operation validates its input before it touches the store: a serial is 1..40 lowercase
 * hex digits without a leading zero octet ("00..."), as sgn_cert_serial_hex() writes it
 * (HS_ERR_INPUT_FIELD otherwise); a string that fills its array without a NUL is longer than
 * its bound (HS_ERR_INPUT_RANGE). A store is not shared across fork(): open it in the child.
 * What the operations say of "transactions" and "fsync" is the SQLite store's; the DynamoDB
 * store's writes are durable once DynamoDB acknowledges them.
 *
 * Where an operation below lists HS_ERR_IO, it may also fail with HS_ERR_STORE_UNAVAILABLE: the
 * store cannot answer for now (SQLite: another connection holds the lock past the busy timeout,
 * the disk is full or refuses the write, the store is closing; DynamoDB: unreachable, 5xx or
 * throttled after the last attempt). Nothing was written, and the same call may succeed later.
 * HS_ERR_IO is what no retry fixes (a corrupt file, a row or answer that does not fit).
 */
#ifndef ST_INVENTORY_H
#define ST_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/hs_err.h"

#define ST_INV_SERIAL_MAX 40   /* hex digits of a serial (RFC 5280 §4.1.2.2: 20 octets) */
#define ST_INV_SUBJECT_MAX 512 /* bytes of the RFC 4514 subject string */
#define ST_INV_SANS_MAX 8192   /* bytes of the SAN list (JSON array of "DNS:x", "IP:y"...) */
#define ST_INV_PRINCIPAL_MAX 2048
#define ST_INV_PROFILE_MAX 16
#define ST_INV_SSH_SERIAL_MAX 16 /* hex digits of an SSH serial (uint64, PROTOCOL.certkeys) */
#define ST_INV_KEY_HASH_LEN 32   /* bytes of a SHA-256 */

enum st_cert_status {
    ST_CERT_GOOD = 0,
    ST_CERT_REVOKED = 1,
};

/* What kind of credential a record describes. The zero value is X.509, so a record built as
 * before (calloc, "= {0}") is an X.509 certificate.
 *
 * Serials are one namespace across kinds: a serial is recorded once, whatever its kind
 * (HS_ERR_INPUT_EXISTS otherwise), so "GET /v1/.../{serial}" and a revocation name one record,
 * and a serial is never reused by another kind. An SSH serial is a uint64 spelled as an X.509
 * serial of the same value is (st_ssh_serial_hex: its big-endian octets without leading zero
 * octets, two lowercase digits each), so the namespace is one of numbers, not of spellings; a
 * random 64-bit SSH serial meets a random 20-octet X.509 serial with negligible probability,
 * and the loser of such a meeting is refused (HS_ERR_INPUT_EXISTS) and draws again.
 *
 * For an SSH certificate (OpenSSH PROTOCOL.certkeys) the fields read: serial_hex the
 * certificate's 64-bit serial (1..16 digits in st_ssh_serial_hex's spelling, not 0: a KRL
 * cannot revoke serial 0, PROTOCOL.krl), subject its key id, sans its principals (JSON array),
 * profile "user" or "host", spki_sha256 the SHA-256 of the certified public key blob (the
 * RFC 4253 §6.6 encoding inside the certificate), cert_sha256 that of the whole certificate
 * blob, issuer_key_sha256 the SHA-256 of the signing CA's public key blob (required: non-zero).
 * The OpenSSH fingerprints are not stored twice: "SHA256:" + unpadded base64 of spki_sha256 is
 * the certified key's fingerprint as ssh-keygen -l prints it, and the same of
 * issuer_key_sha256 is the CA key's. Its revocation goes to a KRL (list_revoked_ssh), never
 * to the CRL (list_revoked). */
enum st_kind {
    ST_KIND_X509 = 0,
    ST_KIND_SSH = 1,
};

/* One issued certificate. Strings are NUL-terminated and bounded by the arrays. */
struct st_cert_record {
    char serial_hex[ST_INV_SERIAL_MAX + 1]; /* lowercase, no leading zero octets (primary key) */
    char subject[ST_INV_SUBJECT_MAX + 1];   /* RFC 4514, e.g. "CN=svc.example.com"; may be "" */
    char sans[ST_INV_SANS_MAX + 1];         /* JSON array as text, e.g. ["DNS:a","IP:10.0.0.1"] */
    time_t not_before;                      /* seconds since the epoch */
    time_t not_after;
    char requester[ST_INV_PRINCIPAL_MAX + 1]; /* principal that asked for it */
    char profile[ST_INV_PROFILE_MAX + 1];     /* "client" or "server" */
    unsigned char spki_sha256[32];            /* SHA-256 of the DER SubjectPublicKeyInfo */
    unsigned char cert_sha256[32];            /* SHA-256 of the DER certificate */
    enum st_cert_status status;
    time_t revoked_at; /* when status is REVOKED, else 0 */
    int reason;        /* CRL_REASON_* (RFC 5280 §5.3.1), or -1 for none / unspecified */
    enum st_kind kind; /* ST_KIND_X509 (0) unless set */
    /* Which CA key signed it: the SHA-256 of the issuer's public key. SSH: of the CA public key
     * blob (RFC 4253 §6.6, the base64 of its ssh_*_ca.pub line), required, since with rotation
     * several CA keys are trusted at once and a KRL has one certificate section per CA key
     * (PROTOCOL.krl). A hash rather than a key label or a token handle: it is derived from what
     * every sshd is given, stays fixed across ceremonies and exports, and is what the KRL builder
     * compares with each published CA key. X.509: of the issuing CA certificate's DER
     * SubjectPublicKeyInfo, or all zero when not recorded (records from before schema 3,
     * callers that do not set it). All zero on an SSH record read back: a record from before
     * the inventory knew issuers (see list_revoked_ssh). */
    unsigned char issuer_key_sha256[ST_INV_KEY_HASH_LEN];
    /* When the service issued it (seconds since the epoch): the listing's order. 0 on put means
     * not_before (also what a record from before schema 5 reads as). notBefore is no issue time:
     * it is backdated, and clamped to the issuing CA's own notBefore. */
    time_t issued_at;
};

/* A revoked certificate as the CRL lists it. */
struct st_revoked_entry {
    char serial_hex[ST_INV_SERIAL_MAX + 1];
    time_t revoked_at;
    int reason;
};

/* A revoked SSH certificate as a KRL lists it (PROTOCOL.krl, KRL_SECTION_CERTIFICATES: one
 * section per CA key, its serials). */
struct st_ssh_revoked_entry {
    uint64_t serial;
    unsigned char issuer_key_sha256[ST_INV_KEY_HASH_LEN]; /* all zero: the CA is not known */
    time_t revoked_at;
};

/* The listing of the inventory (list, GET /v1/certificates). Records are ordered newest issued
 * first: by issued_at descending, then by serial_hex descending as text; a position in that
 * order is (issued, serial). */
#define ST_INV_LIST_MAX 200          /* records of one page */
#define ST_INV_LIST_EXAMINE_MAX 2000 /* records one list call examines at most (see list) */
#define ST_INV_LIST_NAME_MAX 253     /* bytes of a name filter */

enum st_list_status {
    ST_LIST_ANY = 0,
    ST_LIST_GOOD,    /* not revoked, not_after >= now */
    ST_LIST_REVOKED, /* revoked (whatever its not_after) */
    ST_LIST_EXPIRED, /* not revoked, not_after < now */
};

/* A position in the listing's order: a page continues after it. */
struct st_list_position {
    time_t issued; /* issued_at */
    char serial_hex[ST_INV_SERIAL_MAX + 1];
};

/* What to list; every filter is ANDed. Strings are borrowed for the call. */
struct st_list_query {
    bool any_kind;     /* true: X.509 and SSH; false: kind only */
    enum st_kind kind; /* when !any_kind */
    enum st_list_status status;
    time_t now;            /* seconds since the epoch, for GOOD and EXPIRED */
    const char *requester; /* exact principal; NULL = any */
    /* Case-insensitive (ASCII) substring of the subject's CN or of any SAN's value ("DNS:",
     * "IP:"... prefix not part of it); SSH: of the key id or of any principal. 1..
     * ST_INV_LIST_NAME_MAX bytes; NULL = any. */
    const char *name;
    bool has_expires_before; /* not_after < expires_before */
    time_t expires_before;
    bool has_expires_after; /* not_after > expires_after */
    time_t expires_after;
    size_t limit;                         /* 1..ST_INV_LIST_MAX */
    const struct st_list_position *after; /* continue after this position; NULL = newest first */
};

/* One page of a listing. */
struct st_list_page {
    struct st_cert_record *records; /* the caller's array of at least limit records */
    size_t n;                       /* records written */
    bool more;                      /* a next page may hold more: continue after next */
    struct st_list_position next;   /* when more */
};

/* Checks q as every store's list does before it touches the store: limit 1..ST_INV_LIST_MAX, a
 * known kind and status, a name of 1..ST_INV_LIST_NAME_MAX bytes, a requester of at most
 * ST_INV_PRINCIPAL_MAX bytes, an after position with a valid serial. Errors: HS_ERR_INTERNAL
 * (NULL), HS_ERR_INPUT_FIELD, HS_ERR_INPUT_RANGE. */
HS_RESULT st_inv_list_query_check(const struct st_list_query *q);

/* The status of a key generation request's record (st_keygen.h). */
enum st_keygen_status {
    ST_KEYGEN_PENDING = 0,
    ST_KEYGEN_DONE = 1,
    ST_KEYGEN_FAILED = 2,
};

struct st_inventory;
struct hs_buf;

struct st_inventory_ops {
    /* Commits rec durably (returns only after the transaction holding it is fsync'd). A record
     * put as REVOKED also bumps the revocation generation. Errors: HS_ERR_INPUT_FIELD (serial;
     * status not GOOD/REVOKED; kind not an enum st_kind; a GOOD record with a revocation time
     * or reason; an SSH record whose serial is 0 or not spelled as st_ssh_serial_hex spells it,
     * or whose issuer_key_sha256 is all zero),
     * HS_ERR_INPUT_RANGE (a string past its bound; notBefore after notAfter; reason not -1 or
     * 0..10 without 7; a REVOKED record without revoked_at), HS_ERR_INPUT_EXISTS (serial
     * already recorded), HS_ERR_IO (the store failed; the record must be treated as not
     * written). */
    HS_MUST_USE hs_result (*put)(struct st_inventory *inv, const struct st_cert_record *rec);
    /* Reads the record of serial_hex, of any kind, into *out (written only on success; a
     * record stored before records had a kind reads as ST_KIND_X509). Errors:
     * HS_ERR_INPUT_FIELD (serial), HS_ERR_INPUT_NOT_FOUND, HS_ERR_IO (including a stored row
     * that does not fit the record). */
    HS_MUST_USE hs_result (*get)(struct st_inventory *inv, const char *serial_hex,
                                 struct st_cert_record *out);
    /* Marks serial_hex (of any kind) revoked at `at` with `reason` and bumps the revocation generation,
     * durably. Revoking a revoked certificate changes nothing and is not an error (*changed is
     * set false); changed may be NULL. Errors: HS_ERR_INPUT_FIELD (serial), HS_ERR_INPUT_RANGE
     * (at <= 0; reason as for put), HS_ERR_INPUT_NOT_FOUND, HS_ERR_IO. */
    HS_MUST_USE hs_result (*revoke)(struct st_inventory *inv, const char *serial_hex, time_t at,
                                    int reason, bool *changed);
    /* Lists the revoked X.509 certificates (kind ST_KIND_X509 only: the CRL's entries; a
     * revoked SSH certificate belongs in a KRL and is never listed here) whose notAfter is at
     * or after not_after_from (expired ones may leave the CRL, RFC 5280 §3.3), ordered by serial_hex as text (numeric order for
     * serials of one length, which sgn_cert issues), from one consistent snapshot. Writes at
     * most max entries to out (NULL when max is 0) and the total count to *n; HS_ERR_BOUNDS when
     * there are more than max, with *n set to the total and out holding the first max. Errors:
     * HS_ERR_IO (out may be partly written, *n is not). */
    HS_MUST_USE hs_result (*list_revoked)(struct st_inventory *inv, time_t not_after_from,
                                          struct st_revoked_entry *out, size_t max, size_t *n);
    /* Lists the revoked SSH certificates (kind ST_KIND_SSH only: a KRL's entries) whose notAfter
     * is at or after not_after_from (an expired certificate is refused by sshd anyway), ordered
     * by issuer_key_sha256 (as bytes) and then by serial (as numbers), so each CA key's serials
     * are one run, ascending, as a KRL_SECTION_CERTIFICATES wants them. From one consistent
     * snapshot (SQLite; DynamoDB: as list_revoked, see st_dynamodb.h). Writes at most max
     * entries to out (NULL when max is 0) and the total count to *n; HS_ERR_BOUNDS when there
     * are more than max, with *n set to the total and out holding the first max. A record from
     * before the inventory knew issuers lists with an all-zero issuer_key_sha256 (first): a
     * KRL revokes it in a section with an empty ca_key, which applies to every CA
     * (PROTOCOL.krl; serials being one namespace, that revokes nothing else of ours). Errors:
     * HS_ERR_IO (also a stored SSH serial that is not a uint64; out may be partly written, *n
     * is not). */
    HS_MUST_USE hs_result (*list_revoked_ssh)(struct st_inventory *inv, time_t not_after_from,
                                              struct st_ssh_revoked_entry *out, size_t max,
                                              size_t *n);
    /* One page of the listing (struct st_list_query): the records matching every filter, in
     * the listing's order, after q->after; at most q->limit into page->records, page->n their
     * count. page->more is true when another page may follow, and page->next is where it
     * starts: after the last record returned when one more match exists, or after the last
     * record examined when the call stopped at ST_INV_LIST_EXAMINE_MAX records examined (so a
     * page may hold fewer than limit records, even none, and still have more: a name filter
     * that matches rarely cannot make one call read the whole inventory). A page whose more
     * is false is the last. Reads one consistent snapshot per call (SQLite; DynamoDB: see
     * st_dynamodb.h, which also gives the cost). Errors: HS_ERR_INPUT_FIELD /
     * HS_ERR_INPUT_RANGE (a query st_inv_list_query_check refuses), HS_ERR_IO, HS_ERR_NOMEM. */
    HS_MUST_USE hs_result (*list)(struct st_inventory *inv, const struct st_list_query *q,
                                  struct st_list_page *page);
    /* Returns the next CRL number (1, 2, ...), durably advanced so that it never repeats
     * across restarts (RFC 5280 §5.2.3). Errors: HS_ERR_IO. */
    HS_MUST_USE hs_result (*next_crl_number)(struct st_inventory *inv, uint64_t *out);
    /* The revocation generation: a counter that grows with every revocation that changed
     * something (so a cached CRL knows it is stale). Kept in the store and loaded at open; it
     * grows only after the revocation is committed and visible to list_revoked, so a CRL built
     * from a list read after this call is at least as new as the value returned. Cheap (an
     * atomic read; the DynamoDB store reads the table at most once a second); 0 for NULL. */
    uint64_t (*generation)(struct st_inventory *inv);
    /* The key generation records (st_keygen.h, which says what each does and validates their
     * input before calling these). */
    HS_MUST_USE hs_result (*keygen_put)(struct st_inventory *inv, const char *request_id,
                                        const char *owner, time_t now, time_t expires);
    HS_MUST_USE hs_result (*keygen_complete)(struct st_inventory *inv, const char *request_id,
                                             enum st_keygen_status status,
                                             const unsigned char *blob, size_t blob_len, time_t now,
                                             time_t expires);
    HS_MUST_USE hs_result (*keygen_take)(struct st_inventory *inv, const char *request_id,
                                         const char *owner, time_t now,
                                         enum st_keygen_status *status, struct hs_buf **out);
    HS_MUST_USE hs_result (*keygen_cancel)(struct st_inventory *inv, const char *request_id,
                                           const char *owner);
    /* Commits everything queued, stops the writer, closes the store and frees inv (NULL
     * accepted). No other call on inv may run or start once close has begun. */
    void (*close)(struct st_inventory *inv);
};

/* Every store starts with this header; the rest is the store's own. */
struct st_inventory {
    const struct st_inventory_ops *ops;
};

/* Opens (creating if needed, mode 0600, never through a symlink) the SQLite inventory at path,
 * in WAL mode with synchronous=FULL, creates its schema or upgrades an older one in place, in
 * one transaction (PRAGMA user_version: 1 had no kind column, 2 has it, 3 added the issuer key,
 * 4 the keygen table of st_keygen.h, 5 issued_at and the listing's indexes), and
 * starts its group-commit writer thread. A batch holds at most 256 operations. Needs SQLite
 * 3.37 or later (STRICT tables, RETURNING). Errors: HS_ERR_INPUT_CONFIG (path is not a regular
 * file, or group or others have any access to it; schema newer than this build; SQLite too old
 * or not thread-safe), HS_ERR_IO naming the path and SQLite's message (including a file that
 * is not an inventory), HS_ERR_NOMEM. path is copied. Close with st_inventory_close(). */
HS_RESULT st_sqlite_open(const char *path, struct st_inventory **out);

/* Writes serial as an SSH serial is spelled in the inventory: its big-endian octets without
 * leading zero octets, two lowercase hex digits each ("0a" for 10, "0" for 0), as
 * sgn_cert_serial_hex spells an X.509 serial of the same value. out has out_len bytes, at
 * least ST_INV_SSH_SERIAL_MAX + 1. Errors: HS_ERR_BOUNDS. */
HS_RESULT st_ssh_serial_hex(uint64_t serial, char *out, size_t out_len);

/* Reads an SSH serial written by st_ssh_serial_hex, and only that spelling (1..16 lowercase hex
 * digits, an even count, no leading zero octet; "0" alone for 0). Errors: HS_ERR_INTERNAL (NULL),
 * HS_ERR_INPUT_FIELD. */
HS_RESULT st_ssh_serial_parse(const char *serial_hex, uint64_t *out);

/* Calls inv->ops->close (NULL accepted); for HS_DEFER, st_inventory_closep. */
void st_inventory_close(struct st_inventory *inv);
void st_inventory_closep(struct st_inventory **inv);

/* Statistics of the SQLite store, for tests and the benchmark: transactions committed and
 * the put records they held (records / commits > 1 shows group commit at work). Writes zeros
 * for NULL or for a store that is not the SQLite one. */
struct st_inventory_stats {
    uint64_t commits;
    uint64_t records;
};
void st_sqlite_stats(struct st_inventory *inv, struct st_inventory_stats *out);

#endif /* ST_INVENTORY_H */
