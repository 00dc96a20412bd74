/* test_sql_user.c - SQL a DuckDB user already knows, at the library level: the classifier's
 * CREATE and DROP, CREATE TABLE's schema, SHOW TABLES / DESCRIBE / information_schema from the
 * catalog, the nearest-table hint, RETURNING, and the scrubbing of internals from errors. */
#include <stdlib.h>

#include "engine/engine.h"
#include "tn_test_table.h"

static void test_error_scrub(void)
{
    struct tn_err err = {0};

    tn_fail(&err, TN_EINPUT,
            "Binder Error: table \"_tn_rows\" has 2 columns available but 3 columns specified");
    tn_engine_error_scrub(&err);
    CHECK_STR_EQ(err.msg, "Binder Error: INSERT: each row has 2 values but 3 columns to fill (the "
                          "table's, or the column list's); give one value per column, or name the "
                          "columns you fill");
    tn_fail(&err, TN_EINPUT,
            "Binder Error: Referenced column \"x\" not found in FROM clause! Candidate bindings: "
            "\"_tn_pos\", \"id\", \"file_row_number\"");
    tn_engine_error_scrub(&err);
    CHECK_STR_EQ(err.msg, "Binder Error: Referenced column \"x\" not found in FROM clause! "
                          "Candidate bindings: \"id\"");
    tn_fail(&err, TN_EINPUT,
            "Binder Error: column \"x\" not found! Candidate bindings: \"_tn_file\"");
    tn_engine_error_scrub(&err);
    CHECK_STR_EQ(err.msg, "Binder Error: column \"x\" not found!");
    tn_fail(&err, TN_EINPUT,
            "Invalid Input Error: Footer length error in file "
            "/srv/wh/.tmp/upload-1234-0a1b2c3d-aaaa-bbbb-cccc-0123456789ab");
    tn_engine_error_scrub(&err);
    CHECK_STR_EQ(err.msg, "Invalid Input Error: Footer length error in the uploaded file");
    tn_fail(&err, TN_EINPUT,
            "Parser Error: syntax error\n\nLINE 1: SELECT * FROM (SELECT _tn_file");
    tn_engine_error_scrub(&err);
    CHECK_STR_EQ(err.msg, "Parser Error: syntax error");
}

static void test_classify_ddl(void)
{
    struct tn_err err = {0};
    struct fixture fx;
    struct tn_statement st;

    if (tn_test_warehouse_open(&fx))
        return;
    CHECK_OK(tn_statement_classify(fx.s, "CREATE TABLE t (a INT) PARTITIONED BY (a)", &st, &err));
    CHECK_INT_EQ(st.kind, TN_STMT_CREATE);
    CHECK_OK(tn_statement_classify(fx.s, "drop table if exists t", &st, &err));
    CHECK_INT_EQ(st.kind, TN_STMT_DROP);
    CHECK(tn_statement_classify(fx.s, "CREATE TABLE t (a INT); DROP TABLE u", &st, &err) ==
          TN_EINPUT);
    tn_test_warehouse_close(&fx);
}

static void test_create_describe_show(void)
{
    struct tn_err err = {0};
    struct fixture fx;
    struct tn_ddl_result dr;
    struct tn_query_options qo = {.snapshot_id = -1, .as_of_ms = -1, .target_snapshot = -1};
    char *resolved = NULL;

    if (tn_test_warehouse_open(&fx))
        return;
    CHECK_OK(tn_table_ddl(fx.wh, fx.s,
                          "CREATE TABLE ev (id BIGINT, \"Name\" VARCHAR NOT NULL, s STRUCT(a INT), "
                          "PRIMARY KEY (id)) TBLPROPERTIES ('owner' = 'ana')",
                          &qo, &dr, &err));
    CHECK(dr.created);
    CHECK_SCALAR(&fx, "SELECT string_agg(name, ',') FROM (SHOW TABLES)", "ev");
    CHECK_SCALAR(&fx,
                 "SELECT string_agg(column_name || ':' || \"null\" || ':' || coalesce(key, '-'), "
                 "',') FROM (DESCRIBE ev)",
                 "id:NO:PRI,Name:NO:-,s:YES:-");
    CHECK_SCALAR(&fx, "SELECT data_type FROM information_schema.columns WHERE column_name = 's'",
                 "STRUCT(\"a\" INTEGER)");
    CHECK(tn_table_ddl(fx.wh, fx.s, "CREATE TABLE ev (a INT)", &qo, &dr, &err) == TN_EEXISTS);
    CHECK(tn_query_resolve(fx.wh, fx.s, "SELECT * FROM evv", &qo, &resolved, &err) == TN_ENOTABLE);
    CHECK_CONTAINS(err.msg, "Did you mean \"ev\"?");
    free(resolved);
    CHECK_OK(tn_table_ddl(fx.wh, fx.s, "DROP TABLE ev", &qo, &dr, &err));
    CHECK(dr.dropped);
    CHECK(tn_table_ddl(fx.wh, fx.s, "DROP TABLE ev", &qo, &dr, &err) == TN_ENOTABLE);
    CHECK_OK(tn_table_ddl(fx.wh, fx.s, "DROP TABLE IF EXISTS ev", &qo, &dr, &err));
    CHECK(tn_table_ddl(fx.wh, fx.s, "CREATE SEQUENCE q", &qo, &dr, &err) == TN_EFORBIDDEN);
    CHECK_OK(tn_table_ddl(fx.wh, fx.s, "CREATE VIEW v AS SELECT 1 AS one", &qo, &dr, &err));
    CHECK(dr.view && dr.created && !dr.replaced);
    CHECK_OK(
        tn_table_ddl(fx.wh, fx.s, "CREATE OR REPLACE VIEW v AS SELECT 2 AS two", &qo, &dr, &err));
    CHECK(dr.view && dr.replaced);
    CHECK(tn_table_ddl(fx.wh, fx.s, "CREATE VIEW v AS SELECT 1 AS one", &qo, &dr, &err) ==
          TN_EEXISTS);
    CHECK_OK(tn_table_ddl(fx.wh, fx.s, "DROP VIEW v", &qo, &dr, &err));
    CHECK(dr.view && dr.dropped);
    CHECK(tn_table_ddl(fx.wh, fx.s, "DROP VIEW v", &qo, &dr, &err) == TN_ENOVIEW);
    tn_test_warehouse_close(&fx);
}

static void test_returning(void)
{
    struct tn_err err = {0};
    struct fixture fx;
    struct tn_ddl_result dr;
    struct tn_insert_result ir;
    struct tn_dml_result mr;
    struct tn_query_options qo = {.snapshot_id = -1, .as_of_ms = -1, .target_snapshot = -1};
    struct tn_rows *r = NULL;

    if (tn_test_warehouse_open(&fx))
        return;
    CHECK_OK(tn_table_ddl(fx.wh, fx.s, "CREATE TABLE a (id BIGINT, v DOUBLE)", &qo, &dr, &err));
    CHECK_OK(tn_table_insert(fx.wh, fx.s,
                             "INSERT INTO a VALUES (1, 1.5), (2, 2.5) RETURNING id * 10 AS x", &qo,
                             &ir, &err));
    CHECK(ir.returning.sql != NULL);
    if (ir.returning.sql) {
        CHECK_OK(tn_engine_rows(fx.s, ir.returning.sql, 10, &r, &err));
        CHECK_INT_EQ(r ? r->nrows : 0, 2);
        CHECK_STR_EQ(r ? r->names[0] : NULL, "x");
        tn_rows_free(r);
        r = NULL;
    }
    tn_returning_release(fx.s, &ir.returning);
    CHECK_OK(tn_table_dml(fx.wh, fx.s, "DELETE FROM a WHERE id = 2 RETURNING v", &qo, &mr, &err));
    CHECK_INT_EQ(mr.rows_affected, 1);
    if (mr.returning.sql) {
        CHECK_OK(tn_engine_rows(fx.s, mr.returning.sql, 10, &r, &err));
        CHECK_STR_EQ(r && r->nrows == 1 ? tn_rows_get(r, 0, 0) : NULL, "2.5");
        tn_rows_free(r);
    } else {
        CHECK(mr.returning.sql != NULL);
    }
    tn_returning_release(fx.s, &mr.returning);
    CHECK(tn_table_insert(fx.wh, fx.s, "INSERT INTO a VALUES (3, 1) RETURNING nosuch", &qo, &ir,
                          &err) != 0);
    CHECK_SCALAR(&fx, "SELECT count(*) FROM a", "1");
    tn_test_warehouse_close(&fx);
}

static const struct tn_test sql_user_tests[] = {
    {"errors lose tarn's internal names, rewritten SQL and upload paths", test_error_scrub},
    {"CREATE and DROP are classified, one statement each", test_classify_ddl},
    {"CREATE TABLE, SHOW TABLES, DESCRIBE, information_schema, DROP TABLE",
     test_create_describe_show},
    {"INSERT and DELETE ... RETURNING: the rows committed, nothing when the list fails",
     test_returning},
    {NULL, NULL},
};
TN_SUITE(sql_user_tests)
