/* returning.c - the RETURNING clause of INSERT, UPDATE and DELETE on tarn tables. The rows a
 * change writes (or removes) are kept in a temporary table of the statement's session before the
 * commit, and the commit writes exactly those; afterwards the caller reads the RETURNING list
 * over them. The list is the user's text, but what runs is DuckDB's parse of one SELECT of it
 * over that temporary table, checked to be nothing else, and deparsed. */
#include "table/table_int.h"

#include <stdlib.h>
#include <string.h>

int tn__returning_find(const struct tn_sql_tokens *t, size_t from, size_t *at)
{
    for (size_t i = from; i < t->n; i++)
        if (t->v[i].depth == 0 && tn_sql_tok_is(t, i, "RETURNING")) {
            *at = i;
            return 1;
        }
    return 0;
}

char *tn__returning_list(const struct tn_sql_tokens *t, size_t at)
{
    size_t end = t->n;

    while (end > at + 1 && tn_sql_tok_is(t, end - 1, ";"))
        end--;
    return end > at + 1 ? tn_sql_tok_span(t, at + 1, end) : NULL;
}

int tn__returning_keep(struct tn_session *s, const char *rows_sql, const char *list,
                       const char *alias_sql, struct tn_returning *out, struct tn_err *err)
{
    unsigned char random[6];
    char *q;
    json_t *tree = NULL, *node, *from;
    const char *ftype, *fname;
    int rc, ok;

    memset(out, 0, sizeof(*out));
    if (!list || !*list)
        return tn_fail(err, TN_EINPUT, "RETURNING needs a list of expressions (RETURNING *)");
    tn_random_bytes(random, sizeof(random));
    snprintf(out->temp, sizeof(out->temp), "_tn_returning_%02x%02x%02x%02x%02x%02x", random[0],
             random[1], random[2], random[3], random[4], random[5]);
    q = tn_asprintf("SELECT %s\nFROM %s AS %s", list, out->temp, alias_sql);
    tree = tn_query_parse(s, q, err);
    free(q);
    if (!tree)
        return err->code;
    node = json_object_get(json_array_get(json_object_get(tree, "statements"), 0), "node");
    from = json_object_get(node, "from_table");
    ftype = json_string_value(json_object_get(from, "type"));
    fname = json_string_value(json_object_get(from, "table_name"));
    ok = json_array_size(json_object_get(tree, "statements")) == 1 &&
         json_is_string(json_object_get(node, "type")) &&
         strcmp(json_string_value(json_object_get(node, "type")), "SELECT_NODE") == 0 && ftype &&
         strcmp(ftype, "BASE_TABLE") == 0 && fname && strcmp(fname, out->temp) == 0 &&
         json_is_null(json_object_get(node, "where_clause")) &&
         json_is_null(json_object_get(node, "having")) &&
         json_array_size(json_object_get(node, "group_expressions")) == 0 &&
         json_array_size(json_object_get(node, "modifiers")) == 0;
    if (!ok) {
        json_decref(tree);
        return tn_fail(err, TN_EINPUT,
                       "RETURNING takes a list of expressions over the changed rows (RETURNING "
                       "*, or RETURNING id, amount * 2 AS doubled)");
    }
    out->sql = tn_query_deparse(s, tree, err);
    json_decref(tree);
    if (!out->sql)
        return err->code;
    q = tn_asprintf("CREATE TEMP TABLE %s AS %s", out->temp, rows_sql);
    rc = tn_engine_exec(s, q, err);
    free(q);
    if (!rc) { /* the list must bind now, before the commit, not fail after it */
        struct tn_rows *r = NULL;
        q = tn_asprintf("DESCRIBE %s", out->sql);
        rc = tn_engine_rows(s, q, 100000, &r, err);
        free(q);
        tn_rows_free(r);
        if (rc) {
            tn_err_prefix(err, "RETURNING: ");
            q = tn_asprintf("DROP TABLE IF EXISTS %s", out->temp);
            tn_engine_exec(s, q, &(struct tn_err){0});
            free(q);
        }
    }
    if (rc) {
        free(out->sql);
        out->sql = NULL;
    }
    return rc;
}

void tn_returning_release(struct tn_session *s, struct tn_returning *r)
{
    if (r->sql) {
        struct tn_err ignored;
        char *q = tn_asprintf("DROP TABLE IF EXISTS %s", r->temp);
        tn_engine_exec(s, q, &ignored);
        free(q);
    }
    free(r->sql);
    memset(r, 0, sizeof(*r));
}
