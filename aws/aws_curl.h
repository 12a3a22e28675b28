#ifndef AWS_CURL_H
#define AWS_CURL_H

#include <curl/curl.h>

#include "common/hs_err.h"

/*
 * libcurl, loaded when first needed rather than linked. libcurl pulls in some thirty shared
 * libraries (TLS, Kerberos, LDAP, IDN, compression ...), and relocating them took ~4.4 ms of CPU
 * at every process start (measured on the 2-core bench machine: an empty program linked with
 * -lcurl against one linked with nothing), while hsmsignd with a SQLite inventory and no AWS
 * client never makes an outbound request. So aws/ calls libcurl only through this table, which
 * dlopen()s "libcurl.so.4" (its soname since 2006; the one -lcurl links) on first use.
 * Only aws/ includes this header; other rooms that call libcurl link it as usual.
 */

struct aws_curl_api {
    CURLcode (*global_init)(long flags);
    CURLcode (*global_init_mem)(long flags, curl_malloc_callback m, curl_free_callback f,
                                curl_realloc_callback r, curl_strdup_callback s,
                                curl_calloc_callback c);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    void (*easy_reset)(CURL *curl);
    void (*easy_cleanup)(CURL *curl);
    const char *(*easy_strerror)(CURLcode code);
    CURLHcode (*easy_header)(CURL *curl, const char *name, size_t index, unsigned int origin,
                             int request, struct curl_header **hout);
    char *(*easy_escape)(CURL *curl, const char *s, int length);
    void (*free)(void *p);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
    void (*slist_free_all)(struct curl_slist *list);
    CURLU *(*url)(void);
    void (*url_cleanup)(CURLU *u);
    CURLUcode (*url_get)(const CURLU *u, CURLUPart what, char **part, unsigned int flags);
    CURLUcode (*url_set)(CURLU *u, CURLUPart what, const char *part, unsigned int flags);
};

/*
 * The table, loading libcurl on the first call (once per process, thread-safe). Never NULL:
 * when libcurl cannot be loaded (or is older than 7.85.0, which aws_http needs) every entry
 * fails the way libcurl's own would (easy_init, url, escape and slist_append give NULL;
 * global_init, perform, setopt and getinfo give CURLE_FAILED_INIT; easy_header gives
 * CURLHE_NOT_BUILT_IN; url_get and url_set give CURLUE_OUT_OF_MEMORY; the rest do nothing)
 * and aws_curl_check() says why. The table is static: nothing to free.
 */
const struct aws_curl_api *aws_curl(void);

/* HS_OK when libcurl is loaded (loading it if need be); else HS_ERR_INTERNAL with the
 * loader's reason in the error detail. */
HS_RESULT aws_curl_check(void);

#endif /* AWS_CURL_H */
