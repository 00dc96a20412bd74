/* tn_test_table.h - what the table-level unit tests share: a scratch warehouse with an open
 * DuckDB session, and the first cell of a query over its tables. */
#ifndef TN_TEST_TABLE_H
#define TN_TEST_TABLE_H

#include "table/table.h"
#include "tn_test.h"

struct fixture {
    char *dir; /* the warehouse directory (a fresh temporary one) */
    struct tn_warehouse *wh;
    struct tn_session *s;
};

/* Open a warehouse on a fresh directory and a session on it; reports a failure and returns
 * non-zero when it cannot. */
int tn_test_warehouse_open(struct fixture *fx);
void tn_test_warehouse_close(struct fixture *fx);
/* The first cell of "sql" over the current tables as text ("NULL" for null; NULL, with the
 * failure reported, when the query fails). Caller frees. */
char *tn_test_scalar(struct fixture *fx, const char *sql);

#define CHECK_SCALAR(fx, sql, expected)                                                            \
    do {                                                                                           \
        char *v_ = tn_test_scalar(fx, sql);                                                        \
        CHECK_STR_EQ(v_, expected);                                                                \
        free(v_);                                                                                  \
    } while (0)

#endif
