/*
 * au_config: hsmsign-authorizer's configuration (docs/authorizer.md), one strict JSON file:
 * unknown members, duplicate members, wrong types and values out of range are errors naming
 * the member; the whole file is validated before anything else starts.
 *
 *   {"issuer": "https://…", "audiences": ["…"], "algorithms": ["ES256", "RS256"],
 *    "leeway_seconds": 60, "wildcard_resource": false,
 *    "jwks": {"file": PATH} | {"url": "https://…", "ca_file": PEM} | {"ssm_parameter": NAME},
 *            + "max_age_seconds", "refresh_seconds", "max_stale_seconds", ("region",
 *              "endpoint" for SSM),
 *    "mtls": {"require_cnf": bool, "status_url": "https://…" | "dynamodb_table": T,
 *             "endpoint": URL (DynamoDB), "ca_file": PEM, "cache_seconds": 60, "region": R},
 *    "routes": {"GET /hello": {"scopes": ["read"]}}}
 */
#ifndef AU_CONFIG_H
#define AU_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/hs_err.h"

#define AU_CONFIG_MAX (64 * 1024) /* bytes of the config file */
#define AU_STR_MAX 1024           /* bytes of a URL, path, issuer or audience */
#define AU_AUDIENCES_MAX 16
#define AU_ROUTES_MAX 64
#define AU_SCOPES_MAX 16
#define AU_SCOPE_MAX 128 /* bytes of one scope name */
#define AU_ROUTE_MAX 256 /* bytes of "METHOD /path" */
#define AU_LEEWAY_MAX 60 /* seconds of clock leeway at most */
#define AU_MAX_AGE_DEFAULT 300
#define AU_MAX_AGE_MAX 86400
#define AU_REFRESH_DEFAULT 30 /* seconds between refreshes for an unknown kid */
#define AU_STALE_DEFAULT 86400
#define AU_CACHE_DEFAULT 60 /* seconds a certificate status is cached */

/* JWS algorithms (RFC 7518 §3.1, RFC 8037 §3.1) the authorizer can accept. */
enum au_alg {
    AU_ALG_RS256 = 1 << 0,
    AU_ALG_PS256 = 1 << 1,
    AU_ALG_ES256 = 1 << 2,
    AU_ALG_ES384 = 1 << 3,
    AU_ALG_EDDSA = 1 << 4,
};

enum au_jwks_kind {
    AU_JWKS_FILE = 1,
    AU_JWKS_URL,
    AU_JWKS_SSM
};

struct au_route {
    char name[AU_ROUTE_MAX + 1]; /* "GET /hello" */
    size_t n_scopes;
    char scopes[AU_SCOPES_MAX][AU_SCOPE_MAX + 1];
};

struct au_config {
    char issuer[AU_STR_MAX + 1];
    size_t n_audiences;
    char audiences[AU_AUDIENCES_MAX][AU_STR_MAX + 1];
    unsigned int algorithms; /* enum au_alg bits */
    long leeway_s;
    bool wildcard_resource; /* Resource "arn:…:api-id/stage/ *" (cacheable) instead of methodArn */
    struct {
        enum au_jwks_kind kind;
        char source[AU_STR_MAX + 1];   /* the path, URL or SSM parameter name */
        char ca_file[AU_STR_MAX + 1];  /* "" = the system's trust anchors */
        char region[65];               /* SSM: "" = the standard chain's region */
        char endpoint[AU_STR_MAX + 1]; /* SSM: "" = AWS_ENDPOINT_URL_SSM / _URL / the default */
        long max_age_s;
        long refresh_s;
        long max_stale_s;
    } jwks;
    struct {
        bool enabled; /* the "mtls" member is present */
        bool require_cnf;
        char status_url[AU_STR_MAX + 1];     /* hsmsignd's base URL, or "" */
        char dynamodb_table[AU_STR_MAX + 1]; /* the inventory table, or "" */
        char endpoint[AU_STR_MAX + 1];       /* DynamoDB: "" = the environment's or AWS's */
        char ca_file[AU_STR_MAX + 1];
        char region[65];
        long cache_s;
    } mtls;
    size_t n_routes;
    struct au_route routes[AU_ROUTES_MAX];
};

/* Parses and validates text[0..len) into *out (zeroed first; written on success only). Errors:
 * HS_ERR_INPUT_CONFIG / HS_ERR_INPUT_FIELD / HS_ERR_INPUT_RANGE / HS_ERR_INPUT_JSON /
 * HS_ERR_INPUT_TOO_LARGE with a detail naming the member; HS_ERR_NOMEM. */
HS_RESULT au_config_parse(const char *text, size_t len, struct au_config *out);

/* Reads path (at most AU_CONFIG_MAX bytes) and parses it as au_config_parse. Errors as that,
 * plus HS_ERR_INPUT_NOT_FOUND and HS_ERR_IO. */
HS_RESULT au_config_load(const char *path, struct au_config *out);

/* The route entry named route ("GET /hello"), or NULL when it has none. */
const struct au_route *au_config_route(const struct au_config *c, const char *route);

/* The enum au_alg bit of a JWS "alg" value, 0 when it is none of the five. */
unsigned int au_alg_from_name(const char *name);

#endif /* AU_CONFIG_H */
