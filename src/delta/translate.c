/* translate.c - a Delta table as an Iceberg table tarn owns: registration, and the translation
 * of each Delta version into one snapshot committed through tn__commit (see delta.h).
 *
 * Per version: the Delta schema becomes an Iceberg schema (field ids from column mapping, else
 * kept stable by column path) with a name mapping to the names the Parquet files use; partition
 * columns become identity partition fields whose values go into the manifests; the log's stats
 * become bounds, null counts and record counts; deletion vectors become position-delete files in
 * tarn's folder. Files live in the previous snapshot stay EXISTING entries, so incremental
 * readers see what each version changed. */
#include "delta/delta.h"
#include "delta/dv.h"
#include "avro/avro.h"
#include "table/table_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DV_FILE_MAX_BYTES (1024L * 1024 * 1024)

/* Translations running on this thread: a commit's reload of the table must not translate it
 * again from inside the translation, and the translation's own commits are no refused write. */
static _Thread_local int translating;

/*---- Small helpers ----*/

static const char *prop(const struct tn_metadata *m, const char *key)
{
    return json_string_value(json_object_get(json_object_get(m->root, "properties"), key));
}

const char *tn_delta_source(const struct tn_table *t)
{
    return t && t->meta ? prop(t->meta, TN_DELTA_PROP_LOCATION) : NULL;
}

/* "ms" as UTC text, YYYY-MM-DD HH:MM:SS.mmm */
static void utc_text(int64_t ms, char *out, size_t len)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    size_t n = 0;

    if (gmtime_r(&secs, &tm))
        n = strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm);
    if (n)
        snprintf(out + n, len - n, ".%03d", (int)(ms - (int64_t)secs * 1000));
    else
        snprintf(out, len, "%lld ms", (long long)ms);
}

int tn_delta_before_first(const struct tn_table *t, int64_t ms, int64_t first_ms,
                          struct tn_err *err)
{
    const char *version = NULL;
    char asked[40], first[40];

    for (size_t i = 0; i < t->meta->nsnapshots && !version; i++)
        if (t->meta->snapshots[i].timestamp_ms == first_ms)
            version = json_string_value(
                json_object_get(t->meta->snapshots[i].summary, TN_DELTA_SUMMARY_VERSION));
    utc_text(ms, asked, sizeof asked);
    utc_text(first_ms, first, sizeof first);
    return tn_fail(err, TN_ENOTFOUND,
                   "table %s.%s: the timestamp %s UTC is before the earliest version available "
                   "of the Delta table (version %s, committed at %s UTC); use a timestamp at or "
                   "after %s UTC",
                   t->ns, t->name, asked, version ? version : "?", first, first);
}

int tn_delta_check_write(const struct tn_table *t, struct tn_err *err)
{
    const char *src = tn_delta_source(t);

    if (!src || translating)
        return 0;
    return tn_fail(err, TN_EFORBIDDEN,
                   "table %s.%s is the Delta table at %s, registered read-only: tarn reads it "
                   "but does not write it; change it with a Delta writer (tarn picks up new "
                   "versions when it next reads the table)",
                   t->ns, t->name, src);
}

/* Percent-decode "s" (a Delta add.path is a URI path). */
static char *percent_decode(const char *s)
{
    size_t n = strlen(s), k = 0;
    char *out = tn_malloc(n + 1);

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && tn_hex_value(s[i + 1]) >= 0 &&
            tn_hex_value(s[i + 2]) >= 0) {
            out[k++] = (char)(tn_hex_value(s[i + 1]) * 16 + tn_hex_value(s[i + 2]));
            i += 2;
        } else {
            out[k++] = s[i];
        }
    }
    out[k] = '\0';
    return out;
}

char *tn_delta_file_uri(const char *location, const char *path)
{
    char *decoded, *uri;

    if (strncmp(path, "file:", 5) == 0) {
        const char *p = path + 5;
        while (p[0] == '/' && p[1] == '/')
            p++;
        return percent_decode(p);
    }
    if (strstr(path, "://"))
        return tn_strdup(path);
    decoded = percent_decode(path);
    uri = decoded[0] == '/' ? tn_strdup(decoded) : tn_asprintf("%s/%s", location, decoded);
    free(decoded);
    return uri;
}

/*---- Schemas ----*/

enum mapping_mode { MAP_NONE, MAP_ID, MAP_NAME };

struct schema_ctx {
    enum mapping_mode mode;
    json_t *old_ids; /* column path -> id in the previous Iceberg schema */
    int next_id;
    struct tn_err *err;
    int failed;
};

#define PATH_SEP "\x1f"

/* Record the ids of an Iceberg type's fields by path into "ids". */
static void collect_ids(json_t *type, const char *path, json_t *ids)
{
    json_t *f;
    size_t i;
    char *p;

    if (!json_is_object(type))
        return;
    if (strcmp(json_string_value(json_object_get(type, "type")), "struct") == 0) {
        json_array_foreach(json_object_get(type, "fields"), i, f)
        {
            p = *path ? tn_asprintf("%s" PATH_SEP "%s", path,
                                    json_string_value(json_object_get(f, "name")))
                      : tn_strdup(json_string_value(json_object_get(f, "name")));
            json_object_set(ids, p, json_object_get(f, "id"));
            collect_ids(json_object_get(f, "type"), p, ids);
            free(p);
        }
    } else if (strcmp(json_string_value(json_object_get(type, "type")), "list") == 0) {
        p = tn_asprintf("%s" PATH_SEP "element", path);
        json_object_set(ids, p, json_object_get(type, "element-id"));
        collect_ids(json_object_get(type, "element"), p, ids);
        free(p);
    } else if (strcmp(json_string_value(json_object_get(type, "type")), "map") == 0) {
        p = tn_asprintf("%s" PATH_SEP "key", path);
        json_object_set(ids, p, json_object_get(type, "key-id"));
        collect_ids(json_object_get(type, "key"), p, ids);
        free(p);
        p = tn_asprintf("%s" PATH_SEP "value", path);
        json_object_set(ids, p, json_object_get(type, "value-id"));
        collect_ids(json_object_get(type, "value"), p, ids);
        free(p);
    }
}

/* An id for the nested element at "path" (list element, map key or value). */
static int nested_id(struct schema_ctx *c, const char *path)
{
    json_t *old = json_object_get(c->old_ids, path);

    if (json_is_integer(old))
        return (int)json_integer_value(old);
    return c->next_id++;
}

static json_t *iceberg_type(json_t *dt, const char *path, struct schema_ctx *c, json_t *mapping);

/* A Delta primitive type name as an Iceberg type. */
static json_t *primitive(const char *t, struct schema_ctx *c)
{
    static const char *const pairs[][2] = {
        {"string", "string"},
        {"long", "long"},
        {"integer", "int"},
        {"short", "int"},
        {"byte", "int"},
        {"float", "float"},
        {"double", "double"},
        {"boolean", "boolean"},
        {"binary", "binary"},
        {"date", "date"},
        {"timestamp", "timestamptz"},
        {"timestamp_ntz", "timestamp"},
    };
    int p, s;

    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        if (strcmp(t, pairs[i][0]) == 0)
            return json_string(pairs[i][1]);
    if (sscanf(t, "decimal(%d,%d)", &p, &s) == 2 || sscanf(t, "decimal(%d, %d)", &p, &s) == 2) {
        char buf[32];
        snprintf(buf, sizeof(buf), "decimal(%d, %d)", p, s);
        return json_string(buf);
    }
    if (!c->failed)
        tn_fail(c->err, TN_EINPUT, "the Delta type '%s' is not one tarn reads", t);
    c->failed = 1;
    return json_string("string");
}

/* A Delta struct's fields as Iceberg fields; name-mapping entries go into "mapping". */
static json_t *struct_fields(json_t *fields, const char *path, struct schema_ctx *c,
                             json_t *mapping)
{
    json_t *out = json_array(), *f;
    size_t i;

    json_array_foreach(fields, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        json_t *meta = json_object_get(f, "metadata");
        json_t *cm_id = json_object_get(meta, "delta.columnMapping.id");
        const char *phys =
            json_string_value(json_object_get(meta, "delta.columnMapping.physicalName"));
        json_t *nested_map = json_array(), *entry;
        char *p;
        int id;

        if (!name) {
            c->failed = 1;
            tn_fail(c->err, TN_EINPUT, "a field of the Delta schema has no name");
            name = "?";
        }
        p = *path ? tn_asprintf("%s" PATH_SEP "%s", path, name) : tn_strdup(name);
        if (c->mode != MAP_NONE && json_is_integer(cm_id))
            id = (int)json_integer_value(cm_id);
        else
            id = nested_id(c, p);
        entry = json_pack("{s:i, s:[s]}", "field-id", id, "names",
                          c->mode != MAP_NONE && phys ? phys : name);
        json_array_append_new(
            out, json_pack("{s:i, s:s, s:b, s:o}", "id", id, "name", name, "required",
                           json_is_false(json_object_get(f, "nullable")), "type",
                           iceberg_type(json_object_get(f, "type"), p, c, nested_map)));
        if (json_array_size(nested_map))
            json_object_set(entry, "fields", nested_map);
        json_decref(nested_map);
        json_array_append_new(mapping, entry);
        free(p);
    }
    return out;
}

static json_t *iceberg_type(json_t *dt, const char *path, struct schema_ctx *c, json_t *mapping)
{
    const char *kind;
    char *p;
    json_t *out, *sub;

    if (json_is_string(dt))
        return primitive(json_string_value(dt), c);
    kind = json_string_value(json_object_get(dt, "type"));
    if (kind && strcmp(kind, "struct") == 0)
        return json_pack("{s:s, s:o}", "type", "struct", "fields",
                         struct_fields(json_object_get(dt, "fields"), path, c, mapping));
    if (kind && strcmp(kind, "array") == 0) {
        int id;
        sub = json_array();
        p = tn_asprintf("%s" PATH_SEP "element", path);
        id = nested_id(c, p);
        out = json_pack("{s:s, s:i, s:o, s:b}", "type", "list", "element-id", id, "element",
                        iceberg_type(json_object_get(dt, "elementType"), p, c, sub),
                        "element-required", json_is_false(json_object_get(dt, "containsNull")));
        json_array_append_new(mapping, json_pack("{s:i, s:[s], s:o}", "field-id", id, "names",
                                                 "element", "fields", sub));
        free(p);
        return out;
    }
    if (kind && strcmp(kind, "map") == 0) {
        int kid, vid;
        json_t *ksub = json_array();
        char *kp = tn_asprintf("%s" PATH_SEP "key", path);
        sub = json_array();
        p = tn_asprintf("%s" PATH_SEP "value", path);
        kid = nested_id(c, kp);
        vid = nested_id(c, p);
        out = json_pack("{s:s, s:i, s:o, s:i, s:o, s:b}", "type", "map", "key-id", kid, "key",
                        iceberg_type(json_object_get(dt, "keyType"), kp, c, ksub), "value-id", vid,
                        "value", iceberg_type(json_object_get(dt, "valueType"), p, c, sub),
                        "value-required", json_is_false(json_object_get(dt, "valueContainsNull")));
        json_array_append_new(mapping, json_pack("{s:i, s:[s], s:o}", "field-id", kid, "names",
                                                 "key", "fields", ksub));
        json_array_append_new(mapping, json_pack("{s:i, s:[s], s:o}", "field-id", vid, "names",
                                                 "value", "fields", sub));
        free(kp);
        free(p);
        return out;
    }
    if (!c->failed)
        tn_fail(c->err, TN_EINPUT, "the Delta schema has a type tarn does not read: %s",
                kind ? kind : "?");
    c->failed = 1;
    return json_string("string");
}

/* The highest field id a Delta schema's column mapping assigned (0 when none). */
static int max_mapped_id(json_t *dt)
{
    int best = 0, v;
    json_t *f;
    size_t i;

    if (!json_is_object(dt))
        return 0;
    json_array_foreach(json_object_get(dt, "fields"), i, f)
    {
        json_t *id = json_object_get(json_object_get(f, "metadata"), "delta.columnMapping.id");
        if (json_is_integer(id) && json_integer_value(id) > best)
            best = (int)json_integer_value(id);
        if ((v = max_mapped_id(json_object_get(f, "type"))) > best)
            best = v;
    }
    if ((v = max_mapped_id(json_object_get(dt, "elementType"))) > best)
        best = v;
    if ((v = max_mapped_id(json_object_get(dt, "keyType"))) > best)
        best = v;
    if ((v = max_mapped_id(json_object_get(dt, "valueType"))) > best)
        best = v;
    return best;
}

static enum mapping_mode mapping_mode(const json_t *metadata)
{
    const char *mode = json_string_value(
        json_object_get(json_object_get(metadata, "configuration"), "delta.columnMapping.mode"));

    if (mode && strcmp(mode, "id") == 0)
        return MAP_ID;
    if (mode && strcmp(mode, "name") == 0)
        return MAP_NAME;
    return MAP_NONE;
}

/* The Iceberg schema (fields only) and name mapping of Delta metadata "metadata", keeping the
 * ids of "previous" (an Iceberg schema JSON, or NULL) for columns it had. */
static int schema_of(const json_t *metadata, const json_t *previous, int last_column_id,
                     json_t **out_schema, json_t **out_mapping, struct tn_err *err)
{
    const char *text = json_string_value(json_object_get(metadata, "schemaString"));
    json_t *dt = text ? json_loads(text, 0, NULL) : NULL;
    struct schema_ctx c = {0};
    json_t *mapping = json_array(), *schema;

    if (!json_is_object(dt)) {
        json_decref(dt);
        json_decref(mapping);
        return tn_fail(err, TN_EINPUT, "the Delta metaData action has no valid schemaString");
    }
    c.mode = mapping_mode(metadata);
    c.err = err;
    c.old_ids = json_object();
    if (previous)
        collect_ids((json_t *)previous, "", c.old_ids);
    c.next_id = last_column_id + 1;
    if (max_mapped_id(dt) >= c.next_id)
        c.next_id = max_mapped_id(dt) + 1;
    {
        json_t *mx = json_object_get(json_object_get(metadata, "configuration"),
                                     "delta.columnMapping.maxColumnId");
        int64_t v;
        if (json_is_string(mx) && !tn_parse_i64(json_string_value(mx), &v) && v >= c.next_id &&
            v < 1000000000)
            c.next_id = (int)v + 1;
    }
    schema = json_pack("{s:s, s:o}", "type", "struct", "fields",
                       struct_fields(json_object_get(dt, "fields"), "", &c, mapping));
    json_decref(c.old_ids);
    json_decref(dt);
    if (c.failed) {
        json_decref(schema);
        json_decref(mapping);
        return err->code;
    }
    *out_schema = schema;
    *out_mapping = mapping;
    return 0;
}

/*---- Files ----*/

/* What translating one version needs. */
struct version_ctx {
    struct tn_warehouse *wh;
    const char *location;
    struct tn_delta_state *state; /* at the version */
    json_t *prev_files;           /* live files at the version before (path -> add), or NULL */
    int first;                    /* the table's first snapshot */
    int done;                     /* the staged base had the version already */
};

/* The physical name Delta uses for top-level Iceberg field "f" (stats, partition values). */
static const char *physical_name(const json_t *delta_fields, const char *logical, int mapped)
{
    json_t *f;
    size_t i;

    json_array_foreach(delta_fields, i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "name")), logical) == 0) {
            const char *phys = json_string_value(json_object_get(
                json_object_get(f, "metadata"), "delta.columnMapping.physicalName"));
            return mapped && phys ? phys : logical;
        }
    }
    return logical;
}

/* A partition value text as the Iceberg value of type "t". */
static int partition_value(const struct tn_type *t, const char *text, struct tn_pvalue *pv)
{
    unsigned char enc[TN_BOUND_MAX];
    size_t len = 0;
    struct tn_err ignored;

    memset(pv, 0, sizeof(*pv));
    if (!text || !*text || strcmp(text, "__HIVE_DEFAULT_PARTITION__") == 0) {
        pv->is_null = 1;
        return 0;
    }
    if (t->kind == TN_T_STRING || t->kind == TN_T_BINARY) {
        pv->kind = t->kind == TN_T_STRING ? TN_AVRO_STRING : TN_AVRO_BYTES;
        pv->bytes.n = strlen(text);
        pv->bytes.p = (unsigned char *)tn_strndup(text, pv->bytes.n);
        return 0;
    }
    if (tn_bound_encode(t, text, 0, enc, &len, &ignored))
        return -1;
    switch (t->kind) {
    case TN_T_BOOLEAN:
        pv->kind = TN_AVRO_BOOLEAN;
        pv->i = enc[0] != 0;
        break;
    case TN_T_INT:
    case TN_T_DATE:
        pv->kind = TN_AVRO_INT;
        pv->i = (int32_t)((uint32_t)enc[0] | (uint32_t)enc[1] << 8 | (uint32_t)enc[2] << 16 |
                          (uint32_t)enc[3] << 24);
        break;
    case TN_T_FLOAT: {
        float f;
        memcpy(&f, enc, 4);
        pv->kind = TN_AVRO_FLOAT;
        pv->d = f;
        break;
    }
    case TN_T_DOUBLE:
        pv->kind = TN_AVRO_DOUBLE;
        memcpy(&pv->d, enc, 8);
        break;
    case TN_T_LONG:
    case TN_T_TIMESTAMP:
    case TN_T_TIMESTAMPTZ:
        pv->kind = TN_AVRO_LONG;
        for (int i = 0; i < 8; i++)
            pv->i |= (int64_t)((uint64_t)enc[i] << (8 * i));
        break;
    default: /* decimal: its unscaled bytes */
        pv->kind = TN_AVRO_BYTES;
        pv->bytes.p = tn_malloc(len ? len : 1);
        memcpy(pv->bytes.p, enc, len);
        pv->bytes.n = len;
        break;
    }
    return 0;
}

/* A statistic value as text for tn_bound_encode ("upper" for a maximum). NULL: no bound. */
static char *stat_text(const struct tn_type *t, const json_t *v, int upper)
{
    if (t->kind == TN_T_FLOAT || t->kind == TN_T_DOUBLE)
        return NULL; /* NaN may hide outside the log's bounds */
    if (json_is_integer(v))
        return tn_asprintf("%lld", (long long)json_integer_value(v));
    if (json_is_real(v))
        return t->kind == TN_T_DECIMAL ? tn_asprintf("%.*f", t->scale, json_real_value(v)) : NULL;
    if (json_is_boolean(v))
        return tn_strdup(json_is_true(v) ? "true" : "false");
    if (!json_is_string(v))
        return NULL;
    if (t->kind == TN_T_STRING && upper && json_string_length(v) >= 32)
        return NULL; /* Delta truncates long strings: a prefix is no upper bound */
    if (t->kind == TN_T_TIMESTAMP || t->kind == TN_T_TIMESTAMPTZ) {
        /* "2021-01-01T10:00:00.123Z" (milliseconds: a maximum covers the rest of its ms) */
        const char *s = json_string_value(v);
        size_t n = strlen(s);
        char *text;
        if (n && s[n - 1] == 'Z')
            text =
                tn_asprintf("%.*s%s", (int)n - 1, s, t->kind == TN_T_TIMESTAMPTZ ? "+00:00" : "");
        else
            text = tn_strdup(s);
        if (upper && strlen(text) >= 23 && text[19] == '.' && text[23] != '9') {
            /* extend "...ss.mmm" to "...ss.mmm999" */
            char *longer = tn_asprintf("%.23s999%s", text, text + 23);
            free(text);
            text = longer;
        }
        return text;
    }
    return tn_strdup(json_string_value(v));
}

static void add_bound(struct tn_id_bytes **v, size_t *n, int id, const unsigned char *p, size_t len)
{
    *v = tn_realloc(*v, (*n + 1) * sizeof(**v));
    (*v)[*n].id = id;
    (*v)[*n].value.p = tn_malloc(len ? len : 1);
    memcpy((*v)[*n].value.p, p, len);
    (*v)[*n].value.n = len;
    (*n)++;
}

static void add_long(struct tn_id_long **v, size_t *n, int id, int64_t value)
{
    *v = tn_realloc(*v, (*n + 1) * sizeof(**v));
    (*v)[*n].id = id;
    (*v)[*n].value = value;
    (*n)++;
}

/* Bounds and counts of the fields of struct type "st" (Delta fields "delta_fields") from the
 * stats objects at this level. */
static void struct_stats(const struct tn_type *st, const json_t *delta_fields, int mapped,
                         const json_t *mins, const json_t *maxs, const json_t *nulls,
                         int64_t records, int top, int tight, const json_t *partition_cols,
                         struct tn_data_file *df)
{
    for (size_t i = 0; i < st->nfields; i++) {
        const struct tn_field *f = &st->fields[i];
        const char *phys = physical_name(delta_fields, f->name, mapped);
        const json_t *mn = json_object_get(mins, phys), *mx = json_object_get(maxs, phys);
        const json_t *nc = json_object_get(nulls, phys);
        unsigned char enc[TN_BOUND_MAX];
        size_t len;
        struct tn_err ignored;
        char *text;

        if (top && partition_cols && json_object_get(partition_cols, f->name))
            continue;
        if (f->type->kind == TN_T_STRUCT) {
            const json_t *sub = NULL, *df_;
            size_t k;
            json_array_foreach(delta_fields, k, df_)
            {
                if (strcmp(json_string_value(json_object_get(df_, "name")), f->name) == 0)
                    sub = json_object_get(json_object_get(df_, "type"), "fields");
            }
            struct_stats(f->type, sub, mapped, mn, mx, nc, records, 0, tight, NULL, df);
            continue;
        }
        if (!tn_type_is_primitive(f->type))
            continue;
        if ((text = stat_text(f->type, mn, 0))) {
            if (!tn_bound_encode(f->type, text, 0, enc, &len, &ignored))
                add_bound(&df->lower, &df->nlower, f->id, enc, len);
            free(text);
        }
        if ((text = stat_text(f->type, mx, 1))) {
            if (!tn_bound_encode(f->type, text, 1, enc, &len, &ignored))
                add_bound(&df->upper, &df->nupper, f->id, enc, len);
            free(text);
        }
        if (tight && json_is_integer(nc)) {
            add_long(&df->null_counts, &df->nnull_counts, f->id, json_integer_value(nc));
            if (top && records >= 0)
                add_long(&df->value_counts, &df->nvalue_counts, f->id, records);
        }
    }
}

/* The Iceberg data file of Delta add action "add". */
static int data_file(struct version_ctx *c, const struct tn_metadata *m, json_t *add,
                     struct tn_data_file *df, struct tn_err *err)
{
    const struct tn_schema *schema = tn_metadata_current_schema(m);
    const struct tn_spec *spec = tn_metadata_spec(m, m->default_spec_id);
    const json_t *meta = c->state->metadata;
    int mapped = mapping_mode(meta) != MAP_NONE;
    const char *schema_text = json_string_value(json_object_get(meta, "schemaString"));
    json_t *dschema = schema_text ? json_loads(schema_text, 0, NULL) : NULL;
    json_t *dfields = json_object_get(dschema, "fields");
    json_t *stats = NULL, *pcols = json_object();
    const char *stats_text = json_string_value(json_object_get(add, "stats"));
    json_t *pvals = json_object_get(add, "partitionValues"), *pc;
    size_t i;
    int rc = 0;

    memset(df, 0, sizeof(*df));
    df->sort_order_id = -1;
    df->file_path = tn_delta_file_uri(c->location, json_string_value(json_object_get(add, "path")));
    df->file_format = tn_strdup("PARQUET");
    df->file_size = json_integer_value(json_object_get(add, "size"));
    if (stats_text)
        stats = json_loads(stats_text, 0, NULL);
    else if (json_is_object(json_object_get(add, "stats_parsed")))
        stats = json_incref(json_object_get(add, "stats_parsed"));
    json_array_foreach(json_object_get(meta, "partitionColumns"), i, pc)
    {
        if (json_is_string(pc))
            json_object_set_new(pcols, json_string_value(pc), json_true());
    }
    df->record_count = -1;
    if (json_is_integer(json_object_get(stats, "numRecords")))
        df->record_count = json_integer_value(json_object_get(stats, "numRecords"));
    if (df->record_count < 0) {
        /* no stats: the Parquet footer knows */
        struct tn_parquet_footer pf;
        char *path = NULL;
        memset(&pf, 0, sizeof(pf));
        rc = tn_storage_local_path(c->wh->storage, df->file_path, &path, err);
        if (!rc)
            rc = tn_parquet_footer_read(path, &pf, err);
        if (!rc)
            df->record_count = pf.num_rows;
        tn_parquet_footer_release(&pf);
        free(path);
    }
    if (!rc && spec && spec->nfields) {
        df->npartition = spec->nfields;
        df->partition = tn_calloc(spec->nfields, sizeof(*df->partition));
        for (i = 0; i < spec->nfields; i++) {
            const struct tn_field *f = tn_schema_find(schema, spec->fields[i].source_id);
            const char *phys = f ? physical_name(dfields, f->name, mapped) : NULL;
            json_t *v = phys ? json_object_get(pvals, phys) : NULL;
            if (!f || partition_value(f->type, json_string_value(v), &df->partition[i]))
                rc = tn_fail(err, TN_EINPUT,
                             "Delta file %s: partition value '%s' of column %s does not fit "
                             "its type",
                             df->file_path, json_string_value(v) ? json_string_value(v) : "",
                             f ? f->name : "?");
        }
    }
    if (!rc && stats) {
        int tight = !json_is_false(json_object_get(stats, "tightBounds"));
        struct_stats(&schema->root, dfields, mapped, json_object_get(stats, "minValues"),
                     json_object_get(stats, "maxValues"), json_object_get(stats, "nullCount"),
                     df->record_count, 1, tight, pcols, df);
    }
    json_decref(stats);
    json_decref(pcols);
    json_decref(dschema);
    if (rc)
        tn_data_file_release(df);
    return rc;
}

/*---- Deletion vectors ----*/

/* The descriptor of an add's deletion vector; 0 when it has none. */
static int dv_of(const json_t *add, struct tn_delta_dv *dv)
{
    const json_t *j = json_object_get(add, "deletionVector");
    const char *type = json_string_value(json_object_get(j, "storageType"));
    const char *where = json_string_value(json_object_get(j, "pathOrInlineDv"));
    const json_t *off = json_object_get(j, "offset");

    memset(dv, 0, sizeof(*dv));
    if (!type || !where || !*type)
        return 0;
    dv->storage_type = type[0];
    dv->path_or_inline = tn_strdup(where);
    dv->offset = json_is_integer(off) ? json_integer_value(off) : -1;
    dv->size_in_bytes = json_integer_value(json_object_get(j, "sizeInBytes"));
    dv->cardinality = json_integer_value(json_object_get(j, "cardinality"));
    return 1;
}

static int same_dv(const json_t *a, const json_t *b)
{
    return json_equal(json_object_get(a, "deletionVector"), json_object_get(b, "deletionVector"));
}

/* Write the rows deleted by the deletion vector of "add" (data file "data_path") as a
 * position-delete file of "t" into *out (recorded in "files"). */
static int dv_delete_file(struct version_ctx *c, const struct tn_table *t, const json_t *add,
                          const char *data_path, struct tn_data_file *out, struct tn__files *files,
                          struct tn_err *err)
{
    struct tn_delta_dv dv;
    struct tn_buf dvfile = TN_BUF_INIT(DV_FILE_MAX_BYTES);
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_session *s = NULL;
    int64_t *pos = NULL, rows = 0, size = 0;
    size_t npos = 0;
    char *uri = NULL, *local = NULL, *dv_path = NULL;
    int rc = 0;

    dv_of(add, &dv);
    if (dv.storage_type != 'i') {
        rc = tn_delta_dv_file_path(&dv, c->location, &dv_path, err);
        if (!rc)
            rc = tn_storage_read(c->wh->storage, dv_path, &dvfile, err);
    }
    if (!rc)
        rc = tn_delta_dv_positions(&dv, (const unsigned char *)dvfile.buf, dvfile.len, 0, &pos,
                                   &npos, err);
    if (rc)
        tn_err_prefix(err, "deletion vector of Delta file %s: ", data_path);
    if (!rc) {
        tn_buf_addstr(&sql, "SELECT file_path, pos FROM (SELECT ", NULL);
        tn_sql_string(&sql, data_path);
        tn_buf_addstr(&sql, " AS file_path, unnest([", NULL);
        for (size_t i = 0; i < npos; i++)
            tn_buf_addf(&sql, NULL, "%s%lld", i ? "," : "", (long long)pos[i]);
        tn_buf_addstr(&sql, "]::BIGINT[]) AS pos) ORDER BY pos", NULL);
        {
            /* the writer reads text cells */
            char *inner = tn_buf_detach(&sql, NULL);
            tn_buf_addf(&sql, NULL, "SELECT file_path, CAST(pos AS VARCHAR) FROM (%s)", inner);
            free(inner);
        }
        uri = tn__new_file_location(t, "-deletes.parquet");
        rc = tn_storage_stage_path(c->wh->storage, uri, &local, err);
    }
    if (!rc)
        rc = tn_session_open(c->wh->engine, &s, err);
    if (!rc)
        rc = tn__write_position_parquet(s, sql.buf, local, &rows, err);
    if (!rc)
        rc = tn_storage_publish(c->wh->storage, uri, local, err);
    if (!rc) {
        tn__files_add(files, uri);
        rc = tn_storage_size(c->wh->storage, uri, &size, err);
    }
    if (!rc) {
        memset(out, 0, sizeof(*out));
        out->content = 1;
        out->sort_order_id = -1;
        out->file_path = tn_strdup(uri);
        out->file_format = tn_strdup("PARQUET");
        out->record_count = rows;
        out->file_size = size;
        out->referenced_data_file = tn_strdup(data_path);
    }
    tn_session_close(s);
    tn_delta_dv_release(&dv);
    tn_buf_release(&dvfile);
    tn_buf_release(&sql);
    free(pos);
    free(uri);
    free(local);
    free(dv_path);
    return rc;
}

/*---- One version as one snapshot ----*/

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct tn_manifest_entry *)a)->file.file_path,
                  ((const struct tn_manifest_entry *)b)->file.file_path);
}

/* Write manifest "entries" (content 0 data, 1 deletes) of "t" and describe it in *out. */
static int write_manifest(struct tn_warehouse *wh, const struct tn_table *t, int content,
                          int64_t snapshot_id, struct tn_manifest_entry *entries, size_t n,
                          struct tn_manifest_file *out, struct tn__files *files, struct tn_err *err)
{
    struct tn_manifest_info info;
    char *data = NULL;
    size_t len = 0;
    char uuid[37];
    int rc;

    info.schema = tn_metadata_current_schema(t->meta);
    info.spec = tn_metadata_spec(t->meta, t->meta->default_spec_id);
    info.content = content;
    info.snapshot_id = snapshot_id;
    info.sequence_number = t->meta->last_sequence_number + 1;
    info.format_version = t->meta->format_version;
    qsort(entries, n, sizeof(*entries), by_path);
    rc = tn_manifest_write(&info, entries, n, &data, &len, out, err);
    if (!rc) {
        tn_uuid4(uuid);
        out->path =
            tn_asprintf("%s/metadata/%s-m%d.avro", t->meta->location, uuid, content ? 1 : 0);
        out->length = (int64_t)len;
        rc = tn__files_write(wh, t, out->path, data, len, files, err);
    }
    free(data);
    return rc;
}

static void summary_set(json_t *summary, const char *key, int64_t v)
{
    char text[32];

    snprintf(text, sizeof(text), "%lld", (long long)v);
    json_object_set_new(summary, key, json_string(text));
}

/* A partition field name that is also a valid Avro name (manifests name the partition's fields
 * in Avro): other characters become _xHH, as Iceberg-Java spells them. */
static char *avro_name(const char *name)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_INTERNAL);

    for (size_t i = 0; name[i]; i++) {
        unsigned char ch = (unsigned char)name[i];
        int ok = ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 (i > 0 && ch >= '0' && ch <= '9');
        if (ok)
            tn_buf_add(&b, name + i, 1, NULL);
        else if (i == 0 && ch >= '0' && ch <= '9')
            tn_buf_addf(&b, NULL, "_%c", ch);
        else
            tn_buf_addf(&b, NULL, "_x%02X", ch);
    }
    return b.buf ? tn_buf_detach(&b, NULL) : tn_strdup("_");
}

/* The updates that bring the staged table's schema, spec and properties to the version's. */
static int metadata_updates(struct version_ctx *c, const struct tn_metadata *m, json_t *updates,
                            struct tn_err *err)
{
    const struct tn_schema *cur = tn_metadata_current_schema(m);
    json_t *schema = NULL, *mapping = NULL, *pc;
    char *mapping_text, version[32];
    size_t i;
    int rc;

    rc = schema_of(c->state->metadata, cur ? cur->json : NULL, m->last_column_id, &schema, &mapping,
                   err);
    if (rc)
        return rc;
    if (!cur ||
        !json_equal(json_object_get(cur->json, "fields"), json_object_get(schema, "fields"))) {
        json_array_append_new(updates,
                              json_pack("{s:s, s:O}", "action", "add-schema", "schema", schema));
        json_array_append_new(
            updates, json_pack("{s:s, s:i}", "action", "set-current-schema", "schema-id", -1));
    }
    if (c->first && json_array_size(json_object_get(c->state->metadata, "partitionColumns"))) {
        json_t *fields = json_array();
        int fid = 1000;
        json_array_foreach(json_object_get(c->state->metadata, "partitionColumns"), i, pc)
        {
            json_t *f, *sf;
            size_t k;
            int source = -1;
            json_array_foreach(json_object_get(schema, "fields"), k, f)
            {
                if (json_is_string(pc) && strcmp(json_string_value(json_object_get(f, "name")),
                                                 json_string_value(pc)) == 0)
                    source = (int)json_integer_value(json_object_get(f, "id"));
            }
            if (source < 0) {
                json_decref(fields);
                json_decref(schema);
                json_decref(mapping);
                return tn_fail(err, TN_EINPUT,
                               "the Delta table's partition column '%s' is not in its schema",
                               json_is_string(pc) ? json_string_value(pc) : "?");
            }
            {
                char *pname = avro_name(json_string_value(pc));
                sf = json_pack("{s:s, s:s, s:i, s:i}", "name", pname, "transform", "identity",
                               "source-id", source, "field-id", fid++);
                free(pname);
            }
            json_array_append_new(fields, sf);
        }
        json_array_append_new(updates, json_pack("{s:s, s:{s:i, s:o}}", "action", "add-spec",
                                                 "spec", "spec-id", 1, "fields", fields));
        json_array_append_new(updates,
                              json_pack("{s:s, s:i}", "action", "set-default-spec", "spec-id", -1));
    }
    mapping_text = json_dumps(mapping, JSON_COMPACT);
    snprintf(version, sizeof(version), "%lld", (long long)c->state->version);
    json_array_append_new(updates, json_pack("{s:s, s:{s:s, s:s, s:s}}", "action", "set-properties",
                                             "updates", TN_DELTA_PROP_LOCATION, c->location,
                                             TN_DELTA_PROP_VERSION, version,
                                             "schema.name-mapping.default", mapping_text));
    free(mapping_text);
    json_decref(schema);
    json_decref(mapping);
    return 0;
}

static const struct tn_manifest_entry *find_entry(const struct tn_manifest_entry *e, size_t n,
                                                  const char *path, int by_referenced)
{
    for (size_t i = 0; i < n; i++) {
        const char *p = by_referenced ? e[i].file.referenced_data_file : e[i].file.file_path;
        if (p && strcmp(p, path) == 0)
            return &e[i];
    }
    return NULL;
}

/* The stage of one version's commit (see commit.c). */
static int stage_version(struct tn_warehouse *wh, const struct tn_table *base,
                         const struct tn_metadata *staged, void *vctx, json_t *updates,
                         struct tn__files *files, struct tn_err *err)
{
    struct version_ctx *c = vctx;
    const char *done_text = prop(staged, TN_DELTA_PROP_VERSION);
    struct tn_metadata *m = NULL;
    struct tn_table view = *base;
    struct tn_scan *parent_scan = NULL;
    struct tn_manifest_entry *data = NULL, *dels = NULL;
    size_t ndata = 0, ndels = 0, nlive_dels = 0, nd_cap, nx_cap, nlist = 0;
    struct tn_manifest_file *list = tn_calloc(2, sizeof(*list));
    struct tn_data_file *made = NULL; /* files this attempt built (owned) */
    size_t nmade = 0;
    json_t *meta_updates = json_array(), *summary = json_object(), *key_json;
    int64_t snapshot_id = tn_snapshot_id_new(), parent, seq, done = -1, ts, added_row_ids = 0;
    int64_t added = 0, removed = 0, total_records = 0, total_size = 0, pos_deletes = 0;
    int64_t added_dels = 0;
    char *list_path = NULL, *list_data = NULL, uuid[37];
    size_t list_len = 0;
    const char *key;
    int rc;

    if (done_text && !tn_parse_i64(done_text, &done) && done >= c->state->version) {
        c->done = 1; /* another process translated it meanwhile */
        json_decref(meta_updates);
        json_decref(summary);
        return 0;
    }
    rc = metadata_updates(c, staged, meta_updates, err);
    if (!rc)
        rc = tn_metadata_update(staged, NULL, meta_updates, &m, err);
    if (rc)
        goto out;
    view.meta = m;
    parent = m->current_snapshot_id;
    seq = m->last_sequence_number + 1;
    if (parent >= 0)
        rc = tn_table_scan(wh, &view, parent, &parent_scan, err);
    if (rc)
        goto out;
    nd_cap = json_object_size(c->state->files) + (parent_scan ? parent_scan->ndata : 0) + 1;
    nx_cap = json_object_size(c->state->files) + (parent_scan ? parent_scan->ndeletes : 0) + 1;
    data = tn_calloc(nd_cap, sizeof(*data));
    dels = tn_calloc(nx_cap, sizeof(*dels));
    made = tn_calloc(2 * json_object_size(c->state->files) + 1, sizeof(*made));
    json_object_foreach(c->state->files, key, key_json)
    {
        const struct tn_manifest_entry *old = NULL;
        struct tn_data_file *df = &made[nmade];
        char *uri = tn_delta_file_uri(c->location, key);
        json_t *prev = c->prev_files ? json_object_get(c->prev_files, key) : NULL;
        struct tn_delta_dv probe;
        int has_dv = dv_of(key_json, &probe);

        tn_delta_dv_release(&probe);
        if (parent_scan)
            old = find_entry(parent_scan->data, parent_scan->ndata, uri, 0);
        if (old) {
            data[ndata] = *old; /* shallow: the parent scan owns it */
            data[ndata].status = TN_ENTRY_EXISTING;
        } else {
            rc = data_file(c, m, key_json, df, err);
            if (rc) {
                free(uri);
                break;
            }
            nmade++;
            data[ndata].status = TN_ENTRY_ADDED;
            data[ndata].snapshot_id = snapshot_id;
            data[ndata].sequence_number = seq;
            data[ndata].file_sequence_number = seq;
            data[ndata].file = *df;
            added++;
        }
        total_records += data[ndata].file.record_count;
        total_size += data[ndata].file.file_size;
        ndata++;
        if (has_dv) {
            const struct tn_manifest_entry *old_del =
                old && prev && same_dv(prev, key_json) && parent_scan
                    ? find_entry(parent_scan->deletes, parent_scan->ndeletes, uri, 1)
                    : NULL;
            if (old_del) {
                dels[ndels] = *old_del;
                dels[ndels].status = TN_ENTRY_EXISTING;
            } else {
                struct tn_data_file *pd = &made[nmade];
                rc = dv_delete_file(c, &view, key_json, uri, pd, files, err);
                if (rc) {
                    free(uri);
                    break;
                }
                nmade++;
                dels[ndels].status = TN_ENTRY_ADDED;
                dels[ndels].snapshot_id = snapshot_id;
                dels[ndels].sequence_number = seq;
                dels[ndels].file_sequence_number = seq;
                dels[ndels].file = *pd;
                added_dels++;
            }
            pos_deletes += dels[ndels].file.record_count;
            total_size += dels[ndels].file.file_size;
            ndels++;
        }
        free(uri);
    }
    if (rc)
        goto out;
    /* what the parent had and the version no longer has */
    for (size_t i = 0; parent_scan && i < parent_scan->ndata; i++) {
        if (find_entry(data, ndata, parent_scan->data[i].file.file_path, 0))
            continue;
        data[ndata] = parent_scan->data[i];
        data[ndata].status = TN_ENTRY_DELETED;
        data[ndata].snapshot_id = snapshot_id;
        ndata++;
        removed++;
    }
    nlive_dels = ndels;
    for (size_t i = 0; parent_scan && i < parent_scan->ndeletes; i++) {
        int kept = 0;
        for (size_t k = 0; k < ndels; k++)
            kept |= strcmp(dels[k].file.file_path, parent_scan->deletes[i].file.file_path) == 0;
        if (kept)
            continue;
        dels[ndels] = parent_scan->deletes[i];
        dels[ndels].status = TN_ENTRY_DELETED;
        dels[ndels].snapshot_id = snapshot_id;
        ndels++;
    }
    if (ndata)
        rc = write_manifest(wh, &view, 0, snapshot_id, data, ndata, &list[nlist++], files, err);
    if (!rc && ndels)
        rc = write_manifest(wh, &view, 1, snapshot_id, dels, ndels, &list[nlist++], files, err);
    if (rc)
        goto out;
    for (size_t i = 0; i < nlist; i++)
        list[i].sequence_number = seq;
    tn_uuid4(uuid);
    list_path =
        tn_asprintf("%s/metadata/snap-%lld-1-%s.avro", m->location, (long long)snapshot_id, uuid);
    if (m->format_version >= 3)
        added_row_ids = tn_manifest_list_assign_row_ids(list, nlist, m->next_row_id);
    rc = tn_manifest_list_write(list, nlist, snapshot_id, parent, seq, m->format_version,
                                &list_data, &list_len, err);
    if (!rc)
        rc = tn__files_write(wh, &view, list_path, list_data, list_len, files, err);
    if (rc)
        goto out;
    json_object_set_new(summary, "operation",
                        json_string(added && removed ? "overwrite"
                                    : added          ? "append"
                                    : removed        ? "delete"
                                    : added_dels     ? "delete"
                                                     : "replace"));
    summary_set(summary, TN_DELTA_SUMMARY_VERSION, c->state->version);
    summary_set(summary, "added-data-files", added);
    summary_set(summary, "deleted-data-files", removed);
    summary_set(summary, "added-delete-files", added_dels);
    summary_set(summary, "total-records", total_records);
    summary_set(summary, "total-data-files", (int64_t)(ndata - removed));
    summary_set(summary, "total-delete-files", (int64_t)nlive_dels);
    summary_set(summary, "total-position-deletes", pos_deletes);
    summary_set(summary, "total-equality-deletes", 0);
    summary_set(summary, "total-files-size", total_size);
    json_object_set_new(summary, "engine-name", json_string("tarn"));
    /* snapshot times never go backwards (Delta makes commit times monotonic the same way) */
    ts = c->state->commit_ms > 0 ? c->state->commit_ms : tn_now_ms();
    {
        const struct tn_snapshot *p = parent >= 0 ? tn_metadata_snapshot(m, parent) : NULL;
        if (p && ts <= p->timestamp_ms)
            ts = p->timestamp_ms + 1;
    }
    {
        struct tn_snapshot_new sn = {
            .id = snapshot_id,
            .parent_id = parent,
            .sequence_number = seq,
            .timestamp_ms = ts,
            .schema_id = m->current_schema_id,
            .manifest_list = list_path,
            .summary = summary,
            .branch = NULL,
            .has_row_lineage = m->format_version >= 3,
            .first_row_id = m->next_row_id,
            .added_rows = added_row_ids,
        };
        json_array_extend(updates, meta_updates);
        tn_updates_add_snapshot(updates, &sn, NULL);
    }
out:
    for (size_t i = 0; i < nmade; i++)
        tn_data_file_release(&made[i]);
    free(made);
    free(data);
    free(dels);
    tn_manifest_files_free(list, nlist);
    tn_scan_free(parent_scan);
    tn_metadata_free(m);
    json_decref(meta_updates);
    json_decref(summary);
    free(list_path);
    free(list_data);
    return rc;
}

/* Translate the versions after the one "*t" holds up to the log's latest; *t becomes the last
 * published. With *t NULL, a new table ns.name starts at the oldest rebuildable version. */
static int translate(struct tn_warehouse *wh, const char *ns, const char *name, struct tn_table **t,
                     const char *location, struct tn_err *err)
{
    struct tn_delta_log log;
    struct tn_delta_state state;
    const char *done_text = *t ? prop((*t)->meta, TN_DELTA_PROP_VERSION) : NULL;
    int64_t done = -1, latest, from;
    int rc = tn_delta_log_list(wh->storage, location, &log, err), jumped = 0;

    if (rc)
        return rc;
    if (done_text)
        tn_parse_i64(done_text, &done);
    latest = tn_delta_log_latest(&log);
    memset(&state, 0, sizeof(state)); /* tn_delta_state_at fills it; releasing it is a no-op */
    if (done >= 0) {
        from = done + 1;
        for (size_t i = 0; from <= latest && i < log.ncommits && !jumped; i++)
            jumped = log.commits[i].version == from;
        jumped = from <= latest && !jumped;
        if (jumped) {
            /* the log was cleaned up past the last version translated: go on from the newest
               complete checkpoint (the versions in between are gone for every reader) */
            from = -1;
            for (size_t i = 0; i < log.ncheckpoints; i++)
                if (log.checkpoints[i].nparts == log.checkpoints[i].parts_expected &&
                    log.checkpoints[i].version > done)
                    from = log.checkpoints[i].version;
            if (from < 0)
                rc = tn_fail(err, TN_ENOTFOUND,
                             "Delta table %s cannot be read on from version %lld: its commit "
                             "%lld is gone and no later checkpoint is there to start from",
                             log.location, (long long)done, (long long)done + 1);
            else
                rc = tn_delta_state_at(wh, &log, from, &state, err);
        } else if (from <= latest) {
            rc = tn_delta_state_at(wh, &log, done, &state, err);
        }
    } else {
        from = tn_delta_log_oldest(&log);
        if (from < 0)
            rc = tn_fail(err, TN_ENOTFOUND,
                         "Delta table %s cannot be read: its log has no commit 0 and no complete "
                         "checkpoint to start from",
                         log.location);
        else
            rc = tn_delta_state_at(wh, &log, from, &state, err);
        if (!rc)
            rc = tn_delta_protocol_check(state.protocol, err);
        if (!rc) {
            /* the new table starts with the schema of its first version */
            json_t *schema = NULL, *mapping = NULL;
            rc = schema_of(state.metadata, NULL, 0, &schema, &mapping, err);
            if (!rc) {
                json_object_set_new(schema, "schema-id", json_integer(0));
                rc = tn__table_new(wh, ns, name, schema, 0, NULL, t, err);
            }
            json_decref(schema);
            json_decref(mapping);
        }
    }
    for (int64_t v = from; !rc && v <= latest; v++) {
        struct version_ctx c;
        struct tn__change ch;
        struct tn_table *next = NULL;
        json_t *prev = json_copy(state.files);

        memset(&c, 0, sizeof(c));
        if (v != state.version)
            rc = tn_delta_state_apply(wh->storage, &log, v, &state, err);
        if (!rc)
            rc = tn_delta_protocol_check(state.protocol, err);
        if (rc) {
            json_decref(prev);
            break;
        }
        c.wh = wh;
        c.location = log.location;
        c.state = &state;
        c.prev_files = v == from && (done < 0 || jumped) ? NULL : prev;
        c.first = (*t)->metadata_location == NULL;
        memset(&ch, 0, sizeof(ch));
        ch.ns = (*t)->ns;
        ch.name = (*t)->name;
        ch.base = *t;
        ch.stage = stage_version;
        ch.ctx = &c;
        ch.skip_if_unchanged = 1;
        ch.translating = 1;
        ch.out = &next;
        rc = tn__commit(wh, &ch, 1, err);
        json_decref(prev);
        if (!rc) {
            tn_table_free(*t);
            *t = next;
        }
    }
    tn_delta_state_release(&state);
    tn_delta_log_release(&log);
    return rc;
}

/*---- Registering and refreshing ----*/

int tn_delta_is_table(struct tn_storage *st, const char *location)
{
    struct tn_delta_log log;
    struct tn_err ignored;

    if (tn_delta_log_list(st, location, &log, &ignored))
        return 0;
    tn_delta_log_release(&log);
    return 1;
}

int tn_delta_register(struct tn_warehouse *wh, const char *ns, const char *name,
                      const char *location, struct tn_err *err)
{
    struct tn_table *t = NULL;
    int rc;

    translating++;
    rc = translate(wh, ns, name, &t, location, err);
    translating--;
    if (rc && t && t->metadata_location) {
        struct tn_err ignored; /* a later version failed: register nothing */
        tn_catalog_drop(wh->catalog, ns, name, &ignored);
    }
    tn_table_free(t);
    if (rc)
        tn_err_prefix(err, "register %s.%s: ", ns, name);
    return rc;
}

int tn_delta_refresh(struct tn_warehouse *wh, struct tn_table **t, struct tn_err *err)
{
    const char *location = tn_delta_source(*t);
    const char *done_text;
    int64_t done;
    char *next_uri;
    int64_t size;
    struct tn_err ignored;
    int rc;

    if (!location || translating || (*t)->staged_base)
        return 0;
    done_text = prop((*t)->meta, TN_DELTA_PROP_VERSION);
    if (!done_text || tn_parse_i64(done_text, &done))
        return 0;
    /* one probe per load: has the next commit appeared? */
    next_uri = tn_asprintf("%s/_delta_log/%020lld.json", location, (long long)done + 1);
    rc = tn_storage_size(wh->storage, next_uri, &size, &ignored);
    free(next_uri);
    if (rc) {
        /* or has the log moved on past it and been cleaned up: a newer checkpoint */
        struct tn_buf b = TN_BUF_INIT(4096);
        char *last_uri = tn_asprintf("%s/_delta_log/_last_checkpoint", location);
        json_t *last = NULL;
        if (tn_storage_read(wh->storage, last_uri, &b, &ignored) == 0)
            last = json_loadb(b.buf ? b.buf : "", b.len, 0, NULL);
        rc = json_integer_value(json_object_get(last, "version")) <= done;
        json_decref(last);
        tn_buf_release(&b);
        free(last_uri);
        if (rc)
            return 0;
    }
    {
        char *loc = tn_strdup(location);
        translating++;
        rc = translate(wh, (*t)->ns, (*t)->name, t, loc, err);
        translating--;
        free(loc);
    }
    return rc;
}

int tn_delta_snapshot_of_version(const struct tn_table *t, const char *version, int64_t *out,
                                 struct tn_err *err)
{
    int64_t v, oldest = -1;

    if (tn_parse_i64(version, &v))
        return tn_fail(err, TN_EINPUT,
                       "table %s.%s is a Delta table: AT (VERSION => n) takes a Delta version "
                       "number, not '%s'",
                       t->ns, t->name, version);
    for (size_t i = 0; i < t->meta->nsnapshots; i++) {
        const char *sv = json_string_value(
            json_object_get(t->meta->snapshots[i].summary, TN_DELTA_SUMMARY_VERSION));
        int64_t n;
        if (!sv || tn_parse_i64(sv, &n))
            continue;
        if (n == v) {
            *out = t->meta->snapshots[i].id;
            return 0;
        }
        if (oldest < 0 || n < oldest)
            oldest = n;
    }
    return tn_fail(
        err, TN_ENOTFOUND, "Delta table %s.%s has no version %lld (it has versions %lld to %s)",
        t->ns, t->name, (long long)v, (long long)oldest,
        prop(t->meta, TN_DELTA_PROP_VERSION) ? prop(t->meta, TN_DELTA_PROP_VERSION) : "?");
}
