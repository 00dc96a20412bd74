/* test_updates.c - metadata changes as REST requirements and updates (src/iceberg/updates.c):
 * a derived version leaves the shared one untouched, schema/property/snapshot updates land in
 * one version, requirements refuse with a conflict, and remove-snapshots trims the log. */
#include "iceberg/iceberg.h"
#include "tn_test.h"

#include <stdlib.h>

static struct tn_metadata *new_table(void)
{
    struct tn_err err = {0};
    struct tn_metadata *m = NULL;
    json_t *schema = json_loads("{\"type\": \"struct\", \"schema-id\": 0, \"fields\": [{\"id\": 1, "
                                "\"name\": \"id\", \"required\": false, \"type\": \"long\"}]}",
                                0, NULL);

    CHECK_OK(tn_metadata_new("file:///w/default/t", schema, NULL, &m, &err));
    json_decref(schema);
    return m;
}

static void add_snapshot(json_t *updates, int64_t id, int64_t parent, int64_t seq)
{
    json_t *summary = json_pack("{s:s}", "operation", "append");
    struct tn_snapshot_new sn = {0};

    sn.id = id;
    sn.parent_id = parent;
    sn.sequence_number = seq;
    sn.timestamp_ms = 1000 * seq;
    sn.manifest_list = "file:///w/default/t/metadata/snap.avro";
    sn.summary = summary;
    tn_updates_add_snapshot(updates, &sn, NULL);
    json_decref(summary);
}

static void test_one_version_shared_base_untouched(void)
{
    struct tn_err err = {0};
    struct tn_metadata *m = new_table(), *next = NULL;
    json_t *u = json_array();
    char *before;

    if (!m)
        return;
    before = tn_json_dump(m->root);
    json_array_append_new(
        u, json_pack("{s:s, s:{s:s, s:[{s:i, s:s, s:b, s:s}, {s:i, s:s, s:b, s:s}]}, s:i}",
                     "action", "add-schema", "schema", "type", "struct", "fields", "id", 1, "name",
                     "id", "required", 0, "type", "long", "id", 2, "name", "note", "required", 0,
                     "type", "string", "last-column-id", 2));
    json_array_append_new(u,
                          json_pack("{s:s, s:i}", "action", "set-current-schema", "schema-id", -1));
    tn_updates_set_property(u, "tarn.upsert-key", "id");
    add_snapshot(u, 7, -1, 1);
    CHECK_OK(tn_metadata_update(m, "file:///w/default/t/metadata/00000-a.metadata.json", u, &next,
                                &err));
    if (next) {
        CHECK_INT_EQ(next->current_schema_id, 1);
        CHECK_INT_EQ(next->last_column_id, 2);
        CHECK_INT_EQ(next->current_snapshot_id, 7);
        CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(next->root, "properties"),
                                                       "tarn.upsert-key")),
                     "id");
        CHECK_INT_EQ(json_array_size(json_object_get(next->root, "metadata-log")), 1);
        CHECK_INT_EQ(json_array_size(json_object_get(next->root, "snapshot-log")), 1);
    }
    /* the version it came from, which readers may share, is exactly as it was */
    {
        char *after = tn_json_dump(m->root);
        CHECK_STR_EQ(after, before);
        free(after);
    }
    free(before);
    json_decref(u);
    tn_metadata_free(next);
    tn_metadata_free(m);
}

static void test_requirements_refuse(void)
{
    struct tn_err err = {0};
    struct tn_metadata *m = new_table();
    json_t *ok =
        json_pack("[{s:s, s:i}]", "type", "assert-current-schema-id", "current-schema-id", 0);
    json_t *stale = json_pack("[{s:s, s:i}]", "type", "assert-last-assigned-field-id",
                              "last-assigned-field-id", 5);
    json_t *bad = json_pack("[{s:s}]", "type", "assert-nothing");

    if (!m)
        return;
    CHECK_OK(tn_requirements_check(m->root, ok, &err));
    CHECK_INT_EQ(tn_requirements_check(m->root, stale, &err), TN_ECONFLICT);
    CHECK_CONTAINS(err.msg, "Requirement failed");
    CHECK_INT_EQ(tn_requirements_check(m->root, bad, &err), TN_EINPUT);
    json_decref(ok);
    json_decref(stale);
    json_decref(bad);
    tn_metadata_free(m);
}

static void test_remove_snapshots_trims_log(void)
{
    struct tn_err err = {0};
    struct tn_metadata *m = new_table(), *v = NULL, *next = NULL;
    json_t *u = json_array(), *rm;

    if (!m)
        return;
    add_snapshot(u, 1, -1, 1);
    add_snapshot(u, 2, 1, 2);
    add_snapshot(u, 3, 2, 3);
    CHECK_OK(tn_metadata_update(m, "file:///w/m0.json", u, &v, &err));
    rm = json_pack("[{s:s, s:[i]}]", "action", "remove-snapshots", "snapshot-ids", 2);
    if (v)
        CHECK_OK(tn_metadata_update(v, "file:///w/m1.json", rm, &next, &err));
    if (next) {
        json_t *log = json_object_get(next->root, "snapshot-log");
        CHECK_INT_EQ(next->nsnapshots, 2);
        /* what came before the removed snapshot's entry goes too: the log stays a history */
        CHECK_INT_EQ(json_array_size(log), 1);
        CHECK_INT_EQ(json_integer_value(json_object_get(json_array_get(log, 0), "snapshot-id")), 3);
        CHECK_INT_EQ(v->nsnapshots, 3);
    }
    json_decref(u);
    json_decref(rm);
    tn_metadata_free(next);
    tn_metadata_free(v);
    tn_metadata_free(m);
}

static const struct tn_test update_tests[] = {
    {"updates make one version and leave the shared one untouched",
     test_one_version_shared_base_untouched},
    {"requirements refuse with a conflict", test_requirements_refuse},
    {"remove-snapshots trims the snapshot log", test_remove_snapshots_trims_log},
    {NULL, NULL},
};
TN_SUITE(update_tests)
