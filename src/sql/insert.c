/* insert.c - INSERT INTO t [(columns)] SELECT ... | VALUES ... on a tarn table: one append
 * commit. Only the head of the statement is read here (the target and its column list); the
 * rest is an ordinary query that DuckDB parses, with any tarn tables in it resolved to their
 * files like every other read, whose rows are matched to the columns by position as SQL says. */
#include "table/table_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *skip_space(const char *p)
{
    while (isspace((unsigned char)*p))
        p++;
    return p;
}

static int keyword(const char **p, const char *word)
{
    const char *s = skip_space(*p);
    size_t n = strlen(word);

    if (strncasecmp(s, word, n) == 0 && !isalnum((unsigned char)s[n]) && s[n] != '_') {
        *p = s + n;
        return 1;
    }
    return 0;
}

/* Whether the text at "p" starts with keyword "word" (without consuming it). */
static int starts_with(const char *p, const char *word)
{
    return keyword(&p, word);
}

/* One identifier, bare or double-quoted, appended to "out". */
static int identifier(const char **p, struct tn_buf *out)
{
    const char *s = skip_space(*p);

    if (*s == '"') {
        s++;
        while (*s && !(*s == '"' && s[1] != '"')) {
            if (*s == '"')
                s++;
            tn_buf_add(out, s++, 1, NULL);
        }
        if (*s != '"')
            return -1;
        s++;
    } else {
        if (!isalpha((unsigned char)*s) && *s != '_')
            return -1;
        while (isalnum((unsigned char)*s) || *s == '_')
            tn_buf_add(out, s++, 1, NULL);
    }
    *p = s;
    return 0;
}

/* The query of the rows must stay what tarn built around the user's text: one SELECT * of the
 * subquery _tn_rows, nothing the text could have added after closing it early. */
static int check_rows_select(struct tn_session *s, const char *select, struct tn_err *err)
{
    json_t *tree = tn_query_parse(s, select, err), *node, *from;
    const char *type, *alias;
    int ok;

    if (!tree)
        return err->code;
    node = json_object_get(json_array_get(json_object_get(tree, "statements"), 0), "node");
    from = json_object_get(node, "from_table");
    type = json_string_value(json_object_get(node, "type"));
    alias = json_string_value(json_object_get(from, "alias"));
    ok = json_array_size(json_object_get(tree, "statements")) == 1 && type &&
         strcmp(type, "SELECT_NODE") == 0 && alias && strcmp(alias, "_tn_rows") == 0 &&
         json_array_size(json_object_get(node, "select_list")) == 1 &&
         json_is_null(json_object_get(node, "where_clause")) &&
         json_array_size(json_object_get(node, "group_expressions")) == 0 &&
         json_array_size(json_object_get(node, "modifiers")) == 0;
    json_decref(tree);
    if (!ok)
        return tn_fail(err, TN_EINPUT,
                       "expected INSERT INTO table [(columns)] SELECT ... | VALUES ...: the rows' "
                       "query does not stand on its own");
    return 0;
}

/* The target columns: the list given, each a column of "t" once; else all of "t"'s columns in
 * order. An unknown or repeated name is refused (400), as DuckDB does. */
static int check_columns(const struct tn_table *t, json_t *columns, struct tn_err *err)
{
    const struct tn_schema *schema = tn_metadata_current_schema(t->meta);
    json_t *c;
    size_t i;

    if (!json_array_size(columns)) {
        for (size_t k = 0; k < schema->root.nfields; k++)
            json_array_append_new(columns, json_string(schema->root.fields[k].name));
        return 0;
    }
    json_array_foreach(columns, i, c)
    {
        const char *name = json_string_value(c);
        int found = 0;
        for (size_t k = 0; k < schema->root.nfields; k++)
            found |= strcasecmp(schema->root.fields[k].name, name) == 0;
        if (!found)
            return tn_fail(err, TN_EINPUT, "INSERT INTO %s.%s: the table has no column '%s'", t->ns,
                           t->name, name);
        for (size_t k = 0; k < i; k++)
            if (strcasecmp(json_string_value(json_array_get(columns, k)), name) == 0)
                return tn_fail(err, TN_EINPUT, "INSERT INTO %s.%s: column '%s' is named twice",
                               t->ns, t->name, name);
    }
    return 0;
}

/* The rows of "rows_sql" must have one value per target column: more are not dropped and fewer
 * are not guessed at (400, as DuckDB answers). */
static int check_value_count(struct tn_session *s, const struct tn_table *t, const char *rows_sql,
                             json_t *columns, struct tn_err *err)
{
    char *sql = tn_asprintf("DESCRIBE %s", rows_sql);
    struct tn_rows *cols = NULL;
    int rc = tn_engine_rows(s, sql, 100000, &cols, err);
    size_t want = json_array_size(columns);

    free(sql);
    if (!rc && cols->nrows != want)
        rc = tn_fail(err, TN_EINPUT,
                     "INSERT INTO %s.%s: %zu value%s for %zu column%s; give one value per column",
                     t->ns, t->name, cols->nrows, cols->nrows == 1 ? "" : "s", want,
                     want == 1 ? "" : "s");
    tn_rows_free(cols);
    return rc;
}

int tn_table_insert(struct tn_warehouse *wh, struct tn_session *s, const char *sql,
                    const struct tn_query_options *opt, struct tn_insert_result *res,
                    struct tn_err *err)
{
    struct tn_sql_tokens toks = {0};
    const char *p;
    struct tn_buf target = TN_BUF_INIT(TN_CAP_SQL), source = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_table *t = NULL;
    json_t *columns = json_array();
    char *resolved = NULL, *returning = NULL;
    int rc = 0;

    memset(res, 0, sizeof(*res));
    if ((rc = tn_write_check_travel(opt, "INSERT", err)))
        goto out;
    /* read without comments: a comment cannot hide or end a clause for this reader */
    if ((rc = tn_sql_lex(sql, &toks, err)) != 0)
        goto out;
    p = toks.text;
    if (!keyword(&p, "INSERT") || !keyword(&p, "INTO") || identifier(&p, &target)) {
        rc = tn_fail(err, TN_EINPUT, "expected INSERT INTO table ...");
        goto out;
    }
    if (*skip_space(p) == '.') {
        p = skip_space(p) + 1;
        tn_buf_addstr(&target, ".", NULL);
        if (identifier(&p, &target)) {
            rc = tn_fail(err, TN_EINPUT, "INSERT INTO: expected a table name after '.'");
            goto out;
        }
    }
    if ((rc = tn_ident_parse(target.buf, res->ns, res->table, err)) ||
        (rc = tn_table_load(wh, res->ns, res->table, &t, err)))
        goto out;
    p = skip_space(p);
    if (*p == '(' && !starts_with(p + 1, "SELECT") && !starts_with(p + 1, "WITH")) {
        p++;
        for (;;) {
            struct tn_buf col = TN_BUF_INIT(TN_CAP_NAME);
            if (identifier(&p, &col)) {
                tn_buf_release(&col);
                rc = tn_fail(err, TN_EINPUT, "INSERT INTO: bad column list");
                goto out;
            }
            json_array_append_new(columns, json_string(col.buf));
            tn_buf_release(&col);
            p = skip_space(p);
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p == ')') {
                p++;
                break;
            }
            rc = tn_fail(err, TN_EINPUT, "INSERT INTO: bad column list");
            goto out;
        }
    }
    if ((rc = check_columns(t, columns, err)))
        goto out;
    /* the rows: a query of their own, matched to the columns by position */
    p = skip_space(p);
    {
        /* without a trailing semicolon the user may have typed, or a RETURNING list */
        size_t len = strlen(p), at;
        if (tn__returning_find(&toks, 0, &at) && toks.v[at].start >= (size_t)(p - toks.text)) {
            len = toks.v[at].start - (size_t)(p - toks.text);
            returning = tn__returning_list(&toks, at);
            if (!returning) {
                rc = tn_fail(err, TN_EINPUT, "RETURNING needs a list of expressions");
                goto out;
            }
        }
        while (len && (p[len - 1] == ';' || isspace((unsigned char)p[len - 1])))
            len--;
        tn_buf_addf(&source, NULL, "SELECT * FROM (%.*s) AS _tn_rows", (int)len, p);
    }
    rc = check_rows_select(s, source.buf, err);
    if (!rc)
        rc = tn_query_resolve(wh, s, source.buf, opt, &resolved, err);
    if (!rc)
        rc = check_value_count(s, t, resolved, columns, err);
    if (!rc) { /* the rows under the table's column names */
        struct tn_buf named = TN_BUF_INIT(TN_CAP_SQL);
        tn_buf_addf(&named, NULL, "SELECT * FROM (%s) AS _tn_rows(", resolved);
        for (size_t i = 0; i < json_array_size(columns); i++) {
            if (i)
                tn_buf_addstr(&named, ", ", NULL);
            tn_sql_ident(&named, json_string_value(json_array_get(columns, i)));
        }
        tn_buf_addstr(&named, ")", NULL);
        free(resolved);
        resolved = tn_buf_detach(&named, NULL);
    }
    if (!rc && returning) { /* the rows once, kept: what is written is what is returned */
        struct tn_buf alias = TN_BUF_INIT(TN_CAP_NAME);
        tn_sql_ident(&alias, res->table);
        rc = tn__returning_keep(s, resolved, returning, alias.buf, &res->returning, err);
        tn_buf_release(&alias);
        if (!rc) {
            free(resolved);
            resolved = tn_asprintf("SELECT * FROM %s", res->returning.temp);
        }
    }
    if (!rc) {
        struct tn_write_options wo = {.mode = TN_WRITE_APPEND, .branch = opt ? opt->branch : NULL};
        rc = tn_table_write(wh, s, res->ns, res->table, resolved, &wo, &res->commit, err);
    }
    if (rc)
        tn_returning_release(s, &res->returning);
out:
    tn_sql_tokens_release(&toks);
    tn_table_free(t);
    json_decref(columns);
    free(resolved);
    free(returning);
    tn_buf_release(&target);
    tn_buf_release(&source);
    return rc;
}
