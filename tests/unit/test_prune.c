/* test_prune.c - unit tests for scan planning: the plan cache (LRU by bytes, references that
 * outlive eviction, hit counters), pruning by partition values through each transform and by
 * manifest partition summaries (hand-made entries without column statistics, so only the
 * partition can prune), and min/max answered from metadata only when no deletes apply. */
#include "tn_test_table.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avro/avro.h"
#include "table/table.h"
#include "table/table_int.h"

/*---- The plan cache ----*/

static int freed;

static void count_free(void *p)
{
    freed++;
    free(p);
}

static void test_cache_lru_and_references(void)
{
    struct tn_plan_cache *c = tn__plan_cache_new(3000);
    struct tn_plan_cache_stats st;
    struct tn_cached *a, *b, *held;

    freed = 0;
    tn__plan_cache_release(c, tn__plan_cache_put(c, "a", tn_strdup("A"), 1000, count_free));
    tn__plan_cache_release(c, tn__plan_cache_put(c, "b", tn_strdup("B"), 1000, count_free));
    a = tn__plan_cache_get(c, "a"); /* "a" is now the most recently used */
    CHECK(a && strcmp(tn__plan_cached_value(a), "A") == 0);
    tn__plan_cache_release(c, a);
    /* a third entry does not fit beside both: the least recently used ("b") goes */
    held = tn__plan_cache_put(c, "c", tn_strdup("C"), 1000, count_free);
    CHECK(tn__plan_cache_get(c, "b") == NULL);
    CHECK_INT_EQ(freed, 1);
    b = tn__plan_cache_get(c, "a");
    CHECK(b != NULL);
    tn__plan_cache_release(c, b);
    /* an entry evicted while held stays valid until released */
    tn__plan_cache_release(c, tn__plan_cache_put(c, "d", tn_strdup("D"), 1000, count_free));
    tn__plan_cache_release(c, tn__plan_cache_put(c, "e", tn_strdup("E"), 1000, count_free));
    CHECK(tn__plan_cache_get(c, "c") == NULL);
    CHECK_STR_EQ((const char *)tn__plan_cached_value(held), "C");
    tn__plan_cache_release(c, held);
    /* a value larger than the cache is handed back but not kept */
    held = tn__plan_cache_put(c, "big", tn_strdup("X"), 10000, count_free);
    CHECK_STR_EQ((const char *)tn__plan_cached_value(held), "X");
    tn__plan_cache_release(c, held);
    CHECK(tn__plan_cache_get(c, "big") == NULL);
    tn__plan_cache_stats(c, &st);
    CHECK_INT_EQ(st.hits, 2);
    CHECK_INT_EQ(st.misses, 3);
    CHECK(st.bytes <= 3000 && st.entries == 2);
    tn__plan_cache_free(c);
    CHECK_INT_EQ(freed, 6);
}

/*---- Partition pruning ----*/

static const char *const schema_text =
    "{\"type\":\"struct\",\"schema-id\":0,\"fields\":["
    "{\"id\":1,\"name\":\"ts\",\"required\":false,\"type\":\"timestamp\"},"
    "{\"id\":2,\"name\":\"id\",\"required\":false,\"type\":\"long\"},"
    "{\"id\":3,\"name\":\"name\",\"required\":false,\"type\":\"string\"},"
    "{\"id\":4,\"name\":\"d\",\"required\":false,\"type\":\"date\"}]}";

/* Create table "name" partitioned by "spec" (one field) and load it. */
static struct tn_table *partitioned(struct fixture *fx, const char *name, const char *spec)
{
    struct tn_err err = {0};
    json_t *schema = json_loads(schema_text, 0, NULL);
    struct tn_table *t = NULL;

    if (tn_table_create_partitioned(fx->wh, "default", name, schema, NULL, spec, &t, &err))
        tn_test_failed(__FILE__, __LINE__, "create %s: %s", spec, err.msg);
    json_decref(schema);
    return t;
}

/* Whether a data file with partition value "pv" (and no column statistics) may match the
 * WHERE clause "where" of t; -1 on error. */
static int file_may_match(struct fixture *fx, const struct tn_table *t, struct tn_pvalue pv,
                          const char *where)
{
    struct tn_err err = {0};
    char *sql = tn_asprintf("SELECT * FROM t WHERE %s", where);
    json_t *tree = tn_query_parse(fx->s, sql, &err);
    struct tn_manifest_entry e;
    struct tn_filter *f;
    int r;

    free(sql);
    if (!tree) {
        tn_test_failed(__FILE__, __LINE__, "%s: %s", where, err.msg);
        return -1;
    }
    memset(&e, 0, sizeof(e));
    e.spec_id = t->meta->default_spec_id;
    e.file.npartition = 1;
    e.file.partition = &pv;
    f = tn__filter_new(
        t, tn_metadata_current_schema(t->meta),
        json_object_get(
            json_object_get(json_array_get(json_object_get(tree, "statements"), 0), "node"),
            "where_clause"),
        "t");
    r = tn__filter_file(f, t, &e);
    tn__filter_free(f);
    json_decref(tree);
    return r;
}

static struct tn_pvalue int_value(int64_t v)
{
    struct tn_pvalue pv;

    memset(&pv, 0, sizeof(pv));
    pv.kind = TN_AVRO_INT;
    pv.i = v;
    return pv;
}

static struct tn_pvalue string_value(const char *s)
{
    struct tn_pvalue pv;

    memset(&pv, 0, sizeof(pv));
    pv.kind = TN_AVRO_STRING;
    pv.bytes.p = (unsigned char *)s;
    pv.bytes.n = strlen(s);
    return pv;
}

static void test_partition_transforms_prune(void)
{
    struct fixture fx;
    struct tn_table *t;
    struct tn_pvalue null_value;
    char *bucket;
    int64_t b42 = -1;

    if (tn_test_warehouse_open(&fx))
        return;
    memset(&null_value, 0, sizeof(null_value));
    null_value.is_null = 1;
    /* a file of 2026-03-15 10:xx (day 20527, hour 492658, month 674, year 56) */
    t = partitioned(&fx, "pd", "day(ts)");
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(20527), "ts >= '2026-03-15 23:59:59'"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(20527), "ts >= '2026-03-16'"), 0);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(20527), "ts < '2026-03-15'"), 0);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(20527), "ts <= '2026-03-15'"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(20527),
                                "ts BETWEEN '2026-03-01' AND '2026-03-14 23:00:00'"),
                 0);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(20527),
                                "ts IN ('2026-01-01 00:00:00', '2026-03-15 08:00:00')"),
                 1);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(20527),
                                "ts IN ('2026-01-01 00:00:00', '2026-03-16 08:00:00')"),
                 0);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(20527), "ts IS NULL"), 0);
    CHECK_INT_EQ(file_may_match(&fx, t, null_value, "ts IS NULL"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, null_value, "ts > '2000-01-01'"), 0);
    CHECK_INT_EQ(file_may_match(&fx, t, null_value, "ts IS NOT NULL"), 0);
    /* OR: one side that may match keeps the file; an unknown side keeps it too */
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(20527), "ts < '2026-01-01' OR ts > '2026-03-15'"),
                 1);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(20527), "ts < '2026-01-01' OR ts > '2026-03-16'"),
                 0);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(20527), "ts < '2026-01-01' OR id = 1"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(20527), "ts < '2026-01-01' AND id = 1"), 0);
    tn_table_free(t);

    t = partitioned(&fx, "ph", "hour(ts)");
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(492658), "ts > '2026-03-15 10:59:59'"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(492658), "ts >= '2026-03-15 11:00:00'"), 0);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(492658), "ts < '2026-03-15 10:00:01'"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(492658), "ts < '2026-03-15 10:00:00'"), 0);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(492658), "ts < '2026-03-15 09:00:00'"), 0);
    /* a cast that changes the value is not followed: DATE of a timestamp drops its time */
    CHECK_INT_EQ(
        file_may_match(&fx, t, int_value(492657), "ts >= CAST('2026-03-15 10:00:00' AS DATE)"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(492657), "ts >= TIMESTAMP '2026-03-15 10:00:00'"),
                 0);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(492657), "ts < DATE '2026-03-15'"), 0);
    tn_table_free(t);

    t = partitioned(&fx, "pm", "month(ts)");
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(674), "ts >= '2026-03-31 23:00:00'"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(674), "ts >= '2026-04-01'"), 0);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(674), "ts < '2026-03-01'"), 0);
    tn_table_free(t);

    t = partitioned(&fx, "py", "year(ts)");
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(56), "ts > '2026-12-31 00:00:00'"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(56), "ts > '2027-01-01 00:00:00'"), 0);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(56), "ts = '2025-06-01 00:00:00'"), 0);
    tn_table_free(t);

    t = partitioned(&fx, "pdd", "month(d)");
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(674), "d = DATE '2026-03-31'"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(674), "d = DATE '2026-04-01'"), 0);
    tn_table_free(t);

    /* bucket: only equality prunes; the bucket of 42 comes from the engine's own function */
    bucket = tn_query_value(fx.s, "SELECT tn_iceberg_bucket(42::BIGINT, 8)", &(struct tn_err){0});
    CHECK(bucket && !tn_parse_i64(bucket, &b42));
    free(bucket);
    t = partitioned(&fx, "pb", "bucket(8, id)");
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(b42), "id = 42"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value((b42 + 1) % 8), "id = 42"), 0);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value((b42 + 1) % 8), "id IN (42, 42)"), 0);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value((b42 + 1) % 8), "id > 42"), 1);
    tn_table_free(t);

    t = partitioned(&fx, "pt", "truncate(2, name)");
    CHECK_INT_EQ(file_may_match(&fx, t, string_value("ab"), "name = 'abz'"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, string_value("ab"), "name = 'ac'"), 0);
    CHECK_INT_EQ(file_may_match(&fx, t, string_value("ab"), "name > 'b'"), 0);
    CHECK_INT_EQ(file_may_match(&fx, t, string_value("ab"), "name < 'aa'"), 0);
    CHECK_INT_EQ(file_may_match(&fx, t, string_value("ab"), "name < 'abc'"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, string_value("ab"), "name < 'ab'"), 0);
    tn_table_free(t);

    t = partitioned(&fx, "pti", "truncate(10, id)");
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(-10), "id = -1"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(-10), "id = 0"), 0);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(-10), "id >= -10"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(-10), "id < -9"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, int_value(-10), "id < -10"), 0);
    tn_table_free(t);

    t = partitioned(&fx, "pi", "name");
    CHECK_INT_EQ(file_may_match(&fx, t, string_value("eu"), "name = 'eu'"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, string_value("eu"), "name = 'us'"), 0);
    CHECK_INT_EQ(file_may_match(&fx, t, string_value("eu"), "name IN ('us', 'eu')"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, string_value("eu"), "name IN ('us', 'asia')"), 0);
    CHECK_INT_EQ(file_may_match(&fx, t, string_value("eu"), "name < 'eu'"), 0);
    CHECK_INT_EQ(file_may_match(&fx, t, string_value("eu"), "name <= 'eu'"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, string_value("eu"), "name <> 'eu'"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, string_value("eu"), "NOT name = 'eu'"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, string_value("eu"), "name IS NOT NULL"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, null_value, "name = 'eu' OR name IS NULL"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, null_value, "name = 'eu' OR name = 'us'"), 0);
    /* void (every value null) and transforms tarn does not know prune nothing */
    t->meta->specs[0].fields[0].transform = "void";
    CHECK_INT_EQ(file_may_match(&fx, t, null_value, "name = 'eu'"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, null_value, "name IS NOT NULL"), 1);
    t->meta->specs[0].fields[0].transform = "zorder[3]";
    CHECK_INT_EQ(file_may_match(&fx, t, string_value("eu"), "name = 'us'"), 1);
    CHECK_INT_EQ(file_may_match(&fx, t, string_value("eu"), "name IS NULL"), 1);
    /* a partition tuple of a spec the table does not have is not used */
    t->meta->specs[0].fields[0].transform = "identity";
    t->meta->specs[0].spec_id = 77;
    CHECK_INT_EQ(file_may_match(&fx, t, string_value("eu"), "name = 'us'"), 1);
    tn_table_free(t);
    tn_test_warehouse_close(&fx);
}

/* A manifest whose day(ts) partitions span days [lo, hi]. */
static int manifest_may_match(struct fixture *fx, const struct tn_table *t, int32_t lo, int32_t hi,
                              int contains_null, const char *where)
{
    unsigned char lb[4], ub[4];
    struct tn_field_summary fs;
    struct tn_manifest_file mf;
    char *sql = tn_asprintf("SELECT * FROM t WHERE %s", where);
    json_t *tree = tn_query_parse(fx->s, sql, &(struct tn_err){0});
    struct tn_filter *f;
    int r;

    free(sql);
    for (int i = 0; i < 4; i++) {
        lb[i] = (unsigned char)((uint32_t)lo >> (8 * i));
        ub[i] = (unsigned char)((uint32_t)hi >> (8 * i));
    }
    memset(&fs, 0, sizeof(fs));
    fs.contains_null = contains_null;
    fs.contains_nan = -1;
    fs.lower.p = lb;
    fs.lower.n = 4;
    fs.upper.p = ub;
    fs.upper.n = 4;
    memset(&mf, 0, sizeof(mf));
    mf.spec_id = t->meta->default_spec_id;
    mf.has_partitions = 1;
    mf.npartitions = 1;
    mf.partitions = &fs;
    mf.added_files = 1;
    f = tn__filter_new(
        t, tn_metadata_current_schema(t->meta),
        json_object_get(
            json_object_get(json_array_get(json_object_get(tree, "statements"), 0), "node"),
            "where_clause"),
        "t");
    r = tn__filter_manifest(f, t, &mf);
    mf.content = 1; /* delete manifests are never skipped */
    if (tn__filter_manifest(f, t, &mf) != 1)
        r = -1;
    tn__filter_free(f);
    json_decref(tree);
    return r;
}

static void test_manifest_summaries_prune(void)
{
    struct fixture fx;
    struct tn_table *t;

    if (tn_test_warehouse_open(&fx))
        return;
    t = partitioned(&fx, "pd", "day(ts)");
    /* days 20527..20529: 2026-03-15 .. 2026-03-17 */
    CHECK_INT_EQ(manifest_may_match(&fx, t, 20527, 20529, 0, "ts >= '2026-03-17 12:00:00'"), 1);
    CHECK_INT_EQ(manifest_may_match(&fx, t, 20527, 20529, 0, "ts >= '2026-03-18'"), 0);
    CHECK_INT_EQ(manifest_may_match(&fx, t, 20527, 20529, 0, "ts < '2026-03-15'"), 0);
    CHECK_INT_EQ(manifest_may_match(&fx, t, 20527, 20529, 0, "ts = '2026-03-16 01:00:00'"), 1);
    CHECK_INT_EQ(manifest_may_match(&fx, t, 20527, 20529, 0, "ts IS NULL"), 0);
    CHECK_INT_EQ(manifest_may_match(&fx, t, 20527, 20529, 1, "ts IS NULL"), 1);
    CHECK_INT_EQ(manifest_may_match(&fx, t, 20527, 20529, 0, "id = 3"), 1);
    tn_table_free(t);
    tn_test_warehouse_close(&fx);
}

/*---- Planning through the cache, and min/max from metadata ----*/

static void test_second_plan_reads_no_manifest(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_write_options w = {.mode = TN_WRITE_APPEND};
    struct tn_commit_result res;
    struct tn_plan_cache_stats before, after;
    struct tn_table *t = NULL;
    struct tn_scan *scan = NULL;

    if (tn_test_warehouse_open(&fx))
        return;
    tn_table_free(partitioned(&fx, "c", "day(ts)"));
    CHECK_OK(tn_table_write(fx.wh, fx.s, "default", "c",
                            "SELECT TIMESTAMP '2026-01-01' + INTERVAL (range) DAY AS ts, range AS "
                            "id, 'x' AS name, NULL AS d FROM range(5)",
                            &w, &res, &err));
    CHECK_OK(tn_table_load(fx.wh, "default", "c", &t, &err));
    CHECK_OK(tn_table_scan(fx.wh, t, -1, &scan, &err));
    tn_scan_free(scan);
    tn_table_free(t);
    tn_warehouse_plan_cache_stats(fx.wh, &before);
    CHECK_OK(tn_table_load(fx.wh, "default", "c", &t, &err));
    CHECK_OK(tn_table_scan(fx.wh, t, -1, &scan, &err));
    tn_warehouse_plan_cache_stats(fx.wh, &after);
    CHECK_INT_EQ(after.misses, before.misses); /* metadata, list and manifest all hits */
    CHECK_INT_EQ(after.hits, before.hits + 3);
    CHECK_INT_EQ((int64_t)scan->ndata, 5);
    CHECK_INT_EQ(scan->stats.manifests_kept, 1);
    tn_scan_free(scan);
    tn_table_free(t);
    tn_test_warehouse_close(&fx);
}

/* The first row of "sql" as "a|b|c", and whether metadata answered it (caller frees). */
static char *row_of(struct fixture *fx, const char *sql, int *answered)
{
    struct tn_err err = {0};
    struct tn_query_options qo = {
        .snapshot_id = -1, .as_of_ms = -1, .target_snapshot = -1, .plan = json_array()};
    struct tn_buf b = TN_BUF_INIT(0);
    struct tn_rows *r = NULL;
    char *resolved = NULL;

    if (tn_query_resolve(fx->wh, fx->s, sql, &qo, &resolved, &err) ||
        tn_engine_rows(fx->s, resolved, 10, &r, &err)) {
        tn_test_failed(__FILE__, __LINE__, "%s: %s", sql, err.msg);
    } else {
        for (size_t c = 0; c < r->ncols; c++)
            tn_buf_addf(&b, NULL, "%s%s", c ? "|" : "",
                        tn_rows_get(r, 0, c) ? tn_rows_get(r, 0, c) : "NULL");
    }
    *answered = json_is_true(json_object_get(json_array_get(qo.plan, 0), "answered_from_metadata"));
    json_decref(qo.plan);
    tn_rows_free(r);
    free(resolved);
    return tn_buf_detach(&b, NULL);
}

static void test_min_max_from_metadata(void)
{
    struct fixture fx;
    struct tn_err err = {0};
    struct tn_write_options w = {.mode = TN_WRITE_APPEND};
    struct tn_commit_result res;
    struct tn_dml_result dr;
    const char *q = "SELECT min(id), max(id), min(ts) AS first, max(d), count(*) FROM m";
    json_t *schema;
    char *v;
    int answered = 0;

    if (tn_test_warehouse_open(&fx))
        return;
    schema = json_loads(schema_text, 0, NULL);
    CHECK_OK(tn_table_create(fx.wh, "default", "m", schema, NULL, NULL, &err));
    json_decref(schema);
    for (int i = 0; i < 4; i++) {
        char *sql = tn_asprintf("SELECT TIMESTAMP '2026-01-01 06:00:00' + INTERVAL %d DAY AS ts, "
                                "unnest([%d, %d]) AS id, 'x' AS name, NULL AS d",
                                i, i * 10 - 5, i * 10);
        CHECK_OK(tn_table_write(fx.wh, fx.s, "default", "m", sql, &w, &res, &err));
        free(sql);
    }
    v = row_of(&fx, q, &answered);
    CHECK_STR_EQ(v, "-5|30|2026-01-01 06:00:00|NULL|8");
    CHECK_INT_EQ(answered, 1);
    free(v);
    /* strings may have truncated bounds: DuckDB reads the files */
    free(row_of(&fx, "SELECT max(name) FROM m", &answered));
    CHECK_INT_EQ(answered, 0);
    /* with deletes the files are read, and the answer follows the deletes */
    CHECK_OK(tn_table_dml(fx.wh, fx.s, "DELETE FROM m WHERE id = 30", NULL, &dr, &err));
    v = row_of(&fx, q, &answered);
    CHECK_STR_EQ(v, "-5|25|2026-01-01 06:00:00|NULL|7");
    CHECK_INT_EQ(answered, 0);
    free(v);
    tn_test_warehouse_close(&fx);
}

static const struct tn_test prune_tests[] = {
    {"plan cache: LRU by bytes, held entries outlive eviction", test_cache_lru_and_references},
    {"partition values prune through each transform", test_partition_transforms_prune},
    {"manifests are skipped by their partition summaries", test_manifest_summaries_prune},
    {"planning an unchanged table again reads no file", test_second_plan_reads_no_manifest},
    {"min/max from exact bounds, not when deletes apply", test_min_max_from_metadata},
    {NULL, NULL},
};
TN_SUITE(prune_tests)
