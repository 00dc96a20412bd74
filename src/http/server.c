/* server.c - the HTTP server core: the libmicrohttpd daemon, request bodies, routing, bearer-token
 * auth, SPEC's error bodies, metrics, query timeouts and a graceful stop.
 *
 * Threads: the daemon runs one thread per connection (plus its listening thread), so a handler
 * may block in DuckDB for as long as its work takes. Each request has a struct conn_ctx, made on
 * the first call of the access handler and freed in the completion callback; nothing in it is
 * shared. What is shared -- the warehouse, the metrics, the watchdog's list and the in-flight
 * count -- is either thread-safe by itself (the warehouse) or guarded by the server's mutexes.
 *
 * Bodies: a route declares none, JSON (kept in memory, at most 1 MiB) or an upload (streamed to
 * a temporary file under <warehouse>/.tmp, at most --max-upload bytes; multipart/form-data is
 * decoded on the way by libmicrohttpd's post processor, keeping the part named "file"). A body
 * that is too large is answered 413: at once when Content-Length says so, otherwise after the
 * rest of the body has been read and dropped (libmicrohttpd cannot answer in the middle of an
 * upload), unless the client keeps sending far beyond the limit, which closes the connection.
 *
 * Stopping: SIGTERM or SIGINT (caught by a handler that writes to a pipe) makes the daemon stop
 * accepting; requests already running finish (new requests on kept-alive connections get 503),
 * then the daemon stops and tn_http_serve returns 0. A second signal stops without waiting. */
#include "http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
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
/* Per-connection buffer: uploads arrive in pieces of up to about this size (MHD's default, 32
 * KiB, makes a 1 GB upload some 60,000 write calls). */
#define CONNECTION_BUFFER (2048 * 1024)
#define IDLE_TIMEOUT_S   300
#define POST_BUFFER      65536
#define SHUTDOWN_GRACE_S 30

/*---- The server ----*/

struct route {
    const char *method;
    const char *label;  /* the path pattern, as metrics show it */
    const char *prefix; /* the literal path, or the part before {table} */
    const char *suffix; /* after {table}; NULL when the route takes no argument */
    enum tn_http_body body;
    int public_doc; /* served without a token (static documentation only) */
    tn_http_begin_fn begin;
    tn_http_handle_fn handle;
};

/* Order matters: the first match wins. */
static const struct route routes[] = {
    {"GET", "/health", "/health", NULL, TN_BODY_NONE, 0, NULL, tn_route_health},
    {"GET", "/metrics", "/metrics", NULL, TN_BODY_NONE, 0, NULL, tn_route_metrics},
    {"GET", "/openapi.json", "/openapi.json", NULL, TN_BODY_NONE, 1, NULL, tn_route_openapi},
    {"GET", "/docs", "/docs", NULL, TN_BODY_NONE, 1, NULL, tn_route_docs},
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
    {"POST", "/iceberg/v1/oauth/tokens", "/iceberg/v1/oauth/tokens", NULL, TN_BODY_UPLOAD, 1,
     NULL, tn_route_iceberg_token},
    {"GET", "/iceberg/v1/{path}", "/iceberg/v1/", "", TN_BODY_NONE, 1, tn_route_iceberg_begin,
     tn_route_iceberg},
    {"POST", "/iceberg/v1/{path}", "/iceberg/v1/", "", TN_BODY_JSON, 1, tn_route_iceberg_begin,
     tn_route_iceberg},
    {"DELETE", "/iceberg/v1/{path}", "/iceberg/v1/", "", TN_BODY_NONE, 1,
     tn_route_iceberg_begin, tn_route_iceberg},
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
    int stopping; /* read and written atomically */

    pthread_mutex_t watch_lock;
    pthread_cond_t watch_cond;
    struct tn_http_watch *watches;
    int watch_stop;
    pthread_t watch_thread;
    struct tn_http_maint *maint; /* --maintain-every; NULL when off */
    struct tn_http_sync *sync;   /* --sync; NULL when off */
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
    uint64_t line_len; /* bytes since the last newline of the upload */
};

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
    } else if (strcmp(name, "query-timeout") == 0) {
        if (tn_parse_i64(value, &n) || n < 1 || n > 86400 * 7)
            return tn_fail(err, TN_EINPUT, "--query-timeout must be a number of seconds");
        o->query_timeout = (int)n;
    } else if (strcmp(name, "maintain-every") == 0) {
        if (tn_parse_duration_ms(value, &n) || n < 1000)
            return tn_fail(err, TN_EINPUT,
                           "--maintain-every must be a duration of at least 1s, such as 1h or 30m");
        o->maintain_every_ms = n;
    } else if (strcmp(name, "source") == 0) {
        /* NAME=URL, repeatable; TARN_SOURCES holds several, separated by blanks */
        char *copy = tn_strdup(value), *save = NULL;
        for (char *one = strtok_r(copy, " \t\n", &save); one; one = strtok_r(NULL, " \t\n", &save)) {
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

int tn_http_options_env(struct tn_http_options *o, struct tn_err *err)
{
    static const char *const names[][2] = {
        {"TARN_HOST", "host"},
        {"TARN_PORT", "port"},
        {"TARN_TOKEN", "token"},
        {"TARN_CLIENT", "client"},
        {"TARN_VEND_CREDENTIALS", "vend-credentials"},
        {"TARN_NO_AUTH", "no-auth"},
        {"TARN_MAX_UPLOAD", "max-upload"},
        {"TARN_QUERY_TIMEOUT", "query-timeout"},
        {"TARN_MAINTAIN_EVERY", "maintain-every"},
        {"TARN_SOURCES", "source"},
        {"TARN_ALLOW_SOURCES", "allow-sources"},
        {"TARN_SYNC", "sync"},
        {"TARN_LLM_URL", "llm-url"},
        {"TARN_LLM_MODEL", "llm-model"},
        {"TARN_LLM_API_KEY", "llm-api-key"},
        {"TARN_ASK_SAMPLE_ROWS", "ask-sample-rows"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = getenv(names[i][0]);
        if (v && tn_http_option_set(o, names[i][1], v, err)) {
            tn_err_prefix(err, "%s: ", names[i][0]);
            return err->code;
        }
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
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);

    if (!v && req->form)
        v = json_string_value(json_object_get(req->form, name));
    return v;
}

const char *tn_http_header(const struct tn_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
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
    out->response = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!out->response)
        abort(); /* only fails when out of memory */
    MHD_add_response_header(out->response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
}

void tn_http_reply_json(struct tn_http_reply *out, unsigned int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));

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
    struct tn_buf b = TN_BUF_INIT(0);

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
                srv->in_flight, (unsigned long long)srv->commits,
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
        /* object storage: requests, bytes, retries and the local cache (zero on local disk) */
        struct tn_storage_metrics m;
        static const char *const help =
            "# TYPE tarn_storage_requests_total counter\n"
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
                    (unsigned long long)m.delete_requests,
                    (unsigned long long)m.bytes_downloaded, (unsigned long long)m.bytes_uploaded,
                    (unsigned long long)m.retries, (unsigned long long)m.cache_hits,
                    (unsigned long long)m.cache_misses, (unsigned long long)m.cache_bytes);
    }
    tn_http_maint_metrics(srv->maint, &b);
    tn_http_sync_metrics(srv->sync, &b);
    return tn_buf_detach(&b, NULL);
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

/* Interrupts sessions whose deadline has passed. A fired watch is interrupted again every half
 * second until it ends: an interrupt that arrives between two statements of a request may be
 * forgotten by DuckDB when the next one starts. */
static void *watchdog_main(void *arg)
{
    struct tn_http_server *srv = arg;

    pthread_mutex_lock(&srv->watch_lock);
    while (!srv->watch_stop) {
        double now = now_s(), next = 0;
        for (struct tn_http_watch *w = srv->watches; w; w = w->next) {
            if (now >= w->deadline) {
                tn_session_interrupt(w->session);
                w->fired = 1;
                w->deadline = now + 0.5;
            }
            if (!next || w->deadline < next)
                next = w->deadline;
        }
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
    w->deadline = now_s() + seconds;
    pthread_mutex_lock(&srv->watch_lock);
    w->next = srv->watches;
    srv->watches = w;
    pthread_cond_signal(&srv->watch_cond);
    pthread_mutex_unlock(&srv->watch_lock);
    return w;
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
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    if (c->req.upload_path)
        unlink(c->req.upload_path);
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
        snprintf(msg, sizeof(msg), "cannot store the upload in %s: %s", c->req.srv->tmp_dir,
                 strerror(errno));
        body_fail(c, TN_EUNAVAILABLE, msg);
        return;
    }
    c->req.upload_bytes += n;
    tn_source_track_lines(data, n, &c->line_len, &c->req.upload_longest_line);
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
            /* a part starts again at offset 0: a second file */
            body_fail(c, TN_EINPUT, "send one part named 'file' per request, not several");
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
        if (close(c->fd) && !c->failed)
            body_fail(c, TN_EUNAVAILABLE, "cannot store the upload (close failed)");
        c->fd = -1;
    }
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
 * that writing it does not allocate blocks piecemeal. The file's size still grows with the writes. */
static int upload_reserve(struct conn_ctx *c, uint64_t declared, struct tn_err *err)
{
    if (!declared || declared > INT64_MAX ||
        fallocate(c->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)declared) == 0)
        return 0;
    if (errno == ENOSPC || errno == EFBIG)
        return tn_fail(err, TN_ETOOBIG,
                       "the upload (%llu bytes) does not fit in the free space of the server's "
                       "disk (%s); free some space there or upload a smaller file",
                       (unsigned long long)declared, c->req.srv->tmp_dir);
    return 0; /* a file system without fallocate: the writes find out */
}

static int upload_open(struct conn_ctx *c, uint64_t declared, struct tn_err *err)
{
    const char *ct = tn_http_header(&c->req, MHD_HTTP_HEADER_CONTENT_TYPE);
    char uuid[37];
    int rc;

    tn_uuid4(uuid);
    c->req.upload_path = tn_asprintf("%s/upload-%s", c->req.srv->tmp_dir, uuid);
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

static void queue_reply(struct conn_ctx *c, struct tn_http_reply *r)
{
    c->status = r->status;
    c->responded = 1;
    if (__atomic_load_n(&c->req.srv->stopping, __ATOMIC_ACQUIRE))
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

/* The headers are in: route, authenticate, and prepare for the body. */
static void request_begin(struct conn_ctx *c)
{
    struct tn_http_server *srv = c->req.srv;
    char allow[64];
    struct tn_err err = {0};
    const char *cl;
    uint64_t declared = 0;
    size_t i;

    if (__atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE)) {
        tn_fail(&err, TN_EUNAVAILABLE, "the server is shutting down");
        queue_error(c, &err);
        return;
    }
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
    if (c->route->begin && c->route->begin(&c->req, &err)) {
        queue_error(c, &err);
        return;
    }
    c->body_max = c->route->body == TN_BODY_UPLOAD ? srv->opt.max_upload : JSON_BODY_MAX;
    cl = tn_http_header(&c->req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (c->route->body != TN_BODY_NONE && cl && tn_http_parse_size(cl, &declared))
        declared = 0;
    if (declared > c->body_max) {
        too_large(c);
        queue_error(c, &c->err);
        return;
    }
    if (c->route->body == TN_BODY_UPLOAD && upload_open(c, declared, &err)) {
        queue_error(c, &err);
        return;
    }
    if (c->route->body == TN_BODY_JSON)
        c->body.max = JSON_BODY_MAX;
}

/* The body is in: run the handler. */
static void request_run(struct conn_ctx *c)
{
    struct tn_http_reply r = {0};
    struct tn_err err = {0};
    int rc;

    body_end(c);
    if (c->failed) {
        queue_error(c, &c->err);
        return;
    }
    rc = c->route->handle(&c->req, &r, &err);
    if (rc) {
        if (r.response)
            MHD_destroy_response(r.response);
        if (tn_err_http_status(rc) >= 500)
            fprintf(stderr, "tarn: %s %s: %s\n", c->req.method, c->req.path, err.msg);
        if (!err.code)
            tn_fail(&err, rc, "request failed");
        queue_error(c, &err);
        return;
    }
    queue_reply(c, &r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct tn_http_server *srv = cls;
    struct conn_ctx *c = *con_cls;
    (void)version;

    if (!c) {
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
        c->status = 500;
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

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct tn_http_server *srv = cls;
    struct conn_ctx *c = *con_cls;
    (void)conn;

    if (!c)
        return;
    *con_cls = NULL;
    count_request(srv, c->route_index, c->route ? c->route->method : c->req.method,
                  toe == MHD_REQUEST_TERMINATED_COMPLETED_OK || c->responded ? c->status : 499,
                  now_s() - c->t0);
    if (c->pp)
        MHD_destroy_post_processor(c->pp);
    if (c->fd >= 0)
        close(c->fd);
    if (c->req.upload_path) {
        unlink(c->req.upload_path);
        free(c->req.upload_path);
    }
    if (c->req.free_state)
        c->req.free_state(c->req.state);
    free(c->req.arg);
    free(c->req.upload_name);
    free(c->req.upload_type);
    json_decref(c->req.json);
    json_decref(c->req.form);
    tn_buf_release(&c->body);
    free(c);
    pthread_mutex_lock(&srv->lock);
    srv->in_flight--;
    pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->lock);
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    fputs("tarn: microhttpd: ", stderr);
    vfprintf(stderr, fmt, ap);
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
    if (srv->opt.token && !*srv->opt.token)
        return tn_fail(err, TN_EINPUT, "--token must not be empty");
    if (srv->opt.port < 1 || srv->opt.port > 65535)
        return tn_fail(err, TN_EINPUT, "--port must be between 1 and 65535");
    srv->tmp_dir = tn_asprintf("%s/.tmp", tn_storage_root_path(wh->storage));
    if (mkdir(srv->tmp_dir, 0700) && errno != EEXIST)
        return tn_fail(err, TN_EUNAVAILABLE, "cannot create %s: %s", srv->tmp_dir, strerror(errno));
    pthread_mutex_init(&srv->lock, NULL);
    pthread_mutex_init(&srv->watch_lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->idle, &ca);
    pthread_cond_init(&srv->watch_cond, &ca);
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
        rc = tn_http_maint_start(wh, srv->opt.maintain_every_ms, srv->opt.quiet, &srv->maint, err);
        if (rc)
            goto out;
    }
    if (srv->opt.sync_config) {
        rc = tn_http_sync_start(wh, srv->opt.sync_config, srv->tmp_dir, srv->opt.quiet,
                                &srv->sync, err);
        if (rc)
            goto out;
    }

    flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
            MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    d = MHD_start_daemon(flags, (uint16_t)srv->opt.port, NULL, NULL, on_request, srv,
                         MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
                         ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)IDLE_TIMEOUT_S,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_BUFFER,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_END);
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
    tn_http_maint_stop(srv->maint); /* lets an action under way finish */
    tn_http_sync_stop(srv->sync);
    srv->maint = NULL;
    srv->sync = NULL;
    pthread_mutex_lock(&srv->lock);
    __atomic_store_n(&srv->stopping, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&srv->lock);
    {
        MHD_socket lfd = MHD_quiesce_daemon(d);
        if (lfd != MHD_INVALID_SOCKET)
            close(lfd);
    }
    drain(srv, srv->opt.query_timeout + SHUTDOWN_GRACE_S);
    MHD_stop_daemon(d);
    d = NULL;
    rc = 0;
out:
    if (d)
        MHD_stop_daemon(d);
    tn_http_maint_stop(srv->maint);
    srv->maint = NULL;
    tn_http_sync_stop(srv->sync);
    srv->sync = NULL;
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
    }
    free(srv->metrics);
    free(srv->tmp_dir);
    free(srv);
    return rc;
}
