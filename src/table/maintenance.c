/* maintenance.c - compaction: data files that carry deletes, and small data files, are read
 * (with their deletes applied) and written again as one clean file, in one "replace" snapshot
 * with the same rows. Delete files that applied only to rewritten files are removed with
 * them. Readers of older snapshots are unaffected: nothing is deleted from storage here. */
#include "table_int.h"

#include <stdlib.h>
#include <string.h>

#define SMALL_FILE_BYTES (16L * 1024 * 1024)

int tn_table_compact(struct tn_warehouse *wh, struct tn_session *s, const char *ns,
                     const char *name, struct tn_compact_result *res, struct tn_err *err)
{
    struct tn_table *t = NULL;
    struct tn_scan *scan = NULL, subset;
    struct tn_buf sql = TN_BUF_INIT(0);
    struct tn_data_file file;
    char *chosen = NULL;
    json_t *remove = json_object();
    size_t small = 0;
    int rc;

    memset(res, 0, sizeof(*res));
    memset(&file, 0, sizeof(file));
    rc = tn_table_load(wh, ns, name, &t, err);
    if (!rc)
        rc = tn__check_writable(t, err);
    if (!rc)
        rc = tn_table_scan(wh, t, -1, &scan, err);
    if (rc)
        goto out;
    res->snapshot_id = t->meta->current_snapshot_id;
    chosen = tn_calloc(scan->ndata + 1, 1);
    for (size_t i = 0; i < scan->ndata; i++)
        small += scan->data[i].file.file_size < SMALL_FILE_BYTES;
    for (size_t i = 0; i < scan->ndata; i++) {
        const struct tn_manifest_entry *e = &scan->data[i];
        int has_deletes = 0;
        for (size_t d = 0; d < scan->ndeletes && !has_deletes; d++)
            has_deletes = tn_delete_applies(&scan->deletes[d],
                                            tn_metadata_spec(t->meta, scan->deletes[d].spec_id),
                                            e);
        chosen[i] = has_deletes || (small > 1 && e->file.file_size < SMALL_FILE_BYTES);
    }
    memset(&subset, 0, sizeof(subset));
    subset.schema = tn_metadata_current_schema(t->meta);
    subset.snapshot_id = scan->snapshot_id;
    subset.data = tn_calloc(scan->ndata + 1, sizeof(*subset.data));
    subset.deletes = scan->deletes;
    subset.ndeletes = scan->ndeletes;
    for (size_t i = 0; i < scan->ndata; i++) {
        if (!chosen[i])
            continue;
        subset.data[subset.ndata++] = scan->data[i]; /* shallow */
        json_object_set_new(remove, scan->data[i].file.file_path, json_true());
        res->files_rewritten++;
    }
    /* delete files that apply to no file that stays */
    for (size_t d = 0; d < scan->ndeletes; d++) {
        int needed = 0;
        for (size_t i = 0; i < scan->ndata && !needed; i++)
            needed = !chosen[i] && tn_delete_applies(&scan->deletes[d],
                                                     tn_metadata_spec(t->meta,
                                                                      scan->deletes[d].spec_id),
                                                     &scan->data[i]);
        if (!needed) {
            json_object_set_new(remove, scan->deletes[d].file.file_path, json_true());
            res->delete_files_removed++;
        }
    }
    if (subset.ndata < 2 && !res->delete_files_removed) {
        /* one clean file is already compact */
        res->files_rewritten = 0;
        free(subset.data);
        goto out;
    }
    tn_buf_addstr(&sql, "SELECT * FROM ", NULL);
    rc = tn_scan_sql(wh, t, &subset, 0, &sql, err);
    free(subset.data);
    if (!rc)
        rc = tn__write_data_file(wh, s, t, sql.buf, &file, err);
    if (!rc && file.record_count == 0)
        tn__discard_file(wh, t, &file); /* every row was deleted: nothing to keep */
    if (!rc) {
        struct tn_row_change c;
        struct tn_commit_result cr;
        memset(&c, 0, sizeof(c));
        c.mode = TN_WRITE_OVERWRITE;
        c.operation = "replace";
        c.read_snapshot = t->meta->current_snapshot_id;
        c.data = &file;
        c.ndata = file.record_count ? 1 : 0;
        c.remove = remove;
        rc = tn__commit_rows(wh, ns, name, &c, &cr, err);
        if (!rc) {
            res->snapshot_id = cr.snapshot_id;
            res->rows = file.record_count;
        } else {
            tn__discard_file(wh, t, &file);
        }
    }
out:
    tn_data_file_release(&file);
    json_decref(remove);
    free(chosen);
    tn_buf_release(&sql);
    tn_scan_free(scan);
    tn_table_free(t);
    return rc;
}
