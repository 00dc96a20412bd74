/* prune.c - skip data files that cannot hold a row a query wants, by the lower and upper
 * bounds and null counts their manifest entries carry. The predicates come from DuckDB's parse
 * tree of the query: the AND-ed comparisons (=, <, <=, >, >=, BETWEEN) of one of the table's
 * columns with a constant. Anything else is left to DuckDB, which still filters every row, so
 * pruning can only save work, never change a result. */
#include "table.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum op { OP_EQ, OP_LT, OP_LE, OP_GT, OP_GE };

struct predicate {
    const struct tn_field *field;
    enum op op;
    unsigned char value[TN_BOUND_MAX];
    size_t len;
};

/* The table column a COLUMN_REF node names (unqualified, or qualified by "alias"). */
static const struct tn_field *column_of(const struct tn_schema *schema, json_t *node,
                                        const char *alias)
{
    json_t *names = json_object_get(node, "column_names");
    const char *col;

    if (!json_is_array(names) || json_array_size(names) > 2)
        return NULL;
    if (json_array_size(names) == 2) {
        const char *q = json_string_value(json_array_get(names, 0));
        if (!q || !alias || strcasecmp(q, alias) != 0)
            return NULL;
    }
    col = json_string_value(json_array_get(names, json_array_size(names) - 1));
    for (size_t i = 0; col && i < schema->root.nfields; i++) {
        const struct tn_field *f = &schema->root.fields[i];
        if (strcasecmp(f->name, col) == 0 && tn_type_is_primitive(f->type))
            return f;
    }
    return NULL;
}

static int is_numeric(enum tn_type_kind k)
{
    return k == TN_T_INT || k == TN_T_LONG || k == TN_T_FLOAT || k == TN_T_DOUBLE ||
           k == TN_T_DECIMAL;
}

/* The text of a constant node (a literal, or a string literal cast as in DATE '2024-01-01'),
 * when its kind matches the column's: numbers for numeric columns, strings for the others. */
static int constant_text(const struct tn_field *f, json_t *node, char *text, size_t cap)
{
    const char *cls = json_string_value(json_object_get(node, "class"));
    json_t *v, *value, *info;
    const char *type;

    if (cls && strcmp(cls, "CAST") == 0)
        node = json_object_get(node, "child");
    cls = json_string_value(json_object_get(node, "class"));
    v = json_object_get(node, "value");
    value = json_object_get(v, "value");
    type = json_string_value(json_object_get(json_object_get(v, "type"), "id"));
    info = json_object_get(json_object_get(v, "type"), "type_info");
    if (!cls || strcmp(cls, "CONSTANT") != 0 || !type || json_is_true(json_object_get(v, "is_null")))
        return -1;
    if (json_is_string(value) && strcmp(type, "VARCHAR") == 0 && !is_numeric(f->type->kind) &&
        f->type->kind != TN_T_BOOLEAN) {
        /* strings longer than the bounds keep (16 characters) would compare wrongly */
        if (strlen(json_string_value(value)) >= TN_BOUND_TRUNCATE)
            return -1;
        snprintf(text, cap, "%s", json_string_value(value));
        return 0;
    }
    if (!is_numeric(f->type->kind))
        return -1;
    if (strcmp(type, "DECIMAL") == 0 && json_is_integer(value)) {
        /* the literal's unscaled value and its scale */
        long long u = json_integer_value(value);
        int scale = (int)json_integer_value(json_object_get(info, "scale"));
        unsigned long long a = u < 0 ? 0ULL - (unsigned long long)u : (unsigned long long)u;
        unsigned long long p10 = 1;
        if (scale < 0 || scale > 18)
            return -1;
        for (int i = 0; i < scale; i++)
            p10 *= 10;
        snprintf(text, cap, "%s%llu.%0*llu", u < 0 ? "-" : "", a / p10, scale ? scale : 1,
                 scale ? a % p10 : 0);
        return 0;
    }
    if (json_is_integer(value) && strstr(type, "INT")) {
        snprintf(text, cap, "%lld", (long long)json_integer_value(value));
        return 0;
    }
    if (json_is_real(value) && (strcmp(type, "DOUBLE") == 0 || strcmp(type, "FLOAT") == 0)) {
        snprintf(text, cap, "%.17g", json_real_value(value));
        return 0;
    }
    return -1;
}

/* Encode a constant node for comparison with "f"'s bounds; 0 on success. */
static int constant_of(const struct tn_field *f, json_t *node, unsigned char *out, size_t *len)
{
    char text[128];
    struct tn_err ignored;

    if (f->type->kind == TN_T_BINARY || f->type->kind == TN_T_FIXED ||
        constant_text(f, node, text, sizeof(text)))
        return -1;
    return tn_bound_encode(f->type, text, 0, out, len, &ignored) ? -1 : 0;
}

static enum op flip(enum op op)
{
    switch (op) {
    case OP_LT:
        return OP_GT;
    case OP_LE:
        return OP_GE;
    case OP_GT:
        return OP_LT;
    case OP_GE:
        return OP_LE;
    default:
        return op;
    }
}

/* Collect the predicates of "node" into out[n..cap); *partial is set when some conjunct was
 * not understood (then the predicates are necessary, not sufficient, for a row to match). */
static size_t collect(const struct tn_schema *schema, json_t *node, const char *alias,
                      struct predicate *out, size_t n, size_t cap, int *partial)
{
    static const struct {
        const char *type;
        enum op op;
    } ops[] = {
        {"COMPARE_EQUAL", OP_EQ},         {"COMPARE_LESSTHAN", OP_LT},
        {"COMPARE_LESSTHANOREQUALTO", OP_LE}, {"COMPARE_GREATERTHAN", OP_GT},
        {"COMPARE_GREATERTHANOREQUALTO", OP_GE},
    };
    const char *type = json_string_value(json_object_get(node, "type"));
    size_t i;
    json_t *child;

    if (!type || n >= cap) {
        *partial = 1;
        return n;
    }
    if (strcmp(type, "CONJUNCTION_AND") == 0) {
        json_array_foreach(json_object_get(node, "children"), i, child)
            n = collect(schema, child, alias, out, n, cap, partial);
        return n;
    }
    if (strcmp(type, "COMPARE_BETWEEN") == 0 && n + 2 <= cap) {
        const struct tn_field *f = column_of(schema, json_object_get(node, "input"), alias);
        if (f && !constant_of(f, json_object_get(node, "lower"), out[n].value, &out[n].len) &&
            !constant_of(f, json_object_get(node, "upper"), out[n + 1].value, &out[n + 1].len)) {
            out[n].field = out[n + 1].field = f;
            out[n].op = OP_GE;
            out[n + 1].op = OP_LE;
            return n + 2;
        }
        *partial = 1;
        return n;
    }
    for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
        json_t *l = json_object_get(node, "left"), *r = json_object_get(node, "right");
        const struct tn_field *f;
        if (strcmp(type, ops[k].type) != 0)
            continue;
        if ((f = column_of(schema, l, alias)) && !constant_of(f, r, out[n].value, &out[n].len)) {
            out[n].field = f;
            out[n].op = ops[k].op;
            return n + 1;
        }
        if ((f = column_of(schema, r, alias)) && !constant_of(f, l, out[n].value, &out[n].len)) {
            out[n].field = f;
            out[n].op = flip(ops[k].op);
            return n + 1;
        }
    }
    *partial = 1;
    return n;
}

static const struct tn_bytes *bound_of(const struct tn_id_bytes *v, size_t n, int id)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].id == id)
            return &v[i].value;
    return NULL;
}

static int64_t count_of(const struct tn_id_long *v, size_t n, int id)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].id == id)
            return v[i].value;
    return -1;
}

/* Whether no row of data file "f" can satisfy "p". */
static int excludes(const struct tn_data_file *f, const struct predicate *p)
{
    const struct tn_type *t = p->field->type;
    const struct tn_bytes *lo = bound_of(f->lower, f->nlower, p->field->id);
    const struct tn_bytes *hi = bound_of(f->upper, f->nupper, p->field->id);
    int64_t values = count_of(f->value_counts, f->nvalue_counts, p->field->id);
    int64_t nulls = count_of(f->null_counts, f->nnull_counts, p->field->id);

    if (values >= 0 && nulls >= 0 && values == nulls)
        return 1; /* only nulls: no comparison holds */
    if ((t->kind == TN_T_FLOAT || t->kind == TN_T_DOUBLE) && p->op != OP_LT && p->op != OP_LE &&
        count_of(f->nan_counts, f->nnan_counts, p->field->id) != 0)
        return 0; /* NaN is above every number in DuckDB, and bounds leave it out */
    if (t->kind == TN_T_STRING && ((lo && lo->n >= TN_BOUND_TRUNCATE) ||
                                   (hi && hi->n >= TN_BOUND_TRUNCATE)))
        return 0; /* truncated string bounds: keep it simple and safe */
    switch (p->op) {
    case OP_EQ:
        return (lo && tn_bound_compare(t, p->value, p->len, lo->p, lo->n) < 0) ||
               (hi && tn_bound_compare(t, p->value, p->len, hi->p, hi->n) > 0);
    case OP_LT:
        return lo && tn_bound_compare(t, lo->p, lo->n, p->value, p->len) >= 0;
    case OP_LE:
        return lo && tn_bound_compare(t, lo->p, lo->n, p->value, p->len) > 0;
    case OP_GT:
        return hi && tn_bound_compare(t, hi->p, hi->n, p->value, p->len) <= 0;
    case OP_GE:
        return hi && tn_bound_compare(t, hi->p, hi->n, p->value, p->len) < 0;
    }
    return 0;
}

size_t tn_scan_prune(struct tn_scan *scan, json_t *where, const char *alias)
{
    struct predicate preds[32];
    size_t n, kept = 0, pruned = 0;
    int partial = 0;

    if (!where || !scan->ndata)
        return 0;
    n = collect(scan->schema, where, alias, preds, 0, sizeof(preds) / sizeof(preds[0]),
                &partial);
    if (!n)
        return 0;
    for (size_t i = 0; i < scan->ndata; i++) {
        int skip = 0;
        for (size_t k = 0; k < n && !skip; k++)
            skip = excludes(&scan->data[i].file, &preds[k]);
        if (skip) {
            tn_data_file_release(&scan->data[i].file);
            pruned++;
        } else {
            scan->data[kept++] = scan->data[i];
        }
    }
    scan->ndata = kept;
    return pruned;
}

/* Whether every row of data file "f" satisfies "p", by its bounds (no nulls, no NaN). */
static int includes_all(const struct tn_data_file *f, const struct predicate *p)
{
    const struct tn_type *t = p->field->type;
    const struct tn_bytes *lo = bound_of(f->lower, f->nlower, p->field->id);
    const struct tn_bytes *hi = bound_of(f->upper, f->nupper, p->field->id);

    if (!lo || !hi || count_of(f->null_counts, f->nnull_counts, p->field->id) != 0)
        return 0;
    if ((t->kind == TN_T_FLOAT || t->kind == TN_T_DOUBLE) &&
        count_of(f->nan_counts, f->nnan_counts, p->field->id) != 0)
        return 0;
    if (t->kind == TN_T_STRING || t->kind == TN_T_BINARY || t->kind == TN_T_FIXED)
        return 0; /* truncated bounds say too little */
    switch (p->op) {
    case OP_EQ:
        return tn_bound_compare(t, lo->p, lo->n, p->value, p->len) == 0 &&
               tn_bound_compare(t, hi->p, hi->n, p->value, p->len) == 0;
    case OP_LT:
        return tn_bound_compare(t, hi->p, hi->n, p->value, p->len) < 0;
    case OP_LE:
        return tn_bound_compare(t, hi->p, hi->n, p->value, p->len) <= 0;
    case OP_GT:
        return tn_bound_compare(t, lo->p, lo->n, p->value, p->len) > 0;
    case OP_GE:
        return tn_bound_compare(t, lo->p, lo->n, p->value, p->len) >= 0;
    }
    return 0;
}

size_t tn_scan_covered(const struct tn_table *t, struct tn_scan *scan, json_t *where,
                       const char *alias, json_t *covered)
{
    struct predicate preds[32];
    size_t n, kept = 0, moved = 0;
    int partial = 0;

    if (!where || !scan->ndata)
        return 0;
    n = collect(scan->schema, where, alias, preds, 0, sizeof(preds) / sizeof(preds[0]),
                &partial);
    if (!n || partial)
        return 0; /* only a predicate understood whole can vouch for every row */
    for (size_t i = 0; i < scan->ndata; i++) {
        const struct tn_manifest_entry *e = &scan->data[i];
        int all = 1;
        for (size_t d = 0; d < scan->ndeletes && all; d++)
            all = !tn_delete_applies(&scan->deletes[d],
                                     tn_metadata_spec(t->meta, scan->deletes[d].spec_id), e);
        for (size_t k = 0; k < n && all; k++)
            all = includes_all(&e->file, &preds[k]);
        if (all) {
            json_object_set_new(covered, e->file.file_path, json_integer(e->file.record_count));
            tn_data_file_release(&scan->data[i].file);
            moved++;
        } else {
            scan->data[kept++] = scan->data[i];
        }
    }
    scan->ndata = kept;
    return moved;
}
