/*
 * p11_key: a private key on the token, its public half as an OpenSSL EVP_PKEY, and key pair
 * generation (PKCS#11 v2.40 §5.13 C_GenerateKeyPair, §5.7 C_FindObjects).
 *
 * A key is named by an RFC 7512 PKCS#11 URI ("pkcs11:token=dev;object=int-ca;type=private",
 * parsed with p11-kit; object= and id= both select) or by a bare CKA_LABEL. Its object handle
 * is cached only for the pool epoch in which it was found, so a re-opened session never uses a
 * stale handle. Keys are reference counted and hold a pointer to their pool, which must outlive
 * them.
 */
#ifndef P11_KEY_H
#define P11_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>

#include "common/hs_err.h"
#include "pkcs11/p11_pool.h"

#define P11_LABEL_MAX 128    /* bytes of a CKA_LABEL we create or search for */
#define P11_ID_MAX 64        /* bytes of a CKA_ID */
#define P11_KEY_REF_MAX 1024 /* bytes of a key reference (URI or label) */

enum p11_key_type {
    P11_KEY_RSA,
    P11_KEY_EC_P256,
    P11_KEY_EC_P384,
    P11_KEY_ED25519,
};

struct p11_key;

/* Finds the private key named by ref (RFC 7512 URI or label) on the pool's token and reads its
 * public half (from the matching CKO_PUBLIC_KEY, same CKA_ID). A URI whose token= differs from
 * the pool's token is refused. Errors: HS_ERR_HSM_KEY_NOT_FOUND (none, or more than one match;
 * the detail names the reference), HS_ERR_INPUT_CONFIG (bad URI), HS_ERR_INPUT_KEY (key type
 * or curve we do not sign with), HS_ERR_HSM_*. The caller frees *out with p11_key_free(). */
HS_RESULT p11_key_find(struct p11_pool *pool, const char *ref, struct p11_key **out);

/* Finds the private key whose public half equals pub: scans the token's CKO_PUBLIC_KEY objects
 * (at most 256) for a matching key, then loads the private key with the same CKA_ID (its
 * public half is the matching object's, not read again). Used to tie exported material (a
 * certificate, a JWK) back to the token. Errors: HS_ERR_HSM_KEY_NOT_FOUND (no match, no private
 * key with the match's CKA_ID, or one of another key type), HS_ERR_HSM_*.
 * The caller frees *out with p11_key_free(). */
HS_RESULT p11_key_find_by_public(struct p11_pool *pool, EVP_PKEY *pub, struct p11_key **out);

struct p11_keygen_spec {
    enum p11_key_type type;
    unsigned int rsa_bits;   /* 2048, 3072 or 4096 for P11_KEY_RSA; ignored otherwise */
    const char *label;       /* CKA_LABEL, 1..P11_LABEL_MAX bytes */
    const unsigned char *id; /* CKA_ID; NULL = 16 random bytes */
    size_t id_len;
};

/* Generates a key pair in the token: the private key has CKA_TOKEN, CKA_PRIVATE,
 * CKA_SENSITIVE=TRUE, CKA_EXTRACTABLE=FALSE, CKA_SIGN=TRUE and CKA_DECRYPT/CKA_UNWRAP/
 * CKA_DERIVE false (set explicitly: CloudHSM defaults keys to extractable). The attributes are
 * read back and, if the token did not honour them, the pair is destroyed and the call fails.
 * An existing object with the same label or id is refused, and so is a key the token's probed
 * *_KEY_PAIR_GEN mechanism does not offer. Emits an "hsm.keygen" audit event.
 * Errors: HS_ERR_HSM_MECHANISM, HS_ERR_INPUT_EXISTS, HS_ERR_INPUT_KEY (RSA below 2048 / above
 * 4096 bits, bad label), HS_ERR_HSM_KEY_ATTRIBUTES, HS_ERR_HSM_*. The caller frees *out with
 * p11_key_free(). */
HS_RESULT p11_key_generate(struct p11_pool *pool, const struct p11_keygen_spec *spec,
                           struct p11_key **out);

/* Takes a reference; returns k. */
struct p11_key *p11_key_up_ref(struct p11_key *k);
/* Drops a reference (NULL accepted). */
void p11_key_free(struct p11_key *k);
void p11_key_freep(struct p11_key **k);

/* Lends the public key (an EVP_PKEY without private material; valid while k lives). */
EVP_PKEY *p11_key_get0_public(const struct p11_key *k);
enum p11_key_type p11_key_type(const struct p11_key *k);
/* Key size in bits (modulus size, curve size, 255 for Ed25519). */
unsigned int p11_key_bits(const struct p11_key *k);
/* Lends the label ("" when the object has none) and the CKA_ID bytes. */
const char *p11_key_label(const struct p11_key *k);
const unsigned char *p11_key_id(const struct p11_key *k, size_t *out_len);
struct p11_pool *p11_key_get0_pool(const struct p11_key *k);

/* Returns the private key's object handle valid under call->epoch, finding it again when the
 * cached one belongs to an older epoch. Used by operations inside p11_pool_run(). Errors:
 * HS_ERR_HSM_KEY_NOT_FOUND, HS_ERR_HSM_*. */
HS_RESULT p11_key_handle(struct p11_key *k, const struct p11_call *call, CK_OBJECT_HANDLE *out);

/* The private key's protection attributes as the token reports them. */
struct p11_key_attrs {
    bool token, private_, sensitive, extractable, always_sensitive, never_extractable;
    bool sign, decrypt, unwrap, derive; /* an attribute the key type lacks reads as false */
};

/* Reads the attributes above. The first call after the key was found answers with the values
 * the load read in the same C_GetAttributeValue as the key's type, id and label (PKCS#11 v2.40
 * §5.7; one round trip less per key at start on a network HSM); every later call asks the
 * token. Errors: HS_ERR_HSM_*. */
HS_RESULT p11_key_get_attrs(struct p11_key *k, struct p11_key_attrs *out);

/* Fails with HS_ERR_HSM_KEY_ATTRIBUTES (detail names the attribute) unless the key is a token
 * object that is private, sensitive, always sensitive, not extractable, never extractable, may
 * sign, and may not decrypt, unwrap or derive. */
HS_RESULT p11_key_check_protected(struct p11_key *k);

/* The key size a token's mechanism info speaks of for a key of this type: the modulus bits
 * for RSA (rsa_bits), the field size for EC (256, 384) and Ed25519 (256). */
unsigned int p11_key_type_mech_bits(enum p11_key_type type, unsigned int rsa_bits);

/* Short name of a key type: "RSA", "EC-P256", "EC-P384", "Ed25519". */
const char *p11_key_type_name(enum p11_key_type type);

#endif /* P11_KEY_H */
