#include "store/st_config.h"

#include <string.h>

static HS_RESULT st_config_sqlite_check(const char *path)
{
    HS_ENSURE_MSG(path != NULL, HS_ERR_INPUT_CONFIG, "the SQLite inventory needs a path");
    size_t n = strnlen(path, ST_SQLITE_PATH_MAX + 1);
    HS_ENSURE_MSG(n >= 1 && n <= ST_SQLITE_PATH_MAX, HS_ERR_INPUT_CONFIG,
                  "the inventory path is empty or longer than %d bytes", ST_SQLITE_PATH_MAX);
    return HS_OK;
}

HS_RESULT st_config_check(const struct st_config *cfg)
{
    HS_ENSURE_REF(cfg);
    switch (cfg->backend) {
    case ST_BACKEND_SQLITE:
        return hs_error_context(st_config_sqlite_check(cfg->sqlite_path), "sqlite");
    case ST_BACKEND_DYNAMODB:
        return hs_error_context(st_dynamodb_config_check(&cfg->dynamodb), "dynamodb");
    default:
        HS_BAIL_MSG(HS_ERR_INPUT_CONFIG, "no inventory store configured (backend %d)",
                    (int)cfg->backend);
    }
}

HS_RESULT st_inventory_open(const struct st_config *cfg, struct st_inventory **out)
{
    HS_ENSURE_REF(out);
    HS_GUARD(st_config_check(cfg));
    switch (cfg->backend) {
    case ST_BACKEND_SQLITE:
        return hs_error_context(st_sqlite_open(cfg->sqlite_path, out), "sqlite");
    case ST_BACKEND_DYNAMODB:
        return hs_error_context(st_dynamodb_open(&cfg->dynamodb, out), "dynamodb");
    default:
        HS_BAIL_MSG(HS_ERR_INTERNAL, "inventory backend %d", (int)cfg->backend);
    }
}
