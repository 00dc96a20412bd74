/* commit.c - publishing metadata versions: the catalog compare-and-swap that makes a commit
 * visible, its retry loop, metadata-only commits, and deleting metadata files the log dropped
 * (write.metadata.delete-after-commit.enabled) once a commit is published (see table_int.h). */
#include "table_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define BACKOFF_MIN_MS 5
#define BACKOFF_MAX_MS 2000

void tn__backoff(int attempt)
{
    int64_t ms = (int64_t)BACKOFF_MIN_MS << (attempt < 10 ? attempt : 10);
    unsigned char r;
    struct timespec ts;

    if (ms > BACKOFF_MAX_MS)
        ms = BACKOFF_MAX_MS;
    tn_random_bytes(&r, 1);
    ms = ms / 2 + (ms * r) / 512; /* jitter: 50% to 100% */
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000;
    nanosleep(&ts, NULL);
}

char *tn__next_metadata_location(const struct tn_table *t, const char *table_location)
{
    const char *base = strrchr(t->metadata_location, '/');
    long version = (long)json_array_size(json_object_get(t->meta->root, "metadata-log"));
    char uuid[37];

    if (base) {
        char *end;
        long v = strtol(base + 1, &end, 10);
        if (end != base + 1 && *end == '-')
            version = v;
    }
    tn_uuid4(uuid);
    return tn_asprintf("%s/metadata/%05ld-%s.metadata.json", table_location, version + 1, uuid);
}

/* Whether table property "key" is "true" in metadata "root". */
static int property_true(const json_t *root, const char *key)
{
    const char *v = json_string_value(json_object_get(json_object_get(root, "properties"), key));
    return v && strcasecmp(v, "true") == 0;
}

void tn__delete_old_metadata(struct tn_warehouse *wh, const struct tn_table *base,
                             const struct tn_metadata *next)
{
    json_t *kept = json_object(), *e;
    size_t i, loc_len = strlen(next->location);

    if (!property_true(next->root, "write.metadata.delete-after-commit.enabled")) {
        json_decref(kept);
        return;
    }
    json_array_foreach(json_object_get(next->root, "metadata-log"), i, e) {
        const char *f = json_string_value(json_object_get(e, "metadata-file"));
        if (f)
            json_object_set_new(kept, f, json_true());
    }
    /* what the base's log named and the new log no longer does (Java's rule) */
    json_array_foreach(json_object_get(base->meta->root, "metadata-log"), i, e) {
        const char *f = json_string_value(json_object_get(e, "metadata-file"));
        struct tn_err ignored;
        char *resolved;
        if (!f || json_object_get(kept, f) || strcmp(f, base->metadata_location) == 0 ||
            strncmp(f, next->location, loc_len) != 0 || f[loc_len] != '/')
            continue;
        resolved = tn_table_resolve(base, f);
        tn_storage_delete(wh->storage, resolved, &ignored);
        free(resolved);
    }
    json_decref(kept);
}

int tn__check_base(struct tn_warehouse *wh, const struct tn_table *t, struct tn_err *err)
{
    char *current = tn_table_resolve(t, t->metadata_location);
    int rc = tn_storage_confirm(wh->storage, current, err);

    if (rc == TN_ENOTFOUND)
        rc = tn_fail(err, TN_ENOTFOUND,
                     "table %s.%s: its current metadata file %.300s is gone from the store (was "
                     "the bucket or the table's folder deleted?); nothing was committed: restore "
                     "the table's files, or drop the table and create it again",
                     t->ns, t->name, current);
    free(current);
    return rc;
}

int tn__publish(struct tn_warehouse *wh, const struct tn_table *t, struct tn_metadata *next,
                struct tn_err *err)
{
    char *location = tn__next_metadata_location(t, t->meta->location);
    char *resolved = tn_table_resolve(t, location);
    size_t len;
    const char *text = tn_metadata_dump_new(next, &len);
    int rc = tn__check_base(wh, t, err);

    if (!rc)
        rc = tn_storage_write(wh->storage, resolved, text, len, err);
    if (!rc) {
        rc = tn_catalog_swap(wh->catalog, t->ns, t->name, t->metadata_location, location, err);
        if (rc) {
            struct tn_err ignored;
            tn_storage_delete(wh->storage, resolved, &ignored);
        } else {
            tn__metadata_cache_put(wh, resolved, next, len);
            tn__delete_old_metadata(wh, t, next);
        }
    }
    free(location);
    free(resolved);
    return rc;
}

int tn__commit_metadata(struct tn_warehouse *wh, const char *ns, const char *name,
                        int (*mutate)(const struct tn_table *t, json_t *root, void *ctx,
                                      struct tn_err *err),
                        void *ctx, struct tn_err *err)
{
    int rc = 0;

    for (int attempt = 1; attempt <= TN_COMMIT_ATTEMPTS; attempt++) {
        struct tn_table *t = NULL;
        struct tn_metadata *next = NULL;
        json_t *root;

        rc = tn_table_load(wh, ns, name, &t, err);
        if (rc)
            return rc;
        root = json_deep_copy(t->meta->root);
        rc = mutate(t, root, ctx, err);
        if (!rc) {
            json_object_set_new(root, "last-updated-ms", json_integer(tn_now_ms()));
            tn_metadata_log_append(root, t->metadata_location, t->meta->last_updated_ms);
            rc = tn_metadata_from_json(root, &next, err);
        } else {
            json_decref(root);
        }
        if (!rc)
            rc = tn__publish(wh, t, next, err);
        tn_metadata_free(next);
        tn_table_free(t);
        if (rc != TN_ECONFLICT)
            return rc;
        tn__backoff(attempt);
    }
    return rc;
}
