/* test_delta.c - the Delta log (src/delta/log.c): which names in _delta_log count, the replay
 * of commits (removes before adds, keyed by path and deletion vector), checkpoints (classic,
 * multi-part, a log that starts at one), and the protocol check; on copies of
 * ../shared/delta-fixtures inside a scratch warehouse. */
#include "delta/delta.h"
#include "tn_test.h"
#include "tn_test_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copy fixture "name" into the warehouse of "fx"; its location, or NULL (the test skips). */
static char *fixture(struct fixture *fx, const char *name)
{
    const char *shared = tn_test_shared_dir();
    char *cmd, *dest;
    int rc;

    if (!shared) {
        tn_test_skip("../shared/delta-fixtures is absent");
        return NULL;
    }
    dest = tn_asprintf("%s/%s", fx->dir, name);
    cmd = tn_asprintf("cp -r '%s/delta-fixtures/%s' '%s'", shared, name, dest);
    rc = system(cmd);
    free(cmd);
    if (rc != 0) {
        tn_test_failed(__FILE__, __LINE__, "copying fixture %s", name);
        free(dest);
        return NULL;
    }
    return dest;
}

static void names(void)
{
    int64_t v = -1;
    size_t parts = 0;

    CHECK_INT_EQ(tn_delta_name_parse("00000000000000000012.json", &v, &parts), TN_DELTA_COMMIT);
    CHECK_INT_EQ(v, 12);
    CHECK_INT_EQ(tn_delta_name_parse("00000000000000000010.checkpoint.parquet", &v, &parts),
                 TN_DELTA_CHECKPOINT);
    CHECK_INT_EQ(parts, 1);
    CHECK_INT_EQ(tn_delta_name_parse(
                     "00000000000000000010.checkpoint.0000000002.0000000003.parquet", &v, &parts),
                 TN_DELTA_CHECKPOINT);
    CHECK_INT_EQ(parts, 3);
    CHECK_INT_EQ(tn_delta_name_parse(
                     "00000000000000000007.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json",
                     &v, &parts),
                 TN_DELTA_CHECKPOINT);
    CHECK_INT_EQ(v, 7);
    CHECK_INT_EQ(tn_delta_name_parse("00000000000000000012.crc", &v, &parts), TN_DELTA_OTHER);
    CHECK_INT_EQ(tn_delta_name_parse("_last_checkpoint", &v, &parts), TN_DELTA_OTHER);
    CHECK_INT_EQ(tn_delta_name_parse("00000000000000000012.json.tmp", &v, &parts), TN_DELTA_OTHER);
    CHECK_INT_EQ(tn_delta_name_parse("0000000000000000012.json", &v, &parts), TN_DELTA_OTHER);
    CHECK_INT_EQ(tn_delta_name_parse("0000000000000000001a.json", &v, &parts), TN_DELTA_OTHER);
    CHECK_INT_EQ(
        tn_delta_name_parse("00000000000000000010.checkpoint.0000000002.parquet", &v, &parts),
        TN_DELTA_OTHER);
}

static size_t nfiles(const struct tn_delta_state *s)
{
    return json_object_size(s->files);
}

static void replay_rules(void)
{
    struct tn_delta_state s;
    struct tn_err err = {0};
    json_t *info = NULL;
    const char *v0 = "{\"commitInfo\":{\"timestamp\":5}}\n"
                     "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n\n"
                     "{\"metaData\":{\"schemaString\":\"{}\",\"partitionColumns\":[]}}\n"
                     "{\"add\":{\"path\":\"a.parquet\",\"size\":1}}\n"
                     "{\"add\":{\"path\":\"b.parquet\",\"size\":1}}\r\n";
    /* the add comes first in the text, the remove of the same path after: removes apply first */
    const char *v1 = "{\"add\":{\"path\":\"a.parquet\",\"size\":2,\"deletionVector\":"
                     "{\"storageType\":\"i\",\"pathOrInlineDv\":\"x\",\"offset\":1}}}\n"
                     "{\"remove\":{\"path\":\"a.parquet\"}}\n"
                     "{\"remove\":{\"path\":\"b.parquet\",\"deletionVector\":"
                     "{\"storageType\":\"u\",\"pathOrInlineDv\":\"y\",\"offset\":1}}}";

    tn_delta_state_init(&s);
    CHECK_INT_EQ(tn_delta_apply_text(v0, strlen(v0), &s, &info, &err), 0);
    CHECK_INT_EQ(nfiles(&s), 2);
    CHECK(s.protocol && s.metadata);
    CHECK_INT_EQ(json_integer_value(json_object_get(info, "timestamp")), 5);
    json_decref(info);
    CHECK_INT_EQ(tn_delta_apply_text(v1, strlen(v1), &s, NULL, &err), 0);
    CHECK_INT_EQ(nfiles(&s), 2);
    /* a.parquet is the new add, with its deletion vector */
    CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(s.files, "a.parquet"), "size")),
                 2);
    /* a remove naming another deletion vector than the live one's leaves it live */
    CHECK(json_object_get(s.files, "b.parquet") != NULL);
    {
        const char *v2 = "{\"remove\":{\"path\":\"a.parquet\",\"deletionVector\":"
                         "{\"storageType\":\"i\",\"pathOrInlineDv\":\"x\",\"offset\":1}}}";
        CHECK_INT_EQ(tn_delta_apply_text(v2, strlen(v2), &s, NULL, &err), 0);
        CHECK_INT_EQ(nfiles(&s), 1);
    }
    {
        const char *bad = "{\"add\":{\"path\":\"c\"}}\n{\"add\": {\"path\": \"d\",\n";
        CHECK_INT_EQ(tn_delta_apply_text(bad, strlen(bad), &s, NULL, &err), TN_EINPUT);
        CHECK_CONTAINS(err.msg, "line 2");
        CHECK_INT_EQ(nfiles(&s), 1); /* a damaged commit applies nothing */
    }
    tn_delta_state_release(&s);
}

static void protocol_check(void)
{
    struct tn_err err = {0};
    json_t *p = json_loads("{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":"
                           "[\"deletionVectors\",\"columnMapping\",\"timestampNtz\"]}",
                           0, NULL);

    CHECK_INT_EQ(tn_delta_protocol_check(p, &err), 0);
    json_array_append_new(json_object_get(p, "readerFeatures"), json_string("variantType"));
    CHECK_INT_EQ(tn_delta_protocol_check(p, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "'variantType'");
    json_object_set_new(p, "minReaderVersion", json_integer(4));
    CHECK_INT_EQ(tn_delta_protocol_check(p, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "reader version 4");
    json_decref(p);
}

/* simple_table: the uncommitted .tmp/00000000000000000005.json is not a version. */
static void tmp_commit_ignored(void)
{
    struct fixture fx;
    struct tn_delta_log log;
    struct tn_delta_state s;
    struct tn_err err = {0};
    char *loc;

    if (tn_test_warehouse_open(&fx))
        return;
    loc = fixture(&fx, "simple_table");
    if (loc && !tn_delta_log_list(fx.wh->storage, loc, &log, &err)) {
        CHECK_INT_EQ(log.ncommits, 5);
        CHECK_INT_EQ(tn_delta_log_latest(&log), 4);
        CHECK_INT_EQ(tn_delta_log_oldest(&log), 0);
        CHECK_INT_EQ(tn_delta_state_at(fx.wh, &log, 4, &s, &err), 0);
        CHECK_INT_EQ(nfiles(&s), 5);
        tn_delta_state_release(&s);
        CHECK_INT_EQ(tn_delta_state_at(fx.wh, &log, 1, &s, &err), 0);
        CHECK_INT_EQ(nfiles(&s), 22);
        tn_delta_state_release(&s);
        CHECK_INT_EQ(tn_delta_state_at(fx.wh, &log, 5, &s, &err), TN_ENOTFOUND);
        tn_delta_log_release(&log);
    } else if (loc) {
        tn_test_failed(__FILE__, __LINE__, "%s", err.msg);
    }
    free(loc);
    tn_test_warehouse_close(&fx);
}

/* table_with_deletion_logs: .crc files and _last_checkpoint are not log entries; the checkpoints
 * at 10 and 20 give the same state as the commits alone. */
static void crc_ignored_and_checkpoints(void)
{
    struct fixture fx;
    struct tn_delta_log log;
    struct tn_delta_state s;
    struct tn_err err = {0};
    char *loc;

    if (tn_test_warehouse_open(&fx))
        return;
    loc = fixture(&fx, "table_with_deletion_logs");
    if (loc && !tn_delta_log_list(fx.wh->storage, loc, &log, &err)) {
        CHECK_INT_EQ(log.ncommits, 21);
        CHECK_INT_EQ(log.ncheckpoints, 2);
        CHECK_INT_EQ(tn_delta_state_at(fx.wh, &log, 20, &s, &err), 0);
        CHECK_INT_EQ(s.version, 20);
        CHECK_INT_EQ(nfiles(&s), 1);
        /* the checkpoint's add carries the deletion vector of v4 */
        {
            const char *k;
            json_t *add;
            json_object_foreach(s.files, k, add)
            {
                CHECK_INT_EQ(json_integer_value(json_object_get(
                                 json_object_get(add, "deletionVector"), "cardinality")),
                             2);
            }
        }
        CHECK_INT_EQ(json_integer_value(json_object_get(s.protocol, "minReaderVersion")), 3);
        tn_delta_state_release(&s);
        tn_delta_log_release(&log);
    } else if (loc) {
        tn_test_failed(__FILE__, __LINE__, "%s", err.msg);
    }
    free(loc);
    tn_test_warehouse_close(&fx);
}

/* checkpoint_with_partitions: no 0.json; the checkpoint at 2 is where the log starts, and
 * version 1 cannot be rebuilt. */
static void checkpoint_only_start(void)
{
    struct fixture fx;
    struct tn_delta_log log;
    struct tn_delta_state s;
    struct tn_err err = {0};
    char *loc;

    if (tn_test_warehouse_open(&fx))
        return;
    loc = fixture(&fx, "checkpoint_with_partitions");
    if (loc && !tn_delta_log_list(fx.wh->storage, loc, &log, &err)) {
        CHECK_INT_EQ(tn_delta_log_oldest(&log), 2);
        CHECK_INT_EQ(tn_delta_log_latest(&log), 2);
        CHECK_INT_EQ(tn_delta_state_at(fx.wh, &log, 2, &s, &err), 0);
        CHECK_INT_EQ(nfiles(&s), 2);
        {
            json_t *red = json_object_get(s.files, "f62d8868-d952-4f9d-8bb2-fd4e011ebf36");
            json_t *none = json_object_get(s.files, "8ac7d8e1-daab-48ef-9d05-ec22fb4b0d2f");
            CHECK_STR_EQ(json_string_value(
                             json_object_get(json_object_get(red, "partitionValues"), "color")),
                         "red");
            CHECK(none &&
                  json_is_null(json_object_get(json_object_get(none, "partitionValues"), "color")));
        }
        tn_delta_state_release(&s);
        CHECK_INT_EQ(tn_delta_state_at(fx.wh, &log, 1, &s, &err), TN_ENOTFOUND);
        CHECK_CONTAINS(err.msg, "cannot be rebuilt");
        tn_delta_log_release(&log);
    } else if (loc) {
        tn_test_failed(__FILE__, __LINE__, "%s", err.msg);
    }
    free(loc);
    tn_test_warehouse_close(&fx);
}

/* The SQL that writes part "part" of 2 of a checkpoint at version 3 of the table at "dir". */
static char *part_sql(const char *protocol, const char *meta, const char *path, const char *dir,
                      int part)
{
    return tn_asprintf(
        "COPY (SELECT %s AS protocol, %s AS metaData, {'path': '%s', 'size': 10} AS add) TO "
        "'%s/_delta_log/00000000000000000003.checkpoint.000000000%d.0000000002.parquet' "
        "(FORMAT parquet)",
        protocol, meta, path, dir, part);
}

/* A multi-part checkpoint counts only when all its parts are there. */
static void multipart_checkpoint(void)
{
    struct fixture fx;
    struct tn_delta_log log;
    struct tn_delta_state s;
    struct tn_err err = {0};
    char *dir, *sql, *cmd;
    const char *protocol = "{'minReaderVersion': 1, 'minWriterVersion': 2}";
    const char *meta = "{'schemaString': '{}', 'partitionColumns': ['x']}";

    if (tn_test_warehouse_open(&fx))
        return;
    dir = tn_asprintf("%s/multi", fx.dir);
    cmd = tn_asprintf("mkdir -p '%s/_delta_log'", dir);
    CHECK_INT_EQ(system(cmd), 0);
    free(cmd);
    sql = part_sql(protocol, meta, "a.parquet", dir, 1);
    CHECK_INT_EQ(tn_engine_exec(fx.s, sql, &err), 0);
    free(sql);
    CHECK_INT_EQ(tn_delta_log_list(fx.wh->storage, dir, &log, &err), TN_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "holds no commit");
    /* part 2 of 2: the same columns, protocol and metadata null, one more add */
    sql = part_sql("CASE WHEN false THEN {'minReaderVersion': 1, 'minWriterVersion': 2} END",
                   "CASE WHEN false THEN {'schemaString': '{}', 'partitionColumns': ['x']} END",
                   "b.parquet", dir, 2);
    CHECK_INT_EQ(tn_engine_exec(fx.s, sql, &err), 0);
    free(sql);
    if (!tn_delta_log_list(fx.wh->storage, dir, &log, &err)) {
        CHECK_INT_EQ(tn_delta_log_oldest(&log), 3);
        CHECK_INT_EQ(tn_delta_state_at(fx.wh, &log, 3, &s, &err), 0);
        CHECK_INT_EQ(nfiles(&s), 2);
        CHECK(s.metadata != NULL);
        tn_delta_state_release(&s);
        tn_delta_log_release(&log);
    } else {
        tn_test_failed(__FILE__, __LINE__, "%s", err.msg);
    }
    free(dir);
    tn_test_warehouse_close(&fx);
}

/* A v2 checkpoint in JSON whose files are listed in a sidecar. */
static void v2_checkpoint_with_sidecar(void)
{
    struct fixture fx;
    struct tn_delta_log log;
    struct tn_delta_state s;
    struct tn_err err = {0};
    char *dir, *cmd, *sql, *path;
    FILE *f;

    if (tn_test_warehouse_open(&fx))
        return;
    dir = tn_asprintf("%s/v2", fx.dir);
    cmd = tn_asprintf("mkdir -p '%s/_delta_log/_sidecars'", dir);
    CHECK_INT_EQ(system(cmd), 0);
    free(cmd);
    path = tn_asprintf(
        "%s/_delta_log/00000000000000000002.checkpoint.3a0d65cd-4056-49b8-937b-95f9e3ee90e5.json",
        dir);
    f = fopen(path, "w");
    if (f) {
        fputs("{\"checkpointMetadata\":{\"version\":2}}\n"
              "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
              "\"readerFeatures\":[\"v2Checkpoint\"],\"writerFeatures\":[\"v2Checkpoint\"]}}\n"
              "{\"metaData\":{\"schemaString\":\"{}\",\"partitionColumns\":[]}}\n"
              "{\"sidecar\":{\"path\":\"016ae953-37a9-438e-8683-9a9a4a79a395.parquet\","
              "\"sizeInBytes\":1,\"modificationTime\":1}}\n",
              f);
        fclose(f);
    }
    sql = tn_asprintf("COPY (SELECT {'path': 'p' || i || '.parquet', 'size': 10} AS add FROM "
                      "range(3) t(i)) TO "
                      "'%s/_delta_log/_sidecars/016ae953-37a9-438e-8683-9a9a4a79a395.parquet' "
                      "(FORMAT parquet)",
                      dir);
    CHECK_INT_EQ(tn_engine_exec(fx.s, sql, &err), 0);
    if (!tn_delta_log_list(fx.wh->storage, dir, &log, &err)) {
        CHECK_INT_EQ(log.ncheckpoints, 1); /* the sidecar is not a log entry */
        CHECK_INT_EQ(tn_delta_log_oldest(&log), 2);
        CHECK_INT_EQ(tn_delta_state_at(fx.wh, &log, 2, &s, &err), 0);
        CHECK_INT_EQ(nfiles(&s), 3);
        CHECK(json_object_get(s.files, "p2.parquet") != NULL);
        CHECK_INT_EQ(tn_delta_protocol_check(s.protocol, &err), 0);
        tn_delta_state_release(&s);
        tn_delta_log_release(&log);
    } else {
        tn_test_failed(__FILE__, __LINE__, "%s", err.msg);
    }
    free(sql);
    free(path);
    free(dir);
    tn_test_warehouse_close(&fx);
}

static const struct tn_test delta[] = {
    {"names in _delta_log", names},
    {"replay: removes before adds, keyed by path and deletion vector", replay_rules},
    {"the protocol check names the feature", protocol_check},
    {"an uncommitted .tmp commit is ignored", tmp_commit_ignored},
    {".crc files are ignored; checkpoints with deletion vectors", crc_ignored_and_checkpoints},
    {"a log that starts at a checkpoint", checkpoint_only_start},
    {"a multi-part checkpoint needs all its parts", multipart_checkpoint},
    {"a v2 checkpoint with a sidecar", v2_checkpoint_with_sidecar},
    {NULL, NULL},
};
TN_SUITE(delta)
