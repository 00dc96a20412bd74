/* routes_tables.c - the table routes: GET /tables, GET /tables/{table},
 * GET /tables/{table}/snapshots, POST /tables (create with an explicit schema),
 * POST /tables/register and DELETE /tables/{table}.
 *
 * Table names from the path are checked by tn_route_check_table before anything touches the
 * catalog or the disk. Snapshot ids are written as JSON integers (Iceberg's REST catalog does the
 * same); ids above 2^53 lose precision in JavaScript clients. */
#include "delta/delta.h"
#include "http/http.h"
#include "hudi/hudi.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int tn_route_check_table(struct tn_http_req *req, struct tn_err *err)
{
    struct table_arg *a = tn_calloc(1, sizeof(*a));

    if (tn_ident_parse(req->arg ? req->arg : "", a->ns, a->name, err)) {
        free(a);
        return err->code;
    }
    req->state = a;
    req->free_state = free;
    return 0;
}

/*---- JSON views of a table ----*/

static json_t *json_i64(int64_t v)
{
    return json_integer((json_int_t)v);
}

/* An id that is -1 for "none" as an integer or null. */
static json_t *json_id(int64_t v)
{
    return v == -1 ? json_null() : json_i64(v);
}

static json_t *summary_number(const struct tn_snapshot *s, const char *key)
{
    const char *v = s ? json_string_value(json_object_get(s->summary, key)) : NULL;
    int64_t n;

    if (v && !tn_parse_i64(v, &n))
        return json_i64(n);
    if (s && json_is_integer(json_object_get(s->summary, key)))
        return json_incref(json_object_get(s->summary, key));
    return json_null();
}

/* Summary number "key" of "s", or 0 when absent or unreadable. */
static int64_t summary_i64(const struct tn_snapshot *s, const char *key)
{
    json_t *v = summary_number(s, key);
    int64_t n = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;

    json_decref(v);
    return n;
}

/* What a table is stored as: "hudi" or "delta" for a registered table of those formats (read
 * through tarn's Iceberg translation, "source" naming its folder), else "iceberg". */
static void set_format(json_t *j, const struct tn_table *t)
{
    const char *hudi = tn_hudi_location(t), *delta = tn_delta_source(t);

    json_object_set_new(j, "format", json_string(hudi ? "hudi" : delta ? "delta" : "iceberg"));
    if (hudi || delta)
        json_object_set_new(j, "source", json_string(hudi ? hudi : delta));
}

/* The rows a query of the current snapshot "cur" sees, from its summary: the data files'
 * records less the position deletes (each removes one row; tarn never writes one twice or
 * keeps one whose data file is gone); null when equality deletes apply, which only a scan can
 * count. */
static json_t *live_rows(const struct tn_snapshot *cur)
{
    if (!cur)
        return json_integer(0);
    if (summary_i64(cur, "total-equality-deletes") > 0)
        return json_null();
    return json_i64(summary_i64(cur, "total-records") - summary_i64(cur, "total-position-deletes"));
}

static json_t *snapshot_json(const struct tn_snapshot *s)
{
    json_t *j = json_object();

    json_object_set_new(j, "snapshot_id", json_i64(s->id));
    json_object_set_new(j, "parent_id", json_id(s->parent_id));
    json_object_set_new(j, "sequence_number", json_i64(s->sequence_number));
    json_object_set_new(j, "timestamp_ms", json_i64(s->timestamp_ms));
    json_object_set_new(j, "operation", s->operation ? json_string(s->operation) : json_null());
    json_object_set_new(j, "summary", s->summary ? json_deep_copy(s->summary) : json_object());
    if (s->schema_id >= 0)
        json_object_set_new(j, "schema_id", json_integer(s->schema_id));
    if (s->manifest_list)
        json_object_set_new(j, "manifest_list", json_string(s->manifest_list));
    return j;
}

static json_t *partition_spec_json(const struct tn_metadata *m)
{
    json_t *specs = json_object_get(m->root, "partition-specs");
    size_t i;
    json_t *s;

    json_array_foreach(specs, i, s)
    {
        json_t *id = json_object_get(s, "spec-id");
        if (json_is_integer(id) && json_integer_value(id) == m->default_spec_id)
            return json_deep_copy(s);
    }
    if (json_is_array(json_object_get(m->root, "partition-spec"))) /* v1 */
        return json_pack("{s:i, s:O}", "spec-id", 0, "fields",
                         json_object_get(m->root, "partition-spec"));
    return json_pack("{s:i, s:[]}", "spec-id", 0, "fields");
}

static json_t *table_json(const struct tn_table *t)
{
    const struct tn_metadata *m = t->meta;
    const struct tn_schema *schema = tn_metadata_current_schema(m);
    const struct tn_snapshot *cur = tn_metadata_snapshot(m, m->current_snapshot_id);
    json_t *props = json_object_get(m->root, "properties");
    json_t *ids = json_array();
    json_t *j = json_object();

    for (size_t i = 0; schema && i < schema->nidentifier; i++) {
        const struct tn_field *f = tn_schema_find(schema, schema->identifier_ids[i]);
        if (f)
            json_array_append_new(ids, json_string(f->name));
    }
    json_object_set_new(j, "namespace", json_string(t->ns));
    json_object_set_new(j, "name", json_string(t->name));
    json_object_set_new(j, "location", json_string(m->location ? m->location : ""));
    json_object_set_new(j, "metadata_location", json_string(t->metadata_location));
    json_object_set_new(j, "table_uuid", m->table_uuid ? json_string(m->table_uuid) : json_null());
    json_object_set_new(j, "format_version", json_integer(m->format_version));
    set_format(j, t);
    json_object_set_new(j, "schema", schema ? json_deep_copy(schema->json) : json_null());
    json_object_set_new(j, "partition_spec", partition_spec_json(m));
    json_object_set_new(j, "partition_specs",
                        json_is_array(json_object_get(m->root, "partition-specs"))
                            ? json_deep_copy(json_object_get(m->root, "partition-specs"))
                            : json_array());
    json_object_set_new(j, "identifier_fields", ids);
    {
        json_t *order = NULL, *v;
        size_t i;
        json_array_foreach(json_object_get(m->root, "sort-orders"), i, v)
        {
            if (json_integer_value(json_object_get(v, "order-id")) ==
                json_integer_value(json_object_get(m->root, "default-sort-order-id")))
                order = v;
        }
        json_object_set_new(j, "sort_order", order ? json_deep_copy(order) : json_null());
    }
    json_object_set_new(j, "properties",
                        json_is_object(props) ? json_deep_copy(props) : json_object());
    json_object_set_new(j, "current_snapshot_id", json_id(m->current_snapshot_id));
    json_object_set_new(j, "current_snapshot", cur ? snapshot_json(cur) : json_null());
    json_object_set_new(j, "last_updated_ms", json_i64(m->last_updated_ms));
    json_object_set_new(j, "snapshot_count", json_integer((json_int_t)m->nsnapshots));
    return j;
}

/*---- Routes ----*/

/* What GET /tables tells of a table: its current snapshot, live rows, deletes, files, bytes,
 * last change and format. */
static void table_summary(json_t *j, const struct tn_table *t)
{
    const struct tn_snapshot *cur = tn_metadata_snapshot(t->meta, t->meta->current_snapshot_id);

    json_object_set_new(j, "current_snapshot_id", json_id(t->meta->current_snapshot_id));
    json_object_set_new(j, "rows", live_rows(cur));
    json_object_set_new(j, "records_in_files",
                        cur ? summary_number(cur, "total-records") : json_integer(0));
    json_object_set_new(j, "position_deletes",
                        json_i64(summary_i64(cur, "total-position-deletes")));
    json_object_set_new(j, "equality_deletes",
                        json_i64(summary_i64(cur, "total-equality-deletes")));
    json_object_set_new(j, "data_files",
                        cur ? summary_number(cur, "total-data-files") : json_integer(0));
    json_object_set_new(j, "bytes",
                        cur ? summary_number(cur, "total-files-size") : json_integer(0));
    json_object_set_new(j, "last_updated_ms", json_i64(t->meta->last_updated_ms));
    json_object_set_new(j, "format_version", json_integer(t->meta->format_version));
    set_format(j, t);
}

int tn_route_tables(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    json_t *list = tn_table_list_json(req->wh, table_summary, err);

    if (!list)
        return err->code;
    tn_http_reply_json(out, 200, json_pack("{s:o}", "tables", list));
    return 0;
}

int tn_route_table_get(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    const struct table_arg *a = req->state;
    struct tn_table *t = NULL;
    int rc = tn_table_load(req->wh, a->ns, a->name, &t, err);

    if (rc)
        return rc;
    tn_http_reply_json(out, 200, table_json(t));
    tn_table_free(t);
    return 0;
}

int tn_route_snapshots(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    const struct table_arg *a = req->state;
    struct tn_table *t = NULL;
    char *qualified;
    json_t *list;
    int rc = tn_table_load(req->wh, a->ns, a->name, &t, err);

    if (rc)
        return rc;
    list = json_array();
    for (size_t i = 0; i < t->meta->nsnapshots; i++)
        json_array_append_new(list, snapshot_json(&t->meta->snapshots[i]));
    qualified = tn_asprintf("%s.%s", a->ns, a->name);
    tn_http_reply_json(out, 200,
                       json_pack("{s:s, s:o, s:o}", "table", qualified, "current_snapshot_id",
                                 json_id(t->meta->current_snapshot_id), "snapshots", list));
    free(qualified);
    tn_table_free(t);
    return 0;
}

/*---- POST /tables ----*/

struct ids {
    int next;
};

static int assign_type(json_t *type, struct ids *ids, const char *where, struct tn_err *err);

/* Give every field of a struct its id first, then descend (the order Iceberg-Java uses). */
static int assign_struct(json_t *st, struct ids *ids, const char *where, struct tn_err *err)
{
    json_t *fields = json_object_get(st, "fields");
    json_t *seen = json_object();
    size_t i;
    json_t *f;
    int rc = 0;

    if (!json_is_array(fields)) {
        json_decref(seen);
        return tn_fail(err, TN_EINPUT, "%s: \"fields\" must be an array of fields", where);
    }
    json_array_foreach(fields, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        json_t *req = json_object_get(f, "required");
        if (!json_is_object(f) || !name || !*name) {
            rc = tn_fail(err, TN_EINPUT, "%s: field %zu needs a non-empty \"name\"", where, i + 1);
            break;
        }
        if (json_object_get(seen, name)) {
            rc = tn_fail(err, TN_EINPUT, "%s: field \"%s\" appears twice", where, name);
            break;
        }
        json_object_set_new(seen, name, json_true());
        if (!json_object_get(f, "type")) {
            rc = tn_fail(err, TN_EINPUT, "%s: field \"%s\" needs a \"type\"", where, name);
            break;
        }
        if (req && !json_is_boolean(req)) {
            rc = tn_fail(err, TN_EINPUT, "%s: \"required\" of field \"%s\" must be true or false",
                         where, name);
            break;
        }
        json_object_set_new(f, "id", json_integer(ids->next++));
        json_object_set_new(f, "required", json_boolean(json_is_true(req)));
    }
    json_decref(seen);
    if (rc)
        return rc;
    json_array_foreach(fields, i, f)
    {
        char *sub = tn_asprintf("%s.%s", where, json_string_value(json_object_get(f, "name")));
        rc = assign_type(json_object_get(f, "type"), ids, sub, err);
        free(sub);
        if (rc)
            return rc;
    }
    return 0;
}

static int assign_type(json_t *type, struct ids *ids, const char *where, struct tn_err *err)
{
    const char *kind;

    if (json_is_string(type))
        return 0;
    kind = json_string_value(json_object_get(type, "type"));
    if (!json_is_object(type) || !kind)
        return tn_fail(err, TN_EINPUT,
                       "%s: a type is a string (\"long\", \"decimal(9,2)\", ...) or an object "
                       "with \"type\": struct, list or map",
                       where);
    if (ids->next > 100000)
        return tn_fail(err, TN_EINPUT, "%s: the schema has too many fields", where);
    if (strcmp(kind, "struct") == 0)
        return assign_struct(type, ids, where, err);
    if (strcmp(kind, "list") == 0) {
        json_t *req = json_object_get(type, "element-required");
        json_object_set_new(type, "element-id", json_integer(ids->next++));
        json_object_set_new(type, "element-required", json_boolean(json_is_true(req)));
        if (!json_object_get(type, "element"))
            return tn_fail(err, TN_EINPUT, "%s: a list needs an \"element\" type", where);
        return assign_type(json_object_get(type, "element"), ids, where, err);
    }
    if (strcmp(kind, "map") == 0) {
        json_t *req = json_object_get(type, "value-required");
        int rc;
        json_object_set_new(type, "key-id", json_integer(ids->next++));
        json_object_set_new(type, "value-id", json_integer(ids->next++));
        json_object_set_new(type, "value-required", json_boolean(json_is_true(req)));
        if (!json_object_get(type, "key") || !json_object_get(type, "value"))
            return tn_fail(err, TN_EINPUT, "%s: a map needs \"key\" and \"value\" types", where);
        rc = assign_type(json_object_get(type, "key"), ids, where, err);
        return rc ? rc : assign_type(json_object_get(type, "value"), ids, where, err);
    }
    return tn_fail(err, TN_EINPUT, "%s: unknown type \"%s\" (use struct, list or map)", where,
                   kind);
}

/* The schema JSON for a create request: ids assigned, identifier fields resolved. */
static int create_schema(json_t *body, json_t **out, struct tn_err *err)
{
    json_t *in = json_object_get(body, "schema");
    json_t *idf = json_object_get(body, "identifier_fields");
    json_t *schema, *ids;
    struct tn_schema *parsed = NULL;
    struct ids next = {1};
    size_t i;
    json_t *v;
    int rc;

    if (!json_is_object(in))
        return tn_fail(err, TN_EINPUT,
                       "\"schema\" must be an object: {\"fields\": [{\"name\": \"id\", \"type\": "
                       "\"long\", \"required\": true}, ...]}");
    if (json_array_size(json_object_get(in, "fields")) == 0)
        return tn_fail(err, TN_EINPUT, "\"schema\".\"fields\" must list at least one field");
    schema = json_pack("{s:s, s:i, s:O}", "type", "struct", "schema-id", 0, "fields",
                       json_object_get(in, "fields"));
    json_object_set_new(schema, "fields", json_deep_copy(json_object_get(in, "fields")));
    rc = assign_struct(schema, &next, "schema", err);
    if (rc)
        goto out;
    if (!idf)
        idf = json_object_get(in, "identifier_fields");
    ids = json_array();
    json_object_set_new(schema, "identifier-field-ids", ids);
    if (idf && !json_is_array(idf)) {
        rc = tn_fail(err, TN_EINPUT, "\"identifier_fields\" must be an array of column names");
        goto out;
    }
    json_array_foreach(idf, i, v)
    {
        const char *name = json_string_value(v);
        json_t *f = NULL, *cand;
        size_t k;
        json_array_foreach(json_object_get(schema, "fields"), k, cand)
        {
            if (name && strcmp(json_string_value(json_object_get(cand, "name")), name) == 0)
                f = cand;
        }
        if (!f) {
            rc = tn_fail(err, TN_EINPUT, "identifier field \"%s\" is not a top-level column",
                         name ? name : "(not a string)");
            goto out;
        }
        if (!json_is_true(json_object_get(f, "required"))) {
            rc = tn_fail(err, TN_EINPUT,
                         "identifier field \"%s\" must be required (\"required\": true)", name);
            goto out;
        }
        if (!json_is_string(json_object_get(f, "type"))) {
            rc =
                tn_fail(err, TN_EINPUT, "identifier field \"%s\" must have a primitive type", name);
            goto out;
        }
        json_array_append(ids, json_object_get(f, "id"));
    }
    rc = tn_schema_parse(schema, &parsed, err); /* checks every type */
    if (rc)
        goto out;
    *out = schema;
    schema = NULL;
out:
    tn_schema_free(parsed);
    json_decref(schema);
    return rc;
}

/* The partition spec of a POST /tables body as tarn's text ("day(ts), bucket(16, id)"), or NULL
 * for none: "partition_by" (that text), or "partition-spec" / "partition_spec" (an Iceberg spec
 * object or its "fields" list; each field's column by "source-name", or by "source-id" in the
 * schema just built, and its transform as Iceberg writes it: identity, day, bucket[16], ...). */
static int partition_text(json_t *body, json_t *schema, char **out, struct tn_err *err)
{
    json_t *by = json_object_get(body, "partition_by");
    json_t *spec = json_object_get(body, "partition-spec");
    json_t *fields, *f;
    struct tn_buf b = TN_BUF_INIT(TN_CAP_VALUE);
    size_t i;

    *out = NULL;
    if (!spec)
        spec = json_object_get(body, "partition_spec");
    if (by && !json_is_null(by)) {
        if (!json_is_string(by))
            return tn_fail(err, TN_EINPUT,
                           "\"partition_by\" is text: \"day(ts), bucket(16, id), region\"");
        if (spec && !json_is_null(spec))
            return tn_fail(err, TN_EINPUT, "give \"partition_by\" or \"partition-spec\", not both");
        *out = tn_strdup(json_string_value(by));
        return 0;
    }
    fields = json_is_object(spec) ? json_object_get(spec, "fields") : spec;
    if (!spec || json_is_null(spec) || json_array_size(fields) == 0)
        return 0;
    if (!json_is_array(fields))
        return tn_fail(err, TN_EINPUT,
                       "\"partition-spec\" is {\"fields\": [{\"source-name\": \"ts\", "
                       "\"transform\": \"day\"}, ...]}");
    json_array_foreach(fields, i, f)
    {
        const char *col = json_string_value(json_object_get(f, "source-name"));
        const char *tr = json_string_value(json_object_get(f, "transform"));
        json_t *sid = json_object_get(f, "source-id");
        int width = 0;
        if (!col && json_is_integer(sid)) {
            size_t k;
            json_t *field;
            json_array_foreach(json_object_get(schema, "fields"), k, field)
            {
                if (json_integer_value(json_object_get(field, "id")) == json_integer_value(sid))
                    col = json_string_value(json_object_get(field, "name"));
            }
        }
        if (!col || !tr) {
            tn_buf_release(&b);
            return tn_fail(err, TN_EINPUT,
                           "partition field %zu needs \"transform\" and \"source-name\" (or a "
                           "\"source-id\" of the schema)",
                           i + 1);
        }
        if (b.len)
            tn_buf_addstr(&b, ", ", NULL);
        if (strcmp(tr, "identity") == 0) {
            tn_buf_addstr(&b, col, NULL);
        } else if ((sscanf(tr, "bucket[%d]", &width) == 1 ||
                    sscanf(tr, "truncate[%d]", &width) == 1) &&
                   width > 0) {
            tn_buf_addf(&b, NULL, "%.*s(%d, %s)", (int)strcspn(tr, "["), tr, width, col);
        } else {
            tn_buf_addf(&b, NULL, "%s(%s)", tr, col);
        }
    }
    *out = tn_buf_detach(&b, NULL);
    return 0;
}

int tn_route_table_create(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    const char *ident = json_string_value(json_object_get(req->json, "name"));
    json_t *props = json_object_get(req->json, "properties");
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    char *spec_text = NULL;
    json_t *schema = NULL;
    struct tn_table *t = NULL;
    const char *k;
    json_t *v;
    int rc;

    if (!req->json)
        return tn_fail(err, TN_EINPUT,
                       "send a JSON body: {\"name\": \"ns.table\", \"schema\": "
                       "{\"fields\": [...]}}");
    if (!ident)
        return tn_fail(err, TN_EINPUT, "\"name\" (the table, as namespace.table) is required");
    rc = tn_ident_parse(ident, ns, name, err);
    if (rc)
        return rc;
    if (props && !json_is_object(props))
        return tn_fail(err, TN_EINPUT, "\"properties\" must be an object of strings");
    json_object_foreach(props, k, v)
    {
        if (!json_is_string(v))
            return tn_fail(err, TN_EINPUT, "property \"%s\" must be a string", k);
    }
    rc = create_schema(req->json, &schema, err);
    if (!rc)
        rc = partition_text(req->json, schema, &spec_text, err);
    if (!rc)
        rc = tn_table_create_partitioned(req->wh, ns, name, schema, props, spec_text, &t, err);
    free(spec_text);
    if (!rc)
        tn_http_reply_json(out, 200, table_json(t));
    json_decref(schema);
    tn_table_free(t);
    return rc;
}

/*---- POST /tables/register ----*/

/* "uri" as a local path: file:///x, file:/x and /x are local, anything else is not. */
static const char *local_part(const char *uri)
{
    if (strncmp(uri, "file://", 7) == 0)
        return uri + 7;
    if (strncmp(uri, "file:", 5) == 0)
        return uri + 5;
    return uri;
}

/* 1 when "uri" names a location under the object store root "root" (s3://bucket/prefix): it
 * starts with "root/" and no segment after that is empty, "." or "..". */
static int under_remote_root(const char *root, const char *uri)
{
    size_t n = strlen(root);
    const char *seg;

    if (strncmp(uri, root, n) != 0 || uri[n] != '/')
        return 0;
    for (seg = uri + n + 1;; seg++) {
        size_t len = strcspn(seg, "/");
        if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return 0;
        seg += len;
        if (!*seg)
            return 1;
    }
}

/* Over HTTP, registration must stay inside the warehouse: the metadata file, and every path
 * map target, are checked to lie under the warehouse root (after resolving symlinks; on an
 * object store, under its s3:// root, and the metadata file must exist there). */
static int inside_warehouse(struct tn_http_req *req, const char *uri, int must_exist,
                            struct tn_err *err)
{
    const char *root = tn_storage_root_path(req->wh->storage);
    char *real_root, *real;
    size_t n;
    int64_t size;
    int ok, rc;

    if (tn_storage_is_remote(req->wh->storage)) {
        root = tn_storage_root_uri(req->wh->storage);
        if (!under_remote_root(root, uri))
            return tn_fail(err, TN_EFORBIDDEN,
                           "%s is outside the warehouse (%s); over HTTP only tables inside the "
                           "warehouse can be registered (copy the table there, or use 'tarn "
                           "register')",
                           uri, root);
        if (!must_exist)
            return 0;
        rc = tn_storage_size(req->wh->storage, uri, &size, err);
        if (rc == TN_ENOTFOUND)
            return tn_fail(err, TN_ENOTFOUND, "metadata file %s does not exist", uri);
        return rc;
    }
    real_root = realpath(root, NULL);
    real = realpath(local_part(uri), NULL);
    n = real_root ? strlen(real_root) : 0;
    if (!real) {
        /* a path that does not exist is judged by its text, so that the answer never says
           whether a path outside the warehouse exists: outside is 403, inside 404 */
        const char *p = local_part(uri);
        size_t len = strlen(p);
        ok = real_root && p[0] == '/' && !strstr(p, "/../") &&
             !(len >= 3 && strcmp(p + len - 3, "/..") == 0) && strncmp(p, real_root, n) == 0 &&
             (p[n] == '/' || p[n] == '\0');
        if (ok && must_exist) {
            free(real_root);
            return tn_fail(err, TN_ENOTFOUND, "metadata file %s does not exist", uri);
        }
    } else {
        ok = real_root && strncmp(real, real_root, n) == 0 && (real[n] == '/' || real[n] == '\0');
    }
    free(real_root);
    free(real);
    if (ok)
        return 0;
    return tn_fail(err, TN_EFORBIDDEN,
                   "%s is outside the warehouse (%s); over HTTP only tables inside the warehouse "
                   "can be registered (copy the table there, or use 'tarn register')",
                   uri, root);
}

int tn_route_table_register(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    const char *ident = json_string_value(json_object_get(req->json, "name"));
    const char *location = json_string_value(json_object_get(req->json, "metadata_location"));
    const char *format = json_string_value(json_object_get(req->json, "format"));
    json_t *map = json_object_get(req->json, "path_map");
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_table *t = NULL;
    char *resolved = NULL;
    const char *k;
    json_t *v;
    size_t best = 0;
    int rc;

    if (!location) /* a Delta table is named by its folder */
        location = json_string_value(json_object_get(req->json, "location"));
    if (!ident || !location)
        return tn_fail(err, TN_EINPUT,
                       "send {\"name\": \"ns.table\", \"metadata_location\": "
                       "\"file:///.../metadata/00001-....metadata.json\"} (for a Hudi table, "
                       "its base path, and optionally \"format\": \"hudi\"; for a Delta table, "
                       "its folder as \"location\", and optionally \"format\": \"delta\")");
    rc = tn_ident_parse(ident, ns, name, err);
    if (rc)
        return rc;
    if (format && strcmp(format, "iceberg") != 0) { /* a table tarn reads from another format */
        if (strcmp(format, "hudi") != 0 && strcmp(format, "delta") != 0)
            return tn_fail(err, TN_EINPUT, "\"format\" must be \"iceberg\", \"hudi\" or \"delta\"");
        rc = inside_warehouse(req, location, 1, err);
        if (!rc && strcmp(format, "hudi") == 0 && !tn_hudi_detect(req->wh, location))
            rc = tn_fail(err, TN_ENOTFOUND,
                         "%s is not a Hudi table: it has no .hoodie/hoodie.properties", location);
        if (!rc && strcmp(format, "delta") == 0 && !tn_delta_is_table(req->wh->storage, location))
            rc = tn_fail(err, TN_ENOTFOUND,
                         "%s is not a Delta table: it has no _delta_log folder with a commit or "
                         "checkpoint",
                         location);
    }
    if (rc)
        return rc;
    if (map && json_is_null(map))
        map = NULL;
    if (map && !json_is_object(map))
        return tn_fail(err, TN_EINPUT, "\"path_map\" must be an object {\"from\": \"to\"}");
    json_object_foreach(map, k, v)
    {
        if (!json_is_string(v) || !*k)
            return tn_fail(err, TN_EINPUT, "\"path_map\" values must be location prefixes");
        rc = inside_warehouse(req, json_string_value(v), 0, err);
        if (rc)
            return rc;
        if (strncmp(location, k, strlen(k)) == 0 && strlen(k) > best) {
            best = strlen(k);
            free(resolved);
            resolved = tn_asprintf("%s%s", json_string_value(v), location + best);
        }
    }
    rc = inside_warehouse(req, resolved ? resolved : location, 1, err);
    free(resolved);
    if (!rc)
        rc = tn_table_register_inside(req->wh, ns, name, location, map, err);
    if (!rc)
        rc = tn_table_load(req->wh, ns, name, &t, err);
    if (!rc)
        tn_http_reply_json(out, 200, table_json(t));
    tn_table_free(t);
    return rc;
}

/*---- DELETE /tables/{table} ----*/

int tn_route_table_drop(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    const struct table_arg *a = req->state;
    const char *p = tn_http_param(req, "purge");
    struct tn_purge_result res;
    int purge = 0, rc;

    if (p && (strcasecmp(p, "true") == 0 || strcmp(p, "1") == 0))
        purge = 1;
    else if (p && strcasecmp(p, "false") != 0 && strcmp(p, "0") != 0)
        return tn_fail(err, TN_EINPUT, "purge must be true or false");
    rc = tn_table_drop_report(req->wh, a->ns, a->name, purge, &res, err);
    if (rc)
        return rc;
    {
        char *q = tn_asprintf("%s.%s", a->ns, a->name);
        json_t *body = json_pack("{s:s, s:b}", "dropped", q, "purged", purge);
        if (purge) { /* kept: files its metadata names outside its own folder */
            json_object_set_new(body, "files_deleted", json_integer(res.deleted));
            json_object_set_new(body, "files_kept", json_integer(res.kept));
        }
        tn_http_reply_json(out, 200, body);
        free(q);
    }
    return 0;
}
