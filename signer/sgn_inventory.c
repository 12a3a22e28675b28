#include "sgn_inventory.h"

/* The store-independent half of sgn_inventory.h; each store lives in its own file
 * (sgn_inventory_sqlite.c). */

void sgn_inventory_close(struct sgn_inventory *inv)
{
    if (inv != NULL) {
        inv->ops->close(inv);
    }
}

void sgn_inventory_closep(struct sgn_inventory **inv)
{
    sgn_inventory_close(*inv);
}
