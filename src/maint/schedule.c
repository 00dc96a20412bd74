/* schedule.c - scheduled maintenance inside `tarn serve --maintain-every D`: one thread that,
 * every D, runs on each table the actions its properties ask for
 *   tarn.maintain.compact=true            compaction
 *   tarn.maintain.rewrite-manifests=true  manifest merging
 *   tarn.maintain.expire-snapshots=true   expiry of snapshots older than
 *                                         tarn.maintain.expire-older-than (default 5d)
 *   tarn.maintain.remove-orphans=true     orphan removal, files older than
 *                                         tarn.maintain.orphans-older-than (default 1d)
 * Each action is an ordinary commit, so it is safe beside the request threads; each outcome is
 * logged as one line, counted for /metrics and kept among the last RUNS_KEPT runs for
 * GET /maintenance/runs. The counters and the runs are guarded by the state's lock. */
#include "maint.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum { ACT_COMPACT, ACT_MANIFESTS, ACT_EXPIRE, ACT_ORPHANS, NACTIONS };

static const char *const action_names[NACTIONS] = {"compact", "rewrite_manifests",
                                                   "expire_snapshots", "remove_orphans"};
static const char *const action_props[NACTIONS] = {
    "tarn.maintain.compact", "tarn.maintain.rewrite-manifests", "tarn.maintain.expire-snapshots",
    "tarn.maintain.remove-orphans"};

#define RUNS_KEPT 50

/* One action on one table, as GET /maintenance/runs shows it. */
struct maint_run {
    int64_t at_ms; /* when it started */
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    int action;
    int ok;
    int64_t files_removed;
    double ms;
    char error[256];
};

struct tn_maint_schedule {
    struct tn_warehouse *wh;
    int64_t every_ms;
    int quiet;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;
    uint64_t passes;
    uint64_t runs[NACTIONS], failures[NACTIONS];
    uint64_t files_removed;
    struct maint_run runs_kept[RUNS_KEPT]; /* a ring: the newest at (nruns - 1) % RUNS_KEPT */
    uint64_t nruns;
};

static const char *property(const struct tn_table *t, const char *key)
{
    return json_string_value(json_object_get(json_object_get(t->meta->root, "properties"), key));
}

/* The duration in property "key" of "t", else "fallback" (ms). */
static int64_t duration_property(const struct tn_table *t, const char *key, int64_t fallback)
{
    const char *v = property(t, key);
    int64_t ms;

    return v && !tn_parse_duration_ms(v, &ms) ? ms : fallback;
}

/* Run action "a" on ns.name; the files it removed go to *removed. */
static int run_action(struct tn_maint_schedule *m, struct tn_session *s, const struct tn_table *t,
                      int a, int64_t *removed, struct tn_err *err)
{
    int rc;

    *removed = 0;
    if (a == ACT_COMPACT) {
        struct tn_compact_result r;
        rc = tn_table_compact(m->wh, s, t->ns, t->name, 0, &r, err);
    } else if (a == ACT_MANIFESTS) {
        struct tn_rewrite_manifests_result r = {0};
        rc = tn_table_rewrite_manifests(m->wh, t->ns, t->name, &r, err);
    } else if (a == ACT_EXPIRE) {
        struct tn_expire_result r;
        int64_t age = duration_property(t, "tarn.maintain.expire-older-than", 5LL * 86400000);
        rc = tn_table_expire(m->wh, t->ns, t->name, tn_now_ms() - age, 1, 0, &r, err);
        if (!rc)
            *removed = r.files_deleted;
        tn_expire_result_release(&r);
    } else {
        struct tn_orphans_result r;
        int64_t age = duration_property(t, "tarn.maintain.orphans-older-than", 86400000);
        rc = tn_table_remove_orphans(m->wh, t->ns, t->name, tn_now_ms() - age, 0, &r, err);
        if (!rc)
            *removed = r.files_deleted;
        tn_orphans_result_release(&r);
    }
    return rc;
}

/* One pass over every table of the catalog. */
static void pass(struct tn_maint_schedule *m)
{
    struct tn_catalog_entry *tables = NULL;
    struct tn_session *s = NULL;
    struct tn_err err = {0};
    size_t n = 0;

    if (tn_catalog_list(m->wh->catalog, NULL, &tables, &n, &err) ||
        tn_session_open(m->wh->engine, &s, &err)) {
        fprintf(stderr, "tarn: maintain: cannot start a pass: %s\n", err.msg);
        tn_catalog_entries_free(tables, n);
        return;
    }
    for (size_t i = 0; i < n && !__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE); i++) {
        struct tn_table *t = NULL;
        if (tn_table_load(m->wh, tables[i].ns, tables[i].table, &t, &err))
            continue; /* dropped meanwhile, or unreadable: nothing to maintain */
        for (int a = 0; a < NACTIONS; a++) {
            const char *on = property(t, action_props[a]);
            struct timespec t0, t1;
            struct maint_run run;
            int64_t removed = 0;
            int rc;
            if (!on || strcasecmp(on, "true") != 0)
                continue;
            memset(&run, 0, sizeof(run));
            run.at_ms = tn_now_ms();
            clock_gettime(CLOCK_MONOTONIC, &t0);
            rc = run_action(m, s, t, a, &removed, &err);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            snprintf(run.ns, sizeof(run.ns), "%s", t->ns);
            snprintf(run.name, sizeof(run.name), "%s", t->name);
            run.action = a;
            run.ok = rc == 0;
            run.files_removed = removed;
            run.ms =
                (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
            snprintf(run.error, sizeof(run.error), "%.255s", rc ? err.msg : "");
            pthread_mutex_lock(&m->lock);
            m->runs[a]++;
            m->failures[a] += rc != 0;
            m->files_removed += (uint64_t)removed;
            m->runs_kept[m->nruns++ % RUNS_KEPT] = run;
            pthread_mutex_unlock(&m->lock);
            if (rc || !m->quiet)
                fprintf(stderr,
                        "tarn: maintain table=%s.%s action=%s %s files_removed=%lld "
                        "ms=%.1f%s%s\n",
                        t->ns, t->name, action_names[a], rc ? "failed" : "ok", (long long)removed,
                        run.ms, rc ? " error=" : "", rc ? err.msg : "");
        }
        tn_table_free(t);
    }
    tn_session_close(s);
    tn_catalog_entries_free(tables, n);
    pthread_mutex_lock(&m->lock);
    m->passes++;
    pthread_mutex_unlock(&m->lock);
}

static void *maint_main(void *arg)
{
    struct tn_maint_schedule *m = arg;

    pthread_mutex_lock(&m->lock);
    while (!m->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t)(m->every_ms / 1000);
        ts.tv_nsec += (long)(m->every_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!m->stop && pthread_cond_timedwait(&m->cond, &m->lock, &ts) == 0)
            ; /* woken early without a stop: keep waiting */
        if (m->stop)
            break;
        pthread_mutex_unlock(&m->lock);
        pass(m);
        pthread_mutex_lock(&m->lock);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

int tn_maint_schedule_start(struct tn_warehouse *wh, int64_t every_ms, int quiet,
                            struct tn_maint_schedule **out, struct tn_err *err)
{
    struct tn_maint_schedule *m = tn_calloc(1, sizeof(*m));
    pthread_condattr_t ca;

    m->wh = wh;
    m->every_ms = every_ms;
    m->quiet = quiet;
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&m->thread, NULL, maint_main, m)) {
        pthread_mutex_destroy(&m->lock);
        pthread_cond_destroy(&m->cond);
        free(m);
        return tn_fail(err, TN_EINTERNAL, "cannot start the maintenance thread");
    }
    *out = m;
    return 0;
}

void tn_maint_schedule_stop(struct tn_maint_schedule *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    __atomic_store_n(&m->stop, 1, __ATOMIC_RELEASE);
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->thread, NULL);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->cond);
    free(m);
}

void tn_maint_schedule_metrics(struct tn_maint_schedule *m, struct tn_buf *b)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    tn_buf_addf(b, NULL,
                "# TYPE tarn_maintenance_passes_total counter\n"
                "tarn_maintenance_passes_total %llu\n"
                "# TYPE tarn_maintenance_runs_total counter\n"
                "# TYPE tarn_maintenance_failures_total counter\n",
                (unsigned long long)m->passes);
    for (int a = 0; a < NACTIONS; a++)
        tn_buf_addf(b, NULL,
                    "tarn_maintenance_runs_total{action=\"%s\"} %llu\n"
                    "tarn_maintenance_failures_total{action=\"%s\"} %llu\n",
                    action_names[a], (unsigned long long)m->runs[a], action_names[a],
                    (unsigned long long)m->failures[a]);
    tn_buf_addf(b, NULL,
                "# TYPE tarn_maintenance_files_removed_total counter\n"
                "tarn_maintenance_files_removed_total %llu\n",
                (unsigned long long)m->files_removed);
    pthread_mutex_unlock(&m->lock);
}

json_t *tn_maint_schedule_runs(struct tn_maint_schedule *m)
{
    json_t *runs = json_array(), *out;
    uint64_t kept;

    if (!m)
        return json_pack("{s:b, s:n, s:I, s:o}", "scheduled", 0, "every_ms", "passes",
                         (json_int_t)0, "runs", runs);
    pthread_mutex_lock(&m->lock);
    kept = m->nruns < RUNS_KEPT ? m->nruns : RUNS_KEPT;
    for (uint64_t i = 0; i < kept; i++) {
        const struct maint_run *r = &m->runs_kept[(m->nruns - 1 - i) % RUNS_KEPT];
        json_array_append_new(runs,
                              json_pack("{s:I, s:s, s:s, s:s, s:b, s:I, s:f, s:s?}", "started_ms",
                                        (json_int_t)r->at_ms, "namespace", r->ns, "table", r->name,
                                        "action", action_names[r->action], "ok", r->ok,
                                        "files_removed", (json_int_t)r->files_removed, "ms", r->ms,
                                        "error", r->ok ? NULL : r->error));
    }
    out = json_pack("{s:b, s:I, s:I, s:o}", "scheduled", 1, "every_ms", (json_int_t)m->every_ms,
                    "passes", (json_int_t)m->passes, "runs", runs);
    pthread_mutex_unlock(&m->lock);
    return out;
}
