/* commands.c - every command of the command line, each in two forms: on a local warehouse
 * (through the table layer) and, when --remote is given, on a running server (through
 * remote.c). Both forms print the same thing, so scripts need not care which is used. Table
 * names are checked here first in both forms, so a bad name never reaches disk or network. */
#include "cli/cli.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define PRINT_MAX_ROWS     1000000
#define PROGRESS_MIN_BYTES (8L * 1024 * 1024)

/*---- Interrupting: the shell's Ctrl-C cancels the statement running now ----*/

static pthread_mutex_t active_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tn_session *active; /* the local session running a statement, or NULL */
static atomic_int interrupted;

void cli_interrupt(void)
{
    pthread_mutex_lock(&active_mu);
    atomic_store(&interrupted, 1);
    if (active)
        tn_session_interrupt(active);
    pthread_mutex_unlock(&active_mu);
}

int cli_interrupted(void)
{
    return atomic_load(&interrupted);
}

void cli_interrupt_reset(void)
{
    atomic_store(&interrupted, 0);
}

/* A session of the local warehouse that cli_interrupt can cancel while it is open. */
static int session_open(struct tn_warehouse *wh, struct tn_session **out, struct tn_err *err)
{
    int rc = tn_session_open(wh->engine, out, err);

    if (!rc) {
        pthread_mutex_lock(&active_mu);
        active = *out;
        pthread_mutex_unlock(&active_mu);
    }
    return rc;
}

static void session_close(struct tn_session *s)
{
    pthread_mutex_lock(&active_mu);
    if (active == s)
        active = NULL;
    pthread_mutex_unlock(&active_mu);
    tn_session_close(s);
}

/*---- Helpers ----*/

/* Whether the first word of "sql" (past comments) is "word". */
static int starts_with_word(const char *sql, const char *word)
{
    struct tn_sql_tokens t;
    struct tn_err ignored;
    int yes;

    if (tn_sql_lex(sql, &t, &ignored))
        return 0;
    yes = tn_sql_tok_is(&t, 0, word);
    tn_sql_tokens_release(&t);
    return yes;
}

static int64_t json_i64_or(json_t *j, const char *key, int64_t dflt)
{
    json_t *v = json_object_get(j, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

/*---- sql ----*/

/* Stream the rows of "sql" (one text column per output column) to stdout. */
static int stream_rows(struct tn_session *s, const char *sql, enum cli_format f, struct tn_err *err)
{
    struct tn_stream *st = NULL;
    size_t n;
    int rc = tn_stream_open(s, sql, &st, err);

    if (rc)
        return rc;
    if (f == CLI_CSV) {
        for (size_t c = 0; c < tn_stream_ncols(st); c++) {
            if (c)
                putchar(',');
            cli_print_csv_cell(stdout, tn_stream_name(st, c), strlen(tn_stream_name(st, c)));
        }
        putchar('\n');
    }
    while (!(rc = tn_stream_next(st, &n, err)) && n > 0) {
        for (size_t i = 0; i < n; i++) {
            for (size_t c = 0; c < tn_stream_ncols(st); c++) {
                size_t len;
                const char *v = tn_stream_cell(st, i, c, &len);
                if (f == CLI_JSON) {
                    fwrite(v ? v : "null", 1, v ? len : 4, stdout);
                    continue;
                }
                if (c)
                    putchar(',');
                cli_print_csv_cell(stdout, v, len);
            }
            putchar('\n');
        }
    }
    tn_stream_close(st);
    return rc;
}

/* Stream the result of "sql" to stdout as an Arrow IPC stream, a batch per DuckDB chunk. */
static int stream_arrow(struct tn_session *s, const char *sql, struct tn_err *err)
{
    struct tn_buf out = TN_BUF_INIT(TN_CAP_RESULT);
    struct tn_stream *st = NULL;
    size_t n = 0;
    int rc = tn_stream_open(s, sql, &st, err);

    if (!rc)
        rc = tn_stream_arrow_schema(st, &out, err);
    while (!rc) {
        if (out.len && fwrite(out.buf, 1, out.len, stdout) != out.len) {
            rc = tn_fail(err, TN_EINTERNAL, "cannot write the result: %s", strerror(errno));
            break;
        }
        tn_buf_reset(&out);
        rc = tn_stream_next(st, &n, err);
        if (rc || n == 0)
            break;
        rc = tn_stream_arrow_batch(st, &out, err);
    }
    if (!rc) {
        tn_stream_arrow_end(&out);
        if (fwrite(out.buf, 1, out.len, stdout) != out.len || fflush(stdout))
            rc = tn_fail(err, TN_EINTERNAL, "cannot write the result: %s", strerror(errno));
    }
    tn_buf_release(&out);
    tn_stream_close(st);
    return rc;
}

static int local_print(struct tn_session *s, const char *resolved, enum cli_format f,
                       struct tn_err *err)
{
    struct tn_rows *r = NULL;
    char *q;
    int rc;

    if (f == CLI_ARROW) {
        q = tn_asprintf("SELECT * FROM (%s) _t", resolved);
        rc = stream_arrow(s, q, err);
    } else if (f == CLI_JSON) {
        q = tn_asprintf("SELECT CAST(to_json(_tn_row) AS VARCHAR) FROM (%s) _tn_row", resolved);
        rc = stream_rows(s, q, f, err);
    } else if (f == CLI_CSV) {
        /* DuckDB renders every type as text itself (its C value API cannot for some) */
        q = tn_asprintf("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (%s) _tn_row", resolved);
        rc = stream_rows(s, q, f, err);
    } else {
        q = tn_asprintf("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (%s) _tn_row", resolved);
        rc = tn_engine_rows(s, q, PRINT_MAX_ROWS, &r, err);
        if (rc == TN_ETOOBIG)
            tn_fail(err, TN_ETOOBIG,
                    "more than %d rows to show as a table; add a LIMIT or use --format csv",
                    PRINT_MAX_ROWS);
        if (!rc)
            cli_print_table(stdout, r);
        tn_rows_free(r);
    }
    free(q);
    return rc;
}

/* EXPLAIN [ANALYZE] of st->body: tarn's planning counts for each table, then DuckDB's plan. */
static int local_explain(struct tn_warehouse *wh, struct tn_session *s,
                         const struct tn_statement *st, struct tn_query_options *qo,
                         struct tn_err *err)
{
    struct tn_rows *r = NULL;
    char *resolved = NULL, *q;
    json_t *entry;
    size_t i;
    int rc;

    qo->plan = json_array();
    rc = tn_query_resolve(wh, s, st->body, qo, &resolved, err);
    json_array_foreach(qo->plan, i, entry)
    {
        char *line = tn_plan_describe(entry);
        printf("tarn scan %s\n", line);
        free(line);
    }
    json_decref(qo->plan);
    qo->plan = NULL;
    if (rc)
        return rc;
    q = tn_asprintf("%s %s", st->analyze ? "EXPLAIN ANALYZE" : "EXPLAIN", resolved);
    rc = tn_engine_rows(s, q, 10000, &r, err);
    for (size_t k = 0; !rc && k < r->nrows; k++)
        printf("%s\n", tn_rows_get(r, k, r->ncols - 1) ? tn_rows_get(r, k, r->ncols - 1) : "");
    tn_rows_free(r);
    free(q);
    free(resolved);
    return rc;
}

static int local_sql(struct cli *c, const char *sql, enum cli_format f, const struct cli_query *cq,
                     struct tn_err *err)
{
    struct tn_warehouse *wh;
    struct tn_session *s = NULL;
    struct tn_query_options qo = {.snapshot_id = cq ? cq->snapshot_id : -1,
                                  .as_of_ms = -1,
                                  .target_snapshot = -1,
                                  .branch = c->o.branch};
    struct tn_statement st;
    char *resolved = NULL;
    int rc = cli_warehouse(c, &wh, err);

    if (!rc)
        rc = session_open(wh, &s, err);
    if (rc)
        return rc;
    if (cq && cq->as_of)
        rc = tn_engine_timestamp_ms(s, cq->as_of, &qo.as_of_ms, err);
    if (rc)
        goto out;
    rc = tn_statement_classify(s, sql, &st, err);
    if (rc)
        goto out;
    if (st.kind == TN_STMT_ALTER) {
        struct tn_alter_result ar;
        rc = tn_write_check_travel(&qo, "ALTER TABLE", err);
        if (!rc)
            rc = tn_table_alter(wh, s, sql, &ar, err);
        if (!rc)
            printf("altered %s.%s\n", ar.renamed ? ar.new_ns : ar.ns,
                   ar.renamed ? ar.new_table : ar.table);
        goto out;
    }
    if (st.kind == TN_STMT_INSERT) {
        struct tn_insert_result ir;
        rc = tn_table_insert(wh, s, sql, &qo, &ir, err);
        if (!rc)
            printf("%s.%s: inserted %lld rows, snapshot %lld\n", ir.ns, ir.table,
                   (long long)ir.commit.rows_added, (long long)ir.commit.snapshot_id);
        goto out;
    }
    if (st.kind == TN_STMT_DELETE || st.kind == TN_STMT_UPDATE || st.kind == TN_STMT_MERGE) {
        struct tn_dml_result dr;
        rc = tn_table_dml(wh, s, sql, &qo, &dr, err);
        if (!rc)
            printf("%s.%s: %lld rows affected, snapshot %lld\n", dr.ns, dr.table,
                   (long long)dr.rows_affected, (long long)dr.snapshot_id);
        goto out;
    }
    if (st.kind == TN_STMT_EXPLAIN) {
        rc = local_explain(wh, s, &st, &qo, err);
        goto out;
    }
    rc = tn_query_resolve(wh, s, sql, &qo, &resolved, err);
    if (rc && st.pivot && strstr(err->msg, "Only SELECT statements can be serialized"))
        rc = tn_fail(err, TN_EINPUT,
                     "a PIVOT without IN inside a subquery or WITH is not one statement for "
                     "DuckDB: list the values (ON col IN ('a', 'b')) or make the PIVOT the "
                     "statement itself");
    else if (rc && strstr(err->msg, "Only SELECT statements can be serialized"))
        rc = tn_fail(err, TN_EFORBIDDEN,
                     "%s statements are refused: tarn runs reads (SELECT, WITH, VALUES, FROM, "
                     "PIVOT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN) and INSERT, UPDATE, DELETE, "
                     "MERGE, ALTER TABLE on tarn tables",
                     *st.keyword ? st.keyword : "these");
    if (!rc && getenv("TARN_TRACE_SQL"))
        fprintf(stderr, "%s\n", resolved);
    if (!rc)
        rc = local_print(s, resolved, f, err);
out:
    free(resolved);
    session_close(s);
    return rc;
}

/* A JSON answer to a statement that returns no rows (INSERT and the like). */
static void print_dml(json_t *j)
{
    json_t *n = json_object_get(j, "rows_affected");
    json_t *snap = json_object_get(j, "snapshot_id");

    if (json_is_integer(n)) {
        printf("%lld rows affected", (long long)json_integer_value(n));
        if (json_is_integer(snap))
            printf(", snapshot %lld", (long long)json_integer_value(snap));
        putchar('\n');
    } else {
        char *text = json_dumps(j, JSON_COMPACT);
        printf("%s\n", text ? text : "{}");
        free(text);
    }
}

static int remote_sql(struct cli *c, const char *sql, enum cli_format f, const struct cli_query *cq,
                      struct tn_err *err)
{
    struct tn_buf buf = TN_BUF_INIT(TN_CAP_RESPONSE);
    struct tn_rows *r = NULL;
    json_t *j = NULL;
    int rc;

    if (f == CLI_TABLE) {
        rc = cli_remote_query(c->remote, sql, "csv", cq, NULL, &buf, &j, err);
        if (!rc && !j)
            rc = cli_rows_from_csv(buf.buf ? buf.buf : "", buf.len, &r, err);
        if (!rc && r)
            cli_print_table(stdout, r);
    } else {
        rc = cli_remote_query(c->remote, sql,
                              f == CLI_CSV     ? "csv"
                              : f == CLI_ARROW ? "arrow"
                                               : "ndjson",
                              cq, stdout, NULL, &j, err);
    }
    if (!rc && j)
        print_dml(j);
    fflush(stdout);
    json_decref(j);
    tn_rows_free(r);
    tn_buf_release(&buf);
    return rc;
}

int cli_sql(struct cli *c, const char *sql, enum cli_format f, const struct cli_query *q,
            struct tn_err *err)
{
    char *explained = NULL;
    int rc;

    if (q && q->snapshot_id != -1 && q->as_of)
        return tn_fail(err, TN_EINPUT, "give --snapshot or --as-of, not both");
    if (f == CLI_ARROW && isatty(STDOUT_FILENO))
        return tn_fail(err, TN_EINPUT,
                       "Arrow output is binary: redirect it to a file or a pipe (> result.arrows)");
    if (c->o.explain && !starts_with_word(sql, "EXPLAIN"))
        sql = explained = tn_asprintf("EXPLAIN %s", sql);
    rc = c->remote ? remote_sql(c, sql, f, q, err) : local_sql(c, sql, f, q, err);
    free(explained);
    return rc;
}

int cli_query_rows(struct cli *c, const char *sql, struct tn_rows **out, struct tn_err *err)
{
    struct tn_warehouse *wh;
    struct tn_session *s = NULL;
    struct tn_query_options qo = {.snapshot_id = -1, .as_of_ms = -1};
    char *resolved = NULL, *q = NULL;
    int rc;

    if (c->remote) {
        struct tn_buf buf = TN_BUF_INIT(TN_CAP_RESPONSE);
        json_t *j = NULL;
        rc = cli_remote_query(c->remote, sql, "csv", NULL, NULL, &buf, &j, err);
        if (!rc && j)
            rc = tn_fail(err, TN_EINPUT, "the statement returned no rows");
        if (!rc)
            rc = cli_rows_from_csv(buf.buf ? buf.buf : "", buf.len, out, err);
        json_decref(j);
        tn_buf_release(&buf);
        return rc;
    }
    rc = cli_warehouse(c, &wh, err);
    if (!rc)
        rc = session_open(wh, &s, err);
    if (!rc)
        rc = tn_query_resolve(wh, s, sql, &qo, &resolved, err);
    if (!rc) {
        q = tn_asprintf("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (%s) _tn_row", resolved);
        rc = tn_engine_rows(s, q, PRINT_MAX_ROWS, out, err);
    }
    free(q);
    free(resolved);
    session_close(s);
    return rc;
}

/*---- ingest ----*/

/* The format --format names, else the one the file's name says (TN_SOURCE_DETECT: the
 * reader looks at its first bytes). */
static int input_format(const char *path, const char *given, enum tn_source_format *out,
                        struct tn_err *err)
{
    if (!given) {
        *out = tn_source_format_from_name(path);
        return 0;
    }
    if (strcasecmp(given, "csv") == 0 || strcasecmp(given, "tsv") == 0)
        *out = TN_SOURCE_CSV;
    else if (strcasecmp(given, "json") == 0)
        *out = TN_SOURCE_JSON;
    else if (strcasecmp(given, "ndjson") == 0 || strcasecmp(given, "jsonl") == 0)
        *out = TN_SOURCE_NDJSON;
    else if (strcasecmp(given, "parquet") == 0)
        *out = TN_SOURCE_PARQUET;
    else
        return tn_fail(err, TN_EINPUT,
                       "--format of ingest must be csv, json, ndjson or parquet, not '%s'", given);
    return 0;
}

static int local_ingest(struct cli *c, const char *ns, const char *name, const char *path,
                        uint64_t size, enum tn_source_format fmt,
                        const struct tn_ingest_options *in, struct tn_err *err)
{
    struct tn_ingest_options opt = *in;
    struct tn_source src = {0};
    struct tn_ingest_result res;
    struct tn_session *s = NULL;
    struct tn_warehouse *wh;
    struct cli_progress *p = NULL;
    double t0 = tn_monotonic_s();
    char *temp_dir = NULL;
    int rc;

    if (c->o.evolve && strcmp(c->o.evolve, "strict") == 0)
        opt.evolve = TN_EVOLVE_STRICT;
    else if (c->o.evolve && strcmp(c->o.evolve, "add") != 0)
        return tn_fail(err, TN_EINPUT, "--evolve must be add or strict");
    cli_allow_dir_of(c, path);
    rc = cli_warehouse(c, &wh, err);
    if (!rc)
        rc = session_open(wh, &s, err);
    if (rc)
        return rc;
    src.format = fmt;
    src.name = path;
    src.header = -1;
    src.max_decompressed = c->o.max_decompressed;
    src.temp_dir = temp_dir = tn_asprintf("%s/.tmp", tn_storage_root_path(wh->storage));
    if (c->progress == 2 || (c->progress && size >= PROGRESS_MIN_BYTES))
        p = cli_progress_start(path, size, 1, c->progress == 2 ? 0 : 0.5);
    rc = tn_source_open(wh->engine, s, path, &src, err);
    if (!rc)
        rc = tn_source_ingest(wh, s, ns, name, path, &src, &opt, &res, err);
    cli_progress_stop(p);
    if (!rc) {
        cli_print_ingest(ns, name, res.created, opt.upsert, res.commit.rows_added, res.rows_updated,
                         res.commit.files_added, res.commit.snapshot_id, res.commit.sequence_number,
                         tn_monotonic_s() - t0);
        tn_ingest_result_release(&res);
    }
    tn_source_release(&src);
    free(temp_dir);
    session_close(s);
    return rc;
}

/* Append "&key=value" to a URL, percent-encoding the value. */
void cli_url_param(struct tn_buf *u, const char *key, const char *value)
{
    tn_buf_addf(u, NULL, "&%s=", key);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (isalnum(*p) || *p == '_' || *p == '-' || *p == '.')
            tn_buf_add(u, p, 1, NULL);
        else
            tn_buf_addf(u, NULL, "%%%02X", *p);
    }
}

static int remote_ingest(struct cli *c, const char *ns, const char *name, const char *path,
                         uint64_t size, enum tn_source_format fmt,
                         const struct tn_ingest_options *in, struct tn_err *err)
{
    static const char *const types[] = {"application/octet-stream", "text/csv", "application/json",
                                        "application/x-ndjson", "application/vnd.apache.parquet"};
    static const char *const names[] = {NULL, "csv", "json", "ndjson", "parquet"};
    struct cli_progress *p = NULL;
    double t0 = tn_monotonic_s();
    json_t *j = NULL;
    char *url;
    int rc;

    if (in->key && strspn(in->key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789_,") != strlen(in->key))
        return tn_fail(err, TN_EINPUT, "--key takes column names separated by commas");
    {
        struct tn_buf u = TN_BUF_INIT(TN_CAP_VALUE);
        tn_buf_addf(&u, NULL, "/ingest/%s.%s?mode=%s", ns, name,
                    in->upsert                       ? "upsert"
                    : in->mode == TN_WRITE_OVERWRITE ? "overwrite"
                                                     : "append");
        if (c->o.format)
            tn_buf_addf(&u, NULL, "&format=%s", names[fmt]);
        if (in->key)
            tn_buf_addf(&u, NULL, "&key=%s", in->key);
        if (in->dedupe_last)
            tn_buf_addstr(&u, "&dedupe=last", NULL);
        if (in->branch)
            cli_url_param(&u, "branch", in->branch);
        if (c->o.evolve)
            cli_url_param(&u, "evolve", c->o.evolve);
        if (in->partition_by)
            cli_url_param(&u, "partition_by", in->partition_by);
        if (in->types)
            cli_url_param(&u, "types", in->types);
        url = tn_buf_detach(&u, NULL);
    }
    if (c->progress == 2 || (c->progress && size >= PROGRESS_MIN_BYTES))
        p = cli_progress_start(path, size, 0, c->progress == 2 ? 0 : 0.5);
    rc = cli_remote_upload(c->remote, url, path, types[fmt], p, &j, err);
    cli_progress_stop(p);
    if (!rc)
        cli_print_ingest(ns, name, json_is_true(json_object_get(j, "created")), in->upsert,
                         json_i64_or(j, "rows_added", 0), json_i64_or(j, "rows_updated", 0),
                         json_i64_or(j, "files_added", 0), json_i64_or(j, "snapshot_id", -1),
                         json_i64_or(j, "sequence_number", -1), tn_monotonic_s() - t0);
    json_decref(j);
    free(url);
    return rc;
}

int cli_ingest(struct cli *c, const char *ident, const char *file, const char *mode,
               struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_ingest_options opt = {.mode = TN_WRITE_APPEND, .evolve = TN_EVOLVE_ADD};
    enum tn_source_format fmt = TN_SOURCE_DETECT;
    struct stat sb;
    char *path = NULL;
    int rc;

    if (mode && strcmp(mode, "overwrite") == 0)
        opt.mode = TN_WRITE_OVERWRITE;
    else if (mode && strcmp(mode, "upsert") == 0)
        opt.upsert = 1;
    else if (mode && strcmp(mode, "append") != 0)
        return tn_fail(err, TN_EINPUT, "--mode must be append, overwrite or upsert, not '%s'",
                       mode);
    if ((c->o.key || c->o.dedupe_last) && !opt.upsert)
        return tn_fail(err, TN_EINPUT, "--key and --dedupe go with --mode upsert");
    opt.key = c->o.key;
    opt.dedupe_last = c->o.dedupe_last;
    opt.partition_by = c->o.partition_by;
    opt.types = c->o.types;
    opt.branch = c->o.branch;
    rc = tn_ident_parse(ident, ns, name, err);
    if (rc)
        return rc;
    path = realpath(file, NULL);
    if (!path || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        free(path);
        return tn_fail(err, TN_EINPUT, "cannot open %s: no such file", file);
    }
    if (sb.st_size == 0) {
        free(path);
        return tn_fail(err, TN_EINPUT, "%s is empty: there is nothing to load", file);
    }
    rc = input_format(path, c->o.format, &fmt, err);
    if (!rc)
        rc = c->remote ? remote_ingest(c, ns, name, path, (uint64_t)sb.st_size, fmt, &opt, err)
                       : local_ingest(c, ns, name, path, (uint64_t)sb.st_size, fmt, &opt, err);
    free(path);
    return rc;
}

/*---- tables, describe, history ----*/

int cli_tables(struct cli *c, struct tn_err *err)
{
    struct tn_catalog_entry *e = NULL;
    struct tn_warehouse *wh;
    size_t n = 0;
    int rc;

    if (c->remote) {
        json_t *j = NULL, *t;
        size_t i;
        rc = cli_remote_json(c->remote, "GET", "/tables", NULL, &j, err);
        if (rc)
            return rc;
        json_array_foreach(json_object_get(j, "tables"), i, t)
        {
            printf("%s.%s\n", json_string_value(json_object_get(t, "namespace")),
                   json_string_value(json_object_get(t, "name")));
        }
        json_decref(j);
        return 0;
    }
    rc = cli_warehouse(c, &wh, err);
    if (!rc)
        rc = tn_catalog_list(wh->catalog, NULL, &e, &n, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        printf("%s.%s\n", e[i].ns, e[i].table);
    tn_catalog_entries_free(e, n);
    return 0;
}

/* GET "/tables/ns.name" + suffix. */
static int remote_table(struct cli *c, const char *ns, const char *name, const char *suffix,
                        json_t **out, struct tn_err *err)
{
    char *url = tn_asprintf("/tables/%s.%s%s", ns, name, suffix);
    int rc = cli_remote_json(c->remote, "GET", url, NULL, out, err);

    free(url);
    return rc;
}

int cli_describe(struct cli *c, const char *ident, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_warehouse *wh;
    struct tn_table *t = NULL;
    int rc = tn_ident_parse(ident, ns, name, err);

    if (rc)
        return rc;
    if (c->remote) {
        struct tn_schema *schema = NULL;
        json_t *j = NULL;
        rc = remote_table(c, ns, name, "", &j, err);
        if (!rc)
            rc = tn_schema_parse(json_object_get(j, "schema"), &schema, err);
        if (!rc)
            cli_print_describe(ns, name, json_string_value(json_object_get(j, "location")),
                               (int)json_i64_or(j, "format_version", 2),
                               json_i64_or(j, "current_snapshot_id", -1), schema);
        tn_schema_free(schema);
        json_decref(j);
        return rc;
    }
    rc = cli_warehouse(c, &wh, err);
    if (!rc)
        rc = tn_table_load(wh, ns, name, &t, err);
    if (rc)
        return rc;
    cli_print_describe(ns, name, t->meta->location, t->meta->format_version,
                       t->meta->current_snapshot_id, tn_metadata_current_schema(t->meta));
    tn_table_free(t);
    return 0;
}

int cli_history(struct cli *c, const char *ident, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_warehouse *wh;
    struct tn_table *t = NULL;
    int rc = tn_ident_parse(ident, ns, name, err);

    if (rc)
        return rc;
    if (c->remote) {
        json_t *j = NULL, *s;
        size_t i;
        rc = remote_table(c, ns, name, "/snapshots", &j, err);
        if (rc)
            return rc;
        cli_print_history_header();
        json_array_foreach(json_object_get(j, "snapshots"), i, s)
        {
            cli_print_history_row(
                json_i64_or(s, "snapshot_id", -1), json_i64_or(s, "parent_id", -1),
                json_i64_or(s, "sequence_number", 0), json_i64_or(s, "timestamp_ms", 0),
                json_string_value(json_object_get(s, "operation")));
        }
        json_decref(j);
        return 0;
    }
    rc = cli_warehouse(c, &wh, err);
    if (!rc)
        rc = tn_table_load(wh, ns, name, &t, err);
    if (rc)
        return rc;
    cli_print_history_header();
    for (size_t i = 0; i < t->meta->nsnapshots; i++) {
        const struct tn_snapshot *sn = &t->meta->snapshots[i];
        cli_print_history_row(sn->id, sn->parent_id, sn->sequence_number, sn->timestamp_ms,
                              sn->operation);
    }
    tn_table_free(t);
    return 0;
}

/*---- rollback, tags and branches ----*/

int cli_rollback(struct cli *c, const char *ident, const char *target, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    int64_t id = -1, as_of = -1, moved = -1;
    struct tn_warehouse *wh;
    int rc = tn_ident_parse(ident, ns, name, err);

    if (rc)
        return rc;
    if (c->remote) {
        json_t *body = json_object(), *j = NULL;
        char *url = tn_asprintf("/tables/%s.%s/rollback", ns, name);
        if (!tn_parse_i64(target, &id))
            json_object_set_new(body, "snapshot_id", json_integer((json_int_t)id));
        else
            json_object_set_new(body, "as_of", json_string(target));
        rc = cli_remote_json(c->remote, "POST", url, body, &j, err);
        if (!rc) {
            moved = json_i64_or(j, "snapshot_id", json_i64_or(j, "current_snapshot_id", id));
            printf("%s.%s: main is now at snapshot %lld\n", ns, name, (long long)moved);
        } else {
            tn_err_prefix(err, "rollback: ");
        }
        json_decref(body);
        json_decref(j);
        free(url);
        return rc;
    }
    rc = cli_warehouse(c, &wh, err);
    if (rc)
        return rc;
    if (tn_parse_i64(target, &id)) {
        struct tn_session *s = NULL;
        id = -1;
        rc = session_open(wh, &s, err);
        if (!rc && tn_engine_timestamp_ms(s, target, &as_of, err))
            rc = tn_fail(err, TN_EINPUT, "'%s' is neither a snapshot id nor a timestamp", target);
        session_close(s);
    }
    if (!rc)
        rc = tn_table_rollback(wh, ns, name, id, as_of, &moved, err);
    if (!rc)
        printf("%s.%s: main is now at snapshot %lld\n", ns, name, (long long)moved);
    return rc;
}

int cli_set_ref(struct cli *c, const char *what, const char *ident, const char *ref,
                const char *snapshot, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_warehouse *wh;
    int64_t id = -1;
    int rc = tn_ident_parse(ident, ns, name, err);

    if (rc)
        return rc;
    if (snapshot && tn_parse_i64(snapshot, &id))
        return tn_fail(err, TN_EINPUT, "'%s' is not a snapshot id", snapshot);
    if (id == -1) {
        /* the current snapshot */
        if (c->remote) {
            json_t *j = NULL;
            rc = remote_table(c, ns, name, "", &j, err);
            if (!rc)
                id = json_i64_or(j, "current_snapshot_id", -1);
            json_decref(j);
        } else {
            struct tn_table *t = NULL;
            rc = cli_warehouse(c, &wh, err);
            if (!rc)
                rc = tn_table_load(wh, ns, name, &t, err);
            if (!rc)
                id = t->meta->current_snapshot_id;
            tn_table_free(t);
        }
        if (!rc && id == -1)
            rc = tn_fail(err, TN_EINPUT, "table %s.%s has no snapshot to tag", ns, name);
        if (rc)
            return rc;
    }
    if (c->remote) {
        json_t *body = json_pack("{s:s, s:s, s:I, s:b}", "name", ref, "type", what, "snapshot_id",
                                 (json_int_t)id, "replace", c->o.force);
        json_t *j = NULL;
        char *url = tn_asprintf("/tables/%s.%s/refs", ns, name);
        rc = cli_remote_json(c->remote, "POST", url, body, &j, err);
        json_decref(body);
        json_decref(j);
        free(url);
    } else {
        rc = cli_warehouse(c, &wh, err);
        if (!rc)
            rc = tn_table_set_ref(wh, ns, name, ref, strcmp(what, "tag") == 0, id, -1, c->o.force,
                                  err);
    }
    if (!rc)
        printf("%s.%s: %s %s at snapshot %lld\n", ns, name, what, ref, (long long)id);
    return rc;
}

int cli_fast_forward(struct cli *c, const char *ident, const char *branch, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_warehouse *wh;
    int rc = tn_ident_parse(ident, ns, name, err);

    if (rc)
        return rc;
    if (c->remote)
        return tn_fail(err, TN_EINPUT,
                       "fast-forward works on a local warehouse only (the HTTP API has no "
                       "route for it)");
    rc = cli_warehouse(c, &wh, err);
    if (!rc)
        rc = tn_table_fast_forward(wh, ns, name, branch, err);
    if (!rc)
        printf("%s.%s: main is now at the head of %s\n", ns, name, branch);
    return rc;
}

/*---- register, drop ----*/

int cli_register(struct cli *c, const char *ident, const char *location, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_warehouse *wh;
    int rc = tn_ident_parse(ident, ns, name, err);

    if (rc)
        return rc;
    if (c->remote) {
        char *q = tn_asprintf("%s.%s", ns, name);
        json_t *body = json_pack("{s:s, s:s, s:O}", "name", q, "metadata_location", location,
                                 "path_map", c->o.path_map);
        json_t *j = NULL;
        rc = cli_remote_json(c->remote, "POST", "/tables/register", body, &j, err);
        json_decref(body);
        json_decref(j);
        free(q);
    } else {
        /* the operator names the table's folder (the one holding its metadata folder): the
           sandbox may reach it, now and in later runs */
        const char *p = strncmp(location, "file:", 5) == 0 ? location + 5 : location;
        while (p[0] == '/' && p[1] == '/')
            p++;
        if (p[0] == '/') {
            char *dir = tn_strdup(p);
            char *slash = strrchr(dir, '/');
            if (slash && slash != dir) {
                *slash = '\0';
                cli_allow_dir_of(c, dir);
            }
            free(dir);
        }
        rc = cli_warehouse(c, &wh, err);
        if (!rc)
            rc = tn_table_register(wh, ns, name, location, c->o.path_map, err);
    }
    if (!rc)
        printf("registered %s.%s at %s\n", ns, name, location);
    return rc;
}

int cli_drop(struct cli *c, const char *ident, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_warehouse *wh;
    int rc = tn_ident_parse(ident, ns, name, err);

    if (rc)
        return rc;
    if (c->remote) {
        char *url = tn_asprintf("/tables/%s.%s%s", ns, name, c->o.purge ? "?purge=true" : "");
        json_t *j = NULL;
        rc = cli_remote_json(c->remote, "DELETE", url, NULL, &j, err);
        json_decref(j);
        free(url);
        return rc;
    }
    rc = cli_warehouse(c, &wh, err);
    if (!rc)
        rc = tn_table_drop(wh, ns, name, c->o.purge, err);
    return rc;
}

/* maintain with --remote: POST /tables/{table}/maintenance; the answer is printed as JSON. */
static int remote_maintain(struct cli *c, const char *ns, const char *name, const char *action,
                           struct tn_err *err)
{
    static const char *const actions[][2] = {
        {"compact", "compact"},
        {"expire", "expire_snapshots"},
        {"rewrite-manifests", "rewrite_manifests"},
        {"remove-orphans", "remove_orphans"},
        {"rewrite-metadata", "rewrite_metadata"},
    };
    const char *http_action = NULL;
    json_t *body, *answer = NULL;
    char *url, *text;
    int rc;

    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (strcmp(action, actions[i][0]) == 0)
            http_action = actions[i][1];
    if (!http_action)
        return tn_fail(err, TN_EINPUT,
                       "maintain takes compact, expire, rewrite-manifests, remove-orphans or "
                       "rewrite-metadata, not '%s'",
                       action);
    if (c->o.as_of)
        return tn_fail(err, TN_EINPUT,
                       "maintain expire --as-of works on a local warehouse; over HTTP send "
                       "older_than_ms to POST /tables/{table}/maintenance");
    body = json_pack("{s:s}", "action", http_action);
    if (c->o.older_than)
        json_object_set_new(body, "older_than", json_string(c->o.older_than));
    if (c->o.dry_run)
        json_object_set_new(body, "dry_run", json_true());
    url = tn_asprintf("/tables/%s.%s/maintenance", ns, name);
    rc = cli_remote_json(c->remote, "POST", url, body, &answer, err);
    if (!rc) {
        text = json_dumps(answer, JSON_COMPACT | JSON_SORT_KEYS);
        printf("%s.%s: %s\n", ns, name, text ? text : "{}");
        free(text);
    }
    json_decref(answer);
    json_decref(body);
    free(url);
    return rc;
}

int cli_maintain(struct cli *c, const char *ident, const char *action, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_warehouse *wh;
    struct tn_session *s = NULL;
    int rc = tn_ident_parse(ident, ns, name, err);

    if (rc)
        return rc;
    if (c->remote)
        return remote_maintain(c, ns, name, action, err);
    rc = cli_warehouse(c, &wh, err);
    if (rc)
        return rc;
    if (strcmp(action, "compact") == 0) {
        struct tn_compact_result r;
        rc = session_open(wh, &s, err);
        if (!rc)
            rc = tn_table_compact(wh, s, ns, name, &r, err);
        if (!rc)
            printf("%s.%s: %lld data files rewritten into %lld (%lld rows), %lld delete files "
                   "removed\n",
                   ns, name, (long long)r.files_rewritten, (long long)r.files_written,
                   (long long)r.rows, (long long)r.delete_files_removed);
        tn_session_close(s);
    } else if (strcmp(action, "expire") == 0) {
        /* snapshots older than --as-of (default: 5 days ago), keeping the current one */
        struct tn_expire_result r = {0};
        int64_t cutoff = tn_now_ms() - 5LL * 24 * 3600 * 1000;
        if (c->o.as_of && (rc = session_open(wh, &s, err)) == 0) {
            struct tn_buf q = TN_BUF_INIT(TN_CAP_VALUE);
            struct tn_rows *rows = NULL;
            tn_buf_addstr(&q, "SELECT epoch_ms(CAST(", NULL);
            tn_sql_string(&q, c->o.as_of);
            tn_buf_addstr(&q, " AS TIMESTAMP))", NULL);
            rc = tn_engine_rows(s, q.buf, 1, &rows, err);
            if (!rc)
                tn_parse_i64(tn_rows_get(rows, 0, 0), &cutoff);
            tn_rows_free(rows);
            tn_buf_release(&q);
            tn_session_close(s);
        }
        if (!rc)
            rc = tn_table_expire(wh, ns, name, cutoff, 1, &r, err);
        if (!rc)
            printf("%s.%s: %lld snapshots expired, %lld files deleted\n", ns, name,
                   (long long)r.snapshots_expired, (long long)r.files_deleted);
        if (!rc && json_array_size(r.not_deleted))
            printf("%s.%s: %zu files could not be deleted (remove-orphans removes them later)\n",
                   ns, name, json_array_size(r.not_deleted));
        tn_expire_result_release(&r);
    } else if (strcmp(action, "rewrite-manifests") == 0) {
        struct tn_rewrite_manifests_result r = {0};
        rc = tn_table_rewrite_manifests(wh, ns, name, &r, err);
        if (!rc)
            printf("%s.%s: %lld manifests rewritten as %lld\n", ns, name,
                   (long long)r.manifests_before, (long long)r.manifests_after);
    } else if (strcmp(action, "remove-orphans") == 0) {
        struct tn_orphans_result r;
        int64_t margin = 86400000;
        if (c->o.older_than && tn_parse_duration_ms(c->o.older_than, &margin))
            return tn_fail(err, TN_EINPUT,
                           "--older-than takes a duration such as 1d, 12h, 30m or 0s, not '%s'",
                           c->o.older_than);
        rc = tn_table_remove_orphans(wh, ns, name, tn_now_ms() - margin, c->o.dry_run, &r, err);
        if (!rc) {
            size_t i;
            json_t *p;
            json_array_foreach(r.paths, i, p)
                printf("%s%s\n", c->o.dry_run ? "would delete " : "deleted ", json_string_value(p));
            printf("%s.%s: %lld orphan files (%lld bytes) %s, %lld newer ones kept\n", ns, name,
                   (long long)r.files_found, (long long)r.bytes,
                   c->o.dry_run ? "found (dry run)" : "deleted", (long long)r.files_too_new);
        }
        tn_orphans_result_release(&r);
    } else if (strcmp(action, "rewrite-metadata") == 0) {
        struct tn_rewrite_metadata_result r;
        rc = tn_table_rewrite_metadata(wh, ns, name, &r, err);
        if (!rc)
            printf("%s.%s: metadata log has %lld entries (%lld dropped)\n", ns, name,
                   (long long)r.log_entries, (long long)r.log_entries_dropped);
    } else {
        rc = tn_fail(err, TN_EINPUT,
                     "maintain takes compact, expire, rewrite-manifests, remove-orphans or "
                     "rewrite-metadata, not '%s'",
                     action);
    }
    return rc;
}
