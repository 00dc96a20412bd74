/* nan_counts.c - nan_value_counts of a new data file, as Iceberg-Java writes them for float and
 * double columns. DuckDB's Parquet statistics do not count NaNs, so one aggregate over the
 * file's floating-point columns counts them once the file is written; Parquet being columnar,
 * it reads only those columns. DuckDB also writes no min/max for a chunk holding a NaN, where
 * Java writes the bounds of the other values: a column with NaNs and no bounds gets them from
 * a second aggregate. Columns inside lists and maps are not counted (their entry is left out,
 * which means unknown). */
#include "table_int.h"

#include <stdlib.h>
#include <string.h>

#define NAN_COLUMNS_MAX 4096

struct nan_columns {
    int ids[NAN_COLUMNS_MAX];
    const struct tn_type *types[NAN_COLUMNS_MAX];
    char *paths[NAN_COLUMNS_MAX]; /* each column as SQL */
    size_t n;
    struct tn_buf sql; /* the aggregates, one per column */
};

/* Add the float and double fields of struct "t" (reached by the column path "path"). */
static void collect(const struct tn_type *t, const struct tn_buf *path, struct nan_columns *c)
{
    for (size_t i = 0; i < t->nfields && c->n < NAN_COLUMNS_MAX; i++) {
        const struct tn_field *f = &t->fields[i];
        struct tn_buf sub = TN_BUF_INIT(TN_CAP_SQL);

        if (path->len) {
            tn_buf_add(&sub, path->buf, path->len, NULL);
            tn_buf_addstr(&sub, ".", NULL);
        }
        tn_sql_ident(&sub, f->name);
        if (f->type->kind == TN_T_FLOAT || f->type->kind == TN_T_DOUBLE) {
            tn_buf_addf(&c->sql, NULL, "%scount(*) FILTER (WHERE isnan(%s))", c->n ? ", " : "",
                        sub.buf);
            c->ids[c->n] = f->id;
            c->types[c->n] = f->type;
            c->paths[c->n++] = tn_strdup(sub.buf);
        } else if (f->type->kind == TN_T_STRUCT) {
            collect(f->type, &sub, c);
        }
        tn_buf_release(&sub);
    }
}

static int has_bound(const struct tn_id_bytes *v, size_t n, int id)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].id == id)
            return 1;
    return 0;
}

static void add_bound(struct tn_id_bytes **v, size_t *n, int id, const unsigned char *p, size_t len)
{
    *v = tn_realloc(*v, (*n + 1) * sizeof(**v));
    (*v)[*n].id = id;
    (*v)[*n].value.p = tn_malloc(len + 1);
    memcpy((*v)[*n].value.p, p, len);
    (*v)[*n].value.n = len;
    (*n)++;
}

/* Bounds for the columns "want" (indexes into c, "nwant" of them) from the values that are not
 * NaN. */
static int bounds_without_nan(struct tn_session *s, const struct nan_columns *c, const size_t *want,
                              size_t nwant, const char *path, struct tn_data_file *f,
                              struct tn_err *err)
{
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_rows *r = NULL;
    int rc;

    tn_buf_addstr(&q, "SELECT ", NULL);
    for (size_t k = 0; k < nwant; k++) {
        const char *col = c->paths[want[k]];
        tn_buf_addf(&q, NULL,
                    "%sCAST(min(%s) FILTER (WHERE NOT isnan(%s)) AS VARCHAR), "
                    "CAST(max(%s) FILTER (WHERE NOT isnan(%s)) AS VARCHAR)",
                    k ? ", " : "", col, col, col, col);
    }
    tn_buf_addstr(&q, " FROM read_parquet(", NULL);
    tn_sql_string(&q, path);
    tn_buf_addstr(&q, ", hive_partitioning = false)", NULL);
    rc = tn_engine_rows(s, q.buf, 1, &r, err);
    for (size_t k = 0; !rc && k < nwant; k++) {
        const char *lo = tn_rows_get(r, 0, 2 * k), *hi = tn_rows_get(r, 0, 2 * k + 1);
        unsigned char lower[TN_BOUND_MAX], upper[TN_BOUND_MAX];
        size_t lower_len, upper_len;
        const struct tn_type *t = c->types[want[k]];
        if (!lo || !hi || tn_bound_encode(t, lo, 0, lower, &lower_len, NULL) ||
            tn_bound_encode(t, hi, 1, upper, &upper_len, NULL))
            continue; /* every value NaN or null: no bounds, as Java */
        add_bound(&f->lower, &f->nlower, c->ids[want[k]], lower, lower_len);
        add_bound(&f->upper, &f->nupper, c->ids[want[k]], upper, upper_len);
    }
    tn_rows_free(r);
    tn_buf_release(&q);
    return rc;
}

/* (see table_int.h) */
int tn__nan_counts(struct tn_session *s, const struct tn_schema *schema, const char *path,
                   struct tn_data_file *f, struct tn_err *err)
{
    struct nan_columns *c = tn_calloc(1, sizeof(*c));
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL), root = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_rows *r = NULL;
    int rc = 0;

    collect(&schema->root, &root, c);
    if (c->n) {
        tn_buf_addf(&q, NULL, "SELECT %s FROM read_parquet(", c->sql.buf);
        tn_sql_string(&q, path);
        tn_buf_addstr(&q, ", hive_partitioning = false)", NULL);
        rc = tn_engine_rows(s, q.buf, 1, &r, err);
    }
    if (!rc && c->n) {
        size_t *want = tn_calloc(c->n, sizeof(*want)), nwant = 0;
        free(f->nan_counts);
        f->nan_counts = tn_calloc(c->n, sizeof(*f->nan_counts));
        f->nnan_counts = 0;
        for (size_t i = 0; i < c->n; i++) {
            int64_t v = 0;
            if (tn_rows_get(r, 0, i) && !tn_parse_i64(tn_rows_get(r, 0, i), &v))
                f->nan_counts[f->nnan_counts++] = (struct tn_id_long){c->ids[i], v};
            if (v > 0 && !has_bound(f->lower, f->nlower, c->ids[i]) &&
                !has_bound(f->upper, f->nupper, c->ids[i]))
                want[nwant++] = i;
        }
        if (nwant)
            rc = bounds_without_nan(s, c, want, nwant, path, f, err);
        free(want);
    }
    for (size_t i = 0; i < c->n; i++)
        free(c->paths[i]);
    tn_rows_free(r);
    tn_buf_release(&q);
    tn_buf_release(&root);
    tn_buf_release(&c->sql);
    free(c);
    return rc;
}
