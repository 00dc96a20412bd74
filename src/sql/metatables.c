/* metatables.c - a table's metadata as SQL relations, in Trino's naming: "t$snapshots",
 * "t$history", "t$files", "t$manifests" and "t$refs". Each is built as one JSON document that
 * DuckDB unpacks (from_json into a list of structs), so any number of rows costs one literal and
 * no per-row SQL. */
#include "table/table.h"

#include "hudi/hudi.h"

#include <stdlib.h>
#include <string.h>

static void add_long_map(json_t *row, const char *key, const struct tn_id_long *v, size_t n)
{
    json_t *m = json_object();
    for (size_t i = 0; i < n; i++) {
        char k[16];
        snprintf(k, sizeof(k), "%d", v[i].id);
        json_object_set_new(m, k, json_integer(v[i].value));
    }
    json_object_set_new(row, key, m);
}

static void add_bound_map(json_t *row, const char *key, const struct tn_schema *schema,
                          const struct tn_id_bytes *v, size_t n)
{
    json_t *m = json_object();
    for (size_t i = 0; i < n; i++) {
        const struct tn_field *f = tn_schema_find(schema, v[i].id);
        struct tn_buf text = TN_BUF_INIT(TN_CAP_SQL);
        char k[16];

        if (!f || tn_bound_format(f->type, v[i].value.p, v[i].value.n, &text, NULL)) {
            tn_buf_reset(&text);
            for (size_t b = 0; b < v[i].value.n; b++)
                tn_buf_addf(&text, NULL, "%02x", v[i].value.p[b]);
        }
        snprintf(k, sizeof(k), "%d", v[i].id);
        json_object_set_new(m, k, json_string(text.buf ? text.buf : ""));
        tn_buf_release(&text);
    }
    json_object_set_new(row, key, m);
}

static json_t *snapshots_rows(const struct tn_table *t)
{
    json_t *rows = json_array();
    for (size_t i = 0; i < t->meta->nsnapshots; i++) {
        const struct tn_snapshot *s = &t->meta->snapshots[i];
        json_t *r =
            json_pack("{s:I, s:I, s:o, s:o, s:o, s:O}", "committed_at", (json_int_t)s->timestamp_ms,
                      "snapshot_id", (json_int_t)s->id, "parent_id",
                      s->parent_id == -1 ? json_null() : json_integer(s->parent_id), "operation",
                      s->operation ? json_string(s->operation) : json_null(), "manifest_list",
                      s->manifest_list ? json_string(s->manifest_list) : json_null(), "summary",
                      s->summary ? s->summary : json_object());
        if (!s->summary)
            json_decref(json_object_get(r, "summary"));
        json_array_append_new(rows, r);
    }
    return rows;
}

static int is_ancestor(const struct tn_metadata *m, int64_t id)
{
    int64_t cur = m->current_snapshot_id;
    for (size_t guard = 0; cur != -1 && guard <= m->nsnapshots; guard++) {
        const struct tn_snapshot *s = tn_metadata_snapshot(m, cur);
        if (cur == id)
            return 1;
        cur = s ? s->parent_id : -1;
    }
    return 0;
}

static json_t *history_rows(const struct tn_table *t)
{
    json_t *rows = json_array();
    json_t *e;
    size_t i;

    json_array_foreach(json_object_get(t->meta->root, "snapshot-log"), i, e)
    {
        int64_t id = 0, ts = 0;
        const struct tn_snapshot *s;
        if (tn_json_id(json_object_get(e, "snapshot-id"), &id) ||
            tn_json_id(json_object_get(e, "timestamp-ms"), &ts))
            continue;
        s = tn_metadata_snapshot(t->meta, id);
        json_array_append_new(
            rows, json_pack("{s:I, s:I, s:o, s:b}", "made_current_at", (json_int_t)ts,
                            "snapshot_id", (json_int_t)id, "parent_id",
                            s && s->parent_id != -1 ? json_integer(s->parent_id) : json_null(),
                            "is_current_ancestor", is_ancestor(t->meta, id)));
    }
    return rows;
}

static json_t *refs_rows(const struct tn_table *t)
{
    json_t *rows = json_array();
    const char *name;
    json_t *ref;

    json_object_foreach(json_object_get(t->meta->root, "refs"), name, ref)
    {
        json_t *r = json_pack("{s:s, s:s, s:O}", "name", name, "type",
                              json_string_value(json_object_get(ref, "type"))
                                  ? json_string_value(json_object_get(ref, "type"))
                                  : "branch",
                              "snapshot_id", json_object_get(ref, "snapshot-id"));
        json_object_set(r, "max_reference_age_in_ms", json_object_get(ref, "max-ref-age-ms"));
        json_object_set(r, "min_snapshots_to_keep", json_object_get(ref, "min-snapshots-to-keep"));
        json_object_set(r, "max_snapshot_age_in_ms", json_object_get(ref, "max-snapshot-age-ms"));
        json_array_append_new(rows, r);
    }
    return rows;
}

static json_t *manifests_rows(const struct tn_scan *scan)
{
    json_t *rows = json_array();
    for (size_t i = 0; i < scan->nmanifests; i++) {
        const struct tn_manifest_file *mf = &scan->manifests[i];
        json_array_append_new(
            rows,
            json_pack("{s:s, s:I, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "path",
                      mf->path, "length", (json_int_t)mf->length, "partition_spec_id", mf->spec_id,
                      "content", mf->content, "sequence_number", (json_int_t)mf->sequence_number,
                      "min_sequence_number", (json_int_t)mf->min_sequence_number,
                      "added_snapshot_id", (json_int_t)mf->added_snapshot_id,
                      "added_data_files_count", (json_int_t)mf->added_files,
                      "existing_data_files_count", (json_int_t)mf->existing_files,
                      "deleted_data_files_count", (json_int_t)mf->deleted_files, "added_rows_count",
                      (json_int_t)mf->added_rows, "existing_rows_count",
                      (json_int_t)mf->existing_rows, "deleted_rows_count",
                      (json_int_t)mf->deleted_rows));
    }
    return rows;
}

static void file_row(json_t *rows, const struct tn_schema *schema,
                     const struct tn_manifest_entry *e)
{
    const struct tn_data_file *f = &e->file;
    json_t *r =
        json_pack("{s:i, s:s, s:s, s:i, s:I, s:I, s:I}", "content", f->content, "file_path",
                  f->file_path, "file_format", f->file_format, "spec_id", e->spec_id,
                  "record_count", (json_int_t)f->record_count, "file_size_in_bytes",
                  (json_int_t)f->file_size, "sequence_number", (json_int_t)e->sequence_number);
    json_t *offsets = json_array(), *eq = json_array();

    add_long_map(r, "column_sizes", f->column_sizes, f->ncolumn_sizes);
    add_long_map(r, "value_counts", f->value_counts, f->nvalue_counts);
    add_long_map(r, "null_value_counts", f->null_counts, f->nnull_counts);
    add_long_map(r, "nan_value_counts", f->nan_counts, f->nnan_counts);
    add_bound_map(r, "lower_bounds", schema, f->lower, f->nlower);
    add_bound_map(r, "upper_bounds", schema, f->upper, f->nupper);
    for (size_t i = 0; i < f->nsplit_offsets; i++)
        json_array_append_new(offsets, json_integer(f->split_offsets[i]));
    for (size_t i = 0; i < f->nequality_ids; i++)
        json_array_append_new(eq, json_integer(f->equality_ids[i]));
    json_object_set_new(r, "split_offsets", offsets);
    json_object_set_new(r, "equality_ids", eq);
    json_array_append_new(rows, r);
}

static json_t *files_rows(const struct tn_scan *scan)
{
    json_t *rows = json_array();
    for (size_t i = 0; i < scan->ndata; i++)
        file_row(rows, scan->schema, &scan->data[i]);
    for (size_t i = 0; i < scan->ndeletes; i++)
        file_row(rows, scan->schema, &scan->deletes[i]);
    return rows;
}

struct metatable {
    const char *kind;
    const char *structure; /* from_json structure of one row */
    const char *select;    /* the columns, from the unpacked struct "r" */
};

static const struct metatable metatables[] = {
    {"snapshots",
     "{\"committed_at\":\"BIGINT\",\"snapshot_id\":\"BIGINT\",\"parent_id\":\"BIGINT\","
     "\"operation\":\"VARCHAR\",\"manifest_list\":\"VARCHAR\",\"summary\":\"MAP(VARCHAR, "
     "VARCHAR)\"}",
     "make_timestamptz(r.committed_at * 1000) AS committed_at, r.snapshot_id, r.parent_id, "
     "r.operation, r.manifest_list, r.summary"},
    {"history",
     "{\"made_current_at\":\"BIGINT\",\"snapshot_id\":\"BIGINT\",\"parent_id\":\"BIGINT\","
     "\"is_current_ancestor\":\"BOOLEAN\"}",
     "make_timestamptz(r.made_current_at * 1000) AS made_current_at, r.snapshot_id, r.parent_id, "
     "r.is_current_ancestor"},
    {"refs",
     "{\"name\":\"VARCHAR\",\"type\":\"VARCHAR\",\"snapshot_id\":\"BIGINT\","
     "\"max_reference_age_in_ms\":\"BIGINT\",\"min_snapshots_to_keep\":\"INTEGER\","
     "\"max_snapshot_age_in_ms\":\"BIGINT\"}",
     "r.name, upper(r.type) AS type, r.snapshot_id, r.max_reference_age_in_ms, "
     "r.min_snapshots_to_keep, r.max_snapshot_age_in_ms"},
    {"manifests",
     "{\"path\":\"VARCHAR\",\"length\":\"BIGINT\",\"partition_spec_id\":\"INTEGER\","
     "\"content\":\"INTEGER\",\"sequence_number\":\"BIGINT\",\"min_sequence_number\":\"BIGINT\","
     "\"added_snapshot_id\":\"BIGINT\",\"added_data_files_count\":\"BIGINT\","
     "\"existing_data_files_count\":\"BIGINT\",\"deleted_data_files_count\":\"BIGINT\","
     "\"added_rows_count\":\"BIGINT\",\"existing_rows_count\":\"BIGINT\","
     "\"deleted_rows_count\":\"BIGINT\"}",
     "r.*"},
    {"files",
     "{\"content\":\"INTEGER\",\"file_path\":\"VARCHAR\",\"file_format\":\"VARCHAR\","
     "\"spec_id\":\"INTEGER\",\"record_count\":\"BIGINT\",\"file_size_in_bytes\":\"BIGINT\","
     "\"sequence_number\":\"BIGINT\",\"column_sizes\":\"MAP(INTEGER, BIGINT)\","
     "\"value_counts\":\"MAP(INTEGER, BIGINT)\",\"null_value_counts\":\"MAP(INTEGER, BIGINT)\","
     "\"nan_value_counts\":\"MAP(INTEGER, BIGINT)\",\"lower_bounds\":\"MAP(INTEGER, VARCHAR)\","
     "\"upper_bounds\":\"MAP(INTEGER, VARCHAR)\",\"split_offsets\":\"BIGINT[]\","
     "\"equality_ids\":\"INTEGER[]\"}",
     "r.*"},
    {"timeline",
     "{\"instant\":\"VARCHAR\",\"action\":\"VARCHAR\",\"state\":\"VARCHAR\","
     "\"completion_time\":\"VARCHAR\"}",
     "r.*"},
};

int tn_metadata_table_sql(struct tn_warehouse *wh, const struct tn_table *t, const char *kind,
                          int64_t snapshot_id, struct tn_buf *sql, struct tn_err *err)
{
    const struct metatable *mt = NULL;
    struct tn_scan *scan = NULL;
    json_t *rows = NULL;
    char *text;
    int rc = 0;

    for (size_t i = 0; i < sizeof(metatables) / sizeof(metatables[0]); i++)
        if (strcmp(metatables[i].kind, kind) == 0)
            mt = &metatables[i];
    if (!mt)
        return tn_fail(err, TN_ENOTABLE,
                       "table %s.%s has no metadata table '%s'; there are $snapshots, $history, "
                       "$files, $manifests, $refs (and $timeline for a Hudi table)",
                       t->ns, t->name, kind);
    if (strcmp(kind, "snapshots") == 0)
        rows = snapshots_rows(t);
    else if (strcmp(kind, "history") == 0)
        rows = history_rows(t);
    else if (strcmp(kind, "refs") == 0)
        rows = refs_rows(t);
    else if (strcmp(kind, "timeline") == 0) {
        rc = tn_hudi_timeline_rows(wh, t, &rows, err); /* a Hudi table's own timeline */
        if (rc)
            return rc;
    } else {
        rc = tn_table_scan(wh, t, snapshot_id, &scan, err);
        if (rc)
            return rc;
        rows = strcmp(kind, "files") == 0 ? files_rows(scan) : manifests_rows(scan);
        tn_scan_free(scan);
    }
    text = tn_json_dump(rows);
    json_decref(rows);
    tn_buf_addf(sql, NULL, "(SELECT %s FROM (SELECT unnest(from_json(", mt->select);
    tn_sql_string(sql, text);
    tn_buf_addstr(sql, ", ", NULL);
    {
        char *structure = tn_asprintf("[%s]", mt->structure);
        tn_sql_string(sql, structure);
        free(structure);
    }
    tn_buf_addstr(sql, ")) AS r))", NULL);
    free(text);
    return 0;
}
