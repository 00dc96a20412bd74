/* test_sql_safety.c - users' SQL cannot make tarn run more than one statement of the kinds it
 * runs: the lexer (comments, strings, dollar quotes), the statement classifier, the engine's
 * one-prepared-statement gate, MERGE rebuilt from its parts, and the names DuckDB keeps. */
#include <stdlib.h>
#include <sys/stat.h>

#include "engine/engine.h"
#include "tn_test_table.h"

static void test_lexer(void)
{
    struct tn_err err = {0};
    struct tn_sql_tokens t;
    char *span;

    CHECK_OK(
        tn_sql_lex("SELECT 'a -- b', \"c\"\"d\" -- ) x\n/* /* nested ) */ ' */ FROM t;", &t, &err));
    CHECK_INT_EQ(t.n, 7);
    if (t.n == 7) {
        CHECK_INT_EQ(t.v[1].kind, TN_TOK_STRING);
        CHECK_INT_EQ(t.v[3].kind, TN_TOK_IDENT);
        CHECK(tn_sql_tok_is(&t, 4, "from"));
        CHECK(tn_sql_tok_is(&t, 6, ";"));
        span = tn_sql_tok_name(&t, 3);
        CHECK_STR_EQ(span, "c\"d");
        free(span);
        span = tn_sql_tok_span(&t, 0, 6);
        CHECK(!strstr(span, "-- )") && !strstr(span, "/*") && !strstr(span, "nested"));
        CHECK_CONTAINS(span, "'a -- b'");
        free(span);
    }
    tn_sql_tokens_release(&t);
    /* E'' strings end where DuckDB ends them; dollar quotes hold anything */
    CHECK_OK(tn_sql_lex("SELECT E'it\\'s )', $q$ ') -- $q$, $1 x", &t, &err));
    CHECK_INT_EQ(t.n, 8); /* $1 is '$' and 1 */
    if (t.n == 8) {
        CHECK_INT_EQ(t.v[1].kind, TN_TOK_STRING);
        CHECK_INT_EQ(t.v[3].kind, TN_TOK_STRING);
        CHECK(tn_sql_tok_is(&t, 7, "x"));
    }
    tn_sql_tokens_release(&t);
    CHECK(tn_sql_lex("SELECT 'open", &t, &err) == TN_EINPUT);
    CHECK(tn_sql_lex("SELECT 1 /* /* */", &t, &err) == TN_EINPUT);
    CHECK(tn_sql_lex("SELECT \"x", &t, &err) == TN_EINPUT);
    /* depth: tokens inside brackets are deeper; the brackets sit at the outer depth */
    CHECK_OK(tn_sql_lex("(a [b])", &t, &err));
    CHECK_INT_EQ(t.v[0].depth, 0);
    CHECK_INT_EQ(t.v[1].depth, 1);
    CHECK_INT_EQ(t.v[3].depth, 2);
    CHECK_INT_EQ(t.v[5].depth, 0);
    tn_sql_tokens_release(&t);
    /* default.t is quoted for DuckDB's parser, default elsewhere is left alone */
    CHECK_OK(tn_sql_lex("SELECT DEFAULT . t FROM default.t -- c\nWHERE x = 'default.'", &t, &err));
    span = tn_sql_quote_default(&t);
    CHECK_STR_EQ(span, "SELECT \"default\" . t FROM \"default\".t     \nWHERE x = 'default.'");
    free(span);
    tn_sql_tokens_release(&t);
}

static void test_classifier(void)
{
    static const struct {
        const char *sql;
        int kind; /* -1: refused */
    } cases[] = {
        {"SELECT 1", TN_STMT_READ},
        {"  -- note\n(SELECT 1) UNION SELECT 2;", TN_STMT_READ},
        {"PIVOT t ON region USING sum(x)", TN_STMT_READ},
        {"SELECT * FROM default.t", TN_STMT_READ},
        {"/* x */ insert into t values (1)", TN_STMT_INSERT},
        {"UPDATE t SET a = 1", TN_STMT_UPDATE},
        {"DELETE FROM t", TN_STMT_DELETE},
        {"MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", TN_STMT_MERGE},
        {"ALTER TABLE t SET UNPARTITIONED", TN_STMT_ALTER},
        {"EXPLAIN ANALYZE SELECT 1", TN_STMT_EXPLAIN},
        {"SELECT 1; SELECT 2", -1},
        {"SELECT 1; -- two\n COPY (SELECT 1) TO 'x'", -1},
        {"MERGE INTO t USING (SELECT 1 AS id -- )\n) s ON true WHEN MATCHED THEN DELETE; "
         "ATTACH 'x'",
         -1},
        {"ALTER TABLE t ADD c INT; DROP TABLE t", -1},
        {"SELECT 'unterminated", -1},
        {"-- nothing", -1},
    };
    struct tn_err err = {0};
    struct fixture fx;
    struct tn_statement st;

    if (tn_test_warehouse_open(&fx))
        return;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = tn_statement_classify(fx.s, cases[i].sql, &st, &err);
        if (cases[i].kind < 0 ? rc == 0 : rc != 0 || (int)st.kind != cases[i].kind)
            tn_test_failed(__FILE__, __LINE__, "%s: rc %d kind %d (%s)", cases[i].sql, rc,
                           (int)st.kind, rc ? err.msg : "");
    }
    CHECK_OK(tn_statement_classify(fx.s, "explain analyze  SELECT 2", &st, &err));
    CHECK_STR_EQ(st.body, "SELECT 2");
    CHECK(st.analyze);
    CHECK(tn_statement_classify(fx.s, "SELECT 1; SELECT 2", &st, &err) == TN_EINPUT);
    CHECK_CONTAINS(err.msg, "one statement per request");
    tn_test_warehouse_close(&fx);
}

static void test_engine_gate(void)
{
    static const char *const refused[] = {
        "CREATE MACRO upper(x) AS 'PWNED'",
        "CREATE OR REPLACE TEMP MACRO m(x) AS 1",
        "CREATE FUNCTION f(x) AS x + 1",
        "CREATE VIEW v AS SELECT 1",
        "CREATE TEMP VIEW v AS SELECT 1",
        "CREATE SCHEMA s",
        "CREATE TABLE main_t AS SELECT 1",
        "  CREATE TEMP TABLE x2 AS SELECT 1", /* not tarn's own exact form */
        "ATTACH ':memory:' AS m",
        "DETACH m",
        "SET threads = 1",
        "RESET threads",
        "PRAGMA threads = 1",
        "CALL pragma_version()",
        "LOAD parquet",
        "BEGIN TRANSACTION",
        "DROP MACRO upper",
        "DROP VIEW duckdb_settings",
        "SELECT 1; SELECT 2",
        "CREATE TEMP TABLE ok1 AS SELECT 1; CREATE MACRO m(x) AS 1",
    };
    struct tn_err err = {0};
    struct fixture fx;
    struct tn_rows *r = NULL;

    if (tn_test_warehouse_open(&fx))
        return;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (tn_engine_exec(fx.s, refused[i], &err) == 0)
            tn_test_failed(__FILE__, __LINE__, "the engine ran: %s", refused[i]);
    CHECK(tn_engine_rows(fx.s, "SELECT 1; SELECT 2", 10, &r, &err) == TN_EINPUT);
    CHECK(tn_engine_exec(fx.s, "CREATE MACRO m(x) AS 1", &err) == TN_EFORBIDDEN);
    /* what tarn itself runs still runs */
    CHECK_OK(tn_engine_exec(fx.s, "CREATE TEMP TABLE _tn_gate AS SELECT 1 AS x", &err));
    CHECK_OK(tn_engine_exec(fx.s,
                            "MERGE INTO _tn_gate USING (SELECT 1 AS x) s ON "
                            "_tn_gate.x = s.x WHEN MATCHED THEN DELETE",
                            &err));
    CHECK_OK(tn_engine_exec(fx.s, "DROP TABLE _tn_gate", &err));
    CHECK_OK(tn_engine_rows(fx.s,
                            "SELECT upper('a'), count(*) FROM duckdb_functions() WHERE "
                            "function_name IN ('m', 'f')",
                            1, &r, &err));
    if (r) {
        CHECK_STR_EQ(tn_rows_get(r, 0, 0), "A");
        CHECK_STR_EQ(tn_rows_get(r, 0, 1), "0");
    }
    tn_rows_free(r);
    tn_test_warehouse_close(&fx);
}

/* The MERGE whose "-- )" once ended tarn's reading of its USING subquery: what DuckDB reads is
 * one MERGE that matches nothing; nothing after the comment runs. */
static void test_merge_smuggling(void)
{
    struct tn_err err = {0};
    struct fixture fx;
    struct tn_dml_result res;
    struct tn_write_options w = {.mode = TN_WRITE_APPEND};
    struct tn_commit_result cr;
    struct stat sb;
    char *sql, *file;
    json_t *schema = json_loads("{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,"
                                "\"name\":\"id\",\"required\":false,\"type\":\"long\"}]}",
                                0, NULL);

    if (tn_test_warehouse_open(&fx)) {
        json_decref(schema);
        return;
    }
    CHECK_OK(tn_table_create(fx.wh, "default", "m", schema, NULL, NULL, &err));
    json_decref(schema);
    CHECK_OK(
        tn_table_write(fx.wh, fx.s, "default", "m", "SELECT * FROM range(5) r(id)", &w, &cr, &err));
    file = tn_asprintf("%s/pwn.csv", fx.dir);
    sql = tn_asprintf("MERGE INTO m USING (SELECT 1 AS id -- ) s ON true WHEN MATCHED THEN "
                      "DELETE; COPY (SELECT 42) TO '%s'; CREATE TEMP TABLE z(id INT); MERGE "
                      "INTO z USING (SELECT 1 AS id\n) s ON s.id = -1 WHEN MATCHED THEN DELETE",
                      file);
    CHECK_OK(tn_table_dml(fx.wh, fx.s, sql, NULL, &res, &err));
    CHECK_INT_EQ(res.rows_affected, 0);
    CHECK(stat(file, &sb) != 0);
    CHECK_SCALAR(&fx, "SELECT count(*) FROM m", "5");
    free(sql);
    /* a clause that tries to close the VALUES list early is one expression too many */
    CHECK(tn_table_dml(fx.wh, fx.s,
                       "MERGE INTO m USING (SELECT 9 AS id) s ON m.id = s.id WHEN NOT MATCHED "
                       "THEN INSERT VALUES (s.id) , (1)",
                       NULL, &res, &err) != 0);
    /* comments anywhere, and a CASE in the condition */
    CHECK_OK(tn_table_dml(fx.wh, fx.s,
                          "MERGE /* ) */ INTO m AS t USING m AS s -- ')\n"
                          "ON t.id = s.id AND CASE WHEN s.id > 2 THEN true ELSE false END "
                          "WHEN MATCHED THEN DELETE",
                          NULL, &res, &err));
    CHECK_INT_EQ(res.rows_affected, 2);
    CHECK_SCALAR(&fx, "SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM default.m", "0,1,2");
    CHECK(tn_table_dml(fx.wh, fx.s,
                       "MERGE INTO m USING m s ON true WHEN MATCHED THEN DELETE RETURNING *", NULL,
                       &res, &err) == TN_EINPUT);
    free(file);
    tn_test_warehouse_close(&fx);
}

/* Every built-in DuckDB view outside information_schema is a name tarn refuses. */
static void test_reserved_names(void)
{
    struct tn_err err = {0};
    struct fixture fx;
    struct tn_rows *r = NULL;

    CHECK(tn_sql_reserved_name("default", "duckdb_settings", &err) == TN_EINPUT);
    CHECK(tn_sql_reserved_name("information_schema", "x", &err) == TN_EINPUT);
    CHECK(tn_sql_reserved_name("pg_catalog", "x", &err) == TN_EINPUT);
    CHECK(tn_sql_reserved_name("default", "pg_catalog", &err) == TN_EINPUT);
    CHECK(tn_sql_reserved_name("default", "_tn_stage_1", &err) == TN_EINPUT);
    CHECK_OK(tn_sql_reserved_name("default", "sales", &err));
    CHECK_OK(tn_sql_reserved_name("shop", "pg_orders", &err));
    if (tn_test_warehouse_open(&fx))
        return;
    CHECK_OK(tn_engine_rows(fx.s,
                            "SELECT DISTINCT view_name FROM duckdb_views() WHERE internal "
                            "AND schema_name <> 'information_schema'",
                            1000, &r, &err));
    for (size_t i = 0; r && i < r->nrows; i++)
        if (tn_sql_reserved_name("default", tn_rows_get(r, i, 0), &err) == 0)
            tn_test_failed(__FILE__, __LINE__, "DuckDB's view %s is not refused",
                           tn_rows_get(r, i, 0));
    tn_rows_free(r);
    r = NULL;
    CHECK_OK(tn_engine_rows(fx.s,
                            "SELECT DISTINCT schema_name FROM duckdb_schemas() UNION "
                            "SELECT database_name FROM duckdb_databases()",
                            1000, &r, &err));
    for (size_t i = 0; r && i < r->nrows; i++)
        if (tn_sql_reserved_name(tn_rows_get(r, i, 0), "x", &err) == 0)
            tn_test_failed(__FILE__, __LINE__, "DuckDB's schema %s is not refused",
                           tn_rows_get(r, i, 0));
    tn_rows_free(r);
    tn_test_warehouse_close(&fx);
}

static const struct tn_test sql_safety_tests[] = {
    {"the lexer knows comments, strings, dollar quotes and brackets", test_lexer},
    {"one classifier: kinds, and one statement for tarn and DuckDB", test_classifier},
    {"the engine runs one prepared statement of tarn's kinds", test_engine_gate},
    {"MERGE is rebuilt from its parts: a comment smuggles nothing", test_merge_smuggling},
    {"names of DuckDB's own views and schemas are refused", test_reserved_names},
    {NULL, NULL},
};
TN_SUITE(sql_safety_tests)
