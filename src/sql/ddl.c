/* ddl.c - CREATE TABLE and DROP TABLE in SQL, for users who know them from DuckDB and Spark:
 *   CREATE TABLE [IF NOT EXISTS] t (c TYPE [NOT NULL] [PRIMARY KEY], ..., [PRIMARY KEY (c, ...)])
 *       [USING iceberg] [PARTITIONED BY (day(ts), bucket(16, id), c)] [TBLPROPERTIES ('k'='v')]
 *   CREATE TABLE [IF NOT EXISTS] t [USING iceberg] [PARTITIONED BY (...)] [TBLPROPERTIES (...)]
 *       AS SELECT ...
 *   DROP TABLE [IF EXISTS] t [PURGE]
 * A table with columns is created in one catalog step (its schema, spec and properties in its
 * first metadata); CREATE TABLE AS writes its rows in the same step as an ingest does, and a
 * failed write leaves no table. Names come from tarn's lexer (quoted names keep their case);
 * type names are DuckDB's, checked to be type words only and normalised by DuckDB itself.
 *
 * Views, stored as Iceberg views (table/views.c) that other engines read too:
 *   CREATE [OR REPLACE] VIEW [IF NOT EXISTS] v AS SELECT ...
 *   DROP VIEW [IF EXISTS] v
 * The query is parsed by DuckDB and checked exactly as a query sent to tarn is (query.c); the
 * view keeps the user's text in an SQL representation of dialect "duckdb", default namespace
 * "default", and the schema of its result columns in Iceberg types. Each statement is one
 * catalog step: an insert, one compare-and-swap of the view's metadata, or a delete. */
#include "table/table_int.h"

#include "iceberg/view.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct reader {
    const struct tn_sql_tokens *t;
    size_t i, end; /* end: where the statement ends (a trailing ';' excluded) */
    struct tn_err *err;
};

static int is(const struct reader *r, const char *word)
{
    return r->i < r->end && tn_sql_tok_is(r->t, r->i, word);
}

static int accept(struct reader *r, const char *word)
{
    if (!is(r, word))
        return 0;
    r->i++;
    return 1;
}

static int unexpected(struct reader *r, const char *stmt, const char *wanted)
{
    if (r->i >= r->end)
        return tn_fail(r->err, TN_EINPUT, "%s: the statement ends where %s was expected", stmt,
                       wanted);
    return tn_fail(r->err, TN_EINPUT, "%s: expected %s at '%.*s'", stmt, wanted,
                   (int)(r->t->v[r->i].len > 40 ? 40 : r->t->v[r->i].len),
                   r->t->text + r->t->v[r->i].start);
}

/* A name token (bare or quoted) into "out"; NULL when the token is not one. */
static char *take_name(struct reader *r)
{
    char *n;

    if (r->i >= r->end || (r->t->v[r->i].kind != TN_TOK_WORD && r->t->v[r->i].kind != TN_TOK_IDENT))
        return NULL;
    n = tn_sql_tok_name(r->t, r->i);
    r->i++;
    return n;
}

/* [ns.]table into ns/table (checked like every tarn name). */
static int table_name(struct reader *r, const char *stmt, char ns[TN_NAME_MAX + 1],
                      char table[TN_NAME_MAX + 1])
{
    char *a = take_name(r), *b = NULL;
    int rc;

    if (!a)
        return unexpected(r, stmt, "a table name");
    if (accept(r, ".")) {
        b = take_name(r);
        if (!b) {
            free(a);
            return unexpected(r, stmt, "a table name after '.'");
        }
    }
    rc = tn_name_check("namespace", b ? a : "default", ns, r->err);
    if (!rc)
        rc = tn_name_check("table", b ? b : a, table, r->err);
    if (!rc)
        rc = tn_sql_reserved_name(ns, table, r->err);
    free(a);
    free(b);
    return rc;
}

/* The tokens of a parenthesised list, from just after "(" to its ")": r->i ends past ")". */
static int paren_span(struct reader *r, const char *stmt, size_t *from, size_t *to)
{
    int depth;

    if (!accept(r, "("))
        return unexpected(r, stmt, "'('");
    depth = r->t->v[r->i - 1].depth;
    *from = r->i;
    while (r->i < r->end && !(tn_sql_tok_is(r->t, r->i, ")") && r->t->v[r->i].depth == depth))
        r->i++;
    if (r->i >= r->end)
        return tn_fail(r->err, TN_EINPUT, "%s: a '(' is not closed", stmt);
    *to = r->i++;
    return 0;
}

/* A plain '...' string token's value (NULL for E'' and dollar-quoted ones). */
static char *string_value(const struct tn_sql_tokens *t, size_t i)
{
    const struct tn_sql_token *k = &t->v[i];
    const char *p = t->text + k->start;
    struct tn_buf b = TN_BUF_INIT(TN_CAP_VALUE);

    if (k->kind != TN_TOK_STRING || *p != '\'' || k->len < 2)
        return NULL;
    for (size_t j = 1; j + 1 < k->len; j++) {
        tn_buf_add(&b, p + j, 1, NULL);
        if (p[j] == '\'')
            j++;
    }
    if (!b.buf)
        tn_buf_addstr(&b, "", NULL);
    return tn_buf_detach(&b, NULL);
}

/* TBLPROPERTIES ('k' = 'v', ...) into "props" (after the keyword). */
static int properties(struct reader *r, json_t *props)
{
    size_t from, to;
    int rc = paren_span(r, "TBLPROPERTIES", &from, &to);

    for (size_t i = from; !rc && i < to;) {
        char *k, *v;
        if (r->t->v[i].kind != TN_TOK_STRING || i + 2 >= to + 1 ||
            !tn_sql_tok_is(r->t, i + 1, "=") || r->t->v[i + 2].kind != TN_TOK_STRING)
            return tn_fail(r->err, TN_EINPUT,
                           "TBLPROPERTIES: expected 'key' = 'value' pairs, separated by commas");
        k = string_value(r->t, i);
        v = string_value(r->t, i + 2);
        if (!k || !v || !*k) {
            free(k);
            free(v);
            return tn_fail(r->err, TN_EINPUT,
                           "TBLPROPERTIES: keys and values are plain '...' strings, keys not "
                           "empty");
        }
        json_object_set_new(props, k, json_string(v));
        free(k);
        free(v);
        i += 3;
        if (i < to && !tn_sql_tok_is(r->t, i++, ","))
            return tn_fail(r->err, TN_EINPUT, "TBLPROPERTIES: expected ',' between pairs");
    }
    return rc;
}

/* The type tokens of one column, [from, to), as DuckDB type text: type words, numbers,
 * brackets and quoted field names only. */
static int type_text(struct reader *r, size_t from, size_t to, struct tn_buf *out)
{
    if (from >= to)
        return tn_fail(r->err, TN_EINPUT, "CREATE TABLE: a column has no type");
    for (size_t i = from; i < to; i++) {
        const struct tn_sql_token *k = &r->t->v[i];
        const char *p = r->t->text + k->start;
        if (k->kind == TN_TOK_IDENT) {
            char *n = tn_sql_tok_name(r->t, i);
            tn_sql_ident(out, n);
            free(n);
        } else if (k->kind == TN_TOK_WORD || k->kind == TN_TOK_NUMBER ||
                   (k->kind == TN_TOK_OP && strchr("(),[]", *p))) {
            for (size_t c = 0; c < k->len; c++)
                if (!isalnum((unsigned char)p[c]) && !strchr("_(),[]", p[c]))
                    return tn_fail(r->err, TN_EINPUT, "CREATE TABLE: '%.*s' is not part of a type",
                                   (int)k->len, p);
            tn_buf_add(out, p, k->len, NULL);
        } else {
            return tn_fail(r->err, TN_EINPUT, "CREATE TABLE: '%.*s' is not part of a type",
                           (int)k->len, p);
        }
        tn_buf_addstr(out, " ", NULL);
    }
    return 0;
}

/* The column list's tokens [from, to) as an Iceberg schema (ids 1..n for the columns). */
static int column_schema(struct tn_session *s, struct reader *r, size_t from, size_t to,
                         json_t **out)
{
    json_t *names = json_array(), *required = json_array(), *keys = json_array();
    json_t *fields = json_array(), *ids = json_array();
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_rows *rows = NULL;
    size_t i = from;
    int next_id = 1;
    int depth = r->t->v[from > 0 ? from - 1 : 0].depth + 1, rc = 0;

    tn_buf_addstr(&q, "DESCRIBE SELECT ", NULL);
    while (!rc && i < to) {
        size_t end = i, type_end;
        int not_null = 0, primary = 0;
        /* one item: up to a ',' at the list's own depth */
        while (end < to && !(tn_sql_tok_is(r->t, end, ",") && r->t->v[end].depth == depth))
            end++;
        if (tn_sql_tok_is(r->t, i, "PRIMARY") && tn_sql_tok_is(r->t, i + 1, "KEY")) {
            struct reader sub = {r->t, i + 2, end, r->err};
            size_t kf, kt;
            rc = paren_span(&sub, "PRIMARY KEY", &kf, &kt);
            for (size_t k = kf; !rc && k < kt; k++) {
                if (tn_sql_tok_is(r->t, k, ","))
                    continue;
                if (r->t->v[k].kind != TN_TOK_WORD && r->t->v[k].kind != TN_TOK_IDENT) {
                    rc = tn_fail(r->err, TN_EINPUT, "PRIMARY KEY: expected column names");
                    break;
                }
                {
                    char *key = tn_sql_tok_name(r->t, k);
                    json_array_append_new(keys, json_string(key));
                    free(key);
                }
            }
            i = end + 1;
            continue;
        }
        {
            struct reader sub = {r->t, i, end, r->err};
            char *name = take_name(&sub);
            if (!name) {
                rc = unexpected(&sub, "CREATE TABLE", "a column name");
                break;
            }
            type_end = sub.i;
            while (type_end < end && !(r->t->v[type_end].depth == depth &&
                                       (tn_sql_tok_is(r->t, type_end, "NOT") ||
                                        tn_sql_tok_is(r->t, type_end, "NULL") ||
                                        tn_sql_tok_is(r->t, type_end, "PRIMARY"))))
                type_end++;
            if (json_array_size(names))
                tn_buf_addstr(&q, ", ", NULL);
            tn_buf_addstr(&q, "CAST(NULL AS ", NULL);
            rc = type_text(r, sub.i, type_end, &q);
            tn_buf_addstr(&q, ") AS ", NULL);
            tn_sql_ident(&q, name);
            sub.i = type_end;
            while (!rc && sub.i < end) {
                if (accept(&sub, "NOT") && accept(&sub, "NULL"))
                    not_null = 1;
                else if (accept(&sub, "NULL"))
                    not_null = 0;
                else if (accept(&sub, "PRIMARY") && accept(&sub, "KEY"))
                    primary = 1;
                else
                    rc = unexpected(&sub, "CREATE TABLE",
                                    "NOT NULL, NULL or PRIMARY KEY after the column's type");
            }
            json_array_append_new(names, json_string(name));
            json_array_append_new(required, json_boolean(not_null || primary));
            if (primary)
                json_array_append_new(keys, json_string(name));
            free(name);
        }
        i = end + 1;
    }
    if (!rc && !json_array_size(names))
        rc = tn_fail(r->err, TN_EINPUT, "CREATE TABLE: give at least one column");
    if (!rc)
        rc = tn_engine_rows(s, q.buf, json_array_size(names), &rows, r->err);
    /* nested ids follow every column's id and every earlier nested id */
    next_id = (int)json_array_size(names) + 1;
    for (size_t c = 0; !rc && c < json_array_size(names); c++) {
        json_t *type = NULL;
        rc = tn_type_from_duckdb(tn_rows_get(rows, c, 1), &next_id, &type, r->err);
        if (!rc)
            json_array_append_new(fields, json_pack("{s:i, s:s, s:O, s:o}", "id", (int)c + 1,
                                                    "name", tn_rows_get(rows, c, 0), "required",
                                                    json_array_get(required, c), "type", type));
    }
    for (size_t k = 0; !rc && k < json_array_size(keys); k++) {
        const char *key = json_string_value(json_array_get(keys, k));
        size_t c = 0;
        while (c < json_array_size(names) &&
               strcmp(json_string_value(json_array_get(names, c)), key) != 0)
            c++;
        if (c == json_array_size(names)) {
            rc = tn_fail(r->err, TN_EINPUT, "PRIMARY KEY: no column named '%s'", key);
            break;
        }
        json_object_set(json_array_get(fields, c), "required", json_true());
        json_array_append_new(ids, json_integer((json_int_t)c + 1));
    }
    if (!rc)
        *out = json_pack("{s:s, s:i, s:O, s:O}", "type", "struct", "schema-id", 0, "fields", fields,
                         "identifier-field-ids", ids);
    tn_rows_free(rows);
    tn_buf_release(&q);
    json_decref(names);
    json_decref(required);
    json_decref(keys);
    json_decref(fields);
    json_decref(ids);
    return rc;
}

/* [USING iceberg] [PARTITIONED BY (...)] [TBLPROPERTIES (...)], in any order. */
static int table_options(struct reader *r, char **partition_by, json_t *props)
{
    for (;;) {
        if (accept(r, "USING")) {
            if (!accept(r, "ICEBERG"))
                return unexpected(r, "CREATE TABLE", "USING iceberg (tarn's tables are Iceberg)");
        } else if (accept(r, "PARTITIONED")) {
            size_t from, to;
            int rc;
            if (!accept(r, "BY"))
                return unexpected(r, "CREATE TABLE", "PARTITIONED BY");
            rc = paren_span(r, "PARTITIONED BY", &from, &to);
            if (rc)
                return rc;
            free(*partition_by);
            *partition_by = tn_sql_tok_span(r->t, from, to);
        } else if (accept(r, "TBLPROPERTIES")) {
            int rc = properties(r, props);
            if (rc)
                return rc;
        } else {
            return 0;
        }
    }
}

static int create_table(struct tn_warehouse *wh, struct tn_session *s, struct reader *r,
                        const struct tn_query_options *opt, struct tn_ddl_result *res)
{
    int if_not_exists = 0, rc;
    size_t cols_from = 0, cols_to = 0;
    char *partition_by = NULL, *query = NULL;
    json_t *props = json_object(), *schema = NULL;
    struct tn_table *t = NULL;

    if (accept(r, "IF")) {
        if (!(accept(r, "NOT") && accept(r, "EXISTS")))
            return unexpected(r, "CREATE TABLE", "IF NOT EXISTS");
        if_not_exists = 1;
    }
    rc = table_name(r, "CREATE TABLE", res->ns, res->table);
    if (!rc && is(r, "("))
        rc = paren_span(r, "CREATE TABLE", &cols_from, &cols_to);
    if (!rc)
        rc = table_options(r, &partition_by, props);
    if (!rc && accept(r, "AS")) {
        if (cols_to)
            rc = tn_fail(r->err, TN_EINPUT,
                         "CREATE TABLE ... AS SELECT takes its columns from the query: leave "
                         "out the column list");
        else if (r->i >= r->end)
            rc = unexpected(r, "CREATE TABLE", "a query after AS");
        else
            query = tn_sql_tok_span(r->t, r->i, r->end);
        r->i = r->end;
    } else if (!rc && !cols_to) {
        rc = unexpected(r, "CREATE TABLE", "a column list (c TYPE, ...) or AS SELECT ...");
    }
    if (!rc && r->i < r->end)
        rc = unexpected(r, "CREATE TABLE", "the end of the statement");
    if (rc)
        goto out;
    /* an existing table: nothing to do with IF NOT EXISTS, else a conflict */
    rc = tn_table_load(wh, res->ns, res->table, &t, r->err);
    if (rc == 0) {
        rc = if_not_exists ? 0
                           : tn_fail(r->err, TN_EEXISTS,
                                     "table %s.%s already exists: DROP TABLE it first, or write "
                                     "CREATE TABLE IF NOT EXISTS",
                                     res->ns, res->table);
        goto out;
    }
    if (rc != TN_ENOTABLE)
        goto out;
    rc = 0;
    if (query) {
        char *resolved = NULL;
        struct tn_ingest_options io;
        struct tn_ingest_result ir;
        memset(&io, 0, sizeof(io));
        memset(&ir, 0, sizeof(ir));
        io.mode = TN_WRITE_APPEND;
        io.evolve = TN_EVOLVE_STRICT;
        io.partition_by = partition_by;
        io.properties = json_object_size(props) ? props : NULL;
        rc = tn_query_resolve(wh, s, query, opt, &resolved, r->err);
        if (!rc)
            rc = tn_table_ingest_opts(wh, s, res->ns, res->table, resolved, &io, &ir, r->err);
        if (!rc) {
            res->commit = ir.commit;
            res->created = 1;
        }
        tn_ingest_result_release(&ir);
        free(resolved);
        goto out;
    }
    rc = column_schema(s, r, cols_from, cols_to, &schema);
    if (!rc)
        rc = tn_table_create_partitioned(wh, res->ns, res->table, schema,
                                         json_object_size(props) ? props : NULL, partition_by, NULL,
                                         r->err);
    if (!rc) {
        res->created = 1;
        res->commit.snapshot_id = -1;
    }
out:
    tn_table_free(t);
    json_decref(props);
    json_decref(schema);
    free(partition_by);
    free(query);
    return rc;
}

static int drop_table(struct tn_warehouse *wh, struct reader *r, struct tn_ddl_result *res)
{
    int if_exists = 0, purge, rc;
    struct tn_purge_result pr;

    if (accept(r, "IF")) {
        if (!accept(r, "EXISTS"))
            return unexpected(r, "DROP TABLE", "IF EXISTS");
        if_exists = 1;
    }
    rc = table_name(r, "DROP TABLE", res->ns, res->table);
    if (rc)
        return rc;
    purge = accept(r, "PURGE");
    if (r->i < r->end)
        return unexpected(r, "DROP TABLE", "the end of the statement (or PURGE)");
    rc = tn_table_drop_report(wh, res->ns, res->table, purge, &pr, r->err);
    if (rc == TN_ENOTABLE && if_exists)
        return 0;
    if (rc == TN_ENOTABLE) {
        struct tn_view *v = NULL;
        struct tn_err ignored;
        if (tn_view_load(wh, res->ns, res->table, &v, &ignored) == 0) {
            tn_view_free(v);
            return tn_fail(r->err, TN_EINPUT,
                           "DROP TABLE: %s.%s is a view, not a table; use DROP VIEW", res->ns,
                           res->table);
        }
        tn_err_prefix(r->err, "DROP TABLE (add IF EXISTS to allow a missing table): ");
    }
    res->dropped = !rc;
    return rc;
}

/* The Iceberg schema of the rows "resolved" gives: its result columns, all optional. */
static int result_schema(struct tn_session *s, const char *resolved, json_t **out,
                         struct tn_err *err)
{
    char *q = tn_asprintf("DESCRIBE SELECT * FROM (%s) AS _tn_view", resolved);
    struct tn_rows *rows = NULL;
    json_t *fields;
    int next_id, rc = tn_engine_rows(s, q, TN_QUERY_COLUMNS_MAX, &rows, err);

    free(q);
    if (rc)
        return rc;
    fields = json_array();
    next_id = (int)rows->nrows + 1;
    for (size_t c = 0; !rc && c < rows->nrows; c++) {
        json_t *type = NULL;
        rc = tn_type_from_duckdb(tn_rows_get(rows, c, 1), &next_id, &type, err);
        if (!rc)
            json_array_append_new(fields,
                                  json_pack("{s:i, s:s, s:b, s:o}", "id", (int)c + 1, "name",
                                            tn_rows_get(rows, c, 0), "required", 0, "type", type));
    }
    tn_rows_free(rows);
    if (rc) {
        tn_err_prefix(err, "CREATE VIEW: a result column's type: ");
        json_decref(fields);
        return rc;
    }
    *out = json_pack("{s:s, s:i, s:o, s:[]}", "type", "struct", "schema-id", 0, "fields", fields,
                     "identifier-field-ids");
    return 0;
}

/* A view version of "query" over schema "schema_id" (-1: the one added with it). */
static json_t *view_version(const char *query, int schema_id)
{
    return json_pack("{s:i, s:I, s:i, s:{s:s, s:s}, s:[{s:s, s:s, s:s}], s:[s]}", "version-id", 1,
                     "timestamp-ms", (json_int_t)tn_now_ms(), "schema-id", schema_id, "summary",
                     "engine-name", "tarn", "operation", "create", "representations", "type", "sql",
                     "sql", query, "dialect", "duckdb", "default-namespace", "default");
}

/* Replace the current version of view "v" by one of "query" with "schema": one swap. */
static int replace_view(struct tn_warehouse *wh, const struct tn_view *v, const char *query,
                        json_t *schema, struct tn_err *err)
{
    struct tn_view *after = NULL;
    json_t *version = view_version(query, -1);
    json_t *req, *updates;
    int rc;

    json_object_set_new(json_object_get(version, "summary"), "operation", json_string("replace"));
    req = json_pack("[{s:s, s:O}]", "type", "assert-view-uuid", "uuid",
                    json_object_get(v->meta, "view-uuid"));
    updates = json_pack("[{s:s, s:O}, {s:s, s:o}, {s:s, s:i}]", "action", "add-schema", "schema",
                        schema, "action", "add-view-version", "view-version", version, "action",
                        "set-current-view-version", "view-version-id", -1);
    rc = tn_view_commit(wh, v->ns, v->name, req, updates, &after, err);
    tn_view_free(after);
    json_decref(req);
    json_decref(updates);
    return rc;
}

static int create_view(struct tn_warehouse *wh, struct tn_session *s, struct reader *r,
                       const struct tn_query_options *opt, int or_replace,
                       struct tn_ddl_result *res)
{
    int if_not_exists = 0, rc;
    char *query = NULL, *resolved = NULL, *self;
    json_t *reads = NULL, *schema = NULL;
    struct tn_table *t = NULL;
    struct tn_view *v = NULL;

    res->view = 1;
    /* a view reads its tables as they are when it is read, never at an old snapshot */
    if (opt && (opt->snapshot_id != -1 || opt->as_of_ms != -1))
        return tn_fail(r->err, TN_EINPUT,
                       "CREATE VIEW: a view reads its tables at their current snapshots, so it "
                       "cannot be created under time travel: run it without a snapshot or as-of "
                       "time (write AT (VERSION => ...) in the view's query to pin a table)");
    if (accept(r, "IF")) {
        if (!(accept(r, "NOT") && accept(r, "EXISTS")))
            return unexpected(r, "CREATE VIEW", "IF NOT EXISTS");
        if (or_replace)
            return tn_fail(r->err, TN_EINPUT,
                           "CREATE OR REPLACE VIEW ... IF NOT EXISTS: choose one (OR REPLACE "
                           "replaces an existing view, IF NOT EXISTS keeps it)");
        if_not_exists = 1;
    }
    rc = table_name(r, "CREATE VIEW", res->ns, res->table);
    if (rc)
        return rc;
    if (is(r, "("))
        return tn_fail(r->err, TN_EINPUT,
                       "CREATE VIEW: a column list is not supported; name the columns in the "
                       "query (SELECT x AS name, ...)");
    if (!accept(r, "AS"))
        return unexpected(r, "CREATE VIEW", "AS SELECT ...");
    if (r->i >= r->end)
        return unexpected(r, "CREATE VIEW", "a query after AS");
    query = tn_sql_tok_span(r->t, r->i, r->end);
    r->i = r->end;
    rc = tn_table_load(wh, res->ns, res->table, &t, r->err);
    if (rc == 0)
        rc = tn_fail(r->err, TN_EEXISTS,
                     "%s.%s is a table; a view needs a name that no table has (DROP TABLE it "
                     "first, or choose another name)",
                     res->ns, res->table);
    else if (rc == TN_ENOTABLE)
        rc = tn_view_load(wh, res->ns, res->table, &v, r->err);
    if (rc == 0 && v && !or_replace) {
        rc = if_not_exists ? 0
                           : tn_fail(r->err, TN_EEXISTS,
                                     "view %s.%s already exists: write CREATE OR REPLACE VIEW to "
                                     "change it, or CREATE VIEW IF NOT EXISTS to keep it",
                                     res->ns, res->table);
        goto out;
    }
    if (rc == TN_ENOVIEW)
        rc = 0;
    /* the query is checked as any query is, and must not read the view itself */
    if (!rc)
        rc = tn__query_resolve_reads(wh, s, query, &resolved, &reads, r->err);
    if (rc && rc != TN_EEXISTS)
        tn_err_prefix(r->err, "CREATE VIEW %s.%s: ", res->ns, res->table);
    self = tn_asprintf("%s\x1f%s", res->ns, res->table);
    if (!rc && json_object_get(reads, self))
        rc = tn_fail(r->err, TN_EINPUT,
                     "CREATE VIEW %s.%s: the query reads the view itself (directly or through "
                     "another view); a view cannot be defined by itself",
                     res->ns, res->table);
    free(self);
    if (!rc && json_object_get(reads, TN__READS_FUNCTIONS))
        rc = tn_fail(r->err, TN_EFORBIDDEN,
                     "CREATE VIEW %s.%s: a view reads tarn tables and views only, not table "
                     "functions (read_csv, range, ...); ingest the data into a table first",
                     res->ns, res->table);
    if (!rc)
        rc = result_schema(s, resolved, &schema, r->err);
    if (!rc && v) {
        rc = replace_view(wh, v, query, schema, r->err);
        res->replaced = !rc;
    } else if (!rc) {
        json_t *request = json_pack("{s:s, s:O, s:o, s:{}}", "name", res->table, "schema", schema,
                                    "view-version", view_version(query, 0), "properties");
        struct tn_view *made = NULL;
        rc = tn_view_create(wh, res->ns, res->table, request, &made, r->err);
        json_decref(request);
        tn_view_free(made);
        res->created = !rc;
    }
out:
    tn_table_free(t);
    tn_view_free(v);
    json_decref(reads);
    json_decref(schema);
    free(resolved);
    free(query);
    return rc;
}

static int drop_view(struct tn_warehouse *wh, struct reader *r, struct tn_ddl_result *res)
{
    int if_exists = 0, rc;
    struct tn_table *t = NULL;

    res->view = 1;
    if (accept(r, "IF")) {
        if (!accept(r, "EXISTS"))
            return unexpected(r, "DROP VIEW", "IF EXISTS");
        if_exists = 1;
    }
    rc = table_name(r, "DROP VIEW", res->ns, res->table);
    if (rc)
        return rc;
    if (r->i < r->end)
        return unexpected(r, "DROP VIEW", "the end of the statement");
    rc = tn_catalog_drop_kind(wh->catalog, TN_CATALOG_VIEW, res->ns, res->table, r->err);
    if (rc == TN_ENOVIEW) {
        struct tn_err ignored;
        if (tn_table_load(wh, res->ns, res->table, &t, &ignored) == 0) {
            tn_table_free(t);
            return tn_fail(r->err, TN_EINPUT,
                           "DROP VIEW: %s.%s is a table, not a view; use DROP TABLE", res->ns,
                           res->table);
        }
        if (if_exists)
            return 0;
        tn_err_prefix(r->err, "DROP VIEW (add IF EXISTS to allow a missing view): ");
    }
    res->dropped = !rc;
    return rc;
}

int tn_table_ddl(struct tn_warehouse *wh, struct tn_session *s, const char *sql,
                 const struct tn_query_options *opt, struct tn_ddl_result *res, struct tn_err *err)
{
    struct tn_sql_tokens t;
    struct reader r;
    int rc;

    memset(res, 0, sizeof(*res));
    res->commit.snapshot_id = -1;
    if (tn_sql_lex(sql, &t, err))
        return err->code;
    r.t = &t;
    r.i = 0;
    r.end = t.n;
    r.err = err;
    while (r.end > 0 && tn_sql_tok_is(&t, r.end - 1, ";"))
        r.end--;
    if (accept(&r, "CREATE")) {
        int or_replace = 0;
        if (is(&r, "OR") && r.i + 1 < r.end && tn_sql_tok_is(&t, r.i + 1, "REPLACE")) {
            r.i += 2;
            or_replace = 1;
        }
        if (accept(&r, "VIEW"))
            rc = create_view(wh, s, &r, opt, or_replace, res);
        else if (!or_replace && accept(&r, "TABLE")) {
            rc = tn_write_check_travel(opt, "CREATE TABLE", err);
            if (!rc)
                rc = create_table(wh, s, &r, opt, res);
        } else
            rc = tn_fail(err, TN_EFORBIDDEN,
                         "CREATE %s%.*s is refused: tarn creates tables and views only (CREATE "
                         "TABLE t (...), CREATE TABLE t AS SELECT ..., CREATE [OR REPLACE] VIEW "
                         "v AS SELECT ...)",
                         or_replace ? "OR REPLACE " : "",
                         r.i < r.end ? (int)(t.v[r.i].len > 20 ? 20 : t.v[r.i].len) : 0,
                         r.i < r.end ? t.text + t.v[r.i].start : "");
    } else if (accept(&r, "DROP")) {
        rc = tn_write_check_travel(opt, "DROP", err);
        if (!rc && accept(&r, "TABLE"))
            rc = drop_table(wh, &r, res);
        else if (!rc && accept(&r, "VIEW"))
            rc = drop_view(wh, &r, res);
        else if (!rc)
            rc = tn_fail(err, TN_EFORBIDDEN,
                         "DROP %.*s is refused: tarn drops tables and views only (DROP TABLE "
                         "[IF EXISTS] t, DROP VIEW [IF EXISTS] v)",
                         r.i < r.end ? (int)(t.v[r.i].len > 20 ? 20 : t.v[r.i].len) : 0,
                         r.i < r.end ? t.text + t.v[r.i].start : "");
    } else {
        rc = tn_fail(err, TN_EINPUT, "expected CREATE TABLE, CREATE VIEW, DROP TABLE or DROP VIEW");
    }
    tn_sql_tokens_release(&t);
    return rc;
}
