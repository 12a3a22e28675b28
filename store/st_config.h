/*
 * st_config: which inventory store a service uses, and the factory that opens it.
 *
 * The service's config file names the store in its "inventory" block (docs/api.md):
 * {"sqlite": PATH} is the SQLite store (st_inventory.h, for a single host), {"dynamodb": {...}}
 * the DynamoDB store (st_dynamodb.h, for Lambda and ECS). api/api_config.c parses the block into
 * a struct st_config; st_config_check() validates it before anything is opened, and
 * st_inventory_open() opens the store it names. Callers then use the store only through
 * struct st_inventory_ops, whichever it is.
 */
#ifndef ST_CONFIG_H
#define ST_CONFIG_H

#include "common/hs_err.h"
#include "store/st_dynamodb.h"
#include "store/st_inventory.h"

#define ST_SQLITE_PATH_MAX 4095 /* bytes of the SQLite file's path, without its NUL */

enum st_backend {
    ST_BACKEND_NONE = 0, /* the zero value names no store: a config left empty is refused */
    ST_BACKEND_SQLITE = 1,
    ST_BACKEND_DYNAMODB = 2,
};

/* Borrowed strings: the caller keeps them alive while it checks or opens (the stores copy
 * what they keep). */
struct st_config {
    enum st_backend backend;
    const char *sqlite_path;            /* ST_BACKEND_SQLITE: the database file */
    struct st_dynamodb_config dynamodb; /* ST_BACKEND_DYNAMODB: st_dynamodb.h */
};

/* Checks cfg without opening anything (no file is created, no request sent): a known backend,
 * a SQLite path of 1..ST_SQLITE_PATH_MAX bytes, or a DynamoDB config as
 * st_dynamodb_config_check() checks it. Errors: HS_ERR_INTERNAL (NULL), HS_ERR_INPUT_CONFIG
 * naming the field, HS_ERR_NOMEM. */
HS_RESULT st_config_check(const struct st_config *cfg);

/* Checks cfg (st_config_check), then opens the store it names: st_sqlite_open(sqlite_path) or
 * st_dynamodb_open(&dynamodb), whose headers give the details and errors (HS_ERR_INPUT_CONFIG,
 * HS_ERR_IO, HS_ERR_NOMEM); the error detail ends with the backend's name ("in \"sqlite\"").
 * *out is written only on success; the caller closes it with st_inventory_close(). */
HS_RESULT st_inventory_open(const struct st_config *cfg, struct st_inventory **out);

#endif /* ST_CONFIG_H */
