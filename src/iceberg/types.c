/* types.c - Iceberg types and schemas: parsing their JSON form (ICEBERG.md 2.1, 2.2), looking
 * fields up by id, and naming a type for Iceberg JSON and for DuckDB SQL.
 * A parsed type owns its children; field names are copies, "initial-default" values are borrowed
 * from the JSON the schema holds a reference to. Parsed types are immutable, so they may be
 * shared between threads. */
#include "iceberg/iceberg.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Nesting deeper than this is refused rather than recursed into. */
#define TYPE_MAX_DEPTH 64

static const struct {
    const char *name;
    enum tn_type_kind kind;
} primitive_names[] = {
    {"boolean", TN_T_BOOLEAN},
    {"int", TN_T_INT},
    {"long", TN_T_LONG},
    {"float", TN_T_FLOAT},
    {"double", TN_T_DOUBLE},
    {"date", TN_T_DATE},
    {"time", TN_T_TIME},
    {"timestamp", TN_T_TIMESTAMP},
    {"timestamptz", TN_T_TIMESTAMPTZ},
    {"timestamp_ns", TN_T_TIMESTAMP_NS},
    {"timestamptz_ns", TN_T_TIMESTAMPTZ_NS},
    {"string", TN_T_STRING},
    {"uuid", TN_T_UUID},
    {"binary", TN_T_BINARY},
    {"unknown", TN_T_UNKNOWN},
};

/*---- Parsing ----*/

/* Fail with Java's message for a type it cannot read, quoting (a prefix of) the JSON. */
static int bad_type(json_t *j, const char *why, struct tn_err *err)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER) : NULL;
    int rc;

    rc = tn_fail(err, TN_EINPUT, "Cannot parse type from json: %.300s%s%s%s", text ? text : "null",
                 text && strlen(text) > 300 ? "..." : "", why ? ": " : "", why ? why : "");
    free(text);
    return rc;
}

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Read an unsigned decimal number of at most 9 digits at *p. */
static int read_small_uint(const char **p, int *out)
{
    const char *s = *p;
    int v = 0, n = 0;

    while (isdigit((unsigned char)*s)) {
        if (++n > 9)
            return -1;
        v = v * 10 + (*s - '0');
        s++;
    }
    if (!n)
        return -1;
    *p = s;
    *out = v;
    return 0;
}

/* Case-insensitive prefix match; returns the text after the prefix or NULL. */
static const char *after_prefix(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncasecmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* A primitive type from its string form: "long", "decimal(9, 2)", "fixed[16]". Like Java,
 * names are matched case-insensitively and whitespace is allowed inside the brackets. */
static int parse_primitive(json_t *j, struct tn_type *t, struct tn_err *err)
{
    const char *s = json_string_value(j);
    const char *p;

    for (size_t i = 0; i < sizeof(primitive_names) / sizeof(primitive_names[0]); i++) {
        if (strcasecmp(s, primitive_names[i].name) == 0) {
            t->kind = primitive_names[i].kind;
            return 0;
        }
    }
    if (strcasecmp(s, "variant") == 0 || after_prefix(s, "geometry") ||
        after_prefix(s, "geography"))
        return tn_fail(err, TN_EINPUT,
                       "the Iceberg format-version 3 type '%.60s' is not supported by tarn (it "
                       "reads and writes timestamp_ns, timestamptz_ns and unknown of the v3 "
                       "types); a table with such a column cannot be read or created here",
                       s);
    if ((p = after_prefix(s, "decimal"))) {
        int precision, scale;
        p = skip_space(p);
        if (*p++ != '(')
            return bad_type(j, NULL, err);
        p = skip_space(p);
        if (read_small_uint(&p, &precision))
            return bad_type(j, NULL, err);
        p = skip_space(p);
        if (*p++ != ',')
            return bad_type(j, NULL, err);
        p = skip_space(p);
        if (read_small_uint(&p, &scale))
            return bad_type(j, NULL, err);
        p = skip_space(p);
        if (*p++ != ')' || *skip_space(p))
            return bad_type(j, NULL, err);
        if (precision < 1 || precision > 38)
            return bad_type(j, "decimal precision must be 1 to 38", err);
        if (scale > precision)
            return bad_type(j, "decimal scale must not exceed its precision", err);
        t->kind = TN_T_DECIMAL;
        t->precision = precision;
        t->scale = scale;
        return 0;
    }
    if ((p = after_prefix(s, "fixed"))) {
        int length;
        p = skip_space(p);
        if (*p++ != '[')
            return bad_type(j, NULL, err);
        p = skip_space(p);
        if (read_small_uint(&p, &length))
            return bad_type(j, NULL, err);
        p = skip_space(p);
        if (*p++ != ']' || *skip_space(p))
            return bad_type(j, NULL, err);
        if (length < 1)
            return bad_type(j, "fixed length must be at least 1", err);
        t->kind = TN_T_FIXED;
        t->length = length;
        return 0;
    }
    return bad_type(j, NULL, err);
}

static int parse_type(json_t *j, int depth, struct tn_type **out, struct tn_err *err);

/* An integer member that must fit an int (field ids). */
static int get_id(json_t *obj, const char *key, int *out)
{
    json_t *v = json_object_get(obj, key);
    json_int_t n;

    if (!json_is_integer(v))
        return -1;
    n = json_integer_value(v);
    if (n < INT_MIN || n > INT_MAX)
        return -1;
    *out = (int)n;
    return 0;
}

static int get_bool(json_t *obj, const char *key, int *out)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_boolean(v))
        return -1;
    *out = json_is_true(v);
    return 0;
}

static void type_release(struct tn_type *t)
{
    for (size_t i = 0; i < t->nfields; i++) {
        free(t->fields[i].name);
        tn_type_free(t->fields[i].type);
    }
    free(t->fields);
    tn_type_free(t->element);
    tn_type_free(t->key);
    tn_type_free(t->value);
    memset(t, 0, sizeof(*t));
}

/* The members of a struct object ({"type":"struct","fields":[...]}) into "t". */
static int parse_struct(json_t *j, int depth, struct tn_type *t, struct tn_err *err)
{
    json_t *fields = json_object_get(j, "fields");
    json_t *f;
    size_t i;
    int rc;

    if (!json_is_array(fields))
        return bad_type(j, "struct needs a \"fields\" array", err);
    t->kind = TN_T_STRUCT;
    t->fields = tn_calloc(json_array_size(fields) + 1, sizeof(*t->fields));
    json_array_foreach(fields, i, f)
    {
        struct tn_field *field = &t->fields[i];
        json_t *name = json_object_get(f, "name");

        if (!json_is_object(f))
            return bad_type(f, "a struct field must be an object", err);
        if (get_id(f, "id", &field->id))
            return bad_type(f, "field needs an integer \"id\"", err);
        if (!json_is_string(name))
            return bad_type(f, "field needs a string \"name\"", err);
        if (get_bool(f, "required", &field->required))
            return bad_type(f, "field needs a boolean \"required\"", err);
        field->name = tn_strdup(json_string_value(name));
        t->nfields++; /* counted now so a failure below frees the name */
        rc = parse_type(json_object_get(f, "type"), depth + 1, &field->type, err);
        if (rc)
            return rc;
        field->json = f;
        field->initial_default = json_object_get(f, "initial-default");
        if (json_is_null(field->initial_default))
            field->initial_default = NULL;
    }
    return 0;
}

static int parse_type(json_t *j, int depth, struct tn_type **out, struct tn_err *err)
{
    struct tn_type *t;
    const char *kind;
    int rc = 0;

    if (depth > TYPE_MAX_DEPTH)
        return bad_type(j, "types are nested too deeply", err);
    if (!json_is_string(j) && !json_is_object(j))
        return bad_type(j, NULL, err);
    t = tn_calloc(1, sizeof(*t));
    if (json_is_string(j)) {
        rc = parse_primitive(j, t, err);
        goto out;
    }
    kind = json_string_value(json_object_get(j, "type"));
    if (!kind) {
        rc = bad_type(j, NULL, err);
    } else if (strcmp(kind, "struct") == 0) {
        rc = parse_struct(j, depth, t, err);
    } else if (strcmp(kind, "list") == 0) {
        t->kind = TN_T_LIST;
        if (get_id(j, "element-id", &t->element_id))
            rc = bad_type(j, "list needs an integer \"element-id\"", err);
        else if (get_bool(j, "element-required", &t->element_required))
            rc = bad_type(j, "list needs a boolean \"element-required\"", err);
        else
            rc = parse_type(json_object_get(j, "element"), depth + 1, &t->element, err);
    } else if (strcmp(kind, "map") == 0) {
        t->kind = TN_T_MAP;
        if (get_id(j, "key-id", &t->key_id))
            rc = bad_type(j, "map needs an integer \"key-id\"", err);
        else if (get_id(j, "value-id", &t->value_id))
            rc = bad_type(j, "map needs an integer \"value-id\"", err);
        else if (get_bool(j, "value-required", &t->value_required))
            rc = bad_type(j, "map needs a boolean \"value-required\"", err);
        else if (!(rc = parse_type(json_object_get(j, "key"), depth + 1, &t->key, err)))
            rc = parse_type(json_object_get(j, "value"), depth + 1, &t->value, err);
    } else {
        rc = bad_type(j, NULL, err);
    }
out:
    if (rc) {
        tn_type_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int tn_type_parse(json_t *j, struct tn_type **out, struct tn_err *err)
{
    return parse_type(j, 0, out, err);
}

void tn_type_free(struct tn_type *t)
{
    if (!t)
        return;
    type_release(t);
    free(t);
}

/*---- Walking ----*/

/* Call "fn" on every id in "t" (struct fields, list elements, map keys and values), depth
 * first; stop and return the first non-zero result. */
typedef int (*id_visitor)(const struct tn_field *f, int id, void *ctx);

static int visit_ids(const struct tn_type *t, id_visitor fn, void *ctx)
{
    int rc;

    switch (t->kind) {
    case TN_T_STRUCT:
        for (size_t i = 0; i < t->nfields; i++) {
            if ((rc = fn(&t->fields[i], t->fields[i].id, ctx)))
                return rc;
            if ((rc = visit_ids(t->fields[i].type, fn, ctx)))
                return rc;
        }
        return 0;
    case TN_T_LIST:
        if ((rc = fn(NULL, t->element_id, ctx)))
            return rc;
        return visit_ids(t->element, fn, ctx);
    case TN_T_MAP:
        if ((rc = fn(NULL, t->key_id, ctx)) || (rc = fn(NULL, t->value_id, ctx)))
            return rc;
        if ((rc = visit_ids(t->key, fn, ctx)))
            return rc;
        return visit_ids(t->value, fn, ctx);
    default:
        return 0;
    }
}

struct id_set {
    int *ids;
    size_t n, cap;
};

static int collect_id(const struct tn_field *f, int id, void *ctx)
{
    struct id_set *set = ctx;

    (void)f;
    if (set->n == set->cap) {
        set->cap = set->cap ? set->cap * 2 : 64;
        set->ids = tn_realloc(set->ids, set->cap * sizeof(*set->ids));
    }
    set->ids[set->n++] = id;
    return 0;
}

static int compare_ints(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Whether some id is used more than once in "t"; if so, *dup is one such id. */
static int has_duplicate_id(const struct tn_type *t, int *dup)
{
    struct id_set set = {NULL, 0, 0};
    int found = 0;

    visit_ids(t, collect_id, &set);
    if (set.n)
        qsort(set.ids, set.n, sizeof(*set.ids), compare_ints);
    for (size_t i = 1; i < set.n && !found; i++) {
        if (set.ids[i] == set.ids[i - 1]) {
            *dup = set.ids[i];
            found = 1;
        }
    }
    free(set.ids);
    return found;
}

/*---- Schemas ----*/

int tn_schema_parse(json_t *j, struct tn_schema **out, struct tn_err *err)
{
    struct tn_schema *s;
    json_t *type, *ids, *v;
    size_t i;
    int rc, dup = 0;

    /* like Java's SchemaParser, which reads the schema as a type: "type" must be "struct" */
    type = json_object_get(j, "type");
    if (!json_is_object(j) || !json_is_string(type) ||
        strcmp(json_string_value(type), "struct") != 0)
        return bad_type(j, "a schema must be an object with \"type\": \"struct\"", err);
    s = tn_calloc(1, sizeof(*s));
    s->json = json_incref(j);
    v = json_object_get(j, "schema-id");
    if (v && get_id(j, "schema-id", &s->schema_id)) {
        rc = tn_fail(err, TN_EINPUT, "schema-id must be an integer");
        goto out;
    }
    rc = parse_struct(j, 0, &s->root, err);
    if (rc)
        goto out;
    if (has_duplicate_id(&s->root, &dup)) {
        rc =
            tn_fail(err, TN_EINPUT, "schema %d uses field id %d more than once", s->schema_id, dup);
        goto out;
    }
    ids = json_object_get(j, "identifier-field-ids");
    if (ids && !json_is_null(ids)) {
        if (!json_is_array(ids)) {
            rc = tn_fail(err, TN_EINPUT, "identifier-field-ids must be an array of field ids");
            goto out;
        }
        s->identifier_ids = tn_calloc(json_array_size(ids) + 1, sizeof(int));
        json_array_foreach(ids, i, v)
        {
            json_int_t n = json_integer_value(v);
            if (!json_is_integer(v) || n < INT_MIN || n > INT_MAX) {
                rc = tn_fail(err, TN_EINPUT, "identifier-field-ids must be an array of field ids");
                goto out;
            }
            s->identifier_ids[s->nidentifier++] = (int)n;
        }
    }
out:
    if (rc) {
        tn_schema_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void tn_schema_free(struct tn_schema *s)
{
    if (!s)
        return;
    type_release(&s->root);
    free(s->identifier_ids);
    json_decref(s->json);
    free(s);
}

struct find_ctx {
    int id;
    const struct tn_field *found;
};

static int find_field(const struct tn_field *f, int id, void *ctx)
{
    struct find_ctx *fc = ctx;

    if (!f || id != fc->id)
        return 0;
    fc->found = f;
    return 1;
}

/* Only struct fields are returned: list element, map key and map value ids have no struct
 * tn_field and give NULL, though structs inside lists and maps are searched. */
const struct tn_field *tn_schema_find(const struct tn_schema *s, int id)
{
    struct find_ctx fc = {id, NULL};

    visit_ids(&s->root, find_field, &fc);
    return fc.found;
}

static int max_id(const struct tn_field *f, int id, void *ctx)
{
    int *m = ctx;

    (void)f;
    if (id > *m)
        *m = id;
    return 0;
}

int tn_schema_max_id(const struct tn_schema *s)
{
    int m = 0;

    visit_ids(&s->root, max_id, &m);
    return m;
}

/*---- Names ----*/

int tn_type_is_primitive(const struct tn_type *t)
{
    return t->kind != TN_T_STRUCT && t->kind != TN_T_LIST && t->kind != TN_T_MAP;
}

void tn_type_name(const struct tn_type *t, char *out, size_t outlen)
{
    if (t->kind == TN_T_DECIMAL) {
        snprintf(out, outlen, "decimal(%d,%d)", t->precision, t->scale);
        return;
    }
    if (t->kind == TN_T_FIXED) {
        snprintf(out, outlen, "fixed[%d]", t->length);
        return;
    }
    for (size_t i = 0; i < sizeof(primitive_names) / sizeof(primitive_names[0]); i++) {
        if (primitive_names[i].kind == t->kind) {
            snprintf(out, outlen, "%s", primitive_names[i].name);
            return;
        }
    }
    snprintf(out, outlen, "%s",
             t->kind == TN_T_STRUCT ? "struct"
             : t->kind == TN_T_LIST ? "list"
                                    : "map");
}

/* DuckDB has no time-zone-aware nanosecond timestamp, so timestamptz_ns reads as TIMESTAMP WITH
 * TIME ZONE (microseconds). "unknown" is always null; DuckDB's NULL type cannot be a cast target,
 * so it maps to INTEGER, which holds the nulls just as well. */
/* tn_type_duckdb, with struct fields named as "names" (field id -> name) says when it is not
 * NULL, and a field it does not name "__tn_missing_<id>" (see tn_type_duckdb_file). */
static int duckdb_type(const struct tn_type *t, const json_t *names, struct tn_buf *b,
                       struct tn_err *err)
{
    int rc;

    switch (t->kind) {
    case TN_T_BOOLEAN:
        return tn_buf_addstr(b, "BOOLEAN", err);
    case TN_T_INT:
    case TN_T_UNKNOWN:
        return tn_buf_addstr(b, "INTEGER", err);
    case TN_T_LONG:
        return tn_buf_addstr(b, "BIGINT", err);
    case TN_T_FLOAT:
        return tn_buf_addstr(b, "FLOAT", err);
    case TN_T_DOUBLE:
        return tn_buf_addstr(b, "DOUBLE", err);
    case TN_T_DECIMAL:
        return tn_buf_addf(b, err, "DECIMAL(%d,%d)", t->precision, t->scale);
    case TN_T_DATE:
        return tn_buf_addstr(b, "DATE", err);
    case TN_T_TIME:
        return tn_buf_addstr(b, "TIME", err);
    case TN_T_TIMESTAMP:
        return tn_buf_addstr(b, "TIMESTAMP", err);
    case TN_T_TIMESTAMPTZ:
    case TN_T_TIMESTAMPTZ_NS:
        return tn_buf_addstr(b, "TIMESTAMP WITH TIME ZONE", err);
    case TN_T_TIMESTAMP_NS:
        return tn_buf_addstr(b, "TIMESTAMP_NS", err);
    case TN_T_STRING:
        return tn_buf_addstr(b, "VARCHAR", err);
    case TN_T_UUID:
        return tn_buf_addstr(b, "UUID", err);
    case TN_T_FIXED:
    case TN_T_BINARY:
        return tn_buf_addstr(b, "BLOB", err);
    case TN_T_STRUCT:
        if ((rc = tn_buf_addstr(b, "STRUCT(", err)))
            return rc;
        for (size_t i = 0; i < t->nfields; i++) {
            const char *p = t->fields[i].name;
            char id[16], missing[32];
            if (names) {
                snprintf(id, sizeof(id), "%d", t->fields[i].id);
                snprintf(missing, sizeof(missing), "__tn_missing_%d", t->fields[i].id);
                p = json_string_value(json_object_get(names, id));
                if (!p)
                    p = missing;
            }
            if (i && (rc = tn_buf_addstr(b, ", ", err)))
                return rc;
            if ((rc = tn_buf_addstr(b, "\"", err)))
                return rc;
            for (const char *q; (q = strchr(p, '"')); p = q + 1) {
                if ((rc = tn_buf_add(b, p, (size_t)(q - p), err)) ||
                    (rc = tn_buf_addstr(b, "\"\"", err)))
                    return rc;
            }
            if ((rc = tn_buf_addstr(b, p, err)) || (rc = tn_buf_addstr(b, "\" ", err)))
                return rc;
            if ((rc = duckdb_type(t->fields[i].type, names, b, err)))
                return rc;
        }
        return tn_buf_addstr(b, ")", err);
    case TN_T_LIST:
        if ((rc = duckdb_type(t->element, names, b, err)))
            return rc;
        return tn_buf_addstr(b, "[]", err);
    case TN_T_MAP:
        if ((rc = tn_buf_addstr(b, "MAP(", err)) || (rc = duckdb_type(t->key, names, b, err)) ||
            (rc = tn_buf_addstr(b, ", ", err)) || (rc = duckdb_type(t->value, names, b, err)))
            return rc;
        return tn_buf_addstr(b, ")", err);
    }
    return tn_fail(err, TN_EINTERNAL, "type kind %d has no DuckDB type", (int)t->kind);
}

int tn_type_duckdb(const struct tn_type *t, struct tn_buf *b, struct tn_err *err)
{
    return duckdb_type(t, NULL, b, err);
}

int tn_type_duckdb_file(const struct tn_type *t, const json_t *names, struct tn_buf *b,
                        struct tn_err *err)
{
    return duckdb_type(t, names, b, err);
}
