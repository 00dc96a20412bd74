/* http.h - tarn's HTTP server: the API of SPEC.md served by libmicrohttpd on one port.
 *
 * tn_http_serve runs a daemon with one thread per connection, so handlers may block in DuckDB.
 * The warehouse is shared by every thread; each request opens its own DuckDB session. The
 * second half of this header is the interface between the server core (server.c: connections,
 * bodies, auth, errors, metrics, timeouts) and the route handlers (routes*.c); nothing outside
 * src/http uses it. */
#ifndef TN_HTTP_H
#define TN_HTTP_H

#include <jansson.h>
#include <stdint.h>

#include "core/core.h"
#include "ai/ai.h"
#include "table/table.h"

#define TN_HTTP_DEFAULT_HOST           "127.0.0.1"
#define TN_HTTP_DEFAULT_PORT           8000
#define TN_HTTP_DEFAULT_MAX_UPLOAD     (10ULL * 1024 * 1024 * 1024)
#define TN_HTTP_DEFAULT_QUERY_TIMEOUT  60
#define TN_HTTP_DEFAULT_ROW_LIMIT      10000
#define TN_HTTP_DEFAULT_HEADER_TIMEOUT 15 /* seconds from connect to the end of the headers */
#define TN_HTTP_DEFAULT_CLIENT_CONNS   64 /* connections one client address may hold */
#define TN_HTTP_LIST_MAX               16 /* --cors-origin and --allowed-host given at most */

struct tn_http_options {
    const char *host;          /* NULL: 127.0.0.1 */
    int port;                  /* 0: 8000 */
    const char *token;         /* every request must carry "Authorization: Bearer <token>" */
    const char *client;        /* "ID:SECRET": client credentials for the REST catalog's tokens */
    int vend_credentials;      /* REST loadTable hands out the server's S3 credentials */
    int rest_token_ttl_s;      /* lifetime of issued REST tokens; 0: an hour */
    int no_auth;               /* allow a non-loopback host without a token */
    uint64_t max_upload;       /* bytes in one upload; 0: 10 GiB */
    uint64_t max_decompressed; /* bytes a gzip/zstd upload may grow to; 0: tn_source's default */
    uint64_t stream_piece;     /* bytes of an upload read by one COPY (tn_stream_set_piece_size);
                                  0: sized for the table's target file size */
    int query_timeout;         /* seconds a query may run; 0: 60 */
    int64_t row_limit;         /* default JSON row limit; 0: 10000 */
    int quiet;                 /* no startup line and no access log on stderr */
    int header_timeout;        /* seconds a client has to send its request headers; 0: 15 */
    int client_conns;          /* connections per client address; 0: 64 */
    /* each entry a name or a comma-separated list; "*" allows all */
    const char *cors_origins[TN_HTTP_LIST_MAX]; /* origins CORS and the Origin check allow */
    int ncors_origins;
    const char *allowed_hosts[TN_HTTP_LIST_MAX]; /* Host names besides the built-in ones */
    int nallowed_hosts;
    int64_t maintain_every_ms; /* run scheduled maintenance this often (src/maint/schedule.c); 0:
                                  never */
    const char *version;       /* tarn's version, for /health and /openapi.json */
    struct tn_ask_options ask; /* POST /ask: the model to ask (no llm_url: 501) */
    json_t *sources;   /* --source NAME=URL: the databases requests may name (routes_sources.c) */
    int allow_sources; /* requests may also give a connection string themselves */
    const char *sync_config; /* --sync CONFIG: scheduled source syncs (sync.c) */
};

/* Serve "wh" until SIGTERM or SIGINT, then stop accepting connections, let the requests in
 * flight finish and return 0. Fails (TN_EINPUT) before serving when the options are unusable,
 * for example a non-loopback host with neither a token nor "no_auth". */
int tn_http_serve(struct tn_warehouse *wh, const struct tn_http_options *opt, struct tn_err *err);

/* Parse a byte size: "1048576", "500MB", "10GiB", "2g" (k, m, g, t: powers of 1024). */
int tn_http_parse_size(const char *s, uint64_t *out);

/* For the command line: set serve option "name" (host, port, token, no-auth, max-upload,
 * query-timeout, maintain-every, cors-origin, allowed-host, header-timeout,
 * max-client-connections, quiet, ...; rest-token-ttl and stream-piece have no flag, see
 * src/cli/env.c) from its
 * text "value" (NULL for a flag). TN_EINPUT for a value that does not parse. The repeatable ones
 * (cors-origin, allowed-host) keep "value" itself. */
int tn_http_option_set(struct tn_http_options *o, const char *name, const char *value,
                       struct tn_err *err);

/*---- Internal to src/http: what the route handlers see ----*/

/* crosssite.c: Host, Origin and CORS checks. "machine" is this host's name (or NULL). */
int tn_http_host_allowed(const struct tn_http_options *o, const char *machine, const char *host);
/* The origin is listed by --cors-origin (or that list is "*"). */
int tn_http_cors_allowed(const struct tn_http_options *o, const char *origin);
/* A browser sent this request from a page of another site that CORS does not allow: judged on
 * Origin, else Sec-Fetch-Site, else Referer, compared with the Host header. 0 for curl and the
 * like, which send none of them. */
int tn_http_cross_site(const struct tn_http_options *o, const char *origin, const char *fetch_site,
                       const char *referer, const char *host);

/* sync.c: the scheduled source syncs of --sync CONFIG (spooling in "spool_dir"). */
struct tn_http_sync;
int tn_http_sync_start(struct tn_warehouse *wh, const char *config, const char *spool_dir,
                       int quiet, struct tn_http_sync **out, struct tn_err *err);
/* Stop and free it after the table under way; NULL is a no-op. */
void tn_http_sync_stop(struct tn_http_sync *y);
void tn_http_sync_metrics(struct tn_http_sync *y, struct tn_buf *b);

struct MHD_Connection;
struct MHD_Response;
struct tn_http_server;

enum tn_http_body { TN_BODY_NONE, TN_BODY_JSON, TN_BODY_UPLOAD };

struct tn_http_req {
    struct tn_http_server *srv;
    struct tn_warehouse *wh;
    const struct tn_http_options *opt;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    char *arg;          /* the {table} of the route's path, or NULL */
    json_t *json;       /* a JSON route's parsed body (NULL when the body was empty) */
    char *upload_path;  /* an upload route's body, as a temporary file */
    char **upload_more; /* the further parts named "file" of a multipart body, each a temporary
                           file (NULL-terminated), or NULL when there is one */
    size_t upload_nmore;
    uint64_t upload_bytes;
    uint64_t upload_longest_line; /* the longest run of bytes between newlines when one
                                     reaches TN_SOURCE_LINE_EXACT, else less than that */
    char *upload_name;            /* the multipart part's file name, or NULL */
    char *upload_type;            /* the part's or the body's content type, or NULL */
    json_t *form;                 /* the other fields of a multipart body (strings) */
    void *state; /* the route's own, made by its begin hook; freed with free_state */
    void (*free_state)(void *state);
    /* Set by an upload route's begin hook to see the file as it arrives (on the connection's
     * thread): each piece once stored, then the end, whole ("complete") or not (a failure
     * while reading it). A connection closed mid-body calls neither: free_state sees to it. */
    void (*on_body)(struct tn_http_req *req, const char *data, size_t n);
    void (*on_body_end)(struct tn_http_req *req, int complete);
    json_t *headers; /* copies of the headers (lowercase names) and the query arguments, made */
    json_t *args;    /* before the handler runs; tn_http_header and tn_http_param read them */
};

/* A handler's answer: a status and a response (ownership moves to the server). */
struct tn_http_reply {
    unsigned int status;
    struct MHD_Response *response;
    size_t bytes; /* the body's size, when "sized" (tn_http_reply_text sets both) */
    int sized;
};

/* A query argument, else a multipart form field, else NULL. */
const char *tn_http_param(const struct tn_http_req *req, const char *name);
/* A request header, or NULL. */
const char *tn_http_header(const struct tn_http_req *req, const char *name);
/* Milliseconds since "t0" (a tn_monotonic_s() time), rounded to microseconds. */
double tn_http_ms_since(double t0);
/* The warehouse's directory for temporary files (<warehouse>/.tmp). */
const char *tn_http_tmp_dir(const struct tn_http_server *srv);

/* Replies; each takes ownership of what it is given. */
void tn_http_reply_json(struct tn_http_reply *out, unsigned int status, json_t *body);
void tn_http_reply_text(struct tn_http_reply *out, unsigned int status, const char *content_type,
                        char *text, size_t len);
/* SPEC's error body for "err". */
void tn_http_reply_error(struct tn_http_reply *out, const struct tn_err *err);

/* Metrics the routes report. */
void tn_http_count_commit(struct tn_http_server *srv, const struct tn_commit_result *res);
void tn_http_count_rows(struct tn_http_server *srv, int64_t rows);
/* The Prometheus text of every counter (caller frees). */
char *tn_http_metrics_text(struct tn_http_server *srv);
/* The scheduled maintenance's last runs (tn_http_maint_runs; caller owns). */
json_t *tn_http_maintenance_runs(struct tn_http_server *srv);

/* Query timeouts: a watchdog interrupts "s" once "seconds" have passed (never, for 0), when the
 * request's client hangs up and when the server stops. tn_http_watch_end must be called before
 * the session is closed; it returns 1 when the watchdog fired. */
struct tn_http_watch;
struct tn_http_watch *tn_http_watch_begin(struct tn_http_server *srv, struct tn_session *s,
                                          int seconds);
int tn_http_watch_fired(const struct tn_http_watch *w);
int tn_http_watch_end(struct tn_http_server *srv, struct tn_http_watch *w);
/* 1 once the client of the request this thread works for has closed its connection. */
int tn_http_client_gone(void);
/* The handler this thread runs is about to return (a query's result is in, what is left is
 * rendering it): the connection's thread wakes now and waits awake for a moment, so that its
 * wake-up overlaps that work instead of following it. A hint; nothing happens when the handler
 * runs on the connection's own thread. */
void tn_http_reply_soon(void);

/* Route hooks: "begin" runs once the headers are in (before the body is read) and may refuse
 * the request early; "handle" runs once the whole body is in. */
typedef int (*tn_http_begin_fn)(struct tn_http_req *req, struct tn_err *err);
typedef int (*tn_http_handle_fn)(struct tn_http_req *req, struct tn_http_reply *out,
                                 struct tn_err *err);

int tn_route_health(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_metrics(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_maintenance_runs(struct tn_http_req *req, struct tn_http_reply *out,
                              struct tn_err *err);
int tn_route_openapi(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_docs(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_console(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_mcp(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_mcp_other(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_ask(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
/* POST /ingest/{table} that names a database source instead of sending a file */
int tn_route_is_source_ingest(const struct tn_http_req *req);
int tn_route_ingest_source(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_query(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
/* GET /tables/{t}/rows: the table's rows a page at a time (limit, cursor, format). */
int tn_route_table_rows(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);

/* cursor.c: the cursor of the page of "sql" that starts at "offset", reading each tarn table at
 * the snapshot "pins" names ({"ns.table": snapshot id}); caller frees. */
char *tn_cursor_make(const char *sql, int64_t offset, const json_t *pins);
/* The offset and pins of "cursor", which must be one this server run made for "sql";
 * TN_EINPUT otherwise. *pins: the caller's reference. */
int tn_cursor_read(const char *cursor, const char *sql, int64_t *offset, json_t **pins,
                   struct tn_err *err);
int tn_route_tables(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_table_get(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_snapshots(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_table_create(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_table_register(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_table_drop(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_ingest_begin(struct tn_http_req *req, struct tn_err *err);
int tn_route_ingest(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
/* routes_changes.c: schema and partition evolution, rollback, refs, row deletes and updates,
 * maintenance. */
int tn_route_schema(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_rollback(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_refs(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_ref_drop(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_delete_rows(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_update_rows(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_partitioning(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_maintenance(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
/* routes_iceberg.c: the Iceberg REST catalog under /iceberg/v1 (checks its own tokens). */
int tn_route_iceberg_begin(struct tn_http_req *req, struct tn_err *err);
int tn_route_iceberg(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
int tn_route_iceberg_token(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err);
/* A begin hook that checks the route's {table} argument. */
int tn_route_check_table(struct tn_http_req *req, struct tn_err *err);
/* The req->state tn_route_check_table leaves: the {table} of the path. */
struct table_arg {
    char ns[TN_NAME_MAX + 1];
    char name[TN_NAME_MAX + 1];
};

/*---- Internal: the parsers of untrusted input, callable alone for the fuzz targets ----*/

/* An upload body (the request on "conn": multipart/form-data when its Content-Type says so)
 * decoded as a server decodes it, into a temporary file under "tmp_dir" of at most "max" bytes.
 * tn__http_upload_end frees it; with "form" non-NULL it first finishes the body: 0 and the form
 * fields besides "file" in *form (NULL when not multipart), or the error the request would get. */
struct tn__http_upload;
struct tn__http_upload *tn__http_upload_begin(struct MHD_Connection *conn, const char *tmp_dir,
                                              uint64_t max, struct tn_err *err);
void tn__http_upload_feed(struct tn__http_upload *u, const char *data, size_t n);
int tn__http_upload_end(struct tn__http_upload *u, json_t **form, struct tn_err *err);
/* An application/x-www-form-urlencoded body (the OAuth token request's) decoded in place into
 * an object of strings. */
json_t *tn__http_form_parse(char *text);
/* A namespace from an Iceberg REST path segment (levels separated by 0x1F), checked and joined
 * with dots into "out". */
int tn__iceberg_ns_from_path(const char *seg, char out[TN_NAME_MAX + 1], struct tn_err *err);

#endif /* TN_HTTP_H */
