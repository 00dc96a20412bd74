/* catalog_sql.c - the SQL a DuckDB user asks about tables, answered from tarn's catalog:
 * SHOW TABLES (namespace default), SHOW TABLES FROM ns, SHOW ALL TABLES, DESCRIBE t (with NOT
 * NULL and identifier fields from the Iceberg schema), information_schema.tables and
 * information_schema.columns -- tables and views together, as DuckDB lists them (a view's
 * columns from its current Iceberg schema, its table_type VIEW); and the error for a table that is
 * nowhere, which suggests the nearest tarn table instead of one of DuckDB's own views.
 *
 * Each answer is a relation built from catalog and metadata values, every value a quoted SQL
 * literal; it replaces the node in the statement's parse tree, so the rest of the statement
 * (WHERE, ORDER BY, joins) runs on it as written. */
#include "table/table_int.h"

#include "iceberg/view.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A relation of "ncols" VARCHAR-typed columns (typed by a first NULL row, which is filtered out,
 * so an empty answer keeps its columns), rows appended by the caller to "values". */
struct answer {
    const char *const *cols;
    const char *const *types;
    size_t ncols;
    struct tn_buf values;
};

static void row_begin(struct answer *a)
{
    tn_buf_addstr(&a->values, ", (", NULL);
}

static void row_value(struct answer *a, size_t col, const char *literal_sql)
{
    if (col)
        tn_buf_addstr(&a->values, ", ", NULL);
    tn_buf_addstr(&a->values, literal_sql, NULL);
}

static void row_string(struct answer *a, size_t col, const char *v)
{
    if (col)
        tn_buf_addstr(&a->values, ", ", NULL);
    if (v)
        tn_sql_string(&a->values, v);
    else
        tn_buf_addstr(&a->values, "NULL", NULL);
}

static void row_end(struct answer *a)
{
    tn_buf_addstr(&a->values, ")", NULL);
}

/* Replace table-reference node "node" by the answer's relation, aliased "alias". */
static int answer_place(struct tn_session *s, struct answer *a, json_t *node, const char *alias,
                        struct tn_err *err)
{
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    json_t *tree, *from;
    int rc = 0;

    tn_buf_addstr(&q, "SELECT * FROM (SELECT * FROM (VALUES (", NULL);
    for (size_t c = 0; c < a->ncols; c++)
        tn_buf_addf(&q, NULL, "%sCAST(NULL AS %s)", c ? ", " : "", a->types[c]);
    tn_buf_addstr(&q, ")", NULL);
    if (a->values.buf)
        tn_buf_addstr(&q, a->values.buf, NULL);
    tn_buf_addstr(&q, ") AS _tn_v(", NULL);
    for (size_t c = 0; c < a->ncols; c++) {
        if (c)
            tn_buf_addstr(&q, ", ", NULL);
        tn_sql_ident(&q, a->cols[c]);
    }
    tn_buf_addstr(&q, ") WHERE ", NULL);
    tn_sql_ident(&q, a->cols[0]);
    tn_buf_addstr(&q, " IS NOT NULL)", NULL);
    tree = tn_query_parse(s, q.buf, err);
    tn_buf_release(&q);
    tn_buf_release(&a->values);
    if (!tree)
        return err->code;
    from = json_object_get(
        json_object_get(json_array_get(json_object_get(tree, "statements"), 0), "node"),
        "from_table");
    if (!json_is_object(from)) {
        rc = tn_fail(err, TN_EINTERNAL, "the catalog's answer did not parse as a relation");
    } else {
        json_object_set_new(from, "alias", json_string(alias));
        json_object_clear(node);
        json_object_update(node, from);
    }
    json_decref(tree);
    return rc;
}

/* A table or a view of the catalog. */
struct relation {
    char *ns, *name;
    int view;
};

static int relation_order(const void *a, const void *b)
{
    const struct relation *x = a, *y = b;
    int c = strcmp(x->ns, y->ns);

    return c ? c : strcmp(x->name, y->name);
}

static void relations_free(struct relation *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].ns);
        free(r[i].name);
    }
    free(r);
}

/* The tables and views in namespace "ns" (NULL: all), by namespace and name, as DuckDB lists
 * its tables and views together. */
static int list_relations(struct tn_warehouse *wh, const char *ns, struct relation **out,
                          size_t *out_n, struct tn_err *err)
{
    struct tn_catalog_entry *t = NULL, *v = NULL;
    size_t nt = 0, nv = 0;
    struct relation *r;
    int rc = tn_catalog_list(wh->catalog, ns, &t, &nt, err);

    if (!rc)
        rc = tn_catalog_list_kind(wh->catalog, TN_CATALOG_VIEW, ns, &v, &nv, err);
    if (rc) {
        tn_catalog_entries_free(t, nt);
        return rc;
    }
    r = tn_calloc(nt + nv + 1, sizeof(*r));
    for (size_t i = 0; i < nt + nv; i++) {
        const struct tn_catalog_entry *e = i < nt ? &t[i] : &v[i - nt];
        r[i] = (struct relation){tn_strdup(e->ns), tn_strdup(e->table), i >= nt};
    }
    qsort(r, nt + nv, sizeof(*r), relation_order);
    tn_catalog_entries_free(t, nt);
    tn_catalog_entries_free(v, nv);
    *out = r;
    *out_n = nt + nv;
    return 0;
}

/* The current schema of relation "r" into *schema (free with tn_schema_free when *owned, else
 * it belongs to *t): TN_ENOTABLE or TN_ENOVIEW when it was dropped meanwhile. */
static int relation_schema(struct tn_warehouse *wh, const struct relation *r, struct tn_table **t,
                           const struct tn_schema **schema, struct tn_schema **owned,
                           struct tn_err *err)
{
    struct tn_view *v = NULL;
    int rc;

    *t = NULL;
    *owned = NULL;
    if (!r->view) {
        rc = tn_table_load(wh, r->ns, r->name, t, err);
        if (!rc)
            *schema = tn_metadata_current_schema((*t)->meta);
        return rc;
    }
    rc = tn_view_load(wh, r->ns, r->name, &v, err);
    if (!rc)
        rc = tn_schema_parse(tn_view_metadata_schema(v->meta), owned, err);
    tn_view_free(v);
    *schema = *owned;
    return rc;
}

/* A column's DuckDB type name, or the Iceberg type's JSON when it has none. */
static char *column_type(const struct tn_field *f)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_err ignored;

    if (tn_type_duckdb(f->type, &b, &ignored)) {
        tn_buf_release(&b);
        return tn_json_dump(json_object_get(f->json, "type"));
    }
    return tn_buf_detach(&b, NULL);
}

static int is_identifier(const struct tn_schema *schema, int id)
{
    for (size_t i = 0; i < schema->nidentifier; i++)
        if (schema->identifier_ids[i] == id)
            return 1;
    return 0;
}

/* One relation's rows, appended to "a"; "schema" is NULL unless the walk loaded schemas. */
typedef void (*relation_rows)(struct answer *a, const struct relation *r,
                              const struct tn_schema *schema);

/* Answer node "node" (aliased "alias") with the rows "rows" gives for each table and view in
 * namespace "ns" (NULL: all), by namespace and name; with "with_schema" each one's current schema
 * is loaded first and one dropped meanwhile is passed over. */
static int answer_relations(struct tn_warehouse *wh, struct tn_session *s, const char *ns,
                            int with_schema, struct answer *a, relation_rows rows, json_t *node,
                            const char *alias, struct tn_err *err)
{
    struct relation *e = NULL;
    size_t n = 0;
    int rc = list_relations(wh, ns, &e, &n, err);

    for (size_t i = 0; !rc && i < n; i++) {
        struct tn_table *t = NULL;
        struct tn_schema *owned = NULL;
        const struct tn_schema *schema = NULL;
        if (with_schema) {
            rc = relation_schema(wh, &e[i], &t, &schema, &owned, err);
            if (rc == TN_ENOTABLE || rc == TN_ENOVIEW) { /* dropped meanwhile */
                rc = 0;
                continue;
            }
            if (rc)
                break;
        }
        rows(a, &e[i], schema);
        tn_table_free(t);
        tn_schema_free(owned);
    }
    relations_free(e, n);
    if (rc) {
        tn_buf_release(&a->values);
        return rc;
    }
    return answer_place(s, a, node, alias, err);
}

/* SHOW TABLES [FROM ns]: name. */
static void show_tables_row(struct answer *a, const struct relation *r,
                            const struct tn_schema *schema)
{
    (void)schema;
    row_begin(a);
    row_string(a, 0, r->name);
    row_end(a);
}

static int show_tables(struct tn_warehouse *wh, struct tn_session *s, const char *ns, json_t *node,
                       struct tn_err *err)
{
    static const char *const cols[] = {"name"}, *const types[] = {"VARCHAR"};
    struct answer a = {cols, types, 1, TN_BUF_INIT(TN_CAP_SQL)};

    return answer_relations(wh, s, ns, 0, &a, show_tables_row, node, "tables", err);
}

/* SHOW ALL TABLES: database, schema, name, column_names, column_types, temporary. */
static void show_all_tables_row(struct answer *a, const struct relation *r,
                                const struct tn_schema *schema)
{
    struct tn_buf names = TN_BUF_INIT(TN_CAP_SQL), tys = TN_BUF_INIT(TN_CAP_SQL);

    tn_buf_addstr(&names, "CAST([", NULL);
    tn_buf_addstr(&tys, "CAST([", NULL);
    for (size_t c = 0; schema && c < schema->root.nfields; c++) {
        char *ty = column_type(&schema->root.fields[c]);
        tn_buf_addstr(&names, c ? ", " : "", NULL);
        tn_buf_addstr(&tys, c ? ", " : "", NULL);
        tn_sql_string(&names, schema->root.fields[c].name);
        tn_sql_string(&tys, ty);
        free(ty);
    }
    tn_buf_addstr(&names, "] AS VARCHAR[])", NULL);
    tn_buf_addstr(&tys, "] AS VARCHAR[])", NULL);
    row_begin(a);
    row_string(a, 0, "tarn");
    row_string(a, 1, r->ns);
    row_string(a, 2, r->name);
    row_value(a, 3, names.buf);
    row_value(a, 4, tys.buf);
    row_value(a, 5, "false");
    row_end(a);
    tn_buf_release(&names);
    tn_buf_release(&tys);
}

static int show_all_tables(struct tn_warehouse *wh, struct tn_session *s, json_t *node,
                           struct tn_err *err)
{
    static const char *const cols[] = {"database",     "schema",       "name",
                                       "column_names", "column_types", "temporary"};
    static const char *const types[] = {"VARCHAR",   "VARCHAR",   "VARCHAR",
                                        "VARCHAR[]", "VARCHAR[]", "BOOLEAN"};
    struct answer a = {cols, types, 6, TN_BUF_INIT(TN_CAP_SQL)};

    return answer_relations(wh, s, NULL, 1, &a, show_all_tables_row, node, "tables", err);
}

/* DESCRIBE t: column_name, column_type, null, key, default, extra (DuckDB's columns), from the
 * table's current Iceberg schema. */
static int describe_table(struct tn_session *s, const struct tn_table *t, json_t *node,
                          struct tn_err *err)
{
    static const char *const cols[] = {"column_name", "column_type", "null",
                                       "key",         "default",     "extra"};
    static const char *const types[] = {"VARCHAR", "VARCHAR", "VARCHAR",
                                        "VARCHAR", "VARCHAR", "VARCHAR"};
    struct answer a = {cols, types, 6, TN_BUF_INIT(TN_CAP_SQL)};
    const struct tn_schema *schema = tn_metadata_current_schema(t->meta);

    for (size_t c = 0; schema && c < schema->root.nfields; c++) {
        const struct tn_field *f = &schema->root.fields[c];
        json_t *dflt = json_object_get(f->json, "write-default");
        char *ty = column_type(f), *dv = dflt ? tn_json_dump(dflt) : NULL;
        row_begin(&a);
        row_string(&a, 0, f->name);
        row_string(&a, 1, ty);
        row_string(&a, 2, f->required ? "NO" : "YES");
        row_string(&a, 3, is_identifier(schema, f->id) ? "PRI" : NULL);
        row_string(&a, 4, dv);
        row_string(&a, 5, NULL);
        row_end(&a);
        free(ty);
        free(dv);
    }
    return answer_place(s, &a, node, "describe", err);
}

/* information_schema.tables: one row a table or view. */
static void information_schema_table_row(struct answer *a, const struct relation *r,
                                         const struct tn_schema *schema)
{
    (void)schema;
    row_begin(a);
    row_string(a, 0, "tarn");
    row_string(a, 1, r->ns);
    row_string(a, 2, r->name);
    row_string(a, 3, r->view ? "VIEW" : "BASE TABLE");
    row_string(a, 4, r->view ? "NO" : "YES");
    row_end(a);
}

/* information_schema.columns: one row a column of the table's or view's current schema. */
static void information_schema_column_rows(struct answer *a, const struct relation *r,
                                           const struct tn_schema *schema)
{
    for (size_t c = 0; schema && c < schema->root.nfields; c++) {
        const struct tn_field *f = &schema->root.fields[c];
        json_t *dflt = json_object_get(f->json, "write-default");
        char *ty = column_type(f), *dv = dflt ? tn_json_dump(dflt) : NULL;
        char pos[24];
        snprintf(pos, sizeof(pos), "%zu", c + 1);
        row_begin(a);
        row_string(a, 0, "tarn");
        row_string(a, 1, r->ns);
        row_string(a, 2, r->name);
        row_string(a, 3, f->name);
        row_value(a, 4, pos);
        row_string(a, 5, dv);
        row_string(a, 6, f->required ? "NO" : "YES");
        row_string(a, 7, ty);
        row_value(a, 8, is_identifier(schema, f->id) ? "true" : "false");
        row_end(a);
        free(ty);
        free(dv);
    }
}

/* information_schema.tables or information_schema.columns over tarn's tables. */
static int information_schema(struct tn_warehouse *wh, struct tn_session *s, int columns,
                              json_t *node, const char *alias, struct tn_err *err)
{
    static const char *const tcols[] = {"table_catalog", "table_schema", "table_name", "table_type",
                                        "is_insertable_into"};
    static const char *const ttypes[] = {"VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR"};
    static const char *const ccols[] = {"table_catalog", "table_schema",     "table_name",
                                        "column_name",   "ordinal_position", "column_default",
                                        "is_nullable",   "data_type",        "is_identifier"};
    static const char *const ctypes[] = {"VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "INTEGER",
                                         "VARCHAR", "VARCHAR", "VARCHAR", "BOOLEAN"};
    struct answer a = {columns ? ccols : tcols, columns ? ctypes : ttypes, columns ? 9 : 5,
                       TN_BUF_INIT(TN_CAP_SQL)};

    return answer_relations(wh, s, NULL, columns, &a,
                            columns ? information_schema_column_rows : information_schema_table_row,
                            node, alias, err);
}

/* DESCRIBE's query when it is exactly SELECT * FROM <tarn table> (no AT clause): that table. */
static int described_table(struct tn_warehouse *wh, json_t *query, struct tn_table **out)
{
    json_t *list = json_object_get(query, "select_list");
    json_t *from = json_object_get(query, "from_table");
    const char *type = json_string_value(json_object_get(query, "type"));
    const char *ftype = json_string_value(json_object_get(from, "type"));
    const char *schema = json_string_value(json_object_get(from, "schema_name"));
    const char *name = json_string_value(json_object_get(from, "table_name"));
    const char *catalog = json_string_value(json_object_get(from, "catalog_name"));
    char ns[TN_NAME_MAX + 1], tbl[TN_NAME_MAX + 1];
    struct tn_err ignored;

    if (!type || strcmp(type, "SELECT_NODE") != 0 || !ftype || strcmp(ftype, "BASE_TABLE") != 0 ||
        json_array_size(list) != 1 ||
        strcmp(json_string_value(json_object_get(json_array_get(list, 0), "class"))
                   ? json_string_value(json_object_get(json_array_get(list, 0), "class"))
                   : "",
               "STAR") != 0 ||
        !json_is_null(json_object_get(query, "where_clause")) ||
        json_is_object(json_object_get(from, "at_clause")) || !name || (catalog && *catalog) ||
        strchr(name, '$'))
        return 0;
    if (tn_name_check("namespace", schema && *schema ? schema : "default", ns, &ignored) ||
        tn_name_check("table", name, tbl, &ignored))
        return 0;
    return tn_table_load(wh, ns, tbl, out, &ignored) == 0;
}

static int rewrite_node(struct tn_warehouse *wh, struct tn_session *s, json_t *node, int pinned,
                        int *done, struct tn_err *err);

static int rewrite_children(struct tn_warehouse *wh, struct tn_session *s, json_t *j, int pinned,
                            int *done, struct tn_err *err)
{
    int rc = 0;

    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            if ((rc = rewrite_node(wh, s, v, pinned, done, err)) != 0)
                return rc;
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
            if ((rc = rewrite_node(wh, s, v, pinned, done, err)) != 0)
                return rc;
        }
    }
    return rc;
}

static int rewrite_node(struct tn_warehouse *wh, struct tn_session *s, json_t *node, int pinned,
                        int *done, struct tn_err *err)
{
    const char *type = json_string_value(json_object_get(node, "type"));

    if (type && strcmp(type, "SHOW_REF") == 0) {
        const char *show = json_string_value(json_object_get(node, "show_type"));
        const char *name = json_string_value(json_object_get(node, "table_name"));
        const char *schema = json_string_value(json_object_get(node, "schema_name"));
        const char *catalog = json_string_value(json_object_get(node, "catalog_name"));
        json_t *query = json_object_get(node, "query");
        struct tn_table *t = NULL;
        int rc;

        if (catalog && *catalog)
            return 0;
        if (show && strcmp(show, "SHOW_FROM") == 0 && schema && *schema) {
            char ns[TN_NAME_MAX + 1];
            if (tn_name_check("namespace", schema, ns, err))
                return err->code;
            *done = 1;
            return show_tables(wh, s, ns, node, err);
        }
        if (show && strcmp(show, "DESCRIBE") == 0 && json_is_null(query) && name &&
            strcmp(name, "\"tables\"") == 0) {
            *done = 1;
            return show_tables(wh, s, "default", node, err);
        }
        if (show && strcmp(show, "DESCRIBE") == 0 && json_is_null(query) && name &&
            strcmp(name, "__show_tables_expanded") == 0) {
            *done = 1;
            return show_all_tables(wh, s, node, err);
        }
        if (!pinned && show && strcmp(show, "DESCRIBE") == 0 && json_is_object(query) &&
            described_table(wh, query, &t)) {
            *done = 1;
            rc = describe_table(s, t, node, err);
            tn_table_free(t);
            return rc;
        }
    } else if (type && strcmp(type, "BASE_TABLE") == 0) {
        const char *schema = json_string_value(json_object_get(node, "schema_name"));
        const char *name = json_string_value(json_object_get(node, "table_name"));
        const char *catalog = json_string_value(json_object_get(node, "catalog_name"));
        const char *alias = json_string_value(json_object_get(node, "alias"));

        if (schema && strcasecmp(schema, "information_schema") == 0 && name &&
            (!catalog || !*catalog) &&
            (strcasecmp(name, "tables") == 0 || strcasecmp(name, "columns") == 0)) {
            *done = 1;
            return information_schema(wh, s, strcasecmp(name, "columns") == 0, node,
                                      alias && *alias ? alias : name, err);
        }
        return 0;
    }
    return rewrite_children(wh, s, node, pinned, done, err);
}

int tn__catalog_rewrite(struct tn_warehouse *wh, struct tn_session *s, json_t *tree, int pinned,
                        int *rewritten, struct tn_err *err)
{
    *rewritten = 0;
    return rewrite_children(wh, s, tree, pinned, rewritten, err);
}

/*---- An unknown table ----*/

/* Edit distance between "a" and "b", case-insensitive, capped at 99. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[65];

    if (la > 64 || lb > 64)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = (a[i - 1] | 0x20) == (b[j - 1] | 0x20) ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* Whether DuckDB itself has a table or view of that name (a temporary table, a built-in view). */
static int duckdb_has(struct tn_session *s, const char *schema, const char *name)
{
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_err ignored;
    char *v;
    int has;

    tn_buf_addstr(&q,
                  "SELECT count(*) FROM (SELECT schema_name, table_name AS n FROM duckdb_tables() "
                  "UNION ALL SELECT schema_name, view_name FROM duckdb_views()) WHERE lower(n) = "
                  "lower(",
                  NULL);
    tn_sql_string(&q, name);
    tn_buf_addstr(&q, ")", NULL);
    if (schema && *schema) {
        tn_buf_addstr(&q, " AND lower(schema_name) = lower(", NULL);
        tn_sql_string(&q, schema);
        tn_buf_addstr(&q, ")", NULL);
    }
    v = tn_query_value(s, q.buf, &ignored);
    tn_buf_release(&q);
    has = !v || strcmp(v, "0") != 0; /* when unsure, leave it to DuckDB */
    free(v);
    return has;
}

int tn__catalog_unknown_table(struct tn_warehouse *wh, struct tn_session *s, const char *schema,
                              const char *name, struct tn_err *err)
{
    struct tn_catalog_entry *e = NULL;
    size_t n = 0, best = 99, best_i = 0, limit;
    struct tn_err ignored;
    const char *ns = schema && *schema ? schema : "default";

    /* tarn's own temporary tables and placeholders (_tn_..., __tn_...) are DuckDB's business */
    if (strncmp(name, "_tn_", 4) == 0 || strncmp(name, "__tn_", 5) == 0 ||
        duckdb_has(s, schema, name))
        return 0;
    if (tn_catalog_list(wh->catalog, NULL, &e, &n, &ignored))
        n = 0;
    for (size_t i = 0; i < n; i++) {
        size_t d = distance(name, e[i].table) + (strcmp(e[i].ns, ns) != 0);
        if (d < best) {
            best = d;
            best_i = i;
        }
    }
    limit = strlen(name) / 3 + 1;
    if (n && best <= limit) {
        if (strcmp(e[best_i].ns, "default") == 0)
            tn_fail(err, TN_ENOTABLE, "table \"%s\" does not exist. Did you mean \"%s\"?", name,
                    e[best_i].table);
        else
            tn_fail(err, TN_ENOTABLE, "table \"%s\" does not exist. Did you mean \"%s.%s\"?", name,
                    e[best_i].ns, e[best_i].table);
    } else if (n) {
        tn_fail(err, TN_ENOTABLE,
                "table \"%s\" does not exist in namespace %s; SHOW ALL TABLES lists the tables",
                name, ns);
    } else {
        tn_fail(err, TN_ENOTABLE,
                "table \"%s\" does not exist: the warehouse has no tables yet (create one with "
                "CREATE TABLE or tarn ingest)",
                name);
    }
    tn_catalog_entries_free(e, n);
    return err->code;
}
