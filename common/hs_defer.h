/*
 * hs_defer: cleanup functions for HS_DEFER over the library types every module uses
 * (libcrypto objects, json-c objects, heap strings). Each accepts a pointer to a NULL object.
 */
#ifndef HS_DEFER_H
#define HS_DEFER_H

#include <pthread.h>
#include <stdlib.h>

#include <json-c/json.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/hs_err.h"

HS_DEFINE_FREEP(hs_x509_freep, X509, X509_free)
HS_DEFINE_FREEP(hs_x509_req_freep, X509_REQ, X509_REQ_free)
HS_DEFINE_FREEP(hs_x509_crl_freep, X509_CRL, X509_CRL_free)
HS_DEFINE_FREEP(hs_x509_name_freep, X509_NAME, X509_NAME_free)
HS_DEFINE_FREEP(hs_x509_store_freep, X509_STORE, X509_STORE_free)
HS_DEFINE_FREEP(hs_x509_store_ctx_freep, X509_STORE_CTX, X509_STORE_CTX_free)
HS_DEFINE_FREEP(hs_x509_extension_freep, X509_EXTENSION, X509_EXTENSION_free)
HS_DEFINE_FREEP(hs_x509_algor_freep, X509_ALGOR, X509_ALGOR_free)
HS_DEFINE_FREEP(hs_evp_pkey_freep, EVP_PKEY, EVP_PKEY_free)
HS_DEFINE_FREEP(hs_evp_pkey_ctx_freep, EVP_PKEY_CTX, EVP_PKEY_CTX_free)
HS_DEFINE_FREEP(hs_evp_md_ctx_freep, EVP_MD_CTX, EVP_MD_CTX_free)
HS_DEFINE_FREEP(hs_evp_md_freep, EVP_MD, EVP_MD_free)
HS_DEFINE_FREEP(hs_bio_freep, BIO, BIO_free_all)
HS_DEFINE_FREEP(hs_bn_freep, BIGNUM, BN_free)
HS_DEFINE_FREEP(hs_asn1_integer_freep, ASN1_INTEGER, ASN1_INTEGER_free)
HS_DEFINE_FREEP(hs_asn1_octet_string_freep, ASN1_OCTET_STRING, ASN1_OCTET_STRING_free)
HS_DEFINE_FREEP(hs_asn1_time_freep, ASN1_TIME, ASN1_TIME_free)
HS_DEFINE_FREEP(hs_general_names_freep, GENERAL_NAMES, GENERAL_NAMES_free)
HS_DEFINE_FREEP(hs_basic_constraints_freep, BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free)
HS_DEFINE_FREEP(hs_ossl_param_freep, OSSL_PARAM, OSSL_PARAM_free)
HS_DEFINE_FREEP(hs_json_putp, json_object, json_object_put)
HS_DEFINE_FREEP(hs_json_tokener_freep, json_tokener, json_tokener_free)
HS_DEFINE_FREEP(hs_ossl_freep, unsigned char, OPENSSL_free)
HS_DEFINE_FREEP(hs_ossl_str_freep, char, OPENSSL_free)
HS_DEFINE_FREEP(hs_free_strp, char, free)
HS_DEFINE_FREEP(hs_ossl_strp, char, OPENSSL_free)

static inline void hs_x509_extension_stack_freep(STACK_OF(X509_EXTENSION) * *p)
{
    sk_X509_EXTENSION_pop_free(*p, X509_EXTENSION_free);
}

static inline void hs_x509_stack_freep(STACK_OF(X509) * *p)
{
    sk_X509_pop_free(*p, X509_free);
}

/* A mutex held for a scope: HS_DEFER(pthread_mutex_t *held = hs_mutex_lock(&m),
 * hs_mutex_unlockp) locks m and unlocks it on every way out. */
static inline pthread_mutex_t *hs_mutex_lock(pthread_mutex_t *m)
{
    pthread_mutex_lock(m);
    return m;
}

static inline void hs_mutex_unlockp(pthread_mutex_t **m)
{
    if (*m != NULL) {
        pthread_mutex_unlock(*m);
    }
}

#endif /* HS_DEFER_H */
