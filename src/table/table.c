/* table.c - warehouses and table versions: open, load, create, register, drop, and path maps
 * (see table.h). */
#include "table_int.h"

#include "delta/delta.h"
#include "delta/publish.h"
#include "hudi/hudi.h"

#include <stdlib.h>
#include <string.h>

#define METADATA_MAX_BYTES  (256L * 1024 * 1024)
#define TN_ALLOWED_DIRS_MAX 1024

/* The local directory of a root the sandbox allows (for DuckDB), or NULL for an object store
 * location. Caller frees. */
static char *local_dir(const char *root)
{
    if (strncmp(root, "file://", 7) == 0)
        return tn_strdup(root + 7);
    if (root[0] == '/')
        return tn_strdup(root);
    return NULL;
}

/* Let storage and DuckDB reach the roots the operator gave: the command line's (extra_dirs)
 * and those recorded in the catalog when tables were registered from a command line. Nothing a
 * table's metadata says widens them. The local ones go into dirs[] (caller frees them). */
static int operator_roots(struct tn_warehouse *wh, const char *const *extra, char **dirs,
                          size_t cap, size_t *out_n, struct tn_err *err)
{
    char **roots = NULL;
    size_t nroots = 0, n = 0;
    int rc = tn_catalog_roots(wh->catalog, &roots, &nroots, err);

    for (size_t i = 0; !rc && extra && extra[i]; i++) {
        rc = tn_storage_allow(wh->storage, extra[i], err);
        if (!rc && n < cap && (dirs[n] = local_dir(extra[i])) != NULL)
            n++;
    }
    for (size_t i = 0; !rc && i < nroots; i++) {
        rc = tn_storage_allow(wh->storage, roots[i], err);
        if (!rc && n < cap && (dirs[n] = local_dir(roots[i])) != NULL)
            n++;
    }
    tn_catalog_strings_free(roots, nroots);
    *out_n = n;
    return rc;
}

/* Open the storage "opt" names. For an S3 warehouse the catalog is local (*out_catalog: opt's
 * path, else ./tarn-catalog.db) and the cache defaults to tarn-cache beside the catalog. */
static int open_storage(const struct tn_warehouse_options *opt, struct tn_storage **out,
                        char **out_catalog, struct tn_err *err)
{
    struct tn_storage_options so = opt->storage;
    const char *w = opt->warehouse ? opt->warehouse : "";
    char *catalog = NULL, *cache = NULL;
    int rc;

    so.root = w;
    if (strncmp(w, "s3://", 5) != 0 && strncmp(w, "s3a://", 6) != 0) {
        *out_catalog = NULL;
        return tn_storage_open(&so, out, err);
    }
    catalog = tn_strdup(opt->catalog_path ? opt->catalog_path : "./tarn-catalog.db");
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
    rc = tn_catalog_open(catalog_path, opt->catalog_name ? opt->catalog_name : "tarn", &wh->catalog,
                         err);
    if (rc)
        goto out;
    tn_storage_protect(wh->storage, catalog_path);
    temp_dir = tn_asprintf("%s/.tmp", tn_storage_root_path(wh->storage));
    dirs[nd++] = tn_storage_root_path(wh->storage);
    if (tn_storage_cache_dir(wh->storage) &&
        strcmp(tn_storage_cache_dir(wh->storage), tn_storage_root_path(wh->storage)) != 0)
        dirs[nd++] = tn_storage_cache_dir(wh->storage); /* DuckDB reads S3 files from here */
    rc = operator_roots(wh, opt->extra_dirs, registered, TN_ALLOWED_DIRS_MAX - nd, &nreg, err);
    if (rc)
        goto out;
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
    json_object_foreach(j, key, v)
    {
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
    if (rc && buf.len && tn_storage_evict(wh->storage, location)) {
        /* the cached copy may be what is damaged: fetch the file once more */
        tn_buf_reset(&buf);
        rc = tn_storage_read(wh->storage, location, &buf, err);
        if (!rc)
            rc = tn_metadata_parse(buf.buf, buf.len, out, err);
    }
    if (rc)
        tn_err_prefix(err, "metadata %s: ", location);
    else
        tn__metadata_cache_put(wh, location, *out, buf.len);
    tn_buf_release(&buf);
    return rc;
}

/* Set on a thread while it translates a Hudi table, whose commit loads the table again. */
static _Thread_local int translating;

int tn_table_load(struct tn_warehouse *wh, const char *ns, const char *name, struct tn_table **out,
                  struct tn_err *err)
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
    if (!rc && !translating && tn_hudi_location(t)) {
        /* a Hudi table: translate the instants completed since (not while translating) */
        struct tn_table *newer = NULL;
        translating = 1;
        rc = tn_hudi_sync(wh, t, &newer, err);
        translating = 0;
        if (newer) {
            tn_table_free(t);
            t = newer;
        }
    }
    if (!rc) /* a Delta table: first translate the versions its log gained */
        rc = tn_delta_refresh(wh, &t, err);
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
    tn_metadata_free(t->staged_base);
    json_decref(t->staged_updates);
    json_decref(t->staged_requirements);
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

int tn__table_new(struct tn_warehouse *wh, const char *ns, const char *name, json_t *schema,
                  int format_version, const char *partition_by, struct tn_table **out,
                  struct tn_err *err)
{
    struct tn_metadata *m = NULL;
    char *location = tn_asprintf("%s/%s/%s", tn_storage_root_uri(wh->storage), ns, name);
    json_t *props = json_object();
    int rc;

    if (format_version)
        json_object_set_new(props, TN_FORMAT_VERSION_PROP, json_sprintf("%d", format_version));
    rc = tn_metadata_new(location, schema, props, &m, err);
    json_decref(props);

    free(location);
    if (!rc && partition_by && *partition_by) {
        struct tn_metadata *partitioned = NULL;
        rc = with_spec(m, partition_by, &partitioned, err);
        tn_metadata_free(m);
        m = partitioned;
    }
    if (rc)
        return rc;
    *out = tn_calloc(1, sizeof(**out));
    snprintf((*out)->ns, sizeof((*out)->ns), "%s", ns);
    snprintf((*out)->name, sizeof((*out)->name), "%s", name);
    (*out)->meta = m; /* metadata_location NULL: not published */
    return 0;
}

/* With delta.enabled (given, or tarn serve --delta's default), publish the new table's Delta
 * version 0 before it enters the catalog: *m becomes the metadata that records it, and the
 * version file joins "files" (deleted if the table is not created). */
static int create_delta(struct tn_warehouse *wh, const char *ns, const char *name,
                        const char *meta_location, struct tn_metadata **m, struct tn__files *files,
                        struct tn_err *err)
{
    struct tn_table base;
    struct tn_delta_pending *pending = NULL;
    struct tn_metadata *published = NULL;
    json_t *updates = json_array();
    int rc, busy;

    memset(&base, 0, sizeof(base));
    snprintf(base.ns, sizeof(base.ns), "%s", ns);
    snprintf(base.name, sizeof(base.name), "%s", name);
    base.meta = *m;
    rc = tn_delta_publish(wh, &base, *m, meta_location, updates, files, &pending, &busy, err);
    if (!rc)
        rc = tn_metadata_update(*m, NULL, updates, &published, err);
    if (!rc) {
        tn_metadata_free(*m);
        *m = published;
    }
    tn_delta_pending_free(pending); /* version 0 is never a checkpoint */
    json_decref(updates);
    return rc;
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
    json_t *props = properties ? json_copy(properties) : json_object();
    struct tn__files files = {0};
    int rc, created = 0;

    if (tn_delta_default() && !json_object_get(props, TN_DELTA_ENABLED_PROP))
        json_object_set_new(props, TN_DELTA_ENABLED_PROP, json_string("true"));
    rc = tn_metadata_new(location, schema, props, &m, err);
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
    if (tn_delta_enabled(m->root)) {
        rc = create_delta(wh, ns, name, meta_location, &m, &files, err);
        if (rc)
            goto out;
    }
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
    created = 1;
    if (out)
        rc = tn_table_load(wh, ns, name, out, err);
out:
    tn__files_done(wh, &files, !created);
    tn_metadata_free(m);
    json_decref(props);
    free(location);
    free(meta_location);
    free(text);
    return rc;
}

/* Record the root that lets the sandbox reach "location", when it is not the warehouse: only a
 * root the operator gave on the command line can be one (a server's roots are the recorded
 * ones already), so a request never widens the sandbox. Path map targets that reach nothing
 * are refused. */
static int remember_root(struct tn_warehouse *wh, const char *location, struct tn_err *err)
{
    const char *root;
    int rc = tn_storage_check(wh->storage, location, err);

    if (rc) {
        tn_err_prefix(err, "register: ");
        return rc == TN_EINPUT ? TN_EFORBIDDEN : rc;
    }
    root = tn_storage_allowed_root(wh->storage, location);
    return root ? tn_catalog_add_root(wh->catalog, root, err) : 0;
}

int tn_table_register(struct tn_warehouse *wh, const char *ns, const char *name,
                      const char *metadata_location, json_t *path_map, struct tn_err *err)
{
    struct tn_table probe = {0};
    struct tn_scan *scan = NULL;
    char *map_text = NULL;
    char *resolved = NULL;
    int rc = 0, created;

    if (tn_delta_is_table(wh->storage, metadata_location)) {
        /* a Delta table's folder: tarn translates its log into a table of its own */
        rc = tn_delta_register(wh, ns, name, metadata_location, err);
        if (!rc && (rc = remember_root(wh, metadata_location, err)) != 0) {
            struct tn_err ignored;
            tn_catalog_drop(wh->catalog, ns, name, &ignored);
        }
        return rc;
    }
    if (!json_object_size(path_map) && tn_hudi_detect(wh, metadata_location)) {
        rc = remember_root(wh, metadata_location, err);
        return rc ? rc : tn_hudi_register(wh, ns, name, metadata_location, err);
    }
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
    created = !rc;
    if (!rc && map_text)
        rc = tn_catalog_set_option(wh->catalog, ns, name, "path_map", map_text, err);
    for (size_t i = 0; !rc && i <= probe.map.n; i++) /* the roots it needs, for later runs */
        rc = remember_root(wh, i < probe.map.n ? probe.map.to[i] : resolved, err);
    if (rc && created) {
        struct tn_err ignored;
        tn_catalog_drop(wh->catalog, ns, name, &ignored);
    }
    tn_scan_free(scan);
    tn_metadata_free(probe.meta);
    path_map_release(&probe.map);
    free(map_text);
    free(resolved);
    return rc;
}

int tn_table_register_inside(struct tn_warehouse *wh, const char *ns, const char *name,
                             const char *metadata_location, json_t *path_map, struct tn_err *err)
{
    struct tn_table probe = {0};
    char *map_text = path_map ? json_dumps(path_map, JSON_COMPACT) : NULL;
    char *resolved = NULL;
    int rc = map_text ? path_map_parse(map_text, &probe.map, err) : 0;
    int delta = 0, hudi = 0; /* a table tarn reads from another format */

    if (!rc) {
        delta = tn_delta_is_table(wh->storage, metadata_location);
        hudi = !delta && !json_object_size(path_map) && tn_hudi_detect(wh, metadata_location);
    }
    if (delta || hudi) {
        free(map_text);
        path_map_release(&probe.map);
        if (!tn_storage_in_warehouse(wh->storage, metadata_location))
            return tn_fail(err, TN_EFORBIDDEN,
                           "the %s table at %s is outside the warehouse %s; only tables that "
                           "live inside it can be registered over HTTP (use 'tarn register')",
                           delta ? "Delta" : "Hudi", metadata_location,
                           tn_storage_root_uri(wh->storage));
        return tn_table_register(wh, ns, name, metadata_location, NULL, err);
    }
    if (!rc) {
        char *meta = tn_table_resolve(&probe, metadata_location);
        rc = read_metadata(wh, meta, &probe.meta, err);
        free(meta);
    }
    if (!rc) {
        resolved = tn_table_resolve(&probe, probe.meta->location);
        if (!tn_storage_in_warehouse(wh->storage, resolved))
            rc = tn_fail(err, TN_EFORBIDDEN,
                         "the table's location %s is outside the warehouse %s; only tables that "
                         "live inside it can be registered over HTTP (use 'tarn register' with "
                         "--map)",
                         probe.meta->location, tn_storage_root_uri(wh->storage));
    }
    tn_metadata_free(probe.meta);
    path_map_release(&probe.map);
    free(map_text);
    free(resolved);
    return rc ? rc : tn_table_register(wh, ns, name, metadata_location, path_map, err);
}

/* The folder that holds the metadata folder of the file at "metadata_location" (caller
 * frees): what a purge may empty. */
static char *table_folder(const char *metadata_location)
{
    char *dir = tn_strdup(metadata_location);

    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir)
            *slash = '\0';
    }
    return dir;
}

/* 1 when normalised locations "a" and "b" are the same folder or one holds the other. */
static int overlap(const char *a, const char *b)
{
    char *na = NULL, *nb = NULL;
    struct tn_err ignored;
    int o = !tn_path_normalise(a, &na, &ignored) && !tn_path_normalise(b, &nb, &ignored) &&
            (tn_path_within(na, nb) || tn_path_within(nb, na));

    free(na);
    free(nb);
    return o;
}

/* TN_ECONFLICT when another catalog entry's folder overlaps "folder" (path maps applied). */
static int folder_shared(struct tn_warehouse *wh, const struct tn_table *t, const char *folder,
                         struct tn_err *err)
{
    struct tn_catalog_entry *e = NULL;
    size_t n = 0;
    int rc = tn_catalog_list(wh->catalog, NULL, &e, &n, err);

    for (size_t i = 0; !rc && i < n; i++) {
        struct tn_path_map map = {0};
        struct tn_err ignored;
        char *map_text = NULL, *resolved, *theirs;
        if (!e[i].metadata_location ||
            (strcmp(e[i].ns, t->ns) == 0 && strcmp(e[i].table, t->name) == 0))
            continue;
        /* the other entry's own path map says where its files really are */
        if (!tn_catalog_get_option(wh->catalog, e[i].ns, e[i].table, "path_map", &map_text,
                                   &ignored) &&
            map_text)
            path_map_parse(map_text, &map, &ignored);
        resolved = map_location(&map, e[i].metadata_location);
        path_map_release(&map);
        free(map_text);
        theirs = table_folder(resolved);
        if (overlap(folder, theirs))
            rc = tn_fail(err, TN_ECONFLICT,
                         "table %s.%s shares its files with %s.%s (one is registered on the "
                         "other's folder), so a purge would break %s.%s: drop it without purge, "
                         "or drop %s.%s first",
                         t->ns, t->name, e[i].ns, e[i].table, e[i].ns, e[i].table, e[i].ns,
                         e[i].table);
        free(resolved);
        free(theirs);
    }
    tn_catalog_entries_free(e, n);
    return rc;
}

/* Delete the file at "location" of "t" if it lies in "folder" (normalised); count it either
 * way, once. */
static void purge_file(struct tn_warehouse *wh, const struct tn_table *t, const char *folder,
                       const char *location, json_t *seen, struct tn_purge_result *res)
{
    char *resolved, *norm = NULL;
    struct tn_err ignored;

    if (!location || json_object_get(seen, location))
        return;
    json_object_set_new(seen, location, json_true());
    resolved = tn_table_resolve(t, location);
    if (!tn_path_normalise(resolved, &norm, &ignored) && tn_path_within(folder, norm) &&
        !tn_storage_delete(wh->storage, resolved, &ignored))
        res->deleted++;
    else
        res->kept++;
    free(resolved);
    free(norm);
}

/* Best effort: every file of every snapshot, then the metadata files, of those in "folder". */
static void purge(struct tn_warehouse *wh, const struct tn_table *t, const char *folder,
                  struct tn_purge_result *res)
{
    json_t *seen = json_object(), *e;
    struct tn_err ignored;
    size_t k;

    for (size_t i = 0; i < t->meta->nsnapshots; i++) {
        struct tn_scan *scan = NULL;
        if (tn_table_scan(wh, t, t->meta->snapshots[i].id, &scan, &ignored) == 0) {
            for (k = 0; k < scan->ndata; k++) {
                if (tn_delta_source(t)) { /* a Delta table's data files are its writers' */
                    if (!json_object_get(seen, scan->data[k].file.file_path)) {
                        json_object_set_new(seen, scan->data[k].file.file_path, json_true());
                        res->kept++;
                    }
                    continue;
                }
                purge_file(wh, t, folder, scan->data[k].file.file_path, seen, res);
            }
            for (k = 0; k < scan->ndeletes; k++)
                purge_file(wh, t, folder, scan->deletes[k].file.file_path, seen, res);
            for (k = 0; k < scan->nmanifests; k++)
                purge_file(wh, t, folder, scan->manifests[k].path, seen, res);
        }
        tn_scan_free(scan);
        purge_file(wh, t, folder, t->meta->snapshots[i].manifest_list, seen, res);
    }
    json_array_foreach(json_object_get(t->meta->root, "metadata-log"), k, e) purge_file(
        wh, t, folder, json_string_value(json_object_get(e, "metadata-file")), seen, res);
    purge_file(wh, t, folder, t->metadata_location, seen, res);
    json_decref(seen);
}

int tn_table_drop_report(struct tn_warehouse *wh, const char *ns, const char *name, int purging,
                         struct tn_purge_result *res, struct tn_err *err)
{
    struct tn_purge_result ignored_res;
    struct tn_table *t = NULL;
    char *folder = NULL;
    int rc;

    if (!res)
        res = &ignored_res;
    memset(res, 0, sizeof(*res));
    if (purging) {
        char *resolved, *dir;
        translating = 1; /* a Hudi table drops as it is, even when its files are gone */
        rc = tn_table_load(wh, ns, name, &t, err);
        translating = 0;
        if (rc)
            return rc;
        resolved = tn_table_resolve(t, t->metadata_location);
        dir = table_folder(resolved);
        free(resolved);
        rc = tn_path_normalise(dir, &folder, err);
        free(dir);
        if (!rc)
            rc = folder_shared(wh, t, folder, err);
        if (rc)
            goto out;
    }
    rc = tn_catalog_drop(wh->catalog, ns, name, err);
    if (!rc && t)
        purge(wh, t, folder, res);
out:
    free(folder);
    tn_table_free(t);
    return rc;
}

int tn_table_drop(struct tn_warehouse *wh, const char *ns, const char *name, int purging,
                  struct tn_err *err)
{
    return tn_table_drop_report(wh, ns, name, purging, NULL, err);
}

/*---- Finding snapshots ----*/

int tn_table_snapshot_at(const struct tn_table *t, int64_t ms, int64_t *out, struct tn_err *err)
{
    json_t *log = json_object_get(t->meta->root, "snapshot-log");
    int64_t best = -1, best_ts = INT64_MIN, first_ts = INT64_MAX;
    size_t i;
    json_t *e;

    json_array_foreach(log, i, e)
    {
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
            return tn_fail(err, TN_ENOTFOUND, "table %s.%s has no snapshots to travel to", t->ns,
                           t->name);
        if (tn_delta_source(t))
            return tn_delta_before_first(t, ms, first_ts, err);
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
    for (size_t i = 0; tn_hudi_location(t) && i < t->meta->nsnapshots; i++) {
        /* a Hudi table: an instant of its timeline */
        const char *instant =
            json_string_value(json_object_get(t->meta->snapshots[i].summary, TN_HUDI_INSTANT_KEY));
        if (instant && strcmp(instant, ref) == 0) {
            *out = t->meta->snapshots[i].id;
            return 0;
        }
    }
    if (strlen(ref) >= 14 && strlen(ref) <= 17 && tn_hudi_check_archived(t, ref, "instant", err))
        return TN_ENOTFOUND;
    if (!tn_parse_i64(ref, &id))
        return tn_table_no_snapshot(t, id, NULL, err);
    return tn_table_no_snapshot(t, -1, ref, err);
}

json_t *tn_table_list_json(struct tn_warehouse *wh,
                           void (*describe)(json_t *j, const struct tn_table *t),
                           struct tn_err *err)
{
    struct tn_catalog_entry *e = NULL;
    size_t n = 0;
    json_t *list;

    if (tn_catalog_list(wh->catalog, NULL, &e, &n, err))
        return NULL;
    list = json_array();
    for (size_t i = 0; i < n; i++) {
        struct tn_table *t = NULL;
        struct tn_err lerr = {0};
        json_t *j = json_pack("{s:s, s:s}", "namespace", e[i].ns, "name", e[i].table);
        if (tn_table_load(wh, e[i].ns, e[i].table, &t, &lerr))
            json_object_set_new(j, "error", json_string(lerr.msg));
        else
            describe(j, t);
        json_array_append_new(list, j);
        tn_table_free(t);
    }
    tn_catalog_entries_free(e, n);
    return list;
}
