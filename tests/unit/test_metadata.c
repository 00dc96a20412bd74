/* test_metadata.c - unit tests for src/iceberg/metadata.c and manifest.c: the Java parser test
 * files in ../shared/iceberg-fixtures/iceberg-java-metadata (valid ones parse and round-trip,
 * invalid ones fail with Java's message), new-table metadata, snapshots, manifests. */
#include "tn_test.h"

#include <stdlib.h>

#include "iceberg/iceberg.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int parse_fixture(const char *name, struct tn_metadata **m, struct tn_err *err)
{
    char path[512];
    size_t len = 0;
    char *text;
    int rc;

    CHECK(tn_test_shared_dir() != NULL);
    if (!tn_test_shared_dir())
        return -1;
    snprintf(path, sizeof(path), "%s/iceberg-fixtures/iceberg-java-metadata/%s",
             tn_test_shared_dir(), name);
    text = slurp(path, &len);
    CHECK(text != NULL);
    if (!text)
        return -1;
    rc = tn_metadata_parse(text, len, m, err);
    free(text);
    return rc;
}

static void test_valid_files_parse_and_round_trip(void)
{
    static const char *const valid[] = {
        "TableMetadataV1Valid.json",         "TableMetadataV2Valid.json",
        "TableMetadataV2ValidMinimal.json",  "TableMetadataV3ValidMinimal.json",
        "TableMetadataStatisticsFiles.json", "TableMetadataPartitionStatisticsFiles.json",
    };
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        struct tn_err err = {0};
        struct tn_metadata *m = NULL, *again = NULL;
        char *text;

        if (parse_fixture(valid[i], &m, &err)) {
            tn_test_failed(__FILE__, __LINE__, "%s: %s", valid[i], err.msg);
            continue;
        }
        text = tn_metadata_dump(m);
        CHECK_OK(tn_metadata_parse(text, strlen(text), &again, &err));
        if (again) {
            CHECK(json_equal(m->root, again->root));
            CHECK_INT_EQ(again->format_version, m->format_version);
            CHECK_INT_EQ(again->current_snapshot_id, m->current_snapshot_id);
            CHECK_INT_EQ(again->nschemas, m->nschemas);
        }
        free(text);
        tn_metadata_free(again);
        tn_metadata_free(m);
    }
}

static void test_v2_valid_details(void)
{
    struct tn_err err = {0};
    struct tn_metadata *m = NULL;

    CHECK_OK(parse_fixture("TableMetadataV2Valid.json", &m, &err));
    if (!m)
        return;
    CHECK_INT_EQ(m->format_version, 2);
    CHECK_INT_EQ(m->last_sequence_number, 34);
    CHECK_INT_EQ(m->current_schema_id, 1);
    CHECK_INT_EQ(tn_metadata_current_schema(m)->nidentifier, 2);
    CHECK_INT_EQ(m->nsnapshots, 2);
    CHECK_INT_EQ(m->current_snapshot_id, 3055729675574597004LL);
    CHECK(tn_metadata_snapshot(m, 3051729675574597004LL) != NULL);
    CHECK_STR_EQ(tn_metadata_spec(m, 0)->fields[0].transform, "identity");
    tn_metadata_free(m);
}

static void test_invalid_files_fail_with_javas_message(void)
{
    static const char *const cases[][2] = {
        {"TableMetadataUnsupportedVersion.json", "Cannot read unsupported version"},
        {"TableMetadataV2MissingPartitionSpecs.json", "partition-specs must exist in format v2"},
        {"TableMetadataV2MissingLastPartitionId.json", "last-partition-id must exist in format v2"},
        {"TableMetadataV2MissingSortOrder.json", "sort-orders must exist in format v2"},
        {"TableMetadataV2CurrentSchemaNotFound.json",
         "Cannot find schema with current-schema-id=2 from schemas"},
        {"TableMetadataV2MissingSchemas.json", "schemas must exist in format v2"},
        {"TableMetadataV1MissingSchemaType.json", "Cannot parse type from json:"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tn_err err = {0};
        struct tn_metadata *m = NULL;
        int rc = parse_fixture(cases[i][0], &m, &err);
        if (rc != TN_EINPUT)
            tn_test_failed(__FILE__, __LINE__, "%s: expected TN_EINPUT, got %d", cases[i][0], rc);
        CHECK_CONTAINS(err.msg, cases[i][1]);
        tn_metadata_free(m);
    }
}

static void test_big_ids_and_gzip(void)
{
    struct tn_err err = {0};
    struct tn_metadata *m = NULL;
    const char *text =
        "{\"format-version\": 2, \"table-uuid\": \"u\", \"location\": \"file:///x\", "
        "\"last-sequence-number\": 1, \"last-updated-ms\": 1, \"last-column-id\": 1, "
        "\"current-schema-id\": 0, \"schemas\": [{\"type\": \"struct\", \"schema-id\": 0, "
        "\"fields\": [{\"id\": 1, \"name\": \"a\", \"required\": false, \"type\": \"long\"}]}], "
        "\"default-spec-id\": 0, \"partition-specs\": [{\"spec-id\": 0, \"fields\": []}], "
        "\"last-partition-id\": 999, \"sort-orders\": [], \"current-snapshot-id\": "
        "9876543210123456789, \"snapshots\": [{\"snapshot-id\": 9876543210123456789, "
        "\"sequence-number\": 1, \"timestamp-ms\": 5, \"manifest-list\": \"file:///l.avro\", "
        "\"summary\": {\"operation\": \"append\"}}]}";

    CHECK_OK(tn_metadata_parse(text, strlen(text), &m, &err));
    if (m) {
        CHECK_INT_EQ((uint64_t)m->current_snapshot_id, 9876543210123456789ULL);
        CHECK(tn_metadata_snapshot(m, m->current_snapshot_id) != NULL);
        CHECK_STR_EQ(m->snapshots[0].operation, "append");
    }
    tn_metadata_free(m);
    CHECK_INT_EQ(tn_metadata_parse("{", 1, &m, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "not valid JSON");
}

/* tn_json_dump writes what json_dumps writes in compact form (escapes, unicode, numbers, member
 * order), except that integers beyond int64 come back as the numbers they were. */
static void test_json_dump(void)
{
    struct tn_err err = {0};
    const char *text = "{\"s\":\"q\\\"b\\\\n\\n\\t\\u0001\\u001f/\u00e9\u20ac\",\"z\":1,"
                       "\"a\":[true,false,null,-9223372036854775808,1.5,1e+300,0.0,{}],"
                       "\"e\":[],\"o\":{\"k\":{\"\\u0002\":\"\"}}}";
    const char *big = "{\"id\":18446744073709551615,\"n\":-99999999999999999999,\"s\":\"x\"}";
    json_t *j = tn_json_parse(text, strlen(text), &err);
    char *ours, *theirs;

    CHECK(j != NULL);
    if (!j)
        return;
    ours = tn_json_dump(j);
    theirs = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CHECK_STR_EQ(ours, theirs);
    free(ours);
    free(theirs);
    json_decref(j);
    j = tn_json_parse(big, strlen(big), &err);
    CHECK(j != NULL);
    ours = j ? tn_json_dump(j) : NULL;
    CHECK_STR_EQ(ours, big);
    free(ours);
    json_decref(j);
}

static void test_new_table_and_snapshots(void)
{
    struct tn_err err = {0};
    struct tn_metadata *m = NULL, *m2 = NULL, *m3 = NULL;
    json_t *schema =
        json_loads("{\"type\": \"struct\", \"schema-id\": 0, \"fields\": [{\"id\": 1, "
                   "\"name\": \"id\", \"required\": true, \"type\": \"long\"}, {\"id\": "
                   "2, \"name\": \"s\", \"required\": false, \"type\": {\"type\": "
                   "\"struct\", \"fields\": [{\"id\": 3, \"name\": \"x\", \"required\": "
                   "false, \"type\": \"int\"}]}}], \"identifier-field-ids\": [1]}",
                   0, NULL);
    json_t *summary = json_pack("{s:s}", "operation", "append");
    struct tn_snapshot_new sn = {0};

    CHECK_OK(tn_metadata_new("file:///w/default/t", schema, NULL, &m, &err));
    json_decref(schema);
    if (!m)
        return;
    CHECK_INT_EQ(m->format_version, 2);
    CHECK_INT_EQ(m->last_column_id, 3);
    CHECK_INT_EQ(m->current_snapshot_id, -1);
    CHECK_INT_EQ(strlen(m->table_uuid), 36);
    sn.id = tn_snapshot_id_new();
    sn.parent_id = -1;
    sn.sequence_number = 1;
    sn.timestamp_ms = 1000;
    sn.manifest_list = "file:///w/default/t/metadata/snap-1.avro";
    sn.summary = summary;
    CHECK_OK(tn_metadata_add_snapshot(m, "file:///w/m0.json", &sn, &m2, &err));
    if (m2) {
        CHECK_INT_EQ(m2->current_snapshot_id, sn.id);
        CHECK_INT_EQ(m2->last_sequence_number, 1);
        CHECK_INT_EQ(tn_metadata_ref(m2, "main")->snapshot_id, sn.id);
        CHECK_INT_EQ(json_array_size(json_object_get(m2->root, "snapshot-log")), 1);
        CHECK_INT_EQ(json_array_size(json_object_get(m2->root, "metadata-log")), 1);
        sn.parent_id = sn.id;
        sn.id = tn_snapshot_id_new();
        sn.sequence_number = 2;
        sn.timestamp_ms = 2000;
        CHECK_OK(tn_metadata_add_snapshot(m2, "file:///w/m1.json", &sn, &m3, &err));
    }
    if (m3) {
        CHECK_INT_EQ(m3->nsnapshots, 2);
        CHECK_INT_EQ(m3->snapshots[1].parent_id, m2->current_snapshot_id);
        CHECK_INT_EQ(json_array_size(json_object_get(m3->root, "metadata-log")), 2);
        /* the new version shares what it did not change and leaves the old one as it was */
        CHECK_INT_EQ(m2->nsnapshots, 1);
        CHECK_INT_EQ(json_array_size(json_object_get(m2->root, "snapshots")), 1);
        CHECK_INT_EQ(json_array_size(json_object_get(m2->root, "snapshot-log")), 1);
        CHECK_INT_EQ(json_array_size(json_object_get(m2->root, "metadata-log")), 1);
        CHECK_INT_EQ(tn_metadata_ref(m2, "main")->snapshot_id, m2->current_snapshot_id);
        CHECK(json_object_get(m2->root, "schemas") == json_object_get(m3->root, "schemas"));
    }
    json_decref(summary);
    tn_metadata_free(m);
    tn_metadata_free(m2);
    tn_metadata_free(m3);
}

/* A chain of versions, each written by tn_metadata_dump_new reusing its base's text, reads
 * exactly as the full dump of the same tree -- also across a base that was never dumped. */
static void test_dump_new_reuses_base_text(void)
{
    struct tn_err err = {0};
    struct tn_metadata *m = NULL, *next = NULL;
    json_t *schema = json_loads("{\"type\": \"struct\", \"schema-id\": 0, \"fields\": [{\"id\": 1, "
                                "\"name\": \"id\", \"required\": false, \"type\": \"long\"}]}",
                                0, NULL);
    json_t *summary =
        json_pack("{s:s, s:s}", "operation", "append", "note", "tab\t \"q\" \\ \xc3\xa9");
    struct tn_snapshot_new sn = {0};
    char location[64];

    CHECK_OK(tn_metadata_new("file:///w/t", schema, NULL, &m, &err));
    json_decref(schema);
    sn.parent_id = -1;
    sn.manifest_list = "file:///w/t/metadata/snap.avro";
    sn.summary = summary;
    for (int v = 0; m && v < 120; v++) { /* past the metadata-log limit (100) */
        size_t len = 0;
        const char *text;
        char *full;

        sn.id = tn_snapshot_id_new();
        sn.sequence_number = v + 1;
        sn.timestamp_ms = 1000 + v;
        snprintf(location, sizeof(location), "file:///w/t/metadata/%05d.metadata.json", v);
        if (tn_metadata_add_snapshot(m, location, &sn, &next, &err)) {
            CHECK_OK(err.code);
            break;
        }
        CHECK(next->dump_base == m);
        /* every seventh version is left undumped: the next one writes its arrays in full */
        if (v % 7 != 3) {
            text = tn_metadata_dump_new(next, &len);
            full = tn_json_dump(next->root);
            CHECK_STR_EQ(text, full);
            CHECK_INT_EQ(len, strlen(full));
            CHECK(next->dump_base == NULL);
            CHECK(tn_metadata_dump_new(next, &len) == text); /* kept, written once */
            free(full);
            full = tn_metadata_dump(next);
            CHECK_STR_EQ(full, text);
            free(full);
        }
        sn.parent_id = sn.id;
        tn_metadata_free(m);
        m = next;
    }
    CHECK_INT_EQ(m ? m->nsnapshots : 0, 120);
    json_decref(summary);
    tn_metadata_free(m);
}

static void test_manifest_round_trip(void)
{
    struct tn_err err = {0};
    struct tn_metadata *m = NULL;
    json_t *schema = json_loads("{\"type\": \"struct\", \"schema-id\": 0, \"fields\": [{\"id\": 1, "
                                "\"name\": \"id\", \"required\": false, \"type\": \"long\"}]}",
                                0, NULL);
    struct tn_manifest_entry e[2];
    struct tn_id_long counts[1] = {{1, 10}};
    unsigned char lo[8] = {1, 0, 0, 0, 0, 0, 0, 0}, hi[8] = {9, 0, 0, 0, 0, 0, 0, 0};
    struct tn_id_bytes lower[1], upper[1];
    struct tn_manifest_info info;
    struct tn_manifest_file summary, *list = NULL;
    struct tn_manifest_entry *back = NULL;
    char *data = NULL, *ldata = NULL;
    size_t len = 0, llen = 0, n = 0, nl = 0;

    CHECK_OK(tn_metadata_new("file:///w/t", schema, NULL, &m, &err));
    json_decref(schema);
    if (!m)
        return;
    memset(e, 0, sizeof(e));
    lower[0].id = upper[0].id = 1;
    lower[0].value.p = lo;
    upper[0].value.p = hi;
    lower[0].value.n = upper[0].value.n = 8;
    for (int i = 0; i < 2; i++) {
        e[i].file.file_path =
            (char *)(i ? "file:///w/t/data/b.parquet" : "file:///w/t/data/a.parquet");
        e[i].file.file_format = (char *)"PARQUET";
        e[i].file.record_count = 10;
        e[i].file.file_size = 1234;
        e[i].file.value_counts = counts;
        e[i].file.nvalue_counts = 1;
        e[i].file.lower = lower;
        e[i].file.nlower = 1;
        e[i].file.upper = upper;
        e[i].file.nupper = 1;
        e[i].file.sort_order_id = -1;
    }
    e[0].status = TN_ENTRY_ADDED;
    e[1].status = TN_ENTRY_EXISTING;
    e[1].snapshot_id = 77;
    e[1].sequence_number = 3;
    e[1].file_sequence_number = 3;
    info.schema = tn_metadata_current_schema(m);
    info.spec = tn_metadata_spec(m, 0);
    info.content = 0;
    info.snapshot_id = 99;
    info.sequence_number = 5;
    info.format_version = 2;
    CHECK_OK(tn_manifest_write(&info, e, 2, &data, &len, &summary, &err));
    CHECK_INT_EQ(summary.added_files, 1);
    CHECK_INT_EQ(summary.existing_files, 1);
    CHECK_INT_EQ(summary.min_sequence_number, 3);
    summary.path = (char *)"file:///w/t/metadata/m.avro";
    summary.length = (int64_t)len;
    CHECK_OK(tn_manifest_list_write(&summary, 1, 99, -1, 5, 2, &ldata, &llen, &err));
    CHECK_OK(tn_manifest_list_read(ldata, llen, &list, &nl, &err));
    CHECK_INT_EQ(nl, 1);
    if (nl == 1) {
        CHECK_STR_EQ(list[0].path, "file:///w/t/metadata/m.avro");
        CHECK_INT_EQ(list[0].sequence_number, 5);
        CHECK_INT_EQ(list[0].added_snapshot_id, 99);
        CHECK_OK(tn_manifest_read(data, len, &list[0], &back, &n, &err));
    }
    CHECK_INT_EQ(n, 2);
    if (n == 2) {
        CHECK_INT_EQ(back[0].snapshot_id, 99); /* inherited */
        CHECK_INT_EQ(back[0].sequence_number, 5);
        CHECK_INT_EQ(back[1].snapshot_id, 77); /* explicit */
        CHECK_INT_EQ(back[1].sequence_number, 3);
        CHECK_STR_EQ(back[1].file.file_path, "file:///w/t/data/b.parquet");
        CHECK_INT_EQ(back[0].file.nlower, 1);
        CHECK_INT_EQ(back[0].file.lower[0].value.p[0], 1);
        CHECK_INT_EQ(back[0].file.value_counts[0].value, 10);
    }
    free(summary.partitions);
    tn_manifest_entries_free(back, n);
    tn_manifest_files_free(list, nl);
    free(data);
    free(ldata);
    tn_metadata_free(m);
}

static void test_delete_rules(void)
{
    struct tn_spec unpartitioned = {0, 0, NULL};
    struct tn_pvalue p1 = {.kind = 3, .i = 1}, p2 = {.kind = 3, .i = 2};
    struct tn_manifest_entry data, pos, eq;

    memset(&data, 0, sizeof(data));
    memset(&pos, 0, sizeof(pos));
    memset(&eq, 0, sizeof(eq));
    data.file.file_path = (char *)"d1";
    data.sequence_number = 3;
    pos.file.content = 1;
    pos.sequence_number = 3;
    eq.file.content = 2;
    eq.sequence_number = 3;
    /* position deletes apply at an equal sequence number, equality deletes only to older data */
    CHECK(tn_delete_applies(&pos, &unpartitioned, &data));
    CHECK(!tn_delete_applies(&eq, &unpartitioned, &data));
    eq.sequence_number = 4;
    CHECK(tn_delete_applies(&eq, &unpartitioned, &data));
    pos.sequence_number = 2;
    CHECK(!tn_delete_applies(&pos, &unpartitioned, &data));
    pos.sequence_number = 5;
    pos.file.referenced_data_file = (char *)"d2";
    CHECK(!tn_delete_applies(&pos, &unpartitioned, &data));
    pos.file.referenced_data_file = (char *)"d1";
    CHECK(tn_delete_applies(&pos, &unpartitioned, &data));
    /* partition scoping: same spec and equal tuple, or a global (unpartitioned) equality delete */
    data.file.npartition = 1;
    data.file.partition = &p1;
    pos.file.npartition = 1;
    pos.file.partition = &p2;
    CHECK(!tn_delete_applies(&pos, &unpartitioned, &data));
    pos.file.partition = &p1;
    CHECK(tn_delete_applies(&pos, &unpartitioned, &data));
    eq.file.npartition = 1;
    eq.file.partition = &p2;
    eq.spec_id = 1;
    {
        struct tn_partition_field f = {1, 1000, "k", "identity"};
        struct tn_spec partitioned = {1, 1, &f};
        CHECK(!tn_delete_applies(&eq, &partitioned, &data));
    }
    eq.spec_id = 0;
    eq.file.npartition = 0;
    CHECK(tn_delete_applies(&eq, &unpartitioned, &data));
}

static const struct tn_test metadata_tests[] = {
    {"delete files apply by sequence number and partition", test_delete_rules},
    {"valid Java metadata files parse and round-trip", test_valid_files_parse_and_round_trip},
    {"v2 metadata details", test_v2_valid_details},
    {"invalid metadata fails with Java's message", test_invalid_files_fail_with_javas_message},
    {"ids beyond int64 are kept", test_big_ids_and_gzip},
    {"JSON is written as jansson writes it, big integers kept", test_json_dump},
    {"new table metadata and snapshots", test_new_table_and_snapshots},
    {"a new version's text reuses its base's", test_dump_new_reuses_base_text},
    {"manifest and manifest list round trip", test_manifest_round_trip},
    {NULL, NULL},
};
TN_SUITE(metadata_tests)
