/* routes_ingest.c - POST /ingest/{table}: the request body (streamed to a temporary file by
 * server.c) becomes rows of an Iceberg table, in one commit (append, overwrite or keyed upsert;
 * evolve=add|strict; branch= writes to a branch). The format comes from format=, else the
 * multipart file name, else the content type, else the file's first bytes.
 *
 * A plain CSV or NDJSON body longer than TN_STREAM_HEAD is converted while it arrives
 * (src/ingest/stream.c, fed from the connection's thread) and committed when the handler runs,
 * if the parameters it was started with are still the request's (multipart fields may come
 * after the file). Otherwise -- and whenever the stream commits nothing (a value its first
 * part's types cannot hold, ...) -- the whole file is read through tn_source_ingest (src/table/
 * source.c: format, compression, CSV dialect). The temporary file is deleted by server.c when
 * the request completes, whatever happened. */
#include "http/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ingest_state {
    char ns[TN_NAME_MAX + 1];
    char name[TN_NAME_MAX + 1];
    enum tn_write_mode mode;
    int upsert;
    int dedupe_last;
    enum tn_evolve_mode evolve;
    const char *key;          /* borrowed from the request */
    const char *branch;       /* borrowed from the request; NULL: main */
    const char *partition_by; /* borrowed; the spec of a table this ingest creates */
    int format_version;       /* of a table this ingest creates; 0: the default */
    const char *types;        /* borrowed; "col:type,..." read as these types */
    enum tn_source_format format;
    char delim[8];
    int header;                /* -1: detect */
    struct tn_csv_options csv; /* nullstr, decimal_separator, dateformat, ... */
    struct tn_stream *stream;  /* the body converted as it arrives, or NULL */
    char *stream_params;       /* the parameters the stream was started with */
    int stream_tried;
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
    st->types = tn_http_param(req, "types");
    if (st->types && !*st->types)
        st->types = NULL;
    st->partition_by = tn_http_param(req, "partition_by");
    if (st->partition_by && !*st->partition_by)
        st->partition_by = NULL;
    {
        const char *fv = tn_http_param(req, "format_version");
        if (fv && *fv) {
            if (strcmp(fv, "2") != 0 && strcmp(fv, "3") != 0)
                return tn_fail(err, TN_EINPUT, "format_version must be 2 or 3, not '%.40s'", fv);
            st->format_version = fv[0] - '0';
        }
    }

    st->format = TN_SOURCE_DETECT;
    if (format && *format) {
        if (strcasecmp(format, "csv") == 0 || strcasecmp(format, "tsv") == 0)
            st->format = TN_SOURCE_CSV;
        else if (strcasecmp(format, "json") == 0)
            st->format = TN_SOURCE_JSON;
        else if (strcasecmp(format, "ndjson") == 0 || strcasecmp(format, "jsonl") == 0)
            st->format = TN_SOURCE_NDJSON;
        else if (strcasecmp(format, "parquet") == 0)
            st->format = TN_SOURCE_PARQUET;
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
    if ((st->delim[0] || st->header != -1) && st->format != TN_SOURCE_DETECT &&
        st->format != TN_SOURCE_CSV)
        return tn_fail(err, TN_EINPUT, "delimiter and header apply to CSV files only");
    tn_csv_options_init(&st->csv);
    for (size_t i = 1; tn_csv_option_names[i]; i++) { /* [0] is the delimiter, read above */
        const char *v = tn_http_param(req, tn_csv_option_names[i]);
        if (v && tn_csv_option_set(&st->csv, tn_csv_option_names[i], v, err))
            return err->code;
    }
    if (tn_csv_options_given(&st->csv) && st->format != TN_SOURCE_DETECT &&
        st->format != TN_SOURCE_CSV)
        return tn_fail(err, TN_EINPUT,
                       "CSV options (nullstr, decimal_separator, dateformat, timestampformat, "
                       "encoding, quote, escape, skip, comment) apply to CSV files only");
    return 0;
}

static int dry_run(const struct tn_http_req *req)
{
    const char *v = tn_http_param(req, "dry_run");

    return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* The parameters as one string, to tell whether the handler's are the stream's. */
static char *params_text(const struct tn_http_req *req, const struct ingest_state *st)
{
    struct tn_buf b = TN_BUF_INIT(0);

    tn_buf_addf(&b, NULL, "%d|%d|%d|%d|%d|%s|%s|%s|%d|%s|%d|%d|%s|%d", (int)st->mode, st->upsert,
                st->dedupe_last, (int)st->evolve, (int)st->format, st->key ? st->key : "",
                st->branch ? st->branch : "", st->partition_by ? st->partition_by : "", st->header,
                st->delim, dry_run(req), tn_route_is_source_ingest(req), st->types ? st->types : "",
                st->format_version);
    for (size_t i = 1; tn_csv_option_names[i]; i++) {
        const char *v = tn_http_param(req, tn_csv_option_names[i]);
        tn_buf_addf(&b, NULL, "|%s=%s", v ? "1" : "0", v ? v : "");
    }
    return tn_buf_detach(&b, NULL);
}

static void ingest_options(const struct ingest_state *st, struct tn_ingest_options *io)
{
    memset(io, 0, sizeof(*io));
    io->mode = st->mode;
    io->evolve = st->evolve;
    io->branch = st->branch;
    io->upsert = st->upsert;
    io->key = st->key;
    io->dedupe_last = st->dedupe_last;
    io->partition_by = st->partition_by;
    io->format_version = st->format_version;
    io->types = st->types;
}

static void source_options(const struct tn_http_req *req, const struct ingest_state *st,
                           struct tn_source *src)
{
    memset(src, 0, sizeof(*src));
    src->format = st->format;
    src->name = req->upload_name;
    src->more_paths = (const char *const *)req->upload_more; /* further multipart files */
    src->content_type = req->upload_type;
    memcpy(src->delim, st->delim, sizeof(src->delim));
    src->header = st->header;
    src->csv = st->csv;
    src->longest_line = req->upload_longest_line;
    src->max_decompressed = req->opt->max_decompressed;
    src->temp_dir = tn_http_tmp_dir(req->srv);
}

/* The first piece of the body: start converting it as it arrives, with the parameters known
 * now (the query's, and multipart fields sent before the file). */
static void stream_start(struct tn_http_req *req, struct ingest_state *st)
{
    struct ingest_state now = *st;
    struct tn_ingest_options io;
    struct tn_source src;
    struct tn_err err;

    /* explicit types are applied by the whole-file read */
    if (parse_params(req, &now, &err) || dry_run(req) || now.upsert || now.types ||
        tn_route_is_source_ingest(req))
        return;
    ingest_options(&now, &io);
    source_options(req, &now, &src);
    tn_source_table_dialect(req->wh, now.ns, now.name, &src);
    if (tn_stream_new(req->wh, tn_http_tmp_dir(req->srv), now.ns, now.name, &src, &io, &st->stream))
        return;
    tn_stream_set_piece_size(st->stream, (int64_t)req->opt->stream_piece);
    st->stream_params = params_text(req, &now);
}

static void ingest_on_body(struct tn_http_req *req, const char *data, size_t n)
{
    struct ingest_state *st = req->state;

    if (!st->stream_tried) {
        st->stream_tried = 1;
        stream_start(req, st);
    }
    if (st->stream)
        tn_stream_feed(st->stream, data, n);
}

static void ingest_on_body_end(struct tn_http_req *req, int complete)
{
    struct ingest_state *st = req->state;

    if (st->stream)
        tn_stream_end(st->stream, complete);
}

static void ingest_state_free(void *p)
{
    struct ingest_state *st = p;

    tn_stream_free(st->stream);
    free(st->stream_params);
    free(st);
}

int tn_route_ingest_begin(struct tn_http_req *req, struct tn_err *err)
{
    struct ingest_state *st;

    if (tn_route_is_source_ingest(req)) /* a database source: tn_route_ingest_source */
        return 0;
    st = tn_calloc(1, sizeof(*st));
    if (tn_ident_parse(req->arg ? req->arg : "", st->ns, st->name, err) ||
        parse_params(req, st, err)) {
        free(st);
        return err->code;
    }
    req->state = st;
    req->free_state = ingest_state_free;
    req->on_body = ingest_on_body;
    req->on_body_end = ingest_on_body_end;
    return 0;
}

/*---- The route ----*/

#define PREVIEW_ROWS 20 /* rows a dry run answers */

static json_t *ingest_json(const struct ingest_state *st, const struct tn_ingest_result *res,
                           int streamed, double t0)
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
    json_object_set_new(j, "streamed", json_boolean(streamed));
    json_object_set_new(j, "elapsed_ms", json_real(tn_http_ms_since(t0)));
    free(table);
    return j;
}

/* ?dry_run=true: the inferred schema and the first rows of the upload, and nothing committed.
 * Closes "s" and releases "src". */
static int preview(struct tn_http_req *req, struct tn_session *s, struct tn_source *src,
                   struct tn_http_reply *out, struct tn_err *err)
{
    json_t *p = NULL;
    int rc = tn_source_preview(s, req->upload_path, src, PREVIEW_ROWS, &p, err);

    if (!rc) {
        json_object_set_new(p, "dry_run", json_true());
        tn_http_reply_json(out, 200, p);
    }
    tn_session_close(s);
    tn_source_release(src);
    return rc;
}

/* The stream's outcome: 0 with *res when it committed, TN_STREAM_NOT_STREAMED when the file
 * is to be read whole, else the error of its commit. */
static int stream_outcome(struct tn_http_req *req, struct ingest_state *st,
                          struct tn_ingest_result *res, struct tn_err *err)
{
    char *now = params_text(req, st);
    int same = st->stream_params && strcmp(now, st->stream_params) == 0 && !req->upload_nmore;
    int rc = tn_stream_finish(st->stream, same, res, err);

    free(now);
    tn_stream_free(st->stream);
    st->stream = NULL;
    return rc;
}

/* The error of an ingest the watchdog interrupted: its client left, or else the server stops
 * (a watch without a time limit fires for nothing else). */
static void cancelled(struct tn_err *err)
{
    if (tn_http_client_gone())
        tn_fail(err, TN_EUNAVAILABLE,
                "the client closed the connection before the upload was converted; the ingest "
                "was cancelled and nothing was committed");
    else
        tn_fail(err, TN_EUNAVAILABLE,
                "the server is shutting down; the ingest was cancelled and nothing was "
                "committed: send the file again once it is back");
}

int tn_route_ingest(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    struct ingest_state *st = req->state;
    struct tn_session *s = NULL;
    struct tn_ingest_result res;
    struct tn_ingest_options io;
    struct tn_source src;
    double t0 = tn_monotonic_s();
    int rc, streamed = 0;

    if (tn_route_is_source_ingest(req))
        return tn_route_ingest_source(req, out, err);
    /* multipart fields (mode=..., format=...) are known only now */
    rc = parse_params(req, st, err);
    if (rc) {
        if (st->stream) {
            struct tn_err ignored;
            tn_stream_finish(st->stream, 0, &res, &ignored);
        }
        return rc;
    }
    if (req->upload_bytes == 0)
        return tn_fail(err, TN_EINPUT,
                       "the upload is empty: send the file as the body (curl --data-binary "
                       "@data.csv) or as the multipart field 'file' (curl -F file=@data.csv)");
    source_options(req, st, &src);
    ingest_options(st, &io);
    if (st->stream) {
        rc = stream_outcome(req, st, &res, err);
        if (rc == TN_STREAM_NOT_STREAMED)
            rc = 0;
        else
            streamed = 1;
    }
    if (!streamed)
        rc = tn_session_open(req->wh->engine, &s, err);
    if (!streamed && !rc) {
        tn_source_table_dialect(req->wh, st->ns, st->name, &src);
        rc = tn_source_open(req->wh->engine, s, req->upload_path, &src, err);
    }
    if (!streamed && !rc) {
        struct tn_http_watch *w;
        if (dry_run(req)) /* the console's preview: what would be stored, nothing committed */
            return preview(req, s, &src, out, err);
        /* converting a large or compressed upload takes long: its client's hang-up, or the
           server's stop, interrupts it, and nothing is committed */
        w = tn_http_watch_begin(req->srv, s, 0);
        rc = tn_source_ingest(req->wh, s, st->ns, st->name, req->upload_path, &src, &io, &res, err);
        if (tn_http_watch_end(req->srv, w) && rc)
            cancelled(err);
    }
    if (!rc) {
        tn_http_count_commit(req->srv, &res.commit);
        tn_http_count_rows(req->srv, res.commit.rows_added);
        tn_http_reply_json(out, 200, ingest_json(st, &res, streamed, t0));
        tn_ingest_result_release(&res);
    } else {
        tn_err_prefix(err, "ingest into %s.%s: ", st->ns, st->name);
    }
    tn_session_close(s);
    tn_source_release(&src);
    return rc;
}
