/* test_v3.c - Iceberg format version 3 (src/iceberg): creation and upgrade by the format-version
 * property, row-lineage metadata (next-row-id, snapshot first-row-id/added-rows, manifest-list
 * and data-file first_row_id written, inherited and kept), and deletion-vector-v1 blobs read
 * back (length, magic, CRC-32, Roaring bitmap) with damaged ones refused. */
#include "delta/dv.h"
#include "iceberg/iceberg.h"
#include "tn_test.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static json_t *one_column(void)
{
    return json_loads("{\"type\": \"struct\", \"schema-id\": 0, \"fields\": [{\"id\": 1, "
                      "\"name\": \"id\", \"required\": false, \"type\": \"long\"}]}",
                      0, NULL);
}

static struct tn_metadata *new_table(const char *version)
{
    struct tn_err err = {0};
    struct tn_metadata *m = NULL;
    json_t *schema = one_column();
    json_t *props = version ? json_pack("{s:s, s:s}", "format-version", version, "k", "v") : NULL;

    CHECK_OK(tn_metadata_new("file:///w/default/t", schema, props, &m, &err));
    json_decref(schema);
    json_decref(props);
    return m;
}

static void test_create_and_upgrade(void)
{
    struct tn_err err = {0};
    struct tn_metadata *v2 = new_table(NULL), *v3 = new_table("3"), *up = NULL, *down = NULL;
    json_t *schema = one_column(), *bad = json_pack("{s:s}", "format-version", "4");
    json_t *updates =
        json_loads("[{\"action\": \"upgrade-format-version\", \"format-version\": 3}]", 0, NULL);
    json_t *downgrade = json_loads(
        "[{\"action\": \"set-properties\", \"updates\": {\"format-version\": \"2\"}}]", 0, NULL);
    struct tn_metadata *none = NULL;

    if (!v2 || !v3)
        return;
    CHECK_INT_EQ(v2->format_version, 2);
    CHECK(!json_object_get(v2->root, "next-row-id"));
    CHECK_INT_EQ(v3->format_version, 3);
    CHECK_INT_EQ(json_integer_value(json_object_get(v3->root, "next-row-id")), 0);
    CHECK(!json_object_get(json_object_get(v3->root, "properties"), "format-version"));
    CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(v3->root, "properties"), "k")),
                 "v");
    CHECK_INT_EQ(tn_metadata_new("file:///w/default/t", schema, bad, &none, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "format-version must be");
    CHECK_OK(tn_metadata_update(v2, NULL, updates, &up, &err));
    if (up) {
        CHECK_INT_EQ(up->format_version, 3);
        CHECK_INT_EQ(up->next_row_id, 0);
        CHECK_INT_EQ(tn_metadata_update(up, NULL, downgrade, &down, &err), TN_EINPUT);
        CHECK_CONTAINS(err.msg, "cannot downgrade");
    }
    tn_metadata_free(up);
    tn_metadata_free(v2);
    tn_metadata_free(v3);
    json_decref(schema);
    json_decref(bad);
    json_decref(updates);
    json_decref(downgrade);
}

static json_t *snapshot_update(int64_t id, int64_t seq, int lineage, int64_t first, int64_t added)
{
    json_t *summary = json_pack("{s:s}", "operation", "append"), *u = json_array();
    struct tn_snapshot_new sn = {0};

    sn.id = id;
    sn.parent_id = -1;
    sn.sequence_number = seq;
    sn.timestamp_ms = 1000;
    sn.manifest_list = "file:///w/default/t/metadata/snap.avro";
    sn.summary = summary;
    sn.has_row_lineage = lineage;
    sn.first_row_id = first;
    sn.added_rows = added;
    tn_updates_add_snapshot(u, &sn, NULL);
    json_decref(summary);
    return u;
}

static void test_snapshot_row_ids(void)
{
    struct tn_err err = {0};
    struct tn_metadata *m = new_table("3"), *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    json_t *first = snapshot_update(10, 1, 1, 0, 25), *second = snapshot_update(11, 2, 1, 25, 5);
    json_t *behind = snapshot_update(12, 2, 1, 3, 5), *missing = snapshot_update(13, 2, 0, 0, 0);

    if (!m)
        return;
    CHECK_OK(tn_metadata_update(m, NULL, first, &a, &err));
    if (a) {
        CHECK_INT_EQ(a->next_row_id, 25);
        CHECK_OK(tn_metadata_update(a, NULL, second, &b, &err));
        CHECK_INT_EQ(b ? b->next_row_id : -1, 30);
        CHECK_INT_EQ(tn_metadata_update(a, NULL, behind, &c, &err), TN_ECONFLICT);
        CHECK_CONTAINS(err.msg, "behind the table's next-row-id 25");
        CHECK_INT_EQ(tn_metadata_update(a, NULL, missing, &d, &err), TN_EINPUT);
        CHECK_CONTAINS(err.msg, "first-row-id");
    }
    tn_metadata_free(a);
    tn_metadata_free(b);
    tn_metadata_free(m);
    json_decref(first);
    json_decref(second);
    json_decref(behind);
    json_decref(missing);
}

/* A v3 manifest of an ADDED and an EXISTING file, listed with first_row_id assigned: the
 * EXISTING file keeps its own first_row_id, the ADDED one inherits the manifest's. */
static void test_manifest_row_ids(void)
{
    struct tn_err err = {0};
    struct tn_metadata *m = new_table("3");
    struct tn_manifest_entry e[2], *back = NULL;
    struct tn_manifest_info info;
    struct tn_manifest_file summary[2], *list = NULL;
    char *data = NULL, *ldata = NULL;
    size_t len = 0, llen = 0, n = 0, nl = 0;

    if (!m)
        return;
    memset(e, 0, sizeof(e));
    for (int i = 0; i < 2; i++) {
        e[i].file.file_path =
            (char *)(i ? "file:///w/t/data/b.parquet" : "file:///w/t/data/a.parquet");
        e[i].file.file_format = (char *)"PARQUET";
        e[i].file.record_count = 10 + i;
        e[i].file.file_size = 100;
        e[i].file.sort_order_id = -1;
    }
    e[0].status = TN_ENTRY_EXISTING;
    e[0].snapshot_id = 7;
    e[0].sequence_number = e[0].file_sequence_number = 1;
    e[0].file.has_first_row_id = 1;
    e[0].file.first_row_id = 500;
    e[1].status = TN_ENTRY_ADDED;
    info.schema = tn_metadata_current_schema(m);
    info.spec = tn_metadata_spec(m, 0);
    info.content = 0;
    info.snapshot_id = 9;
    info.sequence_number = 2;
    info.format_version = 3;
    CHECK_OK(tn_manifest_write(&info, e, 2, &data, &len, &summary[0], &err));
    summary[0].path = (char *)"file:///w/t/metadata/m.avro";
    summary[0].length = (int64_t)len;
    memset(&summary[1], 0, sizeof(summary[1]));
    summary[1].path = (char *)"file:///w/t/metadata/d.avro";
    summary[1].content = 1;
    summary[1].added_rows = 3;
    CHECK_INT_EQ(tn_manifest_list_assign_row_ids(summary, 2, 40), 21);
    CHECK_INT_EQ(summary[0].first_row_id, 40);
    CHECK(!summary[1].has_first_row_id); /* never for delete manifests */
    CHECK_OK(tn_manifest_list_write(summary, 2, 9, -1, 2, 3, &ldata, &llen, &err));
    CHECK_OK(tn_manifest_list_read(ldata, llen, &list, &nl, &err));
    CHECK_INT_EQ(nl, 2);
    if (nl == 2) {
        CHECK(list[0].has_first_row_id);
        CHECK_INT_EQ(list[0].first_row_id, 40);
        CHECK(!list[1].has_first_row_id);
        CHECK_OK(tn_manifest_read(data, len, &list[0], &back, &n, &err));
        CHECK_INT_EQ(n, 2);
        if (n == 2) {
            CHECK_INT_EQ(back[0].file.first_row_id, 500); /* written: kept */
            CHECK(back[1].file.has_first_row_id);
            CHECK_INT_EQ(back[1].file.first_row_id, 40); /* inherited */
        }
        tn_manifest_entries_free(back, n);
    }
    tn_manifest_files_free(list, nl);
    for (int i = 0; i < 2; i++) {
        for (size_t j = 0; j < summary[i].npartitions; j++) {
            free(summary[i].partitions[j].lower.p);
            free(summary[i].partitions[j].upper.p);
        }
        free(summary[i].partitions);
    }
    free(data);
    free(ldata);
    tn_metadata_free(m);
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* A deletion-vector-v1 blob of "n" positions (caller frees). */
static unsigned char *dv_blob(const int64_t *pos, size_t n, size_t *len)
{
    struct tn_err err = {0};
    unsigned char *bitmap = NULL, *blob;
    size_t blen = 0;

    CHECK_OK(tn_delta_dv_encode(pos, n, &bitmap, &blen, &err));
    blob = calloc(blen + 8, 1);
    put_be32(blob, (uint32_t)blen);
    memcpy(blob + 4, bitmap, blen);
    put_be32(blob + 4 + blen, (uint32_t)crc32(0L, bitmap, (uInt)blen));
    *len = blen + 8;
    free(bitmap);
    return blob;
}

static void test_dv_blob(void)
{
    static const int64_t pos[] = {0, 1, 7, 65535, 65536, 1000000, 5000000000LL};
    /* DuckDB's v3 fixture: the blob deleting position 1 (tests/fixtures/iceberg-v3) */
    static const unsigned char duckdb[] = {
        0x00, 0x00, 0x00, 0x22, 0xd1, 0xd3, 0x39, 0x64, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x30, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0xee, 0xbd, 0x85, 0xf4};
    struct tn_err err = {0};
    size_t len = 0, n = 0;
    unsigned char *blob = dv_blob(pos, sizeof(pos) / sizeof(pos[0]), &len);
    int64_t *got = NULL;

    CHECK(memcmp(blob + 4, TN_PUFFIN_DV_MAGIC, 4) == 0);
    CHECK_OK(tn_puffin_dv_decode(blob, len, 0, &got, &n, &err));
    CHECK_INT_EQ(n, sizeof(pos) / sizeof(pos[0]));
    for (size_t i = 0; got && i < n; i++)
        CHECK_INT_EQ(got[i], pos[i]);
    free(got);
    CHECK_OK(tn_puffin_dv_decode(duckdb, sizeof(duckdb), 0, &got, &n, &err));
    CHECK_INT_EQ(n, 1);
    CHECK_INT_EQ(got ? got[0] : -1, 1);
    free(got);
    /* damaged: CRC, magic, length field, truncation */
    blob[len - 1] ^= 1;
    CHECK_INT_EQ(tn_puffin_dv_decode(blob, len, 0, &got, &n, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "CRC-32");
    blob[len - 1] ^= 1;
    blob[4] ^= 1;
    CHECK_INT_EQ(tn_puffin_dv_decode(blob, len, 0, &got, &n, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "magic");
    blob[4] ^= 1;
    blob[3] ^= 1;
    CHECK_INT_EQ(tn_puffin_dv_decode(blob, len, 0, &got, &n, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "content_size_in_bytes");
    blob[3] ^= 1;
    CHECK_INT_EQ(tn_puffin_dv_decode(blob, 11, 0, &got, &n, &err), TN_EINPUT);
    CHECK_INT_EQ(tn_puffin_dv_decode(blob, len - 1, 0, &got, &n, &err), TN_EINPUT);
    CHECK_INT_EQ(tn_puffin_dv_decode(blob, len, 3, &got, &n, &err), TN_EINPUT); /* over the cap */
    CHECK(got == NULL);
    free(blob);
}

static const struct tn_test v3[] = {
    {"create_and_upgrade", test_create_and_upgrade},
    {"snapshot_row_ids", test_snapshot_row_ids},
    {"manifest_row_ids", test_manifest_row_ids},
    {"dv_blob", test_dv_blob},
    {NULL, NULL},
};
TN_SUITE(v3)
