/* routes_query.c - GET /query and POST /query: one read-only statement, resolved so that tarn
 * tables read their Iceberg files at one snapshot, run on its own DuckDB session and streamed
 * back as JSON, CSV, NDJSON, Parquet or an Arrow IPC stream.
 *
 * What runs: exactly one statement (a second one after ';' is refused; tn_statement_classify
 * says which kind, as it does for the command line): what DuckDB can serialise as a SELECT
 * (SELECT, WITH, VALUES, FROM-first, PIVOT, UNPIVOT, DESCRIBE, SHOW, SUMMARIZE), EXPLAIN of such
 * a statement, and -- with POST only -- INSERT INTO, UPDATE, DELETE FROM, MERGE INTO and ALTER
 * TABLE on tarn tables, each through the table layer as one commit. Everything else is refused
 * before it reaches the engine; the engine itself runs only single prepared statements of the
 * kinds tarn writes (engine.h), and its sandbox (engine.c) is the last line.
 *
 * Streaming: the statement is opened and its first 64 KiB of output rendered while the handler
 * runs, so that errors found then get their proper status; a result that ends within them is
 * answered whole (one send, with a Content-Length). Otherwise the rest is rendered chunk by
 * chunk as libmicrohttpd asks for more bytes, and nothing but the current chunk is held in
 * memory. DuckDB itself renders the cells: JSON rows with json_array(*COLUMNS(*)), NDJSON with
 * to_json, CSV cells with CAST(COLUMNS(*) AS VARCHAR). JSON has no NaN or Infinity, so those
 * become the strings "NaN", "Infinity" and "-Infinity" (as Trino's client protocol does). Arrow
 * keeps the columns' own types: the Schema message is made before the status is sent (so an
 * unsupported column type is a 400), then one RecordBatch per DuckDB chunk (engine/arrow_ipc.c).
 *
 * Time limit: a watchdog interrupts the session after --query-timeout seconds, streaming
 * included; before the first byte is sent that is a 503 with a message. A query that fails after
 * the status was sent ends its stream with an error marker the format allows (stream_error): a
 * JSON document's "error" member, an NDJSON {"error": ...} line, an Arrow stream without its
 * end-of-stream marker; every format also gets the X-Tarn-Error trailer, and CSV, which has no
 * place for one, is cut off as well so that it cannot pass for a complete result. */
#include "http/http.h"
#include "ops/ops.h"

#include <fcntl.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define STREAM_BLOCK     (64 * 1024)
#define EXPLAIN_MAX_ROWS 10000

enum format { F_JSON, F_CSV, F_NDJSON, F_PARQUET, F_ARROW };

struct query_params {
    const char *sql;
    enum format format;
    int64_t limit;  /* -1: none */
    int64_t offset; /* rows skipped before the first one sent (pagination) */
    int64_t snapshot_id;
    const char *as_of;  /* text, or NULL */
    int64_t as_of_ms;   /* -1: none (yet) */
    const char *branch; /* writes: the branch they read and change (NULL: main) */
    const char *cursor; /* a later page: the cursor the previous one gave, or NULL */
    int paged;          /* limit or cursor given: the answer gives the next page's cursor */
};

/*---- Parameters ----*/

static int parse_format(const char *f, enum format *out, struct tn_err *err)
{
    if (!f || !*f || strcasecmp(f, "json") == 0)
        *out = F_JSON;
    else if (strcasecmp(f, "csv") == 0)
        *out = F_CSV;
    else if (strcasecmp(f, "ndjson") == 0 || strcasecmp(f, "jsonl") == 0)
        *out = F_NDJSON;
    else if (strcasecmp(f, "parquet") == 0)
        *out = F_PARQUET;
    else if (strcasecmp(f, "arrow") == 0)
        *out = F_ARROW;
    else
        return tn_fail(err, TN_EINPUT,
                       "unknown format '%.40s': use json, csv, ndjson, parquet or arrow", f);
    return 0;
}

static int parse_int_param(const char *name, const char *text, json_t *j, int64_t min, int64_t *out,
                           struct tn_err *err)
{
    int64_t v = 0;
    int bad;

    if (j && json_is_null(j))
        return 0;
    if (j && json_is_integer(j)) {
        v = (int64_t)json_integer_value(j);
        bad = 0;
    } else if (j) {
        bad = !json_is_string(j) || tn_parse_i64(json_string_value(j), &v);
    } else {
        bad = !text || tn_parse_i64(text, &v);
    }
    if (bad)
        return tn_fail(err, TN_EINPUT, "%s must be a whole number", name);
    if (v < min)
        return tn_fail(err, TN_EINPUT, "%s must be at least %lld", name, (long long)min);
    *out = v;
    return 0;
}

/* The request's parameters; "sql" (GET /tables/{t}/rows) is the statement, else the request
 * gives it. */
static int query_params(struct tn_http_req *req, const char *sql, struct query_params *p,
                        struct tn_err *err)
{
    const char *format, *limit, *snap;
    json_t *body = req->json;
    int rc;

    memset(p, 0, sizeof(*p));
    p->limit = -1;
    p->snapshot_id = -1;
    p->as_of_ms = -1;
    if (strcmp(req->method, "POST") == 0) {
        json_t *v;
        if (!body)
            return tn_fail(err, TN_EINPUT, "send a JSON body: {\"sql\": \"SELECT ...\"}");
        v = json_object_get(body, "sql");
        if (v && !json_is_string(v))
            return tn_fail(err, TN_EINPUT, "\"sql\" must be a string");
        p->sql = json_string_value(v);
        v = json_object_get(body, "format");
        if (v && !json_is_string(v) && !json_is_null(v))
            return tn_fail(err, TN_EINPUT, "\"format\" must be a string");
        rc = parse_format(json_string_value(v), &p->format, err);
        if (!rc && json_object_get(body, "limit"))
            rc = parse_int_param("limit", NULL, json_object_get(body, "limit"), 0, &p->limit, err);
        if (!rc && json_object_get(body, "offset"))
            rc = parse_int_param("offset", NULL, json_object_get(body, "offset"), 0, &p->offset,
                                 err);
        if (!rc && json_object_get(body, "snapshot_id"))
            rc = parse_int_param("snapshot_id", NULL, json_object_get(body, "snapshot_id"),
                                 INT64_MIN, &p->snapshot_id, err);
        v = json_object_get(body, "branch");
        if (!rc && v && !json_is_null(v)) {
            char checked[TN_NAME_MAX + 1];
            if (!json_is_string(v) || tn_name_check("branch", json_string_value(v), checked, err))
                rc = tn_fail(err, TN_EINPUT, "\"branch\" must be the name of a branch");
            else
                p->branch = json_string_value(v);
        }
        v = json_object_get(body, "cursor");
        if (!rc && json_is_string(v))
            p->cursor = json_string_value(v);
        else if (!rc && v && !json_is_null(v))
            rc = tn_fail(err, TN_EINPUT, "\"cursor\" must be the string a page gave");
        v = json_object_get(body, "as_of");
        if (!rc && json_is_integer(v))
            p->as_of_ms = (int64_t)json_integer_value(v);
        else if (!rc && json_is_string(v))
            p->as_of = json_string_value(v);
        else if (!rc && v && !json_is_null(v))
            rc = tn_fail(err, TN_EINPUT,
                         "\"as_of\" must be a timestamp string or epoch milliseconds");
        if (rc)
            return rc;
    } else {
        p->sql = sql ? sql : tn_http_param(req, "sql");
        p->cursor = tn_http_param(req, "cursor");
        format = tn_http_param(req, "format");
        limit = tn_http_param(req, "limit");
        snap = tn_http_param(req, "snapshot_id");
        p->as_of = tn_http_param(req, "as_of");
        rc = parse_format(format, &p->format, err);
        if (!rc && limit)
            rc = parse_int_param("limit", limit, NULL, 0, &p->limit, err);
        if (!rc && snap)
            rc = parse_int_param("snapshot_id", snap, NULL, INT64_MIN, &p->snapshot_id, err);
        if (!rc && tn_http_param(req, "offset"))
            rc = parse_int_param("offset", tn_http_param(req, "offset"), NULL, 0, &p->offset, err);
        if (rc)
            return rc;
    }
    if (!p->sql || !*p->sql)
        return tn_fail(err, TN_EINPUT, "give the query in \"sql\"");
    if (p->as_of && !*p->as_of)
        p->as_of = NULL;
    if (p->as_of && p->snapshot_id != -1)
        return tn_fail(err, TN_EINPUT, "give snapshot_id or as_of, not both");
    if (p->cursor && !*p->cursor)
        p->cursor = NULL;
    if (p->cursor && (p->offset || p->as_of || p->as_of_ms != -1 || p->snapshot_id != -1))
        return tn_fail(err, TN_EINPUT,
                       "a cursor carries its offset and snapshots: leave out offset, "
                       "snapshot_id and as_of");
    p->paged = p->limit >= 0 || p->cursor; /* pages that give cursors */
    if (p->limit == -1 && p->format == F_JSON)
        p->limit = req->opt->row_limit;
    return 0;
}

/*---- Statement classification ----*/

/* The error's text for the user (its status comes from DuckDB's error type, engine/errors.c).
 * "wrapped": the statement that failed was the rewritten one, whose text (DuckDB's "LINE 1:
 * ..." excerpt) would only confuse the user. */
static void trim_engine_error(struct tn_err *err, int wrapped)
{
    char *line = wrapped ? strstr(err->msg, "\n\nLINE ") : NULL;

    if (line)
        *line = '\0';
}

/*---- Rendering ----*/

/* Append JSON text, turning the bare NaN, Infinity and -Infinity DuckDB writes into strings. */
static void add_json(struct tn_buf *b, const char *s, size_t n)
{
    size_t start = 0;
    int in_str = 0;

    if (!memchr(s, 'N', n) && !memchr(s, 'I', n)) {
        tn_buf_add(b, s, n, NULL);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c == 'N' && i + 3 <= n && memcmp(s + i, "NaN", 3) == 0) {
            tn_buf_add(b, s + start, i - start, NULL);
            tn_buf_addstr(b, "\"NaN\"", NULL);
            i += 2;
            start = i + 1;
        } else if ((c == 'I' || c == '-') && i + 8 + (c == '-') <= n &&
                   memcmp(s + i + (c == '-'), "Infinity", 8) == 0) {
            tn_buf_add(b, s + start, i - start, NULL);
            tn_buf_addstr(b, c == '-' ? "\"-Infinity\"" : "\"Infinity\"", NULL);
            i += 7 + (c == '-');
            start = i + 1;
        }
    }
    tn_buf_add(b, s + start, n - start, NULL);
}

static void add_csv_cell(struct tn_buf *b, const char *v, size_t n)
{
    size_t start = 0;

    if (!v)
        return; /* NULL is an empty field; an empty string is "" */
    if (n && !memchr(v, ',', n) && !memchr(v, '"', n) && !memchr(v, '\n', n) &&
        !memchr(v, '\r', n)) {
        tn_buf_add(b, v, n, NULL);
        return;
    }
    tn_buf_add(b, "\"", 1, NULL);
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '"') {
            tn_buf_add(b, v + start, i + 1 - start, NULL);
            tn_buf_add(b, "\"", 1, NULL);
            start = i + 1;
        }
    }
    tn_buf_add(b, v + start, n - start, NULL);
    tn_buf_add(b, "\"", 1, NULL);
}

/*---- Streaming ----*/

struct qstream {
    struct tn_http_server *srv;
    struct tn_session *session;
    struct tn_http_watch *watch;
    struct tn_stream *st;
    enum format format;
    int64_t limit;
    int64_t sent;
    size_t chunk_rows, chunk_pos;
    int truncated, done, finished;
    int64_t offset;    /* the request's offset, for the JSON trailer */
    char *next_cursor; /* the next page's cursor, for the JSON trailer (NULL: none) */
    int cut;           /* after the error marker, end the transfer with an error (CSV) */
    int timeout_s;     /* --query-timeout, for the message */
    struct MHD_Response *response; /* for the error trailer */
    double t0;
    struct tn_buf out;
    size_t out_pos;
};

/* Release the stream and its session: kept for the next request (with its prepared
 * statements) when the stream ended "clean"ly and was not interrupted, else closed. */
static void qstream_release(struct qstream *q, int clean)
{
    tn_stream_close(q->st);
    q->st = NULL;
    if (tn_http_watch_end(q->srv, q->watch))
        clean = 0;
    q->watch = NULL;
    if (clean)
        tn_session_keep(q->session);
    else
        tn_session_close(q->session);
    q->session = NULL;
}

static void qstream_free(void *cls)
{
    struct qstream *q = cls;

    qstream_release(q, 0);
    tn_buf_release(&q->out);
    free(q->next_cursor);
    free(q);
}

static void render_row(struct qstream *q, size_t row)
{
    size_t ncols = tn_stream_ncols(q->st), len = 0;
    const char *v;

    switch (q->format) {
    case F_JSON:
        v = tn_stream_cell(q->st, row, 0, &len);
        if (q->sent)
            tn_buf_add(&q->out, ",", 1, NULL);
        if (v)
            add_json(&q->out, v, len);
        else
            tn_buf_addstr(&q->out, "null", NULL);
        break;
    case F_NDJSON:
        v = tn_stream_cell(q->st, row, 0, &len);
        if (v)
            add_json(&q->out, v, len);
        else
            tn_buf_addstr(&q->out, "null", NULL);
        tn_buf_add(&q->out, "\n", 1, NULL);
        break;
    case F_CSV:
        for (size_t c = 0; c < ncols; c++) {
            if (c)
                tn_buf_add(&q->out, ",", 1, NULL);
            v = tn_stream_cell(q->st, row, c, &len);
            add_csv_cell(&q->out, v, len);
        }
        tn_buf_add(&q->out, "\n", 1, NULL);
        break;
    case F_PARQUET:
    case F_ARROW:
        break;
    }
}

/* The query failed after the status was sent: end the output with the error in a form the
 * format allows (see the top of this file) and release the session. */
static void stream_error(struct qstream *q, const struct tn_err *cause)
{
    int timed_out = tn_http_watch_fired(q->watch);
    char msg[sizeof(cause->msg) + 160];
    json_t *e;
    char *text;

    if (timed_out)
        snprintf(msg, sizeof(msg),
                 "the query ran longer than this server allows (%d s, --query-timeout) and was "
                 "cancelled after %lld rows; narrow it down or add a LIMIT",
                 q->timeout_s, (long long)q->sent);
    else
        snprintf(msg, sizeof(msg), "the query failed after %lld rows: %s", (long long)q->sent,
                 cause->msg);
    fprintf(stderr, "tarn: query stream: %s\n", msg);
    e = json_pack("{s:s, s:s, s:i}", "message", msg, "type",
                  timed_out ? "ServiceUnavailableException" : "InternalServerError", "code",
                  timed_out ? 503 : 500);
    if (!e) /* not valid UTF-8 */
        e = json_pack("{s:s, s:s, s:i}", "message", "the query failed", "type",
                      "InternalServerError", "code", 500);
    text = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    if (q->format == F_JSON)
        tn_buf_addf(&q->out, NULL,
                    "],\"row_count\":%lld,\"truncated\":true,\"elapsed_ms\":%.3f,\"error\":%s}",
                    (long long)q->sent, (tn_monotonic_s() - q->t0) * 1000.0, text);
    else if (q->format == F_NDJSON)
        tn_buf_addf(&q->out, NULL, "{\"error\":%s}\n", text);
    q->cut = q->format == F_CSV;
    /* the trailer is sent after the last chunk (HTTP/1.1 chunked transfer) */
    if (q->response)
        MHD_add_response_footer(q->response, "X-Tarn-Error", msg);
    free(text);
    q->done = 1;
    q->finished = 1;
    qstream_release(q, 0);
}

/* Render rows into q->out until it holds STREAM_BLOCK bytes or the rows end (q->done): the rest
 * of the current chunk, then the next chunks. A chunk that cannot be fetched or converted
 * fails with "err". */
static int fill(struct qstream *q, struct tn_err *err)
{
    while (!q->done && q->out.len < STREAM_BLOCK) {
        if (q->chunk_pos >= q->chunk_rows) {
            q->chunk_pos = 0;
            if (tn_stream_next(q->st, &q->chunk_rows, err))
                return err->code;
            if (q->chunk_rows == 0) {
                q->done = 1;
                break;
            }
        }
        if (q->format == F_ARROW) {
            if (tn_stream_arrow_batch(q->st, &q->out, err))
                return err->code;
            q->sent += (int64_t)q->chunk_rows;
            q->chunk_pos = q->chunk_rows;
            continue;
        }
        while (q->chunk_pos < q->chunk_rows && q->out.len < STREAM_BLOCK) {
            if (q->limit >= 0 && q->sent >= q->limit) {
                q->truncated = 1;
                q->done = 1;
                break;
            }
            render_row(q, q->chunk_pos++);
            q->sent++;
        }
    }
    return 0;
}

/* The rows are all out: end the output (JSON's trailing members, Arrow's end-of-stream) and
 * release the session, kept for the next request. */
static void finish(struct qstream *q)
{
    if (q->format == F_JSON) {
        tn_buf_addf(&q->out, NULL, "],\"row_count\":%lld,\"truncated\":%s,\"offset\":%lld,",
                    (long long)q->sent, q->truncated ? "true" : "false", (long long)q->offset);
        if (q->truncated) /* where the next page starts */
            tn_buf_addf(&q->out, NULL, "\"next_offset\":%lld,", (long long)(q->offset + q->sent));
        if (q->truncated && q->next_cursor)
            tn_buf_addf(&q->out, NULL, "\"next_cursor\":\"%s\",", q->next_cursor);
        tn_buf_addf(&q->out, NULL, "\"elapsed_ms\":%.3f}", (tn_monotonic_s() - q->t0) * 1000.0);
    } else if (q->format == F_ARROW) {
        tn_stream_arrow_end(&q->out);
    }
    q->finished = 1;
    qstream_release(q, 1); /* the session is free again as soon as the rows are out */
}

/* Put the next piece of output in q->out: more rows, and after the last the end (or the error
 * marker when the query fails). */
static void produce(struct qstream *q)
{
    struct tn_err err = {0};

    if (fill(q, &err))
        stream_error(q, &err);
    else if (q->done)
        finish(q);
}

static ssize_t qstream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct qstream *q = cls;
    size_t n;

    (void)pos;
    while (q->out_pos >= q->out.len) {
        if (q->finished)
            return q->cut ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
        tn_buf_reset(&q->out);
        q->out_pos = 0;
        produce(q);
    }
    n = q->out.len - q->out_pos;
    if (n > max)
        n = max;
    memcpy(buf, q->out.buf + q->out_pos, n);
    q->out_pos += n;
    return (ssize_t)n;
}

/*---- The formats ----*/

/* Stream the rows of "resolved" (tn_query_resolve's answer to "user_sql" with "qo"; with
 * "explain", its plan) in p->format. A statement whose result depends on its text alone
 * (tn_query_fixed) runs the session's prepared statement for the text when it has one. On
 * success "q" is the response's (streamed) or already freed (answered whole). */
static int run_stream(struct tn_http_req *req, const struct query_params *p, struct qstream *q,
                      const char *explain, const char *user_sql, const struct tn_query_options *qo,
                      const char *resolved, struct tn_http_reply *out, struct tn_err *err)
{
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    const char *ctype = "application/json";
    char *columns = NULL;
    int rc = 0;

    switch (p->format) {
    case F_JSON:
        rc = tn_query_columns(req->wh, q->session, user_sql, qo, resolved, &columns, err);
        if (!rc)
            tn_buf_addf(&q->out, NULL, "{\"columns\":%s,\"rows\":[", columns);
        free(columns);
        tn_buf_addf(&sql, NULL, "SELECT CAST(json_array(*COLUMNS(*)) AS VARCHAR) FROM (%s) _t",
                    resolved);
        break;
    case F_NDJSON:
        ctype = "application/x-ndjson";
        tn_buf_addf(&sql, NULL, "SELECT CAST(to_json(_t) AS VARCHAR) FROM (%s) _t", resolved);
        break;
    case F_ARROW:
        ctype = "application/vnd.apache.arrow.stream";
        tn_buf_addf(&sql, NULL, "%s%sSELECT * FROM (%s) _t", explain, *explain ? " " : "",
                    resolved);
        break;
    default:
        ctype = "text/csv; charset=utf-8";
        tn_buf_addf(&sql, NULL, "SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (%s) _t", resolved);
        break;
    }
    if (p->limit >= 0) /* one more row tells JSON that the result was truncated */
        tn_buf_addf(&sql, NULL, " LIMIT %lld", (long long)p->limit + (p->format != F_ARROW));
    if (p->offset > 0)
        tn_buf_addf(&sql, NULL, " OFFSET %lld", (long long)p->offset);
    if (!rc && tn_query_fixed(req->wh, user_sql, qo, resolved))
        rc = tn_stream_open_kept(q->session, sql.buf, &q->st, err);
    else if (!rc)
        rc = tn_stream_open(q->session, sql.buf, &q->st, err);
    if (!rc && p->format == F_ARROW)
        rc = tn_stream_arrow_schema(q->st, &q->out, err);
    tn_buf_release(&sql);
    if (rc)
        return rc;
    tn_http_reply_soon(); /* DuckDB has run the statement; the rendering is left */
    if (p->format == F_CSV) {
        for (size_t c = 0; c < tn_stream_ncols(q->st); c++) {
            const char *name = tn_stream_name(q->st, c);
            if (c)
                tn_buf_add(&q->out, ",", 1, NULL);
            add_csv_cell(&q->out, name, strlen(name));
        }
        tn_buf_add(&q->out, "\n", 1, NULL);
    }
    /* the first STREAM_BLOCK bytes of rows: most errors show up here, while a status can still
     * be sent. A result that ends within them is answered whole -- one send with its length,
     * no chunked stream for the connection's thread to pull -- and its session is free again
     * before the answer leaves. */
    rc = fill(q, err);
    if (rc)
        return rc;
    if (q->done) {
        size_t len;
        char *body;
        finish(q);
        body = tn_buf_detach(&q->out, &len);
        tn_http_reply_text(out, 200, ctype, body, len);
        qstream_free(q);
        return 0;
    }
    out->status = 200;
    out->response = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, qstream_read,
                                                      q, qstream_free);
    if (!out->response)
        abort();
    MHD_add_response_header(out->response, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(out->response, "Trailer", "X-Tarn-Error");
    q->response = out->response;
    q->timeout_s = req->opt->query_timeout;
    return 0;
}

static int run_parquet(struct tn_http_req *req, const struct query_params *p, struct tn_session *s,
                       const char *resolved, struct tn_http_reply *out, struct tn_err *err)
{
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    char uuid[37];
    char *path;
    struct stat sb;
    int fd = -1, rc;

    tn_uuid4(uuid);
    path = tn_asprintf("%s/query-%s.parquet", tn_http_tmp_dir(req->srv), uuid);
    tn_buf_addf(&sql, NULL, "COPY (SELECT * FROM (%s) _t", resolved);
    if (p->limit >= 0)
        tn_buf_addf(&sql, NULL, " LIMIT %lld", (long long)p->limit);
    if (p->offset > 0)
        tn_buf_addf(&sql, NULL, " OFFSET %lld", (long long)p->offset);
    tn_buf_addstr(&sql, ") TO ", NULL);
    tn_sql_string(&sql, path);
    tn_buf_addstr(&sql, " (FORMAT parquet, COMPRESSION zstd)", NULL);
    rc = tn_engine_exec(s, sql.buf, err);
    if (!rc) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &sb))
            rc = tn_fail(err, TN_EINTERNAL, "cannot read back the Parquet result");
    }
    unlink(path); /* the open descriptor keeps the data until the response is sent */
    if (!rc) {
        out->status = 200;
        out->response = MHD_create_response_from_fd64((uint64_t)sb.st_size, fd);
        if (!out->response)
            abort();
        fd = -1; /* libmicrohttpd closes it */
        MHD_add_response_header(out->response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "application/vnd.apache.parquet");
        MHD_add_response_header(out->response, MHD_HTTP_HEADER_CONTENT_DISPOSITION,
                                "attachment; filename=\"result.parquet\"");
    }
    if (fd >= 0)
        close(fd);
    free(path);
    tn_buf_release(&sql);
    return rc;
}

/* Put tarn's planning counts before DuckDB's plan rows, one row per table scanned:
 * ("tarn_scan", "default.t (snapshot 1): manifests 2 of 5 kept, ..."). */
static void prepend_plan(struct tn_rows *r, json_t *plan)
{
    size_t n = json_array_size(plan), i;
    json_t *entry;

    if (!n || r->ncols < 2)
        return;
    r->cells = tn_realloc(r->cells, (r->nrows + n) * r->ncols * sizeof(*r->cells));
    memmove(r->cells + n * r->ncols, r->cells, r->nrows * r->ncols * sizeof(*r->cells));
    memset(r->cells, 0, n * r->ncols * sizeof(*r->cells));
    json_array_foreach(plan, i, entry)
    {
        r->cells[i * r->ncols] = tn_strdup("tarn_scan");
        r->cells[i * r->ncols + r->ncols - 1] = tn_plan_describe(entry);
    }
    r->nrows += n;
}

/* EXPLAIN [ANALYZE] of a resolved SELECT: a small result, answered whole. */
static int run_explain(const struct query_params *p, struct tn_session *s, const char *prefix,
                       const char *resolved, json_t *plan, double t0, struct tn_http_reply *out,
                       struct tn_err *err)
{
    char *sql = tn_asprintf("%s %s", prefix, resolved);
    struct tn_rows *r = NULL;
    int rc = tn_engine_rows(s, sql, EXPLAIN_MAX_ROWS, &r, err);

    free(sql);
    if (rc)
        return rc;
    prepend_plan(r, plan);
    if (p->format == F_CSV) {
        struct tn_buf b = TN_BUF_INIT(TN_CAP_RESULT);
        size_t len;
        char *text;
        for (size_t c = 0; c < r->ncols; c++) {
            if (c)
                tn_buf_add(&b, ",", 1, NULL);
            add_csv_cell(&b, r->names[c], strlen(r->names[c]));
        }
        tn_buf_add(&b, "\n", 1, NULL);
        for (size_t i = 0; i < r->nrows; i++) {
            for (size_t c = 0; c < r->ncols; c++) {
                const char *v = tn_rows_get(r, i, c);
                if (c)
                    tn_buf_add(&b, ",", 1, NULL);
                add_csv_cell(&b, v, v ? strlen(v) : 0);
            }
            tn_buf_add(&b, "\n", 1, NULL);
        }
        text = tn_buf_detach(&b, &len);
        tn_http_reply_text(out, 200, "text/csv; charset=utf-8", text ? text : tn_strdup(""), len);
    } else {
        json_t *cols = json_array(), *rows;
        for (size_t c = 0; c < r->ncols; c++)
            json_array_append_new(cols,
                                  json_pack("{s:s, s:s}", "name", r->names[c], "type", "VARCHAR"));
        rows = tn_rows_json(r, r->nrows);
        tn_http_reply_json(out, 200,
                           json_pack("{s:o, s:o, s:I, s:b, s:f, s:O}", "columns", cols, "rows",
                                     rows, "row_count", (json_int_t)r->nrows, "truncated", 0,
                                     "elapsed_ms", tn_http_ms_since(t0), "plan", plan));
    }
    tn_rows_free(r);
    return 0;
}

/*---- Writes: INSERT, UPDATE, DELETE, MERGE and ALTER TABLE (POST only), each one commit ----*/

/* A change's RETURNING rows, as "columns" and "rows" (strings, like format=json's cells
 * before typing) beside the change's answer "j"; the kept rows are released. */
#define RETURNING_ROWS_MAX 100000
static int returning_rows(struct tn_session *s, struct tn_returning *ret, json_t *j,
                          struct tn_err *err)
{
    struct tn_rows *r = NULL;
    json_t *cols;
    int rc;

    if (!ret->sql)
        return 0;
    rc = tn_engine_rows(s, ret->sql, RETURNING_ROWS_MAX, &r, err);
    tn_returning_release(s, ret);
    if (rc == TN_ETOOBIG)
        return tn_fail(err, TN_ETOOBIG,
                       "RETURNING: more than %d rows; the change is committed, read the rows "
                       "with a query",
                       RETURNING_ROWS_MAX);
    if (rc)
        return rc;
    cols = json_array();
    for (size_t c = 0; c < r->ncols; c++)
        json_array_append_new(cols, json_pack("{s:s}", "name", r->names[c]));
    json_object_set_new(j, "columns", cols);
    json_object_set_new(j, "rows", tn_rows_json(r, r->nrows));
    json_object_set_new(j, "row_count", json_integer((json_int_t)r->nrows));
    tn_rows_free(r);
    return 0;
}

/* The answer to a change (INSERT, UPDATE, DELETE, MERGE, ALTER, CREATE, DROP) that ran. */
static int reply_change(struct tn_http_req *req, struct tn_session *s, struct tn_op_sql_result *res,
                        double t0, struct tn_http_reply *out, struct tn_err *err)
{
    enum tn_stmt_kind k = res->st.kind;
    char *table = tn_asprintf("%s.%s", res->ns, res->table);
    json_t *j;
    int rc;

    if (k == TN_STMT_INSERT ||
        ((k == TN_STMT_CREATE || k == TN_STMT_DROP) && res->commit.snapshot_id != -1))
        tn_http_count_commit(req->srv, &res->commit);
    j = json_pack("{s:I, s:o, s:s, s:f}", "rows_affected", (json_int_t)res->rows_affected,
                  "snapshot_id",
                  res->commit.snapshot_id == -1 ? json_null()
                                                : json_integer((json_int_t)res->commit.snapshot_id),
                  res->view ? "view" : "table", table, "elapsed_ms", tn_http_ms_since(t0));
    free(table);
    if (res->view)
        json_object_set_new(j, "replaced", json_boolean(res->replaced));
    if (k == TN_STMT_INSERT)
        json_object_set_new(j, "sequence_number",
                            json_integer((json_int_t)res->commit.sequence_number));
    if (k == TN_STMT_CREATE || k == TN_STMT_DROP) {
        json_object_set_new(j, "created", json_boolean(res->created));
        json_object_set_new(j, "dropped", json_boolean(res->dropped));
    }
    rc = returning_rows(s, &res->returning, j, err);
    if (rc) {
        json_decref(j);
        return rc;
    }
    tn_http_reply_json(out, 200, j);
    return 0;
}

/*---- The route ----*/

/* The snapshot each tarn table of a resolved read was read at (from its plan), as pins. */
static json_t *pins_of_plan(const json_t *plan)
{
    json_t *pins = json_object(), *entry;
    size_t i;

    json_array_foreach(plan, i, entry)
    {
        const char *table = json_string_value(json_object_get(entry, "table"));
        json_t *snap = json_object_get(entry, "snapshot_id");
        if (table && json_is_integer(snap) && json_integer_value(snap) != -1)
            json_object_set(pins, table, snap);
    }
    return pins;
}

/* POST or GET /query, or (with "sql" given) GET /tables/{t}/rows. */
static int run_query(struct tn_http_req *req, const char *sql, struct tn_http_reply *out,
                     struct tn_err *err)
{
    struct query_params p;
    struct tn_op_sql op;
    struct tn_op_sql_result res;
    json_t *pins = NULL;
    char *next_cursor = NULL;
    struct qstream *q = NULL;
    struct tn_session *s = NULL;
    struct tn_http_watch *w = NULL;
    char explain[32] = "";
    double t0 = tn_monotonic_s();
    int rc;

    memset(&op, 0, sizeof(op));
    memset(&res, 0, sizeof(res));
    rc = query_params(req, sql, &p, err);
    if (rc)
        return rc;
    if (p.cursor) {
        rc = tn_cursor_read(p.cursor, p.sql, &p.offset, &pins, err);
        if (rc)
            return rc;
    }
    rc = tn_session_reuse(req->wh->engine, &s, err);
    if (rc) {
        json_decref(pins);
        return rc;
    }
    w = tn_http_watch_begin(req->srv, s, req->opt->query_timeout);
    op.sql = p.sql;
    op.as_of = p.as_of;
    op.qo.snapshot_id = p.snapshot_id;
    op.qo.branch = p.branch;
    if (strcmp(req->method, "POST") != 0)
        op.read_only_hint = "GET /query only reads; send it with POST /query";
    rc = tn_op_sql_prepare(s, &op, &res, err);
    if (rc)
        goto out;
    p.as_of_ms = op.qo.as_of_ms;
    if (tn_op_sql_changes(&res)) {
        /* a commit: the watchdog must not cut it short */
        tn_http_watch_end(req->srv, w);
        w = NULL;
        rc = tn_op_sql_execute(req->wh, s, &op, &res, err);
        if (!rc)
            rc = reply_change(req, s, &res, t0, out, err);
        goto out;
    }
    if (res.st.kind == TN_STMT_EXPLAIN)
        snprintf(explain, sizeof(explain), "%s", res.st.analyze ? "EXPLAIN ANALYZE" : "EXPLAIN");
    if (*explain || (p.paged && !pins)) /* a first page: which snapshots it reads */
        op.qo.plan = json_array();
    op.qo.pins = pins;
    rc = tn_op_sql_execute(req->wh, s, &op, &res, err);
    if (rc)
        goto out;
    if (!*explain && p.paged && p.limit >= 0) {
        if (!pins)
            pins = pins_of_plan(op.qo.plan);
        next_cursor = tn_cursor_make(p.sql, p.offset + p.limit, pins);
    }
    if (*explain && p.format != F_ARROW) {
        rc = run_explain(&p, s, explain, res.resolved, op.qo.plan, t0, out, err);
        goto out;
    }
    if (p.format == F_PARQUET) {
        rc = run_parquet(req, &p, s, res.resolved, out, err);
        if (!rc && next_cursor)
            MHD_add_response_header(out->response, "X-Tarn-Next-Cursor", next_cursor);
        goto out;
    }
    q = tn_calloc(1, sizeof(*q));
    q->srv = req->srv;
    q->session = s;
    q->watch = w;
    q->format = p.format;
    q->limit = p.limit;
    q->offset = p.offset;
    q->t0 = t0;
    if (p.format == F_JSON) { /* the JSON document names it at its end */
        q->next_cursor = next_cursor;
        next_cursor = NULL;
    }
    rc = run_stream(req, &p, q, explain, res.st.body, &op.qo, res.resolved, out, err);
    if (!rc && next_cursor)
        MHD_add_response_header(out->response, "X-Tarn-Next-Cursor", next_cursor);
    if (!rc) {
        s = NULL; /* the stream owns the session and the watch now, or released them */
        w = NULL;
        q = NULL;
    } else {
        tn_stream_close(q->st);
        tn_buf_release(&q->out);
        free(q->next_cursor);
        free(q);
        q = NULL;
    }
out:
    if (tn_http_watch_end(req->srv, w) && rc)
        rc = tn_fail(err, TN_EUNAVAILABLE,
                     "the query ran longer than this server allows (%d s, --query-timeout) and "
                     "was cancelled; narrow it down or add a LIMIT",
                     req->opt->query_timeout);
    if (rc)
        trim_engine_error(err, res.resolved != NULL);
    if (s)
        tn_op_sql_release(s, &res);
    else
        free(res.resolved);
    tn_session_close(s);
    free(next_cursor);
    json_decref(pins);
    json_decref(op.qo.plan);
    return rc ? err->code : 0;
}

int tn_route_query(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    return run_query(req, NULL, out, err);
}

int tn_route_table_rows(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    const struct table_arg *a = req->state;
    struct tn_buf sql = TN_BUF_INIT(TN_CAP_SQL);
    int rc;

    if (tn_http_param(req, "sql"))
        return tn_fail(err, TN_EINPUT,
                       "GET /tables/{table}/rows reads the table: leave out sql "
                       "(POST /query runs statements)");
    tn_buf_addstr(&sql, "SELECT * FROM ", NULL);
    tn_sql_ident(&sql, a->ns);
    tn_buf_addstr(&sql, ".", NULL);
    tn_sql_ident(&sql, a->name);
    rc = run_query(req, sql.buf, out, err);
    tn_buf_release(&sql);
    return rc;
}
