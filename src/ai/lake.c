/* lake.c - the read-only views of the warehouse that AI clients use (the MCP server's tools and
 * resources, and the prompts of /ask): the table list, a table's description and history, sample
 * rows and one read-only query. Every query goes through tn_op_sql (src/ops), which takes one
 * SELECT statement only (DuckDB's parse tree of anything else is refused), and runs in the
 * sandboxed engine, row-capped. Snapshot ids are written as strings: MCP clients are often
 * JavaScript, where ids above 2^53 would change. */
#include "ai/ai.h"
#include "ops/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *id_json(int64_t id)
{
    char text[24];

    if (id == -1)
        return json_null();
    snprintf(text, sizeof(text), "%lld", (long long)id);
    return json_string(text);
}

static json_t *summary_value(const struct tn_snapshot *s, const char *key)
{
    json_t *v = s ? json_object_get(s->summary, key) : NULL;

    return v ? json_incref(v) : json_null();
}

/* What the table list tells of a table: its current snapshot, rows, data files, last change. */
static void describe_table(json_t *j, const struct tn_table *t)
{
    const struct tn_snapshot *cur = tn_metadata_snapshot(t->meta, t->meta->current_snapshot_id);

    json_object_set_new(j, "current_snapshot_id", id_json(t->meta->current_snapshot_id));
    json_object_set_new(j, "total_records", summary_value(cur, "total-records"));
    json_object_set_new(j, "data_files", summary_value(cur, "total-data-files"));
    json_object_set_new(j, "last_updated_ms", json_integer(t->meta->last_updated_ms));
}

json_t *tn_lake_tables(struct tn_warehouse *wh, struct tn_err *err)
{
    return tn_table_list_json(wh, describe_table, err);
}

static json_t *snapshot_json(const struct tn_snapshot *s)
{
    return json_pack("{s:o, s:o, s:I, s:s?, s:O?}", "snapshot_id", id_json(s->id), "parent_id",
                     id_json(s->parent_id), "timestamp_ms", (json_int_t)s->timestamp_ms,
                     "operation", s->operation, "summary", s->summary);
}

/* The default partition spec as text: "day(ts), region", or "unpartitioned". */
static json_t *spec_text(const struct tn_metadata *m, const struct tn_schema *schema)
{
    json_t *specs = json_object_get(m->root, "partition-specs");
    struct tn_buf b = TN_BUF_INIT(TN_CAP_SQL);
    size_t i;
    json_t *spec, *out;

    json_array_foreach(specs, i, spec)
    {
        json_t *fields = json_object_get(spec, "fields");
        size_t k;
        json_t *f;
        if (json_integer_value(json_object_get(spec, "spec-id")) != m->default_spec_id)
            continue;
        json_array_foreach(fields, k, f)
        {
            const char *tr = json_string_value(json_object_get(f, "transform"));
            int src = (int)json_integer_value(json_object_get(f, "source-id"));
            const struct tn_field *col = schema ? tn_schema_find(schema, src) : NULL;
            const char *name = col ? col->name : "?";
            if (k)
                tn_buf_addstr(&b, ", ", NULL);
            if (tr && strcmp(tr, "identity") != 0)
                tn_buf_addf(&b, NULL, "%s(%s)", tr, name);
            else
                tn_buf_addstr(&b, name, NULL);
        }
    }
    out = json_string(b.len ? b.buf : "unpartitioned");
    tn_buf_release(&b);
    return out;
}

json_t *tn_lake_describe(struct tn_warehouse *wh, const char *ident, int history_max,
                         struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_table *t = NULL;
    const struct tn_metadata *m;
    const struct tn_schema *schema;
    json_t *j, *ids, *snaps;
    size_t first;

    if (tn_ident_parse(ident, ns, name, err) || tn_table_load(wh, ns, name, &t, err))
        return NULL;
    m = t->meta;
    schema = tn_metadata_current_schema(m);
    ids = json_array();
    for (size_t i = 0; schema && i < schema->nidentifier; i++) {
        const struct tn_field *f = tn_schema_find(schema, schema->identifier_ids[i]);
        if (f)
            json_array_append_new(ids, json_string(f->name));
    }
    snaps = json_array();
    first = history_max >= 0 && m->nsnapshots > (size_t)history_max
                ? m->nsnapshots - (size_t)history_max
                : 0;
    for (size_t i = first; i < m->nsnapshots; i++)
        json_array_append_new(snaps, snapshot_json(&m->snapshots[i]));
    j = json_pack("{s:s, s:s, s:i, s:O?, s:o, s:o, s:O?, s:o, s:I, s:o}", "namespace", t->ns,
                  "name", t->name, "format_version", m->format_version, "schema",
                  schema ? schema->json : NULL, "partitioning", spec_text(m, schema),
                  "identifier_fields", ids, "properties", json_object_get(m->root, "properties"),
                  "current_snapshot_id", id_json(m->current_snapshot_id), "snapshot_count",
                  (json_int_t)m->nsnapshots, "snapshots", snaps);
    tn_table_free(t);
    return j;
}

json_t *tn_lake_query(struct tn_warehouse *wh, struct tn_session *s, const char *sql,
                      const struct tn_lake_read *read, struct tn_err *err)
{
    size_t max_rows = read && read->max_rows ? read->max_rows : TN_LAKE_ROWS_DEFAULT;
    struct tn_op_sql op = {.sql = sql,
                           .as_of = read ? read->as_of : NULL,
                           .read_only_hint =
                               "only a read-only SELECT runs here; nothing was changed",
                           .qo = {.snapshot_id = read ? read->snapshot_id : -1}};
    struct tn_op_sql_result res;
    char *columns = NULL, *limited = NULL, *resolved;
    struct tn_rows *r = NULL;
    json_t *out = NULL, *rows, *cols;
    json_error_t jerr;
    size_t n;
    int rc;

    memset(&res, 0, sizeof(res));
    rc = tn_op_sql_prepare(s, &op, &res, err);
    if (!rc && res.st.kind != TN_STMT_READ)
        rc = tn_fail(err, TN_EINPUT, "only a read-only SELECT runs here, not %s",
                     res.st.keyword[0] ? res.st.keyword : "this statement");
    if (!rc)
        rc = tn_op_sql_execute(wh, s, &op, &res, err);
    resolved = res.resolved;
    if (!rc)
        rc = tn_query_columns(wh, s, sql, &op.qo, resolved, &columns, err);
    if (rc)
        goto out;
    /* one row past the cap tells the client the answer was cut */
    limited = tn_asprintf("SELECT * FROM (%s) LIMIT %zu", resolved, max_rows + 1);
    if (tn_engine_rows(s, limited, max_rows + 1, &r, err))
        goto out;
    cols = json_loads(columns, 0, &jerr);
    if (!cols)
        cols = json_array();
    n = r->nrows > max_rows ? max_rows : r->nrows;
    rows = tn_rows_json(r, n);
    out = json_pack("{s:o, s:o, s:I, s:b}", "columns", cols, "rows", rows, "row_count",
                    (json_int_t)n, "truncated", r->nrows > max_rows);
out:
    tn_rows_free(r);
    free(limited);
    free(columns);
    tn_op_sql_release(s, &res);
    return out;
}

json_t *tn_lake_sample(struct tn_warehouse *wh, struct tn_session *s, const char *ident,
                       size_t rows, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_lake_read read = {.snapshot_id = -1, .max_rows = rows};
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    json_t *out;

    if (tn_ident_parse(ident, ns, name, err))
        return NULL;
    tn_buf_addstr(&q, "SELECT * FROM ", NULL);
    tn_sql_ident(&q, ns);
    tn_buf_addstr(&q, ".", NULL);
    tn_sql_ident(&q, name);
    out = tn_lake_query(wh, s, q.buf, &read, err);
    tn_buf_release(&q);
    return out;
}
