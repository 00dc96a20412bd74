/* test_conformance.c - unit tests that what tarn writes matches what Iceberg-Java writes for
 * the same data: NaN counts for float and double columns, no null count where DuckDB's Parquet
 * statistics give none (list elements), position-delete files with REQUIRED columns and split
 * offsets. */
#include "tn_test_table.h"

#include <stdlib.h>
#include <string.h>

#include "table/table.h"

/* A table with a double, a list and a struct holding a float; four rows, NaN in two. */
static int setup(struct fixture *fx)
{
    struct tn_err err = {0};
    struct tn_write_options w = {.mode = TN_WRITE_APPEND};
    struct tn_commit_result res;
    json_t *schema = json_loads(
        "{\"type\":\"struct\",\"schema-id\":0,\"fields\":["
        "{\"id\":1,\"name\":\"id\",\"required\":false,\"type\":\"long\"},"
        "{\"id\":2,\"name\":\"d\",\"required\":false,\"type\":\"double\"},"
        "{\"id\":3,\"name\":\"tags\",\"required\":false,\"type\":{\"type\":\"list\","
        "\"element-id\":4,\"element\":\"long\",\"element-required\":false}},"
        "{\"id\":5,\"name\":\"st\",\"required\":false,\"type\":{\"type\":\"struct\",\"fields\":["
        "{\"id\":6,\"name\":\"f\",\"required\":false,\"type\":\"float\"}]}}]}",
        0, NULL);
    int rc;

    if (tn_test_warehouse_open(fx)) {
        json_decref(schema);
        return -1;
    }
    rc = tn_table_create(fx->wh, "default", "t", schema, NULL, NULL, &err) ||
         tn_table_write(fx->wh, fx->s, "default", "t",
                        "SELECT range AS id, CASE WHEN range % 2 = 0 THEN 'NaN'::DOUBLE "
                        "ELSE range END AS d, [range, NULL] AS tags, {'f': CASE WHEN range = 3 "
                        "THEN 'NaN'::FLOAT ELSE 1.5 END} AS st FROM range(4)",
                        &w, &res, &err);
    json_decref(schema);
    if (rc)
        tn_test_failed(__FILE__, __LINE__, "setup: %s", err.msg);
    return rc;
}

static void test_nan_and_null_counts(void)
{
    struct fixture fx;

    if (setup(&fx))
        return;
    CHECK_SCALAR(&fx, "SELECT nan_value_counts::VARCHAR FROM \"t$files\"", "{2=2, 6=1}");
    /* DuckDB writes no null count for list elements (id 4): no entry, rather than a wrong 0 */
    CHECK_SCALAR(&fx, "SELECT null_value_counts::VARCHAR FROM \"t$files\"", "{1=0, 2=0, 6=0}");
    /* DuckDB writes no min/max for a chunk with a NaN; Java's bounds leave NaN out */
    CHECK_SCALAR(&fx,
                 "SELECT map_extract_value(lower_bounds, 2) || ' ' || "
                 "map_extract_value(upper_bounds, 2) FROM \"t$files\"",
                 "1.0 3.0");
    tn_test_warehouse_close(&fx);
}

static void test_delete_file_split_offsets(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_dml_result res;

    if (setup(&fx))
        return;
    CHECK_OK(tn_table_dml(fx.wh, fx.s, "DELETE FROM t WHERE id = 1", NULL, &res, &err));
    CHECK_SCALAR(&fx, "SELECT len(split_offsets) FROM \"t$files\" WHERE content = 1", "1");
    CHECK_SCALAR(&fx, "SELECT split_offsets[1] FROM \"t$files\" WHERE content = 1", "4");
    {
        /* Iceberg requires file_path and pos to be REQUIRED columns */
        char *uri = tn_test_scalar(&fx, "SELECT file_path FROM \"t$files\" WHERE content = 1");
        char *sql = tn_asprintf("SELECT string_agg(name || ':' || repetition_type || ':' || "
                                "field_id, ' ' ORDER BY field_id) FROM parquet_schema('%s') "
                                "WHERE field_id IS NOT NULL",
                                uri && strncmp(uri, "file://", 7) == 0 ? uri + 7 : "");
        CHECK_SCALAR(&fx, sql, "pos:REQUIRED:2147483545 file_path:REQUIRED:2147483546");
        CHECK_SCALAR(&fx, "SELECT string_agg(id::VARCHAR, ' ' ORDER BY id) FROM t", "0 2 3");
        free(sql);
        free(uri);
    }
    tn_test_warehouse_close(&fx);
}

static const struct tn_test conformance_tests[] = {
    {"NaN counts for float and double columns; no null count where it is unknown",
     test_nan_and_null_counts},
    {"position-delete files: REQUIRED columns, split offsets", test_delete_file_split_offsets},
    {NULL, NULL},
};
TN_SUITE(conformance_tests)
