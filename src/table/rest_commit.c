/* rest_commit.c - the Iceberg REST catalog's table changes: create (also staged), and
 * CommitTableRequest commits, which already speak the vocabulary every tarn change uses: their
 * requirements and updates go to the table module's one commit function (commit.c; applied by
 * src/iceberg/updates.c), which checks and applies them on the current version, publishes by
 * compare-and-swap and retries a lost race. Multi-table commits move all pointers in one catalog
 * transaction. Thread-safe as the warehouse is; nothing here keeps state between calls. */
#include "table_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* root[key] as an array, created when absent (root is owned by the caller). */
static json_t *array_of(json_t *root, const char *key)
{
    json_t *a = json_object_get(root, key);

    if (!json_is_array(a)) {
        a = json_array();
        json_object_set_new(root, key, a);
    }
    return a;
}

/*---- Where a commit may point ----*/

/* 1 when "location" (of table "t", path map applied; t may be NULL) lies inside "dir". */
static int located_in(const struct tn_table *t, const char *location, const char *dir)
{
    char *a = t ? tn_table_resolve(t, location) : tn_strdup(location);
    char *b = t ? tn_table_resolve(t, dir) : tn_strdup(dir);
    char *na = NULL, *nb = NULL;
    struct tn_err ignored;
    int in = !tn_path_normalise(a, &na, &ignored) && !tn_path_normalise(b, &nb, &ignored) &&
             tn_path_within(nb, na);

    free(a);
    free(b);
    free(na);
    free(nb);
    return in;
}

/* Every file "root" names that "base" (or NULL) did not: manifest lists and statistics files,
 * each as fn(ctx, what, location) until one fails. */
static int new_files(json_t *base, json_t *root,
                     int (*fn)(void *ctx, const char *what, const char *loc, struct tn_err *err),
                     void *ctx, struct tn_err *err)
{
    static const char *const arrays[][2] = {{"snapshots", "manifest-list"},
                                            {"statistics", "statistics-path"},
                                            {"partition-statistics", "statistics-path"}};
    json_t *known = json_object(), *e;
    size_t i;
    int rc = 0;

    for (size_t a = 0; a < 3; a++)
        json_array_foreach(json_object_get(base, arrays[a][0]), i, e)
        {
            const char *loc = json_string_value(json_object_get(e, arrays[a][1]));
            if (loc)
                json_object_set_new(known, loc, json_true());
        }
    for (size_t a = 0; a < 3 && !rc; a++)
        json_array_foreach(json_object_get(root, arrays[a][0]), i, e)
        {
            const char *loc = json_string_value(json_object_get(e, arrays[a][1]));
            if (loc && !json_object_get(known, loc) && (rc = fn(ctx, arrays[a][1], loc, err)))
                break;
        }
    json_decref(known);
    return rc;
}

struct location_check {
    struct tn_warehouse *wh;
    const struct tn_table *t; /* the table as it was, or NULL for a new one */
    const char *old_location, *new_location;
};

static int check_new_file(void *ctx, const char *what, const char *loc, struct tn_err *err)
{
    struct location_check *c = ctx;
    char *resolved = c->t ? tn_table_resolve(c->t, loc) : tn_strdup(loc);
    int rc = tn_storage_check(c->wh->storage, resolved, err);

    free(resolved);
    if (!rc && !located_in(c->t, loc, c->new_location) &&
        !(c->old_location && located_in(c->t, loc, c->old_location)))
        rc = tn_fail(err, TN_EFORBIDDEN, "%s %s is outside the table's location %s", what, loc,
                     c->new_location);
    if (rc == TN_EINPUT || rc == TN_EFORBIDDEN) {
        tn_err_prefix(err, "refused: ");
        rc = TN_EFORBIDDEN;
    }
    return rc;
}

/* TN_EFORBIDDEN unless the new metadata "root" keeps the table inside the warehouse: a changed
 * (or new) location, and write.data.path / write.metadata.path, must lie inside it, and every
 * manifest list and statistics file the commit adds inside the table's location. Expiry and
 * purge later delete what these name. */
static int check_locations(struct tn_warehouse *wh, const struct tn_table *t, json_t *root,
                           struct tn_err *err)
{
    struct location_check c = {wh, t, t ? t->meta->location : NULL,
                               json_string_value(json_object_get(root, "location"))};
    char *resolved;
    int in;

    if (!c.new_location)
        return tn_fail(err, TN_EINPUT, "the table has no location");
    if (!c.old_location || strcmp(c.old_location, c.new_location) != 0) {
        resolved = t ? tn_table_resolve(t, c.new_location) : tn_strdup(c.new_location);
        in = tn_storage_in_warehouse(wh->storage, resolved);
        free(resolved);
        if (!in)
            return tn_fail(err, TN_EFORBIDDEN,
                           "location %s is outside the warehouse %s; a table's location must be "
                           "inside it (leave it out for the default)",
                           c.new_location, tn_storage_root_uri(wh->storage));
    }
    { /* where later commits write data and metadata files */
        static const char *const keys[] = {"write.data.path", "write.metadata.path"};
        json_t *props = json_object_get(root, "properties");
        json_t *old = t ? json_object_get(t->meta->root, "properties") : NULL;
        for (size_t i = 0; i < 2; i++) {
            const char *v = json_string_value(json_object_get(props, keys[i]));
            const char *was = json_string_value(json_object_get(old, keys[i]));
            if (!v || (was && strcmp(v, was) == 0))
                continue;
            resolved = t ? tn_table_resolve(t, v) : tn_strdup(v);
            in = tn_storage_in_warehouse(wh->storage, resolved);
            free(resolved);
            if (!in)
                return tn_fail(err, TN_EFORBIDDEN,
                               "property %s: %s is outside the warehouse %s; table files must "
                               "stay inside it",
                               keys[i], v, tn_storage_root_uri(wh->storage));
        }
    }
    return new_files(t ? t->meta->root : NULL, root, check_new_file, &c, err);
}

/* The REST commit's check on every attempt: the staged metadata keeps the table inside the
 * warehouse (tn__change.stage; it adds no update and writes no file). */
static int check_staged(struct tn_warehouse *wh, const struct tn_table *base,
                        const struct tn_metadata *staged, void *ctx, json_t *updates,
                        struct tn__files *files, struct tn_err *err)
{
    (void)ctx;
    (void)updates;
    (void)files;
    return check_locations(wh, base, staged->root, err);
}

/*---- Create ----*/

static void remove_key(json_t *root, const char *key)
{
    json_object_del(root, key);
}

/* Metadata for a new table from a CreateTableRequest (nothing written). */
static int create_metadata(struct tn_warehouse *wh, const char *ns, const char *name,
                           json_t *request, json_t **out, struct tn_err *err)
{
    const char *root_uri = tn_storage_root_uri(wh->storage);
    const char *loc = json_string_value(json_object_get(request, "location"));
    json_t *schema = json_deep_copy(json_object_get(request, "schema"));
    json_t *props = json_object_get(request, "properties");
    json_t *spec = json_object_get(request, "partition-spec");
    json_t *order = json_object_get(request, "write-order");
    struct tn_metadata *m = NULL;
    char *location = NULL;
    json_t *root = NULL;
    int rc = 0;

    if (!json_is_object(schema)) {
        rc = tn_fail(err, TN_EINPUT, "\"schema\" is required");
        goto out;
    }
    if (props && !json_is_null(props) && !json_is_object(props)) {
        rc = tn_fail(err, TN_EINPUT, "\"properties\" must be an object");
        goto out;
    }
    if (loc && !tn_storage_in_warehouse(wh->storage, loc)) {
        rc = tn_fail(err, TN_EFORBIDDEN, "location %s is outside the warehouse %s; leave it out",
                     loc, root_uri);
        goto out;
    }
    if (loc)
        rc = tn_path_normalise(loc, &location, err);
    else
        location = tn_asprintf("%s/%s/%s", root_uri, ns, name);
    if (rc)
        goto out;
    while (strlen(location) > 1 && location[strlen(location) - 1] == '/')
        location[strlen(location) - 1] = '\0';
    json_object_set_new(schema, "schema-id", json_integer(0));
    if (!json_object_get(schema, "type"))
        json_object_set_new(schema, "type", json_string("struct"));
    rc = tn_metadata_new(location, schema, json_is_object(props) ? props : NULL, &m, err);
    if (rc)
        goto out;
    root = json_deep_copy(m->root);
    if (json_array_size(json_object_get(spec, "fields"))) {
        json_t *u = json_pack("[{s:s, s:O}, {s:s, s:i}]", "action", "add-spec", "spec", spec,
                              "action", "set-default-spec", "spec-id", -1);
        json_array_clear(array_of(root, "partition-specs"));
        json_object_set_new(root, "last-partition-id", json_integer(999));
        rc = tn_updates_apply(root, u, err);
        json_decref(u);
    }
    if (!rc && json_array_size(json_object_get(order, "fields"))) {
        json_t *u = json_pack("[{s:s, s:O}, {s:s, s:i}]", "action", "add-sort-order", "sort-order",
                              order, "action", "set-default-sort-order", "sort-order-id", -1);
        rc = tn_updates_apply(root, u, err);
        json_decref(u);
    }
    if (!rc)
        rc = check_locations(wh, NULL, root, err);
    if (rc)
        goto out;
    *out = root;
    root = NULL;
out:
    json_decref(root);
    json_decref(schema);
    tn_metadata_free(m);
    free(location);
    return rc;
}

/* Validate "root", write it as the first metadata file of ns.name and insert the catalog row. */
static int create_from_root(struct tn_warehouse *wh, const char *ns, const char *name, json_t *root,
                            struct tn_table **out, struct tn_err *err)
{
    struct tn_metadata *m = NULL;
    char *meta_location = NULL, *text = NULL;
    char uuid[37];
    int rc = tn_metadata_from_json(root, &m, err);

    if (rc) {
        tn_err_prefix(err, "the new table's metadata is not valid: ");
        return TN_EINPUT;
    }
    tn_uuid4(uuid);
    meta_location = tn_asprintf("%s/metadata/00000-%s.metadata.json", m->location, uuid);
    text = tn_metadata_dump(m);
    rc = tn_storage_write(wh->storage, meta_location, text, strlen(text), err);
    if (!rc) {
        rc = tn_catalog_create(wh->catalog, ns, name, meta_location, err);
        if (rc) {
            struct tn_err ignored;
            tn_storage_delete(wh->storage, meta_location, &ignored);
        }
    }
    if (!rc && out) {
        struct tn_table *t = tn_calloc(1, sizeof(*t));
        snprintf(t->ns, sizeof(t->ns), "%s", ns);
        snprintf(t->name, sizeof(t->name), "%s", name);
        t->metadata_location = meta_location;
        t->meta = m;
        meta_location = NULL;
        m = NULL;
        *out = t;
    }
    tn_metadata_free(m);
    free(meta_location);
    free(text);
    return rc;
}

int tn_table_rest_create(struct tn_warehouse *wh, const char *ns, const char *name, json_t *request,
                         int stage, json_t **out_staged, struct tn_table **out, struct tn_err *err)
{
    json_t *root = NULL;
    char *cur = NULL;
    int rc;

    if (tn_catalog_load(wh->catalog, ns, name, &cur, err) == 0) {
        free(cur);
        return tn_fail(err, TN_EEXISTS, "table %s.%s already exists", ns, name);
    }
    rc = create_metadata(wh, ns, name, request, &root, err);
    if (rc)
        return rc;
    if (stage) {
        struct tn_metadata *m = NULL;
        if (!json_is_object(json_object_get(root, "properties")))
            json_object_set_new(root, "properties", json_object());
        json_object_set_new(json_object_get(root, "properties"), "created-at",
                            json_sprintf("%lld", (long long)tn_now_ms()));
        rc = tn_metadata_from_json(json_incref(root), &m, err);
        tn_metadata_free(m);
        if (!rc)
            *out_staged = json_incref(root);
        json_decref(root);
        return rc;
    }
    return create_from_root(wh, ns, name, root, out, err);
}

/* An assert-create commit: a new table built from empty metadata by the updates. */
static int commit_create(struct tn_warehouse *wh, const char *ns, const char *name, json_t *updates,
                         struct tn_table **out, struct tn_err *err)
{
    char *location = tn_asprintf("%s/%s/%s", tn_storage_root_uri(wh->storage), ns, name);
    char *cur = NULL;
    char uuid[37];
    json_t *root;
    int rc;

    if (tn_catalog_load(wh->catalog, ns, name, &cur, err) == 0) {
        free(cur);
        free(location);
        return tn_fail(err, TN_ECONFLICT, "Requirement failed: table %s.%s already exists", ns,
                       name);
    }
    tn_uuid4(uuid);
    root = json_pack("{s:i, s:s, s:s, s:i, s:I, s:i, s:i, s:[], s:i, s:[], s:i, s:i, s:[], "
                     "s:{}, s:{}, s:[], s:[], s:[], s:[]}",
                     "format-version", 2, "table-uuid", uuid, "location", location,
                     "last-sequence-number", 0, "last-updated-ms", (json_int_t)tn_now_ms(),
                     "last-column-id", 0, "current-schema-id", -1, "schemas", "default-spec-id", -1,
                     "partition-specs", "last-partition-id", 999, "default-sort-order-id", -1,
                     "sort-orders", "properties", "refs", "snapshots", "snapshot-log",
                     "metadata-log", "statistics");
    free(location);
    rc = tn_updates_apply(root, updates, err);
    if (!rc && json_array_size(json_object_get(root, "partition-specs")) == 0) {
        json_array_append_new(array_of(root, "partition-specs"),
                              json_pack("{s:i, s:[]}", "spec-id", 0, "fields"));
        json_object_set_new(root, "default-spec-id", json_integer(0));
    }
    if (!rc && json_array_size(json_object_get(root, "sort-orders")) == 0) {
        json_array_append_new(array_of(root, "sort-orders"),
                              json_pack("{s:i, s:[]}", "order-id", 0, "fields"));
        json_object_set_new(root, "default-sort-order-id", json_integer(0));
    }
    if (!rc)
        rc = check_locations(wh, NULL, root, err);
    if (rc) {
        json_decref(root);
        return rc;
    }
    remove_key(root, "current-snapshot-id");
    return create_from_root(wh, ns, name, root, out, err);
}

int tn_table_rest_commit(struct tn_warehouse *wh, const char *ns, const char *name,
                         json_t *requirements, json_t *updates, struct tn_table **out,
                         struct tn_err *err)
{
    struct tn_rest_change c = {ns, name, requirements, updates};
    int create = tn_requirements_create(requirements, err);

    if (create < 0)
        return err->code;
    if (create)
        return commit_create(wh, ns, name, updates, out, err);
    return tn_table_rest_commit_many(wh, &c, 1, out, err);
}

int tn_table_rest_commit_many(struct tn_warehouse *wh, const struct tn_rest_change *changes,
                              size_t n, struct tn_table **out, struct tn_err *err)
{
    struct tn__change *c = tn_calloc(n ? n : 1, sizeof(*c));
    int rc = 0;

    for (size_t i = 0; !rc && i < n; i++) {
        for (size_t k = 0; k < i; k++) {
            if (strcmp(changes[k].ns, changes[i].ns) == 0 &&
                strcmp(changes[k].name, changes[i].name) == 0) {
                rc = tn_fail(err, TN_EINPUT, "table %s.%s appears twice in one transaction",
                             changes[i].ns, changes[i].name);
                break;
            }
        }
        if (!rc && tn_requirements_create(changes[i].requirements, err))
            rc = tn_fail(err, TN_EINPUT, "assert-create is not supported in a transaction");
        c[i].ns = changes[i].ns;
        c[i].name = changes[i].name;
        c[i].requirements = changes[i].requirements;
        c[i].updates = changes[i].updates;
        c[i].skip_if_unchanged = 1; /* a commit that changes nothing writes nothing */
        c[i].stage = check_staged;
    }
    if (!rc) {
        c[0].out = out;
        rc = tn__commit(wh, c, n, err);
    }
    free(c);
    return rc;
}
