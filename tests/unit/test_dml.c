/* test_dml.c - unit tests for src/table's row-level changes: DELETE and UPDATE write position
 * deletes (data files untouched), read back right, keep time travel, and conflict rather than
 * lose an update. */
#include "tn_test_table.h"

#include <stdlib.h>
#include <unistd.h>

#include "table/table.h"
#include "table/table_int.h"

static int setup(struct fixture *fx)
{
    struct tn_err err = {0};
    struct tn_write_options w = {.mode = TN_WRITE_APPEND};
    struct tn_commit_result res;
    json_t *schema = json_loads("{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,"
                                "\"name\":\"id\",\"required\":false,\"type\":\"long\"},{\"id\":2,"
                                "\"name\":\"name\",\"required\":false,\"type\":\"string\"}]}",
                                0, NULL);
    int rc;

    if (tn_test_warehouse_open(fx)) {
        json_decref(schema);
        return -1;
    }
    rc =
        tn_table_create(fx->wh, "default", "t", schema, NULL, NULL, &err) ||
        tn_table_write(fx->wh, fx->s, "default", "t",
                       "SELECT range AS id, 'n' || range AS name FROM range(10)", &w, &res, &err) ||
        tn_table_write(fx->wh, fx->s, "default", "t",
                       "SELECT range AS id, 'n' || range AS name FROM range(10, 20)", &w, &res,
                       &err);
    json_decref(schema);
    if (rc)
        tn_test_failed(__FILE__, __LINE__, "setup: %s", err.msg);
    return rc;
}

static void test_delete_writes_position_deletes(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_dml_result res;
    char *files_before;

    if (setup(&fx))
        return;
    files_before = tn_test_scalar(&fx, "SELECT string_agg(file_path, ',' ORDER BY file_path) FROM "
                                       "\"t$files\" WHERE content = 0");
    CHECK_OK(tn_table_dml(fx.wh, fx.s, "DELETE FROM t WHERE id % 3 = 0", NULL, &res, &err));
    CHECK_INT_EQ(res.rows_affected, 7);
    CHECK_SCALAR(&fx, "SELECT count(*) FROM t", "13");
    CHECK_SCALAR(&fx, "SELECT count(*) FROM t WHERE id % 3 = 0", "0");
    CHECK_SCALAR(&fx, "SELECT operation FROM \"t$snapshots\" ORDER BY committed_at DESC LIMIT 1",
                 "delete");
    /* one delete file lists the positions in both data files */
    CHECK_SCALAR(&fx, "SELECT count(*) FROM \"t$files\" WHERE content = 1", "1");
    {
        char *after =
            tn_test_scalar(&fx, "SELECT string_agg(file_path, ',' ORDER BY file_path) FROM "
                                "\"t$files\" WHERE content = 0");
        CHECK_STR_EQ(after, files_before); /* data files untouched */
        free(after);
    }
    /* a subquery over the table itself, as DuckDB means it */
    CHECK_OK(tn_table_dml(fx.wh, fx.s, "DELETE FROM t AS x WHERE x.id > (SELECT avg(id) FROM t)",
                          NULL, &res, &err));
    CHECK_INT_EQ(res.rows_affected, 7);
    CHECK_SCALAR(&fx, "SELECT string_agg(id::VARCHAR, ' ' ORDER BY id) FROM t", "1 2 4 5 7 8");
    /* nothing matches: no commit */
    {
        int64_t before = res.snapshot_id;
        CHECK_OK(tn_table_dml(fx.wh, fx.s, "DELETE FROM t WHERE id > 1000", NULL, &res, &err));
        CHECK_INT_EQ(res.rows_affected, 0);
        CHECK_INT_EQ(res.snapshot_id, before);
    }
    free(files_before);
    tn_test_warehouse_close(&fx);
}

static void test_update_and_time_travel(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_dml_result res;
    char sql[256];
    char *first;

    if (setup(&fx))
        return;
    first = tn_test_scalar(
        &fx, "SELECT snapshot_id FROM \"t$snapshots\" ORDER BY committed_at DESC LIMIT 1");
    CHECK_OK(tn_table_dml(fx.wh, fx.s,
                          "UPDATE t SET name = upper(name) || ',' || id, id = id * 100 "
                          "WHERE id IN (SELECT id FROM t WHERE id < 3)",
                          NULL, &res, &err));
    CHECK_INT_EQ(res.rows_affected, 3);
    CHECK_SCALAR(&fx, "SELECT count(*) FROM t", "20");
    CHECK_SCALAR(&fx, "SELECT name FROM t WHERE id = 200", "N2,2");
    CHECK_SCALAR(&fx,
                 "SELECT string_agg(id::VARCHAR, ' ' ORDER BY id) FROM t WHERE id < 3 OR id >= 100",
                 "0 100 200");
    CHECK_SCALAR(&fx, "SELECT operation FROM \"t$snapshots\" ORDER BY committed_at DESC LIMIT 1",
                 "overwrite");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM t AT (VERSION => %s) WHERE id < 3",
             first ? first : "0");
    CHECK_SCALAR(&fx, sql, "3");
    CHECK_INT_EQ(tn_table_dml(fx.wh, fx.s, "UPDATE t SET nope = 1", NULL, &res, &err),
                 TN_ENOTFOUND);
    /* a column added after the last write can be set */
    {
        struct tn_alter_result ar;
        CHECK_OK(tn_table_alter(fx.wh, fx.s, "ALTER TABLE t ADD COLUMN note VARCHAR", &ar, &err));
        CHECK_OK(
            tn_table_dml(fx.wh, fx.s, "UPDATE t SET note = 'hi' WHERE id = 5", NULL, &res, &err));
        CHECK_SCALAR(&fx, "SELECT note FROM t WHERE id = 5", "hi");
    }
    CHECK_INT_EQ(tn_table_dml(fx.wh, fx.s, "UPDATE t SET name = CAST('x' AS INTEGER) + 'y'", NULL,
                              &res, &err) != 0,
                 1);
    CHECK_SCALAR(&fx, "SELECT count(*) FROM \"t$snapshots\"", "4");
    free(first);
    tn_test_warehouse_close(&fx);
}

static void test_conflicting_changes_refused(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_dml_result res;
    struct tn_table *at_s0 = NULL, *now = NULL;
    char *s0;

    if (setup(&fx))
        return;
    s0 = tn_test_scalar(
        &fx, "SELECT snapshot_id FROM \"t$snapshots\" ORDER BY committed_at DESC LIMIT 1");
    CHECK_OK(tn_table_load(fx.wh, "default", "t", &at_s0, &err));
    CHECK_OK(tn_table_dml(fx.wh, fx.s, "DELETE FROM t WHERE id = 1", NULL, &res, &err));
    /* an append since a change read the table never conflicts */
    {
        struct tn_write_options w = {.mode = TN_WRITE_APPEND};
        struct tn_commit_result cr;
        CHECK_OK(tn_table_write(fx.wh, fx.s, "default", "t", "SELECT 99 AS id", &w, &cr, &err));
    }
    CHECK_OK(tn_table_dml(fx.wh, fx.s, "DELETE FROM t WHERE id = 2", NULL, &res, &err));
    CHECK_SCALAR(&fx, "SELECT count(*) FROM t", "19");
    /* a change computed at s0, before those deletes, must not commit over them */
    {
        struct tn_data_file del;
        struct tn_row_change c;
        struct tn_commit_result cr;
        int64_t read_at = 0;
        memset(&del, 0, sizeof(del));
        memset(&c, 0, sizeof(c));
        del.content = 1;
        del.file_path = (char *)"file:///nowhere/deletes.parquet";
        del.file_format = (char *)"PARQUET";
        del.record_count = 1;
        del.sort_order_id = -1;
        tn_parse_i64(s0 ? s0 : "0", &read_at);
        c.operation = "delete";
        c.read_snapshot = read_at;
        c.deletes = &del;
        c.ndeletes = 1;
        /* on the table as it was read (the catalog swap fails, the reload sees the deletes) */
        if (at_s0) {
            CHECK_INT_EQ(tn__commit_rows(fx.wh, at_s0, &c, &cr, &err), TN_ECONFLICT);
            CHECK_CONTAINS(err.msg, "run it again");
        }
        /* and on the table as it is now */
        CHECK_OK(tn_table_load(fx.wh, "default", "t", &now, &err));
        if (now) {
            CHECK_INT_EQ(tn__commit_rows(fx.wh, now, &c, &cr, &err), TN_ECONFLICT);
            CHECK_CONTAINS(err.msg, "run it again");
        }
    }
    CHECK_SCALAR(&fx, "SELECT count(*) FROM t", "19");
    tn_table_free(at_s0);
    tn_table_free(now);
    free(s0);
    tn_test_warehouse_close(&fx);
}

static void test_upsert_by_key(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_ingest_result res;
    struct tn_ingest_options opt = {
        .mode = TN_WRITE_APPEND, .evolve = TN_EVOLVE_ADD, .upsert = 1, .key = "id"};

    if (setup(&fx))
        return;
    /* half existing keys (replaced), half new (inserted), one commit */
    CHECK_OK(tn_table_ingest_opts(fx.wh, fx.s, "default", "t",
                                  "SELECT * FROM (VALUES (1, 'one'), (2, 'two'), (30, 'thirty'), "
                                  "(31, 'thirty-one')) v(id, name)",
                                  &opt, &res, &err));
    CHECK_INT_EQ(res.rows_updated, 2);
    CHECK_INT_EQ(res.rows_inserted, 2);
    tn_ingest_result_release(&res);
    CHECK_SCALAR(&fx, "SELECT count(*) FROM t", "22");
    CHECK_SCALAR(&fx, "SELECT string_agg(name, ' ' ORDER BY id) FROM t WHERE id IN (1, 2, 30)",
                 "one two thirty");
    CHECK_SCALAR(&fx, "SELECT count(*) FROM t WHERE id = 1", "1");
    /* the key is remembered: a later upsert needs none */
    opt.key = NULL;
    CHECK_OK(tn_table_ingest_opts(fx.wh, fx.s, "default", "t", "SELECT 1 AS id, 'uno' AS name",
                                  &opt, &res, &err));
    tn_ingest_result_release(&res);
    CHECK_SCALAR(&fx, "SELECT name FROM t WHERE id = 1", "uno");
    /* duplicate keys in one upload: refused, naming the key; or the last one kept */
    CHECK_INT_EQ(tn_table_ingest_opts(fx.wh, fx.s, "default", "t",
                                      "SELECT * FROM (VALUES (5, 'x'), (5, 'y')) v(id, name)", &opt,
                                      &res, &err),
                 TN_EUNPROCESSABLE);
    CHECK_CONTAINS(err.msg, "key (5) appears 2 times");
    opt.dedupe_last = 1;
    CHECK_OK(tn_table_ingest_opts(fx.wh, fx.s, "default", "t",
                                  "SELECT * FROM (VALUES (5, 'x'), (5, 'y')) v(id, name)", &opt,
                                  &res, &err));
    tn_ingest_result_release(&res);
    CHECK_SCALAR(&fx, "SELECT string_agg(name, ' ') FROM t WHERE id = 5", "y");
    /* a null key: refused */
    CHECK_INT_EQ(tn_table_ingest_opts(fx.wh, fx.s, "default", "t",
                                      "SELECT NULL::BIGINT AS id, 'z' AS name", &opt, &res, &err),
                 TN_EUNPROCESSABLE);
    CHECK_CONTAINS(err.msg, "null key");
    CHECK_SCALAR(&fx, "SELECT count(*) FROM t", "22"); /* id 5 existed: replaced */
    tn_test_warehouse_close(&fx);
}

static void test_upsert_creates_table_with_identifier_fields(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_ingest_result res;
    struct tn_ingest_options opt = {
        .mode = TN_WRITE_APPEND, .evolve = TN_EVOLVE_ADD, .upsert = 1, .key = "k"};
    struct tn_table *t = NULL;

    if (setup(&fx))
        return;
    CHECK_OK(tn_table_ingest_opts(fx.wh, fx.s, "default", "u", "SELECT 7 AS k, 'v' AS val", &opt,
                                  &res, &err));
    tn_ingest_result_release(&res);
    CHECK_OK(tn_table_load(fx.wh, "default", "u", &t, &err));
    if (t) {
        const struct tn_schema *schema = tn_metadata_current_schema(t->meta);
        CHECK_INT_EQ(schema->nidentifier, 1);
        CHECK(schema->root.fields[0].required);
    }
    tn_table_free(t);
    opt.key = NULL;
    CHECK_OK(tn_table_ingest_opts(fx.wh, fx.s, "default", "u", "SELECT 7 AS k, 'w' AS val", &opt,
                                  &res, &err));
    tn_ingest_result_release(&res);
    CHECK_SCALAR(&fx, "SELECT string_agg(val, ' ') FROM u", "w");
    tn_test_warehouse_close(&fx);
}

static void test_merge(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_dml_result res;
    struct tn_write_options w = {.mode = TN_WRITE_APPEND};
    struct tn_commit_result cr;
    json_t *schema = json_loads("{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,"
                                "\"name\":\"id\",\"required\":false,\"type\":\"long\"},{\"id\":2,"
                                "\"name\":\"name\",\"required\":false,\"type\":\"string\"}]}",
                                0, NULL);

    if (setup(&fx))
        return;
    CHECK_OK(tn_table_create(fx.wh, "default", "src", schema, NULL, NULL, &err));
    json_decref(schema);
    CHECK_OK(tn_table_write(
        fx.wh, fx.s, "default", "src",
        "SELECT * FROM (VALUES (1, NULL), (2, 'two'), (50, 'fifty')) v(id, name)", &w, &cr, &err));
    CHECK_OK(tn_table_dml(fx.wh, fx.s,
                          "MERGE INTO t USING src AS s ON t.id = s.id "
                          "WHEN MATCHED AND s.name IS NULL THEN DELETE "
                          "WHEN MATCHED THEN UPDATE SET name = s.name "
                          "WHEN NOT MATCHED THEN INSERT (id, name) VALUES (s.id, s.name)",
                          NULL, &res, &err));
    CHECK_INT_EQ(res.rows_affected, 3);
    CHECK_SCALAR(&fx, "SELECT count(*) FROM t", "20");
    CHECK_SCALAR(&fx, "SELECT count(*) FROM t WHERE id = 1", "0");
    CHECK_SCALAR(&fx, "SELECT name FROM t WHERE id = 2", "two");
    CHECK_SCALAR(&fx, "SELECT name FROM t WHERE id = 50", "fifty");
    CHECK_SCALAR(&fx, "SELECT name FROM t WHERE id = 3", "n3");
    /* a subquery as the source */
    CHECK_OK(tn_table_dml(fx.wh, fx.s,
                          "MERGE INTO t AS x USING (SELECT 3 AS id, 'three' AS name) y "
                          "ON x.id = y.id WHEN MATCHED THEN UPDATE SET name = y.name",
                          NULL, &res, &err));
    CHECK_SCALAR(&fx, "SELECT name FROM t WHERE id = 3", "three");
    CHECK_SCALAR(&fx, "SELECT count(*) FROM t", "20");
    tn_test_warehouse_close(&fx);
}

static void test_compaction(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_dml_result res;
    struct tn_compact_result cr;
    char *before;

    if (setup(&fx))
        return;
    CHECK_OK(tn_table_dml(fx.wh, fx.s, "DELETE FROM t WHERE id % 2 = 0", NULL, &res, &err));
    CHECK_OK(tn_table_dml(fx.wh, fx.s, "UPDATE t SET name = 'odd' WHERE id = 1", NULL, &res, &err));
    before = tn_test_scalar(&fx, "SELECT string_agg(id || ':' || name, ' ' ORDER BY id) FROM t");
    /* a dry run plans the same rewrite and commits nothing */
    CHECK_OK(tn_table_compact(fx.wh, fx.s, "default", "t", 1, &cr, &err));
    CHECK_INT_EQ(cr.files_rewritten, 3);
    CHECK_INT_EQ(cr.delete_files_removed, 2);
    CHECK_INT_EQ(cr.files_written, 0);
    CHECK(cr.bytes_rewritten > 0);
    CHECK_INT_EQ(cr.rows, 20 + 1); /* the rows the three files hold, before their deletes */
    CHECK_SCALAR(&fx, "SELECT count(*) FROM \"t$snapshots\"", "4");
    CHECK_SCALAR(&fx, "SELECT count(*) FROM \"t$files\"", "5"); /* 3 data, 2 delete files */
    CHECK_OK(tn_table_compact(fx.wh, fx.s, "default", "t", 0, &cr, &err));
    CHECK_INT_EQ(cr.files_rewritten, 3);
    CHECK_INT_EQ(cr.delete_files_removed, 2);
    CHECK_INT_EQ(cr.rows, 10);
    {
        char *after =
            tn_test_scalar(&fx, "SELECT string_agg(id || ':' || name, ' ' ORDER BY id) FROM t");
        CHECK_STR_EQ(after, before);
        free(after);
    }
    CHECK_SCALAR(&fx, "SELECT count(*) FROM \"t$files\"", "1");
    CHECK_SCALAR(&fx, "SELECT operation FROM \"t$snapshots\" ORDER BY committed_at DESC LIMIT 1",
                 "replace");
    /* a second compaction has nothing to do */
    CHECK_OK(tn_table_compact(fx.wh, fx.s, "default", "t", 0, &cr, &err));
    CHECK_INT_EQ(cr.files_rewritten, 0);
    free(before);
    tn_test_warehouse_close(&fx);
}

static void test_whole_files_and_copy_on_write(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_dml_result res;

    if (setup(&fx))
        return;
    /* every row of the first file: the file is dropped, no delete file is written, and its
       bounds show it without reading it (so it may even be gone from storage) */
    {
        char *path =
            tn_test_scalar(&fx, "SELECT file_path FROM \"t$files\" WHERE lower_bounds[1] = '0'");
        CHECK(path && strncmp(path, "file://", 7) == 0);
        if (path)
            CHECK_INT_EQ(unlink(path + 7), 0);
        free(path);
    }
    CHECK_OK(tn_table_dml(fx.wh, fx.s, "DELETE FROM t WHERE id < 10", NULL, &res, &err));
    CHECK_INT_EQ(res.rows_affected, 10);
    CHECK_SCALAR(&fx, "SELECT count(*) FROM \"t$files\" WHERE content = 1", "0");
    CHECK_SCALAR(&fx, "SELECT count(*) FROM \"t$files\"", "1");
    CHECK_SCALAR(&fx, "SELECT count(*) FROM t", "10");
    /* copy-on-write: touched files are rewritten without the rows, no delete files */
    CHECK_OK(tn__set_property(fx.wh, "default", "t", "write.update.mode", "copy-on-write", &err));
    CHECK_OK(
        tn_table_dml(fx.wh, fx.s, "UPDATE t SET name = 'even' WHERE id % 2 = 0", NULL, &res, &err));
    CHECK_INT_EQ(res.rows_affected, 5);
    CHECK_SCALAR(&fx, "SELECT count(*) FROM \"t$files\" WHERE content = 1", "0");
    CHECK_SCALAR(&fx, "SELECT count(*) FILTER (WHERE name = 'even'), count(*) FROM t", "5");
    CHECK_SCALAR(&fx, "SELECT count(*) FROM t", "10");
    CHECK_SCALAR(&fx, "SELECT string_agg(name, ' ' ORDER BY id) FROM t WHERE id < 13",
                 "even n11 even");
    tn_test_warehouse_close(&fx);
}

static void test_expire_snapshots(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_dml_result res;
    struct tn_compact_result cr;
    struct tn_expire_result er;

    if (setup(&fx))
        return;
    CHECK_OK(tn_table_dml(fx.wh, fx.s, "DELETE FROM t WHERE id % 2 = 0", NULL, &res, &err));
    CHECK_OK(tn_table_compact(fx.wh, fx.s, "default", "t", 0, &cr, &err));
    CHECK_SCALAR(&fx, "SELECT count(*) FROM \"t$snapshots\"", "4");
    /* a dry run counts what the expiry below does, and changes nothing */
    CHECK_OK(tn_table_expire(fx.wh, "default", "t", tn_now_ms() + 1000, 1, 1, &er, &err));
    CHECK_INT_EQ(er.snapshots_expired, 3);
    CHECK_INT_EQ(er.files_deleted, 0);
    CHECK(er.files_to_delete >= 5);
    CHECK_SCALAR(&fx, "SELECT count(*) FROM \"t$snapshots\"", "4");
    {
        int64_t planned = er.files_to_delete;
        /* everything older than now, but keep the newest 1 */
        CHECK_OK(tn_table_expire(fx.wh, "default", "t", tn_now_ms() + 1000, 1, 0, &er, &err));
        CHECK_INT_EQ(er.files_deleted, planned);
    }
    CHECK_INT_EQ(er.snapshots_expired, 3);
    CHECK(er.files_deleted >= 5); /* 2 data files, 1 delete file, manifests, lists */
    CHECK_SCALAR(&fx, "SELECT count(*) FROM \"t$snapshots\"", "1");
    CHECK_SCALAR(&fx, "SELECT count(*), sum(id) FROM t", "10");
    /* nothing left to expire */
    CHECK_OK(tn_table_expire(fx.wh, "default", "t", tn_now_ms() + 1000, 1, 0, &er, &err));
    CHECK_INT_EQ(er.snapshots_expired, 0);
    tn_test_warehouse_close(&fx);
}

static void test_partitioned_writes(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_ingest_result res;
    struct tn_ingest_options opt = {.mode = TN_WRITE_APPEND,
                                    .evolve = TN_EVOLVE_ADD,
                                    .partition_by = "day(ts), bucket(4, id), truncate(2, name)"};
    struct tn_dml_result dr;

    if (setup(&fx))
        return;
    CHECK_OK(tn_table_ingest_opts(fx.wh, fx.s, "default", "p",
                                  "SELECT range AS id, 'n' || range AS name, TIMESTAMP "
                                  "'2024-01-01 10:00:00' + INTERVAL (range % 3) DAY AS ts "
                                  "FROM range(1, 5)",
                                  &opt, &res, &err));
    tn_ingest_result_release(&res);
    CHECK_SCALAR(&fx, "SELECT count(*), sum(id) FROM p", "4");
    /* bucket[4] of ids 1..4 is 0, 0, 3, 2 (as Iceberg-Java computes it) */
    CHECK_SCALAR(&fx, "SELECT count(*) FROM \"p$files\"", "4");
    CHECK_SCALAR(&fx,
                 "SELECT string_agg(tn_iceberg_bucket(id, 4)::VARCHAR, ' ' ORDER BY id) "
                 "FROM p",
                 "0 0 3 2");
    /* appends keep partitioning; a filter on the source column prunes by bounds */
    CHECK_OK(tn_table_ingest_opts(fx.wh, fx.s, "default", "p",
                                  "SELECT 9 AS id, 'x' AS name, TIMESTAMP '2024-02-01' AS ts", &opt,
                                  &res, &err));
    tn_ingest_result_release(&res);
    CHECK_SCALAR(&fx, "SELECT count(*) FROM p WHERE ts >= '2024-02-01'", "1");
    CHECK_SCALAR(&fx, "SELECT count(*) FROM p", "5");
    /* row-level changes: a delete file per partition, carrying the data file's tuple */
    CHECK_OK(tn_table_dml(fx.wh, fx.s, "DELETE FROM p WHERE id = 1", NULL, &dr, &err));
    CHECK_INT_EQ(dr.rows_affected, 1);
    CHECK_OK(tn_table_dml(fx.wh, fx.s, "UPDATE p SET name = 'u' WHERE id >= 3", NULL, &dr, &err));
    CHECK_INT_EQ(dr.rows_affected, 3);
    CHECK_SCALAR(&fx, "SELECT string_agg(id || name, ' ' ORDER BY id) FROM p", "2n2 3u 4u 9u");
    CHECK_SCALAR(&fx, "SELECT count(*) FROM p WHERE ts >= '2024-02-01'", "1");
    opt.partition_by = "nope(id)";
    CHECK_INT_EQ(
        tn_table_ingest_opts(fx.wh, fx.s, "default", "q", "SELECT 1 AS id", &opt, &res, &err),
        TN_EINPUT);
    CHECK_CONTAINS(err.msg, "unknown partition transform");
    tn_test_warehouse_close(&fx);
}

static void test_changes_on_a_branch(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_dml_result res;
    struct tn_insert_result ir;
    struct tn_query_options on_audit = {
        .snapshot_id = -1, .as_of_ms = -1, .target_snapshot = -1, .branch = "audit"};
    char *head;

    if (setup(&fx))
        return;
    head = tn_test_scalar(
        &fx, "SELECT snapshot_id FROM \"t$snapshots\" ORDER BY committed_at DESC LIMIT 1");
    {
        int64_t id = 0;
        tn_parse_i64(head ? head : "0", &id);
        CHECK_OK(tn_table_set_ref(fx.wh, "default", "t", "audit", 0, id, -1, 0, &err));
    }
    CHECK_OK(tn_table_dml(fx.wh, fx.s, "DELETE FROM t WHERE id < 5", &on_audit, &res, &err));
    CHECK_INT_EQ(res.rows_affected, 5);
    CHECK_OK(
        tn_table_insert(fx.wh, fx.s, "INSERT INTO t VALUES (100, 'new')", &on_audit, &ir, &err));
    CHECK_SCALAR(&fx, "SELECT count(*) FROM t", "20"); /* main untouched */
    CHECK_SCALAR(&fx, "SELECT count(*) FROM t AT (VERSION => 'audit')", "16");
    CHECK_OK(tn_table_fast_forward(fx.wh, "default", "t", "audit", &err));
    CHECK_SCALAR(&fx, "SELECT count(*) FROM t", "16");
    on_audit.branch = "nope";
    CHECK_INT_EQ(tn_table_dml(fx.wh, fx.s, "DELETE FROM t", &on_audit, &res, &err), TN_ENOTFOUND);
    free(head);
    tn_test_warehouse_close(&fx);
}

static void test_count_from_metadata(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_dml_result res;
    char *path;

    if (setup(&fx))
        return;
    /* with its data files gone, a plain count(*) still answers: it reads no file */
    path = tn_test_scalar(&fx, "SELECT file_path FROM \"t$files\" WHERE lower_bounds[1] = '0'");
    CHECK(path && unlink(path + 7) == 0);
    free(path);
    CHECK_SCALAR(&fx, "SELECT count(*) FROM t", "20");
    /* with deletes it must read (only the file the bounds leave: the missing one is pruned) */
    CHECK_OK(tn_table_dml(fx.wh, fx.s, "DELETE FROM t WHERE id = 15", NULL, &res, &err));
    CHECK_SCALAR(&fx, "SELECT count(*) FROM t WHERE id >= 10", "9");
    tn_test_warehouse_close(&fx);
}

/* Parsed metadata is kept in the warehouse's plan cache by location: loading after one's own
 * commit, or loading an unchanged table again, reads nothing; a commit made through another
 * handle is seen at once (a new location). */
static void test_metadata_cache(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_warehouse_options wo = {0};
    struct tn_warehouse *other = NULL;
    struct tn_table *t = NULL, *t2 = NULL, *t3 = NULL;
    struct tn_write_options w = {.mode = TN_WRITE_APPEND};
    struct tn_commit_result res;
    struct tn_plan_cache_stats before, after;

    if (setup(&fx))
        return;
    tn_warehouse_plan_cache_stats(fx.wh, &before);
    CHECK_OK(tn_table_load(fx.wh, "default", "t", &t, &err));
    CHECK_OK(tn_table_load(fx.wh, "default", "t", &t2, &err));
    tn_warehouse_plan_cache_stats(fx.wh, &after);
    CHECK_INT_EQ(after.hits - before.hits, 2);
    CHECK_INT_EQ(after.misses - before.misses, 0);
    CHECK(t && t2 && t->meta == t2->meta);
    tn_table_free(t2);
    t2 = NULL;
    wo.warehouse = tn_storage_root_uri(fx.wh->storage); /* the same warehouse, a second handle */
    CHECK_OK(tn_warehouse_open(&wo, &other, &err));
    if (other) {
        CHECK_OK(tn_table_load(other, "default", "t", &t3, &err));
        CHECK_OK(tn_table_write(other, fx.s, "default", "t", "SELECT 99 AS id, 'x' AS name", &w,
                                &res, &err));
        CHECK_OK(tn_table_load(fx.wh, "default", "t", &t2, &err));
        CHECK(t2 && t2->meta->current_snapshot_id == res.snapshot_id);
        /* the old version stays as it was for whoever holds it */
        CHECK(t && t->meta->current_snapshot_id != res.snapshot_id && t->meta->nsnapshots == 2);
        tn_table_free(t3);
        tn_warehouse_close(other);
    }
    tn_table_free(t);
    tn_table_free(t2);
    tn_test_warehouse_close(&fx);
}

/* Each table reference becomes its own relation in the resolved SQL: joins of a table with
 * itself, column aliases, a snapshot per reference; text that merely looks like tarn's
 * placeholders is left alone. */
static void test_resolved_relations(void)
{
    struct fixture fx;
    char *first;

    if (setup(&fx))
        return;
    first = tn_test_scalar(&fx,
                           "SELECT snapshot_id FROM \"t$snapshots\" ORDER BY committed_at LIMIT 1");
    CHECK_SCALAR(&fx, "SELECT count(*) FROM t a JOIN t AS b(x, y) ON a.id = b.x", "20");
    if (first) {
        char *sql = tn_asprintf("SELECT (SELECT count(*) FROM t AT (VERSION => %s)) || '/' || "
                                "(SELECT count(*) FROM t)",
                                first);
        CHECK_SCALAR(&fx, sql, "10/20");
        free(sql);
    }
    CHECK_SCALAR(&fx, "SELECT '__tn_relation_0 \"__tn_relation_x\"' || count(*) FROM t",
                 "__tn_relation_0 \"__tn_relation_x\"20");
    free(first);
    tn_test_warehouse_close(&fx);
}

/* Whether "sql" fails (resolving or running it). */
static int query_fails(struct fixture *fx, const char *sql)
{
    struct tn_err err = {0};
    char *resolved = NULL;
    struct tn_rows *r = NULL;
    int failed = tn_query_resolve(fx->wh, fx->s, sql, NULL, &resolved, &err) ||
                 tn_engine_rows(fx->s, resolved, 10, &r, &err);

    tn_rows_free(r);
    free(resolved);
    return failed;
}

/* A repeated statement reuses its resolution while its tables are unchanged, and never once a
 * table changed, appeared or went away. */
static void test_resolved_statements_kept(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_write_options w = {.mode = TN_WRITE_APPEND};
    struct tn_commit_result res;
    struct tn_plan_cache_stats a, b;
    json_t *schema = json_loads("{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,"
                                "\"name\":\"k\",\"required\":false,\"type\":\"int\"}]}",
                                0, NULL);

    if (setup(&fx)) {
        json_decref(schema);
        return;
    }
    CHECK_SCALAR(&fx, "SELECT count(*) || ',' || sum(id) FROM t", "20,190");
    tn_warehouse_plan_cache_stats(fx.wh, &a);
    CHECK_SCALAR(&fx, "SELECT count(*) || ',' || sum(id) FROM t", "20,190");
    tn_warehouse_plan_cache_stats(fx.wh, &b);
    CHECK_INT_EQ(b.misses - a.misses, 0); /* nothing planned again */
    CHECK_INT_EQ(b.hits - a.hits, 1);     /* the statement itself */
    CHECK_OK(tn_table_write(fx.wh, fx.s, "default", "t", "SELECT 100 AS id, 'x' AS name", &w, &res,
                            &err));
    CHECK_SCALAR(&fx, "SELECT count(*) || ',' || sum(id) FROM t", "21,290");
    /* a name that was no table becomes one: the statement must now read it */
    CHECK(query_fails(&fx, "SELECT count(*) FROM later"));
    CHECK_OK(tn_table_create(fx.wh, "default", "later", schema, NULL, NULL, &err));
    CHECK_SCALAR(&fx, "SELECT count(*) FROM later", "0");
    CHECK_OK(tn_table_drop(fx.wh, "default", "later", 1, &err));
    CHECK(query_fails(&fx, "SELECT count(*) FROM later"));
    json_decref(schema);
    tn_test_warehouse_close(&fx);
}

/* The columns of "sql" over the fixture's warehouse, as tn_query_columns gives them. */
static char *columns_of(struct fixture *fx, const char *sql)
{
    struct tn_err err = {0};
    char *resolved = NULL, *columns = NULL;

    if (tn_query_resolve(fx->wh, fx->s, sql, NULL, &resolved, &err) ||
        tn_query_columns(fx->wh, fx->s, sql, NULL, resolved, &columns, &err))
        tn_test_failed(__FILE__, __LINE__, "%s: %s", sql, err.msg);
    free(resolved);
    return columns;
}

/* A statement's columns are kept with its resolution, and follow the table when it changes;
 * a statement that reads a table function is described every time. */
static void test_query_columns_follow_the_table(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    const char *sql = "SELECT * FROM t";
    const char *both = "SELECT * FROM t, range(1) AS r(x) LIMIT 1";
    struct tn_alter_result ar;
    char *c;

    if (setup(&fx))
        return;
    for (int i = 0; i < 2; i++) {
        c = columns_of(&fx, sql);
        CHECK_STR_EQ(c, "[{\"name\":\"id\",\"type\":\"BIGINT\"},"
                        "{\"name\":\"name\",\"type\":\"VARCHAR\"}]");
        free(c);
        c = columns_of(&fx, both);
        CHECK(c && strstr(c, "{\"name\":\"x\",\"type\":\"BIGINT\"}]"));
        free(c);
    }
    CHECK_OK(tn_table_alter(fx.wh, fx.s, "ALTER TABLE t ADD COLUMN score DOUBLE", &ar, &err));
    c = columns_of(&fx, sql);
    CHECK(c && strstr(c, ",{\"name\":\"score\",\"type\":\"DOUBLE\"}]"));
    free(c);
    CHECK_OK(tn_table_alter(fx.wh, fx.s, "ALTER TABLE t RENAME COLUMN score TO points", &ar, &err));
    c = columns_of(&fx, both);
    CHECK(c && strstr(c, "{\"name\":\"points\",\"type\":\"DOUBLE\"},{\"name\":\"x\""));
    free(c);
    tn_test_warehouse_close(&fx);
}

/* The resolved SQL of "sql" (caller frees), or NULL after a failed check. */
static char *resolved_sql(struct fixture *fx, const char *sql)
{
    struct tn_err err = {0};
    char *resolved = NULL;

    if (tn_query_resolve(fx->wh, fx->s, sql, NULL, &resolved, &err))
        tn_test_failed(__FILE__, __LINE__, "%s: %s", sql, err.msg);
    return resolved;
}

/* Files with the same columns and Parquet types are read without a union by name; once a
 * column is widened (int to long), old and new files are unioned by name, and a value only the
 * wide type holds reads back whole. */
static void test_union_by_name_only_when_layouts_differ(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_write_options w = {.mode = TN_WRITE_APPEND};
    struct tn_commit_result res;
    struct tn_alter_result ar;
    json_t *schema = json_loads("{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,"
                                "\"name\":\"k\",\"required\":false,\"type\":\"int\"}]}",
                                0, NULL);
    char *sql;

    if (setup(&fx)) {
        json_decref(schema);
        return;
    }
    CHECK_OK(tn_table_create(fx.wh, "default", "narrow", schema, NULL, NULL, &err));
    for (int i = 0; i < 2; i++)
        CHECK_OK(tn_table_write(fx.wh, fx.s, "default", "narrow", "SELECT 7 AS k", &w, &res, &err));
    sql = resolved_sql(&fx, "SELECT sum(k) FROM narrow");
    CHECK(sql && strstr(sql, "read_parquet([") && !strstr(sql, "union_by_name"));
    free(sql);
    CHECK_OK(
        tn_table_alter(fx.wh, fx.s, "ALTER TABLE narrow ALTER COLUMN k TYPE BIGINT", &ar, &err));
    CHECK_OK(
        tn_table_write(fx.wh, fx.s, "default", "narrow", "SELECT 5000000000 AS k", &w, &res, &err));
    sql = resolved_sql(&fx, "SELECT sum(k) FROM narrow");
    CHECK(sql && strstr(sql, "union_by_name = true"));
    free(sql);
    CHECK_SCALAR(&fx, "SELECT sum(k) || ',' || max(k) FROM narrow", "5000000014,5000000000");
    json_decref(schema);
    tn_test_warehouse_close(&fx);
}

static const struct tn_test dml_tests[] = {
    {"files of one layout are read without a union by name",
     test_union_by_name_only_when_layouts_differ},
    {"a statement's columns are kept and follow its tables", test_query_columns_follow_the_table},
    {"a repeated statement is resolved once while its tables stay unchanged",
     test_resolved_statements_kept},
    {"each table reference is its own relation in the resolved SQL", test_resolved_relations},
    {"parsed metadata is cached by location", test_metadata_cache},
    {"count(*) is answered from metadata when no deletes apply", test_count_from_metadata},
    {"DELETE and INSERT on a branch, then fast-forward", test_changes_on_a_branch},
    {"partitioned tables: one file per partition, Iceberg transforms", test_partitioned_writes},
    {"expire snapshots deletes only files nothing kept reaches", test_expire_snapshots},
    {"whole files dropped; copy-on-write rewrites touched files",
     test_whole_files_and_copy_on_write},
    {"compaction rewrites files with deletes into one, same rows", test_compaction},
    {"MERGE INTO runs as DuckDB means it, committed as deletes plus new rows", test_merge},
    {"keyed upsert replaces and inserts in one commit", test_upsert_by_key},
    {"an upsert that creates a table stores the key as identifier fields",
     test_upsert_creates_table_with_identifier_fields},
    {"DELETE writes position deletes and leaves data files", test_delete_writes_position_deletes},
    {"UPDATE rewrites only changed rows; time travel still sees the old",
     test_update_and_time_travel},
    {"row-level changes commit over appends, not over deletes", test_conflicting_changes_refused},
    {NULL, NULL},
};
TN_SUITE(dml_tests)
