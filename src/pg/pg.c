/* pg.c - PostgreSQL as a source (pg.h): connect with libpq, describe the source's columns from
 * its catalog, map each type to the nearest one Iceberg stores, COPY the rows out as CSV (or,
 * when a column is a list or a JSON struct, one JSON object per line) into a spool file inside one
 * REPEATABLE READ, READ ONLY transaction, and ingest that file through tn_table_ingest_opts (one
 * commit: create, overwrite, append or upsert).
 *
 * Types (the source's type -> the column's DuckDB type, stored as the Iceberg type):
 *   smallint, integer -> INTEGER (int); bigint, oid -> BIGINT (long); real -> FLOAT; double
 *   precision -> DOUBLE; numeric(p,s) -> DECIMAL(p,s); numeric without a precision ->
 *   DECIMAL(38,9) (values that need more digits are refused, 422); boolean -> BOOLEAN; text,
 *   varchar, char, name, enums, json, jsonb, and every other type -> VARCHAR (string, their
 *   text form); date, time, timestamp, timestamptz -> the same (timestamptz in UTC); uuid ->
 *   UUID; bytea -> BLOB (binary); arrays -> lists of their element's type; domains -> their base
 *   type. interval is refused naming the column. NaN in a numeric, and +-infinity dates and
 *   timestamps, cannot be stored: the row is refused (422) naming the column and the value.
 *
 * The values travel as JSON text: numerics and timestamps as strings (exact), integers,
 * floats and booleans as JSON values. Column names keep the source's, sanitised as ingest
 * does. */
#include "pg/pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"

#define PROGRESS_EVERY 100000
#define COLUMNS_MAX    1600 /* PostgreSQL's own limit on a table's columns */

/* How one source column travels: the PostgreSQL expression that renders it for JSON, the
 * DuckDB type read_json reads it as, and the DuckDB expression that turns that into the
 * stored value. */
struct column {
    char *name;
    char *pg_expr;       /* over the source row "q" */
    char *duck_type;     /* read_json's type for the JSON value */
    const char *duck_fn; /* a DuckDB function applied to read_json's column "cN", or NULL */
};

struct source {
    PGconn *conn;
    struct column *cols;
    size_t ncols;
    int csv; /* every column travels as CSV text (no lists, no JSON structs): the faster way */
};

/*---- Connection and errors ----*/

/* The first line of libpq's message, without its trailing newline. */
static const char *pg_message(const char *m, char *buf, size_t cap)
{
    size_t n = 0;

    while (m && m[n] && m[n] != '\n' && n + 1 < cap) {
        buf[n] = m[n];
        n++;
    }
    buf[n] = '\0';
    return buf;
}

static int upstream(struct tn_err *err, const char *what, const char *msg)
{
    char line[512];

    return tn_fail(err, TN_EUPSTREAM, "PostgreSQL: %s: %s", what,
                   pg_message(msg, line, sizeof(line)));
}

static int connect_source(const char *conninfo, PGconn **out, struct tn_err *err)
{
    PGconn *c;

    if (!conninfo || !*conninfo)
        return tn_fail(err, TN_EINPUT, "give the source as --from postgresql://USER@HOST:PORT/DB");
    c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        char where[300];
        snprintf(where, sizeof(where), "cannot connect to %s:%s/%s as %s",
                 PQhost(c) ? PQhost(c) : "?", PQport(c) ? PQport(c) : "?", PQdb(c) ? PQdb(c) : "?",
                 PQuser(c) ? PQuser(c) : "?");
        upstream(err, where, PQerrorMessage(c));
        PQfinish(c);
        return err->code;
    }
    *out = c;
    return 0;
}

/* Run "sql" expecting "want"; on anything else fail with the server's message. */
static int exec_expect(PGconn *c, const char *sql, ExecStatusType want, PGresult **out,
                       struct tn_err *err)
{
    PGresult *r = PQexec(c, sql);

    if (PQresultStatus(r) != want) {
        upstream(err, "the source refused a statement", PQresultErrorMessage(r));
        PQclear(r);
        return err->code;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return 0;
}

/*---- Types ----*/

struct pg_type {
    unsigned oid;
    char name[64];
    char kind;     /* typtype: b base, d domain, e enum, c composite, ... */
    char category; /* typcategory: A array, ... */
    unsigned base; /* a domain's base type */
    unsigned elem; /* an array's element type */
};

static int type_info(PGconn *c, unsigned oid, struct pg_type *t, struct tn_err *err)
{
    char param[16];
    const char *values[1] = {param};
    PGresult *r;

    snprintf(param, sizeof(param), "%u", oid);
    r = PQexecParams(c,
                     "SELECT typname, typtype, typcategory, typbasetype, typelem FROM "
                     "pg_catalog.pg_type WHERE oid = $1::oid",
                     1, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        upstream(err, "cannot read the source's type catalog", PQresultErrorMessage(r));
        PQclear(r);
        return err->code;
    }
    t->oid = oid;
    snprintf(t->name, sizeof(t->name), "%s", PQgetvalue(r, 0, 0));
    t->kind = PQgetvalue(r, 0, 1)[0];
    t->category = PQgetvalue(r, 0, 2)[0];
    t->base = (unsigned)strtoul(PQgetvalue(r, 0, 3), NULL, 10);
    t->elem = (unsigned)strtoul(PQgetvalue(r, 0, 4), NULL, 10);
    PQclear(r);
    return 0;
}

/* DuckDB's type for a scalar PostgreSQL type (by name), and whether its JSON value is a string
 * that DuckDB must cast (numerics and times travel as text). NULL: stored as its text. */
static const char *scalar_type(const char *name, int typmod, char *buf, size_t cap)
{
    static const char *const map[][2] = {
        {"int2", "INTEGER"},
        {"int4", "INTEGER"},
        {"int8", "BIGINT"},
        {"oid", "BIGINT"},
        {"float4", "FLOAT"},
        {"float8", "DOUBLE"},
        {"bool", "BOOLEAN"},
        {"date", "DATE"},
        {"time", "TIME"},
        {"timestamp", "TIMESTAMP"},
        {"timestamptz", "TIMESTAMPTZ"},
        {"uuid", "UUID"},
        {"bytea", "BLOB"},
    };

    if (strcmp(name, "numeric") == 0) {
        if (typmod >= 4) { /* ((precision << 16) | scale) + 4 */
            int p = ((typmod - 4) >> 16) & 0xffff, s = (typmod - 4) & 0x7ff;
            if (p >= 1 && p <= 38) {
                snprintf(buf, cap, "DECIMAL(%d,%d)", p, s);
                return buf;
            }
        }
        return "DECIMAL(38,9)";
    }
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(name, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

static char *quote_pg(PGconn *c, const char *name)
{
    char *q = PQescapeIdentifier(c, name, strlen(name));
    char *out = tn_strdup(q ? q : "\"?\"");

    PQfreemem(q);
    return out;
}

/* Describe source column "i" of "r" (a LIMIT 0 result) into "col". */
static int describe_column(PGconn *c, PGresult *r, int i, int json_struct, struct column *col,
                           struct tn_err *err)
{
    const char *name = PQfname(r, i);
    unsigned oid = PQftype(r, i);
    int typmod = PQfmod(r, i);
    char *qn = quote_pg(c, name), buf[32];
    struct pg_type t;
    const char *duck;
    int rc = type_info(c, oid, &t, err);

    for (int depth = 0; !rc && t.kind == 'd' && depth < 16; depth++) /* domains: their base */
        rc = type_info(c, t.base, &t, err);
    col->name = tn_strdup(name);
    if (rc)
        goto out;
    if (strcmp(t.name, "interval") == 0) {
        rc = tn_fail(err, TN_EINPUT,
                     "column \"%s\" is an interval, which Iceberg cannot store; select it as "
                     "a number in --source-query (e.g. extract(epoch FROM %s) AS %s)",
                     name, name, name);
        goto out;
    }
    if (t.category == 'A' && t.elem) {
        struct pg_type e;
        if ((rc = type_info(c, t.elem, &e, err)))
            goto out;
        for (int depth = 0; !rc && e.kind == 'd' && depth < 16; depth++)
            rc = type_info(c, e.base, &e, err);
        if (rc)
            goto out;
        duck = scalar_type(e.name, -1, buf, sizeof(buf));
        /* numbers, booleans: JSON arrays as they are; anything else as text elements */
        if (duck && (strcmp(duck, "INTEGER") == 0 || strcmp(duck, "BIGINT") == 0 ||
                     strcmp(duck, "FLOAT") == 0 || strcmp(duck, "DOUBLE") == 0 ||
                     strcmp(duck, "BOOLEAN") == 0)) {
            col->pg_expr = tn_asprintf("to_json(q.%s)", qn);
            col->duck_type = tn_asprintf("%s[]", duck);
        } else if (strcmp(e.name, "numeric") == 0) {
            col->pg_expr = tn_asprintf("to_json(q.%s)", qn);
            col->duck_type = tn_strdup("DOUBLE[]");
        } else {
            col->pg_expr = tn_asprintf("to_json(q.%s::text[])", qn);
            col->duck_type =
                tn_asprintf("%s[]", duck && strcmp(duck, "BLOB") != 0 ? duck : "VARCHAR");
        }
        goto out;
    }
    duck = scalar_type(t.name, typmod, buf, sizeof(buf));
    if (!duck && json_struct && (strcmp(t.name, "json") == 0 || strcmp(t.name, "jsonb") == 0)) {
        col->pg_expr = tn_asprintf("q.%s", qn); /* the JSON value itself */
        col->duck_type = NULL;                  /* DuckDB infers the struct from every row */
    } else if (!duck) {
        col->pg_expr = tn_asprintf("q.%s::text", qn);
        col->duck_type = tn_strdup("VARCHAR");
    } else if (strcmp(duck, "INTEGER") == 0 || strcmp(duck, "BIGINT") == 0 ||
               strcmp(duck, "BOOLEAN") == 0) {
        col->pg_expr = tn_asprintf("q.%s", qn);
        col->duck_type = tn_strdup(duck);
    } else if (strcmp(duck, "FLOAT") == 0 || strcmp(duck, "DOUBLE") == 0) {
        /* NaN and the infinities are not JSON numbers: they travel as text */
        col->pg_expr = tn_asprintf("q.%s::text", qn);
        col->duck_type = tn_strdup(duck);
    } else if (strcmp(t.name, "date") == 0 || strncmp(t.name, "timestamp", 9) == 0) {
        /* DuckDB would read "infinity", which Iceberg cannot store: say so in the value */
        col->pg_expr = tn_asprintf("CASE WHEN isfinite(q.%s) THEN q.%s::text ELSE q.%s::text || "
                                   "' (an infinite %s cannot be stored in Iceberg)' END",
                                   qn, qn, qn, t.name);
        col->duck_type = tn_strdup(duck);
    } else if (strcmp(duck, "BLOB") == 0) {
        col->pg_expr = tn_asprintf("encode(q.%s, 'hex')", qn);
        col->duck_type = tn_strdup("VARCHAR");
        col->duck_fn = "unhex";
    } else {
        col->pg_expr = tn_asprintf("q.%s::text", qn); /* numerics, times, uuids: exact text */
        col->duck_type = tn_strdup(duck);
    }
out:
    free(qn);
    return rc;
}

static void source_release(struct source *src)
{
    for (size_t i = 0; i < src->ncols; i++) {
        free(src->cols[i].name);
        free(src->cols[i].pg_expr);
        free(src->cols[i].duck_type);
    }
    free(src->cols);
    if (src->conn)
        PQfinish(src->conn);
    memset(src, 0, sizeof(*src));
}

/* The source's SELECT: the query as given, or every column of the table. */
static char *source_select(PGconn *c, const struct tn_pg_options *o, struct tn_err *err)
{
    const char *dot;
    char *schema, *table, *out, *part;

    if (!!o->source_table == !!o->source_query) {
        tn_fail(err, TN_EINPUT, "give --source-table SCHEMA.TABLE or --source-query 'SELECT ...'");
        return NULL;
    }
    if (o->source_query)
        return tn_strdup(o->source_query);
    dot = strchr(o->source_table, '.');
    if (!*o->source_table || (dot && (dot == o->source_table || !dot[1] || strchr(dot + 1, '.')))) {
        tn_fail(err, TN_EINPUT, "--source-table takes SCHEMA.TABLE or TABLE, not '%s'",
                o->source_table);
        return NULL;
    }
    part = dot ? tn_strndup(o->source_table, (size_t)(dot - o->source_table)) : NULL;
    schema = part ? quote_pg(c, part) : tn_strdup("public");
    free(part);
    table = quote_pg(c, dot ? dot + 1 : o->source_table);
    out = tn_asprintf("SELECT * FROM %s.%s", schema, table);
    free(schema);
    free(table);
    return out;
}

/* The primary key columns of the source table as "a,b" (caller frees), or NULL. */
static char *primary_key(PGconn *c, const struct tn_pg_options *o)
{
    const char *values[1] = {o->source_table};
    struct tn_buf b = TN_BUF_INIT(TN_CAP_SQL);
    PGresult *r;
    char *rel;

    if (!o->source_table)
        return NULL;
    rel = strchr(o->source_table, '.') ? tn_strdup(o->source_table)
                                       : tn_asprintf("public.%s", o->source_table);
    values[0] = rel;
    r = PQexecParams(c,
                     "SELECT a.attname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a "
                     "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indisprimary "
                     "AND i.indrelid = to_regclass($1) ORDER BY array_position(i.indkey, a.attnum)",
                     1, NULL, values, NULL, NULL, 0);
    for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++)
        tn_buf_addf(&b, NULL, "%s%s", i ? "," : "", PQgetvalue(r, i, 0));
    PQclear(r);
    free(rel);
    return b.len ? tn_buf_detach(&b, NULL) : (tn_buf_release(&b), NULL);
}

/*---- Reading ----*/

/* COPY the rows of "sql" out as one JSON object per line into "f". */
static int copy_out(PGconn *c, const struct source *src, const char *sql, const char *where,
                    FILE *f, const struct tn_pg_options *o, int64_t *rows, struct tn_err *err)
{
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    int64_t bytes = 0;
    char *line;
    int n, rc;

    if (src->csv) {
        /* plain CSV: NULL unquoted and empty, an empty string quoted */
        tn_buf_addstr(&q, "COPY (SELECT ", NULL);
        for (size_t i = 0; i < src->ncols; i++)
            tn_buf_addf(&q, NULL, "%s%s%s", i ? ", " : "", src->cols[i].pg_expr,
                        strcmp(src->cols[i].duck_type, "BOOLEAN") == 0 ? "::text" : "");
        tn_buf_addf(&q, NULL, " FROM (%s) q%s%s) TO STDOUT (FORMAT csv)", sql,
                    where ? " WHERE " : "", where ? where : "");
    } else {
        /* json_build_object over positional keys c0, c1, ...; CSV with a quote and a
         * delimiter that JSON text never holds raw, so the lines come out as written */
        tn_buf_addstr(&q, "COPY (SELECT json_build_object(", NULL);
        for (size_t i = 0; i < src->ncols; i++)
            tn_buf_addf(&q, NULL, "%s'c%zu', %s", i ? ", " : "", i, src->cols[i].pg_expr);
        tn_buf_addf(&q, NULL,
                    ") FROM (%s) q%s%s) TO STDOUT (FORMAT csv, QUOTE E'\\x01', "
                    "DELIMITER E'\\x02')",
                    sql, where ? " WHERE " : "", where ? where : "");
    }
    rc = exec_expect(c, q.buf, PGRES_COPY_OUT, NULL, err);
    tn_buf_release(&q);
    if (rc)
        return rc;
    *rows = 0;
    while ((n = PQgetCopyData(c, &line, 0)) > 0) {
        if (fwrite(line, 1, (size_t)n, f) != (size_t)n) {
            PQfreemem(line);
            return tn_fail(err, TN_EUNAVAILABLE, "cannot write the spool file: disk full?");
        }
        PQfreemem(line);
        bytes += n;
        if (++*rows % PROGRESS_EVERY == 0 && o->progress)
            o->progress(o->progress_arg, *rows, bytes, 0);
    }
    if (o->progress)
        o->progress(o->progress_arg, *rows, bytes, 1);
    if (n == -2)
        return upstream(err, "reading the rows failed", PQerrorMessage(c));
    {
        PGresult *r = PQgetResult(c);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            upstream(err, "reading the rows failed", PQresultErrorMessage(r));
            PQclear(r);
            return err->code;
        }
        PQclear(r);
        while ((r = PQgetResult(c)))
            PQclear(r);
    }
    return 0;
}

/* The DuckDB SELECT over the spool that names and types the columns as the source does. JSON
 * columns read as structs leave the types to DuckDB (sniffed over every row); the others are
 * then cast to theirs. */
static char *duck_select(const struct source *src, const char *spool)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_SQL);
    int infer = 0;

    for (size_t i = 0; i < src->ncols; i++)
        infer |= !src->cols[i].duck_type;
    tn_buf_addstr(&b, "SELECT ", NULL);
    for (size_t i = 0; i < src->ncols; i++) {
        const struct column *c = &src->cols[i];
        char col[24];
        snprintf(col, sizeof(col), "c%zu", i);
        if (i)
            tn_buf_addstr(&b, ", ", NULL);
        if (c->duck_fn)
            tn_buf_addf(&b, NULL, "%s(%s)", c->duck_fn, col);
        else if (infer && c->duck_type)
            tn_buf_addf(&b, NULL, "CAST(%s AS %s)", col, c->duck_type);
        else
            tn_buf_addstr(&b, col, NULL);
        tn_buf_addstr(&b, " AS ", NULL);
        tn_sql_ident(&b, c->name);
    }
    if (src->csv) {
        tn_buf_addstr(&b, " FROM read_csv(", NULL);
        tn_sql_string(&b, spool);
        tn_buf_addstr(&b,
                      ", header = false, delim = ',', quote = '\"', escape = '\"', "
                      "allow_quoted_nulls = false, max_line_size = 67108864, columns = {",
                      NULL);
        for (size_t i = 0; i < src->ncols; i++)
            tn_buf_addf(&b, NULL, "%s'c%zu': '%s'", i ? ", " : "", i, src->cols[i].duck_type);
        tn_buf_addstr(&b, "})", NULL);
        return tn_buf_detach(&b, NULL);
    }
    tn_buf_addstr(&b, " FROM read_json(", NULL);
    tn_sql_string(&b, spool);
    tn_buf_addstr(&b, ", format = 'newline_delimited', maximum_object_size = 67108864", NULL);
    if (infer) {
        tn_buf_addstr(&b, ", sample_size = -1)", NULL);
        return tn_buf_detach(&b, NULL);
    }
    tn_buf_addstr(&b, ", columns = {", NULL);
    for (size_t i = 0; i < src->ncols; i++)
        tn_buf_addf(&b, NULL, "%s'c%zu': '%s'", i ? ", " : "", i, src->cols[i].duck_type);
    tn_buf_addstr(&b, "})", NULL);
    return tn_buf_detach(&b, NULL);
}

/* The largest value of "column" among the spooled rows ("duck" reads them), as text, or NULL. */
static int spool_max(struct tn_session *s, const char *duck, const char *column, char **out,
                     struct tn_err *err)
{
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_rows *r = NULL;
    int rc;

    *out = NULL;
    tn_buf_addstr(&q, "SELECT CAST(max(", NULL);
    tn_sql_ident(&q, column);
    tn_buf_addf(&q, NULL, ") AS VARCHAR) FROM (%s)", duck);
    rc = tn_engine_rows(s, q.buf, 1, &r, err);
    if (!rc && r->nrows == 1 && tn_rows_get(r, 0, 0))
        *out = tn_strdup(tn_rows_get(r, 0, 0));
    tn_rows_free(r);
    tn_buf_release(&q);
    return rc;
}

/* The cursor value the last run committed with its rows (the table's properties
 * tarn.source.cursor-column and tarn.source.cursor), or NULL. */
static char *cursor_property(struct tn_warehouse *wh, const char *ns, const char *name,
                             const char *column)
{
    struct tn_table *t = NULL;
    struct tn_err ignored = {0};
    json_t *props;
    char *out = NULL;

    if (tn_table_load(wh, ns, name, &t, &ignored))
        return NULL;
    props = json_object_get(t->meta->root, "properties");
    if (json_string_value(json_object_get(props, "tarn.source.cursor-column")) &&
        strcmp(json_string_value(json_object_get(props, "tarn.source.cursor-column")), column) ==
            0 &&
        json_string_value(json_object_get(props, "tarn.source.cursor")))
        out = tn_strdup(json_string_value(json_object_get(props, "tarn.source.cursor")));
    tn_table_free(t);
    return out;
}

/* The largest value of "column" in ns.name now, as text (NULL when the table is empty). */
static int last_cursor(struct tn_warehouse *wh, struct tn_session *s, const char *ns,
                       const char *name, const char *column, char **out, struct tn_err *err)
{
    struct tn_query_options qo = {.snapshot_id = -1, .as_of_ms = -1, .target_snapshot = -1};
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    char *resolved = NULL, *sql;
    struct tn_rows *r = NULL;
    int rc;

    *out = NULL;
    tn_buf_addstr(&q, "SELECT CAST(max(", NULL);
    tn_sql_ident(&q, column);
    tn_buf_addstr(&q, ") AS VARCHAR) FROM ", NULL);
    tn_sql_ident(&q, ns);
    tn_buf_addstr(&q, ".", NULL);
    tn_sql_ident(&q, name);
    rc = tn_query_resolve(wh, s, q.buf, &qo, &resolved, err);
    tn_buf_release(&q);
    if (rc)
        return rc;
    sql = tn_asprintf("SELECT * FROM (%s)", resolved);
    rc = tn_engine_rows(s, sql, 1, &r, err);
    if (!rc && r->nrows == 1 && tn_rows_get(r, 0, 0))
        *out = tn_strdup(tn_rows_get(r, 0, 0));
    tn_rows_free(r);
    free(sql);
    free(resolved);
    return rc;
}

static int table_exists(struct tn_warehouse *wh, const char *ns, const char *name)
{
    struct tn_table *t = NULL;
    struct tn_err ignored = {0};
    int ok = !tn_table_load(wh, ns, name, &t, &ignored);

    tn_table_free(t);
    return ok;
}

/* The deletes pass: remove the rows of ns.name whose key the source no longer has. */
static int delete_missing(struct tn_warehouse *wh, struct tn_session *s, const char *ns,
                          const char *name, PGconn *c, const char *sql, const char *key,
                          const char *spool_dir, struct tn_pg_result *res, struct tn_err *err)
{
    struct source keys = {0};
    struct tn_buf dml = TN_BUF_INIT(TN_CAP_SQL);
    char *path = tn_asprintf("%s/pg-keys-XXXXXX", spool_dir), *list = tn_strdup(key), *save;
    struct tn_pg_options quiet = {0};
    struct tn_query_options qo = {.snapshot_id = -1, .as_of_ms = -1, .target_snapshot = -1};
    struct tn_dml_result dr;
    int fd = mkstemp(path), rc = 0;
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int64_t rows = 0;
    size_t k = 0;

    if (!f) {
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot create a spool file in %s", spool_dir);
        goto out;
    }
    keys.cols = tn_calloc(COLUMNS_MAX, sizeof(*keys.cols));
    for (char *part = strtok_r(list, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
        char *qn = quote_pg(c, part);
        keys.cols[k].name = tn_strdup(part);
        keys.cols[k].pg_expr = tn_asprintf("q.%s::text", qn);
        keys.cols[k].duck_type = tn_strdup("VARCHAR");
        free(qn);
        k++;
    }
    keys.ncols = k;
    rc = copy_out(c, &keys, sql, NULL, f, &quiet, &rows, err);
    if (fclose(f) && !rc)
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot write the spool file: disk full?");
    if (rc)
        goto out;
    tn_buf_addstr(&dml, "DELETE FROM ", NULL);
    tn_sql_ident(&dml, ns);
    tn_buf_addstr(&dml, ".", NULL);
    tn_sql_ident(&dml, name);
    tn_buf_addstr(&dml, " AS t WHERE NOT EXISTS (SELECT 1 FROM read_json(", NULL);
    tn_sql_string(&dml, path);
    tn_buf_addstr(&dml, ", format = 'newline_delimited', columns = {", NULL);
    for (size_t i = 0; i < k; i++)
        tn_buf_addf(&dml, NULL, "%s'c%zu': 'VARCHAR'", i ? ", " : "", i);
    tn_buf_addstr(&dml, "}) AS s WHERE ", NULL);
    for (size_t i = 0; i < k; i++) {
        char col[24];
        snprintf(col, sizeof(col), "c%zu", i);
        tn_buf_addf(&dml, NULL, "%ss.%s = CAST(t.", i ? " AND " : "", col);
        tn_sql_ident(&dml, keys.cols[i].name);
        tn_buf_addstr(&dml, " AS VARCHAR)", NULL);
    }
    tn_buf_addstr(&dml, ")", NULL);
    rc = tn_table_dml(wh, s, dml.buf, &qo, &dr, err);
    if (!rc) {
        res->rows_deleted = dr.rows_affected;
        res->delete_snapshot_id = dr.rows_affected ? dr.snapshot_id : -1;
    }
out:
    if (fd >= 0)
        unlink(path);
    keys.conn = NULL;
    source_release(&keys);
    tn_buf_release(&dml);
    free(list);
    free(path);
    return rc;
}

int tn_pg_mode_parse(const char *s)
{
    if (!s || strcmp(s, "full") == 0)
        return TN_PG_FULL;
    if (strcmp(s, "append") == 0)
        return TN_PG_APPEND;
    if (strcmp(s, "incremental") == 0)
        return TN_PG_INCREMENTAL;
    return -1;
}

int tn_pg_ingest(struct tn_warehouse *wh, struct tn_session *s, const char *ns, const char *name,
                 const struct tn_pg_options *o, struct tn_pg_result *res, struct tn_err *err)
{
    struct source src = {0};
    struct tn_ingest_options io = {.evolve = TN_EVOLVE_ADD};
    char *sql = NULL, *where = NULL, *spool = NULL, *duck = NULL, *key = NULL;
    json_t *props = NULL;
    PGresult *r = NULL;
    FILE *f = NULL;
    int fd = -1, rc, exists;
    double t0 = tn_monotonic_s();

    memset(res, 0, sizeof(*res));
    res->delete_snapshot_id = -1;
    if (o->mode == TN_PG_INCREMENTAL && (!o->cursor || !*o->cursor))
        return tn_fail(err, TN_EINPUT, "incremental mode needs --cursor COLUMN (e.g. updated_at)");
    if (o->deletes && o->mode != TN_PG_INCREMENTAL)
        return tn_fail(err, TN_EINPUT,
                       "--deletes is for incremental mode (full mode replaces every row)");
    rc = connect_source(o->conninfo, &src.conn, err);
    if (rc)
        return rc;
    if ((rc = exec_expect(src.conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                          PGRES_COMMAND_OK, NULL, err)) ||
        (rc = exec_expect(src.conn, "SET LOCAL TIME ZONE 'UTC'", PGRES_COMMAND_OK, NULL, err)) ||
        (rc = exec_expect(src.conn, "SET LOCAL DateStyle = 'ISO, YMD'", PGRES_COMMAND_OK, NULL,
                          err)) ||
        (rc = exec_expect(src.conn, "SET LOCAL IntervalStyle = 'iso_8601'", PGRES_COMMAND_OK, NULL,
                          err)) ||
        (rc = exec_expect(src.conn, "SET LOCAL extra_float_digits = 3", PGRES_COMMAND_OK, NULL,
                          err)))
        goto out;
    if (!(sql = source_select(src.conn, o, err))) {
        rc = err->code;
        goto out;
    }
    /* the columns, from a run that returns no row */
    {
        char *probe = tn_asprintf("SELECT * FROM (%s) q LIMIT 0", sql);
        rc = exec_expect(src.conn, probe, PGRES_TUPLES_OK, &r, err);
        free(probe);
        if (rc)
            goto out;
    }
    if (PQnfields(r) < 1 || PQnfields(r) > COLUMNS_MAX) {
        rc = tn_fail(err, TN_EINPUT, "the source has %d columns; tarn takes 1 to %d", PQnfields(r),
                     COLUMNS_MAX);
        goto out;
    }
    src.cols = tn_calloc((size_t)PQnfields(r), sizeof(*src.cols));
    for (int i = 0; !rc && i < PQnfields(r); i++, src.ncols++)
        rc = describe_column(src.conn, r, i, o->json_struct, &src.cols[i], err);
    if (rc)
        goto out;
    src.csv = 1;
    for (size_t i = 0; i < src.ncols; i++)
        if (!src.cols[i].duck_type || strchr(src.cols[i].duck_type, '['))
            src.csv = 0;
    key = o->key ? tn_strdup(o->key) : primary_key(src.conn, o);
    exists = table_exists(wh, ns, name);
    if (o->mode == TN_PG_INCREMENTAL) {
        char *lit;
        if (!key) {
            rc = tn_fail(err, TN_EINPUT,
                         "incremental mode upserts by a key: the source has no primary key, so "
                         "give --key COLUMN[,COLUMN]");
            goto out;
        }
        if (exists)
            res->cursor_value = cursor_property(wh, ns, name, o->cursor);
        if (exists && !res->cursor_value &&
            (rc = last_cursor(wh, s, ns, name, o->cursor, &res->cursor_value, err)))
            goto out;
        if (res->cursor_value) {
            /* at or past the last value: rows that share it and came later are not missed; the
             * ones seen already are upserted again, unchanged */
            char *col = quote_pg(src.conn, o->cursor);
            lit = PQescapeLiteral(src.conn, res->cursor_value, strlen(res->cursor_value));
            where = tn_asprintf("q.%s >= %s", col, lit ? lit : "NULL");
            PQfreemem(lit);
            free(col);
        }
    }
    /* spool the rows */
    spool = tn_asprintf("%s/pg-rows-XXXXXX", o->spool_dir ? o->spool_dir : ".");
    fd = mkstemp(spool);
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot create a spool file in %s",
                     o->spool_dir ? o->spool_dir : ".");
        goto out;
    }
    rc = copy_out(src.conn, &src, sql, where, f, o, &res->rows_read, err);
    if (fclose(f) && !rc)
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot write the spool file: disk full?");
    f = NULL;
    if (rc)
        goto out;
    /* one commit: create (with the key as identifier fields), overwrite, append or upsert */
    duck = duck_select(&src, spool);
    io.mode = o->mode == TN_PG_FULL && exists ? TN_WRITE_OVERWRITE : TN_WRITE_APPEND;
    /* a new table is created with its rows and the key as identifier fields; an existing one
     * is upserted into by an incremental run */
    io.upsert = key && exists && o->mode == TN_PG_INCREMENTAL;
    io.key = key;
    if (o->mode == TN_PG_INCREMENTAL) {
        /* the cursor the next run starts from, committed with these rows */
        char *next = NULL;
        if ((rc = spool_max(s, duck, o->cursor, &next, err)))
            goto out;
        if (next || res->cursor_value)
            props = json_pack("{s:s, s:s}", "tarn.source.cursor-column", o->cursor,
                              "tarn.source.cursor", next ? next : res->cursor_value);
        free(next);
        io.properties = props;
    }
    rc = tn_table_ingest_opts(wh, s, ns, name, duck, &io, &res->ingest, err);
    if (!rc && o->deletes)
        rc = delete_missing(wh, s, ns, name, src.conn, sql, key, o->spool_dir ? o->spool_dir : ".",
                            res, err);
    if (!rc)
        rc = exec_expect(src.conn, "COMMIT", PGRES_COMMAND_OK, NULL, err);
out:
    if (f)
        fclose(f);
    if (fd >= 0)
        unlink(spool);
    PQclear(r);
    source_release(&src);
    res->key = key;
    res->seconds = tn_monotonic_s() - t0;
    free(sql);
    free(where);
    free(spool);
    free(duck);
    json_decref(props);
    return rc;
}

void tn_pg_result_release(struct tn_pg_result *res)
{
    tn_ingest_result_release(&res->ingest);
    free(res->key);
    free(res->cursor_value);
    memset(res, 0, sizeof(*res));
}

json_t *tn_pg_result_json(const char *ns, const char *name, const struct tn_pg_result *res)
{
    char table[2 * TN_NAME_MAX + 2], id[24];

    snprintf(table, sizeof(table), "%s.%s", ns, name);
    snprintf(id, sizeof(id), "%lld", (long long)res->ingest.commit.snapshot_id);
    return json_pack(
        "{s:s, s:b, s:I, s:s, s:I, s:I, s:I, s:I, s:s?, s:s?, s:O?, s:f, s:f}", "table", table,
        "created", res->ingest.created, "snapshot_id", (json_int_t)res->ingest.commit.snapshot_id,
        "snapshot_id_str", id, "rows_read", (json_int_t)res->rows_read, "rows_added",
        (json_int_t)res->ingest.rows_inserted, "rows_updated", (json_int_t)res->ingest.rows_updated,
        "rows_deleted", (json_int_t)res->rows_deleted, "key", res->key, "cursor_from",
        res->cursor_value, "schema_changes", res->ingest.schema_changes, "elapsed_ms",
        res->seconds * 1000.0, "rows_per_s",
        res->seconds > 0 ? (double)res->rows_read / res->seconds : 0.0);
}

int tn_pg_list_tables(const char *conninfo, const char *schema, char ***out, size_t *n,
                      struct tn_err *err)
{
    const char *values[1] = {schema && *schema ? schema : "public"};
    PGconn *c = NULL;
    PGresult *r;
    int rc = connect_source(conninfo, &c, err);

    *out = NULL;
    *n = 0;
    if (rc)
        return rc;
    r = PQexecParams(c,
                     "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 "
                     "AND table_type = 'BASE TABLE' ORDER BY table_name",
                     1, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = upstream(err, "cannot list the schema's tables", PQresultErrorMessage(r));
    } else {
        *out = tn_calloc((size_t)PQntuples(r) + 1, sizeof(char *));
        for (int i = 0; i < PQntuples(r); i++)
            (*out)[(*n)++] = tn_strdup(PQgetvalue(r, i, 0));
    }
    PQclear(r);
    PQfinish(c);
    return rc;
}

void tn_pg_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
