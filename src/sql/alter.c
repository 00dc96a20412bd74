/* alter.c - ALTER TABLE statements on tarn tables, turned into metadata-only schema changes:
 *   ALTER TABLE t ADD [COLUMN] [IF NOT EXISTS] c TYPE [NOT NULL] [DEFAULT literal]
 *   ALTER TABLE t DROP [COLUMN] [IF EXISTS] c
 *   ALTER TABLE t RENAME [COLUMN] c TO d
 *   ALTER TABLE t ALTER [COLUMN] c [SET DATA] TYPE type
 *   ALTER TABLE t ALTER [COLUMN] c DROP NOT NULL
 *   ALTER TABLE t RENAME TO u
 *   ALTER TABLE t SET PARTITIONED BY (day(ts), bucket(16, id))   (partition evolution)
 *   ALTER TABLE t SET UNPARTITIONED   (or DuckDB's spelling, RESET PARTITIONED BY)
 *   ALTER TABLE t SET TBLPROPERTIES ('k' = 'v', ...)   (Spark's; one metadata commit)
 *   ALTER TABLE t UNSET TBLPROPERTIES [IF EXISTS] ('k', ...)
 * Column names may be dotted paths into structs (s.x) and double-quoted. Type names are
 * DuckDB's (INTEGER, BIGINT, DECIMAL(10,2), VARCHAR, STRUCT(...), ...): DuckDB itself
 * normalises them, and tn_type_from_duckdb maps them to Iceberg types. */
#include "table/table_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TOKEN_MAX 64

struct lexer {
    const char *p;
    char *tok[TOKEN_MAX]; /* tokens as text; quoted identifiers keep a leading '"' marker */
    int quoted[TOKEN_MAX];
    size_t n, i;
};

static void lex_release(struct lexer *lx)
{
    for (size_t i = 0; i < lx->n; i++)
        free(lx->tok[i]);
}

static int lex(struct lexer *lx, const char *sql, struct tn_err *err)
{
    const char *p = sql;

    while (*p) {
        struct tn_buf b = TN_BUF_INIT(TN_CAP_VALUE);
        int quoted = 0;

        if (isspace((unsigned char)*p) || *p == ';') {
            p++;
            continue;
        }
        if (lx->n == TOKEN_MAX)
            return tn_fail(err, TN_EINPUT, "ALTER TABLE statement is too long");
        if (*p == '"' || *p == '\'') {
            char q = *p++;
            quoted = q == '"' ? 1 : 2;
            while (*p && !(*p == q && p[1] != q)) {
                if (*p == q)
                    p++;
                tn_buf_add(&b, p++, 1, NULL);
            }
            if (*p != q) {
                tn_buf_release(&b);
                return tn_fail(err, TN_EINPUT, "unterminated quote in ALTER TABLE");
            }
            p++;
        } else if (strchr("(),.", *p)) {
            tn_buf_add(&b, p++, 1, NULL);
        } else {
            while (*p && !isspace((unsigned char)*p) && !strchr("(),.;\"'", *p))
                tn_buf_add(&b, p++, 1, NULL);
        }
        lx->quoted[lx->n] = quoted;
        lx->tok[lx->n++] = tn_buf_detach(&b, NULL);
    }
    return 0;
}

static const char *peek(const struct lexer *lx)
{
    return lx->i < lx->n ? lx->tok[lx->i] : "";
}

static int accept(struct lexer *lx, const char *word)
{
    if (lx->i < lx->n && !lx->quoted[lx->i] && strcasecmp(lx->tok[lx->i], word) == 0) {
        lx->i++;
        return 1;
    }
    return 0;
}

/* A possibly dotted name (a, "A b", s.x, ns.t) into "out". */
static int name(struct lexer *lx, struct tn_buf *out, struct tn_err *err)
{
    tn_buf_reset(out);
    for (;;) {
        if (lx->i >= lx->n || (!lx->quoted[lx->i] && strchr("(),.", lx->tok[lx->i][0])))
            return tn_fail(err, TN_EINPUT, "ALTER TABLE: expected a name at '%s'", peek(lx));
        tn_buf_addstr(out, lx->tok[lx->i], NULL);
        lx->i++;
        if (!accept(lx, "."))
            return 0;
        tn_buf_addstr(out, ".", NULL);
    }
}

/* The type tokens up to DEFAULT, NOT, or the end, normalised by DuckDB, as Iceberg type JSON. */
static int type_json(struct tn_session *s, struct lexer *lx, json_t **out, struct tn_err *err)
{
    struct tn_buf text = TN_BUF_INIT(TN_CAP_SQL_TYPE), q = TN_BUF_INIT(TN_CAP_VALUE);
    struct tn_rows *r = NULL;
    int depth = 0, next_id = 1, rc;

    while (lx->i < lx->n) {
        const char *t = lx->tok[lx->i];
        if (!depth && !lx->quoted[lx->i] &&
            (strcasecmp(t, "DEFAULT") == 0 || strcasecmp(t, "NOT") == 0))
            break;
        depth += strcmp(t, "(") == 0;
        depth -= strcmp(t, ")") == 0;
        if (lx->quoted[lx->i] == 1) {
            tn_sql_ident(&text, t);
        } else {
            for (const char *c = t; *c; c++)
                if (!isalnum((unsigned char)*c) && !strchr("_(),[]", *c))
                    return tn_fail(err, TN_EINPUT, "ALTER TABLE: '%s' is not part of a type", t);
            tn_buf_addf(&text, NULL, "%s ", t);
        }
        lx->i++;
    }
    if (!text.len)
        return tn_fail(err, TN_EINPUT, "ALTER TABLE: a type is missing");
    tn_buf_addf(&q, NULL, "DESCRIBE SELECT CAST(NULL AS %s) AS x", text.buf);
    rc = tn_engine_rows(s, q.buf, 1, &r, err);
    if (!rc)
        rc = tn_type_from_duckdb(tn_rows_get(r, 0, 1), &next_id, out, err);
    tn_rows_free(r);
    tn_buf_release(&text);
    tn_buf_release(&q);
    return rc;
}

static int literal_json(struct lexer *lx, json_t **out, struct tn_err *err)
{
    const char *t = peek(lx);
    int neg = 0;

    if (lx->i >= lx->n)
        return tn_fail(err, TN_EINPUT, "ALTER TABLE: DEFAULT needs a value");
    if (lx->quoted[lx->i] == 2) {
        *out = json_string(t);
    } else if (strcasecmp(t, "true") == 0 || strcasecmp(t, "false") == 0) {
        *out = json_boolean(strcasecmp(t, "true") == 0);
    } else {
        char *end;
        double d;
        if (t[0] == '-' && !t[1] && lx->i + 1 < lx->n) {
            lx->i++;
            t = peek(lx);
            neg = 1;
        }
        d = strtod(t, &end);
        if (*end)
            return tn_fail(err, TN_EINPUT, "ALTER TABLE: DEFAULT '%s' is not a literal", t);
        if (strchr(t, '.') || strchr(t, 'e') || strchr(t, 'E'))
            *out = json_real(neg ? -d : d);
        else
            *out = json_integer(neg ? -(json_int_t)d : (json_int_t)d);
    }
    lx->i++;
    return 0;
}

/* SET PARTITIONED BY (fields) or SET UNPARTITIONED, after "ALTER TABLE t SET". */
static int set_partitioning(struct tn_warehouse *wh, struct lexer *lx,
                            const struct tn_alter_result *res, struct tn_err *err)
{
    struct tn_buf spec = TN_BUF_INIT(TN_CAP_VALUE);
    int depth = 0, rc = 0;

    if (accept(lx, "UNPARTITIONED")) {
        if (lx->i != lx->n)
            return tn_fail(err, TN_EINPUT, "ALTER TABLE: unexpected '%s'", peek(lx));
        return tn_table_set_partitioning(wh, res->ns, res->table, NULL, NULL, err);
    }
    if (!(accept(lx, "PARTITIONED") && accept(lx, "BY") && accept(lx, "(")))
        return tn_fail(err, TN_EINPUT,
                       "ALTER TABLE: use SET PARTITIONED BY (day(ts), ...) or SET UNPARTITIONED");
    /* the tokens up to the closing parenthesis are the spec text */
    for (; lx->i < lx->n; lx->i++) {
        const char *t = lx->tok[lx->i];
        if (!lx->quoted[lx->i] && strcmp(t, ")") == 0 && depth-- == 0)
            break;
        if (!lx->quoted[lx->i] && strcmp(t, "(") == 0)
            depth++;
        if (lx->quoted[lx->i] == 2 || (lx->quoted[lx->i] && strpbrk(t, ",()"))) {
            rc = tn_fail(err, TN_EINPUT, "ALTER TABLE: '%s' cannot name a partition column", t);
            break;
        }
        tn_buf_addf(&spec, NULL, "%s ", t);
    }
    if (!rc && lx->i == lx->n)
        rc = tn_fail(err, TN_EINPUT, "ALTER TABLE: SET PARTITIONED BY needs a closing ')'");
    if (!rc && ++lx->i != lx->n)
        rc = tn_fail(err, TN_EINPUT, "ALTER TABLE: unexpected '%s'", peek(lx));
    if (!rc)
        rc = tn_table_set_partitioning(wh, res->ns, res->table, spec.len ? spec.buf : NULL, NULL,
                                       err);
    tn_buf_release(&spec);
    return rc;
}

/* The set-properties / remove-properties update of a TBLPROPERTIES clause, committed once. */
struct properties_ctx {
    json_t *set;     /* {"k": "v"} or NULL */
    json_t *removed; /* ["k"] or NULL */
    int if_exists;
};

static int properties_build(const struct tn_table *t, void *vctx, json_t *updates,
                            struct tn_err *err)
{
    const struct properties_ctx *c = vctx;
    json_t *now = json_object_get(t->meta->root, "properties");
    size_t i;
    json_t *k;

    if (c->set)
        json_array_append_new(
            updates, json_pack("{s:s, s:O}", "action", "set-properties", "updates", c->set));
    json_array_foreach(c->removed, i, k)
    {
        if (!json_object_get(now, json_string_value(k)) && !c->if_exists)
            return tn_fail(err, TN_ENOTFOUND,
                           "ALTER TABLE: table %s.%s has no property '%s' (UNSET TBLPROPERTIES IF "
                           "EXISTS skips missing ones)",
                           t->ns, t->name, json_string_value(k));
    }
    if (json_array_size(c->removed))
        json_array_append_new(updates, json_pack("{s:s, s:O}", "action", "remove-properties",
                                                 "removals", c->removed));
    return 0;
}

/* After SET or UNSET TBLPROPERTIES: ('k' = 'v', ...) or [IF EXISTS] ('k', ...). */
static int table_properties(struct tn_warehouse *wh, struct lexer *lx, int unset,
                            const struct tn_alter_result *res, struct tn_err *err)
{
    struct properties_ctx ctx = {NULL, NULL, 0};
    int rc = 0;

    if (unset && accept(lx, "IF")) {
        if (!accept(lx, "EXISTS"))
            return tn_fail(err, TN_EINPUT, "ALTER TABLE: expected IF EXISTS");
        ctx.if_exists = 1;
    }
    if (!accept(lx, "("))
        return tn_fail(err, TN_EINPUT, "ALTER TABLE: TBLPROPERTIES needs a list in parentheses");
    if (unset)
        ctx.removed = json_array();
    else
        ctx.set = json_object();
    while (!rc) {
        const char *k = peek(lx);
        if (lx->i >= lx->n || lx->quoted[lx->i] != 2 || !*k) {
            rc = tn_fail(err, TN_EINPUT,
                         unset ? "ALTER TABLE: UNSET TBLPROPERTIES takes ('key', ...)"
                               : "ALTER TABLE: SET TBLPROPERTIES takes ('key' = 'value', ...)");
            break;
        }
        lx->i++;
        if (unset) {
            json_array_append_new(ctx.removed, json_string(k));
        } else if (!accept(lx, "=") || lx->i >= lx->n || lx->quoted[lx->i] != 2) {
            rc = tn_fail(err, TN_EINPUT,
                         "ALTER TABLE: SET TBLPROPERTIES takes ('key' = 'value', ...)");
            break;
        } else {
            json_object_set_new(ctx.set, k, json_string(lx->tok[lx->i] ? lx->tok[lx->i] : ""));
            lx->i++;
        }
        if (accept(lx, ")"))
            break;
        if (!accept(lx, ","))
            rc = tn_fail(err, TN_EINPUT, "ALTER TABLE: expected ',' or ')' at '%s'", peek(lx));
    }
    if (!rc && lx->i != lx->n)
        rc = tn_fail(err, TN_EINPUT, "ALTER TABLE: unexpected '%s'", peek(lx));
    if (!rc)
        rc = tn__commit_metadata(wh, res->ns, res->table, properties_build, &ctx, err);
    json_decref(ctx.set);
    json_decref(ctx.removed);
    return rc;
}

int tn_table_alter(struct tn_warehouse *wh, struct tn_session *s, const char *sql,
                   struct tn_alter_result *res, struct tn_err *err)
{
    struct lexer lx = {0};
    struct tn_buf table = TN_BUF_INIT(TN_CAP_NAME), col = TN_BUF_INIT(TN_CAP_NAME),
                  other = TN_BUF_INIT(TN_CAP_NAME);
    struct tn_schema_change c;
    int rc, if_exists = 0;

    memset(&c, 0, sizeof(c));
    memset(res, 0, sizeof(*res));
    rc = lex(&lx, sql, err);
    if (!rc && !(accept(&lx, "ALTER") && accept(&lx, "TABLE")))
        rc = tn_fail(err, TN_EINPUT, "not an ALTER TABLE statement");
    if (!rc)
        rc = name(&lx, &table, err);
    if (!rc)
        rc = tn_ident_parse(table.buf, res->ns, res->table, err);
    if (rc)
        goto out;
    if (accept(&lx, "SET") || accept(&lx, "UNSET")) {
        int unset = strcasecmp(lx.tok[lx.i - 1], "UNSET") == 0;
        if (accept(&lx, "TBLPROPERTIES"))
            rc = table_properties(wh, &lx, unset, res, err);
        else if (unset)
            rc = tn_fail(err, TN_EINPUT, "ALTER TABLE: expected UNSET TBLPROPERTIES");
        else
            rc = set_partitioning(wh, &lx, res, err);
        goto out;
    }
    if (accept(&lx, "RESET")) {
        if (!(accept(&lx, "PARTITIONED") && accept(&lx, "BY")) || lx.i != lx.n)
            rc = tn_fail(err, TN_EINPUT, "ALTER TABLE: expected RESET PARTITIONED BY");
        else
            rc = tn_table_set_partitioning(wh, res->ns, res->table, NULL, NULL, err);
        goto out;
    }
    if (accept(&lx, "ADD")) {
        accept(&lx, "COLUMN");
        if (accept(&lx, "IF") && !(accept(&lx, "NOT") && accept(&lx, "EXISTS"))) {
            rc = tn_fail(err, TN_EINPUT, "ALTER TABLE: expected IF NOT EXISTS");
            goto out;
        }
        if_exists = lx.i > 0 && strcasecmp(lx.tok[lx.i - 1], "EXISTS") == 0;
        c.kind = TN_CHANGE_ADD;
        if ((rc = name(&lx, &col, err)) || (rc = type_json(s, &lx, &c.type, err)))
            goto out;
        while (!rc && lx.i < lx.n) {
            if (accept(&lx, "NOT") && accept(&lx, "NULL"))
                c.required = 1;
            else if (accept(&lx, "DEFAULT"))
                rc = literal_json(&lx, &c.default_value, err);
            else
                break;
        }
    } else if (accept(&lx, "DROP")) {
        accept(&lx, "COLUMN");
        if (accept(&lx, "IF")) {
            if (!accept(&lx, "EXISTS")) {
                rc = tn_fail(err, TN_EINPUT, "ALTER TABLE: expected IF EXISTS");
                goto out;
            }
            if_exists = 1;
        }
        c.kind = TN_CHANGE_DROP;
        rc = name(&lx, &col, err);
    } else if (accept(&lx, "RENAME")) {
        if (accept(&lx, "TO")) {
            rc = name(&lx, &other, err);
            if (!rc)
                rc = tn_ident_parse(other.buf, res->new_ns, res->new_table, err);
            if (!rc && lx.i != lx.n)
                rc = tn_fail(err, TN_EINPUT, "ALTER TABLE: unexpected '%s'", peek(&lx));
            if (!rc)
                rc = tn_catalog_rename(wh->catalog, res->ns, res->table, res->new_ns,
                                       res->new_table, err);
            res->renamed = !rc;
            goto out;
        }
        accept(&lx, "COLUMN");
        c.kind = TN_CHANGE_RENAME;
        if (!(rc = name(&lx, &col, err)) && !accept(&lx, "TO"))
            rc = tn_fail(err, TN_EINPUT, "ALTER TABLE: RENAME COLUMN needs TO");
        if (!rc)
            rc = name(&lx, &other, err);
        c.new_name = other.buf;
    } else if (accept(&lx, "ALTER")) {
        accept(&lx, "COLUMN");
        if ((rc = name(&lx, &col, err)))
            goto out;
        if (accept(&lx, "DROP") && accept(&lx, "NOT") && accept(&lx, "NULL")) {
            c.kind = TN_CHANGE_OPTIONAL;
        } else {
            accept(&lx, "SET");
            accept(&lx, "DATA");
            if (!accept(&lx, "TYPE")) {
                rc = tn_fail(err, TN_EINPUT, "ALTER TABLE: expected TYPE or DROP NOT NULL");
                goto out;
            }
            c.kind = TN_CHANGE_TYPE;
            rc = type_json(s, &lx, &c.type, err);
            if (!rc && !json_is_string(c.type))
                rc = tn_fail(err, TN_EINPUT, "only primitive columns can change type");
        }
    } else {
        rc = tn_fail(err, TN_EINPUT,
                     "ALTER TABLE supports ADD, DROP, RENAME [COLUMN], ALTER COLUMN ... TYPE, "
                     "ALTER COLUMN ... DROP NOT NULL, RENAME TO, SET PARTITIONED BY (...), "
                     "SET UNPARTITIONED and SET/UNSET TBLPROPERTIES (...)");
    }
    if (!rc && lx.i != lx.n)
        rc = tn_fail(err, TN_EINPUT, "ALTER TABLE: unexpected '%s'", peek(&lx));
    if (rc)
        goto out;
    c.column = col.buf;
    if (c.kind == TN_CHANGE_TYPE)
        rc = tn_table_alter_type(wh, s, res->ns, res->table, c.column, c.type, err);
    else
        rc = tn_table_evolve(wh, res->ns, res->table, &c, 1, err);
    if (if_exists && ((c.kind == TN_CHANGE_ADD && rc == TN_EEXISTS) ||
                      (c.kind == TN_CHANGE_DROP && rc == TN_ENOTFOUND)))
        rc = 0; /* IF [NOT] EXISTS: nothing to do */
out:
    json_decref(c.type);
    json_decref(c.default_value);
    tn_buf_release(&table);
    tn_buf_release(&col);
    tn_buf_release(&other);
    lex_release(&lx);
    return rc;
}
