/* ops.h - the operations users ask for, one function each, the same for the HTTP routes, the
 * command line and the AI tools: an entry point reads its own inputs (a request, flags) into
 * these requests and renders the results (JSON, text, a stream of rows); what runs, in which
 * order, what is refused and with which error is decided here once. */
#ifndef TN_OPS_H
#define TN_OPS_H

#include "table/table.h"

/* One SQL statement from a user. */
struct tn_op_sql {
    const char *sql;
    const char *as_of;          /* a time to read at (tn_engine_timestamp_ms), or NULL */
    const char *read_only_hint; /* NULL: changes are allowed; else what to tell a user whose
                                   statement changes a table (it is refused, 403) */
    struct tn_query_options qo; /* snapshot_id, branch and plan from the caller; as_of_ms is
                                   set from "as_of" */
};

/* What it was and what it did. */
struct tn_op_sql_result {
    struct tn_statement st; /* its kind; for EXPLAIN, st.body is the statement explained */
    /* A read (TN_STMT_READ, TN_STMT_EXPLAIN): the SQL DuckDB runs for st.body over tarn's
     * tables (caller frees); for EXPLAIN, without the EXPLAIN. */
    char *resolved;
    /* A change: the table it changed and the commit it made. */
    char ns[TN_NAME_MAX + 1], table[TN_NAME_MAX + 1];
    int64_t rows_affected;
    struct tn_commit_result commit; /* snapshot_id -1: nothing was committed */
    int created, dropped;           /* CREATE, DROP: 0 for both when IF [NOT] EXISTS did nothing */
    int view, replaced;             /* CREATE/DROP VIEW; CREATE OR REPLACE VIEW replaced one */
    struct tn_returning returning;  /* RETURNING: the rows to show (returning.sql NULL: none) */
};

/* The two steps of a statement, so that an entry point can decide between them (a server ends
 * the query timeout's watch before a commit; EXPLAIN asks for the plan in op->qo.plan):
 * tn_op_sql_prepare classifies op->sql (one statement), reads op->as_of and refuses a change
 * where op->read_only_hint says so (403); tn_op_sql_execute then resolves a read over tarn's
 * tables (res->resolved) or runs INSERT, UPDATE, DELETE, MERGE, ALTER TABLE, CREATE or DROP
 * as one commit, refused under time travel. A statement DuckDB cannot read as a query is
 * TN_EFORBIDDEN, saying what tarn runs. Release "res" with tn_op_sql_release. */
int tn_op_sql_prepare(struct tn_session *s, struct tn_op_sql *op, struct tn_op_sql_result *res,
                      struct tn_err *err);
int tn_op_sql_execute(struct tn_warehouse *wh, struct tn_session *s, struct tn_op_sql *op,
                      struct tn_op_sql_result *res, struct tn_err *err);
/* 1 when the prepared statement changes a table. */
int tn_op_sql_changes(const struct tn_op_sql_result *res);
void tn_op_sql_release(struct tn_session *s, struct tn_op_sql_result *res);

#endif
