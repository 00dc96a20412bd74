/* housekeeping.c - maintenance that keeps a table's files few and its folder clean, each an
 * ordinary commit that a concurrent writer can only make retry:
 *   rewrite_manifests  the current snapshot's manifests merged into one per (content, spec),
 *                      a "replace" snapshot naming the same files;
 *   remove_orphans     files under the table's location that no metadata reaches, older than
 *                      a safety margin (listed first, then the references read, so a commit
 *                      that lands during the listing keeps its files);
 *   rewrite_metadata   a metadata-only commit that applies the metadata-log limits now. */
#include "table/table_int.h"

#include "delta/publish.h"

#include <stdlib.h>
#include <string.h>

#define MERGED_ENTRIES_MAX 100000 /* entries in one merged manifest */
#define ORPHAN_PATHS_MAX   1000   /* orphan paths a result lists */

/*---- rewrite_manifests ----*/

struct rewrite {
    struct tn_manifest_file *list; /* the new manifest list (shallow for carried entries) */
    size_t nlist;
    struct tn_manifest_file *made; /* merged manifests this attempt wrote (owned) */
    size_t nmade;
    struct tn__files *files; /* every file written (the commit deletes them if it fails) */
    int64_t replaced;
};

static void rewrite_release(struct rewrite *r)
{
    for (size_t i = 0; i < r->nmade; i++) {
        free(r->made[i].path);
        for (size_t j = 0; j < r->made[i].npartitions; j++) {
            free(r->made[i].partitions[j].lower.p);
            free(r->made[i].partitions[j].upper.p);
        }
        free(r->made[i].partitions);
    }
    free(r->made);
    free(r->list);
    memset(r, 0, sizeof(*r));
}

static void list_add(struct rewrite *r, const struct tn_manifest_file *mf)
{
    r->list = tn_realloc(r->list, (r->nlist + 1) * sizeof(*r->list));
    r->list[r->nlist++] = *mf; /* shallow */
}

/* Merge the manifests of "mf" whose content and spec equal group's (indices in "idx") into
 * manifests of at most MERGED_ENTRIES_MAX live entries, each EXISTING with its own snapshot
 * and sequence numbers. */
static int merge_group(struct tn_warehouse *wh, const struct tn_table *t,
                       const struct tn_manifest_file *mf, const size_t *idx, size_t n,
                       int64_t snapshot_id, int64_t seq, struct rewrite *r, struct tn_err *err)
{
    struct tn_manifest_entry *all = NULL;
    size_t nall = 0, cap = 0;
    struct tn_manifest_info info;
    int rc = 0;

    for (size_t i = 0; !rc && i < n; i++)
        rc = tn__carry_live_entries(wh, t, &mf[idx[i]], &all, &nall, &cap, err);
    info.schema = tn_metadata_current_schema(t->meta);
    info.spec = tn_metadata_spec(t->meta, mf[idx[0]].spec_id);
    info.content = mf[idx[0]].content;
    info.snapshot_id = snapshot_id;
    info.sequence_number = seq;
    info.format_version = t->meta->format_version;
    if (!rc && !info.spec)
        rc = tn_fail(err, TN_EINPUT, "manifest %s names partition spec %d, which the table lacks",
                     mf[idx[0]].path, mf[idx[0]].spec_id);
    for (size_t from = 0; !rc && from < nall; from += MERGED_ENTRIES_MAX) {
        size_t k = nall - from < MERGED_ENTRIES_MAX ? nall - from : MERGED_ENTRIES_MAX;
        struct tn_manifest_file out;
        char *data = NULL, uuid[37];
        size_t len = 0;

        memset(&out, 0, sizeof(out));
        rc = tn_manifest_write(&info, all + from, k, &data, &len, &out, err);
        if (!rc) {
            tn_uuid4(uuid);
            out.path = tn_asprintf("%s/metadata/%s-m%d.avro", t->meta->location, uuid,
                                   info.content ? 5 : 4);
            out.length = (int64_t)len;
            rc = tn__files_write(wh, t, out.path, data, len, r->files, err);
            r->made = tn_realloc(r->made, (r->nmade + 1) * sizeof(*r->made));
            r->made[r->nmade++] = out; /* released with "r" */
            if (!rc)
                list_add(r, &out);
        }
        free(data);
    }
    tn_manifest_entries_free(all, nall);
    return rc;
}

struct rewrite_ctx {
    struct tn_rewrite_manifests_result *res;
    int done; /* the last attempt merged something */
};

/* The stage of the commit (see commit.c), on the version it builds on: nothing (no update)
 * when there is nothing to merge. */
static int rewrite_attempt(struct tn_warehouse *wh, const struct tn_table *t,
                           const struct tn_metadata *m, void *vctx, json_t *updates,
                           struct tn__files *files, struct tn_err *err)
{
    struct rewrite_ctx *ctx = vctx;
    struct tn_rewrite_manifests_result *res = ctx->res;
    int *done = &ctx->done;
    const struct tn_snapshot *cur = tn_metadata_snapshot(m, m->current_snapshot_id);
    struct tn_manifest_file *mf = NULL;
    struct rewrite r;
    json_t *summary = NULL;
    char *list_path = NULL, *list_data = NULL, *seen = NULL;
    size_t n = 0, list_len = 0, *idx = NULL;
    int64_t snapshot_id = tn_snapshot_id_new(), seq = m->last_sequence_number + 1;
    int64_t added_row_ids = 0;
    int rc, merged_any = 0;

    memset(&r, 0, sizeof(r));
    r.files = files;
    *done = 0;
    res->snapshot_id = m->current_snapshot_id;
    res->manifests_before = res->manifests_after = 0;
    if (!cur)
        return 0;
    rc = tn_table_manifests(wh, t, cur->id, &mf, &n, err);
    if (rc)
        return rc;
    res->manifests_before = res->manifests_after = (int64_t)n; /* unless merged below */
    idx = tn_calloc(n + 1, sizeof(*idx));
    seen = tn_calloc(n + 1, 1);
    for (size_t i = 0; !rc && i < n; i++) {
        size_t k = 0;
        if (seen[i])
            continue;
        for (size_t j = i; j < n; j++) {
            if (!seen[j] && mf[j].content == mf[i].content && mf[j].spec_id == mf[i].spec_id) {
                seen[j] = 1;
                idx[k++] = j;
            }
        }
        if (k == 1) {
            list_add(&r, &mf[i]); /* alone in its group: kept as it is */
            continue;
        }
        merged_any = 1;
        r.replaced += (int64_t)k;
        rc = merge_group(wh, t, mf, idx, k, snapshot_id, seq, &r, err);
    }
    if (rc || !merged_any)
        goto out;
    {
        char uuid[37];
        tn_uuid4(uuid);
        list_path = tn_asprintf("%s/metadata/snap-%lld-1-%s.avro", m->location,
                                (long long)snapshot_id, uuid);
    }
    if (m->format_version >= 3)
        added_row_ids = tn_manifest_list_assign_row_ids(r.list, r.nlist, m->next_row_id);
    rc = tn_manifest_list_write(r.list, r.nlist, snapshot_id, cur->id, seq, m->format_version,
                                &list_data, &list_len, err);
    if (!rc)
        rc = tn__files_write(wh, t, list_path, list_data, list_len, r.files, err);
    if (rc)
        goto out;
    summary = json_object();
    json_object_set_new(summary, "operation", json_string("replace"));
    if (cur->summary) {
        const char *key;
        json_t *v;
        json_object_foreach(cur->summary, key, v)
        {
            if (strncmp(key, "total-", 6) == 0)
                json_object_set(summary, key, v);
        }
    }
    {
        char text[24];
        snprintf(text, sizeof(text), "%lld", (long long)r.nmade);
        json_object_set_new(summary, "manifests-created", json_string(text));
        snprintf(text, sizeof(text), "%lld", (long long)(r.nlist - r.nmade));
        json_object_set_new(summary, "manifests-kept", json_string(text));
        snprintf(text, sizeof(text), "%lld", (long long)r.replaced);
        json_object_set_new(summary, "manifests-replaced", json_string(text));
    }
    json_object_set_new(summary, "engine-name", json_string("tarn"));
    {
        struct tn_snapshot_new sn = {
            .id = snapshot_id,
            .parent_id = cur->id,
            .sequence_number = seq,
            .timestamp_ms = tn_now_ms() > m->last_updated_ms ? tn_now_ms() : m->last_updated_ms + 1,
            .schema_id = m->current_schema_id,
            .manifest_list = list_path,
            .summary = summary,
            .branch = NULL,
            .has_row_lineage = m->format_version >= 3,
            .first_row_id = m->next_row_id,
            .added_rows = added_row_ids,
        };
        tn_updates_add_snapshot(updates, &sn, NULL);
    }
    *done = 1;
    res->manifests_after = (int64_t)r.nlist;
    res->snapshot_id = snapshot_id;
out:
    rewrite_release(&r);
    tn_manifest_files_free(mf, n);
    json_decref(summary);
    free(idx);
    free(seen);
    free(list_path);
    free(list_data);
    return rc;
}

int tn_table_rewrite_manifests(struct tn_warehouse *wh, const char *ns, const char *name,
                               struct tn_rewrite_manifests_result *res, struct tn_err *err)
{
    struct rewrite_ctx ctx = {res, 0};
    struct tn__change c;
    struct tn_table *t = NULL;
    int rc;

    memset(res, 0, sizeof(*res));
    rc = tn_table_load(wh, ns, name, &t, err);
    if (!rc)
        rc = tn__check_writable(t, err);
    if (!rc) {
        /* a lost race merges the newer version's manifests too */
        memset(&c, 0, sizeof(c));
        c.ns = ns;
        c.name = name;
        c.base = t;
        c.stage = rewrite_attempt;
        c.ctx = &ctx;
        c.skip_if_unchanged = 1;
        rc = tn__commit(wh, &c, 1, err);
    }
    tn_table_free(t);
    return rc;
}

/*---- remove_orphans ----*/

/* "uri" in the one spelling listings use: file:/x, file:///x -> file:///x; s3a://, s3n:// ->
 * s3://. Caller frees. */
static char *normalise_uri(const char *uri)
{
    const char *p = uri;

    if (strncmp(p, "file:", 5) == 0) {
        p += 5;
        while (p[0] == '/' && p[1] == '/')
            p++;
        return tn_asprintf("file://%s", p);
    }
    if (strncmp(p, "s3a://", 6) == 0 || strncmp(p, "s3n://", 6) == 0)
        return tn_asprintf("s3://%s", p + 6);
    return tn_strdup(uri);
}

/* A location of table "t" (its path map applied), normalised. Caller frees. */
static char *normalise(const struct tn_table *t, const char *location)
{
    char *resolved = tn_table_resolve(t, location);
    char *out = normalise_uri(resolved);

    free(resolved);
    return out;
}

/* TN_EINPUT unless the table's files live inside the warehouse: a registered table may point
 * at a folder that holds other things too. */
static int inside_warehouse(struct tn_warehouse *wh, const struct tn_table *t, const char *location,
                            struct tn_err *err)
{
    char *root = normalise_uri(tn_storage_root_uri(wh->storage));
    char *loc = normalise(t, location);
    size_t n = strlen(root);
    int rc = 0;

    while (n && root[n - 1] == '/')
        root[--n] = '\0';
    if (strncmp(loc, root, n) != 0 || loc[n] != '/')
        rc = tn_fail(err, TN_EINPUT,
                     "table %s.%s lives at %s, outside the warehouse %s; remove_orphans only "
                     "cleans folders the warehouse owns",
                     t->ns, t->name, location, root);
    free(root);
    free(loc);
    return rc;
}

static void reference(const struct tn_table *t, json_t *refs, const char *location)
{
    char *n;

    if (!location)
        return;
    n = normalise(t, location);
    json_object_set_new(refs, n, json_true());
    free(n);
}

/* Every file the metadata of "t" reaches: metadata files in its log, statistics files, and
 * every snapshot's manifest list, manifests and their data and delete files (any status).
 * Unlike expiry, any unreadable manifest is an error: guessing would delete live files. */
static int referenced_files(struct tn_warehouse *wh, const struct tn_table *t, json_t *refs,
                            struct tn_err *err)
{
    const char *stats_keys[] = {"statistics", "partition-statistics"};
    json_t *seen_manifests = json_object(), *e;
    size_t i;
    int rc = 0;

    reference(t, refs, t->metadata_location);
    json_array_foreach(json_object_get(t->meta->root, "metadata-log"), i, e)
        reference(t, refs, json_string_value(json_object_get(e, "metadata-file")));
    for (size_t k = 0; k < 2; k++)
        json_array_foreach(json_object_get(t->meta->root, stats_keys[k]), i, e)
            reference(t, refs, json_string_value(json_object_get(e, "statistics-path")));
    for (size_t s = 0; !rc && s < t->meta->nsnapshots; s++) {
        const struct tn_snapshot *snap = &t->meta->snapshots[s];
        struct tn_manifest_file *list = NULL;
        size_t n = 0;

        reference(t, refs, snap->manifest_list);
        rc = tn_table_manifests(wh, t, snap->id, &list, &n, err);
        for (size_t m = 0; !rc && m < n; m++) {
            struct tn_manifest_entry *entries = NULL;
            size_t ne = 0;
            reference(t, refs, list[m].path);
            if (json_object_get(seen_manifests, list[m].path))
                continue; /* shared by many snapshots: read once */
            json_object_set_new(seen_manifests, list[m].path, json_true());
            rc = tn_table_read_manifest(wh, t, &list[m], &entries, &ne, err);
            for (size_t k = 0; !rc && k < ne; k++)
                reference(t, refs, entries[k].file.file_path);
            tn_manifest_entries_free(entries, ne);
        }
        tn_manifest_files_free(list, n);
    }
    json_decref(seen_manifests);
    if (rc)
        tn_err_prefix(err, "remove_orphans: reading the table's metadata: ");
    return rc;
}

/* TN_ECONFLICT when another table of the catalog keeps its metadata under "location": its
 * files would look like orphans of this one. */
static int location_shared(struct tn_warehouse *wh, const struct tn_table *t, const char *location,
                           struct tn_err *err)
{
    struct tn_catalog_entry *e = NULL;
    size_t n = 0, len = strlen(location);
    int rc = tn_catalog_list(wh->catalog, NULL, &e, &n, err);

    for (size_t i = 0; !rc && i < n; i++) {
        if (strcmp(e[i].ns, t->ns) == 0 && strcmp(e[i].table, t->name) == 0)
            continue;
        if (e[i].metadata_location && strncmp(e[i].metadata_location, location, len) == 0 &&
            e[i].metadata_location[len] == '/')
            rc = tn_fail(err, TN_ECONFLICT,
                         "table %s.%s keeps its files under %s too; remove_orphans would delete "
                         "them, so it refuses to run on %s.%s",
                         e[i].ns, e[i].table, location, t->ns, t->name);
    }
    tn_catalog_entries_free(e, n);
    return rc;
}

int tn_table_remove_orphans(struct tn_warehouse *wh, const char *ns, const char *name,
                            int64_t older_than_ms, int dry_run, struct tn_orphans_result *res,
                            struct tn_err *err)
{
    struct tn_table *t = NULL, *now = NULL;
    struct tn_storage_entry *files = NULL;
    const char **doomed = NULL;
    json_t *refs = json_object();
    char *prefix = NULL, *location = NULL, *listed = NULL;
    size_t nfiles = 0, ndoomed = 0;
    int rc;

    memset(res, 0, sizeof(*res));
    res->paths = json_array();
    rc = tn_table_load(wh, ns, name, &t, err);
    if (!rc)
        rc = tn__check_writable(t, err);
    if (rc)
        goto out;
    location = tn_strdup(t->meta->location);
    while (*location && location[strlen(location) - 1] == '/')
        location[strlen(location) - 1] = '\0';
    rc = inside_warehouse(wh, t, location, err);
    if (!rc)
        rc = location_shared(wh, t, location, err);
    if (rc)
        goto out;
    /* list first: whatever commits after the listing began is in the metadata read next */
    prefix = tn_asprintf("%s/", location);
    listed = tn_table_resolve(t, prefix);
    rc = tn_storage_list(wh->storage, listed, &files, &nfiles, err);
    if (!rc)
        rc = tn_table_load(wh, ns, name, &now, err);
    if (!rc)
        rc = referenced_files(wh, t, refs, err);
    if (!rc)
        rc = referenced_files(wh, now, refs, err);
    if (rc)
        goto out;
    doomed = tn_calloc(nfiles + 1, sizeof(*doomed));
    for (size_t i = 0; i < nfiles; i++) {
        char *n = normalise(now, files[i].uri);
        int orphan = !json_object_get(refs, n);
        free(n);
        /* the table's Delta log and deletion vectors: no Iceberg metadata names them */
        if (!orphan || tn_delta_owns(listed, files[i].uri))
            continue;
        /* a file of unknown age, or younger than the margin, may belong to a commit still
           under way */
        if (files[i].mtime_ms < 0 || files[i].mtime_ms >= older_than_ms) {
            res->files_too_new++;
            continue;
        }
        res->files_found++;
        res->bytes += files[i].size > 0 ? files[i].size : 0;
        if (json_array_size(res->paths) < ORPHAN_PATHS_MAX)
            json_array_append_new(res->paths, json_string(files[i].uri));
        doomed[ndoomed++] = files[i].uri;
    }
    if (!dry_run && ndoomed) {
        rc = tn_storage_delete_many(wh->storage, doomed, ndoomed, err);
        if (rc)
            tn_err_prefix(err, "remove_orphans: ");
        else
            res->files_deleted = (int64_t)ndoomed;
    }
    if (!rc && !dry_run) { /* what failed uploads that could not be aborted left behind */
        char *resolved = tn_table_resolve(now, prefix);
        rc = tn_storage_abort_uploads(wh->storage, resolved, older_than_ms, &res->uploads_aborted,
                                      err);
        free(resolved);
        if (rc)
            tn_err_prefix(err, "remove_orphans: ");
    }
out:
    free(doomed);
    tn_storage_entries_free(files, nfiles);
    json_decref(refs);
    free(prefix);
    free(listed);
    free(location);
    tn_table_free(t);
    tn_table_free(now);
    return rc;
}

void tn_orphans_result_release(struct tn_orphans_result *res)
{
    json_decref(res->paths);
    res->paths = NULL;
}

/*---- rewrite_metadata ----*/

static int keep_all(const struct tn_table *t, void *ctx, json_t *updates, struct tn_err *err)
{
    (void)t;
    (void)updates;
    (void)ctx;
    (void)err;
    return 0; /* the commit itself trims the log (and deletes what it dropped) */
}

int tn_table_rewrite_metadata(struct tn_warehouse *wh, const char *ns, const char *name,
                              struct tn_rewrite_metadata_result *res, struct tn_err *err)
{
    struct tn_table *before = NULL, *after = NULL;
    int rc;

    memset(res, 0, sizeof(*res));
    rc = tn_table_load(wh, ns, name, &before, err);
    if (!rc)
        rc = tn__check_writable(before, err);
    if (!rc)
        rc = tn__commit_metadata(wh, ns, name, keep_all, NULL, err);
    if (!rc)
        rc = tn_table_load(wh, ns, name, &after, err);
    if (!rc) {
        size_t kept = json_array_size(json_object_get(after->meta->root, "metadata-log"));
        size_t had = json_array_size(json_object_get(before->meta->root, "metadata-log")) + 1;
        res->log_entries = (int64_t)kept;
        res->log_entries_dropped = had > kept ? (int64_t)(had - kept) : 0;
        res->files_deleted = 0;
        {
            /* what the dropped entries named and storage no longer holds */
            json_t *log = json_object_get(before->meta->root, "metadata-log"), *e;
            size_t i;
            json_array_foreach(log, i, e)
            {
                const char *f = json_string_value(json_object_get(e, "metadata-file"));
                int64_t size;
                struct tn_err ignored;
                char *resolved;
                if (!f)
                    continue;
                resolved = tn_table_resolve(after, f);
                if (tn_storage_size(wh->storage, resolved, &size, &ignored) == TN_ENOTFOUND)
                    res->files_deleted++;
                free(resolved);
            }
        }
    }
    tn_table_free(before);
    tn_table_free(after);
    return rc;
}
