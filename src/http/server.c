/* server.c - the HTTP server core: the libmicrohttpd daemon, request bodies, routing, bearer-token
 * auth, the cross-site checks (crosssite.c) and CORS, SPEC's error bodies, metrics, the access
 * log, query timeouts, the connection guard and a graceful stop.
 *
 * Threads: the daemon runs one thread per connection (plus its listening thread). A request's
 * handler runs on a thread of its own while the connection's thread waits for it, so that the
 * connection can still answer when DuckDB does not stop after an interrupt (it does not look at
 * them while it plans): past the timeout and a grace period, the request is answered 503 and the
 * handler's thread finishes alone, freeing what it made. The connection's thread sleeps while
 * it waits, except when the handler says its reply is near (tn_http_reply_soon: a query's
 * result is in, its rendering is left): then it wakes and waits awake for up to REPLY_SPIN_S,
 * so that its wake-up, which costs tens of microseconds, overlaps that work. A handler's thread
 * that is done waits a while for the next request's handler (at most WORKERS_IDLE_MAX of them wait,
 * each up to WORKER_IDLE_S seconds): a thread made per request costs more than the thread itself,
 * since DuckDB's and the allocator's per-thread memory starts cold on each new one (a point query
 * ran about three times slower on fresh threads than on a kept one). Each request has a struct
 * conn_ctx, made on the first call of the access handler and freed when both the connection and the
 * handler's thread are done with it; the handler reads copies of the headers and arguments. What
 * is shared -- the warehouse, the metrics, the watchdog's lists and the in-flight count -- is
 * either thread-safe by itself (the warehouse) or guarded by the server's mutexes (watch_lock
 * before lock when both are taken).
 *
 * Connections: at most 256, and --max-client-connections from one address. The watchdog thread
 * also guards them: a connection has --header-timeout seconds from its start (or its previous
 * response) to the end of its request headers however slowly it sends them, and when few
 * connections are left the ones sending headers longest are closed first.
 *
 * Bodies: a route declares none, JSON (kept in memory, at most 1 MiB) or an upload (streamed to
 * a temporary file under <warehouse>/.tmp, at most --max-upload bytes; multipart/form-data is
 * decoded on the way by libmicrohttpd's post processor, keeping the part named "file"). A route
 * that checks no credentials first takes at most 64 KiB. A body that is too large is answered
 * 413: at once when Content-Length says so, otherwise after the rest of the body has been read
 * and dropped (libmicrohttpd cannot answer in the middle of an upload), unless the client keeps
 * sending far beyond the limit, which closes the connection.
 *
 * Stopping: SIGTERM or SIGINT (caught by a handler that writes to a pipe) makes the daemon stop
 * accepting and interrupts every query; other requests already running finish (new requests on
 * kept-alive connections get 503), then the daemon stops and tn_http_serve returns 0 -- or, when
 * queries that ignored their interrupt still run, the process ends. A second signal stops
 * without waiting. */
#include "http/http.h"
#include "delta/publish.h"
#include "maint/maint.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define JSON_BODY_MAX    (1024 * 1024)
#define FORM_FIELDS_MAX  (64 * 1024)
#define DISCARD_SLACK    (64ULL * 1024 * 1024) /* bytes past a limit we read before hanging up */
#define CONNECTION_LIMIT 256
/* Connections kept free for clients that send their headers at once: when more than
 * CONNECTION_LIMIT - CONNECTION_RESERVE connections are still sending headers, the ones that
 * have been at it longest are closed. */
#define CONNECTION_RESERVE 32
/* A body that a route takes before any credential was checked (the OAuth token endpoint). */
#define PUBLIC_BODY_MAX (64 * 1024)
/* The deadline of a watch without a time limit (an ingest): about 30 years, so that only a
 * hang-up or the server's stop interrupts it. */
#define WATCH_NO_LIMIT_S 1e9

/* Seconds a watched query may go on after its interrupt before its request is answered
 * without it (DuckDB does not look at interrupts everywhere, for example while it plans). */
#define STUCK_GRACE_S 3
/* Requests answered without their work, whose DuckDB work still runs: past this many the
 * server answers 503 to requests that would start more. */
#define STUCK_MAX 4
/* Per-connection buffer: uploads arrive in pieces of up to about half this size (MHD's default,
 * 32 KiB, makes a 1 GB upload some 60,000 write calls). No larger: libmicrohttpd zeroes the whole
 * buffer after every request of a kept-alive connection, and 2 MiB of it cost a query some 0.1-0.2
 * ms (the memset and the caches it evicts), while a 100 MB upload arrives as fast in 256 KiB
 * pieces as in 1 MiB ones. */
#define CONNECTION_BUFFER (512 * 1024)
#define IDLE_TIMEOUT_S    300
#define POST_BUFFER       65536
#define SHUTDOWN_GRACE_S  30
/* handler threads kept waiting for the next request, and for how long (see the top) */
#define WORKERS_IDLE_MAX 8
#define WORKER_IDLE_S    60
/* How long a connection's thread waits awake for a handler that said its reply is near
 * (tn_http_reply_soon) before it sleeps again: about what rendering a whole answer takes. */
#define REPLY_SPIN_S 0.0003

/*---- The server ----*/

struct route {
    const char *method;
    const char *label;  /* the path pattern, as metrics show it */
    const char *prefix; /* the literal path, or the part before {table} */
    const char *suffix; /* after {table}; NULL when the route takes no argument */
    enum tn_http_body body;
    int public_doc; /* served without the server's token (documentation, /health, and routes
                       that check their own tokens) */
    tn_http_begin_fn begin;
    tn_http_handle_fn handle;
};

/* Order matters: the first match wins. */
static const struct route routes[] = {
    {"GET", "/health", "/health", NULL, TN_BODY_NONE, 1, NULL, tn_route_health},
    {"GET", "/metrics", "/metrics", NULL, TN_BODY_NONE, 0, NULL, tn_route_metrics},
    {"GET", "/maintenance/runs", "/maintenance/runs", NULL, TN_BODY_NONE, 0, NULL,
     tn_route_maintenance_runs},
    {"GET", "/openapi.json", "/openapi.json", NULL, TN_BODY_NONE, 1, NULL, tn_route_openapi},
    {"GET", "/docs", "/docs", NULL, TN_BODY_NONE, 1, NULL, tn_route_docs},
    {"GET", "/", "/", NULL, TN_BODY_NONE, 1, NULL, tn_route_console},
    {"GET", "/console/{file}", "/console/", "", TN_BODY_NONE, 1, NULL, tn_route_console},
    {"POST", "/mcp", "/mcp", NULL, TN_BODY_JSON, 0, NULL, tn_route_mcp},
    {"GET", "/mcp", "/mcp", NULL, TN_BODY_NONE, 0, NULL, tn_route_mcp_other},
    {"DELETE", "/mcp", "/mcp", NULL, TN_BODY_NONE, 0, NULL, tn_route_mcp_other},
    {"POST", "/ask", "/ask", NULL, TN_BODY_JSON, 0, NULL, tn_route_ask},
    {"GET", "/query", "/query", NULL, TN_BODY_NONE, 0, NULL, tn_route_query},
    {"POST", "/query", "/query", NULL, TN_BODY_JSON, 0, NULL, tn_route_query},
    {"GET", "/tables", "/tables", NULL, TN_BODY_NONE, 0, NULL, tn_route_tables},
    {"POST", "/tables", "/tables", NULL, TN_BODY_JSON, 0, NULL, tn_route_table_create},
    {"POST", "/tables/register", "/tables/register", NULL, TN_BODY_JSON, 0, NULL,
     tn_route_table_register},
    {"GET", "/tables/{table}/rows", "/tables/", "/rows", TN_BODY_NONE, 0, tn_route_check_table,
     tn_route_table_rows},
    {"GET", "/tables/{table}/snapshots", "/tables/", "/snapshots", TN_BODY_NONE, 0,
     tn_route_check_table, tn_route_snapshots},
    {"POST", "/tables/{table}/schema", "/tables/", "/schema", TN_BODY_JSON, 0, tn_route_check_table,
     tn_route_schema},
    {"POST", "/tables/{table}/rollback", "/tables/", "/rollback", TN_BODY_JSON, 0,
     tn_route_check_table, tn_route_rollback},
    {"POST", "/tables/{table}/refs", "/tables/", "/refs", TN_BODY_JSON, 0, tn_route_check_table,
     tn_route_refs},
    {"DELETE", "/tables/{table}/refs/{name}", "/tables/", "/refs/*", TN_BODY_NONE, 0, NULL,
     tn_route_ref_drop},
    {"POST", "/tables/{table}/delete", "/tables/", "/delete", TN_BODY_JSON, 0, tn_route_check_table,
     tn_route_delete_rows},
    {"POST", "/tables/{table}/update", "/tables/", "/update", TN_BODY_JSON, 0, tn_route_check_table,
     tn_route_update_rows},
    {"POST", "/tables/{table}/partitioning", "/tables/", "/partitioning", TN_BODY_JSON, 0,
     tn_route_check_table, tn_route_partitioning},
    {"POST", "/tables/{table}/maintenance", "/tables/", "/maintenance", TN_BODY_JSON, 0,
     tn_route_check_table, tn_route_maintenance},
    {"GET", "/tables/{table}", "/tables/", "", TN_BODY_NONE, 0, tn_route_check_table,
     tn_route_table_get},
    {"DELETE", "/tables/{table}", "/tables/", "", TN_BODY_NONE, 0, tn_route_check_table,
     tn_route_table_drop},
    {"POST", "/ingest/{table}", "/ingest/", "", TN_BODY_UPLOAD, 0, tn_route_ingest_begin,
     tn_route_ingest},
    /* Iceberg REST catalog: public here because routes_iceberg.c checks its own tokens */
    {"POST", "/iceberg/v1/oauth/tokens", "/iceberg/v1/oauth/tokens", NULL, TN_BODY_UPLOAD, 1, NULL,
     tn_route_iceberg_token},
    {"GET", "/iceberg/v1/{path}", "/iceberg/v1/", "", TN_BODY_NONE, 1, tn_route_iceberg_begin,
     tn_route_iceberg},
    {"POST", "/iceberg/v1/{path}", "/iceberg/v1/", "", TN_BODY_JSON, 1, tn_route_iceberg_begin,
     tn_route_iceberg},
    {"DELETE", "/iceberg/v1/{path}", "/iceberg/v1/", "", TN_BODY_NONE, 1, tn_route_iceberg_begin,
     tn_route_iceberg},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

struct metric {
    const char *route; /* a route label (static) or "other" */
    const char *method;
    unsigned int status;
    uint64_t count;
};

struct tn_http_watch {
    struct tn_session *session;
    double deadline;
    int fired;
    struct tn_http_watch *next;
    double fired_at;
    struct conn_ctx *job; /* the request whose handler began the watch, or NULL */
};

/* An open connection, from accept to close (the connection guard: header timeouts). */
struct pend {
    int fd;
    int waiting; /* it is sending a request's headers (or idle between requests) */
    int shed;    /* we shut its socket down */
    double since;
    struct pend *next;
};

struct tn_http_server {
    struct tn_warehouse *wh;
    struct tn_http_options opt; /* with the defaults filled in */
    char *tmp_dir;

    pthread_mutex_t lock; /* metrics and the in-flight count */
    pthread_cond_t idle;  /* signalled when a request completes */
    struct metric *metrics;
    size_t nmetrics, capmetrics;
    double latency_sum[NROUTES + 1];
    uint64_t latency_count[NROUTES + 1];
    uint64_t commits, commit_retries, conflicts, upload_bytes, rows_ingested;
    int in_flight;
    int stopping;               /* read and written atomically */
    pthread_cond_t job_cond;    /* signalled when a handler's thread ends or gives up (with lock) */
    int jobs;                   /* handler threads running */
    int stuck;                  /* of those, the ones whose request was answered without them */
    pthread_cond_t worker_cond; /* signalled when a job is queued or the workers must end */
    struct conn_ctx *queued_jobs; /* handlers waiting for a kept thread (with lock) */
    int workers;                  /* handler threads alive, busy or waiting (with lock) */
    int workers_idle;             /* of those, the ones waiting for a job (with lock) */
    int workers_stop;             /* the waiting ones end (with lock) */
    char machine[256];            /* this host's name, for the Host check */

    pthread_mutex_t watch_lock;
    pthread_cond_t watch_cond;
    struct tn_http_watch *watches;
    struct pend *pends; /* every open connection (also guarded by watch_lock) */
    double watch_wake;  /* when the watchdog looks again unasked (0: only when signalled) */
    int watch_stop;
    pthread_t watch_thread;
    struct tn_maint_schedule *maint; /* --maintain-every; NULL when off */
    struct tn_http_sync *sync;       /* --sync; NULL when off */
};

/*---- Per-request context ----*/

struct conn_ctx {
    struct tn_http_req req;
    const struct route *route;
    size_t route_index; /* NROUTES for "other" */
    double t0;
    unsigned int status;
    int responded;
    struct tn_err err; /* a failure found while reading the body */
    int failed;
    uint64_t body_bytes;
    uint64_t body_max;
    struct tn_buf body;
    int fd;
    struct MHD_PostProcessor *pp;
    int saw_file;
    size_t form_bytes;
    uint64_t line_len;   /* bytes since the last newline of the upload */
    struct pend *pend;   /* its connection's, or NULL */
    int sock;            /* the connection's socket */
    char addr[64];       /* the client's address, for the access log */
    int64_t reply_bytes; /* the response body's size; -1 when streamed */
    /* The handler runs on a thread of its own (run_job) so that this connection's thread can
     * answer when DuckDB does not stop. Guarded by srv->lock. */
    int refs;      /* the connection, and the handler's thread while it runs */
    int job;       /* 1 running, 2 done (also read without the lock while waiting awake) */
    int soon;      /* 1: the handler's reply is near (tn_http_reply_soon); 2: waited awake */
    int give_up;   /* answer without waiting for the handler */
    int abandoned; /* answered without it: its thread frees what it made */
    int hung_up;   /* its client closed the connection while the handler ran */
    int job_rc;
    struct conn_ctx *next_job; /* in srv->queued_jobs */
    struct tn_http_reply job_reply;
    struct tn_err job_err;
};

static __thread struct conn_ctx *current_job; /* the request a handler's thread works for */

/*---- Small helpers ----*/

int tn_http_parse_size(const char *s, uint64_t *out)
{
    int64_t v;
    if (tn_parse_size(s, &v))
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int tn_http_option_set(struct tn_http_options *o, const char *name, const char *value,
                       struct tn_err *err)
{
    int64_t n;
    uint64_t size;

    if (strcmp(name, "vend-credentials") == 0) {
        o->vend_credentials = !value || !*value || strcmp(value, "0") != 0;
        return 0;
    }
    if (strcmp(name, "allow-sources") == 0) {
        o->allow_sources = !value || !*value || strcmp(value, "0") != 0;
        return 0;
    }
    if (strcmp(name, "no-auth") == 0) {
        o->no_auth = !value || !*value || strcmp(value, "0") != 0;
        return 0;
    }
    if (strcmp(name, "quiet") == 0) {
        o->quiet = !value || !*value || strcmp(value, "0") != 0;
        return 0;
    }
    if (strcmp(name, "delta") == 0) {
        /* new tables get delta.enabled=true: published as Delta too (src/delta/publish.h) */
        tn_delta_set_default(!value || !*value || strcmp(value, "0") != 0);
        return 0;
    }
    if (!value)
        return tn_fail(err, TN_EINPUT, "--%s needs a value", name);
    if (strcmp(name, "host") == 0) {
        o->host = value;
    } else if (strcmp(name, "token") == 0) {
        o->token = *value ? value : NULL;
    } else if (strcmp(name, "client") == 0) {
        if (*value && (!strchr(value, ':') || value[0] == ':' || !strchr(value, ':')[1]))
            return tn_fail(err, TN_EINPUT, "--client takes ID:SECRET");
        o->client = *value ? value : NULL;
    } else if (strcmp(name, "port") == 0) {
        if (tn_parse_i64(value, &n) || n < 1 || n > 65535)
            return tn_fail(err, TN_EINPUT, "--port must be a number from 1 to 65535");
        o->port = (int)n;
    } else if (strcmp(name, "stream-piece") == 0) {
        if (tn_http_parse_size(value, &size) || size < 1024)
            return tn_fail(err, TN_EINPUT,
                           "the streamed upload's piece size must be a size such as 64MB (at "
                           "least 1KB)");
        o->stream_piece = size;
    } else if (strcmp(name, "rest-token-ttl") == 0) {
        if (tn_parse_i64(value, &n) || n < 1 || n > 3600)
            return tn_fail(err, TN_EINPUT, "the REST token lifetime must be 1 to 3600 seconds");
        o->rest_token_ttl_s = (int)n;
    } else if (strcmp(name, "query-timeout") == 0) {
        if (tn_parse_i64(value, &n) || n < 1 || n > 86400 * 7)
            return tn_fail(err, TN_EINPUT, "--query-timeout must be a number of seconds");
        o->query_timeout = (int)n;
    } else if (strcmp(name, "header-timeout") == 0) {
        if (tn_parse_i64(value, &n) || n < 1 || n > 3600)
            return tn_fail(err, TN_EINPUT,
                           "--header-timeout must be a number of seconds from 1 to 3600");
        o->header_timeout = (int)n;
    } else if (strcmp(name, "max-client-connections") == 0) {
        if (tn_parse_i64(value, &n) || n < 1 || n > CONNECTION_LIMIT)
            return tn_fail(err, TN_EINPUT, "--max-client-connections must be from 1 to %d",
                           CONNECTION_LIMIT);
        o->client_conns = (int)n;
    } else if (strcmp(name, "cors-origin") == 0 || strcmp(name, "allowed-host") == 0) {
        int cors = name[0] == 'c';
        int *count = cors ? &o->ncors_origins : &o->nallowed_hosts;
        if (!*value)
            return 0;
        if (cors && strcmp(value, "*") != 0 && strncmp(value, "http://", 7) != 0 &&
            strncmp(value, "https://", 8) != 0 && !strchr(value, ','))
            return tn_fail(err, TN_EINPUT,
                           "--cors-origin takes an origin such as http://localhost:3000, or *");
        if (*count >= TN_HTTP_LIST_MAX)
            return tn_fail(err, TN_EINPUT, "--%s is given more than %d times", name,
                           TN_HTTP_LIST_MAX);
        (cors ? o->cors_origins : o->allowed_hosts)[(*count)++] = value;
    } else if (strcmp(name, "maintain-every") == 0) {
        if (tn_parse_duration_ms(value, &n) || n < 1000)
            return tn_fail(err, TN_EINPUT,
                           "--maintain-every must be a duration of at least 1s, such as 1h or 30m");
        o->maintain_every_ms = n;
    } else if (strcmp(name, "source") == 0) {
        /* NAME=URL, repeatable; TARN_SOURCES holds several, separated by blanks */
        char *copy = tn_strdup(value), *save = NULL;
        for (char *one = strtok_r(copy, " \t\n", &save); one;
             one = strtok_r(NULL, " \t\n", &save)) {
            char *eq = strchr(one, '=');
            if (!eq || eq == one || !eq[1]) {
                free(copy);
                return tn_fail(err, TN_EINPUT, "--source takes NAME=postgresql://...");
            }
            *eq = '\0';
            if (!o->sources)
                o->sources = json_object();
            json_object_set_new(o->sources, one, json_string(eq + 1));
        }
        free(copy);
    } else if (strcmp(name, "sync") == 0) {
        o->sync_config = value;
    } else if (strcmp(name, "llm-url") == 0) {
        o->ask.llm_url = *value ? value : NULL;
    } else if (strcmp(name, "llm-model") == 0) {
        o->ask.llm_model = *value ? value : NULL;
    } else if (strcmp(name, "llm-api-key") == 0) {
        o->ask.llm_key = *value ? value : NULL;
    } else if (strcmp(name, "ask-sample-rows") == 0) {
        if (tn_parse_i64(value, &n) || n < 0 || n > 20)
            return tn_fail(err, TN_EINPUT, "--ask-sample-rows must be a number from 0 to 20");
        o->ask.sample_rows = (int)n;
    } else if (strcmp(name, "max-upload") == 0) {
        if (tn_http_parse_size(value, &size) || size == 0)
            return tn_fail(err, TN_EINPUT, "--max-upload must be a size such as 500MB or 10GiB");
        o->max_upload = size;
    } else {
        return tn_fail(err, TN_EINPUT, "unknown serve option --%s", name);
    }
    return 0;
}

static double now_s(void)
{
    return tn_monotonic_s();
}

double tn_http_ms_since(double t0)
{
    return (double)(int64_t)((tn_monotonic_s() - t0) * 1e6) / 1000.0;
}

const char *tn_http_param(const struct tn_http_req *req, const char *name)
{
    const char *v = req->args ? json_string_value(json_object_get(req->args, name))
                              : MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);

    if (!v && req->form)
        v = json_string_value(json_object_get(req->form, name));
    return v;
}

const char *tn_http_header(const struct tn_http_req *req, const char *name)
{
    char lower[64];
    size_t i;

    if (!req->headers)
        return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
    for (i = 0; name[i] && i + 1 < sizeof(lower); i++)
        lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    lower[i] = '\0';
    return json_string_value(json_object_get(req->headers, lower));
}

/* Copy a header or argument into the request's own table (the first of a name wins). */
static enum MHD_Result snapshot_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    json_t *table = cls;
    char *k = tn_strdup(key);

    if (kind == MHD_HEADER_KIND)
        for (char *p = k; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    if (!json_object_get(table, k))
        json_object_set_new_nocheck(table, k, value ? json_string_nocheck(value) : json_null());
    free(k);
    return MHD_YES;
}

/* From here on the handler reads headers and arguments from copies: it may run on after the
 * connection is gone. */
static void snapshot_request(struct tn_http_req *req)
{
    json_t *h = json_object(), *a = json_object();

    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, snapshot_value, h);
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, snapshot_value, a);
    req->headers = h;
    req->args = a;
}

const char *tn_http_tmp_dir(const struct tn_http_server *srv)
{
    return srv->tmp_dir;
}

/*---- Replies ----*/

void tn_http_reply_text(struct tn_http_reply *out, unsigned int status, const char *content_type,
                        char *text, size_t len)
{
    out->status = status;
    out->bytes = len;
    out->sized = 1;
    out->response = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!out->response)
        abort(); /* only fails when out of memory */
    MHD_add_response_header(out->response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
}

/* Whether member "key" holds a snapshot id (snapshot_id, current_snapshot_id, parent_id,
 * snapshot-id, parent-snapshot-id, ... and lists of them). */
static int is_id_key(const char *key)
{
    static const char *const ends[] = {"snapshot_id", "snapshot-id", "parent_id", "snapshot_ids",
                                       "snapshot-ids"};
    size_t n = strlen(key);

    for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
        size_t m = strlen(ends[i]);
        if (n >= m && strcmp(key + n - m, ends[i]) == 0)
            return 1;
    }
    return 0;
}

static json_t *id_string(json_t *v)
{
    char text[24];
    snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return json_string(text);
}

/* ?ids=string: every snapshot id in an answer as a string, which JavaScript's JSON.parse keeps
 * exact (a number above 2^53 loses its last digits). */
static void ids_as_strings(json_t *j)
{
    const char *key;
    json_t *v;
    size_t i;

    if (json_is_object(j)) {
        json_object_foreach(j, key, v)
        {
            if (is_id_key(key) && json_is_integer(v)) {
                json_object_set_new(j, key, id_string(v));
            } else if (is_id_key(key) && json_is_array(v)) {
                json_t *e;
                json_array_foreach(v, i, e)
                {
                    if (json_is_integer(e))
                        json_array_set_new(v, i, id_string(e));
                }
            } else {
                ids_as_strings(v);
            }
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            ids_as_strings(v);
        }
    }
}

void tn_http_reply_json(struct tn_http_reply *out, unsigned int status, json_t *body)
{
    char *text;
    const char *ids = current_job ? tn_http_param(&current_job->req, "ids") : NULL;

    if (ids && strcmp(ids, "string") == 0)
        ids_as_strings(body);
    text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));

    json_decref(body);
    if (!text)
        abort();
    tn_http_reply_text(out, status, "application/json", text, strlen(text));
}

static void reply_error_raw(struct tn_http_reply *out, unsigned int status, const char *type,
                            const char *msg)
{
    json_t *e = json_pack("{s:{s:s, s:s, s:i}}", "error", "message", msg, "type", type, "code",
                          (int)status);

    if (!e) /* the message was not valid UTF-8 */
        e = json_pack("{s:{s:s, s:s, s:i}}", "error", "message",
                      "(the error message was not valid UTF-8)", "type", type, "code", (int)status);
    tn_http_reply_json(out, status, e);
}

void tn_http_reply_error(struct tn_http_reply *out, const struct tn_err *err)
{
    int code = err->code ? err->code : TN_EINTERNAL;
    struct tn_err shown = *err;

    tn_engine_error_scrub(&shown);
    err = &shown;

    reply_error_raw(out, (unsigned int)tn_err_http_status(code), tn_err_type(code),
                    err->msg[0] ? err->msg : "unknown error");
}

/*---- Metrics ----*/

static void count_request(struct tn_http_server *srv, size_t route_index, const char *method,
                          unsigned int status, double seconds)
{
    const char *label = route_index < NROUTES ? routes[route_index].label : "other";
    size_t i;

    if (route_index >= NROUTES)
        method = "other"; /* unknown paths must not grow the metrics without bound */
    pthread_mutex_lock(&srv->lock);
    for (i = 0; i < srv->nmetrics; i++) {
        struct metric *m = &srv->metrics[i];
        if (m->route == label && m->status == status && strcmp(m->method, method) == 0)
            break;
    }
    if (i == srv->nmetrics) {
        if (srv->nmetrics == srv->capmetrics) {
            srv->capmetrics = srv->capmetrics ? srv->capmetrics * 2 : 32;
            srv->metrics = tn_realloc(srv->metrics, srv->capmetrics * sizeof(*srv->metrics));
        }
        srv->metrics[i].route = label;
        srv->metrics[i].method = method;
        srv->metrics[i].status = status;
        srv->metrics[i].count = 0;
        srv->nmetrics++;
    }
    srv->metrics[i].count++;
    srv->latency_sum[route_index] += seconds;
    srv->latency_count[route_index]++;
    pthread_mutex_unlock(&srv->lock);
}

void tn_http_count_commit(struct tn_http_server *srv, const struct tn_commit_result *res)
{
    pthread_mutex_lock(&srv->lock);
    srv->commits++;
    if (res->attempts > 1)
        srv->commit_retries += (uint64_t)(res->attempts - 1);
    pthread_mutex_unlock(&srv->lock);
}

void tn_http_count_rows(struct tn_http_server *srv, int64_t rows)
{
    pthread_mutex_lock(&srv->lock);
    srv->rows_ingested += rows > 0 ? (uint64_t)rows : 0;
    pthread_mutex_unlock(&srv->lock);
}

char *tn_http_metrics_text(struct tn_http_server *srv)
{
    struct tn_buf b = TN_BUF_INIT(TN_CAP_INTERNAL);

    pthread_mutex_lock(&srv->lock);
    tn_buf_addstr(&b,
                  "# HELP tarn_http_requests_total HTTP requests by route, method and status.\n"
                  "# TYPE tarn_http_requests_total counter\n",
                  NULL);
    for (size_t i = 0; i < srv->nmetrics; i++)
        tn_buf_addf(&b, NULL,
                    "tarn_http_requests_total{route=\"%s\",method=\"%s\",status=\"%u\"} %llu\n",
                    srv->metrics[i].route, srv->metrics[i].method, srv->metrics[i].status,
                    (unsigned long long)srv->metrics[i].count);
    tn_buf_addstr(&b,
                  "# HELP tarn_http_request_duration_seconds Time from the request line to the "
                  "last byte of the response.\n"
                  "# TYPE tarn_http_request_duration_seconds summary\n",
                  NULL);
    for (size_t i = 0; i <= NROUTES; i++) {
        const char *label = i < NROUTES ? routes[i].label : "other";
        const char *method = i < NROUTES ? routes[i].method : "other";
        if (!srv->latency_count[i])
            continue;
        tn_buf_addf(&b, NULL,
                    "tarn_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} %.6f\n"
                    "tarn_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} %llu\n",
                    label, method, srv->latency_sum[i], label, method,
                    (unsigned long long)srv->latency_count[i]);
    }
    tn_buf_addf(&b, NULL,
                "# HELP tarn_http_requests_in_flight Requests being handled now.\n"
                "# TYPE tarn_http_requests_in_flight gauge\n"
                "tarn_http_requests_in_flight %d\n"
                "# HELP tarn_http_abandoned_queries Queries answered 503 because they did not "
                "stop when interrupted, still running.\n"
                "# TYPE tarn_http_abandoned_queries gauge\n"
                "tarn_http_abandoned_queries %d\n"
                "# HELP tarn_commits_total Snapshots committed through the server.\n"
                "# TYPE tarn_commits_total counter\n"
                "tarn_commits_total %llu\n"
                "# HELP tarn_commit_retries_total Commit attempts that lost a race to another "
                "writer and were retried.\n"
                "# TYPE tarn_commit_retries_total counter\n"
                "tarn_commit_retries_total %llu\n"
                "# HELP tarn_commit_conflicts_total Requests that failed with a commit "
                "conflict (409).\n"
                "# TYPE tarn_commit_conflicts_total counter\n"
                "tarn_commit_conflicts_total %llu\n"
                "# HELP tarn_upload_bytes_total Request body bytes received by upload routes.\n"
                "# TYPE tarn_upload_bytes_total counter\n"
                "tarn_upload_bytes_total %llu\n"
                "# HELP tarn_ingested_rows_total Rows added by ingests.\n"
                "# TYPE tarn_ingested_rows_total counter\n"
                "tarn_ingested_rows_total %llu\n",
                srv->in_flight, srv->stuck, (unsigned long long)srv->commits,
                (unsigned long long)srv->commit_retries, (unsigned long long)srv->conflicts,
                (unsigned long long)srv->upload_bytes, (unsigned long long)srv->rows_ingested);
    pthread_mutex_unlock(&srv->lock);
    {
        /* scan planning: parsed metadata, manifest lists and manifests served from memory */
        struct tn_plan_cache_stats pc;
        tn_warehouse_plan_cache_stats(srv->wh, &pc);
        tn_buf_addf(&b, NULL,
                    "# HELP tarn_plan_cache_total Plan cache lookups (metadata, manifest lists, "
                    "manifests) by result.\n"
                    "# TYPE tarn_plan_cache_total counter\n"
                    "tarn_plan_cache_total{result=\"hit\"} %lld\n"
                    "tarn_plan_cache_total{result=\"miss\"} %lld\n"
                    "tarn_plan_cache_total{result=\"eviction\"} %lld\n"
                    "# HELP tarn_plan_cache_bytes Bytes the plan cache holds, and its limit.\n"
                    "# TYPE tarn_plan_cache_bytes gauge\n"
                    "tarn_plan_cache_bytes %lld\n"
                    "tarn_plan_cache_capacity_bytes %lld\n",
                    (long long)pc.hits, (long long)pc.misses, (long long)pc.evictions,
                    (long long)pc.bytes, (long long)pc.capacity);
    }
    {
        /* prepared statements of repeated queries (tn_stream_open_kept) */
        uint64_t prepared, reused;
        tn_engine_kept_counts(srv->wh->engine, &prepared, &reused);
        tn_buf_addf(&b, NULL,
                    "# HELP tarn_query_statements_total Queries whose result depends on their "
                    "text alone, by whether DuckDB prepared them or a kept prepared statement "
                    "ran.\n"
                    "# TYPE tarn_query_statements_total counter\n"
                    "tarn_query_statements_total{result=\"prepared\"} %llu\n"
                    "tarn_query_statements_total{result=\"reused\"} %llu\n",
                    (unsigned long long)prepared, (unsigned long long)reused);
    }
    {
        /* object storage: requests, bytes, retries and the local cache (zero on local disk) */
        struct tn_storage_metrics m;
        static const char *const help = "# TYPE tarn_storage_requests_total counter\n"
                                        "# TYPE tarn_storage_bytes_total counter\n"
                                        "# TYPE tarn_storage_retries_total counter\n"
                                        "# TYPE tarn_storage_cache_total counter\n"
                                        "# TYPE tarn_storage_cache_bytes gauge\n";
        tn_storage_metrics(srv->wh->storage, &m);
        tn_buf_addstr(&b, help, NULL);
        tn_buf_addf(&b, NULL,
                    "tarn_storage_requests_total{kind=\"get\"} %llu\n"
                    "tarn_storage_requests_total{kind=\"put\"} %llu\n"
                    "tarn_storage_requests_total{kind=\"head\"} %llu\n"
                    "tarn_storage_requests_total{kind=\"list\"} %llu\n"
                    "tarn_storage_requests_total{kind=\"delete\"} %llu\n"
                    "tarn_storage_bytes_total{direction=\"down\"} %llu\n"
                    "tarn_storage_bytes_total{direction=\"up\"} %llu\n"
                    "tarn_storage_retries_total %llu\n"
                    "tarn_storage_cache_total{result=\"hit\"} %llu\n"
                    "tarn_storage_cache_total{result=\"miss\"} %llu\n"
                    "tarn_storage_cache_bytes %llu\n",
                    (unsigned long long)m.get_requests, (unsigned long long)m.put_requests,
                    (unsigned long long)m.head_requests, (unsigned long long)m.list_requests,
                    (unsigned long long)m.delete_requests, (unsigned long long)m.bytes_downloaded,
                    (unsigned long long)m.bytes_uploaded, (unsigned long long)m.retries,
                    (unsigned long long)m.cache_hits, (unsigned long long)m.cache_misses,
                    (unsigned long long)m.cache_bytes);
    }
    pthread_mutex_lock(&srv->lock); /* stop_background may be taking them away */
    tn_maint_schedule_metrics(srv->maint, &b);
    tn_http_sync_metrics(srv->sync, &b);
    pthread_mutex_unlock(&srv->lock);
    return tn_buf_detach(&b, NULL);
}

json_t *tn_http_maintenance_runs(struct tn_http_server *srv)
{
    json_t *runs;

    pthread_mutex_lock(&srv->lock);
    runs = tn_maint_schedule_runs(srv->maint);
    pthread_mutex_unlock(&srv->lock);
    return runs;
}

/* Stop the scheduled maintenance (an action under way finishes) and the sync. Requests still in
 * flight read them under srv->lock: they see them whole or not at all. */
static void stop_background(struct tn_http_server *srv)
{
    struct tn_maint_schedule *maint;
    struct tn_http_sync *sync;

    pthread_mutex_lock(&srv->lock);
    maint = srv->maint;
    sync = srv->sync;
    srv->maint = NULL;
    srv->sync = NULL;
    pthread_mutex_unlock(&srv->lock);
    tn_maint_schedule_stop(maint);
    tn_http_sync_stop(sync);
}

/*---- Query watchdog ----*/

static void deadline_timespec(double deadline, struct timespec *ts)
{
    struct timespec now;
    double wait = deadline - now_s();

    if (wait < 0)
        wait = 0;
    clock_gettime(CLOCK_MONOTONIC, &now);
    ts->tv_sec = now.tv_sec + (time_t)wait;
    ts->tv_nsec = now.tv_nsec + (long)((wait - (double)(time_t)wait) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* The handler of "c" does not stop: its connection answers without it (see request_run), or,
 * when the handler has returned and the response is streaming, the socket is shut down so that
 * the client sees the response end unfinished. Called with watch_lock held. */
static void give_up(struct tn_http_server *srv, struct conn_ctx *c)
{
    pthread_mutex_lock(&srv->lock);
    if (c->job == 1 && !c->give_up) {
        c->give_up = 1;
        pthread_cond_broadcast(&srv->job_cond);
    } else if (c->job != 1 && !c->give_up) {
        c->give_up = 1;
        shutdown(c->sock, SHUT_RDWR);
    }
    pthread_mutex_unlock(&srv->lock);
}

/* Interrupt the queries of "c" now (its client has gone). Called without locks. */
static void cancel_watches(struct tn_http_server *srv, struct conn_ctx *c)
{
    pthread_mutex_lock(&srv->watch_lock);
    for (struct tn_http_watch *w = srv->watches; w; w = w->next)
        if (w->job == c && !w->fired)
            w->deadline = 0;
    pthread_cond_signal(&srv->watch_cond);
    pthread_mutex_unlock(&srv->watch_lock);
}

/* The connection guard: a connection gets header_timeout seconds from its start (or from its
 * previous response) to the end of its request's headers, however it trickles them; and when
 * few connections are left, the ones sending headers longest are closed first. Closing is a
 * shutdown() of the socket, which wakes its thread in libmicrohttpd. Returns when to look
 * again (0: nothing to watch). Called with watch_lock held. */
static double guard_connections(struct tn_http_server *srv, double now)
{
    double next = 0;
    int waiting = 0;

    for (struct pend *p = srv->pends; p; p = p->next) {
        if (!p->waiting || p->shed)
            continue;
        if (now >= p->since + srv->opt.header_timeout) {
            p->shed = 1;
            shutdown(p->fd, SHUT_RDWR);
            continue;
        }
        waiting++;
        if (!next || p->since + srv->opt.header_timeout < next)
            next = p->since + srv->opt.header_timeout;
    }
    while (waiting > CONNECTION_LIMIT - CONNECTION_RESERVE) {
        struct pend *oldest = NULL;
        for (struct pend *p = srv->pends; p; p = p->next)
            if (p->waiting && !p->shed && now - p->since >= 1 &&
                (!oldest || p->since < oldest->since))
                oldest = p;
        if (!oldest) {
            next = now + 0.25; /* all of them young: look again soon */
            break;
        }
        oldest->shed = 1;
        shutdown(oldest->fd, SHUT_RDWR);
        waiting--;
    }
    return next;
}

/* Wake the watchdog for a new deadline "at" -- unless it looks again by then anyway (a query's
 * or a kept-alive connection's deadline seconds away rarely comes before the ones it already
 * waits for, and each request would otherwise wake it once or twice). With watch_lock held. */
static void watch_deadline(struct tn_http_server *srv, double at)
{
    if (!srv->watch_wake || at < srv->watch_wake)
        pthread_cond_signal(&srv->watch_cond);
}

/* Interrupts sessions whose deadline has passed, and every session once the server stops. A
 * fired watch is interrupted again every half second until it ends: an interrupt that arrives
 * between two statements of a request may be forgotten by DuckDB when the next one starts. One
 * that has not ended STUCK_GRACE_S seconds after its first interrupt (one when the server stops)
 * is given up on. The same
 * thread guards the connections. */
static void *watchdog_main(void *arg)
{
    struct tn_http_server *srv = arg;

    pthread_mutex_lock(&srv->watch_lock);
    while (!srv->watch_stop) {
        double now = now_s(), next = guard_connections(srv, now);
        int stopping = __atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE);
        for (struct tn_http_watch *w = srv->watches; w; w = w->next) {
            if (now >= w->deadline || (stopping && !w->fired)) {
                tn_session_interrupt(w->session);
                if (!w->fired)
                    w->fired_at = now;
                __atomic_store_n(&w->fired, 1, __ATOMIC_RELEASE);
                w->deadline = now + 0.5;
            }
            if (w->job && w->fired && now >= w->fired_at + (stopping ? 1 : STUCK_GRACE_S))
                give_up(srv, w->job);
            if (!next || w->deadline < next)
                next = w->deadline;
        }
        srv->watch_wake = next;
        if (!next) {
            pthread_cond_wait(&srv->watch_cond, &srv->watch_lock);
        } else {
            struct timespec ts;
            deadline_timespec(next, &ts);
            pthread_cond_timedwait(&srv->watch_cond, &srv->watch_lock, &ts);
        }
    }
    pthread_mutex_unlock(&srv->watch_lock);
    return NULL;
}

struct tn_http_watch *tn_http_watch_begin(struct tn_http_server *srv, struct tn_session *s,
                                          int seconds)
{
    struct tn_http_watch *w = tn_calloc(1, sizeof(*w));

    w->session = s;
    w->deadline = now_s() + (seconds > 0 ? seconds : WATCH_NO_LIMIT_S);
    w->job = current_job;
    pthread_mutex_lock(&srv->watch_lock);
    w->next = srv->watches;
    srv->watches = w;
    watch_deadline(srv, w->deadline);
    pthread_mutex_unlock(&srv->watch_lock);
    return w;
}

int tn_http_client_gone(void)
{
    return current_job && __atomic_load_n(&current_job->hung_up, __ATOMIC_ACQUIRE);
}

void tn_http_reply_soon(void)
{
    struct conn_ctx *c = current_job;

    if (!c)
        return;
    pthread_mutex_lock(&c->req.srv->lock);
    if (!c->soon) {
        c->soon = 1;
        pthread_cond_broadcast(&c->req.srv->job_cond);
    }
    pthread_mutex_unlock(&c->req.srv->lock);
}

int tn_http_watch_fired(const struct tn_http_watch *w)
{
    return w && __atomic_load_n(&w->fired, __ATOMIC_ACQUIRE);
}

int tn_http_watch_end(struct tn_http_server *srv, struct tn_http_watch *w)
{
    int fired;

    if (!w)
        return 0;
    pthread_mutex_lock(&srv->watch_lock);
    for (struct tn_http_watch **p = &srv->watches; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    fired = w->fired;
    pthread_mutex_unlock(&srv->watch_lock);
    free(w);
    return fired;
}

/*---- Routing and auth ----*/

/* Find the route for method and path. Returns the route's index and its {table} argument
 * (caller frees), or NROUTES with "err" saying why (404 or 405; *allow lists the methods). */
static size_t route_find(const char *method, const char *path, char **out_arg, char *allow,
                         size_t allow_cap, struct tn_err *err)
{
    size_t path_len = strlen(path);
    int path_known = 0;

    if (strcmp(method, "HEAD") == 0)
        method = "GET";
    allow[0] = '\0';
    if (path_len > 1 && path[path_len - 1] == '/')
        path_len--; /* "/tables/" is "/tables" */
    for (size_t i = 0; i < NROUTES; i++) {
        const struct route *r = &routes[i];
        size_t plen = strlen(r->prefix);
        char *arg = NULL;
        if (!r->suffix) {
            if (path_len != plen || strncmp(path, r->prefix, plen) != 0)
                continue;
        } else if (r->suffix[0] && r->suffix[strlen(r->suffix) - 1] == '*') {
            /* "{table}<stem>{name}": the argument is all of it; the handler splits it */
            size_t slen = strlen(r->suffix) - 1;
            const char *stem;
            if (path_len <= plen || strncmp(path, r->prefix, plen) != 0)
                continue;
            arg = tn_strndup(path + plen, path_len - plen);
            for (stem = arg; *stem && strncmp(stem, r->suffix, slen) != 0; stem++)
                ;
            if (!*stem || stem == arg || !stem[slen]) {
                free(arg);
                continue;
            }
        } else {
            size_t slen = strlen(r->suffix);
            if (path_len <= plen + slen || strncmp(path, r->prefix, plen) != 0 ||
                strncmp(path + path_len - slen, r->suffix, slen) != 0)
                continue;
            arg = tn_strndup(path + plen, path_len - plen - slen);
            /* "/tables/t/other" is a path we do not serve, not a table called "t/other";
             * but "../x" and other names with a slash still reach the name check (400). */
            if (!*r->suffix && strncmp(r->prefix, "/tables/", 8) == 0 && strchr(arg, '/')) {
                char first[TN_NAME_MAX + 2];
                struct tn_err ignored;
                size_t n = (size_t)(strchr(arg, '/') - arg);
                if (n <= TN_NAME_MAX) {
                    char ns[TN_NAME_MAX + 1], tbl[TN_NAME_MAX + 1];
                    memcpy(first, arg, n);
                    first[n] = '\0';
                    if (!tn_ident_parse(first, ns, tbl, &ignored)) {
                        free(arg);
                        continue;
                    }
                }
            }
        }
        path_known = 1;
        if (strcmp(r->method, method) != 0) {
            size_t used = strlen(allow);
            if (!strstr(allow, r->method))
                snprintf(allow + used, allow_cap - used, "%s%s", used ? ", " : "", r->method);
            free(arg);
            continue;
        }
        *out_arg = arg;
        return i;
    }
    if (path_known)
        tn_fail(err, TN_EINPUT, "%s is not allowed on %.200s; use %s", method, path, allow);
    else
        tn_fail(err, TN_ENOTFOUND, "no such endpoint: %s %.200s (see /openapi.json)", method, path);
    return NROUTES;
}

static int check_auth(const struct tn_http_server *srv, const struct tn_http_req *req,
                      struct tn_err *err)
{
    const char *h;

    if (!srv->opt.token)
        return 0;
    h = tn_http_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h)
        return tn_fail(err, TN_EAUTH,
                       "this server requires a token: send the header 'Authorization: Bearer "
                       "<token>'");
    if (strncasecmp(h, "Bearer ", 7) != 0 || !tn_secret_equal(h + 7, srv->opt.token))
        return tn_fail(err, TN_EAUTH, "the bearer token is not valid for this server");
    return 0;
}

/*---- Request bodies ----*/

/* Upload bytes go to the file at most this many per write(). A larger write makes Linux (6.x,
 * ext4) fill the page cache with large folios, whose first touch costs up to ten times more on
 * virtual machines that hand free memory back to their host: 573 MB written in 2 MiB writes took
 * 1.4 s of kernel time on the development VM, in 128 KiB writes 0.13 s. */
#define UPLOAD_WRITE_MAX (128 * 1024)

static int write_all(int fd, const char *data, size_t n)
{
    while (n) {
        ssize_t w = write(fd, data, n < UPLOAD_WRITE_MAX ? n : UPLOAD_WRITE_MAX);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

static void body_fail(struct conn_ctx *c, int code, const char *msg)
{
    if (c->failed)
        return;
    c->failed = 1;
    tn_fail(&c->err, code, "%s", msg);
    if (c->req.on_body_end)
        c->req.on_body_end(&c->req, 0);
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    if (c->req.upload_path)
        unlink(c->req.upload_path);
    for (size_t i = 0; i < c->req.upload_nmore; i++)
        unlink(c->req.upload_more[i]);
}

static void too_large(struct conn_ctx *c)
{
    char msg[200];

    if (c->route->body == TN_BODY_UPLOAD)
        snprintf(msg, sizeof(msg),
                 "the upload is larger than this server's limit of %llu bytes (--max-upload)",
                 (unsigned long long)c->body_max);
    else
        snprintf(msg, sizeof(msg), "the request body is larger than %llu bytes",
                 (unsigned long long)c->body_max);
    body_fail(c, TN_ETOOBIG, msg);
}

static void upload_write(struct conn_ctx *c, const char *data, size_t n)
{
    if (c->failed)
        return;
    if (c->req.upload_bytes + n > c->body_max) {
        too_large(c);
        return;
    }
    if (write_all(c->fd, data, n)) {
        char msg[300];
        int e = errno;
        snprintf(msg, sizeof(msg), "cannot store the upload in %s: %s", c->req.srv->tmp_dir,
                 strerror(e));
        body_fail(c, tn_err_from_errno(e, TN_EUNAVAILABLE), msg);
        return;
    }
    c->req.upload_bytes += n;
    tn_source_track_lines(data, n, &c->line_len, &c->req.upload_longest_line);
    if (c->req.on_body)
        c->req.on_body(&c->req, data, n);
}

/* A further part named "file" begins: the one before it is complete, and its bytes go to a
 * new temporary file, named in req.upload_more. Seeing the body as it arrives stops there (it
 * is seen whole, as several files, by the handler). */
static void next_file(struct conn_ctx *c)
{
    char uuid[37], *path;

    if (c->failed)
        return;
    if (c->req.on_body_end)
        c->req.on_body_end(&c->req, 0);
    c->req.on_body = NULL;
    c->req.on_body_end = NULL;
    if (c->fd >= 0 && close(c->fd)) {
        c->fd = -1;
        body_fail(c, TN_EUNAVAILABLE, "cannot store the upload (close failed)");
        return;
    }
    tn_uuid4(uuid);
    path = tn_asprintf("%s/upload-%ld-%s", c->req.srv->tmp_dir, (long)getpid(), uuid);
    c->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (c->fd < 0) {
        char msg[300];
        snprintf(msg, sizeof(msg), "cannot create a temporary file in %s: %s", c->req.srv->tmp_dir,
                 strerror(errno));
        free(path);
        body_fail(c, TN_EUNAVAILABLE, msg);
        return;
    }
    c->req.upload_more =
        tn_realloc(c->req.upload_more, (c->req.upload_nmore + 2) * sizeof(*c->req.upload_more));
    c->req.upload_more[c->req.upload_nmore++] = path;
    c->req.upload_more[c->req.upload_nmore] = NULL;
    c->line_len = 0;
}

static enum MHD_Result on_form_part(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *filename, const char *content_type,
                                    const char *transfer_encoding, const char *data, uint64_t off,
                                    size_t size)
{
    struct conn_ctx *c = cls;
    (void)kind;
    (void)transfer_encoding;

    if (!key)
        return MHD_YES;
    if (strcmp(key, "file") == 0) {
        if (!c->saw_file) {
            c->saw_file = 1;
            c->req.upload_name = filename ? tn_strdup(filename) : NULL;
            free(c->req.upload_type);
            c->req.upload_type = content_type ? tn_strdup(content_type) : NULL;
        } else if (off == 0 && c->req.upload_bytes > 0) {
            /* a part starts again at offset 0: a further file, in a temporary file of its own */
            next_file(c);
        }
        if (size)
            upload_write(c, data, size);
        return MHD_YES;
    }
    /* Other fields (mode, format, ...) act like query arguments. */
    c->form_bytes += size + strlen(key);
    if (c->form_bytes > FORM_FIELDS_MAX) {
        body_fail(c, TN_ETOOBIG, "the multipart form fields besides 'file' exceed 64 KiB");
        return MHD_YES;
    }
    {
        const char *old = json_string_value(json_object_get(c->req.form, key));
        char *v = tn_asprintf("%s%.*s", off && old ? old : "", (int)size, data);
        json_t *s = json_string(v);
        free(v);
        if (!s) {
            body_fail(c, TN_EINPUT, "a multipart form field is not valid UTF-8");
            return MHD_YES;
        }
        json_object_set_new(c->req.form, key, s);
    }
    return MHD_YES;
}

static void body_feed(struct conn_ctx *c, const char *data, size_t n)
{
    c->body_bytes += n;
    if (c->route->body == TN_BODY_UPLOAD) {
        pthread_mutex_lock(&c->req.srv->lock);
        c->req.srv->upload_bytes += n;
        pthread_mutex_unlock(&c->req.srv->lock);
    }
    if (c->failed)
        return;
    switch (c->route->body) {
    case TN_BODY_NONE:
        break; /* ignored */
    case TN_BODY_JSON: {
        struct tn_err e;
        if (c->body.len + n > c->body_max || tn_buf_add(&c->body, data, n, &e))
            too_large(c);
        break;
    }
    case TN_BODY_UPLOAD:
        if (c->pp) {
            if (MHD_post_process(c->pp, data, n) != MHD_YES)
                body_fail(c, TN_EINPUT, "the multipart/form-data body is malformed");
        } else {
            upload_write(c, data, n);
        }
        break;
    }
}

/* The body is complete: finish decoding it. */
static void body_end(struct conn_ctx *c)
{
    if (c->pp) {
        if (MHD_destroy_post_processor(c->pp) != MHD_YES)
            body_fail(c, TN_EINPUT, "the multipart/form-data body ended early or is malformed");
        c->pp = NULL;
        if (!c->failed && !c->saw_file)
            body_fail(c, TN_EINPUT,
                      "the multipart body has no part named 'file' (send it with curl -F "
                      "file=@data.csv)");
    }
    if (c->fd >= 0) {
        if (close(c->fd) && !c->failed) {
            char msg[300];
            int e = errno;
            snprintf(msg, sizeof(msg), "cannot store the upload (close failed: %s)", strerror(e));
            body_fail(c, tn_err_from_errno(e, TN_EUNAVAILABLE), msg);
        }
        c->fd = -1;
    }
    if (c->route->body == TN_BODY_UPLOAD && !c->failed && c->req.on_body_end)
        c->req.on_body_end(&c->req, 1);
    if (!c->failed && c->route->body == TN_BODY_JSON && c->body.len) {
        json_error_t je;
        c->req.json = json_loadb(c->body.buf, c->body.len, JSON_REJECT_DUPLICATES, &je);
        if (!c->req.json) {
            char msg[400];
            snprintf(msg, sizeof(msg),
                     "the request body is not valid JSON: %s (line %d, column %d)", je.text,
                     je.line, je.column);
            body_fail(c, TN_EINPUT, msg);
        } else if (!json_is_object(c->req.json)) {
            body_fail(c, TN_EINPUT, "the request body must be a JSON object");
        }
    }
}

/* Reserve the disk space of an upload whose size the request declares ("declared" bytes, 0 when
 * unknown), so that an upload the disk cannot hold is refused before any of it is sent, and so
 * that writing it does not allocate blocks piecemeal. The file's size still grows with the writes.
 */
static int upload_reserve(struct conn_ctx *c, uint64_t declared, struct tn_err *err)
{
    if (!declared || declared > INT64_MAX ||
        fallocate(c->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)declared) == 0)
        return 0;
    if (errno == ENOSPC || errno == EDQUOT || errno == EFBIG)
        return tn_fail(err, TN_ENOSPACE,
                       "the upload (%llu bytes) does not fit in the free space of %s",
                       (unsigned long long)declared, c->req.srv->tmp_dir);
    return 0; /* a file system without fallocate: the writes find out */
}

static int upload_open(struct conn_ctx *c, uint64_t declared, struct tn_err *err)
{
    const char *ct = tn_http_header(&c->req, MHD_HTTP_HEADER_CONTENT_TYPE);
    char uuid[37];
    int rc;

    tn_uuid4(uuid);
    /* the process id in the name lets a later start tell a dead server's spool file */
    c->req.upload_path = tn_asprintf("%s/upload-%ld-%s", c->req.srv->tmp_dir, (long)getpid(), uuid);
    c->fd = open(c->req.upload_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (c->fd < 0) {
        int e = errno;
        free(c->req.upload_path);
        c->req.upload_path = NULL;
        return tn_fail(err, TN_EUNAVAILABLE, "cannot create a temporary file in %s: %s",
                       c->req.srv->tmp_dir, strerror(e));
    }
    rc = upload_reserve(c, declared, err);
    if (rc)
        return rc;
    if (ct && strncasecmp(ct, "multipart/form-data", 19) == 0) {
        c->req.form = json_object();
        c->pp = MHD_create_post_processor(c->req.conn, POST_BUFFER, on_form_part, c);
        if (!c->pp)
            return tn_fail(err, TN_EINPUT,
                           "the multipart/form-data content type needs a boundary parameter");
    } else if (ct) {
        c->req.upload_type = tn_strdup(ct);
    }
    return 0;
}

/*---- The access handler ----*/

/* CORS headers for an Origin that --cors-origin allows (and Vary whenever CORS is on). */
static void add_cors(struct conn_ctx *c, struct MHD_Response *r)
{
    const char *origin = tn_http_header(&c->req, "Origin");

    if (!c->req.opt->ncors_origins)
        return;
    MHD_add_response_header(r, "Vary", "Origin");
    if (!tn_http_cors_allowed(c->req.opt, origin) || strpbrk(origin, "\r\n"))
        return;
    MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(r, "Access-Control-Expose-Headers",
                            "ETag, Content-Disposition, WWW-Authenticate, X-Tarn-Next-Cursor");
}

static void queue_reply(struct conn_ctx *c, struct tn_http_reply *r)
{
    c->status = r->status;
    c->responded = 1;
    c->reply_bytes = r->sized ? (int64_t)r->bytes : -1;
    add_cors(c, r->response);
    if (__atomic_load_n(&c->req.srv->stopping, __ATOMIC_ACQUIRE) || c->give_up)
        MHD_add_response_header(r->response, MHD_HTTP_HEADER_CONNECTION, "close");
    if (MHD_queue_response(c->req.conn, r->status, r->response) != MHD_YES)
        c->status = 500;
    MHD_destroy_response(r->response);
    r->response = NULL;
}

static void queue_error(struct conn_ctx *c, const struct tn_err *err)
{
    struct tn_http_reply r = {0};

    tn_http_reply_error(&r, err);
    if (err->code == TN_EAUTH)
        MHD_add_response_header(r.response, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (err->code == TN_ECONFLICT) {
        pthread_mutex_lock(&c->req.srv->lock);
        c->req.srv->conflicts++;
        pthread_mutex_unlock(&c->req.srv->lock);
    }
    queue_reply(c, &r);
}

static int is_safe_method(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

/* A CORS preflight (OPTIONS): allowed origins learn what they may send; no token needed, as
 * browsers send none with it. */
static void preflight(struct conn_ctx *c)
{
    const char *origin = tn_http_header(&c->req, "Origin");
    const char *want = tn_http_header(&c->req, "Access-Control-Request-Headers");
    struct tn_http_reply r = {0};
    struct tn_err err = {0};

    if (origin && !tn_http_cors_allowed(c->req.opt, origin)) {
        tn_fail(&err, TN_EFORBIDDEN,
                "the origin %.200s is not allowed to call this server; start it with "
                "--cors-origin %.200s to allow it",
                origin, origin);
        queue_error(c, &err);
        return;
    }
    tn_http_reply_text(&r, 204, "text/plain", NULL, 0);
    MHD_add_response_header(r.response, MHD_HTTP_HEADER_ALLOW, "GET, POST, DELETE, OPTIONS");
    if (origin) {
        MHD_add_response_header(r.response, "Access-Control-Allow-Methods",
                                "GET, POST, DELETE, OPTIONS");
        /* the headers asked for, when they are a plain list of names */
        if (!want || strlen(want) > 512 ||
            strspn(want, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_, ") !=
                strlen(want))
            want = "Authorization, Content-Type";
        MHD_add_response_header(r.response, "Access-Control-Allow-Headers", want);
        MHD_add_response_header(r.response, "Access-Control-Max-Age", "600");
    }
    queue_reply(c, &r);
}

/* Checks that come before routing: the Host (DNS rebinding), cross-site writes, preflights.
 * Returns 1 when it answered. */
static int guard_request(struct conn_ctx *c)
{
    struct tn_http_server *srv = c->req.srv;
    const struct tn_http_req *req = &c->req;
    const char *host = tn_http_header(req, MHD_HTTP_HEADER_HOST);
    struct tn_err err = {0};

    if (!tn_http_host_allowed(&srv->opt, srv->machine, host)) {
        tn_fail(&err, TN_EFORBIDDEN,
                "this server does not answer to the name in the Host header (%.200s); if that is "
                "one of its names, start it with --allowed-host NAME",
                host);
    } else if (strcmp(req->method, "OPTIONS") == 0) {
        preflight(c);
        return 1;
    } else if (!is_safe_method(req->method) &&
               tn_http_cross_site(&srv->opt, tn_http_header(req, "Origin"),
                                  tn_http_header(req, "Sec-Fetch-Site"),
                                  tn_http_header(req, "Referer"), host)) {
        const char *origin = tn_http_header(req, "Origin");
        tn_fail(&err, TN_EFORBIDDEN,
                "a web page of another site (%.200s) may not change this server; start it with "
                "--cors-origin ORIGIN to allow a page's origin",
                origin ? origin : "Origin not sent");
    } else {
        return 0;
    }
    queue_error(c, &err);
    return 1;
}

/* JSON routes take JSON: the content types an HTML form or a simple fetch() can send without a
 * CORS preflight are refused. curl -d sends form-urlencoded, so that one only when a browser
 * sent it (it carries Origin, Sec-Fetch-Site or Referer). */
static int check_json_type(const struct tn_http_req *req, struct tn_err *err)
{
    const char *ct = tn_http_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    int browser = tn_http_header(req, "Origin") || tn_http_header(req, "Sec-Fetch-Site") ||
                  tn_http_header(req, "Referer");

    if (!ct)
        return 0;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, "text/plain", 10) == 0 || strncasecmp(ct, "multipart/form-data", 19) == 0 ||
        (browser && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0))
        return tn_fail(err, TN_EMEDIATYPE,
                       "this endpoint takes a JSON body: send it with 'Content-Type: "
                       "application/json'");
    return 0;
}

/* Mark the connection as still sending its request (the header timeout runs) or not. */
static void pend_waiting(struct conn_ctx *c, int waiting)
{
    if (!c->pend)
        return;
    pthread_mutex_lock(&c->req.srv->watch_lock);
    c->pend->waiting = waiting;
    pthread_mutex_unlock(&c->req.srv->watch_lock);
}

/* The headers are in: route, authenticate, and prepare for the body. */
static void request_begin(struct conn_ctx *c)
{
    struct tn_http_server *srv = c->req.srv;
    char allow[64];
    struct tn_err err = {0};
    const char *cl;
    uint64_t declared = 0;
    size_t i;
    int stuck;

    if (__atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE)) {
        tn_fail(&err, TN_EUNAVAILABLE, "the server is shutting down");
        queue_error(c, &err);
        return;
    }
    if (guard_request(c))
        return;
    i = route_find(c->req.method, c->req.path, &c->req.arg, allow, sizeof(allow), &err);
    if (i == NROUTES) {
        struct tn_http_reply r = {0};
        /* authenticate first, so that unknown paths do not tell strangers what exists */
        if (check_auth(srv, &c->req, &err)) {
            queue_error(c, &err);
            return;
        }
        tn_http_reply_error(&r, &err);
        if (*allow) {
            json_t *e;
            MHD_destroy_response(r.response);
            e = json_pack("{s:{s:s, s:s, s:i}}", "error", "message", err.msg, "type",
                          "MethodNotAllowedException", "code", 405);
            tn_http_reply_json(&r, 405, e);
            MHD_add_response_header(r.response, MHD_HTTP_HEADER_ALLOW, allow);
        }
        queue_reply(c, &r);
        return;
    }
    c->route = &routes[i];
    c->route_index = i;
    if (!c->route->public_doc && check_auth(srv, &c->req, &err)) {
        queue_error(c, &err);
        return;
    }
    pthread_mutex_lock(&srv->lock);
    stuck = srv->stuck;
    pthread_mutex_unlock(&srv->lock);
    if (stuck >= STUCK_MAX && c->route->handle != tn_route_health &&
        c->route->handle != tn_route_metrics) {
        tn_fail(&err, TN_EUNAVAILABLE,
                "the server is busy with %d queries that did not stop when cancelled; try again "
                "later",
                stuck);
        queue_error(c, &err);
        return;
    }
    if (c->route->begin && c->route->begin(&c->req, &err)) {
        queue_error(c, &err);
        return;
    }
    if (c->route->body == TN_BODY_JSON && check_json_type(&c->req, &err)) {
        queue_error(c, &err);
        return;
    }
    /* a route that checks no credentials before its body is read gets a small body: nobody
     * may make the server hold (or reserve disk for) a large one without a token; and the
     * header timeout runs on until that body is in */
    if (c->route->public_doc && !c->route->begin) {
        c->body_max = PUBLIC_BODY_MAX;
        if (c->route->body != TN_BODY_NONE)
            pend_waiting(c, 1);
    } else {
        c->body_max = c->route->body == TN_BODY_UPLOAD ? srv->opt.max_upload : JSON_BODY_MAX;
    }
    cl = tn_http_header(&c->req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (c->route->body != TN_BODY_NONE && cl && tn_http_parse_size(cl, &declared))
        declared = 0;
    if (declared > c->body_max) {
        too_large(c);
        queue_error(c, &c->err);
        return;
    }
    if (c->route->body == TN_BODY_UPLOAD && upload_open(c, declared, &err)) {
        tn_err_disk_full(&err);
        queue_error(c, &err);
        return;
    }
    if (c->route->body == TN_BODY_JSON)
        c->body.max = JSON_BODY_MAX;
}

/* Free a request's context once neither its connection nor its handler's thread needs it. */
static void ctx_unref(struct conn_ctx *c)
{
    struct tn_http_server *srv = c->req.srv;
    int last;

    pthread_mutex_lock(&srv->lock);
    last = --c->refs == 0;
    pthread_mutex_unlock(&srv->lock);
    if (!last)
        return;
    pthread_mutex_lock(&srv->watch_lock);
    for (struct tn_http_watch *w = srv->watches; w; w = w->next)
        if (w->job == c)
            w->job = NULL;
    pthread_mutex_unlock(&srv->watch_lock);
    if (c->pp)
        MHD_destroy_post_processor(c->pp);
    if (c->fd >= 0)
        close(c->fd);
    if (c->req.upload_path) {
        unlink(c->req.upload_path);
        free(c->req.upload_path);
    }
    for (size_t i = 0; i < c->req.upload_nmore; i++) {
        unlink(c->req.upload_more[i]);
        free(c->req.upload_more[i]);
    }
    free(c->req.upload_more);
    if (c->req.free_state)
        c->req.free_state(c->req.state);
    free(c->req.arg);
    free(c->req.upload_name);
    free(c->req.upload_type);
    json_decref(c->req.json);
    json_decref(c->req.form);
    json_decref(c->req.headers);
    json_decref(c->req.args);
    tn_buf_release(&c->body);
    free(c);
}

/* Run a request's handler, hand the reply to the connection, or drop it when the connection
 * has answered without it. */
static void run_job(struct conn_ctx *c)
{
    struct tn_http_server *srv = c->req.srv;
    struct tn_http_reply r = {0};
    struct tn_err err = {0};
    int rc, abandoned;

    current_job = c;
    rc = c->route->handle(&c->req, &r, &err);
    current_job = NULL;
    pthread_mutex_lock(&srv->lock);
    abandoned = c->abandoned;
    if (!abandoned) {
        c->job_rc = rc;
        c->job_reply = r;
        c->job_err = err;
    } else {
        srv->stuck--;
    }
    __atomic_store_n(&c->job, 2, __ATOMIC_RELEASE); /* (wait_job may be looking) */
    srv->jobs--;
    pthread_cond_broadcast(&srv->job_cond);
    pthread_mutex_unlock(&srv->lock);
    if (abandoned) {
        if (r.response)
            MHD_destroy_response(r.response);
        fprintf(stderr, "tarn: %s %s: finished %.1f s after its request was answered\n",
                c->req.method, c->req.path, now_s() - c->t0);
    }
    ctx_unref(c);
}

/* A handler thread: run its first job, then the jobs queued for it while it waits (see the top
 * of this file); it ends when none came for WORKER_IDLE_S seconds, when enough others wait, or
 * when the server stops. */
static void *worker_main(void *arg)
{
    struct conn_ctx *c = arg;
    struct tn_http_server *srv = c->req.srv;

    while (c) {
        double idle_end = now_s() + WORKER_IDLE_S;
        run_job(c);
        c = NULL;
        pthread_mutex_lock(&srv->lock);
        if (srv->workers_idle < WORKERS_IDLE_MAX) {
            srv->workers_idle++;
            while (!srv->queued_jobs && !srv->workers_stop && now_s() < idle_end) {
                struct timespec ts;
                deadline_timespec(idle_end, &ts);
                pthread_cond_timedwait(&srv->worker_cond, &srv->lock, &ts);
            }
            srv->workers_idle--;
            if (srv->queued_jobs && !srv->workers_stop) {
                c = srv->queued_jobs;
                srv->queued_jobs = c->next_job;
                c->next_job = NULL;
            }
        }
        if (!c) {
            srv->workers--;
            pthread_cond_broadcast(&srv->job_cond);
        }
        pthread_mutex_unlock(&srv->lock);
    }
    return NULL;
}

/* Run the handler on its own thread and wait for it, or until the watchdog gives up on it,
 * or until its client hangs up (then its queries are interrupted). Returns 1 when the handler
 * finished (its reply in c->job_*), 0 when the request was answered without it. */
static int wait_job(struct conn_ctx *c)
{
    struct tn_http_server *srv = c->req.srv;
    pthread_attr_t attr;
    pthread_t t;
    int started;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&srv->lock);
    c->refs++;
    c->job = 1;
    srv->jobs++;
    if (srv->workers_idle > 0 && !srv->workers_stop) { /* a kept thread takes it */
        struct conn_ctx **tail = &srv->queued_jobs;
        int queued = 0;
        while (*tail) {
            tail = &(*tail)->next_job;
            queued++;
        }
        started = queued < srv->workers_idle;
        if (started) {
            *tail = c;
            pthread_cond_signal(&srv->worker_cond);
        }
    } else {
        started = 0;
    }
    if (!started) {
        started = pthread_create(&t, &attr, worker_main, c) == 0;
        if (started)
            srv->workers++;
    }
    if (!started) {
        c->refs--;
        c->job = 0;
        srv->jobs--;
    }
    pthread_mutex_unlock(&srv->lock);
    pthread_attr_destroy(&attr);
    if (!started) {
        current_job = c; /* no thread to spare: run it here */
        c->job_rc = c->route->handle(&c->req, &c->job_reply, &c->job_err);
        current_job = NULL;
        c->job = 2;
        return 1;
    }
    pthread_mutex_lock(&srv->lock);
    while (c->job == 1 && !c->give_up) {
        struct timespec ts;
        if (c->soon == 1) { /* the reply is near: wait for it awake, once */
            double end = now_s() + REPLY_SPIN_S;
            c->soon = 2;
            pthread_mutex_unlock(&srv->lock);
            while (__atomic_load_n(&c->job, __ATOMIC_ACQUIRE) == 1 && now_s() < end)
                sched_yield();
            pthread_mutex_lock(&srv->lock);
            continue;
        }
        deadline_timespec(now_s() + 0.2, &ts);
        pthread_cond_timedwait(&srv->job_cond, &srv->lock, &ts);
        if (!c->hung_up && c->job == 1) {
            struct pollfd p = {c->sock, POLLRDHUP, 0};
            pthread_mutex_unlock(&srv->lock);
            if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
                __atomic_store_n(&c->hung_up, 1, __ATOMIC_RELEASE);
                cancel_watches(srv, c);
            }
            pthread_mutex_lock(&srv->lock);
        }
    }
    if (c->job == 1) {
        c->abandoned = 1;
        srv->stuck++;
    }
    pthread_mutex_unlock(&srv->lock);
    return !c->abandoned;
}

/* The body is in: run the handler. */
static void request_run(struct conn_ctx *c)
{
    struct tn_http_reply *r = &c->job_reply;
    struct tn_err *err = &c->job_err;
    int rc;

    body_end(c);
    pend_waiting(c, 0);
    if (c->failed) {
        tn_err_disk_full(&c->err);
        queue_error(c, &c->err);
        return;
    }
    snapshot_request(&c->req);
    if (!wait_job(c)) {
        struct tn_err e = {0};
        fprintf(stderr,
                "tarn: %s %s: answered without its query, which did not stop when "
                "cancelled\n",
                c->req.method, c->req.path);
        if (__atomic_load_n(&c->req.srv->stopping, __ATOMIC_ACQUIRE))
            tn_fail(&e, TN_EUNAVAILABLE, "the server is shutting down");
        else
            tn_fail(&e, TN_EUNAVAILABLE,
                    "the query ran longer than this server allows (%d s, --query-timeout) and "
                    "did not stop when cancelled; narrow it down or simplify it",
                    c->req.opt->query_timeout);
        queue_error(c, &e);
        return;
    }
    rc = c->job_rc;
    if (rc) {
        if (r->response)
            MHD_destroy_response(r->response);
        r->response = NULL;
        if (!err->code)
            tn_fail(err, rc, "request failed");
        tn_err_disk_full(err);
        if (tn_err_http_status(err->code) >= 500 && !c->hung_up)
            fprintf(stderr, "tarn: %s %s: %s\n", c->req.method, c->req.path, err->msg);
        queue_error(c, err);
        return;
    }
    queue_reply(c, r);
}

static void describe_address(const struct sockaddr *sa, char *out, size_t cap)
{
    const void *a = NULL;

    if (sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (!a || !inet_ntop(sa->sa_family, a, out, (socklen_t)cap))
        snprintf(out, cap, "-");
}

/* Spool files of a server that died (a kill, a crash): remove them from "dir" at start. An
 * upload-PID-... file whose process is gone goes at once; any other upload-... or query-...
 * file once untouched for STALE_SPOOL_S (an older tarn's names carry no PID; a PID may be
 * this one's again, in a container). */
#define STALE_SPOOL_S 3600
static void remove_stale_spools(const char *dir, int quiet)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    time_t now = time(NULL);
    long removed = 0;

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        char *path, *end;
        struct stat sb;
        long pid = 0;
        int stale = 0;
        if (strncmp(e->d_name, "upload-", 7) != 0 && strncmp(e->d_name, "query-", 6) != 0)
            continue;
        if (strncmp(e->d_name, "upload-", 7) == 0) {
            pid = strtol(e->d_name + 7, &end, 10);
            if (end == e->d_name + 7 || *end != '-')
                pid = 0;
        }
        path = tn_asprintf("%s/%s", dir, e->d_name);
        if (pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH)
            stale = 1;
        else
            stale =
                lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && now - sb.st_mtime > STALE_SPOOL_S;
        if (stale && unlink(path) == 0)
            removed++;
        free(path);
    }
    closedir(d);
    if (removed && !quiet)
        fprintf(stderr, "tarn: removed %ld spool file(s) left in %s by a server that stopped\n",
                removed, dir);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

/* Percent-decoding of the URL path and query arguments, as libmicrohttpd's own, except that
 * "%00" stays as it is: a decoded NUL would end the string early, and /tables/a%00zzz would act
 * on table "a". Left as text, it fails every name check (400). */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    char *w = s;
    int hi, lo;

    (void)cls;
    (void)conn;
    for (const char *r = s; *r; r++) {
        if (r[0] == '%' && (hi = hex_digit(r[1])) >= 0 && (lo = hex_digit(r[2])) >= 0 &&
            (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct tn_http_server *srv = cls;
    struct conn_ctx *c = *con_cls;
    (void)version;

    if (!c) {
        const union MHD_ConnectionInfo *ci;
        c = tn_calloc(1, sizeof(*c));
        c->req.srv = srv;
        c->req.wh = srv->wh;
        c->req.opt = &srv->opt;
        c->req.conn = conn;
        c->req.method = method;
        c->req.path = url;
        c->route_index = NROUTES;
        c->t0 = now_s();
        c->fd = -1;
        c->sock = -1;
        c->status = 500;
        c->refs = 1;
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci)
            c->sock = ci->connect_fd;
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr)
            describe_address(ci->client_addr, c->addr, sizeof(c->addr));
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        c->pend = ci ? ci->socket_context : NULL;
        pend_waiting(c, 0); /* the headers are in */
        *con_cls = c;
        pthread_mutex_lock(&srv->lock);
        srv->in_flight++;
        pthread_mutex_unlock(&srv->lock);
        request_begin(c);
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (c->responded)
            return MHD_YES;
        body_feed(c, upload_data, n);
        /* past the limit we keep reading (to answer 413) but not forever */
        if (c->failed && c->err.code == TN_ETOOBIG && c->body_bytes > c->body_max + DISCARD_SLACK)
            return MHD_NO;
        return MHD_YES;
    }
    if (!c->responded)
        request_run(c);
    return MHD_YES;
}

/* One access-log line: client, method, path (never the query string, which may hold SQL or
 * secrets; control characters shown as '?'), status, response bytes ('-' when streamed) and
 * milliseconds. */
static void access_log(const struct conn_ctx *c, unsigned int status, double seconds)
{
    char path[256];
    size_t i;

    for (i = 0; c->req.path[i] && i + 1 < sizeof(path); i++) {
        unsigned char ch = (unsigned char)c->req.path[i];
        path[i] = ch < 0x20 || ch == 0x7f || ch == ' ' || ch == '"' ? '?' : (char)ch;
    }
    path[i] = '\0';
    if (c->reply_bytes >= 0 && c->responded)
        fprintf(stderr, "tarn: %s \"%s %s\" %u %lld %.1fms\n", c->addr[0] ? c->addr : "-",
                c->req.method, path, status, (long long)c->reply_bytes, seconds * 1000);
    else
        fprintf(stderr, "tarn: %s \"%s %s\" %u - %.1fms\n", c->addr[0] ? c->addr : "-",
                c->req.method, path, status, seconds * 1000);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct tn_http_server *srv = cls;
    struct conn_ctx *c = *con_cls;
    unsigned int status;
    double seconds;
    (void)conn;

    if (!c)
        return;
    *con_cls = NULL;
    /* 499: the client went away before it had an answer */
    status = (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK || c->responded) && !c->hung_up ? c->status
                                                                                         : 499;
    seconds = now_s() - c->t0;
    count_request(srv, c->route_index, c->route ? c->route->method : c->req.method, status,
                  seconds);
    if (!srv->opt.quiet)
        access_log(c, status, seconds);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        cancel_watches(srv, c);
    if (c->pend) {
        pthread_mutex_lock(&srv->watch_lock);
        c->pend->waiting = 1; /* kept alive: the next request's headers are due */
        c->pend->since = now_s();
        /* (too many connections waiting is looked at when the next one opens) */
        watch_deadline(srv, c->pend->since + srv->opt.header_timeout);
        pthread_mutex_unlock(&srv->watch_lock);
    }
    pthread_mutex_lock(&srv->lock);
    srv->in_flight--;
    pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->lock);
    ctx_unref(c);
}

/* libmicrohttpd opened or closed a connection: the guard's list. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct tn_http_server *srv = cls;
    struct pend *p = *socket_context;

    pthread_mutex_lock(&srv->watch_lock);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        p = tn_calloc(1, sizeof(*p));
        p->fd = ci ? ci->connect_fd : -1;
        p->waiting = p->fd >= 0;
        p->since = now_s();
        p->next = srv->pends;
        srv->pends = p;
        *socket_context = p;
        pthread_cond_signal(&srv->watch_cond);
    } else if (p) {
        for (struct pend **pp = &srv->pends; *pp; pp = &(*pp)->next) {
            if (*pp == p) {
                *pp = p->next;
                break;
            }
        }
        free(p);
        *socket_context = NULL;
    }
    pthread_mutex_unlock(&srv->watch_lock);
}

/*---- Upload bodies outside a server (fuzz/fuzz_multipart.c) ----*/

struct tn__http_upload {
    struct tn_http_server srv; /* only tmp_dir and the lock are used */
    struct conn_ctx *c;
};

struct tn__http_upload *tn__http_upload_begin(struct MHD_Connection *conn, const char *tmp_dir,
                                              uint64_t max, struct tn_err *err)
{
    struct tn__http_upload *u = tn_calloc(1, sizeof(*u));
    struct conn_ctx *c = tn_calloc(1, sizeof(*c));
    size_t i = 0;

    while (routes[i].body != TN_BODY_UPLOAD)
        i++;
    pthread_mutex_init(&u->srv.lock, NULL);
    pthread_mutex_init(&u->srv.watch_lock, NULL);
    u->srv.tmp_dir = tn_strdup(tmp_dir);
    u->c = c;
    c->req.srv = &u->srv;
    c->req.conn = conn;
    c->route = &routes[i];
    c->route_index = i;
    c->fd = -1;
    c->refs = 1;
    c->body_max = max;
    if (upload_open(c, 0, err)) {
        tn__http_upload_end(u, NULL, err);
        return NULL;
    }
    return u;
}

void tn__http_upload_feed(struct tn__http_upload *u, const char *data, size_t n)
{
    body_feed(u->c, data, n);
}

int tn__http_upload_end(struct tn__http_upload *u, json_t **form, struct tn_err *err)
{
    int rc = 0;

    if (form) {
        body_end(u->c);
        if (u->c->failed) {
            *err = u->c->err;
            rc = err->code;
        } else {
            *form = json_incref(u->c->req.form);
        }
    }
    ctx_unref(u->c);
    pthread_mutex_destroy(&u->srv.lock);
    pthread_mutex_destroy(&u->srv.watch_lock);
    free(u->srv.tmp_dir);
    free(u);
    return rc;
}

/* libmicrohttpd's messages, one line each. Those about single connections refused or closed
 * (a client over its limit, the guard's closes) come at most every 10 s: a flood of them would
 * only fill the log. */
__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    static int64_t last_noise; /* milliseconds */
    char line[512];
    (void)cls;

    if (strstr(fmt, "connection limit") || strstr(fmt, "closed by remote side") ||
        strstr(fmt, "per IP")) {
        int64_t now = (int64_t)(now_s() * 1000),
                last = __atomic_load_n(&last_noise, __ATOMIC_RELAXED);
        if (last && now - last < 10000)
            return;
        __atomic_store_n(&last_noise, now, __ATOMIC_RELAXED);
    }
    vsnprintf(line, sizeof(line), fmt, ap);
    fprintf(stderr, "tarn: microhttpd: %s%s", line,
            *line && line[strlen(line) - 1] == '\n' ? "" : "\n");
}

/*---- Serving ----*/

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    char c = (char)sig;
    int saved = errno;

    if (write(sig_pipe[1], &c, 1) < 0) {
        /* nothing to do: the pipe is full, so a stop is already pending */
    }
    errno = saved;
}

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
    }
    return 0;
}

static int server_init(struct tn_http_server *srv, struct tn_warehouse *wh,
                       const struct tn_http_options *opt, struct tn_err *err)
{
    pthread_condattr_t ca;

    srv->wh = wh;
    srv->opt = *opt;
    if (!srv->opt.host || !*srv->opt.host)
        srv->opt.host = TN_HTTP_DEFAULT_HOST;
    if (srv->opt.port == 0)
        srv->opt.port = TN_HTTP_DEFAULT_PORT;
    if (!srv->opt.max_upload)
        srv->opt.max_upload = TN_HTTP_DEFAULT_MAX_UPLOAD;
    if (srv->opt.query_timeout <= 0)
        srv->opt.query_timeout = TN_HTTP_DEFAULT_QUERY_TIMEOUT;
    if (srv->opt.row_limit <= 0)
        srv->opt.row_limit = TN_HTTP_DEFAULT_ROW_LIMIT;
    if (srv->opt.header_timeout <= 0)
        srv->opt.header_timeout = TN_HTTP_DEFAULT_HEADER_TIMEOUT;
    if (srv->opt.client_conns <= 0)
        srv->opt.client_conns = TN_HTTP_DEFAULT_CLIENT_CONNS;
    if (gethostname(srv->machine, sizeof(srv->machine) - 1))
        srv->machine[0] = '\0';
    if (srv->opt.token && !*srv->opt.token)
        return tn_fail(err, TN_EINPUT, "--token must not be empty");
    if (srv->opt.port < 1 || srv->opt.port > 65535)
        return tn_fail(err, TN_EINPUT, "--port must be between 1 and 65535");
    srv->tmp_dir = tn_asprintf("%s/.tmp", tn_storage_root_path(wh->storage));
    if (mkdir(srv->tmp_dir, 0700) && errno != EEXIST)
        return tn_fail(err, TN_EUNAVAILABLE, "cannot create %s: %s", srv->tmp_dir, strerror(errno));
    remove_stale_spools(srv->tmp_dir, srv->opt.quiet);
    tn_source_warm(wh->engine, srv->tmp_dir); /* the first ingest's sniff costs no more */
    pthread_mutex_init(&srv->lock, NULL);
    pthread_mutex_init(&srv->watch_lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->idle, &ca);
    pthread_cond_init(&srv->watch_cond, &ca);
    pthread_cond_init(&srv->job_cond, &ca);
    pthread_cond_init(&srv->worker_cond, &ca);
    pthread_condattr_destroy(&ca);
    return 0;
}

/* Wait for the requests in flight, at most "grace" seconds, or until another signal. */
static void drain(struct tn_http_server *srv, double grace)
{
    double end = now_s() + grace;

    pthread_mutex_lock(&srv->lock);
    while (srv->in_flight > 0 && now_s() < end) {
        struct timespec ts;
        struct pollfd p = {sig_pipe[0], POLLIN, 0};
        deadline_timespec(now_s() + 0.1, &ts);
        pthread_cond_timedwait(&srv->idle, &srv->lock, &ts);
        if (poll(&p, 1, 0) > 0)
            break; /* a second signal: stop now */
    }
    pthread_mutex_unlock(&srv->lock);
}

/* Queries answered without them that still run in DuckDB cannot be stopped, and the
 * warehouse cannot be closed under them: give them a moment, then end the process. */
static void stop_stuck(struct tn_http_server *srv)
{
    double end = now_s() + 0.5;
    int jobs;

    pthread_mutex_lock(&srv->lock);
    while ((jobs = srv->jobs) > 0 && now_s() < end) {
        struct timespec ts;
        deadline_timespec(now_s() + 0.1, &ts);
        pthread_cond_timedwait(&srv->job_cond, &srv->lock, &ts);
    }
    pthread_mutex_unlock(&srv->lock);
    if (jobs > 0) {
        fprintf(stderr,
                "tarn: stopped; %d queries that did not stop when cancelled end with the "
                "process\n",
                jobs);
        fflush(NULL);
        _exit(0);
    }
}

/* Every handler's thread is idle now (stop_stuck): end them before the server is freed. */
static void stop_workers(struct tn_http_server *srv)
{
    pthread_mutex_lock(&srv->lock);
    srv->workers_stop = 1;
    pthread_cond_broadcast(&srv->worker_cond);
    while (srv->workers > 0)
        pthread_cond_wait(&srv->job_cond, &srv->lock);
    pthread_mutex_unlock(&srv->lock);
}

int tn_http_serve(struct tn_warehouse *wh, const struct tn_http_options *opt, struct tn_err *err)
{
    struct tn_http_server *srv = tn_calloc(1, sizeof(*srv));
    struct sigaction sa, old_term, old_int, old_pipe;
    struct addrinfo hints, *ai = NULL;
    struct MHD_Daemon *d = NULL;
    char port[16];
    unsigned int flags;
    int rc, gai, initialised = 0, signals = 0, watchdog = 0;

    rc = server_init(srv, wh, opt, err);
    if (rc)
        goto out;
    initialised = 1;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%d", srv->opt.port);
    gai = getaddrinfo(srv->opt.host, port, &hints, &ai);
    if (gai) {
        rc = tn_fail(err, TN_EINPUT, "cannot resolve --host %s: %s", srv->opt.host,
                     gai_strerror(gai));
        goto out;
    }
    if (!is_loopback(ai->ai_addr) && !srv->opt.token && !srv->opt.no_auth) {
        rc = tn_fail(err, TN_EINPUT,
                     "refusing to serve %s without authentication: it is not a loopback "
                     "address; give --token T (clients then send 'Authorization: Bearer T') or "
                     "--no-auth",
                     srv->opt.host);
        goto out;
    }

    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK)) {
        rc = tn_fail(err, TN_EINTERNAL, "cannot create a pipe: %s", strerror(errno));
        goto out;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, &old_pipe);
    signals = 1;

    if (pthread_create(&srv->watch_thread, NULL, watchdog_main, srv)) {
        rc = tn_fail(err, TN_EINTERNAL, "cannot start the query watchdog thread");
        goto out;
    }
    watchdog = 1;
    if (srv->opt.maintain_every_ms > 0) {
        rc = tn_maint_schedule_start(wh, srv->opt.maintain_every_ms, srv->opt.quiet, &srv->maint,
                                     err);
        if (rc)
            goto out;
    }
    if (srv->opt.sync_config) {
        rc = tn_http_sync_start(wh, srv->opt.sync_config, srv->tmp_dir, srv->opt.quiet, &srv->sync,
                                err);
        if (rc)
            goto out;
    }

    flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
            MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    d = MHD_start_daemon(
        flags, (uint16_t)srv->opt.port, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)IDLE_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_BUFFER,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)srv->opt.client_conns,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        srv, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
    if (!d) {
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot listen on %s port %d (is the port in use?)",
                     srv->opt.host, srv->opt.port);
        goto out;
    }
    if (!srv->opt.quiet)
        fprintf(stderr, "tarn: serving %s on http://%s%s%s:%d/ (%s)\n",
                tn_storage_root_uri(wh->storage), strchr(srv->opt.host, ':') ? "[" : "",
                srv->opt.host, strchr(srv->opt.host, ':') ? "]" : "", srv->opt.port,
                srv->opt.token ? "bearer token required" : "no authentication");

    for (;;) {
        struct pollfd p = {sig_pipe[0], POLLIN, 0};
        char buf[16];
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            break;
        if (p.revents & POLLIN) {
            if (read(sig_pipe[0], buf, sizeof(buf)) < 0) {
                /* the byte is only a wake-up; nothing was lost */
            }
            break;
        }
    }
    if (!srv->opt.quiet)
        fprintf(stderr, "tarn: stopping: finishing the requests in flight\n");
    stop_background(srv);
    pthread_mutex_lock(&srv->lock);
    __atomic_store_n(&srv->stopping, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&srv->lock);
    pthread_mutex_lock(&srv->watch_lock);
    pthread_cond_signal(&srv->watch_cond); /* the watchdog interrupts every query now */
    pthread_mutex_unlock(&srv->watch_lock);
    {
        MHD_socket lfd = MHD_quiesce_daemon(d);
        if (lfd != MHD_INVALID_SOCKET)
            close(lfd);
    }
    drain(srv, SHUTDOWN_GRACE_S);
    MHD_stop_daemon(d);
    d = NULL;
    stop_stuck(srv);
    rc = 0;
out:
    if (d)
        MHD_stop_daemon(d);
    if (initialised) {
        stop_workers(srv);
        stop_background(srv);
    }
    if (watchdog) {
        pthread_mutex_lock(&srv->watch_lock);
        srv->watch_stop = 1;
        pthread_cond_signal(&srv->watch_cond);
        pthread_mutex_unlock(&srv->watch_lock);
        pthread_join(srv->watch_thread, NULL);
    }
    if (signals) {
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGPIPE, &old_pipe, NULL);
    }
    if (sig_pipe[0] >= 0) {
        close(sig_pipe[0]);
        close(sig_pipe[1]);
        sig_pipe[0] = sig_pipe[1] = -1;
    }
    if (ai)
        freeaddrinfo(ai);
    if (initialised) {
        pthread_mutex_destroy(&srv->lock);
        pthread_mutex_destroy(&srv->watch_lock);
        pthread_cond_destroy(&srv->idle);
        pthread_cond_destroy(&srv->watch_cond);
        pthread_cond_destroy(&srv->job_cond);
        pthread_cond_destroy(&srv->worker_cond);
    }
    free(srv->metrics);
    free(srv->tmp_dir);
    free(srv);
    return rc;
}
