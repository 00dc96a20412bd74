/* tn_test_table.c - the scratch warehouse of the table-level unit tests (tn_test_table.h). */
#include "tn_test_table.h"

#include <stdlib.h>

int tn_test_warehouse_open(struct fixture *fx)
{
    struct tn_err err = {0};
    struct tn_warehouse_options wo = {0};

    fx->wh = NULL;
    fx->s = NULL;
    fx->dir = tn_strdup(tn_test_tmpdir());
    wo.warehouse = fx->dir;
    if (tn_warehouse_open(&wo, &fx->wh, &err) || tn_session_open(fx->wh->engine, &fx->s, &err)) {
        tn_test_failed(__FILE__, __LINE__, "opening a warehouse: %s", err.msg);
        tn_test_warehouse_close(fx);
        return -1;
    }
    return 0;
}

void tn_test_warehouse_close(struct fixture *fx)
{
    tn_session_close(fx->s);
    tn_warehouse_close(fx->wh);
    free(fx->dir);
    fx->dir = NULL;
}

char *tn_test_scalar(struct fixture *fx, const char *sql)
{
    struct tn_err err = {0};
    char *resolved = NULL, *v = NULL;
    struct tn_rows *r = NULL;

    if (tn_query_resolve(fx->wh, fx->s, sql, NULL, &resolved, &err) ||
        tn_engine_rows(fx->s, resolved, 10, &r, &err))
        tn_test_failed(__FILE__, __LINE__, "%s: %s", sql, err.msg);
    else if (r->nrows)
        v = tn_strdup(tn_rows_get(r, 0, 0) ? tn_rows_get(r, 0, 0) : "NULL");
    tn_rows_free(r);
    free(resolved);
    return v;
}
