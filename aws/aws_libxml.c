#include "aws/aws_libxml.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define AWS_LIBXML_SONAME "libxml2.so.2"
#define AWS_LIBXML_WHY_MAX 256

static void aws_libxml_no_init_parser(void)
{
}

static xmlDocPtr aws_libxml_no_read_memory(const char *buffer, int size, const char *url,
                                           const char *encoding, int options)
{
    (void)buffer;
    (void)size;
    (void)url;
    (void)encoding;
    (void)options;
    return NULL;
}

static xmlNodePtr aws_libxml_no_doc_get_root_element(const xmlDoc *doc)
{
    (void)doc;
    return NULL;
}

static void aws_libxml_no_free_doc(xmlDocPtr doc)
{
    (void)doc;
}

static const struct aws_libxml_api aws_libxml_none = {
    .init_parser = aws_libxml_no_init_parser,
    .read_memory = aws_libxml_no_read_memory,
    .doc_get_root_element = aws_libxml_no_doc_get_root_element,
    .free_doc = aws_libxml_no_free_doc,
};

static pthread_once_t aws_libxml_once = PTHREAD_ONCE_INIT;
static struct aws_libxml_api aws_libxml_loaded;
static const struct aws_libxml_api *aws_libxml_table = &aws_libxml_none;
static char aws_libxml_why[AWS_LIBXML_WHY_MAX];

/* dlsym() into *slot; false (and the reason kept) when the symbol is missing. POSIX (dlsym)
 * guarantees the object pointer converts to a function pointer; done through memcpy. */
static bool aws_libxml_sym(void *lib, const char *name, void *slot, size_t slot_len)
{
    void *p = dlsym(lib, name);
    if (p == NULL || slot_len != sizeof(p)) {
        (void)snprintf(aws_libxml_why, sizeof(aws_libxml_why), "%s has no %s", AWS_LIBXML_SONAME,
                       name);
        return false;
    }
    memcpy(slot, &p, sizeof(p));
    return true;
}

static void aws_libxml_load(void)
{
    /* Stays loaded until exit. */
    void *lib = dlopen(AWS_LIBXML_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        const char *e = dlerror();
        (void)snprintf(aws_libxml_why, sizeof(aws_libxml_why), "%s",
                       e != NULL ? e : AWS_LIBXML_SONAME);
        return;
    }
    struct aws_libxml_api *t = &aws_libxml_loaded;
    if (aws_libxml_sym(lib, "xmlInitParser", &t->init_parser, sizeof(t->init_parser)) &&
        aws_libxml_sym(lib, "xmlReadMemory", &t->read_memory, sizeof(t->read_memory)) &&
        aws_libxml_sym(lib, "xmlDocGetRootElement", &t->doc_get_root_element,
                       sizeof(t->doc_get_root_element)) &&
        aws_libxml_sym(lib, "xmlFreeDoc", &t->free_doc, sizeof(t->free_doc))) {
        aws_libxml_table = t;
    }
}

const struct aws_libxml_api *aws_libxml(void)
{
    if (pthread_once(&aws_libxml_once, aws_libxml_load) != 0) {
        return &aws_libxml_none;
    }
    return aws_libxml_table;
}

HS_RESULT aws_libxml_check(void)
{
    HS_ENSURE_MSG(aws_libxml() != &aws_libxml_none, HS_ERR_INTERNAL, "cannot load libxml2: %s",
                  aws_libxml_why);
    return HS_OK;
}
