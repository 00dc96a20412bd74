/* nan_counts.c - nan_value_counts of a new data file, as Iceberg-Java writes them for float and
 * double columns. DuckDB's Parquet statistics do not count NaNs (it writes no min/max for a
 * chunk with one), so one aggregate over the file's floating-point columns counts them once the
 * file is written; Parquet being columnar, it reads only those columns. Columns inside lists
 * and maps are not counted (their entry is left out, which means unknown). */
#include "table_int.h"

#include <stdlib.h>
#include <string.h>

#define NAN_COLUMNS_MAX 4096

struct nan_columns {
    int ids[NAN_COLUMNS_MAX];
    size_t n;
    struct tn_buf sql; /* the aggregates, one per column */
};

/* Add the float and double fields of struct "t" (reached by the column path "path"). */
static void collect(const struct tn_type *t, const struct tn_buf *path, struct nan_columns *c)
{
    for (size_t i = 0; i < t->nfields && c->n < NAN_COLUMNS_MAX; i++) {
        const struct tn_field *f = &t->fields[i];
        struct tn_buf sub = TN_BUF_INIT(0);

        if (path->len) {
            tn_buf_add(&sub, path->buf, path->len, NULL);
            tn_buf_addstr(&sub, ".", NULL);
        }
        tn_sql_ident(&sub, f->name);
        if (f->type->kind == TN_T_FLOAT || f->type->kind == TN_T_DOUBLE) {
            tn_buf_addf(&c->sql, NULL, "%scount(*) FILTER (WHERE isnan(%s))", c->n ? ", " : "",
                        sub.buf);
            c->ids[c->n++] = f->id;
        } else if (f->type->kind == TN_T_STRUCT) {
            collect(f->type, &sub, c);
        }
        tn_buf_release(&sub);
    }
}

/* (see table_int.h) */
int tn__nan_counts(struct tn_session *s, const struct tn_schema *schema, const char *path,
                   struct tn_data_file *f, struct tn_err *err)
{
    struct nan_columns *c = tn_calloc(1, sizeof(*c));
    struct tn_buf q = TN_BUF_INIT(0), root = TN_BUF_INIT(0);
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
        free(f->nan_counts);
        f->nan_counts = tn_calloc(c->n, sizeof(*f->nan_counts));
        f->nnan_counts = 0;
        for (size_t i = 0; i < c->n; i++) {
            int64_t v = 0;
            if (tn_rows_get(r, 0, i) && !tn_parse_i64(tn_rows_get(r, 0, i), &v))
                f->nan_counts[f->nnan_counts++] = (struct tn_id_long){c->ids[i], v};
        }
    }
    tn_rows_free(r);
    tn_buf_release(&q);
    tn_buf_release(&root);
    tn_buf_release(&c->sql);
    free(c);
    return rc;
}
