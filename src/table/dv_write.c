/* dv_write.c - the row-level deletes of a format-version 3 table, written as deletion vectors:
 * for every data file that loses rows, one deletion-vector-v1 blob holding all of its deleted
 * positions -- the new ones together with those of the vector it already has, since a data file
 * may have at most one live vector -- and those of the position-delete files a table upgraded
 * from v2 may still have for it (readers may ignore those once a vector exists), all blobs of
 * a change in one Puffin file. The delete
 * entries made here are committed by the caller through tn__commit_rows, which removes the
 * vectors they replace in the same snapshot (tn_row_change.replaced_dvs). */
#include "table_int.h"

#include <stdlib.h>
#include <string.h>

int tn__is_dv(const struct tn_data_file *f)
{
    return f->content == 1 && f->content_size > 0 && f->content_offset >= 0 &&
           f->referenced_data_file;
}

/* The positions of one data file being collected, ascending. */
struct file_positions {
    char *path;
    int64_t *pos;
    size_t n, cap;
};

static void add_position(struct file_positions *fp, int64_t v)
{
    if (fp->n == fp->cap) {
        fp->cap = fp->cap ? 2 * fp->cap : 256;
        fp->pos = tn_realloc(fp->pos, fp->cap * sizeof(*fp->pos));
    }
    fp->pos[fp->n++] = v;
}

/* The ascending union of "a" and "b" (both ascending) in *out (caller frees). */
static size_t merge_positions(const int64_t *a, size_t na, const int64_t *b, size_t nb,
                              int64_t **out)
{
    int64_t *m = tn_malloc((na + nb + 1) * sizeof(*m));
    size_t i = 0, j = 0, n = 0;

    while (i < na || j < nb) {
        if (j == nb || (i < na && a[i] < b[j]))
            m[n++] = a[i++];
        else if (i == na || b[j] < a[i])
            m[n++] = b[j++];
        else {
            m[n++] = a[i++];
            j++;
        }
    }
    *out = m;
    return n;
}

/* Copy the partition tuple of "from" into "to" (a delete file takes its data file's). */
void tn__copy_partition(const struct tn_data_file *from, struct tn_data_file *to)
{
    to->npartition = from->npartition;
    to->partition = tn_calloc(from->npartition + 1, sizeof(*to->partition));
    for (size_t i = 0; i < from->npartition; i++) {
        to->partition[i] = from->partition[i];
        if (from->partition[i].bytes.p) {
            to->partition[i].bytes.p = tn_malloc(from->partition[i].bytes.n + 1);
            memcpy(to->partition[i].bytes.p, from->partition[i].bytes.p,
                   from->partition[i].bytes.n);
        }
    }
}

/* What is being built: the Puffin file and the delete entries of its blobs. */
struct dv_batch {
    struct tn_puffin_writer w;
    struct tn_data_file *files;
    int *specs;
    size_t n, cap;
};

/* Close the positions of one data file: the blob of their union with its live vector, and the
 * delete entry that points at it. */
static int flush_file(struct tn_warehouse *wh, const struct tn_table *t, const struct tn_scan *scan,
                      struct file_positions *fp, struct dv_batch *b, json_t *replaced,
                      struct tn_err *err)
{
    const struct tn_manifest_entry *data = NULL, *old = NULL;
    int64_t *all = NULL, *old_pos = NULL;
    size_t nall, nold = 0;
    struct tn_data_file *f;
    int rc = 0;

    for (size_t i = 0; i < scan->ndata && !data; i++)
        if (strcmp(scan->data[i].file.file_path, fp->path) == 0)
            data = &scan->data[i];
    if (!data)
        return tn_fail(err, TN_EINTERNAL,
                       "table %s.%s: a deletion vector for %s, which is not a live data file",
                       t->ns, t->name, fp->path);
    for (size_t d = 0; d < scan->ndeletes && !old; d++)
        if (tn__is_dv(&scan->deletes[d].file) &&
            strcmp(scan->deletes[d].file.referenced_data_file, fp->path) == 0)
            old = &scan->deletes[d];
    if (old)
        rc = tn__dv_read(wh, t, old, &old_pos, &nold, err);
    if (rc)
        return rc;
    nall = merge_positions(fp->pos, fp->n, old_pos, nold, &all);
    free(old_pos);
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 8;
        b->files = tn_realloc(b->files, b->cap * sizeof(*b->files));
        b->specs = tn_realloc(b->specs, b->cap * sizeof(*b->specs));
    }
    f = &b->files[b->n];
    memset(f, 0, sizeof(*f));
    rc = tn_puffin_add_dv(&b->w, fp->path, all, nall, &f->content_offset, &f->content_size, err);
    free(all);
    if (rc)
        return rc;
    f->content = 1;
    f->file_format = tn_strdup("PUFFIN");
    f->record_count = (int64_t)nall;
    f->referenced_data_file = tn_strdup(fp->path);
    f->sort_order_id = -1;
    tn__copy_partition(&data->file, f);
    b->specs[b->n++] = data->spec_id;
    if (old)
        json_object_set_new(replaced, fp->path, json_true());
    return 0;
}

/* Append to "sql" (inside the union over the CTE p of new positions) the positions that the
 * table's position-delete files give the data files in p. */
static int add_position_delete_files(struct tn_warehouse *wh, const struct tn_table *t,
                                     const struct tn_scan *scan, struct tn_buf *sql,
                                     struct tn_err *err)
{
    size_t n = 0;
    int rc = 0;

    for (size_t d = 0; !rc && d < scan->ndeletes; d++) {
        const struct tn_data_file *f = &scan->deletes[d].file;
        if (f->content != 1 || tn__is_dv(f))
            continue;
        tn_buf_addstr(sql, n++ ? ", " : " UNION SELECT file_path, pos FROM read_parquet([", NULL);
        rc = tn__scan_local_path(wh, t, f->file_path, sql, err);
    }
    if (n)
        tn_buf_addstr(sql,
                      "], schema = MAP {2147483546: {name: 'file_path', type: 'VARCHAR', "
                      "default_value: NULL::VARCHAR}, 2147483545: {name: 'pos', type: 'BIGINT', "
                      "default_value: NULL::VARCHAR}}, hive_partitioning = false) WHERE file_path "
                      "IN (SELECT _tn_file FROM p)",
                      NULL);
    return rc;
}

int tn__write_deletion_vectors(struct tn_warehouse *wh, struct tn_session *s,
                               const struct tn_table *t, const struct tn_scan *scan,
                               const char *positions_sql, struct tn_data_file **deletes,
                               int **specs, size_t *ndeletes, json_t *replaced, struct tn_err *err)
{
    struct dv_batch b;
    struct file_positions fp = {0};
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_stream *st = NULL;
    char *uri = NULL, *resolved = NULL;
    size_t n;
    int rc;

    memset(&b, 0, sizeof(b));
    tn_puffin_writer_init(&b.w);
    tn_buf_addf(&sql, NULL,
                "WITH p AS (SELECT DISTINCT _tn_file, _tn_pos FROM (%s)) SELECT _tn_file, "
                "CAST(_tn_pos AS VARCHAR) FROM (SELECT * FROM p",
                positions_sql);
    rc = add_position_delete_files(wh, t, scan, &sql, err);
    tn_buf_addstr(&sql, ") ORDER BY _tn_file, _tn_pos", NULL);
    if (!rc)
        rc = tn_stream_open(s, sql.buf, &st, err);
    while (!rc && !(rc = tn_stream_next(st, &n, err)) && n > 0) {
        for (size_t r = 0; !rc && r < n; r++) {
            size_t len = 0, pos_len = 0;
            const char *file = tn_stream_cell(st, r, 0, &len);
            const char *pos = tn_stream_cell(st, r, 1, &pos_len);
            int64_t v;
            if (!file || !pos || tn_parse_i64(pos, &v) || v < 0) {
                rc = tn_fail(err, TN_EINTERNAL, "a row to delete without a file or position");
                break;
            }
            if (fp.path && (strlen(fp.path) != len || memcmp(fp.path, file, len) != 0)) {
                rc = flush_file(wh, t, scan, &fp, &b, replaced, err);
                free(fp.path);
                fp.path = NULL;
                fp.n = 0;
            }
            if (!fp.path)
                fp.path = tn_strndup(file, len);
            if (!rc)
                add_position(&fp, v);
        }
    }
    tn_stream_close(st);
    if (!rc && fp.path)
        rc = flush_file(wh, t, scan, &fp, &b, replaced, err);
    if (!rc && b.n) {
        tn_puffin_finish(&b.w);
        uri = tn__new_file_location(t, "-deletes.puffin");
        resolved = tn_table_resolve(t, uri);
        rc = tn_storage_write(wh->storage, resolved, b.w.bytes.buf, b.w.bytes.len, err);
    }
    if (!rc && b.n) {
        *deletes = tn_realloc(*deletes, (*ndeletes + b.n) * sizeof(**deletes));
        *specs = tn_realloc(*specs, (*ndeletes + b.n) * sizeof(**specs));
        for (size_t i = 0; i < b.n; i++) {
            b.files[i].file_path = tn_strdup(uri);
            b.files[i].file_size = (int64_t)b.w.bytes.len;
            (*deletes)[*ndeletes + i] = b.files[i]; /* the contents move */
            (*specs)[*ndeletes + i] = b.specs[i];
        }
        *ndeletes += b.n;
        b.n = 0;
    }
    for (size_t i = 0; i < b.n; i++)
        tn_data_file_release(&b.files[i]);
    free(b.files);
    free(b.specs);
    free(fp.path);
    free(fp.pos);
    tn_puffin_writer_release(&b.w);
    tn_buf_release(&sql);
    free(uri);
    free(resolved);
    return rc;
}
