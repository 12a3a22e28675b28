/*
 * p11_version: the PKCS#11 side of --version (issue 13): the p11-kit the program was built with
 * and, when a module is named, that module's CK_INFO (PKCS#11 v2.40 §5.4, C_GetInfo).
 */
#ifndef P11_VERSION_H
#define P11_VERSION_H

#include <stdio.h>

#include "common/hs_err.h"

/* Writes "p11-kit: VERSION (build)" to out and, when module_path is not NULL, loads that module
 * (dlopen, C_Initialize: no slot, session or login, so no PIN is needed), calls C_GetInfo and
 * writes
 *   Cryptoki module: PATH
 *     library: DESCRIPTION VERSION (MANUFACTURER)
 *     Cryptoki version: MAJOR.MINOR
 * then finalises and unloads it. The module's blank-padded strings are trimmed and any byte
 * that is not printable ASCII is written as '?'. Errors: HS_ERR_HSM_MODULE (the module cannot
 * be loaded or initialised), HS_ERR_HSM (C_GetInfo failed), HS_ERR_INPUT_CONFIG (path longer
 * than 4095 bytes). Nothing is allocated that outlives the call. */
HS_RESULT p11_version_print(FILE *out, const char *module_path);

#endif /* P11_VERSION_H */
