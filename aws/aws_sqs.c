#include "aws/aws_sqs.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "aws/aws_creds.h"
#include "aws/aws_curl.h"
#include "aws/aws_http.h"
#include "aws/aws_libxml.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"
#include "common/hs_log.h"

/*
 * Design (see aws_sqs.h for the contract):
 *
 * - A request is built once, in the client's protocol, by struct aws_sqs_req: a JSON object
 *   (JSON protocol) or a form body (query protocol), filled through the same few functions, so
 *   each operation names its parameters once. aws_sqs_call() sends it through aws_http (a handle
 *   from the pool, up to AWS_SQS_ATTEMPTS attempts, aws_sqs_classify() sorting SQS's answers)
 *   and parses the answer into struct aws_sqs_answer: the JSON document, or the XML document and
 *   its <ActionResult> element.
 * - Fields are read through struct aws_sqs_node, a JSON object or an XML element, so the
 *   operations read "MessageId" or "Body" the same way in both protocols.
 * - Nothing an answer says is trusted: every string read is bounded and checked (ids and
 *   receipt handles printable ASCII, bodies UTF-8 in SQS's set) and every body's MD5 compared.
 */

#define AWS_SQS_API_VERSION "2012-11-05"
#define AWS_SQS_TARGET "X-Amz-Target: AmazonSQS."
#define AWS_SQS_JSON_TYPE "Content-Type: application/x-amz-json-1.0"
#define AWS_SQS_FORM_TYPE "Content-Type: application/x-www-form-urlencoded; charset=utf-8"
#define AWS_SQS_POOL_MAX 8 /* idle aws_http handles kept */
#define AWS_SQS_BACKOFF_MS 50
#define AWS_SQS_THROTTLE_BACKOFF_MS 200
#define AWS_SQS_CODE_MAX 96  /* an error code (short form) */
#define AWS_SQS_LINE_MAX 160 /* a header line */
#define AWS_SQS_NUM_MAX 24   /* a decimal int */
#define AWS_SQS_STRING_TYPE "String"

enum aws_sqs_protocol {
    AWS_SQS_JSON = 0,
    AWS_SQS_QUERY = 1,
};

struct aws_sqs {
    char url[AWS_SQS_URL_MAX];       /* the endpoint: every request goes here */
    char queue_url[AWS_SQS_URL_MAX]; /* the queue's URL: a parameter */
    char queue_name[AWS_SQS_QUEUE_NAME_MAX + 1];
    char region[AWS_SQS_REGION_MAX + 1];
    enum aws_sqs_protocol protocol;
    bool local; /* the endpoint is plain http to a loopback address */
    bool fifo;
    bool curl_global;
    long timeout_ms;

    pthread_mutex_t pool_lock; /* guards idle and nidle */
    struct aws_http *idle[AWS_SQS_POOL_MAX];
    size_t nidle;

    struct aws_creds_provider *creds;
};

/* A request being built, in the client's protocol. */
struct aws_sqs_req {
    const struct aws_sqs *q;
    const char *action;
    json_object *json;   /* AWS_SQS_JSON: the body's object */
    struct hs_buf *form; /* AWS_SQS_QUERY: the form body */
};

/* What aws_sqs_call() leaves for its caller. */
struct aws_sqs_answer {
    json_object *json;               /* AWS_SQS_JSON: the answer */
    xmlDoc *xml;                     /* AWS_SQS_QUERY: the answer */
    const xmlNode *result;           /* ... and its <ActionResult> element (may be NULL) */
    char code[AWS_SQS_CODE_MAX + 1]; /* on failure: SQS's error code, or "" */
};

/* A place in an answer: a JSON object or an XML element (the one that is not NULL). */
struct aws_sqs_node {
    json_object *json;
    const xmlNode *xml;
};

/* An aws_http handle borrowed from the pool. */
struct aws_sqs_lease {
    struct aws_sqs *q;
    struct aws_http *h;
};

static void aws_sqs_curl_freep(char **p)
{
    aws_curl()->free(*p);
}

/* --- checks ------------------------------------------------------------------------------------ */

/* Decodes one UTF-8 character at p[0..n) (RFC 3629: shortest form, no surrogates, at most
 * U+10FFFF) into *cp; returns its length, 0 when malformed. */
static size_t aws_sqs_utf8_char(const unsigned char *p, size_t n, uint32_t *cp)
{
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    unsigned char c = p[0];
    size_t len = c < 0x80             ? 1
                 : (c & 0xe0) == 0xc0 ? 2
                 : (c & 0xf0) == 0xe0 ? 3
                 : (c & 0xf8) == 0xf0 ? 4
                                      : 0;
    if (len == 0 || len > n) {
        return 0;
    }
    uint32_t v = len == 1 ? c : c & (0x7fU >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (p[i] & 0x3fU);
    }
    if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        return 0;
    }
    *cp = v;
    return len;
}

/* SendMessage's MessageBody set: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-... */
static bool aws_sqs_char_allowed(uint32_t cp)
{
    return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
           (cp >= 0xe000 && cp <= 0xfffd) || cp >= 0x10000;
}

HS_RESULT aws_sqs_body_check(const void *p, size_t n)
{
    HS_ENSURE(p != NULL || n == 0, HS_ERR_INTERNAL);
    const unsigned char *s = p;
    size_t i = 0;
    while (i < n) {
        uint32_t cp = 0;
        size_t len = aws_sqs_utf8_char(s + i, n - i, &cp);
        HS_ENSURE_MSG(len > 0, HS_ERR_INPUT_FIELD, "SQS message: malformed UTF-8 at byte %zu", i);
        HS_ENSURE_MSG(aws_sqs_char_allowed(cp), HS_ERR_INPUT_FIELD,
                      "SQS message: character U+%04X at byte %zu is not allowed in SQS messages",
                      (unsigned)cp, i);
        i += len;
    }
    return HS_OK;
}

HS_RESULT aws_sqs_md5_check(const void *p, size_t n, const char *md5_hex)
{
    HS_ENSURE(p != NULL || n == 0, HS_ERR_INTERNAL);
    HS_ENSURE_MSG(md5_hex != NULL &&
                      strnlen(md5_hex, AWS_SQS_MD5_HEX_LEN + 1) == AWS_SQS_MD5_HEX_LEN &&
                      strspn(md5_hex, "0123456789abcdefABCDEF") == AWS_SQS_MD5_HEX_LEN,
                  HS_ERR_IO, "SQS answer: the MD5 is not %d hex digits", AWS_SQS_MD5_HEX_LEN);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HS_GUARD_OSSL(EVP_Digest(p, n, md, &len, EVP_md5(), NULL), HS_ERR_CRYPTO);
    HS_ENSURE(len * 2 == AWS_SQS_MD5_HEX_LEN, HS_ERR_CRYPTO);
    char hex[AWS_SQS_MD5_HEX_LEN + 1];
    for (unsigned int i = 0; i < len; i++) {
        (void)snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    HS_ENSURE_MSG(strncasecmp(hex, md5_hex, AWS_SQS_MD5_HEX_LEN) == 0, HS_ERR_IO,
                  "SQS answer: MD5 mismatch (the message was changed on the way)");
    return HS_OK;
}

/* s: 1..max bytes of printable ASCII without space. Errors: HS_ERR_INPUT_FIELD naming what. */
static HS_RESULT aws_sqs_token_check(const char *s, size_t max, const char *what)
{
    HS_ENSURE_MSG(s != NULL, HS_ERR_INPUT_FIELD, "SQS: %s is missing", what);
    size_t n = strnlen(s, max + 1);
    HS_ENSURE_MSG(n >= 1 && n <= max && aws_printable((const unsigned char *)s, n),
                  HS_ERR_INPUT_FIELD, "SQS: %s must be 1..%zu printable ASCII characters", what,
                  max);
    return HS_OK;
}

/* A queue name: 1..80 of [A-Za-z0-9_-], a FIFO queue's ending in ".fifo" (within the 80). */
static bool aws_sqs_name_ok(const char *s, size_t n, bool *fifo)
{
    static const char suffix[] = ".fifo";
    size_t sn = sizeof(suffix) - 1;
    *fifo = n > sn && memcmp(s + n - sn, suffix, sn) == 0;
    size_t stem = *fifo ? n - sn : n;
    return n >= 1 && n <= AWS_SQS_QUEUE_NAME_MAX && stem >= 1 && aws_chars_ok(s, stem, "_-");
}

/* A message attribute name (SendMessage, "MessageAttributes"). */
static HS_RESULT aws_sqs_attr_name_check(const char *s)
{
    HS_ENSURE_MSG(s != NULL, HS_ERR_INPUT_FIELD, "SQS: a message attribute has no name");
    size_t n = strnlen(s, AWS_SQS_ATTR_NAME_MAX + 1);
    HS_ENSURE_MSG(n >= 1 && n <= AWS_SQS_ATTR_NAME_MAX && aws_chars_ok(s, n, "_.-") &&
                      s[0] != '.' && s[n - 1] != '.' && strstr(s, "..") == NULL &&
                      strncasecmp(s, "AWS.", 4) != 0 && strncasecmp(s, "Amazon.", 7) != 0,
                  HS_ERR_INPUT_FIELD,
                  "SQS: message attribute names are 1..%d of [A-Za-z0-9_.-], without a leading, "
                  "trailing or double '.', nor an AWS. or Amazon. prefix",
                  AWS_SQS_ATTR_NAME_MAX);
    return HS_OK;
}

/* Checks msg for q (see aws_sqs_send); the size counts the body and every attribute's name,
 * type and value, as SQS does. */
static HS_RESULT aws_sqs_outgoing_check(const struct aws_sqs *q, const struct aws_sqs_outgoing *m)
{
    HS_ENSURE_MSG(m->body != NULL && m->body_len >= 1, HS_ERR_INPUT_FIELD,
                  "SQS: the message body is empty");
    HS_ENSURE_MSG(m->body_len <= AWS_SQS_BODY_MAX, HS_ERR_INPUT_TOO_LARGE,
                  "SQS: the message body is larger than %d bytes", AWS_SQS_BODY_MAX);
    HS_GUARD(aws_sqs_body_check(m->body, m->body_len));
    if (q->fifo) {
        HS_GUARD(aws_sqs_token_check(m->group_id, AWS_SQS_ID_MAX, "MessageGroupId"));
        if (m->dedup_id != NULL) {
            HS_GUARD(aws_sqs_token_check(m->dedup_id, AWS_SQS_ID_MAX, "MessageDeduplicationId"));
        }
    } else {
        HS_ENSURE_MSG(m->group_id == NULL && m->dedup_id == NULL, HS_ERR_INPUT_FIELD,
                      "SQS: MessageGroupId and MessageDeduplicationId are for FIFO queues only");
    }
    HS_ENSURE_MSG(m->nattributes <= AWS_SQS_ATTRS_MAX && (m->nattributes == 0 || m->attributes),
                  HS_ERR_INPUT_FIELD, "SQS: at most %d message attributes", AWS_SQS_ATTRS_MAX);
    size_t size = m->body_len;
    for (size_t i = 0; i < m->nattributes; i++) {
        const struct aws_sqs_attribute *a = &m->attributes[i];
        HS_GUARD(aws_sqs_attr_name_check(a->name));
        HS_ENSURE_MSG(a->value != NULL && a->value[0] != '\0', HS_ERR_INPUT_FIELD,
                      "SQS: message attribute %s has no value", a->name);
        size_t vn = strnlen(a->value, AWS_SQS_BODY_MAX + 1);
        HS_GUARD(aws_sqs_body_check(a->value, vn));
        for (size_t j = 0; j < i; j++) {
            HS_ENSURE_MSG(strcmp(m->attributes[j].name, a->name) != 0, HS_ERR_INPUT_FIELD,
                          "SQS: message attribute %s is given twice", a->name);
        }
        size += strlen(a->name) + strlen(AWS_SQS_STRING_TYPE) + vn;
    }
    HS_ENSURE_MSG(size <= AWS_SQS_BODY_MAX, HS_ERR_INPUT_TOO_LARGE,
                  "SQS: the message and its attributes are larger than %d bytes", AWS_SQS_BODY_MAX);
    return HS_OK;
}

/* --- MD5 of message attributes (SQS Developer Guide, "Calculating the MD5 message digest for
 * message attributes"): sorted by name, each as length-prefixed name, data type, the transport
 * byte 1 (string) and the length-prefixed value; lengths 4 bytes big-endian. ---------------- */

static HS_RESULT aws_sqs_md5_put(EVP_MD_CTX *ctx, const char *s)
{
    size_t n = strlen(s);
    HS_ENSURE(n <= UINT32_MAX, HS_ERR_BOUNDS);
    unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 8), (unsigned char)n};
    HS_GUARD_OSSL(EVP_DigestUpdate(ctx, len, sizeof(len)), HS_ERR_CRYPTO);
    HS_GUARD_OSSL(EVP_DigestUpdate(ctx, s, n), HS_ERR_CRYPTO);
    return HS_OK;
}

/* Puts the MD5 of msg's attributes (in lower-case hex) into out. */
static HS_RESULT aws_sqs_attrs_md5(const struct aws_sqs_outgoing *m, struct hs_buf *out)
{
    /* Sorted by name (byte order): an insertion sort of at most AWS_SQS_ATTRS_MAX. */
    const struct aws_sqs_attribute *sorted[AWS_SQS_ATTRS_MAX];
    for (size_t i = 0; i < m->nattributes; i++) {
        size_t j = i;
        for (; j > 0 && strcmp(sorted[j - 1]->name, m->attributes[i].name) > 0; j--) {
            sorted[j] = sorted[j - 1];
        }
        sorted[j] = &m->attributes[i];
    }
    HS_DEFER(EVP_MD_CTX *ctx = EVP_MD_CTX_new(), hs_evp_md_ctx_freep);
    HS_ENSURE(ctx != NULL, HS_ERR_NOMEM);
    HS_GUARD_OSSL(EVP_DigestInit_ex(ctx, EVP_md5(), NULL), HS_ERR_CRYPTO);
    static const unsigned char string_transport = 1;
    for (size_t i = 0; i < m->nattributes; i++) {
        HS_GUARD(aws_sqs_md5_put(ctx, sorted[i]->name));
        HS_GUARD(aws_sqs_md5_put(ctx, AWS_SQS_STRING_TYPE));
        HS_GUARD_OSSL(EVP_DigestUpdate(ctx, &string_transport, 1), HS_ERR_CRYPTO);
        HS_GUARD(aws_sqs_md5_put(ctx, sorted[i]->value));
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HS_GUARD_OSSL(EVP_DigestFinal_ex(ctx, md, &len), HS_ERR_CRYPTO);
    return hs_buf_put_hex(out, md, len);
}

/* --- requests ---------------------------------------------------------------------------------- */

static void aws_sqs_req_clear(struct aws_sqs_req *r)
{
    json_object_put(r->json);
    r->json = NULL;
    hs_buf_free(r->form);
    r->form = NULL;
}

/* Adds name=value (n bytes) to the form body, percent-encoded (RFC 3986 unreserved kept). */
static HS_RESULT aws_sqs_form_add(struct hs_buf *form, const char *name, const char *value,
                                  size_t n)
{
    HS_ENSURE(n <= INT32_MAX, HS_ERR_BOUNDS);
    HS_DEFER(char *enc = aws_curl()->easy_escape(NULL, value, (int)n), aws_sqs_curl_freep);
    HS_ENSURE(enc != NULL, HS_ERR_NOMEM);
    if (hs_buf_len(form) > 0) {
        HS_GUARD(hs_buf_put_byte(form, '&'));
    }
    HS_GUARD(hs_buf_put_str(form, name));
    HS_GUARD(hs_buf_put_byte(form, '='));
    return hs_buf_put_str(form, enc);
}

/* Adds the string parameter name (n bytes of value). */
static HS_RESULT aws_sqs_req_str(struct aws_sqs_req *r, const char *name, const char *value,
                                 size_t n)
{
    if (r->q->protocol == AWS_SQS_QUERY) {
        return aws_sqs_form_add(r->form, name, value, n);
    }
    HS_ENSURE(n <= INT32_MAX, HS_ERR_BOUNDS);
    return hs_json_add(r->json, name, json_object_new_string_len(value, (int)n));
}

static HS_RESULT aws_sqs_req_cstr(struct aws_sqs_req *r, const char *name, const char *value)
{
    return aws_sqs_req_str(r, name, value, strlen(value));
}

/* Adds the integer parameter name (a JSON number; a decimal string in a form). */
static HS_RESULT aws_sqs_req_int(struct aws_sqs_req *r, const char *name, int v)
{
    if (r->q->protocol == AWS_SQS_JSON) {
        return hs_json_add(r->json, name, json_object_new_int(v));
    }
    char text[AWS_SQS_NUM_MAX];
    int w = snprintf(text, sizeof(text), "%d", v);
    HS_ENSURE(w > 0 && (size_t)w < sizeof(text), HS_ERR_BOUNDS);
    return aws_sqs_form_add(r->form, name, text, (size_t)w);
}

/* A request of action for q: QueueUrl is added when with_queue. The caller clears it. */
static HS_RESULT aws_sqs_req_init(const struct aws_sqs *q, const char *action, bool with_queue,
                                  struct aws_sqs_req *r)
{
    *r = (struct aws_sqs_req){.q = q, .action = action};
    if (q->protocol == AWS_SQS_QUERY) {
        /* A form holds each body byte at most three times (%XX). */
        r->form = hs_buf_new(3 * (size_t)AWS_SQS_BODY_MAX + 64 * 1024);
        HS_ENSURE(r->form != NULL, HS_ERR_NOMEM);
        HS_GUARD(aws_sqs_req_cstr(r, "Action", action));
        HS_GUARD(aws_sqs_req_cstr(r, "Version", AWS_SQS_API_VERSION));
    } else {
        r->json = json_object_new_object();
        HS_ENSURE(r->json != NULL, HS_ERR_NOMEM);
    }
    if (with_queue) {
        HS_GUARD(aws_sqs_req_cstr(r, "QueueUrl", q->queue_url));
    }
    return HS_OK;
}

/* SendMessage's MessageAttributes: JSON {"name": {"DataType": "String", "StringValue": v}};
 * query MessageAttribute.N.Name, .Value.DataType, .Value.StringValue. */
static HS_RESULT aws_sqs_req_attrs(struct aws_sqs_req *r, const struct aws_sqs_outgoing *m)
{
    if (m->nattributes == 0) {
        return HS_OK;
    }
    if (r->q->protocol == AWS_SQS_QUERY) {
        for (size_t i = 0; i < m->nattributes; i++) {
            char key[64];
            const struct aws_sqs_attribute *a = &m->attributes[i];
            (void)snprintf(key, sizeof(key), "MessageAttribute.%zu.Name", i + 1);
            HS_GUARD(aws_sqs_req_cstr(r, key, a->name));
            (void)snprintf(key, sizeof(key), "MessageAttribute.%zu.Value.DataType", i + 1);
            HS_GUARD(aws_sqs_req_cstr(r, key, AWS_SQS_STRING_TYPE));
            (void)snprintf(key, sizeof(key), "MessageAttribute.%zu.Value.StringValue", i + 1);
            HS_GUARD(aws_sqs_req_cstr(r, key, a->value));
        }
        return HS_OK;
    }
    HS_DEFER(json_object *attrs = json_object_new_object(), hs_json_putp);
    HS_ENSURE(attrs != NULL, HS_ERR_NOMEM);
    for (size_t i = 0; i < m->nattributes; i++) {
        HS_DEFER(json_object *v = json_object_new_object(), hs_json_putp);
        HS_ENSURE(v != NULL, HS_ERR_NOMEM);
        HS_GUARD(hs_json_add(v, "DataType", json_object_new_string(AWS_SQS_STRING_TYPE)));
        HS_GUARD(hs_json_add(v, "StringValue", json_object_new_string(m->attributes[i].value)));
        json_object *give = v;
        v = NULL;
        HS_GUARD(hs_json_add(attrs, m->attributes[i].name, give));
    }
    json_object *give = attrs;
    attrs = NULL;
    return hs_json_add(r->json, "MessageAttributes", give);
}

/* --- answers ----------------------------------------------------------------------------------- */

static void aws_sqs_answer_clear(struct aws_sqs_answer *a)
{
    json_object_put(a->json);
    a->json = NULL;
    aws_libxml()->free_doc(a->xml);
    a->xml = NULL;
    a->result = NULL;
}

static const xmlNode *aws_sqs_xml_child(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n != NULL ? n->children : NULL; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0) {
            return c;
        }
    }
    return NULL;
}

/* The XML answer in body[0..n), or NULL when it is not XML. No network, no DTD, no entity
 * substitution beyond XML's own five and character references; CDATA read as text. */
static xmlDoc *aws_sqs_xml_parse(const struct hs_buf *body)
{
    if (hs_buf_len(body) > INT32_MAX) {
        return NULL;
    }
    return aws_libxml()->read_memory(
        (const char *)hs_buf_data(body), (int)hs_buf_len(body), "sqs.xml", NULL,
        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
}

/* Copies code (or its part after the last '#': "com.amazonaws.sqs#QueueDoesNotExist") into out
 * when it is a plausible error code, else "unknown". */
static void aws_sqs_code_copy(const char *code, char *out, size_t size)
{
    const char *s = "unknown";
    if (code != NULL) {
        const char *hash = strrchr(code, '#');
        code = hash != NULL ? hash + 1 : code;
        size_t n = strnlen(code, size);
        s = n > 0 && n < size && aws_chars_ok(code, n, "._-;") ? code : s;
    }
    memcpy(out, s, strlen(s) + 1);
}

/* SQS's error code in an error answer's body (JSON __type, or XML Error/Code). */
static void aws_sqs_body_code(const struct aws_sqs *q, const struct hs_buf *body, char *out,
                              size_t size)
{
    if (q->protocol == AWS_SQS_JSON) {
        HS_DEFER(json_object *doc = NULL, hs_json_putp);
        json_object *t = NULL;
        hs_result r = hs_json_parse_object((const char *)hs_buf_data(body), hs_buf_len(body),
                                           AWS_SQS_RESPONSE_MAX, HS_JSON_DEPTH_MAX, &doc);
        if (hs_failed(r)) {
            hs_error_clear();
        }
        bool typed = doc != NULL && json_object_object_get_ex(doc, "__type", &t) &&
                     json_object_is_type(t, json_type_string);
        aws_sqs_code_copy(typed ? json_object_get_string(t) : NULL, out, size);
        return;
    }
    xmlDoc *doc = aws_sqs_xml_parse(body);
    const xmlNode *code = aws_sqs_xml_child(
        aws_sqs_xml_child(doc != NULL ? aws_libxml()->doc_get_root_element(doc) : NULL, "Error"),
        "Code");
    const xmlNode *text = code != NULL ? code->children : NULL;
    bool simple = text != NULL && text->next == NULL && text->type == XML_TEXT_NODE;
    aws_sqs_code_copy(simple ? (const char *)text->content : NULL, out, size);
    aws_libxml()->free_doc(doc);
}

static bool aws_sqs_code_in(const char *code, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(code, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Throttling codes, SQS's own besides the SDKs' list. */
static bool aws_sqs_throttling(const char *code)
{
    static const char *const own[] = {"RequestThrottled", "AWS.SimpleQueueService.RequestThrottled",
                                      "ThrottlingException", "KmsThrottled"};
    return aws_http_throttling_code(code) || aws_sqs_code_in(code, own, sizeof(own) / sizeof(*own));
}

static bool aws_sqs_missing_queue(const char *code)
{
    static const char *const codes[] = {"QueueDoesNotExist",
                                        "AWS.SimpleQueueService.NonExistentQueue"};
    return aws_sqs_code_in(code, codes, sizeof(codes) / sizeof(*codes));
}

/* Codes that mean the credentials, their signature or their permissions are wrong. */
static bool aws_sqs_auth_error(const char *code)
{
    static const char *const codes[] = {
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "AccessDeniedException",
        "MissingAuthenticationToken",
        "IncompleteSignature",
        "ExpiredToken",
        "ExpiredTokenException",
        "UnrecognizedClientException",
        "InvalidSecurity",
        "RequestExpired",
        "InvalidSignatureException",
        "KmsAccessDenied",
        "OptInRequired",
    };
    return aws_sqs_code_in(code, codes, sizeof(codes) / sizeof(*codes));
}

static enum aws_http_class aws_sqs_classify(void *ctx, long status, const struct hs_buf *body)
{
    const struct aws_sqs *q = ctx;
    if (status >= 500) {
        return AWS_HTTP_RETRY;
    }
    if (status == 429) {
        return AWS_HTTP_THROTTLE;
    }
    if (status != 400 && status != 403) {
        return AWS_HTTP_FINAL;
    }
    char code[AWS_SQS_CODE_MAX + 1];
    aws_sqs_body_code(q, body, code, sizeof(code));
    if (aws_sqs_throttling(code)) {
        return AWS_HTTP_THROTTLE;
    }
    const char *source = aws_creds_provider_source(q->creds);
    bool refreshable = strcmp(source, "environment") != 0 && strcmp(source, "static") != 0;
    bool expired = strcmp(code, "ExpiredToken") == 0 || strcmp(code, "ExpiredTokenException") == 0;
    return expired && refreshable ? AWS_HTTP_EXPIRED : AWS_HTTP_FINAL;
}

/* The failure, if any, of a call aws_http_send() returned r for (see the header's mapping). */
static HS_RESULT aws_sqs_outcome(const struct aws_sqs *q, const char *action, hs_result r,
                                 const struct aws_http_response *resp, struct aws_sqs_answer *out)
{
    if (r.code == HS_ERR_BOUNDS) {
        HS_BAIL_MSG(HS_ERR_IO, "SQS %s: answer larger than %u bytes", action, AWS_SQS_RESPONSE_MAX);
    }
    if (r.code == HS_ERR_IO && resp->transport != AWS_HTTP_ANSWERED) {
        HS_BAIL_MSG(HS_ERR_STORE_UNAVAILABLE, "SQS %s at %s: %s (%d attempts)", action, q->url,
                    resp->error, resp->attempts);
    }
    HS_GUARD(r);
    if (resp->status == 200) {
        return HS_OK;
    }
    aws_sqs_body_code(q, resp->body, out->code, sizeof(out->code));
    enum hs_code code = HS_ERR_IO;
    if (resp->status >= 500 || resp->status == 429 || aws_sqs_throttling(out->code)) {
        code = HS_ERR_STORE_UNAVAILABLE;
    } else if (aws_sqs_missing_queue(out->code)) {
        code = HS_ERR_INPUT_NOT_FOUND;
    } else if (aws_sqs_auth_error(out->code)) {
        code = HS_ERR_INPUT_CONFIG;
    } else if (resp->status >= 400) {
        code = HS_ERR_INPUT;
    }
    HS_BAIL_MSG(code, "SQS %s: HTTP %ld %s (%d attempts)", action, resp->status, out->code,
                resp->attempts);
}

/* Parses a 200 answer of action into out. */
static HS_RESULT aws_sqs_parse(const struct aws_sqs *q, const char *action,
                               const struct hs_buf *body, struct aws_sqs_answer *out)
{
    if (q->protocol == AWS_SQS_JSON) {
        /* An empty answer (DeleteMessage, ChangeMessageVisibility) is an empty object. */
        const char *text = hs_buf_len(body) > 0 ? (const char *)hs_buf_data(body) : "{}";
        size_t n = hs_buf_len(body) > 0 ? hs_buf_len(body) : 2;
        hs_result r =
            hs_json_parse_object(text, n, AWS_SQS_RESPONSE_MAX, HS_JSON_DEPTH_MAX, &out->json);
        HS_ENSURE_MSG(!hs_failed(r), HS_ERR_IO, "SQS %s: HTTP 200 with an answer that is not JSON",
                      action);
        return HS_OK;
    }
    out->xml = aws_sqs_xml_parse(body);
    const xmlNode *root = out->xml != NULL ? aws_libxml()->doc_get_root_element(out->xml) : NULL;
    char name[AWS_SQS_CODE_MAX];
    (void)snprintf(name, sizeof(name), "%sResponse", action);
    HS_ENSURE_MSG(root != NULL && strcmp((const char *)root->name, name) == 0, HS_ERR_IO,
                  "SQS %s: HTTP 200 with an answer that is not a well-formed %s", action, name);
    (void)snprintf(name, sizeof(name), "%sResult", action);
    out->result = aws_sqs_xml_child(root, name);
    return HS_OK;
}

static struct aws_sqs_lease aws_sqs_lease_take(struct aws_sqs *q)
{
    struct aws_sqs_lease l = {q, NULL};
    {
        HS_DEFER(pthread_mutex_t *held = hs_mutex_lock(&q->pool_lock), hs_mutex_unlockp);
        if (q->nidle > 0) {
            l.h = q->idle[--q->nidle];
        }
    }
    if (l.h == NULL) {
        l.h = aws_http_new();
    }
    return l;
}

static void aws_sqs_lease_give(struct aws_sqs_lease *l)
{
    if (l->h == NULL) {
        return;
    }
    {
        HS_DEFER(pthread_mutex_t *held = hs_mutex_lock(&l->q->pool_lock), hs_mutex_unlockp);
        if (l->q->nidle < AWS_SQS_POOL_MAX) {
            l->q->idle[l->q->nidle++] = l->h;
            l->h = NULL;
        }
    }
    aws_http_free(l->h);
}

/* Sends req (up to AWS_SQS_ATTEMPTS attempts of timeout_ms + extra_ms each) and parses a 200
 * answer into *out; on failure out->code names SQS's error. The caller clears *out. */
static HS_RESULT aws_sqs_call(struct aws_sqs *q, const struct aws_sqs_req *req, long extra_ms,
                              struct aws_sqs_answer *out)
{
    HS_DEFER(char *json = NULL, hs_free_strp);
    const void *body = NULL;
    size_t body_len = 0;
    if (q->protocol == AWS_SQS_JSON) {
        HS_GUARD(hs_json_to_string(req->json, &json));
        body = json;
        body_len = strlen(json);
    } else {
        body = hs_buf_data(req->form);
        body_len = hs_buf_len(req->form);
    }
    char target[AWS_SQS_LINE_MAX];
    int w = snprintf(target, sizeof(target), "%s%s", AWS_SQS_TARGET, req->action);
    HS_ENSURE(w > 0 && (size_t)w < sizeof(target), HS_ERR_BOUNDS);
    HS_DEFER(struct hs_buf *answer = hs_buf_new(AWS_SQS_RESPONSE_MAX), hs_buf_freep);
    HS_ENSURE(answer != NULL, HS_ERR_NOMEM);
    HS_DEFER(struct aws_sqs_lease lease = aws_sqs_lease_take(q), aws_sqs_lease_give);
    HS_ENSURE(lease.h != NULL, HS_ERR_NOMEM);
    bool json_proto = q->protocol == AWS_SQS_JSON;
    struct aws_http_request hr = {
        .method = "POST",
        .url = q->url,
        .protocols = q->local ? "http" : "https",
        /* Signed with the rest: Content-Type, and X-Amz-Target in the JSON protocol. No
         * "Expect:" line to suppress 100-continue: libcurl before 8.3 names a header removed
         * that way in SignedHeaders although it is not sent (curl issue 11664), which services
         * may refuse (IncompleteSignatureException). Only bodies over 1 MiB get the header,
         * and SQS answers 100 Continue. */
        .headers = {json_proto ? AWS_SQS_JSON_TYPE : AWS_SQS_FORM_TYPE, json_proto ? target : NULL},
        .body = body,
        .body_len = body_len,
        .response_max = AWS_SQS_RESPONSE_MAX,
        .connect_timeout_ms = q->timeout_ms / 2 > 0 ? q->timeout_ms / 2 : 1,
        .timeout_ms = q->timeout_ms + extra_ms,
        .no_proxy = q->local,
        .keepalive = true,
        .sigv4_region = q->region,
        .sigv4_service = "sqs",
        .provider = q->creds,
        .attempts = AWS_SQS_ATTEMPTS,
        .backoff_ms = AWS_SQS_BACKOFF_MS,
        .throttle_backoff_ms = AWS_SQS_THROTTLE_BACKOFF_MS,
        .classify = aws_sqs_classify,
        .classify_ctx = q,
        .log_what = req->action,
    };
    struct aws_http_response resp = {.body = answer};
    hs_result r = aws_http_send(lease.h, &hr, &resp);
    out->code[0] = '\0';
    HS_GUARD(aws_sqs_outcome(q, req->action, r, &resp, out));
    return aws_sqs_parse(q, req->action, answer, out);
}

/* Lends the string field name of n (a JSON member or a child element's text) in *out, *len
 * bytes. Errors: HS_ERR_IO (absent, of another type, or not simple text). */
static HS_RESULT aws_sqs_field(struct aws_sqs_node n, const char *name, const char **out,
                               size_t *len)
{
    if (n.json != NULL) {
        json_object *v = NULL;
        HS_ENSURE_MSG(json_object_object_get_ex(n.json, name, &v) &&
                          json_object_is_type(v, json_type_string),
                      HS_ERR_IO, "SQS answer: %s is missing or not a string", name);
        *out = json_object_get_string(v);
        *len = (size_t)json_object_get_string_len(v);
        return HS_OK;
    }
    const xmlNode *e = aws_sqs_xml_child(n.xml, name);
    HS_ENSURE_MSG(e != NULL, HS_ERR_IO, "SQS answer: %s is missing", name);
    const xmlNode *t = e->children;
    HS_ENSURE_MSG(t == NULL || (t->next == NULL && t->type == XML_TEXT_NODE), HS_ERR_IO,
                  "SQS answer: %s is not text", name);
    *out = t != NULL ? (const char *)t->content : "";
    *len = strlen(*out);
    return HS_OK;
}

/* Copies the token field name of n (1..max printable ASCII) into out (max + 1 bytes). */
static HS_RESULT aws_sqs_field_token(struct aws_sqs_node n, const char *name, size_t max, char *out)
{
    const char *s = NULL;
    size_t len = 0;
    HS_GUARD(aws_sqs_field(n, name, &s, &len));
    HS_ENSURE_MSG(len >= 1 && len <= max && aws_printable((const unsigned char *)s, len), HS_ERR_IO,
                  "SQS answer: %s is not 1..%zu printable ASCII characters", name, max);
    memcpy(out, s, len);
    out[len] = '\0';
    return HS_OK;
}

/* The node that holds an answer's result fields. Errors: HS_ERR_IO (no <ActionResult>). */
static HS_RESULT aws_sqs_result(const struct aws_sqs_answer *a, const char *action,
                                struct aws_sqs_node *out)
{
    HS_ENSURE_MSG(a->json != NULL || a->result != NULL, HS_ERR_IO,
                  "SQS %s: the answer has no %sResult", action, action);
    *out = (struct aws_sqs_node){a->json, a->result};
    return HS_OK;
}

/* --- operations -------------------------------------------------------------------------------- */

HS_RESULT aws_sqs_send(struct aws_sqs *q, const struct aws_sqs_outgoing *msg,
                       char message_id[AWS_SQS_ID_MAX + 1])
{
    HS_ENSURE_REF(q);
    HS_ENSURE_REF(msg);
    HS_ENSURE_REF(message_id);
    HS_GUARD(aws_sqs_outgoing_check(q, msg));
    HS_DEFER(struct aws_sqs_req req = {0}, aws_sqs_req_clear);
    HS_GUARD(aws_sqs_req_init(q, "SendMessage", true, &req));
    HS_GUARD(aws_sqs_req_str(&req, "MessageBody", msg->body, msg->body_len));
    if (msg->group_id != NULL) {
        HS_GUARD(aws_sqs_req_cstr(&req, "MessageGroupId", msg->group_id));
    }
    if (msg->dedup_id != NULL) {
        HS_GUARD(aws_sqs_req_cstr(&req, "MessageDeduplicationId", msg->dedup_id));
    }
    HS_GUARD(aws_sqs_req_attrs(&req, msg));
    HS_DEFER(struct aws_sqs_answer answer = {0}, aws_sqs_answer_clear);
    HS_GUARD(aws_sqs_call(q, &req, 0, &answer));
    struct aws_sqs_node result = {0};
    HS_GUARD(aws_sqs_result(&answer, "SendMessage", &result));
    const char *md5 = NULL;
    size_t n = 0;
    HS_GUARD(aws_sqs_field(result, "MD5OfMessageBody", &md5, &n));
    HS_GUARD(
        hs_error_context(aws_sqs_md5_check(msg->body, msg->body_len, md5), "SendMessage body"));
    if (msg->nattributes > 0) {
        HS_DEFER(struct hs_buf *ours = hs_buf_new(AWS_SQS_MD5_HEX_LEN + 1), hs_buf_freep);
        HS_ENSURE(ours != NULL, HS_ERR_NOMEM);
        HS_GUARD(aws_sqs_attrs_md5(msg, ours));
        HS_GUARD(aws_sqs_field(result, "MD5OfMessageAttributes", &md5, &n));
        HS_ENSURE_MSG(n == hs_buf_len(ours) &&
                          strncasecmp(md5, (const char *)hs_buf_data(ours), n) == 0,
                      HS_ERR_IO, "SQS SendMessage: MD5OfMessageAttributes mismatch");
    }
    char id[AWS_SQS_ID_MAX + 1];
    HS_GUARD(aws_sqs_field_token(result, "MessageId", AWS_SQS_ID_MAX, id));
    memcpy(message_id, id, sizeof(id));
    return HS_OK;
}

static void aws_sqs_message_clear(struct aws_sqs_message *m)
{
    hs_buf_free(m->body);
    m->body = NULL;
}

void aws_sqs_batch_free(struct aws_sqs_batch *b)
{
    if (b == NULL) {
        return;
    }
    for (size_t i = 0; i < b->n; i++) {
        aws_sqs_message_clear(&b->messages[i]);
    }
    free(b);
}

HS_DEFINE_FREEP(aws_sqs_batch_freep_, struct aws_sqs_batch, aws_sqs_batch_free)

void aws_sqs_batch_freep(struct aws_sqs_batch **b)
{
    aws_sqs_batch_freep_(b);
}

/* One received message from node n into m: ids checked, the body checked against its MD5 and
 * the character set. */
static HS_RESULT aws_sqs_message_read(struct aws_sqs_node n, struct aws_sqs_message *m)
{
    HS_GUARD(aws_sqs_field_token(n, "MessageId", AWS_SQS_ID_MAX, m->message_id));
    HS_GUARD(aws_sqs_field_token(n, "ReceiptHandle", AWS_SQS_RECEIPT_MAX, m->receipt_handle));
    const char *body = NULL;
    size_t len = 0;
    const char *md5 = NULL;
    size_t md5_len = 0;
    HS_GUARD(aws_sqs_field(n, "Body", &body, &len));
    HS_GUARD(aws_sqs_field(n, "MD5OfBody", &md5, &md5_len));
    HS_ENSURE_MSG(len >= 1 && len <= AWS_SQS_BODY_MAX, HS_ERR_IO,
                  "SQS answer: a message body of %zu bytes", len);
    HS_GUARD(hs_error_context(aws_sqs_md5_check(body, len, md5), "ReceiveMessage body"));
    hs_result r = aws_sqs_body_check(body, len);
    HS_ENSURE_MSG(!hs_failed(r), HS_ERR_IO, "SQS answer: %s", hs_error_last()->detail);
    m->body = hs_buf_new(AWS_SQS_BODY_MAX);
    HS_ENSURE(m->body != NULL, HS_ERR_NOMEM);
    return hs_buf_put(m->body, body, len);
}

/* The message nodes of a ReceiveMessage answer (at most max; more is an error). */
static HS_RESULT aws_sqs_messages(const struct aws_sqs_answer *a, size_t max,
                                  struct aws_sqs_node *out, size_t *n)
{
    *n = 0;
    if (a->json != NULL) {
        json_object *list = NULL;
        if (!json_object_object_get_ex(a->json, "Messages", &list)) {
            return HS_OK; /* no message came */
        }
        HS_ENSURE_MSG(json_object_is_type(list, json_type_array), HS_ERR_IO,
                      "SQS ReceiveMessage: Messages is not an array");
        size_t len = json_object_array_length(list);
        HS_ENSURE_MSG(len <= max, HS_ERR_IO, "SQS ReceiveMessage: %zu messages, asked for %zu", len,
                      max);
        for (size_t i = 0; i < len; i++) {
            json_object *m = json_object_array_get_idx(list, i);
            HS_ENSURE_MSG(json_object_is_type(m, json_type_object), HS_ERR_IO,
                          "SQS ReceiveMessage: a message is not an object");
            out[(*n)++] = (struct aws_sqs_node){m, NULL};
        }
        return HS_OK;
    }
    /* No <ReceiveMessageResult> or an empty one: no message came. */
    for (const xmlNode *c = a->result != NULL ? a->result->children : NULL; c != NULL;
         c = c->next) {
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "Message") == 0) {
            HS_ENSURE_MSG(*n < max, HS_ERR_IO, "SQS ReceiveMessage: more messages than asked");
            out[(*n)++] = (struct aws_sqs_node){NULL, c};
        }
    }
    return HS_OK;
}

HS_RESULT aws_sqs_receive(struct aws_sqs *q, const struct aws_sqs_receive_options *opt,
                          struct aws_sqs_batch **out)
{
    HS_ENSURE_REF(q);
    HS_ENSURE_REF(out);
    struct aws_sqs_receive_options o =
        opt != NULL ? *opt : (struct aws_sqs_receive_options){1, 0, -1};
    o.max_messages = o.max_messages == 0 ? 1 : o.max_messages;
    HS_ENSURE_MSG(o.max_messages >= 1 && o.max_messages <= AWS_SQS_BATCH_MAX, HS_ERR_INPUT_RANGE,
                  "SQS: MaxNumberOfMessages must be 1..%d", AWS_SQS_BATCH_MAX);
    HS_ENSURE_MSG(o.wait_seconds >= 0 && o.wait_seconds <= AWS_SQS_WAIT_MAX_S, HS_ERR_INPUT_RANGE,
                  "SQS: WaitTimeSeconds must be 0..%d", AWS_SQS_WAIT_MAX_S);
    HS_ENSURE_MSG(o.visibility_timeout >= -1 && o.visibility_timeout <= AWS_SQS_VISIBILITY_MAX_S,
                  HS_ERR_INPUT_RANGE, "SQS: VisibilityTimeout must be 0..%d, or -1",
                  AWS_SQS_VISIBILITY_MAX_S);
    HS_DEFER(struct aws_sqs_req req = {0}, aws_sqs_req_clear);
    HS_GUARD(aws_sqs_req_init(q, "ReceiveMessage", true, &req));
    HS_GUARD(aws_sqs_req_int(&req, "MaxNumberOfMessages", o.max_messages));
    HS_GUARD(aws_sqs_req_int(&req, "WaitTimeSeconds", o.wait_seconds));
    if (o.visibility_timeout >= 0) {
        HS_GUARD(aws_sqs_req_int(&req, "VisibilityTimeout", o.visibility_timeout));
    }
    HS_DEFER(struct aws_sqs_answer answer = {0}, aws_sqs_answer_clear);
    HS_GUARD(aws_sqs_call(q, &req, 1000L * o.wait_seconds, &answer));
    struct aws_sqs_node nodes[AWS_SQS_BATCH_MAX];
    size_t n = 0;
    HS_GUARD(aws_sqs_messages(&answer, (size_t)o.max_messages, nodes, &n));
    HS_DEFER(struct aws_sqs_batch *batch = calloc(1, sizeof(*batch)), aws_sqs_batch_freep);
    HS_ENSURE(batch != NULL, HS_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        batch->n = i + 1; /* so that a failure frees what was read */
        /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): batch is freed by its HS_DEFER cleanup */
        HS_GUARD(aws_sqs_message_read(nodes[i], &batch->messages[i]));
    }
    *out = batch;
    batch = NULL;
    return HS_OK;
}

HS_RESULT aws_sqs_delete(struct aws_sqs *q, const char *receipt_handle)
{
    HS_ENSURE_REF(q);
    HS_GUARD(aws_sqs_token_check(receipt_handle, AWS_SQS_RECEIPT_MAX, "ReceiptHandle"));
    HS_DEFER(struct aws_sqs_req req = {0}, aws_sqs_req_clear);
    HS_GUARD(aws_sqs_req_init(q, "DeleteMessage", true, &req));
    HS_GUARD(aws_sqs_req_cstr(&req, "ReceiptHandle", receipt_handle));
    HS_DEFER(struct aws_sqs_answer answer = {0}, aws_sqs_answer_clear);
    return aws_sqs_call(q, &req, 0, &answer);
}

HS_RESULT aws_sqs_change_visibility(struct aws_sqs *q, const char *receipt_handle, int seconds)
{
    HS_ENSURE_REF(q);
    HS_GUARD(aws_sqs_token_check(receipt_handle, AWS_SQS_RECEIPT_MAX, "ReceiptHandle"));
    HS_ENSURE_MSG(seconds >= 0 && seconds <= AWS_SQS_VISIBILITY_MAX_S, HS_ERR_INPUT_RANGE,
                  "SQS: VisibilityTimeout must be 0..%d", AWS_SQS_VISIBILITY_MAX_S);
    HS_DEFER(struct aws_sqs_req req = {0}, aws_sqs_req_clear);
    HS_GUARD(aws_sqs_req_init(q, "ChangeMessageVisibility", true, &req));
    HS_GUARD(aws_sqs_req_cstr(&req, "ReceiptHandle", receipt_handle));
    HS_GUARD(aws_sqs_req_int(&req, "VisibilityTimeout", seconds));
    HS_DEFER(struct aws_sqs_answer answer = {0}, aws_sqs_answer_clear);
    return aws_sqs_call(q, &req, 0, &answer);
}

/* --- configuration, open and close ------------------------------------------------------------- */

/* Copies s (at most size - 1 bytes) into out. Errors: HS_ERR_BOUNDS. */
static HS_RESULT aws_sqs_copy(char *out, size_t size, const char *s)
{
    size_t n = strnlen(s, size);
    HS_ENSURE(n < size, HS_ERR_BOUNDS);
    memcpy(out, s, n + 1);
    return HS_OK;
}

/* The queue: a URL (its last path segment is the name) or a bare name. */
static HS_RESULT aws_sqs_configure_queue(struct aws_sqs *q, const char *queue)
{
    HS_ENSURE_MSG(queue != NULL, HS_ERR_INPUT_CONFIG, "SQS: the queue (URL or name) is required");
    const char *name = queue;
    if (strchr(queue, ':') != NULL) {
        HS_ENSURE_MSG(aws_sqs_copy(q->queue_url, sizeof(q->queue_url), queue).code == HS_ERR_NONE,
                      HS_ERR_INPUT_CONFIG, "SQS queue URL is longer than %d bytes",
                      AWS_SQS_URL_MAX - 1);
        HS_GUARD(aws_url_check(q->queue_url, "the SQS queue URL", NULL, false, NULL));
        const char *slash = strrchr(queue, '/');
        name = slash != NULL ? slash + 1 : "";
    }
    size_t n = strnlen(name, AWS_SQS_QUEUE_NAME_MAX + 1);
    HS_ENSURE_MSG(aws_sqs_name_ok(name, n, &q->fifo), HS_ERR_INPUT_CONFIG,
                  "SQS queue name must be 1..%d of [A-Za-z0-9_-], a FIFO queue's ending in .fifo",
                  AWS_SQS_QUEUE_NAME_MAX);
    memcpy(q->queue_name, name, n + 1);
    return HS_OK;
}

static HS_RESULT aws_sqs_configure(struct aws_sqs *q, const struct aws_sqs_config *c)
{
    HS_ENSURE_MSG(c->region != NULL, HS_ERR_INPUT_CONFIG, "SQS: the region is required");
    size_t r = strnlen(c->region, AWS_SQS_REGION_MAX + 1);
    HS_ENSURE_MSG(r > 0 && r <= AWS_SQS_REGION_MAX && aws_chars_ok(c->region, r, "-"),
                  HS_ERR_INPUT_CONFIG, "AWS region must be 1..%d of [a-z0-9-]", AWS_SQS_REGION_MAX);
    memcpy(q->region, c->region, r + 1);
    if (c->endpoint != NULL) {
        HS_ENSURE_MSG(aws_sqs_copy(q->url, sizeof(q->url), c->endpoint).code == HS_ERR_NONE,
                      HS_ERR_INPUT_CONFIG, "SQS endpoint is longer than %d bytes",
                      AWS_SQS_URL_MAX - 1);
    } else {
        int w = snprintf(q->url, sizeof(q->url), "https://sqs.%s.amazonaws.com", c->region);
        HS_ENSURE(w > 0 && (size_t)w < sizeof(q->url), HS_ERR_BOUNDS);
    }
    HS_GUARD(aws_url_check(q->url, "the SQS endpoint", NULL, true, &q->local));
    HS_GUARD(aws_sqs_configure_queue(q, c->queue));
    if (c->protocol == NULL || strcmp(c->protocol, "json") == 0) {
        q->protocol = AWS_SQS_JSON;
    } else {
        HS_ENSURE_MSG(strcmp(c->protocol, "query") == 0, HS_ERR_INPUT_CONFIG,
                      "SQS protocol must be \"json\" or \"query\"");
        q->protocol = AWS_SQS_QUERY;
    }
    HS_ENSURE_MSG(c->timeout_ms == 0 || (c->timeout_ms >= AWS_SQS_TIMEOUT_MS_MIN &&
                                         c->timeout_ms <= AWS_SQS_TIMEOUT_MS_MAX),
                  HS_ERR_INPUT_CONFIG, "SQS timeout_ms must be %d..%d", AWS_SQS_TIMEOUT_MS_MIN,
                  AWS_SQS_TIMEOUT_MS_MAX);
    q->timeout_ms = c->timeout_ms != 0 ? c->timeout_ms : AWS_SQS_TIMEOUT_MS_DEFAULT;
    return HS_OK;
}

static struct aws_sqs *aws_sqs_new(void)
{
    struct aws_sqs *q = calloc(1, sizeof(*q));
    if (q != NULL) {
        pthread_mutex_init(&q->pool_lock, NULL);
    }
    return q;
}

void aws_sqs_close(struct aws_sqs *q)
{
    if (q == NULL) {
        return;
    }
    for (size_t i = 0; i < q->nidle; i++) {
        aws_http_free(q->idle[i]);
    }
    aws_creds_provider_free(q->creds);
    if (q->curl_global) {
        aws_http_global_cleanup();
    }
    pthread_mutex_destroy(&q->pool_lock);
    free(q);
}

HS_DEFINE_FREEP(aws_sqs_closep_, struct aws_sqs, aws_sqs_close)

void aws_sqs_closep(struct aws_sqs **q)
{
    aws_sqs_closep_(q);
}

HS_RESULT aws_sqs_config_check(const struct aws_sqs_config *cfg)
{
    HS_ENSURE_REF(cfg);
    HS_DEFER(struct aws_sqs *q = aws_sqs_new(), aws_sqs_closep);
    HS_ENSURE(q != NULL, HS_ERR_NOMEM);
    return aws_sqs_configure(q, cfg);
}

/* The credential chain, asked once now so that missing credentials fail the open. */
static HS_RESULT aws_sqs_creds_init(struct aws_sqs *q)
{
    HS_GUARD(aws_creds_provider_new(NULL, &q->creds));
    HS_DEFER(struct aws_creds *c = NULL, aws_creds_freep);
    hs_result r = aws_creds_provider_get(q->creds, &c);
    if (r.code == HS_ERR_INPUT_CONFIG || r.code == HS_ERR_INPUT_NOT_FOUND) {
        char why[160];
        (void)snprintf(why, sizeof(why), "%.159s", hs_error_last()->detail);
        HS_BAIL_MSG(HS_ERR_INPUT_CONFIG, "no AWS credentials for SQS: %s", why);
    }
    return r;
}

/* GetQueueUrl of the configured name: proves the endpoint, the credentials and the queue. */
static HS_RESULT aws_sqs_resolve(struct aws_sqs *q)
{
    HS_DEFER(struct aws_sqs_req req = {0}, aws_sqs_req_clear);
    HS_GUARD(aws_sqs_req_init(q, "GetQueueUrl", false, &req));
    HS_GUARD(aws_sqs_req_cstr(&req, "QueueName", q->queue_name));
    HS_DEFER(struct aws_sqs_answer answer = {0}, aws_sqs_answer_clear);
    hs_result r = aws_sqs_call(q, &req, 0, &answer);
    HS_ENSURE_MSG(r.code != HS_ERR_INPUT_NOT_FOUND, HS_ERR_INPUT_CONFIG,
                  "SQS queue %s does not exist at %s (%s)", q->queue_name, q->url, answer.code);
    HS_ENSURE_MSG(r.code != HS_ERR_INPUT_CONFIG, HS_ERR_INPUT_CONFIG,
                  "SQS at %s refused the credentials: %s", q->url, answer.code);
    HS_GUARD(r);
    struct aws_sqs_node result = {0};
    HS_GUARD(aws_sqs_result(&answer, "GetQueueUrl", &result));
    const char *url = NULL;
    size_t n = 0;
    HS_GUARD(aws_sqs_field(result, "QueueUrl", &url, &n));
    HS_ENSURE_MSG(n < sizeof(q->queue_url) && memchr(url, '\0', n) == NULL, HS_ERR_IO,
                  "SQS GetQueueUrl: the queue URL is longer than %d bytes", AWS_SQS_URL_MAX - 1);
    memcpy(q->queue_url, url, n);
    q->queue_url[n] = '\0';
    const char *slash = strrchr(q->queue_url, '/');
    hs_result ok = aws_url_check(q->queue_url, "the SQS queue URL", NULL, false, NULL);
    HS_ENSURE_MSG(!hs_failed(ok) && slash != NULL && strcmp(slash + 1, q->queue_name) == 0,
                  HS_ERR_IO, "SQS GetQueueUrl answered a URL that is not queue %s's",
                  q->queue_name);
    return HS_OK;
}

HS_RESULT aws_sqs_open(const struct aws_sqs_config *cfg, struct aws_sqs **out)
{
    HS_ENSURE_REF(cfg);
    HS_ENSURE_REF(out);
    HS_DEFER(struct aws_sqs *q = aws_sqs_new(), aws_sqs_closep);
    HS_ENSURE(q != NULL, HS_ERR_NOMEM);
    HS_GUARD(aws_http_global_init(false));
    q->curl_global = true;
    /* libxml2 (2.9) wants its one-time initialisation before threads parse: done here, where
     * clients are opened, rather than at the first answer, which a worker thread may parse. */
    aws_libxml()->init_parser();
    HS_GUARD(aws_sqs_configure(q, cfg));
    HS_GUARD(aws_sqs_creds_init(q));
    if (q->queue_url[0] == '\0') {
        HS_GUARD(aws_sqs_resolve(q));
    }
    hs_log(HS_LOG_INFO, "aws.sqs.open", HS_LOG_STR("queue", q->queue_name),
           HS_LOG_STR("endpoint", q->url),
           HS_LOG_STR("protocol", q->protocol == AWS_SQS_JSON ? "json" : "query"),
           HS_LOG_STR("credentials", aws_creds_provider_source(q->creds)));
    *out = q;
    q = NULL;
    return HS_OK;
}

const char *aws_sqs_queue_url(const struct aws_sqs *q)
{
    return q != NULL ? q->queue_url : "";
}

bool aws_sqs_fifo(const struct aws_sqs *q)
{
    return q != NULL && q->fifo;
}
