/* commit.c - the one place where a table change becomes visible.
 *
 * Every writer (ingest, INSERT/UPDATE/DELETE/MERGE, schema and partition evolution, properties,
 * refs, maintenance, the REST catalog) describes its change as a struct tn__change: Iceberg
 * REST requirements and updates (src/iceberg/updates.c), plus for changes that write files a
 * "stage" hook that, on every attempt, writes what depends on the version it builds on (manifest
 * lists, merged manifests) and adds its own updates (add-snapshot, set-snapshot-ref).
 * tn__commit publishes it; nothing else writes a metadata file or moves a catalog pointer.
 *
 * STATES OF ONE COMMIT (tn__commit moves between them; nothing else does)
 *
 *   LOAD      The base: the version the caller read (first attempt) or the catalog's current
 *             one (after a lost race), for each table of the change.
 *   CHECK     The requirements hold on the base. If not: REFUSED (409), no retry.
 *   STAGE     The updates are applied to the base in memory, the stage hook runs on the
 *             result (it may write new files, all recorded in the attempt's file list, and may
 *             refuse with a real conflict: REFUSED), its updates are applied too, and the next
 *             version is validated. Still nothing a reader can reach has changed.
 *   WRITE     The next metadata file is written at a fresh name.
 *   FLUSH     Every file the attempt wrote (and the caller's, tn__change.written) is flushed to
 *             disk at once: one journal commit of the file system, not one per file.
 *   SWAP      The catalog pointer moves from the base to the new file (one compare-and-swap;
 *             all tables of a multi-table change in one catalog transaction; for a table that
 *             did not exist (tn__table_new) the catalog row is inserted, TN_EEXISTS when another
 *             writer created it first).
 *             Won: PUBLISHED. Lost (another commit moved it): DISCARD, then LOAD again after a
 *             backoff, until the deadline (TN_COMMIT_DEADLINE_MS) passes.
 *   DISCARD   Every file the attempt wrote (metadata file, manifest lists, manifests) is
 *             deleted.
 *   PUBLISHED The new version is cached, and metadata files its log dropped are deleted when
 *             write.metadata.delete-after-commit.enabled says so.
 *   REFUSED   Any failure in CHECK, STAGE, WRITE, or a SWAP that fails for another reason than a
 *             lost race: DISCARD, and the error goes back to the caller, who deletes the data
 *             files it wrote before the commit.
 *
 * INVARIANTS
 *   - Until the swap, no published metadata names a new file: a crash at any point leaves at
 *     most unreferenced files, never a broken or half-changed table.
 *   - Every file a swap publishes is on disk before it: what a crash after the swap finds is
 *     whole.
 *   - A failed attempt deletes what it wrote; a refused commit leaves the catalog pointer, and so
 *     schema, specs, refs, properties and snapshots, exactly as they were.
 *   - A request is one commit: everything it changes (schema, properties, snapshot) is in the
 *     updates of one change and lands in one metadata file, or not at all.
 *   - Only a lost swap is retried; requirements, updates and the stage hook are re-checked and
 *     re-applied on the newer base each time, so a retry never overwrites another commit.
 */
#include "table_int.h"

#include "delta/delta.h"
#include "delta/publish.h"
#include "hudi/hudi.h"

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

/*---- Files a change wrote ----*/

void tn__files_add(struct tn__files *f, const char *resolved)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->uris = tn_realloc(f->uris, f->cap * sizeof(char *));
    }
    f->uris[f->n++] = tn_strdup(resolved);
}

int tn__files_write(struct tn_warehouse *wh, const struct tn_table *t, const char *uri,
                    const void *data, size_t len, struct tn__files *f, struct tn_err *err)
{
    char *resolved = tn_table_resolve(t, uri);
    int rc = f->flush_at_commit ? tn_storage_write_unflushed(wh->storage, resolved, data, len, err)
                                : tn_storage_write(wh->storage, resolved, data, len, err);

    if (!rc)
        tn__files_add(f, resolved);
    if (!rc && !f->flush_at_commit)
        f->flushed = f->n;
    free(resolved);
    return rc;
}

int tn__files_flush(struct tn_warehouse *wh, struct tn__files *f, struct tn_err *err)
{
    int rc = tn_storage_flush(wh->storage, (const char *const *)f->uris + f->flushed,
                              f->n - f->flushed, err);

    if (!rc)
        f->flushed = f->n;
    return rc;
}

void tn__files_done(struct tn_warehouse *wh, struct tn__files *f, int remove)
{
    struct tn_err ignored;

    for (size_t i = 0; i < f->n; i++) {
        if (remove)
            tn_storage_delete(wh->storage, f->uris[i], &ignored);
        free(f->uris[i]);
    }
    free(f->uris);
    memset(f, 0, sizeof(*f));
}

/*---- Metadata files ----*/

char *tn__next_metadata_location(const struct tn_table *t, const char *table_location)
{
    const char *base = t->metadata_location ? strrchr(t->metadata_location, '/') : NULL;
    long version = t->metadata_location
                       ? (long)json_array_size(json_object_get(t->meta->root, "metadata-log"))
                       : -1; /* a new table's first version is 00000 */
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
    json_array_foreach(json_object_get(next->root, "metadata-log"), i, e)
    {
        const char *f = json_string_value(json_object_get(e, "metadata-file"));
        if (f)
            json_object_set_new(kept, f, json_true());
    }
    /* what the base's log named and the new log no longer does (Java's rule) */
    json_array_foreach(json_object_get(base->meta->root, "metadata-log"), i, e)
    {
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

/*---- The commit ----*/

/* One table's attempt: its base, what the attempt wrote, and the version it would publish. */
struct attempt {
    struct tn_table *loaded; /* the base when this attempt loaded it (else the caller's) */
    const struct tn_table *base;
    struct tn_metadata *next;       /* NULL: the change leaves the table as it is */
    char *location, *resolved;      /* of the next metadata file */
    struct tn__files files;         /* written by this attempt, deleted unless published */
    struct tn_delta_pending *delta; /* what publishing as Delta does once published */
    int delta_busy;                 /* another commit holds the next Delta version */
};

static void attempt_release(struct tn_warehouse *wh, struct attempt *a, int published)
{
    tn__files_done(wh, &a->files, !published);
    tn_delta_pending_free(a->delta);
    tn_table_free(a->loaded);
    tn_metadata_free(a->next);
    free(a->location);
    free(a->resolved);
    memset(a, 0, sizeof(*a));
}

/* LOAD, CHECK and STAGE for one table, then WRITE. */
static int attempt_prepare(struct tn_warehouse *wh, struct tn__change *c, struct attempt *a,
                           int first, struct tn_err *err)
{
    struct tn_metadata *staged = NULL;
    json_t *all = NULL;
    size_t len;
    const char *text;
    int rc;

    a->files.flush_at_commit = 1; /* flushed together before the swap */
    if (first && c->base) {
        a->base = c->base;
    } else {
        rc = tn_table_load(wh, c->ns, c->name, &a->loaded, err);
        if (rc)
            return rc;
        a->base = a->loaded;
    }
    if (!c->translating) {
        rc = tn__check_read_only(a->base, err);
        if (rc)
            return rc;
    }
    rc = tn_requirements_check(a->base->meta->root, c->requirements, err);
    if (rc)
        return rc;
    all = json_array();
    if (!a->base->metadata_location && tn_delta_default() &&
        !json_object_get(json_object_get(a->base->meta->root, "properties"), TN_DELTA_ENABLED_PROP))
        tn_updates_set_property(all, TN_DELTA_ENABLED_PROP, "true"); /* tarn serve --delta */
    if (c->updates)
        json_array_extend(all, (json_t *)c->updates);
    if (c->stage) {
        /* the hook sees the table as the fixed updates leave it */
        if (json_array_size(all))
            rc = tn_metadata_update(a->base->meta, NULL, all, &staged, err);
        else
            staged = tn_metadata_share(a->base->meta);
        if (!rc)
            rc = c->stage(wh, a->base, staged, c->ctx, all, &a->files, err);
        tn_metadata_free(staged);
    }
    if (!rc && c->skip_if_unchanged && a->base->metadata_location) {
        /* what the updates alone make of the base: the same metadata means nothing to do */
        struct tn_metadata *probe = NULL;
        int same = !json_array_size(all);
        if (!same && !(rc = tn_metadata_update(a->base->meta, NULL, all, &probe, err)))
            same = json_equal(probe->root, a->base->meta->root);
        tn_metadata_free(probe);
        if (same) {
            json_decref(all);
            return rc;
        }
    }
    if (!rc)
        rc = tn_metadata_update(a->base->meta, a->base->metadata_location, all, &a->next, err);
    if (!rc)
        a->location = tn__next_metadata_location(a->base, a->next->location);
    if (!rc && tn_delta_enabled(a->next->root)) {
        /* the Delta version of the same change, written before the swap publishes it and
         * deleted with the attempt's files if it does not; the version it records in the
         * metadata needs the updates applied once more */
        rc = tn_delta_publish(wh, a->base, a->next, a->location, all, &a->files, &a->delta,
                              &a->delta_busy, err);
        tn_metadata_free(a->next);
        a->next = NULL;
        if (!rc)
            rc = tn_metadata_update(a->base->meta, a->base->metadata_location, all, &a->next, err);
    }
    json_decref(all);
    if (rc)
        return rc;
    a->resolved = tn_table_resolve(a->base, a->location);
    text = tn_metadata_dump_new(a->next, &len);
    /* never on top of a table whose files are gone from the store (a cache would hide it) */
    rc = a->base->metadata_location ? tn__check_base(wh, a->base, err) : 0;
    if (!rc)
        rc = tn_storage_write_unflushed(wh->storage, a->resolved, text, len, err);
    if (!rc)
        tn__files_add(&a->files, a->resolved);
    return rc;
}

int tn__commit(struct tn_warehouse *wh, struct tn__change *changes, size_t n, struct tn_err *err)
{
    struct attempt *a = tn_calloc(n ? n : 1, sizeof(*a));
    struct tn_catalog_swap *sw = tn_calloc(n ? n : 1, sizeof(*sw));
    int64_t deadline = tn_now_ms() + TN_COMMIT_DEADLINE_MS;
    int rc = 0;

    for (size_t i = 0; n > 1 && i < n; i++) {
        if (changes[i].base && !changes[i].base->metadata_location)
            rc = tn_fail(err, TN_EINTERNAL, "a new table commits alone");
    }

    for (int attempt = 1; !rc; attempt++) {
        size_t nswap = 0;
        int at_swap = 0;

        for (size_t i = 0; !rc && i < n; i++) {
            rc = attempt_prepare(wh, &changes[i], &a[i], attempt == 1, err);
            if (rc && n > 1)
                tn_err_prefix(err, "table %s.%s: ", changes[i].ns, changes[i].name);
            if (!rc && a[i].next)
                sw[nswap++] = (struct tn_catalog_swap){changes[i].ns, changes[i].name,
                                                       a[i].base->metadata_location, a[i].location};
        }
        /* everything the new versions name reaches the disk before any of them is published */
        for (size_t i = 0; !rc && nswap && i < n; i++) {
            rc = tn__files_flush(wh, &a[i].files, err);
            if (!rc && changes[i].written)
                rc = tn__files_flush(wh, changes[i].written, err);
        }
        at_swap = !rc && nswap;
        if (at_swap && nswap == 1 && !sw[0].expected)
            rc = tn_catalog_create(wh->catalog, sw[0].ns, sw[0].table, sw[0].new_location, err);
        else if (at_swap && nswap == 1)
            rc = tn_catalog_swap(wh->catalog, sw[0].ns, sw[0].table, sw[0].expected,
                                 sw[0].new_location, err);
        else if (at_swap)
            rc = tn_catalog_swap_many(wh->catalog, sw, nswap, err);
        /* only a lost race is retried (a lost swap, or the next Delta version taken by another
         * commit): a failed requirement, update or stage is refused */
        int busy = 0;
        for (size_t i = 0; i < n; i++)
            busy |= a[i].delta_busy;
        if (!rc || rc != TN_ECONFLICT || tn_now_ms() >= deadline ||
            (at_swap ? !sw[0].expected : !busy))
            break;
        for (size_t i = 0; i < n; i++)
            attempt_release(wh, &a[i], 0);
        rc = 0;
        tn__backoff(attempt);
    }
    for (size_t i = 0; i < n; i++) {
        if (!rc && a[i].next && a[i].base->metadata_location) {
            tn__metadata_cache_put(wh, a[i].resolved, a[i].next, a[i].next->text_len);
            tn__delete_old_metadata(wh, a[i].base, a[i].next);
        }
        if (!rc && a[i].delta)
            tn_delta_after_publish(wh, a[i].delta);
        if (!rc && changes[i].out) {
            struct tn_table *t = tn_calloc(1, sizeof(*t));
            snprintf(t->ns, sizeof(t->ns), "%s", changes[i].ns);
            snprintf(t->name, sizeof(t->name), "%s", changes[i].name);
            t->metadata_location =
                tn_strdup(a[i].next ? a[i].location : a[i].base->metadata_location);
            t->meta = tn_metadata_share(a[i].next ? a[i].next : a[i].base->meta);
            t->map.n = a[i].base->map.n;
            t->map.from = tn_calloc(t->map.n + 1, sizeof(char *));
            t->map.to = tn_calloc(t->map.n + 1, sizeof(char *));
            for (size_t k = 0; k < t->map.n; k++) {
                t->map.from[k] = tn_strdup(a[i].base->map.from[k]);
                t->map.to[k] = tn_strdup(a[i].base->map.to[k]);
            }
            *changes[i].out = t;
        }
        attempt_release(wh, &a[i], !rc);
    }
    free(a);
    free(sw);
    return rc;
}

int tn__table_stage(struct tn_table *t, json_t *requirements, json_t *updates, struct tn_err *err)
{
    struct tn_metadata *staged = NULL;
    json_t *all;
    int rc;

    if (t->staged_base) {
        /* staged again: the updates add up, still on the published base */
        all = json_array();
        json_array_extend(all, t->staged_updates);
        json_array_extend(all, updates);
    } else {
        all = json_incref(updates);
    }
    rc =
        tn_requirements_check((t->staged_base ? t->staged_base : t->meta)->root, requirements, err);
    if (!rc)
        rc = tn_metadata_update(t->staged_base ? t->staged_base : t->meta, NULL, all, &staged, err);
    if (rc) {
        json_decref(all);
        return rc;
    }
    if (!t->staged_base) {
        t->staged_base = t->meta;
        t->staged_requirements = json_array();
    } else {
        tn_metadata_free(t->meta);
    }
    t->meta = staged;
    json_decref(t->staged_updates);
    t->staged_updates = all;
    if (requirements)
        json_array_extend(t->staged_requirements, requirements);
    return 0;
}

/*---- Metadata-only changes ----*/

struct build_ctx {
    int (*build)(const struct tn_table *t, void *ctx, json_t *updates, struct tn_err *err);
    void *ctx;
};

static int build_stage(struct tn_warehouse *wh, const struct tn_table *base,
                       const struct tn_metadata *staged, void *vctx, json_t *updates,
                       struct tn__files *files, struct tn_err *err)
{
    struct build_ctx *b = vctx;

    (void)wh;
    (void)staged;
    (void)files;
    return b->build(base, b->ctx, updates, err);
}

int tn__commit_metadata(struct tn_warehouse *wh, const char *ns, const char *name,
                        int (*build)(const struct tn_table *t, void *ctx, json_t *updates,
                                     struct tn_err *err),
                        void *ctx, struct tn_err *err)
{
    struct build_ctx b = {build, ctx};
    struct tn__change c;

    memset(&c, 0, sizeof(c));
    c.ns = ns;
    c.name = name;
    c.stage = build_stage;
    c.ctx = &b;
    return tn__commit(wh, &c, 1, err);
}

int tn__check_read_only(const struct tn_table *t, struct tn_err *err)
{
    const char *hudi = tn_hudi_location(t);

    if (hudi)
        return tn_fail(err, TN_EFORBIDDEN,
                       "table %s.%s is the Apache Hudi table at %s, which tarn reads but does not "
                       "change; write to it with Hudi (tarn follows its new commits)",
                       t->ns, t->name, hudi);
    return tn_delta_check_write(t, err); /* a Delta table changes only by its own log */
}
