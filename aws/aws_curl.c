#include "aws/aws_curl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define AWS_CURL_SONAME "libcurl.so.4"
#define AWS_CURL_VERSION_MIN 0x075500 /* 7.85.0: CURLOPT_AWS_SIGV4, curl_easy_header */
#define AWS_CURL_WHY_MAX 256

/* --- the table used when libcurl cannot be loaded: every call fails ------------------------ */

static CURLcode aws_curl_no_global_init(long flags)
{
    (void)flags;
    return CURLE_FAILED_INIT;
}

static CURLcode aws_curl_no_global_init_mem(long flags, curl_malloc_callback m,
                                            curl_free_callback f, curl_realloc_callback r,
                                            curl_strdup_callback s, curl_calloc_callback c)
{
    (void)flags;
    (void)m;
    (void)f;
    (void)r;
    (void)s;
    (void)c;
    return CURLE_FAILED_INIT;
}

static void aws_curl_no_void(void)
{
}

static CURL *aws_curl_no_easy_init(void)
{
    return NULL;
}

static CURLcode aws_curl_no_easy_setopt(CURL *curl, CURLoption option, ...)
{
    (void)curl;
    (void)option;
    return CURLE_FAILED_INIT;
}

static CURLcode aws_curl_no_easy_perform(CURL *curl)
{
    (void)curl;
    return CURLE_FAILED_INIT;
}

static CURLcode aws_curl_no_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
    (void)curl;
    (void)info;
    return CURLE_FAILED_INIT;
}

static void aws_curl_no_easy(CURL *curl)
{
    (void)curl;
}

static const char *aws_curl_no_easy_strerror(CURLcode code)
{
    (void)code;
    return "libcurl is not loaded";
}

static CURLHcode aws_curl_no_easy_header(CURL *curl, const char *name, size_t index,
                                         unsigned int origin, int request,
                                         struct curl_header **hout)
{
    (void)curl;
    (void)name;
    (void)index;
    (void)origin;
    (void)request;
    (void)hout;
    return CURLHE_NOT_BUILT_IN;
}

static char *aws_curl_no_easy_escape(CURL *curl, const char *s, int length)
{
    (void)curl;
    (void)s;
    (void)length;
    return NULL;
}

static void aws_curl_no_free(void *p)
{
    (void)p;
}

static struct curl_slist *aws_curl_no_slist_append(struct curl_slist *list, const char *s)
{
    (void)list;
    (void)s;
    return NULL;
}

static void aws_curl_no_slist_free_all(struct curl_slist *list)
{
    (void)list;
}

static CURLU *aws_curl_no_url(void)
{
    return NULL;
}

static void aws_curl_no_url_cleanup(CURLU *u)
{
    (void)u;
}

static CURLUcode aws_curl_no_url_get(const CURLU *u, CURLUPart what, char **part,
                                     unsigned int flags)
{
    (void)u;
    (void)what;
    (void)part;
    (void)flags;
    return CURLUE_OUT_OF_MEMORY;
}

static CURLUcode aws_curl_no_url_set(CURLU *u, CURLUPart what, const char *part, unsigned int flags)
{
    (void)u;
    (void)what;
    (void)part;
    (void)flags;
    return CURLUE_OUT_OF_MEMORY;
}

static const struct aws_curl_api aws_curl_none = {
    .global_init = aws_curl_no_global_init,
    .global_init_mem = aws_curl_no_global_init_mem,
    .global_cleanup = aws_curl_no_void,
    .easy_init = aws_curl_no_easy_init,
    .easy_setopt = aws_curl_no_easy_setopt,
    .easy_perform = aws_curl_no_easy_perform,
    .easy_getinfo = aws_curl_no_easy_getinfo,
    .easy_reset = aws_curl_no_easy,
    .easy_cleanup = aws_curl_no_easy,
    .easy_strerror = aws_curl_no_easy_strerror,
    .easy_header = aws_curl_no_easy_header,
    .easy_escape = aws_curl_no_easy_escape,
    .free = aws_curl_no_free,
    .slist_append = aws_curl_no_slist_append,
    .slist_free_all = aws_curl_no_slist_free_all,
    .url = aws_curl_no_url,
    .url_cleanup = aws_curl_no_url_cleanup,
    .url_get = aws_curl_no_url_get,
    .url_set = aws_curl_no_url_set,
};

/* --- loading --------------------------------------------------------------------------------- */

static pthread_once_t aws_curl_once = PTHREAD_ONCE_INIT;
static struct aws_curl_api aws_curl_loaded;
static const struct aws_curl_api *aws_curl_table = &aws_curl_none;
static char aws_curl_why[AWS_CURL_WHY_MAX];

/* dlsym() into *slot; false (and the reason kept) when the symbol is missing. ISO C has no
 * conversion from void * to a function pointer; POSIX (dlsym) guarantees it, done through
 * memcpy of the pointer's bytes. */
static bool aws_curl_sym(void *lib, const char *name, void *slot, size_t slot_len)
{
    void *p = dlsym(lib, name);
    if (p == NULL || slot_len != sizeof(p)) {
        (void)snprintf(aws_curl_why, sizeof(aws_curl_why), "%s has no %s", AWS_CURL_SONAME, name);
        return false;
    }
    memcpy(slot, &p, sizeof(p));
    return true;
}

#define AWS_CURL_SYM(lib, t, field, name)                                                          \
    aws_curl_sym((lib), (name), &(t)->field, sizeof((t)->field))

static bool aws_curl_syms(void *lib, struct aws_curl_api *t)
{
    return AWS_CURL_SYM(lib, t, global_init, "curl_global_init") &&
           AWS_CURL_SYM(lib, t, global_init_mem, "curl_global_init_mem") &&
           AWS_CURL_SYM(lib, t, global_cleanup, "curl_global_cleanup") &&
           AWS_CURL_SYM(lib, t, easy_init, "curl_easy_init") &&
           AWS_CURL_SYM(lib, t, easy_setopt, "curl_easy_setopt") &&
           AWS_CURL_SYM(lib, t, easy_perform, "curl_easy_perform") &&
           AWS_CURL_SYM(lib, t, easy_getinfo, "curl_easy_getinfo") &&
           AWS_CURL_SYM(lib, t, easy_reset, "curl_easy_reset") &&
           AWS_CURL_SYM(lib, t, easy_cleanup, "curl_easy_cleanup") &&
           AWS_CURL_SYM(lib, t, easy_strerror, "curl_easy_strerror") &&
           AWS_CURL_SYM(lib, t, easy_header, "curl_easy_header") &&
           AWS_CURL_SYM(lib, t, easy_escape, "curl_easy_escape") &&
           AWS_CURL_SYM(lib, t, free, "curl_free") &&
           AWS_CURL_SYM(lib, t, slist_append, "curl_slist_append") &&
           AWS_CURL_SYM(lib, t, slist_free_all, "curl_slist_free_all") &&
           AWS_CURL_SYM(lib, t, url, "curl_url") &&
           AWS_CURL_SYM(lib, t, url_cleanup, "curl_url_cleanup") &&
           AWS_CURL_SYM(lib, t, url_get, "curl_url_get") &&
           AWS_CURL_SYM(lib, t, url_set, "curl_url_set");
}

static void aws_curl_load(void)
{
    /* The library stays loaded until exit (libcurl cannot be unloaded safely after use). */
    void *lib = dlopen(AWS_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        const char *e = dlerror();
        (void)snprintf(aws_curl_why, sizeof(aws_curl_why), "%s", e != NULL ? e : AWS_CURL_SONAME);
        return;
    }
    curl_version_info_data *(*version_info)(CURLversion) = NULL;
    if (!aws_curl_sym(lib, "curl_version_info", &version_info, sizeof(version_info)) ||
        !aws_curl_syms(lib, &aws_curl_loaded)) {
        return;
    }
    const curl_version_info_data *v = version_info(CURLVERSION_NOW);
    if (v == NULL || v->version_num < AWS_CURL_VERSION_MIN) {
        (void)snprintf(aws_curl_why, sizeof(aws_curl_why), "%s is %s; 7.85.0 or newer is needed",
                       AWS_CURL_SONAME, v != NULL && v->version != NULL ? v->version : "?");
        return;
    }
    aws_curl_table = &aws_curl_loaded;
}

const struct aws_curl_api *aws_curl(void)
{
    if (pthread_once(&aws_curl_once, aws_curl_load) != 0) {
        return &aws_curl_none;
    }
    return aws_curl_table;
}

HS_RESULT aws_curl_check(void)
{
    HS_ENSURE_MSG(aws_curl() != &aws_curl_none, HS_ERR_INTERNAL, "cannot load libcurl: %s",
                  aws_curl_why);
    return HS_OK;
}
