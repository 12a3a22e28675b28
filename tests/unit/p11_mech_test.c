/*
 * p11_mech: the check that stops a key from being put to a use the token does not offer,
 * against synthesized mechanism tables (as C_GetMechanismList / C_GetMechanismInfo report them).
 */
#include <string.h>

#include "pkcs11/p11_mech.h"
#include "tests/testlib/hs_test.h"

static struct p11_mechs table;

static void offer(CK_MECHANISM_TYPE type, CK_ULONG min, CK_ULONG max, CK_FLAGS flags)
{
    table.type[table.n] = type;
    table.info[table.n] = (CK_MECHANISM_INFO){min, max, flags};
    table.n++;
}

HS_TEST(offered_mechanisms_pass_and_missing_ones_are_named)
{
    memset(&table, 0, sizeof(table));
    offer(CKM_ECDSA, 256, 384, CKF_SIGN | CKF_VERIFY);
    offer(CKM_SHA256_RSA_PKCS, 2048, 4096, CKF_SIGN);
    offer(CKM_RSA_PKCS_KEY_PAIR_GEN, 2048, 4096, CKF_GENERATE_KEY_PAIR);
    offer(CKM_SHA384_RSA_PKCS, 0, 0, CKF_SIGN); /* a token that leaves the range meaningless */
    offer(CKM_EDDSA, 256, 256, CKF_VERIFY);     /* verify only */
    HS_CHECK_OK(p11_mechs_require(&table, CKM_ECDSA, CKF_SIGN, 256, "signing"));
    HS_CHECK_OK(p11_mechs_require(&table, CKM_SHA256_RSA_PKCS, CKF_SIGN, 4096, "signing"));
    HS_CHECK_OK(p11_mechs_require(&table, CKM_SHA384_RSA_PKCS, CKF_SIGN, 8192, "signing"));
    HS_CHECK_OK(p11_mechs_require(&table, CKM_RSA_PKCS_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR, 3072,
                                  "key generation"));
    HS_CHECK_ERR(p11_mechs_require(&table, CKM_SHA256_RSA_PKCS_PSS, CKF_SIGN, 2048, "signing"),
                 HS_ERR_HSM_MECHANISM);
    HS_CHECK(strstr(hs_error_last()->detail, "CKM_SHA256_RSA_PKCS_PSS for signing") != NULL);
    HS_CHECK_ERR(p11_mechs_require(&table, CKM_EDDSA, CKF_SIGN, 256, "signing"),
                 HS_ERR_HSM_MECHANISM);
    HS_CHECK(strstr(hs_error_last()->detail, "does not offer CKM_EDDSA") != NULL);
    HS_CHECK_ERR(p11_mechs_require(&table, CKM_SHA256_RSA_PKCS, CKF_SIGN, 8192, "signing"),
                 HS_ERR_HSM_MECHANISM);
    HS_CHECK(strstr(hs_error_last()->detail, "2048..4096 bits, not 8192") != NULL);
    /* EC ranges are not compared (tokens disagree on their units). */
    HS_CHECK_OK(p11_mechs_require(&table, CKM_ECDSA, CKF_SIGN, 521, "signing"));
    HS_CHECK_ERR(p11_mechs_require(&table, CKM_ECDSA, CKF_GENERATE_KEY_PAIR, 256, "key generation"),
                 HS_ERR_HSM_MECHANISM);
    HS_CHECK(p11_mechs_find(&table, CKM_EC_KEY_PAIR_GEN) == NULL);
    HS_CHECK(p11_mechs_find(&table, CKM_ECDSA) == &table.info[0]);
}

HS_TEST(mechanism_names)
{
    HS_CHECK(strcmp(p11_mech_name(CKM_EDDSA), "CKM_EDDSA") == 0);
    HS_CHECK(strcmp(p11_mech_name(CKM_SHA384_RSA_PKCS_PSS), "CKM_SHA384_RSA_PKCS_PSS") == 0);
    HS_CHECK(strcmp(p11_mech_name(CKM_VENDOR_DEFINED + 7), "CKM_VENDOR_DEFINED") == 0);
    HS_CHECK(strcmp(p11_mech_name(0x7777), "CKM_UNKNOWN") == 0);
}

int main(void)
{
    return hs_test_main((const struct hs_test_case[]){
        HS_TEST_CASE(offered_mechanisms_pass_and_missing_ones_are_named),
        HS_TEST_CASE(mechanism_names),
        HS_TEST_END,
    });
}
