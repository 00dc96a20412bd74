/* compact.c - compaction: data files that carry deletes, and small data files that share
 * their partition (spec and tuple) with another small file, are read (with their deletes
 * applied) and written again with the table's default spec -- one clean file, or one per
 * partition -- in one "replace" snapshot with the same rows. Delete files that applied only to
 * rewritten files are removed with them (on a format-version 3 table a deletion vector goes
 * with the data file it references). The commit names the snapshot it read, so a
 * concurrent delete or overwrite makes it give up (TN_ECONFLICT) instead of resurrecting rows.
 * Readers of older snapshots are unaffected: nothing is deleted from storage here. */
#include "table/table_int.h"

#include <stdlib.h>
#include <string.h>

#define SMALL_FILE_BYTES (16L * 1024 * 1024)

/* A text naming the partition of data entry "e": its spec id and partition tuple (caller
 * frees). Equal keys mean equal partitions. */
static char *partition_key(const struct tn_manifest_entry *e)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_SQL);

    tn_buf_addf(&b, NULL, "%d", e->spec_id);
    for (size_t i = 0; i < e->file.npartition; i++) {
        const struct tn_pvalue *pv = &e->file.partition[i];
        uint64_t bits;
        memcpy(&bits, &pv->d, sizeof(bits));
        if (pv->is_null) {
            tn_buf_addstr(&b, "|n", NULL);
            continue;
        }
        tn_buf_addf(&b, NULL, "|%d:%lld:%llx:", pv->kind, (long long)pv->i,
                    (unsigned long long)bits);
        for (size_t k = 0; k < pv->bytes.n; k++)
            tn_buf_addf(&b, NULL, "%02x", pv->bytes.p[k]);
    }
    return tn_buf_detach(&b, NULL);
}

int tn_table_compact(struct tn_warehouse *wh, struct tn_session *s, const char *ns,
                     const char *name, int dry_run, struct tn_compact_result *res,
                     struct tn_err *err)
{
    struct tn_table *t = NULL;
    struct tn_scan *scan = NULL, subset;
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_data_file *files = NULL;
    char *chosen = NULL;
    json_t *remove = json_object(), *small_files = json_object();
    size_t nfiles = 0;
    int rc;

    memset(res, 0, sizeof(*res));
    rc = tn_table_load(wh, ns, name, &t, err);
    if (!rc)
        rc = tn__check_writable(t, err);
    if (!rc)
        rc = tn_table_scan(wh, t, -1, &scan, err);
    if (rc)
        goto out;
    res->snapshot_id = t->meta->current_snapshot_id;
    chosen = tn_calloc(scan->ndata + 1, 1);
    /* small files per partition (spec and tuple), counted in one pass */
    for (size_t i = 0; i < scan->ndata; i++) {
        if (scan->data[i].file.file_size < SMALL_FILE_BYTES) {
            char *key = partition_key(&scan->data[i]);
            json_t *n = json_object_get(small_files, key);
            json_object_set_new(small_files, key, json_integer(n ? json_integer_value(n) + 1 : 1));
            free(key);
        }
    }
    for (size_t i = 0; i < scan->ndata; i++) {
        const struct tn_manifest_entry *e = &scan->data[i];
        int has_deletes = 0;
        json_int_t small = 0;
        if (e->file.file_size < SMALL_FILE_BYTES) {
            char *key = partition_key(e);
            small = json_integer_value(json_object_get(small_files, key));
            free(key);
        }
        for (size_t d = 0; d < scan->ndeletes && !has_deletes; d++)
            has_deletes = tn_delete_applies(&scan->deletes[d],
                                            tn_metadata_spec(t->meta, scan->deletes[d].spec_id), e);
        chosen[i] = has_deletes || small > 1;
    }
    tn__scan_subset_init(&subset, scan, t);
    for (size_t i = 0; i < scan->ndata; i++) {
        if (!chosen[i])
            continue;
        subset.data[subset.ndata++] = scan->data[i]; /* shallow */
        json_object_set_new(remove, scan->data[i].file.file_path, json_true());
        res->files_rewritten++;
        res->bytes_rewritten += scan->data[i].file.file_size;
        res->rows += scan->data[i].file.record_count;
    }
    /* delete files that apply to no file that stays */
    for (size_t d = 0; d < scan->ndeletes; d++) {
        int needed = 0;
        for (size_t i = 0; i < scan->ndata && !needed; i++)
            needed =
                !chosen[i] && tn_delete_applies(&scan->deletes[d],
                                                tn_metadata_spec(t->meta, scan->deletes[d].spec_id),
                                                &scan->data[i]);
        if (!needed) {
            json_object_set_new(remove, scan->deletes[d].file.file_path, json_true());
            res->delete_files_removed++;
        }
    }
    if (subset.ndata < 2 && !res->delete_files_removed) {
        /* one clean file is already compact */
        res->files_rewritten = res->bytes_rewritten = res->rows = 0;
        free(subset.data);
        goto out;
    }
    if (dry_run) {
        free(subset.data);
        goto out;
    }
    /* v3: the rows keep their _row_id and _last_updated_sequence_number (stored in the new
       files), since compaction changes no row */
    tn_buf_addstr(&sql, "SELECT * FROM ", NULL);
    rc = tn_scan_sql(wh, t, &subset, tn__lineage_available(t, subset.schema, TN_SCAN_CARRY), &sql,
                     err);
    free(subset.data);
    if (!rc && tn_spec_is_unpartitioned(tn_metadata_spec(t->meta, t->meta->default_spec_id))) {
        files = tn_calloc(1, sizeof(*files));
        rc = tn__write_data_file(wh, s, t, sql.buf, &files[0], err);
        nfiles = rc ? 0 : 1;
        if (!rc && files[0].record_count == 0) {
            tn__discard_file(wh, t, &files[0]); /* every row was deleted: nothing to keep */
            nfiles = 0;
        }
    } else if (!rc) {
        rc = tn__write_partitioned(wh, s, t, sql.buf, &files, &nfiles, err);
    }
    if (!rc) {
        struct tn_row_change c;
        struct tn_commit_result cr;
        memset(&c, 0, sizeof(c));
        c.mode = TN_WRITE_OVERWRITE;
        c.operation = "replace";
        c.read_snapshot = t->meta->current_snapshot_id;
        c.data = files;
        c.ndata = nfiles;
        c.remove = remove;
        rc = tn__commit_rows(wh, t, &c, &cr, err);
        if (!rc) {
            res->snapshot_id = cr.snapshot_id;
            res->rows = cr.rows_added;
            res->files_written = (int64_t)nfiles;
        }
        for (size_t i = 0; rc && i < nfiles; i++)
            tn__discard_file(wh, t, &files[i]);
    }
out:
    for (size_t i = 0; i < nfiles; i++)
        tn_data_file_release(&files[i]);
    free(files);
    json_decref(remove);
    json_decref(small_files);
    free(chosen);
    tn_buf_release(&sql);
    tn_scan_free(scan);
    tn_table_free(t);
    return rc;
}

/*---- Expiring snapshots ----*/

/* The snapshots to keep: every ref's head, and along each branch the ancestors that are
 * newer than "older_than_ms" or among the first "keep_last". */
static json_t *retained_snapshots(const struct tn_metadata *m, int64_t older_than_ms, int keep_last)
{
    json_t *keep = json_object();

    for (size_t r = 0; r < m->nrefs; r++) {
        int64_t id = m->refs[r].snapshot_id;
        int kept = 0;
        for (size_t guard = 0; id != -1 && guard <= m->nsnapshots; guard++) {
            const struct tn_snapshot *s = tn_metadata_snapshot(m, id);
            char key[24];
            if (!s)
                break;
            if (kept > 0 &&
                (m->refs[r].is_tag || (kept >= keep_last && s->timestamp_ms < older_than_ms)))
                break;
            snprintf(key, sizeof(key), "%lld", (long long)id);
            json_object_set_new(keep, key, json_true());
            kept++;
            id = s->parent_id;
        }
    }
    if (m->current_snapshot_id != -1 && m->nrefs == 0) {
        char key[24];
        snprintf(key, sizeof(key), "%lld", (long long)m->current_snapshot_id);
        json_object_set_new(keep, key, json_true());
    }
    return keep;
}

static int is_kept(json_t *keep, int64_t id)
{
    char key[24];
    snprintf(key, sizeof(key), "%lld", (long long)id);
    return json_object_get(keep, key) != NULL;
}

struct expire_ctx {
    int64_t older_than_ms;
    int keep_last;
    int64_t expired;
};

static int expire_build(const struct tn_table *t, void *vctx, json_t *updates, struct tn_err *err)
{
    struct expire_ctx *c = vctx;
    json_t *keep = retained_snapshots(t->meta, c->older_than_ms, c->keep_last);
    json_t *ids = json_array();

    (void)err;
    c->expired = 0;
    for (size_t i = 0; i < t->meta->nsnapshots; i++) {
        if (is_kept(keep, t->meta->snapshots[i].id))
            continue;
        json_array_append_new(ids, json_integer((json_int_t)t->meta->snapshots[i].id));
        c->expired++;
    }
    json_array_append_new(
        updates, json_pack("{s:s, s:o}", "action", "remove-snapshots", "snapshot-ids", ids));
    json_decref(keep);
    return 0;
}

/* Every file a snapshot reaches: its manifest list, manifests and their live files. */
static void reachable_files(struct tn_warehouse *wh, const struct tn_table *t,
                            const struct tn_snapshot *s, json_t *files)
{
    struct tn_manifest_file *list = NULL;
    size_t n = 0;
    struct tn_err ignored;

    if (s->manifest_list)
        json_object_set_new(files, s->manifest_list, json_true());
    if (tn_table_manifests(wh, t, s->id, &list, &n, &ignored))
        return;
    for (size_t i = 0; i < n; i++) {
        struct tn_manifest_entry *e = NULL;
        size_t ne = 0;
        json_object_set_new(files, list[i].path, json_true());
        if (tn_table_read_manifest(wh, t, &list[i], &e, &ne, &ignored))
            continue;
        for (size_t k = 0; k < ne; k++)
            json_object_set_new(files, e[k].file.file_path, json_true());
        tn_manifest_entries_free(e, ne);
    }
    tn_manifest_files_free(list, n);
}

/* The files that only the snapshots of "before" missing from "kept" reach, inside the
 * table's location: what an expiry leaving "kept" deletes ("kept" is the metadata after the
 * commit, or NULL with "keep", the ids a dry run would keep). */
static json_t *doomed_files(struct tn_warehouse *wh, const struct tn_table *before,
                            const struct tn_metadata *kept, json_t *keep)
{
    json_t *old_files = json_object(), *live_files = json_object(), *doomed = json_object();
    size_t loc_len = strlen(before->meta->location);
    const char *path;
    json_t *v;

    for (size_t i = 0; i < before->meta->nsnapshots; i++) {
        const struct tn_snapshot *s = &before->meta->snapshots[i];
        int stays = kept ? tn_metadata_snapshot(kept, s->id) != NULL : is_kept(keep, s->id);
        reachable_files(wh, before, s, stays ? live_files : old_files);
    }
    json_object_foreach(old_files, path, v)
    {
        if (!json_object_get(live_files, path) &&
            strncmp(path, before->meta->location, loc_len) == 0)
            json_object_set_new(doomed, path, json_true());
    }
    json_decref(old_files);
    json_decref(live_files);
    return doomed;
}

static int gc_disabled(const struct tn_table *t)
{
    const char *gc = json_string_value(
        json_object_get(json_object_get(t->meta->root, "properties"), "gc.enabled"));
    return gc && strcmp(gc, "false") == 0;
}

int tn_table_expire(struct tn_warehouse *wh, const char *ns, const char *name,
                    int64_t older_than_ms, int keep_last, int dry_run, struct tn_expire_result *res,
                    struct tn_err *err)
{
    struct expire_ctx ctx = {older_than_ms, keep_last > 0 ? keep_last : 1, 0};
    struct tn_table *before = NULL, *after = NULL;
    json_t *keep = NULL, *doomed = NULL;
    const char *path;
    json_t *v;
    int rc;

    memset(res, 0, sizeof(*res));
    rc = tn_table_load(wh, ns, name, &before, err);
    if (!rc)
        rc = tn__check_writable(before, err);
    if (rc)
        goto out;
    keep = retained_snapshots(before->meta, ctx.older_than_ms, ctx.keep_last);
    if (json_object_size(keep) >= before->meta->nsnapshots)
        goto out; /* nothing to expire */
    if (dry_run) {
        res->snapshots_expired = (int64_t)(before->meta->nsnapshots - json_object_size(keep));
        if (!gc_disabled(before)) {
            doomed = doomed_files(wh, before, NULL, keep);
            res->files_to_delete = (int64_t)json_object_size(doomed);
        }
        goto out;
    }
    rc = tn__commit_metadata(wh, ns, name, expire_build, &ctx, err);
    if (rc)
        goto out;
    res->snapshots_expired = ctx.expired;
    rc = tn_table_load(wh, ns, name, &after, err);
    if (rc || gc_disabled(after))
        goto out;
    doomed = doomed_files(wh, before, after->meta, NULL);
    json_object_foreach(doomed, path, v)
    {
        struct tn_err ignored;
        char *resolved = tn_table_resolve(after, path);
        if (!tn_storage_delete(wh->storage, resolved, &ignored)) {
            res->files_deleted++;
        } else {
            if (!res->not_deleted)
                res->not_deleted = json_array();
            json_array_append_new(res->not_deleted, json_string(path));
        }
        free(resolved);
    }
out:
    json_decref(keep);
    json_decref(doomed);
    tn_table_free(before);
    tn_table_free(after);
    return rc;
}

void tn_expire_result_release(struct tn_expire_result *res)
{
    json_decref(res->not_deleted);
    res->not_deleted = NULL;
}
