/*
 * svc_profile: certificate profiles, the one place that says what a "client" or a "server"
 * certificate is: its extended key usages (RFC 5280 §4.2.1.12), key usages (§4.2.1.3), lifetime
 * caps and whether it needs a DNS name.
 *
 * They come from the optional "profiles" member of the service config, strictly validated:
 *
 *   "profiles": {
 *     "client": {"extended_key_usage": ["clientAuth"]},
 *     "server": {"extended_key_usage": ["serverAuth"],
 *                "key_usage": ["digitalSignature", "keyEncipherment"],
 *                "require_dns_san": true, "max_ttl_hours": 24, "default_ttl_hours": 12}
 *   }
 *
 * Each member names one profile (1..16 of a-z 0-9 - _); the first listed is the one a request
 * naming none gets. "extended_key_usage" (required, non-empty): "serverAuth", "clientAuth".
 * "key_usage" (default ["digitalSignature"]): "digitalSignature", "keyEncipherment" (set only for
 * an RSA key: TLS RSA key transport; an EC or Ed25519 key cannot encipher). "require_dns_san"
 * (default false): the CSR must carry at least one DNS SAN. "max_ttl_hours" (1..ca.max_ttl_hours,
 * default ca.max_ttl_hours) caps what a request may ask for; "default_ttl_hours" (1..the
 * profile's max, default ca.default_ttl_hours capped by it) is used when it asks for nothing.
 * "rsa_public_exponents" (default {"min": 65537, "max": 65537}): the RSA public exponents a CSR's
 * key may have (sgn_csr_parse_ex), each bound a JSON integer or a string of decimal digits, odd,
 * 65537 <= min <= max < 2^256 (CA/Browser Forum BR 6.1.6), e.g. {"min": 65537, "max": "1157920892
 * 37316195423570985008687907853269984665640564039457584007913129639935"} (2^256 - 1, one string).
 * Unknown members, unknown usages, duplicates and out-of-range values are errors naming the
 * profile and field.
 *
 * Without "profiles" the service has the two profiles it always had: "client" (clientAuth,
 * digitalSignature; the default) and "server" (serverAuth, digitalSignature plus keyEncipherment
 * for RSA, at least one DNS SAN), both with the CA's lifetimes.
 */
#ifndef SVC_PROFILE_H
#define SVC_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "common/hs_err.h"
#include "signer/sgn_spki.h"
#include "store/st_inventory.h"

#define SVC_PROFILES_MAX 16
#define SVC_PROFILE_NAME_MAX ST_INV_PROFILE_MAX /* bytes of a profile name; it is recorded */

struct svc_profile {
    const char *name;       /* borrowed from the config document (or static for the defaults) */
    unsigned int eku;       /* enum sgn_eku bits; never 0 */
    unsigned int key_usage; /* SGN_KU_DIGITAL_SIGNATURE and/or SGN_KU_KEY_ENCIPHERMENT */
    bool require_dns_san;
    long default_ttl_s;                     /* seconds, 1..max_ttl_s */
    long max_ttl_s;                         /* seconds */
    struct sgn_rsa_exponents rsa_exponents; /* accepted RSA public exponents; 65537 by default */
};

/* The configured profiles; items[0] is the default. */
struct svc_profiles {
    struct svc_profile items[SVC_PROFILES_MAX];
    size_t n;
};

/* Parses the optional "profiles" member of doc into out (names stay owned by doc); without it,
 * out gets the default "client" and "server" profiles. default_ttl_s and max_ttl_s (seconds,
 * 3600-multiples, 1 h <= default <= max) are the CA's lifetimes that bound and default each
 * profile's. Errors: HS_ERR_INPUT_FIELD / HS_ERR_INPUT_RANGE / HS_ERR_INPUT_TOO_LARGE with a
 * detail naming the profile and field; out is then unspecified (nothing else changes). */
HS_RESULT svc_profiles_parse(json_object *doc, long default_ttl_s, long max_ttl_s,
                             struct svc_profiles *out);

/* The profile called name, the default (items[0]) for NULL, or NULL when none has that name. */
const struct svc_profile *svc_profiles_find(const struct svc_profiles *p, const char *name);

/* Writes the profile names as "a, b, c" into out (NUL-terminated, truncated to out_len - 1
 * bytes), for error details. */
void svc_profiles_names(const struct svc_profiles *p, char *out, size_t out_len);

#endif /* SVC_PROFILE_H */
