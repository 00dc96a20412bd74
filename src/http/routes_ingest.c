/* routes_ingest.c - POST /ingest/{table}: the request body (already streamed to a temporary
 * file by server.c) becomes rows of an Iceberg table through tn_table_ingest_opts, in one commit
 * (append, overwrite or keyed upsert; evolve=add|strict; branch= writes to a branch).
 *
 * The file's format comes from format=, else the multipart file name, else the content type,
 * else its first bytes (Parquet's magic, a JSON bracket), else CSV. Readers are DuckDB's:
 * read_csv (its sniffer finds delimiter, quoting, header and types), read_json, read_ndjson,
 * read_parquet; gzip and zstd compressed uploads are recognised by their magic bytes.
 *
 * Two CSV cases DuckDB's defaults get wrong are handled here:
 *   - Ragged rows (some lines with fewer fields): the sniffer then "skips" the lines before the
 *     longest consistent run, silently dropping rows. When sniff_csv reports skipped rows that
 *     the user did not ask for, the file is read with null_padding (missing fields are NULL),
 *     which needs the single-threaded reader when fields hold newlines.
 *   - Lines longer than DuckDB's 2 MB default: server.c measures the longest line while the
 *     upload streams in, and the limit is raised to fit it (up to 64 MiB; the limit sizes the
 *     reader's buffers, so it is not raised for every file). Should DuckDB still report a long
 *     line, the ingest is retried once with the 64 MiB limit.
 * The temporary file is deleted by server.c when the request completes, whatever happened. */
#include "http/http.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DEFAULT_LINE_MAX (2000000)           /* DuckDB's default max_line_size */
#define LONG_LINE_MAX    (64L * 1024 * 1024) /* the most tarn raises it to */
_Static_assert(TN_HTTP_LONG_LINE <= DEFAULT_LINE_MAX / 2, "lines that need a limit are measured");

enum file_format { FF_NONE, FF_CSV, FF_JSON, FF_NDJSON, FF_PARQUET };

struct ingest_state {
    char ns[TN_NAME_MAX + 1];
    char name[TN_NAME_MAX + 1];
    enum tn_write_mode mode;
    int upsert;
    int dedupe_last;
    enum tn_evolve_mode evolve;
    const char *key;    /* borrowed from the request */
    const char *branch; /* borrowed from the request; NULL: main */
    const char *partition_by; /* borrowed; the spec of a table this ingest creates */
    enum file_format format;
    char delim[8];
    int header; /* -1: detect */
};

struct reader {
    enum file_format format;
    const char *compression; /* NULL, "gzip" or "zstd" */
    long max_line;           /* 0: DuckDB's default */
    int ragged;
    char *dialect; /* CSV: what the sniffer found, as read_csv options (owned); NULL: detect */
};

/*---- Parameters ----*/

static int parse_params(struct tn_http_req *req, struct ingest_state *st, struct tn_err *err)
{
    const char *mode = tn_http_param(req, "mode");
    const char *format = tn_http_param(req, "format");
    const char *delim = tn_http_param(req, "delimiter");
    const char *header = tn_http_param(req, "header");
    const char *dedupe = tn_http_param(req, "dedupe");
    const char *evolve = tn_http_param(req, "evolve");
    const char *branch = tn_http_param(req, "branch");

    st->mode = TN_WRITE_APPEND;
    st->upsert = 0;
    if (!mode || !*mode || strcasecmp(mode, "append") == 0)
        st->mode = TN_WRITE_APPEND;
    else if (strcasecmp(mode, "overwrite") == 0)
        st->mode = TN_WRITE_OVERWRITE;
    else if (strcasecmp(mode, "upsert") == 0)
        st->upsert = 1;
    else
        return tn_fail(err, TN_EINPUT, "mode must be append, overwrite or upsert, not '%.40s'",
                       mode);
    st->key = tn_http_param(req, "key");
    if (st->key && !*st->key)
        st->key = NULL;
    if (st->key && !st->upsert)
        return tn_fail(err, TN_EINPUT, "key= is for mode=upsert");
    st->dedupe_last = 0;
    if (dedupe && *dedupe) {
        if (strcasecmp(dedupe, "last") != 0)
            return tn_fail(err, TN_EINPUT, "dedupe must be 'last' (keep each key's last row)");
        if (!st->upsert)
            return tn_fail(err, TN_EINPUT, "dedupe=last is for mode=upsert");
        st->dedupe_last = 1;
    }
    st->evolve = TN_EVOLVE_ADD;
    if (evolve && *evolve && strcasecmp(evolve, "strict") == 0)
        st->evolve = TN_EVOLVE_STRICT;
    else if (evolve && *evolve && strcasecmp(evolve, "add") != 0)
        return tn_fail(err, TN_EINPUT, "evolve must be add or strict, not '%.40s'", evolve);
    st->branch = branch && *branch ? branch : NULL;
    st->partition_by = tn_http_param(req, "partition_by");
    if (st->partition_by && !*st->partition_by)
        st->partition_by = NULL;

    st->format = FF_NONE;
    if (format && *format) {
        if (strcasecmp(format, "csv") == 0 || strcasecmp(format, "tsv") == 0)
            st->format = FF_CSV;
        else if (strcasecmp(format, "json") == 0)
            st->format = FF_JSON;
        else if (strcasecmp(format, "ndjson") == 0 || strcasecmp(format, "jsonl") == 0)
            st->format = FF_NDJSON;
        else if (strcasecmp(format, "parquet") == 0)
            st->format = FF_PARQUET;
        else
            return tn_fail(err, TN_EINPUT,
                           "format must be csv, json, ndjson or parquet, not '%.40s'", format);
    }
    st->delim[0] = '\0';
    if (delim) {
        if (strcmp(delim, "\\t") == 0 || strcasecmp(delim, "tab") == 0)
            delim = "\t";
        if (!*delim || strlen(delim) > 4 || strchr(delim, '\n') || strchr(delim, '\r'))
            return tn_fail(err, TN_EINPUT,
                           "delimiter must be 1 to 4 bytes (use 'tab' or '\\t' for a tab)");
        snprintf(st->delim, sizeof(st->delim), "%s", delim);
    }
    st->header = -1;
    if (header) {
        if (strcasecmp(header, "true") == 0 || strcmp(header, "1") == 0)
            st->header = 1;
        else if (strcasecmp(header, "false") == 0 || strcmp(header, "0") == 0)
            st->header = 0;
        else
            return tn_fail(err, TN_EINPUT, "header must be true or false");
    }
    if ((st->delim[0] || st->header != -1) && st->format != FF_NONE && st->format != FF_CSV)
        return tn_fail(err, TN_EINPUT, "delimiter and header apply to CSV files only");
    return 0;
}

int tn_route_ingest_begin(struct tn_http_req *req, struct tn_err *err)
{
    struct ingest_state *st = tn_calloc(1, sizeof(*st));

    if (tn_ident_parse(req->arg ? req->arg : "", st->ns, st->name, err) ||
        parse_params(req, st, err)) {
        free(st);
        return err->code;
    }
    req->state = st;
    req->free_state = free;
    return 0;
}

/*---- Finding the format ----*/

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static enum file_format format_from_name(const char *name)
{
    char base[256];
    size_t n;

    if (!name)
        return FF_NONE;
    snprintf(base, sizeof(base), "%s", name);
    n = strlen(base);
    if (ends_with(base, ".gz"))
        base[n - 3] = '\0';
    else if (ends_with(base, ".zst"))
        base[n - 4] = '\0';
    if (ends_with(base, ".csv") || ends_with(base, ".tsv") || ends_with(base, ".txt"))
        return FF_CSV;
    if (ends_with(base, ".ndjson") || ends_with(base, ".jsonl"))
        return FF_NDJSON;
    if (ends_with(base, ".json"))
        return FF_JSON;
    if (ends_with(base, ".parquet") || ends_with(base, ".pq"))
        return FF_PARQUET;
    return FF_NONE;
}

static enum file_format format_from_type(const char *ct)
{
    static const struct {
        const char *type;
        enum file_format f;
    } types[] = {
        {"text/csv", FF_CSV},
        {"application/csv", FF_CSV},
        {"text/tab-separated-values", FF_CSV},
        {"application/json", FF_JSON},
        {"text/json", FF_JSON},
        {"application/x-ndjson", FF_NDJSON},
        {"application/ndjson", FF_NDJSON},
        {"application/jsonl", FF_NDJSON},
        {"application/x-jsonlines", FF_NDJSON},
        {"application/jsonlines", FF_NDJSON},
        {"application/vnd.apache.parquet", FF_PARQUET},
        {"application/x-parquet", FF_PARQUET},
        {"application/parquet", FF_PARQUET},
    };

    if (!ct)
        return FF_NONE;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t n = strlen(types[i].type);
        if (strncasecmp(ct, types[i].type, n) == 0 &&
            (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
            return types[i].f;
    }
    return FF_NONE;
}

/* Look at the first bytes: compression, Parquet's magic, a JSON document. */
static enum file_format sniff_file(const char *path, const char **compression)
{
    unsigned char head[512];
    ssize_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *compression = NULL;
    if (fd >= 0) {
        n = read(fd, head, sizeof(head));
        close(fd);
    }
    if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b) {
        *compression = "gzip";
        return FF_NONE;
    }
    if (n >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd) {
        *compression = "zstd";
        return FF_NONE;
    }
    if (n >= 4 && memcmp(head, "PAR1", 4) == 0)
        return FF_PARQUET;
    for (ssize_t i = 0; i < n; i++) {
        if (i + 2 < n && head[i] == 0xef && head[i + 1] == 0xbb && head[i + 2] == 0xbf) {
            i += 2; /* a UTF-8 byte order mark */
            continue;
        }
        if (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n')
            continue;
        return head[i] == '[' || head[i] == '{' ? FF_JSON : FF_NONE;
    }
    return FF_NONE;
}

/*---- Reader SQL ----*/

static void reader_sql(struct tn_buf *b, const char *path, const struct ingest_state *st,
                       const struct reader *r, int sniff)
{
    static const char *const fn[] = {"read_csv", "read_csv", "read_json", "read_ndjson",
                                     "read_parquet"};

    if (sniff)
        tn_buf_addstr(b,
                      "SELECT len(Columns), SkipRows, Delimiter, Quote, Escape, Comment, HasHeader, "
                      "DateFormat, TimestampFormat, to_json(Columns) FROM sniff_csv(",
                      NULL);
    else
        tn_buf_addf(b, NULL, "SELECT * FROM %s(", fn[r->format]);
    tn_sql_string(b, path);
    if (r->compression && r->format != FF_PARQUET) {
        tn_buf_addstr(b, ", compression = ", NULL);
        tn_sql_string(b, r->compression);
    }
    if (r->format == FF_CSV && r->dialect && !sniff) {
        tn_buf_addstr(b, r->dialect, NULL); /* delimiter and header included */
    } else if (r->format == FF_CSV) {
        if (st->delim[0]) {
            tn_buf_addstr(b, ", delim = ", NULL);
            tn_sql_string(b, st->delim);
        }
        if (st->header != -1)
            tn_buf_addf(b, NULL, ", header = %s", st->header ? "true" : "false");
    }
    if (r->format == FF_CSV) {
        if (r->max_line)
            tn_buf_addf(b, NULL, ", max_line_size = %ld", r->max_line);
        if (r->ragged)
            tn_buf_addf(b, NULL, ", null_padding = true%s", sniff ? "" : ", parallel = false");
    }
    tn_buf_addstr(b, ")", NULL);
}

static int long_line_error(const struct tn_err *err)
{
    return strstr(err->msg, "Maximum line size") != NULL;
}

/* A sniffed dialect cell as a SQL string: sniff_csv shows an empty one as "(empty)". */
static void dialect_string(struct tn_buf *b, const char *option, const char *cell)
{
    tn_buf_addf(b, NULL, ", %s = ", option);
    tn_sql_string(b, !cell || strcmp(cell, "(empty)") == 0 ? "" : cell);
}

/* The read_csv options that read the file as the sniffer saw it, so that the statements that
 * follow (DESCRIBE twice, then the COPY) do not sniff it again: row "r" of sniff_csv, columns 3
 * on. Date and timestamp formats DuckDB's own ISO parser reads are left out: it is faster than
 * a format string. NULL when the row is not what is expected. */
static char *sniffed_dialect(const struct tn_rows *rows)
{
    static const char *const iso_timestamps[] = {"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                                                 "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f"};
    const char *date = tn_rows_get(rows, 0, 7), *ts = tn_rows_get(rows, 0, 8);
    const char *cols_text = tn_rows_get(rows, 0, 9), *key;
    json_t *cols = cols_text ? json_loads(cols_text, 0, NULL) : NULL, *col;
    struct tn_buf b = TN_BUF_INIT(0);
    size_t i;

    if (!json_is_array(cols) || json_array_size(cols) == 0 || !tn_rows_get(rows, 0, 1) ||
        !tn_rows_get(rows, 0, 6)) {
        json_decref(cols);
        return NULL;
    }
    tn_buf_addstr(&b, ", auto_detect = false", NULL);
    dialect_string(&b, "delim", tn_rows_get(rows, 0, 2));
    dialect_string(&b, "quote", tn_rows_get(rows, 0, 3));
    dialect_string(&b, "escape", tn_rows_get(rows, 0, 4));
    dialect_string(&b, "comment", tn_rows_get(rows, 0, 5));
    tn_buf_addf(&b, NULL, ", skip = %lld, header = %s",
                strtoll(tn_rows_get(rows, 0, 1), NULL, 10),
                strcmp(tn_rows_get(rows, 0, 6), "true") == 0 ? "true" : "false");
    if (date && strcmp(date, "%Y-%m-%d") != 0)
        dialect_string(&b, "dateformat", date);
    for (i = 0; ts && i < sizeof(iso_timestamps) / sizeof(*iso_timestamps); i++)
        if (strcmp(ts, iso_timestamps[i]) == 0)
            break;
    if (ts && i == sizeof(iso_timestamps) / sizeof(*iso_timestamps))
        dialect_string(&b, "timestampformat", ts);
    tn_buf_addstr(&b, ", columns = {", NULL);
    json_array_foreach(cols, i, col) {
        key = json_string_value(json_object_get(col, "name"));
        if (!key || !json_string_value(json_object_get(col, "type"))) {
            json_decref(cols);
            tn_buf_release(&b);
            return NULL;
        }
        if (i)
            tn_buf_addstr(&b, ", ", NULL);
        tn_sql_string(&b, key);
        tn_buf_addstr(&b, ": ", NULL);
        tn_sql_string(&b, json_string_value(json_object_get(col, "type")));
    }
    tn_buf_addstr(&b, "}", NULL);
    json_decref(cols);
    return tn_buf_detach(&b, NULL);
}

/* What DuckDB's sniffer makes of the file: its row of sniff_csv, or NULL when it fails. */
static struct tn_rows *sniff(struct tn_session *s, const char *path, const struct ingest_state *st,
                             const struct reader *r)
{
    struct tn_buf sql = TN_BUF_INIT(0);
    struct tn_rows *rows = NULL;
    struct tn_err err = {0};

    reader_sql(&sql, path, st, r, 1);
    if (tn_engine_rows(s, sql.buf, 1, &rows, &err) || rows->nrows != 1) {
        tn_rows_free(rows);
        rows = NULL;
    }
    tn_buf_release(&sql);
    return rows;
}

/* Sniffed column count, skipped rows and delimiter: how the file's shape was read. */
static int same_shape(const struct tn_rows *a, const struct tn_rows *b)
{
    for (size_t c = 0; c < 3; c++) {
        const char *x = tn_rows_get(a, 0, c), *y = tn_rows_get(b, 0, c);
        if (!x || !y || strcmp(x, y) != 0)
            return 0;
    }
    return 1;
}

/* The sniff with short rows allowed, on its own session: it runs beside the plain one. */
struct padded_sniff {
    struct tn_engine *engine;
    const char *path;
    const struct ingest_state *st;
    struct reader r; /* ragged set */
    struct tn_rows *rows;
};

static void *sniff_padded(void *arg)
{
    struct padded_sniff *p = arg;
    struct tn_session *s = NULL;
    struct tn_err ignored;

    if (!tn_session_open(p->engine, &s, &ignored)) {
        p->rows = sniff(s, p->path, p->st, &p->r);
        tn_session_close(s);
    }
    return NULL;
}

/* Ragged rows: the sniffer reads the file differently when short rows are allowed. Both
 * readings run at once, each on its own session; the dialect of the reading chosen is kept for
 * the reads that follow. */
static void sniff_csv_dialect(struct tn_engine *engine, struct tn_session *s, const char *path,
                              const struct ingest_state *st, struct reader *r)
{
    struct padded_sniff p = {engine, path, st, *r, NULL};
    struct tn_rows *plain, *padded;
    pthread_t thread;
    int threaded;

    p.r.ragged = 1;
    threaded = pthread_create(&thread, NULL, sniff_padded, &p) == 0;
    r->ragged = 0;
    plain = sniff(s, path, st, r);
    if (threaded)
        pthread_join(thread, NULL);
    else
        sniff_padded(&p);
    padded = p.rows;
    r->ragged = plain && padded && !same_shape(plain, padded);
    if (r->ragged || plain)
        r->dialect = sniffed_dialect(r->ragged ? padded : plain);
    tn_rows_free(plain);
    tn_rows_free(padded);
}

/*---- The route ----*/

static json_t *ingest_json(const struct ingest_state *st, const struct tn_ingest_result *res,
                           double t0)
{
    char *table = tn_asprintf("%s.%s", st->ns, st->name);
    json_t *j = json_object();

    json_object_set_new(j, "table", json_string(table));
    json_object_set_new(j, "created", json_boolean(res->created));
    json_object_set_new(j, "snapshot_id", json_integer((json_int_t)res->commit.snapshot_id));
    json_object_set_new(j, "sequence_number",
                        json_integer((json_int_t)res->commit.sequence_number));
    json_object_set_new(j, "rows_added", json_integer((json_int_t)res->rows_inserted));
    json_object_set_new(j, "rows_updated", json_integer((json_int_t)res->rows_updated));
    json_object_set_new(j, "rows_deleted", json_integer(0));
    json_object_set_new(j, "files_added", json_integer((json_int_t)res->commit.files_added));
    json_object_set_new(j, "schema_changes",
                        res->schema_changes ? json_incref(res->schema_changes) : json_array());
    json_object_set_new(j, "column_names",
                        res->column_names ? json_incref(res->column_names) : json_object());
    json_object_set_new(j, "schema", res->schema ? json_incref(res->schema) : json_null());
    json_object_set_new(j, "mode",
                        json_string(st->upsert                       ? "upsert"
                                    : st->mode == TN_WRITE_OVERWRITE ? "overwrite"
                                                                     : "append"));
    if (st->branch)
        json_object_set_new(j, "branch", json_string(st->branch));
    json_object_set_new(j, "elapsed_ms", json_real(tn_http_ms_since(t0)));
    free(table);
    return j;
}

int tn_route_ingest(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    struct ingest_state *st = req->state;
    struct tn_session *s = NULL;
    struct tn_buf sql = TN_BUF_INIT(0);
    struct tn_ingest_result res;
    struct tn_ingest_options io = {0};
    struct reader r = {0};
    double t0 = tn_monotonic_s();
    enum file_format sniffed;
    int rc;

    /* multipart fields (mode=..., format=...) are known only now */
    rc = parse_params(req, st, err);
    if (rc)
        return rc;
    if (req->upload_bytes == 0)
        return tn_fail(err, TN_EINPUT,
                       "the upload is empty: send the file as the body (curl --data-binary "
                       "@data.csv) or as the multipart field 'file' (curl -F file=@data.csv)");
    sniffed = sniff_file(req->upload_path, &r.compression);
    r.format = st->format;
    if (r.format == FF_NONE)
        r.format = format_from_name(req->upload_name);
    if (r.format == FF_NONE)
        r.format = format_from_type(req->upload_type);
    if (r.format == FF_NONE)
        r.format = sniffed;
    if (r.format == FF_NONE)
        r.format = FF_CSV;
    if ((st->delim[0] || st->header != -1) && r.format != FF_CSV)
        return tn_fail(err, TN_EINPUT, "delimiter and header apply to CSV files only");

    if (r.format == FF_CSV && req->upload_longest_line >= LONG_LINE_MAX)
        return tn_fail(err, TN_ETOOBIG,
                       "a line of the CSV file is %llu bytes long; tarn reads lines of at most "
                       "%ld MiB",
                       (unsigned long long)req->upload_longest_line, LONG_LINE_MAX >> 20);
    rc = tn_session_open(req->wh->engine, &s, err);
    if (rc)
        return rc;
    if (r.format == FF_CSV && req->upload_longest_line > DEFAULT_LINE_MAX / 2) {
        uint64_t need = (req->upload_longest_line + (2 << 20)) & ~(uint64_t)((1 << 20) - 1);
        r.max_line = (long)(need > LONG_LINE_MAX ? LONG_LINE_MAX : need);
    }
    if (r.format == FF_CSV)
        sniff_csv_dialect(req->wh->engine, s, req->upload_path, st, &r);
    for (int attempt = 0; attempt < 3; attempt++) {
        tn_buf_reset(&sql);
        reader_sql(&sql, req->upload_path, st, &r, 0);
        io.mode = st->mode;
        io.evolve = st->evolve;
        io.branch = st->branch;
        io.upsert = st->upsert;
        io.key = st->key;
        io.dedupe_last = st->dedupe_last;
        io.partition_by = st->partition_by;
        rc = tn_table_ingest_opts(req->wh, s, st->ns, st->name, sql.buf, &io, &res, err);
        if (rc == TN_EEXISTS)
            continue; /* another request created the table first: append to it */
        if (rc && r.format == FF_CSV && r.max_line < LONG_LINE_MAX && long_line_error(err)) {
            r.max_line = LONG_LINE_MAX;
            continue;
        }
        break;
    }
    if (!rc) {
        tn_http_count_commit(req->srv, &res.commit);
        tn_http_count_rows(req->srv, res.commit.rows_added);
        tn_http_reply_json(out, 200, ingest_json(st, &res, t0));
        tn_ingest_result_release(&res);
    } else {
        tn_err_prefix(err, "ingest into %s.%s: ", st->ns, st->name);
    }
    tn_session_close(s);
    tn_buf_release(&sql);
    free(r.dialect);
    return rc;
}
