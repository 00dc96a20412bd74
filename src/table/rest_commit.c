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
    int rc;

    if (!json_is_object(schema)) {
        rc = tn_fail(err, TN_EINPUT, "\"schema\" is required");
        goto out;
    }
    if (props && !json_is_null(props) && !json_is_object(props)) {
        rc = tn_fail(err, TN_EINPUT, "\"properties\" must be an object");
        goto out;
    }
    if (loc && strncmp(loc, root_uri, strlen(root_uri)) != 0) {
        rc = tn_fail(err, TN_EINPUT, "location %s is outside the warehouse %s; leave it out", loc,
                     root_uri);
        goto out;
    }
    location = loc ? tn_strdup(loc) : tn_asprintf("%s/%s/%s", root_uri, ns, name);
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
        json_t *u = json_pack("[{s:s, s:O}, {s:s, s:i}]", "action", "add-sort-order",
                              "sort-order", order, "action", "set-default-sort-order",
                              "sort-order-id", -1);
        rc = tn_updates_apply(root, u, err);
        json_decref(u);
    }
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
    if (!rc &&
        strncmp(json_string_value(json_object_get(root, "location")),
                tn_storage_root_uri(wh->storage), strlen(tn_storage_root_uri(wh->storage))) != 0)
        rc = tn_fail(err, TN_EINPUT, "set-location: the location must be inside the warehouse");
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
    }
    if (!rc) {
        c[0].out = out;
        rc = tn__commit(wh, c, n, err);
    }
    free(c);
    return rc;
}
