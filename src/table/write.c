/* write.c - write rows as Iceberg data files and commit them (see table.h).
 *
 * NOTES ON THE WRITE PATH
 *   1. DuckDB runs the caller's SELECT, casting each column to the table's type, into one new
 *      Parquet file (zstd, Parquet field ids = Iceberg field ids, the "iceberg.schema" footer
 *      key). Its footer gives the entry's statistics; nothing re-reads the data. A table staged
 *      with schema or property updates (tn__table_stage) writes with its staged schema.
 *   2. One manifest lists the new file as ADDED. Its entries inherit the snapshot id and
 *      sequence number from the manifest list, so it stays valid across retries.
 *   3. The commit is commit.c's (tn__commit): on each attempt this file's stage hook
 *      (attempt_commit) writes a manifest list on the version it builds on (the new manifest,
 *      plus the parent's manifests for an append, or a manifest of DELETED entries for an
 *      overwrite) and adds the add-snapshot and set-snapshot-ref updates; the staged updates
 *      (an ingest's new columns and upsert key) go into the same metadata file.
 *   4. A lost race deletes that attempt's files and retries; appends never conflict, row-level
 *      changes re-check what changed since they read (validate_since). Any failure deletes
 *      every file written, so nothing a reader can reach was ever published.
 * Invariant: until the swap succeeds, no published metadata names any new file. */
#include "table.h"
#include "table_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* An append that would leave more data manifests than this merges them into one (as
 * Iceberg-Java's commit.manifest.min-count-to-merge), so lists and scans stay short. */
#define MANIFEST_MERGE_MIN 100

/*---- Step 1: data file ----*/

/* FIELD_IDS for a struct's fields: {"a": 1, "s": {__duckdb_field_id: 2, "x": 3}, ...}. */
static void field_ids(const struct tn_type *t, struct tn_buf *sql);

void tn__field_id_value(const struct tn_type *t, int id, struct tn_buf *sql)
{
    if (t->kind == TN_T_STRUCT) {
        tn_buf_addf(sql, NULL, "{__duckdb_field_id: %d", id);
        for (size_t i = 0; i < t->nfields; i++) {
            tn_buf_addstr(sql, ", ", NULL);
            tn_sql_ident(sql, t->fields[i].name);
            tn_buf_addstr(sql, ": ", NULL);
            tn__field_id_value(t->fields[i].type, t->fields[i].id, sql);
        }
        tn_buf_addstr(sql, "}", NULL);
    } else if (t->kind == TN_T_LIST) {
        tn_buf_addf(sql, NULL, "{__duckdb_field_id: %d, element: ", id);
        tn__field_id_value(t->element, t->element_id, sql);
        tn_buf_addstr(sql, "}", NULL);
    } else if (t->kind == TN_T_MAP) {
        tn_buf_addf(sql, NULL, "{__duckdb_field_id: %d, key: ", id);
        tn__field_id_value(t->key, t->key_id, sql);
        tn_buf_addstr(sql, ", value: ", NULL);
        tn__field_id_value(t->value, t->value_id, sql);
        tn_buf_addstr(sql, "}", NULL);
    } else {
        tn_buf_addf(sql, NULL, "%d", id);
    }
}

static void field_ids(const struct tn_type *t, struct tn_buf *sql)
{
    tn_buf_addstr(sql, "{", NULL);
    for (size_t i = 0; i < t->nfields; i++) {
        if (i)
            tn_buf_addstr(sql, ", ", NULL);
        tn_sql_ident(sql, t->fields[i].name);
        tn_buf_addstr(sql, ": ", NULL);
        tn__field_id_value(t->fields[i].type, t->fields[i].id, sql);
    }
    tn_buf_addstr(sql, "}", NULL);
}

/* The column names "select_sql" produces. */
static int source_columns(struct tn_session *s, const char *select_sql, struct tn_rows **out,
                          struct tn_err *err)
{
    char *sql = tn_asprintf("DESCRIBE %s", select_sql);
    int rc = tn_engine_rows(s, sql, 100000, out, err);
    free(sql);
    return rc;
}

/* The DuckDB type of source column "name", or NULL when the rows do not have it. */
static const char *source_type(const struct tn_rows *cols, const char *name)
{
    for (size_t i = 0; i < cols->nrows; i++)
        if (strcmp(tn_rows_get(cols, i, 0), name) == 0)
            return tn_rows_get(cols, i, 1);
    return NULL;
}

/* Whether casting a source of DuckDB type "src" to "f" may round (a fraction into an integer),
 * which DuckDB does silently; such values must not be loaded. */
static int cast_may_round(const char *src, const struct tn_field *f)
{
    int integral = f->type->kind == TN_T_INT || f->type->kind == TN_T_LONG;
    return integral && (strcmp(src, "DOUBLE") == 0 || strcmp(src, "FLOAT") == 0 ||
                        strncmp(src, "DECIMAL", 7) == 0);
}

/* The condition under which source value "_tn_v" does not fit column "f". */
static void misfit_condition(const struct tn_field *f, struct tn_buf *q)
{
    tn_buf_addstr(q, "(TRY_CAST(_tn_v AS ", NULL);
    tn_type_duckdb(f->type, q, NULL);
    tn_buf_addstr(q, ") IS NULL OR TRY_CAST(_tn_v AS ", NULL);
    tn_type_duckdb(f->type, q, NULL);
    tn_buf_addstr(q, ") <> _tn_v)", NULL);
}

/* After a failed cast: find the first row whose value does not fit its column and say which
 * (TN_EUNPROCESSABLE). Rows are numbered from 1 in the order the source yields them. When none
 * is found the error stays as it was with "keep_unexplained", else it becomes a 422. */
static int explain_bad_value(struct tn_session *s, const struct tn_schema *schema,
                             const char *select_sql, int keep_unexplained, struct tn_err *err)
{
    char original[sizeof(err->msg)];

    memcpy(original, err->msg, sizeof(original));
    for (size_t i = 0; i < schema->root.nfields; i++) {
        /* a required column without a value */
        const struct tn_field *f = &schema->root.fields[i];
        struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
        struct tn_rows *r = NULL;
        struct tn_err ignored;
        int found;

        if (!f->required)
            continue;
        tn_buf_addstr(&q, "SELECT _tn_row FROM (SELECT row_number() OVER () AS _tn_row, ", NULL);
        tn_sql_ident(&q, f->name);
        tn_buf_addf(&q, NULL, " AS _tn_v FROM (%s)) WHERE _tn_v IS NULL LIMIT 1", select_sql);
        found = !tn_engine_rows(s, q.buf, 1, &r, &ignored) && r->nrows == 1;
        if (found)
            tn_fail(err, TN_EUNPROCESSABLE,
                    "row %s: column %s is required (NOT NULL) and has no value; give it one",
                    tn_rows_get(r, 0, 0), f->name);
        tn_rows_free(r);
        tn_buf_release(&q);
        if (found)
            return TN_EUNPROCESSABLE;
    }
    for (size_t i = 0; i < schema->root.nfields; i++) {
        const struct tn_field *f = &schema->root.fields[i];
        struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
        struct tn_rows *r = NULL;
        struct tn_err ignored;
        char type[64];

        if (!tn_type_is_primitive(f->type))
            continue;
        tn_buf_addstr(&q,
                      "SELECT _tn_row, CAST(_tn_v AS VARCHAR) FROM (SELECT row_number() "
                      "OVER () AS _tn_row, ",
                      NULL);
        tn_sql_ident(&q, f->name);
        tn_buf_addf(&q, NULL, " AS _tn_v FROM (%s)) WHERE _tn_v IS NOT NULL AND ", select_sql);
        misfit_condition(f, &q);
        tn_buf_addstr(&q, " LIMIT 1", NULL);
        if (!tn_engine_rows(s, q.buf, 1, &r, &ignored) && r->nrows == 1) {
            tn_type_name(f->type, type, sizeof(type));
            tn_fail(err, TN_EUNPROCESSABLE,
                    "row %s: value '%.80s' in column %s does not fit its type %s; fix the value "
                    "or load it into a column of a wider type",
                    tn_rows_get(r, 0, 0), tn_rows_get(r, 0, 1) ? tn_rows_get(r, 0, 1) : "", f->name,
                    type);
            tn_rows_free(r);
            tn_buf_release(&q);
            return TN_EUNPROCESSABLE;
        }
        tn_rows_free(r);
        tn_buf_release(&q);
    }
    if (keep_unexplained)
        return err->code;
    return tn_fail(err, TN_EUNPROCESSABLE, "a value does not fit its column: %s", original);
}

/* Append "CAST(<write-default literal>" for a column that has a primitive write-default. */
static int write_default(const struct tn_field *f, struct tn_buf *sql)
{
    json_t *d = json_object_get(f->json, "write-default");

    if (!d || json_is_null(d) || !tn_type_is_primitive(f->type))
        return 0;
    tn_buf_addstr(sql, "CAST(", NULL);
    if (json_is_string(d)) {
        tn_sql_string(sql, json_string_value(d));
    } else {
        char *text = json_dumps(d, JSON_ENCODE_ANY);
        tn_sql_string(sql, text);
        free(text);
    }
    return 1;
}

/* Whether "schema" has a column named "name" (in any case). */
static int schema_has_name(const struct tn_schema *schema, const char *name)
{
    for (size_t i = 0; i < schema->root.nfields; i++)
        if (strcasecmp(schema->root.fields[i].name, name) == 0)
            return 1;
    return 0;
}

/* v3 row lineage a writer carries over: the rows' source columns TN_LINEAGE_SOURCE_ROW_ID and
 * TN_LINEAGE_SOURCE_SEQ (only tarn's own rewrites name them) are appended to the select list
 * as the Parquet columns _row_id and _last_updated_sequence_number, unless the table has a
 * column of that name. Returns which were (1: _row_id, 2: the sequence number). */
static unsigned lineage_columns(const struct tn_schema *schema, const struct tn_rows *cols,
                                struct tn_buf *sql)
{
    unsigned got = 0;

    if (source_type(cols, TN_LINEAGE_SOURCE_ROW_ID) && !schema_has_name(schema, TN_COLUMN_ROW_ID)) {
        tn_buf_addf(sql, NULL, "%sCAST(%s AS BIGINT) AS %s", schema->root.nfields ? ", " : "",
                    TN_LINEAGE_SOURCE_ROW_ID, TN_COLUMN_ROW_ID);
        got |= 1;
    }
    if (source_type(cols, TN_LINEAGE_SOURCE_SEQ) &&
        !schema_has_name(schema, TN_COLUMN_LAST_UPDATED_SEQ)) {
        tn_buf_addf(sql, NULL, "%sCAST(%s AS BIGINT) AS %s",
                    schema->root.nfields || got ? ", " : "", TN_LINEAGE_SOURCE_SEQ,
                    TN_COLUMN_LAST_UPDATED_SEQ);
        got |= 2;
    }
    return got;
}

/* COPY the rows into a new Parquet file at local "path" (DuckDB keeps their order in one file;
 * not when it cuts files by size, so tarn never asks it to). With "explain", a refused value is
 * looked for by reading the rows again, to name its row. */
static int copy_rows(struct tn_session *s, const struct tn_schema *schema, const char *select_sql,
                     const char *partition_exprs, const char *path, int explain, int64_t *rows,
                     struct tn_err *err)
{
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_rows *cols = NULL, *res = NULL;
    char *schema_json = NULL;
    int rc, guarded = 0;
    unsigned lineage = 0;

    rc = source_columns(s, select_sql, &cols, err);
    if (rc)
        goto out;
    tn_buf_addstr(&sql, "COPY (", NULL);
    if (partition_exprs)
        tn_buf_addf(&sql, NULL, "SELECT *, %s FROM (", partition_exprs);
    tn_buf_addstr(&sql, "SELECT ", NULL);
    for (size_t i = 0; i < schema->root.nfields; i++) {
        const struct tn_field *f = &schema->root.fields[i];
        const char *src = source_type(cols, f->name);
        int must_have = f->required && src;

        if (i)
            tn_buf_addstr(&sql, ", ", NULL);
        if (f->required && !src && !json_object_get(f->json, "write-default")) {
            rc = tn_fail(err, TN_EUNPROCESSABLE,
                         "column %s is required (NOT NULL) and the rows do not have it; give it "
                         "a value",
                         f->name);
            goto out;
        }
        if (must_have) {
            /* a NULL in a required column stops the COPY (explained below, with its row) */
            guarded = 1;
            tn_buf_addstr(&sql, "CASE WHEN ", NULL);
            tn_sql_ident(&sql, f->name);
            tn_buf_addstr(&sql, " IS NULL THEN error('tarn: required value missing') ELSE ", NULL);
        }
        if (src && cast_may_round(src, f)) {
            /* refuse fractions rather than round them: error() stops the COPY */
            guarded = 1;
            tn_buf_addstr(&sql, "CASE WHEN ", NULL);
            tn_sql_ident(&sql, f->name);
            tn_buf_addstr(&sql, " = round(", NULL);
            tn_sql_ident(&sql, f->name);
            tn_buf_addstr(&sql, ") OR ", NULL);
            tn_sql_ident(&sql, f->name);
            tn_buf_addstr(&sql, " IS NULL THEN CAST(", NULL);
            tn_sql_ident(&sql, f->name);
            tn_buf_addstr(&sql, " AS ", NULL);
            if ((rc = tn_type_duckdb(f->type, &sql, err)))
                goto out;
            tn_buf_addstr(&sql, ") ELSE error('tarn: value does not fit') END", NULL);
        } else {
            if (src) {
                tn_buf_addstr(&sql, "CAST(", NULL);
                tn_sql_ident(&sql, f->name);
            } else if (write_default(f, &sql)) {
                /* a column the rows do not have takes its write-default */
            } else {
                tn_buf_addstr(&sql, "CAST(NULL", NULL);
            }
            tn_buf_addstr(&sql, " AS ", NULL);
            if ((rc = tn_type_duckdb(f->type, &sql, err)))
                goto out;
            tn_buf_addstr(&sql, ")", NULL);
        }
        tn_buf_addstr(&sql, must_have ? " END AS " : " AS ", NULL);
        tn_sql_ident(&sql, f->name);
    }
    lineage = lineage_columns(schema, cols, &sql);
    tn_buf_addf(&sql, NULL, " FROM (%s))%s TO ", select_sql, partition_exprs ? ")" : "");
    tn_sql_string(&sql, path);
    tn_buf_addstr(&sql, " (FORMAT parquet, COMPRESSION zstd, ", NULL);
    if (partition_exprs) {
        /* one folder per partition, each partition's rows in its own files */
        tn_buf_addstr(&sql, "PARTITION_BY (", NULL);
        for (size_t i = 0; strstr(partition_exprs, "__tn_p") && i < 64; i++) {
            char col[16];
            snprintf(col, sizeof(col), "__tn_p%zu", i);
            if (!strstr(partition_exprs, col))
                break;
            tn_buf_addf(&sql, NULL, "%s%s", i ? ", " : "", col);
        }
        tn_buf_addstr(&sql, "), FILENAME_PATTERN '{uuid}', ", NULL);
    }
    tn_buf_addstr(&sql, "FIELD_IDS ", NULL);
    field_ids(&schema->root, &sql);
    if (lineage) {
        sql.len--; /* reopen the map for the lineage columns' reserved ids */
        if (lineage & 1)
            tn_buf_addf(&sql, NULL, "%s%s: %d", schema->root.nfields ? ", " : "", TN_COLUMN_ROW_ID,
                        TN_FIELD_ID_ROW_ID);
        if (lineage & 2)
            tn_buf_addf(&sql, NULL, "%s%s: %d", schema->root.nfields || (lineage & 1) ? ", " : "",
                        TN_COLUMN_LAST_UPDATED_SEQ, TN_FIELD_ID_LAST_UPDATED_SEQ);
        tn_buf_addstr(&sql, "}", NULL);
    }
    schema_json = json_dumps(schema->json, JSON_COMPACT | JSON_PRESERVE_ORDER);
    tn_buf_addstr(&sql, ", KV_METADATA {'iceberg.schema': ", NULL);
    tn_sql_string(&sql, schema_json);
    tn_buf_addstr(&sql, "})", NULL);
    rc = tn_engine_rows(s, sql.buf, 1, &res, err);
    if (explain && (rc == TN_EUNPROCESSABLE || (rc == TN_EINPUT && guarded))) {
        /* a value that does not convert (a conversion error), or a fraction the guard above
           stopped (error() is an invalid-input error): the data's fault, not the request's */
        rc = explain_bad_value(s, schema, select_sql, rc == TN_EINPUT, err);
    }
    if (rc)
        goto out;
    *rows = 0;
    if (res->nrows && tn_rows_get(res, 0, 0))
        tn_parse_i64(tn_rows_get(res, 0, 0), rows);
out:
    tn_rows_free(cols);
    tn_rows_free(res);
    tn_buf_release(&sql);
    free(schema_json);
    return rc;
}

int tn__copy_to_parquet(struct tn_session *s, const struct tn_schema *schema,
                        const char *select_sql, const char *partition_exprs, const char *path,
                        int64_t *rows, struct tn_err *err)
{
    return copy_rows(s, schema, select_sql, partition_exprs, path, 1, rows, err);
}

int tn__require_columns(const struct tn_schema *schema, const char *path, struct tn_err *err)
{
    int *ids = tn_calloc(schema->root.nfields + 1, sizeof(*ids));
    struct tn_err why = {0, ""};
    size_t n = 0;
    int rc = 0;

    for (size_t i = 0; i < schema->root.nfields; i++) {
        const struct tn_field *f = &schema->root.fields[i];
        if (f->required && tn_type_is_primitive(f->type))
            ids[n++] = f->id;
    }
    if (n && tn_parquet_make_required(path, ids, n, &why) == TN_EUNPROCESSABLE)
        rc = tn_fail(err, TN_EUNPROCESSABLE, "%s", why.msg);
    free(ids);
    return rc;
}

/* Collect the primitive field ids outside lists and maps: the ones that get bounds. */
static void boundable_ids(const struct tn_type *t, int *ids, size_t *n, size_t cap)
{
    for (size_t i = 0; i < t->nfields; i++) {
        const struct tn_field *f = &t->fields[i];
        if (f->type->kind == TN_T_STRUCT)
            boundable_ids(f->type, ids, n, cap);
        else if (tn_type_is_primitive(f->type) && *n < cap)
            ids[(*n)++] = f->id;
    }
}

static int is_boundable(const int *ids, size_t n, int id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

/* The bounds of one column over a file's row groups. */
struct column_bounds {
    int ok;  /* every row group with values had statistics that convert */
    int any; /* some row group had values (an empty string is a real, zero-length bound) */
    size_t lower_len, upper_len;
    unsigned char lower[TN_BOUND_MAX], upper[TN_BOUND_MAX];
};

/* Widen "b" by chunk "c" of "leaf", a column of type "t". A chunk of nulls only leaves it as it
 * is; one with values but no statistics that convert (DuckDB writes none when a value is NaN)
 * means the column gets no bounds. */
static void add_chunk_bounds(const struct tn_type *t, const struct tn_parquet_leaf *leaf,
                             const struct tn_parquet_chunk *c, struct column_bounds *b)
{
    unsigned char lower[TN_BOUND_MAX], upper[TN_BOUND_MAX];
    size_t lower_len, upper_len;

    if (c->null_count >= 0 && c->null_count >= c->num_values)
        return;
    if (!c->min.p || !c->max.p ||
        tn_bound_from_parquet(t, leaf, c->min.p, c->min.n, 0, lower, &lower_len, NULL) ||
        tn_bound_from_parquet(t, leaf, c->max.p, c->max.n, 1, upper, &upper_len, NULL)) {
        b->ok = 0;
        return;
    }
    if (!b->any || tn_bound_compare(t, lower, lower_len, b->lower, b->lower_len) < 0) {
        memcpy(b->lower, lower, lower_len);
        b->lower_len = lower_len;
    }
    if (!b->any || tn_bound_compare(t, upper, upper_len, b->upper, b->upper_len) > 0) {
        memcpy(b->upper, upper, upper_len);
        b->upper_len = upper_len;
    }
    b->any = 1;
}

static void add_id_bytes(struct tn_id_bytes *v, size_t *n, int id, const unsigned char *p,
                         size_t len)
{
    v[*n].id = id;
    v[*n].value.p = tn_malloc(len);
    memcpy(v[*n].value.p, p, len);
    v[*n].value.n = len;
    (*n)++;
}

/* Sum of counts that saturates rather than overflows (a footer's counts are not trusted). */
static int64_t add_count(int64_t sum, int64_t v)
{
    int64_t total;
    return __builtin_add_overflow(sum, v, &total) ? INT64_MAX : total;
}

/* Append leaf "c"'s sizes and counts to "f", and its bounds when "fld" is a column that gets
 * them (else NULL). */
static void add_column_stats(const struct tn_parquet_footer *pf, size_t c,
                             const struct tn_field *fld, struct tn_data_file *f)
{
    const struct tn_parquet_leaf *leaf = &pf->leaves[c];
    struct column_bounds b = {fld != NULL, 0, 0, 0, {0}, {0}};
    int64_t size = 0, values = 0, nulls = 0;
    int nulls_known = 1; /* DuckDB writes no null count for list elements and map values */

    for (size_t g = 0; g < pf->nrow_groups; g++) {
        const struct tn_parquet_chunk *chunk = &pf->chunks[g * pf->nleaves + c];
        size = add_count(size, chunk->total_compressed_size);
        values = add_count(values, chunk->num_values);
        if (chunk->null_count >= 0)
            nulls = add_count(nulls, chunk->null_count);
        else
            nulls_known = 0;
        if (b.ok)
            add_chunk_bounds(fld->type, leaf, chunk, &b);
    }
    f->column_sizes[f->ncolumn_sizes++] = (struct tn_id_long){leaf->field_id, size};
    f->value_counts[f->nvalue_counts++] = (struct tn_id_long){leaf->field_id, values};
    if (nulls_known) /* an unknown count is left out, not written as 0 */
        f->null_counts[f->nnull_counts++] = (struct tn_id_long){leaf->field_id, nulls};
    if (b.ok && b.any) {
        add_id_bytes(f->lower, &f->nlower, leaf->field_id, b.lower, b.lower_len);
        add_id_bytes(f->upper, &f->nupper, leaf->field_id, b.upper, b.upper_len);
    }
}

/* Fill the data file's statistics from the Parquet footer: per leaf column with a field id, its
 * compressed size, value count and null count summed over the row groups, and bounds for
 * primitive columns outside lists and maps; per row group, where its first page starts. */
int tn__file_stats(const struct tn_schema *schema, const char *path, struct tn_data_file *f,
                   struct tn_err *err)
{
    struct tn_parquet_footer pf;
    int bound_ids[4096];
    size_t nbound = 0, nleaves;
    int rc;

    rc = tn_parquet_footer_read(path, &pf, err);
    if (rc)
        return rc;
    boundable_ids(&schema->root, bound_ids, &nbound, sizeof(bound_ids) / sizeof(bound_ids[0]));
    if (!f->record_count)
        f->record_count = pf.num_rows; /* a file whose writer did not count its rows */
    nleaves = pf.nleaves;
    f->column_sizes = tn_calloc(nleaves + 1, sizeof(*f->column_sizes));
    f->value_counts = tn_calloc(nleaves + 1, sizeof(*f->value_counts));
    f->null_counts = tn_calloc(nleaves + 1, sizeof(*f->null_counts));
    f->lower = tn_calloc(nleaves + 1, sizeof(*f->lower));
    f->upper = tn_calloc(nleaves + 1, sizeof(*f->upper));
    for (size_t c = 0; c < nleaves; c++) {
        int id = pf.leaves[c].field_id;
        const struct tn_field *fld;

        if (id < 0 || id == TN_FIELD_ID_ROW_ID || id == TN_FIELD_ID_LAST_UPDATED_SEQ)
            continue; /* no metrics for v3 row-lineage columns: not fields of the schema */
        fld = is_boundable(bound_ids, nbound, id) ? tn_schema_find(schema, id) : NULL;
        add_column_stats(&pf, c, fld, f);
    }
    f->split_offsets = tn_calloc(pf.nrow_groups + 1, sizeof(int64_t));
    for (size_t g = 0; g < pf.nrow_groups && nleaves; g++) {
        const struct tn_parquet_chunk *first = &pf.chunks[g * nleaves];
        f->split_offsets[f->nsplit_offsets++] = first->dictionary_page_offset >= 0
                                                    ? first->dictionary_page_offset
                                                    : first->data_page_offset;
    }
    tn_parquet_footer_release(&pf);
    return 0;
}

/*---- Step 3: one attempt ----*/

static int64_t summary_total(const struct tn_metadata *m, int64_t parent_id, const char *key)
{
    const struct tn_snapshot *parent = tn_metadata_snapshot(m, parent_id);
    int64_t v = 0;

    if (parent && parent->summary && json_is_string(json_object_get(parent->summary, key)))
        tn_parse_i64(json_string_value(json_object_get(parent->summary, key)), &v);
    return v;
}

static void summary_set(json_t *summary, const char *key, int64_t v)
{
    char text[24];
    snprintf(text, sizeof(text), "%lld", (long long)v);
    json_object_set_new(summary, key, json_string(text));
}

struct pending {
    enum tn_write_mode mode; /* OVERWRITE also removes every live file of the parent */
    const char *branch;      /* NULL: main */
    const char *operation;   /* the snapshot summary's operation */
    int64_t read_snapshot;   /* row-level changes: the snapshot their rows came from */
    int64_t snapshot_id;
    struct tn_manifest_file added;    /* manifest of the new data files (path NULL: none) */
    struct tn_manifest_file *removed; /* manifests of new position deletes, one per spec */
    size_t nremoved;
    int64_t data_files, data_rows, data_bytes;
    int64_t delete_files, delete_rows, delete_bytes;
    int64_t sequence_number; /* of the last attempt */
    int attempts;
    json_t *remove;       /* OVERWRITE: the file paths to remove (NULL: every file) */
    json_t *replaced_dvs; /* data file paths whose deletion vector a new one replaces */
    int64_t dv_files;     /* of delete_files, how many are deletion vectors */
    json_t *touched;      /* partitions of the new files (see partition_touched) */
};

/* Whether an overwrite removes the parent's live entry "e": a listed file (every file without a
 * list); a deletion vector goes with its data file, or when a new vector replaces it. */
static int entry_removed(const struct pending *p, const struct tn_manifest_entry *e)
{
    if (!p->remove)
        return 1;
    if (tn__is_dv(&e->file))
        return json_object_get(p->remove, e->file.referenced_data_file) ||
               json_object_get(p->replaced_dvs, e->file.referenced_data_file);
    return json_object_get(p->remove, e->file.file_path) != NULL;
}

/* The bytes a file adds to a table's size, as Iceberg-Java counts them: a deletion vector its
 * blob, any other file all of it. */
static int64_t content_bytes(const struct tn_data_file *f)
{
    return tn__is_dv(f) ? f->content_size : f->file_size;
}

/* Add the partition of a file of spec "spec_id" to the set "touched", keyed as Iceberg-Java's
 * SnapshotSummary keys them for changed-partition-count: one key for unpartitioned files. */
static void partition_touched(json_t *touched, int spec_id, const struct tn_data_file *f)
{
    struct tn_buf k = TN_BUF_INIT(TN_CAP_INTERNAL);

    if (f->npartition)
        tn_buf_addf(&k, NULL, "%d", spec_id);
    for (size_t i = 0; i < f->npartition; i++) {
        const struct tn_pvalue *v = &f->partition[i];
        if (v->is_null) {
            tn_buf_addstr(&k, "/null", NULL);
            continue;
        }
        tn_buf_addf(&k, NULL, "/%d:%lld:%a:", v->kind, (long long)v->i, v->d);
        for (size_t b = 0; b < v->bytes.n; b++)
            tn_buf_addf(&k, NULL, "%02x", v->bytes.p[b]);
    }
    json_object_set_new(touched, k.buf ? k.buf : "", json_true());
    tn_buf_release(&k);
}

/* What an overwrite removes and keeps of the parent's live files, by content (0 data,
 * 1 position deletes, 2 equality deletes), for the snapshot summary. */
struct overwrite_counts {
    int64_t removed_files[3], removed_rows[3], removed_bytes[3];
    int64_t kept_files[3], kept_rows[3], kept_bytes[3];
    int64_t removed_dvs; /* of removed_files[1] */
};

static void count_overwrite(const struct tn_scan *scan, const struct pending *p, json_t *touched,
                            struct overwrite_counts *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < scan->ndata + scan->ndeletes; i++) {
        const struct tn_manifest_entry *e =
            i < scan->ndata ? &scan->data[i] : &scan->deletes[i - scan->ndata];
        int k = e->file.content >= 0 && e->file.content <= 2 ? e->file.content : 0;
        if (!entry_removed(p, e)) {
            c->kept_files[k]++;
            c->kept_rows[k] += e->file.record_count;
            c->kept_bytes[k] += content_bytes(&e->file);
            continue;
        }
        c->removed_files[k]++;
        c->removed_dvs += tn__is_dv(&e->file);
        c->removed_rows[k] += e->file.record_count;
        c->removed_bytes[k] += content_bytes(&e->file);
        partition_touched(touched, e->spec_id, &e->file);
    }
}

/* Set "key" to "v" when "v" is positive, as Iceberg-Java writes its counts. */
static void summary_set_positive(json_t *summary, const char *key, int64_t v)
{
    if (v > 0)
        summary_set(summary, key, v);
}

/* Row-level changes may commit over appends made since they read the table, but not over
 * anything that deleted or replaced rows: that could resurrect or double-delete a row. */
static int validate_since(const struct tn_table *t, struct pending *p, int64_t parent,
                          struct tn_err *err)
{
    int64_t id = parent;

    if (p->read_snapshot == -1 || parent == p->read_snapshot)
        return 0;
    for (size_t guard = 0; id != -1 && guard <= t->meta->nsnapshots; guard++) {
        const struct tn_snapshot *s = tn_metadata_snapshot(t->meta, id);
        if (id == p->read_snapshot)
            return 0;
        if (!s || !s->operation || strcmp(s->operation, "append") != 0)
            break;
        id = s->parent_id;
    }
    return tn_fail(err, TN_ECONFLICT,
                   "table %s.%s: another commit changed or removed rows since this statement "
                   "read them; run it again",
                   t->ns, t->name);
}

/* For an overwrite: a manifest of the parent's live files of "content" written with spec
 * "spec_id", each DELETED unless p->remove keeps it (then EXISTING). A manifest holds one
 * spec's files, so a table with several specs gets one such manifest per spec. */
static int deleted_manifest(struct tn_warehouse *wh, const struct tn_table *t,
                            const struct tn_scan *scan, int content, int spec_id, int64_t seq,
                            const struct pending *p, struct tn_manifest_file *out,
                            struct tn__files *w, struct tn_err *err)
{
    const struct tn_manifest_entry *src = content ? scan->deletes : scan->data;
    size_t n = content ? scan->ndeletes : scan->ndata, nspec = 0;
    struct tn_manifest_info info;
    char uuid[37];
    char *path = NULL, *data = NULL;
    size_t len = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        nspec += src[i].spec_id == spec_id;
    if (!nspec)
        return 0;
    /* each entry keeps its own partition tuple, which its spec describes */
    info.schema = tn_metadata_current_schema(t->meta);
    info.spec = tn_metadata_spec(t->meta, spec_id);
    info.content = content;
    info.snapshot_id = p->snapshot_id;
    info.sequence_number = seq;
    info.format_version = t->meta->format_version;
    {
        struct tn_manifest_entry *copy = tn_calloc(nspec, sizeof(*copy));
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (src[i].spec_id != spec_id)
                continue;
            copy[k] = src[i];
            if (!entry_removed(p, &src[i])) {
                /* kept: carried over with its own snapshot and sequence numbers */
                copy[k++].status = TN_ENTRY_EXISTING;
                continue;
            }
            copy[k++].status = TN_ENTRY_DELETED;
        }
        rc = tn_manifest_write(&info, copy, nspec, &data, &len, out, err);
        free(copy); /* shallow copies: the scan owns the contents */
    }
    if (rc)
        return rc;
    tn_uuid4(uuid);
    path = tn_asprintf("%s/metadata/%s-m%d.avro", t->meta->location, uuid, content ? 2 : 1);
    rc = tn__files_write(wh, t, path, data, len, w, err);
    out->path = path;
    out->length = (int64_t)len;
    free(data);
    return rc;
}

static void manifest_file_release(struct tn_manifest_file *mf)
{
    free(mf->path);
    for (size_t j = 0; j < mf->npartitions; j++) {
        free(mf->partitions[j].lower.p);
        free(mf->partitions[j].upper.p);
    }
    free(mf->partitions);
    memset(mf, 0, sizeof(*mf));
}

/* For an append: the parent's manifests go into the new list as they are, unless there are so
 * many data manifests of the default spec that they are merged into one ("merged", whose
 * entries are EXISTING with their own snapshot ids and sequence numbers). */
static int carry_manifests(struct tn_warehouse *wh, const struct tn_table *t,
                           const struct pending *p, int64_t seq, struct tn_manifest_file *base,
                           size_t nbase, struct tn_manifest_file *list, size_t *nlist,
                           struct tn_manifest_file *merged, struct tn__files *w, struct tn_err *err)
{
    int spec_id = t->meta->default_spec_id;
    struct tn_manifest_entry *all = NULL;
    size_t nall = 0, cap = 0, candidates = 0;
    struct tn_manifest_info info;
    char *data = NULL;
    size_t len = 0;
    char uuid[37];
    int rc = 0;

    for (size_t i = 0; i < nbase; i++)
        candidates += base[i].content == 0 && base[i].spec_id == spec_id;
    if (candidates + 1 <= MANIFEST_MERGE_MIN) {
        for (size_t i = 0; i < nbase; i++)
            list[(*nlist)++] = base[i];
        return 0;
    }
    for (size_t i = 0; !rc && i < nbase; i++) {
        if (base[i].content == 0 && base[i].spec_id == spec_id)
            rc = tn__carry_live_entries(wh, t, &base[i], &all, &nall, &cap, err);
        else
            list[(*nlist)++] = base[i];
    }
    if (!rc) {
        info.schema = tn_metadata_current_schema(t->meta);
        info.spec = tn_metadata_spec(t->meta, spec_id);
        info.content = 0;
        info.snapshot_id = p->snapshot_id;
        info.sequence_number = seq;
        info.format_version = t->meta->format_version;
        rc = tn_manifest_write(&info, all, nall, &data, &len, merged, err);
    }
    if (!rc) {
        tn_uuid4(uuid);
        merged->path = tn_asprintf("%s/metadata/%s-m1.avro", t->meta->location, uuid);
        merged->length = (int64_t)len;
        rc = tn__files_write(wh, t, merged->path, data, len, w, err);
    }
    if (!rc)
        list[(*nlist)++] = *merged;
    tn_manifest_entries_free(all, nall);
    free(data);
    return rc;
}

/* The stage of a row change's commit (see commit.c): on the version it builds on, the manifest
 * list and the updates that add the snapshot. */
static int attempt_commit(struct tn_warehouse *wh, const struct tn_table *base,
                          const struct tn_metadata *m, void *ctx, json_t *updates,
                          struct tn__files *attempt_files, struct tn_err *err)
{
    struct pending *p = ctx;
    struct tn_table view = *base; /* the base as the change's other updates leave it */
    const struct tn_table *t = &view;
    int64_t seq = m->last_sequence_number + 1;
    int64_t parent = m->current_snapshot_id;
    struct tn_scan *scan = NULL;
    struct tn_manifest_file *carried = NULL, *list = NULL;
    struct tn_manifest_file *gone = NULL, merged;
    size_t ncarried = 0, nlist = 0, ngone = 2 * m->nspecs;
    json_t *summary = json_object();
    char *list_path = NULL, *list_data = NULL;
    size_t list_len = 0;
    int64_t added_row_ids = 0;
    char uuid[37];
    int rc;

    view.meta = (struct tn_metadata *)m; /* read only */
    p->attempts++;
    gone = tn_calloc(ngone + 1, sizeof(*gone));
    memset(&merged, 0, sizeof(merged));
    if (p->branch && strcmp(p->branch, "main") != 0) {
        const struct tn_ref *ref = tn_metadata_ref(m, p->branch);
        if (!ref || ref->is_tag) {
            rc = tn_fail(err, TN_ENOTFOUND,
                         "table %s.%s has no branch '%s'; create it first (tarn branch)", t->ns,
                         t->name, p->branch);
            goto out;
        }
        parent = ref->snapshot_id;
    }
    rc = validate_since(t, p, parent, err);
    if (rc)
        goto out;
    if (p->mode == TN_WRITE_APPEND)
        rc = tn_table_manifests(wh, t, parent, &carried, &ncarried,
                                err); /* appends read no manifest */
    else
        rc = tn_table_scan(wh, t, parent, &scan, err);
    if (rc)
        goto out;
    list = tn_calloc(ncarried + ngone + p->nremoved + 3, sizeof(*list));
    if (p->added.path)
        list[nlist++] = p->added;
    for (size_t i = 0; i < p->nremoved; i++)
        list[nlist++] = p->removed[i];
    for (size_t i = 0; i < nlist; i++) {
        list[i].sequence_number = seq;
        list[i].min_sequence_number = seq;
    }
    if (p->mode == TN_WRITE_APPEND) {
        rc = carry_manifests(wh, t, p, seq, carried, ncarried, list, &nlist, &merged, attempt_files,
                             err);
    } else {
        for (size_t sp = 0; !rc && sp < m->nspecs; sp++) {
            int spec_id = m->specs[sp].spec_id;
            rc = deleted_manifest(wh, t, scan, 0, spec_id, seq, p, &gone[2 * sp], attempt_files,
                                  err);
            if (!rc)
                rc = deleted_manifest(wh, t, scan, 1, spec_id, seq, p, &gone[2 * sp + 1],
                                      attempt_files, err);
        }
        for (size_t g = 0; !rc && g < ngone; g++) {
            if (!gone[g].path)
                continue;
            list[nlist] = gone[g];
            nlist++;
        }
    }
    if (rc)
        goto out;
    tn_uuid4(uuid);
    list_path = tn_asprintf("%s/metadata/snap-%lld-1-%s.avro", m->location,
                            (long long)p->snapshot_id, uuid);
    if (m->format_version >= 3)
        added_row_ids = tn_manifest_list_assign_row_ids(list, nlist, m->next_row_id);
    rc = tn_manifest_list_write(list, nlist, p->snapshot_id, parent, seq, m->format_version,
                                &list_data, &list_len, err);
    if (!rc)
        rc = tn__files_write(wh, t, list_path, list_data, list_len, attempt_files, err);
    if (rc)
        goto out;

    json_object_set_new(summary, "operation", json_string(p->operation));
    {
        /* the keys and rules of Iceberg-Java's SnapshotSummary: counts only when positive,
         * totals carried from the parent (append) or counted from what stays (overwrite) */
        json_t *touched = json_deep_copy(p->touched);
        struct overwrite_counts oc;
        int keep = p->mode == TN_WRITE_APPEND;
        memset(&oc, 0, sizeof(oc));
        if (!keep)
            count_overwrite(scan, p, touched, &oc);
        summary_set_positive(summary, "added-data-files", p->data_files);
        summary_set_positive(summary, "deleted-data-files", oc.removed_files[0]);
        summary_set_positive(summary, "added-records", p->data_rows);
        summary_set_positive(summary, "deleted-records", oc.removed_rows[0]);
        summary_set_positive(summary, "added-files-size", p->data_bytes + p->delete_bytes);
        summary_set_positive(summary, "removed-files-size",
                             oc.removed_bytes[0] + oc.removed_bytes[1] + oc.removed_bytes[2]);
        summary_set_positive(summary, "added-delete-files", p->delete_files);
        summary_set_positive(summary, "added-position-delete-files", p->delete_files - p->dv_files);
        summary_set_positive(summary, "added-dvs", p->dv_files);
        summary_set_positive(summary, "removed-delete-files",
                             oc.removed_files[1] + oc.removed_files[2]);
        summary_set_positive(summary, "removed-position-delete-files",
                             oc.removed_files[1] - oc.removed_dvs);
        summary_set_positive(summary, "removed-dvs", oc.removed_dvs);
        summary_set_positive(summary, "removed-equality-delete-files", oc.removed_files[2]);
        summary_set_positive(summary, "added-position-deletes", p->delete_rows);
        summary_set_positive(summary, "removed-position-deletes", oc.removed_rows[1]);
        summary_set_positive(summary, "removed-equality-deletes", oc.removed_rows[2]);
        summary_set(summary, "changed-partition-count", (int64_t)json_object_size(touched));
        json_decref(touched);
        summary_set(summary, "total-records",
                    (keep ? summary_total(m, parent, "total-records") : oc.kept_rows[0]) +
                        p->data_rows);
        summary_set(summary, "total-files-size",
                    (keep ? summary_total(m, parent, "total-files-size")
                          : oc.kept_bytes[0] + oc.kept_bytes[1] + oc.kept_bytes[2]) +
                        p->data_bytes + p->delete_bytes);
        summary_set(summary, "total-data-files",
                    (keep ? summary_total(m, parent, "total-data-files") : oc.kept_files[0]) +
                        p->data_files);
        summary_set(summary, "total-delete-files",
                    (keep ? summary_total(m, parent, "total-delete-files")
                          : oc.kept_files[1] + oc.kept_files[2]) +
                        p->delete_files);
        summary_set(summary, "total-position-deletes",
                    (keep ? summary_total(m, parent, "total-position-deletes") : oc.kept_rows[1]) +
                        p->delete_rows);
        summary_set(summary, "total-equality-deletes",
                    keep ? summary_total(m, parent, "total-equality-deletes") : oc.kept_rows[2]);
    }
    {
        int64_t created = (p->added.path != NULL) + (int64_t)p->nremoved + (merged.path != NULL);
        for (size_t g = 0; g < ngone; g++)
            created += gone[g].path != NULL;
        summary_set(summary, "manifests-created", created);
        summary_set(summary, "manifests-kept", (int64_t)nlist - created);
    }
    if (merged.path)
        summary_set(summary, "manifests-replaced",
                    (int64_t)ncarried -
                        ((int64_t)nlist - (p->added.path != NULL) - (int64_t)p->nremoved - 1));
    json_object_set_new(summary, "engine-name", json_string("tarn"));
    {
        struct tn_snapshot_new sn = {
            .id = p->snapshot_id,
            .parent_id = parent,
            .sequence_number = seq,
            .timestamp_ms = tn_now_ms() > m->last_updated_ms ? tn_now_ms() : m->last_updated_ms + 1,
            .schema_id = m->current_schema_id,
            .manifest_list = list_path,
            .summary = summary,
            .branch = p->branch,
            .has_row_lineage = m->format_version >= 3,
            .first_row_id = m->next_row_id,
            .added_rows = added_row_ids,
        };
        tn_updates_add_snapshot(
            updates, &sn,
            p->branch ? json_object_get(json_object_get(m->root, "refs"), p->branch) : NULL);
        p->sequence_number = seq;
    }
out:
    for (size_t g = 0; g < ngone; g++)
        manifest_file_release(&gone[g]);
    free(gone);
    manifest_file_release(&merged);
    free(list); /* shallow: entries belong to "carried", the scan and "p" */
    tn_manifest_files_free(carried, ncarried);
    tn_scan_free(scan);
    json_decref(summary);
    free(list_path);
    free(list_data);
    return rc;
}

/* Write one manifest of "n" new files (content 0 data, 1 deletes) of partition spec "spec_id"
 * and describe it in "out". */
static int new_manifest(struct tn_warehouse *wh, const struct tn_table *t, int content, int spec_id,
                        const struct tn_data_file *files, size_t n, int64_t snapshot_id,
                        struct tn_manifest_file *out, struct tn__files *w, struct tn_err *err)
{
    struct tn_manifest_entry *entries = tn_calloc(n + 1, sizeof(*entries));
    struct tn_manifest_info info;
    char *data = NULL;
    size_t len = 0;
    char uuid[37];
    int rc;

    for (size_t i = 0; i < n; i++) {
        entries[i].status = TN_ENTRY_ADDED;
        entries[i].file = files[i]; /* shallow: the caller owns the files */
    }
    info.schema = tn_metadata_current_schema(t->meta);
    info.spec = tn_metadata_spec(t->meta, spec_id);
    info.content = content;
    info.snapshot_id = snapshot_id;
    info.sequence_number = t->meta->last_sequence_number + 1;
    info.format_version = t->meta->format_version;
    if (!info.spec) {
        free(entries);
        return tn_fail(err, TN_EINTERNAL, "partition spec %d is not in the table", spec_id);
    }
    rc = tn_manifest_write(&info, entries, n, &data, &len, out, err);
    if (!rc) {
        tn_uuid4(uuid);
        out->path =
            tn_asprintf("%s/metadata/%s-m%d.avro", t->meta->location, uuid, content ? 3 : 0);
        out->length = (int64_t)len;
        rc = tn__files_write(wh, t, out->path, data, len, w, err);
    }
    free(entries);
    free(data);
    return rc;
}

/* The delete files of "c" in one manifest per partition spec (c->delete_specs, or the default
 * spec for all). */
static int delete_manifests(struct tn_warehouse *wh, const struct tn_table *t,
                            const struct tn_row_change *c, struct pending *p, struct tn__files *w,
                            struct tn_err *err)
{
    struct tn_data_file *group = tn_calloc(c->ndeletes, sizeof(*group));
    char *done = tn_calloc(c->ndeletes, 1);
    int rc = 0;

    p->removed = tn_calloc(c->ndeletes, sizeof(*p->removed));
    for (size_t i = 0; !rc && i < c->ndeletes; i++) {
        int spec = c->delete_specs ? c->delete_specs[i] : t->meta->default_spec_id;
        size_t n = 0;
        if (done[i])
            continue;
        for (size_t k = i; k < c->ndeletes; k++) {
            if (!done[k] &&
                (c->delete_specs ? c->delete_specs[k] : t->meta->default_spec_id) == spec) {
                group[n++] = c->deletes[k]; /* shallow */
                done[k] = 1;
            }
        }
        rc = new_manifest(wh, t, 1, spec, group, n, p->snapshot_id, &p->removed[p->nremoved], w,
                          err);
        p->nremoved++; /* released with p, also after a failure */
    }
    free(group);
    free(done);
    return rc;
}

int tn__commit_rows(struct tn_warehouse *wh, const struct tn_table *base,
                    const struct tn_row_change *c, struct tn_commit_result *res, struct tn_err *err)
{
    const struct tn_table *t = base;
    struct tn__files files = {.flush_at_commit = 1};
    struct pending p;
    int rc = 0;

    memset(&p, 0, sizeof(p));
    memset(res, 0, sizeof(*res));
    p.mode = c->mode;
    p.branch = c->branch;
    p.operation = c->operation;
    p.read_snapshot = c->read_snapshot;
    p.remove = c->remove;
    p.replaced_dvs = c->replaced_dvs;
    p.snapshot_id = tn_snapshot_id_new();
    p.touched = json_object();
    for (size_t i = 0; i < c->ndeletes; i++)
        partition_touched(p.touched,
                          c->delete_specs ? c->delete_specs[i] : t->meta->default_spec_id,
                          &c->deletes[i]);
    for (size_t i = 0; i < c->ndata; i++) {
        partition_touched(p.touched, t->meta->default_spec_id, &c->data[i]);
        p.data_files++;
        p.data_rows += c->data[i].record_count;
        p.data_bytes += c->data[i].file_size;
    }
    for (size_t i = 0; i < c->ndeletes; i++) {
        p.delete_files++;
        p.dv_files += tn__is_dv(&c->deletes[i]);
        p.delete_rows += c->deletes[i].record_count;
        p.delete_bytes += content_bytes(&c->deletes[i]);
    }
    if (c->ndata)
        rc = new_manifest(wh, t, 0, t->meta->default_spec_id, c->data, c->ndata, p.snapshot_id,
                          &p.added, &files, err);
    if (!rc && c->ndeletes)
        rc = delete_manifests(wh, t, c, &p, &files, err);
    if (!rc) {
        struct tn__change ch;
        struct tn_table published = *base;

        memset(&ch, 0, sizeof(ch));
        ch.ns = base->ns;
        ch.name = base->name;
        ch.base = base;
        if (base->staged_base) {
            /* rows written with a staged table: its updates land in the same commit */
            published.meta = base->staged_base;
            ch.base = &published;
            ch.updates = base->staged_updates;
            ch.requirements = base->staged_requirements;
        }
        ch.stage = attempt_commit;
        ch.ctx = &p;
        ch.written = &files;
        ch.delta_row_change = c->delta_row_change;
        ch.delta_cdc = c->delta_cdc;
        rc = tn__commit(wh, &ch, 1, err);
        res->attempts = p.attempts;
    }
    if (!rc) {
        res->snapshot_id = p.snapshot_id;
        res->sequence_number = p.sequence_number;
        res->rows_added = p.data_rows;
        res->files_added = p.data_files;
        res->bytes_added = p.data_bytes;
    }
    tn__files_done(wh, &files, rc != 0);
    manifest_file_release(&p.added);
    for (size_t i = 0; i < p.nremoved; i++)
        manifest_file_release(&p.removed[i]);
    free(p.removed);
    json_decref(p.touched);
    return rc;
}

int tn__check_writable(const struct tn_table *t, struct tn_err *err)
{
    if (tn__check_read_only(t, err))
        return err->code;
    if (t->meta->format_version < 2)
        return tn_fail(err, TN_EINPUT,
                       "table %s.%s is Iceberg format version 1, which tarn reads but does not "
                       "write; upgrade it to version 2 with another engine first",
                       t->ns, t->name);
    return 0;
}

char *tn__new_file_location(const struct tn_table *t, const char *suffix)
{
    const char *data_dir = json_string_value(
        json_object_get(json_object_get(t->meta->root, "properties"), "write.data.path"));
    char uuid[37];

    tn_uuid4(uuid);
    return data_dir ? tn_asprintf("%s/%s%s", data_dir, uuid, suffix)
                    : tn_asprintf("%s/data/%s%s", t->meta->location, uuid, suffix);
}

/* The Parquet file staged at "path" as data file "f" of "t" at "uri" (owned: it becomes
 * f->file_path, or is freed): its statistics and NaN counts read, published to storage, sized.
 * On failure "f" is released and nothing is left published. */
static int publish_data_file(struct tn_warehouse *wh, struct tn_session *s,
                             const struct tn_table *t, const struct tn_schema *schema,
                             const char *path, char *uri, struct tn_data_file *f,
                             struct tn_err *err)
{
    char *resolved = tn_table_resolve(t, uri);
    int rc = tn__require_columns(schema, path, err);

    if (!rc)
        rc = tn__file_stats(schema, path, f, err);
    if (!rc)
        rc = tn__nan_counts(s, schema, path, f, err);
    if (!rc)
        rc = tn_storage_publish(wh->storage, resolved, path, err);
    if (!rc)
        rc = tn_storage_size(wh->storage, resolved, &f->file_size, err);
    if (rc) {
        struct tn_err ignored;
        tn_storage_delete(wh->storage, resolved, &ignored);
        tn_data_file_release(f);
        free(uri);
    } else {
        f->content = 0;
        f->file_path = uri;
        f->file_format = tn_strdup("PARQUET");
        f->sort_order_id = 0;
    }
    free(resolved);
    return rc;
}

int tn__write_data_file(struct tn_warehouse *wh, struct tn_session *s, const struct tn_table *t,
                        const char *select_sql, struct tn_data_file *file, struct tn_err *err)
{
    return tn__write_data_file_at(wh, s, t, tn__new_file_location(t, ".parquet"), select_sql, file,
                                  err);
}

int tn__write_data_file_at(struct tn_warehouse *wh, struct tn_session *s, const struct tn_table *t,
                           char *uri, const char *select_sql, struct tn_data_file *file,
                           struct tn_err *err)
{
    const struct tn_schema *schema = tn_metadata_current_schema(t->meta);
    char *resolved = tn_table_resolve(t, uri);
    char *path = NULL;
    int rc;

    memset(file, 0, sizeof(*file));
    rc = tn_storage_stage_path(wh->storage, resolved, &path, err);
    if (!rc)
        rc = tn__copy_to_parquet(s, schema, select_sql, NULL, path, &file->record_count, err);
    if (rc) {
        struct tn_err ignored;
        tn_storage_delete(wh->storage, resolved, &ignored);
        tn_data_file_release(file);
        free(uri);
    } else {
        rc = publish_data_file(wh, s, t, schema, path, uri, file, err);
    }
    free(resolved);
    free(path);
    return rc;
}

/* The data file size "t" aims at: write.target-file-size-bytes, else TN_TARGET_FILE_SIZE. */
static int64_t target_file_size(const struct tn_table *t)
{
    const char *v = json_string_value(json_object_get(json_object_get(t->meta->root, "properties"),
                                                      "write.target-file-size-bytes"));
    int64_t n = 0;

    if (v && !tn_parse_i64(v, &n) && n >= 1024 * 1024)
        return n;
    return TN_TARGET_FILE_SIZE;
}

/* Data file "whole", staged at "path" (resolved "resolved", to be "uri" in the table) with "rows"
 * rows, added to v[*nv..] (room for it grown in *cap): published as it is when it is at most
 * half again the target size, else cut into consecutive ranges of its rows, each rewritten as a
 * file of its own and published (the whole one deleted). "uri" is owned: it becomes a data
 * file's path or is freed. */
static int place_file(struct tn_warehouse *wh, struct tn_session *s, const struct tn_table *t,
                      char *uri, const char *resolved, const char *whole, int64_t rows,
                      struct tn_data_file **v, size_t *nv, size_t *cap, struct tn_err *err)
{
    const struct tn_schema *schema = tn_metadata_current_schema(t->meta);
    int64_t target = target_file_size(t), per_file;
    struct stat sb;
    size_t parts;
    int rc = 0;

    if (stat(whole, &sb) != 0) {
        struct tn_err ignored;
        rc =
            tn_fail(err, TN_EUNAVAILABLE, "cannot read the file just written: %s", strerror(errno));
        tn_storage_delete(wh->storage, resolved, &ignored);
        unlink(whole);
        free(uri);
        return rc;
    }
    parts = sb.st_size <= target + target / 2 || rows < 2
                ? 1
                : (size_t)((sb.st_size + target - 1) / target);
    if (*nv + parts > *cap) {
        *cap = (*nv + parts) * 2;
        *v = tn_realloc(*v, *cap * sizeof(**v));
    }
    memset(*v + *nv, 0, parts * sizeof(**v));
    if (parts == 1) {
        rc = publish_data_file(wh, s, t, schema, whole, uri, &(*v)[*nv], err);
        *nv += rc ? 0 : 1;
        return rc;
    }
    free(uri);
    per_file = (rows + (int64_t)parts - 1) / (int64_t)parts;
    for (int64_t first = 0; !rc && first < rows; first += per_file) {
        struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
        char *part_uri = tn__new_file_location(t, ".parquet");
        char *part_resolved = tn_table_resolve(t, part_uri), *part = NULL;
        int64_t part_rows = 0;

        tn_buf_addstr(&q, "SELECT * EXCLUDE (file_row_number) FROM read_parquet(", NULL);
        tn_sql_string(&q, whole);
        tn_buf_addf(&q, NULL,
                    ", file_row_number = true) WHERE file_row_number >= %lld AND "
                    "file_row_number < %lld",
                    (long long)first, (long long)(first + per_file));
        rc = tn_storage_stage_path(wh->storage, part_resolved, &part, err);
        if (!rc)
            rc = copy_rows(s, schema, q.buf, NULL, part, 0, &part_rows, err);
        if (!rc) {
            rc = publish_data_file(wh, s, t, schema, part, part_uri, &(*v)[*nv], err);
            *nv += rc ? 0 : 1;
        } else {
            struct tn_err ignored;
            tn_storage_delete(wh->storage, part_resolved, &ignored);
            free(part_uri);
        }
        free(part_resolved);
        free(part);
        tn_buf_release(&q);
    }
    {
        struct tn_err ignored; /* the whole file, cut into the parts: not a data file */
        tn_storage_delete(wh->storage, resolved, &ignored);
        unlink(whole);
    }
    return rc;
}

/* A file of rows written and not yet published. */
struct staged_file {
    char *uri, *resolved, *path;
    int64_t rows;
};

static void staged_delete(struct tn_warehouse *wh, struct staged_file *f)
{
    struct tn_err ignored;

    if (f->uri) {
        tn_storage_delete(wh->storage, f->resolved, &ignored);
        if (f->path)
            unlink(f->path);
    }
    free(f->uri);
    free(f->resolved);
    free(f->path);
    memset(f, 0, sizeof(*f));
}

/* Write the rows of "select_sql" as new data files of "t" of about its target size each, in the
 * rows' order: one file first (DuckDB keeps the order when it writes a single file, not when it
 * cuts files by size), then, when that is more than half again the target, cut into consecutive
 * ranges of its rows, each rewritten as a file of its own. A refused value is explained (the
 * rows are read again) -- unless wo->single_pass: rows read once (a stream) are not, and the
 * caller's last word (wo->before_commit) comes before anything is published. With
 * wo->next_piece, select_sql is read once for each piece, each piece becoming a file of its own
 * (cut in turn when large), in the pieces' order; a piece without rows becomes no file, unless
 * no piece has rows. */
static int write_split_files(struct tn_warehouse *wh, struct tn_session *s,
                             const struct tn_table *t, const char *select_sql,
                             const struct tn_write_options *wo, struct tn_data_file **out,
                             size_t *n, struct tn_err *err)
{
    const struct tn_schema *schema = tn_metadata_current_schema(t->meta);
    int64_t target = target_file_size(t), written = 0;
    struct staged_file *staged = NULL;
    struct tn_data_file *v = NULL;
    size_t nstaged = 0, nv = 0, cap = 0;
    int rc = 0, more = 1;

    *out = NULL;
    *n = 0;
    while (!rc) {
        struct staged_file f = {0};
        struct stat sb;

        if (wo->single_pass && wo->next_piece)
            rc = wo->next_piece(wo->next_piece_arg, target, written, &more, err);
        if (rc || !more)
            break;
        f.uri = tn__new_file_location(t, ".parquet");
        f.resolved = tn_table_resolve(t, f.uri);
        rc = tn_storage_stage_path(wh->storage, f.resolved, &f.path, err);
        if (!rc && wo->single_pass)
            rc = copy_rows(s, schema, select_sql, NULL, f.path, 0, &f.rows, err);
        else if (!rc)
            rc = tn__copy_to_parquet(s, schema, select_sql, NULL, f.path, &f.rows, err);
        if (!rc && stat(f.path, &sb) == 0)
            written += sb.st_size;
        if (!rc && f.rows == 0 && nstaged) { /* an empty piece after others: no file */
            staged_delete(wh, &f);
        } else if (!rc && nstaged && staged[0].rows == 0) { /* the first piece was empty */
            staged_delete(wh, &staged[0]);
            staged[0] = f;
        } else {
            staged = tn_realloc(staged, (nstaged + 1) * sizeof(*staged));
            staged[nstaged++] = f; /* deleted below on failure, even half written */
        }
        if (!wo->single_pass || !wo->next_piece)
            break;
    }
    if (!rc && wo->single_pass && wo->before_commit)
        rc = wo->before_commit(wo->before_commit_arg, err);
    for (size_t i = 0; !rc && i < nstaged; i++) {
        rc = place_file(wh, s, t, staged[i].uri, staged[i].resolved, staged[i].path, staged[i].rows,
                        &v, &nv, &cap, err);
        staged[i].uri = NULL; /* owned by a data file, or freed; the staged copy is gone */
    }
    if (rc) {
        for (size_t i = 0; i < nv; i++)
            tn__discard_file(wh, t, &v[i]);
        free(v);
        v = NULL;
        nv = 0;
    }
    for (size_t i = 0; i < nstaged; i++)
        staged_delete(wh, &staged[i]);
    free(staged);
    *out = v;
    *n = nv;
    return rc;
}

void tn__discard_file(struct tn_warehouse *wh, const struct tn_table *t, struct tn_data_file *file)
{
    struct tn_err ignored;
    char *resolved;

    if (file->file_path) {
        resolved = tn_table_resolve(t, file->file_path);
        tn_storage_delete(wh->storage, resolved, &ignored);
        free(resolved);
    }
    tn_data_file_release(file);
}

int tn__table_write(struct tn_warehouse *wh, struct tn_session *s, const struct tn_table *t,
                    const char *select_sql, const struct tn_write_options *wo,
                    struct tn_commit_result *res, struct tn_err *err)
{
    struct tn_data_file *files = NULL;
    struct tn_row_change c;
    size_t n = 0;
    int rc;

    memset(res, 0, sizeof(*res));
    rc = tn__check_writable(t, err);
    if (!rc && wo->single_pass) {
        if (!tn_spec_is_unpartitioned(tn_metadata_spec(t->meta, t->meta->default_spec_id)))
            rc = tn_fail(err, TN_EINPUT, "a partitioned table's rows are not streamed");
        else
            rc = write_split_files(wh, s, t, select_sql, wo, &files, &n, err);
    } else if (!rc && wo->sized_files &&
               tn_spec_is_unpartitioned(tn_metadata_spec(t->meta, t->meta->default_spec_id))) {
        rc = write_split_files(wh, s, t, select_sql, wo, &files, &n, err);
    } else if (!rc &&
               tn_spec_is_unpartitioned(tn_metadata_spec(t->meta, t->meta->default_spec_id))) {
        files = tn_calloc(1, sizeof(*files));
        rc = tn__write_data_file(wh, s, t, select_sql, &files[0], err);
        n = rc ? 0 : 1;
    } else if (!rc) {
        rc = tn__write_partitioned(wh, s, t, select_sql, &files, &n, err);
    }
    if (!rc && wo->before_commit && !wo->single_pass)
        rc = wo->before_commit(wo->before_commit_arg, err);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            tn__discard_file(wh, t, &files[i]);
    } else {
        memset(&c, 0, sizeof(c));
        c.mode = wo->mode;
        c.branch = wo->branch;
        c.operation = wo->mode == TN_WRITE_APPEND ? "append" : "overwrite";
        c.read_snapshot = -1;
        c.data = files;
        c.ndata = n;
        rc = tn__commit_rows(wh, t, &c, res, err);
        for (size_t i = 0; rc && i < n; i++)
            tn__discard_file(wh, t, &files[i]);
    }
    for (size_t i = 0; i < n; i++)
        tn_data_file_release(&files[i]);
    free(files);
    return rc;
}

int tn_table_write(struct tn_warehouse *wh, struct tn_session *s, const char *ns, const char *name,
                   const char *select_sql, const struct tn_write_options *wo,
                   struct tn_commit_result *res, struct tn_err *err)
{
    struct tn_table *t = NULL;
    int rc;

    memset(res, 0, sizeof(*res));
    rc = tn_table_load(wh, ns, name, &t, err);
    if (!rc)
        rc = tn__table_write(wh, s, t, select_sql, wo, res, err);
    tn_table_free(t);
    return rc;
}
