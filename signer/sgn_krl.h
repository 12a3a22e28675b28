/*
 * sgn_krl: OpenSSH Key Revocation Lists (OpenSSH PROTOCOL.krl), as sshd's RevokedKeys and
 * `ssh-keygen -Q` read them, revoking certificates by CA key and serial.
 *
 * Layout: the header (uint64 KRL_MAGIC "SSHKRL\n\0", uint32 format version 1, uint64
 * krl_version, uint64 generated_date, uint64 flags 0, string reserved "", string comment), then
 * one KRL_SECTION_CERTIFICATES section per CA key (string ca_key, string reserved "", and the
 * revoked serials in ascending order as KRL_SECTION_CERT_SERIAL_LIST and
 * KRL_SECTION_CERT_SERIAL_RANGE subsections: a run of SGN_KRL_RANGE_MIN or more consecutive
 * serials is one range). The KRL is not signed: OpenSSH ignores KRL signatures.
 */
#ifndef SGN_KRL_H
#define SGN_KRL_H

#include <stddef.h>
#include <stdint.h>

#include "common/hs_buf.h"
#include "common/hs_err.h"

#define SGN_KRL_CAS_MAX 32              /* CA keys in one KRL */
#define SGN_KRL_SERIALS_MAX (1U << 20)  /* revoked serials of one CA */
#define SGN_KRL_MAX (32U * 1024 * 1024) /* bytes of a KRL */
#define SGN_KRL_COMMENT_MAX 256
#define SGN_KRL_RANGE_MIN 3 /* a range (16 bytes) beats a list from three serials on */

/* The revoked certificates of one CA: its public key blob (wire form) and n serials (any
 * order; duplicates are written once; 0 is refused, as OpenSSH does). Borrowed. */
struct sgn_krl_ca {
    const unsigned char *ca_blob;
    size_t ca_blob_len;
    const uint64_t *serials;
    size_t n_serials;
};

/* Appends a KRL revoking cas[0..n_cas) to out. krl_version is the KRL's version (a counter the
 * caller raises with every change), generated_date seconds since the epoch, comment printable
 * (NULL = ""). Each CA blob must parse as an OpenSSH public key (sgn_ssh_key_parse_blob) and
 * appear once. Errors: HS_ERR_INPUT_KEY (a CA blob), HS_ERR_INPUT_FIELD (a CA twice, serial 0,
 * bad comment), HS_ERR_INPUT_RANGE (too many CAs or serials), HS_ERR_BOUNDS, HS_ERR_NOMEM. */
HS_RESULT sgn_krl_write(const struct sgn_krl_ca *cas, size_t n_cas, uint64_t krl_version,
                        uint64_t generated_date, const char *comment, struct hs_buf *out);

#endif /* SGN_KRL_H */
