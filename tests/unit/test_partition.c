/* test_partition.c - unit tests for partition evolution (src/table/partition.c) and the
 * housekeeping actions (src/maint/housekeeping.c): spec parsing and its errors, field ids across
 * specs, reads over several specs, rewrite_manifests, remove_orphans, the metadata-log limit. */
#include "tn_test_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "table/table.h"
#include "table/table_int.h"

/* A warehouse with table p (id long, ts timestamp, region string) partitioned by month(ts). */
static int setup(struct fixture *fx)
{
    struct tn_err err = {0};
    struct tn_ingest_options opt = {
        .mode = TN_WRITE_APPEND, .evolve = TN_EVOLVE_ADD, .partition_by = "month(ts)"};
    struct tn_ingest_result res;
    int rc;

    if (tn_test_warehouse_open(fx))
        return -1;
    rc = tn_table_ingest_opts(fx->wh, fx->s, "default", "p",
                              "SELECT range AS id, TIMESTAMP '2024-01-01 10:00:00' + "
                              "INTERVAL (range * 20) DAY AS ts, 'r' || (range % 2) AS region "
                              "FROM range(1, 5)",
                              &opt, &res, &err);
    if (!rc)
        tn_ingest_result_release(&res);
    else
        tn_test_failed(__FILE__, __LINE__, "setup: %s", err.msg);
    return rc;
}

static int append(struct fixture *fx, const char *select_sql)
{
    struct tn_err err = {0};
    struct tn_write_options w = {.mode = TN_WRITE_APPEND};
    struct tn_commit_result res;
    int rc = tn_table_write(fx->wh, fx->s, "default", "p", select_sql, &w, &res, &err);

    if (rc)
        tn_test_failed(__FILE__, __LINE__, "append: %s", err.msg);
    return rc;
}

static void test_spec_text_is_checked(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_table *t = NULL;
    static const struct {
        const char *text, *message;
    } bad[] = {
        {"day(nosuch)", "'nosuch' is not a column"},
        {"day(region)", "needs a date or timestamp column"},
        {"hour(id)", "needs a timestamp column"},
        {"bucket(0, id)", "width from 1 to 1000000"},
        {"bucket(1000001, id)", "width from 1 to 1000000"},
        {"bucket(16x, id)", "width from 1 to 1000000"},
        {"truncate(3, ts)", "cannot partition column 'ts'"},
        {"month(5, ts)", "takes one column"},
        {"zorder(id)", "unknown partition transform"},
        {"id, id", "appears twice"},
        {"id,", "empty partition field"},
        {"day(ts", "unbalanced parentheses"},
    };

    if (setup(&fx))
        return;
    CHECK_OK(tn_table_load(fx.wh, "default", "p", &t, &err));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *fields = NULL;
        CHECK_INT_EQ(
            tn__spec_parse(bad[i].text, tn_metadata_current_schema(t->meta), &fields, &err),
            TN_EINPUT);
        CHECK_CONTAINS(err.msg, bad[i].message);
        CHECK_INT_EQ(tn_table_set_partitioning(fx.wh, "default", "p", bad[i].text, NULL, &err),
                     TN_EINPUT);
    }
    {
        /* every transform that fits its column, void on anything */
        json_t *fields = NULL;
        CHECK_OK(tn__spec_parse("year(ts), months(ts), day(ts), hour(ts), bucket(id, 8), "
                                "truncate(2, region), void(region), region",
                                tn_metadata_current_schema(t->meta), &fields, &err));
        CHECK_INT_EQ(json_array_size(fields), 8);
        CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(fields, 4), "transform")),
                     "bucket[8]");
        CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(fields, 6), "name")),
                     "region_null");
        json_decref(fields);
    }
    tn_table_free(t);
    t = NULL;
    /* the errors committed nothing: still one spec, and the ingest that created the table with
       its rows is its only metadata version */
    CHECK_OK(tn_table_load(fx.wh, "default", "p", &t, &err));
    CHECK_INT_EQ(t->meta->nspecs, 1);
    CHECK_INT_EQ(json_array_size(json_object_get(t->meta->root, "metadata-log")), 0);
    tn_table_free(t);
    tn_test_warehouse_close(&fx);
}

static void test_evolution_keeps_field_ids(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_table *t = NULL;
    int spec_id = -1;

    if (setup(&fx))
        return;
    CHECK_OK(
        tn_table_set_partitioning(fx.wh, "default", "p", "day(ts), bucket(4, id)", &spec_id, &err));
    CHECK_INT_EQ(spec_id, 1);
    if (append(&fx, "SELECT 10 AS id, TIMESTAMP '2024-06-01 08:00:00' AS ts, 'r0' AS region"))
        goto out;
    CHECK_OK(
        tn_table_set_partitioning(fx.wh, "default", "p", "month(ts), void(id)", &spec_id, &err));
    CHECK_INT_EQ(spec_id, 2);
    if (append(&fx, "SELECT 11 AS id, TIMESTAMP '2024-07-01 08:00:00' AS ts, 'r1' AS region"))
        goto out;
    CHECK_OK(tn_table_load(fx.wh, "default", "p", &t, &err));
    {
        const struct tn_spec *s1 = tn_metadata_spec(t->meta, 1);
        const struct tn_spec *s2 = tn_metadata_spec(t->meta, 2);
        CHECK(s1 && s2);
        if (s1 && s2) {
            CHECK_INT_EQ(s1->fields[0].field_id, 1001); /* new: after last-partition-id 1000 */
            CHECK_INT_EQ(s1->fields[1].field_id, 1002);
            CHECK_INT_EQ(s2->fields[0].field_id, 1000); /* month(ts) from spec 0 */
            CHECK_INT_EQ(s2->fields[1].field_id, 1003);
            CHECK_STR_EQ(s2->fields[1].transform, "void");
        }
        CHECK_INT_EQ(t->meta->last_partition_id, 1003);
        CHECK_INT_EQ(t->meta->default_spec_id, 2);
        CHECK_INT_EQ(t->meta->nsnapshots, 3); /* evolution itself adds no snapshot */
    }
    tn_table_free(t);
    t = NULL;
    /* the same spec again: a no-op; an earlier one: reused */
    CHECK_OK(
        tn_table_set_partitioning(fx.wh, "default", "p", "month(ts), void(id)", &spec_id, &err));
    CHECK_INT_EQ(spec_id, 2);
    CHECK_OK(tn_table_set_partitioning(fx.wh, "default", "p", "month(ts)", &spec_id, &err));
    CHECK_INT_EQ(spec_id, 0);
    CHECK_OK(tn_table_set_partitioning(fx.wh, "default", "p", NULL, &spec_id, &err));
    CHECK_INT_EQ(spec_id, 3);
    CHECK_OK(tn_table_set_partitioning(fx.wh, "default", "p", "  ", &spec_id, &err));
    CHECK_INT_EQ(spec_id, 3); /* blank is unpartitioned too: the same spec */
    if (append(&fx, "SELECT 12 AS id, TIMESTAMP '2024-08-01 08:00:00' AS ts, 'r0' AS region"))
        goto out;
    /* reads over four specs, with filters on the source columns */
    CHECK_SCALAR(&fx, "SELECT count(*) || ',' || sum(id) FROM p", "7,43");
    CHECK_SCALAR(&fx,
                 "SELECT string_agg(id::VARCHAR, ' ' ORDER BY id) FROM p WHERE ts >= "
                 "'2024-02-01'",
                 "2 3 4 10 11 12");
    CHECK_SCALAR(&fx,
                 "SELECT string_agg(DISTINCT spec_id::VARCHAR, ' ' ORDER BY spec_id::VARCHAR) "
                 "FROM \"p$files\"",
                 "0 1 2 3");
out:
    tn_table_free(t);
    tn_test_warehouse_close(&fx);
}

static void test_rewrite_manifests_and_compact(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_rewrite_manifests_result mr;
    struct tn_compact_result cr;

    if (setup(&fx))
        return;
    for (int i = 0; i < 3; i++)
        if (append(&fx, "SELECT 20 AS id, TIMESTAMP '2024-01-05 00:00:00' AS ts, 'x' AS region"))
            goto out;
    CHECK_OK(tn_table_set_partitioning(fx.wh, "default", "p", "bucket(2, id)", NULL, &err));
    for (int i = 0; i < 2; i++)
        if (append(&fx, "SELECT 30 AS id, TIMESTAMP '2024-03-05 00:00:00' AS ts, 'y' AS region"))
            goto out;
    CHECK_OK(tn_table_rewrite_manifests(fx.wh, "default", "p", &mr, &err));
    CHECK_INT_EQ(mr.manifests_before, 6);
    CHECK_INT_EQ(mr.manifests_after, 2);
    CHECK_SCALAR(&fx, "SELECT count(*) || ',' || sum(id) FROM p", "9,130");
    CHECK_SCALAR(&fx, "SELECT count(*) FROM \"p$manifests\"", "2");
    /* the month of 2024-01 has four small files (one from the create), bucket 30 two */
    CHECK_OK(tn_table_compact(fx.wh, fx.s, "default", "p", 0, &cr, &err));
    CHECK_INT_EQ(cr.files_rewritten, 6);
    CHECK_SCALAR(&fx, "SELECT count(*) || ',' || sum(id) FROM p", "9,130");
    CHECK_SCALAR(&fx, "SELECT count(*) FROM \"p$files\" WHERE spec_id = 1", "2");
out:
    tn_test_warehouse_close(&fx);
}

static void test_remove_orphans(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_orphans_result r;
    char *junk, *young;
    FILE *f;
    struct stat sb;

    if (setup(&fx))
        return;
    junk = tn_asprintf("%s/default/p/data/junk.parquet", fx.dir);
    young = tn_asprintf("%s/default/p/metadata/young.avro", fx.dir);
    f = fopen(junk, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    f = fopen(young, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    /* a margin in the past: both files are too new */
    CHECK_OK(tn_table_remove_orphans(fx.wh, "default", "p", tn_now_ms() - 3600000, 0, &r, &err));
    CHECK_INT_EQ(r.files_found, 0);
    CHECK_INT_EQ(r.files_too_new, 2);
    tn_orphans_result_release(&r);
    /* a dry run lists them and deletes nothing */
    CHECK_OK(tn_table_remove_orphans(fx.wh, "default", "p", tn_now_ms() + 1000, 1, &r, &err));
    CHECK_INT_EQ(r.files_found, 2);
    CHECK_INT_EQ(r.files_deleted, 0);
    CHECK_INT_EQ(json_array_size(r.paths), 2);
    CHECK(stat(junk, &sb) == 0);
    tn_orphans_result_release(&r);
    CHECK_OK(tn_table_remove_orphans(fx.wh, "default", "p", tn_now_ms() + 1000, 0, &r, &err));
    CHECK_INT_EQ(r.files_deleted, 2);
    CHECK(stat(junk, &sb) != 0 && stat(young, &sb) != 0);
    tn_orphans_result_release(&r);
    CHECK_SCALAR(&fx, "SELECT count(*) FROM p", "4");
    CHECK_INT_EQ(tn_table_remove_orphans(fx.wh, "default", "nope", 0, 0, &r, &err), TN_ENOTABLE);
    tn_orphans_result_release(&r);
    free(junk);
    free(young);
    tn_test_warehouse_close(&fx);
}

static void test_metadata_log_limit(void)
{
    json_t *root =
        json_pack("{s:{s:s}}", "properties", "write.metadata.previous-versions-max", "3");

    CHECK_INT_EQ(tn_metadata_previous_max(root), 3);
    for (int i = 0; i < 10; i++) {
        char name[32];
        snprintf(name, sizeof(name), "file:///m/%d.json", i);
        tn_metadata_log_append(root, name, i);
    }
    CHECK_INT_EQ(json_array_size(json_object_get(root, "metadata-log")), 3);
    CHECK_STR_EQ(json_string_value(json_object_get(
                     json_array_get(json_object_get(root, "metadata-log"), 0), "metadata-file")),
                 "file:///m/7.json");
    json_object_set_new(json_object_get(root, "properties"), "write.metadata.previous-versions-max",
                        json_string("0"));
    CHECK_INT_EQ(tn_metadata_previous_max(root), 100); /* out of range: the default */
    json_object_del(root, "properties");
    CHECK_INT_EQ(tn_metadata_previous_max(root), 100);
    json_decref(root);
}

static const struct tn_test partition_tests[] = {
    {"partition spec text: every transform, every error, nothing committed",
     test_spec_text_is_checked},
    {"evolution keeps field ids, reuses specs, reads across four specs",
     test_evolution_keeps_field_ids},
    {"rewrite_manifests merges per spec; compaction per partition",
     test_rewrite_manifests_and_compact},
    {"remove_orphans: margin, dry run, deletes only unreferenced files", test_remove_orphans},
    {"metadata log honours write.metadata.previous-versions-max", test_metadata_log_limit},
    {NULL, NULL},
};
TN_SUITE(partition_tests)
