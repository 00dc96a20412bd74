/* dml.c - row-level changes without rewriting data: DELETE, UPDATE and keyed upsert, written
 * merge-on-read as Iceberg v2 position-delete files (file_path, pos) that list only the
 * changed rows -- on a format-version 3 table as deletion vectors instead (dv_write.c) --, plus
 * new data files for updated and inserted rows, in one snapshot. On a
 * partitioned table (any spec, several specs too) each delete file covers the data files of
 * one partition and carries their spec id and partition tuple, as Iceberg requires, and new
 * rows go through the partitioned writer with the default spec.
 *
 * The rows to change are found by DuckDB itself: the statement's target is read with each
 * row's identity (_tn_file, _tn_pos; see TN_SCAN_ROW_ID) and the statement's own WHERE, USING,
 * FROM and SET expressions run unchanged in a SELECT over it, so subqueries, joins and
 * expressions mean exactly what they mean in DuckDB. Only the statement's head (the target,
 * its alias, the SET list's column names) is read here. Every set of positions or keys lives in
 * DuckDB (which spills to disk), never in C arrays. */
#include "table/table_int.h"

#include "delta/publish.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*---- Position-delete files ----*/

/* (see table_int.h) */
int tn__write_position_deletes(struct tn_warehouse *wh, struct tn_session *s,
                               const struct tn_table *t, const char *positions_sql,
                               struct tn_data_file *out, struct tn_err *err)
{
    char *uri = tn__new_file_location(t, "-deletes.parquet");
    char *resolved = tn_table_resolve(t, uri);
    char *path = NULL;
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_rows *r = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (t->meta->format_version >= 3) {
        /* v3 forbids position-delete files: its row-level deletes are deletion vectors */
        rc = tn_fail(err, TN_EINTERNAL,
                     "table %s.%s is Iceberg format version 3, whose row-level deletes are "
                     "deletion vectors, not position-delete files",
                     t->ns, t->name);
        goto out;
    }
    rc = tn_storage_stage_path(wh->storage, resolved, &path, err);
    if (rc)
        goto out;
    /* tarn writes the file: DuckDB's writer cannot make the columns REQUIRED */
    tn_buf_addf(&sql, NULL,
                "SELECT file_path, CAST(pos AS VARCHAR) AS pos_text FROM (SELECT DISTINCT "
                "_tn_file AS file_path, _tn_pos AS pos FROM (%s)) ORDER BY file_path, pos",
                positions_sql);
    rc = tn__write_position_parquet(s, sql.buf, path, &out->record_count, err);
    if (rc)
        goto out;
    if (out->record_count == 0)
        goto out;
    /* statistics: one referenced data file lets readers skip the file for all others */
    tn_buf_reset(&sql);
    tn_buf_addstr(&sql,
                  "SELECT count(DISTINCT file_path), min(file_path), max(file_path), "
                  "min(pos), max(pos) FROM read_parquet(",
                  NULL);
    tn_sql_string(&sql, path);
    tn_buf_addstr(&sql, ")", NULL);
    rc = tn_engine_rows(s, sql.buf, 1, &r, err);
    if (!rc) { /* split offsets: where each row group starts, as for data files */
        struct tn_parquet_footer pf;
        rc = tn_parquet_footer_read(path, &pf, err);
        out->split_offsets = rc ? NULL : tn_calloc(pf.nrow_groups + 1, sizeof(int64_t));
        for (size_t g = 0; !rc && g < pf.nrow_groups && pf.nleaves; g++) {
            const struct tn_parquet_chunk *first = &pf.chunks[g * pf.nleaves];
            out->split_offsets[out->nsplit_offsets++] = first->dictionary_page_offset >= 0
                                                            ? first->dictionary_page_offset
                                                            : first->data_page_offset;
        }
        if (!rc)
            tn_parquet_footer_release(&pf);
    }
    if (!rc)
        rc = tn_storage_publish(wh->storage, resolved, path, err);
    if (!rc)
        rc = tn_storage_size(wh->storage, resolved, &out->file_size, err);
    if (rc)
        goto out;
    out->content = 1;
    out->file_path = uri;
    uri = NULL;
    out->file_format = tn_strdup("PARQUET");
    out->sort_order_id = -1;
    if (strcmp(tn_rows_get(r, 0, 0), "1") == 0)
        out->referenced_data_file = tn_strdup(tn_rows_get(r, 0, 1));
    out->value_counts = tn_calloc(2, sizeof(*out->value_counts));
    out->null_counts = tn_calloc(2, sizeof(*out->null_counts));
    out->lower = tn_calloc(2, sizeof(*out->lower));
    out->upper = tn_calloc(2, sizeof(*out->upper));
    for (int i = 0; i < 2; i++) {
        int id = i ? 2147483545 : 2147483546;
        out->value_counts[i] = (struct tn_id_long){id, out->record_count};
        out->null_counts[i] = (struct tn_id_long){id, 0};
        out->lower[i].id = out->upper[i].id = id;
        if (i == 0) {
            out->lower[i].value.n = strlen(tn_rows_get(r, 0, 1));
            out->lower[i].value.p = (unsigned char *)tn_strdup(tn_rows_get(r, 0, 1));
            out->upper[i].value.n = strlen(tn_rows_get(r, 0, 2));
            out->upper[i].value.p = (unsigned char *)tn_strdup(tn_rows_get(r, 0, 2));
        } else {
            int64_t lo = 0, hi = 0;
            tn_parse_i64(tn_rows_get(r, 0, 3), &lo);
            tn_parse_i64(tn_rows_get(r, 0, 4), &hi);
            out->lower[i].value.p = tn_malloc(8);
            out->upper[i].value.p = tn_malloc(8);
            out->lower[i].value.n = out->upper[i].value.n = 8;
            for (int b = 0; b < 8; b++) {
                out->lower[i].value.p[b] = (unsigned char)((uint64_t)lo >> (8 * b));
                out->upper[i].value.p[b] = (unsigned char)((uint64_t)hi >> (8 * b));
            }
        }
    }
    out->nvalue_counts = out->nnull_counts = out->nlower = out->nupper = 2;
out:
    if (rc || out->record_count == 0) {
        struct tn_err ignored;
        tn_storage_delete(wh->storage, resolved, &ignored);
        if (rc)
            tn_data_file_release(out);
    }
    tn_rows_free(r);
    tn_buf_release(&sql);
    free(uri);
    free(resolved);
    free(path);
    return rc;
}

/* Whether "t" may take a row-level change (format 2, or 3 with deletion vectors; partitioned
 * ones included). */
static int check_changeable(const struct tn_table *t, struct tn_err *err)
{
    return tn__check_writable(t, err) ? err->code : 0;
}

/* Write the rows of "select_sql" as new data files of "t" with its default spec: one file, or
 * one per partition. Files without rows are not kept. The files are added to *files. */
static int write_rows(struct tn_warehouse *wh, struct tn_session *s, const struct tn_table *t,
                      const char *select_sql, struct tn_data_file **files, size_t *nfiles,
                      struct tn_err *err)
{
    struct tn_data_file *v = NULL, one;
    size_t n = 0;
    int rc;

    if (tn_spec_is_unpartitioned(tn_metadata_spec(t->meta, t->meta->default_spec_id))) {
        rc = tn__write_data_file(wh, s, t, select_sql, &one, err);
        if (rc)
            return rc;
        if (one.record_count == 0) {
            tn__discard_file(wh, t, &one);
            return 0;
        }
        v = &one;
        n = 1;
    } else {
        rc = tn__write_partitioned(wh, s, t, select_sql, &v, &n, err);
        if (rc)
            return rc;
    }
    *files = tn_realloc(*files, (*nfiles + n + 1) * sizeof(**files));
    memcpy(*files + *nfiles, v, n * sizeof(*v)); /* the contents move */
    *nfiles += n;
    if (v != &one)
        free(v);
    return 0;
}

/* Position deletes for the rows of "keep_sql" (_tn_file, _tn_pos): one delete file per
 * partition (spec and tuple) of the data files they are in, carrying that spec and tuple as
 * Iceberg requires; on a v3 table one deletion vector per data file instead, the data files
 * whose old vector they replace added to "replaced". The files go to *deletes (their specs to
 * *specs). */
static int write_deletes(struct tn_warehouse *wh, struct tn_session *s, const struct tn_table *t,
                         const struct tn_scan *scan, const struct tn_rows *counts, json_t *remove,
                         const char *keep_sql, struct tn_data_file **deletes, int **specs,
                         size_t *ndeletes, json_t *replaced, struct tn_err *err)
{
    const struct tn_manifest_entry **touched = tn_calloc(counts->nrows + 1, sizeof(*touched));
    char *done = tn_calloc(counts->nrows + 1, 1);
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    size_t nt = 0;
    int rc = 0;

    if (t->meta->format_version >= 3) {
        free(touched);
        free(done);
        return tn__write_deletion_vectors(wh, s, t, scan, keep_sql, deletes, specs, ndeletes,
                                          replaced, err);
    }
    /* the data entries the positions are in, except files that go whole */
    for (size_t r = 0; r < counts->nrows; r++) {
        const char *path = tn_rows_get(counts, r, 0);
        if (json_object_get(remove, path))
            continue;
        for (size_t i = 0; i < scan->ndata; i++)
            if (strcmp(scan->data[i].file.file_path, path) == 0) {
                touched[nt++] = &scan->data[i];
                break;
            }
    }
    for (size_t i = 0; !rc && i < nt; i++) {
        struct tn_data_file d;
        if (done[i])
            continue;
        tn_buf_reset(&q);
        tn_buf_addf(&q, NULL, "SELECT * FROM (%s) WHERE _tn_file IN (''", keep_sql);
        for (size_t k = i; k < nt; k++) {
            if (done[k] || touched[k]->spec_id != touched[i]->spec_id ||
                !tn_partition_equal(&touched[k]->file, &touched[i]->file))
                continue;
            done[k] = 1;
            tn_buf_addstr(&q, ", ", NULL);
            tn_sql_string(&q, touched[k]->file.file_path);
        }
        tn_buf_addstr(&q, ")", NULL);
        rc = tn__write_position_deletes(wh, s, t, q.buf, &d, err);
        if (rc || d.record_count == 0)
            continue;
        tn__copy_partition(&touched[i]->file, &d);
        *deletes = tn_realloc(*deletes, (*ndeletes + 1) * sizeof(**deletes));
        *specs = tn_realloc(*specs, (*ndeletes + 1) * sizeof(**specs));
        (*deletes)[*ndeletes] = d;
        (*specs)[*ndeletes] = touched[i]->spec_id;
        (*ndeletes)++;
    }
    tn_buf_release(&q);
    free(touched);
    free(done);
    return rc;
}

/* The snapshot a change of "branch" (NULL: main) starts from; TN_ENOTFOUND when there is no
 * such branch. */
static int head_of(const struct tn_table *t, const char *branch, int64_t *out, struct tn_err *err)
{
    const struct tn_ref *ref;

    *out = t->meta->current_snapshot_id;
    if (!branch || strcmp(branch, "main") == 0)
        return 0;
    ref = tn_metadata_ref(t->meta, branch);
    if (!ref || ref->is_tag)
        return tn_fail(err, TN_ENOTFOUND, "table %s.%s has no branch '%s'", t->ns, t->name, branch);
    *out = ref->snapshot_id;
    return 0;
}

/*---- Reading a statement's head ----*/

struct head {
    const char *p;        /* the rest of the statement */
    struct tn_buf target; /* as written: ns.t or t */
    struct tn_buf alias;  /* the name rows of the target are referred to by */
};

static void skip_space(struct head *h)
{
    while (isspace((unsigned char)*h->p))
        h->p++;
}

static int keyword(struct head *h, const char *word)
{
    size_t n = strlen(word);
    skip_space(h);
    if (strncasecmp(h->p, word, n) == 0 && !isalnum((unsigned char)h->p[n]) && h->p[n] != '_') {
        h->p += n;
        return 1;
    }
    return 0;
}

/* An identifier (bare or double-quoted) appended to "out" as written. */
static int identifier(struct head *h, struct tn_buf *out, int quoted_form)
{
    skip_space(h);
    if (*h->p == '"') {
        const char *start = h->p++;
        while (*h->p && !(*h->p == '"' && h->p[1] != '"'))
            h->p += (*h->p == '"') ? 2 : 1;
        if (*h->p != '"')
            return -1;
        h->p++;
        if (quoted_form)
            tn_buf_add(out, start, (size_t)(h->p - start), NULL);
        else
            tn_buf_add(out, start + 1, (size_t)(h->p - start - 2), NULL);
        return 0;
    }
    if (!isalpha((unsigned char)*h->p) && *h->p != '_')
        return -1;
    while (isalnum((unsigned char)*h->p) || *h->p == '_')
        tn_buf_add(out, h->p++, 1, NULL);
    return 0;
}

/* Whether a clause keyword starts exactly at "p" (no position changes). */
static int clause_keyword_at(const char *p)
{
    static const char *const words[] = {"SET", "WHERE", "USING", "FROM", "RETURNING", NULL};

    for (size_t i = 0; words[i]; i++) {
        size_t n = strlen(words[i]);
        if (strncasecmp(p, words[i], n) == 0 && !isalnum((unsigned char)p[n]) && p[n] != '_')
            return 1;
    }
    return 0;
}

/* "<target> [[AS] alias]": fills target (and ns/table) and alias. */
static int read_target(struct head *h, char ns[TN_NAME_MAX + 1], char table[TN_NAME_MAX + 1],
                       struct tn_err *err)
{
    struct tn_buf last = TN_BUF_INIT(TN_CAP_NAME);

    if (identifier(h, &h->target, 0))
        return tn_fail(err, TN_EINPUT, "expected a table name");
    tn_buf_addstr(&last, h->target.buf, NULL);
    skip_space(h);
    if (*h->p == '.') {
        h->p++;
        tn_buf_addstr(&h->target, ".", NULL);
        tn_buf_reset(&last);
        if (identifier(h, &last, 0)) {
            tn_buf_release(&last);
            return tn_fail(err, TN_EINPUT, "expected a table name after '.'");
        }
        tn_buf_addstr(&h->target, last.buf, NULL);
    }
    if (tn_ident_parse(h->target.buf, ns, table, err)) {
        tn_buf_release(&last);
        return err->code;
    }
    skip_space(h);
    if (keyword(h, "AS") || (!clause_keyword_at(h->p) && *h->p && *h->p != ';')) {
        if (identifier(h, &h->alias, 1)) {
            tn_buf_release(&last);
            return tn_fail(err, TN_EINPUT, "expected an alias");
        }
    } else {
        tn_sql_ident(&h->alias, last.buf);
    }
    tn_buf_release(&last);
    return 0;
}

/* The rest of the statement without a trailing semicolon. */
static void rest(struct head *h, struct tn_buf *out)
{
    size_t n;
    skip_space(h);
    n = strlen(h->p);
    while (n && (h->p[n - 1] == ';' || isspace((unsigned char)h->p[n - 1])))
        n--;
    tn_buf_add(out, h->p, n, NULL);
}

/* Split "a = expr, b = expr" at top-level commas up to WHERE / FROM / RETURNING: appends
 * column names to "cols" and expression texts to "exprs". Stops with h->p at the keyword. */
static int read_set_list(struct head *h, json_t *cols, json_t *exprs, struct tn_err *err)
{
    for (;;) {
        struct tn_buf col = TN_BUF_INIT(TN_CAP_NAME);
        const char *start;
        int depth = 0;

        if (identifier(h, &col, 0)) {
            tn_buf_release(&col);
            return tn_fail(err, TN_EINPUT, "UPDATE: expected a column name in SET");
        }
        skip_space(h);
        if (*h->p != '=') {
            tn_buf_release(&col);
            return tn_fail(err, TN_EINPUT, "UPDATE: expected '=' after %s", col.buf);
        }
        h->p++;
        start = h->p;
        while (*h->p) {
            char c = *h->p;
            if (c == '\'' || c == '"') {
                h->p++;
                while (*h->p && !(*h->p == c && h->p[1] != c))
                    h->p += (*h->p == c) ? 2 : 1;
                if (*h->p)
                    h->p++;
                continue;
            }
            if (c == '(')
                depth++;
            if (c == ')')
                depth--;
            if (depth == 0 &&
                (c == ',' || (isspace((unsigned char)h->p[-1]) && clause_keyword_at(h->p))))
                break;
            h->p++;
        }
        json_array_append_new(cols, json_string(col.buf));
        json_array_append_new(exprs, json_stringn(start, (size_t)(h->p - start)));
        tn_buf_release(&col);
        if (*h->p == ',') {
            h->p++;
            continue;
        }
        return 0;
    }
}

/*---- DELETE and UPDATE ----*/

static void drop_temp(struct tn_session *s, const char *name)
{
    struct tn_err ignored;
    char *q = tn_asprintf("DROP TABLE IF EXISTS %s", name);
    tn_engine_exec(s, q, &ignored);
    free(q);
}

/* Whether the table asks for copy-on-write for this kind of change ("delete", "update" or
 * "merge": the write.<kind>.mode property). */
static int copy_on_write(const struct tn_table *t, const char *kind)
{
    char key[64];
    const char *mode;

    snprintf(key, sizeof(key), "write.%s.mode", kind);
    mode = json_string_value(json_object_get(json_object_get(t->meta->root, "properties"), key));
    return mode && strcmp(mode, "copy-on-write") == 0;
}

/* How the rows of a row-level change become change data, for a table that publishes a Delta
 * change data feed: which removed rows are updates (their preimages; the others are deletes)
 * and the new rows with their _change_type (update_postimage or insert). */
struct change_feed {
    int all_updates;               /* every removed row is an update's preimage */
    const char *updated_positions; /* else: SQL of the (_tn_file, _tn_pos) that are (or NULL) */
    const char *new_rows;          /* SQL: the table's columns, then _change_type (or NULL) */
};

/* Write the change data of a change of "t" (see struct change_feed) into "cdc": the removed
 * rows are read at "positions" (a temp table of _tn_file, _tn_pos; "counts" holds its files) and
 * in the files of "whole", from those files of "scan" only, with the row-level deletes in
 * force. */
static int write_change_feed(struct tn_warehouse *wh, struct tn_session *s,
                             const struct tn_table *t, const struct tn_scan *scan,
                             const char *positions, const struct tn_rows *counts, json_t *whole,
                             const struct change_feed *feed, json_t *cdc, struct tn_err *err)
{
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_scan touched;
    const char *key;
    json_t *v;
    int rc;

    tn__scan_subset_init(&touched, scan, t);
    for (size_t i = 0; i < scan->ndata; i++) {
        const char *path = scan->data[i].file.file_path;
        int hit = json_object_get(whole, path) != NULL;
        for (size_t r = 0; !hit && r < counts->nrows; r++)
            hit = strcmp(path, tn_rows_get(counts, r, 0)) == 0;
        if (hit)
            touched.data[touched.ndata++] = scan->data[i]; /* shallow */
    }
    if (!touched.ndata && !feed->new_rows) {
        free(touched.data);
        return 0; /* no row changed */
    }
    if (!touched.ndata) {
        /* nothing removed (a MERGE that only inserts): the new rows alone */
        tn_buf_addf(&q, NULL, "SELECT * FROM (%s)", feed->new_rows);
        rc = 0;
    } else {
        /* hash joins with the positions (each at most once), never a correlated subquery */
        tn_buf_addf(&q, NULL,
                    "SELECT o.* EXCLUDE (_tn_file, _tn_pos), CASE WHEN %s THEN "
                    "'update_preimage' ELSE 'delete' END AS _change_type FROM ",
                    feed->all_updates         ? "true"
                    : feed->updated_positions ? "u._tn_file IS NOT NULL"
                                              : "false");
        rc = tn_scan_sql(wh, t, &touched, TN_SCAN_ROW_ID, &q, err);
        tn_buf_addf(&q, NULL,
                    " AS o LEFT JOIN %s p ON p._tn_file = o._tn_file AND p._tn_pos = o._tn_pos",
                    positions);
        if (feed->updated_positions && !feed->all_updates)
            tn_buf_addf(&q, NULL,
                        " LEFT JOIN (%s) u ON u._tn_file = o._tn_file AND u._tn_pos = o._tn_pos",
                        feed->updated_positions);
        tn_buf_addstr(&q, " WHERE p._tn_file IS NOT NULL OR o._tn_file IN (''", NULL);
        json_object_foreach(whole, key, v)
        {
            tn_buf_addstr(&q, ", ", NULL);
            tn_sql_string(&q, key);
        }
        tn_buf_addstr(&q, ")", NULL);
        if (feed->new_rows)
            tn_buf_addf(&q, NULL, " UNION ALL BY NAME (%s)", feed->new_rows);
    }
    if (!rc)
        rc = tn_delta_write_changes(wh, s, t, q.buf, cdc, err);
    free(touched.data);
    tn_buf_release(&q);
    return rc;
}

/* Commit one row-level change of "t" (read at its current snapshot): the rows at the
 * positions of "positions_sql" (_tn_file, _tn_pos) go, and so do the files in "whole" (path ->
 * rows; may be NULL), the rows of "new_rows_sql" (the table's columns; NULL for none) come.
 * Merge-on-read writes the positions as a delete file; a data file that loses every row is dropped
 * instead; with copy-on-write (the table's write.<kind>.mode) the touched files are rewritten
 * without those rows. When the table publishes a Delta change data feed (on main), "feed" says
 * what its change data is. *removed gets the number of positions, *snapshot the new snapshot
 * (unchanged when nothing changed). */
static int commit_change(struct tn_warehouse *wh, struct tn_session *s, const struct tn_table *t,
                         const char *branch, const char *kind, const char *positions_sql,
                         const char *new_rows_sql, json_t *whole, const struct change_feed *feed,
                         int64_t *removed, int64_t *snapshot, struct tn_err *err)
{
    int on_main = !branch || strcmp(branch, "main") == 0;
    int with_feed = on_main && tn_delta_cdf_enabled(t->meta->root);
    json_t *cdc = json_array();
    struct tn_data_file *deletes = NULL, *files = NULL;
    int *delete_specs = NULL;
    size_t ndeletes = 0;
    struct tn_scan *scan = NULL, subset;
    struct tn_rows *counts = NULL;
    json_t *remove = json_object(), *replaced = json_object();
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL), keep = TN_BUF_INIT(TN_CAP_SQL);
    char pos[48], uuid[37];
    size_t nfiles = 0;
    int cow = copy_on_write(t, kind);
    int rc;

    memset(&subset, 0, sizeof(subset));
    int64_t head = -1;

    *removed = 0;
    rc = head_of(t, branch, &head, err);
    if (rc) {
        json_decref(remove);
        json_decref(replaced);
        return rc;
    }
    *snapshot = head;
    tn_uuid4(uuid);
    snprintf(pos, sizeof(pos), "_tn_pos_%.8s", uuid);
    tn_buf_addf(&q, NULL, "CREATE TEMP TABLE %s AS SELECT DISTINCT _tn_file, _tn_pos FROM (%s)",
                pos, positions_sql);
    rc = tn_engine_exec(s, q.buf, err);
    if (!rc) {
        tn_buf_reset(&q);
        tn_buf_addf(&q, NULL, "SELECT _tn_file, count(*) FROM %s GROUP BY 1", pos);
        rc = tn_engine_rows(s, q.buf, 10000000, &counts, err);
    }
    if (!rc)
        rc = tn_table_scan(wh, t, head, &scan, err);
    if (rc)
        goto out;
    /* files the statement covers whole by their statistics, never read */
    {
        const char *path;
        json_t *rows;
        json_object_foreach(whole, path, rows)
        {
            json_object_set_new(remove, path, json_true());
            *removed += json_integer_value(rows);
        }
    }
    /* which touched files go whole: all of them with copy-on-write, else those left empty */
    tn__scan_subset_init(&subset, scan, t);
    for (size_t r = 0; r < counts->nrows; r++) {
        int64_t n = 0;
        tn_parse_i64(tn_rows_get(counts, r, 1), &n);
        *removed += n;
        for (size_t i = 0; i < scan->ndata; i++) {
            const struct tn_manifest_entry *e = &scan->data[i];
            int has_deletes = 0;
            int64_t dv_deleted = 0; /* rows a deletion vector deletes already */
            if (strcmp(e->file.file_path, tn_rows_get(counts, r, 0)) != 0)
                continue;
            for (size_t d = 0; d < scan->ndeletes && !has_deletes; d++) {
                const struct tn_manifest_entry *del = &scan->deletes[d];
                if (!tn_delete_applies(del, tn_metadata_spec(t->meta, del->spec_id), e))
                    continue;
                if (tn__is_dv(&del->file))
                    dv_deleted += del->file.record_count;
                else
                    has_deletes = 1; /* a delete file whose count says nothing of this file */
            }
            if (cow || (!has_deletes && n + dv_deleted == e->file.record_count)) {
                json_object_set_new(remove, e->file.file_path, json_true());
                if (cow)
                    subset.data[subset.ndata++] = *e; /* shallow */
            }
        }
    }
    /* copy-on-write: the touched files' other rows, written again */
    if (!rc && subset.ndata) {
        tn_buf_reset(&q);
        /* unchanged rows: v3 lineage (row id and sequence number) kept */
        tn_buf_addstr(&q, "SELECT * EXCLUDE (_tn_file, _tn_pos) FROM ", NULL);
        rc = tn_scan_sql(wh, t, &subset,
                         TN_SCAN_ROW_ID | tn__lineage_available(t, subset.schema, TN_SCAN_CARRY),
                         &q, err);
        tn_buf_addf(&q, NULL, " AS _tn_old ANTI JOIN %s USING (_tn_file, _tn_pos)", pos);
        if (!rc)
            rc = write_rows(wh, s, t, q.buf, &files, &nfiles, err);
    }
    /* merge-on-read: the positions in files that stay */
    if (!rc) {
        const char *key;
        json_t *v;
        tn_buf_addf(&keep, NULL, "SELECT * FROM %s WHERE _tn_file NOT IN (SELECT unnest([", pos);
        tn_buf_addstr(&keep, "''", NULL);
        json_object_foreach(remove, key, v)
        {
            tn_buf_addstr(&keep, ", ", NULL);
            tn_sql_string(&keep, key);
        }
        tn_buf_addstr(&keep, "]))", NULL);
        rc = write_deletes(wh, s, t, scan, counts, remove, keep.buf, &deletes, &delete_specs,
                           &ndeletes, replaced, err);
    }
    if (!rc && new_rows_sql)
        rc = write_rows(wh, s, t, new_rows_sql, &files, &nfiles, err);
    if (!rc && with_feed && (ndeletes || nfiles || json_object_size(remove)))
        rc = write_change_feed(wh, s, t, scan, pos, counts, whole, feed, cdc, err);
    if (!rc && (ndeletes || nfiles || json_object_size(remove))) {
        struct tn_row_change c;
        struct tn_commit_result cr;
        memset(&c, 0, sizeof(c));
        /* replacing a deletion vector removes the old one: an overwrite that keeps every file */
        c.mode = json_object_size(remove) || json_object_size(replaced) ? TN_WRITE_OVERWRITE
                                                                        : TN_WRITE_APPEND;
        c.remove = remove;
        c.replaced_dvs = replaced;
        c.operation = !nfiles                                  ? "delete"
                      : (ndeletes || json_object_size(remove)) ? "overwrite"
                                                               : "append";
        c.read_snapshot = head;
        c.branch = branch;
        c.deletes = deletes;
        c.ndeletes = ndeletes;
        c.delete_specs = delete_specs;
        c.data = files;
        c.ndata = nfiles;
        c.delta_row_change = !on_main    ? TN_DELTA_NOT_ROW_CHANGE
                             : with_feed ? TN_DELTA_ROW_CHANGE_CDF
                                         : TN_DELTA_ROW_CHANGE;
        c.delta_cdc = cdc;
        rc = tn__commit_rows(wh, t, &c, &cr, err);
        if (!rc)
            *snapshot = cr.snapshot_id;
    }
    if (rc) {
        size_t i;
        json_t *f;
        for (i = 0; i < ndeletes; i++)
            tn__discard_file(wh, t, &deletes[i]);
        for (i = 0; i < nfiles; i++)
            tn__discard_file(wh, t, &files[i]);
        json_array_foreach(cdc, i, f)
        {
            struct tn_err ignored;
            tn_storage_delete(wh->storage, json_string_value(json_object_get(f, "uri")), &ignored);
        }
    }
out:
    drop_temp(s, pos);
    for (size_t i = 0; i < ndeletes; i++)
        tn_data_file_release(&deletes[i]);
    for (size_t i = 0; i < nfiles; i++)
        tn_data_file_release(&files[i]);
    free(deletes);
    free(delete_specs);
    free(files);
    free(subset.data);
    tn_scan_free(scan);
    tn_rows_free(counts);
    json_decref(remove);
    json_decref(cdc);
    json_decref(replaced);
    tn_buf_release(&q);
    tn_buf_release(&keep);
    return rc;
}

/* "returning" (NULL: none): the RETURNING list, over the changed rows (the stage's columns
 * after the identity: new values for UPDATE, old ones for DELETE) as "alias". */
static int run_change(struct tn_warehouse *wh, struct tn_session *s, const struct tn_table *t,
                      const char *select_sql, const struct tn_query_options *base, int is_update,
                      int carry, const char *returning, const char *alias,
                      struct tn_dml_result *res, struct tn_err *err)
{
    /* what the changed rows show (RETURNING, the change feed): not the lineage they carry */
    const char *identity =
        carry ? "_tn_file, _tn_pos, " TN_LINEAGE_SOURCE_ROW_ID : "_tn_file, _tn_pos";
    struct tn_query_options qo = {.snapshot_id = -1, .as_of_ms = -1, .target_snapshot = -1};
    char stage[64], uuid[37];
    char *resolved = NULL, *positions = NULL, *rows = NULL;
    int rc;

    if (base)
        qo = *base;
    qo.target_ns = t->ns;
    qo.target_table = t->name;
    qo.target_lineage = carry;
    rc = head_of(t, qo.branch, &qo.target_snapshot, err);
    if (rc)
        return rc;
    /* DELETE: whole files by statistics (unless RETURNING must read their rows) */
    qo.covered = is_update || returning ? NULL : json_object();
    rc = tn_query_resolve(wh, s, select_sql, &qo, &resolved, err);
    if (rc) {
        json_decref(qo.covered);
        return rc;
    }
    /* the changed rows, once: positions and (for UPDATE) new values come from the same run */
    tn_uuid4(uuid);
    snprintf(stage, sizeof(stage), "_tn_stage_%.8s", uuid);
    {
        char *q = tn_asprintf("CREATE TEMP TABLE %s AS SELECT DISTINCT ON (_tn_file, _tn_pos) * "
                              "FROM (%s)",
                              stage, resolved);
        rc = tn_engine_exec(s, q, err);
        free(q);
    }
    if (!rc) {
        positions = tn_asprintf("SELECT _tn_file, _tn_pos FROM %s", stage);
        /* the updated rows keep their _row_id; their sequence number is the new snapshot's */
        rows =
            is_update ? tn_asprintf("SELECT * EXCLUDE (_tn_file, _tn_pos) FROM %s", stage) : NULL;
        if (returning) {
            char *changed = tn_asprintf("SELECT * EXCLUDE (%s) FROM %s", identity, stage);
            rc = tn__returning_keep(s, changed, returning, alias, &res->returning, err);
            free(changed);
        }
    }
    if (!rc) {
        char *typed = is_update ? tn_asprintf("SELECT * EXCLUDE (%s), 'update_postimage' AS "
                                              "_change_type FROM %s",
                                              identity, stage)
                                : NULL;
        struct change_feed feed = {is_update, NULL, typed};
        rc = commit_change(wh, s, t, qo.branch, is_update ? "update" : "delete", positions, rows,
                           qo.covered, &feed, &res->rows_affected, &res->snapshot_id, err);
        free(typed);
        if (rc)
            tn_returning_release(s, &res->returning);
    }
    json_decref(qo.covered);
    drop_temp(s, stage);
    free(positions);
    free(rows);
    free(resolved);
    return rc;
}

/*---- MERGE ----*/

/* row(a."x", a."y", ...) over the table's columns, to compare old and new rows. */
static void row_of(const struct tn_schema *schema, const char *alias, struct tn_buf *sql)
{
    tn_buf_addstr(sql, "row(", NULL);
    for (size_t i = 0; i < schema->root.nfields; i++) {
        tn_buf_addf(sql, NULL, "%s%s.", i ? ", " : "", alias);
        tn_sql_ident(sql, schema->root.fields[i].name);
    }
    tn_buf_addstr(sql, ")", NULL);
}

/* MERGE INTO <target> [[AS] a] USING <table | (query)> [[AS] s] ON ... WHEN ...: the statement
 * runs verbatim (but for the names of target and source) in DuckDB against staged copies; the
 * rows it removed or changed become position deletes, the rows it changed or inserted a data
 * file. Staged rows keep their DuckDB rowid, which MERGE leaves alone for updated rows. */
/* A MERGE statement read token by token: what tarn runs is rebuilt from its parts, each
 * identifier quoted by tarn and each expression deparsed from DuckDB's parse tree, so no text
 * of the user's is spliced into it (a comment or quote cannot end a clause early). */
struct merge {
    const struct tn_sql_tokens *t;
    size_t i;
    struct tn_session *s;
    struct tn_err *err;
    char ns[TN_NAME_MAX + 1], table[TN_NAME_MAX + 1];
    struct tn_buf alias;     /* the target's, quoted */
    struct tn_buf src;       /* SELECT ... of the source, for tn_query_resolve */
    struct tn_buf src_alias; /* quoted */
    struct tn_buf tail;      /* ON ... WHEN ..., rebuilt */
};

static int m_is(const struct merge *m, const char *word)
{
    return tn_sql_tok_is(m->t, m->i, word);
}

static int m_accept(struct merge *m, const char *word)
{
    if (!m_is(m, word))
        return 0;
    m->i++;
    return 1;
}

static int m_expect(struct merge *m, const char *word, const char *what)
{
    if (m_accept(m, word))
        return 0;
    return tn_fail(m->err, TN_EINPUT, "MERGE: expected %s", what);
}

/* A name (bare or quoted, not a keyword tarn reads here) appended to "out" quoted. */
static int m_name(struct merge *m, struct tn_buf *out, char **plain)
{
    static const char *const stop[] = {"USING", "ON", "WHEN", "THEN", "SET", "AS", NULL};
    char *name;

    if (m->i >= m->t->n ||
        (m->t->v[m->i].kind != TN_TOK_WORD && m->t->v[m->i].kind != TN_TOK_IDENT))
        return -1;
    for (size_t k = 0; stop[k]; k++)
        if (m_is(m, stop[k]))
            return -1;
    name = tn_sql_tok_name(m->t, m->i++);
    if (out)
        tn_sql_ident(out, name);
    if (plain)
        *plain = name;
    else
        free(name);
    return 0;
}

/* Where the expression starting at token "i" ends: at a WHEN, THEN or RETURNING (outside
 * CASE ... END), at a ',' when "comma", or at the bracket that closes around it. */
static size_t expr_end(const struct tn_sql_tokens *t, size_t i, int comma)
{
    int depth = i < t->n ? t->v[i].depth : 0, cases = 0;

    for (; i < t->n; i++) {
        if (t->v[i].depth < depth)
            break;
        if (t->v[i].depth > depth)
            continue;
        if (tn_sql_tok_is(t, i, "CASE"))
            cases++;
        else if (cases && tn_sql_tok_is(t, i, "END"))
            cases--;
        else if (!cases && (tn_sql_tok_is(t, i, "WHEN") || tn_sql_tok_is(t, i, "THEN") ||
                            tn_sql_tok_is(t, i, "RETURNING") || tn_sql_tok_is(t, i, ";") ||
                            (comma && tn_sql_tok_is(t, i, ","))))
            break;
    }
    return i;
}

static int str_is(json_t *j, const char *value)
{
    return json_is_string(j) && strcmp(json_string_value(j), value) == 0;
}

/* The expressions of tokens [from, to) -- "count" of them, comma-separated -- each parsed
 * by DuckDB and appended to "out" as DuckDB deparses it. Anything but plain expressions (an
 * alias, a FROM, a second statement) is refused. */
static int m_exprs(struct merge *m, size_t from, size_t to, size_t count, struct tn_buf *out)
{
    char *span = tn_sql_tok_span(m->t, from, to);
    char *q = tn_asprintf("SELECT %s\n", span);
    json_t *tree = from < to ? tn_query_parse(m->s, q, m->err) : NULL, *node, *list, *item;
    json_t *one = NULL;
    size_t k;
    int rc = 0;

    free(span);
    free(q);
    if (from >= to)
        return tn_fail(m->err, TN_EINPUT, "MERGE: an expression is missing");
    if (!tree) {
        tn_err_prefix(m->err, "MERGE: ");
        return m->err->code;
    }
    node = json_object_get(json_array_get(json_object_get(tree, "statements"), 0), "node");
    list = json_object_get(node, "select_list");
    if (json_array_size(json_object_get(tree, "statements")) != 1 ||
        !str_is(json_object_get(node, "type"), "SELECT_NODE") ||
        !str_is(json_object_get(json_object_get(node, "from_table"), "type"), "EMPTY") ||
        !json_is_null(json_object_get(node, "where_clause")) ||
        !json_is_null(json_object_get(node, "having")) ||
        !json_is_null(json_object_get(node, "qualify")) ||
        json_array_size(json_object_get(node, "group_expressions")) ||
        json_array_size(json_object_get(node, "modifiers")) ||
        json_array_size(json_object_get(json_object_get(node, "cte_map"), "map")) ||
        json_array_size(list) != count)
        rc = tn_fail(m->err, TN_EINPUT, "MERGE: expected %zu expression%s near '%.60s'", count,
                     count == 1 ? "" : "s", m->t->text + m->t->v[from].start);
    one = rc ? NULL : tn_query_parse(m->s, "SELECT 1", m->err);
    if (!rc && !one)
        rc = m->err->code;
    json_array_foreach(list, k, item)
    {
        json_t *one_list;
        char *text;
        const char *alias = json_string_value(json_object_get(item, "alias"));
        if (rc)
            break;
        if (alias && *alias) {
            rc = tn_fail(m->err, TN_EINPUT, "MERGE: unexpected AS %s", alias);
            break;
        }
        one_list = json_object_get(
            json_object_get(json_array_get(json_object_get(one, "statements"), 0), "node"),
            "select_list");
        json_array_set(one_list, 0, item);
        text = tn_query_deparse(m->s, one, m->err);
        if (!text) {
            rc = m->err->code;
            break;
        }
        tn_buf_addf(out, NULL, "%s%s", k ? ", " : "", text + strlen("SELECT "));
        free(text);
    }
    json_decref(one);
    json_decref(tree);
    return rc;
}

/* One expression up to its end (see expr_end), appended deparsed. */
static int m_expr(struct merge *m, int comma, struct tn_buf *out)
{
    size_t end = expr_end(m->t, m->i, comma);
    int rc = m_exprs(m, m->i, end, 1, out);

    m->i = end;
    return rc;
}

/* "( name, ... )" appended as quoted names in parentheses. */
static int m_names(struct merge *m, struct tn_buf *out)
{
    if (m_expect(m, "(", "'('"))
        return m->err->code;
    tn_buf_addstr(out, "(", NULL);
    for (;;) {
        if (m_name(m, out, NULL))
            return tn_fail(m->err, TN_EINPUT, "MERGE: expected a column name");
        if (!m_accept(m, ","))
            break;
        tn_buf_addstr(out, ", ", NULL);
    }
    tn_buf_addstr(out, ")", NULL);
    return m_expect(m, ")", "')' after the column names");
}

/* WHEN [NOT] MATCHED [BY SOURCE | BY TARGET] [AND cond] THEN action */
static int m_clause(struct merge *m)
{
    struct tn_buf *o = &m->tail;

    if (m_expect(m, "WHEN", "WHEN (or the end of the statement)"))
        return m->err->code;
    tn_buf_addstr(o, " WHEN ", NULL);
    if (m_accept(m, "NOT"))
        tn_buf_addstr(o, "NOT ", NULL);
    if (m_expect(m, "MATCHED", "MATCHED after WHEN"))
        return m->err->code;
    tn_buf_addstr(o, "MATCHED", NULL);
    if (m_accept(m, "BY")) {
        if (m_accept(m, "SOURCE"))
            tn_buf_addstr(o, " BY SOURCE", NULL);
        else if (m_accept(m, "TARGET"))
            tn_buf_addstr(o, " BY TARGET", NULL);
        else
            return tn_fail(m->err, TN_EINPUT, "MERGE: expected SOURCE or TARGET after BY");
    }
    if (m_accept(m, "AND")) {
        tn_buf_addstr(o, " AND ", NULL);
        if (m_expr(m, 0, o))
            return m->err->code;
    }
    if (m_expect(m, "THEN", "THEN"))
        return m->err->code;
    tn_buf_addstr(o, " THEN ", NULL);
    if (m_accept(m, "DELETE")) {
        tn_buf_addstr(o, "DELETE", NULL);
    } else if (m_accept(m, "DO")) {
        if (m_expect(m, "NOTHING", "NOTHING after DO"))
            return m->err->code;
        tn_buf_addstr(o, "DO NOTHING", NULL);
    } else if (m_accept(m, "ERROR")) {
        tn_buf_addstr(o, "ERROR", NULL);
        if (m->i < m->t->n && !m_is(m, "WHEN") && !m_is(m, ";")) {
            tn_buf_addstr(o, " ", NULL);
            if (m_expr(m, 0, o))
                return m->err->code;
        }
    } else if (m_accept(m, "UPDATE")) {
        tn_buf_addstr(o, "UPDATE", NULL);
        if (m_accept(m, "SET")) {
            tn_buf_addstr(o, " SET ", NULL);
            if (m_accept(m, "*")) {
                tn_buf_addstr(o, "*", NULL);
                return 0;
            }
            for (;;) {
                if (m_name(m, o, NULL))
                    return tn_fail(m->err, TN_EINPUT, "MERGE: expected a column name in SET");
                if (m_accept(m, ".")) { /* alias.column */
                    tn_buf_addstr(o, ".", NULL);
                    if (m_name(m, o, NULL))
                        return tn_fail(m->err, TN_EINPUT, "MERGE: expected a column name");
                }
                if (m_expect(m, "=", "'=' in SET"))
                    return m->err->code;
                tn_buf_addstr(o, " = ", NULL);
                if (m_expr(m, 1, o))
                    return m->err->code;
                if (!m_accept(m, ","))
                    break;
                tn_buf_addstr(o, ", ", NULL);
            }
        }
    } else if (m_accept(m, "INSERT")) {
        tn_buf_addstr(o, "INSERT", NULL);
        if (m_accept(m, "BY")) {
            if (m_accept(m, "NAME"))
                tn_buf_addstr(o, " BY NAME", NULL);
            else if (m_accept(m, "POSITION"))
                tn_buf_addstr(o, " BY POSITION", NULL);
            else
                return tn_fail(m->err, TN_EINPUT, "MERGE: expected NAME or POSITION after BY");
        }
        if (m_accept(m, "*")) {
            tn_buf_addstr(o, " *", NULL);
        } else if (m_accept(m, "DEFAULT")) {
            if (m_expect(m, "VALUES", "VALUES after DEFAULT"))
                return m->err->code;
            tn_buf_addstr(o, " DEFAULT VALUES", NULL);
        } else {
            if (m_is(m, "(")) {
                tn_buf_addstr(o, " ", NULL);
                if (m_names(m, o))
                    return m->err->code;
            }
            if (m_accept(m, "VALUES")) {
                size_t from, end, count = 1;
                if (m_expect(m, "(", "'(' after VALUES"))
                    return m->err->code;
                from = m->i;
                end = expr_end(m->t, from, 0);
                for (size_t k = from; k < end; k++)
                    count += m->t->v[k].depth == m->t->v[from].depth && tn_sql_tok_is(m->t, k, ",");
                tn_buf_addstr(o, " VALUES (", NULL);
                if (m_exprs(m, from, end, count, o))
                    return m->err->code;
                m->i = end;
                if (m_expect(m, ")", "')' after the VALUES list"))
                    return m->err->code;
                tn_buf_addstr(o, ")", NULL);
            }
        }
    } else {
        return tn_fail(m->err, TN_EINPUT,
                       "MERGE: expected UPDATE, DELETE, INSERT, DO NOTHING or ERROR after THEN");
    }
    return 0;
}

/* MERGE INTO target [[AS] alias] USING (query) | table [[AS] alias] ON cond | USING (cols)
 * WHEN ... [WHEN ...] */
static int merge_read(struct merge *m)
{
    char *first = NULL, *second = NULL, *last;
    int rc = 0;

    if (!m_accept(m, "MERGE") || !m_accept(m, "INTO") || m_name(m, NULL, &first))
        return tn_fail(m->err, TN_EINPUT, "expected MERGE INTO table");
    if (m_accept(m, ".") && m_name(m, NULL, &second)) {
        free(first);
        return tn_fail(m->err, TN_EINPUT, "MERGE: expected a table name after '.'");
    }
    {
        char *ident = second ? tn_asprintf("%s.%s", first, second) : tn_strdup(first);
        rc = tn_ident_parse(ident, m->ns, m->table, m->err);
        free(ident);
    }
    last = second ? second : first;
    if (!rc && (m_accept(m, "AS") || !m_is(m, "USING"))) {
        if (m_name(m, &m->alias, NULL))
            rc = tn_fail(m->err, TN_EINPUT, "MERGE: expected an alias or USING after the target");
    } else if (!rc) {
        tn_sql_ident(&m->alias, last);
    }
    free(first);
    free(second);
    first = second = NULL;
    if (rc || m_expect(m, "USING", "USING"))
        return m->err->code;
    if (m_is(m, "(")) {
        size_t from = ++m->i, end = from;
        while (end < m->t->n && m->t->v[end].depth > m->t->v[from - 1].depth)
            end++;
        if (end >= m->t->n)
            return tn_fail(m->err, TN_EINPUT, "MERGE: unbalanced parentheses in USING");
        last = tn_sql_tok_span(m->t, from, end);
        tn_buf_addf(&m->src, NULL, "%s\n", last);
        free(last);
        m->i = end + 1;
        tn_buf_addstr(&m->src_alias, "\"_tn_source\"", NULL);
    } else {
        if (m_name(m, NULL, &first))
            return tn_fail(m->err, TN_EINPUT, "MERGE: expected a table or (query) after USING");
        tn_buf_addstr(&m->src, "SELECT * FROM ", NULL);
        tn_sql_ident(&m->src, first);
        if (m_accept(m, ".")) {
            if (m_name(m, NULL, &second)) {
                free(first);
                return tn_fail(m->err, TN_EINPUT, "MERGE: bad source name");
            }
            tn_buf_addstr(&m->src, ".", NULL);
            tn_sql_ident(&m->src, second);
        }
        tn_sql_ident(&m->src_alias, second ? second : first);
        free(first);
        free(second);
    }
    if (m_accept(m, "AS") || (!m_is(m, "ON") && !m_is(m, "USING"))) {
        tn_buf_reset(&m->src_alias);
        if (m_name(m, &m->src_alias, NULL))
            return tn_fail(m->err, TN_EINPUT, "MERGE: expected ON");
    }
    if (m_accept(m, "USING")) {
        tn_buf_addstr(&m->tail, "USING ", NULL);
        if (m_names(m, &m->tail))
            return m->err->code;
    } else {
        if (m_expect(m, "ON", "ON or USING (columns) after the source"))
            return m->err->code;
        tn_buf_addstr(&m->tail, "ON ", NULL);
        if (m_expr(m, 0, &m->tail))
            return m->err->code;
    }
    while (m->i < m->t->n && !m_is(m, ";")) {
        if (m_is(m, "RETURNING"))
            return tn_fail(m->err, TN_EINPUT, "RETURNING is not supported on tarn tables");
        if (m_clause(m))
            return m->err->code;
    }
    if (m_accept(m, ";") && m->i < m->t->n)
        return tn_fail(m->err, TN_EINPUT,
                       "one statement per request: remove the ';' and what follows it");
    if (!strstr(m->tail.buf, " WHEN "))
        return tn_fail(m->err, TN_EINPUT, "MERGE: expected WHEN [NOT] MATCHED THEN ...");
    return 0;
}

static int run_merge(struct tn_warehouse *wh, struct tn_session *s, const struct tn_table *t,
                     struct merge *m, const struct tn_query_options *base,
                     struct tn_dml_result *res, struct tn_err *err)
{
    const struct tn_schema *schema = tn_metadata_current_schema(t->meta);
    struct tn_query_options qo = {.snapshot_id = -1, .as_of_ms = -1, .target_snapshot = -1};
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_rows *r = NULL;
    char all[48], tgt[48], srct[48], uuid[37];
    char *resolved = NULL;
    /* v3: a target row the MERGE updates keeps its _row_id (an inserted row gets none) */
    int carry = tn__lineage_available(t, schema, TN_SCAN_CARRY_ROW_ID) != 0;
    int rc = 0;

    if (base)
        qo = *base;
    tn_uuid4(uuid);
    snprintf(all, sizeof(all), "_tn_all_%.8s", uuid);
    snprintf(tgt, sizeof(tgt), "_tn_tgt_%.8s", uuid);
    snprintf(srct, sizeof(srct), "_tn_src_%.8s", uuid);
    /* stage: the source; the target with identities; the target's columns alone */
    rc = tn_query_resolve(wh, s, m->src.buf, &qo, &resolved, err);
    if (!rc) {
        tn_buf_addf(&q, NULL, "CREATE TEMP TABLE %s AS %s", srct, resolved);
        rc = tn_engine_exec(s, q.buf, err);
    }
    free(resolved);
    resolved = NULL;
    if (!rc) {
        qo.target_ns = t->ns;
        qo.target_table = t->name;
        qo.target_lineage = carry;
        rc = head_of(t, qo.branch, &qo.target_snapshot, err);
    }
    if (!rc) {
        tn_buf_reset(&q);
        tn_buf_addstr(&q, "SELECT * FROM ", NULL);
        tn_sql_ident(&q, t->ns);
        tn_buf_addstr(&q, ".", NULL);
        tn_sql_ident(&q, t->name);
        rc = tn_query_resolve(wh, s, q.buf, &qo, &resolved, err);
    }
    if (!rc) {
        tn_buf_reset(&q);
        tn_buf_addf(&q, NULL,
                    "CREATE TEMP TABLE %s AS SELECT row_number() OVER () - 1 AS _tn_rid, * FROM "
                    "(%s)",
                    all, resolved);
        rc = tn_engine_exec(s, q.buf, err);
    }
    if (!rc) {
        tn_buf_reset(&q);
        tn_buf_addf(&q, NULL,
                    "CREATE TEMP TABLE %s AS SELECT * EXCLUDE (_tn_rid, _tn_file, _tn_pos%s) "
                    "FROM %s ORDER BY _tn_rid",
                    tgt, carry ? ", " TN_LINEAGE_SOURCE_ROW_ID : "", all);
        rc = tn_engine_exec(s, q.buf, err);
    }
    if (!rc) {
        tn_buf_reset(&q);
        tn_buf_addf(&q, NULL, "MERGE INTO %s AS %s USING %s AS %s %s", tgt, m->alias.buf, srct,
                    m->src_alias.buf, m->tail.buf);
        rc = tn_engine_rows(s, q.buf, 1, &r, err);
        if (!rc && r->nrows && tn_rows_get(r, 0, 0))
            tn_parse_i64(tn_rows_get(r, 0, 0), &res->rows_affected);
    }
    res->snapshot_id = t->meta->current_snapshot_id;
    if (!rc) {
        /* removed or changed rows: their old positions; changed or inserted rows: new values */
        struct tn_buf rows = TN_BUF_INIT(TN_CAP_SQL);
        int64_t removed = 0;
        tn_buf_reset(&q);
        tn_buf_addf(&q, NULL,
                    "SELECT o._tn_file, o._tn_pos FROM %s o LEFT JOIN (SELECT rowid AS _tn_rid, "
                    "* FROM %s) n USING (_tn_rid) WHERE n._tn_rid IS NULL OR ",
                    all, tgt);
        row_of(schema, "o", &q);
        tn_buf_addstr(&q, " IS DISTINCT FROM ", NULL);
        row_of(schema, "n", &q);
        struct tn_buf typed = TN_BUF_INIT(TN_CAP_SQL);
        char *updated;
        tn_buf_addf(&rows, NULL,
                    "SELECT n.* EXCLUDE (_tn_rid)%s FROM (SELECT rowid AS _tn_rid, * FROM %s) n "
                    "LEFT JOIN %s o USING (_tn_rid) WHERE o._tn_rid IS NULL OR ",
                    carry ? ", o." TN_LINEAGE_SOURCE_ROW_ID : "", tgt, all);
        row_of(schema, "o", &rows);
        tn_buf_addstr(&rows, " IS DISTINCT FROM ", NULL);
        row_of(schema, "n", &rows);
        /* change data: a target row still there (by its row id) was updated, else deleted; a
         * new row without a target row was inserted */
        tn_buf_addf(&typed, NULL,
                    "SELECT n.* EXCLUDE (_tn_rid), CASE WHEN o._tn_rid IS NULL THEN 'insert' "
                    "ELSE 'update_postimage' END AS _change_type FROM (SELECT rowid AS _tn_rid, "
                    "* FROM %s) n LEFT JOIN %s o USING (_tn_rid) WHERE o._tn_rid IS NULL OR ",
                    tgt, all);
        row_of(schema, "o", &typed);
        tn_buf_addstr(&typed, " IS DISTINCT FROM ", NULL);
        row_of(schema, "n", &typed);
        updated = tn_asprintf("SELECT o._tn_file, o._tn_pos FROM %s o WHERE o._tn_rid IN "
                              "(SELECT rowid FROM %s)",
                              all, tgt);
        struct change_feed feed = {0, updated, typed.buf};
        rc = commit_change(wh, s, t, qo.branch, "merge", q.buf, rows.buf, NULL, &feed, &removed,
                           &res->snapshot_id, err);
        tn_buf_release(&rows);
        tn_buf_release(&typed);
        free(updated);
    }
    drop_temp(s, all);
    drop_temp(s, tgt);
    drop_temp(s, srct);
    tn_rows_free(r);
    free(resolved);
    tn_buf_release(&q);
    return rc;
}

/* The SELECT an UPDATE or DELETE became must be what tarn built around the user's clauses:
 * one SELECT of "ncols" columns with no grouping, ordering, limit or set operation that the
 * statement's own text could have added (by closing a clause early). */
static int check_change_select(struct tn_session *s, const char *select, size_t ncols,
                               struct tn_err *err)
{
    json_t *tree = tn_query_parse(s, select, err), *node;
    int ok;

    if (!tree)
        return err->code;
    node = json_object_get(json_array_get(json_object_get(tree, "statements"), 0), "node");
    ok = json_array_size(json_object_get(tree, "statements")) == 1 &&
         str_is(json_object_get(node, "type"), "SELECT_NODE") &&
         json_array_size(json_object_get(node, "select_list")) == ncols &&
         json_is_null(json_object_get(node, "having")) &&
         json_is_null(json_object_get(node, "qualify")) &&
         json_array_size(json_object_get(node, "group_expressions")) == 0 &&
         json_array_size(json_object_get(node, "modifiers")) == 0;
    json_decref(tree);
    if (!ok)
        return tn_fail(err, TN_EINPUT,
                       "the statement's clauses do not fit UPDATE t SET c = expr, ... [FROM ...] "
                       "[WHERE ...] or DELETE FROM t [USING ...] [WHERE ...]");
    return 0;
}

/* Whether the statement has a RETURNING clause (at the top level). */
static int has_returning(const struct tn_sql_tokens *t)
{
    size_t at;
    return tn__returning_find(t, 0, &at);
}

/* Cut a top-level RETURNING list off "tail" (the statement after its target and SET list) into
 * *list (NULL when there is none). */
static int split_returning(struct tn_buf *tail, char **list, struct tn_err *err)
{
    struct tn_sql_tokens t;
    size_t at;
    int rc = 0;

    *list = NULL;
    if (!tail->len)
        return 0;
    if (tn_sql_lex(tail->buf, &t, err))
        return err->code;
    if (tn__returning_find(&t, 0, &at)) {
        *list = tn__returning_list(&t, at);
        if (!*list)
            rc = tn_fail(err, TN_EINPUT, "RETURNING needs a list of expressions");
        else
            tail->len = t.v[at].start;
        if (tail->buf)
            tail->buf[tail->len] = '\0';
    }
    tn_sql_tokens_release(&t);
    return rc;
}

int tn_write_check_travel(const struct tn_query_options *opt, const char *what, struct tn_err *err)
{
    if (!opt || (opt->snapshot_id == -1 && opt->as_of_ms == -1))
        return 0;
    return tn_fail(err, TN_EINPUT,
                   "%s changes the table as it is now, not the snapshot or time given to read "
                   "at: run it without a snapshot or as-of time (--snapshot/--as-of, "
                   "snapshot_id/as_of), or write to a branch (--branch, branch=)",
                   what);
}

int tn_table_dml(struct tn_warehouse *wh, struct tn_session *s, const char *sql,
                 const struct tn_query_options *opt, struct tn_dml_result *res, struct tn_err *err)
{
    struct tn_sql_tokens toks = {0};
    struct head h = {sql, TN_BUF_INIT(TN_CAP_SQL), TN_BUF_INIT(TN_CAP_SQL)};
    struct tn_buf select = TN_BUF_INIT(TN_CAP_SQL), tail = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_table *t = NULL;
    json_t *cols = json_array(), *exprs = json_array();
    char *returning = NULL;
    int is_update = 0, carry = 0, rc = 0;

    memset(res, 0, sizeof(*res));
    if ((rc = tn_write_check_travel(opt, "a row-level change", err)))
        goto out;
    /* the clauses are read from the text without its comments, which mean nothing to them */
    if (tn_sql_lex(sql, &toks, err))
        goto out;
    h.p = toks.text;
    if (keyword(&h, "MERGE")) {
        struct merge m = {&toks,
                          0,
                          s,
                          err,
                          "",
                          "",
                          TN_BUF_INIT(TN_CAP_SQL),
                          TN_BUF_INIT(TN_CAP_SQL),
                          TN_BUF_INIT(TN_CAP_SQL),
                          TN_BUF_INIT(TN_CAP_SQL)};
        rc = merge_read(&m);
        if (!rc) {
            memcpy(res->ns, m.ns, sizeof(res->ns));
            memcpy(res->table, m.table, sizeof(res->table));
            rc = tn_table_load(wh, res->ns, res->table, &t, err);
        }
        if (!rc)
            rc = check_changeable(t, err);
        if (!rc)
            rc = run_merge(wh, s, t, &m, opt, res, err);
        tn_buf_release(&m.alias);
        tn_buf_release(&m.src);
        tn_buf_release(&m.src_alias);
        tn_buf_release(&m.tail);
        goto out;
    }
    if (keyword(&h, "DELETE")) {
        if (!keyword(&h, "FROM"))
            rc = tn_fail(err, TN_EINPUT, "expected DELETE FROM table");
    } else if (keyword(&h, "UPDATE")) {
        is_update = 1;
    } else {
        rc = tn_fail(err, TN_EINPUT, "expected DELETE or UPDATE");
    }
    if (!rc)
        rc = read_target(&h, res->ns, res->table, err);
    if (!rc)
        rc = tn_table_load(wh, res->ns, res->table, &t, err);
    if (!rc)
        rc = check_changeable(t, err);
    if (!rc && is_update) {
        if (!keyword(&h, "SET"))
            rc = tn_fail(err, TN_EINPUT, "UPDATE: expected SET");
        else
            rc = read_set_list(&h, cols, exprs, err);
    }
    if (rc)
        goto out;
    /* SELECT <identity>[, new values] FROM <target> AS <alias> <the statement's own clauses> */
    tn_buf_addf(&select, NULL, "SELECT %s._tn_file, %s._tn_pos", h.alias.buf, h.alias.buf);
    if (!is_update && has_returning(&toks)) { /* DELETE ... RETURNING: the rows it removes */
        const struct tn_schema *schema = tn_metadata_current_schema(t->meta);
        for (size_t f = 0; f < schema->root.nfields; f++) {
            tn_buf_addf(&select, NULL, ", %s.", h.alias.buf);
            tn_sql_ident(&select, schema->root.fields[f].name);
            tn_buf_addstr(&select, " AS ", NULL);
            tn_sql_ident(&select, schema->root.fields[f].name);
        }
    }
    if (is_update) {
        const struct tn_schema *schema = tn_metadata_current_schema(t->meta);
        for (size_t i = 0; i < json_array_size(cols); i++) {
            int found = 0;
            for (size_t f = 0; f < schema->root.nfields; f++)
                found |= strcasecmp(schema->root.fields[f].name,
                                    json_string_value(json_array_get(cols, i))) == 0;
            if (!found) {
                rc = tn_fail(err, TN_ENOTFOUND, "UPDATE: table %s.%s has no column '%s'", res->ns,
                             res->table, json_string_value(json_array_get(cols, i)));
                goto out;
            }
        }
        for (size_t f = 0; f < schema->root.nfields; f++) {
            const char *name = schema->root.fields[f].name;
            const char *expr = NULL;
            for (size_t i = 0; i < json_array_size(cols); i++)
                if (strcasecmp(json_string_value(json_array_get(cols, i)), name) == 0)
                    expr = json_string_value(json_array_get(exprs, i));
            tn_buf_addstr(&select, ", ", NULL);
            if (expr) {
                tn_buf_addf(&select, NULL, "(%s)", expr);
            } else {
                tn_buf_addf(&select, NULL, "%s.", h.alias.buf);
                tn_sql_ident(&select, name);
            }
            tn_buf_addstr(&select, " AS ", NULL);
            tn_sql_ident(&select, name);
        }
        /* v3: the updated rows keep their _row_id */
        carry = tn__lineage_available(t, schema, TN_SCAN_CARRY_ROW_ID) != 0;
        if (carry)
            tn_buf_addf(&select, NULL, ", %s.%s", h.alias.buf, TN_LINEAGE_SOURCE_ROW_ID);
    }
    tn_buf_addstr(&select, " FROM ", NULL);
    tn_sql_ident(&select, res->ns);
    tn_buf_addstr(&select, ".", NULL);
    tn_sql_ident(&select, res->table);
    tn_buf_addf(&select, NULL, " AS %s ", h.alias.buf);
    if (keyword(&h, "USING") || keyword(&h, "FROM"))
        tn_buf_addstr(&select, ", ", NULL);
    rest(&h, &tail);
    rc = split_returning(&tail, &returning, err);
    if (rc)
        goto out;
    tn_buf_addstr(&select, tail.buf ? tail.buf : "", NULL);
    rc = check_change_select(
        s, select.buf,
        2 + (is_update || returning ? tn_metadata_current_schema(t->meta)->root.nfields : 0) +
            (size_t)carry,
        err);
    if (!rc)
        rc = run_change(wh, s, t, select.buf, opt, is_update, carry, returning, h.alias.buf, res,
                        err);
out:
    free(returning);
    tn_sql_tokens_release(&toks);
    tn_table_free(t);
    json_decref(cols);
    json_decref(exprs);
    tn_buf_release(&h.target);
    tn_buf_release(&h.alias);
    tn_buf_release(&select);
    tn_buf_release(&tail);
    return rc;
}

/*---- Keyed upsert ----*/

static void key_condition(json_t *keys, const char *a, const char *b, struct tn_buf *sql)
{
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const char *k = json_string_value(json_array_get(keys, i));
        tn_buf_addf(sql, NULL, "%s%s.", i ? " AND " : "", a);
        tn_sql_ident(sql, k);
        tn_buf_addf(sql, NULL, " = %s.", b);
        tn_sql_ident(sql, k);
    }
}

static void key_list(json_t *keys, const char *alias, struct tn_buf *sql)
{
    for (size_t i = 0; i < json_array_size(keys); i++) {
        if (i)
            tn_buf_addstr(sql, ", ", NULL);
        if (alias)
            tn_buf_addf(sql, NULL, "%s.", alias);
        tn_sql_ident(sql, json_string_value(json_array_get(keys, i)));
    }
}

/* Refuse null keys and (unless dedupe_last) duplicate keys in the staged rows. */
static int check_keys(struct tn_session *s, const char *stage, json_t *keys, int dedupe_last,
                      struct tn_err *err)
{
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_rows *r = NULL;
    int rc;

    tn_buf_addf(&q, NULL, "SELECT _tn_rn FROM %s WHERE ", stage);
    for (size_t i = 0; i < json_array_size(keys); i++) {
        tn_buf_addstr(&q, i ? " OR " : "", NULL);
        tn_sql_ident(&q, json_string_value(json_array_get(keys, i)));
        tn_buf_addstr(&q, " IS NULL", NULL);
    }
    tn_buf_addstr(&q, " ORDER BY 1 LIMIT 1", NULL);
    rc = tn_engine_rows(s, q.buf, 1, &r, err);
    if (!rc && r->nrows)
        rc = tn_fail(err, TN_EUNPROCESSABLE,
                     "row %s has a null key; every row of an upsert needs a key value",
                     tn_rows_get(r, 0, 0));
    tn_rows_free(r);
    r = NULL;
    if (rc || dedupe_last)
        goto out;
    tn_buf_reset(&q);
    tn_buf_addstr(&q, "SELECT concat_ws(', ', ", NULL);
    key_list(keys, NULL, &q);
    tn_buf_addf(&q, NULL, "), count(*) FROM %s GROUP BY ALL HAVING count(*) > 1 LIMIT 1", stage);
    rc = tn_engine_rows(s, q.buf, 1, &r, err);
    if (!rc && r->nrows)
        rc = tn_fail(err, TN_EUNPROCESSABLE,
                     "key (%s) appears %s times in the upload; send each key once, or use "
                     "dedupe=last to keep the last row of each key",
                     tn_rows_get(r, 0, 0), tn_rows_get(r, 0, 1));
out:
    tn_rows_free(r);
    tn_buf_release(&q);
    return rc;
}

int tn__upsert(struct tn_warehouse *wh, struct tn_session *s, const struct tn_table *t,
               const char *branch, const char *select_sql, json_t *keys, int dedupe_last,
               struct tn_commit_result *res, int64_t *rows_updated, struct tn_err *err)
{
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_query_options qo = {.snapshot_id = -1,
                                  .as_of_ms = -1,
                                  .target_ns = t->ns,
                                  .target_table = t->name,
                                  .target_snapshot = -1,
                                  .branch = branch};
    char stage[64], hits[64], uuid[37];
    char *resolved = NULL, *matched = NULL;
    /* v3: a row that replaces one keeps that row's _row_id (a new key's row gets none) */
    int carry =
        tn__lineage_available(t, tn_metadata_current_schema(t->meta), TN_SCAN_CARRY_ROW_ID) != 0;
    int rc, staged = 0, hits_staged = 0;

    *rows_updated = 0;
    if (check_changeable(t, err) || head_of(t, branch, &qo.target_snapshot, err))
        return err->code;
    qo.target_lineage = carry;
    tn_uuid4(uuid);
    snprintf(stage, sizeof(stage), "_tn_upsert_%.8s", uuid);
    snprintf(hits, sizeof(hits), "_tn_upsert_hits_%.8s", uuid);
    /* the upload, numbered in file order; with dedupe=last only each key's last row */
    tn_buf_addf(&q, NULL,
                "CREATE TEMP TABLE %s AS SELECT * FROM (SELECT *, row_number() OVER () "
                "AS _tn_rn FROM (%s))",
                stage, select_sql);
    if (dedupe_last) {
        tn_buf_addstr(&q, " QUALIFY row_number() OVER (PARTITION BY ", NULL);
        key_list(keys, NULL, &q);
        tn_buf_addstr(&q, " ORDER BY _tn_rn DESC) = 1", NULL);
    }
    rc = tn_engine_exec(s, q.buf, err);
    staged = !rc;
    if (!rc)
        rc = check_keys(s, stage, keys, dedupe_last, err);
    /* the rows whose key exists are replaced: their positions become position deletes */
    if (!rc) {
        tn_buf_reset(&q);
        tn_buf_addstr(&q, "SELECT t._tn_file, t._tn_pos", NULL);
        if (carry)
            tn_buf_addstr(&q, ", t." TN_LINEAGE_SOURCE_ROW_ID ", u._tn_rn", NULL);
        tn_buf_addstr(&q, " FROM ", NULL);
        tn_sql_ident(&q, t->ns);
        tn_buf_addstr(&q, ".", NULL);
        tn_sql_ident(&q, t->name);
        tn_buf_addf(&q, NULL, " AS t JOIN %s AS u ON ", stage);
        key_condition(keys, "t", "u", &q);
        rc = tn_query_resolve(wh, s, q.buf, &qo, &resolved, err);
    }
    if (!rc && carry) {
        /* the rows replaced, with the row ids their replacements take over */
        char *create = tn_asprintf("CREATE TEMP TABLE %s AS %s", hits, resolved);
        rc = tn_engine_exec(s, create, err);
        hits_staged = !rc;
        free(create);
        free(resolved);
        resolved = tn_asprintf("SELECT _tn_file, _tn_pos FROM %s", hits);
    }
    if (!rc && tn_delta_cdf_enabled(t->meta->root)) {
        /* change data: a row whose key was there updates it, the others are inserted */
        tn_buf_reset(&q);
        tn_buf_addf(&q, NULL, "SELECT u._tn_rn FROM %s AS u JOIN ", stage);
        tn_sql_ident(&q, t->ns);
        tn_buf_addstr(&q, ".", NULL);
        tn_sql_ident(&q, t->name);
        tn_buf_addstr(&q, " AS t ON ", NULL);
        key_condition(keys, "t", "u", &q);
        rc = tn_query_resolve(wh, s, q.buf, &qo, &matched, err);
    }
    if (!rc) {
        char *rows =
            carry ? tn_asprintf("SELECT u.* EXCLUDE (_tn_rn), h.%s FROM %s u LEFT JOIN "
                                "(SELECT DISTINCT ON (_tn_rn) _tn_rn, %s FROM %s) h "
                                "USING (_tn_rn)",
                                TN_LINEAGE_SOURCE_ROW_ID, stage, TN_LINEAGE_SOURCE_ROW_ID, hits)
                  : tn_asprintf("SELECT * EXCLUDE (_tn_rn) FROM %s", stage);
        char *typed = matched ? tn_asprintf("SELECT * EXCLUDE (_tn_rn), CASE WHEN _tn_rn IN (%s) "
                                            "THEN 'update_postimage' ELSE 'insert' END AS "
                                            "_change_type FROM %s",
                                            matched, stage)
                              : NULL;
        struct change_feed feed = {1, NULL, typed};
        int64_t snapshot = -1;
        rc = commit_change(wh, s, t, branch, "merge", resolved, rows, NULL, &feed, rows_updated,
                           &snapshot, err);
        free(rows);
        free(typed);
        if (!rc) {
            struct tn_rows *r = NULL;
            res->snapshot_id = snapshot;
            res->sequence_number = t->meta->last_sequence_number + 1;
            rows = tn_asprintf("SELECT count(*) FROM %s", stage);
            rc = tn_engine_rows(s, rows, 1, &r, err);
            if (!rc)
                tn_parse_i64(tn_rows_get(r, 0, 0), &res->rows_added);
            res->files_added = 1;
            tn_rows_free(r);
            free(rows);
        }
    }
    if (staged) {
        struct tn_err ignored;
        char *drop = tn_asprintf("DROP TABLE %s", stage);
        tn_engine_exec(s, drop, &ignored);
        free(drop);
    }
    if (hits_staged)
        drop_temp(s, hits);
    free(resolved);
    free(matched);
    tn_buf_release(&q);
    return rc;
}
