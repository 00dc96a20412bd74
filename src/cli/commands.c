/* commands.c - every command of the command line, each in two forms: on a local warehouse
 * (through the table layer) and, when --remote is given, on a running server (through
 * remote.c). Both forms print the same thing, so scripts need not care which is used. Table
 * names are checked here first in both forms, so a bad name never reaches disk or network. */
#include "cli/cli.h"
#include "ops/ops.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
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

/* The CSV field separator of `tarn sql --format csv` (--delimiter: one character, or 'tab'; a
 * comma when not given), or 0 when --delimiter is not one. */
static char csv_sep(const struct cli *c)
{
    const char *d = c->o.csv[0];

    if (!d)
        return ',';
    if (strcmp(d, "tab") == 0 || strcmp(d, "\\t") == 0)
        return '\t';
    if (strlen(d) == 1 && d[0] != '"' && d[0] != '\n' && d[0] != '\r')
        return d[0];
    return 0;
}

/* Whether the header line is printed: 1, 0 (--no-header, --header=false), -1 for a value that
 * is neither. */
static int csv_header(const struct cli *c)
{
    const char *h = c->o.header;

    if (!h || strcasecmp(h, "true") == 0 || strcmp(h, "1") == 0)
        return 1;
    if (strcasecmp(h, "false") == 0 || strcmp(h, "0") == 0)
        return 0;
    return -1;
}

/* Stream the rows of "sql" (one text column per output column) to stdout. */
static int stream_rows(const struct cli *c, struct tn_session *s, const char *sql,
                       enum cli_format f, struct tn_err *err)
{
    struct tn_stream *st = NULL;
    size_t n, rows = 0;
    int rc = tn_stream_open(s, sql, &st, err);

    if (rc)
        return rc;
    if (f == CLI_JSON)
        putchar('[');
    if (f == CLI_CSV && csv_header(c)) {
        for (size_t k = 0; k < tn_stream_ncols(st); k++) {
            if (k)
                putchar(csv_sep(c));
            cli_print_csv_cell(stdout, tn_stream_name(st, k), strlen(tn_stream_name(st, k)),
                               csv_sep(c));
        }
        putchar('\n');
    }
    while (!(rc = tn_stream_next(st, &n, err)) && n > 0) {
        for (size_t i = 0; i < n; i++) {
            if (f == CLI_JSON) /* one array: "[" row ",\n" row ... "]" */
                fputs(rows++ ? ",\n" : "\n", stdout);
            for (size_t k = 0; k < tn_stream_ncols(st); k++) {
                size_t len;
                const char *v = tn_stream_cell(st, i, k, &len);
                if (f == CLI_JSON || f == CLI_NDJSON) {
                    fwrite(v ? v : "null", 1, v ? len : 4, stdout);
                    continue;
                }
                if (k)
                    putchar(csv_sep(c));
                cli_print_csv_cell(stdout, v, len, csv_sep(c));
            }
            if (f != CLI_JSON)
                putchar('\n');
        }
    }
    if (f == CLI_JSON)
        fputs(rows ? "\n]\n" : "]\n", stdout);
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

static int local_print(const struct cli *c, struct tn_session *s, const char *resolved,
                       enum cli_format f, struct tn_err *err)
{
    struct tn_rows *r = NULL;
    char *q;
    int rc;

    if (f == CLI_ARROW) {
        q = tn_asprintf("SELECT * FROM (%s) _t", resolved);
        rc = stream_arrow(s, q, err);
    } else if (f == CLI_PARQUET) {
        return tn_fail(err, TN_EINPUT,
                       "--format parquet is for queries; this statement's rows print as text");
    } else if (f == CLI_JSON || f == CLI_NDJSON) {
        q = tn_asprintf("SELECT CAST(to_json(_tn_row) AS VARCHAR) FROM (%s) _tn_row", resolved);
        rc = stream_rows(c, s, q, f, err);
    } else if (f == CLI_CSV) {
        /* DuckDB renders every type as text itself (its C value API cannot for some) */
        q = tn_asprintf("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (%s) _tn_row", resolved);
        rc = stream_rows(c, s, q, f, err);
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

/* A query's rows as one Parquet file on stdout: written by DuckDB under the warehouse's .tmp,
 * copied out, removed. */
static int local_parquet(struct tn_warehouse *wh, struct tn_session *s, const char *resolved,
                         struct tn_err *err)
{
    char uuid[37], *path, *q, block[65536];
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    FILE *in;
    size_t n;
    int rc;

    tn_uuid4(uuid);
    path = tn_asprintf("%s/.tmp/query-%s.parquet", tn_storage_root_path(wh->storage), uuid);
    q = tn_asprintf("%s/.tmp", tn_storage_root_path(wh->storage));
    mkdir(q, 0700);
    free(q);
    tn_buf_addf(&sql, NULL, "COPY (SELECT * FROM (%s) _t) TO ", resolved);
    tn_sql_string(&sql, path);
    tn_buf_addstr(&sql, " (FORMAT parquet, COMPRESSION zstd)", NULL);
    rc = tn_engine_exec(s, sql.buf, err);
    tn_buf_release(&sql);
    in = rc ? NULL : fopen(path, "rb");
    if (!rc && !in)
        rc = tn_fail(err, TN_EINTERNAL, "cannot read the Parquet result: %s", strerror(errno));
    while (in && (n = fread(block, 1, sizeof(block), in)) > 0)
        if (fwrite(block, 1, n, stdout) != n) {
            rc = tn_fail(err, TN_EINTERNAL, "cannot write the result: %s", strerror(errno));
            break;
        }
    if (in)
        fclose(in);
    unlink(path);
    free(path);
    return rc;
}

/* EXPLAIN [ANALYZE] of res->st.body: tarn's planning counts for each table, then DuckDB's
 * plan. */
static int local_explain(struct tn_warehouse *wh, struct tn_session *s, struct tn_op_sql *op,
                         struct tn_op_sql_result *res, struct tn_err *err)
{
    struct tn_rows *r = NULL;
    char *q;
    json_t *entry;
    size_t i;
    int rc;

    op->qo.plan = json_array();
    rc = tn_op_sql_execute(wh, s, op, res, err);
    json_array_foreach(op->qo.plan, i, entry)
    {
        char *line = tn_plan_describe(entry);
        printf("tarn scan %s\n", line);
        free(line);
    }
    json_decref(op->qo.plan);
    op->qo.plan = NULL;
    if (rc)
        return rc;
    q = tn_asprintf("%s %s", res->st.analyze ? "EXPLAIN ANALYZE" : "EXPLAIN", res->resolved);
    rc = tn_engine_rows(s, q, 10000, &r, err);
    for (size_t k = 0; !rc && k < r->nrows; k++)
        printf("%s\n", tn_rows_get(r, k, r->ncols - 1) ? tn_rows_get(r, k, r->ncols - 1) : "");
    tn_rows_free(r);
    free(q);
    return rc;
}

/* What a change did, in one line, or its RETURNING rows. */
static int local_change(const struct cli *c, struct tn_session *s, struct tn_op_sql_result *res,
                        enum cli_format f, struct tn_err *err)
{
    const char *ns = res->ns, *t = res->table;
    long long snap = (long long)res->commit.snapshot_id;

    if (res->returning.sql)
        return local_print(c, s, res->returning.sql, f, err);
    switch (res->st.kind) {
    case TN_STMT_ALTER:
        printf("altered %s.%s\n", ns, t);
        break;
    case TN_STMT_CREATE:
    case TN_STMT_DROP:
        if (res->view)
            printf("%s view %s.%s\n",
                   res->dropped    ? "dropped"
                   : res->replaced ? "replaced"
                   : res->created  ? "created"
                                   : "nothing to do for",
                   ns, t);
        else if (res->dropped)
            printf("dropped %s.%s\n", ns, t);
        else if (res->created && snap != -1)
            printf("created %s.%s with %lld rows, snapshot %lld\n", ns, t,
                   (long long)res->rows_affected, snap);
        else if (res->created)
            printf("created %s.%s\n", ns, t);
        else
            printf("%s.%s: nothing to do\n", ns, t);
        break;
    case TN_STMT_INSERT:
        printf("%s.%s: inserted %lld rows, snapshot %lld\n", ns, t, (long long)res->rows_affected,
               snap);
        break;
    default:
        printf("%s.%s: %lld rows affected, snapshot %lld\n", ns, t, (long long)res->rows_affected,
               snap);
    }
    return 0;
}

static int local_sql(struct cli *c, const char *sql, enum cli_format f, const struct cli_query *cq,
                     struct tn_err *err)
{
    struct tn_warehouse *wh;
    struct tn_session *s = NULL;
    struct tn_op_sql op;
    struct tn_op_sql_result res;
    int rc = cli_warehouse(c, &wh, err);

    memset(&op, 0, sizeof(op));
    memset(&res, 0, sizeof(res));
    if (!rc)
        rc = session_open(wh, &s, err);
    if (rc)
        return rc;
    op.sql = sql;
    op.as_of = cq ? cq->as_of : NULL;
    op.qo.snapshot_id = cq ? cq->snapshot_id : -1;
    op.qo.branch = c->o.branch;
    rc = tn_op_sql_prepare(s, &op, &res, err);
    if (!rc && res.st.kind == TN_STMT_EXPLAIN) {
        rc = local_explain(wh, s, &op, &res, err);
        goto out;
    }
    if (!rc)
        rc = tn_op_sql_execute(wh, s, &op, &res, err);
    if (rc)
        goto out;
    if (tn_op_sql_changes(&res))
        rc = local_change(c, s, &res, f, err);
    else if (f == CLI_PARQUET)
        rc = local_parquet(wh, s, res.resolved, err);
    else {
        if (getenv("TARN_TRACE_SQL"))
            fprintf(stderr, "%s\n", res.resolved);
        rc = local_print(c, s, res.resolved, f, err);
    }
out:
    tn_op_sql_release(s, &res);
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

/* A stream that turns the NDJSON written to it into one JSON array on "to" (closing it ends the
 * array), so that --format json over --remote streams like a local one. */
struct array_writer {
    FILE *to;
    int rows, at_line_end;
};

static ssize_t array_write(void *cookie, const char *buf, size_t n)
{
    struct array_writer *w = cookie;

    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            w->at_line_end = 1;
            continue;
        }
        if (w->at_line_end || !w->rows) {
            fputs(w->rows ? ",\n" : "[\n", w->to);
            w->rows++;
            w->at_line_end = 0;
        }
        fputc(buf[i], w->to);
    }
    return (ssize_t)n;
}

static int array_close(void *cookie)
{
    struct array_writer *w = cookie;

    fputs(w->rows ? "\n]\n" : "[]\n", w->to);
    free(w);
    return 0;
}

static FILE *json_array_writer(FILE *to)
{
    cookie_io_functions_t io = {NULL, array_write, NULL, array_close};
    struct array_writer *w = tn_calloc(1, sizeof(*w));
    FILE *f;

    w->to = to;
    f = fopencookie(w, "w", io);
    if (!f)
        free(w);
    return f;
}

static int remote_sql(struct cli *c, const char *sql, enum cli_format f, const struct cli_query *cq,
                      struct tn_err *err)
{
    struct tn_buf buf = TN_BUF_INIT(TN_CAP_RESPONSE);
    struct tn_rows *r = NULL;
    json_t *j = NULL;
    int rc;

    if (f == CLI_TABLE) {
        /* the same cap as a local table: one row more than is shown says it was reached */
        struct cli_query capped = {-1, NULL, PRINT_MAX_ROWS + 1};
        if (cq) {
            capped.snapshot_id = cq->snapshot_id;
            capped.as_of = cq->as_of;
        }
        rc = cli_remote_query(c->remote, sql, "csv", &capped, NULL, &buf, &j, err);
        if (!rc && !j)
            rc = cli_rows_from_csv(buf.buf ? buf.buf : "", buf.len, &r, err);
        if (!rc && r && r->nrows > PRINT_MAX_ROWS)
            rc = tn_fail(err, TN_ETOOBIG,
                         "more than %d rows to show as a table; add a LIMIT or use --format csv",
                         PRINT_MAX_ROWS);
        if (!rc && r)
            cli_print_table(stdout, r);
    } else {
        int rewrite = f == CLI_CSV && (csv_sep(c) != ',' || !csv_header(c));
        FILE *out = f == CLI_JSON ? json_array_writer(stdout)
                    : rewrite     ? cli_csv_rewriter(stdout, csv_sep(c), csv_header(c))
                                  : stdout;
        rc = cli_remote_query(c->remote, sql,
                              f == CLI_CSV       ? "csv"
                              : f == CLI_ARROW   ? "arrow"
                              : f == CLI_PARQUET ? "parquet"
                                                 : "ndjson",
                              cq, out ? out : stdout, NULL, &j, err);
        if (out && out != stdout)
            fclose(out);
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
    if (f != CLI_CSV && (c->o.csv[0] || c->o.header))
        return tn_fail(err, TN_EINPUT,
                       "--delimiter, --header and --no-header go with --format csv");
    if (!csv_sep(c))
        return tn_fail(err, TN_EINPUT,
                       "--delimiter takes one character (or 'tab'), not a quote or line break: "
                       "'%.20s'",
                       c->o.csv[0]);
    if (csv_header(c) < 0)
        return tn_fail(err, TN_EINPUT, "--header must be true or false, not '%.20s'", c->o.header);
    if ((f == CLI_ARROW || f == CLI_PARQUET) && isatty(STDOUT_FILENO))
        return tn_fail(err, TN_EINPUT,
                       "%s output is binary: redirect it to a file or a pipe (> result.%s)",
                       f == CLI_ARROW ? "Arrow" : "Parquet", f == CLI_ARROW ? "arrows" : "parquet");
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

/* The CSV flags (--delimiter, --header, --nullstr, ...) into "src", checked as POST /ingest
 * checks its parameters. */
static int csv_flags(const struct cli *c, struct tn_source *src, struct tn_err *err)
{
    const char *delim = c->o.csv[0];

    src->header = -1;
    tn_csv_options_init(&src->csv);
    if (delim) {
        if (strcmp(delim, "\\t") == 0 || strcasecmp(delim, "tab") == 0)
            delim = "\t";
        if (!*delim || strlen(delim) > 4 || strchr(delim, '\n') || strchr(delim, '\r'))
            return tn_fail(err, TN_EINPUT,
                           "--delimiter must be 1 to 4 bytes (use 'tab' or '\\t' for a tab)");
        snprintf(src->delim, sizeof(src->delim), "%s", delim);
    }
    if (c->o.header) {
        if (strcasecmp(c->o.header, "true") == 0 || strcmp(c->o.header, "1") == 0)
            src->header = 1;
        else if (strcasecmp(c->o.header, "false") == 0 || strcmp(c->o.header, "0") == 0)
            src->header = 0;
        else
            return tn_fail(err, TN_EINPUT, "--header must be true or false");
    }
    for (size_t i = 1; tn_csv_option_names[i]; i++)
        if (c->o.csv[i] && tn_csv_option_set(&src->csv, tn_csv_option_names[i], c->o.csv[i], err)) {
            tn_err_prefix(err, "--%s: ",
                          strcmp(tn_csv_option_names[i], "decimal_separator") == 0
                              ? "decimal-separator"
                              : tn_csv_option_names[i]);
            return err->code;
        }
    return 0;
}

static int local_ingest(struct cli *c, const char *ns, const char *name, const char *path,
                        const char *const *more_paths, uint64_t size, enum tn_source_format fmt,
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
    for (size_t i = 0; more_paths && more_paths[i]; i++)
        cli_allow_dir_of(c, more_paths[i]);
    rc = cli_warehouse(c, &wh, err);
    if (!rc)
        rc = session_open(wh, &s, err);
    if (rc)
        return rc;
    src.format = fmt;
    src.name = path;
    src.more_paths = more_paths;
    src.max_decompressed = c->o.max_decompressed;
    src.temp_dir = temp_dir = tn_asprintf("%s/.tmp", tn_storage_root_path(wh->storage));
    rc = csv_flags(c, &src, err);
    if (rc) {
        free(temp_dir);
        session_close(s);
        return rc;
    }
    tn_source_table_dialect(wh, ns, name, &src);
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

/* The files (or "-", standard input) sent to the server, which stores them in one commit. */
static int remote_ingest(struct cli *c, const char *ns, const char *name, const char *const *paths,
                         size_t npaths, uint64_t size, enum tn_source_format fmt,
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
        if (in->format_version)
            tn_buf_addf(&u, NULL, "&format_version=%d", in->format_version);
        if (in->types)
            cli_url_param(&u, "types", in->types);
        for (size_t i = 0; tn_csv_option_names[i]; i++)
            if (c->o.csv[i]) /* checked by the server */
                cli_url_param(&u, tn_csv_option_names[i], c->o.csv[i]);
        if (c->o.header)
            cli_url_param(&u, "header", c->o.header);
        url = tn_buf_detach(&u, NULL);
    }
    if (c->progress == 2 || (c->progress && size >= PROGRESS_MIN_BYTES))
        p = cli_progress_start(paths[0], size, 0, c->progress == 2 ? 0 : 0.5);
    rc = cli_remote_upload(c->remote, url, paths, npaths, types[fmt], p, &j, err);
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

/* Standard input, converted as it arrives (src/ingest/stream.c) and kept in a spool file under
 * the warehouse's .tmp for the whole-file path, which reads it when the stream commits nothing. */
static int stdin_ingest(struct cli *c, const char *ns, const char *name, enum tn_source_format fmt,
                        const struct tn_ingest_options *in, struct tn_err *err)
{
    struct tn_source src = {0};
    struct tn_ingest_result res;
    struct tn_stream *st = NULL;
    struct tn_warehouse *wh;
    double t0 = tn_monotonic_s();
    char *temp_dir, *spool, uuid[37], *buf;
    uint64_t size = 0;
    int rc, fd, complete = 1;

    if (c->remote) {
        static const char *const stdin_path[] = {"-"};
        return remote_ingest(c, ns, name, stdin_path, 1, 0, fmt, in, err);
    }
    rc = cli_warehouse(c, &wh, err);
    if (rc)
        return rc;
    temp_dir = tn_asprintf("%s/.tmp", tn_storage_root_path(wh->storage));
    tn_uuid4(uuid);
    spool = tn_asprintf("%s/upload-%ld-%s", temp_dir, (long)getpid(), uuid);
    if (mkdir(temp_dir, 0700) && errno != EEXIST)
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot create %s: %s", temp_dir, strerror(errno));
    fd = rc ? -1 : open(spool, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (!rc && fd < 0)
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot create %s: %s", spool, strerror(errno));
    src.format = fmt;
    src.max_decompressed = c->o.max_decompressed;
    src.temp_dir = temp_dir;
    if (!rc)
        rc = csv_flags(c, &src, err);
    if (!rc) {
        tn_source_table_dialect(wh, ns, name, &src);
        tn_stream_new(wh, temp_dir, ns, name, &src, in, &st);
    }
    buf = tn_malloc(1024 * 1024);
    while (!rc) {
        ssize_t n = read(STDIN_FILENO, buf, 1024 * 1024);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = tn_fail(err, TN_EINPUT, "cannot read standard input: %s", strerror(errno));
            complete = 0;
        }
        if (n <= 0)
            break;
        for (ssize_t off = 0; !rc && off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = tn_fail(err, tn_err_from_errno(errno, TN_EUNAVAILABLE),
                             "cannot store standard input in %s: %s", temp_dir, strerror(errno));
                complete = 0;
            } else {
                off += w;
            }
        }
        if (!rc)
            tn_stream_feed(st, buf, (size_t)n);
        size += (uint64_t)n;
    }
    free(buf);
    if (fd >= 0 && close(fd) && !rc)
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot store standard input: %s", strerror(errno));
    if (!rc && size == 0)
        rc = tn_fail(err, TN_EINPUT, "standard input is empty: there is nothing to load");
    if (st) {
        tn_stream_end(st, complete && !rc);
        if (!rc) {
            rc = tn_stream_finish(st, 1, &res, err);
            if (!rc) {
                cli_print_ingest(ns, name, res.created, in->upsert, res.commit.rows_added,
                                 res.rows_updated, res.commit.files_added, res.commit.snapshot_id,
                                 res.commit.sequence_number, tn_monotonic_s() - t0);
                tn_ingest_result_release(&res);
            }
        }
        tn_stream_free(st);
    }
    if (rc == TN_STREAM_NOT_STREAMED)
        rc = local_ingest(c, ns, name, spool, NULL, size, fmt, in, err);
    unlink(spool);
    free(spool);
    free(temp_dir);
    return rc;
}

static int has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* The files the arguments name: paths, shell patterns (*.csv in a folder) expanded, and S3
 * objects (s3://bucket/path/day-?.csv) downloaded into *spool (made on first need), in order. */
static int ingest_files(struct cli *c, char *const *args, size_t nargs, char ***out, size_t *n,
                        char **spool, struct tn_err *err)
{
    char **v = NULL;
    size_t cap = 0;
    int rc = 0;

    *n = 0;
    for (size_t i = 0; !rc && i < nargs; i++) {
        glob_t g;
        size_t k;
        if (cli_is_s3_location(args[i])) {
            if (c->remote) {
                rc = tn_fail(err, TN_EINPUT,
                             "--remote sends local files; %s is read where the warehouse is: "
                             "run the ingest without --remote",
                             args[i]);
                break;
            }
            if (!*spool && !(*spool = cli_spool_dir(c))) {
                rc = tn_fail(err, TN_EUNAVAILABLE,
                             "cannot create a directory under TMPDIR for the S3 objects");
                break;
            }
            rc = cli_s3_fetch(c, args[i], *spool, &v, n, &cap, err);
            continue;
        }
        if (!has_glob(args[i])) {
            if (*n + 2 > cap)
                v = tn_realloc(v, (cap = cap * 2 + 8) * sizeof(*v));
            v[(*n)++] = tn_strdup(args[i]);
            continue;
        }
        if (glob(args[i], 0, NULL, &g) != 0) {
            rc = tn_fail(err, TN_ENOTFOUND, "no file matches %s", args[i]);
            break;
        }
        for (k = 0; k < g.gl_pathc; k++) {
            if (*n + 2 > cap)
                v = tn_realloc(v, (cap = cap * 2 + 8) * sizeof(*v));
            v[(*n)++] = tn_strdup(g.gl_pathv[k]);
        }
        globfree(&g);
    }
    if (v)
        v[*n] = NULL;
    *out = v;
    return rc;
}

int cli_ingest(struct cli *c, const char *ident, char *const *files, size_t nfiles,
               const char *mode, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_ingest_options opt = {.mode = TN_WRITE_APPEND, .evolve = TN_EVOLVE_ADD};
    enum tn_source_format fmt = TN_SOURCE_DETECT;
    struct stat sb;
    char **list = NULL, **paths = NULL, *spool = NULL;
    size_t n = 0, k;
    uint64_t total = 0;
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
    if (c->o.format_version) {
        if (strcmp(c->o.format_version, "2") != 0 && strcmp(c->o.format_version, "3") != 0)
            return tn_fail(err, TN_EINPUT, "--format-version must be 2 or 3, not '%s'",
                           c->o.format_version);
        opt.format_version = c->o.format_version[0] - '0';
    }
    opt.types = c->o.types;
    opt.branch = c->o.branch;
    rc = tn_ident_parse(ident, ns, name, err);
    if (rc)
        return rc;
    if (nfiles == 1 && (strcmp(files[0], "-") == 0 || strcmp(files[0], "/dev/stdin") == 0)) {
        rc = input_format("-", c->o.format, &fmt, err);
        return rc ? rc : stdin_ingest(c, ns, name, fmt, &opt, err);
    }
    rc = ingest_files(c, files, nfiles, &list, &n, &spool, err);
    paths = tn_calloc(n + 1, sizeof(*paths));
    for (k = 0; !rc && k < n; k++) {
        paths[k] = realpath(list[k], NULL);
        if (!paths[k] || stat(paths[k], &sb) != 0 || !S_ISREG(sb.st_mode))
            rc = tn_fail(err, TN_ENOTFOUND, "cannot open %s: no such file", list[k]);
        else if (sb.st_size == 0)
            rc = tn_fail(err, TN_EINPUT, "%s is empty: there is nothing to load", list[k]);
        else
            total += (uint64_t)sb.st_size;
    }
    if (!rc)
        rc = input_format(paths[0], c->o.format, &fmt, err);
    if (!rc)
        rc =
            c->remote
                ? remote_ingest(c, ns, name, (const char *const *)paths, n, total, fmt, &opt, err)
                : local_ingest(c, ns, name, paths[0], n > 1 ? (const char *const *)paths + 1 : NULL,
                               total, fmt, &opt, err);
    for (k = 0; k < n; k++) {
        free(list[k]);
        free(paths[k]);
    }
    free(list);
    free(paths);
    if (spool)
        cli_spool_remove(spool);
    free(spool);
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
        cli_print_tables_header();
        json_array_foreach(json_object_get(j, "tables"), i, t)
        {
            cli_print_tables_row(json_string_value(json_object_get(t, "namespace")),
                                 json_string_value(json_object_get(t, "name")),
                                 json_i64_or(t, "rows", 0), json_i64_or(t, "data_files", 0),
                                 json_i64_or(t, "bytes", 0), json_i64_or(t, "last_updated_ms", 0));
        }
        json_decref(j);
        return 0;
    }
    rc = cli_warehouse(c, &wh, err);
    if (!rc)
        rc = tn_catalog_list(wh->catalog, NULL, &e, &n, err);
    if (rc)
        return rc;
    cli_print_tables_header();
    for (size_t i = 0; i < n; i++) {
        struct tn_table *t = NULL;
        struct tn_err ignored;
        const struct tn_snapshot *cur;
        int64_t rows = 0, files = 0, bytes = 0;
        if (tn_table_load(wh, e[i].ns, e[i].table, &t, &ignored)) {
            printf("%s.%s (cannot be read: %s)\n", e[i].ns, e[i].table, ignored.msg);
            continue;
        }
        cur = tn_metadata_snapshot(t->meta, t->meta->current_snapshot_id);
        if (cur) {
            const char *v;
            if ((v = json_string_value(json_object_get(cur->summary, "total-records"))))
                tn_parse_i64(v, &rows);
            if ((v = json_string_value(json_object_get(cur->summary, "total-data-files"))))
                tn_parse_i64(v, &files);
            if ((v = json_string_value(json_object_get(cur->summary, "total-files-size"))))
                tn_parse_i64(v, &bytes);
        }
        cli_print_tables_row(e[i].ns, e[i].table, rows, files, bytes, t->meta->last_updated_ms);
        tn_table_free(t);
    }
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
        if (!rc) {
            cli_print_describe(ns, name, json_string_value(json_object_get(j, "location")),
                               (int)json_i64_or(j, "format_version", 2),
                               json_i64_or(j, "current_snapshot_id", -1), schema);
            cli_print_table_extras(schema, json_object_get(j, "partition_spec"),
                                   json_object_get(j, "identifier_fields"),
                                   json_object_get(j, "sort_order"),
                                   json_object_get(j, "properties"));
        }
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
    {
        const struct tn_schema *schema = tn_metadata_current_schema(t->meta);
        json_t *root = t->meta->root, *spec = NULL, *order = NULL, *v, *ids = json_array();
        size_t i;
        json_array_foreach(json_object_get(root, "partition-specs"), i, v)
        {
            if (json_integer_value(json_object_get(v, "spec-id")) ==
                json_integer_value(json_object_get(root, "default-spec-id")))
                spec = v;
        }
        json_array_foreach(json_object_get(root, "sort-orders"), i, v)
        {
            if (json_integer_value(json_object_get(v, "order-id")) ==
                json_integer_value(json_object_get(root, "default-sort-order-id")))
                order = v;
        }
        for (i = 0; schema && i < schema->nidentifier; i++) {
            const struct tn_field *f = tn_schema_find(schema, schema->identifier_ids[i]);
            json_array_append_new(ids, json_string(f ? f->name : "?"));
        }
        cli_print_table_extras(schema, spec, ids, order, json_object_get(root, "properties"));
        json_decref(ids);
    }
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
                json_string_value(json_object_get(s, "operation")), json_object_get(s, "summary"));
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
                              sn->operation, sn->summary);
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
    char *resolved = NULL;
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
           sandbox may reach it, now and in later runs; a local path is taken as the file
           system resolves it (through symbolic links), as the sandbox compares it */
        const char *p = strncmp(location, "file:", 5) == 0 ? location + 5 : location;
        while (p[0] == '/' && p[1] == '/')
            p++;
        if (p[0] == '/' && (resolved = realpath(p, NULL)) != NULL)
            location = p = resolved;
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
    free(resolved);
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
            rc = tn_table_compact(wh, s, ns, name, c->o.dry_run, &r, err);
        if (!rc && c->o.dry_run)
            printf("%s.%s: would rewrite %lld data files (%lld bytes, %lld rows before deletes) "
                   "and remove %lld delete files (dry run)\n",
                   ns, name, (long long)r.files_rewritten, (long long)r.bytes_rewritten,
                   (long long)r.rows, (long long)r.delete_files_removed);
        else if (!rc)
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
            if ((rc = tn_engine_timestamp_ms(s, c->o.as_of, &cutoff, err)) != 0)
                tn_err_prefix(err, "--as-of: ");
            tn_session_close(s);
        }
        if (!rc)
            rc = tn_table_expire(wh, ns, name, cutoff, 1, c->o.dry_run, &r, err);
        if (!rc && c->o.dry_run)
            printf("%s.%s: would expire %lld snapshots and delete %lld files (dry run)\n", ns, name,
                   (long long)r.snapshots_expired, (long long)r.files_to_delete);
        else if (!rc)
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
