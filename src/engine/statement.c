/* statement.c - reading users' SQL safely (see engine.h, "Statements"): a lexer that knows
 * DuckDB's comments (-- and nested block comments), strings ('' and E'' with backslashes),
 * dollar-quoted strings and quoted identifiers; the one classifier of a request's statement
 * that the HTTP API, the command line and the shell share; and the names tarn tables may not
 * take because DuckDB's own objects answer to them.
 *
 * The lexer only finds where things are. What tarn runs is always rebuilt from DuckDB's parse
 * tree or from tarn's own text, and goes through tn_engine_exec/tn_engine_rows, which run one
 * prepared statement of an allowed type; so a disagreement between this lexer and DuckDB's
 * parser can make a statement fail, never run something the user did not write as one
 * statement. */
#include "engine.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int word_start(unsigned char c)
{
    return isalpha(c) || c == '_' || c >= 0x80;
}

static int word_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

static void push(struct tn_sql_tokens *t, enum tn_sql_tok kind, size_t start, size_t end, int depth)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->v = tn_realloc(t->v, t->cap * sizeof(*t->v));
    }
    t->v[t->n++] = (struct tn_sql_token){kind, start, end - start, depth};
}

/* The end of a dollar-quote opening at "p" ($tag$ or $$), or NULL when "p" is not one. */
static const char *dollar_tag(const char *p)
{
    const char *q = p + 1;

    if (*q != '$' && !(isalpha((unsigned char)*q) || *q == '_'))
        return NULL;
    while (*q && *q != '$') {
        if (!isalnum((unsigned char)*q) && *q != '_')
            return NULL;
        q++;
    }
    return *q == '$' ? q + 1 : NULL;
}

int tn_sql_lex(const char *sql, struct tn_sql_tokens *out, struct tn_err *err)
{
    const char *p = sql;
    int depth = 0;

    memset(out, 0, sizeof(*out));
    out->text = tn_strdup(sql);
    while (*p) {
        const char *s = p;
        unsigned char c = (unsigned char)*p;

        if (isspace(c)) {
            p++;
        } else if (c == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                out->text[p++ - sql] = ' ';
        } else if (c == '/' && p[1] == '*') {
            int nest = 0;
            do {
                if (p[0] == '/' && p[1] == '*') {
                    nest++;
                    out->text[p - sql] = out->text[p - sql + 1] = ' ';
                    p += 2;
                } else if (p[0] == '*' && p[1] == '/') {
                    nest--;
                    out->text[p - sql] = out->text[p - sql + 1] = ' ';
                    p += 2;
                } else {
                    if (*p != '\n')
                        out->text[p - sql] = ' ';
                    p++;
                }
            } while (nest && *p);
            if (nest)
                goto unterminated;
        } else if (c == '\'' || ((c == 'E' || c == 'e') && p[1] == '\'')) {
            int backslash = c != '\'';
            p += backslash ? 2 : 1;
            for (;;) {
                if (!*p)
                    goto unterminated;
                if (backslash && *p == '\\' && p[1]) {
                    p += 2;
                } else if (*p == '\'' && p[1] == '\'') {
                    p += 2;
                } else if (*p == '\'') {
                    p++;
                    break;
                } else {
                    p++;
                }
            }
            push(out, TN_TOK_STRING, (size_t)(s - sql), (size_t)(p - sql), depth);
        } else if (c == '"') {
            p++;
            for (;;) {
                if (!*p)
                    goto unterminated;
                if (*p == '"' && p[1] == '"') {
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    p++;
                }
            }
            push(out, TN_TOK_IDENT, (size_t)(s - sql), (size_t)(p - sql), depth);
        } else if (c == '$' && dollar_tag(p)) {
            const char *body = dollar_tag(p), *end;
            size_t taglen = (size_t)(body - p);
            char *tag = tn_strndup(p, taglen);
            end = strstr(body, tag);
            free(tag);
            if (!end)
                goto unterminated;
            p = end + taglen;
            push(out, TN_TOK_STRING, (size_t)(s - sql), (size_t)(p - sql), depth);
        } else if (word_start(c)) {
            while (word_char((unsigned char)*p))
                p++;
            push(out, TN_TOK_WORD, (size_t)(s - sql), (size_t)(p - sql), depth);
        } else if (isdigit(c) || (c == '.' && isdigit((unsigned char)p[1]))) {
            while (isalnum((unsigned char)*p) || *p == '.' || *p == '_' ||
                   ((*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E')))
                p++;
            push(out, TN_TOK_NUMBER, (size_t)(s - sql), (size_t)(p - sql), depth);
        } else {
            if (c == ')' || c == ']' || c == '}')
                depth--;
            p++;
            push(out, TN_TOK_OP, (size_t)(s - sql), (size_t)(p - sql), depth);
            if (c == '(' || c == '[' || c == '{')
                depth++;
        }
    }
    return 0;
unterminated:
    tn_sql_tokens_release(out);
    return tn_fail(err, TN_EINPUT,
                   "the SQL text ends inside a quoted string, quoted name or comment: close it");
}

void tn_sql_tokens_release(struct tn_sql_tokens *t)
{
    free(t->v);
    free(t->text);
    memset(t, 0, sizeof(*t));
}

int tn_sql_tok_is(const struct tn_sql_tokens *t, size_t i, const char *word)
{
    const struct tn_sql_token *k;

    if (i >= t->n)
        return 0;
    k = &t->v[i];
    if (k->kind == TN_TOK_OP)
        return k->len == strlen(word) && memcmp(t->text + k->start, word, k->len) == 0;
    return k->kind == TN_TOK_WORD && k->len == strlen(word) &&
           strncasecmp(t->text + k->start, word, k->len) == 0;
}

char *tn_sql_tok_name(const struct tn_sql_tokens *t, size_t i)
{
    const struct tn_sql_token *k = &t->v[i];
    struct tn_buf b = TN_BUF_INIT(TN_CAP_SQL);

    if (k->kind == TN_TOK_WORD) {
        tn_buf_add(&b, t->text + k->start, k->len, NULL);
        for (size_t j = 0; j < b.len; j++)
            b.buf[j] = (char)tolower((unsigned char)b.buf[j]);
        return tn_buf_detach(&b, NULL);
    }
    if (k->kind != TN_TOK_IDENT)
        return NULL;
    for (size_t j = k->start + 1; j + 1 < k->start + k->len; j++) {
        tn_buf_add(&b, t->text + j, 1, NULL);
        if (t->text[j] == '"')
            j++;
    }
    if (!b.buf)
        tn_buf_addstr(&b, "", NULL);
    return tn_buf_detach(&b, NULL);
}

char *tn_sql_tok_span(const struct tn_sql_tokens *t, size_t from, size_t to)
{
    if (from >= to || from >= t->n)
        return tn_strdup("");
    if (to > t->n)
        to = t->n;
    return tn_strndup(t->text + t->v[from].start,
                      t->v[to - 1].start + t->v[to - 1].len - t->v[from].start);
}

char *tn_sql_quote_default(const struct tn_sql_tokens *t)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_SQL);
    size_t pos = 0;

    for (size_t i = 0; i < t->n; i++) {
        /* default.t, and SHOW TABLES FROM|IN default */
        if (tn_sql_tok_is(t, i, "default") &&
            (tn_sql_tok_is(t, i + 1, ".") ||
             (i >= 2 && (tn_sql_tok_is(t, i - 1, "FROM") || tn_sql_tok_is(t, i - 1, "IN")) &&
              tn_sql_tok_is(t, i - 2, "TABLES")))) {
            tn_buf_add(&b, t->text + pos, t->v[i].start - pos, NULL);
            tn_buf_addstr(&b, "\"default\"", NULL);
            pos = t->v[i].start + t->v[i].len;
        }
    }
    tn_buf_addstr(&b, t->text + pos, NULL);
    return tn_buf_detach(&b, NULL);
}

/*---- Classifying a request's statement ----*/

/* How many non-empty statements the ';' tokens separate; *first_end: where the first ends. */
static size_t count_statements(const struct tn_sql_tokens *t, size_t *first_end)
{
    size_t n = 0, start = 0;

    *first_end = t->n;
    for (size_t i = 0; i <= t->n; i++) {
        if (i < t->n && !tn_sql_tok_is(t, i, ";"))
            continue;
        if (i > start) {
            if (n == 0)
                *first_end = i;
            n++;
        }
        start = i + 1;
    }
    return n;
}

static int has_word(const struct tn_sql_tokens *t, size_t from, size_t to, const char *word)
{
    for (size_t i = from; i < to; i++)
        if (tn_sql_tok_is(t, i, word))
            return 1;
    return 0;
}

static const struct {
    const char *word;
    enum tn_stmt_kind kind;
} first_words[] = {
    {"INSERT", TN_STMT_INSERT}, {"UPDATE", TN_STMT_UPDATE}, {"DELETE", TN_STMT_DELETE},
    {"MERGE", TN_STMT_MERGE},   {"ALTER", TN_STMT_ALTER},   {"EXPLAIN", TN_STMT_EXPLAIN},
    {"CREATE", TN_STMT_CREATE}, {"DROP", TN_STMT_DROP},
};

int tn_statement_classify(struct tn_session *s, const char *sql, struct tn_statement *out,
                          struct tn_err *err)
{
    struct tn_sql_tokens t;
    size_t first_end, n, i = 0;
    char *text;
    int many;

    memset(out, 0, sizeof(*out));
    out->kind = TN_STMT_READ;
    out->body = sql;
    if (tn_sql_lex(sql, &t, err))
        return err->code;
    n = count_statements(&t, &first_end);
    if (n == 0) {
        tn_sql_tokens_release(&t);
        return tn_fail(err, TN_EINPUT, "no SQL statement given");
    }
    if (n > 1) {
        size_t next = first_end;
        while (next < t.n && tn_sql_tok_is(&t, next, ";"))
            next++;
        tn_fail(err, TN_EINPUT,
                "one statement per request: remove the ';' and what follows it (unexpected "
                "'%.*s' after ';')",
                (int)(t.v[next].len > 40 ? 40 : t.v[next].len), t.text + t.v[next].start);
        tn_sql_tokens_release(&t);
        return err->code;
    }
    /* the first keyword, past opening parentheses: ( SELECT ...) UNION ... */
    while (i < t.n && tn_sql_tok_is(&t, i, "("))
        i++;
    if (i < t.n && t.v[i].kind == TN_TOK_WORD) {
        size_t len = t.v[i].len < sizeof(out->keyword) - 1 ? t.v[i].len : sizeof(out->keyword) - 1;
        for (size_t k = 0; k < len; k++)
            out->keyword[k] = (char)toupper((unsigned char)t.text[t.v[i].start + k]);
        out->keyword[len] = '\0';
    }
    for (size_t k = 0; k < sizeof(first_words) / sizeof(first_words[0]); k++)
        if (i == 0 && strcmp(out->keyword, first_words[k].word) == 0)
            out->kind = first_words[k].kind;
    if (out->kind == TN_STMT_EXPLAIN) {
        size_t b = 1;
        if (tn_sql_tok_is(&t, 1, "ANALYZE")) {
            out->analyze = 1;
            b = 2;
        }
        if (b >= t.n) {
            tn_sql_tokens_release(&t);
            return tn_fail(err, TN_EINPUT, "EXPLAIN what? give a SELECT after it");
        }
        out->body = sql + t.v[b].start;
    }
    out->pivot = has_word(&t, 0, first_end, "PIVOT") || has_word(&t, 0, first_end, "PIVOT_WIDER");
    text = tn_sql_quote_default(&t);
    tn_sql_tokens_release(&t);
    /* DuckDB's own parser must see one statement as well (PIVOT without IN is DuckDB's own
     * expansion into more); ALTER, CREATE TABLE and DROP TABLE have tarn-only forms DuckDB cannot
     * parse (alter.c and ddl.c read them; a query inside is parsed again by DuckDB) */
    if (out->kind == TN_STMT_ALTER || out->kind == TN_STMT_CREATE || out->kind == TN_STMT_DROP) {
        free(text);
        return 0;
    }
    many = tn_engine_statement_count(s, text, err);
    free(text);
    if (many < 0)
        return err->code;
    if (many && !out->pivot)
        return tn_fail(err, TN_EINPUT,
                       "one statement per request: remove the ';' and what follows it");
    return 0;
}

/*---- Names DuckDB answers to ----*/

/* Schemas and catalogs: a namespace of that name would hide them, or be hidden. */
static const char *const reserved_namespaces[] = {
    "information_schema", "pg_catalog", "main", "temp", "system", "memory", NULL};

/* DuckDB's built-in views outside information_schema (duckdb_views() WHERE internal) and its
 * schema names: an unqualified table reference of these names means DuckDB's object (pg_catalog
 * is on the search path). Names starting with duckdb_ are refused whatever follows.
 * test_sql_safety.c checks this list against DuckDB's own. */
static const char *const reserved_tables[] = {"information_schema",
                                              "pg_catalog",
                                              "sqlite_master",
                                              "sqlite_schema",
                                              "sqlite_temp_master",
                                              "sqlite_temp_schema",
                                              "pragma_database_list",
                                              "pg_am",
                                              "pg_attrdef",
                                              "pg_attribute",
                                              "pg_class",
                                              "pg_constraint",
                                              "pg_database",
                                              "pg_depend",
                                              "pg_description",
                                              "pg_enum",
                                              "pg_index",
                                              "pg_indexes",
                                              "pg_namespace",
                                              "pg_prepared_statements",
                                              "pg_proc",
                                              "pg_sequence",
                                              "pg_sequences",
                                              "pg_settings",
                                              "pg_tables",
                                              "pg_tablespace",
                                              "pg_type",
                                              "pg_views",
                                              NULL};

int tn_sql_reserved_name(const char *ns, const char *table, struct tn_err *err)
{
    for (size_t i = 0; reserved_namespaces[i]; i++)
        if (ns && strcasecmp(ns, reserved_namespaces[i]) == 0)
            return tn_fail(err, TN_EINPUT,
                           "namespace name '%s' is DuckDB's own (a schema or catalog every query "
                           "sees); choose another name",
                           ns);
    if (strncasecmp(table, "duckdb_", 7) == 0)
        return tn_fail(err, TN_EINPUT,
                       "table name '%s' would shadow DuckDB's own duckdb_* views and functions; "
                       "choose a name that does not start with duckdb_",
                       table);
    if (strncasecmp(table, "_tn_", 4) == 0 || strncasecmp(table, "__tn_", 5) == 0)
        return tn_fail(err, TN_EINPUT,
                       "table name '%s' starts with _tn_, which tarn keeps for its own "
                       "temporary tables; choose another name",
                       table);
    for (size_t i = 0; reserved_tables[i]; i++)
        if (strcasecmp(table, reserved_tables[i]) == 0)
            return tn_fail(err, TN_EINPUT,
                           "table name '%s' would shadow DuckDB's own view or schema of that "
                           "name; choose another name",
                           table);
    return 0;
}
