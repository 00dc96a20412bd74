/* sources.c - the command line's database sources: `tarn ingest TABLE --from postgresql://...
 * --source-table S.T | --source-query SQL [--mode full|append|incremental --cursor C --key K
 * --deletes]` copies a PostgreSQL table or query into a tarn table (one commit), and `tarn sync
 * --from URL --schema S --into NS [--every 5m]` does it for every table of a schema, each one
 * commit, once or on a schedule. A terminal shows the rows read and their rate as they come. */
#include "cli/cli.h"
#include "pg/pg.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct rate {
    int show;
    double t0;
};

static void show_progress(void *arg, int64_t rows, int64_t bytes, int done)
{
    struct rate *r = arg;
    double s = tn_monotonic_s() - r->t0;

    if (!r->show)
        return;
    fprintf(stderr, "\r  %lld rows, %.1f MB read, %.0f rows/s%s", (long long)rows,
            (double)bytes / 1e6, s > 0 ? (double)rows / s : 0.0, done ? "\n" : "");
    fflush(stderr);
}

/* A directory DuckDB may read for the spool: a fresh one under TMPDIR, added to the engine's
 * allowed directories. Caller frees and removes it. */
char *cli_spool_dir(struct cli *c)
{
    const char *base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *dir = tn_asprintf("%s/tarn-source-XXXXXX", base);
    char *probe;

    if (!mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    probe = tn_asprintf("%s/x", dir);
    cli_allow_dir_of(c, probe);
    free(probe);
    return dir;
}

static int source_options(struct cli *c, struct tn_pg_options *o, struct tn_err *err)
{
    int mode = tn_pg_mode_parse(c->o.mode);

    if (mode < 0)
        return tn_fail(err, TN_EINPUT,
                       "with --from, --mode is full, append or incremental, not '%s'", c->o.mode);
    if (c->o.dedupe_last || c->o.partition_by || c->o.branch)
        return tn_fail(err, TN_EINPUT,
                       "--dedupe, --partition-by and --branch do not go with --from");
    o->conninfo = c->o.from;
    o->source_table = c->o.source_table;
    o->source_query = c->o.source_query;
    o->mode = (enum tn_pg_mode)mode;
    o->cursor = c->o.cursor;
    o->key = c->o.key;
    o->deletes = c->o.deletes;
    if (c->o.json_as && strcmp(c->o.json_as, "struct") != 0 && strcmp(c->o.json_as, "string") != 0)
        return tn_fail(err, TN_EINPUT, "--json-as is string or struct, not '%s'", c->o.json_as);
    o->json_struct = c->o.json_as && strcmp(c->o.json_as, "struct") == 0;
    return 0;
}

static void print_result(json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(6));

    printf("%s\n", text);
    free(text);
}

/* One source into ns.name on the local warehouse. */
static int local_source(struct cli *c, const char *ns, const char *name,
                        const struct tn_pg_options *given, struct tn_err *err)
{
    struct rate r = {.show = c->progress, .t0 = tn_monotonic_s()};
    struct tn_pg_options run = *given, *o = &run;
    struct tn_warehouse *wh;
    struct tn_session *s = NULL;
    struct tn_pg_result res = {0};
    char *dir = cli_spool_dir(c);
    int rc;

    if (!dir)
        return tn_fail(err, TN_EUNAVAILABLE, "cannot create a spool directory under TMPDIR");
    o->spool_dir = dir;
    o->progress = show_progress;
    o->progress_arg = &r;
    rc = cli_warehouse(c, &wh, err);
    if (!rc)
        rc = tn_session_open(wh->engine, &s, err);
    if (!rc)
        rc = tn_pg_ingest(wh, s, ns, name, o, &res, err);
    if (!rc) {
        json_t *j = tn_pg_result_json(ns, name, &res);
        print_result(j);
        json_decref(j);
        tn_pg_result_release(&res);
    }
    tn_session_close(s);
    rmdir(dir);
    free(dir);
    return rc;
}

int cli_ingest_source(struct cli *c, const char *ident, struct tn_err *err)
{
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_pg_options o = {0};
    int rc = tn_ident_parse(ident, ns, name, err);

    if (!rc)
        rc = source_options(c, &o, err);
    if (rc)
        return rc;
    if (c->remote) {
        /* the server reads the source: by its name there (--source NAME=URL), or by the
         * connection string when it runs with --allow-sources */
        struct tn_buf path = TN_BUF_INIT(TN_CAP_VALUE);
        json_t *answer = NULL;
        tn_buf_addf(&path, NULL, "/ingest/%s.%s?", ns, name);
        cli_url_param(&path, "source", o.conninfo);
        cli_url_param(&path, "mode", c->o.mode ? c->o.mode : "full");
        if (o.source_table)
            cli_url_param(&path, "source_table", o.source_table);
        if (o.source_query)
            cli_url_param(&path, "source_query", o.source_query);
        if (o.cursor)
            cli_url_param(&path, "cursor", o.cursor);
        if (o.key)
            cli_url_param(&path, "key", o.key);
        if (o.deletes)
            cli_url_param(&path, "deletes", "true");
        if (o.json_struct)
            cli_url_param(&path, "json_as", "struct");
        rc = cli_remote_json(c->remote, "POST", path.buf, NULL, &answer, err);
        if (!rc)
            print_result(answer);
        json_decref(answer);
        tn_buf_release(&path);
        return rc;
    }
    return local_source(c, ns, name, &o, err);
}

/*---- sync ----*/

static atomic_int stopping;

static void on_stop(int sig)
{
    (void)sig;
    atomic_store(&stopping, 1);
}

int cli_sync(struct cli *c, struct tn_err *err)
{
    struct tn_pg_options o = {0};
    int64_t every_ms = 0;
    int rc;

    if (c->remote)
        return tn_fail(err, TN_EINPUT,
                       "sync runs here on the warehouse; leave out --remote (a "
                       "server syncs on its own with serve --sync CONFIG)");
    if (!c->o.from || !c->o.into)
        return tn_fail(err, TN_EINPUT,
                       "usage: tarn sync --from postgresql://... --schema SCHEMA --into NAMESPACE "
                       "[--every 5m]");
    if (c->o.every && (tn_parse_duration_ms(c->o.every, &every_ms) || every_ms < 1000))
        return tn_fail(err, TN_EINPUT, "--every takes a duration of at least 1s (5m, 1h)");
    if (c->o.source_table || c->o.source_query)
        return tn_fail(err, TN_EINPUT,
                       "sync copies every table of --schema; for one table use "
                       "tarn ingest TABLE --from ... --source-table");
    if ((rc = source_options(c, &o, err)))
        return rc;
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    do {
        char **tables = NULL;
        size_t n = 0;
        int failed = 0;
        rc = tn_pg_list_tables(c->o.from, c->o.schema, &tables, &n, err);
        for (size_t i = 0; !rc && i < n && !atomic_load(&stopping); i++) {
            struct tn_err terr = {0};
            char *qualified = tn_asprintf("%s.%s", c->o.schema ? c->o.schema : "public", tables[i]);
            char target[2 * TN_NAME_MAX + 2];
            char tns[TN_NAME_MAX + 1], tname[TN_NAME_MAX + 1];
            o.source_table = qualified;
            snprintf(target, sizeof(target), "%s.%s", c->o.into, tables[i]);
            if (tn_ident_parse(target, tns, tname, &terr) ||
                local_source(c, tns, tname, &o, &terr)) {
                fprintf(stderr, "tarn: sync %s -> %s failed: %s\n", qualified, target, terr.msg);
                failed++;
            }
            free(qualified);
        }
        tn_pg_names_free(tables, n);
        if (!rc && failed)
            rc = tn_fail(err, TN_EUPSTREAM, "%d of %zu tables failed to sync (see above)", failed,
                         n);
        for (int64_t waited = 0; every_ms && waited < every_ms && !atomic_load(&stopping);
             waited += 200) {
            struct timespec ts = {0, 200 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    } while (every_ms && !atomic_load(&stopping));
    return rc;
}
