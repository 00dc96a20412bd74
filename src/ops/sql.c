/* sql.c - one SQL statement from a user, for POST/GET /query, `tarn sql`, the shell and the AI
 * tools alike (see ops.h): classified once, its time read once, a read resolved over tarn's
 * tables, a change run as one commit. The entry points only render what it did. */
#include "ops/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A statement DuckDB cannot read as a query (tn_query_parse's TN_ENOTIMPL): say what runs. */
static int refuse_not_a_query(const struct tn_statement *st, struct tn_err *err)
{
    if (st->pivot)
        return tn_fail(err, TN_EINPUT,
                       "a PIVOT without IN inside a subquery or WITH is not one statement for "
                       "DuckDB: list the values (ON col IN ('a', 'b')) or make the PIVOT the "
                       "statement itself");
    return tn_fail(err, TN_EFORBIDDEN,
                   "only SELECT and the other reads (WITH, VALUES, FROM, PIVOT, UNPIVOT, "
                   "DESCRIBE, SHOW, SUMMARIZE, EXPLAIN), and INSERT, UPDATE, DELETE, MERGE, "
                   "ALTER TABLE, CREATE TABLE and DROP TABLE on tarn tables run here; %s "
                   "statements are refused",
                   *st->keyword ? st->keyword : "these");
}

/* INSERT, UPDATE, DELETE, MERGE, ALTER TABLE, CREATE, DROP: one commit. */
static int run_change(struct tn_warehouse *wh, struct tn_session *s, const char *sql,
                      const struct tn_query_options *qo, struct tn_op_sql_result *res,
                      struct tn_err *err)
{
    int rc = 0;

    /* a change under time travel is refused (CREATE and DROP say it in their own words) */
    if (res->st.kind != TN_STMT_CREATE && res->st.kind != TN_STMT_DROP &&
        (rc = tn_write_check_travel(qo, res->st.keyword, err)) != 0)
        return rc;
    switch (res->st.kind) {
    case TN_STMT_INSERT: {
        struct tn_insert_result ir;
        memset(&ir, 0, sizeof(ir));
        rc = tn_table_insert(wh, s, sql, qo, &ir, err);
        if (rc)
            return rc;
        memcpy(res->ns, ir.ns, sizeof(res->ns));
        memcpy(res->table, ir.table, sizeof(res->table));
        res->commit = ir.commit;
        res->rows_affected = ir.commit.rows_added;
        res->returning = ir.returning;
        return 0;
    }
    case TN_STMT_DELETE:
    case TN_STMT_UPDATE:
    case TN_STMT_MERGE: {
        struct tn_dml_result dr;
        memset(&dr, 0, sizeof(dr));
        rc = tn_table_dml(wh, s, sql, qo, &dr, err);
        if (rc)
            return rc;
        memcpy(res->ns, dr.ns, sizeof(res->ns));
        memcpy(res->table, dr.table, sizeof(res->table));
        res->rows_affected = dr.rows_affected;
        res->commit.snapshot_id = dr.snapshot_id;
        res->returning = dr.returning;
        return 0;
    }
    case TN_STMT_CREATE:
    case TN_STMT_DROP: {
        struct tn_ddl_result dd;
        memset(&dd, 0, sizeof(dd));
        rc = tn_table_ddl(wh, s, sql, qo, &dd, err);
        if (rc)
            return rc;
        memcpy(res->ns, dd.ns, sizeof(res->ns));
        memcpy(res->table, dd.table, sizeof(res->table));
        res->commit = dd.commit;
        res->rows_affected = dd.commit.rows_added;
        res->created = dd.created;
        res->dropped = dd.dropped;
        res->view = dd.view;
        res->replaced = dd.replaced;
        return 0;
    }
    default: { /* ALTER TABLE: metadata only; the answer names the table's snapshot */
        struct tn_alter_result ar;
        struct tn_table *t = NULL;
        memset(&ar, 0, sizeof(ar));
        rc = tn_table_alter(wh, s, sql, &ar, err);
        if (!rc)
            rc = ar.renamed ? tn_table_load(wh, ar.new_ns, ar.new_table, &t, err)
                            : tn_table_load(wh, ar.ns, ar.table, &t, err);
        if (rc)
            return rc;
        snprintf(res->ns, sizeof(res->ns), "%s", t->ns);
        snprintf(res->table, sizeof(res->table), "%s", t->name);
        res->commit.snapshot_id = t->meta->current_snapshot_id;
        tn_table_free(t);
        return 0;
    }
    }
}

int tn_op_sql_prepare(struct tn_session *s, struct tn_op_sql *op, struct tn_op_sql_result *res,
                      struct tn_err *err)
{
    int rc;

    memset(res, 0, sizeof(*res));
    res->commit.snapshot_id = -1;
    rc = tn_statement_classify(s, op->sql, &res->st, err);
    if (rc)
        return rc;
    op->qo.as_of_ms = -1;
    op->qo.target_snapshot = -1;
    if (op->as_of && (rc = tn_engine_timestamp_ms(s, op->as_of, &op->qo.as_of_ms, err)) != 0) {
        tn_err_prefix(err, "as_of: ");
        return rc;
    }
    if (tn_op_sql_changes(res) && op->read_only_hint)
        return tn_fail(err, TN_EFORBIDDEN, "%s changes a table: %s", res->st.keyword,
                       op->read_only_hint);
    return 0;
}

int tn_op_sql_changes(const struct tn_op_sql_result *res)
{
    return res->st.kind != TN_STMT_READ && res->st.kind != TN_STMT_EXPLAIN;
}

int tn_op_sql_execute(struct tn_warehouse *wh, struct tn_session *s, struct tn_op_sql *op,
                      struct tn_op_sql_result *res, struct tn_err *err)
{
    int rc;

    if (tn_op_sql_changes(res))
        return run_change(wh, s, op->sql, &op->qo, res, err);
    rc = tn_query_resolve(wh, s, res->st.body, &op->qo, &res->resolved, err);
    if (rc == TN_ENOTIMPL)
        rc = refuse_not_a_query(&res->st, err);
    return rc;
}

void tn_op_sql_release(struct tn_session *s, struct tn_op_sql_result *res)
{
    free(res->resolved);
    res->resolved = NULL;
    tn_returning_release(s, &res->returning);
}
