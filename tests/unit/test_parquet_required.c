/* test_parquet_required.c - unit tests for src/iceberg/parquet_required.c (making a Parquet
 * file's required columns REQUIRED) and the Thrift value tree under it (thrift.c). Files are
 * written by DuckDB through tarn's own write path (tn__copy_to_parquet); after the rewrite DuckDB
 * must read the same values, its schema must say REQUIRED, and every column, after the rewritten
 * ones too, must still be found. A NULL, or a file of a shape the rewrite does not know, leaves
 * the file as it was. */
#include "tn_test_parquet.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/engine.h"
#include "iceberg/iceberg.h"
#include "table/table_int.h"

/* Required columns before and after a struct, a list and an optional one. */
static const char schema_json[] =
    "{\"type\": \"struct\", \"schema-id\": 0, \"fields\": ["
    "{\"id\": 1, \"name\": \"id\", \"required\": true, \"type\": \"long\"},"
    "{\"id\": 2, \"name\": \"s\", \"required\": true, \"type\": \"string\"},"
    "{\"id\": 3, \"name\": \"st\", \"required\": false, \"type\": {\"type\": \"struct\", "
    "\"fields\": [{\"id\": 4, \"name\": \"x\", \"required\": false, \"type\": \"int\"},"
    "{\"id\": 5, \"name\": \"y\", \"required\": false, \"type\": \"string\"}]}},"
    "{\"id\": 6, \"name\": \"d\", \"required\": false, \"type\": \"double\"},"
    "{\"id\": 7, \"name\": \"ts\", \"required\": true, \"type\": \"timestamp\"},"
    "{\"id\": 8, \"name\": \"li\", \"required\": false, \"type\": {\"type\": \"list\", "
    "\"element-id\": 9, \"element\": \"int\", \"element-required\": false}},"
    "{\"id\": 10, \"name\": \"dec\", \"required\": true, \"type\": \"decimal(10, 2)\"}"
    "]}";

/* 300000 rows: three row groups as DuckDB cuts them, a dictionary for s, NULLs in d. */
static const char rows_sql[] =
    "SELECT i AS id, 'v' || (i % 50) AS s, {'x': i, 'y': 'y' || i} AS st,"
    " CASE WHEN i % 5 = 0 THEN NULL ELSE i / 3 END AS d,"
    " TIMESTAMP '2020-01-01' + to_seconds(i) AS ts, [i, i + 1] AS li,"
    " (i / 100)::DECIMAL(10, 2) AS dec FROM range(300000) t(i)";

static const int required_ids[] = {1, 2, 7, 10};

/* The rows of "sql" written as tarn writes a data file, at "<dir>/<name>" (caller frees). */
static char *write_rows(struct parquet_fixture *fx, const char *name, const char *sql)
{
    struct tn_err err = {0};
    char *path = tn_asprintf("%s/%s", fx->dir, name);
    int64_t rows = 0;

    if (tn__copy_to_parquet(fx->s, fx->schema, sql, NULL, path, &rows, &err)) {
        tn_test_failed(__FILE__, __LINE__, "writing %s: %s", name, err.msg);
        free(path);
        return NULL;
    }
    return path;
}

/* Write "sql" (a SELECT) at "<dir>/<name>" with DuckDB's COPY and "options" (caller frees). */
static char *copy_rows(struct parquet_fixture *fx, const char *name, const char *sql,
                       const char *options)
{
    struct tn_buf q = TN_BUF_INIT(0);
    struct tn_err err = {0};
    char *path = tn_asprintf("%s/%s", fx->dir, name);

    tn_buf_addf(&q, NULL, "COPY (%s) TO ", sql);
    tn_sql_string(&q, path);
    tn_buf_addf(&q, NULL, " (FORMAT parquet, %s)", options);
    if (tn_engine_exec(fx->s, q.buf, &err)) {
        tn_test_failed(__FILE__, __LINE__, "writing %s: %s", name, err.msg);
        free(path);
        path = NULL;
    }
    tn_buf_release(&q);
    return path;
}

/* One text value: the first column of the first row of "fmt" with the file's path quoted in
 * place of each '@' (caller frees; NULL when DuckDB refuses). */
static char *query_file(struct parquet_fixture *fx, const char *fmt, const char *path)
{
    struct tn_buf quoted = TN_BUF_INIT(0), sql = TN_BUF_INIT(0);
    struct tn_rows *r = NULL;
    struct tn_err err = {0};
    char *out = NULL;

    tn_sql_string(&quoted, path);
    for (const char *p = fmt; *p; p++)
        if (*p == '@')
            tn_buf_addstr(&sql, quoted.buf, NULL);
        else
            tn_buf_add(&sql, p, 1, NULL);
    if (tn_engine_rows(fx->s, sql.buf, 10, &r, &err) == 0 && r->nrows > 0)
        out = tn_strdup(tn_rows_get(r, 0, 0) ? tn_rows_get(r, 0, 0) : "NULL");
    else
        tn_test_failed(__FILE__, __LINE__, "%s: %s", sql.buf, err.msg);
    tn_rows_free(r);
    tn_buf_release(&quoted);
    tn_buf_release(&sql);
    return out;
}

/* Every value of the file, hashed, with the row count. */
static const char fingerprint_sql[] =
    "SELECT count(*) || ' ' || sum(hash(id, s, st, d, ts, li, dec)) FROM read_parquet(@)";
/* Each top-level column's repetition, in the schema's order. */
static const char repetitions_sql[] =
    "SELECT string_agg(name || '=' || repetition_type, ' ' ORDER BY rowid) FROM ("
    " SELECT row_number() OVER () AS rowid, name, repetition_type FROM parquet_schema(@))"
    " WHERE name IN ('id', 's', 'st', 'd', 'ts', 'li', 'dec', 'x', 'y')";

static int read_whole(const char *path, struct tn_buf *out)
{
    FILE *f = fopen(path, "rb");
    char buf[65536];
    size_t n;

    if (!f)
        return -1;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        tn_buf_add(out, buf, n, NULL);
    fclose(f);
    return 0;
}

static void test_required_columns_rewritten(void)
{
    struct parquet_fixture fx;
    struct tn_err err = {0};
    struct tn_data_file stats;
    struct stat before, after;
    char *path, *want, *got, *reps, *tmp;

    if (tn_test_parquet_open(&fx, schema_json))
        return;
    path = write_rows(&fx, "k.parquet", rows_sql);
    if (!path) {
        tn_test_parquet_close(&fx);
        return;
    }
    want = query_file(&fx, fingerprint_sql, path);
    reps = query_file(&fx, repetitions_sql, path);
    CHECK_STR_EQ(reps, "id=OPTIONAL s=OPTIONAL st=OPTIONAL x=OPTIONAL y=OPTIONAL d=OPTIONAL "
                       "ts=OPTIONAL li=OPTIONAL dec=OPTIONAL");
    free(reps);
    CHECK_INT_EQ(stat(path, &before), 0);

    CHECK_INT_EQ(tn_parquet_make_required(path, required_ids, 4, &err), 0);
    CHECK_STR_EQ(err.msg, "");
    CHECK_INT_EQ(stat(path, &after), 0);
    tmp = tn_asprintf("%s.required.tmp", path);
    CHECK(access(tmp, F_OK) != 0);
    free(tmp);

    got = query_file(&fx, fingerprint_sql, path);
    CHECK_STR_EQ(got, want);
    CHECK_CONTAINS(got, "300000 ");
    free(got);
    reps = query_file(&fx, repetitions_sql, path);
    CHECK_STR_EQ(reps, "id=REQUIRED s=REQUIRED st=OPTIONAL x=OPTIONAL y=OPTIONAL d=OPTIONAL "
                       "ts=REQUIRED li=OPTIONAL dec=REQUIRED");
    free(reps);
    /* a later column alone, found at its moved offset, and the last one's values */
    got = query_file(&fx,
                     "SELECT sum(x) || ' ' || max(dec) FROM (SELECT st.x, dec FROM "
                     "read_parquet(@))",
                     path);
    CHECK_STR_EQ(got, "44999850000 2999.99");
    free(got);
    /* DuckDB's own view of the footer: sizes that add up to the file */
    got = query_file(&fx,
                     "SELECT bool_and(data_page_offset + total_compressed_size <= "
                     "(SELECT max(data_page_offset + total_compressed_size) FROM "
                     "parquet_metadata(@))) || ' ' || count(*) FROM parquet_metadata(@)",
                     path);
    CHECK_STR_EQ(got, "true 24"); /* 8 leaf columns, 3 row groups */
    free(got);
    /* the bloom filters of s, after the rewritten chunks, found where they moved */
    got = query_file(&fx,
                     "SELECT (SELECT bool_or(bloom_filter_excludes) FROM "
                     "parquet_bloom_probe(@, 's', 'v7')) || ' ' || (SELECT "
                     "bool_and(bloom_filter_excludes) FROM parquet_bloom_probe(@, 's', 'nope'))",
                     path);
    CHECK_STR_EQ(got, "false true");
    free(got);
    /* tarn's footer reader: statistics as before, the null counts right */
    memset(&stats, 0, sizeof(stats));
    CHECK_INT_EQ(tn__file_stats(fx.schema, path, &stats, &err), 0);
    CHECK(stats.nnull_counts > 0);
    for (size_t i = 0; i < stats.nnull_counts; i++)
        if (stats.null_counts[i].id == 1 || stats.null_counts[i].id == 7)
            CHECK_INT_EQ(stats.null_counts[i].value, 0);
        else if (stats.null_counts[i].id == 6)
            CHECK_INT_EQ(stats.null_counts[i].value, 60000);
    tn_data_file_release(&stats);

    /* done again: nothing left to do, the file untouched */
    CHECK_INT_EQ(tn_parquet_make_required(path, required_ids, 4, &err), 0);
    CHECK_INT_EQ(stat(path, &before), 0);
    CHECK_INT_EQ(before.st_size, after.st_size);
    free(want);
    free(path);
    tn_test_parquet_close(&fx);
}

static void test_uncompressed_pages(void)
{
    struct parquet_fixture fx;
    struct tn_err err = {0};
    char *path, *want, *got;
    static const char sql[] = "SELECT i AS a, 'w' || (i % 3) AS b, i * 2 AS c FROM range(5000) "
                              "t(i)";
    static const int ids[] = {1, 2};

    if (tn_test_parquet_open(&fx, schema_json))
        return;
    path = copy_rows(&fx, "plain.parquet", sql,
                     "COMPRESSION uncompressed, ROW_GROUP_SIZE 2048, FIELD_IDS {a: 1, b: 2, c: 3}");
    if (path) {
        want = query_file(&fx, "SELECT sum(hash(a, b, c)) FROM read_parquet(@)", path);
        CHECK_INT_EQ(tn_parquet_make_required(path, ids, 2, &err), 0);
        got = query_file(&fx, "SELECT sum(hash(a, b, c)) FROM read_parquet(@)", path);
        CHECK_STR_EQ(got, want);
        free(got);
        got = query_file(&fx,
                         "SELECT string_agg(repetition_type, ' ' ORDER BY name) FROM "
                         "parquet_schema(@) WHERE name IN ('a', 'b', 'c')",
                         path);
        CHECK_STR_EQ(got, "REQUIRED REQUIRED OPTIONAL");
        free(got);
        free(want);
    }
    free(path);
    tn_test_parquet_close(&fx);
}

/* A file the rewrite must leave as it was, with the error code "code" containing "msg". */
static void check_left_alone(const char *path, const int *ids, size_t n, int code, const char *msg)
{
    struct tn_buf before = TN_BUF_INIT(0), after = TN_BUF_INIT(0);
    struct tn_err err = {0};
    char *tmp = tn_asprintf("%s.required.tmp", path);

    CHECK_INT_EQ(read_whole(path, &before), 0);
    CHECK_INT_EQ(tn_parquet_make_required(path, ids, n, &err), code);
    CHECK_CONTAINS(err.msg, msg);
    CHECK_INT_EQ(read_whole(path, &after), 0);
    CHECK_INT_EQ(after.len, before.len);
    CHECK(before.len == after.len && memcmp(before.buf, after.buf, before.len) == 0);
    CHECK(access(tmp, F_OK) != 0);
    free(tmp);
    tn_buf_release(&before);
    tn_buf_release(&after);
}

static void test_null_refused(void)
{
    struct parquet_fixture fx;
    struct tn_err err = {0};
    char *path;
    static const int ids[] = {1, 2};
    static const char sql[] = "SELECT i AS a, CASE WHEN i = 4000 THEN NULL ELSE 'w' END AS b "
                              "FROM range(5000) t(i)";

    if (tn_test_parquet_open(&fx, schema_json))
        return;
    path = copy_rows(&fx, "null.parquet", sql,
                     "COMPRESSION zstd, ROW_GROUP_SIZE 2048, FIELD_IDS {a: 1, b: 2}");
    if (path) {
        check_left_alone(path, ids, 2, TN_EUNPROCESSABLE, "column b is required (NOT NULL)");
        /* tarn's wiring fails the write too */
        {
            json_t *j = json_loads("{\"type\": \"struct\", \"schema-id\": 0, \"fields\": ["
                                   "{\"id\": 1, \"name\": \"a\", \"required\": true, \"type\": "
                                   "\"long\"},"
                                   "{\"id\": 2, \"name\": \"b\", \"required\": true, \"type\": "
                                   "\"string\"}]}",
                                   0, NULL);
            struct tn_schema *schema = NULL;
            CHECK(j && tn_schema_parse(j, &schema, &err) == 0);
            if (schema)
                CHECK_INT_EQ(tn__require_columns(schema, path, &err), TN_EUNPROCESSABLE);
            tn_schema_free(schema);
            json_decref(j);
        }
    }
    free(path);
    tn_test_parquet_close(&fx);
}

static void test_other_shapes_left_alone(void)
{
    struct parquet_fixture fx;
    char *path;
    static const int ids[] = {1};
    static const int other_ids[] = {7};
    static const char sql[] = "SELECT i AS a FROM range(5000) t(i)";

    if (tn_test_parquet_open(&fx, schema_json))
        return;
    path = copy_rows(&fx, "snappy.parquet", sql, "COMPRESSION snappy, FIELD_IDS {a: 1}");
    if (path)
        check_left_alone(path, ids, 1, TN_EINPUT, "a codec other than zstd or none");
    free(path);
    path = copy_rows(&fx, "none.parquet", sql, "COMPRESSION zstd, FIELD_IDS {a: 1}");
    if (path)
        check_left_alone(path, other_ids, 1, 0, ""); /* no such column: nothing to do */
    free(path);
    path = tn_asprintf("%s/short.parquet", fx.dir);
    {
        FILE *f = fopen(path, "wb");
        fputs("PAR1 not a Parquet file", f);
        fclose(f);
        check_left_alone(path, ids, 1, TN_EINPUT, "not a Parquet file");
    }
    free(path);
    tn_test_parquet_close(&fx);
}

/* A footer decoded and encoded again is the same bytes; a cut one fails cleanly. */
static void test_thrift_round_trip(void)
{
    struct parquet_fixture fx;
    struct tn_err err = {0};
    struct tn_buf file = TN_BUF_INIT(0), again = TN_BUF_INIT(0);
    struct tn_thrift tree;
    size_t used = 0;
    char *path;

    if (tn_test_parquet_open(&fx, schema_json))
        return;
    path = write_rows(&fx, "round.parquet", rows_sql);
    if (path && read_whole(path, &file) == 0 && file.len > 8) {
        const unsigned char *end = (const unsigned char *)file.buf + file.len - 8;
        size_t len =
            (size_t)end[0] | (size_t)end[1] << 8 | (size_t)end[2] << 16 | (size_t)end[3] << 24;
        const unsigned char *footer = end - len;
        CHECK_INT_EQ(tn_thrift_decode(footer, len, &tree, &used, &err), 0);
        CHECK_INT_EQ(used, len);
        tn_thrift_encode(&tree, &again);
        CHECK_INT_EQ(again.len, len);
        CHECK(again.len == len && memcmp(again.buf, footer, len) == 0);
        tn_thrift_free(&tree);
        for (size_t cut = 0; cut < len; cut += 97) {
            CHECK(tn_thrift_decode(footer, cut, &tree, &used, &err) == TN_EINPUT);
            CHECK_CONTAINS(err.msg, "corrupt Thrift data");
        }
    }
    tn_buf_release(&file);
    tn_buf_release(&again);
    free(path);
    tn_test_parquet_close(&fx);
}

static const struct tn_test parquet_required_tests[] = {
    {"required columns rewritten: same values, REQUIRED, offsets moved",
     test_required_columns_rewritten},
    {"uncompressed pages", test_uncompressed_pages},
    {"a NULL in a required column is refused, the file untouched", test_null_refused},
    {"other codecs, other columns, other files: left alone", test_other_shapes_left_alone},
    {"Thrift tree: a footer round-trips byte for byte", test_thrift_round_trip},
    {NULL, NULL},
};
TN_SUITE(parquet_required_tests)
