#include "authorizer/au_event.h"

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "authorizer/au_json.h"
#include "common/hs_defer.h"
#include "common/hs_json.h"

void au_event_free(struct au_event *ev)
{
    if (ev != NULL) {
        json_object_put(ev->doc);
        OPENSSL_free(ev);
    }
}

void au_event_freep(struct au_event **ev)
{
    au_event_free(*ev);
}

/* The string at a path of object members, NULL when any step is absent or of another type. */
static const char *au_event_str(json_object *obj, const char *const *path)
{
    json_object *v = obj;
    for (size_t i = 0; path[i] != NULL; i++) {
        if (!json_object_is_type(v, json_type_object) ||
            !json_object_object_get_ex(v, path[i], &v)) {
            return NULL;
        }
    }
    if (!json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    const char *s = json_object_get_string(v);
    return strlen(s) == (size_t)json_object_get_string_len(v) ? s : NULL;
}

/* The value of header name in headers (case-insensitive), NULL when absent. */
static const char *au_event_header(json_object *doc, const char *name)
{
    json_object *headers = NULL;
    if (!json_object_object_get_ex(doc, "headers", &headers) ||
        !json_object_is_type(headers, json_type_object)) {
        return NULL;
    }
    json_object_object_foreach(headers, key, val)
    {
        if (strcasecmp(key, name) == 0 && json_object_is_type(val, json_type_string)) {
            return json_object_get_string(val);
        }
    }
    return NULL;
}

/* "Bearer <token68>" (RFC 6750 §2.1): the token, or garbled. */
static void au_event_bearer(struct au_event *ev, const char *value)
{
    if (value == NULL) {
        return;
    }
    ev->token_garbled = true;
    if (strncasecmp(value, "Bearer ", 7) != 0) {
        return;
    }
    const char *t = value + 7;
    t += strspn(t, " ");
    size_t n = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=");
    if (n == 0 || n > AU_TOKEN_MAX || t[n + strspn(t + n, " ")] != '\0') {
        return;
    }
    ev->token = t;
    ev->token_len = n;
    ev->token_garbled = false;
}

/* methodArn: the route "METHOD /path" and the resource (the ARN, or its API-ID/STAGE/ *). */
static HS_RESULT au_event_arn(struct au_event *ev, bool wildcard)
{
    const char *arn = ev->method_arn;
    size_t n = strlen(arn);
    HS_ENSURE_MSG(n <= AU_ARN_MAX && strncmp(arn, "arn:", 4) == 0, HS_ERR_INPUT_FIELD,
                  "methodArn: not an execute-api ARN");
    const char *p = arn;
    for (int i = 0; i < 5 && p != NULL; i++) {
        p = strchr(p, ':');
        p = p != NULL ? p + 1 : NULL;
    }
    HS_ENSURE_MSG(p != NULL && strstr(arn, ":execute-api:") != NULL, HS_ERR_INPUT_FIELD,
                  "methodArn: not an execute-api ARN");
    const char *api_end = strchr(p, '/');
    const char *stage_end = api_end != NULL ? strchr(api_end + 1, '/') : NULL;
    HS_ENSURE_MSG(stage_end != NULL && api_end > p, HS_ERR_INPUT_FIELD,
                  "methodArn: no API-ID/STAGE/METHOD");
    const char *method = stage_end + 1;
    size_t ml = strcspn(method, "/");
    HS_ENSURE_MSG(ml > 0 && ml < 16, HS_ERR_INPUT_FIELD, "methodArn: no method");
    const char *path = method + ml;
    int w = snprintf(ev->route, sizeof(ev->route), "%.*s %s", (int)ml, method,
                     path[0] == '\0' ? "/" : path);
    HS_ENSURE_MSG(w > 0 && (size_t)w < sizeof(ev->route), HS_ERR_INPUT_FIELD,
                  "methodArn: path too long");
    if (wildcard) {
        w = snprintf(ev->resource, sizeof(ev->resource), "%.*s/*", (int)(stage_end - arn), arn);
    } else {
        w = snprintf(ev->resource, sizeof(ev->resource), "%s", arn);
    }
    HS_ENSURE(w > 0 && (size_t)w < sizeof(ev->resource), HS_ERR_INPUT_FIELD);
    return HS_OK;
}

static HS_RESULT au_event_fill(struct au_event *ev, const struct au_config *cfg)
{
    json_object *doc = ev->doc;
    static const char *const type_path[] = {"type", NULL};
    static const char *const version_path[] = {"version", NULL};
    static const char *const arn_path[] = {"methodArn", NULL};
    static const char *const route_path[] = {"routeKey", NULL};
    static const char *const token_path[] = {"authorizationToken", NULL};
    static const char *const cert_v1[] = {"requestContext", "identity", "clientCert",
                                          "clientCertPem", NULL};
    static const char *const cert_v2[] = {"requestContext", "authentication", "clientCert",
                                          "clientCertPem", NULL};
    const char *type = au_event_str(doc, type_path);
    const char *version = au_event_str(doc, version_path);
    HS_ENSURE_MSG(type != NULL, HS_ERR_INPUT_FIELD, "event: no \"type\"");
    if (strcmp(type, "TOKEN") == 0) {
        ev->kind = AU_EVENT_REST_TOKEN;
        const char *t = au_event_str(doc, token_path);
        au_event_bearer(ev, t);
    } else if (strcmp(type, "REQUEST") == 0) {
        ev->kind = version != NULL && strcmp(version, "2.0") == 0 ? AU_EVENT_HTTP_V2
                                                                  : AU_EVENT_REST_REQUEST;
        au_event_bearer(ev, au_event_header(doc, "authorization"));
    } else {
        HS_BAIL_MSG(HS_ERR_INPUT_FIELD, "event: \"type\" is neither TOKEN nor REQUEST");
    }
    if (ev->kind == AU_EVENT_HTTP_V2) {
        const char *rk = au_event_str(doc, route_path);
        /* An HTTP API's routeKey is "METHOD /path" or "$default", never empty. */
        HS_ENSURE_MSG(rk != NULL && rk[0] != '\0' && strlen(rk) <= AU_ROUTE_MAX, HS_ERR_INPUT_FIELD,
                      "event: no \"routeKey\"");
        memcpy(ev->route, rk, strlen(rk) + 1);
    } else {
        ev->method_arn = au_event_str(doc, arn_path);
        HS_ENSURE_MSG(ev->method_arn != NULL, HS_ERR_INPUT_FIELD, "event: no \"methodArn\"");
        HS_GUARD(au_event_arn(ev, cfg->wildcard_resource));
    }
    ev->client_cert_pem = au_event_str(doc, cert_v2);
    ev->client_cert_pem =
        ev->client_cert_pem != NULL ? ev->client_cert_pem : au_event_str(doc, cert_v1);
    HS_ENSURE_MSG(ev->client_cert_pem == NULL || strlen(ev->client_cert_pem) <= AU_CERT_PEM_MAX,
                  HS_ERR_INPUT_TOO_LARGE, "event: clientCertPem over %d bytes", AU_CERT_PEM_MAX);
    return HS_OK;
}

HS_RESULT au_event_parse(const char *text, size_t len, const struct au_config *cfg,
                         struct au_event **out)
{
    HS_ENSURE_REF(cfg);
    HS_DEFER(struct au_event *ev = OPENSSL_zalloc(sizeof(*ev)), au_event_freep);
    HS_ENSURE(ev != NULL, HS_ERR_NOMEM);
    HS_GUARD(au_json_parse(text, len, AU_EVENT_MAX, &ev->doc));
    HS_GUARD(au_event_fill(ev, cfg));
    *out = ev;
    ev = NULL;
    return HS_OK;
}

static HS_RESULT au_event_context(const struct au_grant *g, bool allow, enum au_reason reason,
                                  json_object **out)
{
    HS_DEFER(json_object *ctx = json_object_new_object(), hs_json_putp);
    HS_ENSURE(ctx != NULL, HS_ERR_NOMEM);
    if (allow) {
        HS_GUARD(hs_json_add(ctx, "sub", json_object_new_string(g->sub)));
        HS_GUARD(hs_json_add(ctx, "scope", json_object_new_string(g->scope)));
        HS_GUARD(hs_json_add(ctx, "kid", json_object_new_string(g->kid)));
        HS_GUARD(hs_json_add(ctx, "x5t#S256", json_object_new_string(g->x5t)));
    } else {
        HS_GUARD(hs_json_add(ctx, "reason", json_object_new_string(au_reason_name(reason))));
    }
    *out = ctx;
    ctx = NULL;
    return HS_OK;
}

static HS_RESULT au_event_policy(const struct au_event *ev, bool allow, json_object *answer)
{
    HS_DEFER(json_object *st = json_object_new_object(), hs_json_putp);
    HS_ENSURE(st != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_json_add(st, "Action", json_object_new_string("execute-api:Invoke")));
    HS_GUARD(hs_json_add(st, "Effect", json_object_new_string(allow ? "Allow" : "Deny")));
    HS_GUARD(hs_json_add(st, "Resource", json_object_new_string(ev->resource)));
    json_object *list = json_object_new_array();
    HS_ENSURE(list != NULL, HS_ERR_NOMEM);
    if (json_object_array_add(list, st) != 0) {
        json_object_put(list);
        HS_BAIL(HS_ERR_NOMEM);
    }
    st = NULL;
    HS_DEFER(json_object *doc = json_object_new_object(), hs_json_putp);
    HS_ENSURE(doc != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_json_add(doc, "Version", json_object_new_string("2012-10-17")));
    HS_GUARD(hs_json_add(doc, "Statement", list));
    HS_GUARD(hs_json_add(answer, "policyDocument", doc));
    doc = NULL;
    return HS_OK;
}

HS_RESULT au_event_answer(const struct au_event *ev, bool allow, const struct au_grant *grant,
                          enum au_reason reason, struct hs_buf **out)
{
    HS_ENSURE_REF(ev);
    HS_ENSURE(!allow || grant != NULL, HS_ERR_INTERNAL);
    HS_DEFER(json_object *answer = json_object_new_object(), hs_json_putp);
    HS_ENSURE(answer != NULL, HS_ERR_NOMEM);
    json_object *ctx = NULL;
    if (ev->kind == AU_EVENT_HTTP_V2) {
        HS_GUARD(hs_json_add(answer, "isAuthorized", json_object_new_boolean(allow)));
    } else {
        const char *principal = allow ? grant->sub : "anonymous";
        HS_GUARD(hs_json_add(answer, "principalId", json_object_new_string(principal)));
        HS_GUARD(au_event_policy(ev, allow, answer));
    }
    HS_GUARD(au_event_context(grant, allow, reason, &ctx));
    HS_GUARD(hs_json_add(answer, "context", ctx));
    size_t len = 0;
    const char *text = json_object_to_json_string_length(
        answer, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    HS_ENSURE(text != NULL, HS_ERR_NOMEM);
    HS_DEFER(struct hs_buf *b = hs_buf_new(AU_ANSWER_MAX), hs_buf_freep);
    HS_ENSURE(b != NULL, HS_ERR_NOMEM);
    HS_GUARD(hs_buf_put(b, text, len));
    *out = b;
    b = NULL;
    return HS_OK;
}
