/* prune.c - skip manifests and data files that cannot hold a row a query wants.
 *
 * The predicates come from DuckDB's parse tree of the query's WHERE (json_serialize_sql):
 * comparisons (=, <, <=, >, >=) of one of the table's columns with a constant, BETWEEN, IN,
 * IS [NOT] NULL, and AND/OR of those. They become a small tree (struct tn_filter) in which
 * anything else is "may match". A data file is skipped when its lower/upper bounds, null counts
 * or partition values show no row can match; a data manifest is skipped when its partition
 * summaries do. Partition values are read with the spec of the manifest that holds them, and a
 * predicate on a column reaches the partition fields derived from it through their transform
 * (identity, year, month, day, hour, truncate, bucket); other transforms (void, unknown ones)
 * are not used. DuckDB still filters every row, so pruning can only save work, never change a
 * result. Filters are immutable once built; any thread may use one. */
#include "table_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum op { OP_EQ, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN, OP_IS_NULL, OP_NOT_NULL };

#define FILTER_NODES_MAX  4096
#define FILTER_VALUES_MAX 4096

struct value {
    unsigned char b[TN_BOUND_MAX];
    size_t len;
};

enum node_kind { N_TRUE, N_AND, N_OR, N_LEAF };

/* A node: AND/OR of children kids[first .. first+count), or a leaf comparing "field" with
 * values[first .. first+count). */
struct node {
    enum node_kind kind;
    enum op op;
    const struct tn_field *field;
    size_t first, count;
};

struct tn_filter {
    const struct tn_schema *schema;
    struct node *nodes;
    size_t nnodes, nodes_cap;
    size_t *kids;
    size_t nkids, kids_cap;
    struct value *values;
    size_t nvalues, values_cap;
    int partial; /* some conjunct or disjunct was not understood */
    int mapped;  /* the table reads files without field ids by a name mapping, which may read
                    as null a column their null counts describe (or the other way round) */
    size_t root;
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

/* Whether CAST node "node" (of a string literal, as in DATE '2024-01-01') means the text itself
 * to a column like "f": a date string read as a date or a timestamp, a timestamp string as a
 * timestamp, a string as a string. Casts that change a value (a timestamp string cast to DATE
 * drops its time, 5.7 cast to INTEGER rounds) are not followed. */
static int cast_keeps_text(const struct tn_field *f, json_t *node)
{
    const char *to = json_string_value(json_object_get(json_object_get(node, "cast_type"), "id"));
    json_t *child = json_object_get(node, "child");
    const char *text = json_string_value(json_object_get(json_object_get(child, "value"), "value"));
    enum tn_type_kind k = f->type->kind;
    int ts = k == TN_T_TIMESTAMP || k == TN_T_TIMESTAMPTZ || k == TN_T_TIMESTAMP_NS ||
             k == TN_T_TIMESTAMPTZ_NS;

    if (!to || !text)
        return 0;
    if (strcmp(to, "DATE") == 0)
        return (k == TN_T_DATE || ts) && strlen(text) == 10;
    if (strncmp(to, "TIMESTAMP", 9) == 0)
        return ts;
    return strcmp(to, "VARCHAR") == 0 && k == TN_T_STRING;
}

/* The text of a constant node (a literal, or a string literal cast as in DATE '2024-01-01'),
 * when its kind matches the column's: numbers for numeric columns, strings for the others. */
static int constant_text(const struct tn_field *f, json_t *node, char *text, size_t cap)
{
    const char *cls = json_string_value(json_object_get(node, "class"));
    json_t *v, *value, *info;
    const char *type;

    if (cls && strcmp(cls, "CAST") == 0) {
        if (!cast_keeps_text(f, node))
            return -1;
        node = json_object_get(node, "child");
    }
    cls = json_string_value(json_object_get(node, "class"));
    v = json_object_get(node, "value");
    value = json_object_get(v, "value");
    type = json_string_value(json_object_get(json_object_get(v, "type"), "id"));
    info = json_object_get(json_object_get(v, "type"), "type_info");
    if (!cls || strcmp(cls, "CONSTANT") != 0 || !type ||
        json_is_true(json_object_get(v, "is_null")))
        return -1;
    if (json_is_string(value) && strcmp(type, "VARCHAR") == 0 && !is_numeric(f->type->kind) &&
        f->type->kind != TN_T_BOOLEAN) {
        const char *str = json_string_value(value);
        size_t len = strlen(str);
        int ts = f->type->kind == TN_T_TIMESTAMP || f->type->kind == TN_T_TIMESTAMPTZ ||
                 f->type->kind == TN_T_TIMESTAMP_NS || f->type->kind == TN_T_TIMESTAMPTZ_NS;
        /* strings longer than the bounds keep (16 characters) would compare wrongly */
        if ((f->type->kind == TN_T_STRING && len >= TN_BOUND_TRUNCATE) || len + 10 >= cap)
            return -1;
        /* DuckDB reads a date alone as midnight (UTC: the engine's time zone) */
        snprintf(text, cap, "%s%s", str, ts && len == 10 ? " 00:00:00" : "");
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

static size_t add_node(struct tn_filter *f, enum node_kind kind)
{
    if (f->nnodes == f->nodes_cap) {
        f->nodes_cap = f->nodes_cap ? f->nodes_cap * 2 : 16;
        f->nodes = tn_realloc(f->nodes, f->nodes_cap * sizeof(*f->nodes));
    }
    memset(&f->nodes[f->nnodes], 0, sizeof(f->nodes[0]));
    f->nodes[f->nnodes].kind = kind;
    return f->nnodes++;
}

/* A node that may match anything: the part of the expression pruning does not understand. */
static size_t unknown(struct tn_filter *f)
{
    f->partial = 1;
    return add_node(f, N_TRUE);
}

/* Whether "n" more values fit (growing the array), within the bounds. */
static int value_room(struct tn_filter *f, size_t n)
{
    if (f->nvalues + n > FILTER_VALUES_MAX || f->nnodes >= FILTER_NODES_MAX)
        return 0;
    if (f->nvalues + n > f->values_cap) {
        f->values_cap = (f->nvalues + n) * 2;
        f->values = tn_realloc(f->values, f->values_cap * sizeof(*f->values));
    }
    return 1;
}

/* A leaf "field op constant" when "c" is a constant of the field's kind, else unknown. */
static size_t leaf(struct tn_filter *f, const struct tn_field *field, enum op op, json_t *c)
{
    size_t n;

    if (!value_room(f, 1) ||
        constant_of(field, c, f->values[f->nvalues].b, &f->values[f->nvalues].len))
        return unknown(f);
    n = add_node(f, N_LEAF);
    f->nodes[n].field = field;
    f->nodes[n].op = op;
    f->nodes[n].first = f->nvalues++;
    f->nodes[n].count = 1;
    return n;
}

static size_t build(struct tn_filter *f, json_t *node, const char *alias, int depth);

/* AND or OR of the JSON children "kids" (an AND of two given nodes when kids is NULL). */
static size_t junction(struct tn_filter *f, enum node_kind kind, json_t *kids, const char *alias,
                       int depth, size_t a, size_t b)
{
    size_t n = kids ? json_array_size(kids) : 2, *built = tn_calloc(n + 1, sizeof(*built));
    size_t kept = 0, node;

    for (size_t i = 0; i < n; i++) {
        size_t c = kids ? build(f, json_array_get(kids, i), alias, depth + 1) : i ? b : a;
        if (f->nodes[c].kind == N_TRUE && kind == N_OR) {
            free(built);
            return c; /* one side may match anything: so may the whole */
        }
        if (f->nodes[c].kind != N_TRUE)
            built[kept++] = c;
    }
    if (kept == 0) {
        free(built);
        return add_node(f, N_TRUE);
    }
    if (kept == 1) {
        node = built[0];
        free(built);
        return node;
    }
    node = add_node(f, kind);
    if (f->nkids + kept > f->kids_cap) {
        f->kids_cap = (f->nkids + kept) * 2;
        f->kids = tn_realloc(f->kids, f->kids_cap * sizeof(*f->kids));
    }
    memcpy(&f->kids[f->nkids], built, kept * sizeof(*built));
    f->nodes[node].first = f->nkids;
    f->nodes[node].count = kept;
    f->nkids += kept;
    free(built);
    return node;
}

static size_t build(struct tn_filter *f, json_t *node, const char *alias, int depth)
{
    static const struct {
        const char *type;
        enum op op;
    } ops[] = {
        {"COMPARE_EQUAL", OP_EQ},
        {"COMPARE_LESSTHAN", OP_LT},
        {"COMPARE_LESSTHANOREQUALTO", OP_LE},
        {"COMPARE_GREATERTHAN", OP_GT},
        {"COMPARE_GREATERTHANOREQUALTO", OP_GE},
    };
    const char *type = json_string_value(json_object_get(node, "type"));
    json_t *kids = json_object_get(node, "children");
    const struct tn_field *field;

    if (!type || depth > 64 || f->nnodes >= FILTER_NODES_MAX)
        return unknown(f);
    if (strcmp(type, "CONJUNCTION_AND") == 0 || strcmp(type, "CONJUNCTION_OR") == 0)
        return junction(f, strcmp(type, "CONJUNCTION_AND") == 0 ? N_AND : N_OR, kids, alias, depth,
                        0, 0);
    if (strcmp(type, "COMPARE_BETWEEN") == 0) {
        field = column_of(f->schema, json_object_get(node, "input"), alias);
        if (!field)
            return unknown(f);
        {
            size_t lo = leaf(f, field, OP_GE, json_object_get(node, "lower"));
            size_t hi = leaf(f, field, OP_LE, json_object_get(node, "upper"));
            return junction(f, N_AND, NULL, alias, depth, lo, hi);
        }
    }
    if (strcmp(type, "COMPARE_IN") == 0) {
        size_t n = json_array_size(kids), k;
        field = column_of(f->schema, json_array_get(kids, 0), alias);
        if (!field || n < 2 || !value_room(f, n - 1))
            return unknown(f);
        for (k = 1; k < n; k++) {
            struct value *v = &f->values[f->nvalues + k - 1];
            if (constant_of(field, json_array_get(kids, k), v->b, &v->len))
                return unknown(f);
        }
        k = add_node(f, N_LEAF);
        f->nodes[k].field = field;
        f->nodes[k].op = OP_IN;
        f->nodes[k].first = f->nvalues;
        f->nodes[k].count = n - 1;
        f->nvalues += n - 1;
        return k;
    }
    if (strcmp(type, "OPERATOR_IS_NULL") == 0 || strcmp(type, "OPERATOR_IS_NOT_NULL") == 0) {
        size_t n;
        field = column_of(f->schema, json_array_get(kids, 0), alias);
        if (!field || json_array_size(kids) != 1)
            return unknown(f);
        n = add_node(f, N_LEAF);
        f->nodes[n].field = field;
        f->nodes[n].op = strcmp(type, "OPERATOR_IS_NULL") == 0 ? OP_IS_NULL : OP_NOT_NULL;
        return n;
    }
    for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
        json_t *l = json_object_get(node, "left"), *r = json_object_get(node, "right");
        if (strcmp(type, ops[k].type) != 0)
            continue;
        if ((field = column_of(f->schema, l, alias)))
            return leaf(f, field, ops[k].op, r);
        if ((field = column_of(f->schema, r, alias)))
            return leaf(f, field, flip(ops[k].op), l);
    }
    return unknown(f);
}

int tn__table_has_name_mapping(const struct tn_table *t)
{
    return json_object_get(json_object_get(t->meta->root, "properties"),
                           "schema.name-mapping.default") != NULL;
}

struct tn_filter *tn__filter_new(const struct tn_table *t, const struct tn_schema *schema,
                                 json_t *where, const char *alias)
{
    struct tn_filter *f;

    if (!where || json_is_null(where))
        return NULL;
    f = tn_calloc(1, sizeof(*f));
    f->schema = schema;
    f->mapped = tn__table_has_name_mapping(t);
    f->root = build(f, where, alias, 0);
    if (f->nodes[f->root].kind == N_TRUE) {
        tn__filter_free(f);
        return NULL;
    }
    return f;
}

void tn__filter_free(struct tn_filter *f)
{
    if (!f)
        return;
    free(f->nodes);
    free(f->kids);
    free(f->values);
    free(f);
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

/*---- Column statistics ----*/

/* Whether value "v" of type "t" may lie in [lo, hi] (a missing bound bounds nothing). */
static int within(const struct tn_type *t, const struct value *v, const struct tn_bytes *lo,
                  const struct tn_bytes *hi)
{
    return !(lo && tn_bound_compare(t, v->b, v->len, lo->p, lo->n) < 0) &&
           !(hi && tn_bound_compare(t, v->b, v->len, hi->p, hi->n) > 0);
}

/* What data file "df" records of column "id": its bounds (NULL when absent) and its value,
 * null and NaN counts (-1 when absent). */
struct column_stats {
    const struct tn_bytes *lo, *hi;
    int64_t values, nulls, nans;
};

static struct column_stats column_stats(const struct tn_data_file *df, int id)
{
    struct column_stats cs;

    cs.lo = bound_of(df->lower, df->nlower, id);
    cs.hi = bound_of(df->upper, df->nupper, id);
    cs.values = count_of(df->value_counts, df->nvalue_counts, id);
    cs.nulls = count_of(df->null_counts, df->nnull_counts, id);
    cs.nans = count_of(df->nan_counts, df->nnan_counts, id);
    return cs;
}

/* Whether the bounds and counts of data file "df" show that no row satisfies leaf "n". */
static int stats_exclude(const struct tn_filter *f, const struct tn_data_file *df,
                         const struct node *n)
{
    const struct tn_type *t = n->field->type;
    struct column_stats cs = column_stats(df, n->field->id);
    const struct tn_bytes *lo = cs.lo, *hi = cs.hi;
    int64_t values = cs.values, nulls = cs.nulls;
    const struct value *v = n->count ? &f->values[n->first] : NULL;

    if (n->op == OP_IS_NULL)
        return nulls == 0 && !f->mapped;
    if (values >= 0 && nulls >= 0 && values == nulls && !f->mapped)
        return 1; /* only nulls: IS NOT NULL and every comparison fail */
    if (n->op == OP_NOT_NULL)
        return 0;
    if ((t->kind == TN_T_FLOAT || t->kind == TN_T_DOUBLE) && n->op != OP_LT && n->op != OP_LE &&
        cs.nans != 0)
        return 0; /* NaN is above every number in DuckDB, and bounds leave it out */
    if (t->kind == TN_T_STRING &&
        ((lo && lo->n >= TN_BOUND_TRUNCATE) || (hi && hi->n >= TN_BOUND_TRUNCATE)))
        return 0; /* truncated string bounds: keep it simple and safe */
    switch (n->op) {
    case OP_EQ:
    case OP_IN:
        for (size_t k = 0; k < n->count; k++)
            if (within(t, &v[k], lo, hi))
                return 0;
        return 1;
    case OP_LT:
        return lo && tn_bound_compare(t, lo->p, lo->n, v->b, v->len) >= 0;
    case OP_LE:
        return lo && tn_bound_compare(t, lo->p, lo->n, v->b, v->len) > 0;
    case OP_GT:
        return hi && tn_bound_compare(t, hi->p, hi->n, v->b, v->len) <= 0;
    case OP_GE:
        return hi && tn_bound_compare(t, hi->p, hi->n, v->b, v->len) < 0;
    default:
        return 0;
    }
}

/*---- Partition transforms of a constant ----*/

enum tclass {
    T_NONE,   /* not usable for pruning */
    T_EXACT,  /* identity: the partition value is the column value */
    T_MONO,   /* year, month, day, hour, truncate: order-preserving, many values to one */
    T_EDGE,   /* the same, and the constant is the first value of its partition */
    T_BUCKET, /* bucket: only equality says anything */
};

static int64_t le_int(const unsigned char *b, size_t len)
{
    uint64_t u = 0;

    for (size_t i = 0; i < len; i++)
        u |= (uint64_t)b[i] << (8 * i);
    if (len < 8 && len > 0 && (b[len - 1] & 0x80))
        u |= ~0ULL << (8 * len); /* sign-extend */
    return (int64_t)u;
}

static void put_le(struct value *out, int64_t v, size_t len)
{
    for (size_t i = 0; i < len; i++)
        out->b[i] = (unsigned char)((uint64_t)v >> (8 * i));
    out->len = len;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The number N of "name[N]" or "name(N)" transforms, or 0. */
static int64_t transform_arg(const char *transform, const char *name)
{
    size_t n = strlen(name);
    int64_t v = 0;
    char digits[24];
    size_t k = 0;

    if (strncmp(transform, name, n) != 0 || (transform[n] != '[' && transform[n] != '('))
        return 0;
    for (const char *p = transform + n + 1; *p >= '0' && *p <= '9' && k + 1 < sizeof(digits);)
        digits[k++] = *p++;
    digits[k] = '\0';
    if (!k || tn_parse_i64(digits, &v) || v <= 0 || v > INT32_MAX)
        return 0;
    return v;
}

/* Apply partition field "pf"'s transform to constant "v" of the source column's type "src",
 * giving the value in the partition's encoding; returns how the result may be used. */
static enum tclass transform(const struct tn_partition_field *pf, const struct tn_type *src,
                             const struct value *v, struct value *out)
{
    const char *tr = pf->transform;
    enum tn_type_kind k = src->kind;
    int is_date = k == TN_T_DATE;
    int is_ts = k == TN_T_TIMESTAMP || k == TN_T_TIMESTAMPTZ;
    int is_ns = k == TN_T_TIMESTAMP_NS || k == TN_T_TIMESTAMPTZ_NS;
    int64_t x, w;

    if (strcmp(tr, "identity") == 0) {
        if (k == TN_T_FLOAT || k == TN_T_DOUBLE)
            return T_NONE; /* NaN and -0.0 make float partitions subtle: leave them */
        *out = *v;
        return T_EXACT;
    }
    if (strcmp(tr, "year") == 0 || strcmp(tr, "month") == 0 || strcmp(tr, "day") == 0 ||
        strcmp(tr, "hour") == 0) {
        int64_t unit = is_ns ? 1000 : 1, days, year;
        int month;
        if (!is_date && !is_ts && !is_ns)
            return T_NONE;
        int64_t prev_year;
        int prev_month, midnight;
        x = le_int(v->b, v->len);
        if (strcmp(tr, "hour") == 0) {
            if (is_date)
                return T_NONE;
            put_le(out, floor_div(x, 3600000000LL * unit), 4);
            return x == floor_div(x, 3600000000LL * unit) * 3600000000LL * unit ? T_EDGE : T_MONO;
        }
        days = is_date ? x : floor_div(x, 86400000000LL * unit);
        midnight = is_date || x == days * 86400000000LL * unit;
        if (strcmp(tr, "day") == 0) {
            put_le(out, days, 4);
            return midnight ? T_EDGE : T_MONO;
        }
        tn_date_civil(days, &year, &month);
        tn_date_civil(days - 1, &prev_year, &prev_month);
        if (strcmp(tr, "year") == 0) {
            put_le(out, year - 1970, 4);
            return midnight && prev_year != year ? T_EDGE : T_MONO;
        }
        put_le(out, (year - 1970) * 12 + month - 1, 4);
        return midnight && prev_month != month ? T_EDGE : T_MONO;
    }
    if ((w = transform_arg(tr, "truncate")) > 0) {
        if (k == TN_T_INT || k == TN_T_LONG) {
            x = le_int(v->b, v->len);
            put_le(out, x - (((x % w) + w) % w), v->len);
            return ((x % w) + w) % w == 0 ? T_EDGE : T_MONO;
        }
        if (k == TN_T_STRING) {
            /* the first w code points (UTF-8: count the bytes that start one) */
            size_t len = 0;
            int64_t points = 0;
            for (; len < v->len; len++) {
                if ((v->b[len] & 0xC0) != 0x80 && points++ == w)
                    break;
            }
            memcpy(out->b, v->b, len);
            out->len = len;
            return len == v->len ? T_EDGE : T_MONO; /* a short string is its own prefix */
        }
        return T_NONE;
    }
    if ((w = transform_arg(tr, "bucket")) > 0) {
        unsigned char le[8];
        int32_t h;
        if (k == TN_T_STRING) {
            h = tn_murmur3_32(v->b, v->len);
        } else if (k == TN_T_INT || k == TN_T_LONG || is_date || is_ts) {
            x = le_int(v->b, v->len); /* ints and dates hash as longs */
            for (int i = 0; i < 8; i++)
                le[i] = (unsigned char)((uint64_t)x >> (8 * i));
            h = tn_murmur3_32(le, 8);
        } else {
            return T_NONE;
        }
        put_le(out, (int64_t)(((uint32_t)h & 0x7fffffffu) % (uint32_t)w), 4);
        return T_BUCKET;
    }
    return T_NONE; /* void, and transforms tarn does not know */
}

static int known_transform(const char *tr)
{
    return strcmp(tr, "identity") == 0 || strcmp(tr, "year") == 0 || strcmp(tr, "month") == 0 ||
           strcmp(tr, "day") == 0 || strcmp(tr, "hour") == 0 || transform_arg(tr, "bucket") > 0 ||
           transform_arg(tr, "truncate") > 0;
}

/* Whether no row whose partition value for "pf" lies in [lo, hi] (the encoding of type "pt";
 * "may_null": some are null; "all_null": all are) satisfies leaf "n". */
static int range_excludes(const struct tn_filter *f, const struct node *n,
                          const struct tn_partition_field *pf, const struct tn_type *pt,
                          const struct tn_bytes *lo, const struct tn_bytes *hi, int may_null,
                          int all_null)
{
    /* the transforms tarn knows map null to null and only null to null (void maps all to null) */
    if (!known_transform(pf->transform))
        return 0;
    if (n->op == OP_IS_NULL)
        return !may_null;
    if (all_null)
        return 1;
    if (n->op == OP_NOT_NULL)
        return 0;
    for (size_t k = 0; k < n->count; k++) {
        struct value tv;
        enum tclass c = transform(pf, n->field->type, &f->values[n->first + k], &tv);
        if (c == T_NONE || (c == T_BUCKET && n->op != OP_EQ && n->op != OP_IN))
            return 0;
        switch (n->op) {
        case OP_EQ:
        case OP_IN:
            if (within(pt, &tv, lo, hi))
                return 0;
            break;  /* this value is outside: try the next */
        case OP_LT: /* x < v gives T(x) <= T(v); strict for identity and a partition's start */
            return lo && (c == T_MONO ? tn_bound_compare(pt, lo->p, lo->n, tv.b, tv.len) > 0
                                      : tn_bound_compare(pt, lo->p, lo->n, tv.b, tv.len) >= 0);
        case OP_LE:
            return lo && tn_bound_compare(pt, lo->p, lo->n, tv.b, tv.len) > 0;
        case OP_GT:
            return hi && (c == T_EXACT ? tn_bound_compare(pt, hi->p, hi->n, tv.b, tv.len) <= 0
                                       : tn_bound_compare(pt, hi->p, hi->n, tv.b, tv.len) < 0);
        case OP_GE:
            return hi && tn_bound_compare(pt, hi->p, hi->n, tv.b, tv.len) < 0;
        default:
            return 0;
        }
    }
    return 1; /* equality with values all outside the range */
}

/*---- Evaluation ----*/

/* What a leaf is checked against: a data file (with its manifest's spec), or a manifest. */
struct target {
    const struct tn_spec *spec;
    const struct tn_data_file *file;   /* or NULL */
    const struct tn_manifest_file *mf; /* or NULL */
};

static int leaf_excludes(const struct tn_filter *f, const struct node *n, const struct target *tg)
{
    size_t nvalues = tg->file ? tg->file->npartition : tg->mf->npartitions;

    if (tg->file && stats_exclude(f, tg->file, n))
        return 1;
    if (!tg->spec || nvalues != tg->spec->nfields)
        return 0; /* partition values that do not fit the spec: use none */
    for (size_t i = 0; i < tg->spec->nfields; i++) {
        const struct tn_partition_field *pf = &tg->spec->fields[i];
        struct tn_type storage;
        const struct tn_type *pt;
        if (pf->source_id != n->field->id)
            continue;
        pt = tn_partition_type(f->schema, pf, &storage);
        if (tg->file) {
            const struct tn_pvalue *pv = &tg->file->partition[i];
            unsigned char enc[TN_BOUND_MAX];
            struct tn_bytes b = {enc, 0};
            if (!pv->is_null) {
                if (pv->bytes.n > sizeof(enc))
                    continue;
                b.n = tn_pvalue_encode(pt, pv, enc, sizeof(enc));
            }
            if (range_excludes(f, n, pf, pt, pv->is_null ? NULL : &b, pv->is_null ? NULL : &b,
                               pv->is_null, pv->is_null))
                return 1;
        } else {
            const struct tn_field_summary *fs = &tg->mf->partitions[i];
            if (range_excludes(f, n, pf, pt, fs->lower.p ? &fs->lower : NULL,
                               fs->upper.p ? &fs->upper : NULL, fs->contains_null, 0))
                return 1;
        }
    }
    return 0;
}

/* The truth of the AND/OR tree at "idx", each comparison decided by "decide" (on "ctx"), and a
 * node that is neither answered "other". */
static int eval_tree(const struct tn_filter *f, size_t idx,
                     int (*decide)(const struct tn_filter *f, const struct node *n,
                                   const void *ctx),
                     const void *ctx, int other)
{
    const struct node *n = &f->nodes[idx];

    switch (n->kind) {
    case N_AND:
        for (size_t k = 0; k < n->count; k++)
            if (!eval_tree(f, f->kids[n->first + k], decide, ctx, other))
                return 0;
        return 1;
    case N_OR:
        for (size_t k = 0; k < n->count; k++)
            if (eval_tree(f, f->kids[n->first + k], decide, ctx, other))
                return 1;
        return 0;
    case N_LEAF:
        return decide(f, n, ctx);
    default:
        return other;
    }
}

static int leaf_may_match(const struct tn_filter *f, const struct node *n, const void *tg)
{
    return !leaf_excludes(f, n, tg);
}

/* Whether a row of target "tg" may satisfy the tree at "idx" (what is not understood may). */
static int may_match(const struct tn_filter *f, size_t idx, const struct target *tg)
{
    return eval_tree(f, idx, leaf_may_match, tg, 1);
}

int tn__filter_manifest(const struct tn_filter *f, const struct tn_table *t,
                        const struct tn_manifest_file *mf)
{
    struct target tg = {tn_metadata_spec(t->meta, mf->spec_id), NULL, mf};

    if (!f || mf->content != 0 || !mf->has_partitions)
        return 1;
    return may_match(f, f->root, &tg);
}

int tn__filter_file(const struct tn_filter *f, const struct tn_table *t,
                    const struct tn_manifest_entry *e)
{
    struct target tg = {tn_metadata_spec(t->meta, e->spec_id), &e->file, NULL};

    return !f || may_match(f, f->root, &tg);
}

/*---- Files every row of which matches (DELETE drops them whole) ----*/

/* Whether every row of data file "df" satisfies leaf "n", by its bounds and counts. */
static int includes_all(const struct tn_filter *f, const struct tn_data_file *df,
                        const struct node *n)
{
    const struct tn_type *t = n->field->type;
    struct column_stats cs = column_stats(df, n->field->id);
    const struct tn_bytes *lo = cs.lo, *hi = cs.hi;
    int64_t values = cs.values, nulls = cs.nulls;
    const struct value *v = n->count ? &f->values[n->first] : NULL;

    if (n->op == OP_IS_NULL)
        return values >= 0 && values == nulls;
    if (n->op == OP_NOT_NULL)
        return nulls == 0;
    if (!lo || !hi || nulls != 0)
        return 0;
    if ((t->kind == TN_T_FLOAT || t->kind == TN_T_DOUBLE) && cs.nans != 0)
        return 0;
    if (t->kind == TN_T_STRING || t->kind == TN_T_BINARY || t->kind == TN_T_FIXED)
        return 0; /* truncated bounds say too little */
    switch (n->op) {
    case OP_EQ:
    case OP_IN:
        if (tn_bound_compare(t, lo->p, lo->n, hi->p, hi->n) != 0)
            return 0;
        for (size_t k = 0; k < n->count; k++)
            if (tn_bound_compare(t, lo->p, lo->n, v[k].b, v[k].len) == 0)
                return 1;
        return 0;
    case OP_LT:
        return tn_bound_compare(t, hi->p, hi->n, v->b, v->len) < 0;
    case OP_LE:
        return tn_bound_compare(t, hi->p, hi->n, v->b, v->len) <= 0;
    case OP_GT:
        return tn_bound_compare(t, lo->p, lo->n, v->b, v->len) > 0;
    case OP_GE:
        return tn_bound_compare(t, lo->p, lo->n, v->b, v->len) >= 0;
    default:
        return 0;
    }
}

static int leaf_includes_all(const struct tn_filter *f, const struct node *n, const void *df)
{
    return includes_all(f, df, n);
}

/* Whether every row of data file "df" satisfies the tree at "idx" (what is not understood
 * does not). */
static int covers(const struct tn_filter *f, size_t idx, const struct tn_data_file *df)
{
    return eval_tree(f, idx, leaf_includes_all, df, 0);
}

size_t tn_scan_covered(const struct tn_table *t, struct tn_scan *scan, json_t *where,
                       const char *alias, json_t *covered)
{
    struct tn_filter *f;
    size_t kept = 0, moved = 0;

    if (!where || !scan->ndata)
        return 0;
    f = tn__filter_new(t, scan->schema, where, alias);
    if (!f || f->partial) {
        tn__filter_free(f); /* only a predicate understood whole can vouch for every row */
        return 0;
    }
    for (size_t i = 0; i < scan->ndata; i++) {
        const struct tn_manifest_entry *e = &scan->data[i];
        int all = 1;
        for (size_t d = 0; d < scan->ndeletes && all; d++)
            all = !tn_delete_applies(&scan->deletes[d],
                                     tn_metadata_spec(t->meta, scan->deletes[d].spec_id), e);
        if (all && covers(f, f->root, &e->file)) {
            json_object_set_new(covered, e->file.file_path, json_integer(e->file.record_count));
            tn_data_file_release(&scan->data[i].file);
            moved++;
        } else {
            scan->data[kept++] = scan->data[i];
        }
    }
    scan->ndata = kept;
    tn__filter_free(f);
    return moved;
}
