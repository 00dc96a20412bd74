/* test_storage_engine.c - unit tests for src/storage (local files are created once, never
 * overwritten; locations must be absolute) and src/engine (the DuckDB sandbox refuses files
 * outside the allowed directories, extension installs and setting changes). */
#include "tn_test.h"

#include <stdlib.h>

#include "engine/engine.h"
#include "storage/storage.h"

static void test_local_files_are_immutable(void)
{
    struct tn_err err = {0};
    struct tn_storage *st = NULL;
    struct tn_buf b = TN_BUF_INIT(1024);
    char *uri;
    int64_t size = 0;

    struct tn_storage_options so = {0};
    so.root = tn_test_tmpdir();
    CHECK_OK(tn_storage_open(&so, &st, &err));
    if (!st)
        return;
    CHECK(strncmp(tn_storage_root_uri(st), "file:///", 8) == 0);
    uri = tn_asprintf("%s/ns/t/metadata/a.json", tn_storage_root_uri(st));
    CHECK_OK(tn_storage_write(st, uri, "hello", 5, &err));
    CHECK_INT_EQ(tn_storage_write(st, uri, "again", 5, &err), TN_EEXISTS);
    CHECK_OK(tn_storage_read(st, uri, &b, &err));
    CHECK_STR_EQ(b.buf, "hello");
    CHECK_OK(tn_storage_size(st, uri, &size, &err));
    CHECK_INT_EQ(size, 5);
    CHECK_OK(tn_storage_delete(st, uri, &err));
    CHECK_OK(tn_storage_delete(st, uri, &err)); /* missing is fine */
    CHECK_INT_EQ(tn_storage_size(st, uri, &size, &err), TN_ENOTFOUND);
    CHECK_INT_EQ(tn_storage_read(st, "relative/path.json", &b, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "path map");
    CHECK_INT_EQ(tn_storage_read(st, "file:///a/../etc/passwd", &b, &err), TN_EFORBIDDEN);
    free(uri);
    tn_buf_release(&b);
    tn_storage_close(st);
}

static void test_read_is_capped(void)
{
    struct tn_err err = {0};
    struct tn_storage *st = NULL;
    struct tn_buf small = TN_BUF_INIT(3);
    char *uri;

    struct tn_storage_options so = {0};
    so.root = tn_test_tmpdir();
    CHECK_OK(tn_storage_open(&so, &st, &err));
    if (!st)
        return;
    uri = tn_asprintf("%s/big", tn_storage_root_uri(st));
    CHECK_OK(tn_storage_write(st, uri, "0123456789", 10, &err));
    CHECK_INT_EQ(tn_storage_read(st, uri, &small, &err), TN_ETOOBIG);
    free(uri);
    tn_buf_release(&small);
    tn_storage_close(st);
}

static void test_sandbox_refuses_escapes(void)
{
    static const char *const refused[] = {
        "SELECT * FROM read_text('/etc/passwd')", "COPY (SELECT 1) TO '/tmp/tarn-escape.csv'",
        "ATTACH '/tmp/tarn-escape.db'",           "INSTALL httpfs",
        "SET allowed_directories = ['/']",        "SET enable_external_access = true",
    };
    struct tn_err err = {0};
    struct tn_engine *e = NULL;
    struct tn_session *s = NULL;
    const char *dirs[] = {tn_test_tmpdir(), NULL};
    struct tn_engine_options opt = {dirs, NULL, NULL, 1};
    struct tn_rows *r = NULL;
    char *sql;

    CHECK_OK(tn_engine_open(&opt, &e, &err));
    if (!e)
        return;
    CHECK_OK(tn_session_open(e, &s, &err));
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (tn_engine_exec(s, refused[i], &err) == 0)
            tn_test_failed(__FILE__, __LINE__, "sandbox allowed: %s", refused[i]);
    }
    /* inside the allowed directory, Parquet round-trips */
    sql = tn_asprintf("COPY (SELECT 42 AS x) TO '%s/ok.parquet' (FORMAT parquet)", dirs[0]);
    CHECK_OK(tn_engine_exec(s, sql, &err));
    free(sql);
    sql = tn_asprintf("SELECT x FROM read_parquet('%s/ok.parquet')", dirs[0]);
    CHECK_OK(tn_engine_rows(s, sql, 10, &r, &err));
    if (r)
        CHECK_STR_EQ(tn_rows_get(r, 0, 0), "42");
    tn_rows_free(r);
    free(sql);
    CHECK_INT_EQ(tn_engine_statement_count(s, "SELECT 1; SELECT 2", &err), 1);
    CHECK_INT_EQ(tn_engine_statement_count(s, "SELECT 1", &err), 0);
    /* asked again: the one-statement text is known, the others are parsed again */
    CHECK_INT_EQ(tn_engine_statement_count(s, "SELECT 1", &err), 0);
    CHECK_INT_EQ(tn_engine_statement_count(s, "SELECT 1; SELECT 2", &err), 1);
    CHECK_INT_EQ(tn_engine_statement_count(s, "SELECT 1;", &err), 0);
    CHECK(tn_engine_statement_count(s, "SELEC 1", &err) < 0);
    CHECK(tn_engine_statement_count(s, "SELEC 1", &err) < 0);
    /* more texts than the engine keeps: the oldest is forgotten, and still counted right */
    for (int i = 0; i < 80; i++) {
        char q[64];
        snprintf(q, sizeof(q), "SELECT %d", i);
        CHECK_INT_EQ(tn_engine_statement_count(s, q, &err), 0);
    }
    CHECK_INT_EQ(tn_engine_statement_count(s, "SELECT 1", &err), 0);
    CHECK_INT_EQ(tn_engine_statement_count(s, "SELECT 1; SELECT 2", &err), 1);
    tn_session_close(s);
    tn_engine_close(e);
}

static void test_sql_quoting(void)
{
    struct tn_buf b = TN_BUF_INIT(0);

    tn_sql_ident(&b, "a\"b");
    tn_buf_addstr(&b, " ", NULL);
    tn_sql_string(&b, "it's");
    CHECK_STR_EQ(b.buf, "\"a\"\"b\" 'it''s'");
    tn_buf_release(&b);
}

/* One reading of a time for every route and command: epoch milliseconds, a zone-less text as
 * UTC, an offset applied (a cast to TIMESTAMP would drop it), anything else refused; and '~' in
 * a file name is DuckDB's home, which is the warehouse, not the user's $HOME. */
static void test_times_and_home(void)
{
    struct tn_err err = {0};
    struct tn_engine *e = NULL;
    struct tn_session *s = NULL;
    const char *dirs[] = {tn_test_tmpdir(), NULL};
    struct tn_engine_options opt = {dirs, NULL, NULL, 1};
    int64_t ms = 0;

    CHECK_OK(tn_engine_open(&opt, &e, &err));
    if (!e)
        return;
    CHECK_STR_EQ(tn_engine_home(e), dirs[0]);
    CHECK_OK(tn_session_open(e, &s, &err));
    CHECK_OK(tn_engine_timestamp_ms(s, "1769857200000", &ms, &err));
    CHECK(ms == 1769857200000LL);
    ms = 0;
    CHECK_OK(tn_engine_timestamp_ms(s, "2026-01-31 11:00:00", &ms, &err));
    CHECK(ms == 1769857200000LL);
    ms = 0;
    CHECK_OK(tn_engine_timestamp_ms(s, "2026-01-31T12:00:00+01:00", &ms, &err));
    CHECK(ms == 1769857200000LL);
    CHECK_INT_EQ(tn_engine_timestamp_ms(s, "last tuesday", &ms, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "epoch milliseconds");
    tn_session_close(s);
    tn_engine_close(e);
}

/* The first cell of the stream of "sql" on "s", opened with a kept statement or not ("" when
 * it has no rows; "error" when it fails). */
static void stream_first(struct tn_session *s, const char *sql, int kept, char *out, size_t cap)
{
    struct tn_err err = {0};
    struct tn_stream *st = NULL;
    size_t n = 0, len = 0;
    const char *v;
    int rc = kept ? tn_stream_open_kept(s, sql, &st, &err) : tn_stream_open(s, sql, &st, &err);

    snprintf(out, cap, "error");
    if (rc || tn_stream_next(st, &n, &err)) {
        tn_stream_close(st);
        return;
    }
    v = n ? tn_stream_cell(st, 0, 0, &len) : "";
    snprintf(out, cap, "%.*s", (int)(v ? len : 4), v ? v : "NULL");
    tn_stream_close(st);
}

/* Kept sessions come back with the statements they prepared: the same text runs the kept
 * statement (counted), another text is prepared, and the result is always the text's own
 * (here a Parquet file replaced under the same name gives its new rows: a kept statement reads
 * the files again each run, it only skips parse, bind and plan). Statements refused stay refused;
 * a failed run is forgotten; more texts than are kept evict the oldest. */
static void test_kept_statements(void)
{
    struct tn_err err = {0};
    struct tn_engine *e = NULL;
    struct tn_session *s = NULL, *again = NULL;
    const char *dirs[] = {tn_test_tmpdir(), NULL};
    struct tn_engine_options opt = {dirs, NULL, NULL, 1};
    uint64_t prepared = 0, reused = 0;
    char cell[64], *copy, *read;

    CHECK_OK(tn_engine_open(&opt, &e, &err));
    if (!e)
        return;
    CHECK_OK(tn_session_reuse(e, &s, &err));
    stream_first(s, "SELECT CAST(41 + 1 AS VARCHAR)", 1, cell, sizeof(cell));
    CHECK_STR_EQ(cell, "42");
    stream_first(s, "SELECT CAST(41 + 1 AS VARCHAR)", 1, cell, sizeof(cell));
    CHECK_STR_EQ(cell, "42");
    tn_engine_kept_counts(e, &prepared, &reused);
    CHECK(prepared == 1 && reused == 1);
    /* handed back and taken again: the same session, its statement still kept */
    tn_session_keep(s);
    CHECK_OK(tn_session_reuse(e, &again, &err));
    CHECK(again == s);
    stream_first(again, "SELECT CAST(41 + 1 AS VARCHAR)", 1, cell, sizeof(cell));
    CHECK_STR_EQ(cell, "42");
    tn_engine_kept_counts(e, &prepared, &reused);
    CHECK(prepared == 1 && reused == 2);
    /* a kept statement reads its files again on each run */
    copy = tn_asprintf("COPY (SELECT 'one' AS x) TO '%s/kept.parquet' (FORMAT parquet)", dirs[0]);
    CHECK_OK(tn_engine_exec(s, copy, &err));
    free(copy);
    read = tn_asprintf("SELECT x FROM read_parquet(['%s/kept.parquet'])", dirs[0]);
    stream_first(s, read, 1, cell, sizeof(cell));
    CHECK_STR_EQ(cell, "one");
    copy = tn_asprintf("COPY (SELECT 'two' AS x) TO '%s/kept.parquet' (FORMAT parquet)", dirs[0]);
    CHECK_OK(tn_engine_exec(s, copy, &err));
    free(copy);
    stream_first(s, read, 1, cell, sizeof(cell));
    CHECK_STR_EQ(cell, "two");
    free(read);
    /* the sandbox and the one-statement rule hold for kept statements too */
    stream_first(s, "SELECT * FROM read_text('/etc/passwd')", 1, cell, sizeof(cell));
    CHECK_STR_EQ(cell, "error");
    stream_first(s, "SELECT 1; SELECT 2", 1, cell, sizeof(cell));
    CHECK_STR_EQ(cell, "error");
    stream_first(s, "ATTACH '/tmp/tarn-escape.db'", 1, cell, sizeof(cell));
    CHECK_STR_EQ(cell, "error");
    /* a run that fails is prepared again next time, and fails again */
    tn_engine_kept_counts(e, &prepared, &reused);
    stream_first(s, "SELECT CAST(CAST('x' AS INTEGER) AS VARCHAR)", 1, cell, sizeof(cell));
    CHECK_STR_EQ(cell, "error");
    stream_first(s, "SELECT CAST(CAST('x' AS INTEGER) AS VARCHAR)", 1, cell, sizeof(cell));
    CHECK_STR_EQ(cell, "error");
    {
        uint64_t p2 = 0, r2 = 0;
        tn_engine_kept_counts(e, &p2, &r2);
        CHECK(r2 == reused);
    }
    /* more texts than are kept: all right, the first one prepared again */
    for (int i = 0; i < 40; i++) {
        char q[64], want[16];
        snprintf(q, sizeof(q), "SELECT CAST(%d AS VARCHAR)", i);
        snprintf(want, sizeof(want), "%d", i);
        stream_first(s, q, 1, cell, sizeof(cell));
        CHECK_STR_EQ(cell, want);
    }
    tn_engine_kept_counts(e, &prepared, &reused);
    stream_first(s, "SELECT CAST(0 AS VARCHAR)", 1, cell, sizeof(cell));
    CHECK_STR_EQ(cell, "0");
    {
        uint64_t p2 = 0, r2 = 0;
        tn_engine_kept_counts(e, &p2, &r2);
        CHECK(p2 == prepared + 1 && r2 == reused);
    }
    /* a plain stream on the same session is unaffected */
    stream_first(s, "SELECT CAST(7 AS VARCHAR)", 0, cell, sizeof(cell));
    CHECK_STR_EQ(cell, "7");
    tn_session_keep(s); /* closed with the engine */
    tn_engine_close(e);
}

static const struct tn_test storage_engine_tests[] = {
    {"kept sessions reuse their prepared statements, results stay the text's own",
     test_kept_statements},
    {"one reading of times; DuckDB's home is the first allowed directory", test_times_and_home},
    {"local files are created once and never overwritten", test_local_files_are_immutable},
    {"reads are capped", test_read_is_capped},
    {"the DuckDB sandbox refuses escapes", test_sandbox_refuses_escapes},
    {"identifiers and strings are quoted", test_sql_quoting},
    {NULL, NULL},
};
TN_SUITE(storage_engine_tests)
