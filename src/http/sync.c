/* sync.c - scheduled source syncs inside `tarn serve --sync CONFIG`: one thread that runs each
 * job of the configuration file when it is due, first at start. CONFIG is JSON:
 *   {"sources": {"main": "postgresql://etl@db:5432/shop"},
 *    "jobs": [{"source": "main", "schema": "public", "into": "shop", "every": "5m",
 *              "mode": "full"},
 *             {"source": "main", "table": "public.orders", "into": "shop.orders",
 *              "every": "1m", "mode": "incremental", "cursor": "updated_at", "deletes": true}]}
 * A job with "schema" copies every base table of it (each its own commit) into namespace
 * "into"; one with "table" copies that table into table "into". Each table's outcome is one
 * log line and is counted for /metrics. */
#include "http.h"
#include "pg/pg.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SYNC_CONFIG_MAX (1024 * 1024)
#define SYNC_TICK_MS    1000

struct job {
    const char *conninfo, *schema, *table, *into, *cursor;
    enum tn_pg_mode mode;
    int deletes;
    int64_t every_ms;
    double next_s; /* monotonic time it is due */
};

struct tn_http_sync {
    struct tn_warehouse *wh;
    char *spool_dir;
    int quiet;
    json_t *config;
    struct job *jobs;
    size_t njobs;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;
    uint64_t runs, failures, rows;
};

static int parse_job(json_t *sources, json_t *j, size_t i, struct job *out, struct tn_err *err)
{
    const char *src = json_string_value(json_object_get(j, "source"));
    const char *every = json_string_value(json_object_get(j, "every"));
    int mode = tn_pg_mode_parse(json_string_value(json_object_get(j, "mode")));

    out->conninfo = json_string_value(json_object_get(sources, src ? src : ""));
    out->schema = json_string_value(json_object_get(j, "schema"));
    out->table = json_string_value(json_object_get(j, "table"));
    out->into = json_string_value(json_object_get(j, "into"));
    out->cursor = json_string_value(json_object_get(j, "cursor"));
    out->deletes = json_is_true(json_object_get(j, "deletes"));
    if (!out->conninfo)
        return tn_fail(err, TN_EINPUT, "sync job %zu: \"source\" must name one of \"sources\"", i);
    if (!out->into || !!out->schema == !!out->table)
        return tn_fail(err, TN_EINPUT,
                       "sync job %zu: give \"into\" and one of \"schema\" or \"table\"", i);
    if (mode < 0)
        return tn_fail(err, TN_EINPUT, "sync job %zu: \"mode\" is full, append or incremental", i);
    out->mode = (enum tn_pg_mode)mode;
    if (!every || tn_parse_duration_ms(every, &out->every_ms) || out->every_ms < 1000)
        return tn_fail(err, TN_EINPUT, "sync job %zu: \"every\" is a duration of at least 1s", i);
    return 0;
}

/* Copy one source table into ns.name; log and count it. */
static void sync_table(struct tn_http_sync *y, struct tn_session *s, const struct job *jb,
                       const char *source_table, const char *target)
{
    struct tn_pg_options o = {.conninfo = jb->conninfo,
                              .source_table = source_table,
                              .mode = jb->mode,
                              .cursor = jb->cursor,
                              .deletes = jb->deletes,
                              .spool_dir = y->spool_dir};
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_pg_result res = {0};
    struct tn_err err = {0};
    int rc = tn_ident_parse(target, ns, name, &err);

    if (!rc)
        rc = tn_pg_ingest(y->wh, s, ns, name, &o, &res, &err);
    pthread_mutex_lock(&y->lock);
    y->runs++;
    if (rc)
        y->failures++;
    else
        y->rows += (uint64_t)res.rows_read;
    pthread_mutex_unlock(&y->lock);
    if (rc)
        fprintf(stderr, "tarn: sync %s -> %s failed: %s\n", source_table, target, err.msg);
    else if (!y->quiet)
        fprintf(stderr, "tarn: sync %s -> %s.%s ok rows=%lld ms=%.1f\n", source_table, ns, name,
                (long long)res.rows_read, res.seconds * 1000.0);
    if (!rc)
        tn_pg_result_release(&res);
}

static void run_job(struct tn_http_sync *y, const struct job *jb)
{
    struct tn_session *s = NULL;
    struct tn_err err = {0};
    char **tables = NULL;
    size_t n = 0;

    if (tn_session_open(y->wh->engine, &s, &err)) {
        fprintf(stderr, "tarn: sync: %s\n", err.msg);
        return;
    }
    if (jb->table) {
        sync_table(y, s, jb, jb->table, jb->into);
    } else if (tn_pg_list_tables(jb->conninfo, jb->schema, &tables, &n, &err)) {
        fprintf(stderr, "tarn: sync schema %s failed: %s\n", jb->schema, err.msg);
        pthread_mutex_lock(&y->lock);
        y->failures++;
        pthread_mutex_unlock(&y->lock);
    } else {
        for (size_t i = 0; i < n && !y->stop; i++) {
            char *from = tn_asprintf("%s.%s", jb->schema, tables[i]);
            char *to = tn_asprintf("%s.%s", jb->into, tables[i]);
            sync_table(y, s, jb, from, to);
            free(from);
            free(to);
        }
        tn_pg_names_free(tables, n);
    }
    tn_session_close(s);
}

static void *sync_main(void *arg)
{
    struct tn_http_sync *y = arg;

    pthread_mutex_lock(&y->lock);
    while (!y->stop) {
        double now = tn_monotonic_s();
        struct timespec ts;
        for (size_t i = 0; i < y->njobs && !y->stop; i++) {
            if (now < y->jobs[i].next_s)
                continue;
            y->jobs[i].next_s = now + (double)y->jobs[i].every_ms / 1000.0;
            pthread_mutex_unlock(&y->lock);
            run_job(y, &y->jobs[i]);
            pthread_mutex_lock(&y->lock);
        }
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += SYNC_TICK_MS / 1000;
        if (!y->stop)
            pthread_cond_timedwait(&y->cond, &y->lock, &ts);
    }
    pthread_mutex_unlock(&y->lock);
    return NULL;
}

int tn_http_sync_start(struct tn_warehouse *wh, const char *config, const char *spool_dir,
                       int quiet, struct tn_http_sync **out, struct tn_err *err)
{
    struct tn_http_sync *y = tn_calloc(1, sizeof(*y));
    json_error_t jerr;
    pthread_condattr_t ca;
    json_t *jobs, *j;
    size_t i;

    *out = NULL;
    y->config = json_load_file(config, 0, &jerr);
    if (!json_is_object(y->config)) {
        json_decref(y->config);
        free(y);
        return tn_fail(err, TN_EINPUT, "--sync %s: not a JSON object: %s (line %d)", config,
                       jerr.text, jerr.line);
    }
    jobs = json_object_get(y->config, "jobs");
    y->njobs = json_array_size(jobs);
    y->jobs = tn_calloc(y->njobs + 1, sizeof(*y->jobs));
    json_array_foreach(jobs, i, j)
    {
        if (parse_job(json_object_get(y->config, "sources"), j, i, &y->jobs[i], err)) {
            json_decref(y->config);
            free(y->jobs);
            free(y);
            return err->code;
        }
    }
    y->wh = wh;
    y->quiet = quiet;
    y->spool_dir = tn_strdup(spool_dir);
    pthread_mutex_init(&y->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&y->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&y->thread, NULL, sync_main, y)) {
        tn_http_sync_stop(y);
        return tn_fail(err, TN_EINTERNAL, "cannot start the sync thread");
    }
    *out = y;
    return 0;
}

void tn_http_sync_stop(struct tn_http_sync *y)
{
    if (!y)
        return;
    pthread_mutex_lock(&y->lock);
    y->stop = 1;
    pthread_cond_signal(&y->cond);
    pthread_mutex_unlock(&y->lock);
    if (y->thread)
        pthread_join(y->thread, NULL);
    pthread_cond_destroy(&y->cond);
    pthread_mutex_destroy(&y->lock);
    json_decref(y->config);
    free(y->jobs);
    free(y->spool_dir);
    free(y);
}

void tn_http_sync_metrics(struct tn_http_sync *y, struct tn_buf *b)
{
    if (!y)
        return;
    pthread_mutex_lock(&y->lock);
    tn_buf_addf(b, NULL,
                "# HELP tarn_sync_runs_total Source tables synced (serve --sync).\n"
                "# TYPE tarn_sync_runs_total counter\ntarn_sync_runs_total %llu\n"
                "# HELP tarn_sync_failures_total Source syncs that failed.\n"
                "# TYPE tarn_sync_failures_total counter\ntarn_sync_failures_total %llu\n"
                "# HELP tarn_sync_rows_total Rows read from sources.\n"
                "# TYPE tarn_sync_rows_total counter\ntarn_sync_rows_total %llu\n",
                (unsigned long long)y->runs, (unsigned long long)y->failures,
                (unsigned long long)y->rows);
    pthread_mutex_unlock(&y->lock);
}
