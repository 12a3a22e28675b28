#include "client/cli_print.h"

#include <string.h>

#include "common/hs_defer.h"
#include "common/hs_json.h"

#define CLI_SHOWN_MAX 1024 /* bytes of one string from the network put on the terminal */
#define CLI_ERROR_DEPTH 8  /* nesting of an error document */

int cli_fail(int code, const char *what)
{
    const struct hs_error *e = hs_error_last();
    fprintf(stderr, "hsmsign: %s: %s\n", what,
            e->detail[0] != '\0' ? e->detail : hs_code_name(e->code));
    return code;
}

int cli_usage_fail(const char *command, const char *message)
{
    const char *detail = hs_error_last()->detail;
    fprintf(stderr, "hsmsign: %s\nTry 'hsmsign %s%s--help'.\n", message != NULL ? message : detail,
            command != NULL ? command : "", command != NULL ? " " : "");
    return CLI_EXIT_USAGE;
}

void cli_print_clean(FILE *out, const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        bool ok = (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t';
        fputc(ok ? c : '?', out);
    }
}

HS_RESULT cli_print_json(FILE *out, json_object *obj)
{
    const char *text = json_object_to_json_string_ext(
        obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    HS_ENSURE(text != NULL, HS_ERR_NOMEM);
    HS_ENSURE_MSG(fputs(text, out) >= 0 && fputc('\n', out) != EOF, HS_ERR_IO,
                  "cannot write the output");
    return HS_OK;
}

/* The string member key of obj, or NULL. */
static const char *cli_member(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
        !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}

static void cli_print_line(const char *label, const char *value)
{
    if (value != NULL && value[0] != '\0') {
        fprintf(stderr, "  %s: ", label);
        cli_print_clean(stderr, value, strnlen(value, CLI_SHOWN_MAX));
        fputc('\n', stderr);
    }
}

void cli_print_refusal(const struct cli_reply *r)
{
    const char *text = r->body != NULL ? (const char *)hs_buf_data(r->body) : NULL;
    size_t len = r->body != NULL ? hs_buf_len(r->body) : 0;
    HS_DEFER(json_object *doc = NULL, hs_json_putp);
    if (len == 0 || hs_failed(hs_json_parse_object(text, len, len, CLI_ERROR_DEPTH, &doc))) {
        doc = NULL;
    }
    const char *code = cli_member(doc, "error");
    const char *message = cli_member(doc, "message");
    if (message == NULL) {
        message = cli_member(doc, "Message"); /* some API Gateway answers */
    }
    if (code == NULL && r->error_type[0] != '\0') {
        code = r->error_type;
    }
    fprintf(stderr, "hsmsign: the service answered HTTP %ld", r->status);
    if (code != NULL) {
        fputc(' ', stderr);
        cli_print_clean(stderr, code, strnlen(code, CLI_SHOWN_MAX));
    }
    if (message != NULL) {
        fputs(": ", stderr);
        cli_print_clean(stderr, message, strnlen(message, CLI_SHOWN_MAX));
    } else if (doc == NULL && len > 0) {
        /* Not JSON: a proxy's or load balancer's page. Its start says whose. */
        fputs(": ", stderr);
        size_t n = len < 200 ? len : 200;
        const char *nl = memchr(text, '\n', n);
        cli_print_clean(stderr, text, nl != NULL ? (size_t)(nl - text) : n);
    }
    fputc('\n', stderr);
    cli_print_line("reason", cli_member(doc, "reason"));
    cli_print_line("detail", cli_member(doc, "detail"));
    const char *req_id = cli_member(doc, "request_id");
    cli_print_line("request id", req_id != NULL ? req_id : r->request_id);
}

void cli_print_exchange(const char *method, const char *path, const struct cli_reply *r)
{
    fprintf(stderr, "hsmsign: %s %s -> %ld in %lld.%03lld ms, request id %s\n", method, path,
            r->status, r->total_us / 1000, r->total_us % 1000,
            r->request_id[0] != '\0' ? r->request_id : "(none)");
}
