#include "pkcs11/p11_module.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/hs_log.h"
#include "pkcs11/p11_error.h"

#define P11_MODULE_PATH_MAX 4096
#define P11_SLOTS_MAX 1024

struct p11_module {
    atomic_int refs;
    void *dl;
    CK_FUNCTION_LIST *fn;
    char *path;
    pthread_mutex_t lock; /* serialises re-initialisation after fork */
    pid_t pid;            /* process that last ran C_Initialize */
};

static CK_RV p11_module_initialize(CK_FUNCTION_LIST *fn)
{
    /* CKF_OS_LOCKING_OK: the library may use the OS's locking, so we can call it from many
     * threads without supplying mutex callbacks (PKCS#11 v2.40 §5.4, C_Initialize). */
    CK_C_INITIALIZE_ARGS args;
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    return fn->C_Initialize(&args);
}

static void p11_dlclosep(void **dl)
{
    if (*dl != NULL) {
        dlclose(*dl);
    }
}

/* Initialises fn and makes the module object around it; dl (NULL for a function list given
 * directly) is the module's only on success. */
static HS_RESULT p11_module_wrap(void *dl, CK_FUNCTION_LIST *fn, const char *path,
                                 struct p11_module **out)
{
    CK_RV rv = p11_module_initialize(fn);
    HS_ENSURE_MSG(rv == CKR_OK, HS_ERR_HSM_MODULE, "%s: C_Initialize: %s", path, p11_ckr_name(rv));
    struct p11_module *m = OPENSSL_zalloc(sizeof(*m));
    char *path_copy = OPENSSL_strdup(path);
    if (m == NULL || path_copy == NULL) {
        fn->C_Finalize(NULL);
        OPENSSL_free(m);
        OPENSSL_free(path_copy);
        HS_BAIL(HS_ERR_NOMEM);
    }
    atomic_init(&m->refs, 1);
    pthread_mutex_init(&m->lock, NULL);
    m->dl = dl;
    m->fn = fn;
    m->path = path_copy;
    m->pid = getpid();
    hs_log(HS_LOG_INFO, "hsm.module.loaded", HS_LOG_STR("module", path),
           HS_LOG_INT("cryptoki_major", fn->version.major),
           HS_LOG_INT("cryptoki_minor", fn->version.minor));
    *out = m;
    return HS_OK;
}

HS_RESULT p11_module_load(const char *path, struct p11_module **out)
{
    HS_ENSURE_REF(path);
    HS_ENSURE_MSG(strnlen(path, P11_MODULE_PATH_MAX) < P11_MODULE_PATH_MAX, HS_ERR_INPUT_CONFIG,
                  "module path too long");
    /* RTLD_NODELETE: a vendor module may register exit handlers or thread-local destructors;
     * it must stay mapped until the process ends (and leak reports keep its symbols). */
    HS_DEFER(void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE), p11_dlclosep);
    HS_ENSURE_MSG(dl != NULL, HS_ERR_HSM_MODULE, "cannot load PKCS#11 module %s", path);
    CK_C_GetFunctionList get_list = NULL;
    /* POSIX: the object pointer returned by dlsym converts to a function pointer. */
    *(void **)(&get_list) = dlsym(dl, "C_GetFunctionList");
    HS_ENSURE_MSG(get_list != NULL, HS_ERR_HSM_MODULE, "%s has no C_GetFunctionList", path);
    CK_FUNCTION_LIST *fn = NULL;
    CK_RV rv = get_list(&fn);
    HS_ENSURE_MSG(rv == CKR_OK && fn != NULL, HS_ERR_HSM_MODULE, "%s: C_GetFunctionList: %s", path,
                  p11_ckr_name(rv));
    HS_GUARD(p11_module_wrap(dl, fn, path, out));
    dl = NULL; /* the module owns it now */
    return HS_OK;
}

HS_RESULT p11_module_from_functions(CK_FUNCTION_LIST *fn, const char *name, struct p11_module **out)
{
    HS_ENSURE_REF(fn);
    HS_ENSURE_REF(name);
    HS_ENSURE_MSG(strnlen(name, P11_MODULE_PATH_MAX) < P11_MODULE_PATH_MAX, HS_ERR_INPUT_CONFIG,
                  "module name too long");
    return p11_module_wrap(NULL, fn, name, out);
}

struct p11_module *p11_module_up_ref(struct p11_module *m)
{
    atomic_fetch_add(&m->refs, 1);
    return m;
}

void p11_module_free(struct p11_module *m)
{
    if (m == NULL || atomic_fetch_sub(&m->refs, 1) != 1) {
        return;
    }
    if (m->pid == getpid()) {
        m->fn->C_Finalize(NULL);
    }
    if (m->dl != NULL) {
        dlclose(m->dl);
    }
    pthread_mutex_destroy(&m->lock);
    OPENSSL_free(m->path);
    OPENSSL_free(m);
}

void p11_module_freep(struct p11_module **m)
{
    p11_module_free(*m);
}

CK_FUNCTION_LIST *p11_module_get0_functions(const struct p11_module *m)
{
    return m->fn;
}

const char *p11_module_path(const struct p11_module *m)
{
    return m->path;
}

/* Compares a NUL-terminated label with a blank-padded, unterminated 32-byte token label. */
static bool p11_label_equal(const char *label, const CK_UTF8CHAR padded[32])
{
    size_t n = strlen(label);
    if (n > 32 || memcmp(label, padded, n) != 0) {
        return false;
    }
    for (size_t i = n; i < 32; i++) {
        if (padded[i] != ' ') {
            return false;
        }
    }
    return true;
}

HS_RESULT p11_module_find_token(struct p11_module *m, const char *label, CK_SLOT_ID *out)
{
    HS_ENSURE_REF(m);
    HS_ENSURE_REF(label);
    HS_ENSURE_MSG(strlen(label) <= 32, HS_ERR_INPUT_CONFIG, "token label longer than 32 bytes");
    CK_ULONG count = 0;
    HS_GUARD_CKR(m->fn->C_GetSlotList(CK_TRUE, NULL, &count));
    HS_ENSURE(count <= P11_SLOTS_MAX, HS_ERR_HSM);
    CK_SLOT_ID slots[P11_SLOTS_MAX];
    HS_GUARD_CKR(m->fn->C_GetSlotList(CK_TRUE, slots, &count));
    size_t matches = 0;
    CK_SLOT_ID found = 0;
    for (CK_ULONG i = 0; i < count; i++) {
        CK_TOKEN_INFO info;
        CK_RV rv = m->fn->C_GetTokenInfo(slots[i], &info);
        if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED) {
            continue;
        }
        HS_GUARD_CKR(rv);
        if ((info.flags & CKF_TOKEN_INITIALIZED) && p11_label_equal(label, info.label)) {
            found = slots[i];
            matches++;
        }
    }
    HS_ENSURE_MSG(matches == 1, HS_ERR_HSM_TOKEN_NOT_FOUND,
                  matches == 0 ? "no token labelled \"%s\"" : "several tokens labelled \"%s\"",
                  label);
    *out = found;
    return HS_OK;
}

HS_RESULT p11_module_check_fork(struct p11_module *m, bool *out_reinit)
{
    HS_ENSURE_REF(m);
    pid_t now = getpid();
    *out_reinit = false;
    if (now == m->pid) {
        return HS_OK;
    }
    pthread_mutex_lock(&m->lock);
    if (now != m->pid) {
        /* PKCS#11 v2.40 §6.7.1: a forked child must call C_Initialize before using the
         * library; handles inherited from the parent are meaningless. */
        CK_RV rv = p11_module_initialize(m->fn);
        if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
            m->fn->C_Finalize(NULL);
            rv = p11_module_initialize(m->fn);
        }
        if (rv != CKR_OK) {
            pthread_mutex_unlock(&m->lock);
            HS_BAIL_MSG(HS_ERR_HSM_MODULE, "C_Initialize after fork: %s", p11_ckr_name(rv));
        }
        m->pid = now;
        *out_reinit = true;
        hs_log(HS_LOG_INFO, "hsm.module.reinitialized", HS_LOG_STR("module", m->path),
               HS_LOG_INT("pid", now));
    }
    pthread_mutex_unlock(&m->lock);
    return HS_OK;
}
