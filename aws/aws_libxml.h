#ifndef AWS_LIBXML_H
#define AWS_LIBXML_H

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "common/hs_err.h"

/*
 * libxml2, loaded when first needed rather than linked, for the same reason as libcurl
 * (aws_curl.h): with ICU behind it, relocating it cost ~1.5 ms of CPU at every process start,
 * and only the AWS answers in XML (STS, SQS) need it. The table dlopen()s "libxml2.so.2" (its
 * soname, the one -lxml2 links) on first use. Only aws/ includes this header.
 */
struct aws_libxml_api {
    void (*init_parser)(void);
    xmlDocPtr (*read_memory)(const char *buffer, int size, const char *url, const char *encoding,
                             int options);
    xmlNodePtr (*doc_get_root_element)(const xmlDoc *doc);
    void (*free_doc)(xmlDocPtr doc);
};

/* The table, loading libxml2 on the first call (once per process, thread-safe). Never NULL:
 * when libxml2 cannot be loaded, read_memory and doc_get_root_element give NULL (which every
 * caller treats as an unparseable answer) and the rest do nothing; aws_libxml_check() says
 * why. The table is static: nothing to free. */
const struct aws_libxml_api *aws_libxml(void);

/* HS_OK when libxml2 is loaded (loading it if need be); else HS_ERR_INTERNAL with the
 * loader's reason in the error detail. */
HS_RESULT aws_libxml_check(void);

#endif /* AWS_LIBXML_H */
