/* fuzz_statement.c - libFuzzer target for how tarn reads users' SQL: the lexer
 * (src/engine/statement.c), the statement classifier, and the rewriters that turn a MERGE,
 * UPDATE, DELETE or INSERT into what DuckDB runs (src/sql/dml.c, insert.c, query.c). Any
 * input must be classified and run or refused with an error -- never crash or leak -- and,
 * whatever it says, must leave no file outside the table's folder and no macro, view or
 * attached database behind (the oracle below checks after every input). It runs on a scratch
 * warehouse with one table, default.t (id BIGINT, name VARCHAR), made once. Seeds in
 * corpus/statement/ are MERGE, UPDATE, DELETE, INSERT and PIVOT statements, plain and with the
 * comment and quote tricks tests/integration/t91-hostile-sql.sh uses.
 * Build and run (from the repository root, after `make`; the code under test is instrumented,
 * the rest of tarn comes from build/libtarn.a):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -Isrc \
 *     -isystem node_modules/duckdb/src/duckdb/src/include fuzz/fuzz_statement.c \
 *     src/engine/statement.c src/sql/dml.c src/sql/insert.c src/sql/query.c \
 *     build/libtarn.a -Lnode_modules/@duckdb/node-bindings-linux-x64 -lduckdb \
 *     -Wl,-rpath,$PWD/node_modules/@duckdb/node-bindings-linux-x64 -lsqlite3 -ljansson \
 *     -lmicrohttpd -lcurl -lcrypto -ledit -lz -lsnappy -lzstd -lpthread -lm -o /tmp/fuzz_statement
 *   cp -r fuzz/corpus/statement /tmp/statement-corpus
 *   ASAN_OPTIONS=detect_leaks=0 /tmp/fuzz_statement -max_total_time=60 -timeout=20 \
 *     /tmp/statement-corpus
 * (run on a copy so the corpus the fuzzer grows stays out of the repository; DuckDB keeps
 * caches as long as the process lives, hence detect_leaks=0) */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "table/table.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tn_warehouse *wh;
static struct tn_session *session;
static char dir[] = "/tmp/tarn-fuzz-statement.XXXXXX";
static char *objects; /* DuckDB's objects (see oracle) after the setup */

#define OBJECTS_SQL                                                                                \
    "SELECT (SELECT count(*) FROM duckdb_functions() WHERE NOT internal) || ' ' || "               \
    "(SELECT count(*) FROM duckdb_views() WHERE NOT internal) || ' ' || "                          \
    "(SELECT count(*) FROM duckdb_tables() WHERE NOT temporary) || ' ' || "                        \
    "(SELECT count(*) FROM duckdb_databases() WHERE NOT internal)"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct tn_warehouse_options wo = {0};
    struct tn_write_options w = {TN_WRITE_APPEND, NULL};
    struct tn_commit_result cr;
    struct tn_err err = {0};
    json_t *schema = json_loads("{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,"
                                "\"name\":\"id\",\"required\":false,\"type\":\"long\"},{\"id\":2,"
                                "\"name\":\"name\",\"required\":false,\"type\":\"string\"}]}",
                                0, NULL);

    (void)argc;
    (void)argv;
    if (!mkdtemp(dir))
        abort();
    wo.warehouse = dir;
    if (tn_warehouse_open(&wo, &wh, &err) || tn_session_open(wh->engine, &session, &err) ||
        tn_table_create(wh, "default", "t", schema, NULL, NULL, &err) ||
        tn_table_write(wh, session, "default", "t",
                       "SELECT range AS id, 'n' || range AS name FROM range(5)", &w, &cr, &err)) {
        fprintf(stderr, "fuzz_statement: cannot set up: %s\n", err.msg);
        abort();
    }
    json_decref(schema);
    objects = tn_query_value(session, OBJECTS_SQL, &err);
    if (!objects)
        abort();
    return 0;
}

/* Nothing but catalog.db, default/ and tarn's temporary folder in the warehouse; no more
 * macros, functions, views, tables or databases in DuckDB than after the setup. */
static void oracle(const char *sql)
{
    struct tn_err err = {0};
    struct tn_rows *r = NULL;
    DIR *d = opendir(dir);
    struct dirent *e;

    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "default") &&
            strncmp(e->d_name, "catalog.db", 10) && strcmp(e->d_name, ".tmp")) {
            fprintf(stderr, "fuzz_statement: '%s' left %s in the warehouse\n", sql, e->d_name);
            abort();
        }
    }
    if (d)
        closedir(d);
    if (tn_engine_rows(session, OBJECTS_SQL, 1, &r, &err) ||
        strcmp(tn_rows_get(r, 0, 0), objects) != 0) {
        fprintf(stderr, "fuzz_statement: '%s' left an object in DuckDB (%s, was %s)\n", sql,
                r ? tn_rows_get(r, 0, 0) : err.msg, objects);
        abort();
    }
    tn_rows_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *sql = malloc(size + 1);
    struct tn_sql_tokens t;
    struct tn_statement st;
    struct tn_err err = {0};

    memcpy(sql, data, size);
    sql[size] = '\0';
    if (strlen(sql) != size) { /* DuckDB's text API stops at a NUL byte */
        free(sql);
        return 0;
    }
    if (tn_sql_lex(sql, &t, &err) == 0) {
        char *quoted = tn_sql_quote_default(&t);
        if (strlen(t.text) != size)
            abort(); /* the comment-free text keeps every position */
        for (size_t i = 0; i < t.n; i++) {
            char *name = tn_sql_tok_name(&t, i), *span = tn_sql_tok_span(&t, i, i + 1);
            if (t.v[i].start + t.v[i].len > size || strlen(span) != t.v[i].len)
                abort();
            free(name);
            free(span);
        }
        free(quoted);
        tn_sql_tokens_release(&t);
    }
    if (tn_statement_classify(session, sql, &st, &err) == 0) {
        struct tn_query_options qo = {-1, -1, NULL, NULL, -1, NULL, NULL, NULL, NULL};
        char *resolved = NULL;
        if (st.kind == TN_STMT_MERGE || st.kind == TN_STMT_UPDATE || st.kind == TN_STMT_DELETE) {
            struct tn_dml_result res;
            tn_table_dml(wh, session, sql, NULL, &res, &err);
        } else if (st.kind == TN_STMT_INSERT) {
            struct tn_insert_result res;
            tn_table_insert(wh, session, sql, NULL, &res, &err);
        } else if (st.kind == TN_STMT_READ &&
                   tn_query_resolve(wh, session, sql, &qo, &resolved, &err) == 0) {
            struct tn_rows *r = NULL;
            char *q = tn_asprintf("SELECT count(*) FROM (%s) _t", resolved);
            tn_engine_rows(session, q, 1, &r, &err);
            tn_rows_free(r);
            free(q);
        }
        free(resolved);
    }
    oracle(sql);
    free(sql);
    return 0;
}
