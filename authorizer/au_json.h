/*
 * au_json: the strict JSON and base64url decoding hsmsign-authorizer applies to everything it
 * reads (its config, JWS headers and claims, JWKS documents, API Gateway events).
 */
#ifndef AU_JSON_H
#define AU_JSON_H

#include <stddef.h>

#include <json-c/json.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"

/* Nesting allowed in a config, JWS header or claims set, JWKS or event. */
#define AU_JSON_DEPTH_MAX 16

/* Parses text[0..len) as exactly one JSON object (hs_json_parse_object: at most max_len bytes,
 * AU_JSON_DEPTH_MAX deep, strict, UTF-8) and refuses a member name that appears twice in one
 * object (RFC 8259 §4 leaves duplicates undefined; RFC 7515 §5.2 lets a JWS consumer reject
 * them, and json-c would silently keep the last); at most 512 members in one object and 1024 in
 * the objects open at any point. Errors: HS_ERR_INPUT_TOO_LARGE,
 * HS_ERR_INPUT_JSON (the detail names a duplicate member, at most 64 bytes of it), HS_ERR_NOMEM.
 * The caller releases *out with json_object_put(). */
HS_RESULT au_json_parse(const char *text, size_t len, size_t max_len, json_object **out);

/* Decodes the unpadded base64url text s[0..n) (RFC 4648 §5, as RFC 7515 §2 uses it) into out,
 * strictly: only [A-Za-z0-9_-], no padding or white space, no length of 4k+1, and the unused
 * low bits of the last character zero (one encoding per value). Errors: HS_ERR_INPUT (not
 * base64url), HS_ERR_BOUNDS (over out's maximum), HS_ERR_NOMEM. */
HS_RESULT au_b64url_decode(const char *s, size_t n, struct hs_buf *out);

#endif /* AU_JSON_H */
