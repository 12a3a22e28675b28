/*
 * Declarations shared inside pkcs11/ only. Nothing outside this folder includes this file.
 */
#ifndef P11_INTERNAL_H
#define P11_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <p11-kit/pkcs11.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"
#include "pkcs11/p11_error.h"
#include "pkcs11/p11_pool.h"

/* Most objects a search may return before it is called ambiguous. */
#define P11_FIND_MAX 16
/* Largest attribute value we read (an RSA-4096 modulus is 512 bytes). */
#define P11_ATTR_MAX 4096

/* Runs C_FindObjectsInit/C_FindObjects/C_FindObjectsFinal for tmpl and stores up to max
 * handles in out, their number in *out_count (a count of max means "max or more"). Final is
 * called on every path. Errors: HS_ERR_HSM_*. */
HS_RESULT p11_find_objects(const struct p11_call *call, CK_ATTRIBUTE *tmpl, CK_ULONG n,
                           CK_OBJECT_HANDLE *out, size_t max, size_t *out_count);

/* Appends the value of attribute type of obj to out: one C_GetAttributeValue into the room left
 * in out (at most P11_ATTR_MAX bytes), the size queried first only when that answers
 * CKR_BUFFER_TOO_SMALL. Errors: HS_ERR_HSM_* (CKR_ATTRIBUTE_TYPE_INVALID, CKR_ATTRIBUTE_SENSITIVE...), HS_ERR_BOUNDS. */
HS_RESULT p11_attr_read(const struct p11_call *call, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
                        struct hs_buf *out);

/* One attribute to read into a buffer (p11_attrs_read). */
struct p11_attr_want {
    CK_ATTRIBUTE_TYPE type;
    struct hs_buf *out;
};
#define P11_ATTRS_MAX 4 /* attributes p11_attrs_read asks for in one call */

/* Appends the values of n (1..P11_ATTRS_MAX) attributes of obj, each to its own buffer, in one
 * C_GetAttributeValue (one round trip on a network HSM). When the module does not give every
 * value (an attribute the object lacks, one over the room left in its buffer), each is read
 * alone with p11_attr_read, whose errors are then the result. Errors: as p11_attr_read,
 * HS_ERR_INTERNAL (n out of range). */
HS_RESULT p11_attrs_read(const struct p11_call *call, CK_OBJECT_HANDLE obj,
                         const struct p11_attr_want *want, size_t n);

/* Reads a CK_BBOOL attribute; one the object does not have (CKR_ATTRIBUTE_TYPE_INVALID) reads
 * as false. Errors: HS_ERR_HSM_*. */
HS_RESULT p11_attr_bool(const struct p11_call *call, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
                        bool *out);

/* Reads a CK_ULONG attribute. Errors: HS_ERR_HSM_*. */
HS_RESULT p11_attr_ulong(const struct p11_call *call, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
                         CK_ULONG *out);

#endif /* P11_INTERNAL_H */
