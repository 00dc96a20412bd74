/* test_parquet_footer.c - unit tests for src/iceberg/parquet_footer.c (tarn's reader of a Parquet
 * footer) and tn_bound_from_parquet (bounds.c), through tn__file_stats. DuckDB writes files with a
 * column of every type tarn writes, in several row groups; their statistics must be the ones the
 * old way gave -- DuckDB's parquet_schema()/parquet_metadata() text turned into bounds by
 * tn_bound_encode, kept below as the oracle -- except where that way lost or got a value wrong,
 * which is asserted byte for byte. Corrupt footers must fail with an error, never crash (the
 * suite runs under ASan in make test-asan). */
#include "tn_test_parquet.h"

#include <stdlib.h>

#include "engine/engine.h"
#include "iceberg/iceberg.h"
#include "table/table_int.h"

/*---- The table every test file is written from ----*/

/* Every type tarn writes, each with the values that test its statistics. Rows i = 0..4999 make
 * three row groups of 2048, 2048 and 904 rows. */
static const char schema_json[] =
    "{\"type\": \"struct\", \"schema-id\": 0, \"fields\": ["
    "{\"id\": 1, \"name\": \"b\", \"required\": false, \"type\": \"boolean\"},"
    "{\"id\": 2, \"name\": \"i\", \"required\": false, \"type\": \"int\"},"
    "{\"id\": 3, \"name\": \"l\", \"required\": false, \"type\": \"long\"},"
    "{\"id\": 4, \"name\": \"f\", \"required\": false, \"type\": \"float\"},"
    "{\"id\": 5, \"name\": \"d\", \"required\": false, \"type\": \"double\"},"
    "{\"id\": 6, \"name\": \"d_zero\", \"required\": false, \"type\": \"double\"},"
    "{\"id\": 7, \"name\": \"d_inf\", \"required\": false, \"type\": \"double\"},"
    "{\"id\": 8, \"name\": \"d_nan\", \"required\": false, \"type\": \"double\"},"
    "{\"id\": 9, \"name\": \"f_nan\", \"required\": false, \"type\": \"float\"},"
    "{\"id\": 10, \"name\": \"dec4\", \"required\": false, \"type\": \"decimal(4, 1)\"},"
    "{\"id\": 11, \"name\": \"dec9\", \"required\": false, \"type\": \"decimal(9, 2)\"},"
    "{\"id\": 12, \"name\": \"dec18\", \"required\": false, \"type\": \"decimal(18, 4)\"},"
    "{\"id\": 13, \"name\": \"dec38\", \"required\": false, \"type\": \"decimal(38, 10)\"},"
    "{\"id\": 14, \"name\": \"dt\", \"required\": false, \"type\": \"date\"},"
    "{\"id\": 15, \"name\": \"tm\", \"required\": false, \"type\": \"time\"},"
    "{\"id\": 16, \"name\": \"ts\", \"required\": false, \"type\": \"timestamp\"},"
    "{\"id\": 17, \"name\": \"tstz\", \"required\": false, \"type\": \"timestamptz\"},"
    "{\"id\": 18, \"name\": \"tsns\", \"required\": false, \"type\": \"timestamp_ns\"},"
    "{\"id\": 19, \"name\": \"tstzns\", \"required\": false, \"type\": \"timestamptz_ns\"},"
    "{\"id\": 20, \"name\": \"s\", \"required\": false, \"type\": \"string\"},"
    "{\"id\": 21, \"name\": \"s16\", \"required\": false, \"type\": \"string\"},"
    "{\"id\": 22, \"name\": \"s_long\", \"required\": false, \"type\": \"string\"},"
    "{\"id\": 23, \"name\": \"s_utf8\", \"required\": false, \"type\": \"string\"},"
    "{\"id\": 24, \"name\": \"s_empty\", \"required\": false, \"type\": \"string\"},"
    "{\"id\": 25, \"name\": \"s_max\", \"required\": false, \"type\": \"string\"},"
    "{\"id\": 26, \"name\": \"s_max2\", \"required\": false, \"type\": \"string\"},"
    "{\"id\": 27, \"name\": \"s_huge\", \"required\": false, \"type\": \"string\"},"
    "{\"id\": 28, \"name\": \"bin\", \"required\": false, \"type\": \"binary\"},"
    "{\"id\": 29, \"name\": \"bin_ff\", \"required\": false, \"type\": \"binary\"},"
    "{\"id\": 30, \"name\": \"fx\", \"required\": false, \"type\": \"fixed[3]\"},"
    "{\"id\": 31, \"name\": \"u\", \"required\": false, \"type\": \"uuid\"},"
    "{\"id\": 32, \"name\": \"st\", \"required\": false, \"type\": {\"type\": \"struct\", "
    "\"fields\": [{\"id\": 33, \"name\": \"x\", \"required\": false, \"type\": \"int\"},"
    "{\"id\": 34, \"name\": \"y\", \"required\": false, \"type\": \"string\"}]}},"
    "{\"id\": 35, \"name\": \"li\", \"required\": false, \"type\": {\"type\": \"list\", "
    "\"element-id\": 36, \"element\": \"int\", \"element-required\": false}},"
    "{\"id\": 37, \"name\": \"mp\", \"required\": false, \"type\": {\"type\": \"map\", "
    "\"key-id\": 38, \"key\": \"string\", \"value-id\": 39, \"value\": \"long\", "
    "\"value-required\": false}},"
    "{\"id\": 40, \"name\": \"nul\", \"required\": false, \"type\": \"int\"},"
    "{\"id\": 41, \"name\": \"dt_inf\", \"required\": false, \"type\": \"date\"},"
    "{\"id\": 42, \"name\": \"ts_inf\", \"required\": false, \"type\": \"timestamp\"},"
    "{\"id\": 43, \"name\": \"f_inf\", \"required\": false, \"type\": \"float\"}"
    "]}";

static const char field_ids[] =
    "{b: 1, i: 2, l: 3, f: 4, d: 5, d_zero: 6, d_inf: 7, d_nan: 8, f_nan: 9, dec4: 10, "
    "dec9: 11, dec18: 12, dec38: 13, dt: 14, tm: 15, ts: 16, tstz: 17, tsns: 18, tstzns: 19, "
    "s: 20, s16: 21, s_long: 22, s_utf8: 23, s_empty: 24, s_max: 25, s_max2: 26, s_huge: 27, "
    "bin: 28, bin_ff: 29, fx: 30, u: 31, st: {__duckdb_field_id: 32, x: 33, y: 34}, "
    "li: {__duckdb_field_id: 35, element: 36}, mp: {__duckdb_field_id: 37, key: 38, value: 39}, "
    "nul: 40, dt_inf: 41, ts_inf: 42, f_inf: 43}";

/* The values, in the schema's order; tarn's casts to the column types are added around them. */
static const char values_sql[] =
    "SELECT i >= 2048 AND i % 2 = 0 AS b,"
    " CASE WHEN i % 7 = 0 THEN NULL ELSE i - 2500 END AS i,"
    " (i - 2500) * 3000000007 AS l,"
    " ((i - 2500) / 3.0)::FLOAT AS f,"
    " (i - 2500)::DOUBLE / 7 AS d,"
    " CASE WHEN i % 2 = 0 THEN '0.0' ELSE '-0.0' END::DOUBLE AS d_zero,"
    " CASE WHEN i = 5 THEN '-inf' WHEN i = 3000 THEN 'inf' ELSE i::VARCHAR END::DOUBLE AS d_inf,"
    " CASE WHEN i = 100 THEN 'nan'::DOUBLE ELSE i - 2500 END AS d_nan,"
    " 'nan'::FLOAT AS f_nan,"
    " (i % 1999 - 999) / 10 AS dec4,"
    " CASE WHEN i = 7 THEN -9999999.99 ELSE (i - 2500) * 123.45 END AS dec9,"
    " CASE WHEN i = 8 THEN -99999999999999.9999 ELSE (i - 2500) * 1234567.8912 END AS dec18,"
    " CASE WHEN i = 9 THEN '-9999999999999999999999999999.9999999999' ELSE"
    "  ((i - 2500)::HUGEINT * 1234567890123456789012345)::VARCHAR || '.' ||"
    "  lpad(i::VARCHAR, 10, '0') END AS dec38,"
    " CASE WHEN i = 11 THEN DATE '0044-03-15 (BC)' WHEN i = 4500 THEN DATE '9999-12-31'"
    "  ELSE DATE '1970-01-01' + ((i - 2500) * 37)::INTEGER END AS dt,"
    " CASE WHEN i = 4999 THEN TIME '24:00:00'"
    "  ELSE TIME '00:00:00' + to_microseconds(i * 17280123) END AS tm,"
    " TIMESTAMP '1970-01-01' + to_microseconds((i - 2500) * 123456789012) AS ts,"
    " TIMESTAMP '1970-01-01' + to_microseconds((2500 - i) * 98765432101) AS tstz,"
    " make_timestamp_ns((i - 2500) * 123456789012345 + i) AS tsns,"
    " TIMESTAMP '2000-01-01' + to_microseconds(i * 1001) AS tstzns,"
    " 'v' || (i % 100) AS s,"
    " printf('%016d', i) AS s16,"
    " 'a-longer-string-than-sixteen-' || i AS s_long,"
    " CASE i % 3 WHEN 0 THEN 'é' || i WHEN 1 THEN '😀' || repeat('é', 20)"
    "  ELSE repeat('😀', 17) || i END AS s_utf8,"
    " CASE WHEN i % 2 = 0 THEN '' ELSE 'a' END AS s_empty,"
    " repeat(chr(1114111), 17) AS s_max,"
    " 'a' || repeat(chr(1114111), 20) AS s_max2,"
    " CASE WHEN i = 50 THEN repeat('é', 200) ELSE 'x' || i END AS s_huge,"
    " CASE i % 3 WHEN 0 THEN '\\x00\\xFF'::BLOB || i::VARCHAR::BLOB"
    "  WHEN 1 THEN '\\xFF\\xFF\\x00\\x5C\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\x09\\x0A\\x0B"
    "\\x0C\\x0D'::BLOB ELSE '\\x00'::BLOB END AS bin,"
    " '\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF'::BLOB"
    "  AS bin_ff,"
    " CASE i % 2 WHEN 0 THEN '\\x00\\x01\\x02'::BLOB ELSE '\\xFF\\xFE\\xFD'::BLOB END AS fx,"
    " CASE WHEN i = 1 THEN 'ffffffff-ffff-ffff-ffff-ffffffffffff'"
    "  WHEN i = 2 THEN '80000000-0000-0000-0000-000000000000'"
    "  WHEN i = 3 THEN '7fffffff-ffff-ffff-ffff-ffffffffffff'"
    "  ELSE '00000000-0000-0000-0000-' || lpad(i::VARCHAR, 12, '0') END AS u,"
    " CASE WHEN i % 5 = 0 THEN NULL ELSE {'x': i - 2500, 'y': 'y' || i} END AS st,"
    " [i, NULL] AS li,"
    " MAP {'k' || (i % 3): i} AS mp,"
    " NULL AS nul,"
    " CASE WHEN i = 4000 THEN DATE '-infinity' ELSE DATE '2000-01-01' END AS dt_inf,"
    " CASE WHEN i = 4000 THEN TIMESTAMP 'infinity' ELSE TIMESTAMP '2000-01-01' END AS ts_inf,"
    " CASE WHEN i = 4500 THEN 'inf'::FLOAT ELSE i / 8 END AS f_inf"
    " FROM range(5000) t(i)";

/*---- Helpers ----*/

/* Write the rows "where" (a condition on the row number i) says as tarn does -- each column cast to
 * its type, with field ids -- in row groups of 2048 rows, to "<dir>/<name>"; the caller frees the
 * returned path (NULL, with the failure reported, when DuckDB refuses). */
static char *write_parquet(struct parquet_fixture *fx, const char *name, const char *where)
{
    struct tn_buf sql = TN_BUF_INIT(0);
    struct tn_err err = {0};
    char *path = tn_asprintf("%s/%s", fx->dir, name);

    tn_buf_addstr(&sql, "COPY (SELECT ", NULL);
    for (size_t i = 0; i < fx->schema->root.nfields; i++) {
        const struct tn_field *f = &fx->schema->root.fields[i];
        tn_buf_addf(&sql, NULL, "%sCAST(%s AS ", i ? ", " : "", f->name);
        tn_type_duckdb(f->type, &sql, NULL);
        tn_buf_addf(&sql, NULL, ") AS %s", f->name);
    }
    tn_buf_addf(&sql, NULL, " FROM (%s WHERE %s)) TO ", values_sql, where);
    tn_sql_string(&sql, path);
    tn_buf_addf(&sql, NULL,
                " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 2048, "
                "FIELD_IDS %s)",
                field_ids);
    if (tn_engine_exec(fx->s, sql.buf, &err)) {
        tn_test_failed(__FILE__, __LINE__, "writing %s: %s", name, err.msg);
        free(path);
        path = NULL;
    }
    tn_buf_release(&sql);
    return path;
}

/* The lower or upper bound of field "id" in hex, or "none". */
static const char *bound_hex(const struct tn_data_file *f, int id, int upper)
{
    static char out[2][2 * TN_BOUND_MAX + 1];
    const struct tn_id_bytes *v = upper ? f->upper : f->lower;
    size_t n = upper ? f->nupper : f->nlower;

    for (size_t i = 0; i < n; i++) {
        if (v[i].id == id && v[i].value.n <= TN_BOUND_MAX) {
            tn_test_hex(v[i].value.p, v[i].value.n, out[upper]);
            return out[upper];
        }
    }
    return "none";
}

static int is_listed(const int *ids, int id)
{
    for (; *ids; ids++)
        if (*ids == id)
            return 1;
    return 0;
}

static void check_same_counts(const char *what, const struct tn_id_long *got, size_t ngot,
                              const struct tn_id_long *want, size_t nwant)
{
    if (ngot != nwant) {
        tn_test_failed(__FILE__, __LINE__, "%s: %zu columns, the oracle %zu", what, ngot, nwant);
        return;
    }
    for (size_t i = 0; i < ngot; i++)
        if (got[i].id != want[i].id || got[i].value != want[i].value)
            tn_test_failed(__FILE__, __LINE__, "%s of field %d: %lld, the oracle field %d: %lld",
                           what, got[i].id, (long long)got[i].value, want[i].id,
                           (long long)want[i].value);
}

/* Every statistic of "got" equals the oracle's, except the bounds of the fields in "except"
 * (a 0-terminated list). */
static void check_same_stats(const struct tn_data_file *got, const struct tn_data_file *want,
                             const int *except)
{
    check_same_counts("column size", got->column_sizes, got->ncolumn_sizes, want->column_sizes,
                      want->ncolumn_sizes);
    check_same_counts("value count", got->value_counts, got->nvalue_counts, want->value_counts,
                      want->nvalue_counts);
    check_same_counts("null count", got->null_counts, got->nnull_counts, want->null_counts,
                      want->nnull_counts);
    for (size_t i = 0; i < want->nvalue_counts; i++) {
        int id = want->value_counts[i].id;
        for (int upper = 0; upper < 2 && !is_listed(except, id); upper++) {
            char expected[2 * TN_BOUND_MAX + 1];
            snprintf(expected, sizeof(expected), "%s", bound_hex(want, id, upper));
            if (strcmp(bound_hex(got, id, upper), expected) != 0)
                tn_test_failed(__FILE__, __LINE__, "%s bound of field %d: %s, the oracle %s",
                               upper ? "upper" : "lower", id, bound_hex(got, id, upper), expected);
        }
    }
    CHECK_INT_EQ(got->nsplit_offsets, want->nsplit_offsets);
    for (size_t i = 0; i < got->nsplit_offsets && i < want->nsplit_offsets; i++)
        CHECK_INT_EQ(got->split_offsets[i], want->split_offsets[i]);
}

/*---- The oracle: tn__file_stats as it was, reading the footer through DuckDB ----*/

static void oracle_boundable_ids(const struct tn_type *t, int *ids, size_t *n, size_t cap)
{
    for (size_t i = 0; i < t->nfields; i++) {
        const struct tn_field *f = &t->fields[i];
        if (f->type->kind == TN_T_STRUCT)
            oracle_boundable_ids(f->type, ids, n, cap);
        else if (tn_type_is_primitive(f->type) && *n < cap)
            ids[(*n)++] = f->id;
    }
}

static int oracle_is_boundable(const int *ids, size_t n, int id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

struct oracle_column {
    int id;
    int64_t size, values, nulls;
    int nulls_unknown; /* a chunk without a null count (list elements, map values) */
    int bounds_ok;
    int has_lower, has_upper;
    size_t lower_len, upper_len;
    unsigned char lower[TN_BOUND_MAX], upper[TN_BOUND_MAX];
};

static void oracle_add_bound(const struct tn_type *t, const char *text, int upper,
                             struct oracle_column *cs)
{
    unsigned char enc[TN_BOUND_MAX];
    size_t len = 0;
    struct tn_err ignored;

    if (!text || tn_bound_encode(t, text, upper, enc, &len, &ignored)) {
        cs->bounds_ok = 0;
        return;
    }
    if (!upper && (!cs->has_lower || tn_bound_compare(t, enc, len, cs->lower, cs->lower_len) < 0)) {
        memcpy(cs->lower, enc, len);
        cs->lower_len = len;
        cs->has_lower = 1;
    }
    if (upper && (!cs->has_upper || tn_bound_compare(t, enc, len, cs->upper, cs->upper_len) > 0)) {
        memcpy(cs->upper, enc, len);
        cs->upper_len = len;
        cs->has_upper = 1;
    }
}

static int oracle_file_stats(struct tn_session *s, const struct tn_schema *schema, const char *path,
                             struct tn_data_file *f, struct tn_err *err)
{
    struct tn_buf sql = TN_BUF_INIT(0);
    struct tn_rows *leaves = NULL, *chunks = NULL;
    struct oracle_column *cs = NULL;
    int bound_ids[4096];
    size_t nbound = 0, nleaves;
    int64_t last_rg = -1;
    int rc;

    oracle_boundable_ids(&schema->root, bound_ids, &nbound,
                         sizeof(bound_ids) / sizeof(bound_ids[0]));
    tn_buf_addstr(&sql, "SELECT field_id FROM parquet_schema(", NULL);
    tn_sql_string(&sql, path);
    tn_buf_addstr(&sql, ") WHERE num_children IS NULL", NULL);
    rc = tn_engine_rows(s, sql.buf, 1000000, &leaves, err);
    tn_buf_reset(&sql);
    tn_buf_addstr(&sql,
                  "SELECT column_id, num_values, stats_null_count, total_compressed_size, "
                  "stats_min_value, stats_max_value, row_group_id, "
                  "coalesce(dictionary_page_offset, data_page_offset) FROM parquet_metadata(",
                  NULL);
    tn_sql_string(&sql, path);
    tn_buf_addstr(&sql, ") ORDER BY row_group_id, column_id", NULL);
    if (!rc)
        rc = tn_engine_rows(s, sql.buf, 1000000, &chunks, err);
    if (rc)
        goto out;
    nleaves = leaves->nrows;
    cs = tn_calloc(nleaves + 1, sizeof(*cs));
    for (size_t i = 0; i < nleaves; i++) {
        int64_t id = -1;
        tn_parse_i64(tn_rows_get(leaves, i, 0) ? tn_rows_get(leaves, i, 0) : "-1", &id);
        cs[i].id = (int)id;
        cs[i].bounds_ok = id >= 0 && oracle_is_boundable(bound_ids, nbound, (int)id);
    }
    f->split_offsets = tn_calloc(chunks->nrows + 1, sizeof(int64_t));
    for (size_t r = 0; r < chunks->nrows; r++) {
        int64_t col = 0, v = 0, rg = 0;
        struct oracle_column *c;
        const struct tn_field *fld;

        tn_parse_i64(tn_rows_get(chunks, r, 0), &col);
        if (col < 0 || (size_t)col >= nleaves)
            continue;
        c = &cs[col];
        if (tn_rows_get(chunks, r, 1) && !tn_parse_i64(tn_rows_get(chunks, r, 1), &v))
            c->values += v;
        if (tn_rows_get(chunks, r, 2) && !tn_parse_i64(tn_rows_get(chunks, r, 2), &v))
            c->nulls += v;
        else
            c->nulls_unknown = 1;
        if (tn_rows_get(chunks, r, 3) && !tn_parse_i64(tn_rows_get(chunks, r, 3), &v))
            c->size += v;
        tn_parse_i64(tn_rows_get(chunks, r, 6), &rg);
        if (rg != last_rg && tn_rows_get(chunks, r, 7) &&
            !tn_parse_i64(tn_rows_get(chunks, r, 7), &v)) {
            f->split_offsets[f->nsplit_offsets++] = v;
            last_rg = rg;
        }
        fld = c->bounds_ok ? tn_schema_find(schema, c->id) : NULL;
        if (!fld) {
            c->bounds_ok = 0;
            continue;
        }
        if (!tn_rows_get(chunks, r, 4) && !tn_rows_get(chunks, r, 5))
            continue;
        oracle_add_bound(fld->type, tn_rows_get(chunks, r, 4), 0, c);
        oracle_add_bound(fld->type, tn_rows_get(chunks, r, 5), 1, c);
    }
    f->column_sizes = tn_calloc(nleaves + 1, sizeof(*f->column_sizes));
    f->value_counts = tn_calloc(nleaves + 1, sizeof(*f->value_counts));
    f->null_counts = tn_calloc(nleaves + 1, sizeof(*f->null_counts));
    f->lower = tn_calloc(nleaves + 1, sizeof(*f->lower));
    f->upper = tn_calloc(nleaves + 1, sizeof(*f->upper));
    for (size_t i = 0; i < nleaves; i++) {
        if (cs[i].id < 0)
            continue;
        f->column_sizes[f->ncolumn_sizes++] = (struct tn_id_long){cs[i].id, cs[i].size};
        f->value_counts[f->nvalue_counts++] = (struct tn_id_long){cs[i].id, cs[i].values};
        if (!cs[i].nulls_unknown) /* an unknown count is left out, not written as 0 */
            f->null_counts[f->nnull_counts++] = (struct tn_id_long){cs[i].id, cs[i].nulls};
        if (cs[i].bounds_ok && cs[i].has_lower) {
            struct tn_id_bytes *lb = &f->lower[f->nlower++];
            lb->id = cs[i].id;
            lb->value.p = tn_malloc(cs[i].lower_len);
            memcpy(lb->value.p, cs[i].lower, cs[i].lower_len);
            lb->value.n = cs[i].lower_len;
        }
        if (cs[i].bounds_ok && cs[i].has_upper) {
            struct tn_id_bytes *ub = &f->upper[f->nupper++];
            ub->id = cs[i].id;
            ub->value.p = tn_malloc(cs[i].upper_len);
            memcpy(ub->value.p, cs[i].upper, cs[i].upper_len);
            ub->value.n = cs[i].upper_len;
        }
    }
out:
    free(cs);
    tn_rows_free(leaves);
    tn_rows_free(chunks);
    tn_buf_release(&sql);
    return rc;
}

/* Statistics of "path" both ways. */
static int stats_both_ways(struct parquet_fixture *fx, const char *path, struct tn_data_file *got,
                           struct tn_data_file *want)
{
    struct tn_err err = {0};

    memset(got, 0, sizeof(*got));
    memset(want, 0, sizeof(*want));
    if (tn__file_stats(fx->schema, path, got, &err) ||
        oracle_file_stats(fx->s, fx->schema, path, want, &err)) {
        tn_test_failed(__FILE__, __LINE__, "statistics of %s: %s", path, err.msg);
        return -1;
    }
    return 0;
}

/*---- Tests ----*/

/* Fields whose bounds differ from the oracle's, each checked in check_where_the_text_was_wrong. */
static const int differing[] = {6, 7, 8, 27, 43, 0};

/* The fields of differing[]: where the oracle's text lost or got a bound wrong. */
static void check_where_the_text_was_wrong(const struct tn_data_file *got,
                                           const struct tn_data_file *want)
{
    /* DuckDB's min and max of a row group of zeros are the first zero it saw (+0.0 here),
     * while -0.0 < +0.0 for Iceberg (Java's Double.compare): a reader's "d <= -0.0" pruned
     * the file. Parquet's spec says a zero min or max may stand for either zero. */
    CHECK_STR_EQ(bound_hex(want, 6, 0), "0000000000000000");
    CHECK_STR_EQ(bound_hex(got, 6, 0), "0000000000000080"); /* -0.0 */
    CHECK_STR_EQ(bound_hex(got, 6, 1), "0000000000000000"); /* +0.0 */
    /* parquet_metadata() prints an infinite min or max as NULL, so the oracle gave no
     * bounds; Iceberg's bounds may be infinite (Java writes them) */
    CHECK_STR_EQ(bound_hex(want, 7, 0), "none");
    CHECK_STR_EQ(bound_hex(got, 7, 0), "000000000000f0ff"); /* -Infinity */
    CHECK_STR_EQ(bound_hex(got, 7, 1), "000000000000f07f"); /* +Infinity */
    CHECK_STR_EQ(bound_hex(want, 43, 1), "none");
    CHECK_STR_EQ(bound_hex(got, 43, 0), "00000080"); /* its min is 0.0: -0.0 */
    CHECK_STR_EQ(bound_hex(got, 43, 1), "0000807f");
    /* DuckDB writes no min or max for a row group holding a NaN; the oracle took that as a
     * row group of nulls and bounded the column by the other row groups: [-452, 2499],
     * while the first row group holds -2500. Now the column gets no bounds. */
    CHECK_STR_EQ(bound_hex(want, 8, 0), "0000000000407cc0");
    CHECK_STR_EQ(bound_hex(got, 8, 0), "none");
    CHECK_STR_EQ(bound_hex(got, 8, 1), "none");
    /* the same for a string DuckDB cannot truncate to 256 bytes (200 x "é"): no
     * statistics for its row group, which the oracle skipped */
    CHECK_STR_EQ(bound_hex(want, 27, 0), "7832303438"); /* "x2048" */
    CHECK_STR_EQ(bound_hex(got, 27, 0), "none");
}

static void test_same_statistics_as_duckdb(void)
{
    struct parquet_fixture fx;
    struct tn_data_file got, want;
    char *path;

    if (tn_test_parquet_open(&fx, schema_json))
        return;
    path = write_parquet(&fx, "all.parquet", "true");
    if (path && !stats_both_ways(&fx, path, &got, &want)) {
        check_same_stats(&got, &want, differing);
        CHECK_INT_EQ(got.nvalue_counts, 40); /* every leaf, lists and maps included */
        CHECK_INT_EQ(got.nsplit_offsets, 3);
        /* a few bounds spelled out, so the comparison is not of two empty lists */
        CHECK_STR_EQ(bound_hex(&got, 2, 0), "3df6ffff"); /* -2499 (i = 0 is null) */
        CHECK_STR_EQ(bound_hex(&got, 1, 0), "00");
        CHECK_STR_EQ(bound_hex(&got, 1, 1), "01");
        CHECK_STR_EQ(bound_hex(&got, 24, 0), ""); /* the empty string is a real bound */
        CHECK_STR_EQ(bound_hex(&got, 24, 1), "61");
        CHECK_STR_EQ(bound_hex(&got, 26, 1), "62");   /* "a" + U+10FFFF...: "b" */
        CHECK_STR_EQ(bound_hex(&got, 25, 0), "none"); /* no upper bound exists, so neither */
        CHECK_STR_EQ(bound_hex(&got, 29, 0), "none");
        CHECK_STR_EQ(bound_hex(&got, 9, 0), "none"); /* NaN only */
        CHECK_STR_EQ(bound_hex(&got, 31, 0), "00000000000000000000000000000000");
        CHECK_STR_EQ(bound_hex(&got, 31, 1), "ffffffffffffffffffffffffffffffff");
        CHECK_STR_EQ(bound_hex(&got, 30, 0), "000102");
        CHECK_STR_EQ(bound_hex(&got, 13, 0), "b4c4b357a5793b85f675ddc000000001");
        CHECK_STR_EQ(bound_hex(&got, 36, 0), "none"); /* in a list: counts only */
        CHECK_STR_EQ(bound_hex(&got, 40, 0), "none"); /* all null */
        CHECK_STR_EQ(bound_hex(&got, 41, 0), "none"); /* -infinity */
        CHECK_STR_EQ(bound_hex(&got, 42, 1), "none"); /* infinity */
        check_where_the_text_was_wrong(&got, &want);
        tn_data_file_release(&got);
        tn_data_file_release(&want);
    }
    free(path);
    tn_test_parquet_close(&fx);
}

static void test_one_row_group_and_none(void)
{
    struct parquet_fixture fx;
    struct tn_data_file got, want;
    char *path;

    if (tn_test_parquet_open(&fx, schema_json))
        return;
    /* one row group, without the rows that make the oracle differ */
    path = write_parquet(&fx, "small.parquet", "i BETWEEN 3001 AND 3010");
    if (path && !stats_both_ways(&fx, path, &got, &want)) {
        static const int zeros[] = {6, 0};
        check_same_stats(&got, &want, zeros);
        CHECK_INT_EQ(got.nsplit_offsets, 1);
        /* DuckDB's min and max here are both -0.0 (row 3001 comes first) */
        CHECK_STR_EQ(bound_hex(&want, 6, 1), "0000000000000080");
        CHECK_STR_EQ(bound_hex(&got, 6, 1), "0000000000000000");
        CHECK_STR_EQ(bound_hex(&got, 8, 0), "0000000000507f40"); /* 501.0 */
        tn_data_file_release(&got);
        tn_data_file_release(&want);
    }
    free(path);
    /* no rows: no row groups, counts of zero, no bounds */
    path = write_parquet(&fx, "empty.parquet", "false");
    if (path && !stats_both_ways(&fx, path, &got, &want)) {
        static const int none[] = {0};
        check_same_stats(&got, &want, none);
        CHECK_INT_EQ(got.nsplit_offsets, 0);
        CHECK_INT_EQ(got.nlower, 0);
        tn_data_file_release(&got);
        tn_data_file_release(&want);
    }
    free(path);
    tn_test_parquet_close(&fx);
}

static void test_footer_fields(void)
{
    struct parquet_fixture fx;
    struct tn_parquet_footer pf;
    struct tn_err err = {0};
    char *path;

    if (tn_test_parquet_open(&fx, schema_json))
        return;
    path = write_parquet(&fx, "all.parquet", "true");
    if (path && !tn_parquet_footer_read(path, &pf, &err)) {
        CHECK_INT_EQ(pf.num_rows, 5000);
        CHECK_INT_EQ(pf.nrow_groups, 3);
        CHECK_INT_EQ(pf.nleaves, 40);
        CHECK_INT_EQ(pf.leaves[0].type, TN_PARQUET_BOOLEAN);
        CHECK_INT_EQ(pf.leaves[12].field_id, 13);
        CHECK_INT_EQ(pf.leaves[12].type, TN_PARQUET_FIXED_LEN_BYTE_ARRAY);
        CHECK_INT_EQ(pf.leaves[12].scale, 10);
        CHECK_INT_EQ(pf.leaves[14].unit, TN_PARQUET_MICROS); /* time */
        CHECK_INT_EQ(pf.leaves[17].unit, TN_PARQUET_NANOS);  /* timestamp_ns */
        CHECK_INT_EQ(pf.leaves[18].unit, TN_PARQUET_MICROS); /* timestamptz_ns as DuckDB has it */
        CHECK_INT_EQ(pf.leaves[31].field_id, 33);            /* st.x */
        CHECK_INT_EQ(pf.leaves[33].field_id, 36);            /* li's element */
        CHECK_INT_EQ(pf.chunks[2 * pf.nleaves].num_values, 904);
        CHECK_INT_EQ(pf.chunks[pf.nleaves + 36].null_count, 2048); /* nul */
        tn_parquet_footer_release(&pf);
    } else if (path) {
        tn_test_failed(__FILE__, __LINE__, "%s", err.msg);
    }
    free(path);
    tn_test_parquet_close(&fx);
}

/*---- Statistics DuckDB does not write ----*/

static struct tn_type *type_of(const char *json)
{
    json_t *j = json_loads(json, JSON_DECODE_ANY, NULL);
    struct tn_type *t = NULL;
    struct tn_err err = {0};

    if (!j || tn_type_parse(j, &t, &err))
        tn_test_failed(__FILE__, __LINE__, "cannot parse type %s: %s", json, err.msg);
    json_decref(j);
    return t;
}

/* The bound of a statistic of "n" bytes for a column of type "type_json" in hex, or "EINPUT". */
static const char *from_parquet(const char *type_json, struct tn_parquet_leaf leaf,
                                const char *stat, size_t n, int upper)
{
    static char out[2 * TN_BOUND_MAX + 1];
    unsigned char v[TN_BOUND_MAX];
    size_t len = 0;
    struct tn_err err = {0};
    struct tn_type *t = type_of(type_json);
    int rc;

    if (!t)
        return "no type";
    rc = tn_bound_from_parquet(t, &leaf, (const unsigned char *)stat, n, upper, v, &len, &err);
    if (rc)
        snprintf(out, sizeof(out), "%s", rc == TN_EINPUT ? "EINPUT" : "ERR");
    else
        tn_test_hex(v, len, out);
    tn_type_free(t);
    return out;
}

#define LEAF(type, scale, unit) ((struct tn_parquet_leaf){1, TN_PARQUET_##type, scale, unit})

static void test_other_writers_statistics(void)
{
    const enum tn_parquet_unit none = TN_PARQUET_NO_UNIT, ms = TN_PARQUET_MILLIS,
                               us = TN_PARQUET_MICROS, ns = TN_PARQUET_NANOS;

    /* an INT32 statistic of a long column (a promoted column) widens */
    CHECK_STR_EQ(from_parquet("\"long\"", LEAF(INT32, 0, none), "\xfe\xff\xff\xff", 4, 0),
                 "feffffffffffffff");
    CHECK_STR_EQ(from_parquet("\"int\"", LEAF(INT64, 0, none), "\0\0\0\0\1\0\0\0", 8, 0),
                 "EINPUT"); /* 2^32 does not fit an int */
    CHECK_STR_EQ(from_parquet("\"int\"", LEAF(INT32, 0, none), "\1\0\0", 3, 0), "EINPUT");
    CHECK_STR_EQ(from_parquet("\"boolean\"", LEAF(BOOLEAN, 0, none), "\2", 1, 0), "01");
    CHECK_STR_EQ(from_parquet("\"double\"", LEAF(FLOAT, 0, none), "\0\0\xc0\x3f", 4, 0),
                 "000000000000f83f"); /* 1.5f as a double */
    CHECK_STR_EQ(from_parquet("\"float\"", LEAF(DOUBLE, 0, none), "\0\0\0\0\0\0\xf8\x3f", 8, 0),
                 "EINPUT"); /* a double does not narrow */
    CHECK_STR_EQ(from_parquet("\"double\"", LEAF(DOUBLE, 0, none), "\1\0\0\0\0\0\xf8\x7f", 8, 1),
                 "EINPUT"); /* NaN */
    CHECK_STR_EQ(from_parquet("\"float\"", LEAF(FLOAT, 0, none), "\0\0\0\0", 4, 0), "00000080");
    CHECK_STR_EQ(from_parquet("\"float\"", LEAF(FLOAT, 0, none), "\0\0\0\x80", 4, 1), "00000000");
    /* milliseconds and nanoseconds into micro- or nanoseconds; nanoseconds into microseconds
     * round down for a lower bound and up for an upper one */
    CHECK_STR_EQ(from_parquet("\"timestamp\"", LEAF(INT64, 0, ms), "\x01\0\0\0\0\0\0\0", 8, 0),
                 "e803000000000000");
    CHECK_STR_EQ(from_parquet("\"timestamp_ns\"", LEAF(INT64, 0, us),
                              "\xff\xff\xff\xff\xff\xff"
                              "\xff\xff",
                              8, 0),
                 "18fcffffffffffff");
    CHECK_STR_EQ(from_parquet("\"timestamp\"", LEAF(INT64, 0, ns), "\xe9\x03\0\0\0\0\0\0", 8, 0),
                 "0100000000000000"); /* 1001 ns: 1 us */
    CHECK_STR_EQ(from_parquet("\"timestamp\"", LEAF(INT64, 0, ns), "\xe9\x03\0\0\0\0\0\0", 8, 1),
                 "0200000000000000");
    CHECK_STR_EQ(from_parquet("\"timestamp\"", LEAF(INT64, 0, ns),
                              "\x17\xfc\xff\xff\xff\xff\xff"
                              "\xff",
                              8, 0),
                 "feffffffffffffff"); /* -1001 ns: -2 us */
    CHECK_STR_EQ(from_parquet("\"time\"", LEAF(INT32, 0, ms), "\xe8\x03\0\0", 4, 0),
                 "40420f0000000000");
    CHECK_STR_EQ(from_parquet("\"time\"", LEAF(INT64, 0, none), "\1\0\0\0\0\0\0\0", 8, 0),
                 "EINPUT"); /* no unit */
    CHECK_STR_EQ(from_parquet("\"timestamp_ns\"", LEAF(INT64, 0, ms), "\0\0\0\0\0\0\0\x40", 8, 0),
                 "EINPUT"); /* out of range in nanoseconds */
    /* DuckDB's infinities have no Iceberg value */
    CHECK_STR_EQ(from_parquet("\"timestamp\"", LEAF(INT64, 0, us),
                              "\xff\xff\xff\xff\xff\xff"
                              "\xff\x7f",
                              8, 1),
                 "EINPUT");
    CHECK_STR_EQ(from_parquet("\"date\"", LEAF(INT32, 0, none), "\x01\0\0\x80", 4, 0), "EINPUT");
    /* decimals: big-endian byte arrays of any length, the scale must match */
    CHECK_STR_EQ(from_parquet("\"decimal(9, 2)\"", LEAF(BYTE_ARRAY, 2, none), "\xff\xff\xfe", 3, 0),
                 "fe");
    CHECK_STR_EQ(from_parquet("\"decimal(9, 2)\"", LEAF(INT32, 3, none), "\1\0\0\0", 4, 0),
                 "EINPUT");
    CHECK_STR_EQ(from_parquet("\"decimal(2, 0)\"", LEAF(INT32, 0, none), "\x64\0\0\0", 4, 0),
                 "EINPUT"); /* 100 has three digits */
    CHECK_STR_EQ(from_parquet("\"decimal(2, 0)\"", LEAF(INT32, 0, none), "\x9d\xff\xff\xff", 4, 0),
                 "9d"); /* -99 */
    /* strings must be UTF-8; fixed must have its length */
    CHECK_STR_EQ(from_parquet("\"string\"", LEAF(BYTE_ARRAY, 0, none), "a\xff", 2, 0), "EINPUT");
    CHECK_STR_EQ(from_parquet("\"string\"", LEAF(BYTE_ARRAY, 0, none), "a\0b", 3, 0), "610062");
    CHECK_STR_EQ(from_parquet("\"fixed[2]\"", LEAF(FIXED_LEN_BYTE_ARRAY, 0, none), "abc", 3, 0),
                 "EINPUT");
    CHECK_STR_EQ(from_parquet("\"uuid\"", LEAF(BYTE_ARRAY, 0, none), "0123456789abcdef", 16, 0),
                 "EINPUT");
    CHECK_STR_EQ(from_parquet("\"long\"", LEAF(BYTE_ARRAY, 0, none), "12345678", 8, 0), "EINPUT");
}

/*---- Corrupt files ----*/

static char *write_bytes(const char *dir, const char *name, const void *data, size_t n)
{
    char *path = tn_asprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(data, 1, n, f) != n)
        tn_test_failed(__FILE__, __LINE__, "cannot write %s", path);
    if (f)
        fclose(f);
    return path;
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    long size;

    *n = 0;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = tn_malloc((size_t)size);
        *n = fread(data, 1, (size_t)size, f);
    }
    fclose(f);
    return data;
}

/* tn_parquet_footer_read of "n" bytes gives "code" with "text" in the message. */
static void put_le32(unsigned char *p, size_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void check_file_fails(const char *dir, const void *data, size_t n, int code,
                             const char *text)
{
    struct tn_parquet_footer pf;
    struct tn_err err = {0};
    char *path = write_bytes(dir, "bad.parquet", data, n);

    CHECK_INT_EQ(tn_parquet_footer_read(path, &pf, &err), code);
    CHECK_CONTAINS(err.msg, text);
    remove(path);
    free(path);
}

static void test_corrupt_files(void)
{
    struct parquet_fixture fx;
    struct tn_parquet_footer pf;
    struct tn_err err = {0};
    unsigned char *data, *copy;
    char *path;
    size_t n;

    if (tn_test_parquet_open(&fx, schema_json))
        return;
    path = write_parquet(&fx, "all.parquet", "i < 10");
    data = path ? read_bytes(path, &n) : NULL;
    if (data && n > 100) {
        uint32_t len = (uint32_t)data[n - 8] | (uint32_t)data[n - 7] << 8 |
                       (uint32_t)data[n - 6] << 16 | (uint32_t)data[n - 5] << 24;
        copy = tn_malloc(n);
        check_file_fails(fx.dir, data, 7, TN_EINPUT, "has only 7 bytes");
        check_file_fails(fx.dir, data, n - 1, TN_EINPUT, "does not end in PAR1");
        check_file_fails(fx.dir, data, n / 2, TN_EINPUT, "not a Parquet file");
        memcpy(copy, data, n);
        copy[n - 1] = '2';
        check_file_fails(fx.dir, copy, n, TN_EINPUT, "does not end in PAR1");
        memcpy(copy, data, n);
        put_le32(copy + n - 8, (size_t)1 << 28);
        check_file_fails(fx.dir, copy, n, TN_ETOOBIG, "more than");
        memcpy(copy, data, n);
        put_le32(copy + n - 8, n - 11); /* one byte more than the file can hold */
        check_file_fails(fx.dir, copy, n, TN_EINPUT, "does not fit");
        /* the footer cut short: the file keeps its tail, the length says less */
        memcpy(copy, data, n);
        put_le32(copy + n - 8, len - 1);
        check_file_fails(fx.dir, copy, n, TN_EINPUT, "corrupt Parquet footer");
        /* garbage in place of the Thrift */
        memcpy(copy, data, n);
        memset(copy + n - 8 - len, 0xff, len);
        check_file_fails(fx.dir, copy, n, TN_EINPUT, "corrupt Parquet footer");
        free(copy);
    }
    CHECK_INT_EQ(tn_parquet_footer_read("/nonexistent/x.parquet", &pf, &err), TN_ENOTFOUND);
    free(data);
    free(path);
    tn_test_parquet_close(&fx);
}

/* Parsing "n" bytes must fail or succeed, never crash or leak. */
static int parses(const unsigned char *data, size_t n)
{
    struct tn_parquet_footer pf;
    struct tn_err err = {0};

    if (tn_parquet_footer_parse(data, n, &pf, &err))
        return 0;
    tn_parquet_footer_release(&pf);
    return 1;
}

static void test_corrupt_thrift(void)
{
    struct parquet_fixture fx;
    unsigned char *data, *footer;
    char *path;
    size_t n, len = 0;
    unsigned char deep[400];
    static const unsigned char long_list[] = {0x29, 0xf9, 0xff, 0xff, 0xff, 0xff, 0x0f};
    static const unsigned char long_varint[] = {0x36, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const unsigned char bad_type[] = {0x1e, 0x00};
    static const unsigned char no_schema[] = {0x00};
    /* a root of two children, then one element */
    static const unsigned char schema_not_a_tree[] = {0x29, 0x2c, 0x55, 0x04, 0x00, 0x00, 0x00};

    if (tn_test_parquet_open(&fx, schema_json))
        return;
    path = write_parquet(&fx, "all.parquet", "i < 10");
    data = path ? read_bytes(path, &n) : NULL;
    if (data && n > 100) {
        len = (size_t)data[n - 8] | (size_t)data[n - 7] << 8 | (size_t)data[n - 6] << 16;
        footer = data + n - 8 - len;
        CHECK(parses(footer, len));
        /* every strict prefix lacks the final stop byte */
        for (size_t k = 0; k < len; k++)
            if (parses(footer, k))
                tn_test_failed(__FILE__, __LINE__, "a footer cut to %zu bytes parsed", k);
        /* every byte replaced by a few values: an error or a footer, nothing else */
        for (size_t k = 0; k < len; k++) {
            unsigned char was = footer[k];
            static const unsigned char values[] = {0x00, 0x0c, 0x19, 0x7f, 0x80, 0xff};
            for (size_t v = 0; v < sizeof(values); v++) {
                footer[k] = values[v];
                (void)parses(footer, len);
            }
            footer[k] = was;
        }
    }
    /* field 1 a struct whose field 1 is a struct, 400 deep */
    memset(deep, 0x1c, sizeof(deep));
    CHECK(!parses(deep, sizeof(deep)));
    CHECK(!parses(long_list, sizeof(long_list)));
    CHECK(!parses(long_varint, sizeof(long_varint)));
    CHECK(!parses(bad_type, sizeof(bad_type)));
    CHECK(!parses(no_schema, sizeof(no_schema)));
    CHECK(!parses(schema_not_a_tree, sizeof(schema_not_a_tree)));
    free(data);
    free(path);
    tn_test_parquet_close(&fx);
}

static const struct tn_test parquet_footer_tests[] = {
    {"every type: the same statistics as DuckDB's text gave, but where the text was wrong",
     test_same_statistics_as_duckdb},
    {"one row group, and none", test_one_row_group_and_none},
    {"footer fields", test_footer_fields},
    {"statistics other writers may write", test_other_writers_statistics},
    {"corrupt files fail cleanly", test_corrupt_files},
    {"corrupt Thrift fails cleanly", test_corrupt_thrift},
    {NULL, NULL},
};
TN_SUITE(parquet_footer_tests)
