#include "pkcs11/p11_version.h"

#include <stddef.h>

#include "pkcs11/p11_error.h"
#include "pkcs11/p11_module.h"

#ifndef HS_P11KIT_VERSION
#define HS_P11KIT_VERSION "unknown"
#endif

/* CK_INFO strings are blank-padded and not NUL-terminated (PKCS#11 v2.40 §3.1). */
static void p11_version_put_padded(FILE *out, const CK_UTF8CHAR *s, size_t n)
{
    while (n > 0 && s[n - 1] == ' ') {
        n--;
    }
    for (size_t i = 0; i < n; i++) {
        fputc(s[i] >= 0x20 && s[i] < 0x7f ? (int)s[i] : '?', out);
    }
}

HS_RESULT p11_version_print(FILE *out, const char *module_path)
{
    HS_ENSURE_REF(out);
    fputs("p11-kit: " HS_P11KIT_VERSION " (build)\n", out);
    if (module_path == NULL) {
        return HS_OK;
    }
    HS_DEFER(struct p11_module *m = NULL, p11_module_freep);
    HS_GUARD(p11_module_load(module_path, &m));
    CK_INFO info;
    HS_GUARD_CKR(p11_module_get0_functions(m)->C_GetInfo(&info));
    fprintf(out, "Cryptoki module: %s\n  library: ", module_path);
    p11_version_put_padded(out, info.libraryDescription, sizeof(info.libraryDescription));
    fprintf(out, " %u.%u (", (unsigned)info.libraryVersion.major,
            (unsigned)info.libraryVersion.minor);
    p11_version_put_padded(out, info.manufacturerID, sizeof(info.manufacturerID));
    fprintf(out, ")\n  Cryptoki version: %u.%u\n", (unsigned)info.cryptokiVersion.major,
            (unsigned)info.cryptokiVersion.minor);
    return HS_OK;
}
