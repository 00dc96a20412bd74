/* table.c - warehouses and table versions: open, load, create, register, drop, and path maps
 * (see table.h). */
#include "table_int.h"

#include <stdlib.h>
#include <string.h>

#define METADATA_MAX_BYTES (256L * 1024 * 1024)
#define TN_ALLOWED_DIRS_MAX 1024

/* Directories of registered tables that live outside the warehouse: the targets of their path
 * maps, or the folder that holds their metadata folder. DuckDB may read those too. */
static size_t registered_dirs(struct tn_warehouse *wh, char **dirs, size_t cap)
{
    struct tn_catalog_entry *e = NULL;
    struct tn_err ignored;
    const char *root = tn_storage_root_path(wh->storage);
    size_t n = 0, ne = 0;

    if (tn_catalog_list(wh->catalog, NULL, &e, &ne, &ignored))
        return 0;
    for (size_t i = 0; i < ne && n < cap; i++) {
        char *map_text = NULL;
        const char *loc = e[i].metadata_location;
        json_t *map;
        const char *key;
        json_t *v;

        if (!tn_catalog_get_option(wh->catalog, e[i].ns, e[i].table, "path_map", &map_text,
                                   &ignored) &&
            map_text && (map = json_loads(map_text, 0, NULL)) != NULL) {
            json_object_foreach(map, key, v) {
                const char *to = json_string_value(v);
                if (to && n < cap)
                    dirs[n++] = tn_strdup(strncmp(to, "file://", 7) == 0 ? to + 7 : to);
            }
            json_decref(map);
        }
        free(map_text);
        if (strncmp(loc, "file://", 7) == 0)
            loc += 7;
        if (loc[0] == '/' && strncmp(loc, root, strlen(root)) != 0 && n < cap) {
            char *dir = tn_strdup(loc);
            for (int up = 0; up < 2; up++) {
                char *slash = strrchr(dir, '/');
                if (slash && slash != dir)
                    *slash = '\0';
            }
            dirs[n++] = dir;
        }
    }
    tn_catalog_entries_free(e, ne);
    return n;
}

/* Open the storage "opt" names. For an S3 warehouse the S3 fields fall back to the TARN_S3_*,
 * TARN_CACHE_DIR and TARN_CACHE_SIZE environment variables (so every command and the server
 * take them before the command line does), the catalog is local (*out_catalog: opt's path,
 * else ./tarn-catalog.db) and the cache defaults to tarn-cache beside the catalog. */
static int open_storage(const struct tn_warehouse_options *opt, struct tn_storage **out,
                        char **out_catalog, struct tn_err *err)
{
    struct tn_storage_options so = {0};
    const char *w = opt->warehouse ? opt->warehouse : "";
    const char *style = getenv("TARN_S3_PATH_STYLE");
    const char *size = getenv("TARN_CACHE_SIZE");
    char *catalog = NULL, *cache = NULL;
    int rc;

    so.root = w;
    if (strncmp(w, "s3://", 5) != 0 && strncmp(w, "s3a://", 6) != 0) {
        *out_catalog = NULL;
        return tn_storage_open(&so, out, err);
    }
    so.s3_endpoint = opt->s3_endpoint ? opt->s3_endpoint : getenv("TARN_S3_ENDPOINT");
    so.s3_region = opt->s3_region ? opt->s3_region : getenv("TARN_S3_REGION");
    so.s3_path_style = opt->s3_path_style;
    if (!so.s3_path_style && style && *style)
        so.s3_path_style = strcmp(style, "0") == 0 || strcmp(style, "false") == 0
                               ? TN_S3_STYLE_VIRTUAL
                               : TN_S3_STYLE_PATH;
    so.cache_size = opt->cache_size;
    if (!so.cache_size && size && *size && tn_storage_parse_size(size, &so.cache_size))
        return tn_fail(err, TN_EINPUT, "TARN_CACHE_SIZE must be a size such as 500MB or 10GiB");
    catalog = tn_strdup(opt->catalog_path ? opt->catalog_path : "./tarn-catalog.db");
    so.cache_dir = opt->cache_dir ? opt->cache_dir : getenv("TARN_CACHE_DIR");
    if (!so.cache_dir || !*so.cache_dir) {
        const char *slash = strrchr(catalog, '/');
        cache = slash ? tn_asprintf("%.*s/tarn-cache", (int)(slash - catalog), catalog)
                      : tn_strdup("tarn-cache");
        so.cache_dir = cache;
    }
    rc = tn_storage_open(&so, out, err);
    free(cache);
    if (rc) {
        free(catalog);
        return rc;
    }
    *out_catalog = catalog;
    return 0;
}

int tn_warehouse_open(const struct tn_warehouse_options *opt, struct tn_warehouse **out,
                      struct tn_err *err)
{
    struct tn_warehouse *wh = tn_calloc(1, sizeof(*wh));
    struct tn_engine_options eo = {0};
    const char *dirs[TN_ALLOWED_DIRS_MAX + 2];
    char *registered[TN_ALLOWED_DIRS_MAX];
    char *catalog_path = NULL;
    char *temp_dir = NULL;
    size_t nd = 0, nreg = 0;
    int rc;

    wh->plan_cache = tn__plan_cache_new(TN_PLAN_CACHE_BYTES);
    rc = open_storage(opt, &wh->storage, &catalog_path, err);
    if (rc)
        goto out;
    if (!catalog_path)
        catalog_path = opt->catalog_path
                           ? tn_strdup(opt->catalog_path)
                           : tn_asprintf("%s/catalog.db", tn_storage_root_path(wh->storage));
    if (opt->catalog_name && (!*opt->catalog_name || strlen(opt->catalog_name) > 255)) {
        rc = tn_fail(err, TN_EINPUT, "the catalog name must have 1 to 255 characters");
        goto out;
    }
    rc = tn_catalog_open(catalog_path, opt->catalog_name ? opt->catalog_name : "tarn",
                         &wh->catalog, err);
    if (rc)
        goto out;
    temp_dir = tn_asprintf("%s/.tmp", tn_storage_root_path(wh->storage));
    dirs[nd++] = tn_storage_root_path(wh->storage);
    if (tn_storage_cache_dir(wh->storage) &&
        strcmp(tn_storage_cache_dir(wh->storage), tn_storage_root_path(wh->storage)) != 0)
        dirs[nd++] = tn_storage_cache_dir(wh->storage); /* DuckDB reads S3 files from here */
    for (size_t i = 0; opt->extra_dirs && opt->extra_dirs[i] && nd < TN_ALLOWED_DIRS_MAX / 2; i++)
        dirs[nd++] = opt->extra_dirs[i];
    nreg = registered_dirs(wh, registered, TN_ALLOWED_DIRS_MAX - nd);
    for (size_t i = 0; i < nreg; i++)
        dirs[nd++] = registered[i];
    dirs[nd] = NULL;
    eo.allowed_dirs = dirs;
    eo.temp_dir = temp_dir;
    eo.memory_limit = opt->memory_limit;
    eo.threads = opt->threads;
    rc = tn_engine_open(&eo, &wh->engine, err);
out:
    free(catalog_path);
    free(temp_dir);
    for (size_t i = 0; i < nreg; i++)
        free(registered[i]);
    if (rc) {
        tn_warehouse_close(wh);
        return rc;
    }
    *out = wh;
    return 0;
}

void tn_warehouse_close(struct tn_warehouse *wh)
{
    if (!wh)
        return;
    tn__plan_cache_free(wh->plan_cache);
    tn_engine_close(wh->engine);
    tn_catalog_close(wh->catalog);
    tn_storage_close(wh->storage);
    free(wh);
}

/*---- Path maps ----*/

static void path_map_release(struct tn_path_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->from[i]);
        free(m->to[i]);
    }
    free(m->from);
    free(m->to);
    memset(m, 0, sizeof(*m));
}

static int path_map_parse(const char *text, struct tn_path_map *m, struct tn_err *err)
{
    json_t *j = json_loads(text, 0, NULL);
    const char *key;
    json_t *v;

    memset(m, 0, sizeof(*m));
    if (!json_is_object(j)) {
        json_decref(j);
        return tn_fail(err, TN_EINPUT, "path map must be a JSON object of prefix to prefix");
    }
    m->from = tn_calloc(json_object_size(j) + 1, sizeof(char *));
    m->to = tn_calloc(json_object_size(j) + 1, sizeof(char *));
    json_object_foreach(j, key, v) {
        if (!json_is_string(v)) {
            json_decref(j);
            path_map_release(m);
            return tn_fail(err, TN_EINPUT, "path map value for '%s' must be a string", key);
        }
        m->from[m->n] = tn_strdup(key);
        m->to[m->n] = tn_strdup(json_string_value(v));
        m->n++;
    }
    json_decref(j);
    return 0;
}

static char *map_location(const struct tn_path_map *m, const char *location)
{
    size_t best = 0, best_len = 0;

    for (size_t i = 0; i < m->n; i++) {
        size_t n = strlen(m->from[i]);
        if (n > best_len && strncmp(location, m->from[i], n) == 0) {
            best = i;
            best_len = n;
        }
    }
    if (!best_len)
        return tn_strdup(location);
    return tn_asprintf("%s%s", m->to[best], location + best_len);
}

char *tn_table_resolve(const struct tn_table *t, const char *location)
{
    return map_location(&t->map, location);
}

/*---- Loading ----*/

static void free_metadata(void *m)
{
    tn_metadata_free(m);
}

/* Parsed metadata takes several times its text in memory; the plan cache is charged this, and
 * the text a commit keeps (tn_metadata_dump_new). */
#define PARSED_PER_TEXT_BYTE 8

void tn__metadata_cache_put(struct tn_warehouse *wh, const char *location,
                            const struct tn_metadata *m, size_t text_len)
{
    char *key = tn_asprintf("metadata:%s", location);

    tn__plan_cache_release(wh->plan_cache,
                           tn__plan_cache_put(wh->plan_cache, key, tn_metadata_share(m),
                                              text_len * PARSED_PER_TEXT_BYTE + m->text_len,
                                              free_metadata));
    free(key);
}

/* The metadata file at "location", parsed: from the plan cache when it was read or written
 * before (a metadata file never changes; the parsed form is shared, immutable). */
static int read_metadata(struct tn_warehouse *wh, const char *location, struct tn_metadata **out,
                         struct tn_err *err)
{
    char *key = tn_asprintf("metadata:%s", location);
    struct tn_cached *hit = tn__plan_cache_get(wh->plan_cache, key);
    struct tn_buf buf = TN_BUF_INIT(METADATA_MAX_BYTES);
    int rc = 0;

    free(key);
    if (hit) {
        *out = tn_metadata_share(tn__plan_cached_value(hit));
        tn__plan_cache_release(wh->plan_cache, hit);
        return 0;
    }
    rc = tn_storage_read(wh->storage, location, &buf, err);
    if (!rc)
        rc = tn_metadata_parse(buf.buf, buf.len, out, err);
    if (rc)
        tn_err_prefix(err, "metadata %s: ", location);
    else
        tn__metadata_cache_put(wh, location, *out, buf.len);
    tn_buf_release(&buf);
    return rc;
}

int tn_table_load(struct tn_warehouse *wh, const char *ns, const char *name,
                  struct tn_table **out, struct tn_err *err)
{
    struct tn_table *t = tn_calloc(1, sizeof(*t));
    char *map_text = NULL;
    char *resolved = NULL;
    int rc;

    snprintf(t->ns, sizeof(t->ns), "%s", ns);
    snprintf(t->name, sizeof(t->name), "%s", name);
    rc = tn_catalog_load(wh->catalog, ns, name, &t->metadata_location, err);
    if (!rc)
        rc = tn_catalog_get_option(wh->catalog, ns, name, "path_map", &map_text, err);
    if (!rc && map_text)
        rc = path_map_parse(map_text, &t->map, err);
    if (!rc) {
        resolved = tn_table_resolve(t, t->metadata_location);
        rc = read_metadata(wh, resolved, &t->meta, err);
    }
    free(map_text);
    free(resolved);
    if (rc) {
        tn_table_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void tn_table_free(struct tn_table *t)
{
    if (!t)
        return;
    free(t->metadata_location);
    tn_metadata_free(t->meta);
    path_map_release(&t->map);
    free(t);
}

/*---- Creating, registering, dropping ----*/

int tn_table_create(struct tn_warehouse *wh, const char *ns, const char *name, json_t *schema,
                    json_t *properties, struct tn_table **out, struct tn_err *err)
{
    return tn_table_create_partitioned(wh, ns, name, schema, properties, NULL, out, err);
}

/* Metadata "m" with partition spec "text" as its spec 0 (a new metadata in *out). */
static int with_spec(struct tn_metadata *m, const char *text, struct tn_metadata **out,
                     struct tn_err *err)
{
    json_t *fields = NULL, *root, *spec;
    int rc = tn__spec_parse(text, tn_metadata_current_schema(m), &fields, err);

    if (rc)
        return rc;
    root = json_deep_copy(m->root);
    spec = json_array_get(json_object_get(root, "partition-specs"), 0);
    json_object_set_new(root, "last-partition-id",
                        json_integer(999 + (json_int_t)json_array_size(fields)));
    json_object_set_new(spec, "fields", fields);
    return tn_metadata_from_json(root, out, err);
}

int tn_table_create_partitioned(struct tn_warehouse *wh, const char *ns, const char *name,
                                json_t *schema, json_t *properties, const char *partition_by,
                                struct tn_table **out, struct tn_err *err)
{
    struct tn_metadata *m = NULL;
    char *location = tn_asprintf("%s/%s/%s", tn_storage_root_uri(wh->storage), ns, name);
    char *meta_location = NULL;
    char *text = NULL;
    char uuid[37];
    int rc;

    rc = tn_metadata_new(location, schema, properties, &m, err);
    if (!rc && partition_by && *partition_by) {
        struct tn_metadata *partitioned = NULL;
        rc = with_spec(m, partition_by, &partitioned, err);
        tn_metadata_free(m);
        m = partitioned;
    }
    if (rc)
        goto out;
    tn_uuid4(uuid);
    meta_location = tn_asprintf("%s/metadata/00000-%s.metadata.json", location, uuid);
    text = tn_metadata_dump(m);
    rc = tn_storage_write(wh->storage, meta_location, text, strlen(text), err);
    if (rc)
        goto out;
    rc = tn_catalog_create(wh->catalog, ns, name, meta_location, err);
    if (rc) {
        struct tn_err ignored;
        tn_storage_delete(wh->storage, meta_location, &ignored);
        goto out;
    }
    if (out)
        rc = tn_table_load(wh, ns, name, out, err);
out:
    tn_metadata_free(m);
    free(location);
    free(meta_location);
    free(text);
    return rc;
}

int tn_table_register(struct tn_warehouse *wh, const char *ns, const char *name,
                      const char *metadata_location, json_t *path_map, struct tn_err *err)
{
    struct tn_table probe = {0};
    struct tn_scan *scan = NULL;
    char *map_text = NULL;
    char *resolved = NULL;
    int rc = 0;

    snprintf(probe.ns, sizeof(probe.ns), "%s", ns);
    snprintf(probe.name, sizeof(probe.name), "%s", name);
    if (path_map) {
        map_text = json_dumps(path_map, JSON_COMPACT);
        rc = path_map_parse(map_text, &probe.map, err);
    }
    if (!rc) {
        resolved = tn_table_resolve(&probe, metadata_location);
        rc = read_metadata(wh, resolved, &probe.meta, err);
    }
    if (!rc) /* the current snapshot must be plannable, or the table is not usable */
        rc = tn_table_scan(wh, &probe, -1, &scan, err);
    if (!rc)
        rc = tn_catalog_create(wh->catalog, ns, name, metadata_location, err);
    if (!rc && map_text) {
        rc = tn_catalog_set_option(wh->catalog, ns, name, "path_map", map_text, err);
        if (rc) {
            struct tn_err ignored;
            tn_catalog_drop(wh->catalog, ns, name, &ignored);
        }
    }
    tn_scan_free(scan);
    tn_metadata_free(probe.meta);
    path_map_release(&probe.map);
    free(map_text);
    free(resolved);
    return rc;
}

int tn_table_drop(struct tn_warehouse *wh, const char *ns, const char *name, int purge,
                  struct tn_err *err)
{
    struct tn_table *t = NULL;
    int rc;

    if (purge) {
        rc = tn_table_load(wh, ns, name, &t, err);
        if (rc)
            return rc;
    }
    rc = tn_catalog_drop(wh->catalog, ns, name, err);
    if (!rc && t) {
        /* Best effort: every file of every snapshot, then the metadata files. */
        struct tn_err ignored;
        for (size_t i = 0; i < t->meta->nsnapshots; i++) {
            struct tn_scan *scan = NULL;
            if (tn_table_scan(wh, t, t->meta->snapshots[i].id, &scan, &ignored))
                continue;
            for (size_t k = 0; k < scan->ndata; k++)
                tn_storage_delete(wh->storage, scan->data[k].file.file_path, &ignored);
            for (size_t k = 0; k < scan->ndeletes; k++)
                tn_storage_delete(wh->storage, scan->deletes[k].file.file_path, &ignored);
            for (size_t k = 0; k < scan->nmanifests; k++)
                tn_storage_delete(wh->storage, scan->manifests[k].path, &ignored);
            if (t->meta->snapshots[i].manifest_list)
                tn_storage_delete(wh->storage, t->meta->snapshots[i].manifest_list, &ignored);
            tn_scan_free(scan);
        }
        {
            json_t *log = json_object_get(t->meta->root, "metadata-log");
            size_t k;
            json_t *e;
            json_array_foreach(log, k, e) {
                const char *f = json_string_value(json_object_get(e, "metadata-file"));
                if (f)
                    tn_storage_delete(wh->storage, f, &ignored);
            }
        }
        tn_storage_delete(wh->storage, t->metadata_location, &ignored);
    }
    tn_table_free(t);
    return rc;
}

/*---- Finding snapshots ----*/

int tn_table_snapshot_at(const struct tn_table *t, int64_t ms, int64_t *out, struct tn_err *err)
{
    json_t *log = json_object_get(t->meta->root, "snapshot-log");
    int64_t best = -1, best_ts = INT64_MIN, first_ts = INT64_MAX;
    size_t i;
    json_t *e;

    json_array_foreach(log, i, e) {
        int64_t ts, id;
        if (tn_json_id(json_object_get(e, "timestamp-ms"), &ts) ||
            tn_json_id(json_object_get(e, "snapshot-id"), &id))
            continue;
        if (ts < first_ts)
            first_ts = ts;
        if (ts <= ms && ts >= best_ts && tn_metadata_snapshot(t->meta, id)) {
            best = id;
            best_ts = ts;
        }
    }
    if (best == -1) {
        if (first_ts == INT64_MAX)
            return tn_fail(err, TN_ENOTFOUND, "table %s.%s has no snapshots to travel to",
                           t->ns, t->name);
        return tn_fail(err, TN_ENOTFOUND,
                       "table %s.%s has no snapshot at or before %lld ms; its oldest is at %lld "
                       "ms",
                       t->ns, t->name, (long long)ms, (long long)first_ts);
    }
    *out = best;
    return 0;
}

int tn_table_snapshot_ref(const struct tn_table *t, const char *ref, int64_t *out,
                          struct tn_err *err)
{
    const struct tn_ref *r = tn_metadata_ref(t->meta, ref);
    int64_t id;

    if (r) {
        *out = r->snapshot_id;
        return 0;
    }
    if (!tn_parse_i64(ref, &id) && tn_metadata_snapshot(t->meta, id)) {
        *out = id;
        return 0;
    }
    {
        struct tn_buf known = TN_BUF_INIT(4096);
        for (size_t i = 0; i < t->meta->nsnapshots && known.len < 3000; i++)
            tn_buf_addf(&known, NULL, "%s%lld", i ? ", " : "",
                        (long long)t->meta->snapshots[i].id);
        for (size_t i = 0; i < t->meta->nrefs && known.len < 3500; i++)
            tn_buf_addf(&known, NULL, ", '%s'", t->meta->refs[i].name);
        tn_fail(err, TN_ENOTFOUND, "table %s.%s has no snapshot or ref '%s'; it has: %s", t->ns,
                t->name, ref, known.len ? known.buf : "none");
        tn_buf_release(&known);
    }
    return err->code;
}
