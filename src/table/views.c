/* views.c - Iceberg views in tarn's catalog: each view is a metadata file (iceberg/view.c) in
 * its location inside the warehouse, and a catalog row of type VIEW that points at the current
 * one. A change writes the next metadata file and moves the row by compare-and-swap, retried
 * on a lost race with the requirements checked again, as table commits are. */
#include "table_int.h"

#include "iceberg/view.h"

#include <stdlib.h>
#include <string.h>

#define VIEW_COMMIT_ATTEMPTS 8

void tn_view_free(struct tn_view *v)
{
    if (!v)
        return;
    free(v->metadata_location);
    json_decref(v->meta);
    free(v);
}

/* View ns.name, owning "metadata_location" and its metadata "meta". */
static struct tn_view *view_new(const char *ns, const char *name, char *metadata_location,
                                json_t *meta)
{
    struct tn_view *v = tn_calloc(1, sizeof(*v));

    snprintf(v->ns, sizeof(v->ns), "%s", ns);
    snprintf(v->name, sizeof(v->name), "%s", name);
    v->metadata_location = metadata_location;
    v->meta = meta;
    return v;
}

/* Read and check the view metadata at "location". */
static int read_metadata(struct tn_warehouse *wh, const char *location, json_t **out,
                         struct tn_err *err)
{
    struct tn_buf buf = TN_BUF_INIT(TN_CAP_METADATA);
    json_error_t jerr;
    json_t *root;
    int rc = tn_storage_read(wh->storage, location, &buf, err);

    if (rc)
        return rc;
    root = json_loadb(buf.buf ? buf.buf : "", buf.len, 0, &jerr);
    tn_buf_release(&buf);
    if (!root)
        return tn_fail(err, TN_EINPUT, "%s is not JSON: %s (line %d)", location, jerr.text,
                       jerr.line);
    rc = tn_view_metadata_check(root, err);
    if (rc) {
        tn_err_prefix(err, "%s: ", location);
        json_decref(root);
        return rc;
    }
    *out = root;
    return 0;
}

/* Write "root" as metadata file number "version" of the view; its location goes to *out. */
static int write_metadata(struct tn_warehouse *wh, json_t *root, long version, char **out,
                          struct tn_err *err)
{
    const char *location = json_string_value(json_object_get(root, "location"));
    char uuid[37];
    char *path, *text;
    int rc;

    if (!tn_storage_in_warehouse(wh->storage, location))
        return tn_fail(err, TN_EFORBIDDEN,
                       "location %s is outside the warehouse %s; a view's location must be "
                       "inside it (leave it out for the default)",
                       location, tn_storage_root_uri(wh->storage));
    tn_uuid4(uuid);
    path = tn_asprintf("%s/metadata/%05ld-%s.metadata.json", location, version, uuid);
    text = json_dumps(root, JSON_COMPACT);
    rc = tn_storage_write(wh->storage, path, text, strlen(text), err);
    free(text);
    if (rc) {
        free(path);
        return rc;
    }
    *out = path;
    return 0;
}

/* The number of the metadata file at "location" (its NNNNN- prefix), or -1. */
static long metadata_version(const char *location)
{
    const char *base = strrchr(location, '/');
    char *end;
    long v;

    base = base ? base + 1 : location;
    v = strtol(base, &end, 10);
    return end != base && *end == '-' ? v : -1;
}

int tn_view_load(struct tn_warehouse *wh, const char *ns, const char *name, struct tn_view **out,
                 struct tn_err *err)
{
    char *location = NULL;
    json_t *root = NULL;
    int rc = tn_catalog_load_kind(wh->catalog, TN_CATALOG_VIEW, ns, name, &location, err);

    if (!rc)
        rc = read_metadata(wh, location, &root, err);
    if (rc) {
        free(location);
        return rc;
    }
    *out = view_new(ns, name, location, root);
    return 0;
}

/* The catalog row for a new view whose first metadata is "root"; the file is removed when the
 * row cannot be inserted. */
static int publish_new(struct tn_warehouse *wh, const char *ns, const char *name, json_t *root,
                       struct tn_view **out, struct tn_err *err)
{
    char *location = NULL;
    int rc = write_metadata(wh, root, 0, &location, err);

    if (!rc)
        rc = tn_catalog_create_kind(wh->catalog, TN_CATALOG_VIEW, ns, name, location, err);
    if (rc) {
        struct tn_err ignored;
        if (location)
            tn_storage_delete(wh->storage, location, &ignored);
        free(location);
        json_decref(root);
        return rc;
    }
    *out = view_new(ns, name, location, root);
    return 0;
}

int tn_view_create(struct tn_warehouse *wh, const char *ns, const char *name, json_t *request,
                   struct tn_view **out, struct tn_err *err)
{
    const char *loc = json_string_value(json_object_get(request, "location"));
    char *location = NULL;
    json_t *root = NULL;
    int rc = 0;

    if (loc && !tn_storage_in_warehouse(wh->storage, loc))
        return tn_fail(err, TN_EFORBIDDEN, "location %s is outside the warehouse %s; leave it out",
                       loc, tn_storage_root_uri(wh->storage));
    if (loc)
        rc = tn_path_normalise(loc, &location, err);
    else
        location = tn_asprintf("%s/%s/%s", tn_storage_root_uri(wh->storage), ns, name);
    if (!rc)
        rc = tn_view_metadata_new(location, request, &root, err);
    free(location);
    if (rc)
        return rc;
    return publish_new(wh, ns, name, root, out, err);
}

int tn_view_register(struct tn_warehouse *wh, const char *ns, const char *name,
                     const char *metadata_location, struct tn_view **out, struct tn_err *err)
{
    json_t *root = NULL;
    int rc;

    if (!tn_storage_in_warehouse(wh->storage, metadata_location))
        return tn_fail(err, TN_EFORBIDDEN, "%s is outside the warehouse %s", metadata_location,
                       tn_storage_root_uri(wh->storage));
    rc = read_metadata(wh, metadata_location, &root, err);
    if (!rc)
        rc = tn_catalog_create_kind(wh->catalog, TN_CATALOG_VIEW, ns, name, metadata_location, err);
    if (rc) {
        json_decref(root);
        return rc;
    }
    *out = view_new(ns, name, tn_strdup(metadata_location), root);
    return 0;
}

int tn_view_commit(struct tn_warehouse *wh, const char *ns, const char *name, json_t *requirements,
                   json_t *updates, struct tn_view **out, struct tn_err *err)
{
    for (int attempt = 0;; attempt++) {
        struct tn_view *base = NULL;
        char *location = NULL;
        json_t *root;
        int rc = tn_view_load(wh, ns, name, &base, err);

        if (rc)
            return rc;
        root = json_deep_copy(base->meta);
        rc = tn_view_metadata_apply(root, requirements, updates, err);
        if (!rc)
            rc = write_metadata(wh, root, metadata_version(base->metadata_location) + 1, &location,
                                err);
        if (!rc)
            rc = tn_catalog_swap_kind(wh->catalog, TN_CATALOG_VIEW, ns, name,
                                      base->metadata_location, location, err);
        if (!rc) {
            free(base->metadata_location);
            json_decref(base->meta);
            base->metadata_location = location;
            base->meta = root;
            *out = base;
            return 0;
        }
        if (location) {
            struct tn_err ignored;
            tn_storage_delete(wh->storage, location, &ignored);
            free(location);
        }
        json_decref(root);
        tn_view_free(base);
        if (rc != TN_ECONFLICT || strncmp(err->msg, "Requirement failed", 18) == 0 ||
            attempt + 1 == VIEW_COMMIT_ATTEMPTS)
            return rc;
        tn__backoff(attempt);
    }
}
