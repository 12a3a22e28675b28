/*
 * api_query: the query string of GET /v1/certificates (the inventory's listing, docs/api.md),
 * decoded and checked completely before anything reads the inventory, and the listing's
 * cursor.
 *
 * The query is RFC 3986 §3.4 form: "name=value" pairs joined by '&', percent-encoded (a '+'
 * is a plus sign, not a space: send a space as %20, as SigV4 canonicalises it). Parameters:
 *   status          good | revoked | expired
 *   kind            x509 | ssh (absent: both)
 *   requester       an exact principal, 1..ST_INV_PRINCIPAL_MAX bytes
 *   name            1..ST_INV_LIST_NAME_MAX bytes, a case-insensitive substring
 *   expires_before  RFC 3339 UTC, "YYYY-MM-DDTHH:MM:SSZ" (RFC 3339 §5.6 with offset Z, no
 *   expires_after   fraction): notAfter before / after it
 *   limit           1..ST_INV_LIST_MAX, default API_LIST_LIMIT_DEFAULT
 *   cursor          what the previous page answered
 * Values must be printable (no control characters once decoded). An unknown or repeated
 * parameter, a malformed escape, an empty or out-of-range value or a cursor that does not
 * parse is HS_ERR_INPUT_FIELD / HS_ERR_INPUT_RANGE whose detail names the parameter.
 *
 * The cursor is a position in the listing's order (st_list_position), base64url without
 * padding (RFC 4648 §5) of: version 1 (1 byte), notBefore (8 bytes, big-endian, seconds),
 * the serial's length (1 byte) and its hex digits, then the first 8 bytes of the SHA-256 of
 * all that. The checksum makes an edited or truncated cursor a 400 rather than a silent
 * jump; it is no secret and needs none: a cursor is only a place to continue from, it grants
 * nothing (the caller's rights are applied to every page), so one forged by hand lists what
 * the caller could list anyway.
 */
#ifndef API_QUERY_H
#define API_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "common/hs_err.h"
#include "store/st_inventory.h"

#define API_LIST_LIMIT_DEFAULT 50
#define API_QUERY_MAX 4096 /* bytes of a query string */
#define API_CURSOR_MAX 128 /* characters of a cursor */

/* A decoded listing query; the strings live in the struct. */
struct api_list_query {
    struct st_list_query q; /* requester and name point into the arrays below; after too */
    char requester[ST_INV_PRINCIPAL_MAX + 1];
    char name[ST_INV_LIST_NAME_MAX + 1];
    struct st_list_position after;
};

/* Decodes query[0..len) (the request-target after '?', or len 0) into *out, q.now set to now
 * (seconds since the epoch). out's pointers point into out itself: do not copy it. Errors: as
 * above. */
HS_RESULT api_list_query_decode(const char *query, size_t len, time_t now,
                                struct api_list_query *out);

/* Frees a query made with OPENSSL_zalloc (for HS_DEFER). */
void api_list_query_freep(struct api_list_query **q);

/* Writes the cursor of pos into out (NUL-terminated). Errors: HS_ERR_BOUNDS, HS_ERR_INTERNAL. */
HS_RESULT api_list_cursor_encode(const struct st_list_position *pos, char out[API_CURSOR_MAX + 1]);

#endif /* API_QUERY_H */
