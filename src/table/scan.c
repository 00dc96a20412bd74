/* scan.c - plan a snapshot's files and turn the plan into a DuckDB relation (see table.h).
 *
 * The relation reads Parquet by field id (read_parquet's "schema" map), so renamed and added
 * columns read right, with initial defaults for columns a file predates. Data files are read in
 * groups: all files that need no deletes and share the same identity-partition values go into
 * one read_parquet call (those values become the defaults of partition columns that writers
 * left out of the files); a file with deletes is read alone, with an anti-join on the
 * positions its position-delete files list and on the keys of its equality-delete files. */
#include "table_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MANIFEST_MAX_BYTES (512L * 1024 * 1024)

/*---- Planning ----*/

static int read_file(struct tn_warehouse *wh, const struct tn_table *t, const char *location,
                     struct tn_buf *out, struct tn_err *err)
{
    char *resolved = tn_table_resolve(t, location);
    int rc = tn_storage_read(wh->storage, resolved, out, err);

    if (rc)
        tn_err_prefix(err, "table %s.%s: ", t->ns, t->name);
    free(resolved);
    return rc;
}

static void append_entries(struct tn_manifest_entry **dst, size_t *n, size_t *cap,
                           struct tn_manifest_entry *src)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *dst = tn_realloc(*dst, *cap * sizeof(**dst));
    }
    (*dst)[(*n)++] = *src;
    memset(src, 0, sizeof(*src));
}

/*---- Parsed manifest lists and manifests, through the warehouse's plan cache ----*/

struct parsed_list {
    struct tn_manifest_file *files;
    size_t n;
};

struct parsed_manifest {
    struct tn_manifest_entry *entries;
    size_t n;
};

static void parsed_list_free(void *p)
{
    struct parsed_list *l = p;

    tn_manifest_files_free(l->files, l->n);
    free(l);
}

static void parsed_manifest_free(void *p)
{
    struct parsed_manifest *m = p;

    tn_manifest_entries_free(m->entries, m->n);
    free(m);
}

/* How one kind of immutable metadata file becomes a plan cache entry: its parser (which also
 * tells the entry's size in bytes) and what frees the parsed value. */
struct cached_kind {
    const char *what; /* for errors: "manifest list", "manifest" */
    int (*parse)(const struct tn_buf *buf, const void *ctx, void **value, size_t *bytes,
                 struct tn_err *err);
    void (*free_value)(void *value);
};

/* The entry "key" of the plan cache, parsed from the file at "location" when it is not there
 * yet (a cache reference the caller releases). */
static int cached_file(struct tn_warehouse *wh, const struct tn_table *t, const char *location,
                       const char *key, const struct cached_kind *kind, const void *ctx,
                       struct tn_cached **out, struct tn_err *err)
{
    struct tn_cached *hit = tn__plan_cache_get(wh->plan_cache, key);
    int rc = 0;

    if (!hit) {
        struct tn_buf buf = TN_BUF_INIT(MANIFEST_MAX_BYTES);
        void *value = NULL;
        size_t bytes = 0;
        rc = read_file(wh, t, location, &buf, err);
        if (!rc)
            rc = kind->parse(&buf, ctx, &value, &bytes, err);
        if (rc && buf.len) {
            /* the cached copy may be what is damaged: fetch the file once more */
            char *resolved = tn_table_resolve(t, location);
            if (tn_storage_evict(wh->storage, resolved)) {
                tn_buf_reset(&buf);
                bytes = 0;
                rc = read_file(wh, t, location, &buf, err);
                if (!rc)
                    rc = kind->parse(&buf, ctx, &value, &bytes, err);
            }
            free(resolved);
        }
        if (rc)
            tn_err_prefix(err, "%s %s: ", kind->what, location);
        else
            hit = tn__plan_cache_put(wh->plan_cache, key, value, bytes, kind->free_value);
        tn_buf_release(&buf);
    }
    if (!rc)
        *out = hit;
    return rc;
}

static int parse_list(const struct tn_buf *buf, const void *ctx, void **value, size_t *bytes,
                      struct tn_err *err)
{
    struct parsed_list *l = tn_calloc(1, sizeof(*l));
    int rc = tn_manifest_list_read(buf->buf, buf->len, &l->files, &l->n, err);

    (void)ctx;
    if (rc) {
        parsed_list_free(l);
        return rc;
    }
    for (size_t i = 0; i < l->n; i++)
        *bytes += sizeof(l->files[i]) + strlen(l->files[i].path) +
                  l->files[i].npartitions * (sizeof(*l->files[i].partitions) + 32);
    *value = l;
    return 0;
}

/* ctx: the manifest-list entry, whose values the entries inherit. */
static int parse_manifest(const struct tn_buf *buf, const void *ctx, void **value, size_t *bytes,
                          struct tn_err *err)
{
    struct parsed_manifest *m = tn_calloc(1, sizeof(*m));
    int rc = tn_manifest_read(buf->buf, buf->len, ctx, &m->entries, &m->n, err);

    if (rc) {
        parsed_manifest_free(m);
        return rc;
    }
    for (size_t i = 0; i < m->n; i++)
        *bytes += sizeof(m->entries[i]) - sizeof(m->entries[i].file) +
                  tn_data_file_bytes(&m->entries[i].file);
    *value = m;
    return 0;
}

/* The parsed manifest list at "location" (a cache reference the caller releases). */
static int cached_list(struct tn_warehouse *wh, const struct tn_table *t, const char *location,
                       struct tn_cached **out, struct tn_err *err)
{
    static const struct cached_kind kind = {"manifest list", parse_list, parsed_list_free};
    char *resolved = tn_table_resolve(t, location);
    char *key = tn_asprintf("list:%s", resolved);
    int rc = cached_file(wh, t, location, key, &kind, NULL, out, err);

    free(key);
    free(resolved);
    return rc;
}

/* The parsed entries of manifest "mf" (a cache reference the caller releases). The key holds
 * what the entries inherit from the manifest-list entry as well as the location. */
static int cached_manifest(struct tn_warehouse *wh, const struct tn_table *t,
                           const struct tn_manifest_file *mf, struct tn_cached **out,
                           struct tn_err *err)
{
    static const struct cached_kind kind = {"manifest", parse_manifest, parsed_manifest_free};
    char *resolved = tn_table_resolve(t, mf->path);
    char *key = tn_asprintf("manifest:%lld:%lld:%d:%s", (long long)mf->sequence_number,
                            (long long)mf->added_snapshot_id, mf->spec_id, resolved);
    int rc = cached_file(wh, t, mf->path, key, &kind, mf, out, err);

    free(key);
    free(resolved);
    return rc;
}

static void copy_entry(struct tn_manifest_entry *dst, const struct tn_manifest_entry *src)
{
    *dst = *src;
    tn_data_file_copy(&dst->file, &src->file);
}

/* The manifest list of a snapshot; v1 snapshots with inline manifest paths get a synthesised
 * list (sequence numbers 0, spec 0). */
static int snapshot_manifests(struct tn_warehouse *wh, const struct tn_table *t,
                              const struct tn_snapshot *snap, struct tn_manifest_file **out,
                              size_t *out_n, struct tn_err *err)
{
    const struct parsed_list *l;
    struct tn_manifest_file *v;
    struct tn_cached *hit = NULL;
    int rc;

    if (!snap->manifest_list) {
        size_t n = json_array_size(snap->manifests);
        v = tn_calloc(n + 1, sizeof(*v));
        for (size_t i = 0; i < n; i++) {
            v[i].path = tn_strdup(json_string_value(json_array_get(snap->manifests, i))
                                      ? json_string_value(json_array_get(snap->manifests, i))
                                      : "");
            v[i].added_snapshot_id = snap->id;
        }
        *out = v;
        *out_n = n;
        return 0;
    }
    rc = cached_list(wh, t, snap->manifest_list, &hit, err);
    if (rc)
        return rc;
    l = tn__plan_cached_value(hit);
    v = tn_calloc(l->n + 1, sizeof(*v));
    for (size_t i = 0; i < l->n; i++)
        tn_manifest_file_copy(&v[i], &l->files[i]);
    *out = v;
    *out_n = l->n;
    tn__plan_cache_release(wh->plan_cache, hit);
    return 0;
}

int tn_table_manifests(struct tn_warehouse *wh, const struct tn_table *t, int64_t snapshot_id,
                       struct tn_manifest_file **out, size_t *out_n, struct tn_err *err)
{
    const struct tn_snapshot *snap;

    if (snapshot_id == -1)
        snapshot_id = t->meta->current_snapshot_id;
    *out = NULL;
    *out_n = 0;
    if (snapshot_id == -1)
        return 0;
    snap = tn_metadata_snapshot(t->meta, snapshot_id);
    if (!snap)
        return tn_table_no_snapshot(t, snapshot_id, NULL, err);
    return snapshot_manifests(wh, t, snap, out, out_n, err);
}

int tn_table_read_manifest(struct tn_warehouse *wh, const struct tn_table *t,
                           const struct tn_manifest_file *mf, struct tn_manifest_entry **out,
                           size_t *out_n, struct tn_err *err)
{
    struct tn_cached *hit = NULL;
    const struct parsed_manifest *m;
    struct tn_manifest_entry *v;
    int rc = cached_manifest(wh, t, mf, &hit, err);

    if (rc)
        return rc;
    m = tn__plan_cached_value(hit);
    v = tn_calloc(m->n + 1, sizeof(*v));
    for (size_t i = 0; i < m->n; i++)
        copy_entry(&v[i], &m->entries[i]);
    *out = v;
    *out_n = m->n;
    tn__plan_cache_release(wh->plan_cache, hit);
    return 0;
}

int tn__carry_live_entries(struct tn_warehouse *wh, const struct tn_table *t,
                           const struct tn_manifest_file *mf, struct tn_manifest_entry **all,
                           size_t *n, size_t *cap, struct tn_err *err)
{
    struct tn_cached *hit = NULL;
    const struct parsed_manifest *m;
    int rc = cached_manifest(wh, t, mf, &hit, err);

    if (rc)
        return rc;
    m = tn__plan_cached_value(hit);
    for (size_t i = 0; i < m->n; i++) {
        if (m->entries[i].status == TN_ENTRY_DELETED)
            continue;
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 256;
            *all = tn_realloc(*all, *cap * sizeof(**all));
        }
        copy_entry(&(*all)[*n], &m->entries[i]);
        (*all)[(*n)++].status = TN_ENTRY_EXISTING;
    }
    tn__plan_cache_release(wh->plan_cache, hit);
    return 0;
}

int tn_table_scan(struct tn_warehouse *wh, const struct tn_table *t, int64_t snapshot_id,
                  struct tn_scan **out, struct tn_err *err)
{
    return tn_table_scan_where(wh, t, snapshot_id, NULL, NULL, out, err);
}

int tn_table_scan_where(struct tn_warehouse *wh, const struct tn_table *t, int64_t snapshot_id,
                        json_t *where, const char *alias, struct tn_scan **out, struct tn_err *err)
{
    const struct tn_metadata *m = t->meta;
    const struct tn_snapshot *snap;
    struct tn_scan *s = tn_calloc(1, sizeof(*s));
    struct tn_filter *filter = NULL;
    size_t data_cap = 0, del_cap = 0;
    int rc = 0, current = 0;

    if (snapshot_id == -1) {
        /* the head of main reads with the current schema, a past snapshot with its own */
        snapshot_id = m->current_snapshot_id;
        current = 1;
    }
    s->snapshot_id = snapshot_id;
    if (snapshot_id == -1) {
        s->schema = tn_metadata_current_schema(m);
        *out = s;
        return 0;
    }
    snap = tn_metadata_snapshot(m, snapshot_id);
    if (!snap) {
        tn_scan_free(s);
        return tn_table_no_snapshot(t, snapshot_id, NULL, err);
    }
    s->schema = current ? tn_metadata_current_schema(m) : tn_metadata_snapshot_schema(m, snap);
    filter = tn__filter_new(t, s->schema, where, alias);
    rc = snapshot_manifests(wh, t, snap, &s->manifests, &s->nmanifests, err);
    s->stats.manifests_total = (int64_t)s->nmanifests;
    for (size_t i = 0; !rc && i < s->nmanifests; i++) {
        struct tn_manifest_file *mf = &s->manifests[i];
        const struct parsed_manifest *pm;
        struct tn_cached *hit = NULL;

        if (mf->content == 0 && mf->added_files == 0 && mf->existing_files == 0 &&
            mf->deleted_files > 0)
            continue; /* only DELETED entries: nothing live in it */
        if (!tn__filter_manifest(filter, t, mf)) {
            s->stats.data_files_total += mf->added_files + mf->existing_files;
            continue; /* its partitions cannot hold a matching row */
        }
        s->stats.manifests_kept++;
        rc = cached_manifest(wh, t, mf, &hit, err);
        if (rc)
            break;
        pm = tn__plan_cached_value(hit);
        for (size_t k = 0; k < pm->n; k++) {
            const struct tn_manifest_entry *e = &pm->entries[k];
            struct tn_manifest_entry copy;
            if (e->status == TN_ENTRY_DELETED)
                continue;
            if (e->file.content == 0) {
                s->stats.data_files_total++;
                if (!tn__filter_file(filter, t, e))
                    continue;
                copy_entry(&copy, e);
                append_entries(&s->data, &s->ndata, &data_cap, &copy);
            } else {
                copy_entry(&copy, e);
                append_entries(&s->deletes, &s->ndeletes, &del_cap, &copy);
            }
        }
        tn__plan_cache_release(wh->plan_cache, hit);
    }
    tn__filter_free(filter);
    if (rc) {
        tn_scan_free(s);
        return rc;
    }
    s->stats.data_files_kept = (int64_t)s->ndata;
    s->stats.delete_files = (int64_t)s->ndeletes;
    *out = s;
    return 0;
}

void tn_scan_free(struct tn_scan *s)
{
    if (!s)
        return;
    tn_manifest_entries_free(s->data, s->ndata);
    tn_manifest_entries_free(s->deletes, s->ndeletes);
    tn_manifest_files_free(s->manifests, s->nmanifests);
    free(s);
}

/*---- SQL ----*/

/* Append DuckDB's text for a blob (\xNN escapes for everything but plain ASCII). */
static void blob_text(struct tn_buf *b, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' && p[i] != '\'')
            tn_buf_add(b, &p[i], 1, NULL);
        else
            tn_buf_addf(b, NULL, "\\x%02X", p[i]);
    }
}

/* The text of an initial-default JSON value that DuckDB casts to the column's type, or NULL
 * when there is none (or it is a struct default, whose children take their own). */
static char *default_text(const struct tn_field *f)
{
    const json_t *d = f->initial_default;
    struct tn_buf b = TN_BUF_INIT(TN_CAP_SQL);

    if (!d || json_is_null(d) || !tn_type_is_primitive(f->type))
        return NULL;
    if (json_is_boolean(d))
        return tn_strdup(json_is_true(d) ? "true" : "false");
    if (json_is_integer(d))
        return tn_asprintf("%lld", (long long)json_integer_value(d));
    if (json_is_real(d))
        return tn_asprintf("%.17g", json_real_value(d));
    if (!json_is_string(d))
        return NULL;
    if (f->type->kind == TN_T_BINARY || f->type->kind == TN_T_FIXED) {
        const char *h = json_string_value(d);
        size_t n = strlen(h);
        unsigned char *raw = tn_malloc(n / 2 + 1);
        for (size_t i = 0; i + 1 < n; i += 2)
            raw[i / 2] = (unsigned char)(tn_hex_value(h[i]) * 16 + tn_hex_value(h[i + 1]));
        blob_text(&b, raw, n / 2);
        free(raw);
        return tn_buf_detach(&b, NULL);
    }
    return tn_strdup(json_string_value(d));
}

/* The text of an identity-partition value for column "f", or NULL. */
static char *partition_default(const struct tn_table *t, const struct tn_manifest_entry *e,
                               const struct tn_field *f)
{
    const struct tn_spec *spec = tn_metadata_spec(t->meta, e->spec_id);
    struct tn_buf b = TN_BUF_INIT(TN_CAP_SQL);

    if (!spec)
        return NULL;
    for (size_t i = 0; i < spec->nfields && i < e->file.npartition; i++) {
        const struct tn_partition_field *pf = &spec->fields[i];
        const struct tn_pvalue *pv = &e->file.partition[i];
        unsigned char enc[256];
        size_t len;

        if (pf->source_id != f->id || strcmp(pf->transform, "identity") != 0 || pv->is_null)
            continue;
        if (f->type->kind == TN_T_BINARY || f->type->kind == TN_T_FIXED) {
            blob_text(&b, pv->bytes.p, pv->bytes.n);
            return tn_buf_detach(&b, NULL);
        }
        if (f->type->kind == TN_T_STRING)
            return tn_strndup((const char *)pv->bytes.p, pv->bytes.n);
        len = tn_pvalue_encode(f->type, pv, enc, sizeof(enc));
        if (tn_bound_format(f->type, enc, len, &b, NULL)) {
            tn_buf_release(&b);
            return NULL;
        }
        return tn_buf_detach(&b, NULL);
    }
    return NULL;
}

/* Append the DuckDB type of "type" as a string literal ('STRUCT("a" INTEGER)'). */
static int type_literal(const struct tn_type *type, struct tn_buf *sql, struct tn_err *err)
{
    struct tn_buf text = TN_BUF_INIT(TN_CAP_INTERNAL);
    int rc = tn_type_duckdb(type, &text, err);

    if (!rc)
        tn_sql_string(sql, text.buf);
    tn_buf_release(&text);
    return rc;
}

/*---- Nested fields by field id ----*/

/* read_parquet's schema map finds top-level columns by field id but the fields of a struct by
 * name. A file's struct fields are therefore read under the names the file gives their ids
 * ("ids": field id -> the file's name, see columns_from_schema; NULL when unknown, then the
 * schema's names) and renamed to the schema's afterwards. */

/* The name file "ids" gives field "f" ("__tn_missing_<id>" when it lacks it), into "out". */
static const char *file_name(const json_t *ids, const struct tn_field *f, char *out, size_t n)
{
    char id[16];
    const char *name;

    snprintf(id, sizeof(id), "%d", f->id);
    name = json_string_value(json_object_get(ids, id));
    if (name)
        return name;
    snprintf(out, n, "__tn_missing_%d", f->id);
    return out;
}

/* Whether some struct field inside "t" has another name in the file (or is not in it). */
static int renamed_inside(const struct tn_type *t, const json_t *ids)
{
    char missing[32];

    if (!ids)
        return 0;
    switch (t->kind) {
    case TN_T_STRUCT:
        for (size_t i = 0; i < t->nfields; i++)
            if (strcmp(file_name(ids, &t->fields[i], missing, sizeof(missing)),
                       t->fields[i].name) != 0 ||
                renamed_inside(t->fields[i].type, ids))
                return 1;
        return 0;
    case TN_T_LIST:
        return renamed_inside(t->element, ids);
    case TN_T_MAP:
        return renamed_inside(t->key, ids) || renamed_inside(t->value, ids);
    default:
        return 0;
    }
}

/* Append "expr", a value of type "t" as the file names its struct fields, rebuilt with the
 * schema's names; "depth" makes lambda parameters unique. */
static void renamed_value(const struct tn_type *t, const json_t *ids, const char *expr, int depth,
                          struct tn_buf *sql)
{
    char var[24], missing[32];
    struct tn_buf sub = TN_BUF_INIT(TN_CAP_SQL);

    if (!renamed_inside(t, ids)) {
        tn_buf_addstr(sql, expr, NULL);
        return;
    }
    snprintf(var, sizeof(var), "__tn_e%d", depth);
    switch (t->kind) {
    case TN_T_STRUCT:
        tn_buf_addf(sql, NULL, "CASE WHEN (%s) IS NULL THEN NULL ELSE struct_pack(", expr);
        for (size_t i = 0; i < t->nfields; i++) {
            const struct tn_field *f = &t->fields[i];
            tn_buf_reset(&sub);
            tn_buf_addf(&sub, NULL, "struct_extract(%s, ", expr);
            tn_sql_string(&sub, file_name(ids, f, missing, sizeof(missing)));
            tn_buf_addstr(&sub, ")", NULL);
            tn_buf_addstr(sql, i ? ", " : "", NULL);
            tn_sql_ident(sql, f->name);
            tn_buf_addstr(sql, " := ", NULL);
            renamed_value(f->type, ids, sub.buf, depth + 1, sql);
        }
        tn_buf_addstr(sql, ") END", NULL);
        break;
    case TN_T_LIST:
        tn_buf_addf(sql, NULL, "list_transform(%s, lambda %s: ", expr, var);
        renamed_value(t->element, ids, var, depth + 1, sql);
        tn_buf_addstr(sql, ")", NULL);
        break;
    case TN_T_MAP:
        tn_buf_addf(sql, NULL,
                    "map_from_entries(list_transform(map_entries(%s), lambda %s: "
                    "struct_pack(key := ",
                    expr, var);
        tn_buf_addf(&sub, NULL, "struct_extract(%s, 'key')", var);
        renamed_value(t->key, ids, sub.buf, depth + 1, sql);
        tn_buf_reset(&sub);
        tn_buf_addf(&sub, NULL, "struct_extract(%s, 'value')", var);
        tn_buf_addstr(sql, ", value := ", NULL);
        renamed_value(t->value, ids, sub.buf, depth + 1, sql);
        tn_buf_addstr(sql, ")))", NULL);
        break;
    default:
        tn_buf_addstr(sql, expr, NULL);
    }
    tn_buf_release(&sub);
}

/* A key that is equal for two files whose struct fields read the same: the file's name of
 * every struct field of the schema (NULL when the names are unknown). A new string. */
static void nested_key_add(const struct tn_type *t, const json_t *ids, struct tn_buf *key)
{
    char missing[32];

    switch (t->kind) {
    case TN_T_STRUCT:
        for (size_t i = 0; i < t->nfields; i++) {
            tn_buf_addstr(key, file_name(ids, &t->fields[i], missing, sizeof(missing)), NULL);
            tn_buf_add(key, "\x1f", 1, NULL);
            nested_key_add(t->fields[i].type, ids, key);
        }
        break;
    case TN_T_LIST:
        nested_key_add(t->element, ids, key);
        break;
    case TN_T_MAP:
        nested_key_add(t->key, ids, key);
        nested_key_add(t->value, ids, key);
        break;
    default:
        break;
    }
}

static char *nested_key(const struct tn_schema *schema, const json_t *ids)
{
    struct tn_buf key = TN_BUF_INIT(TN_CAP_SQL);

    if (!ids)
        return NULL;
    for (size_t i = 0; i < schema->root.nfields; i++)
        nested_key_add(schema->root.fields[i].type, ids, &key);
    tn_buf_add(&key, "", 1, NULL);
    return tn_buf_detach(&key, NULL);
}

/* The field ids -> names of the file with columns "cols" (NULL when unknown). */
static const json_t *file_ids(json_t *const *cols, size_t i)
{
    return cols ? json_object_get(cols[i], "ids") : NULL;
}

/* Append read_parquet's schema map for "schema", with defaults for data file "e" (or none) and
 * struct fields named as "ids" (see above) names them. */
static int schema_map(const struct tn_table *t, const struct tn_schema *schema,
                      const struct tn_manifest_entry *e, const json_t *ids, unsigned flags,
                      struct tn_buf *sql, struct tn_err *err)
{
    tn_buf_addstr(sql, "MAP {", NULL);
    for (size_t i = 0; i < schema->root.nfields; i++) {
        const struct tn_field *f = &schema->root.fields[i];
        char *dflt = e ? partition_default(t, e, f) : NULL;
        int rc;

        if (!dflt)
            dflt = default_text(f);
        tn_buf_addf(sql, NULL, "%s%d: {name: '_tn_f%d', type: ", i ? ", " : "", f->id, f->id);
        if (ids && !tn_type_is_primitive(f->type)) {
            struct tn_buf text = TN_BUF_INIT(TN_CAP_SQL);
            rc = tn_type_duckdb_file(f->type, ids, &text, err);
            if (!rc)
                tn_sql_string(sql, text.buf);
            tn_buf_release(&text);
        } else {
            rc = type_literal(f->type, sql, err);
        }
        tn_buf_addstr(sql, ", default_value: ", NULL);
        if (dflt)
            tn_sql_string(sql, dflt);
        else
            tn_buf_addstr(sql, "NULL::VARCHAR", NULL);
        tn_buf_addstr(sql, "}", NULL);
        free(dflt);
        if (rc)
            return rc;
    }
    /* the row-lineage columns a writer may have stored in the file (else NULL) */
    if (flags & (TN_SCAN_LINEAGE_ROW_ID | TN_SCAN_CARRY_ROW_ID))
        tn_buf_addf(sql, NULL,
                    ", %d: {name: '_tn_lineage_row_id_file', type: 'BIGINT', default_value: "
                    "NULL::VARCHAR}",
                    TN_FIELD_ID_ROW_ID);
    if (flags & (TN_SCAN_LINEAGE_SEQ | TN_SCAN_CARRY_SEQ))
        tn_buf_addf(sql, NULL,
                    ", %d: {name: '_tn_lineage_seq_file', type: 'BIGINT', default_value: "
                    "NULL::VARCHAR}",
                    TN_FIELD_ID_LAST_UPDATED_SEQ);
    tn_buf_addstr(sql, "}", NULL);
    return 0;
}

/* (see table_int.h) */
char *tn__scan_column_name(const struct tn_schema *schema, size_t i)
{
    const struct tn_field *f = &schema->root.fields[i];

    for (size_t j = 0; j < i; j++)
        if (strcasecmp(schema->root.fields[j].name, f->name) == 0)
            return tn_asprintf("%s_%d", f->name, f->id);
    return tn_strdup(f->name);
}

/* The columns of a read: internal names (_tn_f<id>, immune to odd or clashing names) renamed
 * to the schema's; struct fields read under the file's names ("ids") renamed too. */
static int select_list(const struct tn_schema *schema, const char *alias, const json_t *ids,
                       struct tn_buf *sql, struct tn_err *err)
{
    int rc = 0;

    for (size_t i = 0; !rc && i < schema->root.nfields; i++) {
        const struct tn_field *f = &schema->root.fields[i];
        char *name = tn__scan_column_name(schema, i);
        char *col = tn_asprintf("%s%s_tn_f%d", alias ? alias : "", alias ? "." : "", f->id);
        if (i)
            tn_buf_addstr(sql, ", ", NULL);
        if (renamed_inside(f->type, ids)) {
            tn_buf_addstr(sql, "CAST(", NULL);
            renamed_value(f->type, ids, col, 0, sql);
            tn_buf_addstr(sql, " AS ", NULL);
            rc = tn_type_duckdb(f->type, sql, err);
            tn_buf_addstr(sql, ")", NULL);
        } else {
            tn_buf_addstr(sql, col, NULL);
        }
        tn_buf_addstr(sql, " AS ", NULL);
        tn_sql_ident(sql, name);
        free(col);
        free(name);
    }
    return rc;
}

/* (see table_int.h) */
int tn__scan_local_path(struct tn_warehouse *wh, const struct tn_table *t, const char *location,
                        struct tn_buf *sql, struct tn_err *err)
{
    char *resolved = tn_table_resolve(t, location);
    char *path = NULL;
    int rc = tn_storage_local_path(wh->storage, resolved, &path, err);

    if (!rc)
        tn_sql_string(sql, path);
    free(resolved);
    free(path);
    return rc;
}

/* With TN_SCAN_ROW_ID: the row's identity columns after the table's. */
static void identity_cols(const char *file_path, const char *alias, struct tn_buf *sql)
{
    tn_buf_addstr(sql, ", ", NULL);
    tn_sql_string(sql, file_path);
    tn_buf_addf(sql, NULL, " AS _tn_file, %s%sfile_row_number AS _tn_pos", alias ? alias : "",
                alias ? "." : "");
}

/* A row's _row_id (which 0) or _last_updated_sequence_number (1), named "as": the value the
 * file stores (when "stored", read under the names schema_map gives them) wins; else _row_id is
 * the file's first_row_id plus the row's position (NULL without a first_row_id: a file
 * committed before the table had row lineage) and the sequence number the file's data sequence
 * number. */
static void lineage_col(const struct tn_manifest_entry *e, const char *alias, int stored, int which,
                        const char *as, struct tn_buf *sql)
{
    const char *a = alias ? alias : "", *dot = alias ? "." : "";

    tn_buf_addstr(sql, ", ", NULL);
    if (stored)
        tn_buf_addf(sql, NULL, "COALESCE(%s%s%s, ", a, dot,
                    which ? "_tn_lineage_seq_file" : "_tn_lineage_row_id_file");
    if (which)
        tn_buf_addf(sql, NULL, "CAST(%lld AS BIGINT)", (long long)e->sequence_number);
    else if (e->file.has_first_row_id)
        tn_buf_addf(sql, NULL, "CAST(%lld AS BIGINT) + %s%sfile_row_number",
                    (long long)e->file.first_row_id, a, dot);
    else
        tn_buf_addstr(sql, "CAST(NULL AS BIGINT)", NULL);
    tn_buf_addf(sql, NULL, "%s AS %s", stored ? ")" : "", as);
}

/* With TN_SCAN_LINEAGE_* and TN_SCAN_CARRY_*: the row's lineage columns, after the table's. */
static void lineage_cols(const struct tn_manifest_entry *e, const char *alias, int stored,
                         unsigned flags, struct tn_buf *sql)
{
    if (flags & TN_SCAN_LINEAGE_ROW_ID)
        lineage_col(e, alias, stored, 0, TN_COLUMN_ROW_ID, sql);
    if (flags & TN_SCAN_LINEAGE_SEQ)
        lineage_col(e, alias, stored, 1, TN_COLUMN_LAST_UPDATED_SEQ, sql);
    if (flags & TN_SCAN_CARRY_ROW_ID)
        lineage_col(e, alias, stored, 0, TN_LINEAGE_SOURCE_ROW_ID, sql);
    if (flags & TN_SCAN_CARRY_SEQ)
        lineage_col(e, alias, stored, 1, TN_LINEAGE_SOURCE_SEQ, sql);
}

/* The field (of any schema the table had) with id "id": equality deletes may name columns the
 * current schema dropped. */
static const struct tn_field *any_field(const struct tn_table *t, int id)
{
    for (size_t i = t->meta->nschemas; i-- > 0;) {
        const struct tn_field *f = tn_schema_find(t->meta->schemas[i], id);
        if (f)
            return f;
    }
    return NULL;
}

/* (see table_int.h) */
int tn__dv_read(struct tn_warehouse *wh, const struct tn_table *t,
                const struct tn_manifest_entry *del, int64_t **out_pos, size_t *out_n,
                struct tn_err *err)
{
    char *resolved = tn_table_resolve(t, del->file.file_path);
    struct tn_buf blob = TN_BUF_INIT(TN_CAP_VALUE);
    int rc = tn_storage_read_range(wh->storage, resolved, del->file.content_offset,
                                   del->file.content_size, &blob, err);

    *out_pos = NULL;
    *out_n = 0;
    if (!rc && blob.len != (size_t)del->file.content_size)
        rc = tn_fail(err, TN_EINPUT,
                     "deletion vector file %s ends before the blob its manifest entry names "
                     "(offset %lld, %lld bytes)",
                     del->file.file_path, (long long)del->file.content_offset,
                     (long long)del->file.content_size);
    if (!rc)
        rc = tn_puffin_dv_decode((const unsigned char *)blob.buf, blob.len,
                                 del->file.record_count > 0 ? del->file.record_count : 0, out_pos,
                                 out_n, err);
    if (!rc && del->file.record_count >= 0 && (int64_t)*out_n != del->file.record_count)
        rc = tn_fail(err, TN_EINPUT,
                     "deletion vector in %s holds %zu positions, but its manifest entry says %lld",
                     del->file.file_path, *out_n, (long long)del->file.record_count);
    if (rc) {
        tn_err_prefix(err, "table %s.%s: ", t->ns, t->name);
        free(*out_pos);
        *out_pos = NULL;
        *out_n = 0;
    }
    tn_buf_release(&blob);
    free(resolved);
    return rc;
}

/* The positions of deletion vector "del" as SQL list items appended to "list" (", " between
 * them). */
static int dv_positions(struct tn_warehouse *wh, const struct tn_table *t,
                        const struct tn_manifest_entry *del, struct tn_buf *list,
                        struct tn_err *err)
{
    int64_t *pos = NULL;
    size_t n = 0;
    int rc = tn__dv_read(wh, t, del, &pos, &n, err);

    for (size_t i = 0; !rc && i < n; i++)
        tn_buf_addf(list, NULL, "%s%lld", list->len ? ", " : "", (long long)pos[i]);
    free(pos);
    return rc;
}

/* One data file with its applicable deletes. */
static int file_with_deletes(struct tn_warehouse *wh, const struct tn_table *t,
                             const struct tn_scan *scan, const struct tn_manifest_entry *e,
                             const json_t *ids, unsigned flags, struct tn_buf *sql,
                             struct tn_err *err)
{
    int row_id = (flags & TN_SCAN_ROW_ID) != 0;
    struct tn_buf pos_files = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_buf extra =
        TN_BUF_INIT(TN_CAP_SQL); /* equality-key columns missing from the schema */
    struct tn_buf joins = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_buf dv = TN_BUF_INIT(TN_CAP_SQL); /* positions deletion vectors delete */
    int rc = 0, njoin = 0;

    for (size_t d = 0; !rc && d < scan->ndeletes; d++) {
        const struct tn_manifest_entry *del = &scan->deletes[d];
        if (!tn_delete_applies(del, tn_metadata_spec(t->meta, del->spec_id), e))
            continue;
        if (del->file.content == 1 && del->file.content_size > 0) {
            rc = dv_positions(wh, t, del, &dv, err);
            continue;
        }
        if (del->file.content == 1) {
            tn_buf_addstr(&pos_files, pos_files.len ? ", " : "", NULL);
            rc = tn__scan_local_path(wh, t, del->file.file_path, &pos_files, err);
            continue;
        }
        /* equality delete: anti-join on the listed columns, nulls matching nulls */
        tn_buf_addf(&joins, NULL, " ANTI JOIN (SELECT * FROM read_parquet([");
        rc = tn__scan_local_path(wh, t, del->file.file_path, &joins, err);
        tn_buf_addstr(&joins, "], schema = MAP {", NULL);
        for (size_t k = 0; !rc && k < del->file.nequality_ids; k++) {
            int id = del->file.equality_ids[k];
            const struct tn_field *f = any_field(t, id);
            if (!f) {
                rc = tn_fail(err, TN_EINPUT, "equality delete file %s names unknown field id %d",
                             del->file.file_path, id);
                break;
            }
            tn_buf_addf(&joins, NULL, "%s%d: {name: 'k%d', type: ", k ? ", " : "", id, id);
            rc = type_literal(f->type, &joins, err);
            tn_buf_addstr(&joins, ", default_value: NULL::VARCHAR}", NULL);
            if (!tn_schema_find(scan->schema, id) || !tn_type_is_primitive(f->type)) {
                /* read the key from the data file under a hidden name */
                tn_buf_addf(&extra, NULL, ", %d: {name: '__tn_k%d', type: ", id, id);
                if (!rc)
                    rc = type_literal(f->type, &extra, err);
                tn_buf_addstr(&extra, ", default_value: NULL::VARCHAR}", NULL);
            }
        }
        tn_buf_addf(&joins, NULL, "}, hive_partitioning = false)) e%d ON ", njoin);
        for (size_t k = 0; !rc && k < del->file.nequality_ids; k++) {
            int id = del->file.equality_ids[k];
            const struct tn_field *f = tn_schema_find(scan->schema, id);
            if (k)
                tn_buf_addstr(&joins, " AND ", NULL);
            if (f && tn_type_is_primitive(f->type)) {
                tn_buf_addf(&joins, NULL, "d._tn_f%d", id);
            } else {
                tn_buf_addf(&joins, NULL, "d.__tn_k%d", id);
            }
            tn_buf_addf(&joins, NULL, " IS NOT DISTINCT FROM e%d.k%d", njoin, id);
        }
        njoin++;
    }
    if (!rc) {
        tn_buf_addstr(sql, "SELECT ", NULL);
        rc = select_list(scan->schema, "d", ids, sql, err);
    }
    if (!rc) {
        lineage_cols(e, "d", 1, flags, sql);
        if (row_id)
            identity_cols(e->file.file_path, "d", sql);
        tn_buf_addstr(sql, " FROM read_parquet([", NULL);
        rc = tn__scan_local_path(wh, t, e->file.file_path, sql, err);
    }
    if (!rc) {
        tn_buf_addstr(sql, "], schema = ", NULL);
        rc = schema_map(t, scan->schema, e, ids, flags, sql, err);
    }
    if (!rc) {
        if (extra.len) {
            sql->len--; /* reopen the map to add the hidden key columns */
            tn_buf_add(sql, extra.buf, extra.len, NULL);
            tn_buf_addstr(sql, "}", NULL);
        }
        tn_buf_addstr(sql, ", hive_partitioning = false, file_row_number = true) d", NULL);
        if (pos_files.len) {
            tn_buf_addstr(sql, " ANTI JOIN (SELECT pos FROM read_parquet([", NULL);
            tn_buf_add(sql, pos_files.buf, pos_files.len, NULL);
            tn_buf_addstr(sql,
                          "], schema = MAP {2147483546: {name: 'file_path', type: 'VARCHAR', "
                          "default_value: NULL::VARCHAR}, 2147483545: {name: 'pos', type: "
                          "'BIGINT', default_value: NULL::VARCHAR}}, hive_partitioning = false) "
                          "WHERE file_path = ",
                          NULL);
            tn_sql_string(sql, e->file.file_path);
            tn_buf_addstr(sql, ") p ON d.file_row_number = p.pos", NULL);
        }
        if (dv.len) {
            tn_buf_addstr(sql, " ANTI JOIN (SELECT unnest([", NULL);
            tn_buf_add(sql, dv.buf, dv.len, NULL);
            tn_buf_addstr(sql, "]::BIGINT[]) AS pos) v ON d.file_row_number = v.pos", NULL);
        }
        if (joins.len)
            tn_buf_add(sql, joins.buf, joins.len, NULL);
    }
    tn_buf_release(&dv);
    tn_buf_release(&pos_files);
    tn_buf_release(&extra);
    tn_buf_release(&joins);
    return rc;
}

static int has_deletes(const struct tn_table *t, const struct tn_scan *scan,
                       const struct tn_manifest_entry *e)
{
    for (size_t d = 0; d < scan->ndeletes; d++)
        if (tn_delete_applies(&scan->deletes[d],
                              tn_metadata_spec(t->meta, scan->deletes[d].spec_id), e))
            return 1;
    return 0;
}

/* Whether two data files get the same identity-partition defaults. */
static int same_defaults(const struct tn_table *t, const struct tn_manifest_entry *a,
                         const struct tn_manifest_entry *b)
{
    const struct tn_spec *sa = tn_metadata_spec(t->meta, a->spec_id);
    int any_identity = 0;

    for (size_t i = 0; sa && i < sa->nfields; i++)
        if (strcmp(sa->fields[i].transform, "identity") == 0)
            any_identity = 1;
    if (!any_identity && a->spec_id == b->spec_id)
        return 1;
    return a->spec_id == b->spec_id && tn_partition_equal(&a->file, &b->file);
}

/*---- Reading by name when that reads the same: the fast path ----*/

/* DuckDB reads Parquet faster by column name than through read_parquet's field-id schema map.
 * Where a file's columns are named as the schema names their field ids, both read the same;
 * each file's top-level (field id -> name) pairs never change, so they are kept in the plan
 * cache. */

static void free_columns(void *cols)
{
    json_decref(cols);
}

/* The schema rows of Parquet files: file, name, field id, children, the element's type. */
#define SCHEMA_COLUMNS                                                                             \
    "SELECT file_name, name, field_id, num_children, CAST(struct_pack(name, type, type_length, "   \
    "repetition_type, converted_type, scale, precision, logical_type) AS VARCHAR) FROM "           \
    "parquet_schema("
/* Files whose schemas one statement reads (DuckDB reads their footers in parallel), and the
 * most schema rows it may return. */
#define SCHEMA_BATCH    1000
#define SCHEMA_ROWS_MAX 1000000

/* The columns of one file from its schema rows "rows" (its root first, then the tree in
 * pre-order), as {"ids": {"id": "name", ...}, "names": {...}, "layout": "...", "case_clash":
 * bool}: "ids" names every field with an id, at any depth (struct fields are read by name, so a
 * renamed one is read under the file's name); "names" the top-level ones and the layout every
 * column's name and Parquet type in order, both only when every top-level column is primitive
 * and has an id. Adds its size to *bytes. */
static json_t *columns_from_schema(const struct tn_rows *r, const size_t *rows, size_t n,
                                   size_t *bytes)
{
    json_t *names = json_object(), *folded = json_object(), *ids = json_object(), *cols;
    struct tn_buf layout = TN_BUF_INIT(TN_CAP_SQL);
    int64_t remaining[64] = {0};
    int clash = 0, flat = 1, depth = 0;

    tn_parse_i64(n && tn_rows_get(r, rows[0], 3) ? tn_rows_get(r, rows[0], 3) : "0", &remaining[0]);
    for (size_t k = 1; k < n; k++) {
        const char *name = tn_rows_get(r, rows[k], 1), *id = tn_rows_get(r, rows[k], 2);
        const char *kids_text = tn_rows_get(r, rows[k], 3);
        int64_t kids = 0;
        int top;
        while (depth > 0 && remaining[depth] <= 0)
            depth--;
        remaining[depth]--;
        top = depth == 0;
        if (kids_text && !tn_parse_i64(kids_text, &kids) && kids > 0 && depth < 63)
            remaining[++depth] = kids;
        if (name && id) {
            json_object_set_new(ids, id, json_string(name));
            *bytes += 64 + strlen(name);
        }
        if (!top || !flat)
            continue;
        if (!name || !id || kids_text || !tn_rows_get(r, rows[k], 4)) {
            flat = 0;
            continue;
        }
        json_object_set_new(names, id, json_string(name));
        {
            char *lower = tn_strdup(name);
            for (char *c = lower; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            clash |= json_object_get(folded, lower) != NULL;
            json_object_set_new(folded, lower, json_true());
            free(lower);
        }
        tn_buf_addf(&layout, NULL, "%s\n", tn_rows_get(r, rows[k], 4));
        *bytes += 96 + strlen(name);
    }
    json_decref(folded);
    if (flat)
        cols = json_pack("{s:o, s:o, s:s, s:b}", "ids", ids, "names", names, "layout",
                         layout.buf ? layout.buf : "", "case_clash", clash);
    else
        cols = json_pack("{s:o}", "ids", ids);
    if (!flat)
        json_decref(names);
    *bytes += layout.len;
    tn_buf_release(&layout);
    return cols ? cols : json_null();
}

static char *columns_key(const char *path)
{
    return tn_asprintf("file-columns:%s", path);
}

/* The columns (see columns_from_schema) of the local Parquet files "paths" (n of them), read in
 * one statement, into out[i] (new references, NULL for a file not read), each also kept in the
 * plan cache. Errors are ignored: a file without columns is read through the schema map. */
static void read_schemas(struct tn_warehouse *wh, struct tn_session *s, const char *const *paths,
                         size_t n, json_t **out)
{
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_rows *r = NULL;
    struct tn_err ignored;
    json_t *by_file = json_object(), *list, *k_json;
    size_t *rows = NULL, k;

    tn_buf_addstr(&q, SCHEMA_COLUMNS "[", NULL);
    for (size_t i = 0; i < n; i++) {
        if (i)
            tn_buf_addstr(&q, ", ", NULL);
        tn_sql_string(&q, paths[i]);
    }
    tn_buf_addstr(&q, "])", NULL);
    if (!tn_engine_rows(s, q.buf, SCHEMA_ROWS_MAX, &r, &ignored)) {
        /* a file's rows keep their order; other files' rows may come between them */
        for (k = 0; k < r->nrows; k++) {
            const char *file = tn_rows_get(r, k, 0);
            if (!file)
                continue;
            if (!(list = json_object_get(by_file, file))) {
                list = json_array();
                json_object_set_new(by_file, file, list);
            }
            json_array_append_new(list, json_integer((json_int_t)k));
        }
        rows = tn_calloc(r->nrows + 1, sizeof(*rows));
        for (size_t i = 0; i < n; i++) {
            size_t m = 0, bytes = 64, idx;
            char *key = columns_key(paths[i]);
            json_array_foreach(json_object_get(by_file, paths[i]), idx, k_json) rows[m++] =
                (size_t)json_integer_value(k_json);
            if (m) {
                out[i] = columns_from_schema(r, rows, m, &bytes);
                tn__plan_cache_release(wh->plan_cache,
                                       tn__plan_cache_put(wh->plan_cache, key, json_incref(out[i]),
                                                          bytes + 2 * strlen(key), free_columns));
            }
            free(key);
        }
    }
    free(rows);
    json_decref(by_file);
    tn_rows_free(r);
    tn_buf_release(&q);
}

/* The columns of every data file of "scan", indexed as scan->data (new references; NULL for a
 * file not read; the caller releases them with files_columns_free): from the plan cache, the
 * others read SCHEMA_BATCH files per statement (DuckDB reads their footers in parallel). */
static json_t **files_columns(struct tn_warehouse *wh, struct tn_session *s,
                              const struct tn_table *t, const struct tn_scan *scan)
{
    json_t **cols = tn_calloc(scan->ndata + 1, sizeof(*cols));
    char **paths = tn_calloc(scan->ndata + 1, sizeof(*paths));
    const char **batch = tn_calloc(SCHEMA_BATCH, sizeof(*batch));
    size_t *at = tn_calloc(SCHEMA_BATCH, sizeof(*at)), n = 0;

    for (size_t i = 0; i <= scan->ndata; i++) {
        if (i < scan->ndata) {
            char *resolved = tn_table_resolve(t, scan->data[i].file.file_path);
            struct tn_err ignored;
            if (!tn_storage_local_path(wh->storage, resolved, &paths[i], &ignored)) {
                char *key = columns_key(paths[i]);
                struct tn_cached *hit = tn__plan_cache_get(wh->plan_cache, key);
                if (hit) {
                    cols[i] = json_incref((json_t *)tn__plan_cached_value(hit));
                } else {
                    batch[n] = paths[i];
                    at[n++] = i;
                }
                tn__plan_cache_release(wh->plan_cache, hit);
                free(key);
            }
            free(resolved);
        }
        if (n && (n == SCHEMA_BATCH || i == scan->ndata)) {
            json_t **got = tn_calloc(n, sizeof(*got));
            read_schemas(wh, s, batch, n, got);
            for (size_t k = 0; k < n; k++)
                cols[at[k]] = got[k];
            free(got);
            n = 0;
        }
    }
    for (size_t i = 0; i < scan->ndata; i++)
        free(paths[i]);
    free(paths);
    free(batch);
    free(at);
    return cols;
}

static void files_columns_free(json_t **cols, size_t n)
{
    for (size_t i = 0; cols && i < n; i++)
        json_decref(cols[i]);
    free(cols);
}

/* Whether a file read by name gives what the schema map gives: every field of the schema is a
 * primitive column of the file with its name, and no field has a default to fill. Iceberg's
 * names are case-sensitive and DuckDB's are not, so no two of the file's names may differ
 * only in case. */
static int reads_by_name(const struct tn_schema *schema, json_t *cols)
{
    if (json_is_true(json_object_get(cols, "case_clash")))
        return 0;
    cols = json_object_get(cols, "names");
    if (!json_is_object(cols))
        return 0;
    for (size_t i = 0; i < schema->root.nfields; i++) {
        const struct tn_field *f = &schema->root.fields[i];
        char id[16];
        const char *name;
        snprintf(id, sizeof(id), "%d", f->id);
        name = json_string_value(json_object_get(cols, id));
        if (!name || strcmp(name, f->name) != 0 || !tn_type_is_primitive(f->type))
            return 0;
    }
    return json_object_size(cols) >= schema->root.nfields;
}

/*---- Files without field ids: Iceberg's name mapping ----*/

/* The table's name mapping (schema.name-mapping.default): top-level name -> field id. */
static json_t *name_mapping(const struct tn_table *t)
{
    const char *text = json_string_value(json_object_get(
        json_object_get(t->meta->root, "properties"), "schema.name-mapping.default"));
    json_t *mapping, *by_name = NULL, *e, *n;
    size_t i, k;

    if (!text || !(mapping = json_loads(text, 0, NULL)))
        return NULL;
    by_name = json_object();
    json_array_foreach(mapping, i, e)
    {
        json_t *id = json_object_get(e, "field-id");
        if (!json_is_integer(id))
            continue;
        json_array_foreach(json_object_get(e, "names"), k, n)
        {
            if (json_is_string(n))
                json_object_set(by_name, json_string_value(n), id);
        }
    }
    json_decref(mapping);
    return by_name;
}

/* The columns of a Parquet file as a tree (name -> object of its children, at every depth), or
 * NULL when its columns carry field ids. */
static json_t *columns_without_ids(struct tn_session *s, const char *path, struct tn_err *err)
{
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_rows *r = NULL;
    json_t *tree = NULL;
    int has_ids = 0;

    tn_buf_addstr(&q, "SELECT name, field_id, num_children FROM parquet_schema(", NULL);
    tn_sql_string(&q, path);
    tn_buf_addstr(&q, ")", NULL);
    if (tn_engine_rows(s, q.buf, 1000000, &r, err) == 0 && r->nrows > 0) {
        /* rows are the schema tree in pre-order; row 0 is the root */
        int64_t remaining[64] = {0};
        json_t *parent[64] = {NULL};
        int depth = 0;
        tree = json_object();
        parent[0] = tree;
        tn_parse_i64(tn_rows_get(r, 0, 2) ? tn_rows_get(r, 0, 2) : "0", &remaining[0]);
        for (size_t i = 1; i < r->nrows; i++) {
            int64_t kids = 0;
            json_t *node = json_object();
            while (depth > 0 && remaining[depth] == 0)
                depth--;
            remaining[depth]--;
            json_object_set_new(parent[depth], tn_rows_get(r, i, 0) ? tn_rows_get(r, i, 0) : "",
                                node);
            has_ids |= tn_rows_get(r, i, 1) != NULL;
            if (tn_rows_get(r, i, 2) && !tn_parse_i64(tn_rows_get(r, i, 2), &kids) && kids > 0 &&
                depth < 63) {
                remaining[++depth] = kids;
                parent[depth] = node;
            }
        }
    }
    tn_rows_free(r);
    tn_buf_release(&q);
    if (has_ids) {
        json_decref(tree);
        return NULL;
    }
    return tree;
}

/* The entry of name-mapping list "entries" for field id "id", or NULL. */
static json_t *mapping_entry(json_t *entries, int id)
{
    size_t i;
    json_t *e;

    json_array_foreach(entries, i, e)
    {
        if (json_integer_value(json_object_get(e, "field-id")) == id)
            return e;
    }
    return NULL;
}

/* The name of mapping entry "entry" that the file's node "columns" (name -> children) has, or
 * NULL. */
static const char *mapped_name(json_t *entry, json_t *columns)
{
    size_t i;
    json_t *n;

    json_array_foreach(json_object_get(entry, "names"), i, n)
    {
        if (json_is_string(n) && json_object_get(columns, json_string_value(n)))
            return json_string_value(n);
    }
    return NULL;
}

/* The single child of file node "node", or NULL. */
static json_t *only_child(json_t *node)
{
    const char *k;
    json_t *v;

    if (json_object_size(node) != 1)
        return NULL;
    json_object_foreach(node, k, v) return v;
    return NULL;
}

static int mapped_value(const struct tn_type *type, const char *src, json_t *entry, json_t *node,
                        int depth, struct tn_buf *sql, struct tn_err *err);

/* Append "CAST(<src read by the mapping> AS type)", or a typed NULL when "src" is NULL. */
static int mapped_cast(const struct tn_type *type, const char *src, json_t *entry, json_t *node,
                       int depth, struct tn_buf *sql, struct tn_err *err)
{
    int rc = 0;

    tn_buf_addstr(sql, "CAST(", NULL);
    if (src)
        rc = mapped_value(type, src, entry, node, depth, sql, err);
    else
        tn_buf_addstr(sql, "NULL", NULL);
    tn_buf_addstr(sql, " AS ", NULL);
    if (!rc)
        rc = tn_type_duckdb(type, sql, err);
    tn_buf_addstr(sql, ")", NULL);
    return rc;
}

/* Append the value of "src" (an SQL expression over the file's column whose name-mapping entry
 * is "entry" and whose file node is "node") as "type": nested fields found by the names the
 * mapping gives at every depth (a file written with physical names that differ from the
 * schema's, e.g. Delta column mapping), fields the file lacks as NULL. */
static int mapped_value(const struct tn_type *type, const char *src, json_t *entry, json_t *node,
                        int depth, struct tn_buf *sql, struct tn_err *err)
{
    json_t *sub = json_object_get(entry, "fields");
    int rc = 0;

    if (depth > 32)
        return tn_fail(err, TN_EINPUT, "a column nests more than 32 levels deep");
    if (type->kind == TN_T_STRUCT) {
        tn_buf_addf(sql, NULL, "CASE WHEN %s IS NULL THEN NULL ELSE struct_pack(", src);
        for (size_t i = 0; !rc && i < type->nfields; i++) {
            const struct tn_field *f = &type->fields[i];
            json_t *e = mapping_entry(sub, f->id);
            const char *name = e ? mapped_name(e, node) : NULL;
            struct tn_buf child = TN_BUF_INIT(TN_CAP_SQL);
            if (name) {
                tn_buf_addf(&child, NULL, "struct_extract(%s, ", src);
                tn_sql_string(&child, name);
                tn_buf_addstr(&child, ")", NULL);
            }
            tn_buf_addstr(sql, i ? ", " : "", NULL);
            tn_sql_ident(sql, f->name);
            tn_buf_addstr(sql, " := ", NULL);
            rc = mapped_cast(f->type, name ? child.buf : NULL, e,
                             name ? json_object_get(node, name) : NULL, depth + 1, sql, err);
            tn_buf_release(&child);
        }
        tn_buf_addstr(sql, ") END", NULL);
        return rc;
    }
    if (type->kind == TN_T_LIST) {
        /* three-level lists: <column> / repeated group / element; two-level: the group is it */
        json_t *group = only_child(node), *element = only_child(group);
        char var[32];
        snprintf(var, sizeof(var), "_tn_e%d", depth);
        tn_buf_addf(sql, NULL, "list_transform(%s, lambda %s: ", src, var);
        rc = mapped_cast(type->element, var, mapping_entry(sub, type->element_id),
                         element ? element : group, depth + 1, sql, err);
        tn_buf_addstr(sql, ")", NULL);
        return rc;
    }
    if (type->kind == TN_T_MAP) {
        json_t *kv = only_child(node);
        char var[32], key[48], value[48];
        snprintf(var, sizeof(var), "_tn_e%d", depth);
        snprintf(key, sizeof(key), "%s.key", var);
        snprintf(value, sizeof(value), "%s.value", var);
        tn_buf_addf(sql, NULL,
                    "map_from_entries(list_transform(map_entries(%s), lambda %s: {'key': ", src,
                    var);
        rc = mapped_cast(type->key, key, mapping_entry(sub, type->key_id),
                         json_object_get(kv, "key"), depth + 1, sql, err);
        tn_buf_addstr(sql, ", 'value': ", NULL);
        if (!rc)
            rc = mapped_cast(type->value, value, mapping_entry(sub, type->value_id),
                             json_object_get(kv, "value"), depth + 1, sql, err);
        tn_buf_addstr(sql, "}))", NULL);
        return rc;
    }
    tn_buf_addstr(sql, src, NULL);
    return rc;
}

/* A file without field ids, read by the names the mapping gives each field id. */
static int file_by_names(struct tn_warehouse *wh, const struct tn_table *t,
                         const struct tn_scan *scan, const struct tn_manifest_entry *e,
                         json_t *mapping, json_t *file_columns, int lineage, struct tn_buf *sql,
                         struct tn_err *err)
{
    const char *text = json_string_value(json_object_get(
        json_object_get(t->meta->root, "properties"), "schema.name-mapping.default"));
    json_t *entries = text ? json_loads(text, 0, NULL) : NULL;
    int rc = 0;

    tn_buf_addstr(sql, "SELECT ", NULL);
    for (size_t i = 0; !rc && i < scan->schema->root.nfields; i++) {
        const struct tn_field *f = &scan->schema->root.fields[i];
        const char *source = NULL, *key;
        json_t *id;

        json_object_foreach(mapping, key, id)
        {
            if (json_integer_value(id) == f->id && json_object_get(file_columns, key))
                source = key;
        }
        tn_buf_addstr(sql, i ? ", " : "", NULL);
        if (source) {
            struct tn_buf col = TN_BUF_INIT(TN_CAP_SQL);
            tn_buf_addstr(&col, "d.", NULL);
            tn_sql_ident(&col, source);
            rc = mapped_cast(f->type, col.buf, mapping_entry(entries, f->id),
                             json_object_get(file_columns, source), 0, sql, err);
            tn_buf_release(&col);
        } else {
            char *dflt = partition_default(t, e, f);
            if (!dflt)
                dflt = default_text(f);
            tn_buf_addstr(sql, "CAST(", NULL);
            if (dflt)
                tn_sql_string(sql, dflt);
            else
                tn_buf_addstr(sql, "NULL", NULL);
            free(dflt);
            tn_buf_addstr(sql, " AS ", NULL);
            rc = tn_type_duckdb(f->type, sql, err);
            tn_buf_addstr(sql, ")", NULL);
        }
        tn_buf_addf(sql, NULL, " AS _tn_f%d", f->id);
    }
    json_decref(entries);
    if (rc)
        return rc;
    if (lineage) /* the positions lineage_cols numbers rows by */
        tn_buf_addstr(sql, ", d.file_row_number", NULL);
    tn_buf_addstr(sql, " FROM read_parquet([", NULL);
    rc = tn__scan_local_path(wh, t, e->file.file_path, sql, err);
    tn_buf_addstr(sql, "], hive_partitioning = false, file_row_number = true) d", NULL);
    /* the position deletes that apply to it (equality deletes need field ids) */
    for (size_t k = 0; !rc && k < scan->ndeletes; k++) {
        const struct tn_manifest_entry *del = &scan->deletes[k];
        if (!tn_delete_applies(del, tn_metadata_spec(t->meta, del->spec_id), e))
            continue;
        if (del->file.content != 1)
            return tn_fail(err, TN_EINPUT,
                           "table %s.%s: equality deletes apply to %s, a file without field ids "
                           "(read by name mapping); tarn cannot apply them",
                           t->ns, t->name, e->file.file_path);
        tn_buf_addf(sql, NULL, " ANTI JOIN (SELECT pos FROM read_parquet([");
        rc = tn__scan_local_path(wh, t, del->file.file_path, sql, err);
        tn_buf_addstr(sql,
                      "], schema = MAP {2147483546: {name: 'file_path', type: 'VARCHAR', "
                      "default_value: NULL::VARCHAR}, 2147483545: {name: 'pos', type: 'BIGINT', "
                      "default_value: NULL::VARCHAR}}, hive_partitioning = false) WHERE "
                      "file_path = ",
                      NULL);
        tn_sql_string(sql, e->file.file_path);
        tn_buf_addf(sql, NULL, ") p%zu ON d.file_row_number = p%zu.pos", k, k);
    }
    return rc;
}

/* Fetch every data and delete file of the scan into the storage's local cache in parallel
 * (remote storage only), so that the local paths below are all cache hits. */
static int prefetch_files(struct tn_warehouse *wh, const struct tn_table *t,
                          const struct tn_scan *scan, struct tn_err *err)
{
    size_t n = scan->ndata + scan->ndeletes, k = 0;
    char **uris;
    int64_t *sizes;
    int rc;

    if (!tn_storage_is_remote(wh->storage) || n == 0)
        return 0;
    uris = tn_calloc(n, sizeof(*uris));
    sizes = tn_calloc(n, sizeof(*sizes));
    for (size_t i = 0; i < scan->ndata; i++, k++) {
        uris[k] = tn_table_resolve(t, scan->data[i].file.file_path);
        sizes[k] = scan->data[i].file.file_size > 0 ? scan->data[i].file.file_size : -1;
    }
    for (size_t i = 0; i < scan->ndeletes; i++, k++) {
        uris[k] = tn_table_resolve(t, scan->deletes[i].file.file_path);
        sizes[k] = scan->deletes[i].file.file_size > 0 ? scan->deletes[i].file.file_size : -1;
    }
    rc = tn_storage_prefetch(wh->storage, (const char *const *)uris, sizes, n, err);
    if (rc)
        tn_err_prefix(err, "table %s.%s: ", t->ns, t->name);
    for (size_t i = 0; i < n; i++)
        free(uris[i]);
    free(uris);
    free(sizes);
    return rc;
}

/* The quoted local paths of a group of files read together: "e" (index "i") and, unless rows
 * need identities, every other file without deletes that shares its partition defaults.
 * *by_name stays 1 only when every file of the group reads the same by column name, and
 * *same_layout only when, besides, they all have the same columns with the same Parquet types
 * in the same order (DuckDB then needs no union by name, which reads every file's schema). */
static int group_paths(struct tn_warehouse *wh, const struct tn_table *t,
                       const struct tn_scan *scan, const struct tn_manifest_entry *e, size_t i,
                       int row_id, char *grouped, json_t **cols, int *by_name, int *same_layout,
                       struct tn_buf *paths, struct tn_err *err)
{
    const json_t *first = NULL; /* the columns of the group's first file */
    char *key = nested_key(scan->schema, file_ids(cols, i)); /* its struct fields' names */

    *same_layout = *by_name;
    for (size_t j = i; j < scan->ndata; j++) {
        const struct tn_manifest_entry *f = &scan->data[j];
        int rc;
        if (j != i && (row_id || grouped[j] || !same_defaults(t, e, f) || has_deletes(t, scan, f)))
            continue;
        if (j != i) {
            char *other = nested_key(scan->schema, file_ids(cols, j));
            int same = (!key && !other) || (key && other && strcmp(key, other) == 0);
            free(other);
            if (!same)
                continue;
        }
        grouped[j] = 1;
        if (j != i)
            tn_buf_addstr(paths, ", ", NULL);
        rc = tn__scan_local_path(wh, t, f->file.file_path, paths, err);
        if (rc) {
            free(key);
            return rc;
        }
        if (*by_name) {
            *by_name = reads_by_name(scan->schema, cols[j]);
            if (!first)
                first = cols[j];
            else if (!json_equal(json_object_get(first, "layout"),
                                 json_object_get(cols[j], "layout")))
                *same_layout = 0;
        }
    }
    *same_layout = *same_layout && *by_name;
    free(key);
    return 0;
}

int tn_scan_sql(struct tn_warehouse *wh, const struct tn_table *t, const struct tn_scan *scan,
                unsigned flags, struct tn_buf *sql, struct tn_err *err)
{
    int row_id = (flags & TN_SCAN_ROW_ID) != 0;
    int lineage = (flags & (TN_SCAN_LINEAGE | TN_SCAN_CARRY)) != 0; /* files read alone, by id */
    char *grouped;
    json_t *mapping, **file_cols = NULL; /* the files' columns (see columns_from_schema) */
    struct tn_session *probe = NULL;
    int rc = 0, parts = 0;

    /* S3: fetch the files DuckDB will read, in parallel, before building the relation */
    rc = prefetch_files(wh, t, scan, err);
    if (rc)
        return rc;
    grouped = tn_calloc(scan->ndata + 1, 1);
    mapping = name_mapping(t);
    /* a session to look at file footers (name mapping, the by-name fast path) */
    if (scan->ndata && tn_session_open(wh->engine, &probe, err)) {
        json_decref(mapping);
        free(grouped);
        return err->code;
    }
    for (size_t i = 0; mapping && !rc && i < scan->ndata; i++) {
        char *resolved = tn_table_resolve(t, scan->data[i].file.file_path);
        char *path = NULL;
        json_t *cols = NULL;
        if (!tn_storage_local_path(wh->storage, resolved, &path, err))
            cols = columns_without_ids(probe, path, err);
        if (cols && row_id) {
            rc = tn_fail(err, TN_EINPUT,
                         "table %s.%s has files without field ids (read by name mapping); "
                         "changing their rows is not supported",
                         t->ns, t->name);
        } else if (cols) {
            grouped[i] = 1;
            tn_buf_addstr(sql, parts++ ? " UNION ALL " : "(", NULL);
            tn_buf_addstr(sql, "SELECT ", NULL);
            rc = select_list(scan->schema, NULL, NULL, sql, err);
            lineage_cols(&scan->data[i], NULL, 0, flags, sql);
            tn_buf_addstr(sql, " FROM (", NULL);
            if (!rc)
                rc = file_by_names(wh, t, scan, &scan->data[i], mapping, cols, lineage, sql, err);
            tn_buf_addstr(sql, ")", NULL);
        }
        json_decref(cols);
        free(resolved);
        free(path);
    }
    json_decref(mapping);
    if (rc) {
        tn_session_close(probe);
        free(grouped);
        return rc;
    }

    if (probe)
        file_cols = files_columns(wh, probe, t, scan);
    if (!parts)
        tn_buf_addstr(sql, "(", NULL);
    for (size_t i = 0; !rc && i < scan->ndata; i++) {
        const struct tn_manifest_entry *e = &scan->data[i];
        if (grouped[i])
            continue;
        grouped[i] = 1;
        if (parts++)
            tn_buf_addstr(sql, " UNION ALL ", NULL);
        if (has_deletes(t, scan, e)) {
            rc = file_with_deletes(wh, t, scan, e, file_ids(file_cols, i), flags, sql, err);
            continue;
        }
        {
            struct tn_buf paths = TN_BUF_INIT(TN_CAP_SQL);
            int by_name = file_cols != NULL && !lineage, same_layout;
            rc = group_paths(wh, t, scan, e, i, row_id || lineage, grouped, file_cols, &by_name,
                             &same_layout, &paths, err);
            if (rc) {
                tn_buf_release(&paths);
                break;
            }
            tn_buf_addstr(sql, "SELECT ", NULL);
            rc = select_list(scan->schema, NULL, by_name ? NULL : file_ids(file_cols, i), sql, err);
            lineage_cols(e, NULL, 1, flags, sql);
            if (row_id)
                identity_cols(e->file.file_path, NULL, sql);
            if (rc) {
                tn_buf_release(&paths);
                break;
            }
            if (by_name) {
                /* the fast path: columns by name, cast to the schema's types */
                tn_buf_addstr(sql, " FROM (SELECT ", NULL);
                for (size_t k = 0; !rc && k < scan->schema->root.nfields; k++) {
                    const struct tn_field *f = &scan->schema->root.fields[k];
                    tn_buf_addstr(sql, k ? ", CAST(" : "CAST(", NULL);
                    tn_sql_ident(sql, f->name);
                    tn_buf_addstr(sql, " AS ", NULL);
                    rc = tn_type_duckdb(f->type, sql, err);
                    tn_buf_addf(sql, NULL, ") AS _tn_f%d", f->id);
                }
                if (row_id)
                    tn_buf_addstr(sql, ", file_row_number", NULL);
                tn_buf_addf(sql, NULL, " FROM read_parquet([%s], hive_partitioning = false%s%s))",
                            paths.buf, same_layout ? "" : ", union_by_name = true",
                            row_id ? ", file_row_number = true" : "");
            } else {
                tn_buf_addf(sql, NULL, " FROM read_parquet([%s], schema = ", paths.buf);
                rc = schema_map(t, scan->schema, e, file_ids(file_cols, i), flags, sql, err);
                tn_buf_addstr(sql,
                              row_id || lineage
                                  ? ", hive_partitioning = false, file_row_number = true)"
                                  : ", hive_partitioning = false)",
                              NULL);
            }
            tn_buf_release(&paths);
        }
    }
    if (!rc && !parts) {
        /* no data files: an empty relation with the right columns and types */
        tn_buf_addstr(sql, "SELECT ", NULL);
        for (size_t i = 0; !rc && i < scan->schema->root.nfields; i++) {
            const struct tn_field *f = &scan->schema->root.fields[i];
            tn_buf_addstr(sql, i ? ", CAST(NULL AS " : "CAST(NULL AS ", NULL);
            rc = tn_type_duckdb(f->type, sql, err);
            char *name = tn__scan_column_name(scan->schema, i);
            tn_buf_addstr(sql, ") AS ", NULL);
            tn_sql_ident(sql, name);
            free(name);
        }
        if (flags & TN_SCAN_LINEAGE_ROW_ID)
            tn_buf_addstr(sql, ", CAST(NULL AS BIGINT) AS " TN_COLUMN_ROW_ID, NULL);
        if (flags & TN_SCAN_LINEAGE_SEQ)
            tn_buf_addstr(sql, ", CAST(NULL AS BIGINT) AS " TN_COLUMN_LAST_UPDATED_SEQ, NULL);
        if (flags & TN_SCAN_CARRY_ROW_ID)
            tn_buf_addstr(sql, ", CAST(NULL AS BIGINT) AS " TN_LINEAGE_SOURCE_ROW_ID, NULL);
        if (flags & TN_SCAN_CARRY_SEQ)
            tn_buf_addstr(sql, ", CAST(NULL AS BIGINT) AS " TN_LINEAGE_SOURCE_SEQ, NULL);
        if (row_id)
            tn_buf_addstr(sql,
                          ", CAST(NULL AS VARCHAR) AS _tn_file, CAST(NULL AS BIGINT) AS "
                          "_tn_pos",
                          NULL);
        tn_buf_addstr(sql, " WHERE false", NULL);
    }
    tn_buf_addstr(sql, ")", NULL);
    tn_session_close(probe);
    files_columns_free(file_cols, scan->ndata);
    free(grouped);
    return rc;
}

/* (see table_int.h) */
unsigned tn__lineage_available(const struct tn_table *t, const struct tn_schema *schema,
                               unsigned want)
{
    if (t->meta->format_version < 3)
        return 0;
    for (size_t i = 0; want && i < schema->root.nfields; i++) {
        const char *name = schema->root.fields[i].name;
        if (strcasecmp(name, TN_COLUMN_ROW_ID) == 0)
            want &= ~(unsigned)(TN_SCAN_LINEAGE_ROW_ID | TN_SCAN_CARRY_ROW_ID);
        if (strcasecmp(name, TN_COLUMN_LAST_UPDATED_SEQ) == 0)
            want &= ~(unsigned)(TN_SCAN_LINEAGE_SEQ | TN_SCAN_CARRY_SEQ);
    }
    return want;
}

void tn__scan_subset_init(struct tn_scan *subset, const struct tn_scan *scan,
                          const struct tn_table *t)
{
    memset(subset, 0, sizeof(*subset));
    subset->schema = tn_metadata_current_schema(t->meta);
    subset->snapshot_id = scan->snapshot_id;
    subset->data = tn_calloc(scan->ndata + 1, sizeof(*subset->data));
    subset->deletes = scan->deletes;
    subset->ndeletes = scan->ndeletes;
}
