/* Dry-run plans: what a step would do, printed for the operators before they run it. Nothing
 * here loads the PKCS#11 module or writes a file. */
#include <stdarg.h>
#include <stdio.h>

#include "keyceremony/internal.h"

void kc_plan_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("  ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
}

void kc_plan_name(const char *what, const X509_NAME *name)
{
    printf("  %s: ", what);
    X509_NAME_print_ex_fp(stdout, name, 0, XN_FLAG_RFC2253);
    fputc('\n', stdout);
}

void kc_plan_time(const char *what, time_t t)
{
    char ts[32];
    sgn_time_rfc3339(t, ts);
    kc_plan_line("%s: %s", what, ts);
}

void kc_plan_keygen(const struct kc_config *cfg, const struct kc_key *key)
{
    kc_plan_line("generate key \"%s\" (%s) on token \"%s\" (module %s)", key->label,
                 kc_key_type_name(key), cfg->token.label, cfg->token.module);
    kc_plan_line("  CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, CKA_SIGN true; CKA_EXTRACTABLE, "
                 "CKA_DECRYPT, CKA_UNWRAP, CKA_DERIVE false; random 16-byte CKA_ID");
    kc_plan_line("  refused if an object with this label exists; the new key signs a test "
                 "message verified with its exported public key");
}

static void kc_plan_names(const char *what, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        kc_plan_line("    permitted %s: %s", what, names[i]);
    }
}

void kc_plan_template(const struct sgn_cert_template *t, const struct kc_cert *c)
{
    kc_plan_name("subject", t->subject);
    if (t->issuer != NULL) {
        kc_plan_name("issuer", X509_get_subject_name(t->issuer));
    } else {
        kc_plan_line("issuer: the subject (self-signed)");
    }
    kc_plan_line("serial: 128 random bits (positive, 16 octets)");
    kc_plan_time("notBefore", t->not_before);
    kc_plan_time("notAfter", t->not_after);
    if (t->path_len >= 0) {
        kc_plan_line("basicConstraints (critical): CA:%s, pathlen:%d", t->ca ? "TRUE" : "FALSE",
                     t->path_len);
    } else {
        kc_plan_line("basicConstraints (critical): CA:%s", t->ca ? "TRUE" : "FALSE");
    }
    kc_plan_line("keyUsage (critical):%s%s%s%s",
                 (t->key_usage & SGN_KU_DIGITAL_SIGNATURE) ? " digitalSignature" : "",
                 (t->key_usage & SGN_KU_KEY_ENCIPHERMENT) ? " keyEncipherment" : "",
                 (t->key_usage & SGN_KU_KEY_CERT_SIGN) ? " keyCertSign" : "",
                 (t->key_usage & SGN_KU_CRL_SIGN) ? " cRLSign" : "");
    if (t->eku != 0) {
        kc_plan_line("extendedKeyUsage:%s%s", (t->eku & SGN_EKU_SERVER_AUTH) ? " serverAuth" : "",
                     (t->eku & SGN_EKU_CLIENT_AUTH) ? " clientAuth" : "");
    }
    kc_plan_line("subjectKeyIdentifier: %s", t->ski != NULL ? "copied from the subject certificate"
                                                            : "SHA-1 of the public key");
    kc_plan_line("authorityKeyIdentifier: %s",
                 t->issuer != NULL ? "the issuer's subjectKeyIdentifier" : "its own SKI");
    if (c != NULL && c->npermitted_dns + c->npermitted_email > 0) {
        kc_plan_line("nameConstraints (critical):");
        kc_plan_names("DNS", c->permitted_dns, c->npermitted_dns);
        kc_plan_names("email", c->permitted_email, c->npermitted_email);
    }
    if (c != NULL && c->crl_distribution_point != NULL) {
        kc_plan_line("cRLDistributionPoints: %s", c->crl_distribution_point);
    }
    if (c != NULL && c->ca_issuers != NULL) {
        kc_plan_line("authorityInfoAccess caIssuers: %s", c->ca_issuers);
    }
    kc_plan_line("lint before C_Sign, signature verified after, chain verified "
                 "(X509_V_FLAG_X509_STRICT) before the file is written");
}
