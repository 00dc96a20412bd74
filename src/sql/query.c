/* query.c - resolve the tarn tables a SELECT names into relations over their Iceberg files.
 *
 * DuckDB parses the statement (json_serialize_sql); every BASE_TABLE node that names a table in
 * the catalog is resolved to a relation that reads that table's files at one snapshot -- the one
 * its AT (VERSION => ...) or AT (TIMESTAMP => ...) clause names, else the request's, else the
 * current one -- and DuckDB turns the tree back into SQL (json_deserialize_sql). The user's SQL
 * text is never rewritten by hand, so quoting, comments and odd spacing cannot confuse it. Names
 * of common table expressions are left alone.
 *
 * The relation itself (a read of possibly thousands of files) does not travel through the parse
 * tree: the node is renamed to a placeholder -- a random name no statement can contain -- and
 * the placeholder in the deparsed text is replaced by the relation's SQL, in parentheses. Only
 * the user's statement is parsed, serialised and deparsed, whatever the number of files.
 *
 * A name that is an Iceberg view of the catalog stands for the view's query (its DuckDB
 * representation, else its first), resolved the same way -- its unqualified names in the
 * view's default namespace, its tables at their current snapshots -- up to VIEW_DEPTH_MAX
 * views deep. */
#include "table/table_int.h"

#include "delta/delta.h"
#include "hudi/hudi.h"
#include "iceberg/view.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PARSE_TREE_MAX (64L * 1024 * 1024)
#define VIEW_DEPTH_MAX 16
/* A statement that names a table twice reads it at one version: when a commit landed between
 * its two looks (TORN_KEY in looked_up), it is resolved again, at most this many times. */
#define RESOLVE_ATTEMPTS 5
#define TORN_KEY         "\x1f\x1f"

struct resolver {
    struct tn_warehouse *wh;
    struct tn_session *session;
    const struct tn_query_options *opt;
    json_t *cte_names; /* object used as a set */
    struct tn_err *err;
    char token[17];      /* random hex: what makes placeholders unique */
    json_t *relations;   /* placeholder -> the SQL of the relation it stands for */
    json_t *looked_up;   /* "ns\x1ftable" -> the metadata location read, or null when absent */
    int volatile_at;     /* an AT (TIMESTAMP => ...) was evaluated, or a Hudi table read (its
                            timeline moves on without the catalog knowing): not kept */
    int reads_functions; /* a table function (read_parquet, range, ...) is read directly */
    json_t *case_names;  /* a column's exact name -> its relation's name (tn__scan_column_name) */
    const char *default_ns; /* where an unqualified name is looked up */
    int depth;              /* how many views deep this statement is */
    unsigned lineage_named; /* TN_SCAN_LINEAGE_* of the row-lineage columns the statement names */
    unsigned lineage_given; /* those some table's relation provides */
    json_t *hidden;         /* placeholder -> [alias, lineage column names its relation adds] */
    char lineage_refused[2 * TN_NAME_MAX + 2]; /* a table too old to have them ("" if none) */
    int refused_version;                       /* its format version */
};

static int resolve(struct tn_warehouse *wh, struct tn_session *s, const char *user_sql,
                   const struct tn_query_options *opt, const char *default_ns, int depth,
                   json_t *looked_up, char **out, struct tn_err *err);

/* The statement looked up table or view ns.name and found "where" (its metadata location, or
 * null: absent). A second look that found another version of what the first found tears the
 * statement (TORN_KEY); a view found where no table is, is what a first look for a table finds. */
static void note_lookup(struct resolver *r, const char *ns, const char *name, json_t *where)
{
    char *key = tn_asprintf("%s\x1f%s", ns, name);
    json_t *before = json_object_get(r->looked_up, key);

    if (json_is_string(before) && !json_equal(before, where))
        json_object_set_new(r->looked_up, TORN_KEY, json_true());
    json_object_set_new(r->looked_up, key, where);
    free(key);
}

char *tn_query_value(struct tn_session *s, const char *sql, struct tn_err *err)
{
    struct tn_rows *r = NULL;
    char *v = NULL;

    if (tn_engine_rows(s, sql, 1, &r, err))
        return NULL;
    if (r->nrows == 1 && r->ncols >= 1 && tn_rows_get(r, 0, 0))
        v = tn_strdup(tn_rows_get(r, 0, 0));
    else
        tn_fail(err, TN_EINPUT, "query returned no value");
    tn_rows_free(r);
    return v;
}

json_t *tn_query_parse(struct tn_session *s, const char *sql, struct tn_err *err)
{
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    json_t *tree;
    char *text;

    tn_buf_addstr(&q, "SELECT json_serialize_sql(", NULL);
    tn_sql_string(&q, sql);
    tn_buf_addstr(&q, ")", NULL);
    text = tn_query_value(s, q.buf, err);
    tn_buf_release(&q);
    if (!text)
        return NULL;
    tree = tn_json_parse(text, strlen(text), err);
    free(text);
    if (!tree) {
        tn_err_prefix(err, "DuckDB's parse tree is ");
        return NULL;
    }
    if (json_is_true(json_object_get(tree, "error"))) {
        const char *msg = json_string_value(json_object_get(tree, "error_message"));
        const char *type = json_string_value(json_object_get(tree, "error_type"));
        /* by the error's type: "not implemented" is a statement that is not a query */
        tn_fail(err, type && strcmp(type, "not implemented") == 0 ? TN_ENOTIMPL : TN_EINPUT, "%s",
                msg ? msg : "cannot parse the statement");
        json_decref(tree);
        return NULL;
    }
    return tree;
}

char *tn_query_deparse(struct tn_session *s, json_t *tree, struct tn_err *err)
{
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    char *text = tn_json_dump(tree);
    char *sql;

    tn_buf_addstr(&q, "SELECT json_deserialize_sql(", NULL);
    tn_sql_string(&q, text);
    tn_buf_addstr(&q, "::JSON)", NULL);
    free(text);
    sql = tn_query_value(s, q.buf, err);
    tn_buf_release(&q);
    return sql;
}

/* Evaluate the AT (...) expression node "expr" of unit "unit" into a snapshot id of "t". */
static int at_snapshot(struct resolver *r, const struct tn_table *t, const char *unit, json_t *expr,
                       int64_t *out)
{
    json_t *tree = tn_query_parse(r->session, "SELECT 1", r->err);
    json_t *list;
    char *sql = NULL, *value = NULL;
    int rc = 0;

    if (!tree)
        return r->err->code;
    list = json_object_get(
        json_object_get(json_array_get(json_object_get(tree, "statements"), 0), "node"),
        "select_list");
    json_array_set(list, 0, expr);
    sql = tn_query_deparse(r->session, tree, r->err);
    json_decref(tree);
    if (!sql)
        return r->err->code;
    if (strcmp(unit, "TIMESTAMP") == 0) {
        char *q =
            tn_asprintf("SELECT epoch_ms(CAST((%s) AS TIMESTAMPTZ))", sql + strlen("SELECT "));
        r->volatile_at = 1; /* now() - INTERVAL ... means another snapshot later */
        value = tn_query_value(r->session, q, r->err);
        free(q);
        if (!value)
            rc = r->err->code;
        else {
            int64_t ms = 0;
            tn_parse_i64(value, &ms);
            rc = tn_table_snapshot_at(t, ms, out, r->err);
        }
    } else {
        char *q = tn_asprintf("SELECT CAST((%s) AS VARCHAR)", sql + strlen("SELECT "));
        value = tn_query_value(r->session, q, r->err);
        free(q);
        if (!value)
            rc = r->err->code;
        else if (tn_delta_source(t)) /* a Delta table's versions are Delta versions */
            rc = tn_delta_snapshot_of_version(t, value, out, r->err);
        else
            rc = tn_table_snapshot_ref(t, value, out, r->err);
    }
    free(value);
    free(sql);
    return rc;
}

static int answer_aggregates(struct resolver *r, json_t *select, const struct tn_scan *scan,
                             const char *alias, int bounds_ok);

/* Whether "pins" names a snapshot for ns.tbl (then *snapshot is it). */
static int pinned(const json_t *pins, const char *ns, const char *tbl, int64_t *snapshot)
{
    char *key = tn_asprintf("%s.%s", ns, tbl);
    json_t *v = json_object_get(pins, key);

    free(key);
    if (!json_is_integer(v))
        return 0;
    *snapshot = (int64_t)json_integer_value(v);
    return 1;
}

/* Append to the options' plan the planning counts of one table's scan. */
static void record_plan(struct resolver *r, const struct tn_table *t, const struct tn_scan *scan,
                        int answered)
{
    if (!r->opt || !r->opt->plan)
        return;
    json_array_append_new(r->opt->plan,
                          json_pack("{s:s+++, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "table", t->ns,
                                    ".", t->name, "", "snapshot_id", (json_int_t)scan->snapshot_id,
                                    "manifests_total", (json_int_t)scan->stats.manifests_total,
                                    "manifests_kept", (json_int_t)scan->stats.manifests_kept,
                                    "data_files_total", (json_int_t)scan->stats.data_files_total,
                                    "data_files_kept", (json_int_t)scan->stats.data_files_kept,
                                    "delete_files", (json_int_t)scan->stats.delete_files,
                                    "answered_from_metadata", answered));
}

/* Replace BASE_TABLE node "node" when it names a tarn table; "where" is the WHERE clause of
 * the SELECT it is the only table of (NULL otherwise), used to skip files. "select" is that
 * SELECT when it is a plain aggregate over the table (count(*), min, max): when metadata
 * answers it, its select list is replaced by constants and *answered set. */
/* Stand the relation "sql" (owned by the caller) in for BASE_TABLE "node", named "name". */
static void place_relation(struct resolver *r, json_t *node, const char *name, const char *sql,
                           unsigned lineage)
{
    const char *alias = json_string_value(json_object_get(node, "alias"));
    char *placeholder =
        tn_asprintf("__tn_relation_%s_%zu", r->token, json_object_size(r->relations));

    if (lineage) { /* metadata columns: hidden from the stars that read the relation */
        json_t *hidden = json_pack("[s]", alias && *alias ? alias : name);
        if (lineage & TN_SCAN_LINEAGE_ROW_ID)
            json_array_append_new(hidden, json_string(TN_COLUMN_ROW_ID));
        if (lineage & TN_SCAN_LINEAGE_SEQ)
            json_array_append_new(hidden, json_string(TN_COLUMN_LAST_UPDATED_SEQ));
        json_object_set_new(r->hidden, placeholder, hidden);
    }
    json_object_set_new(node, "alias", json_string(alias && *alias ? alias : name));
    json_object_set_new(node, "schema_name", json_string(""));
    json_object_set_new(node, "catalog_name", json_string(""));
    json_object_set_new(node, "table_name", json_string(placeholder));
    json_object_set_new(node, "at_clause", json_null());
    json_object_set_new(r->relations, placeholder, json_string(sql));
    free(placeholder);
}

/* BASE_TABLE "node" names ns.name, which is no table: if it is a view, its query stands in;
 * TN_ENOVIEW (nothing in r->err) when it is no view either. */
static int resolve_view(struct resolver *r, json_t *node, const char *ns, const char *name)
{
    struct tn_view *v = NULL;
    struct tn_err e = {0};
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    char default_ns[TN_NAME_MAX + 1] = "default", *inner = NULL;
    json_t *levels;
    const char *text;
    int rc = tn_view_load(r->wh, ns, name, &v, &e);

    if (rc == TN_ENOVIEW)
        return rc;
    if (rc) {
        *r->err = e;
        tn_err_prefix(r->err, "view %s.%s: ", ns, name);
        return rc;
    }
    note_lookup(r, ns, name, json_string(v->metadata_location));
    if (json_is_object(json_object_get(node, "at_clause"))) {
        rc = tn_fail(r->err, TN_EINPUT,
                     "%s.%s is a view, which has no snapshots of its own: time travel the "
                     "tables it reads instead",
                     ns, name);
        goto out;
    }
    if (r->depth + 1 >= VIEW_DEPTH_MAX) {
        rc = tn_fail(r->err, TN_EINPUT,
                     "view %s.%s: views nest more than %d deep (does a view read itself?)", ns,
                     name, VIEW_DEPTH_MAX);
        goto out;
    }
    text = tn_view_metadata_sql(v->meta, "duckdb");
    {
        /* the current version's default namespace, joined as tarn stores nested ones */
        json_t *cur = NULL, *l;
        size_t i;
        json_array_foreach(json_object_get(v->meta, "versions"), i, l)
        {
            if (json_equal(json_object_get(l, "version-id"),
                           json_object_get(v->meta, "current-version-id")))
                cur = l;
        }
        levels = json_object_get(cur, "default-namespace");
        if (json_array_size(levels)) {
            struct tn_buf joined = TN_BUF_INIT(TN_NAME_MAX);
            json_array_foreach(levels, i, l)
            {
                tn_buf_addf(&joined, NULL, "%s%s", i ? "." : "",
                            json_string_value(l) ? json_string_value(l) : "");
            }
            snprintf(default_ns, sizeof(default_ns), "%s", joined.buf ? joined.buf : "default");
            tn_buf_release(&joined);
        }
    }
    rc = resolve(r->wh, r->session, text, NULL, default_ns, r->depth + 1, r->looked_up, &inner,
                 r->err);
    if (rc) {
        tn_err_prefix(r->err, "view %s.%s: ", ns, name);
        goto out;
    }
    tn_buf_addstr(&sql, "SELECT * FROM (", NULL);
    tn_buf_addstr(&sql, inner, NULL);
    tn_buf_addstr(&sql, ") AS ", NULL);
    tn_sql_ident(&sql, name);
    place_relation(r, node, name, sql.buf, 0);
out:
    free(inner);
    tn_buf_release(&sql);
    tn_view_free(v);
    return rc;
}

/* The row-lineage columns (TN_SCAN_LINEAGE_*) the relation of "t" read with "schema" adds:
 * those the statement names, on a format-version 3 table, unless the table has a column of
 * that name (the table's own column wins). A table of an older version is remembered for the
 * error should no table give a named column. */
static unsigned lineage_columns(struct resolver *r, const struct tn_table *t,
                                const struct tn_schema *schema)
{
    unsigned want = tn__lineage_available(t, schema, r->lineage_named);

    if (r->lineage_named && t->meta->format_version < 3 && !r->lineage_refused[0]) {
        /* named, and not a column of the table: remembered for the error */
        unsigned own = 0;
        for (size_t i = 0; i < schema->root.nfields; i++) {
            if (strcasecmp(schema->root.fields[i].name, TN_COLUMN_ROW_ID) == 0)
                own |= TN_SCAN_LINEAGE_ROW_ID;
            if (strcasecmp(schema->root.fields[i].name, TN_COLUMN_LAST_UPDATED_SEQ) == 0)
                own |= TN_SCAN_LINEAGE_SEQ;
        }
        if (r->lineage_named & ~own) {
            snprintf(r->lineage_refused, sizeof(r->lineage_refused), "%s.%s", t->ns, t->name);
            r->refused_version = t->meta->format_version;
        }
    }
    r->lineage_given |= want;
    return want;
}

/* The TN_SCAN_LINEAGE_* bits of the row-lineage columns that column references in "n" name
 * (by their last part, in any case). */
static unsigned named_lineage(const json_t *n)
{
    unsigned found = 0;
    size_t i;
    json_t *v;
    const char *k;

    if (json_is_array(n)) {
        json_array_foreach(n, i, v) found |= named_lineage(v);
        return found;
    }
    if (!json_is_object(n))
        return 0;
    if (json_is_string(json_object_get(n, "class")) &&
        strcmp(json_string_value(json_object_get(n, "class")), "COLUMN_REF") == 0) {
        json_t *names = json_object_get(n, "column_names");
        const char *last = json_string_value(json_array_get(names, json_array_size(names) - 1));
        if (last && strcasecmp(last, TN_COLUMN_ROW_ID) == 0)
            found |= TN_SCAN_LINEAGE_ROW_ID;
        if (last && strcasecmp(last, TN_COLUMN_LAST_UPDATED_SEQ) == 0)
            found |= TN_SCAN_LINEAGE_SEQ;
    }
    json_object_foreach((json_t *)n, k, v) found |= named_lineage(v);
    return found;
}

/* Collect into "out" (alias -> [columns]) the relations with row-lineage columns that FROM
 * clause "from" joins directly (not inside subqueries). */
static void lineage_relations(struct resolver *r, json_t *from, json_t *out)
{
    const char *type = json_string_value(json_object_get(from, "type")), *name;
    json_t *hidden;

    if (!type)
        return;
    if (strcmp(type, "JOIN") == 0) {
        lineage_relations(r, json_object_get(from, "left"), out);
        lineage_relations(r, json_object_get(from, "right"), out);
        return;
    }
    if (strcmp(type, "BASE_TABLE") != 0)
        return;
    name = json_string_value(json_object_get(from, "table_name"));
    hidden = name ? json_object_get(r->hidden, name) : NULL;
    if (hidden)
        json_object_set(out, json_string_value(json_array_get(hidden, 0)), hidden);
}

/* Row-lineage columns are metadata columns: a star over a relation that has them leaves them
 * out (EXCLUDE), so SELECT * shows the table's columns only. */
static void hide_lineage(struct resolver *r, json_t *select_node)
{
    json_t *rels = json_object(), *item, *hidden;
    const char *alias;
    size_t i, j;

    lineage_relations(r, json_object_get(select_node, "from_table"), rels);
    json_array_foreach(json_object_get(select_node, "select_list"), i, item)
    {
        const char *cls = json_string_value(json_object_get(item, "class"));
        const char *rel = json_string_value(json_object_get(item, "relation_name"));
        json_t *exclude = json_object_get(item, "exclude_list");
        json_t *expr = json_object_get(item, "expr"); /* COLUMNS(expr): not a plain star */
        if (!cls || strcmp(cls, "STAR") != 0 || !json_is_array(exclude) ||
            (expr && !json_is_null(expr)))
            continue;
        json_object_foreach(rels, alias, hidden)
        {
            if (rel && *rel && strcasecmp(rel, alias) != 0)
                continue;
            for (j = 1; j < json_array_size(hidden); j++) {
                const char *col = json_string_value(json_array_get(hidden, j));
                size_t k;
                json_t *x;
                int listed = 0;
                json_array_foreach(exclude, k, x)
                {
                    if (json_is_string(x) && strcasecmp(json_string_value(x), col) == 0)
                        listed = 1;
                }
                if (!listed)
                    json_array_append_new(exclude, json_string(col));
            }
        }
    }
    json_decref(rels);
}

static int resolve_table(struct resolver *r, json_t *node, json_t *where, json_t *select,
                         int *answered)
{
    const char *schema = json_string_value(json_object_get(node, "schema_name"));
    const char *name = json_string_value(json_object_get(node, "table_name"));
    const char *catalog = json_string_value(json_object_get(node, "catalog_name"));
    json_t *at = json_object_get(node, "at_clause");
    char ns[TN_NAME_MAX + 1], tbl[TN_NAME_MAX + 1];
    struct tn_table *t = NULL;
    struct tn_scan *scan = NULL;
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    int64_t snapshot = -1;
    const char *dollar;
    char base[2 * TN_NAME_MAX + 2];
    int rc, is_target;
    unsigned lineage = 0; /* the row-lineage columns its relation adds */

    if (!name || (catalog && *catalog))
        return 0;
    if ((!schema || !*schema) && json_object_get(r->cte_names, name))
        return 0;
    /* "t$snapshots": metadata table "snapshots" of table t */
    dollar = strchr(name, '$');
    snprintf(base, sizeof(base), "%.*s", dollar ? (int)(dollar - name) : (int)strlen(name), name);
    {
        struct tn_err ignored;
        if (tn_name_check("namespace", schema && *schema ? schema : r->default_ns, ns, &ignored) ||
            tn_name_check("table", base, tbl, &ignored))
            return 0; /* not a name tarn could have: leave it to DuckDB */
    }
    rc = tn_table_load(r->wh, ns, tbl, &t, r->err);
    if (rc == 0 || rc == TN_ENOTABLE)
        note_lookup(r, ns, tbl, rc ? json_null() : json_string(t->metadata_location));
    if (rc == TN_ENOTABLE && !dollar) {
        rc = resolve_view(r, node, ns, tbl);
        if (rc != TN_ENOVIEW)
            return rc;
        /* not ours: DuckDB's, or nowhere (name the nearest tarn table) */
        return tn__catalog_unknown_table(r->wh, r->session, schema, name, r->err);
    }
    if (rc == TN_ENOTABLE)
        return 0; /* a metadata table of no table: DuckDB says so */
    if (rc)
        return rc;
    if (tn_hudi_location(t))
        r->volatile_at = 1;
    if (json_is_object(at)) {
        const char *unit = json_string_value(json_object_get(at, "unit"));
        rc = at_snapshot(r, t, unit ? unit : "VERSION", json_object_get(at, "expr"), &snapshot);
    } else if (r->opt && r->opt->pins && pinned(r->opt->pins, ns, tbl, &snapshot)) {
        /* a later page: the snapshot the first page read */
    } else if (r->opt && r->opt->snapshot_id != -1) {
        snapshot = r->opt->snapshot_id;
    } else if (r->opt && r->opt->as_of_ms != -1) {
        rc = tn_table_snapshot_at(t, r->opt->as_of_ms, &snapshot, r->err);
    }
    is_target = !dollar && r->opt && r->opt->target_table && strcmp(r->opt->target_ns, ns) == 0 &&
                strcmp(r->opt->target_table, tbl) == 0;
    if (!rc && snapshot != -1 && snapshot != t->meta->current_snapshot_id)
        rc = tn_hudi_check_snapshot(r->wh, t, snapshot, r->err); /* Hudi: cleaned away? */
    if (!rc && is_target) /* the head of main reads with the current schema (-1) */
        snapshot =
            r->opt->target_snapshot == t->meta->current_snapshot_id ? -1 : r->opt->target_snapshot;
    if (!rc && dollar) {
        tn_buf_addstr(&sql, "SELECT * FROM ", NULL);
        rc = tn_metadata_table_sql(r->wh, t, dollar + 1, snapshot, &sql, r->err);
    } else if (!rc) {
        const char *alias = json_string_value(json_object_get(node, "alias"));
        alias = alias && *alias ? alias : tbl;
        rc = tn_table_scan_where(r->wh, t, snapshot, where, alias, &scan, r->err);
        if (!rc && select && !scan->ndeletes) {
            rc = answer_aggregates(r, select, scan, alias, !tn__table_has_name_mapping(t));
            if (rc > 0) { /* the metadata answers it: nothing is read */
                *answered = 1;
                rc = 0;
            }
        }
        if (!rc)
            record_plan(r, t, scan, answered && *answered);
        if (!rc && answered && *answered)
            goto out;
        if (!rc && where && is_target && r->opt->covered)
            tn_scan_covered(t, scan, where, alias, r->opt->covered);
        if (!rc)
            lineage = lineage_columns(r, t, scan->schema);
        if (!rc) {
            tn_buf_addstr(&sql, "SELECT * FROM ", NULL);
            unsigned flags = (is_target ? TN_SCAN_ROW_ID : 0) | lineage;
            if (is_target && r->opt->target_lineage)
                flags |= tn__lineage_available(t, scan->schema, TN_SCAN_CARRY_ROW_ID);
            rc = tn_scan_sql(r->wh, t, scan, flags, &sql, r->err);
        }
        for (size_t i = 0; !rc && i < scan->schema->root.nfields; i++) {
            char *as = tn__scan_column_name(scan->schema, i);
            if (strcmp(as, scan->schema->root.fields[i].name) != 0)
                json_object_set_new(r->case_names, scan->schema->root.fields[i].name,
                                    json_string(as));
            free(as);
        }
    }
    if (!rc) {
        tn_buf_addstr(&sql, " AS ", NULL);
        tn_sql_ident(&sql, tbl);
        place_relation(r, node, dollar ? name : tbl, sql.buf, lineage);
    }
out:
    tn_buf_release(&sql);
    tn_scan_free(scan);
    tn_table_free(t);
    return rc;
}

/* The text of argument "i" of table function node "fn" when it is a string constant. */
static const char *string_argument(json_t *fn, size_t i)
{
    json_t *arg = json_array_get(json_object_get(fn, "children"), i);
    json_t *value = json_object_get(arg, "value");
    const char *cls = json_string_value(json_object_get(arg, "class"));

    if (!cls || strcmp(cls, "CONSTANT") != 0 || json_is_true(json_object_get(value, "is_null")))
        return NULL;
    return json_string_value(json_object_get(value, "value"));
}

/* Replace TABLE_FUNCTION node "node", hudi_changes('table', 'begin'[, 'end']), by the relation
 * of the Hudi table's incremental query (src/hudi/changes.c). */
static int resolve_hudi_changes(struct resolver *r, json_t *node)
{
    json_t *fn = json_object_get(node, "function");
    size_t nargs = json_array_size(json_object_get(fn, "children"));
    const char *ident = string_argument(fn, 0), *begin = string_argument(fn, 1);
    const char *end = nargs == 3 ? string_argument(fn, 2) : NULL;
    char ns[TN_NAME_MAX + 1], tbl[TN_NAME_MAX + 1];
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_table *t = NULL;
    int rc;

    if ((nargs != 2 && nargs != 3) || !ident || !begin || (nargs == 3 && !end))
        return tn_fail(r->err, TN_EINPUT,
                       "hudi_changes takes string constants: hudi_changes('table', "
                       "'begin_instant'[, 'end_instant'])");
    r->volatile_at = 1; /* a Hudi table's timeline moves on without the catalog knowing */
    rc = tn_ident_parse(ident, ns, tbl, r->err);
    if (!rc)
        rc = tn_table_load(r->wh, ns, tbl, &t, r->err);
    if (!rc) {
        note_lookup(r, ns, tbl, json_string(t->metadata_location));
        rc = tn_hudi_changes_sql(r->wh, t, begin, end, &sql, r->err);
    }
    if (!rc) {
        json_object_set_new(node, "type", json_string("BASE_TABLE"));
        json_object_del(node, "function");
        json_object_del(node, "with_ordinality");
        place_relation(r, node, tbl, sql.buf, 0);
    }
    tn_buf_release(&sql);
    tn_table_free(t);
    return rc;
}

/* A top-level column of the scan named by COLUMN_REF "ref" (bare, or qualified by "alias"). */
static const struct tn_field *aggregate_column(const struct tn_scan *scan, json_t *ref,
                                               const char *alias)
{
    const char *cls = json_string_value(json_object_get(ref, "class"));
    json_t *names = json_object_get(ref, "column_names");
    size_t n = json_array_size(names);
    const char *col = json_string_value(json_array_get(names, n ? n - 1 : 0));

    if (!cls || strcmp(cls, "COLUMN_REF") != 0 || !col || n < 1 || n > 2)
        return NULL;
    if (n == 2 && (!json_string_value(json_array_get(names, 0)) ||
                   strcasecmp(json_string_value(json_array_get(names, 0)), alias) != 0))
        return NULL;
    for (size_t i = 0; i < scan->schema->root.nfields; i++)
        if (strcasecmp(scan->schema->root.fields[i].name, col) == 0)
            return &scan->schema->root.fields[i];
    return NULL;
}

/* SELECT count(*), min(c), max(c) ... FROM t, and nothing else: no WHERE, grouping, filters or
 * modifiers; each item count_star() or min/max of one column. */
static int is_plain_aggregate(json_t *n)
{
    json_t *list = json_object_get(n, "select_list"), *f;
    size_t i;

    if (!json_array_size(list) || !json_is_null(json_object_get(n, "where_clause")) ||
        !json_is_null(json_object_get(n, "having")) ||
        !json_is_null(json_object_get(n, "qualify")) ||
        !json_is_null(json_object_get(n, "sample")) ||
        json_array_size(json_object_get(n, "group_expressions")) != 0 ||
        json_array_size(json_object_get(n, "modifiers")) != 0)
        return 0;
    json_array_foreach(list, i, f)
    {
        const char *fn = json_string_value(json_object_get(f, "function_name"));
        const char *cls = json_string_value(json_object_get(f, "class"));
        const char *schema = json_string_value(json_object_get(f, "schema"));
        if (!fn || !cls || strcmp(cls, "FUNCTION") != 0 || (schema && *schema) ||
            !json_is_null(json_object_get(f, "filter")) ||
            json_array_size(json_object_get(json_object_get(f, "order_bys"), "orders")) != 0)
            return 0;
        if (strcmp(fn, "count_star") == 0 && !json_is_true(json_object_get(f, "distinct")))
            continue;
        if ((strcmp(fn, "min") == 0 || strcmp(fn, "max") == 0) &&
            json_array_size(json_object_get(f, "children")) == 1)
            continue;
        return 0;
    }
    return 1;
}

/* Whether column "f"'s bounds are its exact min and max: types whose bounds are never
 * truncated and have no NaN or signed-zero subtleties, and no default that files written
 * before the column existed would supply. */
static int exact_bounds(const struct tn_field *f)
{
    switch (f->type->kind) {
    case TN_T_INT:
    case TN_T_LONG:
    case TN_T_DATE:
    case TN_T_TIMESTAMP:
    case TN_T_TIMESTAMPTZ:
    case TN_T_DECIMAL:
        return !f->initial_default || json_is_null(f->initial_default);
    default:
        return 0;
    }
}

/* The min (or max) of column "f" over the scan's files by their bounds, as DuckDB SQL appended
 * to "sql" (NULL when every value is null); 0 when the bounds cannot say. */
static int bound_value(const struct tn_scan *scan, const struct tn_field *f, int is_max,
                       struct tn_buf *sql)
{
    const struct tn_bytes *best = NULL;
    struct tn_buf text = TN_BUF_INIT(TN_CAP_SQL);
    int ok;

    if (!exact_bounds(f))
        return 0;
    for (size_t i = 0; i < scan->ndata; i++) {
        const struct tn_data_file *df = &scan->data[i].file;
        int64_t values = -1, nulls = -1;
        const struct tn_bytes *b = NULL;
        const struct tn_id_bytes *v = is_max ? df->upper : df->lower;
        size_t nv = is_max ? df->nupper : df->nlower;
        for (size_t k = 0; k < df->nvalue_counts; k++)
            if (df->value_counts[k].id == f->id)
                values = df->value_counts[k].value;
        for (size_t k = 0; k < df->nnull_counts; k++)
            if (df->null_counts[k].id == f->id)
                nulls = df->null_counts[k].value;
        if (values < 0 || nulls < 0)
            return 0; /* a file without counts (or older than the column) */
        if (values == nulls)
            continue; /* only nulls here */
        for (size_t k = 0; k < nv; k++)
            if (v[k].id == f->id)
                b = &v[k].value;
        if (!b)
            return 0;
        if (!best || (is_max ? tn_bound_compare(f->type, b->p, b->n, best->p, best->n) > 0
                             : tn_bound_compare(f->type, b->p, b->n, best->p, best->n) < 0))
            best = b;
    }
    tn_buf_addstr(sql, "CAST(", NULL);
    if (best) {
        ok = !tn_bound_format(f->type, best->p, best->n, &text, NULL);
        if (ok)
            tn_sql_string(sql, text.buf);
    } else {
        ok = 1;
        tn_buf_addstr(sql, "NULL", NULL);
    }
    tn_buf_addstr(sql, " AS ", NULL);
    ok = ok && !tn_type_duckdb(f->type, sql, NULL);
    tn_buf_addstr(sql, ")", NULL);
    tn_buf_release(&text);
    return ok;
}

/* Answer a plain aggregate SELECT from the scan's metadata (no deletes apply): each item
 * becomes a constant (count(*) from record counts, min/max from exact bounds, unless
 * "bounds_ok" is 0: a name-mapped table's bounds may describe another column) and the FROM
 * clause goes. 1 when answered, 0 when the metadata cannot, or an error code. */
static int answer_aggregates(struct resolver *r, json_t *select, const struct tn_scan *scan,
                             const char *alias, int bounds_ok)
{
    json_t *list = json_object_get(select, "select_list"), *f, *tree, *items;
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    size_t i;

    tn_buf_addstr(&sql, "SELECT ", NULL);
    json_array_foreach(list, i, f)
    {
        const char *fn = json_string_value(json_object_get(f, "function_name"));
        const char *as = json_string_value(json_object_get(f, "alias"));
        if (i)
            tn_buf_addstr(&sql, ", ", NULL);
        if (strcmp(fn, "count_star") == 0) {
            int64_t count = 0;
            for (size_t k = 0; k < scan->ndata; k++)
                count += scan->data[k].file.record_count;
            tn_buf_addf(&sql, NULL, "CAST(%lld AS BIGINT) AS ", (long long)count);
            tn_sql_ident(&sql, as && *as ? as : "count_star()");
        } else {
            const struct tn_field *col =
                aggregate_column(scan, json_array_get(json_object_get(f, "children"), 0), alias);
            if (!bounds_ok || !col || !bound_value(scan, col, strcmp(fn, "max") == 0, &sql)) {
                tn_buf_release(&sql);
                return 0;
            }
            tn_buf_addstr(&sql, " AS ", NULL);
            if (as && *as) {
                tn_sql_ident(&sql, as);
            } else {
                char *name = tn_asprintf("%s(%s)", fn, col->name);
                tn_sql_ident(&sql, name);
                free(name);
            }
        }
    }
    tree = tn_query_parse(r->session, sql.buf, r->err);
    tn_buf_release(&sql);
    if (!tree)
        return r->err->code;
    items = json_object_get(
        json_object_get(json_array_get(json_object_get(tree, "statements"), 0), "node"),
        "select_list");
    json_object_set(select, "select_list", items);
    json_decref(tree);
    return 1;
}

/* The FROM clause of an answered aggregate: nothing to read. */
static void drop_from(json_t *n)
{
    json_t *empty =
        json_pack("{s:s, s:s, s:n, s:O}", "type", "EMPTY", "alias", "", "sample", "query_location",
                  json_object_get(json_object_get(n, "from_table"), "query_location"));

    json_object_set_new(n, "from_table", empty);
}

static void collect_ctes(json_t *n, json_t *names)
{
    size_t i;
    json_t *v;
    const char *k;

    if (json_is_array(n)) {
        json_array_foreach(n, i, v) collect_ctes(v, names);
        return;
    }
    if (!json_is_object(n))
        return;
    if (json_is_object(json_object_get(n, "cte_map"))) {
        json_t *map = json_object_get(json_object_get(n, "cte_map"), "map");
        json_array_foreach(map, i, v)
        {
            const char *name = json_string_value(json_object_get(v, "key"));
            if (name)
                json_object_set_new(names, name, json_true());
        }
    }
    json_object_foreach(n, k, v) collect_ctes(v, names);
}

/* The value of constant argument "arg": its text (*text) or its integer (*num). */
static int constant_arg(json_t *arg, const char **text, int64_t *num)
{
    const char *cls = json_string_value(json_object_get(arg, "class"));
    json_t *v = json_object_get(json_object_get(arg, "value"), "value");

    if (!cls || strcmp(cls, "CONSTANT") != 0)
        return -1;
    if (text && json_is_string(v)) {
        *text = json_string_value(v);
        return 0;
    }
    if (num && json_is_integer(v)) {
        *num = json_integer_value(v);
        return 0;
    }
    return -1;
}

/* Replace TABLE_FUNCTION node "node", delta_changes('table', start[, end]), by the relation of
 * the Delta table's change data feed. */
static int resolve_delta_changes(struct resolver *r, json_t *node)
{
    json_t *args = json_object_get(json_object_get(node, "function"), "children");
    const char *ident = NULL, *alias = json_string_value(json_object_get(node, "alias"));
    char ns[TN_NAME_MAX + 1], tbl[TN_NAME_MAX + 1];
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_table *t = NULL;
    int64_t start = 0, end = -1;
    char *placeholder;
    int rc;

    if (json_array_size(args) < 2 || json_array_size(args) > 3 ||
        constant_arg(json_array_get(args, 0), &ident, NULL) ||
        constant_arg(json_array_get(args, 1), NULL, &start) ||
        (json_array_size(args) == 3 && constant_arg(json_array_get(args, 2), NULL, &end)))
        return tn_fail(r->err, TN_EINPUT,
                       "delta_changes takes constants: delta_changes('table', start_version[, "
                       "end_version])");
    rc = tn_ident_parse(ident, ns, tbl, r->err);
    if (!rc)
        rc = tn_table_load(r->wh, ns, tbl, &t, r->err);
    if (!rc) {
        tn_buf_addstr(&sql, "SELECT * FROM ", NULL);
        rc = tn_delta_changes_sql(r->wh, t, start, end, &sql, r->err);
        tn_buf_addstr(&sql, " AS delta_changes", NULL);
    }
    tn_table_free(t);
    if (rc) {
        tn_buf_release(&sql);
        return rc;
    }
    placeholder = tn_asprintf("__tn_relation_%s_%zu", r->token, json_object_size(r->relations));
    json_object_set_new(r->relations, placeholder, json_string(sql.buf));
    json_object_del(node, "function");
    json_object_set_new(node, "type", json_string("BASE_TABLE"));
    json_object_set_new(node, "alias", json_string(alias && *alias ? alias : "delta_changes"));
    json_object_set_new(node, "schema_name", json_string(""));
    json_object_set_new(node, "catalog_name", json_string(""));
    json_object_set_new(node, "table_name", json_string(placeholder));
    json_object_set_new(node, "at_clause", json_null());
    free(placeholder);
    tn_buf_release(&sql);
    return 0;
}

static int walk(struct resolver *r, json_t *n)
{
    size_t i;
    json_t *v;
    const char *k;
    int rc;

    if (json_is_array(n)) {
        json_array_foreach(n, i, v)
        {
            if ((rc = walk(r, v)))
                return rc;
        }
        return 0;
    }
    if (!json_is_object(n))
        return 0;
    if (json_is_string(json_object_get(n, "type")) &&
        strcmp(json_string_value(json_object_get(n, "type")), "BASE_TABLE") == 0)
        return resolve_table(r, n, NULL, NULL, NULL);
    if (json_is_string(json_object_get(n, "type")) &&
        strcmp(json_string_value(json_object_get(n, "type")), "TABLE_FUNCTION") == 0) {
        const char *fn =
            json_string_value(json_object_get(json_object_get(n, "function"), "function_name"));
        const char *fschema =
            json_string_value(json_object_get(json_object_get(n, "function"), "schema"));
        if (fn && strcasecmp(fn, "hudi_changes") == 0 && (!fschema || !*fschema))
            return resolve_hudi_changes(r, n);
        r->reads_functions = 1;
        if (fn && strcasecmp(fn, "delta_changes") == 0 && (!fschema || !*fschema))
            return resolve_delta_changes(r, n);
    }
    if (json_is_string(json_object_get(n, "type")) &&
        strcmp(json_string_value(json_object_get(n, "type")), "SELECT_NODE") == 0) {
        /* a SELECT of one table: its WHERE can skip files */
        json_t *from = json_object_get(n, "from_table");
        const char *ft = json_string_value(json_object_get(from, "type"));
        int answered = 0;
        if (ft && strcmp(ft, "BASE_TABLE") == 0 &&
            (rc = resolve_table(r, from, json_object_get(n, "where_clause"),
                                is_plain_aggregate(n) ? n : NULL, &answered)))
            return rc;
        if (answered)
            drop_from(n);
    }
    json_object_foreach(n, k, v)
    {
        if ((rc = walk(r, v)))
            return rc;
    }
    if (json_object_size(r->hidden) && json_is_string(json_object_get(n, "type")) &&
        strcmp(json_string_value(json_object_get(n, "type")), "SELECT_NODE") == 0)
        hide_lineage(r, n);
    return 0;
}

/* Point every column reference that spells, with its exact case, a column whose name differs
 * from an earlier one's only in case at that column's relation name (DuckDB would take the
 * earlier one). */
static void rename_case_columns(json_t *n, json_t *case_names)
{
    size_t i;
    json_t *v;
    const char *k;

    if (json_is_array(n)) {
        json_array_foreach(n, i, v) rename_case_columns(v, case_names);
        return;
    }
    if (!json_is_object(n))
        return;
    if (json_is_string(json_object_get(n, "class")) &&
        strcmp(json_string_value(json_object_get(n, "class")), "COLUMN_REF") == 0) {
        json_array_foreach(json_object_get(n, "column_names"), i, v)
        {
            json_t *to =
                json_string_value(v) ? json_object_get(case_names, json_string_value(v)) : NULL;
            if (to)
                json_array_set(json_object_get(n, "column_names"), i, to);
        }
        return;
    }
    json_object_foreach(n, k, v) rename_case_columns(v, case_names);
}

/* Replace each placeholder in deparsed "sql" (as DuckDB wrote the name: bare or quoted) by its
 * relation in parentheses. A new string. */
static char *place_relations(const char *sql, json_t *relations)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_SQL);
    const char *p = sql, *hit;

    while ((hit = strstr(p, "__tn_relation_")) != NULL) {
        const char *end = hit;
        const char *relation;
        char name[64];
        int quoted = hit > p && hit[-1] == '"';

        while (*end == '_' || (*end >= 'a' && *end <= 'z') || (*end >= '0' && *end <= '9'))
            end++;
        snprintf(name, sizeof(name), "%.*s", (int)(end - hit), hit);
        relation = json_string_value(json_object_get(relations, name));
        if (!relation || (quoted && *end != '"')) {
            tn_buf_add(&b, p, (size_t)(end - p), NULL); /* not ours: keep it as it is */
            p = end;
            continue;
        }
        tn_buf_add(&b, p, (size_t)(hit - p - quoted), NULL);
        tn_buf_addf(&b, NULL, "(%s)", relation);
        p = end + quoted;
    }
    tn_buf_addstr(&b, p, NULL);
    return tn_buf_detach(&b, NULL);
}

/*---- The text DuckDB parses ----*/

#define PIVOT_VALUES_MAX 10000

/* Append " IN ('v1', 'v2', ...)": the distinct non-null values of expression tokens
 * [from, to) over the PIVOT's source tokens [src_from, src_to), read like any query. */
static int pivot_values(struct tn_warehouse *wh, struct tn_session *s,
                        const struct tn_query_options *opt, const struct tn_sql_tokens *t,
                        size_t src_from, size_t src_to, size_t from, size_t to, struct tn_buf *out,
                        struct tn_err *err)
{
    struct tn_query_options qo = {.snapshot_id = -1, .as_of_ms = -1, .target_snapshot = -1};
    char *src = tn_sql_tok_span(t, src_from, src_to), *expr = tn_sql_tok_span(t, from, to);
    char *q = tn_asprintf("SELECT _tn_v FROM (SELECT DISTINCT CAST((%s\n) AS VARCHAR) AS _tn_v "
                          "FROM %s\n) WHERE _tn_v IS NOT NULL ORDER BY 1",
                          expr, src);
    char *resolved = NULL;
    struct tn_rows *r = NULL;
    int rc;

    if (opt) {
        qo.snapshot_id = opt->snapshot_id;
        qo.as_of_ms = opt->as_of_ms;
        qo.branch = opt->branch;
    }
    rc = tn_query_resolve(wh, s, q, &qo, &resolved, err);
    if (!rc)
        rc = tn_engine_rows(s, resolved, PIVOT_VALUES_MAX, &r, err);
    if (rc == TN_ETOOBIG)
        tn_fail(err, TN_EINPUT,
                "PIVOT ON %.60s: more than %d values; list the ones you want "
                "with ON %.60s IN (...)",
                expr, PIVOT_VALUES_MAX, expr);
    if (!rc && r->nrows == 0)
        rc = tn_fail(err, TN_EINPUT,
                     "PIVOT ON %.60s: there are no values to make columns of; "
                     "list them with ON %.60s IN (...)",
                     expr, expr);
    if (!rc) {
        tn_buf_addstr(out, " IN (", NULL);
        for (size_t i = 0; i < r->nrows; i++) {
            if (i)
                tn_buf_addstr(out, ", ", NULL);
            tn_sql_string(out, tn_rows_get(r, i, 0));
        }
        tn_buf_addstr(out, ")", NULL);
    }
    tn_rows_free(r);
    free(resolved);
    free(src);
    free(expr);
    free(q);
    return rc;
}

static int pivot_clause_end(const struct tn_sql_tokens *t, size_t i)
{
    return t->v[i].depth == 0 && (tn_sql_tok_is(t, i, "USING") || tn_sql_tok_is(t, i, "GROUP") ||
                                  tn_sql_tok_is(t, i, "ORDER") || tn_sql_tok_is(t, i, "LIMIT") ||
                                  tn_sql_tok_is(t, i, ";"));
}

/* The user's statement as DuckDB is to parse it. Two of DuckDB's own forms get a hand: a
 * namespace named default (a reserved word: default.sales is a syntax error) is quoted, and a
 * statement-level PIVOT whose ON columns have no IN list -- which DuckDB expands into a
 * CREATE TYPE statement plus the query -- gets those columns' values listed, so that it is one
 * SELECT. The text is only parsed: what runs is deparsed from DuckDB's tree. */
static int parse_text(struct tn_warehouse *wh, struct tn_session *s, const char *sql,
                      const struct tn_query_options *opt, char **out, struct tn_err *err)
{
    struct tn_sql_tokens t;
    struct tn_buf b = TN_BUF_INIT(TN_CAP_SQL);
    size_t pos = 0, on = 0, items_end = 0;
    int pivot, rc = 0;

    if (tn_sql_lex(sql, &t, err))
        return err->code;
    pivot = t.n > 2 && (tn_sql_tok_is(&t, 0, "PIVOT") || tn_sql_tok_is(&t, 0, "PIVOT_WIDER"));
    for (size_t i = 1; pivot && !on && i < t.n; i++)
        if (t.v[i].depth == 0 && tn_sql_tok_is(&t, i, "ON"))
            on = i;
    if (on) {
        items_end = on + 1;
        while (items_end < t.n && !pivot_clause_end(&t, items_end))
            items_end++;
    }
    for (size_t i = 0; !rc && i < t.n; i++) {
        const struct tn_sql_token *k = &t.v[i];
        /* the end of one ON item of a PIVOT: a top-level ',' or the end of the list */
        if (on && i > on && i < items_end + 1 && k->depth == 0 &&
            (i == items_end || tn_sql_tok_is(&t, i, ","))) {
            size_t from = i - 1;
            int has_in = 0;
            while (from > on && !(t.v[from].depth == 0 && tn_sql_tok_is(&t, from, ",")))
                from--;
            for (size_t j = from + 1; j < i; j++)
                has_in |= t.v[j].depth == 0 && tn_sql_tok_is(&t, j, "IN");
            if (!has_in) {
                size_t end = t.v[i - 1].start + t.v[i - 1].len;
                tn_buf_add(&b, t.text + pos, end - pos, NULL);
                pos = end;
                rc = pivot_values(wh, s, opt, &t, 1, on, from + 1, i, &b, err);
            }
        }
    }
    if (on && !rc && items_end == t.n) {
        size_t from = items_end - 1;
        int has_in = 0;
        while (from > on && !(t.v[from].depth == 0 && tn_sql_tok_is(&t, from, ",")))
            from--;
        for (size_t j = from + 1; j < items_end; j++)
            has_in |= t.v[j].depth == 0 && tn_sql_tok_is(&t, j, "IN");
        if (!has_in) {
            size_t end = t.v[items_end - 1].start + t.v[items_end - 1].len;
            tn_buf_add(&b, t.text + pos, end - pos, NULL);
            pos = end;
            rc = pivot_values(wh, s, opt, &t, 1, on, from + 1, items_end, &b, err);
        }
    }
    tn_buf_addstr(&b, t.text + pos, NULL);
    tn_sql_tokens_release(&t);
    if (!rc && (rc = tn_sql_lex(b.buf, &t, err)) == 0) {
        *out = tn_sql_quote_default(&t); /* no comments are left: the text is the same */
        tn_sql_tokens_release(&t);
    }
    tn_buf_release(&b);
    return rc;
}

/*---- Resolved statements, kept ----*/

/* A resolved statement stays right while every table it looked up still has the metadata
 * location it had (or is still absent): a dashboard's repeated query skips parsing, planning
 * and deparsing. Kept in the warehouse's plan cache; not for changes, EXPLAIN, relative AT
 * (TIMESTAMP => ...) or remote storage (whose reads must fetch files first). */
struct resolved {
    char *sql;
    json_t *looked_up;
    int columns_fixed; /* it reads tarn tables only: files that never change, so its columns
                          (names and types) are always the same */
    char *columns;     /* tn_query_columns' answer once known, or NULL */
};

static void resolved_free(void *p)
{
    struct resolved *v = p;

    free(v->sql);
    json_decref(v->looked_up);
    free(v->columns);
    free(v);
}

static char *resolved_key(struct tn_warehouse *wh, const char *user_sql,
                          const struct tn_query_options *opt)
{
    if (tn_storage_is_remote(wh->storage) ||
        (opt && (opt->target_table || opt->covered || opt->plan || opt->branch || opt->pins)))
        return NULL;
    return tn_asprintf("statement:%lld:%lld:%s", opt ? (long long)opt->snapshot_id : -1LL,
                       opt ? (long long)opt->as_of_ms : -1LL, user_sql);
}

/* The kept resolution of "key" when every table it looked up is as it was (a handle to
 * release), else NULL. */
static struct tn_cached *resolved_get(struct tn_warehouse *wh, const char *key)
{
    struct tn_cached *hit = tn__plan_cache_get(wh->plan_cache, key);
    const struct resolved *v;
    const char *name;
    json_t *where;
    int fresh = 1;

    if (!hit)
        return NULL;
    v = tn__plan_cached_value(hit);
    json_object_foreach(v->looked_up, name, where)
    {
        const char *sep = strchr(name, '\x1f');
        char ns[TN_NAME_MAX + 1], *now = NULL;
        struct tn_err ignored;
        int rc;
        snprintf(ns, sizeof(ns), "%.*s", (int)(sep - name), name);
        rc = tn_catalog_load(wh->catalog, ns, sep + 1, &now, &ignored);
        if (rc == TN_ENOTABLE && json_is_string(where)) /* a view */
            rc = tn_catalog_load_kind(wh->catalog, TN_CATALOG_VIEW, ns, sep + 1, &now, &ignored);
        fresh = json_is_null(where) ? rc == TN_ENOTABLE
                                    : rc == 0 && strcmp(now, json_string_value(where)) == 0;
        free(now);
        if (!fresh)
            break;
    }
    if (fresh)
        return hit;
    tn__plan_cache_release(wh->plan_cache, hit);
    return NULL;
}

static void resolved_put(struct tn_warehouse *wh, const char *key, const char *sql,
                         json_t *looked_up, int columns_fixed, const char *columns)
{
    struct resolved *v = tn_calloc(1, sizeof(*v));

    v->sql = tn_strdup(sql);
    v->looked_up = json_incref(looked_up);
    v->columns_fixed = columns_fixed;
    v->columns = columns ? tn_strdup(columns) : NULL;
    tn__plan_cache_release(wh->plan_cache,
                           tn__plan_cache_put(wh->plan_cache, key, v,
                                              sizeof(*v) + 2 * strlen(key) + strlen(sql) +
                                                  (columns ? strlen(columns) : 0) + 256,
                                              resolved_free));
}

/* Resolve "user_sql" as a statement "depth" views deep, its unqualified names in
 * "default_ns"; the tables and views it looked up are added to "looked_up" (for the outermost
 * statement: NULL, and the result is kept in the plan cache). *torn: it read a table or view at
 * two versions (a commit landed between two of its looks), and the result is not kept. */
static int resolve_once(struct tn_warehouse *wh, struct tn_session *s, const char *user_sql,
                        const struct tn_query_options *opt, const char *default_ns, int depth,
                        json_t *looked_up, char **out, int *torn, struct tn_err *err)
{
    struct resolver r = {wh, s,    opt,        NULL,  err, {0}, NULL, NULL, 0,
                         0,  NULL, default_ns, depth, 0,   0,   NULL, {0},  0};
    char *key = looked_up ? NULL : resolved_key(wh, user_sql, opt);
    json_t *tree;
    unsigned char random[8];
    struct tn_cached *hit = key ? resolved_get(wh, key) : NULL;
    char *sql = NULL;
    int rc;

    if (hit) {
        *out = tn_strdup(((const struct resolved *)tn__plan_cached_value(hit))->sql);
        tn__plan_cache_release(wh->plan_cache, hit);
        free(key);
        return 0;
    }
    if (!user_sql)
        return tn_fail(err, TN_EINPUT, "the view has no SQL representation");
    r.cte_names = json_object();
    r.relations = json_object();
    r.looked_up = looked_up ? json_incref(looked_up) : json_object();
    r.case_names = json_object();
    r.hidden = json_object();
    tree = NULL;
    {
        char *text = NULL;
        if (parse_text(wh, s, user_sql, opt, &text, err) == 0)
            tree = tn_query_parse(s, text, err);
        free(text);
    }

    tn_random_bytes(random, sizeof(random));
    for (size_t i = 0; i < sizeof(random); i++)
        snprintf(r.token + 2 * i, 3, "%02x", random[i]);
    if (!tree) {
        rc = err->code;
    } else if (json_array_size(json_object_get(tree, "statements")) != 1) {
        rc = tn_fail(err, TN_EINPUT, "send exactly one statement per query");
    } else if ((rc = tn__sandbox_check(wh, tree, err)) == 0) {
        int catalog_answer = 0;
        collect_ctes(tree, r.cte_names);
        rc =
            tn__catalog_rewrite(wh, s, tree, opt && (opt->snapshot_id != -1 || opt->as_of_ms != -1),
                                &catalog_answer, err);
        r.volatile_at |= catalog_answer; /* the catalog changes: never keep this resolution */
        r.lineage_named = named_lineage(tree);
        if (!rc)
            rc = walk(&r, tree);
        if (!rc && (r.lineage_named & ~r.lineage_given) && r.lineage_refused[0])
            rc = tn_fail(err, TN_EINPUT,
                         "%s is a row-lineage column, which only Iceberg format-version 3 "
                         "tables have; table %s is format-version %d (create the table with "
                         "format-version 3 to track row lineage)",
                         (r.lineage_named & ~r.lineage_given & TN_SCAN_LINEAGE_ROW_ID)
                             ? TN_COLUMN_ROW_ID
                             : TN_COLUMN_LAST_UPDATED_SEQ,
                         r.lineage_refused, r.refused_version);
    }
    if (!rc && looked_up && r.reads_functions)
        json_object_set_new(looked_up, TN__READS_FUNCTIONS, json_true());
    if (!rc && json_object_size(r.case_names))
        rename_case_columns(tree, r.case_names);
    if (!rc) {
        sql = tn_query_deparse(s, tree, err);
        if (!sql)
            rc = err->code;
    }
    if (!rc && json_object_size(r.relations)) {
        char *placed = place_relations(sql, r.relations);
        free(sql);
        sql = placed;
    }
    *torn = json_object_get(r.looked_up, TORN_KEY) != NULL;
    if (!rc && key && !r.volatile_at && !*torn)
        resolved_put(wh, key, sql, r.looked_up, !r.reads_functions, NULL);
    json_decref(tree);
    json_decref(r.cte_names);
    json_decref(r.relations);
    json_decref(r.looked_up);
    json_decref(r.case_names);
    json_decref(r.hidden);
    free(key);
    if (!rc)
        *out = sql;
    else
        free(sql);
    return rc;
}

/* resolve_once, again when torn: every table and view a statement names is read at one
 * version, however often it names it (a view's query included). */
static int resolve(struct tn_warehouse *wh, struct tn_session *s, const char *user_sql,
                   const struct tn_query_options *opt, const char *default_ns, int depth,
                   json_t *looked_up, char **out, struct tn_err *err)
{
    for (int attempt = 1;; attempt++) {
        int torn = 0;
        int rc = resolve_once(wh, s, user_sql, opt, default_ns, depth, looked_up, out, &torn, err);
        if (rc || !torn || depth > 0) /* a view's query: the outermost statement starts again */
            return rc;
        free(*out);
        *out = NULL;
        if (looked_up)
            json_object_clear(looked_up);
        if (attempt == RESOLVE_ATTEMPTS)
            return tn_fail(err, TN_ECONFLICT,
                           "the tables this statement reads changed while it was planned, %d "
                           "times; send it again",
                           RESOLVE_ATTEMPTS);
    }
}

int tn_query_resolve(struct tn_warehouse *wh, struct tn_session *s, const char *user_sql,
                     const struct tn_query_options *opt, char **out, struct tn_err *err)
{
    return resolve(wh, s, user_sql, opt, "default", 0, NULL, out, err);
}

int tn__query_resolve_reads(struct tn_warehouse *wh, struct tn_session *s, const char *user_sql,
                            char **out, json_t **names, struct tn_err *err)
{
    json_t *looked_up = json_object();
    int rc = resolve(wh, s, user_sql, NULL, "default", 0, looked_up, out, err);

    if (rc) {
        json_decref(looked_up);
        return rc;
    }
    *names = looked_up;
    return 0;
}

/* The names and DuckDB types of the rows of "resolved", as a JSON array of {name, type}. */
static int describe_columns(struct tn_session *s, const char *resolved, char **out,
                            struct tn_err *err)
{
    char *q = tn_asprintf("DESCRIBE SELECT * FROM (%s) _t", resolved);
    struct tn_rows *r = NULL;
    json_t *columns;
    int rc = tn_engine_rows(s, q, TN_QUERY_COLUMNS_MAX, &r, err);

    free(q);
    if (rc)
        return rc;
    columns = json_array();
    for (size_t i = 0; i < r->nrows; i++) {
        json_t *col =
            json_pack("{s:s?, s:s?}", "name", tn_rows_get(r, i, 0), "type", tn_rows_get(r, i, 1));
        json_array_append_new(columns, col ? col : json_object()); /* one entry per column */
    }
    *out = json_dumps(columns, JSON_COMPACT);
    json_decref(columns);
    tn_rows_free(r);
    return *out ? 0 : tn_fail(err, TN_EUNAVAILABLE, "out of memory describing the result");
}

int tn_query_columns(struct tn_warehouse *wh, struct tn_session *s, const char *user_sql,
                     const struct tn_query_options *opt, const char *resolved, char **out,
                     struct tn_err *err)
{
    char *key = resolved_key(wh, user_sql, opt);
    /* no freshness check here: a statement reading tarn tables only names immutable files, so
     * the same resolved text has the same columns (tn_query_resolve just checked its tables) */
    struct tn_cached *hit = key ? tn__plan_cache_get(wh->plan_cache, key) : NULL;
    const struct resolved *v = hit ? tn__plan_cached_value(hit) : NULL;
    int rc = 0;

    *out = NULL;
    if (v && v->columns && strcmp(v->sql, resolved) == 0) {
        *out = tn_strdup(v->columns);
    } else {
        rc = describe_columns(s, resolved, out, err);
        /* remember them beside the resolution they belong to */
        if (!rc && v && v->columns_fixed && strcmp(v->sql, resolved) == 0)
            resolved_put(wh, key, v->sql, v->looked_up, 1, *out);
    }
    tn__plan_cache_release(wh->plan_cache, hit);
    free(key);
    return rc;
}

int tn_query_fixed(struct tn_warehouse *wh, const char *user_sql,
                   const struct tn_query_options *opt, const char *resolved)
{
    char *key = resolved_key(wh, user_sql, opt);
    struct tn_cached *hit = key ? tn__plan_cache_get(wh->plan_cache, key) : NULL;
    const struct resolved *v = hit ? tn__plan_cached_value(hit) : NULL;
    int fixed = v && v->columns_fixed && strcmp(v->sql, resolved) == 0;

    tn__plan_cache_release(wh->plan_cache, hit);
    free(key);
    return fixed;
}

char *tn_plan_describe(json_t *entry)
{
    json_t *delete_files = json_object_get(entry, "delete_files");

    return tn_asprintf(
        "%s (snapshot %lld): manifests %lld of %lld kept, data files %lld of %lld kept, %lld "
        "delete file%s%s",
        json_string_value(json_object_get(entry, "table")),
        (long long)json_integer_value(json_object_get(entry, "snapshot_id")),
        (long long)json_integer_value(json_object_get(entry, "manifests_kept")),
        (long long)json_integer_value(json_object_get(entry, "manifests_total")),
        (long long)json_integer_value(json_object_get(entry, "data_files_kept")),
        (long long)json_integer_value(json_object_get(entry, "data_files_total")),
        (long long)json_integer_value(delete_files),
        json_integer_value(delete_files) == 1 ? "" : "s",
        json_is_true(json_object_get(entry, "answered_from_metadata")) ? "; answered from metadata"
                                                                       : "");
}
